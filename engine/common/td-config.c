/* td-config.c: loading and validating the GKeyFile configuration.
 *
 * Every key of every account is checked before anything is synced; the first bad value
 * stops the load with an error naming the file, the line, the group and the key. GKeyFile
 * does not keep line numbers, so they are recovered from the text for messages only.
 */
#include "engine/common/td-config.h"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

#include "engine/common/td-error.h"
#include "engine/common/td-secret.h"
#include "td-build-config.h"

#define TD_CONFIG_MAX_SIZE (1024 * 1024)
#define ACCOUNT_PREFIX "account "

typedef struct
{
  const char *path;
  const char *text;
  GKeyFile *kf;
  const char *group;
  GError **error;
  const char *provider;   /* nullable: who provided accounts besides the file */
  gboolean provider_missing; /* it could not be asked: groups that add to its accounts go */
  gboolean *user_groups;  /* by group index: whether the file has the group */
} Loader;

static const char *const general_keys[] = { "maildir-root", "state-dir", "goa", NULL };
static const char *const account_keys[] = {
  "protocol", "host", "port", "security", "allow-insecure-auth", "user", "auth", "password",
  "password-command", "oauth2-token-command", "tls-ca-file", "tls-fingerprint", "maildir",
  "layout", "folders", "exclude", "sync", "deletes", "watch", "keep-on-server",
  "delete-after-days", "timeout", "command-timeout", "poll-interval", "notify", "metered",
  "connections", "mail-reader-command", "post-sync-command", "new-mail-command",
  "tunnel-command", "max-size", "max-age", "folder-names", "flat-separator", "inbox",
  "mbsync-state", "trash", "goa-account", "oauth2-provider", "oauth2-client-id",
  "oauth2-client-secret", "oauth2-auth-url", "oauth2-token-url", "oauth2-device-url",
  "oauth2-scope", NULL
};

/* The providers Tidings knows the endpoints of; others are "custom", with the URL keys. */
static const struct
{
  const char *name;
  const char *hosts[3]; /* host suffixes that imply it */
  const char *auth_url, *token_url, *device_url, *scope;
} oauth2_presets[] = {
  { "google", { "gmail.com", "googlemail.com", NULL },
    "https://accounts.google.com/o/oauth2/v2/auth", "https://oauth2.googleapis.com/token",
    "https://oauth2.googleapis.com/device/code", "https://mail.google.com/" },
  { "microsoft", { "office365.com", "outlook.com", NULL },
    "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
    "https://login.microsoftonline.com/common/oauth2/v2.0/token",
    "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
    "https://outlook.office.com/IMAP.AccessAsUser.All "
    "https://outlook.office.com/POP.AccessAsUser.All offline_access" },
};

/* The line on which @key takes effect inside @group, or the group's line. */
static guint
find_line (const char *text, const char *group, const char *key)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  gboolean in_group = FALSE;
  guint group_line = 0, key_line = 0;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *l = lines[i];
      while (*l == ' ' || *l == '\t')
        l++;
      if (*l == '[')
        {
          const char *end = strrchr (l, ']');
          in_group = end != NULL && (gsize) (end - l - 1) == strlen (group)
                     && strncmp (l + 1, group, strlen (group)) == 0;
          if (in_group)
            group_line = i + 1;
          continue;
        }
      if (in_group && key != NULL && g_str_has_prefix (l, key))
        {
          const char *rest = l + strlen (key);
          while (*rest == ' ' || *rest == '\t')
            rest++;
          if (*rest == '=')
            key_line = i + 1; /* the last one wins, as in GKeyFile */
        }
    }
  return key_line ? key_line : group_line;
}

G_GNUC_PRINTF (3, 4) static gboolean
bad_key (Loader *ld, const char *key, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *what = g_strdup_vprintf (format, args);
  va_end (args);
  guint line = find_line (ld->text, ld->group, key);
  if (line == 0 && ld->provider != NULL)
    {
      /* Neither the key nor its group is in the file: the provider's account is wrong. */
      g_set_error (ld->error, TD_ERROR, TD_ERROR_CONFIG, "%s: [%s] %s: %s", ld->provider,
                   ld->group, key ? key : "", what);
      return FALSE;
    }
  if (key != NULL)
    g_set_error (ld->error, TD_ERROR, TD_ERROR_CONFIG, "%s:%u: [%s] %s: %s", ld->path, line,
                 ld->group, key, what);
  else
    g_set_error (ld->error, TD_ERROR, TD_ERROR_CONFIG, "%s:%u: [%s]: %s", ld->path, line,
                 ld->group, what);
  return FALSE;
}

static char *
get_string (Loader *ld, const char *key, const char *fallback)
{
  g_autofree char *raw = g_key_file_get_value (ld->kf, ld->group, key, NULL);
  if (raw == NULL)
    return g_strdup (fallback);
  return g_strstrip (g_key_file_get_string (ld->kf, ld->group, key, NULL) ?: g_strdup (""));
}

static char *
expand_home (const char *path)
{
  if (path == NULL)
    return NULL;
  if (g_str_equal (path, "~"))
    return g_strdup (g_get_home_dir ());
  if (g_str_has_prefix (path, "~/"))
    return g_build_filename (g_get_home_dir (), path + 2, NULL);
  return g_strdup (path);
}

static gboolean
get_path (Loader *ld, const char *key, const char *fallback, char **out)
{
  g_autofree char *value = get_string (ld, key, NULL);
  if (value == NULL)
    {
      *out = expand_home (fallback);
      return TRUE;
    }
  if (*value == '\0')
    return bad_key (ld, key, "an empty path; remove the line to get the default");
  *out = expand_home (value);
  if (!g_path_is_absolute (*out))
    return bad_key (ld, key, "“%s” is not an absolute path (write it from / or ~/)", value);
  return TRUE;
}

static gboolean
get_bool (Loader *ld, const char *key, gboolean fallback, gboolean *out)
{
  g_autofree char *value = get_string (ld, key, NULL);
  if (value == NULL)
    *out = fallback;
  else if (g_str_equal (value, "true") || g_str_equal (value, "yes"))
    *out = TRUE;
  else if (g_str_equal (value, "false") || g_str_equal (value, "no"))
    *out = FALSE;
  else
    return bad_key (ld, key, "“%s” is not a boolean (use true or false)", value);
  return TRUE;
}

