/* td-sync-summary.h: what a sync did, in the words every face uses (the `tidings sync`
 * summary line, the daemon's log). Pure functions; any thread. */
#pragma once

#include <glib.h>

#include "engine/sync/td-sync-runner.h"

G_BEGIN_DECLS

/* What a sync did, as its summary line counts it. */
typedef struct
{
  guint added;
  guint64 bytes;
  guint flags_changed;
  guint removed;
  guint uploaded;
  guint flags_pushed;  /* messages whose flags were changed on the server */
  guint deleted_remote; /* messages deleted on the server */
  guint too_big;       /* messages over max-size left on the server */
  guint too_old;       /* messages older than max-age left on the server */
  guint moved;         /* messages the reader moved, moved on the server */
} TdSyncCounts;

void td_sync_counts_of_report (const TdAccountReport *report, TdSyncCounts *counts,
                               guint *unchanged, guint *failed);
char *td_sync_counts_describe (const TdSyncCounts *counts);
char *td_sync_folders_describe (guint folders, guint unchanged);

G_END_DECLS
