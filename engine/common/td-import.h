/* td-import.h: another sync tool's configuration as a Tidings one (`tidings import`).
 * Pure functions of text; any thread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *td_import_mbsync (const char *text, const char *source, GPtrArray *notes, GError **error);
char *td_import_offlineimap (const char *text, const char *source, GPtrArray *notes,
                             GError **error);

G_END_DECLS
