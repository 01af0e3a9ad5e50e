/* td-pop3-parser.c: POP3 responses, push-fed (RFC 1939, RFC 2449 response codes, RFC 5034
 * SASL challenges). Any thread, one parser per connection.
 *
 * Three modes: a status line; the lines of a listing; a message. A message is scanned for
 * line starts only: a "." there is either the terminator (".\r\n", or ".\n" from a sloppy
 * server) or byte-stuffing, which is dropped; everything else goes out as it came, in
 * chunks that point into the caller's buffer.
 */
#include "td-pop3-parser.h"

#include <string.h>

#include "td-pop3-limits.h"

G_DEFINE_QUARK (td-pop3-error-quark, td_pop3_error)

typedef enum
{
  MODE_STATUS,
  MODE_LINES,
  MODE_MESSAGE,
} Mode;

typedef enum
{
  AT_LINE_START,
  IN_LINE,
  AFTER_DOT,     /* a "." at a line start: the terminator or stuffing */
  AFTER_DOT_CR,  /* ".\r" at a line start */
} BodyState;

typedef enum
{
  LINE_MORE,
  LINE_DONE,
  LINE_ERROR,
} LineResult;

struct _TdPop3Parser
{
  GQueue expects;      /* TdPop3Expect + 1, in command order */
  Mode mode;
  GString *line;
  TdPop3Status status;
  TdPop3Chunk chunk;
  BodyState body;
  guint64 body_bytes;
  guint lines;
  gboolean line_reported; /* p->line holds the listing line last reported */
  gboolean failed;
};

static const guint8 carriage_return = '\r';

TdPop3Parser *
td_pop3_parser_new (void)
{
  TdPop3Parser *p = g_new0 (TdPop3Parser, 1);

  g_queue_init (&p->expects);
  p->line = g_string_sized_new (128);
  p->status.text = g_strdup ("");
  td_pop3_parser_expect (p, TD_POP3_EXPECT_STATUS); /* the greeting */
  return p;
}

void
td_pop3_parser_free (TdPop3Parser *parser)
{
  if (parser == NULL)
    return;
  g_queue_clear (&parser->expects);
  g_string_free (parser->line, TRUE);
  g_free (parser->status.code);
  g_free (parser->status.text);
  g_free (parser);
}

/**
 * td_pop3_parser_expect:
 * @parser: a parser
 * @expect: what the answer to the command just sent looks like
 *
 * Queues the shape of one more answer; call once per command, in the order sent.
 */
void
td_pop3_parser_expect (TdPop3Parser *parser, TdPop3Expect expect)
{
  g_queue_push_tail (&parser->expects, GINT_TO_POINTER (expect + 1));
}

/**
 * td_pop3_parser_reset:
 * @parser: a parser
 *
 * Forgets everything, partial input and expected answers alike, as after a TLS handshake;
 * unlike a new parser, it then expects no greeting.
 */
void
td_pop3_parser_reset (TdPop3Parser *parser)
{
  g_queue_clear (&parser->expects);
  g_string_truncate (parser->line, 0);
  parser->mode = MODE_STATUS;
  parser->line_reported = FALSE;
  parser->failed = FALSE;
}

const TdPop3Status *
td_pop3_parser_get_status (TdPop3Parser *parser)
{
  return &parser->status;
}

/* The listing line just reported (dot-unstuffed, without its line end). */
const char *
td_pop3_parser_get_line (TdPop3Parser *parser)
{
  return parser->line->str;
}

const TdPop3Chunk *
td_pop3_parser_get_chunk (TdPop3Parser *parser)
{
  return &parser->chunk;
}

static TdPop3FeedResult
fail (TdPop3Parser *p, GError **error, TdPop3ErrorCode code, const char *what)
{
  p->failed = TRUE;
  g_set_error (error, TD_POP3_ERROR, code, "the server's answer %s", what);
  return TD_POP3_FEED_ERROR;
}

/* Gathers one line (without CR LF) into p->line. */
static LineResult
collect_line (TdPop3Parser *p, const guint8 *data, gsize len, gsize *used, GError **error)
{
  const guint8 *nl = memchr (data, '\n', len);
  gsize n = nl ? (gsize) (nl - data) : len;

  *used = nl ? n + 1 : n;
  if (p->line->len + n > TD_POP3_MAX_LINE_LENGTH)
    {
      fail (p, error, TD_POP3_ERROR_LIMIT, "has a line longer than 16 KB");
      return LINE_ERROR;
    }
  if (memchr (data, '\0', n) != NULL)
    {
      fail (p, error, TD_POP3_ERROR_PARSE, "has a NUL byte in a line");
      return LINE_ERROR;
    }
  g_string_append_len (p->line, (const char *) data, n);
  if (nl == NULL)
    return LINE_MORE;
  if (p->line->len > 0 && p->line->str[p->line->len - 1] == '\r')
    g_string_truncate (p->line, p->line->len - 1);
  return LINE_DONE;
}

