/* test-goa.c: GNOME Online Accounts' mail accounts as Tidings accounts.
 *
 * Runs under dbus-run-session (see meson.build). Each test starts a throwaway
 * gnome-keyring-daemon and a real goa-daemon on that bus, with a home of its own: an account
 * of GOA's IMAP and SMTP provider is written to GOA's accounts file, its password to the
 * keyring as GOA stores it, and it points at the test's Dovecot. goa-daemon is started by
 * the test itself, with the test's environment; a D-Bus activated one would read the
 * accounts of whoever runs the tests.
 */
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "td-test-keyring.h"
#include "td-test-sync.h"

#define GOA_NAME "org.gnome.OnlineAccounts"
#define GOA_ID "account_1700000000_0"
#define SHOWN "alice@example.org"
#define GOA_ID2 "account_1700000001_1"
#define SHOWN2 "second@example.org"
#define WAIT_STEPS 100
#define WAIT_STEP_MS 100

typedef struct
{
  Fixture base;
  TdTestKeyring *keyring;
  GSubprocess *goa;
  char *goa_config;    /* XDG_CONFIG_HOME of goa-daemon */
  char *daemon_log;    /* where a tidings daemon's standard error goes */
} GoaFixture;

/* Stores @password as GOA keeps an IMAP/SMTP account's: a GVariant dictionary under the
 * account's "goa-identity" in the keyring. */
static void
store_password_of (GoaFixture *f, const char *id, const char *password)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *secret = g_strdup_printf ("{'imap-password': <'%s'>, "
                                             "'smtp-password': <'%s'>}", password, password);
  g_autofree char *label = g_strdup_printf ("GOA imap_smtp credentials for identity %s", id);
  g_autofree char *identity = g_strdup_printf ("imap_smtp:gen0:%s", id);
  g_autoptr (GSubprocess) tool = g_subprocess_new (
    G_SUBPROCESS_FLAGS_STDIN_PIPE, &error, "secret-tool", "store", "--label", label,
    "goa-identity", identity, NULL);
  g_assert_no_error (error);
  g_autoptr (GBytes) in = g_bytes_new (secret, strlen (secret));
  g_assert_true (g_subprocess_communicate (tool, in, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_successful (tool));
}

static void
store_goa_password (GoaFixture *f, const char *password)
{
  store_password_of (f, GOA_ID, password);
}

/* An account group of GOA's accounts file: the test user on @port, over TLS from the start
 * (@ssl) or with STARTTLS, shown as @shown. */
static char *
goa_group (const char *id, const char *shown, guint16 port, gboolean ssl)
{
  return g_strdup_printf (
    "[Account %s]\nProvider=imap_smtp\nIdentity=%s\nPresentationIdentity=%s\nEnabled=true\n"
    "EmailAddress=%s\nName=Alice\nImapHost=127.0.0.1:%u\nImapUserName=" TD_TEST_USER "\n"
    "ImapUseSsl=%s\nImapUseTls=%s\nImapAcceptSslErrors=true\nSmtpHost=\nSmtpUseAuth=false\n\n",
    id, shown, shown, shown, port, ssl ? "true" : "false", ssl ? "false" : "true");
}

static void
write_goa_file (GoaFixture *f, const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_build_filename (f->goa_config, "goa-1.0", NULL);
  g_autofree char *path = g_build_filename (dir, "accounts.conf", NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

/* GOA's accounts file with the test account alone; with @port 0, no account at all. */
static void
write_goa_account (GoaFixture *f, guint16 port, gboolean ssl)
{
  g_autofree char *text = port == 0 ? g_strdup ("") : goa_group (GOA_ID, SHOWN, port, ssl);
  write_goa_file (f, text);
}

/* Whether goa-daemon has the account @id on the bus, with its Mail interface. */
static gboolean
goa_has (GoaFixture *f, const char *id)
{
  g_autofree char *path = g_strconcat ("/org/gnome/OnlineAccounts/Accounts/", id, NULL);
  g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
    f->keyring->bus, GOA_NAME, "/org/gnome/OnlineAccounts",
    "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL,
    G_VARIANT_TYPE ("(a{oa{sa{sv}}})"), G_DBUS_CALL_FLAGS_NO_AUTO_START, 5000, NULL, NULL);
  g_autoptr (GVariant) objects = NULL;
  g_autoptr (GVariant) interfaces = NULL;
  g_autoptr (GVariant) mail = NULL;

  if (reply == NULL)
    return FALSE;
  objects = g_variant_get_child_value (reply, 0);
  interfaces = g_variant_lookup_value (objects, path, NULL);
  if (interfaces != NULL)
    mail = g_variant_lookup_value (interfaces, "org.gnome.OnlineAccounts.Mail", NULL);
  return mail != NULL;
}

/* What Settings does once the user typed the password again: GOA checks it with the server
 * and clears its AttentionNeeded. */
static void
ensure_credentials_of (GoaFixture *f, const char *id, gboolean good)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_strconcat ("/org/gnome/OnlineAccounts/Accounts/", id, NULL);
  g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
    f->keyring->bus, GOA_NAME, path, "org.gnome.OnlineAccounts.Account", "EnsureCredentials",
    NULL, G_VARIANT_TYPE ("(i)"), G_DBUS_CALL_FLAGS_NO_AUTO_START, 20000, NULL, &error);
  if (good)
    g_assert_no_error (error);
  else
    g_assert_nonnull (error);
}

