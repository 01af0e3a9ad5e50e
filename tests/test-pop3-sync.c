/* test-pop3-sync.c: `tidings sync` of a POP3 account against Dovecot's POP3 (UIDL format
 * set, PIPELINING offered), checked as a user would: the files in the Maildir byte for byte
 * (CRLF -> LF being the only change), what stays on the server, exit codes and messages. */
#include <signal.h>
#include <sqlite3.h>
#include <string.h>

#include "td-test-sync.h"

/* The mailbox is the account's Maildir itself: cur/, new/ and tmp/ directly in it. */
#define ROOT ""

/* A POP3 account "t"; POP3S unless @extra says otherwise. */
static char *
pop3_config (Fixture *f, gboolean trust, guint16 port, const char *extra)
{
  g_autofree char *ca = trust ? g_strdup_printf ("tls-ca-file = %s\n", f->dovecot->cert)
                              : g_strdup ("");
  g_autofree char *base = g_strdup_printf (
    "[general]\nstate-dir = %s\n\n[account t]\nprotocol = pop3\nhost = localhost\n"
    "port = %u\nuser = " TD_TEST_USER "\npassword = " TD_TEST_PASSWORD "\n"
    "maildir = %s\ntimeout = 20\n",
    f->state, port ? port : f->dovecot->pop3s_port, f->maildir);
  g_autofree char *more = g_strconcat (ca, extra, NULL);
  g_autofree char *body = td_test_config_with (base, more);
  return td_test_write_config (f->home, body);
}

static TdTestRun
sync_run (const char *cfg)
{
  return td_test_tidings (cfg, "sync", "--json", "--verbose", NULL);
}

static guint
count_retr (const char *log)
{
  guint n = 0;
  for (const char *p = log; (p = strstr (p, "C: RETR ")) != NULL; p++)
    n++;
  return n;
}

/* The most RETRs sent and not yet answered at any point of the debug log: 1 without
 * pipelining. (Which RETR goes out first alone depends on timing; the peak does not.) */
static guint
max_retr_in_flight (const char *log)
{
  g_auto (GStrv) lines = g_strsplit (log, "\n", -1);
  guint out = 0, peak = 0;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (strstr (lines[i], "C: RETR ") != NULL)
        {
          out++;
          peak = MAX (peak, out);
        }
      else if (strstr (lines[i], " to RETR ") != NULL && out > 0)
        out--;
    }
  return peak;
}

static guint
count_files (Fixture *f, const char *sub)
{
  g_autofree char *dir = g_build_filename (f->maildir, sub, NULL);
  return td_test_count_entries (dir);
}

/* A few hundred messages arrive byte for byte in new/, unflagged; the server keeps them;
 * the next run downloads nothing, and the one after that only what is new. */
static void
test_download (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = pop3_config (f, TRUE, 0, NULL);

  seed (f, "INBOX", 300, 400);
  seed (f, "INBOX", 1, 300 * 1024);
  TdTestRun r = sync_run (cfg);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"added\":301");
  /* PIPELINING: RETRs go out before the answers to earlier ones are in. */
  g_assert_cmpuint (count_retr (r.err), ==, 301);
  g_assert_cmpuint (max_retr_in_flight (r.err), >, 1);
  /* auth = auto takes the strongest mechanism Dovecot offers; its first message travels in
   * the AUTH command, which the log never shows. */
  g_assert_nonnull (strstr (r.err, "C: AUTH SCRAM-SHA-256 (credentials not shown)"));
  const char plain[] = "\0" TD_TEST_USER "\0" TD_TEST_PASSWORD;
  g_autofree char *b64 = g_base64_encode ((const guint8 *) plain, sizeof plain - 1);
  g_assert_null (strstr (r.err, b64));
  g_assert_null (strstr (r.err, TD_TEST_PASSWORD));
  td_test_run_clear (&r);
  assert_local_matches (f, "INBOX", ROOT);
  g_assert_cmpuint (count_files (f, "new"), ==, 301);
  g_assert_cmpuint (count_files (f, "cur"), ==, 0);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 301);

  r = sync_run (cfg);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"added\":0");
  g_assert_cmpuint (count_retr (r.err), ==, 0);
  td_test_run_clear (&r);

  seed (f, "INBOX", 2, 100);
  r = sync_run (cfg);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"added\":2");
  g_assert_cmpuint (count_retr (r.err), ==, 2);
  td_test_run_clear (&r);
  assert_local_matches (f, "INBOX", ROOT);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 303);
}

