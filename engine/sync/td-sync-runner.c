/* td-sync-runner.c: TdSyncRunner, the pull sync of one account.
 *
 * Per folder: prepare the local side (thread), open the folder on the server, then one of
 *   - nothing changed (same UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ and count): done, no listing;
 *   - UIDVALIDITY changed: list the server, re-match by Message-ID and size, fetch the rest;
 *   - otherwise: list changes since the sync point, apply them (thread), fetch new messages.
 * Downloads stream into tmp/ through a TdMaildirSink; full batches are made durable by a
 * worker thread while the next batch downloads. The sync point is saved only after every
 * change up to it is stored, so an interrupted run simply resumes.
 */
#include "engine/sync/td-sync-runner-private.h"
#include "engine/sync/td-tool-state.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "storage/td-folder-map.h"
#include "storage/td-state-db.h"
#include "engine/backend/td-credentials.h"
#include "engine/common/td-error.h"
#include "engine/sync/td-local-folder.h"
#include "engine/sync/td-maildir-sink.h"

#define LOCK_RETRY_MS 100
/* Uploads per pipelined group of APPENDs; each holds an open file while it goes. */
#define TD_UPLOAD_BATCH 32

G_DEFINE_FINAL_TYPE (TdSyncRunner, td_sync_runner, G_TYPE_OBJECT)

static void push_deletions (TdSyncRunner *self);
static gboolean apply_work (TdSyncRunner *self, gpointer arg, GError **error);
static void applied (GObject *source, GAsyncResult *result, gpointer data);
static void td_sync_runner_end_folder (TdSyncRunner *self, GError *error);
static void td_sync_runner_next_folder (TdSyncRunner *self);
static void td_sync_runner_finish_account (TdSyncRunner *self, GError *error);

/* Reports */

const char *
td_folder_event_to_string (TdFolderEvent event)
{
  static const char *const names[] = { "none", "created_on_server", "deleted_locally",
                                       "deleted_on_server", "pruned_on_server",
                                       "pruned_locally", "restored" };
  g_return_val_if_fail ((guint) event < G_N_ELEMENTS (names), "none");
  return names[event];
}

static void
folder_report_free (TdFolderReport *report)
{
  g_free (report->name);
  g_free (report->path);
  g_clear_pointer (&report->new_files, g_ptr_array_unref);
  g_clear_pointer (&report->skipped, g_ptr_array_unref);
  g_clear_error (&report->error);
  g_free (report);
}

void
td_account_report_free (TdAccountReport *report)
{
  if (report == NULL)
    return;
  g_free (report->account);
  g_ptr_array_unref (report->folders);
  g_clear_error (&report->error);
  g_free (report);
}

/* Ends the current folder: a folder-level error is recorded and the next folder starts;
 * an account-wide one ends the account. */
static void
td_sync_runner_end_folder (TdSyncRunner *self, GError *error)
{
  FolderRun *run = g_steal_pointer (&self->run);

  if (error != NULL && td_error_is_account_wide (error))
    {
      td_folder_run_free (run);
      td_sync_runner_finish_account (self, error);
      return;
    }
  if (error != NULL)
    run->report->error = error;
  if (run->local != NULL)
    {
      run->report->skipped = td_local_folder_take_skipped (run->local, &run->report->unreadable);
      run->report->keywords_unshown = td_local_folder_count_unshown_keywords (run->local);
    }
  td_sync_runner_folder_done (self, run->report);
  td_folder_run_free (run);
  td_sync_runner_next_folder (self);
}

/* Saving the sync point */

static gboolean
save_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  return td_local_folder_save (self->run->local, &self->run->state, error);
}

static void
saved (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = TD_SYNC_RUNNER (source);
  GError *error = NULL;

  td_sync_runner_work_finish (result, &error);
  td_sync_runner_end_folder (self, error);
}

static void
save_folder (TdSyncRunner *self)
{
  td_sync_runner_work (self, save_work, NULL, saved);
}

/* Uploads whose UID is not known: found in a listing of the folder from the lowest UID
 * they can have, in one request, then recorded */

static gboolean
resolve_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  FolderRun *run = self->run;
  guint found = 0, moved = 0;
  gboolean ok = td_local_folder_resolve_uploads (run->local, arg, run->looked_again, &found,
                                                 &moved, &run->unsettled_left, error);
  run->report->uploaded += found - moved;
  run->report->moved += moved;
  return ok;
}

static void settle_uploads (TdSyncRunner *self);