static gboolean
code_char_ok (char c)
{
  return g_ascii_isalnum (c) || c == '/' || c == '-';
}

/* Splits "[CODE] text" (RFC 2449) off the text after the status word. */
static void
set_status (TdPop3Parser *p, gboolean ok, const char *rest)
{
  g_clear_pointer (&p->status.code, g_free);
  g_free (p->status.text);
  p->status.ok = ok;
  while (*rest == ' ')
    rest++;
  const char *close = rest[0] == '[' ? strchr (rest, ']') : NULL;
  gboolean code_ok = close != NULL && close > rest + 1;
  for (const char *c = rest + 1; code_ok && c < close; c++)
    code_ok = code_char_ok (*c);
  if (code_ok)
    {
      p->status.code = g_ascii_strup (rest + 1, close - rest - 1);
      rest = close + 1;
      while (*rest == ' ')
        rest++;
    }
  p->status.text = g_strdup (rest);
}

/* A word at the start of @line, case-insensitively, followed by its end or a space. */
static gboolean
starts_with_word (const char *line, const char *word)
{
  gsize n = strlen (word);
  return g_ascii_strncasecmp (line, word, n) == 0 && (line[n] == '\0' || line[n] == ' ');
}

static TdPop3FeedResult
finish_status (TdPop3Parser *p, GError **error)
{
  const char *line = p->line->str;
  TdPop3Expect expect;

  if (g_queue_is_empty (&p->expects))
    return fail (p, error, TD_POP3_ERROR_PARSE, "came when none was expected");
  expect = GPOINTER_TO_INT (g_queue_peek_head (&p->expects)) - 1;
  if (expect == TD_POP3_EXPECT_SASL && line[0] == '+' && (line[1] == '\0' || line[1] == ' '))
    {
      set_status (p, TRUE, line + 1);
      g_clear_pointer (&p->status.code, g_free); /* a challenge is base64, never a code */
      g_free (p->status.text);
      p->status.text = g_strdup (line[1] == ' ' ? line + 2 : "");
      return TD_POP3_FEED_CHALLENGE;
    }
  if (starts_with_word (line, "+OK"))
    set_status (p, TRUE, line + 3);
  else if (starts_with_word (line, "-ERR"))
    set_status (p, FALSE, line + 4);
  else
    return fail (p, error, TD_POP3_ERROR_PARSE, "is not a POP3 status line");
  g_queue_pop_head (&p->expects);
  if (p->status.ok && expect == TD_POP3_EXPECT_LINES)
    {
      p->mode = MODE_LINES;
      p->lines = 0;
    }
  else if (p->status.ok && expect == TD_POP3_EXPECT_MESSAGE)
    {
      p->mode = MODE_MESSAGE;
      p->body = AT_LINE_START;
      p->body_bytes = 0;
    }
  return TD_POP3_FEED_STATUS;
}

static TdPop3FeedResult
finish_listing_line (TdPop3Parser *p, GError **error)
{
  if (g_str_equal (p->line->str, "."))
    {
      p->mode = MODE_STATUS;
      return TD_POP3_FEED_END;
    }
  if (++p->lines > TD_POP3_MAX_LIST_LINES)
    return fail (p, error, TD_POP3_ERROR_LIMIT, "lists more than 5 million lines");
  if (p->line->str[0] == '.')
    g_string_erase (p->line, 0, 1);
  return TD_POP3_FEED_LINE;
}

static TdPop3FeedResult
emit (TdPop3Parser *p, const guint8 *data, gsize n, GError **error)
{
  p->chunk.data = data;
  p->chunk.len = n;
  p->body_bytes += n;
  if (p->body_bytes > TD_POP3_MAX_MESSAGE_SIZE)
    return fail (p, error, TD_POP3_ERROR_LIMIT, "holds a message larger than 2 GB");
  return TD_POP3_FEED_CHUNK;
}

static TdPop3FeedResult
feed_message (TdPop3Parser *p, const guint8 *data, gsize len, gsize *consumed, GError **error)
{
  gsize i = 0;

  while (i < len)
    switch (p->body)
      {
      case AT_LINE_START:
        if (data[i] == '.')
          {
            i++;
            p->body = AFTER_DOT;
          }
        else
          p->body = IN_LINE;
        break;
      case AFTER_DOT:
        if (data[i] == '\r')
          {
            i++;
            p->body = AFTER_DOT_CR;
            break;
          }
        if (data[i] == '\n')
          {
            *consumed = i + 1;
            p->mode = MODE_STATUS;
            return TD_POP3_FEED_END;
          }
        p->body = IN_LINE; /* the dot was stuffing: dropped */
        break;
      case AFTER_DOT_CR:
        if (data[i] == '\n')
          {
            *consumed = i + 1;
            p->mode = MODE_STATUS;
            return TD_POP3_FEED_END;
          }
        /* ".\r" and more: the dot was stuffing, the CR is the message's. */
        p->body = IN_LINE;
        *consumed = i;
        return emit (p, &carriage_return, 1, error);
      case IN_LINE:
      default:
        {
          const guint8 *nl = memchr (data + i, '\n', len - i);
          gsize n = nl ? (gsize) (nl - (data + i)) + 1 : len - i;
          if (nl != NULL)
            p->body = AT_LINE_START;
          *consumed = i + n;
          return emit (p, data + i, n, error);
        }
      }
  *consumed = i;
  return TD_POP3_FEED_NEED_MORE;
}

