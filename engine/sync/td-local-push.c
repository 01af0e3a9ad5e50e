/* td-local-push.c: the local side of changes that go to the server: uploads of new local
 * messages and deletions the mail reader made.
 *
 * Uploads are crash-safe by an intent row written before the APPEND (table uploads). A run
 * that dies before it learns the new UID leaves the row; the next run looks for the message
 * on the server (by Message-ID, or by the token header added to a message without one) at
 * or above the UIDNEXT of the time, and records it if found, or uploads it if not. So a
 * message is never uploaded twice (moves write the same rows: td-local-moves.c). Plain
 * blocking code for a worker thread, like
 * td-local-folder.c.
 */
#include "engine/sync/td-local-folder-private.h"

#include <gio/gunixinputstream.h>
#include <string.h>
#include <unistd.h>

#include "storage/td-storage-error.h"
#include "engine/backend/td-crlf-converter.h"
#include "engine/common/td-error.h"

void
td_local_upload_free (TdLocalUpload *upload)
{
  g_clear_object (&upload->upload.stream);
  g_free (upload);
}

/**
 * td_local_folder_forget_deleted:
 * @local: a folder
 * @uids: (element-type TdUidRange): messages deleted on the server at the reader's wish
 * @expunged: whether they are gone there; otherwise they stay marked \Deleted
 * @error: return location for an error
 *
 * Records that the server has the reader's deletions: the rows go, or keep \Deleted so the
 * deletion is not sent again.
 *
 * Returns: %TRUE on success
 */
gboolean
td_local_folder_forget_deleted (TdLocalFolder *local, GArray *uids, gboolean expunged,
                                GError **error)
{
  GError *e = NULL;

  if (!td_local_folder_begin (local, &e))
    return td_local_folder_fail (error, e, local->side.name);
  for (guint r = 0; r < uids->len; r++)
    {
      const TdUidRange *range = &g_array_index (uids, TdUidRange, r);
      for (guint32 uid = range->first; uid >= range->first && uid <= range->last; uid++)
        {
          guint index;
          TdStateMessage *m = td_local_folder_find (local, uid, &index);
          gboolean ok;
          if (m == NULL)
            continue;
          if (expunged)
            ok = td_state_db_remove_message (local->db, local->record.id, uid, &e);
          else
            ok = td_state_db_set_flags (local->db, local->record.id, uid,
                                        m->flags | TD_FLAG_DELETED, &e);
          if (!ok)
            {
              td_state_db_rollback (local->db);
              return td_local_folder_fail (error, e, local->side.name);
            }
          if (expunged)
            g_array_remove_index (local->side.messages, index);
          else
            m->flags |= TD_FLAG_DELETED;
        }
    }
  if (!td_state_db_commit (local->db, &e))
    return td_local_folder_fail (error, e, local->side.name);
  return TRUE;
}

/* The lowest UID an unsettled upload can have: the folder's UIDNEXT before it was sent, or 1
 * after the server renumbered the folder. */
static guint32
first_possible_uid (TdLocalFolder *local, const TdStateUpload *u)
{
  return u->uidvalidity == local->record.uidvalidity ? MAX (u->min_uid, 1) : 1;
}

/**
 * td_local_folder_unsettled_from:
 * @local: a prepared folder
 *
 * Drops the uploads already recorded, then
 *
 * Returns: the lowest UID an upload whose UID is not known (an earlier run was cut short, or
 *   the server has no UIDPLUS) can have on the server, or 0 when there is none
 */
guint32
td_local_folder_unsettled_from (TdLocalFolder *local)
{
  guint32 first = 0;

  for (guint i = local->side.uploads->len; i-- > 0;)
    {
      const TdStateUpload *u = &g_array_index (local->side.uploads, TdStateUpload, i);
      if (u->token == NULL)
        g_array_remove_index (local->side.uploads, i);
      else if (first == 0 || first_possible_uid (local, u) < first)
        first = first_possible_uid (local, u);
    }
  return first;
}

/* What identifies an upload on the server: its Message-ID and size, or the token header
 * Tidings added to a message without one. */
static char *
upload_key (const char *message_id, const char *token, guint64 size)
{
  if (message_id != NULL)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " %s", size, message_id);
  return token ? g_strconcat ("token ", token, NULL) : NULL;
}

