/* td-sync-survey.c: the sync runner's survey and plan, between the folder phase and the
 * first folder's sync.
 *
 * The survey settles, for every folder of the run at once, whether it needs opening at all
 * (the listing's STATUS and the Maildir's directory times say nothing changed), and opens
 * all that do in one round through td_backend_survey_folders_async(): their state and their
 * changes since the state DB's sync point come back before any folder is worked on, so the
 * run's round trips do not grow with its folders.
 *
 * The plan then prepares every surveyed folder's local side (its rows, the scan of its
 * files) in one worker step and builds the account plan from them (td-account-plan.h),
 * before anything is done. Rows are held from then until the folder's turn, so at most
 * TD_RUN_MAX_ROWS are prepared ahead; a folder beyond that is prepared and planned at its
 * turn, by td_sync_runner_plan_entry() as well. Main loop thread, but for the workers.
 */
#include "engine/sync/td-sync-runner-private.h"

#include "storage/td-folder-map.h"
#include "engine/common/td-error.h"
#include "engine/sync/td-local-folder.h"

void
td_folder_entry_free (TdFolderEntry *entry)
{
  g_strfreev (entry->components);
  g_clear_error (&entry->error);
  g_clear_pointer (&entry->survey, td_folder_survey_free);
  g_clear_pointer (&entry->local, td_local_folder_free);
  g_free (entry);
}

static const TdStateFolderSummary *
summary (TdSyncRunner *self, const TdFolderInfo *info)
{
  g_autofree char *key = td_folder_map_display (info->name, info->delimiter);
  return g_hash_table_lookup (self->synced, key);
}

/* Whether the folder's STATUS from the listing shows nothing changed since the last sync,
 * so it need not be opened. Needs HIGHESTMODSEQ: without it, flag changes do not show. A
 * message max-size or max-age left on the server that they now let through is a change too. */
static gboolean
unchanged_on_server (const TdStateFolderSummary *f, const TdFolderInfo *info)
{
  const TdFolderState *s = &info->status;

  if (f != NULL && f->left_let_through > 0)
    return FALSE;
  return info->has_status && f != NULL && f->pending == 0 && s->highestmodseq != 0
         && f->record.highestmodseq == s->highestmodseq && f->record.uidvalidity == s->uidvalidity
         && f->record.uidnext == s->uidnext && f->count == s->exists;
}

/* Whether the mail reader can have changed nothing since the last scan: cur/ and new/ have
 * the times they had then, and the scan came well after their last change, since a rename
 * within the same clock tick as the scan can leave a directory's time unchanged. The margin
 * is a second where the file system keeps whole seconds, else 50 ms (ext4 and friends keep
 * nanoseconds but advance them with the kernel's clock tick, at most 10 ms). */
static gint64
mtime_margin (gint64 cur, gint64 new)
{
  const gint64 second = G_GINT64_CONSTANT (1000000000);
  return cur % second == 0 && new % second == 0 ? second : second / 20;
}

static gboolean
unchanged_locally (TdSyncRunner *self, const TdStateFolderSummary *f, char **components)
{
  gint64 cur = 0, new = 0;

  if (!self->policy.pushes)
    return TRUE;
  if (f == NULL || f->record.scanned_at == 0
      || !td_maildir_dir_mtimes (self->maildir, components, &cur, &new))
    return FALSE;
  return cur == f->record.cur_mtime && new == f->record.new_mtime
         && f->record.scanned_at - MAX (cur, new) >= mtime_margin (cur, new);
}

/* What the state DB's summary says the folder's sync point is: the point a prepared folder
 * will have, unless an earlier run left work unfinished there (then NULL: the folder is
 * opened at its turn, after that work is settled). */
static gboolean
summary_point (const TdStateFolderSummary *f, TdSyncPoint *point)
{
  memset (point, 0, sizeof *point);
  if (f == NULL)
    return TRUE;
  if (f->pending > 0)
    return FALSE;
  point->uidvalidity = f->record.uidvalidity;
  point->uidnext = f->record.uidnext;
  point->highestmodseq = f->record.highestmodseq;
  point->known_count = f->count;
  point->last_uid = f->last_uid;
  return TRUE;
}

