/* td-scheduler.c: TdScheduler, when each account syncs. See td-scheduler.h. */
#include "engine/daemon/td-scheduler.h"

#include <gio/gio.h>

#include "engine/common/td-error.h"
#include "engine/sync/td-hooks.h"
#include "engine/sync/td-sync-summary.h"

typedef struct
{
  TdScheduler *owner;       /* borrowed */
  TdAccountConfig *account;
  TdSyncRunner *runner;     /* the sync under way, if any */
  gboolean running_all;     /* it syncs the whole account: it is the poll */
  GCancellable *cancellable;
  gboolean want_all;        /* the next run syncs the whole account */
  GHashTable *want_folders; /* or these folders (display names) */
  TdSyncReason want_reason;
  GPtrArray *waiters;       /* GTask: callers the next run answers */
  GPtrArray *answering;     /* GTask: callers the run under way answers */
  guint timer_id;           /* the next poll or retry */
  guint kick_id;            /* a run to start once the main loop is idle */
  guint failures;           /* network failures in a row, for the backoff */
  gboolean watching;
  gboolean last_failed;
  TdAccountState failed_state;
  gint64 last_sync;
  char *last_error;
  TdSyncOutcome *outcome;   /* the syncs since the hooks last ran, for the next run of them */
  guint hooks_timer;        /* the quiet period before they run */
  GCancellable *hooks;      /* the hooks under way, if any */
  gboolean removed;         /* the account is gone: the run under way is its last */
} Slot;

/* The account's post-sync-command and new-mail-command run once its syncs have been quiet
 * this long: a burst of pushes (every message of a mailing list thread, a filter moving
 * mail) runs them once, for all of it. */
#define TD_HOOK_QUIET_SECONDS 2

struct _TdScheduler
{
  GObject parent_instance;
  TdConfig *config;
  TdPluginRegistry *registry;
  GHashTable *slots; /* account name -> Slot */
  GPtrArray *removed; /* Slot: accounts removed while they synced, until the run ends */
  gboolean paused;
  gboolean network;
  gboolean metered;
  GTask *shutdown;
};

G_DEFINE_FINAL_TYPE (TdScheduler, td_scheduler, G_TYPE_OBJECT)

enum
{
  SIGNAL_SYNC_STARTED,
  SIGNAL_SYNC_FINISHED,
  SIGNAL_PROGRESS,
  SIGNAL_STATE_CHANGED,
  SIGNAL_PAUSED_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void kick (Slot *slot);
static gboolean reachable (Slot *slot);

const char *
td_account_state_to_string (TdAccountState state)
{
  static const char *const names[] = { "idle", "syncing", "watching", "offline", "error",
                                       "needs-password", "needs-user" };
  g_return_val_if_fail ((guint) state < G_N_ELEMENTS (names), "error");
  return names[state];
}

const char *
td_sync_reason_to_string (TdSyncReason reason)
{
  static const char *const names[] = { "request", "schedule", "server", "local", "retry" };
  g_return_val_if_fail ((guint) reason < G_N_ELEMENTS (names), "request");
  return names[reason];
}

/* Summaries */

/**
 * td_account_report_summarize:
 * @report: what a sync did
 *
 * Returns: (transfer floating): the a{sv} summary the D-Bus API documents
 */
GVariant *
td_account_report_summarize (const TdAccountReport *report)
{
  guint added = 0, removed = 0, changed = 0, uploaded = 0, pushed = 0, deleted = 0, moved = 0;
  guint failed = 0;
  guint64 bytes = 0;
  GVariantBuilder b;

  for (guint i = 0; i < report->folders->len; i++)
    {
      const TdFolderReport *f = g_ptr_array_index (report->folders, i);
      added += f->added;
      removed += f->removed;
      changed += f->flags_changed;
      uploaded += f->uploaded;
      pushed += f->flags_pushed;
      deleted += f->deleted_remote;
      moved += f->moved;
      bytes += f->bytes;
      failed += f->error != NULL;
    }
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "added", g_variant_new_uint32 (added));
  g_variant_builder_add (&b, "{sv}", "removed", g_variant_new_uint32 (removed));
  g_variant_builder_add (&b, "{sv}", "flags-changed", g_variant_new_uint32 (changed));
  g_variant_builder_add (&b, "{sv}", "uploaded", g_variant_new_uint32 (uploaded));
  g_variant_builder_add (&b, "{sv}", "flags-pushed", g_variant_new_uint32 (pushed));
  g_variant_builder_add (&b, "{sv}", "deleted-remote", g_variant_new_uint32 (deleted));
  g_variant_builder_add (&b, "{sv}", "moved", g_variant_new_uint32 (moved));
  g_variant_builder_add (&b, "{sv}", "bytes", g_variant_new_uint64 (bytes));
  g_variant_builder_add (&b, "{sv}", "folders", g_variant_new_uint32 (report->folders->len));
  g_variant_builder_add (&b, "{sv}", "failed-folders", g_variant_new_uint32 (failed));
  if (report->error != NULL)
    {
      g_variant_builder_add (&b, "{sv}", "error-name",
                             g_variant_new_string (td_error_dbus_name (report->error)));
      g_variant_builder_add (&b, "{sv}", "error-message",
                             g_variant_new_string (report->error->message));
    }
  return g_variant_builder_end (&b);
}

