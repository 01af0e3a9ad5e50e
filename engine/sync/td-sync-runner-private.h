/* td-sync-runner-private.h: the sync runner's state, shared by the files of its phases
 * (td-sync-runner.c: the account and each folder; td-sync-folders.c: folders on one side
 * only). Main loop thread; never installed.
 */
#pragma once

#include "storage/td-maildir.h"
#include "storage/td-state-db.h"
#include "engine/backend/td-backend.h"
#include "engine/sync/td-account-plan.h"
#include "engine/sync/td-folder-plan.h"
#include "engine/sync/td-folder-reconcile.h"
#include "engine/sync/td-local-folder.h"
#include "engine/sync/td-maildir-sink.h"
#include "engine/sync/td-sync-runner.h"

G_BEGIN_DECLS

typedef struct _TdDownloadRun TdDownloadRun;

/* What a run may hold at once: state DB rows of the folders planned ahead or waiting for a
 * round (the rows of every message, the scan of their files). Beyond it, a folder is
 * prepared and planned at its turn. */
#define TD_RUN_MAX_ROWS 200000

typedef gboolean (*WorkFunc) (TdSyncRunner *self, gpointer arg, GError **error);

/* How a phase (the folders on one side only, a download-only mailbox) hands back to the
 * runner: with the error that ends the account, or NULL to go on. */
typedef void (*TdPhaseDone) (TdSyncRunner *self, GError *error);

/* One download into a folder: messages stream into the sink, and batches are made durable
 * by @commit on the worker thread, together with those of the other pumps under way, one
 * commit at a time, while the download goes on. */
typedef struct _TdFetchPump TdFetchPump;
struct _TdFetchPump
{
  TdSyncRunner *runner;    /* borrowed, while under way */
  gpointer owner;          /* borrowed: what the steps below work for (a folder's run) */
  TdMaildirSink *sink;
  TdFolderReport *report;  /* borrowed: added and bytes are counted here */
  /* makes the batches (GPtrArray of TdPendingMessage) of @pumps durable together, in a
   * worker; every pump under way in a run has the same commit step */
  gboolean (*commit) (TdSyncRunner *self, GPtrArray *pumps, GPtrArray *batches, GError **error);
  /* nullable: a batch is durable */
  void (*stored) (TdSyncRunner *self, TdFetchPump *pump, GPtrArray *batch);
  /* all stored, or the first error */
  void (*done) (TdSyncRunner *self, TdFetchPump *pump, GError *error);
  guint total;             /* messages to download */
  guint64 bytes_total;     /* their size, where the plan knows it; else 0 */
  guint folder_index;      /* which folder of the run, for progress; 0: the runner's current */
  gboolean fetch_done;
  gboolean refused;        /* a batch could not be made durable: no more are tried */
  GError *error;
};

/* One folder of the run as the survey left it, before its turn. */
typedef struct
{
  TdFolderInfo *info;      /* borrowed from the runner's folder list */
  char **components;       /* its Maildir path, or NULL with @error */
  GError *error;           /* nullable: what fails the folder at its turn */
  gboolean unchanged;      /* nothing changed on either side: not even opened */
  gboolean surveyed;       /* opened in the survey, asked about @asked */
  TdSyncPoint asked;       /* the sync point the survey's listing answers */
  guint survey_index;      /* with @surveyed: its place in the survey's round */
  TdFolderSurvey *survey;  /* nullable: what the survey told */
  TdLocalFolder *local;    /* nullable: prepared ahead for the account plan, till its turn */
  TdSyncPoint point;       /* with @local: the sync point its rows hold */
  guint moved_in;          /* messages the reader moved here, moved on the server */
} TdFolderEntry;

void td_folder_entry_free (TdFolderEntry *entry);

typedef struct
{
  TdFolderInfo *info;      /* borrowed from the runner's folder list */
  TdFolderEntry *entry;    /* borrowed from the runner's entries */
  gboolean open;           /* the backend has this folder open */
  GError *work_error;      /* nullable: what failed it in the round */
  guint folder_index;      /* which folder of the run it is */
  TdFolderReport *report;  /* borrowed from the account report */
  TdLocalFolder *local;
  TdFolderState state;
  TdSyncPoint point;
  TdFolderPlan *plan;      /* borrowed from the account plan: what the folder's sync does */
  GArray *to_fetch;        /* TdUidRange */
  TdFetchPump pump;
  GArray *deleting;        /* TdUidRange: local deletions being sent */
  GPtrArray *sending;      /* TdLocalUpload: the batch of uploads under way */
  guint upload_next;       /* index in local->uploads of the next batch */
  guint unsettled_left;    /* uploads the last listing did not find */
  gboolean looked_again;   /* the listing for unsettled uploads was made a second time */
  void (*after_settle) (TdSyncRunner *self);
} FolderRun;

/* How long to wait before looking again for uploads a listing did not find. */
#define TD_UPLOAD_LOOK_AGAIN_MS 1000

