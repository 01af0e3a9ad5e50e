/* td-cli-progress.h: TdCliProgress, the progress of `tidings sync` on standard error.
 *
 * On a terminal, one line redrawn in place: the folder (i of n), messages done of the plan's
 * total, bytes, the rate and the time left; redrawn at most ten times a second and at least
 * once a second while a download runs. Elsewhere (a log, a pipe), one line per finished
 * folder. Main thread only.
 */
#pragma once

#include "engine/sync/td-sync-runner.h"

G_BEGIN_DECLS

typedef struct _TdCliProgress TdCliProgress;

TdCliProgress *td_cli_progress_new (gboolean terminal);
void td_cli_progress_update (TdCliProgress *self, const TdSyncProgress *progress);
void td_cli_progress_clear (TdCliProgress *self);
void td_cli_progress_free (TdCliProgress *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdCliProgress, td_cli_progress_free)

char *td_cli_progress_format (const TdSyncProgress *progress, gint64 elapsed_us);

G_END_DECLS
