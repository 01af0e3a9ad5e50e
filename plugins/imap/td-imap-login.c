/* td-imap-login.c: securing and authenticating an IMAP connection.
 *
 * Order: greeting, STARTTLS when configured (refused PREAUTH, missing STARTTLS or a refused
 * upgrade all stop here), CAPABILITY, then AUTHENTICATE PLAIN (with SASL-IR when offered) or
 * LOGIN. Credentials travel only in commands marked sensitive, which are never logged, and
 * the buffers that held them are cleared when freed.
 */
#include "td-imap-backend-private.h"

#include <string.h>

#include "engine/td-error.h"
#include "engine/td-secret.h"

typedef struct
{
  char *secret;
} LoginData;

static void
wipe_bytes (gpointer data)
{
  GByteArray *array = data;
  explicit_bzero (array->data, array->len);
  g_byte_array_unref (array);
}

static void
login_data_free (LoginData *data)
{
  td_secret_free (data->secret);
  g_free (data);
}

/* A part that holds a credential: its memory is cleared when it is freed. */
static GBytes *
secret_part (const char *text, gsize len)
{
  GByteArray *array = g_byte_array_sized_new ((guint) len);
  g_byte_array_append (array, (const guint8 *) text, (guint) len);
  return g_bytes_new_with_free_func (array->data, array->len, wipe_bytes, array);
}

static TdAccountConfig *
account_of (GTask *task)
{
  return td_backend_get_account (TD_BACKEND (g_task_get_source_object (task)));
}

static void
after_login_capability (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  GError *error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source),
                                                                 result, &error);
  if (r == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
login_answered (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  TdAccountConfig *a = account_of (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source),
                                                                 result, &error);

  if (r != NULL)
    {
      /* Capabilities change at login; ask again unless the OK carried them. */
      const char *code = td_imap_response_code_name (r);
      if (code != NULL && g_ascii_strcasecmp (code, "CAPABILITY") == 0)
        g_task_return_boolean (task, TRUE);
      else
        {
          GCancellable *cancellable = g_task_get_cancellable (task);
          td_imap_session_run_async (TD_IMAP_SESSION (source), NULL, cancellable,
                                     after_login_capability, g_steal_pointer (&task), "CAPABILITY");
        }
    }
  else if (g_error_matches (error, TD_ERROR, TD_ERROR_FOLDER))
    g_task_return_new_error (task, TD_ERROR, TD_ERROR_AUTH, "account %s: the server refused the "
                             "login of user %s (%s); check the password or the user name",
                             a->name, a->user, error->message + strlen ("the server refused "));
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

static gboolean
is_plain_quotable (const char *s)
{
  for (const char *p = s; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || (guchar) *p > 0x7e)
      return FALSE;
  return TRUE;
}

/* LOGIN with quoted strings, or with synchronising literals for anything else. */
static GPtrArray *
build_login (const char *user, const char *secret)
{
  GPtrArray *parts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  if (is_plain_quotable (user) && is_plain_quotable (secret))
    {
      g_autofree char *u = td_imap_quote (user);
      char *p = td_imap_quote (secret);
      char *line = g_strdup_printf ("LOGIN %s %s\r\n", u, p);
      g_ptr_array_add (parts, secret_part (line, strlen (line)));
      td_secret_free (p);
      td_secret_free (line);
      return parts;
    }
  char *first = g_strdup_printf ("LOGIN {%zu}\r\n", strlen (user));
  char *second = g_strdup_printf ("%s {%zu}\r\n", user, strlen (secret));
  char *third = g_strdup_printf ("%s\r\n", secret);
  g_ptr_array_add (parts, secret_part (first, strlen (first)));
  g_ptr_array_add (parts, secret_part (second, strlen (second)));
  g_ptr_array_add (parts, secret_part (third, strlen (third)));
  g_free (first);
  td_secret_free (second);
  td_secret_free (third);
  return parts;
}

static GPtrArray *
build_plain (const TdImapCaps *caps, const char *user, const char *secret)
{
  GPtrArray *parts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  char *b64 = td_sasl_plain_encode (user, secret);

  if (caps->sasl_ir)
    {
      char *line = g_strdup_printf ("AUTHENTICATE PLAIN %s\r\n", b64);
      g_ptr_array_add (parts, secret_part (line, strlen (line)));
      td_secret_free (line);
    }
  else
    {
      char *line = g_strdup_printf ("%s\r\n", b64);
      g_ptr_array_add (parts, g_bytes_new_static ("AUTHENTICATE PLAIN\r\n", 20));
      g_ptr_array_add (parts, secret_part (line, strlen (line)));
      td_secret_free (line);
    }
  td_secret_free (b64);
  return parts;
}

static void
send_login (TdImapBackend *self, GTask *task)
{
  TdAccountConfig *a = account_of (task);
  LoginData *data = g_task_get_task_data (task);
  const TdImapCaps *caps = td_imap_session_get_caps (self->session);
  TdImapHandlers handlers = { .flags = TD_IMAP_COMMAND_SENSITIVE };
  gboolean use_plain;

  if (data->secret == NULL)
    {
      g_task_return_new_error (task, TD_ERROR, TD_ERROR_AUTH, "account %s: no password is "
                               "configured; set password-command or password", a->name);
      g_object_unref (task);
      return;
    }
  switch (a->auth)
    {
    case TD_AUTH_AUTO:
      use_plain = caps->auth_plain || caps->logindisabled;
      break;
    case TD_AUTH_PLAIN:
      use_plain = TRUE;
      break;
    case TD_AUTH_LOGIN:
      use_plain = FALSE;
      break;
    default:
      g_task_return_new_error (task, TD_ERROR, TD_ERROR_CONFIG, "account %s: this version of "
                               "Tidings cannot yet log in to IMAP with that `auth` method; use "
                               "auto, plain or login", a->name);
      g_object_unref (task);
      return;
    }
  if (!use_plain && caps->logindisabled)
    {
      g_task_return_new_error (task, TD_ERROR, TD_ERROR_AUTH, "account %s: the server does not "
                               "allow LOGIN on this connection (LOGINDISABLED); use auth = auto",
                               a->name);
      g_object_unref (task);
      return;
    }
  GPtrArray *parts = use_plain ? build_plain (caps, a->user, data->secret)
                               : build_login (a->user, data->secret);
  g_clear_pointer (&data->secret, td_secret_free);
  td_imap_session_command_async (self->session, &handlers, parts, g_task_get_cancellable (task),
                                 login_answered, task);
}

static void
capability_answered (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  TdImapBackend *self = g_task_get_source_object (task);
  GError *error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source),
                                                                 result, &error);
  if (r == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  send_login (self, task);
}

