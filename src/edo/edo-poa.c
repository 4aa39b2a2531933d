/* The МЧД (EMCHD_1) parser and its pure checks.  The layout read here
 * (doc/poa.md):
 *   Доверенность[@ВерсФорм="EMCHD_1"] (xmlns urn://x-artefacts/EMCHD_1)
 *     Документ
 *       СвДов        @НомДовер @ДатаВыдДовер @СрокДейст
 *       СвДоверит/Доверит/РосОргДовер/СвРосОрг  @ИННЮЛ @КПП @ОГРН [@НаимОрг]
 *       СвУпПред/Пред/СведФизЛ  [@ИННФЛ] [@СНИЛС], ФИО @Фамилия @Имя [@Отчество]
 *       СвПолн/МашПолн+  @КодПолн @НаимПолн
 * Everything else is ignored; an element we rely on that is missing,
 * repeated (joint principals or representatives) or of another kind (an
 * ИП or a person as principal, an organization as representative) is
 * refused with its path: we do not guess what we do not understand. */
#include "edo/edo-poa.h"
#include "edo/edo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "lib/util.h"

#define EDO_POA_MSK_OFFSET (3 * 3600)
#define EDO_POA_DAY 86400

static int edo_poa_fail(char **error_r, const char *path, const char *ru,
			const char *en)
{
	if (error_r != NULL)
		*error_r = xasprintf("МЧД: %s: %s / power of attorney: %s: %s",
				     path, ru, path, en);
	return -1;
}

static int edo_poa_is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	       xmlStrcmp(n->ns->href, BAD_CAST EDO_POA_NS) == 0 &&
	       xmlStrcmp(n->name, BAD_CAST name) == 0;
}

/* The one child element called name; none or several are refused. */
static xmlNode *edo_poa_child(xmlNode *parent, const char *name,
			      char *path, size_t path_size, char **error_r)
{
	xmlNode *found = NULL;
	size_t len = strlen(path);

	snprintf(path + len, path_size - len, "/%s", name);
	for (xmlNode *c = parent->children; c != NULL; c = c->next) {
		if (!edo_poa_is(c, name))
			continue;
		if (found != NULL) {
			edo_poa_fail(error_r, path, "элемент повторяется (не "
				     "поддерживается)", "repeated element "
				     "(not supported)");
			return NULL;
		}
		found = c;
	}
	if (found == NULL)
		edo_poa_fail(error_r, path, "нет элемента", "element missing");
	return found;
}

/* The attribute's value (malloc'd), or NULL: with required, an error. */
static char *edo_poa_attr(xmlNode *n, const char *name, const char *path,
			  int required, char **error_r)
{
	xmlChar *v = xmlGetNoNsProp(n, BAD_CAST name);
	char where[512];

	if (v != NULL && v[0] != '\0') {
		char *s = xstrdup((const char *)v);
		xmlFree(v);
		return s;
	}
	xmlFree(v);
	if (required) {
		snprintf(where, sizeof(where), "%s/@%s", path, name);
		edo_poa_fail(error_r, where, "нет атрибута", "attribute missing");
	}
	return NULL;
}

static int edo_poa_digits(const char *s, size_t len)
{
	if (strlen(s) != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static int64_t edo_poa_days(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* YYYY-MM-DD (xs:date without a zone) to the day's 00:00 Moscow time. */
static int edo_poa_date(const char *s, int64_t *t_r)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
				     30, 31 };
	int y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    !edo_poa_digits((char[]){ s[0], s[1], s[2], s[3], 0 }, 4) ||
	    !edo_poa_digits((char[]){ s[5], s[6], 0 }, 2) ||
	    !edo_poa_digits((char[]){ s[8], s[9], 0 }, 2))
		return -1;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1 ||
	    d > mdays[m - 1])
		return -1;
	if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	*t_r = edo_poa_days(y, m, d) * EDO_POA_DAY - EDO_POA_MSK_OFFSET;
	return 0;
}

