/* td-dbus-service.c: TdDBusService, the daemon's D-Bus face. See td-dbus-service.h. */
#include "engine/daemon/td-dbus-service.h"

#include <stdlib.h>
#include <string.h>

#include "engine/daemon/td-dbus-generated.h"
#include "storage/td-maildir.h"
#include "engine/common/td-error.h"
#include "engine/daemon/td-mail-summary.h"

/* Progress signals per account, at most one per this many microseconds (and the last one). */
#define PROGRESS_INTERVAL_US (200 * 1000)
/* New messages a desktop notice lists by sender and subject. */
#define NOTICE_MAX_LINES 5

typedef struct
{
  guint total;
  guint unseen;
  char *path;
} FolderCount;

typedef struct
{
  TdDBusService *owner; /* borrowed */
  TdAccountConfig *account;
  char *path;
  TdDBusObjectSkeleton *object;
  TdDBusAccount *iface;
  GHashTable *folders; /* display name -> FolderCount */
  GHashTable *special; /* display name -> its special uses ("trash"), as the server said */
  gint64 last_progress;
} AccountObject;

struct _TdDBusService
{
  GObject parent_instance;
  TdConfig *config;
  TdScheduler *scheduler;
  GDBusConnection *connection;
  TdDBusEngine *engine;
  GDBusObjectManagerServer *manager;
  GHashTable *accounts; /* name -> AccountObject */
  gulong handlers[4];
  GHashTable *notices;  /* notification id -> account name: the notices shown, for a click */
  guint action_subscription;
};

G_DEFINE_FINAL_TYPE (TdDBusService, td_dbus_service, G_TYPE_OBJECT)

static void
folder_count_free (FolderCount *count)
{
  g_free (count->path);
  g_free (count);
}

static void
account_object_free (AccountObject *a)
{
  g_clear_object (&a->iface);
  g_clear_object (&a->object);
  g_hash_table_unref (a->folders);
  g_hash_table_unref (a->special);
  td_account_config_unref (a->account);
  g_free (a->path);
  g_free (a);
}

/**
 * td_dbus_account_path:
 * @account: an account name
 *
 * Returns: (transfer full): the object path of the account's object
 */
char *
td_dbus_account_path (const char *account)
{
  g_autofree char *escaped = g_dbus_escape_object_path (account);
  return g_strconcat (TD_DBUS_PATH "/account/", escaped, NULL);
}

/**
 * td_dbus_name_has_owner:
 * @bus: the session bus
 * @error: return location for an error
 *
 * Returns: whether a daemon has TD_DBUS_NAME on @bus; %FALSE with @error set when the bus
 *   did not answer. Never starts the daemon.
 */
gboolean
td_dbus_name_has_owner (GDBusConnection *bus, GError **error)
{
  g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
    bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
    "NameHasOwner", g_variant_new ("(s)", TD_DBUS_NAME), G_VARIANT_TYPE ("(b)"),
    G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
  gboolean owned = FALSE;

  if (reply != NULL)
    g_variant_get (reply, "(b)", &owned);
  return owned;
}

/* Errors on the bus carry their documented names; anything from another domain is said as
 * the nearest class. */
static void
return_error (GDBusMethodInvocation *invocation, const GError *error)
{
  if (error->domain == TD_ERROR)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    g_dbus_method_invocation_return_dbus_error (invocation, td_error_dbus_name (error),
                                                error->message);
}

/* Properties */

static void
update_state (AccountObject *a)
{
  TdScheduler *s = a->owner->scheduler;
  const char *name = a->account->name;
  const char *error = td_scheduler_get_last_error (s, name);

  td_dbus_account_set_state (a->iface, td_account_state_to_string (td_scheduler_get_state (s, name)));
  td_dbus_account_set_last_sync (a->iface, td_scheduler_get_last_sync (s, name));
  td_dbus_account_set_last_error (a->iface, error != NULL ? error : "");
}

/* INBOX first, then by name: the order `tidings status` and a GNOME panel show them in. */
static int
folder_order (gconstpointer a, gconstpointer b)
{
  const char *x = *(const char *const *) a, *y = *(const char *const *) b;
  gboolean xi = g_str_equal (x, "INBOX"), yi = g_str_equal (y, "INBOX");

  if (xi != yi)
    return xi ? -1 : 1;
  return g_utf8_collate (x, y);
}

