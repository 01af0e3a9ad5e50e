/* td-imap-backend-work.c: carrying out many folders' plans in one pipelined round.
 *
 * For each folder, SELECT (EXAMINE where it is read-only), its UID STOREs and its UID FETCH
 * batches are written out together, folder after folder, before the first answer comes;
 * bodies stream into each folder's own sink. The folder the survey opened last is still
 * open, as the survey found it (td_imap_session_get_selections() tells that nothing was
 * selected since): its commands go first, without a SELECT, which spares the server
 * opening that folder twice; with one folder changed, that is the only one. A SELECT is never run beside other commands,
 * so every answer belongs to the folder selected last. A folder whose SELECT fails, or whose
 * UIDVALIDITY is not the one its plan was made against, fails alone and every body that
 * still comes for it is dropped. The STOREs behind such a SELECT have reached the server
 * already: a folder deleted and made again between two pipelined rounds may get flags meant
 * for its predecessor's messages, never lose one. That is also why deletions are not part
 * of the round: a UID EXPUNGE behind a SELECT cannot be made to wait for the SELECT's
 * UIDVALIDITY, and in a folder made again it would remove other messages. A folder with
 * deletions is opened on its own and checked first. Main loop thread.
 */
#include "td-imap-backend-private.h"

#include <string.h>

#include "engine/common/td-error.h"
#include "td-imap-fetch.h"

typedef struct _WorkRound WorkRound;

typedef struct
{
  WorkRound *round;          /* borrowed */
  TdFolderWork *work;        /* borrowed from the caller's array */
  TdImapDownload *download;  /* nullable */
  guint pending;             /* this folder's commands still out, plus a hold */
  GError *error;             /* the folder's first failure */
} WorkFolder;

struct _WorkRound
{
  GTask *task;               /* held until the round returns */
  GPtrArray *folders;        /* WorkFolder */
  /* folders not yet complete, plus a hold; its error ends the round (the connection is
   * gone) */
  TdImapGroup group;
};

static void
work_folder_free (WorkFolder *f)
{
  td_imap_download_free (f->download);
  g_clear_error (&f->error);
  g_free (f);
}

static void
work_round_free (WorkRound *round)
{
  g_ptr_array_unref (round->folders);
  td_imap_group_clear (&round->group);
  g_free (round);
}

static void
round_release (WorkRound *round)
{
  if (!td_imap_group_release (&round->group))
    return;
  GTask *task = g_steal_pointer (&round->task);
  if (!td_imap_group_return_error (&round->group, task))
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

/* Fails the folder: its first error is kept, and the bodies still to come are dropped. */
static void
folder_fail (WorkFolder *f, GError *error)
{
  if (td_error_is_account_wide (error))
    td_imap_group_keep_error (&f->round->group, g_error_copy (error));
  if (f->download != NULL && f->error == NULL)
    td_imap_download_refuse (f->download, g_error_copy (error));
  if (f->error == NULL)
    f->error = error;
  else
    g_error_free (error);
}

static void
folder_release (WorkFolder *f)
{
  if (--f->pending > 0)
    return;
  GError *fetch_error = f->download != NULL ? td_imap_download_take_error (f->download) : NULL;
  if (f->error != NULL)
    {
      f->work->error = g_steal_pointer (&f->error);
      g_clear_error (&fetch_error);
    }
  else
    f->work->error = fetch_error;
  round_release (f->round);
}

/* The SELECT's UIDVALIDITY comes before its completion and before any body: a folder that
 * is not the planned one is refused at once. */
static void
on_select (TdImapSession *session, const TdImapResponse *r, gpointer user_data)
{
  WorkFolder *f = user_data;
  const char *code = td_imap_response_code_name (r);
  guint64 n = 0;

  if (code == NULL || g_ascii_strcasecmp (code, "UIDVALIDITY") != 0 || r->code->items->len < 2
      || !td_imap_value_get_number (g_ptr_array_index (r->code->items, 1), &n))
    return;
  if (n != f->work->uidvalidity && f->error == NULL)
    folder_fail (f, td_folder_work_renumbered (f->work->name));
}

static void
command_answered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  WorkFolder *f = user_data;
  GError *error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source),
                                                                 result, &error);
  if (r == NULL)
    folder_fail (f, error);
  folder_release (f);
}

