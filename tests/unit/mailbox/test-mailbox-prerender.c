/* Pre-rendering with the real core and embedded operator: a worker thread
 * renders a box's messages while the main thread (the "event loop") syncs a
 * member; every item appears exactly once with the bytes the member's own
 * rendering gives, one blob per object; after a full pre-render the
 * members' syncs render nothing themselves. */
#include "mb-test.h"
#include "../edo-fixtures.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <sqlite3.h>

#include "operator/operator.h"
#include "store/store-sql.h"
#include "store/store-private.h"
/* The reference rendering: what the member's sync would render. */
#include "mailbox/mailbox-private.h"

#define N_RACE 40
#define N_AFTER 15

static struct settings set;
static struct store *store;
static struct core *core;
static struct mailbox_env *env;
static unsigned char node_key[CRYPTO_NODE_KEY_LEN];
static struct core_box A, B;
static char *a_cert, *a_key, *b_cert, *b_key;
/* The document's size in send_letter, 0: a short one. */
static size_t big_doc;

/* A→B letter with one signed document; encrypted to both organizations'
 * certificates when enc is set (B's own key opens it: box-wide). */
static void send_letter(int i, int enc, char id_r[CORE_UUID_LEN])
{
	struct core_error err = { 0 };
	struct core_entity ents[2];
	struct core_message msg;
	const char *pems[2] = { b_cert, a_cert };
	char *doc, *cerr = NULL;
	unsigned char *clear_doc;

	memset(&msg, 0, sizeof(msg));
	memset(ents, 0, sizeof(ents));
	doc = xasprintf("%%PDF-1.4 act %d", i);
	if (big_doc > strlen(doc)) {
		size_t k, n0 = strlen(doc);

		doc = xrealloc(doc, big_doc + 1);
		for (k = n0; k < big_doc; k++)
			doc[k] = (char)(' ' + (k * 2654435761u >> 7) % 94);
		doc[big_doc] = '\0';
		/* as a submission: Sent shows the client's Message-ID */
		msg.client_message_id = "<big-letter@client.test>";
	}
	msg.kind = CORE_MSG_LETTER;
	snprintf(msg.from_box, sizeof(msg.from_box), "%s", A.id);
	snprintf(msg.to_box, sizeof(msg.to_box), "%s", B.id);
	msg.subject = "Акт сверки";
	msg.text = "Добрый день, акт во вложении.";
	util_uuid(ents[0].id);
	ents[0].kind = CORE_ENT_ATTACHMENT;
	ents[0].file_name = "act.pdf";
	ents[0].data = (unsigned char *)doc;
	ents[0].len = strlen(doc);
	ents[1].kind = CORE_ENT_SIGNATURE;
	snprintf(ents[1].parent_id, sizeof(ents[1].parent_id), "%s", ents[0].id);
	ents[1].file_name = "act.pdf.sig";
	fx_sign(a_cert, a_key, doc, &ents[1].data, &ents[1].len);
	clear_doc = ents[0].data;
	if (enc) {
		msg.text = NULL;	/* only encrypted, if at all */
		msg.encrypted = 1;
		if (crypto_encrypt(pems, 2, clear_doc, strlen(doc),
				   &ents[0].data, &ents[0].len, &cerr) < 0)
			mbt_bail("encrypt", cerr);
		ents[0].encrypted = 1;
	}
	msg.entities = ents;
	msg.n_entities = 2;
	if (core_send_message(core, &msg, NULL, id_r, &err) < 0)
		mbt_bail("send", err.msg);
	free(ents[1].data);
	if (enc)
		free(ents[0].data);
	free(doc);
}

/* What the member's own sync would render, made before anything is
 * stored (nothing to reuse yet). */
static struct mb_rendered *reference(int64_t user_id, char (*ids)[CORE_UUID_LEN],
				     size_t n)
{
	struct mb_party_cache *cache = mb_party_cache_new();
	struct mailbox_error err = { 0 };
	struct mb_rendered *refs = xcalloc(n, sizeof(*refs));
	size_t i;

	for (i = 0; i < n; i++) {
		if (mb_render_message(env, user_id, B.id, ids[i], 0, cache,
				      &refs[i], &err) < 0 ||
		    refs[i].data == NULL)
			mbt_bail("reference", err.msg);
	}
	mb_party_cache_free(&cache);
	return refs;
}

