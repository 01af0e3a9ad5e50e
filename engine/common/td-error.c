/* td-error.c: the engine's error domain and its mapping to exit codes. */
#include "engine/common/td-error.h"

#include <gio/gio.h>

G_DEFINE_QUARK (td-error-quark, td_error)

/* The D-Bus names of the codes, in code order: the API's documented error names. */
static const GDBusErrorEntry dbus_errors[] = {
  { TD_ERROR_FAILED, "org.tidings.Tidings1.Error.Failed" },
  { TD_ERROR_CONFIG, "org.tidings.Tidings1.Error.Config" },
  { TD_ERROR_PLUGIN, "org.tidings.Tidings1.Error.Plugin" },
  { TD_ERROR_AUTH, "org.tidings.Tidings1.Error.Auth" },
  { TD_ERROR_TLS, "org.tidings.Tidings1.Error.Tls" },
  { TD_ERROR_NETWORK, "org.tidings.Tidings1.Error.Network" },
  { TD_ERROR_PROTOCOL, "org.tidings.Tidings1.Error.Protocol" },
  { TD_ERROR_FOLDER, "org.tidings.Tidings1.Error.Folder" },
  { TD_ERROR_LOCAL_IO, "org.tidings.Tidings1.Error.LocalIo" },
  { TD_ERROR_NEEDS_USER, "org.tidings.Tidings1.Error.NeedsUser" },
  { TD_ERROR_LOCKED, "org.tidings.Tidings1.Error.Locked" },
  { TD_ERROR_NOT_SUPPORTED, "org.tidings.Tidings1.Error.NotSupported" },
  { TD_ERROR_NO_CREDENTIALS, "org.tidings.Tidings1.Error.NoCredentials" },
  { TD_ERROR_KEYRING_LOCKED, "org.tidings.Tidings1.Error.KeyringLocked" },
};

/**
 * td_error_register_dbus:
 *
 * Registers the D-Bus names of the TD_ERROR codes, so a TD_ERROR returned from a method
 * crosses the bus under its documented name and comes back as the same code. Idempotent.
 */
void
td_error_register_dbus (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      for (gsize i = 0; i < G_N_ELEMENTS (dbus_errors); i++)
        g_dbus_error_register_error (TD_ERROR, dbus_errors[i].error_code,
                                     dbus_errors[i].dbus_error_name);
      g_once_init_leave (&done, 1);
    }
}

/**
 * td_error_dbus_name:
 * @error: a failure
 *
 * Returns: (transfer none): the D-Bus error name of @error's class
 */
const char *
td_error_dbus_name (const GError *error)
{
  if (error->domain == TD_ERROR && (gsize) error->code < G_N_ELEMENTS (dbus_errors))
    return dbus_errors[error->code].dbus_error_name;
  if (error->domain == G_IO_ERROR)
    return dbus_errors[TD_ERROR_LOCAL_IO].dbus_error_name;
  return dbus_errors[TD_ERROR_FAILED].dbus_error_name;
}

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
