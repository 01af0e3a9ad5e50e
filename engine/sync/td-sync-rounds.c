/* td-sync-rounds.c: the sync runner's rounds. A folder whose plan asks of the server only
 * flags stored and messages downloaded waits, parked, while the next folders are taken up;
 * then all parked folders' work goes to the server in one pipelined round
 * (td_backend_work_folders_async), the downloads made durable together as they come, and
 * the folders' side here and sync points recorded in one transaction. Parked folders hold
 * their rows, so a round takes at most TD_ROUND_MAX_FOLDERS folders or TD_RUN_MAX_ROWS rows.
 *
 * The runner parks folders and asks whether a round is due; the round hands back through
 * the runner's round_back, and td_sync_runner_resume_round() then gives its folders back
 * one at a time. Nothing here calls up into the runner. Main loop thread, but for the
 * recording worker.
 */
#include "engine/sync/td-sync-runner-private.h"

/* What one round of folders may hold: folders (and rows, TD_RUN_MAX_ROWS). */
#define TD_ROUND_MAX_FOLDERS 100

/**
 * td_sync_runner_joins_round:
 * @self: a runner
 * @plan: a folder's plan
 *
 * Returns: whether carrying @plan out can wait for a round: it sends no deletions or uploads
 */
gboolean
td_sync_runner_joins_round (TdSyncRunner *self, const TdFolderPlan *plan)
{
  return plan->deletions_there->len == 0 && !(self->policy.uploads && plan->uploads > 0);
}

/* Takes the current folder off the runner until its round; the runner goes on with the
 * next folder. */
void
td_sync_runner_park (TdSyncRunner *self)
{
  FolderRun *run = g_steal_pointer (&self->run);

  self->parked_rows += td_local_folder_get_side (run->local)->messages->len;
  g_ptr_array_add (self->parked, run);
}

/* Whether the parked folders' round should go now: every folder is taken up, or the round
 * is full. */
gboolean
td_sync_runner_round_due (TdSyncRunner *self)
{
  return self->parked->len > 0
         && (self->next_folder >= self->entries->len || self->parked->len >= TD_ROUND_MAX_FOLDERS
             || self->parked_rows >= TD_RUN_MAX_ROWS);
}

/* A round's download is durable (or failed); with @pump NULL, the round's own hold ends. */
static void
round_pump_done (TdSyncRunner *self, TdFetchPump *pump, GError *error)
{
  FolderRun *run = pump != NULL ? pump->owner : NULL;

  if (error != NULL && run != NULL && run->work_error == NULL)
    run->work_error = error;
  else
    g_clear_error (&error);
  if (--self->round_pending == 0)
    self->round_back (self);
}

static void
round_worked (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = data;
  g_autoptr (GPtrArray) work = g_steal_pointer (&self->round_work);
  GError *error = NULL;

  if (!td_backend_work_folders_finish (TD_BACKEND (source), result, &error))
    self->round_error = error;
  /* The backend's call still holds the round while the pumps are told. */
  for (guint i = 0; i < self->round->len; i++)
    {
      FolderRun *run = g_ptr_array_index (self->round, i);
      TdFolderWork *w = g_ptr_array_index (work, i);
      run->work_error = g_steal_pointer (&w->error);
      if (run->pump.sink != NULL)
        td_sync_runner_pump_fetched (self, &run->pump,
                                     run->work_error ? g_error_copy (run->work_error) : NULL);
    }
  round_pump_done (self, NULL, NULL);
}

static TdFolderWork *
round_work_for (TdSyncRunner *self, FolderRun *run)
{
  TdFolderWork *w = td_folder_work_new (run->info->name, !self->policy.pushes,
                                        run->state.uidvalidity);
  if (run->plan->stores->len > 0)
    w->stores = g_ptr_array_ref (run->plan->stores);
  run->report->kept = run->plan->kept;
  if (!self->policy.pulls || run->plan->download_count == 0)
    return w;
  w->uids = g_array_ref (run->plan->downloads);
  run->pump.owner = run;
  run->pump.report = run->report;
  run->pump.commit = td_sync_runner_commit_runs;
  run->pump.done = round_pump_done;
  run->pump.bytes_total = run->plan->download_bytes;
  run->pump.folder_index = run->folder_index;
  w->sink = g_object_ref (td_sync_runner_start_pump (self, &run->pump,
                                                     td_local_folder_get_maildir_folder (run->local),
                                                     w->uids));
  self->round_pending++;
  return w;
}