static int blob_is(struct store *st, int64_t blob, const unsigned char *data,
		   size_t len)
{
	unsigned char *b;
	size_t blen;
	int same;

	if (store_mb_blob_get(st, blob, &b, &blen) != STORE_OK)
		return 0;
	same = blen == len && memcmp(b, data, len) == 0;
	free(b);
	return same;
}

static void refs_free(struct mb_rendered *refs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		mb_rendered_clear(&refs[i]);
	free(refs);
}

struct prerender_thread {
	atomic_int done;
	int calls, rendered, failed;
};

/* Small batches, as the daemon's job would loop with 500. */
static void *prerender_main(void *ctx)
{
	struct prerender_thread *t = ctx;
	struct mailbox_error err = { 0 };
	int n;

	do {
		n = mailbox_prerender_box(env, B.id, 7, &err);
		t->calls++;
		if (n < 0) {
			printf("# prerender: %s\n", err.msg);
			t->failed = 1;
		} else {
			t->rendered += n;
		}
	} while (n == 7);
	atomic_store(&t->done, 1);
	return NULL;
}

static int sync_user(struct mailbox_user *u)
{
	struct mailbox_error err = { 0 };

	if (mailbox_user_sync(u, &err) < 0) {
		printf("# sync: %s\n", err.msg);
		return -1;
	}
	return 0;
}

/* The items of view v that are not notices (the recipient's INBOX also
 * holds the notices of its ПДПол, issue 13 item 5). */
static uint32_t letters_in(struct mailbox_view *v)
{
	static const char hdr[] = "X-EDO-Kind: notice";
	struct mailbox_error err = { 0 };
	unsigned char *data;
	uint32_t seq, n = 0;
	size_t len;

	for (seq = 1; seq <= mailbox_view_count(v); seq++) {
		if (mailbox_msg_data(v, seq, &data, &len, &err) < 0)
			continue;
		n += memmem(data, len, hdr, sizeof(hdr) - 1) == NULL;
		free(data);
	}
	return n;
}

static uint32_t letters(struct mailbox_user *u, const char *folder)
{
	struct mailbox_error err = { 0 };
	struct mailbox_view *v = NULL;
	uint32_t n;

	if (mailbox_view_open(u, folder, 1, &v, &err) < 0)
		return (uint32_t)-1;
	n = letters_in(v);
	mailbox_view_close(&v);
	return n;
}

/* Every reference appears exactly once in the folder, with the same
 * bytes, and its item shows the one blob stored under its edo_key. */
static int same_items(struct mailbox_user *u, const char *folder,
		      struct mb_rendered *refs, size_t n_refs)
{
	struct mailbox_error err = { 0 };
	struct mailbox_view *v = NULL;
	unsigned char *data;
	size_t len, i, hits;
	uint32_t seq;
	uint64_t size;
	int64_t blob;
	int good = 1;

	if (mailbox_view_open(u, folder, 1, &v, &err) < 0)
		return 0;
	for (i = 0; i < n_refs && good; i++) {
		hits = 0;
		for (seq = 1; seq <= mailbox_view_count(v); seq++) {
			if (mailbox_msg_data(v, seq, &data, &len, &err) < 0) {
				good = 0;
				break;
			}
			if (len == refs[i].len &&
			    memcmp(data, refs[i].data, len) == 0) {
				hits++;
				/* Blobs are unique by SHA-256: the same bytes
				 * are the same shared row. */
				if (store_mb_blob_find_key(store,
							   refs[i].edo_key,
							   &blob, &size,
							   NULL) != STORE_OK ||
				    !blob_is(store, blob, data, len)) {
					printf("# %s: blob %lld is not the "
					       "item's\n", refs[i].edo_key,
					       (long long)blob);
					good = 0;
				}
			}
			free(data);
		}
		if (hits != 1) {
			printf("# %s found %zu times\n", refs[i].edo_key, hits);
			good = 0;
		}
	}
	if (good && letters_in(v) != n_refs) {
		printf("# %s has %u items, %zu expected\n", folder,
		       letters_in(v), n_refs);
		good = 0;
	}
	mailbox_view_close(&v);
	return good;
}

