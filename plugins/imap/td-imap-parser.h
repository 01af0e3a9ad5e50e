/* td-imap-parser.h: a pure, push-fed, resumable parser for IMAP server responses.
 *
 * No sockets and no main loop: feed it bytes in any split and it reports a complete
 * response, a chunk of a streamed literal, or an error. Message bodies (BODY[], BINARY[],
 * RFC822) and any literal over TD_IMAP_MAX_INLINE_LITERAL are streamed in chunks that point
 * into the caller's buffer, so no body is ever held in memory. Serves the session, the unit
 * tests and the fuzzer alike. Not thread-safe; one parser per connection.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TD_IMAP_ERROR (td_imap_error_quark ())

/**
 * TdImapErrorCode:
 * @TD_IMAP_ERROR_PARSE: the server sent something that is not IMAP
 * @TD_IMAP_ERROR_LIMIT: the server exceeded one of the limits in td-imap-limits.h
 */
typedef enum
{
  TD_IMAP_ERROR_PARSE,
  TD_IMAP_ERROR_LIMIT,
} TdImapErrorCode;

GQuark td_imap_error_quark (void);

typedef enum
{
  TD_IMAP_VALUE_ATOM,
  TD_IMAP_VALUE_STRING,
  TD_IMAP_VALUE_NIL,
  TD_IMAP_VALUE_LIST,
  TD_IMAP_VALUE_STREAMED, /* a literal that was handed out in chunks, not kept */
} TdImapValueType;

typedef struct _TdImapValue TdImapValue;
struct _TdImapValue
{
  TdImapValueType type;
  char *str;         /* ATOM, STRING: NUL-terminated; a literal string may hold NULs */
  gsize len;
  GPtrArray *items;  /* LIST: TdImapValue */
  guint64 size;      /* STREAMED: the literal's length */
};

void td_imap_value_free (TdImapValue *value);
gboolean td_imap_value_get_number (const TdImapValue *value, guint64 *out);
gboolean td_imap_value_is_atom (const TdImapValue *value, const char *atom);
const char *td_imap_value_get_string (const TdImapValue *value);
TdImapValue *td_imap_value_lookup (const TdImapValue *list, const char *key);

typedef enum
{
  TD_IMAP_RESPONSE_UNTAGGED,
  TD_IMAP_RESPONSE_TAGGED,
  TD_IMAP_RESPONSE_CONTINUATION,
} TdImapResponseKind;

typedef enum
{
  TD_IMAP_STATUS_NONE,
  TD_IMAP_STATUS_OK,
  TD_IMAP_STATUS_NO,
  TD_IMAP_STATUS_BAD,
  TD_IMAP_STATUS_BYE,
  TD_IMAP_STATUS_PREAUTH,
} TdImapStatus;

typedef struct
{
  TdImapResponseKind kind;
  char *tag;             /* TAGGED only */
  TdImapStatus status;   /* OK/NO/BAD/BYE/PREAUTH, or NONE for data */
  gboolean has_number;
  guint32 number;        /* "* 12 EXISTS": 12 */
  char *name;            /* upper-cased: "FETCH", "LIST", "CAPABILITY", "OK"… */
  TdImapValue *code;     /* LIST of the values inside [...], or NULL */
  char *text;            /* human-readable text, or a continuation's payload */
  TdImapValue *args;     /* LIST of the data values */
} TdImapResponse;

void td_imap_response_free (TdImapResponse *response);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdImapResponse, td_imap_response_free)
const char *td_imap_response_code_name (const TdImapResponse *response);
char *td_imap_response_describe (const TdImapResponse *response, gsize max);

typedef enum
{
  TD_IMAP_FEED_NEED_MORE,
  TD_IMAP_FEED_RESPONSE,
  TD_IMAP_FEED_LITERAL_CHUNK,
  TD_IMAP_FEED_ERROR,
} TdImapFeedResult;

/* Where a streamed literal chunk belongs. */
typedef struct
{
  const char *key;       /* the atom before the literal, such as "BODY[]"; upper-cased */
  const guint8 *data;    /* points into the buffer given to feed() */
  gsize len;
  guint64 offset;        /* bytes of this literal handed out before this chunk */
  guint64 size;          /* the literal's whole length */
} TdImapChunk;

typedef struct _TdImapParser TdImapParser;

TdImapParser *td_imap_parser_new (void);
void td_imap_parser_free (TdImapParser *parser);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdImapParser, td_imap_parser_free)
void td_imap_parser_reset (TdImapParser *parser);

TdImapFeedResult td_imap_parser_feed (TdImapParser *parser, const guint8 *data, gsize len,
                                      gsize *consumed, GError **error);
TdImapResponse *td_imap_parser_steal_response (TdImapParser *parser);
const TdImapChunk *td_imap_parser_get_chunk (TdImapParser *parser);
const TdImapResponse *td_imap_parser_peek_partial (TdImapParser *parser);

G_END_DECLS
