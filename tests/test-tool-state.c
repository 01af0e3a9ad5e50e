/* test-tool-state.c: reading mbsync's and offlineimap's UIDs (td-tool-state.h). */
#include "engine/sync/td-tool-state.h"

#include <glib/gstdio.h>
#include <string.h>

#include "engine/sync/td-local-folder.h"

/* A file name's ",U=": mbsync's Maildir UID, or offlineimap's server UID (its names carry
 * FMD5 too); a name without one, or with a number that is no UID, gives none. */
static void
test_name_uid (void)
{
  static const struct
  {
    const char *base;
    guint32 uid;
    TdToolKind kind;
  } cases[] = {
    { "1700000000.12345_1.host,U=17", 17, TD_TOOL_MBSYNC },
    { "1700000000.12345_1.host,U=17:2,S", 17, TD_TOOL_MBSYNC },
    { "1700000000_0.123.host,U=4,FMD5=7e33429f656f1e6e9d79b29c3f82c57e", 4,
      TD_TOOL_OFFLINEIMAP },
    { "1700000000.M1P2.host", 0, TD_TOOL_NONE },
    { "x,U=", 0, TD_TOOL_NONE },
    { "x,U=0", 0, TD_TOOL_NONE },
    { "x,U=12a", 0, TD_TOOL_NONE },
    { "x,U=4294967295", 4294967295u, TD_TOOL_MBSYNC },
    { "x,U=4294967296", 0, TD_TOOL_NONE },
    { "x,U=99999999999999999999", 0, TD_TOOL_NONE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      TdToolKind kind = TD_TOOL_MBSYNC;
      g_assert_cmpuint (td_tool_state_name_uid (cases[i].base, &kind), ==, cases[i].uid);
      g_assert_cmpint (kind, ==, cases[i].kind);
    }
}

static guint32
far_of (const TdMbsyncState *s, guint32 near)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (s->near_to_far, GUINT_TO_POINTER (near)));
}

/* mbsync 1.4's state: the header, then pairs; placeholders, skipped and expired messages
 * pair nothing, nor does a Maildir UID named twice. Pre-1.4 header names read the same. */
static void
test_mbsync_state (void)
{
  static const char text[] = "FarUidValidity 1700000001\nNearUidValidity 1700000002\n"
                             "MaxPulledUid 9\nMaxPushedUid 3\n\n"
                             "1 1 S\n2 2 \n3 4 FS\n5 0 \n0 6 \n7 7 <\n8 8 ~S\n9 10\n11 10 S\n"
                             "12 12 >S\n13 13 ^\n";
  TdMbsyncState s;

  g_assert_true (td_mbsync_state_parse (text, strlen (text), &s));
  g_assert_cmpuint (s.far_validity, ==, 1700000001);
  g_assert_cmpuint (s.near_validity, ==, 1700000002);
  g_assert_cmpuint (far_of (&s, 1), ==, 1);
  g_assert_cmpuint (far_of (&s, 2), ==, 2);
  g_assert_cmpuint (far_of (&s, 4), ==, 3);
  g_assert_cmpuint (far_of (&s, 6), ==, 0);
  g_assert_cmpuint (far_of (&s, 7), ==, 0);
  g_assert_cmpuint (far_of (&s, 8), ==, 0);
  g_assert_cmpuint (far_of (&s, 10), ==, 0); /* named twice */
  g_assert_cmpuint (far_of (&s, 12), ==, 0);
  g_assert_cmpuint (far_of (&s, 13), ==, 0);
  td_mbsync_state_clear (&s);

  static const char legacy[] = "MasterUidValidity 5\nSlaveUidValidity 6\nMaxPulledUid 1\n"
                               "MaxPushedUid 0\nMaxExpiredMasterUid 0\n\n1 1 S\n";
  g_assert_true (td_mbsync_state_parse (legacy, strlen (legacy), &s));
  g_assert_cmpuint (s.far_validity, ==, 5);
  g_assert_cmpuint (far_of (&s, 1), ==, 1);
  td_mbsync_state_clear (&s);
}

/* A state that is cut short, malformed or too big is refused whole, with nothing left to
 * free; so is mbsync's .uidvalidity that does not read as a number on a line. */
