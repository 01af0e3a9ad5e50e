/* test-storage.c: modified UTF-7, the folder name mapping, Maildir delivery and the state DB. */
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/common/td-mutf7.h"
#include "storage/td-folder-map.h"
#include "storage/td-maildir.h"
#include "storage/td-maildir-keywords.h"
#include "storage/td-state-db.h"
#include "storage/td-storage-error.h"

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

static void
test_mutf7_round_trip (void)
{
  const char *pairs[][2] = {
    { "INBOX", "INBOX" },
    { "Entwürfe", "Entw&APw-rfe" },                  /* Dovecot's spelling */
    { "~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-" }, /* RFC 3501 5.1.3 */
    { "a&b", "a&-b" },
    { "😀", "&2D3eAA-" },                            /* a surrogate pair */
  };
  for (gsize i = 0; i < G_N_ELEMENTS (pairs); i++)
    {
      g_autofree char *enc = td_mutf7_encode (pairs[i][0]);
      g_autoptr (GError) error = NULL;
      g_autofree char *dec = td_mutf7_decode (pairs[i][1], &error);
      g_assert_cmpstr (enc, ==, pairs[i][1]);
      g_assert_no_error (error);
      g_assert_cmpstr (dec, ==, pairs[i][0]);
    }
}

static void
test_mutf7_malformed (void)
{
  const char *bad[] = { "&", "&Jjo", "&Jjo!-", "a\xc3\xa4", "&AGE-", "&2D0-", "&-&", "tab\there" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *dec = td_mutf7_decode (bad[i], &error);
      g_assert_null (dec);
      g_assert_nonnull (error);
    }
}

/* @kind as Tidings writes it by default (static storage: for one call at a time). */
static const TdFolderLayout *
layout (TdLayout kind)
{
  static TdFolderLayout l[4];
  l[kind] = td_folder_layout_default (kind);
  return &l[kind];
}

static void
test_map_verbatim (void)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) a = td_folder_map_components ("Archive/2024", '/', layout (TD_LAYOUT_VERBATIM), &error);
  g_auto (GStrv) b = td_folder_map_components ("inbox", '/', layout (TD_LAYOUT_VERBATIM), &error);
  g_auto (GStrv) c = td_folder_map_components ("Lists.gnome", '.', layout (TD_LAYOUT_VERBATIM), &error);
  g_assert_no_error (error);
  g_assert_cmpstrv (a, ((const char *[]) { "Archive", "2024", NULL }));
  g_assert_cmpstrv (b, ((const char *[]) { "INBOX", NULL }));
  g_assert_cmpstrv (c, ((const char *[]) { "Lists", "gnome", NULL }));
}

static void
test_map_maildirpp (void)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) a = td_folder_map_components ("Archive/2024", '/', layout (TD_LAYOUT_MAILDIRPP), &error);
  g_auto (GStrv) b = td_folder_map_components ("INBOX", '/', layout (TD_LAYOUT_MAILDIRPP), &error);
  g_auto (GStrv) c = td_folder_map_components ("Entwürfe", '/', layout (TD_LAYOUT_MAILDIRPP), &error);
  g_assert_no_error (error);
  g_assert_cmpstrv (a, ((const char *[]) { ".Archive.2024", NULL }));
  g_assert_cmpstrv (b, ((const char *[]) { NULL }));
  g_assert_cmpstrv (c, ((const char *[]) { ".Entw&APw-rfe", NULL }));
}

/* mbsync's legacy layout, flat (offlineimap's), and names in modified UTF-7 as mbsync 1.4
 * writes them: each maps back to the same name, and a directory of another layout maps to
 * none. */
