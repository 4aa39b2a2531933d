/* Sequence-set parsing and evaluation (RFC 3501 section 9, "sequence-set"). */
#include "imap/imap-seqset.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

/* Parses nz-number or '*' at *s; advances *s. */
static int parse_number(const char **s, uint32_t *n_r)
{
	const char *p = *s;
	uint64_t v = 0;

	if (*p == '*') {
		*n_r = IMAP_SEQ_STAR;
		*s = p + 1;
		return 0;
	}
	if (*p < '1' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)	/* 4294967295 is a valid nz-number */
			return -1;
		p++;
	}
	*n_r = (uint32_t)v;
	*s = p;
	return 0;
}

int imap_seqset_parse(const char *s, size_t max_ranges,
		      struct imap_seqset *set_r)
{
	size_t cap = 0;

	memset(set_r, 0, sizeof(*set_r));
	if (s == NULL || *s == '\0')
		return -1;
	for (;;) {
		struct imap_seq_range r;

		if (parse_number(&s, &r.lo) < 0)
			goto fail;
		r.hi = r.lo;
		if (*s == ':') {
			s++;
			if (parse_number(&s, &r.hi) < 0)
				goto fail;
		}
		if (set_r->n == max_ranges)
			goto fail;
		if (set_r->n == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			set_r->r = xrealloc(set_r->r, cap * sizeof(*set_r->r));
		}
		set_r->r[set_r->n++] = r;
		if (*s == '\0')
			return 0;
		if (*s != ',')
			goto fail;
		s++;
	}
fail:
	imap_seqset_clear(set_r);
	return -1;
}

void imap_seqset_clear(struct imap_seqset *set)
{
	free(set->r);
	set->r = NULL;
	set->n = 0;
}

static void range_resolve(const struct imap_seq_range *r, uint32_t star,
			  uint32_t *lo_r, uint32_t *hi_r)
{
	uint32_t a = r->lo == IMAP_SEQ_STAR ? star : r->lo;
	uint32_t b = r->hi == IMAP_SEQ_STAR ? star : r->hi;

	*lo_r = a < b ? a : b;
	*hi_r = a < b ? b : a;
}

int imap_seqset_contains(const struct imap_seqset *set, uint32_t n,
			 uint32_t star)
{
	for (size_t i = 0; i < set->n; i++) {
		uint32_t lo, hi;

		range_resolve(&set->r[i], star, &lo, &hi);
		if (n >= lo && n <= hi)
			return 1;
	}
	return 0;
}

uint32_t imap_seqset_max_explicit(const struct imap_seqset *set)
{
	uint32_t max = 0;

	for (size_t i = 0; i < set->n; i++) {
		if (set->r[i].lo != IMAP_SEQ_STAR && set->r[i].lo > max)
			max = set->r[i].lo;
		if (set->r[i].hi != IMAP_SEQ_STAR && set->r[i].hi > max)
			max = set->r[i].hi;
	}
	return max;
}

int imap_seqset_to_seqs(const struct imap_seqset *set, uint32_t count,
			uint32_t **seqs_r, size_t *n_r)
{
	unsigned char *mark;
	uint32_t *seqs;
	size_t n = 0;

	*seqs_r = NULL;
	*n_r = 0;
	for (size_t i = 0; i < set->n; i++) {
		const struct imap_seq_range *r = &set->r[i];

		/* "n:*" on a smaller mailbox is fine ('*' is the last
		 * message); a plain number past the end is not */
		if (r->lo != IMAP_SEQ_STAR && r->hi != IMAP_SEQ_STAR &&
		    (r->lo > count || r->hi > count))
			return -1;
	}
	if (count == 0)
		return 0;
	mark = xcalloc(count + 1, 1);
	for (size_t i = 0; i < set->n; i++) {
		uint32_t lo, hi;

		range_resolve(&set->r[i], count, &lo, &hi);
		if (hi > count)
			hi = count;
		for (uint32_t s = lo; s <= hi && s != 0; s++)
			mark[s] = 1;
	}
	seqs = xmalloc((count + 1) * sizeof(*seqs));
	for (uint32_t s = 1; s <= count; s++) {
		if (mark[s])
			seqs[n++] = s;
	}
	free(mark);
	*seqs_r = seqs;
	*n_r = n;
	return 0;
}

char *imap_seqset_format(const uint32_t *nums, size_t n)
{
	struct buf b;
	size_t i = 0;

	buf_init(&b);
	while (i < n) {
		size_t j = i;

		while (j + 1 < n && nums[j + 1] == nums[j] + 1)
			j++;
		if (b.len > 0)
			buf_append(&b, ",", 1);
		if (j == i)
			buf_printf(&b, "%u", nums[i]);
		else
			buf_printf(&b, "%u:%u", nums[i], nums[j]);
		i = j + 1;
	}
	if (b.data == NULL)
		buf_append(&b, "", 0);
	return (char *)buf_steal(&b, NULL);
}
