/* td-local-push.c: the local side of changes that go to the server: uploads of new local
 * messages and deletions the mail reader made.
 *
 * Uploads are crash-safe by an intent row written before the APPEND (table uploads). A run
 * that dies before it learns the new UID leaves the row; the next run looks for the message
 * on the server (by Message-ID, or by the token header added to a message without one) at
 * or above the UIDNEXT of the time, and records it if found, or uploads it if not. So a
 * message is never uploaded twice. Plain blocking code for a worker thread, like
 * td-local-folder.c.
 */
#include "td-local-folder.h"

#include <gio/gunixinputstream.h>
#include <string.h>
#include <unistd.h>

#include "storage/td-storage-error.h"
#include "td-crlf-converter.h"
#include "td-error.h"

static gboolean
push_error (GError **error, GError *local, const char *folder)
{
  g_set_error (error, TD_ERROR, TD_ERROR_LOCAL_IO, "folder %s: %s", folder, local->message);
  g_error_free (local);
  return FALSE;
}

void
td_local_upload_free (TdLocalUpload *upload)
{
  g_clear_object (&upload->upload.stream);
  g_free (upload);
}

/**
 * td_local_folder_guard_local_deletions:
 * @local: a scanned folder
 * @force: the user let deletions through
 * @error: return location for an error
 *
 * Refuses to take missing files as deletions when the folder looks wiped out (no file
 * left though it held messages: an emptied directory, an unmounted disk) or when more than
 * half of a folder of %TD_DELETION_GUARD_MIN_MESSAGES would go, unless @force.
 *
 * Returns: %TRUE when the deletions may go to the server
 */
gboolean
td_local_folder_guard_local_deletions (TdLocalFolder *local, gboolean force, GError **error)
{
  guint total = local->messages->len, n = local->deleted ? local->deleted->len : 0;

  if (force || n == 0)
    return TRUE;
  if (local->wiped)
    {
      g_set_error (error, TD_ERROR, TD_ERROR_NEEDS_USER, "account %s, folder %s: the local "
                   "folder has no messages left although %u were synced, so it looks emptied or "
                   "unmounted. Nothing was deleted on the server. If you deleted them on "
                   "purpose, run `tidings sync --force %s`", local->account, local->name, total,
                   local->account);
      return FALSE;
    }
  if (total < TD_DELETION_GUARD_MIN_MESSAGES || n * 2 <= total)
    return TRUE;
  g_set_error (error, TD_ERROR, TD_ERROR_NEEDS_USER, "account %s, folder %s: %u of the %u "
               "messages synced before are gone from the local folder, so they would be deleted "
               "on the server too. Nothing was changed in this folder. If that is what you "
               "want, run `tidings sync --force %s`", local->account, local->name, n, total,
               local->account);
  return FALSE;
}

static TdStateMessage *
lookup (TdLocalFolder *local, guint32 uid, guint *index)
{
  guint lo = 0, hi = local->messages->len;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      TdStateMessage *m = &g_array_index (local->messages, TdStateMessage, mid);
      if (m->uid == uid)
        {
          if (index != NULL)
            *index = mid;
          return m;
        }
      if (m->uid < uid)
        lo = mid + 1;
      else
        hi = mid;
    }
  return NULL;
}

/**
 * td_local_folder_dup_deleted:
 * @local: a scanned folder
 *
 * Returns: (transfer full) (element-type TdUidRange): the messages the mail reader deleted
 *   that the folder still records
 */
GArray *
td_local_folder_dup_deleted (TdLocalFolder *local)
{
  GArray *set = g_array_new (FALSE, FALSE, sizeof (TdUidRange));

  for (guint i = 0; local->deleted != NULL && i < local->deleted->len; i++)
    {
      guint32 uid = g_array_index (local->deleted, guint32, i);
      if (lookup (local, uid, NULL) != NULL)
        td_uid_set_add (set, uid);
    }
  return set;
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

  if (!td_state_db_begin (local->db, &e))
    return push_error (error, e, local->name);
  for (guint r = 0; r < uids->len; r++)
    {
      const TdUidRange *range = &g_array_index (uids, TdUidRange, r);
      for (guint32 uid = range->first; uid >= range->first && uid <= range->last; uid++)
        {
          guint index;
          TdStateMessage *m = lookup (local, uid, &index);
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
              return push_error (error, e, local->name);
            }
          if (expunged)
            g_array_remove_index (local->messages, index);
          else
            m->flags |= TD_FLAG_DELETED;
        }
    }
  if (!td_state_db_commit (local->db, &e))
    return push_error (error, e, local->name);
  return TRUE;
}

static void
search_free (TdBackendSearch *search)
{
  g_clear_pointer (&search->uids, g_array_unref);
  g_free (search);
}

