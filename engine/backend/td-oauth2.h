/* td-oauth2.h: OAuth2 sign-in without a helper: the provider's token endpoint, and the
 * tokens kept in the keyring.
 *
 * `tidings oauth2 login` (cli/td-cli-oauth2.c) signs in once, by the authorization code flow
 * with PKCE (RFC 7636) and a loopback redirect (RFC 8252), or the device authorization grant
 * (RFC 8628), and stores what the token endpoint answered: the refresh token, the access
 * token and when it expires, as one item of the "org.tidings.OAuth2" schema (attributes
 * account, host and user). A login takes the access token from there while it has more than
 * a minute to live, else (or after the server refused it) asks the token endpoint for a new
 * one with the refresh token, and stores the answer. A refresh token the provider refuses
 * (revoked, expired) is %TD_ERROR_NO_CREDENTIALS, saying to sign in again. One renewal per
 * account runs at a time; callers that need one meanwhile share its answer, so a provider
 * that rotates refresh tokens never sees one used twice.
 *
 * The endpoints are https (or http on loopback, td-config.c checks); answers are read up to
 * 64 KiB. Tokens and the client secret are never logged; the strings that held them are
 * cleared when freed (json-glib's own copies are not). Main loop thread.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsecret/secret.h>

#include "engine/common/td-config.h"

G_BEGIN_DECLS

/* The largest answer read from an endpoint. */
#define TD_OAUTH2_MAX_ANSWER (64 * 1024)
/* An access token with less than this many seconds to live is renewed before use. */
#define TD_OAUTH2_RENEW_MARGIN 60

const SecretSchema *td_oauth2_get_schema (void);
const char *td_oauth2_string_member (JsonObject *o, const char *name);
gint64 td_oauth2_int_member (JsonObject *o, const char *name, gint64 fallback);

void td_oauth2_post_async (const char *url, GHashTable *form, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
JsonObject *td_oauth2_post_finish (GAsyncResult *result, guint *status, GError **error);

gboolean td_oauth2_store (const TdAccountConfig *account, JsonObject *answer,
                          const char *old_refresh, GCancellable *cancellable, GError **error);
GError *td_oauth2_answer_error (const TdAccountConfig *account, JsonObject *answer,
                                guint status);

void td_oauth2_token_async (TdAccountConfig *account, gboolean renew,
                            GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data);
char *td_oauth2_token_finish (GAsyncResult *result, GError **error);

G_END_DECLS
