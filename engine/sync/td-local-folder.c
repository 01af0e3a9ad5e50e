/* td-local-folder.c: the durable, crash-safe steps of a folder sync.
 *
 * The order of durable steps is what makes a kill at any instant safe:
 *   1. message files are written to tmp/ and flushed (one syncfs per batch);
 *   2. their rows are committed with pending = 1 (the intent);
 *   3. the files are renamed into new/ or cur/ and the directories flushed;
 *   4. the rows are committed with pending = 0.
 * On the next start a pending row whose file reached new/ or cur/ is completed, one whose
 * file did not is dropped (the message is downloaded again), and Tidings' files left in tmp/
 * are removed. So no message is lost, none is stored twice, and tmp/ holds nothing stale.
 */
#include "engine/sync/td-local-folder-private.h"

#include <glib/gstdio.h>
#include <string.h>

#include "storage/td-storage-error.h"
#include "engine/common/td-error.h"
#include "engine/sync/td-maildir-sink.h"
#include "engine/sync/td-tool-state.h"

/* Reports a storage error as the folder's: a bad name fails the folder, the rest is I/O. */
gboolean
td_local_folder_fail (GError **error, GError *local, const char *folder)
{
  int code = g_error_matches (local, TD_STORAGE_ERROR, TD_STORAGE_ERROR_BAD_NAME) ? TD_ERROR_FOLDER
                                                                                  : TD_ERROR_LOCAL_IO;
  g_set_error (error, TD_ERROR, code, "folder %s: %s", folder, local->message);
  g_error_free (local);
  return FALSE;
}

void
td_local_folder_free (TdLocalFolder *local)
{
  if (local == NULL)
    return;
  g_free (local->side.account);
  g_free (local->side.name);
  g_clear_pointer (&local->folder, td_maildir_folder_unref);
  g_clear_pointer (&local->side.messages, g_array_unref);
  g_clear_pointer (&local->side.disk, g_hash_table_unref);
  g_clear_pointer (&local->side.local_flags, g_array_unref);
  g_clear_pointer (&local->local_only, g_hash_table_unref);
  g_clear_pointer (&local->skipped, g_ptr_array_unref);
  g_clear_pointer (&local->side.uploads, g_array_unref);
  g_clear_pointer (&local->side.left, g_array_unref);
  g_clear_pointer (&local->side.new_files, g_ptr_array_unref);
  g_clear_pointer (&local->side.deleted, g_array_unref);
  g_clear_pointer (&local->keywords, td_keyword_map_free);
  g_free (local);
}

/**
 * td_local_side_find:
 * @side: a folder's local side
 * @uid: a UID
 * @index: (out) (optional): its index in @side's messages
 *
 * Returns: (nullable): the row of @uid, by binary search
 */
const TdStateMessage *
td_local_side_find (const TdLocalSide *side, guint32 uid, guint *index)
{
  guint lo = 0, hi = side->messages->len;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      const TdStateMessage *m = &g_array_index (side->messages, TdStateMessage, mid);
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
 * td_local_side_file_flags:
 * @side: a folder's local side
 * @entry: one of its files, as scanned
 * @base: the message's flags after the last sync (its row)
 *
 * Returns: the flags the file says the message has: what its name shows, and @base's for
 *   the keywords no name could show
 */
TdFlags
td_local_side_file_flags (const TdLocalSide *side, const TdMaildirEntry *entry, TdFlags base)
{
  return (entry->flags & ~side->blind) | (base & side->blind);
}

/* The slots this run gave keywords go into the transaction that may record flags using
 * them: a flag bit is never stored without its keyword's name. */
static gboolean
keep_keywords (TdLocalFolder *local, GError **error)
{
  return td_keyword_map_save (local->keywords, local->db, local->record.id, error);
}

/**
 * td_local_folder_keyword_bits:
 * @local: a folder
 * @names: (nullable): keyword names as a listing of it gives them (TdMessageInfo.keywords)
 *
 * Returns: their flag bits in this folder
 */
TdFlags
td_local_folder_keyword_bits (TdLocalFolder *local, const char *names)
{
  return td_keyword_map_from_names (local->keywords, names);
}

/**
 * td_local_folder_absorb_keywords:
 * @local: a folder
 * @changes: (nullable): what the server listed of it
 *
 * Turns the keywords of the listed messages into their flag bits, before anything is
 * planned from them.
 */
void
td_local_folder_absorb_keywords (TdLocalFolder *local, TdFolderChanges *changes)
{
  if (changes == NULL)
    return;
  td_keyword_map_absorb (local->keywords, changes->changed);
  td_keyword_map_absorb (local->keywords, changes->added);
}

/**
 * td_local_folder_get_keyword_names:
 * @local: a folder
 *
 * Returns: (transfer none) (array zero-terminated=1): the folder's keyword names by slot,
 *   for stores and uploads to name the keyword bits by
 */
const char *const *
td_local_folder_get_keyword_names (TdLocalFolder *local)
{
  return td_keyword_map_get_names (local->keywords);
}

/**
 * td_local_folder_count_unshown_keywords:
 * @local: a folder
 *
 * Returns: how many of the folder's keywords its file names cannot show (TdFolderReport)
 */
guint
td_local_folder_count_unshown_keywords (TdLocalFolder *local)
{
  return td_keyword_map_count_no_letter (local->keywords)
         + td_keyword_map_count_untracked (local->keywords);
}

/**
 * td_local_folder_carry_flags:
 * @from: the folder a message leaves
 * @to: the folder it goes to
 * @flags: its flags in @from
 *
 * Keyword bits are slots of their own folder: a message that changes folders keeps its
 * keywords by name.
 *
 * Returns: @flags as bits of @to
 */
TdFlags
td_local_folder_carry_flags (TdLocalFolder *from, TdLocalFolder *to, TdFlags flags)
{
  const char *const *names = td_keyword_map_get_names (from->keywords);
  TdFlags out = flags & TD_FLAGS_SYSTEM;

  if (from == to)
    return flags;
  for (guint slot = 0; names[slot] != NULL; slot++)
    if (flags & TD_FLAG_KEYWORD (slot))
      out |= td_keyword_map_from_names (to->keywords, names[slot]);
  return out;
}

/**
 * td_local_folder_begin:
 * @local: a folder
 * @error: return location for a storage error
 *
 * Begins a transaction of the state DB for the folder's records: every transaction that
 * writes flags begins so.
 *
 * Returns: %TRUE when the transaction is open
 */
gboolean
td_local_folder_begin (TdLocalFolder *local, GError **error)
{
  if (!td_state_db_begin (local->db, error))
    return FALSE;
  if (!keep_keywords (local, error))
    return td_state_db_rollback (local->db), FALSE;
  return TRUE;
}

/**
 * td_local_folder_scan:
 * @local: a folder
 *
 * Scans the folder's files, their keyword letters read as flag bits. The first scan also
 * tells which keywords no file can show (TdLocalSide.blind).
 *
 * Returns: (transfer full): base name -> TdMaildirEntry; empty without a directory
 */
GHashTable *
td_local_folder_scan (TdLocalFolder *local)
{
  if (local->folder == NULL)
    return g_hash_table_new (g_str_hash, g_str_equal);
  GHashTable *disk = td_maildir_folder_scan (local->folder, NULL);
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, disk);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      TdMaildirEntry *entry = value;
      entry->flags |= td_keyword_map_from_letters (local->keywords, entry->letters);
    }
  if (!local->blind_known)
    local->side.blind = td_keyword_map_blind (local->keywords);
  local->blind_known = TRUE;
  return disk;
}

