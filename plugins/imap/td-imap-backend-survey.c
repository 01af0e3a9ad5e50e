/* td-imap-backend-survey.c: opening many folders in one pipelined round.
 *
 * For each folder, SELECT (or EXAMINE, with QRESYNC where the session has it), the listing
 * of its new messages with their sizes, and what lists the changes among the old ones
 * without QRESYNC (CHANGEDSINCE with a count where the server has CONDSTORE, else every
 * flag) are all written out before the first answer comes. Commands end in order, and no
 * server runs a SELECT beside another command, so each untagged answer lands in its own
 * folder's record. A folder whose SELECT fails fails alone: the listings behind it are dropped, since
 * they were answered about no folder or the wrong one. Where an answer is needed before the
 * rest can be asked (a count that differs from ours, a folder renumbered), the folder's
 * survey has no changes and the runner asks again after opening it. The folder selected
 * last is left open, and noted (TdImapLeftOpen) for the work round that follows.
 * Main loop thread.
 */
#include "td-imap-backend-private.h"

#include <string.h>

#include "engine/common/td-error.h"
#include "td-imap-fetch.h"
#include "td-imap-limits.h"

typedef enum
{
  OLD_NONE,      /* nothing old to list: the first sync, or QRESYNC tells in the SELECT */
  OLD_CONDSTORE, /* CHANGEDSINCE, and a count or a UID listing of what is left */
  OLD_PLAIN,     /* every flag of every old message */
} OldListing;

typedef struct _Round Round;

typedef struct
{
  Round *round;            /* borrowed: the round this folder is part of */
  TdFolderSurvey *out;     /* borrowed from the round's result */
  char *name;
  gboolean read_only;
  TdSyncPoint since;
  guint32 added_from;
  OldListing old;
  gboolean qresync;        /* the SELECT carried QRESYNC parameters */
  gboolean present_asked;  /* a UID listing of the old messages is among the commands */
  guint pass;              /* 1, or 2 once the folder is asked which old messages are left */
  gboolean again;          /* the first pass left that question */
  char *select;            /* the SELECT or EXAMINE command, for the second pass */
  guint32 recheck;         /* the second SELECT's UIDVALIDITY */
  guint pending;           /* this folder's commands still out */
  guint64 old_count;       /* from ESEARCH COUNT, or G_MAXUINT64 */
  gboolean listing_failed; /* some listing came back NO or BAD */
  GError *select_error;
  TdFolderChanges *changes;
} SurveyFolder;

struct _Round
{
  GTask *task;             /* owned until the round returns */
  GPtrArray *surveys;      /* TdFolderSurvey, the result */
  GPtrArray *folders;      /* SurveyFolder */
  guint pending;           /* folders not yet complete, plus the hold while queueing */
  gboolean second;         /* the second pass has been asked */
  SurveyFolder *last;      /* borrowed: the folder whose SELECT went out last */
  guint selections;        /* the session's count of selecting commands after it */
  GError *error;           /* the first failure that ends the round */
};

static void ask_again (Round *round);

/* Whether the folder opened last is known to be still open, as the next round wants it. */
static void
leave_open (Round *round)
{
  TdImapBackend *self = g_task_get_source_object (round->task);
  SurveyFolder *f = round->last;

  if (f == NULL || f->select_error != NULL || f->out->error != NULL
      || f->out->state.uidvalidity == 0 || (f->pass == 2 && f->recheck != f->out->state.uidvalidity)
      || td_imap_session_get_selections (self->session) != round->selections)
    return;
  g_free (self->left_open.name);
  self->left_open.name = g_strdup (f->name);
  self->left_open.uidvalidity = f->out->state.uidvalidity;
  self->left_open.read_only = f->read_only;
  self->left_open.selections = round->selections;
}

static void
survey_folder_free (SurveyFolder *f)
{
  g_clear_error (&f->select_error);
  g_clear_pointer (&f->changes, td_folder_changes_free);
  g_free (f->select);
  g_free (f->name);
  g_free (f);
}

static void
round_free (Round *round)
{
  g_ptr_array_unref (round->surveys);
  g_ptr_array_unref (round->folders);
  g_clear_error (&round->error);
  g_free (round);
}

