/* td-folder-map.c: server folder name -> Maildir path components.
 *
 * The name is split at the server's delimiter; each part is written in UTF-8 or, where the
 * layout says so, in modified UTF-7. Then, by layout:
 *   verbatim  each part a directory, INBOX at "INBOX"            Archive/2024
 *   maildir++ INBOX is the root itself; others ".A.B"            .Archive.2024
 *   legacy    the first part a directory, each deeper one ".B"   Archive/.2024
 *             (mbsync's SubFolders Legacy), INBOX at "INBOX"
 *   flat      the parts joined by the separator, at the top,     Archive.2024
 *             INBOX at "INBOX" (offlineimap's default)
 * except that INBOX, where it has a directory of its own, is TD_FOLDER_INBOX_APART.
 * A part that is empty, "." or "..", holds '/', NUL or a control character, holds the
 * layout's own separator, or is too long is refused, as is a directory named cur, new or
 * tmp and a name nested too deeply.
 */
#include "td-folder-map.h"

#include <string.h>

#include "engine/common/td-mutf7.h"
#include "engine/common/td-types.h"
#include "td-storage-error.h"

G_DEFINE_QUARK (td-storage-error-quark, td_storage_error)

static gboolean
refuse (GError **error, const char *name, const char *why)
{
  g_autofree char *shown = td_printable (name);
  g_set_error (error, TD_STORAGE_ERROR, TD_STORAGE_ERROR_BAD_NAME,
               "folder “%s” cannot be stored safely: %s", shown, why);
  return FALSE;
}

/* What joins the parts of a nested name in one directory name, or '\0' for none. */
static char
joiner (const TdFolderLayout *layout)
{
  switch (layout->kind)
    {
    case TD_LAYOUT_MAILDIRPP:
      return '.';
    case TD_LAYOUT_FLAT:
      return layout->separator;
    case TD_LAYOUT_VERBATIM:
    case TD_LAYOUT_LEGACY:
    default:
      return '\0';
    }
}

/* One part as written, @c (already encoded), at depth @i. */
static gboolean
component_ok (const char *name, const char *c, guint i, const TdFolderLayout *layout,
              GError **error)
{
  char sep = joiner (layout);

  if (*c == '\0')
    return refuse (error, name, "it has an empty part");
  if (g_str_equal (c, ".") || g_str_equal (c, ".."))
    return refuse (error, name, "it has a part “.” or “..”");
  if (strlen (c) + (layout->kind == TD_LAYOUT_LEGACY && i > 0) > TD_FOLDER_MAX_COMPONENT)
    return refuse (error, name, "a part is longer than 255 bytes");
  for (const char *p = c; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f || *p == '/')
      return refuse (error, name, "it holds '/' or a control character");
  if (sep != '\0' && strchr (c, sep) != NULL)
    return refuse (error, name, layout->kind == TD_LAYOUT_MAILDIRPP
                                  ? "a part holds '.', which maildir++ uses as its separator"
                                  : "a part holds the flat layout's separator");
  return TRUE;
}

static char **build_components (const char *name, char delimiter,
                                const TdFolderLayout *layout, GError **error);

/**
 * td_folder_map_components:
 * @name: the decoded UTF-8 folder name, with the server's delimiter
 * @delimiter: the server's hierarchy delimiter, or '\0' for none
 * @layout: the account's Maildir layout
 * @error: return location for a %TD_STORAGE_ERROR_BAD_NAME error
 *
 * Returns: (transfer full) (nullable): the directories below the account's Maildir, outermost
 *   first; empty for the root itself (maildir++ INBOX)
 */
char **
td_folder_map_components (const char *name, char delimiter, const TdFolderLayout *layout,
                          GError **error)
{
  g_auto (GStrv) dirs = build_components (name, delimiter, layout, error);

  for (guint i = 0; dirs != NULL && dirs[i] != NULL; i++)
    if (g_str_equal (dirs[i], "cur") || g_str_equal (dirs[i], "new")
        || g_str_equal (dirs[i], "tmp"))
      return refuse (error, name, "a part is named cur, new or tmp, which Maildir reserves"),
             NULL;
  return g_steal_pointer (&dirs);
}

static char **
build_components (const char *name, char delimiter, const TdFolderLayout *layout,
                  GError **error)
{
  g_autoptr (GStrvBuilder) out = g_strv_builder_new ();
  char sep[2] = { delimiter, '\0' };
  g_auto (GStrv) parts = NULL;
  guint n;

  if (!g_utf8_validate (name, -1, NULL))
    return refuse (error, name, "it is not valid UTF-8"), NULL;
  if (g_ascii_strcasecmp (name, "INBOX") == 0)
    {
      if (layout->inbox_apart)
        g_strv_builder_add (out, TD_FOLDER_INBOX_APART);
      else if (layout->kind != TD_LAYOUT_MAILDIRPP)
        g_strv_builder_add (out, "INBOX");
      return g_strv_builder_end (out);
    }
  if (delimiter != '\0')
    parts = g_strsplit (name, sep, TD_FOLDER_MAX_DEPTH + 1);
  else
    {
      parts = g_new0 (char *, 2);
      parts[0] = g_strdup (name);
    }
  n = g_strv_length (parts);
  if (n > TD_FOLDER_MAX_DEPTH)
    return refuse (error, name, "it is nested more than 32 levels deep"), NULL;
  for (guint i = 0; i < n; i++)
    {
      if (layout->utf7)
        {
          char *encoded = td_mutf7_encode (parts[i]);
          g_free (parts[i]);
          parts[i] = encoded;
        }
      if (!component_ok (name, parts[i], i, layout, error))
        return NULL;
    }
  char joined = joiner (layout);
  if (joined == '\0')
    {
      for (guint i = 0; i < n; i++)
        {
          g_autofree char *dir = g_strconcat (layout->kind == TD_LAYOUT_LEGACY && i > 0 ? "."
                                                                                         : "",
                                              parts[i], NULL);
          g_strv_builder_add (out, dir);
        }
      return g_strv_builder_end (out);
    }
  GString *flat = g_string_new (layout->kind == TD_LAYOUT_MAILDIRPP ? "." : "");
  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append_c (flat, joined);
      g_string_append (flat, parts[i]);
    }
  if (flat->len > TD_FOLDER_MAX_COMPONENT)
    {
      g_string_free (flat, TRUE);
      return refuse (error, name, "its directory name is longer than 255 bytes"), NULL;
    }
  g_strv_builder_add (out, flat->str);
  g_string_free (flat, TRUE);
  return g_strv_builder_end (out);
}

