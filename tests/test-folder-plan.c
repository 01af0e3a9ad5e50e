/* test-folder-plan.c: the folder and account planners without a server or a disk: how flags merge, what
 * the deletion guards allow, what comes down, what goes up, and when a folder is skipped.
 * Each case builds a folder's local side by hand, as a scan and the state DB would report it.
 */
#include "engine/sync/td-account-plan.h"
#include "engine/sync/td-folder-plan.h"
#include "engine/sync/td-move-plan.h"

#include "engine/common/td-error.h"
#include "storage/td-maildir.h"

static void
side_free (TdLocalSide *side)
{
  g_free (side->account);
  g_free (side->name);
  g_array_unref (side->messages);
  g_hash_table_unref (side->disk);
  g_array_unref (side->local_flags);
  g_array_unref (side->deleted);
  g_ptr_array_unref (side->new_files);
  g_array_unref (side->uploads);
  if (side->left != NULL)
    g_array_unref (side->left);
  g_free (side);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdLocalSide, side_free)

/* A folder of @n messages, UIDs 1..n, each with a file whose flags are the row's (@flags). */
static TdLocalSide *
folder_new (guint n, TdFlags flags)
{
  TdLocalSide *local = g_new0 (TdLocalSide, 1);

  local->account = g_strdup ("acct");
  local->name = g_strdup ("INBOX");
  local->messages = g_array_new (FALSE, TRUE, sizeof (TdStateMessage));
  g_array_set_clear_func (local->messages, (GDestroyNotify) td_state_message_clear);
  local->disk = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  local->local_flags = g_array_new (FALSE, FALSE, sizeof (TdLocalFlags));
  local->deleted = g_array_new (FALSE, FALSE, sizeof (guint32));
  local->new_files = g_ptr_array_new_with_free_func (g_free);
  local->uploads = g_array_new (FALSE, TRUE, sizeof (TdStateUpload));
  g_array_set_clear_func (local->uploads, (GDestroyNotify) td_state_upload_clear);
  for (guint32 uid = 1; uid <= n; uid++)
    {
      TdStateMessage m = { uid, g_strdup_printf ("m%u", uid), flags, 100, NULL, FALSE };
      TdMaildirEntry *e = g_new0 (TdMaildirEntry, 1);
      e->flags = flags;
      e->in_cur = TRUE;
      g_hash_table_insert (local->disk, g_strdup (m.base), e);
      g_array_append_val (local->messages, m);
    }
  return local;
}

/* The reader renamed message @uid's file to @flags. */
static void
reader_sets (TdLocalSide *local, guint32 uid, TdFlags flags)
{
  g_autofree char *base = g_strdup_printf ("m%u", uid);
  TdMaildirEntry *e = g_hash_table_lookup (local->disk, base);
  TdLocalFlags l = { uid, flags };

  e->flags = flags;
  g_array_append_val (local->local_flags, l);
}

/* The reader deleted message @uid's file. */
static void
reader_deletes (TdLocalSide *local, guint32 uid)
{
  g_autofree char *base = g_strdup_printf ("m%u", uid);
  g_hash_table_remove (local->disk, base);
  g_array_append_val (local->deleted, uid);
}

static void
server_sets (TdFolderChanges *changes, guint32 uid, TdFlags flags)
{
  TdMessageInfo info = { .uid = uid, .flags = flags };
  g_array_append_val (changes->changed, info);
}

static void
server_adds (TdFolderChanges *changes, guint32 uid, guint64 size)
{
  TdMessageInfo info = { .uid = uid, .size = size, .internal_date = -1 };
  g_array_append_val (changes->added, info);
}

static void
server_adds_dated (TdFolderChanges *changes, guint32 uid, guint64 size, gint64 internal_date)
{
  TdMessageInfo info = { .uid = uid, .size = size, .internal_date = internal_date };
  g_array_append_val (changes->added, info);
}

static void
server_vanishes (TdFolderChanges *changes, guint32 first, guint32 last)
{
  TdUidRange r = { first, last };
  g_array_append_val (changes->vanished, r);
}

static TdSyncPolicy
policy_for (TdDirection sync, TdDirection deletes)
{
  TdAccountConfig account = { 0 };
  TdSyncPolicy policy;

  account.sync = sync;
  account.deletes = deletes;
  td_sync_policy_init (&policy, &account,
                       TD_BACKEND_CAP_FOLDERS | TD_BACKEND_CAP_FLAGS | TD_BACKEND_CAP_STORE
                         | TD_BACKEND_CAP_APPEND | TD_BACKEND_CAP_EXPUNGE
                         | TD_BACKEND_CAP_CREATE_FOLDER);
  return policy;
}

/* A request for changes that covers every UID the tests use. */
static const TdSyncPoint everything = { .last_uid = 1000 };

static const TdFlagPlan *
flag_plan_of (const TdFolderPlan *plan, guint32 uid)
{
  for (guint i = 0; i < plan->flags->len; i++)
    if (g_array_index (plan->flags, TdFlagPlan, i).uid == uid)
      return &g_array_index (plan->flags, TdFlagPlan, i);
  return NULL;
}

/* Every combination of base, one side and the other, flag by flag: added on either side is
 * added, removed on either side is removed. */
static void
test_merge_rule (void)
{
  /* Every standard flag and a keyword at each end of the slots, in every combination. */
  const TdFlags bits[] = { TD_FLAG_SEEN, TD_FLAG_ANSWERED, TD_FLAG_FLAGGED, TD_FLAG_DELETED,
                           TD_FLAG_DRAFT, TD_FLAG_FORWARDED, TD_FLAG_KEYWORD (0),
                           TD_FLAG_KEYWORD (TD_KEYWORD_SLOTS - 1) };
  TdFlags sets[1 << G_N_ELEMENTS (bits)];

  for (guint p = 0; p < G_N_ELEMENTS (sets); p++)
    {
      sets[p] = 0;
      for (guint b = 0; b < G_N_ELEMENTS (bits); b++)
        if (p & (1u << b))
          sets[p] |= bits[b];
    }
  for (guint b = 0; b < G_N_ELEMENTS (sets); b++)
    for (guint o = 0; o < G_N_ELEMENTS (sets); o += 7)
      for (guint t = 0; t < G_N_ELEMENTS (sets); t += 5)
        {
          TdFlags base = sets[b], ours = sets[o], theirs = sets[t];
          TdFlags m = td_flags_merge (base, ours, theirs);
          for (guint k = 0; k < G_N_ELEMENTS (bits); k++)
            {
              TdFlags bit = bits[k];
              gboolean want = (base & bit) ? (ours & bit) && (theirs & bit)
                                           : (ours & bit) || (theirs & bit);
              g_assert_cmpint (!!(m & bit), ==, want);
            }
          g_assert_cmpuint (m, ==, td_flags_merge (base, theirs, ours));
        }
}

