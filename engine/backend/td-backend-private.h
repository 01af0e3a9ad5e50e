/* td-backend-private.h: what td-backend.c shares with the other files of the base class.
 * Never installed. */
#pragma once

#include "engine/backend/td-backend.h"

G_BEGIN_DECLS

/* td-backend-rounds.c: the rounds of a backend that cannot pipeline them. */
void td_backend_default_survey_folders_async (TdBackend *self, GPtrArray *queries,
                                              GCancellable *cancellable,
                                              GAsyncReadyCallback callback, gpointer user_data);
GPtrArray *td_backend_default_survey_folders_finish (TdBackend *self, GAsyncResult *result,
                                                     GError **error);

void td_backend_default_work_folders_async (TdBackend *self, GPtrArray *work,
                                            GCancellable *cancellable,
                                            GAsyncReadyCallback callback, gpointer user_data);
gboolean td_backend_default_work_folders_finish (TdBackend *self, GAsyncResult *result,
                                                 GError **error);

G_END_DECLS
