/* Rendering: a letter with Cyrillic-named documents and signatures,
 * re-parsed by libetpan; determinism; CRLF and line length; invitations,
 * contacts and notices. */
#include "mime/mime.h"
#include "mime-test.h"
#include "lib/util.h"

#include <libetpan/libetpan.h>
#include <string.h>

#define DOMAIN "edo.local"

static const char *const long_name =
	"Акт сверки взаимных расчётов за период с 01.01.2025 по 30.11.2025 "
	"между ООО «Ромашка» и ООО «Лютик» (подписан).xlsx";

/* Every line ends in CRLF, no bare CR or LF, no line over limit octets. */
static int lines_ok(const unsigned char *d, size_t len, size_t limit, size_t *longest_r)
{
	size_t col = 0, longest = 0;

	for (size_t i = 0; i < len; i++) {
		if (d[i] == '\r') {
			if (i + 1 >= len || d[i + 1] != '\n')
				return 0;
			if (col > longest)
				longest = col;
			col = 0;
			i++;
		} else if (d[i] == '\n' || d[i] == '\0') {
			return 0;
		} else {
			col++;
		}
	}
	*longest_r = longest;
	return col == 0 && longest <= limit;
}

static int has(const unsigned char *d, size_t len, const char *needle)
{
	return memmem(d, len, needle, strlen(needle)) != NULL;
}

/* The header block only (up to the first empty line). */
static char *headers_of(const unsigned char *d, size_t len)
{
	const char *end = memmem(d, len, "\r\n\r\n", 4);
	size_t n = end != NULL ? (size_t)(end - (const char *)d) + 2 : len;
	char *h = malloc(n + 1);

	memcpy(h, d, n);
	h[n] = '\0';
	return h;
}