/* The server flags message 1; the reader marks it unread: both changes survive, the server is
 * told only what it lacks, and the file takes the server's flag. */
static void
test_flags_both_sides (void)
{
  g_autoptr (TdLocalSide) local = folder_new (3, TD_FLAG_SEEN);
  g_autoptr (TdFolderChanges) changes = td_folder_changes_new ();
  TdSyncPolicy policy = policy_for (TD_DIRECTION_BOTH, TD_DIRECTION_BOTH);

  server_sets (changes, 1, TD_FLAG_SEEN | TD_FLAG_FLAGGED);
  reader_sets (local, 1, 0);
  reader_sets (local, 2, TD_FLAG_SEEN | TD_FLAG_ANSWERED);
  g_autoptr (TdFolderPlan) plan = td_folder_plan_build (&policy, FALSE, local,
                                                        &everything, changes);

  g_assert_null (plan->stop);
  g_assert_cmpuint (plan->flags->len, ==, 2);
  g_assert_cmpuint (flag_plan_of (plan, 1)->merged, ==, TD_FLAG_FLAGGED);
  g_assert_cmpuint (flag_plan_of (plan, 2)->merged, ==, TD_FLAG_SEEN | TD_FLAG_ANSWERED);
  /* Message 1 loses \Seen there; message 2 gains \Answered there: two stores. */
  g_assert_cmpuint (plan->stores->len, ==, 2);
  g_assert_cmpuint (plan->flags_there, ==, 2);
  for (guint i = 0; i < plan->stores->len; i++)
    {
      const TdBackendFlagStore *s = g_ptr_array_index (plan->stores, i);
      g_assert_cmpuint (td_uid_set_count (s->uids), ==, 1);
      if (s->remove != 0)
        g_assert_cmpuint (s->remove, ==, TD_FLAG_SEEN);
      else
        g_assert_cmpuint (s->add, ==, TD_FLAG_ANSWERED);
    }
  /* Only message 1's file changes here (it gains \Flagged). */
  g_assert_cmpuint (plan->flags_here, ==, 1);
}

/* sync = pull: the reader's change stays in its file and is never sent. */
static void
test_flags_pull_only (void)
{
  g_autoptr (TdLocalSide) local = folder_new (2, 0);
  g_autoptr (TdFolderChanges) changes = td_folder_changes_new ();
  TdSyncPolicy policy = policy_for (TD_DIRECTION_PULL, TD_DIRECTION_BOTH);

  server_sets (changes, 1, TD_FLAG_SEEN);
  reader_sets (local, 1, TD_FLAG_FLAGGED);
  reader_sets (local, 2, TD_FLAG_FLAGGED);
  g_autoptr (TdFolderPlan) plan = td_folder_plan_build (&policy, FALSE, local,
                                                        &everything, changes);

  g_assert_cmpuint (plan->stores->len, ==, 0);
  g_assert_cmpuint (plan->flags->len, ==, 1);
  g_assert_cmpuint (flag_plan_of (plan, 1)->merged, ==, TD_FLAG_SEEN);
  /* The file becomes \Seen and keeps the reader's \Flagged. */
  g_assert_cmpuint (td_flags_merge (0, TD_FLAG_SEEN, TD_FLAG_FLAGGED), ==,
                    TD_FLAG_SEEN | TD_FLAG_FLAGGED);
  g_assert_cmpuint (plan->flags_here, ==, 1);
}

/* The server dropped 11 of 20: the guard stops the folder and plans nothing; --force lets
 * it through. */
static void
test_removals_guard (void)
{
  g_autoptr (TdLocalSide) local = folder_new (TD_DELETION_GUARD_MIN_MESSAGES, 0);
  g_autoptr (TdFolderChanges) changes = td_folder_changes_new ();
  TdSyncPolicy policy = policy_for (TD_DIRECTION_BOTH, TD_DIRECTION_BOTH);

  server_vanishes (changes, 1, 11);
  server_adds (changes, 30, 500);
  g_autoptr (TdFolderPlan) stopped = td_folder_plan_build (&policy, FALSE, local,
                                                           &everything, changes);
  g_assert_error (stopped->stop, TD_ERROR, TD_ERROR_NEEDS_USER);
  g_assert_nonnull (strstr (stopped->stop->message, "--force acct"));
  g_assert_cmpuint (stopped->download_count, ==, 0);

  g_autoptr (TdFolderPlan) forced = td_folder_plan_build (&policy, TRUE, local,
                                                          &everything, changes);
  g_assert_null (forced->stop);
  g_assert_cmpuint (forced->removals->len, ==, 11);
  g_assert_true (forced->remove_here);
  g_assert_cmpuint (forced->download_count, ==, 1);
}

/* deletes = push: what the server dropped stays here, counted as kept. */
static void
test_removals_kept (void)
{
  g_autoptr (TdLocalSide) local = folder_new (5, 0);
  g_autoptr (TdFolderChanges) changes = td_folder_changes_new ();
  TdSyncPolicy policy = policy_for (TD_DIRECTION_BOTH, TD_DIRECTION_PUSH);

  server_vanishes (changes, 2, 3);
  g_autoptr (TdFolderPlan) plan = td_folder_plan_build (&policy, FALSE, local,
                                                        &everything, changes);
  g_assert_null (plan->stop);
  g_assert_false (plan->remove_here);
  g_assert_cmpuint (plan->removals->len, ==, 2);
  g_assert_cmpuint (plan->kept, ==, 2);
}

/* A row recorded after the listing was asked for (an upload settled in between) is above what
 * the listing covers: it is not taken for a message the server dropped. */
