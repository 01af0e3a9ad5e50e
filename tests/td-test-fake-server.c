/* td-test-fake-server.c: the scripted IMAP and POP3 server. It answers by command name,
 * with just enough of the protocol for tidings to get to the part under test. */
#include "td-test-fake-server.h"

#include <gsasl.h>
#include <string.h>

/* The password of the fake servers' user, as the fault tests configure it. */
#define FAKE_PASSWORD "p"

struct _TdFakeServer
{
  TdFakeProtocol protocol;
  TdFakeMode mode;
  char *escape_name;
  GSocket *listener;
  guint16 port;
  GThread *thread;
  gint stop;
  gint saw_credentials;
  gint deletions;      /* POP3: DELEs committed by a QUIT */
  GTlsCertificate *certificate;
  /* The SCRAM exchange in progress on the connection being served. */
  Gsasl *sasl_ctx;
  Gsasl_session *sasl;
  char *sasl_tag;       /* IMAP: the AUTHENTICATE command's tag */
  gboolean sasl_done;   /* the server's last message went out */
};

static void
say (GOutputStream *out, const char *text)
{
  g_output_stream_write_all (out, text, strlen (text), NULL, NULL, NULL);
}

static void
answer_list (TdFakeServer *f, GOutputStream *out, const char *tag)
{
  g_autofree char *abs = g_strdup_printf ("* LIST () \"/\" \"%s\"\r\n", f->escape_name);
  say (out, "* LIST () \"/\" \"../../escape\"\r\n"
            "* LIST () \"/\" \"a/../../b\"\r\n"
            "* LIST () \"/\" \"..\"\r\n"
            "* LIST () \"/\" \"ok/cur\"\r\n"
            "* LIST () \".\" \"dots..here\"\r\n"
            "* LIST () \"/\" {9}\r\nnew\nline!\r\n"
            "* LIST () \"/\" \"&Jjo!-\"\r\n"
            "* LIST () \"/\" \"Good\"\r\n");
  say (out, abs);
  g_autofree char *done = g_strdup_printf ("%s OK LIST done\r\n", tag);
  say (out, done);
}

static const char message[] = "Subject: fake\r\nMessage-ID: <fake@x>\r\n\r\nA body line.\r\n";

static void
answer_fetch (TdFakeServer *f, GOutputStream *out, const char *tag)
{
  g_autofree char *head = g_strdup_printf (
    "* 1 FETCH (UID 1 FLAGS () INTERNALDATE \"21-Nov-2026 10:00:00 +0000\" RFC822.SIZE %zu "
    "BODY[] {%zu}\r\n", strlen (message), strlen (message));
  say (out, head);
  if (f->mode == TD_FAKE_CUT_MID_FETCH)
    {
      g_output_stream_write_all (out, message, 20, NULL, NULL, NULL);
      return; /* the caller closes the connection */
    }
  say (out, message);
  g_autofree char *done = g_strdup_printf (")\r\n%s OK FETCH done\r\n", tag);
  say (out, done);
}

/* SCRAM, the server side through GNU SASL, spoiled as the mode says. */

static int
fake_sasl_callback (Gsasl *ctx, Gsasl_session *session, Gsasl_property prop)
{
  if (prop == GSASL_PASSWORD)
    return gsasl_property_set (session, GSASL_PASSWORD, FAKE_PASSWORD);
  return GSASL_NO_CALLBACK;
}

static void
sasl_end (TdFakeServer *f, GOutputStream *out, gboolean ok)
{
  g_autofree char *reply = NULL;

  if (f->protocol == TD_FAKE_POP3)
    reply = g_strdup (ok ? "+OK logged in\r\n" : "-ERR authentication failed\r\n");
  else
    reply = g_strdup_printf ("%s %s\r\n", f->sasl_tag, ok ? "OK logged in" : "NO failed");
  say (out, reply);
  gsasl_finish (f->sasl);
  gsasl_done (f->sasl_ctx);
  f->sasl = NULL;
  f->sasl_ctx = NULL;
  f->sasl_done = FALSE;
  g_clear_pointer (&f->sasl_tag, g_free);
}

