/* Submissions as Thunderbird, Outlook, mutt, Python's email package and a
 * webmail write them, parsed into what SMTP turns into EDO operations. */
#include "lib/util.h"
#include "mime/mime.h"
#include "mime-test.h"
#include "mime-samples.h"

#include <string.h>

#include <libetpan/libetpan.h>

static const unsigned char pdf_bytes[] =
	"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n";

static int parse(const char *msg, struct mime_submission *sub, char **err)
{
	return mime_parse_submission((const unsigned char *)msg, strlen(msg),
				     NULL, sub, err);
}

static void test_thunderbird(void)
{
	struct mime_submission s;
	char *err = NULL, *comment = NULL;

	ok(parse(thunderbird_reply, &s, &err) == 0, "thunderbird: parsed (%s)",
	   err ? err : "");
	is_str(s.from_addr, "anna@romashka.ru", "thunderbird: From addr lower-cased");
	is_str(s.from_name, "Анна Бухгалтер", "thunderbird: From name (RFC 2047 B)");
	is_str(s.subject, "Re: Приглашение", "thunderbird: Subject (RFC 2047 Q, two words)");
	is_int(s.n_to, 1, "thunderbird: one recipient");
	is_str(s.n_to ? s.to_addrs[0] : NULL, "2ed-def@edo.local", "thunderbird: To");
	is_str(s.message_id, "5f1c2a9e-0d1b-4c55-9b7e-3e2a1f0c9d11@romashka.ru",
	       "thunderbird: Message-ID without <>");
	is_str(s.in_reply_to, "inv-1@edo.local", "thunderbird: In-Reply-To");
	is_int(s.n_references, 1, "thunderbird: References");
	is_int(s.date, 1764065111, "thunderbird: Date with +0300 zone");
	is_str(s.new_text, "Принимаю, будем работать.",
	       "thunderbird: new text without attribution and quote");
	is_int(mime_reply_decision(s.new_text, &comment), 1, "thunderbird: accepts");
	is_str(comment, "будем работать.", "thunderbird: comment");
	free(comment);
	is_int(s.n_attachments, 1, "thunderbird: one attachment");
	if (s.n_attachments == 1) {
		is_str(s.attachments[0].file_name, "Счёт.pdf",
		       "thunderbird: RFC 2231 name wins over RFC 2047");
		is_str(s.attachments[0].content_type, "application/pdf",
		       "thunderbird: content type");
		ok(s.attachments[0].len == sizeof(pdf_bytes) - 1 &&
		   memcmp(s.attachments[0].data, pdf_bytes, sizeof(pdf_bytes) - 1) == 0,
		   "thunderbird: PDF bytes exact");
		ok(!s.attachments[0].forwarded, "thunderbird: not forwarded");
	}
	mime_submission_clear(&s);
}

