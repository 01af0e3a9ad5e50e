/* test-imap-sync.c: tidings sync against a real Dovecot, checked as a user would: files on
 * disk, byte for byte (CRLF -> LF being the only change), exit codes and messages. */
#include <fcntl.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <pty.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "td-test-sync.h"

static void
test_full_pull (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);

  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Archive/2024",
                           "Entwürfe", "Lists/gnome/devel", NULL);
  seed (f, "INBOX", 20, 600);
  seed (f, "INBOX", 1, 300 * 1024);
  seed (f, "Archive/2024", 3, 2000);
  seed (f, "Entwürfe", 2, 100);
  seed (f, "Lists/gnome/devel", 2, 100);

  sync_ok (cfg);
  assert_folder_matches (f, "INBOX");
  assert_folder_matches (f, "Archive/2024");
  assert_folder_matches (f, "Entwürfe");
  assert_folder_matches (f, "Lists/gnome/devel");

  /* Nothing changed: nothing is downloaded, and no folder is even opened. */
  /* Nothing changed: nothing is downloaded. The folders Tidings itself just wrote to are
   * looked at once more (their directory times moved); after that none is even opened. */
  g_usleep (200 * 1000); /* well past the 50 ms same-tick margin of the directory times */
  TdTestRun r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_regex_match_simple ("\"(added|removed|flags_changed|flags_pushed)\":[1-9]",
                                       r.out, 0, 0) == FALSE);
  td_test_run_clear (&r);
  r = td_test_tidings (cfg, "sync", "--json", "--verbose", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_null (strstr (r.out, "\"unchanged\":false"));
  g_assert_nonnull (strstr (r.out, "\"folder\":\"Entwürfe\""));
  g_assert_true (g_regex_match_simple ("\"bytes\":[1-9]", r.out, 0, 0) == FALSE);
  g_assert_true (sent_command (r.err, "RETURN (SPECIAL-USE STATUS ("));
  g_assert_false (sent_command (r.err, "EXAMINE"));
  g_assert_false (sent_command (r.err, "SELECT"));
  td_test_run_clear (&r);
  assert_folder_matches (f, "INBOX");
}

/* Flag changes both ways on the server, an expunge and a new message reach the disk. */
static void
server_changes_scenario (Fixture *f)
{
  g_autofree char *cfg = config (f, NULL);

  seed (f, "INBOX", 8, 200);
  td_test_dovecot_doveadm (f->dovecot, "flags", "add", "-u", TD_TEST_USER, "\\Seen", "mailbox",
                           "INBOX", "uid", "1", NULL);
  sync_ok (cfg);
  g_autoptr (GHashTable) before = read_local (f, "INBOX");
  g_assert_true (has_flag (before, 1, 'S'));

  td_test_dovecot_doveadm (f->dovecot, "flags", "remove", "-u", TD_TEST_USER, "\\Seen", "mailbox",
                           "INBOX", "uid", "1", NULL);
  td_test_dovecot_doveadm (f->dovecot, "flags", "add", "-u", TD_TEST_USER, "\\Flagged", "mailbox",
                           "INBOX", "uid", "2", NULL);
  td_test_dovecot_doveadm (f->dovecot, "flags", "add", "-u", TD_TEST_USER, "\\Seen \\Answered",
                           "mailbox", "INBOX", "uid", "3", NULL);
  td_test_dovecot_doveadm (f->dovecot, "expunge", "-u", TD_TEST_USER, "mailbox", "INBOX", "uid",
                           "4", NULL);
  g_hash_table_remove (f->expected, "INBOX\n<msg4@tidings.test>");
  seed (f, "INBOX", 1, 200);

  TdTestRun r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "\"added\":1,\"flags_changed\":3,\"removed\":1"));
  td_test_run_clear (&r);
  g_autoptr (GHashTable) after = read_local (f, "INBOX");
  g_assert_false (has_flag (after, 1, 'S'));
  g_assert_true (has_flag (after, 2, 'F'));
  g_assert_true (has_flag (after, 3, 'S') && has_flag (after, 3, 'R'));
  assert_folder_matches (f, "INBOX");
}

static void
test_server_changes (Fixture *f, gconstpointer data)
{
  server_changes_scenario (f);
}

/* With QRESYNC (Dovecot's default) the changes come with the EXAMINE: no listing at all. */
static void
test_qresync (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);

  seed (f, "INBOX", 6, 100);
  sync_ok (cfg);
  td_test_dovecot_doveadm (f->dovecot, "flags", "add", "-u", TD_TEST_USER, "\\Flagged", "mailbox",
                           "INBOX", "uid", "2", NULL);
  td_test_dovecot_doveadm (f->dovecot, "expunge", "-u", TD_TEST_USER, "mailbox", "INBOX", "uid",
                           "3,5", NULL);
  g_hash_table_remove (f->expected, "INBOX\n<msg3@tidings.test>");
  g_hash_table_remove (f->expected, "INBOX\n<msg5@tidings.test>");
  TdTestRun r = td_test_tidings (cfg, "sync", "--verbose", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, "(QRESYNC ("));
  g_assert_false (sent_command (r.err, "CHANGEDSINCE"));
  g_assert_false (sent_command (r.err, "UID FETCH 1:"));
  td_test_run_clear (&r);
  g_autoptr (GHashTable) local = read_local (f, "INBOX");
  g_assert_true (has_flag (local, 2, 'F'));
  assert_folder_matches (f, "INBOX");
}

/* The same on a server without CONDSTORE, ESEARCH or any other extension. */
static void
test_plain_server (Fixture *f, gconstpointer data)
{
  assert_capabilities_narrowed (f, data);
  server_changes_scenario (f);
}

static void
test_uidvalidity_change (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);

  seed (f, "INBOX", 6, 300);
  sync_ok (cfg);
  g_autoptr (GHashTable) before = read_local (f, "INBOX");

  td_test_dovecot_doveadm (f->dovecot, "mailbox", "update", "-u", TD_TEST_USER, "--uid-validity",
                           "12345", "INBOX", NULL);
  seed (f, "INBOX", 1, 300);
  TdTestRun r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "\"added\":1,"));
  g_assert_nonnull (strstr (r.out, "\"rematched\":6"));
  td_test_run_clear (&r);
  g_autoptr (GHashTable) after = read_local (f, "INBOX");
  /* The same files, untouched, plus the new one. */
  for (guint id = 1; id <= 6; id++)
    g_assert_cmpstr (local_name (after, id), ==, local_name (before, id));
  assert_folder_matches (f, "INBOX");
}