static gboolean
look_again (gpointer data)
{
  TdSyncRunner *self = data;

  settle_uploads (self);
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

static void
resolved (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = TD_SYNC_RUNNER (source);
  g_autoptr (GArray) server = data;
  GError *error = NULL;

  if (!td_sync_runner_work_finish (result, &error))
    {
      td_sync_runner_end_folder (self, error);
      return;
    }
  /* Uploads not found may still be landing: APPENDs a killed run had sent, which the server
   * stores after the listing. One more look a moment later before they are sent again. */
  if (self->run->unsettled_left > 0 && !self->run->looked_again)
    {
      self->run->looked_again = TRUE;
      g_timeout_add (TD_UPLOAD_LOOK_AGAIN_MS, look_again, g_object_ref (self));
      return;
    }
  self->run->after_settle (self);
}

static void
uploads_listed (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = data;
  GError *error = NULL;
  GArray *server = td_backend_list_messages_finish (TD_BACKEND (source), result, &error);

  if (server == NULL)
    {
      td_sync_runner_end_folder (self, error);
      return;
    }
  td_sync_runner_work (self, resolve_work, server, resolved);
}

/* Settles every upload in local->uploads, then goes on with run->after_settle. */
static void
settle_uploads (TdSyncRunner *self)
{
  guint32 first = td_local_folder_unsettled_from (self->run->local);

  if (first == 0)
    {
      self->run->after_settle (self);
      return;
    }
  td_backend_list_messages_async (self->backend, first, self->cancellable, uploads_listed, self);
}

/* Uploading new local messages, a batch at a time */

static void send_upload_batch (TdSyncRunner *self);

static gboolean
record_uploads_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  return td_local_folder_finish_uploads (self->run->local, self->run->sending, error);
}

static void
uploads_recorded (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = TD_SYNC_RUNNER (source);
  FolderRun *run = self->run;
  GError *error = NULL;

  if (!td_sync_runner_work_finish (result, &error))
    {
      td_sync_runner_end_folder (self, error);
      return;
    }
  for (guint i = 0; i < run->sending->len; i++)
    if (((TdLocalUpload *) g_ptr_array_index (run->sending, i))->upload.uid != 0)
      run->report->uploaded++;
  g_clear_pointer (&run->sending, g_ptr_array_unref);
  send_upload_batch (self);
}

static void
appended (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = data;
  GError *error = NULL;

  if (!td_backend_append_finish (TD_BACKEND (source), result, &error))
    {
      td_sync_runner_end_folder (self, error);
      return;
    }
  td_sync_runner_work (self, record_uploads_work, NULL, uploads_recorded);
}

static gboolean
open_uploads_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  FolderRun *run = self->run;
  run->sending = td_local_folder_open_uploads (run->local, run->upload_next, TD_UPLOAD_BATCH,
                                               error);
  run->upload_next += TD_UPLOAD_BATCH;
  return run->sending != NULL;
}

static void
uploads_opened (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = TD_SYNC_RUNNER (source);
  FolderRun *run = self->run;
  GError *error = NULL;

  if (!td_sync_runner_work_finish (result, &error))
    {
      td_sync_runner_end_folder (self, error);
      return;
    }
  if (run->sending->len == 0)
    {
      g_clear_pointer (&run->sending, g_ptr_array_unref);
      send_upload_batch (self);
      return;
    }
  g_autoptr (GPtrArray) list = g_ptr_array_new ();
  for (guint i = 0; i < run->sending->len; i++)
    g_ptr_array_add (list, &((TdLocalUpload *) g_ptr_array_index (run->sending, i))->upload);
  td_backend_append_async (self->backend, run->info->name, list, self->cancellable, appended,
                           self);
}

static void
send_upload_batch (TdSyncRunner *self)
{
  FolderRun *run = self->run;

  if (run->upload_next >= td_local_folder_get_side (run->local)->uploads->len)
    {
      run->after_settle = save_folder;
      settle_uploads (self);
      return;
    }
  td_sync_runner_work (self, open_uploads_work, NULL, uploads_opened);
}

static gboolean
begin_uploads_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  return td_local_folder_begin_uploads (self->run->local, &self->run->state, error);
}

static void
uploads_begun (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = TD_SYNC_RUNNER (source);
  GError *error = NULL;

  if (!td_sync_runner_work_finish (result, &error))
    {
      td_sync_runner_end_folder (self, error);
      return;
    }
  self->run->upload_next = 0;
  send_upload_batch (self);
}

static void
push_uploads (TdSyncRunner *self)
{
  FolderRun *run = self->run;

  const GPtrArray *new_files = td_local_folder_get_side (run->local)->new_files;
  if (!self->policy.uploads || new_files == NULL || new_files->len == 0)
    {
      save_folder (self);
      return;
    }
  td_sync_runner_work (self, begin_uploads_work, NULL, uploads_begun);
}

/* Deleting on the server what the mail reader deleted */

static gboolean
forget_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  FolderRun *run = self->run;
  return td_local_folder_forget_deleted (run->local, run->deleting, GPOINTER_TO_INT (arg), error);
}

static void
forgotten (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = TD_SYNC_RUNNER (source);
  FolderRun *run = self->run;
  GError *error = NULL;

  if (!td_sync_runner_work_finish (result, &error))
    {
      td_sync_runner_end_folder (self, error);
      return;
    }
  run->report->deleted_remote += td_uid_set_count (run->deleting);
  g_clear_pointer (&run->deleting, g_array_unref);
  push_uploads (self);
}

