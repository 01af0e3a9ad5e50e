/* td-imap-backend.c: TdImapBackend: connecting, listing folders, selecting, logging out.
 *
 * Listing and downloading live in td-imap-backend-sync.c. The backend keeps the server's
 * own spelling of every folder name it listed, so a folder is selected by exactly the bytes
 * the server sent, whatever the decoded name became.
 */
#include "td-imap-backend-private.h"

#include "td-build-config.h"

#include <string.h>

#include "engine/common/td-error.h"
#include "engine/common/td-mutf7.h"
#include "td-imap-fetch.h"
#include "td-imap-limits.h"

G_DEFINE_FINAL_TYPE (TdImapBackend, td_imap_backend, TD_TYPE_BACKEND)

static TdBackendCaps
imap_get_caps (TdBackend *backend)
{
  TdImapBackend *self = TD_IMAP_BACKEND (backend);
  TdBackendCaps caps = TD_BACKEND_CAP_FOLDERS | TD_BACKEND_CAP_FLAGS | TD_BACKEND_CAP_STORE
                       | TD_BACKEND_CAP_APPEND | TD_BACKEND_CAP_EXPUNGE
                       | TD_BACKEND_CAP_CREATE_FOLDER | TD_BACKEND_CAP_MOVE;

  if (self->session != NULL && td_imap_session_get_caps (self->session)->condstore)
    caps |= TD_BACKEND_CAP_CHANGES_SINCE;
  if (self->session != NULL && td_imap_session_get_caps (self->session)->idle)
    caps |= TD_BACKEND_CAP_WATCH;
  return caps;
}

/* Connect */

static void
on_enabled (TdImapSession *session, const TdImapResponse *r, gpointer user_data)
{
  TdImapBackend *self = user_data;
  if (g_strcmp0 (r->name, "ENABLED") != 0)
    return;
  for (guint i = 0; i < r->args->items->len; i++)
    if (td_imap_value_is_atom (g_ptr_array_index (r->args->items, i), "QRESYNC"))
      self->qresync = TRUE;
}

/* ENABLE and ID: a refusal changes nothing (no QRESYNC; a server that wanted ID says so at
 * SELECT); a broken connection shows at the next step. */
static void
answer_ignored (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source),
                                                                 result, &error);
}

