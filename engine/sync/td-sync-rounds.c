/* td-sync-rounds.c: the sync runner's rounds. A folder whose plan asks of the server at
 * most flags stored and messages downloaded (or nothing at all) waits, parked, while the
 * next folders are taken up; then all parked folders' work goes to the server in one
 * pipelined round (td_backend_work_folders_async), spread over the account's connections
 * where it downloads a lot, the downloads made durable together as they come, and the
 * folders' side here and sync points recorded in one transaction. Parked folders hold their
 * rows, so a round takes at most TD_ROUND_MAX_FOLDERS folders or TD_RUN_MAX_ROWS rows.
 *
 * The runner parks folders and asks whether a round is due; the round hands back through
 * the runner's round_back, and td_sync_runner_resume_round() then gives its folders back
 * one at a time. Nothing here calls up into the runner. Main loop thread, but for the
 * recording worker.
 */
#include "engine/sync/td-sync-runner-private.h"

#include "engine/common/td-error.h"

/* What one round of folders may hold: folders (and rows, TD_RUN_MAX_ROWS). */
#define TD_ROUND_MAX_FOLDERS 100
/* A round spreads over more connections (the account's `connections`) when at least two
 * of its folders download and all of them together at least this much: below it, the
 * logins (connect, TLS, LOGIN, LIST: five or six round trips) cost more than they save. At
 * 4 MB the bench's 100-folder round took 21 round trips instead of 9 and 1.04 s instead of
 * 0.85 through a 25 ms link. A message counts TD_MESSAGE_LOAD bytes on top of its size, for
 * the commands and the file it costs. */
#define TD_PARALLEL_MIN_LOAD (16 * 1024 * 1024)
#define TD_MESSAGE_LOAD 2048

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

/* One connection's share of a round. */
typedef struct
{
  TdSyncRunner *self;
  TdBackend *backend;    /* borrowed from the runner */
  gboolean extra;        /* not the run's first connection */
  GPtrArray *runs;       /* borrowed FolderRun */
  GPtrArray *work;       /* TdFolderWork of @runs, borrowed from round_work */
  guint64 load;          /* what it downloads: bytes, and a little for each message */
} RoundPart;

static void
round_part_free (RoundPart *part)
{
  g_ptr_array_unref (part->runs);
  g_ptr_array_unref (part->work);
  g_free (part);
}

/* An extra connection that failed takes only its own folders down with it; whatever came
 * down whole on it is kept. A stop request is a stop, wherever it shows first. */
static GError *
lost_on_extra (TdSyncRunner *self, FolderRun *run, const GError *lost)
{
  return g_error_new (TD_ERROR, TD_ERROR_FOLDER, "account %s, folder %s: one of the extra "
                      "connections to the server failed (%s); what came down whole is kept. "
                      "Run the sync again to finish", self->account->name, run->report->name,
                      lost->message);
}

