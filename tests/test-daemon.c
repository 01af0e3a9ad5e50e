/* test-daemon.c: `tidings daemon` on a session bus of its own (dbus-run-session), against
 * Dovecot: the objects it exports, syncs driven by `gdbus call`, the signals and desktop
 * notices that follow, errors under their D-Bus names, bad arguments refused, `tidings
 * status`, `tidings sync` handed to the daemon, one daemon per bus, SIGTERM in the middle
 * of a download, push from the server and from the Maildir.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>

#include "td-test-daemon.h"

#define SIGNAL_WAIT_MS 30000
#define TD_DBUS_NAME_FOR_TESTS "org.tidings.Tidings1"

static void
expect_startup_sync (DaemonFixture *f)
{
  guint from = 0;
  g_assert_nonnull (td_test_wait_signal (f, "SyncFinished", &from, SIGNAL_WAIT_MS));
}

static gboolean
is_watching (DaemonFixture *f)
{
  g_autoptr (GVariant) state = td_test_account_property (f, "State");
  return g_str_equal (g_variant_get_string (state, NULL), "watching");
}

/* Start-up with push: the first sync, then the one the new IDLE asks for (what changed
 * before it began is unknown), then quiet watching. */
static void
expect_watching (DaemonFixture *f)
{
  guint from = 0;
  g_assert_nonnull (td_test_wait_signal (f, "SyncFinished", &from, SIGNAL_WAIT_MS));
  g_assert_nonnull (td_test_wait_signal (f, "SyncFinished", &from, SIGNAL_WAIT_MS));
  g_assert_true (td_test_wait_for (f, is_watching, SIGNAL_WAIT_MS));
}

/* The engine at the root, one account object under the object manager, its properties. */
static void
test_objects (DaemonFixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  td_test_daemon_start (f, "imap", NULL);
  expect_watching (f);
  g_autoptr (GVariant) objects = td_test_call (f, "/org/tidings/Tidings1",
                                               "org.freedesktop.DBus.ObjectManager",
                                               "GetManagedObjects", NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GVariant) managed = g_variant_get_child_value (objects, 0);
  g_autoptr (GVariant) ifaces = g_variant_lookup_value (managed, TD_TEST_ACCOUNT_PATH,
                                                        G_VARIANT_TYPE ("a{sa{sv}}"));
  g_assert_nonnull (ifaces);
  g_autoptr (GVariant) props = g_variant_lookup_value (ifaces, "org.tidings.Tidings1.Account",
                                                       G_VARIANT_TYPE_VARDICT);
  g_assert_nonnull (props);
  const char *name = NULL, *protocol = NULL, *state = NULL;
  g_assert_true (g_variant_lookup (props, "Name", "&s", &name));
  g_assert_cmpstr (name, ==, "t");
  g_assert_true (g_variant_lookup (props, "Protocol", "&s", &protocol));
  g_assert_cmpstr (protocol, ==, "imap");
  g_assert_true (g_variant_lookup (props, "State", "&s", &state));
  g_assert_cmpstr (state, ==, "watching");

  g_autoptr (GVariant) reply = td_test_call (f, "/org/tidings/Tidings1",
                                             "org.freedesktop.DBus.Properties", "Get",
                                             g_variant_new ("(ss)", "org.tidings.Tidings1.Engine",
                                                            "Accounts"), &error);
  g_assert_no_error (error);
  g_autoptr (GVariant) accounts = NULL;
  g_variant_get (reply, "(v)", &accounts);
  g_autofree const char **paths = g_variant_get_objv (accounts, NULL);
  g_assert_cmpuint (g_strv_length ((char **) paths), ==, 1);
  g_assert_cmpstr (paths[0], ==, TD_TEST_ACCOUNT_PATH);
  g_autoptr (GVariant) last = td_test_account_property (f, "LastSync");
  g_assert_cmpint (g_variant_get_int64 (last), >, 0);
}

static gboolean
has_notice (DaemonFixture *f)
{
  return f->notices->len > 0;
}

/* `gdbus call` syncs the account: the call returns what it did, the signals say the same,
 * the mail is in the Maildir, the counts follow, and the desktop is told once. */
static void
test_gdbus_sync (DaemonFixture *f, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (GError) error = NULL;
  int status = -1;
  guint from = 0;

  td_test_daemon_start (f, "imap", "watch =\n"); /* no push: the call does the work */
  expect_startup_sync (f);
  td_test_clear_signals (f);
  seed (&f->base, "INBOX", 3, 200);
  const char *argv[] = { "gdbus", "call", "--session", "--dest", "org.tidings.Tidings1",
                         "--object-path", TD_TEST_ACCOUNT_PATH, "--method",
                         "org.tidings.Tidings1.Account.Sync", NULL };
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                &status, &error);
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (out, "'added': <uint32 3>"));

  GVariant *started = td_test_wait_signal (f, "SyncStarted", &from, SIGNAL_WAIT_MS);
  g_assert_nonnull (started);
  const char *path = NULL, *reason = NULL;
  g_variant_get (started, "(&o&s)", &path, &reason);
  g_assert_cmpstr (path, ==, TD_TEST_ACCOUNT_PATH);
  g_assert_cmpstr (reason, ==, "request");
  GVariant *finished = td_test_wait_signal (f, "SyncFinished", &from, SIGNAL_WAIT_MS);
  g_assert_nonnull (finished);
  GVariant *mail = td_test_wait_signal (f, "NewMail", &from, SIGNAL_WAIT_MS);
  g_assert_nonnull (mail);
  g_autoptr (GVariant) messages = NULL;
  const char *folder = NULL;
  guint count = 0;
  g_variant_get (mail, "(&o&su@a(ss))", &path, &folder, &count, &messages);
  g_assert_cmpstr (folder, ==, "INBOX");
  g_assert_cmpuint (count, ==, 3);
  g_assert_cmpuint (g_variant_n_children (messages), ==, 3);
  g_autofree char *shown = g_variant_print (messages, FALSE);
  for (guint i = 1; i <= 3; i++)
    {
      g_autofree char *subject = g_strdup_printf ("'Grüße Nummer %u'", i);
      g_assert_nonnull (strstr (shown, subject));
    }
  g_assert_nonnull (strstr (shown, "Zoë <zoe@example.org>"));
  assert_folder_matches (&f->base, "INBOX");

  g_autoptr (GVariant) unread = td_test_account_property (f, "UnreadCount");
  g_assert_cmpuint (g_variant_get_uint32 (unread), ==, 3);
  g_autoptr (GVariant) folders = td_test_account_property (f, "Folders");
  guint total = 0, unseen = 0;
  g_assert_true (g_variant_lookup (folders, "INBOX", "(uu)", &total, &unseen));
  g_assert_cmpuint (total, ==, 3);
  g_assert_cmpuint (unseen, ==, 3);

  g_assert_true (td_test_wait_for (f, has_notice, 5000));
  g_assert_cmpuint (f->notices->len, ==, 1);
  const char *summary = NULL, *body = NULL;
  g_variant_get (g_ptr_array_index (f->notices, 0), "(&s&s)", &summary, &body);
  g_assert_cmpstr (summary, ==, "3 new messages in t");
  g_assert_nonnull (strstr (body, "Grüße Nummer 1"));
}

/* A new account's first sync is a backfill: the mail already there raises no desktop notice
 * (the NewMail signal still says what came); the next new message does. */
static void
test_backfill_no_notice (DaemonFixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  guint from = 0;

  seed (&f->base, "INBOX", 5, 200);
  td_test_daemon_start (f, "imap", "watch =\n");
  g_assert_nonnull (td_test_wait_signal (f, "NewMail", &from, SIGNAL_WAIT_MS));
  g_assert_false (td_test_wait_for (f, has_notice, 2000));

  seed (&f->base, "INBOX", 1, 200);
  g_autoptr (GVariant) reply = td_test_call (f, TD_TEST_ACCOUNT_PATH,
                                             "org.tidings.Tidings1.Account", "Sync", NULL,
                                             &error);
  g_assert_no_error (error);
  g_assert_true (td_test_wait_for (f, has_notice, 5000));
  g_assert_cmpuint (f->notices->len, ==, 1);
  const char *summary = NULL, *body = NULL;
  g_variant_get (g_ptr_array_index (f->notices, 0), "(&s&s)", &summary, &body);
  g_assert_cmpstr (summary, ==, "New mail in t");
}