static void
logged_in (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  TdImapBackend *self = TD_IMAP_BACKEND (source);
  GError *error = NULL;

  if (!td_imap_backend_login_finish (self, result, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  const TdImapCaps *caps = td_imap_session_get_caps (self->session);
  /* Neither is waited for: commands complete in order, so their answers are in before the
   * first SELECT is even sent, and the listing goes out in the same round trip. Some
   * providers refuse SELECT to a client that has not said who it is (RFC 2971); the name
   * and version are all it tells. */
  if (caps->id)
    td_imap_session_run_async (self->session, NULL, NULL, answer_ignored, NULL,
                               "ID (\"name\" \"Tidings\" \"version\" \"%s\")", TD_VERSION);
  if (caps->qresync && caps->enable)
    {
      TdImapHandlers handlers = { .on_untagged = on_enabled, .user_data = self };
      td_imap_session_run_async (self->session, &handlers, NULL, answer_ignored, NULL,
                                 "ENABLE QRESYNC");
    }
  g_task_return_boolean (task, TRUE);
}

static void
imap_connect_async (TdBackend *backend, const char *secret, GCancellable *cancellable,
                    GAsyncReadyCallback callback, gpointer user_data)
{
  TdImapBackend *self = TD_IMAP_BACKEND (backend);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, imap_connect_async);
  if (self->session != NULL)
    td_imap_session_close (self->session);
  g_clear_object (&self->session);
  self->qresync = FALSE;
  self->session = td_imap_session_new (td_backend_get_account (backend));
  td_imap_backend_login_async (self, secret, cancellable, logged_in, task);
}

static gboolean
task_finish_boolean (TdBackend *backend, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* LIST, with each folder's STATUS (RFC 5819 LIST-STATUS, or pipelined STATUS commands) */

#define STATUS_ITEMS "MESSAGES UIDNEXT UIDVALIDITY"

typedef struct
{
  TdImapBackend *self;
  GPtrArray *folders;     /* TdFolderInfo */
  GHashTable *by_raw;     /* the server's name -> TdFolderInfo (borrowed) */
  gboolean listed;        /* the LIST is done; what follows are STATUS commands */
  TdImapGroup group;
} ListData;

static void
list_data_free (ListData *data)
{
  g_ptr_array_unref (data->folders);
  g_hash_table_unref (data->by_raw);
  td_imap_group_clear (&data->group);
  g_free (data);
}

static gboolean
has_flag (const TdImapValue *flags, const char *name)
{
  for (guint i = 0; flags->items != NULL && i < flags->items->len; i++)
    if (td_imap_value_is_atom (g_ptr_array_index (flags->items, i), name))
      return TRUE;
  return FALSE;
}

static void
on_list_entry (TdImapSession *session, ListData *data, const TdImapResponse *r)
{
  g_autoptr (GError) error = NULL;

  if (r->args->items->len != 3)
    return;
  const TdImapValue *flags = g_ptr_array_index (r->args->items, 0);
  const TdImapValue *delim = g_ptr_array_index (r->args->items, 1);
  const char *raw = td_imap_value_get_string (g_ptr_array_index (r->args->items, 2));
  const char *d = td_imap_value_get_string (delim);
  if (flags->type != TD_IMAP_VALUE_LIST || raw == NULL || *raw == '\0'
      || data->folders->len >= TD_IMAP_MAX_FOLDERS || (d != NULL && strlen (d) != 1)
      || g_hash_table_contains (data->by_raw, raw))
    return;
  g_autofree char *name = g_ascii_strcasecmp (raw, "INBOX") == 0 ? g_strdup ("INBOX")
                                                                : td_mutf7_decode (raw, &error);
  if (name == NULL)
    {
      g_warning ("%s: skipping a folder: %s", td_imap_session_describe (session), error->message);
      return;
    }
  gboolean selectable = !has_flag (flags, "\\Noselect") && !has_flag (flags, "\\NonExistent");
  TdFolderInfo *info = td_folder_info_new (name, d ? d[0] : '\0', selectable);
  for (guint i = 0; i < flags->items->len; i++)
    info->special |= td_special_use_from_attribute (
      td_imap_value_get_string (g_ptr_array_index (flags->items, i)));
  g_hash_table_replace (data->self->raw_names, g_strdup (name), g_strdup (raw));
  g_hash_table_insert (data->by_raw, g_strdup (raw), info);
  g_ptr_array_add (data->folders, info);
}

/* "* STATUS name (MESSAGES n UIDNEXT n …)"; a folder the LIST did not report is ignored. */
static void
on_status_entry (ListData *data, const TdImapResponse *r)
{
  guint64 n;

  if (r->args->items->len != 2)
    return;
  const char *raw = td_imap_value_get_string (g_ptr_array_index (r->args->items, 0));
  const TdImapValue *items = g_ptr_array_index (r->args->items, 1);
  TdFolderInfo *info = raw ? g_hash_table_lookup (data->by_raw, raw) : NULL;
  if (info == NULL || items->type != TD_IMAP_VALUE_LIST)
    return;
  info->has_status = TRUE;
  if (td_imap_value_get_number (td_imap_value_lookup (items, "MESSAGES"), &n) && n <= G_MAXUINT32)
    info->status.exists = (guint32) n;
  else
    info->has_status = FALSE;
  if (td_imap_value_get_number (td_imap_value_lookup (items, "UIDNEXT"), &n) && n <= G_MAXUINT32)
    info->status.uidnext = (guint32) n;
  else
    info->has_status = FALSE;
  if (td_imap_value_get_number (td_imap_value_lookup (items, "UIDVALIDITY"), &n) && n <= G_MAXUINT32)
    info->status.uidvalidity = (guint32) n;
  else
    info->has_status = FALSE;
  if (td_imap_value_get_number (td_imap_value_lookup (items, "HIGHESTMODSEQ"), &n))
    info->status.highestmodseq = n;
}

static void
on_list (TdImapSession *session, const TdImapResponse *r, gpointer user_data)
{
  if (g_strcmp0 (r->name, "LIST") == 0)
    on_list_entry (session, user_data, r);
  else if (g_strcmp0 (r->name, "STATUS") == 0)
    on_status_entry (user_data, r);
}

/* Drops one hold on the listing; the last one completes it. */
static void
list_release (GTask *task)
{
  ListData *data = g_task_get_task_data (task);

  if (td_imap_group_release (&data->group) && !td_imap_group_return_error (&data->group, task))
    g_task_return_pointer (task, g_ptr_array_ref (data->folders),
                           (GDestroyNotify) g_ptr_array_unref);
}

static void
list_step_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  ListData *data = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source),
                                                                 result, &error);
  /* A folder the server refuses STATUS for (NO, or BAD for an item it does not know) just
   * goes without, and is opened to find out; the LIST itself must work. */
  gboolean refused = g_error_matches (error, TD_ERROR, TD_ERROR_FOLDER)
                     || g_error_matches (error, TD_ERROR, TD_ERROR_PROTOCOL);
  if (r == NULL && (!data->listed || !refused))
    td_imap_group_keep_error (&data->group, error);
  else
    g_clear_error (&error);
  list_release (task);
}

