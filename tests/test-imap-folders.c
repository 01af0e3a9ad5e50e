/* test-imap-folders.c: folders that exist on one side only, against a real Dovecot.
 *
 * A folder made in the Maildir appears on the server (subscribed) with its mail, in both
 * layouts; one made on the server appears here. A folder deleted on one side is reported
 * and left alone until --prune-folders, which never deletes mail that exists nowhere else;
 * --force downloads a folder deleted here again. A Maildir that looks unmounted stops the
 * run before anything is taken as deleted. A folder pattern that matches nothing is an error.
 * A Maildir that mbsync (SubFolders Legacy) or offlineimap (flat) filled from the same
 * server is taken over without moving a message or renaming a directory; both tools are
 * the real ones from Debian.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "td-test-sync.h"

static void
make_local_folder (Fixture *f, const char *dir)
{
  const char *subs[] = { "cur", "new", "tmp" };
  for (guint i = 0; i < G_N_ELEMENTS (subs); i++)
    {
      g_autofree char *path = g_build_filename (f->maildir, dir, subs[i], NULL);
      g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
    }
}

/* For qsort and g_ptr_array_sort over strings. */
static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The server's folder names, one per line, sorted; only the subscribed ones if asked. */
static char *
server_folders (Fixture *f, gboolean subscribed)
{
  g_autofree char *out = td_test_dovecot_doveadm_output (f->dovecot, "mailbox", "list", "-u",
                                                          TD_TEST_USER, subscribed ? "-s" : NULL,
                                                          NULL);
  g_auto (GStrv) lines = g_strsplit (g_strstrip (out), "\n", -1);
  qsort (lines, g_strv_length (lines), sizeof (char *), compare_paths);
  GString *s = g_string_new (NULL);
  for (guint i = 0; lines[i] != NULL; i++)
    g_string_append_printf (s, "%s\n", lines[i]);
  return g_string_free (s, FALSE);
}

static gboolean
server_has (Fixture *f, const char *folder, gboolean subscribed)
{
  g_autofree char *all = server_folders (f, subscribed);
  g_autofree char *line = g_strdup_printf ("\n%s\n", folder);
  g_autofree char *padded = g_strdup_printf ("\n%s", all);
  return strstr (padded, line) != NULL;
}

