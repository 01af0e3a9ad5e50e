/* td-download-folder.c: the durable, crash-safe steps of a download-only mailbox (POP3).
 *
 * The mailbox is one Maildir: the account's `maildir` itself (cur/, new/ and tmp/ directly
 * in it), as fetchmail, getmail and mpop users keep theirs. Its state DB record is the
 * folder "INBOX". Downloads follow the same order as IMAP's (td-local-folder.c): files
 * flushed in tmp/, rows committed as pending, files renamed into new/, directories flushed,
 * rows committed as done. A unique id is recorded as downloaded only once its file is
 * durable in new/; a pending row whose file never got there is dropped on the next start,
 * so that message is downloaded again. Nothing here ever deletes a local file.
 */
#include "engine/sync/td-download-folder.h"

#include <string.h>

#include "storage/td-storage-error.h"
#include "engine/common/td-error.h"
#include "engine/sync/td-maildir-sink.h"

#define SECONDS_PER_DAY (24 * 60 * 60)

static gboolean
fail (GError **error, GError *local, const char *account)
{
  g_set_error (error, TD_ERROR, TD_ERROR_LOCAL_IO, "account %s: %s", account, local->message);
  g_error_free (local);
  return FALSE;
}

void
td_download_folder_free (TdDownloadFolder *local)
{
  if (local == NULL)
    return;
  g_free (local->account);
  g_clear_pointer (&local->folder, td_maildir_folder_unref);
  g_clear_pointer (&local->downloads, g_array_unref);
  g_free (local);
}

void
td_download_plan_clear (TdDownloadPlan *plan)
{
  g_clear_pointer (&plan->to_fetch, g_array_unref);
  g_clear_pointer (&plan->to_delete, g_array_unref);
  g_clear_pointer (&plan->fetching, g_hash_table_unref);
  g_clear_pointer (&plan->candidates, g_array_unref);
}

/* Keeps a pending row whose file reached new/ or cur/, drops the others. */
static gboolean
resolve_pending (TdDownloadFolder *local, GError **error)
{
  g_autoptr (GHashTable) disk = NULL;
  GError *e = NULL;
  gboolean any = FALSE;

  for (guint i = 0; i < local->downloads->len && !any; i++)
    any = g_array_index (local->downloads, TdStateDownload, i).pending;
  if (!any)
    return TRUE;
  disk = td_maildir_folder_scan (local->folder, NULL);
  if (!td_state_db_begin (local->db, &e))
    return fail (error, e, local->account);
  for (guint i = local->downloads->len; i-- > 0;)
    {
      TdStateDownload *d = &g_array_index (local->downloads, TdStateDownload, i);
      gboolean ok = TRUE;
      if (!d->pending)
        continue;
      if (disk != NULL && g_hash_table_contains (disk, d->base))
        {
          d->pending = FALSE;
          ok = td_state_db_put_download (local->db, local->record.id, d, &e);
        }
      else
        {
          ok = td_state_db_remove_download (local->db, local->record.id, d->unique_id, d->base,
                                            &e);
          g_array_remove_index (local->downloads, i);
        }
      if (!ok)
        {
          td_state_db_rollback (local->db);
          return fail (error, e, local->account);
        }
    }
  if (!td_state_db_commit (local->db, &e))
    return fail (error, e, local->account);
  return TRUE;
}

/**
 * td_download_folder_prepare:
 * @db: the state database
 * @maildir: the account's Maildir, which is the mailbox
 * @account: the account name
 * @dry_run: change nothing: neither create the Maildir nor record it, clean tmp/ or resolve
 *   interrupted downloads
 * @error: return location for an error
 *
 * Opens (creating) the Maildir, removes what an interrupted run left in tmp/, loads what
 * was downloaded and resolves interrupted downloads.
 *
 * Returns: (transfer full) (nullable): the mailbox's local side
 */
TdDownloadFolder *
td_download_folder_prepare (TdStateDb *db, TdMaildir *maildir, const char *account,
                            gboolean dry_run, GError **error)
{
  g_autoptr (TdDownloadFolder) local = g_new0 (TdDownloadFolder, 1);
  char *root[] = { NULL };
  GError *e = NULL;

  local->db = db;
  local->account = g_strdup (account);
  local->dry_run = dry_run;
  local->folder = dry_run ? td_maildir_find_folder (maildir, root, &e)
                          : td_maildir_open_folder (maildir, root, &e);
  if (local->folder == NULL && !g_error_matches (e, TD_STORAGE_ERROR, TD_STORAGE_ERROR_GONE))
    return fail (error, e, account), NULL;
  g_clear_error (&e);
  if (!dry_run)
    td_maildir_folder_clean_tmp (local->folder);
  if (!(dry_run ? td_state_db_find_folder (db, account, "INBOX", &local->record, &e)
                : td_state_db_get_folder (db, account, "INBOX", &local->record, &e))
      || (local->downloads = td_state_db_load_downloads (db, local->record.id, &e)) == NULL)
    return fail (error, e, account), NULL;
  if (!dry_run && !resolve_pending (local, error))
    return NULL;
  return g_steal_pointer (&local);
}

