/* td-cli-oauth2.c: `tidings oauth2 login ACCOUNT`: signs an account in with its OAuth2
 * provider once, and keeps the tokens in the keyring (td-oauth2.h).
 *
 * Without --device: the authorization code flow with PKCE (RFC 7636) and a loopback redirect
 * (RFC 8252): a one-shot listener on 127.0.0.1 takes the browser back, the page is opened
 * with xdg-open (or only printed, --no-browser). With --device: the device authorization
 * grant (RFC 8628), for a machine without a browser: a code to type in on another device.
 */
#include <libsoup/soup.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "engine/backend/td-oauth2.h"
#include "engine/common/td-error.h"
#include "engine/common/td-secret.h"
#include "td-cli.h"

/* How long the browser or the other device has to come back. */
#define LOGIN_TIMEOUT_SECONDS (10 * 60)
#define DEVICE_INTERVAL_MIN 1
#define DEVICE_INTERVAL_MAX 60

typedef struct
{
  GMainLoop *loop;
  TdAccountConfig *account;
  GError *error;        /* how it failed, once it did */
  gboolean done;
  char *verifier;       /* PKCE: a secret until the code is exchanged */
  char *state;
  char *redirect;
  SoupServer *server;
  gboolean answered;    /* the browser came back: the listener takes no more */
  char *device_code;
  guint interval;
  gint64 deadline;      /* monotonic */
  guint timer;
} Login;

static void
finish (Login *l, GError *error)
{
  if (l->done)
    {
      g_clear_error (&error);
      return;
    }
  l->done = TRUE;
  l->error = error;
  g_main_loop_quit (l->loop);
}

/* @bytes as base64url without padding (RFC 7636's alphabet). */
static char *
base64url (const guchar *bytes, gsize n)
{
  char *text = g_base64_encode (bytes, n);
  char *pad = strchr (text, '=');

  if (pad != NULL)
    *pad = '\0';
  g_strdelimit (text, "+", '-');
  g_strdelimit (text, "/", '_');
  return text;
}

/* @n random bytes from the kernel, as base64url. */
static char *
random_text (gsize n)
{
  guchar bytes[64];
  g_assert (n <= sizeof bytes);
  if (getrandom (bytes, n, 0) != (ssize_t) n)
    g_error ("no randomness from the kernel");
  char *text = base64url (bytes, n);
  explicit_bzero (bytes, sizeof bytes);
  return text;
}

static char *
pkce_challenge (const char *verifier)
{
  guint8 digest[32];
  gsize len = sizeof digest;
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);

  g_checksum_update (sum, (const guchar *) verifier, -1);
  g_checksum_get_digest (sum, digest, &len);
  return base64url (digest, len);
}

static GHashTable *
token_form (Login *l, const char *grant)
{
  GHashTable *form = g_hash_table_new (g_str_hash, g_str_equal);
  const TdOAuth2Settings *o = &l->account->oauth2;

  g_hash_table_insert (form, (char *) "grant_type", (char *) grant);
  g_hash_table_insert (form, (char *) "client_id", o->client_id);
  if (o->client_secret != NULL)
    g_hash_table_insert (form, (char *) "client_secret", o->client_secret);
  return form;
}

/* The token endpoint's answer to a code or a device: kept, and the login is done. */
static void
keep (Login *l, JsonObject *answer, guint status)
{
  GError *error = NULL;

  if (td_oauth2_string_member (answer, "access_token") == NULL)
    {
      finish (l, td_oauth2_answer_error (l->account, answer, status));
      return;
    }
  if (!td_oauth2_store (l->account, answer, NULL, NULL, &error))
    {
      finish (l, error);
      return;
    }
  finish (l, NULL);
}

/* The authorization code flow */

static void
code_exchanged (GObject *source, GAsyncResult *result, gpointer data)
{
  Login *l = data;
  GError *error = NULL;
  guint status = 0;
  g_autoptr (JsonObject) answer = td_oauth2_post_finish (result, &status, &error);

  if (answer == NULL)
    finish (l, error);
  else
    keep (l, answer, status);
}