static void
round_release (Round *round)
{
  if (--round->pending > 0)
    return;
  if (round->error == NULL && !round->second)
    {
      round->second = TRUE;
      ask_again (round);
      return;
    }
  if (round->error == NULL)
    leave_open (round);
  GTask *task = g_steal_pointer (&round->task);
  if (round->error != NULL)
    g_task_return_error (task, g_steal_pointer (&round->error));
  else
    g_task_return_pointer (task, g_ptr_array_ref (round->surveys),
                           (GDestroyNotify) g_ptr_array_unref);
  g_object_unref (task);
}

/* Answers */

static gboolean
code_number (const TdImapResponse *r, guint64 *out)
{
  return r->code != NULL && r->code->items->len >= 2
         && td_imap_value_get_number (g_ptr_array_index (r->code->items, 1), out);
}

/* The folder's state, from the SELECT's response codes and EXISTS. */
static void
note_state (SurveyFolder *f, const TdImapResponse *r)
{
  TdFolderState *s = &f->out->state;
  const char *code = td_imap_response_code_name (r);
  guint64 n = 0;

  if (f->pass == 2)
    {
      /* The state is the first SELECT's: what the listings of both passes describe. */
      if (code != NULL && g_ascii_strcasecmp (code, "UIDVALIDITY") == 0 && code_number (r, &n)
          && n <= G_MAXUINT32)
        f->recheck = (guint32) n;
      return;
    }
  if (code != NULL && code_number (r, &n))
    {
      if (g_ascii_strcasecmp (code, "UIDVALIDITY") == 0 && n <= G_MAXUINT32)
        s->uidvalidity = (guint32) n;
      else if (g_ascii_strcasecmp (code, "UIDNEXT") == 0 && n <= G_MAXUINT32)
        s->uidnext = (guint32) n;
      else if (g_ascii_strcasecmp (code, "HIGHESTMODSEQ") == 0)
        s->highestmodseq = n;
    }
  if (code != NULL && g_ascii_strcasecmp (code, "NOMODSEQ") == 0)
    s->highestmodseq = 0;
  if (r->has_number && g_strcmp0 (r->name, "EXISTS") == 0)
    s->exists = r->number;
}

/* Every untagged answer to one folder's commands. A server may run the FETCH commands of a
 * folder side by side and mix their answers (Dovecot does), so an answer is placed by what
 * it holds, never by which command seems to be under way: sizes are asked for only by the
 * new messages' listing, UIDs alone only by the listing of what is left, flags by the
 * others. A SELECT is never run beside anything, so folders do not mix. */
static void
on_answer (TdImapSession *session, const TdImapResponse *r, gpointer user_data)
{
  SurveyFolder *f = user_data;
  TdFolderChanges *c = f->changes;
  TdMessageInfo info;
  guint64 n;

  note_state (f, r);
  if (td_imap_aged_parse (r, c->aged))
    return;
  if (g_strcmp0 (r->name, "ESEARCH") == 0)
    {
      if (td_imap_value_get_number (td_imap_value_lookup (r->args, "COUNT"), &n))
        f->old_count = n;
      return;
    }
  if ((f->qresync && td_imap_vanished_parse (r, c->vanished)) || !td_imap_fetch_info (r, &info))
    return;
  const TdImapValue *items = g_ptr_array_index (r->args->items, 0);
  gboolean sized = td_imap_value_lookup (items, "RFC822.SIZE") != NULL;
  gboolean has_flags = td_imap_value_lookup (items, "FLAGS") != NULL;
  if (sized && info.uid >= f->added_from && c->added->len < TD_IMAP_MAX_MESSAGES)
    {
      g_array_append_val (c->added, info);
      return;
    }
  if (!sized && info.uid <= f->since.last_uid)
    {
      /* "UID 1:n (UID)" tells what is left; the plain listing of all flags does too. */
      if (c->present != NULL && (f->old == OLD_PLAIN || !has_flags)
          && c->present->len < TD_IMAP_MAX_MESSAGES)
        g_array_append_val (c->present, info.uid);
      if (has_flags && c->changed->len < TD_IMAP_MAX_MESSAGES)
        {
          g_array_append_val (c->changed, info);
          return;
        }
    }
  td_message_info_clear (&info);
}

/* A folder's commands are all back: what its survey holds. */

typedef enum
{
  CHANGES_COMPLETE,
  CHANGES_UNKNOWN,  /* the runner lists them after opening the folder */
  CHANGES_ASK_AGAIN,
} ChangesKnown;

