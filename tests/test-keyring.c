/* test-keyring.c: passwords in the keyring: `tidings password set|check|clear`, a sync that
 * takes its password from there, a locked keyring, and no Secret Service at all.
 *
 * Runs under dbus-run-session (see meson.build); each test starts its own unlocked
 * gnome-keyring-daemon on that bus, with the test's own data directory, and a Dovecot.
 */
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "td-test-keyring.h"
#include "td-test-sync.h"

#define SECRETS_NAME TD_TEST_SECRETS_NAME

typedef struct
{
  Fixture base;
  TdTestKeyring *keyring;
  GDBusConnection *bus;
} KeyringFixture;

static void
keyring_setup (KeyringFixture *f, gconstpointer data)
{
  td_sync_fixture_setup (&f->base, NULL);
  f->keyring = td_test_keyring_start (f->base.home);
  f->bus = f->keyring->bus;
}

static void
keyring_teardown (KeyringFixture *f, gconstpointer data)
{
  td_test_keyring_stop (f->keyring);
  td_sync_fixture_teardown (&f->base, data);
}


static void
test_set_use_check_clear (KeyringFixture *f, gconstpointer data)
{
  g_autofree char *cfg = account_config (&f->base, data, NULL);

  expect (td_test_tidings (cfg, "sync", NULL), 3, NULL, "none is stored in the keyring");
  expect (td_test_tidings_input (TD_TEST_PASSWORD "\n", cfg, "password", "set", "t", NULL), 0,
          "t: password stored in the keyring", NULL);
  expect (td_test_tidings (cfg, "sync", NULL), 0, NULL, NULL);
  expect (td_test_tidings (cfg, "password", "check", "t", NULL), 0,
          "with the password from the keyring", NULL);
  expect (td_test_tidings (cfg, "password", "clear", "t", NULL), 0,
          "password removed from the keyring", NULL);
  expect (td_test_tidings (cfg, "password", "check", "t", NULL), 3, NULL,
          "none is stored in the keyring");
  expect (td_test_tidings (cfg, "password", "clear", "t", NULL), 0,
          "the keyring held no password for it", NULL);
}

/* The keyring comes first; a wrong password there is reported, not passed over. */
static void
test_keyring_first (KeyringFixture *f, gconstpointer data)
{
  g_autofree char *cfg = account_config (&f->base, "imap",
                                         "password-command = echo " TD_TEST_PASSWORD "\n");

  expect (td_test_tidings (cfg, "password", "check", "t", NULL), 0,
          "with the password from password-command", NULL);
  expect (td_test_tidings_input ("wrong\n", cfg, "password", "set", "t", NULL), 0, NULL, NULL);
  expect (td_test_tidings (cfg, "password", "check", "t", NULL), 3, NULL, "refused");
  expect (td_test_tidings_input (TD_TEST_PASSWORD "\n", cfg, "password", "set", "t", NULL), 0,
          NULL, NULL);
  expect (td_test_tidings (cfg, "password", "check", "t", NULL), 0,
          "with the password from the keyring", NULL);
}

static char *
default_collection (KeyringFixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
    f->bus, SECRETS_NAME, "/org/freedesktop/secrets", "org.freedesktop.Secret.Service",
    "ReadAlias", g_variant_new ("(s)", "default"), G_VARIANT_TYPE ("(o)"),
    G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  g_assert_no_error (error);
  char *path = NULL;
  g_variant_get (reply, "(o)", &path);
  g_assert_cmpstr (path, !=, "/");
  return path;
}

static void
lock (KeyringFixture *f, const char *collection)
{
  g_autoptr (GError) error = NULL;
  const char *objects[] = { collection, NULL };
  g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
    f->bus, SECRETS_NAME, "/org/freedesktop/secrets", "org.freedesktop.Secret.Service", "Lock",
    g_variant_new ("(^ao)", objects), G_VARIANT_TYPE ("(aoo)"), G_DBUS_CALL_FLAGS_NONE, -1,
    NULL, &error);
  g_assert_no_error (error);
}

/* A locked keyring that holds the password is an error that says so; the next source is not
 * used behind the user's back. */
static void
test_locked (KeyringFixture *f, gconstpointer data)
{
  g_autofree char *marker = g_build_filename (f->base.home, "command-ran", NULL);
  g_autofree char *extra = g_strdup_printf ("password-command = sh -c \"touch %s; echo "
                                            TD_TEST_PASSWORD "\"\n", marker);
  g_autofree char *cfg = account_config (&f->base, "pop3", extra);
  g_autofree char *collection = NULL;

  expect (td_test_tidings_input (TD_TEST_PASSWORD "\n", cfg, "password", "set", "t", NULL), 0,
          NULL, NULL);
  collection = default_collection (f);
  lock (f, collection);
  expect (td_test_tidings (cfg, "sync", NULL), 3, NULL,
          "account t: the password is in a locked keyring; unlock the keyring");
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  /* Storing into the locked keyring says it is locked, not that none runs. */
  expect (td_test_tidings_input (TD_TEST_PASSWORD "\n", cfg, "password", "set", "t", NULL), 3,
          NULL, "cannot store the password in the keyring: the keyring is locked. Unlock it");
}

