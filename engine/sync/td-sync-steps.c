/* td-sync-steps.c: what every phase of a sync run uses, below them all: blocking work in a
 * worker thread, the fetch pump that streams downloads into tmp/ and makes them durable
 * batch by batch, the folder reports with their progress, and which folders a run takes.
 * The runner and its phase files (td-sync-folders.c, td-sync-downloads.c) call down into it;
 * it calls none of them. Main loop thread, but for the work it hands to a worker.
 */
#include "engine/sync/td-sync-runner-private.h"

#include <string.h>

#include "storage/td-folder-map.h"
#include "engine/common/td-error.h"

/* How often a download in progress is reported, and its batches looked at for one due by
 * age, between the batches that fill up. */
#define TD_PUMP_TICK_MS 250

/* Folder runs */

void
td_folder_run_free (FolderRun *run)
{
  if (run == NULL)
    return;
  g_clear_pointer (&run->local, td_local_folder_free);
  g_clear_pointer (&run->to_fetch, g_array_unref);
  td_fetch_pump_clear (&run->pump);
  g_clear_pointer (&run->deleting, g_array_unref);
  g_clear_pointer (&run->sending, g_ptr_array_unref);
  g_free (run);
}

/* The commit step of every pump that downloads into a folder run: the batches of all pumps
 * under way made durable together. Worker thread. */
gboolean
td_sync_runner_commit_runs (TdSyncRunner *self, GPtrArray *pumps, GPtrArray *batches,
                            GError **error)
{
  g_autoptr (GPtrArray) locals = g_ptr_array_sized_new (pumps->len);

  for (guint i = 0; i < pumps->len; i++)
    g_ptr_array_add (locals, ((FolderRun *) ((TdFetchPump *) pumps->pdata[i])->owner)->local);
  return td_local_folder_commit_batches (locals, self->maildir, batches, error);
}

/* Work in a thread */

typedef struct
{
  WorkFunc fn;
  gpointer arg;
} Work;

