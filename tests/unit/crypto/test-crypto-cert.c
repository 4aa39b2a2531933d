/* Certificate facts: Russian OIDs written by crypto_make_self_signed and
 * parsed back by crypto_cert_info, encodings the CAs use, key types,
 * status thresholds and key/certificate matching. */
#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"
#include "tap.h"

#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static X509 *parse(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return x;
}

/* The ASN.1 string type of a subject field, -1 if absent. */
static int field_type(X509 *x, const char *oid)
{
	X509_NAME *name = X509_get_subject_name(x);
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	int i = X509_NAME_get_index_by_OBJ(name, obj, -1);
	ASN1_OBJECT_free(obj);
	if (i < 0)
		return -1;
	return ASN1_STRING_type(X509_NAME_ENTRY_get_data(
					X509_NAME_get_entry(name, i)));
}

static void test_legal_entity(const char *type)
{
	struct crypto_make_cert_req req = {
		.key_type = type,
		.common_name = "ООО «Ромашка»",
		.org_name = "ООО «Ромашка»",
		.inn = "7707083893",
		.ogrn = "1027700132195",
		.snils = "12345678901",
		.surname = "Петров",
		.given_name = "Пётр Петрович",
		.email = "buh@romashka.example",
	};
	char *cert = NULL, *key = NULL, *error = NULL;
	struct crypto_cert_info info;

	int r = crypto_make_self_signed(&req, &cert, &key, &error);
	if (!ok(r == 0, "%s: make (%s)", type, error ? error : "ok")) {
		free(error);
		return;
	}
	ok(tap_contains(cert, "BEGIN CERTIFICATE") &&
	   tap_contains(key, "BEGIN PRIVATE KEY"), "%s: PEM output", type);
	ok(crypto_cert_info(cert, &info, &error) == 0, "%s: cert info", type);
	ok(info.inn != NULL && strcmp(info.inn, "7707083893") == 0,
	   "%s: ИННЮЛ parsed back: %s", type, info.inn);
	ok(info.ogrn != NULL && strcmp(info.ogrn, "1027700132195") == 0,
	   "%s: ОГРН parsed back", type);
	ok(info.snils != NULL && strcmp(info.snils, "12345678901") == 0,
	   "%s: СНИЛС parsed back", type);
	ok(info.common_name && strcmp(info.common_name, "ООО «Ромашка»") == 0,
	   "%s: CN", type);
	ok(info.org_name && strcmp(info.org_name, "ООО «Ромашка»") == 0,
	   "%s: O", type);
	ok(info.surname && strcmp(info.surname, "Петров") == 0,
	   "%s: SN", type);
	ok(info.given_name && strcmp(info.given_name, "Пётр Петрович") == 0,
	   "%s: GN", type);
	ok(info.email && strcmp(info.email, "buh@romashka.example") == 0,
	   "%s: email", type);
	ok(info.key_type && strcmp(info.key_type, type) == 0,
	   "%s: key type %s", type, info.key_type);
	ok(tap_contains(info.subject, "CN=ООО «Ромашка»") &&
	   util_utf8_valid((const unsigned char *)info.subject,
			   strlen(info.subject)),
	   "%s: subject is readable UTF-8: %s", type, info.subject);
	ok(info.issuer && strcmp(info.issuer, info.subject) == 0,
	   "%s: self-issued", type);
	ok(info.thumbprint && strlen(info.thumbprint) == 40,
	   "%s: thumbprint", type);
	int64_t now = util_now();
	ok(info.not_before <= now && info.not_after > now + 360 * 86400LL &&
	   info.not_after < now + 370 * 86400LL, "%s: default validity 1 year",
	   type);
	crypto_cert_info_clear(&info);
	ok(info.subject == NULL, "%s: info cleared", type);

	X509 *x = parse(cert);
	ok(field_type(x, "1.2.643.100.4") == V_ASN1_NUMERICSTRING,
	   "%s: ИННЮЛ is NumericString", type);
	ok(field_type(x, "1.2.643.100.1") == V_ASN1_NUMERICSTRING,
	   "%s: ОГРН is NumericString", type);
	ok(field_type(x, "2.5.4.3") == V_ASN1_UTF8STRING,
	   "%s: CN is UTF8String", type);
	uint32_t ku = X509_get_key_usage(x);
	ok((ku & KU_DIGITAL_SIGNATURE) && (ku & KU_NON_REPUDIATION) &&
	   (ku & KU_KEY_ENCIPHERMENT), "%s: key usage", type);
	if (strcmp(type, "rsa") != 0)
		ok((ku & KU_KEY_AGREEMENT) != 0, "%s: keyAgreement", type);
	ok(X509_get_version(x) == X509_VERSION_3, "%s: X.509 v3", type);
	X509_free(x);

	ok(crypto_check_key_pair(cert, key, &error) == 0, "%s: key matches",
	   type);
	char *name = xasprintf("cert-%s.pem", type);
	tap_write(name, cert, strlen(cert));
	ok(tap_sh("openssl x509 -noout -text -in %s %s | grep -q "
		  "'Non Repudiation'", name,
		  strncmp(type, "gost", 4) == 0 ? "-engine gost 2>/dev/null" :
		  "") == 0, "%s: openssl x509 reads it", type);
	free(name);
	free(cert);
	free(key);
}

