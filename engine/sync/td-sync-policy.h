/* td-sync-policy.h: TdSyncPolicy, what may flow which way for one account: the account's
 * `sync` and `deletes` keys met with what its backend can do.
 *
 * One value, filled once a run knows its backend, read by the planner, the dry run and the
 * daemon's Maildir monitor alike, so that "would a sync send this?" has one answer. A plain
 * value: copied freely between threads.
 */
#pragma once

#include "engine/backend/td-backend.h"
#include "engine/common/td-config.h"

G_BEGIN_DECLS

typedef struct
{
  gboolean pulls;          /* the server's changes and new mail come here */
  gboolean pushes;         /* the mail reader's flag changes go to the server */
  gboolean deletes_here;   /* messages the server deleted are deleted here */
  gboolean deletes_there;  /* messages the reader deleted are deleted on the server */
  gboolean uploads;        /* new local messages are uploaded */
  gboolean creates_folders;/* folders made in the Maildir are made on the server */
  gboolean download_only;  /* a mailbox known by unique ids (POP3): downloads, no flags */
  guint64 max_size;        /* bigger messages are not downloaded (0: no limit) */
  gint64 not_before;       /* max-age as a date, seconds since the epoch: messages the server
                              received earlier are not downloaded (0: no limit) */
} TdSyncPolicy;

/* Why a message stays on the server rather than coming down. */
typedef enum
{
  TD_LEAVE_NONE,    /* it comes down */
  TD_LEAVE_TOO_OLD, /* older than max-age (checked first: a message only gets older) */
  TD_LEAVE_TOO_BIG, /* bigger than max-size */
} TdLeaveReason;

void td_sync_policy_init (TdSyncPolicy *policy, const TdAccountConfig *account,
                          TdBackendCaps caps);
TdLeaveReason td_sync_policy_leaves (const TdSyncPolicy *policy, guint64 size,
                                     gint64 internal_date);

G_END_DECLS
