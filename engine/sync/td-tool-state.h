/* td-tool-state.h: what mbsync and offlineimap leave in a Maildir that names each file's
 * server UID, read so that taking their Maildir over pairs files and server messages exactly
 * (duplicates and messages without a Message-ID included) rather than by Message-ID and size.
 *
 * mbsync: a file name carries its Maildir-side UID (",U=12"), and the folder's .mbsyncstate
 * (with `SyncState *`) pairs those with the server's UIDs under both sides' UIDVALIDITY.
 * offlineimap: a file name carries the server's UID itself (",U=12,FMD5=...").
 *
 * Pure functions over bytes already read (bounded by TD_TOOL_STATE_MAX_BYTES): any thread.
 * Everything here is a hint: the caller still checks each pair against the server's size
 * and Message-ID before trusting it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TD_TOOL_STATE_MAX_BYTES (32 * 1024 * 1024)
#define TD_TOOL_STATE_MAX_LINE 1024

typedef enum
{
  TD_TOOL_NONE,
  TD_TOOL_MBSYNC,      /* the UID is mbsync's Maildir-side one */
  TD_TOOL_OFFLINEIMAP, /* the UID is the server's */
} TdToolKind;

guint32 td_tool_state_name_uid (const char *base, TdToolKind *kind);

/* mbsync's .mbsyncstate, the usable pairs only. */
typedef struct
{
  guint32 far_validity;   /* the server's UIDVALIDITY when mbsync last synced */
  guint32 near_validity;  /* the Maildir's own (its .uidvalidity) */
  GHashTable *near_to_far; /* Maildir-side UID -> server UID */
} TdMbsyncState;

gboolean td_mbsync_state_parse (const char *text, gsize len, TdMbsyncState *state);
void td_mbsync_state_clear (TdMbsyncState *state);
guint32 td_mbsync_uidvalidity_parse (const char *text, gsize len);
char *td_mbsync_state_file (const char *pattern, const char *name, char delimiter,
                            gboolean utf7);

G_END_DECLS
