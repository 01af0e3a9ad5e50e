/* td-local-monitor.c: TdLocalMonitor, the Maildir side of push. See td-local-monitor.h. */
#include "engine/daemon/td-local-monitor.h"

#include "engine/sync/td-local-look.h"

typedef struct
{
  TdLocalMonitor *owner; /* borrowed */
  char *name;            /* as the Maildir, the state DB and the scheduler name it */
  char **components;     /* its directories below the Maildir root */
  GFileMonitor *monitors[2];
  guint timer;           /* the next look */
  gint64 first_event;    /* monotonic µs of the oldest event not looked at, or 0 */
  gboolean checking;     /* a look is under way */
} Folder;

struct _TdLocalMonitor
{
  GObject parent_instance;
  TdConfig *config;         /* borrowed: outlives the daemon's objects */
  TdAccountConfig *account;
  GHashTable *folders;      /* name -> Folder */
  TdSyncPolicy policy;      /* the last sync's: what a sync would send */
  gboolean held;            /* the account syncs: note events, look later */
  gboolean full_noted;      /* said once that some folders are left to the poll */
};

G_DEFINE_FINAL_TYPE (TdLocalMonitor, td_local_monitor, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void arm (Folder *folder);

static void
folder_free (Folder *folder)
{
  g_clear_handle_id (&folder->timer, g_source_remove);
  for (guint i = 0; i < G_N_ELEMENTS (folder->monitors); i++)
    {
      if (folder->monitors[i] == NULL)
        continue;
      g_signal_handlers_disconnect_by_data (folder->monitors[i], folder);
      g_file_monitor_cancel (folder->monitors[i]);
      g_object_unref (folder->monitors[i]);
    }
  g_free (folder->name);
  g_strfreev (folder->components);
  g_free (folder);
}

/* Looking
 *
 * A look covers every folder with an event not looked at yet, not just the one whose timer
 * fired, and reports them together: a message the reader moved changes two folders at the
 * same instant, and one sync must see both to move it on the server rather than delete it
 * from one and upload it to the other. */

typedef struct
{
  char *db_path;
  TdAccountConfig *account;
  TdSyncPolicy policy;
  GPtrArray *names;       /* char* */
  GPtrArray *components;  /* char**, one per name */
  GArray *changed;        /* gboolean per name, out */
} Look;

static void
look_free (Look *look)
{
  g_free (look->db_path);
  td_account_config_unref (look->account);
  g_ptr_array_unref (look->names);
  g_ptr_array_unref (look->components);
  g_array_unref (look->changed);
  g_free (look);
}

static void
look_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Look *look = data;

  for (guint i = 0; i < look->names->len; i++)
    {
      const char *name = g_ptr_array_index (look->names, i);
      GError *error = NULL;
      gboolean would_send = FALSE;
      /* A folder that cannot be looked at (gone, the DB busy) is for a sync to sort out. */
      if (!td_local_look_would_send (look->db_path, look->account, &look->policy, name,
                                     g_ptr_array_index (look->components, i), &would_send,
                                     &error))
        {
          g_debug ("account %s, folder %s: cannot compare with the state DB, so syncing: %s",
                   look->account->name, name, error->message);
          g_error_free (error);
          would_send = TRUE;
        }
      g_array_index (look->changed, gboolean, i) = would_send;
    }
  g_task_return_boolean (task, TRUE);
}

static void
looked (GObject *source, GAsyncResult *result, gpointer data)
{
  TdLocalMonitor *self = TD_LOCAL_MONITOR (source);
  Look *l = g_task_get_task_data (G_TASK (result));

  for (guint i = 0; i < l->names->len; i++)
    if (g_array_index (l->changed, gboolean, i))
      g_signal_emit (self, signals[SIGNAL_CHANGED], 0, g_ptr_array_index (l->names, i));
  for (guint i = 0; i < l->names->len; i++)
    {
      Folder *folder = g_hash_table_lookup (self->folders, g_ptr_array_index (l->names, i));
      if (folder == NULL)
        continue;
      folder->checking = FALSE;
      if (folder->first_event != 0)
        arm (folder); /* more came while it looked */
    }
}

/* Takes @folder into @l, unless a look of it is under way. */
static void
take_into (Look *l, Folder *folder)
{
  if (folder->checking || folder->first_event == 0)
    return;
  g_clear_handle_id (&folder->timer, g_source_remove);
  g_ptr_array_add (l->names, g_strdup (folder->name));
  g_ptr_array_add (l->components, g_strdupv (folder->components));
  folder->first_event = 0;
  folder->checking = TRUE;
}

