/* td-cli-progress.c: TdCliProgress. See td-cli-progress.h. */
#include "cli/td-cli-progress.h"

#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/td-cli.h"

/* Redraws: at most this often on events, and at least this often by the clock. */
#define MIN_REDRAW_US (100 * G_TIME_SPAN_MILLISECOND)
#define MAX_STILL_MS 1000

struct _TdCliProgress
{
  gboolean terminal;
  TdSyncProgress last;   /* its strings are the two below */
  char *account;
  char *folder;
  gint64 started;        /* monotonic µs: the current folder's download began */
  gint64 drawn;          /* monotonic µs of the last redraw */
  gboolean shown;        /* a line is on the terminal */
  guint timer;
};

TdCliProgress *
td_cli_progress_new (gboolean terminal)
{
  TdCliProgress *self = g_new0 (TdCliProgress, 1);
  self->terminal = terminal;
  return self;
}

static char *
format_duration (gint64 seconds)
{
  if (seconds >= 3600)
    return g_strdup_printf ("%" G_GINT64_FORMAT " h %02" G_GINT64_FORMAT " min", seconds / 3600,
                            seconds / 60 % 60);
  if (seconds >= 60)
    return g_strdup_printf ("%" G_GINT64_FORMAT " min %02" G_GINT64_FORMAT " s", seconds / 60,
                            seconds % 60);
  return g_strdup_printf ("%" G_GINT64_FORMAT " s", seconds);
}

/**
 * td_cli_progress_format:
 * @p: where a download stands
 * @elapsed_us: how long the folder's download has run
 *
 * Returns: (transfer full): the progress line, without a line end:
 *   "work/INBOX (folder 1 of 3): 600/1200 messages, 12.1 MB of 24.3 MB, 4.0 MB/s, 3 s left"
 */
char *
td_cli_progress_format (const TdSyncProgress *p, gint64 elapsed_us)
{
  GString *out = g_string_new (NULL);
  g_autofree char *bytes = td_cli_format_size (p->bytes);
  double seconds = elapsed_us / (double) G_USEC_PER_SEC;

  g_string_append_printf (out, "%s/%s", p->account, p->folder);
  if (p->folder_count > 1)
    g_string_append_printf (out, " (folder %u of %u)", p->folder_index, p->folder_count);
  g_string_append_printf (out, ": %u/%u messages, %s", p->messages, p->messages_total, bytes);
  if (p->bytes_total > 0)
    {
      g_autofree char *total = td_cli_format_size (p->bytes_total);
      g_string_append_printf (out, " of %s", total);
    }
  if (seconds >= 0.5 && p->bytes > 0)
    {
      double rate = p->bytes / seconds;
      g_autofree char *r = td_cli_format_size ((guint64) rate);
      g_string_append_printf (out, ", %s/s", r);
      /* Time left by bytes where the sizes are known, else by messages. */
      double left = -1;
      if (p->bytes_total > p->bytes)
        left = (p->bytes_total - p->bytes) / rate;
      else if (p->messages > 0 && p->messages_total > p->messages)
        left = (p->messages_total - p->messages) * seconds / p->messages;
      if (left >= 0)
        {
          g_autofree char *d = format_duration ((gint64) (left + 0.5));
          g_string_append_printf (out, ", %s left", d);
        }
    }
  return g_string_free (out, FALSE);
}

static guint
terminal_width (void)
{
  struct winsize ws;
  if (ioctl (STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
    return ws.ws_col;
  return 80;
}

static void
draw (TdCliProgress *self)
{
  gint64 now = g_get_monotonic_time ();
  g_autofree char *line = td_cli_progress_format (&self->last, now - self->started);
  guint width = terminal_width () - 1;

  /* A line longer than the terminal would wrap, and the next redraw could not erase it. */
  if (g_utf8_strlen (line, -1) > width)
    {
      char *end = g_utf8_offset_to_pointer (line, width);
      *end = '\0';
    }
  fprintf (stderr, "\r\033[K%s", line);
  fflush (stderr);
  self->drawn = now;
  self->shown = TRUE;
}

static gboolean
tick (gpointer data)
{
  TdCliProgress *self = data;

  if (g_get_monotonic_time () - self->drawn >= MIN_REDRAW_US)
    draw (self);
  return G_SOURCE_CONTINUE;
}

static void
print_finished (const TdSyncProgress *p)
{
  g_autofree char *bytes = td_cli_format_size (p->bytes);

  fprintf (stderr, "%s/%s", p->account, p->folder);
  if (p->folder_count > 1)
    fprintf (stderr, " (folder %u of %u)", p->folder_index, p->folder_count);
  if (p->messages > 0)
    fprintf (stderr, ": %u new, %s\n", p->messages, bytes);
  else
    fprintf (stderr, ": done\n");
}

/**
 * td_cli_progress_update:
 * @self: a display
 * @progress: where a download stands, or a folder that is finished
 *
 * Shows @progress (see the top of this file).
 */
void
td_cli_progress_update (TdCliProgress *self, const TdSyncProgress *progress)
{
  gboolean same = g_strcmp0 (self->account, progress->account) == 0
                  && g_strcmp0 (self->folder, progress->folder) == 0;

  if (!self->terminal)
    {
      if (progress->folder_done)
        print_finished (progress);
      return;
    }
  if (progress->folder_done)
    {
      if (same)
        self->last.messages_total = progress->messages_total;
      return; /* the summary says the rest */
    }
  if (!same)
    {
      g_free (self->account);
      g_free (self->folder);
      self->account = g_strdup (progress->account);
      self->folder = g_strdup (progress->folder);
      self->started = g_get_monotonic_time ();
      self->drawn = 0;
    }
  self->last = *progress;
  self->last.account = self->account;
  self->last.folder = self->folder;
  if (self->timer == 0)
    self->timer = g_timeout_add (MAX_STILL_MS, tick, self);
  if (!same || g_get_monotonic_time () - self->drawn >= MIN_REDRAW_US
      || progress->messages == progress->messages_total)
    draw (self);
}

/**
 * td_cli_progress_clear:
 * @self: a display
 *
 * Erases the progress line, before a summary is printed.
 */
void
td_cli_progress_clear (TdCliProgress *self)
{
  g_clear_handle_id (&self->timer, g_source_remove);
  if (self->shown)
    fputs ("\r\033[K", stderr);
  self->shown = FALSE;
}

void
td_cli_progress_free (TdCliProgress *self)
{
  if (self == NULL)
    return;
  td_cli_progress_clear (self);
  g_free (self->account);
  g_free (self->folder);
  g_free (self);
}
