#ifndef LIB_WORKER_H
#define LIB_WORKER_H
/* A small pool of threads for blocking work (signing large attachments,
 * parsing big submissions), so the event loop never blocks.  work() runs on
 * a pool thread; done() runs afterwards on the event loop's thread. */
struct event_base;
struct worker_pool;

typedef void worker_fn(void *ctx);

struct worker_pool *worker_pool_new(struct event_base *base, int threads);
void worker_pool_run(struct worker_pool *pool, worker_fn *work,
		     worker_fn *done, void *ctx);
/* Jobs queued or running. */
int worker_pool_pending(struct worker_pool *pool);
/* Waits for running jobs, then runs what is still queued on the calling
 * thread and calls every outstanding done(), so no job's ctx is lost. */
void worker_pool_free(struct worker_pool **pool);

#endif
