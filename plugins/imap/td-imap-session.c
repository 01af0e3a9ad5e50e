/* td-imap-session.c: the IMAP connection: socket, TLS, command queue and response routing.
 *
 * Reading never stops while a command waits, and every byte goes through the parser;
 * responses are dispatched in arrival order. Commands are written one at a time but do not
 * wait for earlier ones to complete (pipelining, up to TD_IMAP_PIPELINE_DEPTH awaiting),
 * except a command made of several parts, whose later parts wait for the server's "+".
 * A session that failed stays failed: every later call gets the same error.
 */
#include "td-imap-session.h"

#include <string.h>

#include "engine/backend/td-connection.h"
#include "engine/common/td-error.h"
#include "td-imap-limits.h"

typedef enum
{
  COMMAND_QUEUED,
  COMMAND_AWAITING_CONTINUATION,
  COMMAND_SENDING, /* partly written; the next part goes without waiting */
  COMMAND_SENT,
} CommandState;

typedef enum
{
  IDLE_END_NONE,
  IDLE_END_WANTED, /* as soon as the server has said "+" */
  IDLE_END_SENT,
} IdleEnd;

typedef struct
{
  char tag[16];
  char *verb; /* for messages: "SELECT", "UID FETCH" */
  GPtrArray *parts; /* GBytes */
  guint next_part;
  CommandState state;
  gboolean continuation_ready;
  gboolean idling;         /* IDLE: the server said "+"; silence is expected now */
  IdleEnd idle_end;        /* IDLE: whether DONE is wanted or sent */
  TdImapHandlers handlers;
  GTask *task; /* borrowed: the task owns the command */
  gboolean nonsync;      /* LITERAL+: no part waits for "+" */
  GInputStream *stream;  /* a literal read from a stream, standing in for one part */
  guint stream_part;
  guint64 stream_size, stream_sent;
} Command;

struct _TdImapSession
{
  GObject parent_instance;

  TdAccountConfig *account;
  TdConnection *conn;
  TdImapParser *parser;
  gboolean writing;
  GQueue commands; /* Command*, oldest first */
  guint tag_counter;
  guint selections; /* SELECT, EXAMINE, CLOSE and UNSELECT commands queued so far */
  TdImapCaps caps;
  TdImapMailbox mailbox;
};

G_DEFINE_FINAL_TYPE (TdImapSession, td_imap_session, G_TYPE_OBJECT)

/* The server, as messages name it ("host:port"). */
static const char *
where (TdImapSession *self)
{
  return td_connection_describe (self->conn);
}

static void try_send (TdImapSession *self);

static void
command_free (Command *command)
{
  g_free (command->verb);
  g_ptr_array_unref (command->parts);
  g_clear_object (&command->stream);
  g_free (command);
}

/* Failure: the connection's failed hook fails every waiting command */

