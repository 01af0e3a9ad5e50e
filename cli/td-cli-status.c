/* td-cli-status.c: `tidings status` and `tidings watch`: the daemon, seen over D-Bus.
 *
 * Both only look: they never start the daemon (no D-Bus activation) and never send it a
 * request. Main thread only.
 */
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>

#include "engine/daemon/td-dbus-generated.h"
#include "engine/daemon/td-dbus-service.h"
#include "engine/common/td-error.h"
#include "td-cli.h"

static const char not_running[] =
  "tidings: the Tidings daemon is not running; start it with `systemctl --user start tidings` "
  "or `tidings daemon`\n";

/**
 * td_cli_connect_daemon:
 * @running: (out): whether the daemon has its name on the bus
 * @error: why there is no session bus
 *
 * Never starts the daemon.
 *
 * Returns: (transfer full) (nullable): the session bus
 */
GDBusConnection *
td_cli_connect_daemon (gboolean *running, GError **error)
{
  g_autoptr (GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, error);
  GError *e = NULL;

  if (bus == NULL)
    return NULL;
  *running = td_dbus_name_has_owner (bus, &e);
  if (e != NULL)
    {
      g_propagate_error (error, e);
      return NULL;
    }
  return g_steal_pointer (&bus);
}

static char *
format_time (gint64 seconds)
{
  g_autoptr (GDateTime) t = NULL;

  if (seconds <= 0)
    return g_strdup ("never");
  t = g_date_time_new_from_unix_local (seconds);
  return t != NULL ? g_date_time_format (t, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");
}

/* `tidings status` */

static void
print_account_text (TdDBusAccount *a)
{
  g_autofree char *when = format_time (td_dbus_account_get_last_sync (a));
  const char *error = td_dbus_account_get_last_error (a);
  GVariant *folders = td_dbus_account_get_folders (a);
  GVariant *special = td_dbus_account_get_special_folders (a);

  printf ("%s (%s): %s; last sync %s; %u unread\n", td_dbus_account_get_name (a),
          td_dbus_account_get_protocol (a), td_dbus_account_get_state (a), when,
          td_dbus_account_get_unread_count (a));
  if (error != NULL && *error != '\0')
    printf ("  last error: %s\n", error);
  if (folders != NULL)
    {
      GVariantIter iter;
      const char *name;
      guint total, unread;
      g_variant_iter_init (&iter, folders);
      while (g_variant_iter_next (&iter, "{&s(uu)}", &name, &total, &unread))
        {
          const char *uses = NULL;
          if (special == NULL || !g_variant_lookup (special, name, "&s", &uses))
            uses = NULL;
          printf ("  %s: %u messages, %u unread%s%s%s\n", name, total, unread,
                  uses ? " (" : "", uses ? uses : "", uses ? ")" : "");
        }
    }
}

static void
json_account (JsonBuilder *b, TdDBusAccount *a)
{
  const char *last_error = td_dbus_account_get_last_error (a);
  GVariant *folders = td_dbus_account_get_folders (a);
  GVariant *special = td_dbus_account_get_special_folders (a);

  json_builder_begin_object (b);
  td_cli_json_member (b, "name", td_dbus_account_get_name (a));
  td_cli_json_member (b, "protocol", td_dbus_account_get_protocol (a));
  td_cli_json_member (b, "state", td_dbus_account_get_state (a));
  json_builder_set_member_name (b, "last_sync");
  json_builder_add_int_value (b, td_dbus_account_get_last_sync (a));
  td_cli_json_member (b, "last_error", last_error && *last_error ? last_error : NULL);
  json_builder_set_member_name (b, "unread");
  json_builder_add_int_value (b, td_dbus_account_get_unread_count (a));
  json_builder_set_member_name (b, "folders");
  json_builder_begin_array (b);
  if (folders != NULL)
    {
      GVariantIter iter;
      const char *folder;
      guint total, unread;
      g_variant_iter_init (&iter, folders);
      while (g_variant_iter_next (&iter, "{&s(uu)}", &folder, &total, &unread))
        {
          json_builder_begin_object (b);
          td_cli_json_member (b, "name", folder);
          json_builder_set_member_name (b, "messages");
          json_builder_add_int_value (b, total);
          json_builder_set_member_name (b, "unread");
          json_builder_add_int_value (b, unread);
          const char *uses = NULL;
          if (special == NULL || !g_variant_lookup (special, folder, "&s", &uses))
            uses = NULL;
          td_cli_json_member (b, "special", uses);
          json_builder_end_object (b);
        }
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

static int
print_not_running (gboolean json)
{
  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "running");
      json_builder_add_boolean_value (b, FALSE);
      json_builder_end_object (b);
      td_cli_json_print (b);
    }
  fputs (not_running, stderr);
  return TD_EXIT_FAILED;
}

/* The running daemon and its accounts, as text or as one JSON document. */
static int
print_daemon (GDBusConnection *bus, gboolean json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TdDBusEngine) engine = td_dbus_engine_proxy_new_sync (
    bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, TD_DBUS_NAME, TD_DBUS_PATH, NULL, &error);
  const char *const *paths = engine != NULL ? td_dbus_engine_get_accounts (engine) : NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();

  if (paths == NULL)
    {
      fprintf (stderr, "tidings: the daemon did not answer: %s\n",
               error != NULL ? error->message : "no accounts property");
      return TD_EXIT_FAILED;
    }
  gboolean paused = td_dbus_engine_get_paused (engine);
  if (!json)
    printf ("The Tidings daemon is running%s.\n",
            paused ? " (paused: `tidings` syncs only when asked)" : "");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "running");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_set_member_name (b, "paused");
  json_builder_add_boolean_value (b, paused);
  json_builder_set_member_name (b, "accounts");
  json_builder_begin_array (b);
  for (guint i = 0; paths[i] != NULL; i++)
    {
      g_autoptr (TdDBusAccount) a = td_dbus_account_proxy_new_sync (
        bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, TD_DBUS_NAME, paths[i], NULL, &error);
      if (a == NULL)
        {
          fprintf (stderr, "tidings: the daemon did not answer for %s: %s\n", paths[i],
                   error->message);
          return TD_EXIT_FAILED;
        }
      if (json)
        json_account (b, a);
      else
        print_account_text (a);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  if (json)
    td_cli_json_print (b);
  return TD_EXIT_OK;
}

