/* td-imap-backend-push.c: the IMAP backend's writing side: APPEND (streamed from the file),
 * deleting with \Deleted and (UID) EXPUNGE, moving with UID MOVE (RFC 6851) or COPY and
 * deleting, CREATE/SUBSCRIBE and DELETE. Uploads whose UID
 * the server did not tell are found again with the folder listing (td-imap-backend-sync.c).
 *
 * Commands of one operation are pipelined through a TdImapGroup; uploads stream from their
 * files (LITERAL+ where the server has it). Main loop thread only.
 */
#include "td-imap-backend-private.h"

#include <string.h>

#include "engine/common/td-error.h"
#include "td-imap-fetch.h"

static gboolean
finish_boolean (TdBackend *backend, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Uploading */

typedef struct
{
  TdImapGroup group;
  GPtrArray *uploads; /* TdBackendUpload, borrowed from the caller */
} AppendData;

static void
append_data_free (AppendData *data)
{
  td_imap_group_clear (&data->group);
  g_free (data);
}

/* The UID in "OK [APPENDUID uidvalidity uid]", or 0. */
static guint32
appended_uid (const TdImapResponse *r)
{
  const char *code = td_imap_response_code_name (r);
  guint64 uid = 0;

  if (code == NULL || g_ascii_strcasecmp (code, "APPENDUID") != 0 || r->code->items->len < 3
      || !td_imap_value_get_number (g_ptr_array_index (r->code->items, 2), &uid)
      || uid == 0 || uid > G_MAXUINT32)
    return 0;
  return (guint32) uid;
}

typedef struct
{
  GTask *task;
  TdBackendUpload *upload;
} AppendCall;

static void
append_answered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AppendCall *call = user_data;
  g_autoptr (GTask) task = call->task;
  AppendData *data = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source),
                                                                 result, &error);
  /* APPENDUID is trusted only where UIDPLUS is announced; otherwise the upload is found
   * again by a search, as on any server without it. */
  if (r == NULL)
    td_imap_group_keep_error (&data->group, error);
  else if (td_imap_session_get_caps (TD_IMAP_SESSION (source))->uidplus)
    call->upload->uid = appended_uid (r);
  g_free (call);
  td_imap_group_complete (&data->group, task);
}

