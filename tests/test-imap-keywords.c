/* test-imap-keywords.c: IMAP keywords ($Junk, $label1, Thunderbird's tags) both ways against
 * a real Dovecot, with CONDSTORE and on a plain IMAP4rev1 server.
 *
 * What a user would check: a tag set in one place shows in the other, in the Maildir the
 * way Dovecot keeps it (the folder's dovecot-keywords names each letter a to z after the
 * standard flags in ":2,"), and a tag removed in one place goes in the other. A folder with
 * more than 26 keywords keeps them all on the server, however the files change, and says
 * that the files cannot show some.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "td-test-sync.h"

/* The folder's dovecot-keywords as letter -> name (NULL where free), read the plain way a
 * mail reader would. */
static GPtrArray *
letters_of (Fixture *f, const char *folder)
{
  g_autofree char *path = g_build_filename (f->maildir, folder, "dovecot-keywords", NULL);
  g_autofree char *text = NULL;
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_set_size (names, 26);
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return names;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *end = NULL;
      guint64 index = g_ascii_strtoull (lines[i], &end, 10);
      if (end == lines[i] || *end != ' ' || index >= 26)
        continue;
      g_free (names->pdata[index]);
      names->pdata[index] = g_strdup (end + 1);
    }
  return names;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static char *
join_sorted (GPtrArray *words)
{
  g_ptr_array_sort (words, compare_strings);
  g_ptr_array_add (words, NULL);
  return g_strjoinv (" ", (char **) words->pdata);
}

/* The keywords message @id's file in @folder shows, by name, sorted and space-separated. */
static char *
local_keywords (Fixture *f, const char *folder, guint id)
{
  g_autoptr (GHashTable) local = read_local (f, folder);
  g_autoptr (GPtrArray) names = letters_of (f, folder);
  g_autoptr (GPtrArray) found = g_ptr_array_new ();
  const char *v = local_name (local, id);

  g_assert_nonnull (v);
  const char *info = strstr (v, ":2,"), *nl = strchr (v, '\n');
  for (const char *p = info ? info + 3 : nl; p < nl; p++)
    if (*p >= 'a' && *p <= 'z')
      {
        const char *name = names->pdata[*p - 'a'];
        if (name == NULL)
          g_error ("message %u uses letter %c, which dovecot-keywords does not name", id, *p);
        g_ptr_array_add (found, (gpointer) name);
      }
  return join_sorted (found);
}

/* The keywords the server has on message @uid of @folder, sorted and space-separated. */
static char *
remote_keywords (Fixture *f, const char *folder, guint uid)
{
  g_autofree char *n = g_strdup_printf ("%u", uid);
  g_autofree char *flags = server_flags (f, folder, n);
  g_auto (GStrv) words = g_strsplit (flags, " ", -1);
  g_autoptr (GPtrArray) found = g_ptr_array_new ();

  for (guint i = 0; words[i] != NULL; i++)
    if (words[i][0] != '\0' && words[i][0] != '\\' && strcmp (words[i], "$Forwarded") != 0)
      g_ptr_array_add (found, words[i]);
  return join_sorted (found);
}

/* What a mail reader of a Dovecot Maildir does to tag message @id: names the keywords in
 * dovecot-keywords where they are missing, and renames the file to @standard letters and
 * the keywords' letters. */
static void
reader_tags (Fixture *f, const char *folder, guint id, const char *standard,
             const char *const *keywords)
{
  g_autoptr (GPtrArray) names = letters_of (f, folder);
  g_autoptr (GString) letters = g_string_new (standard);

  for (guint k = 0; keywords[k] != NULL; k++)
    {
      guint i = 0;
      while (i < 26 && g_strcmp0 (names->pdata[i], keywords[k]) != 0)
        i++;
      if (i == 26)
        {
          for (i = 0; names->pdata[i] != NULL; i++)
            g_assert_cmpuint (i, <, 25);
          names->pdata[i] = g_strdup (keywords[k]);
        }
      g_string_append_c (letters, (char) ('a' + i));
    }
  g_autoptr (GString) text = g_string_new (NULL);
  for (guint i = 0; i < 26; i++)
    if (names->pdata[i] != NULL)
      g_string_append_printf (text, "%u %s\n", i, (char *) names->pdata[i]);
  g_autofree char *path = g_build_filename (f->maildir, folder, "dovecot-keywords", NULL);
  g_assert_true (g_file_set_contents (path, text->str, -1, NULL));
  reader_sets_flags (f, folder, id, letters->str);
}

