/* td-folder-reconcile.h: which folders exist on which side, and what becomes of a folder
 * that exists on one side only.
 *
 * A folder made in the Maildir is created on the server; one the server gained is created
 * here by the ordinary sync. A folder deleted on one side is never deleted on the other
 * until the user says so (--prune-folders); till then it is reported and left alone. Plain
 * blocking code (a directory walk, a few DB rows) for the sync runner's worker thread.
 */
#pragma once

#include "storage/td-maildir.h"
#include "storage/td-state-db.h"
#include "engine/common/td-config.h"
#include "engine/sync/td-sync-runner.h"
#include "engine/common/td-types.h"

G_BEGIN_DECLS


/* What became (or, with @pending, is to become) of one folder. */
typedef struct
{
  char *name;          /* the decoded server name */
  TdFolderEvent event;
  gboolean pending;    /* the server side is still to be done (CREATE or DELETE) */
  gint64 folder_id;    /* its state DB record, or 0 */
  GError *error;       /* what stopped it */
} TdFolderChange;

void td_folder_change_free (TdFolderChange *change);

typedef gboolean (*TdFolderWantedFunc) (const char *display, gpointer data);

typedef struct
{
  /* in */
  TdStateDb *db;
  TdMaildir *maildir;
  const TdAccountConfig *account;
  GHashTable *synced;        /* display name ('/' between levels), the DB's key ->
                              TdStateFolderSummary */
  GPtrArray *listing;        /* TdFolderInfo: every folder the server listed */
  TdFolderWantedFunc wanted;
  gpointer wanted_data;
  gboolean pushes, pulls, prune, force, dry_run;
  /* out */
  char delimiter;            /* the server's hierarchy delimiter */
  GPtrArray *changes;        /* TdFolderChange */
  guint root_gone;           /* every synced folder is missing here: how many */
} TdFolderReconcile;

void td_folder_reconcile_clear (TdFolderReconcile *r);
gboolean td_folder_reconcile_run (TdFolderReconcile *r, GError **error);
gboolean td_folder_reconcile_forget (TdStateDb *db, gint64 folder_id, GError **error);

G_END_DECLS
