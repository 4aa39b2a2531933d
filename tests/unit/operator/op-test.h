#ifndef TESTS_UNIT_OPERATOR_OP_TEST_H
#define TESTS_UNIT_OPERATOR_OP_TEST_H
/* TAP output, a scratch directory and test settings for the operator and
 * core tests (tests/unit/operator, tests/unit/core). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "lib/log.h"
#include "lib/util.h"

static int op_t_count, op_t_failed;
static char op_t_dir[64];

__attribute__((format(printf, 4, 5)))
static int op_t_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	op_t_count++;
	printf("%sok %d - ", cond ? "" : "not ", op_t_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond) {
		op_t_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return cond;
}
#define ok(cond, ...) op_t_ok((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

/* An error class and text check in one line. */
#define ok_err(ret, err, want_cls, want_text, what) \
	ok((ret) < 0 && (err).cls == (want_cls) && \
	   op_t_text_is((err).msg, (want_text)), \
	   "%s: class %d \"%s\"", (what), (int)(err).cls, (err).msg)

/* A fresh client operation id for calls that are not about retries
 * (the next 8 calls each get their own buffer). */
static __attribute__((unused)) const char *op_t_opid(void)
{
	static char ids[8][37];
	static unsigned next;

	util_uuid(ids[next % 8]);
	return ids[next++ % 8];
}

/* want NULL: any text will do. */
static inline int op_t_text_is(const char *got, const char *want)
{
	return want == NULL || strcmp(got, want) == 0;
}

static void op_t_rmdir(void)
{
	char cmd[128];

	if (op_t_dir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", op_t_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", op_t_dir);
	op_t_dir[0] = '\0';
}

static const char *op_t_tmpdir(void)
{
	if (op_t_dir[0] != '\0')
		return op_t_dir;
	snprintf(op_t_dir, sizeof(op_t_dir), "/tmp/edomail-op-XXXXXX");
	if (mkdtemp(op_t_dir) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
	return op_t_dir;
}

static inline void op_t_set_path(char **field, const char *name)
{
	free(*field);
	*field = xasprintf("%s/%s", op_t_tmpdir(), name);
}

/* Defaults with every file in the scratch directory. */
static inline void op_t_settings(struct settings *set)
{
	settings_defaults(set);
	op_t_set_path(&set->store_path, "edomail.db");
	op_t_set_path(&set->operator_dir, "operator");
	op_t_set_path(&set->node_key_path, "node.key");
	set->invitation_max_text = 100;
}

static int op_t_done(void)
{
	printf("1..%d\n", op_t_count);
	op_t_rmdir();
	return op_t_failed == 0 ? 0 : 1;
}

#endif
