/* td-state-db.h: the SQLite state database: folders, sync points and messages.
 *
 * One file per user (mode 0600, WAL). Versioned by numbered migrations applied against
 * PRAGMA user_version, each in its own transaction. Callers group changes in
 * td_state_db_begin()/td_state_db_commit(), one transaction per batch. A TdStateDb is used
 * by one thread at a time (the sync runner hands it to its worker thread and waits).
 */
#pragma once

#include <glib.h>

#include "engine/common/td-types.h"

G_BEGIN_DECLS

typedef struct _TdStateDb TdStateDb;

typedef struct
{
  gint64 id;
  guint32 uidvalidity;
  guint32 uidnext;
  guint64 highestmodseq;
  gint64 cur_mtime;   /* ns; cur/ and new/ as last scanned (version 2) */
  gint64 new_mtime;
  gint64 scanned_at;  /* ns since the epoch */
} TdStateFolder;

typedef struct
{
  guint32 uid;
  char *base;
  TdFlags flags;
  guint64 size;
  char *message_id;
  gboolean pending;
  char *email_id;     /* nullable: the server's EMAILID (TdMessageInfo.email_id) */
} TdStateMessage;

/* A message max-size or max-age left on the server (versions 5 to 7). */
typedef struct
{
  guint32 uid;
  guint64 size;
  gint64 internal_date;   /* seconds since the epoch; -1 when not known */
  gint64 received_before; /* listed by UID only: received before this (seconds since the
                             epoch), size and date not known; 0 for a listed message */
} TdStateLeft;

TdStateDb *td_state_db_open (const char *path, GError **error);
void td_state_db_close (TdStateDb *db);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdStateDb, td_state_db_close)
int td_state_db_get_version (TdStateDb *db);
int td_state_db_latest_version (void);

gboolean td_state_db_begin (TdStateDb *db, GError **error);
gboolean td_state_db_commit (TdStateDb *db, GError **error);
void td_state_db_rollback (TdStateDb *db);

gboolean td_state_db_find_folder (TdStateDb *db, const char *account, const char *name,
                                  TdStateFolder *folder, GError **error);
gboolean td_state_db_get_folder (TdStateDb *db, const char *account, const char *name,
                                 TdStateFolder *folder, GError **error);
gboolean td_state_db_update_folder (TdStateDb *db, const TdStateFolder *folder, GError **error);
/* A folder's sync point with its message count, for deciding whether to open it at all. */
typedef struct
{
  char *name;
  TdStateFolder record;
  guint32 count;      /* messages held, and those left on the server (max-size, max-age) */
  guint32 last_uid;   /* the highest UID of either */
  guint32 pending;    /* downloads and uploads an earlier run left unfinished */
  guint32 left_let_through; /* messages left on the server that the limits let through now */
} TdStateFolderSummary;

void td_state_folder_summary_free (TdStateFolderSummary *summary);
GPtrArray *td_state_db_list_folders (TdStateDb *db, const char *account, guint64 max_size,
                                     gint64 not_before, GError **error);
char **td_state_db_peek_folder_names (const char *path, const char *account, GError **error);
GArray *td_state_db_load_messages (TdStateDb *db, gint64 folder_id, GError **error);
gboolean td_state_db_put_message (TdStateDb *db, gint64 folder_id, const TdStateMessage *message,
                                  GError **error);
gboolean td_state_db_set_flags (TdStateDb *db, gint64 folder_id, guint32 uid, TdFlags flags,
                                GError **error);
gboolean td_state_db_remove_message (TdStateDb *db, gint64 folder_id, guint32 uid,
                                     GError **error);
gboolean td_state_db_clear_messages (TdStateDb *db, gint64 folder_id, GError **error);
gboolean td_state_db_mark_published (TdStateDb *db, gint64 folder_id, guint32 uid,
                                     GError **error);

void td_state_message_clear (TdStateMessage *message);

/* A local message on its way to the server (version 3): see 0003-two-way.sql. */
typedef struct
{
  char *base;
  char *token;
  char *message_id;
  guint64 size;       /* the size the server gets, header added and bare LF as CRLF */
  TdFlags flags;
  guint32 uidvalidity;
  guint32 min_uid;    /* the folder's UIDNEXT before the upload */
  gboolean appended;  /* the server accepted it; only its UID is unknown */
  gboolean moved;     /* the intent of a move from another folder (version 8) */
} TdStateUpload;

void td_state_upload_clear (TdStateUpload *upload);
GArray *td_state_db_load_uploads (TdStateDb *db, gint64 folder_id, GError **error);
gboolean td_state_db_put_upload (TdStateDb *db, gint64 folder_id, const TdStateUpload *upload,
                                 GError **error);
gboolean td_state_db_remove_upload (TdStateDb *db, gint64 folder_id, const char *base,
                                    GError **error);
GHashTable *td_state_db_load_local_only (TdStateDb *db, gint64 folder_id, GError **error);
GArray *td_state_db_load_left (TdStateDb *db, gint64 folder_id, GError **error);
GPtrArray *td_state_db_load_keywords (TdStateDb *db, gint64 folder_id, GError **error);
gboolean td_state_db_put_keyword (TdStateDb *db, gint64 folder_id, guint slot, const char *name,
                                  GError **error);
gboolean td_state_db_put_left (TdStateDb *db, gint64 folder_id, const TdStateLeft *message,
                               GError **error);
gboolean td_state_db_remove_left (TdStateDb *db, gint64 folder_id, guint32 uid,
                                  GError **error);
gboolean td_state_db_put_local_only (TdStateDb *db, gint64 folder_id, const char *base,
                                     GError **error);
gboolean td_state_db_remove_local_only (TdStateDb *db, gint64 folder_id, const char *base,
                                        GError **error);
gboolean td_state_db_remove_folder (TdStateDb *db, gint64 folder_id, GError **error);

/* A message of a download-only mailbox (version 4): see 0004-downloads.sql. */
typedef struct
{
  char *unique_id;
  char *base;
  guint64 size;       /* the server's size */
  char *header_hash;  /* td_header_hash_finish(), nullable */
  gint64 downloaded;  /* seconds since the epoch */
  gboolean pending;
  gboolean deleting;  /* a DELE for it went out (or was about to) */
} TdStateDownload;

void td_state_download_clear (TdStateDownload *download);
GArray *td_state_db_load_downloads (TdStateDb *db, gint64 folder_id, GError **error);
gboolean td_state_db_put_download (TdStateDb *db, gint64 folder_id, const TdStateDownload *d,
                                   GError **error);
gboolean td_state_db_remove_download (TdStateDb *db, gint64 folder_id, const char *unique_id,
                                      const char *base, GError **error);

G_END_DECLS
