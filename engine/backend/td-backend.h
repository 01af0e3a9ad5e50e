/* td-backend.h: the base class every protocol plugin implements.
 *
 * A backend reports what the server has and streams messages into a TdMessageSink; it never
 * touches the Maildir or the state DB. All calls happen on the main loop thread, one at a
 * time: the td_backend_*_async() wrappers refuse a call while another is under way.
 */
#pragma once

#include <gio/gio.h>

#include "engine/common/td-config.h"
#include "engine/backend/td-message-sink.h"
#include "engine/common/td-types.h"

G_BEGIN_DECLS

typedef enum
{
  TD_BACKEND_CAP_FOLDERS = 1 << 0,      /* more than one folder; otherwise just INBOX */
  TD_BACKEND_CAP_FLAGS = 1 << 1,        /* messages carry flags */
  TD_BACKEND_CAP_CHANGES_SINCE = 1 << 2,/* list_changes can skip unchanged messages */
  TD_BACKEND_CAP_APPEND = 1 << 3,
  TD_BACKEND_CAP_STORE = 1 << 4,
  TD_BACKEND_CAP_EXPUNGE = 1 << 5,
  TD_BACKEND_CAP_CREATE_FOLDER = 1 << 6,
  TD_BACKEND_CAP_WATCH = 1 << 7,
  /* Messages are known by TdMessageInfo.unique_id (POP3 UIDL), not by UID: the mailbox is
   * download-only, its "UIDs" are numbers for one session, and expunge commits (or not) as
   * the session ends. */
  TD_BACKEND_CAP_UNIQUE_IDS = 1 << 8,
  /* Messages of the open folder can be moved to another folder on the server, bodies not
   * sent again (IMAP: UID MOVE, else COPY and deleting the originals). */
  TD_BACKEND_CAP_MOVE = 1 << 9,
} TdBackendCaps;

#define TD_TYPE_BACKEND (td_backend_get_type ())
G_DECLARE_DERIVABLE_TYPE (TdBackend, td_backend, TD, BACKEND, GObject)

struct _TdBackendClass
{
  GObjectClass parent_class;

  TdBackendCaps (*get_caps) (TdBackend *self);

  void (*connect_async) (TdBackend *self, const char *secret, GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data);
  gboolean (*connect_finish) (TdBackend *self, GAsyncResult *result, GError **error);

  void (*list_folders_async) (TdBackend *self, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data);
  GPtrArray *(*list_folders_finish) (TdBackend *self, GAsyncResult *result, GError **error);