static void
update_counts (AccountObject *a)
{
  GVariantBuilder b;
  guint n = 0, unread = 0;
  g_autofree const char **names = (const char **) g_hash_table_get_keys_as_array (a->folders, &n);

  qsort (names, n, sizeof *names, folder_order);
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{s(uu)}"));
  for (guint i = 0; i < n; i++)
    {
      const FolderCount *count = g_hash_table_lookup (a->folders, names[i]);
      g_variant_builder_add (&b, "{s(uu)}", names[i], count->total, count->unseen);
      unread += count->unseen;
    }
  td_dbus_account_set_folders (a->iface, g_variant_builder_end (&b));
  td_dbus_account_set_unread_count (a->iface, unread);
}

/* The special uses the report's folders have, over what earlier syncs said of the others
 * (a sync of one folder says nothing of the rest). */
static void
update_special (AccountObject *a, const TdAccountReport *report)
{
  GVariantBuilder b;
  guint n = 0;

  for (guint i = 0; i < report->folders->len; i++)
    {
      const TdFolderReport *f = g_ptr_array_index (report->folders, i);
      char *s = td_special_use_to_string (f->special);
      if (s != NULL)
        g_hash_table_replace (a->special, g_strdup (f->name), s);
      else
        g_hash_table_remove (a->special, f->name);
    }
  g_autofree const char **names = (const char **) g_hash_table_get_keys_as_array (a->special, &n);
  qsort (names, n, sizeof *names, folder_order);
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{ss}"));
  for (guint i = 0; i < n; i++)
    g_variant_builder_add (&b, "{ss}", names[i],
                           (const char *) g_hash_table_lookup (a->special, names[i]));
  td_dbus_account_set_special_folders (a->iface, g_variant_builder_end (&b));
}

/* Methods */

typedef struct
{
  GDBusMethodInvocation *invocation;
  char *folder; /* SyncFolder's, nullable */
} Call;

static void
call_free (Call *call)
{
  g_object_unref (call->invocation);
  g_free (call->folder);
  g_free (call);
}

static void
account_sync_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Call *call = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) summary = td_scheduler_request_finish (TD_SCHEDULER (source), result,
                                                              &error);
  guint folders = 0;

  if (summary == NULL)
    return_error (call->invocation, error);
  else if (call->folder != NULL && g_variant_lookup (summary, "folders", "u", &folders)
           && folders == 0)
    g_dbus_method_invocation_return_error (call->invocation, G_DBUS_ERROR,
                                           G_DBUS_ERROR_INVALID_ARGS,
                                           "the server has no folder “%s” to sync",
                                           call->folder);
  else
    g_dbus_method_invocation_return_value (call->invocation,
                                           g_variant_new ("(@a{sv})", summary));
  call_free (call);
}

