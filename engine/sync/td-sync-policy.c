/* td-sync-policy.c: TdSyncPolicy. See td-sync-policy.h. */
#include "engine/sync/td-sync-policy.h"

static gboolean
direction_includes (TdDirection d, TdDirection way)
{
  return d == TD_DIRECTION_BOTH || d == way;
}

/**
 * td_sync_policy_init:
 * @policy: (out caller-allocates): the policy
 * @account: the account's configuration
 * @caps: what its backend can do
 *
 * Fills @policy from the account's `sync` and `deletes` keys and the backend's abilities.
 */
void
td_sync_policy_init (TdSyncPolicy *policy, const TdAccountConfig *account, TdBackendCaps caps)
{
  g_return_if_fail (policy != NULL && account != NULL);

  policy->download_only = (caps & TD_BACKEND_CAP_UNIQUE_IDS) != 0;
  policy->pulls = account->sync != TD_DIRECTION_PUSH;
  policy->pushes = account->sync != TD_DIRECTION_PULL && (caps & TD_BACKEND_CAP_STORE);
  policy->deletes_here = policy->pulls && direction_includes (account->deletes, TD_DIRECTION_PULL);
  policy->deletes_there = policy->pushes
                          && direction_includes (account->deletes, TD_DIRECTION_PUSH)
                          && (caps & TD_BACKEND_CAP_EXPUNGE);
  policy->uploads = policy->pushes && (caps & TD_BACKEND_CAP_APPEND);
  policy->creates_folders = policy->pushes && (caps & TD_BACKEND_CAP_CREATE_FOLDER);
  policy->max_size = account->max_size;
}
