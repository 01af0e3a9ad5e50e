/* td-engine.c: TdEngine, the daemon. See td-engine.h. */
#include "engine/daemon/td-engine.h"

#include <glib-unix.h>
#include <signal.h>
#include <string.h>

#define GOA_API_IS_SUBJECT_TO_CHANGE
#include <goa/goa.h>

#include "engine/daemon/td-dbus-service.h"
#include "engine/common/td-error.h"
#include "engine/goa/td-goa.h"
#include "engine/daemon/td-local-monitor.h"
#include "engine/daemon/td-scheduler.h"
#include "engine/daemon/td-watcher.h"

struct _TdEngine
{
  GApplication parent_instance;
  TdConfig *config; /* owned */
  TdPluginRegistry *registry;
  TdScheduler *scheduler;
  TdDBusService *service;
  GHashTable *watchers; /* account name -> TdWatcher */
  GHashTable *monitors; /* account name -> TdLocalMonitor */
  GNetworkMonitor *network;
  gulong network_handler;
  GDBusConnection *system_bus;
  guint sleep_subscription;
  GDBusConnection *session_bus; /* for the keyring's signals */
  guint keyring_subscription;
  guint keyring_timer;
  GoaClient *goa;        /* GNOME Online Accounts, with goa = true and once it answered */
  GCancellable *goa_cancellable;
  guint reload_timer;    /* a burst of GOA changes is taken in once */
  gboolean goa_changed;  /* ...and one of them may be a sign-in the user renewed */
  GHashTable *warnings_said; /* the configuration's warnings, said at start or a reload */
  guint signal_sources[3];
  gboolean stopping;
  int exit_status;
};

G_DEFINE_FINAL_TYPE (TdEngine, td_engine, G_TYPE_APPLICATION)

/* How long a burst of keyring signals has to be quiet before the retry. */
#define TD_ENGINE_KEYRING_SETTLE_MS 500
/* ...and a burst of changes in GNOME Online Accounts before the accounts are loaded again. */
#define TD_ENGINE_GOA_SETTLE_MS 500

/* Push */

static void
stop_watchers (TdEngine *self)
{
  GHashTableIter iter;
  const char *name;
  TdWatcher *watcher;

  g_hash_table_iter_init (&iter, self->watchers);
  while (g_hash_table_iter_next (&iter, (gpointer *) &name, (gpointer *) &watcher))
    {
      td_watcher_stop (watcher);
      td_scheduler_set_watching (self->scheduler, name, FALSE);
    }
}

static void
on_server_change (TdWatcher *watcher, const char *folder, TdEngine *self)
{
  const char *account = g_object_get_data (G_OBJECT (watcher), "td-account");
  td_scheduler_request (self->scheduler, account, folder, TD_SYNC_REASON_SERVER);
}

/* The watch connection failed: a sync shows whether the server is still there (and catches
 * up); the watch starts again once a sync goes well. */
static void
on_watch_lost (TdWatcher *watcher, TdEngine *self)
{
  const char *account = g_object_get_data (G_OBJECT (watcher), "td-account");

  td_scheduler_set_watching (self->scheduler, account, FALSE);
  td_scheduler_request (self->scheduler, account, NULL, TD_SYNC_REASON_RETRY);
}

/* A reader changed the Maildir: send it. */
static void
on_local_change (TdLocalMonitor *monitor, const char *folder, TdEngine *self)
{
  const char *account = g_object_get_data (G_OBJECT (monitor), "td-account");
  td_scheduler_request (self->scheduler, account, folder, TD_SYNC_REASON_LOCAL);
}

static void
on_sync_started (TdScheduler *scheduler, const char *account, int reason, TdEngine *self)
{
  td_local_monitor_hold (g_hash_table_lookup (self->monitors, account));
}

static void
on_sync_finished (TdScheduler *scheduler, const char *account, const TdAccountReport *report,
                  TdEngine *self)
{
  TdWatcher *watcher = g_hash_table_lookup (self->watchers, account);
  TdLocalMonitor *monitor = g_hash_table_lookup (self->monitors, account);

  td_local_monitor_follow (monitor, report);
  td_local_monitor_release (monitor);
  if (watcher == NULL || report->error != NULL || self->stopping
      || td_scheduler_get_paused (scheduler))
    return;
  td_watcher_start (watcher);
  td_scheduler_set_watching (scheduler, account, td_watcher_is_running (watcher));
}

