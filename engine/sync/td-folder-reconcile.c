/* td-folder-reconcile.c: folders on one side only. Worker thread, one call per run.
 *
 * The three views are the server's listing, the Maildir's directories and the state DB's
 * records of folders synced before. A record means the folder was on both sides once, so
 * a side where it is missing now deleted it; a folder neither recorded nor listed was made
 * here. A deletion is reported and left for the user (--prune-folders), and when every
 * recorded folder is missing here at once, the mail root looks unmounted or wiped, not
 * pruned: the run stops before anything is taken as deleted.
 */
#include "engine/sync/td-folder-reconcile.h"

#include "storage/td-folder-map.h"
#include "engine/common/td-error.h"

void
td_folder_change_free (TdFolderChange *change)
{
  g_free (change->name);
  g_clear_error (&change->error);
  g_free (change);
}

void
td_folder_reconcile_clear (TdFolderReconcile *r)
{
  g_clear_pointer (&r->changes, g_ptr_array_unref);
}

static TdFolderChange *
add_change (TdFolderReconcile *r, const char *name, TdFolderEvent event, gint64 id)
{
  TdFolderChange *c = g_new0 (TdFolderChange, 1);
  c->name = g_strdup (name);
  c->event = event;
  c->folder_id = id;
  g_ptr_array_add (r->changes, c);
  return c;
}

/* The server's delimiter: INBOX's, else the first one listed. */
static char
server_delimiter (GPtrArray *listing)
{
  char first = '\0';
  for (guint i = 0; i < listing->len; i++)
    {
      const TdFolderInfo *f = g_ptr_array_index (listing, i);
      if (g_ascii_strcasecmp (f->name, "INBOX") == 0 && f->delimiter != '\0')
        return f->delimiter;
      if (first == '\0')
        first = f->delimiter;
    }
  return first;
}

static gboolean
is_wanted (TdFolderReconcile *r, const char *display)
{
  return r->wanted (display, r->wanted_data);
}

/* The server's name for a display name (the state DB's key). */
static char *
server_name (TdFolderReconcile *r, const char *display)
{
  char *name = g_strdup (display);
  if (r->delimiter != '\0' && r->delimiter != '/')
    g_strdelimit (name, "/", r->delimiter);
  return name;
}

static gboolean
present_here (TdFolderReconcile *r, const char *name)
{
  g_auto (GStrv) components = td_folder_map_components (name, r->delimiter,
                                                        &r->account->layout, NULL);
  gint64 cur, new;
  return components != NULL && td_maildir_dir_mtimes (r->maildir, components, &cur, &new);
}

/**
 * td_folder_reconcile_forget:
 * @db: the state database
 * @folder_id: a folder record
 * @error: return location for an error
 *
 * Forgets everything recorded of a folder, in one transaction.
 *
 * Returns: %TRUE on success
 */
gboolean
td_folder_reconcile_forget (TdStateDb *db, gint64 folder_id, GError **error)
{
  if (!td_state_db_begin (db, error))
    return FALSE;
  if (!td_state_db_remove_folder (db, folder_id, error))
    {
      td_state_db_rollback (db);
      return FALSE;
    }
  return td_state_db_commit (db, error);
}

/* Removes a folder the server deleted from the Maildir, when every message in it was on
 * the server (so only what the server's owner deleted goes), then forgets it. */
static void
prune_here (TdFolderReconcile *r, TdFolderChange *c)
{
  g_auto (GStrv) components = td_folder_map_components (c->name, r->delimiter,
                                                        &r->account->layout, &c->error);
  g_autoptr (GArray) messages = NULL;
  g_autoptr (GHashTable) known = g_hash_table_new (g_str_hash, g_str_equal);

  if (components == NULL
      || (messages = td_state_db_load_messages (r->db, c->folder_id, &c->error)) == NULL)
    return;
  for (guint i = 0; i < messages->len; i++)
    g_hash_table_add (known, g_array_index (messages, TdStateMessage, i).base);
  if (td_maildir_remove_folder (r->maildir, components, known, &c->error)
      && td_folder_reconcile_forget (r->db, c->folder_id, &c->error))
    c->event = TD_FOLDER_EVENT_PRUNED_HERE;
}

/* Recorded folders missing on one side. Returns how many of those listed were found here. */
static guint
find_deleted (TdFolderReconcile *r, GHashTable *listed, guint *recorded, GError **error)
{
  GHashTableIter it;
  gpointer value;
  guint here = 0;

  g_hash_table_iter_init (&it, r->synced);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      const TdStateFolderSummary *f = value;
      gboolean synced_before = f->record.uidvalidity != 0 || f->count > 0;
      if (!synced_before || !td_account_config_wants_folder (r->account, f->name))
        continue;
      g_autofree char *name = server_name (r, f->name);
      gboolean present = present_here (r, name);
      gboolean is_listed = g_hash_table_contains (listed, f->name);
      /* Counted over the account's folders, not only those this run picked (--folder). */
      if (is_listed)
        {
          (*recorded)++;
          here += present;
        }
      if (!is_wanted (r, f->name))
        continue;
      if (is_listed && !present)
        add_change (r, name, TD_FOLDER_EVENT_GONE_HERE, f->record.id);
      else if (!is_listed && present)
        add_change (r, name, TD_FOLDER_EVENT_GONE_THERE, f->record.id);
      else if (!is_listed && !r->dry_run && !td_folder_reconcile_forget (r->db, f->record.id,
                                                                        error))
        return 0; /* gone on both sides: nothing left to keep in step */
    }
  return here;
}