static void
test_map_other_layouts (void)
{
  TdFolderLayout legacy = { TD_LAYOUT_LEGACY, TRUE, '.' };
  TdFolderLayout flat = { TD_LAYOUT_FLAT, FALSE, '.' };
  TdFolderLayout flat_utf7 = { TD_LAYOUT_FLAT, TRUE, '_' };
  TdFolderLayout verbatim_utf7 = { TD_LAYOUT_VERBATIM, TRUE, '.' };
  const struct
  {
    const TdFolderLayout *layout;
    const char *name;
    const char *dirs[4];
  } cases[] = {
    { &legacy, "INBOX", { "INBOX" } },
    { &legacy, "Archive", { "Archive" } },
    { &legacy, "Archive/2024/Q1", { "Archive", ".2024", ".Q1" } },
    { &legacy, "Zz/Tëst", { "Zz", ".T&AOs-st" } },
    { &flat, "INBOX", { "INBOX" } },
    { &flat, "Archive/2024", { "Archive.2024" } },
    { &flat, "Entwürfe", { "Entwürfe" } },
    { &flat_utf7, "Lists/Entwürfe", { "Lists_Entw&APw-rfe" } },
    { &verbatim_utf7, "Reçus/2024", { "Re&AOc-us", "2024" } },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_auto (GStrv) c = td_folder_map_components (cases[i].name, '/', cases[i].layout, &error);
      g_assert_no_error (error);
      g_assert_cmpstrv (c, cases[i].dirs);
      g_autofree char *back = td_folder_map_name (c, '/', cases[i].layout, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (back, ==, g_ascii_strcasecmp (cases[i].name, "INBOX") ? cases[i].name
                                                                               : "INBOX");
    }
  const struct
  {
    const TdFolderLayout *layout;
    const char *dirs[4];
  } foreign[] = {
    { &legacy, { "Archive", "2024" } },  /* verbatim's */
    { &legacy, { ".Archive" } },         /* maildir++'s */
    { &legacy, { "Archive", "." } },
    { &flat, { "Archive", "2024" } },
    { &flat, { "Archive..2024" } },
    { &verbatim_utf7, { "Re&AOc" } },     /* not modified UTF-7 */
  };
  for (gsize i = 0; i < G_N_ELEMENTS (foreign); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *name = td_folder_map_name ((char **) foreign[i].dirs, '/',
                                                  foreign[i].layout, &error);
      g_assert_null (name);
      g_assert_error (error, TD_STORAGE_ERROR, TD_STORAGE_ERROR_BAD_NAME);
    }
  /* A part holding the flat separator, a directory named cur: refused. */
  g_autoptr (GError) sep = NULL;
  g_auto (GStrv) a = td_folder_map_components ("v1.2/x", '/', &flat, &sep);
  g_assert_null (a);
  g_assert_error (sep, TD_STORAGE_ERROR, TD_STORAGE_ERROR_BAD_NAME);
  g_autoptr (GError) cur = NULL;
  g_auto (GStrv) b = td_folder_map_components ("cur/x", '/', &legacy, &cur);
  g_assert_null (b);
  g_assert_error (cur, TD_STORAGE_ERROR, TD_STORAGE_ERROR_BAD_NAME);
  g_autoptr (GError) deeper = NULL;
  g_auto (GStrv) d = td_folder_map_components ("x/cur", '/', &legacy, &deeper);
  g_assert_no_error (deeper);
  g_assert_cmpstrv (d, ((const char *[]) { "x", ".cur", NULL }));
}

/* Names a hostile server may send: none may map to a path outside the account root. */
static void
test_map_hostile (void)
{
  const struct
  {
    const char *name;
    char delim;
    TdLayout layout;
  } bad[] = {
    { "..", '/', TD_LAYOUT_VERBATIM },          { "../../etc", '/', TD_LAYOUT_VERBATIM },
    { "a/../../b", '/', TD_LAYOUT_VERBATIM },   { "/etc/passwd", '/', TD_LAYOUT_VERBATIM },
    { "a//b", '/', TD_LAYOUT_VERBATIM },        { ".", '.', TD_LAYOUT_VERBATIM },
    { "a/b", '.', TD_LAYOUT_VERBATIM },         { "x\ny", '/', TD_LAYOUT_VERBATIM },
    { "Archive/cur", '/', TD_LAYOUT_VERBATIM }, { "tmp", '/', TD_LAYOUT_VERBATIM },
    { "a.b", '/', TD_LAYOUT_MAILDIRPP },        { "..", '.', TD_LAYOUT_MAILDIRPP },
    { "bad\xff", '/', TD_LAYOUT_VERBATIM },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_auto (GStrv) c = td_folder_map_components (bad[i].name, bad[i].delim, layout (bad[i].layout), &error);
      g_assert_null (c);
      g_assert_error (error, TD_STORAGE_ERROR, TD_STORAGE_ERROR_BAD_NAME);
    }
  g_autoptr (GString) deep = g_string_new ("a");
  for (int i = 0; i < TD_FOLDER_MAX_DEPTH; i++)
    g_string_append (deep, "/a");
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) c = td_folder_map_components (deep->str, '/', layout (TD_LAYOUT_VERBATIM), &error);
  g_assert_null (c);
}