/* Slots */

static void
slot_free (Slot *slot)
{
  g_clear_handle_id (&slot->timer_id, g_source_remove);
  g_clear_handle_id (&slot->kick_id, g_source_remove);
  g_clear_handle_id (&slot->hooks_timer, g_source_remove);
  g_clear_object (&slot->runner);
  g_clear_object (&slot->cancellable);
  g_clear_object (&slot->hooks);
  td_sync_outcome_free (slot->outcome);
  g_hash_table_unref (slot->want_folders);
  g_ptr_array_unref (slot->waiters);
  g_ptr_array_unref (slot->answering);
  td_account_config_unref (slot->account);
  g_free (slot->last_error);
  g_free (slot);
}

static Slot *
find_slot (TdScheduler *self, const char *account)
{
  return g_hash_table_lookup (self->slots, account);
}

static TdAccountState
slot_state (Slot *slot)
{
  if (slot->runner != NULL)
    return TD_ACCOUNT_STATE_SYNCING;
  if (slot->last_failed)
    return slot->failed_state;
  if (!reachable (slot))
    return TD_ACCOUNT_STATE_OFFLINE;
  return slot->watching ? TD_ACCOUNT_STATE_WATCHING : TD_ACCOUNT_STATE_IDLE;
}

static void
state_changed (Slot *slot)
{
  g_signal_emit (slot->owner, signals[SIGNAL_STATE_CHANGED], 0, slot->account->name);
}

/* A server on this machine (a local Dovecot, a mail bridge) is there whatever the network
 * monitor says about the outside world. */
static gboolean
on_loopback (TdAccountConfig *account)
{
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (account->host);

  if (g_ascii_strcasecmp (account->host, "localhost") == 0)
    return TRUE;
  return address != NULL && g_inet_address_get_is_loopback (address);
}

static gboolean
reachable (Slot *slot)
{
  return slot->owner->network || on_loopback (slot->account);
}

/* Whether the account may sync without anyone having asked. */
static gboolean
may_run_unasked (Slot *slot)
{
  TdScheduler *self = slot->owner;

  return !self->paused && reachable (slot)
         && (!self->metered || slot->account->sync_when_metered || on_loopback (slot->account));
}

/* Timers */

static gboolean
timer_fired (gpointer data)
{
  Slot *slot = data;

  slot->timer_id = 0;
  td_scheduler_request (slot->owner, slot->account->name, NULL,
                        slot->last_failed ? TD_SYNC_REASON_RETRY : TD_SYNC_REASON_SCHEDULE);
  return G_SOURCE_REMOVE;
}

static void
schedule_in (Slot *slot, double seconds)
{
  g_clear_handle_id (&slot->timer_id, g_source_remove);
  slot->timer_id = g_timeout_add ((guint) (seconds * 1000), timer_fired, slot);
}

/* The next retry after @failures network failures in a row. */
static double
backoff_seconds (guint failures)
{
  double delay = TD_SCHEDULER_RETRY_MIN_SECONDS;

  for (guint i = 1; i < failures && delay < TD_SCHEDULER_RETRY_MAX_SECONDS; i++)
    delay *= 2;
  delay = MIN (delay, TD_SCHEDULER_RETRY_MAX_SECONDS);
  return delay * g_random_double_range (0.75, 1.25);
}

/* Runs */

static void
on_progress (const TdSyncProgress *progress, gpointer data)
{
  Slot *slot = data;
  g_signal_emit (slot->owner, signals[SIGNAL_PROGRESS], 0, progress);
}

/* Two runs' summaries as one: counts added, the folder count the larger, the rest (an
 * error) the later run's. */
