/* EDO objects as mail: gathers what mime/ needs (parties, signature
 * reports, decrypted content) and renders.  A rendering is stored once per
 * box and variant (edo_key) and shared by every member of the box; the
 * bytes never change once an item shows them. */
#include "mailbox/mailbox-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "config/config.h"
#include "crypto/crypto.h"
#include "edo/edo-upd.h"
#include "mailbox/mailbox-poa.h"
#include "lib/log.h"
#include "lib/util.h"
#include "mime/mime.h"

#define MB_N(a) (sizeof(a) / sizeof((a)[0]))

/* The shared parts and their references dropped (none known). */
static void mb_rendered_parts_free(struct mb_rendered *r)
{
	free(r->parts);
	free(r->refs);
	free(r->ref_ids);
	r->parts = NULL;
	r->refs = NULL;
	r->ref_ids = NULL;
	r->n_parts = 0;
}

void mb_rendered_clear(struct mb_rendered *r)
{
	free(r->data);
	free(r->edo_key);
	free(r->message_id);
	mb_rendered_parts_free(r);
	free(r->ref_msg_id);
	memset(r, 0, sizeof(*r));
}

/* ---- parties ---- */

/* Entries are allocated one by one: callers keep pointers to them while
 * more are added. */
struct mb_party {
	struct mb_party *next;
	struct core_box box;
};

struct mb_party_cache {
	struct mb_party *head;
};

struct mb_party_cache *mb_party_cache_new(void)
{
	return xcalloc(1, sizeof(struct mb_party_cache));
}

void mb_party_cache_free(struct mb_party_cache **_cache)
{
	struct mb_party_cache *cache = *_cache;
	struct mb_party *p, *next;

	if (cache == NULL)
		return;
	*_cache = NULL;
	for (p = cache->head; p != NULL; p = next) {
		next = p->next;
		free(p);
	}
	free(cache);
}

/* The box as the operator knows it; a box it cannot tell about (gone,
 * another operator) is shown by its id alone. */
static const struct core_box *mb_party(struct mailbox_env *env,
				       struct mb_party_cache *cache,
				       const char *box_id)
{
	struct core_error cerr;
	struct mb_party *p;

	for (p = cache->head; p != NULL; p = p->next) {
		if (strcmp(p->box.id, box_id) == 0)
			return &p->box;
	}
	p = xcalloc(1, sizeof(*p));
	memset(&cerr, 0, sizeof(cerr));
	if (env->core == NULL ||
	    core_get_box(env->core, box_id, &p->box, &cerr) < 0) {
		memset(&p->box, 0, sizeof(p->box));
		snprintf(p->box.id, sizeof(p->box.id), "%s", box_id);
		snprintf(p->box.name, sizeof(p->box.name), "%s", box_id);
	}
	p->next = cache->head;
	cache->head = p;
	return &p->box;
}

const struct core_box *mb_party_box(struct mailbox_env *env,
				   struct mb_party_cache *cache,
				   const char *box_id)
{
	return mb_party(env, cache, box_id);
}

static void mb_party_fill(struct mime_party *p, const struct core_box *b)
{
	p->box_id = b->id;
	p->name = b->name;
	p->inn = b->inn;
	p->kpp = b->kpp[0] != '\0' ? b->kpp : NULL;
}

static const char *mb_language(const struct mailbox_env *env)
{
	return env->english ? "en" : "ru";
}

/* Takes mime's output into r, with its Message-ID. */
static void mb_rendered_take(struct mb_rendered *r, unsigned char *out,
			     size_t len, const char *key, int64_t date)
{
	r->data = out;
	r->len = len;
	r->edo_key = key != NULL ? xstrdup(key) : NULL;
	r->message_id = mb_header_message_id(out, len);
	r->date = date;
}

/* A rendering someone already made for this key; 1 found, 0 not. */
int mb_reuse(struct mailbox_env *env, const char *key, int64_t date,
		    struct mb_rendered *r)
{
	uint64_t size;
	int64_t id;
	char *msgid;

	if (store_mb_blob_find_key(env->store, key, &id, &size, &msgid) !=
	    STORE_OK)
		return 0;
	r->blob_id = id;
	r->len = (size_t)size;
	r->edo_key = xstrdup(key);
	r->message_id = msgid;
	r->date = date;
	return 1;
}

/* Shared parts (doc/store.md): the base64 documents of a rendering.  A
 * letter between two boxes of the node is rendered for the sender's Sent
 * and for the recipient's INBOX; both carry each document in the same
 * bytes (mime encodes it alike), and stored once it costs one write and
 * one checkpoint instead of two (issue 10). */
#define MB_PART_MIN (32 * 1024)