static gboolean
get_uint (Loader *ld, const char *key, guint64 min, guint64 max, guint64 fallback, guint64 *out)
{
  g_autofree char *value = get_string (ld, key, NULL);
  g_autoptr (GError) local = NULL;
  if (value == NULL)
    {
      *out = fallback;
      return TRUE;
    }
  if (!g_ascii_string_to_unsigned (value, 10, min, max, out, &local))
    return bad_key (ld, key, "“%s” is not a whole number from %" G_GUINT64_FORMAT " to %"
                    G_GUINT64_FORMAT, value, min, max);
  return TRUE;
}

/* A size in bytes: a whole number, or one followed by K, M or G (powers of 1024, a trailing
 * B allowed: 10M, 512KB); 0 for none. */
static gboolean
get_size (Loader *ld, const char *key, guint64 *out)
{
  g_autofree char *value = get_string (ld, key, NULL);
  guint64 n = 0, unit = 1;
  char *end = NULL;

  *out = 0;
  if (value == NULL)
    return TRUE;
  if (g_ascii_isdigit (value[0]))
    n = g_ascii_strtoull (value, &end, 10);
  if (end != NULL && *end != '\0')
    {
      switch (g_ascii_toupper (*end))
        {
        case 'K': unit = G_GUINT64_CONSTANT (1) << 10; end++; break;
        case 'M': unit = G_GUINT64_CONSTANT (1) << 20; end++; break;
        case 'G': unit = G_GUINT64_CONSTANT (1) << 30; end++; break;
        default: break;
        }
      if (unit > 1 && g_ascii_toupper (*end) == 'B')
        end++;
    }
  if (end == NULL || *end != '\0' || n > G_MAXUINT64 / unit)
    return bad_key (ld, key, "“%s” is not a size: write bytes, or a number with K, M or G "
                    "(10M), or 0 for no limit", value);
  *out = n * unit;
  return TRUE;
}

/* Looks @value up in a NULL-terminated name table; the index is the enum value. */
static gboolean
get_enum (Loader *ld, const char *key, const char *const *names, int fallback, int *out)
{
  g_autofree char *value = get_string (ld, key, NULL);
  if (value == NULL)
    {
      *out = fallback;
      return TRUE;
    }
  for (int i = 0; names[i] != NULL; i++)
    if (g_ascii_strcasecmp (value, names[i]) == 0)
      {
        *out = i;
        return TRUE;
      }
  g_autofree char *choices = g_strjoinv (", ", (char **) names);
  return bad_key (ld, key, "“%s” is not one of: %s", value, choices);
}

static gboolean
get_list (Loader *ld, const char *key, const char *fallback, char ***out)
{
  g_autofree char *value = get_string (ld, key, fallback);
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (g_free);

  if (value != NULL)
    {
      g_auto (GStrv) parts = g_strsplit (value, ";", -1);
      for (guint i = 0; parts[i] != NULL; i++)
        {
          g_strstrip (parts[i]);
          if (*parts[i] != '\0')
            g_ptr_array_add (items, g_strdup (parts[i]));
        }
    }
  g_ptr_array_add (items, NULL);
  *out = (char **) g_ptr_array_free (g_steal_pointer (&items), FALSE);
  return TRUE;
}

static gboolean
get_argv (Loader *ld, const char *key, char ***out)
{
  g_autofree char *value = get_string (ld, key, NULL);
  g_autoptr (GError) local = NULL;
  *out = NULL;
  if (value == NULL)
    return TRUE;
  if (!g_shell_parse_argv (value, NULL, out, &local))
    return bad_key (ld, key, "cannot split the command into words: %s", local->message);
  return TRUE;
}

static gboolean
get_fingerprint (Loader *ld, TdAccountConfig *acct)
{
  g_autofree char *value = get_string (ld, "tls-fingerprint", NULL);
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  const char *hex;

  if (value == NULL)
    return TRUE;
  hex = value;
  /* As Tidings prints it (sha256:AB:CD:…) or as `openssl x509 -noout -fingerprint -sha256`
   * does (sha256 Fingerprint=AB:CD:…, SHA256 in older versions). */
  if (g_ascii_strncasecmp (hex, "sha256:", 7) == 0)
    hex += 7;
  else if (g_ascii_strncasecmp (hex, "sha256 fingerprint=", 19) == 0)
    hex += 19;
  for (const char *p = hex; *p != '\0';)
    {
      if (*p == ':' || *p == ' ')
        {
          p++;
          continue;
        }
      int hi = g_ascii_xdigit_value (p[0]);
      int lo = p[1] ? g_ascii_xdigit_value (p[1]) : -1;
      if (hi < 0 || lo < 0)
        return bad_key (ld, "tls-fingerprint", "not a SHA-256 fingerprint in hex "
                        "(sha256:AB:CD:…, as `openssl x509 -fingerprint -sha256` prints)");
      guint8 b = (guint8) (hi * 16 + lo);
      g_byte_array_append (bytes, &b, 1);
      p += 2;
    }
  if (bytes->len != 32)
    return bad_key (ld, "tls-fingerprint", "a SHA-256 fingerprint has 32 bytes, this has %u",
                    bytes->len);
  acct->tls_fingerprint = g_byte_array_free_to_bytes (g_steal_pointer (&bytes));
  return TRUE;
}

/* How many single-character edits turn @a into @b (at most a short key's length). */
static guint
edit_distance (const char *a, const char *b)
{
  guint la = strlen (a), lb = strlen (b);
  g_autofree guint *row = g_new (guint, lb + 1);

  for (guint j = 0; j <= lb; j++)
    row[j] = j;
  for (guint i = 1; i <= la; i++)
    {
      guint diagonal = row[0];
      row[0] = i;
      for (guint j = 1; j <= lb; j++)
        {
          guint up = row[j];
          row[j] = MIN (MIN (row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] != b[j - 1]));
          diagonal = up;
        }
    }
  return row[lb];
}

/* The known key closest to @key, when it is close enough to be what was meant. */
static const char *
closest_key (const char *key, const char *const *known)
{
  const char *best = NULL;
  guint best_distance = 3; /* a typo or two, not another word */

  for (guint i = 0; known[i] != NULL; i++)
    {
      guint d = edit_distance (key, known[i]);
      if (d < best_distance)
        {
          best = known[i];
          best_distance = d;
        }
    }
  return best;
}

