/* test-config.c: configuration parsing and validation. */
#include <glib/gstdio.h>
#include <string.h>

#include "engine/common/td-config.h"
#include "engine/common/td-error.h"

static const char base[] =
  "[general]\n"
  "maildir-root = /srv/mail\n"
  "[account work]\n"
  "protocol = imap\n"
  "host = imap.example.org\n"
  "user = alice@example.org\n";

static void
test_defaults (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TdConfig) c = td_config_load_from_data (base, "/cfg", &error);
  g_assert_no_error (error);
  TdAccountConfig *a = td_config_find_account (c, "work");
  g_assert_nonnull (a);
  g_assert_cmpuint (a->port, ==, 993);
  g_assert_cmpint (a->security, ==, TD_SECURITY_TLS);
  g_assert_cmpstr (a->maildir, ==, "/srv/mail/work");
  g_assert_cmpint (a->layout.kind, ==, TD_LAYOUT_VERBATIM);
  g_assert_false (a->layout.utf7);
  g_assert_cmpint (a->sync, ==, TD_DIRECTION_BOTH);
  g_assert_true (a->keep_on_server);
  g_assert_cmpuint (a->connections, ==, 3);
  g_assert_cmpstrv (a->folders, ((const char *[]) { "*", NULL }));
  g_assert_true (td_account_config_wants_folder (a, "Archive/2024"));
}

