/* ИНН/КПП/participant id validation and name splitting: pure functions. */
#include "../operator/op-test.h"

#include "edo/edo.h"
#include "edo/edo-fns.h"

static void test_inn(void)
{
	ok(edo_inn_valid("7707083893"), "10-digit ИНН with a valid check digit");
	ok(edo_inn_valid("7733012345"), "another valid 10-digit ИНН");
	ok(edo_inn_valid("500100732259"), "12-digit ИНН (ИП) with two valid check digits");
	ok(!edo_inn_valid("7707083894"), "10 digits, wrong check digit");
	ok(!edo_inn_valid("500100732258"), "12 digits, wrong second check digit");
	ok(!edo_inn_valid("500100732269"), "12 digits, wrong first check digit");
	ok(!edo_inn_valid("770708389"), "9 digits: wrong length");
	ok(!edo_inn_valid("77070838931"), "11 digits: wrong length");
	ok(!edo_inn_valid("5001007322591"), "13 digits: wrong length");
	ok(!edo_inn_valid(""), "empty");
	ok(!edo_inn_valid(NULL), "NULL");
	ok(!edo_inn_valid("77O7083893"), "a letter among digits");
	ok(!edo_inn_valid("7707 83893"), "a space");
	ok(!edo_inn_valid("0000000000"), "region 00 is refused (FNS pattern)");
	ok(!edo_inn_valid("-707083893"), "a sign");
}

static void test_kpp(void)
{
	ok(edo_kpp_valid("770701001"), "КПП of digits");
	ok(edo_kpp_valid("7707AB001"), "КПП with capital letters in positions 5-6");
	ok(edo_kpp_valid("77070Z001"), "КПП with one letter");
	ok(!edo_kpp_valid("7707ab001"), "lower-case letters");
	ok(!edo_kpp_valid("7707ЖЖ001"), "Cyrillic letters");
	ok(!edo_kpp_valid("77A701001"), "a letter in the first four");
	ok(!edo_kpp_valid("7707010A1"), "a letter in the last three");
	ok(!edo_kpp_valid("77070100"), "8 characters");
	ok(!edo_kpp_valid("7707010011"), "10 characters");
	ok(!edo_kpp_valid(""), "empty");
	ok(!edo_kpp_valid(NULL), "NULL");
	ok(!edo_kpp_valid("000701001"), "tax office 00 is refused (FNS pattern)");
}

static void test_ids(void)
{
	ok(edo_id_valid("2ED", 3, 3), "operator prefix");
	ok(edo_id_valid("2BM-7707083893-770701001", 4, 46), "Diadoc-like id");
	ok(edo_id_valid("2ED0123456789ABCDEF0123456789ABCDEF", 4, 46),
	   "our id: prefix + 32 hex");
	ok(!edo_id_valid("2ED_1", 4, 46), "underscore refused");
	ok(!edo_id_valid("2ED", 4, 46), "too short");
	ok(!edo_id_valid("2EDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 4, 46),
	   "47 characters refused");
	ok(!edo_id_valid("2ЕД1", 4, 46), "Cyrillic refused");
	ok(edo_utf8_chars("Привет") == 6, "UTF-8 characters are counted");
	ok(edo_utf8_chars("\xff\xfe") < 0, "bad UTF-8 detected");
}

static void test_split(void)
{
	char *s = NULL, *g = NULL, *p = NULL;
	int ret;

	ret = edo_fns_split_name("ИП Иванов Иван Иванович", &s, &g, &p);
	ok(ret == 0 && strcmp(s, "Иванов") == 0 && strcmp(g, "Иван") == 0 &&
	   strcmp(p, "Иванович") == 0, "ИП name split into ФИО");
	free(s); free(g); free(p);
	ret = edo_fns_split_name("  Петров  Пётр ", &s, &g, &p);
	ok(ret == 0 && strcmp(s, "Петров") == 0 && strcmp(g, "Пётр") == 0 &&
	   strcmp(p, "") == 0, "extra spaces, no patronymic");
	free(s); free(g); free(p);
	ret = edo_fns_split_name("Мамедов Рашид Ильхам оглы", &s, &g, &p);
	ok(ret == 0 && strcmp(p, "Ильхам оглы") == 0, "the rest goes to the patronymic");
	free(s); free(g); free(p);
	ok(edo_fns_split_name("   ", &s, &g, &p) < 0, "no word: error");
}

int main(void)
{
	log_init("test-edo-validate", LOG_LVL_WARN);
	test_inn();
	test_kpp();
	test_ids();
	test_split();
	return op_t_done();
}