static int mb_b64_line(const unsigned char *d)
{
	static const unsigned char ok[256] = {
		['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,
		['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1,
		['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1,
		['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1,
		['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1,
		['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1,
		['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
		['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
		['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,
		['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
		['y'] = 1, ['z'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1,
		['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
		['8'] = 1, ['9'] = 1, ['+'] = 1, ['/'] = 1,
	};
	size_t i;

	for (i = 0; i < 76; i++)
		if (!ok[d[i]])
			return 0;
	return 1;
}

static void mb_part_add(struct store_mb_part **parts, size_t *n,
			size_t start, size_t end)
{
	if (start == SIZE_MAX || end - start < MB_PART_MIN)
		return;
	*parts = xrealloc(*parts, (*n + 1) * sizeof(**parts));
	(*parts)[*n].offset = start;
	(*parts)[(*n)++].len = end - start;
}

/* Runs of whole base64 lines (76 characters and CRLF) of MB_PART_MIN
 * bytes or more.  The short last line of a document stays with the
 * blob: the run is the same in every rendering either way. */
size_t mb_parts_find(const unsigned char *d, size_t len,
		     struct store_mb_part **parts_r)
{
	const unsigned char *lf;
	size_t p = 0, start = SIZE_MAX, n = 0;

	*parts_r = NULL;
	while (p < len && (lf = memchr(d + p, '\n', len - p)) != NULL) {
		size_t next = (size_t)(lf - d) + 1;

		if (next - p == 78 && d[p + 76] == '\r' && mb_b64_line(d + p)) {
			if (start == SIZE_MAX)
				start = p;
		} else {
			mb_part_add(parts_r, &n, start, p);
			start = SIZE_MAX;
		}
		p = next;
	}
	mb_part_add(parts_r, &n, start, p);
	for (p = 0; p < n; p++)
		crypto_sha256(d + (*parts_r)[p].offset, (*parts_r)[p].len,
			      (*parts_r)[p].sha256);
	return n;
}

/* The blob's content key (mb_blobs.sha256, which only finds equal bytes
 * stored before): without parts the SHA-256 of the bytes; with parts the
 * SHA-256 of where the parts lie, the bytes between them and the parts'
 * own SHA-256 (made by mb_parts_find), so that the documents' base64, most
 * of a rendering, is hashed once and not twice (issue 10, doc/bench.md).
 * The same bytes always give the same parts, hence the same key. */
static void mb_blob_key(const unsigned char *d, size_t len,
			const struct store_mb_part *parts, size_t n,
			unsigned char sha[32])
{
	struct buf b;
	size_t i, from = 0;

	if (n == 0) {
		crypto_sha256(d, len, sha);
		return;
	}
	buf_init(&b);
	for (i = 0; i < n; i++)
		buf_printf(&b, "part %zu %zu\n", parts[i].offset,
			   parts[i].len);
	buf_printf(&b, "size %zu\n", len);
	for (i = 0; i < n; i++) {
		buf_append(&b, d + from, parts[i].offset - from);
		buf_append(&b, parts[i].sha256, 32);
		from = parts[i].offset + parts[i].len;
	}
	buf_append(&b, d + from, len - from);
	crypto_sha256(b.data, b.len, sha);
	buf_free(&b);
}

/* Entity e's base64 is the part of d: its first lines x 57 bytes
 * encode to exactly those bytes (scratch: room for the part). */
static int mb_part_is_entity(const unsigned char *d,
			     const struct store_mb_part *part,
			     const struct core_entity *e,
			     unsigned char *scratch)
{
	size_t lines = part->len / UTIL_B64_LINE_LEN;

	if (e->data == NULL || e->len / UTIL_B64_LINE_BYTES != lines)
		return 0;
	util_base64_lines(e->data, lines, scratch);
	return memcmp(scratch, d + part->offset, part->len) == 0;
}

static int mb_render_message_how(struct mailbox_env *env, int64_t user_id,
				 const char *box_id, const char *msg_id,
				 int outgoing, int lazy,
				 struct mb_party_cache *parties,
				 struct mb_rendered *r,
				 struct mailbox_error *err);

/* mb_render_message_view's answer for a lazy message it cannot show
 * without the documents' bytes. */
#define MB_RENDER_NEED_BYTES 2

static int mb_msg_lazy(const struct core_message *msg)
{
	for (size_t i = 0; i < msg->n_entities; i++)
		if (msg->entities[i].lazy)
			return 1;
	return 0;
}

/* Where each of msg's entities has its base64 body in the rendering,
 * SIZE_MAX where it has none or where the view shows other bytes than
 * the operator's entity (a decrypted document): body_at is mime's, by
 * the shown entities.  NULL when msg has no entities. */
static size_t *mb_entity_body_at(const struct core_message *msg,
				 const struct core_message *shown,
				 const size_t *body_at)
{
	size_t *at, i, j;

	if (msg->n_entities == 0)
		return NULL;
	at = xcalloc(msg->n_entities, sizeof(*at));
	for (j = 0; j < msg->n_entities; j++)
		at[j] = SIZE_MAX;
	for (i = 0; i < shown->n_entities; i++) {
		const struct core_entity *e = &shown->entities[i];

		if (body_at[i] == SIZE_MAX)
			continue;
		for (j = 0; j < msg->n_entities; j++) {
			const struct core_entity *m = &msg->entities[j];

			/* a lazy one has no bytes to tell it by: its id */
			if (at[j] == SIZE_MAX && m->len == e->len &&
			    m->lazy == e->lazy &&
			    (e->lazy ? strcmp(m->id, e->id) == 0 :
			     m->data == e->data)) {
				at[j] = body_at[i];
				break;
			}
		}
	}
	return at;
}

/* A part's key (mb_parts.sha256) when it is known to be a document's
 * whole base64 body: made from the SHA-256 of the document's bytes (the
 * operator's, op_entity_big, for a lazy one), so the same bytes give the
 * same key and other bytes never do, whatever the entity's id (an id can
 * come from a peer: it names no bytes).  100 KB hashed, not the 137 KB of
 * base64, and not at all for a lazy one.  The prefix keeps these keys
 * apart from the SHA-256 of base64 (mb_parts_find). */
static void mb_part_doc_key(const struct core_entity *e,
			    unsigned char key[32])
{
	unsigned char doc_sha[32];
	struct buf b;

	if (e->lazy)
		memcpy(doc_sha, e->sha256, 32);
	else
		crypto_sha256(e->data, e->len, doc_sha);
	buf_init(&b);
	buf_printf(&b, "edomail document part\n%zu\n", e->len);
	buf_append(&b, doc_sha, 32);
	crypto_sha256(b.data, b.len, key);
	buf_free(&b);
}

/* The shared parts from where mime put the entities (ent_at): each
 * document's whole base64 body of MB_PART_MIN bytes or more (its last
 * short line too), kept as a reference to the document; a lazy one's
 * always (its place holds no bytes: the reference is required).  0 when
 * a body that big is not a document of the message as the operator holds
 * it, or is another kind of entity, or the documents are not in the
 * message's order (mb_parts_find looks at the bytes then). */
static int mb_rendered_parts_at(struct mb_rendered *r,
				const struct core_message *msg,
				const size_t *ent_at)
{
	size_t i, n = 0, end = 0;

	r->parts = xcalloc(msg->n_entities + 1, sizeof(*r->parts));
	r->ref_ids = xcalloc(msg->n_entities + 1, sizeof(*r->ref_ids));
	r->refs = xcalloc(msg->n_entities + 1, sizeof(*r->refs));
	for (i = 0; i < msg->n_entities; i++) {
		const struct core_entity *e = &msg->entities[i];
		size_t body = util_base64_body_len(e->len);

		if (body < MB_PART_MIN && !e->lazy)
			continue;
		if (e->kind != CORE_ENT_ATTACHMENT || ent_at[i] == SIZE_MAX ||
		    (e->data == NULL && !e->lazy) || ent_at[i] < end ||
		    ent_at[i] > r->len || body > r->len - ent_at[i]) {
			mb_rendered_parts_free(r);
			return 0;
		}
		end = ent_at[i] + body;
		r->parts[n].offset = ent_at[i];
		r->parts[n].len = body;
		mb_part_doc_key(e, r->parts[n].sha256);
		memcpy(r->ref_ids[n], e->id, CORE_UUID_LEN);
		r->refs[n].entity_id = r->ref_ids[n];
		r->refs[n].entity_len = e->len;
		r->refs[n].message_id = r->ref_msg_id;
		r->refs[n].required = e->lazy;
		n++;
	}
	r->n_parts = n;
	r->parts_known = 1;
	return 1;
}

/* The shared parts of a new rendering of msg, each that is one of the
 * message's entities in base64 (a document as the operator holds it:
 * the plain document, or the envelope of an encrypted one) naming that
 * entity, so that the store keeps a reference instead of the bytes
 * (migration 19, doc/store.md).  Only with entities of this store's
 * operator, and never for a sealed rendering (it has no parts: a part
 * of a decrypted rendering would be clear content). */
static void mb_rendered_parts(struct mailbox_env *env, struct mb_rendered *r,
			      const struct core_message *msg,
			      const size_t *ent_at)
{
	unsigned char *scratch = NULL;
	size_t i, j, max = 0;

	if (r->seal || r->data == NULL)
		return;
	r->ref_msg_id = xstrdup(msg->id);
	if (core_entities_here(env->core) && msg->n_entities == 0) {
		r->parts_known = 1;	/* text alone: quoted-printable */
		return;
	}
	if (core_entities_here(env->core) && ent_at != NULL &&
	    mb_rendered_parts_at(r, msg, ent_at))
		return;
	if (r->holes)
		return;		/* parts unknown: the caller reads it whole */
	r->n_parts = mb_parts_find(r->data, r->len, &r->parts);
	r->parts_known = 1;
	if (r->n_parts == 0 || !core_entities_here(env->core))
		return;
	r->ref_ids = xcalloc(r->n_parts, sizeof(*r->ref_ids));
	r->refs = xcalloc(r->n_parts, sizeof(*r->refs));
	for (i = 0; i < r->n_parts; i++)
		if (r->parts[i].len > max)
			max = r->parts[i].len;
	scratch = xmalloc(max);
	for (i = 0; i < r->n_parts; i++) {
		struct store_mb_part *part = &r->parts[i];

		if (part->len % UTIL_B64_LINE_LEN != 0 ||
		    store_mb_part_stored(env->store, part->sha256))
			continue;
		for (j = 0; j < msg->n_entities; j++) {
			const struct core_entity *e = &msg->entities[j];

			if (mb_part_is_entity(r->data, part, e, scratch)) {
				memcpy(r->ref_ids[i], e->id, CORE_UUID_LEN);
				r->refs[i].entity_id = r->ref_ids[i];
				r->refs[i].entity_len = e->len;
				r->refs[i].message_id = r->ref_msg_id;
				break;
			}
		}
	}
	free(scratch);
}

int mb_rendered_blob(struct mailbox_env *env, struct mb_rendered *r,
		     int64_t *blob_id_r, uint64_t *size_r,
		     struct mailbox_error *err)
{
	struct store_mb_part *parts;
	unsigned char sha[32];
	uint64_t size;
	int64_t id;
	size_t n_parts;
	int ret;

	if (r->data == NULL) {
		/* Reused: the last item showing it may have been expunged
		 * since, taking the blob along. */
		ret = store_mb_blob_find_key(env->store, r->edo_key, &id, &size,
					     NULL);
		if (ret == STORE_ERR_NOTFOUND)
			return 1;
		if (ret != STORE_OK)
			return mb_store_error(err, ret, "blob");
		*blob_id_r = id;
		*size_r = size;
		return 0;
	}
	if (r->seal) {
		/* A decrypted rendering: sealed whole, no shared parts
		 * (mailbox-sealed.c, issue 14). */
		if (mb_sealed_put(env, r, blob_id_r, err) < 0)
			return -1;
		*size_r = r->len;
		return 0;
	}
	if (r->parts_known) {
		parts = r->parts;
		n_parts = r->n_parts;
	} else {
		n_parts = mb_parts_find(r->data, r->len, &parts);
	}
	mb_blob_key(r->data, r->len, parts, n_parts, sha);
	ret = store_mb_blob_put_parts_refs(env->store, sha, r->data, r->len,
					   parts, parts == r->parts ? r->refs :
					   NULL, n_parts, r->edo_key,
					   r->message_id, &id);
	if (parts != r->parts)
		free(parts);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "blob");
	*blob_id_r = id;
	*size_r = r->len;
	return 0;
}

/* mime refused to render (what, id: for the log, id may be NULL): the
 * details go to the log, the user gets text.  Frees error. */
static int mb_render_failed(const char *what, const char *id, char *error,
			    const char *text, struct mailbox_error *err)
{
	log_warnx("mailbox: cannot render %s%s%s: %s", what,
		  id != NULL ? " " : "", id != NULL ? id : "",
		  error != NULL ? error : "?");
	free(error);
	return mb_error(err, MAILBOX_ERR_TEMP, "%s", text);
}

/* ---- notices ---- */

int mb_render_notice(struct mailbox_env *env, const char *to_addr,
		     const char *key, const char *subject, const char *text,
		     const char *in_reply_to, int64_t date,
		     struct mb_rendered *r, struct mailbox_error *err)
{
	return mb_render_notice_files(env, to_addr, key, subject, text,
				      in_reply_to, date, NULL, 0, r, err);
}

int mb_render_notice_files(struct mailbox_env *env, const char *to_addr,
			   const char *key, const char *subject,
			   const char *text, const char *in_reply_to,
			   int64_t date, const struct mime_notice_file *files,
			   size_t n_files, struct mb_rendered *r,
			   struct mailbox_error *err)
{
	struct mime_render_notice n;
	unsigned char *out = NULL;
	char *error = NULL;
	size_t len = 0;

	memset(r, 0, sizeof(*r));
	if (key != NULL && mb_reuse(env, key, date, r))
		return 0;
	memset(&n, 0, sizeof(n));
	n.domain = env->domain;
	n.to_addr = to_addr;
	n.subject = subject;
	n.text = text;
	n.in_reply_to = in_reply_to;
	n.date = date;
	n.files = files;
	n.n_files = n_files;
	if (mime_render_notice(&n, &out, &len, &error) < 0)
		return mb_render_failed("a notice", NULL, error,
					"Не удалось подготовить уведомление / "
					"cannot prepare a notice", err);
	mb_rendered_take(r, out, len, key, date);
	return 0;
}

/* ---- invitations and contacts ---- */

int mb_render_invitation(struct mailbox_env *env, const char *box_id,
			 const struct core_event *ev, int outgoing,
			 struct mb_party_cache *parties, struct mb_rendered *r,
			 struct mailbox_error *err)
{
	struct mime_render_invitation inv;
	struct core_message *msg = NULL;
	struct core_error cerr;
	unsigned char *out = NULL;
	char *error = NULL, *key;
	size_t len = 0;
	int ret;

	memset(r, 0, sizeof(*r));
	key = xasprintf("invitation:%s:%s:%s", box_id,
			ev->message_id[0] != '\0' ? ev->message_id : ev->index_key,
			outgoing ? "out" : "in");
	if (mb_reuse(env, key, ev->ts, r)) {
		free(key);
		return 0;
	}
	memset(&inv, 0, sizeof(inv));
	memset(&cerr, 0, sizeof(cerr));
	inv.domain = env->domain;
	inv.invitation_id = ev->message_id[0] != '\0' ? ev->message_id :
		ev->index_key;
	inv.outgoing = outgoing;
	inv.date = ev->ts;
	inv.language = mb_language(env);
	inv.text = ev->text;
	/* The invitation's own text is the message; the event's text is a
	 * copy the operator may shorten. */
	if (ev->message_id[0] != '\0' && env->core != NULL &&
	    core_get_message(env->core, box_id, ev->message_id, &msg,
			     &cerr) == 0 && msg->text != NULL)
		inv.text = msg->text;
	else if (cerr.cls == CORE_ERR_TEMP) {
		free(key);
		return mb_core_error(err, &cerr, "invitation");
	}
	mb_party_fill(outgoing ? &inv.from : &inv.to,
		      mb_party(env, parties, box_id));
	mb_party_fill(outgoing ? &inv.to : &inv.from,
		      mb_party(env, parties, ev->other_box));
	ret = mime_render_invitation(&inv, &out, &len, &error);
	core_message_free(&msg);
	if (ret < 0) {
		free(key);
		return mb_render_failed("invitation", inv.invitation_id, error,
					"Не удалось показать приглашение / "
					"cannot show an invitation", err);
	}
	mb_rendered_take(r, out, len, key, ev->ts);
	free(key);
	return 0;
}

int mb_render_contact(struct mailbox_env *env, const char *box_id,
		      const struct core_event *ev,
		      struct mb_party_cache *parties, struct mb_rendered *r,
		      struct mailbox_error *err)
{
	struct mime_render_contact c;
	unsigned char *out = NULL;
	char *error = NULL, *key;
	size_t len = 0;

	memset(r, 0, sizeof(*r));
	key = xasprintf("contact:%s:%s:%s", box_id, ev->other_box,
			ev->index_key);
	if (mb_reuse(env, key, ev->ts, r)) {
		free(key);
		return 0;
	}
	memset(&c, 0, sizeof(c));
	c.domain = env->domain;
	mb_party_fill(&c.self, mb_party(env, parties, box_id));
	mb_party_fill(&c.counteragent, mb_party(env, parties, ev->other_box));
	c.status = env->english ? "Counteragent (invitation accepted)" :
		"Контрагент (приглашение принято)";
	c.date = ev->ts;
	c.language = mb_language(env);
	if (mime_render_contact(&c, &out, &len, &error) < 0) {
		free(key);
		return mb_render_failed("contact", ev->other_box, error,
					"Не удалось показать контрагента / "
					"cannot show a counteragent", err);
	}
	mb_rendered_take(r, out, len, key, ev->ts);
	free(key);
	return 0;
}

/* ---- messages ---- */

/* What a message needs to be shown: its entities in clear where the user
 * can decrypt them, signature reports, and the buffers to free. */
struct mb_msg_view {
	struct core_message shown;	/* shallow copy with own entities */
	struct core_entity *ents;
	size_t n_ents;
	unsigned char **owned;		/* decrypted buffers and names */
	size_t n_owned;
	char *text;
	struct mime_sig_report *reports;
	struct crypto_verify_report *vreports;
	struct mb_poa_check *orgs;	/* organization and power of attorney (poa) */
	size_t n_reports;
	int decrypted;			/* every encrypted part opened */
	int encrypted;
	struct core_message *original;	/* for a re-signed message */
	/* A lazy document (core_get_message_lazy) that this view cannot
	 * show without its bytes: the caller reads the message whole. */
	int need_bytes;
};

static void mb_msg_view_own(struct mb_msg_view *v, void *p)
{
	v->owned = xrealloc(v->owned, (v->n_owned + 1) * sizeof(*v->owned));
	v->owned[v->n_owned++] = p;
}

static void mb_msg_view_clear(struct mb_msg_view *v)
{
	size_t i;

	for (i = 0; i < v->n_owned; i++)
		free(v->owned[i]);
	free(v->owned);
	free(v->ents);
	free(v->text);
	for (i = 0; i < v->n_reports; i++) {
		crypto_verify_report_clear(&v->vreports[i]);
		mb_poa_check_clear(&v->orgs[i]);
	}
	free(v->vreports);
	free(v->orgs);
	free(v->reports);
	core_message_free(&v->original);
	memset(v, 0, sizeof(*v));
}

static const char *mb_undecryptable_text(const struct mailbox_env *env)
{
	return env->english ?
		"This message is encrypted and none of your certificates "
		"for this organization can decrypt it. The encrypted parts "
		"are attached as .p7m files." :
		"Сообщение зашифровано, и ни один из ваших сертификатов этой "
		"организации не может его расшифровать. Зашифрованные части "
		"приложены файлами .p7m.";
}

/* Not every encrypted part opened: none is shown opened (issue 14 item
 * 3).  A member whose keys open one part and not another saw a mix —
 * some documents clear, the text saying none could be decrypted — and,
 * the ":encrypted" rendering being the box's, every other member who
 * cannot decrypt saw that user's clear parts too.  Now such a rendering
 * is the same for everyone: the fixed text and every encrypted part as
 * its .p7m envelope, nothing clear (so nothing to seal). */
static void mb_msg_view_undecryptable(const struct core_message *msg,
				      struct mb_msg_view *v)
{
	size_t i;

	v->n_ents = 0;
	free(v->text);
	v->text = NULL;
	for (i = 0; i < msg->n_entities; i++) {
		if (msg->entities[i].kind == CORE_ENT_TEXT)
			continue;
		v->ents[v->n_ents++] = msg->entities[i];
	}
}

/* Entities as shown: decrypted when every encrypted part opens (else all
 * left encrypted, which mime shows as .p7m), the text entity turned back
 * into the message text. */
static void mb_msg_view_decrypt(struct mailbox_env *env, const char *box_id,
				int64_t user_id, const struct core_message *msg,
				struct mb_msg_view *v)
{
	/* The keys open in core-keys.c, the one place a stored private
	 * key is opened. */
	struct core_keyring *keys = NULL;
	size_t i;
	unsigned char *clear;
	size_t clear_len;

	v->ents = xcalloc(msg->n_entities + 1, sizeof(*v->ents));
	v->decrypted = 1;
	for (i = 0; i < msg->n_entities; i++) {
		if (msg->entities[i].encrypted)
			v->encrypted = 1;
	}
	if (msg->encrypted)
		v->encrypted = 1;
	if (v->encrypted)
		keys = core_keyring_open(env->core, box_id, user_id);
	for (i = 0; i < msg->n_entities; i++) {
		const struct core_entity *e = &msg->entities[i];
		struct core_entity *d;

		if (!e->encrypted) {
			if (e->kind == CORE_ENT_TEXT) {
				if (v->text == NULL)
					v->text = xstrndup((const char *)e->data,
							   e->len);
				continue;
			}
			v->ents[v->n_ents++] = *e;
			continue;
		}
		if (core_keyring_decrypt(keys, e->data, e->len, &clear,
					 &clear_len) < 0) {
			v->decrypted = 0;
			if (e->kind == CORE_ENT_TEXT)
				continue;
			/* Still encrypted: mime shows it as the .p7m
			 * envelope it is. */
			v->ents[v->n_ents++] = *e;
			continue;
		}
		mb_msg_view_own(v, clear);
		if (e->kind == CORE_ENT_TEXT) {
			free(v->text);
			v->text = xstrndup((const char *)clear, clear_len);
			continue;
		}
		d = &v->ents[v->n_ents++];
		*d = *e;
		d->data = clear;
		d->len = clear_len;
		d->encrypted = 0;
	}
	core_keyring_free(&keys);
	if (!v->decrypted)
		mb_msg_view_undecryptable(msg, v);
}

static const struct core_entity *mb_ent_find(const struct mb_msg_view *v,
					     const char *id)
{
	size_t i;

	for (i = 0; id[0] != '\0' && i < v->n_ents; i++) {
		if (strcmp(v->ents[i].id, id) == 0)
			return &v->ents[i];
	}
	return NULL;
}

static int mb_same_bytes(const struct core_entity *a,
			 const struct core_entity *b)
{
	return a->len == b->len && (a->len == 0 ||
				    memcmp(a->data, b->data, a->len) == 0);
}

/* A re-signed message shows every signature: the earlier ones come from
 * the original message and are matched to the same document here (by
 * file name, then by content). */
static void mb_msg_view_add_original(struct mailbox_env *env,
				     const char *box_id,
				     const struct core_message *msg,
				     struct mb_msg_view *v)
{
	struct core_error cerr;
	size_t i, j, n_before = v->n_ents;

	if (msg->kind != CORE_MSG_RESIGN || msg->reply_to[0] == '\0' ||
	    env->core == NULL)
		return;
	memset(&cerr, 0, sizeof(cerr));
	if (core_get_message(env->core, box_id, msg->reply_to, &v->original,
			     &cerr) < 0) {
		log_warnx("mailbox: original of re-signed %s: %s", msg->id,
			  cerr.msg);
		return;
	}
	v->ents = xrealloc(v->ents, (v->n_ents + v->original->n_entities + 1) *
			   sizeof(*v->ents));
	for (i = 0; i < v->original->n_entities; i++) {
		const struct core_entity *sig = &v->original->entities[i];
		const struct core_entity *odoc = NULL, *doc = NULL;
		struct core_entity *d;

		if (sig->kind != CORE_ENT_SIGNATURE || sig->encrypted)
			continue;
		for (j = 0; j < n_before; j++) {
			if (v->ents[j].kind == CORE_ENT_SIGNATURE &&
			    mb_same_bytes(&v->ents[j], sig))
				break;
		}
		if (j < n_before)
			continue;	/* the operator copied it already */
		for (j = 0; j < v->original->n_entities; j++) {
			if (strcmp(v->original->entities[j].id,
				   sig->parent_id) == 0)
				odoc = &v->original->entities[j];
		}
		for (j = 0; odoc != NULL && j < n_before; j++) {
			const struct core_entity *e = &v->ents[j];

			if (e->kind != CORE_ENT_ATTACHMENT)
				continue;
			if ((odoc->file_name != NULL && e->file_name != NULL &&
			     strcmp(odoc->file_name, e->file_name) == 0) ||
			    (!odoc->encrypted && mb_same_bytes(odoc, e))) {
				doc = e;
				break;
			}
		}
		if (doc == NULL)
			continue;
		d = &v->ents[v->n_ents++];
		*d = *sig;
		memcpy(d->parent_id, doc->id, sizeof(d->parent_id));
	}
}

/* organization and power of attorney (poa): the МЧД that came with a
 * signature (an attachment whose parent is the signature) and the
 * principal's signature of it; NULL when none. */
static const struct core_entity *mb_sig_poa(const struct mb_msg_view *v,
					    const struct core_entity *sig,
					    const struct core_entity **poa_sig_r)
{
	const struct core_entity *poa = NULL;
	size_t i;

	*poa_sig_r = NULL;
	for (i = 0; i < v->n_ents && poa == NULL; i++) {
		if (v->ents[i].kind == CORE_ENT_ATTACHMENT &&
		    !v->ents[i].encrypted &&
		    strcmp(v->ents[i].parent_id, sig->id) == 0)
			poa = &v->ents[i];
	}
	for (i = 0; poa != NULL && i < v->n_ents; i++) {
		if (v->ents[i].kind == CORE_ENT_SIGNATURE &&
		    strcmp(v->ents[i].parent_id, poa->id) == 0) {
			*poa_sig_r = &v->ents[i];
			break;
		}
	}
	return poa;
}

/* organization and power of attorney (poa): whether the signer speaks
 * for the box that signed (the sender's, or an earlier signer's of a
 * re-signed message); r->valid then needs both. */
static void mb_msg_view_org(struct mailbox_env *env,
			    struct mb_party_cache *parties,
			    const char *from_box, struct mb_msg_view *v,
			    const struct core_entity *sig,
			    const struct crypto_verify_report *vr,
			    struct mb_poa_check *oc, struct mime_sig_report *r)
{
	const struct core_entity *poa, *poa_sig;
	const struct core_box *box;

	box = mb_party_box(env, parties, sig->signer_box[0] != '\0' ?
			   sig->signer_box : from_box);
	poa = mb_sig_poa(v, sig, &poa_sig);
	mb_poa_check(env, vr->signer_cert_pem, box != NULL ? box->inn : NULL,
		     poa != NULL ? poa->data : NULL, poa != NULL ? poa->len : 0,
		     poa_sig != NULL ? poa_sig->data : NULL,
		     poa_sig != NULL ? poa_sig->len : 0,
		     vr->signing_time != 0 ? vr->signing_time : util_now(), oc);
	r->org_checked = 1;
	r->org_valid = oc->valid;
	r->org_reason = oc->reason;
	r->holder_org = oc->org;
	r->holder_title = oc->title;
	r->holder_inn = oc->inn;
	r->holder_ogrn = oc->ogrn;
	r->holder_snils = oc->snils;
	r->poa_summary = oc->poa_summary;
	if (r->valid && !oc->valid) {
		r->valid = 0;
		r->error = oc->reason;
	}
}

/* One report per document signature, verified against the document as
 * shown (decrypted).  Through the env's cache: the sender's and the
 * recipient's rendering of a message check the same bytes. */
static void mb_msg_view_verify(struct mailbox_env *env,
			       struct mb_party_cache *parties,
			       const char *from_box, struct mb_msg_view *v)
{
	size_t i, n = 0;

	v->reports = xcalloc(v->n_ents + 1, sizeof(*v->reports));
	v->vreports = xcalloc(v->n_ents + 1, sizeof(*v->vreports));
	v->orgs = xcalloc(v->n_ents + 1, sizeof(*v->orgs));
	for (i = 0; i < v->n_ents; i++) {
		const struct core_entity *sig = &v->ents[i], *doc;
		struct crypto_verify_report *vr = &v->vreports[n];
		struct mime_sig_report *r = &v->reports[n];

		if (sig->kind != CORE_ENT_SIGNATURE)
			continue;
		doc = mb_ent_find(v, sig->parent_id);
		r->entity_id = sig->id;
		r->document_name = doc != NULL ? doc->file_name : NULL;
		if (doc == NULL || doc->encrypted || sig->encrypted) {
			r->valid = 0;
			r->error = "документ недоступен для проверки / "
				"document not available for verification";
			n++;
			continue;
		}
		if (doc->lazy) {
			int vret = 0;

			if (!crypto_verify_cache_find_sha(env->verify_cache,
							  doc->sha256,
							  sig->data, sig->len,
							  &vret, vr)) {
				/* not checked lately: the bytes are needed */
				v->need_bytes = 1;
				n++;
				continue;
			}
			if (vret < 0) {
				crypto_verify_report_clear(vr);
				memset(vr, 0, sizeof(*vr));
				r->valid = 0;
				r->error = "это не подпись CMS / not a CMS "
					"signature";
				n++;
				continue;
			}
		} else if (crypto_verify_detached_cached(env->verify_cache,
						  doc->data, doc->len,
						  sig->data, sig->len,
						  vr) < 0) {
			memset(vr, 0, sizeof(*vr));
			r->valid = 0;
			r->error = "это не подпись CMS / not a CMS signature";
			n++;
			continue;
		}
		r->signer = vr->signer_common_name != NULL ?
			vr->signer_common_name : vr->signer_subject;
		r->serial = vr->signer_serial;
		r->issuer = vr->signer_issuer;
		r->not_before = vr->not_before;
		r->not_after = vr->not_after;
		r->signing_time = vr->signing_time;
		r->valid = vr->valid;
		r->error = vr->error;
		r->check_math = vr->math_valid ? CRYPTO_CHECK_OK :
			CRYPTO_CHECK_FAILED;
		/* chain and revocation (trust) */
		r->check_chain = (int)vr->chain;
		r->chain_detail = vr->chain == CRYPTO_CHECK_OK ?
			vr->chain_root : vr->chain_error;
		r->check_revocation = (int)vr->revocation;
		r->revocation_detail = vr->revocation_error;
		mb_msg_view_org(env, parties, from_box, v, sig, vr, &v->orgs[n],
				r);
		n++;
	}
	v->n_reports = n;
}

/* The readable table of every УПД (seller's title) among the shown
 * documents, for the letter's text (doc/upd.md); NULL when there is none.
 * A document that does not read as a УПД is left to its attachment. */
static char *mb_msg_view_upd_tables(const struct mailbox_env *env,
				    struct mb_msg_view *v)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < v->n_ents; i++) {
		const struct core_entity *e = &v->ents[i];
		struct edo_upd_info info;
		struct edo_upd_doc d;
		struct core_error cerr = { 0 };
		char *t;

		if (e->lazy && e->kind == CORE_ENT_ATTACHMENT &&
		    edo_upd_name_is_upd(e->file_name)) {
			v->need_bytes = 1;
			continue;
		}
		if (e->kind != CORE_ENT_ATTACHMENT || e->encrypted || e->lazy ||
		    edo_upd_detect(e->file_name, e->data, e->len, &info) != 1 ||
		    info.malformed || info.title != EDO_UPD_SELLER)
			continue;
		if (edo_upd_parse(e->data, e->len, &d, &cerr) < 0) {
			log_warnx("mailbox: УПД %s not shown as a table: %s",
				  e->id, cerr.msg);
			continue;
		}
		t = edo_upd_table(&d, env->english);
		if (b.len > 0)
			buf_append_str(&b, "\n");
		buf_append_str(&b, t);
		free(t);
		edo_upd_doc_clear(&d);
	}
	if (b.len == 0) {
		buf_free(&b);
		return NULL;
	}
	return (char *)buf_steal(&b, NULL);
}

/* The Message-ID of the box's rendering of the answered message: every
 * member's item of it shows that blob, so a box-wide rendering (user 0)
 * finds what a member's sync would. */
static char *mb_reply_blob(struct mailbox_env *env, const char *box_id,
			   const char *reply_to)
{
	static const char *const variants[] = {
		"out:plain", "out:decrypted", "out:encrypted",
		"in:plain", "in:decrypted", "in:encrypted",
	};
	char *key, *id = NULL;
	int64_t blob_id;
	size_t i;

	for (i = 0; i < MB_N(variants) && id == NULL; i++) {
		key = xasprintf("message:%s:%s:%s", box_id, reply_to,
				variants[i]);
		if (store_mb_blob_find_key(env->store, key, &blob_id, NULL,
					   &id) != STORE_OK)
			id = NULL;
		free(key);
	}
	return id;
}

/* The Message-ID the user saw for the answered message, else the one the
 * gateway gives EDO messages. */
static char *mb_reply_target(struct mailbox_env *env, int64_t user_id,
			     const char *box_id, const char *reply_to)
{
	struct store_mb_item *items;
	size_t n, i;
	char *id = NULL;

	if (user_id == 0)
		id = mb_reply_blob(env, box_id, reply_to);
	if (id == NULL && user_id != 0 &&
	    store_mb_item_find_edo(env->store, user_id, box_id, reply_to,
				   STORE_MB_KIND_ANY, &items, &n) == STORE_OK) {
		for (i = 0; i < n && id == NULL; i++) {
			if (items[i].message_id != NULL)
				id = xstrdup(items[i].message_id);
		}
		store_mb_item_list_free(items, n);
	}
	return id != NULL ? id : xasprintf("%s@%s", reply_to, env->domain);
}

/* A message that cannot be rendered still gets an item, a notice saying
 * so, so the mailbox does not stall on it. */
static int mb_render_unshowable(struct mailbox_env *env, const char *box_id,
				const char *msg_id, const char *why,
				const char *key, int64_t date,
				struct mb_rendered *r,
				struct mailbox_error *err)
{
	char *text, *to;
	int ret;

	text = xasprintf("Сообщение ЭДО %s не удалось показать: %s\n\n"
			 "EDO message %s could not be shown: %s\n",
			 msg_id, why, msg_id, why);
	to = xasprintf("%s@%s", box_id, env->domain);
	ret = mb_render_notice(env, to, key, "Сообщение ЭДО не показано / "
			       "EDO message not shown", text, NULL, date, r, err);
	free(text);
	free(to);
	return ret;
}

/* A letter whose documents request the recipient's signature says so at
 * the top, with what to reply (issue 13); the sender's copy says that
 * the signature was requested.  NULL when no document requests it. */
static char *mb_sign_banner(const struct core_message *msg, int outgoing,
			    const char *text)
{
	size_t i, n = 0;

	for (i = 0; i < msg->n_entities; i++)
		n += msg->entities[i].kind == CORE_ENT_ATTACHMENT &&
		     msg->entities[i].need_sign;
	if (n == 0)
		return NULL;
	if (outgoing)
		return xasprintf("[Запрошена подпись получателя: документов %zu / "
				 "the recipient's signature is requested: %zu "
				 "documents]\n\n%s", n, n,
				 text != NULL ? text : "");
	return xasprintf("*** ТРЕБУЕТСЯ ВАША ПОДПИСЬ / YOUR SIGNATURE IS "
			 "REQUESTED ***\n"
			 "Отправитель просит подписать документы этого письма "
			 "(%zu). Ответьте на письмо:\n"
			 "  «Подписать» — подписать все документы вашим "
			 "сертификатом;\n"
			 "  «Отказать: <причина>» — отказать в подписи "
			 "(причина обязательна).\n"
			 "The sender asks you to sign the documents of this "
			 "letter (%zu). Reply to it with:\n"
			 "  \"Sign\" - to sign every document with your "
			 "certificate;\n"
			 "  \"Refuse: <reason>\" - to refuse (a reason is "
			 "required).\n"
			 "-----\n\n%s", n, n, text != NULL ? text : "");
}

static int mb_render_message_view(struct mailbox_env *env,
				  int64_t user_id, const char *box_id,
				  const struct core_message *msg, int outgoing,
				  struct mb_party_cache *parties,
				  const char *key_base, struct mb_rendered *r,
				  struct mailbox_error *err)
{
	/* user 0: the box-wide rendering a pre-render makes, or nothing
	 * when what a member sees depends on the member's keys. */
	struct mime_render_msg rm;
	struct mb_msg_view v;
	unsigned char *out = NULL;
	char *error = NULL, *key, *client_id = NULL, *in_reply_to = NULL;
	char *upd_tables;
	char *banner;
	size_t len = 0, *ent_at = NULL;
	int ret, decrypted;

	memset(&v, 0, sizeof(v));
	mb_msg_view_decrypt(env, box_id, user_id, msg, &v);
	/* Lazy documents are shown without their bytes only in a plain
	 * letter: decryption and a re-signed original compare bytes. */
	if (mb_msg_lazy(msg) && (v.encrypted || msg->kind == CORE_MSG_RESIGN)) {
		mb_msg_view_clear(&v);
		return MB_RENDER_NEED_BYTES;
	}
	if (user_id == 0 && v.encrypted && !v.decrypted) {
		mb_msg_view_clear(&v);
		return 0;
	}
	key = xasprintf("%s:%s", key_base, !v.encrypted ? "plain" :
			v.decrypted ? "decrypted" : "encrypted");
	if (mb_reuse(env, key, msg->created, r)) {
		free(key);
		mb_msg_view_clear(&v);
		return 0;
	}
	mb_msg_view_add_original(env, box_id, msg, &v);
	mb_msg_view_verify(env, parties, msg->from_box, &v);
	v.shown = *msg;
	v.shown.entities = v.ents;
	v.shown.n_entities = v.n_ents;
	if (v.encrypted)
		v.shown.text = v.text != NULL && v.decrypted ? v.text :
			(char *)mb_undecryptable_text(env);
	else if (v.shown.text == NULL)
		v.shown.text = v.text;
	banner = mb_sign_banner(msg, outgoing, v.shown.text);
	if (banner != NULL)
		v.shown.text = banner;
	memset(&rm, 0, sizeof(rm));
	rm.domain = env->domain;
	rm.msg = &v.shown;
	mb_party_fill(&rm.from, mb_party(env, parties, msg->from_box));
	mb_party_fill(&rm.to, mb_party(env, parties, msg->to_box));
	/* The Sent item has a Message-ID of its own (the EDO message's, as
	 * every EDO item), not the client's: Thunderbird gives the body of
	 * the copy it APPENDed to any new UID whose Message-ID equals the
	 * copy's, so an item with the client's Message-ID showed
	 * Thunderbird's copy instead of the EDO record (issue 11 section 1;
	 * doc/imap.md).  The copy is recognised through mb_sent_ids
	 * (mb_sent_match).  rm.message_id stays NULL: the EDO id.  The
	 * client's id is kept in a header of its own, which also keeps the
	 * Sent rendering apart from the recipient's (its own blob key). */
	if (outgoing && msg->client_message_id != NULL)
		client_id = mb_strip_brackets(msg->client_message_id);
	rm.client_message_id = client_id;
	if (msg->reply_to[0] != '\0')
		in_reply_to = mb_reply_target(env, user_id, box_id,
					      msg->reply_to);
	rm.in_reply_to = in_reply_to;
	rm.reports = v.reports;
	rm.n_reports = v.n_reports;
	rm.was_encrypted = v.encrypted;
	rm.language = mb_language(env);
	upd_tables = mb_msg_view_upd_tables(env, &v);
	if (v.need_bytes) {
		free(upd_tables);
		free(banner);
		free(client_id);
		free(in_reply_to);
		free(key);
		mb_msg_view_clear(&v);
		return MB_RENDER_NEED_BYTES;
	}
	rm.doc_tables = upd_tables;
	rm.body_at = xcalloc(v.n_ents + 1, sizeof(*rm.body_at));
	decrypted = v.decrypted;
	ret = mime_render_message(&rm, &out, &len, &error);
	if (ret == 0)
		ent_at = mb_entity_body_at(msg, &v.shown, rm.body_at);
	free(rm.body_at);
	free(upd_tables);
	free(banner);
	free(client_id);
	free(in_reply_to);
	mb_msg_view_clear(&v);
	if (ret < 0) {
		log_warnx("mailbox: cannot render message %s: %s", msg->id,
			  error != NULL ? error : "?");
		ret = mb_render_unshowable(env, box_id, msg->id,
					   error != NULL ? error : "?", key,
					   msg->created, r, err);
		free(error);
		free(key);
		return ret;
	}
	mb_rendered_take(r, out, len, key, msg->created);
	r->seal = rm.was_encrypted && decrypted;
	r->holes = mb_msg_lazy(msg);
	mb_rendered_parts(env, r, msg, ent_at);
	free(ent_at);
	free(key);
	if (r->holes && !r->parts_known) {
		/* never stored with the places of its documents empty */
		mb_rendered_clear(r);
		return MB_RENDER_NEED_BYTES;
	}
	return 0;
}

int mb_render_message_stored(struct mailbox_env *env, const char *box_id,
			     const char *msg_id, int outgoing,
			     struct mb_rendered *r)
{
	char *key;
	int ret;

	memset(r, 0, sizeof(*r));
	if (env->core == NULL)
		return 0;
	key = xasprintf("message:%s:%s:%s:plain", box_id, msg_id,
			outgoing ? "out" : "in");
	ret = mb_reuse(env, key, 0, r);
	free(key);
	return ret;
}

/* The pre-render's box-wide rendering of a plain letter with big
 * documents: read without their bytes (core_get_message_lazy), shown
 * from the verify cache and stored as references (issue 10: reading,
 * hashing and encoding the document twice a letter).  1 rendered (a
 * message without a lazy document came whole and is shown as always),
 * 0 when the message is to be read whole, -1 on an error. */
static int mb_render_message_lazy(struct mailbox_env *env,
				  const char *box_id, const char *msg_id,
				  int outgoing, struct mb_party_cache *parties,
				  const char *key_base, struct mb_rendered *r,
				  struct mailbox_error *err)
{
	struct core_message *msg = NULL;
	struct core_error cerr;
	int ret;

	memset(&cerr, 0, sizeof(cerr));
	if (core_get_message_lazy(env->core, box_id, msg_id, &msg,
				  &cerr) < 0) {
		if (cerr.cls == CORE_ERR_TEMP)
			return mb_core_error(err, &cerr, "message");
		return 0;	/* the whole read says what is wrong */
	}
	/* without a lazy document: the whole message, shown as always */
	ret = mb_render_message_view(env, 0, box_id, msg, outgoing, parties,
				     key_base, r, err);
	core_message_free(&msg);
	if (ret == MB_RENDER_NEED_BYTES) {
		mb_rendered_clear(r);
		return 0;
	}
	return ret < 0 ? -1 : 1;
}

int mb_render_message(struct mailbox_env *env, int64_t user_id,
		      const char *box_id, const char *msg_id, int outgoing,
		      struct mb_party_cache *parties, struct mb_rendered *r,
		      struct mailbox_error *err)
{
	return mb_render_message_how(env, user_id, box_id, msg_id, outgoing,
				     0, parties, r, err);
}

static int mb_render_message_how(struct mailbox_env *env, int64_t user_id,
				 const char *box_id, const char *msg_id,
				 int outgoing, int lazy,
				 struct mb_party_cache *parties,
				 struct mb_rendered *r,
				 struct mailbox_error *err)
{
	struct core_message *msg = NULL;
	struct core_error cerr;
	char *key_base, *key;
	int ret;

	memset(r, 0, sizeof(*r));
	memset(&cerr, 0, sizeof(cerr));
	key_base = xasprintf("message:%s:%s:%s", box_id, msg_id,
			     outgoing ? "out" : "in");
	/* A message that is not encrypted looks the same to every member:
	 * when its box-wide rendering is stored (pre-rendered, or by another
	 * member), that is what mb_render_message_view would find, without
	 * reading the message with its attachments first (most of a first
	 * sync's time).  The item's date is then the event's, which is the
	 * message's creation time for MESSAGE_IN and MESSAGE_OUT. */
	key = xasprintf("%s:plain", key_base);
	ret = env->core != NULL && mb_reuse(env, key, 0, r);
	free(key);
	if (ret) {
		free(key_base);
		return 0;
	}
	if (lazy && env->core != NULL && user_id == 0) {
		ret = mb_render_message_lazy(env, box_id, msg_id, outgoing,
					     parties, key_base, r, err);
		if (ret != 0) {
			free(key_base);
			return ret < 0 ? -1 : 0;
		}
	}
	if (env->core == NULL ||
	    core_get_message(env->core, box_id, msg_id, &msg, &cerr) < 0) {
		if (env->core != NULL && cerr.cls == CORE_ERR_TEMP) {
			free(key_base);
			return mb_core_error(err, &cerr, "message");
		}
		key = xasprintf("%s:unshowable", key_base);
		ret = mb_render_unshowable(env, box_id, msg_id,
					   cerr.msg[0] != '\0' ? cerr.msg :
					   "нет оператора / no operator", key,
					   util_now(), r, err);
		free(key);
		free(key_base);
		return ret;
	}
	ret = mb_render_message_view(env, user_id, box_id, msg, outgoing,
				     parties, key_base, r, err);
	core_message_free(&msg);
	free(key_base);
	return ret;
}

/* Whether a box-wide rendering of the message is stored already: then
 * the pre-render need not even read the message. */
static int mb_shared_exists(struct mailbox_env *env, const char *key_base)
{
	static const char *const variants[] = {
		"plain", "decrypted", "unshowable",
	};
	char *key;
	int64_t id;
	size_t i;
	int found = 0;

	for (i = 0; i < MB_N(variants) && !found; i++) {
		key = xasprintf("%s:%s", key_base, variants[i]);
		found = store_mb_blob_find_key(env->store, key, &id, NULL,
					       NULL) == STORE_OK;
		free(key);
	}
	return found;
}

int mb_render_message_shared(struct mailbox_env *env, const char *box_id,
			     const char *msg_id, int outgoing,
			     struct mb_party_cache *parties,
			     struct mb_rendered *r, struct mailbox_error *err)
{
	char *key_base;
	int found;

	memset(r, 0, sizeof(*r));
	key_base = xasprintf("message:%s:%s:%s", box_id, msg_id,
			     outgoing ? "out" : "in");
	found = mb_shared_exists(env, key_base);
	free(key_base);
	if (found || env->core == NULL)
		return 0;
	return mb_render_message_how(env, 0, box_id, msg_id, outgoing, 1,
				     parties, r, err);
}
