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
  "Path ~/Mail/office/\n"
  "Inbox ~/Mail/office/INBOX\n"
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
  "SyncState ~/.mbsync/\n"
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

/* The imported configuration, as Tidings loads it (@error: the import's). */
static TdConfig *
load_imported (const char *text, const GError *error)
{
  g_autoptr (GError) load = NULL;

  g_assert_no_error (error);
  g_test_message ("%s", text);
  g_autofree char *full = g_strconcat ("[general]\nmaildir-root = /srv/mail\n", text, NULL);
  TdConfig *c = td_config_load_from_data (full, "/cfg", &load);
  g_assert_no_error (load);
  return c;
}

/* Each Channel between an IMAP store and a Maildir store is an account with its server,
 * Maildir, layout, folders and policy; what has no equivalent is said. */
static void
test_mbsync (void)
{
  g_autoptr (GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autofree char *text = td_import_mbsync (rc, "~/.mbsyncrc", notes, &error);
  g_autoptr (TdConfig) c = load_imported (text, error);

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
  g_assert_true (g_str_has_suffix (w->maildir, "/Mail/office"));
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
  /* mbsync's state: the Channel's own directory, else the global one under both stores. */
  g_assert_true (g_str_has_suffix (h->mbsync_state, "/.mbsync/{}"));
  g_assert_true (g_str_has_suffix (w->mbsync_state, "/.mbsync/:work-remote:{}_:work-local:{}"));

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

/* mbsync keeps INBOX at Inbox (default ~/Maildir) wherever Path is: an INBOX that is not
 * Path's INBOX becomes the inbox key, with or without an Inbox line. Without a Channel of
 * the right kind there is nothing. */
static void
test_mbsync_refusals (void)
{
  static const char *const stores[] = { "Path ~/Mail/\nInbox ~/Maildir\n", "Path ~/Mail/\n",
                                        "Path ~/Mail/\nInbox ~/Mail/INBOX/\n" };
  static const char *const inboxes[] = { "/Maildir", "/Maildir", NULL };

  for (gsize i = 0; i < G_N_ELEMENTS (stores); i++)
    {
      g_autoptr (GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GError) error = NULL;
      g_autofree char *rc = g_strdup_printf ("IMAPStore r\nHost h\nUser u\n\nMaildirStore l\n"
                                             "%sSubFolders Verbatim\n\nChannel c\nFar :r:\n"
                                             "Near :l:\n", stores[i]);
      g_autofree char *text = td_import_mbsync (rc, "rc", notes, &error);
      g_autoptr (TdConfig) c = load_imported (text, error);
      TdAccountConfig *a = td_config_find_account (c, "c");
      g_assert_true (g_str_has_suffix (a->maildir, "/Mail"));
      if (inboxes[i] == NULL)
        g_assert_null (a->inbox);
      else
        g_assert_true (a->inbox != NULL && g_str_has_suffix (a->inbox, inboxes[i]));
      g_assert_true (a->layout.inbox_apart == (inboxes[i] != NULL));
    }

  /* A global `SyncState *` keeps the state in each folder: no key for it. */
  g_autoptr (GPtrArray) in_folders = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) in_error = NULL;
  g_autofree char *star = td_import_mbsync ("SyncState *\n\nIMAPStore r\nHost h\nUser u\n\n"
                                            "MaildirStore l\nPath ~/Mail/\nInbox ~/Mail/INBOX\n"
                                            "\nChannel c\nFar :r:\nNear :l:\n", "rc",
                                            in_folders, &in_error);
  g_autoptr (TdConfig) star_config = load_imported (star, in_error);
  g_assert_null (td_config_find_account (star_config, "c")->mbsync_state);

  g_autoptr (GPtrArray) none = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) empty = NULL;
  g_autofree char *nothing = td_import_mbsync ("# only comments\nIMAPStore r\nHost h\n", "rc",
                                               none, &empty);
  g_assert_null (nothing);
  g_assert_error (empty, TD_ERROR, TD_ERROR_CONFIG);
}

