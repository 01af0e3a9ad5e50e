/* td-keyword-map.c: a folder's keywords as slots (state DB) and letters (dovecot-keywords). */
#include "engine/sync/td-keyword-map.h"

#include <string.h>

#include "storage/td-maildir-keywords.h"

struct _TdKeywordMap
{
  TdMaildirFolder *folder;                /* nullable: no files to name letters for */
  char *names[TD_KEYWORD_SLOTS + 1];      /* by slot, NULL after the last */
  guint used;                             /* slots in use */
  guint stored;                           /* of those, the ones the state DB has */
  GHashTable *slots;                      /* name -> slot + 1 */
  GHashTable *untracked;                  /* names met beyond the slots, at most
                                             UNTRACKED_KEPT */
  guint untracked_more;                   /* names met once that set was full (may repeat) */
};

/* A server can invent a new name for every message; past this many the count is a bound. */
#define UNTRACKED_KEPT 1024

/**
 * td_keyword_map_new:
 * @folder: (nullable): the folder whose files show the keywords
 *
 * Returns: (transfer full): an empty map; td_keyword_map_load() fills it
 */
TdKeywordMap *
td_keyword_map_new (TdMaildirFolder *folder)
{
  TdKeywordMap *map = g_new0 (TdKeywordMap, 1);

  map->folder = folder != NULL ? td_maildir_folder_ref (folder) : NULL;
  map->slots = g_hash_table_new (g_str_hash, g_str_equal);
  map->untracked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return map;
}

void
td_keyword_map_free (TdKeywordMap *map)
{
  if (map == NULL)
    return;
  for (guint i = 0; i < map->used; i++)
    g_free (map->names[i]);
  g_hash_table_unref (map->slots);
  g_hash_table_unref (map->untracked);
  g_clear_pointer (&map->folder, td_maildir_folder_unref);
  g_free (map);
}

static int
slot_of (TdKeywordMap *map, const char *name, gboolean add)
{
  gpointer slot = g_hash_table_lookup (map->slots, name);

  if (slot != NULL)
    return GPOINTER_TO_INT (slot) - 1;
  if (!add || !td_keyword_name_valid (name))
    return -1;
  if (map->used == TD_KEYWORD_SLOTS)
    {
      if (g_hash_table_size (map->untracked) < UNTRACKED_KEPT)
        g_hash_table_add (map->untracked, g_strdup (name));
      else if (!g_hash_table_contains (map->untracked, name))
        map->untracked_more++;
      return -1;
    }
  map->names[map->used] = g_strdup (name);
  g_hash_table_insert (map->slots, map->names[map->used], GINT_TO_POINTER (map->used + 1));
  return (int) map->used++;
}

/**
 * td_keyword_map_load:
 * @map: a new map
 * @db: the state DB
 * @folder_id: the folder's record
 * @error: return location for an error
 *
 * Takes the slots the state DB gave the folder's keywords.
 *
 * Returns: %TRUE unless the DB could not be read
 */
gboolean
td_keyword_map_load (TdKeywordMap *map, TdStateDb *db, gint64 folder_id, GError **error)
{
  g_autoptr (GPtrArray) names = td_state_db_load_keywords (db, folder_id, error);

  if (names == NULL)
    return FALSE;
  for (guint i = 0; i < names->len && map->used < TD_KEYWORD_SLOTS; i++)
    if (slot_of (map, g_ptr_array_index (names, i), TRUE) < 0)
      break; /* a name the DB should never have held: later slots would shift */
  map->stored = map->used;
  return TRUE;
}

/**
 * td_keyword_map_save:
 * @map: a map
 * @db: the state DB, in the transaction that records flags using the new slots
 * @folder_id: the folder's record
 * @error: return location for an error
 *
 * Returns: %TRUE once the slots given this run are in the transaction
 */
gboolean
td_keyword_map_save (TdKeywordMap *map, TdStateDb *db, gint64 folder_id, GError **error)
{
  for (guint i = map->stored; i < map->used; i++)
    if (!td_state_db_put_keyword (db, folder_id, i, map->names[i], error))
      return FALSE;
  map->stored = map->used;
  return TRUE;
}

/**
 * td_keyword_map_from_names:
 * @map: a map
 * @names: (nullable): keyword names separated by single spaces, as a listing gives them
 *
 * Returns: their bits; new names get slots, names beyond the slots are counted
 */
TdFlags
td_keyword_map_from_names (TdKeywordMap *map, const char *names)
{
  TdFlags bits = 0;

  if (names == NULL)
    return 0;
  g_auto (GStrv) parts = g_strsplit (names, " ", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      int slot = parts[i][0] != '\0' ? slot_of (map, parts[i], TRUE) : -1;
      if (slot >= 0)
        bits |= TD_FLAG_KEYWORD (slot);
    }
  return bits;
}

