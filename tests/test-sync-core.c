/* test-sync-core.c: the sync core (planning, execution, recording) against the scripted
 * in-memory server, no Dovecot: a two-way scenario, and the crash-point sweep.
 *
 * The sweep, in the manner of isync's tests: a reference run counts the durability steps
 * (td-durable-step.h) of one sync of the scenario; then for every N from 1 to that count a
 * run is stopped hard at step N (_exit in a child process, as a kill -9 would), a second run
 * resumes, and both sides are compared with the reference: the same messages with the same
 * flags, none twice, and a third run finds nothing left to do. Every sync runs in a child
 * process of its own, so a stopped one takes nothing of the test down with it.
 */
#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/backend/td-plugin-registry.h"
#include "engine/common/td-durable-step.h"
#include "engine/sync/td-sync-runner.h"
#include "td-test-scripted-backend.h"

typedef struct
{
  char *dir;      /* everything of one scenario */
  char *server;   /* the scripted server's state file */
  char *maildir;
  char *config;   /* the config file */
} Core;

/* The message numbered @n, as the server or a reader has it (LF). */
static char *
message (const char *id)
{
  return g_strdup_printf ("From: Ada <ada@example.org>\nTo: bob@example.org\nSubject: %s\n"
                          "Message-ID: <%s@core.test>\n\nThe body of %s.\n", id, id, id);
}

static void
core_init_with (Core *c, const char *caps, const char *extra)
{
  /* tmpfs where there is one: a sweep flushes the file system at every batch. */
  const char *base = g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) && access ("/dev/shm", W_OK) == 0
                       ? "/dev/shm" : g_get_tmp_dir ();
  g_autofree char *tmpl = g_build_filename (base, "tidings-core-XXXXXX", NULL);

  c->dir = g_mkdtemp (g_steal_pointer (&tmpl));
  g_assert_nonnull (c->dir);
  c->server = g_build_filename (c->dir, "server.ini", NULL);
  c->maildir = g_build_filename (c->dir, "Mail", NULL);
  c->config = g_build_filename (c->dir, "config", NULL);
  g_autofree char *body = g_strdup_printf (
    "[general]\nstate-dir = %s/state\n\n[account s]\nprotocol = scripted\n"
    "host = scripted.invalid\nuser = u\npassword = p\nmaildir = %s\n%s", c->dir, c->maildir,
    extra);
  g_assert_true (g_file_set_contents (c->config, body, -1, NULL));
  td_scripted_server_init (c->server, caps);
  g_setenv (TD_SCRIPTED_SERVER_ENV, c->server, TRUE);
}

static void
core_init (Core *c, const char *caps)
{
  core_init_with (c, caps, "");
}

