/* The operator's shelf (Diadoc's "полка документов", /V2/ShelfUpload): a
 * document's bytes uploaded as they are, then named in PostMessage's
 * Content.NameOnShelf instead of base64 inside the JSON.  Parsing and
 * writing a 137 KB base64 string through jansson cost more than signing
 * the letter (doc/bench.md, issue 15); raw bytes cost a copy.
 *
 * The shelf lives in memory only: what is on it is a document on its way
 * (possibly a decrypted one), never written to disk; a restart empties
 * it and the client uploads again (Shelf.NotFound).  Each item belongs to
 * the box whose token uploaded it and is found only by that box; names
 * are random UUIDs, never reused.  Bounded by size per item, per box and
 * in all, and by age. */
#include "opapi/opapi-private.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

struct opapi_shelf_item {
	char name[OPAPI_SHELF_NAME];
	char box[CORE_ID_MAX];
	unsigned char *data;
	size_t len;
	int64_t at_ms;
};

struct opapi_shelf {
	pthread_mutex_t lock;
	struct opapi_shelf_item *items;
	size_t n, cap;
	size_t total;			/* bytes of all items */
};

struct opapi_shelf *opapi_shelf_new(void)
{
	struct opapi_shelf *s = xcalloc(1, sizeof(*s));

	pthread_mutex_init(&s->lock, NULL);
	return s;
}

static void opapi_shelf_remove(struct opapi_shelf *s, size_t i)
{
	s->total -= s->items[i].len;
	free(s->items[i].data);
	s->items[i] = s->items[--s->n];
}

void opapi_shelf_free(struct opapi_shelf **sp)
{
	struct opapi_shelf *s = *sp;

	if (s == NULL)
		return;
	while (s->n > 0)
		opapi_shelf_remove(s, s->n - 1);
	free(s->items);
	pthread_mutex_destroy(&s->lock);
	free(s);
	*sp = NULL;
}

/* Items older than the TTL go (uploaded, never posted). */
static void opapi_shelf_expire(struct opapi_shelf *s, int64_t now)
{
	for (size_t i = 0; i < s->n;)
		if (now - s->items[i].at_ms >= OPAPI_SHELF_TTL_MS)
			opapi_shelf_remove(s, i);
		else
			i++;
}

static size_t opapi_shelf_box_bytes(const struct opapi_shelf *s,
				    const char *box, size_t *count_r)
{
	size_t bytes = 0;

	*count_r = 0;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->items[i].box, box) == 0) {
			bytes += s->items[i].len;
			(*count_r)++;
		}
	return bytes;
}

int opapi_shelf_put(struct opapi_shelf *s, const char *box,
		    const unsigned char *data, size_t len, const char *ext,
		    char name_r[OPAPI_SHELF_NAME])
{
	struct opapi_shelf_item *it;
	size_t count, mine;
	char uuid[CORE_UUID_LEN];

	if (len > OPAPI_SHELF_MAX_DOC)
		return OPAPI_SHELF_TOO_BIG;
	pthread_mutex_lock(&s->lock);
	opapi_shelf_expire(s, util_mono_ms());
	mine = opapi_shelf_box_bytes(s, box, &count);
	if (s->total + len > OPAPI_SHELF_MAX_TOTAL ||
	    mine + len > OPAPI_SHELF_MAX_BOX ||
	    count >= OPAPI_SHELF_MAX_ITEMS) {
		pthread_mutex_unlock(&s->lock);
		return OPAPI_SHELF_FULL;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->items = xrealloc(s->items, s->cap * sizeof(*s->items));
	}
	it = &s->items[s->n++];
	memset(it, 0, sizeof(*it));
	util_uuid(uuid);
	snprintf(it->name, sizeof(it->name), "%s%s", uuid,
		 ext != NULL ? ext : "");
	snprintf(it->box, sizeof(it->box), "%s", box);
	it->data = xmalloc(len > 0 ? len : 1);
	if (len > 0)
		memcpy(it->data, data, len);
	it->len = len;
	it->at_ms = util_mono_ms();
	s->total += len;
	memcpy(name_r, it->name, sizeof(it->name));
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static long opapi_shelf_find(const struct opapi_shelf *s, const char *box,
			     const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->items[i].name, name) == 0 &&
		    strcmp(s->items[i].box, box) == 0)
			return (long)i;
	return -1;
}

int opapi_shelf_get(struct opapi_shelf *s, const char *box, const char *name,
		    unsigned char **data_r, size_t *len_r)
{
	long i;

	pthread_mutex_lock(&s->lock);
	opapi_shelf_expire(s, util_mono_ms());
	i = opapi_shelf_find(s, box, name);
	if (i >= 0) {
		*len_r = s->items[i].len;
		*data_r = xmalloc(*len_r > 0 ? *len_r : 1);
		if (*len_r > 0)
			memcpy(*data_r, s->items[i].data, *len_r);
	}
	pthread_mutex_unlock(&s->lock);
	return i >= 0 ? 0 : -1;
}

void opapi_shelf_drop(struct opapi_shelf *s, const char *box,
		      const char *name)
{
	long i;

	pthread_mutex_lock(&s->lock);
	i = opapi_shelf_find(s, box, name);
	if (i >= 0)
		opapi_shelf_remove(s, (size_t)i);
	pthread_mutex_unlock(&s->lock);
}