/* How many times @key is set in @group (GKeyFile keeps only the last). */
static guint
times_set (const char *text, const char *group, const char *key)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  gboolean in_group = FALSE;
  guint n = 0;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *l = lines[i] + strspn (lines[i], " \t");
      if (*l == '[')
        {
          const char *end = strrchr (l, ']');
          in_group = end != NULL && (gsize) (end - l - 1) == strlen (group)
                     && strncmp (l + 1, group, strlen (group)) == 0;
          continue;
        }
      if (in_group && g_str_has_prefix (l, key))
        {
          const char *rest = l + strlen (key);
          rest += strspn (rest, " \t");
          n += *rest == '=';
        }
    }
  return n;
}

/* Every key of the group is known, set once, and holds no comment: GKeyFile has no
 * comments after a value, so "maildir = ~/Mail   # mine" would name a directory ending in
 * "# mine". A password may hold anything. */
static gboolean
check_keys (Loader *ld, const char *const *known)
{
  g_auto (GStrv) keys = g_key_file_get_keys (ld->kf, ld->group, NULL, NULL);
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      const char *key = keys[i];
      if (!g_strv_contains (known, key))
        {
          const char *meant = closest_key (key, known);
          if (meant != NULL)
            return bad_key (ld, key, "unknown key; did you mean “%s”?", meant);
          return bad_key (ld, key, "unknown key (every key is in `man tidings.conf` and "
                          TD_EXAMPLE_CONFIG ")");
        }
      if (times_set (ld->text, ld->group, key) > 1)
        return bad_key (ld, key, "set more than once in this group; keep one");
      g_autofree char *value = g_key_file_get_value (ld->kf, ld->group, key, NULL);
      gboolean comment = FALSE;
      for (const char *c = value; c != NULL && *c != '\0' && c[1] != '\0'; c++)
        comment = comment || (g_ascii_isspace (c[0]) && c[1] == '#');
      if (comment && !g_str_equal (key, "password"))
        return bad_key (ld, key, "“%s” holds a comment, which would become part of the value; "
                        "comments go on a line of their own", value);
    }
  return TRUE;
}

static const char *const security_names[] = { "tls", "starttls", "none", NULL };
static const char *const layout_names[] = { "verbatim", "maildir++", "legacy", "flat", NULL };
static const char *const name_encodings[] = { "utf-8", "utf-7", NULL };
static const char *const direction_names[] = { "both", "pull", "push", "none", NULL };
static const char *const auth_names[] = { "auto", "plain", "login", "scram-sha-256",
                                          "scram-sha-1", "cram-md5", "apop", "xoauth2",
                                          "oauthbearer", NULL };

static guint16
default_port (const char *protocol, TdSecurity security)
{
  gboolean pop3 = g_str_equal (protocol, "pop3");
  if (security == TD_SECURITY_TLS)
    return pop3 ? 995 : 993;
  return pop3 ? 110 : 143;
}

static gboolean
load_connection (Loader *ld, TdAccountConfig *a)
{
  guint64 port = 0;
  int v;

  a->protocol = get_string (ld, "protocol", NULL);
  if (a->protocol == NULL || *a->protocol == '\0')
    return bad_key (ld, "protocol", "missing; set it to imap or pop3");
  if (!g_regex_match_simple ("^[a-z0-9][a-z0-9_-]*$", a->protocol, 0, 0))
    return bad_key (ld, "protocol", "“%s” is not a protocol name", a->protocol);
  /* "imaps" and "pop3s" are port names, not protocols: TLS is the security key's. */
  if (g_str_equal (a->protocol, "imaps"))
    return bad_key (ld, "protocol", "“imaps” is IMAP over TLS: write protocol = imap (the "
                    "protocols are imap and pop3); TLS from the first byte, port 993, is the "
                    "default (security = tls)");
  if (g_str_equal (a->protocol, "pop3s") || g_str_equal (a->protocol, "pops"))
    return bad_key (ld, "protocol", "“%s” is POP3 over TLS: write protocol = pop3 (the "
                    "protocols are imap and pop3); TLS from the first byte, port 995, is the "
                    "default (security = tls)", a->protocol);
  a->protocol_line = find_line (ld->text, ld->group, "protocol");
  if (!get_argv (ld, "tunnel-command", &a->tunnel_command))
    return FALSE;
  if (a->tunnel_command != NULL && !g_str_equal (a->protocol, "imap"))
    return bad_key (ld, "tunnel-command", "is for IMAP accounts (protocol = imap)");
  a->host = get_string (ld, "host", NULL);
  if (a->tunnel_command != NULL)
    {
      /* The command is the connection: the user's own, secured as they set it up (ssh), so
       * neither TLS nor a host applies, and a server there that logs in by itself
       * (PREAUTH) needs no user or password. */
      if (a->host == NULL || *a->host == '\0')
        {
          g_free (a->host);
          a->host = g_strdup ("tunnel");
        }
      a->security = TD_SECURITY_NONE;
      a->allow_insecure_auth = TRUE;
      a->user = get_string (ld, "user", NULL);
      if (a->user == NULL || *a->user == '\0')
        {
          g_free (a->user);
          a->user = g_strdup (g_get_user_name ());
        }
      if (strpbrk (a->user, "\r\n") != NULL)
        return bad_key (ld, "user", "contains a line break");
      if (!get_enum (ld, "auth", auth_names, TD_AUTH_AUTO, &v))
        return FALSE;
      a->auth = v;
      return TRUE;
    }
  if (a->host == NULL || *a->host == '\0')
    return bad_key (ld, "host", "missing; set it to the server's host name, or set "
                    "tunnel-command");
  if (strpbrk (a->host, " /\t\r\n") != NULL)
    return bad_key (ld, "host", "“%s” is not a host name", a->host);
  if (!get_enum (ld, "security", security_names, TD_SECURITY_TLS, &v))
    return FALSE;
  a->security = v;
  if (!get_uint (ld, "port", 1, 65535, 0, &port))
    return FALSE;
  a->port = port ? (guint16) port : default_port (a->protocol, a->security);
  if (!get_bool (ld, "allow-insecure-auth", FALSE, &a->allow_insecure_auth))
    return FALSE;
  if (a->security == TD_SECURITY_NONE && !a->allow_insecure_auth)
    return bad_key (ld, "security", "“none” would send the password in clear text; use tls or "
                    "starttls, or also set allow-insecure-auth = true if you really mean it");
  a->user = get_string (ld, "user", NULL);
  if (a->user == NULL || *a->user == '\0')
    return bad_key (ld, "user", "missing; set it to the login name");
  if (strpbrk (a->user, "\r\n") != NULL)
    return bad_key (ld, "user", "contains a line break");
  if (!get_enum (ld, "auth", auth_names, TD_AUTH_AUTO, &v))
    return FALSE;
  a->auth = v;
  return get_fingerprint (ld, a);
}

