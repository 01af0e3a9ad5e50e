/* tidings.c: the command line: global options, then a command. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "engine/common/td-error.h"
#include "td-build-config.h"
#include "td-cli.h"

static const char usage[] =
  "Usage: tidings [--config FILE] COMMAND [OPTIONS]\n"
  "\n"
  "Keeps local Maildirs in step with IMAP and POP3 mailboxes.\n"
  "\n"
  "Commands:\n"
  "  sync [ACCOUNT...]   sync every account, or the ones named\n"
  "  daemon              keep every account in sync in the background (D-Bus service)\n"
  "  status [--json]     show the daemon's accounts, states, last syncs and errors\n"
  "  watch               print the daemon's events as they come\n"
  "  check-config        validate the configuration without touching the network\n"
  "  import mbsync|offlineimap [FILE]\n"
  "                      print a configuration made from mbsync's or offlineimap's\n"
  "  password set|clear|check ACCOUNT\n"
  "                      store or remove ACCOUNT's password in the keyring, or try it\n"
  "  oauth2 login ACCOUNT [--device] [--no-browser]\n"
  "                      sign ACCOUNT in with its OAuth2 provider, once\n"
  "\n"
  "Options:\n"
  "  --config FILE       use FILE instead of $XDG_CONFIG_HOME/tidings/config\n"
  "  --version           print the version\n"
  "\n"
  "Run `tidings COMMAND --help` for a command's options.\n";

int
main (int argc, char **argv)
{
  TdCliGlobals globals = { NULL };
  int i = 1;

  setlocale (LC_ALL, "");
  td_cli_plain_output_init ();
  /* Diagnostics go to stderr at every level, so stdout carries only results (and --json). */
  g_log_writer_default_set_use_stderr (TRUE);
  /* GNOME's proxy settings module aborts the process where no GSettings schema can be
   * found (a trimmed XDG_DATA_DIRS); GIO's plain resolver is taken then, and the OAuth2
   * requests read the proxy variables themselves. Set before any thread starts. */
  if (g_getenv ("GIO_USE_PROXY_RESOLVER") == NULL
      && g_settings_schema_source_get_default () == NULL)
    g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  for (; i < argc && argv[i][0] == '-'; i++)
    {
      if (g_str_equal (argv[i], "--config") && i + 1 < argc)
        globals.config_path = argv[++i];
      else if (g_str_has_prefix (argv[i], "--config="))
        globals.config_path = argv[i] + strlen ("--config=");
      else if (g_str_equal (argv[i], "--version"))
        {
          printf ("tidings %s\n", TD_VERSION);
          return TD_EXIT_OK;
        }
      else if (g_str_equal (argv[i], "--help") || g_str_equal (argv[i], "-h"))
        {
          fputs (usage, stdout);
          return TD_EXIT_OK;
        }
      else
        {
          fprintf (stderr, "tidings: unknown option %s\n\n%s", argv[i], usage);
          return TD_EXIT_USAGE;
        }
    }
  if (i >= argc)
    {
      fputs (usage, stderr);
      return TD_EXIT_USAGE;
    }
  if (g_str_equal (argv[i], "sync"))
    return td_cli_sync (&globals, argc - i, argv + i);
  if (g_str_equal (argv[i], "password"))
    return td_cli_password (&globals, argc - i, argv + i);
  if (g_str_equal (argv[i], "oauth2"))
    return td_cli_oauth2 (&globals, argc - i, argv + i);
  if (g_str_equal (argv[i], "daemon"))
    return td_cli_daemon (&globals, argc - i, argv + i);
  if (g_str_equal (argv[i], "status"))
    return td_cli_status (&globals, argc - i, argv + i);
  if (g_str_equal (argv[i], "watch"))
    return td_cli_watch (&globals, argc - i, argv + i);
  if (g_str_equal (argv[i], "import"))
    return td_cli_import (&globals, argc - i, argv + i);
  if (g_str_equal (argv[i], "check-config"))
    return td_cli_check_config (&globals, argc - i, argv + i);
  if (g_str_equal (argv[i], "complete"))
    return td_cli_complete (&globals, argc - i, argv + i);
  if (g_str_equal (argv[i], "help"))
    {
      fputs (usage, stdout);
      return TD_EXIT_OK;
    }
  fprintf (stderr, "tidings: unknown command “%s”\n\n%s", argv[i], usage);
  return TD_EXIT_USAGE;
}
