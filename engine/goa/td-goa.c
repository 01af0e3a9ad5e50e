/* td-goa.c: GNOME Online Accounts' mail accounts as Tidings accounts (see td-goa.h). */
#define GOA_API_IS_SUBJECT_TO_CHANGE
#include "engine/goa/td-goa.h"

#include <goa/goa.h>
#include <string.h>

#include "engine/common/td-error.h"
#include "engine/common/td-secret.h"

#define ACCOUNT_GROUP "account "

/* Accounts */

static int
compare_ids (gconstpointer a, gconstpointer b)
{
  GoaAccount *x = goa_object_peek_account (GOA_OBJECT (*(GoaObject *const *) a));
  GoaAccount *y = goa_object_peek_account (GOA_OBJECT (*(GoaObject *const *) b));
  return g_strcmp0 (goa_account_get_id (x), goa_account_get_id (y));
}

/* The account's name: the address Settings shows where it makes a usable name, else the GOA
 * id; one a GOA account of an older id already took gets its id appended. */
static char *
account_name (GoaAccount *account, GHashTable *taken)
{
  const char *shown = goa_account_get_presentation_identity (account);
  const char *id = goa_account_get_id (account);
  char *name = shown != NULL && g_regex_match_simple ("^[A-Za-z0-9][A-Za-z0-9._@+-]{0,40}$",
                                                       shown, 0, 0)
                 ? g_strdup (shown)
                 : g_strdup (id);

  if (g_hash_table_contains (taken, name))
    {
      char *longer = g_strdup_printf ("%.40s-%.22s", name, id);
      g_free (name);
      name = longer;
    }
  g_hash_table_add (taken, g_strdup (name));
  return name;
}

/* Whether the file sets @key in @group itself. */
static gboolean
file_has (GKeyFile *file, const char *group, const char *key)
{
  return file != NULL && g_key_file_has_key (file, group, key, NULL);
}

/* Adds @object's group to @out, or says in @warnings why it cannot be an account. */
static void
add_account (GKeyFile *out, GoaObject *object, const char *name, GKeyFile *file,
             GPtrArray *warnings)
{
  GoaAccount *account = goa_object_peek_account (object);
  GoaMail *mail = goa_object_peek_mail (object);
  g_autofree char *group = g_strconcat (ACCOUNT_GROUP, name, NULL);
  gboolean ssl = goa_mail_get_imap_use_ssl (mail);
  const char *security = ssl ? "tls" : goa_mail_get_imap_use_tls (mail) ? "starttls" : "none";
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnectable) address = NULL;
  const char *host_port = goa_mail_get_imap_host (mail);

  if (host_port == NULL || *host_port == '\0'
      || (address = g_network_address_parse (host_port, ssl ? 993 : 143, &error)) == NULL)
    {
      g_ptr_array_add (warnings,
                       g_strdup_printf (TD_GOA_PROVIDER " account %s (%s) has no usable IMAP "
                                        "server (“%s”): left out; fix it in Settings → Online "
                                        "Accounts", name, goa_account_get_id (account),
                                        host_port ? host_port : ""));
      return;
    }
  if (g_str_equal (security, "none") && !file_has (file, group, "security"))
    {
      g_ptr_array_add (warnings,
                       g_strdup_printf (TD_GOA_PROVIDER " account %s reaches its IMAP server "
                                        "without encryption, and Tidings does not send a "
                                        "password in clear text: left out. Turn on encryption "
                                        "in Settings → Online Accounts, or set security in "
                                        "[account %s]", name, name));
      return;
    }
  if (goa_mail_get_imap_accept_ssl_errors (mail) && !file_has (file, group, "tls-ca-file")
      && !file_has (file, group, "tls-fingerprint"))
    g_ptr_array_add (warnings,
                     g_strdup_printf (TD_GOA_PROVIDER " accepts any certificate from the "
                                      "server of account %s; Tidings checks it, and refuses one "
                                      "it cannot trust: if the server's certificate is its own, "
                                      "set tls-fingerprint or tls-ca-file in [account %s]",
                                      name, name));
  g_autofree char *port = g_strdup_printf ("%u", g_network_address_get_port (
                                                   G_NETWORK_ADDRESS (address)));
  g_key_file_set_value (out, group, "protocol", "imap");
  g_key_file_set_value (out, group, "host",
                        g_network_address_get_hostname (G_NETWORK_ADDRESS (address)));
  g_key_file_set_value (out, group, "port", port);
  g_key_file_set_value (out, group, "security", security);
  if (goa_mail_get_imap_user_name (mail) != NULL)
    g_key_file_set_value (out, group, "user", goa_mail_get_imap_user_name (mail));
  g_key_file_set_value (out, group, "goa-account", goa_account_get_id (account));
  if (goa_object_peek_oauth2_based (object) != NULL)
    g_key_file_set_value (out, group, "auth", "xoauth2");
}