static void
on_failed (gpointer owner, const GError *failure)
{
  TdImapSession *self = owner;
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

/* An answer is awaited (and silence timed) unless the one command out is an IDLE the
 * server has accepted: then silence is what is expected. */
static gboolean
is_waiting (gpointer owner)
{
  TdImapSession *self = owner;
  Command *c = self->commands.length == 1 ? self->commands.head->data : NULL;

  if (c != NULL && c->idling)
    return FALSE;
  return self->commands.length > 0;
}

#define fail_session(self, error) td_connection_fail ((self)->conn, (error))
#define fail_with(self, ...) td_connection_fail_with ((self)->conn, __VA_ARGS__)
#define failed(self) (td_connection_get_failure ((self)->conn) != NULL)

/* Capabilities and mailbox state */

static void
parse_caps (TdImapSession *self, GPtrArray *items, guint first)
{
  TdImapCaps *c = &self->caps;

  memset (c, 0, sizeof *c);
  for (guint i = first; i < items->len; i++)
    {
      const char *cap = td_imap_value_get_string (g_ptr_array_index (items, i));
      if (cap == NULL)
        continue;
#define CAP(name, field) if (g_ascii_strcasecmp (cap, name) == 0) c->field = TRUE
      CAP ("IMAP4rev1", imap4rev1);
      CAP ("STARTTLS", starttls);
      CAP ("LOGINDISABLED", logindisabled);
      CAP ("SASL-IR", sasl_ir);
      CAP ("LITERAL+", literal_plus);
      CAP ("CONDSTORE", condstore);
      CAP ("QRESYNC", qresync);
      CAP ("ESEARCH", esearch);
      CAP ("SEARCHRES", searchres);
      CAP ("SPECIAL-USE", special_use);
      CAP ("UIDPLUS", uidplus);
      CAP ("MOVE", move);
      CAP ("ENABLE", enable);
      CAP ("IDLE", idle);
      CAP ("NOTIFY", notify);
      CAP ("LIST-STATUS", list_status);
      CAP ("ID", id);
      CAP ("OBJECTID", objectid);
#undef CAP
      if (g_ascii_strncasecmp (cap, "AUTH=", 5) == 0)
        td_sasl_offer_add (&c->sasl, cap + 5);
    }
  if (c->qresync)
    c->condstore = TRUE;
}

/**
 * td_imap_email_id_item:
 * @self: a session
 *
 * Returns: " EMAILID" where the server has OBJECTID (RFC 8474), for a FETCH that records or
 *   pairs messages across folders to ask for; else ""
 */
const char *
td_imap_email_id_item (TdImapSession *self)
{
  return self->caps.objectid ? " EMAILID" : "";
}

static guint32
code_number (const TdImapResponse *r)
{
  guint64 n = 0;
  if (r->code->items->len < 2 || !td_imap_value_get_number (g_ptr_array_index (r->code->items, 1), &n))
    return 0;
  return n > G_MAXUINT32 ? 0 : (guint32) n;
}

static void
apply_code (TdImapSession *self, const TdImapResponse *r)
{
  const char *name = td_imap_response_code_name (r);
  guint64 modseq = 0;

  if (name == NULL)
    return;
  if (g_ascii_strcasecmp (name, "CAPABILITY") == 0)
    parse_caps (self, r->code->items, 1);
  else if (g_ascii_strcasecmp (name, "UIDVALIDITY") == 0)
    self->mailbox.uidvalidity = code_number (r);
  else if (g_ascii_strcasecmp (name, "UIDNEXT") == 0)
    self->mailbox.uidnext = code_number (r);
  else if (g_ascii_strcasecmp (name, "HIGHESTMODSEQ") == 0 && r->code->items->len >= 2
           && td_imap_value_get_number (g_ptr_array_index (r->code->items, 1), &modseq))
    self->mailbox.highestmodseq = modseq;
  else if (g_ascii_strcasecmp (name, "NOMODSEQ") == 0)
    self->mailbox.nomodseq = TRUE;
  else if (g_ascii_strcasecmp (name, "READ-ONLY") == 0)
    self->mailbox.read_only = TRUE;
  else if (g_ascii_strcasecmp (name, "READ-WRITE") == 0)
    self->mailbox.read_only = FALSE;
}

static void
track_untagged (TdImapSession *self, const TdImapResponse *r)
{
  if (r->code != NULL)
    apply_code (self, r);
  if (r->status == TD_IMAP_STATUS_BYE)
    td_connection_set_close_reason (self->conn, r->text);
  else if (g_strcmp0 (r->name, "CAPABILITY") == 0)
    parse_caps (self, r->args->items, 0);
  else if (r->has_number && g_strcmp0 (r->name, "EXISTS") == 0)
    self->mailbox.exists = r->number;
  else if (r->has_number && g_strcmp0 (r->name, "EXPUNGE") == 0 && self->mailbox.exists > 0)
    self->mailbox.exists--;
}

/* Dispatch */

static Command *
oldest_sent (TdImapSession *self)
{
  for (GList *l = self->commands.head; l != NULL; l = l->next)
    {
      Command *c = l->data;
      if (c->state != COMMAND_QUEUED)
        return c;
    }
  return NULL;
}

static void
handle_greeting (TdImapSession *self, TdImapResponse *r)
{
  GTask *task = td_connection_take_greeting (self->conn);

  if (r->kind != TD_IMAP_RESPONSE_UNTAGGED
      || (r->status != TD_IMAP_STATUS_OK && r->status != TD_IMAP_STATUS_PREAUTH))
    {
      g_task_return_new_error (task, TD_ERROR, TD_ERROR_NETWORK,
                               "account %s (%s): the server refused the connection: %s",
                               self->account->name, where (self),
                               r->text ? r->text : "no greeting");
      g_object_unref (task);
      return;
    }
  g_task_return_int (task, r->status == TD_IMAP_STATUS_PREAUTH);
  g_object_unref (task);
}

static void
complete_command (TdImapSession *self, TdImapResponse *r)
{
  Command *c = NULL;

  for (GList *l = self->commands.head; l != NULL; l = l->next)
    if (g_str_equal (((Command *) l->data)->tag, r->tag))
      {
        c = l->data;
        g_queue_delete_link (&self->commands, l);
        break;
      }
  if (c == NULL && td_connection_is_closing (self->conn))
    {
      td_imap_response_free (r); /* the answer to a LOGOUT we did not wait for */
      return;
    }
  if (c == NULL)
    {
      fail_with (self, TD_ERROR_PROTOCOL, "the server answered a command that was never sent "
                 "(tag %s)", r->tag);
      td_imap_response_free (r);
      return;
    }
  if (r->code != NULL)
    apply_code (self, r);
  if (c->handlers.flags & TD_IMAP_COMMAND_STARTTLS && r->status == TD_IMAP_STATUS_OK)
    td_connection_pause_reading (self->conn); /* what follows must come through TLS */
  GTask *task = c->task;
  if (r->status == TD_IMAP_STATUS_OK)
    g_task_return_pointer (task, r, (GDestroyNotify) td_imap_response_free);
  else
    {
      g_task_return_new_error (task, TD_ERROR,
                               r->status == TD_IMAP_STATUS_NO ? TD_ERROR_FOLDER : TD_ERROR_PROTOCOL,
                               "the server refused %s: %s", c->verb, r->text ? r->text : "");
      td_imap_response_free (r);
    }
  g_object_unref (task);
  try_send (self);
}

/* A "+" for a command that has a handler for it: its answer becomes the command's next part. */
static gboolean
continue_exchange (TdImapSession *self, const TdImapResponse *r)
{
  Command *c = oldest_sent (self);

  if (c != NULL && c->state == COMMAND_SENT && (c->handlers.flags & TD_IMAP_COMMAND_IDLE))
    {
      c->idling = TRUE;
      if (c->idle_end == IDLE_END_WANTED)
        td_imap_session_idle_done (self);
      return TRUE;
    }
  if (c == NULL || c->state != COMMAND_SENT || c->handlers.on_continue == NULL)
    return FALSE;
  GBytes *line = c->handlers.on_continue (self, r->text != NULL ? r->text : "",
                                          c->handlers.user_data);
  g_ptr_array_add (c->parts, line != NULL ? line : g_bytes_new_static ("*\r\n", 3));
  c->state = COMMAND_SENDING;
  try_send (self);
  return TRUE;
}

static void
handle_continuation (TdImapSession *self, TdImapResponse *r)
{
  for (GList *l = self->commands.head; l != NULL; l = l->next)
    {
      Command *c = l->data;
      if (c->state == COMMAND_AWAITING_CONTINUATION && !c->continuation_ready)
        {
          c->continuation_ready = TRUE;
          td_imap_response_free (r);
          try_send (self);
          return;
        }
    }
  gboolean handled = continue_exchange (self, r);
  td_imap_response_free (r);
  if (handled)
    return;
  fail_with (self, TD_ERROR_PROTOCOL, "the server asked for more data that no command has");
}

static void
dispatch (TdImapSession *self, TdImapResponse *r)
{
  /* The --verbose trace: answers as well as commands, bodies and challenges left out. */
  if (!g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN))
    {
      g_autofree char *line = td_imap_response_describe (r, TD_IMAP_TRACE_LINE);
      g_debug ("%s: S: %s", where (self), line);
    }
  if (td_connection_awaits_greeting (self->conn))
    {
      if (r->code != NULL)
        apply_code (self, r);
      handle_greeting (self, r);
      td_imap_response_free (r);
      return;
    }
  if (r->kind == TD_IMAP_RESPONSE_TAGGED)
    {
      complete_command (self, r);
      return;
    }
  if (r->kind == TD_IMAP_RESPONSE_CONTINUATION)
    {
      handle_continuation (self, r);
      return;
    }
  track_untagged (self, r);
  Command *c = oldest_sent (self);
  if (c != NULL && c->handlers.on_untagged != NULL)
    c->handlers.on_untagged (self, r, c->handlers.user_data);
  td_imap_response_free (r);
}