static gboolean
local_exists (Fixture *f, const char *dir)
{
  g_autofree char *path = g_build_filename (f->maildir, dir, NULL);
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

static guint
local_count (Fixture *f, const char *folder)
{
  g_autoptr (GHashTable) local = read_local (f, folder);
  return g_hash_table_size (local);
}

static void
assert_no_event (const TdTestRun *r)
{
  if (strstr (r->out, "\"event\":\"none\"") == NULL
      || g_regex_match_simple ("\"event\":\"(?!none\")", r->out, 0, 0))
    g_error ("expected no folder events in: %s", r->out);
}

/* Folders made in the Maildir (nested, non-ASCII, empty) are created on the server and
 * subscribed, their messages uploaded once; another machine gets them. A hidden directory
 * and one with a name that cannot go back to the server are left alone. */
static void
test_create_local (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);
  g_autofree char *cfg_b = device_b (f, NULL);

  assert_capabilities_narrowed (f, data);
  seed (f, "INBOX", 2, 200);
  sync_ok (cfg);
  make_local_folder (f, "Projects/Tidings");
  make_local_folder (f, "Entwürfe");
  make_local_folder (f, "Empty");
  make_local_folder (f, ".notmuch-like");
  g_autofree char *m1 = new_local_message (f, "Projects/Tidings", "p1");
  g_free (write_local (f, "Projects/Tidings", "cur", "1700000000.p1.host:2,S", m1, 0));
  g_autofree char *m2 = new_local_message (f, "Entwürfe", "e1");
  g_free (write_local (f, "Entwürfe", "new", "1700000000.e1.host", m2, 0));

  TdTestRun r = sync_json (cfg, NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"folder\":\"Projects/Tidings\"");
  assert_json (&r, "\"uploaded\":1,\"deleted_remote\":0,\"kept\":0,\"bytes\":0,"
                   "\"unchanged\":false,\"estimate\":false,\"event\":\"created_on_server\"");
  td_test_run_clear (&r);
  g_assert_true (server_has (f, "Projects/Tidings", TRUE));
  g_assert_true (server_has (f, "Entwürfe", TRUE));
  g_assert_true (server_has (f, "Empty", TRUE));
  g_assert_false (server_has (f, ".notmuch-like", FALSE));
  g_assert_cmpuint (server_count (f, "Projects/Tidings"), ==, 1);
  g_assert_cmpuint (server_count (f, "Entwürfe"), ==, 1);
  g_assert_cmpuint (server_count (f, "Empty"), ==, 0);

  /* Settled: the next run creates and uploads nothing. */
  r = sync_json (cfg, NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_no_event (&r);
  g_assert_false (g_regex_match_simple ("\"(added|uploaded)\":[1-9]", r.out, 0, 0));
  td_test_run_clear (&r);
  g_assert_cmpuint (server_count (f, "Projects/Tidings"), ==, 1);

  sync_ok (cfg_b);
  expect_lf (f);
  use_device_b (f, TRUE);
  assert_folder_matches (f, "Projects/Tidings");
  assert_folder_matches (f, "Entwürfe");
  g_assert_true (local_exists (f, "Empty/cur"));
  use_device_b (f, FALSE);
}

/* The same in the maildir++ layout, where folders are dot-named directories in modified
 * UTF-7 and the Maildir itself is INBOX. */
static void
test_create_local_maildirpp (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, "layout = maildir++\n");

  seed (f, "INBOX", 1, 200);
  sync_ok (cfg);
  make_local_folder (f, ".Projects.Tidings");
  make_local_folder (f, ".Entw&APw-rfe");
  g_autofree char *m = new_local_message (f, "Projects/Tidings", "pp1");
  g_free (write_local (f, ".Projects.Tidings", "cur", "1700000000.pp1.host:2,", m, 0));

  TdTestRun r = sync_json (cfg, NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"event\":\"created_on_server\"");
  td_test_run_clear (&r);
  g_assert_true (server_has (f, "Projects/Tidings", TRUE));
  g_assert_true (server_has (f, "Entwürfe", TRUE));
  g_assert_cmpuint (server_count (f, "Projects/Tidings"), ==, 1);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 1);
}

/* A folder made on the server after the first sync comes here with its mail. */
static void
test_create_server (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);

  seed (f, "INBOX", 1, 200);
  sync_ok (cfg);
  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Lists/New",
                           NULL);
  seed (f, "Lists/New", 2, 200);
  sync_ok (cfg);
  assert_folder_matches (f, "Lists/New");
  g_assert_cmpuint (server_count (f, "Lists/New"), ==, 2);
}

/* A folder deleted here stays on the server and is not downloaded again, run after run;
 * --force brings it back, --prune-folders deletes it on the server. */
static void
test_delete_local (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);
  g_autofree char *old = g_build_filename (f->maildir, "Old", NULL);

  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Old", NULL);
  seed (f, "INBOX", 2, 200);
  seed (f, "Old", 3, 200);
  sync_ok (cfg);
  td_test_remove_tree (old);
  for (guint i = 0; i < 2; i++)
    {
      TdTestRun r = td_test_tidings (cfg, "sync", NULL);
      g_assert_cmpint (r.status, ==, 0);
      g_assert_nonnull (strstr (r.out, "Old: deleted here but still on the server"));
      g_assert_nonnull (strstr (r.out, "--prune-folders t"));
      td_test_run_clear (&r);
      g_assert_false (local_exists (f, "Old"));
      g_assert_cmpuint (server_count (f, "Old"), ==, 3);
    }
  /* --force brings it back. */
  TdTestRun r = td_test_tidings (cfg, "sync", "--json", "--force", "--folder", "Old", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"event\":\"restored\"");
  td_test_run_clear (&r);
  assert_folder_matches (f, "Old");

  td_test_remove_tree (old);
  /* A dry run says what pruning would do and does none of it. */
  r = td_test_tidings (cfg, "sync", "--json", "--dry-run", "--prune-folders", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"event\":\"pruned_on_server\"");
  td_test_run_clear (&r);
  g_assert_true (server_has (f, "Old", FALSE));
  g_assert_cmpuint (server_count (f, "Old"), ==, 3);

  r = sync_json (cfg, "--prune-folders");
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"folder\":\"Old\"");
  assert_json (&r, "\"event\":\"pruned_on_server\"");
  td_test_run_clear (&r);
  g_assert_false (server_has (f, "Old", FALSE));
  g_assert_false (local_exists (f, "Old"));
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 2);

  r = sync_json (cfg, NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_no_event (&r);
  g_assert_null (strstr (r.out, "\"Old\""));
  td_test_run_clear (&r);
}

