/* test-imap-moves.c: messages a mail reader moves between folders, against a real Dovecot,
 * with MOVE (RFC 6851), without it (COPY, \Deleted and UID EXPUNGE), and on a plain
 * IMAP4rev1 server (no UIDPLUS: the moved message is found again by a search).
 *
 * What a user would check: the message ends up once in its new folder on the server, with
 * the flags it has here, is gone from the old one, is not stored twice anywhere, and its
 * body did not cross the wire again: Dovecot's own count of the bytes each session received
 * and sent ("Logged out in=… out=…") stays far below the size of one message.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "td-test-sync.h"

#define BIG_BODY (600 * 1024)

/* The bytes the sessions since @mark received (@in) and sent (@out), as Dovecot logs them. */
static void
session_bytes (Fixture *f, gsize mark, guint64 *in, guint64 *out)
{
  g_autofree char *log = td_test_dovecot_read_log (f->dovecot);
  const char *p = log + MIN (mark, strlen (log));
  guint sessions = 0;

  *in = *out = 0;
  while ((p = strstr (p, "Logged out in=")) != NULL)
    {
      char *end = NULL;
      p += strlen ("Logged out in=");
      *in += g_ascii_strtoull (p, &end, 10);
      g_assert_true (g_str_has_prefix (end, " out="));
      *out += g_ascii_strtoull (end + strlen (" out="), NULL, 10);
      sessions++;
    }
  g_assert_cmpuint (sessions, >, 0);
}

/* No message body crossed the wire in the sessions since @mark: Dovecot counted less than a
 * tenth of one each way. */
static void
assert_no_body_crossed (Fixture *f, gsize mark, const char *what)
{
  guint64 in, out;

  session_bytes (f, mark, &in, &out);
  g_test_message ("bytes a sync of %s sent %" G_GUINT64_FORMAT ", received %" G_GUINT64_FORMAT,
                  what, in, out);
  g_assert_cmpuint (in, <, BIG_BODY / 10);
  g_assert_cmpuint (out, <, BIG_BODY / 10);
}

static gsize
log_mark (Fixture *f)
{
  g_autofree char *log = td_test_dovecot_read_log (f->dovecot);
  return strlen (log);
}

/* The mail reader moves message @id's file from @from to @to's cur/, with the flags
 * @letters: under the same name (notmuch, aerc), or under a new one as mu4e and mutt write
 * it. The message is then expected in @to only. */
static void
reader_moves (Fixture *f, guint id, const char *from, const char *to, gboolean new_name,
              const char *letters)
{
  g_autoptr (GHashTable) local = read_local (f, from);
  const char *v = local_name (local, id);
  g_assert_nonnull (v);
  g_autofree char *name = g_strndup (v, strchr (v, '\n') - v);
  g_autofree char *base = g_strndup (name, strcspn (name, ":"));
  g_autofree char *cur = g_build_filename (f->maildir, from, "cur", name, NULL);
  g_autofree char *new = g_build_filename (f->maildir, from, "new", name, NULL);
  g_autofree char *renamed = g_strdup_printf ("1800000000.moved%u.host", id);
  g_autofree char *target_name = g_strdup_printf ("%s:2,%s", new_name ? renamed : base, letters);
  g_autofree char *target = g_build_filename (f->maildir, to, "cur", target_name, NULL);
  g_assert_cmpint (g_rename (g_file_test (cur, G_FILE_TEST_EXISTS) ? cur : new, target), ==, 0);

  g_autofree char *key = g_strdup_printf ("%s\n<msg%u@tidings.test>", from, id);
  g_autofree char *content = g_strdup (g_hash_table_lookup (f->expected, key));
  g_assert_nonnull (content);
  g_hash_table_remove (f->expected, key);
  g_hash_table_insert (f->expected, g_strdup_printf ("%s\n<msg%u@tidings.test>", to, id),
                       g_steal_pointer (&content));
}

