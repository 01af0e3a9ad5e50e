/* td-imap-backend-private.h: what the IMAP backend's phases share. Never installed. */
#pragma once

#include "td-imap-backend.h"
#include "td-imap-session.h"

G_BEGIN_DECLS

struct _TdImapBackend
{
  TdBackend parent_instance;
  TdImapSession *session;
  GHashTable *raw_names; /* decoded name -> the server's own (modified UTF-7) name */
  gboolean qresync;      /* ENABLE QRESYNC succeeded on this session */
  TdFolderChanges *resync_changes; /* what a QRESYNC SELECT reported, for list_changes */
};

TdFolderChanges *td_imap_backend_take_resync_changes (TdImapBackend *self);
gboolean td_imap_vanished_parse (const TdImapResponse *response, GArray *ranges);

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
void td_imap_backend_list_messages_async (TdBackend *backend, GCancellable *cancellable,
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

G_END_DECLS
