/* td-crlf-converter.h: turns a Maildir file's LF line ends into the CRLF IMAP wants.
 *
 * A bare LF becomes CRLF; a CRLF already there and every other byte pass unchanged, so a
 * message that came down (CRLF -> LF) goes up again identical. An optional prefix (a header
 * Tidings adds to find an upload again) comes out first. Used by one thread at a time.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TD_TYPE_CRLF_CONVERTER (td_crlf_converter_get_type ())
G_DECLARE_FINAL_TYPE (TdCrlfConverter, td_crlf_converter, TD, CRLF_CONVERTER, GObject)

TdCrlfConverter *td_crlf_converter_new (const char *prefix);

G_END_DECLS
