#ifndef IMAP_IMAP_MESSAGE_H
#define IMAP_IMAP_MESSAGE_H
/* The MIME structure of one message as FETCH, BODYSTRUCTURE and SEARCH need
 * it: byte offsets of every part's header and body, line counts and the
 * parsed Content-* fields.  A careful parser of our own (no copies are made
 * of the data), bounded by depth and part count.  Sizes are octets of the
 * bytes as stored, so they add up exactly to RFC822.SIZE. */
#include <stddef.h>
#include <stdint.h>
#include "lib/util.h"

struct imap_param {
	char *name;		/* as written (RFC 2231 "name*0*" kept as is) */
	char *value;		/* unquoted */
};

struct imap_msgpart {
	size_t hdr_off, hdr_len;	/* header including the empty line */
	size_t body_off, body_len;
	uint32_t body_lines;

	char *type, *subtype;	/* as written, or the defaults */
	struct imap_param *params;
	size_t n_params;
	char *id, *description, *encoding, *md5, *location;
	char **languages;
	size_t n_languages;
	char *disposition;
	struct imap_param *disp_params;
	size_t n_disp_params;

	int is_multipart;
	int type_seen;		/* the first Content-Type counts */
	struct imap_msgpart *children;	/* multipart */
	size_t n_children;
	struct imap_msgpart *message;	/* message/rfc822: the inner message */
};

struct imap_message {
	const unsigned char *data;	/* not owned */
	size_t len;
	struct imap_msgpart root;	/* header = the message header */
};

struct imap_message_limits {
	int max_depth;		/* multipart / message/rfc822 nesting */
	int max_parts;		/* parts in total */
};

/* Never fails: malformed input gives the structure a lenient reader would
 * see; parts beyond the limits are leaves of type application/octet-stream. */
struct imap_message *imap_message_parse(const unsigned char *data, size_t len,
					const struct imap_message_limits *lim);
void imap_message_free(struct imap_message **msg);
/* Only the top-level header and body (root.hdr_* and root.body_*): what
 * header fetches, ENVELOPE and RFC822.* need.  The root is a leaf; use
 * imap_message_parse() for BODYSTRUCTURE and part numbers. */
struct imap_message *imap_message_parse_header(const unsigned char *data,
					       size_t len);
/* Past white space, line ends and (nested, escaped) comments: the CFWS
 * of RFC 5322 3.2.2 before and between the tokens of header values. */
const char *imap_skip_cfws(const char *s);

/* A section part number "1.2.3" (without HEADER/TEXT/MIME); NULL if there
 * is no such part.  "" is the message itself. */
const struct imap_msgpart *imap_message_find_part(const struct imap_message *msg,
						  const char *partnum);
/* The header and body that HEADER/TEXT of a part number refer to: the
 * message's own for "", the encapsulated message's for a message/rfc822
 * part; NULL otherwise.  Part "1" of a message that is not multipart is
 * the message's body: when the whole body is message/rfc822, 1.HEADER and
 * 1.TEXT are the inner message's (RFC 3501 6.4.5, as Dovecot). */
const struct imap_msgpart *imap_message_find_inner(const struct imap_message *msg,
						   const char *partnum);

/* Iterates over header fields in [off, off+len): returns 1 with the field's
 * name and the whole raw field (name, colon, value, folded lines and line
 * end), 0 at the end. */
struct imap_header_iter {
	const unsigned char *data;
	size_t pos, end;
};
void imap_header_iter_init(struct imap_header_iter *it,
			   const unsigned char *data, size_t off, size_t len);
int imap_header_iter_next(struct imap_header_iter *it, const char **name_r,
			  size_t *name_len_r, size_t *field_off_r,
			  size_t *field_len_r, size_t *value_off_r);

/* The first field named name (case-insensitive), unfolded and trimmed,
 * malloc'd; NULL when absent. */
char *imap_header_get(const unsigned char *data, size_t off, size_t len,
		      const char *name);
/* Appends the fields whose names are (or, with exclude, are not) in names,
 * then the empty line, as BODY[HEADER.FIELDS] wants. */
void imap_header_filter(const unsigned char *data, size_t off, size_t len,
			const char *const *names, size_t n_names, int exclude,
			struct buf *out);

/* Unfolds a raw value: CRLF/LF removed, leading/trailing blanks trimmed. */
char *imap_header_unfold(const unsigned char *v, size_t len);

#endif
