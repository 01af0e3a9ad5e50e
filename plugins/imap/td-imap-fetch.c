/* td-imap-fetch.c: FLAGS, INTERNALDATE and Message-ID out of FETCH data.
 *
 * Everything here reads server text, so every field is checked and a bad field reads as
 * absent rather than failing the whole message.
 */
#include "td-imap-fetch.h"

#include <stdio.h>
#include <string.h>

#include "td-imap-limits.h"

static const struct
{
  const char *name;
  TdFlags flag;
} flag_names[] = {
  { "\\Seen", TD_FLAG_SEEN },         { "\\Answered", TD_FLAG_ANSWERED },
  { "\\Flagged", TD_FLAG_FLAGGED },   { "\\Deleted", TD_FLAG_DELETED },
  { "\\Draft", TD_FLAG_DRAFT },       { "$Forwarded", TD_FLAG_FORWARDED },
};

static TdFlags
system_flag (const char *name)
{
  for (gsize k = 0; k < G_N_ELEMENTS (flag_names); k++)
    if (g_ascii_strcasecmp (name, flag_names[k].name) == 0)
      return flag_names[k].flag;
  return 0;
}

/**
 * td_imap_flags_parse:
 * @list: (nullable): the FLAGS list of a FETCH response
 * @keywords: (out) (optional) (nullable): the other keywords, valid names separated by
 *   single spaces (at most %TD_IMAP_MAX_KEYWORDS), or %NULL when there are none
 *
 * Returns: the flags Tidings maps to Maildir letters of their own
 */
TdFlags
td_imap_flags_parse (const TdImapValue *list, char **keywords)
{
  TdFlags flags = 0;
  g_autoptr (GString) names = NULL;
  guint taken = 0;

  if (keywords != NULL)
    *keywords = NULL;
  if (list == NULL || list->type != TD_IMAP_VALUE_LIST)
    return 0;
  for (guint i = 0; i < list->items->len; i++)
    {
      const char *name = td_imap_value_get_string (g_ptr_array_index (list->items, i));
      TdFlags flag = name != NULL ? system_flag (name) : 0;
      flags |= flag;
      /* \Recent and other system flags are not keywords: td_keyword_name_valid refuses '\'. */
      if (flag != 0 || keywords == NULL || !td_keyword_name_valid (name)
          || taken == TD_IMAP_MAX_KEYWORDS)
        continue;
      if (names == NULL)
        names = g_string_new (NULL);
      else
        g_string_append_c (names, ' ');
      g_string_append (names, name);
      taken++;
    }
  if (keywords != NULL && names != NULL)
    *keywords = g_string_free (g_steal_pointer (&names), FALSE);
  return flags;
}

/**
 * td_imap_flags_format:
 * @flags: flags
 * @keywords: (nullable) (array zero-terminated=1): the names of @flags' keyword bits, by slot
 *
 * Returns: (transfer full): @flags as the inside of an IMAP flag list, such as
 *   "\Seen \Flagged $Junk"; a keyword whose name is not a valid atom is left out
 */
char *
td_imap_flags_format (TdFlags flags, const char *const *keywords)
{
  GString *out = g_string_new (NULL);
  for (gsize k = 0; k < G_N_ELEMENTS (flag_names); k++)
    if (flags & flag_names[k].flag)
      {
        if (out->len > 0)
          g_string_append_c (out, ' ');
        g_string_append (out, flag_names[k].name);
      }
  for (guint slot = 0; keywords != NULL && slot < TD_KEYWORD_SLOTS && keywords[slot] != NULL;
       slot++)
    if ((flags & TD_FLAG_KEYWORD (slot)) && td_keyword_name_valid (keywords[slot]))
      {
        if (out->len > 0)
          g_string_append_c (out, ' ');
        g_string_append (out, keywords[slot]);
      }
  return g_string_free (out, FALSE);
}

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/**
 * td_imap_date_format:
 * @seconds: seconds since the epoch
 * @with_time: the date-time APPEND takes ("21-Nov-2026 09:30:00 +0000", in UTC) rather than
 *   the date SEARCH takes ("21-Nov-2026")
 *
 * Month names in English whatever the locale (RFC 3501 section 9).
 *
 * Returns: (transfer full): the text, unquoted
 */
