/* Failed-AUTH throttling (see smtp-throttle.h).  A plain list: the table
 * is small and only touched on AUTH. */
#include "smtp/smtp-throttle.h"

#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

struct throttle_entry {
	char *key;
	int64_t first;		/* first failure of the window */
	int fails;
	struct throttle_entry *next;
};

struct smtp_throttle {
	int limit;
	int window;
	struct throttle_entry *head;
	size_t n;
};

struct smtp_throttle *smtp_throttle_new(int limit, int window)
{
	struct smtp_throttle *t = xcalloc(1, sizeof(*t));
	t->limit = limit;
	t->window = window > 0 ? window : 1;
	return t;
}

static void entry_free(struct throttle_entry *e)
{
	free(e->key);
	free(e);
}

void smtp_throttle_free(struct smtp_throttle **_t)
{
	struct smtp_throttle *t = *_t;
	if (t == NULL)
		return;
	*_t = NULL;
	while (t->head != NULL) {
		struct throttle_entry *e = t->head;
		t->head = e->next;
		entry_free(e);
	}
	free(t);
}

/* Drops expired entries; when still full, the oldest one. */
static void throttle_prune(struct smtp_throttle *t, int64_t now)
{
	struct throttle_entry **pp = &t->head, **oldest = NULL;

	while (*pp != NULL) {
		struct throttle_entry *e = *pp;
		if (now - e->first >= t->window) {
			*pp = e->next;
			entry_free(e);
			t->n--;
			continue;
		}
		if (oldest == NULL || e->first < (*oldest)->first)
			oldest = pp;
		pp = &e->next;
	}
	if (t->n >= SMTP_THROTTLE_MAX && oldest != NULL) {
		struct throttle_entry *e = *oldest;
		*oldest = e->next;
		entry_free(e);
		t->n--;
	}
}

static struct throttle_entry *throttle_find(struct smtp_throttle *t,
					    const char *key, int64_t now)
{
	for (struct throttle_entry **pp = &t->head; *pp != NULL;
	     pp = &(*pp)->next) {
		struct throttle_entry *e = *pp;
		if (strcmp(e->key, key) != 0)
			continue;
		if (now - e->first >= t->window) {
			*pp = e->next;
			entry_free(e);
			t->n--;
			return NULL;
		}
		return e;
	}
	return NULL;
}

int smtp_throttle_blocked(struct smtp_throttle *t, const char *key,
			  int64_t now)
{
	if (t->limit <= 0)
		return 0;
	struct throttle_entry *e = throttle_find(t, key, now);
	return e != NULL && e->fails >= t->limit;
}

int smtp_throttle_fail(struct smtp_throttle *t, const char *key, int64_t now)
{
	struct throttle_entry *e = throttle_find(t, key, now);

	if (e == NULL) {
		if (t->n >= SMTP_THROTTLE_MAX)
			throttle_prune(t, now);
		e = xcalloc(1, sizeof(*e));
		e->key = xstrdup(key);
		e->first = now;
		e->next = t->head;
		t->head = e;
		t->n++;
	}
	return ++e->fails;
}

void smtp_throttle_clear(struct smtp_throttle *t, const char *key)
{
	for (struct throttle_entry **pp = &t->head; *pp != NULL;
	     pp = &(*pp)->next) {
		if (strcmp((*pp)->key, key) == 0) {
			struct throttle_entry *e = *pp;
			*pp = e->next;
			entry_free(e);
			t->n--;
			return;
		}
	}
}

int smtp_throttle_wait(struct smtp_throttle *t, const char *key, int64_t now)
{
	if (!smtp_throttle_blocked(t, key, now))
		return 0;
	struct throttle_entry *e = throttle_find(t, key, now);
	return e == NULL ? 0 : (int)(e->first + t->window - now);
}

size_t smtp_throttle_count(const struct smtp_throttle *t)
{
	return t->n;
}