static gboolean
reader_opened (DaemonFixture *f)
{
  g_autofree char *mark = g_build_filename (f->base.home, "reader-opened", NULL);
  return g_file_test (mark, G_FILE_TEST_EXISTS);
}

/* A notice of new mail names the daemon's desktop entry and offers a default action: its
 * click runs the account's mail-reader-command, or else says NoticeActivated on the bus. */
static void
test_notice_click (DaemonFixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *mark = g_build_filename (f->base.home, "reader-opened", NULL);
  guint from = 0;

  for (guint round = 0; round < 2; round++)
    {
      g_autofree char *extra = round == 0
        ? g_strdup_printf ("watch =\nmail-reader-command = touch '%s'\n", mark)
        : g_strdup ("watch =\n");
      td_test_daemon_start (f, "imap", extra);
      expect_startup_sync (f);
      seed (&f->base, "INBOX", 1, 200);
      g_autoptr (GVariant) reply = td_test_call (f, TD_TEST_ACCOUNT_PATH,
                                                 "org.tidings.Tidings1.Account", "Sync", NULL,
                                                 &error);
      g_assert_no_error (error);
      g_assert_true (td_test_wait_for (f, has_notice, 5000));
      guint32 id = f->notify_calls->len;
      GVariant *call = g_ptr_array_index (f->notify_calls, id - 1);
      g_autofree const char **actions = NULL;
      g_autoptr (GVariant) hints = NULL;
      g_variant_get (call, "(&su&s&s&s^a&s@a{sv}i)", NULL, NULL, NULL, NULL, NULL, &actions,
                     &hints, NULL);
      g_assert_true (g_strv_contains (actions, "default"));
      const char *entry = NULL;
      g_assert_true (g_variant_lookup (hints, "desktop-entry", "&s", &entry));
      g_assert_cmpstr (entry, ==, "org.tidings.Tidings1");

      g_assert_true (g_dbus_connection_emit_signal (f->bus, NULL, "/org/freedesktop/Notifications",
                                                    "org.freedesktop.Notifications",
                                                    "ActionInvoked",
                                                    g_variant_new ("(us)", id, "default"), &error));
      if (round == 0)
        g_assert_true (td_test_wait_for (f, reader_opened, 5000));
      else
        g_assert_nonnull (td_test_wait_signal (f, "NoticeActivated", &from, SIGNAL_WAIT_MS));
      g_assert_cmpint (td_test_daemon_stop (f), ==, 0);
      g_ptr_array_set_size (f->notices, 0);
      g_ptr_array_set_size (f->notify_calls, 0);
    }
}

/* notify = false: the signal still goes out, the desktop is not told. */
static void
test_notify_off (DaemonFixture *f, gconstpointer data)
{
  guint from = 0;

  seed (&f->base, "INBOX", 2, 200);
  td_test_daemon_start (f, "imap", "notify = false\nwatch =\n");
  g_assert_nonnull (td_test_wait_signal (f, "NewMail", &from, SIGNAL_WAIT_MS));
  /* Sync again, so any notice of the first sync has had time to arrive before we look. */
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = td_test_call (f, TD_TEST_ACCOUNT_PATH,
                                             "org.tidings.Tidings1.Account", "Sync", NULL,
                                             &error);
  g_assert_no_error (error);
  /* A notice would come in as a call to this process: dispatch for a while to let it. */
  g_assert_false (td_test_wait_for (f, has_notice, 2000));
}

/* A refused password: the call fails with the documented error name, the account says
 * needs-password and why, and an Error signal says the same. */
static void
test_auth_error (DaemonFixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  guint from = 0;

  td_test_daemon_start (f, "imap", "watch =\n");
  expect_startup_sync (f);
  td_test_dovecot_set_password (f->base.dovecot, "another password");
  g_autoptr (GVariant) reply = td_test_call (f, TD_TEST_ACCOUNT_PATH,
                                             "org.tidings.Tidings1.Account", "Sync", NULL,
                                             &error);
  g_assert_null (reply);
  g_autofree char *remote = g_dbus_error_get_remote_error (error);
  g_assert_cmpstr (remote, ==, "org.tidings.Tidings1.Error.Auth");
  g_autoptr (GVariant) state = td_test_account_property (f, "State");
  g_assert_cmpstr (g_variant_get_string (state, NULL), ==, "needs-password");
  g_autoptr (GVariant) last_error = td_test_account_property (f, "LastError");
  g_assert_nonnull (strstr (g_variant_get_string (last_error, NULL), "account t"));
  GVariant *signal = td_test_wait_signal (f, "Error", &from, SIGNAL_WAIT_MS);
  g_assert_nonnull (signal);
  const char *path, *folder, *name, *message;
  g_variant_get (signal, "(&o&s&s&s)", &path, &folder, &name, &message);
  g_assert_cmpstr (name, ==, "org.tidings.Tidings1.Error.Auth");
  g_assert_cmpstr (folder, ==, "");
  g_assert_null (strstr (message, TD_TEST_PASSWORD));
  /* `tidings sync` asks the daemon, and exits as a refused password does. */
  TdTestRun r = td_test_tidings (f->cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 3);
  g_assert_nonnull (strstr (r.err, "account t"));
  td_test_run_clear (&r);
}

static void
expect_refused (DaemonFixture *f, const char *path, const char *iface, const char *method,
                GVariant *args, const char *dbus_error)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = td_test_call (f, path, iface, method, args, &error);

  g_assert_null (reply);
  g_assert_nonnull (error);
  g_autofree char *remote = g_dbus_error_get_remote_error (error);
  g_assert_cmpstr (remote, ==, dbus_error);
}

/* Odd folder names, wrong types, unknown objects and methods, a megabyte of name: each is a
 * D-Bus error, and the daemon goes on as before. */
static void
test_bad_arguments (DaemonFixture *f, gconstpointer data)
{
  const char *acc = "org.tidings.Tidings1.Account";
  const char *invalid = "org.freedesktop.DBus.Error.InvalidArgs";
  g_autofree char *long_name = g_strnfill (2000, 'a');
  g_autofree char *huge = g_strnfill (1024 * 1024, 'b');
  g_autoptr (GError) error = NULL;

  td_test_daemon_start (f, "imap", "exclude = Junk\nwatch =\n");
  expect_startup_sync (f);
  expect_refused (f, TD_TEST_ACCOUNT_PATH, acc, "SyncFolder", g_variant_new ("(s)", ""), invalid);
  expect_refused (f, TD_TEST_ACCOUNT_PATH, acc, "SyncFolder", g_variant_new ("(s)", long_name),
                  invalid);
  expect_refused (f, TD_TEST_ACCOUNT_PATH, acc, "SyncFolder", g_variant_new ("(s)", huge), invalid);
  expect_refused (f, TD_TEST_ACCOUNT_PATH, acc, "SyncFolder", g_variant_new ("(s)", "a\tb\x01"),
                  invalid);
  expect_refused (f, TD_TEST_ACCOUNT_PATH, acc, "SyncFolder", g_variant_new ("(s)", "Junk"),
                  invalid);
  expect_refused (f, TD_TEST_ACCOUNT_PATH, acc, "SyncFolder", g_variant_new ("(s)", "No/Such"),
                  invalid);
  expect_refused (f, TD_TEST_ACCOUNT_PATH, acc, "SyncFolder", g_variant_new ("(i)", 42), invalid);
  expect_refused (f, TD_TEST_ACCOUNT_PATH, acc, "SyncFolder", NULL, invalid);
  expect_refused (f, TD_TEST_ACCOUNT_PATH, acc, "Sync", g_variant_new ("(s)", "x"), invalid);
  expect_refused (f, "/org/tidings/Tidings1", "org.tidings.Tidings1.Engine", "Pause",
                  g_variant_new ("(u)", 1), invalid);
  expect_refused (f, TD_TEST_ACCOUNT_PATH, acc, "Exterminate", NULL,
                  "org.freedesktop.DBus.Error.UnknownMethod");
  expect_refused (f, "/org/tidings/Tidings1/account/nobody", acc, "Sync", NULL,
                  "org.freedesktop.DBus.Error.UnknownMethod");
  expect_refused (f, TD_TEST_ACCOUNT_PATH, "org.freedesktop.DBus.Properties", "Set",
                  g_variant_new ("(ssv)", acc, "State", g_variant_new_string ("idle")),
                  invalid);
  /* Still alive and well. */
  g_autoptr (GVariant) reply = td_test_call (f, TD_TEST_ACCOUNT_PATH, acc, "SyncFolder",
                                             g_variant_new ("(s)", "INBOX"), &error);
  g_assert_no_error (error);
  g_assert_true (td_test_daemon_running (f));
}

