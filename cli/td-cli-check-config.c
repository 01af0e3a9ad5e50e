/* td-cli-check-config.c: `tidings check-config`: validation without any network. */
#include <stdio.h>

#include "engine/common/td-error.h"
#include "engine/backend/td-plugin-registry.h"
#include "engine/goa/td-goa.h"
#include "td-cli.h"

int
td_cli_check_config (const TdCliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- validate the configuration");
  g_autoptr (GError) error = NULL;
  g_autoptr (TdConfig) config = NULL;
  g_autoptr (TdPluginRegistry) registry = NULL;

  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "tidings check-config: %s\n", error->message);
      return TD_EXIT_USAGE;
    }
  config = td_cli_load_config (globals, &error);
  if (config == NULL)
    {
      td_cli_print_error (error);
      return TD_EXIT_USAGE;
    }
  registry = td_plugin_registry_new_default ();
  for (guint i = 0; i < config->accounts->len; i++)
    {
      TdAccountConfig *a = g_ptr_array_index (config->accounts, i);
      if (!td_plugin_registry_has_protocol (registry, a->protocol))
        {
          g_autoptr (TdBackend) b = td_plugin_registry_create_backend (registry, a, &error);
          td_cli_print_error (error);
          return TD_EXIT_USAGE;
        }
      g_autofree char *inbox = a->inbox ? g_strdup_printf (", INBOX %s", a->inbox) : g_strdup ("");
      if (a->goa_id != NULL)
        {
          /* Said in full so that a user sees where a name they never wrote comes from. */
          g_autofree char *with = g_strdup_printf ("%s, from " TD_GOA_PROVIDER " (%s)", inbox,
                                                   a->goa_id);
          g_free (inbox);
          inbox = g_steal_pointer (&with);
        }
      else if (td_account_config_signs_in_itself (a))
        {
          g_autofree char *with = g_strdup_printf ("%s, OAuth2 sign-in with %s", inbox,
                                                   a->oauth2.provider);
          g_free (inbox);
          inbox = g_steal_pointer (&with);
        }
      if (a->tunnel_command != NULL)
        {
          g_autofree char *command = g_strjoinv (" ", a->tunnel_command);
          printf ("account %s: %s through tunnel-command %s, Maildir %s%s\n", a->name,
                  a->protocol, command, a->maildir, inbox);
          continue;
        }
      printf ("account %s: %s://%s@%s:%u (%s), Maildir %s%s\n", a->name, a->protocol, a->user,
              a->host, a->port, td_security_to_string (a->security), a->maildir, inbox);
    }
  printf ("%s: OK, %u account%s\n", config->path, config->accounts->len,
          config->accounts->len == 1 ? "" : "s");
  return TD_EXIT_OK;
}
