/* test-sasl.c: the SASL client: which mechanism is chosen, SCRAM against GNU SASL's server
 * side (the signature check included), and the bearer-token messages. */
#include <gsasl.h>
#include <string.h>

#include "engine/common/td-error.h"
#include "engine/backend/td-sasl.h"
#include "engine/common/td-secret.h"

#define USER "alice"
#define PASSWORD "p\"ass 'wörd€"

static TdSaslOffer
offer_of (const char *names)
{
  TdSaslOffer offer = { 0 };
  g_auto (GStrv) words = g_strsplit (names, " ", 0);
  for (guint i = 0; words[i] != NULL; i++)
    if (*words[i] != '\0')
      td_sasl_offer_add (&offer, words[i]);
  return offer;
}

static const char *
choose (TdAuthMethod auth, const char *offered, GError **error)
{
  TdAccountConfig account = { .name = (char *) "t", .auth = auth };
  TdSaslOffer offer = offer_of (offered);
  const char *mechanism = "unset";

  if (!td_sasl_choose (&account, &offer, &mechanism, error))
    return "refused";
  return mechanism != NULL ? mechanism : "login command";
}

static void
test_choose_auto (void)
{
  g_assert_cmpstr (choose (TD_AUTH_AUTO, "PLAIN LOGIN SCRAM-SHA-1 SCRAM-SHA-256 CRAM-MD5", NULL),
                   ==, "SCRAM-SHA-256");
  g_assert_cmpstr (choose (TD_AUTH_AUTO, "plain scram-sha-1", NULL), ==, "SCRAM-SHA-1");
  g_assert_cmpstr (choose (TD_AUTH_AUTO, "LOGIN PLAIN", NULL), ==, "PLAIN");
  /* CRAM-MD5 and the token mechanisms are never picked unasked. */
  g_assert_cmpstr (choose (TD_AUTH_AUTO, "CRAM-MD5 XOAUTH2 OAUTHBEARER", NULL), ==,
                   "login command");
  g_assert_cmpstr (choose (TD_AUTH_AUTO, "", NULL), ==, "login command");
}

static void
test_choose_named (void)
{
  g_autoptr (GError) error = NULL;

  g_assert_cmpstr (choose (TD_AUTH_CRAM_MD5, "PLAIN CRAM-MD5", NULL), ==, "CRAM-MD5");
  g_assert_cmpstr (choose (TD_AUTH_OAUTHBEARER, "XOAUTH2 OAUTHBEARER", NULL), ==, "OAUTHBEARER");
  g_assert_cmpstr (choose (TD_AUTH_LOGIN, "PLAIN SCRAM-SHA-256", NULL), ==, "login command");
  g_assert_cmpstr (choose (TD_AUTH_LOGIN, "PLAIN LOGIN", NULL), ==, "LOGIN");
  /* PLAIN is sent when asked for, announced or not. */
  g_assert_cmpstr (choose (TD_AUTH_PLAIN, "", NULL), ==, "PLAIN");
  g_assert_cmpstr (choose (TD_AUTH_SCRAM_SHA_256, "PLAIN SCRAM-SHA-1", &error), ==, "refused");
  g_assert_error (error, TD_ERROR, TD_ERROR_AUTH);
  g_assert_nonnull (strstr (error->message, "it offers: PLAIN SCRAM-SHA-1"));
}

static void
test_offer_bounds (void)
{
  TdSaslOffer offer = offer_of ("PLAIN plain BAD/NAME AAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAA");
  g_assert_cmpuint (offer.count, ==, 2); /* a repeat, a bad character and 21 characters dropped */
  g_assert_true (td_sasl_offer_has (&offer, "PLAIN"));
  g_assert_true (td_sasl_offer_has (&offer, "AAAAAAAAAAAAAAAAAAAA"));
  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *name = g_strdup_printf ("X-%u", i);
      td_sasl_offer_add (&offer, name);
    }
  g_assert_cmpuint (offer.count, ==, TD_SASL_MAX_OFFERED);
}

/* The server side of an exchange, through GNU SASL. */
typedef struct
{
  Gsasl *ctx;
  Gsasl_session *session;
  const char *password;
} Server;

static int
server_callback (Gsasl *ctx, Gsasl_session *session, Gsasl_property prop)
{
  Server *server = gsasl_callback_hook_get (ctx);
  if (prop == GSASL_PASSWORD)
    return gsasl_property_set (session, GSASL_PASSWORD, server->password);
  return GSASL_NO_CALLBACK;
}