static GVariant *
add_summaries (GVariant *earlier, GVariant *later)
{
  GVariantBuilder b;
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_iter_init (&iter, later);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      g_autoptr (GVariant) v = value;
      g_autoptr (GVariant) before = g_variant_lookup_value (earlier, key, NULL);
      if (before != NULL && g_variant_is_of_type (v, G_VARIANT_TYPE_UINT32))
        {
          guint32 x = g_variant_get_uint32 (before), y = g_variant_get_uint32 (v);
          g_variant_builder_add (&b, "{sv}", key,
                                 g_variant_new_uint32 (g_str_equal (key, "folders") ? MAX (x, y)
                                                                                    : x + y));
        }
      else if (before != NULL && g_variant_is_of_type (v, G_VARIANT_TYPE_UINT64))
        g_variant_builder_add (&b, "{sv}", key,
                               g_variant_new_uint64 (g_variant_get_uint64 (before)
                                                     + g_variant_get_uint64 (v)));
      else
        g_variant_builder_add (&b, "{sv}", key, v);
    }
  return g_variant_ref_sink (g_variant_builder_end (&b));
}

#define CARRIED "td-scheduler-carried"

/* Callers who asked while a whole-account run was under way are answered after the next
 * run, which sees what came meanwhile; what the run under way did is carried to them, so
 * `tidings sync` during a daemon's long sync says what that sync brought, not "nothing
 * new" from the short one after it. */
static void
carry (GPtrArray *riders, const TdAccountReport *report)
{
  g_autoptr (GVariant) done = g_variant_ref_sink (td_account_report_summarize (report));

  for (guint i = 0; i < riders->len; i++)
    {
      GTask *task = g_ptr_array_index (riders, i);
      GVariant *before = g_object_get_data (G_OBJECT (task), CARRIED);
      g_object_set_data_full (G_OBJECT (task), CARRIED,
                              before != NULL ? add_summaries (before, done) : g_variant_ref (done),
                              (GDestroyNotify) g_variant_unref);
    }
}

static void
answer (GPtrArray *tasks, const TdAccountReport *report)
{
  for (guint i = 0; i < tasks->len; i++)
    {
      GTask *task = g_ptr_array_index (tasks, i);
      GVariant *carried = g_object_get_data (G_OBJECT (task), CARRIED);
      if (report->error != NULL)
        {
          g_task_return_error (task, g_error_copy (report->error));
          continue;
        }
      g_autoptr (GVariant) summary = g_variant_ref_sink (td_account_report_summarize (report));
      g_task_return_pointer (task, carried != NULL ? add_summaries (carried, summary)
                                                   : g_steal_pointer (&summary),
                             (GDestroyNotify) g_variant_unref);
    }
  g_ptr_array_set_size (tasks, 0);
}

/* What a failure means for the account: how it shows, and when to try again. */
static void
note_failure (Slot *slot, const GError *error)
{
  TdScheduler *self = slot->owner;

  slot->last_failed = TRUE;
  g_free (slot->last_error);
  slot->last_error = g_strdup (error->message);
  if (g_error_matches (error, TD_ERROR, TD_ERROR_NETWORK)
      || g_error_matches (error, TD_ERROR, TD_ERROR_LOCKED))
    {
      slot->failed_state = g_error_matches (error, TD_ERROR, TD_ERROR_NETWORK)
                             ? TD_ACCOUNT_STATE_OFFLINE : TD_ACCOUNT_STATE_ERROR;
      slot->failures++;
      if (self->shutdown == NULL)
        schedule_in (slot, backoff_seconds (slot->failures));
      return;
    }
  slot->failures = 0;
  if (g_error_matches (error, TD_ERROR, TD_ERROR_AUTH)
      || g_error_matches (error, TD_ERROR, TD_ERROR_NO_CREDENTIALS)
      || g_error_matches (error, TD_ERROR, TD_ERROR_KEYRING_LOCKED))
    {
      /* Trying a refused password again and again can get the account locked at the
       * server: the next try waits for the keyring, GNOME Online Accounts or the user. */
      gboolean signs_in = slot->account->goa_id != NULL
                          || td_account_config_signs_in_itself (slot->account);
      slot->failed_state = signs_in ? TD_ACCOUNT_STATE_NEEDS_USER
                                    : TD_ACCOUNT_STATE_NEEDS_PASSWORD;
      g_clear_handle_id (&slot->timer_id, g_source_remove);
      return;
    }
  slot->failed_state = TD_ACCOUNT_STATE_ERROR;
  if (self->shutdown == NULL)
    schedule_in (slot, slot->account->poll_interval_seconds);
}

