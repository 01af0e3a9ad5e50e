/* td-config.h: the user's configuration, parsed and validated in full before any network or
 * disk work. Immutable once loaded; accounts are reference-counted so backends and the
 * runner can hold them. Any thread may read a loaded configuration.
 */
#pragma once

#include <glib.h>

#include "engine/common/td-types.h"

G_BEGIN_DECLS

/* `connections`: how many connections a sync may open to one server for a big download.
 * Three is what mail clients commonly keep and well inside what servers allow a user
 * (Dovecot 10 per user and address, Gmail 15); a server that allows fewer gets fewer. */
#define TD_DEFAULT_CONNECTIONS 3
#define TD_MAX_CONNECTIONS 16

typedef enum
{
  TD_SECURITY_TLS,
  TD_SECURITY_STARTTLS,
  TD_SECURITY_NONE,
} TdSecurity;

typedef enum
{
  TD_DIRECTION_BOTH,
  TD_DIRECTION_PULL,
  TD_DIRECTION_PUSH,
  TD_DIRECTION_NONE,
} TdDirection;

typedef enum
{
  TD_AUTH_AUTO,
  TD_AUTH_PLAIN,
  TD_AUTH_LOGIN,
  TD_AUTH_SCRAM_SHA_256,
  TD_AUTH_SCRAM_SHA_1,
  TD_AUTH_CRAM_MD5,
  TD_AUTH_APOP,
  TD_AUTH_XOAUTH2,
  TD_AUTH_OAUTHBEARER,
} TdAuthMethod;

/* OAuth2 sign-in without a helper (`tidings oauth2 login`, td-oauth2.h): the provider's
 * endpoints, from a preset (google, microsoft) or the oauth2-*-url keys. */
typedef struct
{
  char *provider;       /* "google", "microsoft" or "custom", for messages */
  char *client_id;      /* nullable: no built-in sign-in */
  char *client_secret;  /* nullable; a secret: never logged, cleared when freed */
  char *auth_url;       /* nullable: the authorization endpoint (RFC 6749) */
  char *token_url;
  char *device_url;     /* nullable: the device authorization endpoint (RFC 8628) */
  char *scope;
} TdOAuth2Settings;

typedef struct
{
  char *name;         /* the account id: the part after "account " in the group name */
  char *config_file;  /* where it was defined, for messages */
  char *protocol;
  guint protocol_line;  /* where protocol is set in config_file, for messages */
  char *host;                    /* "tunnel" with @tunnel_command and no host set */
  char **tunnel_command;         /* argv: IMAP over its stdin and stdout, nullable */
  guint16 port;
  TdSecurity security;
  gboolean allow_insecure_auth;
  char *user;
  TdAuthMethod auth;
  char *password;           /* inline secret, nullable; never logged */
  char **password_command;  /* argv, nullable */
  char **oauth2_token_command;
  char *tls_ca_file;
  GBytes *tls_fingerprint;  /* SHA-256 of the DER certificate, nullable */
  char *maildir;
  TdFolderLayout layout;
  char *inbox;                   /* nullable: INBOX's own Maildir, apart from the layout's */
  char *mbsync_state;            /* nullable: mbsync's state files, "{}" for a folder's name */
  char **folders;
  char **exclude;
  char *trash;                   /* nullable: deletions go to this folder ("": the server's
                                    \Trash) rather than being expunged */
  TdDirection sync;
  TdDirection deletes;
  char **watch;
  gboolean keep_on_server;
  guint delete_after_days;
  guint timeout_seconds;
  guint command_timeout_seconds; /* password-command, oauth2-token-command */
  guint connections;             /* at most this many connections to the server at once */
  guint poll_interval_seconds;   /* daemon: how often to sync without push */
  gboolean notify;               /* daemon: desktop notices of new mail */
  char **mail_reader_command;    /* daemon: argv a notice's click runs, nullable */
  guint64 max_size;              /* bigger messages are left on the server; 0: no limit */
  guint max_age_days;            /* older messages (INTERNALDATE) are left there; 0: no limit */
  char **post_sync_command;      /* argv run after each sync (td-hooks.h), nullable */
  char **new_mail_command;       /* argv run after a sync that downloaded mail, nullable */
  gboolean sync_when_metered;    /* daemon: sync by itself on a metered network too */
  char *goa_id;                  /* nullable: the GNOME Online Accounts account whose password
                                    or access token it logs in with (`goa-account`) */
  char *definition;              /* a digest of the keys that define it (and of [general]):
                                    equal digests, the same account */
  TdOAuth2Settings oauth2;       /* its built-in OAuth2 sign-in, when client_id is set */
} TdAccountConfig;

typedef struct
{
  char *path;
  char *maildir_root;
  char *state_dir;
  GPtrArray *accounts; /* TdAccountConfig, in file order */
  GPtrArray *warnings; /* char*, things the user should know that do not stop a sync */
  gboolean goa;        /* [general] goa: GNOME Online Accounts' mail accounts are accounts */
} TdConfig;

TdConfig *td_config_load (const char *path, GError **error);
char *td_config_read (const char *path, GError **error);
TdConfig *td_config_load_from_data (const char *data, const char *path, GError **error);
TdConfig *td_config_load_merged (const char *data, const char *path, GKeyFile *provided,
                                 const char *provider, GError **error);
void td_config_free (TdConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdConfig, td_config_free)

char *td_config_default_path (void);
TdAccountConfig *td_config_find_account (TdConfig *config, const char *name);

gboolean td_account_config_uses_token (const TdAccountConfig *account);
gboolean td_account_config_signs_in_itself (const TdAccountConfig *account);
char *td_account_config_token_advice (const TdAccountConfig *account);
TdAccountConfig *td_account_config_ref (TdAccountConfig *account);
void td_account_config_unref (TdAccountConfig *account);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdAccountConfig, td_account_config_unref)

gboolean td_account_config_wants_folder (const TdAccountConfig *account, const char *name);
gboolean td_folder_patterns_name (char *const *patterns, const char *name);
gboolean td_folder_pattern_matches (const char *pattern, const char *name);
char *td_folder_pattern_miss (const char *pattern, const char *const *names, const char *where);
const char *td_security_to_string (TdSecurity security);

G_END_DECLS
