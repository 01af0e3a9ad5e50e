/* td-test-keyring.h: a throwaway gnome-keyring-daemon on the test's own session bus (the test
 * runs under dbus-run-session), unlocked, with its keyrings under the test's directory; and
 * small helpers for that bus. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TD_TEST_SECRETS_NAME "org.freedesktop.secrets"
#define TD_TEST_KEYRING_PASSWORD "keyring-password"

typedef struct
{
  GSubprocess *daemon;
  GDBusConnection *bus;
} TdTestKeyring;

gboolean td_test_bus_name_owned (GDBusConnection *bus, const char *name);
gboolean td_test_wait_for_name (GDBusConnection *bus, const char *name, gboolean owned);
TdTestKeyring *td_test_keyring_start (const char *home);
void td_test_keyring_stop (TdTestKeyring *keyring);
char *td_test_account_state (GDBusConnection *bus, const char *account);
gboolean td_test_wait_for_state (GDBusConnection *bus, const char *account, const char *wanted,
                                 char **last);
GSubprocess *td_test_start_daemon (const char *cfg, const char *log);

G_END_DECLS
