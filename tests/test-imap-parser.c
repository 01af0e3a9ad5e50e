/* test-imap-parser.c: the IMAP response parser, table-driven and fed one byte at a time. */
#include <string.h>

#include "plugins/imap/td-imap-fetch.h"
#include "plugins/imap/td-imap-limits.h"
#include "plugins/imap/td-imap-parser.h"

/* Feeds @input in pieces of @step bytes; collects responses and streamed bytes. */
typedef struct
{
  GPtrArray *responses;
  GString *streamed;
  GString *keys;
  GError *error;
} Parsed;

static void
parsed_clear (Parsed *p)
{
  g_ptr_array_unref (p->responses);
  g_string_free (p->streamed, TRUE);
  g_string_free (p->keys, TRUE);
  g_clear_error (&p->error);
}

static Parsed
parse_all (const char *input, gsize len, gsize step)
{
  Parsed p = { g_ptr_array_new_with_free_func ((GDestroyNotify) td_imap_response_free),
               g_string_new (NULL), g_string_new (NULL), NULL };
  g_autoptr (TdImapParser) parser = td_imap_parser_new ();

  for (gsize off = 0; off < len && p.error == NULL;)
    {
      gsize n = MIN (step, len - off);
      gsize pos = 0;
      while (pos < n && p.error == NULL)
        {
          gsize used = 0;
          TdImapFeedResult r = td_imap_parser_feed (parser, (const guint8 *) input + off + pos,
                                                    n - pos, &used, &p.error);
          pos += used;
          if (r == TD_IMAP_FEED_RESPONSE)
            g_ptr_array_add (p.responses, td_imap_parser_steal_response (parser));
          else if (r == TD_IMAP_FEED_LITERAL_CHUNK)
            {
              const TdImapChunk *c = td_imap_parser_get_chunk (parser);
              g_string_append_len (p.streamed, (const char *) c->data, c->len);
              if (c->offset == 0)
                g_string_append_printf (p.keys, "%s;", c->key);
            }
          else if (r == TD_IMAP_FEED_NEED_MORE)
            break;
        }
      off += n;
    }
  return p;
}

/* Renders a value tree compactly, so expectations are one string each. */
static void
render (GString *out, const TdImapValue *v)
{
  switch (v->type)
    {
    case TD_IMAP_VALUE_ATOM:
      g_string_append (out, v->str);
      break;
    case TD_IMAP_VALUE_STRING:
      g_string_append_printf (out, "\"%s\"", v->str);
      break;
    case TD_IMAP_VALUE_NIL:
      g_string_append (out, "NIL");
      break;
    case TD_IMAP_VALUE_STREAMED:
      g_string_append_printf (out, "<%" G_GUINT64_FORMAT " streamed>", v->size);
      break;
    case TD_IMAP_VALUE_LIST:
      g_string_append_c (out, '(');
      for (guint i = 0; i < v->items->len; i++)
        {
          if (i)
            g_string_append_c (out, ' ');
          render (out, g_ptr_array_index (v->items, i));
        }
      g_string_append_c (out, ')');
      break;
    }
}

static char *
describe (const TdImapResponse *r)
{
  GString *out = g_string_new (NULL);
  const char *kinds[] = { "*", "tagged", "+" };

  g_string_append (out, r->kind == TD_IMAP_RESPONSE_TAGGED ? r->tag : kinds[r->kind]);
  if (r->has_number)
    g_string_append_printf (out, " #%u", r->number);
  if (r->name)
    g_string_append_printf (out, " %s", r->name);
  if (r->code)
    {
      g_string_append (out, " [");
      render (out, r->code);
      g_string_append (out, "]");
    }
  if (r->args)
    {
      g_string_append_c (out, ' ');
      render (out, r->args);
    }
  if (r->text)
    g_string_append_printf (out, " text=%s", r->text);
  return g_string_free (out, FALSE);
}

typedef struct
{
  const char *source; /* where the case comes from */
  const char *input;
  const char *expect; /* describe() of each response, joined by " | " */
  const char *streamed;
} Case;