struct fixture {
	unsigned char doc1[256], doc2[1000], sig1[300], sig2[310], sig3[320];
	unsigned char receipt[20], packet[50];
	struct core_entity ents[6];
	struct core_message msg;
	struct mime_sig_report reports[3];
	struct mime_render_msg r;
};

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < sizeof(f->doc1); i++)
		f->doc1[i] = (unsigned char)i;
	for (size_t i = 0; i < sizeof(f->doc2); i++)
		f->doc2[i] = (unsigned char)((i * 131 + 7) & 0xff);
	memset(f->sig1, 0x30, sizeof(f->sig1));
	memset(f->sig2, 0x31, sizeof(f->sig2));
	memset(f->sig3, 0x32, sizeof(f->sig3));
	memcpy(f->receipt, "<Файл/>", 9);
	memcpy(f->packet, "PK\x03\x04packet", 10);

	struct core_entity *e = f->ents;
	strcpy(e[0].id, "d0000000-0000-4000-8000-000000000001");
	e[0].kind = CORE_ENT_ATTACHMENT;
	e[0].file_name = "Счёт на оплату №15.pdf";
	e[0].content_type = "application/pdf";
	e[0].data = f->doc1;
	e[0].len = sizeof(f->doc1);
	strcpy(e[1].id, "d0000000-0000-4000-8000-000000000002");
	e[1].kind = CORE_ENT_ATTACHMENT;
	e[1].file_name = (char *)long_name;
	e[1].data = f->doc2;
	e[1].len = sizeof(f->doc2);
	strcpy(e[2].id, "50000000-0000-4000-8000-000000000001");
	e[2].kind = CORE_ENT_SIGNATURE;
	strcpy(e[2].parent_id, e[0].id);
	e[2].data = f->sig1;
	e[2].len = sizeof(f->sig1);
	strcpy(e[3].id, "50000000-0000-4000-8000-000000000002");
	e[3].kind = CORE_ENT_SIGNATURE;
	strcpy(e[3].parent_id, e[1].id);
	e[3].data = f->sig2;
	e[3].len = sizeof(f->sig2);
	strcpy(e[4].id, "50000000-0000-4000-8000-000000000003");
	e[4].kind = CORE_ENT_SIGNATURE;		/* re-signed by the recipient */
	strcpy(e[4].parent_id, e[0].id);
	e[4].data = f->sig3;
	e[4].len = sizeof(f->sig3);
	strcpy(e[5].id, "70000000-0000-4000-8000-000000000001");
	e[5].kind = CORE_ENT_RECEIPT;
	strcpy(e[5].parent_id, e[0].id);
	e[5].data = f->receipt;
	e[5].len = sizeof(f->receipt);

	strcpy(f->msg.id, "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8");
	f->msg.kind = CORE_MSG_LETTER;
	strcpy(f->msg.from_box, "2ED-abc");
	strcpy(f->msg.to_box, "2ED-def");
	f->msg.subject = "Счёт на оплату №15 от 25.11.2025 — просим оплатить до конца "
			 "месяца, иначе поставка будет отложена";
	f->msg.text = "Добрый день!\nНаправляем счёт и акт сверки.\r\nС уважением, бухгалтерия.";
	f->msg.test_mode = 1;
	f->msg.sender_name = "Иванова А. А.";
	f->msg.created = 1764065111;
	f->msg.entities = f->ents;
	f->msg.n_entities = 6;

	f->reports[0] = (struct mime_sig_report){ .entity_id = e[2].id,
		.document_name = e[0].file_name,
		.signer = "Иванова Анна Александровна", .serial = "01A2B3C4",
		.issuer = "УЦ Тест", .not_before = 1735689600,
		.not_after = 1767225599, .signing_time = 1764065000, .valid = 1,
		.org_checked = 1, .org_valid = 1,
		.org_reason = "подписано по МЧД № N-1 (действует) / signed under "
			"power of attorney N-1 (active)",
		.holder_inn = "773301234562", .holder_snils = "11223344595",
		.holder_title = "Главный бухгалтер",
		.poa_summary = "№ N-1 с 2025-01-01 по 2026-01-01, доверитель ООО "
			"Ромашка / No. N-1 from 2025-01-01 to 2026-01-01",
		.check_math = 1, .check_chain = 1, .chain_detail = "CN=УЦ Тест",
		.check_revocation = 1 };
	f->reports[1] = (struct mime_sig_report){ .entity_id = e[3].id,
		.document_name = long_name,
		.signer = "Иванова Анна Александровна", .serial = "01A2B3C4",
		.issuer = "УЦ Тест", .not_before = 1735689600,
		.not_after = 1767225599, .signing_time = 1764065001, .valid = 0,
		.error = "нет доверенности (МЧД) / no power of attorney",
		.org_checked = 1, .org_valid = 0,
		.org_reason = "нет доверенности (МЧД): сертификат физического "
			"лица / no power of attorney: a person's certificate",
		.check_math = 1, .check_chain = 1, .chain_detail = "CN=УЦ Тест",
		.check_revocation = 1 };
	f->reports[2] = (struct mime_sig_report){ .entity_id = e[4].id,
		.document_name = e[0].file_name, .signer = "Петров Пётр",
		.serial = "FF00", .issuer = "УЦ Тест", .not_before = 1735689600,
		.not_after = 1767225599, .signing_time = 1764066000, .valid = 0,
		.error = "сертификат отозван",
		.check_math = 1, .check_chain = 1, .chain_detail = "CN=УЦ Тест",
		.check_revocation = 2, .revocation_detail = "сертификат отозван" };

	f->r.domain = DOMAIN;
	f->r.msg = &f->msg;
	f->r.from = (struct mime_party){ "2ED-abc", "ООО «Ромашка»", "7701234567", "770101001" };
	f->r.to = (struct mime_party){ "2ED-def", "ООО \"Лютик\"", "7702345678", "770201001" };
	f->r.reports = f->reports;
	f->r.n_reports = 3;
	f->r.was_encrypted = 1;
	f->r.packet = f->packet;
	f->r.packet_len = sizeof(f->packet);
	f->r.packet_name = "Пакет документов.zip";
	f->r.language = "ru";
}

static struct mailmime *nth_part(struct mailmime *mp, int n)
{
	int i = 0;

	for (clistiter *it = clist_begin(mp->mm_data.mm_multipart.mm_mp_list);
	     it != NULL; it = clist_next(it), i++) {
		if (i == n)
			return clist_content(it);
	}
	return NULL;
}

