/* td-local-folder.h: one folder's local side during a sync: its Maildir directory and its
 * rows in the state DB.
 *
 * Every function here is plain blocking code (scans, renames, fsync, SQLite transactions)
 * meant for a worker thread; the sync runner calls one at a time per folder and never
 * touches the folder while one runs. Errors come back in the TD_ERROR domain.
 */
#pragma once

#include "storage/td-maildir.h"
#include "storage/td-state-db.h"
#include "engine/backend/td-backend.h"
#include "engine/common/td-types.h"
#include "engine/sync/td-sync-policy.h"

G_BEGIN_DECLS

/* What a folder's local side holds, as the planner reads it: the state rows and what the
 * scan found. Plain data, owned by the TdLocalFolder it comes from; the planner only reads
 * it, and the tests build one by hand. */
typedef struct
{
  char *account;
  char *name;
  GArray *messages;       /* TdStateMessage, by ascending UID */
  gboolean untracked;     /* never synced, yet the Maildir already holds messages */
  GHashTable *disk;       /* base -> TdMaildirEntry, when the folder was scanned */
  GArray *local_flags;    /* TdLocalFlags: messages whose flags the reader changed */
  GArray *uploads;        /* TdStateUpload: on their way to the server */
  GPtrArray *new_files;   /* base names of files the server has never had */
  GArray *deleted;        /* guint32: UIDs whose files the mail reader deleted */
  gboolean wiped;         /* no file left, though the folder held messages */
  GArray *left;           /* TdStateLeft: what max-size or max-age left on the server, by UID */
  TdFlags blind;          /* keyword bits no file name could show at the scan (no letter) */
  const char *const *keywords; /* the names of the keyword bits, by slot */
} TdLocalSide;

const TdStateMessage *td_local_side_find (const TdLocalSide *side, guint32 uid, guint *index);
TdFlags td_local_side_file_flags (const TdLocalSide *side, const TdMaildirEntry *entry,
                                  TdFlags base);

/* The folder itself: its directory, its DB record and the side above. Opaque outside
 * td-local-folder.c and td-local-push.c. */
typedef struct _TdLocalFolder TdLocalFolder;

/* A message whose flags on disk differ from the last common state. */
typedef struct
{
  guint32 uid;
  TdFlags flags;
} TdLocalFlags;

/* A message whose flags change, as the plan decided (td-folder-plan.h). */
typedef struct
{
  guint32 uid;
  TdFlags base;    /* what both sides had after the last sync (the row) */
  TdFlags merged;  /* the result: the row's; the file's unless the reader changed it again
                      since the scan (then td_flags_merge of @base, @merged and the file) */
} TdFlagPlan;

TdLocalFolder *td_local_folder_prepare (TdStateDb *db, TdMaildir *maildir, const char *account,
                                        const char *name, char **components, gboolean scan,
                                        gboolean dry_run, GError **error);
void td_local_folder_free (TdLocalFolder *local);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdLocalFolder, td_local_folder_free)

const TdLocalSide *td_local_folder_get_side (TdLocalFolder *local);
void td_local_folder_note_skipped (TdLocalFolder *local, char *why);
GPtrArray *td_local_folder_take_skipped (TdLocalFolder *local, guint *unreadable);
TdMaildirFolder *td_local_folder_get_maildir_folder (TdLocalFolder *local);
TdFlags td_local_folder_keyword_bits (TdLocalFolder *local, const char *names);
void td_local_folder_absorb_keywords (TdLocalFolder *local, TdFolderChanges *changes);
const char *const *td_local_folder_get_keyword_names (TdLocalFolder *local);
guint td_local_folder_count_unshown_keywords (TdLocalFolder *local);
TdFlags td_local_folder_carry_flags (TdLocalFolder *from, TdLocalFolder *to, TdFlags flags);
void td_local_folder_sync_point (TdLocalFolder *local, gint64 not_before, TdSyncPoint *point);
void td_local_folder_ensure_scanned (TdLocalFolder *local);
gboolean td_local_folder_apply_plan (TdLocalFolder *local, const GArray *flags,
                                     const GArray *removals, gboolean remove_here,
                                     const GArray *left_new, const GArray *left_gone,
                                     guint *flags_changed, guint *removed, GError **error);