static void
test_mbsync_state_refused (void)
{
  const char *bad[] = {
    "",                                          /* no header at all */
    "FarUidValidity 1\nNearUidValidity 2\n",     /* header never ends */
    "FarUidValidity 1\nNearUidValidity 2\n\n1 1 S", /* last line cut short */
    "NearUidValidity 2\n\n1 1 S\n",              /* no server UIDVALIDITY */
    "FarUidValidity x\n\n",                      /* not a number */
    "FarUidValidity 1\n\n1 1 s\n",               /* not a flag letter */
    "FarUidValidity 1\n\n1\n",                   /* half an entry */
    "FarUidValidity 1\n\n1 99999999999 S\n",     /* not a UID */
    "FarUidValidity 1:2:3\n\n",                  /* pre-1.3 one-line header */
  };
  TdMbsyncState s;

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (td_mbsync_state_parse (bad[i], strlen (bad[i]), &s));
      g_assert_null (s.near_to_far);
    }
  GString *long_line = g_string_new ("FarUidValidity 1\n\n1 1 ");
  for (guint i = 0; i < TD_TOOL_STATE_MAX_LINE; i++)
    g_string_append_c (long_line, 'S');
  g_string_append_c (long_line, '\n');
  g_assert_false (td_mbsync_state_parse (long_line->str, long_line->len, &s));
  g_string_free (long_line, TRUE);

  g_assert_cmpuint (td_mbsync_uidvalidity_parse ("1700000002\n7\n", 13), ==, 1700000002);
  g_assert_cmpuint (td_mbsync_uidvalidity_parse ("1700000002", 10), ==, 0);
  g_assert_cmpuint (td_mbsync_uidvalidity_parse ("x\n", 2), ==, 0);
}

/* Where mbsync keeps a folder's state when not in the folder: its name with '/' as '!', in
 * modified UTF-7 where mbsync writes names so, wherever the pattern says. */
static void
test_mbsync_state_file (void)
{
  g_autofree char *a = td_mbsync_state_file ("/h/.mbsync/:remote:{}_:local:{}", "Archive/2024",
                                             '/', FALSE);
  g_autofree char *b = td_mbsync_state_file ("/h/.mbsync/:remote:{}_:local:{}", "Zz/Tëst",
                                             '/', TRUE);
  g_autofree char *c = td_mbsync_state_file ("/h/state/{}", "Lists.dev", '.', FALSE);
  g_autofree char *d = td_mbsync_state_file ("/h/state/{}", "INBOX", '\0', FALSE);

  g_assert_cmpstr (a, ==, "/h/.mbsync/:remote:Archive!2024_:local:Archive!2024");
  g_assert_cmpstr (b, ==, "/h/.mbsync/:remote:Zz!T&AOs-st_:local:Zz!T&AOs-st");
  g_assert_cmpstr (c, ==, "/h/state/Lists!dev");
  g_assert_cmpstr (d, ==, "/h/state/INBOX");
}

/* A Maildir folder mbsync filled: files named with its own UIDs (",U="), its .uidvalidity and
 * .mbsyncstate; and the server's messages (UIDVALIDITY 7). Two files are the same message
 * (same Message-ID, same size), so only the state pairs them. */
typedef struct
{
  char *base;
  TdStateDb *db;
  TdMaildir *maildir;
  GArray *server;
} Taken;

static const char message[] = "Message-ID: <same@x>\nSubject: twice\n\nbody\n";