static void
test_removals_above_listing (void)
{
  g_autoptr (TdLocalSide) local = folder_new (4, 0);
  g_autoptr (TdFolderChanges) changes = td_folder_changes_new ();
  TdSyncPolicy policy = policy_for (TD_DIRECTION_BOTH, TD_DIRECTION_BOTH);
  TdSyncPoint since = { .last_uid = 4 };
  TdStateMessage settled = { 12, g_strdup ("up"), 0, 10, NULL, FALSE };

  g_array_append_val (local->messages, settled);
  changes->present = g_array_new (FALSE, FALSE, sizeof (guint32));
  for (guint32 uid = 1; uid <= 3; uid++)
    g_array_append_val (changes->present, uid);
  g_autoptr (TdFolderPlan) plan = td_folder_plan_build (&policy, FALSE, local, &since, changes);
  g_assert_cmpuint (plan->removals->len, ==, 1);
  g_assert_cmpuint (g_array_index (plan->removals, guint32, 0), ==, 4);
}

/* The reader's deletions go to the server under deletes = both, except one the server
 * dropped too; under deletes = pull they are kept there. */
static void
test_deletions_there (void)
{
  g_autoptr (TdLocalSide) local = folder_new (10, 0);
  g_autoptr (TdFolderChanges) changes = td_folder_changes_new ();

  reader_deletes (local, 2);
  reader_deletes (local, 3);
  reader_deletes (local, 7);
  server_vanishes (changes, 7, 7);

  TdSyncPolicy both = policy_for (TD_DIRECTION_BOTH, TD_DIRECTION_BOTH);
  g_autoptr (TdFolderPlan) plan = td_folder_plan_build (&both, FALSE, local, &everything, changes);
  g_assert_null (plan->stop);
  g_assert_cmpuint (td_uid_set_count (plan->deletions_there), ==, 2);
  g_autofree char *set = td_uid_set_to_string (plan->deletions_there);
  g_assert_cmpstr (set, ==, "2:3");

  TdSyncPolicy pull = policy_for (TD_DIRECTION_BOTH, TD_DIRECTION_PULL);
  g_autoptr (TdFolderPlan) kept = td_folder_plan_build (&pull, FALSE, local, &everything, changes);
  g_assert_cmpuint (kept->deletions_there->len, ==, 0);
  g_assert_cmpuint (kept->kept, ==, 3);
}

/* A folder with no file left looks unmounted: nothing is deleted on the server. */
static void
test_deletions_wiped (void)
{
  g_autoptr (TdLocalSide) local = folder_new (3, 0);
  g_autoptr (TdFolderChanges) changes = td_folder_changes_new ();
  TdSyncPolicy policy = policy_for (TD_DIRECTION_BOTH, TD_DIRECTION_BOTH);

  for (guint32 uid = 1; uid <= 3; uid++)
    reader_deletes (local, uid);
  local->wiped = TRUE;
  g_autoptr (TdFolderPlan) plan = td_folder_plan_build (&policy, FALSE, local,
                                                        &everything, changes);
  g_assert_error (plan->stop, TD_ERROR, TD_ERROR_NEEDS_USER);
  g_assert_nonnull (strstr (plan->stop->message, "unmounted"));
  g_assert_cmpuint (plan->deletions_there->len, ==, 0);
}

/* Downloads: a message below the sync point never stored, and the new ones, less one we hold
 * (our own upload); counted with their sizes, in UID order whatever order the server used. */
static void
test_downloads (void)
{
  g_autoptr (TdLocalSide) local = folder_new (4, 0);
  g_autoptr (TdFolderChanges) changes = td_folder_changes_new ();
  TdSyncPolicy policy = policy_for (TD_DIRECTION_BOTH, TD_DIRECTION_BOTH);
  TdStateMessage uploaded = { 12, g_strdup ("up"), 0, 10, NULL, FALSE };

  g_array_remove_index (local->messages, 2); /* UID 3 was never stored */
  g_array_append_val (local->messages, uploaded);
  changes->present = g_array_new (FALSE, FALSE, sizeof (guint32));
  for (guint32 uid = 1; uid <= 4; uid++)
    g_array_append_val (changes->present, uid);
  server_adds (changes, 11, 1000);
  server_adds (changes, 10, 2000);
  server_adds (changes, 12, 10);
  server_adds (changes, 11, 1000); /* listed twice */
  g_autoptr (TdFolderPlan) plan = td_folder_plan_build (&policy, FALSE, local,
                                                        &everything, changes);

  g_autofree char *set = td_uid_set_to_string (plan->downloads);
  g_assert_cmpstr (set, ==, "3,10:11");
  g_assert_cmpuint (plan->download_count, ==, 3);
  g_assert_cmpuint (plan->download_bytes, ==, 3000);

  TdSyncPolicy push = policy_for (TD_DIRECTION_PUSH, TD_DIRECTION_BOTH);
  g_autoptr (TdFolderPlan) none = td_folder_plan_build (&push, FALSE, local, &everything, changes);
  g_assert_cmpuint (none->download_count, ==, 0);
}

static void
left_on_server (TdLocalSide *local, guint32 uid, guint64 size)
{
  TdStateLeft t = { uid, size, -1 };
  if (local->left == NULL)
    local->left = g_array_new (FALSE, FALSE, sizeof (TdStateLeft));
  g_array_append_val (local->left, t);
}

/* max-size: a new message bigger than it is left on the server and recorded; one recorded
 * before comes down once the limit lets it through, and its record goes when it is held or
 * gone from the server. A recorded message makes an otherwise unchanged folder worth
 * opening only when the limit now lets it through. */
