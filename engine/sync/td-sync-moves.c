/* td-sync-moves.c: the runner's move phase: messages a mail reader moved between folders go
 * to their new folder on the server by a move, not by an upload and a deletion; messages the
 * server moved are renamed here, not downloaded again.
 *
 * Runs once the account plan is made and before any folder's turn. The pairs come from the
 * plans (td-move-plan.h): a deletion the plan would send in one folder and a new file in
 * another with the same Message-ID and size. Then, in the order that keeps a kill at any
 * instant harmless: the intent rows in the folders the messages go to (td-local-push.c),
 * the moves on the server, folder by folder, and the records of what the server did. The
 * folders involved are then planned again at their turn, from their rows as they are now;
 * a move the server refused is left to that turn, where it is the upload and the deletion
 * it would have been.
 *
 * The server's moves: a message a folder's plan would remove here (the server no longer has
 * it, its file is still here) and one another folder's plan would download, of the same size,
 * are listed with their Message-IDs, and EMAILIDs where the server has OBJECTID (one listing
 * per folder with such a candidate); where the EMAILIDs are equal, or (without them)
 * Message-ID and size agree and nothing else shares them, the file is renamed into the new
 * folder (td_local_folder_take_moved()). Main loop thread, its disk work in the runner's
 * worker.
 */
#include "engine/sync/td-sync-runner-private.h"

#include "engine/common/td-error.h"
#include "engine/sync/td-move-plan.h"

/* The moves from one folder to one other: the reader's (or, with @from == @to, files renamed
 * in one), or the server's. */
typedef struct
{
  guint from;        /* index in the runner's entries */
  guint to;
  GArray *moves;     /* TdLocalMove, by ascending UID; TdServerMove for the server's */
  GArray *pairs;     /* TdUidMove: the new UIDs the server told */
  gboolean expunged;
  gboolean done;     /* the server carried the moves out */
} MoveGroup;

/* A message new in a folder that may be one the server moved there. */
typedef struct
{
  guint folder;      /* index in the runner's entries */
  guint32 uid;
  TdFlags flags;
  guint64 size;
  char *message_id;  /* nullable when @email_id is set */
  char *email_id;
} Candidate;

/* A folder whose new messages are listed for their Message-IDs, from @first on. */
typedef struct
{
  guint folder;
  guint32 first;
} Listing;

