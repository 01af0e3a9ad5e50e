/* td-cli-import.c: `tidings import mbsync|offlineimap [FILE]`: another tool's configuration
 * as a Tidings one, on stdout or written to --output (mode 0600, never over an existing
 * file).
 * What cannot be carried over is said on stderr, and as comments in the result. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "engine/common/td-error.h"
#include "engine/common/td-import.h"
#include "td-cli.h"

static gboolean
write_new_file (const char *path, const char *text, GError **error)
{
  int fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  gsize len = strlen (text), done = 0;

  if (fd < 0)
    {
      g_set_error (error, TD_ERROR, TD_ERROR_LOCAL_IO, "cannot create %s: %s%s", path,
                   g_strerror (errno), errno == EEXIST ? " (it is not overwritten; choose "
                                                         "another name or move it away)" : "");
      return FALSE;
    }
  while (done < len)
    {
      ssize_t n = write (fd, text + done, len - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          g_set_error (error, TD_ERROR, TD_ERROR_LOCAL_IO, "cannot write %s: %s", path,
                       g_strerror (errno));
          close (fd);
          return FALSE;
        }
      done += (gsize) n;
    }
  if (fsync (fd) != 0 || close (fd) != 0)
    {
      g_set_error (error, TD_ERROR, TD_ERROR_LOCAL_IO, "cannot write %s: %s", path,
                   g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

int
td_cli_import (const TdCliGlobals *globals, int argc, char **argv)
{
  g_autofree char *output = NULL;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Write the configuration to FILE (mode 0600) instead of printing it", "FILE" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("mbsync|offlineimap [FILE] - make a "
                                                         "Tidings configuration from "
                                                         "another tool's");
  g_autoptr (GError) error = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "tidings import: %s\n", error->message);
      return TD_EXIT_USAGE;
    }
  gboolean mbsync = argc >= 2 && g_str_equal (argv[1], "mbsync");
  if (argc < 2 || argc > 3 || (!mbsync && !g_str_equal (argv[1], "offlineimap")))
    {
      fprintf (stderr, "tidings import: say which tool's configuration to read: "
               "`tidings import mbsync [FILE]` or `tidings import offlineimap [FILE]`\n");
      return TD_EXIT_USAGE;
    }
  g_autofree char *source = NULL;
  if (argc == 3)
    source = g_strdup (argv[2]);
  else if (mbsync)
    source = g_build_filename (g_get_home_dir (), ".mbsyncrc", NULL);
  else
    {
      source = g_build_filename (g_get_home_dir (), ".offlineimaprc", NULL);
      if (!g_file_test (source, G_FILE_TEST_EXISTS))
        {
          g_free (source);
          source = g_build_filename (g_get_user_config_dir (), "offlineimap", "config", NULL);
        }
    }
  g_autofree char *text = NULL;
  if (!g_file_get_contents (source, &text, NULL, &error))
    {
      fprintf (stderr, "tidings import: cannot read %s: %s\n", source, error->message);
      return TD_EXIT_USAGE;
    }
  g_autoptr (GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *config = mbsync ? td_import_mbsync (text, source, notes, &error)
                                   : td_import_offlineimap (text, source, notes, &error);
  if (config == NULL)
    {
      fprintf (stderr, "tidings import: %s\n", error->message);
      return TD_EXIT_USAGE;
    }
  for (guint i = 0; i < notes->len; i++)
    fprintf (stderr, "tidings import: note: %s\n",
             (char *) g_ptr_array_index (notes, i));
  if (output == NULL)
    {
      fputs (config, stdout);
      return TD_EXIT_OK;
    }
  if (!write_new_file (output, config, &error))
    {
      fprintf (stderr, "tidings import: %s\n", error->message);
      return TD_EXIT_LOCAL_IO;
    }
  fprintf (stderr, "tidings import: wrote %s; check it with `tidings --config %s check-config`\n",
           output, output);
  return TD_EXIT_OK;
}