/* keep-on-server = false: everything downloaded is deleted on the server, and only that. */
static void
test_delete (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = pop3_config (f, TRUE, 0, "keep-on-server = false\n");

  seed (f, "INBOX", 12, 200);
  TdTestRun r = sync_run (cfg);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"added\":12");
  assert_json (&r, "\"deleted_remote\":12");
  td_test_run_clear (&r);
  assert_local_matches (f, "INBOX", ROOT);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 0);

  seed (f, "INBOX", 3, 200);
  r = td_test_tidings (cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 0);
  /* The summary speaks of a mailbox, not of folders and flags. */
  g_assert_true (g_str_has_prefix (r.out, "t: 3 new ("));
  g_assert_nonnull (strstr (r.out, "), 3 deleted on the server\n"));
  td_test_run_clear (&r);
  assert_local_matches (f, "INBOX", ROOT);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 0);
}

/* max-size: bigger messages are not downloaded, and with keep-on-server = false not
 * deleted either (only what was downloaded is); raising the limit brings them. */
static void
test_max_size (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = pop3_config (f, TRUE, 0, "keep-on-server = false\nmax-size = 10K\n");

  seed (f, "INBOX", 4, 200);
  seed (f, "INBOX", 2, 30000);
  TdTestRun r = sync_run (cfg);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"added\":4");
  assert_json (&r, "\"too_big\":2");
  assert_json (&r, "\"deleted_remote\":4");
  g_assert_cmpuint (count_retr (r.err), ==, 4);
  td_test_run_clear (&r);
  g_assert_cmpuint (count_files (f, "new"), ==, 4);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 2);

  r = td_test_tidings (cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "2 over max-size left on the server"));
  td_test_run_clear (&r);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 2);

  g_autofree char *raised = pop3_config (f, TRUE, 0, "keep-on-server = false\nmax-size = 0\n");
  r = sync_run (raised);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"added\":2");
  assert_json (&r, "\"too_big\":0");
  td_test_run_clear (&r);
  assert_local_matches (f, "INBOX", ROOT);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 0);
}

/* Moves every download's date back by @days in the state DB. */
static void
age_downloads (Fixture *f, guint days)
{
  g_autofree char *path = g_build_filename (f->state, "state.db", NULL);
  g_autofree char *sql = g_strdup_printf ("UPDATE downloads SET downloaded = downloaded - %u",
                                          days * 24 * 3600);
  sqlite3 *db = NULL;
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_changes (db), >, 0);
  sqlite3_close (db);
}

/* delete-after-days = 3: mail stays on the server until it was downloaded 3 days ago. */
static void
test_delete_after_days (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = pop3_config (f, TRUE, 0, "delete-after-days = 3\n");

  seed (f, "INBOX", 5, 200);
  sync_ok (cfg);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 5);
  age_downloads (f, 2);
  seed (f, "INBOX", 1, 200);
  sync_ok (cfg);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 6);
  age_downloads (f, 2); /* the first five are now 4 days old, the sixth 2 */
  TdTestRun r = sync_run (cfg);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"added\":0");
  assert_json (&r, "\"deleted_remote\":5");
  td_test_run_clear (&r);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 1);
  assert_local_matches (f, "INBOX", ROOT);
}

/* STLS on the plain port: the session is secured before the login. */
static void
test_stls (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = pop3_config (f, TRUE, f->dovecot->pop3_port, "security = starttls\n");

  seed (f, "INBOX", 4, 200);
  TdTestRun r = sync_run (cfg);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, "C: STLS"));
  g_assert_true (strstr (r.err, "C: STLS") < strstr (r.err, "C: AUTH"));
  /* CAPA is asked again over TLS: what came before cannot be trusted. */
  g_assert_nonnull (strstr (strstr (r.err, "C: STLS"), "C: CAPA"));
  td_test_run_clear (&r);
  assert_local_matches (f, "INBOX", ROOT);
}

/* USER and PASS for auth = login when the server offers no LOGIN mechanism, not AUTH. */
static void
test_user_pass (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = pop3_config (f, TRUE, 0, "auth = login\n");

  seed (f, "INBOX", 2, 200);
  TdTestRun r = sync_run (cfg);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, "C: USER " TD_TEST_USER));
  g_assert_nonnull (strstr (r.err, "C: PASS (credentials not shown)"));
  g_assert_null (strstr (r.err, "C: AUTH"));
  g_assert_null (strstr (r.err, TD_TEST_PASSWORD));
  td_test_run_clear (&r);
  assert_local_matches (f, "INBOX", ROOT);
}

