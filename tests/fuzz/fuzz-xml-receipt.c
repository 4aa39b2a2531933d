/* The operator's FNS XML readers: receipt notices (ИоП, DP_IZVPOL) and the
 * operator's date confirmations (ДП ПДОтпр / ПДПол) come from other
 * parties and go through edo_fns_validate (libxml2 parse without
 * network or DTD, then XSD validation).  Each input is
 *  1. validated as-is against each of the three formats: any bytes must
 *     give 0 or an INVALID error with a "Русский / English" text;
 *  2. read as field values for edo_fns_izvpol/edo_fns_pdotpr:
 *     a document they return (windows-1251, serialized) must validate again
 *     when read back, since the counteragent's side reads exactly those
 *     bytes;
 *  3. split as a person's name (edo_fns_split_name), and the pure
 *     validators see it.
 * The schemas are parsed once and cached by the operator module; they are
 * found through EDOMAIL_FORMATS_DIR or the source tree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "edo/edo.h"
#include "edo/edo-fns.h"

#include "fuzz-common.h"

#define FUZZ_XML_MAX_STR 1200
#define FUZZ_XML_MAX_SIG 2048
/* 9999-12-31T23:59:59Z */
#define FUZZ_XML_MAX_TIME 253402300799LL

static void fuzz_xml_error(const struct core_error *err)
{
	FUZZ_CHECK(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
	if (err->cls != CORE_ERR_INVALID) {
		/* TEMP: the schemas are not where the operator looks */
		fprintf(stderr, "fuzz: error class %d: %s\n", (int)err->cls,
			err->msg);
		abort();
	}
	FUZZ_CHECK(strstr(err->msg, " / ") != NULL);
}

static void fuzz_xml_validate(const uint8_t *data, size_t size)
{
	static const enum edo_fns_format fmts[] = {
		EDO_FNS_IZVPOL, EDO_FNS_PDOTPR, EDO_FNS_PDPOL,
	};

	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		struct core_error err;

		memset(&err, 0, sizeof(err));
		int ret = edo_fns_validate(fmts[i], data, size, &err);
		if (fuzz_debug())
			fprintf(stderr, "validate %d: %d %s\n", (int)fmts[i],
				ret, ret < 0 ? err.msg : "");
		if (ret < 0)
			fuzz_xml_error(&err);
	}
}

/* ---- documents built from the input ---- */

struct fuzz_xml {
	struct fuzz_input in;
	char *strs[64];
	size_t n_strs;
	const unsigned char *sigs[3];
	size_t sig_lens[3];
};

static const char *fuzz_xml_str(struct fuzz_xml *x)
{
	char *s = fuzz_str(&x->in, FUZZ_XML_MAX_STR);

	if (x->n_strs == sizeof(x->strs) / sizeof(x->strs[0])) {
		free(s);
		return "";
	}
	x->strs[x->n_strs++] = s;
	return s;
}

/* A real-looking value half of the time, so the builders get past their
 * first checks; any bytes the other half. */
static const char *fuzz_xml_pick(struct fuzz_xml *x, const char *real)
{
	return fuzz_bool(&x->in) ? real : fuzz_xml_str(x);
}

static void fuzz_xml_party(struct fuzz_xml *x, struct edo_fns_party *p)
{
	int ip = fuzz_bool(&x->in);

	p->id = fuzz_xml_pick(x, "2ED0123456789ABCDEF0123456789ABCDEF");
	p->name = fuzz_xml_pick(x, ip ? "ИП Иванов Иван Иванович" :
				"ООО «Ромашка»");
	p->inn = fuzz_xml_pick(x, ip ? "500100732259" : "7707083893");
	p->kpp = ip ? NULL : fuzz_xml_pick(x, "773601001");
}

static void fuzz_xml_file(struct fuzz_xml *x, struct edo_fns_file *f)
{
	size_t n = 1 + fuzz_u8(&x->in) % 3;

	f->name = fuzz_xml_pick(x, "Договор №1.pdf");
	for (size_t i = 0; i < n; i++)
		x->sigs[i] = fuzz_bytes(&x->in, FUZZ_XML_MAX_SIG,
					&x->sig_lens[i]);
	f->sigs = x->sigs;
	f->sig_lens = x->sig_lens;
	f->n_sigs = n;
}

static int64_t fuzz_xml_time(struct fuzz_xml *x)
{
	return fuzz_time(&x->in, FUZZ_XML_MAX_TIME);
}

