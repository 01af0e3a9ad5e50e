/* test-imap-two-way.c: local changes reaching a real Dovecot: uploads of new local messages,
 * local deletions under each policy, their guards, and a mail reader busy during a sync.
 *
 * The server's side is checked the way a user with a second machine would: a second
 * account ("device B", its own Maildir and state) syncs the same mailbox and must see every
 * message exactly once, byte for byte. Message counts come from doveadm.
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>
#include <utime.h>

#include "td-test-sync.h"


/* New local messages go up once, flags and date kept, identical on another machine; the
 * next runs neither upload nor download them again. */
static void
test_upload (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);
  g_autofree char *cfg_b = device_b (f, NULL);
  const gint64 date = 1704189600; /* 2024-01-02 10:00:00 UTC */

  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Notes", NULL);
  seed (f, "INBOX", 3, 300);
  sync_ok (cfg);
  g_autofree char *m1 = new_local_message (f, "INBOX", "up1");
  g_free (write_local (f, "INBOX", "new", "1700000000.local1.host", m1, date));
  g_autofree char *m2 = new_local_message (f, "INBOX", "up2");
  g_free (write_local (f, "INBOX", "cur", "1700000000.local2.host:2,FS", m2, date));
  const char *note = "Subject: no Message-ID here\n\njust a note\n";
  g_free (write_local (f, "Notes", "cur", "1700000000.note.host:2,S", note, date));

  TdTestRun r = sync_json (cfg, NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"folder\":\"INBOX\",\"added\":0");
  assert_json (&r, "\"uploaded\":2");
  assert_json (&r, "\"uploaded\":1");
  td_test_run_clear (&r);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 5);
  g_assert_cmpuint (server_count (f, "Notes"), ==, 1);

  /* Nothing comes back down, nothing goes up twice. */
  for (guint i = 0; i < 2; i++)
    {
      g_usleep (100 * 1000);
      r = sync_json (cfg, NULL);
      g_assert_cmpint (r.status, ==, 0);
      g_assert_false (g_regex_match_simple ("\"(added|uploaded)\":[1-9]", r.out, 0, 0));
      td_test_run_clear (&r);
    }
  assert_folder_matches (f, "INBOX");
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 5);

  /* Another machine gets them byte for byte, with their flags and dates. */
  sync_ok (cfg_b);
  expect_lf (f);
  use_device_b (f, TRUE);
  assert_folder_matches (f, "INBOX");
  g_autoptr (GHashTable) b = read_local (f, "INBOX");
  const char *b2 = g_hash_table_lookup (b, "<up2@tidings.test>");
  g_assert_true (g_regex_match_simple ("^[^\n]*:2,FS\n", b2, 0, 0));
  use_device_b (f, FALSE);

  g_autofree char *notes = device_b_dir (f, "Notes", "cur");
  g_autoptr (GDir) d = g_dir_open (notes, 0, NULL);
  const char *name = g_dir_read_name (d);
  g_assert_nonnull (name);
  g_assert_null (g_dir_read_name (d));
  g_autofree char *path = g_build_filename (notes, name, NULL);
  g_autofree char *got = NULL;
  g_assert_true (g_file_get_contents (path, &got, NULL, NULL));
  /* The token header that makes it findable again, then the note unchanged. */
  g_assert_true (g_str_has_prefix (got, "X-Tidings-Upload: "));
  g_assert_cmpstr (strchr (got, '\n') + 1, ==, note);
  g_assert_true (g_str_has_suffix (name, ":2,S"));
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mtime, ==, date);

  /* The state DB is lost: the note, which has no Message-ID, is known on the server by its
   * upload header; it is neither uploaded again nor downloaded beside itself. */
  td_test_remove_tree (f->state);
  r = sync_json (cfg, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_false (g_regex_match_simple ("\"(added|uploaded)\":[1-9]", r.out, 0, 0));
  td_test_run_clear (&r);
  g_assert_cmpuint (server_count (f, "Notes"), ==, 1);
  g_autofree char *here = g_build_filename (f->maildir, "Notes", "cur", NULL);
  g_assert_cmpuint (td_test_count_entries (here), ==, 1);
  g_autofree char *here_new = g_build_filename (f->maildir, "Notes", "new", NULL);
  g_assert_cmpuint (td_test_count_entries (here_new), ==, 0);
}

