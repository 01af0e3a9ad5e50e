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
  gint64 started;        /* monotonic µs: the run's download began (the folder's, where the
                            line counts one folder) */
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

/* What the line counts: the whole run where the account plan gave its totals, else the
 * folder under way. */
static void
counts (const TdSyncProgress *p, guint *messages, guint *messages_total, guint64 *bytes,
        guint64 *bytes_total)
{
  gboolean run = p->run_messages_total > 0;

  *messages = run ? p->run_messages : p->messages;
  *messages_total = run ? p->run_messages_total : p->messages_total;
  *bytes = run ? p->run_bytes : p->bytes;
  *bytes_total = run ? p->run_bytes_total : p->bytes_total;
}

/**
 * td_cli_progress_format:
 * @p: where a download stands
 * @elapsed_us: how long the download has run (the run's, where it counts the run)
 *
 * Returns: (transfer full): the progress line, without a line end. With the run's totals,
 *   "work (folder 2 of 3, Archive): 600/1200 messages, 12.1 MB of 24.3 MB, 4.0 MB/s, 3 s left";
 *   for one folder, or without them, "work/INBOX: 600/1200 messages, …"
 */
char *
td_cli_progress_format (const TdSyncProgress *p, gint64 elapsed_us)
{
  GString *out = g_string_new (NULL);
  double seconds = elapsed_us / (double) G_USEC_PER_SEC;
  guint messages, messages_total;
  guint64 done, total;

  counts (p, &messages, &messages_total, &done, &total);
  g_autofree char *bytes = td_cli_format_size (done);
  if (p->folder_count > 1 && p->run_messages_total > 0)
    g_string_append_printf (out, "%s (folder %u of %u, %s)", p->account, p->folder_index,
                            p->folder_count, p->folder);
  else if (p->folder_count > 1)
    g_string_append_printf (out, "%s/%s (folder %u of %u)", p->account, p->folder,
                            p->folder_index, p->folder_count);
  else
    g_string_append_printf (out, "%s/%s", p->account, p->folder);
  g_string_append_printf (out, ": %u/%u messages, %s", messages, messages_total, bytes);
  if (total > 0)
    {
      g_autofree char *of = td_cli_format_size (total);
      g_string_append_printf (out, " of %s", of);
    }
  if (seconds >= 0.5 && done > 0)
    {
      double rate = done / seconds;
      g_autofree char *r = td_cli_format_size ((guint64) rate);
      g_string_append_printf (out, ", %s/s", r);
      /* Time left by bytes where the sizes are known, else by messages. */
      double left = -1;
      if (total > done)
        left = (total - done) / rate;
      else if (messages > 0 && messages_total > messages)
        left = (messages_total - messages) * seconds / messages;
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
  gboolean same_account = g_strcmp0 (self->account, progress->account) == 0;
  gboolean same = same_account && g_strcmp0 (self->folder, progress->folder) == 0;
  /* A line that counts the run goes on from folder to folder. */
  gboolean go_on = same || (same_account && progress->run_messages_total > 0);

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
      if (same_account && progress->run_messages_total > 0)
        {
          self->last.run_messages = progress->run_messages;
          self->last.run_messages_total = progress->run_messages_total;
          self->last.run_bytes = progress->run_bytes;
          self->last.run_bytes_total = progress->run_bytes_total;
        }
      return; /* the summary says the rest */
    }
  if (!same)
    {
      g_free (self->account);
      g_free (self->folder);
      self->account = g_strdup (progress->account);
      self->folder = g_strdup (progress->folder);
    }
  if (!go_on)
    {
      self->started = g_get_monotonic_time ();
      self->drawn = 0;
    }
  self->last = *progress;
  self->last.account = self->account;
  self->last.folder = self->folder;
  if (self->timer == 0)
    self->timer = g_timeout_add (MAX_STILL_MS, tick, self);
  guint messages, messages_total;
  guint64 bytes, bytes_total;
  counts (progress, &messages, &messages_total, &bytes, &bytes_total);
  if (!go_on || g_get_monotonic_time () - self->drawn >= MIN_REDRAW_US
      || messages == messages_total)
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
