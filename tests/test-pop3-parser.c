/* test-pop3-parser.c: the POP3 response parser, table-driven, each case also fed one byte
 * at a time and in every two-way split, so no answer depends on how reads fall. */
#include <string.h>

#include "plugins/pop3/td-pop3-limits.h"
#include "plugins/pop3/td-pop3-parser.h"

/* Feeds @input in pieces of @step bytes (0: all at once) and describes every event, one per
 * line: "S+ code|text", "S- ...", "C text", "L line", "M <message bytes>", "E", "X error". */
static char *
run (const TdPop3Expect *expects, const char *input, gsize input_len, gsize step)
{
  g_autoptr (TdPop3Parser) p = td_pop3_parser_new ();
  GString *out = g_string_new (NULL);
  GString *message = NULL;
  gsize off = 0;

  for (guint i = 0; expects[i] != (TdPop3Expect) -1; i++)
    td_pop3_parser_expect (p, expects[i]);
  while (off < input_len)
    {
      gsize n = step ? MIN (step, input_len - off) : input_len - off, pos = 0;
      while (pos < n)
        {
          g_autoptr (GError) error = NULL;
          gsize used = 0;
          TdPop3FeedResult r = td_pop3_parser_feed (p, (const guint8 *) input + off + pos,
                                                    n - pos, &used, &error);
          const TdPop3Status *s = td_pop3_parser_get_status (p);
          pos += used;
          switch (r)
            {
            case TD_POP3_FEED_STATUS:
              g_string_append_printf (out, "S%c %s|%s\n", s->ok ? '+' : '-',
                                      s->code ? s->code : "", s->text);
              break;
            case TD_POP3_FEED_CHALLENGE:
              g_string_append_printf (out, "C %s\n", s->text);
              break;
            case TD_POP3_FEED_LINE:
              g_string_append_printf (out, "L %s\n", td_pop3_parser_get_line (p));
              break;
            case TD_POP3_FEED_CHUNK:
              if (message == NULL)
                message = g_string_new (NULL);
              g_string_append_len (message, (const char *) td_pop3_parser_get_chunk (p)->data,
                                   td_pop3_parser_get_chunk (p)->len);
              break;
            case TD_POP3_FEED_END:
              if (message != NULL)
                {
                  g_string_append_printf (out, "M <%s>\n", message->str);
                  g_string_free (g_steal_pointer (&message), TRUE);
                }
              g_string_append (out, "E\n");
              break;
            case TD_POP3_FEED_ERROR:
              g_string_append_printf (out, "X %s\n", error->message);
              if (message != NULL)
                g_string_free (message, TRUE);
              return g_string_free (out, FALSE);
            case TD_POP3_FEED_NEED_MORE:
            default:
              g_assert_cmpuint (used, ==, n - (pos - used));
              break;
            }
          if (r == TD_POP3_FEED_NEED_MORE)
            break;
        }
      off += n;
    }
  if (message != NULL)
    {
      g_string_append_printf (out, "partial <%s>\n", message->str);
      g_string_free (message, TRUE);
    }
  return g_string_free (out, FALSE);
}

#define END ((TdPop3Expect) -1)
#define ST TD_POP3_EXPECT_STATUS
#define LI TD_POP3_EXPECT_LINES
#define MS TD_POP3_EXPECT_MESSAGE
#define SA TD_POP3_EXPECT_SASL

typedef struct
{
  const char *name;
  TdPop3Expect expects[6];  /* after the greeting */
  const char *input;
  const char *events;
} Case;

static const Case cases[] = {
  { "greeting", { END }, "+OK POP3 ready <1.2@host>\r\n", "S+ |POP3 ready <1.2@host>\n" },
  { "error-code", { ST, END }, "+OK hi\r\n-ERR [IN-USE] mailbox locked\r\n",
    "S+ |hi\nS- IN-USE|mailbox locked\n" },
  { "code-with-slash", { ST, END }, "+OK\r\n-ERR [sys/temp] try later\r\n",
    "S+ |\nS- SYS/TEMP|try later\n" },
  { "not-a-code", { ST, END }, "+OK\r\n-ERR [not a code] x\r\n", "S+ |\nS- |[not a code] x\n" },
  { "bare-lf-status", { END }, "+OK fine\n", "S+ |fine\n" },
  { "capa", { LI, END }, "+OK\r\n+OK Capability list follows\r\nUIDL\r\nPIPELINING\r\nSASL PLAIN\r\n.\r\n",
    "S+ |\nS+ |Capability list follows\nL UIDL\nL PIPELINING\nL SASL PLAIN\nE\n" },
  { "listing-error-has-no-body", { LI, ST, END }, "+OK\r\n-ERR no such message\r\n+OK bye\r\n",
    "S+ |\nS- |no such message\nS+ |bye\n" },
  { "listing-stuffed", { LI, END }, "+OK\r\n+OK\r\n..odd\r\n.\r\n", "S+ |\nS+ |\nL .odd\nE\n" },
  { "message", { MS, END },
    "+OK\r\n+OK 30 octets\r\nSubject: a\r\n\r\nbody\r\n..dots\r\n.x\r\n.\r\n",
    "S+ |\nS+ |30 octets\nM <Subject: a\r\n\r\nbody\r\n.dots\r\nx\r\n>\nE\n" },
  { "message-bare-lf", { MS, END }, "+OK\r\n+OK\nline\n..two\n.\n",
    "S+ |\nS+ |\nM <line\n.two\n>\nE\n" },
  { "message-dot-cr-not-end", { MS, END }, "+OK\r\n+OK\r\n.\rX\r\n.\r\n",
    "S+ |\nS+ |\nM <\rX\r\n>\nE\n" },
  { "message-empty", { MS, END }, "+OK\r\n+OK\r\n.\r\n", "S+ |\nS+ |\nE\n" },
  { "pipelined", { MS, ST, MS, END },
    "+OK\r\n+OK\r\na\r\n.\r\n+OK deleted\r\n+OK\r\nb\r\n.\r\n",
    "S+ |\nS+ |\nM <a\r\n>\nE\nS+ |deleted\nS+ |\nM <b\r\n>\nE\n" },
  { "sasl", { SA, END }, "+OK\r\n+ \r\n+ YWJj\r\n+OK welcome\r\n",
    "S+ |\nC \nC YWJj\nS+ |welcome\n" },
  { "plus-outside-sasl", { ST, END }, "+OK\r\n+ hi\r\n",
    "S+ |\nX the server's answer is not a POP3 status line\n" },
  { "garbage", { END }, "* OK IMAP here\r\n", "X the server's answer is not a POP3 status line\n" },
  { "unexpected", { END }, "+OK\r\n+OK again\r\n",
    "S+ |\nX the server's answer came when none was expected\n" },
  { "nul", { END }, "+OK a\0b\r\n", "X the server's answer has a NUL byte in a line\n" },
};

