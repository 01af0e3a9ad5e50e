/* td-import.c: an mbsync (.mbsyncrc) or offlineimap (.offlineimaprc) configuration as a
 * Tidings one. See td-import.h.
 *
 * mbsync's file is a list of "Keyword value" lines; IMAPAccount, IMAPStore, MaildirStore,
 * Channel and Group start a section. Every Channel between an IMAP store and a Maildir
 * store becomes an account named after it. offlineimap's is an INI file whose [general]
 * accounts name [Account X] sections, each joining a local and a remote [Repository Y].
 * What has no Tidings equivalent (Python code above all) is left out and said, a line each,
 * both on the list the caller prints and as a comment in the result. Nothing here touches
 * the network or the disk.
 */
#include "engine/common/td-import.h"

#include <string.h>

#include "engine/common/td-error.h"

typedef enum
{
  SECTION_NONE,
  SECTION_ACCOUNT,
  SECTION_IMAP_STORE,
  SECTION_MAILDIR_STORE,
  SECTION_CHANNEL,
  SECTION_GROUP,
} SectionKind;

typedef struct
{
  SectionKind kind;
  char *name;
  GPtrArray *keys;   /* char *: lower-case keywords, in order */
  GPtrArray *values; /* char *: their values, unquoted (the words joined by one space) */
  GPtrArray *words;  /* GStrv: the same values, word by word */
} Section;

static void
section_free (Section *s)
{
  g_free (s->name);
  g_ptr_array_unref (s->keys);
  g_ptr_array_unref (s->values);
  g_ptr_array_unref (s->words);
  g_free (s);
}

/* The last value of @key in @s, or NULL. */
static const char *
get (const Section *s, const char *key)
{
  if (s == NULL)
    return NULL;
  for (guint i = s->keys->len; i-- > 0;)
    if (g_str_equal (g_ptr_array_index (s->keys, i), key))
      return g_ptr_array_index (s->values, i);
  return NULL;
}

/* The words of the last value of @key in @s, or NULL. */
static char **
get_words (const Section *s, const char *key)
{
  for (guint i = s->keys->len; i-- > 0;)
    if (g_str_equal (g_ptr_array_index (s->keys, i), key))
      return g_ptr_array_index (s->words, i);
  return NULL;
}

static Section *
find (GPtrArray *sections, SectionKind kind, const char *name)
{
  for (guint i = 0; name != NULL && i < sections->len; i++)
    {
      Section *s = g_ptr_array_index (sections, i);
      if (s->kind == kind && g_str_equal (s->name, name))
        return s;
    }
  return NULL;
}

/* The words of a line, mbsync's way: separated by blanks, "double quotes" around a word with
 * blanks, a backslash taking the next character as it is. */
static GPtrArray *
split_words (const char *line)
{
  GPtrArray *words = g_ptr_array_new_with_free_func (g_free);
  const char *p = line;

  while (*p != '\0')
    {
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p == '\0' || *p == '#')
        break;
      GString *w = g_string_new (NULL);
      gboolean quoted = FALSE;
      for (; *p != '\0' && (quoted || (*p != ' ' && *p != '\t')); p++)
        {
          if (*p == '"')
            quoted = !quoted;
          else if (*p == '\\' && p[1] != '\0')
            g_string_append_c (w, *++p);
          else
            g_string_append_c (w, *p);
        }
      g_ptr_array_add (words, g_string_free (w, FALSE));
    }
  return words;
}

static SectionKind
section_kind (const char *keyword)
{
  static const struct
  {
    const char *name;
    SectionKind kind;
  } kinds[] = { { "imapaccount", SECTION_ACCOUNT },     { "imapstore", SECTION_IMAP_STORE },
                { "maildirstore", SECTION_MAILDIR_STORE }, { "channel", SECTION_CHANNEL },
                { "group", SECTION_GROUP } };
  for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (g_str_equal (keyword, kinds[i].name))
      return kinds[i].kind;
  return SECTION_NONE;
}

