/* test-pop3-faults.c: what a hostile or broken POP3 server does, from a scripted fake
 * server (these are things Dovecot cannot be made to do: no STLS where it is required,
 * plain text forged after STLS, a connection cut mid-message, silence, no UIDL, a unique
 * id far over the limit). */
#include <string.h>

#include "td-test-dovecot.h"
#include "td-test-fake-server.h"

typedef struct
{
  TdFakeServer *fake;
  char *home;
  char *config;
  char *maildir;
} Fixture;

static void
write_config (Fixture *f, const char *security, const char *extra)
{
  g_autofree char *body = g_strdup_printf (
    "[general]\nstate-dir = %1$s/state\n[account fake]\nprotocol = pop3\nhost = %2$s\n"
    "port = %3$u\n%4$suser = u\npassword = p\nmaildir = %5$s\ntimeout = 5\n%6$s",
    f->home, extra && strstr (extra, "tls-ca-file") ? "localhost" : "127.0.0.1",
    td_fake_server_get_port (f->fake), security, f->maildir, extra ? extra : "");
  g_free (f->config);
  f->config = td_test_write_config (f->home, body);
}

static void
setup (Fixture *f, gconstpointer mode)
{
  g_autoptr (GError) error = NULL;
  f->fake = td_fake_server_start (TD_FAKE_POP3, GPOINTER_TO_INT (mode), NULL);
  f->home = g_dir_make_tmp ("tidings-pop3-faults-XXXXXX", &error);
  g_assert_no_error (error);
  f->maildir = g_build_filename (f->home, "Mail", NULL);
  write_config (f, "security = none\nallow-insecure-auth = true\n", NULL);
}

static void
teardown (Fixture *f, gconstpointer mode)
{
  td_fake_server_stop (f->fake);
  td_test_remove_tree (f->home);
  g_free (f->home);
  g_free (f->config);
  g_free (f->maildir);
}

static guint
count (Fixture *f, const char *sub)
{
  g_autofree char *dir = g_build_filename (f->maildir, sub, NULL);
  return td_test_count_entries (dir);
}

/* security = starttls and a server that does not offer STLS: refused, nothing sent. */
static void
test_stripped_stls (Fixture *f, gconstpointer mode)
{
  write_config (f, "security = starttls\n", NULL);
  TdTestRun r = td_test_tidings (f->config, "sync", NULL);
  g_assert_cmpint (r.status, ==, 4);
  g_assert_nonnull (strstr (r.err, "does not offer STLS"));
  td_test_run_clear (&r);
  g_assert_false (td_fake_server_saw_credentials (f->fake));
}

/* Plain text the server sends after its STLS +OK is dropped, not taken as the answer to
 * what the client sends over TLS. */
static void
test_stls_injection (Fixture *f, gconstpointer mode)
{
  g_autofree char *cert = NULL, *key = NULL;
  td_test_make_certificate (f->home, &cert, &key);
  td_fake_server_set_certificate (f->fake, cert, key);
  g_autofree char *ca = g_strdup_printf ("tls-ca-file = %s\n", cert);
  write_config (f, "security = starttls\n", ca);

  TdTestRun r = td_test_tidings (f->config, "sync", "--verbose", NULL);
  g_assert_nonnull (strstr (r.err, "dropped 12 bytes received before the TLS handshake"));
  g_assert_cmpint (r.status, ==, 0);
  td_test_run_clear (&r);
  g_assert_cmpuint (count (f, "new"), ==, 1);
  g_assert_true (td_fake_server_saw_credentials (f->fake));
}

/* The connection drops in the middle of a message: a network error, no partial file, and
 * nothing recorded (the next run would download it). */
static void
test_cut_mid_retr (Fixture *f, gconstpointer mode)
{
  TdTestRun r = td_test_tidings (f->config, "sync", NULL);
  g_assert_cmpint (r.status, ==, 5);
  g_assert_nonnull (strstr (r.err, "closed the connection"));
  td_test_run_clear (&r);
  g_assert_cmpuint (count (f, "new"), ==, 0);
  g_assert_cmpuint (count (f, "cur"), ==, 0);
  g_assert_cmpuint (count (f, "tmp"), ==, 0);
}

/* A server that never answers is given up on after `timeout` seconds, with exit 5. */
static void
test_silent (Fixture *f, gconstpointer mode)
{
  td_test_expect_timeout (f->config);
}

