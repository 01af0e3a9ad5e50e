/* td-pop3-login.c: securing and authenticating a POP3 connection.
 *
 * Order: greeting, CAPA, STLS when configured (a server that does not offer it, or refuses
 * it, stops the run before anything else is sent) and CAPA again over TLS, then AUTH with
 * the SASL mechanism td_sasl_choose() picks (RFC 5034), else USER and PASS; APOP only when
 * the account asks for it. Credentials and SASL messages travel only in commands marked
 * sensitive, which are never logged, and every buffer that held them is cleared when freed.
 */
#include "td-pop3-backend-private.h"

#include <string.h>

#include "engine/common/td-error.h"
#include "engine/backend/td-sasl.h"
#include "engine/common/td-secret.h"

typedef struct
{
  char *secret;
  gboolean tls_up;    /* STLS done: the next CAPA is the one to trust */
  TdSasl *sasl;
  char *first;        /* an initial response too long for the AUTH line, sent after "+" */
  GError *sasl_error; /* why this side ended the exchange */
} LoginData;

static void
login_data_free (LoginData *data)
{
  td_secret_free (data->secret);
  td_secret_free (data->first);
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

static TdPop3Session *
session_of (GTask *task)
{
  return TD_POP3_BACKEND (g_task_get_source_object (task))->session;
}

static TdAccountConfig *
account_of (GTask *task)
{
  return td_backend_get_account (TD_BACKEND (g_task_get_source_object (task)));
}

/* Completes @task with the connection's error, or the server's refusal of the login. */
static gboolean
login_failed (GTask *task, TdPop3Reply *reply, GError *error)
{
  LoginData *login = g_task_get_task_data (task);

  if (login->sasl_error != NULL)
    {
      g_clear_error (&error);
      g_prefix_error (&login->sasl_error, "account %s (%s): ", account_of (task)->name,
                      td_pop3_session_describe (session_of (task)));
      g_task_return_error (task, g_steal_pointer (&login->sasl_error));
      return TRUE;
    }
  if (reply != NULL && reply->ok)
    return FALSE;
  if (reply != NULL && login->sasl != NULL && td_sasl_uses_token (login->sasl))
    {
      g_autofree char *text = td_printable (reply->text);
      g_autofree char *advice = td_account_config_token_advice (account_of (task));
      g_clear_error (&error);
      g_task_return_new_error (task, TD_ERROR, TD_ERROR_AUTH, "account %s (%s): the server "
                               "refused the %s login of user %s: %s; %s",
                               account_of (task)->name,
                               td_pop3_session_describe (session_of (task)),
                               td_sasl_get_mechanism (login->sasl), account_of (task)->user,
                               text, advice);
      return TRUE;
    }
  g_autofree char *what = g_strdup_printf ("the %s login of user %s", login->sasl != NULL
                                           ? td_sasl_get_mechanism (login->sasl) : "USER/PASS",
                                           account_of (task)->user);
  g_task_return_error (task, td_pop3_session_check_reply (session_of (task), reply, error,
                                                          TD_ERROR_AUTH, what));
  return TRUE;
}

static void
logged_in (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  GError *error = NULL;
  g_autoptr (TdPop3Reply) reply = td_pop3_session_command_finish (TD_POP3_SESSION (source),
                                                                  result, &error);

  if (login_failed (task, reply, error))
    return;
  if (reply->challenge)
    g_task_return_new_error (task, TD_ERROR, TD_ERROR_PROTOCOL, "account %s (%s): the server "
                             "sent a SASL challenge to a command that was not AUTH",
                             account_of (task)->name,
                             td_pop3_session_describe (session_of (task)));
  else
    g_task_return_boolean (task, TRUE);
}

static void
send_sensitive (GTask *task, TdPop3Expect expect, TdPop3CommandFlags flags, char *line,
                GAsyncReadyCallback callback)
{
  TdPop3Handlers handlers = { .expect = expect, .flags = flags | TD_POP3_COMMAND_SENSITIVE };

  td_pop3_session_command_async (session_of (task), &handlers, line,
                                 g_task_get_cancellable (task), callback, task);
  td_secret_free (line);
}

static void
sasl_answered (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  LoginData *login = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (TdPop3Reply) reply = td_pop3_session_command_finish (TD_POP3_SESSION (source),
                                                                  result, &error);

  if (login_failed (task, reply, error))
    {
      g_object_unref (task);
      return;
    }
  if (!reply->challenge)
    {
      if (td_sasl_check_success (login->sasl, &login->sasl_error))
        g_task_return_boolean (task, TRUE);
      else
        login_failed (task, NULL, NULL);
      g_object_unref (task);
      return;
    }
  char *answer = login->first != NULL ? g_steal_pointer (&login->first)
                                      : td_sasl_step (login->sasl, reply->text,
                                                      &login->sasl_error);
  /* "*" ends the exchange (RFC 5034 section 4); the server's -ERR then reports sasl_error. */
  send_sensitive (task, TD_POP3_EXPECT_SASL, TD_POP3_COMMAND_CONTINUES,
                  answer != NULL ? answer : g_strdup ("*"), sasl_answered);
}

/* AUTH with the first message in the command (RFC 5034's initial response), saving a round
 * trip, when the line stays within the 255 octets the RFC allows; otherwise the message
 * follows the server's empty challenge. */
static void
send_sasl (GTask *task, const char *mechanism)
{
  TdAccountConfig *a = account_of (task);
  LoginData *login = g_task_get_task_data (task);
  GError *error = NULL;
  char *first = NULL;

  login->sasl = td_sasl_new (mechanism, a->user, login->secret, a->host, a->port, &error);
  g_clear_pointer (&login->secret, td_secret_free);
  if (login->sasl == NULL || (td_sasl_has_initial_response (login->sasl)
                              && (first = td_sasl_step (login->sasl, NULL, &error)) == NULL))
    {
      g_prefix_error (&error, "account %s: ", a->name);
      fail_login (task, error);
      return;
    }
  gboolean inline_first = first != NULL
                          && strlen ("AUTH  ") + strlen (mechanism) + strlen (first) <= 255;
  char *line = inline_first ? g_strdup_printf ("AUTH %s %s", mechanism, *first ? first : "=")
                            : g_strdup_printf ("AUTH %s", mechanism);
  if (inline_first)
    td_secret_free (first);
  else
    login->first = first;
  send_sensitive (task, TD_POP3_EXPECT_SASL, 0, line, sasl_answered);
}

static void
user_accepted (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  LoginData *login = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (TdPop3Reply) reply = td_pop3_session_command_finish (TD_POP3_SESSION (source),
                                                                  result, &error);

  if (login_failed (task, reply, error))
    {
      g_object_unref (task);
      return;
    }
  char *line = g_strconcat ("PASS ", login->secret, NULL);
  g_clear_pointer (&login->secret, td_secret_free);
  send_sensitive (task, TD_POP3_EXPECT_STATUS, 0, line, logged_in);
}

/* APOP (RFC 1939 section 7): MD5 of the greeting's timestamp and the secret. */
static char *
apop_line (const char *user, const char *timestamp, const char *secret)
{
  g_autoptr (GChecksum) md5 = g_checksum_new (G_CHECKSUM_MD5);
  g_checksum_update (md5, (const guint8 *) timestamp, strlen (timestamp));
  g_checksum_update (md5, (const guint8 *) secret, strlen (secret));
  return g_strdup_printf ("APOP %s %s", user, g_checksum_get_string (md5));
}

static void
send_login (GTask *task)
{
  TdAccountConfig *a = account_of (task);
  LoginData *login = g_task_get_task_data (task);
  const TdPop3Caps *caps = td_pop3_session_get_caps (session_of (task));
  TdPop3Handlers handlers = { .expect = TD_POP3_EXPECT_STATUS };

  switch (a->auth)
    {
    case TD_AUTH_APOP:
      if (caps->apop_timestamp == NULL)
        {
          g_task_return_new_error (task, TD_ERROR, TD_ERROR_AUTH, "account %s: auth = apop, but "
                                   "the server does not offer APOP (no timestamp in its "
                                   "greeting); use auth = auto", a->name);
          g_object_unref (task);
          return;
        }
      send_sensitive (task, TD_POP3_EXPECT_STATUS, 0,
                      apop_line (a->user, caps->apop_timestamp, login->secret), logged_in);
      g_clear_pointer (&login->secret, td_secret_free);
      return;
    default:
      break;
    }
  const char *mechanism = NULL;
  GError *error = NULL;
  if (!td_sasl_choose (a, &caps->sasl, &mechanism, &error))
    {
      fail_login (task, error);
      return;
    }
  if (mechanism != NULL)
    {
      send_sasl (task, mechanism);
      return;
    }
  g_autofree char *line = g_strconcat ("USER ", a->user, NULL);
  td_pop3_session_command_async (session_of (task), &handlers, line,
                                 g_task_get_cancellable (task), user_accepted, task);
}

static void
capa_line (TdPop3Session *session, const char *line, gpointer data)
{
  td_pop3_session_parse_capa (session, line);
}

static void stls_done (GObject *source, GAsyncResult *result, gpointer data);

static void
capa_answered (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  TdAccountConfig *a = account_of (task);
  TdPop3Session *session = TD_POP3_SESSION (source);
  GError *error = NULL;
  g_autoptr (TdPop3Reply) reply = td_pop3_session_command_finish (session, result, &error);

  if (reply == NULL)
    {
      fail_login (task, error);
      return;
    }
  /* A -ERR is an old server without CAPA (RFC 1939 only): no STLS, PIPELINING or SASL. */
  if (a->security != TD_SECURITY_STARTTLS
      || ((LoginData *) g_task_get_task_data (task))->tls_up)
    {
      send_login (task);
      return;
    }
  if (!td_pop3_session_get_caps (session)->stls)
    {
      g_task_return_new_error (task, TD_ERROR, TD_ERROR_TLS, "account %s: the server does not "
                               "offer STLS, and security = starttls requires it; nothing was "
                               "sent. Use security = tls if the server has POP3S (port 995)",
                               a->name);
      g_object_unref (task);
      return;
    }
  td_pop3_session_stls_async (session, g_task_get_cancellable (task), stls_done, task);
}

static void
ask_capa (GTask *task)
{
  TdPop3Handlers handlers = { .expect = TD_POP3_EXPECT_LINES, .on_line = capa_line };

  td_pop3_session_reset_caps (session_of (task));
  td_pop3_session_command_async (session_of (task), &handlers, "CAPA",
                                 g_task_get_cancellable (task), capa_answered, task);
}

static void
stls_done (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  GError *error = NULL;

  if (!td_pop3_session_stls_finish (TD_POP3_SESSION (source), result, &error))
    {
      fail_login (task, error);
      return;
    }
  ((LoginData *) g_task_get_task_data (task))->tls_up = TRUE;
  ask_capa (task); /* what the server offered before TLS is not to be trusted */
}

static void
greeted (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  GError *error = NULL;

  if (!td_pop3_session_connect_finish (TD_POP3_SESSION (source), result, &error))
    {
      fail_login (task, error);
      return;
    }
  ask_capa (task);
}

/* A user name or secret that could end the command line early, or smuggle in another. */
static gboolean
unsendable (const char *s)
{
  return strpbrk (s, "\r\n") != NULL;
}

/**
 * td_pop3_backend_login_async:
 * @self: a backend with a new session
 * @secret: (nullable): the password
 * @cancellable: (nullable): a cancellable
 * @callback: called when logged in
 * @user_data: data for @callback
 *
 * Connects the session, secures it as the account says and logs in. A user name or secret
 * holding CR or LF is refused before the connection is opened.
 */
void
td_pop3_backend_login_async (TdPop3Backend *self, const char *secret, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  TdAccountConfig *a = td_backend_get_account (TD_BACKEND (self));
  LoginData *data = g_new0 (LoginData, 1);

  g_task_set_source_tag (task, td_pop3_backend_login_async);
  data->secret = g_strdup (secret);
  g_task_set_task_data (task, data, (GDestroyNotify) login_data_free);
  if (secret == NULL)
    g_task_return_new_error (task, TD_ERROR, TD_ERROR_AUTH, "account %s: no password is "
                             "configured; run `tidings password set %s`, or set password-command",
                             a->name, a->name);
  else if (unsendable (a->user) || unsendable (secret))
    g_task_return_new_error (task, TD_ERROR, TD_ERROR_AUTH, "account %s: the user name or "
                             "password holds a line break, which POP3 cannot send; nothing "
                             "was sent. Check what password-command prints", a->name);
  else
    {
      td_pop3_session_connect_async (self->session, cancellable, greeted, task);
      return;
    }
  g_object_unref (task);
}

gboolean
td_pop3_backend_login_finish (TdPop3Backend *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