static void
work_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Work *w = data;
  GError *error = NULL;

  if (w->fn (source, w->arg, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
td_sync_runner_work (TdSyncRunner *self, WorkFunc fn, gpointer arg, GAsyncReadyCallback callback)
{
  g_autoptr (GTask) task = g_task_new (self, NULL, callback, arg);
  Work *w = g_new0 (Work, 1);

  w->fn = fn;
  w->arg = arg;
  g_task_set_task_data (task, w, g_free);
  g_task_run_in_thread (task, work_thread);
}

gboolean
td_sync_runner_work_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Which folder of how many the run is at: a download-only mailbox is the one folder. */
static void
folder_position (TdSyncRunner *self, TdSyncProgress *p)
{
  gboolean one = self->download != NULL || self->folders == NULL;
  p->folder_index = one ? 1 : self->run != NULL ? self->run->folder_index : self->next_folder;
  p->folder_count = one ? 1 : self->folders->len;
}

/* Where the run as a whole stands: the folders' reports hold what is durable, the pumps
 * under way what has come down since; the totals are the account plan's. */
static void
run_position (TdSyncRunner *self, TdSyncProgress *p)
{
  if (self->plan == NULL)
    return;
  for (guint i = 0; i < self->report->folders->len; i++)
    {
      const TdFolderReport *r = g_ptr_array_index (self->report->folders, i);
      p->run_messages += r->added;
      p->run_bytes += r->bytes;
    }
  for (guint i = 0; i < self->pumps->len; i++)
    {
      TdFetchPump *pump = g_ptr_array_index (self->pumps, i);
      guint received = 0;
      guint64 bytes = 0;
      td_maildir_sink_get_received (pump->sink, &received, &bytes);
      p->run_messages += received - MIN (received, pump->report->added);
      p->run_bytes += bytes - MIN (bytes, pump->report->bytes);
    }
  p->run_messages_total = MAX (self->plan->download_count, p->run_messages);
  p->run_bytes_total = MAX (self->plan->download_bytes, p->run_bytes);
}

/* Tells the progress display that a folder is finished, with what its report holds. */
void
td_sync_runner_folder_done (TdSyncRunner *self, const TdFolderReport *report)
{
  if (self->options.progress == NULL)
    return;
  TdSyncProgress p = {
    .account = self->account->name,
    .folder = report->name,
    .messages = report->added,
    .messages_total = report->added,
    .bytes = report->bytes,
    .bytes_total = report->bytes,
    .folder_done = TRUE,
  };
  folder_position (self, &p);
  run_position (self, &p);
  self->options.progress (&p, self->options.progress_data);
}

/**
 * td_sync_runner_add_report:
 * @self: a runner
 * @name: a folder's decoded name
 * @delimiter: its delimiter
 *
 * Returns: (transfer none): a new folder report, in the account's report
 */
TdFolderReport *
td_sync_runner_add_report (TdSyncRunner *self, const char *name, char delimiter)
{
  TdFolderReport *report = g_new0 (TdFolderReport, 1);
  g_autofree char *display = td_folder_map_display (name, delimiter);

  report->name = td_printable (display);
  report->first_sync = self->synced == NULL || !g_hash_table_contains (self->synced, display);
  g_auto (GStrv) components = td_folder_map_components (name, delimiter, &self->account->layout,
                                                        NULL);
  if (components != NULL && self->maildir != NULL)
    report->path = td_maildir_dup_folder_path (self->maildir, components);
  g_ptr_array_add (self->report->folders, report);
  return report;
}

/* Whether the account's folder patterns and the run's --folder patterns take in @display. */
gboolean
td_sync_runner_wants (TdSyncRunner *self, const char *display)
{
  char **patterns = self->options.folder_patterns;

  if (!td_account_config_wants_folder (self->account, display))
    return FALSE;
  if (self->options.folder_names != NULL
      && !g_strv_contains ((const char *const *) self->options.folder_names, display))
    return FALSE;
  if (patterns == NULL || patterns[0] == NULL)
    return TRUE;
  for (guint i = 0; patterns[i] != NULL; i++)
    if (td_folder_pattern_matches (patterns[i], display))
      return TRUE;
  return FALSE;
}

/* The folder `trash` names: the one the server marks \Trash, or the one named. */
static gboolean
find_trash (TdSyncRunner *self, GError **error)
{
  const char *wanted = self->account->trash;

  if (wanted == NULL)
    return TRUE;
  for (guint i = 0; i < self->listing->len; i++)
    {
      const TdFolderInfo *info = g_ptr_array_index (self->listing, i);
      g_autofree char *display = td_folder_map_display (info->name, info->delimiter);
      if (info->selectable && (*wanted == '\0' ? (info->special & TD_SPECIAL_TRASH) != 0
                                               : g_str_equal (display, wanted)))
        {
          self->trash = info->name;
          return TRUE;
        }
    }
  if (*wanted == '\0')
    g_set_error (error, TD_ERROR, TD_ERROR_CONFIG, "account %s: trash = true, but the server "
                 "marks no folder as the Trash (SPECIAL-USE), so deleted messages would have "
                 "nowhere to go; nothing was synced. Name the folder, as in `trash = Deleted "
                 "Items`, or set trash = false", self->account->name);
  else
    g_set_error (error, TD_ERROR, TD_ERROR_CONFIG, "account %s: the server has no folder “%s” "
                 "for trash =, so deleted messages would have nowhere to go; nothing was "
                 "synced. Create it, or name another one (`tidings status` lists the folders)",
                 self->account->name, wanted);
  return FALSE;
}

/* A folder the server marks as holding every message (\All: Gmail's All Mail) would be a
 * second copy of every folder's mail: it is synced only when `folders` or --folder names it
 * (no wildcard). */
static gboolean
all_mail_left_out (TdSyncRunner *self, const TdFolderInfo *info, const char *display)
{
  if (!(info->special & TD_SPECIAL_ALL)
      || td_folder_patterns_name (self->account->folders, display)
      || td_folder_patterns_name (self->options.folder_patterns, display))
    return FALSE;
  g_debug ("account %s: %s holds every message (\\All) and is not synced; name it in "
           "`folders` to sync it", self->account->name, display);
  return TRUE;
}

/**
 * td_sync_runner_select_folders:
 * @self: a runner with the server's folder listing
 * @error: return location for the error that ends the run
 *
 * Picks the folders the run syncs (self->folders) and the Trash folder deletions go to.
 *
 * Returns: %FALSE when `trash` names no folder the server has
 */
gboolean
td_sync_runner_select_folders (TdSyncRunner *self, GError **error)
{
  if (!find_trash (self, error))
    return FALSE;
  self->folders = g_ptr_array_new ();
  for (guint i = 0; i < self->listing->len; i++)
    {
      TdFolderInfo *info = g_ptr_array_index (self->listing, i);
      g_autofree char *display = td_folder_map_display (info->name, info->delimiter);
      if (info->selectable && td_sync_runner_wants (self, display)
          && !all_mail_left_out (self, info, display))
        g_ptr_array_add (self->folders, info);
    }
  return TRUE;
}

/**
 * td_sync_runner_load_summaries:
 * @self: a runner whose storage is open
 * @error: return location for an error
 *
 * (Re)reads the state DB's summary of every folder of the account into self->synced.
 * Worker thread.
 *
 * Returns: %TRUE on success
 */
gboolean
td_sync_runner_load_summaries (TdSyncRunner *self, GError **error)
{
  g_autoptr (GPtrArray) synced = td_state_db_list_folders (self->db, self->account->name,
                                                           self->policy.max_size,
                                                           self->policy.not_before, error);
  if (synced == NULL)
    return FALSE;
  if (self->synced == NULL)
    self->synced = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                          (GDestroyNotify) td_state_folder_summary_free);
  for (guint i = 0; i < synced->len; i++)
    {
      TdStateFolderSummary *f = g_ptr_array_index (synced, i);
      g_hash_table_replace (self->synced, f->name, f);
    }
  g_ptr_array_set_free_func (synced, NULL);
  return TRUE;
}

int
td_sync_runner_compare_folders (gconstpointer a, gconstpointer b)
{
  const TdFolderInfo *x = *(TdFolderInfo *const *) a, *y = *(TdFolderInfo *const *) b;
  gboolean xi = g_str_equal (x->name, "INBOX"), yi = g_str_equal (y->name, "INBOX");
  if (xi != yi)
    return xi ? -1 : 1;
  return strcmp (x->name, y->name);
}

/* Downloading: the fetch pumps both runners use. Several pumps can be under way at once (a
 * round downloads into many folders); their batches are made durable one at a time, since
 * they share the state DB. */

void
td_fetch_pump_clear (TdFetchPump *pump)
{
  g_clear_object (&pump->sink);
  g_clear_error (&pump->error);
}

/* Counts a durable message, and names it when it is new mail a notice should show. */
static void
note_stored (TdFolderReport *report, TdPendingMessage *message)
{
  report->bytes += td_maildir_delivery_get_size (message->delivery);
  report->added++;
  if (message->info.flags & TD_FLAG_SEEN)
    return;
  report->added_unseen++;
  if (report->new_files == NULL)
    report->new_files = g_ptr_array_new_with_free_func (g_free);
  if (report->new_files->len < TD_REPORT_MAX_NEW_FILES)
    {
      char *path = td_maildir_delivery_dup_path (message->delivery);
      if (path != NULL)
        g_ptr_array_add (report->new_files, path);
    }
}

/* The pump whose messages are coming in now: the first still short of its total (the
 * server answers folder after folder), else the last. */
static TdFetchPump *
current_pump (TdSyncRunner *self)
{
  for (guint i = 0; i < self->pumps->len; i++)
    {
      TdFetchPump *pump = g_ptr_array_index (self->pumps, i);
      guint received = 0;
      guint64 bytes = 0;
      td_maildir_sink_get_received (pump->sink, &received, &bytes);
      if (!pump->fetch_done && received < pump->total)
        return pump;
    }
  return self->pumps->len > 0 ? g_ptr_array_index (self->pumps, self->pumps->len - 1) : NULL;
}

/* Progress: the plan's totals against what has come down so far, durable or still in tmp/,
 * so a display moves with the bytes and not only with each durable batch. */
static void
emit_progress (TdSyncRunner *self, TdFetchPump *pump)
{
  guint received = 0;
  guint64 bytes = 0;

  if (self->options.progress == NULL || pump == NULL)
    return;
  td_maildir_sink_get_received (pump->sink, &received, &bytes);
  received = MAX (received, pump->report->added);
  TdSyncProgress p = {
    .account = self->account->name,
    .folder = pump->report->name,
    .messages = received,
    .messages_total = MAX (pump->total, received),
    .bytes = bytes,
    .bytes_total = pump->bytes_total > 0 ? MAX (pump->bytes_total, bytes) : 0,
  };
  folder_position (self, &p);
  run_position (self, &p);
  if (pump->folder_index > 0)
    p.folder_index = pump->folder_index;
  self->options.progress (&p, self->options.progress_data);
}

static void pumps_next (TdSyncRunner *self);

static gboolean
pump_tick (gpointer data)
{
  TdSyncRunner *self = data;

  emit_progress (self, current_pump (self));
  pumps_next (self);
  return G_SOURCE_CONTINUE;
}

/* One durability barrier for the batches of several pumps: every pump under way with
 * messages waiting joins it, so a round that downloads into a hundred folders flushes the
 * disk and commits the state DB as often as one folder would. */
typedef struct
{
  GPtrArray *pumps;   /* TdFetchPump, borrowed; the runner keeps them while committing */
  GPtrArray *batches; /* GPtrArray of TdPendingMessage, one per pump */
} Commit;

static void
commit_free (Commit *c)
{
  g_ptr_array_unref (c->pumps);
  g_ptr_array_unref (c->batches);
  g_free (c);
}

static gboolean
commit_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  Commit *c = arg;
  TdFetchPump *first = g_ptr_array_index (c->pumps, 0);
  return first->commit (self, c->pumps, c->batches, error);
}

