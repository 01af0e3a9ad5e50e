/* td-imap-backend-sync.c: what changed in a folder, and downloading messages.
 *
 * Changes: with CONDSTORE only messages whose flags changed since the stored MODSEQ are
 * listed (RFC 7162 CHANGEDSINCE) and removals are looked for only when the server's count
 * of old messages differs from ours; without it, one UID FETCH of all flags. New messages
 * are listed with their sizes by a UID FETCH pipelined with those, so the plan knows what
 * it will download before the first body comes. Downloads: the
 * wanted UIDs go out in pipelined UID FETCH commands; each body streams chunk by chunk into
 * the sink as it arrives, and is committed when its FETCH response ends.
 */
#include "td-imap-backend-private.h"

#include <string.h>

#include "engine/common/td-error.h"
#include "td-imap-fetch.h"
#include "td-imap-limits.h"

#define FETCH_ITEMS \
  "UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)] BODY.PEEK[]"

/* Listing changes */

typedef struct
{
  TdFolderChanges *changes;
  TdSyncPoint since;
  TdImapGroup group;
  guint64 old_count; /* from ESEARCH COUNT, or G_MAXUINT64 when not asked */
  gboolean listing_present;
  gboolean plain;
} ChangesData;

static void
changes_data_free (ChangesData *data)
{
  td_folder_changes_free (data->changes);
  td_imap_group_clear (&data->group);
  g_free (data);
}

static void
on_changes_fetch (TdImapSession *session, const TdImapResponse *r, gpointer user_data)
{
  ChangesData *data = user_data;
  TdMessageInfo info;

  if (g_strcmp0 (r->name, "ESEARCH") == 0)
    {
      guint64 n;
      if (td_imap_value_get_number (td_imap_value_lookup (r->args, "COUNT"), &n))
        data->old_count = n;
      return;
    }
  if (!td_imap_fetch_info (r, &info))
    return;
  /* Only the listing of new messages asks for sizes. Its range can overlap the listing of
   * old ones (an upload recorded above the old UIDNEXT): each answer goes to its own list. */
  if (data->since.new_from != 0 && info.uid >= data->since.new_from
      && td_imap_value_lookup (g_ptr_array_index (r->args->items, 0), "RFC822.SIZE") != NULL)
    {
      if (data->changes->added->len < TD_IMAP_MAX_MESSAGES)
        g_array_append_val (data->changes->added, info);
      else
        td_message_info_clear (&info);
      return;
    }
  if (info.uid > data->since.last_uid)
    {
      td_message_info_clear (&info);
      return;
    }
  gboolean has_flags = td_imap_value_lookup (g_ptr_array_index (r->args->items, 0), "FLAGS") != NULL;
  /* A UID-only listing tells what exists; a plain listing of all flags tells both. */
  if (data->changes->present != NULL && (data->plain || !has_flags)
      && data->changes->present->len < TD_IMAP_MAX_MESSAGES)
    g_array_append_val (data->changes->present, info.uid);
  if (has_flags && data->changes->changed->len < TD_IMAP_MAX_MESSAGES)
    g_array_append_val (data->changes->changed, info);
  else
    td_message_info_clear (&info);
}

static void changes_step_done (GObject *source, GAsyncResult *result, gpointer user_data);

static void
run_changes_command (GTask *task, const char *command)
{
  TdImapBackend *self = g_task_get_source_object (task);
  ChangesData *data = g_task_get_task_data (task);
  TdImapHandlers handlers = { .on_untagged = on_changes_fetch, .user_data = data };

  td_imap_group_run (&data->group, self->session, &handlers, task, changes_step_done, command);
}

static void
list_present (GTask *task)
{
  ChangesData *data = g_task_get_task_data (task);
  g_autofree char *command = g_strdup_printf ("UID FETCH 1:%u (UID)", data->since.last_uid);

  data->listing_present = TRUE;
  data->changes->present = g_array_new (FALSE, FALSE, sizeof (guint32));
  run_changes_command (task, command);
}

/* The messages from new_from on, with their flags and sizes. "UID n:*" also answers with
 * the highest message when every UID is below n; that answer is not taken as new. The
 * SELECT had them listed already when the plan asks from the same UID. */
