/* td-sync-moves.c: the runner's move phase: messages a mail reader moved between folders go
 * to their new folder on the server by a move, not by an upload and a deletion.
 *
 * Runs once the account plan is made and before any folder's turn. The pairs come from the
 * plans (td-move-plan.h): a deletion the plan would send in one folder and a new file in
 * another with the same Message-ID and size. Then, in the order that keeps a kill at any
 * instant harmless: the intent rows in the folders the messages go to (td-local-push.c),
 * the moves on the server, folder by folder, and the records of what the server did. The
 * folders involved are then planned again at their turn, from their rows as they are now;
 * a move the server refused is left to that turn, where it is the upload and the deletion
 * it would have been. Main loop thread, its disk work in the runner's worker.
 */
#include "engine/sync/td-sync-runner-private.h"

#include "engine/common/td-error.h"
#include "engine/sync/td-move-plan.h"

/* The moves from one folder to one other (or, with @from == @to, files renamed in one). */
typedef struct
{
  guint from;        /* index in the runner's entries */
  guint to;
  GArray *moves;     /* TdLocalMove, by ascending UID */
  GArray *pairs;     /* TdUidMove: the new UIDs the server told */
  gboolean expunged;
  gboolean done;     /* the server carried the moves out */
} MoveGroup;

typedef struct
{
  TdSyncRunner *self;
  GPtrArray *groups; /* MoveGroup, by source folder */
  guint next;        /* the next group to send */
  gint open_from;    /* the entry whose folder the backend has open, or -1 */
  GError *error;     /* what ends the run, once what was done is recorded */
} MovesRun;

static void
move_group_free (MoveGroup *g)
{
  g_array_unref (g->moves);
  g_clear_pointer (&g->pairs, g_array_unref);
  g_free (g);
}

static void
moves_run_free (MovesRun *m)
{
  g_ptr_array_unref (m->groups);
  g_clear_error (&m->error);
  g_free (m);
}

/* The plan of @entry when moves may touch it: planned from the survey, not stopped. */
static const TdFolderPlan *
movable_plan (TdSyncRunner *self, TdFolderEntry *entry)
{
  TdPlannedFolder *folder;

  if (entry->error != NULL || entry->local == NULL || entry->survey == NULL
      || entry->survey->error != NULL
      || (folder = td_account_plan_find (self->plan, entry->info->name)) == NULL
      || folder->plan == NULL || folder->plan->stop != NULL
      || folder->kind == TD_FOLDER_PLAN_REMATCH)
    return NULL;
  return folder->plan;
}

/* The messages the plans would delete on the server that a move could take instead. */
static GArray *
find_sources (TdSyncRunner *self)
{
  GArray *sources = g_array_new (FALSE, FALSE, sizeof (TdMoveSource));

  for (guint i = 0; i < self->entries->len; i++)
    {
      TdFolderEntry *entry = g_ptr_array_index (self->entries, i);
      const TdFolderPlan *plan = movable_plan (self, entry);
      if (plan == NULL)
        continue;
      const TdLocalSide *side = td_local_folder_get_side (entry->local);
      for (guint r = 0; r < plan->deletions_there->len; r++)
        {
          const TdUidRange *range = &g_array_index (plan->deletions_there, TdUidRange, r);
          for (guint32 uid = range->first; uid >= range->first && uid <= range->last; uid++)
            {
              const TdStateMessage *row = td_local_side_find (side, uid, NULL);
              if (row == NULL || row->message_id == NULL)
                continue;
              TdMoveSource s = { i, uid, row->base, row->message_id, row->size };
              g_array_append_val (sources, s);
            }
        }
    }
  return sources;
}

/* The new files of the folders that would upload them; @ids keeps their Message-IDs. */
static GArray *
find_arrivals (TdSyncRunner *self, GPtrArray *ids)
{
  GArray *arrivals = g_array_new (FALSE, FALSE, sizeof (TdMoveArrival));

  for (guint i = 0; i < self->entries->len; i++)
    {
      TdFolderEntry *entry = g_ptr_array_index (self->entries, i);
      const TdFolderPlan *plan = movable_plan (self, entry);
      if (plan == NULL || plan->uploads == 0)
        continue;
      const TdLocalSide *side = td_local_folder_get_side (entry->local);
      for (guint k = 0; side->new_files != NULL && k < side->new_files->len; k++)
        {
          const char *base = g_ptr_array_index (side->new_files, k);
          char *message_id = NULL;
          guint64 size = 0;
          if (!td_local_folder_identify (entry->local, base, &message_id, &size, NULL))
            continue;
          g_ptr_array_add (ids, message_id);
          TdMoveArrival a = { i, base, message_id, size };
          g_array_append_val (arrivals, a);
        }
    }
  return arrivals;
}

