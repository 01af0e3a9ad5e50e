/* td-hooks.c: the account's commands run after syncs.
 *
 * post-sync-command runs after every sync handed to it (the daemon hands it the syncs of a
 * quiet period together), new-mail-command after it when messages were downloaded. Each is
 * run without a shell (split like a shell would split it, when the config was read), with
 * standard input from /dev/null, its standard output and error read a line at a time for
 * the caller to log, and stopped after the account's command-timeout. What they are told is
 * in the environment: TIDINGS_ACCOUNT, TIDINGS_NEW, TIDINGS_EXIT_CODE and
 * TIDINGS_CHANGED_FOLDERS (one folder per line). A command that fails is reported through
 * the same output and changes nothing: the sync's own result stands.
 */
#include "engine/sync/td-hooks.h"

#include <string.h>

#include "engine/common/td-error.h"

/* A line of output longer than this is cut; a command that prints more lines than this
 * has the rest read and dropped, so it never blocks on a full pipe. */
#define TD_HOOK_MAX_LINE 2048
#define TD_HOOK_MAX_LINES 1000
#define TD_HOOK_READ 4096

TdSyncOutcome *
td_sync_outcome_new (void)
{
  TdSyncOutcome *outcome = g_new0 (TdSyncOutcome, 1);
  outcome->changed = g_ptr_array_new_with_free_func (g_free);
  return outcome;
}

void
td_sync_outcome_free (TdSyncOutcome *outcome)
{
  if (outcome == NULL)
    return;
  g_ptr_array_unref (outcome->changed);
  g_free (outcome);
}

static gboolean
folder_changed (const TdFolderReport *f)
{
  return f->added > 0 || f->flags_changed > 0 || f->flags_pushed > 0 || f->removed > 0
         || f->matched > 0 || f->uploaded > 0 || f->deleted_remote > 0
         || f->event != TD_FOLDER_EVENT_NONE;
}

/**
 * td_sync_outcome_add:
 * @outcome: what earlier syncs did, or a new outcome
 * @report: what one more sync of the same account did
 *
 * Adds @report's downloads and changed folders; its exit code replaces the earlier one.
 */
void
td_sync_outcome_add (TdSyncOutcome *outcome, const TdAccountReport *report)
{
  for (guint i = 0; i < report->folders->len; i++)
    {
      const TdFolderReport *f = g_ptr_array_index (report->folders, i);
      outcome->new_messages += f->added;
      if (!folder_changed (f))
        continue;
      gboolean known = FALSE;
      for (guint k = 0; k < outcome->changed->len && !known; k++)
        known = strcmp (g_ptr_array_index (outcome->changed, k), f->name) == 0;
      if (!known)
        g_ptr_array_add (outcome->changed, g_strdup (f->name));
    }
  outcome->exit_code = td_account_report_exit_code (report);
}

/**
 * td_sync_outcome_is_empty:
 *
 * Returns: whether no sync was added since the outcome was made
 */
gboolean
td_sync_outcome_is_empty (const TdSyncOutcome *outcome)
{
  return outcome->new_messages == 0 && outcome->changed->len == 0 && outcome->exit_code == 0;
}

/**
 * td_account_report_exit_code:
 * @report: what a sync did
 *
 * Returns: the exit code `tidings sync` gives for @report: the account's error's, else the
 *   first failed folder's, else 1 when files could not be read, else 0
 */
int
td_account_report_exit_code (const TdAccountReport *report)
{
  if (report->error != NULL)
    return td_error_to_exit_code (report->error);
  for (guint i = 0; i < report->folders->len; i++)
    {
      const TdFolderReport *f = g_ptr_array_index (report->folders, i);
      if (f->error != NULL)
        return td_error_to_exit_code (f->error);
    }
  for (guint i = 0; i < report->folders->len; i++)
    if (((const TdFolderReport *) g_ptr_array_index (report->folders, i))->unreadable > 0)
      return TD_EXIT_FAILED;
  return TD_EXIT_OK;
}

/**
 * td_hooks_wanted:
 *
 * Returns: whether td_hooks_run_async() would run anything for @outcome
 */
gboolean
td_hooks_wanted (const TdAccountConfig *account, const TdSyncOutcome *outcome)
{
  return account->post_sync_command != NULL
         || (account->new_mail_command != NULL && outcome->new_messages > 0);
}

