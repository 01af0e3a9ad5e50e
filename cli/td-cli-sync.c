/* td-cli-sync.c: `tidings sync`: every named account at once, then a summary.
 *
 * While the daemon runs, it does the sync (td-cli-delegate.c) unless the options ask for
 * something only this process can do or --local says so; a sync here then waits for the
 * daemon's sync of the account to end.
 *
 * Progress goes to stderr on a terminal (never when --quiet or --json); the summary goes to
 * stdout, as text or as JSON for scripts. The exit code tells the first account's failure
 * class, or 1 when only some folders failed.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>

#include "engine/common/td-error.h"
#include "cli/td-cli-progress.h"
#include "engine/sync/td-hooks.h"
#include "engine/sync/td-sync-runner.h"
#include "td-cli.h"

typedef struct
{
  GMainLoop *loop;
  guint pending;
  GPtrArray *reports; /* TdAccountReport, in account order */
  GPtrArray *accounts; /* borrowed TdAccountConfig, in the same order */
  TdCliProgress *progress; /* nullable */
  GCancellable *stop;
  guint signal_sources[2];
  int stopped_by;          /* the signal that asked for a stop, or 0 */
  gboolean run_hooks;      /* post-sync-command and new-mail-command run after each sync */
  gboolean quiet;          /* their output is not shown, only their failures */
} SyncState;

/* SIGINT or SIGTERM: every run stops after storing what has come down whole. The handlers
 * go, so a second signal ends the process at once (safe too: the next run finishes). */
static gboolean
on_stop_signal (SyncState *state, int signum)
{
  if (state->stopped_by == 0)
    {
      state->stopped_by = signum;
      if (state->progress != NULL)
        td_cli_progress_clear (state->progress);
      fprintf (stderr, "tidings: stopping once what has come down is stored (%s again to quit "
               "at once)\n", signum == SIGINT ? "Ctrl-C" : "the signal");
      g_cancellable_cancel (state->stop);
    }
  for (guint i = 0; i < G_N_ELEMENTS (state->signal_sources); i++)
    g_clear_handle_id (&state->signal_sources[i], g_source_remove);
  return G_SOURCE_REMOVE;
}

static gboolean
on_sigint (gpointer data)
{
  return on_stop_signal (data, SIGINT);
}

static gboolean
on_sigterm (gpointer data)
{
  return on_stop_signal (data, SIGTERM);
}

static void
on_progress (const TdSyncProgress *p, gpointer data)
{
  SyncState *state = data;
  td_cli_progress_update (state->progress, p);
}

static void
one_done (SyncState *state)
{
  if (--state->pending == 0)
    g_main_loop_quit (state->loop);
}

/* A line from post-sync-command or new-mail-command, on stderr (stdout has the summary). */
static void
hook_output (const char *account, const char *key, const char *line, gboolean failure,
             gpointer data)
{
  SyncState *state = data;

  if (state->quiet && !failure)
    return;
  if (state->progress != NULL)
    td_cli_progress_clear (state->progress);
  fprintf (stderr, "%s: %s: %s\n", account, key, line);
}

static void
hooks_done (GObject *source, GAsyncResult *result, gpointer data)
{
  td_hooks_run_finish (result);
  one_done (data);
}

static void
run_done (GObject *source, GAsyncResult *result, gpointer data)
{
  SyncState *state = data;
  TdAccountReport *report = td_sync_runner_run_finish (TD_SYNC_RUNNER (source), result);
  TdAccountConfig *account = NULL;

  for (guint i = 0; i < state->reports->len; i++)
    if (g_ptr_array_index (state->reports, i) == source)
      {
        g_object_unref (source);
        state->reports->pdata[i] = report;
        account = g_ptr_array_index (state->accounts, i);
      }
  /* A stop request runs nothing more. */
  g_autoptr (TdSyncOutcome) outcome = td_sync_outcome_new ();
  td_sync_outcome_add (outcome, report);
  if (state->run_hooks && !g_cancellable_is_cancelled (state->stop)
      && td_hooks_wanted (account, outcome))
    {
      td_hooks_run_async (account, outcome, hook_output, state, state->stop, hooks_done, state);
      return;
    }
  one_done (state);
}