static void
test_every_key (void)
{
  g_autofree char *text = g_strconcat (base,
    "port = 1143\nsecurity = starttls\nallow-insecure-auth = false\nauth = plain\n"
    "password-command = pass show 'mail/work'\n"
    "tls-fingerprint = sha256:" "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
    "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\n"
    "maildir = ~/Mail/work\nlayout = maildir++\nfolders = INBOX;Archive/*\nexclude = Junk;Trash\n"
    "sync = pull\ndeletes = none\nwatch = *\nkeep-on-server = false\ndelete-after-days = 7\n"
    "timeout = 30\ncommand-timeout = 90\nconnections = 1\n", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (TdConfig) c = td_config_load_from_data (text, "/cfg", &error);
  g_assert_no_error (error);
  TdAccountConfig *a = td_config_find_account (c, "work");
  g_assert_cmpuint (a->port, ==, 1143);
  g_assert_cmpint (a->security, ==, TD_SECURITY_STARTTLS);
  g_assert_cmpstrv (a->password_command, ((const char *[]) { "pass", "show", "mail/work", NULL }));
  g_assert_cmpuint (g_bytes_get_size (a->tls_fingerprint), ==, 32);
  g_assert_true (g_str_has_suffix (a->maildir, "/Mail/work"));
  g_assert_cmpint (a->layout.kind, ==, TD_LAYOUT_MAILDIRPP);
  g_assert_true (a->layout.utf7);
  g_assert_cmpint (a->sync, ==, TD_DIRECTION_PULL);
  g_assert_cmpint (a->deletes, ==, TD_DIRECTION_NONE);
  g_assert_false (a->keep_on_server);
  g_assert_cmpuint (a->delete_after_days, ==, 7);
  g_assert_cmpuint (a->command_timeout_seconds, ==, 90);
  g_assert_cmpuint (a->connections, ==, 1);
  g_assert_true (td_account_config_wants_folder (a, "Archive/2024"));
  g_assert_false (td_account_config_wants_folder (a, "Junk"));
  g_assert_false (td_account_config_wants_folder (a, "Sent"));
}

/* Each bad value is refused with the file, the line, the group and the key named. */
static void
test_errors_name_the_place (void)
{
  const struct
  {
    const char *extra;
    const char *expect;
  } cases[] = {
    { "port = 99999\n", "/cfg:7: [account work] port:" },
    { "security = ssl\n", "/cfg:7: [account work] security:" },
    { "colour = blue\n", "/cfg:7: [account work] colour: unknown key (every key is in `man tidings.conf` and /" },
    { "maildr = /x\n", "/cfg:7: [account work] maildr: unknown key; did you mean “maildir”?" },
    { "maildir = /x   # default\n", "/cfg:7: [account work] maildir: “/x   # default” holds a "
                                     "comment" },
    { "port = 993\nsync = pull\nport = 143\n", "/cfg:9: [account work] port: set more than once" },
    { "security = none\n", "/cfg:7: [account work] security:" },
    { "tls-fingerprint = sha256:12\n", "/cfg:7: [account work] tls-fingerprint:" },
    { "maildir = relative/path\n", "/cfg:7: [account work] maildir:" },
    { "keep-on-server = perhaps\n", "/cfg:7: [account work] keep-on-server:" },
    { "connections = 0\n", "/cfg:7: [account work] connections:" },
    { "connections = 17\n", "/cfg:7: [account work] connections:" },
    { "auth = xoauth2\n", "[account work] oauth2-token-command:" },
    { "[account work]\nprotocol = imap\n", "/cfg:7: [account work] is defined twice" },
    { "[acount typo]\n", "[acount typo]: unknown group" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = g_strconcat (base, cases[i].extra, NULL);
      g_autoptr (GError) error = NULL;
      g_autoptr (TdConfig) c = td_config_load_from_data (text, "/cfg", &error);
      if (c != NULL)
        g_error ("case %" G_GSIZE_FORMAT " (%s) was accepted", i, cases[i].extra);
      g_assert_error (error, TD_ERROR, TD_ERROR_CONFIG);
      if (strstr (error->message, cases[i].expect) == NULL)
        g_error ("case %" G_GSIZE_FORMAT ": “%s” lacks “%s”", i, error->message, cases[i].expect);
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (TdConfig) c = td_config_load_from_data ("[account x]\nprotocol = imap\nhost = h\n",
                                                     "/cfg", &error);
  g_assert_error (error, TD_ERROR, TD_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "user: missing"));
}

static void
test_insecure_needs_consent (void)
{
  g_autofree char *text = g_strconcat (base, "security = none\nallow-insecure-auth = true\n", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (TdConfig) c = td_config_load_from_data (text, "/cfg", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (td_config_find_account (c, "work")->port, ==, 143);
}

/* tunnel-command takes the place of host, TLS and (for a server that logs in by itself)
 * user; it is for IMAP only. */
static void
test_tunnel (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TdConfig) c = td_config_load_from_data (
    "[account t]\nprotocol = imap\ntunnel-command = ssh mail.example.org "
    "'/usr/lib/dovecot/imap'\n", "/cfg", &error);
  g_assert_no_error (error);
  TdAccountConfig *a = td_config_find_account (c, "t");
  g_assert_cmpstrv (a->tunnel_command, ((const char *[]) { "ssh", "mail.example.org",
                                                           "/usr/lib/dovecot/imap", NULL }));
  g_assert_cmpint (a->security, ==, TD_SECURITY_NONE);
  g_assert_nonnull (a->user);

  g_autoptr (GError) pop3 = NULL;
  g_autoptr (TdConfig) p = td_config_load_from_data (
    "[account t]\nprotocol = pop3\ntunnel-command = ssh mail.example.org\n", "/cfg", &pop3);
  g_assert_error (pop3, TD_ERROR, TD_ERROR_CONFIG);
  g_assert_nonnull (strstr (pop3->message, "tunnel-command: is for IMAP accounts"));

  g_autoptr (GError) nohost = NULL;
  g_autoptr (TdConfig) n = td_config_load_from_data ("[account t]\nprotocol = imap\nuser = u\n",
                                                     "/cfg", &nohost);
  g_assert_error (nohost, TD_ERROR, TD_ERROR_CONFIG);
  g_assert_nonnull (strstr (nohost->message, "or set tunnel-command"));
}

/* max-size takes bytes, K, M or G (with or without a B), and 0 for none. */
static void
test_max_size (void)
{
  static const struct
  {
    const char *value;
    guint64 bytes;
  } good[] = { { "0", 0 }, { "1500", 1500 }, { "10K", 10240 }, { "512kb", 524288 },
               { "10M", 10485760 }, { "2G", G_GUINT64_CONSTANT (2147483648) } };

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autofree char *text = g_strdup_printf ("%smax-size = %s\n", base, good[i].value);
      g_autoptr (GError) error = NULL;
      g_autoptr (TdConfig) c = td_config_load_from_data (text, "/cfg", &error);
      g_assert_no_error (error);
      g_assert_cmpuint (td_config_find_account (c, "work")->max_size, ==, good[i].bytes);
    }
  const char *bad[] = { "10X", "M", "-1", "10 M", "99999999999999G" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *text = g_strdup_printf ("%smax-size = %s\n", base, bad[i]);
      g_autoptr (GError) error = NULL;
      g_autoptr (TdConfig) c = td_config_load_from_data (text, "/cfg", &error);
      g_assert_error (error, TD_ERROR, TD_ERROR_CONFIG);
      g_assert_nonnull (strstr (error->message, "is not a size"));
    }
}

/* max-age takes days (0 for none); a POP3 account is told it cannot have it. */
static void
test_max_age (void)
{
  g_autofree char *text = g_strdup_printf ("%smax-age = 365\n", base);
  g_autoptr (GError) error = NULL;
  g_autoptr (TdConfig) c = td_config_load_from_data (text, "/cfg", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (td_config_find_account (c, "work")->max_age_days, ==, 365);

  const char *bad[] = { "-1", "1y", "36501" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *t = g_strdup_printf ("%smax-age = %s\n", base, bad[i]);
      g_autoptr (GError) e = NULL;
      g_autoptr (TdConfig) none = td_config_load_from_data (t, "/cfg", &e);
      g_assert_error (e, TD_ERROR, TD_ERROR_CONFIG);
      g_assert_nonnull (strstr (e->message, "max-age"));
    }
  g_autoptr (GError) pop_error = NULL;
  g_autoptr (TdConfig) pop = td_config_load_from_data (
    "[account mail]\nprotocol = pop3\nhost = h\nuser = u\nmax-age = 30\n", "/cfg", &pop_error);
  g_assert_error (pop_error, TD_ERROR, TD_ERROR_CONFIG);
  g_assert_nonnull (strstr (pop_error->message, "max-age works only with protocol = imap"));
}

/* trash: off by default and with false; true is the server's \\Trash (""), anything else a
 * folder's name; a POP3 account is told it has no folders. */
static void
test_trash (void)
{
  const struct
  {
    const char *value;
    const char *trash;
  } cases[] = { { NULL, NULL }, { "false", NULL }, { "true", "" }, { "TRUE", "" },
                { "Deleted Items", "Deleted Items" }, { "[Gmail]/Trash", "[Gmail]/Trash" } };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *line = cases[i].value ? g_strdup_printf ("trash = %s\n", cases[i].value)
                                             : g_strdup ("");
      g_autofree char *text = g_strconcat (base, line, NULL);
      g_autoptr (GError) error = NULL;
      g_autoptr (TdConfig) c = td_config_load_from_data (text, "/cfg", &error);
      g_assert_no_error (error);
      g_assert_cmpstr (td_config_find_account (c, "work")->trash, ==, cases[i].trash);
    }
  g_autoptr (GError) pop_error = NULL;
  g_autoptr (TdConfig) pop = td_config_load_from_data (
    "[account mail]\nprotocol = pop3\nhost = h\nuser = u\ntrash = true\n", "/cfg", &pop_error);
  g_assert_error (pop_error, TD_ERROR, TD_ERROR_CONFIG);
  g_assert_nonnull (strstr (pop_error->message, "no folders to move deleted mail to"));
}

/* Accounts another source provides (GNOME Online Accounts): the file's keys win over its,
 * a bad key it gave names it, and a group that only adds to one it does not give is
 * left out with a warning. */
static void
test_provided (void)
{
  g_autoptr (GKeyFile) provided = g_key_file_new ();
  const char *text = "[general]\ngoa = true\nmaildir-root = /srv/mail\n"
                     "[account a@example.org]\nport = 1993\nfolders = INBOX\n"
                     "[account gone@example.org]\nmaildir = /srv/gone\n";
  g_autoptr (GError) error = NULL;

  g_assert_true (g_key_file_load_from_data (
    provided, "[account a@example.org]\nprotocol = imap\nhost = imap.example.org\n"
    "port = 993\nuser = a\nauth = xoauth2\ngoa-account = account_1_0\n"
    "[account b@example.org]\nprotocol = imap\nhost = h\nuser = b\n"
    "goa-account = account_2_0\n", -1, G_KEY_FILE_NONE, NULL));
  g_autoptr (TdConfig) c = td_config_load_merged (text, "/cfg", provided, "GOA", &error);
  g_assert_no_error (error);
  g_assert_true (c->goa);
  g_assert_cmpuint (c->accounts->len, ==, 2);
  TdAccountConfig *a = td_config_find_account (c, "a@example.org");
  g_assert_cmpuint (a->port, ==, 1993);
  g_assert_cmpstr (a->host, ==, "imap.example.org");
  g_assert_cmpstr (a->goa_id, ==, "account_1_0");
  g_assert_cmpstrv (a->folders, ((const char *[]) { "INBOX", NULL }));
  g_assert_cmpstr (a->config_file, ==, "/cfg");
  TdAccountConfig *b = td_config_find_account (c, "b@example.org");
  g_assert_cmpstr (b->maildir, ==, "/srv/mail/b@example.org");
  g_assert_cmpstr (b->config_file, ==, "GOA");
  g_assert_null (td_config_find_account (c, "gone@example.org"));
  g_assert_cmpuint (c->warnings->len, ==, 1);
  g_assert_nonnull (strstr (g_ptr_array_index (c->warnings, 0),
                            "/cfg:7: [account gone@example.org] has no protocol"));

  /* GOA out of reach: the groups that add to its accounts wait, the rest loads. */
  g_autoptr (TdConfig) alone = td_config_load_merged (text, "/cfg", NULL, "GOA", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (alone->accounts->len, ==, 0);
  g_assert_cmpuint (alone->warnings->len, ==, 2);
  g_assert_nonnull (strstr (g_ptr_array_index (alone->warnings, 0), "cannot be reached"));

  /* A bad value from GOA is GOA's, not a line of the file. */
  g_key_file_set_value (provided, "account b@example.org", "port", "0");
  g_autoptr (TdConfig) bad = td_config_load_merged (text, "/cfg", provided, "GOA", &error);
  g_assert_null (bad);
  g_assert_error (error, TD_ERROR, TD_ERROR_CONFIG);
  g_assert_true (g_str_has_prefix (error->message, "GOA: [account b@example.org] port:"));
  g_clear_error (&error);

  /* Without a source of its own, an OAuth2 account needs goa-account. */
  g_autoptr (TdConfig) no_token = td_config_load_from_data (
    "[account x]\nprotocol = imap\nhost = h\nuser = u\nauth = xoauth2\n", "/cfg", &error);
  g_assert_error (error, TD_ERROR, TD_ERROR_CONFIG);
}

/* The layouts of mbsync and offlineimap, with how names are written. */
static void
test_layouts (void)
{
  g_autofree char *text = g_strconcat (base, "layout = flat\nflat-separator = _\n"
                                       "folder-names = utf-7\n", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (TdConfig) c = td_config_load_from_data (text, "/cfg", &error);
  g_assert_no_error (error);
  TdAccountConfig *a = td_config_find_account (c, "work");
  g_assert_cmpint (a->layout.kind, ==, TD_LAYOUT_FLAT);
  g_assert_cmpint (a->layout.separator, ==, '_');
  g_assert_true (a->layout.utf7);

  g_autofree char *legacy = g_strconcat (base, "layout = legacy\n", NULL);
  g_autoptr (TdConfig) l = td_config_load_from_data (legacy, "/cfg", &error);
  g_assert_no_error (error);
  g_assert_cmpint (td_config_find_account (l, "work")->layout.kind, ==, TD_LAYOUT_LEGACY);
  g_assert_false (td_config_find_account (l, "work")->layout.utf7);

  const char *bad[] = { "flat-separator = ab\n", "flat-separator = /\n", "folder-names = latin1\n" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *t = g_strconcat (base, bad[i], NULL);
      g_autoptr (GError) e = NULL;
      g_autoptr (TdConfig) x = td_config_load_from_data (t, "/cfg", &e);
      g_assert_error (e, TD_ERROR, TD_ERROR_CONFIG);
    }
}

/* An inline password in a file others can read is warned about. */
static void
test_inline_password_warning (void)
{
  g_autofree char *dir = g_dir_make_tmp ("tidings-config-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "config", NULL);
  g_autofree char *text = g_strconcat (base, "password = hunter2\n", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  g_autoptr (TdConfig) open = td_config_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (open->warnings->len, ==, 1);
  g_assert_null (strstr (g_ptr_array_index (open->warnings, 0), "hunter2"));
  g_assert_cmpint (g_chmod (path, 0600), ==, 0);
  g_autoptr (TdConfig) closed = td_config_load (path, &error);
  g_assert_cmpuint (closed->warnings->len, ==, 0);
}

/* Loads @extra after an XOAUTH2 account on @host; NULL and @error set when refused. */
static TdConfig *
oauth2_config (const char *host, const char *extra, GError **error)
{
  g_autofree char *text = g_strdup_printf ("[account mail]\nprotocol = imap\nhost = %s\n"
                                           "user = alice\nauth = xoauth2\n%s", host, extra);
  return td_config_load_from_data (text, "/cfg", error);
}

/* The built-in sign-in: presets from the host or by name, custom endpoints that must be
 * https (or http on this machine), and oauth2-token-command or goa-account winning. */
static void
test_oauth2 (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TdConfig) gmail = oauth2_config ("imap.gmail.com", "oauth2-client-id = c\n",
                                              &error);
  g_assert_no_error (error);
  TdAccountConfig *a = td_config_find_account (gmail, "mail");
  g_assert_cmpstr (a->oauth2.provider, ==, "google");
  g_assert_true (g_str_has_prefix (a->oauth2.token_url, "https://oauth2.googleapis.com/"));
  g_assert_true (td_account_config_signs_in_itself (a));
  g_autoptr (TdConfig) ms = oauth2_config ("outlook.office365.com", "oauth2-client-id = c\n",
                                           &error);
  g_assert_cmpstr (td_config_find_account (ms, "mail")->oauth2.provider, ==, "microsoft");
  g_assert_nonnull (strstr (td_config_find_account (ms, "mail")->oauth2.scope,
                            "offline_access"));

  /* A look-alike host implies nothing, so it needs its endpoints. */
  g_autoptr (TdConfig) other = oauth2_config ("imap.notgmail.com", "oauth2-client-id = c\n",
                                              &error);
  g_assert_null (other);
  g_assert_error (error, TD_ERROR, TD_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "the provider is custom: set oauth2-token-url"));
  g_clear_error (&error);
  g_autoptr (TdConfig) clear = oauth2_config (
    "imap.example.org", "oauth2-client-id = c\noauth2-token-url = http://example.org/t\n"
    "oauth2-device-url = https://example.org/d\n", &error);
  g_assert_null (clear);
  g_assert_nonnull (strstr (error->message, "oauth2-token-url: “http://example.org/t” is not "
                                            "https"));
  g_clear_error (&error);
  g_autoptr (TdConfig) local = oauth2_config (
    "imap.example.org", "oauth2-client-id = c\noauth2-token-url = http://127.0.0.1:8/t\n"
    "oauth2-device-url = https://example.org/d\n", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (td_config_find_account (local, "mail")->oauth2.provider, ==, "custom");

  g_autoptr (TdConfig) none = oauth2_config ("imap.gmail.com", "", &error);
  g_assert_null (none);
  g_assert_nonnull (strstr (error->message, "tidings oauth2 login mail"));
  g_clear_error (&error);
  g_autoptr (TdConfig) command = oauth2_config ("imap.gmail.com", "oauth2-client-id = c\n"
                                                "oauth2-token-command = get-token\n", &error);
  g_assert_no_error (error);
  g_assert_false (td_account_config_signs_in_itself (td_config_find_account (command, "mail")));
  g_autoptr (TdConfig) bad = oauth2_config ("imap.gmail.com", "oauth2-provider = yahoo\n"
                                            "oauth2-client-id = c\n", &error);
  g_assert_null (bad);
  g_assert_nonnull (strstr (error->message, "none of google, microsoft or custom"));
}

/* The example the README points to is a configuration that validates. */
/* A password may hold " #"; a folder pattern may hold "#" that follows no space. */
static void
test_hash_in_values (void)
{
  g_autofree char *text = g_strconcat (base, "password = open # sesame\nfolders = #news;INBOX\n",
                                       NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (TdConfig) c = td_config_load_from_data (text, "/cfg", &error);
  g_assert_no_error (error);
  TdAccountConfig *a = td_config_find_account (c, "work");
  g_assert_cmpstr (a->password, ==, "open # sesame");
  g_assert_cmpstrv (a->folders, ((const char *[]) { "#news", "INBOX", NULL }));
}

/* The example's comments are on lines of their own, so uncommenting a line gives a value
 * without one. */
static void
test_example_comments (void)
{
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (TD_SOURCE_ROOT "/data/tidings.conf.example", &text, NULL,
                                      NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint settings = 0;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *l = lines[i];
      if (g_str_has_prefix (l, "# "))
        l += 2;
      const char *eq = strstr (l, " = ");
      if (eq == NULL || !g_regex_match_simple ("^[a-z0-9-]+ = ", l, 0, 0))
        continue;
      settings++;
      if (strstr (eq, " #") != NULL)
        g_error ("line %u of the example has a comment after its value: %s", i + 1, lines[i]);
    }
  g_assert_cmpuint (settings, >, 30);
}

static void
test_example (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TdConfig) cfg = td_config_load (TD_SOURCE_ROOT "/data/tidings.conf.example", &error);

  g_assert_no_error (error);
  g_assert_cmpuint (cfg->accounts->len, ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add_func ("/config/every-key", test_every_key);
  g_test_add_func ("/config/errors-name-the-place", test_errors_name_the_place);
  g_test_add_func ("/config/insecure-needs-consent", test_insecure_needs_consent);
  g_test_add_func ("/config/inline-password-warning", test_inline_password_warning);
  g_test_add_func ("/config/example", test_example);
  g_test_add_func ("/config/example-comments", test_example_comments);
  g_test_add_func ("/config/hash-in-values", test_hash_in_values);
  g_test_add_func ("/config/tunnel", test_tunnel);
  g_test_add_func ("/config/max-size", test_max_size);
  g_test_add_func ("/config/max-age", test_max_age);
  g_test_add_func ("/config/trash", test_trash);
  g_test_add_func ("/config/layouts", test_layouts);
  g_test_add_func ("/config/provided", test_provided);
  g_test_add_func ("/config/oauth2", test_oauth2);
  return g_test_run ();
}
