/* Sequence sets: parsing, '*', ranges either way, invalid forms. */
#include "imap/imap-seqset.h"
#include "test-imap.h"

#include <stdlib.h>

static int parses(const char *s)
{
	struct imap_seqset set;
	int ret = imap_seqset_parse(s, 100, &set);

	imap_seqset_clear(&set);
	return ret == 0;
}

int main(void)
{
	struct imap_seqset set;
	uint32_t *seqs;
	size_t n;
	char *f;

	CHECK(imap_seqset_parse("1:*", 100, &set) == 0);
	CHECK(imap_seqset_contains(&set, 1, 10) && imap_seqset_contains(&set, 10, 10));
	CHECK(imap_seqset_to_seqs(&set, 5, &seqs, &n) == 0 && n == 5 && seqs[4] == 5);
	free(seqs);
	CHECK(imap_seqset_to_seqs(&set, 0, &seqs, &n) == 0 && n == 0);
	free(seqs);
	imap_seqset_clear(&set);

	CHECK(imap_seqset_parse("*:3", 100, &set) == 0);
	CHECK(imap_seqset_to_seqs(&set, 6, &seqs, &n) == 0 && n == 4 &&
	      seqs[0] == 3 && seqs[3] == 6);
	free(seqs);
	/* '*' below 3: the range is 2:3 for UIDs ("*:3" with max UID 2) */
	CHECK(imap_seqset_contains(&set, 2, 2));
	CHECK(!imap_seqset_contains(&set, 1, 2));
	imap_seqset_clear(&set);

	CHECK(imap_seqset_parse("2,4:7,9,12:*", 100, &set) == 0 && set.n == 4);
	CHECK(imap_seqset_max_explicit(&set) == 12);
	CHECK(imap_seqset_to_seqs(&set, 8, &seqs, &n) < 0); /* 12 > 8 */
	CHECK(imap_seqset_contains(&set, 5, 100) && !imap_seqset_contains(&set, 8, 100));
	imap_seqset_clear(&set);

	CHECK(imap_seqset_parse("7:5", 100, &set) == 0);
	CHECK(imap_seqset_to_seqs(&set, 7, &seqs, &n) == 0 && n == 3 && seqs[0] == 5);
	free(seqs);
	imap_seqset_clear(&set);

	/* the largest nz-number is a number, not '*' (RFC 3501 9) */
	CHECK(imap_seqset_parse("4294967295", 100, &set) == 0);
	CHECK(imap_seqset_contains(&set, 4294967295u, 10) &&
	      !imap_seqset_contains(&set, 10, 10));
	CHECK(imap_seqset_max_explicit(&set) == 4294967295u);
	imap_seqset_clear(&set);
	CHECK(imap_seqset_parse("1:4294967295", 100, &set) == 0);
	CHECK(imap_seqset_to_seqs(&set, 3, &seqs, &n) < 0); /* past the end */
	imap_seqset_clear(&set);
	CHECK(!parses("4294967296"));
	CHECK(parses("4294967294"));
	CHECK(!parses(""));
	CHECK(!parses("0"));
	CHECK(!parses("1:0"));
	CHECK(!parses("01"));
	CHECK(!parses("1,"));
	CHECK(!parses(",1"));
	CHECK(!parses("1::2"));
	CHECK(!parses("a"));
	CHECK(!parses("1 2"));
	CHECK(!parses("-1"));
	CHECK(!parses("1:*:2"));
	CHECK(!parses("99999999999999999999"));
	CHECK(imap_seqset_parse("1,2,3", 2, &set) < 0);	/* range limit */

	{
		uint32_t nums[] = { 1, 2, 3, 5, 7, 8 };

		f = imap_seqset_format(nums, 6);
		CHECK_STR(f, "1:3,5,7:8");
		free(f);
		f = imap_seqset_format(NULL, 0);
		CHECK_STR(f, "");
		free(f);
	}
	return test_done();
}
