/* td-imap-backend-watch.c: the IMAP backend's watching: NOTIFY (RFC 5465) on many folders,
 * or IDLE (RFC 2177) on one.
 *
 * With NOTIFY, one NOTIFY SET names every folder, nothing is selected, and the server
 * reports a change in any of them as an untagged STATUS. Without it (or when the server
 * refuses the NOTIFY SET) the folder is EXAMINEd (read-only, so watching changes nothing,
 * not even \Recent) and its EXISTS, EXPUNGE, FETCH and VANISHED are the news. Either way
 * IDLE then runs until there is news, and is renewed every TD_IMAP_IDLE_RENEW_SECONDS so
 * neither the server's 30-minute limit nor a quiet NAT box ends it unseen. Main loop thread
 * only.
 */
#include "td-imap-backend-private.h"

#include "engine/common/td-error.h"
#include "engine/common/td-mutf7.h"
#include "td-imap-limits.h"

typedef struct
{
  TdImapBackend *self; /* borrowed: the task holds it */
  char **folders;      /* decoded names */
  char *key;           /* what self->watched says once this watch is set up */
  gboolean notify;
  GHashTable *by_raw;  /* NOTIFY: the server's name -> the decoded one */
  GHashTable *changed; /* decoded names with news */
  guint renew_id;
} WatchData;

static void
watch_data_free (WatchData *data)
{
  g_clear_handle_id (&data->renew_id, g_source_remove);
  g_strfreev (data->folders);
  g_free (data->key);
  g_clear_pointer (&data->by_raw, g_hash_table_unref);
  g_hash_table_unref (data->changed);
  g_free (data);
}

static gboolean
notify_usable (TdImapBackend *self)
{
  const TdImapCaps *caps = td_imap_session_get_caps (self->session);
  return caps->notify && caps->idle && !self->notify_refused;
}

/* Every watched folder: the answer when what changed is not known. */
static void
all_changed (WatchData *data)
{
  for (guint i = 0; data->folders[i] != NULL; i++)
    g_hash_table_add (data->changed, data->folders[i]);
}

static void
return_changed (GTask *task)
{
  WatchData *data = g_task_get_task_data (task);
  GPtrArray *names = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer name;

  g_hash_table_iter_init (&iter, data->changed);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_add (names, NULL);
  g_task_return_pointer (task, g_ptr_array_free (names, FALSE), (GDestroyNotify) g_strfreev);
  g_object_unref (task);
}

static void idle (GTask *task);

/* "* STATUS name (…)" under NOTIFY: that folder changed; a name not watched is ignored. */
static gboolean
status_news (WatchData *data, const TdImapResponse *r)
{
  const char *raw, *name;

  if (!data->notify || r->args == NULL || r->args->items->len < 1)
    return FALSE;
  raw = td_imap_value_get_string (g_ptr_array_index (r->args->items, 0));
  name = raw != NULL ? g_hash_table_lookup (data->by_raw, raw) : NULL;
  if (name == NULL)
    return FALSE;
  g_hash_table_add (data->changed, (gpointer) name);
  return TRUE;
}

/* Untagged data during IDLE that means a folder changed. */
static void
idle_untagged (TdImapSession *session, const TdImapResponse *r, gpointer user_data)
{
  WatchData *data = g_task_get_task_data (user_data);

  if (r->name == NULL)
    return;
  if ((r->has_number && (g_str_equal (r->name, "EXISTS") || g_str_equal (r->name, "EXPUNGE")
                         || g_str_equal (r->name, "FETCH")))
      || g_str_equal (r->name, "VANISHED"))
    all_changed (data); /* the selected folder: the only one, without NOTIFY */
  else if (!(g_str_equal (r->name, "STATUS") && status_news (data, r)))
    return;
  td_imap_session_idle_done (session);
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
  if (g_hash_table_size (data->changed) == 0)
    {
      idle (task); /* renewed */
      return;
    }
  return_changed (task);
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

static void examine (GTask *task);

static void
set_up (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  WatchData *data = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source), result,
                                                                 &error);

  if (r == NULL && data->notify && (g_error_matches (error, TD_ERROR, TD_ERROR_FOLDER)
                                    || g_error_matches (error, TD_ERROR, TD_ERROR_PROTOCOL)))
    {
      /* NOTIFY SET refused (NO, or BAD for something it does not take): IDLE on one folder
       * still works; a caller watching several is told to ask for one at a time. */
      g_debug ("%s: NOTIFY refused (%s); watching with IDLE", td_imap_session_describe (data->self->session),
               error->message);
      g_clear_error (&error);
      data->self->notify_refused = TRUE;
      data->notify = FALSE;
      if (data->folders[1] == NULL)
        {
          examine (task);
          return;
        }
      error = g_error_new (TD_ERROR, TD_ERROR_NOT_SUPPORTED, "the server refused to watch "
                           "several folders on one connection (NOTIFY)");
    }
  if (r == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  g_free (data->self->watched);
  data->self->watched = g_strdup (data->key);
  /* What changed before the watch began is unknown: the first answer is "look now", so a
   * sync that follows sees everything up to the moment IDLE takes over. */
  all_changed (data);
  return_changed (task);
}