static MoveGroup *
group_for (GPtrArray *groups, guint from, guint to)
{
  for (guint i = 0; i < groups->len; i++)
    {
      MoveGroup *g = g_ptr_array_index (groups, i);
      if (g->from == from && g->to == to)
        return g;
    }
  MoveGroup *g = g_new0 (MoveGroup, 1);
  g->from = from;
  g->to = to;
  g->moves = g_array_new (FALSE, FALSE, sizeof (TdLocalMove));
  g_array_set_clear_func (g->moves, (GDestroyNotify) td_local_move_clear);
  g_ptr_array_add (groups, g);
  return g;
}

static int
compare_groups (gconstpointer a, gconstpointer b)
{
  const MoveGroup *x = *(MoveGroup *const *) a, *y = *(MoveGroup *const *) b;
  if (x->from != y->from)
    return x->from < y->from ? -1 : 1;
  return x->to < y->to ? -1 : x->to > y->to;
}

/* Pairs what left a folder with what came into one, and writes what must be durable before
 * the server is asked: the intent rows of the moves, the new names of renamed files. */
static gboolean
find_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  MovesRun *m = arg;
  g_autoptr (GArray) sources = find_sources (self);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);

  if (sources->len == 0)
    return TRUE;
  g_autoptr (GArray) arrivals = find_arrivals (self, ids);
  g_autoptr (GArray) pairs = td_move_plan_pair (sources, arrivals);
  for (guint i = 0; i < pairs->len; i++)
    {
      const TdMovePair *p = &g_array_index (pairs, TdMovePair, i);
      const TdMoveSource *s = &g_array_index (sources, TdMoveSource, p->source);
      const TdMoveArrival *a = &g_array_index (arrivals, TdMoveArrival, p->arrival);
      TdFolderEntry *from = g_ptr_array_index (self->entries, s->folder);
      const TdStateMessage *row = td_local_side_find (td_local_folder_get_side (from->local),
                                                      s->uid, NULL);
      TdLocalMove move = { s->uid, g_strdup (a->base), g_strdup (s->message_id), s->size,
                           row->flags };
      g_array_append_val (group_for (m->groups, s->folder, a->folder)->moves, move);
    }
  g_ptr_array_sort (m->groups, compare_groups);
  for (guint i = 0; i < m->groups->len; i++)
    {
      MoveGroup *g = g_ptr_array_index (m->groups, i);
      TdFolderEntry *to = g_ptr_array_index (self->entries, g->to);
      gboolean ok = g->from == g->to
                      ? td_local_folder_rename_rows (to->local, g->moves, error)
                      : td_local_folder_begin_moves (to->local, g->moves, &to->survey->state,
                                                     error);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

/* Records what the server did, one transaction per pair of folders. */
static gboolean
record_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  MovesRun *m = arg;

  for (guint i = 0; i < m->groups->len; i++)
    {
      MoveGroup *g = g_ptr_array_index (m->groups, i);
      TdFolderEntry *from = g_ptr_array_index (self->entries, g->from);
      TdFolderEntry *to = g_ptr_array_index (self->entries, g->to);
      guint recorded = 0;
      if (!g->done)
        continue;
      if (!td_local_folder_finish_moves (from->local, to->local, g->moves, g->pairs,
                                         g->expunged, &recorded, error))
        return FALSE;
      to->moved_in += recorded; /* the others count when their turn finds them */
      g_debug ("account %s: %u messages moved from %s to %s, %u with their new UID",
               self->account->name, g->moves->len, from->info->name, to->info->name, recorded);
    }
  return TRUE;
}

/* The folders moves touched are planned again at their turn, opened afresh. */
static void
replan (TdSyncRunner *self, MovesRun *m)
{
  for (guint i = 0; i < m->groups->len; i++)
    {
      MoveGroup *g = g_ptr_array_index (m->groups, i);
      guint ends[] = { g->from, g->to };
      for (guint k = 0; k < G_N_ELEMENTS (ends); k++)
        {
          TdFolderEntry *entry = g_ptr_array_index (self->entries, ends[k]);
          TdFolderInput later = { .name = entry->info->name };
          if (entry->local == NULL)
            continue;
          g_clear_pointer (&entry->local, td_local_folder_free);
          g_clear_pointer (&entry->survey, td_folder_survey_free);
          entry->surveyed = FALSE;
          td_account_plan_add (self->plan, td_planned_folder_new (&self->policy,
                                                                  self->options.force, &later));
        }
    }
}

static void
recorded (GObject *source, GAsyncResult *result, gpointer data)
{
  MovesRun *m = data;
  TdSyncRunner *self = m->self;
  GError *error = NULL;

  if (!td_sync_runner_work_finish (result, &error) && m->error == NULL)
    m->error = error;
  else
    g_clear_error (&error);
  replan (self, m);
  error = g_steal_pointer (&m->error);
  moves_run_free (m);
  self->phase_done (self, error);
}

