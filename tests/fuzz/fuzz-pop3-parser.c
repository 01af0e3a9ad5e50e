/* fuzz-pop3-parser.c: libFuzzer target for the POP3 response parser.
 *
 * The first byte sets the size of the pieces the rest is fed in, so splits are fuzzed too;
 * the second picks the shapes of the answers the parser is told to expect (a status line,
 * a listing, a message or a SASL exchange), two bits per answer. Built with
 * -fsanitize=fuzzer when -Dfuzzing=true; otherwise fuzz-seeds.c feeds every file of the
 * seed corpus as an ordinary test.
 */
#include <stdint.h>
#include <string.h>

#include "plugins/pop3/td-pop3-parser.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  TdPop3Parser *parser = td_pop3_parser_new ();
  gsize step = size > 0 ? (data[0] % 17) + 1 : 1;
  guint shapes = size > 1 ? data[1] : 0;
  gsize off = MIN (size, 2);

  for (guint i = 0; i < 64; i++)
    td_pop3_parser_expect (parser, (TdPop3Expect) ((shapes >> ((i % 4) * 2)) & 3));
  while (off < size)
    {
      gsize n = MIN (step, size - off), pos = 0;
      while (pos < n)
        {
          GError *error = NULL;
          gsize used = 0;
          TdPop3FeedResult r = td_pop3_parser_feed (parser, data + off + pos, n - pos, &used,
                                                    &error);
          pos += used;
          if (r == TD_POP3_FEED_CHUNK)
            {
              const TdPop3Chunk *c = td_pop3_parser_get_chunk (parser);
              volatile guint8 sink = c->len ? c->data[c->len - 1] : 0;
              (void) sink;
            }
          else if (r == TD_POP3_FEED_LINE)
            {
              guint32 number;
              guint64 octets;
              char *uidl = NULL;
              const char *line = td_pop3_parser_get_line (parser);
              if (td_pop3_parse_uidl_line (line, &number, &uidl))
                g_free (uidl);
              td_pop3_parse_list_line (line, &number, &octets);
            }
          else if (r == TD_POP3_FEED_ERROR)
            {
              g_error_free (error);
              td_pop3_parser_free (parser);
              return 0;
            }
          else if (r == TD_POP3_FEED_NEED_MORE)
            break;
        }
      off += n;
    }
  td_pop3_parser_free (parser);
  return 0;
}
