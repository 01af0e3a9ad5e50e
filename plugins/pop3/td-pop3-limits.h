/* td-pop3-limits.h: every bound the POP3 code enforces, in one place.
 *
 * RFC 1939 allows 512 octets for a status line; servers send more in practice (long
 * greetings, SASL challenges), so the bounds are generous but fixed. Nothing is sized by
 * what a server announces.
 */
#pragma once

/* A status line, a SASL challenge, or one line of a CAPA, UIDL or LIST listing. */
#define TD_POP3_MAX_LINE_LENGTH (16 * 1024)
/* Lines one multi-line listing (UIDL, LIST, CAPA) may hold. */
#define TD_POP3_MAX_LIST_LINES (5 * 1000 * 1000)
/* The largest message Tidings accepts from a server (after dot-unstuffing). */
#define TD_POP3_MAX_MESSAGE_SIZE (G_GUINT64_CONSTANT (2) * 1024 * 1024 * 1024)
/* A unique-id listing's id: RFC 1939 says 1 to 70 characters from 0x21 to 0x7E. */
#define TD_POP3_MAX_UIDL_LENGTH 70
/* Commands sent before waiting for their answers when the server offers PIPELINING. A RETR
 * line is a dozen bytes, so even the deepest pipeline is a few kilobytes of commands. */
#define TD_POP3_PIPELINE_DEPTH 512
/* Bytes of messages (by the sizes LIST gave) asked for with RETRs not yet answered: the
 * window that keeps a link busy, about its bandwidth times its round trip for links up to
 * 80 MB/s at 100 ms. At least one RETR is always out, however big its message. */
#define TD_POP3_RETR_WINDOW_BYTES (8 * 1024 * 1024)
/* Bytes read from the socket at a time. */
#define TD_POP3_READ_CHUNK (64 * 1024)
