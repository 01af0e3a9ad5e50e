/* td-state-db.c: the SQLite state database.
 *
 * Statements are prepared once and kept. Migrations are the numbered SQL files compiled
 * into the binary as resources; a database newer than this build is refused rather than
 * guessed at.
 */
#include "td-state-db.h"

#include <gio/gio.h>
#include <sqlite3.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/common/td-durable-step.h"
#include "td-storage-error.h"
#include "td-storage-resources.h"

#define MIGRATIONS "/org/tidings/storage/migrations"

struct _TdStateDb
{
  sqlite3 *db;
  char *path;
  GHashTable *statements; /* SQL text (static) -> sqlite3_stmt */
};

/* What to do about a database file that is damaged, or "" when it is not. Every fact in it
 * can be found again: the next run matches the Maildir's messages to the server's (by
 * Message-ID and size, as after a UIDVALIDITY change) instead of downloading them. */
static const char *
damage_advice (TdStateDb *db)
{
  int code = db->db != NULL ? sqlite3_errcode (db->db) & 0xff : SQLITE_OK;
  if (code != SQLITE_NOTADB && code != SQLITE_CORRUPT)
    return "";
  return "; the file is damaged: move it aside (with its -wal and -shm files) and run again, "
         "and Tidings builds a new one from the Maildir and the server";
}

static gboolean
db_error (TdStateDb *db, GError **error, const char *what)
{
  g_set_error (error, TD_STORAGE_ERROR, TD_STORAGE_ERROR_DB, "state database %s: cannot %s: %s%s",
               db->path, what, sqlite3_errmsg (db->db), damage_advice (db));
  return FALSE;
}