static void
sql (Fixture *f, const char *statement)
{
  g_autofree char *path = g_build_filename (f->state, "state.db", NULL);
  sqlite3 *db = NULL;
  char *msg = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  if (sqlite3_exec (db, statement, NULL, NULL, &msg) != SQLITE_OK)
    g_error ("%s: %s", statement, msg);
  sqlite3_close (db);
}

/* A run killed between an APPEND and the state write (rebuilt exactly: the message's row
 * turned back into its upload intent) finds the message on the server instead of sending
 * it again; an intent whose APPEND never happened is sent once. Then random kills during a
 * big upload: every message ends up on the server exactly once. */
static void
test_upload_crash (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);
  g_autofree char *cfg_b = device_b (f, NULL);
  const char *bin = g_getenv ("TIDINGS_BIN");
  g_autoptr (GRand) rand = g_rand_new_with_seed (20261121);

  seed (f, "INBOX", 2, 300);
  sync_ok (cfg);
  g_autofree char *m1 = new_local_message (f, "INBOX", "crash1");
  g_free (write_local (f, "INBOX", "new", "1700000001.c1.host", m1, 0));
  sync_ok (cfg);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 3);

  sql (f, "INSERT INTO uploads (folder_id, base, token, message_id, size, flags, uidvalidity, "
          "min_uid, appended) SELECT m.folder_id, m.base, 'tok', m.message_id, m.size, m.flags, "
          "f.uidvalidity, m.uid, 0 FROM messages m JOIN folders f ON f.id = m.folder_id "
          "WHERE m.message_id = '<crash1@tidings.test>';"
          "DELETE FROM messages WHERE message_id = '<crash1@tidings.test>';");
  g_autofree char *m2 = new_local_message (f, "INBOX", "crash2");
  g_free (write_local (f, "INBOX", "new", "1700000002.c2.host", m2, 0));
  sql (f, "INSERT INTO uploads (folder_id, base, token, message_id, size, flags, uidvalidity, "
          "min_uid, appended) SELECT id, '1700000002.c2.host', 'tok2', '<crash2@tidings.test>', "
          "0, 0, uidvalidity, uidnext, 0 FROM folders WHERE name = 'INBOX';");
  TdTestRun r = sync_json (cfg, NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"uploaded\":2");
  td_test_run_clear (&r);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 4);

  for (guint i = 0; i < 80; i++)
    {
      g_autofree char *id = g_strdup_printf ("bulk%u", i);
      g_autofree char *m = new_local_message (f, "INBOX", id);
      g_autofree char *name = g_strdup_printf ("1700000100.b%u.host", i);
      g_free (write_local (f, "INBOX", "cur", name, m, 0));
    }
  for (guint round = 0; round < 6; round++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GSubprocess) p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                                      | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                                                    &error, bin, "--config", cfg, "sync", NULL);
      g_assert_no_error (error);
      g_usleep (g_rand_int_range (rand, 20, 300) * 1000);
      g_subprocess_send_signal (p, SIGKILL);
      g_subprocess_wait (p, NULL, NULL);
      g_test_message ("round %u: %u on the server", round, server_count (f, "INBOX"));
    }
  sync_ok (cfg);
  sync_ok (cfg);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 84);
  assert_folder_matches (f, "INBOX");
  sync_ok (cfg_b); /* device B's read_local fails on any message stored twice */
  expect_lf (f);
  use_device_b (f, TRUE);
  assert_folder_matches (f, "INBOX");
  use_device_b (f, FALSE);
}

/* A file that cannot be read (a symbolic link, never followed) is named, left out with a
 * warning and exit 1, and the rest of the folder syncs; an empty file is not uploaded. The
 * next run says the same and uploads nothing twice. */
