#ifndef IMAP_IMAP_SEARCH_H
#define IMAP_IMAP_SEARCH_H
/* SEARCH keys (RFC 3501 6.4.4): parsed once into a tree, evaluated per
 * message.  Text keys match case-insensitively as UTF-8 substrings of the
 * decoded headers and body; BEFORE/ON/SINCE use INTERNALDATE and the
 * SENT* keys the Date: header, both by calendar day in their own zone. */
#include <stddef.h>
#include <stdint.h>
#include "imap/imap-parser.h"
#include "imap/imap-seqset.h"
#include "imap/imap-message.h"

enum imap_search_type {
	IMAP_SK_ALL, IMAP_SK_AND, IMAP_SK_OR, IMAP_SK_NOT,
	IMAP_SK_FLAG_SET, IMAP_SK_FLAG_UNSET, IMAP_SK_KEYWORD,
	IMAP_SK_UNKEYWORD, IMAP_SK_NEW, IMAP_SK_OLD,
	IMAP_SK_BEFORE, IMAP_SK_ON, IMAP_SK_SINCE,
	IMAP_SK_SENTBEFORE, IMAP_SK_SENTON, IMAP_SK_SENTSINCE,
	IMAP_SK_LARGER, IMAP_SK_SMALLER, IMAP_SK_SEQSET, IMAP_SK_UIDSET,
	IMAP_SK_HEADER, IMAP_SK_BODY, IMAP_SK_TEXT,
	IMAP_SK_MODSEQ,			/* RFC 7162: MODSEQ >= num */
};

struct imap_search_key {
	enum imap_search_type type;
	struct imap_search_key **sub;	/* AND: n_sub; OR: 2; NOT: 1 */
	size_t n_sub;
	uint32_t flag;			/* enum mailbox_flag bit */
	char *field;			/* HEADER field name */
	char *str;			/* folded needle / keyword */
	int64_t num;			/* day, size */
	struct imap_seqset set;
};

struct imap_search_msg {
	uint32_t seq, uid, flags;
	const char *keywords;		/* space separated */
	int64_t internaldate;
	int32_t tz_offset;		/* minutes */
	uint64_t size;
	uint32_t max_seq, max_uid;	/* what '*' means */
	uint64_t modseq;		/* RFC 7162 MODSEQ */
	const struct imap_message *msg;	/* NULL unless the key needs data */
	/* filled by the matcher: the folded decoded body text, computed once
	 * however many text keys ask for it (free with imap_search_msg_clear) */
	char *body_folded;
};

/* args: after the command name; returns the key or NULL with *error_r
 * (*badcharset_r set when the CHARSET is not UTF-8 / US-ASCII). */
struct imap_search_key *imap_search_parse(const struct imap_arg *args,
					  const char **error_r,
					  int *badcharset_r);
void imap_search_key_free(struct imap_search_key **key);
/* 1 when evaluating needs the message bytes (msg != NULL). */
int imap_search_needs_data(const struct imap_search_key *key);
/* 1 when the key has a MODSEQ criterion (the response then carries the
 * highest MODSEQ of the matches, RFC 7162 3.1.5). */
int imap_search_has_modseq(const struct imap_search_key *key);
int imap_search_match(const struct imap_search_key *key,
		      struct imap_search_msg *m);
void imap_search_msg_clear(struct imap_search_msg *m);

#endif