static void
imap_append_async (TdBackend *backend, const char *name, GPtrArray *uploads,
                   GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  TdImapBackend *self = TD_IMAP_BACKEND (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  GError *error = NULL;
  g_autofree char *mailbox = td_imap_backend_quote_name (self, name, &error);
  AppendData *data = g_new0 (AppendData, 1);

  g_task_set_source_tag (task, imap_append_async);
  g_task_set_task_data (task, data, (GDestroyNotify) append_data_free);
  if (mailbox == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  data->group.pending = 1; /* held while queueing */
  for (guint i = 0; i < uploads->len; i++)
    {
      TdBackendUpload *u = g_ptr_array_index (uploads, i);
      g_autofree char *flags = td_imap_flags_format (u->flags & ~TD_FLAG_DELETED, u->keywords);
      g_autofree char *date = td_imap_date_format (u->date, TRUE);
      g_autofree char *head = g_strdup_printf ("APPEND %s (%s) \"%s\"", mailbox, flags, date);
      AppendCall *call = g_new0 (AppendCall, 1);
      call->task = g_object_ref (task);
      call->upload = u;
      u->uid = 0;
      data->group.pending++;
      td_imap_session_append_async (self->session, head, u->stream, u->size, cancellable,
                                    append_answered, call);
    }
  td_imap_group_complete (&data->group, task);
}

/* Deleting */

typedef struct
{
  TdImapGroup group;
  GArray *uids;     /* TdUidRange, ours */
  GArray *deleted;  /* guint32: every message marked \Deleted (no UIDPLUS) */
  gboolean expunged;
  gboolean searched;
} ExpungeData;

static void
expunge_data_free (ExpungeData *data)
{
  td_imap_group_clear (&data->group);
  g_array_unref (data->uids);
  g_clear_pointer (&data->deleted, g_array_unref);
  g_free (data);
}

static void
on_deleted (TdImapSession *session, const TdImapResponse *r, gpointer user_data)
{
  ExpungeData *data = user_data;

  if (g_strcmp0 (r->name, "SEARCH") != 0 || r->args == NULL)
    return;
  for (guint i = 0; i < r->args->items->len; i++)
    {
      guint64 uid = 0;
      if (td_imap_value_get_number (g_ptr_array_index (r->args->items, i), &uid)
          && uid <= G_MAXUINT32)
        g_array_append_val (data->deleted, (guint32) { uid });
    }
}

static void expunge_step (GObject *source, GAsyncResult *result, gpointer user_data);

/* Without UIDPLUS only a plain EXPUNGE exists, which removes every message marked \Deleted:
 * it is sent only when all of those are ours. */
static void
expunge_if_only_ours (TdImapBackend *self, GTask *task, ExpungeData *data)
{
  g_autoptr (GArray) ours = g_array_copy (data->uids);

  td_uid_set_normalize (ours);
  for (guint i = 0; i < data->deleted->len; i++)
    if (!td_uid_set_contains (ours, g_array_index (data->deleted, guint32, i)))
      {
        g_debug ("%s: other messages are marked deleted; ours stay marked, not expunged",
                 td_imap_session_describe (self->session));
        g_task_return_boolean (task, TRUE);
        return;
      }
  data->expunged = TRUE;
  data->group.pending = 1;
  td_imap_session_run_async (self->session, NULL, g_task_get_cancellable (task), expunge_step,
                             g_object_ref (task), "EXPUNGE");
}

static void
expunge_step (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  ExpungeData *data = g_task_get_task_data (task);
  TdImapBackend *self = g_task_get_source_object (task);
  GError *error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source),
                                                                 result, &error);
  if (r == NULL)
    td_imap_group_keep_error (&data->group, error);
  if (!td_imap_group_release (&data->group) || td_imap_group_return_error (&data->group, task))
    return;
  if (data->deleted == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (!data->searched)
    {
      /* Only once the STORE is done: a search run beside it could miss our own marks. */
      data->searched = TRUE;
      TdImapHandlers handlers = { .on_untagged = on_deleted, .user_data = data };
      td_imap_group_run (&data->group, self->session, &handlers, task, expunge_step,
                         "UID SEARCH DELETED");
      return;
    }
  if (!data->expunged)
    {
      expunge_if_only_ours (self, task, data);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
imap_expunge_async (TdBackend *backend, GArray *uids, GCancellable *cancellable,
                    GAsyncReadyCallback callback, gpointer user_data)
{
  TdImapBackend *self = TD_IMAP_BACKEND (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  ExpungeData *data = g_new0 (ExpungeData, 1);
  g_autofree char *set = td_uid_set_to_string (uids);

  g_task_set_source_tag (task, imap_expunge_async);
  g_task_set_task_data (task, data, (GDestroyNotify) expunge_data_free);
  g_autofree char *store = g_strdup_printf ("UID STORE %s +FLAGS.SILENT (\\Deleted)", set);
  data->uids = g_array_copy (uids);
  td_imap_group_run (&data->group, self->session, NULL, task, expunge_step, store);
  if (td_imap_session_get_caps (self->session)->uidplus)
    {
      data->expunged = TRUE;
      g_autofree char *command = g_strdup_printf ("UID EXPUNGE %s", set);
      td_imap_group_run (&data->group, self->session, NULL, task, expunge_step, command);
      return;
    }
  data->deleted = g_array_new (FALSE, FALSE, sizeof (guint32));
}

static gboolean
imap_expunge_finish (TdBackend *backend, GAsyncResult *result, gboolean *expunged,
                     GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), FALSE);
  ExpungeData *data = g_task_get_task_data (G_TASK (result));
  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  *expunged = data->expunged;
  return TRUE;
}

/* Moving */

typedef struct
{
  TdImapGroup group;
  GArray *uids;      /* TdUidRange, ours */
  GArray *moved;     /* TdUidMove: what COPYUID told */
  gboolean expunged;
} MoveData;

static void
move_data_free (MoveData *data)
{
  td_imap_group_clear (&data->group);
  g_array_unref (data->uids);
  g_array_unref (data->moved);
  g_free (data);
}

/* The UIDs of @text, a sequence set, in the order written; FALSE when it is not one or holds
 * more than @max. */
static gboolean
expand_set (const char *text, guint max, GArray *out)
{
  g_autoptr (GArray) ranges = g_array_new (FALSE, FALSE, sizeof (TdUidRange));

  if (text == NULL || !td_uid_set_parse (text, ranges))
    return FALSE;
  for (guint i = 0; i < ranges->len; i++)
    {
      const TdUidRange *r = &g_array_index (ranges, TdUidRange, i);
      if ((guint64) r->last - r->first + 1 > max - out->len)
        return FALSE;
      for (guint64 uid = r->first; uid <= r->last; uid++)
        g_array_append_val (out, (guint32) { (guint32) uid });
    }
  return TRUE;
}

/* "OK [COPYUID uidvalidity from-set to-set]" (RFC 4315), tagged after UID COPY, untagged
 * before the expunges of UID MOVE: each of our UIDs with its new one. A code that pairs
 * differently, or names a UID we did not move, is not trusted: the moved messages are then
 * found again by a search, as without UIDPLUS. */
static void
take_copyuid (MoveData *data, const TdImapResponse *r)
{
  const char *code = td_imap_response_code_name (r);
  guint max = td_uid_set_count (data->uids);
  g_autoptr (GArray) from = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr (GArray) to = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr (GArray) ours = g_array_copy (data->uids);

  if (code == NULL || g_ascii_strcasecmp (code, "COPYUID") != 0 || r->code->items->len < 4
      || !expand_set (td_imap_value_get_string (g_ptr_array_index (r->code->items, 2)), max,
                      from)
      || !expand_set (td_imap_value_get_string (g_ptr_array_index (r->code->items, 3)), max,
                      to)
      || from->len != to->len)
    return;
  td_uid_set_normalize (ours);
  for (guint i = 0; i < from->len; i++)
    {
      TdUidMove m = { g_array_index (from, guint32, i), g_array_index (to, guint32, i) };
      if (!td_uid_set_contains (ours, m.from) || m.to == 0)
        return;
    }
  for (guint i = 0; i < from->len; i++)
    {
      TdUidMove m = { g_array_index (from, guint32, i), g_array_index (to, guint32, i) };
      g_array_append_val (data->moved, m);
    }
}

static void
on_move_data (TdImapSession *session, const TdImapResponse *r, gpointer user_data)
{
  MoveData *data = user_data;

  if (g_strcmp0 (r->name, "OK") == 0 && td_imap_session_get_caps (session)->uidplus)
    take_copyuid (data, r);
}

static void
moved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MoveData *data = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source),
                                                                 result, &error);
  if (r == NULL)
    td_imap_group_keep_error (&data->group, error);
  else if (td_imap_session_get_caps (TD_IMAP_SESSION (source))->uidplus)
    take_copyuid (data, r);
  if (!td_imap_group_release (&data->group) || td_imap_group_return_error (&data->group, task))
    return;
  data->expunged = TRUE;
  g_task_return_pointer (task, g_array_ref (data->moved), (GDestroyNotify) g_array_unref);
}

