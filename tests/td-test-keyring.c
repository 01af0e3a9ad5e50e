/* td-test-keyring.c: a throwaway gnome-keyring-daemon for the tests (see td-test-keyring.h). */
#include "td-test-keyring.h"

#include <glib/gstdio.h>
#include <string.h>

#include "td-test-dovecot.h"

#define WAIT_STEPS 100
#define WAIT_STEP_MS 100

gboolean
td_test_bus_name_owned (GDBusConnection *bus, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
    bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
    "NameHasOwner", g_variant_new ("(s)", name), G_VARIANT_TYPE ("(b)"),
    G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  g_assert_no_error (error);
  gboolean owned = FALSE;
  g_variant_get (reply, "(b)", &owned);
  return owned;
}

/* Waits up to ten seconds for @name to be taken (or let go); returns whether it was. */
gboolean
td_test_wait_for_name (GDBusConnection *bus, const char *name, gboolean owned)
{
  for (guint i = 0; i < WAIT_STEPS && td_test_bus_name_owned (bus, name) != owned; i++)
    g_usleep (WAIT_STEP_MS * 1000);
  return td_test_bus_name_owned (bus, name) == owned;
}

/* --unlock creates the login keyring a moment after the daemon takes its name. */
static gboolean
login_keyring_exists (GDBusConnection *bus)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
    bus, TD_TEST_SECRETS_NAME, "/org/freedesktop/secrets", "org.freedesktop.DBus.Properties",
    "Get", g_variant_new ("(ss)", "org.freedesktop.Secret.Service", "Collections"),
    G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GVariant) value = NULL;
  g_variant_get (reply, "(v)", &value);
  g_autofree const char **paths = g_variant_get_objv (value, NULL);
  for (guint i = 0; paths[i] != NULL; i++)
    if (g_str_has_suffix (paths[i], "/collection/login"))
      return TRUE;
  return FALSE;
}

/**
 * td_test_keyring_start:
 * @home: the test's directory: the keyrings go under it
 *
 * Starts gnome-keyring-daemon with an unlocked login keyring (password
 * %TD_TEST_KEYRING_PASSWORD) and waits until it serves.
 */
TdTestKeyring *
td_test_keyring_start (const char *home)
{
  TdTestKeyring *k = g_new0 (TdTestKeyring, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
    G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE
    | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  /* The daemon keeps its keyrings under the test's own directory, and wants a private
   * runtime directory for its control socket. */
  g_autofree char *runtime = g_build_filename (home, "keyring-runtime", NULL);
  g_autofree char *data_home = g_build_filename (home, "keyring-data", NULL);

  g_assert_cmpint (g_mkdir (runtime, 0700), ==, 0);
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", runtime, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", data_home, TRUE);
  g_subprocess_launcher_setenv (launcher, "HOME", home, TRUE);
  /* Our fatal-criticals is for our code, not the daemon's. */
  g_subprocess_launcher_unsetenv (launcher, "G_DEBUG");
  k->bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (td_test_wait_for_name (k->bus, TD_TEST_SECRETS_NAME, FALSE));
  g_subprocess_launcher_set_child_setup (launcher, td_test_die_with_parent, NULL, NULL);
  /* --unlock reads the login keyring's password from standard input and creates it. */
  k->daemon = g_subprocess_launcher_spawn (launcher, &error, "gnome-keyring-daemon",
                                           "--foreground", "--unlock", "--components=secrets",
                                           NULL);
  g_assert_no_error (error);
  GOutputStream *in = g_subprocess_get_stdin_pipe (k->daemon);
  g_output_stream_write_all (in, TD_TEST_KEYRING_PASSWORD, strlen (TD_TEST_KEYRING_PASSWORD),
                             NULL, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_close (in, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (td_test_wait_for_name (k->bus, TD_TEST_SECRETS_NAME, TRUE));
  for (guint i = 0; i < WAIT_STEPS && !login_keyring_exists (k->bus); i++)
    g_usleep (WAIT_STEP_MS * 1000);
  g_assert_true (login_keyring_exists (k->bus));
  return k;
}

void
td_test_keyring_stop (TdTestKeyring *k)
{
  g_subprocess_force_exit (k->daemon);
  g_subprocess_wait (k->daemon, NULL, NULL);
  g_object_unref (k->daemon);
  g_assert_true (td_test_wait_for_name (k->bus, TD_TEST_SECRETS_NAME, FALSE));
  g_object_unref (k->bus);
  g_free (k);
}

/**
 * td_test_account_state:
 * @bus: the session bus
 * @account: an account name
 *
 * Returns: (transfer full): the State of the daemon's account @account, or "" while the
 *   daemon has no such account (or does not run)
 */
char *
td_test_account_state (GDBusConnection *bus, const char *account)
{
  g_autofree char *escaped = g_dbus_escape_object_path (account);
  g_autofree char *path = g_strconcat ("/org/tidings/Tidings1/account/", escaped, NULL);
  g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
    bus, "org.tidings.Tidings1", path, "org.freedesktop.DBus.Properties", "Get",
    g_variant_new ("(ss)", "org.tidings.Tidings1.Account", "State"), G_VARIANT_TYPE ("(v)"),
    G_DBUS_CALL_FLAGS_NO_AUTO_START, 5000, NULL, NULL);
  g_autoptr (GVariant) value = NULL;

  if (reply == NULL)
    return g_strdup ("");
  g_variant_get (reply, "(v)", &value);
  return g_variant_dup_string (value, NULL);
}

/**
 * td_test_wait_for_state:
 * @bus: the session bus
 * @account: an account name
 * @wanted: the states waited for, "a|b"; "" for no such account
 * @last: (out) (optional): the state last seen
 *
 * Polls the daemon's account for up to 40 s.
 *
 * Returns: whether it came to one of @wanted
 */
gboolean
td_test_wait_for_state (GDBusConnection *bus, const char *account, const char *wanted,
                        char **last)
{
  g_auto (GStrv) states = *wanted != '\0' ? g_strsplit (wanted, "|", -1)
                                          : g_strdupv ((char *[]) { "", NULL });
  g_autofree char *state = NULL;
  gboolean reached = FALSE;

  for (guint i = 0; i < 400 && !reached; i++)
    {
      if (i > 0)
        g_usleep (100 * 1000);
      g_free (state);
      state = td_test_account_state (bus, account);
      reached = g_strv_contains ((const char *const *) states, state);
    }
  if (last != NULL)
    *last = g_steal_pointer (&state);
  return reached;
}

/**
 * td_test_start_daemon:
 * @cfg: the configuration file
 * @log: (nullable): where its standard error goes; %NULL for nowhere
 *
 * Returns: (transfer full): `tidings daemon`, which dies with the test
 */
GSubprocess *
td_test_start_daemon (const char *cfg, const char *log)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
    log != NULL ? G_SUBPROCESS_FLAGS_NONE : G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autoptr (GError) error = NULL;

  if (log != NULL)
    g_subprocess_launcher_set_stderr_file_path (launcher, log);
  g_subprocess_launcher_set_child_setup (launcher, td_test_die_with_parent, NULL, NULL);
  GSubprocess *daemon = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("TIDINGS_BIN"),
                                                     "--config", cfg, "daemon", NULL);
  g_assert_no_error (error);
  return daemon;
}