/* APOP only when asked for: the server offers it (a timestamp in its greeting), yet the
 * default login is AUTH PLAIN; with auth = apop it is APOP. */
static void
test_apop (Fixture *f, gconstpointer data)
{
  g_autofree char *plain = pop3_config (f, TRUE, 0, NULL);

  seed (f, "INBOX", 2, 200);
  TdTestRun r = sync_run (plain);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_null (strstr (r.err, "C: APOP"));
  g_assert_nonnull (strstr (r.err, "C: AUTH PLAIN"));
  td_test_run_clear (&r);

  g_autofree char *apop = pop3_config (f, TRUE, 0, "auth = apop\n");
  seed (f, "INBOX", 1, 200);
  r = sync_run (apop);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, "C: APOP (credentials not shown)"));
  assert_json (&r, "\"added\":1");
  td_test_run_clear (&r);
  assert_local_matches (f, "INBOX", ROOT);
}

static guint
count_download_rows (Fixture *f)
{
  g_autofree char *path = g_build_filename (f->state, "state.db", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT count(*) FROM downloads", -1, &stmt, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  guint n = (guint) sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return n;
}

/* --dry-run says what a sync would download and delete, and changes nothing: no file, no
 * record, nothing deleted on the server. The real sync then does just that. */
static void
test_dry_run (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = pop3_config (f, TRUE, 0, "keep-on-server = false\n");

  seed (f, "INBOX", 5, 300);
  TdTestRun r = td_test_tidings (cfg, "sync", "--dry-run", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"dry_run\":true");
  assert_json (&r, "\"added\":5");
  assert_json (&r, "\"deleted_remote\":5");
  td_test_run_clear (&r);
  g_assert_cmpuint (count_files (f, "new"), ==, 0);
  g_assert_cmpuint (count_download_rows (f), ==, 0);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 5);

  r = sync_run (cfg);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"added\":5");
  assert_json (&r, "\"deleted_remote\":5");
  td_test_run_clear (&r);
  assert_local_matches (f, "INBOX", ROOT);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 0);
}

static void
test_wrong_password (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = pop3_config (f, TRUE, 0, "password = not the password\n");

  seed (f, "INBOX", 1, 100);
  TdTestRun r = td_test_tidings (cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 3);
  g_assert_nonnull (strstr (r.err, "account t"));
  g_assert_nonnull (strstr (r.err, "user " TD_TEST_USER));
  g_assert_null (strstr (r.err, "not the password"));
  td_test_run_clear (&r);
  g_assert_cmpuint (count_files (f, "new"), ==, 0);
}

/* A certificate no CA vouches for: exit 4, and the server never saw a login. */
static void
test_untrusted_certificate (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = pop3_config (f, FALSE, 0, NULL);

  td_test_expect_untrusted (f->dovecot, cfg);
}

/* Logs in on the plain POP3 port and stays: with pop3_lock_session, the mailbox is then
 * held by that session. */
static GSocketConnection *
hold_mailbox (Fixture *f)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  g_socket_client_set_enable_proxy (client, FALSE);
  GSocketConnection *conn = g_socket_client_connect_to_host (client, "127.0.0.1",
                                                             f->dovecot->pop3_port, NULL, &error);
  g_assert_no_error (error);
  GDataInputStream *in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (conn)));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  const char *lines[] = { NULL, "USER " TD_TEST_USER "\r\n", "PASS " TD_TEST_PASSWORD "\r\n" };
  for (guint i = 0; i < G_N_ELEMENTS (lines); i++)
    {
      if (lines[i] != NULL)
        g_assert_true (g_output_stream_write_all (out, lines[i], strlen (lines[i]), NULL, NULL,
                                                  &error));
      g_autofree char *answer = g_data_input_stream_read_line (in, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (g_str_has_prefix (answer, "+OK"));
    }
  g_object_unref (in);
  return conn;
}

/* Another client holds the mailbox: exit 5, saying so, and nothing changes. */
static void
test_in_use (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = pop3_config (f, TRUE, 0, NULL);

  seed (f, "INBOX", 2, 100);
  g_autoptr (GSocketConnection) other = hold_mailbox (f);
  TdTestRun r = td_test_tidings (cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 5);
  g_assert_nonnull (strstr (r.err, "another POP3 client"));
  td_test_run_clear (&r);
  g_assert_cmpuint (count_files (f, "new"), ==, 0);
  g_io_stream_close (G_IO_STREAM (other), NULL, NULL);
}