static void
run_list_command (GTask *task, const char *command)
{
  TdImapBackend *self = g_task_get_source_object (task);
  ListData *data = g_task_get_task_data (task);
  TdImapHandlers handlers = { .on_untagged = on_list, .user_data = data };

  td_imap_group_run (&data->group, self->session, &handlers, task, list_step_done, command);
}

/* Without LIST-STATUS: one STATUS per selectable folder, all sent at once. */
static void
list_answered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  ListData *data = g_task_get_task_data (task);
  TdImapBackend *self = g_task_get_source_object (task);
  gboolean condstore = td_imap_session_get_caps (self->session)->condstore;
  GError *error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source),
                                                                 result, &error);
  GHashTableIter it;
  gpointer raw, info;

  if (r == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  data->listed = TRUE;
  data->group.pending = 1; /* held while the STATUS commands are queued */
  g_hash_table_iter_init (&it, data->by_raw);
  while (g_hash_table_iter_next (&it, &raw, &info))
    {
      g_autofree char *quoted = td_imap_quote (raw);
      if (!((TdFolderInfo *) info)->selectable || quoted == NULL)
        continue;
      g_autofree char *command = g_strdup_printf ("STATUS %s (" STATUS_ITEMS "%s)", quoted,
                                                  condstore ? " HIGHESTMODSEQ" : "");
      run_list_command (task, command);
    }
  list_release (task);
}

