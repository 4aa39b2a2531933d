/* Address rules (DESIGN.md section 5), without lookups: the EDO addresses
 * <participant-id>@<domain>, <ИНН>@<domain>, <ИНН>.<КПП>@<domain>, each
 * with an optional "+encrypt" sub-address. */
#include "mailbox/mailbox-action.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* RFC 5321 4.5.3.1.1: a local part is at most 64 octets. */
#define MAILBOX_LOCAL_MAX 64

static int all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return n > 0;
}

/* A participant id: the operator's 3-character prefix and the id, letters,
 * digits and '-' (Diadoc style "2BM-7701234560-..."), at most 46. */
static int participant_id_syntax(const char *s, size_t n)
{
	if (n < 4 || n > MAILBOX_ID_MAX - 2)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

static int kpp_syntax(const char *s, size_t n)
{
	if (n != 9)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]))
			return 0;
	return 1;
}

static enum mailbox_result_class classify(struct mailbox_addr *a)
{
	const char *l = a->local;
	size_t n = strlen(l);
	const char *dot = strchr(l, '.');

	if (all_digits(l, n) && (n == 10 || n == 12)) {
		a->kind = MAILBOX_ADDR_INN;
		memcpy(a->inn, l, n + 1);
		snprintf(a->query, sizeof(a->query), "%s", l);
		return MAILBOX_RES_OK;
	}
	if (dot != NULL && dot - l == 10 && all_digits(l, 10) &&
	    kpp_syntax(dot + 1, strlen(dot + 1))) {
		a->kind = MAILBOX_ADDR_INN_KPP;
		memcpy(a->inn, l, 10);
		a->inn[10] = '\0';
		/* КПП letters (positions 5-6) are capitals by the rules. */
		for (int i = 0; i < 9; i++)
			a->kpp[i] = (char)toupper((unsigned char)dot[1 + i]);
		a->kpp[9] = '\0';
		snprintf(a->query, sizeof(a->query), "%s.%s", a->inn, a->kpp);
		return MAILBOX_RES_OK;
	}
	if (all_digits(l, n))
		return MAILBOX_RES_BAD_ADDRESS;	/* a wrong-length ИНН */
	if (!participant_id_syntax(l, n))
		return MAILBOX_RES_BAD_ADDRESS;
	a->kind = MAILBOX_ADDR_ID;
	snprintf(a->query, sizeof(a->query), "%s", l);
	return MAILBOX_RES_OK;
}

enum mailbox_result_class mailbox_addr_parse(const char *addr,
					     const char *domain,
					     struct mailbox_addr *a_r)
{
	const char *at = strrchr(addr, '@');

	memset(a_r, 0, sizeof(*a_r));
	if (at == NULL || domain == NULL || strcasecmp(at + 1, domain) != 0)
		return MAILBOX_RES_FOREIGN_DOMAIN;
	size_t n = (size_t)(at - addr);
	if (n == 0 || n > MAILBOX_LOCAL_MAX)
		return MAILBOX_RES_BAD_ADDRESS;
	memcpy(a_r->local, addr, n);
	a_r->local[n] = '\0';

	char *plus = strchr(a_r->local, '+');
	if (plus != NULL) {
		/* +encrypt and +sign, in any order, each at most once; any
		 * other tag is a typo the user should hear about rather
		 * than a letter silently sent in clear or unsigned. */
		char *tag = plus + 1;
		*plus = '\0';
		while (tag != NULL) {
			char *next = strchr(tag, '+');
			if (next != NULL)
				*next++ = '\0';
			if (strcasecmp(tag, "encrypt") == 0 && !a_r->encrypt)
				a_r->encrypt = 1;
			else if (strcasecmp(tag, "sign") == 0 && !a_r->sign)
				a_r->sign = 1;
			else
				return MAILBOX_RES_BAD_SUBADDRESS;
			tag = next;
		}
	}
	return classify(a_r);
}

void mailbox_addr_of_box(const char *box_id, const char *domain, char *out,
			 size_t out_size)
{
	snprintf(out, out_size, "%s@%s", box_id, domain);
}