static ChangesKnown
changes_complete (SurveyFolder *f)
{
  const TdFolderState *s = &f->out->state;

  if (f->listing_failed || (f->pass == 2 && f->recheck != s->uidvalidity))
    return CHANGES_UNKNOWN;
  if (f->since.uidvalidity != 0 && f->since.uidvalidity != s->uidvalidity)
    return CHANGES_UNKNOWN; /* renumbered: the runner lists the folder whole */
  if (s->exists == 0 || f->since.last_uid == 0)
    {
      /* Nothing old is left (or there was none): every old message is gone. */
      g_array_set_size (f->changes->changed, 0);
      g_clear_pointer (&f->changes->present, g_array_unref);
      f->changes->present = g_array_new (FALSE, FALSE, sizeof (guint32));
      return CHANGES_COMPLETE;
    }
  if (f->old == OLD_CONDSTORE && !f->present_asked && f->old_count != f->since.known_count)
    return CHANGES_ASK_AGAIN; /* some old messages are gone: which, the second pass tells */
  return CHANGES_COMPLETE;
}

static void
folder_complete (SurveyFolder *f)
{
  TdFolderSurvey *out = f->out;

  if (f->select_error != NULL)
    {
      memset (&out->state, 0, sizeof out->state);
      out->error = g_steal_pointer (&f->select_error);
    }
  else if (out->state.uidvalidity == 0)
    out->error = g_error_new (TD_ERROR, TD_ERROR_FOLDER, "the server reported no UIDVALIDITY "
                              "for this folder, so its messages cannot be tracked");
  else
    switch (changes_complete (f))
      {
      case CHANGES_COMPLETE:
        out->changes = g_steal_pointer (&f->changes);
        break;
      case CHANGES_ASK_AGAIN:
        f->again = TRUE;
        break;
      case CHANGES_UNKNOWN:
        break;
      }
  round_release (f->round);
}

static void
folder_release (SurveyFolder *f)
{
  if (--f->pending == 0)
    folder_complete (f);
}

static void
select_answered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SurveyFolder *f = user_data;
  GError *error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source),
                                                                 result, &error);
  if (r == NULL && td_error_is_account_wide (error) && f->round->error == NULL)
    f->round->error = g_error_copy (error);
  if (r == NULL)
    f->select_error = error;
  else
    {
      const char *code = td_imap_response_code_name (r);
      f->out->state.read_only = code != NULL && g_ascii_strcasecmp (code, "READ-ONLY") == 0;
    }
  folder_release (f);
}

static void
listing_answered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SurveyFolder *f = user_data;
  GError *error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source),
                                                                 result, &error);
  /* After a failed SELECT the server answers "no folder selected": that is the SELECT's
   * failure, kept there. A broken connection shows in the SELECTs still out. */
  if (r == NULL)
    f->listing_failed = TRUE;
  g_clear_error (&error);
  folder_release (f);
}

/* Questions */

static void
ask (SurveyFolder *f, TdImapSession *session, GAsyncReadyCallback callback, const char *command)
{
  TdImapHandlers handlers = { .on_untagged = on_answer, .user_data = f };

  f->pending++;
  td_imap_session_run_async (session, &handlers, g_task_get_cancellable (f->round->task),
                             callback, f, "%s", command);
  if (callback == select_answered)
    {
      f->round->last = f;
      f->round->selections = td_imap_session_get_selections (session);
    }
}

/* The commands that list the old messages' changes without QRESYNC, as list_changes asks. */
static void
ask_old (TdImapBackend *self, SurveyFolder *f)
{
  const TdImapCaps *caps = td_imap_session_get_caps (self->session);
  guint32 last = f->since.last_uid;
  g_autofree char *changed = NULL;
  g_autofree char *left = NULL;

  if (f->qresync || last == 0)
    return;
  if (caps->condstore && f->since.highestmodseq > 0)
    {
      f->old = OLD_CONDSTORE;
      changed = g_strdup_printf ("UID FETCH 1:%u (UID FLAGS) (CHANGEDSINCE %" G_GUINT64_FORMAT
                                 ")", last, f->since.highestmodseq);
      ask (f, self->session, listing_answered, changed);
      /* How many old ones are left, or (without ESEARCH) which. */
      f->present_asked = !caps->esearch;
      if (f->present_asked)
        f->changes->present = g_array_new (FALSE, FALSE, sizeof (guint32));
      left = caps->esearch ? g_strdup_printf ("UID SEARCH RETURN (COUNT) UID 1:%u", last)
                           : g_strdup_printf ("UID FETCH 1:%u (UID)", last);
      ask (f, self->session, listing_answered, left);
      return;
    }
  f->old = OLD_PLAIN;
  f->changes->present = g_array_new (FALSE, FALSE, sizeof (guint32));
  changed = g_strdup_printf ("UID FETCH 1:%u (UID FLAGS)", last);
  ask (f, self->session, listing_answered, changed);
}