static void
remove_tree (const char *path)
{
  const char *argv[] = { "rm", "-rf", path, NULL };
  int status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

static void
core_clear (Core *c)
{
  remove_tree (c->dir);
  g_free (c->dir);
  g_free (c->server);
  g_free (c->maildir);
  g_free (c->config);
}

static void
copy_tree (const char *from, const char *to)
{
  const char *argv[] = { "cp", "-a", from, to, NULL };
  int status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

/* Saves (or brings back) the Maildir, the state and the server as they are now. */
static void
snapshot (Core *c, const char *name, gboolean restore)
{
  g_autofree char *snap = g_build_filename (c->dir, name, NULL);
  const char *parts[] = { "Mail", "state", "server.ini" };

  if (!restore)
    g_assert_cmpint (g_mkdir (snap, 0700), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      g_autofree char *live = g_build_filename (c->dir, parts[i], NULL);
      g_autofree char *kept = g_build_filename (snap, parts[i], NULL);
      if (restore)
        {
          remove_tree (live);
          copy_tree (kept, live);
        }
      else
        copy_tree (live, kept);
    }
}

/* A sync */

typedef struct
{
  GMainLoop *loop;
  TdAccountReport *report;
} Wait;

static void
synced (GObject *source, GAsyncResult *result, gpointer data)
{
  Wait *w = data;
  w->report = td_sync_runner_run_finish (TD_SYNC_RUNNER (source), result);
  g_main_loop_quit (w->loop);
}

/* Runs one sync in this process, telling @progress where it stands. */
static TdAccountReport *
sync_here_with (Core *c, TdProgressFunc progress, gpointer progress_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TdConfig) config = td_config_load (c->config, &error);
  g_assert_no_error (error);
  g_autofree char *nowhere = g_build_filename (c->dir, "no-plugins", NULL);
  g_autoptr (TdPluginRegistry) registry = td_plugin_registry_new (nowhere);
  td_plugin_registry_add_type (registry, "scripted", TD_TYPE_SCRIPTED_BACKEND);
  TdSyncOptions options = { .lock_wait_ms = 2000, .progress = progress,
                            .progress_data = progress_data };
  g_autoptr (TdSyncRunner) runner = td_sync_runner_new (config, td_config_find_account (config,
                                                                                       "s"),
                                                        registry, &options);
  Wait w = { g_main_loop_new (NULL, FALSE), NULL };
  td_sync_runner_run_async (runner, NULL, synced, &w);
  g_main_loop_run (w.loop);
  g_main_loop_unref (w.loop);
  return w.report;
}

static TdAccountReport *
sync_here (Core *c)
{
  return sync_here_with (c, NULL, NULL);
}

/* Whether a report says a sync went well (and, with @idle, found nothing to do). */
static gboolean
report_ok (const TdAccountReport *r, gboolean idle)
{
  if (r->error != NULL)
    {
      g_printerr ("account: %s\n", r->error->message);
      return FALSE;
    }
  for (guint i = 0; i < r->folders->len; i++)
    {
      const TdFolderReport *f = g_ptr_array_index (r->folders, i);
      if (f->error != NULL)
        {
          g_printerr ("folder %s: %s\n", f->name, f->error->message);
          return FALSE;
        }
      if (idle && (f->added || f->flags_changed || f->flags_pushed || f->removed || f->uploaded
                   || f->deleted_remote))
        {
          g_printerr ("folder %s still had work: +%u flags %u/%u -%u up %u del %u\n", f->name,
                      f->added, f->flags_changed, f->flags_pushed, f->removed, f->uploaded,
                      f->deleted_remote);
          return FALSE;
        }
    }
  return TRUE;
}

static void
stop_hard (guint step, const char *what, gpointer data)
{
  if (step == GPOINTER_TO_UINT (data))
    _exit (0);
}

/* The reference run names its steps (with --verbose), so a mismatch at step N says which. */
static void
count_steps (guint step, const char *what, gpointer data)
{
  if (g_test_verbose ())
    g_printerr ("# step %u: %s\n", step, what);
}

/* Runs one sync in a child process. With @stop_at, the child stops hard at that step and the
 * sync does not end; without, it ends, and the steps it took are returned. */
static guint
sync_child (Core *c, guint stop_at, gboolean idle)
{
  g_autofree char *count_file = g_build_filename (c->dir, "steps", NULL);
  pid_t pid = fork ();
  int status = 0;

  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      td_durable_step_set_hook (stop_at ? stop_hard : count_steps, GUINT_TO_POINTER (stop_at));
      g_autoptr (TdAccountReport) r = sync_here (c);
      if (stop_at != 0)
        _exit (3); /* ended before its step: the steps are not the same from run to run */
      g_autofree char *n = g_strdup_printf ("%u", td_durable_step_count ());
      g_file_set_contents (count_file, n, -1, NULL);
      _exit (report_ok (r, idle) ? 0 : 4);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  if (WEXITSTATUS (status) != 0)
    g_error ("the sync (stopped at %u) exited %d", stop_at, WEXITSTATUS (status));
  if (stop_at != 0)
    return stop_at;
  g_autofree char *n = NULL;
  g_assert_true (g_file_get_contents (count_file, &n, NULL, NULL));
  return (guint) g_ascii_strtoull (n, NULL, 10);
}

/* What a user sees */

/* The Maildir's messages of @folder: Message-ID -> flags + 1. */
static GHashTable *
local_messages (Core *c, const char *folder)
{
  GHashTable *out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const char *subs[] = { "cur", "new" };

  for (guint s = 0; s < G_N_ELEMENTS (subs); s++)
    {
      g_autofree char *dir = g_build_filename (c->maildir, folder, subs[s], NULL);
      g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
      const char *name;
      while (d != NULL && (name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *path = g_build_filename (dir, name, NULL);
          g_autofree char *data = NULL;
          gsize len = 0;
          g_assert_true (g_file_get_contents (path, &data, &len, NULL));
          char *id = td_message_id_parse (data, len);
          g_assert_nonnull (id);
          if (g_hash_table_contains (out, id))
            g_error ("%s is in the Maildir twice", id);
          const char *info = strstr (name, ":2,");
          TdFlags flags = info ? td_flags_from_maildir (info + 3) : 0;
          g_hash_table_insert (out, id, GUINT_TO_POINTER (flags + 1));
        }
    }
  return out;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Both sides as text, one line a message: "here <id> <flags>", "there <id> <flags>"; the
 * Maildir's @local folder ("" for its root, where a POP3 mailbox lands) and the server's
 * INBOX. */
static char *
both_sides_in (Core *c, const char *local, const char *folder)
{
  g_autoptr (GHashTable) here = local_messages (c, local);
  g_autoptr (GHashTable) there = td_scripted_server_messages (c->server, folder);
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  GHashTable *sides[] = { here, there };
  const char *names[] = { "here", "there" };
  GHashTableIter it;
  gpointer id, flags;

  for (guint s = 0; s < 2; s++)
    {
      g_hash_table_iter_init (&it, sides[s]);
      while (g_hash_table_iter_next (&it, &id, &flags))
        {
          g_autofree char *letters = td_flags_to_maildir (GPOINTER_TO_UINT (flags) - 1);
          g_ptr_array_add (lines, g_strdup_printf ("%s %s %s %s", folder, names[s], (char *) id,
                                                   letters));
        }
    }
  g_ptr_array_sort (lines, compare_strings);
  g_ptr_array_add (lines, NULL);
  return g_strjoinv ("\n", (char **) lines->pdata);
}

static char *
both_sides_of (Core *c, const char *local)
{
  return both_sides_in (c, local, "INBOX");
}

static char *
both_sides (Core *c)
{
  return both_sides_of (c, "INBOX");
}

/* The scenario: 30 messages synced, then on the server 20 new, 10 flag changes and 5
 * expunges; here 10 flag changes, 5 deletions and 3 new messages. */

/* The reader acts on the file of message @id in INBOX: deletes it (@letters NULL), or moves
 * it into @to's cur/ with flags @letters, under the name @name (NULL: its own base name). */
static void
reader_moves (Core *c, const char *id, const char *to, const char *name, const char *letters)
{
  g_autofree char *cur = g_build_filename (c->maildir, "INBOX", "cur", NULL);
  g_autofree char *new = g_build_filename (c->maildir, "INBOX", "new", NULL);
  const char *dirs[] = { cur, new };
  g_autofree char *needle = g_strdup_printf ("<%s@core.test>", id);

  for (guint s = 0; s < 2; s++)
    {
      g_autoptr (GDir) d = g_dir_open (dirs[s], 0, NULL);
      const char *file;
      while (d != NULL && (file = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *path = g_build_filename (dirs[s], file, NULL);
          g_autofree char *data = NULL;
          g_assert_true (g_file_get_contents (path, &data, NULL, NULL));
          if (strstr (data, needle) == NULL)
            continue;
          if (letters == NULL)
            {
              g_assert_cmpint (g_unlink (path), ==, 0);
              return;
            }
          g_autofree char *base = name ? g_strdup (name) : g_strndup (file, strcspn (file, ":"));
          g_autofree char *to_name = g_strdup_printf ("%s:2,%s", base, letters);
          g_autofree char *target = g_build_filename (c->maildir, to, "cur", to_name, NULL);
          g_assert_cmpint (g_rename (path, target), ==, 0);
          return;
        }
    }
  g_error ("no file holds %s", id);
}

static void
reader_renames (Core *c, const char *id, const char *letters)
{
  reader_moves (c, id, "INBOX", NULL, letters);
}

/* Only what a round carries: the server's new messages, flags and expunges, and flags
 * changed here (no deletions or new files here), so INBOX's plan goes to the server in a
 * round and is recorded with the round. */
static void
build_round_scenario (Core *c)
{
  for (guint i = 1; i <= 30; i++)
    {
      g_autofree char *id = g_strdup_printf ("m%u", i);
      g_autofree char *m = message (id);
      td_scripted_server_deliver (c->server, "INBOX", m, 0);
    }
  sync_child (c, 0, FALSE);
  for (guint i = 31; i <= 50; i++)
    {
      g_autofree char *id = g_strdup_printf ("m%u", i);
      g_autofree char *m = message (id);
      td_scripted_server_deliver (c->server, "INBOX", m, 0);
    }
  for (guint32 uid = 1; uid <= 10; uid++)
    td_scripted_server_set_flags (c->server, "INBOX", uid, TD_FLAG_SEEN | TD_FLAG_FLAGGED);
  for (guint32 uid = 26; uid <= 30; uid++)
    td_scripted_server_expunge (c->server, "INBOX", uid);
  for (guint i = 11; i <= 20; i++)
    {
      g_autofree char *id = g_strdup_printf ("m%u", i);
      reader_renames (c, id, "RS");
    }
}

static void
build_scenario (Core *c)
{
  build_round_scenario (c);
  for (guint i = 21; i <= 25; i++)
    {
      g_autofree char *id = g_strdup_printf ("m%u", i);
      reader_renames (c, id, NULL);
    }
  for (guint i = 1; i <= 3; i++)
    {
      g_autofree char *id = g_strdup_printf ("local%u", i);
      g_autofree char *m = message (id);
      g_autofree char *name = g_strdup_printf ("170000000%u.local%u.host", i, i);
      g_autofree char *path = g_build_filename (c->maildir, "INBOX", "new", name, NULL);
      g_assert_true (g_file_set_contents (path, m, -1, NULL));
    }
}

/* The reader files mail: from INBOX's 12 messages, 4 moved to Archive under their own names
 * (one flagged on the way), 2 under new names (as mu4e and mutt write them), one renamed in
 * INBOX itself, one deleted; a new message written into Archive. Archive held one message. */
static void
build_move_scenario (Core *c)
{
  td_scripted_server_add_folder (c->server, "Archive");
  for (guint i = 1; i <= 12; i++)
    {
      g_autofree char *id = g_strdup_printf ("m%u", i);
      g_autofree char *m = message (id);
      td_scripted_server_deliver (c->server, "INBOX", m, 0);
    }
  g_autofree char *a1 = message ("a1");
  td_scripted_server_deliver (c->server, "Archive", a1, TD_FLAG_SEEN);
  sync_child (c, 0, FALSE);
  reader_moves (c, "m1", "Archive", NULL, "FS");
  for (guint i = 2; i <= 4; i++)
    {
      g_autofree char *id = g_strdup_printf ("m%u", i);
      reader_moves (c, id, "Archive", NULL, "S");
    }
  reader_moves (c, "m5", "Archive", "1800000005.mu4e.host", "S");
  reader_moves (c, "m6", "Archive", "1800000006.mu4e.host", "RS");
  reader_moves (c, "m7", "INBOX", "1800000007.mu4e.host", "S");
  reader_renames (c, "m8", NULL);
  g_autofree char *local = message ("local1");
  g_autofree char *path = g_build_filename (c->maildir, "Archive", "new", "1700000001.l.host",
                                            NULL);
  g_assert_true (g_file_set_contents (path, local, -1, NULL));
}

/* Another client files mail on the server: from INBOX's 12 messages, 5 moved to Archive
 * (two flagged there, one the reader marked answered here meanwhile), one deleted; a new
 * message in Archive, which held one. */
static void
build_server_move_scenario (Core *c)
{
  td_scripted_server_add_folder (c->server, "Archive");
  for (guint i = 1; i <= 12; i++)
    {
      g_autofree char *id = g_strdup_printf ("m%u", i);
      g_autofree char *m = message (id);
      td_scripted_server_deliver (c->server, "INBOX", m, 0);
    }
  g_autofree char *a1 = message ("a1");
  td_scripted_server_deliver (c->server, "Archive", a1, TD_FLAG_SEEN);
  sync_child (c, 0, FALSE);
  for (guint i = 1; i <= 5; i++)
    {
      g_autofree char *id = g_strdup_printf ("m%u", i);
      g_autofree char *m = message (id);
      td_scripted_server_expunge (c->server, "INBOX", i);
      td_scripted_server_deliver (c->server, "Archive", m, i <= 2 ? TD_FLAG_FLAGGED : 0);
    }
  reader_renames (c, "m5", "R");
  td_scripted_server_expunge (c->server, "INBOX", 6);
  g_autofree char *a2 = message ("a2");
  td_scripted_server_deliver (c->server, "Archive", a2, 0);
}

/* One two-way sync does what a user expects, and a second finds nothing to do. */
static void
test_two_way (gconstpointer caps)
{
  Core c = { 0 };

  core_init (&c, caps);
  build_scenario (&c);
  sync_child (&c, 0, FALSE);
  g_autofree char *after = both_sides (&c);
  g_autoptr (GHashTable) here = local_messages (&c, "INBOX");
  g_autoptr (GHashTable) there = td_scripted_server_messages (c.server, "INBOX");
  g_assert_cmpuint (g_hash_table_size (here), ==, 30 - 5 - 5 + 20 + 3);
  g_assert_cmpuint (g_hash_table_size (there), ==, 30 - 5 - 5 + 20 + 3);
  g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (here, "<m1@core.test>")) - 1, ==,
                    TD_FLAG_SEEN | TD_FLAG_FLAGGED);
  g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (there, "<m11@core.test>")) - 1, ==,
                    TD_FLAG_SEEN | TD_FLAG_ANSWERED);
  g_assert_true (g_hash_table_contains (there, "<local2@core.test>"));
  g_assert_true (g_hash_table_contains (here, "<m50@core.test>"));
  g_assert_false (g_hash_table_contains (there, "<m23@core.test>"));
  g_assert_false (g_hash_table_contains (here, "<m28@core.test>"));
  sync_child (&c, 0, TRUE);
  g_autofree char *again = both_sides (&c);
  g_assert_cmpstr (again, ==, after);
  core_clear (&c);
}

