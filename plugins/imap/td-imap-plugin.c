/* td-imap-plugin.c: the IMAP plugin's one exported symbol. */
#include <gmodule.h>

#include "engine/backend/td-plugin-registry.h"
#include "td-imap-backend.h"

G_MODULE_EXPORT GType tidings_plugin_get_backend_type (void);

G_MODULE_EXPORT GType
tidings_plugin_get_backend_type (void)
{
  return TD_TYPE_IMAP_BACKEND;
}
