/* organization and power of attorney (poa): edomailctl poa import|list|
 * revoke, and poa make, which builds and signs an МЧД for the demo and
 * the tests (doc/poa.md). */
#include "ctl/ctl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <edomail/core.h>

#include "edo/edo-poa.h"
#include "lib/util.h"

#define CTL_DAY 86400

/* The user and the organization they serve; prints the error. */
static int ctl_poa_member(struct ctl *ctl, const char *login, const char *org,
			  struct store_user *u_r, struct store_org *o_r)
{
	struct store_membership m;

	if (ctl_find_org(ctl, org, o_r) < 0)
		return -1;
	if (ctl_find_user(ctl, login, u_r) < 0) {
		store_org_clear(o_r);
		return -1;
	}
	if (store_member_get(ctl->store, u_r->id, o_r->box_id, &m) != STORE_OK) {
		ctl_error("%s не состоит в %s / %s is not a member of %s", login,
			  o_r->box_id, login, o_r->box_id);
		store_user_clear(u_r);
		store_org_clear(o_r);
		return -1;
	}
	store_membership_clear(&m);
	return 0;
}

/* The principal's detached signature, by the organization itself (its
 * certificate's ИННЮЛ is the organization's ИНН: the head's). */
static int ctl_poa_check_principal(const unsigned char *xml, size_t len,
				   const unsigned char *sig, size_t sig_len,
				   const struct store_org *o,
				   const struct edo_poa *poa)
{
	struct crypto_verify_report vr;
	struct crypto_cert_info pi;
	char *error = NULL;
	int ret = -1;

	if (strcmp(poa->principal_inn, o->inn) != 0)
		return ctl_error("МЧД выдана организацией с ИНН %s, а не %s / the "
				 "power of attorney is given by INN %s, not %s",
				 poa->principal_inn, o->inn, poa->principal_inn,
				 o->inn), -1;
	if (crypto_verify_detached(xml, len, sig, sig_len, &vr) < 0)
		return ctl_error("файл подписи не CMS / the signature file is "
				 "not CMS"), -1;
	memset(&pi, 0, sizeof(pi));
	if (!vr.valid)
		ctl_error("подпись доверителя недействительна: %s / the "
			  "principal's signature is invalid", vr.error);
	else if (crypto_cert_info(vr.signer_cert_pem, &pi, &error) < 0)
		ctl_error("%s", error);
	else if (pi.innle == NULL || strcmp(pi.innle, o->inn) != 0)
		ctl_error("МЧД подписана не сертификатом организации с ИНН %s "
			  "(ИННЮЛ подписанта: %s) / the power of attorney is not "
			  "signed with a certificate of the organization with "
			  "INN %s (the signer's ИННЮЛ: %s)", o->inn,
			  pi.innle != NULL ? pi.innle : "-", o->inn,
			  pi.innle != NULL ? pi.innle : "-");
	else
		ret = 0;
	free(error);
	crypto_cert_info_clear(&pi);
	crypto_verify_report_clear(&vr);
	return ret;
}

/* The representative is the holder of one of the user's certificates in
 * the organization. */
static int ctl_poa_check_rep(struct ctl *ctl, const struct store_user *u,
			     const struct store_org *o,
			     const struct edo_poa *poa)
{
	struct store_cert *certs = NULL;
	struct crypto_cert_info ci;
	char *error = NULL, *why = NULL;
	size_t n = 0, i;
	int ret = -1;

	if (store_cert_list(ctl->store, o->box_id, u->id, &certs, &n) !=
	    STORE_OK || n == 0) {
		store_cert_list_free(certs, n);
		return ctl_error("у %s нет сертификата в %s: сначала cert import / "
				 "%s has no certificate in %s: run cert import "
				 "first", u->login, o->box_id, u->login,
				 o->box_id), -1;
	}
	for (i = 0; i < n && ret < 0; i++) {
		if (crypto_cert_info(certs[i].cert_pem, &ci, &error) < 0) {
			free(error);
			error = NULL;
			continue;
		}
		free(why);
		why = NULL;
		if (edo_poa_match(poa, o->inn, ci.inn_fl, ci.snils, &why) == 0)
			ret = 0;
		crypto_cert_info_clear(&ci);
	}
	if (ret < 0)
		ctl_error("%s", why != NULL ? why : "?");
	free(why);
	store_cert_list_free(certs, n);
	return ret;
}

