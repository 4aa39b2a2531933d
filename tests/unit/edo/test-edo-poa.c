/* The МЧД (EMCHD_1) parser and its checks: a good one, each refusal with
 * its element path, the term, and matching to an organization and a
 * certificate.  The XML is built here from one template with parts
 * replaced (there is no public XSD to take an example from). */
#include "../operator/op-test.h"

#include "edo/edo-poa.h"

#include <stdarg.h>

#define ORG_INN "7701234560"
#define REP_INN "500100732259"
#define REP_SNILS "11223344595"

/* The template's parts; a test replaces some. */
struct poa_parts {
	const char *ns, *version, *number, *issued, *until;
	const char *principal;	/* the whole Доверит element */
	const char *person_attrs;	/* of СведФизЛ */
	const char *powers;	/* the content of СвПолн */
};

static const struct poa_parts poa_good = {
	.ns = "urn://x-artefacts/EMCHD_1",
	.version = "EMCHD_1",
	.number = "b9c1d3e2-0001-4a5b-8c7d-000000000001",
	.issued = "2024-01-15",
	.until = "2025-01-14",
	.principal = "<Доверит><РосОргДовер><СвРосОрг НаимОрг=\"ООО Ромашка\" "
		"ИННЮЛ=\"" ORG_INN "\" КПП=\"770101001\" ОГРН=\"1027700000001\"/>"
		"<ЛицоБезДов><СвФЛ/></ЛицоБезДов></РосОргДовер></Доверит>",
	.person_attrs = "ИННФЛ=\"" REP_INN "\" СНИЛС=\"112-233-445 95\"",
	.powers = "<МашПолн КодПолн=\"02.01\" НаимПолн=\"Подписание документов ЭДО\"/>",
};

static char *poa_xml(const struct poa_parts *p)
{
	return xasprintf(
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<Доверенность xmlns=\"%s\" ВерсФорм=\"%s\">"
		"<Документ><СвДов НомДовер=\"%s\" ДатаВыдДовер=\"%s\" СрокДейст=\"%s\"/>"
		"<СвДоверит ТипДоверит=\"1\">%s</СвДоверит>"
		"<СвУпПред ТипПред=\"1\"><Пред><СведФизЛ %s><СведФЛ>"
		"<ФИО Фамилия=\"Иванова\" Имя=\"Мария\" Отчество=\"Петровна\"/>"
		"</СведФЛ></СведФизЛ></Пред></СвУпПред>"
		"<СвПолн ТипПолн=\"0\">%s</СвПолн></Документ></Доверенность>\n",
		p->ns, p->version, p->number, p->issued, p->until, p->principal,
		p->person_attrs, p->powers);
}

static int poa_parse(const struct poa_parts *p, struct edo_poa *poa,
		     char **error)
{
	char *x = poa_xml(p);
	int ret;

	*error = NULL;
	ret = edo_poa_parse((const unsigned char *)x, strlen(x), poa, error);
	free(x);
	return ret;
}

/* The parts refused, and the path the error must name. */
static void refused(const struct poa_parts *p, const char *path,
		    const char *what)
{
	struct edo_poa poa;
	char *error;
	int ret = poa_parse(p, &poa, &error);

	ok(ret < 0 && error != NULL &&
	   strstr(error, path) != NULL && strstr(error, " / ") != NULL,
	   "%s refused naming %s (%s)", what, path,
	   error != NULL ? error : "no error");
	free(error);
}

