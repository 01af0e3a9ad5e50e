/* td-imap-parser.c: the push-fed IMAP response parser (RFC 3501 section 9, with the
 * extensions' response shapes: literal8, ESEARCH, VANISHED, response codes).
 *
 * Bytes are gathered into a fragment until a line end; each fragment is tokenised in full,
 * which keeps tokenising free of resumption points. A fragment that ends in a literal
 * marker "{N}" switches to literal mode: small literals are collected into the value tree,
 * message bodies and oversized literals are handed to the caller in chunks. The grammar
 * stage and the open-list stack persist across fragments, so a response may hold any number
 * of literals.
 */
#include "td-imap-parser.h"

#include <string.h>

#include "td-imap-limits.h"

G_DEFINE_QUARK (td-imap-error-quark, td_imap_error)

typedef enum
{
  STAGE_TAG,
  STAGE_NAME,
  STAGE_CODE_OR_TEXT,
  STAGE_CODE,
  STAGE_TEXT,
  STAGE_ARGS,
} Stage;

typedef enum
{
  TOK_DONE,
  TOK_LITERAL,
  TOK_ERROR,
} TokResult;

struct _TdImapParser
{
  gboolean in_literal;
  gboolean broken;
  GByteArray *line;
  gsize response_bytes;
  TdImapResponse *response;
  Stage stage;
  GPtrArray *stack; /* open lists, innermost last; borrowed from the response tree */
  guint code_depth; /* stack length at which the response code's list sits */

  guint64 literal_size;
  guint64 literal_done;
  gboolean literal_stream;
  GByteArray *literal_buf;
  char *literal_key;
  TdImapChunk chunk;
  TdImapResponse *ready;
};

static gboolean
fail (GError **error, TdImapErrorCode code, const char *what)
{
  g_set_error (error, TD_IMAP_ERROR, code, "server response %s", what);
  return FALSE;
}

/* Values */

static TdImapValue *
value_new (TdImapValueType type)
{
  TdImapValue *v = g_new0 (TdImapValue, 1);
  v->type = type;
  if (type == TD_IMAP_VALUE_LIST)
    v->items = g_ptr_array_new_with_free_func ((GDestroyNotify) td_imap_value_free);
  return v;
}

void
td_imap_value_free (TdImapValue *value)
{
  if (value == NULL)
    return;
  g_free (value->str);
  g_clear_pointer (&value->items, g_ptr_array_unref);
  g_free (value);
}

/**
 * td_imap_value_get_number:
 * @value: (nullable): a value
 * @out: (out): the number
 *
 * Returns: %TRUE when @value is an atom of 1 to 20 digits that fits 64 bits
 */
gboolean
td_imap_value_get_number (const TdImapValue *value, guint64 *out)
{
  guint64 n = 0;

  if (value == NULL || value->type != TD_IMAP_VALUE_ATOM || value->len == 0 || value->len > 20)
    return FALSE;
  for (gsize i = 0; i < value->len; i++)
    {
      char c = value->str[i];
      if (c < '0' || c > '9')
        return FALSE;
      if (n > (G_MAXUINT64 - (guint64) (c - '0')) / 10)
        return FALSE;
      n = n * 10 + (guint64) (c - '0');
    }
  *out = n;
  return TRUE;
}

gboolean
td_imap_value_is_atom (const TdImapValue *value, const char *atom)
{
  return value != NULL && value->type == TD_IMAP_VALUE_ATOM
         && g_ascii_strcasecmp (value->str, atom) == 0;
}

/**
 * td_imap_value_get_string:
 * @value: (nullable): a value
 *
 * Returns: (nullable): the text of an atom or string; %NULL for NIL, lists, streamed
 *   literals and strings holding a NUL byte
 */
const char *
td_imap_value_get_string (const TdImapValue *value)
{
  if (value == NULL || (value->type != TD_IMAP_VALUE_ATOM && value->type != TD_IMAP_VALUE_STRING))
    return NULL;
  if (strlen (value->str) != value->len)
    return NULL;
  return value->str;
}

/**
 * td_imap_value_lookup:
 * @list: (nullable): a list of alternating keys and values, as in FETCH
 * @key: the key, matched without regard to case
 *
 * Returns: (transfer none) (nullable): the value after @key
 */