gboolean td_local_folder_commit_batches (GPtrArray *locals, TdMaildir *maildir,
                                         GPtrArray *batches, GError **error);
gboolean td_local_folder_rematch (TdLocalFolder *local, GArray *server, guint32 uidvalidity,
                                  GArray *to_fetch, guint *matched, GError **error);
gboolean td_local_folder_leave_on_server (TdLocalFolder *local, GArray *server, GArray *to_fetch,
                                          const TdSyncPolicy *policy, guint *too_big,
                                          guint *too_old, GError **error);
gboolean td_local_folder_adopt (TdLocalFolder *local, GArray *server, guint32 uidvalidity,
                                const char *mbsync_state, GArray *to_fetch, guint *matched,
                                GError **error);
/* One folder's share of td_local_folder_finish_many(). */
typedef struct
{
  TdLocalFolder *local;
  const GArray *flags;          /* TdFlagPlan: the server's flags to take here */
  const GArray *removals;       /* what the server removed */
  gboolean remove_here;
  const TdFolderState *state;   /* the sync point to record */
  const GArray *left_new;       /* TdStateLeft: what max-size or max-age leave on the server */
  const GArray *left_gone;      /* guint32: those records to drop */
  guint flags_changed, removed; /* out */
} TdLocalFinish;

gboolean td_local_folder_finish_many (TdLocalFinish *finishes, guint n, GError **error);
gboolean td_local_folder_save (TdLocalFolder *local, const TdFolderState *state,
                               GError **error);

/* Local changes going to the server (td-local-push.c). */
gboolean td_local_folder_forget_deleted (TdLocalFolder *local, GArray *uids, gboolean expunged,
                                         GError **error);
guint32 td_local_folder_unsettled_from (TdLocalFolder *local);
gboolean td_local_folder_resolve_uploads (TdLocalFolder *local, GArray *server, gboolean last_look,
                                          guint *found, guint *moved, guint *left,
                                          GError **error);
gboolean td_local_folder_begin_uploads (TdLocalFolder *local, const TdFolderState *state,
                                        GError **error);
GPtrArray *td_local_folder_open_uploads (TdLocalFolder *local, guint first, guint count,
                                         GError **error);
gboolean td_local_folder_finish_uploads (TdLocalFolder *local, GPtrArray *sent, GError **error);

/* Moves (td-local-moves.c). A move the reader made: a message whose file left folder @from, found in a
 * folder here as a new file, goes there on the server without its body being sent again. */
typedef struct
{
  guint32 uid;             /* its UID in the folder it left */
  char *base;              /* its file's base name where it is now */
  char *message_id;
  guint64 size;            /* the server's */
  TdFlags flags;           /* the server's: its row's in the folder it left */
} TdLocalMove;

void td_local_move_clear (TdLocalMove *move);
gboolean td_local_folder_identify (TdLocalFolder *local, const char *base, char **message_id,
                                   guint64 *size, GError **error);
gboolean td_local_folder_begin_moves (TdLocalFolder *to, const GArray *moves,
                                      const TdFolderState *state, GError **error);
gboolean td_local_folder_rename_rows (TdLocalFolder *local, const GArray *moves,
                                      GError **error);
gboolean td_local_folder_finish_moves (TdLocalFolder *from, TdLocalFolder *to,
                                       const GArray *moves, const GArray *pairs,
                                       gboolean expunged, guint *recorded, GError **error);

/* A message the server moved from one folder to another, renamed here. */
typedef struct
{
  guint32 uid;             /* its UID (and row) in the folder it left */
  guint32 to_uid;          /* its UID where it is now */
  TdFlags flags;           /* the server's flags there */
} TdServerMove;

gboolean td_local_folder_take_moved (TdLocalFolder *from, TdLocalFolder *to, const GArray *moves,
                                     guint *taken, GError **error);

/* One upload under way: the DB row it belongs to and what the backend sends. */
typedef struct
{
  TdBackendUpload upload;
  guint row;           /* its index in local->uploads */
} TdLocalUpload;

void td_local_upload_free (TdLocalUpload *upload);

G_END_DECLS
