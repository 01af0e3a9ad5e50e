/* test-keyword-map.c: a folder's keywords as flag bits, letters and state DB slots
 * (TdKeywordMap), on a real Maildir folder and state DB in a temporary directory.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "engine/sync/td-keyword-map.h"
#include "engine/sync/td-local-folder.h"

typedef struct
{
  char *root;
  TdMaildir *maildir;
  TdMaildirFolder *folder;
  TdStateDb *db;
  TdStateFolder record;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  char *components[] = { "INBOX", NULL };

  f->root = g_dir_make_tmp ("tidings-keywords-XXXXXX", NULL);
  f->maildir = td_maildir_open (f->root, NULL, &error);
  g_assert_no_error (error);
  f->folder = td_maildir_open_folder (f->maildir, components, &error);
  g_assert_no_error (error);
  g_autofree char *db = g_build_filename (f->root, "state.db", NULL);
  f->db = td_state_db_open (db, &error);
  g_assert_no_error (error);
  g_assert_true (td_state_db_get_folder (f->db, "acct", "INBOX", &f->record, &error));
}

static void
teardown (Fixture *f, gconstpointer data)
{
  td_state_db_close (f->db);
  td_maildir_folder_unref (f->folder);
  td_maildir_free (f->maildir);
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", f->root);
  g_assert_cmpint (system (cmd), ==, 0);
  g_free (f->root);
}

static char *
keywords_file (Fixture *f)
{
  g_autofree char *path = g_build_filename (f->root, "INBOX", "dovecot-keywords", NULL);
  char *text = NULL;
  g_file_get_contents (path, &text, NULL, NULL);
  return text;
}

/* Names become slots in the order met; the same name keeps its bit; names that are not
 * IMAP atoms get none; letters follow dovecot-keywords and it is written before use. */
static void
test_names_and_letters (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TdKeywordMap) map = td_keyword_map_new (f->folder);

  g_assert_true (td_keyword_map_load (map, f->db, f->record.id, &error));
  TdFlags junk = td_keyword_map_from_names (map, "$Junk");
  TdFlags both = td_keyword_map_from_names (map, "$label1 $Junk bad\"name");
  g_assert_cmpuint (junk, ==, TD_FLAG_KEYWORD (0));
  g_assert_cmpuint (both, ==, TD_FLAG_KEYWORD (0) | TD_FLAG_KEYWORD (1));
  g_assert_cmpuint (td_keyword_map_blind (map), ==, both); /* no letters yet */

  guint32 letters = 0;
  g_assert_true (td_keyword_map_to_letters (map, TD_FLAG_KEYWORD (1), &letters, &error));
  g_assert_cmpuint (letters, ==, 1u << 0); /* $label1 got 'a' */
  g_autofree char *text = keywords_file (f);
  g_assert_cmpstr (text, ==, "0 $label1\n");
  g_assert_cmpuint (td_keyword_map_blind (map), ==, TD_FLAG_KEYWORD (0));
  g_assert_cmpuint (td_keyword_map_from_letters (map, 1u << 0), ==, TD_FLAG_KEYWORD (1));
  /* A letter dovecot-keywords does not name stands for nothing. */
  g_assert_cmpuint (td_keyword_map_from_letters (map, 1u << 5), ==, 0);

  /* The slots last: a new map on the same DB gives the same bits. */
  g_assert_true (td_state_db_begin (f->db, &error));
  g_assert_true (td_keyword_map_save (map, f->db, f->record.id, &error));
  g_assert_true (td_state_db_commit (f->db, &error));
  g_autoptr (TdKeywordMap) again = td_keyword_map_new (f->folder);
  g_assert_true (td_keyword_map_load (again, f->db, f->record.id, &error));
  g_assert_cmpuint (td_keyword_map_from_names (again, "$label1"), ==, TD_FLAG_KEYWORD (1));
  g_assert_cmpstr (td_keyword_map_get_names (again)[0], ==, "$Junk");
  g_assert_null (td_keyword_map_get_names (again)[2]);
}

/* 30 names: 26 letters, 4 without one (blind, counted); beyond the slots, counted too. */
static void
test_limits (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TdKeywordMap) map = td_keyword_map_new (f->folder);
  TdFlags all = 0;

  for (guint i = 0; i < 30; i++)
    {
      g_autofree char *name = g_strdup_printf ("k%u", i);
      all |= td_keyword_map_from_names (map, name);
    }
  guint32 letters = 0;
  g_assert_true (td_keyword_map_to_letters (map, all, &letters, &error));
  g_assert_cmpuint (letters, ==, (1u << 26) - 1);
  g_assert_cmpuint (td_keyword_map_count_no_letter (map), ==, 4);
  TdFlags blind = td_keyword_map_blind (map);
  for (guint i = 26; i < 30; i++)
    g_assert_true (blind & TD_FLAG_KEYWORD (i));
  g_assert_false (blind & TD_FLAG_KEYWORD (25));

  for (guint i = 30; i < TD_KEYWORD_SLOTS + 10; i++)
    {
      g_autofree char *name = g_strdup_printf ("k%u", i);
      td_keyword_map_from_names (map, name);
    }
  g_assert_cmpuint (td_keyword_map_count_untracked (map), ==, 10);
  g_assert_cmpuint (td_keyword_map_from_names (map, "k70"), ==, 0);

  /* A server that invents a name for every message: each is counted (the set that keeps
   * names is capped; td-keyword-map.c), and a repeat of a kept name is not counted twice. */
  for (guint i = 0; i < 5000; i++)
    {
      g_autofree char *name = g_strdup_printf ("flood%u", i);
      td_keyword_map_from_names (map, name);
    }
  td_keyword_map_from_names (map, "flood0");
  g_assert_cmpuint (td_keyword_map_count_untracked (map), ==, 11 + 5000);
}

/* The file's view of a message: what its name shows, and the row's for blind keywords, so a
 * keyword no letter can show is never taken as removed by the reader. */
static void
test_file_flags (void)
{
  TdLocalSide side = { .blind = TD_FLAG_KEYWORD (3) };
  TdMaildirEntry entry = { .flags = TD_FLAG_SEEN | TD_FLAG_KEYWORD (1) };
  TdFlags row = TD_FLAG_KEYWORD (1) | TD_FLAG_KEYWORD (3);

  g_assert_cmpuint (td_local_side_file_flags (&side, &entry, row), ==,
                    TD_FLAG_SEEN | TD_FLAG_KEYWORD (1) | TD_FLAG_KEYWORD (3));
  g_assert_cmpuint (td_local_side_file_flags (&side, &entry, 0), ==,
                    TD_FLAG_SEEN | TD_FLAG_KEYWORD (1));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add ("/sync/keywords/names-and-letters", Fixture, NULL, setup, test_names_and_letters,
              teardown);
  g_test_add ("/sync/keywords/limits", Fixture, NULL, setup, test_limits, teardown);
  g_test_add_func ("/sync/keywords/file-flags", test_file_flags);
  return g_test_run ();
}