/* Maildir folders neither listed nor recorded: made here, for the server. */
static gboolean
find_created (TdFolderReconcile *r, GHashTable *listed, GError **error)
{
  g_autoptr (GPtrArray) local = td_maildir_list_folders (r->maildir, r->account->layout.kind,
                                                         error);

  if (local == NULL)
    return FALSE;
  for (guint i = 0; i < local->len; i++)
    {
      g_autoptr (GError) e = NULL;
      g_autofree char *name = td_folder_map_name (g_ptr_array_index (local, i), r->delimiter,
                                                  &r->account->layout, &e);
      if (name == NULL)
        {
          g_debug ("account %s: a local directory is not a folder: %s", r->account->name,
                   e->message);
          continue;
        }
      g_autofree char *display = td_folder_map_display (name, r->delimiter);
      const TdStateFolderSummary *f = g_hash_table_lookup (r->synced, display);
      if (g_hash_table_contains (listed, display) || (f != NULL && f->record.uidvalidity != 0)
          || !is_wanted (r, display))
        continue;
      add_change (r, name, TD_FOLDER_EVENT_CREATED_THERE, 0)->pending = TRUE;
    }
  return TRUE;
}

/**
 * td_folder_reconcile_run:
 * @r: the inputs, filled in
 * @error: return location for an error
 *
 * Fills in r->changes: folders to create on the server (pending), deleted on one side
 * (reported; pruned with r->prune, the Maildir side here, the server side pending), or
 * deleted here and restored (r->force). With r->dry_run nothing is changed. When every
 * recorded folder is missing here, r->root_gone is set and nothing else is done.
 *
 * Returns: %FALSE when the Maildir or the DB failed
 */
gboolean
td_folder_reconcile_run (TdFolderReconcile *r, GError **error)
{
  g_autoptr (GHashTable) listed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint recorded = 0, here;
  GError *e = NULL;

  r->changes = g_ptr_array_new_with_free_func ((GDestroyNotify) td_folder_change_free);
  r->delimiter = server_delimiter (r->listing);
  for (guint i = 0; i < r->listing->len; i++)
    {
      const TdFolderInfo *info = g_ptr_array_index (r->listing, i);
      g_hash_table_add (listed, td_folder_map_display (info->name, info->delimiter));
    }
  g_hash_table_add (listed, g_strdup ("INBOX"));
  here = find_deleted (r, listed, &recorded, &e);
  if (e == NULL && recorded > 0 && here == 0)
    {
      r->root_gone = recorded;
      if (!r->force)
        return TRUE;
    }
  /* INBOX cannot be deleted on a server: unless everything is gone (and then comes back
   * whole), a missing INBOX is made again, and its folder's own guard decides about the
   * messages, as for an emptied folder. */
  for (guint i = 0; !r->root_gone && i < r->changes->len; i++)
    {
      TdFolderChange *c = g_ptr_array_index (r->changes, i);
      if (c->event == TD_FOLDER_EVENT_GONE_HERE && g_ascii_strcasecmp (c->name, "INBOX") == 0)
        g_ptr_array_remove_index (r->changes, i--);
    }
  if (e != NULL || (r->pushes && !find_created (r, listed, &e)))
    {
      g_set_error (error, TD_ERROR, TD_ERROR_LOCAL_IO, "account %s: %s", r->account->name,
                   e->message);
      g_error_free (e);
      return FALSE;
    }
  for (guint i = 0; i < r->changes->len; i++)
    {
      TdFolderChange *c = g_ptr_array_index (r->changes, i);
      if (c->event == TD_FOLDER_EVENT_GONE_HERE && r->prune && r->pushes && !r->root_gone)
        c->event = TD_FOLDER_EVENT_PRUNED_THERE, c->pending = TRUE;
      else if (c->event == TD_FOLDER_EVENT_GONE_HERE && r->force)
        {
          c->event = TD_FOLDER_EVENT_RESTORED;
          if (!r->dry_run)
            td_folder_reconcile_forget (r->db, c->folder_id, &c->error);
        }
      else if (c->event == TD_FOLDER_EVENT_GONE_THERE && r->prune && r->pulls)
        {
          if (r->dry_run)
            c->event = TD_FOLDER_EVENT_PRUNED_HERE;
          else
            prune_here (r, c);
        }
    }
  return TRUE;
}