/* The UID of message @id in @folder on the server, as a string for doveadm. */
static char *
server_uid (Fixture *f, const char *folder, guint id)
{
  g_autofree char *query = g_strdup_printf ("<msg%u@tidings.test>", id);
  g_autofree char *out = td_test_dovecot_doveadm_output (f->dovecot, "fetch", "-u", TD_TEST_USER,
                                                         "uid", "mailbox", folder, "header",
                                                         "Message-ID", query, NULL);
  const char *u = strstr (out, "uid: ");
  g_assert_nonnull (u);
  g_assert_null (strstr (u + 1, "uid: ")); /* once on the server */
  return g_strndup (u + strlen ("uid: "), strspn (u + strlen ("uid: "), "0123456789"));
}

/* Two messages moved from INBOX to Archive, one keeping its file name with a flag added on
 * the way, one renamed; both end up once in Archive on the server with their flags, and no
 * body crosses the wire; the next run has nothing to do; another machine sees the move. */
static void
test_local_moves (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);
  g_autofree char *cfg_b = device_b (f, NULL);

  if (data != NULL)
    assert_capabilities_narrowed (f, data);
  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Archive", NULL);
  seed (f, "INBOX", 3, BIG_BODY);
  sync_ok (cfg);
  sync_ok (cfg_b);

  reader_moves (f, 1, "INBOX", "Archive", FALSE, "FS");
  reader_moves (f, 2, "INBOX", "Archive", TRUE, "S");
  gsize mark = log_mark (f);
  TdTestRun r = td_test_tidings (cfg, "sync", "--json", "--verbose", NULL);
  g_assert_cmpint (r.status, ==, 0);
  /* The server's own way where it has one; COPY and deleting the originals where not. */
  gboolean has_move = data == NULL;
  g_assert_true (sent_command (r.err, " UID MOVE ") == has_move);
  g_assert_true (sent_command (r.err, " UID COPY ") == !has_move);
  g_assert_false (sent_command (r.err, " APPEND "));
  assert_json (&r, "\"folder\":\"Archive\",\"added\":0");
  assert_json (&r, "\"too_old\":0,\"moved\":2");
  g_assert_false (g_regex_match_simple ("\"(added|uploaded)\":[1-9]", r.out, 0, 0));
  td_test_run_clear (&r);

  assert_no_body_crossed (f, mark, "two moves");

  g_assert_cmpuint (server_count (f, "INBOX"), ==, 1);
  g_assert_cmpuint (server_count (f, "Archive"), ==, 2);
  g_autofree char *uid1 = server_uid (f, "Archive", 1);
  g_autofree char *flags1 = server_flags (f, "Archive", uid1);
  g_assert_cmpstr (flags1, ==, "\\Flagged \\Seen");
  g_autofree char *uid2 = server_uid (f, "Archive", 2);
  g_autofree char *flags2 = server_flags (f, "Archive", uid2);
  g_assert_cmpstr (flags2, ==, "\\Seen");
  assert_folder_matches (f, "INBOX");
  assert_folder_matches (f, "Archive");

  /* Nothing left to do, nothing comes down or goes up. */
  guint64 in, out;
  mark = log_mark (f);
  r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_false (g_regex_match_simple ("\"(added|uploaded|moved|deleted_remote|removed)\":[1-9]",
                                        r.out, 0, 0));
  td_test_run_clear (&r);
  session_bytes (f, mark, &in, &out);
  g_assert_cmpuint (in + out, <, BIG_BODY / 10);
  assert_folder_matches (f, "Archive");

  /* The other machine: the messages left its INBOX and came into its Archive. */
  sync_ok (cfg_b);
  use_device_b (f, TRUE);
  assert_folder_matches (f, "INBOX");
  assert_folder_matches (f, "Archive");
  use_device_b (f, FALSE);
}

/* Moves message @id from @from to @to on the server, as another mail client or a filter
 * would, and adds @flag there. */
