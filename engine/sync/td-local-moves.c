/* td-local-moves.c: the local side of moves between folders, both ways.
 *
 * A move the reader made (a file that left one folder, found in another) goes to the server
 * as a move: td_local_folder_begin_moves() writes an intent row in the folder it goes to
 * (the uploads table, marked moved) before the command is sent, so a run killed before it
 * learns the new UID finds the message there by its Message-ID, as for an interrupted
 * upload, or, when the move never happened, uploads the file as any new one while the
 * folder it left deletes the original.
 *
 * A move the server made (a message gone from one folder, the same Message-ID and size new
 * in another) is a rename here: td_local_folder_take_moved() writes the new folder's row as
 * a pending download first, renames the file, flushes both directories, then drops the old
 * row and publishes the new one. A kill between the steps leaves either the old row and
 * file (the pending row is dropped at the next start: the message is downloaded again and
 * the old file removed, as before moves were known) or the file in its new folder (the
 * pending row is completed from the disk; the old row, file and server message gone, goes).
 * Plain blocking code for a worker thread, like td-local-folder.c.
 */
#include "engine/sync/td-local-folder-private.h"

#include "storage/td-storage-error.h"
#include "engine/common/td-error.h"

/* One step of a transaction: the change for item @i of a batch. */
typedef gboolean (*RowStep) (TdLocalFolder *local, guint i, gpointer data, GError **error);

/* Runs @step for each of @n items in one transaction of @local's DB (which the folders of an
 * account share); a failure rolls the whole batch back. */
static gboolean
in_one_transaction (TdLocalFolder *local, guint n, RowStep step, gpointer data, GError **error)
{
  GError *e = NULL;

  if (!td_local_folder_begin (local, &e))
    return td_local_folder_fail (error, e, local->side.name);
  for (guint i = 0; i < n; i++)
    if (!step (local, i, data, &e))
      {
        td_state_db_rollback (local->db);
        return td_local_folder_fail (error, e, local->side.name);
      }
  if (!td_state_db_commit (local->db, &e))
    return td_local_folder_fail (error, e, local->side.name);
  return TRUE;
}

/* Moves the reader made */

void
td_local_move_clear (TdLocalMove *move)
{
  g_clear_pointer (&move->base, g_free);
  g_clear_pointer (&move->message_id, g_free);
}

/**
 * td_local_folder_identify:
 * @local: a scanned folder
 * @base: a file new to it
 * @message_id: (out) (transfer full) (nullable): its Message-ID, %NULL without a usable one
 * @size: (out): its size as a server counts it
 * @error: return location for an error
 *
 * Returns: %FALSE with no error when the file went away or cannot be read (it is then left
 *   to the upload, which reports it); %FALSE with @error only for a failure of the folder
 */
gboolean
td_local_folder_identify (TdLocalFolder *local, const char *base, char **message_id,
                          guint64 *size, GError **error)
{
  TdMaildirEntry *entry = local->side.disk ? g_hash_table_lookup (local->side.disk, base) : NULL;
  GError *e = NULL;

  *message_id = NULL;
  *size = 0;
  if (entry == NULL || local->folder == NULL)
    return FALSE;
  if (!td_maildir_folder_read_identity (local->folder, entry, message_id, size, NULL, &e))
    {
      g_error_free (e);
      return FALSE;
    }
  if (*message_id != NULL && !g_str_is_ascii (*message_id))
    g_clear_pointer (message_id, g_free);
  return *message_id != NULL;
}

typedef struct
{
  const GArray *moves;
  const TdFolderState *state;
} BeginMoves;

static gboolean
begin_one (TdLocalFolder *to, guint i, gpointer data, GError **error)
{
  const BeginMoves *b = data;
  const TdLocalMove *m = &g_array_index (b->moves, TdLocalMove, i);
  g_autofree char *uuid = g_uuid_string_random ();
  g_autofree char *token = g_strdup_printf ("<%s@tidings.invalid>", uuid);
  TdStateUpload u = { m->base, token, m->message_id, m->size, m->flags,
                      b->state->uidvalidity, MAX (b->state->uidnext, 1), FALSE, TRUE };

  return td_state_db_put_upload (to->db, to->record.id, &u, error);
}

/**
 * td_local_folder_begin_moves:
 * @to: the folder the messages go to
 * @moves: (element-type TdLocalMove): what goes there
 * @state: @to on the server, before the moves
 * @error: return location for an error
 *
 * Writes the intent row of each move in one transaction (see the top of this file); the
 * files stop being new uploads of @to.
 *
 * Returns: %TRUE on success
 */
