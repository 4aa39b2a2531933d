#ifndef SMTP_SMTP_ADDR_H
#define SMTP_SMTP_ADDR_H
/* Address rules of DESIGN.md section 5, the pure part (no lookups):
 * <participant-id>@<domain>, <ИНН>@<domain>, <ИНН>.<КПП>@<domain>, each
 * with an optional "+encrypt" sub-address. */
#include <edomail/core.h>
#include "smtp/smtp-parser.h"

enum smtp_addr_kind {
	SMTP_ADDR_ID = 0,	/* a participant id */
	SMTP_ADDR_INN,		/* 10 or 12 digits */
	SMTP_ADDR_INN_KPP,	/* 10 digits "." 9 characters */
};

enum smtp_addr_result {
	SMTP_ADDR_OK = 0,
	SMTP_ADDR_ERR_DOMAIN,	/* not our domain */
	SMTP_ADDR_ERR_SYNTAX,	/* local part is no id, ИНН or ИНН.КПП */
	SMTP_ADDR_ERR_TAG,	/* unknown +sub-address */
};

struct smtp_addr {
	enum smtp_addr_kind kind;
	char local[SMTP_LOCAL_MAX + 1];	/* without the sub-address */
	char query[CORE_ID_MAX + 16];	/* what core_find_box takes */
	char inn[13];
	char kpp[10];
	int encrypt;			/* +encrypt */
};

/* addr is "local@domain" as parsed from the path; domain compares without
 * case.  Returns enum smtp_addr_result. */
int smtp_addr_parse(const char *addr, const char *domain,
		    struct smtp_addr *a_r);

/* Canonical address of a box: "<id>@<domain>" into out. */
void smtp_addr_of_box(const char *box_id, const char *domain, char *out,
		      size_t out_size);

#endif