int
td_cli_status (const TdCliGlobals *globals, int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON for scripts", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- show what the daemon is doing");
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  gboolean running = FALSE;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "tidings status: %s\n", error->message);
      return TD_EXIT_USAGE;
    }
  bus = td_cli_connect_daemon (&running, &error);
  if (bus == NULL)
    {
      fprintf (stderr, "tidings: cannot reach the D-Bus session bus, where the daemon would "
               "be: %s\n", error->message);
      return TD_EXIT_FAILED;
    }
  return running ? print_daemon (bus, json) : print_not_running (json);
}

/* `tidings watch`: a line of text per event, or with --json one JSON object per line, each
 * with "time" (ISO 8601), "event" and, where it concerns one, "account". */

typedef struct
{
  GMainLoop *loop;
  GDBusConnection *bus;
  gboolean json;
  GHashTable *names; /* account object path -> account name */
  GHashTable *run_progress; /* account object paths that send RunProgress: their Progress
                               lines would say the same again */
} Watch;

static const char *
account_name (Watch *w, const char *path)
{
  const char *name = g_hash_table_lookup (w->names, path);
  return name != NULL ? name : path;
}

static void
say (const char *format, ...) G_GNUC_PRINTF (1, 2);

static void
say (const char *format, ...)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%H:%M:%S");
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  printf ("%s %s\n", stamp, text);
  fflush (stdout);
}

/* A JSON event: begun with its time, name and account (nullable), members added, then
 * printed as one line by event_end(). */
