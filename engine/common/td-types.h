/* td-types.h: plain data passed between backends, the sync runner and storage.
 *
 * These are values, not objects: each has a free function and an autoptr cleanup, and none
 * is shared between threads while another thread can change it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* How a folder's server name becomes its Maildir directory: verbatim (Archive/2024),
 * Maildir++ (.Archive.2024, INBOX the Maildir itself), mbsync's legacy one
 * (Archive/.2024) or flat, as offlineimap keeps folders (Archive.2024 at the top). */
typedef enum
{
  TD_LAYOUT_VERBATIM,
  TD_LAYOUT_MAILDIRPP,
  TD_LAYOUT_LEGACY,
  TD_LAYOUT_FLAT,
} TdLayout;

/* A layout with how names are written: UTF-8, or modified UTF-7 as IMAP sends them (and as
 * mbsync 1.4 and Maildir++ write them), for the flat layout the separator between the parts
 * of a nested name, and whether INBOX has a directory of its own (the `inbox` key, mbsync's
 * `Inbox` outside its `Path`). */
typedef struct
{
  TdLayout kind;
  gboolean utf7;
  char separator;
  gboolean inbox_apart;
} TdFolderLayout;

/* INBOX's components when the layout gives it a directory of its own: no folder name can
 * make them, since a part never holds '/'. */
#define TD_FOLDER_INBOX_APART "/INBOX"

TdFolderLayout td_folder_layout_default (TdLayout kind);

/* A message's flags: the ones common to IMAP and Maildir in the low bits, then one bit per
 * IMAP keyword ($Junk, $label1…). A keyword's bit is its slot in its folder's keyword table
 * (TdKeywordMap, kept in the state DB), so a bit means the same keyword only within one
 * folder. 64 bits make room for TD_KEYWORD_SLOTS keywords a folder; further ones are left
 * as the server has them and reported. */
typedef guint64 TdFlags;

#define TD_FLAG_SEEN ((TdFlags) 1 << 0)
#define TD_FLAG_ANSWERED ((TdFlags) 1 << 1)
#define TD_FLAG_FLAGGED ((TdFlags) 1 << 2)
#define TD_FLAG_DELETED ((TdFlags) 1 << 3)
#define TD_FLAG_DRAFT ((TdFlags) 1 << 4)
#define TD_FLAG_FORWARDED ((TdFlags) 1 << 5)

#define TD_FLAGS_SYSTEM ((TdFlags) 0x3f)
#define TD_KEYWORD_FIRST_BIT 8
#define TD_KEYWORD_SLOTS (64 - TD_KEYWORD_FIRST_BIT)
#define TD_FLAG_KEYWORD(slot) ((TdFlags) 1 << (TD_KEYWORD_FIRST_BIT + (slot)))
#define TD_FLAGS_KEYWORDS (~(TdFlags) 0 << TD_KEYWORD_FIRST_BIT)
#define TD_FLAGS_ALL (TD_FLAGS_SYSTEM | TD_FLAGS_KEYWORDS)
/* The longest keyword name taken; IMAP sets none, servers a few hundred bytes at most. */
#define TD_KEYWORD_MAX_NAME 255

gboolean td_keyword_name_valid (const char *name);

/* RFC 8474: an object id is 1 to 255 characters of A-Z a-z 0-9 _ -. */
#define TD_EMAIL_ID_MAX 255

gboolean td_email_id_valid (const char *id);

/* What the server says of a folder once it is open, or of any folder through STATUS. */
typedef struct
{
  guint32 uidvalidity;
  guint32 uidnext;
  guint64 highestmodseq; /* 0 when the server has no CONDSTORE */
  guint32 exists;
  gboolean read_only;
} TdFolderState;

/* What a folder on the server is: its decoded name, how it may be used, and (where the
 * server reports it with the listing) its state without opening it. */
/* What the server says a folder is for (RFC 6154 SPECIAL-USE attributes in its LIST). */
typedef enum
{
  TD_SPECIAL_NONE = 0,
  TD_SPECIAL_ALL = 1 << 0,     /* \All: every message (Gmail's All Mail) */
  TD_SPECIAL_ARCHIVE = 1 << 1, /* \Archive */
  TD_SPECIAL_DRAFTS = 1 << 2,  /* \Drafts */
  TD_SPECIAL_FLAGGED = 1 << 3, /* \Flagged: a virtual folder of the flagged ones */
  TD_SPECIAL_JUNK = 1 << 4,    /* \Junk */
  TD_SPECIAL_SENT = 1 << 5,    /* \Sent */
  TD_SPECIAL_TRASH = 1 << 6,   /* \Trash */
} TdSpecialUse;

TdSpecialUse td_special_use_from_attribute (const char *attribute);
char *td_special_use_to_string (TdSpecialUse uses);