static int ctl_poa_store(struct ctl *ctl, const struct store_user *u,
			 const struct store_org *o, const struct edo_poa *poa,
			 unsigned char *xml, size_t len, unsigned char *sig,
			 size_t sig_len)
{
	struct store_poa p;
	int64_t id = 0;
	int ret;

	memset(&p, 0, sizeof(p));
	p.user_id = u->id;
	p.box_id = o->box_id;
	p.number = poa->number;
	p.principal_inn = (char *)poa->principal_inn;
	p.rep_name = poa->rep_name;
	p.valid_from = poa->valid_from;
	p.valid_until = poa->valid_until;
	p.xml = xml;
	p.xml_len = len;
	p.sig = sig;
	p.sig_len = sig_len;
	p.imported = util_now();
	ret = store_poa_add(ctl->store, &p, &id);
	if (ret == STORE_ERR_CONFLICT)
		return ctl_error("МЧД № %s уже импортирована / power of attorney "
				 "%s is already imported", poa->number,
				 poa->number);
	if (ret != STORE_OK)
		return ctl_store_error(ret, "poa import");
	printf("МЧД / power of attorney: %lld %s %s — %s, %s\n", (long long)id,
	       poa->number, poa->until, poa->rep_name,
	       edo_poa_status_name(edo_poa_status(poa, 0, util_now())));
	return 0;
}

int ctl_cmd_poa_import(struct ctl *ctl, int argc, char **argv)
{
	unsigned char *xml = NULL, *sig = NULL;
	size_t len = 0, sig_len = 0;
	struct store_user u;
	struct store_org o;
	struct edo_poa poa;
	enum edo_poa_status st;
	char *error = NULL;
	int ret = CTL_EXIT_ERROR;

	if (ctl_positional(argc, argv, 4, 4) < 0)
		return ctl_usage("poa import");
	if (ctl_poa_member(ctl, argv[optind], argv[optind + 1], &u, &o) < 0)
		return CTL_EXIT_ERROR;
	memset(&poa, 0, sizeof(poa));
	if (ctl_read_file(argv[optind + 2], &xml, &len) < 0 ||
	    ctl_read_file(argv[optind + 3], &sig, &sig_len) < 0)
		goto out;
	if (edo_poa_parse(xml, len, &poa, &error) < 0) {
		ctl_error("%s: %s", argv[optind + 2], error);
		goto out;
	}
	st = edo_poa_status(&poa, 0, util_now());
	if (st == EDO_POA_EXPIRED) {
		ctl_error("МЧД № %s истекла %s / power of attorney %s expired on "
			  "%s", poa.number, poa.until, poa.number, poa.until);
		goto out;
	}
	if (ctl_poa_check_principal(xml, len, sig, sig_len, &o, &poa) < 0 ||
	    ctl_poa_check_rep(ctl, &u, &o, &poa) < 0 ||
	    ctl_poa_store(ctl, &u, &o, &poa, xml, len, sig, sig_len) < 0)
		goto out;
	ret = CTL_EXIT_OK;
out:
	free(error);
	free(xml);
	free(sig);
	edo_poa_clear(&poa);
	store_user_clear(&u);
	store_org_clear(&o);
	return ret;
}

static const char *ctl_poa_status(const struct store_poa *p, int64_t now)
{
	if (p->revoked != 0)
		return "отозвана";
	if (now > p->valid_until)
		return "истекла";
	if (now < p->valid_from)
		return "ещё не действует";
	return "действует";
}