static void
list_new (GTask *task)
{
  ChangesData *data = g_task_get_task_data (task);
  TdImapBackend *self = g_task_get_source_object (task);
  const TdImapMailbox *mb = td_imap_session_get_mailbox (self->session);
  g_autofree char *command = NULL;

  g_autoptr (GArray) prelisted = g_steal_pointer (&self->prelisted);

  if (prelisted != NULL && self->prelisted_from == data->since.new_from)
    {
      /* Shallow: the strings move with the elements, and prelisted keeps no clear func. */
      g_array_set_clear_func (prelisted, NULL);
      g_array_append_vals (data->changes->added, prelisted->data, prelisted->len);
      return;
    }
  if (data->since.new_from == 0 || mb->exists == 0
      || (mb->uidnext != 0 && mb->uidnext <= data->since.new_from))
    return;
  command = g_strdup_printf ("UID FETCH %u:* (" TD_IMAP_NEW_ITEMS ")", data->since.new_from);
  run_changes_command (task, command);
}

static void
finish_changes (GTask *task)
{
  ChangesData *data = g_task_get_task_data (task);

  if (!td_imap_group_return_error (&data->group, task))
    g_task_return_pointer (task, g_steal_pointer (&data->changes),
                           (GDestroyNotify) td_folder_changes_free);
}

/* One command of the listing (or the operation's own hold) is done; after the last, a
 * count of old messages that differs from ours asks which are left, else the listing ends. */
static void
changes_release (GTask *task)
{
  ChangesData *data = g_task_get_task_data (task);

  if (!td_imap_group_release (&data->group))
    return;
  if (data->group.error == NULL && !data->listing_present && data->old_count != G_MAXUINT64
      && data->old_count != data->since.known_count)
    {
      data->group.pending++;
      list_present (task);
      changes_release (task);
      return;
    }
  finish_changes (task);
}

static void
changes_step_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  ChangesData *data = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source),
                                                                 result, &error);
  if (r == NULL)
    td_imap_group_keep_error (&data->group, error);
  changes_release (task);
}

/* The commands that list what changed among the messages we know. */
static void
list_old (GTask *task)
{
  TdImapBackend *self = g_task_get_source_object (task);
  ChangesData *data = g_task_get_task_data (task);
  const TdSyncPoint *since = &data->since;
  const TdImapCaps *caps = td_imap_session_get_caps (self->session);
  const TdImapMailbox *mb = td_imap_session_get_mailbox (self->session);
  TdFolderChanges *resync = td_imap_backend_take_resync_changes (self);

  if (resync != NULL)
    {
      /* The SELECT already told what changed: no command for it. */
      td_folder_changes_free (data->changes);
      data->changes = resync;
      return;
    }
  if (since->last_uid == 0 || mb->exists == 0)
    {
      data->changes->present = g_array_new (FALSE, FALSE, sizeof (guint32));
      return;
    }
  if (caps->condstore && since->highestmodseq > 0 && mb->highestmodseq > 0 && !mb->nomodseq)
    {
      if (mb->highestmodseq != since->highestmodseq)
        {
          g_autofree char *changed = g_strdup_printf (
            "UID FETCH 1:%u (UID FLAGS) (CHANGEDSINCE %" G_GUINT64_FORMAT ")", since->last_uid,
            since->highestmodseq);
          run_changes_command (task, changed);
        }
      if (caps->esearch)
        {
          g_autofree char *count = g_strdup_printf ("UID SEARCH RETURN (COUNT) UID 1:%u",
                                                    since->last_uid);
          run_changes_command (task, count);
        }
      else
        list_present (task);
      return;
    }
  /* Plain IMAP4rev1: every flag of every old message; what is not listed is gone. */
  g_autofree char *all = g_strdup_printf ("UID FETCH 1:%u (UID FLAGS)", since->last_uid);
  data->plain = TRUE;
  data->changes->present = g_array_new (FALSE, FALSE, sizeof (guint32));
  run_changes_command (task, all);
}

