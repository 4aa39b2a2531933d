#ifndef LIB_LOG_H
#define LIB_LOG_H
/* Logging: one line per event, with its level, to one sink: standard error
 * (the default; with syslog priority prefixes when it is the journal), a
 * file, or syslog (RFC 3164 datagrams, facility daemon).
 * log_warn appends strerror(errno); log_warnx does not (OpenSMTPD habit). */
#include <stdarg.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

void log_init(const char *ident, enum log_level min_level);
void log_set_level(enum log_level min_level);
int log_set_file(const char *path);
/* Reopens the file of log_set_file (after logrotate moved it); 0 when
 * there is none. */
int log_reopen(void);
/* From now on, lines go to syslog through the Unix datagram socket at
 * path (usually /dev/log).  A missing socket drops lines until it is
 * there again. */
void log_set_syslog(const char *path);
/* When standard error is the journal (systemd's JOURNAL_STREAM names its
 * device and inode), lines on it start with their syslog priority "<N>"
 * and carry no time stamp.  Returns 1 when it is. */
int log_detect_journal(void);
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For states that cannot happen: logs and aborts. */
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