/* Sends the parked folders' work in one round; hands back through round_back once the
 * backend is done and every download is durable. */
void
td_sync_runner_start_round (TdSyncRunner *self)
{
  self->round = g_steal_pointer (&self->parked);
  self->parked = g_ptr_array_new_with_free_func ((GDestroyNotify) td_folder_run_free);
  self->parked_rows = 0;
  self->round_next = 0;
  self->round_recorded = FALSE;
  self->round_work = g_ptr_array_new_with_free_func ((GDestroyNotify) td_folder_work_free);
  self->round_pending = 1; /* the backend's call */
  for (guint i = 0; i < self->round->len; i++)
    g_ptr_array_add (self->round_work, round_work_for (self, g_ptr_array_index (self->round, i)));
  td_backend_work_folders_async (self->backend, self->round_work, self->cancellable,
                                 round_worked, self);
}

/* The round's folders that did their work: their side here and their sync points, in one
 * transaction (a round has no deletions or uploads to send, so nothing else is left). */
static GArray *
round_finishes (TdSyncRunner *self)
{
  GArray *finishes = g_array_new (FALSE, TRUE, sizeof (TdLocalFinish));

  for (guint i = 0; i < self->round->len; i++)
    {
      FolderRun *run = g_ptr_array_index (self->round, i);
      if (run->work_error != NULL)
        continue;
      TdLocalFinish f = { run->local, run->plan->flags, run->plan->removals,
                          run->plan->remove_here, &run->state };
      g_array_append_val (finishes, f);
    }
  return finishes;
}

static gboolean
finish_round_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  GArray *finishes = arg;
  return td_local_folder_finish_many ((TdLocalFinish *) (void *) finishes->data, finishes->len,
                                      error);
}

static void
round_finished (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = TD_SYNC_RUNNER (source);
  g_autoptr (GArray) finishes = data;
  GError *error = NULL;

  if (!td_sync_runner_work_finish (result, &error))
    {
      self->round_error = error;
      self->round_back (self);
      return;
    }
  for (guint i = 0, k = 0; i < self->round->len; i++)
    {
      FolderRun *run = g_ptr_array_index (self->round, i);
      if (run->work_error != NULL)
        continue;
      const TdLocalFinish *f = &g_array_index (finishes, TdLocalFinish, k++);
      run->report->flags_changed = f->flags_changed;
      run->report->removed = f->removed;
      if (run->plan->stores->len > 0)
        run->report->flags_pushed = run->plan->flags_there;
    }
  self->round_recorded = TRUE;
  self->round_back (self);
}

/**
 * td_sync_runner_resume_round:
 * @self: a runner whose round (if any) is back, every download durable
 * @error: with %TD_ROUND_FOLDER, what failed that folder (nullable); with %TD_ROUND_FAILED,
 *   what ends the account
 *
 * Goes on with the round: the folders that did their work are recorded together (then the
 * round hands back again), then each folder is given back in turn as the runner's current
 * one, for the runner to end.
 *
 * Returns: what the runner does next
 */
TdRoundStep
td_sync_runner_resume_round (TdSyncRunner *self, GError **error)
{
  if (self->round == NULL)
    return TD_ROUND_NONE;
  if (self->round_error != NULL)
    {
      g_clear_pointer (&self->round, g_ptr_array_unref);
      g_propagate_error (error, g_steal_pointer (&self->round_error));
      return TD_ROUND_FAILED;
    }
  if (!self->round_recorded)
    {
      GArray *finishes = round_finishes (self);
      td_sync_runner_work (self, finish_round_work, finishes, round_finished);
      return TD_ROUND_BUSY;
    }
  if (self->round_next >= self->round->len)
    {
      g_clear_pointer (&self->round, g_ptr_array_unref);
      return TD_ROUND_NONE;
    }
  FolderRun *run = g_ptr_array_index (self->round, self->round_next);
  g_ptr_array_index (self->round, self->round_next++) = NULL;
  self->run = run;
  if (run->work_error != NULL)
    g_propagate_error (error, g_steal_pointer (&run->work_error));
  return TD_ROUND_FOLDER;
}
