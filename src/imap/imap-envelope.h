#ifndef IMAP_IMAP_ENVELOPE_H
#define IMAP_IMAP_ENVELOPE_H
/* ENVELOPE and BODY/BODYSTRUCTURE responses (RFC 3501 7.4.2), computed from
 * the message bytes. */
#include "imap/imap-message.h"

/* One address of an address list header, as ENVELOPE lists it. */
struct imap_address {
	char *name;	/* display name (raw, RFC 2047 words kept), or NULL */
	char *route;	/* obsolete source route, or NULL */
	char *mailbox;	/* local part; group name at a group start */
	char *host;	/* NULL marks group start/end */
};

/* Parses an address list (RFC 5322 with the obsolete forms mail clients
 * send).  Never fails; at most max entries. */
void imap_address_parse(const char *value, size_t max,
			struct imap_address **addrs_r, size_t *n_r);
void imap_address_free(struct imap_address *addrs, size_t n);

/* "(date subject from sender reply-to to cc bcc in-reply-to message-id)"
 * from the header of part (a message root or encapsulated message). */
void imap_envelope_write(const unsigned char *data,
			 const struct imap_msgpart *part, struct buf *out);

/* BODYSTRUCTURE (extended = 1) or BODY (extended = 0) of a message root. */
void imap_bodystructure_write(const struct imap_message *msg, int extended,
			      struct buf *out);

#endif