/* An endpoint: https, or plain http to this machine only (a test or a local bridge). */
static gboolean
get_endpoint (Loader *ld, const char *key, const char *preset, char **out)
{
  g_autofree char *value = get_string (ld, key, NULL);
  g_autoptr (GUri) uri = NULL;

  if (value == NULL)
    {
      *out = g_strdup (preset);
      return TRUE;
    }
  uri = g_uri_parse (value, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return bad_key (ld, key, "“%s” is not a URL", value);
  const char *scheme = g_uri_get_scheme (uri);
  const char *host = g_uri_get_host (uri);
  gboolean local = g_str_equal (host, "localhost") || g_str_equal (host, "::1")
                   || g_str_has_prefix (host, "127.");
  if (!g_str_equal (scheme, "https") && !(g_str_equal (scheme, "http") && local))
    return bad_key (ld, key, "“%s” is not https: a token must not cross the network in clear "
                    "text (plain http is for 127.0.0.1 only)", value);
  *out = g_steal_pointer (&value);
  return TRUE;
}

/* Whether @host is @domain or a name under it (imap.gmail.com, not notgmail.com). */
static gboolean
host_in_domain (const char *host, const char *domain)
{
  gsize h = strlen (host), d = strlen (domain);

  return g_ascii_strcasecmp (host, domain) == 0
         || (h > d && host[h - d - 1] == '.' && g_ascii_strcasecmp (host + h - d, domain) == 0);
}

/* The built-in OAuth2 sign-in: the provider named, or the one the host implies. */
static gboolean
load_oauth2 (Loader *ld, TdAccountConfig *a)
{
  TdOAuth2Settings *o = &a->oauth2;
  g_autofree char *named = get_string (ld, "oauth2-provider", NULL);
  int preset = -1;

  for (guint i = 0; i < G_N_ELEMENTS (oauth2_presets); i++)
    {
      if (named != NULL && g_str_equal (named, oauth2_presets[i].name))
        preset = (int) i;
      for (guint h = 0; named == NULL && a->host && oauth2_presets[i].hosts[h] != NULL; h++)
        if (host_in_domain (a->host, oauth2_presets[i].hosts[h]))
          preset = (int) i;
    }
  if (named != NULL && preset < 0 && !g_str_equal (named, "custom"))
    return bad_key (ld, "oauth2-provider", "“%s” is none of google, microsoft or custom",
                    named);
  o->provider = g_strdup (preset >= 0 ? oauth2_presets[preset].name : "custom");
  o->client_id = get_string (ld, "oauth2-client-id", NULL);
  o->client_secret = get_string (ld, "oauth2-client-secret", NULL);
  if (!get_endpoint (ld, "oauth2-auth-url", preset >= 0 ? oauth2_presets[preset].auth_url
                                                        : NULL, &o->auth_url)
      || !get_endpoint (ld, "oauth2-token-url", preset >= 0 ? oauth2_presets[preset].token_url
                                                            : NULL, &o->token_url)
      || !get_endpoint (ld, "oauth2-device-url", preset >= 0 ? oauth2_presets[preset].device_url
                                                             : NULL, &o->device_url))
    return FALSE;
  o->scope = get_string (ld, "oauth2-scope", preset >= 0 ? oauth2_presets[preset].scope : "");
  if (o->client_id != NULL && *o->client_id == '\0')
    return bad_key (ld, "oauth2-client-id", "empty");
  if (o->client_id != NULL && (o->token_url == NULL
                               || (o->auth_url == NULL && o->device_url == NULL)))
    return bad_key (ld, "oauth2-client-id", "the provider is %s: set oauth2-token-url, and "
                    "oauth2-auth-url or oauth2-device-url (or oauth2-provider = google or "
                    "microsoft)", o->provider);
  return TRUE;
}

static gboolean
load_credentials (Loader *ld, TdAccountConfig *a)
{
  a->password = get_string (ld, "password", NULL);
  if (a->password != NULL && strpbrk (a->password, "\r\n") != NULL)
    return bad_key (ld, "password", "contains a line break");
  if (!get_argv (ld, "password-command", &a->password_command)
      || !get_argv (ld, "oauth2-token-command", &a->oauth2_token_command))
    return FALSE;
  a->goa_id = get_string (ld, "goa-account", NULL);
  if (a->goa_id != NULL && (*a->goa_id == '\0' || strpbrk (a->goa_id, "/ \t") != NULL))
    return bad_key (ld, "goa-account", "“%s” is not a GNOME Online Accounts id (such as "
                    "account_1700000000_0)", a->goa_id);
  if (!load_oauth2 (ld, a))
    return FALSE;
  if (td_account_config_uses_token (a) && !a->oauth2_token_command && a->goa_id == NULL
      && a->oauth2.client_id == NULL)
    return bad_key (ld, "oauth2-token-command", "auth = %s needs a token: set this, or "
                    "oauth2-client-id (and sign in once with `tidings oauth2 login %s`), or "
                    "goa-account", auth_names[a->auth], a->name);
  if (!get_path (ld, "tls-ca-file", NULL, &a->tls_ca_file))
    return FALSE;
  /* Found here rather than at the TLS handshake, so check-config catches it. */
  if (a->tls_ca_file != NULL && g_access (a->tls_ca_file, R_OK) != 0)
    {
      int saved = errno;
      return bad_key (ld, "tls-ca-file", "cannot read “%s”: %s", a->tls_ca_file,
                      g_strerror (saved));
    }
  return TRUE;
}

/* What only the daemon uses: how often to look without push, and what to tell the user. */
static gboolean
load_daemon_policy (Loader *ld, TdAccountConfig *a)
{
  static const char *const metered_names[] = { "pause", "sync", NULL };
  guint64 n;
  int v;

  if (!get_uint (ld, "poll-interval", 10, 86400, 300, &n))
    return FALSE;
  a->poll_interval_seconds = (guint) n;
  if (!get_bool (ld, "notify", TRUE, &a->notify)
      || !get_argv (ld, "mail-reader-command", &a->mail_reader_command))
    return FALSE;
  if (!get_enum (ld, "metered", metered_names, 0, &v))
    return FALSE;
  a->sync_when_metered = v == 1;
  return TRUE;
}

/* How folders are laid out below the Maildir, how their names are written, and where INBOX
 * is when it has a directory of its own. */
static gboolean
load_layout (Loader *ld, TdAccountConfig *a)
{
  int v;

  if (!get_enum (ld, "layout", layout_names, TD_LAYOUT_VERBATIM, &v))
    return FALSE;
  a->layout = td_folder_layout_default (v);
  if (!get_enum (ld, "folder-names", name_encodings, a->layout.utf7, &v))
    return FALSE;
  a->layout.utf7 = v == 1;
  g_autofree char *separator = get_string (ld, "flat-separator", NULL);
  if (separator != NULL)
    {
      if (strlen (separator) != 1 || !g_ascii_ispunct (separator[0]) || separator[0] == '/')
        return bad_key (ld, "flat-separator", "“%s” is not one punctuation character (other "
                        "than '/')", separator);
      a->layout.separator = separator[0];
    }
  if (!get_path (ld, "inbox", NULL, &a->inbox))
    return FALSE;
  /* Where mbsync kept its state outside the folders: read once, when taking its Maildir
   * over; "{}" stands for a folder's name as mbsync writes it there. */
  if (!get_path (ld, "mbsync-state", NULL, &a->mbsync_state))
    return FALSE;
  if (a->mbsync_state != NULL && strstr (a->mbsync_state, "{}") == NULL)
    return bad_key (ld, "mbsync-state", "“%s” has no {} for the folder's name (tidings import "
                    "mbsync writes this key)", a->mbsync_state);
  if (a->inbox != NULL && g_strcmp0 (a->protocol, "pop3") == 0)
    return bad_key (ld, "inbox", "POP3 mail goes to the maildir itself; set maildir to this "
                    "directory instead");
  a->layout.inbox_apart = a->inbox != NULL;
  return TRUE;
}

/* trash: where messages deleted here go on the server. "true" is the folder the server
 * marks \Trash (SPECIAL-USE); any other value but "false" names the folder. */
static gboolean
load_trash (Loader *ld, TdAccountConfig *a)
{
  g_autofree char *value = get_string (ld, "trash", NULL);

  if (value == NULL || *value == '\0' || g_ascii_strcasecmp (value, "false") == 0)
    return TRUE;
  if (g_strcmp0 (a->protocol, "pop3") == 0)
    return bad_key (ld, "trash", "a POP3 mailbox has no folders to move deleted mail to; "
                    "remove the key from this account");
  if (g_ascii_strcasecmp (value, "true") == 0)
    a->trash = g_strdup ("");
  else
    a->trash = g_steal_pointer (&value);
  return TRUE;
}

/* max-size and max-age: which messages stay on the server. */
static gboolean
load_partial (Loader *ld, TdAccountConfig *a)
{
  guint64 n;

  if (!get_size (ld, "max-size", &a->max_size)
      || !get_uint (ld, "max-age", 0, 36500, 0, &n))
    return FALSE;
  a->max_age_days = (guint) n;
  /* A POP3 server tells no dates short of downloading each header: say so, not ignore it. */
  if (a->max_age_days > 0 && g_strcmp0 (a->protocol, "pop3") == 0)
    return bad_key (ld, "max-age", "a POP3 server does not tell when a message came, so "
                    "max-age works only with protocol = imap; remove it from this account");
  return TRUE;
}

static gboolean
load_sync_policy (Loader *ld, TdConfig *cfg, TdAccountConfig *a)
{
  g_autofree char *default_maildir = g_build_filename (cfg->maildir_root, a->name, NULL);
  guint64 n;
  int v;

  if (!get_path (ld, "maildir", default_maildir, &a->maildir))
    return FALSE;
  if (!load_layout (ld, a))
    return FALSE;
  get_list (ld, "folders", "*", &a->folders);
  get_list (ld, "exclude", NULL, &a->exclude);
  get_list (ld, "watch", "INBOX", &a->watch);
  if (!get_enum (ld, "sync", direction_names, TD_DIRECTION_BOTH, &v))
    return FALSE;
  if (v == TD_DIRECTION_NONE)
    return bad_key (ld, "sync", "“none” would sync nothing; use both, pull or push");
  a->sync = v;
  if (!get_enum (ld, "deletes", direction_names, TD_DIRECTION_BOTH, &v))
    return FALSE;
  a->deletes = v;
  if (!get_bool (ld, "keep-on-server", TRUE, &a->keep_on_server))
    return FALSE;
  if (!get_uint (ld, "delete-after-days", 0, 36500, 0, &n))
    return FALSE;
  a->delete_after_days = (guint) n;
  if (!get_uint (ld, "timeout", 5, 3600, 60, &n))
    return FALSE;
  a->timeout_seconds = (guint) n;
  if (!get_uint (ld, "command-timeout", 1, 3600, 30, &n))
    return FALSE;
  a->command_timeout_seconds = (guint) n;
  if (!load_partial (ld, a) || !load_trash (ld, a))
    return FALSE;
  if (!get_argv (ld, "post-sync-command", &a->post_sync_command)
      || !get_argv (ld, "new-mail-command", &a->new_mail_command))
    return FALSE;
  if (!get_uint (ld, "connections", 1, TD_MAX_CONNECTIONS, TD_DEFAULT_CONNECTIONS, &n))
    return FALSE;
  a->connections = (guint) n;
  return load_daemon_policy (ld, a);
}

static TdAccountConfig *
load_account (Loader *ld, TdConfig *cfg, const char *name)
{
  g_autoptr (TdAccountConfig) a = g_atomic_rc_box_new0 (TdAccountConfig);

  a->name = g_strdup (name);
  a->config_file = g_strdup (ld->path);
  a->timeout_seconds = 60;
  a->command_timeout_seconds = 30;
  a->connections = TD_DEFAULT_CONNECTIONS;
  a->poll_interval_seconds = 300;
  a->notify = TRUE;
  if (!g_regex_match_simple ("^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$", name, 0, 0))
    {
      bad_key (ld, NULL, "“%s” is not a usable account name (letters, digits, . _ @ + -; "
               "at most 64)", name);
      return NULL;
    }
  if (!check_keys (ld, account_keys) || !load_connection (ld, a)
      || !load_credentials (ld, a) || !load_sync_policy (ld, cfg, a))
    return NULL;
  return g_steal_pointer (&a);
}

/* GKeyFile merges a group that appears twice; a second [account x] is a mistake to report. */
static gboolean
check_duplicate_groups (Loader *ld)
{
  g_auto (GStrv) lines = g_strsplit (ld->text, "\n", -1);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *l = g_strstrip (lines[i]);
      char *end = strrchr (l, ']');
      if (*l != '[' || end == NULL)
        continue;
      char *name = g_strndup (l + 1, end - l - 1);
      if (!g_hash_table_add (seen, name))
        {
          g_set_error (ld->error, TD_ERROR, TD_ERROR_CONFIG, "%s:%u: [%s] is defined twice; "
                       "merge the two groups", ld->path, i + 1, name);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
load_groups (Loader *ld, TdConfig *cfg)
{
  g_autofree char *default_state = g_build_filename (g_get_user_state_dir (), "tidings", NULL);
  g_autofree char *default_root = g_build_filename (g_get_home_dir (), "Mail", NULL);
  g_auto (GStrv) groups = g_key_file_get_groups (ld->kf, NULL);

  if (!check_duplicate_groups (ld))
    return FALSE;
  ld->group = "general";
  if (g_key_file_has_group (ld->kf, "general"))
    {
      if (!check_keys (ld, general_keys))
        return FALSE;
    }
  if (!get_path (ld, "maildir-root", default_root, &cfg->maildir_root)
      || !get_path (ld, "state-dir", default_state, &cfg->state_dir)
      || !get_bool (ld, "goa", FALSE, &cfg->goa))
    return FALSE;

  for (guint i = 0; groups[i] != NULL; i++)
    {
      ld->group = groups[i];
      if (g_str_equal (groups[i], "general"))
        continue;
      if (!g_str_has_prefix (groups[i], ACCOUNT_PREFIX))
        return bad_key (ld, NULL, "unknown group; accounts are written [account NAME]");
      const char *name = groups[i] + strlen (ACCOUNT_PREFIX);
      if (ld->provider != NULL && !g_key_file_has_key (ld->kf, groups[i], "protocol", NULL))
        {
          /* It adds to an account the provider does not give (now). */
          g_ptr_array_add (cfg->warnings,
                           g_strdup_printf ("%s:%u: [%s] has no protocol, so it adds to an "
                                            "account of %s, %s: left out", ld->path,
                                            find_line (ld->text, groups[i], NULL), groups[i],
                                            ld->provider, ld->provider_missing
                                              ? "which cannot be reached this time"
                                              : "which has no such account (removed?)"));
          continue;
        }
      if (td_config_find_account (cfg, name) != NULL)
        return bad_key (ld, NULL, "account “%s” is defined twice", name);
      TdAccountConfig *a = load_account (ld, cfg, name);
      if (a == NULL)
        return FALSE;
      if (ld->provider != NULL && !ld->user_groups[i])
        {
          g_free (a->config_file);
          a->config_file = g_strdup (ld->provider);
        }
      g_ptr_array_add (cfg->accounts, a);
    }
  return TRUE;
}

static void
warn_inline_passwords (TdConfig *cfg)
{
  GStatBuf st;
  if (g_stat (cfg->path, &st) != 0 || (st.st_mode & 0077) == 0)
    return;
  for (guint i = 0; i < cfg->accounts->len; i++)
    {
      TdAccountConfig *a = g_ptr_array_index (cfg->accounts, i);
      if (a->password != NULL)
        g_ptr_array_add (cfg->warnings,
                         g_strdup_printf ("%s: account %s has an inline password and the file "
                                          "is readable by others; run chmod 600 %s, or use "
                                          "password-command or the keyring", cfg->path,
                                          a->name, cfg->path));
      else if (a->oauth2.client_secret != NULL)
        g_ptr_array_add (cfg->warnings,
                         g_strdup_printf ("%s: account %s has an oauth2-client-secret and the "
                                          "file is readable by others; run chmod 600 %s",
                                          cfg->path, a->name, cfg->path));
    }
}

/**
 * td_config_load_from_data:
 * @data: the configuration text
 * @path: the file it came from, for messages and the permission check
 * @error: return location for a %TD_ERROR_CONFIG error
 *
 * Returns: (transfer full) (nullable): the validated configuration
 */
TdConfig *
td_config_load_from_data (const char *data, const char *path, GError **error)
{
  return td_config_load_merged (data, path, NULL, NULL, error);
}

/* Adds @provided's groups to @kf; where @kf has the group, its own keys win. */
static void
merge_provided (GKeyFile *kf, GKeyFile *provided)
{
  g_auto (GStrv) groups = g_key_file_get_groups (provided, NULL);

  for (guint i = 0; groups[i] != NULL; i++)
    {
      g_auto (GStrv) keys = g_key_file_get_keys (provided, groups[i], NULL, NULL);
      for (guint k = 0; keys != NULL && keys[k] != NULL; k++)
        if (!g_key_file_has_key (kf, groups[i], keys[k], NULL))
          {
            g_autofree char *value = g_key_file_get_value (provided, groups[i], keys[k], NULL);
            g_key_file_set_value (kf, groups[i], keys[k], value);
          }
    }
}

/* Sets @a->definition: a digest of its group and of [general], the keys it is made of, so
 * that a daemon loading the file again can tell which accounts changed. A digest, not the
 * text: a password is not kept twice. */
static void
define (GKeyFile *kf, const TdConfig *cfg, TdAccountConfig *a)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *group = g_strconcat (ACCOUNT_PREFIX, a->name, NULL);
  const char *groups[] = { "general", group };

  for (guint g = 0; g < G_N_ELEMENTS (groups); g++)
    {
      g_auto (GStrv) keys = g_key_file_get_keys (kf, groups[g], NULL, NULL);
      for (guint k = 0; keys != NULL && keys[k] != NULL; k++)
        {
          char *value = g_key_file_get_value (kf, groups[g], keys[k], NULL);
          g_checksum_update (sum, (const guchar *) groups[g], -1);
          g_checksum_update (sum, (const guchar *) "\n", 1);
          g_checksum_update (sum, (const guchar *) keys[k], -1);
          g_checksum_update (sum, (const guchar *) "=", 1);
          g_checksum_update (sum, (const guchar *) (value ? value : ""), -1);
          g_checksum_update (sum, (const guchar *) "\n", 1);
          td_secret_free (value); /* it may be a password */
        }
    }
  g_free (a->definition);
  a->definition = g_strdup (g_checksum_get_string (sum));
}

/**
 * td_config_load_merged:
 * @data: the configuration text
 * @path: the file it came from, for messages and the permission check
 * @provided: (nullable): more `[account NAME]` groups, from @provider (GNOME Online
 *   Accounts): a group the file has too takes the file's keys first, so the file can
 *   override what @provider says
 * @provider: (nullable): who provided them, named as the accounts' origin in messages; with
 *   @provided %NULL, @provider could not be asked. Groups of the file that only add to its
 *   accounts (no `protocol`) but that it did not provide are left out with a warning.
 * @error: return location for a %TD_ERROR_CONFIG error
 *
 * Returns: (transfer full) (nullable): the validated configuration
 */
TdConfig *
td_config_load_merged (const char *data, const char *path, GKeyFile *provided,
                       const char *provider, GError **error)
{
  g_autoptr (TdConfig) cfg = g_new0 (TdConfig, 1);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local = NULL;
  Loader ld = { path, data, kf, "general", error, provider, provider != NULL && provided == NULL,
                NULL };

  cfg->path = g_strdup (path);
  cfg->accounts = g_ptr_array_new_with_free_func ((GDestroyNotify) td_account_config_unref);
  cfg->warnings = g_ptr_array_new_with_free_func (g_free);
  if (!g_key_file_load_from_data (kf, data, -1, G_KEY_FILE_NONE, &local))
    {
      g_set_error (error, TD_ERROR, TD_ERROR_CONFIG, "%s: %s", path, local->message);
      return NULL;
    }
  if (provided != NULL)
    merge_provided (kf, provided);
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);
  g_autofree gboolean *user_groups = g_new0 (gboolean, g_strv_length (groups) + 1);
  for (guint i = 0; groups[i] != NULL; i++)
    user_groups[i] = find_line (data, groups[i], NULL) > 0;
  ld.user_groups = user_groups;
  if (!load_groups (&ld, cfg))
    return NULL;
  for (guint i = 0; i < cfg->accounts->len; i++)
    define (kf, cfg, g_ptr_array_index (cfg->accounts, i));
  warn_inline_passwords (cfg);
  return g_steal_pointer (&cfg);
}

/**
 * td_config_load:
 * @path: the configuration file
 * @error: return location for a %TD_ERROR_CONFIG error
 *
 * Returns: (transfer full) (nullable): the validated configuration
 */
TdConfig *
td_config_load (const char *path, GError **error)
{
  g_autofree char *data = td_config_read (path, error);

  return data != NULL ? td_config_load_from_data (data, path, error) : NULL;
}

/**
 * td_config_read:
 * @path: the configuration file
 * @error: return location for a %TD_ERROR_CONFIG error
 *
 * Returns: (transfer full) (nullable): its text, once known to be UTF-8 of at most 1 MiB
 */
char *
td_config_read (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  g_autoptr (GError) local = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &data, &len, &local))
    {
      g_set_error (error, TD_ERROR, TD_ERROR_CONFIG,
                   "cannot read the configuration: %s. Write one from the example, "
                   TD_EXAMPLE_CONFIG " (`man tidings.conf` describes every key)",
                   local->message);
      return NULL;
    }
  if (len > TD_CONFIG_MAX_SIZE || strlen (data) != len || !g_utf8_validate (data, len, NULL))
    {
      g_set_error (error, TD_ERROR, TD_ERROR_CONFIG, "%s: not a UTF-8 text file of at most 1 MiB",
                   path);
      return NULL;
    }
  return g_steal_pointer (&data);
}

