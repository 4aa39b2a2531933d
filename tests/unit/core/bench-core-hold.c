/* How long a 120-attachment letter keeps every other session out of the
 * store (issue 10: another organization's STATUS waited 31-72 ms).
 *
 * A probe thread takes and drops the store lock in a loop, as any other
 * session's lookup does, and records its longest wait while the letter
 * (120 documents of 100 KB, each signed) is sent:
 *   "caller tx": the old way of smtp-submit.c, the caller's store
 *     transaction around core_send_message, so the operator's signed
 *     confirmations (XML, schema validation, RSA) ran inside it;
 *   "core_apply": the driver's own transaction, everything slow before it.
 * Run without arguments it is a unit test (one round each, the new way
 * must hold the lock for less than the old); with a number it runs that
 * many rounds and prints the figures of doc/bench.md. */
#include "../operator/op-test.h"
#include "../edo-fixtures.h"

#include <pthread.h>
#include <time.h>

#include <edomail/core.h>
#include "crypto/crypto.h"
#include "operator/operator.h"
#include "store/store.h"

#define N_DOCS 120
#define DOC_SIZE (100 * 1024)

static struct settings set;
static struct store *store;
static struct core *core;
static struct core_box A, B;

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- the probe: another session's lookups ---- */

static volatile int probe_stop;
static int64_t probe_max_us;
static long probe_n;

static void *probe_thread(void *arg)
{
	struct timespec pause = { 0, 200 * 1000 };
	int64_t t0, w;

	(void)arg;
	while (!probe_stop) {
		struct core_box box;

		/* A real read, as another organization's STATUS makes one:
		 * it runs on a reader connection and must not wait for the
		 * writer's transaction. */
		t0 = now_us();
		(void)core_get_box(core, B.id, &box, NULL);
		w = now_us() - t0;
		if (w > probe_max_us)
			probe_max_us = w;
		probe_n++;
		nanosleep(&pause, NULL);
	}
	return NULL;
}

/* ---- the letter ---- */

struct letter {
	struct core_message msg;
	struct core_entity ents[2 * N_DOCS];
	unsigned char *body;
};

static void letter_make(struct letter *l, const char *cert, const char *key)
{
	struct crypto_signer *s = NULL;
	char *cerr = NULL;
	size_t i;

	memset(l, 0, sizeof(*l));
	l->body = xmalloc(DOC_SIZE);
	for (i = 0; i < DOC_SIZE; i++)
		l->body[i] = (unsigned char)('A' + i % 26);
	if (crypto_signer_new(cert, key, &s, &cerr) < 0)
		fx_bail("signer", cerr);
	l->msg.kind = CORE_MSG_LETTER;
	snprintf(l->msg.from_box, sizeof(l->msg.from_box), "%s", A.id);
	snprintf(l->msg.to_box, sizeof(l->msg.to_box), "%s", B.id);
	l->msg.subject = "120 документов";
	l->msg.text = "Пакет документов";
	for (i = 0; i < N_DOCS; i++) {
		struct core_entity *a = &l->ents[2 * i], *g = &l->ents[2 * i + 1];
		util_uuid(a->id);
		a->kind = CORE_ENT_ATTACHMENT;
		a->file_name = xasprintf("Документ %03zu.pdf", i + 1);
		a->data = l->body;
		a->len = DOC_SIZE;
		g->kind = CORE_ENT_SIGNATURE;
		memcpy(g->parent_id, a->id, CORE_UUID_LEN);
		g->file_name = xasprintf("Документ %03zu.pdf.sig", i + 1);
		if (crypto_sign_detached(s, l->body, DOC_SIZE, &g->data,
					 &g->len, &cerr) < 0)
			fx_bail("sign", cerr);
	}
	crypto_signer_free(&s);
	l->msg.entities = l->ents;
	l->msg.n_entities = 2 * N_DOCS;
}

static void letter_free(struct letter *l)
{
	size_t i;

	for (i = 0; i < 2 * N_DOCS; i++) {
		free(l->ents[i].file_name);
		if (i % 2 == 1)
			free(l->ents[i].data);
	}
	free(l->body);
}

/* Entity ids are the client's and unique: new ones for every send. */
static void letter_renew(struct letter *l)
{
	size_t i;

	for (i = 0; i < N_DOCS; i++) {
		util_uuid(l->ents[2 * i].id);
		memcpy(l->ents[2 * i + 1].parent_id, l->ents[2 * i].id,
		       CORE_UUID_LEN);
	}
}

/* ---- one round ---- */

struct round {
	int64_t total_us;	/* the send, wall */
	int64_t wait_us;	/* the probe's longest wait */
};

static int send_round(struct letter *l, int caller_tx,
		      struct round *r, struct core_error *err)
{
	struct core_op o;
	pthread_t t;
	size_t failed;
	int64_t t0;
	int ret;