static void
test_unreadable_files (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);

  seed (f, "INBOX", 2, 300);
  sync_ok (cfg);
  g_autofree char *m1 = new_local_message (f, "INBOX", "fine");
  g_free (write_local (f, "INBOX", "cur", "1700000000.fine.host:2,S", m1, 0));
  g_autofree char *empty = write_local (f, "INBOX", "cur", "1700000000.empty.host:2,S", "", 0);
  g_autofree char *loop = g_build_filename (f->maildir, "INBOX", "cur",
                                            "1700000000.loop.host:2,S", NULL);
  g_assert_cmpint (symlink (loop, loop), ==, 0);

  for (guint i = 0; i < 2; i++)
    {
      TdTestRun r = sync_json (cfg, NULL);
      g_assert_cmpint (r.status, ==, 1);
      assert_json (&r, i == 0 ? "\"uploaded\":1" : "\"uploaded\":0");
      g_autofree char *named = g_strdup_printf ("account t, folder INBOX: warning: cannot read "
                                                "%s: Too many levels of symbolic links", loop);
      g_assert_nonnull (strstr (r.err, named));
      g_autofree char *said = g_strdup_printf ("warning: %s is empty: not uploaded", empty);
      g_assert_nonnull (strstr (r.err, said));
      td_test_run_clear (&r);
      g_assert_cmpuint (server_count (f, "INBOX"), ==, 3);
    }
}

/* deletes = both (the default): a message deleted locally is expunged on the server. */
static void
test_delete_local (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);

  seed (f, "INBOX", 10, 200);
  sync_ok (cfg);
  remove_local (f, "INBOX", 3);
  remove_local (f, "INBOX", 7);
  TdTestRun r = td_test_tidings (cfg, "sync", "--json", "--verbose", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"deleted_remote\":2");
  g_assert_true (sent_command (r.err, "UID EXPUNGE"));
  td_test_run_clear (&r);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 8);
  sync_ok (cfg);
  assert_folder_matches (f, "INBOX");
}

/* deletes = pull: local deletions stay local (and are not downloaded again), the server's
 * come here. deletes = push: the other way round, and a file the server dropped is kept
 * without being uploaded again. */
static void
test_delete_policies (Fixture *f, gconstpointer data)
{
  g_autofree char *pull = config (f, "deletes = pull\n");

  seed (f, "INBOX", 10, 200);
  sync_ok (pull);
  remove_local (f, "INBOX", 2);
  TdTestRun r = sync_json (pull, NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"added\":0");
  assert_json (&r, "\"deleted_remote\":0,\"kept\":1");
  td_test_run_clear (&r);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 10);
  td_test_dovecot_doveadm (f->dovecot, "expunge", "-u", TD_TEST_USER, "mailbox", "INBOX", "uid",
                           "5", NULL);
  g_hash_table_remove (f->expected, "INBOX\n<msg5@tidings.test>");
  sync_ok (pull);
  assert_folder_matches (f, "INBOX"); /* 8: msg2 gone here only, msg5 gone both sides */

  g_autofree char *push = config (f, "deletes = push\n");
  td_test_dovecot_doveadm (f->dovecot, "expunge", "-u", TD_TEST_USER, "mailbox", "INBOX", "uid",
                           "6", NULL);
  r = sync_json (push, NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"removed\":0");
  td_test_run_clear (&r);
  assert_folder_matches (f, "INBOX"); /* msg6 is still here */
  for (guint i = 0; i < 2; i++)
    {
      g_usleep (100 * 1000);
      r = sync_json (push, NULL);
      g_assert_cmpint (r.status, ==, 0);
      assert_json (&r, "\"uploaded\":0");
      td_test_run_clear (&r);
    }
  /* msg2's deletion, held back under deletes = pull, goes now. */
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 7);
  remove_local (f, "INBOX", 9);
  sync_ok (push);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 6);

  g_autofree char *none = config (f, "deletes = none\n");
  remove_local (f, "INBOX", 10);
  td_test_dovecot_doveadm (f->dovecot, "expunge", "-u", TD_TEST_USER, "mailbox", "INBOX", "uid",
                           "1", NULL);
  sync_ok (none);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 5);
  g_autoptr (GHashTable) local = read_local (f, "INBOX");
  g_assert_nonnull (local_name (local, 1));
  g_assert_null (local_name (local, 10));
}

