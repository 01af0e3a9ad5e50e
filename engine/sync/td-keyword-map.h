/* td-keyword-map.h: TdKeywordMap, one folder's IMAP keywords as flag bits.
 *
 * The server names keywords ($Junk, $label1, Thunderbird tags); the files name them by
 * the letters of the folder's dovecot-keywords; the plan and the state DB carry them as
 * TdFlags bits, one slot each (td-types.h), so the one flag merge rule covers them. The map
 * turns names and letters into bits and back, giving new names the next free slot (kept in
 * the state DB with the flags that use them) and new letters in dovecot-keywords (written
 * before any file shows them).
 *
 * A folder has TD_KEYWORD_SLOTS slots and 26 letters. A keyword beyond the slots is left
 * as the server has it (never removed, since stores name what they change) and counted; one
 * with a slot but no letter is kept in the state DB: the file cannot show it, so the file
 * is taken to agree with the state DB on it ("blind" bits) and the reader cannot drop it by
 * accident.
 *
 * Used by one thread at a time: the folder's preparation, then its plan and record.
 */
#pragma once

#include "storage/td-maildir.h"
#include "storage/td-state-db.h"

G_BEGIN_DECLS

typedef struct _TdKeywordMap TdKeywordMap;

TdKeywordMap *td_keyword_map_new (TdMaildirFolder *folder);
void td_keyword_map_free (TdKeywordMap *map);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdKeywordMap, td_keyword_map_free)

gboolean td_keyword_map_load (TdKeywordMap *map, TdStateDb *db, gint64 folder_id,
                              GError **error);
gboolean td_keyword_map_save (TdKeywordMap *map, TdStateDb *db, gint64 folder_id,
                              GError **error);
TdFlags td_keyword_map_from_names (TdKeywordMap *map, const char *names);
void td_keyword_map_absorb (TdKeywordMap *map, GArray *infos);
TdFlags td_keyword_map_from_letters (TdKeywordMap *map, guint32 letters);
gboolean td_keyword_map_to_letters (TdKeywordMap *map, TdFlags flags, guint32 *letters,
                                    GError **error);
TdFlags td_keyword_map_blind (TdKeywordMap *map);
const char *const *td_keyword_map_get_names (TdKeywordMap *map);
guint td_keyword_map_count_untracked (TdKeywordMap *map);
guint td_keyword_map_count_no_letter (TdKeywordMap *map);

G_END_DECLS
