/* td-pop3-session.c: the POP3 connection: socket, TLS, command queue and response routing.
 *
 * POP3 answers carry no tag, so they are matched to commands by order alone: each command
 * tells the parser, as it is written, what its answer looks like. Lines written together go
 * out in one write. A session that failed stays failed: every later call gets the same error.
 */
#include "td-pop3-session.h"

#include <string.h>

#include "engine/backend/td-connection.h"
#include "engine/common/td-error.h"
#include "engine/common/td-secret.h"
#include "engine/common/td-types.h"
#include "td-pop3-limits.h"

typedef struct
{
  char *line;   /* without CRLF */
  TdPop3Handlers handlers;
  gboolean sent;
  TdPop3Reply *reply; /* the +OK before a listing or message, kept until its end */
  GTask *task;  /* borrowed: the task owns the command */
} Command;

struct _TdPop3Session
{
  GObject parent_instance;

  TdAccountConfig *account;
  TdConnection *conn;
  TdPop3Parser *parser;
  gboolean writing;
  GBytes *out;     /* the bytes being written */
  GQueue commands; /* Command*, oldest first */
  TdPop3Caps caps;
};

G_DEFINE_FINAL_TYPE (TdPop3Session, td_pop3_session, G_TYPE_OBJECT)

/* The server, as messages name it ("host:port"). */
static const char *
where (TdPop3Session *self)
{
  return td_connection_describe (self->conn);
}

static void try_send (TdPop3Session *self);
static void complete_written (TdPop3Session *self);

void
td_pop3_reply_free (TdPop3Reply *reply)
{
  if (reply == NULL)
    return;
  g_free (reply->code);
  g_free (reply->text);
  g_free (reply);
}

static void
command_free (Command *command)
{
  td_secret_free (command->line); /* it may hold a credential */
  td_pop3_reply_free (command->reply);
  g_free (command);
}

/* A command as the debug log may show it: a credential's line shows its verb alone. */
static char *
loggable (const Command *c)
{
  if (!(c->handlers.flags & TD_POP3_COMMAND_SENSITIVE))
    return g_strdup (c->line);
  if (c->handlers.flags & TD_POP3_COMMAND_CONTINUES)
    return g_strdup ("(SASL response, not shown)");
  /* The verb; for AUTH also the mechanism, which the credential follows. A password may
   * hold spaces, so nothing else of the line is shown. */
  gsize shown = strcspn (c->line, " ");
  if (g_ascii_strncasecmp (c->line, "AUTH ", 5) == 0)
    shown = 5 + strcspn (c->line + 5, " ");
  return g_strdup_printf ("%.*s (credentials not shown)", (int) shown, c->line);
}

/* Failure: the connection's failed hook fails every waiting command */

static void
on_failed (gpointer owner, const GError *failure)
{
  TdPop3Session *self = owner;
  GQueue doomed = self->commands;

  g_queue_init (&self->commands);
  for (GList *l = doomed.head; l != NULL; l = l->next)
    {
      GTask *task = ((Command *) l->data)->task;
      g_task_return_error (task, g_error_copy (failure));
      g_object_unref (task);
    }
  g_queue_clear (&doomed);
}

static gboolean
is_waiting (gpointer owner)
{
  TdPop3Session *self = owner;
  return self->commands.length > 0;
}

#define fail_session(self, error) td_connection_fail ((self)->conn, (error))
#define fail_with(self, ...) td_connection_fail_with ((self)->conn, __VA_ARGS__)

/* Dispatch */

static Command *
oldest_sent (TdPop3Session *self)
{
  Command *c = g_queue_peek_head (&self->commands);
  return c != NULL && c->sent ? c : NULL;
}

static TdPop3Reply *
reply_from_status (const TdPop3Status *status, gboolean challenge)
{
  TdPop3Reply *reply = g_new0 (TdPop3Reply, 1);
  reply->ok = status->ok;
  reply->challenge = challenge;
  reply->code = g_strdup (status->code);
  reply->text = g_strdup (status->text);
  return reply;
}