/**
 * td_keyword_map_absorb:
 * @map: a map
 * @infos: (nullable) (element-type TdMessageInfo): messages as the server listed them
 *
 * Adds each message's keywords to its flags as bits.
 */
void
td_keyword_map_absorb (TdKeywordMap *map, GArray *infos)
{
  for (guint i = 0; infos != NULL && i < infos->len; i++)
    {
      TdMessageInfo *info = &g_array_index (infos, TdMessageInfo, i);
      if (info->keywords != NULL)
        {
          info->flags |= td_keyword_map_from_names (map, info->keywords);
          g_clear_pointer (&info->keywords, g_free);
        }
    }
}

/**
 * td_keyword_map_from_letters:
 * @map: a map
 * @letters: keyword letters of a file name, bit 0 for 'a'
 *
 * Returns: the bits of the keywords the folder's dovecot-keywords names by @letters; a
 *   letter it does not name stands for nothing
 */
TdFlags
td_keyword_map_from_letters (TdKeywordMap *map, guint32 letters)
{
  TdFlags bits = 0;

  for (guint i = 0; map->folder != NULL && letters != 0 && i < TD_MAILDIR_KEYWORD_LETTERS; i++)
    if (letters & (1u << i))
      {
        g_autofree char *name = td_maildir_folder_dup_keyword (map->folder, i);
        int slot = name != NULL ? slot_of (map, name, TRUE) : -1;
        if (slot >= 0)
          bits |= TD_FLAG_KEYWORD (slot);
      }
  return bits;
}

/**
 * td_keyword_map_to_letters:
 * @map: a map
 * @flags: flags whose keyword bits are to be shown in a file name
 * @letters: (out): their letters, bit 0 for 'a'
 * @error: return location for an error
 *
 * A keyword dovecot-keywords lacks gets the next free letter (the file is written first);
 * one that finds none is left out: td_keyword_map_blind() then holds its bit.
 *
 * Returns: %FALSE when dovecot-keywords could not be written
 */
gboolean
td_keyword_map_to_letters (TdKeywordMap *map, TdFlags flags, guint32 *letters, GError **error)
{
  *letters = 0;
  for (guint slot = 0; map->folder != NULL && slot < map->used; slot++)
    if (flags & TD_FLAG_KEYWORD (slot))
      {
        GError *e = NULL;
        int letter = td_maildir_folder_keyword_letter (map->folder, map->names[slot], &e);
        if (e != NULL)
          return g_propagate_error (error, e), FALSE;
        if (letter >= 0)
          *letters |= 1u << letter;
      }
  return TRUE;
}

static gboolean
has_letter (TdKeywordMap *map, const char *name)
{
  for (guint i = 0; i < TD_MAILDIR_KEYWORD_LETTERS; i++)
    {
      g_autofree char *named = td_maildir_folder_dup_keyword (map->folder, i);
      if (named != NULL && strcmp (named, name) == 0)
        return TRUE;
    }
  return FALSE;
}

/**
 * td_keyword_map_blind:
 * @map: a map
 *
 * Returns: the bits of the keywords no file of the folder can show now: their names have
 *   no letter in dovecot-keywords, so a file lacking them says nothing about them
 */
TdFlags
td_keyword_map_blind (TdKeywordMap *map)
{
  TdFlags blind = 0;

  for (guint slot = 0; slot < map->used; slot++)
    if (map->folder == NULL || !has_letter (map, map->names[slot]))
      blind |= TD_FLAG_KEYWORD (slot);
  return blind;
}

/**
 * td_keyword_map_get_names:
 * @map: a map
 *
 * Returns: (transfer none) (array zero-terminated=1): the names by slot, for a backend to
 *   turn bits into names; valid until the map gives another slot or is freed
 */
const char *const *
td_keyword_map_get_names (TdKeywordMap *map)
{
  return (const char *const *) map->names;
}

/**
 * td_keyword_map_count_untracked:
 * @map: a map
 *
 * Returns: how many names were met beyond the folder's slots this run (past
 *   UNTRACKED_KEPT names, an upper bound: later ones may be counted more than once)
 */
guint
td_keyword_map_count_untracked (TdKeywordMap *map)
{
  return g_hash_table_size (map->untracked) + map->untracked_more;
}

/**
 * td_keyword_map_count_no_letter:
 * @map: a map
 *
 * Returns: how many of the folder's keywords have no letter because all 26 are taken
 */
guint
td_keyword_map_count_no_letter (TdKeywordMap *map)
{
  if (map->folder == NULL
      || td_maildir_folder_named_letters (map->folder) != (1u << TD_MAILDIR_KEYWORD_LETTERS) - 1)
    return 0;
  guint n = 0;
  for (guint slot = 0; slot < map->used; slot++)
    n += !has_letter (map, map->names[slot]);
  return n;
}
