/* td-imap-backend.h: the IMAP implementation of TdBackend. Main loop thread only. */
#pragma once

#include "engine/backend/td-backend.h"

G_BEGIN_DECLS

#define TD_TYPE_IMAP_BACKEND (td_imap_backend_get_type ())
G_DECLARE_FINAL_TYPE (TdImapBackend, td_imap_backend, TD, IMAP_BACKEND, TdBackend)

G_END_DECLS
