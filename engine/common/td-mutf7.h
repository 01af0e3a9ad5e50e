/* td-mutf7.h: modified UTF-7 (RFC 3501 section 5.1.3), the encoding of IMAP mailbox names
 * and of Maildir++ folder names. Pure functions, any thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *td_mutf7_decode (const char *mutf7, GError **error);
char *td_mutf7_encode (const char *utf8);

G_END_DECLS