/**
 * td_local_folder_plan_searches:
 * @local: a prepared folder
 *
 * Drops the uploads already recorded, then
 *
 * Returns: (transfer full) (element-type TdBackendSearch): one search per upload whose UID is
 *   not known (an earlier run was cut short, or the server has no UIDPLUS), in the order of
 *   local->uploads; the strings are borrowed from it
 */
GPtrArray *
td_local_folder_plan_searches (TdLocalFolder *local)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) search_free);

  for (guint i = local->uploads->len; i-- > 0;)
    if (g_array_index (local->uploads, TdStateUpload, i).token == NULL)
      g_array_remove_index (local->uploads, i);
  for (guint i = 0; i < local->uploads->len; i++)
    {
      const TdStateUpload *u = &g_array_index (local->uploads, TdStateUpload, i);
      TdBackendSearch *s = g_new0 (TdBackendSearch, 1);
      gboolean same = u->uidvalidity == local->record.uidvalidity;
      s->header = u->message_id ? "Message-ID" : TD_UPLOAD_HEADER;
      s->value = u->message_id ? u->message_id : u->token;
      s->min_uid = same ? MAX (u->min_uid, 1) : 1;
      s->size = u->size;
      g_ptr_array_add (out, s);
    }
  return out;
}

static gboolean
uid_taken (TdLocalFolder *local, GHashTable *taken, guint32 uid)
{
  return lookup (local, uid, NULL) != NULL || g_hash_table_contains (taken, GUINT_TO_POINTER (uid));
}

static void
insert_message (TdLocalFolder *local, TdStateMessage *m)
{
  guint at = local->messages->len;
  while (at > 0 && g_array_index (local->messages, TdStateMessage, at - 1).uid > m->uid)
    at--;
  g_array_insert_val (local->messages, at, *m);
}

/* Records an upload the server has under @uid as an ordinary message. */
static gboolean
record_upload (TdLocalFolder *local, const TdStateUpload *u, guint32 uid, GError **error)
{
  TdStateMessage m = { uid, u->base, u->flags, u->size, u->message_id, FALSE };

  if (!td_state_db_put_message (local->db, local->record.id, &m, error)
      || !td_state_db_remove_upload (local->db, local->record.id, u->base, error))
    return FALSE;
  m.base = g_strdup (u->base);
  m.message_id = g_strdup (u->message_id);
  insert_message (local, &m);
  return TRUE;
}

/* An upload that was never found on the server: it goes again, unless the server accepted
 * it once already, in which case it is kept here only rather than risk a second copy. */
static gboolean
drop_upload (TdLocalFolder *local, const TdStateUpload *u, guint *lost, GError **error)
{
  if (!td_state_db_remove_upload (local->db, local->record.id, u->base, error))
    return FALSE;
  if (u->appended)
    {
      (*lost)++;
      g_warning ("account %s, folder %s: an uploaded message cannot be found on the server "
                 "again; it is kept locally and not uploaded a second time", local->account,
                 local->name);
      g_hash_table_add (local->local_only, g_strdup (u->base));
      return td_state_db_put_local_only (local->db, local->record.id, u->base, error);
    }
  if (local->disk != NULL && g_hash_table_contains (local->disk, u->base))
    g_ptr_array_add (local->new_files, g_strdup (u->base));
  return TRUE;
}

/**
 * td_local_folder_resolve_uploads:
 * @local: a prepared folder
 * @searches: (element-type TdBackendSearch): td_local_folder_plan_searches(), answered
 * @found: (out): uploads found on the server and recorded
 * @lost: (out): uploads the server accepted but that cannot be found
 * @error: return location for an error
 *
 * Settles every upload in local->uploads: found ones become messages, the rest are sent
 * again (or kept local, see drop_upload()). local->uploads is empty afterwards.
 *
 * Returns: %TRUE on success
 */
gboolean
td_local_folder_resolve_uploads (TdLocalFolder *local, GPtrArray *searches, guint *found,
                                 guint *lost, GError **error)
{
  g_autoptr (GHashTable) taken = g_hash_table_new (g_direct_hash, g_direct_equal);
  GError *e = NULL;

  *found = *lost = 0;
  if (!td_state_db_begin (local->db, &e))
    return push_error (error, e, local->name);
  for (guint i = 0; i < local->uploads->len; i++)
    {
      const TdStateUpload *u = &g_array_index (local->uploads, TdStateUpload, i);
      const TdBackendSearch *s = g_ptr_array_index (searches, i);
      guint32 uid = 0;
      for (guint k = 0; s->uids != NULL && k < s->uids->len && uid == 0; k++)
        if (!uid_taken (local, taken, g_array_index (s->uids, guint32, k)))
          uid = g_array_index (s->uids, guint32, k);
      gboolean ok;
      if (uid != 0)
        {
          g_hash_table_add (taken, GUINT_TO_POINTER (uid));
          ok = record_upload (local, u, uid, &e);
          (*found)++;
        }
      else
        ok = drop_upload (local, u, lost, &e);
      if (!ok)
        {
          td_state_db_rollback (local->db);
          return push_error (error, e, local->name);
        }
    }
  if (!td_state_db_commit (local->db, &e))
    return push_error (error, e, local->name);
  g_array_set_size (local->uploads, 0);
  return TRUE;
}

