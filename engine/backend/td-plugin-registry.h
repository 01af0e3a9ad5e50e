/* td-plugin-registry.h: finds protocol plugins and creates backends from them.
 *
 * Plugin descriptions (`NAME.plugin` keyfiles) are read when the registry is created; a
 * module is opened only when an account first needs its protocol, and never unloaded.
 * Main loop thread only.
 */
#pragma once

#include "engine/backend/td-backend.h"

G_BEGIN_DECLS

/* The one symbol a plugin module exports: it returns the plugin's TdBackend subtype. */
#define TD_PLUGIN_ENTRY_POINT "tidings_plugin_get_backend_type"
typedef GType (*TdPluginEntryFunc) (void);

#define TD_TYPE_PLUGIN_REGISTRY (td_plugin_registry_get_type ())
G_DECLARE_FINAL_TYPE (TdPluginRegistry, td_plugin_registry, TD, PLUGIN_REGISTRY, GObject)

TdPluginRegistry *td_plugin_registry_new (const char *search_path);
TdPluginRegistry *td_plugin_registry_new_default (void);
TdBackend *td_plugin_registry_create_backend (TdPluginRegistry *self, TdAccountConfig *account,
                                              GError **error);
gboolean td_plugin_registry_has_protocol (TdPluginRegistry *self, const char *protocol);
void td_plugin_registry_add_type (TdPluginRegistry *self, const char *protocol,
                                  GType backend_type);

G_END_DECLS