/* Many local files missing, or all of them, is not taken for the user's wish. */
static void
test_local_deletion_guard (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);

  seed (f, "INBOX", 20, 100);
  sync_ok (cfg);
  for (guint id = 1; id <= 11; id++)
    remove_local (f, "INBOX", id);
  TdTestRun r = td_test_tidings (cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 7);
  g_assert_nonnull (strstr (r.err, "11 of the 20 messages"));
  g_assert_nonnull (strstr (r.err, "--force"));
  td_test_run_clear (&r);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 20);

  /* An emptied folder directory (or an unmounted disk) is never a deletion. */
  for (guint id = 12; id <= 20; id++)
    remove_local (f, "INBOX", id);
  r = td_test_tidings (cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 7);
  g_assert_nonnull (strstr (r.err, "looks emptied or unmounted"));
  td_test_run_clear (&r);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 20);

  r = td_test_tidings (cfg, "sync", "--force", NULL);
  g_assert_cmpint (r.status, ==, 0);
  td_test_run_clear (&r);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 0);
}

/* Without UIDPLUS: an upload's UID is found by listing the new messages, and a deletion uses a plain
 * EXPUNGE only while no other message is marked deleted. */
static void
test_plain_server_two_way (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);

  assert_capabilities_narrowed (f, data);

  seed (f, "INBOX", 6, 200);
  sync_ok (cfg);
  g_autofree char *m1 = new_local_message (f, "INBOX", "plain1");
  g_free (write_local (f, "INBOX", "new", "1700000003.p1.host", m1, 0));
  TdTestRun r = td_test_tidings (cfg, "sync", "--json", "--verbose", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"uploaded\":1");
  /* No APPENDUID to trust: found in one listing from the folder's old UIDNEXT on. */
  g_assert_true (g_regex_match_simple ("UID FETCH [0-9]+:\\* \\(UID FLAGS RFC822.SIZE INTERNALDATE "
                                       "BODY.PEEK\\[HEADER.FIELDS \\(MESSAGE-ID X-Tidings-Upload",
                                       r.err, 0, 0));
  td_test_run_clear (&r);
  g_usleep (100 * 1000);
  r = sync_json (cfg, NULL);
  assert_json (&r, "\"added\":0");
  td_test_run_clear (&r);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 7);

  remove_local (f, "INBOX", 2);
  sync_ok (cfg);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 6);

  /* Another client marked message 4 deleted: a plain EXPUNGE would take it too. */
  td_test_dovecot_doveadm (f->dovecot, "flags", "add", "-u", TD_TEST_USER, "\\Deleted",
                           "mailbox", "INBOX", "uid", "4", NULL);
  remove_local (f, "INBOX", 5);
  r = td_test_tidings (cfg, "sync", "--verbose", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (sent_command (r.err, "UID SEARCH DELETED"));
  g_assert_false (g_regex_match_simple ("C: t[0-9]+ EXPUNGE", r.err, 0, 0));
  td_test_run_clear (&r);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 6);
  sync_ok (cfg);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 6);
}

typedef struct
{
  Fixture *f;
  gint stop;
  guint renames, moves;
} Reader;

/* A mail reader at work: marks messages seen and moves some to Archive, as mutt does. */
static gpointer
reader_thread (gpointer data)
{
  Reader *r = data;
  g_autofree char *cur = g_build_filename (r->f->maildir, "INBOX", "cur", NULL);
  g_autofree char *archive = g_build_filename (r->f->maildir, "Archive", "cur", NULL);

  for (guint round = 0; round < 200 && !g_atomic_int_get (&r->stop); round++)
    {
      g_autoptr (GDir) d = g_dir_open (cur, 0, NULL);
      const char *name;
      guint n = 0;
      while (d != NULL && (name = g_dir_read_name (d)) != NULL && n++ < 20)
        {
          g_autofree char *from = g_build_filename (cur, name, NULL);
          g_autofree char *base = g_strndup (name, strcspn (name, ":"));
          if (r->moves < 20 && n % 7 == 0)
            {
              g_autofree char *to = g_build_filename (archive, name, NULL);
              if (g_rename (from, to) == 0)
                r->moves++;
              continue;
            }
          g_autofree char *to = g_strdup_printf ("%s/%s:2,%s", cur, base,
                                                 strstr (name, ":2,S") ? "" : "S");
          if (g_rename (from, to) == 0)
            r->renames++;
        }
      g_usleep (5 * 1000);
    }
  return NULL;
}