static Section *
section_new (GPtrArray *sections, SectionKind kind, const char *name)
{
  Section *s = g_new0 (Section, 1);
  s->kind = kind;
  s->name = g_strdup (name);
  s->keys = g_ptr_array_new_with_free_func (g_free);
  s->values = g_ptr_array_new_with_free_func (g_free);
  s->words = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_ptr_array_add (sections, s);
  return s;
}

/* The sections in order, after one of kind SECTION_NONE that holds the global options found
 * before the first section. */
static GPtrArray *
parse (const char *text)
{
  GPtrArray *sections = g_ptr_array_new_with_free_func ((GDestroyNotify) section_free);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  Section *cur = section_new (sections, SECTION_NONE, "");

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr (GPtrArray) words = split_words (g_strchomp (lines[i]));
      if (words->len == 0)
        continue;
      g_autofree char *keyword = g_ascii_strdown (g_ptr_array_index (words, 0), -1);
      SectionKind kind = section_kind (keyword);
      if (kind != SECTION_NONE)
        {
          cur = section_new (sections, kind,
                             words->len > 1 ? (char *) g_ptr_array_index (words, 1) : "");
          continue;
        }
      GString *value = g_string_new (NULL);
      for (guint k = 1; k < words->len; k++)
        g_string_append_printf (value, "%s%s", k > 1 ? " " : "",
                                (char *) g_ptr_array_index (words, k));
      GStrvBuilder *b = g_strv_builder_new ();
      for (guint k = 1; k < words->len; k++)
        g_strv_builder_add (b, g_ptr_array_index (words, k));
      g_ptr_array_add (cur->keys, g_steal_pointer (&keyword));
      g_ptr_array_add (cur->values, g_string_free (value, FALSE));
      g_ptr_array_add (cur->words, g_strv_builder_end (b));
      g_strv_builder_unref (b);
    }
  return sections;
}

/* Notes */

static void
note (GPtrArray *notes, GString *out, const char *channel, const char *format, ...)
  G_GNUC_PRINTF (4, 5);

static void
note (GPtrArray *notes, GString *out, const char *channel, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *text = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add (notes, g_strdup_printf ("%s: %s", channel, text));
  g_string_append_printf (out, "# Note: %s\n", text);
}

/* A value as a config line can hold it: no line break can get in. */
static void
put (GString *out, const char *key, const char *value)
{
  g_autofree char *flat = g_strdelimit (g_strdup (value), "\r\n", ' ');
  g_string_append_printf (out, "%s = %s\n", key, flat);
}

/* Whether a shell would do more with @cmd than split it into words. */
static gboolean
needs_shell (const char *cmd)
{
  return strpbrk (cmd, "|&;<>()$`*?[]~{}!\n") != NULL;
}

/* A command mbsync runs through the shell, as a command line Tidings splits itself. */
static char *
command_of (const char *cmd)
{
  if (!needs_shell (cmd))
    return g_strdup (cmd);
  g_autofree char *quoted = g_shell_quote (cmd);
  return g_strdup_printf ("sh -c %s", quoted);
}

/* a b !c -> folders "a;b", exclude "c"; '%' (one level) has no equivalent. */
static void
put_patterns (GString *out, GPtrArray *notes, const char *channel, char **words)
{
  g_autoptr (GString) take = g_string_new (NULL), leave = g_string_new (NULL);

  for (guint i = 0; words[i] != NULL; i++)
    {
      const char *w = words[i];
      if (*w == '\0')
        continue;
      if (strchr (w, '%') != NULL)
        {
          note (notes, out, channel, "pattern “%s”: '%%' (one level) has no equivalent; "
                "'*' below matches all levels", w);
          continue;
        }
      GString *to = *w == '!' ? leave : take;
      g_string_append_printf (to, "%s%s", to->len ? ";" : "", w + (*w == '!'));
    }
  if (take->len > 0)
    put (out, "folders", take->str);
  if (leave->len > 0)
    put (out, "exclude", leave->str);
}

/* Which way a Far/Near/Both/None setting goes, as a Tidings direction (the Maildir is
 * near). */