static void
test_too_big (void)
{
  g_autoptr (TdLocalSide) local = folder_new (4, 0);
  g_autoptr (TdFolderChanges) changes = td_folder_changes_new ();
  TdSyncPolicy policy = policy_for (TD_DIRECTION_BOTH, TD_DIRECTION_BOTH);

  policy.max_size = 5000;
  server_adds (changes, 10, 4000);
  server_adds (changes, 11, 9000);
  server_adds (changes, 12, 5000);
  g_autoptr (TdFolderPlan) plan = td_folder_plan_build (&policy, FALSE, local, &everything,
                                                        changes);
  g_autofree char *set = td_uid_set_to_string (plan->downloads);
  g_assert_cmpstr (set, ==, "10,12");
  g_assert_cmpuint (plan->too_big, ==, 1);
  g_assert_cmpuint (plan->left_new->len, ==, 1);
  g_assert_cmpuint (g_array_index (plan->left_new, TdStateLeft, 0).uid, ==, 11);
  g_assert_cmpuint (g_array_index (plan->left_new, TdStateLeft, 0).size, ==, 9000);
  g_assert_cmpuint (plan->removals->len, ==, 0);
  g_assert_cmpuint (td_uid_set_count (plan->deletions_there), ==, 0);

  /* Recorded: 11 (9000) and 7 (20000); 3 is held now, 8 vanished from the server. */
  left_on_server (local, 3, 7000);
  left_on_server (local, 7, 20000);
  left_on_server (local, 8, 100);
  left_on_server (local, 11, 9000);
  g_autoptr (TdFolderChanges) quiet = td_folder_changes_new ();
  server_vanishes (quiet, 8, 8);
  g_autoptr (TdFolderPlan) same = td_folder_plan_build (&policy, FALSE, local, &everything,
                                                        quiet);
  g_assert_cmpuint (same->download_count, ==, 0);
  g_assert_cmpuint (same->too_big, ==, 2);
  g_assert_cmpuint (same->left_new->len, ==, 0);
  g_assert_cmpuint (same->left_gone->len, ==, 2);
  g_assert_cmpuint (g_array_index (same->left_gone, guint32, 0), ==, 3);
  g_assert_cmpuint (g_array_index (same->left_gone, guint32, 1), ==, 8);

  /* The limit raised to 10000: 11 comes down, 7 stays. No limit: both. */
  policy.max_size = 10000;
  g_autoptr (TdFolderPlan) raised = td_folder_plan_build (&policy, FALSE, local, &everything,
                                                          quiet);
  g_autofree char *some = td_uid_set_to_string (raised->downloads);
  g_assert_cmpstr (some, ==, "11");
  g_assert_cmpuint (raised->download_bytes, ==, 9000);
  g_assert_cmpuint (raised->too_big, ==, 1);
  policy.max_size = 0;
  g_autoptr (TdFolderPlan) all = td_folder_plan_build (&policy, FALSE, local, &everything, quiet);
  g_autofree char *both = td_uid_set_to_string (all->downloads);
  g_assert_cmpstr (both, ==, "7,11");
  g_assert_cmpuint (all->too_big, ==, 0);

  /* Nothing changed on either side: the folder is opened only for what the limit lets
   * through now. */
  TdSyncPoint point = { .uidvalidity = 1, .uidnext = 20, .highestmodseq = 5, .known_count = 4 };
  TdFolderState state = { .uidvalidity = 1, .uidnext = 20, .highestmodseq = 5, .exists = 4 };
  policy.max_size = 5000;
  g_assert_cmpint (td_folder_plan_decide (&policy, local, &point, &state), ==,
                   TD_FOLDER_PLAN_CHANGES); /* 8 (100 bytes) fits */
  g_array_remove_index (local->left, 2);
  g_array_remove_index (local->left, 0);
  g_assert_cmpint (td_folder_plan_decide (&policy, local, &point, &state), ==,
                   TD_FOLDER_PLAN_UNCHANGED);
}

/* max-age: a new message the server received before the cut-off is left there and recorded
 * with its date (before max-size is asked: a message only gets older); one whose date is not
 * known comes down. Raising the limit brings recorded ones, and only that opens a folder
 * where nothing else changed. The cut-off is the clock less the days. */
static void
test_too_old (void)
{
  g_autoptr (TdLocalSide) local = folder_new (4, 0);
  g_autoptr (TdFolderChanges) changes = td_folder_changes_new ();
  TdSyncPolicy policy = policy_for (TD_DIRECTION_BOTH, TD_DIRECTION_BOTH);
  TdAccountConfig account = { .sync = TD_DIRECTION_BOTH, .max_age_days = 30 };
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  td_sync_policy_init (&policy, &account, TD_BACKEND_CAP_FOLDERS | TD_BACKEND_CAP_FLAGS);
  g_assert_cmpint (policy.not_before, >=, now - 30 * 86400 - 5);
  g_assert_cmpint (policy.not_before, <=, now - 30 * 86400 + 5);

  policy = policy_for (TD_DIRECTION_BOTH, TD_DIRECTION_BOTH);
  policy.not_before = 1000000;
  policy.max_size = 5000;
  server_adds_dated (changes, 10, 100, 2000000);
  server_adds_dated (changes, 11, 100, 500000);
  server_adds_dated (changes, 12, 100, -1);
  server_adds_dated (changes, 13, 9000, 999999);
  server_adds_dated (changes, 14, 9000, 1000000);
  g_autoptr (TdFolderPlan) plan = td_folder_plan_build (&policy, FALSE, local, &everything,
                                                        changes);
  g_autofree char *set = td_uid_set_to_string (plan->downloads);
  g_assert_cmpstr (set, ==, "10,12");
  g_assert_cmpuint (plan->too_old, ==, 2);
  g_assert_cmpuint (plan->too_big, ==, 1);
  g_assert_cmpuint (plan->left_new->len, ==, 3);
  const TdStateLeft *old = &g_array_index (plan->left_new, TdStateLeft, 0);
  g_assert_cmpuint (old->uid, ==, 11);
  g_assert_cmpint (old->internal_date, ==, 500000);
  g_assert_cmpint (g_array_index (plan->left_new, TdStateLeft, 2).internal_date, ==, 1000000);
  /* The held messages 1 to 4 are older than anything here: nothing touches them. */
  g_assert_cmpuint (plan->removals->len, ==, 0);
  g_assert_cmpuint (td_uid_set_count (plan->deletions_there), ==, 0);

  /* Recorded: 11 from 500000. The same cut-off keeps the quiet folder closed; an earlier
   * one (a longer max-age) opens it and brings 11. */
  g_array_append_vals (local->left == NULL
                         ? (local->left = g_array_new (FALSE, FALSE, sizeof (TdStateLeft)))
                         : local->left,
                       old, 1);
  TdSyncPoint point = { .uidvalidity = 1, .uidnext = 20, .highestmodseq = 5, .known_count = 5 };
  TdFolderState state = { .uidvalidity = 1, .uidnext = 20, .highestmodseq = 5, .exists = 5 };
  g_assert_cmpint (td_folder_plan_decide (&policy, local, &point, &state), ==,
                   TD_FOLDER_PLAN_UNCHANGED);
  g_autoptr (TdFolderChanges) quiet = td_folder_changes_new ();
  g_autoptr (TdFolderPlan) same = td_folder_plan_build (&policy, FALSE, local, &everything,
                                                        quiet);
  g_assert_cmpuint (same->download_count, ==, 0);
  g_assert_cmpuint (same->too_old, ==, 1);
  g_assert_cmpuint (same->left_new->len, ==, 0);
  policy.not_before = 400000;
  g_assert_cmpint (td_folder_plan_decide (&policy, local, &point, &state), ==,
                   TD_FOLDER_PLAN_CHANGES);
  g_autoptr (TdFolderPlan) raised = td_folder_plan_build (&policy, FALSE, local, &everything,
                                                          quiet);
  g_autofree char *some = td_uid_set_to_string (raised->downloads);
  g_assert_cmpstr (some, ==, "11");
  g_assert_cmpuint (raised->too_old, ==, 0);
}