static void
expunged (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = data;
  GError *error = NULL;
  gboolean gone = FALSE;

  if (!td_backend_expunge_finish (TD_BACKEND (source), result, &gone, &error))
    {
      td_sync_runner_end_folder (self, error);
      return;
    }
  td_sync_runner_work (self, forget_work, GINT_TO_POINTER (gone), forgotten);
}

/* The reader's deletions went to the Trash folder: they are gone from this one. */
static void
trashed (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = data;
  GError *error = NULL;
  gboolean gone = FALSE;
  g_autoptr (GArray) moved = td_backend_move_finish (TD_BACKEND (source), result, &gone, &error);

  if (moved == NULL)
    {
      td_sync_runner_end_folder (self, error);
      return;
    }
  self->run->report->trashed += td_uid_set_count (self->run->deleting);
  td_sync_runner_work (self, forget_work, GINT_TO_POINTER (gone), forgotten);
}

static void
push_deletions (TdSyncRunner *self)
{
  FolderRun *run = self->run;

  /* Only a plan made from the server's changes has deletions to send: after a re-match the
   * old UIDs of deleted files mean nothing. */
  if (run->plan == NULL || run->plan->deletions_there->len == 0)
    {
      push_uploads (self);
      return;
    }
  run->deleting = g_array_copy (run->plan->deletions_there);
  /* Deleting in the Trash itself deletes for good. */
  if (self->trash != NULL && !g_str_equal (run->info->name, self->trash))
    {
      td_backend_move_async (self->backend, run->deleting, self->trash, self->cancellable,
                             trashed, self);
      return;
    }
  td_backend_expunge_async (self->backend, run->deleting, self->cancellable, expunged, self);
}

static void
folder_fetched (TdSyncRunner *self, TdFetchPump *pump, GError *error)
{
  if (error != NULL)
    td_sync_runner_end_folder (self, error);
  else
    push_deletions (self);
}

static void
start_fetch (TdSyncRunner *self)
{
  FolderRun *run = self->run;

  if (!self->policy.pulls)
    g_array_set_size (run->to_fetch, 0);
  if (run->to_fetch->len == 0)
    {
      push_deletions (self);
      return;
    }
  run->pump.owner = run;
  run->pump.report = run->report;
  run->pump.commit = td_sync_runner_commit_runs;
  run->pump.done = folder_fetched;
  td_sync_runner_fetch (self, &run->pump, td_local_folder_get_maildir_folder (run->local), run->to_fetch);
}

/* Carrying out a plan made from the server's changes: flags to the server, then the
 * server's side here (flags and removals, one transaction), then downloads, deletions on the
 * server and uploads. Flags go to the server before the disk and the DB take them: a crash
 * in between leaves a state the next run's merge brings to the same result, never one that
 * undoes a change. */

static gboolean
apply_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  FolderRun *run = self->run;
  return td_local_folder_apply_plan (run->local, run->plan->flags, run->plan->removals,
                                     run->plan->remove_here, run->plan->left_new,
                                     run->plan->left_gone, &run->report->flags_changed,
                                     &run->report->removed, error);
}

static void
applied (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = TD_SYNC_RUNNER (source);
  FolderRun *run = self->run;
  GError *error = NULL;

  if (!td_sync_runner_work_finish (result, &error))
    {
      td_sync_runner_end_folder (self, error);
      return;
    }
  g_array_append_vals (run->to_fetch, run->plan->downloads->data, run->plan->downloads->len);
  run->pump.bytes_total = run->plan->download_bytes;
  start_fetch (self);
}

static void
stored (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = data;
  GError *error = NULL;

  if (!td_backend_store_flags_finish (TD_BACKEND (source), result, &error))
    {
      td_sync_runner_end_folder (self, error);
      return;
    }
  self->run->report->flags_pushed = self->run->plan->flags_there;
  td_sync_runner_work (self, apply_work, NULL, applied);
}

/* Whether carrying out @plan needs the folder open on the server. */
static gboolean
needs_server (TdSyncRunner *self, const TdFolderPlan *plan)
{
  return plan->stores->len > 0 || (self->policy.pulls && plan->download_count > 0)
         || plan->deletions_there->len > 0 || (self->policy.uploads && plan->uploads > 0);
}

static void execute_plan (TdSyncRunner *self);

/* A surveyed folder opened again to carry out its plan: it must still be the folder the
 * plan was made for. */
static void
reopened (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = data;
  FolderRun *run = self->run;
  TdFolderState now;
  GError *error = NULL;

  if (!td_backend_open_folder_finish (TD_BACKEND (source), result, &now, &error))
    {
      td_sync_runner_end_folder (self, error);
      return;
    }
  if (now.uidvalidity != run->state.uidvalidity)
    {
      td_sync_runner_end_folder (self, g_error_new (TD_ERROR, TD_ERROR_FOLDER, "account %s, "
                                 "folder %s: the server renumbered the folder during the sync "
                                 "(UIDVALIDITY changed); nothing was changed in it. Run the "
                                 "sync again", self->account->name, run->report->name));
      return;
    }
  run->open = TRUE;
  execute_plan (self);
}