static void setup(void)
{
	mbt_settings(&set, "ru");
	mbt_edo_open(&set, &store, &core, &env, node_key);
	fx_make_cert("Romashka", "7707083893", NULL, NULL, &a_cert, &a_key);
	fx_make_cert("Lyutik", "7733012345", NULL, NULL, &b_cert, &b_key);
	A = fx_register(core, "ООО «Ромашка»", "7707083893", "770701001",
			a_cert);
	B = fx_register(core, "ООО «Лютик»", "7733012345", "773301001", b_cert);
	mbt_org(store, &A, "Ромашка");
	mbt_org(store, &B, "Лютик");
	fx_gw_cert(store, node_key, A.id, 0, a_cert, a_key);
	fx_gw_cert(store, node_key, B.id, 0, b_cert, b_key);
	mbt_member(store, mbt_user(store, "anna", "pw-anna"), A.id, STORE_ACTIVE);
	mbt_member(store, mbt_user(store, "boris", "pw-boris"), B.id,
		   STORE_ACTIVE);
	mbt_member(store, mbt_user(store, "vera", "pw-vera"), B.id,
		   STORE_ACTIVE);
}

static void test_blob_put_twice(void)
{
	static const unsigned char data[] = "Subject: x\r\n\r\nx\r\n";
	unsigned char sha[32];
	int64_t id1 = 0, id2 = 0, id3 = 0;
	int good;

	crypto_sha256(data, sizeof(data) - 1, sha);
	good = store_mb_blob_put(store, sha, data, sizeof(data) - 1,
				 "test:key", NULL, &id1) == STORE_OK &&
		store_mb_blob_put(store, sha, data, sizeof(data) - 1,
				  "test:key", NULL, &id2) == STORE_OK &&
		store_mb_blob_put(store, sha, data, sizeof(data) - 1, NULL,
				  NULL, &id3) == STORE_OK;
	ok(good && id1 > 0 && id1 == id2 && id1 == id3,
	   "storing a blob again returns the existing one (%lld %lld %lld)",
	   (long long)id1, (long long)id2, (long long)id3);
}

/* (a)-(c): a worker pre-renders while the loop thread syncs. */
static void test_race(struct mailbox_user *boris)
{
	struct core_error err = { 0 };
	char inv[CORE_UUID_LEN], ids[N_RACE][CORE_UUID_LEN];
	struct prerender_thread t;
	struct mb_rendered *refs;
	pthread_t th;
	int i, syncs = 0, sync_failed = 0;

	ok(core_invite(core, A.id, B.id, "Предлагаем обмен", NULL, inv, &err) == 0 &&
	   core_accept(core, B.id, A.id, "Согласны", NULL, &err) == 0,
	   "an invitation accepted (%s)", err.msg);
	for (i = 0; i < N_RACE; i++)
		send_letter(i, i % 4 == 0, ids[i]);
	refs = reference(mailbox_user_id(boris), ids, N_RACE);
	memset(&t, 0, sizeof(t));
	atomic_init(&t.done, 0);
	if (pthread_create(&th, NULL, prerender_main, &t) != 0)
		mbt_bail("pthread_create", "prerender");
	while (!atomic_load(&t.done)) {
		if (sync_user(boris) < 0)
			sync_failed = 1;
		syncs++;
	}
	pthread_join(th, NULL);
	ok(!t.failed && !sync_failed && sync_user(boris) == 0,
	   "pre-render (%d calls, %d rendered) beside %d syncs", t.calls,
	   t.rendered, syncs);
	printf("# the syncs rendered %llu themselves\n",
	       (unsigned long long)mailbox_env_render_count(env));
	ok(same_items(boris, "INBOX", refs, N_RACE),
	   "each of %d messages once, with the member's own bytes and one "
	   "blob", N_RACE);
	ok(mbt_messages(boris, "Входящие/Приглашения") == 1 &&
	   mbt_messages(boris, "Адресная книга") == 1,
	   "the invitation and the card once");
	refs_free(refs, N_RACE);
}

