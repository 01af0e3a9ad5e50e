/* td-pop3-plugin.c: the POP3 plugin's one exported symbol. */
#include <gmodule.h>

#include "engine/backend/td-plugin-registry.h"
#include "td-pop3-backend.h"

G_MODULE_EXPORT GType tidings_plugin_get_backend_type (void);

G_MODULE_EXPORT GType
tidings_plugin_get_backend_type (void)
{
  return TD_TYPE_POP3_BACKEND;
}
