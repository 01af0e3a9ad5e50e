/* test-imap-survey.c: the survey that opens every changed folder in one pipelined round,
 * against a real Dovecot with QRESYNC, with CONDSTORE only (with and without ESEARCH) and
 * as a plain IMAP4rev1 server; and a round spread over more connections, with a server
 * that allows them and one that does not. Round trips are counted by tests/round-trip-relay.py, which
 * delays both ways and counts the times Tidings had to wait for an answer before writing
 * again; no time is measured. */
#include <string.h>

#include "td-test-sync.h"

#define FOLDERS 12
#define RELAY_DELAY_MS 40

static char *
folder_name (guint i)
{
  return g_strdup_printf ("F%02u", i + 1);
}

static void
make_folders (Fixture *f)
{
  for (guint i = 0; i < FOLDERS; i++)
    {
      g_autofree char *name = folder_name (i);
      td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, name, NULL);
      seed (f, name, 3, 300);
    }
}

/* Starts the relay in front of @port; with @hold, the first chunk holding @hold_text waits
 * until @hold has run. */
static GSubprocess *
start_relay (guint16 port, const char *hold_text, const char *const *hold, guint16 *relay_port)
{
  g_autofree char *script = g_build_filename (TD_TEST_SRCDIR, "round-trip-relay.py", NULL);
  g_autofree char *target = g_strdup_printf ("%u", port);
  g_autofree char *delay = g_strdup_printf ("%u", RELAY_DELAY_MS);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;

  g_ptr_array_add (argv, "python3");
  g_ptr_array_add (argv, script);
  g_ptr_array_add (argv, target);
  g_ptr_array_add (argv, delay);
  if (hold != NULL)
    {
      g_ptr_array_add (argv, "--hold");
      g_ptr_array_add (argv, (char *) hold_text);
      g_ptr_array_add (argv, "--");
      for (guint i = 0; hold[i] != NULL; i++)
        g_ptr_array_add (argv, (char *) hold[i]);
    }
  g_ptr_array_add (argv, NULL);
  GSubprocess *relay = g_subprocess_newv ((const char *const *) argv->pdata,
                                          G_SUBPROCESS_FLAGS_STDIN_PIPE
                                            | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);
  g_autoptr (GDataInputStream) out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (relay));
  /* The pipe stays open for the count the relay prints when it stops. */
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (out), FALSE);
  g_autofree char *line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  *relay_port = (guint16) g_ascii_strtoull (line, NULL, 10);
  g_assert_cmpuint (*relay_port, >, 0);
  return relay;
}

/* Stops the relay and returns the turns it counted. */
static guint
relay_turns (GSubprocess *relay)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;

  g_assert_true (g_output_stream_close (g_subprocess_get_stdin_pipe (relay), NULL, &error));
  g_assert_no_error (error);
  g_autoptr (GDataInputStream) in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (relay));
  out = g_data_input_stream_read_line (in, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (out);
  g_assert_true (g_str_has_prefix (out, "turns "));
  g_subprocess_wait (relay, NULL, NULL);
  return (guint) g_ascii_strtoull (out + strlen ("turns "), NULL, 10);
}

/* The account "t" on @port: over implicit TLS, or in clear where @clear (so the relay can
 * see the commands). */
static char *
config_on (Fixture *f, guint16 port, gboolean clear, const char *extra)
{
  g_autofree char *trust = clear ? g_strdup ("security = none\nallow-insecure-auth = true")
                                 : g_strdup_printf ("tls-ca-file = %s", f->dovecot->cert);
  g_autofree char *body = g_strdup_printf (
    "[general]\nstate-dir = %s\n\n[account t]\nprotocol = imap\nhost = localhost\nport = %u\n"
    "user = " TD_TEST_USER "\npassword = " TD_TEST_PASSWORD "\n%s\nmaildir = %s\ntimeout = 20\n%s",
    f->state, port, trust, f->maildir, extra ? extra : "");
  return td_test_write_config (f->home, body);
}

/* One sync through a fresh relay: its turns; the sync must succeed. @extra: more keys. */
static guint
sync_through_relay (Fixture *f, const char *extra)
{
  guint16 port;
  g_autoptr (GSubprocess) relay = start_relay (f->dovecot->imaps_port, NULL, NULL, &port);
  g_autofree char *cfg = config_on (f, port, FALSE, extra);
  TdTestRun r = td_test_tidings (cfg, "sync", "--json", NULL);

  g_assert_cmpint (r.status, ==, 0);
  g_assert_null (strstr (r.out, "\"error\":{"));
  td_test_run_clear (&r);
  return relay_turns (relay);
}