typedef struct
{
  TdSyncRunner *self;
  GPtrArray *groups; /* MoveGroup, by source folder */
  GArray *gone;      /* TdMoveSource: what the server moved out of a folder, maybe */
  GArray *listings;  /* Listing */
  guint next_listing;
  GArray *candidates; /* Candidate: what the listings found */
  GPtrArray *taken;  /* MoveGroup of TdServerMove: the server's moves, once paired */
  gboolean reader_moves; /* the reader's moves go to the server as moves */
  gboolean server_moves; /* the server's moves are renamed here */
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
candidate_clear (Candidate *c)
{
  g_free (c->message_id);
  g_free (c->email_id);
}

static void
moves_run_free (MovesRun *m)
{
  g_ptr_array_unref (m->groups);
  g_array_unref (m->gone);
  g_array_unref (m->listings);
  g_array_unref (m->candidates);
  g_ptr_array_unref (m->taken);
  g_clear_error (&m->error);
  g_free (m);
}

/* The plan of @entry when moves may touch it: planned from the survey and, unless
 * @stopped_ok, not stopped by a deletion guard. Messages may move out of a folder a guard
 * stopped: archiving a whole folder is a move, not a loss, and once the moves are done the
 * folder is planned again, its guard judging only the deletions left. */
static const TdFolderPlan *
movable_plan (TdSyncRunner *self, TdFolderEntry *entry, gboolean stopped_ok)
{
  TdPlannedFolder *folder;

  if (entry->error != NULL || entry->local == NULL || entry->survey == NULL
      || entry->survey->error != NULL
      || (folder = td_account_plan_find (self->plan, entry->info->name)) == NULL
      || folder->plan == NULL || (folder->plan->stop != NULL && !stopped_ok)
      || folder->kind == TD_FOLDER_PLAN_REMATCH)
    return NULL;
  return folder->plan;
}

/* The messages whose files the reader took out of a folder while the server still has them
 * there: what the plans would delete on the server (or a guard holds back), which a move
 * could take instead. */
static GArray *
find_sources (TdSyncRunner *self)
{
  GArray *sources = g_array_new (FALSE, FALSE, sizeof (TdMoveSource));

  for (guint i = 0; i < self->entries->len; i++)
    {
      TdFolderEntry *entry = g_ptr_array_index (self->entries, i);
      const TdFolderPlan *plan = movable_plan (self, entry, TRUE);
      const TdLocalSide *side = entry->local ? td_local_folder_get_side (entry->local) : NULL;
      if (plan == NULL || side->deleted == NULL)
        continue;
      g_autoptr (GHashTable) removed = g_hash_table_new (g_direct_hash, g_direct_equal);
      for (guint r = 0; r < plan->removals->len; r++)
        g_hash_table_add (removed, GUINT_TO_POINTER (g_array_index (plan->removals, guint32, r)));
      for (guint k = 0; k < side->deleted->len; k++)
        {
          guint32 uid = g_array_index (side->deleted, guint32, k);
          const TdStateMessage *row = td_local_side_find (side, uid, NULL);
          if (row == NULL || row->message_id == NULL
              || g_hash_table_contains (removed, GUINT_TO_POINTER (uid)))
            continue;
          TdMoveSource s = { i, uid, row->base, row->message_id, row->size, row->email_id };
          g_array_append_val (sources, s);
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
      const TdFolderPlan *plan = movable_plan (self, entry, FALSE);
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

/* The group of @groups from @from to @to, made (its moves of @size bytes each) if new. */
static MoveGroup *
group_for (GPtrArray *groups, guint from, guint to, guint size, GDestroyNotify clear)
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
  g->moves = g_array_new (FALSE, FALSE, size);
  if (clear != NULL)
    g_array_set_clear_func (g->moves, clear);
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

/* What the server may have moved: messages a folder's plan removes here whose file is still
 * here, and the folders whose downloads include one of their sizes, to be listed. */
static void
find_server_moves (TdSyncRunner *self, MovesRun *m)
{
  g_autoptr (GHashTable) sizes = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  for (guint i = 0; i < self->entries->len; i++)
    {
      TdFolderEntry *entry = g_ptr_array_index (self->entries, i);
      const TdFolderPlan *plan = movable_plan (self, entry, TRUE);
      if (plan == NULL || plan->removals->len == 0)
        continue;
      td_local_folder_ensure_scanned (entry->local);
      const TdLocalSide *side = td_local_folder_get_side (entry->local);
      for (guint r = 0; r < plan->removals->len; r++)
        {
          const TdStateMessage *row = td_local_side_find (side, g_array_index (plan->removals,
                                                                              guint32, r), NULL);
          if (row == NULL || (row->message_id == NULL && row->email_id == NULL) || row->size == 0
              || !g_hash_table_contains (side->disk, row->base))
            continue;
          TdMoveSource s = { i, row->uid, row->base, row->message_id, row->size, row->email_id };
          g_array_append_val (m->gone, s);
          g_hash_table_add (sizes, g_memdup2 (&row->size, sizeof row->size));
        }
    }
  for (guint i = 0; g_hash_table_size (sizes) > 0 && i < self->entries->len; i++)
    {
      const TdFolderPlan *plan = movable_plan (self, g_ptr_array_index (self->entries, i), FALSE);
      for (guint k = 0; plan != NULL && k < plan->download_sizes->len; k++)
        {
          const TdUidSize *d = &g_array_index (plan->download_sizes, TdUidSize, k);
          if (!g_hash_table_contains (sizes, &d->size))
            continue;
          Listing l = { i, d->uid }; /* the first, as they go by ascending UID */
          g_array_append_val (m->listings, l);
          break;
        }
    }
}

/* Pairs what left a folder with what came into one, and writes what must be durable before
 * the server is asked: the intent rows of the moves, the new names of renamed files. */
static gboolean
find_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  MovesRun *m = arg;
  g_autoptr (GArray) sources = m->reader_moves ? find_sources (self)
                                               : g_array_new (FALSE, FALSE, sizeof (TdMoveSource));
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);

  if (m->server_moves)
    find_server_moves (self, m);
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
      TdFolderEntry *to = g_ptr_array_index (self->entries, a->folder);
      const TdStateMessage *row = td_local_side_find (td_local_folder_get_side (from->local),
                                                      s->uid, NULL);
      TdLocalMove move = { s->uid, g_strdup (a->base), g_strdup (s->message_id), s->size,
                           td_local_folder_carry_flags (from->local, to->local, row->flags) };
      MoveGroup *g = group_for (m->groups, s->folder, a->folder, sizeof (TdLocalMove),
                                (GDestroyNotify) td_local_move_clear);
      g_array_append_val (g->moves, move);
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

/* Pairs what the server took out of folders with what the listings found, and renames the
 * files of the pairs, one pair of folders at a time. */
static gboolean
take_server_moves (TdSyncRunner *self, MovesRun *m, GError **error)
{
  g_autoptr (GArray) arrivals = g_array_new (FALSE, FALSE, sizeof (TdMoveArrival));

  for (guint i = 0; i < m->candidates->len; i++)
    {
      const Candidate *c = &g_array_index (m->candidates, Candidate, i);
      TdMoveArrival a = { c->folder, NULL, c->message_id, c->size, c->email_id };
      g_array_append_val (arrivals, a);
    }
  g_autoptr (GArray) pairs = td_move_plan_pair (m->gone, arrivals);
  for (guint i = 0; i < pairs->len; i++)
    {
      const TdMovePair *p = &g_array_index (pairs, TdMovePair, i);
      const TdMoveSource *s = &g_array_index (m->gone, TdMoveSource, p->source);
      const Candidate *c = &g_array_index (m->candidates, Candidate, p->arrival);
      TdServerMove move = { s->uid, c->uid, c->flags };
      if (s->folder != c->folder)
        g_array_append_val (group_for (m->taken, s->folder, c->folder, sizeof (TdServerMove),
                                       NULL)->moves, move);
    }
  for (guint i = 0; i < m->taken->len; i++)
    {
      MoveGroup *g = g_ptr_array_index (m->taken, i);
      TdFolderEntry *from = g_ptr_array_index (self->entries, g->from);
      TdFolderEntry *to = g_ptr_array_index (self->entries, g->to);
      guint taken = 0;
      if (!td_local_folder_take_moved (from->local, to->local, g->moves, &taken, error))
        return FALSE;
      to->moved_in += taken;
      g_debug ("account %s: the server moved %u messages from %s to %s, %u renamed here",
               self->account->name, g->moves->len, from->info->name, to->info->name, taken);
    }
  return TRUE;
}

/* Records what the server did, one transaction per pair of folders, and takes in what it
 * moved itself. */
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
  return m->error != NULL || take_server_moves (self, m, error);
}

/* A folder moves touched is planned again at its turn, opened afresh. */
static void
replan_entry (TdSyncRunner *self, guint index)
{
  TdFolderEntry *entry = g_ptr_array_index (self->entries, index);
  TdFolderInput later = { .name = entry->info->name };

  if (entry->local == NULL)
    return;
  g_clear_pointer (&entry->local, td_local_folder_free);
  g_clear_pointer (&entry->survey, td_folder_survey_free);
  entry->surveyed = FALSE;
  td_account_plan_add (self->plan, td_planned_folder_new (&self->policy, self->options.force,
                                                          &later));
}

static void
replan (TdSyncRunner *self, MovesRun *m)
{
  for (guint i = 0; i < m->groups->len; i++)
    {
      MoveGroup *g = g_ptr_array_index (m->groups, i);
      replan_entry (self, g->from);
      replan_entry (self, g->to);
    }
  for (guint i = 0; i < m->taken->len; i++)
    {
      MoveGroup *g = g_ptr_array_index (m->taken, i);
      replan_entry (self, g->from);
      replan_entry (self, g->to);
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
static void list_next (MovesRun *m);

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
  list_next (m);
}

/* The server's moves: the new messages of a folder listed with their Message-IDs */

/* A listing that failed leaves its folder's new messages to be downloaded; a broken
 * connection ends the run once what was done is recorded. */
static void
listing_failed (MovesRun *m, GError *error)
{
  if (!g_error_matches (error, TD_ERROR, TD_ERROR_FOLDER))
    {
      m->error = error;
      m->next_listing = m->listings->len;
    }
  else
    g_error_free (error);
  list_next (m);
}

static void
candidates_listed (GObject *source, GAsyncResult *result, gpointer data)
{
  MovesRun *m = data;
  const Listing *l = &g_array_index (m->listings, Listing, m->next_listing - 1);
  const TdFolderPlan *plan = movable_plan (m->self, g_ptr_array_index (m->self->entries,
                                                                      l->folder), FALSE);
  GError *error = NULL;
  g_autoptr (GArray) listed = td_backend_list_messages_finish (TD_BACKEND (source), result,
                                                               &error);
  g_autoptr (GArray) wanted = g_array_copy (plan->downloads);

  if (listed == NULL)
    {
      listing_failed (m, error);
      return;
    }
  td_uid_set_normalize (wanted);
  for (guint i = 0; i < listed->len; i++)
    {
      TdMessageInfo *info = &g_array_index (listed, TdMessageInfo, i);
      if ((info->message_id == NULL && info->email_id == NULL)
          || !td_uid_set_contains (wanted, info->uid))
        continue;
      TdFolderEntry *target = g_ptr_array_index (m->self->entries, l->folder);
      TdFlags flags = info->flags;
      if (target->local != NULL)
        flags |= td_local_folder_keyword_bits (target->local, info->keywords);
      Candidate c = { l->folder, info->uid, flags, info->size,
                      g_steal_pointer (&info->message_id), g_steal_pointer (&info->email_id) };
      g_array_append_val (m->candidates, c);
    }
  list_next (m);
}

static void
candidates_opened (GObject *source, GAsyncResult *result, gpointer data)
{
  MovesRun *m = data;
  const Listing *l = &g_array_index (m->listings, Listing, m->next_listing - 1);
  TdFolderEntry *entry = g_ptr_array_index (m->self->entries, l->folder);
  TdFolderState state;
  GError *error = NULL;

  if (!td_backend_open_folder_finish (TD_BACKEND (source), result, &state, &error))
    {
      listing_failed (m, error);
      return;
    }
  if (state.uidvalidity != entry->point.uidvalidity)
    {
      listing_failed (m, td_folder_work_renumbered (entry->info->name));
      return;
    }
  td_backend_list_messages_async (m->self->backend, l->first, m->self->cancellable,
                                  candidates_listed, m);
}

/* Lists the next folder with candidates; after the last, records everything. */
static void
list_next (MovesRun *m)
{
  TdSyncRunner *self = m->self;

  if (m->next_listing < m->listings->len)
    {
      const Listing *l = &g_array_index (m->listings, Listing, m->next_listing++);
      TdFolderEntry *entry = g_ptr_array_index (self->entries, l->folder);
      m->open_from = -1;
      td_backend_open_folder_async (self->backend, entry->info->name, TRUE, &entry->point,
                                    self->cancellable, candidates_opened, m);
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
      g_array_set_size (m->gone, 0);
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

  gboolean here = self->policy.uploads && self->policy.deletes_there
                  && (td_backend_get_caps (self->backend) & TD_BACKEND_CAP_MOVE);
  gboolean there = self->policy.pulls && self->policy.deletes_here;

  if (self->options.dry_run || (!here && !there))
    {
      self->phase_done (self, NULL);
      return;
    }
  m = g_new0 (MovesRun, 1);
  m->self = self;
  m->reader_moves = here;
  m->server_moves = there;
  m->groups = g_ptr_array_new_with_free_func ((GDestroyNotify) move_group_free);
  m->gone = g_array_new (FALSE, FALSE, sizeof (TdMoveSource));
  m->listings = g_array_new (FALSE, FALSE, sizeof (Listing));
  m->candidates = g_array_new (FALSE, FALSE, sizeof (Candidate));
  g_array_set_clear_func (m->candidates, (GDestroyNotify) candidate_clear);
  m->taken = g_ptr_array_new_with_free_func ((GDestroyNotify) move_group_free);
  m->open_from = -1;
  td_sync_runner_work (self, find_work, m, found);
}