static gboolean
on_account_sync (TdDBusAccount *iface, GDBusMethodInvocation *invocation, AccountObject *a)
{
  Call *call = g_new0 (Call, 1);

  call->invocation = g_object_ref (invocation);
  td_scheduler_request_async (a->owner->scheduler, a->account->name, NULL,
                              TD_SYNC_REASON_REQUEST, NULL, account_sync_done, call);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Why @folder cannot be a folder of the account, or NULL when it can. */
static const char *
refuse_folder (AccountObject *a, const char *folder)
{
  if (*folder == '\0')
    return "the folder name is empty";
  if (strlen (folder) > TD_DBUS_MAX_FOLDER_NAME)
    return "the folder name is too long";
  for (const char *p = folder; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return "the folder name contains a control character";
  if (!g_hash_table_contains (a->folders, folder)
      && !td_account_config_wants_folder (a->account, folder))
    return "the account does not sync a folder of that name";
  return NULL;
}

static gboolean
on_account_sync_folder (TdDBusAccount *iface, GDBusMethodInvocation *invocation,
                        const char *folder, AccountObject *a)
{
  const char *refused = refuse_folder (a, folder);

  if (refused != NULL)
    {
      g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                             "account %s: %s", a->account->name, refused);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  Call *call = g_new0 (Call, 1);
  call->invocation = g_object_ref (invocation);
  call->folder = g_strdup (folder);
  td_scheduler_request_async (a->owner->scheduler, a->account->name, folder,
                              TD_SYNC_REASON_REQUEST, NULL, account_sync_done, call);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

typedef struct
{
  GDBusMethodInvocation *invocation;
  TdDBusEngine *engine;
  guint pending;
} EngineSync;

/* Answers the call once the last account's run has ended. */
static void
engine_sync_release (EngineSync *sync)
{
  if (--sync->pending > 0)
    return;
  td_dbus_engine_complete_sync (sync->engine, sync->invocation);
  g_object_unref (sync->invocation);
  g_object_unref (sync->engine);
  g_free (sync);
}

static void
engine_sync_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GVariant) summary = td_scheduler_request_finish (TD_SCHEDULER (source), result,
                                                              NULL);
  engine_sync_release (data);
}

static gboolean
on_engine_sync (TdDBusEngine *engine, GDBusMethodInvocation *invocation, TdDBusService *self)
{
  EngineSync *sync = g_new0 (EngineSync, 1);

  sync->invocation = g_object_ref (invocation);
  sync->engine = g_object_ref (engine);
  sync->pending = 1; /* held while the requests go out */
  for (guint i = 0; i < self->config->accounts->len; i++)
    {
      TdAccountConfig *account = g_ptr_array_index (self->config->accounts, i);
      sync->pending++;
      td_scheduler_request_async (self->scheduler, account->name, NULL, TD_SYNC_REASON_REQUEST,
                                  NULL, engine_sync_done, sync);
    }
  engine_sync_release (sync);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_engine_pause (TdDBusEngine *engine, GDBusMethodInvocation *invocation, TdDBusService *self)
{
  td_scheduler_set_paused (self->scheduler, TRUE);
  td_dbus_engine_set_paused (engine, TRUE);
  td_dbus_engine_complete_pause (engine, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_engine_resume (TdDBusEngine *engine, GDBusMethodInvocation *invocation, TdDBusService *self)
{
  td_scheduler_set_paused (self->scheduler, FALSE);
  td_dbus_engine_set_paused (engine, FALSE);
  td_dbus_engine_complete_resume (engine, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Scheduler events */

static void
on_state_changed (TdScheduler *scheduler, const char *account, TdDBusService *self)
{
  AccountObject *a = g_hash_table_lookup (self->accounts, account);
  if (a != NULL)
    update_state (a);
}

static void
on_sync_started (TdScheduler *scheduler, const char *account, int reason, TdDBusService *self)
{
  AccountObject *a = g_hash_table_lookup (self->accounts, account);
  if (a != NULL)
    td_dbus_engine_emit_sync_started (self->engine, a->path, td_sync_reason_to_string (reason));
}

static void
on_progress (TdScheduler *scheduler, const TdSyncProgress *p, TdDBusService *self)
{
  AccountObject *a = g_hash_table_lookup (self->accounts, p->account);
  gint64 now = g_get_monotonic_time ();

  /* A folder's end is in its summary; Progress is for downloads under way. */
  if (a == NULL || p->folder_done
      || (now - a->last_progress < PROGRESS_INTERVAL_US && p->messages < p->messages_total))
    return;
  a->last_progress = now;
  td_dbus_account_emit_progress (a->iface, p->folder, p->messages, p->messages_total, p->bytes,
                                 p->bytes_total);
  if (p->run_messages_total > 0)
    td_dbus_account_emit_run_progress (a->iface, p->folder, p->folder_index, p->folder_count,
                                       p->run_messages, p->run_messages_total, p->run_bytes,
                                       p->run_bytes_total);
}

/* What the thread reads for one folder after a sync. */
typedef struct
{
  char *name;
  char *path;
  guint added_unseen;
  gboolean backfill;    /* the folder's first sync: no desktop notice for what it brought */
  GPtrArray *files;     /* new message files, nullable */
  gboolean recount;
  gboolean counted;
  guint total, unseen;
  GVariant *messages;   /* a(ss), filled by the thread */
} FolderWork;

typedef struct
{
  TdDBusService *self;
  char *account;
  GPtrArray *folders; /* FolderWork */
} FinishedWork;

static void
folder_work_free (FolderWork *w)
{
  g_free (w->name);
  g_free (w->path);
  g_clear_pointer (&w->files, g_ptr_array_unref);
  g_clear_pointer (&w->messages, g_variant_unref);
  g_free (w);
}

static void
finished_work_free (FinishedWork *w)
{
  g_object_unref (w->self);
  g_free (w->account);
  g_ptr_array_unref (w->folders);
  g_free (w);
}

static void
read_folders_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  FinishedWork *work = data;

  for (guint i = 0; i < work->folders->len; i++)
    {
      FolderWork *w = g_ptr_array_index (work->folders, i);
      GVariantBuilder b;

      if (w->recount && w->path != NULL)
        w->counted = td_maildir_count (w->path, &w->total, &w->unseen);
      g_variant_builder_init (&b, G_VARIANT_TYPE ("a(ss)"));
      for (guint j = 0; w->files != NULL && j < w->files->len; j++)
        {
          g_autofree char *subject = NULL, *sender = NULL;
          td_mail_summary_read (g_ptr_array_index (w->files, j), &subject, &sender);
          g_variant_builder_add (&b, "(ss)", subject, sender);
        }
      w->messages = g_variant_ref_sink (g_variant_builder_end (&b));
    }
  g_task_return_boolean (task, TRUE);
}

static void notify_desktop (TdDBusService *self, AccountObject *a, FinishedWork *work);

static void
folders_read (GObject *source, GAsyncResult *result, gpointer data)
{
  FinishedWork *work = g_task_get_task_data (G_TASK (result));
  TdDBusService *self = work->self;
  AccountObject *a = g_hash_table_lookup (self->accounts, work->account);

  if (a == NULL || self->connection == NULL)
    return;
  for (guint i = 0; i < work->folders->len; i++)
    {
      FolderWork *w = g_ptr_array_index (work->folders, i);
      if (w->counted)
        {
          FolderCount *count = g_new0 (FolderCount, 1);
          count->total = w->total;
          count->unseen = w->unseen;
          count->path = g_strdup (w->path);
          g_hash_table_replace (a->folders, g_strdup (w->name), count);
        }
      if (w->added_unseen > 0)
        td_dbus_engine_emit_new_mail (self->engine, a->path, w->name, w->added_unseen,
                                      w->messages);
    }
  update_counts (a);
  if (a->account->notify)
    notify_desktop (self, a, work);
}

static void
emit_errors (TdDBusService *self, AccountObject *a, const TdAccountReport *report)
{
  if (report->error != NULL && !g_error_matches (report->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    td_dbus_engine_emit_error (self->engine, a->path, "", td_error_dbus_name (report->error),
                               report->error->message);
  for (guint i = 0; i < report->folders->len; i++)
    {
      const TdFolderReport *f = g_ptr_array_index (report->folders, i);
      if (f->error != NULL)
        td_dbus_engine_emit_error (self->engine, a->path, f->name, td_error_dbus_name (f->error),
                                   f->error->message);
    }
}

static void
on_sync_finished (TdScheduler *scheduler, const char *account, const TdAccountReport *report,
                  TdDBusService *self)
{
  AccountObject *a = g_hash_table_lookup (self->accounts, account);

  if (a == NULL)
    return;
  td_dbus_engine_emit_sync_finished (self->engine, a->path, td_account_report_summarize (report));
  emit_errors (self, a, report);
  update_state (a);
  update_special (a, report);

  FinishedWork *work = g_new0 (FinishedWork, 1);
  work->self = g_object_ref (self);
  work->account = g_strdup (account);
  work->folders = g_ptr_array_new_with_free_func ((GDestroyNotify) folder_work_free);
  for (guint i = 0; i < report->folders->len; i++)
    {
      const TdFolderReport *f = g_ptr_array_index (report->folders, i);
      if (f->error != NULL || f->path == NULL)
        continue;
      FolderWork *w = g_new0 (FolderWork, 1);
      w->name = g_strdup (f->name);
      w->path = g_strdup (f->path);
      w->added_unseen = f->added_unseen;
      w->backfill = f->first_sync;
      w->files = f->new_files != NULL ? g_ptr_array_ref (f->new_files) : NULL;
      /* Counting reads the directories: only where something may have changed. */
      w->recount = !f->unchanged || !g_hash_table_contains (a->folders, f->name);
      g_ptr_array_add (work->folders, w);
    }
  g_autoptr (GTask) task = g_task_new (self, NULL, folders_read, NULL);
  g_task_set_task_data (task, work, (GDestroyNotify) finished_work_free);
  g_task_run_in_thread (task, read_folders_thread);
}

/* Desktop notices: one per account and sync, through org.freedesktop.Notifications; none
 * for a folder's first sync. */

/* Notices whose click is still answered. */
#define NOTICES_KEPT 64

typedef struct
{
  TdDBusService *self;  /* owned */
  char *account;
} NoticeCall;

static void
notified (GObject *source, GAsyncResult *result, gpointer data)
{
  NoticeCall *call = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result,
                                                              &error);
  guint32 id = 0;

  if (reply == NULL)
    g_debug ("no desktop notice of new mail: %s", error->message);
  else
    {
      g_variant_get (reply, "(u)", &id);
      /* Only recent notices are still on screen to be clicked. */
      if (g_hash_table_size (call->self->notices) >= NOTICES_KEPT)
        g_hash_table_remove_all (call->self->notices);
      g_hash_table_replace (call->self->notices, GUINT_TO_POINTER (id),
                            g_steal_pointer (&call->account));
    }
  g_object_unref (call->self);
  g_free (call->account);
  g_free (call);
}

/* A click on one of our notices: the account's mail-reader-command, run without a shell,
 * or else NoticeActivated for a mail reader on the bus to answer. */
static void
on_notice_action (GDBusConnection *bus, const char *sender, const char *path,
                  const char *iface, const char *member, GVariant *params, gpointer data)
{
  TdDBusService *self = data;
  guint32 id = 0;
  const char *action = NULL;

  if (!g_variant_is_of_type (params, G_VARIANT_TYPE ("(us)")))
    return;
  g_variant_get (params, "(u&s)", &id, &action);
  const char *name = g_hash_table_lookup (self->notices, GUINT_TO_POINTER (id));
  AccountObject *a = name != NULL ? g_hash_table_lookup (self->accounts, name) : NULL;
  if (a == NULL || !g_str_equal (action, "default"))
    return;
  if (a->account->mail_reader_command == NULL)
    {
      td_dbus_engine_emit_notice_activated (self->engine, a->path);
      return;
    }
  g_autoptr (GError) error = NULL;
  if (!g_spawn_async (NULL, a->account->mail_reader_command, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL, NULL,
                      &error))
    g_message ("account %s: mail-reader-command cannot be run: %s", a->account->name,
               error->message);
}

static void
notify_desktop (TdDBusService *self, AccountObject *a, FinishedWork *work)
{
  g_autoptr (GString) body = g_string_new (NULL);
  guint count = 0, lines = 0;
  GVariantBuilder hints;

  for (guint i = 0; i < work->folders->len; i++)
    {
      FolderWork *w = g_ptr_array_index (work->folders, i);
      GVariantIter iter;
      const char *subject, *sender;

      /* A folder's first sync brings what was already there, not news (a new account's
       * first run would say "609 new messages"); the NewMail signal still tells. */
      if (w->backfill)
        continue;
      count += w->added_unseen;
      g_variant_iter_init (&iter, w->messages);
      while (lines < NOTICE_MAX_LINES && g_variant_iter_next (&iter, "(&s&s)", &subject, &sender))
        {
          /* Servers may read the body as markup: what a message says is escaped. */
          g_autofree char *line = g_markup_printf_escaped ("%s%s: %s", lines ? "\n" : "",
                                                           *sender ? sender : "(no sender)",
                                                           *subject ? subject : "(no subject)");
          g_string_append (body, line);
          lines++;
        }
    }
  if (count == 0)
    return;
  g_autofree char *summary = count == 1 ? g_strdup_printf ("New mail in %s", a->account->name)
                                        : g_strdup_printf ("%u new messages in %s", count,
                                                           a->account->name);
  if (count > lines && lines > 0)
    g_string_append_printf (body, "\n… and %u more", count - lines);
  g_variant_builder_init (&hints, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&hints, "{sv}", "category", g_variant_new_string ("email.arrived"));
  g_variant_builder_add (&hints, "{sv}", "desktop-entry", g_variant_new_string (TD_DBUS_NAME));
  /* "default" is the click on the notice itself (the notification spec's name for it). */
  const char *actions[] = { "default", "Open", NULL };
  NoticeCall *call = g_new0 (NoticeCall, 1);
  call->self = g_object_ref (self);
  call->account = g_strdup (a->account->name);
  g_dbus_connection_call (self->connection, "org.freedesktop.Notifications",
                          "/org/freedesktop/Notifications", "org.freedesktop.Notifications",
                          "Notify",
                          g_variant_new ("(susss^asa{sv}i)", "Tidings", 0, "mail-unread", summary,
                                         body->str, actions, &hints, -1),
                          G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL, notified,
                          call);
}

/* Exporting */

/**
 * td_dbus_service_export:
 * @self: a service
 * @connection: the session bus
 * @error: return location for an error
 *
 * Puts the objects on @connection; the bus name is for the caller to own afterwards, so a
 * client that sees the name sees the objects.
 */
gboolean
td_dbus_service_export (TdDBusService *self, GDBusConnection *connection, GError **error)
{
  g_return_val_if_fail (self->connection == NULL, FALSE);
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->engine), connection,
                                         TD_DBUS_PATH, error))
    return FALSE;
  self->connection = g_object_ref (connection);
  g_dbus_object_manager_server_set_connection (self->manager, connection);
  self->action_subscription = g_dbus_connection_signal_subscribe (
    connection, "org.freedesktop.Notifications", "org.freedesktop.Notifications",
    "ActionInvoked", "/org/freedesktop/Notifications", NULL, G_DBUS_SIGNAL_FLAGS_NONE,
    on_notice_action, self, NULL);
  return TRUE;
}

void
td_dbus_service_unexport (TdDBusService *self)
{
  if (self->connection == NULL)
    return;
  g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->engine));
  g_dbus_object_manager_server_set_connection (self->manager, NULL);
  if (self->action_subscription != 0)
    g_dbus_connection_signal_unsubscribe (self->connection, self->action_subscription);
  self->action_subscription = 0;
  g_clear_object (&self->connection);
}

/* Engine.Accounts: the account objects in the order of the configuration. */
static void
set_account_paths (TdDBusService *self)
{
  g_autoptr (GPtrArray) paths = g_ptr_array_new ();

  for (guint i = 0; i < self->config->accounts->len; i++)
    {
      TdAccountConfig *account = g_ptr_array_index (self->config->accounts, i);
      AccountObject *a = g_hash_table_lookup (self->accounts, account->name);
      if (a != NULL)
        g_ptr_array_add (paths, a->path);
    }
  g_ptr_array_add (paths, NULL);
  td_dbus_engine_set_accounts (self->engine, (const char *const *) paths->pdata);
}

static void
add_account (TdDBusService *self, TdAccountConfig *account)
{
  AccountObject *a = g_new0 (AccountObject, 1);

  a->owner = self;
  a->account = td_account_config_ref (account);
  a->path = td_dbus_account_path (account->name);
  a->folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) folder_count_free);
  a->special = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  a->object = td_dbus_object_skeleton_new (a->path);
  a->iface = td_dbus_account_skeleton_new ();
  td_dbus_account_set_name (a->iface, account->name);
  td_dbus_account_set_protocol (a->iface, account->protocol);
  update_state (a);
  update_counts (a);
  g_signal_connect (a->iface, "handle-sync", G_CALLBACK (on_account_sync), a);
  g_signal_connect (a->iface, "handle-sync-folder", G_CALLBACK (on_account_sync_folder), a);
  td_dbus_object_skeleton_set_account (a->object, a->iface);
  g_dbus_object_manager_server_export (self->manager, G_DBUS_OBJECT_SKELETON (a->object));
  g_hash_table_insert (self->accounts, account->name, a);
}