/* A server flag change and an expunge in folder @i. */
static void
change_on_server (Fixture *f, guint i, const char *uid, const char *expunged)
{
  g_autofree char *name = folder_name (i);
  g_autofree char *key = NULL;

  td_test_dovecot_doveadm (f->dovecot, "flags", "add", "-u", TD_TEST_USER, "\\Flagged",
                           "mailbox", name, "uid", uid, NULL);
  td_test_dovecot_doveadm (f->dovecot, "expunge", "-u", TD_TEST_USER, "mailbox", name, "uid",
                           expunged, NULL);
  /* seed() numbered the messages across folders: folder i holds 3i+1 .. 3i+3. */
  key = g_strdup_printf ("%s\n<msg%u@tidings.test>", name,
                         3 * i + (guint) g_ascii_strtoull (expunged, NULL, 10));
  g_assert_true (g_hash_table_remove (f->expected, key));
}

/* The first @n folders hold what the server has. */
static void
assert_first_match (Fixture *f, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = folder_name (i);
      assert_folder_matches (f, name);
    }
}

/* Server changes in one folder synced alone, then in every folder synced together: the
 * second sync waits for the server no more often than the first, give or take a stray
 * turn, and both leave every folder as the server has it. Opened one after another, each
 * folder would add a turn or more of its own. */
static void
test_round_trips (Fixture *f, gconstpointer data)
{
  assert_capabilities_narrowed (f, data);
  make_folders (f);
  g_autofree char *cfg = config (f, NULL);
  sync_ok (cfg);
  assert_first_match (f, FOLDERS);

  change_on_server (f, 0, "1", "2");
  guint one = sync_through_relay (f, "folders = F01\n");
  assert_first_match (f, FOLDERS);
  g_autoptr (GHashTable) local = read_local (f, "F01");
  g_assert_true (has_flag (local, 1, 'F'));

  for (guint i = 0; i < FOLDERS; i++)
    change_on_server (f, i, "3", "1");
  guint all = sync_through_relay (f, NULL);
  assert_first_match (f, FOLDERS);
  for (guint i = 0; i < FOLDERS; i++)
    {
      g_autofree char *name = folder_name (i);
      g_autoptr (GHashTable) files = read_local (f, name);
      g_assert_true (has_flag (files, 3 * i + 3, 'F'));
    }
  g_test_message ("turns: %u with one folder changed, %u with %u", one, all, FOLDERS);
  g_assert_cmpuint (one, >, 0);
  g_assert_cmpuint (all, <=, one + 2);
}

/* The folder with new mail is opened once: the survey opens it last and the round that
 * downloads its messages finds it still open. Another folder the round works on (a flag
 * the reader set, stored on the server) is opened again; one with only a server flag
 * change is worked on here alone. Every change lands either way. */
static void
test_opened_once (Fixture *f, gconstpointer data)
{
  assert_capabilities_narrowed (f, data);
  make_folders (f);
  g_autofree char *cfg = config (f, NULL);
  sync_ok (cfg);

  seed (f, "F02", 2, 300);
  td_test_dovecot_doveadm (f->dovecot, "flags", "add", "-u", TD_TEST_USER, "\\Flagged",
                           "mailbox", "F05", "uid", "2", NULL);
  reader_sets_flags (f, "F07", 3 * 6 + 1, "S");
  TdTestRun r = td_test_tidings (cfg, "sync", "--verbose", NULL);
  g_assert_cmpint (r.status, ==, 0);

  guint f02 = sent_count (r.err, "SELECT \"F02\"");
  guint f07 = sent_count (r.err, "SELECT \"F07\"");
  g_test_message ("SELECTs: F02 %u, F07 %u, all %u", f02, f07, sent_count (r.err, " SELECT "));
  g_assert_cmpuint (f02, ==, 1);
  g_assert_cmpuint (f07, ==, 2);
  td_test_run_clear (&r);
  assert_first_match (f, FOLDERS);
  g_autoptr (GHashTable) f05 = read_local (f, "F05");
  g_assert_true (has_flag (f05, 3 * 4 + 2, 'F'));
  g_autofree char *flags = server_flags (f, "F07", "1");
  g_assert_nonnull (strstr (flags, "\\Seen"));
}

/* A folder deleted on the server between the listing and the survey's SELECT fails alone:
 * the others sync, and the report names it. */