static void
imap_list_folders_async (TdBackend *backend, GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data)
{
  TdImapBackend *self = TD_IMAP_BACKEND (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  ListData *data = g_new0 (ListData, 1);
  const TdImapCaps *caps = td_imap_session_get_caps (self->session);

  data->self = self;
  data->folders = g_ptr_array_new_with_free_func ((GDestroyNotify) td_folder_info_free);
  data->by_raw = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_task_set_source_tag (task, imap_list_folders_async);
  g_task_set_task_data (task, data, (GDestroyNotify) list_data_free);
  g_hash_table_remove_all (self->raw_names);
  if (caps->list_status)
    {
      /* With RETURN, a server says what folders are for only when asked (RFC 6154). */
      g_autofree char *command = g_strdup_printf (
        "LIST \"\" \"*\" RETURN (%sSTATUS (" STATUS_ITEMS "%s))",
        caps->special_use ? "SPECIAL-USE " : "", caps->condstore ? " HIGHESTMODSEQ" : "");
      run_list_command (task, command);
      return;
    }
  TdImapHandlers handlers = { .on_untagged = on_list, .user_data = data };
  td_imap_session_run_async (self->session, &handlers, cancellable, list_answered,
                             g_steal_pointer (&task), "LIST \"\" \"*\"");
}

static GPtrArray *
imap_list_folders_finish (TdBackend *backend, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* SELECT, with the changes since a sync point where the server can (RFC 7162 QRESYNC) */

typedef struct
{
  TdImapBackend *self;
  TdSyncPoint since;
  TdFolderChanges *changes; /* collected during a QRESYNC SELECT, else NULL */
  GArray *added;            /* TdMessageInfo: the listing of new messages behind the SELECT */
  guint32 added_from;       /* ... from this UID on */
  guint pending;            /* commands still out: the SELECT and that listing */
  gboolean listed;          /* the listing of new messages came back OK */
  TdFolderState *state;     /* the SELECT's outcome */
  GError *error;
} SelectData;

static void
select_data_free (SelectData *data)
{
  g_clear_pointer (&data->changes, td_folder_changes_free);
  g_clear_pointer (&data->added, g_array_unref);
  g_clear_pointer (&data->state, g_free);
  g_clear_error (&data->error);
  g_free (data);
}

/**
 * td_imap_vanished_parse:
 * @response: an untagged response
 * @ranges: (element-type TdUidRange): receives the UIDs it reports gone
 *
 * Returns: %TRUE when @response is a well-formed VANISHED (RFC 7162 section 3.2.10)
 */
gboolean
td_imap_vanished_parse (const TdImapResponse *response, GArray *ranges)
{
  GPtrArray *args = response->args ? response->args->items : NULL;
  const char *set;

  if (g_strcmp0 (response->name, "VANISHED") != 0 || args == NULL || args->len == 0)
    return FALSE;
  set = td_imap_value_get_string (g_ptr_array_index (args, args->len - 1));
  return set != NULL && td_uid_set_parse (set, ranges);
}

/**
 * td_imap_aged_parse:
 * @response: an untagged response
 * @ranges: (element-type TdUidRange): receives the UIDs it lists
 *
 * Returns: %TRUE when @response is the ESEARCH answer of a RETURN (ALL) search, as
 *   td_imap_backend_new_listing() asks for the new messages received too long ago
 */
gboolean
td_imap_aged_parse (const TdImapResponse *response, GArray *ranges)
{
  const char *set;

  if (g_strcmp0 (response->name, "ESEARCH") != 0)
    return FALSE;
  set = td_imap_value_get_string (td_imap_value_lookup (response->args, "ALL"));
  if (set == NULL)
    return FALSE;
  /* Answered, whatever it holds: a set that does not read, or names more messages than a
   * folder can have, is dropped rather than walked. */
  g_autoptr (GArray) parsed = g_array_new (FALSE, FALSE, sizeof (TdUidRange));
  guint64 count = 0;
  if (!td_uid_set_parse (set, parsed))
    return TRUE;
  for (guint i = 0; i < parsed->len; i++)
    {
      const TdUidRange *r = &g_array_index (parsed, TdUidRange, i);
      count += (guint64) r->last - r->first + 1;
    }
  if (count <= TD_IMAP_MAX_MESSAGES)
    g_array_append_vals (ranges, parsed->data, parsed->len);
  return TRUE;
}

/**
 * td_imap_backend_new_listing:
 * @self: a backend
 * @from: the first UID that can be new
 * @aged_before: (out): with a narrowed listing, the bound of the messages listed by UID only;
 *   else 0
 *
 * The commands that list the new messages from @from on, to be sent together. Without a
 * cut-off (td_backend_set_list_cutoff()), one FETCH of them all. With one, and a server that
 * saves a search (RFC 5182 SEARCHRES) and answers in ESEARCH, the messages received before
 * the day ahead of the cut-off's are asked by UID only (SEARCH dates are days in the
 * message's own zone: a day's margin keeps them all before the cut-off), and only the rest
 * is fetched, from the saved result: a first sync of a big folder with max-age lists what it
 * downloads, not everything. Their answers: an ESEARCH ALL (td_imap_aged_parse()), then
 * FETCH responses as without it.
 *
 * Returns: (transfer full): the commands
 */
GStrv
td_imap_backend_new_listing (TdImapBackend *self, guint32 from, gint64 *aged_before)
{
  const TdImapCaps *caps = td_imap_session_get_caps (self->session);
  gint64 cutoff = td_backend_get_list_cutoff (TD_BACKEND (self));

  *aged_before = 0;
  if (cutoff <= 2 * 86400 || !caps->esearch || !caps->searchres)
    {
      char *all[] = { g_strdup_printf ("UID FETCH %u:* (" TD_IMAP_NEW_ITEMS ")", from), NULL };
      return g_memdup2 (all, sizeof all);
    }
  gint64 day = cutoff / 86400 - 1;
  g_autofree char *date = td_imap_date_format (day * 86400, FALSE);
  *aged_before = (day + 1) * 86400;
  char *narrowed[] = {
    g_strdup_printf ("UID SEARCH RETURN (ALL) UID %u:* BEFORE %s", from, date),
    g_strdup_printf ("UID SEARCH RETURN (SAVE) UID %u:* SINCE %s", from, date),
    g_strdup ("UID FETCH $ (" TD_IMAP_NEW_ITEMS ")"),
    NULL,
  };
  return g_memdup2 (narrowed, sizeof narrowed);
}

static void
on_select (TdImapSession *session, const TdImapResponse *r, gpointer user_data)
{
  SelectData *data = user_data;
  TdMessageInfo info;

  if (data->changes != NULL && td_imap_vanished_parse (r, data->changes->vanished))
    return;
  if (!td_imap_fetch_info (r, &info))
    return;
  /* The listing of new messages is the only command here that asks for sizes. */
  if (data->added != NULL && info.uid >= data->added_from
      && data->added->len < TD_IMAP_MAX_MESSAGES
      && td_imap_value_lookup (g_ptr_array_index (r->args->items, 0), "RFC822.SIZE") != NULL)
    g_array_append_val (data->added, info);
  else if (data->changes != NULL && info.uid <= data->since.last_uid
           && data->changes->changed->len < TD_IMAP_MAX_MESSAGES
           && td_imap_value_lookup (g_ptr_array_index (r->args->items, 0), "FLAGS") != NULL)
    g_array_append_val (data->changes->changed, info);
  else
    td_message_info_clear (&info);
}

/* Both commands are back: the folder's state, or the SELECT's failure. The QRESYNC data is
 * only about our UIDs if the folder was not renumbered. */
static void
select_complete (GTask *task)
{
  SelectData *data = g_task_get_task_data (task);

  if (--data->pending > 0)
    return;
  if (data->error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&data->error));
      return;
    }
  gboolean same = data->state->uidvalidity == data->since.uidvalidity;
  if (data->changes != NULL && same)
    {
      g_clear_pointer (&data->self->resync_changes, td_folder_changes_free);
      data->self->resync_changes = g_steal_pointer (&data->changes);
    }
  if (data->listed && (same || data->since.uidvalidity == 0))
    {
      g_clear_pointer (&data->self->prelisted, g_array_unref);
      data->self->prelisted = g_steal_pointer (&data->added);
      data->self->prelisted_from = data->added_from;
    }
  g_task_return_pointer (task, g_steal_pointer (&data->state), g_free);
}

