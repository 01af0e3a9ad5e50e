/* td-sync-runner.h: one sync of one account: lock, credentials, connect, every wanted
 * folder in turn, disconnect. Turns what the server, the disk and the state DB say into
 * actions, and reports what it did per folder.
 *
 * Lives on the main loop thread; disk and database work runs in worker threads, one step
 * at a time per account.
 */
#pragma once

#include "engine/common/td-config.h"
#include "engine/backend/td-plugin-registry.h"
#include "engine/sync/td-sync-policy.h"

G_BEGIN_DECLS

/**
 * TdFolderEvent:
 * @TD_FOLDER_EVENT_NONE: nothing happened to the folder itself
 * @TD_FOLDER_EVENT_CREATED_THERE: made in the Maildir, created on the server
 * @TD_FOLDER_EVENT_GONE_HERE: deleted in the Maildir, kept on the server and not synced
 * @TD_FOLDER_EVENT_GONE_THERE: deleted on the server, kept in the Maildir
 * @TD_FOLDER_EVENT_PRUNED_THERE: deleted in the Maildir, then on the server (--prune-folders)
 * @TD_FOLDER_EVENT_PRUNED_HERE: deleted on the server, then in the Maildir (--prune-folders)
 * @TD_FOLDER_EVENT_RESTORED: deleted in the Maildir, downloaded again (--force)
 */
typedef enum
{
  TD_FOLDER_EVENT_NONE,
  TD_FOLDER_EVENT_CREATED_THERE,
  TD_FOLDER_EVENT_GONE_HERE,
  TD_FOLDER_EVENT_GONE_THERE,
  TD_FOLDER_EVENT_PRUNED_THERE,
  TD_FOLDER_EVENT_PRUNED_HERE,
  TD_FOLDER_EVENT_RESTORED,
} TdFolderEvent;

const char *td_folder_event_to_string (TdFolderEvent event);

typedef struct
{
  char *name;
  TdFolderEvent event;  /* what happened to the folder itself */
  guint added;
  guint flags_changed;
  guint flags_pushed;   /* messages whose flags were changed on the server */
  guint removed;
  guint matched;        /* re-matched after a UIDVALIDITY change */
  guint uploaded;       /* local messages the server now has */
  guint deleted_remote; /* messages deleted on the server because the reader deleted them */
  guint moved;          /* messages the reader moved here, moved on the server (no upload) */
  guint trashed;        /* of @deleted_remote, messages moved to the Trash folder (trash =) */
  guint kept;           /* local deletions not sent, or server ones not applied (policy) */
  guint64 bytes;
  gboolean unchanged;   /* skipped: nothing changed since the last sync */
  gboolean first_sync;  /* the folder had never been synced: what came is a backfill */
  gboolean estimate;    /* dry run: the counts are at most (a re-match by Message-ID decides) */
  char *path;           /* the folder's directory in the Maildir, nullable */
  guint added_unseen;   /* of @added, the messages without \Seen */
  GPtrArray *new_files; /* paths of the first TD_REPORT_MAX_NEW_FILES of @added_unseen */
  GPtrArray *skipped;   /* nullable: files left out of the sync and why, a line each */
  guint unreadable;     /* of @skipped, files that could not be read: the run ends with 1 */
  guint too_big;        /* messages over max-size left on the server */
  guint too_old;        /* messages older than max-age left on the server */
  guint keywords_unshown; /* keywords the files cannot show: all 26 Maildir letters taken
                             (kept in the state DB), or beyond TD_KEYWORD_SLOTS (kept on
                             the server only) */
  TdSpecialUse special; /* what the server says the folder is for (SPECIAL-USE) */
  GError *error;
} TdFolderReport;

/* How many new messages a report names by file (for new-mail notices). */
#define TD_REPORT_MAX_NEW_FILES 20

typedef struct
{
  char *account;
  GPtrArray *folders;   /* TdFolderReport */
  GError *error;        /* what stopped the account, if anything */
  gboolean download_only; /* a mailbox that is only downloaded (POP3): one folder, no flags */
  gboolean has_policy;  /* @policy is known: the run got as far as its backend */
  TdSyncPolicy policy;  /* what the run let flow which way */
} TdAccountReport;

void td_account_report_free (TdAccountReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdAccountReport, td_account_report_free)

/* Where a download stands: the plan's totals against what has come down (written to tmp/,
 * durable or not); @bytes_total is 0 when the server did not say. With @folder_done the
 * folder is finished and the counts are what its report holds. */
typedef struct
{
  const char *account;
  const char *folder;
  guint folder_index;   /* 1-based, among the folders this run syncs */
  guint folder_count;
  guint messages;
  guint messages_total;
  guint64 bytes;
  guint64 bytes_total;
  gboolean folder_done;
  /* The run as a whole: what has come down in every folder against the account plan's
   * totals (folders planned at their turn count once planned); totals 0 where the run has
   * no account plan (a download-only mailbox). */
  guint run_messages;
  guint run_messages_total;
  guint64 run_bytes;
  guint64 run_bytes_total;
} TdSyncProgress;

/* Called on the main loop while a folder downloads (at least every quarter second and after
 * each durable batch), and once as each folder ends. */
typedef void (*TdProgressFunc) (const TdSyncProgress *progress, gpointer user_data);

typedef struct
{
  char **folder_patterns;  /* --folder, nullable */
  char **folder_names;     /* exactly these folders (as the Maildir names them), nullable */
  TdProgressFunc progress;
  gpointer progress_data;
  guint lock_wait_ms;      /* how long to wait for another run's lock */
  gboolean force;          /* let the deletion guards through; download deleted folders again */
  gboolean prune_folders;  /* delete a folder deleted on one side on the other side too */
  gboolean dry_run;        /* change nothing anywhere: report what a sync would do */
} TdSyncOptions;

#define TD_TYPE_SYNC_RUNNER (td_sync_runner_get_type ())
G_DECLARE_FINAL_TYPE (TdSyncRunner, td_sync_runner, TD, SYNC_RUNNER, GObject)

TdSyncRunner *td_sync_runner_new (TdConfig *config, TdAccountConfig *account,
                                  TdPluginRegistry *registry, const TdSyncOptions *options);
void td_sync_runner_run_async (TdSyncRunner *self, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
TdAccountReport *td_sync_runner_run_finish (TdSyncRunner *self, GAsyncResult *result);

G_END_DECLS
