/* td-cli.h: the commands of the tidings program. Main thread only. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "engine/common/td-config.h"
#include "engine/sync/td-sync-summary.h"

G_BEGIN_DECLS

typedef struct
{
  const char *config_path; /* --config, nullable */
} TdCliGlobals;

int td_cli_sync (const TdCliGlobals *globals, int argc, char **argv);
int td_cli_check_config (const TdCliGlobals *globals, int argc, char **argv);
int td_cli_complete (const TdCliGlobals *globals, int argc, char **argv);
int td_cli_password (const TdCliGlobals *globals, int argc, char **argv);
int td_cli_daemon (const TdCliGlobals *globals, int argc, char **argv);
int td_cli_status (const TdCliGlobals *globals, int argc, char **argv);
int td_cli_watch (const TdCliGlobals *globals, int argc, char **argv);
int td_cli_import (const TdCliGlobals *globals, int argc, char **argv);
int td_cli_oauth2 (const TdCliGlobals *globals, int argc, char **argv);

TdConfig *td_cli_load_config (const TdCliGlobals *globals, GError **error);
void td_cli_print_error (const GError *error);
char *td_cli_unknown_account (const TdConfig *config, const char *name);
TdAccountConfig *td_cli_load_account (const TdCliGlobals *globals, const char *name,
                                      TdConfig **config);
void td_cli_plain_output_init (void);
void td_cli_json_member (JsonBuilder *b, const char *member, const char *value);
void td_cli_json_print (JsonBuilder *b);
char *td_cli_format_size (guint64 bytes);

GDBusConnection *td_cli_connect_daemon (gboolean *running, GError **error);
gboolean td_cli_sync_by_daemon (GPtrArray *accounts, char **folders, gboolean json,
                                gboolean quiet, gboolean progress, int *code,
                                gboolean *running);

G_END_DECLS
