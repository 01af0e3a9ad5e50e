/* td-imap-session.h: one IMAP connection.
 *
 * Owns the socket, the TLS layer and the response parser; queues tagged commands, pipelines
 * them, routes untagged data and streamed body chunks to the oldest command still waiting
 * for its completion, and fails every waiting command when the connection breaks or goes
 * silent past the account's timeout. Main loop thread only.
 */
#pragma once

#include <gio/gio.h>

#include "engine/common/td-config.h"
#include "engine/backend/td-sasl.h"
#include "td-imap-parser.h"

G_BEGIN_DECLS

#define TD_TYPE_IMAP_SESSION (td_imap_session_get_type ())
G_DECLARE_FINAL_TYPE (TdImapSession, td_imap_session, TD, IMAP_SESSION, GObject)

/* What the server can do, from CAPABILITY; quirks a server has are data here too. */
typedef struct
{
  gboolean imap4rev1;
  gboolean starttls;
  gboolean logindisabled;
  TdSaslOffer sasl; /* the AUTH= capabilities */
  gboolean sasl_ir;
  gboolean literal_plus;
  gboolean condstore;
  gboolean qresync;
  gboolean esearch;
  gboolean searchres;      /* RFC 5182: a SEARCH result saved as $ */
  gboolean special_use;    /* RFC 6154: LIST says what folders are for */
  gboolean uidplus;
  gboolean move;           /* RFC 6851: UID MOVE */
  gboolean enable;
  gboolean idle;
  gboolean notify;
  gboolean list_status;
  gboolean id;             /* RFC 2971 */
  gboolean objectid;       /* RFC 8474: FETCH EMAILID */
} TdImapCaps;

/* The selected mailbox as untagged data reports it. */
typedef struct
{
  guint32 exists;
  guint32 uidvalidity;
  guint32 uidnext;
  guint64 highestmodseq;
  gboolean read_only;
  gboolean nomodseq;
} TdImapMailbox;

typedef void (*TdImapUntaggedFunc) (TdImapSession *session, const TdImapResponse *response,
                                    gpointer user_data);
typedef gboolean (*TdImapChunkFunc) (TdImapSession *session, const TdImapResponse *partial,
                                     const TdImapChunk *chunk, gpointer user_data,
                                     GError **error);

/* Answers a "+" the server sends a command that has no literal waiting (an AUTHENTICATE
 * exchange): returns the next line to send, CRLF included, or NULL to end the exchange
 * with "*". The line is never logged. */
typedef GBytes *(*TdImapContinueFunc) (TdImapSession *session, const char *text,
                                       gpointer user_data);

typedef enum
{
  TD_IMAP_COMMAND_PLAIN = 0,
  TD_IMAP_COMMAND_SENSITIVE = 1 << 0, /* never logged: it carries a credential */
  TD_IMAP_COMMAND_STARTTLS = 1 << 1,  /* stop reading at its completion */
  TD_IMAP_COMMAND_NO_REPLY = 1 << 2,  /* complete once written (LOGOUT: the reply is not needed) */
  TD_IMAP_COMMAND_IDLE = 1 << 3,      /* IDLE: "+" starts a silence; td_imap_session_idle_done ends it */
} TdImapCommandFlags;

typedef struct
{
  TdImapUntaggedFunc on_untagged;
  TdImapChunkFunc on_chunk;
  TdImapContinueFunc on_continue;
  gpointer user_data;
  TdImapCommandFlags flags;
} TdImapHandlers;

TdImapSession *td_imap_session_new (TdAccountConfig *account);

void td_imap_session_connect_async (TdImapSession *self, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data);
gboolean td_imap_session_connect_finish (TdImapSession *self, GAsyncResult *result,
                                         gboolean *preauth, GError **error);

void td_imap_session_starttls_async (TdImapSession *self, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data);
gboolean td_imap_session_starttls_finish (TdImapSession *self, GAsyncResult *result,
                                          GError **error);

void td_imap_session_command_async (TdImapSession *self, const TdImapHandlers *handlers,
                                    GPtrArray *parts, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data);
void td_imap_session_run_async (TdImapSession *self, const TdImapHandlers *handlers,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data, const char *format, ...)
  G_GNUC_PRINTF (6, 7);
void td_imap_session_append_async (TdImapSession *self, const char *head, GInputStream *stream,
                                   guint64 size, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);
TdImapResponse *td_imap_session_command_finish (TdImapSession *self, GAsyncResult *result,
                                                GError **error);

void td_imap_session_idle_done (TdImapSession *self);
const TdImapCaps *td_imap_session_get_caps (TdImapSession *self);
const char *td_imap_email_id_item (TdImapSession *self);
TdImapMailbox *td_imap_session_get_mailbox (TdImapSession *self);
guint td_imap_session_get_selections (TdImapSession *self);
const char *td_imap_session_describe (TdImapSession *self);
void td_imap_session_close (TdImapSession *self);

char *td_imap_quote (const char *string);

G_END_DECLS
