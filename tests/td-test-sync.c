/* td-test-sync.c: what the integration tests of tidings sync share: a Dovecot with an
 * account "t", configs for it, seeded messages, and reading the Maildir back as a user
 * would (files by Message-ID, duplicates failing the test). */
#include "td-test-sync.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>
#include <utime.h>

void
td_sync_fixture_setup (Fixture *f, gconstpointer extra_conf)
{
  g_autoptr (GError) error = NULL;
  f->dovecot = td_test_dovecot_start (extra_conf);
  f->home = g_dir_make_tmp ("tidings-home-XXXXXX", &error);
  g_assert_no_error (error);
  f->maildir = g_build_filename (f->home, "Mail", NULL);
  f->state = g_build_filename (f->home, "state", NULL);
  f->expected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

void
td_sync_fixture_teardown (Fixture *f, gconstpointer data)
{
  td_test_dovecot_stop (f->dovecot);
  td_test_remove_tree (f->home);
  g_free (f->home);
  g_free (f->maildir);
  g_free (f->state);
  g_hash_table_unref (f->expected);
}

/**
 * account_config:
 * @f: the fixture
 * @protocol: "imap" or "pop3"
 * @extra: (nullable): more keys for the account, such as how it gets its password
 *
 * Writes a config for the account "t" of @protocol on the test Dovecot over implicit TLS,
 * trusting its certificate, with no password unless @extra gives one.
 */
char *
account_config (Fixture *f, const char *protocol, const char *extra)
{
  guint16 port = g_str_equal (protocol, "imap") ? f->dovecot->imaps_port
                                                : f->dovecot->pop3s_port;
  return account_config_at (f, protocol, port, extra);
}

/* The same, reaching the server on @port (a proxy in front of it). */
char *
account_config_at (Fixture *f, const char *protocol, guint16 port, const char *extra)
{
  g_autofree char *base = g_strdup_printf (
    "[general]\nstate-dir = %s\n\n[account t]\nprotocol = %s\nhost = localhost\nport = %u\n"
    "user = " TD_TEST_USER "\ntls-ca-file = %s\nmaildir = %s\ntimeout = 20\n",
    f->state, protocol, port, f->dovecot->cert, f->maildir);
  g_autofree char *body = td_test_config_with (base, extra);
  return td_test_write_config (f->home, body);
}

/* Writes a config for the account "t" that trusts nothing but the system's CAs; @extra
 * lines override or add keys. */
char *
config_without_ca (Fixture *f, const char *extra)
{
  g_autofree char *base = g_strdup_printf (
    "[general]\nstate-dir = %s\n\n[account t]\nprotocol = imap\nhost = localhost\n"
    "port = %u\nuser = " TD_TEST_USER "\npassword = " TD_TEST_PASSWORD "\n"
    "maildir = %s\ntimeout = 20\n",
    f->state, f->dovecot->imaps_port, f->maildir);
  g_autofree char *body = td_test_config_with (base, extra);
  return td_test_write_config (f->home, body);
}

/* The same, trusting the test server's certificate. */
char *
config (Fixture *f, const char *extra)
{
  g_autofree char *ca = g_strdup_printf ("tls-ca-file = %s\n%s", f->dovecot->cert,
                                         extra ? extra : "");
  return config_without_ca (f, ca);
}

/* A message with 8-bit headers and, when @body_size is large, an attachment. */
char *
make_message (guint id, gsize body_size, gsize *len)
{
  GString *m = g_string_new (NULL);
  g_string_append_printf (m, "From: Zoë <zoe@example.org>\r\nTo: alice@example.org\r\n"
                          "Subject: Grüße Nummer %u\r\nMessage-ID: <msg%u@tidings.test>\r\n"
                          "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
                          id, id);
  g_string_append_printf (m, "Hello %u,\r\n\r\nA line with trailing space \r\n", id);
  for (gsize i = 0; m->len < body_size; i++)
    g_string_append_printf (m, "%06" G_GSIZE_FORMAT " abcdefghijklmnopqrstuvwxyz ÄÖÜ 0123456789\r\n", i);
  g_string_append (m, ".\r\n..dots\r\nend\r\n");
  *len = m->len;
  return g_string_free (m, FALSE);
}

void
seed (Fixture *f, const char *folder, guint count, gsize body_size)
{
  for (guint i = 0; i < count; i++)
    {
      gsize len, lf_len;
      guint id = ++f->next_id;
      g_autofree char *m = make_message (id, body_size, &len);
      td_test_dovecot_save (f->dovecot, folder, m, len);
      char *lf = td_test_crlf_to_lf (m, len, &lf_len);
      g_hash_table_insert (f->expected, g_strdup_printf ("%s\n<msg%u@tidings.test>", folder, id), lf);
    }
}

/* Runs `tidings sync` and requires it to succeed. */
/* Checks that a run of tidings exited with @status and that its standard output and error
 * hold @out and @err (each %NULL for any); says what it did get when it did not. Clears
 * @run. */
void
expect (TdTestRun run, int status, const char *out, const char *err)
{
  if (run.status != status || (out != NULL && strstr (run.out, out) == NULL)
      || (err != NULL && strstr (run.err, err) == NULL))
    g_test_message ("exit %d, stdout: %s\nstderr: %s", run.status, run.out, run.err);
  g_assert_cmpint (run.status, ==, status);
  if (out != NULL)
    g_assert_nonnull (strstr (run.out, out));
  if (err != NULL)
    g_assert_nonnull (strstr (run.err, err));
  td_test_run_clear (&run);
}

void
sync_ok (const char *cfg)
{
  TdTestRun r = td_test_tidings (cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 0);
  td_test_run_clear (&r);
}

char *
message_id_of (const char *data)
{
  const char *h = strstr (data, "\nMessage-ID: ");
  if (h == NULL)
    return NULL;
  h += strlen ("\nMessage-ID: ");
  return g_strndup (h, strcspn (h, "\n"));
}

/* Every file in the local directory @folder's cur/ and new/, by Message-ID; a duplicate
 * fails the test. */
GHashTable *
read_local (Fixture *f, const char *folder)
{
  GHashTable *files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  const char *subs[] = { "cur", "new" };

  for (guint s = 0; s < 2; s++)
    {
      g_autofree char *dir = g_build_filename (f->maildir, folder, subs[s], NULL);
      g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
      const char *name;
      while (d != NULL && (name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *path = g_build_filename (dir, name, NULL);
          char *data = NULL;
          g_assert_true (g_file_get_contents (path, &data, NULL, NULL));
          char *id = message_id_of (data);
          g_assert_nonnull (id);
          if (g_hash_table_contains (files, id))
            g_error ("message %s is stored twice in %s", id, folder);
          g_hash_table_insert (files, id, g_strconcat (name, "\n", data, NULL));
          g_free (data);
        }
    }
  return files;
}

guint
count_tmp (Fixture *f, const char *folder)
{
  g_autofree char *dir = g_build_filename (f->maildir, folder, "tmp", NULL);
  return td_test_count_entries (dir);
}

/* The local directory @local_dir holds exactly the messages expected in the server's
 * @folder, byte for byte. */
void
assert_local_matches (Fixture *f, const char *folder, const char *local_dir)
{
  g_autoptr (GHashTable) local = read_local (f, local_dir);
  GHashTableIter it;
  gpointer key, value;
  guint expected = 0;

  g_hash_table_iter_init (&it, f->expected);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      const char *k = key;
      gsize flen = strlen (folder);
      if (strncmp (k, folder, flen) != 0 || k[flen] != '\n')
        continue;
      expected++;
      const char *stored = g_hash_table_lookup (local, k + flen + 1);
      if (stored == NULL)
        g_error ("%s is missing from %s", k + flen + 1, folder);
      g_assert_cmpstr (strchr (stored, '\n') + 1, ==, value);
    }
  g_assert_cmpuint (g_hash_table_size (local), ==, expected);
  g_assert_cmpuint (count_tmp (f, local_dir), ==, 0);
}

void
assert_folder_matches (Fixture *f, const char *folder)
{
  assert_local_matches (f, folder, folder);
}

const char *
local_name (GHashTable *local, guint id)
{
  g_autofree char *key = g_strdup_printf ("<msg%u@tidings.test>", id);
  const char *v = g_hash_table_lookup (local, key);
  return v;
}

/* The mail reader deletes message @id's file in @folder; it is no longer expected there. */
void
remove_local (Fixture *f, const char *folder, guint id)
{
  g_autoptr (GHashTable) local = read_local (f, folder);
  const char *v = local_name (local, id);
  g_assert_nonnull (v);
  g_autofree char *name = g_strndup (v, strchr (v, '\n') - v);
  g_autofree char *cur = g_build_filename (f->maildir, folder, "cur", name, NULL);
  g_autofree char *new = g_build_filename (f->maildir, folder, "new", name, NULL);
  g_assert_true (g_unlink (cur) == 0 || g_unlink (new) == 0);
  g_autofree char *key = g_strdup_printf ("%s\n<msg%u@tidings.test>", folder, id);
  g_hash_table_remove (f->expected, key);
}

gboolean
has_flag (GHashTable *local, guint id, char flag)
{
  const char *v = local_name (local, id);
  g_assert_nonnull (v);
  const char *info = strstr (v, ":2,");
  const char *nl = strchr (v, '\n');
  return info != NULL && info < nl && memchr (info + 3, flag, nl - info - 3) != NULL;
}

/* A config for a second machine syncing the same account. */
char *
device_b (Fixture *f, const char *extra)
{
  g_autofree char *home = f->home, *maildir = f->maildir, *state = f->state;

  f->home = g_build_filename (home, "b", NULL);
  f->maildir = g_build_filename (home, "b", "Mail", NULL);
  f->state = g_build_filename (home, "b", "state", NULL);
  g_mkdir_with_parents (f->home, 0700);
  char *cfg = config (f, extra);
  g_free (f->home);
  g_free (f->maildir);
  g_free (f->state);
  f->home = g_steal_pointer (&home);
  f->maildir = g_steal_pointer (&maildir);
  f->state = g_steal_pointer (&state);
  return cfg;
}

/* Points the fixture's Maildir at device B's (on = TRUE) or back at A's. */
void
use_device_b (Fixture *f, gboolean on)
{
  static char *a_home, *a_maildir; /* device A's, while B's are in use */

  if (on)
    {
      a_home = f->home;
      a_maildir = f->maildir;
      f->home = g_build_filename (a_home, "b", NULL);
      f->maildir = g_build_filename (a_home, "b", "Mail", NULL);
      return;
    }
  g_free (f->home);
  g_free (f->maildir);
  f->home = a_home;
  f->maildir = a_maildir;
}

char *
device_b_dir (Fixture *f, const char *folder, const char *sub)
{
  return g_build_filename (f->home, "b", "Mail", folder, sub, NULL);
}

guint
server_count (Fixture *f, const char *folder)
{
  g_autofree char *out = td_test_dovecot_doveadm_output (f->dovecot, "-f", "flow", "mailbox",
                                                          "status", "-u", TD_TEST_USER,
                                                          "messages", folder, NULL);
  const char *m = strstr (out, "messages=");
  g_assert_nonnull (m);
  return (guint) g_ascii_strtoull (m + strlen ("messages="), NULL, 10);
}

/* Writes a message as a mail reader would: LF line ends, into tmp/ and renamed. */
char *
write_local (Fixture *f, const char *folder, const char *sub, const char *name,
             const char *content, gint64 mtime)
{
  g_autofree char *tmp = g_build_filename (f->maildir, folder, "tmp", name, NULL);
  char *path = g_build_filename (f->maildir, folder, sub, name, NULL);
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents (tmp, content, -1, &error));
  if (mtime > 0)
    {
      struct utimbuf t = { mtime, mtime };
      g_assert_cmpint (utime (tmp, &t), ==, 0);
    }
  g_assert_cmpint (g_rename (tmp, path), ==, 0);
  return path;
}

