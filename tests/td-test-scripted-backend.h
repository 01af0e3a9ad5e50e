/* td-test-scripted-backend.h: TdScriptedBackend, an in-memory IMAP-like server for the sync
 * core's unit tests.
 *
 * Scripted, not real: it is what lets a test drive planning and execution without Dovecot,
 * switch capabilities at will, and survive a run killed at any step. Its whole state lives in
 * one key file, named by TD_SCRIPTED_SERVER_ENV, read on connect and written after every
 * change, so a test can set it up, a killed run leaves it as the server would be, and a
 * test can read it back. Messages are kept with LF line ends, as Maildir holds them.
 */
#pragma once

#include "engine/backend/td-backend.h"

G_BEGIN_DECLS

#define TD_TYPE_SCRIPTED_BACKEND (td_scripted_backend_get_type ())
G_DECLARE_FINAL_TYPE (TdScriptedBackend, td_scripted_backend, TD, SCRIPTED_BACKEND, TdBackend)

/* The environment variable that names the server's state file. */
#define TD_SCRIPTED_SERVER_ENV "TIDINGS_SCRIPTED_SERVER"

/* Capabilities a test switches in the state file ([server] caps, ';'-separated). */
#define TD_SCRIPTED_CAP_CONDSTORE "condstore"   /* changes since a MODSEQ, VANISHED */
#define TD_SCRIPTED_CAP_UIDPLUS "uidplus"       /* APPEND tells the new UID */
#define TD_SCRIPTED_CAP_LIST_STATUS "list-status"
/* A POP3 mailbox instead: INBOX alone, numbered per session, UIDLs, download and delete. */
#define TD_SCRIPTED_CAP_POP3 "pop3"

/* The server's state file, for tests to build and read. */
void td_scripted_server_init (const char *path, const char *caps);
void td_scripted_server_add_folder (const char *path, const char *folder);
guint32 td_scripted_server_deliver (const char *path, const char *folder, const char *message,
                                    TdFlags flags);
void td_scripted_server_set_flags (const char *path, const char *folder, guint32 uid,
                                   TdFlags flags);
void td_scripted_server_expunge (const char *path, const char *folder, guint32 uid);
GHashTable *td_scripted_server_messages (const char *path, const char *folder);

G_END_DECLS
