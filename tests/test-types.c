/* test-types.c: UID sets, flags and the small shared helpers. */
#include <string.h>

#include "engine/common/td-types.h"

static void
test_uid_set_parse (void)
{
  g_autoptr (GArray) set = g_array_new (FALSE, FALSE, sizeof (TdUidRange));
  g_assert_true (td_uid_set_parse ("41,43:116,7,200:150", set));
  td_uid_set_normalize (set);
  g_autofree char *text = td_uid_set_to_string (set);
  g_assert_cmpstr (text, ==, "7,41,43:116,150:200");
  g_assert_true (td_uid_set_contains (set, 7));
  g_assert_true (td_uid_set_contains (set, 100));
  g_assert_false (td_uid_set_contains (set, 42));
  g_assert_false (td_uid_set_contains (set, 117));
  g_assert_false (td_uid_set_contains (set, 1));
}

/* A hostile range costs nothing to hold: it stays one range. */
static void
test_uid_set_huge (void)
{
  g_autoptr (GArray) set = g_array_new (FALSE, FALSE, sizeof (TdUidRange));
  g_assert_true (td_uid_set_parse ("1:4294967295,5:*", set));
  td_uid_set_normalize (set);
  g_assert_cmpuint (set->len, ==, 1);
  g_assert_true (td_uid_set_contains (set, G_MAXUINT32));
}

static void
test_uid_set_malformed (void)
{
  const char *bad[] = { "", "0", "1,", ",1", "1::2", "a", "4294967296", "1:2:3", "1 2", "-1" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GArray) set = g_array_new (FALSE, FALSE, sizeof (TdUidRange));
      if (td_uid_set_parse (bad[i], set))
        g_error ("“%s” was accepted", bad[i]);
    }
}

static void
test_maildir_flags (void)
{
  g_autofree char *all = td_flags_to_maildir (TD_FLAGS_ALL);
  g_assert_cmpstr (all, ==, "DFPRST");
  g_assert_cmpuint (td_flags_from_maildir ("SRa"), ==, TD_FLAG_SEEN | TD_FLAG_ANSWERED);
}

static void
test_message_id (void)
{
  const char *h = "Subject: x\r\nmessage-id:\r\n  <a@b>\r\nMessage-ID: <second@b>\r\n\r\n";
  g_autofree char *id = td_message_id_parse (h, strlen (h));
  g_assert_cmpstr (id, ==, "<a@b>");
  const char *body_only = "Subject: x\n\nMessage-ID: <in-body@b>\n";
  g_autofree char *none = td_message_id_parse (body_only, strlen (body_only));
  g_assert_null (none);
}

static void
test_printable (void)
{
  g_autofree char *a = td_printable ("Entwürfe");
  g_autofree char *b = td_printable ("a\nb\033[2J\xff");
  g_assert_cmpstr (a, ==, "Entwürfe");
  g_assert_cmpstr (b, ==, "a\\x0ab\\x1b[2J\\xff");
}

static char *
hash_of (const char *message, gsize piece)
{
  g_autoptr (TdHeaderHash) h = td_header_hash_new ();
  gsize len = strlen (message);
  for (gsize at = 0; at < len; at += piece)
    td_header_hash_update (h, (const guint8 *) message + at, MIN (piece, len - at));
  return td_header_hash_finish (h);
}

/* The header hash recognises a message whatever its line ends and however it is cut into
 * reads, ignores the body, and tells different headers apart. */
static void
test_header_hash (void)
{
  const char *crlf = "From: a@example.org\r\nSubject: x\r\n\r\nbody one\r\n";
  const char *lf = "From: a@example.org\nSubject: x\n\nanother body\n";
  const char *other = "From: a@example.org\nSubject: y\n\nbody one\n";
  g_autofree char *a = hash_of (crlf, 1000);
  g_autofree char *b = hash_of (crlf, 1);
  g_autofree char *c = hash_of (lf, 3);
  g_autofree char *d = hash_of (other, 1000);

  g_assert_true (g_str_has_prefix (a, "sha256:"));
  g_assert_cmpstr (a, ==, b);
  g_assert_cmpstr (a, ==, c);
  g_assert_cmpstr (a, !=, d);

  /* A lone CR inside a header line is part of it. */
  g_autofree char *e = hash_of ("Subject: x\ry\n\n", 1);
  g_autofree char *f = hash_of ("Subject: xy\n\n", 1);
  g_assert_cmpstr (e, !=, f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/types/uid-set/parse", test_uid_set_parse);
  g_test_add_func ("/types/uid-set/huge", test_uid_set_huge);
  g_test_add_func ("/types/uid-set/malformed", test_uid_set_malformed);
  g_test_add_func ("/types/maildir-flags", test_maildir_flags);
  g_test_add_func ("/types/message-id", test_message_id);
  g_test_add_func ("/types/header-hash", test_header_hash);
  g_test_add_func ("/types/printable", test_printable);
  return g_test_run ();
}