/* (d): after a full pre-render the syncs only insert rows. */
static void test_full(struct mailbox_user *boris, struct mailbox_user *vera)
{
	struct mailbox_error err = { 0 };
	char ids[N_AFTER][CORE_UUID_LEN];
	struct mb_rendered *refs;
	uint64_t before;
	int i, n;

	for (i = 0; i < N_AFTER; i++)
		send_letter(100 + i, i % 3 == 0, ids[i]);
	refs = reference(mailbox_user_id(boris), ids, N_AFTER);
	n = mailbox_prerender_box(env, B.id, 500, &err);
	ok(n == N_AFTER, "a full pre-render renders the %d new letters (%d)",
	   N_AFTER, n);
	ok(mailbox_prerender_box(env, B.id, 500, &err) == 0,
	   "a second one finds nothing (its cursor is kept)");
	before = mailbox_env_render_count(env);
	ok(sync_user(boris) == 0 && sync_user(vera) == 0 &&
	   mailbox_env_render_count(env) == before,
	   "the syncs render nothing themselves (%llu -> %llu)",
	   (unsigned long long)before,
	   (unsigned long long)mailbox_env_render_count(env));
	ok(letters(boris, "INBOX") == N_RACE + N_AFTER &&
	   letters(vera, "INBOX") == N_RACE + N_AFTER,
	   "both members see every letter");
	refs_free(refs, N_AFTER);
	/* Without a pre-render the sync renders: the counter counts. */
	send_letter(999, 0, ids[0]);
	before = mailbox_env_render_count(env);
	ok(sync_user(boris) == 0 &&
	   mailbox_env_render_count(env) == before + 1,
	   "a letter not pre-rendered is rendered by the sync");
	ok(mailbox_prerender_box(env, B.id, 500, &err) == 0,
	   "and the pre-render then finds it stored");
	ok(mailbox_prerender_box(env, "", 5, &err) < 0 &&
	   mailbox_prerender_box(env, B.id, 0, &err) < 0,
	   "bad arguments are refused: %s", err.msg);
}

static int count_rows(const char *sql)
{
	sqlite3_stmt *st;
	int n = -1;

	store_lock(store);
	st = store_stmt(store, sql);
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	store_unlock(store);
	return n;
}

static int64_t shared_blob(const char *box_id, const char *msg_id,
			   const char *dir)
{
	char *key = xasprintf("message:%s:%s:%s:plain", box_id, msg_id, dir);
	int64_t id = 0;

	if (store_mb_blob_find_key(store, key, &id, NULL, NULL) != STORE_OK)
		id = 0;
	free(key);
	return id;
}

/* The bytes of a and b agree outside [from, from + len). */
static int same_outside(const struct mb_rendered *a,
			const struct mb_rendered *b, size_t from, size_t len)
{
	return a->len == b->len && from + len <= a->len &&
	       memcmp(a->data, b->data, from) == 0 &&
	       memcmp(a->data + from + len, b->data + from + len,
		      a->len - from - len) == 0;
}

/* Issue 10: the pre-render reads a big document's length and SHA-256
 * only (migration 20), finds its signature's report in the verify cache,
 * and leaves the document's place to a required reference; a report not
 * in the cache sends it back to the whole message.  full: the INBOX
 * rendering made from the whole message. */