/* What happened to a folder itself (or would, in a dry run), and what the user can do. */
static void
print_event (const TdAccountReport *r, const TdFolderReport *f, gboolean dry_run)
{
  const char *a = r->account, *n = f->name;

  if (f->error != NULL)
    return;
  switch (f->event)
    {
    case TD_FOLDER_EVENT_CREATED_THERE:
      printf ("  %s: made here, %s on the server\n", n, dry_run ? "would be created" : "created");
      break;
    case TD_FOLDER_EVENT_GONE_HERE:
      printf ("  %s: deleted here but still on the server, so no longer synced. To delete it "
              "on the server too, run `tidings sync --prune-folders %s`; to download it again, "
              "`tidings sync --force --folder '%s' %s`\n", n, a, n, a);
      break;
    case TD_FOLDER_EVENT_GONE_THERE:
      printf ("  %s: deleted on the server; the local copy is kept but no longer synced. To "
              "delete it here too, run `tidings sync --prune-folders %s`\n", n, a);
      break;
    case TD_FOLDER_EVENT_PRUNED_THERE:
      printf ("  %s: deleted here, %s on the server too\n", n, dry_run ? "would be deleted" : "deleted");
      break;
    case TD_FOLDER_EVENT_PRUNED_HERE:
      printf ("  %s: deleted on the server, %s here too\n", n, dry_run ? "would be deleted" : "deleted");
      break;
    case TD_FOLDER_EVENT_RESTORED:
      printf ("  %s: deleted here; %s again from the server\n", n,
              dry_run ? "would be downloaded" : "downloaded");
      break;
    case TD_FOLDER_EVENT_NONE:
    default:
      break;
    }
}

/* "; leave 2 over max-size and 1 older than max-age on the server", or "" when max-size and
 * max-age left nothing there. */
static char *
describe_left (const char *lead, guint too_big, guint too_old, const char *tail)
{
  g_autofree char *big = too_big > 0 ? g_strdup_printf ("%u over max-size", too_big) : NULL;
  g_autofree char *old = too_old > 0 ? g_strdup_printf ("%u older than max-age", too_old) : NULL;

  if (big == NULL && old == NULL)
    return g_strdup ("");
  return g_strdup_printf ("%s%s%s%s%s", lead, big ? big : "", big && old ? " and " : "",
                          old ? old : "", tail);
}

/* One folder's plan in a dry run, when it has one. */
static void
print_plan (const TdFolderReport *f)
{
  if (f->error != NULL || (f->added | f->uploaded | f->flags_changed | f->flags_pushed
                           | f->removed | f->deleted_remote | f->kept | f->too_big
                           | f->too_old) == 0)
    return;
  g_autofree char *size = td_cli_format_size (f->bytes);
  printf ("  %s: would download %u (%s), upload %u; change flags of %u here and %u on the "
          "server; delete %u here and %u on the server", f->name, f->added, size, f->uploaded,
          f->flags_changed, f->flags_pushed, f->removed, f->deleted_remote);
  if (f->kept > 0)
    printf ("; keep %u deletions on one side (deletes policy)", f->kept);
  g_autofree char *left = describe_left ("; leave ", f->too_big, f->too_old, " on the server");
  printf ("%s%s\n", left, f->estimate ? " (at most: the server renumbered the folder or the state "
                                 "is new, so messages are matched by Message-ID first)" : "");
}