static const Case good_cases[] = {
  { "RFC 3501 7.1.1 greeting", "* OK IMAP4rev1 Service Ready\r\n", "* OK text=IMAP4rev1 Service Ready", "" },
  { "RFC 3501 7.1 tagged OK with code", "a1 OK [READ-WRITE] SELECT completed\r\n",
    "a1 OK [(READ-WRITE)] text=SELECT completed", "" },
  { "RFC 3501 7.1 PERMANENTFLAGS with \\*",
    "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n",
    "* OK [(PERMANENTFLAGS (\\Deleted \\Seen \\*))] text=Limited", "" },
  { "RFC 3501 7.3.1 EXISTS", "* 172 EXISTS\r\n", "* #172 EXISTS ()", "" },
  { "RFC 3501 7.2.2 LIST with quoted delimiter",
    "* LIST (\\Noselect) \"/\" ~/Mail/foo\r\n", "* LIST ((\\Noselect) \"/\" ~/Mail/foo)", "" },
  { "RFC 3501 7.2.2 LIST with NIL delimiter", "* LIST () NIL INBOX\r\n", "* LIST (() NIL INBOX)", "" },
  { "Dovecot LIST of a modified UTF-7 name",
    "* LIST (\\HasNoChildren) \".\" Entw&APw-rfe\r\n",
    "* LIST ((\\HasNoChildren) \".\" Entw&APw-rfe)", "" },
  { "RFC 3501 4.3 literal as a mailbox name", "* LIST () \"/\" {7}\r\nfoo bar\r\n",
    "* LIST (() \"/\" \"foo bar\")", "" },
  { "RFC 3501 4.3 quoted string with escapes", "* LIST () \"/\" \"a\\\"b\\\\c\"\r\n",
    "* LIST (() \"/\" \"a\"b\\c\")", "" },
  { "RFC 3501 7.4.2 FETCH with body streamed",
    "* 12 FETCH (UID 7 FLAGS (\\Seen) BODY[] {5}\r\nHi\r\n!)\r\n",
    "* #12 FETCH ((UID 7 FLAGS (\\Seen) BODY[] <5 streamed>))", "Hi\r\n!" },
  { "Dovecot FETCH: header fields kept, body streamed",
    "* 1 FETCH (UID 1 BODY[HEADER.FIELDS (MESSAGE-ID)] {21}\r\nMessage-ID: <1@x>\r\n\r\n BODY[] {2}\r\nab)\r\n",
    "* #1 FETCH ((UID 1 BODY[HEADER.FIELDS (MESSAGE-ID)] \"Message-ID: <1@x>\r\n\r\n\" BODY[] <2 streamed>))", "ab" },
  { "RFC 3501 empty body literal", "* 1 FETCH (BODY[] {0}\r\n UID 3)\r\n",
    "* #1 FETCH ((BODY[] <0 streamed> UID 3))", "" },
  { "RFC 3501 7.5 continuation", "+ Ready for additional command text\r\n",
    "+ text=Ready for additional command text", "" },
  { "RFC 4959 empty continuation", "+ \r\n", "+ text=", "" },
  { "RFC 3501 7.1.5 BYE", "* BYE Autologout; idle for too long\r\n",
    "* BYE text=Autologout; idle for too long", "" },
  { "RFC 4731 ESEARCH COUNT", "* ESEARCH (TAG \"t5\") UID COUNT 30\r\n",
    "* ESEARCH ((TAG \"t5\") UID COUNT 30)", "" },
  { "RFC 7162 VANISHED (EARLIER)", "* VANISHED (EARLIER) 41,43:116\r\n",
    "* VANISHED ((EARLIER) 41,43:116)", "" },
  { "RFC 3516 literal8", "* 1 FETCH (BINARY[] ~{3}\r\nabc)\r\n",
    "* #1 FETCH ((BINARY[] <3 streamed>))", "abc" },
  { "bare LF line ends (seen from broken proxies)", "* 3 EXISTS\n* OK done\n",
    "* #3 EXISTS () | * OK text=done", "" },
  { "status text that looks like a literal is text", "a OK we said {5}\r\n",
    "a OK text=we said {5}", "" },
};

static void
check_case (const Case *c, gsize step)
{
  Parsed p = parse_all (c->input, strlen (c->input), step);
  g_autoptr (GString) got = g_string_new (NULL);

  g_assert_no_error (p.error);
  for (guint i = 0; i < p.responses->len; i++)
    {
      g_autofree char *d = describe (g_ptr_array_index (p.responses, i));
      g_string_append_printf (got, "%s%s", i ? " | " : "", d);
    }
  if (g_strcmp0 (got->str, c->expect) != 0)
    g_test_message ("case: %s (step %" G_GSIZE_FORMAT ")", c->source, step);
  g_assert_cmpstr (got->str, ==, c->expect);
  g_assert_cmpstr (p.streamed->str, ==, c->streamed);
  parsed_clear (&p);
}