static void
dispatch_chunk (TdImapSession *self)
{
  const TdImapChunk *chunk = td_imap_parser_get_chunk (self->parser);
  Command *c = oldest_sent (self);
  GError *error = NULL;

  if (c == NULL || c->handlers.on_chunk == NULL)
    return; /* a literal nobody asked for: skipped */
  if (!c->handlers.on_chunk (self, td_imap_parser_peek_partial (self->parser), chunk,
                             c->handlers.user_data, &error))
    fail_session (self, error);
}

/* Reading */

static void
process (gpointer owner, const guint8 *data, gsize n)
{
  TdImapSession *self = owner;
  gsize off = 0;

  if (td_connection_refuse_other_protocol (self->conn, data, n, "imap"))
    return;
  while (off < n && !failed (self) && !td_connection_is_paused (self->conn))
    {
      GError *error = NULL;
      gsize used = 0;
      TdImapFeedResult r = td_imap_parser_feed (self->parser, data + off, n - off, &used,
                                                &error);
      off += used;
      if (r == TD_IMAP_FEED_RESPONSE)
        dispatch (self, td_imap_parser_steal_response (self->parser));
      else if (r == TD_IMAP_FEED_LITERAL_CHUNK)
        dispatch_chunk (self);
      else if (r == TD_IMAP_FEED_ERROR)
        {
          fail_with (self, TD_ERROR_PROTOCOL, "%s", error->message);
          g_error_free (error);
        }
    }
  if (td_connection_is_paused (self->conn) && off < n)
    g_debug ("%s: dropped %" G_GSIZE_FORMAT " bytes received before the TLS handshake",
             where (self), n - off);
}