/**
 * td_goa_accounts:
 * @manager: GOA's object manager (goa_client_get_object_manager())
 * @file: (nullable): the configuration file as read, for the keys it overrides
 * @warnings: (element-type utf8): where to say why a GOA account is left out
 *
 * Returns: (transfer full): an `[account NAME]` group for each GOA account with Mail
 *   enabled and IMAP, in the order of their GOA ids (the oldest first)
 */
GKeyFile *
td_goa_accounts (GDBusObjectManager *manager, GKeyFile *file, GPtrArray *warnings)
{
  GKeyFile *out = g_key_file_new ();
  g_autolist (GDBusObject) objects = g_dbus_object_manager_get_objects (manager);
  g_autoptr (GPtrArray) mail = g_ptr_array_new ();
  g_autoptr (GHashTable) taken = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (GList *l = objects; l != NULL; l = l->next)
    {
      GoaObject *object = GOA_OBJECT (l->data);
      GoaAccount *account = goa_object_peek_account (object);
      GoaMail *m = goa_object_peek_mail (object);
      if (account != NULL && m != NULL && !goa_account_get_mail_disabled (account)
          && goa_mail_get_imap_supported (m))
        g_ptr_array_add (mail, object);
    }
  g_ptr_array_sort (mail, compare_ids);
  for (guint i = 0; i < mail->len; i++)
    {
      GoaObject *object = g_ptr_array_index (mail, i);
      g_autofree char *name = account_name (goa_object_peek_account (object), taken);
      add_account (out, object, name, file, warnings);
    }
  return out;
}

/* Loads @data (the file at @path), with @manager's accounts when it says goa = true; a NULL
 * @manager is GOA that cannot be reached, for @why. */
static TdConfig *
load_with (const char *path, const char *data, GDBusObjectManager *manager, const char *why,
           GError **error)
{
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GKeyFile) provided = NULL;

  /* Whether to ask GOA at all; a file that does not parse is reported by the full load. */
  if (!g_key_file_load_from_data (file, data, -1, G_KEY_FILE_NONE, NULL)
      || !g_key_file_get_boolean (file, "general", "goa", NULL))
    return td_config_load_from_data (data, path, error);
  if (manager != NULL)
    provided = td_goa_accounts (manager, file, warnings);
  else
    g_ptr_array_add (warnings,
                     g_strdup_printf ("%s: goa = true, but " TD_GOA_PROVIDER " cannot be "
                                      "reached (%s): only the accounts of the file sync",
                                      path, why));
  TdConfig *config = td_config_load_merged (data, path, provided, TD_GOA_PROVIDER, error);
  for (guint i = 0; config != NULL && i < warnings->len; i++)
    g_ptr_array_add (config->warnings, g_strdup (g_ptr_array_index (warnings, i)));
  return config;
}

/**
 * td_goa_config_load:
 * @path: the configuration file
 * @error: return location for a %TD_ERROR_CONFIG error
 *
 * Loads the configuration, with GOA's mail accounts added when [general] says `goa = true`.
 * GOA that cannot be reached is a warning, not an error. Blocks while GOA is asked.
 *
 * Returns: (transfer full) (nullable): the validated configuration
 */
TdConfig *
td_goa_config_load (const char *path, GError **error)
{
  g_autofree char *data = td_config_read (path, error);
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_autoptr (GError) local = NULL;
  g_autoptr (GoaClient) client = NULL;

  if (data == NULL)
    return NULL;
  if (g_key_file_load_from_data (file, data, -1, G_KEY_FILE_NONE, NULL)
      && g_key_file_get_boolean (file, "general", "goa", NULL))
    client = goa_client_new_sync (NULL, &local);
  return load_with (path, data, client ? goa_client_get_object_manager (client) : NULL,
                    local ? local->message : "", error);
}

/**
 * td_goa_config_load_from:
 * @path: the configuration file
 * @manager: (nullable): GOA's object manager, as a running daemon holds it; %NULL when GOA
 *   is not there
 * @error: return location for a %TD_ERROR_CONFIG error
 *
 * Loads the configuration again, with the accounts @manager has now.
 *
 * Returns: (transfer full) (nullable): the validated configuration
 */
TdConfig *
td_goa_config_load_from (const char *path, GDBusObjectManager *manager, GError **error)
{
  g_autofree char *data = td_config_read (path, error);

  return data != NULL ? load_with (path, data, manager, "this daemon does not follow it; restart "
                                   "the daemon", error) : NULL;
}

/* Secrets */

typedef struct
{
  char *name;     /* the Tidings account, for messages */
  char *id;       /* its GOA id */
  gboolean refresh;
  GoaObject *object;
} SecretLookup;

static void
secret_lookup_free (SecretLookup *s)
{
  g_free (s->name);
  g_free (s->id);
  g_clear_object (&s->object);
  g_free (s);
}