static JsonBuilder *
event_begin (const char *event, const char *account)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format_iso8601 (now);
  JsonBuilder *b = json_builder_new ();

  json_builder_begin_object (b);
  td_cli_json_member (b, "time", stamp);
  td_cli_json_member (b, "event", event);
  if (account != NULL)
    td_cli_json_member (b, "account", account);
  return b;
}

static void
event_number (JsonBuilder *b, const char *member, guint64 value)
{
  json_builder_set_member_name (b, member);
  json_builder_add_int_value (b, (gint64) MIN (value, (guint64) G_MAXINT64));
}

static void
event_end (JsonBuilder *b)
{
  json_builder_end_object (b);
  td_cli_json_print (b);
  fflush (stdout);
  g_object_unref (b);
}

static guint
summary_count (GVariant *summary, const char *key)
{
  guint n = 0;
  g_variant_lookup (summary, key, "u", &n);
  return n;
}

/* The counts of a SyncFinished summary, by their JSON names. */
static const struct
{
  const char *key;
  const char *json;
} summary_counts[] = {
  { "added", "added" },
  { "flags-changed", "flags_changed" },
  { "removed", "removed" },
  { "uploaded", "uploaded" },
  { "flags-pushed", "flags_pushed" },
  { "deleted-remote", "deleted_remote" },
  { "moved", "moved" },
};

static void
sync_finished (Watch *w, const char *account, GVariant *summary)
{
  const char *message = NULL;
  gboolean failed = g_variant_lookup (summary, "error-message", "&s", &message);

  if (w->json)
    {
      JsonBuilder *b = event_begin ("sync-finished", account);
      for (gsize i = 0; i < G_N_ELEMENTS (summary_counts); i++)
        event_number (b, summary_counts[i].json, summary_count (summary, summary_counts[i].key));
      if (failed)
        td_cli_json_member (b, "error", message);
      event_end (b);
    }
  else if (failed)
    say ("%s: sync failed: %s", account, message);
  else
    say ("%s: sync finished: %u new, %u flag changes, %u removed; to the server: "
         "%u uploaded, %u moved, %u flag changes, %u deleted", account,
         summary_count (summary, "added"), summary_count (summary, "flags-changed"),
         summary_count (summary, "removed"), summary_count (summary, "uploaded"),
         summary_count (summary, "moved"), summary_count (summary, "flags-pushed"),
         summary_count (summary, "deleted-remote"));
}

static void
new_mail (Watch *w, const char *account, const char *folder, guint count, GVariantIter *iter)
{
  const char *subject = NULL, *from = NULL;
  JsonBuilder *b = NULL;

  if (w->json)
    {
      b = event_begin ("new-mail", account);
      td_cli_json_member (b, "folder", folder);
      event_number (b, "count", count);
      json_builder_set_member_name (b, "messages");
      json_builder_begin_array (b);
    }
  else
    say ("%s/%s: %u new", account, folder, count);
  while (g_variant_iter_next (iter, "(&s&s)", &subject, &from))
    {
      if (b == NULL)
        {
          say ("  %s: %s", *from ? from : "(no sender)", *subject ? subject : "(no subject)");
          continue;
        }
      json_builder_begin_object (b);
      td_cli_json_member (b, "subject", subject);
      td_cli_json_member (b, "from", from);
      json_builder_end_object (b);
    }
  if (b != NULL)
    {
      json_builder_end_array (b);
      event_end (b);
    }
}