static void
count_ids (GHashTable *seen, GHashTable *local)
{
  GHashTableIter it;
  gpointer id;
  g_hash_table_iter_init (&it, local);
  while (g_hash_table_iter_next (&it, &id, NULL))
    {
      if (g_hash_table_contains (seen, id))
        g_error ("%s is stored twice", (char *) id);
      g_hash_table_add (seen, g_strdup (id));
    }
}

/* Renames and moves by a reader during syncs neither fail a run nor lose or double a
 * message, here or on the server. */
static void
test_reader_activity (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);
  g_autofree char *cfg_b = device_b (f, NULL);
  Reader reader = { f, 0, 0, 0 };

  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Archive", NULL);
  seed (f, "INBOX", 150, 2000);
  sync_ok (cfg);
  td_test_dovecot_doveadm (f->dovecot, "flags", "add", "-u", TD_TEST_USER, "\\Flagged",
                           "mailbox", "INBOX", "uid", "1:80", NULL);
  seed (f, "INBOX", 30, 2000);
  GThread *t = g_thread_new ("reader", reader_thread, &reader);
  for (guint i = 0; i < 3; i++)
    {
      TdTestRun r = td_test_tidings (cfg, "sync", NULL);
      if (r.status != 0)
        g_error ("sync %u during reader activity exited %d: %s", i, r.status, r.err);
      td_test_run_clear (&r);
    }
  g_atomic_int_set (&reader.stop, 1);
  g_thread_join (t);
  g_test_message ("the reader renamed %u files and moved %u", reader.renames, reader.moves);
  g_assert_cmpuint (reader.moves, >, 0);
  g_usleep (100 * 1000);
  sync_ok (cfg);
  sync_ok (cfg);

  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) inbox = read_local (f, "INBOX");
  g_autoptr (GHashTable) archive = read_local (f, "Archive");
  count_ids (seen, inbox);
  count_ids (seen, archive);
  g_assert_cmpuint (g_hash_table_size (seen), ==, 180);
  g_assert_cmpuint (server_count (f, "INBOX") + server_count (f, "Archive"), ==, 180);
  g_assert_cmpuint (server_count (f, "Archive"), ==, reader.moves);

  sync_ok (cfg_b);
  g_autoptr (GHashTable) seen_b = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  use_device_b (f, TRUE);
  g_autoptr (GHashTable) inbox_b = read_local (f, "INBOX");
  g_autoptr (GHashTable) archive_b = read_local (f, "Archive");
  use_device_b (f, FALSE);
  count_ids (seen_b, inbox_b);
  count_ids (seen_b, archive_b);
  g_assert_cmpuint (g_hash_table_size (seen_b), ==, 180);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Every file below @dir with its size and time, and every directory, one per line. */
static void
snapshot_tree (GString *out, const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
      GStatBuf st;
      g_assert_cmpint (g_lstat (path, &st), ==, 0);
      g_string_append_printf (out, "%s %ld %ld\n", path, (long) st.st_size, (long) st.st_mtime);
      if (S_ISDIR (st.st_mode))
        snapshot_tree (out, path);
    }
}

static int
dump_row (void *data, int n, char **values, char **columns)
{
  for (int i = 0; i < n; i++)
    g_string_append_printf (data, "%s|", values[i] ? values[i] : "NULL");
  g_string_append_c (data, '\n');
  return 0;
}