static int edo_poa_read_dov(xmlNode *doc, struct edo_poa *p, char **error_r)
{
	char path[256] = "Доверенность/Документ";
	xmlNode *n = edo_poa_child(doc, "СвДов", path, sizeof(path), error_r);
	char *issued = NULL, *until = NULL, where[320];
	int64_t from, to;
	int ret = -1;

	if (n == NULL)
		return -1;
	p->number = edo_poa_attr(n, "НомДовер", path, 1, error_r);
	if (p->number == NULL)
		return -1;
	if (edo_utf8_chars(p->number) < 1 ||
	    edo_utf8_chars(p->number) > EDO_POA_MAX_NUMBER ||
	    strpbrk(p->number, "\r\n\t") != NULL) {
		snprintf(where, sizeof(where), "%s/@НомДовер", path);
		return edo_poa_fail(error_r, where, "недопустимый номер",
				    "invalid number");
	}
	issued = edo_poa_attr(n, "ДатаВыдДовер", path, 1, error_r);
	until = issued != NULL ? edo_poa_attr(n, "СрокДейст", path, 1,
					      error_r) : NULL;
	if (until == NULL)
		goto out;
	if (edo_poa_date(issued, &from) < 0) {
		snprintf(where, sizeof(where), "%s/@ДатаВыдДовер", path);
		edo_poa_fail(error_r, where, "дата не в виде ГГГГ-ММ-ДД",
			     "date not in the form YYYY-MM-DD");
		goto out;
	}
	if (edo_poa_date(until, &to) < 0 || to < from) {
		snprintf(where, sizeof(where), "%s/@СрокДейст", path);
		edo_poa_fail(error_r, where, "дата не в виде ГГГГ-ММ-ДД или "
			     "раньше даты выдачи", "date not in the form "
			     "YYYY-MM-DD or before the issue date");
		goto out;
	}
	snprintf(p->issued, sizeof(p->issued), "%s", issued);
	snprintf(p->until, sizeof(p->until), "%s", until);
	p->valid_from = from;
	p->valid_until = to + EDO_POA_DAY - 1;
	ret = 0;
out:
	free(issued);
	free(until);
	return ret;
}

/* A number attribute of exactly len digits (check: edo_inn_valid). */
static int edo_poa_number(xmlNode *n, const char *name, const char *path,
			  size_t len, int (*check)(const char *),
			  char *out, size_t out_size, char **error_r)
{
	char *v = edo_poa_attr(n, name, path, 1, error_r);
	char where[320];

	if (v == NULL)
		return -1;
	if (!edo_poa_digits(v, len) || (check != NULL && !check(v))) {
		free(v);
		snprintf(where, sizeof(where), "%s/@%s", path, name);
		return edo_poa_fail(error_r, where, "неверное значение",
				    "invalid value");
	}
	snprintf(out, out_size, "%s", v);
	free(v);
	return 0;
}

static int edo_poa_read_principal(xmlNode *doc, struct edo_poa *p,
				  char **error_r)
{
	char path[256] = "Доверенность/Документ", where[320];
	xmlNode *n = edo_poa_child(doc, "СвДоверит", path, sizeof(path),
				   error_r);
	char *kpp;

	if (n == NULL ||
	    (n = edo_poa_child(n, "Доверит", path, sizeof(path), error_r)) == NULL)
		return -1;
	if ((n = edo_poa_child(n, "РосОргДовер", path, sizeof(path),
			       error_r)) == NULL) {
		free(*error_r);
		return edo_poa_fail(error_r, path, "поддерживается только "
				    "доверитель — российская организация",
				    "only a Russian organization is supported "
				    "as the principal");
	}
	if ((n = edo_poa_child(n, "СвРосОрг", path, sizeof(path), error_r)) == NULL)
		return -1;
	if (edo_poa_number(n, "ИННЮЛ", path, 10, edo_inn_valid,
			   p->principal_inn, sizeof(p->principal_inn),
			   error_r) < 0 ||
	    edo_poa_number(n, "ОГРН", path, 13, NULL, p->principal_ogrn,
			   sizeof(p->principal_ogrn), error_r) < 0)
		return -1;
	if ((kpp = edo_poa_attr(n, "КПП", path, 1, error_r)) == NULL)
		return -1;
	if (!edo_kpp_valid(kpp)) {
		free(kpp);
		snprintf(where, sizeof(where), "%s/@КПП", path);
		return edo_poa_fail(error_r, where, "неверное значение",
				    "invalid value");
	}
	snprintf(p->principal_kpp, sizeof(p->principal_kpp), "%s", kpp);
	free(kpp);
	p->principal_name = edo_poa_attr(n, "НаимОрг", path, 0, NULL);
	return 0;
}