static void test_person_inn(void)
{
	struct crypto_make_cert_req req = {
		.key_type = "ec",
		.common_name = "Индивидуальный предприниматель Сидоров",
		.inn = "500100732259",
		.ogrn = "304500116000157",
	};
	char *cert = NULL, *key = NULL, *error = NULL;
	struct crypto_cert_info info;

	if (!ok(crypto_make_self_signed(&req, &cert, &key, &error) == 0,
		"ИП: make"))
		return;
	crypto_cert_info(cert, &info, &error);
	ok(info.inn && strcmp(info.inn, "500100732259") == 0,
	   "ИП: 12-digit ИНН parsed back: %s", info.inn);
	ok(info.ogrn && strcmp(info.ogrn, "304500116000157") == 0,
	   "ИП: ОГРНИП parsed back");
	ok(info.org_name == NULL && info.surname == NULL,
	   "ИП: absent fields are NULL");
	X509 *x = parse(cert);
	ok(field_type(x, "1.2.643.3.131.1.1") == V_ASN1_NUMERICSTRING,
	   "ИП: ИНН is NumericString");
	ok(field_type(x, "1.2.643.100.4") == -1, "ИП: no ИННЮЛ");
	X509_free(x);
	crypto_cert_info_clear(&info);
	free(cert);
	free(key);
}

/* A certificate from the openssl CLI in the old style: a legal entity's
 * ИНН padded to 12 digits in the ИНН field, no ИННЮЛ. */
static void test_cli_old_style(void)
{
	char *path = tap_path("old.pem");
	unsigned char *pem = NULL;
	size_t len;
	struct crypto_cert_info info;
	char *error = NULL;

	int r = tap_sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout "
		       "old.key -out old.pem -days 10 -utf8 -subj "
		       "'/CN=Старый сертификат/O=АО Тест/1.2.643.3.131.1.1="
		       "007707083893' 2>/dev/null");
	if (!ok(r == 0 && util_read_file(path, &pem, &len) == 0,
		"CLI certificate made")) {
		free(path);
		return;
	}
	ok(crypto_cert_info((const char *)pem, &info, &error) == 0,
	   "CLI certificate parsed");
	ok(info.inn && strcmp(info.inn, "7707083893") == 0,
	   "padded ИНН unwrapped to 10 digits: %s", info.inn);
	ok(info.not_after - info.not_before == 10 * 86400,
	   "validity from the CLI");
	ok(info.common_name && strcmp(info.common_name, "Старый сертификат") == 0,
	   "CLI CN in Cyrillic");
	crypto_cert_info_clear(&info);
	free(pem);
	free(path);
}

static void test_bad_requests(void)
{
	struct crypto_make_cert_req req = {
		.key_type = "rsa", .common_name = "x", .inn = "12345",
	};
	char *cert = NULL, *key = NULL, *error = NULL;
	int r;

	r = crypto_make_self_signed(&req, &cert, &key, &error);
	ok(r < 0 && tap_contains(error, "INN must be 10 or 12 digits"),
	   "short ИНН refused: %s", error);
	free(error);
	error = NULL;

	req.inn = "77070838AB";
	r = crypto_make_self_signed(&req, &cert, &key, &error);
	ok(r < 0 && error != NULL, "letters in ИНН refused");
	free(error);
	error = NULL;

	req.inn = NULL;
	req.key_type = "dsa";
	r = crypto_make_self_signed(&req, &cert, &key, &error);
	ok(r < 0 && tap_contains(error, "unknown key type"),
	   "unknown key type refused: %s", error);
	free(error);
	error = NULL;

	req.key_type = "rsa";
	req.common_name = "";
	r = crypto_make_self_signed(&req, &cert, &key, &error);
	ok(r < 0 && tap_contains(error, "common name"), "empty CN refused");
	free(error);
	error = NULL;

	req.common_name = "\xff\xfe";
	r = crypto_make_self_signed(&req, &cert, &key, &error);
	ok(r < 0 && error != NULL, "invalid UTF-8 refused: %s", error);
	free(error);
	error = NULL;

	req.common_name = "x";
	req.not_before = 2000;
	req.not_after = 1000;
	r = crypto_make_self_signed(&req, &cert, &key, &error);
	ok(r < 0 && error != NULL, "reversed validity refused");
	free(error);
	error = NULL;

	struct crypto_cert_info info;
	r = crypto_cert_info("-----BEGIN CERTIFICATE-----\nAAAA\n"
			     "-----END CERTIFICATE-----\n", &info, &error);
	ok(r < 0 && tap_contains(error, "cannot parse"),
	   "corrupt PEM refused: %s", error);
	free(error);
}

