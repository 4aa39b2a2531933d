#ifndef TESTS_UNIT_CRYPTO_TAP_H
#define TESTS_UNIT_CRYPTO_TAP_H
/* A tiny TAP helper for the crypto tests, plus a scratch directory and a
 * way to run the real openssl CLI on what we produce. */
#include "lib/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static int tap_count, tap_failed;
static char tap_dir[64];

__attribute__((format(printf, 4, 5)))
static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	tap_count++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return cond;
}
#define ok(cond, ...) tap_ok((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

static inline void tap_skip(const char *why, int n)
{
	for (int i = 0; i < n; i++)
		printf("ok %d # SKIP %s\n", ++tap_count, why);
}

static inline void tap_rmdir(void)
{
	char cmd[128];
	if (tap_dir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tap_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tap_dir);
}

/* A fresh scratch directory, removed at exit. */
static const char *tap_tmpdir(void)
{
	if (tap_dir[0] != '\0')
		return tap_dir;
	snprintf(tap_dir, sizeof(tap_dir), "/tmp/edomail-crypto-XXXXXX");
	if (mkdtemp(tap_dir) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
	atexit(tap_rmdir);
	return tap_dir;
}

/* A path inside the scratch directory; the caller frees. */
static char *tap_path(const char *name)
{
	return xasprintf("%s/%s", tap_tmpdir(), name);
}

static inline void tap_write(const char *name, const void *data, size_t len)
{
	char *path = tap_path(name);
	if (util_write_file(path, data, len, 0600) < 0) {
		perror(path);
		exit(99);
	}
	free(path);
}

/* Runs a shell command inside the scratch directory; the exit status. */
__attribute__((format(printf, 1, 2)))
static inline int tap_sh(const char *fmt, ...)
{
	va_list ap;
	char *cmd, *full;
	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		exit(99);
	va_end(ap);
	full = xasprintf("cd '%s' && %s", tap_tmpdir(), cmd);
	int st = system(full);
	free(cmd);
	free(full);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static inline int tap_contains(const char *hay, const char *needle)
{
	return hay != NULL && strstr(hay, needle) != NULL;
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed == 0 ? 0 : 1;
}

#endif
