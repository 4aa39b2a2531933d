/* The УПД reader (src/edo/edo-upd.c): a seller's title arrives from a
 * counteragent or from the user's own attachment.  Each input is taken
 * as a file of each name a УПД may have (5.01/5.02, seller/buyer) and
 * as a plain attachment.  Checked beyond "no crash, no leak, no UB":
 *   - detection never claims a file not named like a УПД;
 *   - validation gives 0 or INVALID with a "Русский / English" text;
 *   - a seller's title that validates is read (edo_upd_parse), every
 *     string set and UTF-8, and the readable table in both languages is
 *     UTF-8 and names the document's number;
 *   - reading never needs validation first: any well-formed XML is read
 *     or refused, bilingual. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "edo/edo-upd.h"

#include "fuzz-common.h"

static const char *const fuzz_upd_names[] = {
	"ON_NSCHFDOPPR_2ED1_2ED2_20260101_a.xml",
	"ON_NSCHFDOPPOK_2ED2_2ED1_20260101_b.xml",
	"Счёт.xml",
	"ON_NSCHFDOPPR_2ED1_2ED2_20260101_a.pdf",
};

static void fuzz_upd_refused(const struct core_error *err)
{
	FUZZ_CHECK(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
	FUZZ_CHECK(err->cls == CORE_ERR_INVALID);
	FUZZ_CHECK(strstr(err->msg, " / ") != NULL);
}

static int fuzz_upd_utf8(const char *s)
{
	return s != NULL && util_utf8_valid((const unsigned char *)s,
					     strlen(s));
}

static void fuzz_upd_read(const uint8_t *data, size_t size)
{
	struct edo_upd_doc doc;
	struct core_error err;
	char *t;

	memset(&err, 0, sizeof(err));
	memset(&doc, 0, sizeof(doc));
	if (edo_upd_parse(data, size, &doc, &err) < 0) {
		fuzz_upd_refused(&err);
		edo_upd_doc_clear(&doc);
		return;
	}
	FUZZ_CHECK(fuzz_upd_utf8(doc.file_id) && fuzz_upd_utf8(doc.number));
	FUZZ_CHECK(fuzz_upd_utf8(doc.seller.name) &&
		   fuzz_upd_utf8(doc.buyer.inn));
	for (size_t i = 0; i < doc.n_lines; i++)
		FUZZ_CHECK(fuzz_upd_utf8(doc.lines[i].name) &&
			   fuzz_upd_utf8(doc.lines[i].gross));
	for (int en = 0; en < 2; en++) {
		t = edo_upd_table(&doc, en);
		FUZZ_CHECK(fuzz_upd_utf8(t));
		FUZZ_CHECK(strstr(t, doc.number) != NULL);
		free(t);
	}
	edo_upd_doc_clear(&doc);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz-upd", LOG_LVL_WARN);
	atexit(edo_upd_cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < sizeof(fuzz_upd_names) /
	     sizeof(fuzz_upd_names[0]); i++) {
		struct edo_upd_info info;
		struct core_error err;
		const char *name = fuzz_upd_names[i];
		int d = edo_upd_detect(name, data, size, &info);

		FUZZ_CHECK(d == 0 || d == 1);
		if (d == 0)
			continue;
		FUZZ_CHECK(strncmp(name, "ON_NSCHFDOPP", 12) == 0 &&
			   strcmp(name + strlen(name) - 4, ".xml") == 0);
		memset(&err, 0, sizeof(err));
		if (edo_upd_validate(name, &info, data, size, &err) < 0)
			fuzz_upd_refused(&err);
	}
	fuzz_upd_read(data, size);
	return 0;
}