  void (*open_folder_async) (TdBackend *self, const char *name, gboolean read_only,
                             const TdSyncPoint *since, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
  gboolean (*open_folder_finish) (TdBackend *self, GAsyncResult *result, TdFolderState *state,
                                  GError **error);

  void (*list_changes_async) (TdBackend *self, const TdSyncPoint *since,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data);
  TdFolderChanges *(*list_changes_finish) (TdBackend *self, GAsyncResult *result,
                                           GError **error);

  void (*list_messages_async) (TdBackend *self, guint32 first_uid, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
  GArray *(*list_messages_finish) (TdBackend *self, GAsyncResult *result, GError **error);

  void (*fetch_messages_async) (TdBackend *self, GArray *uids, TdMessageSink *sink,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data);
  gboolean (*fetch_messages_finish) (TdBackend *self, GAsyncResult *result, GError **error);

  void (*disconnect_async) (TdBackend *self, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data);
  gboolean (*disconnect_finish) (TdBackend *self, GAsyncResult *result, GError **error);

  /* Optional (TD_BACKEND_CAP_STORE): set and clear flags on the open folder. @stores holds
   * TdBackendFlagStore elements. */
  void (*store_flags_async) (TdBackend *self, GPtrArray *stores, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
  gboolean (*store_flags_finish) (TdBackend *self, GAsyncResult *result, GError **error);

  /* Optional (TD_BACKEND_CAP_APPEND): upload messages into folder @name. */
  void (*append_async) (TdBackend *self, const char *name, GPtrArray *uploads,
                        GCancellable *cancellable, GAsyncReadyCallback callback,
                        gpointer user_data);
  gboolean (*append_finish) (TdBackend *self, GAsyncResult *result, GError **error);

  /* Optional (TD_BACKEND_CAP_EXPUNGE): delete messages of the open folder. */
  void (*expunge_async) (TdBackend *self, GArray *uids, GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data);
  gboolean (*expunge_finish) (TdBackend *self, GAsyncResult *result, gboolean *expunged,
                              GError **error);

  /* Optional (TD_BACKEND_CAP_CREATE_FOLDER): create (and subscribe) or delete a folder. */
  void (*create_folder_async) (TdBackend *self, const char *name, gboolean create,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data);
  gboolean (*create_folder_finish) (TdBackend *self, GAsyncResult *result, GError **error);

  /* Optional: td_header_hash of each message in @uids, without downloading the bodies (a
   * download-only backend's way to recognise messages whose unique id changed). Returns
   * TdMessageInfo with uid, size and header_hash. */
  void (*hash_headers_async) (TdBackend *self, GArray *uids, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data);
  GArray *(*hash_headers_finish) (TdBackend *self, GAsyncResult *result, GError **error);

  /* Optional (TD_BACKEND_CAP_WATCH): wait until one of @folders changes on the server. */
  void (*watch_async) (TdBackend *self, const char *const *folders, GCancellable *cancellable,
                       GAsyncReadyCallback callback, gpointer user_data);
  char **(*watch_finish) (TdBackend *self, GAsyncResult *result, GError **error);
  guint (*get_watch_limit) (TdBackend *self);

  /* Opens each of @queries (TdFolderQuery) and reports its state and, where the server can
   * tell in the same round, its changes: a TdFolderSurvey per query, in order. The default
   * opens them one after another with open_folder and list_changes; a backend that can
   * pipeline them across folders does so. Afterwards no folder is open. */
  void (*survey_folders_async) (TdBackend *self, GPtrArray *queries, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
  GPtrArray *(*survey_folders_finish) (TdBackend *self, GAsyncResult *result, GError **error);

  /* Carries out @work (TdFolderWork) folder by folder: each opened again, its flags stored,
   * its messages downloaded into its sink. The default goes one folder after another with
   * open_folder, store_flags and fetch_messages; a backend that can pipeline the round
   * across folders does so. A folder that fails fails alone, in its work. */
  void (*work_folders_async) (TdBackend *self, GPtrArray *work, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data);
  gboolean (*work_folders_finish) (TdBackend *self, GAsyncResult *result, GError **error);

  /* Optional (TD_BACKEND_CAP_MOVE): move messages of the open folder into folder @target.
   * Returns TdUidMove pairs for the ones whose new UID the server told. */
  void (*move_async) (TdBackend *self, GArray *uids, const char *target,
                      GCancellable *cancellable, GAsyncReadyCallback callback,
                      gpointer user_data);
  GArray *(*move_finish) (TdBackend *self, GAsyncResult *result, gboolean *expunged,
                          GError **error);

  gpointer padding[2];
};

/* One message a move took to another folder: its UID there and here. */
typedef struct
{
  guint32 from;
  guint32 to;
} TdUidMove;

/* One folder's share of a round of work, made from its plan. */
typedef struct
{
  char *name;           /* as list_folders reported it */
  gboolean read_only;
  guint32 uidvalidity;  /* what the plan was made against: any other fails the folder */
  GPtrArray *stores;    /* TdBackendFlagStore, nullable: flags to set on the server */
  GArray *uids;         /* TdUidRange, nullable: what to download */
  TdMessageSink *sink;  /* where @uids go */
  GError *error;        /* out, nullable: why this folder failed */
} TdFolderWork;

TdFolderWork *td_folder_work_new (const char *name, gboolean read_only, guint32 uidvalidity);
void td_folder_work_free (TdFolderWork *work);
GError *td_folder_work_renumbered (const char *name);

/* One folder a survey opens: what the last good sync knew of it. */
typedef struct
{
  char *name;          /* as list_folders reported it */
  gboolean read_only;  /* open without the right to change anything */
  TdSyncPoint since;   /* new messages are listed from since.uidnext, else last_uid + 1 */
} TdFolderQuery;

/* What opening a folder in a survey told. */
typedef struct
{
  TdFolderState state;
  /* Nullable: the changes since the query's point (its new messages from the query's
   * first new UID on). NULL where the round could not tell them all (the folder was
   * renumbered, or a listing needs an answer first): list_changes after opening it. */
  TdFolderChanges *changes;
  GError *error;       /* nullable: this folder could not be opened; the others may have been */
} TdFolderSurvey;

TdFolderQuery *td_folder_query_new (const char *name, gboolean read_only,
                                    const TdSyncPoint *since);
void td_folder_query_free (TdFolderQuery *query);
TdFolderSurvey *td_folder_survey_new (void);
void td_folder_survey_free (TdFolderSurvey *survey);
guint32 td_folder_query_new_from (const TdFolderQuery *query);

/* A local message to upload: its bytes as the server gets them (CRLF), their exact count,
 * its flags and date. The backend fills in @uid when the server tells it (UIDPLUS). */
typedef struct
{
  GInputStream *stream;
  guint64 size;
  TdFlags flags;
  const char *const *keywords; /* nullable: the names of @flags' keyword bits, by slot */
  gint64 date; /* seconds since the epoch */
  guint32 uid; /* out: 0 when unknown */
} TdBackendUpload;


/* One flag change for a set of messages: they get @add and lose @remove. */
typedef struct
{
  GArray *uids; /* TdUidRange */
  TdFlags add;
  TdFlags remove;
  const char *const *keywords; /* nullable: the names of the keyword bits, by slot (the
                                  folder's TdKeywordMap, which outlives the store) */
} TdBackendFlagStore;

TdAccountConfig *td_backend_get_account (TdBackend *self);
void td_backend_set_list_cutoff (TdBackend *self, gint64 not_before);
gint64 td_backend_get_list_cutoff (TdBackend *self);
TdBackendCaps td_backend_get_caps (TdBackend *self);

void td_backend_connect_async (TdBackend *self, const char *secret, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
gboolean td_backend_connect_finish (TdBackend *self, GAsyncResult *result, GError **error);

void td_backend_list_folders_async (TdBackend *self, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data);
GPtrArray *td_backend_list_folders_finish (TdBackend *self, GAsyncResult *result,
                                           GError **error);

void td_backend_open_folder_async (TdBackend *self, const char *name, gboolean read_only,
                                   const TdSyncPoint *since, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);
gboolean td_backend_open_folder_finish (TdBackend *self, GAsyncResult *result,
                                        TdFolderState *state, GError **error);

void td_backend_list_changes_async (TdBackend *self, const TdSyncPoint *since,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data);
TdFolderChanges *td_backend_list_changes_finish (TdBackend *self, GAsyncResult *result,
                                                 GError **error);

void td_backend_list_messages_async (TdBackend *self, guint32 first_uid,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data);
GArray *td_backend_list_messages_finish (TdBackend *self, GAsyncResult *result, GError **error);

void td_backend_fetch_messages_async (TdBackend *self, GArray *uids, TdMessageSink *sink,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data);
gboolean td_backend_fetch_messages_finish (TdBackend *self, GAsyncResult *result,
                                           GError **error);

void td_backend_store_flags_async (TdBackend *self, GPtrArray *stores, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);
gboolean td_backend_store_flags_finish (TdBackend *self, GAsyncResult *result, GError **error);

void td_backend_append_async (TdBackend *self, const char *name, GPtrArray *uploads,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data);
gboolean td_backend_append_finish (TdBackend *self, GAsyncResult *result, GError **error);
void td_backend_expunge_async (TdBackend *self, GArray *uids, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
gboolean td_backend_expunge_finish (TdBackend *self, GAsyncResult *result, gboolean *expunged,
                                    GError **error);
void td_backend_move_async (TdBackend *self, GArray *uids, const char *target,
                            GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data);
GArray *td_backend_move_finish (TdBackend *self, GAsyncResult *result, gboolean *expunged,
                                GError **error);
void td_backend_create_folder_async (TdBackend *self, const char *name, gboolean create,
                                     GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data);
gboolean td_backend_create_folder_finish (TdBackend *self, GAsyncResult *result,
                                          GError **error);

void td_backend_hash_headers_async (TdBackend *self, GArray *uids, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data);
GArray *td_backend_hash_headers_finish (TdBackend *self, GAsyncResult *result, GError **error);

guint td_backend_get_watch_limit (TdBackend *self);
void td_backend_watch_async (TdBackend *self, const char *const *folders,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data);
char **td_backend_watch_finish (TdBackend *self, GAsyncResult *result, GError **error);
void td_backend_survey_folders_async (TdBackend *self, GPtrArray *queries,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data);
GPtrArray *td_backend_survey_folders_finish (TdBackend *self, GAsyncResult *result,
                                             GError **error);
void td_backend_work_folders_async (TdBackend *self, GPtrArray *work, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data);
gboolean td_backend_work_folders_finish (TdBackend *self, GAsyncResult *result, GError **error);

void td_backend_disconnect_async (TdBackend *self, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
gboolean td_backend_disconnect_finish (TdBackend *self, GAsyncResult *result, GError **error);

G_END_DECLS
