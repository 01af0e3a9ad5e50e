/* td-maildir-keywords.h: a Maildir folder's IMAP keywords as Dovecot keeps them.
 *
 * Dovecot names a folder's keywords ($Junk, $Forwarded, Thunderbird's $label1…) in the
 * folder's `dovecot-keywords` file, one "INDEX NAME" line each, and marks a message with a
 * keyword by the letter of its index ('a' for 0 … 'z' for 25) after the standard flags in
 * the file name's ":2," part. Mail readers that read Dovecot's Maildirs, and Dovecot itself
 * serving the same Maildir, see the same tags. Only 26 letters exist: a folder's further
 * keywords have no letter.
 *
 * The file is input Tidings did not write: parsing is bounded and lenient (a line it cannot
 * use is skipped, never trusted), and fuzzed. Pure functions, any thread.
 */
#pragma once

#include "engine/common/td-types.h"

G_BEGIN_DECLS

#define TD_MAILDIR_KEYWORDS_FILE "dovecot-keywords"
#define TD_MAILDIR_KEYWORD_LETTERS 26
/* Bigger is not a keyword file: 26 lines of the longest names fit many times over. */
#define TD_MAILDIR_KEYWORDS_MAX_FILE (64 * 1024)
#define TD_MAILDIR_KEYWORD_MAX_NAME TD_KEYWORD_MAX_NAME

/* The name of each letter's keyword, NULL where the letter is free. */
typedef struct
{
  char *names[TD_MAILDIR_KEYWORD_LETTERS];
} TdMaildirKeywords;

void td_maildir_keywords_parse (const char *data, gsize len, TdMaildirKeywords *keywords);
char *td_maildir_keywords_format (const TdMaildirKeywords *keywords);
int td_maildir_keywords_find (const TdMaildirKeywords *keywords, const char *name);
int td_maildir_keywords_add (TdMaildirKeywords *keywords, const char *name);
void td_maildir_keywords_clear (TdMaildirKeywords *keywords);
guint32 td_maildir_keyword_letters (const char *info);

G_END_DECLS