/* Pause stops automatic syncs and says so; Sync still works; Resume catches up. */
static void
test_pause_resume (DaemonFixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *engine = "org.tidings.Tidings1.Engine";
  guint from = 0;

  td_test_daemon_start (f, "imap", "poll-interval = 10\nwatch =\n");
  expect_startup_sync (f);
  g_autoptr (GVariant) r1 = td_test_call (f, "/org/tidings/Tidings1", engine, "Pause", NULL, &error);
  g_assert_no_error (error);
  TdTestRun st = td_test_tidings (f->cfg, "status", NULL);
  g_assert_cmpint (st.status, ==, 0);
  g_assert_nonnull (strstr (st.out, "paused"));
  td_test_run_clear (&st);
  td_test_clear_signals (f);
  seed (&f->base, "INBOX", 1, 100);
  g_autoptr (GVariant) r2 = td_test_call (f, "/org/tidings/Tidings1", engine, "Sync", NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (td_test_wait_signal (f, "NewMail", &from, SIGNAL_WAIT_MS));
  seed (&f->base, "INBOX", 1, 100);
  g_autoptr (GVariant) r3 = td_test_call (f, "/org/tidings/Tidings1", engine, "Resume", NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (td_test_wait_signal (f, "NewMail", &from, SIGNAL_WAIT_MS));
  assert_folder_matches (&f->base, "INBOX");
}

static guint
inbox_messages (DaemonFixture *f)
{
  g_autoptr (GHashTable) local = read_local (&f->base, "INBOX"); /* fails on a duplicate */
  return g_hash_table_size (local);
}

/* The daemon's first sync of @count 40 KB messages through a 4 MB/s link, under way: it
 * returns once the first Progress came. The relay is the caller's to stop. */
static GSubprocess *
start_slow_first_sync (DaemonFixture *f, guint count, guint *from)
{
  guint16 port = 0;

  seed_inbox_files (&f->base, count, 40000);
  GSubprocess *proxy = start_throttle (&f->base, f->base.dovecot->imaps_port, 4 * 1000 * 1000,
                                       0, &port);
  td_test_daemon_start_at (f, "imap", port, "watch =\n");
  g_assert_nonnull (td_test_wait_signal (f, "Progress", from, SIGNAL_WAIT_MS));
  return proxy;
}

/* Pause during the first sync of 1,200 messages (48 MB) over a 4 MB/s link stops that sync
 * within moments, keeping what came down; Resume's catch-up brings the rest, none twice. */
static void
test_pause_stops_running_sync (DaemonFixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  guint from = 0;
  g_autoptr (GSubprocess) proxy = start_slow_first_sync (f, 1200, &from);

  /* The sync's totals come from its plan, before the first message is stored. */
  GVariant *run = td_test_wait_signal (f, "RunProgress", NULL, SIGNAL_WAIT_MS);
  g_assert_nonnull (run);
  guint done = 0, total = 0;
  g_variant_get (run, "(&suuuutt)", NULL, NULL, NULL, &done, &total, NULL, NULL);
  g_assert_cmpuint (total, ==, 1200);
  g_assert_cmpuint (done, <, 1200);
  g_usleep (500 * 1000);
  gint64 asked = g_get_monotonic_time ();
  g_autoptr (GVariant) paused = td_test_call (f, "/org/tidings/Tidings1",
                                              "org.tidings.Tidings1.Engine", "Pause", NULL,
                                              &error);
  g_assert_no_error (error);
  g_assert_nonnull (td_test_wait_signal (f, "SyncFinished", &from, SIGNAL_WAIT_MS));
  gint64 took = g_get_monotonic_time () - asked;
  guint kept = inbox_messages (f);
  g_test_message ("the sync ended %.2f s after Pause, %u of 1200 messages stored", took / 1e6,
                  kept);
  g_assert_cmpint (took, <, 4 * G_USEC_PER_SEC);
  g_assert_cmpuint (kept, <, 1200);

  g_autoptr (GVariant) resumed = td_test_call (f, "/org/tidings/Tidings1",
                                               "org.tidings.Tidings1.Engine", "Resume", NULL,
                                               &error);
  g_assert_no_error (error);
  g_assert_nonnull (td_test_wait_signal (f, "SyncFinished", &from, 60000));
  g_subprocess_force_exit (proxy);
  assert_folder_matches (&f->base, "INBOX");
}

/* `tidings status` reads the daemon; without one it says how to start it. */
static void
test_status (DaemonFixture *f, gconstpointer data)
{
  td_test_dovecot_doveadm (f->base.dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Zeta",
                           "Archive", NULL);
  seed (&f->base, "Zeta", 1, 100);
  seed (&f->base, "Archive", 1, 100);
  seed (&f->base, "INBOX", 2, 100);
  td_test_daemon_start (f, "imap", NULL);
  expect_watching (f);
  guint from = 0;
  g_assert_nonnull (td_test_wait_signal (f, "NewMail", &from, SIGNAL_WAIT_MS));
  TdTestRun r = td_test_tidings (f->cfg, "status", "--json", NULL);
  /* INBOX first, then by name. */
  g_assert_true (g_regex_match_simple ("\"folders\":\\[\\{\"name\":\"INBOX\".*\"name\":\"Archive\""
                                       ".*\"name\":\"Zeta\"", r.out, 0, 0));
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "\"running\":true"));
  g_assert_nonnull (strstr (r.out, "\"name\":\"t\",\"protocol\":\"imap\",\"state\":\"watching\""));
  g_assert_nonnull (strstr (r.out, "\"unread\":4"));
  g_assert_nonnull (strstr (r.out, "{\"name\":\"INBOX\",\"messages\":2,\"unread\":2,"
                                   "\"special\":null}"));
  /* What the server says a folder is for (Dovecot marks Archive \Archive here). */
  g_assert_nonnull (strstr (r.out, "{\"name\":\"Archive\",\"messages\":1,\"unread\":1,"
                                   "\"special\":\"archive\"}"));
  td_test_run_clear (&r);
  r = td_test_tidings (f->cfg, "status", NULL);
  g_assert_nonnull (strstr (r.out, "  Archive: 1 messages, 1 unread (archive)\n"));
  g_assert_nonnull (strstr (r.out, "  Zeta: 1 messages, 1 unread\n"));
  td_test_run_clear (&r);
  g_autoptr (GVariant) special = td_test_account_property (f, "SpecialFolders");
  g_autofree char *shown = g_variant_print (special, FALSE);
  g_assert_cmpstr (shown, ==, "{'Archive': 'archive'}");

  /* A second daemon on the same bus refuses to start. */
  TdTestRun second = td_test_tidings (f->cfg, "daemon", NULL);
  g_assert_cmpint (second.status, ==, 8);
  g_assert_nonnull (strstr (second.err, "another Tidings daemon already runs"));
  td_test_run_clear (&second);

  g_autoptr (GVariant) last = td_test_account_property (f, "LastSync");
  g_assert_cmpint (g_variant_get_int64 (last), >, 0);
  g_assert_cmpint (td_test_daemon_stop (f), ==, 0);
  r = td_test_tidings (f->cfg, "status", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "the Tidings daemon is not running"));
  td_test_run_clear (&r);

  /* The time of the last good sync survives a restart (here one whose own sync fails: the
   * server's port is closed). */
  td_test_daemon_start_at (f, "imap", 9, NULL);
  g_autoptr (GVariant) again = td_test_account_property (f, "LastSync");
  g_assert_cmpint (g_variant_get_int64 (again), ==, g_variant_get_int64 (last));
  g_assert_cmpint (td_test_daemon_stop (f), ==, 0);
}

