/* td-move-plan.h: which messages a mail reader moved between folders, found among what the
 * folders' plans would otherwise send as a deletion in one folder and an upload in another.
 *
 * A message whose file left one folder (its row is still there, the server still has it)
 * and a new file in another folder (or the same one, under a new name) are the same message
 * when their Message-ID and size agree and nothing else in the account shares them; where
 * several do, only those whose file kept its base name are paired. Where both carry the
 * server's EMAILID (RFC 8474, the same for a message in every folder), that decides alone:
 * equal ids of equal sizes pair, whatever the Message-IDs; different ids never do. What
 * cannot be paired safely stays a deletion and an upload. Pure: no I/O, unit-tested
 * without a server.
 */
#pragma once

#include "engine/common/td-types.h"

G_BEGIN_DECLS

/* A message the reader took out of a folder that the server still has there. */
typedef struct
{
  guint folder;            /* the caller's index of the folder */
  guint32 uid;
  const char *base;        /* borrowed: its file's base name when it was there */
  const char *message_id;  /* borrowed, nullable when @email_id is set */
  guint64 size;            /* the server's */
  const char *email_id;    /* borrowed, nullable: the server's EMAILID of it */
} TdMoveSource;

/* A file new to a folder. */
typedef struct
{
  guint folder;
  const char *base;        /* borrowed */
  const char *message_id;  /* borrowed, nullable */
  guint64 size;            /* as a server would count it (bare LF as CRLF) */
  const char *email_id;    /* borrowed, nullable: the server's EMAILID, for what it listed */
} TdMoveArrival;

/* A source and the arrival that is the same message. */
typedef struct
{
  guint source;            /* index in the sources */
  guint arrival;           /* index in the arrivals */
} TdMovePair;

GArray *td_move_plan_pair (const GArray *sources, const GArray *arrivals);

G_END_DECLS