static void
maybe_finish_shutdown (TdScheduler *self)
{
  GHashTableIter iter;
  Slot *slot;

  if (self->shutdown == NULL)
    return;
  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &slot))
    if (slot->runner != NULL || slot->hooks != NULL)
      return;
  if (self->removed->len > 0)
    return;
  GTask *task = g_steal_pointer (&self->shutdown);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

/* When each account last synced, kept across restarts of the daemon (`tidings status`,
 * LastSync): a small key file beside the state database, rewritten after each good sync. */
static char *
last_sync_path (TdScheduler *self)
{
  return g_build_filename (self->config->state_dir, "daemon-last-sync", NULL);
}

static void
save_last_sync (TdScheduler *self, Slot *slot)
{
  g_autofree char *path = last_sync_path (self);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) error = NULL;

  g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, NULL);
  g_key_file_set_int64 (kf, "last-sync", slot->account->name, slot->last_sync);
  if (!g_key_file_save_to_file (kf, path, &error))
    g_debug ("account %s: the time of this sync is not kept: %s", slot->account->name,
             error->message);
}

static void
load_last_sync (TdScheduler *self)
{
  g_autofree char *path = last_sync_path (self);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  GHashTableIter iter;
  Slot *slot;

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, NULL))
    return;
  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &slot))
    slot->last_sync = MAX (0, g_key_file_get_int64 (kf, "last-sync", slot->account->name, NULL));
}

static void
log_finished (Slot *slot, const TdAccountReport *report)
{
  TdSyncCounts counts;
  guint unchanged = 0, failed = 0;

  td_sync_counts_of_report (report, &counts, &unchanged, &failed);
  g_autofree char *did = td_sync_counts_describe (&counts);
  g_autofree char *where = td_sync_folders_describe (report->folders->len, unchanged);
  g_message ("account %s: sync finished: %s; %s%s", slot->account->name, did, where,
             failed ? "; some folders failed" : "");
  for (guint i = 0; i < report->folders->len; i++)
    {
      const TdFolderReport *f = g_ptr_array_index (report->folders, i);
      if (f->error != NULL)
        g_message ("account %s, folder %s: %s", slot->account->name, f->name, f->error->message);
    }
}

/* The hooks: post-sync-command and new-mail-command, once a quiet period has passed */

static void
hook_output (const char *account, const char *key, const char *line, gboolean failure,
             gpointer data)
{
  g_message ("account %s: %s: %s", account, key, line);
}

/* A removed account's slot goes once neither its sync nor its hooks run any more. */
static void
drop_if_done (Slot *slot)
{
  if (slot->removed && slot->runner == NULL && slot->hooks == NULL)
    g_ptr_array_remove_fast (slot->owner->removed, slot);
}

static void
hooks_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Slot *slot = data;
  TdScheduler *self = slot->owner;

  td_hooks_run_finish (result);
  g_clear_object (&slot->hooks);
  drop_if_done (slot);
  maybe_finish_shutdown (self);
}

static gboolean
hooks_due (gpointer data)
{
  Slot *slot = data;

  slot->hooks_timer = 0;
  /* A sync under way or wanted ends the quiet; its end starts the period again. The hooks
   * of the last period still running, the next ones wait for them. */
  if (slot->runner != NULL || slot->owner->shutdown != NULL)
    return G_SOURCE_REMOVE;
  if (slot->hooks != NULL)
    {
      slot->hooks_timer = g_timeout_add_seconds (TD_HOOK_QUIET_SECONDS, hooks_due, slot);
      return G_SOURCE_REMOVE;
    }
  g_autoptr (TdSyncOutcome) outcome = g_steal_pointer (&slot->outcome);
  slot->hooks = g_cancellable_new ();
  td_hooks_run_async (slot->account, outcome, hook_output, slot, slot->hooks, hooks_done, slot);
  return G_SOURCE_REMOVE;
}

/* A sync ended: what it did is kept for the hooks, which run once the syncs are quiet. */
static void
note_for_hooks (Slot *slot, const TdAccountReport *report)
{
  if (slot->account->post_sync_command == NULL && slot->account->new_mail_command == NULL)
    return;
  if (slot->outcome == NULL)
    slot->outcome = td_sync_outcome_new ();
  td_sync_outcome_add (slot->outcome, report);
  g_clear_handle_id (&slot->hooks_timer, g_source_remove);
  if (slot->owner->shutdown == NULL)
    slot->hooks_timer = g_timeout_add_seconds (TD_HOOK_QUIET_SECONDS, hooks_due, slot);
}

