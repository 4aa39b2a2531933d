#ifndef CORE_CORE_PRIVATE_H
#define CORE_CORE_PRIVATE_H
/* Inside the core module only: the core object the drivers see. */
#include <pthread.h>
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

	pthread_mutex_t notify_lock;
	core_notify_cb *notify;
	void *notify_ctx;
};

/* Callers may pass err NULL when they do not care why. */
#define CORE_ERR_GUARD(err) \
	struct core_error err##_local; \
	if ((err) == NULL) \
		(err) = &err##_local

/* Drivers call this after a commit, once per box concerned. */
void core_notify_box(struct core *core, const char *box_id);
/* Sets *err and returns -1. */
/* Sets *err and returns -1: the one error setter of edo/. */
#define core_error_set edo_error

#endif