void
td_config_free (TdConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->path);
  g_free (config->maildir_root);
  g_free (config->state_dir);
  g_ptr_array_unref (config->accounts);
  g_ptr_array_unref (config->warnings);
  g_free (config);
}

/**
 * td_config_default_path:
 *
 * Returns: (transfer full): `$XDG_CONFIG_HOME/tidings/config`
 */
char *
td_config_default_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "tidings", "config", NULL);
}

/**
 * td_config_find_account:
 * @config: a configuration
 * @name: an account name
 *
 * Returns: (transfer none) (nullable): the account called @name
 */
TdAccountConfig *
td_config_find_account (TdConfig *config, const char *name)
{
  for (guint i = 0; i < config->accounts->len; i++)
    {
      TdAccountConfig *a = g_ptr_array_index (config->accounts, i);
      if (g_str_equal (a->name, name))
        return a;
    }
  return NULL;
}

static void
account_config_clear (TdAccountConfig *a)
{
  g_free (a->name);
  g_free (a->config_file);
  g_free (a->goa_id);
  g_free (a->definition);
  g_free (a->oauth2.provider);
  g_free (a->oauth2.client_id);
  td_secret_free (a->oauth2.client_secret);
  g_free (a->oauth2.auth_url);
  g_free (a->oauth2.token_url);
  g_free (a->oauth2.device_url);
  g_free (a->oauth2.scope);
  g_free (a->protocol);
  g_free (a->host);
  g_strfreev (a->tunnel_command);
  g_free (a->user);
  if (a->password != NULL)
    explicit_bzero (a->password, strlen (a->password));
  g_free (a->password);
  g_strfreev (a->password_command);
  g_strfreev (a->mail_reader_command);
  g_strfreev (a->post_sync_command);
  g_strfreev (a->new_mail_command);
  g_strfreev (a->oauth2_token_command);
  g_free (a->tls_ca_file);
  g_clear_pointer (&a->tls_fingerprint, g_bytes_unref);
  g_free (a->maildir);
  g_free (a->inbox);
  g_free (a->mbsync_state);
  g_free (a->trash);
  g_strfreev (a->folders);
  g_strfreev (a->exclude);
  g_strfreev (a->watch);
}

