/* td-folder-map.h: the one reversible mapping from a server folder name to a local path.
 *
 * Every path component is validated, so no name a server sends can reach outside the
 * account's Maildir. Pure functions, any thread.
 */
#pragma once

#include <glib.h>

#include "engine/common/td-types.h"

G_BEGIN_DECLS

#define TD_FOLDER_MAX_DEPTH 32
#define TD_FOLDER_MAX_COMPONENT 255

char **td_folder_map_components (const char *name, char delimiter,
                                 const TdFolderLayout *layout, GError **error);
char *td_folder_map_name (char **components, char delimiter, const TdFolderLayout *layout,
                          GError **error);
char *td_folder_map_display (const char *name, char delimiter);

G_END_DECLS