/* A folder deleted on the server is kept here; --prune-folders deletes it here too, but
 * never while it holds a message that was never on the server. */
static void
test_delete_server (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);

  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Gone", NULL);
  seed (f, "INBOX", 1, 200);
  seed (f, "Gone", 3, 200);
  sync_ok (cfg);
  td_test_dovecot_doveadm (f->dovecot, "mailbox", "delete", "-u", TD_TEST_USER, "Gone", NULL);
  for (guint i = 0; i < 2; i++)
    {
      TdTestRun r = td_test_tidings (cfg, "sync", NULL);
      g_assert_cmpint (r.status, ==, 0);
      g_assert_nonnull (strstr (r.out, "Gone: deleted on the server; the local copy is kept"));
      td_test_run_clear (&r);
      g_assert_cmpuint (local_count (f, "Gone"), ==, 3);
      g_assert_false (server_has (f, "Gone", FALSE));
    }

  /* A message written here after the server lost the folder exists nowhere else. */
  g_autofree char *m = new_local_message (f, "Gone", "only-here");
  g_autofree char *path = write_local (f, "Gone", "cur", "1700000000.only.host:2,S", m, 0);
  TdTestRun r = sync_json (cfg, "--prune-folders");
  g_assert_cmpint (r.status, ==, 7);
  assert_json (&r, "never on the server");
  td_test_run_clear (&r);
  g_assert_cmpuint (local_count (f, "Gone"), ==, 4);

  g_assert_cmpint (g_unlink (path), ==, 0);
  r = sync_json (cfg, "--prune-folders");
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"event\":\"pruned_locally\"");
  td_test_run_clear (&r);
  g_assert_false (local_exists (f, "Gone"));
  g_assert_false (server_has (f, "Gone", FALSE));

  r = sync_json (cfg, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_null (strstr (r.out, "\"Gone\""));
  td_test_run_clear (&r);
}

/* Every folder gone from the Maildir at once looks like a disk that is not mounted: the run
 * stops, changing nothing on the server, and --force downloads it all again. */
static void
test_unmounted_root (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, "deletes = both\n");
  g_autofree char *away = g_strconcat (f->maildir, ".away", NULL);

  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, "A", NULL);
  seed (f, "INBOX", 3, 200);
  seed (f, "A", 2, 200);
  sync_ok (cfg);
  g_assert_cmpint (g_rename (f->maildir, away), ==, 0);

  TdTestRun r = td_test_tidings (cfg, "sync", "--prune-folders", NULL);
  g_assert_cmpint (r.status, ==, 7);
  g_assert_nonnull (strstr (r.err, "looks unmounted or wiped"));
  td_test_run_clear (&r);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 3);
  g_assert_cmpuint (server_count (f, "A"), ==, 2);
  g_assert_false (local_exists (f, "INBOX"));

  r = sync_json (cfg, "--force");
  g_assert_cmpint (r.status, ==, 0);
  td_test_run_clear (&r);
  assert_folder_matches (f, "INBOX");
  assert_folder_matches (f, "A");
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 3);
}

/* A folder pattern that matches nothing is an error that names it and the folders it may
 * have meant, and nothing syncs; "," for ";" is pointed out; INBOX matches in any case. */
