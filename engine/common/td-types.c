/* td-types.c: constructors and helpers for the plain data in td-types.h. */
#include "engine/common/td-types.h"

#include <string.h>

/**
 * td_folder_layout_default:
 * @kind: a layout
 *
 * Returns: @kind as Tidings writes it unless told otherwise: Maildir++ names in modified
 *   UTF-7, the others in UTF-8, and '.' between the parts of a flat name
 */
TdFolderLayout
td_folder_layout_default (TdLayout kind)
{
  return (TdFolderLayout) { kind, kind == TD_LAYOUT_MAILDIRPP, '.', FALSE };
}

static const char *const special_names[] = { "all", "archive", "drafts", "flagged", "junk",
                                             "sent", "trash", NULL };

/**
 * td_special_use_from_attribute:
 * @attribute: a LIST attribute, such as "\\Trash"
 *
 * Returns: the special use it names, or %TD_SPECIAL_NONE
 */
TdSpecialUse
td_special_use_from_attribute (const char *attribute)
{
  if (attribute == NULL || attribute[0] != '\\')
    return TD_SPECIAL_NONE;
  for (guint i = 0; special_names[i] != NULL; i++)
    if (g_ascii_strcasecmp (attribute + 1, special_names[i]) == 0)
      return (TdSpecialUse) (1 << i);
  return TD_SPECIAL_NONE;
}

/**
 * td_special_use_to_string:
 * @uses: special uses
 *
 * Returns: (transfer full) (nullable): "trash", or "all,archive" for several, as JSON and
 *   D-Bus say them; %NULL for none
 */
char *
td_special_use_to_string (TdSpecialUse uses)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; special_names[i] != NULL; i++)
    if (uses & (1 << i))
      g_string_append_printf (s, "%s%s", s->len ? "," : "", special_names[i]);
  return s->len > 0 ? g_string_free (s, FALSE) : (g_string_free (s, TRUE), NULL);
}

TdFolderInfo *
td_folder_info_new (const char *name, char delimiter, gboolean selectable)
{
  TdFolderInfo *info = g_new0 (TdFolderInfo, 1);
  info->name = g_strdup (name);
  info->delimiter = delimiter;
  info->selectable = selectable;
  return info;
}

void
td_folder_info_free (TdFolderInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info);
}

void
td_message_info_clear (TdMessageInfo *info)
{
  g_clear_pointer (&info->message_id, g_free);
  g_clear_pointer (&info->upload_token, g_free);
  g_clear_pointer (&info->unique_id, g_free);
  g_clear_pointer (&info->header_hash, g_free);
  g_clear_pointer (&info->keywords, g_free);
  g_clear_pointer (&info->email_id, g_free);
}

/**
 * td_message_info_copy:
 * @dest: (out caller-allocates): where the copy goes; its old contents are not freed
 * @src: the info to copy
 *
 * Copies @src, strings included.
 */
void
td_message_info_copy (TdMessageInfo *dest, const TdMessageInfo *src)
{
  *dest = *src;
  dest->message_id = g_strdup (src->message_id);
  dest->upload_token = g_strdup (src->upload_token);
  dest->unique_id = g_strdup (src->unique_id);
  dest->header_hash = g_strdup (src->header_hash);
  dest->keywords = g_strdup (src->keywords);
  dest->email_id = g_strdup (src->email_id);
}

/* Header hashing */

struct _TdHeaderHash
{
  GChecksum *sum;
  gsize seen;
  gboolean at_line_start;
  gboolean pending_cr;
  gboolean done;
};

TdHeaderHash *
td_header_hash_new (void)
{
  TdHeaderHash *h = g_new0 (TdHeaderHash, 1);
  h->sum = g_checksum_new (G_CHECKSUM_SHA256);
  h->at_line_start = TRUE;
  return h;
}

void
td_header_hash_free (TdHeaderHash *hash)
{
  if (hash == NULL)
    return;
  g_checksum_free (hash->sum);
  g_free (hash);
}

/**
 * td_header_hash_update:
 * @hash: a hash
 * @data: the next bytes of the message
 * @len: their length
 *
 * CR is left out before LF, so CRLF and LF messages hash alike; the empty line that ends the
 * header, and everything after it, are not hashed.
 */