/* What a user can see of both sides and what Tidings remembers. */
static char *
snapshot (Fixture *f)
{
  GString *s = g_string_new (NULL);
  g_autofree char *path = g_build_filename (f->state, "state.db", NULL);
  const char *tables[] = { "folders", "messages", "uploads", "local_only" };
  sqlite3 *db = NULL;

  snapshot_tree (s, f->maildir);
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  for (guint i = 0; i < G_N_ELEMENTS (tables); i++)
    {
      g_autofree char *q = g_strdup_printf ("SELECT * FROM %s ORDER BY 1, 2", tables[i]);
      g_assert_cmpint (sqlite3_exec (db, q, dump_row, s, NULL), ==, SQLITE_OK);
    }
  sqlite3_close (db);
  const char *folders[] = { "INBOX", "Notes" };
  for (guint i = 0; i < G_N_ELEMENTS (folders); i++)
    {
      g_autofree char *out = td_test_dovecot_doveadm_output (
        f->dovecot, "-f", "flow", "fetch", "-u", TD_TEST_USER, "uid flags", "mailbox",
        folders[i], "all", NULL);
      g_string_append (s, out);
    }
  g_autofree char *list = td_test_dovecot_doveadm_output (f->dovecot, "mailbox", "list", "-u",
                                                           TD_TEST_USER, NULL);
  g_string_append (s, list);
  return g_string_free (s, FALSE);
}

/* --dry-run counts every kind of change, each way, and changes nothing anywhere: not the
 * Maildir, not the server (flags, \\Recent, folders), not the state DB. The sync that
 * follows does exactly what it said. */
static void
test_dry_run (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);

  assert_capabilities_narrowed (f, data);

  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Notes", NULL);
  seed (f, "INBOX", 20, 200);
  seed (f, "Notes", 1, 200);
  sync_ok (cfg);
  /* The server: 3 flagged, 1 expunged, 2 new. */
  td_test_dovecot_doveadm (f->dovecot, "flags", "add", "-u", TD_TEST_USER, "\\Flagged",
                           "mailbox", "INBOX", "uid", "1:3", NULL);
  td_test_dovecot_doveadm (f->dovecot, "expunge", "-u", TD_TEST_USER, "mailbox", "INBOX", "uid",
                           "20", NULL);
  seed (f, "INBOX", 2, 200);
  /* Here: 2 flag changes, 1 deletion, 1 new message, 1 new folder. */
  reader_sets_flags (f, "INBOX", 10, "S");
  reader_sets_flags (f, "INBOX", 11, "RS");
  remove_local (f, "INBOX", 12);
  g_autofree char *m = new_local_message (f, "INBOX", "dry1");
  g_free (write_local (f, "INBOX", "new", "1700000000.dry1.host", m, 0));
  g_autofree char *made = g_build_filename (f->maildir, "Made", "cur", NULL);
  g_assert_cmpint (g_mkdir_with_parents (made, 0700), ==, 0);
  g_autofree char *made_new = g_build_filename (f->maildir, "Made", "new", NULL);
  g_assert_cmpint (g_mkdir_with_parents (made_new, 0700), ==, 0);

  const char *plan = "\"folder\":\"INBOX\",\"added\":2,\"flags_changed\":3,\"removed\":1,"
                     "\"rematched\":0,\"flags_pushed\":2,\"uploaded\":1,\"deleted_remote\":1";
  g_autofree char *before = snapshot (f);
  TdTestRun r = sync_json (cfg, "--dry-run");
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"dry_run\":true");
  assert_json (&r, plan);
  assert_json (&r, "\"folder\":\"Made\"");
  assert_json (&r, "\"event\":\"created_on_server\"");
  assert_json (&r, "\"folder\":\"Notes\",\"added\":0,\"flags_changed\":0,\"removed\":0");
  td_test_run_clear (&r);
  r = td_test_tidings (cfg, "sync", "--dry-run", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "INBOX: would download 2"));
  g_assert_nonnull (strstr (r.out, "Made: made here, would be created on the server"));
  g_assert_nonnull (strstr (r.out, "dry run, nothing changed"));
  td_test_run_clear (&r);
  g_autofree char *after = snapshot (f);
  g_assert_cmpstr (after, ==, before);

  /* The real sync does what the plan said. */
  r = sync_json (cfg, NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"dry_run\":false");
  assert_json (&r, plan);
  td_test_run_clear (&r);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 21); /* 20 - 1 + 2 - 1 + 1 */
  g_assert_cmpuint (server_count (f, "Made"), ==, 0);
}