static TdFolderEntry *
entry_new (TdSyncRunner *self, TdFolderInfo *info)
{
  TdFolderEntry *entry = g_new0 (TdFolderEntry, 1);
  GError *error = NULL;

  entry->info = info;
  entry->components = td_folder_map_components (info->name, info->delimiter,
                                                &self->account->layout, &error);
  if (entry->components == NULL)
    {
      entry->error = g_error_new (TD_ERROR, TD_ERROR_FOLDER, "%s", error->message);
      g_error_free (error);
      return entry;
    }
  const TdStateFolderSummary *f = summary (self, info);
  entry->unchanged = unchanged_on_server (f, info)
                     && unchanged_locally (self, f, entry->components);
  entry->surveyed = !entry->unchanged && summary_point (f, &entry->asked);
  return entry;
}

static void
surveyed (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = data;
  GError *error = NULL;
  g_autoptr (GPtrArray) surveys = td_backend_survey_folders_finish (TD_BACKEND (source), result,
                                                                    &error);

  if (surveys == NULL)
    {
      self->phase_done (self, error);
      return;
    }
  for (guint i = 0; i < self->entries->len; i++)
    {
      TdFolderEntry *entry = g_ptr_array_index (self->entries, i);
      if (entry->surveyed && entry->survey_index < surveys->len)
        entry->survey = g_steal_pointer (&g_ptr_array_index (surveys, entry->survey_index));
    }
  self->phase_done (self, NULL);
}

/* Which surveyed entry to open last, or NULL: the folder the survey opens last stays open
 * for the round after it, which then need not open it again. Of the folders whose listing
 * shows new messages (the round downloads them), the biggest, whose SELECT costs the server
 * most. */
static TdFolderEntry *
open_last (TdSyncRunner *self)
{
  TdFolderEntry *best = NULL;

  for (guint i = 0; i < self->entries->len; i++)
    {
      TdFolderEntry *entry = g_ptr_array_index (self->entries, i);
      const TdFolderState *s = &entry->info->status;
      if (entry->surveyed && entry->info->has_status && s->uidnext > entry->asked.uidnext
          && (best == NULL || s->exists > best->info->status.exists))
        best = entry;
    }
  return best;
}

/* Decides which folders need opening and opens them all in one round. */
static void
survey_now (TdSyncRunner *self)
{
  g_autoptr (GPtrArray) queries = g_ptr_array_new_with_free_func ((GDestroyNotify) td_folder_query_free);
  gboolean read_only = !self->policy.pushes || self->options.dry_run;

  self->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) td_folder_entry_free);
  for (guint i = 0; i < self->folders->len; i++)
    g_ptr_array_add (self->entries, entry_new (self, g_ptr_array_index (self->folders, i)));
  TdFolderEntry *last = open_last (self);
  for (guint i = 0; i <= self->entries->len; i++)
    {
      TdFolderEntry *entry = i < self->entries->len ? g_ptr_array_index (self->entries, i) : last;
      if (entry == NULL || !entry->surveyed || (entry == last && i < self->entries->len))
        continue;
      entry->survey_index = queries->len;
      g_ptr_array_add (queries, td_folder_query_new (entry->info->name, read_only,
                                                     &entry->asked));
    }
  if (queries->len == 0)
    {
      self->phase_done (self, NULL);
      return;
    }
  td_backend_survey_folders_async (self->backend, queries, self->cancellable, surveyed, self);
}

/* Downloads an earlier run left pending (a kill between the row and the file) are settled
 * from the disk before the survey, so the folder's point is what its rows say and it is
 * surveyed and planned with the others: a message the server moved meanwhile is then still
 * recognised as moved. Uploads left unsettled keep their folder for its turn. */
static gboolean
settle_pending_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  gboolean any = FALSE;

  for (guint i = 0; i < self->folders->len; i++)
    {
      const TdFolderInfo *info = g_ptr_array_index (self->folders, i);
      const TdStateFolderSummary *f = summary (self, info);
      if (f == NULL || f->pending == 0)
        continue;
      g_autofree char *display = td_folder_map_display (info->name, info->delimiter);
      g_autofree char *name = td_printable (display);
      g_auto (GStrv) components = td_folder_map_components (info->name, info->delimiter,
                                                            &self->account->layout, NULL);
      if (components == NULL)
        continue;
      g_autoptr (TdLocalFolder) local = td_local_folder_prepare (self->db, self->maildir,
                                                                 self->account->name, name,
                                                                 components, FALSE, FALSE, NULL);
      any = any || local != NULL;
    }
  return !any || td_sync_runner_load_summaries (self, error);
}

static void
pending_settled (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = TD_SYNC_RUNNER (source);
  GError *error = NULL;

  if (!td_sync_runner_work_finish (result, &error))
    {
      self->phase_done (self, error);
      return;
    }
  survey_now (self);
}