/* Writing */

/* A command that needs no reply is done once written; its late answer is ignored. */
static void
complete_written (TdImapSession *self)
{
  for (GList *l = self->commands.head; l != NULL; l = l->next)
    {
      Command *c = l->data;
      if (c->state == COMMAND_SENT && (c->handlers.flags & TD_IMAP_COMMAND_NO_REPLY))
        {
          GTask *task = c->task;
          g_queue_delete_link (&self->commands, l);
          g_task_return_pointer (task, NULL, NULL);
          g_object_unref (task);
          return;
        }
    }
}

static void
write_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TdImapSession) self = data;
  g_autoptr (GError) error = NULL;

  self->writing = FALSE;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      if (!failed (self))
        fail_with (self, TD_ERROR_NETWORK, "cannot send to the server: %s", error->message);
      return;
    }
  td_connection_touch (self->conn);
  complete_written (self);
  try_send (self);
}

/* What a command waits for once a part is written: a literal's announcement waits for "+"
 * unless LITERAL+ lets it go on; the part after a streamed literal never waits. */
static CommandState
state_after_part (const Command *c)
{
  if (c->next_part >= c->parts->len)
    return COMMAND_SENT;
  if (c->nonsync || (c->stream != NULL && c->next_part > c->stream_part))
    return COMMAND_SENDING;
  return COMMAND_AWAITING_CONTINUATION;
}

/* The command whose streamed literal is being written: at most one at a time. */
static Command *
streaming_command (TdImapSession *self)
{
  for (GList *l = self->commands.head; l != NULL; l = l->next)
    {
      Command *c = l->data;
      if (c->stream != NULL && c->state == COMMAND_SENDING && c->next_part == c->stream_part)
        return c;
    }
  return NULL;
}

typedef struct
{
  TdImapSession *self;
  GBytes *bytes; /* kept until written */
} StreamChunk;

static void
stream_written (GObject *source, GAsyncResult *result, gpointer data)
{
  StreamChunk *chunk = data;
  g_autoptr (TdImapSession) self = chunk->self;
  g_autoptr (GError) error = NULL;
  gsize written = 0;

  g_bytes_unref (chunk->bytes);
  g_free (chunk);
  self->writing = FALSE;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, &written, &error))
    {
      if (!failed (self))
        fail_with (self, TD_ERROR_NETWORK, "cannot send to the server: %s", error->message);
      return;
    }
  td_connection_touch (self->conn);
  Command *c = streaming_command (self);
  if (c != NULL)
    c->stream_sent += written;
  try_send (self);
}

