/* test-auth.c: logging in to Dovecot with every mechanism, over IMAP and POP3; OAuth2 tokens
 * checked by Dovecot's oauth2 passdb against a local token service; password-command; and a
 * search of everything Tidings writes for the password.
 *
 * The token service (oauth2-token-service.py) is scripted: it stands in for an OAuth2
 * provider, which a test cannot reach. Everything else is the real Dovecot.
 */
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "td-test-sync.h"

/* As long as the access tokens some providers issue (JWTs of a kilobyte and more), so the
 * first SASL message is far over POP3's 255-octet AUTH line and follows a "+" instead. */
static const char *
good_token (void)
{
  static char *token;
  if (token == NULL)
    {
      g_autofree char *pad = g_strnfill (1200, 'x');
      token = g_strconcat ("good-token-", pad, NULL);
    }
  return token;
}

typedef struct
{
  Fixture base;
  char *dir;          /* the token service's files and the helper scripts */
  GSubprocess *service;
} AuthFixture;

static char *
path_in (AuthFixture *f, const char *name)
{
  return g_build_filename (f->dir, name, NULL);
}

static void
write_file (AuthFixture *f, const char *name, const char *text)
{
  g_autofree char *path = path_in (f, name);
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents (path, text, -1, &error));
}

static guint16
start_token_service (AuthFixture *f)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
    G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autoptr (GError) error = NULL;
  g_autofree char *tokens = path_in (f, "valid-tokens");

  g_autofree char *valid = g_strdup_printf ("%s\n", good_token ());
  write_file (f, "valid-tokens", valid);
  g_subprocess_launcher_set_child_setup (launcher, td_test_die_with_parent, NULL, NULL);
  f->service = g_subprocess_launcher_spawn (launcher, &error, "python3",
                                            TD_TEST_SRCDIR "/oauth2-token-service.py", tokens,
                                            TD_TEST_USER, NULL);
  g_assert_no_error (error);
  g_autoptr (GDataInputStream) out = g_data_input_stream_new (
    g_subprocess_get_stdout_pipe (f->service));
  g_autofree char *line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  return (guint16) g_ascii_strtoull (line, NULL, 10);
}

static void
auth_setup (AuthFixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("tidings-auth-XXXXXX", &error);
  g_assert_no_error (error);
  guint16 port = start_token_service (f);
  g_autofree char *oauth = g_strdup_printf ("introspection_mode = post\n"
                                            "introspection_url = http://127.0.0.1:%u/introspect\n"
                                            "username_attribute = username\n"
                                            "active_attribute = active\nactive_value = true\n"
                                            "force_introspection = yes\n", port);
  write_file (f, "oauth2.conf.ext", oauth);
  g_autofree char *extra = g_strdup_printf (
    "auth_mechanisms = plain login scram-sha-256 scram-sha-1 cram-md5 xoauth2 oauthbearer\n"
    "passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
    "  args = %s/oauth2.conf.ext\n}\n", f->dir);
  /* The token command prints the next line of "token-queue" at each run (the last one
   * again when none is left) and counts its runs in "token-runs". */
  g_autofree char *script = g_strdup_printf (
    "n=$(( $(cat %1$s/token-runs 2>/dev/null || echo 0) + 1 ))\n"
    "echo $n > %1$s/token-runs\n"
    "line=$(sed -n \"${n}p\" %1$s/token-queue)\n"
    "[ -n \"$line\" ] || line=$(tail -n 1 %1$s/token-queue)\n"
    "printf '%%s\\n' \"$line\"\n", f->dir);
  write_file (f, "token.sh", script);
  td_sync_fixture_setup (&f->base, extra);
}

static void
auth_teardown (AuthFixture *f, gconstpointer data)
{
  g_subprocess_force_exit (f->service);
  g_subprocess_wait (f->service, NULL, NULL);
  g_object_unref (f->service);
  td_sync_fixture_teardown (&f->base, data);
  td_test_remove_tree (f->dir);
  g_free (f->dir);
}