/* The new messages' listing: a failure only means list_changes lists them itself. */
static void
added_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SelectData *data = g_task_get_task_data (task);
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source),
                                                                 result, NULL);
  data->listed = r != NULL;
  select_complete (task);
}

static void
select_answered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SelectData *data = g_task_get_task_data (task);
  TdImapSession *session = TD_IMAP_SESSION (source);
  GError *error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (session, result, &error);
  TdImapMailbox *mb = td_imap_session_get_mailbox (session);

  if (r == NULL)
    data->error = error;
  else if (mb->uidvalidity == 0)
    data->error = g_error_new (TD_ERROR, TD_ERROR_FOLDER, "the server reported no "
                               "UIDVALIDITY for this folder, so its messages cannot be tracked");
  else
    {
      data->state = g_new0 (TdFolderState, 1);
      data->state->uidvalidity = mb->uidvalidity;
      data->state->uidnext = mb->uidnext;
      data->state->highestmodseq = mb->nomodseq ? 0 : mb->highestmodseq;
      data->state->exists = mb->exists;
      data->state->read_only = mb->read_only;
    }
  select_complete (task);
}

/**
 * td_imap_backend_select_arguments:
 * @self: a backend
 * @since: (nullable): what the last sync knew of the folder
 *
 * Returns: (transfer full): what follows the folder name in SELECT: the QRESYNC parameters
 *   where the session and @since allow, else CONDSTORE where the server has it, else ""
 */
