/* td-test-fake-server.h: a scripted IMAP or POP3 server, for what a real server cannot be
 * made to do (hostile mailbox names or listings, a connection cut in the middle of a
 * message, a server that stops answering, a stripped or abused STARTTLS/STLS, a SCRAM server
 * that cannot prove it knows the password). Plain text
 * on 127.0.0.1; serves connections from a thread of its own.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  TD_FAKE_IMAP,
  TD_FAKE_POP3,
} TdFakeProtocol;

typedef enum
{
  TD_FAKE_HOSTILE_NAMES, /* LIST returns names that try to escape the Maildir */
  TD_FAKE_CUT_MID_FETCH, /* the connection drops halfway through a message body */
  TD_FAKE_SILENT,        /* accepts the connection and never says a word */
  TD_FAKE_NO_STARTTLS,   /* a plain server that does not offer STARTTLS (or had it stripped) */
  TD_FAKE_PREAUTH,       /* greets with PREAUTH on a plain connection */
  TD_FAKE_STARTTLS_INJECT, /* offers STARTTLS and sends forged plain text right after its OK */
  TD_FAKE_PLAIN,         /* POP3: a plain, well-behaved server */
  TD_FAKE_NO_UIDL,       /* POP3: UIDL is refused (an RFC 1939 server without it) */
  TD_FAKE_LONG_UIDL,     /* POP3: a unique id far over RFC 1939's 70 characters */
  TD_FAKE_SCRAM_FORGED,  /* offers only SCRAM-SHA-256 and sends a wrong server signature */
  TD_FAKE_SCRAM_EARLY_OK, /* offers only SCRAM-SHA-256 and says OK before its signature */
} TdFakeMode;

typedef struct _TdFakeServer TdFakeServer;

TdFakeServer *td_fake_server_start (TdFakeProtocol protocol, TdFakeMode mode,
                                    const char *escape_name);
void td_fake_server_set_certificate (TdFakeServer *fake, const char *cert, const char *key);
guint16 td_fake_server_get_port (TdFakeServer *fake);
gboolean td_fake_server_saw_credentials (TdFakeServer *fake);
guint td_fake_server_count_deletions (TdFakeServer *fake);
void td_fake_server_stop (TdFakeServer *fake);

G_END_DECLS