static void
finalize_statement (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

static sqlite3_stmt *
statement (TdStateDb *db, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (db->statements, sql);

  if (stmt != NULL)
    {
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      return stmt;
    }
  if (sqlite3_prepare_v3 (db->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK)
    {
      db_error (db, error, "prepare a statement");
      return NULL;
    }
  g_hash_table_insert (db->statements, (gpointer) sql, stmt);
  return stmt;
}

static gboolean
exec (TdStateDb *db, const char *sql, GError **error)
{
  char *msg = NULL;
  if (sqlite3_exec (db->db, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
      g_set_error (error, TD_STORAGE_ERROR, TD_STORAGE_ERROR_DB, "state database %s: %s%s",
                   db->path, msg ? msg : "failed", damage_advice (db));
      sqlite3_free (msg);
      return FALSE;
    }
  return TRUE;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

/* The resource object sits in a static library that nothing else references, so it is
 * registered by hand rather than by a constructor the linker may drop. */
static char **
migration_names (void)
{
  static gsize registered;
  if (g_once_init_enter (&registered))
    {
      td_storage_register_resource ();
      g_once_init_leave (&registered, 1);
    }
  char **names = g_resources_enumerate_children (MIGRATIONS, 0, NULL);
  if (names != NULL)
    qsort (names, g_strv_length (names), sizeof (char *), compare_names);
  return names;
}

int
td_state_db_latest_version (void)
{
  g_auto (GStrv) names = migration_names ();
  return names ? (int) g_strv_length (names) : 0;
}

int
td_state_db_get_version (TdStateDb *db)
{
  sqlite3_stmt *stmt = statement (db, "PRAGMA user_version", NULL);
  return stmt && sqlite3_step (stmt) == SQLITE_ROW ? sqlite3_column_int (stmt, 0) : -1;
}

static gboolean
migrate (TdStateDb *db, GError **error)
{
  g_auto (GStrv) names = migration_names ();
  int latest = names ? (int) g_strv_length (names) : 0;
  int version = td_state_db_get_version (db);

  if (latest == 0)
    {
      g_set_error (error, TD_STORAGE_ERROR, TD_STORAGE_ERROR_DB, "this Tidings was built without "
                   "its database migrations; rebuild it");
      return FALSE;
    }
  if (version > latest)
    {
      g_set_error (error, TD_STORAGE_ERROR, TD_STORAGE_ERROR_DB, "state database %s is version "
                   "%d, newer than this Tidings understands (%d); use the newer Tidings",
                   db->path, version, latest);
      return FALSE;
    }
  for (int v = version; v < latest; v++)
    {
      g_autofree char *path = g_strconcat (MIGRATIONS "/", names[v], NULL);
      g_autoptr (GBytes) sql = g_resources_lookup_data (path, 0, error);
      if (sql == NULL)
        return FALSE;
      g_autofree char *script = g_strdup_printf ("BEGIN IMMEDIATE; %.*s; PRAGMA user_version = %d; "
                                                 "COMMIT;", (int) g_bytes_get_size (sql),
                                                 (const char *) g_bytes_get_data (sql, NULL), v + 1);
      if (!exec (db, script, error))
        {
          exec (db, "ROLLBACK", NULL);
          return FALSE;
        }
    }
  return TRUE;
}

/**
 * td_state_db_open:
 * @path: the database file; its directory is created (0700) if missing
 * @error: return location for an error
 *
 * Returns: (transfer full) (nullable): the database, migrated to the latest version
 */
TdStateDb *
td_state_db_open (const char *path, GError **error)
{
  g_autoptr (TdStateDb) db = g_new0 (TdStateDb, 1);
  g_autofree char *dir = g_path_get_dirname (path);

  db->path = g_strdup (path);
  db->statements = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                          finalize_statement);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, TD_STORAGE_ERROR, TD_STORAGE_ERROR_IO, "cannot create %s: %s", dir,
                   g_strerror (errno));
      return NULL;
    }
  int fd = g_open (path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0)
    close (fd);
  if (sqlite3_open_v2 (path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
    return db_error (db, error, "open it"), NULL;
  sqlite3_busy_timeout (db->db, 5000);
  if (!exec (db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                 "PRAGMA foreign_keys = ON;", error)
      || !migrate (db, error))
    return NULL;
  return g_steal_pointer (&db);
}

void
td_state_db_close (TdStateDb *db)
{
  if (db == NULL)
    return;
  g_hash_table_unref (db->statements);
  if (db->db != NULL)
    sqlite3_close (db->db);
  g_free (db->path);
  g_free (db);
}

gboolean
td_state_db_begin (TdStateDb *db, GError **error)
{
  return exec (db, "BEGIN IMMEDIATE", error);
}

gboolean
td_state_db_commit (TdStateDb *db, GError **error)
{
  if (!exec (db, "COMMIT", error))
    return FALSE;
  td_durable_step ("state db: transaction committed");
  return TRUE;
}

void
td_state_db_rollback (TdStateDb *db)
{
  if (!sqlite3_get_autocommit (db->db))
    exec (db, "ROLLBACK", NULL);
}

static gboolean
step_done (TdStateDb *db, sqlite3_stmt *stmt, GError **error)
{
  int rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return db_error (db, error, "write");
  return TRUE;
}

/**
 * td_state_db_find_folder:
 * @db: a database
 * @account: the account name
 * @name: the folder's decoded name
 * @folder: (out): the folder's record; all zero (id too) when there is none
 * @error: return location for an error
 *
 * Looks a folder up without recording it.
 *
 * Returns: %TRUE on success, found or not
 */
gboolean
td_state_db_find_folder (TdStateDb *db, const char *account, const char *name,
                         TdStateFolder *folder, GError **error)
{
  sqlite3_stmt *sel = statement (db, "SELECT id, uidvalidity, uidnext, highestmodseq, cur_mtime, "
                                     "new_mtime, scanned_at FROM folders WHERE account = ? AND "
                                     "name = ?", error);
  int rc;

  memset (folder, 0, sizeof *folder);
  if (sel == NULL)
    return FALSE;
  sqlite3_bind_text (sel, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_text (sel, 2, name, -1, SQLITE_STATIC);
  rc = sqlite3_step (sel);
  if (rc == SQLITE_ROW)
    {
      folder->id = sqlite3_column_int64 (sel, 0);
      folder->uidvalidity = (guint32) sqlite3_column_int64 (sel, 1);
      folder->uidnext = (guint32) sqlite3_column_int64 (sel, 2);
      folder->highestmodseq = (guint64) sqlite3_column_int64 (sel, 3);
      folder->cur_mtime = sqlite3_column_int64 (sel, 4);
      folder->new_mtime = sqlite3_column_int64 (sel, 5);
      folder->scanned_at = sqlite3_column_int64 (sel, 6);
    }
  sqlite3_reset (sel);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return db_error (db, error, "read a folder");
  return TRUE;
}

/**
 * td_state_db_get_folder:
 * @db: a database
 * @account: the account name
 * @name: the folder's decoded name
 * @folder: (out): the folder's record; all zero but the id for a folder never synced
 * @error: return location for an error
 *
 * Looks a folder up, recording it first when it is new.
 *
 * Returns: %TRUE on success
 */
gboolean
td_state_db_get_folder (TdStateDb *db, const char *account, const char *name,
                        TdStateFolder *folder, GError **error)
{
  sqlite3_stmt *ins = statement (db, "INSERT OR IGNORE INTO folders (account, name) VALUES (?, ?)",
                                 error);
  if (ins == NULL)
    return FALSE;
  sqlite3_bind_text (ins, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_text (ins, 2, name, -1, SQLITE_STATIC);
  if (!step_done (db, ins, error) || !td_state_db_find_folder (db, account, name, folder, error))
    return FALSE;
  if (folder->id == 0)
    return db_error (db, error, "read a folder");
  return TRUE;
}

gboolean
td_state_db_update_folder (TdStateDb *db, const TdStateFolder *folder, GError **error)
{
  sqlite3_stmt *stmt = statement (db, "UPDATE folders SET uidvalidity = ?, uidnext = ?, "
                                      "highestmodseq = ?, cur_mtime = ?, new_mtime = ?, "
                                      "scanned_at = ? WHERE id = ?", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, folder->uidvalidity);
  sqlite3_bind_int64 (stmt, 2, folder->uidnext);
  sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) folder->highestmodseq);
  sqlite3_bind_int64 (stmt, 4, folder->cur_mtime);
  sqlite3_bind_int64 (stmt, 5, folder->new_mtime);
  sqlite3_bind_int64 (stmt, 6, folder->scanned_at);
  sqlite3_bind_int64 (stmt, 7, folder->id);
  if (!step_done (db, stmt, error))
    return FALSE;
  if (sqlite3_get_autocommit (db->db))
    td_durable_step ("state db: folder's sync point written");
  return TRUE;
}

void
td_state_message_clear (TdStateMessage *message)
{
  g_clear_pointer (&message->base, g_free);
  g_clear_pointer (&message->message_id, g_free);
  g_clear_pointer (&message->email_id, g_free);
}

/**
 * td_state_db_load_messages:
 * @db: a database
 * @folder_id: the folder
 * @error: return location for an error
 *
 * Returns: (transfer full) (element-type TdStateMessage): the folder's messages by UID
 */
GArray *
td_state_db_load_messages (TdStateDb *db, gint64 folder_id, GError **error)
{
  sqlite3_stmt *stmt = statement (db, "SELECT uid, base, flags, size, message_id, pending, "
                                      "email_id FROM messages WHERE folder_id = ? "
                                      "ORDER BY uid", error);
  g_autoptr (GArray) out = g_array_new (FALSE, TRUE, sizeof (TdStateMessage));
  int rc;

  if (stmt == NULL)
    return NULL;
  g_array_set_clear_func (out, (GDestroyNotify) td_state_message_clear);
  sqlite3_bind_int64 (stmt, 1, folder_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      TdStateMessage m = { 0 };
      m.uid = (guint32) sqlite3_column_int64 (stmt, 0);
      m.base = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      m.flags = (TdFlags) sqlite3_column_int64 (stmt, 2);
      m.size = (guint64) sqlite3_column_int64 (stmt, 3);
      m.message_id = g_strdup ((const char *) sqlite3_column_text (stmt, 4));
      m.pending = sqlite3_column_int (stmt, 5) != 0;
      m.email_id = g_strdup ((const char *) sqlite3_column_text (stmt, 6));
      g_array_append_val (out, m);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return db_error (db, error, "read messages"), NULL;
  return g_steal_pointer (&out);
}

gboolean
td_state_db_put_message (TdStateDb *db, gint64 folder_id, const TdStateMessage *m, GError **error)
{
  sqlite3_stmt *stmt = statement (db, "INSERT OR REPLACE INTO messages (folder_id, uid, base, "
                                      "flags, size, message_id, pending, email_id) "
                                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                  error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_int64 (stmt, 2, m->uid);
  sqlite3_bind_text (stmt, 3, m->base, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, (sqlite3_int64) m->flags);
  sqlite3_bind_int64 (stmt, 5, (sqlite3_int64) m->size);
  sqlite3_bind_text (stmt, 6, m->message_id, -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 7, m->pending ? 1 : 0);
  sqlite3_bind_text (stmt, 8, m->email_id, -1, SQLITE_STATIC);
  return step_done (db, stmt, error);
}

gboolean
td_state_db_set_flags (TdStateDb *db, gint64 folder_id, guint32 uid, TdFlags flags, GError **error)
{
  sqlite3_stmt *stmt = statement (db, "UPDATE messages SET flags = ? WHERE folder_id = ? AND uid = ?",
                                  error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) flags);
  sqlite3_bind_int64 (stmt, 2, folder_id);
  sqlite3_bind_int64 (stmt, 3, uid);
  return step_done (db, stmt, error);
}

gboolean
td_state_db_remove_message (TdStateDb *db, gint64 folder_id, guint32 uid, GError **error)
{
  sqlite3_stmt *stmt = statement (db, "DELETE FROM messages WHERE folder_id = ? AND uid = ?", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_int64 (stmt, 2, uid);
  return step_done (db, stmt, error);
}

gboolean
td_state_db_mark_published (TdStateDb *db, gint64 folder_id, guint32 uid, GError **error)
{
  sqlite3_stmt *stmt = statement (db, "UPDATE messages SET pending = 0 WHERE folder_id = ? AND "
                                      "uid = ?", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_int64 (stmt, 2, uid);
  return step_done (db, stmt, error);
}

gboolean
td_state_db_clear_messages (TdStateDb *db, gint64 folder_id, GError **error)
{
  sqlite3_stmt *stmt = statement (db, "DELETE FROM messages WHERE folder_id = ?", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  return step_done (db, stmt, error);
}

void
td_state_folder_summary_free (TdStateFolderSummary *summary)
{
  g_free (summary->name);
  g_free (summary);
}

/**
 * td_state_db_list_folders:
 * @db: a database
 * @account: an account name
 * @max_size: the account's max-size (0: none)
 * @not_before: the account's max-age as a date: seconds since the epoch (0: none)
 * @error: return location for an error
 *
 * Returns: (transfer full) (element-type TdStateFolderSummary): every folder the account has
 *   synced, with its message counts and how many messages left on the server @max_size and
 *   @not_before let through now, from one query. A message left there by UID only whose
 *   bound is after @not_before must be listed again: the folder's UIDNEXT is given as its
 *   UID (the same as td_local_folder_sync_point() gives), so the listing starts there.
 */
GPtrArray *
td_state_db_list_folders (TdStateDb *db, const char *account, guint64 max_size,
                          gint64 not_before, GError **error)
{
  /* One lookup per folder in an index (the count walks the narrow messages_by_base, the
   * highest UID is a seek, pending rows have their own index): a join grouped by folder
   * reads every message row of the account, which is most of the file. */
  sqlite3_stmt *stmt = statement (db, "SELECT f.name, f.id, f.uidvalidity, "
                                      "MIN (f.uidnext, COALESCE ((SELECT MIN (t.uid) "
                                      "FROM left_on_server t WHERE t.folder_id = f.id "
                                      "AND t.received_before > ?3), f.uidnext)), "
                                      "f.highestmodseq, "
                                      "(SELECT COUNT(*) FROM messages m WHERE m.folder_id = f.id) "
                                      "+ (SELECT COUNT(*) FROM left_on_server t "
                                      "WHERE t.folder_id = f.id), "
                                      "MAX ((SELECT COALESCE(MAX(m.uid), 0) FROM messages m "
                                      "WHERE m.folder_id = f.id), "
                                      "(SELECT COALESCE(MAX(t.uid), 0) FROM left_on_server t "
                                      "WHERE t.folder_id = f.id)), "
                                      "(SELECT COUNT(*) FROM messages m INDEXED BY messages_pending "
                                      "WHERE m.folder_id = f.id AND m.pending = 1) "
                                      "+ (SELECT COUNT(*) FROM uploads u WHERE u.folder_id = f.id), "
                                      "f.cur_mtime, f.new_mtime, "
                                      "f.scanned_at, "
                                      "(SELECT COUNT(*) FROM left_on_server t "
                                      "WHERE t.folder_id = f.id AND CASE "
                                      "WHEN t.received_before > 0 THEN t.received_before > ?3 "
                                      "ELSE (?2 = 0 OR t.size <= ?2) AND "
                                      "(t.internal_date < 0 OR t.internal_date >= ?3) END) "
                                      "FROM folders f WHERE f.account = ?1",
                                  error);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) td_state_folder_summary_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) MIN (max_size, (guint64) G_MAXINT64));
  sqlite3_bind_int64 (stmt, 3, not_before);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      TdStateFolderSummary *f = g_new0 (TdStateFolderSummary, 1);
      f->name = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      f->record.id = sqlite3_column_int64 (stmt, 1);
      f->record.uidvalidity = (guint32) sqlite3_column_int64 (stmt, 2);
      f->record.uidnext = (guint32) sqlite3_column_int64 (stmt, 3);
      f->record.highestmodseq = (guint64) sqlite3_column_int64 (stmt, 4);
      f->count = (guint32) sqlite3_column_int64 (stmt, 5);
      f->last_uid = (guint32) sqlite3_column_int64 (stmt, 6);
      f->pending = (guint32) sqlite3_column_int64 (stmt, 7);
      f->record.cur_mtime = sqlite3_column_int64 (stmt, 8);
      f->record.new_mtime = sqlite3_column_int64 (stmt, 9);
      f->record.scanned_at = sqlite3_column_int64 (stmt, 10);
      f->left_let_through = (guint32) sqlite3_column_int64 (stmt, 11);
      g_ptr_array_add (out, f);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return db_error (db, error, "list folders"), NULL;
  return g_steal_pointer (&out);
}

/**
 * td_state_db_peek_folder_names:
 * @path: the database file
 * @account: an account name
 * @error: return location for an error
 *
 * Reads the names of the folders @account has synced without changing anything: the file
 * is opened read-only, not created or migrated, and a writer holding it makes this give up
 * after a moment instead of waiting. For shell completion.
 *
 * Returns: (transfer full) (nullable): the names, sorted, %NULL-terminated
 */
char **
td_state_db_peek_folder_names (const char *path, const char *account, GError **error)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();
  int rc = sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL);

  if (rc == SQLITE_OK)
    {
      sqlite3_busy_timeout (db, 200);
      rc = sqlite3_prepare_v2 (db, "SELECT name FROM folders WHERE account = ? ORDER BY name",
                               -1, &stmt, NULL);
    }
  if (rc == SQLITE_OK)
    {
      sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        g_strv_builder_add (names, (const char *) sqlite3_column_text (stmt, 0));
      if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    }
  if (rc != SQLITE_OK)
    g_set_error (error, TD_STORAGE_ERROR, TD_STORAGE_ERROR_DB, "state database %s: %s", path,
                 db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return rc == SQLITE_OK ? g_strv_builder_end (names) : NULL;
}

void
td_state_upload_clear (TdStateUpload *upload)
{
  g_clear_pointer (&upload->base, g_free);
  g_clear_pointer (&upload->token, g_free);
  g_clear_pointer (&upload->message_id, g_free);
}

/**
 * td_state_db_load_uploads:
 * @db: a database
 * @folder_id: the folder
 * @error: return location for an error
 *
 * Returns: (transfer full) (element-type TdStateUpload): uploads an earlier run started and
 *   did not see through
 */
GArray *
td_state_db_load_uploads (TdStateDb *db, gint64 folder_id, GError **error)
{
  sqlite3_stmt *stmt = statement (db, "SELECT base, token, message_id, size, flags, uidvalidity, "
                                      "min_uid, appended, moved FROM uploads WHERE folder_id = ? "
                                      "ORDER BY base", error);
  g_autoptr (GArray) out = g_array_new (FALSE, TRUE, sizeof (TdStateUpload));
  int rc;

  if (stmt == NULL)
    return NULL;
  g_array_set_clear_func (out, (GDestroyNotify) td_state_upload_clear);
  sqlite3_bind_int64 (stmt, 1, folder_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      TdStateUpload u = { 0 };
      u.base = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      u.token = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      u.message_id = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      u.size = (guint64) sqlite3_column_int64 (stmt, 3);
      u.flags = (TdFlags) sqlite3_column_int64 (stmt, 4);
      u.uidvalidity = (guint32) sqlite3_column_int64 (stmt, 5);
      u.min_uid = (guint32) sqlite3_column_int64 (stmt, 6);
      u.appended = sqlite3_column_int (stmt, 7) != 0;
      u.moved = sqlite3_column_int (stmt, 8) != 0;
      g_array_append_val (out, u);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return db_error (db, error, "read uploads"), NULL;
  return g_steal_pointer (&out);
}

gboolean
td_state_db_put_upload (TdStateDb *db, gint64 folder_id, const TdStateUpload *u, GError **error)
{
  sqlite3_stmt *stmt = statement (db, "INSERT OR REPLACE INTO uploads (folder_id, base, token, "
                                      "message_id, size, flags, uidvalidity, min_uid, appended, "
                                      "moved) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_text (stmt, 2, u->base, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, u->token, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, u->message_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 5, (sqlite3_int64) u->size);
  sqlite3_bind_int64 (stmt, 6, (sqlite3_int64) u->flags);
  sqlite3_bind_int64 (stmt, 7, u->uidvalidity);
  sqlite3_bind_int64 (stmt, 8, u->min_uid);
  sqlite3_bind_int (stmt, 9, u->appended ? 1 : 0);
  sqlite3_bind_int (stmt, 10, u->moved ? 1 : 0);
  return step_done (db, stmt, error);
}

static gboolean
delete_by_base (TdStateDb *db, const char *sql, gint64 folder_id, const char *base,
                GError **error)
{
  sqlite3_stmt *stmt = statement (db, sql, error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_text (stmt, 2, base, -1, SQLITE_STATIC);
  return step_done (db, stmt, error);
}

gboolean
td_state_db_remove_upload (TdStateDb *db, gint64 folder_id, const char *base, GError **error)
{
  return delete_by_base (db, "DELETE FROM uploads WHERE folder_id = ? AND base = ?", folder_id,
                         base, error);
}

/**
 * td_state_db_load_local_only:
 * @db: a database
 * @folder_id: the folder
 * @error: return location for an error
 *
 * Returns: (transfer full) (element-type utf8 utf8): the base names of files kept here after
 *   the server dropped them, as a set
 */
GHashTable *
td_state_db_load_local_only (TdStateDb *db, gint64 folder_id, GError **error)
{
  sqlite3_stmt *stmt = statement (db, "SELECT base FROM local_only WHERE folder_id = ?", error);
  g_autoptr (GHashTable) out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_hash_table_add (out, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return db_error (db, error, "read local-only messages"), NULL;
  return g_steal_pointer (&out);
}

gboolean
td_state_db_put_local_only (TdStateDb *db, gint64 folder_id, const char *base, GError **error)
{
  sqlite3_stmt *stmt = statement (db, "INSERT OR IGNORE INTO local_only (folder_id, base) "
                                      "VALUES (?, ?)", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_text (stmt, 2, base, -1, SQLITE_STATIC);
  return step_done (db, stmt, error);
}

gboolean
td_state_db_remove_local_only (TdStateDb *db, gint64 folder_id, const char *base, GError **error)
{
  return delete_by_base (db, "DELETE FROM local_only WHERE folder_id = ? AND base = ?",
                         folder_id, base, error);
}

/**
 * td_state_db_remove_folder:
 * @db: a database
 * @folder_id: the folder
 * @error: return location for an error
 *
 * Forgets a folder and everything recorded for it.
 *
 * Returns: %TRUE on success
 */
gboolean
td_state_db_remove_folder (TdStateDb *db, gint64 folder_id, GError **error)
{
  static const char *const sql[] = {
    "DELETE FROM messages WHERE folder_id = ?", "DELETE FROM uploads WHERE folder_id = ?",
    "DELETE FROM local_only WHERE folder_id = ?", "DELETE FROM downloads WHERE folder_id = ?",
    "DELETE FROM left_on_server WHERE folder_id = ?", "DELETE FROM folders WHERE id = ?",
  };

  for (guint i = 0; i < G_N_ELEMENTS (sql); i++)
    {
      sqlite3_stmt *stmt = statement (db, sql[i], error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, folder_id);
      if (!step_done (db, stmt, error))
        return FALSE;
    }
  return TRUE;
}

/* Messages max-size or max-age left on the server (versions 5 to 7) */

static int
compare_left (gconstpointer a, gconstpointer b)
{
  guint32 x = ((const TdStateLeft *) a)->uid, y = ((const TdStateLeft *) b)->uid;
  return x < y ? -1 : x > y;
}

/**
 * td_state_db_load_left:
 * @db: a database
 * @folder_id: the folder
 * @error: return location for an error
 *
 * Returns: (transfer full) (element-type TdStateLeft) (nullable): the messages max-size or
 *   max-age left on the server, by ascending UID
 */
GArray *
td_state_db_load_left (TdStateDb *db, gint64 folder_id, GError **error)
{
  sqlite3_stmt *stmt = statement (db, "SELECT uid, size, internal_date, received_before "
                                      "FROM left_on_server WHERE folder_id = ?",
                                  error);
  g_autoptr (GArray) out = g_array_new (FALSE, FALSE, sizeof (TdStateLeft));
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      TdStateLeft t = { (guint32) sqlite3_column_int64 (stmt, 0),
                        (guint64) sqlite3_column_int64 (stmt, 1), sqlite3_column_int64 (stmt, 2),
                        sqlite3_column_int64 (stmt, 3) };
      g_array_append_val (out, t);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return db_error (db, error, "read the messages left on the server"), NULL;
  g_array_sort (out, compare_left);
  return g_steal_pointer (&out);
}

/**
 * td_state_db_load_keywords:
 * @db: the state DB
 * @folder_id: a folder
 * @error: return location for an error
 *
 * Returns: (transfer full) (element-type utf8): the folder's keyword names by slot, from
 *   slot 0 on, as far as the slots run without a gap; %NULL on error
 */
GPtrArray *
td_state_db_load_keywords (TdStateDb *db, gint64 folder_id, GError **error)
{
  sqlite3_stmt *stmt = statement (db, "SELECT slot, name FROM keywords WHERE folder_id = ? "
                                      "ORDER BY slot", error);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *name = (const char *) sqlite3_column_text (stmt, 1);
      if (sqlite3_column_int64 (stmt, 0) == out->len && name != NULL)
        g_ptr_array_add (out, g_strdup (name));
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return db_error (db, error, "read the keywords"), NULL;
  return g_steal_pointer (&out);
}

gboolean
td_state_db_put_keyword (TdStateDb *db, gint64 folder_id, guint slot, const char *name,
                         GError **error)
{
  sqlite3_stmt *stmt = statement (db, "INSERT OR REPLACE INTO keywords (folder_id, slot, name) "
                                      "VALUES (?, ?, ?)", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_int64 (stmt, 2, slot);
  sqlite3_bind_text (stmt, 3, name, -1, SQLITE_TRANSIENT);
  return step_done (db, stmt, error);
}

gboolean
td_state_db_put_left (TdStateDb *db, gint64 folder_id, const TdStateLeft *message,
                      GError **error)
{
  sqlite3_stmt *stmt = statement (db, "INSERT OR REPLACE INTO left_on_server (folder_id, uid, "
                                      "size, internal_date, received_before) "
                                      "VALUES (?, ?, ?, ?, ?)", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_int64 (stmt, 2, message->uid);
  sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) MIN (message->size, (guint64) G_MAXINT64));
  sqlite3_bind_int64 (stmt, 4, message->internal_date);
  sqlite3_bind_int64 (stmt, 5, message->received_before);
  return step_done (db, stmt, error);
}

/* @uid 0: every row of the folder. */
gboolean
td_state_db_remove_left (TdStateDb *db, gint64 folder_id, guint32 uid, GError **error)
{
  sqlite3_stmt *stmt = statement (db, uid == 0 ? "DELETE FROM left_on_server WHERE folder_id = ?"
                                               : "DELETE FROM left_on_server WHERE folder_id = ? "
                                                 "AND uid = ?", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  if (uid != 0)
    sqlite3_bind_int64 (stmt, 2, uid);
  return step_done (db, stmt, error);
}

/* Download-only mailboxes (version 4) */

void
td_state_download_clear (TdStateDownload *download)
{
  g_clear_pointer (&download->unique_id, g_free);
  g_clear_pointer (&download->base, g_free);
  g_clear_pointer (&download->header_hash, g_free);
}

/**
 * td_state_db_load_downloads:
 * @db: a database
 * @folder_id: the folder
 * @error: return location for an error
 *
 * Returns: (transfer full) (element-type TdStateDownload): what was downloaded from the
 *   folder and is still recorded, pending intents included
 */
GArray *
td_state_db_load_downloads (TdStateDb *db, gint64 folder_id, GError **error)
{
  sqlite3_stmt *stmt = statement (db, "SELECT unique_id, base, size, header_hash, downloaded, "
                                      "pending, deleting FROM downloads WHERE folder_id = ?",
                                  error);
  g_autoptr (GArray) out = g_array_new (FALSE, TRUE, sizeof (TdStateDownload));
  int rc;

  if (stmt == NULL)
    return NULL;
  g_array_set_clear_func (out, (GDestroyNotify) td_state_download_clear);
  sqlite3_bind_int64 (stmt, 1, folder_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      TdStateDownload d = { 0 };
      d.unique_id = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      d.base = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      d.size = (guint64) sqlite3_column_int64 (stmt, 2);
      d.header_hash = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
      d.downloaded = sqlite3_column_int64 (stmt, 4);
      d.pending = sqlite3_column_int (stmt, 5) != 0;
      d.deleting = sqlite3_column_int (stmt, 6) != 0;
      g_array_append_val (out, d);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return db_error (db, error, "read downloads"), NULL;
  return g_steal_pointer (&out);
}

gboolean
td_state_db_put_download (TdStateDb *db, gint64 folder_id, const TdStateDownload *d,
                          GError **error)
{
  sqlite3_stmt *stmt = statement (db, "INSERT OR REPLACE INTO downloads (folder_id, unique_id, "
                                      "base, size, header_hash, downloaded, pending, deleting) "
                                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_text (stmt, 2, d->unique_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, d->base, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, (sqlite3_int64) d->size);
  sqlite3_bind_text (stmt, 5, d->header_hash, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 6, d->downloaded);
  sqlite3_bind_int (stmt, 7, d->pending ? 1 : 0);
  sqlite3_bind_int (stmt, 8, d->deleting ? 1 : 0);
  return step_done (db, stmt, error);
}

gboolean
td_state_db_remove_download (TdStateDb *db, gint64 folder_id, const char *unique_id,
                             const char *base, GError **error)
{
  sqlite3_stmt *stmt = statement (db, "DELETE FROM downloads WHERE folder_id = ? AND "
                                      "unique_id = ? AND base = ?", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_text (stmt, 2, unique_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, base, -1, SQLITE_STATIC);
  return step_done (db, stmt, error);
}