/* A scenario for the sweep: what the server announces, the account's extra keys, how to
 * reach the state to sync from, and where the Maildir keeps the folder. */
typedef struct
{
  const char *caps;
  const char *extra;
  void (*build) (Core *c);
  const char *local;
  guint here, there; /* messages on each side after the sync */
  const char *second; /* nullable: a folder compared too (its Maildir folder of that name) */
  guint second_count; /* messages on each side of it after the sync */
} Scenario;

/* Both sides of the scenario's folders. */
static char *
scenario_sides (Core *c, const Scenario *s)
{
  g_autofree char *first = both_sides_of (c, s->local);
  if (s->second == NULL)
    return g_steal_pointer (&first);
  g_autofree char *second = both_sides_in (c, s->second, s->second);
  return g_strconcat (first, "\n", second, NULL);
}

/* The crash-point sweep (see the top of this file). */
static void
test_crash_sweep (gconstpointer data)
{
  const Scenario *s = data;
  Core c = { 0 };
  guint mismatches = 0;

  core_init_with (&c, s->caps, s->extra);
  s->build (&c);
  snapshot (&c, "before", FALSE);
  guint steps = sync_child (&c, 0, FALSE);
  g_autofree char *reference = scenario_sides (&c, s);
  g_autoptr (GHashTable) here = local_messages (&c, s->local);
  g_autoptr (GHashTable) there = td_scripted_server_messages (c.server, "INBOX");
  g_assert_cmpuint (g_hash_table_size (here), ==, s->here);
  g_assert_cmpuint (g_hash_table_size (there), ==, s->there);
  if (s->second != NULL)
    {
      g_autoptr (GHashTable) here2 = local_messages (&c, s->second);
      g_autoptr (GHashTable) there2 = td_scripted_server_messages (c.server, s->second);
      g_assert_cmpuint (g_hash_table_size (here2), ==, s->second_count);
      g_assert_cmpuint (g_hash_table_size (there2), ==, s->second_count);
    }
  g_assert_cmpuint (steps, >, 10);
  for (guint n = 1; n <= steps; n++)
    {
      snapshot (&c, "before", TRUE);
      sync_child (&c, n, FALSE);
      sync_child (&c, 0, FALSE);
      g_autofree char *resumed = scenario_sides (&c, s);
      if (g_strcmp0 (resumed, reference) != 0)
        {
          mismatches++;
          g_test_message ("stopped at step %u of %u: the resumed run differs:\n%s", n, steps,
                          resumed);
          continue;
        }
      /* Nothing is left over: a further run has nothing to do. */
      sync_child (&c, 0, TRUE);
    }
  g_test_message ("%u durability steps, %u mismatches", steps, mismatches);
  g_print ("# crash-point sweep (%s%s): %u durability steps, %u mismatches\n", s->caps,
           s->extra[0] ? ", keep-on-server = false" : "", steps, mismatches);
  g_assert_cmpuint (mismatches, ==, 0);
  core_clear (&c);
}