typedef struct
{
  char *name;      /* decoded UTF-8, the server's own delimiter kept */
  char delimiter;  /* '\0' when the server has no hierarchy */
  TdSpecialUse special;
  gboolean selectable;
  gboolean has_status;
  TdFolderState status;
} TdFolderInfo;

TdFolderInfo *td_folder_info_new (const char *name, char delimiter, gboolean selectable);
void td_folder_info_free (TdFolderInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdFolderInfo, td_folder_info_free)

/* What Tidings knew of a folder after the last good sync. All zero when never synced. */
typedef struct
{
  guint32 uidvalidity;
  guint32 uidnext;
  guint64 highestmodseq;
  guint32 known_count; /* messages the state DB holds for this folder */
  guint32 last_uid;    /* the highest UID the state DB holds */
  /* In a request for changes: list the messages from this UID on as new ones (0: none). */
  guint32 new_from;
} TdSyncPoint;

/* One message as a listing or a download reports it. */
typedef struct
{
  guint32 uid;
  TdFlags flags;
  guint64 size;          /* the server's size (RFC822.SIZE), 0 when unknown */
  gint64 internal_date;  /* seconds since the epoch, -1 when unknown */
  char *message_id;      /* nullable */
  char *upload_token;    /* nullable: the TD_UPLOAD_HEADER Tidings added to an upload */
  char *unique_id;       /* nullable: the server's unique id where UIDs are not stable (POP3
                            UIDL); @uid is then a number valid for this session only */
  char *header_hash;     /* nullable: td_header_hash of the message's header, where known */
  char *keywords;        /* nullable: its IMAP keywords beyond the flags above, valid names
                            separated by single spaces, as the server named them; the engine
                            turns them into @flags' keyword bits */
  char *email_id;        /* nullable: the server's id of the message's content (IMAP OBJECTID
                            EMAILID, RFC 8474): the same in every folder it is moved or
                            copied to; td_email_id_valid() */
} TdMessageInfo;

/* The header that makes an upload without a Message-ID findable again; its value is an
 * identifier in angle brackets, like a Message-ID. */
#define TD_UPLOAD_HEADER "X-Tidings-Upload"

void td_message_info_clear (TdMessageInfo *info);
void td_message_info_copy (TdMessageInfo *dest, const TdMessageInfo *src);

/* A hash of a message's header block, the same whether the lines end in CRLF or LF: it
 * recognises a message whose server-side id changed. Fed the message as it streams; only
 * the header (up to the first empty line, at most TD_HEADER_HASH_MAX bytes) counts. */
#define TD_HEADER_HASH_MAX (256 * 1024)
typedef struct _TdHeaderHash TdHeaderHash;
TdHeaderHash *td_header_hash_new (void);
void td_header_hash_update (TdHeaderHash *hash, const guint8 *data, gsize len);
gboolean td_header_hash_is_done (TdHeaderHash *hash);
char *td_header_hash_finish (TdHeaderHash *hash);
void td_header_hash_free (TdHeaderHash *hash);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdHeaderHash, td_header_hash_free)

/* What changed in an open folder since a sync point. */
typedef struct
{
  GArray *changed;  /* TdMessageInfo, flags of messages at or below last_uid that may differ */
  GArray *present;  /* guint32, nullable: when set, every UID at or below last_uid that exists */
  GArray *vanished; /* TdUidRange: UIDs the server says are gone */
  GArray *added;    /* TdMessageInfo (uid, flags, size): the messages from new_from on */
  GArray *aged;     /* TdUidRange: of the messages from new_from on, those listed by UID only
                       because the server received them before @aged_before (max-age) */
  gint64 aged_before; /* seconds since the epoch; 0 when nothing was listed so */
} TdFolderChanges;

TdFolderChanges *td_folder_changes_new (void);
void td_folder_changes_free (TdFolderChanges *changes);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdFolderChanges, td_folder_changes_free)

/* An ordered set of UID ranges; last == G_MAXUINT32 means "and everything above". */
typedef struct
{
  guint32 first;
  guint32 last;
} TdUidRange;

GArray *td_message_info_array_new (void);
void td_uid_set_add (GArray *set, guint32 uid);
guint td_uid_set_count (const GArray *set);
char *td_uid_set_to_string (GArray *set);
gboolean td_uid_set_parse (const char *text, GArray *set);
void td_uid_set_normalize (GArray *set);
gboolean td_uid_set_contains (GArray *normalized, guint32 uid);

char *td_printable (const char *untrusted);
char *td_message_id_parse (const char *headers, gsize len);
char *td_header_id_parse (const char *headers, gsize len, const char *field);

/* Bytes of a Message-ID kept; a longer one is treated as absent (RFC 5322 line limit). */
#define TD_MAX_MESSAGE_ID 998
char *td_flags_to_maildir (TdFlags flags);
TdFlags td_flags_from_maildir (const char *info);
TdFlags td_flags_merge (TdFlags base, TdFlags ours, TdFlags theirs);

G_END_DECLS
