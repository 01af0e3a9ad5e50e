/* td-test-dovecot.c: the Dovecot test fixture. */
#include "td-test-dovecot.h"

#include <glib/gstdio.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define START_TIMEOUT_S 15
#define START_ATTEMPTS 3

static guint16
free_port (void)
{
  g_autoptr (GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                        G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr (GError) error = NULL;

  g_assert_true (g_socket_bind (s, any, FALSE, &error));
  g_autoptr (GSocketAddress) bound = g_socket_get_local_address (s, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
spawn_checked (char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                NULL, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s failed: %s", argv[0], err);
}

/* A self-signed certificate for localhost and 127.0.0.1, made now, in @dir. */
void
td_test_make_certificate (const char *dir, char **cert, char **key)
{
  *cert = g_build_filename (dir, "cert.pem", NULL);
  *key = g_build_filename (dir, "key.pem", NULL);
  char *argv[] = { "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", *key,
                   "-out", *cert, "-days", "2", "-subj", "/CN=localhost", "-addext",
                   "subjectAltName=DNS:localhost,IP:127.0.0.1", NULL };
  spawn_checked (argv);
}

/**
 * td_test_dovecot_set_password:
 * @d: a Dovecot
 * @password: the test user's new password (no ':' or line break)
 *
 * Dovecot looks at the passwd-file at most once a second, so this returns in the second
 * after the change: the next login sees the new password.
 */
void
td_test_dovecot_set_password (TdTestDovecot *d, const char *password)
{
  g_autofree char *passwd = g_build_filename (d->dir, "passwd", NULL);
  g_autofree char *line = g_strdup_printf ("%s:{PLAIN}%s::::::\n", TD_TEST_USER, password);
  g_autoptr (GError) error = NULL;

  g_assert_null (strpbrk (password, ":\r\n"));
  gint64 second = g_get_real_time () / G_USEC_PER_SEC;
  g_assert_true (g_file_set_contents (passwd, line, -1, &error));
  for (guint i = 0; i < 30 && g_get_real_time () / G_USEC_PER_SEC == second; i++)
    g_usleep (50 * 1000);
}

static void
write_config (TdTestDovecot *d, const char *extra)
{
  gboolean root = geteuid () == 0;
  g_autofree char *me = g_strdup (g_get_user_name ());
  const char *login = root ? "dovenull" : me;
  const char *internal = root ? "dovecot" : me;
  g_autofree char *passwd = g_build_filename (d->dir, "passwd", NULL);
  g_autoptr (GError) error = NULL;

  d->mail_user = g_strdup (root ? "dovecot" : me);
  td_test_dovecot_set_password (d, TD_TEST_PASSWORD);
  g_autofree char *text = g_strdup_printf (
    "base_dir = %1$s/run\n"
    "state_dir = %1$s/state\n"
    "instance_name = tidings-test-%2$u\n"
    "log_path = %3$s\n"
    "protocols = imap pop3\n"
    "listen = 127.0.0.1\n"
    "ssl = yes\n"
    "ssl_cert = <%4$s\n"
    "ssl_key = <%1$s/key.pem\n"
    "auth_mechanisms = plain login scram-sha-256 scram-sha-1 cram-md5\n"
    "default_login_user = %5$s\n"
    "default_internal_user = %6$s\n"
    "default_internal_group = %6$s\n"
    "first_valid_uid = 0\n"
    "mail_location = maildir:%1$s/mail/%%u\n"
    "pop3_uidl_format = %%08Xu%%08Xv\n"
    "namespace inbox {\n  inbox = yes\n  separator = /\n"
    /* What a server says its folders are for (RFC 6154), where they exist. */
    "  mailbox Archive {\n    special_use = \\Archive\n  }\n"
    "  mailbox Trash {\n    special_use = \\Trash\n  }\n"
    "  mailbox Sent {\n    special_use = \\Sent\n  }\n"
    "  mailbox AllMail {\n    special_use = \\All\n  }\n}\n"
    "passdb {\n  driver = passwd-file\n  args = scheme=PLAIN %7$s\n}\n"
    "userdb {\n  driver = static\n  args = uid=%8$s gid=%8$s home=%1$s/mail/%%u\n}\n"
    "service imap-login {\n  chroot =\n  inet_listener imap {\n    port = %9$u\n  }\n"
    "  inet_listener imaps {\n    port = %10$u\n  }\n}\n"
    "service pop3-login {\n  chroot =\n  inet_listener pop3 {\n    port = %11$u\n  }\n"
    "  inet_listener pop3s {\n    port = %12$u\n  }\n}\n"
    "service anvil {\n  chroot =\n}\n"
    "%13$s\n",
    d->dir, (guint) getpid (), d->log, d->cert, login, internal, passwd, d->mail_user,
    d->imap_port, d->imaps_port, d->pop3_port, d->pop3s_port, extra ? extra : "");
  g_assert_true (g_file_set_contents (d->conf, text, -1, &error));
}

/**
 * td_test_die_with_parent:
 * A child's setup: if the test dies, the child (a Dovecot, a bus, a daemon) goes too, rather
 * than holding the test runner's pipes.
 */
void
td_test_die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static gboolean
port_open (guint16 port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_socket_client_set_enable_proxy (client, FALSE);
  g_autoptr (GSocketConnection) conn = g_socket_client_connect_to_host (client, "127.0.0.1", port,
                                                                        NULL, NULL);
  return conn != NULL;
}

/* Starts the master and waits for every listener; FALSE when they did not all come up. */
static gboolean
start_master (TdTestDovecot *d)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);

  g_subprocess_launcher_set_child_setup (launcher, td_test_die_with_parent, NULL, NULL);
  d->master = g_subprocess_launcher_spawn (launcher, &error, "dovecot", "-F", "-c", d->conf, NULL);
  g_assert_no_error (error);
  gint64 deadline = g_get_monotonic_time () + START_TIMEOUT_S * G_USEC_PER_SEC;
  while (!port_open (d->imaps_port) || !port_open (d->imap_port) || !port_open (d->pop3s_port)
         || !port_open (d->pop3_port))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_usleep (50 * 1000);
    }
  return TRUE;
}

