/* FNS XML: the generated ПДОтпр and ИоП validate against the official XSDs
 * (data/formats), deliberately broken documents do not. */
#include "../operator/op-test.h"

#include "edo/edo.h"
#include "edo/edo-fns.h"

static const unsigned char sig1[] = { 0x30, 0x82, 0x01, 0x02, 0xde, 0xad };
static const unsigned char sig2[] = "another signature";

static const unsigned char *const sigs[] = { sig1, sig2 };
static const size_t sig_lens[] = { sizeof(sig1), sizeof(sig2) - 1 };

static const struct edo_fns_party org_a = {
	"2ED0123456789ABCDEF0123456789ABCDEF", "ООО «Ромашка»", "7707083893",
	"770701001"
};
static const struct edo_fns_party ip_b = {
	"2EDFEDCBA9876543210FEDCBA9876543210", "ИП Иванов Иван Иванович",
	"500100732259", ""
};

#define PDOTPR_PREFIX "DP_PDOTPR_2ED0123456789ABCDEF0123456789ABCDEF_2ED_20240301_"
#define IZVPOL_PREFIX "DP_IZVPOL_2ED0123456789ABCDEF0123456789ABCDEF_" \
	"2EDFEDCBA9876543210FEDCBA9876543210_20240301_"

/* 2024-02-29 21:30:00 UTC = 01.03.2024 00.30.00 in Moscow. */
#define TEST_TS 1709242200