/* libetpan's own view of the structure. */
static void check_with_libetpan(const unsigned char *out, size_t len)
{
	struct mailmime *mime = NULL, *body, *p;
	size_t idx = 0;

	ok(mailmime_parse((const char *)out, len, &idx, &mime) == MAILIMF_NO_ERROR,
	   "libetpan parses the rendered letter");
	if (mime == NULL)
		return;
	body = mime->mm_data.mm_message.mm_msg_mime;
	ok(body != NULL && body->mm_type == MAILMIME_MULTIPLE &&
	   strcasecmp(body->mm_content_type->ct_subtype, "mixed") == 0,
	   "libetpan: multipart/mixed");
	if (body != NULL && body->mm_type == MAILMIME_MULTIPLE) {
		/* text, report, 2 documents, 3 signatures, packet */
		is_int(clist_count(body->mm_data.mm_multipart.mm_mp_list), 8,
		       "libetpan: eight parts (receipt not shown)");
		p = nth_part(body, 2);
		ok(p != NULL && p->mm_data.mm_single->dt_encoding == MAILMIME_MECHANISM_BASE64,
		   "libetpan: document in base64");
		p = nth_part(body, 4);
		ok(p != NULL && strcasecmp(p->mm_content_type->ct_subtype, "pkcs7-signature") == 0,
		   "libetpan: signature type");
		/* the long name arrives as RFC 2231 continuations */
		p = nth_part(body, 3);
		char *cname = p != NULL ? mailmime_content_param_get(p->mm_content_type, "name") : NULL;
		/* libetpan decodes RFC 2047 in Content-Type parameters itself */
		is_str(cname, long_name, "libetpan: name= decodes to the long name");
	}
	mailmime_free(mime);
}

/* body_at (issue 10): where each entity's base64 begins, as the
 * pre-render takes its shared parts without scanning; the bytes there are
 * the entity's first line of base64, and asking changes no byte. */
static void test_body_at(struct fixture *f, const unsigned char *out,
			 size_t len)
{
	size_t at[16], n = f->msg.n_entities, good = 0, shown = 0, i;
	unsigned char *again = NULL;
	size_t again_len = 0;
	char *err = NULL;

	if (n > 16) {
		ok(0, "fixture fits body_at");
		return;
	}
	f->r.body_at = at;
	ok(mime_render_message(&f->r, &again, &again_len, &err) == 0 &&
	   again_len == len && memcmp(again, out, len) == 0,
	   "body_at: the same bytes as without it");
	f->r.body_at = NULL;
	for (i = 0; i < n; i++) {
		const struct core_entity *e = &f->msg.entities[i];
		size_t first = e->len < 57 ? e->len : 57;
		char *b64;

		if (at[i] == SIZE_MAX)
			continue;
		shown++;
		b64 = util_base64(e->data, first);
		good += at[i] < again_len &&
			again_len - at[i] >= strlen(b64) &&
			memcmp(again + at[i], b64, strlen(b64)) == 0 &&
			memcmp(again + at[i] - 4, "\r\n\r\n", 4) == 0;
		free(b64);
	}
	ok(shown == 5 && good == shown,
	   "body_at: each of the %zu shown documents and signatures starts "
	   "its base64 there (%zu)", shown, good);
	free(again);
}

/* A lazy entity (its bytes not read, core_get_message_lazy): its place
 * is what the base64 of as many zero bytes would be, so everything
 * around it is where the real document would put it. */
static void test_lazy_hole(void)
{
	static const size_t lens[] = { 1, 2, 3, 56, 57, 58, 114, 1000,
				       57 * 100, 102400 };
	int same = 1;

	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		struct fixture f;
		unsigned char *zeros = xcalloc(1, lens[k]);
		unsigned char *a = NULL, *b = NULL;
		size_t la = 0, lb = 0;
		char *err = NULL;

		fixture_init(&f);
		f.ents[0].data = zeros;
		f.ents[0].len = lens[k];
		f.ents[0].encrypted = 0;
		if (mime_render_message(&f.r, &a, &la, &err) < 0)
			same = 0;
		f.ents[0].data = NULL;
		f.ents[0].lazy = 1;
		if (mime_render_message(&f.r, &b, &lb, &err) < 0 || la != lb ||
		    memcmp(a, b, la) != 0)
			same = 0;
		free(a);
		free(b);
		free(zeros);
		free(err);
	}
	ok(same, "a lazy document's place: the bytes of its length in zeros, "
	   "encoded (10 lengths)");
}

