/* td-test-fake-imap.h: a scripted IMAP server, for what a real server cannot be made to do
 * (hostile mailbox names, a connection cut in the middle of a FETCH, a server that stops
 * answering). Plain text on 127.0.0.1; serves connections from a thread of its own.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  TD_FAKE_HOSTILE_NAMES, /* LIST returns names that try to escape the Maildir */
  TD_FAKE_CUT_MID_FETCH, /* the connection drops halfway through a message body */
  TD_FAKE_SILENT,        /* accepts the connection and never says a word */
  TD_FAKE_NO_STARTTLS,   /* a plain server that does not offer STARTTLS (or had it stripped) */
  TD_FAKE_PREAUTH,       /* greets with PREAUTH on a plain connection */
  TD_FAKE_STARTTLS_INJECT, /* offers STARTTLS and sends forged plain text right after its OK */
} TdFakeMode;

typedef struct _TdFakeImap TdFakeImap;

TdFakeImap *td_fake_imap_start (TdFakeMode mode, const char *escape_name);
void td_fake_imap_set_certificate (TdFakeImap *fake, const char *cert, const char *key);
guint16 td_fake_imap_get_port (TdFakeImap *fake);
gboolean td_fake_imap_saw_credentials (TdFakeImap *fake);
void td_fake_imap_stop (TdFakeImap *fake);

G_END_DECLS
