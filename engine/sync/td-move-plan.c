/* td-move-plan.c: pairing the messages a reader moved. See td-move-plan.h. */
#include "engine/sync/td-move-plan.h"

#include <string.h>

/* What two copies of one message agree on. */
static char *
key_of (const char *message_id, guint64 size)
{
  return message_id != NULL ? g_strdup_printf ("%" G_GUINT64_FORMAT " %s", size, message_id)
                            : NULL;
}

/* key -> GArray of indexes into @items, in order; items already @paired are left out. */
static GHashTable *
index_by_key (const GArray *items, gboolean sources, const gboolean *paired)
{
  GHashTable *by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                              (GDestroyNotify) g_array_unref);

  for (guint i = 0; i < items->len; i++)
    {
      char *key = paired[i] ? NULL
                : sources ? key_of (g_array_index (items, TdMoveSource, i).message_id,
                                    g_array_index (items, TdMoveSource, i).size)
                          : key_of (g_array_index (items, TdMoveArrival, i).message_id,
                                    g_array_index (items, TdMoveArrival, i).size);
      if (key == NULL)
        continue;
      GArray *list = g_hash_table_lookup (by_key, key);
      if (list == NULL)
        {
          list = g_array_new (FALSE, FALSE, sizeof (guint));
          g_hash_table_insert (by_key, key, list);
        }
      else
        g_free (key);
      g_array_append_val (list, i);
    }
  return by_key;
}

/* email id -> index + 1 of the one item that has it, or 0 where several do. */
static GHashTable *
index_by_email_id (const GArray *items, gboolean sources)
{
  GHashTable *by_id = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < items->len; i++)
    {
      const char *id = sources ? g_array_index (items, TdMoveSource, i).email_id
                               : g_array_index (items, TdMoveArrival, i).email_id;
      if (id == NULL)
        continue;
      g_hash_table_insert (by_id, (gpointer) id,
                           GUINT_TO_POINTER (g_hash_table_contains (by_id, id) ? 0 : i + 1));
    }
  return by_id;
}

/* The pairs whose EMAILIDs are equal, each id once on each side (a message copied to two
 * folders has one id twice: that pairs nothing). An id names content that never changes, so
 * sizes that differ are a server's mistake, and pair nothing. */
static void
pair_by_email_id (const GArray *sources, const GArray *arrivals, gboolean *source_paired,
                  gboolean *arrival_paired, GArray *pairs)
{
  g_autoptr (GHashTable) gone = index_by_email_id (sources, TRUE);
  g_autoptr (GHashTable) come = index_by_email_id (arrivals, FALSE);
  GHashTableIter it;
  gpointer id, value;

  g_hash_table_iter_init (&it, gone);
  while (g_hash_table_iter_next (&it, &id, &value))
    {
      guint source = GPOINTER_TO_UINT (value), arrival;
      if (source == 0 || (arrival = GPOINTER_TO_UINT (g_hash_table_lookup (come, id))) == 0)
        continue;
      TdMovePair p = { source - 1, arrival - 1 };
      if (g_array_index (sources, TdMoveSource, p.source).size
          != g_array_index (arrivals, TdMoveArrival, p.arrival).size)
        continue;
      g_array_append_val (pairs, p);
      source_paired[p.source] = arrival_paired[p.arrival] = TRUE;
    }
}

/* Whether the server's ids tell @p's two apart: both have one, and they differ. */
static gboolean
told_apart (const GArray *sources, const GArray *arrivals, const TdMovePair *p)
{
  const char *a = g_array_index (sources, TdMoveSource, p->source).email_id;
  const char *b = g_array_index (arrivals, TdMoveArrival, p->arrival).email_id;

  return a != NULL && b != NULL && strcmp (a, b) != 0;
}

/* Among sources and arrivals that share a key, the pairs whose base names agree, each used
 * once; a base name found twice on either side pairs nothing. */
static void
pair_by_base (const GArray *sources, const GArray *arrivals, GArray *from, GArray *to,
              GArray *pairs)
{
  for (guint i = 0; i < from->len; i++)
    {
      guint source = g_array_index (from, guint, i);
      const char *base = g_array_index (sources, TdMoveSource, source).base;
      guint found = 0, match = 0, twins = 0;
      if (base == NULL)
        continue;
      for (guint k = 0; k < to->len; k++)
        {
          guint arrival = g_array_index (to, guint, k);
          if (g_strcmp0 (g_array_index (arrivals, TdMoveArrival, arrival).base, base) == 0)
            {
              found++;
              match = arrival;
            }
        }
      for (guint j = 0; j < from->len; j++)
        twins += j != i && g_strcmp0 (g_array_index (sources, TdMoveSource,
                                                     g_array_index (from, guint, j)).base,
                                      base) == 0;
      TdMovePair p = { source, match };
      if (found != 1 || twins > 0 || told_apart (sources, arrivals, &p))
        continue;
      g_array_append_val (pairs, p);
    }
}

static int
compare_pairs (gconstpointer a, gconstpointer b)
{
  const TdMovePair *x = a, *y = b;
  return x->source < y->source ? -1 : x->source > y->source;
}

/**
 * td_move_plan_pair:
 * @sources: (element-type TdMoveSource): messages taken out of folders here
 * @arrivals: (element-type TdMoveArrival): files new to folders here
 *
 * Returns: (transfer full) (element-type TdMovePair): the pairs that are one message, by
 *   ascending source index; each source and arrival in one pair at most
 */
GArray *
td_move_plan_pair (const GArray *sources, const GArray *arrivals)
{
  GArray *pairs = g_array_new (FALSE, FALSE, sizeof (TdMovePair));
  g_autofree gboolean *source_paired = g_new0 (gboolean, sources->len + 1);
  g_autofree gboolean *arrival_paired = g_new0 (gboolean, arrivals->len + 1);

  pair_by_email_id (sources, arrivals, source_paired, arrival_paired, pairs);
  g_autoptr (GHashTable) gone = index_by_key (sources, TRUE, source_paired);
  g_autoptr (GHashTable) come = index_by_key (arrivals, FALSE, arrival_paired);
  GHashTableIter it;
  gpointer key, value;

  g_hash_table_iter_init (&it, gone);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      GArray *from = value, *to = g_hash_table_lookup (come, key);
      if (to == NULL)
        continue;
      if (from->len == 1 && to->len == 1)
        {
          TdMovePair p = { g_array_index (from, guint, 0), g_array_index (to, guint, 0) };
          if (!told_apart (sources, arrivals, &p))
            g_array_append_val (pairs, p);
        }
      else
        pair_by_base (sources, arrivals, from, to, pairs);
    }
  g_array_sort (pairs, compare_pairs);
  return pairs;
}