/* An account "t" of @protocol on the test Dovecot with @auth and @secret_lines. */
static char *
auth_config (AuthFixture *f, const char *protocol, const char *auth, const char *secret_lines)
{
  g_autofree char *extra = g_strdup_printf ("auth = %s\n%s", auth, secret_lines);
  return account_config (&f->base, protocol, extra);
}

static char *
token_lines (AuthFixture *f)
{
  return g_strdup_printf ("oauth2-token-command = sh %s/token.sh\n", f->dir);
}

static guint
token_runs (AuthFixture *f)
{
  g_autofree char *path = path_in (f, "token-runs");
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  return (guint) g_ascii_strtoull (text, NULL, 10);
}

typedef struct
{
  const char *protocol;
  const char *auth;
  const char *method; /* as Dovecot logs it */
} Mechanism;

static const Mechanism mechanisms[] = {
  { "imap", "plain", "PLAIN" },
  { "imap", "login", "LOGIN" },
  { "imap", "scram-sha-256", "SCRAM-SHA-256" },
  { "imap", "scram-sha-1", "SCRAM-SHA-1" },
  { "imap", "cram-md5", "CRAM-MD5" },
  { "imap", "xoauth2", "XOAUTH2" },
  { "imap", "oauthbearer", "OAUTHBEARER" },
  { "imap", "auto", "SCRAM-SHA-256" },
  { "pop3", "plain", "PLAIN" },
  { "pop3", "login", "LOGIN" },
  { "pop3", "scram-sha-256", "SCRAM-SHA-256" },
  { "pop3", "scram-sha-1", "SCRAM-SHA-1" },
  { "pop3", "cram-md5", "CRAM-MD5" },
  { "pop3", "xoauth2", "XOAUTH2" },
  { "pop3", "oauthbearer", "OAUTHBEARER" },
  { "pop3", "auto", "SCRAM-SHA-256" },
};

static gboolean
is_token (const Mechanism *m)
{
  return g_str_has_suffix (m->auth, "oauth2") || g_str_equal (m->auth, "oauthbearer");
}

static guint
count_logins (AuthFixture *f, const char *method)
{
  g_autofree char *log = td_test_dovecot_read_log (f->base.dovecot);
  g_autofree char *needle = g_strdup_printf ("Login: user=<" TD_TEST_USER ">, method=%s,",
                                             method);
  guint n = 0;
  for (const char *p = log; (p = strstr (p, needle)) != NULL; p++)
    n++;
  return n;
}

/* The right secret logs in with exactly the mechanism asked for; a wrong one gives exit 3. */
static void
test_mechanism (AuthFixture *f, gconstpointer data)
{
  const Mechanism *m = data;
  g_autofree char *secret = is_token (m) ? token_lines (f)
                                         : g_strdup ("password = " TD_TEST_PASSWORD "\n");
  g_autofree char *wrong = is_token (m) ? token_lines (f) : g_strdup ("password = wrong\n");
  g_autofree char *cfg = auth_config (f, m->protocol, m->auth, secret);

  g_autofree char *queue = g_strdup_printf ("%s\n", good_token ());
  write_file (f, "token-queue", queue);
  TdTestRun r = td_test_tidings (cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 0);
  td_test_run_clear (&r);
  g_assert_cmpuint (count_logins (f, m->method), ==, 1);

  g_autofree char *bad_cfg = auth_config (f, m->protocol, m->auth, wrong);
  write_file (f, "token-queue", "bad-token\n");
  r = td_test_tidings (bad_cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 3);
  g_assert_nonnull (strstr (r.err, "refused"));
  g_assert_nonnull (strstr (r.err, m->method));
  td_test_run_clear (&r);
  g_assert_cmpuint (count_logins (f, m->method), ==, 1);
}

