/* td-test-scripted-backend.c: TdScriptedBackend. See td-test-scripted-backend.h.
 * Main loop thread; every answer is ready at once and comes back through GTask. */
#include "td-test-scripted-backend.h"

#include <string.h>

#include "engine/common/td-error.h"

typedef struct
{
  guint32 uid;
  TdFlags flags;
  guint64 modseq;
  char *body; /* LF line ends */
} Message;

typedef struct
{
  char *name;
  guint32 uidvalidity, uidnext;
  guint64 modseq;
  GArray *messages; /* Message, by ascending UID */
  GArray *expunged; /* guint64 pairs: UID, the MODSEQ it went at */
} Folder;

typedef struct
{
  char *path;
  char **caps;
  GPtrArray *folders; /* Folder */
} Server;

struct _TdScriptedBackend
{
  TdBackend parent_instance;
  Server *server;
  Folder *open;       /* borrowed from server */
  GArray *numbers;    /* POP3: guint32 UIDs of INBOX at connect, message number n at n - 1 */
};

G_DEFINE_FINAL_TYPE (TdScriptedBackend, td_scripted_backend, TD_TYPE_BACKEND)

/* The state file */

static void
message_clear (Message *m)
{
  g_free (m->body);
}

static void
folder_free (Folder *f)
{
  g_free (f->name);
  g_array_unref (f->messages);
  g_array_unref (f->expunged);
  g_free (f);
}

static Folder *
folder_new (const char *name, guint32 uidvalidity)
{
  Folder *f = g_new0 (Folder, 1);
  f->name = g_strdup (name);
  f->uidvalidity = uidvalidity;
  f->uidnext = 1;
  f->modseq = 1;
  f->messages = g_array_new (FALSE, TRUE, sizeof (Message));
  g_array_set_clear_func (f->messages, (GDestroyNotify) message_clear);
  f->expunged = g_array_new (FALSE, FALSE, sizeof (guint64));
  return f;
}

static void
server_free (Server *s)
{
  if (s == NULL)
    return;
  g_free (s->path);
  g_strfreev (s->caps);
  g_ptr_array_unref (s->folders);
  g_free (s);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Server, server_free)

static Server *
server_load (const char *path)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  Server *s = g_new0 (Server, 1);

  s->path = g_strdup (path);
  s->folders = g_ptr_array_new_with_free_func ((GDestroyNotify) folder_free);
  g_assert_true (g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &error));
  s->caps = g_key_file_get_string_list (kf, "server", "caps", NULL, NULL);
  if (s->caps == NULL)
    s->caps = g_new0 (char *, 1);
  g_auto (GStrv) names = g_key_file_get_string_list (kf, "server", "folders", NULL, NULL);
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      g_autofree char *group = g_strconcat ("folder ", names[i], NULL);
      Folder *f = folder_new (names[i], g_key_file_get_integer (kf, group, "uidvalidity", NULL));
      f->uidnext = g_key_file_get_integer (kf, group, "uidnext", NULL);
      f->modseq = g_key_file_get_uint64 (kf, group, "modseq", NULL);
      gsize n = 0;
      g_autofree gint *gone = g_key_file_get_integer_list (kf, group, "expunged", &n, NULL);
      for (gsize k = 0; k < n; k++)
        {
          guint64 v = (guint64) gone[k];
          g_array_append_val (f->expunged, v);
        }
      gsize uids_len = 0;
      g_autofree gint *uids = g_key_file_get_integer_list (kf, group, "uids", &uids_len, NULL);
      for (gsize k = 0; k < uids_len; k++)
        {
          g_autofree char *mg = g_strdup_printf ("message %s %d", names[i], uids[k]);
          g_autofree char *b64 = g_key_file_get_string (kf, mg, "body", NULL);
          gsize len = 0;
          guchar *raw = g_base64_decode (b64, &len);
          Message m = { (guint32) uids[k], g_key_file_get_integer (kf, mg, "flags", NULL),
                        g_key_file_get_uint64 (kf, mg, "modseq", NULL),
                        g_strndup ((const char *) raw, len) };
          g_free (raw);
          g_array_append_val (f->messages, m);
        }
      g_ptr_array_add (s->folders, f);
    }
  return s;
}