static void
test_cases (void)
{
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      const Case *k = &cases[c];
      gsize len = g_str_equal (k->name, "nul") ? 9 : strlen (k->input);
      g_autofree char *whole = run (k->expects, k->input, len, 0);
      if (g_strcmp0 (whole, k->events) != 0)
        g_error ("%s: got\n%s\nexpected\n%s", k->name, whole, k->events);
      g_autofree char *bytes = run (k->expects, k->input, len, 1);
      if (g_strcmp0 (bytes, k->events) != 0)
        g_error ("%s, a byte at a time: got\n%s\nexpected\n%s", k->name, bytes, k->events);
      for (gsize step = 2; step < len; step++)
        {
          g_autofree char *split = run (k->expects, k->input, len, step);
          if (g_strcmp0 (split, k->events) != 0)
            g_error ("%s, in pieces of %zu: got\n%s", k->name, step, split);
        }
    }
}

/* A terminator split right after the dot, across reads, still ends the message, and a
 * stuffed dot split from its line is still dropped. */
static void
test_split_terminator (void)
{
  const TdPop3Expect e[] = { MS, END };
  g_autofree char *a = run (e, "+OK\r\n+OK\r\nx\r\n.", 15, 0);
  g_assert_cmpstr (a, ==, "S+ |\nS+ |\npartial <x\r\n>\n");
}

static void
test_limits (void)
{
  const TdPop3Expect e[] = { END };
  GString *long_line = g_string_new ("+OK ");
  while (long_line->len <= TD_POP3_MAX_LINE_LENGTH)
    g_string_append (long_line, "0123456789abcdef");
  g_string_append (long_line, "\r\n");
  g_autofree char *r = run (e, long_line->str, long_line->len, 4096);
  g_assert_cmpstr (r, ==, "X the server's answer has a line longer than 16 KB\n");
  g_string_free (long_line, TRUE);
}

static void
test_uidl_line (void)
{
  guint32 n = 0;
  char *id = NULL;

  g_assert_true (td_pop3_parse_uidl_line ("1 whqtswO00WBw418f9t5JxYwZ", &n, &id));
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpstr (id, ==, "whqtswO00WBw418f9t5JxYwZ");
  g_free (id);
  g_assert_true (td_pop3_parse_uidl_line ("4294967295 a", &n, &id));
  g_assert_cmpuint (n, ==, G_MAXUINT32);
  g_free (id);
  const char *bad[] = { "", "0 a", "4294967296 a", "1", "1 ", "x a", "1 a b", "1 \x7f",
                        "1 0123456789012345678901234567890123456789012345678901234567890123456789X" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    if (td_pop3_parse_uidl_line (bad[i], &n, &id))
      g_error ("accepted UIDL line \"%s\"", bad[i]);
}

static void
test_list_line (void)
{
  guint32 n = 0;
  guint64 size = 0;

  g_assert_true (td_pop3_parse_list_line ("2 120", &n, &size));
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpuint (size, ==, 120);
  g_assert_true (td_pop3_parse_list_line ("3 18446744073709551615 extra", &n, &size));
  g_assert_cmpuint (size, ==, G_MAXUINT64);
  const char *bad[] = { "", "1", "0 5", "1 18446744073709551616", "1 x", "1 5x" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    if (td_pop3_parse_list_line (bad[i], &n, &size))
      g_error ("accepted LIST line \"%s\"", bad[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/pop3/parser/cases", test_cases);
  g_test_add_func ("/pop3/parser/split-terminator", test_split_terminator);
  g_test_add_func ("/pop3/parser/line-too-long", test_limits);
  g_test_add_func ("/pop3/parser/uidl-line", test_uidl_line);
  g_test_add_func ("/pop3/parser/list-line", test_list_line);
  return g_test_run ();
}