static void
test_pattern_misses (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);

  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Sent", NULL);
  seed (f, "INBOX", 2, 200);
  seed (f, "Sent", 1, 200);

  TdTestRun r = td_test_tidings (cfg, "sync", "--folder", "Snet", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "account t: folder pattern “Snet” (--folder) matches no "
                                   "folder; did you mean “Sent”?"));
  td_test_run_clear (&r);
  g_assert_cmpuint (local_count (f, "INBOX"), ==, 0);
  g_assert_cmpuint (local_count (f, "Sent"), ==, 0);

  g_autofree char *comma = config (f, "folders = INBOX,Sent\n"); /* the same file */
  r = td_test_tidings (comma, "sync", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "folder pattern “INBOX,Sent” (folders in "));
  g_assert_nonnull (strstr (r.err, "patterns are separated by “;”, not “,”"));
  td_test_run_clear (&r);
  g_assert_cmpuint (local_count (f, "INBOX"), ==, 0);

  g_free (config (f, NULL));
  r = td_test_tidings (cfg, "sync", "--folder", "inbox", NULL);
  g_assert_cmpint (r.status, ==, 0);
  td_test_run_clear (&r);
  g_assert_cmpuint (local_count (f, "INBOX"), ==, 2);
  g_assert_cmpuint (local_count (f, "Sent"), ==, 0);
}

/* What the server says its folders are for (RFC 6154 SPECIAL-USE) is in each folder's
 * JSON; a folder it says nothing of has none. */
static void
test_special_use (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);
  const char *folders[] = { "Sent", "Trash", "Notes" };

  for (guint i = 0; i < G_N_ELEMENTS (folders); i++)
    td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, folders[i],
                             NULL);
  TdTestRun r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_regex_match_simple ("\"folder\":\"Sent\"[^}]*\"special\":\"sent\"", r.out,
                                       0, 0));
  g_assert_true (g_regex_match_simple ("\"folder\":\"Trash\"[^}]*\"special\":\"trash\"",
                                       r.out, 0, 0));
  g_assert_true (g_regex_match_simple ("\"folder\":\"Notes\"[^}]*\"special\":null", r.out,
                                       0, 0));
  g_assert_true (g_regex_match_simple ("\"folder\":\"INBOX\"[^}]*\"special\":null", r.out,
                                       0, 0));
  td_test_run_clear (&r);
}

/* A folder the server marks \\All (Gmail's All Mail, a copy of every message) is not
 * downloaded unless `folders` or --folder names it; left out, it is neither created here
 * nor taken for a folder deleted here; named, it syncs like any other. */
static void
test_all_mail (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);
  g_autofree char *all = g_build_filename (f->maildir, "AllMail", NULL);

  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, "AllMail", NULL);
  seed (f, "INBOX", 2, 100);
  seed (f, "AllMail", 3, 100);
  TdTestRun r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_null (strstr (r.out, "\"folder\":\"AllMail\""));
  assert_json (&r, "\"folder\":\"INBOX\",\"added\":2");
  td_test_run_clear (&r);
  g_assert_false (g_file_test (all, G_FILE_TEST_EXISTS));

  /* Asked for once by name on the command line. */
  r = td_test_tidings (cfg, "sync", "--json", "--folder", "AllMail", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"folder\":\"AllMail\",\"added\":3");
  td_test_run_clear (&r);
  assert_folder_matches (f, "AllMail");

  /* Left out again by the next plain run: nothing deleted or created on either side. */
  r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_null (strstr (r.out, "\"folder\":\"AllMail\""));
  td_test_run_clear (&r);
  g_assert_cmpuint (server_count (f, "AllMail"), ==, 3);
  assert_folder_matches (f, "AllMail");

  /* Named in `folders`, it is synced every time. */
  g_autofree char *named = config (f, "folders = *;AllMail\n");
  seed (f, "AllMail", 1, 100);
  r = td_test_tidings (named, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"folder\":\"AllMail\",\"added\":1");
  td_test_run_clear (&r);
  assert_folder_matches (f, "AllMail");
}

/* Every directory below @root, one per line, sorted: what a mail reader's folder list is
 * made of. */
static char *
directory_tree (const char *root)
{
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) todo = g_ptr_array_new_with_free_func (g_free);
  GString *out = g_string_new (NULL);

  g_ptr_array_add (todo, g_strdup (""));
  while (todo->len > 0)
    {
      g_autofree char *rel = g_ptr_array_steal_index (todo, todo->len - 1);
      g_autofree char *dir = g_build_filename (root, rel, NULL);
      g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
      const char *name;
      while (d != NULL && (name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *path = g_build_filename (dir, name, NULL);
          if (!g_file_test (path, G_FILE_TEST_IS_DIR) || g_file_test (path, G_FILE_TEST_IS_SYMLINK))
            continue;
          char *sub = *rel ? g_build_filename (rel, name, NULL) : g_strdup (name);
          g_ptr_array_add (found, g_strdup (sub));
          g_ptr_array_add (todo, sub);
        }
    }
  g_ptr_array_sort (found, compare_paths);
  for (guint i = 0; i < found->len; i++)
    g_string_append_printf (out, "%s\n", (char *) g_ptr_array_index (found, i));
  return g_string_free (out, FALSE);
}