/**
 * td_test_dovecot_start:
 * @extra_conf: (nullable): configuration lines appended to the generated file
 *
 * Returns: (transfer full): a running server; the test fails if it does not come up
 */
TdTestDovecot *
td_test_dovecot_start (const char *extra_conf)
{
  TdTestDovecot *d = g_new0 (TdTestDovecot, 1);
  g_autoptr (GError) error = NULL;

  d->dir = g_dir_make_tmp ("tidings-dovecot-XXXXXX", &error);
  g_assert_no_error (error);
  g_chmod (d->dir, 0755);
  d->conf = g_build_filename (d->dir, "dovecot.conf", NULL);
  d->log = g_build_filename (d->dir, "dovecot.log", NULL);
  g_autofree char *mail = g_build_filename (d->dir, "mail", NULL);
  g_mkdir (mail, 0755);
  g_autofree char *key = NULL;
  td_test_make_certificate (d->dir, &d->cert, &key);
  /* A free port can be taken by another test between our probe and Dovecot's bind: then
   * Dovecot exits, and the start is tried again on other ports (a bounded number of times). */
  for (guint attempt = 1;; attempt++)
    {
      d->imap_port = free_port ();
      d->imaps_port = free_port ();
      d->pop3_port = free_port ();
      d->pop3s_port = free_port ();
      write_config (d, extra_conf);
      struct passwd *pw = getpwnam (d->mail_user);
      g_assert_nonnull (pw);
      g_assert_cmpint (chown (mail, pw->pw_uid, pw->pw_gid), ==, 0);
      if (start_master (d))
        break;
      if (attempt == START_ATTEMPTS)
        g_error ("Dovecot did not start within %d s, %u times; see %s", START_TIMEOUT_S,
                 START_ATTEMPTS, d->log);
      g_subprocess_force_exit (d->master);
      g_subprocess_wait (d->master, NULL, NULL);
      g_clear_object (&d->master);
    }
  return d;
}

void
td_test_dovecot_stop (TdTestDovecot *d)
{
  if (d == NULL)
    return;
  if (d->master != NULL)
    {
      g_subprocess_send_signal (d->master, SIGTERM);
      g_subprocess_wait (d->master, NULL, NULL);
      g_object_unref (d->master);
    }
  td_test_remove_tree (d->dir);
  g_free (d->dir);
  g_free (d->conf);
  g_free (d->cert);
  g_free (d->log);
  g_free (d->mail_user);
  g_free (d);
}

