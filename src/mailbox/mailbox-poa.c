/* organization and power of attorney (poa): the signer ↔ organization
 * check (mailbox-poa.h).  Kept apart from the chain and revocation
 * checks so that each says what failed. */
#include "mailbox/mailbox-poa.h"
#include "mailbox/mailbox-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "edo/edo-poa.h"
#include "lib/util.h"
#include "store/store.h"

void mb_poa_check_clear(struct mb_poa_check *r)
{
	free(r->reason);
	free(r->org);
	free(r->title);
	free(r->inn);
	free(r->ogrn);
	free(r->snils);
	free(r->poa_number);
	free(r->poa_summary);
	memset(r, 0, sizeof(*r));
}

static char *mb_poa_dup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void mb_poa_holder(const struct crypto_cert_info *ci,
			  struct mb_poa_check *r)
{
	r->org = mb_poa_dup(ci->org_name);
	r->title = mb_poa_dup(ci->title);
	r->inn = mb_poa_dup(ci->innle != NULL ? ci->innle : ci->inn_fl);
	r->ogrn = mb_poa_dup(ci->ogrn);
	r->snils = mb_poa_dup(ci->snils);
}

/* The principal's signature over the МЧД, and that the principal is
 * the organization (its certificate's ИННЮЛ: the head's certificate). */
static int mb_poa_principal(const unsigned char *xml, size_t len,
			    const unsigned char *sig, size_t sig_len,
			    const char *org_inn, char **why_r)
{
	struct crypto_verify_report vr;
	struct crypto_cert_info pi;
	char *cerr = NULL;
	int ret = -1;

	memset(&pi, 0, sizeof(pi));
	if (sig == NULL || crypto_verify_detached(xml, len, sig, sig_len,
						  &vr) < 0) {
		*why_r = xstrdup("подпись доверителя под МЧД не приложена или не "
				 "CMS / the principal's signature of the power "
				 "of attorney is missing or not CMS");
		return -1;
	}
	if (!vr.valid) {
		*why_r = xasprintf("подпись доверителя под МЧД недействительна "
				   "(%s) / the principal's signature of the "
				   "power of attorney is invalid",
				   vr.error != NULL ? vr.error : "?");
	} else if (vr.signer_cert_pem == NULL ||
		   crypto_cert_info(vr.signer_cert_pem, &pi, &cerr) < 0) {
		*why_r = xstrdup("сертификат доверителя не читается / the "
				 "principal's certificate cannot be read");
	} else if (pi.innle == NULL || strcmp(pi.innle, org_inn) != 0) {
		*why_r = xasprintf("МЧД подписана не организацией с ИНН %s "
				   "(ИННЮЛ подписанта: %s) / the power of "
				   "attorney is not signed by the organization "
				   "with INN %s (the signer's ИННЮЛ: %s)",
				   org_inn, pi.innle != NULL ? pi.innle : "-",
				   org_inn, pi.innle != NULL ? pi.innle : "-");
	} else {
		ret = 0;
	}
	free(cerr);
	crypto_cert_info_clear(&pi);
	crypto_verify_report_clear(&vr);
	return ret;
}

static void mb_poa_with_poa(struct mailbox_env *env,
			    const struct crypto_cert_info *ci,
			    const char *org_inn, const unsigned char *xml,
			    size_t len, const unsigned char *sig,
			    size_t sig_len, int64_t at, struct mb_poa_check *r)
{
	struct edo_poa poa;
	enum edo_poa_status st;
	char *why = NULL, *ru, *en;
	int revoked = -1;

	if (edo_poa_parse(xml, len, &poa, &why) < 0) {
		r->reason = xasprintf("МЧД не принята: %s", why);
		free(why);
		return;
	}
	r->poa_number = xstrdup(poa.number);
	ru = edo_poa_summary(&poa, 0);
	en = edo_poa_summary(&poa, 1);
	r->poa_summary = xasprintf("%s / %s", ru, en);
	free(ru);
	free(en);
	if (env != NULL &&
	    store_poa_state(env->store, poa.number, poa.principal_inn,
			    &revoked) != STORE_OK)
		revoked = -1;
	st = edo_poa_status(&poa, revoked == 1, at);
	if (mb_poa_principal(xml, len, sig, sig_len, org_inn, &why) < 0 ||
	    edo_poa_match(&poa, org_inn, ci->inn_fl, ci->snils, &why) < 0) {
		r->reason = why;
	} else if (st != EDO_POA_ACTIVE) {
		r->reason = xasprintf("МЧД № %s: %s / power of attorney %s: %s",
				      poa.number, edo_poa_status_name(st),
				      poa.number, edo_poa_status_name_en(st));
	} else {
		r->valid = 1;
		r->reason = xasprintf("подписано по МЧД № %s (%s) / signed under "
				      "power of attorney %s (%s)", poa.number,
				      edo_poa_status_name(st), poa.number,
				      edo_poa_status_name_en(st));
	}
	edo_poa_clear(&poa);
}

