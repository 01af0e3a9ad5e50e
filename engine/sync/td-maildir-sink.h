/* td-maildir-sink.h: the engine's TdMessageSink, writing downloads into Maildir tmp/.
 *
 * Each message streams into its own tmp/ file; committed messages collect into a batch that
 * the sync runner takes and makes durable off the main loop. Main loop thread only.
 */
#pragma once

#include "storage/td-maildir.h"
#include "engine/backend/td-message-sink.h"

G_BEGIN_DECLS

#define TD_MAILDIR_SINK_BATCH_COUNT 200
#define TD_MAILDIR_SINK_BATCH_BYTES (32 * 1024 * 1024)
/* A batch is made durable this long after its first message came, full or not, so a
 * kill or a power cut loses at most seconds of download. */
#define TD_MAILDIR_SINK_BATCH_MAX_AGE_US (2 * G_USEC_PER_SEC)

/* A downloaded message, written and closed in tmp/, not yet durable or visible. */
typedef struct
{
  TdMaildirDelivery *delivery;
  TdMessageInfo info;
} TdPendingMessage;

void td_pending_message_free (TdPendingMessage *message);

#define TD_TYPE_MAILDIR_SINK (td_maildir_sink_get_type ())
G_DECLARE_FINAL_TYPE (TdMaildirSink, td_maildir_sink, TD, MAILDIR_SINK, GObject)

typedef void (*TdBatchReadyFunc) (TdMaildirSink *sink, gpointer user_data);

TdMaildirSink *td_maildir_sink_new (TdMaildirFolder *folder, TdBatchReadyFunc ready,
                                    gpointer user_data);
GPtrArray *td_maildir_sink_take_batch (TdMaildirSink *self);
gboolean td_maildir_sink_batch_is_full (TdMaildirSink *self);
void td_maildir_sink_get_batch (TdMaildirSink *self, guint *messages, guint64 *bytes);
gboolean td_maildir_sink_batch_is_due (TdMaildirSink *self, gint64 now);
void td_maildir_sink_fail (TdMaildirSink *self, const GError *error);
void td_maildir_sink_get_received (TdMaildirSink *self, guint *messages, guint64 *bytes);

G_END_DECLS