static void
on_paused (TdScheduler *scheduler, gboolean paused, TdEngine *self)
{
  if (paused)
    stop_watchers (self);
}

/* The server's and the Maildir's changes of @account are followed. */
static void
follow_account (TdEngine *self, TdAccountConfig *account)
{
  TdWatcher *watcher = td_watcher_new (account, self->registry);
  g_object_set_data (G_OBJECT (watcher), "td-account", account->name);
  g_signal_connect (watcher, "changed", G_CALLBACK (on_server_change), self);
  g_signal_connect (watcher, "lost", G_CALLBACK (on_watch_lost), self);
  g_hash_table_insert (self->watchers, account->name, watcher);
  TdLocalMonitor *monitor = td_local_monitor_new (self->config, account);
  g_object_set_data (G_OBJECT (monitor), "td-account", account->name);
  g_signal_connect (monitor, "changed", G_CALLBACK (on_local_change), self);
  g_hash_table_insert (self->monitors, account->name, monitor);
}

/* The world */

static void
network_changed (GNetworkMonitor *monitor, gboolean available, TdEngine *self)
{
  gboolean metered = g_network_monitor_get_network_metered (monitor);

  g_debug ("network %s%s", available ? "up" : "down", metered ? ", metered" : "");
  if (!available)
    stop_watchers (self);
  td_scheduler_set_network (self->scheduler, available, metered);
}

static void
prepare_for_sleep (GDBusConnection *bus, const char *sender, const char *path,
                   const char *iface, const char *signal, GVariant *params, gpointer data)
{
  TdEngine *self = data;
  gboolean going = FALSE;

  if (!g_variant_is_of_type (params, G_VARIANT_TYPE ("(b)")))
    return;
  g_variant_get (params, "(b)", &going);
  if (going)
    return;
  g_debug ("woke from suspend: syncing every account");
  stop_watchers (self); /* their connections did not survive the sleep */
  td_scheduler_request_all (self->scheduler, TD_SYNC_REASON_SCHEDULE);
}

/* Without a system bus (a container, a minimal server) there is no suspend to follow. */
static void
watch_sleep (TdEngine *self)
{
  g_autoptr (GError) error = NULL;

  self->system_bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, &error);
  if (self->system_bus == NULL)
    {
      g_debug ("no system bus, so no resume from suspend to watch for: %s", error->message);
      return;
    }
  self->sleep_subscription = g_dbus_connection_signal_subscribe (
    self->system_bus, "org.freedesktop.login1", "org.freedesktop.login1.Manager",
    "PrepareForSleep", "/org/freedesktop/login1", NULL, G_DBUS_SIGNAL_FLAGS_NONE,
    prepare_for_sleep, self, NULL);
}

/* The keyring: unlocked, or a password stored or changed, an account that waits for its
 * password tries again. Signals come in bursts (a collection and each of its items); one
 * retry follows the burst. */
static gboolean
keyring_settled (gpointer data)
{
  TdEngine *self = data;

  self->keyring_timer = 0;
  g_debug ("the keyring changed: accounts waiting for a password try again");
  td_scheduler_retry_needs_password (self->scheduler);
  td_scheduler_retry_needs_user (self->scheduler); /* a new OAuth2 sign-in */
  return G_SOURCE_REMOVE;
}

static void
keyring_changed (GDBusConnection *bus, const char *sender, const char *path, const char *iface,
                 const char *signal, GVariant *params, gpointer data)
{
  TdEngine *self = data;

  if (self->keyring_timer == 0)
    self->keyring_timer = g_timeout_add (TD_ENGINE_KEYRING_SETTLE_MS, keyring_settled, self);
}

static void
watch_keyring (TdEngine *self)
{
  GDBusConnection *bus = g_application_get_dbus_connection (G_APPLICATION (self));

  if (bus == NULL)
    return;
  self->session_bus = g_object_ref (bus);
  self->keyring_subscription = g_dbus_connection_signal_subscribe (
    bus, "org.freedesktop.secrets", NULL, NULL, NULL, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
    keyring_changed, self, NULL);
}

/* Accounts that come and go: GNOME Online Accounts, and the file on SIGHUP */

