/* td-maildir.c: Maildir delivery and maintenance (the Maildir rules as mutt, Dovecot and
 * notmuch read them: unique names, tmp/ then rename, flags after ":2,").
 *
 * Delivery writes tmp/tidings-<unique>, converting CRLF to LF on the fly and changing no
 * other byte, sets the mtime to the message's date and checks close(); it does not fsync.
 * Durability is the caller's batch step: td_maildir_sync_filesystem() once for many files,
 * then publish (rename into new/ or cur/), then td_maildir_folder_sync_dirs().
 */
#include "td-maildir.h"

#include <dirent.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/common/td-durable-step.h"
#include "td-maildir-keywords.h"
#include "td-storage-error.h"

#define WRITE_BUFFER (64 * 1024)

static char *unique_base (void);
static void read_keywords (TdMaildirFolder *folder);

struct _TdMaildir
{
  char *path;
  int fd;
  char *inbox_path; /* nullable: INBOX's own directory, apart from the layout */
  int inbox_fd;     /* -1 without one */
  dev_t inbox_dev;  /* to pass over it when a walk of the root comes to it */
  ino_t inbox_ino;
};

struct _TdMaildirFolder
{
  char *path;
  int fd, cur_fd, new_fd, tmp_fd;
  GMutex keywords_lock;        /* the folder is shared between a sync's threads */
  TdMaildirKeywords keywords;  /* its dovecot-keywords as last read or written */
};

struct _TdMaildirDelivery
{
  TdMaildirFolder *folder;
  char *base;
  char *tmp_name;
  int fd;
  gboolean pending_cr;
  gboolean created;
  gboolean published;
  char *published_as; /* "new/NAME" or "cur/NAME:2,FLAGS" once published */
  guint64 size;
  guint8 *buf;
  gsize buf_len;
};

static gboolean
io_error (GError **error, const char *what, const char *path, int errsv)
{
  g_set_error (error, TD_STORAGE_ERROR, TD_STORAGE_ERROR_IO, "cannot %s %s: %s%s", what, path,
               g_strerror (errsv), errsv == ENOSPC || errsv == EDQUOT
                                     ? " (free some space; the next run finishes the job)" : "");
  return FALSE;
}

static int
open_root (const char *path, const char *what, GError **error)
{
  int fd;

  if (g_mkdir_with_parents (path, 0700) != 0)
    return io_error (error, what, path, errno), -1;
  fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return io_error (error, what, path, errno), -1;
  return fd;
}

/**
 * td_maildir_open:
 * @root: the account's Maildir, created when missing
 * @inbox: (nullable): INBOX's own directory when it is not where the layout puts it (the
 *   `inbox` key, mbsync's `Inbox`), created when missing
 * @error: return location for an error
 *
 * With @inbox, the folder whose components are %TD_FOLDER_INBOX_APART is that directory,
 * and a walk of @root passes over it.
 *
 * Returns: (transfer full) (nullable): the Maildir
 */
TdMaildir *
td_maildir_open (const char *root, const char *inbox, GError **error)
{
  g_autoptr (TdMaildir) md = g_new0 (TdMaildir, 1);
  struct stat st;

  md->inbox_fd = -1;
  md->fd = open_root (root, "create the Maildir", error);
  if (md->fd < 0)
    return NULL;
  md->path = g_strdup (root);
  if (inbox == NULL)
    return g_steal_pointer (&md);
  md->inbox_fd = open_root (inbox, "create the INBOX Maildir", error);
  if (md->inbox_fd < 0 || fstat (md->inbox_fd, &st) != 0)
    return md->inbox_fd >= 0 ? io_error (error, "look at", inbox, errno), NULL : NULL;
  md->inbox_path = g_strdup (inbox);
  md->inbox_dev = st.st_dev;
  md->inbox_ino = st.st_ino;
  return g_steal_pointer (&md);
}

void
td_maildir_free (TdMaildir *maildir)
{
  if (maildir == NULL)
    return;
  if (maildir->fd >= 0)
    close (maildir->fd);
  if (maildir->inbox_fd >= 0)
    close (maildir->inbox_fd);
  g_free (maildir->path);
  g_free (maildir->inbox_path);
  g_free (maildir);
}

/* Whether @components name INBOX in its own directory, and that directory is known. */
static gboolean
inbox_apart (TdMaildir *maildir, char **components)
{
  return components[0] != NULL && g_str_equal (components[0], TD_FOLDER_INBOX_APART)
         && maildir->inbox_fd >= 0;
}

/**
 * td_maildir_dup_folder_path:
 * @maildir: the account's Maildir
 * @components: a folder's directories from td_folder_map_components()
 *
 * Returns: (transfer full): the folder's path, as reports and notices name it
 */
char *
td_maildir_dup_folder_path (TdMaildir *maildir, char **components)
{
  gboolean apart = inbox_apart (maildir, components);
  g_autofree char *rel = g_strjoinv (G_DIR_SEPARATOR_S, components + apart);

  return g_build_filename (apart ? maildir->inbox_path : maildir->path, rel, NULL);
}

const char *
td_maildir_get_path (TdMaildir *maildir)
{
  return maildir->path;
}

/**
 * td_maildir_sync_filesystem:
 * @maildir: a Maildir
 * @error: return location for an error
 *
 * Makes every file written so far durable at once (one journal commit, not one per file).
 *
 * Returns: %TRUE on success
 */
gboolean
td_maildir_sync_filesystem (TdMaildir *maildir, GError **error)
{
  if (syncfs (maildir->fd) != 0)
    return io_error (error, "flush the file system of", maildir->path, errno);
  td_durable_step ("maildir: file system flushed");
  return TRUE;
}

/* Opens a directory below @dirfd without following a symlink, creating it if asked. */
static int
open_subdir (int dirfd, const char *name, const char *path, gboolean create, GError **error)
{
  int fd;

  if (create && mkdirat (dirfd, name, 0700) != 0 && errno != EEXIST)
    return io_error (error, "create", path, errno), -1;
  fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && !create)
    g_set_error (error, TD_STORAGE_ERROR, TD_STORAGE_ERROR_GONE, "%s does not exist", path);
  else if (fd < 0)
    return io_error (error, errno == ELOOP || errno == ENOTDIR ? "use (not a plain directory)"
                                                               : "open", path, errno), -1;
  return fd;
}