void
td_imap_backend_list_changes_async (TdBackend *backend, const TdSyncPoint *since,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  TdImapBackend *self = TD_IMAP_BACKEND (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  ChangesData *data = g_new0 (ChangesData, 1);

  g_task_set_source_tag (task, td_imap_backend_list_changes_async);
  data->changes = td_folder_changes_new ();
  data->since = *since;
  data->old_count = G_MAXUINT64;
  g_task_set_task_data (task, data, (GDestroyNotify) changes_data_free);
  /* The operation's own hold: it cannot complete while its commands are being sent. */
  data->group.pending++;
  list_old (task);
  list_new (task);
  changes_release (task);
}

TdFolderChanges *
td_imap_backend_list_changes_finish (TdBackend *backend, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
/* Listing messages (for matching after a UIDVALIDITY change, and finding uploads) */

static void
on_list_message (TdImapSession *session, const TdImapResponse *r, gpointer user_data)
{
  GArray *messages = user_data;
  TdMessageInfo info;

  if (!td_imap_fetch_info (r, &info))
    return;
  if (messages->len < TD_IMAP_MAX_MESSAGES)
    g_array_append_val (messages, info);
  else
    td_message_info_clear (&info);
}

static void
list_messages_answered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source),
                                                                 result, &error);
  if (r == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_array_ref (g_task_get_task_data (task)),
                           (GDestroyNotify) g_array_unref);
}

void
td_imap_backend_list_messages_async (TdBackend *backend, guint32 first_uid,
                                     GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  TdImapBackend *self = TD_IMAP_BACKEND (backend);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  GArray *messages = td_message_info_array_new ();

  g_task_set_source_tag (task, td_imap_backend_list_messages_async);
  g_task_set_task_data (task, messages, (GDestroyNotify) g_array_unref);
  /* EXISTS may not count our own APPENDs yet, so only a whole-folder listing trusts it. */
  if (first_uid <= 1 && td_imap_session_get_mailbox (self->session)->exists == 0)
    {
      g_task_return_pointer (task, g_array_ref (messages), (GDestroyNotify) g_array_unref);
      g_object_unref (task);
      return;
    }
  TdImapHandlers handlers = { .on_untagged = on_list_message, .user_data = messages };
  td_imap_session_run_async (self->session, &handlers, cancellable, list_messages_answered, task,
                             "UID FETCH %u:* (" TD_IMAP_NEW_ITEMS "%s BODY.PEEK[HEADER.FIELDS "
                             "(MESSAGE-ID " TD_UPLOAD_HEADER ")])", first_uid,
                             td_imap_email_id_item (self->session));
}

