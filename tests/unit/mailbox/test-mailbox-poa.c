/* organization and power of attorney (poa): the signer ↔ organization
 * check of mailbox-poa.c on real certificates and a real signed МЧД: the
 * organization's own certificate, another organization's, an ИП's, a
 * person's without an МЧД («нет доверенности»), with one, and with one
 * signed by someone else than the organization. */
#include "../operator/op-test.h"
#include "../edo-fixtures.h"

#include "mailbox/mailbox-poa.h"

#define ORG_INN "7701234560"
#define OTHER_INN "5001007329"
#define IP_INN "500100732259"
#define REP_INN "773301234562"
#define REP_SNILS "11223344595"

static void make(const char *org_name, const char *inn, const char *snils,
		 char **cert, char **key)
{
	struct crypto_make_cert_req req;
	char *cerr = NULL;

	memset(&req, 0, sizeof(req));
	req.key_type = "ec";
	req.common_name = "Иванова Мария";
	req.org_name = org_name;
	req.inn = inn;
	req.snils = snils;
	/* issued by the fixtures' CA, which is the trusted root: the
	 * principal's signature of the МЧД must reach it (issue 14 item 1) */
	fx_trust_setup();
	if (crypto_make_issued(&req, fx_ca_cert, fx_ca_key, NULL, cert, key,
			       &cerr) < 0)
		fx_bail("certificate", cerr);
}

static char *poa_xml(const char *org_inn)
{
	return xasprintf(
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
		"<Доверенность xmlns=\"urn://x-artefacts/EMCHD_1\" ВерсФорм=\"EMCHD_1\">"
		"<Документ><СвДов НомДовер=\"N-1\" ДатаВыдДовер=\"2020-01-01\" "
		"СрокДейст=\"2090-12-31\"/><СвДоверит><Доверит><РосОргДовер>"
		"<СвРосОрг НаимОрг=\"ООО Ромашка\" ИННЮЛ=\"%s\" КПП=\"770101001\" "
		"ОГРН=\"1027700000001\"/></РосОргДовер></Доверит></СвДоверит>"
		"<СвУпПред><Пред><СведФизЛ ИННФЛ=\"" REP_INN "\" СНИЛС=\""
		REP_SNILS "\"><ФИО Фамилия=\"Иванова\" Имя=\"Мария\"/>"
		"</СведФизЛ></Пред></СвУпПред><СвПолн><МашПолн КодПолн=\"02.01\" "
		"НаимПолн=\"Подписание\"/></СвПолн></Документ></Доверенность>",
		org_inn);
}

static void sign(const char *cert, const char *key, const char *data,
		 unsigned char **sig, size_t *sig_len)
{
	struct crypto_signer *s = NULL;
	char *cerr = NULL;

	if (crypto_signer_new(cert, key, &s, &cerr) < 0 ||
	    crypto_sign_detached(s, (const unsigned char *)data, strlen(data),
				 sig, sig_len, &cerr) < 0)
		fx_bail("sign", cerr);
	crypto_signer_free(&s);
}

static void check(const char *cert, const unsigned char *xml, size_t len,
		  const unsigned char *sig, size_t sig_len, int want_valid,
		  const char *want, const char *what)
{
	struct mb_poa_check r;

	mb_poa_check(NULL, cert, ORG_INN, xml, len, sig, sig_len, util_now(),
		     &r);
	ok(r.valid == want_valid && r.reason != NULL &&
	   strstr(r.reason, want) != NULL && strstr(r.reason, " / ") != NULL,
	   "%s: %s", what, r.reason != NULL ? r.reason : "(none)");
	mb_poa_check_clear(&r);
}