/**
 * td_test_dovecot_restart:
 * @d: a running server
 * @down_ms: how long it stays down
 *
 * Stops the server (every connection drops), keeps it down for @down_ms, and starts it again
 * on the same ports with the same mail, as a restart by its administrator would.
 */
void
td_test_dovecot_restart (TdTestDovecot *d, guint down_ms)
{
  g_subprocess_send_signal (d->master, SIGTERM);
  g_subprocess_wait (d->master, NULL, NULL);
  g_clear_object (&d->master);
  g_usleep ((gulong) down_ms * 1000);
  if (!start_master (d))
    g_error ("Dovecot did not listen again after a restart; see %s", d->log);
}

static GPtrArray *
doveadm_argv (TdTestDovecot *d, va_list args)
{
  GPtrArray *argv = g_ptr_array_new ();
  const char *a;

  g_ptr_array_add (argv, "doveadm");
  g_ptr_array_add (argv, "-c");
  g_ptr_array_add (argv, d->conf);
  while ((a = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) a);
  g_ptr_array_add (argv, NULL);
  return argv;
}

/* Runs doveadm with the given arguments; the test fails if it does. */
void
td_test_dovecot_doveadm (TdTestDovecot *d, ...)
{
  va_list args;
  va_start (args, d);
  g_autoptr (GPtrArray) argv = doveadm_argv (d, args);
  va_end (args);
  spawn_checked ((char **) argv->pdata);
}

/**
 * td_test_dovecot_reconfigure:
 * @d: a running server
 * @extra_conf: (nullable): configuration lines appended to the generated file, as at start
 *
 * Rewrites the configuration and has the running server reload it (same ports, same mail).
 */
void
td_test_dovecot_reconfigure (TdTestDovecot *d, const char *extra_conf)
{
  write_config (d, extra_conf);
  td_test_dovecot_doveadm (d, "reload", NULL);
  gint64 deadline = g_get_monotonic_time () + START_TIMEOUT_S * G_USEC_PER_SEC;
  for (;;)
    {
      g_autofree char *log = td_test_dovecot_read_log (d);
      if (strstr (log, "reloading configuration") != NULL)
        break;
      if (g_get_monotonic_time () > deadline)
        g_error ("Dovecot did not reload its configuration within %d s; see %s",
                 START_TIMEOUT_S, d->log);
      g_usleep (50 * 1000);
    }
  while (!port_open (d->pop3s_port) || !port_open (d->imaps_port))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("Dovecot did not listen again after reloading; see %s", d->log);
      g_usleep (50 * 1000);
    }
}

char *
td_test_dovecot_doveadm_output (TdTestDovecot *d, ...)
{
  va_list args;
  char *out = NULL;
  int status = 0;
  g_autoptr (GError) error = NULL;

  va_start (args, d);
  g_autoptr (GPtrArray) argv = doveadm_argv (d, args);
  va_end (args);
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return out;
}

/* Delivers @message (CRLF line ends) into @mailbox with doveadm save. */
void
td_test_dovecot_save (TdTestDovecot *d, const char *mailbox, const char *message, gsize len)
{
  const char *argv[] = { "doveadm", "-c", d->conf, "save", "-u", TD_TEST_USER, "-m", mailbox, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE, &error);
  g_autoptr (GBytes) in = g_bytes_new (message, len);

  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate (p, in, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 0);
}