static void
server_tags (Fixture *f, const char *folder, guint uid, const char *how, const char *keywords)
{
  g_autofree char *n = g_strdup_printf ("%u", uid);
  td_test_dovecot_doveadm (f->dovecot, "flags", how, "-u", TD_TEST_USER, keywords, "mailbox",
                           folder, "uid", n, NULL);
}

/* Keywords set and cleared on each side reach the other, for old and new messages. */
static void
test_both_ways (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);
  const char *const none[] = { NULL };

  assert_capabilities_narrowed (f, data);
  seed (f, "INBOX", 4, 200);
  server_tags (f, "INBOX", 1, "add", "$Junk");
  server_tags (f, "INBOX", 2, "add", "$label1 $Important");
  sync_ok (cfg);
  g_autofree char *a1 = local_keywords (f, "INBOX", 1);
  g_autofree char *a2 = local_keywords (f, "INBOX", 2);
  g_autofree char *a3 = local_keywords (f, "INBOX", 3);
  g_assert_cmpstr (a1, ==, "$Junk");
  g_assert_cmpstr (a2, ==, "$Important $label1");
  g_assert_cmpstr (a3, ==, "");

  /* The reader tags message 3, takes $Junk off message 1 and marks it seen. */
  const char *const not_junk[] = { "$NotJunk", "Work", NULL };
  reader_tags (f, "INBOX", 3, "", not_junk);
  reader_tags (f, "INBOX", 1, "S", none);
  /* Meanwhile another client tags message 4 and takes $label1 off message 2. */
  server_tags (f, "INBOX", 4, "add", "$label2");
  server_tags (f, "INBOX", 2, "remove", "$label1");
  sync_ok (cfg);
  g_autofree char *r1 = remote_keywords (f, "INBOX", 1);
  g_autofree char *r3 = remote_keywords (f, "INBOX", 3);
  g_autofree char *flags1 = server_flags (f, "INBOX", "1");
  g_assert_cmpstr (r1, ==, "");
  g_assert_cmpstr (flags1, ==, "\\Seen");
  g_assert_cmpstr (r3, ==, "$NotJunk Work");
  g_autofree char *b2 = local_keywords (f, "INBOX", 2);
  g_autofree char *b4 = local_keywords (f, "INBOX", 4);
  g_assert_cmpstr (b2, ==, "$Important");
  g_assert_cmpstr (b4, ==, "$label2");

  /* A new message arrives tagged; a new local message goes up tagged. */
  seed (f, "INBOX", 1, 200);
  server_tags (f, "INBOX", 5, "add", "$Junk");
  g_autofree char *m = new_local_message (f, "INBOX", "tagged");
  g_free (write_local (f, "INBOX", "cur", "1700000009.t1.host:2,S", m, 0));
  sync_ok (cfg);
  g_autofree char *c5 = local_keywords (f, "INBOX", 5);
  g_assert_cmpstr (c5, ==, "$Junk");
  g_autofree char *up = td_test_dovecot_doveadm_output (f->dovecot, "search", "-u",
                                                        TD_TEST_USER, "mailbox", "INBOX",
                                                        "header", "Message-ID", "tagged",
                                                        NULL);
  g_assert_cmpuint (strlen (g_strstrip (up)), >, 0);
  TdTestRun r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  /* Quiet: nothing left to change either way. */
  g_assert_false (g_regex_match_simple ("\"(flags_changed|flags_pushed|added|uploaded)\":[1-9]",
                                        r.out, 0, 0));
  td_test_run_clear (&r);
  assert_local_matches (f, "INBOX", "INBOX");
}