/* Nested and non-ASCII folders on the server, with a few messages in each and in INBOX;
 * in INBOX too, what Message-ID and size cannot tell apart: one message twice (a list's copy
 * and one's own) and two messages without a Message-ID. Only the other tool's UIDs pair
 * those with the files it wrote. */
static void
seed_for_another_tool (Fixture *f)
{
  const char *folders[] = { "Archive", "Archive/2024", "Zz", "Zz/Tëst", "Zz/Tëst/Deep" };
  for (guint i = 0; i < G_N_ELEMENTS (folders); i++)
    {
      td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, folders[i],
                               NULL);
      seed (f, folders[i], 2, 300);
    }
  seed (f, "INBOX", 3, 300);
  gsize len;
  g_autofree char *twice = make_message (f->next_id, 300, &len);
  td_test_dovecot_save (f->dovecot, "INBOX", twice, len);
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *bare = g_strdup_printf ("From: a@example.org\r\nSubject: no id %u\r\n"
                                               "\r\nA message without a Message-ID.\r\n", i);
      td_test_dovecot_save (f->dovecot, "INBOX", bare, strlen (bare));
    }
  g_assert_cmpint (g_mkdir_with_parents (f->maildir, 0700), ==, 0);
}

/* Runs another sync tool (@argv) to fill the Maildir; @deepest is the directory it must have
 * made for Zz/Tëst/Deep. */
static void
run_other_tool (Fixture *f, const char *const *argv, const char *deepest)
{
  g_autoptr (GError) error = NULL;
  int status = -1;
  g_autofree char *err = NULL;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                NULL, NULL, NULL, &err, &status, &error);
  g_assert_no_error (error);
  g_test_message ("%s: %s", argv[0], err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_autofree char *tree = directory_tree (f->maildir);
  g_test_message ("%s's tree:\n%s", argv[0], tree);
  g_autofree char *line = g_strconcat ("\n", deepest, "\n", NULL);
  g_assert_nonnull (strstr (tree, line));
}

/* Tidings with the config @cfg takes over the Maildir as it is: the first sync downloads and
 * uploads nothing, deletes nothing, creates no folder on the server and renames no
 * directory; the next finds nothing to do. */
static void
assert_taken_over (Fixture *f, const char *cfg)
{
  g_autofree char *before = directory_tree (f->maildir);
  g_autofree char *folders_before = server_folders (f, FALSE);
  TdTestRun r = td_test_tidings (cfg, "sync", "--json", "--verbose", NULL);

  g_assert_cmpint (r.status, ==, 0);
  g_assert_false (g_regex_match_simple ("\"(added|uploaded|removed|deleted_remote)\":[1-9]",
                                        r.out, 0, 0));
  g_assert_nonnull (strstr (r.out, "\"folder\":\"Zz/T"));
  g_assert_false (sent_command (r.err, " CREATE "));
  g_assert_false (sent_command (r.err, " APPEND "));
  td_test_run_clear (&r);
  g_autofree char *after = directory_tree (f->maildir);
  g_assert_cmpstr (after, ==, before);
  g_autofree char *folders_after = server_folders (f, FALSE);
  g_assert_cmpstr (folders_after, ==, folders_before);
  r = td_test_tidings (cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "nothing new"));
  td_test_run_clear (&r);
}

/* The configuration `tidings import @tool @rc --output` makes, with the test's own state
 * directory in front: written mode 0600, holding @keys, having said @noted on stderr, and
 * never written over an existing file. */
