/* td-account-plan.c: TdAccountPlan, every folder's plan of a run. See td-account-plan.h.
 *
 * The rules of one folder are in td-folder-plan.c; here is what turns a folder's inputs into
 * the right kind of plan, and what the run as a whole adds up to. Nothing here reads a
 * file, the DB or the clock.
 */
#include "engine/sync/td-account-plan.h"

void
td_planned_folder_free (TdPlannedFolder *folder)
{
  if (folder == NULL)
    return;
  g_free (folder->name);
  g_clear_pointer (&folder->plan, td_folder_plan_free);
  g_free (folder);
}

/* A survey lists from where new messages could start; the folder's state may say that none
 * did (new_from 0), and "UID n:*" answers with the highest message even below n. */
static void
keep_new (GArray *added, guint32 new_from)
{
  if (new_from == 0)
    {
      g_array_set_size (added, 0);
      return;
    }
  for (guint i = added->len; i-- > 0;)
    if (g_array_index (added, TdMessageInfo, i).uid < new_from)
      g_array_remove_index (added, i);
}

/**
 * td_planned_folder_new:
 * @policy: the account's policy
 * @force: the user lets the deletion guards through
 * @input: the folder's inputs; its changes' new messages are filtered in place
 *
 * Plans one folder: nothing changed (a plan of the local side alone, for its guards and
 * what the policy keeps), changes (the full plan), or, where the inputs do not tell enough
 * (no local side yet, renumbered, no listing of changes), no plan: the folder is opened at
 * its turn and planned again with what opening it reports.
 *
 * Returns: (transfer full): the folder's share of the account plan
 */
TdPlannedFolder *
td_planned_folder_new (const TdSyncPolicy *policy, gboolean force, TdFolderInput *input)
{
  TdPlannedFolder *folder = g_new0 (TdPlannedFolder, 1);

  folder->name = g_strdup (input->name);
  folder->since = input->point;
  folder->kind = TD_FOLDER_PLAN_CHANGES;
  if (input->local == NULL)
    return folder;
  folder->kind = td_folder_plan_decide (policy, input->local, &input->point, &input->state);
  if (folder->kind != TD_FOLDER_PLAN_CHANGES)
    {
      /* The server side needs no listing of changes (nothing changed, or a re-match lists
       * it all): the local side's plan is what the guards and the counts of kept deletions
       * need. */
      g_autoptr (TdFolderChanges) none = td_folder_changes_new ();
      folder->plan = td_folder_plan_build (policy, force, input->local, &folder->since, none);
      folder->plan->kind = folder->kind;
      return folder;
    }
  if (input->changes == NULL)
    return folder;
  folder->since.new_from = policy->pulls ? td_folder_plan_new_from (&input->point,
                                                                     &input->state)
                                         : 0;
  keep_new (input->changes->added, folder->since.new_from);
  folder->plan = td_folder_plan_build (policy, force, input->local, &folder->since,
                                       input->changes);
  return folder;
}

TdAccountPlan *
td_account_plan_new (void)
{
  TdAccountPlan *plan = g_new0 (TdAccountPlan, 1);
  plan->folders = g_ptr_array_new_with_free_func ((GDestroyNotify) td_planned_folder_free);
  plan->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  return plan;
}

void
td_account_plan_free (TdAccountPlan *plan)
{
  if (plan == NULL)
    return;
  g_hash_table_unref (plan->by_name);
  g_ptr_array_unref (plan->folders);
  g_free (plan);
}

/* Adds (@sign 1) or takes out (-1) what @folder contributes to the totals. */
static void
count (TdAccountPlan *plan, const TdPlannedFolder *folder, int sign)
{
  const TdFolderPlan *p = folder->plan;

  if (p == NULL || folder->kind == TD_FOLDER_PLAN_REMATCH)
    {
      plan->at_turn += sign;
      return;
    }
  if (p->stop != NULL)
    {
      plan->stopped += sign;
      return;
    }
  plan->planned += sign;
  plan->download_count += sign * (int) p->download_count;
  plan->download_bytes += sign * (gint64) p->download_bytes;
  plan->flags_here += sign * (int) p->flags_here;
  plan->flags_there += sign * (int) p->flags_there;
  plan->removals += sign * (int) (p->remove_here ? p->removals->len : 0);
  plan->deletions_there += sign * (int) td_uid_set_count (p->deletions_there);
  plan->uploads += sign * (int) p->uploads;
}

/**
 * td_account_plan_find:
 * @plan: an account plan
 * @name: a folder's server name
 *
 * Returns: (transfer none) (nullable): the folder's share of @plan
 */
TdPlannedFolder *
td_account_plan_find (const TdAccountPlan *plan, const char *name)
{
  return g_hash_table_lookup (plan->by_name, name);
}

/**
 * td_account_plan_add:
 * @plan: an account plan
 * @folder: (transfer full): a folder's plan
 *
 * Adds @folder, or puts it in the place of the folder of the same name (one planned again
 * at its turn, which frees the earlier one), and keeps the totals.
 *
 * Returns: (transfer none): @folder
 */
TdPlannedFolder *
td_account_plan_add (TdAccountPlan *plan, TdPlannedFolder *folder)
{
  TdPlannedFolder *old = g_hash_table_lookup (plan->by_name, folder->name);

  if (old != NULL)
    {
      count (plan, old, -1);
      g_hash_table_remove (plan->by_name, old->name);
      for (guint i = 0; i < plan->folders->len; i++)
        if (g_ptr_array_index (plan->folders, i) == old)
          g_ptr_array_index (plan->folders, i) = folder;
      td_planned_folder_free (old);
    }
  else
    g_ptr_array_add (plan->folders, folder);
  g_hash_table_replace (plan->by_name, folder->name, folder);
  count (plan, folder, 1);
  return folder;
}

/**
 * td_account_plan_build:
 * @policy: the account's policy
 * @force: the user lets the deletion guards through
 * @inputs: (array length=n_inputs): every folder the run syncs, in its order
 * @n_inputs: how many
 * @folder_changes: (nullable) (element-type TdFolderChange): what the folder phase decided
 *   for folders on one side only
 *
 * Returns: (transfer full): the account plan
 */
TdAccountPlan *
td_account_plan_build (const TdSyncPolicy *policy, gboolean force, TdFolderInput *inputs,
                       guint n_inputs, const GPtrArray *folder_changes)
{
  TdAccountPlan *plan = td_account_plan_new ();

  for (guint i = 0; folder_changes != NULL && i < folder_changes->len; i++)
    {
      const TdFolderChange *c = g_ptr_array_index (folder_changes, i);
      if (c->error != NULL || c->event == TD_FOLDER_EVENT_NONE
          || c->event == TD_FOLDER_EVENT_RESTORED)
        continue;
      if (c->event == TD_FOLDER_EVENT_CREATED_THERE)
        plan->created_there++;
      else
        plan->gone++;
    }
  for (guint i = 0; i < n_inputs; i++)
    td_account_plan_add (plan, td_planned_folder_new (policy, force, &inputs[i]));
  return plan;
}
