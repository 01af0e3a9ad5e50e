/* td-maildir-sink.c: TdMaildirSink: streaming downloads into Maildir tmp/ files. */
#include "engine/sync/td-maildir-sink.h"

#include "engine/common/td-error.h"

struct _TdMaildirSink
{
  GObject parent_instance;
  TdMaildirFolder *folder;
  TdMaildirDelivery *current;
  GPtrArray *batch; /* TdPendingMessage */
  guint64 batch_bytes;
  gint64 batch_started;    /* monotonic time of the batch's first message */
  guint received;          /* messages closed in tmp/ so far */
  guint64 received_bytes;  /* bytes written so far, the message under way included */
  GError *failure;
  TdBatchReadyFunc ready;
  gpointer ready_data;
};

static void sink_iface_init (TdMessageSinkInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TdMaildirSink, td_maildir_sink, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TD_TYPE_MESSAGE_SINK, sink_iface_init))

void
td_pending_message_free (TdPendingMessage *message)
{
  td_maildir_delivery_free (message->delivery);
  td_message_info_clear (&message->info);
  g_free (message);
}

static gboolean
as_local_error (GError **error, GError *local)
{
  g_set_error (error, TD_ERROR, TD_ERROR_LOCAL_IO, "%s", local->message);
  g_error_free (local);
  return FALSE;
}

static gboolean
sink_begin (TdMessageSink *sink, GError **error)
{
  TdMaildirSink *self = TD_MAILDIR_SINK (sink);
  GError *local = NULL;

  if (self->failure != NULL)
    {
      g_propagate_error (error, g_error_copy (self->failure));
      return FALSE;
    }
  g_clear_pointer (&self->current, td_maildir_delivery_free);
  self->current = td_maildir_delivery_begin (self->folder, &local);
  return self->current != NULL || as_local_error (error, local);
}

static gboolean
sink_write (TdMessageSink *sink, const guint8 *data, gsize len, GError **error)
{
  TdMaildirSink *self = TD_MAILDIR_SINK (sink);
  GError *local = NULL;

  g_return_val_if_fail (self->current != NULL, FALSE);
  self->received_bytes += len;
  return td_maildir_delivery_write (self->current, data, len, &local)
         || as_local_error (error, local);
}

static gboolean
sink_commit (TdMessageSink *sink, const TdMessageInfo *info, GError **error)
{
  TdMaildirSink *self = TD_MAILDIR_SINK (sink);
  GError *local = NULL;

  g_return_val_if_fail (self->current != NULL, FALSE);
  if (!td_maildir_delivery_close (self->current, info->internal_date, &local))
    {
      g_clear_pointer (&self->current, td_maildir_delivery_free);
      return as_local_error (error, local);
    }
  TdPendingMessage *m = g_new0 (TdPendingMessage, 1);
  m->delivery = g_steal_pointer (&self->current);
  td_message_info_copy (&m->info, info);
  self->batch_bytes += td_maildir_delivery_get_size (m->delivery);
  if (self->batch->len == 0)
    self->batch_started = g_get_monotonic_time ();
  g_ptr_array_add (self->batch, m);
  self->received++;
  if (td_maildir_sink_batch_is_full (self) && self->ready != NULL)
    self->ready (self, self->ready_data);
  return TRUE;
}

static void
sink_abort (TdMessageSink *sink)
{
  g_clear_pointer (&TD_MAILDIR_SINK (sink)->current, td_maildir_delivery_free);
}

static void
sink_iface_init (TdMessageSinkInterface *iface)
{
  iface->begin = sink_begin;
  iface->write = sink_write;
  iface->commit = sink_commit;
  iface->abort = sink_abort;
}

static void
td_maildir_sink_finalize (GObject *object)
{
  TdMaildirSink *self = TD_MAILDIR_SINK (object);

  g_clear_pointer (&self->current, td_maildir_delivery_free);
  g_ptr_array_unref (self->batch);
  g_clear_error (&self->failure);
  td_maildir_folder_unref (self->folder);
  G_OBJECT_CLASS (td_maildir_sink_parent_class)->finalize (object);
}

static void
td_maildir_sink_class_init (TdMaildirSinkClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = td_maildir_sink_finalize;
}

static void
td_maildir_sink_init (TdMaildirSink *self)
{
  self->batch = g_ptr_array_new_with_free_func ((GDestroyNotify) td_pending_message_free);
}

/**
 * td_maildir_sink_new:
 * @folder: where messages go
 * @ready: (nullable): called when the current batch is full
 * @user_data: data for @ready
 *
 * Returns: (transfer full): a sink
 */
TdMaildirSink *
td_maildir_sink_new (TdMaildirFolder *folder, TdBatchReadyFunc ready, gpointer user_data)
{
  TdMaildirSink *self = g_object_new (TD_TYPE_MAILDIR_SINK, NULL);
  self->folder = td_maildir_folder_ref (folder);
  self->ready = ready;
  self->ready_data = user_data;
  return self;
}

/**
 * td_maildir_sink_take_batch:
 * @self: a sink
 *
 * Returns: (transfer full) (element-type TdPendingMessage): the messages committed so far
 */
GPtrArray *
td_maildir_sink_take_batch (TdMaildirSink *self)
{
  GPtrArray *batch = g_steal_pointer (&self->batch);
  self->batch = g_ptr_array_new_with_free_func ((GDestroyNotify) td_pending_message_free);
  self->batch_bytes = 0;
  return batch;
}

gboolean
td_maildir_sink_batch_is_full (TdMaildirSink *self)
{
  return self->batch->len >= TD_MAILDIR_SINK_BATCH_COUNT
         || self->batch_bytes >= TD_MAILDIR_SINK_BATCH_BYTES;
}

/**
 * td_maildir_sink_get_batch:
 * @self: a sink
 * @messages: (out): messages in the batch, closed in tmp/ and not yet taken
 * @bytes: (out): their size
 */
void
td_maildir_sink_get_batch (TdMaildirSink *self, guint *messages, guint64 *bytes)
{
  *messages = self->batch->len;
  *bytes = self->batch_bytes;
}

/**
 * td_maildir_sink_batch_is_due:
 * @self: a sink
 * @now: the monotonic time
 *
 * Returns: whether the batch should be made durable now: it is full, or its first message
 *   came TD_MAILDIR_SINK_BATCH_MAX_AGE_US ago or more.
 */
gboolean
td_maildir_sink_batch_is_due (TdMaildirSink *self, gint64 now)
{
  return td_maildir_sink_batch_is_full (self)
         || (self->batch->len > 0 && now - self->batch_started >= TD_MAILDIR_SINK_BATCH_MAX_AGE_US);
}

/**
 * td_maildir_sink_fail:
 * @self: a sink
 * @error: why later messages must be refused (a batch could not be made durable)
 */
void
td_maildir_sink_fail (TdMaildirSink *self, const GError *error)
{
  if (self->failure == NULL)
    self->failure = g_error_copy (error);
}

/**
 * td_maildir_sink_get_received:
 * @self: a sink
 * @messages: (out): messages received whole (in tmp/, durable or not)
 * @bytes: (out): bytes received, the message under way included
 *
 * How far the download has come, for progress between durable batches.
 */
void
td_maildir_sink_get_received (TdMaildirSink *self, guint *messages, guint64 *bytes)
{
  g_return_if_fail (TD_IS_MAILDIR_SINK (self));
  *messages = self->received;
  *bytes = self->received_bytes;
}