static void
reply_page (SoupServerMessage *msg, guint status, const char *text)
{
  g_autofree char *page = g_markup_printf_escaped (
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Tidings</title></head>"
    "<body><p>%s</p></body></html>", text);
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "text/html; charset=utf-8", SOUP_MEMORY_COPY, page,
                                    strlen (page));
}

static void
browser_back (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
              gpointer data)
{
  Login *l = data;
  const char *state = query ? g_hash_table_lookup (query, "state") : NULL;
  const char *code = query ? g_hash_table_lookup (query, "code") : NULL;
  const char *refused = query ? g_hash_table_lookup (query, "error") : NULL;

  if (l->answered || !g_str_equal (path, "/") || state == NULL
      || g_strcmp0 (state, l->state) != 0)
    {
      /* A favicon, a stale tab, or another page: not the answer. */
      reply_page (msg, SOUP_STATUS_NOT_FOUND, "Not a sign-in answer Tidings waits for.");
      return;
    }
  l->answered = TRUE;
  if (code == NULL)
    {
      reply_page (msg, SOUP_STATUS_OK, "The sign-in was not granted; see the terminal.");
      finish (l, g_error_new (TD_ERROR, TD_ERROR_NO_CREDENTIALS, "account %s: %s did not "
                              "grant the sign-in (%s)", l->account->name,
                              l->account->oauth2.provider, refused ? refused : "no code"));
      return;
    }
  reply_page (msg, SOUP_STATUS_OK, "Tidings has the answer. You can close this page; the "
              "terminal says whether the sign-in is done.");
  g_autoptr (GHashTable) form = token_form (l, "authorization_code");
  g_hash_table_insert (form, (char *) "code", (char *) code);
  g_hash_table_insert (form, (char *) "redirect_uri", l->redirect);
  g_hash_table_insert (form, (char *) "code_verifier", l->verifier);
  td_oauth2_post_async (l->account->oauth2.token_url, form, NULL, code_exchanged, l);
}

