/* td-local-look.h: whether a folder's next sync would send something, looked at from outside
 * a sync: the daemon's Maildir monitor asks it after a mail reader touched the folder.
 * Blocking (a scan and a few DB reads): for a worker thread.
 */
#pragma once

#include "engine/common/td-config.h"
#include "engine/sync/td-sync-policy.h"

G_BEGIN_DECLS

gboolean td_local_look_would_send (const char *db_path, const TdAccountConfig *account,
                                   const TdSyncPolicy *policy, const char *name,
                                   char **components, gboolean *would_send, GError **error);

G_END_DECLS