static void send_next (MovesRun *m);

/* A failure of one folder leaves its moves to the folders' turns, where they are the upload
 * and the deletion they would have been; any other ends the run, once what the server did
 * is recorded. */
static void
move_failed (MovesRun *m, MoveGroup *g, GError *error)
{
  TdSyncRunner *self = m->self;
  TdFolderEntry *from = g_ptr_array_index (self->entries, g->from);

  m->open_from = -1;
  if (!g_error_matches (error, TD_ERROR, TD_ERROR_FOLDER))
    {
      m->error = error;
      m->next = m->groups->len;
      send_next (m);
      return;
    }
  g_message ("account %s, folder %s: messages moved out of it here could not be moved on the "
             "server (%s); they are uploaded to their new folder instead",
             self->account->name, from->info->name, error->message);
  g_error_free (error);
  send_next (m);
}

static void
group_moved (GObject *source, GAsyncResult *result, gpointer data)
{
  MovesRun *m = data;
  MoveGroup *g = g_ptr_array_index (m->groups, m->next - 1);
  GError *error = NULL;

  g->pairs = td_backend_move_finish (TD_BACKEND (source), result, &g->expunged, &error);
  if (g->pairs == NULL)
    {
      move_failed (m, g, error);
      return;
    }
  g->done = TRUE;
  send_next (m);
}

static void
send_group (MovesRun *m)
{
  TdSyncRunner *self = m->self;
  MoveGroup *g = g_ptr_array_index (m->groups, m->next - 1);
  TdFolderEntry *to = g_ptr_array_index (self->entries, g->to);
  g_autoptr (GArray) uids = g_array_new (FALSE, FALSE, sizeof (TdUidRange));

  for (guint i = 0; i < g->moves->len; i++)
    td_uid_set_add (uids, g_array_index (g->moves, TdLocalMove, i).uid);
  td_uid_set_normalize (uids);
  td_backend_move_async (self->backend, uids, to->info->name, self->cancellable, group_moved,
                         m);
}

static void
source_opened (GObject *source, GAsyncResult *result, gpointer data)
{
  MovesRun *m = data;
  MoveGroup *g = g_ptr_array_index (m->groups, m->next - 1);
  TdFolderEntry *from = g_ptr_array_index (m->self->entries, g->from);
  TdFolderState state;
  GError *error = NULL;

  if (!td_backend_open_folder_finish (TD_BACKEND (source), result, &state, &error))
    {
      move_failed (m, g, error);
      return;
    }
  /* Renumbered since the survey: the UIDs would name other messages. */
  if (state.uidvalidity != from->point.uidvalidity)
    {
      move_failed (m, g, td_folder_work_renumbered (from->info->name));
      return;
    }
  m->open_from = (gint) g->from;
  send_group (m);
}

/* Sends the next group of moves, opening its source folder first where it is not open; after
 * the last, records what was done. */
static void
send_next (MovesRun *m)
{
  TdSyncRunner *self = m->self;

  while (m->next < m->groups->len)
    {
      MoveGroup *g = g_ptr_array_index (m->groups, m->next++);
      TdFolderEntry *from = g_ptr_array_index (self->entries, g->from);
      if (g->from == g->to)
        continue; /* renamed in the folder: nothing to send */
      if (m->open_from == (gint) g->from)
        {
          send_group (m);
          return;
        }
      td_backend_open_folder_async (self->backend, from->info->name, FALSE, &from->point,
                                    self->cancellable, source_opened, m);
      return;
    }
  td_sync_runner_work (self, record_work, m, recorded);
}

static void
found (GObject *source, GAsyncResult *result, gpointer data)
{
  MovesRun *m = data;
  TdSyncRunner *self = m->self;

  if (!td_sync_runner_work_finish (result, &m->error))
    {
      /* Nothing was sent: the intent rows written, if any, are settled at their turn. */
      g_ptr_array_set_size (m->groups, 0);
      td_sync_runner_work (self, record_work, m, recorded);
      return;
    }
  send_next (m);
}

/**
 * td_sync_runner_moves:
 * @self: a runner whose account plan is made
 *
 * Carries out the moves a mail reader made between folders (see the top of this file);
 * hands back through the runner's phase_done.
 */
void
td_sync_runner_moves (TdSyncRunner *self)
{
  MovesRun *m;

  if (self->options.dry_run || !self->policy.uploads || !self->policy.deletes_there
      || !(td_backend_get_caps (self->backend) & TD_BACKEND_CAP_MOVE))
    {
      self->phase_done (self, NULL);
      return;
    }
  m = g_new0 (MovesRun, 1);
  m->self = self;
  m->groups = g_ptr_array_new_with_free_func ((GDestroyNotify) move_group_free);
  m->open_from = -1;
  td_sync_runner_work (self, find_work, m, found);
}
