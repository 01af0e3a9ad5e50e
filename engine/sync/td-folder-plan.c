/* td-folder-plan.c: TdFolderPlan, one folder's decisions. See td-folder-plan.h.
 *
 * Every rule of a two-way folder sync is here once: when a folder can be skipped, how flags
 * merge, what the deletion guards allow, what comes down and what goes up. Nothing here
 * reads a file, the DB or the clock.
 */
#include "engine/sync/td-folder-plan.h"

#include <string.h>

#include "engine/common/td-error.h"

void
td_folder_plan_free (TdFolderPlan *plan)
{
  if (plan == NULL)
    return;
  g_clear_error (&plan->stop);
  g_clear_pointer (&plan->flags, g_array_unref);
  g_clear_pointer (&plan->stores, g_ptr_array_unref);
  g_clear_pointer (&plan->removals, g_array_unref);
  g_clear_pointer (&plan->downloads, g_array_unref);
  g_clear_pointer (&plan->download_sizes, g_array_unref);
  g_clear_pointer (&plan->deletions_there, g_array_unref);
  g_clear_pointer (&plan->left_new, g_array_unref);
  g_clear_pointer (&plan->left_gone, g_array_unref);
  g_free (plan);
}

/* Deleting @n of @total messages needs --force when the folder is big enough and more than
 * half of it would go: the same rule for both sides. */
static gboolean
guard_allows (guint total, guint n)
{
  return total < TD_DELETION_GUARD_MIN_MESSAGES || n * 2 <= total;
}

/* The reader's deletions of messages the folder still records. */
static GArray *
deleted_here (const TdLocalSide *local)
{
  GArray *set = g_array_new (FALSE, FALSE, sizeof (TdUidRange));

  for (guint i = 0; local->deleted != NULL && i < local->deleted->len; i++)
    {
      guint32 uid = g_array_index (local->deleted, guint32, i);
      if (td_local_side_find (local, uid, NULL) != NULL)
        td_uid_set_add (set, uid);
    }
  return set;
}

/**
 * td_folder_plan_local_work:
 * @policy: the account's policy
 * @local: a prepared folder, scanned when the policy pushes
 *
 * Whether the disk holds anything for the server: a flag the reader changed, a new file or a
 * deletion the policy sends, or an upload an earlier run left unsettled. The runner skips a
 * folder without it when the server changed nothing either; the daemon's Maildir monitor
 * asks for a sync only with it.
 *
 * Returns: %TRUE when a sync of the folder would send something
 */
gboolean
td_folder_plan_local_work (const TdSyncPolicy *policy, const TdLocalSide *local)
{
  if (local->uploads != NULL && local->uploads->len > 0)
    return TRUE;
  if (!policy->pushes)
    return FALSE;
  if ((local->local_flags != NULL && local->local_flags->len > 0)
      || (policy->uploads && local->new_files != NULL && local->new_files->len > 0))
    return TRUE;
  if (!policy->deletes_there)
    return FALSE;
  g_autoptr (GArray) deleted = deleted_here (local);
  return deleted->len > 0;
}

/* Whether max-size and max-age now let through a message they left on the server before. */
static gboolean
left_let_through (const TdSyncPolicy *policy, const TdLocalSide *local)
{
  for (guint i = 0; policy->pulls && local->left != NULL && i < local->left->len; i++)
    {
      const TdStateLeft *t = &g_array_index (local->left, TdStateLeft, i);
      if (t->received_before > 0 ? t->received_before > policy->not_before
                                 : td_sync_policy_leaves (policy, t->size, t->internal_date)
                                     == TD_LEAVE_NONE)
        return TRUE;
    }
  return FALSE;
}

/**
 * td_folder_plan_decide:
 * @policy: the account's policy
 * @local: the folder's prepared local side
 * @point: the sync point of the last good sync
 * @state: what the server says of the folder now that it is open
 *
 * Returns: what the folder needs next
 */
