/* Several threads on one core: senders in both directions, an invitation
 * ping-pong and a reader following A's log with a cursor.  The reader must
 * see every event exactly once and in key order, and the log must be the
 * same as a full read at the end. */
#include "../operator/op-test.h"
#include "../edo-fixtures.h"

#include <pthread.h>

#include <edomail/core.h>
#include "crypto/crypto.h"
#include "store/store.h"

#define N_MSG 25

static struct settings set;
static struct store *store;
static struct core *core;
static struct core_box A, B, C, D;
static volatile int writers_done;
static int thread_errors;
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;

static void thread_fail(const char *what, const struct core_error *err)
{
	pthread_mutex_lock(&err_lock);
	thread_errors++;
	printf("# %s: %s\n", what, err->msg);
	pthread_mutex_unlock(&err_lock);
}

struct sender {
	const struct core_box *from, *to;
};

static void *send_thread(void *arg)
{
	struct sender *s = arg;
	struct core_error err = { 0 };
	struct core_message msg;
	char id[CORE_UUID_LEN];
	int i;

	for (i = 0; i < N_MSG; i++) {
		memset(&msg, 0, sizeof(msg));
		msg.kind = CORE_MSG_LETTER;
		snprintf(msg.from_box, sizeof(msg.from_box), "%s", s->from->id);
		snprintf(msg.to_box, sizeof(msg.to_box), "%s", s->to->id);
		msg.subject = "Параллельно";
		msg.text = "текст";
		if (core_send_message(core, &msg, NULL, id, &err) < 0)
			thread_fail("send", &err);
	}
	return NULL;
}

static void *invite_thread(void *arg)
{
	struct core_error err = { 0 };
	char id[CORE_UUID_LEN];
	int i;

	(void)arg;
	for (i = 0; i < N_MSG; i++) {
		if (core_invite(core, C.id, D.id, "ping", NULL, id, &err) < 0 ||
		    core_withdraw(core, C.id, D.id, NULL, &err) < 0)
			thread_fail("invite/withdraw", &err);
	}
	return NULL;
}

struct follower {
	char key[CORE_KEY_LEN];
	char (*seen)[CORE_KEY_LEN];
	size_t n, cap;
	int disorder;
};

static int follow_cb(const struct core_event *ev, void *ctx)
{
	struct follower *f = ctx;

	if (f->n > 0 && strcmp(f->seen[f->n - 1], ev->index_key) >= 0)
		f->disorder = 1;
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 64;
		f->seen = xrealloc(f->seen, f->cap * sizeof(*f->seen));
	}
	snprintf(f->seen[f->n++], CORE_KEY_LEN, "%s", ev->index_key);
	snprintf(f->key, sizeof(f->key), "%s", ev->index_key);
	return 0;
}

static void *follow_thread(void *arg)
{
	struct follower *f = arg;
	struct core_error err = { 0 };
	int last_round = 0;

	/* One more round after the writers stop picks up the tail. */
	while (!last_round) {
		last_round = writers_done;
		if (core_poll_events(core, A.id, f->key, 7, follow_cb, f, &err) < 0)
			thread_fail("poll", &err);
	}
	/* Drain: limit 7 per call may leave some behind. */
	for (;;) {
		size_t before = f->n;
		core_poll_events(core, A.id, f->key, 7, follow_cb, f, &err);
		if (f->n == before)
			break;
	}
	return NULL;
}

int main(void)
{
	struct core_error err = { 0 };
	struct follower f, all;
	struct sender ab, ba;
	pthread_t t[4];
	const char *serr = NULL;
	char id[CORE_UUID_LEN];
	int i, same;

	log_init("test-core-threads", LOG_LVL_WARN);
	crypto_init();
	op_t_settings(&set);
	if (store_open(set.store_path, &store, &serr) < 0 ||
	    core_open(&set, store, &core, &err) < 0) {
		printf("Bail out! %s %s\n", serr ? serr : "", err.msg);
		return 1;
	}
	A = fx_register(core, "ООО «Ромашка»", "7707083893", "770701001", NULL);
	B = fx_register(core, "ООО «Лютик»", "7733012345", "773301001", NULL);
	C = fx_register(core, "ИП Иванов Иван Иванович", "500100732259", "",
			NULL);
	D = fx_register(core, "АО «Василёк»", "6621001230", "662101001", NULL);
	ok(core_invite(core, A.id, B.id, NULL, NULL, id, &err) == 0 &&
	   core_accept(core, B.id, A.id, NULL, NULL, &err) == 0, "A and B are counteragents");

	memset(&f, 0, sizeof(f));
	memset(&all, 0, sizeof(all));
	ab = (struct sender){ &A, &B };
	ba = (struct sender){ &B, &A };
	pthread_create(&t[0], NULL, follow_thread, &f);
	pthread_create(&t[1], NULL, send_thread, &ab);
	pthread_create(&t[2], NULL, send_thread, &ba);
	pthread_create(&t[3], NULL, invite_thread, NULL);
	for (i = 1; i < 4; i++)
		pthread_join(t[i], NULL);
	writers_done = 1;
	pthread_join(t[0], NULL);
	ok(thread_errors == 0, "no operation failed under concurrency");

	ok(core_poll_events(core, A.id, NULL, 0, follow_cb, &all, &err) == 0,
	   "full read of A's log");
	/* invitation out, accepted, N×(out, delivered), N×in */
	ok(all.n == 2 + 3 * N_MSG && !all.disorder, "A's log: %zu events in "
	   "key order", all.n);
	same = f.n == all.n && !f.disorder;
	for (i = 0; same && (size_t)i < f.n; i++)
		same = strcmp(f.seen[i], all.seen[i]) == 0;
	ok(same, "the follower saw every event once, in order (%zu)", f.n);
	free(f.seen);
	free(all.seen);
	core_close(&core);
	store_close(&store);
	settings_free(&set);
	return op_t_done();
}