static void
print_text (TdAccountReport *r, gboolean verbose, gboolean dry_run)
{
  TdSyncCounts c;
  guint unchanged = 0, failed = 0;

  td_sync_counts_of_report (r, &c, &unchanged, &failed);
  for (guint i = 0; i < r->folders->len; i++)
    {
      TdFolderReport *f = g_ptr_array_index (r->folders, i);
      print_event (r, f, dry_run);
      if (f->error != NULL)
        fprintf (stderr, "tidings: account %s, folder %s: %s\n", r->account, f->name,
                 f->error->message);
      else if (dry_run)
        print_plan (f);
      else if (verbose)
        {
          g_autofree char *left = describe_left ("; ", f->too_big, f->too_old,
                                                 " left on the server");
          printf ("  %s: %u new, %u flag changes, %u removed; to the server: %u uploaded, "
                  "%u moved here, %u flag changes, %u deleted%s%s\n", f->name, f->added,
                  f->flags_changed, f->removed, f->uploaded, f->moved, f->flags_pushed,
                  f->deleted_remote, left,
                  f->unchanged ? " (unchanged)" : "");
        }
    }
  if (r->error != NULL)
    fprintf (stderr, "tidings: %s\n", r->error->message);
  g_autofree char *size = td_cli_format_size (c.bytes);
  const char *end = r->error ? ", FAILED" : failed ? ", some folders failed" : "";
  const char *folders = r->folders->len == 1 ? "folder" : "folders";
  g_autofree char *did = td_sync_counts_describe (&c);
  g_autofree char *where = td_sync_folders_describe (r->folders->len, unchanged);
  /* A run that failed before doing anything has said why; a line of zeros adds nothing. */
  if (r->error != NULL && !dry_run && g_str_equal (did, "nothing new"))
    return;
  g_autofree char *too_big = describe_left (", ", c.too_big, c.too_old, " left on the server");
  if (r->download_only)
    printf ("%s: %s%u new (%s), %u deleted on the server%s%s\n", r->account,
            dry_run ? "dry run, nothing changed. A sync would download " : "", c.added, size,
            c.deleted_remote, too_big, end);
  else if (dry_run)
    printf ("%s: dry run, nothing changed. A sync would download %u (%s) and upload %u; "
            "change flags of %u here and %u on the server; delete %u here and %u on the "
            "server%s; in %u %s (%u unchanged)%s\n", r->account, c.added, size, c.uploaded,
            c.flags_changed, c.flags_pushed, c.removed, c.deleted_remote, too_big,
            r->folders->len, folders, unchanged, end);
  else
    printf ("%s: %s; %s%s\n", r->account, did, where, end);
}

/* Files left out of the sync, on stderr whatever the output format: a file that cannot be
 * read makes the exit code 1, and this says which. */
static void
print_skipped (TdAccountReport *r)
{
  for (guint i = 0; i < r->folders->len; i++)
    {
      TdFolderReport *f = g_ptr_array_index (r->folders, i);
      for (guint k = 0; f->skipped != NULL && k < f->skipped->len; k++)
        fprintf (stderr, "tidings: account %s, folder %s: warning: %s\n", r->account, f->name,
                 (char *) g_ptr_array_index (f->skipped, k));
      /* Not a warning: nothing is lost, but the user may wonder where a tag went. */
      if (f->keywords_unshown > 0)
        fprintf (stderr, "tidings: account %s, folder %s: note: %u %s no Maildir letter (a "
                 "folder has 26); %s kept on the server and in the state DB, and mail readers "
                 "of this Maildir do not see %s\n", r->account, f->name, f->keywords_unshown,
                 f->keywords_unshown == 1 ? "keyword has" : "keywords have",
                 f->keywords_unshown == 1 ? "it is" : "they are",
                 f->keywords_unshown == 1 ? "it" : "them");
    }
}

static void
json_uint (JsonBuilder *b, const char *member, guint64 value)
{
  json_builder_set_member_name (b, member);
  json_builder_add_int_value (b, (gint64) value);
}

static void
json_bool (JsonBuilder *b, const char *member, gboolean value)
{
  json_builder_set_member_name (b, member);
  json_builder_add_boolean_value (b, value);
}

static void
json_folder (JsonBuilder *b, const TdFolderReport *f)
{
  json_builder_begin_object (b);
  td_cli_json_member (b, "folder", f->name);
  json_uint (b, "added", f->added);
  json_uint (b, "flags_changed", f->flags_changed);
  json_uint (b, "removed", f->removed);
  json_uint (b, "rematched", f->matched);
  json_uint (b, "flags_pushed", f->flags_pushed);
  json_uint (b, "uploaded", f->uploaded);
  json_uint (b, "deleted_remote", f->deleted_remote);
  json_uint (b, "kept", f->kept);
  json_uint (b, "bytes", f->bytes);
  json_bool (b, "unchanged", f->unchanged);
  json_bool (b, "estimate", f->estimate);
  td_cli_json_member (b, "event", td_folder_event_to_string (f->event));
  json_uint (b, "skipped", f->skipped ? f->skipped->len : 0);
  json_uint (b, "too_big", f->too_big);
  json_uint (b, "too_old", f->too_old);
  json_uint (b, "moved", f->moved);
  json_uint (b, "trashed", f->trashed);
  json_uint (b, "keywords_unshown", f->keywords_unshown);
  g_autofree char *special = td_special_use_to_string (f->special);
  td_cli_json_member (b, "special", special);
  td_cli_json_member (b, "error", f->error ? f->error->message : NULL);
  json_builder_end_object (b);
}