static void set_list (GKeyFile *kf, const char *group, const char *key, GArray *ints);

static void
server_save (Server *s)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;

  g_key_file_set_string_list (kf, "server", "caps", (const char *const *) s->caps,
                              g_strv_length (s->caps));
  for (guint i = 0; i < s->folders->len; i++)
    {
      Folder *f = g_ptr_array_index (s->folders, i);
      g_autofree char *group = g_strconcat ("folder ", f->name, NULL);
      g_autoptr (GArray) uids = g_array_new (FALSE, FALSE, sizeof (gint));
      g_autoptr (GArray) gone = g_array_new (FALSE, FALSE, sizeof (gint));

      g_ptr_array_add (names, f->name);
      g_key_file_set_integer (kf, group, "uidvalidity", (gint) f->uidvalidity);
      g_key_file_set_integer (kf, group, "uidnext", (gint) f->uidnext);
      g_key_file_set_uint64 (kf, group, "modseq", f->modseq);
      for (guint k = 0; k < f->expunged->len; k++)
        {
          gint v = (gint) g_array_index (f->expunged, guint64, k);
          g_array_append_val (gone, v);
        }
      set_list (kf, group, "expunged", gone);
      for (guint k = 0; k < f->messages->len; k++)
        {
          const Message *m = &g_array_index (f->messages, Message, k);
          g_autofree char *mg = g_strdup_printf ("message %s %u", f->name, m->uid);
          g_autofree char *b64 = g_base64_encode ((const guchar *) m->body, strlen (m->body));
          gint uid = (gint) m->uid;
          g_array_append_val (uids, uid);
          g_key_file_set_integer (kf, mg, "flags", (gint) m->flags);
          g_key_file_set_uint64 (kf, mg, "modseq", m->modseq);
          g_key_file_set_string (kf, mg, "body", b64);
        }
      set_list (kf, group, "uids", uids);
    }
  g_ptr_array_add (names, NULL);
  g_key_file_set_string_list (kf, "server", "folders", (const char *const *) names->pdata,
                              names->len - 1);
  /* Written whole and renamed into place: a run killed at any step leaves a whole file. */
  g_assert_true (g_key_file_save_to_file (kf, s->path, &error));
}

static void
set_list (GKeyFile *kf, const char *group, const char *key, GArray *ints)
{
  if (ints->len == 0)
    g_key_file_set_string (kf, group, key, "");
  else
    g_key_file_set_integer_list (kf, group, key, (gint *) ints->data, ints->len);
}

static gboolean
has_cap (const Server *s, const char *cap)
{
  return g_strv_contains ((const char *const *) s->caps, cap);
}

static Folder *
find_folder (Server *s, const char *name)
{
  for (guint i = 0; i < s->folders->len; i++)
    if (g_str_equal (((Folder *) g_ptr_array_index (s->folders, i))->name, name))
      return g_ptr_array_index (s->folders, i);
  return NULL;
}

static Message *
find_message (Folder *f, guint32 uid, guint *index)
{
  for (guint i = 0; i < f->messages->len; i++)
    if (g_array_index (f->messages, Message, i).uid == uid)
      {
        if (index != NULL)
          *index = i;
        return &g_array_index (f->messages, Message, i);
      }
  return NULL;
}

static guint32
deliver (Folder *f, const char *body, TdFlags flags)
{
  Message m = { f->uidnext++, flags, ++f->modseq, g_strdup (body) };
  g_array_append_val (f->messages, m);
  return m.uid;
}

static void
expunge_one (Folder *f, guint32 uid)
{
  guint index;
  if (find_message (f, uid, &index) == NULL)
    return;
  g_array_remove_index (f->messages, index);
  guint64 pair[2] = { uid, ++f->modseq };
  g_array_append_vals (f->expunged, pair, 2);
}

