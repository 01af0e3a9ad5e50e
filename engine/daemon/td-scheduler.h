/* td-scheduler.h: decides when each account syncs, and runs one sync per account at a time.
 *
 * Requests come from callers (D-Bus, the command line), the poll timer, push notices from
 * the server and changes in the Maildir. Requests that arrive while the account syncs are
 * merged into the one run that follows it: a folder asked for twice is synced once, and a
 * whole-account request takes in any folder requests. Failures decide what happens next:
 * a network failure retries with exponential backoff and jitter, a missing password waits
 * for the keyring (or for GNOME Online Accounts), anything else waits for the next poll.
 * Accounts can come and go while it runs (td_scheduler_add_account()). Main loop thread
 * only.
 */
#pragma once

#include "engine/common/td-config.h"
#include "engine/backend/td-plugin-registry.h"
#include "engine/sync/td-sync-runner.h"

G_BEGIN_DECLS

typedef enum
{
  TD_ACCOUNT_STATE_IDLE,
  TD_ACCOUNT_STATE_SYNCING,
  TD_ACCOUNT_STATE_WATCHING,
  TD_ACCOUNT_STATE_OFFLINE,
  TD_ACCOUNT_STATE_ERROR,
  TD_ACCOUNT_STATE_NEEDS_PASSWORD,
  TD_ACCOUNT_STATE_NEEDS_USER,   /* GNOME Online Accounts wants the user to sign in again */
} TdAccountState;

typedef enum
{
  TD_SYNC_REASON_REQUEST,  /* a caller asked */
  TD_SYNC_REASON_SCHEDULE, /* the poll timer, start-up, resume */
  TD_SYNC_REASON_SERVER,   /* the server said something changed */
  TD_SYNC_REASON_LOCAL,    /* the Maildir changed */
  TD_SYNC_REASON_RETRY,    /* after a failure, or once the keyring is unlocked */
} TdSyncReason;

const char *td_account_state_to_string (TdAccountState state);
const char *td_sync_reason_to_string (TdSyncReason reason);

/* Backoff after network failures: the first retry after about RETRY_MIN seconds, doubling
 * up to RETRY_MAX, each with up to a quarter of random jitter either way. */
#define TD_SCHEDULER_RETRY_MIN_SECONDS 2
#define TD_SCHEDULER_RETRY_MAX_SECONDS 300

#define TD_TYPE_SCHEDULER (td_scheduler_get_type ())
G_DECLARE_FINAL_TYPE (TdScheduler, td_scheduler, TD, SCHEDULER, GObject)

TdScheduler *td_scheduler_new (TdConfig *config, TdPluginRegistry *registry);
void td_scheduler_start (TdScheduler *self);

void td_scheduler_request_async (TdScheduler *self, const char *account, const char *folder,
                                 TdSyncReason reason, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
GVariant *td_scheduler_request_finish (TdScheduler *self, GAsyncResult *result,
                                       GError **error);
void td_scheduler_request (TdScheduler *self, const char *account, const char *folder,
                           TdSyncReason reason);
void td_scheduler_request_all (TdScheduler *self, TdSyncReason reason);

void td_scheduler_set_paused (TdScheduler *self, gboolean paused);
gboolean td_scheduler_get_paused (TdScheduler *self);
void td_scheduler_set_network (TdScheduler *self, gboolean available, gboolean metered);
void td_scheduler_set_watching (TdScheduler *self, const char *account, gboolean watching);
void td_scheduler_retry_needs_password (TdScheduler *self);
void td_scheduler_retry_needs_user (TdScheduler *self);

void td_scheduler_add_account (TdScheduler *self, TdAccountConfig *account);
void td_scheduler_remove_account (TdScheduler *self, const char *account);

TdAccountState td_scheduler_get_state (TdScheduler *self, const char *account);
gint64 td_scheduler_get_last_sync (TdScheduler *self, const char *account);
const char *td_scheduler_get_last_error (TdScheduler *self, const char *account);

void td_scheduler_shutdown_async (TdScheduler *self, GAsyncReadyCallback callback,
                                  gpointer user_data);
void td_scheduler_shutdown_finish (TdScheduler *self, GAsyncResult *result);

GVariant *td_account_report_summarize (const TdAccountReport *report);

G_END_DECLS