static void
stream_read (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TdImapSession) self = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result,
                                                               &error);
  Command *c = streaming_command (self);

  self->writing = FALSE;
  if (failed (self) || c == NULL)
    return;
  if (bytes == NULL)
    {
      fail_with (self, TD_ERROR_LOCAL_IO, "cannot read a message to upload: %s", error->message);
      return;
    }
  gsize len = g_bytes_get_size (bytes);
  if (c->stream_sent == c->stream_size)
    {
      /* The literal is complete and the file must end with it. Dropping the connection
       * before the command's CRLF makes the server discard the APPEND. */
      if (len != 0)
        {
          fail_with (self, TD_ERROR_LOCAL_IO, "a message grew while it was uploaded; it is "
                     "sent again on the next run");
          return;
        }
      c->next_part++;
      c->state = state_after_part (c);
      try_send (self);
      return;
    }
  if (len == 0)
    {
      fail_with (self, TD_ERROR_LOCAL_IO, "a message shrank while it was uploaded; it is "
                 "sent again on the next run");
      return;
    }
  StreamChunk *chunk = g_new0 (StreamChunk, 1);
  chunk->self = g_object_ref (self);
  chunk->bytes = g_steal_pointer (&bytes);
  self->writing = TRUE;
  g_output_stream_write_all_async (td_connection_get_output (self->conn),
                                   g_bytes_get_data (chunk->bytes, NULL), len, G_PRIORITY_DEFAULT,
                                   td_connection_get_cancellable (self->conn), stream_written, chunk);
}

/* Sends the next chunk of a streamed literal, or checks its end. */
static void
send_stream (TdImapSession *self, Command *c)
{
  gsize want = (gsize) MIN (c->stream_size - c->stream_sent, (guint64) TD_IMAP_UPLOAD_CHUNK);

  c->state = COMMAND_SENDING;
  self->writing = TRUE;
  g_input_stream_read_bytes_async (c->stream, MAX (want, 1), G_PRIORITY_DEFAULT,
                                   td_connection_get_cancellable (self->conn), stream_read, g_object_ref (self));
}

static void
send_part (TdImapSession *self, Command *c)
{
  if (c->stream != NULL && c->next_part == c->stream_part)
    {
      send_stream (self, c);
      return;
    }
  GBytes *part = g_ptr_array_index (c->parts, c->next_part);
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (part, &len);

  if (c->next_part == 0)
    {
      if (c->handlers.flags & TD_IMAP_COMMAND_SENSITIVE)
        g_debug ("%s: C: %s %s <credentials not shown>", where (self), c->tag, c->verb);
      else
        g_debug ("%s: C: %.*s", where (self), (int) MIN (len, 200) - 2, data);
    }
  c->next_part++;
  c->continuation_ready = FALSE;
  c->state = state_after_part (c);
  self->writing = TRUE;
  g_output_stream_write_all_async (td_connection_get_output (self->conn), data, len,
                                   G_PRIORITY_DEFAULT, td_connection_get_cancellable (self->conn), write_done,
                                   g_object_ref (self));
}

static void
try_send (TdImapSession *self)
{
  guint awaiting = 0;

  if (self->writing || failed (self) || td_connection_get_output (self->conn) == NULL
      || td_connection_is_paused (self->conn))
    return;
  for (GList *l = self->commands.head; l != NULL; l = l->next)
    {
      Command *c = l->data;
      if (c->state == COMMAND_SENT)
        {
          awaiting++;
          continue;
        }
      if (c->state == COMMAND_SENDING)
        {
          send_part (self, c);
          return;
        }
      if (c->state == COMMAND_AWAITING_CONTINUATION)
        {
          if (c->continuation_ready)
            send_part (self, c);
          return;
        }
      if (awaiting < TD_IMAP_PIPELINE_DEPTH)
        send_part (self, c);
      return;
    }
}

/* Commands */