static void test_lazy_render(const char *id, const struct mb_rendered *full)
{
	struct mailbox_error err = { 0 };
	struct core_error cerr = { 0 };
	struct core_message *lm = NULL, *fm = NULL;
	struct mb_party_cache *cache = mb_party_cache_new();
	struct crypto_verify_cache *saved;
	struct mb_rendered lz;
	unsigned char sha[32];
	int lazy_ok = 0;

	if (core_get_message_lazy(env->core, B.id, id, &lm, &cerr) == 0 &&
	    core_get_message(env->core, B.id, id, &fm, &cerr) == 0 &&
	    lm->n_entities == fm->n_entities) {
		for (size_t i = 0; i < lm->n_entities; i++) {
			const struct core_entity *l = &lm->entities[i];
			const struct core_entity *f = &fm->entities[i];

			if (f->kind != CORE_ENT_ATTACHMENT)
				continue;
			crypto_sha256(f->data, f->len, sha);
			lazy_ok = l->lazy && l->data == NULL &&
				l->len == f->len &&
				memcmp(l->sha256, sha, 32) == 0;
		}
	}
	ok(lazy_ok, "the lazy read gives the document's length and SHA-256, "
	   "not its bytes");
	core_message_free(&lm);
	core_message_free(&fm);

	ok(mb_render_message_shared(env, B.id, id, 0, cache, &lz, &err) == 0 &&
	   lz.holes && lz.parts_known && lz.n_parts == 1 &&
	   lz.refs != NULL && lz.refs[0].required &&
	   lz.parts[0].len > 100 * 1024 &&
	   same_outside(&lz, full, lz.parts[0].offset, lz.parts[0].len),
	   "the pre-render's rendering without the document: the same bytes "
	   "as the whole one around the document's place, a required "
	   "reference there");
	mb_rendered_clear(&lz);

	/* No report in the cache: the bytes are read after all. */
	saved = env->verify_cache;
	env->verify_cache = crypto_verify_cache_new();
	ok(mb_render_message_shared(env, B.id, id, 0, cache, &lz, &err) == 0 &&
	   !lz.holes && lz.len == full->len &&
	   memcmp(lz.data, full->data, full->len) == 0,
	   "a signature not checked lately: rendered from the whole message");
	mb_rendered_clear(&lz);
	crypto_verify_cache_free(&env->verify_cache);
	env->verify_cache = saved;

	/* A document stored before migration 20 has no row: read whole. */
	store_lock(store);
	(void)store_exec(store, "CREATE TEMP TABLE big_saved AS SELECT * "
			 "FROM op_entity_big; DELETE FROM op_entity_big",
			 "drop big");
	store_unlock(store);
	lazy_ok = 0;
	if (core_get_message_lazy(env->core, B.id, id, &lm, &cerr) == 0)
		for (size_t i = 0; i < lm->n_entities; i++)
			if (lm->entities[i].kind == CORE_ENT_ATTACHMENT)
				lazy_ok = !lm->entities[i].lazy &&
					lm->entities[i].data != NULL &&
					lm->entities[i].len == 100 * 1024;
	core_message_free(&lm);
	ok(lazy_ok, "a document without its row (stored before migration "
	   "20) comes whole");
	store_lock(store);
	(void)store_exec(store, "INSERT INTO op_entity_big SELECT * FROM "
			 "big_saved; DROP TABLE big_saved", "restore big");
	store_unlock(store);
	mb_party_cache_free(&cache);
}

/* Issue 10: a 100 KB document is stored once for the sender's Sent and
 * the recipient's INBOX renderings (doc/store.md "Shared parts"); both
 * read back byte for byte what the renderer made, and each survives the
 * other's deletion. */
