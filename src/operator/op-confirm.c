/* The operator's date confirmations: for every signed document of a
 * message a ПДОтпр (DP_PDOTPR, the date of sending, for the sender) and a
 * ПДПол (DP_PDPOL, the date of receipt, for the recipient), each naming
 * the document's file and carrying the sender's signatures under it,
 * signed by the operator's own key.  A
 * message with no signed document gets none: there is nothing legally
 * significant to confirm. */
#include "operator/op-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "lib/util.h"

static void op_party(const struct core_box *box,
		     struct edo_fns_party *p_r)
{
	p_r->id = box->id;
	p_r->name = box->name;
	p_r->inn = box->inn;
	p_r->kpp = box->kpp;
}

/* The sender's signatures under attachment a (pointers into m). */
static size_t op_signatures_of(const struct core_message *m,
			       const struct core_entity *a,
			       const unsigned char **sigs, size_t *lens)
{
	size_t i, n = 0;

	for (i = 0; i < m->n_entities; i++) {
		const struct core_entity *e = &m->entities[i];
		if (e->kind == CORE_ENT_SIGNATURE &&
		    strcmp(e->parent_id, a->id) == 0) {
			sigs[n] = e->data;
			lens[n++] = e->len;
		}
	}
	return n;
}

typedef int op_confirm_fn(const struct edo_fns_pdotpr *p,
			  unsigned char **xml_r, size_t *len_r,
			  char **file_name_r, struct core_error *err);

static int op_confirm_one(struct operator *op, const struct core_message *m,
			  const struct core_entity *a,
			  struct edo_fns_pdotpr *p, op_confirm_fn *make,
			  struct core_entity **ents_r, size_t *n_r,
			  struct core_error *err)
{
	struct core_entity conf, sig;
	char *file_name;

	memset(&conf, 0, sizeof(conf));
	memset(&sig, 0, sizeof(sig));
	p->file.name = a->file_name != NULL && *a->file_name != '\0' ?
		a->file_name : a->id;
	if (make(p, &conf.data, &conf.len, &file_name, err) < 0)
		return -1;
	if (operator_sign(op, conf.data, conf.len, &sig.data, &sig.len,
			  err) < 0) {
		free(conf.data);
		free(file_name);
		return -1;
	}
	edo_entity_signed_xml(&conf, &sig, CORE_ENT_CONFIRMATION,
				   CORE_ENT_CONFIRMATION_SIGNATURE, a->id,
				   file_name, m->created);
	/* signer_box stays "": the operator is not a box. */
	edo_entities_append(ents_r, n_r, &conf);
	edo_entities_append(ents_r, n_r, &sig);
	return 0;
}

int operator_confirmations(struct operator *op, const struct core_message *m,
			   const struct core_box *from,
			   const struct core_box *to,
			   struct core_entity **ents_r, size_t *n_r,
			   struct core_error *err)
{
	struct edo_fns_pdotpr p;
	const unsigned char **sigs;
	size_t i, *lens;
	int ret = 0;

	*ents_r = NULL;
	*n_r = 0;
	if (m->n_entities == 0)
		return 0;
	memset(&p, 0, sizeof(p));
	p.oper_name = op->set->operator_name;
	p.oper_inn = op->set->operator_inn;
	p.oper_id = op->prefix;
	op_party(from, &p.sender);
	op_party(to, &p.recipient);
	p.sent = m->created;
	sigs = xcalloc(m->n_entities, sizeof(*sigs));
	lens = xcalloc(m->n_entities, sizeof(*lens));
	for (i = 0; ret == 0 && i < m->n_entities; i++) {
		const struct core_entity *a = &m->entities[i];
		if (a->kind != CORE_ENT_ATTACHMENT)
			continue;
		p.file.n_sigs = op_signatures_of(m, a, sigs, lens);
		if (p.file.n_sigs == 0)
			continue;
		p.file.sigs = sigs;
		p.file.sig_lens = lens;
		/* ПДОтпр for the sender; ПДПол for the recipient (the
		 * embedded operator delivers when it accepts: one time). */
		ret = op_confirm_one(op, m, a, &p, edo_fns_pdotpr, ents_r, n_r,
				     err);
		if (ret == 0)
			ret = op_confirm_one(op, m, a, &p, edo_fns_pdpol,
					     ents_r, n_r, err);
	}
	free(sigs);
	free(lens);
	if (ret < 0) {
		for (i = 0; i < *n_r; i++)
			edo_entity_clear(&(*ents_r)[i]);
		free(*ents_r);
		*ents_r = NULL;
		*n_r = 0;
	}
	return ret;
}
