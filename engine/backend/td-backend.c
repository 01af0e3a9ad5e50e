/* td-backend.c: the TdBackend base class and its checked public wrappers.
 *
 * Each wrapper checks its arguments, refuses a call while another is under way (a backend
 * speaks one protocol conversation), and routes the result through a small closure that
 * marks the backend idle again before the caller's callback runs. Main loop thread only.
 */
#include "engine/backend/td-backend-private.h"

#include "engine/common/td-durable-step.h"

#include "engine/common/td-error.h"

typedef struct
{
  TdAccountConfig *account;
  gboolean busy;
  gint64 list_cutoff;
} TdBackendPrivate;

G_DEFINE_TYPE_WITH_PRIVATE (TdBackend, td_backend, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_ACCOUNT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

typedef struct
{
  TdBackend *self;
  GAsyncReadyCallback callback;
  gpointer user_data;
} CallClosure;

static void
call_done (GObject *source, GAsyncResult *result, gpointer data)
{
  CallClosure *closure = data;
  TdBackendPrivate *priv = td_backend_get_instance_private (closure->self);

  priv->busy = FALSE;
  if (closure->callback != NULL)
    closure->callback (source, result, closure->user_data);
  g_object_unref (closure->self);
  g_free (closure);
}

/* Starts a call: returns the closure to pass as user data, or NULL after reporting "busy". */
static CallClosure *
call_begin (TdBackend *self, GAsyncReadyCallback callback, gpointer user_data, gpointer tag)
{
  TdBackendPrivate *priv = td_backend_get_instance_private (self);

  if (priv->busy)
    {
      g_task_report_new_error (self, callback, user_data, tag, TD_ERROR, TD_ERROR_FAILED,
                               "internal error: a backend call was made while another was "
                               "under way");
      return NULL;
    }
  priv->busy = TRUE;
  CallClosure *closure = g_new0 (CallClosure, 1);
  closure->self = g_object_ref (self);
  closure->callback = callback;
  closure->user_data = user_data;
  return closure;
}

/* A refused call's result is a GTask tagged with the wrapper; its error is returned. */
static gboolean
call_was_refused (GAsyncResult *result, gpointer tag, GError **error)
{
  if (!g_async_result_is_tagged (result, tag))
    return FALSE;
  g_task_propagate_pointer (G_TASK (result), error);
  return TRUE;
}

static TdBackendCaps
td_backend_real_get_caps (TdBackend *self)
{
  return 0;
}

static void
td_backend_real_store_flags_async (TdBackend *self, GPtrArray *stores, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data)
{
  g_task_report_new_error (self, callback, user_data, td_backend_real_store_flags_async,
                           TD_ERROR, TD_ERROR_NOT_SUPPORTED,
                           "this protocol cannot change flags on the server");
}

static gboolean
td_backend_real_boolean_finish (TdBackend *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
not_supported (TdBackend *self, GAsyncReadyCallback callback, gpointer user_data, gpointer tag,
               const char *what)
{
  g_task_report_new_error (self, callback, user_data, tag, TD_ERROR, TD_ERROR_NOT_SUPPORTED,
                           "this protocol cannot %s", what);
}

static void
td_backend_real_append_async (TdBackend *self, const char *name, GPtrArray *uploads,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  not_supported (self, callback, user_data, td_backend_real_append_async,
                 "upload messages to the server");
}

static void
td_backend_real_expunge_async (TdBackend *self, GArray *uids, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  not_supported (self, callback, user_data, td_backend_real_expunge_async,
                 "delete messages on the server");
}

static gboolean
td_backend_real_expunge_finish (TdBackend *self, GAsyncResult *result, gboolean *expunged,
                                GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
td_backend_real_create_folder_async (TdBackend *self, const char *name, gboolean create,
                                     GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  not_supported (self, callback, user_data, td_backend_real_create_folder_async,
                 "create or delete folders on the server");
}

static void
td_backend_real_move_async (TdBackend *self, GArray *uids, const char *target,
                            GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data)
{
  not_supported (self, callback, user_data, td_backend_real_move_async,
                 "move messages between folders on the server");
}

static GArray *
td_backend_real_move_finish (TdBackend *self, GAsyncResult *result, gboolean *expunged,
                             GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
td_backend_real_hash_headers_async (TdBackend *self, GArray *uids, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data)
{
  not_supported (self, callback, user_data, td_backend_real_hash_headers_async,
                 "read message headers alone");
}

static GArray *
td_backend_real_hash_headers_finish (TdBackend *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
td_backend_real_watch_async (TdBackend *self, const char *const *folders,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  not_supported (self, callback, user_data, td_backend_real_watch_async,
                 "tell when a folder changes");
}

static char **
td_backend_real_watch_finish (TdBackend *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static guint
td_backend_real_get_watch_limit (TdBackend *self)
{
  return 0;
}

static void
td_backend_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  TdBackendPrivate *priv = td_backend_get_instance_private (TD_BACKEND (object));

  switch (prop_id)
    {
    case PROP_ACCOUNT:
      priv->account = g_value_get_pointer (value);
      if (priv->account != NULL)
        td_account_config_ref (priv->account);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
td_backend_finalize (GObject *object)
{
  TdBackendPrivate *priv = td_backend_get_instance_private (TD_BACKEND (object));

  g_clear_pointer (&priv->account, td_account_config_unref);
  G_OBJECT_CLASS (td_backend_parent_class)->finalize (object);
}

static void
td_backend_class_init (TdBackendClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->set_property = td_backend_set_property;
  object_class->finalize = td_backend_finalize;
  klass->get_caps = td_backend_real_get_caps;
  klass->store_flags_async = td_backend_real_store_flags_async;
  klass->store_flags_finish = td_backend_real_boolean_finish;
  klass->append_async = td_backend_real_append_async;
  klass->append_finish = td_backend_real_boolean_finish;
  klass->expunge_async = td_backend_real_expunge_async;
  klass->expunge_finish = td_backend_real_expunge_finish;
  klass->create_folder_async = td_backend_real_create_folder_async;
  klass->create_folder_finish = td_backend_real_boolean_finish;
  klass->move_async = td_backend_real_move_async;
  klass->move_finish = td_backend_real_move_finish;
  klass->hash_headers_async = td_backend_real_hash_headers_async;
  klass->hash_headers_finish = td_backend_real_hash_headers_finish;
  klass->watch_async = td_backend_real_watch_async;
  klass->watch_finish = td_backend_real_watch_finish;
  klass->get_watch_limit = td_backend_real_get_watch_limit;
  klass->survey_folders_async = td_backend_default_survey_folders_async;
  klass->survey_folders_finish = td_backend_default_survey_folders_finish;
  klass->work_folders_async = td_backend_default_work_folders_async;
  klass->work_folders_finish = td_backend_default_work_folders_finish;

  /**
   * TdBackend:account:
   *
   * The account this backend serves (a #TdAccountConfig, referenced).
   */
  properties[PROP_ACCOUNT] = g_param_spec_pointer ("account", NULL, NULL,
                                                   G_PARAM_WRITABLE | G_PARAM_CONSTRUCT_ONLY
                                                     | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
td_backend_init (TdBackend *self)
{
}

/**
 * td_backend_get_account:
 * @self: a backend
 *
 * Returns: (transfer none): the account this backend serves
 */
TdAccountConfig *
td_backend_get_account (TdBackend *self)
{
  TdBackendPrivate *priv = td_backend_get_instance_private (self);
  g_return_val_if_fail (TD_IS_BACKEND (self), NULL);
  return priv->account;
}

/**
 * td_backend_set_list_cutoff:
 * @self: a backend
 * @not_before: seconds since the epoch, or 0
 *
 * Tells the backend that new messages the server received before @not_before (the run's
 * max-age) are not downloaded: where it can, it lists those by UID only (in
 * #TdFolderChanges.aged), without their sizes and dates.
 */
void
td_backend_set_list_cutoff (TdBackend *self, gint64 not_before)
{
  TdBackendPrivate *priv = td_backend_get_instance_private (self);
  g_return_if_fail (TD_IS_BACKEND (self));
  priv->list_cutoff = not_before;
}

/**
 * td_backend_get_list_cutoff:
 * @self: a backend
 *
 * Returns: what td_backend_set_list_cutoff() set, or 0
 */
gint64
td_backend_get_list_cutoff (TdBackend *self)
{
  TdBackendPrivate *priv = td_backend_get_instance_private (self);
  g_return_val_if_fail (TD_IS_BACKEND (self), 0);
  return priv->list_cutoff;
}

/**
 * td_backend_get_caps:
 * @self: a backend
 *
 * Returns: which optional parts this backend implements, valid once connected
 */
TdBackendCaps
td_backend_get_caps (TdBackend *self)
{
  g_return_val_if_fail (TD_IS_BACKEND (self), 0);
  return TD_BACKEND_GET_CLASS (self)->get_caps (self);
}

/**
 * td_backend_connect_async:
 * @self: a backend
 * @secret: (nullable): the password or token; the backend does not keep it after login
 * @cancellable: (nullable): a cancellable
 * @callback: called when connected and logged in, or failed
 * @user_data: data for @callback
 *
 * Connects, secures and authenticates.
 */
void
td_backend_connect_async (TdBackend *self, const char *secret, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (TD_IS_BACKEND (self));
  CallClosure *c = call_begin (self, callback, user_data, td_backend_connect_async);
  if (c != NULL)
    TD_BACKEND_GET_CLASS (self)->connect_async (self, secret, cancellable, call_done, c);
}

gboolean
td_backend_connect_finish (TdBackend *self, GAsyncResult *result, GError **error)
{
  if (call_was_refused (result, td_backend_connect_async, error))
    return FALSE;
  return TD_BACKEND_GET_CLASS (self)->connect_finish (self, result, error);
}

/**
 * td_backend_list_folders_async:
 * @self: a connected backend
 * @cancellable: (nullable): a cancellable
 * @callback: called with the folder list
 * @user_data: data for @callback
 *
 * Lists the server's folders.
 */
void
td_backend_list_folders_async (TdBackend *self, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (TD_IS_BACKEND (self));
  CallClosure *c = call_begin (self, callback, user_data, td_backend_list_folders_async);
  if (c != NULL)
    TD_BACKEND_GET_CLASS (self)->list_folders_async (self, cancellable, call_done, c);
}

/**
 * td_backend_list_folders_finish:
 * @self: a backend
 * @result: the result
 * @error: return location for an error
 *
 * Returns: (transfer full) (element-type TdFolderInfo): the folders
 */
GPtrArray *
td_backend_list_folders_finish (TdBackend *self, GAsyncResult *result, GError **error)
{
  if (call_was_refused (result, td_backend_list_folders_async, error))
    return NULL;
  return TD_BACKEND_GET_CLASS (self)->list_folders_finish (self, result, error);
}

/**
 * td_backend_open_folder_async:
 * @self: a connected backend
 * @name: the folder's name as list_folders reported it
 * @read_only: open without the right to change anything
 * @since: (nullable): what was known after the last sync, so a server that can (QRESYNC)
 *   reports the changes while opening
 * @cancellable: (nullable): a cancellable
 * @callback: called with the folder's state
 * @user_data: data for @callback
 *
 * Makes @name the current folder.
 */
void
td_backend_open_folder_async (TdBackend *self, const char *name, gboolean read_only,
                              const TdSyncPoint *since, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (TD_IS_BACKEND (self));
  g_return_if_fail (name != NULL);
  CallClosure *c = call_begin (self, callback, user_data, td_backend_open_folder_async);
  if (c != NULL)
    TD_BACKEND_GET_CLASS (self)->open_folder_async (self, name, read_only, since, cancellable,
                                                    call_done, c);
}

gboolean
td_backend_open_folder_finish (TdBackend *self, GAsyncResult *result, TdFolderState *state,
                               GError **error)
{
  if (call_was_refused (result, td_backend_open_folder_async, error))
    return FALSE;
  return TD_BACKEND_GET_CLASS (self)->open_folder_finish (self, result, state, error);
}

/**
 * td_backend_list_changes_async:
 * @self: a backend with a folder open
 * @since: what was known after the last sync
 * @cancellable: (nullable): a cancellable
 * @callback: called with the changes
 * @user_data: data for @callback
 *
 * Reports flag changes and removals among the messages at or below @since->last_uid.
 */
void
td_backend_list_changes_async (TdBackend *self, const TdSyncPoint *since,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_return_if_fail (TD_IS_BACKEND (self));
  g_return_if_fail (since != NULL);
  CallClosure *c = call_begin (self, callback, user_data, td_backend_list_changes_async);
  if (c != NULL)
    TD_BACKEND_GET_CLASS (self)->list_changes_async (self, since, cancellable, call_done, c);
}

/**
 * td_backend_list_changes_finish:
 * @self: a backend
 * @result: the result
 * @error: return location for an error
 *
 * Returns: (transfer full): the changes
 */
TdFolderChanges *
td_backend_list_changes_finish (TdBackend *self, GAsyncResult *result, GError **error)
{
  if (call_was_refused (result, td_backend_list_changes_async, error))
    return NULL;
  return TD_BACKEND_GET_CLASS (self)->list_changes_finish (self, result, error);
}

/**
 * td_backend_list_messages_async:
 * @self: a backend with a folder open
 * @first_uid: the lowest UID wanted; 1 for the whole folder
 * @cancellable: (nullable): a cancellable
 * @callback: called with each message's UID, size, Message-ID and upload token
 * @user_data: data for @callback
 *
 * Lists the open folder from @first_uid on, in one request: for matching messages after a
 * UIDVALIDITY change, and for finding uploads whose UID the server did not tell.
 */
void
td_backend_list_messages_async (TdBackend *self, guint32 first_uid, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (TD_IS_BACKEND (self));
  CallClosure *c = call_begin (self, callback, user_data, td_backend_list_messages_async);
  if (c != NULL)
    TD_BACKEND_GET_CLASS (self)->list_messages_async (self, MAX (first_uid, 1), cancellable,
                                                      call_done, c);
}

/**
 * td_backend_list_messages_finish:
 * @self: a backend
 * @result: the result
 * @error: return location for an error
 *
 * Returns: (transfer full) (element-type TdMessageInfo): the messages, by ascending UID
 */
GArray *
td_backend_list_messages_finish (TdBackend *self, GAsyncResult *result, GError **error)
{
  if (call_was_refused (result, td_backend_list_messages_async, error))
    return NULL;
  return TD_BACKEND_GET_CLASS (self)->list_messages_finish (self, result, error);
}

/**
 * td_backend_fetch_messages_async:
 * @self: a backend with a folder open
 * @uids: (element-type TdUidRange): the UIDs to download
 * @sink: where the bodies go
 * @cancellable: (nullable): a cancellable
 * @callback: called when every message was handed to @sink, or on failure
 * @user_data: data for @callback
 *
 * Streams messages into @sink, never holding a whole body in memory.
 */
void
td_backend_fetch_messages_async (TdBackend *self, GArray *uids, TdMessageSink *sink,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  g_return_if_fail (TD_IS_BACKEND (self));
  g_return_if_fail (uids != NULL && uids->len > 0);
  g_return_if_fail (TD_IS_MESSAGE_SINK (sink));
  CallClosure *c = call_begin (self, callback, user_data, td_backend_fetch_messages_async);
  if (c != NULL)
    TD_BACKEND_GET_CLASS (self)->fetch_messages_async (self, uids, sink, cancellable,
                                                       call_done, c);
}

gboolean
td_backend_fetch_messages_finish (TdBackend *self, GAsyncResult *result, GError **error)
{
  if (call_was_refused (result, td_backend_fetch_messages_async, error))
    return FALSE;
  return TD_BACKEND_GET_CLASS (self)->fetch_messages_finish (self, result, error);
}

/**
 * td_backend_store_flags_async:
 * @self: a backend with a folder opened for writing
 * @stores: (element-type TdBackendFlagStore): the changes
 * @cancellable: (nullable): a cancellable
 * @callback: called when the server has every change
 * @user_data: data for @callback
 *
 * Sets and clears flags on the server (optional: %TD_BACKEND_CAP_STORE).
 */
void
td_backend_store_flags_async (TdBackend *self, GPtrArray *stores, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (TD_IS_BACKEND (self));
  g_return_if_fail (stores != NULL);
  CallClosure *c = call_begin (self, callback, user_data, td_backend_store_flags_async);
  if (c != NULL)
    TD_BACKEND_GET_CLASS (self)->store_flags_async (self, stores, cancellable, call_done, c);
}

gboolean
td_backend_store_flags_finish (TdBackend *self, GAsyncResult *result, GError **error)
{
  if (call_was_refused (result, td_backend_store_flags_async, error)
      || !TD_BACKEND_GET_CLASS (self)->store_flags_finish (self, result, error))
    return FALSE;
  td_durable_step ("server: store flags done");
  return TRUE;
}

/**
 * td_backend_append_async:
 * @self: a backend
 * @name: the folder to upload into (decoded)
 * @uploads: (element-type TdBackendUpload): the messages; their streams are read to the end
 * @cancellable: (nullable): a cancellable
 * @callback: called when the server has every message
 * @user_data: data for @callback
 *
 * Uploads messages (optional: %TD_BACKEND_CAP_APPEND), filling in each one's UID where the
 * server tells it.
 */
void
td_backend_append_async (TdBackend *self, const char *name, GPtrArray *uploads,
                         GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_return_if_fail (TD_IS_BACKEND (self));
  g_return_if_fail (name != NULL && uploads != NULL);
  CallClosure *c = call_begin (self, callback, user_data, td_backend_append_async);
  if (c != NULL)
    TD_BACKEND_GET_CLASS (self)->append_async (self, name, uploads, cancellable, call_done, c);
}

gboolean
td_backend_append_finish (TdBackend *self, GAsyncResult *result, GError **error)
{
  if (call_was_refused (result, td_backend_append_async, error)
      || !TD_BACKEND_GET_CLASS (self)->append_finish (self, result, error))
    return FALSE;
  td_durable_step ("server: append done");
  return TRUE;
}

/**
 * td_backend_expunge_async:
 * @self: a backend with a folder opened for writing
 * @uids: (element-type TdUidRange): the messages to delete
 * @cancellable: (nullable): a cancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Deletes messages (optional: %TD_BACKEND_CAP_EXPUNGE). Where the protocol cannot remove
 * just these without removing others marked for deletion, they stay marked.
 */
void
td_backend_expunge_async (TdBackend *self, GArray *uids, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (TD_IS_BACKEND (self));
  g_return_if_fail (uids != NULL);
  CallClosure *c = call_begin (self, callback, user_data, td_backend_expunge_async);
  if (c != NULL)
    TD_BACKEND_GET_CLASS (self)->expunge_async (self, uids, cancellable, call_done, c);
}

/**
 * td_backend_expunge_finish:
 * @self: a backend
 * @result: the result
 * @expunged: (out): whether the messages are gone, rather than only marked deleted
 * @error: return location for an error
 *
 * Returns: %TRUE on success
 */
gboolean
td_backend_expunge_finish (TdBackend *self, GAsyncResult *result, gboolean *expunged,
                           GError **error)
{
  *expunged = FALSE;
  if (call_was_refused (result, td_backend_expunge_async, error)
      || !TD_BACKEND_GET_CLASS (self)->expunge_finish (self, result, expunged, error))
    return FALSE;
  td_durable_step ("server: expunge done");
  return TRUE;
}

/**
 * td_backend_move_async:
 * @self: a backend with a folder opened for writing
 * @uids: (element-type TdUidRange): messages of the open folder
 * @target: the folder to move them to (decoded, as list_folders reported it)
 * @cancellable: (nullable): a cancellable
 * @callback: called when the messages are in @target
 * @user_data: data for @callback
 *
 * Moves messages on the server (optional: %TD_BACKEND_CAP_MOVE) without sending their bodies:
 * they leave the open folder, keeping their flags. Where the protocol can only copy and then
 * delete, and cannot delete just these, the originals stay marked deleted.
 */
void
td_backend_move_async (TdBackend *self, GArray *uids, const char *target,
                       GCancellable *cancellable, GAsyncReadyCallback callback,
                       gpointer user_data)
{
  g_return_if_fail (TD_IS_BACKEND (self));
  g_return_if_fail (uids != NULL && target != NULL);
  CallClosure *c = call_begin (self, callback, user_data, td_backend_move_async);
  if (c != NULL)
    TD_BACKEND_GET_CLASS (self)->move_async (self, uids, target, cancellable, call_done, c);
}

/**
 * td_backend_move_finish:
 * @self: a backend
 * @result: the result
 * @expunged: (out): whether the originals are gone, rather than only marked deleted
 * @error: return location for an error
 *
 * Returns: (transfer full) (element-type TdUidMove) (nullable): the new UIDs the server
 *   told (possibly none), or %NULL on failure
 */
GArray *
td_backend_move_finish (TdBackend *self, GAsyncResult *result, gboolean *expunged,
                        GError **error)
{
  GArray *moved;

  *expunged = FALSE;
  if (call_was_refused (result, td_backend_move_async, error)
      || (moved = TD_BACKEND_GET_CLASS (self)->move_finish (self, result, expunged, error))
           == NULL)
    return NULL;
  td_durable_step ("server: move done");
  return moved;
}

/**
 * td_backend_create_folder_async:
 * @self: a backend
 * @name: the folder (decoded)
 * @create: %TRUE to create and subscribe it, %FALSE to delete it
 * @cancellable: (nullable): a cancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Creates or deletes a folder on the server (optional: %TD_BACKEND_CAP_CREATE_FOLDER).
 */
void
td_backend_create_folder_async (TdBackend *self, const char *name, gboolean create,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data)
{
  g_return_if_fail (TD_IS_BACKEND (self));
  g_return_if_fail (name != NULL);
  CallClosure *c = call_begin (self, callback, user_data, td_backend_create_folder_async);
  if (c != NULL)
    TD_BACKEND_GET_CLASS (self)->create_folder_async (self, name, create, cancellable, call_done,
                                                      c);
}

gboolean
td_backend_create_folder_finish (TdBackend *self, GAsyncResult *result, GError **error)
{
  if (call_was_refused (result, td_backend_create_folder_async, error)
      || !TD_BACKEND_GET_CLASS (self)->create_folder_finish (self, result, error))
    return FALSE;
  td_durable_step ("server: create folder done");
  return TRUE;
}

/**
 * td_backend_hash_headers_async:
 * @self: a backend
 * @uids: (element-type TdUidRange): the messages
 * @cancellable: (nullable): a cancellable
 * @callback: called with the hashes
 * @user_data: data for @callback
 *
 * Hashes each message's header without downloading its body (optional; the default says
 * TD_ERROR_NOT_SUPPORTED).
 */
void
td_backend_hash_headers_async (TdBackend *self, GArray *uids, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (TD_IS_BACKEND (self));
  g_return_if_fail (uids != NULL);
  CallClosure *c = call_begin (self, callback, user_data, td_backend_hash_headers_async);
  if (c != NULL)
    TD_BACKEND_GET_CLASS (self)->hash_headers_async (self, uids, cancellable, call_done, c);
}

/**
 * td_backend_hash_headers_finish:
 * @self: a backend
 * @result: the result
 * @error: return location for an error
 *
 * Returns: (transfer full) (nullable) (element-type TdMessageInfo): uid, size and header_hash
 *   of each message
 */
GArray *
td_backend_hash_headers_finish (TdBackend *self, GAsyncResult *result, GError **error)
{
  if (call_was_refused (result, td_backend_hash_headers_async, error))
    return NULL;
  return TD_BACKEND_GET_CLASS (self)->hash_headers_finish (self, result, error);
}

/**
 * td_backend_get_watch_limit:
 * @self: a connected backend
 *
 * Returns: how many folders one connection can watch at once (IMAP IDLE: 1; NOTIFY: many),
 *   or 0 when the server cannot tell of changes at all
 */
guint
td_backend_get_watch_limit (TdBackend *self)
{
  g_return_val_if_fail (TD_IS_BACKEND (self), 0);
  return TD_BACKEND_GET_CLASS (self)->get_watch_limit (self);
}

/**
 * td_backend_watch_async:
 * @self: a connected backend
 * @folders: (array zero-terminated=1): folders (decoded names, as listed), at most
 *   td_backend_get_watch_limit() of them
 * @cancellable: (nullable): stops watching (and drops the connection)
 * @callback: called once the server has reported a change
 * @user_data: data for @callback
 *
 * Waits, without a time limit, until the server reports that one of @folders changed. Call
 * again to go on watching; the backend keeps what it needs (the selected folder) between
 * calls. The first call for a folder answers as soon as the watch is set up, with the
 * folder: what changed before then is unknown, so the caller should look.
 */
void
td_backend_watch_async (TdBackend *self, const char *const *folders, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (TD_IS_BACKEND (self));
  g_return_if_fail (folders != NULL && folders[0] != NULL);
  CallClosure *c = call_begin (self, callback, user_data, td_backend_watch_async);
  if (c != NULL)
    TD_BACKEND_GET_CLASS (self)->watch_async (self, folders, cancellable, call_done, c);
}

/**
 * td_backend_watch_finish:
 * @self: a backend
 * @result: the result
 * @error: return location for an error
 *
 * Returns: (transfer full): the folders that changed (some of those watched)
 */
char **
td_backend_watch_finish (TdBackend *self, GAsyncResult *result, GError **error)
{
  if (call_was_refused (result, td_backend_watch_async, error))
    return NULL;
  return TD_BACKEND_GET_CLASS (self)->watch_finish (self, result, error);
}

/**
 * td_backend_disconnect_async:
 * @self: a backend
 * @cancellable: (nullable): a cancellable
 * @callback: called when the connection is closed
 * @user_data: data for @callback
 *
 * Logs out politely and closes the connection.
 */
void
td_backend_disconnect_async (TdBackend *self, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (TD_IS_BACKEND (self));
  CallClosure *c = call_begin (self, callback, user_data, td_backend_disconnect_async);
  if (c != NULL)
    TD_BACKEND_GET_CLASS (self)->disconnect_async (self, cancellable, call_done, c);
}

gboolean
td_backend_disconnect_finish (TdBackend *self, GAsyncResult *result, GError **error)
{
  if (call_was_refused (result, td_backend_disconnect_async, error))
    return FALSE;
  return TD_BACKEND_GET_CLASS (self)->disconnect_finish (self, result, error);
}

/**
 * td_backend_survey_folders_async:
 * @self: a connected backend
 * @queries: (element-type TdFolderQuery): the folders to open, with what the last sync knew
 * @cancellable: (nullable): a cancellable
 * @callback: called with a #TdFolderSurvey per query
 * @user_data: data for @callback
 *
 * Opens every folder of @queries, as pipelined as the server allows, and reports each one's
 * state and changes. A folder that cannot be opened fails alone, in its survey; the call
 * fails only when the connection does. No folder is open afterwards.
 */
void
td_backend_survey_folders_async (TdBackend *self, GPtrArray *queries, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (TD_IS_BACKEND (self));
  g_return_if_fail (queries != NULL);
  CallClosure *c = call_begin (self, callback, user_data, td_backend_survey_folders_async);
  if (c != NULL)
    TD_BACKEND_GET_CLASS (self)->survey_folders_async (self, queries, cancellable, call_done, c);
}

/**
 * td_backend_survey_folders_finish:
 * @self: a backend
 * @result: the result
 * @error: return location for an error that ended the whole round
 *
 * Returns: (transfer full) (element-type TdFolderSurvey): one per query, in order
 */
GPtrArray *
td_backend_survey_folders_finish (TdBackend *self, GAsyncResult *result, GError **error)
{
  if (call_was_refused (result, td_backend_survey_folders_async, error))
    return NULL;
  return TD_BACKEND_GET_CLASS (self)->survey_folders_finish (self, result, error);
}

/**
 * td_backend_work_folders_async:
 * @self: a connected backend
 * @work: (element-type TdFolderWork): what to do in each folder, in order
 * @cancellable: (nullable): a cancellable
 * @callback: called when every folder's work is done or failed
 * @user_data: data for @callback
 *
 * Opens each folder of @work again (failing it if its UIDVALIDITY is not the planned one),
 * stores its flags and downloads its messages into its sink, as pipelined as the server
 * allows. A folder's failure is kept in its work; the call fails only when the connection
 * does. No folder is open afterwards.
 */
void
td_backend_work_folders_async (TdBackend *self, GPtrArray *work, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (TD_IS_BACKEND (self));
  g_return_if_fail (work != NULL);
  CallClosure *c = call_begin (self, callback, user_data, td_backend_work_folders_async);
  if (c != NULL)
    TD_BACKEND_GET_CLASS (self)->work_folders_async (self, work, cancellable, call_done, c);
}

gboolean
td_backend_work_folders_finish (TdBackend *self, GAsyncResult *result, GError **error)
{
  if (call_was_refused (result, td_backend_work_folders_async, error))
    return FALSE;
  return TD_BACKEND_GET_CLASS (self)->work_folders_finish (self, result, error);
}