static void
examine (GTask *task)
{
  WatchData *data = g_task_get_task_data (task);
  GError *error = NULL;
  g_autofree char *quoted = td_imap_backend_quote_name (data->self, data->folders[0], &error);

  g_free (data->key);
  data->key = g_strdup (data->folders[0]);
  if (quoted == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  td_imap_session_run_async (data->self->session, NULL, g_task_get_cancellable (task), set_up,
                             task, "EXAMINE %s", quoted);
}

/* NOTIFY SET naming every folder: new and expunged messages and flag changes. Nothing is
 * selected, so all news comes as STATUS. */
static void
notify_set (GTask *task)
{
  WatchData *data = g_task_get_task_data (task);
  g_autoptr (GString) names = g_string_new (NULL);

  for (guint i = 0; data->folders[i] != NULL; i++)
    {
      GError *error = NULL;
      g_autofree char *quoted = td_imap_backend_quote_name (data->self, data->folders[i], &error);
      if (quoted == NULL)
        {
          g_task_return_error (task, error);
          g_object_unref (task);
          return;
        }
      g_string_append_printf (names, "%s%s", i ? " " : "", quoted);
    }
  td_imap_session_run_async (data->self->session, NULL, g_task_get_cancellable (task), set_up,
                             task, "NOTIFY SET (mailboxes (%s) (MessageNew MessageExpunge "
                             "FlagChange))", names->str);
}

static guint
imap_get_watch_limit (TdBackend *backend)
{
  TdImapBackend *self = TD_IMAP_BACKEND (backend);

  if (self->session == NULL || !td_imap_session_get_caps (self->session)->idle)
    return 0;
  return notify_usable (self) ? TD_IMAP_NOTIFY_MAX_FOLDERS : 1;
}

static void
imap_watch_async (TdBackend *backend, const char *const *folders, GCancellable *cancellable,
                  GAsyncReadyCallback callback, gpointer user_data)
{
  TdImapBackend *self = TD_IMAP_BACKEND (backend);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  WatchData *data = g_new0 (WatchData, 1);

  g_task_set_source_tag (task, imap_watch_async);
  data->self = self;
  data->folders = g_strdupv ((char **) folders);
  data->changed = g_hash_table_new (g_str_hash, g_str_equal);
  data->notify = notify_usable (self);
  g_task_set_task_data (task, data, (GDestroyNotify) watch_data_free);
  guint n = g_strv_length (data->folders);
  if (n == 0 || n > imap_get_watch_limit (backend))
    {
      g_task_return_new_error (task, TD_ERROR, TD_ERROR_NOT_SUPPORTED,
                               "the server cannot watch %u folders on one connection", n);
      g_object_unref (task);
      return;
    }
  if (data->notify)
    {
      g_autofree char *joined = g_strjoinv ("\n", data->folders);
      data->key = g_strconcat ("NOTIFY\n", joined, NULL);
      /* STATUS news names a folder as the server does. */
      data->by_raw = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      for (guint i = 0; data->folders[i] != NULL; i++)
        {
          const char *raw = g_hash_table_lookup (self->raw_names, data->folders[i]);
          g_hash_table_insert (data->by_raw,
                               raw ? g_strdup (raw) : td_mutf7_encode (data->folders[i]),
                               data->folders[i]);
        }
    }
  else
    data->key = g_strdup (data->folders[0]);
  if (g_strcmp0 (self->watched, data->key) == 0)
    idle (task);
  else if (data->notify)
    notify_set (task);
  else
    examine (task);
}

static char **
imap_watch_finish (TdBackend *backend, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}


void
td_imap_backend_watch_class_init (TdBackendClass *backend_class)
{
  backend_class->watch_async = imap_watch_async;
  backend_class->watch_finish = imap_watch_finish;
  backend_class->get_watch_limit = imap_get_watch_limit;
}
