/* td-maildir.h: delivering, renaming and scanning messages in a Maildir.
 *
 * All paths are opened relative to directory descriptors taken component by component with
 * O_NOFOLLOW, so a symlink planted in the tree cannot redirect a write. Plain synchronous
 * code: run it off the main loop where it may block (fsync, rename batches). A folder handle
 * is reference-counted and may move between threads, but is used by one at a time.
 */
#pragma once

#include <glib.h>

#include "engine/common/td-types.h"

G_BEGIN_DECLS

typedef struct _TdMaildir TdMaildir;
typedef struct _TdMaildirFolder TdMaildirFolder;
typedef struct _TdMaildirDelivery TdMaildirDelivery;

/* A message file found by a scan. */
typedef struct
{
  char *filename;   /* the name inside cur/ or new/ */
  gboolean in_cur;
  TdFlags flags;     /* the standard flags its name shows; the engine adds keyword bits */
  guint32 letters;   /* the keyword letters its name shows, bit 0 for 'a' */
} TdMaildirEntry;

/* The prefix of Tidings' own files in tmp/, so only they are ever cleaned up. */
#define TD_MAILDIR_TMP_PREFIX "tidings-"

/* Bounds on the folder walk: a Maildir set to $HOME by mistake must not take all day. */
#define TD_MAILDIR_MAX_WALK 20000
#define TD_MAILDIR_MAX_WALK_DEPTH 32

TdMaildir *td_maildir_open (const char *root, const char *inbox, GError **error);
void td_maildir_free (TdMaildir *maildir);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdMaildir, td_maildir_free)
const char *td_maildir_get_path (TdMaildir *maildir);
char *td_maildir_dup_folder_path (TdMaildir *maildir, char **components);
gboolean td_maildir_sync_filesystem (TdMaildir *maildir, GError **error);

GPtrArray *td_maildir_list_folders (TdMaildir *maildir, TdLayout layout, GError **error);
gboolean td_maildir_remove_folder (TdMaildir *maildir, char **components, GHashTable *known,
                                   GError **error);
TdMaildirFolder *td_maildir_open_folder (TdMaildir *maildir, char **components, GError **error);
TdMaildirFolder *td_maildir_find_folder (TdMaildir *maildir, char **components, GError **error);
TdMaildirFolder *td_maildir_folder_ref (TdMaildirFolder *folder);
void td_maildir_folder_unref (TdMaildirFolder *folder);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdMaildirFolder, td_maildir_folder_unref)
const char *td_maildir_folder_get_path (TdMaildirFolder *folder);
guint td_maildir_folder_clean_tmp (TdMaildirFolder *folder);
GHashTable *td_maildir_folder_scan (TdMaildirFolder *folder, GError **error);
gboolean td_maildir_folder_set_flags (TdMaildirFolder *folder, const char *base,
                                      TdMaildirEntry *entry, TdFlags flags, guint32 letters,
                                      GError **error);
gboolean td_maildir_folder_remove (TdMaildirFolder *folder, const TdMaildirEntry *entry,
                                   GError **error);
gboolean td_maildir_folder_move_to (TdMaildirFolder *folder, const char *base,
                                    const TdMaildirEntry *entry, TdMaildirFolder *to,
                                    TdFlags flags, guint32 letters, GError **error);
char *td_maildir_folder_dup_keyword (TdMaildirFolder *folder, guint letter);
guint32 td_maildir_folder_named_letters (TdMaildirFolder *folder);
int td_maildir_folder_keyword_letter (TdMaildirFolder *folder, const char *name, GError **error);
gboolean td_maildir_folder_sync_dirs (TdMaildirFolder *folder, GError **error);
void td_maildir_folder_dir_mtimes (TdMaildirFolder *folder, gint64 *cur_ns, gint64 *new_ns);
gboolean td_maildir_dir_mtimes (TdMaildir *maildir, char **components, gint64 *cur_ns,
                                gint64 *new_ns);
gboolean td_maildir_folder_has_file (TdMaildirFolder *folder, const char *name);
char *td_maildir_folder_read_small (TdMaildirFolder *folder, const char *name, gsize max,
                                    gsize *len);
gboolean td_maildir_folder_read_identity (TdMaildirFolder *folder, const TdMaildirEntry *entry,
                                          char **message_id, guint64 *wire_size,
                                          guint64 *tool_line, GError **error);

int td_maildir_folder_open_message (TdMaildirFolder *folder, const char *base,
                                    TdMaildirEntry *entry, gint64 *mtime, GError **error);
TdMaildirDelivery *td_maildir_delivery_begin (TdMaildirFolder *folder, GError **error);
gboolean td_maildir_delivery_write (TdMaildirDelivery *delivery, const guint8 *data, gsize len,
                                    GError **error);
gboolean td_maildir_delivery_close (TdMaildirDelivery *delivery, gint64 mtime, GError **error);
gboolean td_maildir_delivery_publish (TdMaildirDelivery *delivery, TdFlags flags,
                                      guint32 letters, GError **error);
const char *td_maildir_delivery_get_base (TdMaildirDelivery *delivery);
char *td_maildir_delivery_dup_path (TdMaildirDelivery *delivery);
guint64 td_maildir_delivery_get_size (TdMaildirDelivery *delivery);
void td_maildir_delivery_free (TdMaildirDelivery *delivery);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdMaildirDelivery, td_maildir_delivery_free)

void td_maildir_entry_free (TdMaildirEntry *entry);
gboolean td_maildir_count (const char *folder_path, guint *total, guint *unseen);

G_END_DECLS