TdAccountConfig *
td_account_config_ref (TdAccountConfig *account)
{
  return g_atomic_rc_box_acquire (account);
}

void
td_account_config_unref (TdAccountConfig *account)
{
  g_atomic_rc_box_release_full (account, (GDestroyNotify) account_config_clear);
}

/**
 * td_folder_pattern_matches:
 * @pattern: a folder pattern (`*` and `?` as in a shell)
 * @name: a folder name with '/' as the hierarchy delimiter
 *
 * INBOX is a name in any case (RFC 3501), so `inbox` matches it and `Inbox/Sent` its child; every
 * other name matches as written.
 *
 * Returns: whether @pattern takes in @name
 */
gboolean
td_folder_pattern_matches (const char *pattern, const char *name)
{
  if (g_ascii_strncasecmp (pattern, "INBOX", 5) == 0 && (pattern[5] == '\0' || pattern[5] == '/')
      && strncmp (name, "INBOX", 5) == 0)
    {
      g_autofree char *upper = g_strconcat ("INBOX", pattern + 5, NULL);
      return g_pattern_match_simple (upper, name);
    }
  return g_pattern_match_simple (pattern, name);
}

static gboolean
matches_any (char *const *patterns, const char *name)
{
  for (guint i = 0; patterns != NULL && patterns[i] != NULL; i++)
    if (td_folder_pattern_matches (patterns[i], name))
      return TRUE;
  return FALSE;
}

