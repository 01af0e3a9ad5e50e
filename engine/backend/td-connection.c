/* td-connection.c: TdConnection, the socket, TLS and read loop under a protocol session. */
#include "engine/backend/td-connection.h"

#include <signal.h>

#include "engine/backend/td-net.h"

struct _TdConnection
{
  GObject parent_instance;

  TdAccountConfig *account;
  char *description;
  TdConnectionHooks hooks;
  GObject *owner;        /* not a reference: the owner holds us, and detaches on close */
  GSocketConnection *socket_conn;
  GSubprocess *tunnel;   /* tunnel-command, when it is the connection */
  GIOStream *stream;
  GCancellable *io_cancellable;
  guint8 *read_buf;
  gsize read_chunk;
  gboolean reading;
  gboolean read_paused;
  gboolean handshaking;
  gboolean closing;      /* the owner is closing it: the end is not a failure */
  char *close_reason;    /* what the server said before hanging up (IMAP's BYE) */
  GTask *greeting;       /* the owner's connect task, until the owner has the greeting */
  GError *failure;
  guint timer_id;
  gint64 last_activity;
  GCancellable *stop;    /* the caller's: cancelling it drops the connection */
  gulong stop_handler;
  GMainContext *context; /* where the connection lives, for a stop from another thread */
};

G_DEFINE_FINAL_TYPE (TdConnection, td_connection, G_TYPE_OBJECT)

/* Failure */

/**
 * td_connection_fail:
 * @conn: a connection
 * @error: (transfer full): why it ends
 *
 * Ends the connection: the owner's failed hook fails what was waiting, and every later
 * call gets @error. Only the first failure counts.
 */
void
td_connection_fail (TdConnection *conn, GError *error)
{
  if (conn->failure != NULL)
    {
      g_error_free (error);
      return;
    }
  if (conn->closing)
    g_debug ("%s: connection closed", conn->description);
  else
    g_debug ("%s: connection failed: %s", conn->description, error->message);
  conn->failure = error;
  g_cancellable_cancel (conn->io_cancellable);
  g_clear_handle_id (&conn->timer_id, g_source_remove);
  g_object_ref (conn);
  if (conn->greeting != NULL)
    {
      GTask *task = g_steal_pointer (&conn->greeting);
      g_task_return_error (task, g_error_copy (conn->failure));
      g_object_unref (task);
    }
  if (conn->owner != NULL)
    {
      g_autoptr (GObject) owner = g_object_ref (conn->owner);
      conn->hooks.failed (owner, conn->failure);
    }
  if (conn->stream != NULL)
    g_io_stream_close_async (conn->stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  g_object_unref (conn);
}

void
td_connection_fail_with (TdConnection *conn, TdErrorCode code, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *text = g_strdup_vprintf (format, args);
  va_end (args);
  td_connection_fail (conn, g_error_new (TD_ERROR, code, "account %s (%s): %s",
                                         conn->account->name, conn->description, text));
}

/* Watches for silence while something is awaited; ticks once a second while connected. */
static gboolean
on_timer (gpointer data)
{
  TdConnection *conn = data;
  gint64 now = g_get_monotonic_time ();
  gboolean waiting = conn->handshaking || conn->greeting != NULL
                     || (conn->owner && conn->hooks.waiting (conn->owner));

  if (!waiting)
    conn->last_activity = now;
  else if (now - conn->last_activity > (gint64) conn->account->timeout_seconds * G_USEC_PER_SEC)
    {
      conn->timer_id = 0;
      td_connection_fail_with (conn, TD_ERROR_NETWORK, "no answer from the server for %u "
                               "seconds; check the connection or raise `timeout`",
                               conn->account->timeout_seconds);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

/* Reading */

static void
read_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TdConnection) conn = data;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  conn->reading = FALSE;
  if (conn->failure != NULL)
    return;
  if (n < 0)
    td_connection_fail_with (conn, TD_ERROR_NETWORK, "the connection broke: %s",
                             error->message);
  else if (n == 0)
    td_connection_fail_with (conn, TD_ERROR_NETWORK, "the server closed the connection%s%s",
                             conn->close_reason ? ": " : "",
                             conn->close_reason ? conn->close_reason : "");
  else if (conn->owner != NULL)
    {
      g_autoptr (GObject) owner = g_object_ref (conn->owner);
      conn->last_activity = g_get_monotonic_time ();
      conn->hooks.process (owner, conn->read_buf, (gsize) n);
      td_connection_start_reading (conn);
    }
}

/**
 * td_connection_start_reading:
 * @conn: a connected connection
 *
 * Reads until paused, failed or closed; every chunk goes to the process hook.
 */
void
td_connection_start_reading (TdConnection *conn)
{
  if (conn->reading || conn->read_paused || conn->failure != NULL || conn->stream == NULL)
    return;
  conn->reading = TRUE;
  g_input_stream_read_async (g_io_stream_get_input_stream (conn->stream), conn->read_buf,
                             conn->read_chunk, G_PRIORITY_DEFAULT, conn->io_cancellable,
                             read_done, g_object_ref (conn));
}

/* Stops passing bytes on: what follows a STARTTLS/STLS answer must come through TLS. The
 * process hook is expected to drop the rest of the chunk it is in. */
void
td_connection_pause_reading (TdConnection *conn)
{
  conn->read_paused = TRUE;
}

gboolean
td_connection_is_paused (TdConnection *conn)
{
  return conn->read_paused;
}

/* Something was sent or received: the silence timer starts over. */
void
td_connection_touch (TdConnection *conn)
{
  conn->last_activity = g_get_monotonic_time ();
}

/* TLS */

static void
tls_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  TdConnection *conn = g_task_get_source_object (task);
  GError *error = NULL;
  g_autoptr (GIOStream) tls = td_net_tls_finish (result, &error);

  conn->handshaking = FALSE;
  if (tls == NULL)
    {
      if (conn->failure != NULL)
        {
          g_clear_error (&error);
          error = g_error_copy (conn->failure);
        }
      else
        td_connection_fail (conn, g_error_copy (error)); /* nothing more goes over it */
      g_task_return_error (task, error);
      return;
    }
  g_set_object (&conn->stream, tls);
  g_task_return_boolean (task, TRUE);
}