GArray *
td_imap_backend_list_messages_finish (TdBackend *backend, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Downloading */

/* One folder's download: its wanted UIDs go out in UID FETCH commands of at most
 * TD_IMAP_FETCH_BATCH messages, and each body streams into the sink. */
struct _TdImapDownload
{
  TdImapSession *session;
  TdMessageSink *sink;
  GArray *wanted; /* TdUidRange */
  gboolean body_open;
  gboolean refused; /* bodies are dropped: the folder is not the one they were asked of */
  GError *error;    /* the first failure */
};

void
td_imap_download_free (TdImapDownload *d)
{
  if (d == NULL)
    return;
  if (d->body_open)
    td_message_sink_abort (d->sink);
  g_object_unref (d->sink);
  g_array_unref (d->wanted);
  g_clear_error (&d->error);
  g_free (d);
}

static gboolean
is_wanted (GArray *wanted, guint32 uid)
{
  for (guint i = 0; i < wanted->len; i++)
    {
      const TdUidRange *r = &g_array_index (wanted, TdUidRange, i);
      if (uid >= r->first && uid <= r->last)
        return TRUE;
    }
  return FALSE;
}

/**
 * td_imap_download_fail:
 * @d: a download
 * @error: (transfer full): what went wrong
 *
 * Keeps the first failure and drops the message being received: a local failure (disk
 * full...) mid-stream, a command that failed, or a folder that turned out not to be the
 * one planned for. IMAP has no way to stop a FETCH under way; what still comes is dropped.
 */
void
td_imap_download_fail (TdImapDownload *d, GError *error)
{
  if (d->error == NULL)
    d->error = error;
  else
    g_error_free (error);
  if (d->body_open)
    td_message_sink_abort (d->sink);
  d->body_open = FALSE;
}

/**
 * td_imap_download_refuse:
 * @d: a download
 * @error: (transfer full): why
 *
 * Fails the download and drops every body that still comes for it.
 */
void
td_imap_download_refuse (TdImapDownload *d, GError *error)
{
  d->refused = TRUE;
  td_imap_download_fail (d, error);
}

GError *
td_imap_download_take_error (TdImapDownload *d)
{
  return g_steal_pointer (&d->error);
}

static gboolean
on_fetch_chunk (TdImapSession *session, const TdImapResponse *partial, const TdImapChunk *chunk,
                gpointer user_data, GError **error)
{
  TdImapDownload *d = user_data;

  if (!g_str_equal (chunk->key, "BODY[]") || d->error != NULL || d->refused)
    return TRUE;
  if (chunk->offset == 0)
    {
      if (d->body_open)
        td_message_sink_abort (d->sink);
      d->body_open = td_message_sink_begin (d->sink, error);
      if (!d->body_open)
        return FALSE;
    }
  if (chunk->len > 0 && !td_message_sink_write (d->sink, chunk->data, chunk->len, error))
    {
      td_message_sink_abort (d->sink);
      d->body_open = FALSE;
      return FALSE;
    }
  return TRUE;
}

static void
on_fetch_response (TdImapSession *session, const TdImapResponse *r, gpointer user_data)
{
  TdImapDownload *d = user_data;
  TdMessageInfo info;
  GError *error = NULL;

  if (!d->body_open || g_strcmp0 (r->name, "FETCH") != 0)
    return;
  d->body_open = FALSE;
  if (!td_imap_fetch_info (r, &info) || !is_wanted (d->wanted, info.uid))
    {
      /* No UID, or one not asked for (UID m:* always returns the last message). */
      td_message_sink_abort (d->sink);
      return;
    }
  if (!td_message_sink_commit (d->sink, &info, &error))
    {
      td_imap_download_fail (d, error);
      td_imap_session_close (session);
    }
  td_message_info_clear (&info);
}

/* Splits @uids into commands of at most TD_IMAP_FETCH_BATCH messages each. */
static GPtrArray *
split_batches (GArray *uids)
{
  GPtrArray *batches = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  GArray *current = NULL;
  guint64 count = 0;

  for (guint i = 0; i < uids->len; i++)
    {
      TdUidRange r = g_array_index (uids, TdUidRange, i);
      while (TRUE)
        {
          if (current == NULL)
            {
              current = g_array_new (FALSE, FALSE, sizeof (TdUidRange));
              g_ptr_array_add (batches, current);
              count = 0;
            }
          guint64 room = TD_IMAP_FETCH_BATCH - count;
          if (r.last == G_MAXUINT32 || (guint64) r.last - r.first + 1 <= room)
            {
              g_array_append_val (current, r);
              count += r.last == G_MAXUINT32 ? room : (guint64) r.last - r.first + 1;
              break;
            }
          TdUidRange head = { r.first, (guint32) (r.first + room - 1) };
          g_array_append_val (current, head);
          r.first = head.last + 1;
          current = NULL;
        }
      if (count >= TD_IMAP_FETCH_BATCH)
        current = NULL;
    }
  return batches;
}

/**
 * td_imap_download_new:
 * @session: the session the commands go out on
 * @uids: (element-type TdUidRange): what to download
 * @sink: where the messages go
 *
 * Returns: (transfer full): a download, not yet asked for
 */
TdImapDownload *
td_imap_download_new (TdImapSession *session, GArray *uids, TdMessageSink *sink)
{
  TdImapDownload *d = g_new0 (TdImapDownload, 1);

  d->session = session;
  d->sink = g_object_ref (sink);
  d->wanted = g_array_ref (uids);
  return d;
}

/**
 * td_imap_download_queue:
 * @d: a download
 * @cancellable: (nullable): a cancellable
 * @callback: called as each command completes (finish it with td_imap_session_command_finish)
 * @user_data: data for @callback, once per command
 * @copy: (nullable): what each command's @user_data is made from (a reference taken per
 *   command), or NULL to pass @user_data as it is
 *
 * Queues the download's UID FETCH commands behind whatever is queued.
 *
 * Returns: how many commands were queued
 */
guint
td_imap_download_queue (TdImapDownload *d, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data,
                        gpointer (*copy) (gpointer))
{
  g_autoptr (GPtrArray) batches = split_batches (d->wanted);
  TdImapHandlers handlers = { .on_untagged = on_fetch_response, .on_chunk = on_fetch_chunk,
                              .user_data = d };

  for (guint i = 0; i < batches->len; i++)
    {
      g_autofree char *set = td_uid_set_to_string (g_ptr_array_index (batches, i));
      td_imap_session_run_async (d->session, &handlers, cancellable, callback,
                                 copy != NULL ? copy (user_data) : user_data,
                                 "UID FETCH %s (" FETCH_ITEMS "%s)", set,
                                 td_imap_email_id_item (d->session));
    }
  return batches->len;
}

typedef struct
{
  TdImapDownload *download;
  guint pending;
} FetchData;

static void
fetch_data_free (FetchData *data)
{
  td_imap_download_free (data->download);
  g_free (data);
}

static void
fetch_answered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  FetchData *data = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source),
                                                                 result, &error);
  if (r == NULL)
    td_imap_download_fail (data->download, error);
  if (--data->pending > 0)
    return;
  error = td_imap_download_take_error (data->download);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