/* Whether the messages waiting in the pumps should be made durable now: a batch is full or
 * old enough, all of them together are a full batch, or nothing more is coming that could
 * join them. A download that failed or was stopped still has its whole messages made
 * durable: they are complete and checked, and a link that keeps dropping must still make
 * progress. Only pumps whose batch could not be stored are left out. */
static gboolean
commit_due (TdSyncRunner *self)
{
  gint64 now = g_get_monotonic_time ();
  guint messages = 0;
  guint64 bytes = 0;
  gboolean receiving = FALSE;

  for (guint i = 0; i < self->pumps->len; i++)
    {
      TdFetchPump *pump = g_ptr_array_index (self->pumps, i);
      guint n = 0;
      guint64 b = 0;
      if (pump->refused)
        continue;
      receiving |= !pump->fetch_done;
      td_maildir_sink_get_batch (pump->sink, &n, &b);
      if (n > 0 && td_maildir_sink_batch_is_due (pump->sink, now))
        return TRUE;
      messages += n;
      bytes += b;
    }
  return messages > 0
         && (!receiving || messages >= TD_MAILDIR_SINK_BATCH_COUNT
             || bytes >= TD_MAILDIR_SINK_BATCH_BYTES);
}

static void pumps_committed (GObject *source, GAsyncResult *result, gpointer data);