	letter_renew(l);
	probe_stop = 0;
	probe_max_us = 0;
	probe_n = 0;
	pthread_create(&t, NULL, probe_thread, NULL);
	nanosleep(&(struct timespec){ 0, 5 * 1000 * 1000 }, NULL);
	t0 = now_us();
	if (caller_tx) {
		char id[CORE_UUID_LEN];
		/* What smtp-submit.c did until issue 10 (and nothing may do
		 * now): the caller's transaction around the core call. */
		store_tx_begin(store);
		ret = core_send_message(core, &l->msg, NULL, id, err);
		if (ret == 0)
			store_tx_commit(store);
		else
			store_tx_rollback(store);
	} else {
		memset(&o, 0, sizeof(o));
		o.kind = CORE_OP_SEND;
		util_uuid(o.op_id);
		o.box_id = A.id;
		o.msg = &l->msg;
		ret = core_apply(core, &o, 1, &failed, err);
	}
	r->total_us = now_us() - t0;
	nanosleep(&(struct timespec){ 0, 5 * 1000 * 1000 }, NULL);
	probe_stop = 1;
	pthread_join(t, NULL);
	r->wait_us = probe_max_us;
	return ret;
}

static void setup(char **cert, char **key)
{
	struct core_error err = { 0 };
	const char *serr = NULL;
	char id[CORE_UUID_LEN];

	op_t_settings(&set);
	crypto_init();
	if (store_open(set.store_path, &store, &serr) < 0 ||
	    core_open(&set, store, &core, &err) < 0 ||
	    core_prepare(core, &err) < 0) {
		printf("Bail out! setup: %s %s\n", serr ? serr : "", err.msg);
		exit(1);
	}
	A = fx_register(core, "ООО «Ромашка»", "7707083893", "770701001", NULL);
	B = fx_register(core, "ООО «Лютик»", "7733012345", "773301001", NULL);
	if (core_invite(core, A.id, B.id, NULL, NULL, id, &err) < 0 ||
	    core_accept(core, B.id, A.id, NULL, NULL, &err) < 0)
		fx_bail("A and B", err.msg);
	fx_make_cert("ООО «Ромашка»", "7707083893", "Петрова", "Анна Сергеевна",
		     cert, key);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void report(const char *what, int64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_i64);
	printf("# %-34s min %7.2f ms  median %7.2f ms  max %7.2f ms\n", what,
	       (double)v[0] / 1000, (double)v[n / 2] / 1000,
	       (double)v[n - 1] / 1000);
}

int main(int argc, char **argv)
{
	struct core_error err = { 0 };
	int rounds = argc > 1 ? atoi(argv[1]) : 1, i, mode, ok_all = 1;
	int64_t wait[2][64], total[2][64];
	struct letter l;
	struct round r;
	char *cert, *key;

	if (rounds < 1 || rounds > 64)
		rounds = 1;
	log_init("bench-core-hold", LOG_LVL_WARN);
	setup(&cert, &key);
	letter_make(&l, cert, key);
	for (i = 0; i < rounds; i++) {
		for (mode = 0; mode < 2; mode++) {
			if (send_round(&l, mode == 0, &r, &err) < 0) {
				printf("# send: %s\n", err.msg);
				ok_all = 0;
			}
			wait[mode][i] = r.wait_us;
			total[mode][i] = r.total_us;
		}
	}
	ok(ok_all, "%d x 2 letters of %d signed documents of %d KB sent",
	   rounds, N_DOCS, DOC_SIZE / 1024);
	report("send, caller tx (before)", total[0], rounds);
	report("longest read, caller tx (before)", wait[0], rounds);
	report("send, core_apply (after)", total[1], rounds);
	report("longest read, core_apply (after)", wait[1], rounds);
	/* Medians after sorting.  With reader connections another
	 * session's read never waits for the writer: its longest read is
	 * a small part of the send however the send is made (before them
	 * it waited for the whole transaction).  Half the send is far from
	 * both, so a loaded machine does not make the check lucky. */
	ok(wait[1][rounds / 2] < total[1][rounds / 2] / 2 &&
	   wait[0][rounds / 2] < total[0][rounds / 2] / 2,
	   "another session's read does not wait for the send "
	   "(longest read %.2f / %.2f ms, send %.2f / %.2f ms)",
	   (double)wait[1][rounds / 2] / 1000,
	   (double)wait[0][rounds / 2] / 1000,
	   (double)total[1][rounds / 2] / 1000,
	   (double)total[0][rounds / 2] / 1000);
	letter_free(&l);
	free(cert);
	free(key);
	core_close(&core);
	store_close(&store);
	settings_free(&set);
	edo_fns_cleanup();
	return op_t_done();
}