/* The daemon says what it does on stderr: each sync's start (and why) and its end (what
 * it brought). With no keyring on the bus and the password in the file, it says once that
 * it passes the keyring over, not at every sync. */
static void
test_keyring_warning_once (DaemonFixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;

  td_test_daemon_start (f, "imap", "watch =\n");
  expect_startup_sync (f);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr (GVariant) reply = td_test_call (f, TD_TEST_ACCOUNT_PATH,
                                                 "org.tidings.Tidings1.Account", "Sync", NULL,
                                                 &error);
      g_assert_no_error (error);
    }
  g_assert_cmpint (td_test_daemon_stop (f), ==, 0);
  g_assert_true (g_file_get_contents (f->err_path, &err, NULL, NULL));
  g_auto (GStrv) parts = g_strsplit (err, "the keyring cannot be reached", -1);
  g_assert_cmpuint (g_strv_length (parts) - 1, ==, 1);
  g_assert_nonnull (strstr (err, "account t: sync started (request)"));
  g_assert_true (g_regex_match_simple ("account t: sync finished: nothing new; in [0-9]+ "
                                       "folders?", err, 0, 0));
}

/* SIGTERM while a big folder downloads: exit 0 soon, and a later sync completes the folder
 * with nothing lost and nothing twice. */
static void
test_sigterm_mid_sync (DaemonFixture *f, gconstpointer data)
{
  guint from = 0;

  seed (&f->base, "INBOX", 400, 30 * 1024);
  td_test_daemon_start (f, "imap", NULL);
  g_assert_nonnull (td_test_wait_signal (f, "Progress", &from, SIGNAL_WAIT_MS));
  g_assert_cmpint (td_test_daemon_stop (f), ==, 0);
  g_autofree char *err = NULL;
  g_file_get_contents (f->err_path, &err, NULL, NULL);
  g_assert_nonnull (strstr (err, "stopping"));
  sync_ok (f->cfg);
  assert_folder_matches (&f->base, "INBOX");
}

static gboolean
inbox_has_new_file (DaemonFixture *f)
{
  g_autofree char *dir = g_build_filename (f->base.maildir, "INBOX", "new", NULL);
  return td_test_count_entries (dir) > 0;
}

/* How many syncs recorded since the last clear ran for the reason @reason. */
static guint
count_syncs_for (DaemonFixture *f, const char *reason)
{
  guint n = 0;

  for (guint i = 0; i < f->signals->len; i++)
    {
      const char *path = NULL, *why = NULL;
      if (!g_str_equal (g_ptr_array_index (f->signal_names, i), "SyncStarted"))
        continue;
      g_variant_get (g_ptr_array_index (f->signals, i), "(&o&s)", &path, &why);
      n += g_str_equal (why, reason);
    }
  return n;
}

static gboolean
saw_sync_for (DaemonFixture *f, const char *reason)
{
  return count_syncs_for (f, reason) > 0;
}

static gboolean
saw_local_sync (DaemonFixture *f)
{
  return saw_sync_for (f, "local");
}

static gboolean
second_flagged_on_server (DaemonFixture *f)
{
  g_autofree char *flags = server_flags (&f->base, "INBOX", "2");
  return strstr (flags, "\\Flagged") != NULL;
}

/* Dovecot as it comes offers NOTIFY; these take it away, then IDLE too. */
#define CAPS_IDLE "imap_capability = IMAP4rev1 LITERAL+ SASL-IR ENABLE IDLE UIDPLUS " \
                  "CONDSTORE QRESYNC ESEARCH LIST-STATUS"
#define CAPS_PLAIN "imap_capability = IMAP4rev1 LITERAL+ UIDPLUS"

/* A message delivered on the server reaches new/ with no call at all, and the sync that
 * fetched it says why it ran: NOTIFY or IDLE ("server"), or the poll ("schedule"). */
static void
test_push (DaemonFixture *f, gconstpointer data)
{
  gboolean polled = g_strcmp0 (data, CAPS_PLAIN) == 0;
  const char *reason_wanted = polled ? "schedule" : "server";
  guint from = 0;

  assert_capabilities_narrowed (&f->base, data);
  td_test_daemon_start (f, "imap", "poll-interval = 10\n");
  expect_startup_sync (f);
  if (!polled)
    {
      /* Wait for the watch to be up: the account says "watching". */
      g_assert_true (td_test_wait_for (f, is_watching, 10000));
    }
  /* Let the syncs of start-up settle, then look only at what the delivery causes. */
  g_usleep (500 * 1000);
  td_test_clear_signals (f);
  seed (&f->base, "INBOX", 1, 100);
  g_assert_true (td_test_wait_for (f, inbox_has_new_file, 30000));
  GVariant *started = td_test_wait_signal (f, "SyncStarted", &from, SIGNAL_WAIT_MS);
  g_assert_nonnull (started);
  const char *path = NULL, *reason = NULL;
  g_variant_get (started, "(&o&s)", &path, &reason);
  g_assert_cmpstr (reason, ==, reason_wanted);
  GVariant *mail = td_test_wait_signal (f, "NewMail", &from, SIGNAL_WAIT_MS);
  g_assert_nonnull (mail);
  g_autofree char *shown = g_variant_print (mail, FALSE);
  g_assert_nonnull (strstr (shown, "Grüße Nummer 1"));
  assert_folder_matches (&f->base, "INBOX");
  /* The file the sync wrote is its own doing, not a reader's: it sets off no sync of the
   * Maildir's changes (the monitor would have asked within a second). */
  g_assert_nonnull (td_test_wait_signal (f, "SyncFinished", &from, SIGNAL_WAIT_MS));
  g_assert_false (td_test_wait_for (f, saw_local_sync, 1500));
}

/* A flag set in the mail reader reaches the server with no call: the file monitor sees the
 * rename and asks for a sync of that folder. With @apart, INBOX has its own directory
 * outside the Maildir (the inbox key); a symlink to it where the test's helpers look lets
 * them find it, and Tidings, which never follows one, goes by the key alone. */
static void
local_change (DaemonFixture *f, gboolean apart)
{
  g_autofree char *dir = g_build_filename (f->base.home, "Inbox-apart", NULL);
  g_autofree char *link = g_build_filename (f->base.maildir, "INBOX", NULL);
  g_autofree char *inbox = apart ? g_strdup_printf ("inbox = %s\n", dir) : NULL;

  if (apart)
    {
      g_assert_cmpint (g_mkdir_with_parents (f->base.maildir, 0700), ==, 0);
      g_assert_cmpint (symlink (dir, link), ==, 0);
    }
  seed (&f->base, "INBOX", 3, 100);
  td_test_daemon_start (f, "imap", inbox);
  expect_watching (f);
  g_usleep (500 * 1000);
  td_test_clear_signals (f);
  g_autofree char *before = server_flags (&f->base, "INBOX", "2");
  g_assert_null (strstr (before, "\\Flagged"));
  reader_sets_flags (&f->base, "INBOX", 2, "FS");
  g_assert_true (td_test_wait_for (f, second_flagged_on_server, 20000));
  /* The flag can be on the server before the bus has handed this process the signal of
   * the sync that sent it. */
  g_assert_true (td_test_wait_for (f, saw_local_sync, SIGNAL_WAIT_MS));
  assert_folder_matches (&f->base, "INBOX");
}