/* A new local message with the given Message-ID (LF line ends), remembered as expected. */
char *
new_local_message (Fixture *f, const char *folder, const char *id)
{
  char *m = g_strdup_printf ("From: Ada <ada@example.org>\nTo: alice@example.org\n"
                             "Subject: Entwurf über %s\nMessage-ID: <%s@tidings.test>\n"
                             "Date: Tue, 2 Jan 2024 10:00:00 +0000\n\nWritten locally.\n"
                             "A CRLF line stays as it is\r\n.\n", id, id);
  g_hash_table_insert (f->expected, g_strdup_printf ("%s\n<%s@tidings.test>", folder, id),
                       g_strdup (m));
  return m;
}

TdTestRun
sync_json (const char *cfg, const char *extra)
{
  return td_test_tidings (cfg, "sync", "--json", extra, NULL);
}

void
assert_json (const TdTestRun *r, const char *fragment)
{
  if (strstr (r->out, fragment) == NULL)
    g_error ("expected %s in: %s\nstderr: %s", fragment, r->out, r->err);
}

/**
 * sync_says:
 * Runs `tidings sync` with @option (nullable, such as "--json"), requires it to succeed and
 * its output to hold each of the NULL-terminated fragments.
 */
void
sync_says (const char *cfg, const char *option, ...)
{
  TdTestRun r = td_test_tidings (cfg, "sync", option, NULL);
  va_list args;

  if (r.status != 0)
    g_error ("tidings sync %s exited with %d: %s%s", option ? option : "", r.status, r.out, r.err);
  va_start (args, option);
  for (const char *s = va_arg (args, const char *); s != NULL; s = va_arg (args, const char *))
    assert_json (&r, s);
  va_end (args);
  td_test_run_clear (&r);
}