/* The listed server messages by upload_key(), each key's UIDs ascending. */
static GHashTable *
index_listing (GArray *server)
{
  GHashTable *by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                              (GDestroyNotify) g_array_unref);

  for (guint i = 0; i < server->len; i++)
    {
      const TdMessageInfo *s = &g_array_index (server, TdMessageInfo, i);
      char *keys[] = { upload_key (s->message_id, NULL, s->size),
                       upload_key (NULL, s->upload_token, 0) };
      for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
        {
          if (keys[k] == NULL)
            continue;
          GArray *uids = g_hash_table_lookup (by_key, keys[k]);
          if (uids == NULL)
            {
              uids = g_array_new (FALSE, FALSE, sizeof (guint32));
              g_hash_table_insert (by_key, keys[k], uids);
            }
          else
            g_free (keys[k]);
          g_array_append_val (uids, s->uid);
        }
    }
  return by_key;
}

static gboolean
uid_taken (TdLocalFolder *local, GHashTable *taken, guint32 uid)
{
  return td_local_folder_find (local, uid, NULL) != NULL
         || g_hash_table_contains (taken, GUINT_TO_POINTER (uid));
}

/* Records an upload the server has under @uid as an ordinary message. Flags the file has
 * now that the server did not get (a reader's change since, or a moved message's flags) are
 * the reader's changes, sent with the folder's others. */
static gboolean
record_upload (TdLocalFolder *local, const TdStateUpload *u, guint32 uid, GError **error)
{
  TdStateMessage m = { uid, u->base, u->flags, u->size, u->message_id, FALSE };
  const TdMaildirEntry *e = local->side.disk ? g_hash_table_lookup (local->side.disk, u->base)
                                             : NULL;

  if (!td_state_db_put_message (local->db, local->record.id, &m, error)
      || !td_state_db_remove_upload (local->db, local->record.id, u->base, error))
    return FALSE;
  m.base = g_strdup (u->base);
  m.message_id = g_strdup (u->message_id);
  td_local_folder_insert (local, &m);
  TdFlags file = e != NULL ? td_local_side_file_flags (&local->side, e, u->flags) : 0;
  if (e != NULL && file != u->flags && local->side.local_flags != NULL)
    {
      TdLocalFlags l = { uid, file };
      g_array_append_val (local->side.local_flags, l);
    }
  return TRUE;
}

/* An upload that was never found on the server: it goes again, unless the server accepted
 * it once already, in which case it is kept here only rather than risk a second copy. */
static gboolean
drop_upload (TdLocalFolder *local, const TdStateUpload *u, GError **error)
{
  if (!td_state_db_remove_upload (local->db, local->record.id, u->base, error))
    return FALSE;
  if (u->appended)
    {
      g_warning ("account %s, folder %s: an uploaded message cannot be found on the server "
                 "again; it is kept locally and not uploaded a second time", local->side.account,
                 local->side.name);
      g_hash_table_add (local->local_only, g_strdup (u->base));
      return td_state_db_put_local_only (local->db, local->record.id, u->base, error);
    }
  if (local->side.disk != NULL && g_hash_table_contains (local->side.disk, u->base))
    g_ptr_array_add (local->side.new_files, g_strdup (u->base));
  return TRUE;
}

/**
 * td_local_folder_resolve_uploads:
 * @local: a prepared folder
 * @server: (element-type TdMessageInfo): the server's messages from
 *   td_local_folder_unsettled_from() on
 * @last_look: whether what is not found now is taken as not on the server
 * @found: (out): uploads found on the server and recorded
 * @moved: (out): of @found, moves from another folder (see td_local_folder_begin_moves())
 * @left: (out): uploads not found and kept for another look (0 on the @last_look)
 * @error: return location for an error
 *
 * Settles every upload in local->side.uploads: found ones become messages, the rest are sent
 * again (or kept local, see drop_upload()). Unless it is the @last_look, what is not found
 * stays in local->side.uploads (@left says how many) for a second look a moment later: after
 * a run was killed, the server may still be storing APPENDs the dead connection had sent,
 * and a message sent again before they land would be there twice.
 *
 * Returns: %TRUE on success
 */