/* Planning */

static void
add_number (GArray *ranges, guint32 number)
{
  TdUidRange *last = ranges->len ? &g_array_index (ranges, TdUidRange, ranges->len - 1) : NULL;
  if (last != NULL && last->last + 1 == number)
    last->last = number;
  else
    g_array_append_val (ranges, ((TdUidRange) { number, number }));
}

/* The newest download recorded under each unique id, and how many there are. */
typedef struct
{
  guint count;
  gint64 oldest;
} Known;

static GHashTable *
index_downloads (GArray *downloads)
{
  GHashTable *known = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);

  for (guint i = 0; i < downloads->len; i++)
    {
      const TdStateDownload *d = &g_array_index (downloads, TdStateDownload, i);
      Known *k = g_hash_table_lookup (known, d->unique_id);
      if (k == NULL)
        {
          k = g_new0 (Known, 1);
          k->oldest = d->downloaded;
          g_hash_table_insert (known, d->unique_id, k);
        }
      k->count++;
      k->oldest = MIN (k->oldest, d->downloaded);
    }
  return known;
}

/* The unknown messages as big as a record that vanished: what may be the same message
 * under a new unique id. */
static GArray *
move_candidates (TdDownloadFolder *local, GArray *listing, const TdDownloadPlan *plan,
                 GHashTable *listed)
{
  g_autoptr (GHashTable) sizes = g_hash_table_new (g_int64_hash, g_int64_equal);
  GArray *out = g_array_new (FALSE, FALSE, sizeof (TdUidRange));

  for (guint i = 0; i < local->downloads->len; i++)
    {
      TdStateDownload *d = &g_array_index (local->downloads, TdStateDownload, i);
      if (!d->deleting && d->header_hash != NULL && !g_hash_table_contains (listed, d->unique_id))
        g_hash_table_add (sizes, &d->size);
    }
  for (guint i = 0; i < listing->len; i++)
    {
      const TdMessageInfo *m = &g_array_index (listing, TdMessageInfo, i);
      gint64 size = (gint64) m->size;
      if (g_hash_table_contains (plan->fetching, GUINT_TO_POINTER (m->uid))
          && g_hash_table_contains (sizes, &size))
        add_number (out, m->uid);
    }
  return out;
}

/* Forgets downloads whose unique id the server no longer lists (deleted there, by us or by
 * another client). Runs inside the caller's transaction. */
static gboolean
forget_gone (TdDownloadFolder *local, GHashTable *listed, guint *forgotten, GError **error)
{
  GError *e = NULL;

  for (guint i = local->downloads->len; i-- > 0;)
    {
      TdStateDownload *d = &g_array_index (local->downloads, TdStateDownload, i);
      if (g_hash_table_contains (listed, d->unique_id))
        continue;
      if (!td_state_db_remove_download (local->db, local->record.id, d->unique_id, d->base, &e))
        return fail (error, e, local->account);
      g_array_remove_index (local->downloads, i);
      (*forgotten)++;
    }
  return TRUE;
}

static gboolean
forget_in_transaction (TdDownloadFolder *local, GHashTable *listed, guint *forgotten,
                       GError **error)
{
  GError *e = NULL;

  if (!td_state_db_begin (local->db, &e))
    return fail (error, e, local->account);
  if (!forget_gone (local, listed, forgotten, error))
    {
      td_state_db_rollback (local->db);
      return FALSE;
    }
  if (!td_state_db_commit (local->db, &e))
    return fail (error, e, local->account);
  return TRUE;
}