/* The parts a local folder's directories stand for, decoded, or NULL when they are not
 * this layout's. */
static char **
parts_of (char **components, const TdFolderLayout *layout)
{
  guint n = g_strv_length (components);
  g_auto (GStrv) parts = NULL;

  if (n == 0)
    return NULL;
  switch (layout->kind)
    {
    case TD_LAYOUT_VERBATIM:
      parts = g_strdupv (components);
      break;
    case TD_LAYOUT_LEGACY:
      parts = g_new0 (char *, n + 1);
      for (guint i = 0; i < n; i++)
        {
          gboolean dotted = components[i][0] == '.';
          if (dotted != (i > 0) || (dotted && components[i][1] == '\0'))
            return NULL;
          parts[i] = g_strdup (components[i] + (i > 0));
        }
      break;
    case TD_LAYOUT_MAILDIRPP:
    case TD_LAYOUT_FLAT:
    default:
      {
        const char *dir = components[0];
        char sep[2] = { joiner (layout), '\0' };
        if (n != 1 || (layout->kind == TD_LAYOUT_MAILDIRPP && (dir[0] != '.' || dir[1] == '\0')))
          return NULL;
        parts = g_strsplit (dir + (layout->kind == TD_LAYOUT_MAILDIRPP), sep,
                            TD_FOLDER_MAX_DEPTH + 1);
      }
      break;
    }
  for (guint i = 0; layout->utf7 && parts[i] != NULL; i++)
    {
      char *decoded = td_mutf7_decode (parts[i], NULL);
      if (decoded == NULL)
        return NULL;
      g_free (parts[i]);
      parts[i] = decoded;
    }
  return g_steal_pointer (&parts);
}

/**
 * td_folder_map_name:
 * @components: a local folder's directories below the account's Maildir
 * @delimiter: the server's hierarchy delimiter, or '\0' for none
 * @layout: the account's Maildir layout
 * @error: return location for a %TD_STORAGE_ERROR_BAD_NAME error
 *
 * The reverse of td_folder_map_components(): the server name a local folder stands for. Only
 * a name that maps back to exactly @components is returned, so a directory the forward
 * mapping could never have made (a part holding the delimiter, "Inbox" for INBOX, a nested
 * folder on a server without hierarchy) is refused rather than guessed at.
 *
 * Returns: (transfer full) (nullable): the decoded UTF-8 name, with @delimiter
 */
char *
td_folder_map_name (char **components, char delimiter, const TdFolderLayout *layout,
                    GError **error)
{
  g_auto (GStrv) parts = NULL;
  g_autofree char *joined = g_strjoinv ("/", components);
  char sep[2] = { delimiter, '\0' };

  if (layout->kind == TD_LAYOUT_MAILDIRPP && components[0] == NULL && !layout->inbox_apart)
    return g_strdup ("INBOX");
  parts = parts_of (components, layout);
  if (parts == NULL || parts[0] == NULL)
    return refuse (error, joined, "it is not a folder name of this layout"), NULL;
  if (delimiter == '\0' && parts[1] != NULL)
    return refuse (error, joined, "the server has no folder hierarchy"), NULL;
  for (guint i = 0; delimiter != '\0' && parts[i] != NULL; i++)
    if (strchr (parts[i], delimiter) != NULL)
      return refuse (error, joined, "a part holds the server's hierarchy delimiter"), NULL;
  g_autofree char *name = g_strjoinv (sep, parts);
  g_auto (GStrv) back = td_folder_map_components (name, delimiter, layout, error);
  if (back == NULL)
    return NULL;
  if (!g_strv_equal ((const char *const *) back, (const char *const *) components))
    return refuse (error, joined, "it does not map back to the same directory"), NULL;
  return g_steal_pointer (&name);
}

/**
 * td_folder_map_display:
 * @name: a decoded folder name
 * @delimiter: its delimiter
 *
 * Returns: (transfer full): @name with '/' as the delimiter, as users and patterns see it
 */
char *
td_folder_map_display (const char *name, char delimiter)
{
  char *out = g_strdup (name);
  if (delimiter != '\0' && delimiter != '/')
    g_strdelimit (out, (char[]) { delimiter, '\0' }, '/');
  return out;
}
