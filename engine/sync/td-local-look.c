/* td-local-look.c: a folder's local side compared with the state DB, changing nothing.
 * See td-local-look.h. */
#include "engine/sync/td-local-look.h"

#include "engine/sync/td-folder-plan.h"
#include "engine/sync/td-local-folder.h"
#include "storage/td-maildir.h"
#include "storage/td-state-db.h"

/**
 * td_local_look_would_send:
 * @db_path: the state DB
 * @account: the account
 * @policy: the policy of the account's last sync
 * @name: the folder as the state DB names it
 * @components: its directories below the account's Maildir
 * @would_send: (out): whether a sync would send something: the planner's own rule
 * @error: return location for an error
 *
 * Scans the folder and compares it with the state DB, read-only.
 *
 * Returns: %FALSE when the folder or the DB cannot be read
 */
gboolean
td_local_look_would_send (const char *db_path, const TdAccountConfig *account,
                          const TdSyncPolicy *policy, const char *name, char **components,
                          gboolean *would_send, GError **error)
{
  g_autoptr (TdStateDb) db = td_state_db_open (db_path, error);
  g_autoptr (TdMaildir) maildir = db != NULL ? td_maildir_open (account->maildir,
                                                                account->inbox, error)
                                              : NULL;
  g_autoptr (TdLocalFolder) local = NULL;

  if (maildir == NULL)
    return FALSE;
  local = td_local_folder_prepare (db, maildir, account->name, name, components, TRUE, TRUE,
                                   error);
  if (local == NULL)
    return FALSE;
  *would_send = td_folder_plan_local_work (policy, td_local_folder_get_side (local));
  return TRUE;
}