static void test_shared_document(void)
{
	struct mailbox_error err = { 0 };
	struct mb_party_cache *cache = mb_party_cache_new();
	struct mb_rendered in, out;
	struct store_mb_part *p_in = NULL, *p_out = NULL;
	char id[CORE_UUID_LEN];
	int64_t b_in, b_out;
	size_t n_in, n_out;

	big_doc = 100 * 1024;
	send_letter(500, 0, id);
	big_doc = 0;
	if (mb_render_message(env, 0, B.id, id, 0, cache, &in, &err) < 0 ||
	    mb_render_message(env, 0, A.id, id, 1, cache, &out, &err) < 0 ||
	    in.data == NULL || out.data == NULL)
		mbt_bail("render", err.msg);
	mb_party_cache_free(&cache);
	n_in = mb_parts_find(in.data, in.len, &p_in);
	n_out = mb_parts_find(out.data, out.len, &p_out);
	ok(n_in == 1 && n_out == 1 && p_in[0].len > 100 * 1024 &&
	   p_in[0].len == p_out[0].len &&
	   memcmp(p_in[0].sha256, p_out[0].sha256, 32) == 0 &&
	   (in.len != out.len || memcmp(in.data, out.data, in.len) != 0),
	   "the two renderings differ but carry the document's base64 alike "
	   "(%zu %zu parts, %zu %zu bytes)", n_in, n_out, in.len, out.len);
	test_lazy_render(id, &in);
	ok(mailbox_prerender_box(env, B.id, 500, &err) == 1 &&
	   mailbox_prerender_box(env, A.id, 500, &err) > 0,
	   "both boxes pre-rendered");
	{
		char hex[65], *sql;

		for (int i = 0; i < 32 && n_in == 1; i++)
			snprintf(hex + 2 * i, 3, "%02X", p_in[0].sha256[i]);
		sql = xasprintf("SELECT count(*) FROM mb_parts WHERE "
				"size > 100000 AND sha256 = X'%s'", hex);
		/* Where mime put the document, not a scan of the bytes: the
		 * part is keyed by the document's SHA-256, its base64 never
		 * hashed. */
		ok(n_in == 1 && count_rows(sql) == 0,
		   "the pre-render took the document's part from where mime "
		   "put it (keyed by the document's hash, not its base64's)");
		free(sql);
	}
	free(p_in);
	free(p_out);
	b_in = shared_blob(B.id, id, "in");
	b_out = shared_blob(A.id, id, "out");
	ok(b_in > 0 && b_out > 0 && b_in != b_out, "two blobs (%lld %lld)", (long long)b_in, (long long)b_out);
	ok(count_rows("SELECT count(*) FROM mb_parts WHERE size > 100000") ==
	   1 && count_rows("SELECT count(*) FROM mb_blob_parts bp JOIN "
			   "mb_parts p ON p.id = bp.part_id WHERE p.size > "
			   "100000") == 2,
	   "the document's base64 is stored once, for both");
	ok(count_rows("SELECT count(*) FROM mb_part_refs r JOIN mb_parts p "
		      "ON p.id = r.part_id WHERE p.size > 100000 AND "
		      "length(p.data) = 0") == 1,
	   "the part is kept as a reference to the operator's document "
	   "(migration 19), not as bytes");
	ok(blob_is(store, b_in, in.data, in.len) &&
	   blob_is(store, b_out, out.data, out.len),
	   "each blob reads back byte for byte as rendered");
	ok(store_mb_blob_gc(store, b_in) == STORE_OK &&
	   shared_blob(B.id, id, "in") == 0 &&
	   blob_is(store, b_out, out.data, out.len),
	   "the Sent rendering survives the INBOX one's deletion");
	ok(store_mb_blob_gc(store, b_out) == STORE_OK &&
	   count_rows("SELECT count(*) FROM mb_parts WHERE size > 100000") ==
	   0 && count_rows("SELECT count(*) FROM mb_part_refs") == 0,
	   "deleting the second frees the document's part and reference");
	mb_rendered_clear(&in);
	mb_rendered_clear(&out);
}

/* A rendering with shared parts is keyed by the parts' hashes and the
 * bytes between them (mb_blob_key, issue 10): the same bytes still find
 * the blob stored before, and one byte changed inside a part or between
 * parts makes a blob of its own. */