static void test_letter(void)
{
	struct fixture f;
	unsigned char *out = NULL, *out2 = NULL;
	size_t len = 0, len2 = 0, longest = 0;
	char *err = NULL, *hdr;
	struct mime_submission s;

	fixture_init(&f);
	ok(mime_render_message(&f.r, &out, &len, &err) == 0, "letter rendered");
	if (getenv("MIME_TEST_DUMP") != NULL) {
		/* for looking at the output by eye */
		FILE *fp = fopen(getenv("MIME_TEST_DUMP"), "wb");
		if (fp != NULL) {
			fwrite(out, 1, len, fp);
			fclose(fp);
		}
	}
	ok(mime_render_message(&f.r, &out2, &len2, &err) == 0, "letter rendered again");
	ok(len == len2 && memcmp(out, out2, len) == 0, "deterministic: identical bytes");
	test_body_at(&f, out, len);
	ok(lines_ok(out, len, 998, &longest), "CRLF only, lines <= 998 (longest %zu)", longest);
	/* 78 columns, but a header cannot fold right after its name: the
	 * longest MIME type (.xlsx, 65 characters) and its ';' stay together */
	ok(longest <= 81, "folded to 78 columns (longest %zu)", longest);

	hdr = headers_of(out, len);
	ok(strstr(hdr, "\r\nDate: Tue, 25 Nov 2025 10:05:11 +0000\r\n") != NULL,
	   "Date is operator time");
	ok(strstr(hdr, "\r\nMessage-ID: <3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8@" DOMAIN ">\r\n") != NULL,
	   "Message-ID <id@domain>");
	ok(strstr(hdr, "\r\nX-EDO-Kind: letter\r\n") != NULL, "X-EDO-Kind");
	ok(strstr(hdr, "\r\nX-EDO-From-Box: 2ED-abc\r\n") != NULL, "X-EDO-From-Box");
	ok(strstr(hdr, "\r\nX-EDO-From-INN: 7701234567\r\n") != NULL, "X-EDO-From-INN");
	ok(strstr(hdr, "\r\nX-EDO-From-KPP: 770101001\r\n") != NULL, "X-EDO-From-KPP");
	ok(strstr(hdr, "\r\nX-EDO-Test: yes\r\n") != NULL, "X-EDO-Test");
	ok(strstr(hdr, "\r\nX-EDO-Encrypted: yes\r\n") != NULL, "X-EDO-Encrypted");
	ok(strstr(hdr, "\r\nMIME-Version: 1.0\r\n") != NULL, "MIME-Version");
	ok(strstr(hdr, "boundary=\"=_edo_3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8\"") != NULL,
	   "boundary from the message id");
	ok(strstr(hdr, "In-Reply-To") == NULL, "no In-Reply-To for a letter");
	free(hdr);
	ok(has(out, len, "filename*0*=utf-8''%D0%90%D0%BA%D1%82"),
	   "RFC 2231 continuations for the long name");
	ok(has(out, len, "filename=\"=?utf-8?B?"), "RFC 2047 fallback");

	check_with_libetpan(out, len);

	ok(mime_parse_submission(out, len, NULL, &s, &err) == 0,
	   "our parser reads the rendered letter (%s)", err ? err : "");
	is_str(s.from_name, "ООО «Ромашка»", "From name round trip");
	is_str(s.from_addr, "2ed-abc@" DOMAIN, "From address");
	is_str(s.n_to ? s.to_addrs[0] : NULL, "2ed-def@" DOMAIN, "To address");
	is_str(s.subject, f.msg.subject, "long Cyrillic Subject round trip");
	ok(s.text != NULL && strncmp(s.text, "Добрый день!\nНаправляем счёт и акт сверки.\n"
				     "С уважением, бухгалтерия.", 60) == 0, "text round trip");
	ok(s.text != NULL && strstr(s.text, "шлюз расшифровал его для вас") != NULL,
	   "the text says it was decrypted");
	ok(s.text != NULL && strstr(s.text, "Тестовый режим") != NULL, "test mode noted");
	is_int(s.n_attachments, 7, "report + 2 documents + 3 signatures + packet");
	if (s.n_attachments == 7) {
		is_str(s.attachments[0].file_name, "Протокол проверки подписей.txt", "report name");
		ok(strstr((char *)s.attachments[0].data, "Результат: Недействительна — сертификат отозван") != NULL,
		   "report: invalid signature with reason");
		ok(strstr((char *)s.attachments[0].data, "отзыв сертификата: НЕ пройдена (сертификат отозван)") != NULL &&
		   strstr((char *)s.attachments[0].data, "цепочка до доверенного корня: пройдена (CN=УЦ Тест)") != NULL &&
		   strstr((char *)s.attachments[0].data, "математика подписи: пройдена") != NULL,
		   "report: each check with its result");
		ok(strstr((char *)s.attachments[0].data, "Файл подписи: Счёт на оплату №15.pdf.2.sig") != NULL,
		   "report: names the signature file");
		ok(strstr((char *)s.attachments[0].data, "Серийный номер сертификата: 01A2B3C4") != NULL,
		   "report: certificate serial");
		/* organization and power of attorney (poa) */
		ok(strstr((char *)s.attachments[0].data, "   МЧД: № N-1 с 2025-01-01 "
			  "по 2026-01-01, доверитель ООО Ромашка\r\n") != NULL,
		   "report: the МЧД, its term and principal, in Russian only");
		ok(strstr((char *)s.attachments[0].data, "Организация и полномочия: "
			  "Действительна — подписано по МЧД № N-1 (действует)\r\n") != NULL,
		   "report: the organization check valid");
		ok(strstr((char *)s.attachments[0].data, "Организация и полномочия: "
			  "Недействительна: нет доверенности (МЧД): сертификат "
			  "физического лица\r\n") != NULL,
		   "report: «Недействительна: нет доверенности …»");
		ok(strstr((char *)s.attachments[0].data, "ИНН: 773301234562, ОГРН: -, "
			  "СНИЛС: 11223344595") != NULL &&
		   strstr((char *)s.attachments[0].data, "Должность: Главный бухгалтер") != NULL,
		   "report: the holder's ИНН, ОГРН, СНИЛС and position");
		is_str(s.attachments[1].file_name, "Счёт на оплату №15.pdf", "document 1 name");
		ok(s.attachments[1].len == 256 && memcmp(s.attachments[1].data, f.doc1, 256) == 0,
		   "document 1 bytes");
		is_str(s.attachments[1].content_type, "application/pdf", "document 1 type");
		is_str(s.attachments[2].file_name, long_name, "document 2 long name");
		ok(s.attachments[2].len == 1000 && memcmp(s.attachments[2].data, f.doc2, 1000) == 0,
		   "document 2 bytes");
		is_str(s.attachments[2].content_type,
		       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		       "document 2 type guessed from .xlsx");
		is_str(s.attachments[3].file_name, "Счёт на оплату №15.pdf.sig", "signature 1 name");
		ok(s.attachments[3].len == 300 && memcmp(s.attachments[3].data, f.sig1, 300) == 0,
		   "signature 1 bytes");
		is_str(s.attachments[4].file_name,
		       "Акт сверки взаимных расчётов за период с 01.01.2025 по 30.11.2025 "
		       "между ООО «Ромашка» и ООО «Лютик» (подписан).xlsx.sig", "signature 2 name");
		is_str(s.attachments[5].file_name, "Счёт на оплату №15.pdf.2.sig",
		       "re-sign: second signature .2.sig");
		is_str(s.attachments[5].content_type, "application/pkcs7-signature", "signature type");
		is_str(s.attachments[6].file_name, "Пакет документов.zip", "packet name");
		is_str(s.attachments[6].content_type, "application/zip", "packet type");
	}
	mime_submission_clear(&s);
	free(out);
	free(out2);

	/* English fixed texts, an answer: In-Reply-To and References */
	f.r.language = "en";
	f.msg.kind = CORE_MSG_RESIGN;
	strcpy(f.msg.reply_to, "11111111-2222-4333-8444-555555555555");
	f.r.was_encrypted = 0;
	f.msg.test_mode = 0;
	ok(mime_render_message(&f.r, &out, &len, &err) == 0, "re-sign rendered (en)");
	hdr = headers_of(out, len);
	ok(strstr(hdr, "\r\nIn-Reply-To: <11111111-2222-4333-8444-555555555555@" DOMAIN ">\r\n") != NULL,
	   "In-Reply-To the re-signed message");
	ok(strstr(hdr, "\r\nReferences: <11111111-2222-4333-8444-555555555555@" DOMAIN ">\r\n") != NULL,
	   "References");
	ok(strstr(hdr, "\r\nX-EDO-Kind: resign\r\n") != NULL, "X-EDO-Kind: resign");
	ok(strstr(hdr, "X-EDO-Test") == NULL && strstr(hdr, "X-EDO-Encrypted") == NULL,
	   "no test/encrypted headers when not so");
	free(hdr);
	ok(has(out, len, "signature-report.txt"), "English report name");
	free(out);
}