static void
execute_plan (TdSyncRunner *self)
{
  FolderRun *run = self->run;

  /* A folder with nothing for the server joins the round too: its side here is recorded
   * with the round's, in the one transaction. */
  if (!run->open && td_sync_runner_joins_round (self, run->plan))
    {
      td_sync_runner_park (self);
      td_sync_runner_next_folder (self);
      return;
    }
  if (!run->open && needs_server (self, run->plan))
    {
      td_backend_open_folder_async (self->backend, run->info->name, !self->policy.pushes, NULL,
                                    self->cancellable, reopened, self);
      return;
    }
  run->report->kept = run->plan->kept;
  run->report->too_big = run->plan->too_big;
  run->report->too_old = run->plan->too_old;
  if (run->plan->stores->len == 0)
    {
      td_sync_runner_work (self, apply_work, NULL, applied);
      return;
    }
  td_backend_store_flags_async (self->backend, run->plan->stores, self->cancellable, stored,
                                self);
}

/* Carrying out a folder's share of the account plan */

/* Nothing changed on the server since the sync point, and nothing the policy sends here:
 * the sync point is saved again (the scan's directory times with it). */
static void
keep_unchanged (TdSyncRunner *self)
{
  FolderRun *run = self->run;

  if (self->options.dry_run)
    td_folder_plan_count (run->plan, run->report);
  run->report->kept = run->plan->kept;
  run->report->too_big = run->plan->too_big;
  run->report->too_old = run->plan->too_old;
  run->report->unchanged = TRUE;
  if (self->options.dry_run)
    td_sync_runner_end_folder (self, NULL);
  else
    td_sync_runner_work (self, save_work, NULL, saved);
}

static void list_for_rematch (TdSyncRunner *self);

/* @folder is planned: a guard's stop ends it, a dry run counts it, else it is carried out. */
static void
carry_out (TdSyncRunner *self, TdPlannedFolder *folder)
{
  FolderRun *run = self->run;

  run->plan = folder->plan;
  if (run->plan->stop != NULL)
    {
      td_sync_runner_end_folder (self, g_error_copy (run->plan->stop));
      return;
    }
  if (folder->kind == TD_FOLDER_PLAN_UNCHANGED)
    {
      keep_unchanged (self);
      return;
    }
  if (folder->kind == TD_FOLDER_PLAN_REMATCH)
    {
      list_for_rematch (self);
      return;
    }
  run->point = folder->since;
  if (self->options.dry_run)
    {
      td_folder_plan_count (run->plan, run->report);
      td_sync_runner_end_folder (self, NULL);
      return;
    }
  execute_plan (self);
}

/* Planning at a folder's turn, from what opening and listing it reported */

typedef struct
{
  TdFolderChanges *changes;
  TdPlannedFolder *folder;
} PlanArg;

static gboolean
plan_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  PlanArg *p = arg;
  FolderRun *run = self->run;
  TdFolderInput input = { run->info->name, NULL, run->point, run->state, p->changes };

  td_local_folder_absorb_keywords (run->local, p->changes);
  /* The server's flag changes reach files whatever the reader did: their flags count. */
  if (self->policy.pulls && p->changes->changed->len > 0)
    td_local_folder_ensure_scanned (run->local);
  input.local = td_local_folder_get_side (run->local);
  p->folder = td_account_plan_add (self->plan, td_planned_folder_new (&self->policy,
                                                                      self->options.force,
                                                                      &input));
  return TRUE;
}

static void
planned (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = TD_SYNC_RUNNER (source);
  PlanArg *p = data;
  TdPlannedFolder *folder = p->folder;

  td_sync_runner_work_finish (result, NULL);
  td_folder_changes_free (p->changes);
  g_free (p);
  carry_out (self, folder);
}

/* Plans from @changes (taken), in a worker: the scan may read the folder. */
static void
plan_changes (TdSyncRunner *self, TdFolderChanges *changes)
{
  PlanArg *p = g_new0 (PlanArg, 1);
  p->changes = changes;
  td_sync_runner_work (self, plan_work, p, planned);
}

static void
changes_listed (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = data;
  GError *error = NULL;
  TdFolderChanges *changes = td_backend_list_changes_finish (TD_BACKEND (source), result, &error);

  if (changes == NULL)
    {
      td_sync_runner_end_folder (self, error);
      return;
    }
  plan_changes (self, changes);
}

/* UIDVALIDITY changed */

