/* test-oauth2.c: `tidings oauth2 login` and the syncs that follow, against Dovecot's oauth2
 * passdb, with the tokens in a throwaway gnome-keyring-daemon.
 *
 * The OAuth2 provider is scripted (oauth2-server.py): no real one may be reached from a
 * test. Its access tokens are the ones Dovecot accepts, through the server's introspection
 * endpoint. The browser is scripted too (fake-browser.py, as xdg-open on PATH): it follows
 * the sign-in page's redirect back to Tidings as a user clicking "Allow" would. Runs under
 * dbus-run-session, for the keyring.
 */
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "engine/backend/td-oauth2.h"
#include "td-test-keyring.h"
#include "td-test-sync.h"

#define CLIENT_ID "tidings-test-client"
#define CLIENT_SECRET "client-secret-9f8e7d6c5b4a"
#define LONG_LIFETIME 3600
/* Ten seconds more than the margin within which a token is renewed before use. */
#define SHORT_LIFETIME 70
#define SHORT_WAIT_SECONDS 11

typedef struct
{
  Fixture base;
  TdTestKeyring *keyring;
  GSubprocess *server;
  char *dir;            /* the server's state, the fake browser */
  guint16 port;
  GString *outputs;     /* everything tidings printed, for the leak search */
} OAuthFixture;

static guint16
start_server (OAuthFixture *f, guint lifetime)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
    G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr (GError) error = NULL;
  g_autofree char *seconds = g_strdup_printf ("%u", lifetime);

  g_subprocess_launcher_set_child_setup (launcher, td_test_die_with_parent, NULL, NULL);
  f->server = g_subprocess_launcher_spawn (launcher, &error, "python3",
                                           TD_TEST_SRCDIR "/oauth2-server.py", f->dir,
                                           TD_TEST_USER, CLIENT_ID, CLIENT_SECRET, seconds,
                                           NULL);
  g_assert_no_error (error);
  g_autoptr (GDataInputStream) out = g_data_input_stream_new (
    g_subprocess_get_stdout_pipe (f->server));
  g_autofree char *line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  return (guint16) g_ascii_strtoull (line, NULL, 10);
}

/* xdg-open, for Tidings, is the fake browser. */
static void
put_browser_on_path (OAuthFixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *bin = g_build_filename (f->dir, "bin", NULL);
  g_autofree char *opener = g_build_filename (bin, "xdg-open", NULL);
  g_autofree char *script = g_strdup_printf ("#!/bin/sh\nexec python3 %s/fake-browser.py "
                                             "\"$1\"\n", TD_TEST_SRCDIR);
  g_autofree char *path = g_strdup_printf ("%s:%s", bin, g_getenv ("PATH"));

  g_assert_cmpint (g_mkdir (bin, 0700), ==, 0);
  g_assert_true (g_file_set_contents (opener, script, -1, &error));
  g_assert_cmpint (g_chmod (opener, 0700), ==, 0);
  g_setenv ("PATH", path, TRUE);
}

static void
oauth_setup (OAuthFixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("tidings-oauth2-XXXXXX", &error);
  g_assert_no_error (error);
  f->port = start_server (f, GPOINTER_TO_UINT (data));
  g_autofree char *oauth = g_strdup_printf (
    "introspection_mode = post\nintrospection_url = http://127.0.0.1:%u/introspect\n"
    "username_attribute = username\nactive_attribute = active\nactive_value = true\n"
    "force_introspection = yes\n", f->port);
  g_autofree char *oauth_path = g_build_filename (f->dir, "oauth2.conf.ext", NULL);
  g_assert_true (g_file_set_contents (oauth_path, oauth, -1, &error));
  g_autofree char *extra = g_strdup_printf (
    "auth_mechanisms = plain xoauth2 oauthbearer\npassdb {\n  driver = oauth2\n"
    "  mechanisms = xoauth2 oauthbearer\n  args = %s\n}\n", oauth_path);
  td_sync_fixture_setup (&f->base, extra);
  f->keyring = td_test_keyring_start (f->base.home);
  put_browser_on_path (f);
  f->outputs = g_string_new (NULL);
}

static void
oauth_teardown (OAuthFixture *f, gconstpointer data)
{
  g_subprocess_force_exit (f->server);
  g_subprocess_wait (f->server, NULL, NULL);
  g_object_unref (f->server);
  td_test_keyring_stop (f->keyring);
  td_sync_fixture_teardown (&f->base, data);
  td_test_remove_tree (f->dir);
  g_free (f->dir);
  g_string_free (f->outputs, TRUE);
}

static char *
oauth_config (OAuthFixture *f, const char *auth, const char *extra)
{
  g_autofree char *lines = g_strdup_printf (
    "auth = %3$s\noauth2-provider = custom\noauth2-client-id = " CLIENT_ID "\n"
    "oauth2-client-secret = " CLIENT_SECRET "\noauth2-auth-url = "
    "http://127.0.0.1:%1$u/authorize\noauth2-token-url = http://127.0.0.1:%1$u/token\n"
    "oauth2-device-url = http://127.0.0.1:%1$u/device\noauth2-scope = mail\n%2$s", f->port,
    extra ? extra : "", auth);
  char *cfg = account_config (&f->base, "imap", lines);
  g_chmod (cfg, 0600);
  return cfg;
}

