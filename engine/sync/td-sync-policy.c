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
 * Fills @policy from the account's `sync` and `deletes` keys and the backend's abilities,
 * and turns max-age into a date from the clock now: a run keeps one cut-off throughout.
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
  policy->not_before = account->max_age_days > 0
                         ? g_get_real_time () / G_USEC_PER_SEC
                             - (gint64) account->max_age_days * 24 * 60 * 60
                         : 0;
}

/**
 * td_sync_policy_leaves:
 * @policy: the account's policy
 * @size: the message's size on the server (0 when not known)
 * @internal_date: the server's INTERNALDATE, seconds since the epoch (-1 when not known)
 *
 * The one rule for what max-size and max-age keep on the server, for the planner, the
 * survey's look at earlier runs' records and the dry run alike. A message whose size or date
 * is not known comes down: leaving it would hide it for good.
 *
 * Returns: why the message stays on the server, or %TD_LEAVE_NONE when it comes down
 */
TdLeaveReason
td_sync_policy_leaves (const TdSyncPolicy *policy, guint64 size, gint64 internal_date)
{
  if (policy->not_before > 0 && internal_date >= 0 && internal_date < policy->not_before)
    return TD_LEAVE_TOO_OLD;
  if (policy->max_size > 0 && size > policy->max_size)
    return TD_LEAVE_TOO_BIG;
  return TD_LEAVE_NONE;
}
