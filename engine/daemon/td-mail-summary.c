/* td-mail-summary.c: subject and sender of a message file. See td-mail-summary.h. */
#include "engine/daemon/td-mail-summary.h"

#include <errno.h>
#include <fcntl.h>
#include <gmime/gmime.h>
#include <string.h>
#include <unistd.h>

void
td_mail_summary_init (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      g_mime_init ();
      g_once_init_leave (&done, 1);
    }
}

/**
 * td_mail_summary_clean:
 * @text: (nullable): text from a message, in any state
 * @max_chars: the most characters to keep
 *
 * Returns: (transfer full): @text as valid UTF-8 on one line, control characters as
 *   spaces, runs of white space as one, cut to @max_chars characters ("…" marks a cut)
 */
char *
td_mail_summary_clean (const char *text, gsize max_chars)
{
  g_autofree char *valid = g_utf8_make_valid (text != NULL ? text : "", -1);
  GString *out = g_string_new (NULL);
  gsize chars = 0;
  gboolean space = TRUE; /* drops leading white space */

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (g_unichar_isspace (c) || g_unichar_iscntrl (c))
        {
          if (!space)
            g_string_append_c (out, ' ');
          space = TRUE;
          continue;
        }
      if (chars == max_chars)
        {
          g_string_append (out, "…");
          return g_string_free (out, FALSE);
        }
      g_string_append_unichar (out, c);
      chars++;
      space = FALSE;
    }
  if (out->len > 0 && out->str[out->len - 1] == ' ')
    g_string_truncate (out, out->len - 1);
  return g_string_free (out, FALSE);
}

/* The header block of the file at @path: at most TD_MAIL_SUMMARY_HEADER_MAX bytes, cut
 * after the first empty line. */
static GByteArray *
read_header (const char *path)
{
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  GByteArray *head;

  if (fd < 0)
    return NULL;
  head = g_byte_array_sized_new (8192);
  while (head->len < TD_MAIL_SUMMARY_HEADER_MAX)
    {
      guint8 buf[8192];
      ssize_t n = read (fd, buf, MIN (sizeof buf, TD_MAIL_SUMMARY_HEADER_MAX - head->len));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      g_byte_array_append (head, buf, (guint) n);
      const char *end = g_strstr_len ((const char *) head->data, head->len, "\n\n");
      if (end != NULL)
        {
          g_byte_array_set_size (head, (guint) (end - (const char *) head->data) + 2);
          break;
        }
    }
  close (fd);
  return head;
}

/**
 * td_mail_summary_read:
 * @path: a message file
 * @subject: (out) (transfer full): its decoded subject, "" when there is none
 * @sender: (out) (transfer full): its decoded From, "" when there is none
 *
 * Never fails: a file that cannot be read or parsed gives empty strings.
 */
void
td_mail_summary_read (const char *path, char **subject, char **sender)
{
  g_autoptr (GByteArray) head = read_header (path);

  *subject = NULL;
  *sender = NULL;
  if (head != NULL && head->len > 0)
    {
      /* GMime 3.2 declares no autoptr cleanups for its types. */
      GMimeStream *stream = g_mime_stream_mem_new_with_buffer ((const char *) head->data,
                                                               head->len);
      GMimeParser *parser = g_mime_parser_new_with_stream (stream);
      GMimeMessage *message = g_mime_parser_construct_message (parser, NULL);
      if (message != NULL)
        {
          InternetAddressList *from = g_mime_message_get_from (message);
          g_autofree char *who = from != NULL ? internet_address_list_to_string (from, NULL, FALSE)
                                              : NULL;
          *subject = td_mail_summary_clean (g_mime_message_get_subject (message),
                                            TD_MAIL_SUMMARY_MAX_CHARS);
          *sender = td_mail_summary_clean (who, TD_MAIL_SUMMARY_MAX_CHARS);
          g_object_unref (message);
        }
      g_object_unref (parser);
      g_object_unref (stream);
    }
  if (*subject == NULL)
    *subject = g_strdup ("");
  if (*sender == NULL)
    *sender = g_strdup ("");
}
