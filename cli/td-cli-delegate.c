/* td-cli-delegate.c: `tidings sync` while the daemon runs: the daemon does the sync.
 *
 * Two syncs of one account at once would only wait for each other's lock, so the command
 * asks the daemon over D-Bus (Account.Sync, or Account.SyncFolder for each exact folder
 * name) and prints what it answers, with the exit codes a sync in this process would give.
 * Progress comes from the account's Progress signal. Main thread only.
 */
#include <stdio.h>

#include "cli/td-cli-progress.h"
#include "engine/daemon/td-dbus-generated.h"
#include "engine/daemon/td-dbus-service.h"
#include "engine/common/td-error.h"
#include "td-cli.h"

typedef struct Delegation Delegation;

static const char *const summary_keys[] = { "added", "flags-changed", "removed", "uploaded",
                                            "flags-pushed", "deleted-remote", "moved",
                                            "folders", "failed-folders", NULL };
enum
{
  ADDED,
  FLAGS_CHANGED,
  REMOVED,
  UPLOADED,
  FLAGS_PUSHED,
  DELETED_REMOTE,
  MOVED,
  FOLDERS,
  FAILED_FOLDERS,
  N_COUNTS
};


/* One account: its calls (one, or one per folder) add up to its answer. */
typedef struct
{
  Delegation *owner;
  TdDBusAccount *proxy;
  char *name;
  guint32 counts[N_COUNTS]; /* in the order of summary_keys */
  guint64 bytes;
  GError *error;     /* the first failure */
  gboolean run_progress; /* the daemon sends RunProgress for this sync */
} Account;

struct Delegation
{
  GMainLoop *loop;
  GPtrArray *accounts; /* Account */
  guint pending;
  TdCliProgress *progress; /* nullable */
};

static void
account_free (Account *a)
{
  if (a->proxy != NULL)
    g_signal_handlers_disconnect_by_data (a->proxy, a);
  g_clear_object (&a->proxy);
  g_clear_error (&a->error);
  g_free (a->name);
  g_free (a);
}

/* The daemon's Progress signal carries one folder's totals; a sync that planned the whole
 * account sends RunProgress as well, with which folder of how many and the sync's totals,
 * and then the line counts the sync as a sync here does. */
static void
on_progress (TdDBusAccount *proxy, const char *folder, guint done, guint total, guint64 bytes,
             guint64 bytes_total, Account *a)
{
  TdSyncProgress p = { .account = a->name, .folder = folder, .messages = done,
                       .messages_total = total, .bytes = bytes, .bytes_total = bytes_total };
  if (!a->run_progress)
    td_cli_progress_update (a->owner->progress, &p);
}

static void
on_run_progress (TdDBusAccount *proxy, const char *folder, guint index, guint count, guint done,
                 guint total, guint64 bytes, guint64 bytes_total, Account *a)
{
  TdSyncProgress p = { .account = a->name, .folder = folder, .folder_index = index,
                       .folder_count = count, .run_messages = done, .run_messages_total = total,
                       .run_bytes = bytes, .run_bytes_total = bytes_total };
  a->run_progress = TRUE;
  td_cli_progress_update (a->owner->progress, &p);
}

static void
add_summary (Account *a, GVariant *summary)
{
  GVariantDict dict;
  guint64 bytes = 0;

  g_variant_dict_init (&dict, summary);
  for (guint i = 0; summary_keys[i] != NULL; i++)
    {
      guint32 n = 0;
      if (g_variant_dict_lookup (&dict, summary_keys[i], "u", &n))
        a->counts[i] += n;
    }
  if (g_variant_dict_lookup (&dict, "bytes", "t", &bytes))
    a->bytes += bytes;
  g_variant_dict_clear (&dict);
}

static void
answered (Account *a, GVariant *summary, GError *error)
{
  if (summary != NULL)
    add_summary (a, summary);
  if (error != NULL)
    {
      g_dbus_error_strip_remote_error (error);
      if (a->error == NULL)
        a->error = g_steal_pointer (&error);
      g_clear_error (&error);
    }
  g_clear_pointer (&summary, g_variant_unref);
  if (--a->owner->pending == 0)
    g_main_loop_quit (a->owner->loop);
}

