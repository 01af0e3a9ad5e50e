/* td-imap-backend-watch.c: the IMAP backend's watching: IDLE (RFC 2177) on one folder.
 *
 * The folder is EXAMINEd (read-only, so watching changes nothing, not even \Recent) once,
 * then IDLE runs until the server reports new, expunged or changed messages, and is renewed
 * every TD_IMAP_IDLE_RENEW_SECONDS so neither the server's 30-minute limit nor a quiet NAT
 * box ends it unseen. Main loop thread only.
 */
#include "td-imap-backend-private.h"

#include "engine/td-error.h"
#include "td-imap-limits.h"

typedef struct
{
  TdImapBackend *self; /* borrowed: the task holds it */
  char *folder;
  gboolean changed;
  guint renew_id;
} WatchData;

static void
watch_data_free (WatchData *data)
{
  g_clear_handle_id (&data->renew_id, g_source_remove);
  g_free (data->folder);
  g_free (data);
}

static void idle (GTask *task);

/* Untagged data during IDLE that means the folder changed. */
static void
idle_untagged (TdImapSession *session, const TdImapResponse *r, gpointer user_data)
{
  WatchData *data = g_task_get_task_data (user_data);

  if (r->name == NULL)
    return;
  if ((r->has_number && (g_str_equal (r->name, "EXISTS") || g_str_equal (r->name, "EXPUNGE")
                         || g_str_equal (r->name, "FETCH")))
      || g_str_equal (r->name, "VANISHED"))
    {
      data->changed = TRUE;
      td_imap_session_idle_done (session);
    }
}

static gboolean
renew (gpointer user_data)
{
  WatchData *data = g_task_get_task_data (user_data);

  data->renew_id = 0;
  td_imap_session_idle_done (data->self->session);
  return G_SOURCE_REMOVE;
}

static void
idle_ended (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  WatchData *data = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source), result,
                                                                 &error);

  g_clear_handle_id (&data->renew_id, g_source_remove);
  if (r == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  if (!data->changed)
    {
      idle (task); /* renewed */
      return;
    }
  char **changed = g_new0 (char *, 2);
  changed[0] = g_strdup (data->folder);
  g_task_return_pointer (task, changed, (GDestroyNotify) g_strfreev);
  g_object_unref (task);
}

static void
idle (GTask *task)
{
  WatchData *data = g_task_get_task_data (task);
  TdImapHandlers handlers = { idle_untagged, NULL, NULL, task, TD_IMAP_COMMAND_IDLE };

  data->renew_id = g_timeout_add_seconds (TD_IMAP_IDLE_RENEW_SECONDS, renew, task);
  td_imap_session_run_async (data->self->session, &handlers, g_task_get_cancellable (task),
                             idle_ended, task, "IDLE");
}

static void
examined (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  WatchData *data = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source), result,
                                                                 &error);

  if (r == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  g_free (data->self->watched);
  data->self->watched = g_strdup (data->folder);
  /* What changed before the watch began is unknown: the first answer is "look now", so a
   * sync that follows sees everything up to the moment IDLE takes over. */
  char **changed = g_new0 (char *, 2);
  changed[0] = g_strdup (data->folder);
  g_task_return_pointer (task, changed, (GDestroyNotify) g_strfreev);
  g_object_unref (task);
}

static void
imap_watch_async (TdBackend *backend, const char *const *folders, GCancellable *cancellable,
                  GAsyncReadyCallback callback, gpointer user_data)
{
  TdImapBackend *self = TD_IMAP_BACKEND (backend);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  WatchData *data = g_new0 (WatchData, 1);
  GError *error = NULL;

  g_task_set_source_tag (task, imap_watch_async);
  data->self = self;
  data->folder = g_strdup (folders[0]);
  g_task_set_task_data (task, data, (GDestroyNotify) watch_data_free);
  if (!td_imap_session_get_caps (self->session)->idle || folders[1] != NULL)
    {
      g_task_return_new_error (task, TD_ERROR, TD_ERROR_NOT_SUPPORTED,
                               "the server cannot watch %s folder%s on one connection",
                               folders[1] != NULL ? "more than one" : "a", folders[1] ? "s" : "");
      g_object_unref (task);
      return;
    }
  if (g_strcmp0 (self->watched, data->folder) == 0)
    {
      idle (task);
      return;
    }
  g_autofree char *quoted = td_imap_backend_quote_name (self, data->folder, &error);
  if (quoted == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  td_imap_session_run_async (self->session, NULL, cancellable, examined, task, "EXAMINE %s",
                             quoted);
}

static char **
imap_watch_finish (TdBackend *backend, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static guint
imap_get_watch_limit (TdBackend *backend)
{
  TdImapBackend *self = TD_IMAP_BACKEND (backend);

  if (self->session == NULL)
    return 0;
  return td_imap_session_get_caps (self->session)->idle ? 1 : 0;
}

void
td_imap_backend_watch_class_init (TdBackendClass *backend_class)
{
  backend_class->watch_async = imap_watch_async;
  backend_class->watch_finish = imap_watch_finish;
  backend_class->get_watch_limit = imap_get_watch_limit;
}
