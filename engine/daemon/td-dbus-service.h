/* td-dbus-service.h: the daemon's D-Bus face, org.tidings.Tidings1 (data/org.tidings.Tidings1.xml).
 *
 * Exports the Engine interface and an object manager at /org/tidings/Tidings1 with one Account
 * object per configured account; turns method calls into scheduler requests and scheduler
 * events into properties and signals; reads the subjects and senders of new mail and the
 * folders' counts off the main loop; sends desktop notices of new mail. Every argument from
 * the bus is checked before use, and nothing secret is ever put on the bus.
 * Main loop thread only.
 */
#pragma once

#include <gio/gio.h>

#include "engine/daemon/td-scheduler.h"

G_BEGIN_DECLS

#define TD_DBUS_NAME "org.tidings.Tidings1"
#define TD_DBUS_PATH "/org/tidings/Tidings1"
/* The longest folder name SyncFolder accepts, in bytes. */
#define TD_DBUS_MAX_FOLDER_NAME 1024

#define TD_TYPE_DBUS_SERVICE (td_dbus_service_get_type ())
G_DECLARE_FINAL_TYPE (TdDBusService, td_dbus_service, TD, DBUS_SERVICE, GObject)

TdDBusService *td_dbus_service_new (TdConfig *config, TdScheduler *scheduler);
gboolean td_dbus_service_export (TdDBusService *self, GDBusConnection *connection,
                                 GError **error);
void td_dbus_service_unexport (TdDBusService *self);
void td_dbus_service_add_account (TdDBusService *self, TdAccountConfig *account);
void td_dbus_service_remove_account (TdDBusService *self, const char *account);
char *td_dbus_account_path (const char *account);
gboolean td_dbus_name_has_owner (GDBusConnection *bus, GError **error);

G_END_DECLS
