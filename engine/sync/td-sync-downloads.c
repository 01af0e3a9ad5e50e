/* td-sync-downloads.c: the sync runner's phase for download-only mailboxes (POP3, or any
 * backend with TD_BACKEND_CAP_UNIQUE_IDS). Main loop thread; disk work on the runner's
 * worker thread.
 *
 * List (UIDL and LIST), plan against the state DB, download into new/ in durable batches,
 * then delete on the server what the account's keep-on-server and delete-after-days say:
 * only messages whose local copy and record are durable, and all of them in the one QUIT
 * that ends the session. A run that stops anywhere before that QUIT deletes nothing.
 */
#include "engine/sync/td-sync-runner-private.h"

#include "engine/sync/td-download-folder.h"
#include "engine/common/td-error.h"

struct _TdDownloadRun
{
  TdDownloadFolder *local;
  TdDownloadPlan plan;
  GArray *listing;         /* TdMessageInfo, the server's */
  TdFolderReport *report;  /* borrowed from the account report */
  TdFetchPump pump;
  GArray *stored;          /* guint32: message numbers downloaded and durable this run */
  GArray *deleting;        /* TdUidRange: what goes to DELE */
  GArray *hashed;          /* TdMessageInfo: header hashes of possibly moved messages */
  gboolean rematched;      /* the records were matched to new unique ids once already */
};

void
td_download_run_free (TdDownloadRun *run)
{
  if (run == NULL)
    return;
  g_clear_pointer (&run->local, td_download_folder_free);
  td_download_plan_clear (&run->plan);
  g_clear_pointer (&run->listing, g_array_unref);
  td_fetch_pump_clear (&run->pump);
  g_clear_pointer (&run->stored, g_array_unref);
  g_clear_pointer (&run->deleting, g_array_unref);
  g_clear_pointer (&run->hashed, g_array_unref);
  g_free (run);
}

static void
end_mailbox (TdSyncRunner *self, GError *error)
{
  TdDownloadRun *run = self->download;

  if (error != NULL && !td_error_is_account_wide (error))
    {
      run->report->error = error;
      error = NULL;
    }
  td_sync_runner_folder_done (self, run->report);
  self->phase_done (self, error);
}

/* What the plan downloads, in the server's sizes (LIST). */
static guint64
planned_bytes (const TdDownloadPlan *plan)
{
  GHashTableIter it;
  gpointer value;
  guint64 bytes = 0;

  g_hash_table_iter_init (&it, plan->fetching);
  while (g_hash_table_iter_next (&it, NULL, &value))
    bytes += ((TdMessageInfo *) value)->size;
  return bytes;
}

/* Deleting on the server */

static void
expunged (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = data;
  TdDownloadRun *run = self->download;
  GError *error = NULL;
  gboolean gone = FALSE;

  if (!td_backend_expunge_finish (TD_BACKEND (source), result, &gone, &error))
    {
      end_mailbox (self, error);
      return;
    }
  /* The records of deleted messages go on the next run, when the server no longer lists
   * them: if QUIT's answer was lost, they are still there and nothing is downloaded twice. */
  if (gone)
    run->report->deleted_remote = td_uid_set_count (run->deleting);
  end_mailbox (self, NULL);
}

static void
marked (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = TD_SYNC_RUNNER (source);
  g_autoptr (GPtrArray) ids = data;
  GError *error = NULL;

  if (!td_sync_runner_work_finish (result, &error))
    {
      end_mailbox (self, error);
      return;
    }
  td_backend_expunge_async (self->backend, self->download->deleting, self->cancellable,
                            expunged, self);
}

static gboolean
mark_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  return td_download_folder_mark_deleting (self->download->local, arg, error);
}

/* The unique ids of the listed messages numbered in @numbers. */
static GPtrArray *
unique_ids_of (TdDownloadRun *run, GArray *numbers)
{
  g_autoptr (GHashTable) wanted = g_hash_table_new (g_direct_hash, g_direct_equal);
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < numbers->len; i++)
    g_hash_table_add (wanted, GUINT_TO_POINTER (g_array_index (numbers, guint32, i)));
  for (guint i = 0; i < run->listing->len; i++)
    {
      const TdMessageInfo *m = &g_array_index (run->listing, TdMessageInfo, i);
      if (m->unique_id != NULL && g_hash_table_contains (wanted, GUINT_TO_POINTER (m->uid)))
        g_ptr_array_add (ids, g_strdup (m->unique_id));
    }
  return ids;
}

static void
delete_on_server (TdSyncRunner *self)
{
  TdDownloadRun *run = self->download;
  g_autoptr (GArray) numbers = g_array_copy (run->plan.to_delete);

  if (!self->account->keep_on_server)
    g_array_append_vals (numbers, run->stored->data, run->stored->len);
  if (numbers->len == 0 || self->options.dry_run)
    {
      run->report->deleted_remote = self->options.dry_run ? numbers->len : 0;
      end_mailbox (self, NULL);
      return;
    }
  run->deleting = g_array_new (FALSE, FALSE, sizeof (TdUidRange));
  for (guint i = 0; i < numbers->len; i++)
    td_uid_set_add (run->deleting, g_array_index (numbers, guint32, i));
  td_uid_set_normalize (run->deleting);
  td_sync_runner_work (self, mark_work, unique_ids_of (run, numbers), marked);
}

/* Downloading */