static gboolean
look (gpointer data)
{
  Folder *folder = data;
  TdLocalMonitor *self = folder->owner;
  GHashTableIter it;
  gpointer value;

  folder->timer = 0;
  if (folder->checking || self->held)
    return G_SOURCE_REMOVE; /* looked at when that is over */
  Look *l = g_new0 (Look, 1);
  l->db_path = g_build_filename (self->config->state_dir, "state.db", NULL);
  l->account = td_account_config_ref (self->account);
  l->policy = self->policy;
  l->names = g_ptr_array_new_with_free_func (g_free);
  l->components = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  take_into (l, folder);
  g_hash_table_iter_init (&it, self->folders);
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (value != folder)
      take_into (l, value);
  l->changed = g_array_new (FALSE, TRUE, sizeof (gboolean));
  g_array_set_size (l->changed, l->names->len);
  g_autoptr (GTask) task = g_task_new (self, NULL, looked, NULL);
  g_task_set_source_tag (task, look);
  g_task_set_task_data (task, l, (GDestroyNotify) look_free);
  g_task_run_in_thread (task, look_thread);
  return G_SOURCE_REMOVE;
}

/* Sets the timer for the folder's next look: QUIET_MS from now, but no later than
 * MAX_DELAY_MS after the first event it has not looked at. */
static void
arm (Folder *folder)
{
  gint64 now = g_get_monotonic_time ();
  gint64 due = folder->first_event + TD_LOCAL_MONITOR_MAX_DELAY_MS * G_TIME_SPAN_MILLISECOND;
  gint64 delay_ms = MIN (TD_LOCAL_MONITOR_QUIET_MS, MAX (0, (due - now) / 1000));

  if (folder->owner->held || folder->checking)
    return;
  g_clear_handle_id (&folder->timer, g_source_remove);
  folder->timer = g_timeout_add ((guint) delay_ms, look, folder);
}

static void
on_event (GFileMonitor *monitor, GFile *file, GFile *other, GFileMonitorEvent event,
          gpointer data)
{
  Folder *folder = data;

  if (event == G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT)
    return;
  if (folder->first_event == 0)
    folder->first_event = g_get_monotonic_time ();
  arm (folder);
}

/* Following folders */

static gboolean
start_folder (TdLocalMonitor *self, Folder *folder, const char *path)
{
  static const char *const subdirs[] = { "cur", "new" };

  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *dir = g_build_filename (path, subdirs[i], NULL);
      g_autoptr (GFile) file = g_file_new_for_path (dir);
      g_autoptr (GError) error = NULL;

      folder->monitors[i] = g_file_monitor_directory (file, G_FILE_MONITOR_NONE, NULL, &error);
      if (folder->monitors[i] == NULL)
        {
          g_message ("account %s: changes in %s reach the server at the next poll, not at "
                     "once: cannot watch it: %s", self->account->name, dir, error->message);
          return FALSE;
        }
      g_signal_connect (folder->monitors[i], "changed", G_CALLBACK (on_event), folder);
    }
  return TRUE;
}

/* The folder's directories below the Maildir root, from the report's path to it; INBOX's
 * own directory, where it has one, is that. */
static char **
components_of (TdLocalMonitor *self, const char *path)
{
  g_autoptr (GFile) root = g_file_new_for_path (self->account->maildir);
  g_autoptr (GFile) dir = g_file_new_for_path (path);
  g_autoptr (GFile) inbox = self->account->inbox ? g_file_new_for_path (self->account->inbox)
                                                 : NULL;
  if (inbox != NULL && g_file_equal (inbox, dir))
    return g_strdupv ((char *[]) { (char *) TD_FOLDER_INBOX_APART, NULL });
  g_autofree char *rel = g_file_get_relative_path (root, dir);

  return rel != NULL ? g_strsplit (rel, G_DIR_SEPARATOR_S, -1) : NULL;
}