/* A token the server refuses is replaced by a fresh one from the command, once. */
static void
test_token_refreshed (AuthFixture *f, gconstpointer data)
{
  g_autofree char *lines = token_lines (f);
  g_autofree char *cfg = auth_config (f, data, "oauthbearer", lines);

  g_autofree char *queue = g_strdup_printf ("expired-token\n%s\n", good_token ());
  write_file (f, "token-queue", queue);
  TdTestRun r = td_test_tidings (cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 0);
  td_test_run_clear (&r);
  g_assert_cmpuint (token_runs (f), ==, 2);

  /* Two refusals in a row: the command is not asked a third time. */
  g_autofree char *runs = path_in (f, "token-runs");
  g_remove (runs);
  g_autofree char *third = g_strdup_printf ("expired-token\nrevoked-token\n%s\n", good_token ());
  write_file (f, "token-queue", third);
  r = td_test_tidings (cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 3);
  g_assert_nonnull (strstr (r.err, "token"));
  td_test_run_clear (&r);
  g_assert_cmpuint (token_runs (f), ==, 2);
}

static void
test_password_command (AuthFixture *f, gconstpointer data)
{
  write_file (f, "pw", TD_TEST_PASSWORD "\nsecond line\n");
  /* The command wins over an inline password. */
  g_autofree char *lines = g_strdup_printf ("password-command = cat %s/pw\npassword = wrong\n",
                                            f->dir);
  g_autofree char *cfg = auth_config (f, "imap", "auto", lines);
  TdTestRun r = td_test_tidings (cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 0);
  td_test_run_clear (&r);

  g_autofree char *failing = auth_config (f, "imap", "auto",
                                          "password-command = sh -c \"exit 4\"\n");
  r = td_test_tidings (failing, "sync", NULL);
  g_assert_cmpint (r.status, ==, 3);
  g_assert_nonnull (strstr (r.err, "password-command (sh) failed with exit status 4"));
  td_test_run_clear (&r);

  g_autofree char *slow = auth_config (f, "pop3", "auto",
                                       "password-command = sleep 30\ncommand-timeout = 1\n");
  gint64 start = g_get_monotonic_time ();
  r = td_test_tidings (slow, "sync", NULL);
  g_assert_cmpint (r.status, ==, 3);
  g_assert_nonnull (strstr (r.err, "password-command (sleep) did not finish within 1 seconds"));
  td_test_run_clear (&r);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 25 * G_USEC_PER_SEC); /* not hung */
  g_assert_cmpuint (count_logins (f, "SCRAM-SHA-256"), ==, 1);
}

/* Every regular file under @dir, appended to @all. */
static void
gather_tree (GString *all, const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *data = NULL;
      gsize len = 0;
      if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        gather_tree (all, path);
      else if (g_file_get_contents (path, &data, &len, NULL))
        g_string_append_len (all, data, (gssize) len);
    }
}

static void
assert_absent (const GString *all, const char *what, const char *needle, gsize len)
{
  if (memmem (all->str, all->len, needle, len) != NULL)
    g_error ("the %s was found in what Tidings wrote", what);
}

/* A random password with quotes and non-ASCII characters goes through failed and successful
 * logins with every way of sending it, at the highest verbosity. Then the output, the logs,
 * the state DB, the Maildir, and the argv and environment of the password command are
 * searched for it in every form it could take: zero hits. */