/* One durability barrier per batch, across folders */

static guint barriers;

static void
count_barriers (guint step, const char *what, gpointer data)
{
  barriers += g_str_equal (what, "maildir: file system flushed")
              || g_str_equal (what, "maildir: directories flushed");
}

/* Runs one sync in a child process and returns how many times it flushed the disk. */
static guint
sync_counting_barriers (Core *c)
{
  g_autofree char *count_file = g_build_filename (c->dir, "barriers", NULL);
  pid_t pid = fork ();
  int status = 0;

  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      td_durable_step_set_hook (count_barriers, NULL);
      g_autoptr (TdAccountReport) r = sync_here (c);
      g_autofree char *n = g_strdup_printf ("%u", barriers);
      g_file_set_contents (count_file, n, -1, NULL);
      _exit (report_ok (r, FALSE) ? 0 : 4);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_autofree char *n = NULL;
  g_assert_true (g_file_get_contents (count_file, &n, NULL, NULL));
  return (guint) g_ascii_strtoull (n, NULL, 10);
}

static void
deliver_new (Core *c, guint first, guint last, guint round)
{
  for (guint i = first; i <= last; i++)
    {
      g_autofree char *folder = g_strdup_printf ("F%02u", i);
      g_autofree char *id = g_strdup_printf ("r%u-%s", round, folder);
      g_autofree char *m = message (id);
      td_scripted_server_deliver (c->server, folder, m, 0);
    }
}

