/* td-engine.h: the daemon, `tidings daemon`: a GApplication service on the session bus.
 *
 * Holds the configuration, the scheduler and the D-Bus service, and feeds the scheduler
 * what the world says: the network coming and going (GNetworkMonitor), the machine waking
 * from suspend (logind's PrepareForSleep), SIGTERM and SIGINT (drop the connections, store
 * what came down whole, exit 0). Main loop thread only.
 */
#pragma once

#include <gio/gio.h>

#include "engine/common/td-config.h"
#include "engine/backend/td-plugin-registry.h"

G_BEGIN_DECLS

#define TD_TYPE_ENGINE (td_engine_get_type ())
G_DECLARE_FINAL_TYPE (TdEngine, td_engine, TD, ENGINE, GApplication)

TdEngine *td_engine_new (TdConfig *config, TdPluginRegistry *registry);
int td_engine_run (TdEngine *self, GError **error);

G_END_DECLS