static const char *
direction_of (const char *v)
{
  if (v == NULL || g_ascii_strcasecmp (v, "none") == 0)
    return "none";
  if (g_ascii_strcasecmp (v, "both") == 0)
    return "both";
  if (g_ascii_strcasecmp (v, "far") == 0 || g_ascii_strcasecmp (v, "master") == 0)
    return "push";
  if (g_ascii_strcasecmp (v, "near") == 0 || g_ascii_strcasecmp (v, "slave") == 0)
    return "pull";
  return NULL;
}

/* The store a Far or Near value names (":name:" or ":name:mailbox"), and its mailbox. */
static char *
store_name (const char *v, char **mailbox)
{
  *mailbox = NULL;
  if (v == NULL || v[0] != ':')
    return NULL;
  const char *end = strchr (v + 1, ':');
  if (end == NULL)
    return NULL;
  if (end[1] != '\0')
    *mailbox = g_strdup (end + 1);
  return g_strndup (v + 1, end - v - 1);
}

static gboolean
same_dir (const char *a, const char *b)
{
  g_autofree char *x = g_strdup (a), *y = g_strdup (b);
  gsize lx = strlen (x), ly = strlen (y);
  while (lx > 1 && x[lx - 1] == '/')
    x[--lx] = '\0';
  while (ly > 1 && y[ly - 1] == '/')
    y[--ly] = '\0';
  return g_str_equal (x, y);
}

/* The server side: IMAPAccount keywords, in the store or in the account it names. */
static void
put_server (GString *out, GPtrArray *notes, const char *channel, const char *name,
            const Section *store, const Section *account)
{
  const Section *a = account != NULL ? account : store;
  const char *tunnel = get (a, "tunnel");
  const char *v;

  if (tunnel != NULL)
    {
      g_autofree char *cmd = command_of (tunnel);
      put (out, "tunnel-command", cmd);
    }
  else
    {
      put (out, "host", (v = get (a, "host")) ? v : "");
      const char *ssl = get (a, "tlstype") ?: get (a, "ssltype");
      const char *security = ssl == NULL || g_ascii_strcasecmp (ssl, "imaps") == 0 ? "tls"
                             : g_ascii_strcasecmp (ssl, "starttls") == 0 ? "starttls"
                                                                          : "none";
      /* mbsync's default without SSLType is STARTTLS when the server offers it. */
      if (ssl == NULL)
        security = "starttls";
      put (out, "security", security);
      if (g_str_equal (security, "none"))
        put (out, "allow-insecure-auth", "true");
      if ((v = get (a, "port")) != NULL)
        put (out, "port", v);
    }
  if ((v = get (a, "user")) != NULL)
    put (out, "user", v);
  if (get (a, "usercmd") != NULL)
    note (notes, out, channel, "UserCmd: write the login name as user");
  if ((v = get (a, "passcmd")) != NULL)
    {
      /* "+cmd" asks for a terminal: Tidings hands the command the terminal anyway. */
      g_autofree char *cmd = command_of (v + (v[0] == '+'));
      put (out, "password-command", cmd);
    }
  else if ((v = get (a, "pass")) != NULL)
    {
      put (out, "password", v);
      note (notes, out, channel, "Pass: the password is in this file; better run "
            "`tidings password set %s` and delete the line", name);
    }
  if ((v = get (a, "certificatefile")) != NULL)
    put (out, "tls-ca-file", v);
  if (get (a, "clientcertificate") != NULL)
    note (notes, out, channel, "ClientCertificate: client certificates are not supported");
  if ((v = get (a, "authmechs")) != NULL && !g_str_equal (v, "*"))
    note (notes, out, channel, "AuthMechs %s: Tidings chooses the strongest the server "
          "offers; set auth to insist on one", v);
  if ((v = get (store, "path")) != NULL && *v != '\0')
    note (notes, out, channel, "IMAPStore Path %s: the folders' server prefix is not supported",
          v);
}