/* Stops following and syncing @name; its Maildir and state stay where they are. */
static void
drop_account (TdEngine *self, const char *name, gboolean changed)
{
  TdWatcher *watcher = g_hash_table_lookup (self->watchers, name);
  TdLocalMonitor *monitor = g_hash_table_lookup (self->monitors, name);

  if (changed)
    g_message ("account %s: changed; it starts over as now configured", name);
  else
    g_message ("account %s: no longer in the configuration; its Maildir stays", name);
  if (watcher != NULL)
    {
      td_watcher_stop (watcher);
      g_signal_handlers_disconnect_by_data (watcher, self);
    }
  if (monitor != NULL)
    g_signal_handlers_disconnect_by_data (monitor, self);
  td_dbus_service_remove_account (self->service, name);
  td_scheduler_remove_account (self->scheduler, name);
  g_hash_table_remove (self->watchers, name);
  g_hash_table_remove (self->monitors, name);
}

/* Takes in @fresh's accounts: the ones gone or changed are dropped, the new and changed
 * ones added (a changed one syncs under its new definition), the others go on untouched. */
static void
take_in (TdEngine *self, TdConfig *fresh)
{
  GPtrArray *old = self->config->accounts;
  g_autoptr (GPtrArray) added = g_ptr_array_new ();

  if (g_strcmp0 (fresh->state_dir, self->config->state_dir) != 0)
    g_warning ("state-dir changed: restart the daemon to use %s", fresh->state_dir);
  for (guint i = 0; i < old->len; i++)
    {
      TdAccountConfig *was = g_ptr_array_index (old, i);
      TdAccountConfig *now = td_config_find_account (fresh, was->name);
      if (now == NULL || g_strcmp0 (now->definition, was->definition) != 0)
        drop_account (self, was->name, now != NULL);
    }
  /* The new list, in the order of the file: the accounts kept are the same objects. */
  GPtrArray *accounts = g_ptr_array_new_with_free_func ((GDestroyNotify) td_account_config_unref);
  for (guint i = 0; i < fresh->accounts->len; i++)
    {
      TdAccountConfig *now = g_ptr_array_index (fresh->accounts, i);
      TdAccountConfig *was = td_config_find_account (self->config, now->name);
      if (was != NULL && g_strcmp0 (now->definition, was->definition) == 0)
        g_ptr_array_add (accounts, td_account_config_ref (was));
      else
        {
          g_ptr_array_add (accounts, td_account_config_ref (now));
          g_ptr_array_add (added, now);
        }
    }
  self->config->accounts = accounts;
  g_ptr_array_unref (old);
  for (guint i = 0; i < added->len; i++)
    {
      TdAccountConfig *account = g_ptr_array_index (added, i);
      g_message ("account %s: taken in (%s)", account->name, account->config_file);
      follow_account (self, account);
      td_scheduler_add_account (self->scheduler, account);
      td_dbus_service_add_account (self->service, account);
    }
}

static void
reload (TdEngine *self, const char *why)
{
  g_autoptr (GError) error = NULL;
  GDBusObjectManager *manager = self->goa ? goa_client_get_object_manager (self->goa) : NULL;
  g_autoptr (TdConfig) fresh = NULL;

  if (self->stopping)
    return;
  fresh = td_goa_config_load_from (self->config->path, manager, &error);
  if (fresh == NULL)
    {
      g_warning ("%s, but the configuration cannot be loaded again (%s): the accounts go on "
                 "as they were", why, error->message);
      return;
    }
  g_debug ("%s: loading the accounts again", why);
  /* Each warning is said once, not at every change GOA reports. */
  GHashTable *said = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < fresh->warnings->len; i++)
    {
      const char *warning = g_ptr_array_index (fresh->warnings, i);
      if (!g_hash_table_contains (self->warnings_said, warning))
        g_message ("%s", warning);
      g_hash_table_add (said, g_strdup (warning));
    }
  g_hash_table_unref (self->warnings_said);
  self->warnings_said = said;
  take_in (self, fresh);
}

static gboolean
goa_settled (gpointer data)
{
  TdEngine *self = data;

  self->reload_timer = 0;
  reload (self, TD_GOA_PROVIDER " changed");
  if (self->goa_changed)
    td_scheduler_retry_needs_user (self->scheduler);
  self->goa_changed = FALSE;
  return G_SOURCE_REMOVE;
}