TdImapValue *
td_imap_value_lookup (const TdImapValue *list, const char *key)
{
  if (list == NULL || list->type != TD_IMAP_VALUE_LIST)
    return NULL;
  for (guint i = 0; i + 1 < list->items->len; i += 2)
    if (td_imap_value_is_atom (g_ptr_array_index (list->items, i), key))
      return g_ptr_array_index (list->items, i + 1);
  return NULL;
}

void
td_imap_response_free (TdImapResponse *response)
{
  if (response == NULL)
    return;
  g_free (response->tag);
  g_free (response->name);
  g_free (response->text);
  td_imap_value_free (response->code);
  td_imap_value_free (response->args);
  g_free (response);
}

/**
 * td_imap_response_code_name:
 * @response: a response
 *
 * Returns: (nullable): the response code's name ("UIDVALIDITY", "ALERT"…), or %NULL
 */
const char *
td_imap_response_code_name (const TdImapResponse *response)
{
  if (response->code == NULL || response->code->items->len == 0)
    return NULL;
  return td_imap_value_get_string (g_ptr_array_index (response->code->items, 0));
}

/* The parser */

TdImapParser *
td_imap_parser_new (void)
{
  TdImapParser *p = g_new0 (TdImapParser, 1);
  p->line = g_byte_array_new ();
  p->stack = g_ptr_array_new ();
  p->literal_buf = g_byte_array_new ();
  return p;
}

static void
clear_response_state (TdImapParser *p)
{
  g_clear_pointer (&p->response, td_imap_response_free);
  g_ptr_array_set_size (p->stack, 0);
  g_byte_array_set_size (p->line, 0);
  g_byte_array_set_size (p->literal_buf, 0);
  g_clear_pointer (&p->literal_key, g_free);
  p->in_literal = FALSE;
  p->stage = STAGE_TAG;
  p->response_bytes = 0;
}

/**
 * td_imap_parser_reset:
 * @parser: a parser
 *
 * Forgets everything, including bytes of a partial response, as after STARTTLS.
 */
void
td_imap_parser_reset (TdImapParser *parser)
{
  clear_response_state (parser);
  g_clear_pointer (&parser->ready, td_imap_response_free);
  parser->broken = FALSE;
}

void
td_imap_parser_free (TdImapParser *parser)
{
  if (parser == NULL)
    return;
  td_imap_parser_reset (parser);
  g_byte_array_unref (parser->line);
  g_ptr_array_unref (parser->stack);
  g_byte_array_unref (parser->literal_buf);
  g_free (parser);
}

static gboolean
add_value (TdImapParser *p, TdImapValue *v, GError **error)
{
  TdImapValue *list = g_ptr_array_index (p->stack, p->stack->len - 1);
  if (list->items->len >= TD_IMAP_MAX_LIST_ITEMS)
    {
      td_imap_value_free (v);
      return fail (error, TD_IMAP_ERROR_LIMIT, "has a list with too many items");
    }
  g_ptr_array_add (list->items, v);
  return TRUE;
}

static gboolean
is_atom_char (char c, gboolean in_code)
{
  if ((guchar) c <= 0x20 || c == 0x7f)
    return FALSE;
  if (c == '(' || c == ')' || c == '{' || c == '"')
    return FALSE;
  return !(in_code && c == ']');
}

/* Reads an atom at s[*pos]; a '[' inside it runs to the matching ']' (BODY[HEADER.FIELDS (A B)]). */
static char *
read_atom (const char *s, gsize n, gsize *pos, gboolean in_code)
{
  gsize start = *pos, i = *pos;

  while (i < n)
    {
      if (s[i] == '[' && !in_code)
        {
          const char *close = memchr (s + i, ']', n - i);
          if (close == NULL)
            return NULL;
          i = (gsize) (close - s) + 1;
          continue;
        }
      if (!is_atom_char (s[i], in_code))
        break;
      i++;
    }
  if (i == start)
    return NULL;
  *pos = i;
  return g_strndup (s + start, i - start);
}

