#ifndef MAILBOX_MAILBOX_POA_H
#define MAILBOX_MAILBOX_POA_H
/* organization and power of attorney (poa): whether a signature's
 * certificate speaks for an organization (DESIGN.md section 8): the
 * organization's own certificate (ИННЮЛ = the box's ИНН; for an ИП its
 * ИНН), or a person's (ИНН/СНИЛС, no ИННЮЛ) backed by a valid МЧД of that
 * organization naming the person.  One check for both sides: the
 * submission refuses what the recipient's report would call invalid.
 * The mathematics, the chain and revocation are checked elsewhere
 * (crypto); this block only answers for the organization. */
#include <stddef.h>
#include <stdint.h>

struct mailbox_env;

struct mb_poa_check {
	int valid;		/* the signer speaks for the organization */
	char *reason;		/* bilingual "… / …": why (valid or not) */
	/* the holder as the certificate names them (NULL: absent) */
	char *org, *title, *inn, *ogrn, *snils;
	/* the МЧД, when the certificate is a person's and one came */
	char *poa_number;
	char *poa_summary;	/* bilingual: number, term, principal */
};
void mb_poa_check_clear(struct mb_poa_check *r);

/* The check of cert_pem for the organization with org_inn at time at
 * (the signing time, else now); poa_xml/poa_sig: the МЧД that came with
 * the signature (NULL: none).  env may be NULL (then a revocation known
 * here is not looked up). */
void mb_poa_check(struct mailbox_env *env, const char *cert_pem,
		  const char *org_inn, const unsigned char *poa_xml,
		  size_t poa_len, const unsigned char *poa_sig,
		  size_t poa_sig_len, int64_t at, struct mb_poa_check *r);

/* 1 when cert_pem is a person's certificate (it needs an МЧД to speak
 * for the organization with org_inn), 0 when it is the organization's
 * own or another organization's, -1 when it cannot be read. */
int mb_poa_cert_is_person(const char *cert_pem, const char *org_inn);

/* The two halves of a bilingual "русский / English" reason (malloc'd),
 * to be put into a bilingual text of one's own. */
void mb_poa_split(const char *reason, char **ru_r, char **en_r);

#endif