/**
 * td_folder_patterns_name:
 * @patterns: (array zero-terminated=1) (nullable): folder patterns
 * @name: a folder name with '/' as the hierarchy delimiter
 *
 * Returns: whether one of @patterns names @name itself, with no wildcard: the way to keep a
 *   folder that is left out unless asked for by name (a Gmail-style All Mail)
 */
gboolean
td_folder_patterns_name (char *const *patterns, const char *name)
{
  for (guint i = 0; patterns != NULL && patterns[i] != NULL; i++)
    if (strpbrk (patterns[i], "*?") == NULL && td_folder_pattern_matches (patterns[i], name))
      return TRUE;
  return FALSE;
}

/**
 * td_folder_pattern_miss:
 * @pattern: a folder pattern that matched none of @names
 * @names: (array zero-terminated=1): the folders there are
 * @where: where the pattern was given ("--folder", "folders in FILE")
 *
 * Returns: (transfer full): what to tell the user: the pattern, where it came from, and
 *   the names it may have meant (close in spelling, or all of them when there are few)
 */
char *
td_folder_pattern_miss (const char *pattern, const char *const *names, const char *where)
{
  GString *out = g_string_new (NULL);
  g_autofree char *lower = g_ascii_strdown (pattern, -1);
  guint limit = MAX (2, (guint) strlen (pattern) / 3), shown = 0, count = 0;

  g_string_append_printf (out, "folder pattern “%s” (%s) matches no folder", pattern, where);
  if (strchr (pattern, ',') != NULL)
    g_string_append (out, "; patterns are separated by “;”, not “,”");
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *name = g_ascii_strdown (names[i], -1);
      count++;
      if (edit_distance (lower, name) > limit && strstr (name, lower) == NULL)
        continue;
      g_string_append_printf (out, shown++ == 0 ? "; did you mean “%s”" : ", “%s”", names[i]);
      if (shown == 5)
        break;
    }
  if (shown == 0 && count > 0 && count <= 12)
    {
      g_string_append (out, "; the folders are ");
      for (guint i = 0; names[i] != NULL; i++)
        g_string_append_printf (out, i ? ", %s" : "%s", names[i]);
    }
  else if (shown > 0)
    g_string_append (out, "?");
  return g_string_free (out, FALSE);
}