static void
server_moves (Fixture *f, guint id, const char *from, const char *to, const char *flag)
{
  g_autofree char *uid = server_uid (f, from, id);
  td_test_dovecot_doveadm (f->dovecot, "move", "-u", TD_TEST_USER, to, "mailbox", from, "uid",
                           uid, NULL);
  g_autofree char *key = g_strdup_printf ("%s\n<msg%u@tidings.test>", from, id);
  g_autofree char *content = g_strdup (g_hash_table_lookup (f->expected, key));
  g_hash_table_remove (f->expected, key);
  g_hash_table_insert (f->expected, g_strdup_printf ("%s\n<msg%u@tidings.test>", to, id),
                       g_steal_pointer (&content));
  if (flag == NULL)
    return;
  g_autofree char *new_uid = server_uid (f, to, id);
  td_test_dovecot_doveadm (f->dovecot, "flags", "add", "-u", TD_TEST_USER, flag, "mailbox", to,
                           "uid", new_uid, NULL);
}

/* Two messages another client moved from INBOX to Archive (one flagged there, one the reader
 * had marked read here meanwhile) are renamed here, not downloaded: Dovecot sends far less
 * than one body, each file is once in Archive with both sides' flags, and the reader's
 * flag reaches the server. */
static void
test_server_moves (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);

  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Archive", NULL);
  seed (f, "INBOX", 3, BIG_BODY);
  sync_ok (cfg);
  server_moves (f, 1, "INBOX", "Archive", "\\Flagged");
  server_moves (f, 2, "INBOX", "Archive", NULL);
  reader_sets_flags (f, "INBOX", 2, "S");

  gsize mark = log_mark (f);
  TdTestRun r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"folder\":\"Archive\",\"added\":0");
  assert_json (&r, "\"too_old\":0,\"moved\":2");
  g_assert_false (g_regex_match_simple ("\"(added|uploaded)\":[1-9]", r.out, 0, 0));
  td_test_run_clear (&r);
  assert_no_body_crossed (f, mark, "two server moves");

  assert_local_matches (f, "INBOX", "INBOX");
  assert_local_matches (f, "Archive", "Archive");
  g_autoptr (GHashTable) archive = read_local (f, "Archive");
  g_assert_true (has_flag (archive, 1, 'F'));
  g_assert_true (has_flag (archive, 2, 'S'));
  g_autofree char *uid2 = server_uid (f, "Archive", 2);
  g_autofree char *flags2 = server_flags (f, "Archive", uid2);
  g_assert_cmpstr (flags2, ==, "\\Seen");

  r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_false (g_regex_match_simple ("\"(added|uploaded|moved|deleted_remote|removed)\":[1-9]",
                                        r.out, 0, 0));
  td_test_run_clear (&r);
  assert_local_matches (f, "Archive", "Archive");
}

/* trash = true: a message deleted here goes to the server's \\Trash folder, not away; it
 * comes down into the local Trash like any message there; deleted in the Trash itself, it is
 * expunged for good. @name names the folder (trash = NAME), or is NULL for the one the
 * server marks \\Trash. */
static void
trash_test (Fixture *f, const char *name)
{
  const char *folder = name ? name : "Trash";
  g_autofree char *extra = g_strdup_printf ("trash = %s\n", name ? name : "true");
  g_autofree char *cfg = config (f, extra);

  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, folder, NULL);
  seed (f, "INBOX", 3, 300);
  sync_ok (cfg);
  remove_local (f, "INBOX", 1);
  remove_local (f, "INBOX", 2);
  TdTestRun r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"folder\":\"INBOX\",\"added\":0");
  assert_json (&r, "\"deleted_remote\":2");
  assert_json (&r, "\"moved\":0,\"trashed\":2");
  td_test_run_clear (&r);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 1);
  g_assert_cmpuint (server_count (f, folder), ==, 2);
  g_free (server_uid (f, folder, 1));
  g_free (server_uid (f, folder, 2));

  /* They come down into the local Trash, once. */
  sync_ok (cfg);
  g_autoptr (GHashTable) trash = read_local (f, folder);
  g_assert_nonnull (local_name (trash, 1));
  g_assert_cmpuint (g_hash_table_size (trash), ==, 2);

  /* Deleted in the Trash, a message is gone from the server. */
  remove_local (f, folder, 1);
  r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"deleted_remote\":1");
  g_assert_false (g_regex_match_simple ("\"trashed\":[1-9]", r.out, 0, 0));
  td_test_run_clear (&r);
  g_assert_cmpuint (server_count (f, folder), ==, 1);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 1);
  assert_folder_matches (f, "INBOX");
}

