/* td-oauth2.c: OAuth2 tokens from the provider and the keyring (see td-oauth2.h). */
#include "engine/backend/td-oauth2.h"

#include <libsoup/soup.h>
#include <string.h>

#include "engine/common/td-error.h"
#include "engine/common/td-secret.h"

#define TD_OAUTH2_HTTP_TIMEOUT 30

static const SecretSchema oauth2_schema = {
  "org.tidings.OAuth2",
  SECRET_SCHEMA_NONE,
  {
    { "account", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { "host", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { "user", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  },
};

/**
 * td_oauth2_get_schema:
 *
 * Returns: (transfer none): the keyring schema of the OAuth2 sign-ins Tidings keeps
 */
const SecretSchema *
td_oauth2_get_schema (void)
{
  return &oauth2_schema;
}

/* Posting a form to an endpoint */

typedef struct
{
  SoupSession *session;
  SoupMessage *message;
  GInputStream *body;
  guint8 *buffer;   /* the answer, up to TD_OAUTH2_MAX_ANSWER + 1 bytes; may hold tokens */
  gsize length;
} Post;

static void
post_free (Post *p)
{
  g_clear_object (&p->body);
  g_clear_object (&p->message);
  g_clear_object (&p->session);
  if (p->buffer != NULL)
    explicit_bzero (p->buffer, TD_OAUTH2_MAX_ANSWER + 1);
  g_free (p->buffer);
  g_free (p);
}

static void
post_fail (GTask *task, int code, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
post_fail (GTask *task, int code, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *what = g_strdup_vprintf (format, args);
  va_end (args);
  g_task_return_new_error (task, TD_ERROR, code, "%s", what);
  g_object_unref (task);
}

static void
read_done (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  Post *p = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  const char *host = g_uri_get_host (soup_message_get_uri (p->message));

  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &p->length, &error))
    {
      post_fail (task, TD_ERROR_NETWORK, "the answer of %s broke off: %s", host,
                 error->message);
      return;
    }
  if (p->length > TD_OAUTH2_MAX_ANSWER)
    {
      post_fail (task, TD_ERROR_PROTOCOL, "%s answered with more than %u bytes; that is no "
                 "OAuth2 answer", host, TD_OAUTH2_MAX_ANSWER);
      return;
    }
  JsonNode *root = json_parser_load_from_data (parser, (const char *) p->buffer,
                                               (gssize) p->length, NULL)
                     ? json_parser_get_root (parser) : NULL;
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      post_fail (task, TD_ERROR_PROTOCOL, "%s answered HTTP %u with no JSON object; is the "
                 "URL an OAuth2 endpoint?", host, soup_message_get_status (p->message));
      return;
    }
  g_task_return_pointer (task, json_object_ref (json_node_get_object (root)),
                         (GDestroyNotify) json_object_unref);
  g_object_unref (task);
}

static void
sent (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  Post *p = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  p->body = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (p->body == NULL)
    {
      const char *host = g_uri_get_host (soup_message_get_uri (p->message));
      gboolean tls = error->domain == G_TLS_ERROR
                     || soup_message_get_tls_peer_certificate_errors (p->message) != 0;
      post_fail (task, tls ? TD_ERROR_TLS : TD_ERROR_NETWORK, "cannot reach %s%s: %s", host,
                 tls ? " (its certificate is refused)" : "", error->message);
      return;
    }
  p->buffer = g_malloc (TD_OAUTH2_MAX_ANSWER + 1);
  g_input_stream_read_all_async (p->body, p->buffer, TD_OAUTH2_MAX_ANSWER + 1,
                                 G_PRIORITY_DEFAULT, g_task_get_cancellable (task), read_done,
                                 task);
}

/* A proxy resolver from https_proxy (or http_proxy) and no_proxy, as curl reads them;
 * this machine is always reached directly. */
static GProxyResolver *
environment_proxies (void)
{
  const char *proxy = g_getenv ("https_proxy");
  const char *none = g_getenv ("no_proxy");
  g_autoptr (GStrvBuilder) ignored = g_strv_builder_new ();
  g_auto (GStrv) listed = g_strsplit (none != NULL ? none : "", ",", -1);

  if (proxy == NULL)
    proxy = g_getenv ("http_proxy");
  for (guint i = 0; listed[i] != NULL; i++)
    if (*g_strstrip (listed[i]) != '\0')
      g_strv_builder_add (ignored, listed[i]);
  g_strv_builder_add_many (ignored, "localhost", "127.0.0.0/8", "::1", NULL);
  g_auto (GStrv) hosts = g_strv_builder_end (ignored);
  return g_simple_proxy_resolver_new (proxy != NULL && *proxy != '\0' ? proxy : "direct://",
                                      hosts);
}

/**
 * td_oauth2_post_async:
 * @url: an endpoint (https, or http on loopback)
 * @form: (element-type utf8 utf8): the form's fields; the values may be secrets
 * @cancellable: (nullable): a cancellable
 * @callback: called with the answer
 * @user_data: data for @callback
 *
 * Posts @form as application/x-www-form-urlencoded and reads the JSON answer, whatever the
 * HTTP status (an OAuth2 error is a JSON object too).
 */
void
td_oauth2_post_async (const char *url, GHashTable *form, GCancellable *cancellable,
                      GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Post *p = g_new0 (Post, 1);
  char *encoded = soup_form_encode_hash (form);
  GBytes *body = g_bytes_new_with_free_func (encoded, strlen (encoded),
                                             (GDestroyNotify) td_secret_free, encoded);

  g_task_set_source_tag (task, td_oauth2_post_async);
  g_task_set_task_data (task, p, (GDestroyNotify) post_free);
  p->session = soup_session_new_with_options ("timeout", TD_OAUTH2_HTTP_TIMEOUT,
                                              "user-agent", "Tidings", NULL);
  /* Without GSettings schemas GNOME's proxy settings cannot be read (see tidings.c); the
   * environment's proxy variables are, then. */
  if (g_settings_schema_source_get_default () == NULL)
    {
      g_autoptr (GProxyResolver) resolver = environment_proxies ();
      soup_session_set_proxy_resolver (p->session, resolver);
    }
  p->message = soup_message_new (SOUP_METHOD_POST, url);
  if (p->message == NULL)
    {
      g_bytes_unref (body);
      post_fail (task, TD_ERROR_CONFIG, "“%s” is not a URL", url);
      return;
    }
  soup_message_headers_append (soup_message_get_request_headers (p->message), "Accept",
                               "application/json");
  soup_message_set_request_body_from_bytes (p->message, SOUP_FORM_MIME_TYPE_URLENCODED, body);
  g_bytes_unref (body);
  soup_session_send_async (p->session, p->message, G_PRIORITY_DEFAULT, cancellable, sent,
                           task);
}

/**
 * td_oauth2_post_finish:
 * @result: the result
 * @status: (out) (optional): the HTTP status
 * @error: a %TD_ERROR_NETWORK, %TD_ERROR_TLS or %TD_ERROR_PROTOCOL error
 *
 * Returns: (transfer full) (nullable): the answer
 */
JsonObject *
td_oauth2_post_finish (GAsyncResult *result, guint *status, GError **error)
{
  Post *p = g_task_get_task_data (G_TASK (result));

  if (status != NULL)
    *status = p->message != NULL ? soup_message_get_status (p->message) : 0;
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* What the keyring keeps */

/**
 * td_oauth2_string_member:
 * @o: an answer
 * @name: a member's name
 *
 * Returns: (transfer none) (nullable): the member when it is a string of printable ASCII, as
 *   tokens, codes and error codes are, of at most 16 KiB; %NULL otherwise
 */
const char *
td_oauth2_string_member (JsonObject *o, const char *name)
{
  JsonNode *node = json_object_get_member (o, name);
  const char *value = node != NULL && JSON_NODE_HOLDS_VALUE (node)
                          && json_node_get_value_type (node) == G_TYPE_STRING
                        ? json_node_get_string (node) : NULL;

  if (value == NULL || *value == '\0' || strlen (value) > 16 * 1024)
    return NULL;
  for (const char *c = value; *c != '\0'; c++)
    if (*c < 0x21 || *c > 0x7e)
      return NULL;
  return value;
}

/**
 * td_oauth2_int_member:
 * @o: an answer
 * @name: a member's name
 * @fallback: what to return when it is no number
 *
 * Returns: the member, when it is a number
 */
gint64
td_oauth2_int_member (JsonObject *o, const char *name, gint64 fallback)
{
  JsonNode *node = json_object_get_member (o, name);
  GType type = node != NULL && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node)
                                                            : G_TYPE_INVALID;

  if (type == G_TYPE_INT64)
    return json_node_get_int (node);
  if (type == G_TYPE_DOUBLE)
    return (gint64) CLAMP (json_node_get_double (node), -1e15, 1e15);
  return fallback;
}

/* The keyring's text for @answer (a token endpoint's answer): its tokens and when the access
 * token expires. NULL when it has no access token. */
static char *
keyring_text (JsonObject *answer, const char *old_refresh)
{
  const char *access = td_oauth2_string_member (answer, "access_token");
  const char *refresh = td_oauth2_string_member (answer, "refresh_token");
  gint64 lifetime = td_oauth2_int_member (answer, "expires_in", 3600);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();

  if (access == NULL)
    return NULL;
  lifetime = CLAMP (lifetime, 0, 366 * 24 * 3600);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "access_token");
  json_builder_add_string_value (b, access);
  json_builder_set_member_name (b, "expires_at");
  json_builder_add_int_value (b, g_get_real_time () / G_USEC_PER_SEC + lifetime);
  /* A provider that does not rotate refresh tokens sends none with a refresh. */
  if (refresh != NULL || old_refresh != NULL)
    {
      json_builder_set_member_name (b, "refresh_token");
      json_builder_add_string_value (b, refresh != NULL ? refresh : old_refresh);
    }
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

static char *
item_label (const TdAccountConfig *account)
{
  return g_strdup_printf ("Tidings OAuth2 sign-in for account %s (%s)", account->name,
                          account->user != NULL ? account->user : "");
}

/**
 * td_oauth2_answer_error:
 * @account: the account
 * @answer: (nullable): a token endpoint's answer without an access token
 * @status: its HTTP status
 *
 * Returns: (transfer full): %TD_ERROR_NO_CREDENTIALS saying what the provider refused and to
 *   sign in again
 */
GError *
td_oauth2_answer_error (const TdAccountConfig *account, JsonObject *answer, guint status)
{
  const char *code = answer != NULL ? td_oauth2_string_member (answer, "error") : NULL;

  if (code != NULL && g_str_equal (code, "invalid_grant"))
    return g_error_new (TD_ERROR, TD_ERROR_NO_CREDENTIALS, "account %s: %s no longer accepts "
                        "the sign-in (revoked or expired); sign in again with `tidings oauth2 "
                        "login %s`", account->name, account->oauth2.provider, account->name);
  return g_error_new (TD_ERROR, TD_ERROR_NO_CREDENTIALS, "account %s: %s refused to give an "
                      "access token (HTTP %u, %s); check oauth2-client-id and the endpoints, "
                      "then sign in again with `tidings oauth2 login %s`", account->name,
                      account->oauth2.provider, status, code != NULL ? code : "no reason",
                      account->name);
}

/**
 * td_oauth2_store:
 * @account: the account
 * @answer: the token endpoint's answer
 * @old_refresh: (nullable): the refresh token to keep when @answer has none
 * @cancellable: (nullable): a cancellable
 * @error: return location for an error
 *
 * Stores @answer's tokens in the keyring, blocking: for the command line.
 */
gboolean
td_oauth2_store (const TdAccountConfig *account, JsonObject *answer, const char *old_refresh,
                 GCancellable *cancellable, GError **error)
{
  g_autofree char *label = item_label (account);
  char *text = keyring_text (answer, old_refresh);
  g_autoptr (GError) local = NULL;
  gboolean stored;

  if (text == NULL)
    {
      g_propagate_error (error, td_oauth2_answer_error (account, answer, 200));
      return FALSE;
    }
  stored = secret_password_store_sync (&oauth2_schema, SECRET_COLLECTION_DEFAULT, label, text,
                                       cancellable, &local, "account", account->name, "host",
                                       account->host ? account->host : "", "user",
                                       account->user ? account->user : "", NULL);
  td_secret_free (text);
  if (!stored)
    g_set_error (error, TD_ERROR, TD_ERROR_NO_CREDENTIALS, "account %s: the keyring cannot "
                 "keep the sign-in: %s", account->name, local->message);
  return stored;
}

/* An access token for an account */

typedef struct
{
  TdAccountConfig *account;
  gboolean renew;
  char *refresh;   /* the refresh token, while it is used */
  char *access;    /* the new access token, while it is stored */
} Token;

static void
token_free (Token *t)
{
  td_account_config_unref (t->account);
  td_secret_free (t->refresh);
  td_secret_free (t->access);
  g_free (t);
}

static void
token_fail (GTask *task, GError *error)
{
  g_task_return_error (task, error);
  g_object_unref (task);
}

/* One renewal per account at a time: the sync's connections, the daemon's watchers and a
 * retry may all find the token expired at once, and a provider that rotates refresh tokens
 * may take a second use of the same one for theft and revoke the sign-in. Account name ->
 * GPtrArray of the tasks waiting for the renewal under way. Used from the main context. */
static GHashTable *renewals;

/* Whether @task may renew now; if another renewal is under way, it waits for that one. */
static gboolean
renewal_begin (GTask *task)
{
  Token *t = g_task_get_task_data (task);
  GPtrArray *waiting;

  if (renewals == NULL)
    renewals = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) g_ptr_array_unref);
  waiting = g_hash_table_lookup (renewals, t->account->name);
  if (waiting != NULL)
    {
      g_debug ("account %s: waiting for the renewal under way", t->account->name);
      g_ptr_array_add (waiting, task);
      return FALSE;
    }
  g_hash_table_insert (renewals, g_strdup (t->account->name), g_ptr_array_new ());
  return TRUE;
}

