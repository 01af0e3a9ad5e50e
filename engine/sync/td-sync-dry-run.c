/* td-sync-dry-run.c: tidings sync --dry-run, one folder: the plan counted into the folder's
 * report (downloads, uploads, flag changes and deletions each way) with nothing changed on
 * either side. The folder is only examined (EXAMINE), the disk and the state DB only read;
 * the new messages are counted from a listing, not guessed from UIDNEXT.
 * Main loop thread; the planning runs in a worker.
 */
#include "engine/sync/td-sync-runner-private.h"

#include "engine/sync/td-local-folder-private.h"

typedef struct
{
  TdFolderChanges *changes;
  GPtrArray *stores;
  guint flags_here;
  guint removals;
} DryPlan;

static void
dry_plan_free (DryPlan *p)
{
  g_clear_pointer (&p->changes, td_folder_changes_free);
  g_clear_pointer (&p->stores, g_ptr_array_unref);
  g_free (p);
}

/* What the disk sends: new files, unsettled uploads, the mail reader's deletions. */
static void
finish (TdSyncRunner *self)
{
  FolderRun *run = self->run;
  TdLocalFolder *local = run->local;

  if (td_sync_runner_uploads (self))
    run->report->uploaded = local->new_files->len + local->uploads->len;
  if (td_sync_runner_deletes_there (self))
    {
      g_autoptr (GArray) deleted = td_local_folder_dup_deleted (local);
      run->report->deleted_remote = td_sync_runner_count_uids (deleted);
    }
  td_sync_runner_end_folder (self, NULL);
}

/* Counts the listed messages from @from on (that are not here yet, when @known counts),
 * with their sizes. */
static void
count_new (FolderRun *run, GArray *server, guint32 from, gboolean known)
{
  for (guint i = 0; i < server->len; i++)
    {
      const TdMessageInfo *m = &g_array_index (server, TdMessageInfo, i);
      if (m->uid < from || (known && td_local_folder_find (run->local, m->uid, NULL) != NULL))
        continue;
      run->report->added++;
      run->report->bytes += m->size;
    }
}

/* The listing from the first new UID, or of the whole folder when it is to be re-matched
 * (then at most every message comes down). */
static void
listed (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = data;
  FolderRun *run = self->run;
  GError *error = NULL;
  g_autoptr (GArray) server = td_backend_list_messages_finish (TD_BACKEND (source), result,
                                                               &error);

  if (server == NULL)
    {
      td_sync_runner_end_folder (self, error);
      return;
    }
  if (run->report->estimate && td_sync_runner_pulls (self))
    count_new (run, server, 1, FALSE);
  else if (!run->report->estimate)
    count_new (run, server, td_sync_runner_new_from (run), TRUE);
  finish (self);
}

static gboolean
plan_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  DryPlan *p = arg;
  FolderRun *run = self->run;

  if (!td_sync_runner_pulls (self))
    g_array_set_size (p->changes->changed, 0);
  p->stores = td_local_folder_plan_flags (run->local, p->changes, td_sync_runner_pushes (self));
  return td_local_folder_preview_changes (run->local, p->changes, self->options.force,
                                          td_sync_runner_deletes_here (self), run->to_fetch,
                                          &p->flags_here, &p->removals, error);
}

static void
planned (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = TD_SYNC_RUNNER (source);
  FolderRun *run = self->run;
  DryPlan *p = data;
  GError *error = NULL;
  guint32 from;

  if (!td_sync_runner_work_finish (result, &error))
    {
      dry_plan_free (p);
      td_sync_runner_end_folder (self, error);
      return;
    }
  for (guint i = 0; i < p->stores->len; i++)
    run->report->flags_pushed += td_sync_runner_count_uids (
      ((TdBackendFlagStore *) g_ptr_array_index (p->stores, i))->uids);
  run->report->flags_changed = p->flags_here;
  if (td_sync_runner_deletes_here (self))
    run->report->removed = p->removals;
  else
    run->report->kept += p->removals;
  dry_plan_free (p);
  if (!td_sync_runner_pulls (self))
    {
      finish (self);
      return;
    }
  /* Messages below the sync point never stored, then whatever came since. */
  run->report->added = td_sync_runner_count_uids (run->to_fetch);
  if ((from = td_sync_runner_new_from (run)) == 0)
    {
      finish (self);
      return;
    }
  td_backend_list_messages_async (self->backend, from, self->cancellable, listed, self);
}

/**
 * td_sync_runner_dry_run_plan:
 * @self: a runner in a dry run
 * @changes: (transfer full): what the server reports since the sync point
 *
 * Plans the flags and counts what the changes would do, then the new messages.
 */
void
td_sync_runner_dry_run_plan (TdSyncRunner *self, TdFolderChanges *changes)
{
  DryPlan *p = g_new0 (DryPlan, 1);
  p->changes = changes;
  td_sync_runner_work (self, plan_work, p, planned);
}

/**
 * td_sync_runner_dry_run_folder:
 * @self: a runner whose current folder is open (examined) and its disk scanned
 *
 * Counts the folder's plan into its report and ends the folder.
 */
void
td_sync_runner_dry_run_folder (TdSyncRunner *self)
{
  FolderRun *run = self->run;

  if (run->local->untracked
      || (run->point.uidvalidity != 0 && run->point.uidvalidity != run->state.uidvalidity))
    {
      run->report->estimate = TRUE;
      td_backend_list_messages_async (self->backend, 1, self->cancellable, listed, self);
      return;
    }
  if (td_sync_runner_folder_unchanged (self))
    {
      run->report->unchanged = TRUE;
      td_sync_runner_end_folder (self, NULL);
      return;
    }
  td_backend_list_changes_async (self->backend, &run->point, self->cancellable,
                                 td_sync_runner_changes_listed, self);
}
