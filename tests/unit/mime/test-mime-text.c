/* Decision words, the new text of replies, HTML reduction, charsets. */
#include "mime/mime.h"
#include "mime/mime-private.h"
#include "mime-test.h"

#include <string.h>

/* A TAP test name is one line: line breaks of the text shown as "\n". */
static void tap_name(char *out, size_t size, const char *what,
		     const char *text)
{
	size_t n = (size_t)snprintf(out, size, "%s of \"", what);

	for (; text != NULL && *text != '\0' && n + 8 < size; text++) {
		if (*text == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else {
			out[n++] = *text;
		}
	}
	snprintf(out + n, size - n, "%s\"", text == NULL ? "(null)" : "");
}

static void decision(const char *text, int want, const char *want_comment)
{
	char *comment = NULL;
	int got = mime_reply_decision(text, &comment);
	char name[200];

	tap_name(name, sizeof(name), "decision", text);
	is_int(got, want, name);
	if (want_comment != NULL) {
		tap_name(name, sizeof(name), "comment", text);
		is_str(comment, want_comment, name);
	}
	free(comment);
}

static void test_decisions(void)
{
	decision("Принять", 1, "");
	decision("ПРИНИМАЮ!", 1, "");
	decision("  принимаем, спасибо", 1, "спасибо");
	decision("Да", 1, "");
	decision("да.\nЖдём документы", 1, "Ждём документы");
	decision("Accept", 1, "");
	decision("yes, thanks", 1, "thanks");
	decision("«Принять»", 1, "");
	decision("Отклонить. Нет договора", -1, "Нет договора");
	decision("Отказать — нет договора", -1, "нет договора");
	decision("Нет, спасибо", -1, "спасибо");
	decision("НЕТ", -1, "");
	decision("No", -1, "");
	decision("Decline: spam", -1, "spam");
	decision("reject", -1, "");
	decision("Не принимаю, мы не работаем с ЭДО", -1, "мы не работаем с ЭДО");
	decision("Здравствуйте, подумаем", 0, "Здравствуйте, подумаем");
	decision("Принятие решения позже", 0, NULL);
	decision("Данные пришлём", 0, NULL);
	decision("Нетто", 0, NULL);
	decision("", 0, "");
	decision(NULL, 0, "");
	decision("!!!", 0, NULL);
	is_int(mime_reply_decision("Да", NULL), 1, "comment_r may be NULL");
}

static void new_text(const char *text, const char *want, const char *name)
{
	char *got = mime_new_text(text);

	is_str(got, want, name);
	free(got);
}

static void test_new_text(void)
{
	char *comment = NULL;
	char *nt;

	new_text("Принять\n\nOn 25.11.2025 10:00, Иван wrote:\n> Отклонить?\n> ...\n",
		 "Принять", "english attribution and quote");
	new_text("Отклонить\r\nПричина: дорого\r\n\r\n25.11.2025 10:00, ООО Лютик пишет:\r\n"
		 "> Принять\r\n", "Отклонить\nПричина: дорого", "CRLF, Russian attribution");
	new_text("Да\n\nпн, 24 нояб. 2025 г. в 10:00, Иван <ivan@lutik.ru>:\n> текст\n",
		 "Да", "Gmail Russian attribution");
	new_text("Принять\n\n25.11.2025 10:00, Иван Петров\nпишет:\n> текст\n",
		 "Принять", "wrapped attribution (two lines)");
	new_text("Да\n-- \nАнна\nООО Ромашка\n", "Да", "signature removed");
	new_text("Нет\n\n-----Original Message-----\nFrom: X\nSent: Y\n\nПринять\n",
		 "Нет", "Outlook original message");
	new_text("Нет\n\n________________________________\nОт: X\nОтправлено: Y\n\nПринять\n",
		 "Нет", "Outlook underscore rule");
	new_text("Ответ 1\n> вопрос 2\nОтвет 2\n\n\n\nКонец\n", "Ответ 1\nОтвет 2\n\nКонец",
		 "interleaved quotes, blank lines collapsed");
	new_text("  \n\n", "", "only blanks");
	new_text("Документы:\nсчёт\n", "Документы:\nсчёт", "a colon line without a quote stays");

	/* decision words in quoted text after the first line do not count */
	nt = mime_new_text("Отклонить\n\nOn Tue, X wrote:\n> Принять\n> Да\n");
	is_int(mime_reply_decision(nt, &comment), -1, "quoted accept words ignored");
	is_str(comment, "", "nothing but the word");
	free(comment);
	free(nt);
	nt = mime_new_text("> Принять\n\nНет, не будем\n");
	is_int(mime_reply_decision(nt, &comment), -1, "bottom-posting: the user's line counts");
	is_str(comment, "не будем", "bottom-posting comment");
	free(comment);
	free(nt);
}

static void html(const char *in, const char *want, const char *name)
{
	char *got = mime_html_to_text(in, strlen(in));

	is_str(got, want, name);
	free(got);
}

static void test_html(void)
{
	html("<p>Принять</p><p>Спасибо</p>", "Принять\nСпасибо", "paragraphs");
	html("a<br>b<BR/>c", "a\nb\nc", "br");
	html("<style>p{}</style><script>x<y</script>Да", "Да", "style and script skipped");
	html("&laquo;Да&raquo; &amp; &lt;нет&gt; &#1044;&#x430; &unknown; &#;",
	     "«Да» & <нет> Да &unknown; &#;", "entities");
	html("  много   \n  пробелов  ", "много пробелов", "whitespace collapsed");
	html("<blockquote>цитата<br>вторая</blockquote>ответ",
	     "> цитата\n> вторая\nответ", "blockquote quoted");
	html("<pre>a  b\nc</pre>", "a  b\nc", "pre keeps spaces");
	html("<!-- <p>hidden</p> -->shown<a href=\"x>y\">link</a>", "shownlink",
	     "comments and quoted '>' in attributes");
	html("a < b", "a < b", "a lone <");
	html("<table><tr><td>1</td><td>2</td></tr></table>", "1 2", "cells");
	html("<p>unterminated <b", "unterminated", "truncated tag");
}

static void conv(const char *cs, const char *in, const char *want, const char *name)
{
	char *got = mime_to_utf8(cs, (const unsigned char *)in, strlen(in));

	is_str(got, want, name);
	free(got);
}

static void test_charsets(void)
{
	char *s;

	conv("koi8-r", "\xf0\xd2\xc9\xce\xd1\xd4\xd8", "Принять", "koi8-r");
	conv("windows-1251", "\xcf\xf0\xe8\xed\xff\xf2\xfc", "Принять", "windows-1251");
	conv("UTF-8", "Принять", "Принять", "utf-8");
	conv(NULL, "\xcf\xf0\xe8\xed\xff\xf2\xfc", "Принять", "no charset, not UTF-8: cp1251");
	conv("x-unknown", "abc", "abc", "unknown charset, ASCII");
	conv("utf-8", "a\xff" "b", "a\xef\xbf\xbd" "b", "invalid UTF-8 replaced");
	s = mime_utf8_sanitize((const unsigned char *)"a\0b\xed\xa0\x80", 6);
	is_str(s, "ab\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "NUL dropped, surrogate replaced");
	free(s);
	s = mime_clean_file_name(xstrdup("C:\\Users\\anna\\Счёт\x01.pdf"));
	is_str(s, "Счёт_.pdf", "file name: base name, control replaced");
	free(s);
	ok(mime_clean_file_name(xstrdup("..")) == NULL, "file name: .. refused");
}

int main(void)
{
	test_decisions();
	test_new_text();
	test_html();
	test_charsets();
	return mt_done();
}