static void
ask_capabilities_then_login (TdImapBackend *self, GTask *task)
{
  if (td_imap_session_get_caps (self->session)->imap4rev1)
    send_login (self, task);
  else
    td_imap_session_run_async (self->session, NULL, g_task_get_cancellable (task),
                               capability_answered, task, "CAPABILITY");
}

static void
starttls_done (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  GError *error = NULL;

  if (!td_imap_session_starttls_finish (TD_IMAP_SESSION (source), result, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  ask_capabilities_then_login (g_task_get_source_object (task), task);
}

static void
pre_tls_capability_answered (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  TdImapBackend *self = g_task_get_source_object (task);
  TdAccountConfig *a = account_of (task);
  GError *error = NULL;
  g_autoptr (TdImapResponse) r = NULL;

  if (result != NULL
      && (r = td_imap_session_command_finish (TD_IMAP_SESSION (source), result, &error)) == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  if (!td_imap_session_get_caps (self->session)->starttls)
    {
      g_task_return_new_error (task, TD_ERROR, TD_ERROR_TLS, "account %s: the server does not "
                               "offer STARTTLS, and security = starttls requires it; nothing "
                               "was sent. Use security = tls if the server has IMAPS",
                               a->name);
      g_object_unref (task);
      return;
    }
  td_imap_session_starttls_async (self->session, g_task_get_cancellable (task), starttls_done,
                                  task);
}

static void
greeted (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  TdImapBackend *self = g_task_get_source_object (task);
  TdAccountConfig *a = account_of (task);
  GError *error = NULL;
  gboolean preauth = FALSE;

  if (!td_imap_session_connect_finish (TD_IMAP_SESSION (source), result, &preauth, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  if (a->security == TD_SECURITY_STARTTLS)
    {
      if (preauth)
        {
          g_task_return_new_error (task, TD_ERROR, TD_ERROR_TLS, "account %s: the server logged "
                                   "in without TLS (PREAUTH), so the connection cannot be "
                                   "secured with STARTTLS; refusing it", a->name);
          g_object_unref (task);
        }
      else if (td_imap_session_get_caps (self->session)->imap4rev1)
        pre_tls_capability_answered (NULL, NULL, task);
      else
        td_imap_session_run_async (self->session, NULL, g_task_get_cancellable (task),
                                   pre_tls_capability_answered, task, "CAPABILITY");
      return;
    }
  if (preauth)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  ask_capabilities_then_login (self, task);
}

/**
 * td_imap_backend_login_async:
 * @self: a backend with a new session
 * @secret: (nullable): the password
 * @cancellable: (nullable): a cancellable
 * @callback: called when logged in
 * @user_data: data for @callback
 *
 * Connects the session, secures it as the account says and logs in.
 */
void
td_imap_backend_login_async (TdImapBackend *self, const char *secret, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  LoginData *data = g_new0 (LoginData, 1);

  g_task_set_source_tag (task, td_imap_backend_login_async);
  data->secret = g_strdup (secret);
  g_task_set_task_data (task, data, (GDestroyNotify) login_data_free);
  td_imap_session_connect_async (self->session, cancellable, greeted, task);
}

gboolean
td_imap_backend_login_finish (TdImapBackend *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