static void
ensure_credentials (GoaFixture *f)
{
  ensure_credentials_of (f, GOA_ID, TRUE);
}

static void
wait_for_goa (GoaFixture *f, const char *id, gboolean present)
{
  for (guint i = 0; i < WAIT_STEPS && goa_has (f, id) != present; i++)
    g_usleep (WAIT_STEP_MS * 1000);
  g_assert_true (goa_has (f, id) == present);
}

static void
wait_for_account (GoaFixture *f, gboolean present)
{
  wait_for_goa (f, GOA_ID, present);
}

static void
start_goa (GoaFixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
    G_SUBPROCESS_FLAGS_STDOUT_SILENCE);

  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", f->goa_config, TRUE);
  g_subprocess_launcher_setenv (launcher, "HOME", f->base.home, TRUE);
  /* The test's isolated directories hide the system's GSettings schemas it needs. */
  g_subprocess_launcher_unsetenv (launcher, "XDG_DATA_DIRS");
  g_subprocess_launcher_unsetenv (launcher, "XDG_CONFIG_DIRS");
  g_subprocess_launcher_setenv (launcher, "GSETTINGS_BACKEND", "memory", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "G_DEBUG");
  g_subprocess_launcher_set_child_setup (launcher, td_test_die_with_parent, NULL, NULL);
  f->goa = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("TD_TEST_GOA_DAEMON"),
                                        "--replace", NULL);
  g_assert_no_error (error);
  g_assert_true (td_test_wait_for_name (f->keyring->bus, GOA_NAME, TRUE));
}

static void
goa_setup (GoaFixture *f, gconstpointer data)
{
  td_sync_fixture_setup (&f->base, NULL);
  f->keyring = td_test_keyring_start (f->base.home);
  f->goa_config = g_build_filename (f->base.home, "goa-config", NULL);
  f->daemon_log = g_build_filename (f->base.home, "daemon.log", NULL);
  store_goa_password (f, TD_TEST_PASSWORD);
  write_goa_account (f, f->base.dovecot->imaps_port, TRUE);
  start_goa (f);
  wait_for_account (f, TRUE);
}

static void
goa_teardown (GoaFixture *f, gconstpointer data)
{
  g_subprocess_force_exit (f->goa);
  g_subprocess_wait (f->goa, NULL, NULL);
  g_object_unref (f->goa);
  g_assert_true (td_test_wait_for_name (f->keyring->bus, GOA_NAME, FALSE));
  td_test_keyring_stop (f->keyring);
  g_free (f->goa_config);
  g_free (f->daemon_log);
  td_sync_fixture_teardown (&f->base, data);
}

/* goa = true, and a group of the GOA account's name that only adds the server's CA. */
static char *
goa_config (GoaFixture *f, const char *extra)
{
  g_autofree char *body = g_strdup_printf (
    "[general]\ngoa = true\nstate-dir = %s\nmaildir-root = %s\n\n[account " SHOWN "]\n"
    "tls-ca-file = %s\ntimeout = 20\n%s", f->base.state, f->base.maildir,
    f->base.dovecot->cert, extra ? extra : "");
  return td_test_write_config (f->base.home, body);
}


/* The GOA account is an account: check-config says where it comes from, a sync signs in
 * with GOA's password and lands the mail under maildir-root. */