static void
test_local_change (DaemonFixture *f, gconstpointer data)
{
  local_change (f, FALSE);
}

static void
test_local_change_inbox_apart (DaemonFixture *f, gconstpointer data)
{
  local_change (f, TRUE);
}

static gboolean
archive_has_one (DaemonFixture *f)
{
  return server_count (&f->base, "Archive") == 1;
}

/* A message the reader moves from INBOX to Archive while the daemon watches: the two
 * folders change at the same instant and are synced in one run, so the server moves the
 * message (the SyncFinished summary counts it as moved, none uploaded or deleted). */
static void
test_local_move (DaemonFixture *f, gconstpointer data)
{
  guint from = 0;

  td_test_dovecot_doveadm (f->base.dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Archive",
                           NULL);
  seed (&f->base, "INBOX", 3, 100);
  td_test_daemon_start (f, "imap", NULL);
  expect_watching (f);
  g_usleep (500 * 1000);
  td_test_clear_signals (f);

  g_autoptr (GHashTable) local = read_local (&f->base, "INBOX");
  const char *v = local_name (local, 2);
  g_autofree char *name = g_strndup (v, strchr (v, '\n') - v);
  g_autofree char *base = g_strndup (name, strcspn (name, ":"));
  g_autofree char *cur = g_build_filename (f->base.maildir, "INBOX", "cur", name, NULL);
  g_autofree char *old = g_build_filename (f->base.maildir, "INBOX", "new", name, NULL);
  g_autofree char *to_name = g_strdup_printf ("%s:2,S", base);
  g_autofree char *to = g_build_filename (f->base.maildir, "Archive", "cur", to_name, NULL);
  g_assert_cmpint (g_rename (g_file_test (cur, G_FILE_TEST_EXISTS) ? cur : old, to), ==, 0);

  g_assert_true (td_test_wait_for (f, archive_has_one, 20000));
  g_assert_cmpuint (server_count (&f->base, "INBOX"), ==, 2);
  GVariant *finished = td_test_wait_signal (f, "SyncFinished", &from, SIGNAL_WAIT_MS);
  g_assert_nonnull (finished);
  g_autoptr (GVariant) summary = g_variant_get_child_value (finished, 1);
  guint32 moved = 0, uploaded = 0, deleted = 0;
  g_assert_true (g_variant_lookup (summary, "moved", "u", &moved));
  g_assert_true (g_variant_lookup (summary, "uploaded", "u", &uploaded));
  g_assert_true (g_variant_lookup (summary, "deleted-remote", "u", &deleted));
  g_assert_cmpuint (moved, ==, 1);
  g_assert_cmpuint (uploaded, ==, 0);
  g_assert_cmpuint (deleted, ==, 0);
}

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Deletes the file of the @n-th message (in name order) of INBOX, as a mail reader would. */
static void
reader_deletes_nth (DaemonFixture *f, guint n)
{
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  const char *subs[] = { "cur", "new" };

  for (guint s = 0; s < G_N_ELEMENTS (subs); s++)
    {
      g_autofree char *dir = g_build_filename (f->base.maildir, "INBOX", subs[s], NULL);
      g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
      const char *name;
      while (d != NULL && (name = g_dir_read_name (d)) != NULL)
        g_ptr_array_add (paths, g_build_filename (dir, name, NULL));
    }
  g_assert_cmpuint (paths->len, >, n);
  g_ptr_array_sort (paths, compare_paths);
  g_assert_cmpint (g_unlink (paths->pdata[n]), ==, 0);
}

/* What an earlier run leaves when it dies between writing its intent to upload and learning
 * the UID: a row in uploads. It is written to the DB alone, so no file event comes of it. */
static void
leave_unsettled_upload (DaemonFixture *f)
{
  g_autofree char *path = g_build_filename (f->base.state, "state.db", NULL);
  sqlite3 *db = NULL;
  char *error = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  int rc = sqlite3_exec (db, "INSERT INTO uploads (folder_id, base, token, message_id, size, "
                         "uidvalidity, min_uid) SELECT id, 'unsettled.host', 'tok1', "
                         "'<unsettled@tidings.test>', 10, uidvalidity, uidnext FROM folders "
                         "WHERE name = 'INBOX'", NULL, NULL, &error);
  if (rc != SQLITE_OK)
    g_error ("cannot write the upload row: %s", error);
  g_assert_cmpint (sqlite3_changes (db), ==, 1);
  sqlite3_close (db);
}

/* The daemon's Maildir monitor asks the sync's own policy whether a sync would send
 * something: under deletes = pull a reader's deletion stays here and sets off no sync; an
 * upload an earlier run left unsettled does, whatever the policy. */
static void
test_local_policy (DaemonFixture *f, gconstpointer data)
{
  seed (&f->base, "INBOX", 4, 100);
  td_test_daemon_start (f, "imap", "deletes = pull\n");
  expect_watching (f);
  g_usleep (500 * 1000);
  td_test_clear_signals (f);
  reader_deletes_nth (f, 0);
  /* The monitor looks within a second of the last event. */
  g_assert_false (td_test_wait_for (f, saw_local_sync, 2500));
  g_assert_cmpuint (server_count (&f->base, "INBOX"), ==, 4);

  leave_unsettled_upload (f);
  reader_deletes_nth (f, 0);
  g_assert_true (td_test_wait_for (f, saw_local_sync, 10000));
  g_assert_cmpuint (server_count (&f->base, "INBOX"), ==, 4);
}

static gboolean
saw_request_sync (DaemonFixture *f)
{
  return saw_sync_for (f, "request");
}

static gboolean
saw_two_request_syncs (DaemonFixture *f)
{
  return count_syncs_for (f, "request") == 2;
}

static gpointer
release_later (gpointer data)
{
  g_usleep (3 * G_USEC_PER_SEC);
  close (GPOINTER_TO_INT (data));
  return NULL;
}

/* Holds account t's lock, as a sync under way would, for three seconds: longer than a
 * plain `tidings sync` waits for it. */
static GThread *
hold_lock (DaemonFixture *f)
{
  g_autofree char *path = g_build_filename (f->base.state, "t.lock", NULL);
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (flock (fd, LOCK_EX | LOCK_NB), ==, 0);
  return g_thread_new ("lock", release_later, GINT_TO_POINTER (fd));
}

/* `tidings sync` handed to the daemon while its sync of the account is under way: the
 * answer says what that sync brought, not the "nothing new" of the short one after it. */
static void
test_cli_sync_during_sync (DaemonFixture *f, gconstpointer data)
{
  guint from = 0;
  g_autoptr (GSubprocess) proxy = start_slow_first_sync (f, 200, &from);

  TdTestRun r = td_test_tidings (f->cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "t: 200 new"));
  g_assert_nonnull (strstr (r.out, "by the running daemon"));
  td_test_run_clear (&r);
  g_subprocess_force_exit (proxy);
  assert_folder_matches (&f->base, "INBOX");
}

/* `tidings sync` while the daemon runs: the daemon syncs (its SyncStarted says a caller
 * asked) and the command prints its answer; `--folder NAME` asks for that folder; `--local`
 * syncs in the command itself, with the daemon left alone. */
