/* fuzz-imap-parser.c: libFuzzer target for the IMAP response parser.
 *
 * The input is fed in pieces whose sizes come from its first byte, so splits are fuzzed
 * too. Built with -fsanitize=fuzzer when -Dfuzzing=true; otherwise fuzz-seeds.c feeds every
 * file of the seed corpus as an ordinary test.
 */
#include <stdint.h>
#include <string.h>

#include "plugins/imap/td-imap-parser.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  TdImapParser *parser = td_imap_parser_new ();
  gsize step = size > 0 ? (data[0] % 17) + 1 : 1;
  gsize off = 0;

  while (off < size)
    {
      gsize n = MIN (step, size - off), pos = 0;
      while (pos < n)
        {
          GError *error = NULL;
          gsize used = 0;
          TdImapFeedResult r = td_imap_parser_feed (parser, data + off + pos, n - pos, &used, &error);
          pos += used;
          if (r == TD_IMAP_FEED_RESPONSE)
            td_imap_response_free (td_imap_parser_steal_response (parser));
          else if (r == TD_IMAP_FEED_ERROR)
            {
              g_error_free (error);
              td_imap_parser_free (parser);
              return 0;
            }
          else if (r == TD_IMAP_FEED_NEED_MORE)
            break;
        }
      off += n;
    }
  td_imap_parser_free (parser);
  return 0;
}