/**
 * td_local_folder_show_flags:
 * @local: a folder
 * @base: a message's base name
 * @entry: (inout): its file as scanned; updated to its new name
 * @flags: the flags its name is to show, keywords by their letters
 * @error: return location for an error
 *
 * Returns: %TRUE unless dovecot-keywords or the rename failed
 */
gboolean
td_local_folder_show_flags (TdLocalFolder *local, const char *base, TdMaildirEntry *entry,
                            TdFlags flags, GError **error)
{
  guint32 letters;

  return td_keyword_map_to_letters (local->keywords, flags, &letters, error)
         && td_maildir_folder_set_flags (local->folder, base, entry, flags, letters, error);
}

/* The row of @uid, to change, and its @index (nullable) in the side's messages. */
TdStateMessage *
td_local_folder_find (TdLocalFolder *local, guint32 uid, guint *index)
{
  return (TdStateMessage *) td_local_side_find (&local->side, uid, index);
}

/**
 * td_local_folder_get_side:
 * @local: a prepared folder
 *
 * Returns: (transfer none): what the folder holds, for the planner to read
 */
const TdLocalSide *
td_local_folder_get_side (TdLocalFolder *local)
{
  return &local->side;
}

/* Leaves a file out of this sync when reading it failed for a reason of its own: gone
 * since the scan (silently), or there and unreadable (said, and the run ends with exit 1).
 * Takes @why. Returns: FALSE when @why is about more than the one file. */
gboolean
td_local_folder_skip (TdLocalFolder *local, GError *why)
{
  gboolean gone = g_error_matches (why, TD_STORAGE_ERROR, TD_STORAGE_ERROR_GONE);

  if (!gone && !g_error_matches (why, TD_STORAGE_ERROR, TD_STORAGE_ERROR_UNREADABLE))
    return FALSE;
  if (!gone)
    {
      td_local_folder_note_skipped (local, g_strdup_printf ("%s; skipped, the rest of the "
                                                            "folder syncs", why->message));
      local->unreadable++;
    }
  g_error_free (why);
  return TRUE;
}

/**
 * td_local_folder_note_skipped:
 * @local: a folder
 * @why: (transfer full): a line that names a file left out of the sync and why
 */
void
td_local_folder_note_skipped (TdLocalFolder *local, char *why)
{
  if (local->skipped == NULL)
    local->skipped = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (local->skipped, why);
}

/**
 * td_local_folder_take_skipped:
 * @local: a folder
 * @unreadable: (out): how many of them could not be read
 *
 * Returns: (transfer full) (nullable): why files were left out of this sync, one line each
 */
GPtrArray *
td_local_folder_take_skipped (TdLocalFolder *local, guint *unreadable)
{
  *unreadable = local->unreadable;
  local->unreadable = 0;
  return g_steal_pointer (&local->skipped);
}

/* Returns: (transfer none) (nullable): the folder's directory, NULL in a dry run when the
 * folder does not exist here yet */
TdMaildirFolder *
td_local_folder_get_maildir_folder (TdLocalFolder *local)
{
  return local->folder;
}

/* Adds a row to local->side.messages in UID order, taking its strings. */
void
td_local_folder_insert (TdLocalFolder *local, TdStateMessage *message)
{
  guint at = local->side.messages->len;
  while (at > 0 && g_array_index (local->side.messages, TdStateMessage, at - 1).uid > message->uid)
    at--;
  g_array_insert_val (local->side.messages, at, *message);
}