/* The Maildir side. */
static void
put_maildir (GString *out, GPtrArray *notes, const char *channel, const Section *store)
{
  const char *path = get (store, "path");
  const char *inbox = get (store, "inbox");
  const char *sub = get (store, "subfolders");

  if (sub != NULL && g_ascii_strcasecmp (sub, "maildir++") == 0)
    {
      put (out, "maildir", inbox ? inbox : "~/Maildir");
      put (out, "layout", "maildir++");
    }
  else
    {
      g_autofree char *root = g_strdup (path ? path : "~/Maildir");
      gsize n = strlen (root);
      while (n > 1 && root[n - 1] == '/')
        root[--n] = '\0';
      put (out, "maildir", root);
      put (out, "layout", sub != NULL && g_ascii_strcasecmp (sub, "legacy") == 0 ? "legacy"
                                                                                 : "verbatim");
      if (sub == NULL)
        note (notes, out, channel, "no SubFolders: nested folders are kept as verbatim "
              "directories (mbsync's SubFolders Verbatim)");
      /* mbsync keeps INBOX at Inbox (~/Maildir unless set), wherever Path is. */
      g_autofree char *expected = g_build_filename (root, "INBOX", NULL);
      if (!same_dir (inbox ? inbox : "~/Maildir", expected))
        put (out, "inbox", inbox ? inbox : "~/Maildir");
    }
  /* mbsync 1.4 writes names as IMAP sends them, in modified UTF-7. */
  put (out, "folder-names", "utf-7");
  if (get (store, "flatten") != NULL)
    note (notes, out, channel, "Flatten: use layout = flat with flat-separator instead");
  if (get (store, "altmap") != NULL)
    note (notes, out, channel, "AltMap: the UIDs in file names are not read");
}

/* Sync, Expunge, Create and MaxSize as sync, deletes and max-size. */
static void
put_policy (GString *out, GPtrArray *notes, const char *channel, const Section *c)
{
  const char *sync = get (c, "sync");
  const char *v;
  gboolean deletes = TRUE;

  if (sync == NULL || g_ascii_strcasecmp (sync, "all") == 0
      || g_ascii_strcasecmp (sync, "full") == 0)
    put (out, "sync", "both");
  else if (g_ascii_strcasecmp (sync, "pull") == 0)
    put (out, "sync", "pull");
  else if (g_ascii_strcasecmp (sync, "push") == 0)
    put (out, "sync", "push");
  else if (g_ascii_strcasecmp (sync, "none") == 0)
    note (notes, out, channel, "Sync None: there is nothing to sync; leave the account out");
  else
    {
      put (out, "sync", "both");
      deletes = strstr (sync, "Delete") != NULL || strstr (sync, "delete") != NULL;
      note (notes, out, channel, "Sync %s: Tidings syncs new mail, flags and deletions "
            "together; sync and deletes below are the nearest", sync);
    }
  const char *expunge = direction_of (get (c, "expunge"));
  if (expunge == NULL)
    note (notes, out, channel, "Expunge %s: not understood", get (c, "expunge"));
  put (out, "deletes", deletes && expunge != NULL ? expunge : "none");
  if ((v = get (c, "create")) != NULL && g_ascii_strcasecmp (v, "both") != 0
      && g_ascii_strcasecmp (v, "far") != 0 && g_ascii_strcasecmp (v, "master") != 0)
    note (notes, out, channel, "Create %s: Tidings makes folders made here on the server too",
          v);
  if ((v = get (c, "remove")) != NULL && g_ascii_strcasecmp (v, "none") != 0)
    note (notes, out, channel, "Remove %s: run `tidings sync --prune-folders` to remove "
          "folders deleted on one side", v);
  if ((v = get (c, "maxsize")) != NULL)
    {
      g_autofree char *size = g_strdelimit (g_strdup (v), "bB", ' ');
      put (out, "max-size", g_strstrip (size));
    }
  if (get (c, "maxmessages") != NULL)
    note (notes, out, channel, "MaxMessages: there is no limit on the count of messages");
}

/* Where mbsync keeps the Channel's state, for the first sync to pair its files by: in each
 * folder with `SyncState *` (read there without a key), in the Channel's own SyncState
 * directory, or in the global one (~/.mbsync/ unless set) under both stores' names. mbsync
 * writes a folder's name there with '/' as '!'; Tidings puts it where "{}" stands. */