static gboolean
rematch_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  FolderRun *run = self->run;
  gboolean ok;

  if (td_local_folder_get_side (run->local)->untracked)
    {
      g_autofree char *mbsync = self->account->mbsync_state != NULL
                                  ? td_mbsync_state_file (self->account->mbsync_state,
                                                          run->info->name, run->info->delimiter,
                                                          self->account->layout.utf7)
                                  : NULL;
      ok = td_local_folder_adopt (run->local, arg, run->state.uidvalidity, mbsync, run->to_fetch,
                                  &run->report->matched, error);
    }
  else
    ok = td_local_folder_rematch (run->local, arg, run->state.uidvalidity, run->to_fetch,
                                  &run->report->matched, error);
  return ok && td_local_folder_leave_on_server (run->local, arg, run->to_fetch, &self->policy,
                                                &run->report->too_big, &run->report->too_old,
                                                error);
}

static void
rematched (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = TD_SYNC_RUNNER (source);
  g_autoptr (GArray) server = data;
  GError *error = NULL;

  if (!td_sync_runner_work_finish (result, &error))
    {
      td_sync_runner_end_folder (self, error);
      return;
    }
  if (td_local_folder_get_side (self->run->local)->untracked)
    g_message ("account %s, folder %s: the Maildir already held mail this state database "
               "does not know; %u messages recognised, the rest is downloaded",
               self->account->name, self->run->report->name, self->run->report->matched);
  else
    g_message ("account %s, folder %s: the server renumbered the folder (UIDVALIDITY "
               "changed); %u local messages matched, no local mail was removed",
               self->account->name, self->run->report->name, self->run->report->matched);
  start_fetch (self);
}

static void
server_listed (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = data;
  GError *error = NULL;
  GArray *server = td_backend_list_messages_finish (TD_BACKEND (source), result, &error);

  if (server == NULL)
    {
      td_sync_runner_end_folder (self, error);
      return;
    }
  if (self->options.dry_run)
    {
      /* Which of these match a local message only the re-match tells: at most all come. */
      for (guint i = 0; self->policy.pulls && i < server->len; i++)
        {
          const TdMessageInfo *m = &g_array_index (server, TdMessageInfo, i);
          switch (td_sync_policy_leaves (&self->policy, m->size, m->internal_date))
            {
            case TD_LEAVE_NONE:
              self->run->report->added++;
              self->run->report->bytes += m->size;
              break;
            case TD_LEAVE_TOO_OLD:
              self->run->report->too_old++;
              break;
            case TD_LEAVE_TOO_BIG:
              self->run->report->too_big++;
              break;
            }
        }
      g_array_unref (server);
      td_sync_runner_end_folder (self, NULL);
      return;
    }
  td_sync_runner_work (self, rematch_work, server, rematched);
}

/* The folder is open and renumbered (or its Maildir holds mail the state DB never knew):
 * it is listed whole and matched by Message-ID and size. */
static void
list_for_rematch (TdSyncRunner *self)
{
  FolderRun *run = self->run;

  if (self->options.dry_run)
    td_folder_plan_count (run->plan, run->report);
  run->report->kept = run->plan->kept;
  run->report->too_big = run->plan->too_big;
  run->report->too_old = run->plan->too_old;
  run->report->estimate = self->options.dry_run;
  td_backend_list_messages_async (self->backend, 1, self->cancellable, server_listed, self);
}

/* Opening */

static void after_open (TdSyncRunner *self);

static void
folder_opened (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = data;
  FolderRun *run = self->run;
  GError *error = NULL;

  if (!td_backend_open_folder_finish (TD_BACKEND (source), result, &run->state, &error))
    {
      td_sync_runner_end_folder (self, error);
      return;
    }
  run->open = TRUE;
  /* Uploads an earlier run could not see through are settled first, so nothing new is
   * taken for them and none is sent twice. A dry run only counts them. */
  run->after_settle = after_open;
  if (self->options.dry_run)
    {
      after_open (self);
      return;
    }
  settle_uploads (self);
}

/* The folder is open at its turn: planned again from its state, and listed where the plan
 * needs the server's changes. */
static void
after_open (TdSyncRunner *self)
{
  FolderRun *run = self->run;
  TdFolderInput input = { run->info->name, td_local_folder_get_side (run->local), run->point,
                          run->state, NULL };
  TdPlannedFolder *folder = td_account_plan_add (self->plan,
                                                 td_planned_folder_new (&self->policy,
                                                                        self->options.force,
                                                                        &input));

  if (folder->plan != NULL)
    {
      carry_out (self, folder);
      return;
    }
  /* Settling may have recorded uploads: the listing asks about every row held now. */
  TdSyncPoint settled;
  td_local_folder_sync_point (run->local, self->policy.not_before, &settled);
  run->point.last_uid = settled.last_uid;
  run->point.known_count = settled.known_count;
  run->point.new_from = self->policy.pulls ? td_folder_plan_new_from (&run->point, &run->state)
                                           : 0;
  td_backend_list_changes_async (self->backend, &run->point, self->cancellable, changes_listed,
                                 self);
}