/* Completes or drops downloads an earlier run left pending (see the top of this file). */
static gboolean
resolve_pending (TdLocalFolder *local, GError **error)
{
  g_autoptr (GHashTable) disk = NULL;
  GError *e = NULL;
  gboolean any = FALSE;

  for (guint i = 0; i < local->side.messages->len && !any; i++)
    any = g_array_index (local->side.messages, TdStateMessage, i).pending;
  if (!any)
    return TRUE;
  disk = td_maildir_folder_scan (local->folder, NULL);
  if (!td_local_folder_begin (local, &e))
    return td_local_folder_fail (error, e, local->side.name);
  for (guint i = local->side.messages->len; i-- > 0;)
    {
      TdStateMessage *m = &g_array_index (local->side.messages, TdStateMessage, i);
      if (!m->pending)
        continue;
      gboolean ok;
      if (g_hash_table_contains (disk, m->base))
        {
          ok = td_state_db_mark_published (local->db, local->record.id, m->uid, &e);
          m->pending = FALSE;
        }
      else
        {
          ok = td_state_db_remove_message (local->db, local->record.id, m->uid, &e);
          g_array_remove_index (local->side.messages, i);
        }
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

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Looks at the disk for what the mail reader changed: flags, deleted and new files. The directory times are taken before
 * the scan, so a change during the scan shows as a change next time. */
static void
scan_local_changes (TdLocalFolder *local)
{
  if (local->folder != NULL)
    td_maildir_folder_dir_mtimes (local->folder, &local->record.cur_mtime,
                                  &local->record.new_mtime);
  local->record.scanned_at = g_get_real_time () * 1000;
  local->side.disk = td_local_folder_scan (local);
  local->side.local_flags = g_array_new (FALSE, FALSE, sizeof (TdLocalFlags));
  local->side.deleted = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr (GHashTable) known = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < local->side.messages->len; i++)
    {
      TdStateMessage *m = &g_array_index (local->side.messages, TdStateMessage, i);
      TdMaildirEntry *e = g_hash_table_lookup (local->side.disk, m->base);
      g_hash_table_add (known, m->base);
      TdFlags file = e != NULL ? td_local_side_file_flags (&local->side, e, m->flags) : 0;
      if (e != NULL && file != m->flags)
        {
          TdLocalFlags l = { m->uid, file };
          g_array_append_val (local->side.local_flags, l);
        }
      else if (e == NULL && !(m->flags & TD_FLAG_DELETED))
        g_array_append_val (local->side.deleted, m->uid);
    }
  for (guint i = 0; i < local->side.uploads->len; i++)
    g_hash_table_add (known, g_array_index (local->side.uploads, TdStateUpload, i).base);
  GHashTableIter it;
  gpointer base;
  g_hash_table_iter_init (&it, local->side.disk);
  while (g_hash_table_iter_next (&it, &base, NULL))
    if (!g_hash_table_contains (known, base) && !g_hash_table_contains (local->local_only, base))
      g_ptr_array_add (local->side.new_files, g_strdup (base));
  g_ptr_array_sort (local->side.new_files, compare_strings);
  local->side.wiped = local->side.messages->len > 0 && g_hash_table_size (local->side.disk) == 0;
}

/**
 * td_local_folder_prepare:
 * @db: the state database
 * @maildir: the account's Maildir
 * @account: the account name
 * @name: the folder's decoded name
 * @components: its directories below @maildir
 * @scan: look for changes a mail reader made (flags renamed), for pushing them
 * @dry_run: change nothing: neither create the folder nor record it, clean tmp/ or resolve
 *   interrupted downloads (the folder's local side is then only good for looking at)
 * @error: return location for an error
 *
 * Opens (creating) the folder's directory, removes what an interrupted run left in tmp/,
 * loads the folder's state and resolves interrupted downloads.
 *
 * Returns: (transfer full) (nullable): the folder's local side
 */
TdLocalFolder *
td_local_folder_prepare (TdStateDb *db, TdMaildir *maildir, const char *account,
                         const char *name, char **components, gboolean scan, gboolean dry_run,
                         GError **error)
{
  g_autoptr (TdLocalFolder) local = g_new0 (TdLocalFolder, 1);
  GError *e = NULL;

  local->db = db;
  local->side.account = g_strdup (account);
  local->side.name = g_strdup (name);
  local->folder = dry_run ? td_maildir_find_folder (maildir, components, &e)
                          : td_maildir_open_folder (maildir, components, &e);
  if (local->folder == NULL && !g_error_matches (e, TD_STORAGE_ERROR, TD_STORAGE_ERROR_GONE))
    return td_local_folder_fail (error, e, name), NULL;
  g_clear_error (&e);
  if (!dry_run)
    td_maildir_folder_clean_tmp (local->folder);
  if (!(dry_run ? td_state_db_find_folder (db, account, name, &local->record, &e)
                : td_state_db_get_folder (db, account, name, &local->record, &e))
      || (local->side.messages = td_state_db_load_messages (db, local->record.id, &e)) == NULL)
    return td_local_folder_fail (error, e, name), NULL;
  local->keywords = td_keyword_map_new (local->folder);
  if (!td_keyword_map_load (local->keywords, db, local->record.id, &e))
    return td_local_folder_fail (error, e, name), NULL;
  local->side.keywords = td_keyword_map_get_names (local->keywords);
  if (!dry_run && !resolve_pending (local, error))
    return NULL;
  local->side.new_files = g_ptr_array_new_with_free_func (g_free);
  if ((local->side.uploads = td_state_db_load_uploads (db, local->record.id, &e)) == NULL
      || (local->local_only = td_state_db_load_local_only (db, local->record.id, &e)) == NULL
      || (local->side.left = td_state_db_load_left (db, local->record.id, &e)) == NULL)
    return td_local_folder_fail (error, e, name), NULL;
  if (local->record.uidvalidity == 0 && local->side.messages->len == 0 && local->folder != NULL)
    {
      g_autoptr (GHashTable) disk = td_local_folder_scan (local);
      local->side.untracked = g_hash_table_size (disk) > 0;
    }
  if (scan)
    scan_local_changes (local);
  return g_steal_pointer (&local);
}

/**
 * td_local_folder_sync_point:
 * @local: a prepared folder
 * @not_before: the run's max-age as a date (0: none)
 * @point: (out caller-allocates): the folder's sync point
 *
 * The point the folder's changes are asked from. A message max-age left on the server by UID
 * only, whose bound is after @not_before now (max-age was made longer), must be listed again
 * to be decided: the UIDNEXT given is then its UID, so the new messages' listing takes it in
 * (the folder summary of td_state_db_list_folders() says the same).
 */
void
td_local_folder_sync_point (TdLocalFolder *local, gint64 not_before, TdSyncPoint *point)
{
  point->uidvalidity = local->record.uidvalidity;
  point->uidnext = local->record.uidnext;
  point->highestmodseq = local->record.highestmodseq;
  point->known_count = local->side.messages->len;
  point->last_uid = local->side.messages->len
                      ? g_array_index (local->side.messages, TdStateMessage, local->side.messages->len - 1).uid
                      : 0;
  /* What max-size or max-age left on the server is known to be there as much as what is
   * held: the server's count and listings include it. */
  GArray *left = local->side.left;
  if (left != NULL && left->len > 0)
    {
      point->known_count += left->len;
      point->last_uid = MAX (point->last_uid,
                             g_array_index (left, TdStateLeft, left->len - 1).uid);
    }
  for (guint i = 0; left != NULL && i < left->len; i++)
    {
      const TdStateLeft *t = &g_array_index (left, TdStateLeft, i);
      if (t->received_before > not_before)
        {
          point->uidnext = MIN (point->uidnext, t->uid); /* rows are by UID: the first */
          break;
        }
    }
}

/* Brings one message's row to the merged flags, and its file too, merging again with what
 * the file says now: a change the reader made since the scan is kept, not undone. */
static gboolean
apply_flags (TdLocalFolder *local, GHashTable **disk, const TdFlagPlan *p, guint *changed,
             GError **error)
{
  TdStateMessage *m = td_local_folder_find (local, p->uid, NULL);
  GError *e = NULL;

  if (m == NULL)
    return TRUE;
  if (*disk == NULL)
    *disk = td_local_folder_scan (local);
  TdMaildirEntry *entry = g_hash_table_lookup (*disk, m->base);
  if (entry != NULL)
    {
      TdFlags now = td_local_side_file_flags (&local->side, entry, p->base);
      TdFlags file = td_flags_merge (p->base, p->merged, now);
      *changed += file != now;
      if (!td_local_folder_show_flags (local, m->base, entry, file, &e))
        return td_local_folder_fail (error, e, local->side.name);
    }
  if (!td_state_db_set_flags (local->db, local->record.id, m->uid, p->merged, &e))
    return td_local_folder_fail (error, e, local->side.name);
  m->flags = p->merged;
  return TRUE;
}

static gboolean
remove_message (TdLocalFolder *local, GHashTable **disk, guint index, GError **error)
{
  TdStateMessage *m = &g_array_index (local->side.messages, TdStateMessage, index);
  GError *e = NULL;

  if (*disk == NULL)
    *disk = td_local_folder_scan (local);
  TdMaildirEntry *entry = g_hash_table_lookup (*disk, m->base);
  if ((entry != NULL && !td_maildir_folder_remove (local->folder, entry, &e))
      || !td_state_db_remove_message (local->db, local->record.id, m->uid, &e))
    return td_local_folder_fail (error, e, local->side.name);
  g_array_remove_index (local->side.messages, index);
  return TRUE;
}

static int
compare_uids (const void *a, const void *b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
  return x < y ? -1 : x > y;
}

/* A message the server dropped that the deletes policy keeps here: its row goes, and its
 * file is remembered as local-only so it is never taken for a new message to upload. */
static gboolean
keep_message (TdLocalFolder *local, guint index, GError **error)
{
  TdStateMessage *m = &g_array_index (local->side.messages, TdStateMessage, index);
  GError *e = NULL;

  if (!td_state_db_remove_message (local->db, local->record.id, m->uid, &e)
      || !td_state_db_put_local_only (local->db, local->record.id, m->base, &e))
    return td_local_folder_fail (error, e, local->side.name);
  g_hash_table_add (local->local_only, g_strdup (m->base));
  g_array_remove_index (local->side.messages, index);
  return TRUE;
}

static gboolean
apply_removals (TdLocalFolder *local, const GArray *uids, gboolean remove_here,
                GHashTable **disk, guint *removed, GError **error)
{
  for (guint k = 0; k < uids->len; k++)
    {
      guint index;
      if (td_local_folder_find (local, g_array_index (uids, guint32, k), &index) == NULL)
        continue;
      if (!remove_here)
        {
          if (!keep_message (local, index, error))
            return FALSE;
          continue;
        }
      if (!remove_message (local, disk, index, error))
        return FALSE;
      (*removed)++;
    }
  return TRUE;
}

/**
 * td_local_folder_ensure_scanned:
 * @local: a prepared folder
 *
 * Scans the folder's files, if that was not done yet, so a plan can count the flag changes
 * they take.
 */
void
td_local_folder_ensure_scanned (TdLocalFolder *local)
{
  if (local->side.disk == NULL && local->folder != NULL)
    local->side.disk = td_local_folder_scan (local);
}

static int compare_left (const void *a, const void *b);

/* Drops @uid from the records of what the limits left on the server, as the DB did. */
static void
forget_left (TdLocalFolder *local, guint32 uid)
{
  GArray *rows = local->side.left;
  TdStateLeft key = { uid, 0 };
  TdStateLeft *hit = rows != NULL && rows->len > 0
                       ? bsearch (&key, rows->data, rows->len, sizeof (TdStateLeft),
                                  compare_left)
                       : NULL;
  if (hit != NULL)
    g_array_remove_index (rows, (guint) (hit - (TdStateLeft *) (void *) rows->data));
}

/* What max-size and max-age leave on the server: the plan's new records, and the records of
 * messages held now or gone from the server dropped; the folder's copy follows. */
static gboolean
record_left (TdLocalFolder *local, const GArray *left_new, const GArray *left_gone,
             GError **error)
{
  GError *e = NULL;

  for (guint i = 0; left_new != NULL && i < left_new->len; i++)
    if (!td_state_db_put_left (local->db, local->record.id,
                               &g_array_index (left_new, TdStateLeft, i), &e))
      return td_local_folder_fail (error, e, local->side.name);
  for (guint i = 0; left_gone != NULL && i < left_gone->len; i++)
    if (!td_state_db_remove_left (local->db, local->record.id,
                                  g_array_index (left_gone, guint32, i), &e))
      return td_local_folder_fail (error, e, local->side.name);
  for (guint i = 0; left_gone != NULL && i < left_gone->len; i++)
    forget_left (local, g_array_index (left_gone, guint32, i));
  /* A new record may replace one (a UID alone, listed in full now). */
  for (guint i = 0; left_new != NULL && i < left_new->len; i++)
    forget_left (local, g_array_index (left_new, TdStateLeft, i).uid);
  if (left_new != NULL && left_new->len > 0)
    {
      g_array_append_vals (local->side.left, left_new->data, left_new->len);
      g_array_sort (local->side.left, compare_left);
    }
  return TRUE;
}

/* The body of td_local_folder_apply_plan(), in the caller's transaction. */
static gboolean
apply_in_transaction (TdLocalFolder *local, const GArray *flags, const GArray *removals,
                      gboolean remove_here, const GArray *left_new,
                      const GArray *left_gone, guint *flags_changed, guint *removed,
                      GError **error)
{
  g_autoptr (GHashTable) disk = local->side.disk ? g_hash_table_ref (local->side.disk) : NULL;

  for (guint i = 0; i < flags->len; i++)
    if (!apply_flags (local, &disk, &g_array_index (flags, TdFlagPlan, i), flags_changed, error))
      return FALSE;
  return apply_removals (local, removals, remove_here, &disk, removed, error)
         && record_left (local, left_new, left_gone, error);
}

/**
 * td_local_folder_apply_plan:
 * @local: a prepared folder
 * @flags: (element-type TdFlagPlan): the plan's flag changes
 * @removals: (element-type guint32): the plan's removals: UIDs the server no longer has
 * @remove_here: remove their files; otherwise keep them, local-only
 * @left_new: (element-type TdStateLeft) (nullable): messages max-size or max-age leave on
 *   the server, to record
 * @left_gone: (element-type guint32) (nullable): their records to drop
 * @flags_changed: (out): messages whose files took a flag change
 * @removed: (out): messages removed
 * @error: return location for an error
 *
 * Applies the server's side of a plan to the Maildir and the DB, in one transaction. The
 * deletion guard was the plan's to apply.
 *
 * Returns: %TRUE on success
 */
gboolean
td_local_folder_apply_plan (TdLocalFolder *local, const GArray *flags, const GArray *removals,
                            gboolean remove_here, const GArray *left_new,
                            const GArray *left_gone, guint *flags_changed, guint *removed,
                            GError **error)
{
  GError *e = NULL;

  *flags_changed = *removed = 0;
  if (flags->len == 0 && removals->len == 0 && (left_new == NULL || left_new->len == 0)
      && (left_gone == NULL || left_gone->len == 0))
    return TRUE;
  if (!td_local_folder_begin (local, &e))
    return td_local_folder_fail (error, e, local->side.name);
  if (!apply_in_transaction (local, flags, removals, remove_here, left_new, left_gone,
                             flags_changed, removed, error))
    {
      td_state_db_rollback (local->db);
      return FALSE;
    }
  if (!td_state_db_commit (local->db, &e))
    return td_local_folder_fail (error, e, local->side.name);
  return TRUE;
}

static int
compare_left (const void *a, const void *b)
{
  guint32 x = ((const TdStateLeft *) a)->uid, y = ((const TdStateLeft *) b)->uid;
  return x < y ? -1 : x > y;
}

/* Whether max-size or max-age had left @uid on the server. */
static gboolean
left_held (TdLocalFolder *local, guint32 uid)
{
  TdStateLeft key = { uid, 0 };
  GArray *rows = local->side.left;

  return rows != NULL && rows->len > 0
         && bsearch (&key, rows->data, rows->len, sizeof (TdStateLeft), compare_left)
              != NULL;
}

/* One transaction for the rows of every folder's batch: @batches[k] goes to @locals[k]. */
static gboolean
insert_rows (GPtrArray *locals, GPtrArray *batches, gboolean pending, GError **error)
{
  TdStateDb *db = ((TdLocalFolder *) g_ptr_array_index (locals, 0))->db;
  GError *e = NULL;

  if (!td_state_db_begin (db, &e))
    return td_local_folder_fail (error, e, ((TdLocalFolder *) locals->pdata[0])->side.name);
  for (guint k = 0; k < locals->len; k++)
    {
      TdLocalFolder *local = g_ptr_array_index (locals, k);
      GPtrArray *batch = g_ptr_array_index (batches, k);
      g_return_val_if_fail (local->db == db, FALSE);
      if (!keep_keywords (local, &e))
        {
          td_state_db_rollback (db);
          return td_local_folder_fail (error, e, local->side.name);
        }
      for (guint i = 0; i < batch->len; i++)
        {
          TdPendingMessage *p = g_ptr_array_index (batch, i);
          TdStateMessage m = { p->info.uid, (char *) td_maildir_delivery_get_base (p->delivery),
                               p->info.flags, p->info.size, p->info.message_id, pending,
                               p->info.email_id };
          /* A message the limits left on the server before, now stored: its record goes
           * with the row that replaces it. */
          if (!td_state_db_put_message (db, local->record.id, &m, &e)
              || (!pending && left_held (local, p->info.uid)
                  && !td_state_db_remove_left (db, local->record.id, p->info.uid, &e)))
            {
              td_state_db_rollback (db);
              return td_local_folder_fail (error, e, local->side.name);
            }
        }
    }
  if (!td_state_db_commit (db, &e))
    return td_local_folder_fail (error, e, ((TdLocalFolder *) locals->pdata[0])->side.name);
  return TRUE;
}

static void
remember_rows (TdLocalFolder *local, GPtrArray *batch)
{
  for (guint i = 0; i < batch->len; i++)
    {
      TdPendingMessage *p = g_ptr_array_index (batch, i);
      forget_left (local, p->info.uid);
      if (td_local_folder_find (local, p->info.uid, NULL) != NULL)
        continue;
      TdStateMessage m = { p->info.uid, g_strdup (td_maildir_delivery_get_base (p->delivery)),
                           p->info.flags, p->info.size, g_strdup (p->info.message_id), FALSE,
                           g_strdup (p->info.email_id) };
      td_local_folder_insert (local, &m);
    }
}

/* Flushes the new/ and cur/ directories of every folder: each folder's own when there are
 * one or two, else the file system once. */
static gboolean
sync_dirs (GPtrArray *locals, TdMaildir *maildir, GError **error)
{
  GError *e = NULL;

  if (locals->len > 2)
    return td_maildir_sync_filesystem (maildir, &e)
           || td_local_folder_fail (error, e, ((TdLocalFolder *) locals->pdata[0])->side.name);
  for (guint k = 0; k < locals->len; k++)
    {
      TdLocalFolder *local = g_ptr_array_index (locals, k);
      if (!td_maildir_folder_sync_dirs (local->folder, &e))
        return td_local_folder_fail (error, e, local->side.name);
    }
  return TRUE;
}

/**
 * td_local_folder_commit_batches:
 * @locals: (element-type TdLocalFolder): prepared folders of one account
 * @maildir: the account's Maildir
 * @batches: (element-type GPtrArray): for each folder of @locals, its downloads closed in
 *   tmp/ (TdPendingMessage)
 * @error: return location for an error
 *
 * Makes the batches of several folders durable and visible together, in the crash-safe
 * order at the top of this file: one flush of the files, one transaction for the intents,
 * the renames, one flush of the directories, one transaction for the rows. The cost of a
 * batch is the same for one folder or a hundred.
 *
 * Returns: %TRUE when every message of every batch is stored
 */
gboolean
td_local_folder_commit_batches (GPtrArray *locals, TdMaildir *maildir, GPtrArray *batches,
                                GError **error)
{
  GError *e = NULL;
  guint messages = 0;

  g_return_val_if_fail (locals->len == batches->len, FALSE);
  for (guint k = 0; k < batches->len; k++)
    messages += ((GPtrArray *) g_ptr_array_index (batches, k))->len;
  if (messages == 0)
    return TRUE;
  for (guint k = 0; k < locals->len; k++)
    {
      TdLocalFolder *local = g_ptr_array_index (locals, k);
      GPtrArray *batch = g_ptr_array_index (batches, k);
      for (guint i = 0; i < batch->len; i++)
        {
          TdPendingMessage *p = g_ptr_array_index (batch, i);
          p->info.flags |= td_keyword_map_from_names (local->keywords, p->info.keywords);
          g_clear_pointer (&p->info.keywords, g_free);
        }
    }
  if (!td_maildir_sync_filesystem (maildir, &e))
    return td_local_folder_fail (error, e, ((TdLocalFolder *) locals->pdata[0])->side.name);
  if (!insert_rows (locals, batches, TRUE, error))
    return FALSE;
  for (guint k = 0; k < locals->len; k++)
    {
      TdLocalFolder *local = g_ptr_array_index (locals, k);
      GPtrArray *batch = g_ptr_array_index (batches, k);
      for (guint i = 0; i < batch->len; i++)
        {
          TdPendingMessage *p = g_ptr_array_index (batch, i);
          guint32 letters;
          if (!td_keyword_map_to_letters (local->keywords, p->info.flags, &letters, &e)
              || !td_maildir_delivery_publish (p->delivery, p->info.flags, letters, &e))
            return td_local_folder_fail (error, e, local->side.name);
        }
    }
  if (!sync_dirs (locals, maildir, error) || !insert_rows (locals, batches, FALSE, error))
    return FALSE;
  for (guint k = 0; k < locals->len; k++)
    remember_rows (g_ptr_array_index (locals, k), g_ptr_array_index (batches, k));
  return TRUE;
}

/* What a message is matched by: its Message-ID and size. A message Tidings uploaded without
 * a Message-ID is known on the server by the upload header it was given: it matches a local
 * file without one whose size is the server's less that header line, so losing the state
 * DB does not upload it again and download its copy. */
static char *
match_key (const char *message_id, guint64 size)
{
  if (message_id == NULL)
    return g_strdup_printf ("upload %" G_GUINT64_FORMAT, size);
  return g_strdup_printf ("%" G_GUINT64_FORMAT " %s", size, message_id);
}

static char *
server_key (const TdMessageInfo *s)
{
  if (s->message_id != NULL)
    return match_key (s->message_id, s->size);
  if (s->upload_token == NULL)
    return NULL;
  guint64 line = strlen (TD_UPLOAD_HEADER ": ") + strlen (s->upload_token) + 2;
  return s->size >= line ? match_key (NULL, s->size - line) : NULL;
}

/* Server messages by Message-ID and size; a key that occurs twice is ambiguous (UID 0). */
static GHashTable *
index_server (GArray *server)
{
  GHashTable *by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < server->len; i++)
    {
      const TdMessageInfo *s = &g_array_index (server, TdMessageInfo, i);
      char *key = server_key (s);
      if (key == NULL)
        continue;
      if (g_hash_table_contains (by_key, key))
        g_hash_table_replace (by_key, key, GUINT_TO_POINTER (0));
      else
        g_hash_table_insert (by_key, key, GUINT_TO_POINTER (s->uid));
    }
  return by_key;
}

