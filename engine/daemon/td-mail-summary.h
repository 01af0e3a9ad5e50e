/* td-mail-summary.h: the subject and sender of a message file, for new-mail notices.
 *
 * Reads only the header (at most TD_MAIL_SUMMARY_HEADER_MAX bytes) of a file in the Maildir,
 * decodes it with GMime, and returns text that is valid UTF-8, free of control characters
 * and at most TD_MAIL_SUMMARY_MAX_CHARS characters long, whatever the file holds. Plain
 * blocking code: run it off the main loop. td_mail_summary_init() must have run once.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TD_MAIL_SUMMARY_HEADER_MAX (64 * 1024)
#define TD_MAIL_SUMMARY_MAX_CHARS 200

void td_mail_summary_init (void);
void td_mail_summary_read (const char *path, char **subject, char **sender);
char *td_mail_summary_clean (const char *text, gsize max_chars);

G_END_DECLS
