#ifndef IMAP_IMAP_SEQSET_H
#define IMAP_IMAP_SEQSET_H
/* Sequence sets ("1:*", "*:3", "2,4:7") of message numbers or UIDs. */
#include <stddef.h>
#include <stdint.h>

#define IMAP_SEQ_STAR 0	/* '*' before it is resolved (nz-number is never 0) */

struct imap_seq_range {
	uint32_t lo, hi;	/* as written; lo may be > hi, either may be '*' */
};

struct imap_seqset {
	struct imap_seq_range *r;
	size_t n;
};

/* -1 for anything but a valid sequence-set (also "$"-less, no zero, no
 * empty ranges, no leading zeros), at most max_ranges ranges. */
int imap_seqset_parse(const char *s, size_t max_ranges,
		      struct imap_seqset *set_r);
void imap_seqset_clear(struct imap_seqset *set);

/* With '*' standing for star: 1 when n is in the set. */
int imap_seqset_contains(const struct imap_seqset *set, uint32_t n,
			 uint32_t star);
/* Highest number named explicitly (not by '*'), 0 if none. */
uint32_t imap_seqset_max_explicit(const struct imap_seqset *set);
/* The set of sequence numbers in [1, count]: sorted, without duplicates.
 * Returns -1 when a number above count was given explicitly (RFC 3501
 * makes that an error for message numbers). */
int imap_seqset_to_seqs(const struct imap_seqset *set, uint32_t count,
			uint32_t **seqs_r, size_t *n_r);

/* Writes sorted numbers as a compact set ("1:3,7") to a malloc'd string. */
char *imap_seqset_format(const uint32_t *nums, size_t n);

#endif