/**
 * td_download_folder_plan:
 * @local: a prepared mailbox
 * @listing: (element-type TdMessageInfo): the server's messages (number, size, unique id)
 * @keep_on_server: whether downloaded messages stay on the server
 * @delete_after_days: with @keep_on_server, delete what was downloaded this many days ago
 *   (0: never)
 * @force: download again even when most unique ids changed at once
 * @now: seconds since the epoch
 * @plan: (out caller-allocates): what to fetch and what to delete
 * @error: return location for an error
 *
 * A unique id listed more often than it was downloaded gets its last occurrences
 * downloaded: servers append new mail, so those are the new ones. When most of a mailbox's
 * known messages vanish and as many new ones appear, the server probably changed every
 * unique id (a migration): unless @force, nothing is planned then but plan->moved and the
 * candidates for td_download_folder_rematch().
 *
 * Returns: %TRUE with @plan filled in
 */
/* How often each unique id is listed; @without_id: how many messages have none. */
static GHashTable *
count_listed (GArray *listing, guint *without_id)
{
  GHashTable *counts = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < listing->len; i++)
    {
      const TdMessageInfo *m = &g_array_index (listing, TdMessageInfo, i);
      if (m->unique_id == NULL)
        (*without_id)++;
      else
        g_hash_table_insert (counts, m->unique_id,
                             GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (counts,
                                                                                      m->unique_id))
                                               + 1));
    }
  return counts;
}

/* Of the records: @gone, of messages the server no longer lists (ours included);
 * @vanished, those of them not being deleted by us; @expected, those that should still be
 * on the server. */
static void
tally_records (TdDownloadFolder *local, GHashTable *listed_count, guint *gone, guint *vanished,
               guint *expected)
{
  for (guint i = 0; i < local->downloads->len; i++)
    {
      const TdStateDownload *d = &g_array_index (local->downloads, TdStateDownload, i);
      *expected += !d->deleting;
      if (g_hash_table_contains (listed_count, d->unique_id))
        continue;
      (*gone)++;
      *vanished += !d->deleting;
    }
}

gboolean
td_download_folder_plan (TdDownloadFolder *local, GArray *listing, gboolean keep_on_server,
                         guint delete_after_days, guint64 max_size, gboolean force, gint64 now,
                         TdDownloadPlan *plan, GError **error)
{
  g_autoptr (GHashTable) known = index_downloads (local->downloads);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal); /* id -> count */
  guint without_id = 0, unknown = 0, vanished = 0, gone = 0, expected = 0;
  g_autoptr (GHashTable) listed_count = count_listed (listing, &without_id);

  memset (plan, 0, sizeof *plan);
  plan->to_fetch = g_array_new (FALSE, FALSE, sizeof (TdUidRange));
  plan->to_delete = g_array_new (FALSE, FALSE, sizeof (guint32));
  plan->fetching = g_hash_table_new (g_direct_hash, g_direct_equal);
  if (without_id > 0 && keep_on_server)
    {
      g_set_error (error, TD_ERROR, TD_ERROR_NEEDS_USER, "the server gives no unique id "
                   "(UIDL) for %u of its %u messages, so Tidings cannot tell which ones it "
                   "already has and downloads nothing. Set keep-on-server = false to download "
                   "every message and delete it from the server", without_id, listing->len);
      return FALSE;
    }
  for (guint i = 0; i < listing->len; i++)
    {
      const TdMessageInfo *m = &g_array_index (listing, TdMessageInfo, i);
      Known *k = m->unique_id ? g_hash_table_lookup (known, m->unique_id) : NULL;
      guint occurrence = 0, total = 0;
      if (m->unique_id != NULL)
        {
          occurrence = GPOINTER_TO_UINT (g_hash_table_lookup (seen, m->unique_id));
          g_hash_table_insert (seen, m->unique_id, GUINT_TO_POINTER (occurrence + 1));
          total = GPOINTER_TO_UINT (g_hash_table_lookup (listed_count, m->unique_id));
        }
      /* Of @total occurrences, the first total - (total - known) are the downloaded ones. */
      guint have = k ? k->count : 0;
      if (k != NULL && occurrence < MIN (have, total))
        {
          plan->known++;
          gboolean old = delete_after_days > 0
                         && k->oldest <= now - (gint64) delete_after_days * SECONDS_PER_DAY;
          if (!keep_on_server || old)
            g_array_append_val (plan->to_delete, m->uid);
          continue;
        }
      unknown++;
      /* Too big: left on the server and not recorded, so it comes once max-size allows;
       * nothing deletes it, since only what was downloaded is ever deleted. */
      if (max_size > 0 && m->size > max_size)
        {
          plan->too_big++;
          continue;
        }
      add_number (plan->to_fetch, m->uid);
      g_hash_table_insert (plan->fetching, GUINT_TO_POINTER (m->uid), (gpointer) m);
    }
  tally_records (local, listed_count, &gone, &vanished, &expected);
  plan->vanished = vanished, plan->expected = expected, plan->unknown = unknown;
  if (!force && expected >= TD_MIGRATION_MIN_MESSAGES && vanished * 2 > expected
      && unknown * 2 > expected)
    {
      plan->moved = TRUE;
      plan->candidates = move_candidates (local, listing, plan, listed_count);
      g_array_set_size (plan->to_fetch, 0);
      g_array_set_size (plan->to_delete, 0);
      g_hash_table_remove_all (plan->fetching);
      return TRUE;
    }
  if (local->dry_run || gone == 0)
    return TRUE; /* nothing to write when nothing went */
  return forget_in_transaction (local, listed_count, &plan->forgotten, error);
}