char *
td_test_dovecot_read_log (TdTestDovecot *d)
{
  char *text = NULL;
  if (!g_file_get_contents (d->log, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

void
td_test_run_clear (TdTestRun *run)
{
  g_clear_pointer (&run->out, g_free);
  g_clear_pointer (&run->err, g_free);
}

static TdTestRun
run_tidings (const char *input, gboolean debug_all, const char *locale, const char *config,
             va_list args)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) proc = NULL;
  TdTestRun run = { 0 };
  g_autoptr (GError) error = NULL;
  const char *bin = g_getenv ("TIDINGS_BIN");
  const char *a;

  g_assert_nonnull (bin);
  g_ptr_array_add (argv, (char *) bin);
  g_ptr_array_add (argv, "--config");
  g_ptr_array_add (argv, (char *) config);
  while ((a = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) a);
  g_ptr_array_add (argv, NULL);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                        | G_SUBPROCESS_FLAGS_STDERR_PIPE
                                        | (input != NULL ? G_SUBPROCESS_FLAGS_STDIN_PIPE
                                                         : G_SUBPROCESS_FLAGS_NONE));
  if (debug_all)
    g_subprocess_launcher_setenv (launcher, "G_MESSAGES_DEBUG", "all", TRUE);
  if (locale != NULL)
    g_subprocess_launcher_setenv (launcher, "LC_ALL", locale, TRUE);
  proc = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, input, NULL, &run.out, &run.err, &error);
  g_assert_no_error (error);
  run.status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc)
                                                 : 128 + g_subprocess_get_term_sig (proc);
  g_test_message ("tidings exit %d\nstdout: %s\nstderr: %s", run.status, run.out, run.err);
  return run;
}

/**
 * td_test_tidings:
 * @config: the configuration file
 * @...: the command and its arguments, %NULL-terminated
 *
 * Runs the built tidings (TIDINGS_BIN) with its plugins (TIDINGS_PLUGIN_DIR).
 *
 * Returns: the exit status and output
 */
TdTestRun
td_test_tidings (const char *config, ...)
{
  va_list args;
  va_start (args, config);
  TdTestRun run = run_tidings (NULL, FALSE, NULL, config, args);
  va_end (args);
  return run;
}

/**
 * td_test_tidings_debug_all:
 * @config: the configuration file
 * @...: the command and its arguments, %NULL-terminated
 *
 * Runs tidings with every log domain's debug messages on (G_MESSAGES_DEBUG=all).
 *
 * Returns: the exit status and output
 */
TdTestRun
td_test_tidings_debug_all (const char *config, ...)
{
  va_list args;
  va_start (args, config);
  TdTestRun run = run_tidings (NULL, TRUE, NULL, config, args);
  va_end (args);
  return run;
}

/**
 * td_test_tidings_in_locale:
 * @locale: the LC_ALL it runs under ("C", say)
 * @config: the configuration file
 * @...: the command and its arguments, %NULL-terminated
 *
 * Returns: the exit status and output
 */
TdTestRun
td_test_tidings_in_locale (const char *locale, const char *config, ...)
{
  va_list args;
  va_start (args, config);
  TdTestRun run = run_tidings (NULL, FALSE, locale, config, args);
  va_end (args);
  return run;
}

/**
 * td_test_tidings_input:
 * @input: what tidings reads on its standard input (a pipe, not a terminal)
 * @config: the configuration file
 * @...: the command and its arguments, %NULL-terminated
 *
 * Returns: the exit status and output
 */
TdTestRun
td_test_tidings_input (const char *input, const char *config, ...)
{
  va_list args;
  va_start (args, config);
  TdTestRun run = run_tidings (input, FALSE, NULL, config, args);
  va_end (args);
  return run;
}

char *
td_test_write_config (const char *dir, const char *body)
{
  char *path = g_build_filename (dir, "tidings.conf", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents_full (path, body, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error));
  return path;
}

char *
td_test_crlf_to_lf (const char *data, gsize len, gsize *out_len)
{
  GString *out = g_string_sized_new (len);
  for (gsize i = 0; i < len; i++)
    if (!(data[i] == '\r' && i + 1 < len && data[i + 1] == '\n'))
      g_string_append_c (out, data[i]);
  *out_len = out->len;
  return g_string_free (out, FALSE);
}

/* Removes a test's directory, unless TIDINGS_TEST_KEEP is set (to look at it afterwards). */
void
td_test_remove_tree (const char *path)
{
  if (g_getenv ("TIDINGS_TEST_KEEP") != NULL)
    return;
  char *argv[] = { "rm", "-rf", "--", (char *) path, NULL };
  g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
}

/* How many entries @dir holds (0 when it does not exist). */
guint
td_test_count_entries (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;
  while (d != NULL && g_dir_read_name (d) != NULL)
    n++;
  return n;
}