static void
test_starttls (Fixture *f, gconstpointer data)
{
  g_autofree char *port = g_strdup_printf ("security = starttls\nport = %u\n",
                                           f->dovecot->imap_port);
  g_autofree char *cfg = config (f, port);

  seed (f, "INBOX", 3, 100);
  sync_ok (cfg);
  assert_folder_matches (f, "INBOX");
}

/* Neither the password nor its PLAIN encoding appears in any output, at any verbosity. */
static void
assert_no_secret (const TdTestRun *r, const char *password)
{
  g_autofree char *plain = g_strdup_printf ("%c%s%c%s", 0, TD_TEST_USER, 0, password);
  g_autofree char *b64 = g_base64_encode ((const guchar *) plain,
                                          2 + strlen (TD_TEST_USER) + strlen (password));
  const char *outputs[] = { r->out, r->err };
  for (guint i = 0; i < 2; i++)
    {
      g_assert_null (strstr (outputs[i], password));
      g_assert_null (strstr (outputs[i], b64));
    }
}

static void
test_wrong_password (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, "password = not the password\n");

  seed (f, "INBOX", 1, 100);
  TdTestRun r = td_test_tidings (cfg, "sync", "--verbose", NULL);
  g_assert_cmpint (r.status, ==, 3);
  g_assert_nonnull (strstr (r.err, "refused the login"));
  g_assert_nonnull (strstr (r.err, "AUTHENTICATE")); /* verbose really shows the exchange */
  assert_no_secret (&r, "not the password");
  td_test_run_clear (&r);

  g_autofree char *good = config (f, NULL);
  r = td_test_tidings (good, "sync", "--verbose", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_no_secret (&r, TD_TEST_PASSWORD);
  td_test_run_clear (&r);
}

/* Without tls-ca-file the test certificate is not trusted: refused before any login. */
static void
test_untrusted_certificate (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config_without_ca (f, NULL);

  td_test_expect_untrusted (f->dovecot, cfg);
}

static char *
fingerprint_of (const char *cert)
{
  g_autofree char *out = NULL;
  char *argv[] = { "openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", (char *) cert, NULL };
  g_assert_true (g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL, NULL,
                               NULL));
  const char *eq = strchr (out, '=');
  g_assert_nonnull (eq);
  return g_strstrip (g_strdup (eq + 1));
}

/* A pinned certificate is accepted without any CA, written as Tidings prints it or as
 * openssl does; a different pin is refused (exit 4), and a refusal shows the fingerprint
 * the server presented, ready to paste. */
static void
test_tls_fingerprint (Fixture *f, gconstpointer data)
{
  g_autofree char *pin = fingerprint_of (f->dovecot->cert);
  const char *wrong = "sha256:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                      "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";
  g_autofree char *seen = g_strdup_printf ("tls-fingerprint = sha256:%s;", pin);
  const char *prefixes[] = { "sha256:", "sha256 Fingerprint=", "" };

  seed (f, "INBOX", 2, 100);
  for (guint i = 0; i < G_N_ELEMENTS (prefixes); i++)
    {
      g_autofree char *line = g_strdup_printf ("tls-fingerprint = %s%s\n", prefixes[i],
                                               i < 2 ? pin : wrong);
      g_autofree char *cfg = config_without_ca (f, line);
      TdTestRun r = td_test_tidings (cfg, "sync", NULL);
      g_assert_cmpint (r.status, ==, i < 2 ? 0 : 4);
      if (i == 2)
        g_assert_nonnull (strstr (r.err, seen));
      td_test_run_clear (&r);
    }
  assert_folder_matches (f, "INBOX");

  g_autofree char *unpinned = config_without_ca (f, NULL);
  TdTestRun r = td_test_tidings (unpinned, "sync", NULL);
  g_assert_cmpint (r.status, ==, 4);
  g_assert_nonnull (strstr (r.err, "it is not signed by a trusted authority"));
  g_assert_nonnull (strstr (r.err, seen));
  td_test_run_clear (&r);
}

/* layout = maildir++: INBOX is the Maildir itself, other folders .A.B in modified UTF-7. */
static void
test_maildirpp_layout (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, "layout = maildir++\n");

  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Archive/2024",
                           "Entwürfe", NULL);
  seed (f, "INBOX", 2, 100);
  seed (f, "Archive/2024", 1, 100);
  seed (f, "Entwürfe", 1, 100);
  sync_ok (cfg);
  assert_local_matches (f, "INBOX", "");
  assert_local_matches (f, "Archive/2024", ".Archive.2024");
  assert_local_matches (f, "Entwürfe", ".Entw&APw-rfe");
}

/* More than half of a folder of 20 or more gone from the server: the folder stops with exit
 * 7 and nothing local is removed, until --force. */
static void
test_deletion_guard (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);

  seed (f, "INBOX", 24, 100);
  sync_ok (cfg);
  td_test_dovecot_doveadm (f->dovecot, "expunge", "-u", TD_TEST_USER, "mailbox", "INBOX", "uid",
                           "1:13", NULL);
  TdTestRun r = td_test_tidings (cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 7);
  g_assert_nonnull (strstr (r.err, "13 of the 24"));
  g_assert_nonnull (strstr (r.err, "--force"));
  td_test_run_clear (&r);
  g_autoptr (GHashTable) kept = read_local (f, "INBOX");
  g_assert_cmpuint (g_hash_table_size (kept), ==, 24);

  r = td_test_tidings (cfg, "sync", "--force", NULL);
  g_assert_cmpint (r.status, ==, 0);
  td_test_run_clear (&r);
  for (guint id = 1; id <= 13; id++)
    {
      g_autofree char *key = g_strdup_printf ("INBOX\n<msg%u@tidings.test>", id);
      g_hash_table_remove (f->expected, key);
    }
  assert_folder_matches (f, "INBOX");
}

/* A server with CONDSTORE but without LIST-STATUS: pipelined STATUS finds the one folder
 * that changed, and only that one is opened. */
static void
test_status_fallback (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);

  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Archive", NULL);
  seed (f, "INBOX", 3, 100);
  seed (f, "Archive", 3, 100);
  sync_ok (cfg);
  g_usleep (200 * 1000); /* past the same-tick margin: the folders count as scanned */
  sync_ok (cfg);
  td_test_dovecot_doveadm (f->dovecot, "flags", "add", "-u", TD_TEST_USER, "\\Flagged", "mailbox",
                           "Archive", "uid", "1", NULL);
  TdTestRun r = td_test_tidings (cfg, "sync", "--verbose", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (sent_command (r.err, "STATUS \"INBOX\""));
  g_assert_false (sent_command (r.err, "LIST \"\" \"*\" RETURN ("));
  g_assert_false (sent_command (r.err, "SELECT \"INBOX\""));
  g_assert_false (sent_command (r.err, "EXAMINE \"INBOX\""));
  g_assert_true (sent_command (r.err, "SELECT \"Archive\""));
  td_test_run_clear (&r);
  g_autoptr (GHashTable) local = read_local (f, "Archive");
  g_assert_true (has_flag (local, 4, 'F'));
}

