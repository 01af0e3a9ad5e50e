/* td-test-daemon.h: a running `tidings daemon` on the test's session bus, with its signals
 * recorded, and a stand-in desktop notification server.
 *
 * The tests run under dbus-run-session (see meson.build). The notification server is a
 * fake, because a real one needs a graphical session: it only records what it is sent.
 */
#pragma once

#include "td-test-sync.h"

G_BEGIN_DECLS

typedef struct
{
  Fixture base;
  GDBusConnection *bus;
  GSubprocess *daemon;
  char *cfg;
  char *err_path;          /* the daemon's standard error */
  GPtrArray *signals;      /* GVariant: each signal's parameters, in arrival order */
  GPtrArray *signal_names; /* char *: and its name */
  GPtrArray *notices;      /* GVariant (ss): summary, body of each Notify call */
  GPtrArray *notify_calls; /* GVariant: each Notify call's whole arguments; its id is index + 1 */
  guint subscription;
  guint notify_object;
  guint notify_name;
} DaemonFixture;

#define TD_TEST_ACCOUNT_PATH "/org/tidings/Tidings1/account/t"

void td_daemon_fixture_setup (DaemonFixture *f, gconstpointer extra_conf);
void td_daemon_fixture_teardown (DaemonFixture *f, gconstpointer data);
void td_test_daemon_start (DaemonFixture *f, const char *protocol, const char *extra);
void td_test_daemon_start_at (DaemonFixture *f, const char *protocol, guint16 port,
                              const char *extra);
int td_test_daemon_stop (DaemonFixture *f);
int td_test_daemon_signal (DaemonFixture *f, int signum);
gboolean td_test_daemon_running (DaemonFixture *f);
GVariant *td_test_wait_signal (DaemonFixture *f, const char *member, guint *from,
                               guint timeout_ms);
gboolean td_test_wait_for (DaemonFixture *f, gboolean (*done) (DaemonFixture *f),
                           guint timeout_ms);
GVariant *td_test_account_property (DaemonFixture *f, const char *name);
GVariant *td_test_call (DaemonFixture *f, const char *path, const char *iface,
                        const char *method, GVariant *args, GError **error);
void td_test_clear_signals (DaemonFixture *f);

G_END_DECLS