td_imap_backend_fetch_messages_async (TdBackend *backend, GArray *uids, TdMessageSink *sink,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data)
{
  TdImapBackend *self = TD_IMAP_BACKEND (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  FetchData *data = g_new0 (FetchData, 1);

  g_task_set_source_tag (task, td_imap_backend_fetch_messages_async);
  data->download = td_imap_download_new (self->session, uids, sink);
  g_task_set_task_data (task, data, (GDestroyNotify) fetch_data_free);
  data->pending = td_imap_download_queue (data->download, cancellable, fetch_answered, task,
                                          g_object_ref);
  if (data->pending == 0)
    g_task_return_boolean (task, TRUE);
}

gboolean
td_imap_backend_fetch_messages_finish (TdBackend *backend, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Storing flags */

/**
 * td_imap_store_commands:
 * The UID STORE commands that carry out @stores (TdBackendFlagStore): flags added, then
 * flags taken away, per store; .SILENT, as the answers would tell nothing new.
 * Returns: (transfer full) (element-type utf8): the commands.
 */
GPtrArray *
td_imap_store_commands (GPtrArray *stores)
{
  GPtrArray *commands = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; stores != NULL && i < stores->len; i++)
    {
      const TdBackendFlagStore *s = g_ptr_array_index (stores, i);
      g_autofree char *set = td_uid_set_to_string (s->uids);
      for (guint k = 0; k < 2; k++)
        {
          TdFlags flags = k == 0 ? s->add : s->remove;
          if (flags == 0)
            continue;
          g_autofree char *list = td_imap_flags_format (flags, s->keywords);
          g_ptr_array_add (commands, g_strdup_printf ("UID STORE %s %cFLAGS.SILENT (%s)", set,
                                                      k == 0 ? '+' : '-', list));
        }
    }
  return commands;
}

void
td_imap_backend_store_flags_async (TdBackend *backend, GPtrArray *stores,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data)
{
  TdImapBackend *self = TD_IMAP_BACKEND (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  TdImapGroup *group = g_new0 (TdImapGroup, 1);
  g_autoptr (GPtrArray) commands = td_imap_store_commands (stores);

  g_task_set_source_tag (task, td_imap_backend_store_flags_async);
  g_task_set_task_data (task, group, (GDestroyNotify) td_imap_group_free);
  group->pending = 1; /* held while queueing */
  for (guint i = 0; i < commands->len; i++)
    td_imap_group_run (group, self->session, NULL, task, td_imap_group_command_done,
                       g_ptr_array_index (commands, i));
  if (td_imap_group_release (group))
    g_task_return_boolean (task, TRUE);
}

gboolean
td_imap_backend_store_flags_finish (TdBackend *backend, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