/* The state DB is lost (or the Maildir was filled by another tool): the messages already
 * there are recognised, not downloaded a second time. */
static void
test_lost_state_db (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);

  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Archive/2024", NULL);
  seed (f, "INBOX", 10, 300);
  seed (f, "Archive/2024", 3, 300);
  td_test_dovecot_doveadm (f->dovecot, "flags", "add", "-u", TD_TEST_USER, "\\Seen", "mailbox",
                           "INBOX", "uid", "1:4", NULL);
  sync_ok (cfg);
  td_test_remove_tree (f->state);
  seed (f, "INBOX", 1, 300);
  /* Without the state a missing file is not a deletion: it comes back down. */
  g_autoptr (GHashTable) before = read_local (f, "INBOX");
  const char *v = local_name (before, 5);
  g_autofree char *name = g_strndup (v, strchr (v, '\n') - v);
  g_autofree char *cur = g_build_filename (f->maildir, "INBOX", "cur", name, NULL);
  g_autofree char *new = g_build_filename (f->maildir, "INBOX", "new", name, NULL);
  g_assert_true (g_unlink (cur) == 0 || g_unlink (new) == 0);

  TdTestRun r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "\"folder\":\"INBOX\",\"added\":2,"));
  g_assert_nonnull (strstr (r.out, "\"rematched\":9"));
  g_assert_null (strstr (r.out, "\"deleted_remote\":1"));
  g_assert_null (strstr (r.out, "\"uploaded\":1"));
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 11);
  g_assert_nonnull (strstr (r.out, "\"rematched\":3"));
  td_test_run_clear (&r);
  assert_folder_matches (f, "INBOX");
  assert_folder_matches (f, "Archive/2024");

  /* And the folder is tracked again: a flag change on the server reaches the right file. */
  td_test_dovecot_doveadm (f->dovecot, "flags", "add", "-u", TD_TEST_USER, "\\Flagged",
                           "mailbox", "INBOX", "uid", "2", NULL);
  sync_ok (cfg);
  g_autoptr (GHashTable) local = read_local (f, "INBOX");
  g_assert_true (has_flag (local, 2, 'F') && has_flag (local, 2, 'S'));
}

/* A damaged state DB (here a file of other bytes) stops the run with what to do; done, the
 * next run recognises the messages already here instead of downloading them again. */
static void
test_corrupt_state_db (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);
  g_autofree char *db = g_build_filename (f->state, "state.db", NULL);
  g_autofree char *aside = g_build_filename (f->state, "state.db.broken", NULL);
  g_autofree char *junk = g_strnfill (64 * 1024, 'x');

  seed (f, "INBOX", 4, 300);
  sync_ok (cfg);
  for (const char *const *ext = (const char *const[]) { "-wal", "-shm", NULL }; *ext; ext++)
    {
      g_autofree char *side = g_strconcat (db, *ext, NULL);
      g_unlink (side);
    }
  g_assert_true (g_file_set_contents (db, junk, -1, NULL));

  TdTestRun r = td_test_tidings (cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 6);
  g_assert_nonnull (strstr (r.err, "file is not a database"));
  g_assert_nonnull (strstr (r.err, "the file is damaged: move it aside"));
  td_test_run_clear (&r);

  g_assert_cmpint (g_rename (db, aside), ==, 0);
  r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "\"rematched\":4"));
  g_assert_nonnull (strstr (r.out, "\"added\":0,"));
  td_test_run_clear (&r);
  assert_folder_matches (f, "INBOX");
}

/* Flags changed in the mail reader reach the server. */
static void
test_push_flags (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);

  seed (f, "INBOX", 4, 100);
  td_test_dovecot_doveadm (f->dovecot, "flags", "add", "-u", TD_TEST_USER, "\\Seen", "mailbox",
                           "INBOX", "uid", "1:2", NULL);
  sync_ok (cfg);
  /* A no-op run well after the first records the folder as scanned and unchanged, so the
   * reader's renames below must be found through the directory times, not by chance. */
  g_usleep (200 * 1000);
  sync_ok (cfg);
  g_usleep (200 * 1000);
  reader_sets_flags (f, "INBOX", 1, "FS");  /* flagged */
  reader_sets_flags (f, "INBOX", 2, "");    /* marked unread */
  reader_sets_flags (f, "INBOX", 3, "RS");  /* read and replied to, moved out of new/ */
  TdTestRun r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "\"flags_pushed\":3"));
  td_test_run_clear (&r);
  g_autofree char *f1 = server_flags (f, "INBOX", "1");
  g_autofree char *f2 = server_flags (f, "INBOX", "2");
  g_autofree char *f3 = server_flags (f, "INBOX", "3");
  g_autofree char *f4 = server_flags (f, "INBOX", "4");
  g_assert_cmpstr (f1, ==, "\\Flagged \\Seen");
  g_assert_cmpstr (f2, ==, "");
  g_assert_cmpstr (f3, ==, "\\Answered \\Seen");
  g_assert_cmpstr (f4, ==, "");
  /* Nothing is left to do: a second run pushes nothing. */
  r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_null (strstr (r.out, "\"flags_pushed\":1"));
  g_assert_null (strstr (r.out, "\"flags_pushed\":3"));
  td_test_run_clear (&r);
}

/* Both sides changed flags of the same messages: the changes merge, on both sides. */
static void
test_merge_flags (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);

  seed (f, "INBOX", 2, 100);
  td_test_dovecot_doveadm (f->dovecot, "flags", "add", "-u", TD_TEST_USER, "\\Seen", "mailbox",
                           "INBOX", "uid", "1:2", NULL);
  sync_ok (cfg);
  td_test_dovecot_doveadm (f->dovecot, "flags", "add", "-u", TD_TEST_USER, "\\Answered",
                           "mailbox", "INBOX", "uid", "1", NULL);
  td_test_dovecot_doveadm (f->dovecot, "flags", "remove", "-u", TD_TEST_USER, "\\Seen",
                           "mailbox", "INBOX", "uid", "2", NULL);
  reader_sets_flags (f, "INBOX", 1, "FS");
  reader_sets_flags (f, "INBOX", 2, "FS");
  sync_ok (cfg);
  g_autofree char *f1 = server_flags (f, "INBOX", "1");
  g_autofree char *f2 = server_flags (f, "INBOX", "2");
  g_assert_cmpstr (f1, ==, "\\Answered \\Flagged \\Seen");
  g_assert_cmpstr (f2, ==, "\\Flagged");
  g_autoptr (GHashTable) local = read_local (f, "INBOX");
  g_assert_true (has_flag (local, 1, 'F') && has_flag (local, 1, 'R') && has_flag (local, 1, 'S'));
  g_assert_true (has_flag (local, 2, 'F') && !has_flag (local, 2, 'S'));
}