static void
wrap_tls (TdConnection *conn, GTask *task)
{
  conn->handshaking = TRUE;
  conn->last_activity = g_get_monotonic_time ();
  td_net_tls_async (conn->account, G_IO_STREAM (conn->socket_conn), conn->io_cancellable,
                    tls_done, task);
}

/**
 * td_connection_start_tls_async:
 * @conn: a connection on a plain socket, reading paused after the server's go-ahead
 * @cancellable: (nullable): a cancellable
 * @callback: called once TLS is up (reading then resumes) or failed
 * @user_data: data for @callback
 */
void
td_connection_start_tls_async (TdConnection *conn, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (conn, cancellable, callback, user_data);

  g_task_set_source_tag (task, td_connection_start_tls_async);
  wrap_tls (conn, task);
}

gboolean
td_connection_start_tls_finish (TdConnection *conn, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, conn), FALSE);
  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  conn->read_paused = FALSE;
  td_connection_start_reading (conn);
  return TRUE;
}

/* Connecting */

static void
implicit_tls_done (GObject *source, GAsyncResult *result, gpointer data)
{
  /* A failed handshake has failed the connection, and the greeting with it. */
  if (g_task_propagate_boolean (G_TASK (result), NULL))
    td_connection_start_reading (TD_CONNECTION (source));
}

static void
connected (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TdConnection) conn = data;
  GError *error = NULL;
  GSocketConnection *socket_conn = td_net_connect_finish (result, &error);

  if (socket_conn == NULL)
    {
      /* The greeting fails, and so do later calls (a LOGOUT or QUIT on the way out),
       * instead of waiting for a connection that will never come. */
      td_connection_fail (conn, error);
      return;
    }
  conn->socket_conn = socket_conn;
  conn->stream = G_IO_STREAM (g_object_ref (socket_conn));
  conn->timer_id = g_timeout_add_seconds (1, on_timer, conn);
  conn->last_activity = g_get_monotonic_time ();
  if (conn->account->security == TD_SECURITY_TLS)
    wrap_tls (conn, g_task_new (conn, NULL, implicit_tls_done, NULL));
  else
    td_connection_start_reading (conn);
}

/* tunnel-command: the protocol goes over the command's standard input and output (its
 * standard error is the user's: ssh asks and complains there). No TLS: the command is
 * the user's own way to the server. When the connection ends, the command's input is
 * closed, which ends a server; one that lingers is stopped when the connection goes. */