/* New mail in 20 folders is made durable with no more disk flushes than new mail in one:
 * the flushes of a run grow with its batches, not with its folders. */
static void
test_barriers_across_folders (gconstpointer caps)
{
  Core c = { 0 };

  core_init (&c, caps);
  for (guint i = 1; i <= 20; i++)
    {
      g_autofree char *folder = g_strdup_printf ("F%02u", i);
      td_scripted_server_add_folder (c.server, folder);
    }
  deliver_new (&c, 1, 20, 0);
  sync_child (&c, 0, FALSE);
  deliver_new (&c, 1, 1, 1);
  guint one = sync_counting_barriers (&c);
  deliver_new (&c, 1, 20, 2);
  guint twenty = sync_counting_barriers (&c);
  g_test_message ("disk flushes: %u for new mail in one folder, %u in twenty", one, twenty);
  for (guint i = 1; i <= 20; i++)
    {
      g_autofree char *folder = g_strdup_printf ("F%02u", i);
      g_autofree char *id = g_strdup_printf ("<r2-%s@core.test>", folder);
      g_autoptr (GHashTable) here = local_messages (&c, folder);
      g_assert_true (g_hash_table_contains (here, id));
    }
  g_assert_cmpuint (one, >, 0);
  g_assert_cmpuint (twenty, <=, one);
  core_clear (&c);
}