static void test_small_letters(void)
{
	struct core_message msg;
	struct mime_render_msg r;
	unsigned char *out;
	size_t len, longest;
	char *err = NULL;
	struct mime_submission s;

	memset(&msg, 0, sizeof(msg));
	memset(&r, 0, sizeof(r));
	strcpy(msg.id, "abc");
	strcpy(msg.from_box, "2ED-a");
	strcpy(msg.to_box, "2ED-b");
	msg.subject = "Hi\r\nBcc: victim@example.com";
	msg.created = 0;
	r.domain = DOMAIN;
	r.msg = &msg;
	r.message_id = "client-given@example.com";
	ok(mime_render_message(&r, &out, &len, &err) == 0, "text-only letter rendered");
	ok(lines_ok(out, len, 998, &longest), "text-only: CRLF and length");
	ok(!has(out, len, "\r\nBcc:"), "no header injection through Subject");
	ok(has(out, len, "Message-ID: <client-given@example.com>"),
	   "given Message-ID used as is");
	ok(!has(out, len, "Протокол"), "no report without documents");
	ok(mime_parse_submission(out, len, NULL, &s, &err) == 0, "text-only re-parsed");
	is_str(s.subject, "Hi Bcc: victim@example.com", "controls became spaces");
	is_str(s.from_name, "2ED-a", "no name: the box id is shown");
	mime_submission_clear(&s);
	free(out);

	/* an encrypted text entity, and a document that stayed encrypted */
	struct core_entity ents[2];
	memset(ents, 0, sizeof(ents));
	ents[0].kind = CORE_ENT_TEXT;
	ents[0].data = (unsigned char *)"Секретный текст";
	ents[0].len = strlen("Секретный текст");
	strcpy(ents[1].id, "e1");
	ents[1].kind = CORE_ENT_ATTACHMENT;
	ents[1].file_name = "";
	ents[1].encrypted = 1;
	ents[1].data = (unsigned char *)"0\x80";
	ents[1].len = 2;
	msg.text = NULL;
	msg.subject = NULL;
	msg.encrypted = 1;
	msg.entities = ents;
	msg.n_entities = 2;
	r.message_id = NULL;
	ok(mime_render_message(&r, &out, &len, &err) == 0, "encrypted letter rendered");
	ok(mime_parse_submission(out, len, NULL, &s, &err) == 0, "encrypted letter re-parsed");
	ok(s.text != NULL && strncmp(s.text, "Секретный текст", 29) == 0, "text from CORE_ENT_TEXT");
	is_str(s.subject, "(без темы)", "empty subject placeholder");
	ok(s.n_attachments == 2 && strcmp(s.attachments[1].file_name, "document-1.bin.p7m") == 0 &&
	   strcmp(s.attachments[1].content_type, "application/pkcs7-mime") == 0,
	   "undecrypted document shown as .p7m");
	mime_submission_clear(&s);
	free(out);

	ok(mime_render_message(NULL, &out, &len, &err) == -1 && err != NULL,
	   "NULL input refused with a message");
	free(err);
}

