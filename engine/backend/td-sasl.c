/* td-sasl.c: one SASL client exchange (see td-sasl.h). */
#include "engine/backend/td-sasl.h"

#include <gsasl.h>
#include <string.h>

#include "engine/common/td-error.h"
#include "engine/common/td-secret.h"

/* A SCRAM exchange takes three rounds and the others fewer; a server that keeps asking is
 * stopped here. */
#define TD_SASL_MAX_STEPS 6

struct _TdSasl
{
  char *mechanism;
  Gsasl *ctx;              /* NULL for the bearer-token mechanisms */
  Gsasl_session *session;
  char *bearer;            /* XOAUTH2/OAUTHBEARER: the initial response, base64 */
  guint steps;
  gboolean done;           /* finished on our side; for SCRAM, the server proved itself */
  gboolean rejected;       /* the server answered a bearer token with an error report */
};

/**
 * td_sasl_offer_add:
 * @offer: the mechanisms seen so far
 * @name: a name from the server's capability list
 *
 * Notes a mechanism, upper-cased. A name that is not a valid mechanism name, a repeat, or
 * one past %TD_SASL_MAX_OFFERED is ignored.
 */
void
td_sasl_offer_add (TdSaslOffer *offer, const char *name)
{
  gsize len = strlen (name);

  if (len == 0 || len > TD_SASL_MAX_NAME || offer->count >= TD_SASL_MAX_OFFERED
      || td_sasl_offer_has (offer, name))
    return;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (name[i]) && name[i] != '-' && name[i] != '_')
      return;
  for (gsize i = 0; i <= len; i++)
    offer->names[offer->count][i] = g_ascii_toupper (name[i]);
  offer->count++;
}

gboolean
td_sasl_offer_has (const TdSaslOffer *offer, const char *name)
{
  for (guint i = 0; i < offer->count; i++)
    if (g_ascii_strcasecmp (offer->names[i], name) == 0)
      return TRUE;
  return FALSE;
}

static char *
offer_list (const TdSaslOffer *offer)
{
  GString *out = g_string_new (offer->count == 0 ? "none" : NULL);

  for (guint i = 0; i < offer->count; i++)
    g_string_append_printf (out, "%s%s", i > 0 ? " " : "", offer->names[i]);
  return g_string_free (out, FALSE);
}

static const char *
named_mechanism (TdAuthMethod auth)
{
  switch (auth)
    {
    case TD_AUTH_PLAIN:
      return "PLAIN";
    case TD_AUTH_SCRAM_SHA_256:
      return "SCRAM-SHA-256";
    case TD_AUTH_SCRAM_SHA_1:
      return "SCRAM-SHA-1";
    case TD_AUTH_CRAM_MD5:
      return "CRAM-MD5";
    case TD_AUTH_XOAUTH2:
      return "XOAUTH2";
    case TD_AUTH_OAUTHBEARER:
      return "OAUTHBEARER";
    case TD_AUTH_AUTO:
    case TD_AUTH_LOGIN:
    case TD_AUTH_APOP:
    default:
      return NULL;
    }
}

/**
 * td_sasl_choose:
 * @account: the account, for its `auth` setting
 * @offer: the SASL mechanisms the server offers
 * @mechanism: (out) (transfer none): the mechanism to use, or %NULL for the protocol's own
 *   plain-text login (IMAP LOGIN, POP3 USER and PASS)
 * @error: return location for a %TD_ERROR_AUTH or %TD_ERROR_CONFIG error
 *
 * `auth = auto` takes the strongest offered of SCRAM-SHA-256, SCRAM-SHA-1 and PLAIN, else
 * the plain-text login; `auth = login` the LOGIN mechanism when offered, else the plain-text
 * login. CRAM-MD5 and the token mechanisms are used only when named, and only
 * when offered; PLAIN is sent when named even if not announced, as some servers accept it
 * without saying so.
 *
 * Returns: %TRUE when a way to log in was chosen
 */