static void
test_trash (Fixture *f, gconstpointer data)
{
  trash_test (f, NULL);
}

static void
test_trash_named (Fixture *f, gconstpointer data)
{
  if (data != NULL)
    assert_capabilities_narrowed (f, data);
  trash_test (f, "Deleted");
}

/* trash = true on a server that marks no folder \\Trash, or a name it does not have: the
 * run stops before changing anything and says what to do. */
static void
test_trash_missing (Fixture *f, gconstpointer data)
{
  seed (f, "INBOX", 2, 100);
  g_autofree char *cfg = config (f, "trash = true\n");
  TdTestRun r = td_test_tidings (cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "marks no folder as the Trash"));
  g_assert_nonnull (strstr (r.err, "trash = Deleted Items"));
  td_test_run_clear (&r);
  g_autofree char *cfg_named = config (f, "trash = Papierkorb\n");
  r = td_test_tidings (cfg_named, "sync", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "no folder “Papierkorb”"));
  td_test_run_clear (&r);
  g_autofree char *inbox = g_build_filename (f->maildir, "INBOX", NULL);
  g_assert_false (g_file_test (inbox, G_FILE_TEST_EXISTS));
}

/* Archiving a whole folder, here or on the server, is a move, not a loss: the deletion
 * guard (more than half of a folder of 20 or more) does not stop it, and judges only what
 * is really deleted. */
static void
test_whole_folder (Fixture *f, gconstpointer data)
{
  g_autofree char *cfg = config (f, NULL);
  const guint n = 24;

  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Archive", NULL);
  seed (f, "INBOX", n, 200);
  sync_ok (cfg);
  for (guint id = 1; id <= n; id++)
    reader_moves (f, id, "INBOX", "Archive", id % 2 == 0, "S");
  TdTestRun r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"too_old\":0,\"moved\":24");
  g_assert_false (g_regex_match_simple ("\"(added|uploaded|deleted_remote)\":[1-9]", r.out, 0,
                                        0));
  td_test_run_clear (&r);
  g_assert_cmpuint (server_count (f, "INBOX"), ==, 0);
  g_assert_cmpuint (server_count (f, "Archive"), ==, n);
  assert_folder_matches (f, "Archive");

  /* And back, by another client on the server. */
  for (guint id = 1; id <= n; id++)
    server_moves (f, id, "Archive", "INBOX", NULL);
  r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"too_old\":0,\"moved\":24");
  g_assert_false (g_regex_match_simple ("\"(added|removed)\":[1-9]", r.out, 0, 0));
  td_test_run_clear (&r);
  assert_local_matches (f, "INBOX", "INBOX");
  assert_local_matches (f, "Archive", "Archive");
}

/* The files of @folder here, in new/ and cur/. */
static guint
count_files (Fixture *f, const char *folder)
{
  guint n = 0;
  for (guint k = 0; k < 2; k++)
    {
      g_autofree char *path = g_build_filename (f->maildir, folder, k ? "cur" : "new", NULL);
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      while (dir != NULL && g_dir_read_name (dir) != NULL)
        n++;
    }
  return n;
}

/* A server with OBJECTID (RFC 8474) names a message's content with an EMAILID that moves
 * with it: two look-alike messages without a Message-ID (same size, nothing to tell them
 * by otherwise) moved on the server are renamed here, not downloaded again. Dovecot 2.3
 * has no OBJECTID, so tests/objectid-proxy.py stands in front of it and gives its X-GUIDs
 * as EMAILIDs; without them these two would be downloaded again. */