static void test_invitation(void)
{
	struct mime_render_invitation inv;
	unsigned char *out, *out2;
	size_t len, len2, longest;
	char *err = NULL;
	struct mime_submission s;

	memset(&inv, 0, sizeof(inv));
	inv.domain = DOMAIN;
	inv.invitation_id = "9a8b7c6d-0000-4000-8000-000000000001";
	inv.from = (struct mime_party){ "2ED-abc", "ООО Ромашка", "7701234567", "770101001" };
	inv.to = (struct mime_party){ "2ED-def", "ООО Лютик", "7702345678", "770201001" };
	inv.text = "Предлагаем обмениваться документами в электронном виде.";
	inv.date = 1764065111;
	inv.language = "ru";
	ok(mime_render_invitation(&inv, &out, &len, &err) == 0, "invitation rendered");
	ok(mime_render_invitation(&inv, &out2, &len2, &err) == 0 && len == len2 &&
	   memcmp(out, out2, len) == 0, "invitation deterministic");
	free(out2);
	ok(lines_ok(out, len, 998, &longest) && longest <= 78, "invitation lines");
	ok(has(out, len, "Message-ID: <9a8b7c6d-0000-4000-8000-000000000001@" DOMAIN ">"),
	   "invitation Message-ID");
	ok(has(out, len, "X-EDO-Kind: invitation\r\n"), "X-EDO-Kind: invitation");
	ok(has(out, len, "X-EDO-Counteragent-INN: 7701234567\r\n"),
	   "counteragent INN (incoming: the inviter)");
	ok(mime_parse_submission(out, len, NULL, &s, &err) == 0, "invitation re-parsed");
	is_str(s.subject, "Приглашение к обмену документами от ООО Ромашка (ИНН 7701234567)",
	       "invitation subject");
	ok(s.text != NULL && strstr(s.text, "ответьте на это письмо словом «Принять». Чтобы "
				    "отклонить — словом «Отклонить» (после него можно "
				    "написать причину).") != NULL, "instruction in Russian");
	ok(s.text != NULL && strstr(s.text, "reply to this message with the word \"Accept\"") != NULL,
	   "instruction in English");
	ok(s.text != NULL && strstr(s.text, "КПП: 770101001") != NULL, "inviter's КПП");
	mime_submission_clear(&s);
	free(out);

	inv.outgoing = 1;
	inv.language = "en";
	ok(mime_render_invitation(&inv, &out, &len, &err) == 0, "outgoing invitation rendered");
	ok(mime_parse_submission(out, len, NULL, &s, &err) == 0, "outgoing re-parsed");
	is_str(s.subject, "Invitation sent: ООО Лютик (INN 7702345678)", "outgoing subject (en)");
	mime_submission_clear(&s);
	free(out);
}