/**
 * td_dbus_service_add_account:
 * @self: a service
 * @account: an account just added to the configuration and to the scheduler
 *
 * Puts the account's object on the bus and in Engine.Accounts.
 */
void
td_dbus_service_add_account (TdDBusService *self, TdAccountConfig *account)
{
  g_return_if_fail (!g_hash_table_contains (self->accounts, account->name));
  add_account (self, account);
  set_account_paths (self);
}

/**
 * td_dbus_service_remove_account:
 * @self: a service
 * @account: the name of an account leaving the configuration
 *
 * Takes the account's object off the bus and out of Engine.Accounts.
 */
void
td_dbus_service_remove_account (TdDBusService *self, const char *account)
{
  AccountObject *a = g_hash_table_lookup (self->accounts, account);

  if (a == NULL)
    return;
  g_dbus_object_manager_server_unexport (self->manager, a->path);
  g_hash_table_remove (self->accounts, account);
  set_account_paths (self);
}

static void
td_dbus_service_dispose (GObject *object)
{
  TdDBusService *self = TD_DBUS_SERVICE (object);

  td_dbus_service_unexport (self);
  for (guint i = 0; i < G_N_ELEMENTS (self->handlers); i++)
    g_clear_signal_handler (&self->handlers[i], self->scheduler);
  G_OBJECT_CLASS (td_dbus_service_parent_class)->dispose (object);
}