static void
put_sync_state (GString *out, const Section *global, const Section *c, const char *far,
                const char *near)
{
  const char *own = get (c, "syncstate");
  const char *all = get (global, "syncstate");

  if (own != NULL ? g_str_equal (own, "*") : all != NULL && g_str_equal (all, "*"))
    return;
  g_autofree char *where = own != NULL ? g_strdup_printf ("%s{}", own)
                                       : g_strdup_printf ("%s:%s:{}_:%s:{}",
                                                          all ? all : "~/.mbsync/", far, near);
  put (out, "mbsync-state", where);
}

/* A name Tidings takes for an account: letters, digits, '-', '_' and '.'. */
static char *
account_name (const char *channel)
{
  char *name = g_strdup (channel);
  for (char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      *p = '-';
  return name;
}

/**
 * td_import_mbsync:
 * @text: the contents of an mbsync configuration file
 * @source: where it was read from, for the comment at the top of the result
 * @notes: (element-type utf8): receives a line for each setting that was not carried over
 * @error: %TD_ERROR_CONFIG when no Channel joins an IMAP store and a Maildir store
 *
 * Returns: (transfer full) (nullable): the Tidings configuration, one account per Channel
 */
char *
td_import_mbsync (const char *text, const char *source, GPtrArray *notes, GError **error)
{
  g_autoptr (GPtrArray) sections = parse (text);
  GString *out = g_string_new (NULL);
  guint accounts = 0;

  g_string_append_printf (out, "# Made by `tidings import mbsync` from %s.\n"
                          "# Check it with `tidings check-config`.\n", source);
  for (guint i = 0; i < sections->len; i++)
    {
      const Section *c = g_ptr_array_index (sections, i);
      if (c->kind != SECTION_CHANNEL)
        continue;
      g_autofree char *far_box = NULL, *near_box = NULL;
      g_autofree char *far = store_name (get (c, "far") ?: get (c, "master"), &far_box);
      g_autofree char *near = store_name (get (c, "near") ?: get (c, "slave"), &near_box);
      const Section *imap = find (sections, SECTION_IMAP_STORE, far);
      const Section *maildir = find (sections, SECTION_MAILDIR_STORE, near);
      if (imap == NULL || maildir == NULL)
        {
          imap = find (sections, SECTION_IMAP_STORE, near);
          maildir = find (sections, SECTION_MAILDIR_STORE, far);
          if (imap == NULL || maildir == NULL)
            {
              g_ptr_array_add (notes, g_strdup_printf ("Channel %s: not between an IMAP store "
                                                       "and a Maildir store; left out",
                                                       c->name));
              continue;
            }
          g_free (far_box);
          far_box = g_steal_pointer (&near_box);
        }
      g_autofree char *name = account_name (c->name);
      g_autofree char *label = g_strdup_printf ("Channel %s", c->name);
      g_string_append_printf (out, "\n[account %s]\nprotocol = imap\n", name);
      put_server (out, notes, label, name, imap,
                  find (sections, SECTION_ACCOUNT, get (imap, "account")));
      put_maildir (out, notes, label, maildir);
      if (far_box != NULL)
        put (out, "folders", far_box);
      else if (get (c, "patterns") != NULL || get (c, "pattern") != NULL)
        put_patterns (out, notes, label, get_words (c, get (c, "patterns") ? "patterns"
                                                                           : "pattern"));
      put_policy (out, notes, label, c);
      put_sync_state (out, g_ptr_array_index (sections, 0), c, far, near);
      accounts++;
    }
  if (accounts == 0)
    {
      g_string_free (out, TRUE);
      g_set_error (error, TD_ERROR, TD_ERROR_CONFIG, "%s has no Channel between an IMAP store "
                   "and a Maildir store", source);
      return NULL;
    }
  return g_string_free (out, FALSE);
}

/* offlineimap */

/* An offlineimaprc as sections of lower-case keys (Python's configparser: "key = value" or
 * "key: value", '#' and ';' comments, indented lines continuing a value). */
static GPtrArray *
parse_ini (const char *text)
{
  GPtrArray *sections = g_ptr_array_new_with_free_func ((GDestroyNotify) section_free);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  Section *cur = NULL;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strchomp (lines[i]);
      char *start = line + strspn (line, " \t");
      if (*start == '\0' || *start == '#' || *start == ';')
        continue;
      if (start != line && cur != NULL && cur->values->len > 0)
        {
          /* A continuation: the value goes on. */
          char **last = (char **) &cur->values->pdata[cur->values->len - 1];
          char *joined = g_strconcat (*last, " ", start, NULL);
          g_free (*last);
          *last = joined;
          continue;
        }
      if (*start == '[')
        {
          char *end = strchr (start, ']');
          if (end == NULL)
            continue;
          cur = g_new0 (Section, 1);
          cur->name = g_strstrip (g_strndup (start + 1, end - start - 1));
          cur->keys = g_ptr_array_new_with_free_func (g_free);
          cur->values = g_ptr_array_new_with_free_func (g_free);
          cur->words = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
          g_ptr_array_add (sections, cur);
          continue;
        }
      gsize at = strcspn (start, "=:");
      if (cur == NULL || start[at] == '\0')
        continue;
      g_ptr_array_add (cur->keys, g_ascii_strdown (g_strstrip (g_strndup (start, at)), -1));
      g_ptr_array_add (cur->values, g_strstrip (g_strdup (start + at + 1)));
      g_ptr_array_add (cur->words, g_new0 (char *, 1));
    }
  return sections;
}