static void
run_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Slot *slot = data;
  TdScheduler *self = slot->owner;
  g_autoptr (TdAccountReport) report = td_sync_runner_run_finish (TD_SYNC_RUNNER (source),
                                                                  result);
  gboolean whole = slot->running_all;

  g_clear_object (&slot->runner);
  g_clear_object (&slot->cancellable);
  if (slot->removed)
    {
      g_message ("account %s: its last sync has ended", slot->account->name);
      answer (slot->answering, report);
      drop_if_done (slot);
      maybe_finish_shutdown (self);
      return;
    }
  if (report->error != NULL
      && g_error_matches (report->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_message ("account %s: sync stopped; the next one finishes the job", slot->account->name);
  else if (report->error != NULL)
    {
      g_message ("sync failed: %s", report->error->message);
      note_failure (slot, report->error);
    }
  else
    {
      slot->last_failed = FALSE;
      slot->failures = 0;
      slot->last_sync = g_get_real_time () / G_USEC_PER_SEC;
      save_last_sync (self, slot);
      log_finished (slot, report);
      g_clear_pointer (&slot->last_error, g_free);
      if (whole && self->shutdown == NULL)
        schedule_in (slot, slot->account->poll_interval_seconds);
    }
  g_signal_emit (self, signals[SIGNAL_SYNC_FINISHED], 0, slot->account->name, report);
  if (report->error == NULL
      || !g_error_matches (report->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    note_for_hooks (slot, report);
  if (whole && report->error == NULL)
    carry (slot->waiters, report);
  answer (slot->answering, report);
  state_changed (slot);
  maybe_finish_shutdown (self);
  if (self->shutdown == NULL)
    kick (slot);
}

static void
start_run (Slot *slot)
{
  TdScheduler *self = slot->owner;
  g_autofree char **names = NULL;
  TdSyncOptions options = { NULL };

  if (!slot->want_all)
    names = (char **) g_hash_table_get_keys_as_array (slot->want_folders, NULL);
  options.folder_names = names;
  options.progress = on_progress;
  options.progress_data = slot;
  /* A command-line `tidings sync --local` may hold the account for a while; the daemon
   * waits a moment, then tries again later rather than blocking everything. */
  options.lock_wait_ms = 5000;
  slot->runner = td_sync_runner_new (self->config, slot->account, self->registry, &options);
  slot->running_all = slot->want_all;
  slot->cancellable = g_cancellable_new ();
  /* The quiet period before the hooks starts again when this run ends. */
  g_clear_handle_id (&slot->hooks_timer, g_source_remove);
  TdSyncReason reason = slot->want_reason;
  slot->want_all = FALSE;
  g_hash_table_remove_all (slot->want_folders);
  g_ptr_array_extend_and_steal (slot->answering, g_steal_pointer (&slot->waiters));
  slot->waiters = g_ptr_array_new_with_free_func (g_object_unref);
  /* A whole-account run is the poll; a run of some folders leaves the poll as it was. */
  if (slot->running_all)
    g_clear_handle_id (&slot->timer_id, g_source_remove);
  /* The daemon's log (stderr, or the journal under systemd) says what it does. */
  g_message ("account %s: sync started (%s%s)", slot->account->name,
             td_sync_reason_to_string (reason), slot->running_all ? "" : ", some folders");
  g_signal_emit (self, signals[SIGNAL_SYNC_STARTED], 0, slot->account->name, (int) reason);
  state_changed (slot);
  td_sync_runner_run_async (slot->runner, slot->cancellable, run_done, slot);
}

/* Starts the account's next run when one is wanted and may go now. */
static void
kick (Slot *slot)
{
  if (slot->runner != NULL || slot->owner->shutdown != NULL)
    return;
  if (!slot->want_all && g_hash_table_size (slot->want_folders) == 0)
    return;
  if (slot->waiters->len == 0 && !may_run_unasked (slot))
    return; /* noted; Resume or the network coming back syncs it */
  start_run (slot);
}

static gboolean
kick_now (gpointer data)
{
  Slot *slot = data;

  slot->kick_id = 0;
  kick (slot);
  return G_SOURCE_REMOVE;
}

/* Starts a run once what the main loop has at hand is handled: the local monitor reports
 * the folders of one look one after another, and so does the watcher for one push from
 * the server; a move between two of them must be synced in one run. */
static void
kick_soon (Slot *slot)
{
  if (slot->kick_id == 0)
    slot->kick_id = g_idle_add (kick_now, slot);
}

static void
want (Slot *slot, const char *folder, TdSyncReason reason)
{
  gboolean nothing_yet = !slot->want_all && g_hash_table_size (slot->want_folders) == 0;

  if (folder == NULL)
    slot->want_all = TRUE;
  else
    g_hash_table_add (slot->want_folders, g_strdup (folder));
  /* The run reports the strongest reason: a caller's request over anything automatic. */
  if (nothing_yet || reason == TD_SYNC_REASON_REQUEST)
    slot->want_reason = reason;
}

/* Requests */

/**
 * td_scheduler_request_async:
 * @self: a scheduler
 * @account: an account name
 * @folder: (nullable): one folder as the Maildir names it, or %NULL for the whole account
 * @reason: why
 * @cancellable: (nullable): stops waiting (the sync itself goes on)
 * @callback: called once the run that takes in this request has ended
 * @user_data: data for @callback
 *
 * Asks for a sync, run now or right after the account's sync under way. Runs even while
 * paused or offline: someone asked.
 */
void
td_scheduler_request_async (TdScheduler *self, const char *account, const char *folder,
                            TdSyncReason reason, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  Slot *slot = find_slot (self, account);

  g_task_set_source_tag (task, td_scheduler_request_async);
  if (slot == NULL)
    {
      g_task_return_new_error (task, TD_ERROR, TD_ERROR_CONFIG,
                               "no account named “%s” is configured", account);
      return;
    }
  if (self->shutdown != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "shutting down");
      return;
    }
  want (slot, folder, reason);
  g_ptr_array_add (slot->waiters, g_steal_pointer (&task));
  kick (slot);
}

/**
 * td_scheduler_request_finish:
 * @self: a scheduler
 * @result: the result
 * @error: the account's failure, if it failed as a whole
 *
 * Returns: (transfer full): the a{sv} summary of the run
 */
GVariant *
td_scheduler_request_finish (TdScheduler *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * td_scheduler_request:
 * @self: a scheduler
 * @account: an account name; unknown names are ignored
 * @folder: (nullable): one folder, or %NULL for the whole account
 * @reason: why; anything but %TD_SYNC_REASON_REQUEST waits while paused, offline or
 *   (unless the account says otherwise) metered
 *
 * Asks for a sync without waiting for it.
 */
void
td_scheduler_request (TdScheduler *self, const char *account, const char *folder,
                      TdSyncReason reason)
{
  Slot *slot = find_slot (self, account);

  if (slot == NULL || self->shutdown != NULL)
    return;
  want (slot, folder, reason);
  if (reason == TD_SYNC_REASON_LOCAL || reason == TD_SYNC_REASON_SERVER)
    kick_soon (slot);
  else
    kick (slot);
}

void
td_scheduler_request_all (TdScheduler *self, TdSyncReason reason)
{
  for (guint i = 0; i < self->config->accounts->len; i++)
    {
      TdAccountConfig *a = g_ptr_array_index (self->config->accounts, i);
      td_scheduler_request (self, a->name, NULL, reason);
    }
}

/* Conditions */

void
td_scheduler_set_paused (TdScheduler *self, gboolean paused)
{
  if (self->paused == paused)
    return;
  self->paused = paused;
  g_signal_emit (self, signals[SIGNAL_PAUSED_CHANGED], 0, paused);
  if (!paused)
    {
      td_scheduler_request_all (self, TD_SYNC_REASON_SCHEDULE);
      return;
    }
  /* A pause is a stop request for what runs too: it ends once what came down whole is
   * stored (the connection is dropped), and Resume's catch-up finishes the job. */
  GHashTableIter iter;
  Slot *slot;
  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &slot))
    if (slot->cancellable != NULL)
      g_cancellable_cancel (slot->cancellable);
}

gboolean
td_scheduler_get_paused (TdScheduler *self)
{
  return self->paused;
}

/**
 * td_scheduler_set_network:
 * @self: a scheduler
 * @available: whether the network (a route to the servers) is up
 * @metered: whether it is metered
 *
 * Offline, nothing syncs unasked; once the network is back every account syncs at once,
 * whatever its backoff said.
 */
void
td_scheduler_set_network (TdScheduler *self, gboolean available, gboolean metered)
{
  gboolean came_back = available && !self->network;
  gboolean unmetered = self->metered && !metered;
  GHashTableIter iter;
  Slot *slot;

  self->network = available;
  self->metered = metered;
  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &slot))
    {
      if (came_back)
        slot->failures = 0;
      state_changed (slot);
    }
  if (came_back || unmetered)
    td_scheduler_request_all (self, TD_SYNC_REASON_RETRY);
}

