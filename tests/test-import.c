/* test-import.c: mbsync configurations made into Tidings ones (`tidings import mbsync`): what
 * carries over, what is said instead, and that the result is a configuration Tidings loads
 * as meant. */
#include <string.h>

#include "engine/common/td-config.h"
#include "engine/common/td-error.h"
#include "engine/common/td-import.h"

static const char rc[] =
  "# mbsync\n"
  "IMAPAccount work\n"
  "Host imap.example.org\n"
  "Port 1993\n"
  "User \"alice@example.org\"\n"
  "PassCmd \"pass show mail/work | head -n1\"\n"
  "SSLType IMAPS\n"
  "CertificateFile /etc/ssl/certs/ca-certificates.crt\n"
  "\n"
  "IMAPStore work-remote\n"
  "Account work\n"
  "\n"
  "MaildirStore work-local\n"
  "Path ~/Mail/work/\n"
  "Inbox ~/Mail/work/INBOX\n"
  "SubFolders Legacy\n"
  "\n"
  "Channel work\n"
  "Far :work-remote:\n"
  "Near :work-local:\n"
  "Patterns * !Junk !\"Spam Box\" %Lists\n"
  "Create Both\n"
  "Expunge Far\n"
  "Sync All\n"
  "MaxSize 10M\n"
  "MaxMessages 100\n"
  "\n"
  "IMAPStore home-remote\n"
  "Host mail.example.net\n"
  "User bob\n"
  "Pass secret\n"
  "SSLType STARTTLS\n"
  "\n"
  "MaildirStore home-local\n"
  "Inbox ~/Maildir\n"
  "SubFolders Maildir++\n"
  "\n"
  "Channel home\n"
  "Far :home-remote:\n"
  "Near :home-local:\n"
  "Sync Pull\n"
  "\n"
  "IMAPStore tunnel-remote\n"
  "Tunnel \"ssh -q host /usr/lib/dovecot/imap\"\n"
  "\n"
  "Channel tunnel\n"
  "Far :tunnel-remote:INBOX\n"
  "Near :work-local:\n"
  "\n"
  "Channel broken\n"
  "Far :nowhere:\n"
  "Near :work-local:\n";

static gboolean
noted (GPtrArray *notes, const char *what)
{
  for (guint i = 0; i < notes->len; i++)
    if (strstr (g_ptr_array_index (notes, i), what) != NULL)
      return TRUE;
  return FALSE;
}

/* Each Channel between an IMAP store and a Maildir store is an account with its server,
 * Maildir, layout, folders and policy; what has no equivalent is said. */
static void
test_mbsync (void)
{
  g_autoptr (GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autofree char *text = td_import_mbsync (rc, "~/.mbsyncrc", notes, &error);
  g_assert_no_error (error);
  g_test_message ("%s", text);
  g_autofree char *full = g_strconcat ("[general]\nmaildir-root = /srv/mail\n", text, NULL);
  g_autoptr (TdConfig) c = td_config_load_from_data (full, "/cfg", &error);
  g_assert_no_error (error);

  TdAccountConfig *w = td_config_find_account (c, "work");
  g_assert_nonnull (w);
  g_assert_cmpstr (w->host, ==, "imap.example.org");
  g_assert_cmpuint (w->port, ==, 1993);
  g_assert_cmpint (w->security, ==, TD_SECURITY_TLS);
  g_assert_cmpstr (w->user, ==, "alice@example.org");
  g_assert_cmpstrv (w->password_command, ((const char *[]) { "sh", "-c",
                                                             "pass show mail/work | head -n1",
                                                             NULL }));
  g_assert_cmpstr (w->tls_ca_file, ==, "/etc/ssl/certs/ca-certificates.crt");
  g_assert_true (g_str_has_suffix (w->maildir, "/Mail/work"));
  g_assert_cmpint (w->layout.kind, ==, TD_LAYOUT_LEGACY);
  g_assert_true (w->layout.utf7);
  g_assert_true (td_account_config_wants_folder (w, "Archive/2024"));
  g_assert_false (td_account_config_wants_folder (w, "Junk"));
  g_assert_false (td_account_config_wants_folder (w, "Spam Box"));
  g_assert_cmpint (w->sync, ==, TD_DIRECTION_BOTH);
  g_assert_cmpint (w->deletes, ==, TD_DIRECTION_PUSH);
  g_assert_cmpuint (w->max_size, ==, 10 * 1024 * 1024);
  g_assert_true (noted (notes, "Channel work: pattern “%Lists”"));
  g_assert_true (noted (notes, "Channel work: MaxMessages"));

  TdAccountConfig *h = td_config_find_account (c, "home");
  g_assert_nonnull (h);
  g_assert_cmpint (h->security, ==, TD_SECURITY_STARTTLS);
  g_assert_cmpstr (h->password, ==, "secret");
  g_assert_true (noted (notes, "Channel home: Pass"));
  g_assert_cmpint (h->layout.kind, ==, TD_LAYOUT_MAILDIRPP);
  g_assert_true (g_str_has_suffix (h->maildir, "/Maildir"));
  g_assert_cmpint (h->sync, ==, TD_DIRECTION_PULL);
  g_assert_cmpint (h->deletes, ==, TD_DIRECTION_NONE); /* mbsync's Expunge None */

  TdAccountConfig *t = td_config_find_account (c, "tunnel");
  g_assert_nonnull (t);
  g_assert_cmpstrv (t->tunnel_command, ((const char *[]) { "ssh", "-q", "host",
                                                           "/usr/lib/dovecot/imap", NULL }));
  g_assert_true (td_account_config_wants_folder (t, "INBOX"));
  g_assert_false (td_account_config_wants_folder (t, "Archive"));

  g_assert_null (td_config_find_account (c, "broken"));
  g_assert_true (noted (notes, "Channel broken: not between an IMAP store and a Maildir store"));
  /* Every note is in the file too, as a comment. */
  g_assert_nonnull (strstr (text, "# Note: MaxMessages"));
}

/* An INBOX outside the Maildir mbsync's Path names is said: Tidings would look for it
 * elsewhere and download it again. Without a Channel of the right kind there is nothing. */
static void
test_mbsync_refusals (void)
{
  g_autoptr (GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autofree char *text = td_import_mbsync (
    "IMAPStore r\nHost h\nUser u\n\nMaildirStore l\nPath ~/Mail/\nInbox ~/Maildir\n"
    "SubFolders Verbatim\n\nChannel c\nFar :r:\nNear :l:\n", "rc", notes, &error);
  g_assert_no_error (error);
  g_assert_true (noted (notes, "Inbox ~/Maildir: Tidings keeps INBOX at ~/Mail/INBOX"));

  g_autoptr (GPtrArray) none = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) empty = NULL;
  g_autofree char *nothing = td_import_mbsync ("# only comments\nIMAPStore r\nHost h\n", "rc",
                                               none, &empty);
  g_assert_null (nothing);
  g_assert_error (empty, TD_ERROR, TD_ERROR_CONFIG);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/import/mbsync", test_mbsync);
  g_test_add_func ("/import/mbsync-refusals", test_mbsync_refusals);
  return g_test_run ();
}