/**
 * td_pop3_parser_feed:
 * @parser: a parser
 * @data: bytes from the server
 * @len: how many
 * @consumed: (out): how many of them were used; feed the rest again
 * @error: return location for an error (%TD_POP3_ERROR)
 *
 * Returns: what came of it: a status line, a challenge, a listing line, a message chunk
 *   (valid until the next call), the end of a listing or message, or a need for more bytes.
 *   After an error the parser refuses further input.
 */
TdPop3FeedResult
td_pop3_parser_feed (TdPop3Parser *parser, const guint8 *data, gsize len, gsize *consumed,
                     GError **error)
{
  TdPop3Parser *p = parser;
  gsize used = 0;

  *consumed = 0;
  if (p->line_reported)
    {
      g_string_truncate (p->line, 0);
      p->line_reported = FALSE;
    }
  if (p->failed)
    {
      g_set_error (error, TD_POP3_ERROR, TD_POP3_ERROR_PARSE, "the connection already failed");
      return TD_POP3_FEED_ERROR;
    }
  if (p->mode == MODE_MESSAGE)
    return feed_message (p, data, len, consumed, error);
  if (len == 0)
    return TD_POP3_FEED_NEED_MORE;
  switch (collect_line (p, data, len, &used, error))
    {
    case LINE_MORE:
      *consumed = used;
      return TD_POP3_FEED_NEED_MORE;
    case LINE_ERROR:
      return TD_POP3_FEED_ERROR;
    case LINE_DONE:
    default:
      break;
    }
  *consumed = used;
  TdPop3FeedResult r = p->mode == MODE_LINES ? finish_listing_line (p, error)
                                             : finish_status (p, error);
  /* A listing line stays readable until the next feed. */
  if (r == TD_POP3_FEED_LINE)
    p->line_reported = TRUE;
  else
    g_string_truncate (p->line, 0);
  return r;
}

/* A message number: 1 to 4294967295, digits only. */
static gboolean
parse_number (const char **s, guint64 max, guint64 *out)
{
  const char *p = *s;
  guint64 v = 0;

  if (!g_ascii_isdigit (*p))
    return FALSE;
  for (; g_ascii_isdigit (*p); p++)
    {
      guint d = *p - '0';
      if (v > (max - d) / 10)
        return FALSE;
      v = v * 10 + d;
    }
  *s = p;
  *out = v;
  return TRUE;
}

/**
 * td_pop3_parse_uidl_line:
 * @line: one line of a UIDL listing
 * @number: (out): the message number
 * @uidl: (out) (transfer full): its unique id
 *
 * Returns: %TRUE when the line is "N id" with an id of 1 to 70 printable characters
 */
gboolean
td_pop3_parse_uidl_line (const char *line, guint32 *number, char **uidl)
{
  guint64 n;
  const char *p = line, *id;
  gsize len;

  if (!parse_number (&p, G_MAXUINT32, &n) || n == 0 || *p != ' ')
    return FALSE;
  while (*p == ' ')
    p++;
  id = p;
  while ((guchar) *p > 0x20 && (guchar) *p < 0x7f)
    p++;
  len = p - id;
  while (*p == ' ')
    p++;
  if (*p != '\0' || len == 0 || len > TD_POP3_MAX_UIDL_LENGTH)
    return FALSE;
  *number = (guint32) n;
  *uidl = g_strndup (id, len);
  return TRUE;
}

/**
 * td_pop3_parse_list_line:
 * @line: one line of a LIST listing
 * @number: (out): the message number
 * @size: (out): its size in octets, as the server counts it (CRLF line ends)
 *
 * Returns: %TRUE when the line starts "N size"; anything after is ignored (RFC 1939)
 */
gboolean
td_pop3_parse_list_line (const char *line, guint32 *number, guint64 *size)
{
  guint64 n, s;
  const char *p = line;

  if (!parse_number (&p, G_MAXUINT32, &n) || n == 0 || *p != ' ')
    return FALSE;
  while (*p == ' ')
    p++;
  if (!parse_number (&p, G_MAXUINT64, &s) || (*p != '\0' && *p != ' '))
    return FALSE;
  *number = (guint32) n;
  *size = s;
  return TRUE;
}