static void
handle_greeting (TdPop3Session *self, const TdPop3Status *status)
{
  GTask *task = td_connection_take_greeting (self->conn);

  if (!status->ok)
    {
      g_autofree char *text = td_printable (status->text);
      g_task_return_error (task, g_error_new (TD_ERROR, TD_ERROR_NETWORK, "account %s (%s): the "
                                              "server refused the connection: %s",
                                              self->account->name, where (self), text));
      g_object_unref (task);
      return;
    }
  /* APOP's timestamp (RFC 1939 section 7): "<" printable, no spaces ">" in the greeting. */
  const char *lt = strchr (status->text, '<');
  const char *gt = lt ? strchr (lt, '>') : NULL;
  g_clear_pointer (&self->caps.apop_timestamp, g_free);
  if (gt != NULL && memchr (lt, ' ', gt - lt) == NULL && memchr (lt, '@', gt - lt) != NULL)
    self->caps.apop_timestamp = g_strndup (lt, gt - lt + 1);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
complete (TdPop3Session *self, TdPop3Reply *reply)
{
  Command *c = g_queue_pop_head (&self->commands);
  GTask *task = c->task;

  if ((c->handlers.flags & TD_POP3_COMMAND_STLS) && reply->ok)
    td_connection_pause_reading (self->conn); /* what follows must come through TLS */
  g_autofree char *shown = loggable (c);
  g_debug ("%s: S: %s to %s", where (self),
           reply->challenge ? "+ (challenge)" : reply->ok ? "+OK" : "-ERR", shown);
  g_task_return_pointer (task, reply, (GDestroyNotify) td_pop3_reply_free);
  g_object_unref (task);
  try_send (self);
}

static void
dispatch_status (TdPop3Session *self, gboolean challenge)
{
  const TdPop3Status *status = td_pop3_parser_get_status (self->parser);
  Command *c = oldest_sent (self);

  /* The --verbose trace: status lines, not listings or messages; a challenge not at all. */
  if (challenge)
    g_debug ("%s: S: + <not shown>", where (self));
  else
    g_debug ("%s: S: %s%s%s%s %.200s", where (self), status->ok ? "+OK" : "-ERR",
             status->code ? " [" : "", status->code ? status->code : "",
             status->code ? "]" : "", status->text);
  if (td_connection_awaits_greeting (self->conn))
    {
      handle_greeting (self, status);
      return;
    }
  if (c == NULL)
    {
      fail_with (self, TD_ERROR_PROTOCOL, "the server answered a command that was never sent");
      return;
    }
  TdPop3Reply *reply = reply_from_status (status, challenge);
  if (reply->ok && !challenge
      && (c->handlers.expect == TD_POP3_EXPECT_LINES || c->handlers.expect == TD_POP3_EXPECT_MESSAGE))
    {
      c->reply = reply; /* the listing or message follows */
      return;
    }
  complete (self, reply);
}

static void
dispatch_chunk (TdPop3Session *self)
{
  const TdPop3Chunk *chunk = td_pop3_parser_get_chunk (self->parser);
  Command *c = oldest_sent (self);
  GError *error = NULL;

  if (c == NULL || c->handlers.on_chunk == NULL)
    return;
  if (!c->handlers.on_chunk (self, chunk->data, chunk->len, c->handlers.user_data, &error))
    fail_session (self, error);
}

static void
dispatch_end (TdPop3Session *self)
{
  Command *c = oldest_sent (self);
  GError *error = NULL;

  if (c == NULL || c->reply == NULL)
    {
      fail_with (self, TD_ERROR_PROTOCOL, "the server ended a listing nobody asked for");
      return;
    }
  if (c->handlers.on_end != NULL && !c->handlers.on_end (self, c->handlers.user_data, &error))
    {
      fail_session (self, error);
      return;
    }
  complete (self, g_steal_pointer (&c->reply));
}

/* Reading */

static void
process (gpointer owner, const guint8 *data, gsize n)
{
  TdPop3Session *self = owner;
  gsize off = 0;

  if (td_connection_refuse_other_protocol (self->conn, data, n, "pop3"))
    return;
  while (off < n && td_connection_get_failure (self->conn) == NULL
         && !td_connection_is_paused (self->conn))
    {
      GError *error = NULL;
      gsize used = 0;
      TdPop3FeedResult r = td_pop3_parser_feed (self->parser, data + off, n - off, &used,
                                                &error);
      off += used;
      switch (r)
        {
        case TD_POP3_FEED_STATUS:
        case TD_POP3_FEED_CHALLENGE:
          dispatch_status (self, r == TD_POP3_FEED_CHALLENGE);
          break;
        case TD_POP3_FEED_LINE:
          {
            Command *c = oldest_sent (self);
            if (c != NULL && c->handlers.on_line != NULL)
              c->handlers.on_line (self, td_pop3_parser_get_line (self->parser),
                                   c->handlers.user_data);
            break;
          }
        case TD_POP3_FEED_CHUNK:
          dispatch_chunk (self);
          break;
        case TD_POP3_FEED_END:
          dispatch_end (self);
          break;
        case TD_POP3_FEED_ERROR:
          fail_with (self, TD_ERROR_PROTOCOL, "the server's answer %s", error->message);
          g_error_free (error);
          break;
        case TD_POP3_FEED_NEED_MORE:
        default:
          break;
        }
    }
  if (td_connection_is_paused (self->conn) && off < n)
    g_debug ("%s: dropped %" G_GSIZE_FORMAT " bytes received before the TLS handshake",
             where (self), n - off);
}

/* Writing */

static void
write_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TdPop3Session) self = data;
  g_autoptr (GError) error = NULL;

  self->writing = FALSE;
  g_clear_pointer (&self->out, g_bytes_unref);
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      if (td_connection_get_failure (self->conn) == NULL)
        fail_with (self, TD_ERROR_NETWORK, "cannot send to the server: %s", error->message);
      return;
    }
  td_connection_touch (self->conn);
  complete_written (self);
  try_send (self);
}