static TdMaildirFolder *
open_inbox (TdMaildir **md_out, char **root_out)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *base = g_dir_make_tmp ("tidings-storage-XXXXXX", NULL);
  char *root = g_build_filename (base, "Mail", NULL);
  TdMaildir *md = td_maildir_open (root, NULL, &error);
  g_assert_no_error (error);
  char *comps[] = { "INBOX", NULL };
  TdMaildirFolder *f = td_maildir_open_folder (md, comps, &error);
  g_assert_no_error (error);
  *md_out = md;
  *root_out = root;
  return f;
}

/* CRLF becomes LF, split across writes too; a lone CR and every other byte stay. */
static void
test_delivery_crlf (void)
{
  TdMaildir *md;
  g_autofree char *root = NULL;
  g_autoptr (TdMaildirFolder) f = open_inbox (&md, &root);
  g_autoptr (GError) error = NULL;
#define PIECE(s) { s, sizeof (s) - 1 }
  const struct
  {
    const char *data;
    gsize len;
  } pieces[] = { PIECE ("Subject: x\r"), PIECE ("\nA\rB\r\n\r"), PIECE ("\nbody\0x\r\n"),
                 PIECE ("end\r") };
  TdMaildirDelivery *d = td_maildir_delivery_begin (f, &error);

  g_assert_no_error (error);
  for (gsize i = 0; i < G_N_ELEMENTS (pieces); i++)
    g_assert_true (td_maildir_delivery_write (d, (const guint8 *) pieces[i].data, pieces[i].len,
                                              &error));
  g_assert_true (td_maildir_delivery_close (d, 1000000000, &error));
  g_assert_true (td_maildir_delivery_publish (d, TD_FLAG_SEEN | TD_FLAG_FLAGGED, 0, &error));
  g_autofree char *path = g_strdup_printf ("%s/INBOX/cur/%s:2,FS", root,
                                           td_maildir_delivery_get_base (d));
  gsize len = 0;
  g_autofree char *data = NULL;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_assert_cmpmem (data, len, "Subject: x\nA\rB\n\nbody\0x\nend\r", 27);
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mtime, ==, 1000000000);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  td_maildir_delivery_free (d);
  td_maildir_free (md);
}

/* Flags go to cur/ sorted, keep letters Tidings does not manage, and an unflagged message
 * stays in new/; an abandoned delivery leaves nothing behind in tmp/. */
static void
test_flags_and_tmp (void)
{
  TdMaildir *md;
  g_autofree char *root = NULL;
  g_autoptr (TdMaildirFolder) f = open_inbox (&md, &root);
  g_autoptr (GError) error = NULL;
  TdMaildirDelivery *d = td_maildir_delivery_begin (f, &error);
  g_autofree char *base = g_strdup (td_maildir_delivery_get_base (d));

  td_maildir_delivery_write (d, (const guint8 *) "x", 1, &error);
  td_maildir_delivery_close (d, -1, &error);
  td_maildir_delivery_publish (d, 0, 0, &error);
  td_maildir_delivery_free (d);
  g_autofree char *in_new = g_strdup_printf ("%s/INBOX/new/%s", root, base);
  g_assert_true (g_file_test (in_new, G_FILE_TEST_EXISTS));

  /* A mail reader adds a keyword letter; a server flag change must keep it. */
  g_autofree char *in_cur = g_strdup_printf ("%s/INBOX/cur/%s:2,a", root, base);
  g_assert_cmpint (g_rename (in_new, in_cur), ==, 0);
  g_autoptr (GHashTable) scan = td_maildir_folder_scan (f, &error);
  TdMaildirEntry *e = g_hash_table_lookup (scan, base);
  g_assert_nonnull (e);
  g_assert_true (td_maildir_folder_set_flags (f, base, e, TD_FLAG_SEEN | TD_FLAG_DRAFT, 0, &error));
  g_autofree char *expect = g_strdup_printf ("%s/INBOX/cur/%s:2,DSa", root, base);
  g_assert_true (g_file_test (expect, G_FILE_TEST_EXISTS));

  TdMaildirDelivery *gone = td_maildir_delivery_begin (f, &error);
  td_maildir_delivery_write (gone, (const guint8 *) "partial", 7, &error);
  td_maildir_delivery_free (gone);
  g_autofree char *tmp = g_build_filename (root, "INBOX", "tmp", NULL);
  g_autoptr (GDir) dir = g_dir_open (tmp, 0, NULL);
  g_assert_null (g_dir_read_name (dir));
  td_maildir_free (md);
}