/* A local message that may be one of the server's: the candidate for a match. */
typedef struct
{
  const char *base;
  const char *message_id;
  guint64 size;
  TdFlags flags;
  /* The size without the header line another tool added to its copy (mbsync's X-TUID), 0
   * without one: the server's copy may not have it. */
  guint64 bare_size;
  /* The server UID another tool's state gives the file (td-tool-state.h), 0 without one. */
  guint32 hint;
} Candidate;

/* The UID another tool's state pairs @c with, if the server's message there is this one by
 * its size and Message-ID (a state gone stale with the server is not trusted). */
static guint32
hinted_uid (const Candidate *c, GHashTable *by_uid, GHashTable *taken, guint64 *size)
{
  const TdMessageInfo *s = c->hint != 0 ? g_hash_table_lookup (by_uid, GUINT_TO_POINTER (c->hint))
                                        : NULL;

  if (s == NULL || g_hash_table_contains (taken, GUINT_TO_POINTER (c->hint))
      || g_strcmp0 (s->message_id, c->message_id) != 0)
    return 0;
  if (s->size != c->size && (c->bare_size == 0 || s->size != c->bare_size))
    return 0;
  *size = s->size;
  return c->hint;
}

/* The UID whose Message-ID and size are @c's, as it is or less another tool's header line. */
static guint32
keyed_uid (const Candidate *c, GHashTable *by_key, GHashTable *taken, guint64 *size)
{
  g_autofree char *key = match_key (c->message_id, c->size);
  guint32 uid = key ? GPOINTER_TO_UINT (g_hash_table_lookup (by_key, key)) : 0;

  *size = c->size;
  if ((uid == 0 || g_hash_table_contains (taken, GUINT_TO_POINTER (uid))) && c->bare_size > 0
      && c->message_id != NULL)
    {
      g_autofree char *bare = match_key (c->message_id, c->bare_size);
      uid = GPOINTER_TO_UINT (g_hash_table_lookup (by_key, bare));
      *size = c->bare_size;
    }
  return g_hash_table_contains (taken, GUINT_TO_POINTER (uid)) ? 0 : uid;
}

