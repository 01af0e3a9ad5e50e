/* td-move-plan.c: pairing the messages a reader moved. See td-move-plan.h. */
#include "engine/sync/td-move-plan.h"

/* What two copies of one message agree on. */
static char *
key_of (const char *message_id, guint64 size)
{
  return message_id != NULL ? g_strdup_printf ("%" G_GUINT64_FORMAT " %s", size, message_id)
                            : NULL;
}

/* key -> GArray of indexes into @items, in order. */
static GHashTable *
index_by_key (const GArray *items, gboolean sources)
{
  GHashTable *by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                              (GDestroyNotify) g_array_unref);

  for (guint i = 0; i < items->len; i++)
    {
      char *key = sources
                    ? key_of (g_array_index (items, TdMoveSource, i).message_id,
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
      if (found != 1 || twins > 0)
        continue;
      TdMovePair p = { source, match };
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
  g_autoptr (GHashTable) gone = index_by_key (sources, TRUE);
  g_autoptr (GHashTable) come = index_by_key (arrivals, FALSE);
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
          g_array_append_val (pairs, p);
        }
      else
        pair_by_base (sources, arrivals, from, to, pairs);
    }
  g_array_sort (pairs, compare_pairs);
  return pairs;
}