/* A keyword a new local file shows goes up with it in the APPEND. */
static void
test_upload_tagged (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);
  const char *const work[] = { "Work", "$label3", NULL };

  seed (f, "INBOX", 1, 200);
  sync_ok (cfg);
  reader_tags (f, "INBOX", 1, "S", work); /* names the keywords in dovecot-keywords */
  g_autoptr (GPtrArray) names = letters_of (f, "INBOX");
  g_autofree char *m = new_local_message (f, "INBOX", "upload-tagged");
  guint work_letter = 0;
  while (g_strcmp0 (names->pdata[work_letter], "Work") != 0)
    work_letter++;
  g_autofree char *name = g_strdup_printf ("1700000010.u1.host:2,S%c", 'a' + work_letter);
  g_free (write_local (f, "INBOX", "cur", name, m, 0));
  sync_ok (cfg);
  g_autofree char *r1 = remote_keywords (f, "INBOX", 1);
  g_assert_cmpstr (r1, ==, "$label3 Work");
  /* The upload is the second message on the server: UID 2. */
  g_autofree char *r2 = remote_keywords (f, "INBOX", 2);
  g_assert_cmpstr (r2, ==, "Work");
}

/* 30 keywords on one message: 26 get letters, the other 4 stay in the state DB and on the
 * server, are reported, and survive the reader changing the file. */
static void
test_beyond_letters (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);
  g_autoptr (GString) all = g_string_new (NULL);

  seed (f, "INBOX", 2, 200);
  for (guint i = 1; i <= 30; i++)
    g_string_append_printf (all, "%s$k%02u", all->len ? " " : "", i);
  server_tags (f, "INBOX", 1, "add", all->str);
  TdTestRun r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"keywords_unshown\":4");
  td_test_run_clear (&r);
  g_autoptr (GPtrArray) names = letters_of (f, "INBOX");
  for (guint i = 0; i < 26; i++)
    g_assert_nonnull (names->pdata[i]);
  g_autofree char *shown = local_keywords (f, "INBOX", 1);
  g_assert_cmpuint (strlen (shown), ==, 26 * 4 + 25);

  /* The reader marks it seen and drops one tag it can see; the 4 it cannot see stay. */
  g_autoptr (GPtrArray) keep = g_ptr_array_new ();
  g_auto (GStrv) seen_names = g_strsplit (shown, " ", -1);
  for (guint i = 1; seen_names[i] != NULL; i++)
    g_ptr_array_add (keep, seen_names[i]);
  g_ptr_array_add (keep, NULL);
  reader_tags (f, "INBOX", 1, "S", (const char *const *) keep->pdata);
  r = td_test_tidings (cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, "4 keywords have no Maildir letter"));
  td_test_run_clear (&r);
  g_autofree char *remote = remote_keywords (f, "INBOX", 1);
  g_auto (GStrv) left = g_strsplit (remote, " ", -1);
  g_assert_cmpuint (g_strv_length (left), ==, 29);
  g_assert_false (g_strv_contains ((const char *const *) left, seen_names[0]));
  g_autofree char *flags = server_flags (f, "INBOX", "1");
  g_assert_true (g_str_has_prefix (flags, "\\Seen "));
  /* Message 2, untouched, got no keyword from its neighbour. */
  g_autofree char *r2 = remote_keywords (f, "INBOX", 2);
  g_assert_cmpstr (r2, ==, "");
}

/* The message's UID in @folder, by its Message-ID. */
static guint
uid_of (Fixture *f, const char *folder, guint id)
{
  g_autofree char *mid = g_strdup_printf ("<msg%u@tidings.test>", id);
  g_autofree char *out = td_test_dovecot_doveadm_output (f->dovecot, "fetch", "-u",
                                                         TD_TEST_USER, "uid", "mailbox", folder,
                                                         "header", "Message-ID", mid, NULL);
  const char *at = strstr (out, "uid:");
  g_assert_nonnull (at);
  return (guint) g_ascii_strtoull (at + 4, NULL, 10);
}