static TdImapValue *
read_quoted (const char *s, gsize n, gsize *pos, GError **error)
{
  g_autoptr (GString) out = g_string_new (NULL);
  gsize i = *pos + 1;

  for (; i < n && s[i] != '"'; i++)
    {
      if (s[i] == '\\' && i + 1 < n)
        i++;
      g_string_append_c (out, s[i]);
    }
  if (i >= n)
    {
      fail (error, TD_IMAP_ERROR_PARSE, "has an unterminated quoted string");
      return NULL;
    }
  *pos = i + 1;
  TdImapValue *v = value_new (TD_IMAP_VALUE_STRING);
  v->len = out->len;
  v->str = g_string_free (g_steal_pointer (&out), FALSE);
  return v;
}

/* Parses "{N}" or "{N+}" (or literal8 "~{N}") that must end the fragment. */
static gboolean
read_literal_marker (const char *s, gsize n, gsize pos, guint64 *size, GError **error)
{
  guint64 v = 0;
  gsize i = pos + (s[pos] == '~' ? 2 : 1);
  gsize digits = 0;

  for (; i < n && g_ascii_isdigit (s[i]); i++, digits++)
    {
      if (digits >= 19)
        return fail (error, TD_IMAP_ERROR_LIMIT, "announces a literal too large to be real");
      v = v * 10 + (guint64) (s[i] - '0');
    }
  if (i < n && s[i] == '+')
    i++;
  if (digits == 0 || i >= n || s[i] != '}' || i + 1 != n)
    return fail (error, TD_IMAP_ERROR_PARSE, "has a malformed literal");
  *size = v;
  return TRUE;
}

static TokResult
push_list (TdImapParser *p, GError **error)
{
  if (p->stack->len > TD_IMAP_MAX_NESTING)
    {
      fail (error, TD_IMAP_ERROR_LIMIT, "nests lists too deeply");
      return TOK_ERROR;
    }
  TdImapValue *list = value_new (TD_IMAP_VALUE_LIST);
  if (!add_value (p, list, error))
    return TOK_ERROR;
  g_ptr_array_add (p->stack, list);
  return TOK_DONE;
}

/* Parses values until the fragment ends, a literal marker, or (in a code) the closing ']'.
 * Returns TOK_DONE with *code_closed set when the response code ended. */
static TokResult
parse_values (TdImapParser *p, const char *s, gsize n, gsize *pos, guint64 *literal,
              gboolean *code_closed, GError **error)
{
  gboolean in_code = p->stage == STAGE_CODE;

  *code_closed = FALSE;
  while (*pos < n)
    {
      char c = s[*pos];
      if (c == ' ')
        {
          (*pos)++;
          continue;
        }
      if (c == '(')
        {
          (*pos)++;
          if (push_list (p, error) == TOK_ERROR)
            return TOK_ERROR;
        }
      else if (c == ')')
        {
          guint floor = in_code ? p->code_depth : 1;
          if (p->stack->len <= floor)
            return fail (error, TD_IMAP_ERROR_PARSE, "closes a list it never opened"), TOK_ERROR;
          g_ptr_array_set_size (p->stack, p->stack->len - 1);
          (*pos)++;
        }
      else if (c == ']' && in_code)
        {
          if (p->stack->len != p->code_depth)
            return fail (error, TD_IMAP_ERROR_PARSE, "ends a code inside a list"), TOK_ERROR;
          g_ptr_array_set_size (p->stack, p->stack->len - 1);
          (*pos)++;
          *code_closed = TRUE;
          return TOK_DONE;
        }
      else if (c == '"')
        {
          TdImapValue *v = read_quoted (s, n, pos, error);
          if (v == NULL || !add_value (p, v, error))
            return TOK_ERROR;
        }
      else if (c == '{' || (c == '~' && *pos + 1 < n && s[*pos + 1] == '{'))
        {
          if (!read_literal_marker (s, n, *pos, literal, error))
            return TOK_ERROR;
          *pos = n;
          return TOK_LITERAL;
        }
      else
        {
          char *atom = read_atom (s, n, pos, in_code);
          if (atom == NULL)
            return fail (error, TD_IMAP_ERROR_PARSE, "has a character where a value belongs"),
                   TOK_ERROR;
          gboolean nil = g_ascii_strcasecmp (atom, "NIL") == 0;
          TdImapValue *v = value_new (nil ? TD_IMAP_VALUE_NIL : TD_IMAP_VALUE_ATOM);
          if (nil)
            g_free (atom);
          else
            {
              v->len = strlen (atom);
              v->str = atom;
            }
          if (!add_value (p, v, error))
            return TOK_ERROR;
        }
    }
  if (in_code)
    return fail (error, TD_IMAP_ERROR_PARSE, "has an unterminated response code"), TOK_ERROR;
  if (p->stack->len != 1)
    return fail (error, TD_IMAP_ERROR_PARSE, "ends inside a list"), TOK_ERROR;
  return TOK_DONE;
}