static void test_contact(void)
{
	struct mime_render_contact c;
	unsigned char *out;
	size_t len, longest;
	char *err = NULL;
	struct mime_submission s;

	memset(&c, 0, sizeof(c));
	c.domain = DOMAIN;
	c.self = (struct mime_party){ "2ED-abc", "ООО Ромашка", "7701234567", "770101001" };
	c.counteragent = (struct mime_party){ "2ED-def", "ООО Лютик; филиал, Москва", "7702345678",
					      "770201001" };
	c.status = "Контрагент (IsMyCounteragent)";
	c.date = 1764065111;
	ok(mime_render_contact(&c, &out, &len, &err) == 0, "contact rendered");
	ok(lines_ok(out, len, 998, &longest), "contact lines");
	ok(mime_parse_submission(out, len, NULL, &s, &err) == 0, "contact re-parsed");
	is_str(s.from_name, "ООО Лютик; филиал, Москва", "contact From is the counteragent");
	is_str(s.from_addr, "2ed-def@" DOMAIN, "contact address");
	ok(s.text != NULL && strstr(s.text, "Статус: Контрагент (IsMyCounteragent)") != NULL,
	   "contact summary");
	is_int(s.n_attachments, 1, "one vCard");
	if (s.n_attachments == 1) {
		const char *v = (const char *)s.attachments[0].data;
		is_str(s.attachments[0].file_name, "ООО Лютик; филиал, Москва.vcf", "vCard name");
		is_str(s.attachments[0].content_type, "text/vcard", "vCard type");
		ok(strncmp(v, "BEGIN:VCARD\r\nVERSION:3.0\r\n", 26) == 0, "vCard 3.0");
		ok(strstr(v, "FN:ООО Лютик\\; филиал\\, Москва\r\n") != NULL, "FN escaped");
		ok(strstr(v, "EMAIL;TYPE=INTERNET:2ED-def@" DOMAIN "\r\n") != NULL, "EMAIL");
		ok(strstr(v, "NOTE:ИНН 7702345678\\, КПП 770201001\r\n") != NULL, "NOTE with ИНН/КПП");
		ok(strstr(v, "X-EDO-BOX:2ED-def\r\n") != NULL, "X-EDO-BOX");
		ok(strstr(v, "END:VCARD\r\n") != NULL, "END:VCARD");
	}
	mime_submission_clear(&s);
	free(out);
}

/* A notice of the document flow carries the signed XML and its .sig. */
static void test_notice_files(struct mime_render_notice *n)
{
	static const unsigned char xml[] = "<?xml version=\"1.0\" encoding=\"windows-1251\"?><Файл/>";
	static const unsigned char sig[] = { 0x30, 0x82, 0x01, 0x00, 0xff, 0x00 };
	struct mime_notice_file f[2] = {
		{ "ON_IZVPOL_x.xml", NULL, xml, sizeof(xml) - 1 },
		{ "ON_IZVPOL_x.xml.sig", "application/pkcs7-signature", sig, sizeof(sig) },
	};
	struct mime_submission s;
	unsigned char *out, *out2;
	size_t len, len2, longest, i;
	char *err = NULL;
	char *id1;

	n->files = f;
	n->n_files = 2;
	ok(mime_render_notice(n, &out, &len, &err) == 0, "notice with files rendered");
	ok(mime_render_notice(n, &out2, &len2, &err) == 0 && len == len2 &&
	   memcmp(out, out2, len) == 0, "notice with files deterministic");
	free(out2);
	ok(lines_ok(out, len, 998, &longest), "notice with files: lines");
	ok(has(out, len, "multipart/mixed"), "notice with files: multipart/mixed");
	ok(has(out, len, "application/pkcs7-signature"), "the .sig's type");
	ok(mime_parse_submission(out, len, NULL, &s, &err) == 0, "notice with files re-parsed");
	is_str(s.text, n->text, "its text part");
	ok(s.n_attachments == 2, "two files (%zu)", s.n_attachments);
	for (i = 0; i < s.n_attachments && i < 2; i++) {
		is_str(s.attachments[i].file_name, f[i].file_name, "file name");
		ok(s.attachments[i].len == f[i].len &&
		   memcmp(s.attachments[i].data, f[i].data, f[i].len) == 0,
		   "file %zu bytes", i);
	}
	id1 = s.message_id != NULL ? strdup(s.message_id) : NULL;
	mime_submission_clear(&s);
	free(out);
	/* other files, another notice: the id follows the content */
	f[1].len--;
	ok(mime_render_notice(n, &out, &len, &err) == 0 &&
	   mime_parse_submission(out, len, NULL, &s, &err) == 0, "second notice");
	ok(id1 != NULL && s.message_id != NULL && strcmp(id1, s.message_id) != 0,
	   "Message-ID differs when the files differ");
	mime_submission_clear(&s);
	free(out);
	free(id1);
	n->files = NULL;
	n->n_files = 0;
}

