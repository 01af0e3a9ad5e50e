/* td-cli-common.c: what the commands share: loading the configuration, messages, JSON. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/common/td-error.h"
#include "engine/goa/td-goa.h"
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
  TdConfig *config = td_goa_config_load (globals->config_path ? globals->config_path : fallback,
                                         error);

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

/**
 * td_cli_load_account:
 * @globals: the global options
 * @name: the account the user named
 * @config: (out): the configuration, when it loaded
 *
 * Loads the configuration and finds @name in it; says on standard error why not.
 *
 * Returns: (transfer none) (nullable): the account, owned by *@config
 */
TdAccountConfig *
td_cli_load_account (const TdCliGlobals *globals, const char *name, TdConfig **config)
{
  g_autoptr (GError) error = NULL;
  TdAccountConfig *a;

  *config = td_cli_load_config (globals, &error);
  if (*config == NULL)
    {
      td_cli_print_error (error);
      return NULL;
    }
  a = td_config_find_account (*config, name);
  if (a == NULL)
    {
      g_autofree char *why = td_cli_unknown_account (*config, name);
      fprintf (stderr, "tidings: %s\n", why);
    }
  return a;
}

void
td_cli_print_error (const GError *error)
{
  fprintf (stderr, "tidings: %s\n", error->message);
}

/**
 * td_cli_json_member:
 * @b: a builder inside an object
 * @member: the member's name
 * @value: (nullable): UTF-8 text, or %NULL for `null`
 *
 * Adds a string member, or a null one.
 */
void
td_cli_json_member (JsonBuilder *b, const char *member, const char *value)
{
  json_builder_set_member_name (b, member);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

/**
 * td_cli_json_print:
 * @b: a builder holding a whole document
 *
 * Writes the document on stdout, compact, on one line.
 */
void
td_cli_json_print (JsonBuilder *b)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);

  json_generator_set_root (gen, root);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
}

char *
td_cli_format_size (guint64 bytes)
{
  return g_format_size_full (bytes, G_FORMAT_SIZE_DEFAULT);
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