static void
server_start (Server *server, const char *mechanism, const char *password)
{
  server->password = password;
  g_assert_cmpint (gsasl_init (&server->ctx), ==, GSASL_OK);
  gsasl_callback_hook_set (server->ctx, server);
  gsasl_callback_set (server->ctx, server_callback);
  g_assert_cmpint (gsasl_server_start (server->ctx, mechanism, &server->session), ==, GSASL_OK);
}

static void
server_stop (Server *server)
{
  gsasl_finish (server->session);
  gsasl_done (server->ctx);
}

/* The server's answer to a client message: its return code, and its message in *out. */
static int
server_step (Server *server, const char *in, char **out)
{
  char *raw = NULL;
  int rc = gsasl_step64 (server->session, in, &raw);
  *out = g_strdup (raw != NULL ? raw : "");
  gsasl_free (raw);
  return rc;
}

/* Client-first SCRAM: client-first, server-first, client-final, server-final. The server's
 * last message is passed through @tamper before the client sees it. */
static TdSasl *
scram_exchange (const char *mechanism, const char *server_password,
                void (*tamper) (char **final), int *server_rc, GError **error)
{
  Server server;
  g_autoptr (TdSasl) client = td_sasl_new (mechanism, USER, PASSWORD, "localhost", 143, error);
  g_autofree char *first = NULL, *server_first = NULL, *final = NULL, *server_final = NULL;
  g_autofree char *last = NULL;

  g_assert_nonnull (client);
  g_assert_true (td_sasl_has_initial_response (client));
  server_start (&server, mechanism, server_password);
  first = td_sasl_step (client, NULL, error);
  g_assert_nonnull (first);
  g_assert_cmpint (server_step (&server, first, &server_first), ==, GSASL_NEEDS_MORE);
  final = td_sasl_step (client, server_first, error);
  g_assert_nonnull (final);
  *server_rc = server_step (&server, final, &server_final);
  server_stop (&server);
  if (*server_rc != GSASL_OK)
    return g_steal_pointer (&client);
  if (tamper != NULL)
    tamper (&server_final);
  last = td_sasl_step (client, server_final, error);
  if (last != NULL)
    g_assert_cmpstr (last, ==, "");
  return g_steal_pointer (&client);
}

static void
test_scram (gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  int server_rc = -1;
  g_autoptr (TdSasl) client = scram_exchange (data, PASSWORD, NULL, &server_rc, &error);

  g_assert_cmpint (server_rc, ==, GSASL_OK);
  g_assert_no_error (error);
  g_assert_true (td_sasl_check_success (client, &error));
}

static void
test_scram_wrong_password (void)
{
  g_autoptr (GError) error = NULL;
  int server_rc = -1;
  g_autoptr (TdSasl) client = scram_exchange ("SCRAM-SHA-256", "another", NULL, &server_rc,
                                              &error);
  g_assert_cmpint (server_rc, ==, GSASL_AUTHENTICATION_ERROR);
}

/* The server signature "v=..." with one character changed. */
static void
flip_signature (char **final)
{
  gsize len = 0;
  g_autofree guchar *raw = g_base64_decode (*final, &len);
  g_assert_true (len > 4 && raw[0] == 'v' && raw[1] == '=');
  raw[2] = raw[2] == 'A' ? 'B' : 'A';
  g_free (*final);
  *final = g_base64_encode (raw, len);
}

static void
test_scram_forged_signature (void)
{
  g_autoptr (GError) error = NULL;
  int server_rc = -1;
  g_autoptr (TdSasl) client = scram_exchange ("SCRAM-SHA-256", PASSWORD, flip_signature,
                                              &server_rc, &error);
  g_assert_cmpint (server_rc, ==, GSASL_OK);
  g_assert_error (error, TD_ERROR, TD_ERROR_TLS);
  g_clear_error (&error);
  g_assert_false (td_sasl_check_success (client, &error));
}

