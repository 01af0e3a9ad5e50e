/* td-test-daemon.c: the daemon fixture. See td-test-daemon.h. */
#include "td-test-daemon.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#define TD_NAME "org.tidings.Tidings1"
#define WAIT_STEP_MS 20

static const char notifications_xml[] =
  "<node><interface name='org.freedesktop.Notifications'>"
  "<method name='Notify'><arg type='s' direction='in'/><arg type='u' direction='in'/>"
  "<arg type='s' direction='in'/><arg type='s' direction='in'/><arg type='s' direction='in'/>"
  "<arg type='as' direction='in'/><arg type='a{sv}' direction='in'/><arg type='i' direction='in'/>"
  "<arg type='u' direction='out'/></method></interface></node>";

static void
on_signal (GDBusConnection *bus, const char *sender, const char *path, const char *iface,
           const char *member, GVariant *params, gpointer data)
{
  DaemonFixture *f = data;
  g_ptr_array_add (f->signal_names, g_strdup (member));
  g_ptr_array_add (f->signals, g_variant_ref (params));
}

static void
on_notify (GDBusConnection *bus, const char *sender, const char *path, const char *iface,
           const char *method, GVariant *params, GDBusMethodInvocation *invocation, gpointer data)
{
  DaemonFixture *f = data;
  const char *summary = NULL, *body = NULL;

  g_variant_get (params, "(&su&s&s&s@as@a{sv}i)", NULL, NULL, NULL, &summary, &body, NULL,
                 NULL, NULL);
  g_ptr_array_add (f->notices, g_variant_ref_sink (g_variant_new ("(ss)", summary, body)));
  g_ptr_array_add (f->notify_calls, g_variant_ref (params));
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(u)", f->notices->len));
}

void
td_daemon_fixture_setup (DaemonFixture *f, gconstpointer extra_conf)
{
  static const GDBusInterfaceVTable vtable = { on_notify, NULL, NULL, { 0 } };
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusNodeInfo) node = g_dbus_node_info_new_for_xml (notifications_xml, &error);

  g_assert_no_error (error);
  td_sync_fixture_setup (&f->base, extra_conf);
  f->bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
  f->signals = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  f->signal_names = g_ptr_array_new_with_free_func (g_free);
  f->notices = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  f->notify_calls = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  f->subscription = g_dbus_connection_signal_subscribe (f->bus, TD_NAME, NULL, NULL, NULL, NULL,
                                                        G_DBUS_SIGNAL_FLAGS_NONE, on_signal, f,
                                                        NULL);
  f->notify_object = g_dbus_connection_register_object (f->bus, "/org/freedesktop/Notifications",
                                                        node->interfaces[0], &vtable, f, NULL,
                                                        &error);
  g_assert_no_error (error);
  f->notify_name = g_bus_own_name_on_connection (f->bus, "org.freedesktop.Notifications",
                                                 G_BUS_NAME_OWNER_FLAGS_NONE, NULL, NULL, NULL,
                                                 NULL);
}

void
td_daemon_fixture_teardown (DaemonFixture *f, gconstpointer data)
{
  if (f->daemon != NULL)
    {
      g_subprocess_force_exit (f->daemon);
      g_subprocess_wait (f->daemon, NULL, NULL);
      g_clear_object (&f->daemon);
    }
  g_bus_unown_name (f->notify_name);
  g_dbus_connection_unregister_object (f->bus, f->notify_object);
  g_dbus_connection_signal_unsubscribe (f->bus, f->subscription);
  g_ptr_array_unref (f->signals);
  g_ptr_array_unref (f->signal_names);
  g_ptr_array_unref (f->notices);
  g_ptr_array_unref (f->notify_calls);
  g_object_unref (f->bus);
  g_free (f->cfg);
  g_free (f->err_path);
  td_sync_fixture_teardown (&f->base, data);
}

static gboolean
name_owned (GDBusConnection *bus)
{
  g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
    bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
    "NameHasOwner", g_variant_new ("(s)", TD_NAME), G_VARIANT_TYPE ("(b)"),
    G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
  gboolean owned = FALSE;

  if (reply != NULL)
    g_variant_get (reply, "(b)", &owned);
  return owned;
}

gboolean
td_test_daemon_running (DaemonFixture *f)
{
  return name_owned (f->bus);
}