/* Every account that waits in @state (for a password, or for the user) tries again, once. */
static void
retry_waiting (TdScheduler *self, TdAccountState state)
{
  GHashTableIter iter;
  Slot *slot;

  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &slot))
    if (slot->runner == NULL && slot->last_failed && slot->failed_state == state)
      td_scheduler_request (self, slot->account->name, NULL, TD_SYNC_REASON_RETRY);
}

/**
 * td_scheduler_retry_needs_password:
 * @self: a scheduler
 *
 * The keyring changed (unlocked, or a password stored): every account that waits for a
 * password tries again, once.
 */
void
td_scheduler_retry_needs_password (TdScheduler *self)
{
  retry_waiting (self, TD_ACCOUNT_STATE_NEEDS_PASSWORD);
}

/**
 * td_scheduler_retry_needs_user:
 * @self: a scheduler
 *
 * GNOME Online Accounts changed an account (the user signed in again in Settings), or the
 * keyring did (`tidings oauth2 login`): every account that waits for the user tries again,
 * once.
 */
void
td_scheduler_retry_needs_user (TdScheduler *self)
{
  retry_waiting (self, TD_ACCOUNT_STATE_NEEDS_USER);
}

static Slot *
slot_new (TdScheduler *self, TdAccountConfig *account)
{
  Slot *slot = g_new0 (Slot, 1);

  slot->owner = self;
  slot->account = td_account_config_ref (account);
  slot->want_folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  slot->waiters = g_ptr_array_new_with_free_func (g_object_unref);
  slot->answering = g_ptr_array_new_with_free_func (g_object_unref);
  g_hash_table_insert (self->slots, slot->account->name, slot);
  return slot;
}