char *
td_imap_date_format (gint64 seconds, gboolean with_time)
{
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_utc (CLAMP (seconds, 0, 253402300799));
  g_autofree char *date = g_strdup_printf ("%02d-%s-%04d", g_date_time_get_day_of_month (t),
                                           months[g_date_time_get_month (t) - 1],
                                           g_date_time_get_year (t));

  if (!with_time)
    return g_steal_pointer (&date);
  return g_strdup_printf ("%s %02d:%02d:%02d +0000", date, g_date_time_get_hour (t),
                          g_date_time_get_minute (t), g_date_time_get_second (t));
}

/**
 * td_imap_date_parse:
 * @text: an INTERNALDATE, "21-Nov-2026 20:57:26 +0000"
 * @out: (out): seconds since the epoch
 *
 * Returns: %TRUE when @text is a valid date-time (RFC 3501 section 9, date-time)
 */
gboolean
td_imap_date_parse (const char *text, gint64 *out)
{
  int day, year, hour, min, sec, zone;
  char mon[4] = { 0 }, sign;
  int month = 0;

  if (text == NULL || sscanf (text, " %2d-%3c-%4d %2d:%2d:%2d %c%4d", &day, mon, &year, &hour,
                              &min, &sec, &sign, &zone) != 8)
    return FALSE;
  for (int i = 0; i < 12; i++)
    if (g_ascii_strcasecmp (mon, months[i]) == 0)
      month = i + 1;
  if (month == 0 || (sign != '+' && sign != '-') || zone > 2359 || zone % 100 > 59)
    return FALSE;
  g_autoptr (GTimeZone) tz = g_time_zone_new_offset ((sign == '-' ? -1 : 1)
                                                     * ((zone / 100) * 3600 + (zone % 100) * 60));
  g_autoptr (GDateTime) dt = g_date_time_new (tz, year, month, day, hour, min, sec);
  if (dt == NULL)
    return FALSE;
  *out = g_date_time_to_unix (dt);
  return TRUE;
}

/* The string after a BODY[HEADER.FIELDS (...)] item, whatever fields were asked for. */
static const TdImapValue *
header_fields (const TdImapValue *list)
{
  for (guint i = 0; i + 1 < list->items->len; i += 2)
    {
      const TdImapValue *key = g_ptr_array_index (list->items, i);
      const TdImapValue *value = g_ptr_array_index (list->items, i + 1);
      if (key->type == TD_IMAP_VALUE_ATOM && g_str_has_prefix (key->str, "BODY[HEADER.FIELDS ")
          && value->type == TD_IMAP_VALUE_STRING)
        return value;
    }
  return NULL;
}

/**
 * td_imap_fetch_info:
 * @response: an untagged FETCH response
 * @info: (out caller-allocates): filled with UID, FLAGS, RFC822.SIZE, INTERNALDATE,
 *   EMAILID, Message-ID and upload token as far as the response has them
 *
 * Returns: %TRUE when the response is a FETCH with a valid UID
 */
gboolean
td_imap_fetch_info (const TdImapResponse *response, TdMessageInfo *info)
{
  guint64 n = 0;
  TdImapValue *list;

  memset (info, 0, sizeof *info);
  info->internal_date = -1;
  if (g_strcmp0 (response->name, "FETCH") != 0 || response->args == NULL
      || response->args->items->len != 1)
    return FALSE;
  list = g_ptr_array_index (response->args->items, 0);
  if (!td_imap_value_get_number (td_imap_value_lookup (list, "UID"), &n) || n == 0
      || n > G_MAXUINT32)
    return FALSE;
  info->uid = (guint32) n;
  info->flags = td_imap_flags_parse (td_imap_value_lookup (list, "FLAGS"), &info->keywords);
  if (td_imap_value_get_number (td_imap_value_lookup (list, "RFC822.SIZE"), &n))
    info->size = n;
  td_imap_date_parse (td_imap_value_get_string (td_imap_value_lookup (list, "INTERNALDATE")),
                      &info->internal_date);
  /* EMAILID (id): a list of one object id (RFC 8474); anything else is no id. */
  const TdImapValue *email = td_imap_value_lookup (list, "EMAILID");
  if (email != NULL && email->type == TD_IMAP_VALUE_LIST && email->items->len == 1)
    {
      const char *id = td_imap_value_get_string (g_ptr_array_index (email->items, 0));
      if (td_email_id_valid (id))
        info->email_id = g_strdup (id);
    }
  const TdImapValue *fields = header_fields (list);
  if (fields != NULL)
    {
      info->message_id = td_message_id_parse (fields->str, fields->len);
      info->upload_token = td_header_id_parse (fields->str, fields->len, TD_UPLOAD_HEADER);
    }
  return TRUE;
}
