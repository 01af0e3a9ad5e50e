/* td-connection.h: the plumbing under a protocol session (IMAP, POP3): the socket, implicit
 * TLS or a later upgrade, the read loop, the silence timer and the one failure that ends it.
 *
 * The session that owns it gets every byte read through its process hook, says through its
 * waiting hook whether an answer is awaited (silence is then timed against the account's
 * `timeout`, as it is while the greeting is awaited), and fails its own waiting commands
 * in its failed hook. A connection that
 * failed stays failed. Main loop thread only.
 */
#pragma once

#include <gio/gio.h>

#include "engine/common/td-config.h"
#include "engine/common/td-error.h"

G_BEGIN_DECLS

typedef struct
{
  void (*process) (gpointer owner, const guint8 *data, gsize len);
  gboolean (*waiting) (gpointer owner);
  void (*failed) (gpointer owner, const GError *error);
} TdConnectionHooks;

#define TD_TYPE_CONNECTION (td_connection_get_type ())
G_DECLARE_FINAL_TYPE (TdConnection, td_connection, TD, CONNECTION, GObject)

TdConnection *td_connection_new (TdAccountConfig *account, gsize read_chunk,
                                 const TdConnectionHooks *hooks, GObject *owner);

void td_connection_open (TdConnection *conn, GTask *greeting);
gboolean td_connection_awaits_greeting (TdConnection *conn);
GTask *td_connection_take_greeting (TdConnection *conn);
gboolean td_connection_refuse_other_protocol (TdConnection *conn, const guint8 *data, gsize n,
                                              const char *protocol);
void td_connection_start_tls_async (TdConnection *conn, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data);
gboolean td_connection_start_tls_finish (TdConnection *conn, GAsyncResult *result,
                                         GError **error);

void td_connection_start_reading (TdConnection *conn);
void td_connection_pause_reading (TdConnection *conn);
gboolean td_connection_is_paused (TdConnection *conn);
void td_connection_touch (TdConnection *conn);

GOutputStream *td_connection_get_output (TdConnection *conn);
GCancellable *td_connection_get_cancellable (TdConnection *conn);
const GError *td_connection_get_failure (TdConnection *conn);
gboolean td_connection_check_usable (TdConnection *conn, GError **error);
const char *td_connection_describe (TdConnection *conn);
void td_connection_set_closing (TdConnection *conn);
gboolean td_connection_is_closing (TdConnection *conn);
void td_connection_set_close_reason (TdConnection *conn, const char *reason);

void td_connection_fail (TdConnection *conn, GError *error);
void td_connection_fail_with (TdConnection *conn, TdErrorCode code, const char *format, ...)
  G_GNUC_PRINTF (3, 4);
void td_connection_close (TdConnection *conn);
void td_connection_stop_on (TdConnection *conn, GCancellable *cancellable);

G_END_DECLS
