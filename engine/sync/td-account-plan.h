/* td-account-plan.h: TdAccountPlan, what one sync of an account will do, every folder at
 * once, decided before anything is done to a message.
 *
 * Built after the folder phase and the survey, from each folder's inputs: what the state
 * DB's rows say (the sync point), what the disk holds (the scan), and what the survey's
 * pipelined round reported when it opened the folder (its state, and its changes since the
 * sync point: flag changes, VANISHED or the UIDs left, new messages with their sizes). Each
 * folder's plan is a TdFolderPlan; the account plan holds them in the run's order, with the
 * folders the folder phase creates or deletes, and the run's totals. Building it is a pure
 * function: no I/O, no clock, so it is unit-tested without a server.
 *
 * The runner carries the account plan out folder by folder (pipelined in rounds where the
 * plans allow), the dry run counts it and stops, and progress totals come from it. A folder
 * the survey could not tell everything about (renumbered, unsettled uploads, never opened
 * because the run holds too many rows already) is planned when its turn comes, with the
 * same function, and added to the plan then.
 *
 * Plain data; built in a worker thread and then read on the main loop.
 */
#pragma once

#include "engine/sync/td-folder-plan.h"
#include "engine/sync/td-folder-reconcile.h"

G_BEGIN_DECLS

/* What one folder's plan is made from. The inputs are only read, except @changes, which
 * the plan keeps (its new messages below where new ones can start are dropped). */
typedef struct
{
  const char *name;           /* the server's (decoded) name */
  const TdLocalSide *local;   /* nullable: not prepared yet; the folder is planned at its turn */
  TdSyncPoint point;          /* the sync point the folder's rows hold */
  TdFolderState state;        /* the folder's state, as the server said when it was opened */
  TdFolderChanges *changes;   /* nullable: its changes since @point, as the survey listed them */
} TdFolderInput;

/* One folder of the plan. */
typedef struct
{
  char *name;
  TdFolderPlanKind kind;
  TdFolderPlan *plan;         /* nullable: the inputs did not tell enough; the folder is
                                 opened at its turn and planned again. With UNCHANGED or
                                 REMATCH, the plan of the local side alone (its guards, what
                                 the policy keeps); a REMATCH is listed whole at its turn */
  TdSyncPoint since;          /* the request @plan answers: the point, new_from set */
} TdPlannedFolder;

void td_planned_folder_free (TdPlannedFolder *folder);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdPlannedFolder, td_planned_folder_free)

/* Folders the listing and the directory times show unchanged are not in it: they are not
 * opened and nothing is done to them. */
typedef struct
{
  GPtrArray *folders;         /* TdPlannedFolder, in the run's order */
  GHashTable *by_name;        /* name -> borrowed TdPlannedFolder */
  guint created_there;        /* folders made here, created on the server by the folder phase */
  guint gone;                 /* folders on one side only, reported or pruned */
  /* Totals of the folders planned, stopped ones left out */
  guint planned;              /* folders with a plan */
  guint at_turn;              /* folders planned at their turn (re-matches among them) */
  guint stopped;              /* folders a guard stops */
  guint download_count;
  guint64 download_bytes;
  guint flags_here;
  guint flags_there;
  guint removals;
  guint deletions_there;
  guint uploads;
} TdAccountPlan;

TdPlannedFolder *td_planned_folder_new (const TdSyncPolicy *policy, gboolean force,
                                        TdFolderInput *input);
TdAccountPlan *td_account_plan_new (void);
TdPlannedFolder *td_account_plan_add (TdAccountPlan *plan, TdPlannedFolder *folder);
TdAccountPlan *td_account_plan_build (const TdSyncPolicy *policy, gboolean force,
                                      TdFolderInput *inputs, guint n_inputs,
                                      const GPtrArray *folder_changes);
TdPlannedFolder *td_account_plan_find (const TdAccountPlan *plan, const char *name);
void td_account_plan_free (TdAccountPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdAccountPlan, td_account_plan_free)

G_END_DECLS
