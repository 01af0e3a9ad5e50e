/* test-daemon-reload.c: a running `tidings daemon` takes in a changed configuration file on
 * SIGHUP: accounts added, removed and changed, a file that does not load, and an account
 * changed in the middle of its download. Runs under dbus-run-session, like test-daemon.
 * (The accounts of GNOME Online Accounts coming and going are in test-goa.)
 */
#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>

#include "td-test-daemon.h"

#define SIGNAL_WAIT_MS 30000

static gboolean
is_settled (DaemonFixture *f)
{
  g_autoptr (GVariant) state = td_test_account_property (f, "State");
  return state != NULL && (g_str_equal (g_variant_get_string (state, NULL), "watching")
                           || g_str_equal (g_variant_get_string (state, NULL), "idle"));
}

static guint
account_count (DaemonFixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = td_test_call (f, "/org/tidings/Tidings1",
                                             "org.freedesktop.DBus.Properties", "Get",
                                             g_variant_new ("(ss)", "org.tidings.Tidings1.Engine",
                                                            "Accounts"), &error);
  g_autoptr (GVariant) accounts = NULL;

  g_assert_no_error (error);
  g_variant_get (reply, "(v)", &accounts);
  return (guint) g_variant_n_children (accounts);
}

static gboolean
has_two_accounts (DaemonFixture *f)
{
  return account_count (f) == 2;
}

static gboolean
has_one_account (DaemonFixture *f)
{
  return account_count (f) == 1;
}

/* The account u added on SIGHUP has the two seeded messages. */
static gboolean
u_has_mail (DaemonFixture *f)
{
  g_autoptr (GHashTable) local = read_local (&f->base, "u/INBOX");
  return g_hash_table_size (local) == 2;
}

static gboolean
said_not_loaded (DaemonFixture *f)
{
  g_autofree char *err = NULL;
  return g_file_get_contents (f->err_path, &err, NULL, NULL)
         && strstr (err, "the configuration cannot be loaded again") != NULL;
}

static void
rewrite_config (DaemonFixture *f, const char *text)
{
  g_autoptr (GError) error = NULL;
  g_file_set_contents (f->cfg, text, -1, &error);
  g_assert_no_error (error);
  g_chmod (f->cfg, 0600);
}

/* SIGHUP loads the file again: an added account syncs, a removed one goes (its Maildir
 * stays), one that did not change goes on untouched, and a broken file changes nothing. */
static void
test_sighup_reload (DaemonFixture *f, gconstpointer data)
{
  g_autofree char *original = NULL;
  g_autoptr (GError) error = NULL;

  seed (&f->base, "INBOX", 2, 100);
  td_test_daemon_start (f, "imap", "watch =\n");
  g_assert_true (td_test_wait_for (f, is_settled, SIGNAL_WAIT_MS));
  g_assert_true (g_file_get_contents (f->cfg, &original, NULL, &error));
  g_autofree char *with_u = g_strdup_printf (
    "%s\n[account u]\nprotocol = imap\nhost = localhost\nport = %u\nuser = " TD_TEST_USER
    "\npassword = " TD_TEST_PASSWORD "\ntls-ca-file = %s\nmaildir = %s/u\nwatch =\n", original,
    f->base.dovecot->imaps_port, f->base.dovecot->cert, f->base.maildir);

  rewrite_config (f, with_u);
  g_subprocess_send_signal (f->daemon, SIGHUP);
  g_assert_true (td_test_wait_for (f, has_two_accounts, SIGNAL_WAIT_MS));
  g_assert_true (td_test_wait_for (f, u_has_mail, SIGNAL_WAIT_MS));
  assert_local_matches (&f->base, "INBOX", "u/INBOX");

  rewrite_config (f, "[account broken\n");
  g_subprocess_send_signal (f->daemon, SIGHUP);
  g_assert_true (td_test_wait_for (f, said_not_loaded, SIGNAL_WAIT_MS));
  g_assert_true (has_two_accounts (f));
  rewrite_config (f, original);
  g_subprocess_send_signal (f->daemon, SIGHUP);
  g_assert_true (td_test_wait_for (f, has_one_account, SIGNAL_WAIT_MS));
  assert_local_matches (&f->base, "INBOX", "u/INBOX");
  g_assert_cmpint (td_test_daemon_stop (f), ==, 0);
  g_autofree char *err = NULL;
  g_assert_true (g_file_get_contents (f->err_path, &err, NULL, NULL));
  g_assert_nonnull (strstr (err, "account u: no longer in the configuration"));
  g_assert_null (strstr (err, "account t: no longer"));
}

static gboolean
said_last_sync_ended (DaemonFixture *f)
{
  g_autofree char *err = NULL;
  return g_file_get_contents (f->err_path, &err, NULL, NULL)
         && strstr (err, "account t: its last sync has ended") != NULL;
}

/* An account changed on SIGHUP in the middle of its download: that sync stops as a stop
 * request stops it, and the account's new definition finishes the job, every message once. */
static void
test_sighup_mid_sync (DaemonFixture *f, gconstpointer data)
{
  guint from = 0;
  g_autofree char *text = NULL;

  seed (&f->base, "INBOX", 400, 30 * 1024);
  td_test_daemon_start (f, "imap", NULL);
  g_assert_true (g_file_get_contents (f->cfg, &text, NULL, NULL));
  g_assert_nonnull (td_test_wait_signal (f, "Progress", &from, SIGNAL_WAIT_MS));
  g_autofree char *changed = td_test_config_with (text, "timeout = 21\n");
  rewrite_config (f, changed);
  g_subprocess_send_signal (f->daemon, SIGHUP);
  g_assert_true (td_test_wait_for (f, said_last_sync_ended, SIGNAL_WAIT_MS));
  g_assert_true (td_test_wait_for (f, is_settled, 3 * SIGNAL_WAIT_MS));
  assert_folder_matches (&f->base, "INBOX");
  g_assert_cmpint (td_test_daemon_stop (f), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add ("/integration/daemon/sighup-reload", DaemonFixture, NULL,
              td_daemon_fixture_setup, test_sighup_reload, td_daemon_fixture_teardown);
  g_test_add ("/integration/daemon/sighup-mid-sync", DaemonFixture, NULL,
              td_daemon_fixture_setup, test_sighup_mid_sync, td_daemon_fixture_teardown);
  return g_test_run ();
}