static void
queue (WorkFolder *f, TdImapSession *session, const TdImapHandlers *handlers, const char *command)
{
  f->pending++;
  td_imap_session_run_async (session, handlers, g_task_get_cancellable (f->round->task),
                             command_answered, f, "%s", command);
}

static void
queue_stores (TdImapBackend *self, WorkFolder *f)
{
  g_autoptr (GPtrArray) commands = td_imap_store_commands (f->work->stores);

  for (guint i = 0; i < commands->len; i++)
    queue (f, self->session, NULL, g_ptr_array_index (commands, i));
}

/* A FETCH batch ended; a failure is the download's, kept with its bodies' own. */
static void
fetch_answered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  WorkFolder *f = user_data;
  GError *error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source),
                                                                 result, &error);
  if (r == NULL && td_error_is_account_wide (error))
    td_imap_group_keep_error (&f->round->group, g_error_copy (error));
  if (r == NULL)
    td_imap_download_fail (f->download, error);
  folder_release (f);
}

/* Queues one folder's commands; behind its own SELECT unless it is @open already. */
static void
queue_folder (TdImapBackend *self, WorkRound *round, TdFolderWork *work, gboolean open)
{
  WorkFolder *f = g_new0 (WorkFolder, 1);
  GError *error = NULL;
  g_autofree char *quoted = td_imap_backend_quote_name (self, work->name, &error);
  g_autofree char *args = td_imap_backend_select_arguments (self, NULL);

  f->round = round;
  f->work = work;
  g_ptr_array_add (round->folders, f);
  round->group.pending++;
  f->pending = 1;
  if (quoted == NULL)
    {
      f->error = error;
      folder_release (f);
      return;
    }
  if (work->uids != NULL && work->uids->len > 0)
    f->download = td_imap_download_new (self->session, work->uids, work->sink);
  if (!open)
    {
      g_autofree char *select = g_strdup_printf ("%s %s%s",
                                                 work->read_only ? "EXAMINE" : "SELECT",
                                                 quoted, args);
      TdImapHandlers on_select_handlers = { .on_untagged = on_select, .user_data = f };
      queue (f, self->session, &on_select_handlers, select);
    }
  queue_stores (self, f);
  if (f->download != NULL)
    f->pending += td_imap_download_queue (f->download, g_task_get_cancellable (round->task),
                                          fetch_answered, f, NULL);
  folder_release (f);
}

/* Which of @work is for the folder still open from the survey, as its plan was made
 * against it; work->len if none. */
static guint
open_one (TdImapBackend *self, GPtrArray *work)
{
  const TdImapLeftOpen *open = &self->left_open;

  if (open->name == NULL || td_imap_session_get_selections (self->session) != open->selections)
    return work->len;
  for (guint i = 0; i < work->len; i++)
    {
      const TdFolderWork *w = g_ptr_array_index (work, i);
      if (strcmp (w->name, open->name) == 0 && w->uidvalidity == open->uidvalidity
          && w->read_only == open->read_only)
        return i;
    }
  return work->len;
}

void
td_imap_backend_work_folders_async (TdBackend *backend, GPtrArray *work,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  TdImapBackend *self = TD_IMAP_BACKEND (backend);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  WorkRound *round = g_new0 (WorkRound, 1);

  g_task_set_source_tag (task, td_imap_backend_work_folders_async);
  round->task = g_object_ref (task);
  round->folders = g_ptr_array_new_with_free_func ((GDestroyNotify) work_folder_free);
  g_task_set_task_data (task, round, (GDestroyNotify) work_round_free);
  /* The folder the survey left open goes first, without opening it again (a SELECT of a
   * big folder is most of what the server spends on it); whatever else was open is left
   * behind, and the last SELECT's state means nothing to anyone. */
  guint open = open_one (self, work);
  td_imap_backend_forget_selected (self);
  memset (td_imap_session_get_mailbox (self->session), 0, sizeof (TdImapMailbox));
  round->group.pending = 1;
  if (open < work->len)
    queue_folder (self, round, g_ptr_array_index (work, open), TRUE);
  for (guint i = 0; i < work->len; i++)
    if (i != open)
      queue_folder (self, round, g_ptr_array_index (work, i), FALSE);
  round_release (round);
  g_object_unref (task);
}

gboolean
td_imap_backend_work_folders_finish (TdBackend *backend, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
