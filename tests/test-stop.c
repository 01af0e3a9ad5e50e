/* test-stop.c: a download that is stopped or cut keeps what came down whole, and the next
 * run finishes the job with nothing lost or stored twice.
 *
 * The link is tests/throttle-proxy.py in front of Dovecot: 4 MB/s for the stop (so the
 * download of 48 MB is still going when the stop comes), and a cut after a set number of
 * bytes for the dropped connection (a real server cannot be made to drop mid-FETCH). */
#include <signal.h>
#include <string.h>

#include "td-test-sync.h"

/* Bytes a second of the slow link, and the size of the messages sent over it. */
#define SLOW_LINK (4 * 1000 * 1000)
#define MESSAGE_SIZE 40000

/* A config for account "t" of @protocol reached through the proxy on @port. */
static char *
proxied_config (Fixture *f, const char *protocol, guint16 port)
{
  g_autofree char *body = g_strdup_printf (
    "[general]\nstate-dir = %s\n\n[account t]\nprotocol = %s\nhost = localhost\nport = %u\n"
    "user = " TD_TEST_USER "\npassword = " TD_TEST_PASSWORD "\ntls-ca-file = %s\n"
    "maildir = %s\ntimeout = 20\n", f->state, protocol, port, f->dovecot->cert, f->maildir);
  return td_test_write_config (f->home, body);
}

static guint
stored_in (Fixture *f, const char *dir)
{
  g_autoptr (GHashTable) local = read_local (f, dir); /* fails on a message stored twice */
  return g_hash_table_size (local);
}

/* After a stop or a cut: no litter in tmp/, and a run straight to the server brings the
 * rest, so that the folder holds every message once. */
static void
finish_directly (Fixture *f, const char *protocol, guint16 target, const char *dir)
{
  g_assert_cmpuint (count_tmp (f, dir), ==, 0);
  g_autofree char *direct = proxied_config (f, protocol, target);
  sync_ok (direct);
  assert_local_matches (f, "INBOX", dir);
}

/* Which account a test syncs: IMAP keeps INBOX in INBOX/, POP3 at the Maildir's root. */
static const char *
local_dir (const char *protocol)
{
  return g_str_equal (protocol, "imap") ? "INBOX" : "";
}

static guint16
server_port (Fixture *f, const char *protocol)
{
  return g_str_equal (protocol, "imap") ? f->dovecot->imaps_port : f->dovecot->pop3s_port;
}

/* Waits (at most 60 s) until @dir holds at least one durable message. */
static void
wait_for_first_message (Fixture *f, const char *dir)
{
  for (guint i = 0; i < 600 && stored_in (f, dir) == 0; i++)
    g_usleep (100 * 1000);
  g_assert_cmpuint (stored_in (f, dir), >, 0);
}

/* SIGTERM during a first sync over a 4 MB/s link: the process ends within a couple of
 * seconds (the whole download would take twelve), says it stopped and how to finish, keeps
 * what was stored and leaves nothing in tmp/; the next run brings the rest. */
static void
test_stop_mid_download (Fixture *f, gconstpointer protocol)
{
  const char *dir = local_dir (protocol);
  guint16 target = server_port (f, protocol), port = 0;
  g_autoptr (GError) error = NULL;

  seed_inbox_files (f, 1200, MESSAGE_SIZE);
  g_autoptr (GSubprocess) proxy = start_throttle (f, target, SLOW_LINK, 0, &port);
  g_autofree char *cfg = proxied_config (f, protocol, port);
  g_autoptr (GSubprocess) p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                                  | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                                                &error, g_getenv ("TIDINGS_BIN"), "--config",
                                                cfg, "sync", "--local", NULL);
  g_assert_no_error (error);
  wait_for_first_message (f, dir);
  g_usleep (500 * 1000);
  gint64 asked = g_get_monotonic_time ();
  g_subprocess_send_signal (p, SIGTERM);
  g_autofree char *err = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (p, NULL, NULL, NULL, &err, &error));
  g_assert_no_error (error);
  gint64 took = g_get_monotonic_time () - asked;
  guint kept = stored_in (f, dir);
  g_test_message ("stopped %.2f s after SIGTERM with %u of 1200 messages stored", took / 1e6,
                  kept);
  g_subprocess_force_exit (proxy);

  g_assert_true (g_subprocess_get_if_exited (p));
  g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 128 + SIGTERM);
  g_assert_nonnull (strstr (err, "account t: stopped on request"));
  g_assert_nonnull (strstr (err, "Run the sync again to finish"));
  g_assert_cmpint (took, <, 4 * G_USEC_PER_SEC);
  g_assert_cmpuint (kept, <, 1200);
  finish_directly (f, protocol, target, dir);
}

/* The link drops 6 MB into a 12 MB first sync: the run fails with a network error, the
 * messages that had come down whole are stored (a batch is 200 messages or 32 MB, so before
 * they were all thrown away), and the next run brings the rest, none twice. */
static void
test_cut_mid_download (Fixture *f, gconstpointer protocol)
{
  const char *dir = local_dir (protocol);
  guint16 target = server_port (f, protocol), port = 0;
  guint64 cut = 6 * 1000 * 1000;

  seed_inbox_files (f, 300, MESSAGE_SIZE);
  g_autoptr (GSubprocess) proxy = start_throttle (f, target, 0, cut, &port);
  g_autofree char *cfg = proxied_config (f, protocol, port);
  TdTestRun r = td_test_tidings (cfg, "sync", "--local", NULL);
  guint kept = stored_in (f, dir);
  g_test_message ("exit %d after the cut, %u of 300 messages stored: %s", r.status, kept, r.err);
  g_subprocess_force_exit (proxy);

  g_assert_cmpint (r.status, ==, 5);
  td_test_run_clear (&r);
  /* 6 MB holds about 150 messages of 40 kB; TLS and protocol take a little of it. */
  g_assert_cmpuint (kept, >=, 100);
  g_assert_cmpuint (kept, <, 300);
  finish_directly (f, protocol, target, dir);
}

static void
setup (Fixture *f, gconstpointer protocol)
{
  td_sync_fixture_setup (f, NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* The test data is the protocol, not the extra Dovecot config the fixture takes. */
#define ADD(path, fn, protocol) \
  g_test_add (path, Fixture, protocol, setup, fn, td_sync_fixture_teardown)
  ADD ("/integration/stop/imap/sigterm-mid-download", test_stop_mid_download, "imap");
  ADD ("/integration/stop/pop3/sigterm-mid-download", test_stop_mid_download, "pop3");
  ADD ("/integration/stop/imap/cut-mid-download", test_cut_mid_download, "imap");
  ADD ("/integration/stop/pop3/cut-mid-download", test_cut_mid_download, "pop3");
  return g_test_run ();
}