/* Runs tidings, keeps what it printed for the leak search, and checks the outcome. */
static void
run (OAuthFixture *f, TdTestRun r, int status, const char *err)
{
  g_string_append_printf (f->outputs, "%s\n%s\n", r.out, r.err);
  expect (r, status, NULL, err);
}

static guint
grants (OAuthFixture *f, const char *kind)
{
  g_autofree char *path = g_build_filename (f->dir, "counts.json", NULL);
  g_autofree char *text = NULL;
  g_autofree char *key = g_strdup_printf ("\"%s\": ", kind);

  if (!g_file_get_contents (path, &text, NULL, NULL) || strstr (text, key) == NULL)
    return 0;
  return (guint) g_ascii_strtoull (strstr (text, key) + strlen (key), NULL, 10);
}

static void
control (OAuthFixture *f, const char *what)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/control/%s", f->port, what);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) p = g_subprocess_new (
    G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, "python3", "-c",
    "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], data=b'', timeout=10)",
    url, NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (p, NULL, &error));
}

/* Nothing secret in what tidings and its daemon printed (with debug messages where the
 * test asked for them) or in its state directory. */
static void
assert_no_leak (OAuthFixture *f)
{
  g_autofree char *issued_path = g_build_filename (f->dir, "issued", NULL);
  g_autofree char *issued = NULL;
  g_autoptr (GString) written = g_string_new (f->outputs->str);

  g_assert_true (g_file_get_contents (issued_path, &issued, NULL, NULL));
  g_autoptr (GDir) state = g_dir_open (f->base.state, 0, NULL);
  const char *name;
  while (state != NULL && (name = g_dir_read_name (state)) != NULL)
    {
      g_autofree char *path = g_build_filename (f->base.state, name, NULL);
      g_autofree char *text = NULL;
      gsize len = 0;
      if (g_file_get_contents (path, &text, &len, NULL))
        g_string_append_len (written, text, (gssize) len);
    }
  g_auto (GStrv) tokens = g_strsplit (issued, "\n", -1);
  guint searched = 0;
  for (guint i = 0; tokens[i] != NULL; i++)
    if (*tokens[i] != '\0')
      {
        searched++;
        g_assert_null (g_strstr_len (written->str, (gssize) written->len, tokens[i]));
      }
  g_assert_cmpuint (searched, >=, 2);
  g_assert_null (g_strstr_len (written->str, (gssize) written->len, CLIENT_SECRET));
}

/* Sign in through the browser; the sync logs in with the kept access token, as it is. */
static void
test_login_code (OAuthFixture *f, gconstpointer data)
{
  g_autofree char *cfg = oauth_config (f, "xoauth2", NULL);

  seed (&f->base, "INBOX", 3, 200);
  run (f, td_test_tidings (cfg, "sync", NULL), 3, "sign in once with `tidings oauth2 login t`");
  run (f, td_test_tidings (cfg, "oauth2", "login", "t", NULL), 0, NULL);
  g_assert_cmpuint (grants (f, "code"), ==, 1);
  run (f, td_test_tidings_debug_all (cfg, "sync", NULL), 0, NULL);
  assert_folder_matches (&f->base, "INBOX");
  g_assert_cmpuint (grants (f, "refresh"), ==, 0);
  assert_no_leak (f);
}

/* Sign in with a code typed in elsewhere: the first polls wait, then the token comes; the
 * sync logs in with OAUTHBEARER (RFC 7628), the one mechanism the account names. */
static void
test_login_device (OAuthFixture *f, gconstpointer data)
{
  g_autofree char *cfg = oauth_config (f, "oauthbearer", NULL);
  TdTestRun r;

  seed (&f->base, "INBOX", 2, 200);
  r = td_test_tidings (cfg, "oauth2", "login", "t", "--device", NULL);
  g_assert_nonnull (strstr (r.out, "enter the code\n\n  TDNG-2024"));
  run (f, r, 0, NULL);
  g_assert_cmpuint (grants (f, "device"), ==, 1);
  run (f, td_test_tidings (cfg, "sync", NULL), 0, NULL);
  assert_folder_matches (&f->base, "INBOX");
  assert_no_leak (f);
}

/* Tokens that live 70 s: renewed before they expire, renewed after the server refused
 * one, and a revoked sign-in ends in exit 3 with what to do; the daemon shows needs-user
 * and syncs once the user signed in again. */