static char *replace(const unsigned char *xml, size_t len, const char *from,
		     const char *to, size_t *len_r)
{
	char *s = xstrndup((const char *)xml, len), *p = strstr(s, from), *out;

	if (p == NULL)
		return s;
	out = xasprintf("%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
	free(s);
	*len_r = strlen(out);
	return out;
}

static void test_pdotpr(void)
{
	struct edo_fns_pdotpr p;
	struct core_error err = { 0 };
	unsigned char *xml = NULL;
	size_t len = 0, blen;
	char *name = NULL, *broken;
	int ret;

	memset(&p, 0, sizeof(p));
	p.oper_name = "Оператор ЭДО edomail";
	p.oper_inn = "7700000016";
	p.oper_id = "2ED";
	p.sender = org_a;
	p.recipient = ip_b;
	p.file.name = "Договор поставки №15.pdf";
	p.file.sigs = sigs;
	p.file.sig_lens = sig_lens;
	p.file.n_sigs = 2;
	p.sent = TEST_TS;
	ret = edo_fns_pdotpr(&p, &xml, &len, &name, &err);
	ok(ret == 0, "ПДОтпр generated and valid against DP_PDOTPR (%s)", err.msg);
	if (ret < 0)
		return;
	ok(strncmp((const char *)xml,
		   "<?xml version=\"1.0\" encoding=\"windows-1251\"?>", 44) == 0,
	   "windows-1251 declaration");
	ok(strncmp(name, PDOTPR_PREFIX, strlen(PDOTPR_PREFIX)) == 0 &&
	   strlen(name) == strlen(PDOTPR_PREFIX) + 36 + 4 &&
	   strcmp(name + strlen(PDOTPR_PREFIX) + 36, ".xml") == 0,
	   "file name R_T_A_O_GGGGMMDD_N.xml: %s", name);
	ok(strstr((const char *)xml, "\xc4\xe0\xf2\xe0\xce\xf2\xef\xf0=\"01.03.2024\"") != NULL &&
	   strstr((const char *)xml, "=\"00.30.00\"") != NULL,
	   "ДатаОтпр/ВремяОтпр in Moscow time, FNS formats");
	ok(edo_fns_validate(EDO_FNS_PDOTPR, xml, len, &err) == 0,
	   "re-validation of the stored bytes");
	ok(edo_fns_validate(EDO_FNS_IZVPOL, xml, len, &err) < 0 &&
	   err.cls == CORE_ERR_INVALID, "not a valid ИоП: %s", err.msg);

	/* КНД 1115111 → 1115112: schema enumeration violated. */
	blen = len;
	broken = replace(xml, len, "=\"1115111\"", "=\"1115112\"", &blen);
	ret = edo_fns_validate(EDO_FNS_PDOTPR,
				    (unsigned char *)broken, blen, &err);
	ok(ret < 0 && err.cls == CORE_ERR_INVALID &&
	   strstr(err.msg, "DP_PDOTPR") != NULL,
	   "broken КНД fails validation: %s", err.msg);
	free(broken);
	/* Time 24.00.00 does not exist. */
	blen = len;
	broken = replace(xml, len, "=\"00.30.00\"", "=\"24.00.00\"", &blen);
	ok(edo_fns_validate(EDO_FNS_PDOTPR, (unsigned char *)broken,
				 blen, &err) < 0, "broken time fails validation");
	free(broken);
	/* Cut in the middle: not even XML. */
	ok(edo_fns_validate(EDO_FNS_PDOTPR, xml, len / 2, &err) < 0 &&
	   strstr(err.msg, "XML") != NULL, "truncated XML refused: %s", err.msg);
	free(xml);
	free(name);
}

/* ПДПол: the recipient's confirmation, the same data under its own
 * names, addressed to the recipient; not a valid ПДОтпр. */
static void test_pdpol(void)
{
	struct edo_fns_pdotpr p;
	struct core_error err = { 0 };
	unsigned char *xml = NULL;
	size_t len = 0;
	char *name = NULL, *prefix;
	int ret;

	memset(&p, 0, sizeof(p));
	p.oper_name = "Оператор ЭДО edomail";
	p.oper_inn = "7700000016";
	p.oper_id = "2ED";
	p.sender = org_a;
	p.recipient = ip_b;
	p.file.name = "Договор поставки №15.pdf";
	p.file.sigs = sigs;
	p.file.sig_lens = sig_lens;
	p.file.n_sigs = 2;
	p.sent = TEST_TS;
	ret = edo_fns_pdpol(&p, &xml, &len, &name, &err);
	ok(ret == 0, "ПДПол generated and valid against DP_PDPOL (%s)", err.msg);
	if (ret < 0)
		return;
	prefix = xasprintf("DP_PDPOL_%s_2ED_20240301_", ip_b.id);
	ok(strncmp(name, prefix, strlen(prefix)) == 0,
	   "addressed to the recipient: %s", name);
	ok(edo_fns_is_pdpol(name) && !edo_fns_is_pdpol(PDOTPR_PREFIX "x.xml") &&
	   !edo_fns_is_pdpol(NULL), "edo_fns_is_pdpol tells them apart");
	/* ДатаПол="01.03.2024", КНД 1115112 */
	ok(strstr((const char *)xml, "\xc4\xe0\xf2\xe0\xcf\xee\xeb=\"01.03.2024\"") != NULL &&
	   strstr((const char *)xml, "=\"1115112\"") != NULL,
	   "ДатаПол and КНД 1115112");
	ok(edo_fns_validate(EDO_FNS_PDPOL, xml, len, &err) == 0,
	   "re-validation of the stored bytes");
	ok(edo_fns_validate(EDO_FNS_PDOTPR, xml, len, &err) < 0,
	   "not a valid ПДОтпр");
	free(prefix);
	free(xml);
	free(name);
}

static void test_izvpol(void)
{
	struct edo_fns_izvpol p;
	struct core_error err = { 0 };
	unsigned char *xml = NULL;
	char *name = NULL, longname[400];
	size_t len = 0;
	int ret;

	memset(&p, 0, sizeof(p));
	p.receiver = ip_b;
	p.sender = org_a;
	p.file.name = "Акт.xlsx";
	p.file.sigs = sigs;
	p.file.sig_lens = sig_lens;
	p.file.n_sigs = 1;
	p.signer.surname = "Иванов";
	p.signer.given_name = "Иван";
	p.signer.patronymic = "Иванович";
	p.received = TEST_TS;
	ret = edo_fns_izvpol(&p, &xml, &len, &name, &err);
	ok(ret == 0, "ИоП generated and valid against DP_IZVPOL (%s)", err.msg);
	ok(ret == 0 && strncmp(name, IZVPOL_PREFIX, strlen(IZVPOL_PREFIX)) == 0,
	   "ИоП file name: A = document sender, O = receiver: %s", name);
	free(xml);
	free(name);

	/* Odd but real inputs still give valid documents. */
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	longname[5] = '\n';
	p.file.name = longname;
	p.signer.given_name = "";
	p.signer.patronymic = NULL;
	p.receiver = org_a;
	p.sender = ip_b;
	p.received = TEST_TS + 1;
	ret = edo_fns_izvpol(&p, &xml, &len, &name, &err);
	ok(ret == 0, "399-char file name with a newline, no given name: still "
	   "valid (%s)", err.msg);
	free(xml);
	free(name);

	p.file.name = "Счёт 😀 №1.pdf";
	ret = edo_fns_izvpol(&p, &xml, &len, &name, &err);
	ok(ret == 0 && strstr((const char *)xml, "&#128512;") != NULL,
	   "characters outside windows-1251 become character references");
	free(xml);
	free(name);

	p.file.n_sigs = 0;
	ret = edo_fns_izvpol(&p, &xml, &len, &name, &err);
	ok_err(ret, err, CORE_ERR_INVALID, NULL, "no signature: refused");

	p.file.n_sigs = 1;
	p.sender.id = "2E";	/* shorter than ИдУчастЭДО allows */
	ret = edo_fns_izvpol(&p, &xml, &len, &name, &err);
	ok_err(ret, err, CORE_ERR_INVALID, NULL,
	       "participant id too short: the schema catches it");
	/* For the operator to check (core-receipts.c): the same document,
	 * which the operator's check accepts. */
	p.sender.id = org_a.id;
	p.unchecked = 1;
	ret = edo_fns_izvpol(&p, &xml, &len, &name, &err);
	ok(ret == 0 && edo_fns_validate(EDO_FNS_IZVPOL, xml, len, &err) == 0 &&
	   strncmp(name, "DP_IZVPOL_", 10) == 0,
	   "unchecked: built alike, valid when the operator checks it");
	free(xml);
	free(name);
}

static void test_hostile(void)
{
	static const char dtd[] =
		"<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>";
	static const char ext[] =
		"<?xml version=\"1.0\"?><!DOCTYPE a SYSTEM \"http://example.invalid/a.dtd\"><a/>";
	struct core_error err = { 0 };

	ok(edo_fns_validate(EDO_FNS_IZVPOL, (const unsigned char *)dtd,
				 sizeof(dtd) - 1, &err) < 0 &&
	   strstr(err.msg, "DTD") != NULL, "internal DTD refused: %s", err.msg);
	ok(edo_fns_validate(EDO_FNS_IZVPOL, (const unsigned char *)ext,
				 sizeof(ext) - 1, &err) < 0, "external DTD refused");
	ok(edo_fns_validate(EDO_FNS_IZVPOL, (const unsigned char *)"",
				 0, &err) < 0, "empty input refused");
	ok(edo_fns_validate(EDO_FNS_IZVPOL,
				 (const unsigned char *)"<Файл/>",
				 strlen("<Файл/>"), &err) < 0,
	   "root without attributes fails the schema: %s", err.msg);
	ok(edo_fns_validate((enum edo_fns_format)42,
				 (const unsigned char *)"<a/>", 4, &err) < 0,
	   "unknown format refused");
}

int main(void)
{
	log_init("test-edo-fns", LOG_LVL_WARN);
	/* The schema directory override is honoured (here: the same copy). */
	setenv("EDOMAIL_FORMATS_DIR", EDOMAIL_SOURCE_ROOT "/data/formats", 1);
	test_pdotpr();
	test_pdpol();
	test_izvpol();
	test_hostile();
	edo_fns_cleanup();
	return op_t_done();
}
