/* td-backend-rounds.c: the two rounds of a sync that go across folders, their types, and
 * the default way of doing each, one folder after another through the backend's own
 * per-folder calls: the survey (open each folder, report its state and changes) and the
 * work (open each again, store flags, download). A backend that can pipeline a round (IMAP)
 * overrides it. Main loop thread.
 */
#include "engine/backend/td-backend-private.h"

#include "engine/common/td-durable-step.h"
#include "engine/common/td-error.h"

/**
 * td_folder_query_new:
 * @name: the folder's name as list_folders reported it
 * @read_only: open it without the right to change anything
 * @since: what the last good sync knew of it
 *
 * Returns: (transfer full): a query for td_backend_survey_folders_async()
 */
TdFolderQuery *
td_folder_query_new (const char *name, gboolean read_only, const TdSyncPoint *since)
{
  TdFolderQuery *query = g_new0 (TdFolderQuery, 1);

  query->name = g_strdup (name);
  query->read_only = read_only;
  query->since = *since;
  return query;
}

void
td_folder_query_free (TdFolderQuery *query)
{
  if (query == NULL)
    return;
  g_free (query->name);
  g_free (query);
}

/**
 * td_folder_query_new_from:
 * @query: a query
 *
 * Returns: the first UID a survey lists as new: the old UIDNEXT, else above the highest UID
 *   the state DB holds
 */
guint32
td_folder_query_new_from (const TdFolderQuery *query)
{
  return MAX (query->since.uidnext != 0 ? query->since.uidnext : query->since.last_uid + 1, 1);
}

TdFolderSurvey *
td_folder_survey_new (void)
{
  return g_new0 (TdFolderSurvey, 1);
}

void
td_folder_survey_free (TdFolderSurvey *survey)
{
  if (survey == NULL)
    return;
  g_clear_pointer (&survey->changes, td_folder_changes_free);
  g_clear_error (&survey->error);
  g_free (survey);
}

/* The default survey */

typedef struct
{
  GPtrArray *queries;  /* TdFolderQuery, the caller's */
  GPtrArray *surveys;  /* TdFolderSurvey, one per query done so far */
  TdSyncPoint since;   /* the current query's, with new_from set */
} DefaultSurvey;

static void
default_survey_free (DefaultSurvey *d)
{
  g_ptr_array_unref (d->queries);
  g_ptr_array_unref (d->surveys);
  g_free (d);
}

static void survey_next (GTask *task);

/* An error that ends the whole round (the connection is gone); one folder's failure is kept
 * in its survey instead. */
static gboolean
ends_round (GTask *task, GError *error)
{
  if (!td_error_is_account_wide (error))
    return FALSE;
  g_task_return_error (task, error);
  g_object_unref (task);
  return TRUE;
}

static void
changes_listed (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  DefaultSurvey *d = g_task_get_task_data (task);
  TdFolderSurvey *s = g_ptr_array_index (d->surveys, d->surveys->len - 1);
  GError *error = NULL;

  s->changes = TD_BACKEND_GET_CLASS (source)->list_changes_finish (TD_BACKEND (source), result,
                                                                   &error);
  if (s->changes == NULL && ends_round (task, error))
    return;
  g_clear_error (&error); /* the runner lists them itself */
  survey_next (task);
}

static void
opened (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  TdBackend *self = TD_BACKEND (source);
  DefaultSurvey *d = g_task_get_task_data (task);
  TdFolderSurvey *s = g_ptr_array_index (d->surveys, d->surveys->len - 1);
  GError *error = NULL;

  if (!TD_BACKEND_GET_CLASS (self)->open_folder_finish (self, result, &s->state, &error))
    {
      if (ends_round (task, error))
        return;
      s->error = error;
      survey_next (task);
      return;
    }
  /* A renumbered folder's changes mean nothing: the runner lists it whole. */
  if (d->since.uidvalidity != 0 && d->since.uidvalidity != s->state.uidvalidity)
    {
      survey_next (task);
      return;
    }
  TD_BACKEND_GET_CLASS (self)->list_changes_async (self, &d->since,
                                                   g_task_get_cancellable (task),
                                                   changes_listed, task);
}

static void
survey_next (GTask *task)
{
  TdBackend *self = g_task_get_source_object (task);
  DefaultSurvey *d = g_task_get_task_data (task);

  if (d->surveys->len == d->queries->len)
    {
      g_task_return_pointer (task, g_ptr_array_ref (d->surveys),
                             (GDestroyNotify) g_ptr_array_unref);
      g_object_unref (task);
      return;
    }
  const TdFolderQuery *q = g_ptr_array_index (d->queries, d->surveys->len);
  g_ptr_array_add (d->surveys, td_folder_survey_new ());
  d->since = q->since;
  d->since.new_from = td_folder_query_new_from (q);
  TD_BACKEND_GET_CLASS (self)->open_folder_async (self, q->name, q->read_only, &q->since,
                                                  g_task_get_cancellable (task), opened, task);
}