static const Section *
ini_section (GPtrArray *sections, const char *name)
{
  for (guint i = 0; i < sections->len; i++)
    {
      const Section *s = g_ptr_array_index (sections, i);
      if (g_ascii_strcasecmp (s->name, name) == 0)
        return s;
    }
  return NULL;
}

static gboolean
ini_true (const char *v)
{
  return v != NULL && (g_ascii_strcasecmp (v, "yes") == 0 || g_ascii_strcasecmp (v, "true") == 0
                       || g_ascii_strcasecmp (v, "on") == 0 || g_str_equal (v, "1"));
}

/* The quoted strings of a Python list in @text ('a', "b"), or NULL when @text is not just
 * such a list. */
static char **
python_list (const char *text)
{
  g_autoptr (GRegex) list = g_regex_new ("^\\[\\s*((['\"])[^'\"]*\\2\\s*,?\\s*)*\\]$", 0, 0, NULL);
  g_autoptr (GRegex) item = g_regex_new ("(['\"])([^'\"]*)\\1", 0, 0, NULL);
  g_autoptr (GMatchInfo) m = NULL;
  GStrvBuilder *b;

  if (!g_regex_match (list, text, 0, NULL))
    return NULL;
  b = g_strv_builder_new ();
  for (g_regex_match (item, text, 0, &m); g_match_info_matches (m); g_match_info_next (m, NULL))
    {
      g_autofree char *s = g_match_info_fetch (m, 2);
      g_strv_builder_add (b, s);
    }
  char **out = g_strv_builder_end (b);
  g_strv_builder_unref (b);
  return out;
}

/* folderfilter as folders or exclude, where it is "lambda f: f in [...]" or "not in". */
static void
put_folderfilter (GString *out, GPtrArray *notes, const char *account, const char *filter)
{
  g_autoptr (GRegex) re = g_regex_new ("^lambda\\s+(\\w+)\\s*:\\s*(\\w+)\\s+(not\\s+in|in)\\s+"
                                       "(\\[.*\\])\\s*$", 0, 0, NULL);
  g_autoptr (GMatchInfo) m = NULL;

  if (g_regex_match (re, filter, 0, &m))
    {
      g_autofree char *arg = g_match_info_fetch (m, 1), *var = g_match_info_fetch (m, 2);
      g_autofree char *op = g_match_info_fetch (m, 3), *items = g_match_info_fetch (m, 4);
      g_auto (GStrv) names = python_list (items);
      if (names != NULL && names[0] != NULL && g_str_equal (arg, var))
        {
          g_autofree char *joined = g_strjoinv (";", names);
          put (out, g_str_has_prefix (op, "not") ? "exclude" : "folders", joined);
          return;
        }
    }
  note (notes, out, account, "folderfilter %s: only a lambda testing a plain list is carried "
        "over; write folders or exclude", filter);
}