/* After UID COPY: the originals are deleted as any deletion is (imap_expunge_async). */
static void
originals_deleted (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MoveData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!imap_expunge_finish (TD_BACKEND (source), result, &data->expunged, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, g_array_ref (data->moved), (GDestroyNotify) g_array_unref);
}

static void
copied (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MoveData *data = g_task_get_task_data (task);
  TdImapBackend *self = g_task_get_source_object (task);
  GError *error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source),
                                                                 result, &error);
  if (r == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (td_imap_session_get_caps (self->session)->uidplus)
    take_copyuid (data, r);
  imap_expunge_async (TD_BACKEND (self), data->uids, g_task_get_cancellable (task),
                      originals_deleted, g_object_ref (task));
}

static void
imap_move_async (TdBackend *backend, GArray *uids, const char *target,
                 GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  TdImapBackend *self = TD_IMAP_BACKEND (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  GError *error = NULL;
  g_autofree char *mailbox = td_imap_backend_quote_name (self, target, &error);
  g_autofree char *set = td_uid_set_to_string (uids);
  MoveData *data = g_new0 (MoveData, 1);

  g_task_set_source_tag (task, imap_move_async);
  g_task_set_task_data (task, data, (GDestroyNotify) move_data_free);
  data->uids = g_array_copy (uids);
  data->moved = g_array_new (FALSE, FALSE, sizeof (TdUidMove));
  if (mailbox == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (td_imap_session_get_caps (self->session)->move)
    {
      TdImapHandlers handlers = { .on_untagged = on_move_data, .user_data = data };
      g_autofree char *command = g_strdup_printf ("UID MOVE %s %s", set, mailbox);
      td_imap_group_run (&data->group, self->session, &handlers, task, moved, command);
      return;
    }
  td_imap_session_run_async (self->session, NULL, cancellable, copied, g_object_ref (task),
                             "UID COPY %s %s", set, mailbox);
}

static GArray *
imap_move_finish (TdBackend *backend, GAsyncResult *result, gboolean *expunged, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), NULL);
  MoveData *data = g_task_get_task_data (G_TASK (result));
  GArray *moved = g_task_propagate_pointer (G_TASK (result), error);
  if (moved != NULL)
    *expunged = data->expunged;
  return moved;
}