static void
synced (GObject *source, GAsyncResult *result, gpointer data)
{
  GVariant *summary = NULL;
  GError *error = NULL;

  td_dbus_account_call_sync_finish (TD_DBUS_ACCOUNT (source), &summary, result, &error);
  answered (data, summary, error);
}

static void
folder_synced (GObject *source, GAsyncResult *result, gpointer data)
{
  GVariant *summary = NULL;
  GError *error = NULL;

  td_dbus_account_call_sync_folder_finish (TD_DBUS_ACCOUNT (source), &summary, result, &error);
  answered (data, summary, error);
}

/* What a failure the daemon reports means for the exit code: its own errors come back as
 * TD_ERROR (td_error_register_dbus), refused arguments are a usage error. */
static int
exit_code_of (const Account *a)
{
  if (a->error != NULL)
    {
      if (g_error_matches (a->error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS))
        return TD_EXIT_USAGE;
      return td_error_to_exit_code (a->error);
    }
  return a->counts[FAILED_FOLDERS] > 0 ? TD_EXIT_FAILED : TD_EXIT_OK;
}

static void
print_text (const Account *a)
{
  const guint32 *c = a->counts;

  if (a->error != NULL)
    {
      if (a->error->domain == TD_ERROR || g_error_matches (a->error, G_DBUS_ERROR,
                                                           G_DBUS_ERROR_INVALID_ARGS))
        fprintf (stderr, "tidings: %s\n", a->error->message);
      else
        fprintf (stderr, "tidings: account %s: the daemon did not finish the sync: %s; "
                 "`tidings sync --local %s` syncs without it\n", a->name, a->error->message,
                 a->name);
      printf ("%s: FAILED (synced by the running daemon; `tidings status` shows its state)\n",
              a->name);
      return;
    }
  TdSyncCounts counts = { c[ADDED], a->bytes, c[FLAGS_CHANGED], c[REMOVED], c[UPLOADED],
                          c[FLAGS_PUSHED], c[DELETED_REMOTE], .moved = c[MOVED] };
  g_autofree char *did = td_sync_counts_describe (&counts);
  g_autofree char *where = td_sync_folders_describe (c[FOLDERS], 0);
  printf ("%s: %s; %s, by the running daemon%s\n", a->name, did, where,
          c[FAILED_FOLDERS] ? "; some folders failed (`tidings status` says which)" : "");
}

/* The daemon's answer has totals, not folders: the JSON says so with "daemon": true. */
static void
print_json (GPtrArray *accounts)
{
  static const struct
  {
    const char *member;
    guint index;
  } counts[] = {
    { "added", ADDED },           { "flags_changed", FLAGS_CHANGED },
    { "removed", REMOVED },       { "uploaded", UPLOADED },
    { "flags_pushed", FLAGS_PUSHED }, { "deleted_remote", DELETED_REMOTE },
    { "moved", MOVED },
  };
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "accounts");
  json_builder_begin_array (b);
  for (guint i = 0; i < accounts->len; i++)
    {
      const Account *a = g_ptr_array_index (accounts, i);
      json_builder_begin_object (b);
      td_cli_json_member (b, "account", a->name);
      json_builder_set_member_name (b, "daemon");
      json_builder_add_boolean_value (b, TRUE);
      json_builder_set_member_name (b, "exit_code");
      json_builder_add_int_value (b, exit_code_of (a));
      td_cli_json_member (b, "error", a->error ? a->error->message : NULL);
      for (guint k = 0; k < G_N_ELEMENTS (counts); k++)
        {
          json_builder_set_member_name (b, counts[k].member);
          json_builder_add_int_value (b, a->counts[counts[k].index]);
        }
      json_builder_set_member_name (b, "bytes");
      json_builder_add_int_value (b, (gint64) a->bytes);
      json_builder_set_member_name (b, "folder_count");
      json_builder_add_int_value (b, a->counts[FOLDERS]);
      json_builder_set_member_name (b, "failed_folders");
      json_builder_add_int_value (b, a->counts[FAILED_FOLDERS]);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  td_cli_json_print (b);
}

/* The proxy of @name's account object, if the daemon has one: a daemon started on another
 * configuration file may not know the account. */
