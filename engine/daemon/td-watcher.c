/* td-watcher.c: TdWatcher, push for one account. See td-watcher.h. */
#include "engine/daemon/td-watcher.h"

#include "storage/td-folder-map.h"
#include "engine/backend/td-credentials.h"
#include "engine/common/td-error.h"

/* One connection; reference-counted (g_rc_box), since a call under way outlives a stop. */
typedef struct
{
  TdWatcher *owner;  /* a reference */
  GCancellable *run; /* the run it belongs to */
  TdBackend *backend;
  GPtrArray *folders;  /* the server's names, decoded; NULL-terminated */
  GHashTable *display; /* server name -> the Maildir's name */
} Conn;

struct _TdWatcher
{
  GObject parent_instance;
  TdAccountConfig *account;
  TdPluginRegistry *registry;
  GCancellable *cancellable; /* of the current run; NULL when stopped */
  TdBackend *lister;         /* the first connection, while it lists the folders */
  GPtrArray *conns;          /* Conn */
  gboolean one_each;         /* the server refused to watch several folders on one connection */
};

G_DEFINE_FINAL_TYPE (TdWatcher, td_watcher, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHANGED,
  SIGNAL_LOST,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
conn_clear (Conn *conn)
{
  g_clear_object (&conn->backend);
  g_clear_object (&conn->run);
  g_clear_object (&conn->owner);
  g_ptr_array_unref (conn->folders);
  g_hash_table_unref (conn->display);
}

static void
conn_release (Conn *conn)
{
  g_rc_box_release_full (conn, (GDestroyNotify) conn_clear);
}

/* Ends the run after a failure; quiet when it was stopped on purpose. */
static void
fail (TdWatcher *self, GCancellable *run, GError *error)
{
  if (run != self->cancellable || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_error_free (error);
      return;
    }
  if (g_error_matches (error, TD_ERROR, TD_ERROR_NOT_SUPPORTED) && !self->one_each)
    {
      /* NOTIFY refused: start again with one folder per connection (IDLE). */
      g_debug ("account %s: %s; watching one folder per connection", self->account->name,
               error->message);
      g_error_free (error);
      self->one_each = TRUE;
      td_watcher_stop (self);
      td_watcher_start (self);
      return;
    }
  g_message ("account %s: push stopped: %s", self->account->name, error->message);
  g_error_free (error);
  td_watcher_stop (self);
  g_signal_emit (self, signals[SIGNAL_LOST], 0);
}

static void watch (Conn *conn);

static void
watched (GObject *source, GAsyncResult *result, gpointer data)
{
  Conn *conn = data;
  TdWatcher *self = conn->owner;
  GError *error = NULL;
  g_auto (GStrv) changed = td_backend_watch_finish (TD_BACKEND (source), result, &error);

  if (changed == NULL)
    fail (self, conn->run, error);
  else if (conn->run == self->cancellable)
    {
      for (guint i = 0; changed[i] != NULL; i++)
        {
          const char *display = g_hash_table_lookup (conn->display, changed[i]);
          if (display == NULL)
            continue;
          g_debug ("account %s: the server reports a change in %s", self->account->name,
                   display);
          g_signal_emit (self, signals[SIGNAL_CHANGED], 0, display);
        }
      watch (conn);
    }
  conn_release (conn);
}

static void
watch (Conn *conn)
{
  td_backend_watch_async (conn->backend, (const char *const *) conn->folders->pdata, conn->run,
                          watched, g_rc_box_acquire (conn));
}

static void
conn_logged_in (GObject *source, GAsyncResult *result, gpointer data)
{
  Conn *conn = data;
  GError *error = NULL;

  if (!td_credentials_log_in_finish (result, NULL, &error))
    fail (conn->owner, conn->run, error);
  else if (conn->run == conn->owner->cancellable)
    watch (conn);
  conn_release (conn);
}

static Conn *
add_conn (TdWatcher *self, TdBackend *backend)
{
  Conn *conn = g_rc_box_new0 (Conn);

  conn->owner = g_object_ref (self);
  conn->run = g_object_ref (self->cancellable);
  conn->backend = backend;
  conn->folders = g_ptr_array_new_null_terminated (1, g_free, TRUE);
  conn->display = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_ptr_array_add (self->conns, conn);
  return conn;
}

static void
conn_add_folder (Conn *conn, const TdFolderInfo *info, const char *display)
{
  char *name = g_strdup (info->name);

  g_ptr_array_add (conn->folders, name);
  g_hash_table_insert (conn->display, name, g_strdup (display));
}

static gboolean
wants_pushed (TdWatcher *self, const char *display)
{
  if (!td_account_config_wants_folder (self->account, display))
    return FALSE;
  for (guint i = 0; self->account->watch != NULL && self->account->watch[i] != NULL; i++)
    if (g_pattern_match_simple (self->account->watch[i], display))
      return TRUE;
  return FALSE;
}

static void
listed (GObject *source, GAsyncResult *result, gpointer data)
{
  TdWatcher *self = data;
  GError *error = NULL;
  g_autoptr (GPtrArray) folders = td_backend_list_folders_finish (TD_BACKEND (source), result,
                                                                  &error);
  GCancellable *run = g_object_get_data (source, "td-run");
  g_autoptr (TdBackend) first = NULL;

  if (folders == NULL)
    {
      fail (self, run, error);
      return;
    }
  if (run != self->cancellable || source != (GObject *) self->lister)
    return; /* stopped meanwhile */
  first = g_steal_pointer (&self->lister);
  guint limit = td_backend_get_watch_limit (first);
  if (limit == 0)
    {
      g_message ("account %s: the server cannot push changes (no IDLE); syncing every %u "
                 "seconds instead", self->account->name, self->account->poll_interval_seconds);
      return;
    }
  if (self->one_each)
    limit = 1;
  g_autoptr (GPtrArray) conns = g_ptr_array_new ();
  for (guint i = 0; i < folders->len; i++)
    {
      TdFolderInfo *info = g_ptr_array_index (folders, i);
      g_autofree char *display = td_folder_map_display (info->name, info->delimiter);
      Conn *conn = conns->len ? g_ptr_array_index (conns, conns->len - 1) : NULL;
      if (!info->selectable || !wants_pushed (self, display))
        continue;
      if (conn == NULL || conn->folders->len == limit)
        {
          if (conns->len == TD_WATCHER_MAX_CONNECTIONS)
            {
              g_message ("account %s: `watch` takes in more than %u folders; the others are "
                         "synced every %u seconds", self->account->name,
                         TD_WATCHER_MAX_CONNECTIONS * limit, self->account->poll_interval_seconds);
              break;
            }
          conn = add_conn (self, conns->len == 0 ? g_steal_pointer (&first) : NULL);
          g_ptr_array_add (conns, conn);
        }
      conn_add_folder (conn, info, display);
    }
  if (first != NULL)
    td_backend_disconnect_async (first, NULL, NULL, NULL);
  /* The first connection is the one that listed; the others log in first. */
  for (guint i = 0; i < conns->len; i++)
    {
      Conn *conn = g_ptr_array_index (conns, i);
      if (conn->backend != NULL)
        {
          watch (conn);
          continue;
        }
      g_autoptr (GError) e = NULL;
      conn->backend = td_plugin_registry_create_backend (self->registry, self->account, &e);
      if (conn->backend == NULL)
        {
          fail (self, self->cancellable, g_steal_pointer (&e));
          return;
        }
      td_credentials_log_in_async (conn->backend, self->cancellable, conn_logged_in,
                                   g_rc_box_acquire (conn));
    }
}

static void
lister_logged_in (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TdBackend) lister = data;
  TdWatcher *self = g_object_get_data (G_OBJECT (lister), "td-watcher");
  GCancellable *run = g_object_get_data (G_OBJECT (lister), "td-run");
  GError *error = NULL;

  if (!td_credentials_log_in_finish (result, NULL, &error))
    fail (self, run, error);
  else if (run == self->cancellable && lister == self->lister)
    td_backend_list_folders_async (lister, run, listed, self);
}

