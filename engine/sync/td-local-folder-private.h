/* td-local-folder-private.h: what td-local-folder.c and td-local-push.c share about a
 * TdLocalFolder's rows in memory, and how its storage errors are reported. Never installed. */
#pragma once

#include "engine/sync/td-keyword-map.h"
#include "engine/sync/td-local-folder.h"

G_BEGIN_DECLS

struct _TdLocalFolder
{
  TdLocalSide side;
  TdStateDb *db;          /* borrowed */
  TdMaildirFolder *folder;
  TdStateFolder record;   /* the sync point after the last good sync */
  GHashTable *local_only; /* base set: kept here after the server dropped them */
  GPtrArray *skipped;     /* nullable: why files were left out of this sync, one line each */
  guint unreadable;       /* of @skipped, the files that could not be read */
  TdKeywordMap *keywords; /* the folder's keywords as flag bits */
  gboolean blind_known;   /* side.blind is set, from the first scan */
};

gboolean td_local_folder_fail (GError **error, GError *local, const char *folder);
gboolean td_local_folder_skip (TdLocalFolder *local, GError *why);
TdStateMessage *td_local_folder_find (TdLocalFolder *local, guint32 uid, guint *index);
void td_local_folder_insert (TdLocalFolder *local, TdStateMessage *message);
GHashTable *td_local_folder_scan (TdLocalFolder *local);
gboolean td_local_folder_begin (TdLocalFolder *local, GError **error);
gboolean td_local_folder_show_flags (TdLocalFolder *local, const char *base,
                                     TdMaildirEntry *entry, TdFlags flags, GError **error);

G_END_DECLS
