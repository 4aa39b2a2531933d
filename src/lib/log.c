#include "lib/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *log_ident = "edomail";
static enum log_level log_min = LOG_LVL_INFO;
static FILE *log_fp;
static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;

void log_init(const char *ident, enum log_level min_level)
{
	log_ident = ident;
	log_min = min_level;
}

void log_set_level(enum log_level min_level)
{
	log_min = min_level;
}

int log_set_file(const char *path)
{
	FILE *fp = fopen(path, "a");
	if (fp == NULL)
		return -1;
	setvbuf(fp, NULL, _IOLBF, 0);
	log_fp = fp;
	return 0;
}

static void log_vwrite(enum log_level lvl, int with_errno, const char *fmt,
		       va_list ap) __attribute__((format(printf, 3, 0)));

static void log_vwrite(enum log_level lvl, int with_errno, const char *fmt,
		       va_list ap)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	int saved = errno;
	char tbuf[32];
	struct tm tm;
	time_t now;

	if (lvl < log_min)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	pthread_mutex_lock(&log_mutex);
	FILE *fp = log_fp != NULL ? log_fp : stderr;
	fprintf(fp, "%s %s[%s] ", tbuf, log_ident, names[lvl]);
	vfprintf(fp, fmt, ap);
	if (with_errno)
		fprintf(fp, ": %s", strerror(saved));
	fputc('\n', fp);
	fflush(fp);
	pthread_mutex_unlock(&log_mutex);
	errno = saved;
}

#define LOG_FN(name, lvl, with_errno)                                          \
	void name(const char *fmt, ...)                                        \
	{                                                                      \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		log_vwrite(lvl, with_errno, fmt, ap);                          \
		va_end(ap);                                                    \
	}

LOG_FN(log_debug, LOG_LVL_DEBUG, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_error, LOG_LVL_ERROR, 0)

void fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	abort();
}
