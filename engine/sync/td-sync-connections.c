/* td-sync-connections.c: the sync runner's connections beyond the first.
 *
 * A round with a big download spreads its folders over up to the account's `connections`
 * connections (td-sync-rounds.c). The extra ones are made the first time a round asks, all
 * at once: each logs in and lists the folders (so folder names go out as this server spells
 * them, and a server that drops a connection it did not want, with BYE or [LIMIT], has done
 * so by then). A connection the server refuses in any way is left out, and the run goes on
 * with those it got: a limit on connections costs speed, never the sync. They are logged
 * out with the first at the end of the run. Main loop thread.
 */
#include "engine/sync/td-sync-runner-private.h"

#include "engine/backend/td-credentials.h"

typedef struct
{
  TdSyncRunner *self;
  TdBackend *backend;
  guint number;          /* which connection of the run: 2, 3, … */
} Extra;

/* One login or logout (or the hold while they start) is over; the last hands back. */
static void
one_done (TdSyncRunner *self)
{
  if (--self->extras_pending > 0)
    return;
  void (*then) (TdSyncRunner *) = g_steal_pointer (&self->extras_then);
  then (self);
}

static void
extra_free (Extra *x)
{
  g_object_unref (x->backend);
  g_free (x);
}

static void
extra_done (Extra *x, GError *error)
{
  TdSyncRunner *self = x->self;

  if (error == NULL)
    g_ptr_array_add (self->extras, g_object_ref (x->backend));
  else
    g_info ("account %s: connection %u was not taken (%s); going on with fewer",
            self->account->name, x->number, error->message);
  g_clear_error (&error);
  extra_free (x);
  one_done (self);
}

static void
extra_listed (GObject *source, GAsyncResult *result, gpointer data)
{
  GError *error = NULL;
  g_autoptr (GPtrArray) listing = td_backend_list_folders_finish (TD_BACKEND (source), result,
                                                                  &error);
  extra_done (data, error);
}

static void
extra_logged_in (GObject *source, GAsyncResult *result, gpointer data)
{
  Extra *x = data;
  GError *error = NULL;

  if (!td_credentials_log_in_finish (result, NULL, &error))
    {
      extra_done (x, error);
      return;
    }
  td_backend_list_folders_async (x->backend, x->self->cancellable, extra_listed, x);
}

/**
 * td_sync_runner_add_connections:
 * @self: a runner, logged in
 * @then: called once every extra connection is made or refused
 *
 * Opens the account's extra connections (once a run); self->extras then holds those the
 * server took, possibly none.
 */
void
td_sync_runner_add_connections (TdSyncRunner *self, void (*then) (TdSyncRunner *self))
{
  guint wanted = self->account->connections > 1 ? self->account->connections - 1 : 0;

  self->extras_tried = TRUE;
  self->extras_then = then;
  self->extras_pending = 1; /* a hold while they start */
  for (guint i = 0; i < wanted; i++)
    {
      GError *error = NULL;
      TdBackend *backend = td_plugin_registry_create_backend (self->registry, self->account,
                                                              &error);
      if (backend == NULL)
        {
          g_info ("account %s: no more connections: %s", self->account->name, error->message);
          g_error_free (error);
          break;
        }
      Extra *x = g_new0 (Extra, 1);
      x->self = self;
      x->backend = backend;
      x->number = i + 2;
      self->extras_pending++;
      td_credentials_log_in_async (backend, self->cancellable, extra_logged_in, x);
    }
  one_done (self);
}

/**
 * td_sync_runner_drop_connection:
 * @self: a runner
 * @backend: one of its extra connections, which failed
 *
 * Leaves @backend out of the next rounds.
 */
void
td_sync_runner_drop_connection (TdSyncRunner *self, TdBackend *backend)
{
  g_ptr_array_remove (self->extras, backend);
}

/* Logging out */

static void
logged_out (GObject *source, GAsyncResult *result, gpointer data)
{
  TdSyncRunner *self = data;

  td_backend_disconnect_finish (TD_BACKEND (source), result, NULL);
  one_done (self);
}

/**
 * td_sync_runner_disconnect_all:
 * @self: a runner at its end
 * @then: called once every connection is closed
 *
 * Logs out of the server on every connection of the run at once.
 */
void
td_sync_runner_disconnect_all (TdSyncRunner *self, void (*then) (TdSyncRunner *self))
{
  self->extras_then = then;
  self->extras_pending = 1; /* a hold while they start */
  if (self->backend != NULL)
    {
      self->extras_pending++;
      td_backend_disconnect_async (self->backend, NULL, logged_out, self);
    }
  for (guint i = 0; i < self->extras->len; i++)
    {
      self->extras_pending++;
      td_backend_disconnect_async (g_ptr_array_index (self->extras, i), NULL, logged_out, self);
    }
  one_done (self);
}