static gboolean
is_status (const char *name, TdImapStatus *status)
{
  static const char *const names[] = { "OK", "NO", "BAD", "BYE", "PREAUTH" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_str_equal (name, names[i]))
      {
        *status = TD_IMAP_STATUS_OK + i;
        return TRUE;
      }
  return FALSE;
}

static TokResult
parse_tag (TdImapParser *p, const char *s, gsize n, gsize *pos, GError **error)
{
  TdImapResponse *r = p->response;
  const char *sp = memchr (s, ' ', n);
  gsize len = sp ? (gsize) (sp - s) : n;

  if (len == 1 && s[0] == '+')
    {
      r->kind = TD_IMAP_RESPONSE_CONTINUATION;
      r->text = g_strndup (sp ? sp + 1 : s + n, sp ? n - 2 : 0);
      return TOK_DONE;
    }
  if (len == 1 && s[0] == '*')
    r->kind = TD_IMAP_RESPONSE_UNTAGGED;
  else
    {
      if (len == 0 || len > TD_IMAP_MAX_TAG_LENGTH)
        return fail (error, TD_IMAP_ERROR_PARSE, "has no usable tag"), TOK_ERROR;
      for (gsize i = 0; i < len; i++)
        if (!is_atom_char (s[i], TRUE) || s[i] == '+' || s[i] == '*')
          return fail (error, TD_IMAP_ERROR_PARSE, "has no usable tag"), TOK_ERROR;
      r->kind = TD_IMAP_RESPONSE_TAGGED;
      r->tag = g_strndup (s, len);
    }
  if (sp == NULL)
    return fail (error, TD_IMAP_ERROR_PARSE, "has a tag and nothing else"), TOK_ERROR;
  *pos = len + 1;
  p->stage = STAGE_NAME;
  return TOK_DONE;
}

static TokResult
parse_name (TdImapParser *p, const char *s, gsize n, gsize *pos, GError **error)
{
  TdImapResponse *r = p->response;
  g_autofree char *word = read_atom (s, n, pos, TRUE);
  guint64 number;

  if (word == NULL)
    return fail (error, TD_IMAP_ERROR_PARSE, "has no response name"), TOK_ERROR;
  TdImapValue probe = { TD_IMAP_VALUE_ATOM, word, strlen (word), NULL, 0 };
  if (r->kind == TD_IMAP_RESPONSE_UNTAGGED && !r->has_number
      && td_imap_value_get_number (&probe, &number))
    {
      if (number > G_MAXUINT32 || *pos >= n || s[*pos] != ' ')
        return fail (error, TD_IMAP_ERROR_PARSE, "has a bad message number"), TOK_ERROR;
      r->has_number = TRUE;
      r->number = (guint32) number;
      (*pos)++;
      return parse_name (p, s, n, pos, error);
    }
  r->name = g_ascii_strup (word, -1);
  if (is_status (r->name, &r->status))
    p->stage = STAGE_CODE_OR_TEXT;
  else if (r->kind == TD_IMAP_RESPONSE_TAGGED)
    return fail (error, TD_IMAP_ERROR_PARSE, "is tagged but not OK, NO or BAD"), TOK_ERROR;
  else
    {
      r->args = value_new (TD_IMAP_VALUE_LIST);
      g_ptr_array_add (p->stack, r->args);
      p->stage = STAGE_ARGS;
    }
  return TOK_DONE;
}