/* sync = pull: what the reader changes stays local, and the server keeps its flags. */
static void
test_pull_does_not_push (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, "sync = pull\n");

  seed (f, "INBOX", 2, 100);
  sync_ok (cfg);
  reader_sets_flags (f, "INBOX", 1, "FS");
  TdTestRun r = td_test_tidings (cfg, "sync", "--verbose", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_false (sent_command (r.err, "STORE"));
  g_assert_false (sent_command (r.err, "SELECT"));
  td_test_run_clear (&r);
  g_autofree char *f1 = server_flags (f, "INBOX", "1");
  g_assert_cmpstr (f1, ==, "");
  g_autoptr (GHashTable) local = read_local (f, "INBOX");
  g_assert_true (has_flag (local, 1, 'F'));
}

/* kill -9 at random instants of a download, then a full run: nothing lost, nothing twice,
 * nothing left in tmp/. */
static void
test_kill_and_rerun (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);
  const char *bin = g_getenv ("TIDINGS_BIN");
  g_autoptr (GRand) rand = g_rand_new_with_seed (20261121);

  seed (f, "INBOX", 120, 4000);
  seed (f, "INBOX", 3, 200 * 1024);
  for (guint round = 0; round < 8; round++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GSubprocess) p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                                      | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                                                    &error, bin, "--config", cfg, "sync", NULL);
      g_assert_no_error (error);
      g_usleep (g_rand_int_range (rand, 20, 400) * 1000);
      g_subprocess_send_signal (p, SIGKILL);
      g_subprocess_wait (p, NULL, NULL);
      g_autoptr (GHashTable) partial = read_local (f, "INBOX"); /* fails on a duplicate */
      g_test_message ("round %u: %u messages on disk", round, g_hash_table_size (partial));
    }
  sync_ok (cfg);
  assert_folder_matches (f, "INBOX");
}

/* The summary line counts in words that agree with their numbers and leaves out what is
 * zero; a run that fails before doing anything prints no line of zeros. */
static void
test_summary (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);

  seed (f, "INBOX", 3, 200);
  TdTestRun r = td_test_tidings (cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_regex_match_simple ("^t: 3 new \\([^)]+\\); in 1 folder\n$", r.out, 0, 0));
  td_test_run_clear (&r);

  g_usleep (200 * 1000); /* past the same-tick margin of the directory times */
  td_test_dovecot_doveadm (f->dovecot, "flags", "add", "-u", TD_TEST_USER, "\\Flagged",
                           "mailbox", "INBOX", "uid", "1", NULL);
  r = td_test_tidings (cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.out, ==, "t: 1 flag change; in 1 folder\n");
  td_test_run_clear (&r);

  g_autofree char *closed = config (f, "port = 9\n");
  r = td_test_tidings (closed, "sync", NULL);
  g_assert_cmpint (r.status, ==, 5);
  g_assert_cmpstr (r.out, ==, "");
  g_assert_nonnull (strstr (r.err, "account t"));
  td_test_run_clear (&r);
}

static gboolean
is_ascii (const char *text)
{
  for (const char *c = text; *c != '\0'; c++)
    if ((guchar) *c >= 0x80)
      return FALSE;
  return TRUE;
}

/* Under LC_ALL=C what Tidings writes is ASCII: a size is "1.2 kB" with a plain space (so
 * grep finds it) and quotes are straight; under a UTF-8 locale they stay as they were. */
static void
test_plain_locale (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);

  seed (f, "INBOX", 3, 2000);
  TdTestRun r = td_test_tidings_in_locale ("C", cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (is_ascii (r.out));
  g_assert_true (g_regex_match_simple ("^t: 3 new \\([0-9.]+ kB\\); in 1 folder\n$", r.out,
                                       0, 0));
  td_test_run_clear (&r);

  g_autofree char *typo = config (f, "maildri = /tmp\n"); /* the same file */
  r = td_test_tidings_in_locale ("C", typo, "check-config", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_true (is_ascii (r.err));
  g_assert_nonnull (strstr (r.err, "unknown key; did you mean 'maildir'?"));
  td_test_run_clear (&r);

  r = td_test_tidings_in_locale ("C.UTF-8", typo, "check-config", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "unknown key; did you mean “maildir”?"));
  td_test_run_clear (&r);
}

/* An account pointed at the other protocol's port, or at a plain-text port with TLS, is
 * told which port or security setting it wants (exit 5), not a parse error. */
static void
test_wrong_port (Fixture *f, gconstpointer data)
{
  struct
  {
    const char *protocol;
    const char *security;
    guint port;
    const char *said;
  } cases[] = {
    { "imap", "tls", f->dovecot->pop3s_port, "this port speaks POP3, not IMAP: set the "
                                             "account's port to the IMAP one (993 with "
                                             "security = tls, 143 with starttls), or "
                                             "protocol = pop3" },
    { "pop3", "tls", f->dovecot->imaps_port, "this port speaks IMAP, not POP3" },
    { "imap", "tls", f->dovecot->imap_port, "the server answers in plain text, not TLS: this "
                                            "port wants security = starttls" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *extra = g_strdup_printf ("protocol = %s\nsecurity = %s\nport = %u\n",
                                                cases[i].protocol, cases[i].security,
                                                cases[i].port);
      g_autofree char *cfg = config (f, extra);
      TdTestRun r = td_test_tidings (cfg, "sync", NULL);
      g_assert_cmpint (r.status, ==, 5);
      g_assert_nonnull (strstr (r.err, cases[i].said));
      td_test_run_clear (&r);
    }
}

/* --verbose traces both sides of the exchange, readable, with no credential and no message
 * body in it. */
static void
test_verbose_trace (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);

  seed (f, "INBOX", 2, 400);
  TdTestRun r = td_test_tidings (cfg, "sync", "--verbose", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, ": C: "));
  g_assert_nonnull (strstr (r.err, ": S: * OK"));
  g_assert_true (g_regex_match_simple (": S: \\* [0-9]+ FETCH \\(.*BODY\\[\\] \\{[0-9]+ bytes not shown\\}",
                                       r.err, 0, 0));
  g_assert_true (g_regex_match_simple (": S: [a-z]*[0-9]+ OK ", r.err, 0, 0));
  g_assert_null (strstr (r.err, TD_TEST_PASSWORD));
  g_assert_null (strstr (r.err, "Hello 1,"));
  g_assert_null (strstr (r.err, "abcdefghijklmnopqrstuvwxyz"));
  td_test_run_clear (&r);
}