static void
test_renewals (OAuthFixture *f, gconstpointer data)
{
  g_autofree char *cfg = oauth_config (f, "xoauth2", "watch =\n");
  g_autoptr (GError) error = NULL;

  seed (&f->base, "INBOX", 1, 200);
  run (f, td_test_tidings (cfg, "oauth2", "login", "t", "--no-browser", "--device", NULL), 0,
       NULL);
  run (f, td_test_tidings (cfg, "sync", NULL), 0, NULL);
  g_assert_cmpuint (grants (f, "refresh"), ==, 0);
  g_usleep (SHORT_WAIT_SECONDS * G_USEC_PER_SEC);
  seed (&f->base, "INBOX", 1, 200);
  run (f, td_test_tidings (cfg, "sync", NULL), 0, NULL);
  g_assert_cmpuint (grants (f, "refresh"), ==, 1);

  control (f, "revoke-access");
  seed (&f->base, "INBOX", 1, 200);
  run (f, td_test_tidings (cfg, "sync", NULL), 0, NULL);
  g_assert_cmpuint (grants (f, "refresh"), ==, 2);
  assert_folder_matches (&f->base, "INBOX");

  control (f, "revoke-all");
  run (f, td_test_tidings (cfg, "sync", NULL), 3,
       "no longer accepts the sign-in (revoked or expired); sign in again with `tidings "
       "oauth2 login t`");

  g_autofree char *log = g_build_filename (f->dir, "daemon.log", NULL);
  g_setenv ("G_MESSAGES_DEBUG", "all", TRUE); /* for the leak search */
  g_autoptr (GSubprocess) daemon = td_test_start_daemon (cfg, log);
  g_unsetenv ("G_MESSAGES_DEBUG");
  g_autofree char *state = NULL;
  td_test_wait_for_state (f->keyring->bus, "t", "needs-user", &state);
  g_assert_cmpstr (state, ==, "needs-user");
  seed (&f->base, "INBOX", 1, 200);
  run (f, td_test_tidings (cfg, "oauth2", "login", "t", NULL), 0, NULL);
  g_clear_pointer (&state, g_free);
  td_test_wait_for_state (f->keyring->bus, "t", "idle", &state);
  g_assert_cmpstr (state, ==, "idle");
  assert_folder_matches (&f->base, "INBOX");
  g_subprocess_send_signal (daemon, SIGTERM);
  g_assert_true (g_subprocess_wait_check (daemon, NULL, &error));
  g_autofree char *said = NULL;
  g_assert_true (g_file_get_contents (log, &said, NULL, NULL));
  g_assert_nonnull (strstr (said, "asking for a fresh one")); /* debug messages were on */
  g_string_append (f->outputs, said);
  assert_no_leak (f);
}

typedef struct
{
  guint answers;
  char *tokens[3];
} Renewals;

static void
got_token (GObject *source, GAsyncResult *result, gpointer data)
{
  Renewals *r = data;
  g_autoptr (GError) error = NULL;

  r->tokens[r->answers] = td_oauth2_token_finish (result, &error);
  g_assert_no_error (error);
  r->answers++;
}

/* Several connections that find the token refused at once (the sync's, a watcher per
 * folder) ask the provider once and share the answer: a provider that rotates refresh
 * tokens, as this one does, takes a second use of the old one for theft. */
static void
test_one_renewal (OAuthFixture *f, gconstpointer data)
{
  g_autofree char *cfg = oauth_config (f, "xoauth2", NULL);
  g_autoptr (GError) error = NULL;
  Renewals r = { 0 };

  run (f, td_test_tidings (cfg, "oauth2", "login", "t", NULL), 0, NULL);
  g_autoptr (TdConfig) config = td_config_load (cfg, &error);
  g_assert_no_error (error);
  TdAccountConfig *account = td_config_find_account (config, "t");
  /* The isolated data dirs hold no GSettings schemas: this process takes GIO's plain proxy
   * resolver then, as tidings does (and its runs here show it does). */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (r.tokens); i++)
    td_oauth2_token_async (account, TRUE, NULL, got_token, &r);
  for (guint i = 0; i < 3000 && r.answers < G_N_ELEMENTS (r.tokens); i++)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (r.answers, ==, G_N_ELEMENTS (r.tokens));
  g_assert_cmpuint (grants (f, "refresh"), ==, 1);
  for (guint i = 0; i < G_N_ELEMENTS (r.tokens); i++)
    {
      g_assert_nonnull (r.tokens[i]);
      g_assert_cmpstr (r.tokens[i], ==, r.tokens[0]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (r.tokens); i++)
    g_free (r.tokens[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add ("/integration/oauth2/login-code", OAuthFixture,
              GUINT_TO_POINTER (LONG_LIFETIME), oauth_setup, test_login_code, oauth_teardown);
  g_test_add ("/integration/oauth2/login-device", OAuthFixture,
              GUINT_TO_POINTER (LONG_LIFETIME), oauth_setup, test_login_device, oauth_teardown);
  g_test_add ("/integration/oauth2/renewals", OAuthFixture,
              GUINT_TO_POINTER (SHORT_LIFETIME), oauth_setup, test_renewals, oauth_teardown);
  g_test_add ("/integration/oauth2/one-renewal", OAuthFixture,
              GUINT_TO_POINTER (SHORT_LIFETIME), oauth_setup, test_one_renewal,
              oauth_teardown);
  return g_test_run ();
}
