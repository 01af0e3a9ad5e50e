/* td-pop3-backend.h: the POP3 implementation of TdBackend: one mailbox, download-only,
 * messages known by UIDL. Main loop thread only. */
#pragma once

#include "engine/backend/td-backend.h"

G_BEGIN_DECLS

#define TD_TYPE_POP3_BACKEND (td_pop3_backend_get_type ())
G_DECLARE_FINAL_TYPE (TdPop3Backend, td_pop3_backend, TD, POP3_BACKEND, TdBackend)

G_END_DECLS