/* A random message of @folder as the Maildir holds it: its file name, or NULL if none. */
static char *
random_local_file (Fixture *f, GRand *rand, const char *folder)
{
  g_autoptr (GHashTable) local = read_local (f, folder);
  g_autoptr (GList) keys = g_list_sort (g_hash_table_get_keys (local), (GCompareFunc) strcmp);
  guint n = g_list_length (keys);

  if (n == 0)
    return NULL;
  const char *v = g_hash_table_lookup (local, g_list_nth_data (keys, g_rand_int_range (rand, 0, n)));
  return g_strndup (v, strchr (v, '\n') - v);
}

static char *
local_path (Fixture *f, const char *folder, const char *name)
{
  char *cur = g_build_filename (f->maildir, folder, "cur", name, NULL);
  if (g_file_test (cur, G_FILE_TEST_EXISTS))
    return cur;
  g_free (cur);
  return g_build_filename (f->maildir, folder, "new", name, NULL);
}

/* A random UID the server has in @folder, or 0. */
static guint
random_server_uid (Fixture *f, GRand *rand, const char *folder)
{
  g_autofree char *out = td_test_dovecot_doveadm_output (f->dovecot, "-f", "flow", "fetch", "-u",
                                                         TD_TEST_USER, "uid", "mailbox", folder,
                                                         "all", NULL);
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  g_autoptr (GArray) uids = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *u = strstr (lines[i], "uid=");
      guint uid = u ? (guint) g_ascii_strtoull (u + 4, NULL, 10) : 0;
      if (uid > 0)
        g_array_append_val (uids, uid);
    }
  return uids->len ? g_array_index (uids, guint, g_rand_int_range (rand, 0, uids->len)) : 0;
}

/* One round of what a day brings both sides of a folder: on the server flags set and
 * cleared, a message expunged, two delivered; here flags renamed, a file deleted, one
 * written. */
static void
mixed_changes (Fixture *f, GRand *rand, const char *folder, guint round)
{
  static const char *const server_flags_choice[] = { "\\Seen", "\\Flagged", "\\Answered" };
  static const char *const letters[] = { "S", "FS", "", "RS", "F" };

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *uid = g_strdup_printf ("%u", random_server_uid (f, rand, folder));
      const char *flag = server_flags_choice[g_rand_int_range (rand, 0, 3)];
      td_test_dovecot_doveadm (f->dovecot, "flags", g_rand_boolean (rand) ? "add" : "remove",
                               "-u", TD_TEST_USER, flag, "mailbox", folder, "uid", uid, NULL);
    }
  g_autofree char *gone = g_strdup_printf ("%u", random_server_uid (f, rand, folder));
  td_test_dovecot_doveadm (f->dovecot, "expunge", "-u", TD_TEST_USER, "mailbox", folder, "uid",
                           gone, NULL);
  seed (f, folder, 2, 300);
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *name = random_local_file (f, rand, folder);
      g_autofree char *from = local_path (f, folder, name);
      g_autofree char *base = g_strndup (name, strcspn (name, ":"));
      g_autofree char *to_name = g_strdup_printf ("%s:2,%s", base,
                                                  letters[g_rand_int_range (rand, 0, 5)]);
      g_autofree char *to = g_build_filename (f->maildir, folder, "cur", to_name, NULL);
      g_assert_cmpint (g_rename (from, to), ==, 0);
    }
  g_autofree char *victim = random_local_file (f, rand, folder);
  g_autofree char *victim_path = local_path (f, folder, victim);
  g_assert_cmpint (g_unlink (victim_path), ==, 0);
  g_autofree char *id = g_strdup_printf ("round%u-%s", round, folder);
  g_autofree char *m = new_local_message (f, folder, id);
  g_autofree char *file = g_strdup_printf ("17000000%02u.%s.host", round, id);
  g_free (write_local (f, folder, "new", file, m, 0));
}