/* Stores @c as the server's message @uid. A row keeps the server's size, which for an
 * upload holds its header line too (@upload_sizes). */
static gboolean
record_match (TdLocalFolder *local, const Candidate *c, guint32 uid, guint64 size,
              GHashTable *upload_sizes, GError **error)
{
  const guint64 *server_size = g_hash_table_lookup (upload_sizes, GUINT_TO_POINTER (uid));
  TdStateMessage m = { uid, g_strdup (c->base), c->flags,
                       server_size != NULL ? *server_size : size, g_strdup (c->message_id),
                       FALSE };
  GError *e = NULL;

  if (!td_state_db_put_message (local->db, local->record.id, &m, &e))
    {
      td_state_message_clear (&m);
      return td_local_folder_fail (error, e, local->side.name);
    }
  g_array_append_val (local->side.messages, m);
  return TRUE;
}

/* Gives each candidate a server UID, at most once per UID: first the pairs another tool's
 * state names, then by Message-ID and size. Stores the matches as the folder's rows under
 * @uidvalidity, and lists the server messages left unmatched in @to_fetch. Runs inside the
 * caller's transaction. */
static gboolean
assign (TdLocalFolder *local, GArray *candidates, GArray *server, guint32 uidvalidity,
        GArray *to_fetch, guint *matched, GError **error)
{
  g_autoptr (GHashTable) by_key = index_server (server);
  g_autoptr (GHashTable) by_uid = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr (GHashTable) taken = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr (GHashTable) sizes = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autofree gboolean *done = g_new0 (gboolean, candidates->len + 1);
  GError *e = NULL;

  *matched = 0;
  for (guint i = 0; i < server->len; i++)
    {
      TdMessageInfo *s = &g_array_index (server, TdMessageInfo, i);
      g_hash_table_insert (by_uid, GUINT_TO_POINTER (s->uid), s);
      if (s->message_id == NULL && s->upload_token != NULL)
        g_hash_table_insert (sizes, GUINT_TO_POINTER (s->uid), &s->size);
    }
  for (guint i = 0; i < local->side.messages->len; i++)
    g_hash_table_add (taken, GUINT_TO_POINTER (g_array_index (local->side.messages, TdStateMessage, i).uid));
  for (guint pass = 0; pass < 2; pass++)
    for (guint i = 0; i < candidates->len; i++)
      {
        const Candidate *c = &g_array_index (candidates, Candidate, i);
        guint64 size = 0;
        guint32 uid = done[i] ? 0
                      : pass == 0 ? hinted_uid (c, by_uid, taken, &size)
                                  : keyed_uid (c, by_key, taken, &size);
        if (uid == 0)
          continue;
        if (!record_match (local, c, uid, size, sizes, error))
          return FALSE;
        g_hash_table_add (taken, GUINT_TO_POINTER (uid));
        done[i] = TRUE;
        (*matched)++;
      }
  g_array_sort (local->side.messages, compare_uids); /* uid is TdStateMessage's first member */
  local->record.uidvalidity = uidvalidity;
  local->record.uidnext = 0;
  local->record.highestmodseq = 0;
  if (!td_state_db_update_folder (local->db, &local->record, &e))
    return td_local_folder_fail (error, e, local->side.name);
  for (guint i = 0; i < server->len; i++)
    {
      guint32 uid = g_array_index (server, TdMessageInfo, i).uid;
      if (!g_hash_table_contains (taken, GUINT_TO_POINTER (uid)))
        td_uid_set_add (to_fetch, uid);
    }
  return TRUE;
}

