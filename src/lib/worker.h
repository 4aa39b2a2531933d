#ifndef LIB_WORKER_H
#define LIB_WORKER_H
/* A small pool of threads for blocking work (signing large attachments,
 * parsing big submissions), so the event loop never blocks.  work() runs on
 * a pool thread; done() runs afterwards on the event loop's thread. */
struct event_base;
struct worker_pool;

typedef void worker_fn(void *ctx);

/* The pool's threads run at `nice` (0: the process's own; > 0: below
 * it), so that the event loop, which answers every session, wins the CPU
 * over them (doc/architecture.md "Who gets the CPU"). */
struct worker_pool *worker_pool_new(struct event_base *base, int threads,
				    int nice);
void worker_pool_run(struct worker_pool *pool, worker_fn *work,
		     worker_fn *done, void *ctx);
/* Jobs queued or running. */
int worker_pool_pending(struct worker_pool *pool);
/* Waits for running jobs, then runs what is still queued on the calling
 * thread and calls every outstanding done(), so no job's ctx is lost. */
void worker_pool_free(struct worker_pool **pool);

/* For the event loop's thread: asks the scheduler for a short time slice
 * (Linux 6.12+ EEVDF, sched_attr.sched_runtime = slice_us for
 * SCHED_OTHER; no privilege needed), so that when a client's command
 * wakes the loop it preempts a thread with a longer slice (a worker, a
 * compiler) at once instead of waiting for the next tick.  Returns 0, or
 * -1 where the kernel does not take it (older kernels: nothing changes). */
int worker_loop_thread_latency(unsigned slice_us);

#endif