/* Opens the folder at its turn, asking for the changes since its sync point on the way. */
static void
open_folder (TdSyncRunner *self)
{
  td_backend_open_folder_async (self->backend, self->run->info->name,
                                !self->policy.pushes || self->options.dry_run,
                                &self->run->point, self->cancellable, folder_opened, self);
}

/* The folder's local side is prepared and the account plan holds what it could decide:
 * carried out from the survey, or opened where the survey could not tell enough. */
static void
begin_folder (TdSyncRunner *self)
{
  FolderRun *run = self->run;
  TdFolderEntry *entry = run->entry;
  TdPlannedFolder *folder = td_account_plan_find (self->plan, run->info->name);

  run->local = g_steal_pointer (&entry->local);
  run->point = entry->point;
  if (entry->survey != NULL && entry->survey->error != NULL)
    {
      td_sync_runner_end_folder (self, g_steal_pointer (&entry->survey->error));
      return;
    }
  if (folder == NULL || folder->plan == NULL || folder->kind == TD_FOLDER_PLAN_REMATCH)
    {
      open_folder (self);
      return;
    }
  run->state = entry->survey->state;
  carry_out (self, folder);
}

static gboolean
prepare_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  return td_sync_runner_plan_entry (self, self->run->entry, error);
}

static void
prepared (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = TD_SYNC_RUNNER (source);
  GError *error = NULL;

  if (!td_sync_runner_work_finish (result, &error))
    {
      td_sync_runner_end_folder (self, error);
      return;
    }
  begin_folder (self);
}

static void
td_sync_runner_next_folder (TdSyncRunner *self)
{
  GError *error = NULL;

  if (self->round_pending > 0)
    return;
  switch (td_sync_runner_resume_round (self, &error))
    {
    case TD_ROUND_BUSY:
      return;
    case TD_ROUND_FOLDER:
      td_sync_runner_end_folder (self, error);
      return;
    case TD_ROUND_FAILED:
      td_sync_runner_finish_account (self, error);
      return;
    case TD_ROUND_NONE:
      break;
    }
  if (td_sync_runner_round_due (self))
    {
      td_sync_runner_start_round (self);
      return;
    }
  if (self->next_folder >= self->entries->len)
    {
      td_sync_runner_finish_account (self, NULL);
      return;
    }
  FolderRun *run = g_new0 (FolderRun, 1);
  run->entry = g_ptr_array_index (self->entries, self->next_folder++);
  run->folder_index = self->next_folder;
  run->info = run->entry->info;
  run->report = td_sync_runner_add_report (self, run->info->name, run->info->delimiter);
  run->report->special = run->info->special;
  run->report->moved = run->entry->moved_in;
  run->to_fetch = g_array_new (FALSE, FALSE, sizeof (TdUidRange));
  self->run = run;
  /* A folder just created on the server, or about to be downloaded again. */
  for (guint i = 0; self->changes != NULL && i < self->changes->len; i++)
    {
      TdFolderChange *c = g_ptr_array_index (self->changes, i);
      if (g_str_equal (c->name, run->info->name))
        run->report->event = c->event;
    }
  if (run->entry->error != NULL)
    {
      td_sync_runner_end_folder (self, g_steal_pointer (&run->entry->error));
      return;
    }
  if (run->entry->unchanged)
    {
      run->report->unchanged = TRUE;
      td_sync_runner_end_folder (self, NULL);
      return;
    }
  if (run->entry->local != NULL)
    begin_folder (self);
  else
    td_sync_runner_work (self, prepare_work, NULL, prepared);
}

/* Storage */

static gboolean
open_storage_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  g_autofree char *db_path = g_build_filename (self->config->state_dir, "state.db", NULL);
  GError *e = NULL;

  self->db = td_state_db_open (db_path, &e);
  if (self->db == NULL
      || (self->maildir = td_maildir_open (self->account->maildir, self->account->inbox, &e))
           == NULL
      || !td_sync_runner_load_summaries (self, &e))
    {
      g_set_error (error, TD_ERROR, TD_ERROR_LOCAL_IO, "account %s: %s", self->account->name,
                   e->message);
      g_error_free (e);
      return FALSE;
    }
  return TRUE;
}


/* The reader's moves are done on the server: the folders' turns start. */
static void
moves_done (TdSyncRunner *self, GError *error)
{
  if (error != NULL)
    td_sync_runner_finish_account (self, error);
  else
    td_sync_runner_next_folder (self);
}

/* The account plan is made: the reader's moves go first. */
static void
account_planned (TdSyncRunner *self, GError *error)
{
  if (error != NULL)
    {
      td_sync_runner_finish_account (self, error);
      return;
    }
  self->phase_done = moves_done;
  td_sync_runner_moves (self);
}

/* Every folder that needed opening is open and surveyed: the account plan is made. */
static void
folders_surveyed (TdSyncRunner *self, GError *error)
{
  if (error != NULL)
    {
      td_sync_runner_finish_account (self, error);
      return;
    }
  self->phase_done = account_planned;
  td_sync_runner_plan (self);
}