/* Folders */

/* The completion of the group's bookkeeping command (SUBSCRIBE after CREATE, UNSUBSCRIBE
 * after DELETE): a NO there leaves the folder made or gone all the same, so only a broken
 * connection counts. */
static void
subscription_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  TdImapGroup *group = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source),
                                                                 result, &error);
  if (r == NULL && g_error_matches (error, TD_ERROR, TD_ERROR_FOLDER))
    {
      g_debug ("%s", error->message);
      g_clear_error (&error);
    }
  if (r == NULL)
    td_imap_group_keep_error (group, error);
  td_imap_group_complete (group, task);
}

static void
imap_create_folder_async (TdBackend *backend, const char *name, gboolean create,
                          GCancellable *cancellable, GAsyncReadyCallback callback,
                          gpointer user_data)
{
  TdImapBackend *self = TD_IMAP_BACKEND (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  GError *error = NULL;
  g_autofree char *mailbox = td_imap_backend_quote_name (self, name, &error);
  TdImapGroup *group = g_new0 (TdImapGroup, 1);

  g_task_set_source_tag (task, imap_create_folder_async);
  g_task_set_task_data (task, group, (GDestroyNotify) td_imap_group_free);
  if (mailbox == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_autofree char *first = g_strdup_printf (create ? "CREATE %s" : "DELETE %s", mailbox);
  g_autofree char *second = g_strdup_printf (create ? "SUBSCRIBE %s" : "UNSUBSCRIBE %s",
                                             mailbox);
  td_imap_group_run (group, self->session, NULL, task, td_imap_group_command_done, first);
  td_imap_group_run (group, self->session, NULL, task, subscription_done, second);
}

void
td_imap_backend_push_class_init (TdBackendClass *backend_class)
{
  backend_class->append_async = imap_append_async;
  backend_class->append_finish = finish_boolean;
  backend_class->expunge_async = imap_expunge_async;
  backend_class->expunge_finish = imap_expunge_finish;
  backend_class->move_async = imap_move_async;
  backend_class->move_finish = imap_move_finish;
  backend_class->create_folder_async = imap_create_folder_async;
  backend_class->create_folder_finish = finish_boolean;
}