/* A second run on a locked account waits briefly, then exits 8 naming the holder's pid. */
static void
test_lock (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);
  g_autofree char *lock = g_build_filename (f->state, "t.lock", NULL);

  g_mkdir_with_parents (f->state, 0700);
  int fd = g_open (lock, O_RDWR | O_CREAT, 0600);
  g_assert_cmpint (flock (fd, LOCK_EX), ==, 0);
  /* The holder notes its pid, as a running Tidings does; the refusal names it. */
  g_autofree char *pid = g_strdup_printf ("%d\n", (int) getpid ());
  g_assert_cmpint (write (fd, pid, strlen (pid)), ==, (gssize) strlen (pid));
  TdTestRun r = td_test_tidings (cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 8);
  g_autofree char *named = g_strdup_printf ("another Tidings process (pid %d)", (int) getpid ());
  g_assert_nonnull (strstr (r.err, named));
  td_test_run_clear (&r);
  close (fd);
}

static void
test_config_errors (Fixture *f, gconstpointer data)
{
  g_autofree char *bad = config (f, "port = 70000\n");
  TdTestRun r = td_test_tidings (bad, "check-config", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "tidings.conf:12: [account t] port:"));
  td_test_run_clear (&r);

  /* An unknown protocol names the line and the protocols there are, not the installation. */
  g_autofree char *jmap = config (f, "protocol = jmap\n");
  r = td_test_tidings (jmap, "sync", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "tidings.conf:12: [account t] no plugin serves protocol "
                                   "“jmap”; the protocols there are: imap, pop3"));
  td_test_run_clear (&r);
  g_assert_false (g_file_test (f->maildir, G_FILE_TEST_EXISTS));

  /* "imaps" says how implicit TLS is asked for. */
  g_autofree char *imaps = config (f, "protocol = imaps\n");
  r = td_test_tidings (imaps, "check-config", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "tidings.conf:12: [account t] protocol: “imaps” is IMAP "
                                   "over TLS: write protocol = imap"));
  g_assert_nonnull (strstr (r.err, "security = tls"));
  td_test_run_clear (&r);

  /* A CA file that cannot be read is found without connecting. */
  g_autofree char *no_ca = config_without_ca (f, "tls-ca-file = /nonexistent/ca.pem\n");
  r = td_test_tidings (no_ca, "check-config", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "tls-ca-file: cannot read “/nonexistent/ca.pem”: No such "
                                   "file or directory"));
  td_test_run_clear (&r);

  /* No configuration file: the installed example and the man page, not a checkout's path. */
  g_autofree char *missing = g_build_filename (f->home, "no-such-config", NULL);
  r = td_test_tidings (missing, "sync", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "tidings.conf.example (`man tidings.conf` describes"));
  g_assert_null (strstr (r.err, "data/"));
  td_test_run_clear (&r);

  /* An account that is not there: the ones that are. */
  g_autofree char *good_again = config (f, NULL);
  r = td_test_tidings (good_again, "sync", "nope", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "no account “nope” in "));
  g_assert_nonnull (strstr (r.err, "; the accounts there are: t\n"));
  td_test_run_clear (&r);

  g_autofree char *good = config (f, NULL);
  r = td_test_tidings (good, "check-config", NULL);
  g_assert_cmpint (r.status, ==, 0);
  td_test_run_clear (&r);
}

/* What `tidings sync` drew on a terminal: each redraw ("\r" ends the last) with the time
 * it arrived. */
typedef struct
{
  gint64 at;
  char *text;
} Redraw;

static void
redraw_clear (gpointer data)
{
  g_free (((Redraw *) data)->text);
}

/* Runs `tidings sync` with its standard error on a pseudo-terminal and collects the redraws,
 * for at most @limit_s seconds. */
static GArray *
sync_on_terminal (const char *cfg, guint limit_s, int *status)
{
  int master, slave;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
    G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  GArray *redraws = g_array_new (FALSE, FALSE, sizeof (Redraw));
  GString *pending = g_string_new (NULL);
  gint64 deadline = g_get_monotonic_time () + limit_s * G_USEC_PER_SEC;

  g_array_set_clear_func (redraws, redraw_clear);
  g_assert_cmpint (openpty (&master, &slave, NULL, NULL, NULL), ==, 0);
  g_subprocess_launcher_take_stderr_fd (launcher, slave);
  g_autoptr (GSubprocess) p = g_subprocess_launcher_spawn (launcher, &error,
                                                           g_getenv ("TIDINGS_BIN"), "--config",
                                                           cfg, "sync", "--local", NULL);
  g_assert_no_error (error);
  g_subprocess_launcher_close (launcher);
  while (g_get_monotonic_time () < deadline)
    {
      struct pollfd pfd = { master, POLLIN, 0 };
      char buf[4096];
      if (poll (&pfd, 1, 200) <= 0)
        continue;
      ssize_t n = read (master, buf, sizeof buf);
      if (n <= 0)
        break; /* the child closed the terminal: it has ended */
      g_string_append_len (pending, buf, n);
      char *cr;
      while ((cr = strchr (pending->str, '\r')) != NULL)
        {
          Redraw r = { g_get_monotonic_time (), g_strndup (pending->str, cr - pending->str) };
          if (r.text[0] != '\0')
            g_array_append_val (redraws, r);
          else
            g_free (r.text);
          g_string_erase (pending, 0, cr - pending->str + 1);
        }
    }
  close (master);
  g_assert_true (g_subprocess_wait (p, NULL, &error));
  *status = g_subprocess_get_exit_status (p);
  g_string_free (pending, TRUE);
  return redraws;
}

/* A first sync of 1,200 messages (about 48 MB) over a 4 MB/s link: on a terminal the line
 * shows the real total from the start and moves at least every second and a half (a durable
 * batch of 200 such messages takes two seconds to come down). */
