/* td-secret.h: handling a credential in memory: cleared when freed, and encoded for SASL
 * without leaving copies behind. Any thread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void td_secret_free (char *secret);
char *td_sasl_plain_encode (const char *user, const char *secret);

G_END_DECLS