static void
goa_account_event (GoaClient *client, GoaObject *object, TdEngine *self)
{
  self->goa_changed = TRUE;
  g_clear_handle_id (&self->reload_timer, g_source_remove);
  self->reload_timer = g_timeout_add (TD_ENGINE_GOA_SETTLE_MS, goa_settled, self);
}

static void
goa_ready (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;
  GoaClient *client = goa_client_new_finish (result, &error);
  TdEngine *self;

  if (client == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_message ("goa = true, but " TD_GOA_PROVIDER " cannot be reached (%s): its "
                   "accounts are not followed", error->message);
      return;
    }
  self = data;
  self->goa = client;
  g_signal_connect (client, "account-added", G_CALLBACK (goa_account_event), self);
  g_signal_connect (client, "account-removed", G_CALLBACK (goa_account_event), self);
  g_signal_connect (client, "account-changed", G_CALLBACK (goa_account_event), self);
  /* What changed between the command line's look and now. */
  reload (self, TD_GOA_PROVIDER " answered");
}

static gboolean
on_reload_signal (gpointer data)
{
  reload (data, "SIGHUP");
  return G_SOURCE_CONTINUE;
}

/* Stopping */

static void
stopped (GObject *source, GAsyncResult *result, gpointer data)
{
  TdEngine *self = data;

  td_scheduler_shutdown_finish (TD_SCHEDULER (source), result);
  g_debug ("every sync has stopped; exiting");
  g_application_release (G_APPLICATION (self));
  g_application_quit (G_APPLICATION (self));
}

static gboolean
on_stop_signal (gpointer data)
{
  TdEngine *self = data;

  if (!self->stopping)
    {
      self->stopping = TRUE;
      g_message ("stopping: finishing the batches in flight");
      stop_watchers (self);
      td_scheduler_shutdown_async (self->scheduler, stopped, self);
    }
  return G_SOURCE_CONTINUE;
}

/* GApplication */

static gboolean
td_engine_dbus_register (GApplication *app, GDBusConnection *connection, const char *path,
                         GError **error)
{
  TdEngine *self = TD_ENGINE (app);

  if (!G_APPLICATION_CLASS (td_engine_parent_class)->dbus_register (app, connection, path, error))
    return FALSE;
  return td_dbus_service_export (self->service, connection, error);
}

static void
td_engine_dbus_unregister (GApplication *app, GDBusConnection *connection, const char *path)
{
  td_dbus_service_unexport (TD_ENGINE (app)->service);
  G_APPLICATION_CLASS (td_engine_parent_class)->dbus_unregister (app, connection, path);
}

static void
td_engine_startup (GApplication *app)
{
  TdEngine *self = TD_ENGINE (app);

  G_APPLICATION_CLASS (td_engine_parent_class)->startup (app);
  /* A service lives until told to stop, not until it has been idle a while. */
  g_application_hold (app);
  self->network = g_network_monitor_get_default ();
  self->network_handler = g_signal_connect (self->network, "network-changed",
                                            G_CALLBACK (network_changed), self);
  td_scheduler_set_network (self->scheduler, g_network_monitor_get_network_available (self->network),
                            g_network_monitor_get_network_metered (self->network));
  watch_sleep (self);
  watch_keyring (self);
  self->signal_sources[0] = g_unix_signal_add (SIGTERM, on_stop_signal, self);
  self->signal_sources[1] = g_unix_signal_add (SIGINT, on_stop_signal, self);
  self->signal_sources[2] = g_unix_signal_add (SIGHUP, on_reload_signal, self);
  td_scheduler_start (self->scheduler);
  if (self->config->goa)
    {
      self->goa_cancellable = g_cancellable_new ();
      goa_client_new (self->goa_cancellable, goa_ready, self);
    }
}

static void
td_engine_activate (GApplication *app)
{
  /* A service has no window to show; being started is all. */
}

static void
td_engine_shutdown (GApplication *app)
{
  TdEngine *self = TD_ENGINE (app);

  for (guint i = 0; i < G_N_ELEMENTS (self->signal_sources); i++)
    g_clear_handle_id (&self->signal_sources[i], g_source_remove);
  g_clear_signal_handler (&self->network_handler, self->network);
  g_clear_handle_id (&self->keyring_timer, g_source_remove);
  g_clear_handle_id (&self->reload_timer, g_source_remove);
  if (self->goa_cancellable != NULL)
    g_cancellable_cancel (self->goa_cancellable);
  g_clear_object (&self->goa_cancellable);
  if (self->goa != NULL)
    g_signal_handlers_disconnect_by_data (self->goa, self);
  g_clear_object (&self->goa);
  if (self->keyring_subscription != 0)
    g_dbus_connection_signal_unsubscribe (self->session_bus, self->keyring_subscription);
  self->keyring_subscription = 0;
  g_clear_object (&self->session_bus);
  if (self->sleep_subscription != 0)
    g_dbus_connection_signal_unsubscribe (self->system_bus, self->sleep_subscription);
  self->sleep_subscription = 0;
  G_APPLICATION_CLASS (td_engine_parent_class)->shutdown (app);
}