static void test_notice(void)
{
	struct mime_render_notice n;
	unsigned char *out, *out2;
	size_t len, len2, longest;
	char *err = NULL;
	struct mime_submission s;

	memset(&n, 0, sizeof(n));
	n.domain = DOMAIN;
	n.to_addr = "anna+7701234567@" DOMAIN;
	n.subject = "Не удалось отправить документ / Could not send the document";
	n.text = "Сертификат истёк.\nCertificate expired.";
	n.in_reply_to = "client-1@romashka.ru";
	n.date = 1764065111;
	ok(mime_render_notice(&n, &out, &len, &err) == 0, "notice rendered");
	ok(mime_render_notice(&n, &out2, &len2, &err) == 0 && len == len2 &&
	   memcmp(out, out2, len) == 0, "notice deterministic");
	free(out2);
	ok(lines_ok(out, len, 998, &longest), "notice lines");
	/* the postmaster's name in both languages, as every text */
	ok(has(out, len, "From: =?utf-8?") && has(out, len, "<postmaster@" DOMAIN ">\r\n") &&
	   !has(out, len, "\"EDO gateway\""), "notice From: Russian and English, RFC 2047");
	ok(!has(out, len, "multipart/mixed"), "a notice without files is one text part");
	ok(has(out, len, "In-Reply-To: <client-1@romashka.ru>\r\n"),
	   "notice In-Reply-To keeps a full id");
	ok(has(out, len, "Auto-Submitted: auto-generated\r\n"), "Auto-Submitted");
	{
		/* ids and addresses cannot fold: absurd ones are cut or left out */
		char *huge = malloc(3001);
		unsigned char *o2;
		size_t l2, lg;
		memset(huge, 'a', 3000);
		huge[3000] = '\0';
		n.in_reply_to = huge;
		n.to_addr = huge;
		ok(mime_render_notice(&n, &o2, &l2, &err) == 0 && lines_ok(o2, l2, 998, &lg),
		   "notice with a 3000-byte id and address: lines <= 998 (%zu)", lg);
		ok(!has(o2, l2, "In-Reply-To"), "absurd In-Reply-To left out");
		free(o2);
		free(huge);
		n.in_reply_to = "client-1@romashka.ru";
		n.to_addr = "anna+7701234567@" DOMAIN;
	}
	ok(mime_parse_submission(out, len, NULL, &s, &err) == 0, "notice re-parsed");
	is_str(s.subject, n.subject, "notice subject");
	is_str(s.text, n.text, "notice text");
	ok(s.message_id != NULL && strncmp(s.message_id, "notice-", 7) == 0, "notice id");
	is_str(s.from_name, "Шлюз ЭДО / EDO gateway", "notice From decodes");
	mime_submission_clear(&s);
	free(out);
	test_notice_files(&n);
}

static void test_encode_word(void)
{
	char *w;

	w = mime_encode_header_word("Привет");
	is_str(w, "=?utf-8?B?0J/RgNC40LLQtdGC?=", "encoded word");
	free(w);
	w = mime_encode_header_word("plain ascii");
	is_str(w, "plain ascii", "ASCII left as is");
	free(w);
	w = mime_encode_header_word("Очень длинное название организации с кавычками «Ромашка»");
	ok(w != NULL && strchr(w, '\r') == NULL && strstr(w, "?= =?utf-8?B?") != NULL,
	   "long value: several words on one line");
	free(w);
}

int main(void)
{
	test_letter();
	test_lazy_hole();
	test_small_letters();
	test_invitation();
	test_contact();
	test_notice();
	test_encode_word();
	return mt_done();
}