/**
 * td_test_expect_scram_refused:
 * @config: a configuration whose (fake) server offers SCRAM but cannot prove it knows the
 *   password
 * @early: the server says OK without sending its signature, rather than a wrong signature
 *
 * Runs `tidings sync` and checks that the server is refused with exit 4, saying why.
 */
void
td_test_expect_scram_refused (const char *config, gboolean early)
{
  TdTestRun r = td_test_tidings (config, "sync", NULL);
  g_assert_cmpint (r.status, ==, 4);
  g_assert_nonnull (strstr (r.err, early ? "accepted the SCRAM-SHA-256 login without proving"
                                         : "did not prove that it knows the password"));
  td_test_run_clear (&r);
}

/**
 * td_test_expect_timeout:
 * @config: a configuration whose server accepts the connection and never answers
 *
 * Runs `tidings sync` and checks that it gives up with exit 5 and says why, well within a
 * generous bound (no timing assertion: it must only not hang).
 */
void
td_test_expect_timeout (const char *config)
{
  gint64 start = g_get_monotonic_time ();
  TdTestRun r = td_test_tidings (config, "sync", NULL);
  g_assert_cmpint (r.status, ==, 5);
  g_assert_nonnull (strstr (r.err, "no answer from the server"));
  td_test_run_clear (&r);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 60 * G_USEC_PER_SEC);
}

/**
 * td_test_config_with:
 * @base: a configuration's text
 * @extra: (nullable): lines to add
 *
 * A configuration sets each key once, so a test's own value of a key replaces the one the
 * fixture wrote rather than following it.
 *
 * Returns: (transfer full): @base's lines, less those setting a key that @extra sets, then
 *   @extra
 */
char *
td_test_config_with (const char *base, const char *extra)
{
  g_auto (GStrv) lines = g_strsplit (base, "\n", -1);
  g_auto (GStrv) extras = g_strsplit (extra ? extra : "", "\n", -1);
  GString *out = g_string_new (NULL);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *eq = strstr (lines[i], " = ");
      gboolean replaced = FALSE;
      for (guint k = 0; eq != NULL && extras[k] != NULL && !replaced; k++)
        replaced = strncmp (extras[k], lines[i], eq - lines[i] + 3) == 0;
      if (!replaced && (lines[i][0] != '\0' || lines[i + 1] != NULL))
        g_string_append_printf (out, "%s\n", lines[i]);
    }
  g_string_append (out, extra ? extra : "");
  return g_string_free (out, FALSE);
}

/**
 * td_test_expect_refused:
 * @dir: a directory for the configuration and state
 * @protocol: "imap" or "pop3"
 *
 * Syncs an account whose server port has nothing listening (a port just probed free):
 * exit 5 saying it cannot connect, within a generous bound (it must not hang).
 */
void
td_test_expect_refused (const char *dir, const char *protocol)
{
  g_autofree char *body = g_strdup_printf (
    "[general]\nstate-dir = %1$s/state\n[account gone]\nprotocol = %2$s\nhost = 127.0.0.1\n"
    "port = %3$u\nuser = u\npassword = p\nmaildir = %1$s/Mail\ntimeout = 5\n",
    dir, protocol, free_port ());
  g_autofree char *config = td_test_write_config (dir, body);
  gint64 start = g_get_monotonic_time ();
  TdTestRun r = td_test_tidings (config, "sync", NULL);
  g_assert_cmpint (r.status, ==, 5);
  g_assert_nonnull (strstr (r.err, "cannot connect"));
  td_test_run_clear (&r);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 60 * G_USEC_PER_SEC);
}

/**
 * td_test_expect_untrusted:
 * @d: the server
 * @config: a configuration that does not trust @d's certificate
 *
 * Syncs and checks that the certificate is refused (exit 4, saying so) and that the server
 * never saw a login.
 */
void
td_test_expect_untrusted (TdTestDovecot *d, const char *config)
{
  TdTestRun r = td_test_tidings (config, "sync", NULL);
  g_assert_cmpint (r.status, ==, 4);
  g_assert_nonnull (strstr (r.err, "certificate"));
  td_test_run_clear (&r);
  g_autofree char *log = td_test_dovecot_read_log (d);
  g_assert_null (strstr (log, "user=<" TD_TEST_USER ">"));
  g_assert_null (strstr (log, "auth failed"));
}