/* assign() in a transaction of its own; with @clear_first the folder's old rows go first. */
static gboolean
assign_in_transaction (TdLocalFolder *local, GArray *candidates, GArray *server,
                       guint32 uidvalidity, gboolean clear_first, GArray *to_fetch,
                       guint *matched, GError **error)
{
  GError *e = NULL;

  if (!td_local_folder_begin (local, &e))
    return td_local_folder_fail (error, e, local->side.name);
  if (clear_first && !td_state_db_clear_messages (local->db, local->record.id, &e))
    {
      td_state_db_rollback (local->db);
      return td_local_folder_fail (error, e, local->side.name);
    }
  if (!assign (local, candidates, server, uidvalidity, to_fetch, matched, error))
    {
      td_state_db_rollback (local->db);
      return FALSE;
    }
  if (!td_state_db_commit (local->db, &e))
    return td_local_folder_fail (error, e, local->side.name);
  return TRUE;
}

/**
 * td_local_folder_rematch:
 * @local: a prepared folder whose UIDVALIDITY changed on the server
 * @server: (element-type TdMessageInfo): every message the server has now
 * @uidvalidity: the server's new UIDVALIDITY
 * @to_fetch: (element-type TdUidRange): receives the server messages with no local match
 * @matched: (out): how many local messages were matched
 * @error: return location for an error
 *
 * Maps local messages to the server's new UIDs by Message-ID and size. Local files are never
 * removed here; a local message with no match keeps its file, local-only.
 *
 * Returns: %TRUE on success
 */