static void
test_progress_terminal (Fixture *f, gconstpointer data)
{
  guint16 port = 0;
  int status = -1;

  seed_inbox_files (f, 1200, 40000);
  g_autoptr (GSubprocess) proxy = start_throttle (f, f->dovecot->imaps_port, 4 * 1000 * 1000, 0,
                                                  &port);
  g_autofree char *body = g_strdup_printf (
    "[general]\nstate-dir = %s\n\n[account t]\nprotocol = imap\nhost = localhost\nport = %u\n"
    "user = " TD_TEST_USER "\npassword = " TD_TEST_PASSWORD "\ntls-ca-file = %s\n"
    "maildir = %s\ntimeout = 20\n", f->state, port, f->dovecot->cert, f->maildir);
  g_autofree char *cfg = td_test_write_config (f->home, body);
  g_autoptr (GArray) redraws = sync_on_terminal (cfg, 120, &status);
  g_subprocess_force_exit (proxy);

  g_assert_cmpint (status, ==, 0);
  assert_folder_matches (f, "INBOX");
  /* The download's redraws. The line "moves" when what has come down changes (messages
   * or bytes); a redraw that only recomputes the rate of a stalled download does not. */
  gint64 first = 0, last = 0, longest = 0;
  guint drawn = 0, totals = 0;
  g_autofree char *shown = NULL;
  for (guint i = 0; i < redraws->len; i++)
    {
      const Redraw *r = &g_array_index (redraws, Redraw, i);
      const char *counts = strstr (r->text, "messages, ");
      const char *of = counts != NULL ? strstr (counts, " of ") : NULL;
      if (of == NULL)
        continue;
      g_test_message ("%.3f s: %s", (r->at - (first ? first : r->at)) / 1e6, r->text);
      drawn++;
      totals += strstr (r->text, "/1200 messages") != NULL;
      g_autofree char *now = g_strndup (r->text, of - r->text);
      if (g_strcmp0 (now, shown) == 0)
        continue;
      g_free (g_steal_pointer (&shown));
      shown = g_steal_pointer (&now);
      if (first == 0)
        first = r->at;
      else
        longest = MAX (longest, r->at - last);
      last = r->at;
    }
  g_test_message ("%u redraws over %.1f s, longest still %.2f s", drawn, (last - first) / 1e6,
                  longest / 1e6);
  g_assert_cmpuint (drawn, >=, 3);
  g_assert_cmpuint (totals, ==, drawn);
  g_assert_cmpint (longest, <=, 1500 * G_TIME_SPAN_MILLISECOND);
}

/* A server that offers ID (RFC 2971) is told the client's name and version (Dovecot logs
 * it with imap_id_log); one that does not is not asked. */
static void
test_imap_id (Fixture *f, gconstpointer data)
{
  gboolean offered = data != NULL && strstr (data, "imap_id_log") != NULL;
  g_autofree char *cfg = config (f, NULL);

  seed (f, "INBOX", 1, 100);
  TdTestRun r = td_test_tidings (cfg, "sync", "--verbose", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (sent_command (r.err, "ID (\"name\" \"Tidings\" \"version\"") == offered);
  td_test_run_clear (&r);
  assert_folder_matches (f, "INBOX");
  if (offered)
    {
      g_autofree char *log = td_test_dovecot_read_log (f->dovecot);
      g_assert_nonnull (strstr (log, "ID sent: name=Tidings, version="));
    }
}

/* tunnel-command: IMAP over a command's standard input and output, here Dovecot's imap
 * binary run by doveadm exec, which logs in by itself (PREAUTH): no host, no password, no
 * TLS. Mail comes down and a flag set here goes up, as over the network. A command that
 * cannot run fails the sync as a network error that names it. */
static void
test_tunnel (Fixture *f, gconstpointer data)
{
  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Lists", NULL);
  seed (f, "INBOX", 3, 200);
  seed (f, "Lists", 1, 100);
  g_autofree char *body = g_strdup_printf (
    "[general]\nstate-dir = %s\n\n[account t]\nprotocol = imap\n"
    "tunnel-command = doveadm -c %s exec imap -u " TD_TEST_USER "\nmaildir = %s\n",
    f->state, f->dovecot->conf, f->maildir);
  g_autofree char *cfg = td_test_write_config (f->home, body);
  TdTestRun r = td_test_tidings (cfg, "sync", "--verbose", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, "PREAUTH"));
  g_assert_false (sent_command (r.err, "AUTHENTICATE"));
  g_assert_false (sent_command (r.err, "LOGIN"));
  td_test_run_clear (&r);
  assert_folder_matches (f, "INBOX");
  assert_folder_matches (f, "Lists");

  reader_sets_flags (f, "INBOX", 2, "FS");
  sync_ok (cfg);
  g_autofree char *flags = server_flags (f, "INBOX", "2");
  g_assert_nonnull (strstr (flags, "\\Flagged"));

  g_autofree char *broken = g_strdup_printf (
    "[general]\nstate-dir = %s\n\n[account t]\nprotocol = imap\n"
    "tunnel-command = /nonexistent/imap-tunnel\nmaildir = %s\n", f->state, f->maildir);
  g_autofree char *bad = td_test_write_config (f->home, broken);
  r = td_test_tidings (bad, "sync", NULL);
  g_assert_cmpint (r.status, ==, 5);
  g_assert_nonnull (strstr (r.err, "account t (tunnel-command /nonexistent/imap-tunnel): the "
                                   "command cannot be run"));
  td_test_run_clear (&r);
}

/* max-size: messages bigger than it stay on the server, named in the summary and the JSON,
 * and are not deleted on either side by later syncs; a dry run shows them; raising the
 * limit brings them on the next sync. With QRESYNC, and on a plain IMAP4rev1 server where
 * what is left is listed whole. */