int main(void)
{
	char *org_cert, *org_key, *other_cert, *other_key, *person, *pkey;
	char *ip_cert, *ip_key, *xml, *other_xml;
	unsigned char *sig, *bad_sig, *other_sig;
	size_t sig_len, bad_len, other_len;
	struct mb_poa_check r;

	log_init("test-mailbox-poa", LOG_LVL_WARN);
	crypto_init();
	make("ООО Ромашка", ORG_INN, NULL, &org_cert, &org_key);
	make("ООО Лютик", OTHER_INN, NULL, &other_cert, &other_key);
	make(NULL, REP_INN, REP_SNILS, &person, &pkey);
	make(NULL, IP_INN, NULL, &ip_cert, &ip_key);
	xml = poa_xml(ORG_INN);
	other_xml = poa_xml(OTHER_INN);
	sign(org_cert, org_key, xml, &sig, &sig_len);
	sign(person, pkey, xml, &bad_sig, &bad_len);
	sign(other_cert, other_key, other_xml, &other_sig, &other_len);

	check(org_cert, NULL, 0, NULL, 0, 1, "сертификат организации",
	      "the organization's own certificate");
	check(other_cert, NULL, 0, NULL, 0, 0, "другой организации",
	      "another organization's certificate");
	check(other_cert, (unsigned char *)xml, strlen(xml), sig, sig_len, 0,
	      "другой организации",
	      "another organization's certificate even with an МЧД");
	check(person, NULL, 0, NULL, 0, 0, "нет доверенности",
	      "a person's certificate without an МЧД");
	check(person, (unsigned char *)xml, strlen(xml), sig, sig_len, 1,
	      "МЧД № N-1", "a person's certificate with the organization's МЧД");
	check(person, (unsigned char *)xml, strlen(xml), bad_sig, bad_len, 0,
	      "не организацией", "an МЧД signed by the person, not the head");
	check(person, (unsigned char *)xml, strlen(xml), NULL, 0, 0,
	      "подпись доверителя", "an МЧД without the principal's signature");
	check(person, (unsigned char *)other_xml, strlen(other_xml), other_sig,
	      other_len, 0, "5001007329", "another organization's МЧД");
	check(person, (unsigned char *)"<x/>", 4, sig, sig_len, 0,
	      "МЧД не принята", "an XML that is no МЧД");

	mb_poa_check(NULL, person, ORG_INN, (unsigned char *)xml, strlen(xml),
		     sig, sig_len, util_now(), &r);
	ok(r.poa_summary != NULL && strstr(r.poa_summary, "N-1") != NULL &&
	   strstr(r.poa_summary, "2090-12-31") != NULL &&
	   strstr(r.poa_summary, "ООО Ромашка") != NULL &&
	   r.snils != NULL && strcmp(r.snils, REP_SNILS) == 0 &&
	   r.inn != NULL && strcmp(r.inn, REP_INN) == 0,
	   "the report names the МЧД, its term, principal and the holder");
	mb_poa_check_clear(&r);
	/* Signed after the term: the signing time counts. */
	mb_poa_check(NULL, person, ORG_INN, (unsigned char *)xml, strlen(xml),
		     sig, sig_len, 4102444800LL + 86400 * 400, &r);
	ok(!r.valid && strstr(r.reason, "истекла") != NULL,
	   "signed after the term: истекла (%s)", r.reason);
	mb_poa_check_clear(&r);

	/* An ИП: its own 12-digit ИНН is the box's. */
	mb_poa_check(NULL, ip_cert, IP_INN, NULL, 0, NULL, 0, util_now(), &r);
	ok(r.valid, "an ИП's certificate for its own box");
	mb_poa_check_clear(&r);
	ok(mb_poa_cert_is_person(person, ORG_INN) == 1 &&
	   mb_poa_cert_is_person(org_cert, ORG_INN) == 0 &&
	   mb_poa_cert_is_person(ip_cert, IP_INN) == 0,
	   "a person's certificate is told from the organization's and an ИП's");

	free(org_cert); free(org_key); free(other_cert); free(other_key);
	free(person); free(pkey); free(ip_cert); free(ip_key);
	free(xml); free(other_xml); free(sig); free(bad_sig); free(other_sig);
	return op_t_done();
}
