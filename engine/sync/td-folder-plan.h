/* td-folder-plan.h: TdFolderPlan, what one folder's sync will do, decided before anything
 * is done.
 *
 * Built from what the server reported (the folder's state and its changes since the sync
 * point, new messages with their sizes), what the disk holds (the scan) and what the state
 * DB remembers, under the account's TdSyncPolicy. Building it is a pure function: no I/O,
 * no clock, so it is unit-tested without a server. The runner carries a plan out; the dry
 * run counts it into the folder's report and stops; progress totals come from it.
 * A plan is plain data, built in a worker thread and then handed to the main loop.
 */
#pragma once

#include "engine/backend/td-backend.h"
#include "engine/sync/td-local-folder.h"
#include "engine/sync/td-sync-policy.h"
#include "engine/sync/td-sync-runner.h"

G_BEGIN_DECLS

/**
 * TdFolderPlanKind:
 * @TD_FOLDER_PLAN_CHANGES: list what changed since the sync point, then carry the plan out
 * @TD_FOLDER_PLAN_UNCHANGED: neither side changed since the sync point: nothing to do
 * @TD_FOLDER_PLAN_REMATCH: the server renumbered the folder (UIDVALIDITY), or the Maildir
 *   holds mail the state DB never knew: list the whole folder and match by Message-ID and
 *   size; what matches nothing is downloaded
 *
 * What a folder needs once it is open, before anything is listed.
 */
typedef enum
{
  TD_FOLDER_PLAN_CHANGES,
  TD_FOLDER_PLAN_UNCHANGED,
  TD_FOLDER_PLAN_REMATCH,
} TdFolderPlanKind;

/* The deletion guard: a run may not delete more than half of a folder this big on either
 * side unless forced, since that is likelier a server or disk gone wrong than a user's wish. */
#define TD_DELETION_GUARD_MIN_MESSAGES 20

/* A message's UID and the size the server said. */
typedef struct
{
  guint32 uid;
  guint64 size;
} TdUidSize;

typedef struct
{
  TdFolderPlanKind kind;
  GError *stop;          /* a guard stopped the folder: nothing is done in it */
  GArray *flags;         /* TdFlagPlan, by ascending UID */
  GPtrArray *stores;     /* TdBackendFlagStore: what brings the server to the merged flags */
  guint flags_here;      /* files whose flags change */
  guint flags_there;     /* messages whose flags change on the server */
  GArray *removals;      /* guint32, descending: known UIDs the server no longer has */
  gboolean remove_here;  /* removals delete the files; otherwise the files stay, local-only */
  GArray *downloads;     /* TdUidRange: what comes down */
  guint download_count;
  guint64 download_bytes; /* of the downloads whose size the server said */
  GArray *download_sizes; /* TdUidSize: those downloads, by ascending UID */
  GArray *deletions_there; /* TdUidRange: the reader's deletions, deleted on the server */
  guint kept;            /* deletions either side that the policy does not carry over */
  guint uploads;         /* new local messages (and unsettled uploads) to send */
  guint too_big;         /* messages max-size leaves on the server, those of earlier runs too */
  guint too_old;         /* messages max-age leaves there, likewise */
  GArray *left_new;      /* TdStateLeft: of those, the ones to record */
  GArray *left_gone;     /* guint32: records to drop: held now, or gone from the server */
} TdFolderPlan;

TdFolderPlanKind td_folder_plan_decide (const TdSyncPolicy *policy, const TdLocalSide *local,
                                        const TdSyncPoint *point, const TdFolderState *state);
gboolean td_folder_plan_local_work (const TdSyncPolicy *policy, const TdLocalSide *local);
guint32 td_folder_plan_new_from (const TdSyncPoint *point, const TdFolderState *state);
TdFolderPlan *td_folder_plan_build (const TdSyncPolicy *policy, gboolean force,
                                    const TdLocalSide *local, const TdSyncPoint *since,
                                    const TdFolderChanges *changes);
void td_folder_plan_count (const TdFolderPlan *plan, TdFolderReport *report);
void td_folder_plan_free (TdFolderPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdFolderPlan, td_folder_plan_free)

G_END_DECLS