static char *
import_config (Fixture *f, const char *tool, const char *rc, const char *noted,
               const char *keys)
{
  g_autofree char *imported = g_build_filename (f->home, "imported.conf", NULL);
  g_autofree char *unused = g_build_filename (f->home, "not-read.conf", NULL);
  TdTestRun r = td_test_tidings (unused, "import", tool, rc, "--output", imported, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, noted)); /* said, not silently dropped */
  td_test_run_clear (&r);
  GStatBuf st;
  g_assert_cmpint (g_stat (imported, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (imported, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, keys));
  r = td_test_tidings (unused, "import", tool, rc, "--output", imported, NULL);
  g_assert_cmpint (r.status, ==, 6);
  g_assert_nonnull (strstr (r.err, "is not overwritten"));
  td_test_run_clear (&r);
  g_autofree char *body = g_strdup_printf ("[general]\nstate-dir = %s\n\n%s", f->state, text);
  return td_test_write_config (f->home, body);
}

/* mbsync 1.4's layouts, each with what `tidings import mbsync` makes of it. */
typedef struct
{
  const char *subfolders;
  const char *deepest;  /* the directory mbsync makes for Zz/Tëst/Deep */
  const char *keys;     /* what the imported configuration says of the layout */
  const char *inbox;    /* nullable: mbsync's Inbox below the home, not Path's INBOX */
  gboolean central;     /* mbsync's state in one directory (a global SyncState), not each
                           folder */
} MbsyncLayout;

/* With mbsync's state in one directory, as by default: Tidings reads it there. */
static const MbsyncLayout mbsync_legacy = { "Legacy", "Zz/.T&AOs-st/.Deep",
                                            "layout = legacy\nfolder-names = utf-7\n", NULL,
                                            TRUE };
static const MbsyncLayout mbsync_maildirpp = { "Maildir++", ".Zz.T&AOs-st.Deep",
                                               "layout = maildir++\nfolder-names = utf-7\n" };
static const MbsyncLayout mbsync_verbatim = { "Verbatim", "Zz/T&AOs-st/Deep",
                                              "layout = verbatim\nfolder-names = utf-7\n" };
/* mbsync's own default: INBOX at ~/Maildir, the other folders below Path. */
static const MbsyncLayout mbsync_inbox_apart = { "Verbatim", "Zz/T&AOs-st/Deep",
                                                 "layout = verbatim\ninbox = ", "Maildir" };

/* mbsync 1.4 fills the Maildir in layout @l (names in modified UTF-7), and it is taken over
 * with the configuration `tidings import mbsync` makes of mbsync's. */
static void
mbsync_taken_over (Fixture *f, const MbsyncLayout *l)
{
  gboolean pp = g_str_equal (l->subfolders, "Maildir++");

  seed_for_another_tool (f);
  g_autofree char *rc = g_build_filename (f->home, "mbsyncrc", NULL);
  /* Maildir++ keeps INBOX at the root and takes no Path. */
  g_autofree char *inbox = l->inbox ? g_build_filename (f->home, l->inbox, NULL)
                                    : g_build_filename (f->maildir, "INBOX", NULL);
  g_autofree char *where = pp ? g_strdup_printf ("Inbox %s\n", f->maildir)
                              : g_strdup_printf ("Path %s/\nInbox %s\n", f->maildir, inbox);
  /* Not mbsync's default ~/.mbsync/: a test's HOME is not to be written. */
  g_autofree char *states = g_build_filename (f->home, "mbsync-state", NULL);
  g_autofree char *global = l->central ? g_strdup_printf ("SyncState %s/\n\n", states)
                                       : g_strdup ("");
  g_autofree char *rc_text = g_strdup_printf (
    "%sIMAPAccount t\nHost localhost\nPort %u\nUser " TD_TEST_USER "\nPass \"" TD_TEST_PASSWORD
    "\"\nSSLType IMAPS\nCertificateFile %s\n\nIMAPStore remote\nAccount t\n\n"
    "MaildirStore local\n%sSubFolders %s\n\n"
    "Channel t\nFar :remote:\nNear :local:\nPatterns *\nCreate Near\nSync All\n%s",
    global, f->dovecot->imaps_port, f->dovecot->cert, where, l->subfolders,
    l->central ? "" : "SyncState *\n");
  g_assert_true (g_file_set_contents (rc, rc_text, -1, NULL));
  const char *argv[] = { "mbsync", "-q", "-c", rc, "-a", NULL };
  run_other_tool (f, argv, l->deepest);
  g_autofree char *cfg = import_config (f, "mbsync", rc, "Create Near", l->keys);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (cfg, &text, NULL, NULL));
  g_autofree char *key = g_strdup_printf ("\nmbsync-state = %s/:remote:{}_:local:{}\n", states);
  g_assert_true ((strstr (text, key) != NULL) == l->central);
  g_autofree char *inbox_before = directory_tree (inbox);
  assert_taken_over (f, cfg);
  g_autofree char *inbox_after = directory_tree (inbox);
  g_assert_cmpstr (inbox_after, ==, inbox_before);
  guint n = 0;
  for (guint i = 0; !pp && i < 2; i++)
    {
      g_autofree char *sub = g_build_filename (inbox, i == 0 ? "cur" : "new", NULL);
      g_autoptr (GDir) dir = g_dir_open (sub, 0, NULL);
      while (dir != NULL && g_dir_read_name (dir) != NULL)
        n++;
    }
  g_assert_cmpuint (n, ==, pp ? 0 : 6); /* seed_for_another_tool's INBOX, where mbsync put it */
}