TdFolderPlanKind
td_folder_plan_decide (const TdSyncPolicy *policy, const TdLocalSide *local,
                       const TdSyncPoint *point, const TdFolderState *state)
{
  if (local->untracked || (point->uidvalidity != 0 && point->uidvalidity != state->uidvalidity))
    return TD_FOLDER_PLAN_REMATCH;
  /* Without HIGHESTMODSEQ a flag change does not show in the state, so only a listing tells. */
  if (point->uidvalidity == state->uidvalidity && state->highestmodseq != 0
      && state->highestmodseq == point->highestmodseq && state->uidnext == point->uidnext
      && state->exists == point->known_count && !td_folder_plan_local_work (policy, local)
      && !left_let_through (policy, local))
    return TD_FOLDER_PLAN_UNCHANGED;
  return TD_FOLDER_PLAN_CHANGES;
}

/**
 * td_folder_plan_new_from:
 * @point: the sync point
 * @state: the open folder's state
 *
 * Returns: the first UID that can be new since @point (the old UIDNEXT, or above the highest
 *   UID we hold), or 0 when the server says nothing is
 */
guint32
td_folder_plan_new_from (const TdSyncPoint *point, const TdFolderState *state)
{
  guint32 first = point->last_uid + 1;

  if (point->uidvalidity == state->uidvalidity && point->uidnext != 0)
    first = point->uidnext;
  first = MAX (first, 1);
  if (state->exists == 0 || (state->uidnext != 0 && state->uidnext <= first))
    return 0;
  return first;
}

/* Flags */

static guint
store_hash (gconstpointer key)
{
  const TdBackendFlagStore *s = key;
  return g_int64_hash (&s->add) ^ (g_int64_hash (&s->remove) * 31);
}

static gboolean
store_equal (gconstpointer a, gconstpointer b)
{
  const TdBackendFlagStore *x = a, *y = b;
  return x->add == y->add && x->remove == y->remove;
}

static void
add_store (GHashTable *stores, guint32 uid, TdFlags add, TdFlags remove,
           const char *const *keywords)
{
  TdBackendFlagStore wanted = { .add = add, .remove = remove };
  TdBackendFlagStore *store = g_hash_table_lookup (stores, &wanted);

  if (store == NULL)
    {
      store = g_new0 (TdBackendFlagStore, 1);
      store->uids = g_array_new (FALSE, FALSE, sizeof (TdUidRange));
      store->add = add;
      store->remove = remove;
      store->keywords = keywords;
      g_hash_table_add (stores, store);
    }
  td_uid_set_add (store->uids, uid);
}

static void
flag_store_free (TdBackendFlagStore *store)
{
  g_array_unref (store->uids);
  g_free (store);
}

static int
compare_stores (gconstpointer a, gconstpointer b)
{
  const TdBackendFlagStore *x = *(TdBackendFlagStore *const *) a;
  const TdBackendFlagStore *y = *(TdBackendFlagStore *const *) b;
  if (x->add != y->add)
    return x->add < y->add ? -1 : 1;
  return x->remove < y->remove ? -1 : x->remove > y->remove;
}

/* Both sides' flag changes against the last common state, merged by td_flags_merge(); the
 * server's only where the policy pulls, the reader's only where it pushes. The tables point
 * into @changes and @local, which outlive them. */
static void
plan_flags (TdFolderPlan *plan, const TdSyncPolicy *policy, const TdLocalSide *local,
            const TdFolderChanges *changes)
{
  g_autoptr (GHashTable) server = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr (GHashTable) reader = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr (GHashTable) stores = g_hash_table_new (store_hash, store_equal);

  for (guint i = 0; policy->pulls && i < changes->changed->len; i++)
    {
      const TdMessageInfo *s = &g_array_index (changes->changed, TdMessageInfo, i);
      g_hash_table_insert (server, GUINT_TO_POINTER (s->uid), (gpointer) &s->flags);
    }
  for (guint i = 0; policy->pushes && local->local_flags != NULL && i < local->local_flags->len;
       i++)
    {
      const TdLocalFlags *l = &g_array_index (local->local_flags, TdLocalFlags, i);
      g_hash_table_insert (reader, GUINT_TO_POINTER (l->uid), (gpointer) &l->flags);
    }
  for (guint i = 0; i < local->messages->len; i++)
    {
      const TdStateMessage *m = &g_array_index (local->messages, TdStateMessage, i);
      const TdFlags *sv = g_hash_table_lookup (server, GUINT_TO_POINTER (m->uid));
      const TdFlags *lv = g_hash_table_lookup (reader, GUINT_TO_POINTER (m->uid));
      TdFlags base = m->flags, s = sv ? *sv : base, l = lv ? *lv : base;
      if (s == base && l == base)
        continue;
      TdFlagPlan p = { m->uid, base, td_flags_merge (base, s, l) };
      g_array_append_val (plan->flags, p);
      if (p.merged != s)
        {
          add_store (stores, m->uid, p.merged & ~s, s & ~p.merged, local->keywords);
          plan->flags_there++;
        }
      const TdMaildirEntry *e = local->disk ? g_hash_table_lookup (local->disk, m->base) : NULL;
      TdFlags file = e != NULL ? td_local_side_file_flags (local, e, base) : 0;
      if (e != NULL && td_flags_merge (base, p.merged, file) != file)
        plan->flags_here++;
    }
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, stores);
  while (g_hash_table_iter_next (&it, &key, NULL))
    g_ptr_array_add (plan->stores, key);
  g_ptr_array_sort (plan->stores, compare_stores);
}

