/* td-plugin-registry.c: plugin discovery, lazy loading and the ABI check.
 *
 * Discovery reads only keyfiles, so a broken module cannot hurt a run that does not need
 * it. Problems found while scanning (unreadable description, other ABI) are kept per
 * protocol and reported when an account asks for that protocol, naming the file.
 */
#include "engine/backend/td-plugin-registry.h"

#include <gmodule.h>
#include <string.h>

#include "td-build-config.h"
#include "engine/common/td-error.h"

typedef struct
{
  char *description_file;
  char *module_path;
  char **protocols;
  GType backend_type; /* G_TYPE_INVALID until loaded */
} PluginEntry;

struct _TdPluginRegistry
{
  GObject parent_instance;
  GPtrArray *plugins;     /* PluginEntry */
  GHashTable *problems;   /* protocol -> char* why its plugin was skipped */
  char *search_path;
};

G_DEFINE_FINAL_TYPE (TdPluginRegistry, td_plugin_registry, G_TYPE_OBJECT)

static void
plugin_entry_free (PluginEntry *entry)
{
  g_free (entry->description_file);
  g_free (entry->module_path);
  g_strfreev (entry->protocols);
  g_free (entry);
}

static void
note_problem (TdPluginRegistry *self, char **protocols, char *why)
{
  for (guint i = 0; protocols != NULL && protocols[i] != NULL; i++)
    g_hash_table_insert (self->problems, g_strdup (protocols[i]), g_strdup (why));
  g_debug ("%s", why);
  g_free (why);
}

static void
read_description (TdPluginRegistry *self, const char *dir, const char *file)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) protocols = NULL;
  g_autofree char *module = NULL;
  gint abi;

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &error))
    {
      g_warning ("skipping plugin description %s: %s", path, error->message);
      return;
    }
  protocols = g_key_file_get_string_list (kf, "Plugin", "Protocols", NULL, NULL);
  module = g_key_file_get_string (kf, "Plugin", "Module", NULL);
  abi = g_key_file_get_integer (kf, "Plugin", "AbiVersion", NULL);
  if (protocols == NULL || module == NULL || *module == '\0' || strchr (module, '/') != NULL)
    {
      g_warning ("skipping plugin description %s: it needs Module= (a file name) and Protocols=",
                 path);
      return;
    }
  if (abi != TD_PLUGIN_ABI_VERSION)
    {
      note_problem (self, protocols,
                    g_strdup_printf ("plugin %s is built for plugin ABI %d, this Tidings needs "
                                     "%d; reinstall the plugin that came with this version",
                                     path, abi, TD_PLUGIN_ABI_VERSION));
      return;
    }
  PluginEntry *entry = g_new0 (PluginEntry, 1);
  entry->description_file = g_steal_pointer (&path);
  entry->module_path = g_build_filename (dir, module, NULL);
  entry->protocols = g_steal_pointer (&protocols);
  g_ptr_array_add (self->plugins, entry);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

static void
scan_directory (TdPluginRegistry *self, const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".plugin"))
      g_ptr_array_add (names, g_strdup (name));
  /* Sorted, so which plugin wins a protocol does not depend on readdir order. */
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    read_description (self, dir, g_ptr_array_index (names, i));
}

static void
td_plugin_registry_finalize (GObject *object)
{
  TdPluginRegistry *self = TD_PLUGIN_REGISTRY (object);

  g_ptr_array_unref (self->plugins);
  g_hash_table_unref (self->problems);
  g_free (self->search_path);
  G_OBJECT_CLASS (td_plugin_registry_parent_class)->finalize (object);
}

static void
td_plugin_registry_class_init (TdPluginRegistryClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = td_plugin_registry_finalize;
}