static void
test_max_size (Fixture *f, gconstpointer data)
{
  assert_capabilities_narrowed (f, data);
  seed (f, "INBOX", 3, 200);
  seed (f, "INBOX", 2, 30000);
  g_autofree char *cfg = config (f, "max-size = 10K\n");
  sync_says (cfg, "--json", "\"added\":3", "\"too_big\":2", NULL);
  g_autoptr (GHashTable) first = read_local (f, "INBOX");
  g_assert_cmpuint (g_hash_table_size (first), ==, 3);

  /* A new big one and a new small one, and the reader deletes a small one: the big ones
   * stay where they are, on the server only. */
  seed (f, "INBOX", 1, 30000);
  seed (f, "INBOX", 1, 200);
  sync_says (cfg, "--dry-run", "leave 3 over max-size on the server", NULL);
  remove_local (f, "INBOX", 1);
  sync_says (cfg, NULL, "1 new", "3 over max-size left on the server", NULL);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 6); /* the reader's deletion, no other */
  sync_ok (cfg);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 6);
  g_autoptr (GHashTable) second = read_local (f, "INBOX");
  g_assert_cmpuint (g_hash_table_size (second), ==, 3);

  /* The state DB lost: the files here are recognised, and the big ones are still left on
   * the server rather than downloaded. */
  td_test_remove_tree (f->state);
  sync_says (cfg, "--json", "\"added\":0", "\"too_big\":3", NULL);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 6);

  /* Quiet now: the folder is not even opened (where HIGHESTMODSEQ can tell)... */
  g_usleep (200 * 1000); /* past the same-tick margin of the directory times */
  sync_ok (cfg);
  TdTestRun r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true ((strstr (r.out, "\"unchanged\":true") != NULL) == (data == NULL));
  g_assert_nonnull (strstr (r.out, "\"added\":0"));
  td_test_run_clear (&r);

  /* ...until the limit is raised: the three big ones come down, and nothing else changes. */
  g_autofree char *raised = config (f, "max-size = 1M\n");
  sync_says (raised, "--json", "\"added\":3", NULL);
  g_autoptr (GHashTable) third = read_local (f, "INBOX");
  g_assert_cmpuint (g_hash_table_size (third), ==, 6);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 6);
  assert_folder_matches (f, "INBOX");
  r = td_test_tidings (raised, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_null (strstr (r.out, "\"added\":1"));
  g_assert_nonnull (strstr (r.out, "\"too_big\":0"));
  td_test_run_clear (&r);
}

/* max-age: messages the server received before the cut-off stay there, counted like
 * max-size's; the limit raised brings them; held messages that age past the limit stay on
 * both sides; a lost state DB finds the held ones again and leaves the rest. */
static void
test_max_age (Fixture *f, gconstpointer data)
{
  gint64 long_ago = g_get_real_time () / G_USEC_PER_SEC - 400 * 24 * 3600;

  assert_capabilities_narrowed (f, data);
  seed (f, "INBOX", 3, 200);
  seed_files_dated (f, "INBOX", 2, 200, long_ago);
  g_autofree char *cfg = config (f, "max-age = 365\n");
  TdTestRun r = td_test_tidings (cfg, "sync", "--json", "--verbose", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"added\":3");
  assert_json (&r, "\"too_old\":2");
  /* Where the server saves a search (Dovecot does), only what comes down is listed in full;
   * the old ones by UID alone. */
  g_assert_true (sent_command (r.err, "UID SEARCH RETURN (ALL) UID 1:* BEFORE ")
                 == (data == NULL));
  g_assert_true (sent_command (r.err, "UID FETCH $ (UID FLAGS RFC822.SIZE INTERNALDATE)")
                 == (data == NULL));
  td_test_run_clear (&r);
  g_autoptr (GHashTable) first = read_local (f, "INBOX");
  g_assert_cmpuint (g_hash_table_size (first), ==, 3);

  /* An old one and a new one come, and the reader deletes one: the dry run and the sync say
   * what stays on the server, and only the reader's deletion reaches it. */
  seed_files_dated (f, "INBOX", 1, 200, long_ago);
  seed (f, "INBOX", 1, 200);
  sync_says (cfg, "--dry-run", "leave 3 older than max-age on the server", NULL);
  remove_local (f, "INBOX", 1);
  sync_says (cfg, NULL, "1 new", "3 older than max-age left on the server", NULL);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 6);

  /* Quiet: not opened where HIGHESTMODSEQ tells, and nothing comes either way. */
  g_usleep (200 * 1000); /* past the same-tick margin of the directory times */
  sync_ok (cfg);
  r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true ((strstr (r.out, "\"unchanged\":true") != NULL) == (data == NULL));
  g_assert_nonnull (strstr (r.out, "\"added\":0"));
  td_test_run_clear (&r);

  /* A longer max-age brings the three (listed again in full from the first of them, where
   * only their UIDs were known). */
  g_autofree char *longer = config (f, "max-age = 500\n");
  sync_says (longer, "--json", "\"added\":3", "\"too_old\":0", NULL);
  assert_folder_matches (f, "INBOX");

  /* Back to 365: the three held ones are older than that now, and stay on both sides. */
  g_autofree char *again = config (f, "max-age = 365\n");
  sync_says (again, "--json", "\"removed\":0", "\"deleted_remote\":0", "\"too_old\":0", NULL);
  assert_folder_matches (f, "INBOX");
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 6);

  /* The state DB lost: every file here is recognised, old or not; an old one only the server
   * has stays there. */
  seed_files_dated (f, "INBOX", 1, 200, long_ago);
  td_test_remove_tree (f->state);
  sync_says (again, "--json", "\"added\":0", "\"too_old\":1", NULL);
  g_autoptr (GHashTable) last = read_local (f, "INBOX");
  g_assert_cmpuint (g_hash_table_size (last), ==, 6);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 7);
}

/* Hooks */

/* A hook command for @key that appends its environment's TIDINGS_ values, a line each
 * ("key NAME=value", the changed folders joined by "|"), to @log and says hello. */
static char *
hook_command (const char *key, const char *log, const char *extra)
{
  return g_strdup_printf ("%s = sh -c 'for v in ACCOUNT NEW EXIT_CODE; do echo \"%s "
                          "$v=$(printenv TIDINGS_$v)\"; done >> %s; echo \"%s CHANGED=$(printf "
                          "%%s \"$TIDINGS_CHANGED_FOLDERS\" | tr \"\\n\" \"|\")\" >> %s; "
                          "echo hello from %s%s'\n", key, key, log, key, log, key,
                          extra != NULL ? extra : "");
}