/* Progress of the whole run */

static void
note_progress (const TdSyncProgress *p, gpointer data)
{
  g_array_append_val ((GArray *) data, *p);
}

/* Checks what the progress of a run of @c said, in a child process as every sync here
 * runs: the run's total was the same from the first event to the last and never behind
 * what was done. Returns how far the run got. */
static guint
run_progress (Core *c, guint expected_total)
{
  g_autofree char *done_file = g_build_filename (c->dir, "progress", NULL);
  pid_t pid = fork ();
  int status = 0;

  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      g_autoptr (GArray) events = g_array_new (FALSE, FALSE, sizeof (TdSyncProgress));
      g_autoptr (TdAccountReport) r = sync_here_with (c, note_progress, events);
      guint done = 0;

      g_assert_true (report_ok (r, FALSE));
      g_assert_cmpuint (events->len, >, 0);
      for (guint i = 0; i < events->len; i++)
        {
          const TdSyncProgress *p = &g_array_index (events, TdSyncProgress, i);
          g_assert_cmpuint (p->run_messages_total, ==, expected_total);
          g_assert_cmpuint (p->run_messages, >=, done);
          g_assert_cmpuint (p->run_messages, <=, p->run_messages_total);
          g_assert_cmpuint (p->run_bytes, <=, p->run_bytes_total);
          done = p->run_messages;
        }
      g_autofree char *n = g_strdup_printf ("%u", done);
      g_file_set_contents (done_file, n, -1, NULL);
      _exit (0);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_autofree char *n = NULL;
  g_assert_true (g_file_get_contents (done_file, &n, NULL, NULL));
  return (guint) g_ascii_strtoull (n, NULL, 10);
}

/* A run's progress carries the account plan's totals, known before the first byte and the
 * same for every folder: 35 messages over five folders, then 2 new in two of them. */