static void
ask_folder (TdImapBackend *self, Round *round, const TdFolderQuery *q)
{
  SurveyFolder *f = g_new0 (SurveyFolder, 1);
  GError *error = NULL;
  g_autofree char *quoted = td_imap_backend_quote_name (self, q->name, &error);
  g_autofree char *args = td_imap_backend_select_arguments (self, &q->since);

  f->round = round;
  f->out = td_folder_survey_new ();
  g_ptr_array_add (round->surveys, f->out);
  g_ptr_array_add (round->folders, f);
  f->since = q->since;
  f->name = g_strdup (q->name);
  f->read_only = q->read_only;
  f->added_from = td_folder_query_new_from (q);
  f->old_count = G_MAXUINT64;
  f->changes = td_folder_changes_new ();
  f->qresync = g_str_has_prefix (args, " (QRESYNC");
  round->pending++;
  if (quoted == NULL)
    {
      f->out->error = error;
      round_release (round);
      return;
    }
  f->pending = 1; /* held while asking */
  f->pass = 1;
  f->select = g_strdup_printf ("%s %s%s", q->read_only ? "EXAMINE" : "SELECT", quoted, args);
  ask (f, self->session, select_answered, f->select);
  ask_old (self, f);
  g_auto (GStrv) added = td_imap_backend_new_listing (self, f->added_from,
                                                      &f->changes->aged_before);
  for (guint i = 0; added[i] != NULL; i++)
    ask (f, self->session, listing_answered, added[i]);
  folder_release (f);
}

/* The second pass, for the folders whose count of old messages differs from ours (without
 * QRESYNC an expunge shows only so): all of them opened again in one round, each asked
 * which of its old UIDs are left. */
static void
ask_again (Round *round)
{
  TdImapBackend *self = g_task_get_source_object (round->task);

  round->pending = 1;
  for (guint i = 0; i < round->folders->len; i++)
    {
      SurveyFolder *f = g_ptr_array_index (round->folders, i);
      if (!f->again)
        continue;
      g_autofree char *left = g_strdup_printf ("UID FETCH 1:%u (UID)", f->since.last_uid);
      f->again = FALSE;
      f->pass = 2;
      f->present_asked = TRUE;
      f->changes->present = g_array_new (FALSE, FALSE, sizeof (guint32));
      round->pending++;
      f->pending = 1;
      ask (f, self->session, select_answered, f->select);
      ask (f, self->session, listing_answered, left);
      folder_release (f);
    }
  round_release (round);
}

void
td_imap_backend_survey_folders_async (TdBackend *backend, GPtrArray *queries,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data)
{
  TdImapBackend *self = TD_IMAP_BACKEND (backend);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Round *round = g_new0 (Round, 1);

  g_task_set_source_tag (task, td_imap_backend_survey_folders_async);
  round->task = g_object_ref (task);
  round->surveys = g_ptr_array_new_with_free_func ((GDestroyNotify) td_folder_survey_free);
  round->folders = g_ptr_array_new_with_free_func ((GDestroyNotify) survey_folder_free);
  g_task_set_task_data (task, round, (GDestroyNotify) round_free);
  /* Whatever was open is left behind; the last SELECT's state means nothing to anyone. */
  td_imap_backend_forget_selected (self);
  memset (td_imap_session_get_mailbox (self->session), 0, sizeof (TdImapMailbox));
  round->pending = 1;
  for (guint i = 0; i < queries->len; i++)
    ask_folder (self, round, g_ptr_array_index (queries, i));
  round_release (round);
  g_object_unref (task);
}

GPtrArray *
td_imap_backend_survey_folders_finish (TdBackend *backend, GAsyncResult *result,
                                       GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