static void
fail (GTask *task, int code, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
fail (GTask *task, int code, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *what = g_strdup_vprintf (format, args);
  va_end (args);
  SecretLookup *s = g_task_get_task_data (task);
  g_task_return_new_error (task, TD_ERROR, code, "account %s: %s", s->name, what);
  g_object_unref (task);
}

static void
give (GTask *task, char *secret)
{
  g_task_return_pointer (task, secret, (GDestroyNotify) td_secret_free);
  g_object_unref (task);
}

static void
token_ready (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  g_autoptr (GError) error = NULL;
  char *token = NULL;

  if (!goa_oauth2_based_call_get_access_token_finish (GOA_OAUTH2_BASED (source), &token, NULL,
                                                      result, &error))
    fail (task, TD_ERROR_NO_CREDENTIALS, TD_GOA_PROVIDER " has no access token for it (%s); sign "
          "in again in Settings → Online Accounts", error->message);
  else
    give (task, token);
}

static void
password_ready (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  g_autoptr (GError) error = NULL;
  char *password = NULL;

  if (!goa_password_based_call_get_password_finish (GOA_PASSWORD_BASED (source), &password,
                                                    result, &error))
    fail (task, TD_ERROR_NO_CREDENTIALS, TD_GOA_PROVIDER " has no IMAP password for it (%s); "
          "enter it again in Settings → Online Accounts", error->message);
  else
    give (task, password);
}

static void
fetch (GTask *task)
{
  SecretLookup *s = g_task_get_task_data (task);
  GoaOAuth2Based *oauth2 = goa_object_peek_oauth2_based (s->object);
  GoaPasswordBased *password = goa_object_peek_password_based (s->object);

  if (oauth2 != NULL)
    goa_oauth2_based_call_get_access_token (oauth2, g_task_get_cancellable (task), token_ready,
                                            task);
  else if (password != NULL)
    goa_password_based_call_get_password (password, "imap-password",
                                          g_task_get_cancellable (task), password_ready, task);
  else
    fail (task, TD_ERROR_NO_CREDENTIALS, TD_GOA_PROVIDER " account %s has neither a password "
          "nor an access token", s->id);
}

static void
ensured (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  g_autoptr (GError) error = NULL;

  if (!goa_account_call_ensure_credentials_finish (GOA_ACCOUNT (source), NULL, result, &error))
    fail (task, TD_ERROR_NO_CREDENTIALS, TD_GOA_PROVIDER " cannot renew its sign-in (%s); sign in "
          "again in Settings → Online Accounts", error->message);
  else
    fetch (task);
}

static void
client_ready (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  SecretLookup *s = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GoaClient) client = goa_client_new_finish (result, &error);

  if (client == NULL)
    {
      fail (task, TD_ERROR_NO_CREDENTIALS, "it signs in through " TD_GOA_PROVIDER ", which "
            "cannot be reached (%s)", error->message);
      return;
    }
  s->object = goa_client_lookup_by_id (client, s->id);
  if (s->object == NULL)
    {
      fail (task, TD_ERROR_NO_CREDENTIALS, TD_GOA_PROVIDER " has no account %s (was it "
            "removed in Settings → Online Accounts?)", s->id);
      return;
    }
  GoaAccount *account = goa_object_peek_account (s->object);
  if (s->refresh)
    goa_account_call_ensure_credentials (account, g_task_get_cancellable (task), ensured, task);
  else if (goa_account_get_attention_needed (account))
    fail (task, TD_ERROR_NO_CREDENTIALS, TD_GOA_PROVIDER " says the account needs you: sign in "
          "again in Settings → Online Accounts");
  else
    fetch (task);
}

/**
 * td_goa_secret_async:
 * @account: an account with a GOA id (`goa-account`)
 * @refresh: whether GOA is to renew its credentials first (EnsureCredentials), after the
 *   server refused the last ones
 * @cancellable: (nullable): a cancellable
 * @callback: called with the secret
 * @user_data: data for @callback
 *
 * Asks GOA for the account's IMAP password, or its OAuth2 access token.
 */
void
td_goa_secret_async (const TdAccountConfig *account, gboolean refresh,
                     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  SecretLookup *s = g_new0 (SecretLookup, 1);

  g_task_set_source_tag (task, td_goa_secret_async);
  s->name = g_strdup (account->name);
  s->id = g_strdup (account->goa_id);
  s->refresh = refresh;
  g_task_set_task_data (task, s, (GDestroyNotify) secret_lookup_free);
  goa_client_new (cancellable, client_ready, task);
}

/**
 * td_goa_secret_finish:
 * @result: the result
 * @error: return location for a %TD_ERROR_NO_CREDENTIALS error (GOA cannot be reached, has
 *   no such account, or wants the user to sign in again)
 *
 * Returns: (transfer full) (nullable): the secret; free it with td_secret_free()
 */
char *
td_goa_secret_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