static void
test_table_whole (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (good_cases); i++)
    check_case (&good_cases[i], G_MAXSIZE);
}

static void
test_table_byte_at_a_time (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (good_cases); i++)
    for (gsize step = 1; step <= 3; step++)
      check_case (&good_cases[i], step);
}

static void
expect_error (const char *input, gsize len, int code)
{
  Parsed p = parse_all (input, len, G_MAXSIZE);
  g_assert_error (p.error, TD_IMAP_ERROR, code);
  parsed_clear (&p);
}

static void
test_bad_input (void)
{
  expect_error ("* LIST (a b\r\n", 13, TD_IMAP_ERROR_PARSE);
  expect_error ("* LIST a)\r\n", 11, TD_IMAP_ERROR_PARSE);
  expect_error ("* OK [ALERT\r\n", 13, TD_IMAP_ERROR_PARSE);
  expect_error ("* LIST \"unterminated\r\n", 22, TD_IMAP_ERROR_PARSE);
  expect_error ("a1 FETCH (UID 1)\r\n", 18, TD_IMAP_ERROR_PARSE);
  expect_error ("* X {3x}\r\n", 10, TD_IMAP_ERROR_PARSE);
  expect_error ("* X a\0b\r\n", 9, TD_IMAP_ERROR_PARSE);
  expect_error ("\r\n", 2, TD_IMAP_ERROR_PARSE);
}

static void
test_limits (void)
{
  /* A line past the limit, without a line end: refused before it is all buffered. */
  gsize n = TD_IMAP_MAX_LINE_LENGTH + 10;
  g_autofree char *long_line = g_malloc (n);
  memset (long_line, 'a', n);
  memcpy (long_line, "* X ", 4);
  expect_error (long_line, n, TD_IMAP_ERROR_LIMIT);

  /* Nesting beyond the limit. */
  g_autoptr (GString) deep = g_string_new ("* X ");
  for (int i = 0; i < TD_IMAP_MAX_NESTING + 2; i++)
    g_string_append_c (deep, '(');
  g_string_append (deep, "\r\n");
  expect_error (deep->str, deep->len, TD_IMAP_ERROR_LIMIT);

  /* A literal announcing more than any message may be. */
  expect_error ("* 1 FETCH (BODY[] {99999999999}\r\n", 33, TD_IMAP_ERROR_LIMIT);
  expect_error ("* 1 FETCH (BODY[] {99999999999999999999}\r\n", 42, TD_IMAP_ERROR_LIMIT);
}

/* A small-keyed literal over the inline limit is streamed, not kept. */
static void
test_big_literal_streams (void)
{
  gsize size = TD_IMAP_MAX_INLINE_LITERAL + 1;
  g_autoptr (GString) in = g_string_new (NULL);
  g_string_append_printf (in, "* LIST () \"/\" {%" G_GSIZE_FORMAT "}\r\n", size);
  for (gsize i = 0; i < size; i++)
    g_string_append_c (in, 'x');
  g_string_append (in, "\r\n");
  Parsed p = parse_all (in->str, in->len, 4096);
  g_assert_no_error (p.error);
  g_assert_cmpuint (p.streamed->len, ==, size);
  g_assert_cmpuint (p.responses->len, ==, 1);
  parsed_clear (&p);
}

/* The flag list sent in STORE and APPEND: standard flags by name, keyword bits by the
 * folder's names, and a name that is no atom (from a damaged file) never sent. */