/* What a builder returned must read back as a valid document. */
static void fuzz_xml_built(enum edo_fns_format fmt, int ret,
			   unsigned char *xml, size_t len, char *file_name,
			   const struct core_error *err)
{
	struct core_error err2;

	if (fuzz_debug())
		fprintf(stderr, "build %d: %d %s\n", (int)fmt, ret,
			ret < 0 ? err->msg : file_name);
	if (ret < 0) {
		fuzz_xml_error(err);
		free(xml);
		free(file_name);
		return;
	}
	FUZZ_CHECK(xml != NULL && len > 0 && file_name != NULL);
	FUZZ_CHECK(strlen(file_name) > 4 &&
		   strcmp(file_name + strlen(file_name) - 4, ".xml") == 0);
	memset(&err2, 0, sizeof(err2));
	if (edo_fns_validate(fmt, xml, len, &err2) < 0) {
		fprintf(stderr, "fuzz: built document does not validate: %s\n"
			"%.*s\n", err2.msg, (int)len, (const char *)xml);
		abort();
	}
	free(xml);
	free(file_name);
}

static void fuzz_xml_build(const uint8_t *data, size_t size)
{
	struct fuzz_xml x;
	struct edo_fns_izvpol iz;
	struct edo_fns_pdotpr pd;
	struct core_error err;
	unsigned char *xml = NULL;
	size_t len = 0;
	char *file_name = NULL;
	int ret;

	memset(&x, 0, sizeof(x));
	fuzz_input_init(&x.in, data, size);
	if (fuzz_bool(&x.in)) {
		memset(&iz, 0, sizeof(iz));
		fuzz_xml_party(&x, &iz.receiver);
		fuzz_xml_party(&x, &iz.sender);
		fuzz_xml_file(&x, &iz.file);
		iz.signer.surname = fuzz_xml_pick(&x, "Иванов");
		iz.signer.given_name = fuzz_xml_pick(&x, "Иван");
		iz.signer.patronymic = fuzz_bool(&x.in) ? NULL :
			fuzz_xml_pick(&x, "Иванович");
		iz.signer.position = fuzz_bool(&x.in) ? NULL :
			fuzz_xml_pick(&x, "Генеральный директор");
		iz.received = fuzz_xml_time(&x);
		memset(&err, 0, sizeof(err));
		ret = edo_fns_izvpol(&iz, &xml, &len, &file_name, &err);
		fuzz_xml_built(EDO_FNS_IZVPOL, ret, xml, len, file_name,
			       &err);
	} else {
		memset(&pd, 0, sizeof(pd));
		pd.oper_name = fuzz_xml_pick(&x, "Оператор ЭДО edomail");
		pd.oper_inn = fuzz_xml_pick(&x, "7700000016");
		pd.oper_id = fuzz_xml_pick(&x, "2ED");
		fuzz_xml_party(&x, &pd.sender);
		fuzz_xml_party(&x, &pd.recipient);
		fuzz_xml_file(&x, &pd.file);
		pd.sent = fuzz_xml_time(&x);
		memset(&err, 0, sizeof(err));
		ret = edo_fns_pdotpr(&pd, &xml, &len, &file_name, &err);
		fuzz_xml_built(EDO_FNS_PDOTPR, ret, xml, len, file_name,
			       &err);
	}
	for (size_t i = 0; i < x.n_strs; i++)
		free(x.strs[i]);
}

/* ---- pure helpers ---- */

static void fuzz_xml_pure(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);	/* stops at a NUL */
	char *surname = NULL, *given = NULL, *patronymic = NULL;

	if (edo_fns_split_name(s, &surname, &given, &patronymic) == 0) {
		FUZZ_CHECK(surname != NULL && *surname != '\0');
		FUZZ_CHECK(given != NULL && patronymic != NULL);
		free(surname);
		free(given);
		free(patronymic);
	}
	(void)edo_inn_valid(s);
	(void)edo_kpp_valid(s);
	(void)edo_id_valid(s, 1, 46);
	long chars = edo_utf8_chars(s);
	FUZZ_CHECK(chars == -1 || (size_t)chars <= strlen(s));
	if (util_utf8_valid((const unsigned char *)s, strlen(s)))
		FUZZ_CHECK(chars >= 0);
	free(s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* a missing schema is logged: say it once, not per input */
	log_init("fuzz-xml-receipt", LOG_LVL_WARN);
	atexit(edo_fns_cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_xml_validate(data, size);
	fuzz_xml_build(data, size);
	fuzz_xml_pure(data, size);
	return 0;
}