/* Deletions */

static int
compare_uids (const void *a, const void *b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
  return x < y ? -1 : x > y;
}

/* @changes->present sorted, or NULL when the server did not list what is left. */
static GArray *
sorted_present (const TdFolderChanges *changes)
{
  if (changes->present == NULL)
    return NULL;
  GArray *present = g_array_copy (changes->present);
  g_array_sort (present, compare_uids);
  return present;
}

/* Known messages the server no longer has, highest UID first. The listing of what is left
 * covers the UIDs up to the request's last_uid: a row above it (an upload recorded since the
 * request was made) is not judged by it. */
static void
plan_removals (TdFolderPlan *plan, const TdLocalSide *local, const TdSyncPoint *since,
               const TdFolderChanges *changes, const GArray *present)
{
  g_autoptr (GArray) gone = g_array_copy (changes->vanished);

  td_uid_set_normalize (gone);
  for (guint i = local->messages->len; i-- > 0;)
    {
      guint32 uid = g_array_index (local->messages, TdStateMessage, i).uid;
      gboolean vanished = td_uid_set_contains (gone, uid);
      if (present != NULL && uid <= since->last_uid)
        vanished = vanished || present->len == 0
                   || bsearch (&uid, present->data, present->len, sizeof (guint32),
                               compare_uids) == NULL;
      if (vanished)
        g_array_append_val (plan->removals, uid);
    }
}

static int
compare_uids_descending (const void *a, const void *b)
{
  return compare_uids (b, a);
}

static gboolean
is_removed (const TdFolderPlan *plan, guint32 uid)
{
  return plan->removals->len > 0
         && bsearch (&uid, plan->removals->data, plan->removals->len, sizeof (guint32),
                     compare_uids_descending) != NULL;
}

/* The server's removals, under the policy and the guard. */
static gboolean
decide_removals (TdFolderPlan *plan, const TdSyncPolicy *policy, gboolean force,
                 const TdLocalSide *local)
{
  guint n = plan->removals->len, total = local->messages->len;

  plan->remove_here = policy->deletes_here;
  if (!policy->deletes_here)
    {
      plan->kept += n;
      return TRUE;
    }
  if (force || guard_allows (total, n))
    return TRUE;
  plan->stop = g_error_new (TD_ERROR, TD_ERROR_NEEDS_USER, "account %s, folder %s: the server "
                            "no longer has %u of the %u messages synced before, so they would "
                            "be deleted here too. Nothing was changed in this folder. If that "
                            "is what you want, run `tidings sync --force %s`", local->account,
                            local->name, n, total, local->account);
  return FALSE;
}

/* The reader's deletions, under the policy and the guard. A message the server removed as
 * well needs nothing sent. */