static void
test_folder_gone (Fixture *f, gconstpointer data)
{
  make_folders (f);
  g_autofree char *cfg = config (f, NULL);
  sync_ok (cfg);
  for (guint i = 0; i < FOLDERS; i++)
    change_on_server (f, i, "1", "2");
  seed (f, "F08", 1, 200);

  /* The first SELECT goes out after LIST: F05 is deleted just before it reaches the server. */
  const char *const hold[] = { "doveadm", "-c", f->dovecot->conf, "mailbox", "delete", "-u",
                               TD_TEST_USER, "F05", NULL };
  guint16 port;
  g_autoptr (GSubprocess) relay = start_relay (f->dovecot->imap_port, "SELECT", hold, &port);
  g_autofree char *clear = config_on (f, port, TRUE, NULL);
  TdTestRun r = td_test_tidings (clear, "sync", "--json", NULL);
  relay_turns (relay);

  g_assert_cmpint (r.status, ==, 1);
  g_assert_true (g_regex_match_simple ("\"folder\":\"F05\"[^}]*\"error\":\"the server refused "
                                             "SELECT: Mailbox doesn't exist", r.out, 0, 0));
  td_test_run_clear (&r);
  for (guint i = 0; i < FOLDERS; i++)
    {
      g_autofree char *name = folder_name (i);
      if (i != 4)
        assert_folder_matches (f, name);
    }
}

/* Parallel connections */

#define SPREAD_FOLDERS 4

static guint
count_in_log (Fixture *f, const char *what)
{
  g_autofree char *log = td_test_dovecot_read_log (f->dovecot);
  guint n = 0;

  for (const char *p = strstr (log, what); p != NULL; p = strstr (p + 1, what))
    n++;
  return n;
}

/* Four folders of 5 MB each: enough for a first sync to spread over more connections. */
static void
seed_spread (Fixture *f)
{
  for (guint i = 0; i < SPREAD_FOLDERS; i++)
    {
      g_autofree char *name = folder_name (i);
      seed_folder_files (f, name, 250, 20000);
    }
}

/* A big first sync spreads its folders over `connections`: Dovecot logs a login for each;
 * a sync with nothing to download keeps to one. */
static void
test_connections_spread (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, "connections = 3\n");

  seed_spread (f);
  guint before = count_in_log (f, "Login: user=");
  sync_ok (cfg);
  guint first = count_in_log (f, "Login: user=") - before;
  assert_first_match (f, SPREAD_FOLDERS);
  sync_ok (cfg);
  guint second = count_in_log (f, "Login: user=") - before - first;
  g_test_message ("logins: %u for the first sync, %u for the second", first, second);
  g_assert_cmpuint (first, ==, 3);
  g_assert_cmpuint (second, ==, 1);
}

/* A server that allows one connection per user and address refuses the others: the sync
 * goes on with the one it has, and succeeds. */
static void
test_connections_limited (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, "connections = 4\n");

  seed_spread (f);
  sync_ok (cfg);
  assert_first_match (f, SPREAD_FOLDERS);
  g_assert_cmpuint (count_in_log (f, "Maximum number of connections"), >, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, fn, conf) \
  g_test_add (path, Fixture, conf, td_sync_fixture_setup, fn, td_sync_fixture_teardown)
  ADD ("/integration/imap/survey/round-trips", test_round_trips, NULL);
  ADD ("/integration/imap/survey/round-trips-condstore", test_round_trips,
       "imap_capability = IMAP4rev1 LITERAL+ CONDSTORE ESEARCH");
  ADD ("/integration/imap/survey/round-trips-condstore-no-esearch", test_round_trips,
       "imap_capability = IMAP4rev1 LITERAL+ CONDSTORE");
  ADD ("/integration/imap/survey/round-trips-plain-imap4rev1", test_round_trips,
       "imap_capability = IMAP4rev1 LITERAL+");
  ADD ("/integration/imap/survey/opened-once", test_opened_once, NULL);
  ADD ("/integration/imap/survey/opened-once-plain-imap4rev1", test_opened_once,
       "imap_capability = IMAP4rev1 LITERAL+");
  ADD ("/integration/imap/survey/folder-gone", test_folder_gone, NULL);
  ADD ("/integration/imap/connections/spread", test_connections_spread, NULL);
  ADD ("/integration/imap/connections/limited", test_connections_limited,
       "mail_max_userip_connections = 1");
  return g_test_run ();
}