static void test_blob_key(void)
{
	struct mailbox_error err = { 0 };
	struct mb_party_cache *cache = mb_party_cache_new();
	struct mb_rendered r, c;
	struct store_mb_part *parts = NULL;
	char id[CORE_UUID_LEN];
	int64_t b[4];
	uint64_t size;
	size_t n, i, at[4];

	big_doc = 100 * 1024;
	send_letter(510, 0, id);
	big_doc = 0;
	if (mb_render_message(env, 0, B.id, id, 0, cache, &r, &err) < 0 ||
	    r.data == NULL)
		mbt_bail("render", err.msg);
	mb_party_cache_free(&cache);
	n = mb_parts_find(r.data, r.len, &parts);
	if (n != 1)
		mbt_bail("parts", "one part expected");
	at[0] = at[1] = 0;			/* the bytes as rendered */
	at[2] = parts[0].offset + 1000;		/* inside the part */
	at[3] = parts[0].offset - 10;		/* in the headers before it */
	free(parts);
	for (i = 0; i < 4; i++) {
		memset(&c, 0, sizeof(c));
		c.data = xmalloc(r.len);
		memcpy(c.data, r.data, r.len);
		c.len = r.len;
		if (i >= 2)
			c.data[at[i]] = c.data[at[i]] == 'A' ? 'B' : 'A';
		c.edo_key = xasprintf("test:blob-key:%zu", i);
		b[i] = 0;
		if (mb_rendered_blob(env, &c, &b[i], &size, &err) != 0)
			mbt_bail("blob", err.msg);
		ok(blob_is(store, b[i], c.data, c.len),
		   "blob %zu reads back as stored", i);
		mb_rendered_clear(&c);
	}
	ok(b[0] == b[1], "the same bytes under another key: the same blob");
	ok(b[2] != b[0] && b[3] != b[0] && b[2] != b[3],
	   "a byte changed in the part or before it: blobs of their own");
	mb_rendered_clear(&r);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The first SELECT of a member: sync, then the view. */
static double first_select(const char *login, const char *pw)
{
	struct mailbox_error err = { 0 };
	struct mailbox_user *u = mbt_login(env, login, pw);
	struct mailbox_view *v = NULL;
	double t0 = now_ms(), t;

	if (u == NULL || sync_user(u) < 0 ||
	    mailbox_view_open(u, "INBOX", 0, &v, &err) < 0)
		mbt_bail("select", err.msg);
	t = now_ms() - t0;
	printf("# %s: %u messages in INBOX\n", login, mailbox_view_count(v));
	mailbox_view_close(&v);
	mailbox_user_free(&u);
	return t;
}

/* --bench N (doc/mailbox.md): N letters to B and to C; C's member selects
 * without pre-rendering, B is pre-rendered first. */
static int bench(int n)
{
	struct core_box C;
	struct mailbox_error err = { 0 };
	struct core_box saved_b;
	char id[CORE_UUID_LEN];
	double t0, t_pre, t_b, t_c;
	int i, r, total = 0;

	C = fx_register(core, "ООО «Василёк»", "7812014560", "781201001", NULL);
	mbt_org(store, &C, "Василёк");
	mbt_member(store, mbt_user(store, "carl", "pw-carl"), C.id,
		   STORE_ACTIVE);
	{
		struct core_error cerr = { 0 };
		char inv[CORE_UUID_LEN];

		if (core_invite(core, A.id, B.id, "bench", NULL, inv, &cerr) < 0 ||
		    core_accept(core, B.id, A.id, "ok", NULL, &cerr) < 0 ||
		    core_invite(core, A.id, C.id, "bench", NULL, inv, &cerr) < 0 ||
		    core_accept(core, C.id, A.id, "ok", NULL, &cerr) < 0)
			mbt_bail("bench invitations", cerr.msg);
	}
	saved_b = B;
	for (i = 0; i < n; i++)
		send_letter(i, 0, id);
	B = C;
	for (i = 0; i < n; i++)
		send_letter(i, 0, id);
	B = saved_b;
	t_c = first_select("carl", "pw-carl");
	t0 = now_ms();
	while ((r = mailbox_prerender_box(env, B.id, 500, &err)) > 0)
		total += r;
	t_pre = now_ms() - t0;
	t_b = first_select("boris", "pw-boris");
	printf("# %d letters: first SELECT without pre-rendering %.0f ms; "
	       "pre-render %.0f ms (%d rendered, on a worker), then first "
	       "SELECT %.0f ms\n", n, t_c, t_pre, total, t_b);
	return 0;
}

int main(int argc, char **argv)
{
	struct mailbox_user *boris, *vera;

	log_init("test-mailbox-prerender", LOG_LVL_ERROR);
	setup();
	if (argc == 3 && strcmp(argv[1], "--bench") == 0) {
		bench(atoi(argv[2]));
		mbt_edo_close(&set, &store, &core, &env);
		free(a_cert);
		free(a_key);
		free(b_cert);
		free(b_key);
		edo_fns_cleanup();
		mbt_rmdir();
		return 0;
	}
	boris = mbt_login(env, "boris", "pw-boris");
	vera = mbt_login(env, "vera", "pw-vera");
	if (boris == NULL || vera == NULL)
		mbt_bail("login", "boris/vera");
	test_blob_put_twice();
	test_race(boris);
	test_full(boris, vera);
	test_shared_document();
	test_blob_key();
	mailbox_user_free(&vera);
	mailbox_user_free(&boris);
	mbt_edo_close(&set, &store, &core, &env);
	free(a_cert);
	free(a_key);
	free(b_cert);
	free(b_key);
	edo_fns_cleanup();
	return mbt_done();
}
