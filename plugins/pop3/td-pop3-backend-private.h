/* td-pop3-backend-private.h: what the POP3 backend's files share. Never installed. */
#pragma once

#include "td-pop3-backend.h"
#include "td-pop3-session.h"

G_BEGIN_DECLS

struct _TdPop3Backend
{
  TdBackend parent_instance;
  TdPop3Session *session;
  gboolean quit_sent; /* QUIT went out: the session is over, deletions committed or not */
  GArray *listing;    /* TdMessageInfo: the last UIDL and LIST, for the sizes and ids of
                         what is fetched */
};

void td_pop3_backend_login_async (TdPop3Backend *self, const char *secret,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean td_pop3_backend_login_finish (TdPop3Backend *self, GAsyncResult *result,
                                       GError **error);

G_END_DECLS