static void
td_plugin_registry_init (TdPluginRegistry *self)
{
  self->plugins = g_ptr_array_new_with_free_func ((GDestroyNotify) plugin_entry_free);
  self->problems = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

/**
 * td_plugin_registry_new:
 * @search_path: directories separated by ':', searched in order
 *
 * Returns: (transfer full): a registry of the plugins described in @search_path
 */
TdPluginRegistry *
td_plugin_registry_new (const char *search_path)
{
  TdPluginRegistry *self = g_object_new (TD_TYPE_PLUGIN_REGISTRY, NULL);
  g_auto (GStrv) dirs = g_strsplit (search_path, G_SEARCHPATH_SEPARATOR_S, -1);

  self->search_path = g_strdup (search_path);
  for (guint i = 0; dirs[i] != NULL; i++)
    if (*dirs[i] != '\0')
      scan_directory (self, dirs[i]);
  return self;
}

/**
 * td_plugin_registry_new_default:
 *
 * Returns: (transfer full): a registry over `TIDINGS_PLUGIN_DIR` if set, else the install
 *   directory
 */
TdPluginRegistry *
td_plugin_registry_new_default (void)
{
  const char *env = g_getenv ("TIDINGS_PLUGIN_DIR");
  return td_plugin_registry_new (env != NULL && *env != '\0' ? env : TD_PLUGIN_DIR);
}

static PluginEntry *
find_entry (TdPluginRegistry *self, const char *protocol)
{
  for (guint i = 0; i < self->plugins->len; i++)
    {
      PluginEntry *entry = g_ptr_array_index (self->plugins, i);
      if (g_strv_contains ((const char *const *) entry->protocols, protocol))
        return entry;
    }
  return NULL;
}

gboolean
td_plugin_registry_has_protocol (TdPluginRegistry *self, const char *protocol)
{
  g_return_val_if_fail (TD_IS_PLUGIN_REGISTRY (self), FALSE);
  return find_entry (self, protocol) != NULL;
}

static gboolean
load_entry (PluginEntry *entry, GError **error)
{
  g_autoptr (GError) local = NULL;
  TdPluginEntryFunc get_type = NULL;
  GModule *module;

  if (entry->backend_type != G_TYPE_INVALID)
    return TRUE;
  module = g_module_open_full (entry->module_path, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL,
                               &local);
  if (module == NULL)
    {
      g_set_error (error, TD_ERROR, TD_ERROR_PLUGIN, "cannot load plugin %s (described in %s): %s",
                   entry->module_path, entry->description_file, local->message);
      return FALSE;
    }
  if (!g_module_symbol (module, TD_PLUGIN_ENTRY_POINT, (gpointer *) &get_type) || !get_type)
    {
      g_set_error (error, TD_ERROR, TD_ERROR_PLUGIN, "plugin %s has no entry point %s; it is "
                   "not a Tidings plugin", entry->module_path, TD_PLUGIN_ENTRY_POINT);
      g_module_close (module);
      return FALSE;
    }
  GType type = get_type ();
  if (!g_type_is_a (type, TD_TYPE_BACKEND) || G_TYPE_IS_ABSTRACT (type))
    {
      g_set_error (error, TD_ERROR, TD_ERROR_PLUGIN, "plugin %s returned a type that is not a "
                   "TdBackend", entry->module_path);
      g_module_close (module);
      return FALSE;
    }
  g_module_make_resident (module);
  entry->backend_type = type;
  return TRUE;
}

/**
 * td_plugin_registry_add_type:
 * @self: a registry
 * @protocol: the protocol name accounts give
 * @backend_type: a #TdBackend subtype compiled into the program
 *
 * Serves @protocol with @backend_type, ahead of any plugin module for it. The tests use it
 * to run the sync core against a scripted, in-memory server.
 */
void
td_plugin_registry_add_type (TdPluginRegistry *self, const char *protocol, GType backend_type)
{
  g_return_if_fail (TD_IS_PLUGIN_REGISTRY (self));
  g_return_if_fail (g_type_is_a (backend_type, TD_TYPE_BACKEND));

  PluginEntry *entry = g_new0 (PluginEntry, 1);
  const char *protocols[] = { protocol, NULL };
  entry->description_file = g_strdup ("(built in)");
  entry->protocols = g_strdupv ((char **) protocols);
  entry->backend_type = backend_type;
  g_ptr_array_insert (self->plugins, 0, entry);
}

/**
 * td_plugin_registry_create_backend:
 * @self: a registry
 * @account: the account to serve
 * @error: return location for a %TD_ERROR_PLUGIN error
 *
 * Loads the plugin for @account's protocol if needed and creates a backend for @account.
 *
 * Returns: (transfer full) (nullable): a new, unconnected backend
 */
TdBackend *
td_plugin_registry_create_backend (TdPluginRegistry *self, TdAccountConfig *account,
                                   GError **error)
{
  g_return_val_if_fail (TD_IS_PLUGIN_REGISTRY (self), NULL);
  g_return_val_if_fail (account != NULL, NULL);

  PluginEntry *entry = find_entry (self, account->protocol);
  if (entry == NULL)
    {
      const char *why = g_hash_table_lookup (self->problems, account->protocol);
      if (why != NULL)
        g_set_error (error, TD_ERROR, TD_ERROR_PLUGIN, "account %s: %s", account->name, why);
      else if (self->plugins->len > 0)
        {
          g_autoptr (GStrvBuilder) served = g_strv_builder_new ();
          for (guint i = 0; i < self->plugins->len; i++)
            g_strv_builder_addv (served, (const char **) ((PluginEntry *) g_ptr_array_index (
                                           self->plugins, i))->protocols);
          g_auto (GStrv) names = g_strv_builder_end (served);
          g_autofree char *list = g_strjoinv (", ", names);
          g_set_error (error, TD_ERROR, TD_ERROR_PLUGIN,
                       "%s:%u: [account %s] no plugin serves protocol “%s”; the protocols "
                       "there are: %s", account->config_file, account->protocol_line,
                       account->name, account->protocol, list);
        }
      else
        g_set_error (error, TD_ERROR, TD_ERROR_PLUGIN,
                     "account %s: no plugin serves protocol “%s” (searched %s and found no "
                     "plugin; set TIDINGS_PLUGIN_DIR or check the installation)",
                     account->name, account->protocol, self->search_path);
      return NULL;
    }
  if (!load_entry (entry, error))
    return NULL;
  return g_object_new (entry->backend_type, "account", account, NULL);
}