static void
test_cli_sync (DaemonFixture *f, gconstpointer data)
{
  td_test_daemon_start (f, "imap", "watch =\n");
  expect_startup_sync (f);
  td_test_clear_signals (f);
  seed (&f->base, "INBOX", 2, 100);
  TdTestRun r = td_test_tidings (f->cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "t: 2 new"));
  g_assert_nonnull (strstr (r.out, "by the running daemon"));
  td_test_run_clear (&r);
  assert_folder_matches (&f->base, "INBOX");
  g_assert_true (td_test_wait_for (f, saw_request_sync, 5000));

  seed (&f->base, "INBOX", 1, 100);
  r = td_test_tidings (f->cfg, "sync", "--json", "--folder", "INBOX", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "\"daemon\":true"));
  g_assert_nonnull (strstr (r.out, "\"added\":1,"));
  g_assert_nonnull (strstr (r.out, "\"folder_count\":1,"));
  td_test_run_clear (&r);
  /* Both requests' signals are in before the slate is wiped for --local. */
  g_assert_true (td_test_wait_for (f, saw_two_request_syncs, 5000));

  td_test_clear_signals (f);
  seed (&f->base, "INBOX", 1, 100);
  r = td_test_tidings (f->cfg, "sync", "--local", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "t: 1 new"));
  g_assert_null (strstr (r.out, "daemon"));
  td_test_run_clear (&r);
  g_assert_false (td_test_wait_for (f, saw_request_sync, 1000));
  assert_folder_matches (&f->base, "INBOX");

  /* --local waits for the account's lock rather than giving up. */
  GThread *holder = hold_lock (f);
  r = td_test_tidings (f->cfg, "sync", "--local", NULL);
  g_thread_join (holder);
  g_assert_cmpint (r.status, ==, 0);
  td_test_run_clear (&r);
}

/* The IMAP connections Dovecot has open for the test user. */
static guint
server_connections (DaemonFixture *f)
{
  g_autofree char *out = td_test_dovecot_doveadm_output (f->base.dovecot, "who", "-1", NULL);
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  guint n = 0;

  for (guint i = 0; lines[i] != NULL; i++)
    n += g_str_has_prefix (lines[i], TD_TEST_USER " ") && strstr (lines[i], "imap") != NULL;
  return n;
}

static guint connections_wanted;

static gboolean
has_wanted_connections (DaemonFixture *f)
{
  return server_connections (f) == connections_wanted;
}

static gboolean
work_flagged_here (DaemonFixture *f)
{
  g_autoptr (GHashTable) local = read_local (&f->base, "Work");
  return has_flag (local, 3, 'F');
}

static gboolean
is_syncing (DaemonFixture *f)
{
  g_autoptr (GVariant) state = td_test_account_property (f, "State");
  return g_str_equal (g_variant_get_string (state, NULL), "syncing");
}

/* No sync for the last 1.5 seconds. */
static gint64 quiet_since;

static gboolean
quiet_a_while (DaemonFixture *f)
{
  gint64 now = g_get_monotonic_time ();

  if (is_syncing (f))
    quiet_since = now;
  return now - quiet_since >= 1500 * G_TIME_SPAN_MILLISECOND;
}

static gboolean
saw_server_sync (DaemonFixture *f)
{
  return saw_sync_for (f, "server");
}

/* The message delivered to Lists after start-up (its second) is here. */
static gboolean
lists_has_second (DaemonFixture *f)
{
  g_autoptr (GHashTable) local = read_local (&f->base, "Lists");
  return g_hash_table_size (local) == 2;
}

/* `watch = *` on three folders: NOTIFY watches them all on one connection, IDLE needs one
 * connection each. Either way, mail delivered to any of them and a flag set on the server
 * arrive without a call. */
static void
test_push_folders (DaemonFixture *f, gconstpointer data)
{
  assert_capabilities_narrowed (&f->base, data);
  seed (&f->base, "INBOX", 1, 100);
  td_test_dovecot_doveadm (f->base.dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Lists",
                           "Work", NULL);
  seed (&f->base, "Lists", 1, 100);
  seed (&f->base, "Work", 1, 100);
  td_test_daemon_start (f, "imap", "watch = *\npoll-interval = 3600\n");
  expect_startup_sync (f);
  /* Each new watch asks for a look at its folders; those syncs are over before the
   * delivery, so only the push can bring it. */
  g_assert_true (td_test_wait_for (f, is_watching, 20000));
  quiet_since = g_get_monotonic_time ();
  g_assert_true (td_test_wait_for (f, quiet_a_while, 30000));
  td_test_clear_signals (f);
  seed (&f->base, "Lists", 1, 100);
  g_assert_true (td_test_wait_for (f, lists_has_second, 20000));
  g_assert_true (td_test_wait_for (f, saw_server_sync, 5000));
  assert_folder_matches (&f->base, "Lists");

  td_test_dovecot_doveadm (f->base.dovecot, "flags", "add", "-u", TD_TEST_USER, "\\Flagged",
                           "mailbox", "Work", "uid", "1", NULL);
  g_assert_true (td_test_wait_for (f, work_flagged_here, 20000));

  /* Settled, the sync connections have closed and the watching ones stay: one for NOTIFY,
   * one per folder for IDLE. (Early on, some may not be up yet.) */
  g_assert_true (td_test_wait_for (f, is_watching, 20000));
  connections_wanted = data == NULL ? 1 : 3;
  g_assert_true (td_test_wait_for (f, has_wanted_connections, 10000));
  /* No watch was lost on the way (a lost watch is followed by a sync to retry). */
  g_assert_false (saw_sync_for (f, "retry"));
}

static gboolean
archive_has_first (DaemonFixture *f)
{
  g_autoptr (GHashTable) local = read_local (&f->base, "Archive");
  return g_hash_table_size (local) == 1;
}

/* Another client moves a message from INBOX to Archive while the daemon watches both: the
 * push names both folders, one run syncs them, and the file is renamed into Archive rather
 * than downloaded (no sync counts a message added). */
static void
test_push_server_move (DaemonFixture *f, gconstpointer data)
{
  guint from = 0;
  guint32 moved = 0, added = 0;

  td_test_dovecot_doveadm (f->base.dovecot, "mailbox", "create", "-u", TD_TEST_USER, "Archive",
                           NULL);
  seed (&f->base, "INBOX", 3, 100);
  td_test_daemon_start (f, "imap", "watch = *\npoll-interval = 3600\n");
  expect_startup_sync (f);
  g_assert_true (td_test_wait_for (f, is_watching, 20000));
  quiet_since = g_get_monotonic_time ();
  g_assert_true (td_test_wait_for (f, quiet_a_while, 30000));
  td_test_clear_signals (f);
  td_test_dovecot_doveadm (f->base.dovecot, "move", "-u", TD_TEST_USER, "Archive", "mailbox",
                           "INBOX", "uid", "2", NULL);
  g_assert_true (td_test_wait_for (f, archive_has_first, 20000));
  quiet_since = g_get_monotonic_time ();
  g_assert_true (td_test_wait_for (f, quiet_a_while, 30000));
  GVariant *finished;
  while ((finished = td_test_wait_signal (f, "SyncFinished", &from, 500)) != NULL)
    {
      g_autoptr (GVariant) summary = g_variant_get_child_value (finished, 1);
      guint32 n = 0;
      if (g_variant_lookup (summary, "moved", "u", &n))
        moved += n;
      if (g_variant_lookup (summary, "added", "u", &n))
        added += n;
    }
  g_assert_cmpuint (moved, ==, 1);
  g_assert_cmpuint (added, ==, 0);
  g_autoptr (GHashTable) inbox = read_local (&f->base, "INBOX");
  g_assert_cmpuint (g_hash_table_size (inbox), ==, 2);
}

/* The service file `meson install` puts in dbus-1/services, started by a bus of its own, so
 * that only its Exec line changes: this build's binary and the test's configuration. */
static char *
write_service_file (DaemonFixture *f, const char *dir)
{
  g_autofree char *shipped = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_get_contents (g_getenv ("TIDINGS_DBUS_SERVICE_FILE"), &shipped, NULL,
                                      &error));
  g_auto (GStrv) lines = g_strsplit (shipped, "\n", -1);
  g_autoptr (GString) out = g_string_new (NULL);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "Exec="))
      g_string_append_printf (out, "Exec=%s --config %s daemon\n", g_getenv ("TIDINGS_BIN"),
                              f->cfg);
    else
      g_string_append_printf (out, "%s\n", lines[i]);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_autofree char *path = g_build_filename (dir, "org.tidings.Tidings1.service", NULL);
  g_assert_true (g_file_set_contents (path, out->str, -1, &error));
  return g_strdup (path);
}