/* Starts a durable batch of every pump with messages waiting, when one is due. */
static gboolean
start_commit (TdSyncRunner *self)
{
  Commit *c;

  if (self->committing || !commit_due (self))
    return FALSE;
  c = g_new0 (Commit, 1);
  c->pumps = g_ptr_array_new ();
  c->batches = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  for (guint i = 0; i < self->pumps->len; i++)
    {
      TdFetchPump *pump = g_ptr_array_index (self->pumps, i);
      guint n = 0;
      guint64 b = 0;
      td_maildir_sink_get_batch (pump->sink, &n, &b);
      if (pump->refused || n == 0)
        continue;
      g_ptr_array_add (c->pumps, pump);
      g_ptr_array_add (c->batches, td_maildir_sink_take_batch (pump->sink));
    }
  self->committing = TRUE;
  td_sync_runner_work (self, commit_work, c, pumps_committed);
  return TRUE;
}

/* Commits what is due, and hands on every pump whose download is over and stored. */
static void
pumps_next (TdSyncRunner *self)
{
  if (start_commit (self) || self->committing)
    return;
  g_autoptr (GPtrArray) pumps = g_ptr_array_copy (self->pumps, NULL, NULL);
  for (guint i = 0; i < pumps->len; i++)
    {
      TdFetchPump *pump = g_ptr_array_index (pumps, i);
      guint n = 0;
      guint64 b = 0;
      td_maildir_sink_get_batch (pump->sink, &n, &b);
      /* (A pump gone from the list was handed on by a nested call.) */
      if (!pump->fetch_done || (n > 0 && !pump->refused) || !g_ptr_array_remove (self->pumps, pump))
        continue;
      if (self->pumps->len == 0)
        g_clear_handle_id (&self->pump_timer, g_source_remove);
      pump->done (self, pump, g_steal_pointer (&pump->error));
      /* A done step may have started another commit, or other pumps. */
      if (self->committing)
        return;
    }
}