/* The folders on one side only are settled: the survey of the others starts. */
static void
folders_reconciled (TdSyncRunner *self, GError *error)
{
  if (error != NULL)
    {
      td_sync_runner_finish_account (self, error);
      return;
    }
  self->phase_done = folders_surveyed;
  td_sync_runner_survey (self);
}

static void
storage_opened (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = TD_SYNC_RUNNER (source);
  GError *error = NULL;

  if (!td_sync_runner_work_finish (result, &error))
    {
      td_sync_runner_finish_account (self, error);
      return;
    }
  if (self->policy.download_only)
    {
      self->phase_done = td_sync_runner_finish_account;
      td_sync_runner_download_mailbox (self);
      return;
    }
  self->phase_done = folders_reconciled;
  td_sync_runner_reconcile_folders (self);
}

/* Folders */

static void
folders_listed (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = data;
  GError *error = NULL;
  GPtrArray *all = td_backend_list_folders_finish (TD_BACKEND (source), result, &error);

  if (all == NULL)
    {
      td_sync_runner_finish_account (self, error);
      return;
    }
  self->listing = all;
  if (!td_sync_runner_select_folders (self, &error))
    {
      td_sync_runner_finish_account (self, error);
      return;
    }
  /* The disk is touched only once the server has let us in. */
  td_sync_runner_work (self, open_storage_work, NULL, storage_opened);
}

static void
connected (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = data;
  GError *error = NULL;

  if (!td_credentials_log_in_finish (result, NULL, &error))
    {
      td_sync_runner_finish_account (self, error);
      return;
    }
  /* A backend knows what it can do once it is connected. */
  td_sync_policy_init (&self->policy, self->account, td_backend_get_caps (self->backend));
  td_backend_set_list_cutoff (self->backend, self->policy.pulls ? self->policy.not_before : 0);
  self->report->policy = self->policy;
  self->report->has_policy = TRUE;
  td_backend_list_folders_async (self->backend, self->cancellable, folders_listed, self);
}

/* The lock */

/* The holder wrote its pid into the lock file when it took the lock. */
static GError *
lock_error (TdSyncRunner *self)
{
  char buf[32] = "";
  ssize_t n = pread (self->lock_fd, buf, sizeof buf - 1, 0);
  guint64 pid = 0;

  if (n > 0)
    {
      buf[n] = '\0';
      pid = g_ascii_strtoull (buf, NULL, 10);
    }
  if (pid == 0 || pid > G_MAXINT32)
    return g_error_new (TD_ERROR, TD_ERROR_LOCKED, "account %s is being synced by another "
                        "Tidings process; try again when it has finished", self->account->name);
  return g_error_new (TD_ERROR, TD_ERROR_LOCKED, "account %s is being synced by another "
                      "Tidings process (pid %" G_GUINT64_FORMAT "); try again when it has "
                      "finished", self->account->name, pid);
}

static gboolean
try_lock (gpointer data)
{
  TdSyncRunner *self = data;

  if (flock (self->lock_fd, LOCK_EX | LOCK_NB) == 0)
    {
      g_autofree char *pid = g_strdup_printf ("%d\n", (int) getpid ());
      if (ftruncate (self->lock_fd, 0) == 0 && write (self->lock_fd, pid, strlen (pid)) < 0)
        g_debug ("cannot note the pid in the lock file");
      td_credentials_log_in_async (self->backend, self->cancellable, connected, self);
      return G_SOURCE_REMOVE;
    }
  if (g_get_monotonic_time () < self->lock_deadline)
    return G_SOURCE_CONTINUE;
  td_sync_runner_finish_account (self, lock_error (self));
  return G_SOURCE_REMOVE;
}