/* max-age with a narrowed listing: new messages the server listed by UID only are too old and
 * recorded with the listing's bound (one it also listed in full is decided by that entry);
 * such records keep a quiet folder closed while the bound is not after the cut-off. A longer
 * max-age opens it, and the listing from the first of them decides each: one comes down, one
 * is too old still and recorded with its date, one not listed is gone. */
static void
test_aged (void)
{
  g_autoptr (TdLocalSide) local = folder_new (4, 0);
  g_autoptr (TdFolderChanges) changes = td_folder_changes_new ();
  TdSyncPolicy policy = policy_for (TD_DIRECTION_BOTH, TD_DIRECTION_BOTH);
  TdSyncPoint since = { .uidvalidity = 1, .last_uid = 4, .new_from = 10 };
  TdUidRange aged = { 10, 13 };

  policy.not_before = 1000000;
  g_array_append_val (changes->aged, aged);
  changes->aged_before = 900000;
  server_adds_dated (changes, 13, 100, 2000000);
  g_autoptr (TdFolderPlan) plan = td_folder_plan_build (&policy, FALSE, local, &since, changes);
  g_autofree char *set = td_uid_set_to_string (plan->downloads);
  g_assert_cmpstr (set, ==, "13");
  g_assert_cmpuint (plan->too_old, ==, 3);
  g_assert_cmpuint (plan->left_new->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      const TdStateLeft *t = &g_array_index (plan->left_new, TdStateLeft, i);
      g_assert_cmpuint (t->uid, ==, 10 + i);
      g_assert_cmpint (t->received_before, ==, 900000);
      g_assert_cmpint (t->internal_date, ==, -1);
    }

  /* Recorded; nothing new: they stay, and the quiet folder stays closed. */
  local->left = g_array_copy (plan->left_new);
  TdSyncPoint point = { .uidvalidity = 1, .uidnext = 14, .highestmodseq = 5, .known_count = 7 };
  TdFolderState state = { .uidvalidity = 1, .uidnext = 14, .highestmodseq = 5, .exists = 7 };
  g_assert_cmpint (td_folder_plan_decide (&policy, local, &point, &state), ==,
                   TD_FOLDER_PLAN_UNCHANGED);
  TdSyncPoint quiet_since = { .uidvalidity = 1, .last_uid = 12 };
  g_autoptr (TdFolderChanges) quiet = td_folder_changes_new ();
  g_autoptr (TdFolderPlan) same = td_folder_plan_build (&policy, FALSE, local, &quiet_since,
                                                        quiet);
  g_assert_cmpuint (same->download_count, ==, 0);
  g_assert_cmpuint (same->too_old, ==, 3);
  g_assert_cmpuint (same->left_new->len + same->left_gone->len, ==, 0);

  /* A longer max-age: the bound is after the cut-off now. */
  policy.not_before = 800000;
  g_assert_cmpint (td_folder_plan_decide (&policy, local, &point, &state), ==,
                   TD_FOLDER_PLAN_CHANGES);
  g_autoptr (TdFolderChanges) relisted = td_folder_changes_new ();
  server_adds_dated (relisted, 10, 100, 850000);
  server_adds_dated (relisted, 11, 100, 700000);
  g_autoptr (TdFolderPlan) longer = td_folder_plan_build (&policy, FALSE, local, &since,
                                                          relisted);
  g_autofree char *down = td_uid_set_to_string (longer->downloads);
  g_assert_cmpstr (down, ==, "10");
  g_assert_cmpuint (longer->too_old, ==, 1);
  g_assert_cmpuint (longer->left_new->len, ==, 1);
  const TdStateLeft *exact = &g_array_index (longer->left_new, TdStateLeft, 0);
  g_assert_cmpuint (exact->uid, ==, 11);
  g_assert_cmpint (exact->internal_date, ==, 700000);
  g_assert_cmpint (exact->received_before, ==, 0);
  g_assert_cmpuint (longer->left_gone->len, ==, 1);
  g_assert_cmpuint (g_array_index (longer->left_gone, guint32, 0), ==, 12);
}

/* What the dry run reports is the plan, counted. */
static void
test_count (void)
{
  g_autoptr (TdLocalSide) local = folder_new (6, 0);
  g_autoptr (TdFolderChanges) changes = td_folder_changes_new ();
  TdSyncPolicy policy = policy_for (TD_DIRECTION_BOTH, TD_DIRECTION_BOTH);
  TdFolderReport report = { 0 };

  server_sets (changes, 1, TD_FLAG_SEEN);
  reader_sets (local, 2, TD_FLAG_FLAGGED);
  server_vanishes (changes, 3, 3);
  reader_deletes (local, 4);
  server_adds (changes, 7, 70);
  server_adds (changes, 8, 80);
  g_ptr_array_add (local->new_files, g_strdup ("new1"));
  g_autoptr (TdFolderPlan) plan = td_folder_plan_build (&policy, FALSE, local,
                                                        &everything, changes);
  td_folder_plan_count (plan, &report);

  g_assert_cmpuint (report.added, ==, 2);
  g_assert_cmpuint (report.bytes, ==, 150);
  g_assert_cmpuint (report.flags_changed, ==, 1);
  g_assert_cmpuint (report.flags_pushed, ==, 1);
  g_assert_cmpuint (report.removed, ==, 1);
  g_assert_cmpuint (report.deleted_remote, ==, 1);
  g_assert_cmpuint (report.uploaded, ==, 1);
  g_assert_cmpuint (report.kept, ==, 0);
}