/* The offlineimap remote repository's server side. */
static void
put_oi_server (GString *out, GPtrArray *notes, const char *label, const char *name,
               const Section *remote)
{
  const char *tunnel = get (remote, "preauthtunnel") ?: get (remote, "tunnel");
  const char *v;

  if (g_ascii_strcasecmp (get (remote, "type"), "Gmail") == 0)
    put (out, "host", "imap.gmail.com");
  else if (tunnel == NULL)
    put (out, "host", (v = get (remote, "remotehost")) ? v : "");
  if (tunnel != NULL)
    {
      g_autofree char *cmd = command_of (tunnel);
      put (out, "tunnel-command", cmd);
    }
  else
    {
      gboolean ssl = get (remote, "ssl") == NULL || ini_true (get (remote, "ssl"));
      const char *security = ssl ? "tls" : ini_true (get (remote, "starttls")) ? "starttls"
                                                                               : "none";
      put (out, "security", security);
      if (g_str_equal (security, "none"))
        put (out, "allow-insecure-auth", "true");
      if ((v = get (remote, "remoteport")) != NULL)
        put (out, "port", v);
    }
  if ((v = get (remote, "remoteuser")) != NULL)
    put (out, "user", v);
  if ((v = get (remote, "remotepass")) != NULL)
    {
      put (out, "password", v);
      note (notes, out, label, "remotepass: the password is in this file; better run "
            "`tidings password set %s` and delete the line", name);
    }
  if (get (remote, "remotepasseval") != NULL)
    note (notes, out, label, "remotepasseval is Python: set password-command to a command "
          "that prints the password");
  if ((v = get (remote, "remotepassfile")) != NULL)
    {
      g_autofree char *quoted = g_shell_quote (v);
      g_autofree char *cmd = g_strdup_printf ("head -n1 %s", quoted);
      put (out, "password-command", cmd);
    }
  if ((v = get (remote, "sslcacertfile")) != NULL && !g_str_equal (v, "OS-DEFAULT"))
    put (out, "tls-ca-file", v);
  if (get (remote, "cert_fingerprint") != NULL)
    note (notes, out, label, "cert_fingerprint is SHA-1 or SHA-512 of the certificate; "
          "tls-fingerprint takes its SHA-256 (shown when a certificate is refused)");
}

/* The local repository: its Maildir, and sep as the layout. */
static void
put_oi_maildir (GString *out, const Section *acc, const Section *local, const Section *remote)
{
  const char *v = get (local, "localfolders");
  const char *sep = get (local, "sep");
  g_autofree char *bare = sep != NULL ? g_strdup (sep) : NULL;

  put (out, "maildir", v != NULL ? v : "~/Maildir");
  if (bare != NULL && strlen (bare) == 3 && (bare[0] == '"' || bare[0] == '\'')
      && bare[2] == bare[0])
    {
      bare[0] = bare[1];
      bare[1] = '\0';
    }
  if (bare != NULL && g_str_equal (bare, "/"))
    put (out, "layout", "verbatim");
  else
    {
      put (out, "layout", "flat");
      if (bare != NULL && !g_str_equal (bare, "."))
        put (out, "flat-separator", bare);
    }
  /* offlineimap keeps the server's modified UTF-7 names unless told to decode them. */
  put (out, "folder-names", ini_true (get (acc, "utf8foldernames"))
                              || ini_true (get (remote, "decodefoldernames")) ? "utf-8"
                                                                              : "utf-7");
}