/* A message moved on the server is renamed here with its keywords by name, in the letters of
 * its new folder (which names them differently); one the reader moves keeps its keywords on
 * the server. */
static void
test_moves (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);

  seed (f, "INBOX", 2, 200);
  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Archive", NULL);
  seed (f, "Archive", 1, 200);
  server_tags (f, "INBOX", 1, "add", "$Junk");
  server_tags (f, "INBOX", 2, "add", "$Junk");
  server_tags (f, "Archive", 1, "add", "Work"); /* Archive's 'a' is Work, INBOX's $Junk */
  sync_ok (cfg);
  g_autoptr (GPtrArray) inbox = letters_of (f, "INBOX");
  g_autoptr (GPtrArray) archive = letters_of (f, "Archive");
  g_assert_cmpstr (inbox->pdata[0], ==, "$Junk");
  g_assert_cmpstr (archive->pdata[0], ==, "Work");

  td_test_dovecot_doveadm (f->dovecot, "move", "-u", TD_TEST_USER, "Archive", "mailbox",
                           "INBOX", "uid", "1", NULL);
  TdTestRun r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_false (g_regex_match_simple ("\"added\":[1-9]", r.out, 0, 0));
  td_test_run_clear (&r);
  g_autofree char *moved = local_keywords (f, "Archive", 1);
  g_assert_cmpstr (moved, ==, "$Junk");
  g_autofree char *there = remote_keywords (f, "Archive", uid_of (f, "Archive", 1));
  g_assert_cmpstr (there, ==, "$Junk");

  /* The reader moves message 2 with a mail reader that knows Archive's letters. */
  g_autoptr (GHashTable) local = read_local (f, "INBOX");
  const char *v = local_name (local, 2);
  g_autofree char *name = g_strndup (v, strchr (v, '\n') - v);
  g_autofree char *base = g_strndup (name, strcspn (name, ":"));
  g_autoptr (GPtrArray) now = letters_of (f, "Archive");
  guint junk = 0;
  while (g_strcmp0 (now->pdata[junk], "$Junk") != 0)
    junk++;
  g_autofree char *from = g_build_filename (f->maildir, "INBOX", "cur", name, NULL);
  g_autofree char *to_name = g_strdup_printf ("%s:2,%c", base, 'a' + junk);
  g_autofree char *to = g_build_filename (f->maildir, "Archive", "cur", to_name, NULL);
  g_assert_cmpint (g_rename (from, to), ==, 0);
  r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"moved\":1");
  td_test_run_clear (&r);
  g_autofree char *kept = remote_keywords (f, "Archive", uid_of (f, "Archive", 2));
  g_assert_cmpstr (kept, ==, "$Junk");
  /* Another client clears the keyword before our next sync: the move recorded it, so the
   * clearing reaches the file rather than the file's letter bringing it back. */
  server_tags (f, "Archive", uid_of (f, "Archive", 2), "remove", "$Junk");
  sync_ok (cfg);
  g_autofree char *cleared = remote_keywords (f, "Archive", uid_of (f, "Archive", 2));
  g_assert_cmpstr (cleared, ==, "");
  g_autofree char *file = local_keywords (f, "Archive", 2);
  g_assert_cmpstr (file, ==, "");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, fn, conf) g_test_add (path, Fixture, conf, td_sync_fixture_setup, fn, td_sync_fixture_teardown)
  ADD ("/integration/imap/keywords/both-ways", test_both_ways, NULL);
  ADD ("/integration/imap/keywords/both-ways-plain-imap4rev1", test_both_ways,
       "imap_capability = IMAP4rev1 LITERAL+");
  ADD ("/integration/imap/keywords/upload", test_upload_tagged, NULL);
  ADD ("/integration/imap/keywords/beyond-26", test_beyond_letters, NULL);
  ADD ("/integration/imap/keywords/moves", test_moves, NULL);
  return g_test_run ();
}
