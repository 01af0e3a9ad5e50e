/* td-credentials.h: where an account's secret comes from, and logging in with it.
 *
 * A password comes from the first source that has one: the keyring (libsecret, the
 * "org.tidings.Password" schema keyed by account, protocol, host and user), then
 * `password-command`, then an inline `password`. An OAuth2 account gets its access token from
 * `oauth2-token-command` instead. An account of GNOME Online Accounts (`goa-account`) gets
 * either from GOA (td-goa.h), unless the file gives it a command or password of its own;
 * an OAuth2 account with an oauth2-client-id and neither gets its token from Tidings' own
 * sign-in (td-oauth2.h).
 * Commands run from an argv array with no shell and a timeout; their first line of output
 * is the secret. Every lookup is asynchronous; nothing
 * here blocks the main loop. Secrets are returned in strings to free with td_secret_free()
 * and never logged. Main loop thread.
 */
#pragma once

#include <gio/gio.h>
#include <libsecret/secret.h>

#include "engine/backend/td-backend.h"
#include "engine/common/td-config.h"

G_BEGIN_DECLS

typedef enum
{
  TD_CREDENTIAL_NONE,
  TD_CREDENTIAL_KEYRING,
  TD_CREDENTIAL_COMMAND,
  TD_CREDENTIAL_INLINE,
  TD_CREDENTIAL_TOKEN_COMMAND,
  TD_CREDENTIAL_GOA,
  TD_CREDENTIAL_OAUTH2,
} TdCredentialSource;

const SecretSchema *td_credentials_get_schema (void);
GHashTable *td_credentials_attributes (const TdAccountConfig *account);
const char *td_credential_source_describe (TdCredentialSource source);

void td_credentials_lookup_async (TdAccountConfig *account, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
char *td_credentials_lookup_finish (GAsyncResult *result, TdCredentialSource *source,
                                    GError **error);

void td_credentials_log_in_async (TdBackend *backend, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
gboolean td_credentials_log_in_finish (GAsyncResult *result, TdCredentialSource *source,
                                       GError **error);

G_END_DECLS