static void
test_mbsync_legacy (Fixture *f, gconstpointer data)
{
  mbsync_taken_over (f, &mbsync_legacy);
}

static void
test_mbsync_maildirpp (Fixture *f, gconstpointer data)
{
  mbsync_taken_over (f, &mbsync_maildirpp);
}

static void
test_mbsync_verbatim (Fixture *f, gconstpointer data)
{
  mbsync_taken_over (f, &mbsync_verbatim);
}

static void
test_mbsync_inbox_apart (Fixture *f, gconstpointer data)
{
  mbsync_taken_over (f, &mbsync_inbox_apart);
}

/* offlineimap 8 with its defaults (every folder at the top, the parts of a nested name
 * joined by '.', names in modified UTF-7), taken over with the configuration
 * `tidings import offlineimap` makes of offlineimap's (layout = flat, folder-names =
 * utf-7). */
static void
test_offlineimap_flat (Fixture *f, gconstpointer data)
{
  seed_for_another_tool (f);
  g_autofree char *rc = g_build_filename (f->home, "offlineimaprc", NULL);
  g_autofree char *rc_text = g_strdup_printf (
    "[general]\naccounts = t\nmetadata = %s/offlineimap\n\n[Account t]\nlocalrepository = local\n"
    "remoterepository = remote\n\n[Repository local]\ntype = Maildir\nlocalfolders = %s\n\n"
    "[Repository remote]\ntype = IMAP\nremotehost = localhost\nremoteport = %u\n"
    "remoteuser = " TD_TEST_USER "\nremotepass = " TD_TEST_PASSWORD "\nssl = yes\n"
    "sslcacertfile = %s\n", f->home, f->maildir, f->dovecot->imaps_port, f->dovecot->cert);
  g_assert_true (g_file_set_contents (rc, rc_text, -1, NULL));
  const char *argv[] = { "offlineimap", "-c", rc, "-u", "quiet", NULL };
  run_other_tool (f, argv, "Zz.T&AOs-st.Deep");
  g_autofree char *cfg = import_config (f, "offlineimap", rc, "remotepass",
                                        "layout = flat\nfolder-names = utf-7\n");
  assert_taken_over (f, cfg);
}

/* What a shell completion offers for "tidings --config CFG @typed" (the last word being
 * completed), from the script itself run in the shell: bash and fish here; zsh's is
 * checked for syntax. */
static char *
complete_in (const char *shell, const char *cfg, const char *typed)
{
  const char *bin = g_getenv ("TIDINGS_BIN");
  g_autofree char *bindir = g_path_get_dirname (bin);
  g_autofree char *dir = g_build_filename (TD_TEST_SRCDIR, "..", "data", "completions", NULL);
  g_autofree char *script = NULL;
  g_autofree char *line = NULL;
  g_autofree char *out = NULL;
  g_autoptr (GError) error = NULL;
  int status = 0;

  if (g_str_equal (shell, "bash"))
    {
      script = g_strdup_printf ("source '%s/tidings.bash'; read -ra rest <<< \"$1\"; "
                                "[[ -z $1 || $1 == *' ' ]] && rest+=(''); "
                                "COMP_WORDS=(\"$2\" --config \"$3\" \"${rest[@]}\"); "
                                "COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _tidings; "
                                "printf '%%s\\n' \"${COMPREPLY[@]}\"", dir);
      char *argv[] = { "bash", "-c", script, "bash", (char *) typed, (char *) bin,
                       (char *) cfg, NULL };
      g_assert_true (g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL,
                                   &status, &error));
    }
  else
    {
      line = g_strdup_printf ("tidings --config %s %s", cfg, typed);
      script = g_strdup_printf ("set PATH '%s' $PATH; source '%s/tidings.fish'; "
                                "complete -C $argv[1]", bindir, dir);
      char *argv[] = { "fish", "--no-config", "-c", script, line, NULL };
      g_assert_true (g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL,
                                   &status, &error));
    }
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 0);
  g_test_message ("%s completes \"%s\" with:\n%s", shell, typed, out);
  return g_steal_pointer (&out);
}