/**
 * td_watcher_start:
 * @self: a watcher
 *
 * Connects, lists the folders, and watches those the account's `watch` patterns take in.
 * Does nothing while already running.
 */
void
td_watcher_start (TdWatcher *self)
{
  g_autoptr (GError) error = NULL;

  if (self->cancellable != NULL)
    return;
  if (self->account->watch == NULL || self->account->watch[0] == NULL)
    return;
  self->lister = td_plugin_registry_create_backend (self->registry, self->account, &error);
  if (self->lister == NULL)
    return;
  if (!(td_backend_get_caps (self->lister) & TD_BACKEND_CAP_FOLDERS))
    {
      g_clear_object (&self->lister); /* a POP3 mailbox is polled */
      return;
    }
  self->cancellable = g_cancellable_new ();
  g_object_set_data_full (G_OBJECT (self->lister), "td-run", g_object_ref (self->cancellable),
                          g_object_unref);
  g_object_set_data (G_OBJECT (self->lister), "td-watcher", self);
  td_credentials_log_in_async (self->lister, self->cancellable, lister_logged_in,
                               g_object_ref (self->lister));
}

/**
 * td_watcher_stop:
 * @self: a watcher
 *
 * Drops every connection. Quiet: no "lost".
 */
void
td_watcher_stop (TdWatcher *self)
{
  if (self->cancellable == NULL)
    return;
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  /* A backend with a call under way is kept alive by that call until it ends. */
  g_ptr_array_set_size (self->conns, 0);
  g_clear_object (&self->lister);
}

gboolean
td_watcher_is_running (TdWatcher *self)
{
  return self->cancellable != NULL;
}

static void
td_watcher_finalize (GObject *object)
{
  TdWatcher *self = TD_WATCHER (object);

  td_watcher_stop (self);
  g_ptr_array_unref (self->conns);
  g_clear_object (&self->registry);
  td_account_config_unref (self->account);
  G_OBJECT_CLASS (td_watcher_parent_class)->finalize (object);
}

static void
td_watcher_class_init (TdWatcherClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = td_watcher_finalize;
  /* (const char *folder): the server reports a change there */
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* A connection failed; the watcher has stopped. */
  signals[SIGNAL_LOST] = g_signal_new ("lost", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                       NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
td_watcher_init (TdWatcher *self)
{
  self->conns = g_ptr_array_new_with_free_func ((GDestroyNotify) conn_release);
}

/**
 * td_watcher_new:
 * @account: the account
 * @registry: where backends come from
 *
 * Returns: (transfer full): a watcher, not yet started
 */
TdWatcher *
td_watcher_new (TdAccountConfig *account, TdPluginRegistry *registry)
{
  TdWatcher *self = g_object_new (TD_TYPE_WATCHER, NULL);

  self->account = td_account_config_ref (account);
  self->registry = g_object_ref (registry);
  return self;
}
