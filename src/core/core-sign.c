/* The recipient's refusal to sign (issue 13): the Уведомление об
 * уточнении (DP_UVUTOCH) for one document of a received message, filled
 * from the two boxes and the signer's certificate, built and validated by
 * edo/edo-fns.c.  The mailbox service signs it and hands it to the core
 * as a patch (CORE_OP_PATCH). */
#include "core/core-private.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "edo/edo-fns.h"
#include "edo/edo-upd.h"
#include "lib/util.h"
#include "store/store.h"

/* Подписант's ФИО and position: the certificate's SN/GN (GN holds "Имя
 * Отчество" in Russian qualified certificates), else the user's full name,
 * else CN (as the receipts do). */
static char *core_sign_full_name(struct core *core, const char *cert_pem,
				 int64_t user_id)
{
	struct crypto_cert_info info;
	struct store_user user;
	char *cerr = NULL, *full = NULL;

	memset(&info, 0, sizeof(info));
	memset(&user, 0, sizeof(user));
	if (crypto_cert_info(cert_pem, &info, &cerr) < 0)
		free(cerr);
	if (info.surname != NULL && info.given_name != NULL)
		full = xasprintf("%s %s", info.surname, info.given_name);
	else if (user_id != 0 &&
		 store_user_get_by_id(core->store, user_id, &user) == STORE_OK &&
		 user.full_name != NULL && *user.full_name != '\0')
		full = xstrdup(user.full_name);
	else if (info.common_name != NULL)
		full = xstrdup(info.common_name);
	store_user_clear(&user);
	crypto_cert_info_clear(&info);
	return full;
}

int core_refusal_build(struct core *core, const char *cert_pem,
		       int64_t user_id, const struct core_message *m,
		       const char *doc_id, const char *reason,
		       unsigned char **xml_r, size_t *len_r, char **name_r,
		       struct core_error *err)
{
	struct core_box me, sender;
	struct edo_fns_uvutoch p;
	const struct core_entity *doc = NULL;
	const unsigned char **sigs;
	size_t *lens, n = 0, i;
	char *full, *sur = NULL, *given = NULL, *patr = NULL;
	int ret;

	for (i = 0; i < m->n_entities && doc == NULL; i++)
		if (m->entities[i].kind == CORE_ENT_ATTACHMENT &&
		    strcmp(m->entities[i].id, doc_id) == 0)
			doc = &m->entities[i];
	if (doc == NULL)
		return edo_error(err, CORE_ERR_NOTFOUND,
			"Документ не найден / document not found");
	if (core_get_box(core, m->to_box, &me, err) < 0 ||
	    core_get_box(core, m->from_box, &sender, err) < 0)
		return -1;
	sigs = xcalloc(m->n_entities + 1, sizeof(*sigs));
	lens = xcalloc(m->n_entities + 1, sizeof(*lens));
	for (i = 0; i < m->n_entities; i++) {
		const struct core_entity *e = &m->entities[i];
		if (e->kind == CORE_ENT_SIGNATURE && !e->encrypted &&
		    strcmp(e->parent_id, doc_id) == 0 &&
		    strcmp(e->signer_box, m->from_box) == 0) {
			sigs[n] = e->data;
			lens[n++] = e->len;
		}
	}
	memset(&p, 0, sizeof(p));
	p.receiver = (struct edo_fns_party){ me.id, me.name, me.inn, me.kpp };
	p.sender = (struct edo_fns_party){ sender.id, sender.name, sender.inn,
					   sender.kpp };
	p.file.name = doc->file_name != NULL && *doc->file_name != '\0' ?
		doc->file_name : doc->id;
	p.file.sigs = sigs;
	p.file.sig_lens = lens;
	p.file.n_sigs = n;
	p.reason = reason;
	p.received = util_now();
	full = core_sign_full_name(core, cert_pem, user_id);
	if (full != NULL && edo_fns_split_name(full, &sur, &given, &patr) == 0) {
		p.signer.surname = sur;
		p.signer.given_name = given;
		p.signer.patronymic = patr;
	}
	ret = edo_fns_uvutoch(&p, xml_r, len_r, name_r, err);
	free(full);
	free(sur);
	free(given);
	free(patr);
	free(sigs);
	free(lens);
	return ret;
}

/* The position of the certificate's holder (title), NULL when none. */
static char *core_sign_position(const char *cert_pem)
{
	struct crypto_cert_info info;
	char *cerr = NULL, *pos = NULL;

	memset(&info, 0, sizeof(info));
	if (crypto_cert_info(cert_pem, &info, &cerr) < 0)
		free(cerr);
	else if (info.title != NULL && *info.title != '\0')
		pos = xstrdup(info.title);
	crypto_cert_info_clear(&info);
	return pos;
}

int core_buyer_title_build(struct core *core, const char *cert_pem,
			   int64_t user_id, const struct core_message *m,
			   const char *doc_id, const unsigned char *seller_xml,
			   size_t seller_len, unsigned char **xml_r,
			   size_t *len_r, char **name_r, struct core_error *err)
{
	struct core_box me, seller;
	struct edo_upd_seller_sigs ss;
	struct edo_upd_signer signer;
	struct edo_upd_org buyer;
	const unsigned char **sigs;
	size_t *lens, n = 0, i;
	char *full, *sur = NULL, *given = NULL, *patr = NULL, *pos;
	int ret;

	if (core_get_box(core, m->to_box, &me, err) < 0 ||
	    core_get_box(core, m->from_box, &seller, err) < 0)
		return -1;
	/* the seller's signatures of this document, quoted in the title */
	sigs = xcalloc(m->n_entities + 1, sizeof(*sigs));
	lens = xcalloc(m->n_entities + 1, sizeof(*lens));
	for (i = 0; i < m->n_entities; i++) {
		const struct core_entity *e = &m->entities[i];
		if (e->kind == CORE_ENT_SIGNATURE && !e->encrypted &&
		    strcmp(e->parent_id, doc_id) == 0 &&
		    strcmp(e->signer_box, m->from_box) == 0) {
			sigs[n] = e->data;
			lens[n++] = e->len;
		}
	}
	ss = (struct edo_upd_seller_sigs){ (const unsigned char *const *)sigs,
					   lens, n };
	memset(&signer, 0, sizeof(signer));
	full = core_sign_full_name(core, cert_pem, user_id);
	if (full != NULL && edo_fns_split_name(full, &sur, &given, &patr) == 0) {
		signer.surname = sur;
		signer.given_name = given;
		signer.patronymic = patr;
	}
	pos = core_sign_position(cert_pem);
	signer.position = pos;
	signer.inn = me.inn;
	buyer = (struct edo_upd_org){ me.id, me.name, me.inn, me.kpp, NULL };
	ret = edo_upd_make_buyer(seller_xml, seller_len, &ss, &signer, &buyer,
				 seller.id, util_now(), xml_r, len_r, name_r,
				 err);
	free(full);
	free(sur);
	free(given);
	free(patr);
	free(pos);
	free(sigs);
	free(lens);
	return ret;
}