gboolean
td_local_folder_begin_moves (TdLocalFolder *to, const GArray *moves, const TdFolderState *state,
                             GError **error)
{
  BeginMoves b = { moves, state };
  return in_one_transaction (to, moves->len, begin_one, &b, error);
}

static gboolean
rename_one (TdLocalFolder *local, guint i, gpointer data, GError **error)
{
  const TdLocalMove *m = &g_array_index ((const GArray *) data, TdLocalMove, i);
  TdStateMessage *row = td_local_folder_find (local, m->uid, NULL);

  if (row == NULL)
    return TRUE;
  TdStateMessage renamed = { row->uid, m->base, row->flags, row->size, row->message_id, FALSE,
                             row->email_id };
  return td_state_db_put_message (local->db, local->record.id, &renamed, error);
}

/**
 * td_local_folder_rename_rows:
 * @local: a folder
 * @moves: (element-type TdLocalMove): files the reader renamed inside @local: each row of
 *   @uid now names the file @base
 * @error: return location for an error
 *
 * Nothing goes to the server; the flags the file has now are compared with the row's at
 * the folder's turn, as for any file.
 *
 * Returns: %TRUE on success
 */
gboolean
td_local_folder_rename_rows (TdLocalFolder *local, const GArray *moves, GError **error)
{
  return in_one_transaction (local, moves->len, rename_one, (gpointer) moves, error);
}

static guint32
moved_to (const GArray *pairs, guint32 uid)
{
  for (guint i = 0; pairs != NULL && i < pairs->len; i++)
    if (g_array_index (pairs, TdUidMove, i).from == uid)
      return g_array_index (pairs, TdUidMove, i).to;
  return 0;
}

typedef struct
{
  TdLocalFolder *to;
  const GArray *moves;
  const GArray *pairs;
  gboolean expunged;
  guint recorded;
} FinishMoves;

static gboolean
finish_one (TdLocalFolder *from, guint i, gpointer data, GError **error)
{
  FinishMoves *f = data;
  const TdLocalMove *m = &g_array_index (f->moves, TdLocalMove, i);
  TdStateMessage *row = td_local_folder_find (from, m->uid, NULL);
  guint32 new_uid = moved_to (f->pairs, m->uid);

  if (row != NULL
      && !(f->expunged ? td_state_db_remove_message (from->db, from->record.id, m->uid, error)
                       : td_state_db_set_flags (from->db, from->record.id, m->uid,
                                                row->flags | TD_FLAG_DELETED, error)))
    return FALSE;
  if (new_uid == 0)
    return TRUE; /* the intent row stays: the folder's turn finds the message by a search */
  /* A move keeps the server's id of the content (RFC 8474). */
  TdStateMessage moved = { new_uid, m->base, m->flags, m->size, m->message_id, FALSE,
                           row != NULL ? row->email_id : NULL };
  f->recorded++;
  return td_state_db_put_message (f->to->db, f->to->record.id, &moved, error)
         && td_state_db_remove_upload (f->to->db, f->to->record.id, m->base, error);
}

/**
 * td_local_folder_finish_moves:
 * @from: the folder the messages left, open on the server when they were moved
 * @to: the folder they went to
 * @moves: (element-type TdLocalMove): what was moved
 * @pairs: (element-type TdUidMove): the new UIDs the server told
 * @expunged: whether they are gone from @from on the server, rather than marked deleted
 * @recorded: (out): moves recorded with their new UID
 * @error: return location for an error
 *
 * Records moves the server carried out, in one transaction: the rows leave @from (or keep
 * \Deleted where the originals stay marked), and each move whose new UID is known becomes a
 * row of @to in place of its intent row.
 *
 * Returns: %TRUE on success
 */
gboolean
td_local_folder_finish_moves (TdLocalFolder *from, TdLocalFolder *to, const GArray *moves,
                              const GArray *pairs, gboolean expunged, guint *recorded,
                              GError **error)
{
  FinishMoves f = { to, moves, pairs, expunged, 0 };
  gboolean ok = in_one_transaction (from, moves->len, finish_one, &f, error);

  *recorded = ok ? f.recorded : 0;
  return ok;
}

/* Moves the server made */

typedef struct
{
  TdLocalFolder *from;
  const GArray *moves;   /* TdServerMove */
  GArray *done;          /* gboolean per move: its file is (to be) in the new folder */
} TakeMoved;