static void
open_tunnel (TdConnection *conn)
{
  char **argv = conn->account->tunnel_command;
  GError *error = NULL;

  conn->tunnel = g_subprocess_newv ((const char *const *) argv,
                                    G_SUBPROCESS_FLAGS_STDIN_PIPE
                                      | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  if (conn->tunnel == NULL)
    {
      td_connection_fail_with (conn, TD_ERROR_NETWORK, "the command cannot be run (%s); check "
                               "tunnel-command", error->message);
      g_error_free (error);
      return;
    }
  conn->stream = g_simple_io_stream_new (g_subprocess_get_stdout_pipe (conn->tunnel),
                                         g_subprocess_get_stdin_pipe (conn->tunnel));
  conn->timer_id = g_timeout_add_seconds (1, on_timer, conn);
  conn->last_activity = g_get_monotonic_time ();
  td_connection_start_reading (conn);
}

/**
 * td_connection_open:
 * @conn: a new connection
 * @greeting: (transfer full): the owner's connect task
 *
 * Connects, does the implicit TLS handshake if the account says so, and starts reading.
 * @greeting stays pending while the server's greeting is awaited (the silence timer runs):
 * the owner completes it once it has parsed the greeting (td_connection_take_greeting()),
 * and a failure on the way returns the failure on it.
 */
void
td_connection_open (TdConnection *conn, GTask *greeting)
{
  g_return_if_fail (conn->greeting == NULL && conn->stream == NULL);
  conn->greeting = greeting;
  if (conn->account->tunnel_command != NULL)
    {
      open_tunnel (conn);
      return;
    }
  td_net_connect_async (conn->account, g_task_get_cancellable (greeting), connected,
                        g_object_ref (conn));
}

gboolean
td_connection_awaits_greeting (TdConnection *conn)
{
  return conn->greeting != NULL;
}

/**
 * td_connection_refuse_other_protocol:
 * @conn: a connection awaiting its greeting
 * @data: the first bytes the server sent
 * @n: how many
 * @protocol: what the owner speaks, "imap" or "pop3"
 *
 * A server that greets in the other protocol (the account points at the wrong port, or
 * names the wrong protocol) would otherwise meet a parse error that says nothing useful.
 * When @data is the other protocol's greeting, fails @conn saying so (a network error: the
 * account reached the wrong service).
 *
 * Returns: %TRUE when @conn was failed
 */
gboolean
td_connection_refuse_other_protocol (TdConnection *conn, const guint8 *data, gsize n,
                                     const char *protocol)
{
  const char *greets = td_net_greeting_protocol ((const char *) data, n);
  gboolean want_imap = g_str_equal (protocol, "imap");

  if (conn->greeting == NULL || greets == NULL || g_str_equal (greets, protocol))
    return FALSE;
  td_connection_fail_with (conn, TD_ERROR_NETWORK,
                           "this port speaks %s, not %s: set the account's port to the %s one "
                           "(%s with security = tls, %s with starttls), or protocol = %s",
                           want_imap ? "POP3" : "IMAP", want_imap ? "IMAP" : "POP3",
                           want_imap ? "IMAP" : "POP3", want_imap ? "993" : "995",
                           want_imap ? "143" : "110", want_imap ? "pop3" : "imap");
  return TRUE;
}

/**
 * td_connection_take_greeting:
 * @conn: a connection whose greeting arrived
 *
 * Returns: (transfer full): the task td_connection_open() was given, for the owner to
 *   complete with what the greeting said
 */
GTask *
td_connection_take_greeting (TdConnection *conn)
{
  return g_steal_pointer (&conn->greeting);
}

/* Accessors */

/**
 * td_connection_get_output:
 * @conn: a connection
 *
 * Returns: (transfer none) (nullable): where commands go (through TLS once it is up)
 */
GOutputStream *
td_connection_get_output (TdConnection *conn)
{
  return conn->stream ? g_io_stream_get_output_stream (conn->stream) : NULL;
}

/**
 * td_connection_get_cancellable:
 * @conn: a connection
 *
 * Returns: (transfer none): cancelled when the connection fails; for the owner's writes
 */
GCancellable *
td_connection_get_cancellable (TdConnection *conn)
{
  return conn->io_cancellable;
}

/**
 * td_connection_check_usable:
 * @conn: a connection
 * @error: return location for why nothing can be sent
 *
 * Returns: %TRUE when a command queued now will be sent: the connection is up (or its
 *   TLS upgrade under way) and has not failed. A connection never opened (the login
 *   stopped before it) or one that failed refuses at once, so nothing waits for ever.
 */
gboolean
td_connection_check_usable (TdConnection *conn, GError **error)
{
  if (conn->failure != NULL)
    {
      g_propagate_error (error, g_error_copy (conn->failure));
      return FALSE;
    }
  if (conn->stream == NULL)
    {
      g_set_error (error, TD_ERROR, TD_ERROR_NETWORK, "account %s (%s): not connected",
                   conn->account->name, conn->description);
      return FALSE;
    }
  return TRUE;
}

const GError *
td_connection_get_failure (TdConnection *conn)
{
  return conn->failure;
}

const char *
td_connection_describe (TdConnection *conn)
{
  return conn->description;
}

/* The owner is ending it on purpose (LOGOUT, QUIT): the server hanging up is no failure. */
void
td_connection_set_closing (TdConnection *conn)
{
  conn->closing = TRUE;
}

gboolean
td_connection_is_closing (TdConnection *conn)
{
  return conn->closing;
}

void
td_connection_set_close_reason (TdConnection *conn, const char *reason)
{
  g_free (conn->close_reason);
  conn->close_reason = g_strdup (reason);
}

/**
 * td_connection_close:
 * @conn: a connection
 *
 * Drops the connection; what the owner still waited for fails (unless it already did).
 * After this the owner's hooks are never called again.
 */
void
td_connection_close (TdConnection *conn)
{
  conn->closing = TRUE;
  if (conn->failure == NULL)
    td_connection_fail (conn, g_error_new (TD_ERROR, TD_ERROR_NETWORK, "account %s (%s): "
                                           "connection closed", conn->account->name,
                                           conn->description));
  conn->owner = NULL;
}

/* Stopping */

static gboolean
stop_now (gpointer data)
{
  TdConnection *conn = data;

  td_connection_fail (conn, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                 "stopped on request"));
  return G_SOURCE_REMOVE;
}