/* A server that says OK before sending its signature has not proved anything. */
static void
test_scram_success_without_signature (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TdSasl) client = td_sasl_new ("SCRAM-SHA-1", USER, PASSWORD, "h", 1, &error);
  Server server;
  g_autofree char *first = td_sasl_step (client, NULL, &error);
  g_autofree char *server_first = NULL;

  server_start (&server, "SCRAM-SHA-1", PASSWORD);
  g_assert_cmpint (server_step (&server, first, &server_first), ==, GSASL_NEEDS_MORE);
  server_stop (&server);
  g_autofree char *final = td_sasl_step (client, server_first, &error);
  g_assert_nonnull (final);
  g_assert_false (td_sasl_check_success (client, &error));
  g_assert_error (error, TD_ERROR, TD_ERROR_TLS);
}

static void
test_cram_md5 (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TdSasl) client = td_sasl_new ("CRAM-MD5", USER, PASSWORD, "h", 1, &error);
  Server server;
  g_autofree char *challenge = NULL, *done = NULL;

  g_assert_false (td_sasl_has_initial_response (client));
  server_start (&server, "CRAM-MD5", PASSWORD);
  g_assert_cmpint (server_step (&server, "", &challenge), ==, GSASL_NEEDS_MORE);
  g_autofree char *answer = td_sasl_step (client, challenge, &error);
  g_assert_no_error (error);
  g_assert_cmpint (server_step (&server, answer, &done), ==, GSASL_OK);
  server_stop (&server);
  g_assert_true (td_sasl_check_success (client, &error));
}

static char *
decoded (const char *b64)
{
  gsize len = 0;
  guchar *raw = g_base64_decode (b64, &len);
  char *text = g_strndup ((const char *) raw, len);
  g_free (raw);
  return text;
}

static void
test_bearer (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TdSasl) x = td_sasl_new ("XOAUTH2", "a@example.org", "tok3n", "h", 993, &error);
  g_autoptr (TdSasl) o = td_sasl_new ("OAUTHBEARER", "a,b=c", "tok3n", "imap.example.org", 993,
                                      &error);
  g_autofree char *xb = td_sasl_step (x, NULL, &error), *ob = td_sasl_step (o, NULL, &error);
  g_autofree char *xs = decoded (xb), *os = decoded (ob);

  g_assert_cmpstr (xs, ==, "user=a@example.org\001auth=Bearer tok3n\001\001");
  g_assert_cmpstr (os, ==, "n,a=a=2Cb=3Dc,\001host=imap.example.org\001port=993\001"
                           "auth=Bearer tok3n\001\001");
  g_assert_false (td_sasl_get_rejected (o));
  /* The server's error report is answered so that it can fail the exchange. */
  g_autofree char *report = g_base64_encode ((const guchar *) "{\"status\":\"invalid_token\"}", 26);
  g_autofree char *xr = td_sasl_step (x, report, &error), *orr = td_sasl_step (o, report, &error);
  g_assert_cmpstr (xr, ==, "");
  g_assert_cmpstr (orr, ==, "AQ==");
  g_assert_true (td_sasl_get_rejected (x));
  g_assert_true (td_sasl_get_rejected (o));
}

/* A server that keeps challenging is stopped. */
static void
test_too_many_rounds (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TdSasl) x = td_sasl_new ("XOAUTH2", "a", "t", "h", 1, &error);
  char *answer = NULL;
  guint rounds = 0;

  while ((answer = td_sasl_step (x, "", &error)) != NULL && rounds < 100)
    {
      td_secret_free (answer);
      rounds++;
    }
  g_assert_cmpuint (rounds, <, 10);
  g_assert_error (error, TD_ERROR, TD_ERROR_PROTOCOL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/sasl/choose/auto", test_choose_auto);
  g_test_add_func ("/sasl/choose/named", test_choose_named);
  g_test_add_func ("/sasl/offer/bounds", test_offer_bounds);
  g_test_add_data_func ("/sasl/scram-sha-256", "SCRAM-SHA-256", test_scram);
  g_test_add_data_func ("/sasl/scram-sha-1", "SCRAM-SHA-1", test_scram);
  g_test_add_func ("/sasl/scram/wrong-password", test_scram_wrong_password);
  g_test_add_func ("/sasl/scram/forged-signature", test_scram_forged_signature);
  g_test_add_func ("/sasl/scram/success-without-signature", test_scram_success_without_signature);
  g_test_add_func ("/sasl/cram-md5", test_cram_md5);
  g_test_add_func ("/sasl/bearer", test_bearer);
  g_test_add_func ("/sasl/too-many-rounds", test_too_many_rounds);
  return g_test_run ();
}