static void
on_engine_signal (GDBusConnection *bus, const char *sender, const char *path, const char *iface,
                  const char *signal, GVariant *params, gpointer data)
{
  Watch *w = data;
  const char *account = NULL, *a = NULL, *b = NULL, *c = NULL;

  if (g_str_equal (signal, "SyncStarted") && g_variant_is_of_type (params, G_VARIANT_TYPE ("(os)")))
    {
      g_variant_get (params, "(&o&s)", &account, &a);
      if (!w->json)
        {
          say ("%s: sync started (%s)", account_name (w, account), a);
          return;
        }
      JsonBuilder *e = event_begin ("sync-started", account_name (w, account));
      td_cli_json_member (e, "reason", a);
      event_end (e);
    }
  else if (g_str_equal (signal, "SyncFinished")
           && g_variant_is_of_type (params, G_VARIANT_TYPE ("(oa{sv})")))
    {
      g_autoptr (GVariant) summary = NULL;
      g_variant_get (params, "(&o@a{sv})", &account, &summary);
      sync_finished (w, account_name (w, account), summary);
    }
  else if (g_str_equal (signal, "NewMail") && g_variant_is_of_type (params, G_VARIANT_TYPE ("(osua(ss))")))
    {
      g_autoptr (GVariantIter) iter = NULL;
      guint count = 0;
      g_variant_get (params, "(&o&sua(ss))", &account, &a, &count, &iter);
      new_mail (w, account_name (w, account), a, count, iter);
    }
  else if (g_str_equal (signal, "Error") && g_variant_is_of_type (params, G_VARIANT_TYPE ("(osss)")))
    {
      g_variant_get (params, "(&o&s&s&s)", &account, &a, &b, &c);
      if (!w->json)
        {
          say ("%s%s%s: error: %s", account_name (w, account), *a ? "/" : "", a, c);
          return;
        }
      JsonBuilder *e = event_begin ("error", account_name (w, account));
      if (*a != '\0')
        td_cli_json_member (e, "folder", a);
      td_cli_json_member (e, "name", b);
      td_cli_json_member (e, "message", c);
      event_end (e);
    }
}

static JsonBuilder *
progress_begin (const char *account, const char *folder, guint done, guint total,
                guint64 bytes)
{
  JsonBuilder *e = event_begin ("progress", account);
  td_cli_json_member (e, "folder", folder);
  event_number (e, "messages", done);
  event_number (e, "messages_total", total);
  event_number (e, "bytes", bytes);
  return e;
}

static void
on_account_signal (GDBusConnection *bus, const char *sender, const char *path, const char *iface,
                   const char *signal, GVariant *params, gpointer data)
{
  Watch *w = data;
  const char *account = account_name (w, path);

  if (g_str_equal (iface, "org.freedesktop.DBus.Properties")
      && g_variant_is_of_type (params, G_VARIANT_TYPE ("(sa{sv}as)")))
    {
      g_autoptr (GVariant) changed = NULL;
      const char *which = NULL, *state = NULL;
      g_variant_get (params, "(&s@a{sv}@as)", &which, &changed, NULL);
      if (!g_str_equal (which, "org.tidings.Tidings1.Account")
          || !g_variant_lookup (changed, "State", "&s", &state))
        return;
      if (!w->json)
        {
          say ("%s: %s", account, state);
          return;
        }
      JsonBuilder *e = event_begin ("state", account);
      td_cli_json_member (e, "state", state);
      event_end (e);
    }
  else if (g_str_equal (signal, "RunProgress")
           && g_variant_is_of_type (params, G_VARIANT_TYPE ("(suuuutt)")))
    {
      const char *folder = NULL;
      guint index = 0, count = 0, done = 0, total = 0;
      guint64 bytes = 0, bytes_total = 0;
      g_variant_get (params, "(&suuuutt)", &folder, &index, &count, &done, &total, &bytes,
                     &bytes_total);
      g_hash_table_add (w->run_progress, g_strdup (path));
      if (!w->json)
        {
          g_autofree char *size = td_cli_format_size (bytes);
          g_autofree char *of = td_cli_format_size (bytes_total);
          say ("%s: %u of %u messages, %s of %s (folder %u of %u, %s)", account, done, total,
               size, of, index, count, folder);
          return;
        }
      JsonBuilder *e = progress_begin (account, folder, done, total, bytes);
      event_number (e, "bytes_total", bytes_total);
      event_number (e, "folder_index", index);
      event_number (e, "folder_count", count);
      event_end (e);
    }
  else if (g_str_equal (signal, "Progress") && !g_hash_table_contains (w->run_progress, path)
           && g_variant_is_of_type (params, G_VARIANT_TYPE ("(suutt)")))
    {
      const char *folder = NULL;
      guint done = 0, total = 0;
      guint64 bytes = 0;
      g_variant_get (params, "(&suutt)", &folder, &done, &total, &bytes, NULL);
      if (!w->json)
        {
          g_autofree char *size = td_cli_format_size (bytes);
          say ("%s/%s: %u of %u messages, %s", account, folder, done, total, size);
          return;
        }
      event_end (progress_begin (account, folder, done, total, bytes));
    }
}

