/* td-pop3-backend.c: TdPop3Backend: a POP3 maildrop as one download-only folder, INBOX.
 *
 * Messages are known by UIDL; the "UIDs" handed to the runner are the message numbers of
 * this session. RETR streams each message into the sink, many at once when the server
 * offers PIPELINING. Deleting is DELE for each message, then QUIT, which is when the server
 * really removes them (RFC 1939 UPDATE state): a session that ends any other way deletes
 * nothing. Main loop thread only.
 */
#include "td-pop3-backend-private.h"

#include "engine/common/td-error.h"
#include "td-pop3-limits.h"

G_DEFINE_FINAL_TYPE (TdPop3Backend, td_pop3_backend, TD_TYPE_BACKEND)

static TdBackendCaps
pop3_get_caps (TdBackend *backend)
{
  return TD_BACKEND_CAP_UNIQUE_IDS | TD_BACKEND_CAP_EXPUNGE;
}

static gboolean
task_finish_boolean (TdBackend *backend, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static GPtrArray *
finish_folders (TdBackend *backend, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static GArray *
finish_messages (TdBackend *backend, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static TdPop3Session *
session_of (GTask *task)
{
  return TD_POP3_BACKEND (g_task_get_source_object (task))->session;
}

/* Connecting */

static void
logged_in (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  GError *error = NULL;

  if (!td_pop3_backend_login_finish (TD_POP3_BACKEND (source), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
pop3_connect_async (TdBackend *backend, const char *secret, GCancellable *cancellable,
                    GAsyncReadyCallback callback, gpointer user_data)
{
  TdPop3Backend *self = TD_POP3_BACKEND (backend);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, pop3_connect_async);
  g_clear_object (&self->session);
  self->session = td_pop3_session_new (td_backend_get_account (backend));
  self->quit_sent = FALSE;
  td_pop3_backend_login_async (self, secret, cancellable, logged_in, task);
}

/* Folders: the maildrop is INBOX */

static void
pop3_list_folders_async (TdBackend *backend, GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (backend, cancellable, callback, user_data);
  GPtrArray *folders = g_ptr_array_new_with_free_func ((GDestroyNotify) td_folder_info_free);

  g_task_set_source_tag (task, pop3_list_folders_async);
  g_ptr_array_add (folders, td_folder_info_new ("INBOX", '\0', TRUE));
  g_task_return_pointer (task, folders, (GDestroyNotify) g_ptr_array_unref);
}

static void
stat_answered (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  GError *error = NULL;
  g_autoptr (TdPop3Reply) reply = td_pop3_session_command_finish (TD_POP3_SESSION (source),
                                                                  result, &error);

  GError *failure = td_pop3_session_check_reply (TD_POP3_SESSION (source), reply, error,
                                                 TD_ERROR_PROTOCOL, "STAT");
  if (failure != NULL)
    {
      g_task_return_error (task, failure);
      return;
    }
  TdFolderState *state = g_new0 (TdFolderState, 1);
  /* "+OK count size"; a server that says something else just has no count here. */
  state->exists = (guint32) MIN (g_ascii_strtoull (reply->text, NULL, 10), G_MAXUINT32);
  state->read_only = TRUE;
  g_task_return_pointer (task, state, g_free);
}

static void
pop3_open_folder_async (TdBackend *backend, const char *name, gboolean read_only,
                        const TdSyncPoint *since, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data)
{
  TdPop3Backend *self = TD_POP3_BACKEND (backend);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  TdPop3Handlers handlers = { .expect = TD_POP3_EXPECT_STATUS };

  g_task_set_source_tag (task, pop3_open_folder_async);
  if (g_strcmp0 (name, "INBOX") != 0)
    {
      g_task_return_new_error (task, TD_ERROR, TD_ERROR_FOLDER, "folder %s: POP3 has only "
                               "INBOX", name);
      g_object_unref (task);
      return;
    }
  td_pop3_session_command_async (self->session, &handlers, "STAT", cancellable, stat_answered,
                                 task);
}

static gboolean
pop3_open_folder_finish (TdBackend *backend, GAsyncResult *result, TdFolderState *state,
                         GError **error)
{
  g_autofree TdFolderState *s = g_task_propagate_pointer (G_TASK (result), error);
  if (s == NULL)
    return FALSE;
  *state = *s;
  return TRUE;
}

/* Listing: UIDL and LIST, together when pipelined */

typedef struct
{
  GArray *infos;          /* TdMessageInfo from LIST, in message-number order */
  GHashTable *uidls;      /* message number -> UIDL */
  gboolean has_uidl;
  gboolean bad_line;
  guint pending;
  GError *error;
} ListData;

static void
list_data_free (ListData *l)
{
  g_array_unref (l->infos);
  g_hash_table_unref (l->uidls);
  g_clear_error (&l->error);
  g_free (l);
}

static void
uidl_line (TdPop3Session *session, const char *line, gpointer data)
{
  ListData *l = g_task_get_task_data (data);
  guint32 number = 0;
  char *uidl = NULL;

  if (!td_pop3_parse_uidl_line (line, &number, &uidl))
    l->bad_line = TRUE;
  else
    g_hash_table_replace (l->uidls, GUINT_TO_POINTER (number), uidl);
}

static void
list_line (TdPop3Session *session, const char *line, gpointer data)
{
  ListData *l = g_task_get_task_data (data);
  TdMessageInfo info = { .internal_date = -1 };

  if (!td_pop3_parse_list_line (line, &info.uid, &info.size))
    l->bad_line = TRUE;
  else
    g_array_append_val (l->infos, info);
}

/* Both answers are in: the listing, or the first failure. */
static void
listing_part_done (GTask *task)
{
  ListData *l = g_task_get_task_data (task);
  TdPop3Backend *self = g_task_get_source_object (task);

  if (--l->pending > 0)
    {
      g_object_unref (task);
      return;
    }
  if (l->error == NULL && l->bad_line)
    l->error = g_error_new (TD_ERROR, TD_ERROR_PROTOCOL, "account %s (%s): the server's UIDL or "
                            "LIST answer has a line that is not a message number and a unique "
                            "id or size; nothing was downloaded",
                            td_backend_get_account (TD_BACKEND (self))->name,
                            td_pop3_session_describe (self->session));
  if (l->error != NULL)
    g_task_return_error (task, g_steal_pointer (&l->error));
  else
    {
      GArray *out = td_message_info_array_new ();
      for (guint i = 0; i < l->infos->len; i++)
        {
          TdMessageInfo info = g_array_index (l->infos, TdMessageInfo, i);
          if (l->has_uidl)
            info.unique_id = g_strdup (g_hash_table_lookup (l->uidls, GUINT_TO_POINTER (info.uid)));
          g_array_append_val (out, info);
        }
      g_clear_pointer (&self->listing, g_array_unref);
      self->listing = g_array_ref (out);
      g_task_return_pointer (task, out, (GDestroyNotify) g_array_unref);
    }
  g_object_unref (task);
}

static void
keep_error (ListData *l, GError *error)
{
  if (l->error == NULL)
    l->error = error;
  else
    g_error_free (error);
}

static void
uidl_answered (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  ListData *l = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (TdPop3Reply) reply = td_pop3_session_command_finish (TD_POP3_SESSION (source),
                                                                  result, &error);
  if (reply == NULL)
    keep_error (l, error);
  else
    l->has_uidl = reply->ok; /* -ERR: a server without UIDL; the runner decides */
  listing_part_done (task);
}

static void
list_answered (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  ListData *l = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (TdPop3Reply) reply = td_pop3_session_command_finish (TD_POP3_SESSION (source),
                                                                  result, &error);
  GError *failure = td_pop3_session_check_reply (TD_POP3_SESSION (source), reply, error,
                                                 TD_ERROR_PROTOCOL, "LIST");
  if (failure != NULL)
    keep_error (l, failure);
  listing_part_done (task);
}

static void
pop3_list_messages_async (TdBackend *backend, guint32 first_uid, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  TdPop3Backend *self = TD_POP3_BACKEND (backend);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  ListData *l = g_new0 (ListData, 1);
  TdPop3Handlers uidl = { .expect = TD_POP3_EXPECT_LINES, .on_line = uidl_line, .user_data = task };
  TdPop3Handlers list = { .expect = TD_POP3_EXPECT_LINES, .on_line = list_line, .user_data = task };

  g_task_set_source_tag (task, pop3_list_messages_async);
  l->infos = g_array_new (FALSE, TRUE, sizeof (TdMessageInfo));
  l->uidls = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  l->pending = 2;
  g_task_set_task_data (task, l, (GDestroyNotify) list_data_free);
  td_pop3_session_command_async (self->session, &uidl, "UIDL", cancellable, uidl_answered,
                                 g_object_ref (task));
  td_pop3_session_command_async (self->session, &list, "LIST", cancellable, list_answered,
                                 task);
}

/* Downloading: RETR (or, for headers alone, TOP n 0), a window of them on the wire */

typedef struct
{
  TdMessageSink *sink; /* NULL: headers only, hashed into @hashed */
  GArray *hashed;      /* TdMessageInfo: uid, size and header_hash, headers only */
  GHashTable *infos;   /* message number -> TdMessageInfo*, borrowed from @listing */
  GArray *listing;     /* the backend's last listing, a reference */
  GArray *numbers;     /* guint32, in order */
  guint next;
  guint outstanding;
  guint64 outstanding_bytes; /* of the messages asked for and not yet answered */
  GError *error;
} FetchData;

typedef struct
{
  GTask *task;         /* the fetch; a reference */
  guint32 number;
  guint64 size;        /* as LIST gave it; 0 if it did not */
  gboolean begun;
  TdHeaderHash *hash;
} Retr;

static void
fetch_data_free (FetchData *f)
{
  g_clear_object (&f->sink);
  g_clear_pointer (&f->hashed, g_array_unref);
  g_hash_table_unref (f->infos);
  g_clear_pointer (&f->listing, g_array_unref);
  g_array_unref (f->numbers);
  g_clear_error (&f->error);
  g_free (f);
}

static void
retr_free (Retr *r)
{
  g_object_unref (r->task);
  td_header_hash_free (r->hash);
  g_free (r);
}

static gboolean
retr_begin (Retr *r, GError **error)
{
  FetchData *f = g_task_get_task_data (r->task);
  if (r->begun || f->sink == NULL)
    return TRUE;
  r->begun = TRUE;
  return td_message_sink_begin (f->sink, error);
}

static gboolean
retr_chunk (TdPop3Session *session, const guint8 *data, gsize len, gpointer user_data,
            GError **error)
{
  Retr *r = user_data;
  FetchData *f = g_task_get_task_data (r->task);

  if (!retr_begin (r, error))
    return FALSE;
  if (!td_header_hash_is_done (r->hash))
    td_header_hash_update (r->hash, data, len);
  return f->sink == NULL || td_message_sink_write (f->sink, data, len, error);
}

static gboolean
retr_end (TdPop3Session *session, gpointer user_data, GError **error)
{
  Retr *r = user_data;
  FetchData *f = g_task_get_task_data (r->task);
  const TdMessageInfo *listed = g_hash_table_lookup (f->infos, GUINT_TO_POINTER (r->number));
  TdMessageInfo info = { .uid = r->number, .internal_date = -1 };

  if (!retr_begin (r, error))
    return FALSE;
  if (listed != NULL)
    info.size = listed->size;
  info.header_hash = td_header_hash_finish (r->hash);
  if (f->sink == NULL)
    {
      g_array_append_val (f->hashed, info);
      return TRUE;
    }
  info.unique_id = listed ? listed->unique_id : NULL;
  gboolean ok = td_message_sink_commit (f->sink, &info, error);
  g_free (info.header_hash);
  return ok;
}

static void send_more (GTask *task);

static void
retr_answered (GObject *source, GAsyncResult *result, gpointer data)
{
  Retr *r = data;
  GTask *task = g_object_ref (r->task);
  FetchData *f = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (TdPop3Reply) reply = td_pop3_session_command_finish (TD_POP3_SESSION (source),
                                                                  result, &error);

  if (reply == NULL && f->error == NULL)
    f->error = g_steal_pointer (&error);
  else if (reply != NULL && !reply->ok && f->error == NULL)
    {
      g_autofree char *what = g_strdup_printf ("%s %u", f->sink ? "RETR" : "TOP", r->number);
      f->error = td_pop3_session_reply_error (session_of (task), reply,
                                              f->sink ? TD_ERROR_PROTOCOL : TD_ERROR_NOT_SUPPORTED,
                                              what);
    }
  g_clear_error (&error);
  if (r->begun && (reply == NULL || !reply->ok))
    td_message_sink_abort (f->sink);
  f->outstanding--;
  f->outstanding_bytes -= r->size;
  retr_free (r);
  send_more (task);
  g_object_unref (task);
}

static void
send_more (GTask *task)
{
  FetchData *f = g_task_get_task_data (task);

  while (f->error == NULL && f->next < f->numbers->len && f->outstanding < TD_POP3_PIPELINE_DEPTH
         && (f->outstanding == 0 || f->outstanding_bytes < TD_POP3_RETR_WINDOW_BYTES))
    {
      Retr *r = g_new0 (Retr, 1);
      r->task = g_object_ref (task);
      r->number = g_array_index (f->numbers, guint32, f->next++);
      const TdMessageInfo *listed = g_hash_table_lookup (f->infos, GUINT_TO_POINTER (r->number));
      /* TOP n 0 brings the header alone: count it as small. */
      r->size = f->sink != NULL && listed != NULL ? listed->size : 0;
      f->outstanding_bytes += r->size;
      r->hash = td_header_hash_new ();
      TdPop3Handlers handlers = { .expect = TD_POP3_EXPECT_MESSAGE, .on_chunk = retr_chunk,
                                  .on_end = retr_end, .user_data = r };
      g_autofree char *line = f->sink ? g_strdup_printf ("RETR %u", r->number)
                                      : g_strdup_printf ("TOP %u 0", r->number);
      f->outstanding++;
      td_pop3_session_command_async (session_of (task), &handlers, line,
                                     g_task_get_cancellable (task), retr_answered, r);
    }
  if (f->outstanding > 0 || g_task_get_completed (task))
    return;
  if (f->error != NULL)
    g_task_return_error (task, g_steal_pointer (&f->error));
  else if (f->sink == NULL)
    g_task_return_pointer (task, g_steal_pointer (&f->hashed), (GDestroyNotify) g_array_unref);
  else
    g_task_return_boolean (task, TRUE);
}

/* Starts RETR (with @sink) or TOP n 0 (without) for every message number in @uids. */
static void
start_fetch (TdPop3Backend *self, GTask *task, GArray *uids, TdMessageSink *sink)
{
  FetchData *f = g_new0 (FetchData, 1);

  f->sink = sink ? g_object_ref (sink) : NULL;
  f->hashed = sink ? NULL : td_message_info_array_new ();
  f->infos = g_hash_table_new (g_direct_hash, g_direct_equal);
  f->numbers = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_task_set_task_data (task, f, (GDestroyNotify) fetch_data_free);
  for (guint i = 0; i < uids->len; i++)
    {
      const TdUidRange *range = &g_array_index (uids, TdUidRange, i);
      for (guint64 n = range->first; n <= range->last && range->last != G_MAXUINT32; n++)
        {
          guint32 number = (guint32) n;
          g_array_append_val (f->numbers, number);
        }
    }
  if (self->listing != NULL)
    {
      f->listing = g_array_ref (self->listing);
      for (guint i = 0; i < f->listing->len; i++)
        {
          TdMessageInfo *info = &g_array_index (f->listing, TdMessageInfo, i);
          g_hash_table_insert (f->infos, GUINT_TO_POINTER (info->uid), info);
        }
    }
  send_more (task);
}

static void
pop3_fetch_messages_async (TdBackend *backend, GArray *uids, TdMessageSink *sink,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (backend, cancellable, callback, user_data);

  g_task_set_source_tag (task, pop3_fetch_messages_async);
  start_fetch (TD_POP3_BACKEND (backend), task, uids, sink);
}

static gboolean
pop3_fetch_messages_finish (TdBackend *backend, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
pop3_hash_headers_async (TdBackend *backend, GArray *uids, GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (backend, cancellable, callback, user_data);

  g_task_set_source_tag (task, pop3_hash_headers_async);
  start_fetch (TD_POP3_BACKEND (backend), task, uids, NULL);
}

/* Deleting: DELE each, then QUIT, whose +OK is the server's word that they are gone */

typedef struct
{
  guint outstanding;
  GError *error;
  gboolean expunged;
} ExpungeData;

static void
expunge_data_free (ExpungeData *e)
{
  g_clear_error (&e->error);
  g_free (e);
}

static void
expunge_step_done (GTask *task)
{
  ExpungeData *e = g_task_get_task_data (task);

  if (--e->outstanding == 0)
    {
      if (e->error != NULL)
        g_task_return_error (task, g_steal_pointer (&e->error));
      else
        g_task_return_boolean (task, TRUE);
    }
  g_object_unref (task);
}

static void
dele_answered (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  ExpungeData *e = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (TdPop3Reply) reply = td_pop3_session_command_finish (TD_POP3_SESSION (source),
                                                                  result, &error);

  if (reply != NULL && !reply->ok && e->error == NULL)
    e->error = td_pop3_session_reply_error (session_of (task), reply, TD_ERROR_FAILED, "DELE");
  g_clear_error (&error); /* a broken connection shows in QUIT's answer */
  expunge_step_done (task);
}

static void
quit_answered (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  ExpungeData *e = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (TdPop3Reply) reply = td_pop3_session_command_finish (TD_POP3_SESSION (source),
                                                                  result, &error);

  if (reply != NULL && reply->ok)
    e->expunged = TRUE;
  else
    {
      g_clear_error (&e->error);
      e->error = reply != NULL ? td_pop3_session_reply_error (session_of (task), reply,
                                                              TD_ERROR_NETWORK,
                                                              "to delete the messages (QUIT)")
                               : g_steal_pointer (&error);
    }
  g_clear_error (&error);
  td_pop3_session_close (session_of (task));
  expunge_step_done (task);
}

static void
pop3_expunge_async (TdBackend *backend, GArray *uids, GCancellable *cancellable,
                    GAsyncReadyCallback callback, gpointer user_data)
{
  TdPop3Backend *self = TD_POP3_BACKEND (backend);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  ExpungeData *e = g_new0 (ExpungeData, 1);
  TdPop3Handlers dele = { .expect = TD_POP3_EXPECT_STATUS };
  TdPop3Handlers quit = { .expect = TD_POP3_EXPECT_STATUS, .flags = TD_POP3_COMMAND_QUIT };

  g_task_set_source_tag (task, pop3_expunge_async);
  g_task_set_task_data (task, e, (GDestroyNotify) expunge_data_free);
  e->outstanding = 1;
  for (guint i = 0; i < uids->len; i++)
    {
      const TdUidRange *range = &g_array_index (uids, TdUidRange, i);
      for (guint64 n = range->first; n <= range->last && range->last != G_MAXUINT32; n++)
        {
          g_autofree char *line = g_strdup_printf ("DELE %u", (guint32) n);
          e->outstanding++;
          td_pop3_session_command_async (self->session, &dele, line, cancellable, dele_answered,
                                         g_object_ref (task));
        }
    }
  self->quit_sent = TRUE;
  td_pop3_session_command_async (self->session, &quit, "QUIT", cancellable, quit_answered, task);
}

static gboolean
pop3_expunge_finish (TdBackend *backend, GAsyncResult *result, gboolean *expunged,
                     GError **error)
{
  ExpungeData *e = g_task_get_task_data (G_TASK (result));
  *expunged = e->expunged;
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Disconnecting: QUIT when nothing was deleted is harmless, and polite; its answer says
 * nothing worth a round trip, so the connection closes once it is written. */

static void
quit_then_close (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  g_autoptr (TdPop3Reply) reply = td_pop3_session_command_finish (TD_POP3_SESSION (source),
                                                                  result, NULL);
  td_pop3_session_close (TD_POP3_SESSION (source));
  g_task_return_boolean (task, TRUE);
}

static void
pop3_disconnect_async (TdBackend *backend, GCancellable *cancellable,
                       GAsyncReadyCallback callback, gpointer user_data)
{
  TdPop3Backend *self = TD_POP3_BACKEND (backend);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  TdPop3Handlers quit = { .expect = TD_POP3_EXPECT_STATUS,
                          .flags = TD_POP3_COMMAND_QUIT | TD_POP3_COMMAND_NO_REPLY };

  g_task_set_source_tag (task, pop3_disconnect_async);
  if (self->session == NULL || self->quit_sent)
    {
      if (self->session != NULL)
        td_pop3_session_close (self->session);
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  self->quit_sent = TRUE;
  td_pop3_session_command_async (self->session, &quit, "QUIT", cancellable, quit_then_close,
                                 task);
}

/* Object */

static void
td_pop3_backend_dispose (GObject *object)
{
  TdPop3Backend *self = TD_POP3_BACKEND (object);

  if (self->session != NULL)
    td_pop3_session_close (self->session);
  g_clear_object (&self->session);
  g_clear_pointer (&self->listing, g_array_unref);
  G_OBJECT_CLASS (td_pop3_backend_parent_class)->dispose (object);
}

static void
td_pop3_backend_class_init (TdPop3BackendClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  TdBackendClass *backend_class = TD_BACKEND_CLASS (klass);

  object_class->dispose = td_pop3_backend_dispose;
  backend_class->get_caps = pop3_get_caps;
  backend_class->connect_async = pop3_connect_async;
  backend_class->connect_finish = task_finish_boolean;
  backend_class->list_folders_async = pop3_list_folders_async;
  backend_class->list_folders_finish = finish_folders;
  backend_class->open_folder_async = pop3_open_folder_async;
  backend_class->open_folder_finish = pop3_open_folder_finish;
  backend_class->list_messages_async = pop3_list_messages_async;
  backend_class->list_messages_finish = finish_messages;
  backend_class->fetch_messages_async = pop3_fetch_messages_async;
  backend_class->fetch_messages_finish = pop3_fetch_messages_finish;
  backend_class->hash_headers_async = pop3_hash_headers_async;
  backend_class->hash_headers_finish = finish_messages;
  backend_class->expunge_async = pop3_expunge_async;
  backend_class->expunge_finish = pop3_expunge_finish;
  backend_class->disconnect_async = pop3_disconnect_async;
  backend_class->disconnect_finish = task_finish_boolean;
}

static void
td_pop3_backend_init (TdPop3Backend *self)
{
}
