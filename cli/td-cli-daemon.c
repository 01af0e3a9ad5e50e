/* td-cli-daemon.c: `tidings daemon`: runs the background service until SIGTERM or SIGINT. */
#include <stdio.h>

#include "engine/daemon/td-engine.h"
#include "engine/common/td-error.h"
#include "td-cli.h"

int
td_cli_daemon (const TdCliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- keep every account in sync");
  g_autoptr (GError) error = NULL;
  g_autoptr (TdPluginRegistry) registry = NULL;
  g_autoptr (TdEngine) engine = NULL;
  TdConfig *config;
  int status;
  gboolean verbose = FALSE;
  GOptionEntry entries[] = {
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Say more: why each sync runs, push "
      "notices, and the protocol exchange (credentials are never shown)", NULL },
    { NULL }
  };

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_description (ctx, "Syncs every account now, then whenever the server "
                                    "or the Maildir changes, and every poll-interval seconds.\n"
                                    "Owns org.tidings.Tidings1 on the session bus; see "
                                    "`tidings status` and `tidings watch`.\n");
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "tidings daemon: %s\n", error->message);
      return TD_EXIT_USAGE;
    }
  if (verbose)
    g_setenv ("G_MESSAGES_DEBUG", G_LOG_DOMAIN, FALSE);
  config = td_cli_load_config (globals, &error);
  if (config == NULL)
    {
      td_cli_print_error (error);
      return TD_EXIT_USAGE;
    }
  registry = td_plugin_registry_new_default ();
  engine = td_engine_new (config, registry);
  status = td_engine_run (engine, &error);
  if (status < 0)
    {
      fprintf (stderr, "tidings: cannot start the daemon: %s\n", error->message);
      if (!g_error_matches (error, TD_ERROR, TD_ERROR_LOCKED))
        fprintf (stderr, "tidings: the daemon needs a D-Bus session bus: run it in your "
                 "desktop session, or with `systemctl --user start tidings`\n");
      return error->domain == TD_ERROR ? (int) td_error_to_exit_code (error) : TD_EXIT_FAILED;
    }
  return status;
}