/* Tokenises one fragment (a line, or the part of one between literals). */
static TokResult
tokenize (TdImapParser *p, const char *s, gsize n, guint64 *literal, GError **error)
{
  gsize pos = 0;
  gboolean code_closed;
  TokResult r;

  if (p->stage == STAGE_TAG)
    {
      p->response = g_new0 (TdImapResponse, 1);
      if ((r = parse_tag (p, s, n, &pos, error)) != TOK_DONE || p->response->kind ==
          TD_IMAP_RESPONSE_CONTINUATION)
        return r;
    }
  if (p->stage == STAGE_NAME && (r = parse_name (p, s, n, &pos, error)) != TOK_DONE)
    return r;
  if (p->stage == STAGE_CODE_OR_TEXT)
    {
      if (pos < n && s[pos] == ' ')
        pos++;
      if (pos < n && s[pos] == '[')
        {
          pos++;
          p->response->code = value_new (TD_IMAP_VALUE_LIST);
          g_ptr_array_add (p->stack, p->response->code);
          p->code_depth = p->stack->len;
          p->stage = STAGE_CODE;
        }
      else
        p->stage = STAGE_TEXT;
    }
  if (p->stage == STAGE_CODE)
    {
      r = parse_values (p, s, n, &pos, literal, &code_closed, error);
      if (r != TOK_DONE)
        return r;
      p->stage = STAGE_TEXT;
      if (pos < n && s[pos] == ' ')
        pos++;
    }
  if (p->stage == STAGE_TEXT)
    {
      p->response->text = g_strndup (s + pos, n - pos);
      return TOK_DONE;
    }
  return parse_values (p, s, n, &pos, literal, &code_closed, error);
}

static gboolean
key_streams (const char *key)
{
  return g_str_equal (key, "BODY[]") || g_str_equal (key, "BINARY[]")
         || g_str_equal (key, "RFC822") || g_str_equal (key, "RFC822.TEXT")
         || g_str_has_prefix (key, "BODY[]<") || g_str_has_prefix (key, "BINARY[]<");
}

static char *
current_key (TdImapParser *p)
{
  TdImapValue *list = g_ptr_array_index (p->stack, p->stack->len - 1);
  if (list->items->len > 0)
    {
      TdImapValue *last = g_ptr_array_index (list->items, list->items->len - 1);
      if (last->type == TD_IMAP_VALUE_ATOM)
        return g_ascii_strup (last->str, -1);
    }
  return g_strdup ("");
}

static gboolean
begin_literal (TdImapParser *p, guint64 size, GError **error)
{
  if (p->stage != STAGE_ARGS && p->stage != STAGE_CODE)
    return fail (error, TD_IMAP_ERROR_PARSE, "has a literal where none may be");
  if (size > TD_IMAP_MAX_MESSAGE_SIZE)
    return fail (error, TD_IMAP_ERROR_LIMIT, "announces a literal over the message size limit");
  g_free (p->literal_key);
  p->literal_key = current_key (p);
  p->literal_stream = key_streams (p->literal_key) || size > TD_IMAP_MAX_INLINE_LITERAL;
  p->literal_size = size;
  p->literal_done = 0;
  p->in_literal = TRUE;
  g_byte_array_set_size (p->literal_buf, 0);
  if (!p->literal_stream && p->response_bytes + size > TD_IMAP_MAX_RESPONSE_BYTES)
    return fail (error, TD_IMAP_ERROR_LIMIT, "is longer than any response Tidings accepts");
  p->response_bytes += p->literal_stream ? 0 : size;
  return TRUE;
}

static gboolean
end_literal (TdImapParser *p, GError **error)
{
  TdImapValue *v;

  if (p->literal_stream)
    {
      v = value_new (TD_IMAP_VALUE_STREAMED);
      v->size = p->literal_size;
    }
  else
    {
      v = value_new (TD_IMAP_VALUE_STRING);
      v->len = p->literal_buf->len;
      g_byte_array_append (p->literal_buf, (const guint8 *) "", 1);
      v->str = g_memdup2 (p->literal_buf->data, p->literal_buf->len);
      g_byte_array_set_size (p->literal_buf, 0);
    }
  p->in_literal = FALSE;
  return add_value (p, v, error);
}

static TdImapFeedResult
feed_literal (TdImapParser *p, const guint8 *data, gsize len, gsize *i, GError **error)
{
  gsize n = (gsize) MIN ((guint64) (len - *i), p->literal_size - p->literal_done);

  if (p->literal_stream)
    {
      p->chunk = (TdImapChunk) { p->literal_key, data + *i, n, p->literal_done, p->literal_size };
      p->literal_done += n;
      *i += n;
      if (p->literal_done == p->literal_size && !end_literal (p, error))
        return TD_IMAP_FEED_ERROR;
      return TD_IMAP_FEED_LITERAL_CHUNK;
    }
  g_byte_array_append (p->literal_buf, data + *i, (guint) n);
  p->literal_done += n;
  *i += n;
  if (p->literal_done == p->literal_size && !end_literal (p, error))
    return TD_IMAP_FEED_ERROR;
  return TD_IMAP_FEED_NEED_MORE;
}

