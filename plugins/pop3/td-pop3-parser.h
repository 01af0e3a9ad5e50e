/* td-pop3-parser.h: a pure, push-fed, resumable parser for POP3 server responses.
 *
 * POP3 answers do not say whether a multi-line part follows; the command does. So the
 * session tells the parser, in command order, what each answer is (td_pop3_parser_expect),
 * which also serves pipelined commands. The parser starts out expecting the greeting.
 *
 * A message (RETR, TOP) comes out in chunks, dot-unstuffed, with its line ends as the server
 * sent them; the chunks point into the buffer given to feed() (or, rarely, into the parser),
 * so no message is held in memory. Listings (CAPA, UIDL, LIST) come out a line at a time.
 * No sockets and no main loop: the session, the unit tests and the fuzzer feed it alike.
 * Not thread-safe; one parser per connection.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TD_POP3_ERROR (td_pop3_error_quark ())

/**
 * TdPop3ErrorCode:
 * @TD_POP3_ERROR_PARSE: the server sent something that is not POP3
 * @TD_POP3_ERROR_LIMIT: the server exceeded one of the limits in td-pop3-limits.h
 */
typedef enum
{
  TD_POP3_ERROR_PARSE,
  TD_POP3_ERROR_LIMIT,
} TdPop3ErrorCode;

GQuark td_pop3_error_quark (void);

/**
 * TdPop3Expect:
 * @TD_POP3_EXPECT_STATUS: a status line alone (USER, PASS, DELE, QUIT, STLS, the greeting)
 * @TD_POP3_EXPECT_LINES: a status line, then after +OK lines up to "." (CAPA, UIDL, LIST)
 * @TD_POP3_EXPECT_MESSAGE: a status line, then after +OK a message up to "." (RETR, TOP)
 * @TD_POP3_EXPECT_SASL: a status line or a "+" challenge (AUTH and each reply to it)
 */
typedef enum
{
  TD_POP3_EXPECT_STATUS,
  TD_POP3_EXPECT_LINES,
  TD_POP3_EXPECT_MESSAGE,
  TD_POP3_EXPECT_SASL,
} TdPop3Expect;

typedef enum
{
  TD_POP3_FEED_NEED_MORE,
  TD_POP3_FEED_STATUS,       /* td_pop3_parser_get_status() */
  TD_POP3_FEED_CHALLENGE,    /* a SASL "+" line; its text in the status */
  TD_POP3_FEED_LINE,         /* td_pop3_parser_get_line(): one listing line */
  TD_POP3_FEED_CHUNK,        /* td_pop3_parser_get_chunk(): message bytes */
  TD_POP3_FEED_END,          /* the "." that ends a listing or a message */
  TD_POP3_FEED_ERROR,
} TdPop3FeedResult;

typedef struct
{
  gboolean ok;               /* +OK (or a challenge) rather than -ERR */
  char *code;                /* the RFC 2449 response code, upper-cased ("IN-USE",
                                "SYS/TEMP"), or NULL */
  char *text;                /* the rest of the line, never NULL */
} TdPop3Status;

typedef struct
{
  const guint8 *data;
  gsize len;
} TdPop3Chunk;

typedef struct _TdPop3Parser TdPop3Parser;

TdPop3Parser *td_pop3_parser_new (void);
void td_pop3_parser_free (TdPop3Parser *parser);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdPop3Parser, td_pop3_parser_free)

void td_pop3_parser_expect (TdPop3Parser *parser, TdPop3Expect expect);
void td_pop3_parser_reset (TdPop3Parser *parser);
TdPop3FeedResult td_pop3_parser_feed (TdPop3Parser *parser, const guint8 *data, gsize len,
                                      gsize *consumed, GError **error);
const TdPop3Status *td_pop3_parser_get_status (TdPop3Parser *parser);
const char *td_pop3_parser_get_line (TdPop3Parser *parser);
const TdPop3Chunk *td_pop3_parser_get_chunk (TdPop3Parser *parser);

gboolean td_pop3_parse_uidl_line (const char *line, guint32 *number, char **uidl);
gboolean td_pop3_parse_list_line (const char *line, guint32 *number, guint64 *size);

G_END_DECLS