/* What syncs: folderfilter, nametrans, readonly, maxsize, maxage and the hooks. */
static void
put_oi_policy (GString *out, GPtrArray *notes, const char *label, const Section *acc,
               const Section *local, const Section *remote)
{
  const char *v;

  if ((v = get (remote, "folderfilter")) != NULL)
    put_folderfilter (out, notes, label, v);
  if (get (remote, "nametrans") != NULL || get (local, "nametrans") != NULL)
    note (notes, out, label, "nametrans is Python and renames folders; Tidings keeps the "
          "server's names, so folders renamed by it would be downloaded again under those: "
          "remove nametrans first, or move the directories");
  gboolean readonly = ini_true (get (remote, "readonly"));
  put (out, "sync", readonly ? "pull" : "both");
  put (out, "deletes", readonly ? "pull" : "both");
  if ((v = get (acc, "maxsize")) != NULL)
    put (out, "max-size", v);
  if ((v = get (acc, "maxage")) != NULL && v[strspn (v, "0123456789")] == '\0' && *v != '\0')
    put (out, "max-age", v);
  else if (v != NULL)
    note (notes, out, label, "maxage = %s is not a count of days; max-age takes days, so "
          "write the days since that date", v);
  if ((v = get (acc, "startdate")) != NULL)
    note (notes, out, label, "startdate = %s: a fixed date is not there; max-age = N keeps "
          "the last N days, so write the days since that date", v);
  if (get (acc, "presynchook") != NULL)
    note (notes, out, label, "presynchook: there is no hook before a sync");
  if ((v = get (acc, "postsynchook")) != NULL)
    {
      g_autofree char *cmd = command_of (v);
      put (out, "post-sync-command", cmd);
    }
}

/* The repository [Repository NAME] that @acc's @key names, or NULL. */
static const Section *
repository (GPtrArray *sections, const Section *acc, const char *key)
{
  g_autofree char *name = g_strdup_printf ("Repository %s", get (acc, key) ?: "");
  return ini_section (sections, name);
}

/**
 * td_import_offlineimap:
 * @text: the contents of an offlineimap configuration file
 * @source: where it was read from, for the comment at the top of the result
 * @notes: (element-type utf8): receives a line for each setting that was not carried over
 * @error: %TD_ERROR_CONFIG when no account joins an IMAP repository and a Maildir one
 *
 * Returns: (transfer full) (nullable): the Tidings configuration, one account per account
 *   of [general] accounts
 */
char *
td_import_offlineimap (const char *text, const char *source, GPtrArray *notes, GError **error)
{
  g_autoptr (GPtrArray) sections = parse_ini (text);
  const char *list = get (ini_section (sections, "general"), "accounts");
  g_auto (GStrv) accounts = g_strsplit_set (list ? list : "", ", ", -1);
  GString *out = g_string_new (NULL);
  guint made = 0;

  g_string_append_printf (out, "# Made by `tidings import offlineimap` from %s.\n"
                          "# Check it with `tidings check-config`.\n", source);
  for (guint i = 0; accounts[i] != NULL; i++)
    {
      if (*accounts[i] == '\0')
        continue;
      g_autofree char *acc_name = g_strdup_printf ("Account %s", accounts[i]);
      const Section *acc = ini_section (sections, acc_name);
      const Section *local = repository (sections, acc, "localrepository");
      const Section *remote = repository (sections, acc, "remoterepository");
      const char *ltype = get (local, "type"), *rtype = get (remote, "type");
      if (ltype == NULL || rtype == NULL || g_ascii_strcasecmp (ltype, "Maildir") != 0
          || (g_ascii_strcasecmp (rtype, "IMAP") != 0 && g_ascii_strcasecmp (rtype, "Gmail") != 0))
        {
          g_ptr_array_add (notes, g_strdup_printf ("account %s: not between a Maildir and an "
                                                   "IMAP repository; left out", accounts[i]));
          continue;
        }
      g_autofree char *name = account_name (accounts[i]);
      g_autofree char *label = g_strdup_printf ("account %s", accounts[i]);
      g_string_append_printf (out, "\n[account %s]\nprotocol = imap\n", name);
      put_oi_server (out, notes, label, name, remote);
      put_oi_maildir (out, acc, local, remote);
      put_oi_policy (out, notes, label, acc, local, remote);
      made++;
    }
  if (made == 0)
    {
      g_string_free (out, TRUE);
      g_set_error (error, TD_ERROR, TD_ERROR_CONFIG, "%s has no account between a Maildir and "
                   "an IMAP repository", source);
      return NULL;
    }
  return g_string_free (out, FALSE);
}