static void
print_json (GPtrArray *reports, gboolean dry_run)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "accounts");
  json_builder_begin_array (b);
  for (guint i = 0; i < reports->len; i++)
    {
      TdAccountReport *r = g_ptr_array_index (reports, i);
      json_builder_begin_object (b);
      td_cli_json_member (b, "account", r->account);
      json_bool (b, "dry_run", dry_run);
      json_uint (b, "exit_code", (guint64) td_account_report_exit_code (r));
      td_cli_json_member (b, "error", r->error ? r->error->message : NULL);
      json_builder_set_member_name (b, "folders");
      json_builder_begin_array (b);
      for (guint k = 0; k < r->folders->len; k++)
        json_folder (b, g_ptr_array_index (r->folders, k));
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  td_cli_json_print (b);
}

static GPtrArray *
pick_accounts (TdConfig *config, char **names, GError **error)
{
  GPtrArray *picked = g_ptr_array_new ();

  if (names == NULL || names[0] == NULL)
    {
      g_ptr_array_extend (picked, config->accounts, NULL, NULL);
      return picked;
    }
  for (guint i = 0; names[i] != NULL; i++)
    {
      TdAccountConfig *a = td_config_find_account (config, names[i]);
      if (a == NULL)
        {
          g_autofree char *why = td_cli_unknown_account (config, names[i]);
          g_set_error_literal (error, TD_ERROR, TD_ERROR_CONFIG, why);
          g_ptr_array_unref (picked);
          return NULL;
        }
      g_ptr_array_add (picked, a);
    }
  return picked;
}

/* Whether every --folder pattern is a plain name, which the daemon's SyncFolder takes. */
static gboolean
only_exact_names (char **patterns)
{
  for (guint i = 0; patterns != NULL && patterns[i] != NULL; i++)
    if (strpbrk (patterns[i], "*?") != NULL)
      return FALSE;
  return TRUE;
}

/* A sync here while the daemon runs waits for the daemon's sync of the account to end,
 * however long that takes within reason, instead of giving up after a moment. */
#define TD_CLI_DAEMON_LOCK_WAIT_MS (30 * 60 * 1000)

static gboolean
daemon_runs (void)
{
  gboolean running = FALSE;
  g_autoptr (GDBusConnection) bus = td_cli_connect_daemon (&running, NULL);
  return bus != NULL && running;
}

/* Syncs every account in this process at once, with @display (nullable) showing progress.
 * Returns: (transfer full) (element-type TdAccountReport): the reports, in account order */
static GPtrArray *
run_here (TdConfig *config, GPtrArray *accounts, TdSyncOptions *options, TdCliProgress *display,
          gboolean quiet, int *stopped_by)
{
  g_autoptr (TdPluginRegistry) registry = td_plugin_registry_new_default ();
  SyncState state = {
    .loop = g_main_loop_new (NULL, FALSE),
    .reports = g_ptr_array_new (),
    .accounts = accounts,
    .progress = display,
    .stop = g_cancellable_new (),
  };

  state.run_hooks = !options->dry_run;
  state.quiet = quiet;

  options->progress = display != NULL ? on_progress : NULL;
  state.signal_sources[0] = g_unix_signal_add (SIGINT, on_sigint, &state);
  state.signal_sources[1] = g_unix_signal_add (SIGTERM, on_sigterm, &state);
  options->progress_data = &state;
  for (guint i = 0; i < accounts->len; i++)
    {
      TdSyncRunner *runner = td_sync_runner_new (config, g_ptr_array_index (accounts, i),
                                                 registry, options);
      g_ptr_array_add (state.reports, runner);
      state.pending++;
      td_sync_runner_run_async (runner, state.stop, run_done, &state);
    }
  if (state.pending > 0)
    g_main_loop_run (state.loop);
  for (guint i = 0; i < G_N_ELEMENTS (state.signal_sources); i++)
    g_clear_handle_id (&state.signal_sources[i], g_source_remove);
  g_object_unref (state.stop);
  *stopped_by = state.stopped_by;
  if (display != NULL)
    td_cli_progress_clear (display);
  g_main_loop_unref (state.loop);
  g_ptr_array_set_free_func (state.reports, (GDestroyNotify) td_account_report_free);
  return state.reports;
}