/* Completes @task, which renewed, and those that waited for it, with @access or @error. */
static void
renewal_end (GTask *task, const char *access, GError *error)
{
  Token *t = g_task_get_task_data (task);
  g_autoptr (GPtrArray) waiting = NULL;
  g_autofree char *name = NULL;

  g_hash_table_steal_extended (renewals, t->account->name, (gpointer *) &name,
                               (gpointer *) &waiting);
  g_ptr_array_add (waiting, g_object_ref (task));
  for (guint i = 0; i < waiting->len; i++)
    {
      GTask *w = g_ptr_array_index (waiting, i);
      if (error != NULL)
        g_task_return_error (w, g_error_copy (error));
      else
        g_task_return_pointer (w, g_strdup (access), (GDestroyNotify) td_secret_free);
      g_object_unref (w);
    }
  g_clear_error (&error);
  g_object_unref (task);
}

static void
stored (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  Token *t = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  /* The token is good either way; a refresh token that could not be kept is said. */
  if (!secret_password_store_finish (result, &error))
    g_warning ("account %s: the renewed OAuth2 sign-in is not kept in the keyring (%s); the "
               "next start may have to sign in again", t->account->name, error->message);
  renewal_end (task, t->access, NULL);
}

static void
renewed (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  Token *t = g_task_get_task_data (task);
  GError *error = NULL;
  guint status = 0;
  g_autoptr (JsonObject) answer = td_oauth2_post_finish (result, &status, &error);
  char *text = answer != NULL ? keyring_text (answer, t->refresh) : NULL;

  if (answer == NULL)
    {
      renewal_end (task, NULL, error);
      return;
    }
  if (text == NULL)
    {
      renewal_end (task, NULL, td_oauth2_answer_error (t->account, answer, status));
      return;
    }
  t->access = g_strdup (td_oauth2_string_member (answer, "access_token"));
  g_debug ("account %s: %s gave a new access token", t->account->name,
           t->account->oauth2.provider);
  g_autofree char *label = item_label (t->account);
  secret_password_store (&oauth2_schema, SECRET_COLLECTION_DEFAULT, label, text,
                         g_task_get_cancellable (task), stored, task,
                         "account", t->account->name, "host",
                         t->account->host ? t->account->host : "", "user",
                         t->account->user ? t->account->user : "", NULL);
  td_secret_free (text);
}

