/* td-net.c: TCP connections and TLS with the account's trust rules (see td-net.h). */
#include "engine/backend/td-net.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "engine/common/td-error.h"

/**
 * td_net_describe:
 * @account: an account
 *
 * Returns: (transfer full): "host:port", as messages name the server
 */
char *
td_net_describe (TdAccountConfig *account)
{
  return g_strdup_printf ("%s:%u", account->host, account->port);
}

static void
connected (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  TdAccountConfig *account = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  GSocketConnection *conn = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source),
                                                                    result, &error);

  if (conn == NULL)
    {
      g_autofree char *where = td_net_describe (account);
      g_task_return_new_error (task, TD_ERROR, TD_ERROR_NETWORK, "account %s: cannot connect to "
                               "%s: %s", account->name, where, error->message);
      return;
    }
  GSocket *socket = g_socket_connection_get_socket (conn);
  g_socket_set_timeout (socket, 0); /* silence is watched by the session's own timer */
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  g_task_return_pointer (task, conn, g_object_unref);
}

/**
 * td_net_connect_async:
 * @account: whose server to reach (host, port, timeout)
 * @cancellable: (nullable): a cancellable
 * @callback: called once connected or failed
 * @user_data: data for @callback
 */
void
td_net_connect_async (TdAccountConfig *account, GCancellable *cancellable,
                      GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr (GSocketClient) client = g_socket_client_new ();

  g_task_set_source_tag (task, td_net_connect_async);
  g_task_set_task_data (task, td_account_config_ref (account),
                        (GDestroyNotify) td_account_config_unref);
  g_socket_client_set_timeout (client, account->timeout_seconds);
  /* Mail servers are reached directly; GIO's HTTP-proxy machinery does not apply. */
  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_connect_to_host_async (client, account->host, account->port, cancellable,
                                         connected, task);
}

/**
 * td_net_connect_finish:
 * @result: the result
 * @error: return location for an error
 *
 * Returns: (transfer full) (nullable): the connection
 */
GSocketConnection *
td_net_connect_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* TLS */

typedef struct
{
  TdAccountConfig *account;
  GTlsCertificateFlags errors;
} TlsData;

static void
tls_data_free (TlsData *t)
{
  td_account_config_unref (t->account);
  g_free (t);
}

static gboolean
fingerprint_matches (TdAccountConfig *account, GTlsCertificate *cert)
{
  g_autoptr (GByteArray) der = NULL;
  guint8 digest[32];
  gsize digest_len = sizeof digest;

  if (account->tls_fingerprint == NULL || cert == NULL)
    return FALSE;
  g_object_get (cert, "certificate", &der, NULL);
  if (der == NULL)
    return FALSE;
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, der->data, der->len);
  g_checksum_get_digest (sum, digest, &digest_len);
  gsize pin_len = 0;
  const guint8 *pin = g_bytes_get_data (account->tls_fingerprint, &pin_len);
  return pin_len == digest_len && memcmp (pin, digest, digest_len) == 0;
}

static gboolean
on_accept_certificate (GTlsConnection *conn, GTlsCertificate *cert, GTlsCertificateFlags errors,
                       gpointer data)
{
  TlsData *t = g_task_get_task_data (data);
  t->errors = errors;
  return fingerprint_matches (t->account, cert);
}

static char *
describe_tls_errors (GTlsCertificateFlags errors)
{
  GString *out = g_string_new (NULL);
  if (errors & G_TLS_CERTIFICATE_UNKNOWN_CA)
    g_string_append (out, "it is not signed by a trusted authority; ");
  if (errors & G_TLS_CERTIFICATE_BAD_IDENTITY)
    g_string_append (out, "it is for another host name; ");
  if (errors & (G_TLS_CERTIFICATE_EXPIRED | G_TLS_CERTIFICATE_NOT_ACTIVATED))
    g_string_append (out, "it is expired or not yet valid; ");
  if (errors & G_TLS_CERTIFICATE_REVOKED)
    g_string_append (out, "it is revoked; ");
  if (out->len == 0)
    g_string_append (out, "it failed validation; ");
  g_string_append (out, "set tls-ca-file to trust a private CA, or tls-fingerprint to pin this "
                        "certificate");
  return g_string_free (out, FALSE);
}