static void
round_worked (GObject *source, GAsyncResult *result, gpointer data)
{
  RoundPart *part = data;
  TdSyncRunner *self = part->self;
  g_autoptr (GError) lost = NULL;
  GError *error = NULL;

  if (!td_backend_work_folders_finish (TD_BACKEND (source), result, &error))
    {
      if (!part->extra || g_cancellable_is_cancelled (self->cancellable))
        {
          if (self->round_error == NULL)
            self->round_error = g_steal_pointer (&error);
          g_clear_error (&error);
        }
      else
        {
          lost = error;
          td_sync_runner_drop_connection (self, part->backend);
        }
    }
  /* The backend's call still holds the round while the pumps are told. */
  for (guint i = 0; i < part->runs->len; i++)
    {
      FolderRun *run = g_ptr_array_index (part->runs, i);
      TdFolderWork *w = g_ptr_array_index (part->work, i);
      run->work_error = g_steal_pointer (&w->error);
      if (run->work_error == NULL && lost != NULL)
        run->work_error = lost_on_extra (self, run, lost);
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
  run->report->too_big = run->plan->too_big;
  run->report->too_old = run->plan->too_old;
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

/* What a folder of the round downloads, as a connection's load. */
static guint64
load_of (TdSyncRunner *self, const FolderRun *run)
{
  if (!self->policy.pulls)
    return 0;
  return run->plan->download_bytes + (guint64) run->plan->download_count * TD_MESSAGE_LOAD;
}

static int
heavier_first (gconstpointer a, gconstpointer b, gpointer data)
{
  guint64 x = load_of (data, *(FolderRun *const *) a), y = load_of (data, *(FolderRun *const *) b);
  return x > y ? -1 : x < y;
}

/* Whether the parked folders download enough for more connections to pay their logins. */
static gboolean
wants_connections (TdSyncRunner *self)
{
  guint64 load = 0;
  guint downloading = 0;

  if (self->extras_tried || self->account->connections <= 1)
    return FALSE;
  for (guint i = 0; i < self->parked->len; i++)
    {
      guint64 l = load_of (self, g_ptr_array_index (self->parked, i));
      load += l;
      downloading += l > 0;
    }
  return downloading > 1 && load >= TD_PARALLEL_MIN_LOAD;
}

static RoundPart *
part_new (TdSyncRunner *self, TdBackend *backend, gboolean extra)
{
  RoundPart *part = g_new0 (RoundPart, 1);
  part->self = self;
  part->backend = backend;
  part->extra = extra;
  part->runs = g_ptr_array_new ();
  part->work = g_ptr_array_new ();
  return part;
}

/* Each downloading folder goes to the connection with the least to do so far, heaviest
 * first; the rest stay on the first, and a folder with nothing for the server goes to
 * none. Each connection takes its folders in the run's order. */
static void
split_round (TdSyncRunner *self)
{
  g_autoptr (GPtrArray) by_load = g_ptr_array_sized_new (self->round->len);
  g_autoptr (GHashTable) where = g_hash_table_new (g_direct_hash, g_direct_equal);

  self->round_parts = g_ptr_array_new_with_free_func ((GDestroyNotify) round_part_free);
  g_ptr_array_add (self->round_parts, part_new (self, self->backend, FALSE));
  for (guint i = 0; i < self->extras->len; i++)
    g_ptr_array_add (self->round_parts, part_new (self, g_ptr_array_index (self->extras, i),
                                                  TRUE));
  for (guint i = 0; i < self->round->len; i++)
    g_ptr_array_add (by_load, g_ptr_array_index (self->round, i));
  g_ptr_array_sort_with_data (by_load, heavier_first, self);
  for (guint i = 0; i < by_load->len; i++)
    {
      FolderRun *run = g_ptr_array_index (by_load, i);
      guint64 load = load_of (self, run);
      RoundPart *least = g_ptr_array_index (self->round_parts, 0);
      for (guint k = 1; load > 0 && k < self->round_parts->len; k++)
        if (((RoundPart *) g_ptr_array_index (self->round_parts, k))->load < least->load)
          least = g_ptr_array_index (self->round_parts, k);
      least->load += load;
      g_hash_table_insert (where, run, least);
    }
  for (guint i = 0; i < self->round->len; i++)
    {
      FolderRun *run = g_ptr_array_index (self->round, i);
      TdFolderWork *w = g_ptr_array_index (self->round_work, i);
      RoundPart *part = g_hash_table_lookup (where, run);
      if (w->stores == NULL && w->uids == NULL)
        continue; /* only its side here is recorded */
      g_ptr_array_add (part->runs, run);
      g_ptr_array_add (part->work, w);
    }
}

static void
send_round (TdSyncRunner *self)
{
  self->round = g_steal_pointer (&self->parked);
  self->parked = g_ptr_array_new_with_free_func ((GDestroyNotify) td_folder_run_free);
  self->parked_rows = 0;
  self->round_next = 0;
  self->round_recorded = FALSE;
  self->round_work = g_ptr_array_new_with_free_func ((GDestroyNotify) td_folder_work_free);
  self->round_pending = 1; /* a hold while the parts go out */
  for (guint i = 0; i < self->round->len; i++)
    g_ptr_array_add (self->round_work, round_work_for (self, g_ptr_array_index (self->round, i)));
  split_round (self);
  for (guint i = 0; i < self->round_parts->len; i++)
    {
      RoundPart *part = g_ptr_array_index (self->round_parts, i);
      if (part->runs->len == 0)
        continue;
      self->round_pending++;
      td_backend_work_folders_async (part->backend, part->work, self->cancellable, round_worked,
                                     part);
    }
  round_pump_done (self, NULL, NULL);
}

/* Sends the parked folders' work in one round, spread over more connections where it
 * downloads enough; hands back through round_back once every connection is done and every
 * download is durable. */
void
td_sync_runner_start_round (TdSyncRunner *self)
{
  g_clear_pointer (&self->round_parts, g_ptr_array_unref);
  g_clear_pointer (&self->round_work, g_ptr_array_unref);
  if (wants_connections (self))
    td_sync_runner_add_connections (self, send_round);
  else
    send_round (self);
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
                          run->plan->remove_here, &run->state, run->plan->left_new,
                          run->plan->left_gone };
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
      g_clear_pointer (&self->round_parts, g_ptr_array_unref);
      g_clear_pointer (&self->round_work, g_ptr_array_unref);
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
