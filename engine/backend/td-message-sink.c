/* td-message-sink.c: dispatch for the TdMessageSink interface. */
#include "engine/backend/td-message-sink.h"

G_DEFINE_INTERFACE (TdMessageSink, td_message_sink, G_TYPE_OBJECT)

static void
td_message_sink_default_init (TdMessageSinkInterface *iface)
{
}

/**
 * td_message_sink_begin:
 * @sink: a sink
 * @error: return location for an error
 *
 * Starts a new message; the previous one must have been committed or aborted.
 *
 * Returns: %TRUE when the sink is ready for the body
 */
gboolean
td_message_sink_begin (TdMessageSink *sink, GError **error)
{
  g_return_val_if_fail (TD_IS_MESSAGE_SINK (sink), FALSE);
  return TD_MESSAGE_SINK_GET_IFACE (sink)->begin (sink, error);
}

/**
 * td_message_sink_write:
 * @sink: a sink with a message begun
 * @data: (array length=len): the next bytes of the body, as the server sent them
 * @len: length of @data
 * @error: return location for an error
 *
 * Returns: %TRUE when the bytes were taken
 */
gboolean
td_message_sink_write (TdMessageSink *sink, const guint8 *data, gsize len, GError **error)
{
  g_return_val_if_fail (TD_IS_MESSAGE_SINK (sink), FALSE);
  return TD_MESSAGE_SINK_GET_IFACE (sink)->write (sink, data, len, error);
}

/**
 * td_message_sink_commit:
 * @sink: a sink with a message begun
 * @info: the message's UID, flags, date and size
 * @error: return location for an error
 *
 * Ends the current message. The sink may keep it pending until its batch is made durable.
 *
 * Returns: %TRUE when the message was accepted
 */
gboolean
td_message_sink_commit (TdMessageSink *sink, const TdMessageInfo *info, GError **error)
{
  g_return_val_if_fail (TD_IS_MESSAGE_SINK (sink), FALSE);
  g_return_val_if_fail (info != NULL, FALSE);
  return TD_MESSAGE_SINK_GET_IFACE (sink)->commit (sink, info, error);
}

/**
 * td_message_sink_abort:
 * @sink: a sink
 *
 * Drops the current message, if any, and whatever was written of it.
 */
void
td_message_sink_abort (TdMessageSink *sink)
{
  g_return_if_fail (TD_IS_MESSAGE_SINK (sink));
  TD_MESSAGE_SINK_GET_IFACE (sink)->abort (sink);
}
