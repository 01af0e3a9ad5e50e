/* td-cli-complete.c: `tidings complete WHAT`, what the shell completions in
 * data/completions offer: the commands, the accounts of the configuration, an account's
 * folders from the state database. Quiet and quick: a configuration that does not load
 * or a state database that is missing or busy gives no words, never an error message. */
#include <stdio.h>

#include "engine/common/td-error.h"
#include "storage/td-state-db.h"
#include "td-cli.h"

static const char *const commands[] = { "sync", "daemon", "status", "watch", "check-config",
                                        "import", "password", "oauth2", NULL };

static void
print_folders (const TdConfig *config, const TdAccountConfig *a)
{
  g_autofree char *db = g_build_filename (config->state_dir, "state.db", NULL);
  g_auto (GStrv) names = NULL;

  if (g_file_test (db, G_FILE_TEST_IS_REGULAR))
    names = td_state_db_peek_folder_names (db, a->name, NULL);
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    printf ("%s\n", names[i]);
}

int
td_cli_complete (const TdCliGlobals *globals, int argc, char **argv)
{
  g_autofree char *fallback = td_config_default_path ();
  g_autoptr (TdConfig) config = NULL;

  if (argc < 2)
    {
      fprintf (stderr, "Usage: tidings complete commands|accounts|folders [ACCOUNT...]\n");
      return TD_EXIT_USAGE;
    }
  if (g_str_equal (argv[1], "commands"))
    {
      for (guint i = 0; commands[i] != NULL; i++)
        printf ("%s\n", commands[i]);
      return TD_EXIT_OK;
    }
  config = td_config_load (globals->config_path ? globals->config_path : fallback, NULL);
  if (config == NULL)
    return TD_EXIT_OK;
  for (guint i = 0; i < config->accounts->len; i++)
    {
      TdAccountConfig *a = g_ptr_array_index (config->accounts, i);
      gboolean named = argc <= 2 || g_strv_contains ((const char *const *) argv + 2, a->name);
      if (g_str_equal (argv[1], "accounts"))
        printf ("%s\n", a->name);
      else if (g_str_equal (argv[1], "folders") && named)
        print_folders (config, a);
    }
  return TD_EXIT_OK;
}