static void
pumps_committed (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = TD_SYNC_RUNNER (source);
  Commit *c = data;
  GError *error = NULL;

  self->committing = FALSE;
  if (!td_sync_runner_work_finish (result, &error))
    {
      for (guint i = 0; i < c->pumps->len; i++)
        {
          TdFetchPump *pump = g_ptr_array_index (c->pumps, i);
          td_maildir_sink_fail (pump->sink, error);
          pump->refused = TRUE;
          if (pump->error == NULL)
            pump->error = g_error_copy (error);
        }
      g_error_free (error);
    }
  else
    for (guint i = 0; i < c->pumps->len; i++)
      {
        TdFetchPump *pump = g_ptr_array_index (c->pumps, i);
        GPtrArray *batch = g_ptr_array_index (c->batches, i);
        for (guint k = 0; k < batch->len; k++)
          note_stored (pump->report, batch->pdata[k]);
        if (pump->stored != NULL)
          pump->stored (self, pump, batch);
        emit_progress (self, pump);
      }
  commit_free (c);
  pumps_next (self);
}

static void
on_batch_ready (TdMaildirSink *sink, gpointer data)
{
  TdFetchPump *pump = data;
  pumps_next (pump->runner);
}

/**
 * td_sync_runner_start_pump:
 * @self: a runner
 * @pump: the download's commit, stored and done steps and its report; stays the caller's
 * @folder: where the messages go
 * @uids: (element-type TdUidRange): what is downloaded
 *
 * Makes @pump's sink, ready for a backend to stream @uids into; td_sync_runner_pump_fetched()
 * tells it the backend is done.
 *
 * Returns: (transfer none): the sink
 */
TdMessageSink *
td_sync_runner_start_pump (TdSyncRunner *self, TdFetchPump *pump, TdMaildirFolder *folder,
                           GArray *uids)
{
  pump->runner = self;
  pump->total = td_uid_set_count (uids);
  pump->sink = td_maildir_sink_new (folder, on_batch_ready, pump);
  g_ptr_array_add (self->pumps, pump);
  emit_progress (self, pump);
  if (self->pump_timer == 0)
    self->pump_timer = g_timeout_add (TD_PUMP_TICK_MS, pump_tick, self);
  return TD_MESSAGE_SINK (pump->sink);
}

/**
 * td_sync_runner_pump_fetched:
 * @self: a runner
 * @pump: a pump under way
 * @error: (transfer full) (nullable): why the download failed
 *
 * Tells @pump that nothing more comes: its last batch is made durable, then its done step
 * runs, with the first error if any.
 */
void
td_sync_runner_pump_fetched (TdSyncRunner *self, TdFetchPump *pump, GError *error)
{
  if (error != NULL && pump->error == NULL)
    pump->error = error;
  else
    g_clear_error (&error);
  pump->fetch_done = TRUE;
  pumps_next (self);
}

static void
pump_fetched (GObject *source, GAsyncResult *result, gpointer data)
{
  TdFetchPump *pump = data;
  GError *error = NULL;

  td_backend_fetch_messages_finish (TD_BACKEND (source), result, &error);
  td_sync_runner_pump_fetched (pump->runner, pump, error);
}

/**
 * td_sync_runner_fetch:
 * @self: a runner
 * @pump: the download's commit, stored and done steps and its report; stays the caller's
 * @folder: where the messages go
 * @uids: (element-type TdUidRange): what to download
 *
 * Downloads @uids of the open folder into @folder's tmp/ and makes them durable batch by
 * batch, then calls @pump's done step, with the first error if any.
 */
void
td_sync_runner_fetch (TdSyncRunner *self, TdFetchPump *pump, TdMaildirFolder *folder,
                      GArray *uids)
{
  TdMessageSink *sink = td_sync_runner_start_pump (self, pump, folder, uids);
  td_backend_fetch_messages_async (self->backend, uids, sink, self->cancellable, pump_fetched,
                                   pump);
}
