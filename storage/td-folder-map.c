/* td-folder-map.c: server folder name -> Maildir path components.
 *
 * verbatim: the name split at the server's delimiter, each part a directory, INBOX at
 * "INBOX". maildir++: INBOX is the root itself; other folders are ".A.B" in modified UTF-7.
 * A component that is empty, "." or "..", holds '/', NUL or a control character, collides
 * with cur/new/tmp, or is too long is refused, as is a name nested too deeply.
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

static gboolean
component_ok (const char *name, const char *c, TdLayout layout, GError **error)
{
  if (*c == '\0')
    return refuse (error, name, "it has an empty part");
  if (g_str_equal (c, ".") || g_str_equal (c, ".."))
    return refuse (error, name, "it has a part “.” or “..”");
  if (strlen (c) > TD_FOLDER_MAX_COMPONENT)
    return refuse (error, name, "a part is longer than 255 bytes");
  for (const char *p = c; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f || *p == '/')
      return refuse (error, name, "it holds '/' or a control character");
  if (layout == TD_LAYOUT_VERBATIM
      && (g_str_equal (c, "cur") || g_str_equal (c, "new") || g_str_equal (c, "tmp")))
    return refuse (error, name, "a part is named cur, new or tmp, which Maildir reserves");
  if (layout == TD_LAYOUT_MAILDIRPP && strchr (c, '.') != NULL)
    return refuse (error, name, "a part holds '.', which maildir++ uses as its separator");
  return TRUE;
}

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
td_folder_map_components (const char *name, char delimiter, TdLayout layout, GError **error)
{
  g_autoptr (GStrvBuilder) out = g_strv_builder_new ();
  char sep[2] = { delimiter, '\0' };
  g_auto (GStrv) parts = NULL;
  guint n;

  if (!g_utf8_validate (name, -1, NULL))
    return refuse (error, name, "it is not valid UTF-8"), NULL;
  if (g_ascii_strcasecmp (name, "INBOX") == 0)
    {
      if (layout == TD_LAYOUT_VERBATIM)
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
    if (!component_ok (name, parts[i], layout, error))
      return NULL;
  if (layout == TD_LAYOUT_VERBATIM)
    {
      g_strv_builder_addv (out, (const char **) parts);
      return g_strv_builder_end (out);
    }
  GString *flat = g_string_new (NULL);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *encoded = td_mutf7_encode (parts[i]);
      g_string_append_c (flat, '.');
      g_string_append (flat, encoded);
    }
  if (flat->len > TD_FOLDER_MAX_COMPONENT)
    {
      g_string_free (flat, TRUE);
      return refuse (error, name, "its maildir++ directory name is longer than 255 bytes"), NULL;
    }
  g_strv_builder_add (out, flat->str);
  g_string_free (flat, TRUE);
  return g_strv_builder_end (out);
}

/* The decoded parts of a maildir++ directory name ".A.B", or NULL. */
static char **
maildirpp_parts (const char *dir)
{
  g_auto (GStrv) parts = NULL;

  if (dir[0] != '.' || dir[1] == '\0')
    return NULL;
  parts = g_strsplit (dir + 1, ".", TD_FOLDER_MAX_DEPTH + 1);
  for (guint i = 0; parts[i] != NULL; i++)
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
td_folder_map_name (char **components, char delimiter, TdLayout layout, GError **error)
{
  g_auto (GStrv) parts = NULL;
  g_autofree char *joined = g_strjoinv ("/", components);
  char sep[2] = { delimiter, '\0' };

  if (layout == TD_LAYOUT_MAILDIRPP && components[0] == NULL)
    return g_strdup ("INBOX");
  if (layout == TD_LAYOUT_MAILDIRPP)
    parts = components[1] == NULL ? maildirpp_parts (components[0]) : NULL;
  else
    parts = g_strdupv (components);
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