static TdDBusAccount *
find_account (GDBusConnection *bus, TdDBusEngine *engine, const char *name)
{
  const char *const *paths = td_dbus_engine_get_accounts (engine);
  g_autofree char *path = td_dbus_account_path (name);

  if (paths == NULL || !g_strv_contains (paths, path))
    return NULL;
  TdDBusAccount *proxy = td_dbus_account_proxy_new_sync (
    bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START | G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES,
    TD_DBUS_NAME, path, NULL, NULL);
  if (proxy != NULL)
    g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (proxy), G_MAXINT); /* a sync takes what it takes */
  return proxy;
}

/* Every account, or none: the daemon does them all or this process does. */
static gboolean
find_accounts (Delegation *d, GPtrArray *accounts, gboolean progress, gboolean *running)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = td_cli_connect_daemon (running, &error);

  if (bus == NULL || !*running)
    return FALSE;
  g_autoptr (TdDBusEngine) engine = td_dbus_engine_proxy_new_sync (
    bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, TD_DBUS_NAME, TD_DBUS_PATH, NULL, NULL);
  if (engine == NULL)
    return FALSE;
  for (guint i = 0; i < accounts->len; i++)
    {
      TdAccountConfig *config = g_ptr_array_index (accounts, i);
      TdDBusAccount *proxy = find_account (bus, engine, config->name);
      if (proxy == NULL)
        {
          g_debug ("the daemon has no account %s: syncing here", config->name);
          return FALSE;
        }
      Account *a = g_new0 (Account, 1);
      a->owner = d;
      a->proxy = proxy;
      a->name = g_strdup (config->name);
      g_ptr_array_add (d->accounts, a);
      if (progress)
        {
          g_signal_connect (proxy, "progress", G_CALLBACK (on_progress), a);
          g_signal_connect (proxy, "run-progress", G_CALLBACK (on_run_progress), a);
        }
    }
  return TRUE;
}

/**
 * td_cli_sync_by_daemon:
 * @accounts: (element-type TdAccountConfig): the accounts to sync
 * @folders: (nullable): exact folder names, as the Maildir names them
 * @json: print JSON
 * @quiet: print only failures
 * @progress: show progress on stderr
 * @code: (out): the exit code, when the daemon did the sync
 * @running: (out): whether a daemon runs on the session bus (it may not know the accounts)
 *
 * Returns: whether the daemon did the sync; %FALSE when no daemon runs on the session bus
 *   (or it does not know every account), and the sync is for this process to do
 */
gboolean
td_cli_sync_by_daemon (GPtrArray *accounts, char **folders, gboolean json, gboolean quiet,
                       gboolean progress, int *code, gboolean *running)
{
  Delegation d = { NULL };
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) account_free);

  d.accounts = list;
  if (progress)
    d.progress = td_cli_progress_new (TRUE);
  td_error_register_dbus ();
  *running = FALSE;
  if (accounts->len == 0 || !find_accounts (&d, accounts, progress, running))
    {
      g_clear_pointer (&d.progress, td_cli_progress_free);
      return FALSE;
    }
  d.loop = g_main_loop_new (NULL, FALSE);
  for (guint i = 0; i < list->len; i++)
    {
      Account *a = g_ptr_array_index (list, i);
      for (guint k = 0; folders != NULL && folders[k] != NULL; k++, d.pending++)
        td_dbus_account_call_sync_folder (a->proxy, folders[k], NULL, folder_synced, a);
      if (folders == NULL || folders[0] == NULL)
        {
          d.pending++;
          td_dbus_account_call_sync (a->proxy, NULL, synced, a);
        }
    }
  g_main_loop_run (d.loop);
  g_main_loop_unref (d.loop);
  g_clear_pointer (&d.progress, td_cli_progress_free);
  *code = TD_EXIT_OK;
  for (guint i = 0; i < list->len; i++)
    {
      const Account *a = g_ptr_array_index (list, i);
      if (!json && (!quiet || exit_code_of (a) != TD_EXIT_OK))
        print_text (a);
      if (*code == TD_EXIT_OK)
        *code = exit_code_of (a);
    }
  if (json)
    print_json (list);
  return TRUE;
}
