/* td-local-monitor.h: what a mail reader does to one account's Maildir, seen as it happens.
 *
 * A file monitor on cur/ and new/ of every folder the account syncs. A burst of events in a
 * folder (a reader marking a whole thread read) is coalesced: the folder is looked at once
 * things have been quiet for a moment, or after a bounded delay if they never are. Looking
 * means comparing the folder with the state DB in a worker thread, and only a difference a
 * sync would send (a flag renamed, a message deleted or added) emits "changed" with the
 * folder's name. So the daemon's own writes, which the state DB already records, never set
 * off another sync. While the account syncs, events are only noted, and looked at once the
 * sync is over. Main loop thread; the comparisons run in worker threads, one at a time.
 */
#pragma once

#include "engine/common/td-config.h"
#include "engine/sync/td-sync-runner.h"

G_BEGIN_DECLS

/* A folder is looked at once no event has come for QUIET_MS, or MAX_DELAY_MS after the
 * first event not yet looked at, whichever comes first. */
#define TD_LOCAL_MONITOR_QUIET_MS 200
#define TD_LOCAL_MONITOR_MAX_DELAY_MS 1000
/* Each folder takes two inotify watches; beyond this, folders are left to the poll. */
#define TD_LOCAL_MONITOR_MAX_FOLDERS 1000

#define TD_TYPE_LOCAL_MONITOR (td_local_monitor_get_type ())
G_DECLARE_FINAL_TYPE (TdLocalMonitor, td_local_monitor, TD, LOCAL_MONITOR, GObject)

TdLocalMonitor *td_local_monitor_new (TdConfig *config, TdAccountConfig *account);
void td_local_monitor_follow (TdLocalMonitor *self, const TdAccountReport *report);
void td_local_monitor_hold (TdLocalMonitor *self);
void td_local_monitor_release (TdLocalMonitor *self);
guint td_local_monitor_get_n_folders (TdLocalMonitor *self);

G_END_DECLS