static void test_good(void)
{
	struct edo_poa poa;
	char *error = NULL, *sum;
	int ret = poa_parse(&poa_good, &poa, &error);

	ok(ret == 0, "a good МЧД parses (%s)",
	   error != NULL ? error : "");
	ok(strcmp(poa.number, poa_good.number) == 0, "НомДовер");
	ok(strcmp(poa.issued, "2024-01-15") == 0 &&
	   strcmp(poa.until, "2025-01-14") == 0, "ДатаВыдДовер, СрокДейст");
	/* 2024-01-15 00:00 MSK = 2024-01-14 21:00 UTC = 1705266000 */
	ok(poa.valid_from == 1705266000, "valid from the issue day 00:00 MSK");
	ok(poa.valid_until == 1736888399, "valid to the last day 23:59:59 MSK");
	ok(strcmp(poa.principal_inn, ORG_INN) == 0 &&
	   strcmp(poa.principal_kpp, "770101001") == 0 &&
	   strcmp(poa.principal_ogrn, "1027700000001") == 0 &&
	   strcmp(poa.principal_name, "ООО Ромашка") == 0,
	   "the principal: ИННЮЛ, КПП, ОГРН, НаимОрг");
	ok(strcmp(poa.rep_inn, REP_INN) == 0 &&
	   strcmp(poa.rep_snils, REP_SNILS) == 0,
	   "the representative: ИННФЛ, СНИЛС as digits");
	ok(strcmp(poa.rep_name, "Иванова Мария Петровна") == 0, "ФИО");
	ok(poa.n_powers == 1 && strcmp(poa.powers[0].code, "02.01") == 0 &&
	   strcmp(poa.powers[0].name, "Подписание документов ЭДО") == 0,
	   "МашПолн: КодПолн, НаимПолн");
	sum = edo_poa_summary(&poa, 0);
	ok(strstr(sum, poa_good.number) != NULL &&
	   strstr(sum, "ООО Ромашка") != NULL && strstr(sum, "2025-01-14") != NULL,
	   "the summary names number, principal and term: %s", sum);
	free(sum);
	edo_poa_clear(&poa);
}

static void test_refusals(void)
{
	struct poa_parts p;

	p = poa_good; p.ns = "urn://x-artefacts/EMCHD_2";
	refused(&p, "Доверенность", "a wrong namespace");
	p = poa_good; p.version = "EMCHD_2";
	refused(&p, "Доверенность/@ВерсФорм", "an unknown version");
	p = poa_good; p.number = "";
	refused(&p, "Доверенность/Документ/СвДов/@НомДовер", "a missing number");
	p = poa_good; p.until = "14.01.2025";
	refused(&p, "Доверенность/Документ/СвДов/@СрокДейст", "a date not ISO");
	p = poa_good; p.until = "2023-12-31";
	refused(&p, "@СрокДейст", "a term ending before the issue");
	p = poa_good; p.issued = "2023-02-29";
	refused(&p, "@ДатаВыдДовер", "29 February of a common year");
	p = poa_good;
	p.principal = "<Доверит><РосОргДовер><СвРосОрг ИННЮЛ=\"" ORG_INN "\" "
		"КПП=\"770101001\"/></РосОргДовер></Доверит>";
	refused(&p, "СвДоверит/Доверит/РосОргДовер/СвРосОрг/@ОГРН",
		"a missing ОГРН");
	p = poa_good;
	p.principal = "<Доверит><РосОргДовер><СвРосОрг ИННЮЛ=\"7701234561\" "
		"КПП=\"770101001\" ОГРН=\"1027700000001\"/></РосОргДовер></Доверит>";
	refused(&p, "СвРосОрг/@ИННЮЛ", "an ИННЮЛ with a wrong check digit");
	p = poa_good;
	p.principal = "<Доверит><ИПДовер><СвИП ИННФЛ=\"" REP_INN "\"/></ИПДовер></Доверит>";
	refused(&p, "РосОргДовер", "an ИП as principal (not understood)");
	p = poa_good;
	p.principal = "<Доверит><РосОргДовер/></Доверит><Доверит><РосОргДовер/></Доверит>";
	refused(&p, "СвДоверит/Доверит", "joint principals (not understood)");
	p = poa_good; p.person_attrs = "";
	refused(&p, "СвУпПред/Пред/СведФизЛ", "neither ИННФЛ nor СНИЛС");
	p = poa_good; p.person_attrs = "СНИЛС=\"112-233-445\"";
	refused(&p, "СведФизЛ/@СНИЛС", "a short СНИЛС");
	p = poa_good; p.powers = "<ТекстПолн>всё</ТекстПолн>";
	refused(&p, "СвПолн/МашПолн", "text powers only");
	p = poa_good; p.powers = "<МашПолн КодПолн=\"02.01\"/>";
	refused(&p, "СвПолн/МашПолн/@НаимПолн", "a power without its name");
}