gboolean
td_local_folder_rematch (TdLocalFolder *local, GArray *server, guint32 uidvalidity,
                         GArray *to_fetch, guint *matched, GError **error)
{
  g_autoptr (GArray) old = g_steal_pointer (&local->side.messages);
  g_autoptr (GArray) candidates = g_array_new (FALSE, FALSE, sizeof (Candidate));

  local->side.messages = g_array_new (FALSE, TRUE, sizeof (TdStateMessage));
  g_array_set_clear_func (local->side.messages, (GDestroyNotify) td_state_message_clear);
  g_autoptr (GHashTable) kept = g_hash_table_new (g_str_hash, g_str_equal);
  GError *e = NULL;

  for (guint i = 0; i < old->len; i++)
    {
      TdStateMessage *m = &g_array_index (old, TdStateMessage, i);
      Candidate c = { m->base, m->message_id, m->size, m->flags };
      g_array_append_val (candidates, c);
    }
  /* Deletions found by the scan were of the old UIDs; they mean nothing now. */
  if (local->side.deleted != NULL)
    g_array_set_size (local->side.deleted, 0);
  if (!assign_in_transaction (local, candidates, server, uidvalidity, TRUE, to_fetch, matched,
                              error))
    return FALSE;
  /* A local message the renumbered server no longer has is kept here, never uploaded: the
   * server's reset, not the user, removed it. */
  for (guint i = 0; i < local->side.messages->len; i++)
    g_hash_table_add (kept, g_array_index (local->side.messages, TdStateMessage, i).base);
  if (!td_local_folder_begin (local, &e))
    return td_local_folder_fail (error, e, local->side.name);
  for (guint i = 0; i < old->len; i++)
    {
      const char *base = g_array_index (old, TdStateMessage, i).base;
      if (g_hash_table_contains (kept, base))
        continue;
      if (!td_state_db_put_local_only (local->db, local->record.id, base, &e))
        {
          td_state_db_rollback (local->db);
          return td_local_folder_fail (error, e, local->side.name);
        }
      g_hash_table_add (local->local_only, g_strdup (base));
    }
  if (!td_state_db_commit (local->db, &e))
    return td_local_folder_fail (error, e, local->side.name);
  return TRUE;
}

static int
compare_infos (gconstpointer a, gconstpointer b)
{
  guint32 x = ((const TdMessageInfo *) a)->uid, y = ((const TdMessageInfo *) b)->uid;
  return x < y ? -1 : x > y;
}

/**
 * td_local_folder_leave_on_server:
 * @local: a folder just re-matched or adopted
 * @server: (element-type TdMessageInfo): every message the server has, with its size and
 *   date
 * @to_fetch: (element-type TdUidRange): what the match left to download; the messages
 *   @policy keeps on the server are taken out
 * @policy: the account's policy (max-size, max-age)
 * @too_big: (out): how many messages stay on the server for their size
 * @too_old: (out): how many for their age
 * @error: return location for an error
 *
 * The records of what the limits left on the server are of the folder's old UIDs: they go,
 * and the messages of @to_fetch that @policy keeps off are recorded instead, in one
 * transaction.
 *
 * Returns: %TRUE on success
 */
gboolean
td_local_folder_leave_on_server (TdLocalFolder *local, GArray *server, GArray *to_fetch,
                                 const TdSyncPolicy *policy, guint *too_big, guint *too_old,
                                 GError **error)
{
  g_autoptr (GArray) sorted = g_array_copy (server);
  g_autoptr (GArray) keep = g_array_new (FALSE, FALSE, sizeof (TdUidRange));
  g_autoptr (GArray) rows = g_array_new (FALSE, FALSE, sizeof (TdStateLeft));
  GError *e = NULL;

  *too_big = *too_old = 0;
  if (policy->max_size == 0 && policy->not_before == 0 && local->side.left->len == 0)
    return TRUE;
  td_uid_set_normalize (to_fetch);
  g_array_sort (sorted, compare_infos);
  for (guint i = 0; i < sorted->len; i++)
    {
      const TdMessageInfo *m = &g_array_index (sorted, TdMessageInfo, i);
      if (!td_uid_set_contains (to_fetch, m->uid)
          || (i > 0 && g_array_index (sorted, TdMessageInfo, i - 1).uid == m->uid))
        continue;
      TdLeaveReason why = td_sync_policy_leaves (policy, m->size, m->internal_date);
      if (why == TD_LEAVE_NONE)
        {
          td_uid_set_add (keep, m->uid);
          continue;
        }
      TdStateLeft t = { m->uid, m->size, m->internal_date };
      g_array_append_val (rows, t);
      (*(why == TD_LEAVE_TOO_OLD ? too_old : too_big))++;
    }
  if (!td_local_folder_begin (local, &e))
    return td_local_folder_fail (error, e, local->side.name);
  gboolean ok = td_state_db_remove_left (local->db, local->record.id, 0, &e);
  for (guint i = 0; ok && i < rows->len; i++)
    ok = td_state_db_put_left (local->db, local->record.id,
                               &g_array_index (rows, TdStateLeft, i), &e);
  if (!ok)
    {
      td_state_db_rollback (local->db);
      return td_local_folder_fail (error, e, local->side.name);
    }
  if (!td_state_db_commit (local->db, &e))
    return td_local_folder_fail (error, e, local->side.name);
  g_array_set_size (local->side.left, 0);
  g_array_append_vals (local->side.left, rows->data, rows->len);
  g_array_set_size (to_fetch, 0);
  g_array_append_vals (to_fetch, keep->data, keep->len);
  return TRUE;
}

/**
 * td_local_folder_adopt:
 * @local: a prepared folder that was never synced but holds messages (local->side.untracked)
 * @server: (element-type TdMessageInfo): every message the server has
 * @uidvalidity: the server's UIDVALIDITY
 * @mbsync_state: (nullable): the file where mbsync kept this folder's state, when not in the
 *   folder itself
 * @to_fetch: (element-type TdUidRange): receives the server messages with no local copy
 * @matched: (out): how many local files were recognised
 * @error: return location for an error
 *
 * Recognises messages already in the Maildir (a lost state DB, or a Maildir another tool
 * filled), so they are not downloaded a second time: by the UIDs mbsync's or offlineimap's
 * state gives them where it can be read and agrees with the server, else by Message-ID and
 * size.
 *
 * Returns: %TRUE on success
 */
/* A file of another tool's, whole, if it is a plain file no bigger than @max. */
static char *
read_bounded (const char *path, gsize max, gsize *len)
{
  GStatBuf st;
  char *text = NULL;

  if (g_stat (path, &st) != 0 || !S_ISREG (st.st_mode) || (guint64) st.st_size > max
      || !g_file_get_contents (path, &text, len, NULL))
    return NULL;
  if (*len > max)
    return g_free (text), NULL;
  return text;
}

/* mbsync's pairs of its Maildir UIDs with the server's, when its state is whole and was
 * written for this server UIDVALIDITY and this Maildir's: the file @state_file where it keeps
 * states together, else the folder's own (`SyncState *`). */