/* For tests */

void
td_scripted_server_init (const char *path, const char *caps)
{
  Server s = { (char *) path, g_strsplit (caps, ";", -1), NULL };
  s.folders = g_ptr_array_new_with_free_func ((GDestroyNotify) folder_free);
  g_ptr_array_add (s.folders, folder_new ("INBOX", 1000));
  server_save (&s);
  g_strfreev (s.caps);
  g_ptr_array_unref (s.folders);
}

void
td_scripted_server_add_folder (const char *path, const char *folder)
{
  g_autoptr (Server) s = server_load (path);
  g_ptr_array_add (s->folders, folder_new (folder, 2000 + s->folders->len));
  server_save (s);
}

guint32
td_scripted_server_deliver (const char *path, const char *folder, const char *message,
                            TdFlags flags)
{
  g_autoptr (Server) s = server_load (path);
  guint32 uid = deliver (find_folder (s, folder), message, flags);
  server_save (s);
  return uid;
}

void
td_scripted_server_set_flags (const char *path, const char *folder, guint32 uid, TdFlags flags)
{
  g_autoptr (Server) s = server_load (path);
  Folder *f = find_folder (s, folder);
  Message *m = find_message (f, uid, NULL);
  g_assert_nonnull (m);
  m->flags = flags;
  m->modseq = ++f->modseq;
  server_save (s);
}

void
td_scripted_server_expunge (const char *path, const char *folder, guint32 uid)
{
  g_autoptr (Server) s = server_load (path);
  expunge_one (find_folder (s, folder), uid);
  server_save (s);
}

/**
 * td_scripted_server_messages:
 * Returns: (transfer full): Message-ID -> flags (as GUINT_TO_POINTER (flags + 1)) of what
 *   @folder holds; a Message-ID held twice fails the test
 */
GHashTable *
td_scripted_server_messages (const char *path, const char *folder)
{
  g_autoptr (Server) s = server_load (path);
  Folder *f = find_folder (s, folder);
  GHashTable *out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; f != NULL && i < f->messages->len; i++)
    {
      const Message *m = &g_array_index (f->messages, Message, i);
      char *id = td_message_id_parse (m->body, strlen (m->body));
      g_assert_nonnull (id);
      if (g_hash_table_contains (out, id))
        g_error ("the server holds %s twice in %s", id, folder);
      g_hash_table_insert (out, id, GUINT_TO_POINTER (m->flags + 1));
    }
  return out;
}

/* The backend */

static TdBackendCaps
scripted_get_caps (TdBackend *backend)
{
  TdScriptedBackend *self = TD_SCRIPTED_BACKEND (backend);
  if (self->server != NULL && has_cap (self->server, TD_SCRIPTED_CAP_POP3))
    return TD_BACKEND_CAP_UNIQUE_IDS | TD_BACKEND_CAP_EXPUNGE;
  TdBackendCaps caps = TD_BACKEND_CAP_FOLDERS | TD_BACKEND_CAP_FLAGS | TD_BACKEND_CAP_STORE
                       | TD_BACKEND_CAP_APPEND | TD_BACKEND_CAP_EXPUNGE
                       | TD_BACKEND_CAP_CREATE_FOLDER | TD_BACKEND_CAP_MOVE;
  if (self->server != NULL && has_cap (self->server, TD_SCRIPTED_CAP_CONDSTORE))
    caps |= TD_BACKEND_CAP_CHANGES_SINCE;
  return caps;
}

static void
return_true (gpointer source, GAsyncReadyCallback callback, gpointer user_data, gpointer tag)
{
  g_autoptr (GTask) task = g_task_new (source, NULL, callback, user_data);
  g_task_set_source_tag (task, tag);
  g_task_return_boolean (task, TRUE);
}