/* Running */

typedef struct
{
  char *account;
  char **post_sync;            /* nullable */
  char **new_mail;             /* nullable */
  guint timeout_seconds;
  TdSyncOutcome *outcome;      /* a copy */
  TdHookOutputFunc output;
  gpointer output_data;
  const char *key;             /* the command under way */
  GSubprocess *proc;
  GString *line;
  guint lines;
  guint timer;
  gboolean timed_out;
  gulong cancel_id;
} Hooks;

static void
hooks_free (Hooks *h)
{
  g_clear_handle_id (&h->timer, g_source_remove);
  g_clear_object (&h->proc);
  td_sync_outcome_free (h->outcome);
  if (h->line != NULL)
    g_string_free (h->line, TRUE);
  g_free (h->account);
  g_strfreev (h->post_sync);
  g_strfreev (h->new_mail);
  g_free (h);
}

static void run_next (GTask *task);

static void
say (Hooks *h, const char *text, gboolean failure)
{
  if (h->output != NULL)
    h->output (h->account, h->key, text, failure, h->output_data);
}

/* The line gathered so far, if any, goes out; bytes that are not UTF-8 are shown escaped. */
static void
flush_line (Hooks *h)
{
  if (h->line->len == 0)
    return;
  if (++h->lines <= TD_HOOK_MAX_LINES)
    {
      g_autofree char *valid = g_utf8_make_valid (h->line->str, (gssize) h->line->len);
      say (h, valid, FALSE);
    }
  else if (h->lines == TD_HOOK_MAX_LINES + 1)
    say (h, "(more output left out)", FALSE);
  g_string_truncate (h->line, 0);
}

static void
take_output (Hooks *h, const guint8 *data, gsize len)
{
  for (gsize i = 0; i < len; i++)
    {
      if (data[i] == '\n')
        flush_line (h);
      else if (data[i] != '\r' && data[i] != '\0' && h->line->len < TD_HOOK_MAX_LINE)
        g_string_append_c (h->line, (char) data[i]);
    }
}

static void
exited (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  Hooks *h = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autofree char *why = NULL;
  char *const *argv = strcmp (h->key, "post-sync-command") == 0 ? h->post_sync : h->new_mail;

  g_clear_handle_id (&h->timer, g_source_remove);
  flush_line (h);
  if (!g_subprocess_wait_finish (G_SUBPROCESS (source), result, &error))
    why = g_strdup (error->message);
  else if (h->timed_out)
    why = g_strdup_printf ("did not finish within %u second%s (command-timeout) and was "
                           "stopped", h->timeout_seconds, h->timeout_seconds == 1 ? "" : "s");
  else if (!g_subprocess_get_if_exited (h->proc))
    why = g_strdup ("was killed by a signal");
  else if (g_subprocess_get_exit_status (h->proc) != 0)
    why = g_strdup_printf ("failed with exit status %d", g_subprocess_get_exit_status (h->proc));
  if (why != NULL)
    {
      g_autofree char *line = g_strdup_printf ("%s %s; the sync itself is not affected",
                                               argv[0], why);
      say (h, line, TRUE);
    }
  g_clear_object (&h->proc);
  run_next (task);
}

static void
read_more (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  Hooks *h = g_task_get_task_data (task);
  g_autoptr (GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result,
                                                               NULL);
  gsize len = 0;
  const guint8 *chunk = bytes != NULL ? g_bytes_get_data (bytes, &len) : NULL;

  if (len > 0)
    {
      take_output (h, chunk, len);
      g_input_stream_read_bytes_async (G_INPUT_STREAM (source), TD_HOOK_READ,
                                       G_PRIORITY_DEFAULT, NULL, read_more, task);
      return;
    }
  /* End of output, or a read error the exit explains: wait for the exit. */
  g_subprocess_wait_async (h->proc, NULL, exited, task);
}

static gboolean
too_slow (gpointer data)
{
  Hooks *h = data;

  h->timer = 0;
  h->timed_out = TRUE;
  g_subprocess_force_exit (h->proc);
  return G_SOURCE_REMOVE;
}

