/* td-cli-common.c: what the commands share: loading the configuration, messages, JSON. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/**
 * td_cli_unknown_account:
 * @config: the configuration
 * @name: an account name the user gave that @config does not have
 *
 * Returns: (transfer full): "no account “x” in FILE; the accounts there are: a, b"
 */
char *
td_cli_unknown_account (const TdConfig *config, const char *name)
{
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "no account “%s” in %s", name, config->path);
  if (config->accounts->len == 0)
    g_string_append (out, "; it has no [account NAME] group");
  for (guint i = 0; i < config->accounts->len; i++)
    g_string_append_printf (out, i == 0 ? "; the accounts there are: %s" : ", %s",
                            ((TdAccountConfig *) g_ptr_array_index (config->accounts, i))->name);
  return g_string_free (out, FALSE);
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

/* Plain output for a locale that is not UTF-8 (LC_ALL=C): the punctuation Tidings writes
 * (curly quotes, the no-break space between a number and its unit, an ellipsis, dashes,
 * arrows) becomes its ASCII look-alike, so `grep '46.6 MB'` finds a size. Names from the
 * server or the disk pass through as they are. The streams are wrapped once, in main(),
 * before anything is written. */

typedef struct
{
  FILE *real;
  char carry[4];  /* the start of a UTF-8 sequence that the next write completes */
  gsize ncarry;
} PlainStream;

typedef struct
{
  const char *utf8;
  const char *ascii;
} PlainSwap;

static const PlainSwap plain_swaps[] = {
  { "\u00a0", " " },  { "\u202f", " " },   { "\u2009", " " },   { "\u2018", "'" },
  { "\u2019", "'" },  { "\u201c", "'" },   { "\u201d", "'" },   { "\u2026", "..." },
  { "\u2013", "-" },  { "\u2014", "-" },   { "\u2192", "->" },  { "\u00d7", "x" },
  { "\u2264", "<=" }, { "\u2265", ">=" },  { "\u2248", "~" },
};

/* How many bytes the UTF-8 sequence that starts with @lead has (1 for anything else). */
static gsize
sequence_length (guchar lead)
{
  return lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
}

static void
plain_put (PlainStream *s, const char *seq, gsize len)
{
  for (guint i = 0; i < G_N_ELEMENTS (plain_swaps); i++)
    if (strlen (plain_swaps[i].utf8) == len && memcmp (plain_swaps[i].utf8, seq, len) == 0)
      {
        fputs (plain_swaps[i].ascii, s->real);
        return;
      }
  fwrite (seq, 1, len, s->real);
}

static ssize_t
plain_write (void *cookie, const char *buf, size_t size)
{
  PlainStream *s = cookie;
  gsize i = 0;

  while (s->ncarry > 0 && i < size)
    {
      s->carry[s->ncarry++] = buf[i++];
      if (s->ncarry == sequence_length ((guchar) s->carry[0]))
        {
          plain_put (s, s->carry, s->ncarry);
          s->ncarry = 0;
        }
    }
  while (i < size)
    {
      gsize len = sequence_length ((guchar) buf[i]);
      if (i + len > size)
        {
          memcpy (s->carry, buf + i, size - i);
          s->ncarry = size - i;
          break;
        }
      plain_put (s, buf + i, len);
      i += len;
    }
  fflush (s->real);
  return (ssize_t) size;
}

static int
plain_close (void *cookie)
{
  PlainStream *s = cookie;
  if (s->ncarry > 0)
    fwrite (s->carry, 1, s->ncarry, s->real);
  fflush (s->real);
  g_free (s);
  return 0;
}

static FILE *
plain_stream (FILE *real, int mode)
{
  cookie_io_functions_t io = { .write = plain_write, .close = plain_close };
  PlainStream *s = g_new0 (PlainStream, 1);
  FILE *f;

  s->real = real;
  f = fopencookie (s, "w", io);
  if (f == NULL)
    {
      g_free (s);
      return real;
    }
  setvbuf (f, NULL, mode, BUFSIZ);
  return f;
}

/**
 * td_cli_plain_output_init:
 *
 * Under a locale whose character set is not UTF-8, wraps stdout and stderr so that the
 * punctuation Tidings writes comes out as ASCII. Call once, before any output.
 */
void
td_cli_plain_output_init (void)
{
  if (g_get_charset (NULL))
    return;
  stdout = plain_stream (stdout, isatty (STDOUT_FILENO) ? _IOLBF : _IOFBF);
  stderr = plain_stream (stderr, _IONBF);
}
