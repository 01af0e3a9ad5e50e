/* td-imap-limits.h: every bound the IMAP code enforces, in one place.
 *
 * Nothing is sized by what a server announces: a literal's announced length only decides
 * whether it is streamed (large) or kept (small), and both are capped here.
 */
#pragma once

/* One line of text between literals, and all inline text of one response together. */
#define TD_IMAP_MAX_LINE_LENGTH (64 * 1024)
#define TD_IMAP_MAX_RESPONSE_BYTES (1024 * 1024)
/* Literals up to this size are kept in the response; larger ones, and every message body,
 * are handed out in chunks. */
#define TD_IMAP_MAX_INLINE_LITERAL (64 * 1024)
/* The largest message Tidings accepts from a server. */
#define TD_IMAP_MAX_MESSAGE_SIZE (G_GUINT64_CONSTANT (2) * 1024 * 1024 * 1024)
#define TD_IMAP_MAX_NESTING 16
#define TD_IMAP_MAX_LIST_ITEMS 8192
/* Keywords taken of one message's FLAGS; more are left on the server, untouched. */
#define TD_IMAP_MAX_KEYWORDS 64
#define TD_IMAP_MAX_TAG_LENGTH 32
/* Folders one LIST may report, and messages one listing may report. */
#define TD_IMAP_MAX_FOLDERS 20000
#define TD_IMAP_MAX_MESSAGES (10 * 1000 * 1000)
/* Bytes read from the socket at a time. */
#define TD_IMAP_READ_CHUNK (64 * 1024)
/* Commands sent before waiting for their completion (a survey's SELECTs and listings, FETCH
 * batches). Deep enough that opening a hundred folders (three or four commands each) takes
 * a few round trips, not dozens; the server answers in order and we read while we write. */
#define TD_IMAP_PIPELINE_DEPTH 128
/* Bytes of a message read and written at a time while uploading it (APPEND). */
#define TD_IMAP_UPLOAD_CHUNK (64 * 1024)
/* Messages uploaded per pipelined group of APPENDs (each holds an open file). */
#define TD_IMAP_APPEND_BATCH 32
/* UIDs per pipelined FETCH command when downloading new messages. */
#define TD_IMAP_FETCH_BATCH 250
/* IDLE is ended and issued again this often: well inside the 30 minutes after which RFC 2177
 * lets a server drop an idle client, and often enough that a connection a NAT box forgot
 * is noticed (the DONE goes unanswered) within minutes. */
#define TD_IMAP_IDLE_RENEW_SECONDS (10 * 60)
/* Folders one NOTIFY SET names (RFC 5465), keeping the command a few kilobytes. */
#define TD_IMAP_NOTIFY_MAX_FOLDERS 200
/* Characters of a server answer shown in the --verbose trace (the rest is cut). */
#define TD_IMAP_TRACE_LINE 300