gboolean
td_sasl_choose (const TdAccountConfig *account, const TdSaslOffer *offer,
                const char **mechanism, GError **error)
{
  static const char *const strongest_first[] = { "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN" };
  const char *named = named_mechanism (account->auth);

  *mechanism = NULL;
  if (account->auth == TD_AUTH_AUTO)
    {
      for (guint i = 0; i < G_N_ELEMENTS (strongest_first); i++)
        if (td_sasl_offer_has (offer, strongest_first[i]))
          {
            *mechanism = strongest_first[i];
            break;
          }
      return TRUE;
    }
  /* "login": the LOGIN mechanism where offered, else the protocol's own login command. */
  if (account->auth == TD_AUTH_LOGIN)
    {
      if (td_sasl_offer_has (offer, "LOGIN"))
        *mechanism = "LOGIN";
      return TRUE;
    }
  if (named == NULL)
    {
      g_set_error (error, TD_ERROR, TD_ERROR_CONFIG, "account %s: auth = apop is for POP3 "
                   "accounts; use auth = auto", account->name);
      return FALSE;
    }
  if (account->auth != TD_AUTH_PLAIN && !td_sasl_offer_has (offer, named))
    {
      g_autofree char *list = offer_list (offer);
      g_set_error (error, TD_ERROR, TD_ERROR_AUTH, "account %s: the server does not offer %s "
                   "(it offers: %s), so nothing was sent; use auth = auto or one of those",
                   account->name, named, list);
      return FALSE;
    }
  *mechanism = named;
  return TRUE;
}

/* RFC 7628 section 3.1: a saslname escapes "," and "=". */
static void
append_saslname (GString *out, const char *name)
{
  for (const char *p = name; *p != '\0'; p++)
    {
      if (*p == ',')
        g_string_append (out, "=2C");
      else if (*p == '=')
        g_string_append (out, "=3D");
      else
        g_string_append_c (out, *p);
    }
}

static char *
bearer_message (const char *mechanism, const char *user, const char *token, const char *host,
                guint16 port)
{
  GString *raw = g_string_new (NULL);

  if (g_str_equal (mechanism, "XOAUTH2"))
    g_string_append_printf (raw, "user=%s\001auth=Bearer %s\001\001", user, token);
  else
    {
      g_string_append (raw, "n,a=");
      append_saslname (raw, user);
      g_string_append_printf (raw, ",\001host=%s\001port=%u\001auth=Bearer %s\001\001", host,
                              port, token);
    }
  char *b64 = g_base64_encode ((const guint8 *) raw->str, raw->len);
  explicit_bzero (raw->str, raw->len);
  g_string_free (raw, TRUE);
  return b64;
}

static void
wipe_property (Gsasl_session *session, Gsasl_property property)
{
  const char *value = gsasl_property_fast (session, property);
  if (value != NULL)
    explicit_bzero ((char *) value, strlen (value));
}

/**
 * td_sasl_new:
 * @mechanism: a mechanism td_sasl_choose() returned
 * @user: the authentication identity
 * @secret: the password, or the access token for XOAUTH2 and OAUTHBEARER
 * @host: the server's name (OAUTHBEARER sends it)
 * @port: the server's port (OAUTHBEARER sends it)
 * @error: return location for a %TD_ERROR_AUTH error
 *
 * Returns: (transfer full) (nullable): the exchange; free it with td_sasl_free()
 */
TdSasl *
td_sasl_new (const char *mechanism, const char *user, const char *secret, const char *host,
             guint16 port, GError **error)
{
  g_autoptr (TdSasl) self = g_new0 (TdSasl, 1);
  int rc;

  self->mechanism = g_strdup (mechanism);
  if (g_str_equal (mechanism, "XOAUTH2") || g_str_equal (mechanism, "OAUTHBEARER"))
    {
      self->bearer = bearer_message (mechanism, user, secret, host, port);
      return g_steal_pointer (&self);
    }
  if ((rc = gsasl_init (&self->ctx)) != GSASL_OK
      || (rc = gsasl_client_start (self->ctx, mechanism, &self->session)) != GSASL_OK
      || (rc = gsasl_property_set (self->session, GSASL_AUTHID, user)) != GSASL_OK
      || (rc = gsasl_property_set (self->session, GSASL_PASSWORD, secret)) != GSASL_OK)
    {
      g_set_error (error, TD_ERROR, TD_ERROR_AUTH, "cannot start SASL %s: %s", mechanism,
                   gsasl_strerror (rc));
      return NULL;
    }
  return g_steal_pointer (&self);
}

const char *
td_sasl_get_mechanism (TdSasl *self)
{
  return self->mechanism;
}

/**
 * td_sasl_has_initial_response:
 * @self: an exchange
 *
 * Returns: %TRUE when the client speaks first (PLAIN, SCRAM, the token mechanisms; not
 *   CRAM-MD5 or LOGIN), so the
 *   first message can go with the command itself (IMAP SASL-IR, POP3 AUTH's argument)
 */
gboolean
td_sasl_has_initial_response (TdSasl *self)
{
  return !g_str_equal (self->mechanism, "CRAM-MD5") && !g_str_equal (self->mechanism, "LOGIN");
}

