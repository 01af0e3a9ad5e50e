/* fuzz-imap-parser.c: libFuzzer target for the IMAP response parser.
 *
 * The input is fed in pieces whose sizes come from its first byte, so splits are fuzzed
 * too. Built with -fsanitize=fuzzer when -Dfuzzing=true; otherwise the runner at the bottom
 * feeds every file of the seed corpus as an ordinary test.
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

#ifndef TD_FUZZING
#include <glib/gstdio.h>

/* Runs every seed in the corpus directory given as the one argument. */
int
main (int argc, char **argv)
{
  g_autoptr (GDir) dir = NULL;
  const char *name;
  guint count = 0;

  if (argc != 2 || (dir = g_dir_open (argv[1], 0, NULL)) == NULL)
    {
      g_printerr ("usage: %s CORPUS-DIR\n", argv[0]);
      return 2;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (argv[1], name, NULL);
      g_autofree char *data = NULL;
      gsize len = 0;
      if (!g_file_get_contents (path, &data, &len, NULL))
        return 1;
      LLVMFuzzerTestOneInput ((const uint8_t *) data, len);
      count++;
    }
  /* TAP, so the seeds count as one test case like every other suite's cases. */
  g_print ("1..1\n%s 1 /fuzz/imap-parser/seeds (%u seeds)\n", count > 0 ? "ok" : "not ok", count);
  return count > 0 ? 0 : 1;
}
#endif