/* No UIDL: refused while mail stays on the server; with keep-on-server = false, the
 * message is downloaded and then deleted. */
static void
test_no_uidl (Fixture *f, gconstpointer mode)
{
  TdTestRun r = td_test_tidings (f->config, "sync", NULL);
  g_assert_cmpint (r.status, ==, 7);
  g_assert_nonnull (strstr (r.err, "keep-on-server = false"));
  td_test_run_clear (&r);
  g_assert_cmpuint (count (f, "new"), ==, 0);

  write_config (f, "security = none\nallow-insecure-auth = true\n", "keep-on-server = false\n");
  r = td_test_tidings (f->config, "sync", NULL);
  g_assert_cmpint (r.status, ==, 0);
  td_test_run_clear (&r);
  g_assert_cmpuint (count (f, "new"), ==, 1);
  g_assert_cmpuint (td_fake_server_count_deletions (f->fake), ==, 1);
}

/* A unique id of 5000 characters: a protocol error; nothing is downloaded. */
static void
test_long_uidl (Fixture *f, gconstpointer mode)
{
  TdTestRun r = td_test_tidings (f->config, "sync", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "UIDL or LIST answer"));
  td_test_run_clear (&r);
  g_assert_cmpuint (count (f, "new"), ==, 0);
}

/* A password holding CR could end the command line early: refused before connecting. */
static void
test_line_break_in_password (Fixture *f, gconstpointer mode)
{
  write_config (f, "security = none\nallow-insecure-auth = true\n",
                "password-command = printf 'ab\\rcd\\n'\n");
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (f->config, &text, NULL, NULL));
  /* The generated file has both password keys; drop the inline one. */
  g_autoptr (GString) cfg = g_string_new (text);
  g_string_replace (cfg, "password = p\n", "", 1);
  g_assert_true (g_file_set_contents (f->config, cfg->str, -1, NULL));

  TdTestRun r = td_test_tidings (f->config, "sync", NULL);
  g_assert_cmpint (r.status, ==, 3);
  g_assert_nonnull (strstr (r.err, "line break"));
  td_test_run_clear (&r);
  g_assert_false (td_fake_server_saw_credentials (f->fake));
}

#define ADD(path, mode, fn) \
  g_test_add (path, Fixture, GINT_TO_POINTER (mode), setup, fn, teardown)

/* Nothing listens on the port: exit 5 at once. (Tidings used to wait for ever here: its
 * LOGOUT or QUIT on the way out queued on a connection that never came.) */
static void
test_refused (Fixture *f, gconstpointer mode)
{
  td_test_expect_refused (f->home, "pop3");
}

/* A SCRAM server whose signature is wrong, or missing, is refused (exit 4). */
static void
test_scram_unproven (Fixture *f, gconstpointer mode)
{
  td_test_expect_scram_refused (f->config, GPOINTER_TO_INT (mode) == TD_FAKE_SCRAM_EARLY_OK);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  ADD ("/faults/pop3/stripped-stls", TD_FAKE_NO_STARTTLS, test_stripped_stls);
  ADD ("/faults/pop3/stls-injection", TD_FAKE_STARTTLS_INJECT, test_stls_injection);
  ADD ("/faults/pop3/cut-mid-retr", TD_FAKE_CUT_MID_FETCH, test_cut_mid_retr);
  ADD ("/faults/pop3/silent", TD_FAKE_SILENT, test_silent);
  ADD ("/faults/pop3/no-uidl", TD_FAKE_NO_UIDL, test_no_uidl);
  ADD ("/faults/pop3/long-uidl", TD_FAKE_LONG_UIDL, test_long_uidl);
  ADD ("/faults/pop3/scram-forged-signature", TD_FAKE_SCRAM_FORGED, test_scram_unproven);
  ADD ("/faults/pop3/scram-early-success", TD_FAKE_SCRAM_EARLY_OK, test_scram_unproven);
  ADD ("/faults/pop3/line-break-in-password", TD_FAKE_PLAIN, test_line_break_in_password);
  g_test_add ("/faults/pop3/refused", Fixture, GINT_TO_POINTER (TD_FAKE_PLAIN), setup, test_refused, teardown);
  return g_test_run ();
}