/* The pending row in the new folder of a move whose file is here to rename. */
static gboolean
pend_one (TdLocalFolder *to, guint i, gpointer data, GError **error)
{
  TakeMoved *t = data;
  const TdServerMove *m = &g_array_index (t->moves, TdServerMove, i);
  const TdStateMessage *row = td_local_folder_find (t->from, m->uid, NULL);
  gboolean here = row != NULL && t->from->side.disk != NULL
                  && g_hash_table_contains (t->from->side.disk, row->base)
                  && (to->side.disk == NULL || !g_hash_table_contains (to->side.disk, row->base));

  g_array_index (t->done, gboolean, i) = here;
  if (!here)
    return TRUE;
  TdStateMessage pending = { m->to_uid, row->base, m->flags, row->size, row->message_id, TRUE,
                             row->email_id };
  return td_state_db_put_message (to->db, to->record.id, &pending, error);
}

/* The old row goes, the new one is published. */
static gboolean
publish_one (TdLocalFolder *to, guint i, gpointer data, GError **error)
{
  TakeMoved *t = data;
  const TdServerMove *m = &g_array_index (t->moves, TdServerMove, i);

  return !g_array_index (t->done, gboolean, i)
         || (td_state_db_remove_message (t->from->db, t->from->record.id, m->uid, error)
             && td_state_db_mark_published (to->db, to->record.id, m->to_uid, error));
}

/* Renames the file of each move pend_one() took; what cannot be renamed is not done. */
static gboolean
rename_files (TdLocalFolder *to, TakeMoved *t, guint *taken, GError **error)
{
  GError *e = NULL;

  for (guint i = 0; i < t->moves->len; i++)
    {
      const TdServerMove *m = &g_array_index (t->moves, TdServerMove, i);
      if (!g_array_index (t->done, gboolean, i))
        continue;
      const TdStateMessage *row = td_local_folder_find (t->from, m->uid, NULL);
      TdMaildirEntry *entry = g_hash_table_lookup (t->from->side.disk, row->base);
      /* Keyword bits are slots of their own folder's: the reader's changes are taken in the
       * standard flags; the keywords are the server's in the new folder. */
      TdFlags flags = (td_flags_merge (row->flags, m->flags, entry->flags) & TD_FLAGS_SYSTEM)
                      | (m->flags & TD_FLAGS_KEYWORDS);
      guint32 letters;
      if (!td_keyword_map_to_letters (to->keywords, flags, &letters, &e)
          || !td_maildir_folder_move_to (t->from->folder, row->base, entry, to->folder, flags,
                                         letters, &e))
        {
          if (!g_error_matches (e, TD_STORAGE_ERROR, TD_STORAGE_ERROR_GONE))
            return td_local_folder_fail (error, e, to->side.name);
          g_debug ("account %s, folder %s: %s", to->side.account, to->side.name, e->message);
          g_clear_error (&e);
          g_array_index (t->done, gboolean, i) = FALSE;
          continue;
        }
      (*taken)++;
    }
  return TRUE;
}

/**
 * td_local_folder_take_moved:
 * @from: the folder the server moved the messages out of
 * @to: the folder they are in now; both scanned
 * @moves: (element-type TdServerMove): what the server moved
 * @taken: (out): messages renamed here
 * @error: return location for an error
 *
 * Renames the files of messages the server moved, in the order that keeps a kill harmless
 * (see the top of this file). The file gets the server's flags merged with what the reader
 * changed since the last sync; the new row holds the server's, so the reader's changes go
 * to the server at @to's turn. A file that is gone, or whose name @to has already, stays a
 * download and a removal.
 *
 * Returns: %TRUE on success
 */
gboolean
td_local_folder_take_moved (TdLocalFolder *from, TdLocalFolder *to, const GArray *moves,
                            guint *taken, GError **error)
{
  g_autoptr (GArray) done = g_array_new (FALSE, TRUE, sizeof (gboolean));
  TakeMoved t = { from, moves, done };
  GError *e = NULL;

  *taken = 0;
  g_array_set_size (done, moves->len);
  if (!in_one_transaction (to, moves->len, pend_one, &t, error)
      || !rename_files (to, &t, taken, error))
    return FALSE;
  if (*taken == 0)
    return TRUE; /* the pending rows are dropped at the folder's next start */
  if (!td_maildir_folder_sync_dirs (to->folder, &e)
      || !td_maildir_folder_sync_dirs (from->folder, &e))
    return td_local_folder_fail (error, e, to->side.name);
  return in_one_transaction (to, moves->len, publish_one, &t, error);
}