static void
handshake_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  TlsData *t = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autofree char *where = td_net_describe (t->account);

  g_signal_handlers_disconnect_by_data (source, task);
  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else if (t->errors != 0)
        {
          g_autofree char *why = describe_tls_errors (t->errors);
          g_task_return_new_error (task, TD_ERROR, TD_ERROR_TLS, "account %s (%s): the server's "
                                   "certificate is refused: %s", t->account->name, where, why);
        }
      else
        g_task_return_new_error (task, TD_ERROR, TD_ERROR_TLS, "account %s (%s): TLS handshake "
                                 "failed: %s", t->account->name, where, error->message);
      return;
    }
  if (t->account->tls_fingerprint != NULL
      && !fingerprint_matches (t->account,
                               g_tls_connection_get_peer_certificate (G_TLS_CONNECTION (source))))
    {
      g_task_return_new_error (task, TD_ERROR, TD_ERROR_TLS, "account %s (%s): the server's "
                               "certificate does not match tls-fingerprint; if the server's "
                               "certificate was renewed, update the pin", t->account->name,
                               where);
      return;
    }
  g_task_return_pointer (task, g_object_ref (source), g_object_unref);
}

/**
 * td_net_tls_async:
 * @account: whose trust rules apply
 * @base: the plain stream (a fresh connection, or one after STARTTLS/STLS)
 * @cancellable: (nullable): a cancellable
 * @callback: called once the handshake is done and the certificate accepted, or not
 * @user_data: data for @callback
 *
 * Puts TLS on @base and checks the server's certificate; credentials may be sent over the
 * result only when this succeeded.
 */
void
td_net_tls_async (TdAccountConfig *account, GIOStream *base, GCancellable *cancellable,
                  GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr (GSocketConnectable) identity = g_network_address_new (account->host, account->port);
  g_autoptr (GError) error = NULL;
  TlsData *t = g_new0 (TlsData, 1);

  g_task_set_source_tag (task, td_net_tls_async);
  t->account = td_account_config_ref (account);
  g_task_set_task_data (task, t, (GDestroyNotify) tls_data_free);
  g_autoptr (GTlsDatabase) db = NULL;
  if (account->tls_ca_file != NULL
      && (db = g_tls_file_database_new (account->tls_ca_file, &error)) == NULL)
    {
      g_task_return_new_error (task, TD_ERROR, TD_ERROR_CONFIG, "account %s: cannot use "
                               "tls-ca-file %s: %s", account->name, account->tls_ca_file,
                               error->message);
      return;
    }
  /* Given at construction, the account's CA file replaces the system trust store, which is
   * then never loaded: that parse is most of the cost of a sync with nothing to do. */
  GTlsBackend *backend = g_tls_backend_get_default ();
  g_autoptr (GIOStream) tls = NULL;
  if (g_tls_backend_supports_tls (backend))
    tls = db != NULL
            ? g_initable_new (g_tls_backend_get_client_connection_type (backend), NULL, &error,
                              "base-io-stream", base, "server-identity", identity,
                              "database", db, NULL)
            : g_tls_client_connection_new (base, identity, &error);
  else
    g_set_error_literal (&error, G_TLS_ERROR, G_TLS_ERROR_UNAVAILABLE, "no TLS backend");
  if (tls == NULL)
    {
      g_task_return_new_error (task, TD_ERROR, TD_ERROR_TLS, "account %s: TLS is not available "
                               "(is glib-networking installed?): %s", account->name,
                               error->message);
      return;
    }
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (on_accept_certificate), task);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, cancellable,
                                    handshake_done, g_steal_pointer (&task));
}

/**
 * td_net_tls_finish:
 * @result: the result
 * @error: return location for an error
 *
 * Returns: (transfer full) (nullable): the TLS stream
 */
GIOStream *
td_net_tls_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
