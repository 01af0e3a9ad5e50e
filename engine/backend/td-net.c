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
 * Returns: (transfer full): "host:port", as messages name the server, or "tunnel-command
 *   ssh" for an account reached through its tunnel-command
 */
char *
td_net_describe (TdAccountConfig *account)
{
  if (account->tunnel_command != NULL)
    return g_strdup_printf ("tunnel-command %s", account->tunnel_command[0]);
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

/**
 * td_net_greeting_protocol:
 * @data: the first bytes a server sent
 * @n: how many
 *
 * Returns: (nullable): "imap" or "pop3" when @data begins as that protocol's greeting does
 */
const char *
td_net_greeting_protocol (const char *data, gsize n)
{
  if ((n >= 3 && strncmp (data, "+OK", 3) == 0) || (n >= 4 && strncmp (data, "-ERR", 4) == 0))
    return "pop3";
  if (n >= 4 && (strncmp (data, "* OK", 4) == 0 || strncmp (data, "* PR", 4) == 0
                 || strncmp (data, "* BY", 4) == 0))
    return "imap";
  return NULL;
}

/* TLS */

typedef struct
{
  TdAccountConfig *account;
  GTlsCertificateFlags errors;
  char *seen;  /* the refused certificate's fingerprint, as tls-fingerprint takes it */
} TlsData;

static void
tls_data_free (TlsData *t)
{
  td_account_config_unref (t->account);
  g_free (t->seen);
  g_free (t);
}

/* The SHA-256 of @cert's DER form; FALSE when it has none. */
static gboolean
cert_digest (GTlsCertificate *cert, guint8 digest[32])
{
  g_autoptr (GByteArray) der = NULL;
  gsize digest_len = 32;

  if (cert == NULL)
    return FALSE;
  g_object_get (cert, "certificate", &der, NULL);
  if (der == NULL)
    return FALSE;
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, der->data, der->len);
  g_checksum_get_digest (sum, digest, &digest_len);
  return digest_len == 32;
}

/* "sha256:AB:CD:…", ready to paste into tls-fingerprint; NULL without a certificate. */
static char *
describe_fingerprint (GTlsCertificate *cert)
{
  guint8 digest[32];

  if (!cert_digest (cert, digest))
    return NULL;
  GString *out = g_string_new ("sha256:");
  for (guint i = 0; i < 32; i++)
    g_string_append_printf (out, i ? ":%02X" : "%02X", digest[i]);
  return g_string_free (out, FALSE);
}

static gboolean
fingerprint_matches (TdAccountConfig *account, GTlsCertificate *cert)
{
  guint8 digest[32];
  gsize pin_len = 0;

  if (account->tls_fingerprint == NULL || !cert_digest (cert, digest))
    return FALSE;
  const guint8 *pin = g_bytes_get_data (account->tls_fingerprint, &pin_len);
  return pin_len == sizeof digest && memcmp (pin, digest, sizeof digest) == 0;
}

static gboolean
on_accept_certificate (GTlsConnection *conn, GTlsCertificate *cert, GTlsCertificateFlags errors,
                       gpointer data)
{
  TlsData *t = g_task_get_task_data (data);
  t->errors = errors;
  if (fingerprint_matches (t->account, cert))
    return TRUE;
  g_free (t->seen);
  t->seen = describe_fingerprint (cert);
  return FALSE;
}

static char *
describe_tls_errors (GTlsCertificateFlags errors, const char *seen)
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
  if (seen != NULL)
    g_string_append_printf (out, " (it is tls-fingerprint = %s; compare it with what the "
                            "server's administrator publishes before you pin it)", seen);
  return g_string_free (out, FALSE);
}

/* A handshake that failed for want of TLS (the account asks for TLS on a plain-text port)
 * gets a parse error from the TLS library that says nothing useful. A plain-text IMAP or
 * POP3 server greets as soon as it is connected to, while a TLS one waits for the client:
 * a second, short-lived connection that reads the first bytes tells which it is. Only a
 * failed handshake pays for it. */

typedef struct
{
  GTask *task;             /* owned: the handshake's */
  GError *handshake_error; /* owned: returned when the look finds no plain-text greeting */
  GSocketConnection *conn;
  char head[8];
} PlainLook;

static void
plain_look_end (PlainLook *look, gssize n)
{
  TlsData *t = g_task_get_task_data (look->task);
  gboolean plain = n > 0 && td_net_greeting_protocol (look->head, (gsize) n) != NULL;
  g_autofree char *where = td_net_describe (t->account);

  if (!g_task_return_error_if_cancelled (look->task) && plain)
    g_task_return_new_error (look->task, TD_ERROR, TD_ERROR_NETWORK, "account %s (%s): the "
                             "server answers in plain text, not TLS: this port wants security = "
                             "starttls, or use the port for TLS (993 for IMAP, 995 for POP3)",
                             t->account->name, where);
  else if (!g_task_had_error (look->task))
    g_task_return_new_error (look->task, TD_ERROR, TD_ERROR_TLS, "account %s (%s): TLS "
                             "handshake failed: %s", t->account->name, where,
                             look->handshake_error->message);
  if (look->conn != NULL)
    g_io_stream_close (G_IO_STREAM (look->conn), NULL, NULL);
  g_clear_object (&look->conn);
  g_object_unref (look->task);
  g_error_free (look->handshake_error);
  g_free (look);
}

static void
plain_look_read (GObject *source, GAsyncResult *result, gpointer data)
{
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, NULL);
  plain_look_end (data, n);
}

static void
plain_look_connected (GObject *source, GAsyncResult *result, gpointer data)
{
  PlainLook *look = data;

  look->conn = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source), result, NULL);
  if (look->conn == NULL)
    {
      plain_look_end (look, -1);
      return;
    }
  g_socket_set_timeout (g_socket_connection_get_socket (look->conn), 2);
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (look->conn)), look->head,
                             sizeof look->head, G_PRIORITY_DEFAULT,
                             g_task_get_cancellable (look->task), plain_look_read, look);
}

static void
look_for_plain_text (GTask *task, GError *handshake_error)
{
  TlsData *t = g_task_get_task_data (task);
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  PlainLook *look = g_new0 (PlainLook, 1);

  look->task = task;
  look->handshake_error = handshake_error;
  g_socket_client_set_timeout (client, 2);
  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_connect_to_host_async (client, t->account->host, t->account->port,
                                         g_task_get_cancellable (task), plain_look_connected,
                                         look);
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
          g_autofree char *why = describe_tls_errors (t->errors, t->seen);
          g_task_return_new_error (task, TD_ERROR, TD_ERROR_TLS, "account %s (%s): the server's "
                                   "certificate is refused: %s", t->account->name, where, why);
        }
      else if (error->domain == G_TLS_ERROR)
        look_for_plain_text (g_steal_pointer (&task), g_steal_pointer (&error));
      else
        g_task_return_new_error (task, TD_ERROR, TD_ERROR_TLS, "account %s (%s): TLS handshake "
                                 "failed: %s", t->account->name, where, error->message);
      return;
    }
  GTlsCertificate *peer = g_tls_connection_get_peer_certificate (G_TLS_CONNECTION (source));
  if (t->account->tls_fingerprint != NULL && !fingerprint_matches (t->account, peer))
    {
      g_autofree char *seen = describe_fingerprint (peer);
      g_task_return_new_error (task, TD_ERROR, TD_ERROR_TLS, "account %s (%s): the server's "
                               "certificate (%s) does not match tls-fingerprint; if the "
                               "server's certificate was renewed, update the pin",
                               t->account->name, where, seen ? seen : "no fingerprint");
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
