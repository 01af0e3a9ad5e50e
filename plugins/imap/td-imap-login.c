/* td-imap-login.c: securing and authenticating an IMAP connection.
 *
 * Order: greeting, STARTTLS when configured (refused PREAUTH, missing STARTTLS or a refused
 * upgrade all stop here), CAPABILITY, then AUTHENTICATE with the mechanism td_sasl_choose()
 * picks (its first message in the command when SASL-IR is offered), or LOGIN. Credentials
 * and every SASL message travel only in commands marked sensitive, which are never logged,
 * and the buffers that held them are cleared when freed.
 */
#include "td-imap-backend-private.h"

#include <string.h>

#include "engine/common/td-error.h"
#include "engine/backend/td-sasl.h"
#include "engine/common/td-secret.h"

typedef struct
{
  char *secret;
  TdSasl *sasl;
  GError *sasl_error; /* why this side ended the exchange */
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
  g_clear_pointer (&data->sasl, td_sasl_free);
  g_clear_error (&data->sasl_error);
  g_free (data);
}

/* Ends the login with @error and drops the reference the steps pass along. */
static void
fail_login (GTask *task, GError *error)
{
  g_task_return_error (task, error);
  g_object_unref (task);
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
  LoginData *login = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (TdImapResponse) r = td_imap_session_command_finish (TD_IMAP_SESSION (source),
                                                                 result, &error);

  if (login->sasl_error != NULL || (r != NULL && login->sasl != NULL
                                    && !td_sasl_check_success (login->sasl, &login->sasl_error)))
    {
      g_prefix_error (&login->sasl_error, "account %s (%s): ", a->name,
                      td_imap_session_describe (TD_IMAP_SESSION (source)));
      g_task_return_error (task, g_steal_pointer (&login->sasl_error));
    }
  else if (r != NULL)
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
    {
      g_autofree char *advice = login->sasl && td_sasl_uses_token (login->sasl)
                                  ? td_account_config_token_advice (a)
                                  : g_strdup ("check the password or the user name");
      g_task_return_new_error (task, TD_ERROR, TD_ERROR_AUTH, "account %s: the server refused "
                               "the login of user %s with %s (%s); %s", a->name, a->user,
                               login->sasl ? td_sasl_get_mechanism (login->sasl) : "LOGIN",
                               error->message + strlen ("the server refused "), advice);
    }
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

/* The line answering one "+" of an AUTHENTICATE exchange; NULL (which cancels it with "*")
 * when the server's message is wrong or the server failed to prove itself. */
static GBytes *
sasl_continue (TdImapSession *session, const char *text, gpointer data)
{
  LoginData *login = g_task_get_task_data (G_TASK (data));
  char *answer = td_sasl_step (login->sasl, text, &login->sasl_error);

  if (answer == NULL)
    return NULL;
  char *line = g_strconcat (answer, "\r\n", NULL);
  GBytes *bytes = secret_part (line, strlen (line));
  td_secret_free (answer);
  td_secret_free (line);
  return bytes;
}

static GPtrArray *
build_authenticate (TdImapSession *session, LoginData *login, GError **error)
{
  GPtrArray *parts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  const char *mechanism = td_sasl_get_mechanism (login->sasl);
  char *line;

  if (td_imap_session_get_caps (session)->sasl_ir && td_sasl_has_initial_response (login->sasl))
    {
      char *first = td_sasl_step (login->sasl, NULL, error);
      if (first == NULL)
        {
          g_ptr_array_unref (parts);
          return NULL;
        }
      /* RFC 4959: an empty initial response is sent as "=". */
      line = g_strdup_printf ("AUTHENTICATE %s %s\r\n", mechanism, *first ? first : "=");
      td_secret_free (first);
    }
  else
    line = g_strdup_printf ("AUTHENTICATE %s\r\n", mechanism);
  g_ptr_array_add (parts, secret_part (line, strlen (line)));
  td_secret_free (line);
  return parts;
}

static void
send_login (TdImapBackend *self, GTask *task)
{
  TdAccountConfig *a = account_of (task);
  LoginData *data = g_task_get_task_data (task);
  const TdImapCaps *caps = td_imap_session_get_caps (self->session);
  TdImapHandlers handlers = { .flags = TD_IMAP_COMMAND_SENSITIVE, .on_continue = sasl_continue,
                              .user_data = task };
  const char *mechanism = NULL;
  GError *error = NULL;
  GPtrArray *parts;

  if (data->secret == NULL)
    {
      fail_login (task, g_error_new (TD_ERROR, TD_ERROR_AUTH, "account %s: %sno password is "
                                     "configured; run `tidings password set %s`, or set "
                                     "password-command", a->name,
                                     a->tunnel_command != NULL
                                       ? "the server at the end of tunnel-command did not log "
                                         "in by itself (PREAUTH), and "
                                       : "", a->name));
      return;
    }
  if (!td_sasl_choose (a, &caps->sasl, &mechanism, &error))
    {
      fail_login (task, error);
      return;
    }
  if (mechanism == NULL && caps->logindisabled)
    {
      fail_login (task, g_error_new (TD_ERROR, TD_ERROR_AUTH, "account %s: the server does "
                                     "not allow LOGIN on this connection (LOGINDISABLED) and "
                                     "offers no mechanism Tidings would use instead; use "
                                     "auth = plain", a->name));
      return;
    }
  if (mechanism == NULL)
    parts = build_login (a->user, data->secret);
  else if ((data->sasl = td_sasl_new (mechanism, a->user, data->secret, a->host, a->port,
                                      &error)) == NULL
           || (parts = build_authenticate (self->session, data, &error)) == NULL)
    {
      g_prefix_error (&error, "account %s: ", a->name);
      g_clear_pointer (&data->secret, td_secret_free);
      fail_login (task, error);
      return;
    }
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
      fail_login (task, error);
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
      fail_login (task, error);
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
      fail_login (task, error);
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
      fail_login (task, error);
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