static GVariant *
bus_call (GDBusConnection *bus, const char *dest, const char *path, const char *iface,
          const char *method, GVariant *args, GError **error)
{
  return g_dbus_connection_call_sync (bus, dest, path, iface, method, args, NULL,
                                      G_DBUS_CALL_FLAGS_NONE, 30000, NULL, error);
}

/* D-Bus activation through the installed service file: the first call to the name starts
 * the daemon, which answers it. */
static void
test_activation (DaemonFixture *f, gconstpointer data)
{
  g_autofree char *services = g_build_filename (f->base.home, "services", NULL);
  g_autofree char *socket = g_build_filename (f->base.home, "bus", NULL);
  g_autofree char *address = g_strconcat ("unix:path=", socket, NULL);
  g_autofree char *conf_path = g_build_filename (f->base.home, "bus.conf", NULL);
  g_autoptr (GError) error = NULL;

  f->cfg = account_config (&f->base, "imap", "password = " TD_TEST_PASSWORD "\nwatch =\n");
  g_autofree char *service = write_service_file (f, services);
  g_autofree char *conf = g_strdup_printf (
    "<busconfig><type>session</type><listen>%s</listen><auth>EXTERNAL</auth>"
    "<servicedir>%s</servicedir><policy context=\"default\">"
    "<allow send_destination=\"*\" eavesdrop=\"true\"/><allow eavesdrop=\"true\"/>"
    "<allow own=\"*\"/></policy></busconfig>", address, services);
  g_assert_true (g_file_set_contents (conf_path, conf, -1, &error));
  /* What the bus starts must find the bus as its session bus. */
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", address, TRUE);
  g_subprocess_launcher_set_child_setup (launcher, td_test_die_with_parent, NULL, NULL);
  g_autoptr (GSubprocess) bus_daemon = g_subprocess_launcher_spawn (
    launcher, &error, "dbus-daemon", "--nofork", "--config-file", conf_path, NULL);
  g_assert_no_error (error);
  g_autoptr (GDBusConnection) bus = NULL;
  for (guint i = 0; i < 100 && bus == NULL; i++, g_usleep (50 * 1000))
    bus = g_dbus_connection_new_for_address_sync (
      address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                 | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL, NULL);
  g_assert_nonnull (bus);

  g_autoptr (GVariant) accounts = bus_call (bus, TD_DBUS_NAME_FOR_TESTS, "/org/tidings/Tidings1",
                                            "org.freedesktop.DBus.Properties", "Get",
                                            g_variant_new ("(ss)", "org.tidings.Tidings1.Engine",
                                                           "Accounts"), &error);
  g_assert_no_error (error);
  g_autofree char *shown = g_variant_print (accounts, FALSE);
  g_assert_nonnull (strstr (shown, TD_TEST_ACCOUNT_PATH));

  /* It is a daemon like any other: SIGTERM ends it. */
  g_autoptr (GVariant) pid = bus_call (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                                       g_variant_new ("(s)", TD_DBUS_NAME_FOR_TESTS), &error);
  g_assert_no_error (error);
  guint32 daemon_pid = 0;
  g_variant_get (pid, "(u)", &daemon_pid);
  g_assert_cmpint (kill ((pid_t) daemon_pid, SIGTERM), ==, 0);
  gboolean gone = FALSE;
  for (guint i = 0; i < 300 && !gone; i++, g_usleep (100 * 1000))
    gone = kill ((pid_t) daemon_pid, 0) != 0;
  g_assert_true (gone);
  g_subprocess_force_exit (bus_daemon);
}

/* Dovecot restarts under the daemon, with mail delivered while it was down: the daemon
 * notices, retries with backoff, catches up, and watches again. */
static void
test_server_restart (DaemonFixture *f, gconstpointer data)
{
  td_test_daemon_start (f, "imap", NULL);
  expect_startup_sync (f);
  g_assert_true (td_test_wait_for (f, is_watching, 20000));
  td_test_dovecot_restart (f->base.dovecot, 1500);
  seed (&f->base, "INBOX", 2, 100);
  g_assert_true (td_test_wait_for (f, inbox_has_new_file, 60000));
  guint from = 0;
  g_assert_nonnull (td_test_wait_signal (f, "NewMail", &from, SIGNAL_WAIT_MS));
  g_assert_true (td_test_wait_for (f, is_watching, 30000));
  /* Pushed again: one more delivery arrives through the new watch. */
  td_test_clear_signals (f);
  from = 0;
  seed (&f->base, "INBOX", 1, 100);
  GVariant *started = td_test_wait_signal (f, "SyncStarted", &from, SIGNAL_WAIT_MS);
  g_assert_nonnull (started);
  const char *path = NULL, *reason = NULL;
  g_variant_get (started, "(&o&s)", &path, &reason);
  g_assert_cmpstr (reason, ==, "server");
  g_assert_nonnull (td_test_wait_signal (f, "NewMail", &from, SIGNAL_WAIT_MS));
  assert_folder_matches (&f->base, "INBOX");
}

/* `tidings watch --json`: every line is a JSON object with its time and event; a requested
 * sync shows as sync-started, sync-finished with its counts and new-mail with the
 * messages' subjects. */