static void
folder_clear (TdMaildirFolder *f)
{
  int fds[] = { f->fd, f->cur_fd, f->new_fd, f->tmp_fd };
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    if (fds[i] >= 0)
      close (fds[i]);
  g_free (f->path);
  td_maildir_keywords_clear (&f->keywords);
  g_mutex_clear (&f->keywords_lock);
}

static TdMaildirFolder *
open_folder (TdMaildir *maildir, char **components, gboolean create, GError **error)
{
  g_autoptr (TdMaildirFolder) f = g_atomic_rc_box_new0 (TdMaildirFolder);
  g_mutex_init (&f->keywords_lock);
  gboolean apart = inbox_apart (maildir, components);
  GString *path = g_string_new (apart ? maildir->inbox_path : maildir->path);

  f->cur_fd = f->new_fd = f->tmp_fd = -1;
  f->fd = dup (apart ? maildir->inbox_fd : maildir->fd);
  if (!apart && components[0] != NULL && g_str_equal (components[0], TD_FOLDER_INBOX_APART))
    {
      g_string_free (path, TRUE);
      g_set_error (error, TD_STORAGE_ERROR, TD_STORAGE_ERROR_IO, "INBOX has its own directory "
                   "in the layout but none was given");
      return NULL;
    }
  for (guint i = apart; components[i] != NULL && f->fd >= 0; i++)
    {
      g_string_append_printf (path, "/%s", components[i]);
      int next = open_subdir (f->fd, components[i], path->str, create, error);
      close (f->fd);
      f->fd = next;
    }
  f->path = g_string_free (path, FALSE);
  if (f->fd < 0)
    return NULL;
  g_autofree char *cur = g_build_filename (f->path, "cur", NULL);
  g_autofree char *new = g_build_filename (f->path, "new", NULL);
  g_autofree char *tmp = g_build_filename (f->path, "tmp", NULL);
  if ((f->cur_fd = open_subdir (f->fd, "cur", cur, create, error)) < 0
      || (f->new_fd = open_subdir (f->fd, "new", new, create, error)) < 0
      || (f->tmp_fd = open_subdir (f->fd, "tmp", tmp, create, error)) < 0)
    return NULL;
  return g_steal_pointer (&f);
}

/**
 * td_maildir_open_folder:
 * @maildir: the account's Maildir
 * @components: the folder's directories from td_folder_map_components()
 * @error: return location for an error
 *
 * Returns: (transfer full) (nullable): the folder, with cur/, new/ and tmp/ created
 */
TdMaildirFolder *
td_maildir_open_folder (TdMaildir *maildir, char **components, GError **error)
{
  return open_folder (maildir, components, TRUE, error);
}

/**
 * td_maildir_find_folder:
 * @maildir: the account's Maildir
 * @components: the folder's directories
 * @error: return location for an error; %TD_STORAGE_ERROR_GONE when it does not exist
 *
 * The same, creating nothing (for a dry run).
 *
 * Returns: (transfer full) (nullable): the folder
 */
TdMaildirFolder *
td_maildir_find_folder (TdMaildir *maildir, char **components, GError **error)
{
  return open_folder (maildir, components, FALSE, error);
}

TdMaildirFolder *
td_maildir_folder_ref (TdMaildirFolder *folder)
{
  return g_atomic_rc_box_acquire (folder);
}

void
td_maildir_folder_unref (TdMaildirFolder *folder)
{
  g_atomic_rc_box_release_full (folder, (GDestroyNotify) folder_clear);
}

const char *
td_maildir_folder_get_path (TdMaildirFolder *folder)
{
  return folder->path;
}

static GPtrArray *
list_dir (int dirfd)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  int fd = dup (dirfd);
  DIR *dir = fd >= 0 ? fdopendir (fd) : NULL;
  struct dirent *de;

  if (dir == NULL)
    {
      if (fd >= 0)
        close (fd);
      return names;
    }
  rewinddir (dir);
  while ((de = readdir (dir)) != NULL)
    if (de->d_name[0] != '.')
      g_ptr_array_add (names, g_strdup (de->d_name));
  closedir (dir);
  return names;
}

/**
 * td_maildir_folder_clean_tmp:
 * @folder: a folder
 *
 * Removes what an interrupted run of Tidings left in tmp/; other programs' files stay.
 * Call only while holding the account's lock.
 *
 * Returns: how many files were removed
 */
guint
td_maildir_folder_clean_tmp (TdMaildirFolder *folder)
{
  g_autoptr (GPtrArray) names = list_dir (folder->tmp_fd);
  guint removed = 0;

  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      if (g_str_has_prefix (name, TD_MAILDIR_TMP_PREFIX) && unlinkat (folder->tmp_fd, name, 0) == 0)
        removed++;
    }
  return removed;
}

void
td_maildir_entry_free (TdMaildirEntry *entry)
{
  g_free (entry->filename);
  g_free (entry);
}

static void
scan_into (GHashTable *table, int dirfd, gboolean in_cur)
{
  g_autoptr (GPtrArray) names = list_dir (dirfd);

  for (guint i = 0; i < names->len; i++)
    {
      char *name = g_ptr_array_index (names, i);
      const char *colon = strchr (name, ':');
      TdMaildirEntry *e = g_new0 (TdMaildirEntry, 1);
      e->in_cur = in_cur;
      if (colon != NULL && g_str_has_prefix (colon, ":2,"))
        {
          e->flags = td_flags_from_maildir (colon + 3);
          e->letters = td_maildir_keyword_letters (colon + 3);
        }
      e->filename = g_strdup (name);
      g_hash_table_replace (table, colon ? g_strndup (name, colon - name) : g_strdup (name), e);
    }
}

/**
 * td_maildir_folder_scan:
 * @folder: a folder
 * @error: return location for an error
 *
 * Returns: (transfer full) (element-type utf8 TdMaildirEntry): every message by base name
 */