/* ФИО anywhere under СведФизЛ (directly or in СведФЛ). */
static xmlNode *edo_poa_find_fio(xmlNode *n)
{
	for (xmlNode *c = n->children; c != NULL; c = c->next) {
		if (edo_poa_is(c, "ФИО"))
			return c;
		if (c->type == XML_ELEMENT_NODE) {
			xmlNode *f = edo_poa_find_fio(c);
			if (f != NULL)
				return f;
		}
	}
	return NULL;
}

static int edo_poa_read_fio(xmlNode *person, const char *path,
			    struct edo_poa *p, char **error_r)
{
	xmlNode *fio = edo_poa_find_fio(person);
	char where[320], *sur, *name, *mid;

	snprintf(where, sizeof(where), "%s/ФИО", path);
	if (fio == NULL)
		return edo_poa_fail(error_r, where, "нет элемента",
				    "element missing");
	sur = edo_poa_attr(fio, "Фамилия", where, 1, error_r);
	name = sur != NULL ? edo_poa_attr(fio, "Имя", where, 1, error_r) : NULL;
	if (name == NULL) {
		free(sur);
		return -1;
	}
	mid = edo_poa_attr(fio, "Отчество", where, 0, NULL);
	p->rep_name = mid != NULL ? xasprintf("%s %s %s", sur, name, mid) :
		xasprintf("%s %s", sur, name);
	free(sur);
	free(name);
	free(mid);
	return 0;
}

/* СНИЛС as the format writes it ("123-456-789 01") or as 11 digits. */
static int edo_poa_snils(const char *v, char out[12])
{
	size_t n = 0;

	for (const char *s = v; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9') {
			if (n == 11)
				return -1;
			out[n++] = *s;
		} else if (*s != '-' && *s != ' ') {
			return -1;
		}
	}
	out[n] = '\0';
	return n == 11 ? 0 : -1;
}

static int edo_poa_read_rep(xmlNode *doc, struct edo_poa *p, char **error_r)
{
	char path[256] = "Доверенность/Документ", where[320];
	xmlNode *n = edo_poa_child(doc, "СвУпПред", path, sizeof(path), error_r);
	char *inn, *snils;

	if (n == NULL ||
	    (n = edo_poa_child(n, "Пред", path, sizeof(path), error_r)) == NULL)
		return -1;
	if ((n = edo_poa_child(n, "СведФизЛ", path, sizeof(path),
			       error_r)) == NULL) {
		free(*error_r);
		return edo_poa_fail(error_r, path, "поддерживается только "
				    "представитель — физическое лицо",
				    "only a person is supported as the "
				    "representative");
	}
	inn = edo_poa_attr(n, "ИННФЛ", path, 0, NULL);
	snils = edo_poa_attr(n, "СНИЛС", path, 0, NULL);
	if (inn != NULL && (!edo_poa_digits(inn, 12) || !edo_inn_valid(inn))) {
		snprintf(where, sizeof(where), "%s/@ИННФЛ", path);
		edo_poa_fail(error_r, where, "неверное значение", "invalid value");
		goto fail;
	}
	if (snils != NULL && edo_poa_snils(snils, p->rep_snils) < 0) {
		snprintf(where, sizeof(where), "%s/@СНИЛС", path);
		edo_poa_fail(error_r, where, "неверное значение", "invalid value");
		goto fail;
	}
	if (inn == NULL && snils == NULL) {
		edo_poa_fail(error_r, path, "нет ни ИННФЛ, ни СНИЛС: "
			     "представителя не узнать", "neither ИННФЛ nor "
			     "СНИЛС: the representative cannot be identified");
		goto fail;
	}
	if (inn != NULL)
		snprintf(p->rep_inn, sizeof(p->rep_inn), "%s", inn);
	free(inn);
	free(snils);
	return edo_poa_read_fio(n, path, p, error_r);
fail:
	free(inn);
	free(snils);
	return -1;
}

