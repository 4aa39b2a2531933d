/* УПД 5.01 and 5.02: the seller's titles we make validate against the
 * official XSDs (and with xmllint), a broken one is refused with the
 * element's path, the buyer's title of the same version validates, and
 * the readable table shows parties, goods and totals. */
#include "../operator/op-test.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "edo/edo.h"
#include "edo/edo-upd.h"

/* 2024-02-29 21:30:00 UTC = 01.03.2024 00.30.00 in Moscow. */
#define TEST_TS 1709242200

static const struct edo_upd_org seller = {
	"2ED0123456789ABCDEF0123456789ABCDEF", "ООО «Ромашка»", "7707083893",
	"770701001", "г. Москва, ул. Тверская, д. 1"
};
static const struct edo_upd_org buyer = {
	"2EDFEDCBA9876543210FEDCBA9876543210", "АО «Лютик»", "7736050003",
	"773601001", NULL
};
static const struct edo_upd_org buyer_ip = {
	"2ED1111111111111111111111111111111", "ИП Иванов Иван Иванович",
	"500100732259", "", NULL
};

static const struct edo_upd_item items[] = {
	{ "Бумага А4, 500 листов", "шт", "10", "250.00", "20%" },
	{ "Доставка", "усл. ед", "1", "1500", "20" },
	{ "Книга", "шт", "2.5", "99.99", "10%" },
	{ "Консультация", "ч", "3", "1000", "без НДС" },
};

static const unsigned char sig1[] = { 0x30, 0x82, 0x01, 0x02, 0xde, 0xad };
static const unsigned char *const sig_list[] = { sig1 };
static const size_t sig_lens[] = { sizeof(sig1) };
static const struct edo_upd_seller_sigs seller_sigs = { sig_list, sig_lens, 1 };

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

