#ifndef CORE_CORE_PRIVATE_H
#define CORE_CORE_PRIVATE_H
/* Inside the core module only: the core object the drivers see. */
#include <pthread.h>
#include <stdint.h>
#include "edo/edo.h"
#include <edomail/core.h>

struct core {
	const struct settings *set;
	struct store *store;
	const struct core_driver *driver;
	void *driver_ctx;		/* the driver's own state */

	/* core-keys.c: the node key, read once (0 unread, 1 read, -1
	 * unusable) */
	pthread_mutex_t keys_lock;
	int node_key_state;
	unsigned char node_key[32];

	/* core-keys.c: opened signers kept for signer_ttl seconds */
	pthread_mutex_t signers_lock;
	int64_t signer_ttl;		/* CORE_SIGNER_TTL; tests shorten it */
	struct core_signer_slot *signers;	/* a list, newest first */
	size_t n_signers;
	uint64_t signer_loads;		/* keys decoded: for the tests */

	pthread_mutex_t notify_lock;
	core_notify_cb *notify;
	void *notify_ctx;
};

/* Callers may pass err NULL when they do not care why. */
#define CORE_ERR_GUARD(err) \
	struct core_error err##_local; \
	if ((err) == NULL) \
		(err) = &err##_local

/* Seconds an opened signing key is kept (core-keys.c): a constant, not a
 * setting — long enough for a burst of letters or receipts, short enough
 * that a key does not sit in memory while nothing is signed. */
#define CORE_SIGNER_TTL 60

/* core-keys.c: wipes and frees every cached signer (core_close). */
void core_signers_flush(struct core *core);

/* core-keys.c: the node key (read once); -1 when unusable. */
int core_node_key(struct core *core, unsigned char key_r[32]);
/* core-http.c: org attach on a gateway node (core_attach_box). */
int core_http_attach(struct core *core, const char *query, const char *token,
		     struct core_box *box_r, struct core_error *err);
extern const struct core_driver core_driver_http;

/* Drivers call this after a commit, once per box concerned. */
void core_notify_box(struct core *core, const char *box_id);
/* The box's newest event read from its whole log (poll_events): for a
 * driver without last_event, or whose operator lacks it. */
int core_last_by_log(struct core *core, const char *box_id,
		     core_event_cb *cb, void *ctx, struct core_error *err);
/* Sets *err and returns -1. */
/* Sets *err and returns -1: the one error setter of edo/. */
#define core_error_set edo_error

#endif