static void test_status(void)
{
	const int64_t day = 86400, now = 1700000000;

	ok(crypto_cert_status(now - day, now + 31 * day, now) ==
	   CRYPTO_CERT_ACTIVE, "31 days left: active");
	ok(crypto_cert_status(now - day, now + 30 * day + 1, now) ==
	   CRYPTO_CERT_ACTIVE, "30 days and a second: active");
	ok(crypto_cert_status(now - day, now + 30 * day, now) ==
	   CRYPTO_CERT_EXPIRING, "30 days: expiring");
	ok(crypto_cert_status(now - day, now + 1, now) ==
	   CRYPTO_CERT_EXPIRING, "1 second: expiring");
	ok(crypto_cert_status(now - day, now, now) == CRYPTO_CERT_EXPIRING,
	   "last second: expiring");
	ok(crypto_cert_status(now - 9 * day, now - 1, now) ==
	   CRYPTO_CERT_INVALID, "expired: invalid");
	ok(crypto_cert_status(now + 1, now + 99 * day, now) ==
	   CRYPTO_CERT_INVALID, "not yet valid: invalid");
	/* trust.expiry_warning_days */
	crypto_cert_expiry_warning_set(7);
	ok(crypto_cert_status(now - day, now + 8 * day, now) ==
	   CRYPTO_CERT_ACTIVE, "warning 7 days: 8 days left is active");
	ok(crypto_cert_status(now - day, now + 7 * day, now) ==
	   CRYPTO_CERT_EXPIRING, "warning 7 days: 7 days left is expiring");
	crypto_cert_expiry_warning_set(0);
	ok(crypto_cert_expiry_warning() == 7 * day, "0 leaves it unchanged");
	crypto_cert_expiry_warning_set(30);
	ok(strcmp(crypto_cert_status_name(CRYPTO_CERT_ACTIVE), "Активен") == 0,
	   "name: Активен");
	ok(strcmp(crypto_cert_status_name(CRYPTO_CERT_EXPIRING),
		  "Скоро истекает") == 0, "name: Скоро истекает");
	ok(strcmp(crypto_cert_status_name(CRYPTO_CERT_INVALID),
		  "Недействителен") == 0, "name: Недействителен");
}

static void test_expired_and_pairs(void)
{
	int64_t now = util_now();
	struct crypto_make_cert_req req = {
		.key_type = "rsa", .common_name = "Просроченный",
		.not_before = now - 400 * 86400LL, .not_after = now - 86400,
	};
	char *c1 = NULL, *k1 = NULL, *c2 = NULL, *k2 = NULL, *error = NULL;
	struct crypto_cert_info info;

	if (!ok(crypto_make_self_signed(&req, &c1, &k1, &error) == 0,
		"expired certificate can be made"))
		return;
	crypto_cert_info(c1, &info, &error);
	ok(info.not_after == now - 86400 && info.not_before == now - 400 * 86400LL,
	   "validity exactly as requested");
	ok(crypto_cert_status(info.not_before, info.not_after, now) ==
	   CRYPTO_CERT_INVALID, "its status is Недействителен");
	crypto_cert_info_clear(&info);

	req.not_before = 0;
	req.not_after = now + 10 * 86400LL;
	req.key_type = "rsa";
	crypto_make_self_signed(&req, &c2, &k2, &error);
	crypto_cert_info(c2, &info, &error);
	/* not_before is the moment of creation, later than `now`. */
	ok(crypto_cert_status(info.not_before, info.not_after, util_now()) ==
	   CRYPTO_CERT_EXPIRING, "10 days left: Скоро истекает");
	crypto_cert_info_clear(&info);

	int r = crypto_check_key_pair(c1, k2, &error);
	ok(r < 0 && tap_contains(error, "does not match"),
	   "mismatched key detected: %s", error);
	free(error);
	error = NULL;
	r = crypto_check_key_pair(c1, "not a key", &error);
	ok(r < 0 && tap_contains(error, "private key"), "garbage key: %s",
	   error);
	free(error);
	free(c1);
	free(k1);
	free(c2);
	free(k2);
}