/**
 * td_scheduler_add_account:
 * @self: a started scheduler
 * @account: an account it does not have yet (see td_scheduler_remove_account())
 *
 * Takes in an account added to the configuration while the daemon runs, and syncs it.
 */
void
td_scheduler_add_account (TdScheduler *self, TdAccountConfig *account)
{
  g_return_if_fail (find_slot (self, account->name) == NULL);
  if (self->shutdown != NULL)
    return;
  Slot *slot = slot_new (self, account);
  load_last_sync (self); /* it may have synced under this name before */
  state_changed (slot);
  td_scheduler_request (self, account->name, NULL, TD_SYNC_REASON_SCHEDULE);
}

/**
 * td_scheduler_remove_account:
 * @self: a scheduler
 * @account: the name of an account gone from the configuration; unknown names are ignored
 *
 * Stops syncing the account: its sync under way is stopped as a stop request stops it (what
 * came down whole is stored), nothing more starts, and callers still waiting are told. The
 * name is free again at once, for the account's new definition.
 */
void
td_scheduler_remove_account (TdScheduler *self, const char *account)
{
  Slot *slot = find_slot (self, account);

  if (slot == NULL)
    return;
  g_hash_table_steal (self->slots, account);
  slot->removed = TRUE;
  g_clear_handle_id (&slot->timer_id, g_source_remove);
  g_clear_handle_id (&slot->kick_id, g_source_remove);
  g_clear_handle_id (&slot->hooks_timer, g_source_remove);
  if (slot->hooks != NULL)
    g_cancellable_cancel (slot->hooks);
  for (guint i = 0; i < slot->waiters->len; i++)
    g_task_return_new_error (g_ptr_array_index (slot->waiters, i), TD_ERROR, TD_ERROR_CONFIG,
                             "account %s was removed from the configuration", account);
  g_ptr_array_set_size (slot->waiters, 0);
  if (slot->cancellable != NULL)
    g_cancellable_cancel (slot->cancellable);
  g_ptr_array_add (self->removed, slot);
  drop_if_done (slot);
}

void
td_scheduler_set_watching (TdScheduler *self, const char *account, gboolean watching)
{
  Slot *slot = find_slot (self, account);

  if (slot == NULL || slot->watching == watching)
    return;
  slot->watching = watching;
  state_changed (slot);
}

TdAccountState
td_scheduler_get_state (TdScheduler *self, const char *account)
{
  Slot *slot = find_slot (self, account);
  g_return_val_if_fail (slot != NULL, TD_ACCOUNT_STATE_ERROR);
  return slot_state (slot);
}

gint64
td_scheduler_get_last_sync (TdScheduler *self, const char *account)
{
  Slot *slot = find_slot (self, account);
  g_return_val_if_fail (slot != NULL, 0);
  return slot->last_sync;
}