/* A folder's report in a --json answer, less the byte count (the plan counts the server's
 * sizes, a real run the files' sizes after CRLF became LF). */
static char *
folder_counts (const char *json, const char *folder)
{
  g_autofree char *key = g_strdup_printf ("{\"folder\":\"%s\"", folder);
  const char *start = strstr (json, key);
  g_assert_nonnull (start);
  const char *end = strchr (start, '}');
  g_autofree char *object = g_strndup (start, end - start + 1);
  char *bytes = strstr (object, ",\"bytes\":");
  g_assert_nonnull (bytes);
  const char *after = strchr (bytes + 1, ',');
  *bytes = '\0';
  return g_strconcat (object, after, NULL);
}

/* The dry run and the real run agree, folder by folder, over ten seeded rounds of mixed
 * changes on both sides: what the dry run says is what the sync then does. */
static void
test_dry_run_rounds (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);
  const char *folders[] = { "INBOX", "Notes" };

  assert_capabilities_narrowed (f, data);
  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Notes", NULL);
  seed (f, "INBOX", 30, 300);
  seed (f, "Notes", 30, 300);
  sync_ok (cfg);
  for (guint round = 1; round <= 10; round++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (round);
      for (guint i = 0; i < G_N_ELEMENTS (folders); i++)
        mixed_changes (f, rand, folders[i], round);
      TdTestRun dry = sync_json (cfg, "--dry-run");
      TdTestRun real = sync_json (cfg, NULL);
      g_assert_cmpint (dry.status, ==, 0);
      g_assert_cmpint (real.status, ==, 0);
      for (guint i = 0; i < G_N_ELEMENTS (folders); i++)
        {
          g_autofree char *planned = folder_counts (dry.out, folders[i]);
          g_autofree char *done = folder_counts (real.out, folders[i]);
          g_test_message ("round %u (seed %u): %s", round, round, done);
          g_assert_cmpstr (planned, ==, done);
          g_assert_null (strstr (done, "\"added\":0,\"flags_changed\":0,\"removed\":0,"
                                       "\"rematched\":0,\"flags_pushed\":0,\"uploaded\":0"));
        }
      td_test_run_clear (&dry);
      td_test_run_clear (&real);
    }
  /* After it all, both sides hold the same messages. */
  for (guint i = 0; i < G_N_ELEMENTS (folders); i++)
    {
      g_autoptr (GHashTable) local = read_local (f, folders[i]);
      g_assert_cmpuint (server_count (f, folders[i]), ==, g_hash_table_size (local));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, fn, conf) g_test_add (path, Fixture, conf, td_sync_fixture_setup, fn, td_sync_fixture_teardown)
  ADD ("/integration/imap/two-way/upload", test_upload, NULL);
  ADD ("/integration/imap/two-way/upload-crash", test_upload_crash, NULL);
  ADD ("/integration/imap/two-way/unreadable-files", test_unreadable_files, NULL);
  ADD ("/integration/imap/two-way/delete-local", test_delete_local, NULL);
  ADD ("/integration/imap/two-way/delete-policies", test_delete_policies, NULL);
  ADD ("/integration/imap/two-way/local-deletion-guard", test_local_deletion_guard, NULL);
  ADD ("/integration/imap/two-way/plain-imap4rev1", test_plain_server_two_way,
       "imap_capability = IMAP4rev1 LITERAL+");
  ADD ("/integration/imap/two-way/reader-activity", test_reader_activity, NULL);
  ADD ("/integration/imap/two-way/dry-run", test_dry_run, NULL);
  ADD ("/integration/imap/two-way/dry-run-plain-imap4rev1", test_dry_run,
       "imap_capability = IMAP4rev1 LITERAL+");
  ADD ("/integration/imap/two-way/dry-run-rounds", test_dry_run_rounds, NULL);
  ADD ("/integration/imap/two-way/dry-run-rounds-plain-imap4rev1", test_dry_run_rounds,
       "imap_capability = IMAP4rev1 LITERAL+");
  return g_test_run ();
}
