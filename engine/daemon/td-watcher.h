/* td-watcher.h: push for one account: connections that wait for the server to report a
 * change, at most TD_WATCHER_MAX_CONNECTIONS. Each watches as many folders as the backend
 * can on one connection (IMAP NOTIFY: all of them; IDLE: one); if the server refuses to
 * watch several at once after all, the watcher starts again with one folder each.
 *
 * Emits "changed" with a folder's Maildir name when the server reports a change there, and
 * "lost" when a connection fails, after which it has stopped: the daemon syncs (which shows
 * whether the server is back) and starts it again after a sync that went well.
 * Main loop thread only.
 */
#pragma once

#include "engine/common/td-config.h"
#include "engine/backend/td-plugin-registry.h"

G_BEGIN_DECLS

#define TD_WATCHER_MAX_CONNECTIONS 8

#define TD_TYPE_WATCHER (td_watcher_get_type ())
G_DECLARE_FINAL_TYPE (TdWatcher, td_watcher, TD, WATCHER, GObject)

TdWatcher *td_watcher_new (TdAccountConfig *account, TdPluginRegistry *registry);
void td_watcher_start (TdWatcher *self);
void td_watcher_stop (TdWatcher *self);
gboolean td_watcher_is_running (TdWatcher *self);

G_END_DECLS
