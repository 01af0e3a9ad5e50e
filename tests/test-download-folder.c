/* test-download-folder.c: what a download-only mailbox (POP3) fetches, deletes and
 * forgets, from the server's listing and the state DB, including what Dovecot cannot be
 * made to send: one unique id on two messages, and messages without one. */
#include <glib/gstdio.h>
#include <string.h>

#include "engine/sync/td-download-folder.h"
#include "engine/common/td-error.h"

#define DAY (24 * 3600)
#define NOW ((gint64) 1800000000)

typedef struct
{
  char *dir;
  TdStateDb *db;
  TdMaildir *maildir;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  f->dir = g_dir_make_tmp ("tidings-download-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *db = g_build_filename (f->dir, "state.db", NULL);
  g_autofree char *mail = g_build_filename (f->dir, "Mail", NULL);
  f->db = td_state_db_open (db, &error);
  g_assert_no_error (error);
  f->maildir = td_maildir_open (mail, NULL, &error);
  g_assert_no_error (error);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", f->dir);
  td_maildir_free (f->maildir);
  td_state_db_close (f->db);
  g_assert_cmpint (system (cmd), ==, 0);
  g_free (f->dir);
}

/* A listing from "id size" words; "-" is a message without a unique id. */
static GArray *
listing (const char *const *ids)
{
  GArray *out = td_message_info_array_new ();
  for (guint i = 0; ids[i] != NULL; i++)
    {
      TdMessageInfo m = { .uid = i + 1, .size = 100 + i, .internal_date = -1 };
      m.unique_id = g_str_equal (ids[i], "-") ? NULL : g_strdup (ids[i]);
      g_array_append_val (out, m);
    }
  return out;
}

static TdDownloadFolder *
prepare (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  TdDownloadFolder *local = td_download_folder_prepare (f->db, f->maildir, "acct", FALSE, &error);
  g_assert_no_error (error);
  return local;
}

static void
record_full (Fixture *f, const char *id, const char *base, guint64 size, const char *hash,
             gint64 downloaded, gboolean pending)
{
  g_autoptr (TdDownloadFolder) local = prepare (f);
  g_autoptr (GError) error = NULL;
  TdStateDownload d = { (char *) id, (char *) base, size, (char *) hash, downloaded, pending };
  g_assert_true (td_state_db_put_download (f->db, local->record.id, &d, &error));
  g_assert_no_error (error);
}

static void
record (Fixture *f, const char *id, const char *base, gint64 downloaded, gboolean pending)
{
  record_full (f, id, base, 100, NULL, downloaded, pending);
}

static char *
fetch_string (const TdDownloadPlan *plan)
{
  return td_uid_set_to_string (plan->to_fetch);
}

static char *
delete_string (const TdDownloadPlan *plan)
{
  g_autoptr (GArray) set = g_array_new (FALSE, FALSE, sizeof (TdUidRange));
  for (guint i = 0; i < plan->to_delete->len; i++)
    td_uid_set_add (set, g_array_index (plan->to_delete, guint32, i));
  td_uid_set_normalize (set);
  return td_uid_set_to_string (set);
}

static void
test_new_mailbox (Fixture *f, gconstpointer data)
{
  const char *ids[] = { "a", "b", "c", NULL };
  g_autoptr (GArray) server = listing (ids);
  g_autoptr (TdDownloadFolder) local = prepare (f);
  g_autoptr (GError) error = NULL;
  TdDownloadPlan plan;

  g_assert_true (td_download_folder_plan (local, server, TRUE, 0, 0, FALSE, NOW, &plan, &error));
  g_autofree char *fetch = fetch_string (&plan);
  g_assert_cmpstr (fetch, ==, "1:3");
  g_assert_cmpuint (plan.to_delete->len, ==, 0);
  td_download_plan_clear (&plan);
}

/* One unique id on several messages: as many of them count as known as there are records,
 * the first ones; the later ones (new mail comes last) are downloaded. Nothing aborts. */
static void
test_duplicate_ids (Fixture *f, gconstpointer data)
{
  const char *ids[] = { "a", "b", "a", "a", NULL };
  g_autoptr (GArray) server = listing (ids);
  g_autoptr (GError) error = NULL;
  TdDownloadPlan plan;

  record (f, "a", "base1", NOW, FALSE);
  record (f, "a", "base2", NOW, FALSE);
  record (f, "b", "base3", NOW, FALSE);
  g_autoptr (TdDownloadFolder) local = prepare (f);
  g_assert_true (td_download_folder_plan (local, server, TRUE, 0, 0, FALSE, NOW, &plan, &error));
  g_autofree char *fetch = fetch_string (&plan);
  g_assert_cmpstr (fetch, ==, "4");
  g_assert_cmpuint (plan.known, ==, 3);
  td_download_plan_clear (&plan);
}

/* Without unique ids nothing can be tracked: refused while mail stays on the server,
 * everything fetched when it is deleted after download. */
static void
test_no_unique_ids (Fixture *f, gconstpointer data)
{
  const char *ids[] = { "-", "-", NULL };
  g_autoptr (GArray) server = listing (ids);
  g_autoptr (TdDownloadFolder) local = prepare (f);
  g_autoptr (GError) error = NULL;
  TdDownloadPlan plan;

  g_assert_false (td_download_folder_plan (local, server, TRUE, 0, 0, FALSE, NOW, &plan, &error));
  g_assert_error (error, TD_ERROR, TD_ERROR_NEEDS_USER);
  g_assert_nonnull (strstr (error->message, "keep-on-server = false"));
  td_download_plan_clear (&plan);
  g_clear_error (&error);
  g_assert_true (td_download_folder_plan (local, server, FALSE, 0, 0, FALSE, NOW, &plan, &error));
  g_autofree char *fetch = fetch_string (&plan);
  g_assert_cmpstr (fetch, ==, "1:2");
  td_download_plan_clear (&plan);
}

/* The ids a server lists after a move, and the records of before it. */
static const char *const moved_ids[] = { "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9",
                                         "n10", "n11", "n12", NULL };

static void
record_old_ids (Fixture *f)
{
  for (guint i = 1; i <= 12; i++)
    {
      g_autofree char *id = g_strdup_printf ("old%u", i);
      g_autofree char *base = g_strdup_printf ("base%u", i);
      record (f, id, base, NOW, FALSE);
    }
}

/* Every known id gone and as many unknown ones listed: a server move, not new mail.
 * Nothing is planned but the candidates to recognise by size and header hash. */
static void
test_migration (Fixture *f, gconstpointer data)
{
  g_autoptr (GArray) server = listing (moved_ids);
  g_autoptr (GError) error = NULL;
  TdDownloadPlan plan;

  /* Records of the same twelve messages (sizes 100 + i), two without a header hash. */
  for (guint i = 0; i < 12; i++)
    {
      g_autofree char *id = g_strdup_printf ("old%u", i + 1);
      g_autofree char *base = g_strdup_printf ("base%u", i + 1);
      g_autofree char *hash = g_strdup_printf ("sha256:%u", i + 1);
      record_full (f, id, base, 100 + i, i < 10 ? hash : NULL, NOW, FALSE);
    }
  g_autoptr (TdDownloadFolder) local = prepare (f);
  g_assert_true (td_download_folder_plan (local, server, TRUE, 0, 0, FALSE, NOW, &plan, &error));
  g_assert_true (plan.moved);
  g_assert_cmpuint (plan.to_fetch->len, ==, 0);
  g_autofree char *candidates = td_uid_set_to_string (plan.candidates);
  g_assert_cmpstr (candidates, ==, "1:10");
  g_autoptr (GError) why = td_download_folder_move_error (local, &plan, 0);
  g_assert_error (why, TD_ERROR, TD_ERROR_NEEDS_USER);
  g_assert_nonnull (strstr (why->message, "--force"));

  /* The server's headers: the first nine as recorded, the tenth changed. */
  g_autoptr (GArray) hashed = td_message_info_array_new ();
  for (guint i = 0; i < 10; i++)
    {
      TdMessageInfo m = { .uid = i + 1, .size = 100 + i };
      m.header_hash = g_strdup_printf ("sha256:%u", i < 9 ? i + 1 : 99);
      g_array_append_val (hashed, m);
    }
  guint matched = 0;
  g_assert_true (td_download_folder_rematch (local, server, hashed, &matched, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (matched, ==, 9);
  td_download_plan_clear (&plan);

  /* Planned again (as a fresh run would be): only the unrecognised three are fetched. */
  g_autoptr (TdDownloadFolder) again = prepare (f);
  g_assert_true (td_download_folder_plan (again, server, TRUE, 0, 0, FALSE, NOW, &plan, &error));
  g_assert_false (plan.moved);
  g_autofree char *fetch = fetch_string (&plan);
  g_assert_cmpstr (fetch, ==, "10:12");
  g_assert_cmpuint (plan.forgotten, ==, 3);
  td_download_plan_clear (&plan);
}

/* Two records, or two messages, with one size and header hash: no guess is made. */
static void
test_rematch_ambiguous (Fixture *f, gconstpointer data)
{
  const char *ids[] = { "n1", "n2", "n3", NULL };
  g_autoptr (GArray) server = listing (ids); /* sizes 100, 101, 102 */
  g_autoptr (GArray) hashed = td_message_info_array_new ();
  g_autoptr (GError) error = NULL;
  guint matched = 0;

  record_full (f, "oldA", "baseA", 100, "sha256:same", NOW, FALSE);
  record_full (f, "oldB", "baseB", 100, "sha256:same", NOW, FALSE);
  record_full (f, "oldC", "baseC", 102, "sha256:c", NOW, FALSE);
  g_array_index (server, TdMessageInfo, 1).size = 102; /* n2 and n3 now share a key */
  for (guint i = 0; i < 3; i++)
    {
      TdMessageInfo m = { .uid = i + 1, .size = g_array_index (server, TdMessageInfo, i).size };
      m.header_hash = g_strdup (i == 0 ? "sha256:same" : "sha256:c");
      g_array_append_val (hashed, m);
    }
  g_autoptr (TdDownloadFolder) local = prepare (f);
  g_assert_true (td_download_folder_rematch (local, server, hashed, &matched, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (matched, ==, 0);
  g_autoptr (TdDownloadFolder) again = prepare (f);
  for (guint i = 0; i < again->downloads->len; i++)
    g_assert_true (g_str_has_prefix (g_array_index (again->downloads, TdStateDownload, i).unique_id,
                                     "old"));
}

/* Records marked as deleted by us vanish without looking like a move. */
static void
test_own_deletions (Fixture *f, gconstpointer data)
{
  g_autoptr (GArray) server = listing (moved_ids);
  g_autoptr (GError) error = NULL;
  TdDownloadPlan plan;

  record_old_ids (f);
  g_autoptr (TdDownloadFolder) local = prepare (f);
  g_autoptr (GPtrArray) ours = g_ptr_array_new ();
  for (guint i = 0; i < local->downloads->len; i++)
    g_ptr_array_add (ours, g_array_index (local->downloads, TdStateDownload, i).unique_id);
  g_assert_true (td_download_folder_mark_deleting (local, ours, &error));
  g_assert_no_error (error);
  g_autoptr (TdDownloadFolder) marked = prepare (f);
  g_assert_true (td_download_folder_plan (marked, server, TRUE, 0, 0, FALSE, NOW, &plan, &error));
  g_assert_false (plan.moved);
  g_autofree char *fetch = fetch_string (&plan);
  g_assert_cmpstr (fetch, ==, "1:12");
  g_assert_cmpuint (plan.forgotten, ==, 12);
  td_download_plan_clear (&plan);
}

/* --force downloads when the ids look moved. */
static void
test_migration_forced (Fixture *f, gconstpointer data)
{
  g_autoptr (GArray) server = listing (moved_ids);
  g_autoptr (GError) error = NULL;
  TdDownloadPlan plan;

  record_old_ids (f);
  g_autoptr (TdDownloadFolder) local = prepare (f);
  g_assert_true (td_download_folder_plan (local, server, TRUE, 0, 0, TRUE, NOW, &plan, &error));
  g_autofree char *fetch = fetch_string (&plan);
  g_assert_cmpstr (fetch, ==, "1:12");
  td_download_plan_clear (&plan);
}

/* What the server no longer lists is forgotten; keep-on-server and delete-after-days
 * choose what known mail is deleted. */
static void
test_delete_and_forget (Fixture *f, gconstpointer data)
{
  const char *ids[] = { "a", "b", "c", NULL };
  g_autoptr (GArray) server = listing (ids);
  g_autoptr (GError) error = NULL;
  TdDownloadPlan plan;

  record (f, "a", "base1", NOW - 10 * DAY, FALSE);
  record (f, "b", "base2", NOW - 1 * DAY, FALSE);
  record (f, "gone", "base3", NOW - 1 * DAY, FALSE);
  g_autoptr (TdDownloadFolder) local = prepare (f);
  g_assert_true (td_download_folder_plan (local, server, TRUE, 3, 0, FALSE, NOW, &plan, &error));
  g_autofree char *old = delete_string (&plan);
  g_assert_cmpstr (old, ==, "1");
  g_assert_cmpuint (plan.forgotten, ==, 1);
  g_autofree char *fetch = fetch_string (&plan);
  g_assert_cmpstr (fetch, ==, "3");
  td_download_plan_clear (&plan);

  g_assert_true (td_download_folder_plan (local, server, FALSE, 0, 0, FALSE, NOW, &plan, &error));
  g_autofree char *all = delete_string (&plan);
  g_assert_cmpstr (all, ==, "1:2");
  td_download_plan_clear (&plan);
  g_autoptr (TdDownloadFolder) again = prepare (f);
  g_assert_cmpuint (again->downloads->len, ==, 2);
}

/* An intent whose file reached new/ is kept; one whose file did not is dropped, so that
 * message is downloaded again. */
static void
test_pending_resolved (Fixture *f, gconstpointer data)
{
  g_autofree char *file = g_build_filename (f->dir, "Mail", "new", "landed", NULL);

  td_download_folder_free (prepare (f)); /* makes cur/, new/ and tmp/ */
  g_assert_true (g_file_set_contents (file, "Subject: x\n\nbody\n", -1, NULL));
  record (f, "a", "landed", NOW, TRUE);
  record (f, "b", "lost", NOW, TRUE);
  g_autoptr (TdDownloadFolder) local = prepare (f);
  g_assert_cmpuint (local->downloads->len, ==, 1);
  const TdStateDownload *d = &g_array_index (local->downloads, TdStateDownload, 0);
  g_assert_cmpstr (d->unique_id, ==, "a");
  g_assert_false (d->pending);
}

#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  ADD ("/download-folder/new-mailbox", test_new_mailbox);
  ADD ("/download-folder/duplicate-ids", test_duplicate_ids);
  ADD ("/download-folder/no-unique-ids", test_no_unique_ids);
  ADD ("/download-folder/migration", test_migration);
  ADD ("/download-folder/migration-forced", test_migration_forced);
  ADD ("/download-folder/own-deletions", test_own_deletions);
  ADD ("/download-folder/rematch-ambiguous", test_rematch_ambiguous);
  ADD ("/download-folder/delete-and-forget", test_delete_and_forget);
  ADD ("/download-folder/pending-resolved", test_pending_resolved);
  return g_test_run ();
}