static void
test_sync (GoaFixture *f, gconstpointer data)
{
  g_autofree char *cfg = goa_config (f, NULL);
  g_autofree char *listed = g_strdup_printf (
    "account " SHOWN ": imap://" TD_TEST_USER "@127.0.0.1:%u (tls), Maildir %s/" SHOWN
    ", from GNOME Online Accounts (" GOA_ID ")", f->base.dovecot->imaps_port, f->base.maildir);

  seed (&f->base, "INBOX", 3, 2000);
  TdTestRun r = td_test_tidings (cfg, "check-config", NULL);
  /* The file trusts the server's certificate itself: no warning that GOA accepts any. */
  g_assert_null (strstr (r.err, "accepts any certificate"));
  expect (r, 0, listed, NULL);
  expect (td_test_tidings (cfg, "sync", NULL), 0, NULL, NULL);
  assert_local_matches (&f->base, "INBOX", SHOWN "/INBOX");
}

/* A password the server refuses: GOA is asked to check the account again, cannot, and the
 * error says where to fix it; once GOA has the right password, the next sync works. */
static void
test_refused (GoaFixture *f, gconstpointer data)
{
  g_autofree char *cfg = goa_config (f, NULL);

  seed (&f->base, "INBOX", 1, 100);
  store_goa_password (f, "not the password");
  expect (td_test_tidings (cfg, "sync", NULL), 3, NULL, "Settings → Online Accounts");
  g_autofree char *inbox = g_build_filename (f->base.maildir, SHOWN, "INBOX", "new", NULL);
  g_assert_cmpuint (td_test_count_entries (inbox), ==, 0);

  /* GOA now says the account needs the user, and Tidings does not try the server again. */
  expect (td_test_tidings (cfg, "sync", NULL), 3, NULL, "says the account needs you");

  store_goa_password (f, TD_TEST_PASSWORD);
  ensure_credentials (f);
  expect (td_test_tidings (cfg, "sync", NULL), 0, NULL, NULL);
  assert_local_matches (&f->base, "INBOX", SHOWN "/INBOX");
}

/* The account changed in GOA (now STARTTLS on the plain port) is followed; removed, it is no
 * longer an account, its Maildir stays, and the group that added to it is passed over. */
static void
test_changed_and_removed (GoaFixture *f, gconstpointer data)
{
  g_autofree char *cfg = goa_config (f, NULL);
  g_autofree char *starttls = g_strdup_printf ("imap://" TD_TEST_USER "@127.0.0.1:%u (starttls)",
                                               f->base.dovecot->imap_port);

  seed (&f->base, "INBOX", 2, 100);
  expect (td_test_tidings (cfg, "sync", NULL), 0, NULL, NULL);

  write_goa_account (f, f->base.dovecot->imap_port, FALSE);
  g_subprocess_force_exit (f->goa);
  g_subprocess_wait (f->goa, NULL, NULL);
  g_clear_object (&f->goa);
  g_assert_true (td_test_wait_for_name (f->keyring->bus, GOA_NAME, FALSE));
  start_goa (f);
  wait_for_account (f, TRUE);
  expect (td_test_tidings (cfg, "check-config", NULL), 0, starttls, NULL);
  seed (&f->base, "INBOX", 1, 100);
  expect (td_test_tidings (cfg, "sync", NULL), 0, NULL, NULL);
  assert_local_matches (&f->base, "INBOX", SHOWN "/INBOX");

  /* goa-daemon watches its file, as it does when Settings removes an account. */
  write_goa_account (f, 0, FALSE);
  wait_for_account (f, FALSE);
  expect (td_test_tidings (cfg, "check-config", NULL), 0, "OK, 0 accounts",
          "[account " SHOWN "] has no protocol");
  expect (td_test_tidings (cfg, "sync", NULL), 0, NULL, NULL);
  assert_local_matches (&f->base, "INBOX", SHOWN "/INBOX");
}

/* No session bus: goa = true warns, and the file's own accounts still sync. */
static void
test_no_bus (GoaFixture *f, gconstpointer data)
{
  g_autofree char *bus = g_strdup (g_getenv ("DBUS_SESSION_BUS_ADDRESS"));
  g_autofree char *nowhere = g_strdup_printf ("unix:path=%s/no-bus", f->base.home);
  g_autofree char *extra = g_strdup_printf (
    "\n[account t]\nprotocol = imap\nhost = localhost\nport = %u\nuser = " TD_TEST_USER
    "\npassword = " TD_TEST_PASSWORD "\ntls-ca-file = %s\nmaildir = %s/t\n",
    f->base.dovecot->imaps_port, f->base.dovecot->cert, f->base.maildir);
  g_autofree char *cfg = goa_config (f, extra);

  seed (&f->base, "INBOX", 2, 100);
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", nowhere, TRUE);
  expect (td_test_tidings (cfg, "check-config", NULL), 0, "OK, 1 account",
          "goa = true, but GNOME Online Accounts cannot be reached");
  expect (td_test_tidings (cfg, "sync", NULL), 0, NULL,
                  "only the accounts of the file sync");
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", bus, TRUE);
  assert_local_matches (&f->base, "INBOX", "t/INBOX");
}