static void
on_signal (GDBusConnection *bus, const char *sender, const char *path, const char *iface,
           const char *signal, GVariant *params, gpointer data)
{
  if (g_str_equal (path, TD_DBUS_PATH) && g_str_equal (iface, "org.tidings.Tidings1.Engine"))
    on_engine_signal (bus, sender, path, iface, signal, params, data);
  else if (g_str_has_prefix (path, TD_DBUS_PATH "/account/"))
    on_account_signal (bus, sender, path, iface, signal, params, data);
}

static void
learn_names (Watch *w)
{
  g_autoptr (TdDBusEngine) engine = td_dbus_engine_proxy_new_sync (
    w->bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, TD_DBUS_NAME, TD_DBUS_PATH, NULL, NULL);
  const char *const *paths = engine != NULL ? td_dbus_engine_get_accounts (engine) : NULL;

  for (guint i = 0; paths != NULL && paths[i] != NULL; i++)
    {
      g_autoptr (TdDBusAccount) a = td_dbus_account_proxy_new_sync (
        w->bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, TD_DBUS_NAME, paths[i], NULL, NULL);
      if (a != NULL && td_dbus_account_get_name (a) != NULL)
        g_hash_table_replace (w->names, g_strdup (paths[i]), g_strdup (td_dbus_account_get_name (a)));
    }
}

static void
daemon_event (Watch *w, gboolean running)
{
  if (!w->json)
    {
      say (running ? "the daemon is running" : "the daemon is not running; waiting for it to "
                                               "start");
      return;
    }
  JsonBuilder *e = event_begin ("daemon", NULL);
  json_builder_set_member_name (e, "running");
  json_builder_add_boolean_value (e, running);
  event_end (e);
}

static void
name_appeared (GDBusConnection *bus, const char *name, const char *owner, gpointer data)
{
  learn_names (data);
  daemon_event (data, TRUE);
}

static void
name_vanished (GDBusConnection *bus, const char *name, gpointer data)
{
  daemon_event (data, FALSE);
}

static gboolean
on_quit (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

int
td_cli_watch (const TdCliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- print the daemon's events as they come");
  g_autoptr (GError) error = NULL;
  Watch w = { NULL };
  gboolean running = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &w.json, "Print each event as a JSON object on a line of its own", NULL },
    { NULL }
  };

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "tidings watch: %s\n", error->message);
      return TD_EXIT_USAGE;
    }
  w.bus = td_cli_connect_daemon (&running, &error);
  if (w.bus == NULL)
    {
      fprintf (stderr, "tidings: cannot reach the D-Bus session bus: %s\n", error->message);
      return TD_EXIT_FAILED;
    }
  w.loop = g_main_loop_new (NULL, FALSE);
  w.names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  w.run_progress = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_dbus_connection_signal_subscribe (w.bus, TD_DBUS_NAME, NULL, NULL, NULL, NULL,
                                      G_DBUS_SIGNAL_FLAGS_NONE, on_signal, &w, NULL);
  guint watch_id = g_bus_watch_name_on_connection (w.bus, TD_DBUS_NAME,
                                                   G_BUS_NAME_WATCHER_FLAGS_NONE, name_appeared,
                                                   name_vanished, &w, NULL);
  g_unix_signal_add (SIGINT, on_quit, w.loop);
  g_unix_signal_add (SIGTERM, on_quit, w.loop);
  g_main_loop_run (w.loop);
  g_bus_unwatch_name (watch_id);
  g_hash_table_unref (w.names);
  g_hash_table_unref (w.run_progress);
  g_main_loop_unref (w.loop);
  g_object_unref (w.bus);
  return TD_EXIT_OK;
}