static void
renew (GTask *task)
{
  Token *t = g_task_get_task_data (task);
  const TdOAuth2Settings *o = &t->account->oauth2;
  g_autoptr (GHashTable) form = g_hash_table_new (g_str_hash, g_str_equal);

  g_hash_table_insert (form, (char *) "grant_type", (char *) "refresh_token");
  g_hash_table_insert (form, (char *) "refresh_token", t->refresh);
  g_hash_table_insert (form, (char *) "client_id", o->client_id);
  if (o->client_secret != NULL)
    g_hash_table_insert (form, (char *) "client_secret", o->client_secret);
  td_oauth2_post_async (o->token_url, form, g_task_get_cancellable (task), renewed, task);
}

static void
looked_up (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  Token *t = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  char *text = secret_password_lookup_finish (result, &error);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root = NULL;

  if (text == NULL)
    {
      token_fail (task, g_error_new (TD_ERROR, TD_ERROR_NO_CREDENTIALS, "account %s: %s; sign "
                                     "in once with `tidings oauth2 login %s`", t->account->name,
                                     error != NULL ? "the keyring cannot be reached"
                                                   : "it has not signed in",
                                     t->account->name));
      return;
    }
  if (json_parser_load_from_data (parser, text, -1, NULL))
    root = json_parser_get_root (parser);
  td_secret_free (text);
  JsonObject *o = root != NULL && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root)
                                                                : NULL;
  const char *access = o != NULL ? td_oauth2_string_member (o, "access_token") : NULL;
  const char *refresh = o != NULL ? td_oauth2_string_member (o, "refresh_token") : NULL;
  gint64 expires = o != NULL ? td_oauth2_int_member (o, "expires_at", 0) : 0;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (access != NULL && !t->renew && expires - now > TD_OAUTH2_RENEW_MARGIN)
    {
      g_task_return_pointer (task, g_strdup (access), (GDestroyNotify) td_secret_free);
      g_object_unref (task);
      return;
    }
  if (refresh == NULL)
    {
      token_fail (task, g_error_new (TD_ERROR, TD_ERROR_NO_CREDENTIALS, "account %s: its "
                                     "access token %s and there is no refresh token; sign in "
                                     "again with `tidings oauth2 login %s`", t->account->name,
                                     t->renew ? "was refused" : "has expired",
                                     t->account->name));
      return;
    }
  t->refresh = g_strdup (refresh);
  if (renewal_begin (task))
    renew (task);
}

/**
 * td_oauth2_token_async:
 * @account: an account that signs in itself (td_account_config_signs_in_itself())
 * @renew: whether the server refused the last access token: get a new one whatever its
 *   expiry says
 * @cancellable: (nullable): a cancellable
 * @callback: called with the token
 * @user_data: data for @callback
 *
 * Finds a current access token: the kept one, or a new one from the token endpoint.
 */
void
td_oauth2_token_async (TdAccountConfig *account, gboolean renew, GCancellable *cancellable,
                       GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Token *t = g_new0 (Token, 1);

  g_task_set_source_tag (task, td_oauth2_token_async);
  t->account = td_account_config_ref (account);
  t->renew = renew;
  g_task_set_task_data (task, t, (GDestroyNotify) token_free);
  secret_password_lookup (&oauth2_schema, cancellable, looked_up, task, "account",
                          account->name, "host", account->host ? account->host : "", "user",
                          account->user ? account->user : "", NULL);
}

/**
 * td_oauth2_token_finish:
 * @result: the result
 * @error: %TD_ERROR_NO_CREDENTIALS when the user must sign in (again), or a network error
 *
 * Returns: (transfer full) (nullable): the access token; free it with td_secret_free()
 */
char *
td_oauth2_token_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