int ctl_cmd_poa_list(struct ctl *ctl, int argc, char **argv)
{
	struct store_poa *ps = NULL;
	struct store_user u;
	char until[32];
	int64_t now = util_now();
	size_t n = 0, i;
	int ret;

	if (ctl_positional(argc, argv, 0, 1) < 0)
		return ctl_usage("poa list");
	ret = store_poa_list(ctl->store, -1, NULL, &ps, &n);
	if (ret != STORE_OK)
		return ctl_store_error(ret, "poa list");
	memset(&u, 0, sizeof(u));
	if (argc - optind == 1 && ctl_find_user(ctl, argv[optind], &u) < 0) {
		store_poa_list_free(ps, n);
		return CTL_EXIT_ERROR;
	}
	printf("%-5s %-20s %-36s %-38s %-12s %-17s %-17s %s\n", "ID", "LOGIN",
	       "PARTICIPANT-ID", "NUMBER", "PRINCIPAL", "VALID-UNTIL", "STATUS",
	       "REPRESENTATIVE");
	for (i = 0; i < n; i++) {
		struct store_user h;
		if (u.id != 0 && ps[i].user_id != u.id)
			continue;
		ctl_format_time(ps[i].valid_until, until);
		if (store_user_get_by_id(ctl->store, ps[i].user_id, &h) != STORE_OK)
			memset(&h, 0, sizeof(h));
		printf("%-5lld %-20s %-36s %-38s %-12s %-17s ", (long long)ps[i].id,
		       h.login != NULL ? h.login : "?", ps[i].box_id,
		       ps[i].number, ps[i].principal_inn, until);
		ctl_col(ctl_poa_status(&ps[i], now), 17);
		printf("%s\n", ps[i].rep_name);
		store_user_clear(&h);
	}
	store_user_clear(&u);
	store_poa_list_free(ps, n);
	return CTL_EXIT_OK;
}

int ctl_cmd_poa_revoke(struct ctl *ctl, int argc, char **argv)
{
	size_t n = 0;
	int ret;

	if (ctl_positional(argc, argv, 1, 1) < 0)
		return ctl_usage("poa revoke");
	ret = store_poa_revoke(ctl->store, argv[optind], util_now(), &n);
	if (ret == STORE_ERR_NOTFOUND)
		return ctl_error("МЧД № %s не найдена / power of attorney %s not "
				 "found", argv[optind], argv[optind]);
	if (ret != STORE_OK)
		return ctl_store_error(ret, "poa revoke");
	printf("МЧД № %s: отозвана / revoked (%zu)\n", argv[optind], n);
	return CTL_EXIT_OK;
}

/* ---- poa make: an МЧД for the demo and the tests ---- */

struct ctl_poa_make {
	const char *out;
	const char *number;
	int days;
	int expired;
};

static int ctl_poa_make_parse(int argc, char **argv, struct ctl_poa_make *a)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "number", required_argument, NULL, 'n' },
		{ "days", required_argument, NULL, 'd' },
		{ "expired", no_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(a, 0, sizeof(*a));
	a->days = 365;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'o': a->out = optarg; break;
		case 'n': a->number = optarg; break;
		case 'd':
			a->days = atoi(optarg);
			if (a->days < 1 || a->days > 3650)
				return -1;
			break;
		case 'e': a->expired = 1; break;
		default: return -1;
		}
	}
	return a->out == NULL || argc - optind != 3 ? -1 : 0;
}

/* XML attribute text: & < > " escaped. */
static void ctl_poa_attr(struct buf *b, const char *name, const char *v)
{
	buf_printf(b, " %s=\"", name);
	for (; v != NULL && *v != '\0'; v++) {
		switch (*v) {
		case '&': buf_append_str(b, "&amp;"); break;
		case '<': buf_append_str(b, "&lt;"); break;
		case '>': buf_append_str(b, "&gt;"); break;
		case '"': buf_append_str(b, "&quot;"); break;
		default: buf_append(b, v, 1);
		}
	}
	buf_append_str(b, "\"");
}

