/* td-test-dovecot.h: a throwaway Dovecot for integration tests, and helpers to run tidings.
 *
 * The server listens on free ports of 127.0.0.1 only (IMAP, IMAPS, POP3, POP3S) with a
 * self-signed certificate made when it starts, and one passwd-file user, alice.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  char *dir;
  char *conf;
  char *cert;
  char *log;
  char *mail_user;   /* the system user mail is stored as */
  guint16 imap_port, imaps_port, pop3_port, pop3s_port;
  GSubprocess *master;
} TdTestDovecot;

#define TD_TEST_USER "alice"
#define TD_TEST_PASSWORD "correct horse battery"

TdTestDovecot *td_test_dovecot_start (const char *extra_conf);
void td_test_dovecot_stop (TdTestDovecot *d);
void td_test_die_with_parent (gpointer data);
void td_test_make_certificate (const char *dir, char **cert, char **key);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdTestDovecot, td_test_dovecot_stop)
void td_test_dovecot_doveadm (TdTestDovecot *d, ...) G_GNUC_NULL_TERMINATED;
char *td_test_dovecot_doveadm_output (TdTestDovecot *d, ...) G_GNUC_NULL_TERMINATED;
void td_test_dovecot_reconfigure (TdTestDovecot *d, const char *extra_conf);
void td_test_dovecot_restart (TdTestDovecot *d, guint down_ms);
void td_test_dovecot_set_password (TdTestDovecot *d, const char *password);
void td_test_dovecot_save (TdTestDovecot *d, const char *mailbox, const char *message, gsize len);
char *td_test_dovecot_read_log (TdTestDovecot *d);

typedef struct
{
  int status;      /* exit code, or 128 + signal */
  char *out;
  char *err;
} TdTestRun;

void td_test_run_clear (TdTestRun *run);
TdTestRun td_test_tidings (const char *config, ...) G_GNUC_NULL_TERMINATED;
TdTestRun td_test_tidings_debug_all (const char *config, ...) G_GNUC_NULL_TERMINATED;
TdTestRun td_test_tidings_in_locale (const char *locale, const char *config, ...)
  G_GNUC_NULL_TERMINATED;
TdTestRun td_test_tidings_input (const char *input, const char *config, ...)
  G_GNUC_NULL_TERMINATED;
char *td_test_write_config (const char *dir, const char *body);
char *td_test_config_with (const char *base, const char *extra);
void td_test_remove_tree (const char *path);
guint td_test_count_entries (const char *dir);
void td_test_expect_timeout (const char *config);
void td_test_expect_scram_refused (const char *config, gboolean early);
void td_test_expect_refused (const char *dir, const char *protocol);
void td_test_expect_untrusted (TdTestDovecot *d, const char *config);
char *td_test_crlf_to_lf (const char *data, gsize len, gsize *out_len);

G_END_DECLS
