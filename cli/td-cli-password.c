/* td-cli-password.c: `tidings password set|clear|check ACCOUNT`.
 *
 * set reads the password without echo from a terminal, or the first line of standard input
 * when it is not one, and stores it in the keyring; clear removes it; check logs in once with
 * whatever source the account would use and says which. The password is never printed and
 * its buffers are cleared.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "engine/backend/td-credentials.h"
#include "engine/common/td-error.h"
#include "engine/backend/td-plugin-registry.h"
#include "engine/common/td-secret.h"
#include "td-cli.h"

/* Longer than any password; a token is not stored here. */
#define TD_CLI_PASSWORD_MAX 4096

static const char usage[] =
  "Usage: tidings password set|clear|check ACCOUNT\n"
  "\n"
  "  set     store ACCOUNT's password in the keyring (read without echo from the\n"
  "          terminal, or the first line of standard input)\n"
  "  clear   remove ACCOUNT's password from the keyring\n"
  "  check   log in once and report whether it worked, and with which password source\n";

/* One line from @fd, without its line end; NULL at once on a read error or a line too long. */
static char *
read_line (int fd, GError **error)
{
  char *buf = g_malloc0 (TD_CLI_PASSWORD_MAX + 1);
  gsize len = 0;

  for (;;)
    {
      char c;
      ssize_t n = read (fd, &c, 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          g_set_error (error, TD_ERROR, TD_ERROR_LOCAL_IO, "cannot read the password: %s",
                       g_strerror (errno));
          td_secret_free (buf);
          return NULL;
        }
      if (n == 0 || c == '\n')
        break;
      if (len == TD_CLI_PASSWORD_MAX || c == '\0')
        {
          g_set_error (error, TD_ERROR, TD_ERROR_CONFIG, "the password is longer than %d bytes "
                       "or holds a NUL byte", TD_CLI_PASSWORD_MAX);
          td_secret_free (buf);
          return NULL;
        }
      buf[len++] = c;
    }
  if (len > 0 && buf[len - 1] == '\r')
    buf[--len] = '\0';
  if (len == 0)
    {
      g_set_error (error, TD_ERROR, TD_ERROR_CONFIG, "no password was given");
      td_secret_free (buf);
      return NULL;
    }
  return buf;
}

static char *
read_password (const TdAccountConfig *a, GError **error)
{
  struct termios saved, quiet;

  if (!isatty (STDIN_FILENO) || tcgetattr (STDIN_FILENO, &saved) != 0)
    return read_line (STDIN_FILENO, error);
  quiet = saved;
  quiet.c_lflag &= ~(tcflag_t) ECHO;
  quiet.c_lflag |= ECHONL;
  fprintf (stderr, "Password for %s on %s (account %s): ", a->user, a->host, a->name);
  fflush (stderr);
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
  char *password = read_line (STDIN_FILENO, error);
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved);
  return password;
}

/* Why storing failed, in words that say what to do: no keyring in this session, or one
 * whose default collection is locked (storing would need a prompt nobody can answer). */
static char *
why_not_stored (const GError *error)
{
  g_autoptr (SecretService) service = secret_service_get_sync (SECRET_SERVICE_NONE, NULL, NULL);
  g_autoptr (SecretCollection) keyring = NULL;

  if (service == NULL)
    return g_strdup_printf ("%s. A keyring (Secret Service, such as gnome-keyring) must run in "
                            "this session", error->message);
  keyring = secret_collection_for_alias_sync (service, SECRET_COLLECTION_DEFAULT,
                                              SECRET_COLLECTION_NONE, NULL, NULL);
  if (keyring != NULL && secret_collection_get_locked (keyring))
    return g_strdup ("the keyring is locked. Unlock it (logging in to the desktop does, or "
                     "Passwords and Keys) and run this again");
  return g_strdup (error->message);
}