void
td_header_hash_update (TdHeaderHash *hash, const guint8 *data, gsize len)
{
  gsize i = 0;

  while (i < len && !hash->done)
    {
      if (hash->pending_cr)
        {
          hash->pending_cr = FALSE;
          if (data[i] != '\n')
            {
              g_checksum_update (hash->sum, (const guint8 *) "\r", 1);
              hash->at_line_start = FALSE;
            }
        }
      if (data[i] == '\r')
        {
          hash->pending_cr = TRUE;
          i++;
          continue;
        }
      if (data[i] == '\n' && hash->at_line_start)
        {
          hash->done = TRUE;
          break;
        }
      /* Hashed a run at a time: up to the next CR, or through the next LF. */
      gsize end = i;
      while (end < len && data[end] != '\r' && data[end] != '\n')
        end++;
      if (end < len && data[end] == '\n')
        end++;
      gsize n = MIN (end - i, TD_HEADER_HASH_MAX - hash->seen);
      g_checksum_update (hash->sum, data + i, n);
      hash->at_line_start = data[i + n - 1] == '\n';
      hash->seen += n;
      i += n;
      if (hash->seen >= TD_HEADER_HASH_MAX)
        hash->done = TRUE;
    }
}

gboolean
td_header_hash_is_done (TdHeaderHash *hash)
{
  return hash->done;
}

/**
 * td_header_hash_finish:
 * @hash: a hash
 *
 * Returns: (transfer full): "sha256:" and the hex digest of what was hashed
 */
char *
td_header_hash_finish (TdHeaderHash *hash)
{
  return g_strconcat ("sha256:", g_checksum_get_string (hash->sum), NULL);
}

/**
 * td_message_info_array_new:
 *
 * Returns: (transfer full): an empty array of #TdMessageInfo that clears its elements.
 */
GArray *
td_message_info_array_new (void)
{
  GArray *array = g_array_new (FALSE, TRUE, sizeof (TdMessageInfo));
  g_array_set_clear_func (array, (GDestroyNotify) td_message_info_clear);
  return array;
}

TdFolderChanges *
td_folder_changes_new (void)
{
  TdFolderChanges *changes = g_new0 (TdFolderChanges, 1);
  changes->changed = td_message_info_array_new ();
  changes->vanished = g_array_new (FALSE, FALSE, sizeof (TdUidRange));
  changes->added = td_message_info_array_new ();
  changes->aged = g_array_new (FALSE, FALSE, sizeof (TdUidRange));
  return changes;
}

void
td_folder_changes_free (TdFolderChanges *changes)
{
  if (changes == NULL)
    return;
  g_array_unref (changes->changed);
  g_clear_pointer (&changes->present, g_array_unref);
  g_array_unref (changes->vanished);
  g_array_unref (changes->added);
  g_array_unref (changes->aged);
  g_free (changes);
}

/**
 * td_uid_set_count:
 * @set: a #GArray of #TdUidRange with no open end
 *
 * Returns: how many UIDs @set holds
 */
guint
td_uid_set_count (const GArray *set)
{
  guint n = 0;
  for (guint i = 0; i < set->len; i++)
    {
      const TdUidRange *r = &g_array_index (set, TdUidRange, i);
      n += r->last - r->first + 1;
    }
  return n;
}

/**
 * td_uid_set_add:
 * @set: a #GArray of #TdUidRange, UIDs added in ascending order
 * @uid: the next UID, greater than any in @set
 *
 * Appends @uid, extending the last range when it is adjacent.
 */
void
td_uid_set_add (GArray *set, guint32 uid)
{
  if (set->len > 0)
    {
      TdUidRange *last = &g_array_index (set, TdUidRange, set->len - 1);
      if (last->last != G_MAXUINT32 && uid == last->last + 1)
        {
          last->last = uid;
          return;
        }
    }
  TdUidRange range = { uid, uid };
  g_array_append_val (set, range);
}

/**
 * td_uid_set_to_string:
 * @set: a #GArray of #TdUidRange
 *
 * Returns: (transfer full): @set in IMAP sequence-set syntax, such as "1:5,9,12:*".
 */
char *
td_uid_set_to_string (GArray *set)
{
  GString *out = g_string_new (NULL);
  for (guint i = 0; i < set->len; i++)
    {
      const TdUidRange *r = &g_array_index (set, TdUidRange, i);
      if (i > 0)
        g_string_append_c (out, ',');
      if (r->last == G_MAXUINT32)
        g_string_append_printf (out, "%u:*", r->first);
      else if (r->first == r->last)
        g_string_append_printf (out, "%u", r->first);
      else
        g_string_append_printf (out, "%u:%u", r->first, r->last);
    }
  return g_string_free (out, FALSE);
}

/* Parses one number of a sequence set; '*' is the largest UID. */
static gboolean
parse_seq_number (const char **p, guint32 *out)
{
  guint64 n = 0;
  const char *start = *p;

  if (**p == '*')
    {
      (*p)++;
      *out = G_MAXUINT32;
      return TRUE;
    }
  while (g_ascii_isdigit (**p) && n <= G_MAXUINT32)
    n = n * 10 + (guint64) (*(*p)++ - '0');
  if (*p == start || n == 0 || n > G_MAXUINT32)
    return FALSE;
  *out = (guint32) n;
  return TRUE;
}