/* What another machine sees: a CRLF a local file held comes down as LF like every line. */
void
expect_lf (Fixture *f)
{
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, f->expected);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      gsize len;
      char *lf = td_test_crlf_to_lf (value, strlen (value), &len);
      g_hash_table_iter_replace (&it, lf);
    }
}

/* Renames message @id's file as a mail reader would, to carry exactly @letters. */
void
reader_sets_flags (Fixture *f, const char *folder, guint id, const char *letters)
{
  g_autoptr (GHashTable) local = read_local (f, folder);
  const char *v = local_name (local, id);
  g_autofree char *name = g_strndup (v, strchr (v, '\n') - v);
  g_autofree char *base = g_strndup (name, strcspn (name, ":"));
  g_autofree char *cur = g_build_filename (f->maildir, folder, "cur", name, NULL);
  g_autofree char *new = g_build_filename (f->maildir, folder, "new", name, NULL);
  g_autofree char *target_name = g_strdup_printf ("%s:2,%s", base, letters);
  g_autofree char *target = g_build_filename (f->maildir, folder, "cur", target_name, NULL);
  g_assert_cmpint (g_rename (g_file_test (cur, G_FILE_TEST_EXISTS) ? cur : new, target), ==, 0);
}

/* The server's flags of message @uid in @folder, as doveadm reports them. */
char *
server_flags (Fixture *f, const char *folder, const char *uid)
{
  g_autofree char *out = td_test_dovecot_doveadm_output (f->dovecot, "fetch", "-u", TD_TEST_USER,
                                                         "flags", "mailbox", folder, "uid", uid,
                                                         NULL);
  char *flags = strstr (out, "flags:");
  g_assert_nonnull (flags);
  /* \Recent is a session flag, not one Tidings stores or sends. */
  g_autoptr (GString) kept = g_string_new (NULL);
  g_auto (GStrv) words = g_strsplit (g_strstrip (flags + strlen ("flags:")), " ", -1);
  for (guint i = 0; words[i] != NULL; i++)
    if (*words[i] != '\0' && g_strcmp0 (words[i], "\\Recent") != 0)
      g_string_append_printf (kept, "%s%s", kept->len ? " " : "", words[i]);
  return g_string_free (g_steal_pointer (&kept), FALSE);
}

