/* td-error.c: the engine's error domain and its mapping to exit codes. */
#include "td-error.h"

#include <gio/gio.h>

G_DEFINE_QUARK (td-error-quark, td_error)

/**
 * td_error_to_exit_code:
 * @error: (nullable): a failure, or %NULL for success
 *
 * Returns: the CLI exit code documented for the class of @error.
 */
TdExitCode
td_error_to_exit_code (const GError *error)
{
  if (error == NULL)
    return TD_EXIT_OK;
  if (error->domain == G_IO_ERROR && error->code != G_IO_ERROR_CANCELLED)
    return TD_EXIT_LOCAL_IO;
  if (error->domain != TD_ERROR)
    return TD_EXIT_FAILED;

  switch ((TdErrorCode) error->code)
    {
    case TD_ERROR_CONFIG:
    case TD_ERROR_PLUGIN:
      return TD_EXIT_USAGE;
    case TD_ERROR_AUTH:
    case TD_ERROR_NO_CREDENTIALS:
    case TD_ERROR_KEYRING_LOCKED:
      return TD_EXIT_AUTH;
    case TD_ERROR_TLS:
      return TD_EXIT_TLS;
    case TD_ERROR_NETWORK:
      return TD_EXIT_NETWORK;
    case TD_ERROR_LOCAL_IO:
      return TD_EXIT_LOCAL_IO;
    case TD_ERROR_NEEDS_USER:
      return TD_EXIT_NEEDS_USER;
    case TD_ERROR_LOCKED:
      return TD_EXIT_LOCKED;
    case TD_ERROR_FAILED:
    case TD_ERROR_PROTOCOL:
    case TD_ERROR_FOLDER:
    case TD_ERROR_NOT_SUPPORTED:
    default:
      return TD_EXIT_FAILED;
    }
}

/**
 * td_error_is_account_wide:
 * @error: a failure
 *
 * Returns: %TRUE when @error ends the whole account's run (the connection or the local store
 *   is gone), %FALSE when only one folder is affected and the others can go on.
 */
gboolean
td_error_is_account_wide (const GError *error)
{
  g_return_val_if_fail (error != NULL, TRUE);

  if (error->domain != TD_ERROR)
    return TRUE;
  return error->code != TD_ERROR_FOLDER && error->code != TD_ERROR_FAILED
         && error->code != TD_ERROR_NEEDS_USER;
}