GHashTable *
td_maildir_folder_scan (TdMaildirFolder *folder, GError **error)
{
  read_keywords (folder);
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) td_maildir_entry_free);
  scan_into (table, folder->new_fd, FALSE);
  scan_into (table, folder->cur_fd, TRUE);
  return table;
}

static int
compare_chars (const void *a, const void *b)
{
  return *(const char *) a - *(const char *) b;
}

/* The info letters for @flags and the keyword @letters, sorted. Of the old name's letters,
 * keeps those Tidings does not manage: other letters, and keyword letters outside @managed
 * (which dovecot-keywords does not name, so no keyword can be told from them). */
static char *
merge_info (const char *old_filename, TdFlags flags, guint32 letters, guint32 managed)
{
  g_autofree char *ours = td_flags_to_maildir (flags);
  const char *colon = strchr (old_filename, ':');
  GString *out = g_string_new (ours);

  for (guint i = 0; i < TD_MAILDIR_KEYWORD_LETTERS; i++)
    if (letters & (1u << i))
      g_string_append_c (out, (char) ('a' + i));
  if (colon != NULL && g_str_has_prefix (colon, ":2,"))
    for (const char *p = colon + 3; *p != '\0'; p++)
      {
        gboolean keyword = *p >= 'a' && *p <= 'z';
        if (!g_ascii_isalpha (*p) || strchr ("DFPRST", *p) != NULL || strchr (out->str, *p) != NULL
            || (keyword && (managed & (1u << (*p - 'a')))))
          continue;
        g_string_append_c (out, *p);
      }
  char *sorted = g_string_free (out, FALSE);
  qsort (sorted, strlen (sorted), 1, compare_chars);
  return sorted;
}

/* Keywords: the folder's dovecot-keywords, read at each scan, so the letters of the files
 * just scanned are read by the names that file gives them now. */

static void
read_keywords (TdMaildirFolder *folder)
{
  gsize len = 0;
  g_autofree char *data = td_maildir_folder_read_small (folder, TD_MAILDIR_KEYWORDS_FILE,
                                                         TD_MAILDIR_KEYWORDS_MAX_FILE, &len);
  g_mutex_lock (&folder->keywords_lock);
  td_maildir_keywords_clear (&folder->keywords);
  if (data != NULL)
    td_maildir_keywords_parse (data, len, &folder->keywords);
  g_mutex_unlock (&folder->keywords_lock);
}

/**
 * td_maildir_folder_dup_keyword:
 * @folder: a folder
 * @letter: a keyword letter's index, 0 for 'a'
 *
 * Returns: (transfer full) (nullable): the keyword the folder's dovecot-keywords names by
 *   @letter, as of the last scan or addition
 */
char *
td_maildir_folder_dup_keyword (TdMaildirFolder *folder, guint letter)
{
  g_return_val_if_fail (letter < TD_MAILDIR_KEYWORD_LETTERS, NULL);
  g_mutex_lock (&folder->keywords_lock);
  char *name = g_strdup (folder->keywords.names[letter]);
  g_mutex_unlock (&folder->keywords_lock);
  return name;
}

/**
 * td_maildir_folder_named_letters:
 * @folder: a folder
 *
 * Returns: the keyword letters its dovecot-keywords names, bit 0 for 'a'
 */
guint32
td_maildir_folder_named_letters (TdMaildirFolder *folder)
{
  guint32 mask = 0;

  g_mutex_lock (&folder->keywords_lock);
  for (guint i = 0; i < TD_MAILDIR_KEYWORD_LETTERS; i++)
    if (folder->keywords.names[i] != NULL)
      mask |= 1u << i;
  g_mutex_unlock (&folder->keywords_lock);
  return mask;
}

/* dovecot-keywords is replaced whole: written in tmp/, flushed, renamed over the old one, so
 * a crash leaves the old names or the new ones, never half a file. */