/* Handles a complete fragment in p->line. */
static TdImapFeedResult
finish_fragment (TdImapParser *p, GError **error)
{
  guint64 literal = 0;
  gsize n = p->line->len;
  const char *s = (const char *) p->line->data;

  if (n > 0 && s[n - 1] == '\r')
    n--;
  if (memchr (s, '\0', n) != NULL)
    return fail (error, TD_IMAP_ERROR_PARSE, "contains a NUL byte"), TD_IMAP_FEED_ERROR;
  TokResult r = tokenize (p, s, n, &literal, error);
  g_byte_array_set_size (p->line, 0);
  if (r == TOK_ERROR)
    return TD_IMAP_FEED_ERROR;
  if (r == TOK_LITERAL)
    {
      if (!begin_literal (p, literal, error))
        return TD_IMAP_FEED_ERROR;
      if (p->literal_stream && literal == 0)
        {
          p->chunk = (TdImapChunk) { p->literal_key, (const guint8 *) "", 0, 0, 0 };
          return end_literal (p, error) ? TD_IMAP_FEED_LITERAL_CHUNK : TD_IMAP_FEED_ERROR;
        }
      return TD_IMAP_FEED_NEED_MORE;
    }
  p->ready = g_steal_pointer (&p->response);
  clear_response_state (p);
  return TD_IMAP_FEED_RESPONSE;
}

static TdImapFeedResult
feed_line (TdImapParser *p, const guint8 *data, gsize len, gsize *i, GError **error)
{
  const guint8 *nl = memchr (data + *i, '\n', len - *i);
  gsize take = nl ? (gsize) (nl - (data + *i)) : len - *i;

  if (p->line->len + take > TD_IMAP_MAX_LINE_LENGTH
      || p->response_bytes + take > TD_IMAP_MAX_RESPONSE_BYTES)
    return fail (error, TD_IMAP_ERROR_LIMIT, "has a line longer than Tidings accepts"),
           TD_IMAP_FEED_ERROR;
  g_byte_array_append (p->line, data + *i, (guint) take);
  p->response_bytes += take;
  *i += take;
  if (nl == NULL)
    return TD_IMAP_FEED_NEED_MORE;
  (*i)++;
  return finish_fragment (p, error);
}

/**
 * td_imap_parser_feed:
 * @parser: a parser
 * @data: (array length=len): bytes from the server
 * @len: length of @data
 * @consumed: (out): how many bytes of @data were used; feed the rest again
 * @error: return location for a %TD_IMAP_ERROR
 *
 * Feeds bytes until a response is complete, a streamed literal chunk is ready, the bytes are
 * used up, or the server broke the protocol. After an error the parser stays broken until
 * reset: the connection must be dropped.
 *
 * Returns: what happened
 */
TdImapFeedResult
td_imap_parser_feed (TdImapParser *parser, const guint8 *data, gsize len, gsize *consumed,
                     GError **error)
{
  TdImapFeedResult r = TD_IMAP_FEED_NEED_MORE;
  gsize i = 0;

  g_return_val_if_fail (parser != NULL && consumed != NULL, TD_IMAP_FEED_ERROR);
  g_clear_pointer (&parser->ready, td_imap_response_free);
  if (parser->broken)
    {
      *consumed = 0;
      fail (error, TD_IMAP_ERROR_PARSE, "cannot be read after an earlier error");
      return TD_IMAP_FEED_ERROR;
    }
  while (i < len && r == TD_IMAP_FEED_NEED_MORE)
    r = parser->in_literal ? feed_literal (parser, data, len, &i, error)
                           : feed_line (parser, data, len, &i, error);
  if (r == TD_IMAP_FEED_ERROR)
    parser->broken = TRUE;
  *consumed = i;
  return r;
}

/**
 * td_imap_parser_steal_response:
 * @parser: a parser that just returned %TD_IMAP_FEED_RESPONSE
 *
 * Returns: (transfer full) (nullable): the complete response
 */