/* A symlink planted where a folder goes is not followed. */
static void
test_symlink_not_followed (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *base = g_dir_make_tmp ("tidings-storage-XXXXXX", NULL);
  g_autofree char *root = g_build_filename (base, "Mail", NULL);
  g_autofree char *outside = g_build_filename (base, "outside", NULL);
  g_autofree char *link = g_build_filename (root, "Evil", NULL);
  g_autoptr (TdMaildir) md = td_maildir_open (root, NULL, &error);
  char *comps[] = { "Evil", NULL };

  g_assert_cmpint (g_mkdir (outside, 0700), ==, 0);
  g_assert_cmpint (symlink (outside, link), ==, 0);
  g_autoptr (TdMaildirFolder) f = td_maildir_open_folder (md, comps, &error);
  g_assert_null (f);
  g_assert_error (error, TD_STORAGE_ERROR, TD_STORAGE_ERROR_IO);
  g_autofree char *cur = g_build_filename (outside, "cur", NULL);
  g_assert_false (g_file_test (cur, G_FILE_TEST_EXISTS));
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

/* INBOX in a directory of its own (mbsync's Inbox outside Path): INBOX maps there, a folder
 * that happens to be that directory inside the Maildir is not listed as another folder (nor
 * what is below it), no directory name maps back to INBOX, and maildir++'s root is then no
 * folder at all. */
static void
test_inbox_apart (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *base = g_dir_make_tmp ("tidings-storage-XXXXXX", NULL);
  g_autofree char *root = g_build_filename (base, "Mail", NULL);
  g_autofree char *inside = g_build_filename (root, "Inbox", NULL);
  g_autofree char *outside = g_build_filename (base, "Maildir", NULL);
  TdFolderLayout layout = td_folder_layout_default (TD_LAYOUT_VERBATIM);
  char *names[] = { "INBOX", NULL };

  layout.inbox_apart = TRUE;
  g_auto (GStrv) inbox = td_folder_map_components ("INBOX", '/', &layout, &error);
  g_assert_no_error (error);
  g_assert_cmpstrv (inbox, ((const char *[]) { TD_FOLDER_INBOX_APART, NULL }));
  g_autofree char *not_inbox = td_folder_map_name (names, '/', &layout, &error);
  g_assert_null (not_inbox);
  g_clear_error (&error);

  for (guint i = 0; i < 2; i++)
    {
      const char *where = i == 0 ? outside : inside;
      g_autoptr (TdMaildir) md = td_maildir_open (root, where, &error);
      g_assert_no_error (error);
      g_autoptr (TdMaildirFolder) f = td_maildir_open_folder (md, inbox, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (td_maildir_folder_get_path (f), ==, where);
      g_autofree char *cur = g_build_filename (where, "cur", NULL);
      g_assert_true (g_file_test (cur, G_FILE_TEST_IS_DIR));
      g_autofree char *path = td_maildir_dup_folder_path (md, inbox);
      g_assert_cmpstr (path, ==, where);
      char *sub[] = { "Inbox", "Sub", NULL };
      char *archive[] = { "Archive", NULL };
      g_autoptr (TdMaildirFolder) s = td_maildir_open_folder (md, sub, &error);
      g_autoptr (TdMaildirFolder) a = td_maildir_open_folder (md, archive, &error);
      g_assert_no_error (error);
      g_autoptr (GPtrArray) found = td_maildir_list_folders (md, TD_LAYOUT_VERBATIM, &error);
      g_assert_no_error (error);
      g_autoptr (GPtrArray) shown = g_ptr_array_new_with_free_func (g_free);
      for (guint j = 0; j < found->len; j++)
        g_ptr_array_add (shown, g_strjoinv ("/", g_ptr_array_index (found, j)));
      g_ptr_array_sort (shown, compare_strings);
      g_ptr_array_add (shown, NULL);
      g_autofree char *list = g_strjoinv (",", (char **) shown->pdata);
      /* Outside, Inbox/ is a folder's parent like any; inside, it is INBOX's and passed over. */
      g_assert_cmpstr (list, ==, i == 0 ? "Archive,Inbox/Sub" : "Archive");
    }

  g_autofree char *pp_root = g_build_filename (base, "pp", NULL);
  g_autoptr (TdMaildir) pp = td_maildir_open (pp_root, pp_root, &error);
  g_autoptr (TdMaildirFolder) root_inbox = td_maildir_open_folder (pp, inbox, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) none = td_maildir_list_folders (pp, TD_LAYOUT_MAILDIRPP, &error);
  g_assert_cmpuint (none->len, ==, 0);
  layout.kind = TD_LAYOUT_MAILDIRPP;
  char *top[] = { NULL };
  g_autofree char *no_name = td_folder_map_name (top, '/', &layout, &error);
  g_assert_null (no_name);
}

static void
test_state_db_migrations (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *base = g_dir_make_tmp ("tidings-storage-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (base, "state", "state.db", NULL);
  TdStateFolder folder;

  /* Version 0 (a new file) upgrades to the latest, and the file is private. */
  g_autoptr (TdStateDb) db = td_state_db_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (td_state_db_get_version (db), ==, td_state_db_latest_version ());
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (td_state_db_get_folder (db, "acct", "INBOX", &folder, &error));
  TdStateMessage m = { 7, "base7", TD_FLAG_SEEN | TD_FLAG_KEYWORD (55), 100, "<m@x>", TRUE,
                       "M6d99ac3275bb4e" };
  g_assert_true (td_state_db_begin (db, &error));
  g_assert_true (td_state_db_put_message (db, folder.id, &m, &error));
  g_assert_true (td_state_db_commit (db, &error));
  g_clear_pointer (&db, td_state_db_close);

  /* Reopening keeps the data and does not migrate again. */
  db = td_state_db_open (path, &error);
  g_assert_no_error (error);
  g_autoptr (GArray) rows = td_state_db_load_messages (db, folder.id, &error);
  g_assert_cmpuint (rows->len, ==, 1);
  g_assert_true (g_array_index (rows, TdStateMessage, 0).pending);
  /* The top keyword bit (a negative number to SQLite) and the server's id come back. */
  g_assert_cmpuint (g_array_index (rows, TdStateMessage, 0).flags, ==,
                    TD_FLAG_SEEN | TD_FLAG_KEYWORD (55));
  g_assert_cmpstr (g_array_index (rows, TdStateMessage, 0).email_id, ==, "M6d99ac3275bb4e");
  g_clear_pointer (&db, td_state_db_close);

  /* A database from a newer Tidings is refused, not damaged. */
  sqlite3 *raw;
  g_assert_cmpint (sqlite3_open (path, &raw), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (raw, "PRAGMA user_version = 999", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (raw);
  db = td_state_db_open (path, &error);
  g_assert_null (db);
  g_assert_error (error, TD_STORAGE_ERROR, TD_STORAGE_ERROR_DB);
}

/* A database of every earlier version, made from the migration files themselves and holding
 * data, upgrades to the latest and keeps its data. */
static void
test_state_db_upgrades (void)
{
  int latest = td_state_db_latest_version ();

  for (int version = 1; version < latest; version++)
    {
      g_autofree char *base = g_dir_make_tmp ("tidings-storage-XXXXXX", NULL);
      g_autofree char *path = g_build_filename (base, "state.db", NULL);
      g_autoptr (GDir) dir = g_dir_open (TD_MIGRATIONS_DIR, 0, NULL);
      g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
      const char *name;
      sqlite3 *raw;

      while ((name = g_dir_read_name (dir)) != NULL)
        g_ptr_array_add (files, g_strdup (name));
      g_ptr_array_sort (files, compare_names);
      g_assert_cmpint (sqlite3_open (path, &raw), ==, SQLITE_OK);
      for (int v = 0; v < version; v++)
        {
          g_autofree char *file = g_build_filename (TD_MIGRATIONS_DIR, files->pdata[v], NULL);
          g_autofree char *sql = NULL;
          g_assert_true (g_file_get_contents (file, &sql, NULL, NULL));
          g_assert_cmpint (sqlite3_exec (raw, sql, NULL, NULL, NULL), ==, SQLITE_OK);
        }
      g_autofree char *pragma = g_strdup_printf (
        "PRAGMA user_version = %d; INSERT INTO folders (account, name, uidvalidity, uidnext) "
        "VALUES ('a', 'INBOX', 7, 3); INSERT INTO messages (folder_id, uid, base, flags) VALUES "
        "(1, 2, 'b2', 1);", version);
      g_assert_cmpint (sqlite3_exec (raw, pragma, NULL, NULL, NULL), ==, SQLITE_OK);
      sqlite3_close (raw);

      g_autoptr (GError) error = NULL;
      g_autoptr (TdStateDb) db = td_state_db_open (path, &error);
      g_assert_no_error (error);
      g_assert_cmpint (td_state_db_get_version (db), ==, latest);
      TdStateFolder folder;
      g_assert_true (td_state_db_get_folder (db, "a", "INBOX", &folder, &error));
      g_assert_cmpuint (folder.uidvalidity, ==, 7);
      g_assert_cmpuint (folder.uidnext, ==, 3);
      g_autoptr (GArray) rows = td_state_db_load_messages (db, folder.id, &error);
      g_assert_cmpuint (rows->len, ==, 1);
      g_assert_cmpstr (g_array_index (rows, TdStateMessage, 0).base, ==, "b2");
    }
}

static const TdStateFolderSummary *
summary_named (GPtrArray *all, const char *name)
{
  for (guint i = 0; i < all->len; i++)
    if (g_strcmp0 (((TdStateFolderSummary *) g_ptr_array_index (all, i))->name, name) == 0)
      return g_ptr_array_index (all, i);
  return NULL;
}

/* What a resync compares with the server's listing before opening anything: each folder's
 * message count, its highest UID, and the work left over (pending downloads, uploads). */
static void
test_state_db_folder_summaries (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *base = g_dir_make_tmp ("tidings-storage-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (base, "state.db", NULL);
  g_autoptr (TdStateDb) db = td_state_db_open (path, &error);
  TdStateFolder inbox, archive, empty, other;

  g_assert_no_error (error);
  g_assert_true (td_state_db_get_folder (db, "acct", "INBOX", &inbox, &error));
  g_assert_true (td_state_db_get_folder (db, "acct", "Archive", &archive, &error));
  g_assert_true (td_state_db_get_folder (db, "acct", "Empty", &empty, &error));
  g_assert_true (td_state_db_get_folder (db, "other", "INBOX", &other, &error));
  g_assert_true (td_state_db_begin (db, &error));
  for (guint32 uid = 1; uid <= 40; uid++)
    {
      g_autofree char *name = g_strdup_printf ("b%u", uid);
      TdStateMessage m = { uid * 3, name, 0, 10, NULL, uid % 10 == 0 };
      g_assert_true (td_state_db_put_message (db, uid <= 30 ? inbox.id : archive.id, &m, &error));
    }
  TdStateMessage foreign = { 500, "f", 0, 10, NULL, TRUE };
  g_assert_true (td_state_db_put_message (db, other.id, &foreign, &error));
  TdStateUpload up = { "u1", "token", NULL, 10, 0, 0, 0, FALSE };
  g_assert_true (td_state_db_put_upload (db, archive.id, &up, &error));
  g_assert_true (td_state_db_commit (db, &error));

  g_autoptr (GPtrArray) all = td_state_db_list_folders (db, "acct", 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 3);
  const TdStateFolderSummary *s = summary_named (all, "INBOX");
  g_assert_nonnull (s);
  g_assert_cmpint (s->record.id, ==, inbox.id);
  g_assert_cmpuint (s->count, ==, 30);
  g_assert_cmpuint (s->last_uid, ==, 90);
  g_assert_cmpuint (s->pending, ==, 3);
  s = summary_named (all, "Archive");
  g_assert_nonnull (s);
  g_assert_cmpuint (s->count, ==, 10);
  g_assert_cmpuint (s->last_uid, ==, 120);
  g_assert_cmpuint (s->pending, ==, 1 + 1);
  s = summary_named (all, "Empty");
  g_assert_nonnull (s);
  g_assert_cmpuint (s->count, ==, 0);
  g_assert_cmpuint (s->last_uid, ==, 0);
  g_assert_cmpuint (s->pending, ==, 0);
}

/* Messages left on the server: counted with the held ones; those the limits let through now
 * are counted apart; one listed by UID only whose bound is after the cut-off gives its UID as
 * the folder's UIDNEXT, so that the listing starts there. */
static void
test_state_db_left_on_server (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *base = g_dir_make_tmp ("tidings-storage-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (base, "state.db", NULL);
  g_autoptr (TdStateDb) db = td_state_db_open (path, &error);
  TdStateFolder empty;

  g_assert_no_error (error);
  g_assert_true (td_state_db_get_folder (db, "acct", "Empty", &empty, &error));
  empty.uidvalidity = 7;
  empty.uidnext = 60;
  g_assert_true (td_state_db_update_folder (db, &empty, &error));
  const TdStateLeft left[] = { { 50, 9000, 2000000, 0 },  /* too big */
                               { 51, 100, 500000, 0 },    /* too old */
                               { 52, 0, -1, 900000 },     /* by UID only, before 900000 */
                               { 53, 0, -1, 900000 } };
  g_assert_true (td_state_db_begin (db, &error));
  for (guint i = 0; i < G_N_ELEMENTS (left); i++)
    g_assert_true (td_state_db_put_left (db, empty.id, &left[i], &error));
  g_assert_true (td_state_db_commit (db, &error));
  static const struct
  {
    guint64 max_size;
    gint64 not_before;
    guint32 let_through, uidnext;
  } limits[] = { { 5000, 1000000, 0, 60 }, { 10000, 1000000, 1, 60 },
                 { 5000, 400000, 1 + 2, 52 }, { 0, 0, 4, 52 } };
  for (guint i = 0; i < G_N_ELEMENTS (limits); i++)
    {
      g_autoptr (GPtrArray) now = td_state_db_list_folders (db, "acct", limits[i].max_size,
                                                            limits[i].not_before, &error);
      g_assert_no_error (error);
      const TdStateFolderSummary *s = summary_named (now, "Empty");
      g_assert_cmpuint (s->count, ==, 4);
      g_assert_cmpuint (s->last_uid, ==, 53);
      g_assert_cmpuint (s->left_let_through, ==, limits[i].let_through);
      g_assert_cmpuint (s->record.uidnext, ==, limits[i].uidnext);
    }
  g_autoptr (GArray) loaded = td_state_db_load_left (db, empty.id, &error);
  g_assert_cmpuint (loaded->len, ==, 4);
  g_assert_cmpint (g_array_index (loaded, TdStateLeft, 2).received_before, ==, 900000);
  g_assert_cmpint (g_array_index (loaded, TdStateLeft, 1).internal_date, ==, 500000);
}

/* dovecot-keywords as Dovecot writes it, and as a damaged or hostile one may read: lines
 * that cannot be used are left out, the rest is kept letter for letter. */
static void
test_maildir_keywords_parse (void)
{
  const char text[] = "0 $Junk\n1 $Forwarded\r\n3\t$label1\n"
                      "2 bad(name\n"         /* not an atom */
                      "4 $Junk\n"            /* named already */
                      "1 $Other\n"           /* letter taken */
                      "26 $TooFar\n"         /* no letter */
                      "x $NoIndex\n5\n"      /* no index, no name */
                      "6 \\Seen\n"           /* a system flag */
                      "7 $With\0Nul\n"       /* a NUL */
                      "25 $Last";            /* no final newline */
  TdMaildirKeywords k;

  td_maildir_keywords_parse (text, sizeof text - 1, &k);
  g_assert_cmpstr (k.names[0], ==, "$Junk");
  g_assert_cmpstr (k.names[1], ==, "$Forwarded");
  g_assert_cmpstr (k.names[3], ==, "$label1");
  g_assert_cmpstr (k.names[25], ==, "$Last");
  for (guint i = 0; i < TD_MAILDIR_KEYWORD_LETTERS; i++)
    if (i != 0 && i != 1 && i != 3 && i != 25)
      g_assert_null (k.names[i]);
  g_assert_cmpint (td_maildir_keywords_find (&k, "$junk"), ==, 0);
  g_assert_cmpint (td_maildir_keywords_find (&k, "$TooFar"), ==, -1);
  g_autofree char *again = td_maildir_keywords_format (&k);
  g_assert_cmpstr (again, ==, "0 $Junk\n1 $Forwarded\n3 $label1\n25 $Last\n");
  td_maildir_keywords_clear (&k);
}

/* New keywords take the free letters in order; the 27th has none. */
static void
test_maildir_keywords_add (void)
{
  TdMaildirKeywords k;

  td_maildir_keywords_parse ("1 $Junk\n", 8, &k);
  g_assert_cmpint (td_maildir_keywords_add (&k, "$NotJunk"), ==, 0);
  g_assert_cmpint (td_maildir_keywords_add (&k, "$JUNK"), ==, 1);
  for (guint i = 2; i < TD_MAILDIR_KEYWORD_LETTERS; i++)
    {
      g_autofree char *name = g_strdup_printf ("$label%u", i);
      g_assert_cmpint (td_maildir_keywords_add (&k, name), ==, (int) i);
    }
  g_assert_cmpint (td_maildir_keywords_add (&k, "$OneTooMany"), ==, -1);
  g_assert_false (td_keyword_name_valid (""));
  g_assert_false (td_keyword_name_valid ("two words"));
  g_assert_false (td_keyword_name_valid ("caf\xc3\xa9"));
  g_autofree char *long_name = g_strnfill (TD_MAILDIR_KEYWORD_MAX_NAME + 1, 'a');
  g_assert_false (td_keyword_name_valid (long_name));
  td_maildir_keywords_clear (&k);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/mutf7/round-trip", test_mutf7_round_trip);
  g_test_add_func ("/mutf7/malformed", test_mutf7_malformed);
  g_test_add_func ("/storage/folder-map/verbatim", test_map_verbatim);
  g_test_add_func ("/storage/folder-map/maildir++", test_map_maildirpp);
  g_test_add_func ("/storage/folder-map/other-layouts", test_map_other_layouts);
  g_test_add_func ("/storage/folder-map/hostile", test_map_hostile);
  g_test_add_func ("/storage/maildir/crlf", test_delivery_crlf);
  g_test_add_func ("/storage/maildir/flags-and-tmp", test_flags_and_tmp);
  g_test_add_func ("/storage/maildir/symlink", test_symlink_not_followed);
  g_test_add_func ("/storage/maildir/inbox-apart", test_inbox_apart);
  g_test_add_func ("/storage/state-db/migrations", test_state_db_migrations);
  g_test_add_func ("/storage/state-db/upgrades", test_state_db_upgrades);
  g_test_add_func ("/storage/state-db/folder-summaries", test_state_db_folder_summaries);
  g_test_add_func ("/storage/state-db/left-on-server", test_state_db_left_on_server);
  g_test_add_func ("/storage/maildir-keywords/parse", test_maildir_keywords_parse);
  g_test_add_func ("/storage/maildir-keywords/add", test_maildir_keywords_add);
  return g_test_run ();
}