static void test_outlook(void)
{
	struct mime_submission s;
	char *err = NULL, *comment = NULL;

	ok(parse(outlook_reply, &s, &err) == 0, "outlook: parsed (%s)", err ? err : "");
	is_str(s.from_name, "Иван Петров", "outlook: koi8-r From name");
	is_str(s.subject, "RE: Приглашение", "outlook: windows-1251 Subject");
	is_str(s.in_reply_to, "inv-2@edo.local", "outlook: In-Reply-To");
	ok(s.text != NULL && strstr(s.text, "Отклонить. Нет договора") == s.text,
	   "outlook: text/plain preferred, koi8-r QP decoded");
	is_str(s.new_text, "Отклонить. Нет договора с вашей организацией.",
	       "outlook: new text cut at -----Original Message-----");
	is_int(mime_reply_decision(s.new_text, &comment), -1, "outlook: rejects");
	is_str(comment, "Нет договора с вашей организацией.", "outlook: reason");
	free(comment);
	is_int(s.n_attachments, 1, "outlook: inline logo skipped, docx kept");
	if (s.n_attachments == 1) {
		is_str(s.attachments[0].file_name, "Договор поставки.docx",
		       "outlook: windows-1251 RFC 2047 file name");
		is_str(s.attachments[0].content_type,
		       "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		       "outlook: docx type");
		ok(s.attachments[0].len == 8 + 56 + 17 &&
		   memcmp(s.attachments[0].data, "PK\x03\x04", 4) == 0,
		   "outlook: docx bytes");
	}
	mime_submission_clear(&s);
}

static void test_mutt(void)
{
	struct mime_submission s;
	char *err = NULL, *comment = NULL;

	ok(parse(mutt_reply, &s, &err) == 0, "mutt: parsed (%s)", err ? err : "");
	is_str(s.from_name, "Пётр", "mutt: From name");
	is_str(s.subject, "Re: Акт за ноябрь", "mutt: Subject");
	is_int(s.n_references, 2, "mutt: two References");
	if (s.n_references == 2)
		is_str(s.references[1], "b2@edo.local", "mutt: second reference");
	is_str(s.new_text, "Да, подписываем.",
	       "mutt: quote, attribution and signature removed");
	is_int(mime_reply_decision(s.new_text, &comment), 1, "mutt: Да accepts");
	is_str(comment, "подписываем.", "mutt: comment");
	free(comment);
	ok(s.text != NULL && strstr(s.text, "> Отклонить нельзя.") != NULL,
	   "mutt: full text keeps the quote");
	is_int(s.n_attachments, 1, "mutt: one attachment");
	if (s.n_attachments == 1) {
		is_str(s.attachments[0].file_name, "Акт.pdf", "mutt: RFC 2231 name");
		ok(s.attachments[0].len == sizeof(pdf_bytes) - 1,
		   "mutt: PDF length");
	}
	mime_submission_clear(&s);
}

static void test_python(void)
{
	struct mime_submission s;
	char *err = NULL;
	unsigned char all[256];

	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	ok(parse(python_letter, &s, &err) == 0, "python: bare-LF message parsed (%s)",
	   err ? err : "");
	is_str(s.from_name, "Бухгалтерия Ромашки", "python: From name");
	is_str(s.subject, "Документы за ноябрь [шифр]", "python: Subject over two words");
	is_int(s.n_to, 3, "python: To (2) + Cc (1)");
	if (s.n_to == 3) {
		is_str(s.to_addrs[1], "7701234567.770101001@edo.local", "python: ИНН.КПП address");
		is_str(s.to_addrs[2], "copy@edo.local", "python: Cc address");
	}
	is_str(s.text, "Добрый день!\nВо вложении счёт и акт.", "python: text, LF");
	is_int(s.n_attachments, 2, "python: two attachments");
	if (s.n_attachments == 2) {
		is_str(s.attachments[0].file_name, "Счёт №15 от 25.11.2025.pdf",
		       "python: RFC 2231 continuation name");
		ok(s.attachments[0].len == 256 && memcmp(s.attachments[0].data, all, 256) == 0,
		   "python: all 256 byte values survive base64");
		is_str(s.attachments[1].file_name,
		       "Акт сверки взаимных расчётов за период с 01.01.2025 по "
		       "30.11.2025 между ООО Ромашка и ООО Лютик.xlsx",
		       "python: 8-segment continuation name");
		is_str(s.attachments[1].content_type,
		       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		       "python: octet-stream refined by extension");
		ok(s.attachments[1].len == 64, "python: xlsx length");
	}
	mime_submission_clear(&s);
}

static void test_html_only(void)
{
	struct mime_submission s;
	char *err = NULL, *comment = NULL;

	ok(parse(html_only_reply, &s, &err) == 0, "html: parsed (%s)", err ? err : "");
	ok(s.text != NULL && strstr(s.text, "script") == NULL &&
	   strstr(s.text, "<p>") == NULL, "html: script and tags removed");
	ok(s.text != NULL && strstr(s.text, "«Отклонить» — у нас нет договора!") != NULL,
	   "html: entities decoded");
	ok(s.text != NULL && strstr(s.text, "Ольга & Co") != NULL, "html: &amp; and <br>");
	ok(s.text != NULL && strstr(s.text, "> Приглашаем к обмену.") != NULL,
	   "html: blockquote lines quoted, numeric entity");
	is_str(s.new_text, "«Отклонить» — у нас нет договора!\nОльга & Co",
	       "html: new text without the Gmail quote");
	is_int(mime_reply_decision(s.new_text, &comment), -1, "html: rejects");
	is_str(comment, "у нас нет договора!\nОльга & Co", "html: comment after the dash");
	free(comment);
	is_int(s.n_attachments, 0, "html: no attachments");
	mime_submission_clear(&s);
}

/* Re-signing: Thunderbird "forward as attachment" wraps the received
 * message in message/rfc822; its documents must come out byte-identical. */
static void test_forward_as_attachment(void)
{
	struct core_entity ents[2];
	struct core_message msg;
	struct mime_render_msg r;
	unsigned char *orig, sig[100];
	size_t orig_len;
	char *err = NULL;
	struct mime_submission s;
	struct buf fwd;

	for (size_t i = 0; i < sizeof(sig); i++)
		sig[i] = (unsigned char)(i * 7);
	memset(ents, 0, sizeof(ents));
	memset(&msg, 0, sizeof(msg));
	strcpy(ents[0].id, "aaaaaaaa-0000-4000-8000-000000000001");
	ents[0].kind = CORE_ENT_ATTACHMENT;
	ents[0].file_name = "Счёт.pdf";
	ents[0].data = (unsigned char *)pdf_bytes;
	ents[0].len = sizeof(pdf_bytes) - 1;
	strcpy(ents[1].id, "aaaaaaaa-0000-4000-8000-000000000002");
	ents[1].kind = CORE_ENT_SIGNATURE;
	strcpy(ents[1].parent_id, ents[0].id);
	ents[1].data = sig;
	ents[1].len = sizeof(sig);
	strcpy(msg.id, "bbbbbbbb-0000-4000-8000-000000000001");
	strcpy(msg.from_box, "2ED-def");
	strcpy(msg.to_box, "2ED-abc");
	msg.subject = "Счёт на оплату";
	msg.text = "Подпишите, пожалуйста.";
	msg.created = 1764065111;
	msg.entities = ents;
	msg.n_entities = 2;
	memset(&r, 0, sizeof(r));
	r.domain = "edo.local";
	r.msg = &msg;
	r.from.name = "ООО Лютик";
	r.to.name = "ООО Ромашка";
	ok(mime_render_message(&r, &orig, &orig_len, &err) == 0, "forward: original rendered");

	buf_init(&fwd);
	buf_append_str(&fwd,
		"From: Anna <anna@romashka.ru>\r\n"
		"To: 2ED-def@edo.local\r\n"
		"Subject: Fwd: =?UTF-8?B?0KHRh9GR0YIg0L3QsCDQvtC/0LvQsNGC0YM=?=\r\n"
		"Message-ID: <fwd-1@romashka.ru>\r\n"
		"Date: Wed, 26 Nov 2025 09:00:00 +0300\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=\"------------fwd0123456789\"\r\n"
		"\r\n"
		"This is a multi-part message in MIME format.\r\n"
		"--------------fwd0123456789\r\n"
		"Content-Type: text/plain; charset=UTF-8; format=flowed\r\n"
		"Content-Transfer-Encoding: 7bit\r\n"
		"\r\n"
		"Re-sign, please.\r\n"
		"\r\n"
		"--------------fwd0123456789\r\n"
		"Content-Type: message/rfc822; name=\"=?UTF-8?B?0KHRh9GR0YIg0L3QsCDQvtC/0LvQsNGC0YMuZW1s?=\"\r\n"
		"Content-Disposition: attachment; filename*=UTF-8''%D0%A1%D1%87%D1%91%D1%82%20%D0%BD%D0%B0%20%D0%BE%D0%BF%D0%BB%D0%B0%D1%82%D1%83.eml\r\n"
		"\r\n");
	buf_append(&fwd, orig, orig_len);
	buf_append_str(&fwd, "\r\n--------------fwd0123456789--\r\n");
	ok(mime_parse_submission(fwd.data, fwd.len, NULL, &s, &err) == 0,
	   "forward: parsed (%s)", err ? err : "");
	is_str(s.text, "Re-sign, please.", "forward: only the sender's text");
	/* .eml, then the report, the document and its signature inside it */
	is_int(s.n_attachments, 4, "forward: .eml plus the inner parts");
	if (s.n_attachments == 4) {
		is_str(s.attachments[0].file_name, "Счёт на оплату.eml", "forward: .eml name");
		is_str(s.attachments[0].content_type, "message/rfc822", "forward: .eml type");
		ok(s.attachments[0].len == orig_len &&
		   memcmp(s.attachments[0].data, orig, orig_len) == 0,
		   "forward: .eml is the original message");
		ok(!s.attachments[0].forwarded && s.attachments[2].forwarded,
		   "forward: inner parts marked forwarded");
		is_str(s.attachments[2].file_name, "Счёт.pdf", "forward: document name");
		ok(s.attachments[2].len == sizeof(pdf_bytes) - 1 &&
		   memcmp(s.attachments[2].data, pdf_bytes, sizeof(pdf_bytes) - 1) == 0,
		   "forward: document byte-identical");
		is_str(s.attachments[3].file_name, "Счёт.pdf.sig", "forward: signature name");
		ok(s.attachments[3].len == sizeof(sig) &&
		   memcmp(s.attachments[3].data, sig, sizeof(sig)) == 0,
		   "forward: signature byte-identical");
	}
	mime_submission_clear(&s);

	buf_free(&fwd);
	free(orig);
}

static void test_minimal_and_odd(void)
{
	struct mime_submission s;
	char *err = NULL;

	ok(parse("Subject: plain\r\n\r\nПринять\r\n", &s, &err) == 0, "minimal: parsed");
	is_str(s.from_addr, "", "minimal: no From gives \"\"");
	is_str(s.text, "Принять", "minimal: raw UTF-8 body without charset");
	is_int(s.n_attachments, 0, "minimal: no attachments");
	mime_submission_clear(&s);

	/* no charset and not UTF-8: taken as windows-1251 */
	ok(parse("From: a@b.c\r\nSubject: x\r\n\r\n\xcf\xf0\xe8\xed\xff\xf2\xfc\r\n", &s, &err) == 0,
	   "cp1251 guess: parsed");
	is_str(s.text, "Принять", "cp1251 guess: converted");
	mime_submission_clear(&s);

	/* a nameless attachment and an unknown charset */
	ok(parse("From: a@b.c\r\nMIME-Version: 1.0\r\n"
		 "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		 "--b\r\nContent-Type: text/plain; charset=x-nonsense\r\n\r\nok\r\n"
		 "--b\r\nContent-Type: application/octet-stream\r\n"
		 "Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n"
		 "--b\r\nContent-Type: application/pdf; name=\"../../etc/passwd\"\r\n\r\nx\r\n"
		 "--b--\r\n", &s, &err) == 0, "odd: parsed (%s)", err ? err : "");
	is_str(s.text, "ok", "odd: unknown charset, ASCII kept");
	is_int(s.n_attachments, 2, "odd: two attachments");
	if (s.n_attachments == 2) {
		is_str(s.attachments[0].file_name, "attachment-1.bin", "odd: default name");
		ok(s.attachments[0].len == 3 && s.attachments[0].data[2] == 2, "odd: bytes");
		is_str(s.attachments[1].file_name, "passwd", "odd: path components dropped");
	}
	mime_submission_clear(&s);

	/* Thunderbird's format=flowed: soft line breaks join again */
	ok(parse("From: a@b.c\r\nSubject: Re: x\r\nMIME-Version: 1.0\r\n"
		 "Content-Type: text/plain; charset=UTF-8; format=flowed\r\n"
		 "Content-Transfer-Encoding: 8bit\r\n\r\n"
		 "Отклонить: у нас нет договора с вашей \r\nорганизацией, и \r\n"
		 " From the stuffed line.\r\n\r\n"
		 "On 25.11.2025 10:00, X wrote:\r\n> Принять или отклонить? Ответьте, \r\n"
		 "> пожалуйста.\r\n>> old\r\n-- \r\nАнна\r\n", &s, &err) == 0, "flowed: parsed");
	is_str(s.text, "Отклонить: у нас нет договора с вашей организацией, и From the "
	       "stuffed line.\n\nOn 25.11.2025 10:00, X wrote:\n> Принять или отклонить? "
	       "Ответьте, пожалуйста.\n>> old\n--\nАнна", "flowed: paragraphs joined, quotes kept");
	is_str(s.new_text, "Отклонить: у нас нет договора с вашей организацией, и From the "
	       "stuffed line.", "flowed: new text");
	mime_submission_clear(&s);

	/* a group and an encoded-word that does not decode */
	ok(parse("From: \"Broken =?utf-8?B?@@@?=\" <x@y.z>\r\n"
		 "To: Team: a@b.c, d@e.f;, g@h.i\r\nSubject: =?x-unknown?Q?abc?=\r\n\r\nhi\r\n",
		 &s, &err) == 0, "group: parsed");
	is_int(s.n_to, 3, "group: members expanded");
	ok(s.subject != NULL, "group: subject present");
	mime_submission_clear(&s);

	/* dates libetpan reads but nobody can mean: no date (fuzz finding:
	 * the zone overflowed int) */
	ok(parse("From: a@b.c\r\nDate: Tue, 25 Nov 2025 13:05:11 +0301395467483\r\n"
		 "\r\nhi\r\n", &s, &err) == 0, "huge zone: parsed");
	is_int(s.date, 0, "huge zone: no date");
	mime_submission_clear(&s);
	ok(parse("From: a@b.c\r\nDate: Tue, 25 Nov 2025 25:05:11 +0300\r\n"
		 "\r\nhi\r\n", &s, &err) == 0, "hour 25: parsed");
	is_int(s.date, 0, "hour 25: no date");
	mime_submission_clear(&s);
	ok(parse("From: a@b.c\r\nDate: Tue, 25 Nov 2025 13:05:11 -0130\r\n"
		 "\r\nhi\r\n", &s, &err) == 0, "zone -0130: parsed");
	is_int(s.date, 1764081311, "zone -0130: hours and minutes both count");
	mime_submission_clear(&s);
}

/* Our base64 decoding of attachments gives what libetpan's did, odd input
 * included: junk and '=' skipped anywhere, short last groups. */
static void test_base64_like_libetpan(void)
{
	static const char *const bodies[] = {
		/* no lone first symbol: libetpan reads an unset byte then */
		"AAEC", "AAECAw==", "AAECAw=", "AAECAw", "AAECA", "AAEC\r\nAw==",
		"QUJD REVG\tR0hJ\r\nSktM", "Q=U=J=D", "!!QUJD##", "QU",
		"QUI", "", "====", "  \r\n", "/+/+//++", "0123456789+/abcXYZ",
		"QUJD\nREVG\n", "\xd0\x9f" "QUJD\xff",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct mime_submission s;
		char *err = NULL, *res = NULL, *msg;
		size_t idx = 0, res_len = 0;

		if (mailmime_base64_body_parse(bodies[i], strlen(bodies[i]),
					       &idx, &res, &res_len) !=
		    MAILIMF_NO_ERROR)
			res = NULL;
		msg = xasprintf("From: a@b.c\r\nMIME-Version: 1.0\r\n"
				"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
				"--b\r\nContent-Type: text/plain\r\n\r\nok\r\n"
				"--b\r\nContent-Type: application/pdf; name=a.pdf\r\n"
				"Content-Transfer-Encoding: base64\r\n\r\n%s\r\n"
				"--b--\r\n", bodies[i]);
		int r = parse(msg, &s, &err);
		ok(r == 0 && res != NULL && s.n_attachments == 1 &&
		   s.attachments[0].len == res_len &&
		   memcmp(s.attachments[0].data, res, res_len) == 0 &&
		   s.attachments[0].data[res_len] == '\0',
		   "base64 body %zu: %zu bytes as libetpan", i, res_len);
		if (r == 0)
			mime_submission_clear(&s);
		free(err);
		free(msg);
		if (res != NULL)
			mailmime_decoded_part_free(res);
	}
}

int main(void)
{
	test_thunderbird();
	test_outlook();
	test_mutt();
	test_python();
	test_html_only();
	test_forward_as_attachment();
	test_minimal_and_odd();
	test_base64_like_libetpan();
	return mt_done();
}
