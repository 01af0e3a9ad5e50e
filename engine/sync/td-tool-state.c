/* td-tool-state.c: mbsync's and offlineimap's UIDs in a Maildir. See td-tool-state.h. */
#include "engine/sync/td-tool-state.h"

#include <string.h>

#include "engine/common/td-mutf7.h"

/* A UID of at most ten digits at *@p, moved past it: FALSE when there is none or it does not
 * fit 32 bits. */
static gboolean
read_uid (const char **p, const char *end, guint32 *out)
{
  guint64 n = 0;
  const char *s = *p;

  while (s < end && g_ascii_isdigit (*s) && s - *p < 10)
    n = n * 10 + (guint64) (*s++ - '0');
  if (s == *p || n > G_MAXUINT32 || (s < end && g_ascii_isdigit (*s)))
    return FALSE;
  *p = s;
  *out = (guint32) n;
  return TRUE;
}

/**
 * td_tool_state_name_uid:
 * @base: a message file's name, without the ":2," part
 * @kind: (out): whose UID it is
 *
 * Returns: the UID in ",U=" of @base, or 0 (and %TD_TOOL_NONE) when it has none
 */
guint32
td_tool_state_name_uid (const char *base, TdToolKind *kind)
{
  const char *at = strstr (base, ",U=");
  const char *end = base + strlen (base);
  guint32 uid = 0;

  *kind = TD_TOOL_NONE;
  if (at == NULL)
    return 0;
  at += strlen (",U=");
  if (!read_uid (&at, end, &uid) || uid == 0 || (*at != '\0' && *at != ',' && *at != ':'))
    return 0;
  *kind = strstr (base, ",FMD5=") != NULL ? TD_TOOL_OFFLINEIMAP : TD_TOOL_MBSYNC;
  return uid;
}

/* One "Key value" line of the header; keys this reading does not need are let by. */
static gboolean
header_line (const char *line, const char *end, TdMbsyncState *state)
{
  const char *space = memchr (line, ' ', (gsize) (end - line));
  const char *value;
  guint32 n;

  if (space == NULL)
    return FALSE;
  value = space + 1;
  if (!read_uid (&value, end, &n) || value != end)
    return FALSE;
  gsize klen = (gsize) (space - line);
#define KEY_IS(k) (klen == strlen (k) && memcmp (line, k, klen) == 0)
  if (KEY_IS ("FarUidValidity") || KEY_IS ("MasterUidValidity"))
    state->far_validity = n;
  else if (KEY_IS ("NearUidValidity") || KEY_IS ("SlaveUidValidity"))
    state->near_validity = n;
#undef KEY_IS
  return TRUE;
}

/* One "far near [<>][^~X]FLAGS" line. Only a pair of two real messages is kept: a
 * placeholder (<, >), a message skipped (^) or expired (~, X) pairs nothing. A Maildir UID
 * named twice is ambiguous and pairs nothing either. */
static gboolean
entry_line (const char *line, const char *end, TdMbsyncState *state)
{
  const char *p = line;
  guint32 far = 0, near = 0;
  gboolean usable = TRUE;

  if (!read_uid (&p, end, &far) || p >= end || *p++ != ' ' || !read_uid (&p, end, &near))
    return FALSE;
  if (p < end && *p++ != ' ')
    return FALSE;
  if (p < end && (*p == '<' || *p == '>'))
    p++, usable = FALSE;
  if (p < end && (*p == '^' || *p == '~' || *p == 'X'))
    p++, usable = FALSE;
  for (; p < end; p++)
    if (!g_ascii_isupper (*p))
      return FALSE;
  if (!usable || far == 0 || near == 0)
    return TRUE;
  gpointer key = GUINT_TO_POINTER (near);
  if (g_hash_table_contains (state->near_to_far, key))
    g_hash_table_replace (state->near_to_far, key, GUINT_TO_POINTER (0));
  else
    g_hash_table_insert (state->near_to_far, key, GUINT_TO_POINTER (far));
  return TRUE;
}

