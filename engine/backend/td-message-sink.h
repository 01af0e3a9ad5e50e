/* td-message-sink.h: where a backend streams downloaded messages.
 *
 * Backends never touch the Maildir: they hand each message body to a sink in chunks as it
 * comes off the wire, then the message's metadata once the server has sent all of it (IMAP
 * may send UID and FLAGS after the body). The engine's sink writes to Maildir tmp/; tests
 * provide their own. Called on the main loop thread only.
 */
#pragma once

#include <glib-object.h>

#include "engine/common/td-types.h"

G_BEGIN_DECLS

#define TD_TYPE_MESSAGE_SINK (td_message_sink_get_type ())
G_DECLARE_INTERFACE (TdMessageSink, td_message_sink, TD, MESSAGE_SINK, GObject)

struct _TdMessageSinkInterface
{
  GTypeInterface parent_iface;

  gboolean (*begin) (TdMessageSink *sink, GError **error);
  gboolean (*write) (TdMessageSink *sink, const guint8 *data, gsize len, GError **error);
  gboolean (*commit) (TdMessageSink *sink, const TdMessageInfo *info, GError **error);
  void (*abort) (TdMessageSink *sink);
};

gboolean td_message_sink_begin (TdMessageSink *sink, GError **error);
gboolean td_message_sink_write (TdMessageSink *sink, const guint8 *data, gsize len,
                                GError **error);
gboolean td_message_sink_commit (TdMessageSink *sink, const TdMessageInfo *info, GError **error);
void td_message_sink_abort (TdMessageSink *sink);

G_END_DECLS
