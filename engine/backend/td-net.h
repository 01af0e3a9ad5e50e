/* td-net.h: reaching a mail server, for every protocol plugin.
 *
 * Opens the TCP connection (no proxy, Nagle off, no socket timeout: sessions watch silence
 * with their own timer) and puts TLS on a stream with the account's trust rules: the system
 * CAs, or `tls-ca-file`, and `tls-fingerprint` as a pin that also accepts a certificate no CA
 * vouches for. Errors are TD_ERROR_NETWORK or TD_ERROR_TLS and name the account, the server
 * and what to do. Main loop thread.
 */
#pragma once

#include <gio/gio.h>

#include "engine/common/td-config.h"

G_BEGIN_DECLS

void td_net_connect_async (TdAccountConfig *account, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
GSocketConnection *td_net_connect_finish (GAsyncResult *result, GError **error);

void td_net_tls_async (TdAccountConfig *account, GIOStream *base, GCancellable *cancellable,
                       GAsyncReadyCallback callback, gpointer user_data);
GIOStream *td_net_tls_finish (GAsyncResult *result, GError **error);

char *td_net_describe (TdAccountConfig *account);
const char *td_net_greeting_protocol (const char *data, gsize n);

G_END_DECLS