/* One client message of the exchange (or "*", which ends it). */
static void
sasl_continue (TdFakeServer *f, GOutputStream *out, const char *line)
{
  char *b64 = NULL;

  if (g_str_equal (line, "*") || f->sasl_done)
    {
      /* A client that answered the forged signature instead of cancelling is let in, so
       * the test sees it. */
      sasl_end (f, out, f->sasl_done && !g_str_equal (line, "*"));
      return;
    }
  int rc = gsasl_step64 (f->sasl, line, &b64);
  if (rc == GSASL_NEEDS_MORE)
    {
      g_autofree char *challenge = g_strdup_printf ("+ %s\r\n", b64);
      say (out, challenge);
    }
  else if (rc == GSASL_OK && f->mode == TD_FAKE_SCRAM_EARLY_OK)
    sasl_end (f, out, TRUE); /* the signature ("v=") is never sent */
  else if (rc == GSASL_OK)
    {
      gsize len = 0;
      g_autofree guchar *raw = g_base64_decode (b64, &len);
      g_assert_true (len > 4 && raw[0] == 'v' && raw[1] == '=');
      raw[2] = raw[2] == 'A' ? 'B' : 'A'; /* the signature's first base64 character */
      g_autofree char *forged = g_base64_encode (raw, len);
      g_autofree char *challenge = g_strdup_printf ("+ %s\r\n", forged);
      say (out, challenge);
      f->sasl_done = TRUE;
    }
  else
    sasl_end (f, out, FALSE);
  gsasl_free (b64);
}

/* "SCRAM-SHA-256 <first message>" from AUTHENTICATE or AUTH. */
static void
sasl_begin (TdFakeServer *f, GOutputStream *out, const char *tag, const char *args)
{
  const char *first = args != NULL ? strchr (args, ' ') : NULL;

  g_atomic_int_set (&f->saw_credentials, 1);
  g_assert_cmpint (gsasl_init (&f->sasl_ctx), ==, GSASL_OK);
  gsasl_callback_set (f->sasl_ctx, fake_sasl_callback);
  g_assert_cmpint (gsasl_server_start (f->sasl_ctx, "SCRAM-SHA-256", &f->sasl), ==, GSASL_OK);
  f->sasl_tag = g_strdup (tag);
  if (first != NULL)
    sasl_continue (f, out, first + 1);
  else
    say (out, "+ \r\n");
}

static gboolean
scram_mode (TdFakeServer *f)
{
  return f->mode == TD_FAKE_SCRAM_FORGED || f->mode == TD_FAKE_SCRAM_EARLY_OK;
}

/* Returns FALSE when the connection should end. */
static gboolean
answer_imap (TdFakeServer *f, GOutputStream *out, char *line)
{
  g_auto (GStrv) words = g_strsplit (line, " ", 3);
  const char *tag = words[0];
  const char *cmd = words[1] ? words[1] : "";
  g_autofree char *reply = NULL;

  if (g_ascii_strcasecmp (cmd, "LOGIN") == 0 || g_ascii_strcasecmp (cmd, "AUTHENTICATE") == 0)
    g_atomic_int_set (&f->saw_credentials, 1);
  if (g_ascii_strcasecmp (cmd, "AUTHENTICATE") == 0 && scram_mode (f))
    sasl_begin (f, out, tag, words[2]);
  else if (g_ascii_strcasecmp (cmd, "CAPABILITY") == 0)
    reply = g_strdup_printf ("* CAPABILITY IMAP4rev1%s\r\n%s OK done\r\n",
                             scram_mode (f) ? " AUTH=SCRAM-SHA-256 SASL-IR" : "", tag);
  else if (g_ascii_strcasecmp (cmd, "LOGIN") == 0)
    reply = g_strdup_printf ("%s OK logged in\r\n", tag);
  else if (g_ascii_strcasecmp (cmd, "LIST") == 0)
    answer_list (f, out, tag);
  else if (g_ascii_strcasecmp (cmd, "EXAMINE") == 0 || g_ascii_strcasecmp (cmd, "SELECT") == 0)
    reply = g_strdup_printf ("* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 2] ok\r\n"
                             "%s OK [READ-ONLY] done\r\n", tag);
  else if (g_ascii_strcasecmp (cmd, "UID") == 0)
    {
      answer_fetch (f, out, tag);
      return f->mode != TD_FAKE_CUT_MID_FETCH;
    }
  else if (g_ascii_strcasecmp (cmd, "LOGOUT") == 0)
    {
      g_autofree char *bye = g_strdup_printf ("* BYE bye\r\n%s OK done\r\n", tag);
      say (out, bye);
      return FALSE;
    }
  else
    reply = g_strdup_printf ("%s BAD unknown\r\n", tag);
  if (reply != NULL)
    say (out, reply);
  return TRUE;
}

/* POP3 */

