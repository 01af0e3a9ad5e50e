/* td-imap-fetch.h: reading message data out of FETCH responses. Pure functions. */
#pragma once

#include "engine/common/td-types.h"
#include "td-imap-parser.h"

G_BEGIN_DECLS

TdFlags td_imap_flags_parse (const TdImapValue *list, char **keywords);
char *td_imap_flags_format (TdFlags flags, const char *const *keywords);
gboolean td_imap_date_parse (const char *text, gint64 *out);
char *td_imap_date_format (gint64 seconds, gboolean with_time);
gboolean td_imap_fetch_info (const TdImapResponse *response, TdMessageInfo *info);

G_END_DECLS
