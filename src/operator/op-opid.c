/* Client operation ids (Diadoc operationId).  Every change a box makes
 * carries one; (acting box, op id) is recorded in op_operations in the
 * transaction of the change, with what it was (kind and target) and its
 * result.  The same pair again returns that result and changes nothing, so
 * a retry after a timeout or a crash never does the work twice; the same
 * id for something else is the client's CONFLICT. */
#include "operator/op-private.h"

#include <stdio.h>
#include <string.h>

#include "lib/util.h"
#include "store/store.h"

const char *operator_kind_name(enum op_kind kind)
{
	static const char *const names[] = {
		[OP_K_REGISTER] = "register",
		[OP_K_ADD_CERT] = "add_cert",
		[OP_K_INVITE] = "invite",
		[OP_K_ACCEPT] = "accept",
		[OP_K_REJECT] = "reject",
		[OP_K_WITHDRAW] = "withdraw",
		[OP_K_SEND] = "send",
		[OP_K_POST] = "post",
		[OP_K_ARCHIVE] = "archive",
		[OP_K_UNARCHIVE] = "unarchive",
		[OP_K_DELETE] = "delete",
		[OP_K_UNDELETE] = "undelete",
		[OP_K_PATCH] = "patch",
	};

	if ((size_t)kind >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[kind];
}

int operator_opid_valid(const char *op_id)
{
	size_t i, len;

	if (op_id == NULL)
		return 0;
	len = strnlen(op_id, CORE_OP_ID_MAX);
	if (len == 0 || len >= CORE_OP_ID_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (op_id[i] <= 0x20 || op_id[i] >= 0x7f)
			return 0;
	}
	return 1;
}

int operator_opid_check(const char *op_id, struct core_error *err)
{
	if (!operator_opid_valid(op_id))
		return operator_error(err, CORE_ERR_INVALID,
			"Неверный идентификатор операции: нужно от 1 до %d "
			"печатных символов ASCII без пробелов / bad operation "
			"id: 1 to %d printable ASCII characters, no spaces",
			CORE_OP_ID_MAX - 1, CORE_OP_ID_MAX - 1);
	return 0;
}

int operator_opid_seen(struct operator *op, const char *box_id,
		       const char *op_id, enum op_kind kind,
		       const char *target, char result_r[CORE_ID_MAX],
		       struct core_error *err)
{
	struct operator_opid rec;
	int ret;

	ret = operator_store_opid_get(op->store, box_id, op_id, &rec);
	if (ret == STORE_ERR_NOTFOUND)
		return 0;
	if (ret != STORE_OK)
		return operator_store_error(err, ret);
	if (strcmp(rec.kind, operator_kind_name(kind)) != 0 ||
	    strcmp(rec.target, target != NULL ? target : "") != 0)
		return operator_error(err, CORE_ERR_CONFLICT,
			"Идентификатор операции «%s» уже использован для другой "
			"операции (%s) / operation id \"%s\" was already used "
			"for another operation (%s)", op_id, rec.kind, op_id,
			rec.kind);
	if (result_r != NULL)
		snprintf(result_r, CORE_ID_MAX, "%s", rec.result);
	return 1;
}

int operator_opid_record(struct operator *op, const char *box_id,
			 const char *op_id, enum op_kind kind,
			 const char *target, const char *result,
			 struct core_error *err)
{
	int ret = operator_store_opid_insert(op->store, box_id, op_id,
					     operator_kind_name(kind), target,
					     result, util_now());

	/* The check in the same transaction makes a clash impossible;
	 * should one happen, it is the client's id that clashed. */
	if (ret == STORE_ERR_CONFLICT)
		return operator_error(err, CORE_ERR_CONFLICT,
			"Идентификатор операции «%s» уже использован / "
			"operation id \"%s\" was already used", op_id, op_id);
	if (ret != STORE_OK)
		return operator_store_error(err, ret);
	return 0;
}