/* The same check by an independent validator. */
static int xmllint_ok(const unsigned char *xml, size_t len, const char *name,
		      const char *xsd)
{
	char *dir = xasprintf("%s/upd", op_t_tmpdir()), *path, *cmd;
	FILE *f;
	int rc;

	(void)mkdir(dir, 0700);
	path = xasprintf("%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL)
		return 0;
	fwrite(xml, 1, len, f);
	fclose(f);
	cmd = xasprintf("xmllint --noout --schema '%s/data/formats/%s' '%s' "
			">/dev/null 2>&1", EDOMAIL_SOURCE_ROOT, xsd, path);
	rc = system(cmd);
	free(cmd);
	free(path);
	free(dir);
	return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

static int have_xmllint(void)
{
	return system("command -v xmllint >/dev/null 2>&1") == 0;
}

static void make(enum edo_upd_version v, const struct edo_upd_org *to,
		 unsigned char **xml, size_t *len, char **name)
{
	struct edo_upd_seller_req req;
	struct core_error err = { 0 };

	memset(&req, 0, sizeof(req));
	req.version = v;
	req.seller = seller;
	req.buyer = *to;
	req.number = "УПД-17";
	req.date = TEST_TS;
	req.items = items;
	req.n_items = sizeof(items) / sizeof(items[0]);
	req.signer.surname = "Петров";
	req.signer.given_name = "Пётр";
	req.signer.patronymic = "Петрович";
	req.signer.position = "Генеральный директор";
	*xml = NULL;
	ok(edo_upd_make_seller(&req, xml, len, name, &err) == 0,
	   "%s: seller's title made: %s", v == EDO_UPD_501 ? "5.01" : "5.02",
	   err.msg);
}

static void test_seller(enum edo_upd_version v)
{
	static const char *const xsd[] = {
		"ON_NSCHFDOPPR_1_997_01_05_01_03.xsd",
		"ON_NSCHFDOPPR_1_997_01_05_02_01.xsd",
	};
	const char *vs = v == EDO_UPD_501 ? "5.01" : "5.02";
	struct edo_upd_info info;
	struct core_error err = { 0 };
	unsigned char *xml;
	size_t len;
	char *name;

	make(v, &buyer, &xml, &len, &name);
	if (xml == NULL)
		return;
	ok(strncmp(name, "ON_NSCHFDOPPR_" "2EDFEDCBA9876543210FEDCBA9876543210_"
		   "2ED0123456789ABCDEF0123456789ABCDEF_20240301_", 93) == 0,
	   "%s: FNS file name R_T_A_O_date_uuid: %s", vs, name);
	ok(strstr((const char *)xml, "encoding=\"windows-1251\"") != NULL,
	   "%s: windows-1251", vs);
	ok(edo_upd_detect(name, xml, len, &info) == 1 && info.version == v &&
	   info.title == EDO_UPD_SELLER && !info.malformed,
	   "%s: detected as a seller's title", vs);
	ok(edo_upd_validate(name, &info, xml, len, &err) == 0,
	   "%s: validates: %s", vs, err.msg);
	if (have_xmllint())
		ok(xmllint_ok(xml, len, name, xsd[v]), "%s: xmllint agrees", vs);
	ok(edo_upd_detect("invoice.xml", xml, len, &info) == 0,
	   "%s: another file name is not a УПД", vs);
	ok(edo_upd_validate("ON_NSCHFDOPPR_other.xml", &info, xml, len,
			    &err) < 0 && strstr(err.msg, "ИдФайл") != NULL,
	   "%s: file name must equal ИдФайл: %s", vs, err.msg);
	free(xml);
	free(name);

	make(v, &buyer_ip, &xml, &len, &name);
	if (xml != NULL) {
		info.version = v;
		info.title = EDO_UPD_SELLER;
		ok(edo_upd_validate(name, &info, xml, len, &err) == 0,
		   "%s: a buyer who is an ИП validates: %s", vs, err.msg);
	}
	free(xml);
	free(name);
}

static void test_broken(enum edo_upd_version v)
{
	const char *vs = v == EDO_UPD_501 ? "5.01" : "5.02";
	struct edo_upd_info info;
	struct core_error err = { 0 };
	unsigned char *xml;
	size_t len, blen = 0;
	char *name, *broken;

	make(v, &buyer, &xml, &len, &name);
	if (xml == NULL)
		return;
	/* windows-1251 bytes of НалСт="20%" -> "25%" */
	broken = replace(xml, len, "=\"20%\"", "=\"25%\"", &blen);
	ok(edo_upd_detect(name, (unsigned char *)broken, blen, &info) == 1,
	   "%s: a broken УПД is still detected", vs);
	ok(edo_upd_validate(name, &info, (unsigned char *)broken, blen,
			    &err) < 0, "%s: a wrong VAT rate fails", vs);
	ok(strstr(err.msg, "/Файл/Документ/ТаблСчФакт/СведТов") != NULL &&
	   strstr(err.msg, "НалСт") != NULL &&
	   strstr(err.msg, "строка / line") != NULL &&
	   strstr(err.msg, "не соответствует схеме ФНС / does not match") != NULL,
	   "%s: the message names the path, attribute and line: %s", vs,
	   err.msg);
	free(broken);
	broken = xstrndup((const char *)xml, len / 2);
	blen = len / 2;
	ok(edo_upd_detect(name, (unsigned char *)broken, blen, &info) == 1 &&
	   info.malformed, "%s: not well-formed: detected, malformed", vs);
	ok(edo_upd_validate(name, &info, (unsigned char *)broken, blen,
			    &err) < 0 && strstr(err.msg, "malformed XML") != NULL,
	   "%s: malformed XML refused: %s", vs, err.msg);
	free(broken);
	free(xml);
	free(name);
}

static void test_bad_input(void)
{
	static const struct edo_upd_item bad_vat[] = {
		{ "Товар", "шт", "1", "10", "25%" } };
	static const struct edo_upd_item bad_qty[] = {
		{ "Товар", "шт", "много", "10", "20%" } };
	static const struct edo_upd_item old_vat[] = {
		{ "Товар", "шт", "1", "10", "18%" } };
	struct edo_upd_seller_req req;
	struct core_error err = { 0 };
	unsigned char *xml = NULL;
	size_t len;
	char *name = NULL;

	memset(&req, 0, sizeof(req));
	req.version = EDO_UPD_502;
	req.seller = seller;
	req.buyer = buyer;
	req.number = "1";
	req.date = TEST_TS;
	req.items = bad_vat;
	req.n_items = 1;
	ok(edo_upd_make_seller(&req, &xml, &len, &name, &err) < 0 &&
	   strstr(err.msg, "НДС") != NULL, "unknown VAT rate: %s", err.msg);
	req.items = bad_qty;
	ok(edo_upd_make_seller(&req, &xml, &len, &name, &err) < 0 &&
	   strstr(err.msg, "количество") != NULL, "bad quantity: %s", err.msg);
	req.items = old_vat;
	ok(edo_upd_make_seller(&req, &xml, &len, &name, &err) < 0,
	   "18%% is not in 5.02");
	req.version = EDO_UPD_501;
	ok(edo_upd_make_seller(&req, &xml, &len, &name, &err) == 0,
	   "18%% is in 5.01: %s", err.msg);
	free(xml);
	free(name);
	req.buyer.inn = "7707083894";
	ok(edo_upd_make_seller(&req, &xml, &len, &name, &err) < 0 &&
	   strstr(err.msg, "ИНН") != NULL, "bad ИНН refused: %s", err.msg);
}

static void test_table(enum edo_upd_version v)
{
	const char *vs = v == EDO_UPD_501 ? "5.01" : "5.02";
	struct edo_upd_doc d;
	struct core_error err = { 0 };
	unsigned char *xml;
	size_t len;
	char *name, *t, *en;

	make(v, &buyer, &xml, &len, &name);
	if (xml == NULL)
		return;
	ok(edo_upd_parse(xml, len, &d, &err) == 0, "%s: parsed: %s", vs,
	   err.msg);
	ok(strcmp(d.number, "УПД-17") == 0 && strcmp(d.date, "01.03.2024") == 0 &&
	   strcmp(d.seller.inn, "7707083893") == 0 &&
	   strcmp(d.buyer.inn, "7736050003") == 0 && d.n_lines == 4,
	   "%s: number, date, parties, lines", vs);
	/* 2500 + 1500 + 249.98 (2.5 * 99.99 = 249.975, half up) + 3000 */
	ok(strcmp(d.lines[2].net, "249.98") == 0 &&
	   strcmp(d.lines[2].vat, "25.00") == 0 &&
	   strcmp(d.lines[3].vat, "без НДС") == 0 &&
	   strcmp(d.total_net, "7249.98") == 0 &&
	   strcmp(d.total_vat, "825.00") == 0 &&
	   strcmp(d.total_gross, "8074.98") == 0,
	   "%s: amounts and totals: %s %s %s", vs, d.total_net, d.total_vat,
	   d.total_gross);
	t = edo_upd_table(&d, 0);
	en = edo_upd_table(&d, 1);
	if (!ok(t != NULL && en != NULL, "%s: both tables made", vs)) {
		free(t);
		free(en);
		edo_upd_doc_clear(&d);
		free(xml);
		free(name);
		return;
	}
	ok(strstr(t, "УПД № УПД-17 от 01.03.2024") != NULL &&
	   strstr(t, "Продавец:   ООО «Ромашка», ИНН 7707083893, КПП 770701001") != NULL &&
	   strstr(t, "Покупатель: АО «Лютик», ИНН 7736050003") != NULL &&
	   strstr(t, "Бумага А4, 500 листов") != NULL &&
	   strstr(t, "Всего к оплате") != NULL &&
	   strstr(t, "Итого: без НДС 7249.98, НДС 825.00, всего к оплате 8074.98") != NULL,
	   "%s: the Russian table", vs);
	/* shown for the eye as TAP comments: a bare line breaks TAP */
	for (const char *p = t, *nl; p != NULL && *p != '\0';
	     p = nl != NULL ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		printf("# %.*s\n", (int)(nl != NULL ? nl - p : (long)strlen(p)),
		       p);
	}
	/* aligned: every row of the table ends its Total column at the
	 * same character */
	{
		const char *row1 = strstr(t, "Бумага"), *row2 = strstr(t, "Доставка");
		const char *e1 = strchr(row1, '\n'), *e2 = strchr(row2, '\n');
		char *l1 = xstrndup(row1, (size_t)(e1 - row1));
		char *l2 = xstrndup(row2, (size_t)(e2 - row2));
		long w1 = edo_utf8_chars(l1), w2 = edo_utf8_chars(l2);
		ok(w1 == w2 && strstr(l1, "3000.00") != NULL,
		   "%s: rows are aligned (%ld, %ld)", vs, w1, w2);
		free(l1);
		free(l2);
	}
	ok(strstr(en, "Seller: ООО «Ромашка», INN 7707083893") != NULL &&
	   strstr(en, "Total: net 7249.98, VAT 825.00, to pay 8074.98") != NULL,
	   "%s: the English table", vs);
	free(t);
	free(en);
	edo_upd_doc_clear(&d);
	free(xml);
	free(name);
}

static void test_buyer(enum edo_upd_version v)
{
	static const char *const xsd[] = {
		"ON_NSCHFDOPPOK_1_997_02_05_01_02.xsd",
		"ON_NSCHFDOPPOK_1_997_02_05_02_01.xsd",
	};
	const char *vs = v == EDO_UPD_501 ? "5.01" : "5.02";
	struct edo_upd_signer signer = { "Сидоров", "Сидор Сидорович", NULL,
					 "Главный бухгалтер", "7736050003" };
	struct edo_upd_signer no_pos = { "Сидоров", "Сидор", NULL, NULL, NULL };
	struct edo_upd_info info;
	struct core_error err = { 0 };
	unsigned char *xml, *bxml = NULL;
	size_t len, blen;
	char *name, *bname = NULL;
	struct edo_upd_org other = buyer;

	make(v, &buyer, &xml, &len, &name);
	if (xml == NULL)
		return;
	ok(edo_upd_make_buyer(xml, len, &seller_sigs, &signer, &buyer,
			      seller.id, TEST_TS + 3600, &bxml, &blen, &bname,
			      &err) == 0, "%s: buyer's title made: %s", vs,
	   err.msg);
	if (bxml != NULL) {
		ok(strncmp(bname, "ON_NSCHFDOPPOK_2ED0123456789ABCDEF0123456789ABCDEF_"
			   "2EDFEDCBA9876543210FEDCBA9876543210_20240301_",
			   94) == 0, "%s: buyer's file name: %s", vs, bname);
		ok(edo_upd_detect(bname, bxml, blen, &info) == 1 &&
		   info.title == EDO_UPD_BUYER && info.version == v,
		   "%s: detected as a buyer's title of the same version", vs);
		ok(edo_upd_validate(bname, &info, bxml, blen, &err) == 0,
		   "%s: buyer's title validates: %s", vs, err.msg);
		if (have_xmllint())
			ok(xmllint_ok(bxml, blen, bname, xsd[v]),
			   "%s: xmllint agrees on the buyer's title", vs);
		/* the seller's file and signature are quoted */
		{
			char *stem = xstrndup(name, strlen(name) - 4);
			ok(strstr((char *)bxml, stem) != NULL &&
			   strstr((char *)bxml, "MIIBAt6t") != NULL,
			   "%s: quotes the seller's ИдФайл and ЭП", vs);
			free(stem);
		}
	}
	free(bxml);
	free(bname);
	bxml = NULL;
	bname = NULL;
	ok(edo_upd_make_buyer(xml, len, &seller_sigs, &no_pos, &buyer,
			      seller.id, TEST_TS, &bxml, &blen, &bname,
			      &err) == 0, "%s: without a position: %s", vs,
	   err.msg);
	free(bxml);
	free(bname);
	bxml = NULL;
	other.inn = "7707083893";
	ok(edo_upd_make_buyer(xml, len, &seller_sigs, &no_pos, &other,
			      seller.id, TEST_TS, &bxml, &blen, &bname,
			      &err) < 0 && strstr(err.msg, "ИНН") != NULL,
	   "%s: another organization cannot sign as the buyer: %s", vs,
	   err.msg);
	signer.inn = "7707083893";
	ok(edo_upd_make_buyer(xml, len, &seller_sigs, &signer, &buyer,
			      seller.id, TEST_TS, &bxml, &blen, &bname,
			      &err) < 0, "%s: certificate of another ИНН: %s",
	   vs, err.msg);
	ok(edo_upd_make_buyer(xml, len, NULL, &no_pos, &buyer, seller.id,
			      TEST_TS, &bxml, &blen, &bname, &err) < 0,
	   "%s: the seller's signature is required", vs);
	xml[len / 2] = '<';
	ok(edo_upd_make_buyer(xml, len, &seller_sigs, &no_pos, &buyer,
			      seller.id, TEST_TS, &bxml, &blen, &bname,
			      &err) < 0, "%s: a broken seller's title: %s", vs,
	   err.msg);
	free(xml);
	free(name);
}

int main(void)
{
	log_init("test-edo-upd", LOG_LVL_WARN);
	setenv("EDOMAIL_FORMATS_DIR", EDOMAIL_SOURCE_ROOT "/data/formats", 1);
	for (int v = EDO_UPD_501; v <= EDO_UPD_502; v++) {
		test_seller((enum edo_upd_version)v);
		test_broken((enum edo_upd_version)v);
		test_table((enum edo_upd_version)v);
		test_buyer((enum edo_upd_version)v);
	}
	test_bad_input();
	edo_upd_cleanup();
	return op_t_done();
}
