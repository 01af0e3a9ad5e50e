/* td-sasl.h: the client side of one SASL exchange (RFC 4422) for a login, and the choice of
 * mechanism. SCRAM-SHA-256, SCRAM-SHA-1, PLAIN and CRAM-MD5 go through GNU SASL; the bearer
 * token mechanisms XOAUTH2 and OAUTHBEARER (RFC 7628), which it lacks, are written here, as
 * they are plain formatting with no cryptography. Protocol-neutral: the IMAP and POP3 logins
 * carry the base64 messages. Every buffer that held a credential is cleared when freed.
 * One exchange per login, on the main loop thread.
 */
#pragma once

#include <glib.h>

#include "engine/common/td-config.h"

G_BEGIN_DECLS

typedef struct _TdSasl TdSasl;

/* RFC 4422 section 3.1: a mechanism name is 1 to 20 of A-Z, 0-9, "-" and "_". */
#define TD_SASL_MAX_NAME 20
/* Names a server offers beyond this many are ignored. */
#define TD_SASL_MAX_OFFERED 32

/* The mechanisms a server offers, as plain data: it can be zeroed with the rest of a
 * capability struct and needs no freeing. */
typedef struct
{
  guint count;
  char names[TD_SASL_MAX_OFFERED][TD_SASL_MAX_NAME + 1];
} TdSaslOffer;

void td_sasl_offer_add (TdSaslOffer *offer, const char *name);
gboolean td_sasl_offer_has (const TdSaslOffer *offer, const char *name);

gboolean td_sasl_choose (const TdAccountConfig *account, const TdSaslOffer *offer,
                         const char **mechanism, GError **error);

TdSasl *td_sasl_new (const char *mechanism, const char *user, const char *secret,
                     const char *host, guint16 port, GError **error);
const char *td_sasl_get_mechanism (TdSasl *self);
gboolean td_sasl_has_initial_response (TdSasl *self);
char *td_sasl_step (TdSasl *self, const char *challenge, GError **error);
gboolean td_sasl_check_success (TdSasl *self, GError **error);
gboolean td_sasl_uses_token (TdSasl *self);
gboolean td_sasl_get_rejected (TdSasl *self);
void td_sasl_free (TdSasl *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdSasl, td_sasl_free)

G_END_DECLS
