/* fuzz-maildir-keywords.c: libFuzzer target for reading a Maildir folder's dovecot-keywords
 * file (td-maildir-keywords.h), which Tidings did not write. Whatever the bytes, every name
 * kept is a valid keyword, none twice, and writing the result and reading it back gives the
 * same letters. Built with -fsanitize=fuzzer when -Dfuzzing=true, otherwise fuzz-seeds.c
 * feeds every file of the seed corpus as an ordinary test.
 */
#include <stdint.h>
#include <string.h>

#include "storage/td-maildir-keywords.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  TdMaildirKeywords k, again;

  td_maildir_keywords_parse ((const char *) data, size, &k);
  for (guint i = 0; i < TD_MAILDIR_KEYWORD_LETTERS; i++)
    if (k.names[i] != NULL)
      {
        g_assert_true (td_keyword_name_valid (k.names[i]));
        g_assert_cmpint (td_maildir_keywords_find (&k, k.names[i]), ==, (int) i);
      }
  g_autofree char *text = td_maildir_keywords_format (&k);
  td_maildir_keywords_parse (text, strlen (text), &again);
  for (guint i = 0; i < TD_MAILDIR_KEYWORD_LETTERS; i++)
    g_assert_cmpstr (k.names[i], ==, again.names[i]);
  td_maildir_keywords_clear (&k);
  td_maildir_keywords_clear (&again);
  return 0;
}