static void
test_completions (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);
  g_autofree char *dir = g_build_filename (TD_TEST_SRCDIR, "..", "data", "completions", NULL);
  g_autofree char *zsh = g_build_filename (dir, "_tidings", NULL);
  const char *shells[] = { "bash", "fish" };

  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Sent",
                           "Lists/Spam-Filter", NULL);
  seed (f, "INBOX", 1, 200);
  sync_ok (cfg);
  for (guint i = 0; i < G_N_ELEMENTS (shells); i++)
    {
      g_autofree char *commands = complete_in (shells[i], cfg, "ch");
      g_assert_true (g_str_has_prefix (commands, "check-config"));
      g_autofree char *accounts = complete_in (shells[i], cfg, "sync ");
      g_assert_true (g_str_has_prefix (accounts, "t\n") || g_str_has_prefix (accounts, "t\t"));
      g_autofree char *folders = complete_in (shells[i], cfg, "sync -f L");
      g_assert_true (g_str_has_prefix (folders, "Lists/Spam-Filter"));
      g_autofree char *option = complete_in (shells[i], cfg, "sync --dr");
      g_assert_true (g_str_has_prefix (option, "--dry-run"));
      g_autofree char *oauth2 = complete_in (shells[i], cfg, "oa");
      g_assert_true (g_str_has_prefix (oauth2, "oauth2"));
      g_autofree char *login = complete_in (shells[i], cfg, "oauth2 login ");
      g_assert_true (g_str_has_prefix (login, "t\n") || g_str_has_prefix (login, "t\t"));
    }
  char *argv[] = { "zsh", "-n", zsh, NULL };
  int status = -1;
  g_assert_true (g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                               &status, NULL));
  g_assert_cmpint (status, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, fn, conf) g_test_add (path, Fixture, conf, td_sync_fixture_setup, fn, td_sync_fixture_teardown)
  ADD ("/integration/imap/folders/create-local", test_create_local, NULL);
  ADD ("/integration/imap/folders/create-local-maildir++", test_create_local_maildirpp, NULL);
  ADD ("/integration/imap/folders/create-local-plain-imap4rev1", test_create_local,
       "imap_capability = IMAP4rev1 LITERAL+");
  ADD ("/integration/imap/folders/create-server", test_create_server, NULL);
  ADD ("/integration/imap/folders/delete-local", test_delete_local, NULL);
  ADD ("/integration/imap/folders/delete-server", test_delete_server, NULL);
  ADD ("/integration/imap/folders/unmounted-root", test_unmounted_root, NULL);
  ADD ("/integration/imap/folders/pattern-misses", test_pattern_misses, NULL);
  ADD ("/integration/cli/completions", test_completions, NULL);
  ADD ("/integration/imap/folders/special-use", test_special_use, NULL);
  ADD ("/integration/imap/folders/all-mail", test_all_mail, NULL);
  ADD ("/integration/imap/folders/mbsync-legacy", test_mbsync_legacy, NULL);
  ADD ("/integration/imap/folders/mbsync-maildir++", test_mbsync_maildirpp, NULL);
  ADD ("/integration/imap/folders/mbsync-verbatim", test_mbsync_verbatim, NULL);
  ADD ("/integration/imap/folders/mbsync-inbox-apart", test_mbsync_inbox_apart, NULL);
  ADD ("/integration/imap/folders/offlineimap-flat", test_offlineimap_flat, NULL);
  return g_test_run ();
}