static void
test_progress_run_totals (gconstpointer caps)
{
  Core c = { 0 };
  guint total = 0;

  core_init (&c, caps);
  for (guint i = 1; i <= 5; i++)
    {
      g_autofree char *folder = g_strdup_printf ("F%02u", i);
      td_scripted_server_add_folder (c.server, folder);
      for (guint k = 0; k < 2 * i + 1; k++, total++)
        {
          g_autofree char *id = g_strdup_printf ("p%u-%u", i, k);
          g_autofree char *m = message (id);
          td_scripted_server_deliver (c.server, folder, m, 0);
        }
    }
  g_assert_cmpuint (run_progress (&c, total), ==, total);
  deliver_new (&c, 2, 3, 1);
  g_assert_cmpuint (run_progress (&c, 2), ==, 2);
  core_clear (&c);
}

/* POP3: 10 messages downloaded (and, when the account deletes, deleted), then 20 more. */
static void
build_mailbox (Core *c)
{
  for (guint i = 1; i <= 30; i++)
    {
      g_autofree char *id = g_strdup_printf ("p%u", i);
      g_autofree char *m = message (id);
      td_scripted_server_deliver (c->server, "INBOX", m, 0);
      if (i == 10)
        sync_child (c, 0, FALSE);
    }
}

static const Scenario imap_round = { "condstore;uidplus;list-status", "", build_round_scenario,
                                     "INBOX", 45, 45 };
static const Scenario imap_condstore = { "condstore;uidplus;list-status", "", build_scenario,
                                         "INBOX", 43, 43 };
static const Scenario imap_plain = { "", "", build_scenario, "INBOX", 43, 43 };
static const Scenario imap_moves = { "condstore;uidplus;list-status", "", build_move_scenario,
                                     "INBOX", 5, 5, "Archive", 8 };
static const Scenario imap_moves_plain = { "", "", build_move_scenario, "INBOX", 5, 5,
                                           "Archive", 8 };
static const Scenario imap_server_moves = { "condstore;uidplus;list-status", "",
                                            build_server_move_scenario, "INBOX", 6, 6,
                                            "Archive", 7 };
static const Scenario imap_server_moves_plain = { "", "", build_server_move_scenario, "INBOX",
                                                  6, 6, "Archive", 7 };
static const Scenario pop3_keep = { "pop3", "", build_mailbox, "", 30, 30 };
static const Scenario pop3_delete = { "pop3", "keep-on-server = false\n", build_mailbox, "", 30,
                                      0 };

int
main (int argc, char **argv)
{
  /* No keyring: the scripted account's password is in its config. */
  g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_data_func ("/sync/core/two-way/condstore", "condstore;uidplus;list-status",
                        test_two_way);
  g_test_add_data_func ("/sync/core/two-way/plain", "", test_two_way);
  g_test_add_data_func ("/sync/core/barriers/across-folders/condstore",
                        "condstore;uidplus;list-status", test_barriers_across_folders);
  g_test_add_data_func ("/sync/core/barriers/across-folders/plain", "",
                        test_barriers_across_folders);
  g_test_add_data_func ("/sync/core/progress/run-totals/condstore",
                        "condstore;uidplus;list-status", test_progress_run_totals);
  g_test_add_data_func ("/sync/core/progress/run-totals/plain", "", test_progress_run_totals);
  g_test_add_data_func ("/sync/core/crash-sweep/imap-condstore", &imap_condstore,
                        test_crash_sweep);
  g_test_add_data_func ("/sync/core/crash-sweep/imap-plain", &imap_plain, test_crash_sweep);
  g_test_add_data_func ("/sync/core/crash-sweep/imap-round", &imap_round, test_crash_sweep);
  g_test_add_data_func ("/sync/core/crash-sweep/imap-moves", &imap_moves, test_crash_sweep);
  g_test_add_data_func ("/sync/core/crash-sweep/imap-moves-plain", &imap_moves_plain,
                        test_crash_sweep);
  g_test_add_data_func ("/sync/core/crash-sweep/imap-server-moves", &imap_server_moves,
                        test_crash_sweep);
  g_test_add_data_func ("/sync/core/crash-sweep/imap-server-moves-plain",
                        &imap_server_moves_plain, test_crash_sweep);
  g_test_add_data_func ("/sync/core/crash-sweep/pop3-keep", &pop3_keep, test_crash_sweep);
  g_test_add_data_func ("/sync/core/crash-sweep/pop3-delete", &pop3_delete, test_crash_sweep);
  return g_test_run ();
}