static void
stop_requested (GCancellable *cancellable, gpointer data)
{
  TdConnection *conn = data;

  /* Any thread may cancel; the connection is only touched where it lives. */
  g_main_context_invoke_full (conn->context, G_PRIORITY_HIGH, stop_now, g_object_ref (conn),
                              g_object_unref);
}

static void
stop_forget (TdConnection *conn)
{
  if (conn->stop != NULL && conn->stop_handler != 0)
    g_cancellable_disconnect (conn->stop, conn->stop_handler);
  conn->stop_handler = 0;
  g_clear_object (&conn->stop);
}

/**
 * td_connection_stop_on:
 * @conn: a connection
 * @cancellable: (nullable): the caller's cancellable
 *
 * Drops the connection as soon as @cancellable is cancelled (at once if it is already):
 * a protocol cannot withdraw a command it has sent, so a stop request that waited for the
 * answers of a pipelined download would wait for all of it. What the session received
 * whole before the drop is its caller's to keep; whatever was waiting fails with
 * G_IO_ERROR_CANCELLED. One cancellable at a time: a new one replaces the last.
 */
void
td_connection_stop_on (TdConnection *conn, GCancellable *cancellable)
{
  g_return_if_fail (TD_IS_CONNECTION (conn));

  if (cancellable == conn->stop)
    return;
  stop_forget (conn);
  if (cancellable == NULL)
    return;
  conn->stop = g_object_ref (cancellable);
  g_clear_pointer (&conn->context, g_main_context_unref);
  conn->context = g_main_context_ref_thread_default ();
  conn->stop_handler = g_cancellable_connect (cancellable, G_CALLBACK (stop_requested), conn,
                                              NULL);
}

/* Object */

static void
td_connection_dispose (GObject *object)
{
  TdConnection *conn = TD_CONNECTION (object);

  conn->owner = NULL;
  stop_forget (conn);
  g_cancellable_cancel (conn->io_cancellable);
  g_clear_handle_id (&conn->timer_id, g_source_remove);
  g_clear_object (&conn->stream);
  g_clear_object (&conn->socket_conn);
  if (conn->tunnel != NULL && g_subprocess_get_identifier (conn->tunnel) != NULL)
    g_subprocess_send_signal (conn->tunnel, SIGTERM);
  g_clear_object (&conn->tunnel);
  G_OBJECT_CLASS (td_connection_parent_class)->dispose (object);
}

static void
td_connection_finalize (GObject *object)
{
  TdConnection *conn = TD_CONNECTION (object);

  g_clear_error (&conn->failure);
  g_clear_object (&conn->io_cancellable);
  g_clear_pointer (&conn->context, g_main_context_unref);
  g_free (conn->read_buf);
  g_free (conn->close_reason);
  g_free (conn->description);
  g_clear_pointer (&conn->account, td_account_config_unref);
  G_OBJECT_CLASS (td_connection_parent_class)->finalize (object);
}

static void
td_connection_class_init (TdConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = td_connection_dispose;
  object_class->finalize = td_connection_finalize;
}

static void
td_connection_init (TdConnection *conn)
{
  conn->io_cancellable = g_cancellable_new ();
}

/**
 * td_connection_new:
 * @account: whose server to reach
 * @read_chunk: bytes read at a time
 * @hooks: the owner's process, waiting and failed hooks
 * @owner: the session; not referenced (it owns the connection and closes it when done)
 *
 * Returns: (transfer full): an unconnected connection
 */
TdConnection *
td_connection_new (TdAccountConfig *account, gsize read_chunk, const TdConnectionHooks *hooks,
                   GObject *owner)
{
  TdConnection *conn = g_object_new (TD_TYPE_CONNECTION, NULL);
  conn->account = td_account_config_ref (account);
  conn->description = td_net_describe (account);
  conn->hooks = *hooks;
  conn->owner = owner;
  conn->read_chunk = read_chunk;
  conn->read_buf = g_malloc (read_chunk);
  return conn;
}