gboolean
td_local_folder_resolve_uploads (TdLocalFolder *local, GArray *server, gboolean last_look,
                                 guint *found, guint *moved, guint *left, GError **error)
{
  g_autoptr (GHashTable) by_key = index_listing (server);
  g_autoptr (GHashTable) taken = g_hash_table_new (g_direct_hash, g_direct_equal);
  GError *e = NULL;

  g_autoptr (GArray) kept = g_array_new (FALSE, TRUE, sizeof (TdStateUpload));

  *found = *moved = 0;
  if (!td_local_folder_begin (local, &e))
    return td_local_folder_fail (error, e, local->side.name);
  for (guint i = 0; i < local->side.uploads->len; i++)
    {
      const TdStateUpload *u = &g_array_index (local->side.uploads, TdStateUpload, i);
      g_autofree char *key = upload_key (u->message_id, u->token, u->size);
      GArray *uids = g_hash_table_lookup (by_key, key);
      guint32 uid = 0;
      for (guint k = 0; uids != NULL && k < uids->len && uid == 0; k++)
        {
          guint32 candidate = g_array_index (uids, guint32, k);
          if (candidate >= first_possible_uid (local, u) && !uid_taken (local, taken, candidate))
            uid = candidate;
        }
      gboolean ok = TRUE;
      if (uid != 0)
        {
          g_hash_table_add (taken, GUINT_TO_POINTER (uid));
          ok = record_upload (local, u, uid, &e);
          (*found)++;
          *moved += u->moved;
        }
      else if (!last_look)
        {
          /* Looked for again in a moment: see td_local_folder_resolve_uploads(). */
          g_array_append_val (kept, *u);
          memset (&g_array_index (local->side.uploads, TdStateUpload, i), 0, sizeof *u);
        }
      else
        ok = drop_upload (local, u, &e);
      if (!ok)
        {
          td_state_db_rollback (local->db);
          return td_local_folder_fail (error, e, local->side.name);
        }
    }
  if (!td_state_db_commit (local->db, &e))
    return td_local_folder_fail (error, e, local->side.name);
  g_array_set_size (local->side.uploads, 0);
  g_array_append_vals (local->side.uploads, kept->data, kept->len);
  g_array_set_size (kept, 0);
  *left = local->side.uploads->len;
  return TRUE;
}

/* The intent row for one new file; FALSE with no error when the file is left out (gone,
 * unreadable or empty; see td_local_folder_skip()). */
static gboolean
plan_upload (TdLocalFolder *local, const char *base, const TdFolderState *state,
             TdStateUpload *u, GError **error)
{
  TdMaildirEntry *entry = g_hash_table_lookup (local->side.disk, base);
  char *message_id = NULL;
  guint64 size = 0;
  GError *e = NULL;

  if (entry == NULL)
    return FALSE;
  if (!td_maildir_folder_read_identity (local->folder, entry, &message_id, &size, NULL, &e))
    {
      if (!td_local_folder_skip (local, e))
        g_propagate_error (error, e);
      return FALSE;
    }
  if (size == 0)
    {
      /* Only the upload header would reach the server: not a message. */
      g_autofree char *path = g_build_filename (td_maildir_folder_get_path (local->folder),
                                                entry->in_cur ? "cur" : "new", entry->filename,
                                                NULL);
      td_local_folder_note_skipped (local, g_strdup_printf ("%s is empty: not uploaded", path));
      return FALSE;
    }
  if (message_id != NULL && !g_str_is_ascii (message_id))
    g_clear_pointer (&message_id, g_free); /* not a usable identifier: the token is used */
  g_autofree char *uuid = g_uuid_string_random ();
  u->base = g_strdup (base);
  u->token = g_strdup_printf ("<%s@tidings.invalid>", uuid);
  u->message_id = message_id;
  u->size = size;
  if (message_id == NULL)
    u->size += strlen (TD_UPLOAD_HEADER ": ") + strlen (u->token) + 2;
  u->flags = entry->flags;
  u->uidvalidity = state->uidvalidity;
  u->min_uid = MAX (state->uidnext, 1);
  return TRUE;
}

/**
 * td_local_folder_begin_uploads:
 * @local: a scanned folder whose earlier uploads are resolved
 * @state: the server folder as opened
 * @error: return location for an error
 *
 * Writes the intent rows for every new local file (local->side.new_files) in one transaction and
 * keeps them in local->side.uploads. A file that went away meanwhile is skipped.
 *
 * Returns: %TRUE on success
 */