char *
td_imap_backend_select_arguments (TdImapBackend *self, const TdSyncPoint *since)
{
  if (self->qresync && since != NULL && since->uidvalidity != 0 && since->highestmodseq != 0)
    {
      if (since->last_uid == 0)
        return g_strdup_printf (" (QRESYNC (%u %" G_GUINT64_FORMAT "))", since->uidvalidity,
                                since->highestmodseq);
      return g_strdup_printf (" (QRESYNC (%u %" G_GUINT64_FORMAT " 1:%u))", since->uidvalidity,
                              since->highestmodseq, since->last_uid);
    }
  return g_strdup (td_imap_session_get_caps (self->session)->condstore ? " (CONDSTORE)" : "");
}

/**
 * td_imap_backend_quote_name:
 * @self: a backend
 * @name: a decoded folder name
 * @error: return location for a %TD_ERROR_FOLDER error
 *
 * Returns: (transfer full) (nullable): the server's name for it (as listed, or encoded in
 *   modified UTF-7), quoted for a command; %NULL when it cannot be sent
 */
char *
td_imap_backend_quote_name (TdImapBackend *self, const char *name, GError **error)
{
  const char *raw = g_hash_table_lookup (self->raw_names, name);
  g_autofree char *encoded = raw ? NULL : td_mutf7_encode (name);
  char *quoted = td_imap_quote (raw ? raw : encoded);

  if (quoted == NULL)
    g_set_error (error, TD_ERROR, TD_ERROR_FOLDER, "the folder name cannot be sent to the "
                 "server");
  return quoted;
}

/**
 * td_imap_backend_forget_selected:
 * Drops what was known of the folder open so far: its QRESYNC changes, its pre-listed UIDs,
 * what IDLE watched and what a survey left open (a SELECT replaces it). The mailbox state
 * the session parsed is left to the caller, whose next SELECT overwrites it.
 */
void
td_imap_backend_forget_selected (TdImapBackend *self)
{
  g_clear_pointer (&self->resync_changes, td_folder_changes_free);
  g_clear_pointer (&self->prelisted, g_array_unref);
  g_clear_pointer (&self->watched, g_free);
  g_clear_pointer (&self->left_open.name, g_free);
}

static void
imap_open_folder_async (TdBackend *backend, const char *name, gboolean read_only,
                        const TdSyncPoint *since, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data)
{
  TdImapBackend *self = TD_IMAP_BACKEND (backend);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  GError *error = NULL;
  g_autofree char *quoted = td_imap_backend_quote_name (self, name, &error);
  g_autofree char *args = td_imap_backend_select_arguments (self, since);
  TdImapMailbox *mb = td_imap_session_get_mailbox (self->session);
  SelectData *data = g_new0 (SelectData, 1);

  g_task_set_source_tag (task, imap_open_folder_async);
  g_task_set_task_data (task, data, (GDestroyNotify) select_data_free);
  td_imap_backend_forget_selected (self);
  if (quoted == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  data->self = self;
  if (since != NULL)
    data->since = *since;
  if (g_str_has_prefix (args, " (QRESYNC"))
    data->changes = td_folder_changes_new ();
  memset (mb, 0, sizeof *mb);
  TdImapHandlers handlers = { .on_untagged = on_select, .user_data = data };
  data->pending = 1;
  td_imap_session_run_async (self->session, &handlers, cancellable, select_answered, task,
                             "%s %s%s", read_only ? "EXAMINE" : "SELECT", quoted, args);
  /* The new messages (from the old UIDNEXT, or above the highest UID held; all of them the
   * first time) are listed with their sizes right behind the SELECT, so the plan has them
   * without a round trip of their own; with QRESYNC that is all there is to list. */
  if (since != NULL)
    {
      data->added_from = since->uidnext != 0 ? since->uidnext : since->last_uid + 1;
      data->added = td_message_info_array_new ();
      data->pending++;
      td_imap_session_run_async (self->session, &handlers, cancellable, added_listed,
                                 g_object_ref (task), "UID FETCH %u:* (" TD_IMAP_NEW_ITEMS ")",
                                 data->added_from);
    }
}

static gboolean
imap_open_folder_finish (TdBackend *backend, GAsyncResult *result, TdFolderState *state,
                         GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), FALSE);
  g_autofree TdFolderState *s = g_task_propagate_pointer (G_TASK (result), error);
  if (s == NULL)
    return FALSE;
  *state = *s;
  return TRUE;
}