/* Waits up to 40 s for the account's State to be one of @wanted ("a|b"; "" for no such
 * account). */
static void
wait_for_state (GoaFixture *f, const char *name, const char *wanted)
{
  g_autofree char *state = NULL;

  if (td_test_wait_for_state (f->keyring->bus, name, wanted, &state))
    return;
  g_autofree char *log = NULL;
  g_file_get_contents (f->daemon_log, &log, NULL, NULL);
  g_test_message ("account %s is “%s”, not %s; the daemon said:\n%s", name, state, wanted,
                  log ? log : "");
  g_assert_not_reached ();
}

/* The daemon follows GOA: an account added in Settings syncs, one that needs the user says
 * so (needs-user) and syncs once the user signed in again, a removed one goes from the bus
 * and its Maildir stays. */
static void
test_daemon_follows (GoaFixture *f, gconstpointer data)
{
  g_autofree char *second_ca = g_strdup_printf ("watch =\n\n[account " SHOWN2 "]\n"
                                                "tls-ca-file = %s\nwatch =\n",
                                                f->base.dovecot->cert);
  g_autofree char *cfg = goa_config (f, second_ca);
  const char *log = f->daemon_log;
  g_autoptr (GError) error = NULL;
  g_autofree char *first = goa_group (GOA_ID, SHOWN, f->base.dovecot->imaps_port, TRUE);
  g_autofree char *second = goa_group (GOA_ID2, SHOWN2, f->base.dovecot->imaps_port, TRUE);
  g_autofree char *both = g_strconcat (first, second, NULL);

  seed (&f->base, "INBOX", 2, 100);
  g_autoptr (GSubprocess) daemon = td_test_start_daemon (cfg, log);
  wait_for_state (f, SHOWN, "idle|watching");
  assert_local_matches (&f->base, "INBOX", SHOWN "/INBOX");

  /* Added in Settings, with a password the server refuses: it waits for the user. */
  store_password_of (f, GOA_ID2, "not the password");
  write_goa_file (f, both);
  wait_for_goa (f, GOA_ID2, TRUE);
  wait_for_state (f, SHOWN2, "needs-user");
  g_autofree char *second_inbox = g_build_filename (f->base.maildir, SHOWN2, "INBOX", "new",
                                                    NULL);
  g_assert_cmpuint (td_test_count_entries (second_inbox), ==, 0);

  /* The user signs in again: GOA's change is the daemon's cue. */
  store_password_of (f, GOA_ID2, TD_TEST_PASSWORD);
  ensure_credentials_of (f, GOA_ID2, TRUE);
  wait_for_state (f, SHOWN2, "idle|watching");
  assert_local_matches (&f->base, "INBOX", SHOWN2 "/INBOX");

  /* Removed in Settings: gone from the daemon, its mail still here. */
  write_goa_file (f, second);
  wait_for_goa (f, GOA_ID, FALSE);
  wait_for_state (f, SHOWN, "");
  assert_local_matches (&f->base, "INBOX", SHOWN "/INBOX");
  g_autofree char *still = td_test_account_state (f->keyring->bus, SHOWN2);
  g_assert_true (g_str_equal (still, "idle") || g_str_equal (still, "watching"));

  g_subprocess_send_signal (daemon, SIGTERM);
  g_assert_true (g_subprocess_wait (daemon, NULL, &error));
  if (g_subprocess_get_exit_status (daemon) != 0)
    {
      g_autofree char *text = NULL;
      g_file_get_contents (log, &text, NULL, NULL);
      g_test_message ("the daemon said: %s", text);
    }
  g_assert_cmpint (g_subprocess_get_exit_status (daemon), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add ("/integration/goa/sync", GoaFixture, NULL, goa_setup, test_sync, goa_teardown);
  g_test_add ("/integration/goa/refused", GoaFixture, NULL, goa_setup, test_refused,
              goa_teardown);
  g_test_add ("/integration/goa/changed-and-removed", GoaFixture, NULL, goa_setup,
              test_changed_and_removed, goa_teardown);
  g_test_add ("/integration/goa/no-bus", GoaFixture, NULL, goa_setup, test_no_bus,
              goa_teardown);
  g_test_add ("/integration/goa/daemon-follows", GoaFixture, NULL, goa_setup,
              test_daemon_follows, goa_teardown);
  return g_test_run ();
}