static void ctl_poa_date(int64_t t, char out[11])
{
	time_t msk = (time_t)(t + 3 * 3600);
	struct tm tm;

	gmtime_r(&msk, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* A demo ОГРН: the principal certificate's, else 1, 02 and the ИНН. */
static char *ctl_poa_xml(const struct store_org *o, const char *ogrn,
			 const struct crypto_cert_info *rep,
			 const struct store_user *ru, const struct ctl_poa_make *a)
{
	char number[40], from[11], until[11], snils[16], demo_ogrn[14];
	int64_t now = util_now();
	int64_t start = a->expired ? now - (int64_t)(a->days + 2) * CTL_DAY : now;
	int64_t end = a->expired ? now - 2 * CTL_DAY :
		now + (int64_t)a->days * CTL_DAY;
	const char *sur = rep->surname, *given = rep->given_name;
	struct buf b;

	if (a->number != NULL)
		snprintf(number, sizeof(number), "%s", a->number);
	else
		util_uuid(number);
	ctl_poa_date(start, from);
	ctl_poa_date(end, until);
	snprintf(demo_ogrn, sizeof(demo_ogrn), "102%s", o->inn);
	if (sur == NULL)
		sur = ru->full_name != NULL ? ru->full_name : ru->login;
	if (given == NULL)
		given = "-";
	buf_init(&b);
	buf_append_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		       "<Доверенность xmlns=\"" EDO_POA_NS "\" ВерсФорм=\""
		       EDO_POA_VERSION "\">\n <Документ ВидДовер=\"1\">\n  <СвДов");
	ctl_poa_attr(&b, "НомДовер", number);
	ctl_poa_attr(&b, "ДатаВыдДовер", from);
	ctl_poa_attr(&b, "СрокДейст", until);
	buf_append_str(&b, "/>\n  <СвДоверит ТипДоверит=\"1\"><Доверит>"
		       "<РосОргДовер>\n   <СвРосОрг");
	ctl_poa_attr(&b, "НаимОрг", o->name);
	ctl_poa_attr(&b, "ИННЮЛ", o->inn);
	ctl_poa_attr(&b, "КПП", o->kpp);
	ctl_poa_attr(&b, "ОГРН", ogrn != NULL && strlen(ogrn) == 13 ? ogrn :
		     demo_ogrn);
	buf_append_str(&b, "/>\n  </РосОргДовер></Доверит></СвДоверит>\n"
		       "  <СвУпПред ТипПред=\"1\"><Пред>\n   <СведФизЛ");
	if (rep->inn_fl != NULL)
		ctl_poa_attr(&b, "ИННФЛ", rep->inn_fl);
	if (rep->snils != NULL && strlen(rep->snils) == 11) {
		snprintf(snils, sizeof(snils), "%.3s-%.3s-%.3s %.2s", rep->snils,
			 rep->snils + 3, rep->snils + 6, rep->snils + 9);
		ctl_poa_attr(&b, "СНИЛС", snils);
	}
	buf_append_str(&b, "><СведФЛ><ФИО");
	ctl_poa_attr(&b, "Фамилия", sur);
	ctl_poa_attr(&b, "Имя", given);
	buf_append_str(&b, "/></СведФЛ></СведФизЛ>\n  </Пред></СвУпПред>\n"
		       "  <СвПолн ТипПолн=\"0\"><МашПолн КодПолн=\"02.01\" "
		       "НаимПолн=\"Подписание и отправка документов ЭДО\"/>"
		       "</СвПолн>\n </Документ>\n</Доверенность>\n");
	buf_append(&b, "", 1);
	return (char *)buf_steal(&b, NULL);
}

/* The representative's newest certificate in the organization. */
static int ctl_poa_rep_cert(struct ctl *ctl, const struct store_org *o,
			    const struct store_user *ru,
			    struct crypto_cert_info *ci)
{
	struct store_cert *certs = NULL;
	char *error = NULL;
	size_t n = 0;
	int ret;

	if (store_cert_list(ctl->store, o->box_id, ru->id, &certs, &n) !=
	    STORE_OK || n == 0) {
		store_cert_list_free(certs, n);
		return ctl_error("у %s нет сертификата в %s / %s has no "
				 "certificate in %s", ru->login, o->box_id,
				 ru->login, o->box_id), -1;
	}
	ret = crypto_cert_info(certs[0].cert_pem, ci, &error);
	if (ret < 0)
		ctl_error("%s", error);
	free(error);
	store_cert_list_free(certs, n);
	return ret;
}

static int ctl_poa_write(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(data, 1, len, f) != len) {
		if (f != NULL)
			fclose(f);
		return ctl_error("не удалось записать %s / cannot write %s", path,
				 path), -1;
	}
	return fclose(f) == 0 ? 0 : (ctl_error("не удалось записать %s / "
					       "cannot write %s", path, path), -1);
}