/* Whether a command with @verb leaves another folder selected, or none. */
static gboolean
changes_selection (const char *verb)
{
  static const char *const verbs[] = { "SELECT", "EXAMINE", "CLOSE", "UNSELECT" };
  for (gsize i = 0; i < G_N_ELEMENTS (verbs); i++)
    if (g_ascii_strcasecmp (verb, verbs[i]) == 0)
      return TRUE;
  return FALSE;
}

/* Queues a command without starting to send it; NULL when the session already failed. */
static Command *
queue_command (TdImapSession *self, const TdImapHandlers *handlers, GPtrArray *parts,
               GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  Command *c = g_new0 (Command, 1);
  gsize len;
  const char *first = g_bytes_get_data (g_ptr_array_index (parts, 0), &len);
  const char *end = first;

  g_task_set_source_tag (task, td_imap_session_command_async);
  while ((gsize) (end - first) < len && *end != ' ' && *end != '\r')
    end++;
  c->verb = g_strndup (first, end - first);
  c->parts = parts;
  if (handlers != NULL)
    c->handlers = *handlers;
  c->task = task;
  g_task_set_task_data (task, c, (GDestroyNotify) command_free);
  GError *error = NULL;
  if (!td_connection_check_usable (self->conn, &error))
    {
      g_task_return_error (task, error);
      return NULL;
    }
  td_connection_stop_on (self->conn, cancellable);
  g_snprintf (c->tag, sizeof c->tag, "t%u", ++self->tag_counter);
  if (changes_selection (c->verb))
    self->selections++;
  /* The tag goes in front of the first part. */
  GBytes *untagged = g_ptr_array_index (parts, 0);
  GByteArray *tagged = g_byte_array_sized_new ((guint) (len + sizeof c->tag + 1));
  g_byte_array_append (tagged, (const guint8 *) c->tag, (guint) strlen (c->tag));
  g_byte_array_append (tagged, (const guint8 *) " ", 1);
  g_byte_array_append (tagged, (const guint8 *) first, (guint) len);
  g_ptr_array_index (parts, 0) = g_byte_array_free_to_bytes (tagged);
  g_bytes_unref (untagged);
  g_object_ref (task); /* dropped when the command completes or the session fails */
  g_queue_push_tail (&self->commands, c);
  if (self->commands.length == 1)
    td_connection_touch (self->conn);
  return c;
}

/**
 * td_imap_session_command_async:
 * @self: a connected session
 * @handlers: (nullable): receivers for the untagged data and body chunks this command causes
 * @parts: (transfer full) (element-type GBytes): the command without its tag, CRLF included;
 *   every part after the first is sent when the server asks for it with "+"
 * @cancellable: (nullable): a cancellable; cancelling drops the connection, since IMAP
 *   cannot withdraw a command
 * @callback: called with the tagged response
 * @user_data: data for @callback
 *
 * Queues a command.
 */
void
td_imap_session_command_async (TdImapSession *self, const TdImapHandlers *handlers,
                               GPtrArray *parts, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  if (queue_command (self, handlers, parts, cancellable, callback, user_data) != NULL)
    try_send (self);
}

/**
 * td_imap_session_idle_done:
 * @self: a session
 *
 * Ends the IDLE command under way with DONE (at once, or as soon as the server has
 * accepted it); its completion then arrives as for any command. Does nothing without one.
 */
void
td_imap_session_idle_done (TdImapSession *self)
{
  for (GList *l = self->commands.head; l != NULL; l = l->next)
    {
      Command *c = l->data;
      if (!(c->handlers.flags & TD_IMAP_COMMAND_IDLE) || c->idle_end == IDLE_END_SENT)
        continue;
      if (!c->idling)
        {
          c->idle_end = IDLE_END_WANTED;
          return;
        }
      c->idling = FALSE;
      c->idle_end = IDLE_END_SENT;
      g_ptr_array_add (c->parts, g_bytes_new_static ("DONE\r\n", 6));
      c->state = COMMAND_SENDING;
      td_connection_touch (self->conn);
      try_send (self);
      return;
    }
}

/**
 * td_imap_session_run_async:
 * @self: a connected session
 * @handlers: (nullable): receivers for untagged data and chunks
 * @cancellable: (nullable): a cancellable
 * @callback: called with the tagged response
 * @user_data: data for @callback
 * @format: the command without tag and CRLF; interpolated strings must have passed
 *   td_imap_quote()
 * @...: arguments for @format
 *
 * Queues a one-line command.
 */