static int
password_set (TdAccountConfig *a)
{
  g_autoptr (GError) error = NULL;

  if (td_account_config_uses_token (a))
    {
      fprintf (stderr, "tidings: account %s logs in with an OAuth2 token from "
               "oauth2-token-command; there is no password to store\n", a->name);
      return TD_EXIT_USAGE;
    }
  char *password = read_password (a, &error);
  if (password == NULL)
    {
      td_cli_print_error (error);
      return td_error_to_exit_code (error);
    }
  g_autoptr (GHashTable) attributes = td_credentials_attributes (a);
  g_autofree char *label = g_strdup_printf ("Tidings: %s on %s (account %s)", a->user, a->host,
                                            a->name);
  gboolean stored = secret_password_storev_sync (td_credentials_get_schema (), attributes,
                                                 SECRET_COLLECTION_DEFAULT, label, password, NULL,
                                                 &error);
  td_secret_free (password);
  if (!stored)
    {
      g_autofree char *why = why_not_stored (error);
      fprintf (stderr, "tidings: account %s: cannot store the password in the keyring: %s\n",
               a->name, why);
      return TD_EXIT_AUTH;
    }
  printf ("%s: password stored in the keyring\n", a->name);
  return TD_EXIT_OK;
}

static int
password_clear (TdAccountConfig *a)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) attributes = td_credentials_attributes (a);
  gboolean removed = secret_password_clearv_sync (td_credentials_get_schema (), attributes,
                                                  NULL, &error);
  if (error != NULL)
    {
      fprintf (stderr, "tidings: account %s: cannot reach the keyring: %s\n", a->name,
               error->message);
      return TD_EXIT_AUTH;
    }
  printf ("%s: %s\n", a->name, removed ? "password removed from the keyring"
                                       : "the keyring held no password for it");
  return TD_EXIT_OK;
}

typedef struct
{
  GMainLoop *loop;
  TdBackend *backend;
  GError *error;
  TdCredentialSource source;
} Check;

static void
disconnected (GObject *source, GAsyncResult *result, gpointer data)
{
  Check *check = data;
  td_backend_disconnect_finish (TD_BACKEND (source), result, NULL);
  g_main_loop_quit (check->loop);
}

static void
logged_in (GObject *source, GAsyncResult *result, gpointer data)
{
  Check *check = data;

  td_credentials_log_in_finish (result, &check->source, &check->error);
  td_backend_disconnect_async (check->backend, NULL, disconnected, check);
}

static int
password_check (TdAccountConfig *a)
{
  g_autoptr (TdPluginRegistry) registry = td_plugin_registry_new_default ();
  g_autoptr (GError) error = NULL;
  g_autoptr (TdBackend) backend = td_plugin_registry_create_backend (registry, a, &error);
  Check check = { g_main_loop_new (NULL, FALSE), backend, NULL, TD_CREDENTIAL_NONE };

  if (backend == NULL)
    {
      td_cli_print_error (error);
      g_main_loop_unref (check.loop);
      return td_error_to_exit_code (error);
    }
  td_credentials_log_in_async (backend, NULL, logged_in, &check);
  g_main_loop_run (check.loop);
  g_main_loop_unref (check.loop);
  if (check.error != NULL)
    {
      int code = td_error_to_exit_code (check.error);
      td_cli_print_error (check.error);
      g_error_free (check.error);
      return code;
    }
  printf ("%s: logged in to %s:%u as %s with %s\n", a->name, a->host, a->port, a->user,
          td_credential_source_describe (check.source));
  return TD_EXIT_OK;
}

int
td_cli_password (const TdCliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  if (argc == 2 && (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h")))
    {
      fputs (usage, stdout);
      return TD_EXIT_OK;
    }
  if (argc != 3 || (!g_str_equal (argv[1], "set") && !g_str_equal (argv[1], "clear")
                    && !g_str_equal (argv[1], "check")))
    {
      fputs (usage, stderr);
      return TD_EXIT_USAGE;
    }
  g_autoptr (TdConfig) config = NULL;
  TdAccountConfig *a = td_cli_load_account (globals, argv[2], &config);
  if (a == NULL)
    return TD_EXIT_USAGE;
  if (g_str_equal (argv[1], "set"))
    return password_set (a);
  if (g_str_equal (argv[1], "clear"))
    return password_clear (a);
  return password_check (a);
}