static void
td_engine_finalize (GObject *object)
{
  TdEngine *self = TD_ENGINE (object);

  g_clear_object (&self->service);
  g_clear_pointer (&self->watchers, g_hash_table_unref);
  g_clear_pointer (&self->monitors, g_hash_table_unref);
  g_clear_pointer (&self->warnings_said, g_hash_table_unref);
  g_clear_object (&self->scheduler);
  g_clear_object (&self->registry);
  g_clear_object (&self->system_bus);
  g_clear_pointer (&self->config, td_config_free);
  G_OBJECT_CLASS (td_engine_parent_class)->finalize (object);
}

static void
td_engine_class_init (TdEngineClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = td_engine_finalize;
  app_class->dbus_register = td_engine_dbus_register;
  app_class->dbus_unregister = td_engine_dbus_unregister;
  app_class->startup = td_engine_startup;
  app_class->activate = td_engine_activate;
  app_class->shutdown = td_engine_shutdown;
}

static void
td_engine_init (TdEngine *self)
{
}

/**
 * td_engine_new:
 * @config: (transfer full): the configuration
 * @registry: where backends come from
 *
 * Returns: (transfer full): the daemon, not yet on the bus
 */
TdEngine *
td_engine_new (TdConfig *config, TdPluginRegistry *registry)
{
  TdEngine *self = g_object_new (TD_TYPE_ENGINE, "application-id", TD_DBUS_NAME,
                                 "flags", G_APPLICATION_IS_SERVICE, NULL);

  self->config = config;
  self->registry = g_object_ref (registry);
  self->scheduler = td_scheduler_new (config, registry);
  self->service = td_dbus_service_new (config, self->scheduler);
  self->watchers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_object_unref);
  self->monitors = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_object_unref);
  self->warnings_said = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < config->warnings->len; i++) /* the command line said them */
    g_hash_table_add (self->warnings_said, g_strdup (g_ptr_array_index (config->warnings, i)));
  for (guint i = 0; i < config->accounts->len; i++)
    follow_account (self, g_ptr_array_index (config->accounts, i));
  g_signal_connect (self->scheduler, "sync-started", G_CALLBACK (on_sync_started), self);
  g_signal_connect (self->scheduler, "sync-finished", G_CALLBACK (on_sync_finished), self);
  g_signal_connect (self->scheduler, "paused-changed", G_CALLBACK (on_paused), self);
  return self;
}

/* Whether a daemon already has the name: a service does not queue for a name, so losing
 * it to another is how a second daemon finds the first. */
static gboolean
name_has_owner (void)
{
  g_autoptr (GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  return bus != NULL && td_dbus_name_has_owner (bus, NULL);
}

/**
 * td_engine_run:
 * @self: the daemon
 * @error: why it could not start: no session bus, or another daemon has the name
 *
 * Owns the bus name and runs until SIGTERM or SIGINT.
 *
 * Returns: the exit status, or -1 with @error set when it could not start
 */
int
td_engine_run (TdEngine *self, GError **error)
{
  char *argv[] = { (char *) "tidings", NULL };
  g_autoptr (GError) failure = NULL;

  if (!g_application_register (G_APPLICATION (self), NULL, &failure))
    {
      if (!name_has_owner ())
        {
          g_propagate_error (error, g_steal_pointer (&failure));
          return -1;
        }
    }
  if (failure != NULL || g_application_get_is_remote (G_APPLICATION (self)))
    {
      g_set_error (error, TD_ERROR, TD_ERROR_LOCKED, "another Tidings daemon already runs on "
                   "this session bus (it owns %s); see it with `tidings status`", TD_DBUS_NAME);
      return -1;
    }
  return g_application_run (G_APPLICATION (self), 1, argv);
}