/**
 * td_account_config_wants_folder:
 * @account: an account
 * @name: a folder name with '/' as the hierarchy delimiter
 *
 * Returns: %TRUE when @name matches `folders` and none of `exclude`. A pattern also covers
 *   the folders below what it names (`exclude = Trash` leaves out `Trash/Old`).
 */
gboolean
td_account_config_wants_folder (const TdAccountConfig *account, const char *name)
{
  g_autofree char *below = NULL;

  if (!matches_any (account->folders, name))
    return FALSE;
  if (matches_any (account->exclude, name))
    return FALSE;
  for (char *slash = strchr (name, '/'); slash != NULL; slash = strchr (slash + 1, '/'))
    {
      g_free (below);
      below = g_strndup (name, slash - name);
      if (matches_any (account->exclude, below))
        return FALSE;
    }
  return TRUE;
}

const char *
td_security_to_string (TdSecurity security)
{
  return security_names[security];
}

/**
 * td_account_config_uses_token:
 * @account: an account
 *
 * Returns: %TRUE when the account logs in with an OAuth2 access token (auth = xoauth2 or
 *   oauthbearer) rather than a password
 */
gboolean
td_account_config_uses_token (const TdAccountConfig *account)
{
  return account->auth == TD_AUTH_XOAUTH2 || account->auth == TD_AUTH_OAUTHBEARER;
}

/**
 * td_account_config_signs_in_itself:
 * @account: an account
 *
 * Returns: %TRUE when the account gets its access tokens from Tidings' own OAuth2 sign-in
 *   (`tidings oauth2 login`): it uses a token, has an oauth2-client-id, and neither
 *   oauth2-token-command nor goa-account, which win when set
 */
gboolean
td_account_config_signs_in_itself (const TdAccountConfig *account)
{
  return td_account_config_uses_token (account) && account->oauth2_token_command == NULL
         && account->goa_id == NULL && account->oauth2.client_id != NULL;
}

/**
 * td_account_config_token_advice:
 * @account: an account whose server refused its access token
 *
 * What to do when the server refuses the access token even after a fresh one was asked for:
 * it depends on where the token came from.
 *
 * Returns: (transfer full): advice for the end of an error message
 */
char *
td_account_config_token_advice (const TdAccountConfig *account)
{
  if (account->oauth2_token_command != NULL)
    return g_strdup ("check that oauth2-token-command prints a current access token for this "
                     "user");
  if (account->goa_id != NULL)
    return g_strdup ("check the account in Settings → Online Accounts");
  return g_strdup_printf ("check the user name, then sign in again with `tidings oauth2 "
                          "login %s`", account->name);
}
