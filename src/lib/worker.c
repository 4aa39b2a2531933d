#include "lib/worker.h"
#include "lib/log.h"
#include "lib/util.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

struct worker_job {
	worker_fn *work;
	worker_fn *done;
	void *ctx;
	struct worker_job *next;
};

struct worker_pool {
	struct event_base *base;
	pthread_t *threads;
	int n_threads;
	int nice;
	pthread_mutex_t mutex;
	pthread_cond_t cond;
	struct worker_job *queue_head, *queue_tail;
	struct worker_job *done_head, *done_tail;
	int pending;
	int stopping;
	int wake_fd[2];
	struct event *wake_ev;
};

static void job_push(struct worker_job **head, struct worker_job **tail,
		     struct worker_job *job)
{
	job->next = NULL;
	if (*tail != NULL)
		(*tail)->next = job;
	else
		*head = job;
	*tail = job;
}

static struct worker_job *job_pop(struct worker_job **head,
				  struct worker_job **tail)
{
	struct worker_job *job = *head;
	if (job != NULL) {
		*head = job->next;
		if (*head == NULL)
			*tail = NULL;
	}
	return job;
}

/* Linux nice values are per thread: PRIO_PROCESS with a thread id changes
 * that thread only.  Raising one's own nice needs no privilege. */
static void worker_thread_nice(int nice)
{
	if (nice == 0)
		return;
	id_t tid = (id_t)syscall(SYS_gettid);
	errno = 0;
	int now = getpriority(PRIO_PROCESS, tid);
	if (errno == 0 && setpriority(PRIO_PROCESS, tid, now + nice) < 0)
		log_debug("worker pool: nice %+d: %s", nice, strerror(errno));
}

static void *worker_main(void *arg)
{
	struct worker_pool *pool = arg;
	/* named, so that a test (e2e-loop_share) tells pool threads from
	 * libraries' own (libcurl's resolver, the http driver's follower) */
	pthread_setname_np(pthread_self(), "edo-pool");
	worker_thread_nice(pool->nice);
	pthread_mutex_lock(&pool->mutex);
	for (;;) {
		while (!pool->stopping && pool->queue_head == NULL)
			pthread_cond_wait(&pool->cond, &pool->mutex);
		if (pool->stopping)
			break;
		struct worker_job *job =
			job_pop(&pool->queue_head, &pool->queue_tail);
		pthread_mutex_unlock(&pool->mutex);
		job->work(job->ctx);
		pthread_mutex_lock(&pool->mutex);
		job_push(&pool->done_head, &pool->done_tail, job);
		/* One byte wakes the loop; a full pipe already means "wake". */
		char c = 1;
		if (write(pool->wake_fd[1], &c, 1) < 0) {
		}
	}
	pthread_mutex_unlock(&pool->mutex);
	return NULL;
}

static void worker_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker_pool *pool = arg;
	char drain[256];
	while (read(fd, drain, sizeof(drain)) > 0) {
	}
	for (;;) {
		pthread_mutex_lock(&pool->mutex);
		struct worker_job *job =
			job_pop(&pool->done_head, &pool->done_tail);
		if (job != NULL)
			pool->pending--;
		pthread_mutex_unlock(&pool->mutex);
		if (job == NULL)
			break;
		if (job->done != NULL)
			job->done(job->ctx);
		free(job);
	}
}

struct worker_pool *worker_pool_new(struct event_base *base, int threads,
				    int nice)
{
	struct worker_pool *pool = xcalloc(1, sizeof(*pool));
	pool->base = base;
	pool->nice = nice;
	pthread_mutex_init(&pool->mutex, NULL);
	pthread_cond_init(&pool->cond, NULL);
	if (pipe2(pool->wake_fd, O_NONBLOCK | O_CLOEXEC) < 0)
		fatalx("worker pool: pipe failed");
	pool->wake_ev = event_new(base, pool->wake_fd[0], EV_READ | EV_PERSIST,
				  worker_wake_cb, pool);
	event_add(pool->wake_ev, NULL);
	pool->n_threads = threads < 1 ? 1 : threads;
	pool->threads = xcalloc((size_t)pool->n_threads, sizeof(pthread_t));
	for (int i = 0; i < pool->n_threads; i++)
		if (pthread_create(&pool->threads[i], NULL, worker_main, pool) != 0)
			fatalx("worker pool: pthread_create failed");
	return pool;
}

void worker_pool_run(struct worker_pool *pool, worker_fn *work,
		     worker_fn *done, void *ctx)
{
	struct worker_job *job = xcalloc(1, sizeof(*job));
	job->work = work;
	job->done = done;
	job->ctx = ctx;
	pthread_mutex_lock(&pool->mutex);
	pool->pending++;
	job_push(&pool->queue_head, &pool->queue_tail, job);
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->mutex);
}

int worker_pool_pending(struct worker_pool *pool)
{
	pthread_mutex_lock(&pool->mutex);
	int n = pool->pending;
	pthread_mutex_unlock(&pool->mutex);
	return n;
}

void worker_pool_free(struct worker_pool **_pool)
{
	struct worker_pool *pool = *_pool;
	if (pool == NULL)
		return;
	*_pool = NULL;
	pthread_mutex_lock(&pool->mutex);
	pool->stopping = 1;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->mutex);
	for (int i = 0; i < pool->n_threads; i++)
		pthread_join(pool->threads[i], NULL);
	/* Nothing is dropped: finished jobs get their done(), queued ones run
	 * here, so every ctx is released by its owner's callback. */
	struct worker_job *job;
	while ((job = job_pop(&pool->done_head, &pool->done_tail)) != NULL) {
		if (job->done != NULL)
			job->done(job->ctx);
		free(job);
	}
	while ((job = job_pop(&pool->queue_head, &pool->queue_tail)) != NULL) {
		job->work(job->ctx);
		if (job->done != NULL)
			job->done(job->ctx);
		free(job);
	}
	event_free(pool->wake_ev);
	close(pool->wake_fd[0]);
	close(pool->wake_fd[1]);
	pthread_mutex_destroy(&pool->mutex);
	pthread_cond_destroy(&pool->cond);
	free(pool->threads);
	free(pool);
}

/* struct sched_attr of sched_setattr(2); glibc has no wrapper before 2.41. */
struct worker_sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
};

int worker_loop_thread_latency(unsigned slice_us)
{
#ifdef SYS_sched_setattr
	struct worker_sched_attr a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.sched_policy = SCHED_OTHER;
	errno = 0;
	a.sched_nice = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
	if (errno != 0)
		return -1;
	/* The kernel clamps the slice to 0.1-100 ms; kernels before 6.12
	 * accept and ignore it for SCHED_OTHER. */
	a.sched_runtime = (uint64_t)slice_us * 1000;
	if (syscall(SYS_sched_setattr, 0, &a, 0) == 0)
		return 0;
	log_debug("event loop: sched_setattr slice %u us: %s", slice_us,
		  strerror(errno));
#else
	(void)slice_us;
#endif
	return -1;
}