/* Iterates the main context until @done says so or @timeout_ms have passed. */
gboolean
td_test_wait_for (DaemonFixture *f, gboolean (*done) (DaemonFixture *f), guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!done (f))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (WAIT_STEP_MS * 1000);
    }
  return TRUE;
}

/**
 * td_test_daemon_start_at:
 * Writes the config of account "t" (password inline, @extra added; the server reached on
 * @port, or on its own port with 0) and starts the daemon on it; returns once it owns its
 * name.
 */
void
td_test_daemon_start_at (DaemonFixture *f, const char *protocol, guint16 port, const char *extra)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr (GError) error = NULL;
  g_autofree char *lines = g_strdup_printf ("password = " TD_TEST_PASSWORD "\n%s",
                                            extra ? extra : "");

  g_free (f->cfg);
  f->cfg = port != 0 ? account_config_at (&f->base, protocol, port, lines)
                    : account_config (&f->base, protocol, lines);
  g_chmod (f->cfg, 0600);
  g_free (f->err_path);
  f->err_path = g_build_filename (f->base.home, "daemon.err", NULL);
  g_subprocess_launcher_set_stderr_file_path (launcher, f->err_path);
  g_subprocess_launcher_set_child_setup (launcher, td_test_die_with_parent, NULL, NULL);
  /* G_DEBUG stays: a critical in the daemon is a failure. */
  f->daemon = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("TIDINGS_BIN"),
                                           "--config", f->cfg, "daemon", NULL);
  g_assert_no_error (error);
  g_assert_true (td_test_wait_for (f, td_test_daemon_running, 10000));
}

/* td_test_daemon_start_at() on the server's own port. */
void
td_test_daemon_start (DaemonFixture *f, const char *protocol, const char *extra)
{
  td_test_daemon_start_at (f, protocol, 0, extra);
}

static void
waited (GObject *source, GAsyncResult *result, gpointer data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *) data = TRUE;
}

/* Sends @signum and waits (at most 30 seconds) for the exit status: the code, or 128 plus
 * the signal that ended it, or -1 if it did not end. */
int
td_test_daemon_signal (DaemonFixture *f, int signum)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  gboolean done = FALSE;
  int status;

  g_subprocess_wait_async (f->daemon, NULL, waited, &done);
  g_subprocess_send_signal (f->daemon, signum);
  while (!done && g_get_monotonic_time () < deadline)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (WAIT_STEP_MS * 1000);
    }
  if (!done)
    return -1;
  status = g_subprocess_get_if_exited (f->daemon) ? g_subprocess_get_exit_status (f->daemon)
                                                  : 128 + g_subprocess_get_term_sig (f->daemon);
  g_clear_object (&f->daemon);
  return status;
}

int
td_test_daemon_stop (DaemonFixture *f)
{
  return td_test_daemon_signal (f, SIGTERM);
}

/* The first signal @member at or after index *@from, waiting up to @timeout_ms; *@from is
 * moved past it. Returns the parameters (borrowed) or NULL. */
GVariant *
td_test_wait_signal (DaemonFixture *f, const char *member, guint *from, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  guint start = from != NULL ? *from : 0;

  for (;;)
    {
      for (guint i = start; i < f->signals->len; i++)
        if (g_str_equal (g_ptr_array_index (f->signal_names, i), member))
          {
            if (from != NULL)
              *from = i + 1;
            return g_ptr_array_index (f->signals, i);
          }
      if (g_get_monotonic_time () > deadline)
        return NULL;
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (WAIT_STEP_MS * 1000);
    }
}

void
td_test_clear_signals (DaemonFixture *f)
{
  g_ptr_array_set_size (f->signals, 0);
  g_ptr_array_set_size (f->signal_names, 0);
}

GVariant *
td_test_call (DaemonFixture *f, const char *path, const char *iface, const char *method,
              GVariant *args, GError **error)
{
  return g_dbus_connection_call_sync (f->bus, TD_NAME, path, iface, method, args, NULL,
                                      G_DBUS_CALL_FLAGS_NO_AUTO_START, 120000, NULL, error);
}

/* An Account property of account "t", unboxed. */
GVariant *
td_test_account_property (DaemonFixture *f, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = td_test_call (f, TD_TEST_ACCOUNT_PATH,
                                             "org.freedesktop.DBus.Properties", "Get",
                                             g_variant_new ("(ss)", "org.tidings.Tidings1.Account",
                                                            name), &error);
  GVariant *value = NULL;

  g_assert_no_error (error);
  g_variant_get (reply, "(v)", &value);
  return value;
}
