/* td-cli-common.c: what the commands share: loading the configuration, messages, JSON. */
#include <stdio.h>

#include "engine/common/td-error.h"
#include "td-cli.h"

/**
 * td_cli_load_config:
 * @globals: the global options
 * @error: return location for a %TD_ERROR_CONFIG error
 *
 * Returns: (transfer full) (nullable): the configuration; its warnings are printed
 */
TdConfig *
td_cli_load_config (const TdCliGlobals *globals, GError **error)
{
  g_autofree char *fallback = td_config_default_path ();
  TdConfig *config = td_config_load (globals->config_path ? globals->config_path : fallback, error);

  for (guint i = 0; config != NULL && i < config->warnings->len; i++)
    fprintf (stderr, "tidings: warning: %s\n", (char *) g_ptr_array_index (config->warnings, i));
  return config;
}

void
td_cli_print_error (const GError *error)
{
  fprintf (stderr, "tidings: %s\n", error->message);
}

/**
 * td_cli_json_string:
 * @text: (nullable): UTF-8 text
 *
 * Returns: (transfer full): @text as a JSON string literal, or `null`
 */
char *
td_cli_json_string (const char *text)
{
  GString *out;

  if (text == NULL)
    return g_strdup ("null");
  out = g_string_new ("\"");
  for (const char *p = text; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;
      if (c == '"' || c == '\\')
        g_string_append_printf (out, "\\%c", c);
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c < 0x20 || c == 0x7f)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_c (out, (char) c);
    }
  g_string_append_c (out, '"');
  return g_string_free (out, FALSE);
}

char *
td_cli_format_size (guint64 bytes)
{
  return g_format_size_full (bytes, G_FORMAT_SIZE_DEFAULT);
}

/**
 * td_cli_format_counts:
 * @c: what a sync did
 *
 * Returns: (transfer full): "3 new (1.2 MB), 1 flag change; 2 uploaded", leaving out what is
 *   zero, or "nothing new" when all is
 */
char *
td_cli_format_counts (const TdCliCounts *c)
{
  GString *here = g_string_new (NULL), *there = g_string_new (NULL);

  if (c->added > 0)
    {
      g_autofree char *size = td_cli_format_size (c->bytes);
      g_string_append_printf (here, "%u new (%s)", c->added, size);
    }
  if (c->flags_changed > 0)
    g_string_append_printf (here, "%s%u flag %s", here->len ? ", " : "", c->flags_changed,
                            c->flags_changed == 1 ? "change" : "changes");
  if (c->removed > 0)
    g_string_append_printf (here, "%s%u removed", here->len ? ", " : "", c->removed);
  if (c->uploaded > 0)
    g_string_append_printf (there, "%u uploaded", c->uploaded);
  if (c->sent > 0)
    g_string_append_printf (there, "%s%u %s sent", there->len ? ", " : "", c->sent,
                            c->sent == 1 ? "change" : "changes");
  if (here->len == 0 && there->len == 0)
    g_string_append (here, "nothing new");
  if (here->len > 0 && there->len > 0)
    g_string_append (here, "; ");
  g_string_append (here, there->str);
  g_string_free (there, TRUE);
  return g_string_free (here, FALSE);
}

/**
 * td_cli_format_folders:
 * @folders: how many folders a sync took
 * @unchanged: how many of them had nothing to do
 *
 * Returns: (transfer full): "in 1 folder", "in 12 folders (9 unchanged)"
 */
char *
td_cli_format_folders (guint folders, guint unchanged)
{
  if (unchanged == 0)
    return g_strdup_printf ("in %u %s", folders, folders == 1 ? "folder" : "folders");
  return g_strdup_printf ("in %u %s (%u unchanged)", folders, folders == 1 ? "folder" : "folders",
                          unchanged);
}