/* With a fixture narrowed by "imap_capability = ...", checks the server really announces
 * just that, or a test meant for a plain server would prove nothing. */
void
assert_capabilities_narrowed (Fixture *f, gconstpointer extra_conf)
{
  const char *prefix = "imap_capability = ";

  if (extra_conf == NULL || !g_str_has_prefix (extra_conf, prefix))
    return;
  g_autofree char *caps = td_test_dovecot_doveadm_output (f->dovecot, "config", "-h",
                                                           "imap_capability", NULL);
  g_assert_cmpstr (g_strstrip (caps), ==, (const char *) extra_conf + strlen (prefix));
}

/**
 * seed_folder_files:
 * Puts @count messages of about @size bytes into the server's @folder at once, as files in
 * its Maildir (one doveadm call per message would take most of a minute for 1,200). A
 * folder other than INBOX is created first.
 */
/* How many commands a --verbose trace in @err shows Tidings sending that hold @fragment. */
guint
sent_count (const char *err, const char *fragment)
{
  g_auto (GStrv) lines = g_strsplit (err, "\n", -1);
  guint n = 0;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *c = strstr (lines[i], ": C: ");
      if (c != NULL && strstr (c, fragment) != NULL)
        n++;
    }
  return n;
}

/**
 * seed_files_dated:
 * Like seed_folder_files(), with each file's time set to @received (seconds since the epoch):
 * Dovecot's Maildir takes a new file's modification time as its INTERNALDATE. @received
 * -1 leaves the time of writing.
 */
