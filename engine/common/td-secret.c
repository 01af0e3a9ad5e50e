/* td-secret.c: credentials in memory (see td-secret.h). */
#include "engine/common/td-secret.h"

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