static int edo_poa_read_powers(xmlNode *doc, struct edo_poa *p,
			       char **error_r)
{
	char path[256] = "Доверенность/Документ", where[320];
	xmlNode *n = edo_poa_child(doc, "СвПолн", path, sizeof(path), error_r);

	if (n == NULL)
		return -1;
	snprintf(where, sizeof(where), "%s/МашПолн", path);
	for (xmlNode *c = n->children; c != NULL; c = c->next) {
		struct edo_poa_power pw;

		if (!edo_poa_is(c, "МашПолн"))
			continue;
		if (p->n_powers == EDO_POA_MAX_POWERS)
			return edo_poa_fail(error_r, where, "слишком много "
					    "полномочий", "too many powers");
		pw.code = edo_poa_attr(c, "КодПолн", where, 1, error_r);
		pw.name = pw.code != NULL ?
			edo_poa_attr(c, "НаимПолн", where, 1, error_r) : NULL;
		if (pw.name == NULL) {
			free(pw.code);
			return -1;
		}
		p->powers = xrealloc(p->powers, (p->n_powers + 1) *
				     sizeof(*p->powers));
		p->powers[p->n_powers++] = pw;
	}
	if (p->n_powers == 0)
		return edo_poa_fail(error_r, where, "нет машиночитаемых "
				    "полномочий (текстовые не поддерживаются)",
				    "no machine-readable powers (text powers "
				    "are not supported)");
	return 0;
}

static int edo_poa_read(xmlDoc *x, struct edo_poa *p, char **error_r)
{
	xmlNode *root = xmlDocGetRootElement(x);
	char path[256] = "Доверенность";
	xmlChar *ver;
	int ok;

	if (root == NULL || xmlStrcmp(root->name, BAD_CAST "Доверенность") != 0)
		return edo_poa_fail(error_r, "/", "корневой элемент не "
				    "«Доверенность»", "the root element is not "
				    "\"Доверенность\"");
	if (!edo_poa_is(root, "Доверенность"))
		return edo_poa_fail(error_r, "Доверенность", "пространство имён "
				    "не " EDO_POA_NS, "the namespace is not "
				    EDO_POA_NS);
	ver = xmlGetNoNsProp(root, BAD_CAST "ВерсФорм");
	ok = ver != NULL && xmlStrcmp(ver, BAD_CAST EDO_POA_VERSION) == 0;
	xmlFree(ver);
	if (!ok)
		return edo_poa_fail(error_r, "Доверенность/@ВерсФорм",
				    "версия формата не " EDO_POA_VERSION
				    " (не поддерживается)", "the format "
				    "version is not " EDO_POA_VERSION " (not "
				    "supported)");
	xmlNode *doc = edo_poa_child(root, "Документ", path, sizeof(path),
				     error_r);
	if (doc == NULL ||
	    edo_poa_read_dov(doc, p, error_r) < 0 ||
	    edo_poa_read_principal(doc, p, error_r) < 0 ||
	    edo_poa_read_rep(doc, p, error_r) < 0 ||
	    edo_poa_read_powers(doc, p, error_r) < 0)
		return -1;
	return 0;
}

int edo_poa_parse(const unsigned char *xml, size_t len, struct edo_poa *poa_r,
		  char **error_r)
{
	xmlDoc *x;
	int ret;

	memset(poa_r, 0, sizeof(*poa_r));
	if (len == 0 || len > EDO_POA_MAX_XML)
		return edo_poa_fail(error_r, "/", "пустой файл или больше 1 МБ",
				    "empty or larger than 1 MB");
	/* No network, no entity expansion, no DTD: an МЧД has none. */
	x = xmlReadMemory((const char *)xml, (int)len, "poa.xml", NULL,
			  XML_PARSE_NONET | XML_PARSE_NOERROR |
			  XML_PARSE_NOWARNING);
	if (x == NULL)
		return edo_poa_fail(error_r, "/", "это не XML", "not XML");
	if (x->intSubset != NULL || x->extSubset != NULL) {
		xmlFreeDoc(x);
		return edo_poa_fail(error_r, "/", "DTD не допускается",
				    "a DTD is not allowed");
	}
	ret = edo_poa_read(x, poa_r, error_r);
	xmlFreeDoc(x);
	if (ret < 0)
		edo_poa_clear(poa_r);
	return ret;
}