/**
 * td_sync_runner_survey:
 * @self: a runner whose folders to sync are settled
 *
 * Settles what an earlier run left pending, decides which folders need opening and opens
 * them all in one round; hands back through the runner's phase_done.
 */
void
td_sync_runner_survey (TdSyncRunner *self)
{
  for (guint i = 0; !self->options.dry_run && i < self->folders->len; i++)
    {
      const TdStateFolderSummary *f = summary (self, g_ptr_array_index (self->folders, i));
      if (f != NULL && f->pending > 0)
        {
          td_sync_runner_work (self, settle_pending_work, NULL, pending_settled);
          return;
        }
    }
  survey_now (self);
}

/* The plan */

static gboolean
same_point (const TdSyncPoint *a, const TdSyncPoint *b)
{
  return a->uidvalidity == b->uidvalidity && a->uidnext == b->uidnext
         && a->highestmodseq == b->highestmodseq && a->known_count == b->known_count
         && a->last_uid == b->last_uid;
}

/**
 * td_sync_runner_plan_entry:
 * @self: a runner
 * @entry: a folder of the run, not prepared yet
 * @error: what failed the folder's preparation
 *
 * Prepares the folder's local side and adds its plan to the account plan, from the survey
 * where the survey answers what the folder's rows ask now; otherwise the plan says to open
 * the folder at its turn. Worker thread.
 *
 * Returns: whether the folder was prepared
 */
gboolean
td_sync_runner_plan_entry (TdSyncRunner *self, TdFolderEntry *entry, GError **error)
{
  TdFolderSurvey *survey = entry->survey;
  g_autofree char *display = td_folder_map_display (entry->info->name, entry->info->delimiter);
  g_autofree char *name = td_printable (display); /* as the folder's report names it */

  entry->local = td_local_folder_prepare (self->db, self->maildir, self->account->name,
                                          name, entry->components, self->policy.pushes,
                                          self->options.dry_run, error);
  if (entry->local == NULL)
    return FALSE;
  td_local_folder_sync_point (entry->local, self->policy.not_before, &entry->point);
  TdFolderInput input = { .name = entry->info->name, .point = entry->point };
  if (survey != NULL && survey->error == NULL && same_point (&entry->asked, &entry->point))
    {
      td_local_folder_absorb_keywords (entry->local, survey->changes);
      input.local = td_local_folder_get_side (entry->local);
      input.state = survey->state;
      input.changes = survey->changes;
      /* The server's flag changes reach files whatever the reader did: their flags count. */
      if (self->policy.pulls && survey->changes != NULL && survey->changes->changed->len > 0)
        td_local_folder_ensure_scanned (entry->local);
    }
  td_account_plan_add (self->plan, td_planned_folder_new (&self->policy, self->options.force,
                                                          &input));
  /* The plan holds what it needs of the changes. */
  if (survey != NULL)
    g_clear_pointer (&survey->changes, td_folder_changes_free);
  return TRUE;
}

static gboolean
plan_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  guint rows = 0;

  for (guint i = 0; i < self->entries->len; i++)
    {
      TdFolderEntry *entry = g_ptr_array_index (self->entries, i);
      GError *e = NULL;

      if (entry->error != NULL || entry->unchanged)
        continue;
      if (!entry->surveyed || entry->survey == NULL || entry->survey->error != NULL
          || rows >= TD_RUN_MAX_ROWS
          || g_cancellable_is_cancelled (self->cancellable))
        {
          TdFolderInput later = { .name = entry->info->name };
          td_account_plan_add (self->plan, td_planned_folder_new (&self->policy,
                                                                  self->options.force, &later));
          continue;
        }
      if (!td_sync_runner_plan_entry (self, entry, &e))
        {
          entry->error = e; /* the folder fails at its turn */
          continue;
        }
      rows += td_local_folder_get_side (entry->local)->messages->len;
    }
  return TRUE;
}

static void
planned (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = TD_SYNC_RUNNER (source);
  GError *error = NULL;

  td_sync_runner_work_finish (result, &error);
  self->phase_done (self, error);
}

/**
 * td_sync_runner_plan:
 * @self: a runner whose folders are surveyed
 *
 * Builds the account plan; hands back through the runner's phase_done.
 */
void
td_sync_runner_plan (TdSyncRunner *self)
{
  self->plan = td_account_plan_build (&self->policy, self->options.force, NULL, 0,
                                      self->changes);
  td_sync_runner_work (self, plan_work, NULL, planned);
}
