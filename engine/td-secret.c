/* td-secret.c: credentials in memory (see td-secret.h). */
#include "td-secret.h"

#include <string.h>

/**
 * td_secret_free:
 * @secret: (nullable): a string that held a credential
 *
 * Clears the string's bytes, then frees it.
 */
void
td_secret_free (char *secret)
{
  if (secret == NULL)
    return;
  explicit_bzero (secret, strlen (secret));
  g_free (secret);
}

/**
 * td_sasl_plain_encode:
 * @user: the authentication identity
 * @secret: the password
 *
 * The SASL PLAIN message (RFC 4616: no authorization identity, the user, the password, each
 * after a NUL), base64-encoded; the raw message is cleared.
 *
 * Returns: (transfer full): the encoded message; free it with td_secret_free()
 */
char *
td_sasl_plain_encode (const char *user, const char *secret)
{
  gsize ulen = strlen (user), slen = strlen (secret);
  guint8 *raw = g_malloc (ulen + slen + 2);

  raw[0] = '\0';
  memcpy (raw + 1, user, ulen);
  raw[1 + ulen] = '\0';
  memcpy (raw + 2 + ulen, secret, slen);
  char *b64 = g_base64_encode (raw, ulen + slen + 2);
  explicit_bzero (raw, ulen + slen + 2);
  g_free (raw);
  return b64;
}