static void test_not_xml(void)
{
	struct edo_poa poa;
	char *error = NULL;
	const char *dtd = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]>"
		"<Доверенность xmlns=\"urn://x-artefacts/EMCHD_1\"/>";

	ok(edo_poa_parse((const unsigned char *)"not xml", 7, &poa, &error) < 0 &&
	   error != NULL, "not XML refused");
	free(error);
	error = NULL;
	ok(edo_poa_parse((const unsigned char *)dtd, strlen(dtd), &poa,
			 &error) < 0 && error != NULL && strstr(error, "DTD"),
	   "a DTD refused");
	free(error);
}

static void test_status(void)
{
	struct edo_poa poa;
	char *error = NULL;

	ok(poa_parse(&poa_good, &poa, &error) == 0, "parsed");
	ok(edo_poa_status(&poa, 0, 1705266000) == EDO_POA_ACTIVE,
	   "действует from its first second");
	ok(edo_poa_status(&poa, 0, 1705266000 - 1) == EDO_POA_NOT_YET,
	   "not yet the second before");
	ok(edo_poa_status(&poa, 0, 1736888399) == EDO_POA_ACTIVE,
	   "действует on the last day");
	ok(edo_poa_status(&poa, 0, 1736888400) == EDO_POA_EXPIRED,
	   "истекла the day after");
	ok(edo_poa_status(&poa, 1, 1720000000) == EDO_POA_REVOKED,
	   "отозвана within its term");
	ok(strcmp(edo_poa_status_name(EDO_POA_REVOKED), "отозвана") == 0 &&
	   strcmp(edo_poa_status_name(EDO_POA_EXPIRED), "истекла") == 0 &&
	   strcmp(edo_poa_status_name(EDO_POA_ACTIVE), "действует") == 0 &&
	   strcmp(edo_poa_status_name_en(EDO_POA_REVOKED), "revoked") == 0,
	   "the statuses' names (seed 001)");
	edo_poa_clear(&poa);
}

static void test_match(void)
{
	struct edo_poa poa;
	struct poa_parts p = poa_good;
	char *error = NULL;
	int ret;

	ok(poa_parse(&poa_good, &poa, &error) == 0, "parsed");
	ok(edo_poa_match(&poa, ORG_INN, REP_INN, REP_SNILS, &error) == 0,
	   "ИНН and СНИЛС both agree");
	ok(edo_poa_match(&poa, ORG_INN, NULL, REP_SNILS, &error) == 0,
	   "a certificate with СНИЛС only");
	ok(edo_poa_match(&poa, ORG_INN, REP_INN, NULL, &error) == 0,
	   "a certificate with ИНН only");
	ret = edo_poa_match(&poa, ORG_INN, "773301234567", REP_SNILS, &error);
	ok(ret < 0 && strstr(error, "773301234567") != NULL,
	   "another ИНН refused: %s", error);
	free(error);
	ok(edo_poa_match(&poa, ORG_INN, REP_INN, "11223344500", &error) < 0 &&
	   strstr(error, "SNILS") != NULL, "another СНИЛС refused");
	free(error);
	ok(edo_poa_match(&poa, ORG_INN, NULL, NULL, &error) < 0,
	   "a certificate naming nobody refused");
	free(error);
	ok(edo_poa_match(&poa, "5001007329", REP_INN, REP_SNILS, &error) < 0 &&
	   strstr(error, "5001007329") != NULL,
	   "another organization's МЧД refused");
	free(error);
	edo_poa_clear(&poa);
	/* An МЧД that names only the СНИЛС, a certificate only the ИНН:
	 * nothing both name, nothing proven. */
	p.person_attrs = "СНИЛС=\"11223344595\"";
	ok(poa_parse(&p, &poa, &error) == 0, "СНИЛС-only МЧД parses");
	ok(edo_poa_match(&poa, ORG_INN, REP_INN, NULL, &error) < 0,
	   "nothing in common: refused");
	free(error);
	edo_poa_clear(&poa);
}

int main(void)
{
	log_init("test-edo-poa", LOG_LVL_WARN);
	test_good();
	test_refusals();
	test_not_xml();
	test_status();
	test_match();
	return op_t_done();
}