static char *
authorization_url (Login *l)
{
  const TdOAuth2Settings *o = &l->account->oauth2;
  g_autofree char *challenge = pkce_challenge (l->verifier);
  GString *url = g_string_new (o->auth_url);
  const char *params[][2] = {
    { "response_type", "code" }, { "client_id", o->client_id },
    { "redirect_uri", l->redirect }, { "scope", o->scope }, { "state", l->state },
    { "code_challenge", challenge }, { "code_challenge_method", "S256" },
    /* Google gives a refresh token only when asked for offline access. */
    { "access_type", "offline" }, { "prompt", "consent" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (params); i++)
    {
      g_string_append_c (url, i == 0 && strchr (o->auth_url, '?') == NULL ? '?' : '&');
      g_string_append_uri_escaped (url, params[i][0], NULL, FALSE);
      g_string_append_c (url, '=');
      g_string_append_uri_escaped (url, params[i][1], NULL, FALSE);
    }
  return g_string_free (url, FALSE);
}

static gboolean
start_code_flow (Login *l, gboolean browser, GError **error)
{
  l->server = soup_server_new ("server-header", "Tidings", NULL);
  if (!soup_server_listen_local (l->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, error))
    return FALSE;
  GSList *uris = soup_server_get_uris (l->server);
  guint port = uris != NULL ? (guint) g_uri_get_port (uris->data) : 0;
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  l->redirect = g_strdup_printf ("http://127.0.0.1:%u/", port);
  l->verifier = random_text (48);
  l->state = random_text (16);
  soup_server_add_handler (l->server, "/", browser_back, l, NULL);

  g_autofree char *url = authorization_url (l);
  printf ("To sign in account %s, open this page in a browser:\n\n  %s\n\n"
          "Waiting for the browser to come back to %s ...\n", l->account->name, url,
          l->redirect);
  fflush (stdout);
  if (browser)
    {
      const char *argv[] = { "xdg-open", url, NULL };
      g_autoptr (GError) local = NULL;
      if (!g_spawn_async (NULL, (char **) argv, NULL,
                          G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                          &local))
        fprintf (stderr, "tidings: cannot open a browser (%s): open the page by hand\n",
                 local->message);
    }
  return TRUE;
}

/* The device authorization grant */

static gboolean poll_device (gpointer data);

static void
device_polled (GObject *source, GAsyncResult *result, gpointer data)
{
  Login *l = data;
  GError *error = NULL;
  guint status = 0;
  g_autoptr (JsonObject) answer = td_oauth2_post_finish (result, &status, &error);
  const char *code = answer != NULL ? td_oauth2_string_member (answer, "error") : NULL;

  if (answer == NULL)
    {
      finish (l, error);
      return;
    }
  if (code != NULL && (g_str_equal (code, "authorization_pending")
                       || g_str_equal (code, "slow_down")))
    {
      if (g_str_equal (code, "slow_down"))
        l->interval = MIN (l->interval + 5, DEVICE_INTERVAL_MAX);
      if (g_get_monotonic_time () > l->deadline)
        finish (l, g_error_new (TD_ERROR, TD_ERROR_NO_CREDENTIALS, "account %s: the code was "
                                "not entered in time; run the login again", l->account->name));
      else
        l->timer = g_timeout_add_seconds (l->interval, poll_device, l);
      return;
    }
  keep (l, answer, status);
}

static gboolean
poll_device (gpointer data)
{
  Login *l = data;
  g_autoptr (GHashTable) form = token_form (l, "urn:ietf:params:oauth:grant-type:device_code");

  l->timer = 0;
  g_hash_table_insert (form, (char *) "device_code", l->device_code);
  td_oauth2_post_async (l->account->oauth2.token_url, form, NULL, device_polled, l);
  return G_SOURCE_REMOVE;
}

static void
device_started (GObject *source, GAsyncResult *result, gpointer data)
{
  Login *l = data;
  GError *error = NULL;
  guint status = 0;
  g_autoptr (JsonObject) answer = td_oauth2_post_finish (result, &status, &error);
  const char *device = NULL, *user_code = NULL, *uri = NULL;

  if (answer == NULL)
    {
      finish (l, error);
      return;
    }
  device = td_oauth2_string_member (answer, "device_code");
  user_code = td_oauth2_string_member (answer, "user_code");
  uri = td_oauth2_string_member (answer, "verification_uri");
  if (uri == NULL) /* Google's name for it */
    uri = td_oauth2_string_member (answer, "verification_url");
  if (device == NULL || user_code == NULL || uri == NULL)
    {
      finish (l, td_oauth2_answer_error (l->account, answer, status));
      return;
    }
  gint64 interval = td_oauth2_int_member (answer, "interval", 5);
  gint64 lifetime = td_oauth2_int_member (answer, "expires_in", 600);
  l->interval = (guint) CLAMP (interval, DEVICE_INTERVAL_MIN, DEVICE_INTERVAL_MAX);
  l->deadline = g_get_monotonic_time ()
                + CLAMP (lifetime, 30, LOGIN_TIMEOUT_SECONDS) * G_USEC_PER_SEC;
  l->device_code = g_strdup (device);
  printf ("To sign in account %s, open %s on any device and enter the code\n\n  %s\n\n"
          "Waiting ...\n", l->account->name, uri, user_code);
  fflush (stdout);
  l->timer = g_timeout_add_seconds (l->interval, poll_device, l);
}

static void
start_device_flow (Login *l)
{
  const TdOAuth2Settings *o = &l->account->oauth2;
  g_autoptr (GHashTable) form = g_hash_table_new (g_str_hash, g_str_equal);

  g_hash_table_insert (form, (char *) "client_id", o->client_id);
  g_hash_table_insert (form, (char *) "scope", o->scope);
  td_oauth2_post_async (o->device_url, form, NULL, device_started, l);
}

/* The command */

static gboolean
timed_out (gpointer data)
{
  Login *l = data;

  finish (l, g_error_new (TD_ERROR, TD_ERROR_NO_CREDENTIALS, "account %s: no sign-in came "
                          "back within %u minutes; run the login again", l->account->name,
                          LOGIN_TIMEOUT_SECONDS / 60));
  return G_SOURCE_REMOVE;
}

static int
login (TdAccountConfig *a, gboolean device, gboolean browser)
{
  Login l = { g_main_loop_new (NULL, FALSE), a };
  GError *error = NULL;
  int status = TD_EXIT_OK;

  if (device)
    start_device_flow (&l);
  else if (!start_code_flow (&l, browser, &error))
    finish (&l, error);
  guint timeout = g_timeout_add_seconds (LOGIN_TIMEOUT_SECONDS, timed_out, &l);
  if (!l.done)
    g_main_loop_run (l.loop);
  g_source_remove (timeout);
  g_clear_handle_id (&l.timer, g_source_remove);
  if (l.error != NULL)
    {
      td_cli_print_error (l.error);
      status = (int) td_error_to_exit_code (l.error);
      g_error_free (l.error);
    }
  else
    printf ("account %s: signed in with %s; the sign-in is kept in the keyring\n", a->name,
            a->oauth2.provider);
  if (l.server != NULL)
    soup_server_disconnect (l.server);
  g_clear_object (&l.server);
  td_secret_free (l.verifier);
  td_secret_free (l.device_code);
  g_free (l.state);
  g_free (l.redirect);
  g_main_loop_unref (l.loop);
  return status;
}

int
td_cli_oauth2 (const TdCliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new ("login ACCOUNT - sign in with OAuth2");
  g_autoptr (GError) error = NULL;
  gboolean device = FALSE, no_browser = FALSE;
  GOptionEntry entries[] = {
    { "device", 0, 0, G_OPTION_ARG_NONE, &device, "Sign in with a code typed in on another "
      "device (RFC 8628), for a machine without a browser", NULL },
    { "no-browser", 0, 0, G_OPTION_ARG_NONE, &no_browser, "Print the sign-in page's address, "
      "do not open a browser", NULL },
    { NULL }
  };

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_description (ctx, "Signs ACCOUNT in once with its OAuth2 provider "
                                    "(oauth2-client-id, oauth2-provider) and keeps the "
                                    "refresh token in the keyring; syncs renew the access "
                                    "token from it.\n");
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 3
      || !g_str_equal (argv[1], "login"))
    {
      fprintf (stderr, "tidings oauth2: %s\n", error ? error->message
                                                     : "usage: tidings oauth2 login ACCOUNT");
      return TD_EXIT_USAGE;
    }
  g_autoptr (TdConfig) config = NULL;
  TdAccountConfig *a = td_cli_load_account (globals, argv[2], &config);
  if (a == NULL)
    return TD_EXIT_USAGE;
  if (!td_account_config_signs_in_itself (a))
    {
      fprintf (stderr, "tidings: account %s does not sign in with OAuth2 itself: that takes "
               "auth = xoauth2 or oauthbearer and oauth2-client-id, and no "
               "oauth2-token-command or goa-account (which win when set)\n", a->name);
      return TD_EXIT_USAGE;
    }
  if ((device && a->oauth2.device_url == NULL) || (!device && a->oauth2.auth_url == NULL))
    {
      fprintf (stderr, "tidings: account %s: %s has no %s endpoint; set %s%s\n", a->name,
               a->oauth2.provider, device ? "device" : "authorization",
               device ? "oauth2-device-url" : "oauth2-auth-url",
               device ? "" : ", or sign in with --device");
      return TD_EXIT_USAGE;
    }
  return login (a, device, !no_browser);
}
