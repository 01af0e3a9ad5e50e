/* td-sync-summary.c: see td-sync-summary.h. */
#include "engine/sync/td-sync-summary.h"

/**
 * td_sync_counts_of_report:
 * @report: an account's report
 * @counts: (out): its folders' counts added up
 * @unchanged: (out) (optional): how many folders were skipped as unchanged
 * @failed: (out) (optional): how many folders failed
 */
void
td_sync_counts_of_report (const TdAccountReport *report, TdSyncCounts *counts,
                          guint *unchanged, guint *failed)
{
  guint skipped = 0, broken = 0;

  *counts = (TdSyncCounts) { 0 };
  for (guint i = 0; i < report->folders->len; i++)
    {
      const TdFolderReport *f = g_ptr_array_index (report->folders, i);
      counts->added += f->added;
      counts->bytes += f->bytes;
      counts->flags_changed += f->flags_changed;
      counts->removed += f->removed;
      counts->uploaded += f->uploaded;
      counts->flags_pushed += f->flags_pushed;
      counts->deleted_remote += f->deleted_remote;
      counts->too_big += f->too_big;
      counts->too_old += f->too_old;
      counts->moved += f->moved;
      skipped += f->unchanged;
      broken += f->error != NULL;
    }
  if (unchanged != NULL)
    *unchanged = skipped;
  if (failed != NULL)
    *failed = broken;
}

/**
 * td_sync_counts_describe:
 * @counts: what a sync did
 *
 * Returns: (transfer full): "3 new (1.2 MB), 1 flag change; 2 uploaded", leaving out what is
 *   zero, or "nothing new" when all is (messages max-size or max-age left on the server
 *   count as something)
 */
char *
td_sync_counts_describe (const TdSyncCounts *c)
{
  GString *here = g_string_new (NULL), *there = g_string_new (NULL);

  if (c->added > 0)
    {
      g_autofree char *size = g_format_size_full (c->bytes, G_FORMAT_SIZE_DEFAULT);
      g_string_append_printf (here, "%u new (%s)", c->added, size);
    }
  if (c->flags_changed > 0)
    g_string_append_printf (here, "%s%u flag %s", here->len ? ", " : "", c->flags_changed,
                            c->flags_changed == 1 ? "change" : "changes");
  if (c->removed > 0)
    g_string_append_printf (here, "%s%u removed", here->len ? ", " : "", c->removed);
  if (c->too_big > 0)
    g_string_append_printf (here, "%s%u over max-size left on the server", here->len ? ", " : "",
                            c->too_big);
  if (c->too_old > 0)
    g_string_append_printf (here, "%s%u older than max-age left on the server",
                            here->len ? ", " : "", c->too_old);
  if (c->uploaded > 0)
    g_string_append_printf (there, "%u uploaded", c->uploaded);
  if (c->moved > 0)
    g_string_append_printf (there, "%s%u moved", there->len ? ", " : "", c->moved);
  guint sent = c->flags_pushed + c->deleted_remote;
  if (sent > 0)
    g_string_append_printf (there, "%s%u %s sent", there->len ? ", " : "", sent,
                            sent == 1 ? "change" : "changes");
  if (here->len == 0 && there->len == 0)
    g_string_append (here, "nothing new");
  if (here->len > 0 && there->len > 0)
    g_string_append (here, "; ");
  g_string_append (here, there->str);
  g_string_free (there, TRUE);
  return g_string_free (here, FALSE);
}

/**
 * td_sync_folders_describe:
 * @folders: how many folders the sync covered
 * @unchanged: how many of them were skipped as unchanged
 *
 * Returns: (transfer full): "in 3 folders (2 unchanged)", "in 1 folder"
 */
char *
td_sync_folders_describe (guint folders, guint unchanged)
{
  if (unchanged == 0)
    return g_strdup_printf ("in %u %s", folders, folders == 1 ? "folder" : "folders");
  return g_strdup_printf ("in %u %s (%u unchanged)", folders, folders == 1 ? "folder" : "folders",
                          unchanged);
}