/* A command that needs no reply is done once written; its late answer is ignored. */
static void
complete_written (TdPop3Session *self)
{
  Command *c = g_queue_peek_tail (&self->commands);

  if (c == NULL || !c->sent || !(c->handlers.flags & TD_POP3_COMMAND_NO_REPLY))
    return;
  g_queue_pop_tail (&self->commands);
  TdPop3Reply *reply = g_new0 (TdPop3Reply, 1);
  reply->ok = TRUE;
  reply->text = g_strdup ("");
  GTask *task = c->task;
  g_task_return_pointer (task, reply, (GDestroyNotify) td_pop3_reply_free);
  g_object_unref (task);
}

/* How many commands may await answers at once. A command that changes the connection's
 * state (STLS, AUTH and its continuations, QUIT) is only sent alone. */
static guint
window (TdPop3Session *self, const Command *next)
{
  if (!self->caps.pipelining || next->handlers.expect == TD_POP3_EXPECT_SASL
      || (next->handlers.flags & (TD_POP3_COMMAND_STLS | TD_POP3_COMMAND_QUIT)))
    return 1;
  return TD_POP3_PIPELINE_DEPTH;
}

static void
try_send (TdPop3Session *self)
{
  guint awaiting = 0;
  GString *out = NULL;
  Command *last_sent = NULL;

  if (self->writing || td_connection_get_failure (self->conn) != NULL
      || td_connection_get_output (self->conn) == NULL || td_connection_is_paused (self->conn))
    return;
  for (GList *l = self->commands.head; l != NULL; l = l->next)
    {
      Command *c = l->data;
      if (c->sent)
        {
          awaiting++;
          last_sent = c;
          continue;
        }
      guint limit = window (self, c);
      if (awaiting >= limit || (last_sent != NULL && window (self, last_sent) == 1))
        break;
      if (out == NULL)
        out = g_string_new (NULL);
      g_string_append (out, c->line);
      g_string_append (out, "\r\n");
      if (!(c->handlers.flags & TD_POP3_COMMAND_CONTINUES))
        td_pop3_parser_expect (self->parser, c->handlers.expect);
      if (c->handlers.flags & TD_POP3_COMMAND_QUIT)
        td_connection_set_closing (self->conn); /* the server hangs up after it */
      g_autofree char *shown = loggable (c);
      g_debug ("%s: C: %s", where (self), shown);
      c->sent = TRUE;
      awaiting++;
      last_sent = c;
    }
  if (out == NULL)
    return;
  self->writing = TRUE;
  td_connection_touch (self->conn);
  GBytes *bytes = g_string_free_to_bytes (out);
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  self->out = bytes; /* kept until the write completes */
  g_output_stream_write_all_async (td_connection_get_output (self->conn), data, len,
                                   G_PRIORITY_DEFAULT, td_connection_get_cancellable (self->conn),
                                   write_done, g_object_ref (self));
}

/**
 * td_pop3_session_command_async:
 * @self: a greeted session
 * @handlers: what the answer looks like and who gets its lines or message
 * @line: the command, without CRLF; it must hold no CR, LF or NUL
 * @cancellable: (nullable): a cancellable; cancelling it drops the connection, as POP3
 *   cannot stop a command under way (and a dropped session deletes nothing)
 * @callback: called with the answer
 * @user_data: data for @callback
 */
