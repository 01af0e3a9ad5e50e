/* td-download-folder.h: the local side of a download-only mailbox (POP3): its Maildir and
 * the state DB's record of what was downloaded, by the server's unique id.
 *
 * Plain synchronous code: the sync runner calls it on its worker thread, one call at a time.
 */
#pragma once

#include "storage/td-maildir.h"
#include "storage/td-state-db.h"
#include "engine/common/td-types.h"

G_BEGIN_DECLS

/* A mailbox smaller than this never looks like a server migration: with so few messages,
 * all of them being new is ordinary. */
#define TD_MIGRATION_MIN_MESSAGES 10

typedef struct
{
  TdStateDb *db;            /* borrowed */
  char *account;
  TdMaildirFolder *folder;
  TdStateFolder record;
  GArray *downloads;        /* TdStateDownload, none pending once prepared */
  gboolean dry_run;         /* only looked at: nothing is written */
} TdDownloadFolder;

/* What one run does with the server's messages. */
typedef struct
{
  GArray *to_fetch;         /* TdUidRange of message numbers */
  GArray *to_delete;        /* guint32: known messages to delete (keep-on-server, days) */
  GHashTable *fetching;     /* message number -> TdMessageInfo* borrowed from the listing */
  guint known;              /* listed messages already downloaded */
  guint forgotten;          /* records dropped: the server no longer has those messages */
  gboolean moved;           /* most unique ids look changed: nothing planned but @candidates */
  GArray *candidates;       /* TdUidRange: unknown messages the size of a vanished record */
  guint vanished, expected, unknown;
  guint too_big;            /* unknown messages bigger than max-size: left on the server */
} TdDownloadPlan;

void td_download_plan_clear (TdDownloadPlan *plan);

TdDownloadFolder *td_download_folder_prepare (TdStateDb *db, TdMaildir *maildir,
                                              const char *account, gboolean dry_run,
                                              GError **error);
void td_download_folder_free (TdDownloadFolder *local);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdDownloadFolder, td_download_folder_free)

gboolean td_download_folder_plan (TdDownloadFolder *local, GArray *listing,
                                  gboolean keep_on_server, guint delete_after_days,
                                  guint64 max_size, gboolean force, gint64 now,
                                  TdDownloadPlan *plan, GError **error);
GError *td_download_folder_move_error (TdDownloadFolder *local, const TdDownloadPlan *plan,
                                      guint matched);
gboolean td_download_folder_rematch (TdDownloadFolder *local, GArray *listing, GArray *hashed,
                                     guint *matched, GError **error);
gboolean td_download_folder_mark_deleting (TdDownloadFolder *local, GPtrArray *unique_ids,
                                           GError **error);
gboolean td_download_folder_commit_batch (TdDownloadFolder *local, TdMaildir *maildir,
                                          GPtrArray *batch, gint64 now, GError **error);

G_END_DECLS