/* Committing */

static gboolean
insert_rows (TdDownloadFolder *local, GPtrArray *batch, gboolean pending, gint64 now,
             GError **error)
{
  GError *e = NULL;

  if (!td_state_db_begin (local->db, &e))
    return fail (error, e, local->account);
  for (guint i = 0; i < batch->len; i++)
    {
      TdPendingMessage *p = g_ptr_array_index (batch, i);
      if (p->info.unique_id == NULL)
        continue; /* no unique id: downloaded to be deleted, nothing to remember */
      TdStateDownload d = { p->info.unique_id, (char *) td_maildir_delivery_get_base (p->delivery),
                            p->info.size, p->info.header_hash, now, pending };
      if (!td_state_db_put_download (local->db, local->record.id, &d, &e))
        {
          td_state_db_rollback (local->db);
          return fail (error, e, local->account);
        }
    }
  if (!td_state_db_commit (local->db, &e))
    return fail (error, e, local->account);
  return TRUE;
}

/**
 * td_download_folder_commit_batch:
 * @local: a prepared mailbox
 * @maildir: the account's Maildir
 * @batch: (element-type TdPendingMessage): downloads closed in tmp/
 * @now: seconds since the epoch: when they were downloaded
 * @error: return location for an error
 *
 * Makes a batch durable and visible in new/, in the crash-safe order at the top of this
 * file, and records each message's unique id.
 *
 * Returns: %TRUE when every message of @batch is stored
 */
gboolean
td_download_folder_commit_batch (TdDownloadFolder *local, TdMaildir *maildir, GPtrArray *batch,
                                 gint64 now, GError **error)
{
  GError *e = NULL;

  if (batch->len == 0)
    return TRUE;
  if (!td_maildir_sync_filesystem (maildir, &e))
    return fail (error, e, local->account);
  if (!insert_rows (local, batch, TRUE, now, error))
    return FALSE;
  for (guint i = 0; i < batch->len; i++)
    {
      TdPendingMessage *p = g_ptr_array_index (batch, i);
      if (!td_maildir_delivery_publish (p->delivery, 0, 0, &e))
        return fail (error, e, local->account);
    }
  if (!td_maildir_folder_sync_dirs (local->folder, &e))
    return fail (error, e, local->account);
  if (!insert_rows (local, batch, FALSE, now, error))
    return FALSE;
  for (guint i = 0; i < batch->len; i++)
    {
      TdPendingMessage *p = g_ptr_array_index (batch, i);
      if (p->info.unique_id == NULL)
        continue;
      TdStateDownload d = { g_strdup (p->info.unique_id),
                            g_strdup (td_maildir_delivery_get_base (p->delivery)), p->info.size,
                            g_strdup (p->info.header_hash), now, FALSE };
      g_array_append_val (local->downloads, d);
    }
  return TRUE;
}

/**
 * td_download_folder_mark_deleting:
 * @local: a prepared mailbox
 * @unique_ids: (element-type utf8): the ids of the messages about to be deleted on the server
 * @error: return location for an error
 *
 * Records, before any DELE goes out, that these messages are meant to vanish from the
 * server, so that their going is not taken for a change of every unique id.
 *
 * Returns: %TRUE on success
 */
gboolean
td_download_folder_mark_deleting (TdDownloadFolder *local, GPtrArray *unique_ids, GError **error)
{
  g_autoptr (GHashTable) set = g_hash_table_new (g_str_hash, g_str_equal);
  GError *e = NULL;

  for (guint i = 0; i < unique_ids->len; i++)
    g_hash_table_add (set, g_ptr_array_index (unique_ids, i));
  if (!td_state_db_begin (local->db, &e))
    return fail (error, e, local->account);
  for (guint i = 0; i < local->downloads->len; i++)
    {
      TdStateDownload *d = &g_array_index (local->downloads, TdStateDownload, i);
      if (d->deleting || !g_hash_table_contains (set, d->unique_id))
        continue;
      d->deleting = TRUE;
      if (!td_state_db_put_download (local->db, local->record.id, d, &e))
        {
          td_state_db_rollback (local->db);
          return fail (error, e, local->account);
        }
    }
  if (!td_state_db_commit (local->db, &e))
    return fail (error, e, local->account);
  return TRUE;
}