/* When a folder is skipped, listed, or re-matched; and the same "is there something to
 * send" the daemon's Maildir monitor asks. */
static void
test_decide (void)
{
  g_autoptr (TdLocalSide) local = folder_new (5, 0);
  TdSyncPoint point = { 7, 6, 40, 5, 5, 0 };
  TdFolderState state = { 7, 6, 40, 5, FALSE };
  TdSyncPolicy both = policy_for (TD_DIRECTION_BOTH, TD_DIRECTION_BOTH);
  TdSyncPolicy pull_deletes = policy_for (TD_DIRECTION_BOTH, TD_DIRECTION_PULL);

  g_assert_cmpint (td_folder_plan_decide (&both, local, &point, &state), ==,
                   TD_FOLDER_PLAN_UNCHANGED);
  /* A deletion the policy keeps here is no reason to sync; one it sends is. */
  reader_deletes (local, 2);
  g_assert_false (td_folder_plan_local_work (&pull_deletes, local));
  g_assert_cmpint (td_folder_plan_decide (&pull_deletes, local, &point, &state), ==,
                   TD_FOLDER_PLAN_UNCHANGED);
  g_assert_true (td_folder_plan_local_work (&both, local));
  g_assert_cmpint (td_folder_plan_decide (&both, local, &point, &state), ==,
                   TD_FOLDER_PLAN_CHANGES);
  /* An upload an earlier run left unsettled must be settled, whatever the policy. */
  TdStateUpload u = { g_strdup ("up"), NULL, NULL, 10, 0, 7, 6, TRUE };
  g_array_append_val (local->uploads, u);
  g_assert_true (td_folder_plan_local_work (&pull_deletes, local));
  g_assert_cmpint (td_folder_plan_decide (&pull_deletes, local, &point, &state), ==,
                   TD_FOLDER_PLAN_CHANGES);
  /* No HIGHESTMODSEQ: only a listing shows flag changes. */
  g_array_set_size (local->uploads, 0);
  state.highestmodseq = point.highestmodseq = 0;
  g_assert_cmpint (td_folder_plan_decide (&pull_deletes, local, &point, &state), ==,
                   TD_FOLDER_PLAN_CHANGES);
  state.uidvalidity = 8;
  g_assert_cmpint (td_folder_plan_decide (&both, local, &point, &state), ==,
                   TD_FOLDER_PLAN_REMATCH);
  /* New mail starts at the old UIDNEXT; none when the server's UIDNEXT has not moved. */
  state.uidvalidity = 7;
  state.uidnext = 9;
  g_assert_cmpuint (td_folder_plan_new_from (&point, &state), ==, 6);
  state.uidnext = 6;
  g_assert_cmpuint (td_folder_plan_new_from (&point, &state), ==, 0);
}

/* An input whose state is the point moved on by @added new messages (and one MODSEQ step
 * when anything changed). */
static TdFolderInput
input_for (const char *name, const TdLocalSide *local, guint added, TdFolderChanges *changes)
{
  TdFolderInput in = { .name = name, .local = local, .changes = changes };
  guint n = local != NULL ? local->messages->len : 0;

  in.point = (TdSyncPoint) { .uidvalidity = 7, .uidnext = n + 1, .highestmodseq = 50,
                             .known_count = n, .last_uid = n };
  in.state = (TdFolderState) { .uidvalidity = 7, .uidnext = n + 1 + added,
                               .highestmodseq = changes != NULL ? 51 : 50,
                               .exists = n + added };
  return in;
}

static TdFolderChange *
folder_change (const char *name, TdFolderEvent event)
{
  TdFolderChange *c = g_new0 (TdFolderChange, 1);
  c->name = g_strdup (name);
  c->event = event;
  return c;
}

/* One run's folders planned together: each gets the plan its inputs call for, and the
 * totals add up what the run will do before anything is done. */
