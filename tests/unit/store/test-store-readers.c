/* Reader connections (store.h, "Connections"): a read outside the writer
 * does not wait for another thread's open write transaction; the writer's
 * holder reads its own uncommitted rows; a read scope is one snapshot; a
 * write after reads of a scope is refused when it may rest on stale reads.
 * Prints TAP. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "lib/log.h"
#include "lib/util.h"
#include "store/store-sql.h"
#include "store/store-util.h"
#include "store-test.h"

/* A value of settings_kv, or NULL; the caller frees it. */
static char *kv(struct store *s, const char *key)
{
	char *v = NULL;

	return store_kv_get(s, key, &v) == STORE_OK ? v : NULL;
}

static int kv_is(struct store *s, const char *key, const char *want)
{
	char *v = kv(s, key);
	int same = want == NULL ? v == NULL : v != NULL && strcmp(v, want) == 0;

	free(v);
	return same;
}

/* ---- a writer thread with a transaction held open ---- */

struct test_writer {
	struct store *s;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int tx_open;		/* inside its transaction, not committed */
	int reader_done;	/* the main thread has read */
	int own_row_seen;	/* it read its own uncommitted row */
	int timed_out;		/* it gave up waiting for the reader */
};

static void *test_writer_main(void *arg)
{
	struct test_writer *w = arg;
	struct timespec until;
	int ret;

	if (store_tx_begin(w->s) != STORE_OK)
		return NULL;
	ret = store_kv_set(w->s, "pending", "1");
	/* The holder of the writer reads on the writer: it sees its row. */
	w->own_row_seen = ret == STORE_OK && kv_is(w->s, "pending", "1");
	pthread_mutex_lock(&w->mu);
	w->tx_open = 1;
	pthread_cond_broadcast(&w->cond);
	/* Long enough for any machine; a reader that waits for this
	 * transaction would only finish after it. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 20;
	while (!w->reader_done && !w->timed_out) {
		if (pthread_cond_timedwait(&w->cond, &w->mu, &until) != 0)
			w->timed_out = 1;
	}
	pthread_mutex_unlock(&w->mu);
	(void)store_tx_commit(w->s);
	pthread_mutex_lock(&w->mu);
	w->tx_open = 0;
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* The reader (this thread) reads while the writer thread holds its write
 * transaction open; the writer commits only once the read is done. */
static void test_reader_not_blocked(struct store *s)
{
	struct test_writer w;
	pthread_t th;
	int open_after_read, snapshot_ok, read_ok;
	char *v;

	memset(&w, 0, sizeof(w));
	w.s = s;
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cond, NULL);
	ok(store_kv_set(s, "before", "b") == STORE_OK, "a committed row");
	pthread_create(&th, NULL, test_writer_main, &w);
	pthread_mutex_lock(&w.mu);
	while (!w.tx_open)
		pthread_cond_wait(&w.cond, &w.mu);
	pthread_mutex_unlock(&w.mu);

	v = kv(s, "before");
	read_ok = v != NULL && strcmp(v, "b") == 0;
	free(v);
	snapshot_ok = kv_is(s, "pending", NULL);
	pthread_mutex_lock(&w.mu);
	open_after_read = w.tx_open && !w.timed_out;
	w.reader_done = 1;
	pthread_cond_broadcast(&w.cond);
	pthread_mutex_unlock(&w.mu);
	pthread_join(th, NULL);

	ok(read_ok, "a read during another thread's write transaction");
	ok(open_after_read,
	   "finished while that transaction was still open (did not wait)");
	ok(snapshot_ok, "and does not see its uncommitted row");
	ok(w.own_row_seen, "the writer reads its own uncommitted row");
	ok(kv_is(s, "pending", "1"), "after the commit every reader sees it");
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.mu);
}

/* ---- a committer thread, run to the end while the main thread waits ---- */

struct test_commit {
	struct store *s;
	const char *key, *value;
	int ret;
};

static void *test_commit_main(void *arg)
{
	struct test_commit *c = arg;

	c->ret = store_kv_set(c->s, c->key, c->value);
	return NULL;
}

/* Another thread commits key=value while the caller waits. */
static int commit_elsewhere(struct store *s, const char *key,
			    const char *value)
{
	struct test_commit c = { s, key, value, -1 };
	pthread_t th;

	pthread_create(&th, NULL, test_commit_main, &c);
	pthread_join(th, NULL);
	return c.ret;
}