/**
 * td_imap_backend_take_resync_changes:
 * @self: a backend that just opened a folder
 *
 * Returns: (transfer full) (nullable): the changes a QRESYNC SELECT reported, if it did
 */
TdFolderChanges *
td_imap_backend_take_resync_changes (TdImapBackend *self)
{
  return g_steal_pointer (&self->resync_changes);
}

/* LOGOUT */

static void
logout_answered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  TdImapBackend *self = g_task_get_source_object (task);
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source),
                                                                 result, NULL);
  td_imap_session_close (self->session);
  g_task_return_boolean (task, TRUE);
}

static void
imap_disconnect_async (TdBackend *backend, GCancellable *cancellable,
                       GAsyncReadyCallback callback, gpointer user_data)
{
  TdImapBackend *self = TD_IMAP_BACKEND (backend);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, imap_disconnect_async);
  if (self->session == NULL)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  /* The reply to LOGOUT tells nothing worth a round trip: close once it is sent. */
  TdImapHandlers handlers = { .flags = TD_IMAP_COMMAND_NO_REPLY };
  td_imap_session_run_async (self->session, &handlers, cancellable, logout_answered, task,
                             "LOGOUT");
}

/* Object */

static void
td_imap_backend_dispose (GObject *object)
{
  TdImapBackend *self = TD_IMAP_BACKEND (object);

  if (self->session != NULL)
    td_imap_session_close (self->session);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (td_imap_backend_parent_class)->dispose (object);
}

static void
td_imap_backend_finalize (GObject *object)
{
  g_hash_table_unref (TD_IMAP_BACKEND (object)->raw_names);
  g_clear_pointer (&TD_IMAP_BACKEND (object)->resync_changes, td_folder_changes_free);
  g_clear_pointer (&TD_IMAP_BACKEND (object)->prelisted, g_array_unref);
  g_clear_pointer (&TD_IMAP_BACKEND (object)->watched, g_free);
  g_clear_pointer (&TD_IMAP_BACKEND (object)->left_open.name, g_free);
  G_OBJECT_CLASS (td_imap_backend_parent_class)->finalize (object);
}

static void
td_imap_backend_class_init (TdImapBackendClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  TdBackendClass *backend_class = TD_BACKEND_CLASS (klass);

  object_class->dispose = td_imap_backend_dispose;
  object_class->finalize = td_imap_backend_finalize;
  backend_class->get_caps = imap_get_caps;
  backend_class->connect_async = imap_connect_async;
  backend_class->connect_finish = task_finish_boolean;
  backend_class->list_folders_async = imap_list_folders_async;
  backend_class->list_folders_finish = imap_list_folders_finish;
  backend_class->open_folder_async = imap_open_folder_async;
  backend_class->open_folder_finish = imap_open_folder_finish;
  backend_class->survey_folders_async = td_imap_backend_survey_folders_async;
  backend_class->survey_folders_finish = td_imap_backend_survey_folders_finish;
  backend_class->work_folders_async = td_imap_backend_work_folders_async;
  backend_class->work_folders_finish = td_imap_backend_work_folders_finish;
  backend_class->list_changes_async = td_imap_backend_list_changes_async;
  backend_class->list_changes_finish = td_imap_backend_list_changes_finish;
  backend_class->list_messages_async = td_imap_backend_list_messages_async;
  backend_class->list_messages_finish = td_imap_backend_list_messages_finish;
  backend_class->fetch_messages_async = td_imap_backend_fetch_messages_async;
  backend_class->fetch_messages_finish = td_imap_backend_fetch_messages_finish;
  backend_class->store_flags_async = td_imap_backend_store_flags_async;
  backend_class->store_flags_finish = td_imap_backend_store_flags_finish;
  backend_class->disconnect_async = imap_disconnect_async;
  backend_class->disconnect_finish = task_finish_boolean;
  td_imap_backend_push_class_init (backend_class);
  td_imap_backend_watch_class_init (backend_class);
}

static void
td_imap_backend_init (TdImapBackend *self)
{
  self->raw_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}