static void
test_account_plan (void)
{
  TdSyncPolicy policy = policy_for (TD_DIRECTION_BOTH, TD_DIRECTION_BOTH);
  g_autoptr (TdLocalSide) same = folder_new (10, TD_FLAG_SEEN);
  g_autoptr (TdLocalSide) busy = folder_new (10, 0);
  g_autoptr (TdLocalSide) renumbered = folder_new (4, 0);
  g_autoptr (TdLocalSide) emptied = folder_new (30, 0);
  g_autoptr (TdFolderChanges) busy_changes = td_folder_changes_new ();
  g_autoptr (TdFolderChanges) emptied_changes = td_folder_changes_new ();
  g_autoptr (GPtrArray) folder_changes = g_ptr_array_new_with_free_func ((GDestroyNotify) td_folder_change_free);

  server_adds (busy_changes, 11, 1000);
  server_adds (busy_changes, 12, 2000);
  server_sets (busy_changes, 3, TD_FLAG_SEEN);
  server_vanishes (busy_changes, 9, 10);
  reader_sets (busy, 4, TD_FLAG_FLAGGED);
  server_vanishes (emptied_changes, 1, 20);
  TdFolderInput inputs[] = {
    input_for ("Same", same, 0, NULL),
    input_for ("Busy", busy, 2, busy_changes),
    input_for ("Later", NULL, 0, NULL),
    input_for ("Renumbered", renumbered, 0, NULL),
    input_for ("Emptied", emptied, 0, emptied_changes),
  };
  inputs[3].state.uidvalidity = 8;
  g_ptr_array_add (folder_changes, folder_change ("New", TD_FOLDER_EVENT_CREATED_THERE));
  g_ptr_array_add (folder_changes, folder_change ("Old", TD_FOLDER_EVENT_GONE_THERE));

  g_autoptr (TdAccountPlan) plan = td_account_plan_build (&policy, FALSE, inputs,
                                                          G_N_ELEMENTS (inputs), folder_changes);
  g_assert_cmpuint (plan->folders->len, ==, 5);
  TdPlannedFolder *f = td_account_plan_find (plan, "Same");
  g_assert_cmpint (f->kind, ==, TD_FOLDER_PLAN_UNCHANGED);
  g_assert_nonnull (f->plan);
  g_assert_cmpuint (f->plan->download_count, ==, 0);
  f = td_account_plan_find (plan, "Busy");
  g_assert_cmpint (f->kind, ==, TD_FOLDER_PLAN_CHANGES);
  g_assert_cmpuint (f->plan->download_count, ==, 2);
  g_assert_cmpuint (f->since.new_from, ==, 11);
  g_assert_cmpuint (f->plan->removals->len, ==, 2);
  g_assert_null (td_account_plan_find (plan, "Later")->plan);
  g_assert_cmpint (td_account_plan_find (plan, "Renumbered")->kind, ==, TD_FOLDER_PLAN_REMATCH);
  g_assert_error (td_account_plan_find (plan, "Emptied")->plan->stop, TD_ERROR,
                  TD_ERROR_NEEDS_USER);
  /* Totals: the stopped and the renumbered folder add nothing; Later is not known yet. */
  g_assert_cmpuint (plan->planned, ==, 2);
  g_assert_cmpuint (plan->at_turn, ==, 2);
  g_assert_cmpuint (plan->stopped, ==, 1);
  g_assert_cmpuint (plan->download_count, ==, 2);
  g_assert_cmpuint (plan->download_bytes, ==, 3000);
  g_assert_cmpuint (plan->flags_here, ==, 1);
  g_assert_cmpuint (plan->flags_there, ==, 1);
  g_assert_cmpuint (plan->removals, ==, 2);
  g_assert_cmpuint (plan->created_there, ==, 1);
  g_assert_cmpuint (plan->gone, ==, 1);

  /* Later is planned at its turn: it takes its place, and the totals follow. */
  g_autoptr (TdLocalSide) later = folder_new (5, 0);
  g_autoptr (TdFolderChanges) later_changes = td_folder_changes_new ();
  server_adds (later_changes, 6, 500);
  TdFolderInput at_turn = input_for ("Later", later, 1, later_changes);
  TdPlannedFolder *replanned = td_account_plan_add (plan, td_planned_folder_new (&policy, FALSE,
                                                                                 &at_turn));
  g_assert_true (td_account_plan_find (plan, "Later") == replanned);
  g_assert_true (g_ptr_array_index (plan->folders, 2) == replanned);
  g_assert_cmpuint (plan->folders->len, ==, 5);
  g_assert_cmpuint (plan->at_turn, ==, 1);
  g_assert_cmpuint (plan->planned, ==, 3);
  g_assert_cmpuint (plan->download_count, ==, 3);
  g_assert_cmpuint (plan->download_bytes, ==, 3500);
}

/* A survey asks for "UID n:*", which a server answers with its highest message even below
 * n: such an answer, or any when the folder's UIDNEXT has not moved, is no new message. */
static void
test_account_plan_new_from (void)
{
  TdSyncPolicy policy = policy_for (TD_DIRECTION_BOTH, TD_DIRECTION_BOTH);
  g_autoptr (TdLocalSide) local = folder_new (10, 0);
  g_autoptr (TdFolderChanges) changes = td_folder_changes_new ();

  server_adds (changes, 10, 100);
  server_adds (changes, 11, 100);
  TdFolderInput in = input_for ("INBOX", local, 1, changes);
  g_autoptr (TdPlannedFolder) f = td_planned_folder_new (&policy, FALSE, &in);
  g_assert_cmpuint (f->plan->download_count, ==, 1);
  g_assert_cmpuint (f->plan->download_bytes, ==, 100);

  g_autoptr (TdFolderChanges) stale = td_folder_changes_new ();
  server_adds (stale, 10, 100);
  server_sets (stale, 2, TD_FLAG_SEEN);
  TdFolderInput none_new = input_for ("INBOX", local, 0, stale);
  g_autoptr (TdPlannedFolder) g = td_planned_folder_new (&policy, FALSE, &none_new);
  g_assert_cmpuint (g->since.new_from, ==, 0);
  g_assert_cmpuint (g->plan->download_count, ==, 0);
  g_assert_cmpuint (g->plan->flags_there, ==, 0);
  g_assert_cmpuint (g->plan->flags->len, ==, 1);
}

/* Moves a reader made */

static void
add_source (GArray *sources, guint folder, guint32 uid, const char *base, const char *id,
            guint64 size)
{
  TdMoveSource s = { folder, uid, base, id, size };
  g_array_append_val (sources, s);
}

static void
add_arrival (GArray *arrivals, guint folder, const char *base, const char *id, guint64 size)
{
  TdMoveArrival a = { folder, base, id, size };
  g_array_append_val (arrivals, a);
}

/* A Message-ID and size found once on each side pair, whatever the file is called; a size
 * that differs, or no Message-ID, does not. */
static void
test_moves_pair (void)
{
  g_autoptr (GArray) sources = g_array_new (FALSE, FALSE, sizeof (TdMoveSource));
  g_autoptr (GArray) arrivals = g_array_new (FALSE, FALSE, sizeof (TdMoveArrival));

  add_source (sources, 0, 5, "b5", "<a@x>", 100);
  add_source (sources, 0, 6, "b6", "<b@x>", 200);
  add_source (sources, 0, 7, "b7", NULL, 300);
  add_source (sources, 1, 9, "b9", "<c@x>", 400);
  add_arrival (arrivals, 2, "renamed", "<a@x>", 100);   /* moved and renamed */
  add_arrival (arrivals, 2, "b6", "<b@x>", 201);        /* edited on the way: not the same */
  add_arrival (arrivals, 2, "b7", NULL, 300);           /* nothing to know it by */
  add_arrival (arrivals, 1, "b9-new", "<c@x>", 400);    /* renamed in its own folder */
  g_autoptr (GArray) pairs = td_move_plan_pair (sources, arrivals);
  g_assert_cmpuint (pairs->len, ==, 2);
  g_assert_cmpuint (g_array_index (pairs, TdMovePair, 0).source, ==, 0);
  g_assert_cmpuint (g_array_index (pairs, TdMovePair, 0).arrival, ==, 0);
  g_assert_cmpuint (g_array_index (pairs, TdMovePair, 1).source, ==, 3);
  g_assert_cmpuint (g_array_index (pairs, TdMovePair, 1).arrival, ==, 3);
}