/**
 * td_uid_set_parse:
 * @text: an IMAP sequence set, such as "41,43:116"
 * @set: (element-type TdUidRange): receives the ranges, low end first, as written
 *
 * Returns: %TRUE when @text is a valid sequence set; @set is then extended
 */
gboolean
td_uid_set_parse (const char *text, GArray *set)
{
  const char *p = text;

  while (TRUE)
    {
      TdUidRange r;
      if (!parse_seq_number (&p, &r.first))
        return FALSE;
      r.last = r.first;
      if (*p == ':' && (p++, !parse_seq_number (&p, &r.last)))
        return FALSE;
      if (r.first > r.last)
        {
          guint32 t = r.first;
          r.first = r.last;
          r.last = t;
        }
      g_array_append_val (set, r);
      if (*p == '\0')
        return TRUE;
      if (*p++ != ',')
        return FALSE;
    }
}

static int
compare_ranges (gconstpointer a, gconstpointer b)
{
  const TdUidRange *x = a, *y = b;
  return x->first < y->first ? -1 : x->first > y->first;
}

/**
 * td_uid_set_normalize:
 * @set: (element-type TdUidRange): ranges in any order, possibly overlapping
 *
 * Sorts @set and merges overlapping and adjacent ranges, for td_uid_set_contains().
 */
void
td_uid_set_normalize (GArray *set)
{
  guint out = 0;

  g_array_sort (set, compare_ranges);
  for (guint i = 0; i < set->len; i++)
    {
      TdUidRange r = g_array_index (set, TdUidRange, i);
      TdUidRange *last = out > 0 ? &g_array_index (set, TdUidRange, out - 1) : NULL;
      if (last != NULL && (last->last == G_MAXUINT32 || r.first <= last->last + 1))
        last->last = MAX (last->last, r.last);
      else
        g_array_index (set, TdUidRange, out++) = r;
    }
  g_array_set_size (set, out);
}

/**
 * td_uid_set_contains:
 * @normalized: (element-type TdUidRange): a set passed through td_uid_set_normalize()
 * @uid: a UID
 *
 * Returns: whether @uid is in the set, in O(log n)
 */
gboolean
td_uid_set_contains (GArray *normalized, guint32 uid)
{
  guint lo = 0, hi = normalized->len;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      const TdUidRange *r = &g_array_index (normalized, TdUidRange, mid);
      if (uid < r->first)
        hi = mid;
      else if (uid > r->last)
        lo = mid + 1;
      else
        return TRUE;
    }
  return FALSE;
}

/* Maildir info letters in the ASCII order the Maildir rules require. */
static const struct
{
  char letter;
  TdFlags flag;
} maildir_letters[] = {
  { 'D', TD_FLAG_DRAFT },   { 'F', TD_FLAG_FLAGGED }, { 'P', TD_FLAG_FORWARDED },
  { 'R', TD_FLAG_ANSWERED }, { 'S', TD_FLAG_SEEN },    { 'T', TD_FLAG_DELETED },
};

/**
 * td_flags_to_maildir:
 * @flags: message flags
 *
 * Returns: (transfer full): the Maildir info letters for @flags, sorted, possibly empty.
 */
char *
td_flags_to_maildir (TdFlags flags)
{
  GString *out = g_string_sized_new (G_N_ELEMENTS (maildir_letters));
  for (gsize i = 0; i < G_N_ELEMENTS (maildir_letters); i++)
    if (flags & maildir_letters[i].flag)
      g_string_append_c (out, maildir_letters[i].letter);
  return g_string_free (out, FALSE);
}

/**
 * td_flags_from_maildir:
 * @info: the letters after ":2," in a Maildir file name
 *
 * Returns: the flags @info names; letters Tidings does not know are ignored.
 */
TdFlags
td_flags_from_maildir (const char *info)
{
  TdFlags flags = 0;
  for (const char *p = info; *p != '\0'; p++)
    for (gsize i = 0; i < G_N_ELEMENTS (maildir_letters); i++)
      if (*p == maildir_letters[i].letter)
        flags |= maildir_letters[i].flag;
  return flags;
}

/**
 * td_keyword_name_valid:
 * @name: a keyword's name
 *
 * Returns: whether @name can be an IMAP keyword (an atom: printable ASCII without spaces,
 *   parentheses, braces, quotes, '%', '*', '\\' or ']'; not a system flag, which starts with
 *   '\\') of at most %TD_KEYWORD_MAX_NAME bytes
 */