static gboolean
decide_deletions_there (TdFolderPlan *plan, const TdSyncPolicy *policy, gboolean force,
                        const TdLocalSide *local)
{
  g_autoptr (GArray) deleted = deleted_here (local);
  guint total = local->messages->len, n = local->deleted ? local->deleted->len : 0;

  if (!policy->deletes_there)
    {
      plan->kept += td_uid_set_count (deleted);
      return TRUE;
    }
  if (!force && n > 0 && local->wiped)
    {
      plan->stop = g_error_new (TD_ERROR, TD_ERROR_NEEDS_USER, "account %s, folder %s: the "
                                "local folder has no messages left although %u were synced, so "
                                "it looks emptied or unmounted. Nothing was deleted on the "
                                "server. If you deleted them on purpose, run `tidings sync "
                                "--force %s`", local->account, local->name, total,
                                local->account);
      return FALSE;
    }
  if (!force && n > 0 && !guard_allows (total, n))
    {
      plan->stop = g_error_new (TD_ERROR, TD_ERROR_NEEDS_USER, "account %s, folder %s: %u of "
                                "the %u messages synced before are gone from the local folder, "
                                "so they would be deleted on the server too. Nothing was changed "
                                "in this folder. If that is what you want, run `tidings sync "
                                "--force %s`", local->account, local->name, n, total,
                                local->account);
      return FALSE;
    }
  for (guint r = 0; r < deleted->len; r++)
    {
      const TdUidRange *range = &g_array_index (deleted, TdUidRange, r);
      for (guint32 uid = range->first; uid >= range->first && uid <= range->last; uid++)
        if (!is_removed (plan, uid))
          td_uid_set_add (plan->deletions_there, uid);
    }
  return TRUE;
}

/* Downloads */

static void
add_download (TdFolderPlan *plan, guint32 uid, guint64 size)
{
  GArray *set = plan->downloads;

  if (set->len > 0 && g_array_index (set, TdUidRange, set->len - 1).last >= uid)
    return; /* listed twice */
  td_uid_set_add (set, uid);
  plan->download_count++;
  plan->download_bytes += size;
  if (size > 0)
    g_array_append_val (plan->download_sizes, ((TdUidSize) { uid, size }));
}

/* What max-size or max-age left on the server before, if @uid is among it. */
static const TdStateLeft *
left_row (const TdLocalSide *local, guint32 uid)
{
  TdStateLeft key = { uid, 0 };

  if (local->left == NULL || local->left->len == 0)
    return NULL;
  return bsearch (&key, local->left->data, local->left->len, sizeof (TdStateLeft),
                  compare_uids);
}

/* Whether the server says a message is gone: QRESYNC's VANISHED, or missing from the
 * listing of what is left (which covers the UIDs up to the request's last_uid). */
static gboolean
gone_from_server (guint32 uid, const TdSyncPoint *since, GArray *vanished,
                  const GArray *present)
{
  if (td_uid_set_contains (vanished, uid))
    return TRUE;
  return present != NULL && uid <= since->last_uid
         && (present->len == 0
             || bsearch (&uid, present->data, present->len, sizeof (guint32), compare_uids)
                  == NULL);
}

/* By UID; of two entries for one UID (a bare one from the listing of what is left, and one
 * with size or date), the one that says more first: it is the one kept. */
static int
compare_wanted (gconstpointer a, gconstpointer b)
{
  const TdMessageInfo *x = a, *y = b;
  gboolean xs = x->size > 0 || x->internal_date >= 0, ys = y->size > 0 || y->internal_date >= 0;

  if (x->uid != y->uid)
    return x->uid < y->uid ? -1 : 1;
  return ys - xs;
}

/* Counts a message max-size or max-age leaves on the server, and records it unless an
 * earlier run did. */
static gboolean
leave_on_server (TdFolderPlan *plan, const TdSyncPolicy *policy, const TdStateLeft *row,
                 const TdMessageInfo *m)
{
  /* A record made from a UID alone knows nothing the listing does not: it is replaced. */
  gboolean known = row != NULL && row->received_before == 0;
  TdStateLeft t = { m->uid, known ? row->size : m->size,
                    known && row->internal_date >= 0 ? row->internal_date : m->internal_date,
                    0 };

  switch (td_sync_policy_leaves (policy, t.size, t.internal_date))
    {
    case TD_LEAVE_NONE:
      return FALSE;
    case TD_LEAVE_TOO_OLD:
      plan->too_old++;
      break;
    case TD_LEAVE_TOO_BIG:
      plan->too_big++;
      break;
    }
  if (!known)
    g_array_append_val (plan->left_new, t);
  return TRUE;
}