/* Unlocks @collection as a desktop's unlock prompt would, with the keyring's password. */
static void
unlock (KeyringFixture *f, const char *collection)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) opened = g_dbus_connection_call_sync (
    f->bus, SECRETS_NAME, "/org/freedesktop/secrets", "org.freedesktop.Secret.Service",
    "OpenSession", g_variant_new ("(sv)", "plain", g_variant_new_string ("")),
    G_VARIANT_TYPE ("(vo)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GVariant) output = NULL;
  const char *session = NULL;
  g_variant_get (opened, "(v&o)", &output, &session);
  GVariant *secret = g_variant_new (
    "(o@ay@ays)", session, g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, "", 0, 1),
    g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, TD_TEST_KEYRING_PASSWORD,
                              strlen (TD_TEST_KEYRING_PASSWORD), 1), "text/plain");
  g_autoptr (GVariant) done = g_dbus_connection_call_sync (
    f->bus, SECRETS_NAME, "/org/freedesktop/secrets",
    "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface", "UnlockWithMasterPassword",
    g_variant_new ("(o@(oayays))", collection, secret), NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL,
    &error);
  g_assert_no_error (error);
}

/* The daemon with the password in a locked keyring: the account waits (needs-password), and
 * syncs by itself once the keyring is unlocked. */
static void
test_daemon_unlock (KeyringFixture *f, gconstpointer data)
{
  g_autofree char *cfg = account_config (&f->base, "imap", "watch =\n");
  g_autoptr (GError) error = NULL;

  seed (&f->base, "INBOX", 2, 100);
  expect (td_test_tidings_input (TD_TEST_PASSWORD "\n", cfg, "password", "set", "t", NULL), 0,
          NULL, NULL);
  g_autofree char *collection = default_collection (f);
  lock (f, collection);
  g_autoptr (GSubprocess) daemon = td_test_start_daemon (cfg, NULL);
  g_assert_true (td_test_wait_for_state (f->bus, "t", "needs-password", NULL));
  g_autofree char *inbox = g_build_filename (f->base.maildir, "INBOX", "new", NULL);
  g_assert_cmpuint (td_test_count_entries (inbox), ==, 0);

  unlock (f, collection);
  g_assert_true (td_test_wait_for_state (f->bus, "t", "idle", NULL));
  assert_folder_matches (&f->base, "INBOX");
  g_subprocess_send_signal (daemon, SIGTERM);
  g_assert_true (g_subprocess_wait (daemon, NULL, &error));
  g_assert_cmpint (g_subprocess_get_exit_status (daemon), ==, 0);
}

/* No Secret Service on the bus at all: a clear error, unless another source is set. */
static void
test_no_service (KeyringFixture *f, gconstpointer data)
{
  g_autofree char *bus = g_strdup (g_getenv ("DBUS_SESSION_BUS_ADDRESS"));
  g_autofree char *nowhere = g_strdup_printf ("unix:path=%s/no-bus", f->base.home);
  g_autofree char *cfg = account_config (&f->base, "imap", NULL);
  g_autofree char *with_command = NULL;

  g_setenv ("DBUS_SESSION_BUS_ADDRESS", nowhere, TRUE);
  expect (td_test_tidings (cfg, "sync", NULL), 3, NULL, "the keyring cannot be reached");
  expect (td_test_tidings_input ("x\n", cfg, "password", "set", "t", NULL), 3, NULL,
          "cannot store the password in the keyring");
  /* Another source is used, and that the keyring was passed over is said. */
  with_command = account_config (&f->base, "imap", "password-command = echo " TD_TEST_PASSWORD "\n");
  expect (td_test_tidings (with_command, "sync", NULL), 0, NULL,
          "account t: the keyring cannot be reached");
  /* No session bus at all (cron, a server): no keyring is expected, nothing to warn about. */
  g_autofree char *runtime = g_strdup (g_getenv ("XDG_RUNTIME_DIR"));
  g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
  g_unsetenv ("XDG_RUNTIME_DIR");
  TdTestRun r = td_test_tidings (with_command, "sync", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_null (strstr (r.err, "keyring"));
  td_test_run_clear (&r);
  g_free (cfg);
  cfg = account_config (&f->base, "imap", NULL); /* the same file, without password-command again */
  expect (td_test_tidings (cfg, "sync", NULL), 3, NULL, "there is no D-Bus session bus here");
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", bus, TRUE);
  if (runtime != NULL)
    g_setenv ("XDG_RUNTIME_DIR", runtime, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add ("/integration/keyring/imap/set-use-check-clear", KeyringFixture, "imap",
              keyring_setup, test_set_use_check_clear, keyring_teardown);
  g_test_add ("/integration/keyring/pop3/set-use-check-clear", KeyringFixture, "pop3",
              keyring_setup, test_set_use_check_clear, keyring_teardown);
  g_test_add ("/integration/keyring/first", KeyringFixture, NULL, keyring_setup,
              test_keyring_first, keyring_teardown);
  g_test_add ("/integration/keyring/locked", KeyringFixture, NULL, keyring_setup, test_locked,
              keyring_teardown);
  g_test_add ("/integration/keyring/daemon-unlock", KeyringFixture, NULL, keyring_setup,
              test_daemon_unlock, keyring_teardown);
  g_test_add ("/integration/keyring/no-service", KeyringFixture, NULL, keyring_setup,
              test_no_service, keyring_teardown);
  return g_test_run ();
}