static void
answer_retr (TdFakeServer *f, GOutputStream *out)
{
  say (out, "+OK message follows\r\n");
  if (f->mode == TD_FAKE_CUT_MID_FETCH)
    {
      g_output_stream_write_all (out, message, 20, NULL, NULL, NULL);
      return; /* the caller closes the connection */
    }
  say (out, message);
  say (out, ".\r\n");
}

static gboolean
answer_pop3 (TdFakeServer *f, GOutputStream *out, char *line, guint *deleted)
{
  g_auto (GStrv) words = g_strsplit (line, " ", 2);
  const char *cmd = words[0];

  if (g_ascii_strcasecmp (cmd, "AUTH") == 0 && scram_mode (f))
    sasl_begin (f, out, NULL, words[1]);
  else if (g_ascii_strcasecmp (cmd, "USER") == 0)
    say (out, "+OK\r\n");
  else if (g_ascii_strcasecmp (cmd, "PASS") == 0 || g_ascii_strcasecmp (cmd, "AUTH") == 0)
    {
      g_atomic_int_set (&f->saw_credentials, 1);
      say (out, "+OK logged in\r\n");
    }
  else if (g_ascii_strcasecmp (cmd, "CAPA") == 0)
    say (out, f->mode == TD_FAKE_STARTTLS_INJECT ? "+OK\r\nUSER\r\nUIDL\r\nSTLS\r\n.\r\n"
              : scram_mode (f) ? "+OK\r\nUSER\r\nUIDL\r\nSASL SCRAM-SHA-256\r\n.\r\n"
                               : "+OK\r\nUSER\r\nUIDL\r\n.\r\n");
  else if (g_ascii_strcasecmp (cmd, "STAT") == 0)
    say (out, "+OK 1 100\r\n");
  else if (g_ascii_strcasecmp (cmd, "LIST") == 0)
    {
      g_autofree char *list = g_strdup_printf ("+OK\r\n1 %zu\r\n.\r\n", strlen (message));
      say (out, list);
    }
  else if (g_ascii_strcasecmp (cmd, "UIDL") == 0 && f->mode == TD_FAKE_NO_UIDL)
    say (out, "-ERR command not supported\r\n");
  else if (g_ascii_strcasecmp (cmd, "UIDL") == 0 && f->mode == TD_FAKE_LONG_UIDL)
    {
      g_autofree char *id = g_strnfill (5000, 'x');
      g_autofree char *list = g_strdup_printf ("+OK\r\n1 %s\r\n.\r\n", id);
      say (out, list);
    }
  else if (g_ascii_strcasecmp (cmd, "UIDL") == 0)
    say (out, "+OK\r\n1 fake-1\r\n.\r\n");
  else if (g_ascii_strcasecmp (cmd, "RETR") == 0)
    {
      answer_retr (f, out);
      return f->mode != TD_FAKE_CUT_MID_FETCH;
    }
  else if (g_ascii_strcasecmp (cmd, "DELE") == 0)
    {
      (*deleted)++;
      say (out, "+OK marked\r\n");
    }
  else if (g_ascii_strcasecmp (cmd, "QUIT") == 0)
    {
      g_atomic_int_add (&f->deletions, *deleted); /* the UPDATE state commits them */
      say (out, "+OK bye\r\n");
      return FALSE;
    }
  else
    say (out, "-ERR unknown command\r\n");
  return TRUE;
}

/* STARTTLS, with the forgery: a tagged OK for a command the client has not sent yet, in the
 * same write as our OK. A client that reads it as plain text loses track of its tags. */
static GIOStream *
start_tls (TdFakeServer *f, GIOStream *plain, const char *tag)
{
  /* POP3: a forged +OK that would answer the client's next command. */
  g_autofree char *ok = f->protocol == TD_FAKE_POP3
                          ? g_strdup ("+OK begin TLS\r\n+OK forged\r\n")
                          : g_strdup_printf ("%s OK begin TLS\r\n* CAPABILITY IMAP4rev1\r\n"
                                             "t2 OK forged\r\n", tag);
  g_autoptr (GError) error = NULL;

  say (g_io_stream_get_output_stream (plain), ok);
  GIOStream *tls = g_tls_server_connection_new (plain, f->certificate, &error);
  g_assert_no_error (error);
  if (!g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, &error))
    {
      g_test_message ("fake server: TLS handshake failed: %s", error->message);
      g_object_unref (tls);
      return NULL;
    }
  return tls;
}