void
td_backend_default_survey_folders_async (TdBackend *self, GPtrArray *queries,
                                         GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  DefaultSurvey *d = g_new0 (DefaultSurvey, 1);

  g_task_set_source_tag (task, td_backend_default_survey_folders_async);
  d->queries = g_ptr_array_ref (queries);
  d->surveys = g_ptr_array_new_with_free_func ((GDestroyNotify) td_folder_survey_free);
  g_task_set_task_data (task, d, (GDestroyNotify) default_survey_free);
  survey_next (task);
}

GPtrArray *
td_backend_default_survey_folders_finish (TdBackend *self, GAsyncResult *result,
                                          GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The work round */

TdFolderWork *
td_folder_work_new (const char *name, gboolean read_only, guint32 uidvalidity)
{
  TdFolderWork *work = g_new0 (TdFolderWork, 1);

  work->name = g_strdup (name);
  work->read_only = read_only;
  work->uidvalidity = uidvalidity;
  return work;
}

void
td_folder_work_free (TdFolderWork *work)
{
  if (work == NULL)
    return;
  g_free (work->name);
  g_clear_pointer (&work->stores, g_ptr_array_unref);
  g_clear_pointer (&work->uids, g_array_unref);
  g_clear_object (&work->sink);
  g_clear_error (&work->error);
  g_free (work);
}

/**
 * td_folder_work_renumbered:
 * @name: the folder's name
 *
 * Returns: (transfer full): the error of a folder whose UIDVALIDITY changed between the
 *   survey and its work: nothing of its plan holds any more
 */
GError *
td_folder_work_renumbered (const char *name)
{
  return g_error_new (TD_ERROR, TD_ERROR_FOLDER, "the server renumbered the folder during "
                      "the sync (UIDVALIDITY changed), so nothing planned for it was done; "
                      "run the sync again");
}

typedef struct
{
  GPtrArray *work;  /* TdFolderWork, the caller's */
  guint next;       /* the work under way is next - 1 */
} DefaultWork;

static void
default_work_free (DefaultWork *d)
{
  g_ptr_array_unref (d->work);
  g_free (d);
}

static void work_next (GTask *task);

static TdFolderWork *
current_work (GTask *task)
{
  DefaultWork *d = g_task_get_task_data (task);
  return g_ptr_array_index (d->work, d->next - 1);
}

/* A step of the current folder failed: on to the next folder, unless the round is over. */
static void
work_step_failed (GTask *task, GError *error)
{
  if (ends_round (task, error))
    return;
  current_work (task)->error = error;
  work_next (task);
}

static void
work_fetched (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  GError *error = NULL;

  if (!TD_BACKEND_GET_CLASS (source)->fetch_messages_finish (TD_BACKEND (source), result, &error))
    {
      work_step_failed (task, error);
      return;
    }
  work_next (task);
}

static void
work_fetch (GTask *task)
{
  TdBackend *self = g_task_get_source_object (task);
  TdFolderWork *w = current_work (task);

  if (w->uids == NULL || w->uids->len == 0)
    {
      work_next (task);
      return;
    }
  TD_BACKEND_GET_CLASS (self)->fetch_messages_async (self, w->uids, w->sink,
                                                     g_task_get_cancellable (task),
                                                     work_fetched, task);
}

static void
work_stored (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  GError *error = NULL;

  if (!TD_BACKEND_GET_CLASS (source)->store_flags_finish (TD_BACKEND (source), result, &error))
    {
      work_step_failed (task, error);
      return;
    }
  /* A step as td_backend_store_flags_finish() counts it, so a crash sweep stops here too. */
  td_durable_step ("server: store flags done");
  work_fetch (task);
}

static void
work_opened (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  TdBackend *self = TD_BACKEND (source);
  TdFolderWork *w = current_work (task);
  TdFolderState state;
  GError *error = NULL;

  if (!TD_BACKEND_GET_CLASS (self)->open_folder_finish (self, result, &state, &error))
    {
      work_step_failed (task, error);
      return;
    }
  if (state.uidvalidity != w->uidvalidity)
    {
      work_step_failed (task, td_folder_work_renumbered (w->name));
      return;
    }
  if (w->stores == NULL || w->stores->len == 0)
    {
      work_fetch (task);
      return;
    }
  TD_BACKEND_GET_CLASS (self)->store_flags_async (self, w->stores, g_task_get_cancellable (task),
                                                  work_stored, task);
}

static void
work_next (GTask *task)
{
  TdBackend *self = g_task_get_source_object (task);
  DefaultWork *d = g_task_get_task_data (task);

  if (d->next == d->work->len)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  TdFolderWork *w = g_ptr_array_index (d->work, d->next++);
  TD_BACKEND_GET_CLASS (self)->open_folder_async (self, w->name, w->read_only, NULL,
                                                  g_task_get_cancellable (task), work_opened,
                                                  task);
}

void
td_backend_default_work_folders_async (TdBackend *self, GPtrArray *work,
                                       GCancellable *cancellable, GAsyncReadyCallback callback,
                                       gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  DefaultWork *d = g_new0 (DefaultWork, 1);

  g_task_set_source_tag (task, td_backend_default_work_folders_async);
  d->work = g_ptr_array_ref (work);
  g_task_set_task_data (task, d, (GDestroyNotify) default_work_free);
  work_next (task);
}

gboolean
td_backend_default_work_folders_finish (TdBackend *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
