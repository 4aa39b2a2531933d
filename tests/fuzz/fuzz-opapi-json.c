/* The operator API's JSON (src/edo/edo-json.c): what a client posts to
 * the operator API and what an operator answers to the http driver.  Both
 * come from another party over the network.  Each input is read by jansson
 * as the server reads a body (duplicate keys refused), then given to every
 * reader: a Message (PostMessage, GetMessage), a patch (PostMessagePatch),
 * an Organization, a Counteragent, a BoxEvent.  Checked beyond "no crash,
 * no leak, no UB":
 *   - a refusal is INVALID with a "Русский / English" text;
 *   - a Message that was read writes out (with its bytes) and reads back
 *     with the same ids, kinds, sizes and flags: the driver and the API
 *     must not lose what the other side sent;
 *   - times read from ticks write back to ticks that read the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/util.h"
#include "edo/edo.h"
#include "edo/edo-json.h"

#include "fuzz-common.h"

static void fuzz_json_refused(const struct core_error *err)
{
	FUZZ_CHECK(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
	FUZZ_CHECK(err->cls == CORE_ERR_INVALID);
	FUZZ_CHECK(strstr(err->msg, " / ") != NULL);
}

static void fuzz_json_same_entity(const struct core_entity *a,
				  const struct core_entity *b)
{
	FUZZ_CHECK(a->kind == b->kind);
	FUZZ_CHECK(strcmp(a->id, b->id) == 0);
	FUZZ_CHECK(strcmp(a->parent_id, b->parent_id) == 0);
	FUZZ_CHECK(a->len == b->len);
	FUZZ_CHECK(a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
	FUZZ_CHECK(!a->encrypted == !b->encrypted);
	FUZZ_CHECK(!a->need_sign == !b->need_sign);
	FUZZ_CHECK(a->created == b->created);
}

/* GetMessage's answer is what PostMessage took: written with the bytes
 * (inject) it must read back the same. */
static void fuzz_json_message_back(const struct core_message *m)
{
	json_t *j = edo_json_message(m, 1);
	struct core_message m2;
	struct core_error err;

	FUZZ_CHECK(j != NULL);
	memset(&err, 0, sizeof(err));
	if (edo_json_parse_message(j, &m2, &err) < 0) {
		fprintf(stderr, "fuzz: a message written does not read back: "
			"%s\n", err.msg);
		abort();
	}
	FUZZ_CHECK(strcmp(m->id, m2.id) == 0);
	FUZZ_CHECK(strcmp(m->from_box, m2.from_box) == 0);
	FUZZ_CHECK(strcmp(m->to_box, m2.to_box) == 0);
	FUZZ_CHECK(m->kind == m2.kind);
	FUZZ_CHECK(!m->encrypted == !m2.encrypted);
	FUZZ_CHECK(m->created == m2.created);
	FUZZ_CHECK(m->n_entities == m2.n_entities);
	for (size_t i = 0; i < m->n_entities; i++)
		fuzz_json_same_entity(&m->entities[i], &m2.entities[i]);
	edo_json_message_clear(&m2);
	json_decref(j);
}

static void fuzz_json_message(json_t *j)
{
	struct core_message m;
	struct core_error err;

	memset(&err, 0, sizeof(err));
	if (edo_json_parse_message(j, &m, &err) < 0)
		fuzz_json_refused(&err);
	else if (json_object_get(j, "DocumentAttachments") == NULL)
		/* attachments get fresh entity ids: only Entities round-trip */
		fuzz_json_message_back(&m);
	edo_json_message_clear(&m);
}

static void fuzz_json_patch(json_t *j)
{
	struct core_entity *ents = NULL;
	struct core_error err;
	size_t n = 0;

	memset(&err, 0, sizeof(err));
	if (edo_json_parse_patch(j, &ents, &n, &err) < 0) {
		fuzz_json_refused(&err);
		FUZZ_CHECK(ents == NULL && n == 0);
		return;
	}
	json_decref(edo_json_patch_entities("2ED0", "m", ents, n));
	edo_json_entities_free(ents, n);
}

static void fuzz_json_others(json_t *j)
{
	struct core_box box;
	struct core_counteragent ca;
	struct core_event ev;
	struct core_error err;

	memset(&err, 0, sizeof(err));
	if (edo_json_parse_box(j, &box, &err) < 0)
		fuzz_json_refused(&err);
	else
		json_decref(edo_json_box(&box, "2ED"));
	memset(&err, 0, sizeof(err));
	if (edo_json_parse_counteragent(j, &ca, &err) < 0)
		fuzz_json_refused(&err);
	else
		json_decref(edo_json_counteragent(&ca, "2ED"));
	free(ca.comment);
	memset(&err, 0, sizeof(err));
	if (edo_json_parse_event(j, "2ED0", &ev, &err) < 0) {
		fuzz_json_refused(&err);
	} else {
		json_t *back = edo_json_event(&ev);
		struct core_event ev2;

		FUZZ_CHECK(back != NULL);
		FUZZ_CHECK(edo_json_parse_event(back, "2ED0", &ev2, &err) == 0);
		FUZZ_CHECK(ev2.type == ev.type && ev2.ts == ev.ts);
		FUZZ_CHECK(strcmp(ev2.index_key, ev.index_key) == 0);
		free(ev2.text);
		json_decref(back);
	}
	free(ev.text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
			       &jerr);
	json_t *item;
	size_t i;

	if (j == NULL)
		return 0;
	fuzz_json_message(j);
	fuzz_json_patch(j);
	fuzz_json_others(j);
	/* GetNewEvents' Events, GetCounteragents' Counteragents ... */
	json_array_foreach(json_object_get(j, "Events"), i, item)
		fuzz_json_others(item);
	json_array_foreach(json_object_get(j, "Counteragents"), i, item)
		fuzz_json_others(item);
	json_decref(j);
	return 0;
}