TdImapResponse *
td_imap_parser_steal_response (TdImapParser *parser)
{
  return g_steal_pointer (&parser->ready);
}

/**
 * td_imap_parser_get_chunk:
 * @parser: a parser that just returned %TD_IMAP_FEED_LITERAL_CHUNK
 *
 * Returns: (transfer none): the chunk; its data is valid until the caller's buffer changes
 */
const TdImapChunk *
td_imap_parser_get_chunk (TdImapParser *parser)
{
  return &parser->chunk;
}

/**
 * td_imap_parser_peek_partial:
 * @parser: a parser
 *
 * Returns: (transfer none) (nullable): the response being parsed, for a chunk's context
 */
const TdImapResponse *
td_imap_parser_peek_partial (TdImapParser *parser)
{
  return parser->response;
}

/* Trace text */

static void
describe_value (GString *out, const TdImapValue *v, gsize max)
{
  if (out->len >= max)
    return;
  switch (v->type)
    {
    case TD_IMAP_VALUE_ATOM:
      g_string_append (out, v->str);
      break;
    case TD_IMAP_VALUE_NIL:
      g_string_append (out, "NIL");
      break;
    case TD_IMAP_VALUE_STREAMED:
      g_string_append_printf (out, "{%" G_GUINT64_FORMAT " bytes not shown}", v->size);
      break;
    case TD_IMAP_VALUE_STRING:
      if (v->len > 80 || memchr (v->str, '\0', v->len) != NULL
          || strpbrk (v->str, "\r\n") != NULL)
        g_string_append_printf (out, "{%" G_GSIZE_FORMAT " bytes not shown}", v->len);
      else
        {
          g_autofree char *shown = g_strescape (v->str, NULL);
          g_string_append_printf (out, "\"%s\"", shown);
        }
      break;
    case TD_IMAP_VALUE_LIST:
      g_string_append_c (out, '(');
      for (guint i = 0; i < v->items->len && out->len < max; i++)
        {
          if (i > 0)
            g_string_append_c (out, ' ');
          describe_value (out, g_ptr_array_index (v->items, i), max);
        }
      g_string_append_c (out, ')');
      break;
    }
}

/**
 * td_imap_response_describe:
 * @r: a response
 * @max: about how many characters to show at most
 *
 * A response as a line of a protocol trace, for --verbose: strings of more than a short
 * line, and every literal (message bodies, headers), are shown by their size only, and a
 * continuation's payload (an authentication challenge) not at all.
 *
 * Returns: (transfer full): the line, without CRLF
 */
char *
td_imap_response_describe (const TdImapResponse *r, gsize max)
{
  static const char *const status_names[] = { NULL, "OK", "NO", "BAD", "BYE", "PREAUTH" };
  GString *out = g_string_new (NULL);

  if (r->kind == TD_IMAP_RESPONSE_CONTINUATION)
    return g_string_free (g_string_append (out, "+ <not shown>"), FALSE);
  g_string_append (out, r->kind == TD_IMAP_RESPONSE_TAGGED ? r->tag : "*");
  if (r->has_number)
    g_string_append_printf (out, " %u", r->number);
  if (r->status != TD_IMAP_STATUS_NONE)
    g_string_append_printf (out, " %s", status_names[r->status]);
  else if (r->name != NULL)
    g_string_append_printf (out, " %s", r->name);
  if (r->code != NULL)
    {
      g_string_append (out, " [");
      for (guint i = 0; i < r->code->items->len && out->len < max; i++)
        {
          if (i > 0)
            g_string_append_c (out, ' ');
          describe_value (out, g_ptr_array_index (r->code->items, i), max);
        }
      g_string_append_c (out, ']');
    }
  for (guint i = 0; r->args != NULL && i < r->args->items->len && out->len < max; i++)
    {
      g_string_append_c (out, ' ');
      describe_value (out, g_ptr_array_index (r->args->items, i), max);
    }
  if (r->text != NULL && *r->text != '\0' && out->len < max)
    {
      g_autofree char *text = g_utf8_make_valid (r->text, -1);
      g_string_append_printf (out, " %s", g_strdelimit (text, "\r\n\t", ' '));
    }
  if (out->len > max)
    {
      g_string_truncate (out, max);
      g_string_append (out, "...");
    }
  return g_string_free (out, FALSE);
}