/* Copies of one message (a list's mail in two folders): only files that kept their names
 * pair, each once; where the names do not tell either, nothing does. */
static void
test_moves_twins (void)
{
  g_autoptr (GArray) sources = g_array_new (FALSE, FALSE, sizeof (TdMoveSource));
  g_autoptr (GArray) arrivals = g_array_new (FALSE, FALSE, sizeof (TdMoveArrival));

  add_source (sources, 0, 1, "one", "<d@x>", 50);
  add_source (sources, 1, 2, "two", "<d@x>", 50);
  add_arrival (arrivals, 2, "two", "<d@x>", 50);
  add_arrival (arrivals, 2, "other", "<d@x>", 50);
  add_source (sources, 0, 3, "same", "<e@x>", 60);
  add_source (sources, 1, 4, "same", "<e@x>", 60);
  add_arrival (arrivals, 2, "same", "<e@x>", 60);
  g_autoptr (GArray) pairs = td_move_plan_pair (sources, arrivals);
  g_assert_cmpuint (pairs->len, ==, 1);
  g_assert_cmpuint (g_array_index (pairs, TdMovePair, 0).source, ==, 1);
  g_assert_cmpuint (g_array_index (pairs, TdMovePair, 0).arrival, ==, 0);
}

static void
add_server_pair (GArray *sources, GArray *arrivals, guint32 uid, const char *message_id,
                 guint64 size, const char *gone_id, const char *come_id)
{
  TdMoveSource s = { 0, uid, NULL, message_id, size, gone_id };
  TdMoveArrival a = { 1, NULL, message_id, size, come_id };
  g_array_append_val (sources, s);
  g_array_append_val (arrivals, a);
}

static gboolean
paired (GArray *pairs, guint source, guint arrival)
{
  for (guint i = 0; i < pairs->len; i++)
    if (g_array_index (pairs, TdMovePair, i).source == source)
      return g_array_index (pairs, TdMovePair, i).arrival == arrival;
  return FALSE;
}

/* The server's moves with EMAILIDs (RFC 8474): equal ids pair even without a Message-ID or
 * among look-alikes; different ids never pair, however alike; an id missing on one side
 * leaves Message-ID and size to decide; an id twice on a side, or on two sizes, pairs
 * nothing by id. */
static void
test_moves_email_ids (void)
{
  g_autoptr (GArray) sources = g_array_new (FALSE, FALSE, sizeof (TdMoveSource));
  g_autoptr (GArray) arrivals = g_array_new (FALSE, FALSE, sizeof (TdMoveArrival));

  add_server_pair (sources, arrivals, 1, NULL, 100, "E1", "E1");          /* no Message-ID */
  add_server_pair (sources, arrivals, 2, "<same@x>", 200, "E2", "E2");    /* look-alikes, */
  add_server_pair (sources, arrivals, 3, "<same@x>", 200, "E3", "E3");    /* told by id */
  add_server_pair (sources, arrivals, 4, "<f@x>", 300, "E4", "E4-other"); /* not the same */
  add_server_pair (sources, arrivals, 5, "<g@x>", 400, NULL, "E5");       /* row from before */
  add_server_pair (sources, arrivals, 6, "<h@x>", 500, "E6", "E6");
  TdMoveArrival copy = { 2, NULL, "<h@x>", 500, "E6" };                  /* and a copy */
  g_array_append_val (arrivals, copy);
  TdMoveSource odd = { 0, 7, NULL, NULL, 600, "E7" };       /* one id, two sizes: a server's */
  TdMoveArrival odd_there = { 1, NULL, NULL, 601, "E7" };   /* mistake, no pair */
  g_array_append_val (sources, odd);
  g_array_append_val (arrivals, odd_there);
  g_autoptr (GArray) pairs = td_move_plan_pair (sources, arrivals);
  g_assert_true (paired (pairs, 0, 0));
  g_assert_true (paired (pairs, 1, 1));
  g_assert_true (paired (pairs, 2, 2));
  g_assert_false (paired (pairs, 3, 3));
  g_assert_true (paired (pairs, 4, 4));
  g_assert_false (paired (pairs, 5, 5) || paired (pairs, 5, 6));
  g_assert_false (paired (pairs, 6, 7));
  g_assert_cmpuint (pairs->len, ==, 4);
  for (guint i = 1; i < pairs->len; i++)
    g_assert_cmpuint (g_array_index (pairs, TdMovePair, i - 1).source, <,
                      g_array_index (pairs, TdMovePair, i).source);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/sync/plan/flags/merge-rule", test_merge_rule);
  g_test_add_func ("/sync/plan/moves/pair", test_moves_pair);
  g_test_add_func ("/sync/plan/moves/twins", test_moves_twins);
  g_test_add_func ("/sync/plan/moves/email-ids", test_moves_email_ids);
  g_test_add_func ("/sync/plan/flags/both-sides", test_flags_both_sides);
  g_test_add_func ("/sync/plan/flags/pull-only", test_flags_pull_only);
  g_test_add_func ("/sync/plan/removals/guard", test_removals_guard);
  g_test_add_func ("/sync/plan/removals/kept", test_removals_kept);
  g_test_add_func ("/sync/plan/removals/above-listing", test_removals_above_listing);
  g_test_add_func ("/sync/plan/deletions-there/policy", test_deletions_there);
  g_test_add_func ("/sync/plan/deletions-there/wiped", test_deletions_wiped);
  g_test_add_func ("/sync/plan/downloads", test_downloads);
  g_test_add_func ("/sync/plan/too-big", test_too_big);
  g_test_add_func ("/sync/plan/too-old", test_too_old);
  g_test_add_func ("/sync/plan/aged", test_aged);
  g_test_add_func ("/sync/plan/count", test_count);
  g_test_add_func ("/sync/plan/decide", test_decide);
  g_test_add_func ("/sync/plan/account/folders-and-totals", test_account_plan);
  g_test_add_func ("/sync/plan/account/new-from", test_account_plan_new_from);
  return g_test_run ();
}