static void
td_dbus_service_finalize (GObject *object)
{
  TdDBusService *self = TD_DBUS_SERVICE (object);

  g_hash_table_unref (self->accounts);
  g_hash_table_unref (self->notices);
  g_clear_object (&self->manager);
  g_clear_object (&self->engine);
  g_clear_object (&self->scheduler);
  G_OBJECT_CLASS (td_dbus_service_parent_class)->finalize (object);
}

static void
td_dbus_service_class_init (TdDBusServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = td_dbus_service_dispose;
  G_OBJECT_CLASS (klass)->finalize = td_dbus_service_finalize;
}

static void
td_dbus_service_init (TdDBusService *self)
{
  self->notices = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  self->accounts = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                          (GDestroyNotify) account_object_free);
}

/**
 * td_dbus_service_new:
 * @config: the configuration; must outlive the service
 * @scheduler: the scheduler the service drives and reports on
 *
 * Returns: (transfer full): a service, not yet on any bus
 */
TdDBusService *
td_dbus_service_new (TdConfig *config, TdScheduler *scheduler)
{
  TdDBusService *self = g_object_new (TD_TYPE_DBUS_SERVICE, NULL);

  td_error_register_dbus ();
  td_mail_summary_init ();
  self->config = config;
  self->scheduler = g_object_ref (scheduler);
  self->engine = td_dbus_engine_skeleton_new ();
  self->manager = g_dbus_object_manager_server_new (TD_DBUS_PATH);
  for (guint i = 0; i < config->accounts->len; i++)
    add_account (self, g_ptr_array_index (config->accounts, i));
  set_account_paths (self);
  td_dbus_engine_set_paused (self->engine, td_scheduler_get_paused (scheduler));
  g_signal_connect (self->engine, "handle-sync", G_CALLBACK (on_engine_sync), self);
  g_signal_connect (self->engine, "handle-pause", G_CALLBACK (on_engine_pause), self);
  g_signal_connect (self->engine, "handle-resume", G_CALLBACK (on_engine_resume), self);
  self->handlers[0] = g_signal_connect (scheduler, "state-changed", G_CALLBACK (on_state_changed), self);
  self->handlers[1] = g_signal_connect (scheduler, "sync-started", G_CALLBACK (on_sync_started), self);
  self->handlers[2] = g_signal_connect (scheduler, "progress", G_CALLBACK (on_progress), self);
  self->handlers[3] = g_signal_connect (scheduler, "sync-finished", G_CALLBACK (on_sync_finished), self);
  return self;
}
