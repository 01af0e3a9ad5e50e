/* td-maildir-keywords.c: Dovecot's dovecot-keywords file. See td-maildir-keywords.h. */
#include "td-maildir-keywords.h"

#include <string.h>

/* One line, "INDEX NAME" (a tab or several spaces between them, a CR at its end, are
 * forgiven); a line that is not one, names a letter twice, or names a keyword already
 * named, changes nothing. */
static void
parse_line (const char *line, gsize len, TdMaildirKeywords *keywords)
{
  g_autofree char *text = g_strndup (line, len);
  char *p = text, *end = NULL;

  if (!g_ascii_isdigit (*p))
    return;
  guint64 index = g_ascii_strtoull (p, &end, 10);
  if (index >= TD_MAILDIR_KEYWORD_LETTERS || end == p || (*end != ' ' && *end != '\t'))
    return;
  char *name = g_strstrip (end);
  if (!td_keyword_name_valid (name) || keywords->names[index] != NULL
      || td_maildir_keywords_find (keywords, name) >= 0)
    return;
  keywords->names[index] = g_strdup (name);
}

/**
 * td_maildir_keywords_parse:
 * @data: the file's bytes (not NUL-terminated)
 * @len: how many; beyond %TD_MAILDIR_KEYWORDS_MAX_FILE the rest is not read
 * @keywords: (out caller-allocates): the letters' names
 *
 * Reads a dovecot-keywords file. Never fails: what cannot be used is left out, and a letter
 * left out is free.
 */
void
td_maildir_keywords_parse (const char *data, gsize len, TdMaildirKeywords *keywords)
{
  const char *p = data, *end = data + MIN (len, TD_MAILDIR_KEYWORDS_MAX_FILE);

  memset (keywords, 0, sizeof *keywords);
  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p);
      const char *stop = nl ? nl : end;
      if (memchr (p, '\0', stop - p) == NULL)
        parse_line (p, stop - p, keywords);
      p = stop + 1;
    }
}

/**
 * td_maildir_keywords_format:
 * @keywords: the letters' names
 *
 * Returns: (transfer full): the file's text, one "INDEX NAME" line per named letter
 */
char *
td_maildir_keywords_format (const TdMaildirKeywords *keywords)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < TD_MAILDIR_KEYWORD_LETTERS; i++)
    if (keywords->names[i] != NULL)
      g_string_append_printf (out, "%u %s\n", i, keywords->names[i]);
  return g_string_free (out, FALSE);
}

/**
 * td_maildir_keywords_find:
 * @keywords: the letters' names
 * @name: a keyword
 *
 * IMAP keywords are compared without regard to ASCII case.
 *
 * Returns: the index of @name's letter, or -1
 */
int
td_maildir_keywords_find (const TdMaildirKeywords *keywords, const char *name)
{
  for (int i = 0; i < TD_MAILDIR_KEYWORD_LETTERS; i++)
    if (keywords->names[i] != NULL && g_ascii_strcasecmp (keywords->names[i], name) == 0)
      return i;
  return -1;
}

/**
 * td_maildir_keywords_add:
 * @keywords: the letters' names
 * @name: a valid keyword
 *
 * Returns: the index of @name's letter, given the first free one if it had none; -1 when
 *   all 26 are taken
 */
int
td_maildir_keywords_add (TdMaildirKeywords *keywords, const char *name)
{
  int found = td_maildir_keywords_find (keywords, name);

  g_return_val_if_fail (td_keyword_name_valid (name), -1);
  if (found >= 0)
    return found;
  for (int i = 0; i < TD_MAILDIR_KEYWORD_LETTERS; i++)
    if (keywords->names[i] == NULL)
      {
        keywords->names[i] = g_strdup (name);
        return i;
      }
  return -1;
}

void
td_maildir_keywords_clear (TdMaildirKeywords *keywords)
{
  for (guint i = 0; i < TD_MAILDIR_KEYWORD_LETTERS; i++)
    g_clear_pointer (&keywords->names[i], g_free);
}

/**
 * td_maildir_keyword_letters:
 * @info: the letters after ":2," in a Maildir file name
 *
 * Returns: the keyword letters @info holds, bit 0 for 'a'
 */
guint32
td_maildir_keyword_letters (const char *info)
{
  guint32 letters = 0;

  for (const char *p = info; *p != '\0'; p++)
    if (*p >= 'a' && *p <= 'z')
      letters |= 1u << (*p - 'a');
  return letters;
}