static void
test_leak (AuthFixture *f, gconstpointer data)
{
  g_autofree char *core = g_strdup_printf ("%08x%08x%08x", g_random_int (), g_random_int (),
                                           g_random_int ());
  g_autofree char *password = g_strdup_printf ("%.12s\"q'ö€ß %s", core, core + 12);
  g_autofree char *script = g_strdup_printf (
    "n=$(ls %1$s | grep -c '^child-')\n"
    "{ printf '%%s\\n' \"$0\" \"$@\"; env; } > %1$s/child-$n\n"
    "cat %1$s/secret\n", f->dir);
  const char *const protocols[] = { "imap", "pop3" };
  const char *const auths[] = { "plain", "login", "auto" };
  g_autoptr (GString) all = g_string_new (NULL);

  write_file (f, "secret", password);
  write_file (f, "leak-pw.sh", script);
  for (gsize p = 0; p < G_N_ELEMENTS (protocols); p++)
    for (gsize a = 0; a < G_N_ELEMENTS (auths); a++)
      {
        g_autofree char *lines = g_strdup_printf ("password-command = sh %s/leak-pw.sh --flag\n",
                                                  f->dir);
        g_autofree char *cfg = auth_config (f, protocols[p], auths[a], lines);
        td_test_dovecot_set_password (f->base.dovecot, "the-server-wants-another");
        TdTestRun r = td_test_tidings_debug_all (cfg, "sync", "--verbose", "--json", NULL);
        g_assert_cmpint (r.status, ==, 3);
        g_string_append (all, r.out);
        g_string_append (all, r.err);
        td_test_run_clear (&r);
        td_test_dovecot_set_password (f->base.dovecot, password);
        r = td_test_tidings_debug_all (cfg, "sync", "--verbose", "--json", NULL);
        g_assert_cmpint (r.status, ==, 0);
        g_string_append (all, r.out);
        g_string_append (all, r.err);
        td_test_run_clear (&r);
      }
  /* The verbose output did record the exchanges, and the command did run each time. */
  g_assert_nonnull (strstr (all->str, "C: AUTH PLAIN (credentials not shown)"));
  g_assert_nonnull (strstr (all->str, "AUTHENTICATE <credentials not shown>"));
  g_autofree char *first_child = path_in (f, "child-0");
  g_assert_true (g_file_test (first_child, G_FILE_TEST_EXISTS));
  g_autofree char *log = td_test_dovecot_read_log (f->base.dovecot);
  g_string_append (all, log);
  gather_tree (all, f->base.state);
  gather_tree (all, f->base.maildir);
  for (guint i = 0; i < 2 * G_N_ELEMENTS (protocols) * G_N_ELEMENTS (auths); i++)
    {
      g_autofree char *name = g_strdup_printf ("child-%u", i);
      g_autofree char *path = path_in (f, name);
      g_autofree char *dump = NULL;
      g_assert_true (g_file_get_contents (path, &dump, NULL, NULL));
      g_assert_nonnull (strstr (dump, "--flag")); /* the dump holds the argv */
      g_string_append (all, dump);
    }
  g_autoptr (GString) plain = g_string_new (NULL);
  g_string_append_c (plain, '\0');
  g_string_append (plain, TD_TEST_USER);
  g_string_append_c (plain, '\0');
  g_string_append (plain, password);
  g_autofree char *plain64 = g_base64_encode ((const guchar *) plain->str, plain->len);
  g_autofree char *pass64 = g_base64_encode ((const guchar *) password, strlen (password));
  g_autofree char *escaped = g_strescape (password, "öß€");
  assert_absent (all, "password", password, strlen (password));
  assert_absent (all, "password, escaped", escaped, strlen (escaped));
  assert_absent (all, "password's random part", core, 12);
  assert_absent (all, "password's random part", core + 12, 12);
  assert_absent (all, "password in base64", pass64, strlen (pass64));
  assert_absent (all, "PLAIN message in base64", plain64, strlen (plain64));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (mechanisms); i++)
    {
      g_autofree char *path = g_strdup_printf ("/integration/auth/%s/%s", mechanisms[i].protocol,
                                               mechanisms[i].auth);
      g_test_add (path, AuthFixture, &mechanisms[i], auth_setup, test_mechanism, auth_teardown);
    }
  g_test_add ("/integration/auth/imap/token-refreshed", AuthFixture, "imap", auth_setup,
              test_token_refreshed, auth_teardown);
  g_test_add ("/integration/auth/pop3/token-refreshed", AuthFixture, "pop3", auth_setup,
              test_token_refreshed, auth_teardown);
  g_test_add ("/integration/auth/password-command", AuthFixture, NULL, auth_setup,
              test_password_command, auth_teardown);
  g_test_add ("/integration/auth/leak", AuthFixture, NULL, auth_setup, test_leak,
              auth_teardown);
  return g_test_run ();
}