struct _TdSyncRunner
{
  GObject parent_instance;
  TdConfig *config;
  TdAccountConfig *account;
  TdPluginRegistry *registry;
  TdSyncOptions options;
  TdSyncPolicy policy;
  GCancellable *cancellable;
  GTask *task;
  TdAccountReport *report;
  int lock_fd;
  gint64 lock_deadline;
  TdStateDb *db;
  TdMaildir *maildir;
  TdBackend *backend;
  GPtrArray *listing; /* TdFolderInfo: everything the server listed */
  GPtrArray *folders; /* borrowed TdFolderInfo: the ones to sync, in order */
  GPtrArray *entries; /* TdFolderEntry: the survey of each of @folders, in order */
  TdAccountPlan *plan; /* every folder's plan, made after the survey */
  GPtrArray *changes; /* TdFolderChange: folders on one side only */
  guint next_change;
  char delimiter;     /* the server's hierarchy delimiter */
  const char *trash;  /* nullable: where the reader's deletions go, as @listing names it */
  GHashTable *synced; /* display name (the DB's key) -> TdStateFolderSummary */
  guint next_folder;
  FolderRun *run;
  GPtrArray *parked;       /* FolderRun: waiting for the next round */
  guint parked_rows;       /* state DB rows the parked folders hold */
  GPtrArray *round;        /* FolderRun: the round under way or being finished */
  GPtrArray *round_work;   /* TdFolderWork: what the backend does in it */
  guint round_pending;     /* the backend's call and the pumps still out */
  guint round_next;        /* the next folder of the round to report */
  gboolean round_recorded; /* its folders' side here and sync points are in the state DB */
  GError *round_error;     /* what ended the round for the whole account */
  void (*round_back) (TdSyncRunner *self); /* where a round hands back: the next folder */
  GPtrArray *round_parts;  /* RoundPart: the round's share of each connection */
  GPtrArray *extras;       /* TdBackend: connections beyond @backend, logged in */
  gboolean extras_tried;   /* the extra connections were asked for in this run */
  guint extras_pending;    /* logins or logouts of connections under way, and a hold */
  void (*extras_then) (TdSyncRunner *self); /* where they hand back */
  TdDownloadRun *download; /* the one mailbox of a download-only backend */
  GPtrArray *pumps;        /* TdFetchPump: the downloads under way, in folder order */
  gboolean committing;     /* a pump's batch is being made durable */
  guint pump_timer;        /* progress and batches due by age, while pumps are under way */
  TdPhaseDone phase_done;  /* where the phase under way hands back */
};

void td_folder_run_free (FolderRun *run);
gboolean td_sync_runner_commit_runs (TdSyncRunner *self, GPtrArray *pumps, GPtrArray *batches,
                                     GError **error);
void td_sync_runner_work (TdSyncRunner *self, WorkFunc fn, gpointer arg,
                          GAsyncReadyCallback callback);
gboolean td_sync_runner_work_finish (GAsyncResult *result, GError **error);
void td_sync_runner_fetch (TdSyncRunner *self, TdFetchPump *pump, TdMaildirFolder *folder,
                           GArray *uids);
TdMessageSink *td_sync_runner_start_pump (TdSyncRunner *self, TdFetchPump *pump,
                                          TdMaildirFolder *folder, GArray *uids);
void td_sync_runner_pump_fetched (TdSyncRunner *self, TdFetchPump *pump, GError *error);
void td_fetch_pump_clear (TdFetchPump *pump);
gboolean td_sync_runner_wants (TdSyncRunner *self, const char *display);
gboolean td_sync_runner_load_summaries (TdSyncRunner *self, GError **error);
gboolean td_sync_runner_select_folders (TdSyncRunner *self, GError **error);
int td_sync_runner_compare_folders (gconstpointer a, gconstpointer b);
void td_sync_runner_folder_done (TdSyncRunner *self, const TdFolderReport *report);
TdFolderReport *td_sync_runner_add_report (TdSyncRunner *self, const char *name, char delimiter);

/* td-sync-steps.c: see the declarations above */

/* td-sync-folders.c */
void td_sync_runner_reconcile_folders (TdSyncRunner *self);

/* td-sync-rounds.c */
typedef enum
{
  TD_ROUND_NONE,    /* no round under way: go on with the next folder */
  TD_ROUND_BUSY,    /* the round is being recorded; it hands back through round_back */
  TD_ROUND_FOLDER,  /* a folder of the round is the runner's current one, to be ended */
  TD_ROUND_FAILED,  /* the round failed for the whole account */
} TdRoundStep;

gboolean td_sync_runner_joins_round (TdSyncRunner *self, const TdFolderPlan *plan);
void td_sync_runner_park (TdSyncRunner *self);
gboolean td_sync_runner_round_due (TdSyncRunner *self);
void td_sync_runner_start_round (TdSyncRunner *self);
TdRoundStep td_sync_runner_resume_round (TdSyncRunner *self, GError **error);

/* td-sync-connections.c */
void td_sync_runner_add_connections (TdSyncRunner *self, void (*then) (TdSyncRunner *self));
void td_sync_runner_drop_connection (TdSyncRunner *self, TdBackend *backend);
void td_sync_runner_disconnect_all (TdSyncRunner *self, void (*then) (TdSyncRunner *self));

/* td-sync-moves.c */
void td_sync_runner_moves (TdSyncRunner *self);

/* td-sync-survey.c */
void td_sync_runner_survey (TdSyncRunner *self);
void td_sync_runner_plan (TdSyncRunner *self);
gboolean td_sync_runner_plan_entry (TdSyncRunner *self, TdFolderEntry *entry, GError **error);

/* td-sync-downloads.c */
void td_sync_runner_download_mailbox (TdSyncRunner *self);
void td_download_run_free (TdDownloadRun *run);

G_END_DECLS