void mb_poa_check(struct mailbox_env *env, const char *cert_pem,
		  const char *org_inn, const unsigned char *poa_xml,
		  size_t poa_len, const unsigned char *poa_sig,
		  size_t poa_sig_len, int64_t at, struct mb_poa_check *r)
{
	struct crypto_cert_info ci;
	char *cerr = NULL;

	memset(r, 0, sizeof(*r));
	if (cert_pem == NULL || crypto_cert_info(cert_pem, &ci, &cerr) < 0) {
		free(cerr);
		r->reason = xstrdup("сертификат подписанта не читается / the "
				    "signer's certificate cannot be read");
		return;
	}
	mb_poa_holder(&ci, r);
	if (org_inn == NULL || org_inn[0] == '\0') {
		r->reason = xstrdup("организация отправителя неизвестна / the "
				    "sender's organization is unknown");
	} else if (ci.innle != NULL) {
		/* An organization's certificate: ours, or another's. */
		if (strcmp(ci.innle, org_inn) == 0) {
			r->valid = 1;
			r->reason = xasprintf("сертификат организации, ИНН %s / "
					      "the organization's certificate, "
					      "INN %s", org_inn, org_inn);
		} else {
			r->reason = xasprintf("сертификат выдан другой "
					      "организации (ИНН %s, %s), не "
					      "отправителю (ИНН %s) / the "
					      "certificate is another "
					      "organization's (INN %s), not the "
					      "sender's (INN %s)", ci.innle,
					      ci.org_name != NULL ? ci.org_name :
					      "-", org_inn, ci.innle, org_inn);
		}
	} else if (strlen(org_inn) == 12 && ci.inn_fl != NULL &&
		   strcmp(ci.inn_fl, org_inn) == 0) {
		r->valid = 1;
		r->reason = xasprintf("сертификат ИП, ИНН %s / the sole "
				      "proprietor's certificate, INN %s",
				      org_inn, org_inn);
	} else if (ci.inn_fl == NULL && ci.snils == NULL) {
		r->reason = xstrdup("в сертификате нет ни ИННЮЛ, ни ИНН, ни "
				    "СНИЛС: владельца не узнать / the "
				    "certificate names no ИННЮЛ, ИНН or СНИЛС: "
				    "its holder is unknown");
	} else if (poa_xml == NULL) {
		r->reason = xasprintf("нет доверенности (МЧД): сертификат "
				      "физического лица (ИНН %s, СНИЛС %s) без "
				      "МЧД организации с ИНН %s / no power of "
				      "attorney: a person's certificate (INN %s, "
				      "SNILS %s) without a power of attorney of "
				      "the organization with INN %s",
				      ci.inn_fl != NULL ? ci.inn_fl : "-",
				      ci.snils != NULL ? ci.snils : "-", org_inn,
				      ci.inn_fl != NULL ? ci.inn_fl : "-",
				      ci.snils != NULL ? ci.snils : "-", org_inn);
	} else {
		mb_poa_with_poa(env, &ci, org_inn, poa_xml, poa_len, poa_sig,
				poa_sig_len, at, r);
	}
	crypto_cert_info_clear(&ci);
}

int mb_poa_cert_is_person(const char *cert_pem, const char *org_inn)
{
	struct crypto_cert_info ci;
	char *cerr = NULL;
	int person;

	if (crypto_cert_info(cert_pem, &ci, &cerr) < 0) {
		free(cerr);
		return -1;
	}
	person = ci.innle == NULL && (ci.inn_fl != NULL || ci.snils != NULL) &&
		!(ci.inn_fl != NULL && strcmp(ci.inn_fl, org_inn) == 0);
	crypto_cert_info_clear(&ci);
	return person;
}

void mb_poa_split(const char *reason, char **ru_r, char **en_r)
{
	const char *sep = reason != NULL ? strstr(reason, " / ") : NULL;

	if (sep == NULL) {
		*ru_r = xstrdup(reason != NULL ? reason : "?");
		*en_r = xstrdup(*ru_r);
		return;
	}
	*ru_r = xstrndup(reason, (size_t)(sep - reason));
	*en_r = xstrdup(sep + 3);
}
