/* td-sync-folders.c: the sync runner's folder phase, between the server's folder listing and
 * the first folder's sync: folders made in the Maildir are created on the server, folders
 * deleted on one side are reported or, with --prune-folders, deleted on the other side.
 * Main loop thread; the disk and DB part runs in a worker (td-folder-reconcile.c).
 */
#include "engine/sync/td-sync-runner-private.h"

#include <string.h>

#include "storage/td-folder-map.h"
#include "storage/td-storage-error.h"
#include "engine/common/td-error.h"

static void act_next (TdSyncRunner *self);

static gboolean
wanted (const char *display, gpointer data)
{
  return td_sync_runner_wants (data, display);
}

static gboolean
reconcile_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  return td_folder_reconcile_run (arg, error);
}

static gboolean
forget_work (TdSyncRunner *self, gpointer arg, GError **error)
{
  for (guint i = 0; i < self->changes->len; i++)
    {
      TdFolderChange *c = g_ptr_array_index (self->changes, i);
      if (c->event == TD_FOLDER_EVENT_PRUNED_THERE && c->error == NULL)
        td_folder_reconcile_forget (self->db, c->folder_id, &c->error);
    }
  return TRUE;
}

/* A failure on one folder, as its report shows it (the report names account and folder). */
static GError *
folder_error (TdFolderChange *c)
{
  GError *e = c->error;

  if (e->domain == TD_ERROR)
    return g_error_copy (e);
  return g_error_new (TD_ERROR, g_error_matches (e, TD_STORAGE_ERROR, TD_STORAGE_ERROR_UNSAFE)
                                  ? TD_ERROR_NEEDS_USER : TD_ERROR_LOCAL_IO, "%s", e->message);
}

static void
remove_from_sync (TdSyncRunner *self, const char *name)
{
  for (guint i = 0; i < self->folders->len; i++)
    if (g_str_equal (((TdFolderInfo *) g_ptr_array_index (self->folders, i))->name, name))
      g_ptr_array_remove_index (self->folders, i--);
}

/* The first of @patterns that matches none of @names, as an error, or NULL. */
static GError *
pattern_missed (char **patterns, const char *const *names, const char *where)
{
  for (guint i = 0; patterns != NULL && patterns[i] != NULL; i++)
    {
      gboolean hit = FALSE;
      for (guint k = 0; names[k] != NULL && !hit; k++)
        hit = td_folder_pattern_matches (patterns[i], names[k]);
      if (!hit)
        {
          g_autofree char *why = td_folder_pattern_miss (patterns[i], names, where);
          return g_error_new (TD_ERROR, TD_ERROR_CONFIG, "%s", why);
        }
    }
  return NULL;
}

static int
by_name (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* A folder pattern that takes in nothing is a mistake (a typo, "," for ";"), not a wish
 * to sync nothing: said before any folder syncs. The names are the server's and those
 * made here. */
static GError *
check_patterns (TdSyncRunner *self)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *in_config = g_strdup_printf ("folders in %s", self->account->config_file);
  GError *error;

  for (guint i = 0; i < self->listing->len; i++)
    {
      TdFolderInfo *info = g_ptr_array_index (self->listing, i);
      g_ptr_array_add (names, td_folder_map_display (info->name, info->delimiter));
    }
  for (guint i = 0; i < self->changes->len; i++)
    {
      TdFolderChange *c = g_ptr_array_index (self->changes, i);
      g_ptr_array_add (names, td_folder_map_display (c->name, self->delimiter));
    }
  g_ptr_array_sort (names, by_name);
  g_ptr_array_add (names, NULL);
  const char *const *all = (const char *const *) names->pdata;
  /* options.folder_names (D-Bus SyncFolder) are not checked here: that method answers a
   * name with no folder InvalidArgs itself, as its API says. */
  if ((error = pattern_missed (self->account->folders, all, in_config)) == NULL)
    error = pattern_missed (self->options.folder_patterns, all, "--folder");
  if (error != NULL)
    g_prefix_error (&error, "account %s: ", self->account->name);
  return error;
}

