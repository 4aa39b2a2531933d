#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static const char *log_ident = "edomail";
static enum log_level log_min = LOG_LVL_INFO;
static FILE *log_fp;
static char *log_path;		/* of log_fp, for log_reopen */
static int log_journal;		/* stderr is the journal: "<N>" prefixes */
static int log_syslog_fd = -1;	/* >= 0: lines go to syslog */
static struct sockaddr_un log_syslog_addr;
static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;

/* syslog priorities of our levels, for syslog and the journal. */
static const int log_priority[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR };

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
	/* 0600 whatever the umask: lines name logins and addresses. */
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	FILE *fp = fd >= 0 ? fdopen(fd, "a") : NULL;
	if (fp == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setvbuf(fp, NULL, _IOLBF, 0);
	pthread_mutex_lock(&log_mutex);
	if (log_fp != NULL)
		fclose(log_fp);
	log_fp = fp;
	if (log_path != path) {
		free(log_path);
		log_path = strdup(path);
	}
	pthread_mutex_unlock(&log_mutex);
	return 0;
}

int log_reopen(void)
{
	return log_path != NULL ? log_set_file(log_path) : 0;
}

void log_set_syslog(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(log_syslog_addr.sun_path)) {
		if (fd >= 0)
			close(fd);
		return;
	}
	memset(&log_syslog_addr, 0, sizeof(log_syslog_addr));
	log_syslog_addr.sun_family = AF_UNIX;
	memcpy(log_syslog_addr.sun_path, path, strlen(path) + 1);
	pthread_mutex_lock(&log_mutex);
	if (log_syslog_fd >= 0)
		close(log_syslog_fd);
	log_syslog_fd = fd;
	pthread_mutex_unlock(&log_mutex);
}

int log_detect_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	log_journal = js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
		      fstat(STDERR_FILENO, &st) == 0 &&
		      (unsigned long long)st.st_dev == dev &&
		      (unsigned long long)st.st_ino == ino;
	return log_journal;
}

/* One RFC 3164 datagram, as glibc's syslog(3) sends it: unconnected, so
 * that a restarted syslog daemon gets the next line.  Called locked. */
static void log_send_syslog(enum log_level lvl, const char *msg)
{
	char buf[8192], tbuf[32];
	struct tm tm;
	time_t now = time(NULL);

	localtime_r(&now, &tm);
	strftime(tbuf, sizeof(tbuf), "%b %e %H:%M:%S", &tm);
	int n = snprintf(buf, sizeof(buf), "<%d>%s %s[%d]: %s",
			 LOG_DAEMON | log_priority[lvl], tbuf, log_ident,
			 (int)getpid(), msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	(void)sendto(log_syslog_fd, buf, (size_t)n, MSG_NOSIGNAL,
		     (struct sockaddr *)&log_syslog_addr, sizeof(log_syslog_addr));
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
	pthread_mutex_lock(&log_mutex);
	if (log_syslog_fd >= 0 && log_fp == NULL) {
		char msg[8000];
		int n = vsnprintf(msg, sizeof(msg), fmt, ap);
		if (with_errno && n >= 0 && (size_t)n < sizeof(msg))
			snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s",
				 strerror(saved));
		log_send_syslog(lvl, msg);
		pthread_mutex_unlock(&log_mutex);
		errno = saved;
		return;
	}
	FILE *fp = log_fp != NULL ? log_fp : stderr;
	if (fp == stderr && log_journal) {
		/* journald reads the priority; it stamps the time itself. */
		fprintf(fp, "<%d>%s[%s] ", log_priority[lvl], log_ident,
			names[lvl]);
	} else {
		now = time(NULL);
		gmtime_r(&now, &tm);
		strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(fp, "%s %s[%s] ", tbuf, log_ident, names[lvl]);
	}
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