/* A download-only mailbox has one pump. */
static gboolean
commit_work (TdSyncRunner *self, GPtrArray *pumps, GPtrArray *batches, GError **error)
{
  g_return_val_if_fail (pumps->len == 1, FALSE);
  return td_download_folder_commit_batch (self->download->local, self->maildir,
                                          g_ptr_array_index (batches, 0),
                                          g_get_real_time () / G_USEC_PER_SEC, error);
}

static void
stored (TdSyncRunner *self, TdFetchPump *pump, GPtrArray *batch)
{
  for (guint i = 0; i < batch->len; i++)
    g_array_append_val (self->download->stored,
                        ((TdPendingMessage *) g_ptr_array_index (batch, i))->info.uid);
}

static void
fetched (TdSyncRunner *self, TdFetchPump *pump, GError *error)
{
  if (error != NULL)
    end_mailbox (self, error);
  else
    delete_on_server (self);
}

/* Planning */

static void rematch (TdSyncRunner *self);

static gboolean
plan_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  TdDownloadRun *run = self->download;
  return td_download_folder_plan (run->local, run->listing, self->account->keep_on_server,
                                  self->account->delete_after_days, self->account->max_size,
                                  self->options.force,
                                  g_get_real_time () / G_USEC_PER_SEC, &run->plan, error);
}

static void
planned (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = TD_SYNC_RUNNER (source);
  TdDownloadRun *run = self->download;
  GError *error = NULL;

  if (!td_sync_runner_work_finish (result, &error))
    {
      end_mailbox (self, error);
      return;
    }
  if (run->plan.moved)
    {
      rematch (self);
      return;
    }
  run->report->too_big = run->plan.too_big;
  if (run->plan.to_fetch->len == 0 || self->options.dry_run)
    {
      if (self->options.dry_run)
        {
          run->report->added = td_uid_set_count (run->plan.to_fetch);
          run->report->bytes = planned_bytes (&run->plan);
          if (!self->account->keep_on_server)
            for (guint i = 0; i < run->plan.to_fetch->len; i++)
              {
                const TdUidRange *r = &g_array_index (run->plan.to_fetch, TdUidRange, i);
                for (guint64 n = r->first; n <= r->last; n++)
                  {
                    guint32 number = (guint32) n;
                    g_array_append_val (run->stored, number);
                  }
              }
        }
      delete_on_server (self);
      return;
    }
  run->pump.report = run->report;
  run->pump.bytes_total = planned_bytes (&run->plan);
  run->pump.commit = commit_work;
  run->pump.stored = stored;
  run->pump.done = fetched;
  td_sync_runner_fetch (self, &run->pump, run->local->folder, run->plan.to_fetch);
}

/* A server move: records that vanished are matched by size and header hash to messages
 * with new unique ids, then the mailbox is planned again. */
static gboolean
rematch_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  TdDownloadRun *run = self->download;
  guint matched = 0;

  if (!td_download_folder_rematch (run->local, run->listing, run->hashed, &matched, error))
    return FALSE;
  run->report->matched = matched;
  run->rematched = TRUE;
  td_download_plan_clear (&run->plan);
  return plan_work (self, arg, error);
}

static void
headers_hashed (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = data;
  TdDownloadRun *run = self->download;
  GError *error = NULL;

  run->hashed = td_backend_hash_headers_finish (TD_BACKEND (source), result, &error);
  if (run->hashed == NULL)
    {
      GError *why = td_download_folder_move_error (run->local, &run->plan, 0);
      g_prefix_error (&why, "%s; ", error->message);
      g_error_free (error);
      end_mailbox (self, why);
      return;
    }
  td_sync_runner_work (self, rematch_work, NULL, planned);
}

static void
rematch (TdSyncRunner *self)
{
  TdDownloadRun *run = self->download;

  if (run->rematched || run->plan.candidates->len == 0 || self->options.dry_run)
    {
      end_mailbox (self, td_download_folder_move_error (run->local, &run->plan,
                                                        run->report->matched));
      return;
    }
  td_backend_hash_headers_async (self->backend, run->plan.candidates, self->cancellable,
                                 headers_hashed, self);
}

static void
listed (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = data;
  GError *error = NULL;

  self->download->listing = td_backend_list_messages_finish (TD_BACKEND (source), result, &error);
  if (self->download->listing == NULL)
    {
      end_mailbox (self, error);
      return;
    }
  td_sync_runner_work (self, plan_work, NULL, planned);
}

static gboolean
prepare_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  self->download->local = td_download_folder_prepare (self->db, self->maildir,
                                                      self->account->name,
                                                      self->options.dry_run, error);
  return self->download->local != NULL;
}

static void
prepared (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = TD_SYNC_RUNNER (source);
  GError *error = NULL;

  if (!td_sync_runner_work_finish (result, &error))
    {
      end_mailbox (self, error);
      return;
    }
  td_backend_list_messages_async (self->backend, 1, self->cancellable, listed, self);
}

/**
 * td_sync_runner_download_mailbox:
 * @self: a runner whose backend has TD_BACKEND_CAP_UNIQUE_IDS, connected, storage open
 *
 * Syncs the account's one mailbox and finishes the account.
 */
void
td_sync_runner_download_mailbox (TdSyncRunner *self)
{
  TdDownloadRun *run = g_new0 (TdDownloadRun, 1);

  run->report = td_sync_runner_add_report (self, "INBOX", '\0');
  self->report->download_only = TRUE;
  run->stored = g_array_new (FALSE, FALSE, sizeof (guint32));
  self->download = run;
  td_sync_runner_work (self, prepare_work, NULL, prepared);
}