static char *
bearer_step (TdSasl *self)
{
  if (!self->done)
    {
      self->done = TRUE;
      return g_strdup (self->bearer);
    }
  /* A challenge after the token is the server's error report (RFC 7628 section 3.2.2): the
   * client answers with an empty message (XOAUTH2) or a lone 0x01, and the server fails. */
  self->rejected = TRUE;
  return g_strdup (g_str_equal (self->mechanism, "XOAUTH2") ? "" : "AQ==");
}

static gboolean
is_scram_error (const char *challenge)
{
  gsize len = 0;
  g_autofree guchar *raw = g_base64_decode (challenge, &len);
  return len >= 2 && raw[0] == 'e' && raw[1] == '=';
}

static GError *
step_error (TdSasl *self, const char *challenge, int rc)
{
  if (rc == GSASL_AUTHENTICATION_ERROR && g_str_has_prefix (self->mechanism, "SCRAM")
      && is_scram_error (challenge))
    return g_error_new (TD_ERROR, TD_ERROR_AUTH, "the server refused the credentials during "
                        "%s", self->mechanism);
  if (rc == GSASL_AUTHENTICATION_ERROR)
    return g_error_new (TD_ERROR, TD_ERROR_TLS, "the server did not prove that it knows the "
                        "password (its %s signature is wrong), so it may not be the server it "
                        "claims to be; the login was abandoned", self->mechanism);
  return g_error_new (TD_ERROR, TD_ERROR_PROTOCOL, "the server's %s message cannot be used (%s)",
                      self->mechanism, gsasl_strerror (rc));
}

/**
 * td_sasl_step:
 * @self: an exchange
 * @challenge: (nullable): the server's message, base64; %NULL for the initial response
 * @error: return location for an error: %TD_ERROR_TLS when the server failed to prove
 *   itself, %TD_ERROR_PROTOCOL for a message that makes no sense
 *
 * Returns: (transfer full) (nullable): the client's answer, base64 (possibly empty); free it
 *   with td_secret_free()
 */
char *
td_sasl_step (TdSasl *self, const char *challenge, GError **error)
{
  char *out = NULL;

  if (++self->steps > TD_SASL_MAX_STEPS || (self->done && self->session != NULL))
    {
      g_set_error (error, TD_ERROR, TD_ERROR_PROTOCOL, "the server asked for more %s rounds "
                   "than the mechanism has", self->mechanism);
      return NULL;
    }
  if (self->bearer != NULL)
    return bearer_step (self);
  int rc = gsasl_step64 (self->session, challenge != NULL ? challenge : "", &out);
  if (rc != GSASL_OK && rc != GSASL_NEEDS_MORE)
    {
      gsasl_free (out);
      g_propagate_error (error, step_error (self, challenge != NULL ? challenge : "", rc));
      return NULL;
    }
  self->done = rc == GSASL_OK;
  char *answer = g_strdup (out != NULL ? out : "");
  if (out != NULL)
    explicit_bzero (out, strlen (out));
  gsasl_free (out);
  return answer;
}

/**
 * td_sasl_check_success:
 * @self: an exchange
 * @error: return location for a %TD_ERROR_TLS error
 *
 * To be called when the server reports success. Success is believed only once the exchange
 * finished on this side: with SCRAM that means the server's signature checked out, so a
 * server that says "OK" without proving it knows the password is refused.
 *
 * Returns: %TRUE when the login can be trusted
 */
gboolean
td_sasl_check_success (TdSasl *self, GError **error)
{
  if (self->done)
    return TRUE;
  g_set_error (error, TD_ERROR, TD_ERROR_TLS, "the server accepted the %s login without "
               "proving that it knows the password, so it may not be the server it claims to "
               "be; refusing it", self->mechanism);
  return FALSE;
}

/**
 * td_sasl_uses_token:
 * @self: an exchange
 *
 * Returns: %TRUE for the mechanisms that send an OAuth2 access token instead of a password
 */
gboolean
td_sasl_uses_token (TdSasl *self)
{
  return self->bearer != NULL;
}

/**
 * td_sasl_get_rejected:
 * @self: an exchange
 *
 * Returns: %TRUE when the server answered an access token with an error report (it expired,
 *   or was revoked): a fresh token may help
 */
gboolean
td_sasl_get_rejected (TdSasl *self)
{
  return self->rejected;
}

void
td_sasl_free (TdSasl *self)
{
  if (self == NULL)
    return;
  if (self->session != NULL)
    {
      /* GNU SASL frees its copies without clearing them. */
      wipe_property (self->session, GSASL_PASSWORD);
      wipe_property (self->session, GSASL_SCRAM_SALTED_PASSWORD);
      gsasl_finish (self->session);
    }
  if (self->ctx != NULL)
    gsasl_done (self->ctx);
  td_secret_free (self->bearer);
  g_free (self->mechanism);
  g_free (self);
}