/* The new messages the server listed by UID only, received before changes->aged_before and
 * so older than max-age (the listing makes sure of it): counted, and recorded with that bound
 * unless a record knows more. A UID the listing also gave in full, or below what was asked,
 * is not taken from here. */
static void
plan_aged (TdFolderPlan *plan, const TdLocalSide *local, const TdSyncPoint *since,
           GArray *aged, const GArray *added_uids, gint64 aged_before)
{
  for (guint i = 0; since->new_from != 0 && aged_before > 0 && i < aged->len; i++)
    {
      const TdUidRange *r = &g_array_index (aged, TdUidRange, i);
      for (guint64 uid = MAX (r->first, since->new_from); uid <= r->last; uid++)
        {
          guint32 u = (guint32) uid;
          if (td_local_side_find (local, u, NULL) != NULL
              || bsearch (&u, added_uids->data, added_uids->len, sizeof (guint32), compare_uids)
                   != NULL)
            continue;
          const TdStateLeft *row = left_row (local, u);
          plan->too_old++;
          if (row != NULL && (row->received_before == 0 || row->received_before == aged_before))
            continue;
          TdStateLeft t = { u, 0, -1, aged_before };
          g_array_append_val (plan->left_new, t);
        }
    }
}

/* A record made from a UID alone, not in this listing in full: it stays while its bound is
 * not after the cut-off. After it (max-age was made longer), the listing began at it
 * (td_local_folder_sync_point()), so a record listed neither way is of a message gone. */
static void
plan_bounded (TdFolderPlan *plan, const TdSyncPolicy *policy, const TdSyncPoint *since,
              const TdStateLeft *t)
{
  if (policy->not_before > 0 && t->received_before <= policy->not_before)
    plan->too_old++;
  else if (since->new_from != 0 && t->uid >= since->new_from)
    g_array_append_val (plan->left_gone, t->uid);
  else
    plan->too_old++; /* not asked about this time: as it was */
}

/* What comes down: messages below the sync point an earlier run never stored, the new ones,
 * and those max-size or max-age left on the server before, less any we hold already (our
 * own uploads, a run cut short before its sync point). A message the limits keep off stays
 * on the server, recorded so that it comes down once they allow. */
static void
plan_downloads (TdFolderPlan *plan, const TdSyncPolicy *policy, const TdLocalSide *local,
                const TdSyncPoint *since, const TdFolderChanges *changes, const GArray *present)
{
  g_autoptr (GArray) wanted = g_array_sized_new (FALSE, FALSE, sizeof (TdMessageInfo),
                                                 changes->added->len);
  g_autoptr (GArray) vanished = g_array_copy (changes->vanished);
  g_autoptr (GArray) aged = g_array_copy (changes->aged);
  g_autoptr (GArray) added_uids = g_array_sized_new (FALSE, FALSE, sizeof (guint32),
                                                     changes->added->len);

  td_uid_set_normalize (vanished);
  td_uid_set_normalize (aged);
  for (guint i = 0; i < changes->added->len; i++)
    g_array_append_val (added_uids, g_array_index (changes->added, TdMessageInfo, i).uid);
  g_array_sort (added_uids, compare_uids);
  plan_aged (plan, local, since, aged, added_uids, changes->aged_before);
  /* Shallow copies: only uid, size and date are read. */
  for (guint i = 0; present != NULL && i < present->len; i++)
    {
      TdMessageInfo m = { .uid = g_array_index (present, guint32, i), .internal_date = -1 };
      g_array_append_val (wanted, m);
    }
  g_array_append_vals (wanted, changes->added->data, changes->added->len);
  for (guint i = 0; local->left != NULL && i < local->left->len; i++)
    {
      const TdStateLeft *t = &g_array_index (local->left, TdStateLeft, i);
      gboolean in_added = bsearch (&t->uid, added_uids->data, added_uids->len,
                                   sizeof (guint32), compare_uids) != NULL;
      if (td_local_side_find (local, t->uid, NULL) != NULL
          || gone_from_server (t->uid, since, vanished, present))
        {
          g_array_append_val (plan->left_gone, t->uid);
          continue;
        }
      if (!in_added && since->new_from != 0 && t->uid >= since->new_from
          && td_uid_set_contains (aged, t->uid))
        continue; /* plan_aged() has it */
      if (t->received_before > 0)
        {
          if (!in_added)
            plan_bounded (plan, policy, since, t);
          continue; /* else the listing's entry decides */
        }
      TdMessageInfo m = { .uid = t->uid, .size = t->size, .internal_date = t->internal_date };
      g_array_append_val (wanted, m);
    }
  g_array_sort (wanted, compare_wanted);
  for (guint i = 0; i < wanted->len; i++)
    {
      const TdMessageInfo *m = &g_array_index (wanted, TdMessageInfo, i);
      if (m->uid == 0 || (i > 0 && g_array_index (wanted, TdMessageInfo, i - 1).uid == m->uid)
          || td_local_side_find (local, m->uid, NULL) != NULL)
        continue;
      const TdStateLeft *row = left_row (local, m->uid);
      gboolean bounded = row != NULL && row->received_before > 0;
      /* A record from a UID alone is decided by the listing's entry, never by a bare UID. */
      if (bounded && bsearch (&m->uid, added_uids->data, added_uids->len, sizeof (guint32),
                              compare_uids) == NULL)
        continue;
      if (!leave_on_server (plan, policy, row, m))
        add_download (plan, m->uid, row != NULL && !bounded ? row->size : m->size);
    }
}