static gboolean
write_keywords (TdMaildirFolder *folder, const TdMaildirKeywords *keywords, GError **error)
{
  g_autofree char *text = td_maildir_keywords_format (keywords);
  g_autofree char *tmp = g_strdup_printf (TD_MAILDIR_TMP_PREFIX "keywords-%s", unique_base ());
  int fd = openat (folder->tmp_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  gsize len = strlen (text), off = 0;

  if (fd < 0)
    return io_error (error, "write the keywords file of", folder->path, errno);
  while (off < len)
    {
      ssize_t n = write (fd, text + off, len - off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      off += (gsize) n;
    }
  int err = off < len ? (errno ? errno : EIO) : 0;
  if (err == 0 && fsync (fd) != 0)
    err = errno;
  if (close (fd) != 0 && err == 0)
    err = errno;
  if (err == 0 && renameat (folder->tmp_fd, tmp, folder->fd, TD_MAILDIR_KEYWORDS_FILE) != 0)
    err = errno;
  if (err != 0)
    {
      unlinkat (folder->tmp_fd, tmp, 0);
      return io_error (error, "write the keywords file of", folder->path, err);
    }
  if (fsync (folder->fd) != 0)
    return io_error (error, "write the keywords file of", folder->path, errno);
  td_durable_step ("maildir: keywords file written");
  return TRUE;
}

/**
 * td_maildir_folder_keyword_letter:
 * @folder: a folder
 * @name: a valid keyword name
 * @error: return location for an error
 *
 * The letter of @name in the folder's dovecot-keywords; a name it lacks is given the first
 * free letter and the file is durably rewritten before this returns, so no file name uses a
 * letter the keywords file does not name.
 *
 * Returns: the letter's index (0 for 'a'), or -1: no letter is free (@error unset), or the
 *   file could not be written (@error set)
 */
int
td_maildir_folder_keyword_letter (TdMaildirFolder *folder, const char *name, GError **error)
{
  g_mutex_lock (&folder->keywords_lock);
  int letter = td_maildir_keywords_find (&folder->keywords, name);
  if (letter < 0)
    {
      TdMaildirKeywords next = { { NULL } };
      for (guint i = 0; i < TD_MAILDIR_KEYWORD_LETTERS; i++)
        next.names[i] = g_strdup (folder->keywords.names[i]);
      letter = td_maildir_keywords_add (&next, name);
      if (letter >= 0 && !write_keywords (folder, &next, error))
        letter = -1, td_maildir_keywords_clear (&next);
      else if (letter >= 0)
        td_maildir_keywords_clear (&folder->keywords), folder->keywords = next;
      else
        td_maildir_keywords_clear (&next);
    }
  g_mutex_unlock (&folder->keywords_lock);
  return letter;
}

/**
 * td_maildir_folder_set_flags:
 * @folder: a folder
 * @base: the message's base name
 * @entry: (inout): the message as scanned; updated to its new name
 * @flags: the flags it should have
 * @letters: its keyword letters (bit 0 for 'a'), each named in the folder's dovecot-keywords
 * @error: return location for an error
 *
 * Renames the message into cur/ with @flags and @letters. A file that vanished meanwhile (a
 * mail reader moved it) is not an error: the next scan sees where it went.
 *
 * Returns: %TRUE unless the rename failed
 */
gboolean
td_maildir_folder_set_flags (TdMaildirFolder *folder, const char *base, TdMaildirEntry *entry,
                             TdFlags flags, guint32 letters, GError **error)
{
  g_autofree char *info = merge_info (entry->filename, flags, letters,
                                      td_maildir_folder_named_letters (folder));
  g_autofree char *target = g_strdup_printf ("%s:2,%s", base, info);

  if (entry->in_cur && g_str_equal (target, entry->filename))
    return TRUE;
  if (renameat (entry->in_cur ? folder->cur_fd : folder->new_fd, entry->filename, folder->cur_fd,
                target) != 0)
    {
      if (errno == ENOENT)
        return TRUE;
      return io_error (error, "rename a message in", folder->path, errno);
    }
  g_free (entry->filename);
  entry->filename = g_steal_pointer (&target);
  entry->in_cur = TRUE;
  entry->flags = flags;
  entry->letters = letters;
  td_durable_step ("maildir: message renamed to new flags");
  return TRUE;
}

/**
 * td_maildir_folder_move_to:
 * @folder: the folder the message is in
 * @base: its base name
 * @entry: the message as scanned
 * @to: another folder of the same Maildir
 * @flags: the flags it should have there
 * @letters: its keyword letters there, named in @to's dovecot-keywords
 * @error: return location for an error
 *
 * Renames the message into @to's cur/ with @flags and @letters, keeping its base name (a
 * message the server moved); its old keyword letters, which @folder named, are dropped. A
 * file of that name already in @to is never replaced: that, and a file that vanished
 * meanwhile, fail with %TD_STORAGE_ERROR_GONE and change nothing.
 *
 * Returns: %TRUE when the message is in @to
 */
gboolean
td_maildir_folder_move_to (TdMaildirFolder *folder, const char *base, const TdMaildirEntry *entry,
                           TdMaildirFolder *to, TdFlags flags, guint32 letters, GError **error)
{
  g_autofree char *info = merge_info (entry->filename, flags, letters, ~0u);
  g_autofree char *target = g_strdup_printf ("%s:2,%s", base, info);

  if (renameat2 (entry->in_cur ? folder->cur_fd : folder->new_fd, entry->filename, to->cur_fd,
                 target, RENAME_NOREPLACE) != 0)
    {
      if (errno == ENOENT || errno == EEXIST)
        {
          g_set_error (error, TD_STORAGE_ERROR, TD_STORAGE_ERROR_GONE, "%s: %s is %s",
                       folder->path, entry->filename,
                       errno == ENOENT ? "gone" : "already in the other folder");
          return FALSE;
        }
      return io_error (error, "move a message out of", folder->path, errno);
    }
  td_durable_step ("maildir: message moved to another folder");
  return TRUE;
}

gboolean
td_maildir_folder_remove (TdMaildirFolder *folder, const TdMaildirEntry *entry, GError **error)
{
  if (unlinkat (entry->in_cur ? folder->cur_fd : folder->new_fd, entry->filename, 0) != 0
      && errno != ENOENT)
    return io_error (error, "remove a message from", folder->path, errno);
  td_durable_step ("maildir: message removed");
  return TRUE;
}

gboolean
td_maildir_folder_sync_dirs (TdMaildirFolder *folder, GError **error)
{
  if (fsync (folder->new_fd) != 0 || fsync (folder->cur_fd) != 0)
    return io_error (error, "flush the directories of", folder->path, errno);
  td_durable_step ("maildir: directories flushed");
  return TRUE;
}

static gint64
mtime_ns (const struct stat *st)
{
  return (gint64) st->st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000) + st->st_mtim.tv_nsec;
}

/**
 * td_maildir_folder_dir_mtimes:
 * @folder: a folder
 * @cur_ns: (out): cur/'s modification time in nanoseconds, 0 if unknown
 * @new_ns: (out): new/'s
 *
 * A mail reader's rename or delivery changes these, so unchanged times mean nothing to scan.
 */
void
td_maildir_folder_dir_mtimes (TdMaildirFolder *folder, gint64 *cur_ns, gint64 *new_ns)
{
  struct stat st;
  *cur_ns = fstat (folder->cur_fd, &st) == 0 ? mtime_ns (&st) : 0;
  *new_ns = fstat (folder->new_fd, &st) == 0 ? mtime_ns (&st) : 0;
}

/* Counts the messages in one of a folder's subdirectories; in cur/, those without S too. */
static gboolean
count_dir (const char *folder_path, const char *sub, guint *total, guint *unseen)
{
  g_autofree char *path = g_build_filename (folder_path, sub, NULL);
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *dir = fd >= 0 ? fdopendir (fd) : NULL;
  struct dirent *e;

  if (dir == NULL)
    {
      if (fd >= 0)
        close (fd);
      return FALSE;
    }
  while ((e = readdir (dir)) != NULL)
    {
      if (e->d_name[0] == '.')
        continue;
      const char *info = strstr (e->d_name, ":2,");
      (*total)++;
      if (g_str_equal (sub, "new") || info == NULL || strchr (info + 3, 'S') == NULL)
        (*unseen)++;
    }
  closedir (dir);
  return TRUE;
}

/**
 * td_maildir_count:
 * @folder_path: a folder's directory (the one holding cur/ and new/)
 * @total: (out): messages in cur/ and new/
 * @unseen: (out): of those, the ones a mail reader shows as unread (new/, or no S flag)
 *
 * Returns: %FALSE when the folder cannot be read
 */
gboolean
td_maildir_count (const char *folder_path, guint *total, guint *unseen)
{
  *total = *unseen = 0;
  return count_dir (folder_path, "cur", total, unseen)
         && count_dir (folder_path, "new", total, unseen);
}

/**
 * td_maildir_dir_mtimes:
 * @maildir: the account's Maildir
 * @components: a folder's directories
 * @cur_ns: (out): cur/'s modification time in nanoseconds
 * @new_ns: (out): new/'s
 *
 * The same without opening the folder: for deciding whether to open it at all.
 *
 * Returns: %FALSE when the folder's directories cannot be looked at
 */
gboolean
td_maildir_dir_mtimes (TdMaildir *maildir, char **components, gint64 *cur_ns, gint64 *new_ns)
{
  gboolean apart = inbox_apart (maildir, components);
  g_autofree char *rel = g_strjoinv ("/", components + apart);
  g_autofree char *cur = g_build_filename (*rel ? rel : ".", "cur", NULL);
  g_autofree char *new = g_build_filename (*rel ? rel : ".", "new", NULL);
  int fd = apart ? maildir->inbox_fd : maildir->fd;
  struct stat a, b;

  if (!apart && components[0] != NULL && g_str_equal (components[0], TD_FOLDER_INBOX_APART))
    return FALSE;
  if (fstatat (fd, cur, &a, AT_SYMLINK_NOFOLLOW) != 0
      || fstatat (fd, new, &b, AT_SYMLINK_NOFOLLOW) != 0)
    return FALSE;
  *cur_ns = mtime_ns (&a);
  *new_ns = mtime_ns (&b);
  return TRUE;
}

/* Whether @name below @dirfd is a directory, not following a symlink. */
static gboolean
is_dir_at (int dirfd, const char *name, unsigned char type)
{
  struct stat st;

  if (type != DT_UNKNOWN)
    return type == DT_DIR;
  return fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode);
}

