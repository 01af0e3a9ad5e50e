/* td-imap-backend-private.h: what the IMAP backend's phases share. Never installed. */
#pragma once

#include "td-imap-backend.h"
#include "td-imap-session.h"

G_BEGIN_DECLS

/* What a listing of new messages asks for: enough to plan their download, and to leave on
 * the server what max-size and max-age keep off (the planner reads RFC822.SIZE as "this is
 * the listing of new ones"). */
#define TD_IMAP_NEW_ITEMS "UID FLAGS RFC822.SIZE INTERNALDATE"

/* A folder a round left selected, known well enough that the next round's commands for it
 * need no SELECT of their own: the same name, UIDVALIDITY and read-only mode, and no
 * command since that changed the selection (the session's count of them unmoved). */
typedef struct
{
  char *name;            /* nullable: nothing is known to be open */
  guint32 uidvalidity;
  gboolean read_only;
  guint selections;      /* td_imap_session_get_selections() right after its SELECT */
} TdImapLeftOpen;

struct _TdImapBackend
{
  TdBackend parent_instance;
  TdImapSession *session;
  GHashTable *raw_names; /* decoded name -> the server's own (modified UTF-7) name */
  gboolean qresync;      /* ENABLE QRESYNC succeeded on this session */
  TdFolderChanges *resync_changes; /* what a QRESYNC SELECT reported, for list_changes */
  GArray *prelisted;       /* TdMessageInfo: the new messages, listed behind the SELECT */
  guint32 prelisted_from;  /* ... from this UID on */
  char *watched;         /* the folder EXAMINEd for IDLE, or the folders NOTIFY names, if any */
  gboolean notify_refused; /* NOTIFY SET failed here: watch one folder with IDLE */
  TdImapLeftOpen left_open; /* the folder the last survey left selected, if any */
};

/* Commands one backend operation waits for together: how many are still out (plus any
 * holds taken while queueing), and the first failure among them. */
typedef struct
{
  guint pending;
  GError *error;
} TdImapGroup;

void td_imap_group_run (TdImapGroup *group, TdImapSession *session, const TdImapHandlers *handlers,
                        GTask *task, GAsyncReadyCallback callback, const char *command);
void td_imap_group_keep_error (TdImapGroup *group, GError *error);
gboolean td_imap_group_release (TdImapGroup *group);
gboolean td_imap_group_return_error (TdImapGroup *group, GTask *task);
void td_imap_group_complete (TdImapGroup *group, GTask *task);
void td_imap_group_clear (TdImapGroup *group);
void td_imap_group_free (TdImapGroup *group);
void td_imap_group_command_done (GObject *source, GAsyncResult *result, gpointer user_data);

/* td-imap-backend-sync.c: one folder's download, for fetch_messages and for rounds */
typedef struct _TdImapDownload TdImapDownload;
TdImapDownload *td_imap_download_new (TdImapSession *session, GArray *uids, TdMessageSink *sink);
guint td_imap_download_queue (TdImapDownload *d, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data,
                              gpointer (*copy) (gpointer));
void td_imap_download_fail (TdImapDownload *d, GError *error);
void td_imap_download_refuse (TdImapDownload *d, GError *error);
GError *td_imap_download_take_error (TdImapDownload *d);
void td_imap_download_free (TdImapDownload *d);

TdFolderChanges *td_imap_backend_take_resync_changes (TdImapBackend *self);
GPtrArray *td_imap_store_commands (GPtrArray *stores);
void td_imap_backend_forget_selected (TdImapBackend *self);
char *td_imap_backend_select_arguments (TdImapBackend *self, const TdSyncPoint *since);
char *td_imap_backend_quote_name (TdImapBackend *self, const char *name, GError **error);
gboolean td_imap_vanished_parse (const TdImapResponse *response, GArray *ranges);
gboolean td_imap_aged_parse (const TdImapResponse *response, GArray *ranges);
GStrv td_imap_backend_new_listing (TdImapBackend *self, guint32 from, gint64 *aged_before);

void td_imap_backend_login_async (TdImapBackend *self, const char *secret,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean td_imap_backend_login_finish (TdImapBackend *self, GAsyncResult *result,
                                       GError **error);

void td_imap_backend_list_changes_async (TdBackend *backend, const TdSyncPoint *since,
                                         GCancellable *cancellable, GAsyncReadyCallback callback,
                                         gpointer user_data);
TdFolderChanges *td_imap_backend_list_changes_finish (TdBackend *backend, GAsyncResult *result,
                                                      GError **error);
void td_imap_backend_list_messages_async (TdBackend *backend, guint32 first_uid,
                                          GCancellable *cancellable,
                                          GAsyncReadyCallback callback, gpointer user_data);
GArray *td_imap_backend_list_messages_finish (TdBackend *backend, GAsyncResult *result,
                                              GError **error);
void td_imap_backend_fetch_messages_async (TdBackend *backend, GArray *uids, TdMessageSink *sink,
                                           GCancellable *cancellable,
                                           GAsyncReadyCallback callback, gpointer user_data);
gboolean td_imap_backend_fetch_messages_finish (TdBackend *backend, GAsyncResult *result,
                                                GError **error);
void td_imap_backend_store_flags_async (TdBackend *backend, GPtrArray *stores,
                                        GCancellable *cancellable, GAsyncReadyCallback callback,
                                        gpointer user_data);
gboolean td_imap_backend_store_flags_finish (TdBackend *backend, GAsyncResult *result,
                                             GError **error);

void td_imap_backend_survey_folders_async (TdBackend *backend, GPtrArray *queries,
                                           GCancellable *cancellable,
                                           GAsyncReadyCallback callback, gpointer user_data);
GPtrArray *td_imap_backend_survey_folders_finish (TdBackend *backend, GAsyncResult *result,
                                                  GError **error);

void td_imap_backend_work_folders_async (TdBackend *backend, GPtrArray *work,
                                         GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data);
gboolean td_imap_backend_work_folders_finish (TdBackend *backend, GAsyncResult *result,
                                              GError **error);

void td_imap_backend_push_class_init (TdBackendClass *backend_class);
void td_imap_backend_watch_class_init (TdBackendClass *backend_class);

G_END_DECLS