static char *
read_text (const char *path)
{
  char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

static guint
count_text (const char *text, const char *what)
{
  guint n = 0;
  for (const char *p = strstr (text, what); p != NULL; p = strstr (p + 1, what))
    n++;
  return n;
}

/* post-sync-command runs after each sync and new-mail-command after one that downloaded
 * mail, each told the account, the count of new messages, the exit code and the folders
 * that changed; what they print shows on stderr, named. */
static void
test_hooks_run (Fixture *f, gconstpointer data)
{
  g_autofree char *log = g_build_filename (f->home, "hooks.log", NULL);
  g_autofree char *post = hook_command ("post-sync-command", log, NULL);
  g_autofree char *fresh = hook_command ("new-mail-command", log, NULL);
  g_autofree char *keys = g_strconcat (post, fresh, NULL);

  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Lists", NULL);
  seed (f, "INBOX", 2, 100);
  seed (f, "Lists", 1, 100);
  g_autofree char *cfg = config (f, keys);
  TdTestRun r = td_test_tidings (cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, "t: post-sync-command: hello from post-sync-command"));
  g_assert_nonnull (strstr (r.err, "t: new-mail-command: hello from new-mail-command"));
  td_test_run_clear (&r);
  g_autofree char *first = read_text (log);
  g_test_message ("after the first sync:\n%s", first);
  g_assert_nonnull (strstr (first, "post-sync-command ACCOUNT=t\npost-sync-command NEW=3\n"
                                   "post-sync-command EXIT_CODE=0\n"));
  g_assert_nonnull (strstr (first, "new-mail-command NEW=3\n"));
  g_assert_true (strstr (first, "post-sync-command CHANGED=INBOX|Lists\n") != NULL
                 || strstr (first, "post-sync-command CHANGED=Lists|INBOX\n") != NULL);
  /* post-sync-command first: an indexer has the mail before the notice. */
  g_assert_true (strstr (first, "post-sync-command ACCOUNT") < strstr (first, "new-mail-command"));

  /* Nothing new: post-sync-command runs, told so; new-mail-command does not. */
  g_assert_no_errno (g_unlink (log));
  r = td_test_tidings (cfg, "sync", "--quiet", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_null (strstr (r.err, "hello")); /* --quiet: only a hook's failure is shown */
  td_test_run_clear (&r);
  g_autofree char *second = read_text (log);
  g_assert_nonnull (strstr (second, "post-sync-command NEW=0\npost-sync-command EXIT_CODE=0\n"
                                    "post-sync-command CHANGED=\n"));
  g_assert_cmpuint (count_text (second, "new-mail-command"), ==, 0);

  /* A dry run runs neither. */
  g_assert_no_errno (g_unlink (log));
  seed (f, "INBOX", 1, 100);
  r = td_test_tidings (cfg, "sync", "--dry-run", NULL);
  g_assert_cmpint (r.status, ==, 0);
  td_test_run_clear (&r);
  g_assert_false (g_file_test (log, G_FILE_TEST_EXISTS));
}

/* A hook that fails, or runs past command-timeout, is reported and stopped; the sync's own
 * result stands. A failed sync runs post-sync-command too, told its exit code. */
static void
test_hooks_fail (Fixture *f, gconstpointer data)
{
  g_autofree char *log = g_build_filename (f->home, "hooks.log", NULL);
  g_autofree char *post = hook_command ("post-sync-command", log, "; exit 3");
  g_autofree char *keys = g_strconcat (post, "new-mail-command = sleep 60\ncommand-timeout = 1\n",
                                       NULL);
  seed (f, "INBOX", 1, 100);
  g_autofree char *cfg = config (f, keys);
  TdTestRun r = td_test_tidings (cfg, "sync", "--quiet", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, "t: post-sync-command: sh failed with exit status 3; the "
                                   "sync itself is not affected"));
  g_assert_nonnull (strstr (r.err, "t: new-mail-command: sleep did not finish within 1 second "
                                   "(command-timeout) and was stopped"));
  td_test_run_clear (&r);
  assert_folder_matches (f, "INBOX");

  /* The server refuses the login: the sync fails with exit code 3, and the hook says so. */
  g_assert_no_errno (g_unlink (log));
  g_autofree char *bad = g_strconcat (post, "password = wrong\n", NULL);
  g_autofree char *wrong = config (f, bad);
  TdTestRun w = td_test_tidings (wrong, "sync", "--quiet", NULL);
  g_assert_cmpint (w.status, ==, 3);
  td_test_run_clear (&w);
  g_autofree char *text = read_text (log);
  g_assert_nonnull (strstr (text, "post-sync-command EXIT_CODE=3\n"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, fn, conf) g_test_add (path, Fixture, conf, td_sync_fixture_setup, fn, td_sync_fixture_teardown)
  ADD ("/integration/imap/full-pull", test_full_pull, NULL);
  ADD ("/integration/imap/server-changes", test_server_changes, NULL);
  ADD ("/integration/imap/qresync", test_qresync, NULL);
  ADD ("/integration/imap/plain-imap4rev1", test_plain_server, "imap_capability = IMAP4rev1 LITERAL+");
  ADD ("/integration/imap/uidvalidity-change", test_uidvalidity_change, NULL);
  ADD ("/integration/imap/starttls", test_starttls, NULL);
  ADD ("/integration/imap/wrong-password", test_wrong_password, NULL);
  ADD ("/integration/imap/untrusted-certificate", test_untrusted_certificate, NULL);
  ADD ("/integration/imap/tls-fingerprint", test_tls_fingerprint, NULL);
  ADD ("/integration/imap/maildir++", test_maildirpp_layout, NULL);
  ADD ("/integration/imap/deletion-guard", test_deletion_guard, NULL);
  ADD ("/integration/imap/status-fallback", test_status_fallback,
       "imap_capability = IMAP4rev1 LITERAL+ CONDSTORE ESEARCH");
  ADD ("/integration/imap/lost-state-db", test_lost_state_db, NULL);
  ADD ("/integration/imap/corrupt-state-db", test_corrupt_state_db, NULL);
  ADD ("/integration/imap/push-flags", test_push_flags, NULL);
  ADD ("/integration/imap/merge-flags", test_merge_flags, NULL);
  ADD ("/integration/imap/pull-does-not-push", test_pull_does_not_push, NULL);
  ADD ("/integration/imap/kill-and-rerun", test_kill_and_rerun, NULL);
  ADD ("/integration/cli/lock", test_lock, NULL);
  ADD ("/integration/cli/progress-terminal", test_progress_terminal, NULL);
  ADD ("/integration/cli/config-errors", test_config_errors, NULL);
  ADD ("/integration/cli/summary", test_summary, NULL);
  ADD ("/integration/cli/plain-locale", test_plain_locale, NULL);
  ADD ("/integration/cli/wrong-port", test_wrong_port, NULL);
  ADD ("/integration/cli/verbose-trace", test_verbose_trace, NULL);
  ADD ("/integration/imap/id", test_imap_id, "imap_id_log = *");
  ADD ("/integration/imap/id-not-offered", test_imap_id, "imap_capability = IMAP4rev1 LITERAL+");
  ADD ("/integration/imap/tunnel", test_tunnel, NULL);
  ADD ("/integration/imap/max-size", test_max_size, NULL);
  ADD ("/integration/imap/max-age", test_max_age, NULL);
  ADD ("/integration/imap/max-age-plain-imap4rev1", test_max_age,
       "imap_capability = IMAP4rev1 LITERAL+");
  ADD ("/integration/imap/max-size-plain-imap4rev1", test_max_size,
       "imap_capability = IMAP4rev1 LITERAL+");
  ADD ("/integration/cli/hooks/run", test_hooks_run, NULL);
  ADD ("/integration/cli/hooks/fail", test_hooks_fail, NULL);
  return g_test_run ();
}