static int ctl_poa_sign_write(struct ctl *ctl, const struct store_org *o,
			      int64_t principal_id, const char *xml,
			      const char *out)
{
	struct core_error err = { 0 };
	struct core_signer *s = NULL;
	struct core *core;
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	char *sig_path;
	int ret = -1;

	if (ctl_core(ctl, &core) < 0)
		return -1;
	if (core_signer_open(core, o->box_id, principal_id, &s, &err) < 0)
		return ctl_error("доверитель / principal: %s", err.msg), -1;
	if (core_signer_sign(s, (const unsigned char *)xml, strlen(xml), &sig,
			     &sig_len, &err) < 0) {
		ctl_error("%s", err.msg);
	} else {
		sig_path = xasprintf("%s.sig", out);
		if (ctl_poa_write(out, xml, strlen(xml)) == 0 &&
		    ctl_poa_write(sig_path, sig, sig_len) == 0) {
			printf("%s\n%s\n", out, sig_path);
			ret = 0;
		}
		free(sig_path);
	}
	free(sig);
	core_signer_free(&s);
	return ret;
}

/* The principal's certificate: its ОГРН goes into the МЧД. */
static char *ctl_poa_principal_ogrn(struct ctl *ctl, const struct store_org *o,
				    int64_t principal_id)
{
	struct store_cert *certs = NULL;
	struct crypto_cert_info ci;
	char *error = NULL, *ogrn = NULL;
	size_t n = 0;

	if (store_cert_list(ctl->store, o->box_id, principal_id, &certs, &n) ==
	    STORE_OK && n > 0 &&
	    crypto_cert_info(certs[0].cert_pem, &ci, &error) == 0) {
		ogrn = ci.ogrn != NULL ? xstrdup(ci.ogrn) : NULL;
		crypto_cert_info_clear(&ci);
	}
	free(error);
	store_cert_list_free(certs, n);
	return ogrn;
}

int ctl_cmd_poa_make(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_poa_make a;
	struct crypto_cert_info ci;
	struct store_user pu, ru;
	struct store_org o;
	char *xml = NULL, *ogrn;
	int64_t principal_id = 0;
	int ret = CTL_EXIT_ERROR;

	if (ctl_poa_make_parse(argc, argv, &a) < 0)
		return ctl_usage("poa make");
	memset(&ci, 0, sizeof(ci));
	memset(&pu, 0, sizeof(pu));
	if (ctl_poa_member(ctl, argv[optind + 2], argv[optind], &ru, &o) < 0)
		return CTL_EXIT_ERROR;
	if (strcmp(argv[optind + 1], "-") != 0) {
		if (ctl_find_user(ctl, argv[optind + 1], &pu) < 0)
			goto out;
		principal_id = pu.id;
	}
	if (ctl_poa_rep_cert(ctl, &o, &ru, &ci) < 0)
		goto out;
	ogrn = ctl_poa_principal_ogrn(ctl, &o, principal_id);
	xml = ctl_poa_xml(&o, ogrn, &ci, &ru, &a);
	free(ogrn);
	if (ctl_poa_sign_write(ctl, &o, principal_id, xml, a.out) == 0)
		ret = CTL_EXIT_OK;
out:
	free(xml);
	crypto_cert_info_clear(&ci);
	store_user_clear(&pu);
	store_user_clear(&ru);
	store_org_clear(&o);
	return ret;
}