static void
serve (TdFakeServer *f, GSocket *client)
{
  g_autoptr (GIOStream) stream = G_IO_STREAM (g_socket_connection_factory_create_connection (client));
  g_autoptr (GDataInputStream) in = NULL;
  char *line;

  if (f->mode == TD_FAKE_SILENT)
    {
      /* Hold the connection open without a word until tidings gives up or the test ends. */
      char buf[256];
      while (g_input_stream_read (g_io_stream_get_input_stream (stream), buf, sizeof buf, NULL,
                                  NULL) > 0)
        ;
      return;
    }
  say (g_io_stream_get_output_stream (stream),
       f->protocol == TD_FAKE_POP3 ? "+OK fake POP3 server ready\r\n"
       : f->mode == TD_FAKE_PREAUTH ? "* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] welcome\r\n"
       : f->mode == TD_FAKE_STARTTLS_INJECT ? "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"
                                            : "* OK fake server ready\r\n");
  in = g_data_input_stream_new (g_io_stream_get_input_stream (stream));
  g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
  guint deleted = 0;
  while ((line = g_data_input_stream_read_line (in, NULL, NULL, NULL)) != NULL)
    {
      g_auto (GStrv) words = g_strsplit (line, " ", 3);
      gboolean more;
      gboolean upgrade = f->protocol == TD_FAKE_POP3
                           ? g_ascii_strcasecmp (line, "STLS") == 0
                           : words[1] != NULL && g_ascii_strcasecmp (words[1], "STARTTLS") == 0;
      if (f->mode == TD_FAKE_STARTTLS_INJECT && upgrade)
        {
          GIOStream *tls = start_tls (f, stream, words[0]);
          g_free (line);
          if (tls == NULL)
            break;
          /* The plain reader must not close the socket that TLS now runs over. */
          g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (in), FALSE);
          g_object_unref (in);
          g_object_unref (stream);
          stream = tls;
          in = g_data_input_stream_new (g_io_stream_get_input_stream (stream));
          g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
          continue;
        }
      if (f->sasl != NULL)
        {
          sasl_continue (f, g_io_stream_get_output_stream (stream), line);
          g_free (line);
          continue;
        }
      more = f->protocol == TD_FAKE_POP3
               ? answer_pop3 (f, g_io_stream_get_output_stream (stream), line, &deleted)
               : answer_imap (f, g_io_stream_get_output_stream (stream), line);
      g_free (line);
      if (!more)
        break;
    }
  if (f->sasl != NULL)
    sasl_end (f, g_io_stream_get_output_stream (stream), FALSE);
  g_io_stream_close (stream, NULL, NULL);
}

static gpointer
run (gpointer data)
{
  TdFakeServer *f = data;
  while (!g_atomic_int_get (&f->stop))
    {
      g_autoptr (GSocket) client = g_socket_accept (f->listener, NULL, NULL);
      if (client != NULL)
        {
          g_socket_set_blocking (client, TRUE);
          serve (f, client);
        }
    }
  return NULL;
}

TdFakeServer *
td_fake_server_start (TdFakeProtocol protocol, TdFakeMode mode, const char *escape_name)
{
  TdFakeServer *f = g_new0 (TdFakeServer, 1);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  g_autoptr (GError) error = NULL;

  f->protocol = protocol;
  f->mode = mode;
  f->escape_name = g_strdup (escape_name ? escape_name : "escape");
  f->listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                              &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (f->listener, addr, TRUE, &error));
  g_assert_true (g_socket_listen (f->listener, &error));
  g_socket_set_timeout (f->listener, 1); /* accept wakes up to see the stop flag */
  g_autoptr (GSocketAddress) bound = g_socket_get_local_address (f->listener, &error);
  f->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  f->thread = g_thread_new ("fake-server", run, f);
  return f;
}

gboolean
td_fake_server_saw_credentials (TdFakeServer *f)
{
  return g_atomic_int_get (&f->saw_credentials);
}

/* DELEs a QUIT committed, over every connection so far. */
guint
td_fake_server_count_deletions (TdFakeServer *f)
{
  return g_atomic_int_get (&f->deletions);
}

void
td_fake_server_set_certificate (TdFakeServer *f, const char *cert, const char *key)
{
  g_autoptr (GError) error = NULL;
  f->certificate = g_tls_certificate_new_from_files (cert, key, &error);
  g_assert_no_error (error);
}

guint16
td_fake_server_get_port (TdFakeServer *f)
{
  return f->port;
}

void
td_fake_server_stop (TdFakeServer *f)
{
  g_atomic_int_set (&f->stop, 1);
  g_thread_join (f->thread);
  g_socket_close (f->listener, NULL);
  g_object_unref (f->listener);
  g_clear_object (&f->certificate);
  g_free (f->escape_name);
  g_free (f);
}