static gboolean
holds_maildir (int fd)
{
  struct stat a, b;
  return fstatat (fd, "cur", &a, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (a.st_mode)
         && fstatat (fd, "new", &b, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (b.st_mode);
}

typedef struct
{
  GPtrArray *found;  /* GStrv */
  GPtrArray *path;   /* the components down to the directory being walked */
  TdLayout layout;
  guint visited;
  const TdMaildir *maildir;
} Walk;

/* Whether @fd is INBOX's own directory, which is no folder of the layout's. */
static gboolean
is_inbox_apart (const TdMaildir *maildir, int fd)
{
  struct stat st;
  return maildir->inbox_fd >= 0 && fstat (fd, &st) == 0 && st.st_dev == maildir->inbox_dev
         && st.st_ino == maildir->inbox_ino;
}

/* Whether a directory named @n at the walk's depth can be a folder of the layout: dotted
 * ones are folders in maildir++ (at the top) and mbsync's legacy layout (below it), and
 * hidden directories (.notmuch) elsewhere. */
static gboolean
may_be_folder (Walk *w, const char *n)
{
  gboolean dotted = n[0] == '.';
  gboolean top = w->path->len == 0;

  switch (w->layout)
    {
    case TD_LAYOUT_MAILDIRPP:
      return dotted;
    case TD_LAYOUT_LEGACY:
      return dotted != top;
    case TD_LAYOUT_VERBATIM:
    case TD_LAYOUT_FLAT:
    default:
      return !dotted;
    }
}

/* Whether folders can be below folders: not in the layouts that keep them all at the top. */
static gboolean
walks_down (Walk *w)
{
  return w->layout == TD_LAYOUT_VERBATIM || w->layout == TD_LAYOUT_LEGACY;
}

/* Adds the folders at and below @fd (which it closes) to walk->found. */
static gboolean
walk_dir (Walk *w, int fd, GError **error)
{
  DIR *dir = fdopendir (fd);
  struct dirent *de;
  g_autoptr (GPtrArray) subdirs = g_ptr_array_new_with_free_func (g_free);

  if (dir == NULL)
    return close (fd), TRUE;
  while ((de = readdir (dir)) != NULL)
    {
      const char *n = de->d_name;
      if (g_str_equal (n, ".") || g_str_equal (n, "..") || g_str_equal (n, "cur")
          || g_str_equal (n, "new") || g_str_equal (n, "tmp"))
        continue;
      if (!may_be_folder (w, n) || !is_dir_at (dirfd (dir), n, de->d_type))
        continue;
      g_ptr_array_add (subdirs, g_strdup (n));
    }
  for (guint i = 0; i < subdirs->len; i++)
    {
      const char *n = g_ptr_array_index (subdirs, i);
      int sub = openat (dirfd (dir), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0)
        continue;
      if (is_inbox_apart (w->maildir, sub))
        {
          close (sub);
          continue;
        }
      if (++w->visited > TD_MAILDIR_MAX_WALK)
        {
          close (sub);
          closedir (dir);
          g_set_error (error, TD_STORAGE_ERROR, TD_STORAGE_ERROR_IO, "more than %d "
                       "directories below the Maildir; is maildir set to the right place?",
                       TD_MAILDIR_MAX_WALK);
          return FALSE;
        }
      g_ptr_array_add (w->path, g_strdup (n));
      g_ptr_array_add (w->path, NULL);
      if (holds_maildir (sub))
        g_ptr_array_add (w->found, g_strdupv ((char **) w->path->pdata));
      g_ptr_array_remove_index (w->path, w->path->len - 1);
      gboolean ok = TRUE;
      if (walks_down (w) && w->path->len < TD_MAILDIR_MAX_WALK_DEPTH)
        ok = walk_dir (w, sub, error);
      else
        close (sub);
      g_ptr_array_remove_index (w->path, w->path->len - 1);
      if (!ok)
        {
          closedir (dir);
          return FALSE;
        }
    }
  closedir (dir);
  return TRUE;
}

/**
 * td_maildir_list_folders:
 * @maildir: the account's Maildir
 * @layout: how folders are laid out: nested directories (verbatim, and legacy with the
 *   nested ones dot-named), or all at the top (flat; maildir++, dot-named, where the
 *   Maildir itself is INBOX)
 * @error: return location for an error
 *
 * Finds every folder (a directory holding cur/ and new/) without following symlinks and
 * without looking into cur/, new/ or tmp/, so it costs one directory read per folder. INBOX's
 * own directory, where it has one, is not listed (nor what is below it): it is no folder of
 * the layout's.
 *
 * Returns: (transfer full) (element-type GStrv): each folder's directories below @maildir
 */
GPtrArray *
td_maildir_list_folders (TdMaildir *maildir, TdLayout layout, GError **error)
{
  Walk w = { g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev),
             g_ptr_array_new_with_free_func (g_free), layout, 0, maildir };
  int fd = dup (maildir->fd);

  if (layout == TD_LAYOUT_MAILDIRPP && holds_maildir (maildir->fd)
      && !is_inbox_apart (maildir, maildir->fd))
    g_ptr_array_add (w.found, g_new0 (char *, 1));
  if (fd < 0 || !walk_dir (&w, fd, error))
    {
      if (fd < 0)
        io_error (error, "read", maildir->path, errno);
      g_ptr_array_unref (w.path);
      g_ptr_array_unref (w.found);
      return NULL;
    }
  g_ptr_array_unref (w.path);
  return w.found;
}

/**
 * td_maildir_remove_folder:
 * @maildir: the account's Maildir
 * @components: the folder's directories
 * @known: (element-type utf8): the base names of every message the folder may hold
 * @error: return location for an error; %TD_STORAGE_ERROR_UNSAFE when it holds other files
 *
 * Removes a folder's messages, then cur/, new/ and tmp/, then its directory when nothing
 * else (a subfolder) is left in it. Refuses, removing nothing, when a message file is not in
 * @known: it was never on the server and would be lost.
 *
 * Returns: %TRUE when the folder's mail is gone
 */
gboolean
td_maildir_remove_folder (TdMaildir *maildir, char **components, GHashTable *known,
                          GError **error)
{
  g_autoptr (TdMaildirFolder) f = NULL;
  g_autoptr (GHashTable) disk = NULL;
  guint unknown = 0;
  GHashTableIter it;
  gpointer base, value;

  GError *e = NULL;

  if ((f = td_maildir_find_folder (maildir, components, &e)) == NULL)
    {
      if (g_error_matches (e, TD_STORAGE_ERROR, TD_STORAGE_ERROR_GONE))
        return g_error_free (e), TRUE; /* gone already */
      g_propagate_error (error, e);
      return FALSE;
    }
  if ((disk = td_maildir_folder_scan (f, error)) == NULL)
    return FALSE;
  g_hash_table_iter_init (&it, disk);
  while (g_hash_table_iter_next (&it, &base, NULL))
    unknown += !g_hash_table_contains (known, base);
  if (unknown > 0)
    {
      g_set_error (error, TD_STORAGE_ERROR, TD_STORAGE_ERROR_UNSAFE, "%s holds %u messages that "
                   "were never on the server; move them to another folder first", f->path,
                   unknown);
      return FALSE;
    }
  g_hash_table_iter_init (&it, disk);
  while (g_hash_table_iter_next (&it, &base, &value))
    if (!td_maildir_folder_remove (f, value, error))
      return FALSE;
  g_autoptr (GPtrArray) tmp = list_dir (f->tmp_fd);
  for (guint i = 0; i < tmp->len; i++)
    unlinkat (f->tmp_fd, g_ptr_array_index (tmp, i), 0);
  const char *subs[] = { "cur", "new", "tmp" };
  for (guint i = 0; i < G_N_ELEMENTS (subs); i++)
    if (unlinkat (f->fd, subs[i], AT_REMOVEDIR) != 0 && errno != ENOENT)
      return io_error (error, "remove", f->path, errno);
  if (components[0] != NULL)
    {
      g_autofree char *rel = g_strjoinv ("/", components);
      if (unlinkat (maildir->fd, rel, AT_REMOVEDIR) != 0 && errno != ENOTEMPTY
          && errno != EEXIST)
        return io_error (error, "remove", f->path, errno);
    }
  /* Not flushed: should the removal be undone by a crash, the next --prune-folders redoes it. */
  return TRUE;
}

/* The header block is looked at up to this size for the Message-ID. */
#define IDENTITY_HEADER_MAX (256 * 1024)

/* A message file that cannot be read, named in full: gone (a mail reader moved it), or
 * there and unreadable (permissions, a symbolic link, which is never followed). */
static gboolean
unreadable (GError **error, TdMaildirFolder *folder, const TdMaildirEntry *entry, int errsv)
{
  g_autofree char *path = g_build_filename (folder->path, entry->in_cur ? "cur" : "new",
                                            entry->filename, NULL);
  if (errsv == ENOENT)
    g_set_error (error, TD_STORAGE_ERROR, TD_STORAGE_ERROR_GONE, "%s is gone", path);
  else
    g_set_error (error, TD_STORAGE_ERROR, TD_STORAGE_ERROR_UNREADABLE, "cannot read %s: %s%s",
                 path, g_strerror (errsv),
                 errsv == ELOOP ? " (a symbolic link; Tidings reads only plain files)" : "");
  return FALSE;
}

/**
 * td_maildir_folder_read_identity:
 * @folder: a folder
 * @entry: a message file in it
 * @message_id: (out) (nullable): its Message-ID, or %NULL when it has none
 * @wire_size: (out): its size with every bare LF counted as CRLF, as a server reports it
 * @error: return location for an error
 *
 * Reads what identifies a message that Tidings did not write (adopting an existing Maildir).
 *
 * Returns: %TRUE when the file could be read
 */
/* The wire length (CRLF line ends) of the X-TUID header line mbsync puts in the messages it
 * stores, in the header block @head; 0 without one. */
static guint64
mbsync_line (const GByteArray *head)
{
  const char *p = (const char *) head->data, *end = p + head->len;

  while (p < end && *p != '\n' && !(*p == '\r' && p + 1 < end && p[1] == '\n'))
    {
      const char *nl = memchr (p, '\n', end - p);
      if (nl == NULL)
        return 0;
      if (nl - p > 7 && g_ascii_strncasecmp (p, "X-TUID:", 7) == 0)
        return (guint64) (nl - p) + (nl > p && nl[-1] == '\r' ? 1 : 2);
      p = nl + 1;
    }
  return 0;
}

/**
 * td_maildir_folder_has_file:
 * @folder: a folder
 * @name: a file in the folder's own directory
 *
 * Returns: whether it exists (a symlink counts; it is not followed)
 */
gboolean
td_maildir_folder_has_file (TdMaildirFolder *folder, const char *name)
{
  struct stat st;
  return fstatat (folder->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/**
 * td_maildir_folder_read_small:
 * @folder: a folder
 * @name: a file in the folder's own directory (not in cur/ or new/), such as another tool's
 *   state
 * @max: the most bytes it may have
 * @len: (out): how many it has
 *
 * Reads the file whole, without following a symlink.
 *
 * Returns: (transfer full) (nullable): its bytes with a NUL after them, or %NULL when it is
 *   missing, not a plain file, bigger than @max or unreadable
 */
char *
td_maildir_folder_read_small (TdMaildirFolder *folder, const char *name, gsize max, gsize *len)
{
  int fd = openat (folder->fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  char *buf;
  gsize got = 0;

  if (fd < 0)
    return NULL;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size < 0 || (guint64) st.st_size > max)
    return close (fd), NULL;
  buf = g_malloc ((gsize) st.st_size + 1);
  while (got < (gsize) st.st_size)
    {
      ssize_t n = read (fd, buf + got, (gsize) st.st_size - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      got += (gsize) n;
    }
  close (fd);
  if (got != (gsize) st.st_size)
    return g_free (buf), NULL;
  buf[got] = '\0';
  *len = got;
  return buf;
}

gboolean
td_maildir_folder_read_identity (TdMaildirFolder *folder, const TdMaildirEntry *entry,
                                 char **message_id, guint64 *wire_size, guint64 *tool_line,
                                 GError **error)
{
  int fd = openat (entry->in_cur ? folder->cur_fd : folder->new_fd, entry->filename,
                   O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  g_autoptr (GByteArray) head = g_byte_array_new ();
  guint8 buf[WRITE_BUFFER];
  guint64 size = 0;
  char last = '\0';
  ssize_t n;

  if (fd < 0)
    return unreadable (error, folder, entry, errno);
  while ((n = read (fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    {
      for (ssize_t i = 0; i < n; i++)
        {
          if (buf[i] == '\n' && last != '\r')
            size++;
          last = (char) buf[i];
        }
      size += (guint64) MAX (n, 0);
      if (head->len < IDENTITY_HEADER_MAX && n > 0)
        g_byte_array_append (head, buf, (guint) MIN ((gsize) n, IDENTITY_HEADER_MAX - head->len));
    }
  int errsv = errno;
  close (fd);
  if (n < 0)
    return unreadable (error, folder, entry, errsv);
  *message_id = td_message_id_parse ((const char *) head->data, head->len);
  *wire_size = size;
  if (tool_line != NULL)
    *tool_line = mbsync_line (head);
  return TRUE;
}

static int
open_entry (TdMaildirFolder *folder, const TdMaildirEntry *entry)
{
  return openat (entry->in_cur ? folder->cur_fd : folder->new_fd, entry->filename,
                 O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

/**
 * td_maildir_folder_open_message:
 * @folder: a folder
 * @base: the message's base name
 * @entry: (inout): the message as scanned; updated when a mail reader renamed it since
 * @mtime: (out): the file's modification time in seconds (its date on the server)
 * @error: return location for an error: %TD_STORAGE_ERROR_GONE when no file has @base now
 *
 * Opens a message for reading, following a rename the mail reader made after the scan.
 *
 * Returns: a file descriptor the caller closes, or -1
 */
int
td_maildir_folder_open_message (TdMaildirFolder *folder, const char *base, TdMaildirEntry *entry,
                                gint64 *mtime, GError **error)
{
  int fd = open_entry (folder, entry);
  struct stat st;

  if (fd < 0 && errno == ENOENT)
    {
      g_autoptr (GHashTable) now = td_maildir_folder_scan (folder, NULL);
      TdMaildirEntry *moved = g_hash_table_lookup (now, base);
      if (moved == NULL)
        {
          g_set_error (error, TD_STORAGE_ERROR, TD_STORAGE_ERROR_GONE,
                       "a message in %s was removed while Tidings read it", folder->path);
          return -1;
        }
      g_free (entry->filename);
      entry->filename = g_strdup (moved->filename);
      entry->in_cur = moved->in_cur;
      entry->flags = moved->flags;
      fd = open_entry (folder, entry);
    }
  if (fd < 0)
    return unreadable (error, folder, entry, errno), -1;
  if (fstat (fd, &st) != 0)
    {
      int errsv = errno;
      close (fd);
      return io_error (error, "read a message in", folder->path, errsv), -1;
    }
  *mtime = st.st_mtim.tv_sec;
  return fd;
}

/* Delivery */

static char *
unique_base (void)
{
  static gint counter;
  gint64 now = g_get_real_time ();
  char host[256] = "localhost";
  GString *safe = g_string_new (NULL);

  gethostname (host, sizeof host - 1);
  for (const char *p = host; *p != '\0'; p++)
    {
      if (*p == '/')
        g_string_append (safe, "\\057");
      else if (*p == ':')
        g_string_append (safe, "\\072");
      else
        g_string_append_c (safe, *p);
    }
  g_autofree char *h = g_string_free (safe, FALSE);
  return g_strdup_printf ("%" G_GINT64_FORMAT ".M%06dP%dQ%d.%s", now / G_USEC_PER_SEC,
                          (int) (now % G_USEC_PER_SEC), (int) getpid (),
                          g_atomic_int_add (&counter, 1) + 1, h);
}

TdMaildirDelivery *
td_maildir_delivery_begin (TdMaildirFolder *folder, GError **error)
{
  g_autoptr (TdMaildirDelivery) d = g_new0 (TdMaildirDelivery, 1);

  d->fd = -1;
  d->folder = td_maildir_folder_ref (folder);
  d->base = unique_base ();
  d->tmp_name = g_strconcat (TD_MAILDIR_TMP_PREFIX, d->base, NULL);
  d->fd = openat (folder->tmp_fd, d->tmp_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0600);
  if (d->fd < 0)
    return io_error (error, "create a file in tmp/ of", folder->path, errno), NULL;
  d->created = TRUE;
  d->buf = g_malloc (WRITE_BUFFER);
  return g_steal_pointer (&d);
}

static gboolean
flush_buffer (TdMaildirDelivery *d, GError **error)
{
  gsize off = 0;

  while (off < d->buf_len)
    {
      ssize_t n = write (d->fd, d->buf + off, d->buf_len - off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return io_error (error, "write a message into", d->folder->path, n < 0 ? errno : EIO);
      off += (gsize) n;
    }
  d->size += d->buf_len;
  d->buf_len = 0;
  return TRUE;
}

static gboolean
put (TdMaildirDelivery *d, const guint8 *data, gsize len, GError **error)
{
  while (len > 0)
    {
      gsize n = MIN (len, WRITE_BUFFER - d->buf_len);
      memcpy (d->buf + d->buf_len, data, n);
      d->buf_len += n;
      data += n;
      len -= n;
      if (d->buf_len == WRITE_BUFFER && !flush_buffer (d, error))
        return FALSE;
    }
  return TRUE;
}

/**
 * td_maildir_delivery_write:
 * @delivery: a delivery
 * @data: (array length=len): message bytes as the server sent them
 * @len: length of @data
 * @error: return location for an error
 *
 * Appends to the message, turning each CRLF into LF; a lone CR stays as it is.
 *
 * Returns: %TRUE on success
 */
gboolean
td_maildir_delivery_write (TdMaildirDelivery *d, const guint8 *data, gsize len, GError **error)
{
  gsize i = 0;

  if (d->pending_cr && len > 0)
    {
      d->pending_cr = FALSE;
      if (data[0] != '\n' && !put (d, (const guint8 *) "\r", 1, error))
        return FALSE;
    }
  while (i < len)
    {
      const guint8 *cr = memchr (data + i, '\r', len - i);
      gsize end = cr ? (gsize) (cr - data) : len;
      if (!put (d, data + i, end - i, error))
        return FALSE;
      if (cr == NULL)
        break;
      if (end + 1 == len)
        {
          d->pending_cr = TRUE;
          break;
        }
      if (data[end + 1] != '\n' && !put (d, (const guint8 *) "\r", 1, error))
        return FALSE;
      i = end + 1;
    }
  return TRUE;
}

/**
 * td_maildir_delivery_close:
 * @delivery: a delivery
 * @mtime: the message's date in seconds since the epoch, or -1 to leave the time alone
 * @error: return location for an error
 *
 * Finishes writing and closes the tmp/ file, checking for late write errors.
 *
 * Returns: %TRUE on success
 */
gboolean
td_maildir_delivery_close (TdMaildirDelivery *d, gint64 mtime, GError **error)
{
  if (d->pending_cr && !put (d, (const guint8 *) "\r", 1, error))
    return FALSE;
  d->pending_cr = FALSE;
  if (!flush_buffer (d, error))
    return FALSE;
  g_clear_pointer (&d->buf, g_free);
  if (mtime >= 0)
    {
      struct timespec times[2] = { { mtime, 0 }, { mtime, 0 } };
      futimens (d->fd, times);
    }
  int fd = d->fd;
  d->fd = -1;
  if (close (fd) != 0)
    return io_error (error, "finish writing a message into", d->folder->path, errno);
  return TRUE;
}

/**
 * td_maildir_delivery_publish:
 * @delivery: a closed delivery whose data is durable
 * @flags: the message's flags: none puts it in new/, any puts it in cur/ with ":2,"
 * @letters: its keyword letters (bit 0 for 'a'), named in the folder's dovecot-keywords
 * @error: return location for an error
 *
 * Returns: %TRUE once the message is visible to mail readers
 */
gboolean
td_maildir_delivery_publish (TdMaildirDelivery *d, TdFlags flags, guint32 letters,
                             GError **error)
{
  g_autofree char *info = merge_info ("", flags, letters, 0);
  g_autofree char *target = *info ? g_strdup_printf ("%s:2,%s", d->base, info)
                                     : g_strdup (d->base);

  g_return_val_if_fail (d->fd < 0, FALSE);
  if (renameat (d->folder->tmp_fd, d->tmp_name, *info ? d->folder->cur_fd : d->folder->new_fd,
                target) != 0)
    return io_error (error, "move a message into", d->folder->path, errno);
  d->published = TRUE;
  g_free (d->published_as);
  d->published_as = g_build_filename (*info ? "cur" : "new", target, NULL);
  td_durable_step ("maildir: message published");
  return TRUE;
}

/**
 * td_maildir_delivery_dup_path:
 * @delivery: a delivery
 *
 * Returns: (transfer full) (nullable): the message file's path once published, else %NULL
 */
char *
td_maildir_delivery_dup_path (TdMaildirDelivery *delivery)
{
  if (delivery->published_as == NULL)
    return NULL;
  return g_build_filename (delivery->folder->path, delivery->published_as, NULL);
}

const char *
td_maildir_delivery_get_base (TdMaildirDelivery *delivery)
{
  return delivery->base;
}

guint64
td_maildir_delivery_get_size (TdMaildirDelivery *delivery)
{
  return delivery->size + delivery->buf_len;
}

/**
 * td_maildir_delivery_free:
 * @delivery: (nullable): a delivery
 *
 * Frees @delivery; an unpublished message's tmp/ file is removed.
 */
void
td_maildir_delivery_free (TdMaildirDelivery *d)
{
  if (d == NULL)
    return;
  if (d->fd >= 0)
    close (d->fd);
  if (d->created && !d->published)
    unlinkat (d->folder->tmp_fd, d->tmp_name, 0);
  g_clear_pointer (&d->folder, td_maildir_folder_unref);
  g_free (d->base);
  g_free (d->tmp_name);
  g_free (d->published_as);
  g_free (d->buf);
  g_free (d);
}
