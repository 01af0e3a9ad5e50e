/* td-credentials.c: an account's secret and the login with it (see td-credentials.h). */
#include "engine/backend/td-credentials.h"

#include <string.h>

#include "engine/common/td-error.h"
#include "engine/common/td-secret.h"
#include "engine/backend/td-oauth2.h"
#include "engine/goa/td-goa.h"

/* A command printing more than this is not printing a password or a token. */
#define TD_SECRET_COMMAND_MAX_OUTPUT (64 * 1024)
#define TD_SECRET_COMMAND_READ 4096

static const SecretSchema password_schema = {
  "org.tidings.Password",
  SECRET_SCHEMA_NONE,
  {
    { "account", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { "protocol", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { "host", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { "user", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  },
};

/**
 * td_credentials_get_schema:
 *
 * Returns: (transfer none): the keyring schema of Tidings passwords
 */
const SecretSchema *
td_credentials_get_schema (void)
{
  return &password_schema;
}

/**
 * td_credentials_attributes:
 * @account: an account
 *
 * Returns: (transfer full): the attributes that find @account's password in the keyring;
 *   the values are borrowed from @account
 */
GHashTable *
td_credentials_attributes (const TdAccountConfig *account)
{
  GHashTable *attributes = g_hash_table_new (g_str_hash, g_str_equal);

  g_hash_table_insert (attributes, (char *) "account", account->name);
  g_hash_table_insert (attributes, (char *) "protocol", account->protocol);
  g_hash_table_insert (attributes, (char *) "host", account->host);
  g_hash_table_insert (attributes, (char *) "user", account->user);
  return attributes;
}

const char *
td_credential_source_describe (TdCredentialSource source)
{
  switch (source)
    {
    case TD_CREDENTIAL_KEYRING:
      return "the password from the keyring";
    case TD_CREDENTIAL_COMMAND:
      return "the password from password-command";
    case TD_CREDENTIAL_INLINE:
      return "the password from the configuration file";
    case TD_CREDENTIAL_TOKEN_COMMAND:
      return "an access token from oauth2-token-command";
    case TD_CREDENTIAL_GOA:
      return "its sign-in from " TD_GOA_PROVIDER;
    case TD_CREDENTIAL_OAUTH2:
      return "an access token from `tidings oauth2 login`";
    case TD_CREDENTIAL_NONE:
    default:
      return "no credentials";
    }
}

/* One lookup */

typedef struct
{
  TdAccountConfig *account;
  TdCredentialSource source;
  const char *what;   /* the key of the command being run, for messages */
  char *const *argv;  /* borrowed from the account */
  GSubprocess *proc;
  GByteArray *out;    /* what the command printed; cleared when freed */
  guint timer;
  gboolean timed_out;
} Lookup;

static void
lookup_free (Lookup *lookup)
{
  if (lookup->timer != 0)
    g_source_remove (lookup->timer);
  if (lookup->out != NULL)
    {
      explicit_bzero (lookup->out->data, lookup->out->len);
      g_byte_array_unref (lookup->out);
    }
  g_clear_object (&lookup->proc);
  td_account_config_unref (lookup->account);
  g_free (lookup);
}

static void
return_secret (GTask *task, TdCredentialSource source, char *secret)
{
  Lookup *lookup = g_task_get_task_data (task);

  lookup->source = source;
  g_task_return_pointer (task, secret, (GDestroyNotify) td_secret_free);
  g_object_unref (task);
}

static void
return_error (GTask *task, GError *error)
{
  g_task_return_error (task, error);
  g_object_unref (task);
}

static GError *
command_error (Lookup *lookup, const char *why)
{
  return g_error_new (TD_ERROR, TD_ERROR_AUTH, "account %s: %s (%s) %s; run it by hand to see "
                      "why", lookup->account->name, lookup->what, lookup->argv[0], why);
}

static void
command_exited (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  Lookup *lookup = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  g_clear_handle_id (&lookup->timer, g_source_remove);
  if (!g_subprocess_wait_finish (lookup->proc, result, &error))
    {
      return_error (task, g_steal_pointer (&error));
      return;
    }
  g_autofree char *why = NULL;
  if (lookup->timed_out)
    why = g_strdup_printf ("did not finish within %u seconds (command-timeout) and was "
                           "stopped", lookup->account->command_timeout_seconds);
  else if (lookup->out->len > TD_SECRET_COMMAND_MAX_OUTPUT)
    why = g_strdup ("printed more than 64 KiB, which is no password or token, and was stopped");
  else if (!g_subprocess_get_if_exited (lookup->proc))
    why = g_strdup ("was killed by a signal");
  else if (g_subprocess_get_exit_status (lookup->proc) != 0)
    why = g_strdup_printf ("failed with exit status %d",
                           g_subprocess_get_exit_status (lookup->proc));
  if (why != NULL)
    {
      return_error (task, command_error (lookup, why));
      return;
    }
  const char *text = (const char *) lookup->out->data;
  const char *nl = memchr (text, '\n', lookup->out->len);
  gsize n = nl != NULL ? (gsize) (nl - text) : lookup->out->len;
  if (n > 0 && text[n - 1] == '\r')
    n--;
  if (n == 0 || memchr (text, '\0', n) != NULL)
    {
      return_error (task, command_error (lookup, n == 0 ? "printed an empty first line"
                                                        : "printed a NUL byte"));
      return;
    }
  return_secret (task, lookup->source, g_strndup (text, n));
}

static void
command_read (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  Lookup *lookup = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result,
                                                               &error);
  gsize len = 0;
  const guint8 *chunk = bytes != NULL ? g_bytes_get_data (bytes, &len) : NULL;

  if (len > 0)
    {
      g_byte_array_append (lookup->out, chunk, (guint) len);
      explicit_bzero ((guint8 *) chunk, len);
    }
  if (len > 0 && lookup->out->len <= TD_SECRET_COMMAND_MAX_OUTPUT)
    {
      g_input_stream_read_bytes_async (G_INPUT_STREAM (source), TD_SECRET_COMMAND_READ,
                                       G_PRIORITY_DEFAULT, g_task_get_cancellable (task),
                                       command_read, task);
      return;
    }
  if (lookup->out->len > TD_SECRET_COMMAND_MAX_OUTPUT)
    g_subprocess_force_exit (lookup->proc);
  /* End of output (or a read error, which the exit status will explain): wait for the exit. */
  g_subprocess_wait_async (lookup->proc, NULL, command_exited, task);
}

static gboolean
command_too_slow (gpointer data)
{
  Lookup *lookup = data;

  lookup->timer = 0;
  lookup->timed_out = TRUE;
  g_subprocess_force_exit (lookup->proc);
  return G_SOURCE_REMOVE;
}

/* Runs a password or token command: no shell, standard input and error left to the user
 * (a passphrase prompt needs them), standard output read up to a bound. */
static void
run_command (GTask *task, TdCredentialSource source, const char *what, char *const *argv)
{
  Lookup *lookup = g_task_get_task_data (task);
  GError *error = NULL;

  lookup->source = source;
  lookup->what = what;
  lookup->argv = argv;
  lookup->proc = g_subprocess_newv ((const char *const *) argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                                | G_SUBPROCESS_FLAGS_STDIN_INHERIT,
                                    &error);
  if (lookup->proc == NULL)
    {
      g_autofree char *why = g_strdup_printf ("cannot be run: %s", error->message);
      g_clear_error (&error);
      return_error (task, command_error (lookup, why));
      return;
    }
  lookup->out = g_byte_array_new ();
  lookup->timer = g_timeout_add_seconds (lookup->account->command_timeout_seconds,
                                         command_too_slow, lookup);
  g_input_stream_read_bytes_async (g_subprocess_get_stdout_pipe (lookup->proc),
                                   TD_SECRET_COMMAND_READ, G_PRIORITY_DEFAULT,
                                   g_task_get_cancellable (task), command_read, task);
}

/* Whether the keyring warning is still to be given for @account in this process: once, not
 * at every sync of a daemon that looks the password up each time. Main thread. */
static gboolean
first_keyring_warning (const char *account)
{
  static GHashTable *given;

  if (given == NULL)
    given = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return g_hash_table_add (given, g_strdup (account));
}

/* After the keyring: password-command, then the inline password. When the keyring could not
 * be asked (@keyring_trouble) although this is a desktop session, passing on to another
 * source is said out loud: the password may be in that keyring. */
static void
next_source (GTask *task, const char *keyring_trouble, gboolean session)
{
  Lookup *lookup = g_task_get_task_data (task);
  TdAccountConfig *a = lookup->account;
  gboolean other = a->password_command != NULL || a->password != NULL;

  if (keyring_trouble != NULL && other && session && first_keyring_warning (a->name))
    g_warning ("account %s: the keyring cannot be reached (%s); using %s instead", a->name,
               keyring_trouble, a->password_command != NULL ? "password-command"
                                                            : "the password in the file");
  if (a->password_command != NULL)
    run_command (task, TD_CREDENTIAL_COMMAND, "password-command", a->password_command);
  else if (a->password != NULL)
    return_secret (task, TD_CREDENTIAL_INLINE, g_strdup (a->password));
  else if (keyring_trouble != NULL)
    return_error (task, g_error_new (TD_ERROR, TD_ERROR_NO_CREDENTIALS, "account %s: no "
                                     "password: the keyring cannot be reached (%s), and "
                                     "neither password-command nor password is set. Start a "
                                     "keyring (Secret Service) in this session, or set "
                                     "password-command", a->name, keyring_trouble));
  else
    return_error (task, g_error_new (TD_ERROR, TD_ERROR_NO_CREDENTIALS, "account %s: no "
                                     "password: none is stored in the keyring for %s on %s, "
                                     "and neither password-command nor password is set; run "
                                     "`tidings password set %s`", a->name, a->user, a->host,
                                     a->name));
}

static void
keyring_searched (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  Lookup *lookup = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  GList *items = secret_service_search_finish (SECRET_SERVICE (source), result, &error);

  if (error != NULL)
    {
      next_source (task, error->message, TRUE);
      return;
    }
  if (items == NULL)
    {
      next_source (task, NULL, TRUE);
      return;
    }
  SecretItem *item = items->data;
  g_autoptr (SecretValue) value = secret_item_get_locked (item) ? NULL
                                                                : secret_item_get_secret (item);
  g_list_free_full (items, g_object_unref);
  if (value == NULL)
    {
      return_error (task, g_error_new (TD_ERROR, TD_ERROR_KEYRING_LOCKED, "account %s: the "
                                       "password is in a locked keyring; unlock the keyring "
                                       "(logging in to the desktop does) and try again",
                                       lookup->account->name));
      return;
    }
  gsize len = 0;
  const char *text = secret_value_get (value, &len);
  return_secret (task, TD_CREDENTIAL_KEYRING, g_strndup (text, len));
}

static void
keyring_ready (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  Lookup *lookup = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (SecretService) service = secret_service_get_finish (result, &error);

  if (service == NULL)
    {
      next_source (task, error->message, TRUE);
      return;
    }
  g_autoptr (GHashTable) attributes = td_credentials_attributes (lookup->account);
  /* Without SECRET_SEARCH_UNLOCK: a locked item is reported, never a prompt raised. */
  secret_service_search (service, &password_schema, attributes, SECRET_SEARCH_LOAD_SECRETS,
                         g_task_get_cancellable (task), keyring_searched, task);
}

/* A desktop (or any login) session has a session bus; a cron job or a bare ssh login on a
 * server usually has none, and there no keyring is expected: the lookup skips it quietly. */
static gboolean
in_session (void)
{
  const char *runtime = g_getenv ("XDG_RUNTIME_DIR");
  g_autofree char *bus = runtime != NULL ? g_build_filename (runtime, "bus", NULL) : NULL;

  return g_getenv ("DBUS_SESSION_BUS_ADDRESS") != NULL
         || (bus != NULL && g_file_test (bus, G_FILE_TEST_EXISTS));
}

static void
oauth2_answered (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  GError *error = NULL;
  char *token = td_oauth2_token_finish (result, &error);

  if (token == NULL)
    return_error (task, error);
  else
    return_secret (task, TD_CREDENTIAL_OAUTH2, token);
}

static void
goa_answered (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  GError *error = NULL;
  char *secret = td_goa_secret_finish (result, &error);

  if (secret == NULL)
    return_error (task, error);
  else
    return_secret (task, TD_CREDENTIAL_GOA, secret);
}

/* GOA signs in an account of its own, unless the file gives it a command. */
static gboolean
from_goa (const TdAccountConfig *account)
{
  return account->goa_id != NULL
         && (td_account_config_uses_token (account) ? account->oauth2_token_command == NULL
                                                    : account->password_command == NULL
                                                        && account->password == NULL);
}

static void
lookup_async (TdAccountConfig *account, gboolean refresh, GCancellable *cancellable,
              GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Lookup *lookup = g_new0 (Lookup, 1);

  g_task_set_source_tag (task, td_credentials_lookup_async);
  lookup->account = td_account_config_ref (account);
  g_task_set_task_data (task, lookup, (GDestroyNotify) lookup_free);
  if (from_goa (account))
    td_goa_secret_async (account, refresh, cancellable, goa_answered, task);
  else if (td_account_config_signs_in_itself (account))
    td_oauth2_token_async (account, refresh, cancellable, oauth2_answered, task);
  else if (td_account_config_uses_token (account))
    run_command (task, TD_CREDENTIAL_TOKEN_COMMAND, "oauth2-token-command",
                 account->oauth2_token_command);
  else if (!in_session ())
    next_source (task, "there is no D-Bus session bus here", FALSE);
  else
    secret_service_get (SECRET_SERVICE_OPEN_SESSION, cancellable, keyring_ready, task);
}

/**
 * td_credentials_lookup_async:
 * @account: an account
 * @cancellable: (nullable): a cancellable
 * @callback: called with the secret
 * @user_data: data for @callback
 *
 * Finds the account's secret: an access token for the OAuth2 mechanisms, else a password
 * from the keyring, password-command or the inline password, in that order. Without a
 * session bus the keyring is not asked. A keyring that cannot be reached in a session is
 * passed over with a warning when another source is configured; one whose item is locked
 * stops the lookup with %TD_ERROR_KEYRING_LOCKED.
 */
void
td_credentials_lookup_async (TdAccountConfig *account, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  lookup_async (account, FALSE, cancellable, callback, user_data);
}

/**
 * td_credentials_lookup_finish:
 * @result: the result
 * @source: (out) (optional): where the secret came from
 * @error: return location for an error
 *
 * Returns: (transfer full) (nullable): the secret; free it with td_secret_free()
 */
char *
td_credentials_lookup_finish (GAsyncResult *result, TdCredentialSource *source, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  Lookup *lookup = g_task_get_task_data (G_TASK (result));
  char *secret = g_task_propagate_pointer (G_TASK (result), error);

  if (source != NULL)
    *source = secret != NULL ? lookup->source : TD_CREDENTIAL_NONE;
  return secret;
}

/* Logging in */

typedef struct
{
  TdBackend *backend;
  TdCredentialSource source;
  guint attempts;
} LogIn;

static void
log_in_free (LogIn *log_in)
{
  g_object_unref (log_in->backend);
  g_free (log_in);
}

static void secret_found (GObject *source, GAsyncResult *result, gpointer data);

static void
connected (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  LogIn *log_in = g_task_get_task_data (task);
  TdAccountConfig *account = td_backend_get_account (log_in->backend);
  GError *error = NULL;

  if (td_backend_connect_finish (TD_BACKEND (source), result, &error))
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  /* An access token lives an hour or so: one the server refuses may just have expired, and
   * the token command can mint another; GOA is asked to renew its sign-in, and Tidings' own
   * sign-in asks the provider with its refresh token. Once. */
  if (g_error_matches (error, TD_ERROR, TD_ERROR_AUTH) && log_in->attempts < 2
      && (log_in->source == TD_CREDENTIAL_TOKEN_COMMAND || log_in->source == TD_CREDENTIAL_GOA
          || log_in->source == TD_CREDENTIAL_OAUTH2))
    {
      g_debug ("account %s: the server refused %s; asking for a fresh one", account->name,
               td_credential_source_describe (log_in->source));
      g_error_free (error);
      lookup_async (account, log_in->source != TD_CREDENTIAL_TOKEN_COMMAND,
                    g_task_get_cancellable (task), secret_found, task);
      return;
    }
  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
secret_found (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  LogIn *log_in = g_task_get_task_data (task);
  GError *error = NULL;
  char *secret = td_credentials_lookup_finish (result, &log_in->source, &error);

  /* Through a tunnel the server may log in by itself (PREAUTH): no password is needed
   * then, and the login says so if one was. */
  if (secret == NULL && td_backend_get_account (log_in->backend)->tunnel_command != NULL
      && g_error_matches (error, TD_ERROR, TD_ERROR_NO_CREDENTIALS))
    {
      g_clear_error (&error);
      log_in->attempts++;
      td_backend_connect_async (log_in->backend, NULL, g_task_get_cancellable (task), connected,
                                task);
      return;
    }
  if (secret == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  log_in->attempts++;
  td_backend_connect_async (log_in->backend, secret, g_task_get_cancellable (task), connected,
                            task);
  td_secret_free (secret);
}

/**
 * td_credentials_log_in_async:
 * @backend: a backend, not connected
 * @cancellable: (nullable): a cancellable
 * @callback: called when logged in, or not
 * @user_data: data for @callback
 *
 * Finds the account's secret and connects the backend with it. When the server refuses an
 * access token, the token command is run once more and the login tried once more.
 */
void
td_credentials_log_in_async (TdBackend *backend, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  LogIn *log_in = g_new0 (LogIn, 1);

  g_task_set_source_tag (task, td_credentials_log_in_async);
  log_in->backend = g_object_ref (backend);
  g_task_set_task_data (task, log_in, (GDestroyNotify) log_in_free);
  td_credentials_lookup_async (td_backend_get_account (backend), cancellable, secret_found,
                               task);
}

/**
 * td_credentials_log_in_finish:
 * @result: the result
 * @source: (out) (optional): where the secret that worked came from
 * @error: return location for an error
 *
 * Returns: %TRUE when the backend is connected and logged in
 */
gboolean
td_credentials_log_in_finish (GAsyncResult *result, TdCredentialSource *source, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  LogIn *log_in = g_task_get_task_data (G_TASK (result));

  if (source != NULL)
    *source = log_in->source;
  return g_task_propagate_boolean (G_TASK (result), error);
}