void
td_imap_session_run_async (TdImapSession *self, const TdImapHandlers *handlers,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data, const char *format, ...)
{
  GPtrArray *parts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  va_list args;

  va_start (args, format);
  g_autofree char *line = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add (parts, g_bytes_new_take (g_strconcat (line, "\r\n", NULL), strlen (line) + 2));
  td_imap_session_command_async (self, handlers, parts, cancellable, callback, user_data);
}

/**
 * td_imap_session_append_async:
 * @self: a connected session
 * @head: the command up to its literal ("APPEND mailbox (flags) date"), checked and quoted
 * @stream: the literal's bytes, read to the end while the command is sent
 * @size: how many bytes @stream yields; any other count fails the session
 * @cancellable: (nullable): a cancellable
 * @callback: called with the tagged response
 * @user_data: data for @callback
 *
 * Queues a command ending in a literal that is streamed, never held whole in memory. With
 * LITERAL+ it does not wait for the server's "+", so uploads pipeline.
 */
void
td_imap_session_append_async (TdImapSession *self, const char *head, GInputStream *stream,
                              guint64 size, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  GPtrArray *parts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  gboolean nonsync = self->caps.literal_plus;
  char *first = g_strdup_printf ("%s {%" G_GUINT64_FORMAT "%s}\r\n", head, size,
                                 nonsync ? "+" : "");

  g_ptr_array_add (parts, g_bytes_new_take (first, strlen (first)));
  g_ptr_array_add (parts, g_bytes_new_static ("", 0)); /* stands for the stream */
  g_ptr_array_add (parts, g_bytes_new_static ("\r\n", 2));
  Command *c = queue_command (self, NULL, parts, cancellable, callback, user_data);
  if (c == NULL)
    return;
  c->nonsync = nonsync;
  c->stream = g_object_ref (stream);
  c->stream_part = 1;
  c->stream_size = size;
  try_send (self);
}

/**
 * td_imap_session_command_finish:
 * @self: a session
 * @result: the result
 * @error: return location for an error: %TD_ERROR_FOLDER for NO, %TD_ERROR_PROTOCOL for
 *   BAD, or why the connection failed
 *
 * Returns: (transfer full) (nullable): the tagged OK response
 */
