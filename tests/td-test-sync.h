/* td-test-sync.h: shared fixture and checks for the tidings sync integration tests. */
#pragma once

#include "td-test-dovecot.h"

G_BEGIN_DECLS

typedef struct
{
  TdTestDovecot *dovecot;
  char *home;
  char *maildir;
  char *state;
  GHashTable *expected; /* "folder\nMessage-ID" -> LF content */
  guint next_id;
} Fixture;

void td_sync_fixture_setup (Fixture *f, gconstpointer extra_conf);
void td_sync_fixture_teardown (Fixture *f, gconstpointer data);
char *account_config (Fixture *f, const char *protocol, const char *extra);
char *account_config_at (Fixture *f, const char *protocol, guint16 port, const char *extra);
char *config_without_ca (Fixture *f, const char *extra);
char *config (Fixture *f, const char *extra);
char *make_message (guint id, gsize body_size, gsize *len);
void seed (Fixture *f, const char *folder, guint count, gsize body_size);
void sync_ok (const char *cfg);
void expect (TdTestRun run, int status, const char *out, const char *err);
void assert_capabilities_narrowed (Fixture *f, gconstpointer extra_conf);
char *message_id_of (const char *data);
GHashTable *read_local (Fixture *f, const char *folder);
guint count_tmp (Fixture *f, const char *folder);
void assert_local_matches (Fixture *f, const char *folder, const char *local_dir);
void assert_folder_matches (Fixture *f, const char *folder);
const char *local_name (GHashTable *local, guint id);
gboolean has_flag (GHashTable *local, guint id, char flag);
void remove_local (Fixture *f, const char *folder, guint id);
void reader_sets_flags (Fixture *f, const char *folder, guint id, const char *letters);
char *server_flags (Fixture *f, const char *folder, const char *uid);

/* Two machines syncing one account: "device B" has its own Maildir and state. */
char *device_b (Fixture *f, const char *extra);
void use_device_b (Fixture *f, gboolean on);
char *device_b_dir (Fixture *f, const char *folder, const char *sub);
guint server_count (Fixture *f, const char *folder);
char *write_local (Fixture *f, const char *folder, const char *sub, const char *name,
                   const char *content, gint64 mtime);
char *new_local_message (Fixture *f, const char *folder, const char *id);
void expect_lf (Fixture *f);
TdTestRun sync_json (const char *cfg, const char *extra);
void assert_json (const TdTestRun *r, const char *fragment);
void sync_says (const char *cfg, const char *option, ...) G_GNUC_NULL_TERMINATED;
gboolean sent_command (const char *err, const char *fragment);
guint sent_count (const char *err, const char *fragment);
void seed_folder_files (Fixture *f, const char *folder, guint count, gsize size);
void seed_files_dated (Fixture *f, const char *folder, guint count, gsize size,
                       gint64 received);
void seed_inbox_files (Fixture *f, guint count, gsize size);
GSubprocess *start_helper (guint16 *port, const char *script, ...) G_GNUC_NULL_TERMINATED;
GSubprocess *start_throttle (Fixture *f, guint16 target, guint rate, guint64 cut,
                             guint16 *port);

G_END_DECLS
