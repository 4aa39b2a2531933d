#ifndef LIB_LOG_H
#define LIB_LOG_H
/* Logging: one line per event to stderr (or a file), with level and module.
 * log_warn appends strerror(errno); log_warnx does not (OpenSMTPD habit). */
#include <stdarg.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

void log_init(const char *ident, enum log_level min_level);
void log_set_level(enum log_level min_level);
int log_set_file(const char *path);
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For states that cannot happen: logs and aborts. */
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