TdImapResponse *
td_imap_session_command_finish (TdImapSession *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * td_imap_quote:
 * @string: a UTF-8 string
 *
 * Returns: (transfer full) (nullable): @string as an IMAP quoted string, or %NULL when it
 *   holds CR, LF or NUL and so cannot be sent inside a command line
 */
char *
td_imap_quote (const char *string)
{
  GString *out = g_string_new ("\"");

  if (strpbrk (string, "\r\n") != NULL)
    return g_string_free (out, TRUE), NULL;
  for (const char *p = string; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (out, '\\');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
  return g_string_free (out, FALSE);
}

/* Connecting */

/**
 * td_imap_session_connect_async:
 * @self: a new session
 * @cancellable: (nullable): a cancellable
 * @callback: called once the greeting arrived (over TLS for implicit TLS)
 * @user_data: data for @callback
 *
 * Opens the TCP connection, does the implicit TLS handshake if configured, and reads the
 * server's greeting.
 */
void
td_imap_session_connect_async (TdImapSession *self, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, td_imap_session_connect_async);
  td_connection_open (self->conn, task);
}

/**
 * td_imap_session_connect_finish:
 * @self: a session
 * @result: the result
 * @preauth: (out): whether the server greeted with PREAUTH
 * @error: return location for an error
 *
 * Returns: %TRUE when connected and greeted
 */
gboolean
td_imap_session_connect_finish (TdImapSession *self, GAsyncResult *result, gboolean *preauth,
                                GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  gssize r = g_task_propagate_int (G_TASK (result), error);
  if (r < 0)
    return FALSE;
  *preauth = r == 1;
  return TRUE;
}

static void
starttls_wrapped (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  TdImapSession *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (!td_connection_start_tls_finish (TD_CONNECTION (source), result, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  /* Whatever the server said before TLS is forgotten, capabilities included; reading has
   * resumed, but nothing is read before the main loop runs again. */
  memset (&self->caps, 0, sizeof self->caps);
  td_imap_parser_reset (self->parser);
  g_task_return_boolean (task, TRUE);
}

static void
starttls_answered (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  TdImapSession *self = TD_IMAP_SESSION (source);
  g_autoptr (GError) error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (self, result, &error);

  if (r == NULL)
    {
      g_task_return_new_error (task, TD_ERROR, TD_ERROR_TLS, "account %s (%s): the server "
                               "refused STARTTLS, so the connection cannot be secured: %s",
                               self->account->name, where (self), error->message);
      return;
    }
  GCancellable *cancellable = g_task_get_cancellable (task);
  td_connection_start_tls_async (self->conn, cancellable, starttls_wrapped,
                                 g_steal_pointer (&task));
}

/**
 * td_imap_session_starttls_async:
 * @self: a greeted session on a plain connection
 * @cancellable: (nullable): a cancellable
 * @callback: called once TLS is up; capabilities are then empty until asked again
 * @user_data: data for @callback
 *
 * Upgrades the connection with STARTTLS (RFC 3501 section 6.2.1). Bytes the server sent
 * after its OK and before the handshake are dropped.
 */
void
td_imap_session_starttls_async (TdImapSession *self, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  TdImapHandlers handlers = { .flags = TD_IMAP_COMMAND_STARTTLS };

  g_task_set_source_tag (task, td_imap_session_starttls_async);
  td_imap_session_run_async (self, &handlers, cancellable, starttls_answered, task, "STARTTLS");
}

gboolean
td_imap_session_starttls_finish (TdImapSession *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Object */

const TdImapCaps *
td_imap_session_get_caps (TdImapSession *self)
{
  return &self->caps;
}

/**
 * td_imap_session_get_mailbox:
 * @self: a session
 *
 * Returns: (transfer none): the selected mailbox's state; callers reset it before SELECT
 */
TdImapMailbox *
td_imap_session_get_mailbox (TdImapSession *self)
{
  return &self->mailbox;
}

/**
 * td_imap_session_get_selections:
 * @self: a session
 *
 * Returns: how many commands that change the selected folder (SELECT, EXAMINE, CLOSE,
 *   UNSELECT) were queued so far: a folder left open by one of them is still open while
 *   this count has not moved
 */
guint
td_imap_session_get_selections (TdImapSession *self)
{
  return self->selections;
}

const char *
td_imap_session_describe (TdImapSession *self)
{
  return where (self);
}

/**
 * td_imap_session_close:
 * @self: a session
 *
 * Drops the connection; commands still waiting fail.
 */
void
td_imap_session_close (TdImapSession *self)
{
  td_connection_close (self->conn);
}

static void
td_imap_session_dispose (GObject *object)
{
  TdImapSession *self = TD_IMAP_SESSION (object);

  if (self->conn != NULL)
    td_imap_session_close (self);
  g_clear_object (&self->conn);
  G_OBJECT_CLASS (td_imap_session_parent_class)->dispose (object);
}

static void
td_imap_session_finalize (GObject *object)
{
  TdImapSession *self = TD_IMAP_SESSION (object);

  g_clear_pointer (&self->parser, td_imap_parser_free);
  g_clear_pointer (&self->account, td_account_config_unref);
  G_OBJECT_CLASS (td_imap_session_parent_class)->finalize (object);
}

static void
td_imap_session_class_init (TdImapSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = td_imap_session_dispose;
  object_class->finalize = td_imap_session_finalize;
}

static void
td_imap_session_init (TdImapSession *self)
{
  self->parser = td_imap_parser_new ();
  g_queue_init (&self->commands);
}

/**
 * td_imap_session_new:
 * @account: the account to connect for
 *
 * Returns: (transfer full): an unconnected session
 */
TdImapSession *
td_imap_session_new (TdAccountConfig *account)
{
  static const TdConnectionHooks hooks = { process, is_waiting, on_failed };
  TdImapSession *self = g_object_new (TD_TYPE_IMAP_SESSION, NULL);
  self->account = td_account_config_ref (account);
  self->conn = td_connection_new (account, TD_IMAP_READ_CHUNK, &hooks, G_OBJECT (self));
  return self;
}
