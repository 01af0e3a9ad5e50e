/* td-hooks.h: the account's commands run after syncs (post-sync-command, new-mail-command),
 * for the CLI and the daemon alike. Main thread. */
#pragma once

#include <gio/gio.h>

#include "engine/common/td-config.h"
#include "engine/sync/td-sync-runner.h"

G_BEGIN_DECLS

/* What one or more syncs of an account did, as the commands are told it. */
typedef struct
{
  guint new_messages;    /* messages downloaded */
  int exit_code;         /* the last sync's, as `tidings sync` would exit */
  GPtrArray *changed;    /* char *: folders where anything changed, each once, in order */
} TdSyncOutcome;

TdSyncOutcome *td_sync_outcome_new (void);
void td_sync_outcome_add (TdSyncOutcome *outcome, const TdAccountReport *report);
gboolean td_sync_outcome_is_empty (const TdSyncOutcome *outcome);
void td_sync_outcome_free (TdSyncOutcome *outcome);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdSyncOutcome, td_sync_outcome_free)

int td_account_report_exit_code (const TdAccountReport *report);

/* Where the commands' output goes: a line at a time, without its newline; with @failure,
 * the line says why a command failed (it could not be run, exited with an error, was
 * stopped after command-timeout). */
typedef void (*TdHookOutputFunc) (const char *account, const char *key, const char *line,
                                  gboolean failure, gpointer user_data);

gboolean td_hooks_wanted (const TdAccountConfig *account, const TdSyncOutcome *outcome);
void td_hooks_run_async (const TdAccountConfig *account, const TdSyncOutcome *outcome,
                         TdHookOutputFunc output, gpointer output_data,
                         GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data);
void td_hooks_run_finish (GAsyncResult *result);

G_END_DECLS