static void
test_server_moves_email_ids (Fixture *f, gconstpointer data)
{
  g_autofree char *target = g_strdup_printf ("%u", f->dovecot->imap_port);
  g_autofree char *key = g_build_filename (f->dovecot->dir, "key.pem", NULL);
  guint16 port = 0;
  g_autoptr (GSubprocess) proxy = start_helper (&port, "objectid-proxy.py", target,
                                                f->dovecot->cert, key, NULL);
  g_autofree char *cfg = account_config_at (f, "imap", port,
                                            "password = " TD_TEST_PASSWORD "\n");

  td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Archive", NULL);
  for (char c = 'A'; c <= 'B'; c++)
    {
      GString *m = g_string_new (NULL);
      g_string_append_printf (m, "From: a@example.org\r\nSubject: note %c\r\n\r\n", c);
      while (m->len < BIG_BODY)
        g_string_append (m, "a line of a long note without any Message-ID at all\r\n");
      td_test_dovecot_save (f->dovecot, "INBOX", m->str, m->len);
      g_string_free (m, TRUE);
    }
  TdTestRun r = td_test_tidings (cfg, "sync", "--verbose", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (sent_command (r.err, "EMAILID"));
  td_test_run_clear (&r);
  g_assert_cmpuint (count_files (f, "INBOX"), ==, 2);

  td_test_dovecot_doveadm (f->dovecot, "move", "-u", TD_TEST_USER, "Archive", "mailbox",
                           "INBOX", "all", NULL);
  gsize mark = log_mark (f);
  r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_json (&r, "\"too_old\":0,\"moved\":2");
  g_assert_false (g_regex_match_simple ("\"(added|uploaded)\":[1-9]", r.out, 0, 0));
  td_test_run_clear (&r);
  assert_no_body_crossed (f, mark, "two server moves paired by EMAILID");
  g_assert_cmpuint (count_files (f, "INBOX"), ==, 0);
  g_assert_cmpuint (count_files (f, "Archive"), ==, 2);

  r = td_test_tidings (cfg, "sync", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_false (g_regex_match_simple ("\"(added|uploaded|moved|deleted_remote|removed)\":[1-9]",
                                        r.out, 0, 0));
  td_test_run_clear (&r);
  g_assert_cmpuint (count_files (f, "Archive"), ==, 2);
  g_subprocess_force_exit (proxy);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, fn, conf) g_test_add (path, Fixture, conf, td_sync_fixture_setup, fn, td_sync_fixture_teardown)
  ADD ("/integration/imap/moves/local", test_local_moves, NULL);
  ADD ("/integration/imap/moves/local-without-move", test_local_moves,
       "imap_capability = IMAP4rev1 LITERAL+ UIDPLUS ENABLE CONDSTORE QRESYNC ESEARCH "
       "SEARCHRES LIST-STATUS SPECIAL-USE");
  ADD ("/integration/imap/moves/local-plain-imap4rev1", test_local_moves,
       "imap_capability = IMAP4rev1 LITERAL+");
  ADD ("/integration/imap/moves/server", test_server_moves, NULL);
  ADD ("/integration/imap/moves/server-plain-imap4rev1", test_server_moves,
       "imap_capability = IMAP4rev1 LITERAL+");
  ADD ("/integration/imap/moves/server-email-ids", test_server_moves_email_ids, NULL);
  ADD ("/integration/imap/moves/whole-folder", test_whole_folder, NULL);
  ADD ("/integration/imap/moves/trash", test_trash, NULL);
  ADD ("/integration/imap/moves/trash-named", test_trash_named, NULL);
  ADD ("/integration/imap/moves/trash-named-plain-imap4rev1", test_trash_named,
       "imap_capability = IMAP4rev1 LITERAL+");
  ADD ("/integration/imap/moves/trash-missing", test_trash_missing, NULL);
  return g_test_run ();
}