static void
taken_setup (Taken *t, const char *state, gboolean journal)
{
  g_autoptr (GError) error = NULL;
  char *inbox[] = { "INBOX", NULL };

  t->base = g_dir_make_tmp ("tidings-tool-state-XXXXXX", NULL);
  g_autofree char *db_path = g_build_filename (t->base, "state.db", NULL);
  g_autofree char *root = g_build_filename (t->base, "Mail", NULL);
  t->db = td_state_db_open (db_path, &error);
  t->maildir = td_maildir_open (root, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (TdMaildirFolder) f = td_maildir_open_folder (t->maildir, inbox, &error);
  g_assert_no_error (error);
  for (guint i = 1; i <= 2; i++)
    {
      g_autofree char *name = g_strdup_printf ("1700000000.%u_1.host,U=%u:2,S", i, i + 10);
      g_autofree char *path = g_build_filename (td_maildir_folder_get_path (f), "cur", name, NULL);
      g_assert_true (g_file_set_contents (path, message, -1, NULL));
    }
  g_autofree char *validity = g_build_filename (td_maildir_folder_get_path (f), ".uidvalidity",
                                                NULL);
  g_autofree char *sync_state = g_build_filename (td_maildir_folder_get_path (f),
                                                  ".mbsyncstate", NULL);
  g_assert_true (g_file_set_contents (validity, "99\n13\n", -1, NULL));
  g_assert_true (g_file_set_contents (sync_state, state, -1, NULL));
  if (journal)
    {
      g_autofree char *path = g_strconcat (sync_state, ".journal", NULL);
      g_assert_true (g_file_set_contents (path, "5\n+ 6 13\n", -1, NULL));
    }
  /* The server holds the message twice (UIDs 4 and 5) and one more (6). */
  t->server = g_array_new (FALSE, TRUE, sizeof (TdMessageInfo));
  for (guint32 uid = 4; uid <= 6; uid++)
    {
      TdMessageInfo m = { .uid = uid, .size = strlen (message) + 4 /* CRLF */, .internal_date = -1,
                          .message_id = g_strdup (uid < 6 ? "<same@x>" : "<other@x>") };
      g_array_append_val (t->server, m);
    }
}

/* Adopts the folder: how many files were recognised, and what is left to download. */
static char *
taken_adopt (Taken *t, guint *matched)
{
  g_autoptr (GError) error = NULL;
  char *inbox[] = { "INBOX", NULL };
  g_autoptr (TdLocalFolder) local = td_local_folder_prepare (t->db, t->maildir, "a", "INBOX",
                                                             inbox, FALSE, FALSE, &error);
  g_autoptr (GArray) to_fetch = g_array_new (FALSE, FALSE, sizeof (TdUidRange));

  g_assert_no_error (error);
  g_assert_true (td_local_folder_get_side (local)->untracked);
  g_assert_true (td_local_folder_adopt (local, t->server, 7, NULL, to_fetch, matched, &error));
  g_assert_no_error (error);
  return td_uid_set_to_string (to_fetch);
}

static void
taken_teardown (Taken *t)
{
  for (guint i = 0; i < t->server->len; i++)
    td_message_info_clear (&g_array_index (t->server, TdMessageInfo, i));
  g_array_unref (t->server);
  td_maildir_free (t->maildir);
  td_state_db_close (t->db);
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", t->base);
  g_assert_cmpint (system (cmd), ==, 0);
  g_free (t->base);
}

/* mbsync's state for this server and this Maildir pairs both copies, so nothing of them
 * comes again; a state of another server UIDVALIDITY or another Maildir, or with the journal
 * of an unfinished run beside it, is not trusted (Message-ID and size cannot tell the copies
 * apart, so both come again); a pair whose server message is not the file's (another
 * Message-ID) is not taken either. */
static void
test_mbsync_adopt (void)
{
  static const struct
  {
    const char *state;
    gboolean journal;
    guint matched;
    const char *to_fetch;
  } cases[] = {
    { "FarUidValidity 7\nNearUidValidity 99\n\n4 11 S\n5 12 S\n", FALSE, 2, "6" },
    { "FarUidValidity 8\nNearUidValidity 99\n\n4 11 S\n5 12 S\n", FALSE, 0, "4:6" },
    { "FarUidValidity 7\nNearUidValidity 98\n\n4 11 S\n5 12 S\n", FALSE, 0, "4:6" },
    { "FarUidValidity 7\nNearUidValidity 99\n\n4 11 S\n6 12 S\n", FALSE, 1, "5:6" },
    { "FarUidValidity 7\nNearUidValidity 99\n\n4 11 S\n5 12 S\n", TRUE, 0, "4:6" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Taken t;
      guint matched = 0;
      taken_setup (&t, cases[i].state, cases[i].journal);
      g_autofree char *left = taken_adopt (&t, &matched);
      g_assert_cmpuint (matched, ==, cases[i].matched);
      g_assert_cmpstr (left, ==, cases[i].to_fetch);
      taken_teardown (&t);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/sync/tool-state/name-uid", test_name_uid);
  g_test_add_func ("/sync/tool-state/mbsync", test_mbsync_state);
  g_test_add_func ("/sync/tool-state/mbsync-refused", test_mbsync_state_refused);
  g_test_add_func ("/sync/tool-state/mbsync-adopt", test_mbsync_adopt);
  g_test_add_func ("/sync/tool-state/mbsync-state-file", test_mbsync_state_file);
  return g_test_run ();
}
