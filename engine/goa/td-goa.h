/* td-goa.h: GNOME Online Accounts (GOA) as a source of accounts and of their secrets.
 *
 * With `goa = true` in [general], every GOA account with Mail enabled and IMAP is a Tidings
 * account: its host, port, TLS and user come from GOA's Mail interface, its name is GOA's
 * presentation identity (the address Settings shows), and a `[account NAME]` group of the
 * same name in the file overrides any key. It logs in with GOA's secret: the IMAP password
 * of a password-based account, or an access token of an OAuth2 one (XOAUTH2). GOA is asked
 * over the session bus; without it the file's own accounts still work and a warning says
 * why the others are missing.
 */
#pragma once

#include <gio/gio.h>

#include "engine/common/td-config.h"

G_BEGIN_DECLS

/* How the accounts GOA provides are named as their origin in messages. */
#define TD_GOA_PROVIDER "GNOME Online Accounts"

TdConfig *td_goa_config_load (const char *path, GError **error);
TdConfig *td_goa_config_load_from (const char *path, GDBusObjectManager *manager,
                                   GError **error);
GKeyFile *td_goa_accounts (GDBusObjectManager *manager, GKeyFile *file, GPtrArray *warnings);

void td_goa_secret_async (const TdAccountConfig *account, gboolean refresh,
                          GCancellable *cancellable, GAsyncReadyCallback callback,
                          gpointer user_data);
char *td_goa_secret_finish (GAsyncResult *result, GError **error);

G_END_DECLS
