/* td-imap-group.c: commands one backend operation waits for together. Main loop thread. */
#include "td-imap-backend-private.h"

/**
 * td_imap_group_run:
 * @group: the operation's group
 * @session: the session
 * @handlers: (nullable): receivers for the command's untagged data
 * @task: the operation; each command holds a reference until it completes
 * @callback: called with the command's result and @task as user data
 * @command: the command, without tag and CRLF
 *
 * Sends one more command of the group.
 */
void
td_imap_group_run (TdImapGroup *group, TdImapSession *session, const TdImapHandlers *handlers,
                   GTask *task, GAsyncReadyCallback callback, const char *command)
{
  group->pending++;
  td_imap_session_run_async (session, handlers, g_task_get_cancellable (task), callback,
                             g_object_ref (task), "%s", command);
}

/**
 * td_imap_group_keep_error:
 * @group: a group
 * @error: (transfer full) (nullable): a command's failure
 *
 * Keeps the first failure of the group; later ones are dropped.
 */
void
td_imap_group_keep_error (TdImapGroup *group, GError *error)
{
  if (group->error == NULL)
    group->error = error;
  else if (error != NULL)
    g_error_free (error);
}

/**
 * td_imap_group_release:
 * @group: a group
 *
 * Counts one command (or hold) as done.
 *
 * Returns: %TRUE when it was the last: the operation can complete
 */
gboolean
td_imap_group_release (TdImapGroup *group)
{
  g_return_val_if_fail (group->pending > 0, TRUE);
  return --group->pending == 0;
}

/**
 * td_imap_group_return_error:
 * @group: a group whose commands are all done
 * @task: the operation
 *
 * Returns: %TRUE when the group failed and @task was completed with its first error
 */
gboolean
td_imap_group_return_error (TdImapGroup *group, GTask *task)
{
  if (group->error == NULL)
    return FALSE;
  g_task_return_error (task, g_steal_pointer (&group->error));
  return TRUE;
}

/**
 * td_imap_group_complete:
 * @group: a group
 * @task: the operation, returning a boolean
 *
 * Counts one command as done; after the last, completes @task with the group's first
 * failure, or with %TRUE.
 */
void
td_imap_group_complete (TdImapGroup *group, GTask *task)
{
  if (td_imap_group_release (group) && !td_imap_group_return_error (group, task))
    g_task_return_boolean (task, TRUE);
}

void
td_imap_group_clear (TdImapGroup *group)
{
  g_clear_error (&group->error);
}

void
td_imap_group_free (TdImapGroup *group)
{
  td_imap_group_clear (group);
  g_free (group);
}

/**
 * td_imap_group_command_done:
 * @source: the session
 * @result: a command's result
 * @user_data: (transfer full): the operation's task, whose task data is its #TdImapGroup
 *
 * The completion of a command whose only answer that matters is OK: keeps a failure, and
 * completes the operation when it was the group's last command.
 */
void
td_imap_group_command_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  TdImapGroup *group = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source),
                                                                 result, &error);
  if (r == NULL)
    td_imap_group_keep_error (group, error);
  td_imap_group_complete (group, task);
}