/**
 * td_mbsync_state_parse:
 * @text: a .mbsyncstate file's bytes
 * @len: their length
 * @state: (out caller-allocates): filled on success; cleared with td_mbsync_state_clear()
 *
 * Reads mbsync 1.3's and 1.4's state (the header, an empty line, a pair a line). Anything
 * unexpected (a line too long or cut short, an unknown entry, no server UIDVALIDITY) refuses
 * the whole file: a state that cannot be read whole is not trusted in part.
 *
 * Returns: %TRUE when @state holds the file's pairs
 */
gboolean
td_mbsync_state_parse (const char *text, gsize len, TdMbsyncState *state)
{
  const char *p = text, *end = text + len;
  gboolean in_header = TRUE;

  memset (state, 0, sizeof *state);
  state->near_to_far = g_hash_table_new (g_direct_hash, g_direct_equal);
  if (len > TD_TOOL_STATE_MAX_BYTES || (len > 0 && text[len - 1] != '\n'))
    return td_mbsync_state_clear (state), FALSE;
  while (p < end)
    {
      const char *nl = memchr (p, '\n', (gsize) (end - p));
      gboolean ok;
      if (nl - p > TD_TOOL_STATE_MAX_LINE)
        return td_mbsync_state_clear (state), FALSE;
      if (in_header && nl == p)
        in_header = FALSE, ok = TRUE;
      else
        ok = in_header ? header_line (p, nl, state) : entry_line (p, nl, state);
      if (!ok)
        return td_mbsync_state_clear (state), FALSE;
      p = nl + 1;
    }
  if (in_header || state->far_validity == 0)
    return td_mbsync_state_clear (state), FALSE;
  return TRUE;
}

void
td_mbsync_state_clear (TdMbsyncState *state)
{
  g_clear_pointer (&state->near_to_far, g_hash_table_unref);
  state->far_validity = state->near_validity = 0;
}

/**
 * td_mbsync_uidvalidity_parse:
 * @text: mbsync's .uidvalidity in a Maildir folder (UIDVALIDITY, then the next UID)
 * @len: its length
 *
 * Returns: the folder's Maildir-side UIDVALIDITY, or 0 when the file does not read as one
 */
guint32
td_mbsync_uidvalidity_parse (const char *text, gsize len)
{
  const char *p = text;
  guint32 n = 0;

  if (!read_uid (&p, text + len, &n) || p == text + len || *p != '\n')
    return 0;
  return n;
}

/**
 * td_mbsync_state_file:
 * @pattern: the account's mbsync-state: a path with "{}" where the folder's name goes
 * @name: the server's folder name (decoded), with @delimiter
 * @delimiter: its hierarchy delimiter, or '\0'
 * @utf7: mbsync writes the names in modified UTF-7 (folder-names = utf-7)
 *
 * mbsync names a folder's state file by the folder's name with its parts joined by '!'
 * (where it keeps them all in one directory).
 *
 * Returns: (transfer full): the state file's path
 */
char *
td_mbsync_state_file (const char *pattern, const char *name, char delimiter, gboolean utf7)
{
  g_auto (GStrv) parts = delimiter != '\0'
                           ? g_strsplit (name, (char[]) { delimiter, '\0' }, -1)
                           : g_strdupv ((char *[]) { (char *) name, NULL });
  g_auto (GStrv) pieces = g_strsplit (pattern, "{}", -1);

  for (guint i = 0; utf7 && parts[i] != NULL; i++)
    {
      char *encoded = td_mutf7_encode (parts[i]);
      g_free (parts[i]);
      parts[i] = encoded;
    }
  g_autofree char *joined = g_strjoinv ("!", parts);
  /* A part holding '/' is written with '!' too. */
  g_strdelimit (joined, "/", '!');
  return g_strjoinv (joined, pieces);
}