int
td_cli_sync (const TdCliGlobals *globals, int argc, char **argv)
{
  g_auto (GStrv) folders = NULL, names = NULL;
  gboolean quiet = FALSE, verbose = FALSE, json = FALSE, force = FALSE, prune = FALSE;
  gboolean dry_run = FALSE, local = FALSE;
  GOptionEntry entries[] = {
    { "folder", 'f', 0, G_OPTION_ARG_STRING_ARRAY, &folders, "Sync only folders matching PATTERN (repeatable)", "PATTERN" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print only errors", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Print every folder and the protocol exchange (credentials are never shown)", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the summary as JSON", NULL },
    { "force", 0, 0, G_OPTION_ARG_NONE, &force, "Delete even when more than half of a folder would go; download folders deleted here again", NULL },
    { "prune-folders", 0, 0, G_OPTION_ARG_NONE, &prune, "Delete folders deleted on one side on the other side too", NULL },
    { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run, "Print what a sync would do and change nothing", NULL },
    { "local", 0, 0, G_OPTION_ARG_NONE, &local, "Sync in this process even when the daemon runs (after waiting for its sync of the account to end)", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &names, NULL, "ACCOUNT…" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("[ACCOUNT…] - sync accounts");
  g_autoptr (GError) error = NULL;
  g_autoptr (TdConfig) config = NULL;
  g_autoptr (GPtrArray) accounts = NULL;
  int code = TD_EXIT_OK;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "tidings sync: %s\n", error->message);
      return TD_EXIT_USAGE;
    }
  if (verbose)
    g_setenv ("G_MESSAGES_DEBUG", G_LOG_DOMAIN, FALSE);
  if ((config = td_cli_load_config (globals, &error)) == NULL
      || (accounts = pick_accounts (config, names, &error)) == NULL)
    {
      td_cli_print_error (error);
      return TD_EXIT_USAGE;
    }
  gboolean terminal = isatty (STDERR_FILENO);
  gboolean progress = !quiet && !json && terminal;
  /* The daemon syncs what it can; what only this process can do (a dry run, --force, a
   * protocol trace, folder patterns) or was asked to do here runs here. */
  gboolean daemon_can = !local && !dry_run && !force && !prune && !verbose
                        && only_exact_names (folders);
  gboolean daemon = FALSE;
  if (daemon_can && td_cli_sync_by_daemon (accounts, folders, json, quiet, progress, &code,
                                           &daemon))
    return code;
  if (!daemon_can && !local)
    daemon = daemon_runs ();
  /* On a terminal a live line; elsewhere a line per finished folder. */
  g_autoptr (TdCliProgress) display = !quiet && !json && !dry_run
                                        ? td_cli_progress_new (terminal) : NULL;
  TdSyncOptions options = {
    .folder_patterns = folders,
    .lock_wait_ms = local || daemon ? TD_CLI_DAEMON_LOCK_WAIT_MS : 2000,
    .force = force,
    .prune_folders = prune,
    .dry_run = dry_run,
  };
  int stopped_by = 0;
  g_autoptr (GPtrArray) reports = run_here (config, accounts, &options, display,
                                                      quiet || json, &stopped_by);
  for (guint i = 0; i < reports->len; i++)
    {
      TdAccountReport *r = g_ptr_array_index (reports, i);
      print_skipped (r);
      if (!json && (!quiet || td_account_report_exit_code (r) != 0))
        print_text (r, verbose, dry_run);
      if (code == TD_EXIT_OK)
        code = td_account_report_exit_code (r);
    }
  if (json)
    print_json (reports, dry_run);
  /* Stopped on request: the shell's code for the signal, as if it had ended the process. */
  return stopped_by != 0 ? 128 + stopped_by : code;
}
