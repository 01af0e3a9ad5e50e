/* td-error.h: the engine's error domain.
 *
 * Codes classify how far a failure reaches and whether a retry can help, so the scheduler and
 * the CLI decide from the code alone, never from message text. Plugins report network, TLS,
 * authentication and protocol trouble in this domain at the TdBackend boundary.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TD_ERROR (td_error_quark ())

/**
 * TdErrorCode:
 * @TD_ERROR_FAILED: something failed for one folder or message; others may still sync
 * @TD_ERROR_CONFIG: the configuration or the command line is wrong (exit 2)
 * @TD_ERROR_PLUGIN: a plugin is missing, broken or of another ABI (exit 2)
 * @TD_ERROR_AUTH: the server refused the credentials (exit 3)
 * @TD_ERROR_TLS: TLS failed or the security policy refused the server (exit 4)
 * @TD_ERROR_NETWORK: connection failed, dropped or timed out; a retry may help (exit 5)
 * @TD_ERROR_PROTOCOL: the server sent something Tidings cannot use; account-wide (exit 1)
 * @TD_ERROR_FOLDER: one folder cannot be synced (bad name, server refused it) (exit 1)
 * @TD_ERROR_LOCAL_IO: local disk or state database failure (exit 6)
 * @TD_ERROR_NEEDS_USER: a decision only the user can take (exit 7)
 * @TD_ERROR_LOCKED: another Tidings process holds the account (exit 8)
 * @TD_ERROR_NOT_SUPPORTED: the backend does not offer this operation
 * @TD_ERROR_NO_CREDENTIALS: no secret could be had: none is configured or stored, or the
 *   keyring cannot be reached (exit 3)
 * @TD_ERROR_KEYRING_LOCKED: the secret is in a locked keyring; unlocking it will help
 *   (exit 3)
 */
typedef enum
{
  TD_ERROR_FAILED,
  TD_ERROR_CONFIG,
  TD_ERROR_PLUGIN,
  TD_ERROR_AUTH,
  TD_ERROR_TLS,
  TD_ERROR_NETWORK,
  TD_ERROR_PROTOCOL,
  TD_ERROR_FOLDER,
  TD_ERROR_LOCAL_IO,
  TD_ERROR_NEEDS_USER,
  TD_ERROR_LOCKED,
  TD_ERROR_NOT_SUPPORTED,
  TD_ERROR_NO_CREDENTIALS,
  TD_ERROR_KEYRING_LOCKED,
} TdErrorCode;

/* Exit codes of the CLI, as documented in the README. */
typedef enum
{
  TD_EXIT_OK = 0,
  TD_EXIT_FAILED = 1,
  TD_EXIT_USAGE = 2,
  TD_EXIT_AUTH = 3,
  TD_EXIT_TLS = 4,
  TD_EXIT_NETWORK = 5,
  TD_EXIT_LOCAL_IO = 6,
  TD_EXIT_NEEDS_USER = 7,
  TD_EXIT_LOCKED = 8,
} TdExitCode;

GQuark td_error_quark (void);
TdExitCode td_error_to_exit_code (const GError *error);
gboolean td_error_is_account_wide (const GError *error);
void td_error_register_dbus (void);
const char *td_error_dbus_name (const GError *error);

G_END_DECLS