static void
test_flags_format (void)
{
  const char *const names[] = { "$Junk", "bad\r\nname", "Work", NULL };
  g_autofree char *list = td_imap_flags_format (TD_FLAG_SEEN | TD_FLAG_KEYWORD (0)
                                                | TD_FLAG_KEYWORD (1) | TD_FLAG_KEYWORD (2)
                                                | TD_FLAG_KEYWORD (9), names);
  g_assert_cmpstr (list, ==, "\\Seen $Junk Work");
  g_autofree char *plain = td_imap_flags_format (TD_FLAG_KEYWORD (0), NULL);
  g_assert_cmpstr (plain, ==, "");

  /* At most TD_IMAP_MAX_KEYWORDS names of one message are taken. */
  g_autoptr (GString) in = g_string_new ("* 1 FETCH (UID 1 FLAGS (");
  for (guint i = 0; i < TD_IMAP_MAX_KEYWORDS + 5; i++)
    g_string_append_printf (in, "%sk%u", i ? " " : "", i);
  g_string_append (in, "))\r\n");
  Parsed p = parse_all (in->str, in->len, G_MAXSIZE);
  TdMessageInfo info;
  g_assert_true (td_imap_fetch_info (g_ptr_array_index (p.responses, 0), &info));
  g_auto (GStrv) taken = g_strsplit (info.keywords, " ", -1);
  g_assert_cmpuint (g_strv_length (taken), ==, TD_IMAP_MAX_KEYWORDS);
  td_message_info_clear (&info);
  parsed_clear (&p);
}

static void
test_fetch_info (void)
{
  const char *in = "* 3 FETCH (UID 42 FLAGS (\\Seen \\Flagged \\Recent $Forwarded custom $Junk) "
                   "INTERNALDATE \"21-Nov-2026 20:57:26 +0100\" RFC822.SIZE 51 "
                   "BODY[HEADER.FIELDS (MESSAGE-ID)] {35}\r\nMessage-ID:\r\n <abc@example.org>\r\n\r\n)\r\n";
  Parsed p = parse_all (in, strlen (in), G_MAXSIZE);
  TdMessageInfo info;

  g_assert_no_error (p.error);
  g_assert_true (td_imap_fetch_info (g_ptr_array_index (p.responses, 0), &info));
  g_assert_cmpuint (info.uid, ==, 42);
  g_assert_cmpuint (info.flags, ==, TD_FLAG_SEEN | TD_FLAG_FLAGGED | TD_FLAG_FORWARDED);
  /* Keywords by name, for the engine to number; \Recent is no keyword. */
  g_assert_cmpstr (info.keywords, ==, "custom $Junk");
  g_assert_cmpuint (info.size, ==, 51);
  g_assert_cmpint (info.internal_date, ==, 1795291046);
  g_assert_cmpstr (info.message_id, ==, "<abc@example.org>");
  g_assert_null (info.upload_token);
  td_message_info_clear (&info);
  parsed_clear (&p);

  /* An upload without a Message-ID, listed with the token header Tidings added. */
  in = "* 4 FETCH (UID 43 RFC822.SIZE 90 BODY[HEADER.FIELDS (MESSAGE-ID X-TIDINGS-UPLOAD)] "
       "{42}\r\nX-Tidings-Upload: <t1@tidings.invalid>\r\n\r\n)\r\n";
  p = parse_all (in, strlen (in), G_MAXSIZE);
  g_assert_no_error (p.error);
  g_assert_true (td_imap_fetch_info (g_ptr_array_index (p.responses, 0), &info));
  g_assert_null (info.message_id);
  g_assert_cmpstr (info.upload_token, ==, "<t1@tidings.invalid>");
  g_assert_null (info.email_id);
  td_message_info_clear (&info);
  parsed_clear (&p);

  /* EMAILID (RFC 8474): one id in a list; an id with characters no object id has (a path, a
   * space), a bare atom, or a list of two is no id at all. */
  const struct
  {
    const char *item;
    const char *id;
  } ids[] = {
    { "EMAILID (M6d99ac3275bb4e-_Z)", "M6d99ac3275bb4e-_Z" },
    { "EMAILID (\"../x\")", NULL },
    { "EMAILID (\"a b\")", NULL },
    { "EMAILID M1", NULL },
    { "EMAILID (M1 M2)", NULL },
    { "EMAILID ()", NULL },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autofree char *line = g_strdup_printf ("* 1 FETCH (UID 7 %s)\r\n", ids[i].item);
      p = parse_all (line, strlen (line), G_MAXSIZE);
      g_assert_no_error (p.error);
      g_assert_true (td_imap_fetch_info (g_ptr_array_index (p.responses, 0), &info));
      g_assert_cmpstr (info.email_id, ==, ids[i].id);
      td_message_info_clear (&info);
      parsed_clear (&p);
    }
  /* One id longer than RFC 8474's 255 characters. */
  g_autofree char *long_id = g_strnfill (256, 'M');
  g_autofree char *line = g_strdup_printf ("* 1 FETCH (UID 7 EMAILID (%s))\r\n", long_id);
  p = parse_all (line, strlen (line), G_MAXSIZE);
  g_assert_true (td_imap_fetch_info (g_ptr_array_index (p.responses, 0), &info));
  g_assert_null (info.email_id);
  td_message_info_clear (&info);
  parsed_clear (&p);
}