const char *
td_scheduler_get_last_error (TdScheduler *self, const char *account)
{
  Slot *slot = find_slot (self, account);
  g_return_val_if_fail (slot != NULL, NULL);
  return slot->last_error;
}

/**
 * td_scheduler_start:
 * @self: a scheduler
 *
 * Syncs every account once; each then syncs again every `poll-interval` seconds.
 */
void
td_scheduler_start (TdScheduler *self)
{
  td_scheduler_request_all (self, TD_SYNC_REASON_SCHEDULE);
}

/* Shutting down */

/**
 * td_scheduler_shutdown_async:
 * @self: a scheduler
 * @callback: called once no sync runs any more
 * @user_data: data for @callback
 *
 * Stops every sync under way (its connection is dropped, and what came down whole is
 * stored first, so mail and state stay consistent) and starts no more. Callers still
 * waiting get G_IO_ERROR_CANCELLED.
 */
void
td_scheduler_shutdown_async (TdScheduler *self, GAsyncReadyCallback callback, gpointer user_data)
{
  GHashTableIter iter;
  Slot *slot;

  g_return_if_fail (self->shutdown == NULL);
  self->shutdown = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (self->shutdown, td_scheduler_shutdown_async);
  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &slot))
    {
      g_clear_handle_id (&slot->timer_id, g_source_remove);
      for (guint i = 0; i < slot->waiters->len; i++)
        g_task_return_new_error (g_ptr_array_index (slot->waiters, i), G_IO_ERROR,
                                 G_IO_ERROR_CANCELLED, "Tidings is shutting down");
      g_ptr_array_set_size (slot->waiters, 0);
      if (slot->cancellable != NULL)
        g_cancellable_cancel (slot->cancellable);
      /* Hooks not yet started do not start; one under way is stopped. */
      g_clear_handle_id (&slot->hooks_timer, g_source_remove);
      if (slot->hooks != NULL)
        g_cancellable_cancel (slot->hooks);
    }
  maybe_finish_shutdown (self);
}

void
td_scheduler_shutdown_finish (TdScheduler *self, GAsyncResult *result)
{
  g_return_if_fail (g_task_is_valid (result, self));
  g_task_propagate_boolean (G_TASK (result), NULL);
}

/* Type */

static void
td_scheduler_finalize (GObject *object)
{
  TdScheduler *self = TD_SCHEDULER (object);

  g_hash_table_unref (self->slots);
  g_ptr_array_unref (self->removed);
  g_clear_object (&self->registry);
  G_OBJECT_CLASS (td_scheduler_parent_class)->finalize (object);
}

static void
td_scheduler_class_init (TdSchedulerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = td_scheduler_finalize;
  /* (account, TdSyncReason) */
  signals[SIGNAL_SYNC_STARTED] = g_signal_new ("sync-started", G_TYPE_FROM_CLASS (klass),
                                               G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                               G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_INT);
  /* (account, const TdAccountReport *) */
  signals[SIGNAL_SYNC_FINISHED] = g_signal_new ("sync-finished", G_TYPE_FROM_CLASS (klass),
                                                G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_POINTER);
  /* (const TdSyncProgress *) */
  signals[SIGNAL_PROGRESS] = g_signal_new ("progress", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 1, G_TYPE_POINTER);
  /* (account) */
  signals[SIGNAL_STATE_CHANGED] = g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass),
                                                G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                G_TYPE_NONE, 1, G_TYPE_STRING);
  /* (gboolean paused) */
  signals[SIGNAL_PAUSED_CHANGED] = g_signal_new ("paused-changed", G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                 G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
}

static void
td_scheduler_init (TdScheduler *self)
{
  self->slots = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) slot_free);
  self->removed = g_ptr_array_new_with_free_func ((GDestroyNotify) slot_free);
  self->network = TRUE;
}

/**
 * td_scheduler_new:
 * @config: the configuration; must outlive the scheduler
 * @registry: where backends come from
 *
 * Returns: (transfer full): a scheduler for every account of @config, not yet started
 */
TdScheduler *
td_scheduler_new (TdConfig *config, TdPluginRegistry *registry)
{
  TdScheduler *self = g_object_new (TD_TYPE_SCHEDULER, NULL);

  self->config = config;
  self->registry = g_object_ref (registry);
  for (guint i = 0; i < config->accounts->len; i++)
    slot_new (self, g_ptr_array_index (config->accounts, i));
  load_last_sync (self);
  return self;
}