void
seed_files_dated (Fixture *f, const char *folder, guint count, gsize size, gint64 received)
{
  gboolean inbox = g_str_equal (folder, "INBOX");
  g_autofree char *dot = g_strconcat (".", folder, NULL);
  g_autofree char *new_dir = g_build_filename (f->dovecot->dir, "mail", TD_TEST_USER,
                                               inbox ? "new" : dot, inbox ? NULL : "new", NULL);
  struct passwd *owner = getpwnam (f->dovecot->mail_user);
  guint before = 0;

  if (!inbox)
    td_test_dovecot_doveadm (f->dovecot, "mailbox", "create", "-u", TD_TEST_USER, folder, NULL);
  before = server_count (f, folder);
  g_assert_nonnull (owner);
  g_assert_true (g_file_test (new_dir, G_FILE_TEST_IS_DIR));
  for (guint i = 0; i < count; i++)
    {
      gsize len, lf_len;
      guint id = ++f->next_id;
      g_autofree char *m = make_message (id, size, &len);
      g_autofree char *name = g_strdup_printf ("1700000000.M%uP1.test", id);
      g_autofree char *path = g_build_filename (new_dir, name, NULL);
      char *lf = td_test_crlf_to_lf (m, len, &lf_len);
      g_assert_true (g_file_set_contents (path, lf, lf_len, NULL));
      g_assert_cmpint (chown (path, owner->pw_uid, owner->pw_gid), ==, 0);
      struct utimbuf times = { (time_t) received, (time_t) received };
      g_assert_true (received < 0 || utime (path, &times) == 0);
      g_hash_table_insert (f->expected, g_strdup_printf ("%s\n<msg%u@tidings.test>", folder, id),
                           lf);
    }
  g_assert_cmpuint (server_count (f, folder), ==, before + count);
}

/* @count messages written straight into Dovecot's Maildir for @folder, faster than a doveadm
 * save each. */
void
seed_folder_files (Fixture *f, const char *folder, guint count, gsize size)
{
  seed_files_dated (f, folder, count, size, -1);
}

/**
 * seed_inbox_files:
 * seed_folder_files() into INBOX.
 */
void
seed_inbox_files (Fixture *f, guint count, gsize size)
{
  seed_folder_files (f, "INBOX", count, size);
}

/**
 * start_helper:
 * @port: (out): the port the helper listens on
 * @script: a loopback helper of tests/ (see tests/loopback_helper.py)
 * @...: its arguments, then %NULL
 *
 * Starts @script, which prints its port and serves until its standard input closes.
 */
GSubprocess *
start_helper (guint16 *port, const char *script, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  va_list args;

  g_ptr_array_add (argv, g_strdup ("python3"));
  g_ptr_array_add (argv, g_build_filename (TD_TEST_SRCDIR, script, NULL));
  va_start (args, script);
  for (const char *a = va_arg (args, const char *); a != NULL; a = va_arg (args, const char *))
    g_ptr_array_add (argv, g_strdup (a));
  va_end (args);
  g_ptr_array_add (argv, NULL);
  GSubprocess *helper = g_subprocess_newv ((const char *const *) argv->pdata,
                                           G_SUBPROCESS_FLAGS_STDIN_PIPE
                                             | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);
  g_autoptr (GDataInputStream) out = g_data_input_stream_new (
    g_subprocess_get_stdout_pipe (helper));
  g_autofree char *line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  *port = (guint16) g_ascii_strtoull (line, NULL, 10);
  g_assert_cmpuint (*port, >, 0);
  return helper;
}

/**
 * start_throttle:
 * Starts tests/throttle-proxy.py in front of the server's @target port: at most @rate
 * bytes a second towards the client (0: no limit), and with @cut > 0 the first connection
 * cut once @cut bytes have gone to the client. Its port is put in @port.
 */
GSubprocess *
start_throttle (Fixture *f, guint16 target, guint rate, guint64 cut, guint16 *port)
{
  g_autofree char *to = g_strdup_printf ("%u", target);
  g_autofree char *bytes = g_strdup_printf ("%u", rate);
  g_autofree char *after = cut > 0 ? g_strdup_printf ("%" G_GUINT64_FORMAT, cut) : NULL;

  return start_helper (port, "throttle-proxy.py", to, bytes, after, NULL);
}

/* Whether a --verbose trace in @err shows Tidings sending a command that holds @fragment
 * (the server's answers, also traced, do not count). */
gboolean
sent_command (const char *err, const char *fragment)
{
  g_auto (GStrv) lines = g_strsplit (err, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *c = strstr (lines[i], ": C: ");
      if (c != NULL && strstr (c, fragment) != NULL)
        return TRUE;
    }
  return FALSE;
}