gboolean
td_keyword_name_valid (const char *name)
{
  gsize len = name ? strlen (name) : 0;

  if (len == 0 || len > TD_KEYWORD_MAX_NAME)
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (*p <= ' ' || *p >= 0x7f || strchr ("(){%*\"\\]", *p) != NULL)
      return FALSE;
  return TRUE;
}

/**
 * td_email_id_valid:
 * @id: (nullable): an EMAILID as a server sent it
 *
 * Returns: whether @id is an object id as RFC 8474 allows them: 1 to %TD_EMAIL_ID_MAX
 *   letters, digits, '_' or '-'
 */
gboolean
td_email_id_valid (const char *id)
{
  gsize len = id ? strlen (id) : 0;

  if (len == 0 || len > TD_EMAIL_ID_MAX)
    return FALSE;
  for (const char *p = id; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-')
      return FALSE;
  return TRUE;
}

/**
 * td_flags_merge:
 * @base: the flags both sides had after the last sync
 * @ours: one side's flags now
 * @theirs: the other side's flags now
 *
 * The one rule for two sides' flag changes: a flag either side added since @base is added,
 * one either side removed is removed. A flag added on one side and removed on the other
 * cannot happen (added means @base lacked it, removed means @base had it), so the rule never
 * has to choose.
 *
 * Returns: the merged flags
 */
TdFlags
td_flags_merge (TdFlags base, TdFlags ours, TdFlags theirs)
{
  return (base & ours & theirs) | (~base & (ours | theirs));
}

/**
 * td_printable:
 * @untrusted: text from a server or a file, to be put into a message
 *
 * Returns: (transfer full): @untrusted with control characters and bytes that are not UTF-8
 *   written as \xNN, so a server cannot write to the user's terminal through an error
 */
char *
td_printable (const char *untrusted)
{
  GString *out = g_string_new (NULL);
  const char *p = untrusted;

  while (*p != '\0')
    {
      gunichar c = g_utf8_get_char_validated (p, -1);
      if (c == (gunichar) -1 || c == (gunichar) -2 || c < 0x20 || c == 0x7f
          || (c >= 0x80 && c < 0xa0))
        {
          g_string_append_printf (out, "\\x%02x", (guchar) *p);
          p++;
          continue;
        }
      const char *next = g_utf8_next_char (p);
      g_string_append_len (out, p, next - p);
      p = next;
    }
  return g_string_free (out, FALSE);
}

/* The identifier in the field value that starts at @p, unfolded, up to the header's end. */
static char *
field_value (const char *p, const char *end)
{
  g_autoptr (GString) value = g_string_new (NULL);

  for (; p < end; p++)
    {
      if (*p == '\r')
        continue;
      if (*p == '\n')
        {
          /* A line that starts with white space continues the field. */
          if (p + 1 < end && (p[1] == ' ' || p[1] == '\t'))
            continue;
          break;
        }
      if (((guchar) *p < 0x20 && *p != '\t') || value->len >= TD_MAX_MESSAGE_ID)
        return NULL;
      g_string_append_c (value, *p);
    }
  const char *open = strchr (value->str, '<');
  const char *close = open ? strchr (open, '>') : NULL;
  if (open == NULL || close == NULL || close == open + 1)
    return NULL;
  return g_strndup (open, close - open + 1);
}

/**
 * td_header_id_parse:
 * @headers: (array length=len): a message's header block, or the start of a message
 * @len: length of @headers
 * @field: the field's name, such as "Message-ID"
 *
 * Finds the field, at the start of any line before the first empty line, and takes the
 * identifier in angle brackets it holds.
 *
 * Returns: (transfer full) (nullable): the identifier with its angle brackets, unfolded
 */
char *
td_header_id_parse (const char *headers, gsize len, const char *field)
{
  const char *end = headers + len;
  const char *line = headers;
  gsize n = strlen (field);

  while (line < end)
    {
      if (*line == '\n' || (*line == '\r' && line + 1 < end && line[1] == '\n'))
        return NULL; /* the header block ended */
      if ((gsize) (end - line) > n && g_ascii_strncasecmp (line, field, n) == 0 && line[n] == ':')
        return field_value (line + n + 1, end);
      const char *nl = memchr (line, '\n', end - line);
      if (nl == NULL)
        return NULL;
      line = nl + 1;
    }
  return NULL;
}

/**
 * td_message_id_parse:
 * @headers: (array length=len): a message's header block, or the start of a message
 * @len: length of @headers
 *
 * Returns: (transfer full) (nullable): the Message-ID with its angle brackets, unfolded
 */
char *
td_message_id_parse (const char *headers, gsize len)
{
  return td_header_id_parse (headers, len, "Message-ID");
}