/**
 * td_download_folder_move_error:
 * @local: a mailbox
 * @plan: a plan with @moved set
 * @matched: messages recognised under a new unique id
 *
 * Returns: (transfer full): why the run stops, and what to do (the folder report names the
 *   account and the folder)
 */
GError *
td_download_folder_move_error (TdDownloadFolder *local, const TdDownloadPlan *plan,
                               guint matched)
{
  return g_error_new (TD_ERROR, TD_ERROR_NEEDS_USER, "%u of the %u messages Tidings "
                      "downloaded are no longer listed and %u messages it has not seen are, "
                      "which looks like the server changed every message's unique id (a "
                      "server move); %u could be recognised by size and header. Nothing was "
                      "downloaded, so as not to store the mailbox twice. If the server really "
                      "has that much new mail, run again with --force",
                      plan->vanished, plan->expected, plan->unknown, matched);
}

static char *
match_key (guint64 size, const char *header_hash)
{
  return g_strdup_printf ("%" G_GUINT64_FORMAT " %s", size, header_hash);
}

/**
 * td_download_folder_rematch:
 * @local: a prepared mailbox
 * @listing: (element-type TdMessageInfo): the server's messages, with their new unique ids
 * @hashed: (element-type TdMessageInfo): number, size and header hash of the candidates
 * @matched: (out): records moved to a new unique id
 * @error: return location for an error
 *
 * Gives a record that vanished the new unique id of the one listed message with the same
 * size and header hash. A key shared by two records or two messages is left alone: a
 * wrong match would lose a message, a missed one only downloads it again.
 *
 * Returns: %TRUE on success
 */
gboolean
td_download_folder_rematch (TdDownloadFolder *local, GArray *listing, GArray *hashed,
                            guint *matched, GError **error)
{
  g_autoptr (GHashTable) ids = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr (GHashTable) by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) listed = g_hash_table_new (g_str_hash, g_str_equal);
  GError *e = NULL;

  *matched = 0;
  for (guint i = 0; i < listing->len; i++)
    {
      const TdMessageInfo *m = &g_array_index (listing, TdMessageInfo, i);
      g_hash_table_insert (ids, GUINT_TO_POINTER (m->uid), m->unique_id);
      if (m->unique_id != NULL)
        g_hash_table_add (listed, m->unique_id);
    }
  /* Message key -> its new unique id, or "" when two messages share the key. */
  for (guint i = 0; i < hashed->len; i++)
    {
      const TdMessageInfo *m = &g_array_index (hashed, TdMessageInfo, i);
      const char *id = g_hash_table_lookup (ids, GUINT_TO_POINTER (m->uid));
      if (id == NULL || m->header_hash == NULL)
        continue;
      char *key = match_key (m->size, m->header_hash);
      g_hash_table_replace (by_key, key, g_hash_table_contains (by_key, key) ? (gpointer) "" : (gpointer) id);
    }
  g_autoptr (GHashTable) records = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < local->downloads->len; i++)
    {
      TdStateDownload *d = &g_array_index (local->downloads, TdStateDownload, i);
      if (d->deleting || d->header_hash == NULL || g_hash_table_contains (listed, d->unique_id))
        continue;
      char *key = match_key (d->size, d->header_hash);
      g_hash_table_replace (records, key, g_hash_table_contains (records, key) ? NULL : d);
    }
  if (!td_state_db_begin (local->db, &e))
    return fail (error, e, local->account);
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, records);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      TdStateDownload *d = value;
      const char *id = g_hash_table_lookup (by_key, key);
      if (d == NULL || id == NULL || *id == '\0')
        continue;
      if (!td_state_db_remove_download (local->db, local->record.id, d->unique_id, d->base, &e))
        break;
      g_free (d->unique_id);
      d->unique_id = g_strdup (id);
      if (!td_state_db_put_download (local->db, local->record.id, d, &e))
        break;
      (*matched)++;
    }
  if (e != NULL)
    {
      td_state_db_rollback (local->db);
      return fail (error, e, local->account);
    }
  if (!td_state_db_commit (local->db, &e))
    return fail (error, e, local->account);
  return TRUE;
}