static int cert_info_same(const struct crypto_cert_info *a,
			  const struct crypto_cert_info *b)
{
	const char *sa[] = { a->subject, a->issuer, a->serial, a->thumbprint,
			     a->key_type, a->common_name, a->org_name, a->inn,
			     a->surname, a->given_name, a->ogrn, a->snils,
			     a->email, a->innle, a->inn_fl, a->title };
	const char *sb[] = { b->subject, b->issuer, b->serial, b->thumbprint,
			     b->key_type, b->common_name, b->org_name, b->inn,
			     b->surname, b->given_name, b->ogrn, b->snils,
			     b->email, b->innle, b->inn_fl, b->title };

	if (a->not_before != b->not_before || a->not_after != b->not_after)
		return 0;
	for (size_t i = 0; i < sizeof(sa) / sizeof(sa[0]); i++) {
		if ((sa[i] == NULL) != (sb[i] == NULL))
			return 0;
		if (sa[i] != NULL && strcmp(sa[i], sb[i]) != 0)
			return 0;
	}
	return 1;
}

/* crypto_cert_info keeps the facts of the certificates it read (issue
 * 10): a second read, a read after 40 others pushed it out, and a read
 * after the cache was emptied all give the very facts of the first. */
static void test_info_cache(void)
{
	struct crypto_make_cert_req req = {
		.key_type = "rsa", .common_name = "ИП Кэшев",
		.surname = "Кэшев", .given_name = "Иван",
		.inn = "500100732259",
	};
	char *cert = NULL, *key = NULL, *other = NULL, *okey = NULL;
	char *error = NULL;
	struct crypto_cert_info first, again;
	int same = 1;

	crypto_cert_info_cache_clear();
	if (!ok(crypto_make_self_signed(&req, &cert, &key, &error) == 0,
		"cache: certificate made"))
		return;
	ok(crypto_cert_info(cert, &first, &error) == 0, "cache: first read");
	ok(crypto_cert_info(cert, &again, &error) == 0 &&
	   cert_info_same(&first, &again), "cache: a second read is the same");
	crypto_cert_info_clear(&again);
	req.common_name = "Другой";
	ok(crypto_make_self_signed(&req, &other, &okey, &error) == 0,
	   "cache: another certificate");
	for (int i = 0; i < 40; i++) {
		/* 40 other PEM texts (a trailing newline each) push the
		 * first out of the 32 entries */
		char *pem = xasprintf("%s%*s", other, i, "");
		struct crypto_cert_info oi;

		if (crypto_cert_info(pem, &oi, &error) != 0 ||
		    strcmp(oi.common_name, "Другой") != 0)
			same = 0;
		crypto_cert_info_clear(&oi);
		free(pem);
	}
	ok(same, "cache: 40 other texts read right");
	ok(crypto_cert_info(cert, &again, &error) == 0 &&
	   cert_info_same(&first, &again), "cache: read again after eviction");
	crypto_cert_info_clear(&again);
	crypto_cert_info_cache_clear();
	ok(crypto_cert_info(cert, &again, &error) == 0 &&
	   cert_info_same(&first, &again), "cache: read after clearing");
	crypto_cert_info_clear(&again);
	ok(crypto_cert_info("-----BEGIN CERTIFICATE-----\nAAAA\n"
			    "-----END CERTIFICATE-----\n", &again,
			    &error) < 0, "cache: a bad certificate still fails");
	free(error);
	crypto_cert_info_clear(&first);
	free(cert);
	free(key);
	free(other);
	free(okey);
}

int main(void)
{
	log_init("test-crypto-cert", getenv("TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_WARN);
	crypto_init();
	test_legal_entity("rsa");
	test_legal_entity("ec");
	if (crypto_gost_available())
		test_legal_entity("gost2012_256");
	else
		tap_skip("gost engine not installed", 1);
	test_person_inn();
	test_cli_old_style();
	test_bad_requests();
	test_status();
	test_expired_and_pairs();
	test_info_cache();
	crypto_cert_info_cache_clear();
	return tap_done();
}