static void
test_watch_json (DaemonFixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  guint from = 0;

  td_test_daemon_start (f, "imap", "watch =\n");
  expect_startup_sync (f);
  g_autoptr (GSubprocess) watch = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                                                    g_getenv ("TIDINGS_BIN"), "--config", f->cfg,
                                                    "watch", "--json", NULL);
  g_assert_no_error (error);
  /* The watcher says the daemon runs once it is listening. */
  g_autoptr (GDataInputStream) lines = g_data_input_stream_new (
    g_subprocess_get_stdout_pipe (watch));
  g_autofree char *first = g_data_input_stream_read_line_utf8 (lines, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (first, "\"event\":\"daemon\""));
  td_test_clear_signals (f);
  seed (&f->base, "INBOX", 2, 200);
  g_autoptr (GVariant) reply = td_test_call (f, TD_TEST_ACCOUNT_PATH,
                                             "org.tidings.Tidings1.Account", "Sync", NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (td_test_wait_signal (f, "NewMail", &from, SIGNAL_WAIT_MS));
  g_usleep (G_USEC_PER_SEC); /* the watcher gets the same signals */
  g_subprocess_send_signal (watch, SIGTERM);
  /* The rest of what it printed, up to its exit. */
  g_autoptr (GString) rest = g_string_new (NULL);
  for (;;)
    {
      g_autofree char *line = g_data_input_stream_read_line_utf8 (lines, NULL, NULL, &error);
      g_assert_no_error (error);
      if (line == NULL)
        break;
      g_string_append_printf (rest, "%s\n", line);
    }
  g_assert_true (g_subprocess_wait (watch, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("watch --json printed:\n%s", rest->str);
  g_auto (GStrv) events = g_strsplit (rest->str, "\n", -1);
  gboolean started = FALSE, finished = FALSE, mail = FALSE;
  for (guint i = 0; events[i] != NULL && *events[i] != '\0'; i++)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_assert_true (json_parser_load_from_data (parser, events[i], -1, &error));
      g_assert_no_error (error);
      JsonObject *o = json_node_get_object (json_parser_get_root (parser));
      g_assert_nonnull (o);
      g_assert_true (json_object_has_member (o, "time"));
      const char *event = json_object_get_string_member (o, "event");
      if (g_strcmp0 (event, "daemon") != 0)
        g_assert_cmpstr (json_object_get_string_member (o, "account"), ==, "t");
      if (g_strcmp0 (event, "sync-started") == 0)
        started = g_strcmp0 (json_object_get_string_member (o, "reason"), "request") == 0;
      else if (g_strcmp0 (event, "sync-finished") == 0)
        finished = json_object_get_int_member (o, "added") == 2
                   && !json_object_has_member (o, "error");
      else if (g_strcmp0 (event, "new-mail") == 0)
        {
          JsonArray *messages = json_object_get_array_member (o, "messages");
          mail = g_strcmp0 (json_object_get_string_member (o, "folder"), "INBOX") == 0
                 && json_object_get_int_member (o, "count") == 2
                 && json_array_get_length (messages) == 2
                 && g_str_has_prefix (json_object_get_string_member (
                                        json_array_get_object_element (messages, 0), "subject"),
                                      "Grüße Nummer");
        }
    }
  g_assert_true (started);
  g_assert_true (finished);
  g_assert_true (mail);
}

/* Hooks: post-sync-command once per quiet period */

static char *hook_log; /* the file the test's post-sync-command writes to */

static guint
hook_runs (void)
{
  g_autofree char *text = NULL;
  guint n = 0;

  if (!g_file_get_contents (hook_log, &text, NULL, NULL))
    return 0;
  for (const char *p = strstr (text, "run NEW="); p != NULL; p = strstr (p + 1, "run NEW="))
    n++;
  return n;
}

static guint runs_wanted;

/* Starts the daemon with @extra keys and a post-sync-command that logs each run to
 * hook_log and says hello. */
static void
start_with_hook (DaemonFixture *f, const char *extra)
{
  hook_log = g_build_filename (f->base.home, "hooks.log", NULL);
  g_autofree char *keys = g_strdup_printf ("%spost-sync-command = sh -c 'echo \"run "
                                           "NEW=$TIDINGS_NEW\" >> %s; echo hook says hi'\n",
                                           extra, hook_log);
  td_test_daemon_start (f, "imap", keys);
}

static gboolean
hook_ran (DaemonFixture *f)
{
  return hook_runs () >= runs_wanted;
}

/* Five messages delivered a moment apart set off several syncs; post-sync-command runs once
 * they are quiet, told of all five, and its output is in the daemon's log. */
static void
test_hooks_quiet_period (DaemonFixture *f, gconstpointer data)
{
  start_with_hook (f, "");
  expect_watching (f);
  /* Start-up's syncs get a run of their own once quiet; then nothing more happens. */
  runs_wanted = 1;
  g_assert_true (td_test_wait_for (f, hook_ran, SIGNAL_WAIT_MS));
  g_usleep (3 * G_USEC_PER_SEC);
  guint before = hook_runs ();
  td_test_clear_signals (f);
  for (guint i = 0; i < 5; i++)
    {
      seed (&f->base, "INBOX", 1, 100);
      g_usleep (700 * 1000);
    }
  runs_wanted = before + 1;
  g_assert_true (td_test_wait_for (f, hook_ran, SIGNAL_WAIT_MS));
  /* Well past the quiet period: no second run. */
  g_usleep (4 * G_USEC_PER_SEC);
  guint syncs = 0;
  for (guint i = 0; i < f->signal_names->len; i++)
    syncs += g_str_equal (g_ptr_array_index (f->signal_names, i), "SyncFinished");
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (hook_log, &text, NULL, NULL));
  g_test_message ("%u syncs after the deliveries; the hook's log:\n%s", syncs, text);
  /* Several syncs, or the test would not show them coalesced. */
  g_assert_cmpuint (syncs, >=, 2);
  g_assert_cmpuint (hook_runs (), ==, before + 1);
  g_assert_true (g_str_has_suffix (text, "run NEW=5\n"));
  assert_folder_matches (&f->base, "INBOX");
  g_autofree char *err = NULL;
  g_assert_true (g_file_get_contents (f->err_path, &err, NULL, NULL));
  g_assert_nonnull (strstr (err, "account t: post-sync-command: hook says hi"));
  g_clear_pointer (&hook_log, g_free);
}

/* A `tidings sync` the daemon does for the command line runs the hooks once, in the daemon
 * (told of what it downloaded), and never a second time in the command's own process. */
static void
test_hooks_handed_to_daemon (DaemonFixture *f, gconstpointer data)
{
  start_with_hook (f, "watch =\n");
  expect_startup_sync (f);
  runs_wanted = 1;
  g_assert_true (td_test_wait_for (f, hook_ran, SIGNAL_WAIT_MS));
  guint before = hook_runs ();
  seed (&f->base, "INBOX", 2, 100);
  TdTestRun r = td_test_tidings (f->cfg, "sync", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "by the running daemon"));
  g_assert_null (strstr (r.err, "hook says hi"));
  td_test_run_clear (&r);
  runs_wanted = before + 1;
  g_assert_true (td_test_wait_for (f, hook_ran, SIGNAL_WAIT_MS));
  g_usleep (3 * G_USEC_PER_SEC); /* past the quiet period: no other run */
  g_assert_cmpuint (hook_runs (), ==, before + 1);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (hook_log, &text, NULL, NULL));
  g_assert_true (g_str_has_suffix (text, "run NEW=2\n"));
  g_clear_pointer (&hook_log, g_free);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, fn) \
  g_test_add ("/integration/daemon/" path, DaemonFixture, NULL, td_daemon_fixture_setup, fn, \
              td_daemon_fixture_teardown)
  ADD ("objects", test_objects);
  ADD ("gdbus-sync", test_gdbus_sync);
  ADD ("notify-off", test_notify_off);
  ADD ("backfill-no-notice", test_backfill_no_notice);
  ADD ("notice-click", test_notice_click);
  ADD ("auth-error", test_auth_error);
  ADD ("bad-arguments", test_bad_arguments);
  ADD ("pause-resume", test_pause_resume);
  ADD ("status", test_status);
  ADD ("log-and-keyring-warning", test_keyring_warning_once);
  ADD ("sigterm-mid-sync", test_sigterm_mid_sync);
  ADD ("server-restart", test_server_restart);
  ADD ("local-change", test_local_change);
  ADD ("local-change-inbox-apart", test_local_change_inbox_apart);
  ADD ("local-move", test_local_move);
  ADD ("pause-stops-running-sync", test_pause_stops_running_sync);
  ADD ("local-policy", test_local_policy);
  ADD ("cli-sync", test_cli_sync);
  ADD ("cli-sync-during-sync", test_cli_sync_during_sync);
  ADD ("activation", test_activation);
  ADD ("hooks/quiet-period", test_hooks_quiet_period);
  ADD ("hooks/handed-to-daemon", test_hooks_handed_to_daemon);
  ADD ("watch-json", test_watch_json);
#undef ADD
  g_test_add ("/integration/daemon/push/notify", DaemonFixture, NULL, td_daemon_fixture_setup,
              test_push, td_daemon_fixture_teardown);
  g_test_add ("/integration/daemon/push/idle", DaemonFixture, CAPS_IDLE,
              td_daemon_fixture_setup, test_push, td_daemon_fixture_teardown);
  /* The same server without IDLE: the poll interval (10 seconds here) brings the mail. */
  g_test_add ("/integration/daemon/push/poll-without-idle", DaemonFixture, CAPS_PLAIN,
              td_daemon_fixture_setup, test_push, td_daemon_fixture_teardown);
  g_test_add ("/integration/daemon/push/server-move", DaemonFixture, NULL,
              td_daemon_fixture_setup, test_push_server_move, td_daemon_fixture_teardown);
  g_test_add ("/integration/daemon/push/folders-notify", DaemonFixture, NULL,
              td_daemon_fixture_setup, test_push_folders, td_daemon_fixture_teardown);
  g_test_add ("/integration/daemon/push/folders-idle", DaemonFixture, CAPS_IDLE,
              td_daemon_fixture_setup, test_push_folders, td_daemon_fixture_teardown);
  /* Without its mailbox list index Dovecot offers NOTIFY but refuses NOTIFY SET: the
   * daemon falls back to IDLE, one connection per folder. */
  g_test_add ("/integration/daemon/push/folders-notify-refused", DaemonFixture,
              "mailbox_list_index = no", td_daemon_fixture_setup, test_push_folders,
              td_daemon_fixture_teardown);
  return g_test_run ();
}