/**
 * td_folder_plan_build:
 * @policy: the account's policy
 * @force: the user lets the deletion guards through
 * @local: the folder's local side: state rows, and the scan where the policy pushes (its
 *   files' flags, when known, count the flag changes here)
 * @since: the request @changes answers (its last_uid bounds what the listing covers)
 * @changes: what the server reports since the sync point, new messages included
 *
 * Decides everything the folder's sync does. A guard that refuses sets @stop and nothing
 * else is planned.
 *
 * Returns: (transfer full): the plan
 */
TdFolderPlan *
td_folder_plan_build (const TdSyncPolicy *policy, gboolean force, const TdLocalSide *local,
                      const TdSyncPoint *since, const TdFolderChanges *changes)
{
  TdFolderPlan *plan = g_new0 (TdFolderPlan, 1);
  g_autoptr (GArray) present = sorted_present (changes);

  plan->kind = TD_FOLDER_PLAN_CHANGES;
  plan->flags = g_array_new (FALSE, FALSE, sizeof (TdFlagPlan));
  plan->stores = g_ptr_array_new_with_free_func ((GDestroyNotify) flag_store_free);
  plan->removals = g_array_new (FALSE, FALSE, sizeof (guint32));
  plan->downloads = g_array_new (FALSE, FALSE, sizeof (TdUidRange));
  plan->download_sizes = g_array_new (FALSE, FALSE, sizeof (TdUidSize));
  plan->deletions_there = g_array_new (FALSE, FALSE, sizeof (TdUidRange));
  plan->left_new = g_array_new (FALSE, FALSE, sizeof (TdStateLeft));
  plan->left_gone = g_array_new (FALSE, FALSE, sizeof (guint32));

  plan_removals (plan, local, since, changes, present);
  if (!decide_deletions_there (plan, policy, force, local)
      || !decide_removals (plan, policy, force, local))
    return plan;
  plan_flags (plan, policy, local, changes);
  if (policy->pulls)
    plan_downloads (plan, policy, local, since, changes, present);
  if (policy->uploads)
    plan->uploads = (local->new_files ? local->new_files->len : 0) + local->uploads->len;
  return plan;
}

/**
 * td_folder_plan_count:
 * @plan: a plan
 * @report: the folder's report
 *
 * Counts what @plan will do into @report, as a dry run reports it.
 */
void
td_folder_plan_count (const TdFolderPlan *plan, TdFolderReport *report)
{
  report->added = plan->download_count;
  report->bytes = plan->download_bytes;
  report->flags_changed = plan->flags_here;
  report->flags_pushed = plan->flags_there;
  report->removed = plan->remove_here ? plan->removals->len : 0;
  report->kept = plan->kept;
  report->deleted_remote = td_uid_set_count (plan->deletions_there);
  report->uploaded = plan->uploads;
  report->too_big = plan->too_big;
  report->too_old = plan->too_old;
}