static void
take_lock (TdSyncRunner *self)
{
  g_autofree char *name = g_strconcat (self->account->name, ".lock", NULL);
  g_autofree char *path = g_build_filename (self->config->state_dir, name, NULL);

  if (g_mkdir_with_parents (self->config->state_dir, 0700) != 0
      || (self->lock_fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
    {
      td_sync_runner_finish_account (self, g_error_new (TD_ERROR, TD_ERROR_LOCAL_IO, "account %s: cannot open "
                                         "the lock file %s: %s", self->account->name, path,
                                         g_strerror (errno)));
      return;
    }
  self->lock_deadline = g_get_monotonic_time () + (gint64) self->options.lock_wait_ms * 1000;
  if (try_lock (self) == G_SOURCE_CONTINUE)
    g_timeout_add (LOCK_RETRY_MS, try_lock, self);
}

/* The end */

static void
complete (TdSyncRunner *self)
{
  GTask *task = g_steal_pointer (&self->task);

  g_clear_pointer (&self->db, td_state_db_close);
  g_clear_pointer (&self->maildir, td_maildir_free);
  if (self->lock_fd >= 0)
    close (self->lock_fd);
  self->lock_fd = -1;
  g_task_return_pointer (task, g_steal_pointer (&self->report),
                         (GDestroyNotify) td_account_report_free);
  g_object_unref (task);
}


static void
td_sync_runner_finish_account (TdSyncRunner *self, GError *error)
{
  /* A stop request shows as whatever the dropped connection caused first; it is a stop. */
  if (error != NULL && g_cancellable_is_cancelled (self->cancellable))
    {
      g_clear_error (&error);
      error = g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED, "account %s: stopped on request; "
                           "what was downloaded is kept. Run the sync again to finish",
                           self->account->name);
    }
  if (error != NULL)
    self->report->error = error;
  td_sync_runner_disconnect_all (self, complete);
}

/**
 * td_sync_runner_run_async:
 * @self: a runner
 * @cancellable: (nullable): a cancellable
 * @callback: called with the report
 * @user_data: data for @callback
 *
 * Syncs the account once. Never fails as such: failures are in the report.
 */
void
td_sync_runner_run_async (TdSyncRunner *self, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (self->task == NULL);
  self->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (self->task, td_sync_runner_run_async);
  /* A cancelled run still has a report to give (what was done before it stopped). */
  g_task_set_check_cancellable (self->task, FALSE);
  g_set_object (&self->cancellable, cancellable);
  self->report = g_new0 (TdAccountReport, 1);
  self->report->account = g_strdup (self->account->name);
  self->report->folders = g_ptr_array_new_with_free_func ((GDestroyNotify) folder_report_free);
  /* A missing plugin is found before anything touches the disk or the network. */
  GError *error = NULL;
  self->backend = td_plugin_registry_create_backend (self->registry, self->account, &error);
  if (self->backend == NULL)
    {
      td_sync_runner_finish_account (self, error);
      return;
    }
  take_lock (self);
}

/**
 * td_sync_runner_run_finish:
 * @self: a runner
 * @result: the result
 *
 * Returns: (transfer full): what happened, per folder
 */
TdAccountReport *
td_sync_runner_run_finish (TdSyncRunner *self, GAsyncResult *result)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), NULL);
}

static void
td_sync_runner_finalize (GObject *object)
{
  TdSyncRunner *self = TD_SYNC_RUNNER (object);

  g_clear_object (&self->backend);
  g_clear_pointer (&self->extras, g_ptr_array_unref);
  g_clear_pointer (&self->round_parts, g_ptr_array_unref);
  g_clear_object (&self->registry);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->entries, g_ptr_array_unref);
  g_clear_pointer (&self->plan, td_account_plan_free);
  g_clear_pointer (&self->parked, g_ptr_array_unref);
  g_clear_pointer (&self->round, g_ptr_array_unref);
  g_clear_pointer (&self->round_work, g_ptr_array_unref);
  g_clear_error (&self->round_error);
  g_clear_pointer (&self->pumps, g_ptr_array_unref);
  g_clear_handle_id (&self->pump_timer, g_source_remove);
  g_clear_pointer (&self->folders, g_ptr_array_unref);
  g_clear_pointer (&self->listing, g_ptr_array_unref);
  g_clear_pointer (&self->changes, g_ptr_array_unref);
  g_clear_pointer (&self->synced, g_hash_table_unref);
  g_clear_pointer (&self->download, td_download_run_free);
  g_clear_pointer (&self->account, td_account_config_unref);
  g_strfreev (self->options.folder_patterns);
  g_strfreev (self->options.folder_names);
  G_OBJECT_CLASS (td_sync_runner_parent_class)->finalize (object);
}

static void
td_sync_runner_class_init (TdSyncRunnerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = td_sync_runner_finalize;
}

static void
td_sync_runner_init (TdSyncRunner *self)
{
  self->lock_fd = -1;
  self->pumps = g_ptr_array_new ();
  self->parked = g_ptr_array_new_with_free_func ((GDestroyNotify) td_folder_run_free);
  self->round_back = td_sync_runner_next_folder;
  self->extras = g_ptr_array_new_with_free_func (g_object_unref);
}

/**
 * td_sync_runner_new:
 * @config: the configuration; must outlive the runner
 * @account: the account to sync
 * @registry: where backends come from
 * @options: (nullable): what to sync and how to report progress
 *
 * Returns: (transfer full): a runner
 */
TdSyncRunner *
td_sync_runner_new (TdConfig *config, TdAccountConfig *account, TdPluginRegistry *registry,
                    const TdSyncOptions *options)
{
  TdSyncRunner *self = g_object_new (TD_TYPE_SYNC_RUNNER, NULL);

  self->config = config;
  self->account = td_account_config_ref (account);
  self->registry = g_object_ref (registry);
  self->options.lock_wait_ms = 2000;
  if (options != NULL)
    {
      self->options = *options;
      self->options.folder_patterns = g_strdupv (options->folder_patterns);
      self->options.folder_names = g_strdupv (options->folder_names);
    }
  return self;
}
