/* test-imap-faults.c: what a hostile or broken server does, from a scripted fake server
 * (these are things Dovecot cannot be made to do). */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "td-test-dovecot.h"
#include "td-test-fake-server.h"

typedef struct
{
  TdFakeServer *fake;
  char *home;
  char *config;
  char *escape; /* an absolute name the server tries to make us create */
} Fixture;

static void
setup (Fixture *f, gconstpointer mode)
{
  g_autoptr (GError) error = NULL;
  f->escape = g_strdup_printf ("/tidings-escape-%d", (int) getpid ());
  f->fake = td_fake_server_start (TD_FAKE_IMAP, GPOINTER_TO_INT (mode), f->escape);
  f->home = g_dir_make_tmp ("tidings-faults-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *body = g_strdup_printf (
    "[general]\nstate-dir = %1$s/state\n[account fake]\nprotocol = imap\nhost = 127.0.0.1\n"
    "port = %2$u\nsecurity = none\nallow-insecure-auth = true\nuser = u\npassword = p\n"
    "maildir = %1$s/deep/Mail\ntimeout = 5\n", f->home, td_fake_server_get_port (f->fake));
  f->config = td_test_write_config (f->home, body);
}

static void
teardown (Fixture *f, gconstpointer mode)
{
  td_fake_server_stop (f->fake);
  td_test_remove_tree (f->home);
  g_free (f->home);
  g_free (f->config);
  g_free (f->escape);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

static char *
list_dir (const char *path)
{
  g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  const char *n;
  while (d != NULL && (n = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, (char *) n);
  g_ptr_array_sort (names, compare_strings);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

/* Every name that tries to leave the Maildir is refused, the good folder still syncs, and
 * nothing appears outside the mail root. */
static void
test_hostile_names (Fixture *f, gconstpointer mode)
{
  TdTestRun r = td_test_tidings (f->config, "sync", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "cannot be stored safely"));
  td_test_run_clear (&r);

  g_autofree char *home = list_dir (f->home);
  g_autofree char *deep = g_build_filename (f->home, "deep", NULL);
  g_autofree char *deep_list = list_dir (deep);
  g_autofree char *mail = g_build_filename (deep, "Mail", NULL);
  g_autofree char *mail_list = list_dir (mail);
  g_assert_cmpstr (home, ==, "deep state tidings.conf");
  g_assert_cmpstr (deep_list, ==, "Mail");
  g_assert_cmpstr (mail_list, ==, "Good");
  g_assert_false (g_file_test (f->escape, G_FILE_TEST_EXISTS));
  g_autofree char *good_new = g_build_filename (mail, "Good", "new", NULL);
  g_assert_cmpuint (td_test_count_entries (good_new), ==, 1);
}

/* The connection drops in the middle of a body: a network error, and no partial message. */
static void
test_cut_mid_fetch (Fixture *f, gconstpointer mode)
{
  TdTestRun r = td_test_tidings (f->config, "sync", "--folder", "Good", NULL);
  g_assert_cmpint (r.status, ==, 5);
  g_assert_nonnull (strstr (r.err, "closed the connection"));
  td_test_run_clear (&r);
  const char *subs[] = { "cur", "new", "tmp" };
  for (guint i = 0; i < G_N_ELEMENTS (subs); i++)
    {
      g_autofree char *dir = g_build_filename (f->home, "deep", "Mail", "Good", subs[i], NULL);
      g_assert_cmpuint (td_test_count_entries (dir), ==, 0);
    }
}

/* A server that never answers is given up on after `timeout` seconds, with exit 5. */
static void
test_silent_server (Fixture *f, gconstpointer mode)
{
  td_test_expect_timeout (f->config);
}

static void
require_starttls (Fixture *f)
{
  g_autofree char *text = NULL;
  g_file_get_contents (f->config, &text, NULL, NULL);
  g_autoptr (GString) cfg = g_string_new (text);
  g_string_replace (cfg, "security = none\nallow-insecure-auth = true\n", "security = starttls\n", 1);
  g_assert_true (g_file_set_contents (f->config, cfg->str, -1, NULL));
}

/* security = starttls and a server that does not offer it: refused, nothing sent. */
static void
test_stripped_starttls (Fixture *f, gconstpointer mode)
{
  require_starttls (f);
  TdTestRun r = td_test_tidings (f->config, "sync", NULL);
  g_assert_cmpint (r.status, ==, 4);
  g_assert_nonnull (strstr (r.err, "does not offer STARTTLS"));
  td_test_run_clear (&r);
  g_assert_false (td_fake_server_saw_credentials (f->fake));
}

/* security = starttls and a server that logs in without TLS (PREAUTH): refused. */
static void
test_preauth_refused (Fixture *f, gconstpointer mode)
{
  require_starttls (f);
  TdTestRun r = td_test_tidings (f->config, "sync", NULL);
  g_assert_cmpint (r.status, ==, 4);
  g_assert_nonnull (strstr (r.err, "PREAUTH"));
  td_test_run_clear (&r);
  g_autofree char *mail = g_build_filename (f->home, "deep", NULL);
  g_assert_false (g_file_test (mail, G_FILE_TEST_EXISTS));
}

/* Plain text the server sends after its STARTTLS OK is dropped, not read as if it had come
 * through TLS (the forged "t2 OK" would otherwise complete the wrong command). */
static void
test_starttls_injection (Fixture *f, gconstpointer mode)
{
  g_autofree char *cert = NULL, *key = NULL;
  td_test_make_certificate (f->home, &cert, &key);
  td_fake_server_set_certificate (f->fake, cert, key);
  require_starttls (f);
  g_autofree char *text = NULL;
  g_file_get_contents (f->config, &text, NULL, NULL);
  g_autofree char *more = g_strdup_printf ("tls-ca-file = %s\nhost = localhost\n", cert);
  g_autofree char *with_ca = td_test_config_with (text, more);
  g_assert_true (g_file_set_contents (f->config, with_ca, -1, NULL));

  TdTestRun r = td_test_tidings (f->config, "sync", "--verbose", "--folder", "Good", NULL);
  g_assert_nonnull (strstr (r.err, "dropped 38 bytes received before the TLS handshake"));
  g_assert_cmpint (r.status, ==, 0);
  td_test_run_clear (&r);
  g_autofree char *good_new = g_build_filename (f->home, "deep", "Mail", "Good", "new", NULL);
  g_assert_cmpuint (td_test_count_entries (good_new), ==, 1);
  g_assert_true (td_fake_server_saw_credentials (f->fake));
}

/* Nothing listens on the port: exit 5 at once. (Tidings used to wait for ever here: its
 * LOGOUT or QUIT on the way out queued on a connection that never came.) */
static void
test_refused (Fixture *f, gconstpointer mode)
{
  td_test_expect_refused (f->home, "imap");
}

/* A SCRAM server whose signature is wrong, or missing, is refused: it has not shown that it
 * is the server that holds the password. */
static void
test_scram_unproven (Fixture *f, gconstpointer mode)
{
  td_test_expect_scram_refused (f->config, GPOINTER_TO_INT (mode) == TD_FAKE_SCRAM_EARLY_OK);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add ("/faults/imap/hostile-names", Fixture, GINT_TO_POINTER (TD_FAKE_HOSTILE_NAMES),
              setup, test_hostile_names, teardown);
  g_test_add ("/faults/imap/cut-mid-fetch", Fixture, GINT_TO_POINTER (TD_FAKE_CUT_MID_FETCH),
              setup, test_cut_mid_fetch, teardown);
  g_test_add ("/faults/imap/silent-server", Fixture, GINT_TO_POINTER (TD_FAKE_SILENT), setup,
              test_silent_server, teardown);
  g_test_add ("/faults/imap/stripped-starttls", Fixture, GINT_TO_POINTER (TD_FAKE_NO_STARTTLS),
              setup, test_stripped_starttls, teardown);
  g_test_add ("/faults/imap/preauth-refused", Fixture, GINT_TO_POINTER (TD_FAKE_PREAUTH), setup,
              test_preauth_refused, teardown);
  g_test_add ("/faults/imap/starttls-injection", Fixture,
              GINT_TO_POINTER (TD_FAKE_STARTTLS_INJECT), setup, test_starttls_injection, teardown);
  g_test_add ("/faults/imap/scram-forged-signature", Fixture,
              GINT_TO_POINTER (TD_FAKE_SCRAM_FORGED), setup, test_scram_unproven, teardown);
  g_test_add ("/faults/imap/scram-early-success", Fixture,
              GINT_TO_POINTER (TD_FAKE_SCRAM_EARLY_OK), setup, test_scram_unproven, teardown);
  g_test_add ("/faults/imap/refused", Fixture, GINT_TO_POINTER (TD_FAKE_SILENT), setup, test_refused, teardown);
  return g_test_run ();
}