static GHashTable *
mbsync_pairs (TdLocalFolder *local, const char *state_file, guint32 uidvalidity)
{
  gsize len = 0, vlen = 0;
  g_autofree char *journal = state_file ? g_strconcat (state_file, ".journal", NULL) : NULL;

  /* A journal beside the state is a run mbsync did not finish: the state is not whole. */
  if (state_file != NULL ? g_file_test (journal, G_FILE_TEST_EXISTS)
                         : td_maildir_folder_has_file (local->folder, ".mbsyncstate.journal"))
    return NULL;
  g_autofree char *text = state_file != NULL
                            ? read_bounded (state_file, TD_TOOL_STATE_MAX_BYTES, &len)
                            : td_maildir_folder_read_small (local->folder, ".mbsyncstate",
                                                            TD_TOOL_STATE_MAX_BYTES, &len);
  g_autofree char *validity = td_maildir_folder_read_small (local->folder, ".uidvalidity", 64,
                                                            &vlen);
  TdMbsyncState state;

  if (text == NULL || validity == NULL || !td_mbsync_state_parse (text, len, &state))
    return NULL;
  if (state.far_validity != uidvalidity
      || state.near_validity != td_mbsync_uidvalidity_parse (validity, vlen))
    {
      g_debug ("folder %s: mbsync's state is of another UIDVALIDITY; matching by Message-ID",
               local->side.name);
      td_mbsync_state_clear (&state);
      return NULL;
    }
  return g_steal_pointer (&state.near_to_far);
}

/* The server UID another tool's state gives the file @base. */
static guint32
tool_hint (const char *base, GHashTable *mbsync)
{
  TdToolKind kind;
  guint32 uid = td_tool_state_name_uid (base, &kind);

  if (kind == TD_TOOL_OFFLINEIMAP)
    return uid;
  if (kind == TD_TOOL_MBSYNC && mbsync != NULL)
    return GPOINTER_TO_UINT (g_hash_table_lookup (mbsync, GUINT_TO_POINTER (uid)));
  return 0;
}

gboolean
td_local_folder_adopt (TdLocalFolder *local, GArray *server, guint32 uidvalidity,
                       const char *mbsync_state, GArray *to_fetch, guint *matched,
                       GError **error)
{
  g_autoptr (GHashTable) disk = td_local_folder_scan (local);
  g_autoptr (GHashTable) mbsync = mbsync_pairs (local, mbsync_state, uidvalidity);
  g_autoptr (GArray) candidates = g_array_new (FALSE, FALSE, sizeof (Candidate));
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter it;
  gpointer base, value;
  GError *e = NULL;

  g_hash_table_iter_init (&it, disk);
  while (g_hash_table_iter_next (&it, &base, &value))
    {
      TdMaildirEntry *entry = value;
      char *id = NULL;
      guint64 size = 0, tool_line = 0;
      if (!td_maildir_folder_read_identity (local->folder, entry, &id, &size, &tool_line, &e))
        {
          if (td_local_folder_skip (local, e))
            {
              e = NULL;
              continue;
            }
          return td_local_folder_fail (error, e, local->side.name);
        }
      g_ptr_array_add (ids, id);
      Candidate c = { base, id, size, entry->flags, tool_line < size ? size - tool_line : 0,
                      tool_hint (base, mbsync) };
      g_array_append_val (candidates, c);
    }
  return assign_in_transaction (local, candidates, server, uidvalidity, FALSE, to_fetch, matched,
                                error);
}

/* The folder's record with @state as its sync point; FALSE when nothing would change. */
static gboolean
sync_point (TdLocalFolder *local, const TdFolderState *state, TdStateFolder *r)
{
  *r = local->record;
  r->uidvalidity = state->uidvalidity;
  r->uidnext = state->uidnext;
  r->highestmodseq = state->highestmodseq;
  return local->side.disk != NULL || r->uidvalidity != local->record.uidvalidity
         || r->uidnext != local->record.uidnext
         || r->highestmodseq != local->record.highestmodseq;
}

/**
 * td_local_folder_save:
 * @local: a folder whose sync finished
 * @state: what the server reported when the folder was opened
 * @error: return location for an error
 *
 * Records the new sync point. Only called once every change up to @state is stored.
 *
 * Returns: %TRUE on success
 */
gboolean
td_local_folder_save (TdLocalFolder *local, const TdFolderState *state, GError **error)
{
  GError *e = NULL;
  TdStateFolder r;

  if (!sync_point (local, state, &r))
    return TRUE;
  if (!td_state_db_update_folder (local->db, &r, &e))
    return td_local_folder_fail (error, e, local->side.name);
  local->record = r;
  return TRUE;
}

/**
 * td_local_folder_finish_many:
 * @finishes: (array length=n): folders whose server work is done and whose downloads are
 *   durable, each with its plan's side here and the state to record
 * @n: how many
 * @error: return location for an error
 *
 * For every folder in turn, td_local_folder_apply_plan() then td_local_folder_save(), all
 * in one transaction of the state DB: a round of folders costs one commit, not two a
 * folder. Each folder's steps keep their order (files renamed or removed, then rows); a
 * crash before the commit leaves what a crash inside one folder's transaction leaves.
 *
 * Returns: %TRUE when every folder's side here and sync point are recorded
 */
gboolean
td_local_folder_finish_many (TdLocalFinish *finishes, guint n, GError **error)
{
  g_autofree TdStateFolder *records = g_new0 (TdStateFolder, n);
  g_autofree gboolean *saving = g_new0 (gboolean, n);
  GError *e = NULL;

  if (n == 0)
    return TRUE;
  TdStateDb *db = finishes[0].local->db;
  if (!td_state_db_begin (db, &e))
    return td_local_folder_fail (error, e, finishes[0].local->side.name);
  for (guint k = 0; k < n; k++)
    {
      TdLocalFinish *f = &finishes[k];
      g_return_val_if_fail (f->local->db == db, FALSE);
      f->flags_changed = f->removed = 0;
      if (!keep_keywords (f->local, &e))
        {
          td_state_db_rollback (db);
          return td_local_folder_fail (error, e, f->local->side.name);
        }
      if (!apply_in_transaction (f->local, f->flags, f->removals, f->remove_here,
                                 f->left_new, f->left_gone, &f->flags_changed,
                                 &f->removed, error))
        {
          td_state_db_rollback (db);
          return FALSE;
        }
      saving[k] = sync_point (f->local, f->state, &records[k]);
      if (saving[k] && !td_state_db_update_folder (db, &records[k], &e))
        {
          td_state_db_rollback (db);
          return td_local_folder_fail (error, e, f->local->side.name);
        }
    }
  if (!td_state_db_commit (db, &e))
    return td_local_folder_fail (error, e, finishes[0].local->side.name);
  for (guint k = 0; k < n; k++)
    if (saving[k])
      finishes[k].local->record = records[k];
  return TRUE;
}