static void
follow_folder (TdLocalMonitor *self, const TdFolderReport *f)
{
  gboolean synced = f->event == TD_FOLDER_EVENT_NONE || f->event == TD_FOLDER_EVENT_CREATED_THERE
                    || f->event == TD_FOLDER_EVENT_RESTORED;

  if (f->error != NULL)
    return; /* the next sync that goes well decides */
  if (!synced || f->path == NULL)
    {
      g_hash_table_remove (self->folders, f->name);
      return;
    }
  if (g_hash_table_contains (self->folders, f->name))
    return;
  if (g_hash_table_size (self->folders) >= TD_LOCAL_MONITOR_MAX_FOLDERS)
    {
      if (!self->full_noted)
        g_message ("account %s: more than %u folders: changes in the others reach the server "
                   "at the next poll", self->account->name, TD_LOCAL_MONITOR_MAX_FOLDERS);
      self->full_noted = TRUE;
      return;
    }
  Folder *folder = g_new0 (Folder, 1);
  folder->owner = self;
  folder->name = g_strdup (f->name);
  folder->components = components_of (self, f->path);
  if (folder->components == NULL || !start_folder (self, folder, f->path))
    {
      folder_free (folder);
      return;
    }
  g_hash_table_insert (self->folders, folder->name, folder);
}

/**
 * td_local_monitor_follow:
 * @self: a monitor
 * @report: what a sync of the account did
 *
 * Watches every folder the sync synced, and stops watching those it found deleted on either
 * side. Accounts that only download (POP3) or never send changes (`sync = pull`) have
 * nothing to watch. A folder's events ask for a sync only when the sync's own policy says it
 * would send something (td_folder_plan_local_work()).
 */
void
td_local_monitor_follow (TdLocalMonitor *self, const TdAccountReport *report)
{
  g_return_if_fail (TD_IS_LOCAL_MONITOR (self));

  if (!report->has_policy || report->policy.download_only || !report->policy.pushes)
    return;
  self->policy = report->policy;
  for (guint i = 0; i < report->folders->len; i++)
    follow_folder (self, g_ptr_array_index (report->folders, i));
}

/**
 * td_local_monitor_hold:
 * @self: a monitor
 *
 * The account starts to sync: its own writes are on their way, so events are noted but not
 * looked at until td_local_monitor_release().
 */
void
td_local_monitor_hold (TdLocalMonitor *self)
{
  GHashTableIter iter;
  Folder *folder;

  g_return_if_fail (TD_IS_LOCAL_MONITOR (self));
  self->held = TRUE;
  g_hash_table_iter_init (&iter, self->folders);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &folder))
    g_clear_handle_id (&folder->timer, g_source_remove);
}

/**
 * td_local_monitor_release:
 * @self: a monitor
 *
 * The sync is over: every folder with events since the hold is looked at (and the looks
 * tell apart the sync's writes, which the state DB has, from a reader's).
 */
void
td_local_monitor_release (TdLocalMonitor *self)
{
  GHashTableIter iter;
  Folder *folder;

  g_return_if_fail (TD_IS_LOCAL_MONITOR (self));
  self->held = FALSE;
  g_hash_table_iter_init (&iter, self->folders);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &folder))
    if (folder->first_event != 0)
      arm (folder);
}

/* How many folders are watched. */
guint
td_local_monitor_get_n_folders (TdLocalMonitor *self)
{
  g_return_val_if_fail (TD_IS_LOCAL_MONITOR (self), 0);
  return g_hash_table_size (self->folders);
}

static void
td_local_monitor_finalize (GObject *object)
{
  TdLocalMonitor *self = TD_LOCAL_MONITOR (object);

  g_hash_table_unref (self->folders);
  td_account_config_unref (self->account);
  G_OBJECT_CLASS (td_local_monitor_parent_class)->finalize (object);
}

static void
td_local_monitor_class_init (TdLocalMonitorClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = td_local_monitor_finalize;
  /* (folder name) */
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                          G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
td_local_monitor_init (TdLocalMonitor *self)
{
  self->folders = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                         (GDestroyNotify) folder_free);
}

/**
 * td_local_monitor_new:
 * @config: the configuration; must outlive the monitor
 * @account: the account whose Maildir to watch
 *
 * Returns: (transfer full): a monitor that watches nothing until a sync report says which
 *   folders there are (td_local_monitor_follow())
 */
TdLocalMonitor *
td_local_monitor_new (TdConfig *config, TdAccountConfig *account)
{
  TdLocalMonitor *self = g_object_new (TD_TYPE_LOCAL_MONITOR, NULL);

  self->config = config;
  self->account = td_account_config_ref (account);
  return self;
}
