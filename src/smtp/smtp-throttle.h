#ifndef SMTP_SMTP_THROTTLE_H
#define SMTP_SMTP_THROTTLE_H
/* Failed-AUTH throttling per key ("address login"): after `limit` failures
 * within `window` seconds the key is refused until the window has passed
 * since its first failure.  Bounded: at most SMTP_THROTTLE_MAX keys, the
 * oldest forgotten first. */
#include <stddef.h>
#include <stdint.h>

#define SMTP_THROTTLE_MAX 4096

struct smtp_throttle;

struct smtp_throttle *smtp_throttle_new(int limit, int window);
void smtp_throttle_free(struct smtp_throttle **t);
/* 1 when the key has reached the limit. */
int smtp_throttle_blocked(struct smtp_throttle *t, const char *key,
			  int64_t now);
/* Counts one failure; returns the failures within the window. */
int smtp_throttle_fail(struct smtp_throttle *t, const char *key, int64_t now);
void smtp_throttle_clear(struct smtp_throttle *t, const char *key);
/* Keys remembered now (never more than SMTP_THROTTLE_MAX). */
size_t smtp_throttle_count(const struct smtp_throttle *t);
/* Seconds until the key is allowed again (0 when it is). */
int smtp_throttle_wait(struct smtp_throttle *t, const char *key, int64_t now);

#endif