static void test_snapshot(struct store *s)
{
	ok(store_kv_set(s, "snap", "old") == STORE_OK, "snapshot row");
	ok(store_read_begin(s) == STORE_OK, "read_begin");
	ok(kv_is(s, "snap", "old"), "first lookup");
	ok(commit_elsewhere(s, "snap", "new") == STORE_OK,
	   "another thread commits meanwhile (not blocked by the read)");
	ok(kv_is(s, "snap", "old"), "the read transaction keeps its snapshot");
	ok(store_tx_commit(s) == STORE_OK, "end of read");
	ok(kv_is(s, "snap", "new"), "a new read sees the commit");

	/* store_lock over several lookups is one snapshot too (what
	 * mailbox-view.c relies on). */
	store_lock(s);
	ok(kv_is(s, "snap", "new"), "lock: first lookup");
	ok(commit_elsewhere(s, "snap", "newer") == STORE_OK,
	   "another thread commits inside the lock");
	ok(kv_is(s, "snap", "new"), "lock: same snapshot");
	store_unlock(s);
}

static void test_read_then_write(struct store *s)
{
	sqlite3_stmt *st;

	/* Reads then a write with nothing committed in between: the write
	 * takes the writer and goes through. */
	store_lock(s);
	ok(kv_is(s, "rw", NULL), "scope reads");
	ok(store_kv_set(s, "rw", "1") == STORE_OK,
	   "then writes (no commit in between)");
	ok(kv_is(s, "rw", "1"), "and reads its write (now on the writer)");
	store_unlock(s);

	/* A commit between the reads and the write: the reads may be stale,
	 * the write is refused. */
	store_lock(s);
	ok(kv_is(s, "rw", "1"), "scope reads");
	ok(commit_elsewhere(s, "rw", "2") == STORE_OK, "another thread commits");
	st = store_stmt(s, "UPDATE settings_kv SET value = '3' WHERE key = 'rw'");
	ok(st == NULL, "a write resting on stale reads is refused");
	store_unlock(s);
	ok(kv_is(s, "rw", "2"), "nothing written");

	/* store_lock_write: reads and the write under the writer. */
	store_lock_write(s);
	ok(kv_is(s, "rw", "2"), "lock_write reads");
	ok(store_kv_set(s, "rw", "3") == STORE_OK, "and writes");
	store_unlock(s);
	ok(kv_is(s, "rw", "3"), "written");

	/* A scope whose first statement writes simply takes the writer. */
	store_lock(s);
	ok(store_kv_set(s, "first", "w") == STORE_OK, "scope writes first");
	ok(kv_is(s, "first", "w"), "then reads it");
	store_unlock(s);

	/* A read scope around a transaction of the same thread. */
	store_lock(s);
	ok(kv_is(s, "inner", NULL), "scope reads");
	ok(store_tx_begin(s) == STORE_OK &&
	   store_kv_set(s, "inner", "1") == STORE_OK &&
	   kv_is(s, "inner", "1") && store_tx_commit(s) == STORE_OK,
	   "a transaction inside it reads its own write");
	store_unlock(s);
	ok(kv_is(s, "inner", "1"), "committed");
}

/* Many threads reading and writing at once: no error, every write kept. */
#define TEST_THREADS 6
#define TEST_ROUNDS 200

static void *test_mixed_main(void *arg)
{
	struct test_commit *c = arg;
	char key[32], *v;
	int i;

	c->ret = 0;
	for (i = 0; i < TEST_ROUNDS; i++) {
		snprintf(key, sizeof(key), "%s-%d", c->key, i);
		if (store_kv_set(c->s, key, "x") != STORE_OK)
			c->ret++;
		v = kv(c->s, key);
		if (v == NULL || strcmp(v, "x") != 0)
			c->ret++;
		free(v);
	}
	return NULL;
}

static void test_mixed(struct store *s)
{
	struct test_commit c[TEST_THREADS];
	pthread_t th[TEST_THREADS];
	char names[TEST_THREADS][8];
	int i, failures = 0;
	struct store_user *users;
	size_t n;

	for (i = 0; i < TEST_THREADS; i++) {
		snprintf(names[i], sizeof(names[i]), "m%d", i);
		c[i].s = s;
		c[i].key = names[i];
		pthread_create(&th[i], NULL, test_mixed_main, &c[i]);
	}
	for (i = 0; i < TEST_THREADS; i++) {
		/* and lists on this thread meanwhile */
		if (store_user_list(s, &users, &n) == STORE_OK)
			store_user_list_free(users, n);
		else
			failures++;
	}
	for (i = 0; i < TEST_THREADS; i++) {
		pthread_join(th[i], NULL);
		failures += c[i].ret;
	}
	ok(failures == 0, "threads reading and writing at once, no error");
}

int main(void)
{
	char *path = test_tmp_db();
	struct store *s = NULL;
	const char *error;

	log_init("test-store-readers", LOG_LVL_ERROR);
	if (store_open(path, &s, &error) < 0) {
		ok(0, error);
	} else {
		test_reader_not_blocked(s);
		test_snapshot(s);
		test_read_then_write(s);
		test_mixed(s);
		store_close(&s);
	}
	test_cleanup(path);
	free(path);
	printf("1..%d\n", test_n);
	return test_failed == 0 ? 0 : 1;
}