gboolean
td_local_folder_begin_uploads (TdLocalFolder *local, const TdFolderState *state,
                               GError **error)
{
  g_autoptr (GHashTable) known = g_hash_table_new (g_str_hash, g_str_equal);
  GError *e = NULL;

  /* Files matched to server messages since the scan (adopted) are not new any more. */
  for (guint i = 0; i < local->side.messages->len; i++)
    g_hash_table_add (known, g_array_index (local->side.messages, TdStateMessage, i).base);
  if (!td_local_folder_begin (local, &e))
    return td_local_folder_fail (error, e, local->side.name);
  for (guint i = 0; i < local->side.new_files->len; i++)
    {
      TdStateUpload u = { 0 };
      if (g_hash_table_contains (known, g_ptr_array_index (local->side.new_files, i)))
        continue;
      if (!plan_upload (local, g_ptr_array_index (local->side.new_files, i), state, &u, &e))
        {
          td_state_upload_clear (&u);
          if (e == NULL)
            continue;
          td_state_db_rollback (local->db);
          return td_local_folder_fail (error, e, local->side.name);
        }
      if (!td_state_db_put_upload (local->db, local->record.id, &u, &e))
        {
          td_state_upload_clear (&u);
          td_state_db_rollback (local->db);
          return td_local_folder_fail (error, e, local->side.name);
        }
      g_array_append_val (local->side.uploads, u);
    }
  if (!td_state_db_commit (local->db, &e))
    return td_local_folder_fail (error, e, local->side.name);
  g_ptr_array_set_size (local->side.new_files, 0);
  return TRUE;
}

/**
 * td_local_folder_open_uploads:
 * @local: a folder with uploads begun
 * @first: the index in local->side.uploads to start at
 * @count: how many to open at most
 * @error: return location for an error
 *
 * Opens the files of a run of uploads as CRLF streams. A file the reader removed since the
 * scan is left out (its intent row is settled by the next run).
 *
 * Returns: (transfer full) (element-type TdLocalUpload): the uploads to send
 */
GPtrArray *
td_local_folder_open_uploads (TdLocalFolder *local, guint first, guint count, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) td_local_upload_free);

  for (guint i = first; i < local->side.uploads->len && i < first + count; i++)
    {
      const TdStateUpload *u = &g_array_index (local->side.uploads, TdStateUpload, i);
      TdMaildirEntry *entry = g_hash_table_lookup (local->side.disk, u->base);
      GError *e = NULL;
      gint64 mtime = 0;
      int fd = entry ? td_maildir_folder_open_message (local->folder, u->base, entry, &mtime, &e)
                     : -1;
      if (fd < 0)
        {
          if (e == NULL || td_local_folder_skip (local, e))
            continue;
          return td_local_folder_fail (error, e, local->side.name), NULL;
        }
      g_autofree char *prefix = u->message_id ? NULL
                                              : g_strdup_printf (TD_UPLOAD_HEADER ": %s\r\n",
                                                                 u->token);
      g_autoptr (GInputStream) file = g_unix_input_stream_new (fd, TRUE);
      g_autoptr (TdCrlfConverter) crlf = td_crlf_converter_new (prefix);
      TdLocalUpload *up = g_new0 (TdLocalUpload, 1);
      up->upload.stream = g_converter_input_stream_new (file, G_CONVERTER (crlf));
      up->upload.size = u->size;
      up->upload.flags = u->flags;
      up->upload.keywords = td_keyword_map_get_names (local->keywords);
      up->upload.date = mtime;
      up->row = i;
      g_ptr_array_add (out, up);
    }
  return g_steal_pointer (&out);
}

/**
 * td_local_folder_finish_uploads:
 * @local: a folder
 * @sent: (element-type TdLocalUpload): uploads the server accepted
 * @error: return location for an error
 *
 * Records uploads whose UID the server told as messages; marks the others appended, to be
 * found by td_local_folder_resolve_uploads().
 *
 * Returns: %TRUE on success
 */
gboolean
td_local_folder_finish_uploads (TdLocalFolder *local, GPtrArray *sent, GError **error)
{
  GError *e = NULL;

  if (!td_local_folder_begin (local, &e))
    return td_local_folder_fail (error, e, local->side.name);
  for (guint i = 0; i < sent->len; i++)
    {
      const TdLocalUpload *up = g_ptr_array_index (sent, i);
      TdStateUpload *u = &g_array_index (local->side.uploads, TdStateUpload, up->row);
      gboolean ok;
      u->appended = TRUE;
      if (up->upload.uid != 0)
        {
          ok = record_upload (local, u, up->upload.uid, &e);
          g_clear_pointer (&u->token, g_free); /* settled: see td_local_folder_unsettled_from() */
        }
      else
        ok = td_state_db_put_upload (local->db, local->record.id, u, &e);
      if (!ok)
        {
          td_state_db_rollback (local->db);
          return td_local_folder_fail (error, e, local->side.name);
        }
    }
  if (!td_state_db_commit (local->db, &e))
    return td_local_folder_fail (error, e, local->side.name);
  return TRUE;
}

