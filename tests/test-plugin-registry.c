/* test-plugin-registry.c: plugin discovery and the errors a user sees when it goes wrong. */
#include <glib/gstdio.h>
#include <string.h>

#include "engine/common/td-error.h"
#include "engine/backend/td-plugin-registry.h"

static TdAccountConfig *
account (const char *protocol)
{
  g_autofree char *text = g_strdup_printf ("[account a]\nprotocol = %s\nhost = h\nuser = u\n",
                                           protocol);
  g_autoptr (GError) error = NULL;
  g_autoptr (TdConfig) c = td_config_load_from_data (text, "/cfg", &error);
  g_assert_no_error (error);
  return td_account_config_ref (g_ptr_array_index (c->accounts, 0));
}

static char *
plugin_dir (const char *name, const char *description)
{
  char *dir = g_dir_make_tmp ("tidings-plugins-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, description, -1, NULL));
  return dir;
}

static void
expect_error (const char *search_path, const char *protocol, const char *needle1,
              const char *needle2)
{
  g_autoptr (TdPluginRegistry) reg = td_plugin_registry_new (search_path);
  g_autoptr (TdAccountConfig) a = account (protocol);
  g_autoptr (GError) error = NULL;
  g_autoptr (TdBackend) b = td_plugin_registry_create_backend (reg, a, &error);

  g_assert_null (b);
  g_assert_error (error, TD_ERROR, TD_ERROR_PLUGIN);
  if (strstr (error->message, needle1) == NULL || strstr (error->message, needle2) == NULL)
    g_error ("“%s” lacks “%s” or “%s”", error->message, needle1, needle2);
}

static void
test_no_plugin (void)
{
  expect_error ("/nonexistent:/also-missing", "imap", "no plugin serves protocol “imap”",
                "/nonexistent:/also-missing");
}

static void
test_other_abi (void)
{
  g_autofree char *dir = plugin_dir ("old.plugin", "[Plugin]\nModule=libold.so\nProtocols=imap\n"
                                                   "AbiVersion=999\n");
  g_autofree char *file = g_build_filename (dir, "old.plugin", NULL);
  expect_error (dir, "imap", file, "plugin ABI 999");
}

static void
test_module_fails_to_load (void)
{
  g_autofree char *dir = plugin_dir ("broken.plugin", "[Plugin]\nModule=libbroken.so\n"
                                                      "Protocols=imap\nAbiVersion=2\n");
  g_autofree char *module = g_build_filename (dir, "libbroken.so", NULL);
  g_assert_true (g_file_set_contents (module, "not an ELF file", -1, NULL));
  g_autofree char *file = g_build_filename (dir, "broken.plugin", NULL);
  expect_error (dir, "imap", module, file);
}

/* The first directory of the search path that serves a protocol wins; others still count. */
static void
test_search_path (void)
{
  g_autofree char *a = plugin_dir ("x.plugin", "[Plugin]\nModule=libx.so\nProtocols=x-proto\n"
                                               "AbiVersion=2\n");
  g_autofree char *b = plugin_dir ("y.plugin", "[Plugin]\nModule=liby.so\nProtocols=y-proto\n"
                                               "AbiVersion=2\n");
  g_autofree char *path = g_strdup_printf ("%s:%s", a, b);
  g_autoptr (TdPluginRegistry) reg = td_plugin_registry_new (path);
  g_assert_true (td_plugin_registry_has_protocol (reg, "x-proto"));
  g_assert_true (td_plugin_registry_has_protocol (reg, "y-proto"));
  g_assert_false (td_plugin_registry_has_protocol (reg, "imap"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/plugins/registry/no-plugin", test_no_plugin);
  g_test_add_func ("/plugins/registry/other-abi", test_other_abi);
  g_test_add_func ("/plugins/registry/module-fails-to-load", test_module_fails_to_load);
  g_test_add_func ("/plugins/registry/search-path", test_search_path);
  return g_test_run ();
}
