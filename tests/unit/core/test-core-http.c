/* The http driver against an operator that hangs (a socket that listens
 * and never answers): a call's try that times out is not repeated, the
 * calls made while one call probes it wait for that probe, not for tries
 * and timeouts of their own, and fail with it as unreachable (SMTP: 451
 * 4.4.1); with no probe out the next call tries again.  No operator API is needed: the driver never gets an answer. */
#include "../operator/op-test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <edomail/core.h>
#include "crypto/crypto.h"
#include "lib/util.h"
#include "store/store.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A port that takes connections into its backlog and never answers. */
static int silent_listener(int *port_r)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("listener");
		exit(99);
	}
	*port_r = ntohs(a.sin_port);
	return fd;
}

/* An attached box: a token sealed under the node key, as org attach
 * leaves it. */
static void attach(struct store *store, const char *node_key_path,
		   const char *box)
{
	unsigned char key[CRYPTO_NODE_KEY_LEN], *sealed = NULL;
	char *error = NULL;
	size_t len = 0;

	if (crypto_node_key_load(node_key_path, 1, key, &error) < 0 ||
	    crypto_seal(key, (const unsigned char *)"0123456789abcdef", 16,
			&sealed, &len) < 0 ||
	    store_op_token_set(store, box, sealed, len) != STORE_OK) {
		printf("Bail out! attach: %s\n", error != NULL ? error : "");
		exit(1);
	}
	free(sealed);
}

static double timed_call(struct core *core, const char *box,
			 struct core_error *err)
{
	struct core_box b;
	double t = now_s();
	int ret;

	memset(err, 0, sizeof(*err));
	ret = core_get_box(core, box, &b, err);
	return ret < 0 ? now_s() - t : -1;
}

static double probe_s;
static struct core_error probe_err;

static void *probe_thread(void *arg)
{
	probe_s = timed_call(arg, "2EDslow", &probe_err);
	return NULL;
}

int main(void)
{
	pthread_t th;
	struct settings set;
	struct store *store = NULL;
	struct core *core = NULL;
	struct core_error err = { 0 };
	const char *serr = NULL;
	double t;
	int port, fd;

	fd = silent_listener(&port);
	op_t_settings(&set);
	free(set.operator_driver);
	set.operator_driver = xstrdup("http");
	set.operator_url = xasprintf("https://127.0.0.1:%d", port);
	set.operator_timeout = 1;
	crypto_init();
	if (store_open(set.store_path, &store, &serr) < 0 ||
	    core_open(&set, store, &core, &err) < 0) {
		printf("Bail out! setup: %s %s\n", serr ? serr : "", err.msg);
		return 1;
	}
	attach(store, set.node_key_path, "2EDslow");

	t = timed_call(core, "2EDslow", &err);
	ok(t >= 0.9 && err.cls == CORE_ERR_TEMP && err.unreachable,
	   "a hanging operator: unreachable after the timeout (%.2f s: %s)",
	   t, err.msg);
	ok(t < 2.5, "a timed-out try is not repeated (%.2f s)", t);
	/* one call probes (a second's timeout); others wait for it */
	if (pthread_create(&th, NULL, probe_thread, core) != 0)
		return 1;
	usleep(300 * 1000);	/* the probe is out: it takes a second */
	t = timed_call(core, "2EDslow", &err);
	ok(t >= 0 && t < 1.0 && err.cls == CORE_ERR_TEMP && err.unreachable &&
	   strstr(err.msg, "unreachable") != NULL,
	   "during the probe a call waits for it, not for its own tries "
	   "(%.2f s): %s", t, err.msg);
	pthread_join(th, NULL);
	ok(probe_s >= 0.9 && probe_s < 2.5 && probe_err.unreachable,
	   "the probe: one try (%.2f s)", probe_s);
	t = timed_call(core, "2EDslow", &err);
	ok(t >= 0.9 && err.unreachable,
	   "no probe out: the next call tries again (%.2f s)", t);

	core_close(&core);
	store_close(&store);
	settings_free(&set);
	close(fd);
	return op_t_done();
}
