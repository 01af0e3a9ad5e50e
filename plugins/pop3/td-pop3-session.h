/* td-pop3-session.h: one POP3 connection.
 *
 * Owns the socket, the TLS layer and the response parser. Commands queue in order; when the
 * server offers PIPELINING (RFC 2449) up to TD_POP3_PIPELINE_DEPTH are on the wire at once,
 * otherwise each waits for the answer to the one before. Listing lines and message chunks go
 * to the handlers of the command they answer. A broken or silent connection fails every
 * waiting command. Main loop thread only.
 */
#pragma once

#include <gio/gio.h>

#include "engine/common/td-config.h"
#include "engine/backend/td-sasl.h"
#include "td-pop3-parser.h"

G_BEGIN_DECLS

#define TD_TYPE_POP3_SESSION (td_pop3_session_get_type ())
G_DECLARE_FINAL_TYPE (TdPop3Session, td_pop3_session, TD, POP3_SESSION, GObject)

/* What the server can do, from CAPA (RFC 2449) and the greeting. */
typedef struct
{
  gboolean capa;       /* it answered CAPA at all */
  gboolean stls;
  gboolean user;
  TdSaslOffer sasl;
  gboolean pipelining;
  gboolean uidl;
  gboolean top;
  gboolean resp_codes;
  char *apop_timestamp; /* "<...>" from the greeting, or NULL */
} TdPop3Caps;

/* The server's answer to one command. */
typedef struct
{
  gboolean ok;
  gboolean challenge; /* a SASL "+" line; text holds its base64 */
  char *code;         /* RFC 2449 response code, upper-cased, or NULL */
  char *text;
} TdPop3Reply;

void td_pop3_reply_free (TdPop3Reply *reply);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdPop3Reply, td_pop3_reply_free)

typedef void (*TdPop3LineFunc) (TdPop3Session *session, const char *line, gpointer user_data);
typedef gboolean (*TdPop3ChunkFunc) (TdPop3Session *session, const guint8 *data, gsize len,
                                     gpointer user_data, GError **error);
typedef gboolean (*TdPop3EndFunc) (TdPop3Session *session, gpointer user_data, GError **error);

typedef enum
{
  TD_POP3_COMMAND_PLAIN = 0,
  TD_POP3_COMMAND_SENSITIVE = 1 << 0, /* never logged: it carries a credential */
  TD_POP3_COMMAND_STLS = 1 << 1,      /* stop reading once it is answered +OK */
  TD_POP3_COMMAND_CONTINUES = 1 << 2, /* answers a SASL challenge: no new expectation */
  TD_POP3_COMMAND_QUIT = 1 << 3,      /* the server closes after answering: not a failure */
  TD_POP3_COMMAND_NO_REPLY = 1 << 4,  /* complete once written (a QUIT with nothing to
                                         commit: its answer is not worth a round trip) */
} TdPop3CommandFlags;

typedef struct
{
  TdPop3Expect expect;
  TdPop3CommandFlags flags;
  TdPop3LineFunc on_line;   /* each line of a listing */
  TdPop3ChunkFunc on_chunk; /* message bytes, dot-unstuffed, line ends as sent */
  TdPop3EndFunc on_end;     /* the end of a message or listing */
  gpointer user_data;
} TdPop3Handlers;

TdPop3Session *td_pop3_session_new (TdAccountConfig *account);

void td_pop3_session_connect_async (TdPop3Session *self, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data);
gboolean td_pop3_session_connect_finish (TdPop3Session *self, GAsyncResult *result,
                                         GError **error);

void td_pop3_session_stls_async (TdPop3Session *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
gboolean td_pop3_session_stls_finish (TdPop3Session *self, GAsyncResult *result,
                                      GError **error);

void td_pop3_session_command_async (TdPop3Session *self, const TdPop3Handlers *handlers,
                                    const char *line, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data);
TdPop3Reply *td_pop3_session_command_finish (TdPop3Session *self, GAsyncResult *result,
                                             GError **error);

GError *td_pop3_session_reply_error (TdPop3Session *self, const TdPop3Reply *reply,
                                     int default_code, const char *what);
GError *td_pop3_session_check_reply (TdPop3Session *self, const TdPop3Reply *reply,
                                     GError *error, int default_code, const char *what);

void td_pop3_session_parse_capa (TdPop3Session *self, const char *line);
void td_pop3_session_reset_caps (TdPop3Session *self);
TdPop3Caps *td_pop3_session_get_caps (TdPop3Session *self);
const char *td_pop3_session_describe (TdPop3Session *self);
void td_pop3_session_close (TdPop3Session *self);

G_END_DECLS