static const char oi[] =
  "[general]\n"
  "accounts = work, home\n"
  "metadata = ~/.offlineimap\n"
  "\n"
  "[Account work]\n"
  "localrepository = work-local\n"
  "remoterepository = work-remote\n"
  "postsynchook = notmuch new\n"
  "maxsize = 2000000\n"
  "maxage = 90\n"
  "\n"
  "[Repository work-local]\n"
  "type = Maildir\n"
  "localfolders = ~/Mail/work\n"
  "\n"
  "[Repository work-remote]\n"
  "type = IMAP\n"
  "remotehost = imap.example.org\n"
  "remoteport: 1993\n"
  "remoteuser = alice\n"
  "remotepassfile = ~/.work-pass\n"
  "ssl = yes\n"
  "sslcacertfile = /etc/ssl/certs/ca-certificates.crt\n"
  "folderfilter = lambda folder: folder in ['INBOX', 'Sent',\n"
  "    'Archive/2024']\n"
  "\n"
  "[Account home]\n"
  "localrepository = home-local\n"
  "remoterepository = home-remote\n"
  "maxage = 2024-01-01\n"
  "\n"
  "[Repository home-local]\n"
  "type = Maildir\n"
  "localfolders = ~/Mail/home\n"
  "sep = /\n"
  "nametrans = lambda f: f.replace('INBOX', 'Inbox')\n"
  "\n"
  "[Repository home-remote]\n"
  "type = IMAP\n"
  "remotehost = mail.example.net\n"
  "remoteuser = bob\n"
  "remotepasseval = get_password('home')\n"
  "ssl = no\n"
  "starttls = yes\n"
  "readonly = True\n"
  "folderfilter = lambda f: not f.startswith('Spam')\n";

/* Each account of [general] accounts between a Maildir and an IMAP repository is an account:
 * server, user, password file, TLS, Maildir and layout (flat by default, verbatim with
 * sep = /), a plain-list folderfilter, readonly, maxsize, maxage in days and postsynchook;
 * Python elsewhere, and a maxage that is a date, is said. */
static void
test_offlineimap (void)
{
  g_autoptr (GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autofree char *text = td_import_offlineimap (oi, "~/.offlineimaprc", notes, &error);
  g_autoptr (TdConfig) c = load_imported (text, error);

  TdAccountConfig *w = td_config_find_account (c, "work");
  g_assert_nonnull (w);
  g_assert_cmpstr (w->host, ==, "imap.example.org");
  g_assert_cmpuint (w->port, ==, 1993);
  g_assert_cmpint (w->security, ==, TD_SECURITY_TLS);
  g_assert_cmpstrv (w->password_command, ((const char *[]) { "head", "-n1", "~/.work-pass",
                                                             NULL }));
  g_assert_cmpint (w->layout.kind, ==, TD_LAYOUT_FLAT);
  g_assert_cmpint (w->layout.separator, ==, '.');
  g_assert_true (w->layout.utf7);
  g_assert_true (td_account_config_wants_folder (w, "Archive/2024"));
  g_assert_true (td_account_config_wants_folder (w, "Sent"));
  g_assert_false (td_account_config_wants_folder (w, "Junk"));
  g_assert_cmpint (w->sync, ==, TD_DIRECTION_BOTH);
  g_assert_cmpuint (w->max_size, ==, 2000000);
  g_assert_cmpuint (w->max_age_days, ==, 90);
  g_assert_cmpstrv (w->post_sync_command, ((const char *[]) { "notmuch", "new", NULL }));

  TdAccountConfig *h = td_config_find_account (c, "home");
  g_assert_nonnull (h);
  g_assert_cmpint (h->security, ==, TD_SECURITY_STARTTLS);
  g_assert_cmpint (h->layout.kind, ==, TD_LAYOUT_VERBATIM);
  g_assert_cmpint (h->sync, ==, TD_DIRECTION_PULL);
  g_assert_true (noted (notes, "account home: remotepasseval is Python"));
  g_assert_true (noted (notes, "account home: nametrans"));
  g_assert_true (noted (notes, "account home: maxage = 2024-01-01 is not a count of days"));
  g_assert_cmpuint (h->max_age_days, ==, 0);
  g_assert_true (noted (notes, "account home: folderfilter lambda f: not f.startswith"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/import/mbsync", test_mbsync);
  g_test_add_func ("/import/mbsync-refusals", test_mbsync_refusals);
  g_test_add_func ("/import/offlineimap", test_offlineimap);
  return g_test_run ();
}