void edo_poa_clear(struct edo_poa *poa)
{
	free(poa->number);
	free(poa->principal_name);
	free(poa->rep_name);
	for (size_t i = 0; i < poa->n_powers; i++) {
		free(poa->powers[i].code);
		free(poa->powers[i].name);
	}
	free(poa->powers);
	memset(poa, 0, sizeof(*poa));
}

enum edo_poa_status edo_poa_status(const struct edo_poa *poa, int revoked,
				   int64_t at)
{
	if (revoked)
		return EDO_POA_REVOKED;
	if (at < poa->valid_from)
		return EDO_POA_NOT_YET;
	if (at > poa->valid_until)
		return EDO_POA_EXPIRED;
	return EDO_POA_ACTIVE;
}

const char *edo_poa_status_name(enum edo_poa_status st)
{
	switch (st) {
	case EDO_POA_ACTIVE: return "действует";
	case EDO_POA_NOT_YET: return "ещё не действует";
	case EDO_POA_EXPIRED: return "истекла";
	case EDO_POA_REVOKED: return "отозвана";
	}
	return "?";
}

const char *edo_poa_status_name_en(enum edo_poa_status st)
{
	switch (st) {
	case EDO_POA_ACTIVE: return "active";
	case EDO_POA_NOT_YET: return "not yet in force";
	case EDO_POA_EXPIRED: return "expired";
	case EDO_POA_REVOKED: return "revoked";
	}
	return "?";
}

int edo_poa_match(const struct edo_poa *poa, const char *org_inn,
		  const char *cert_inn, const char *cert_snils,
		  char **error_r)
{
	int agreed = 0;

	if (org_inn == NULL || strcmp(poa->principal_inn, org_inn) != 0) {
		*error_r = xasprintf("МЧД № %s выдана организацией с ИНН %s, а "
				     "не %s / power of attorney %s is given by "
				     "the organization with INN %s, not %s",
				     poa->number, poa->principal_inn,
				     org_inn != NULL ? org_inn : "-",
				     poa->number, poa->principal_inn,
				     org_inn != NULL ? org_inn : "-");
		return -1;
	}
	if (cert_inn != NULL && poa->rep_inn[0] != '\0') {
		if (strcmp(cert_inn, poa->rep_inn) != 0)
			goto mismatch;
		agreed = 1;
	}
	if (cert_snils != NULL && poa->rep_snils[0] != '\0') {
		if (strcmp(cert_snils, poa->rep_snils) != 0)
			goto mismatch;
		agreed = 1;
	}
	if (agreed)
		return 0;
mismatch:
	*error_r = xasprintf("МЧД № %s выдана %s (ИНН %s, СНИЛС %s), а "
			     "сертификат — ИНН %s, СНИЛС %s / power of "
			     "attorney %s names %s (INN %s, SNILS %s), the "
			     "certificate INN %s, SNILS %s", poa->number,
			     poa->rep_name,
			     poa->rep_inn[0] != '\0' ? poa->rep_inn : "-",
			     poa->rep_snils[0] != '\0' ? poa->rep_snils : "-",
			     cert_inn != NULL ? cert_inn : "-",
			     cert_snils != NULL ? cert_snils : "-",
			     poa->number, poa->rep_name,
			     poa->rep_inn[0] != '\0' ? poa->rep_inn : "-",
			     poa->rep_snils[0] != '\0' ? poa->rep_snils : "-",
			     cert_inn != NULL ? cert_inn : "-",
			     cert_snils != NULL ? cert_snils : "-");
	return -1;
}

char *edo_poa_summary(const struct edo_poa *poa, int english)
{
	const char *name = poa->principal_name != NULL ? poa->principal_name :
		"";

	if (english)
		return xasprintf("No. %s from %s to %s, principal %s%sINN %s, "
				 "OGRN %s, representative %s", poa->number,
				 poa->issued, poa->until, name,
				 name[0] != '\0' ? ", " : "",
				 poa->principal_inn, poa->principal_ogrn,
				 poa->rep_name);
	return xasprintf("№ %s с %s по %s, доверитель %s%sИНН %s, ОГРН %s, "
			 "представитель %s", poa->number, poa->issued,
			 poa->until, name, name[0] != '\0' ? ", " : "",
			 poa->principal_inn, poa->principal_ogrn,
			 poa->rep_name);
}