/* The intent row for one new file; FALSE with no error when the file went away. */
static gboolean
plan_upload (TdLocalFolder *local, const char *base, const TdFolderState *state,
             TdStateUpload *u, GError **error)
{
  TdMaildirEntry *entry = g_hash_table_lookup (local->disk, base);
  char *message_id = NULL;
  guint64 size = 0;

  if (entry == NULL)
    return FALSE;
  if (!td_maildir_folder_read_identity (local->folder, entry, &message_id, &size, error))
    return FALSE;
  if (message_id != NULL && !g_str_is_ascii (message_id))
    g_clear_pointer (&message_id, g_free); /* cannot be searched for: the token is used */
  u->base = g_strdup (base);
  u->token = g_uuid_string_random ();
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
 * Writes the intent rows for every new local file (local->new_files) in one transaction and
 * keeps them in local->uploads. A file that went away meanwhile is skipped.
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
  for (guint i = 0; i < local->messages->len; i++)
    g_hash_table_add (known, g_array_index (local->messages, TdStateMessage, i).base);
  if (!td_state_db_begin (local->db, &e))
    return push_error (error, e, local->name);
  for (guint i = 0; i < local->new_files->len; i++)
    {
      TdStateUpload u = { 0 };
      if (g_hash_table_contains (known, g_ptr_array_index (local->new_files, i)))
        continue;
      if (!plan_upload (local, g_ptr_array_index (local->new_files, i), state, &u, &e))
        {
          td_state_upload_clear (&u);
          if (e == NULL)
            continue;
          td_state_db_rollback (local->db);
          return push_error (error, e, local->name);
        }
      if (!td_state_db_put_upload (local->db, local->record.id, &u, &e))
        {
          td_state_upload_clear (&u);
          td_state_db_rollback (local->db);
          return push_error (error, e, local->name);
        }
      g_array_append_val (local->uploads, u);
    }
  if (!td_state_db_commit (local->db, &e))
    return push_error (error, e, local->name);
  g_ptr_array_set_size (local->new_files, 0);
  return TRUE;
}

/**
 * td_local_folder_open_uploads:
 * @local: a folder with uploads begun
 * @first: the index in local->uploads to start at
 * @count: how many to open at most
 * @error: return location for an error
 *
 * Opens the files of a run of uploads as CRLF streams. A file the reader removed since the
 * scan is left out (its intent row is settled by the next run's search).
 *
 * Returns: (transfer full) (element-type TdLocalUpload): the uploads to send
 */
GPtrArray *
td_local_folder_open_uploads (TdLocalFolder *local, guint first, guint count, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) td_local_upload_free);

  for (guint i = first; i < local->uploads->len && i < first + count; i++)
    {
      const TdStateUpload *u = &g_array_index (local->uploads, TdStateUpload, i);
      TdMaildirEntry *entry = g_hash_table_lookup (local->disk, u->base);
      GError *e = NULL;
      gint64 mtime = 0;
      int fd = entry ? td_maildir_folder_open_message (local->folder, u->base, entry, &mtime, &e)
                     : -1;
      if (fd < 0)
        {
          if (e == NULL || g_error_matches (e, TD_STORAGE_ERROR, TD_STORAGE_ERROR_GONE))
            {
              g_clear_error (&e);
              continue;
            }
          return push_error (error, e, local->name), NULL;
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

  if (!td_state_db_begin (local->db, &e))
    return push_error (error, e, local->name);
  for (guint i = 0; i < sent->len; i++)
    {
      const TdLocalUpload *up = g_ptr_array_index (sent, i);
      TdStateUpload *u = &g_array_index (local->uploads, TdStateUpload, up->row);
      gboolean ok;
      u->appended = TRUE;
      if (up->upload.uid != 0)
        {
          ok = record_upload (local, u, up->upload.uid, &e);
          g_clear_pointer (&u->token, g_free); /* settled: see td_local_folder_plan_searches() */
        }
      else
        ok = td_state_db_put_upload (local->db, local->record.id, u, &e);
      if (!ok)
        {
          td_state_db_rollback (local->db);
          return push_error (error, e, local->name);
        }
    }
  if (!td_state_db_commit (local->db, &e))
    return push_error (error, e, local->name);
  return TRUE;
}
