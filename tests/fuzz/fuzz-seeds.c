/* fuzz-seeds.c: runs a fuzz target over its seed corpus as an ordinary test (TAP), for
 * builds without libFuzzer. Arguments: the corpus directory and the test's path. */
#include <glib.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
main (int argc, char **argv)
{
  g_autoptr (GDir) dir = NULL;
  const char *name;
  guint count = 0;

  if (argc != 3 || (dir = g_dir_open (argv[1], 0, NULL)) == NULL)
    {
      g_printerr ("usage: %s CORPUS-DIR TEST-PATH\n", argv[0]);
      return 2;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (argv[1], name, NULL);
      g_autofree char *data = NULL;
      gsize len = 0;
      if (!g_file_get_contents (path, &data, &len, NULL))
        return 1;
      LLVMFuzzerTestOneInput ((const uint8_t *) data, len);
      count++;
    }
  /* The seeds count as one test case, like every other suite's cases. */
  g_print ("1..1\n%s 1 %s (%u seeds)\n", count > 0 ? "ok" : "not ok", argv[2], count);
  return count > 0 ? 0 : 1;
}