static void
start (GTask *task, const char *key, char *const *argv)
{
  Hooks *h = g_task_get_task_data (task);
  g_autoptr (GSubprocessLauncher) launcher
    = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_autoptr (GString) folders = g_string_new (NULL);
  g_autofree char *count = g_strdup_printf ("%u", h->outcome->new_messages);
  g_autofree char *code = g_strdup_printf ("%d", h->outcome->exit_code);
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < h->outcome->changed->len; i++)
    g_string_append_printf (folders, "%s%s", i > 0 ? "\n" : "",
                            (const char *) g_ptr_array_index (h->outcome->changed, i));
  g_subprocess_launcher_setenv (launcher, "TIDINGS_ACCOUNT", h->account, TRUE);
  g_subprocess_launcher_setenv (launcher, "TIDINGS_NEW", count, TRUE);
  g_subprocess_launcher_setenv (launcher, "TIDINGS_EXIT_CODE", code, TRUE);
  g_subprocess_launcher_setenv (launcher, "TIDINGS_CHANGED_FOLDERS", folders->str, TRUE);
  h->key = key;
  h->lines = 0;
  h->timed_out = FALSE;
  g_string_truncate (h->line, 0);
  h->proc = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv, &error);
  if (h->proc == NULL)
    {
      g_autofree char *line = g_strdup_printf ("%s cannot be run: %s", argv[0], error->message);
      say (h, line, TRUE);
      run_next (task);
      return;
    }
  g_debug ("account %s: running %s (%s)", h->account, key, argv[0]);
  h->timer = g_timeout_add_seconds (h->timeout_seconds, too_slow, h);
  g_input_stream_read_bytes_async (g_subprocess_get_stdout_pipe (h->proc), TD_HOOK_READ,
                                   G_PRIORITY_DEFAULT, NULL, read_more, task);
}

/* The next command still to run, or the end. A cancelled task runs nothing more; a
 * command under way when it is cancelled is stopped (on_cancelled). */
static void
run_next (GTask *task)
{
  Hooks *h = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  gboolean stopped = cancellable != NULL && g_cancellable_is_cancelled (cancellable);

  if (!stopped && h->key == NULL && h->post_sync != NULL)
    {
      start (task, "post-sync-command", h->post_sync);
      return;
    }
  if (!stopped && (h->key == NULL || strcmp (h->key, "post-sync-command") == 0)
      && h->new_mail != NULL && h->outcome->new_messages > 0)
    {
      start (task, "new-mail-command", h->new_mail);
      return;
    }
  if (cancellable != NULL)
    g_cancellable_disconnect (cancellable, h->cancel_id);
  h->cancel_id = 0;
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
on_cancelled (GCancellable *cancellable, gpointer data)
{
  Hooks *h = data;

  /* Any thread; the main loop sees the exit and goes on. */
  if (h->proc != NULL)
    g_subprocess_force_exit (h->proc);
}

/**
 * td_hooks_run_async:
 * @account: the account
 * @outcome: what its syncs did (copied)
 * @output: (nullable): where each line the commands print goes
 * @cancellable: (nullable): stops the command under way and runs no more
 *
 * Runs post-sync-command, then new-mail-command if messages were downloaded, as far as the
 * account has them. Never fails: a command that fails is reported to @output.
 */
void
td_hooks_run_async (const TdAccountConfig *account, const TdSyncOutcome *outcome,
                    TdHookOutputFunc output, gpointer output_data, GCancellable *cancellable,
                    GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Hooks *h = g_new0 (Hooks, 1);

  g_task_set_source_tag (task, td_hooks_run_async);
  h->account = g_strdup (account->name);
  h->post_sync = g_strdupv (account->post_sync_command);
  h->new_mail = g_strdupv (account->new_mail_command);
  h->timeout_seconds = account->command_timeout_seconds;
  h->outcome = td_sync_outcome_new ();
  h->outcome->new_messages = outcome->new_messages;
  h->outcome->exit_code = outcome->exit_code;
  for (guint i = 0; i < outcome->changed->len; i++)
    g_ptr_array_add (h->outcome->changed, g_strdup (g_ptr_array_index (outcome->changed, i)));
  h->output = output;
  h->output_data = output_data;
  h->line = g_string_new (NULL);
  g_task_set_task_data (task, h, (GDestroyNotify) hooks_free);
  if (cancellable != NULL)
    h->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled), h, NULL);
  run_next (task);
}

void
td_hooks_run_finish (GAsyncResult *result)
{
  g_task_propagate_boolean (G_TASK (result), NULL);
}