static gboolean
finish_boolean (TdBackend *backend, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static gpointer
finish_pointer (TdBackend *backend, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
scripted_connect_async (TdBackend *backend, const char *secret, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data)
{
  TdScriptedBackend *self = TD_SCRIPTED_BACKEND (backend);

  g_clear_pointer (&self->server, server_free);
  g_clear_pointer (&self->numbers, g_array_unref);
  self->server = server_load (g_getenv (TD_SCRIPTED_SERVER_ENV));
  if (has_cap (self->server, TD_SCRIPTED_CAP_POP3))
    {
      /* A POP3 session numbers the mailbox once; the numbers hold until it ends. */
      self->open = find_folder (self->server, "INBOX");
      self->numbers = g_array_new (FALSE, FALSE, sizeof (guint32));
      for (guint i = 0; i < self->open->messages->len; i++)
        g_array_append_val (self->numbers, g_array_index (self->open->messages, Message, i).uid);
    }
  return_true (self, callback, user_data, scripted_connect_async);
}

static void
scripted_list_folders_async (TdBackend *backend, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  TdScriptedBackend *self = TD_SCRIPTED_BACKEND (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) td_folder_info_free);

  for (guint i = 0; i < self->server->folders->len; i++)
    {
      Folder *f = g_ptr_array_index (self->server->folders, i);
      TdFolderInfo *info = td_folder_info_new (f->name, '/', TRUE);
      if (has_cap (self->server, TD_SCRIPTED_CAP_LIST_STATUS))
        {
          info->has_status = TRUE;
          info->status = (TdFolderState) { f->uidvalidity, f->uidnext,
                                           has_cap (self->server, TD_SCRIPTED_CAP_CONDSTORE)
                                             ? f->modseq : 0,
                                           f->messages->len, FALSE };
        }
      g_ptr_array_add (list, info);
    }
  g_task_return_pointer (task, list, (GDestroyNotify) g_ptr_array_unref);
}

static void
scripted_open_folder_async (TdBackend *backend, const char *name, gboolean read_only,
                            const TdSyncPoint *since, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  TdScriptedBackend *self = TD_SCRIPTED_BACKEND (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  self->open = find_folder (self->server, name);
  if (self->open == NULL)
    {
      g_task_return_new_error (task, TD_ERROR, TD_ERROR_FOLDER, "no folder %s", name);
      return;
    }
  TdFolderState *state = g_new0 (TdFolderState, 1);
  *state = (TdFolderState) { self->open->uidvalidity, self->open->uidnext,
                             has_cap (self->server, TD_SCRIPTED_CAP_CONDSTORE) ? self->open->modseq
                                                                                : 0,
                             self->open->messages->len, read_only };
  g_task_return_pointer (task, state, g_free);
}

static gboolean
scripted_open_folder_finish (TdBackend *backend, GAsyncResult *result, TdFolderState *state,
                             GError **error)
{
  g_autofree TdFolderState *s = g_task_propagate_pointer (G_TASK (result), error);
  if (s == NULL)
    return FALSE;
  *state = *s;
  return TRUE;
}

/* The size an IMAP server reports: with CRLF line ends. */
static guint64
wire_size (const char *body)
{
  guint64 n = 0;
  for (const char *p = body; *p != '\0'; p++)
    n += *p == '\n' ? 2 : 1;
  return n;
}

static TdMessageInfo
info_of (const Message *m)
{
  TdMessageInfo info = { .uid = m->uid, .flags = m->flags, .size = wire_size (m->body),
                         .internal_date = 1700000000 + m->uid };
  info.message_id = td_message_id_parse (m->body, strlen (m->body));
  return info;
}

/* POP3: message number @n of the session, or NULL when gone or never there. */
static Message *
numbered (TdScriptedBackend *self, guint32 n)
{
  if (self->numbers == NULL || n == 0 || n > self->numbers->len)
    return NULL;
  return find_message (self->open, g_array_index (self->numbers, guint32, n - 1), NULL);
}

/* POP3's view of a message: its number for this session and its UIDL. */
static TdMessageInfo
pop3_info_of (const Message *m, guint32 n)
{
  TdMessageInfo info = { .uid = n, .size = wire_size (m->body), .internal_date = -1 };
  info.unique_id = g_strdup_printf ("U%u", m->uid);
  return info;
}

static void
scripted_list_changes_async (TdBackend *backend, const TdSyncPoint *since,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  TdScriptedBackend *self = TD_SCRIPTED_BACKEND (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  TdFolderChanges *changes = td_folder_changes_new ();
  Folder *f = self->open;
  gboolean condstore = has_cap (self->server, TD_SCRIPTED_CAP_CONDSTORE)
                       && since->highestmodseq > 0;

  if (!condstore)
    changes->present = g_array_new (FALSE, FALSE, sizeof (guint32));
  for (guint i = 0; i < f->messages->len; i++)
    {
      const Message *m = &g_array_index (f->messages, Message, i);
      /* As IMAP's two listings do, the ranges of old and new messages can overlap. */
      if (since->new_from != 0 && m->uid >= since->new_from)
        {
          TdMessageInfo info = info_of (m);
          g_array_append_val (changes->added, info);
        }
      if (m->uid <= since->last_uid && (!condstore || m->modseq > since->highestmodseq))
        {
          TdMessageInfo info = info_of (m);
          g_array_append_val (changes->changed, info);
        }
      if (!condstore && m->uid <= since->last_uid)
        g_array_append_val (changes->present, m->uid);
    }
  for (guint i = 0; condstore && i + 1 < f->expunged->len; i += 2)
    {
      guint64 uid = g_array_index (f->expunged, guint64, i);
      if (g_array_index (f->expunged, guint64, i + 1) > since->highestmodseq
          && uid <= since->last_uid)
        {
          TdUidRange r = { (guint32) uid, (guint32) uid };
          g_array_append_val (changes->vanished, r);
        }
    }
  g_task_return_pointer (task, changes, (GDestroyNotify) td_folder_changes_free);
}

static void
scripted_list_messages_async (TdBackend *backend, guint32 first_uid, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  TdScriptedBackend *self = TD_SCRIPTED_BACKEND (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  GArray *list = td_message_info_array_new ();

  for (guint32 n = MAX (first_uid, 1); self->numbers != NULL && n <= self->numbers->len; n++)
    {
      const Message *m = numbered (self, n);
      if (m == NULL)
        continue;
      TdMessageInfo info = pop3_info_of (m, n);
      g_array_append_val (list, info);
    }
  for (guint i = 0; self->numbers == NULL && i < self->open->messages->len; i++)
    {
      const Message *m = &g_array_index (self->open->messages, Message, i);
      if (m->uid < first_uid)
        continue;
      TdMessageInfo info = info_of (m);
      g_array_append_val (list, info);
    }
  g_task_return_pointer (task, list, (GDestroyNotify) g_array_unref);
}

static void
scripted_fetch_messages_async (TdBackend *backend, GArray *uids, TdMessageSink *sink,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data)
{
  TdScriptedBackend *self = TD_SCRIPTED_BACKEND (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (GArray) wanted = g_array_copy (uids);
  GError *error = NULL;

  td_uid_set_normalize (wanted);
  guint count = self->numbers != NULL ? self->numbers->len : self->open->messages->len;
  for (guint i = 0; i < count; i++)
    {
      const Message *m = self->numbers != NULL ? numbered (self, i + 1)
                                               : &g_array_index (self->open->messages, Message, i);
      guint32 id = self->numbers != NULL ? i + 1 : m->uid;
      if (m == NULL || !td_uid_set_contains (wanted, id))
        continue;
      TdMessageInfo info = self->numbers != NULL ? pop3_info_of (m, id) : info_of (m);
      gboolean ok = td_message_sink_begin (sink, &error)
                    && td_message_sink_write (sink, (const guint8 *) m->body, strlen (m->body),
                                              &error)
                    && td_message_sink_commit (sink, &info, &error);
      td_message_info_clear (&info);
      if (!ok)
        {
          g_task_return_error (task, error);
          return;
        }
    }
  g_task_return_boolean (task, TRUE);
}

static void
scripted_store_flags_async (TdBackend *backend, GPtrArray *stores, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  TdScriptedBackend *self = TD_SCRIPTED_BACKEND (backend);

  for (guint i = 0; i < stores->len; i++)
    {
      const TdBackendFlagStore *store = g_ptr_array_index (stores, i);
      g_autoptr (GArray) set = g_array_copy (store->uids);
      td_uid_set_normalize (set);
      for (guint k = 0; k < self->open->messages->len; k++)
        {
          Message *m = &g_array_index (self->open->messages, Message, k);
          if (!td_uid_set_contains (set, m->uid))
            continue;
          m->flags = (m->flags | store->add) & ~store->remove;
          m->modseq = ++self->open->modseq;
        }
    }
  server_save (self->server);
  return_true (self, callback, user_data, scripted_store_flags_async);
}

/* The upload's bytes as Maildir keeps them: CRLF back to LF. */
static char *
read_upload (GInputStream *stream)
{
  g_autoptr (GByteArray) all = g_byte_array_new ();
  guint8 buf[4096];
  gssize n;

  while ((n = g_input_stream_read (stream, buf, sizeof buf, NULL, NULL)) > 0)
    g_byte_array_append (all, buf, n);
  GString *out = g_string_sized_new (all->len);
  for (guint i = 0; i < all->len; i++)
    if (!(all->data[i] == '\r' && i + 1 < all->len && all->data[i + 1] == '\n'))
      g_string_append_c (out, all->data[i]);
  return g_string_free (out, FALSE);
}

static void
scripted_append_async (TdBackend *backend, const char *name, GPtrArray *uploads,
                       GCancellable *cancellable, GAsyncReadyCallback callback,
                       gpointer user_data)
{
  TdScriptedBackend *self = TD_SCRIPTED_BACKEND (backend);
  Folder *f = find_folder (self->server, name);

  for (guint i = 0; i < uploads->len; i++)
    {
      TdBackendUpload *u = g_ptr_array_index (uploads, i);
      g_autofree char *body = read_upload (u->stream);
      guint32 uid = deliver (f, body, u->flags);
      if (has_cap (self->server, TD_SCRIPTED_CAP_UIDPLUS))
        u->uid = uid;
    }
  server_save (self->server);
  return_true (self, callback, user_data, scripted_append_async);
}

static void
scripted_expunge_async (TdBackend *backend, GArray *uids, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data)
{
  TdScriptedBackend *self = TD_SCRIPTED_BACKEND (backend);
  g_autoptr (GArray) set = g_array_copy (uids);

  td_uid_set_normalize (set);
  for (guint32 n = 1; self->numbers != NULL && n <= self->numbers->len; n++)
    if (td_uid_set_contains (set, n))
      expunge_one (self->open, g_array_index (self->numbers, guint32, n - 1));
  for (guint i = self->open->messages->len; self->numbers == NULL && i-- > 0;)
    {
      guint32 uid = g_array_index (self->open->messages, Message, i).uid;
      if (td_uid_set_contains (set, uid))
        expunge_one (self->open, uid);
    }
  /* POP3: the DELEs and the QUIT that commits them, as one. */
  server_save (self->server);
  return_true (self, callback, user_data, scripted_expunge_async);
}

static gboolean
scripted_expunge_finish (TdBackend *backend, GAsyncResult *result, gboolean *expunged,
                         GError **error)
{
  *expunged = TRUE;
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* As UID MOVE: each message goes into @target with its flags, in UID order. */
static void
scripted_move_async (TdBackend *backend, GArray *uids, const char *target,
                     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  TdScriptedBackend *self = TD_SCRIPTED_BACKEND (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  Folder *to = find_folder (self->server, target);
  g_autoptr (GArray) set = g_array_copy (uids);
  GArray *moved = g_array_new (FALSE, FALSE, sizeof (TdUidMove));

  g_task_set_source_tag (task, scripted_move_async);
  td_uid_set_normalize (set);
  for (guint i = 0; to != NULL && to != self->open && i < self->open->messages->len; i++)
    {
      const Message *m = &g_array_index (self->open->messages, Message, i);
      if (!td_uid_set_contains (set, m->uid))
        continue;
      TdUidMove pair = { m->uid, deliver (to, m->body, m->flags) };
      g_array_append_val (moved, pair);
    }
  for (guint i = 0; i < moved->len; i++)
    expunge_one (self->open, g_array_index (moved, TdUidMove, i).from);
  if (!has_cap (self->server, TD_SCRIPTED_CAP_UIDPLUS))
    g_array_set_size (moved, 0);
  server_save (self->server);
  if (to == NULL || to == self->open)
    g_task_return_new_error (task, TD_ERROR, TD_ERROR_FOLDER, "no folder %s to move to",
                             target);
  else
    g_task_return_pointer (task, moved, (GDestroyNotify) g_array_unref);
}

static GArray *
scripted_move_finish (TdBackend *backend, GAsyncResult *result, gboolean *expunged,
                      GError **error)
{
  *expunged = TRUE;
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
scripted_create_folder_async (TdBackend *backend, const char *name, gboolean create,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  TdScriptedBackend *self = TD_SCRIPTED_BACKEND (backend);
  Folder *f = find_folder (self->server, name);

  if (create && f == NULL)
    g_ptr_array_add (self->server->folders, folder_new (name, 3000 + self->server->folders->len));
  else if (!create && f != NULL)
    g_ptr_array_remove (self->server->folders, f);
  server_save (self->server);
  return_true (self, callback, user_data, scripted_create_folder_async);
}

static void
scripted_disconnect_async (TdBackend *backend, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  return_true (backend, callback, user_data, scripted_disconnect_async);
}

static void
td_scripted_backend_finalize (GObject *object)
{
  server_free (TD_SCRIPTED_BACKEND (object)->server);
  g_clear_pointer (&TD_SCRIPTED_BACKEND (object)->numbers, g_array_unref);
  G_OBJECT_CLASS (td_scripted_backend_parent_class)->finalize (object);
}

static void
td_scripted_backend_class_init (TdScriptedBackendClass *klass)
{
  TdBackendClass *b = TD_BACKEND_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = td_scripted_backend_finalize;
  b->get_caps = scripted_get_caps;
  b->connect_async = scripted_connect_async;
  b->connect_finish = finish_boolean;
  b->list_folders_async = scripted_list_folders_async;
  b->list_folders_finish = (GPtrArray * (*) (TdBackend *, GAsyncResult *, GError **)) finish_pointer;
  b->open_folder_async = scripted_open_folder_async;
  b->open_folder_finish = scripted_open_folder_finish;
  b->list_changes_async = scripted_list_changes_async;
  b->list_changes_finish = (TdFolderChanges * (*) (TdBackend *, GAsyncResult *, GError **)) finish_pointer;
  b->list_messages_async = scripted_list_messages_async;
  b->list_messages_finish = (GArray * (*) (TdBackend *, GAsyncResult *, GError **)) finish_pointer;
  b->fetch_messages_async = scripted_fetch_messages_async;
  b->fetch_messages_finish = finish_boolean;
  b->store_flags_async = scripted_store_flags_async;
  b->store_flags_finish = finish_boolean;
  b->append_async = scripted_append_async;
  b->append_finish = finish_boolean;
  b->expunge_async = scripted_expunge_async;
  b->expunge_finish = scripted_expunge_finish;
  b->move_async = scripted_move_async;
  b->move_finish = scripted_move_finish;
  b->create_folder_async = scripted_create_folder_async;
  b->create_folder_finish = finish_boolean;
  b->disconnect_async = scripted_disconnect_async;
  b->disconnect_finish = finish_boolean;
}

static void
td_scripted_backend_init (TdScriptedBackend *self)
{
}
