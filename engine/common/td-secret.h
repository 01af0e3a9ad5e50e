/* td-secret.h: handling a credential in memory: cleared when freed. Any thread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void td_secret_free (char *secret);

G_END_DECLS