/* The server starts giving every message another UIDL (as after a move to another
 * server): nothing is downloaded again; the records follow the messages by size and
 * header; new mail after that is still new. */
static void
test_uidl_change (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = pop3_config (f, TRUE, 0, NULL);

  seed (f, "INBOX", 30, 500);
  sync_ok (cfg);
  td_test_dovecot_reconfigure (f->dovecot, "pop3_uidl_format = moved-%v.%u\n");
  TdTestRun r = sync_run (cfg);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"added\":0");
  assert_json (&r, "\"rematched\":30");
  g_assert_nonnull (strstr (r.err, "C: TOP 1 0"));
  g_assert_cmpuint (count_retr (r.err), ==, 0);
  td_test_run_clear (&r);
  assert_local_matches (f, "INBOX", ROOT);

  seed (f, "INBOX", 2, 500);
  r = sync_run (cfg);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"added\":2");
  assert_json (&r, "\"rematched\":0");
  td_test_run_clear (&r);
  assert_local_matches (f, "INBOX", ROOT);
}

/* Runs a sync and kills it (-9) once a line of its debug log ends in @trigger; FALSE when
 * the run ended without reaching it. */
static gboolean
kill_at (const char *cfg, const char *trigger)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                                  | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                                                &error, g_getenv ("TIDINGS_BIN"), "--config", cfg,
                                                "sync", "--verbose", NULL);
  g_assert_no_error (error);
  g_autoptr (GDataInputStream) err = g_data_input_stream_new (g_subprocess_get_stderr_pipe (p));
  char *line;
  gboolean hit = FALSE;
  while (!hit && (line = g_data_input_stream_read_line (err, NULL, NULL, NULL)) != NULL)
    {
      hit = g_str_has_suffix (line, trigger);
      g_free (line);
    }
  g_subprocess_send_signal (p, SIGKILL);
  g_subprocess_wait (p, NULL, NULL);
  g_test_message ("killed at %s: %s", trigger, hit ? "yes" : "no, the run ended first");
  return hit;
}

/* kill -9 at each step of a run that deletes on the server (after some downloads, as the
 * DELEs go out, as QUIT goes out), then a full run: every message is in the Maildir
 * exactly once, and the server is empty. */
static void
test_kill_and_rerun (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = pop3_config (f, TRUE, 0, "keep-on-server = false\n");
  /* Downloads are made durable 200 at a time: the second round dies after the first batch. */
  const char *triggers[] = { "C: RETR 40", "S: +OK to RETR 240", "C: DELE 1", "C: QUIT" };

  for (guint round = 0; round < G_N_ELEMENTS (triggers); round++)
    {
      seed (f, "INBOX", 130, 1000);
      /* A round that never reached its step would test nothing there. */
      g_assert_true (kill_at (cfg, triggers[round]));
      g_autoptr (GHashTable) partial = read_local (f, ROOT); /* fails on a duplicate */
      g_test_message ("round %u: %u messages on disk, %u on the server", round,
                      g_hash_table_size (partial), server_count (f, "INBOX"));
    }
  sync_ok (cfg);
  assert_local_matches (f, "INBOX", ROOT);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 0);
}

#define ADD(path, fn, extra) \
  g_test_add (path, Fixture, extra, td_sync_fixture_setup, fn, td_sync_fixture_teardown)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  ADD ("/integration/pop3/download", test_download, NULL);
  ADD ("/integration/pop3/delete", test_delete, NULL);
  ADD ("/integration/pop3/max-size", test_max_size, NULL);
  ADD ("/integration/pop3/delete-after-days", test_delete_after_days, NULL);
  ADD ("/integration/pop3/stls", test_stls, NULL);
  ADD ("/integration/pop3/wrong-password", test_wrong_password, NULL);
  ADD ("/integration/pop3/user-pass", test_user_pass, "auth_mechanisms = plain\n");
  ADD ("/integration/pop3/apop", test_apop, "auth_mechanisms = plain login apop\n");
  ADD ("/integration/pop3/untrusted-certificate", test_untrusted_certificate, NULL);
  ADD ("/integration/pop3/kill-and-rerun", test_kill_and_rerun, NULL);
  ADD ("/integration/pop3/uidl-change", test_uidl_change, NULL);
  ADD ("/integration/pop3/in-use", test_in_use, "pop3_lock_session = yes\n");
  ADD ("/integration/pop3/dry-run", test_dry_run, NULL);
  return g_test_run ();
}