void
td_pop3_session_command_async (TdPop3Session *self, const TdPop3Handlers *handlers,
                               const char *line, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, td_pop3_session_command_async);
  g_return_if_fail (strpbrk (line, "\r\n") == NULL);
  GError *error = NULL;
  if (!td_connection_check_usable (self->conn, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  td_connection_stop_on (self->conn, cancellable);
  Command *c = g_new0 (Command, 1);
  c->line = g_strdup (line);
  c->handlers = *handlers;
  c->task = task;
  g_task_set_task_data (task, c, (GDestroyNotify) command_free);
  g_queue_push_tail (&self->commands, c);
  try_send (self);
}

/**
 * td_pop3_session_command_finish:
 * @self: a session
 * @result: the result
 * @error: return location for an error: the connection failed
 *
 * Returns: (transfer full) (nullable): the server's answer, +OK or -ERR
 */
TdPop3Reply *
td_pop3_session_command_finish (TdPop3Session *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * td_pop3_session_reply_error:
 * @self: a session
 * @reply: a -ERR answer
 * @default_code: the TdErrorCode when the answer has no response code that says more
 * @what: what was refused ("the password", "RETR 4")
 *
 * Returns: (transfer full): an error that says what the server meant and what to do; the
 *   RFC 2449 and RFC 3206 codes decide its TdErrorCode
 */
GError *
td_pop3_session_reply_error (TdPop3Session *self, const TdPop3Reply *reply, int default_code,
                             const char *what)
{
  g_autofree char *text = td_printable (reply->text);
  const char *code = reply->code ? reply->code : "";
  int error_code = default_code;
  const char *advice = "";

  if (g_str_equal (code, "AUTH"))
    error_code = TD_ERROR_AUTH, advice = "; check the user name and password";
  else if (g_str_equal (code, "IN-USE"))
    error_code = TD_ERROR_NETWORK,
    advice = "; another POP3 client holds the mailbox (close other mail programs fetching "
             "it), then try again";
  else if (g_str_equal (code, "LOGIN-DELAY"))
    error_code = TD_ERROR_NETWORK,
    advice = "; the server limits how often you may log in: wait, and poll less often";
  else if (g_str_equal (code, "SYS/TEMP"))
    error_code = TD_ERROR_NETWORK, advice = "; a temporary problem on the server: try again later";
  else if (g_str_equal (code, "SYS/PERM"))
    error_code = TD_ERROR_PROTOCOL,
    advice = "; a lasting problem on the server: ask its administrator";
  else if (error_code == TD_ERROR_AUTH)
    advice = "; check the user name and password";
  return g_error_new (TD_ERROR, error_code, "account %s (%s): the server refused %s: %s%s",
                      self->account->name, where (self), what, text, advice);
}

/**
 * td_pop3_session_check_reply:
 * @self: a session
 * @reply: (nullable): the answer, or %NULL when the connection failed
 * @error: (transfer full) (nullable): the connection's failure, when @reply is %NULL
 * @default_code: as for td_pop3_session_reply_error()
 * @what: as for td_pop3_session_reply_error()
 *
 * Returns: (transfer full) (nullable): %NULL for +OK; otherwise why the command failed:
 *   the connection's @error, or the server's refusal of @what
 */
GError *
td_pop3_session_check_reply (TdPop3Session *self, const TdPop3Reply *reply, GError *error,
                             int default_code, const char *what)
{
  if (reply == NULL)
    return error;
  g_clear_error (&error);
  return reply->ok ? NULL : td_pop3_session_reply_error (self, reply, default_code, what);
}

/* Capabilities */

void
td_pop3_session_reset_caps (TdPop3Session *self)
{
  char *timestamp = g_steal_pointer (&self->caps.apop_timestamp);
  memset (&self->caps, 0, sizeof self->caps);
  self->caps.apop_timestamp = timestamp;
}

/**
 * td_pop3_session_parse_capa:
 * @self: a session
 * @line: one line of a CAPA listing
 */
void
td_pop3_session_parse_capa (TdPop3Session *self, const char *line)
{
  g_auto (GStrv) words = g_strsplit (line, " ", 0);
  const char *name = words[0];

  self->caps.capa = TRUE;
  if (g_ascii_strcasecmp (name, "STLS") == 0)
    self->caps.stls = TRUE;
  else if (g_ascii_strcasecmp (name, "USER") == 0)
    self->caps.user = TRUE;
  else if (g_ascii_strcasecmp (name, "PIPELINING") == 0)
    self->caps.pipelining = TRUE;
  else if (g_ascii_strcasecmp (name, "UIDL") == 0)
    self->caps.uidl = TRUE;
  else if (g_ascii_strcasecmp (name, "TOP") == 0)
    self->caps.top = TRUE;
  else if (g_ascii_strcasecmp (name, "RESP-CODES") == 0)
    self->caps.resp_codes = TRUE;
  else if (g_ascii_strcasecmp (name, "SASL") == 0)
    for (guint i = 1; words[i] != NULL; i++)
      td_sasl_offer_add (&self->caps.sasl, words[i]);
}

TdPop3Caps *
td_pop3_session_get_caps (TdPop3Session *self)
{
  return &self->caps;
}

const char *
td_pop3_session_describe (TdPop3Session *self)
{
  return where (self);
}

/* Connecting */

/**
 * td_pop3_session_connect_async:
 * @self: a new session
 * @cancellable: (nullable): a cancellable
 * @callback: called once the greeting arrived (over TLS for implicit TLS)
 * @user_data: data for @callback
 */
void
td_pop3_session_connect_async (TdPop3Session *self, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, td_pop3_session_connect_async);
  td_connection_open (self->conn, task);
}

gboolean
td_pop3_session_connect_finish (TdPop3Session *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
stls_wrapped (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  TdPop3Session *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (!td_connection_start_tls_finish (TD_CONNECTION (source), result, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  /* Whatever the server said before TLS is forgotten, capabilities included; reading has
   * resumed, but nothing is read before the main loop runs again. */
  td_pop3_session_reset_caps (self);
  g_clear_pointer (&self->caps.apop_timestamp, g_free);
  td_pop3_parser_reset (self->parser); /* no greeting comes after the handshake */
  g_task_return_boolean (task, TRUE);
}

static void
stls_answered (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  TdPop3Session *self = TD_POP3_SESSION (source);
  GError *error = NULL;
  g_autoptr (TdPop3Reply) reply = td_pop3_session_command_finish (self, result, &error);

  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (!reply->ok)
    {
      g_autofree char *text = td_printable (reply->text);
      g_task_return_new_error (task, TD_ERROR, TD_ERROR_TLS, "account %s (%s): the server "
                               "refused STLS, so the connection cannot be secured: %s",
                               self->account->name, where (self), text);
      return;
    }
  GCancellable *cancellable = g_task_get_cancellable (task);
  td_connection_start_tls_async (self->conn, cancellable, stls_wrapped, g_steal_pointer (&task));
}

/**
 * td_pop3_session_stls_async:
 * @self: a greeted session on a plain connection
 * @cancellable: (nullable): a cancellable
 * @callback: called once TLS is up; capabilities are then empty until CAPA is asked again
 * @user_data: data for @callback
 *
 * Upgrades the connection with STLS (RFC 2595 section 4). Bytes the server sent after its
 * +OK and before the handshake are dropped.
 */
void
td_pop3_session_stls_async (TdPop3Session *self, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  TdPop3Handlers handlers = { .expect = TD_POP3_EXPECT_STATUS, .flags = TD_POP3_COMMAND_STLS };

  g_task_set_source_tag (task, td_pop3_session_stls_async);
  td_pop3_session_command_async (self, &handlers, "STLS", cancellable, stls_answered, task);
}

gboolean
td_pop3_session_stls_finish (TdPop3Session *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Object */

/**
 * td_pop3_session_close:
 * @self: a session
 *
 * Drops the connection; commands still waiting fail.
 */
void
td_pop3_session_close (TdPop3Session *self)
{
  td_connection_close (self->conn);
}

static void
td_pop3_session_dispose (GObject *object)
{
  TdPop3Session *self = TD_POP3_SESSION (object);

  if (self->conn != NULL)
    td_pop3_session_close (self);
  g_clear_object (&self->conn);
  G_OBJECT_CLASS (td_pop3_session_parent_class)->dispose (object);
}

static void
td_pop3_session_finalize (GObject *object)
{
  TdPop3Session *self = TD_POP3_SESSION (object);

  g_clear_pointer (&self->parser, td_pop3_parser_free);
  g_clear_pointer (&self->out, g_bytes_unref);
  g_free (self->caps.apop_timestamp);
  g_clear_pointer (&self->account, td_account_config_unref);
  G_OBJECT_CLASS (td_pop3_session_parent_class)->finalize (object);
}

static void
td_pop3_session_class_init (TdPop3SessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = td_pop3_session_dispose;
  object_class->finalize = td_pop3_session_finalize;
}

static void
td_pop3_session_init (TdPop3Session *self)
{
  self->parser = td_pop3_parser_new ();
  g_queue_init (&self->commands);
}

/**
 * td_pop3_session_new:
 * @account: the account to connect for
 *
 * Returns: (transfer full): an unconnected session
 */
TdPop3Session *
td_pop3_session_new (TdAccountConfig *account)
{
  static const TdConnectionHooks hooks = { process, is_waiting, on_failed };
  TdPop3Session *self = g_object_new (TD_TYPE_POP3_SESSION, NULL);
  self->account = td_account_config_ref (account);
  self->conn = td_connection_new (account, TD_POP3_READ_CHUNK, &hooks, G_OBJECT (self));
  return self;
}
