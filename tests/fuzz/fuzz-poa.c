/* The МЧД reader (src/edo/edo-poa.c): an МЧД comes with a counteragent's
 * signature or from the administrator's file, so any bytes may arrive.
 * Checked beyond "no crash, no leak, no UB":
 *   - a refusal has a "Русский / English" text;
 *   - an accepted one has what edo-poa.h promises: a number within its
 *     limit, dates as YYYY-MM-DD, a term that does not end before it
 *     starts, an organization's ИНН of 10 digits, a representative's name,
 *     at most EDO_POA_MAX_POWERS powers;
 *   - its status is one of the four at any time, its summary is UTF-8 in
 *     both languages, and matching it against a certificate's numbers
 *     taken from the input either agrees or says why, bilingual. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "edo/edo-poa.h"

#include "fuzz-common.h"

static int fuzz_poa_digits(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789") == n;
}

static int fuzz_poa_date(const char *d)
{
	return strlen(d) == 10 && d[4] == '-' && d[7] == '-';
}

static void fuzz_poa_bilingual(char *msg)
{
	FUZZ_CHECK(msg != NULL && strstr(msg, " / ") != NULL);
	FUZZ_CHECK(util_utf8_valid((const unsigned char *)msg, strlen(msg)));
	free(msg);
}

static void fuzz_poa_accepted(const struct edo_poa *poa, const uint8_t *data,
			      size_t size)
{
	static const char *const inns[] = {
		"7701234560", "500100732259", "", "123",
	};
	char *error = NULL, *s;

	FUZZ_CHECK(poa->number != NULL && *poa->number != '\0');
	FUZZ_CHECK(strlen(poa->number) <= EDO_POA_MAX_NUMBER * 4);
	FUZZ_CHECK(fuzz_poa_date(poa->issued) && fuzz_poa_date(poa->until));
	FUZZ_CHECK(poa->valid_from <= poa->valid_until);
	FUZZ_CHECK(fuzz_poa_digits(poa->principal_inn, 10));
	FUZZ_CHECK(poa->rep_name != NULL);
	FUZZ_CHECK(poa->n_powers <= EDO_POA_MAX_POWERS);
	for (int en = 0; en < 2; en++) {
		s = edo_poa_summary(poa, en);
		FUZZ_CHECK(s != NULL &&
			   util_utf8_valid((const unsigned char *)s, strlen(s)));
		free(s);
	}
	for (int64_t at = poa->valid_from - 1; at <= poa->valid_from + 1; at++) {
		enum edo_poa_status st = edo_poa_status(poa, size & 1, at);

		FUZZ_CHECK(st <= EDO_POA_REVOKED);
		FUZZ_CHECK(edo_poa_status_name(st) != NULL &&
			   edo_poa_status_name_en(st) != NULL);
	}
	for (size_t i = 0; i < sizeof(inns) / sizeof(inns[0]); i++) {
		const char *snils = size > 0 && data[0] & 1 ? "12345678901" :
			NULL;

		if (edo_poa_match(poa, inns[i], poa->rep_inn[0] != '\0' ?
				  poa->rep_inn : NULL, snils, &error) < 0)
			fuzz_poa_bilingual(error);
		else
			FUZZ_CHECK(strcmp(inns[i], poa->principal_inn) == 0);
		error = NULL;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct edo_poa poa;
	char *error = NULL;

	memset(&poa, 0, sizeof(poa));
	if (edo_poa_parse(data, size, &poa, &error) < 0)
		fuzz_poa_bilingual(error);
	else
		fuzz_poa_accepted(&poa, data, size);
	edo_poa_clear(&poa);
	return 0;
}
