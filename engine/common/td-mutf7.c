/* td-mutf7.c: modified UTF-7 codec (RFC 3501 section 5.1.3).
 *
 * Decoding is strict, because the result becomes a path on disk: a shift sequence must hold
 * whole UTF-16 units, valid surrogate pairs, no zero padding bits, and may not encode what
 * could have been written directly; printable ASCII outside shifts is required. Anything
 * else is refused rather than guessed at.
 */
#include "engine/common/td-mutf7.h"

#include "engine/common/td-error.h"
#include "engine/common/td-types.h"

#include <string.h>

static const char mutf7_alphabet[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int
mutf7_value (char c)
{
  const char *p = c ? strchr (mutf7_alphabet, c) : NULL;
  return p ? (int) (p - mutf7_alphabet) : -1;
}

static gboolean
decode_fail (GError **error, const char *input, const char *why)
{
  g_autofree char *shown = td_printable (input);
  g_set_error (error, TD_ERROR, TD_ERROR_FOLDER, "mailbox name “%s” is not valid modified UTF-7: %s",
               shown, why);
  return FALSE;
}

/* Decodes one shift sequence starting after '&' into @out; *pos ends after the '-'. */
static gboolean
decode_shift (const char *s, gsize *pos, GString *out, const char *input, GError **error)
{
  guint32 bits = 0;
  guint nbits = 0;
  gunichar high = 0;
  gsize i = *pos;
  gsize units = 0;

  for (; s[i] != '-'; i++)
    {
      int v = mutf7_value (s[i]);
      if (v < 0)
        return decode_fail (error, input, "bad character in a shift sequence");
      bits = (bits << 6) | (guint32) v;
      nbits += 6;
      if (nbits < 16)
        continue;
      nbits -= 16;
      gunichar unit = (bits >> nbits) & 0xffff;
      bits &= (1u << nbits) - 1;
      units++;
      if (high != 0)
        {
          if (unit < 0xdc00 || unit > 0xdfff)
            return decode_fail (error, input, "unpaired surrogate");
          g_string_append_unichar (out, 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00));
          high = 0;
        }
      else if (unit >= 0xd800 && unit <= 0xdbff)
        high = unit;
      else if (unit >= 0xdc00 && unit <= 0xdfff)
        return decode_fail (error, input, "unpaired surrogate");
      else if (unit >= 0x20 && unit <= 0x7e)
        return decode_fail (error, input, "printable ASCII inside a shift sequence");
      else
        g_string_append_unichar (out, unit);
    }
  if (high != 0 || units == 0 || nbits >= 6 || bits != 0)
    return decode_fail (error, input, "truncated shift sequence");
  *pos = i + 1;
  return TRUE;
}

/**
 * td_mutf7_decode:
 * @mutf7: a mailbox name as the server sent it
 * @error: return location for a %TD_ERROR_FOLDER error
 *
 * Returns: (transfer full) (nullable): the name in UTF-8, or %NULL if @mutf7 is malformed.
 */
char *
td_mutf7_decode (const char *mutf7, GError **error)
{
  g_autoptr (GString) out = g_string_new (NULL);
  gsize i = 0;

  g_return_val_if_fail (mutf7 != NULL, NULL);

  while (mutf7[i] != '\0')
    {
      char c = mutf7[i];
      if ((guchar) c < 0x20 || (guchar) c > 0x7e)
        {
          decode_fail (error, mutf7, "8-bit or control character");
          return NULL;
        }
      if (c != '&')
        {
          g_string_append_c (out, c);
          i++;
          continue;
        }
      i++;
      if (mutf7[i] == '-')
        {
          g_string_append_c (out, '&');
          i++;
          continue;
        }
      if (!decode_shift (mutf7, &i, out, mutf7, error))
        return NULL;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
flush_shift (GString *out, const gunichar2 *units, gsize n)
{
  guint32 bits = 0;
  guint nbits = 0;

  g_string_append_c (out, '&');
  for (gsize k = 0; k < n; k++)
    {
      bits = (bits << 16) | units[k];
      nbits += 16;
      while (nbits >= 6)
        {
          nbits -= 6;
          g_string_append_c (out, mutf7_alphabet[(bits >> nbits) & 0x3f]);
        }
      bits &= (1u << nbits) - 1;
    }
  if (nbits > 0)
    g_string_append_c (out, mutf7_alphabet[(bits << (6 - nbits)) & 0x3f]);
  g_string_append_c (out, '-');
}

/**
 * td_mutf7_encode:
 * @utf8: a valid UTF-8 mailbox name
 *
 * Returns: (transfer full): @utf8 in modified UTF-7.
 */
char *
td_mutf7_encode (const char *utf8)
{
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GArray) pending = g_array_new (FALSE, FALSE, sizeof (gunichar2));

  g_return_val_if_fail (g_utf8_validate (utf8, -1, NULL), NULL);

  for (const char *p = utf8; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (c >= 0x20 && c <= 0x7e)
        {
          if (pending->len > 0)
            {
              flush_shift (out, (const gunichar2 *) pending->data, pending->len);
              g_array_set_size (pending, 0);
            }
          if (c == '&')
            g_string_append (out, "&-");
          else
            g_string_append_c (out, (char) c);
          continue;
        }
      if (c >= 0x10000)
        {
          gunichar2 pair[2] = { 0xd800 + ((c - 0x10000) >> 10), 0xdc00 + ((c - 0x10000) & 0x3ff) };
          g_array_append_vals (pending, pair, 2);
        }
      else
        {
          gunichar2 unit = (gunichar2) c;
          g_array_append_val (pending, unit);
        }
    }
  if (pending->len > 0)
    flush_shift (out, (const gunichar2 *) pending->data, pending->len);
  return g_string_free (g_steal_pointer (&out), FALSE);
}