static void
test_dates (void)
{
  gint64 t = 0;
  g_assert_true (td_imap_date_parse (" 1-Jan-1970 00:00:00 +0000", &t));
  g_assert_cmpint (t, ==, 0);
  g_assert_true (td_imap_date_parse ("01-Jan-1970 01:00:00 +0100", &t));
  g_assert_cmpint (t, ==, 0);
  g_assert_false (td_imap_date_parse ("31-Foo-2020 00:00:00 +0000", &t));
  g_assert_false (td_imap_date_parse ("31-Feb-2020 00:00:00 +0000", &t));
  g_assert_false (td_imap_date_parse ("garbage", &t));

  /* Written as APPEND and SEARCH take them, English month names, and read back the same. */
  g_autofree char *full = td_imap_date_format (1795260600, TRUE);
  g_autofree char *day = td_imap_date_format (1795260600, FALSE);
  g_assert_cmpstr (full, ==, "21-Nov-2026 11:30:00 +0000");
  g_assert_cmpstr (day, ==, "21-Nov-2026");
  g_assert_true (td_imap_date_parse (full, &t));
  g_assert_cmpint (t, ==, 1795260600);
}

/* The --verbose trace shows answers as a reader would want them: structure kept, bodies,
 * long strings and challenges left out, the line cut at its bound. */
static void
test_describe (void)
{
  struct
  {
    const char *in;
    const char *shown;
  } cases[] = {
    { "* 3 FETCH (UID 7 FLAGS (\\Seen) BODY[] {5}\r\nHello)\r\n",
      "* 3 FETCH (UID 7 FLAGS (\\Seen) BODY[] {5 bytes not shown})" },
    { "* 4 FETCH (UID 8 BODY[HEADER.FIELDS (MESSAGE-ID)] {23}\r\nMessage-ID: <a@b.c>\r\n\r\n)\r\n",
      "* 4 FETCH (UID 8 BODY[HEADER.FIELDS (MESSAGE-ID)] {23 bytes not shown})" },
    { "a1 OK [READ-WRITE] SELECT completed\r\n", "a1 OK [READ-WRITE] SELECT completed" },
    { "* LIST (\\HasNoChildren) \"/\" \"Lists/gnome\"\r\n",
      "* LIST (\\HasNoChildren) \"/\" \"Lists/gnome\"" },
    { "* 12 EXISTS\r\n", "* 12 EXISTS" },
    { "+ cj1meWtvK3JmNDdlZ2U=\r\n", "+ <not shown>" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Parsed p = parse_all (cases[i].in, strlen (cases[i].in), G_MAXSIZE);
      g_assert_no_error (p.error);
      g_autofree char *shown = td_imap_response_describe (g_ptr_array_index (p.responses, 0),
                                                          300);
      g_assert_cmpstr (shown, ==, cases[i].shown);
      parsed_clear (&p);
    }

  GString *many = g_string_new ("* SEARCH");
  for (guint i = 1; i <= 500; i++)
    g_string_append_printf (many, " %u", i);
  g_string_append (many, "\r\n");
  Parsed p = parse_all (many->str, many->len, G_MAXSIZE);
  g_autofree char *cut = td_imap_response_describe (g_ptr_array_index (p.responses, 0), 100);
  g_assert_cmpuint (strlen (cut), <=, 100 + 3 + 10);
  g_assert_true (g_str_has_suffix (cut, "..."));
  parsed_clear (&p);
  g_string_free (many, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/imap/parser/table", test_table_whole);
  g_test_add_func ("/imap/parser/byte-at-a-time", test_table_byte_at_a_time);
  g_test_add_func ("/imap/parser/bad-input", test_bad_input);
  g_test_add_func ("/imap/parser/limits", test_limits);
  g_test_add_func ("/imap/parser/literal/big-streams", test_big_literal_streams);
  g_test_add_func ("/imap/fetch/info", test_fetch_info);
  g_test_add_func ("/imap/fetch/flags-format", test_flags_format);
  g_test_add_func ("/imap/parser/describe", test_describe);
  g_test_add_func ("/imap/fetch/dates", test_dates);
  return g_test_run ();
}
