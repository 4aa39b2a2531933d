#ifndef EDO_EDO_POA_H
#define EDO_EDO_POA_H
/* The machine-readable power of attorney (МЧД), EMCHD_1: the parser of the
 * XML and the pure checks made on it (its term, and whether it is given by
 * an organization to the holder of a certificate).  There is no public
 * XSD here, so the parser checks every field it relies on and refuses,
 * with the element path, what it does not understand (doc/poa.md).
 * Depends on lib/ and libxml2 only. */
#include <stddef.h>
#include <stdint.h>

#define EDO_POA_NS "urn://x-artefacts/EMCHD_1"
#define EDO_POA_VERSION "EMCHD_1"
#define EDO_POA_MAX_XML (1024 * 1024)	/* bytes of an МЧД we parse */
#define EDO_POA_MAX_NUMBER 64		/* characters of НомДовер */
#define EDO_POA_MAX_POWERS 64		/* МашПолн elements */
#define EDO_POA_EXPIRING_DAYS 30	/* «Скоро истекает»: as certificates */

struct edo_poa_power {
	char *code;			/* КодПолн */
	char *name;			/* НаимПолн */
};

struct edo_poa {
	char *number;			/* НомДовер */
	char issued[11];		/* ДатаВыдДовер, YYYY-MM-DD */
	char until[11];			/* СрокДейст, YYYY-MM-DD */
	/* The term in UTC seconds: the issue day from 00:00 to the last day
	 * at 23:59:59, Moscow time (the legal time of Russian EDO). */
	int64_t valid_from, valid_until;
	/* the principal: a Russian organization (СвРосОрг) */
	char *principal_name;		/* НаимОрг; NULL when absent */
	char principal_inn[11];		/* ИННЮЛ */
	char principal_kpp[10];		/* КПП */
	char principal_ogrn[14];	/* ОГРН */
	/* the representative: a person (СведФизЛ) */
	char rep_inn[13];		/* ИННФЛ, "" when absent */
	char rep_snils[12];		/* СНИЛС, digits only, "" when absent */
	char *rep_name;			/* "Фамилия Имя Отчество" */
	struct edo_poa_power *powers;
	size_t n_powers;
};

/* 0 and *poa_r filled, or -1 and a malloc'd bilingual *error_r naming
 * the element path. */
int edo_poa_parse(const unsigned char *xml, size_t len, struct edo_poa *poa_r,
		  char **error_r);
void edo_poa_clear(struct edo_poa *poa);

enum edo_poa_status {
	EDO_POA_ACTIVE = 0,		/* действует */
	EDO_POA_NOT_YET,		/* ещё не действует */
	EDO_POA_EXPIRED,		/* истекла */
	EDO_POA_REVOKED,		/* отозвана */
};
enum edo_poa_status edo_poa_status(const struct edo_poa *poa, int revoked,
				   int64_t at);
/* "действует", "истекла", "отозвана"... (seed 001), and in English. */
const char *edo_poa_status_name(enum edo_poa_status st);
const char *edo_poa_status_name_en(enum edo_poa_status st);

/* Whether poa is given by the organization with org_inn to the holder of
 * a personal certificate with cert_inn (12 digits) and cert_snils (11
 * digits; either may be NULL).  Every number both name must agree, and
 * at least one must be named by both.  0, or -1 with a malloc'd
 * bilingual *error_r. */
int edo_poa_match(const struct edo_poa *poa, const char *org_inn,
		  const char *cert_inn, const char *cert_snils,
		  char **error_r);

/* "№ N от YYYY-MM-DD до YYYY-MM-DD, доверитель NAME (ИНН …)" and its
 * English twin, malloc'd, for reports. */
char *edo_poa_summary(const struct edo_poa *poa, int english);

#endif