/* Every change is done: settle which folders sync, report the others, start the first. */
static void
begin_folders (TdSyncRunner *self)
{
  char delimiter = self->delimiter;
  GError *error = check_patterns (self);

  if (error != NULL)
    {
      self->phase_done (self, error);
      return;
    }

  for (guint i = 0; i < self->changes->len; i++)
    {
      TdFolderChange *c = g_ptr_array_index (self->changes, i);
      if (c->error == NULL && c->event == TD_FOLDER_EVENT_CREATED_THERE && !self->options.dry_run)
        {
          TdFolderInfo *info = td_folder_info_new (c->name, delimiter, TRUE);
          g_ptr_array_add (self->listing, info);
          g_ptr_array_add (self->folders, info);
          continue;
        }
      if (c->error == NULL && c->event == TD_FOLDER_EVENT_RESTORED && !self->options.dry_run)
        {
          g_autofree char *key = td_folder_map_display (c->name, delimiter);
          g_hash_table_remove (self->synced, key);
          continue;
        }
      remove_from_sync (self, c->name);
      TdFolderReport *report = td_sync_runner_add_report (self, c->name, delimiter);
      report->event = c->event;
      if (c->error != NULL)
        report->error = folder_error (c);
    }
  g_ptr_array_sort (self->folders, td_sync_runner_compare_folders);
  self->phase_done (self, NULL);
}

static void
forgotten (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = TD_SYNC_RUNNER (source);

  td_sync_runner_work_finish (result, NULL);
  begin_folders (self);
}

static void
acted (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = data;
  TdFolderChange *c = g_ptr_array_index (self->changes, self->next_change - 1);
  GError *error = NULL;

  if (!td_backend_create_folder_finish (TD_BACKEND (source), result, &error))
    {
      if (td_error_is_account_wide (error))
        {
          self->phase_done (self, error);
          return;
        }
      c->error = error;
    }
  c->pending = FALSE;
  act_next (self);
}

/* The server side of the changes, one command pair at a time: CREATE and SUBSCRIBE for a
 * folder made here, DELETE and UNSUBSCRIBE for one pruned. */
static void
act_next (TdSyncRunner *self)
{
  while (self->next_change < self->changes->len)
    {
      TdFolderChange *c = g_ptr_array_index (self->changes, self->next_change++);
      if (!c->pending || c->error != NULL || self->options.dry_run)
        continue;
      td_backend_create_folder_async (self->backend, c->name,
                                      c->event == TD_FOLDER_EVENT_CREATED_THERE,
                                      self->cancellable, acted, self);
      return;
    }
  if (self->options.dry_run)
    {
      begin_folders (self);
      return;
    }
  td_sync_runner_work (self, forget_work, NULL, forgotten);
}

static void
reconciled (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = TD_SYNC_RUNNER (source);
  TdFolderReconcile *r = data;
  GError *error = NULL;

  if (!td_sync_runner_work_finish (result, &error))
    {
      td_folder_reconcile_clear (r);
      g_free (r);
      self->phase_done (self, error);
      return;
    }
  if (r->root_gone > 0 && !self->options.force)
    {
      error = g_error_new (TD_ERROR, TD_ERROR_NEEDS_USER, "account %s: none of the %u folders "
                           "synced before is in %s any more, so the Maildir looks unmounted or "
                           "wiped; nothing was changed on either side. If it lives on a disk "
                           "that is not mounted, mount it and run again. To download "
                           "everything again, run `tidings sync --force %s`",
                           self->account->name, r->root_gone,
                           td_maildir_get_path (self->maildir), self->account->name);
      td_folder_reconcile_clear (r);
      g_free (r);
      self->phase_done (self, error);
      return;
    }
  self->changes = g_steal_pointer (&r->changes);
  self->delimiter = r->delimiter;
  g_free (r);
  self->next_change = 0;
  act_next (self);
}

/**
 * td_sync_runner_reconcile_folders:
 * @self: a runner with the server's listing and its storage open
 *
 * Compares the folders of both sides and the state DB, carries out what follows, and
 * starts the folders' sync.
 */
void
td_sync_runner_reconcile_folders (TdSyncRunner *self)
{
  TdFolderReconcile *r = g_new0 (TdFolderReconcile, 1);

  r->db = self->db;
  r->maildir = self->maildir;
  r->account = self->account;
  r->synced = self->synced;
  r->listing = self->listing;
  r->wanted = wanted;
  r->wanted_data = self;
  r->pushes = self->policy.creates_folders;
  r->pulls = self->policy.pulls;
  r->prune = self->options.prune_folders;
  r->force = self->options.force;
  r->dry_run = self->options.dry_run;
  td_sync_runner_work (self, reconcile_work, r, reconciled);
}
