/* td-sync-runner.h: one sync of one account: lock, credentials, connect, every wanted
 * folder in turn, disconnect. Turns what the server, the disk and the state DB say into
 * actions, and reports what it did per folder.
 *
 * Lives on the main loop thread; disk and database work runs in worker threads, one step
 * at a time per account.
 */
#pragma once

#include "td-config.h"
#include "td-plugin-registry.h"

G_BEGIN_DECLS

typedef struct
{
  char *name;
  guint added;
  guint flags_changed;
  guint flags_pushed;   /* messages whose flags were changed on the server */
  guint removed;
  guint matched;        /* re-matched after a UIDVALIDITY change */
  guint uploaded;       /* local messages the server now has */
  guint deleted_remote; /* messages deleted on the server because the reader deleted them */
  guint kept;           /* local deletions not sent, or server ones not applied (policy) */
  guint64 bytes;
  gboolean unchanged;   /* skipped: nothing changed since the last sync */
  GError *error;
} TdFolderReport;

typedef struct
{
  char *account;
  GPtrArray *folders;   /* TdFolderReport */
  GError *error;        /* what stopped the account, if anything */
} TdAccountReport;

void td_account_report_free (TdAccountReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdAccountReport, td_account_report_free)

/* Called on the main loop while a folder downloads. */
typedef void (*TdProgressFunc) (const char *account, const char *folder, guint messages,
                                guint64 bytes, gpointer user_data);

typedef struct
{
  char **folder_patterns;  /* --folder, nullable */
  TdProgressFunc progress;
  gpointer progress_data;
  guint lock_wait_ms;      /* how long to wait for another run's lock */
  gboolean force;          /* let the deletion guard through */
} TdSyncOptions;

#define TD_TYPE_SYNC_RUNNER (td_sync_runner_get_type ())
G_DECLARE_FINAL_TYPE (TdSyncRunner, td_sync_runner, TD, SYNC_RUNNER, GObject)

TdSyncRunner *td_sync_runner_new (TdConfig *config, TdAccountConfig *account,
                                  TdPluginRegistry *registry, const TdSyncOptions *options);
void td_sync_runner_run_async (TdSyncRunner *self, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
TdAccountReport *td_sync_runner_run_finish (TdSyncRunner *self, GAsyncResult *result);

G_END_DECLS
