/* td-crlf-converter.c: LF -> CRLF for uploads, as a GConverter. */
#include "engine/backend/td-crlf-converter.h"

#include <string.h>

struct _TdCrlfConverter
{
  GObject parent_instance;
  char *prefix;
  gsize prefix_done;
  gboolean last_cr;
};

static void td_crlf_converter_iface_init (GConverterIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TdCrlfConverter, td_crlf_converter, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_CONVERTER,
                                                      td_crlf_converter_iface_init))

static GConverterResult
td_crlf_converter_convert (GConverter *converter, const void *inbuf, gsize inbuf_size,
                           void *outbuf, gsize outbuf_size, GConverterFlags flags,
                           gsize *bytes_read, gsize *bytes_written, GError **error)
{
  TdCrlfConverter *self = TD_CRLF_CONVERTER (converter);
  const guint8 *in = inbuf;
  guint8 *out = outbuf;
  gsize prefix_len = self->prefix ? strlen (self->prefix) : 0;
  gsize i = 0, o = 0;

  if (self->prefix_done < prefix_len)
    {
      o = MIN (prefix_len - self->prefix_done, outbuf_size);
      memcpy (out, self->prefix + self->prefix_done, o);
      self->prefix_done += o;
    }
  while (self->prefix_done == prefix_len && i < inbuf_size && o < outbuf_size)
    {
      guint8 c = in[i];
      if (c == '\n' && !self->last_cr)
        {
          if (o + 2 > outbuf_size)
            break;
          out[o++] = '\r';
        }
      out[o++] = c;
      self->last_cr = c == '\r';
      i++;
    }
  *bytes_read = i;
  *bytes_written = o;
  if (o == 0 && i < inbuf_size)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "no room for a line end");
      return G_CONVERTER_ERROR;
    }
  if (self->prefix_done == prefix_len && i == inbuf_size)
    {
      if (flags & G_CONVERTER_INPUT_AT_END)
        return G_CONVERTER_FINISHED;
      if (flags & G_CONVERTER_FLUSH)
        return G_CONVERTER_FLUSHED;
    }
  return G_CONVERTER_CONVERTED;
}

static void
td_crlf_converter_reset (GConverter *converter)
{
  TdCrlfConverter *self = TD_CRLF_CONVERTER (converter);
  self->prefix_done = 0;
  self->last_cr = FALSE;
}

static void
td_crlf_converter_iface_init (GConverterIface *iface)
{
  iface->convert = td_crlf_converter_convert;
  iface->reset = td_crlf_converter_reset;
}

static void
td_crlf_converter_finalize (GObject *object)
{
  g_free (TD_CRLF_CONVERTER (object)->prefix);
  G_OBJECT_CLASS (td_crlf_converter_parent_class)->finalize (object);
}

static void
td_crlf_converter_class_init (TdCrlfConverterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = td_crlf_converter_finalize;
}

static void
td_crlf_converter_init (TdCrlfConverter *self)
{
}

/**
 * td_crlf_converter_new:
 * @prefix: (nullable): bytes to put before the converted data, already in CRLF form
 *
 * Returns: (transfer full): a converter
 */
TdCrlfConverter *
td_crlf_converter_new (const char *prefix)
{
  TdCrlfConverter *self = g_object_new (TD_TYPE_CRLF_CONVERTER, NULL);
  self->prefix = g_strdup (prefix);
  return self;
}
