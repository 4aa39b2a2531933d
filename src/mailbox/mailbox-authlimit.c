/* Failed-login limits shared by IMAP and SMTP (issue 12, doc/robustness.md
 * "Logins under attack").  The front-ends ask mailbox_auth_gate before a
 * password check and tell mailbox_auth_end how it went.
 *
 * Three counters, each within limits.auth_fail_window seconds of its first
 * failure, keyed by the account as the store resolves it (the login
 * without "@domain" and "+ИНН", ASCII case folded as COLLATE NOCASE does)
 * and by the client address:
 *   pair (address, account)  refused at auth_fail_limit;
 *   address (every account)  refused at auth_fail_limit * MB_AUTH_WIDE;
 *   account (every address)  never refused: slowed down, each check of it
 *                            starting at least a delay after the last
 *                            failed one, growing with its failures and
 *                            capped at MB_AUTH_ACCT_DELAY_MAX_MS.
 * An attempt is counted as a failure when its check is allowed to start
 * and uncounted when it succeeds, so no number of attempts sent at once
 * gets more checks than the limit.  At most one check runs per address and
 * per account; the others wait (the front-end asks again) and an address
 * with no failures goes before addresses with failures, so a guesser
 * elsewhere cannot lock the right password out.
 *
 * One lock: the gate runs on the loop, but nothing stops a front-end on
 * another thread. */
#include "mailbox/mailbox-private.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "lib/util.h"

/* The address counter stops one address trying many accounts. */
#define MB_AUTH_WIDE 4
/* The account's delay: MB_AUTH_ACCT_DELAY_MS after auth_fail_limit
 * failures, doubling with each further one, never above the cap. */
#define MB_AUTH_ACCT_DELAY_MS 250
#define MB_AUTH_ACCT_DELAY_MAX_MS 5000
/* A waiting address with no failures keeps the account's next check for
 * itself this long after each time it asks (it asks every
 * MB_AUTH_POLL_MS at most). */
#define MB_AUTH_CLEAN_HOLD_MS 500
#define MB_AUTH_POLL_MS 100
/* Bounded memory: past this many keys the idle one with the oldest
 * window goes. */
#define MB_AUTH_MAX_KEYS 20000

enum mb_auth_kind { MB_AUTH_PAIR = 'p', MB_AUTH_ADDR = 'a', MB_AUTH_ACCT = 'u' };

struct mb_auth_key {
	char *key;		/* kind, '\t', address and/or account */
	int64_t first_ms;	/* first failure of the window */
	int fails;		/* within the window, attempts running included */
	int busy;		/* a check of this address/account runs */
	int64_t next_ms;	/* account: no check before this */
	int64_t clean_ms;	/* account: held for a clean address until */
};

struct mb_auth_limit {
	pthread_mutex_t lock;
	int limit;
	int64_t window_ms;
	struct mb_auth_key **k;	/* pointers: a key stays where it is */
	size_t n;
};

struct mailbox_auth_slot {
	char *pair, *addr, *acct;
};

struct mb_auth_limit *mb_auth_limit_new(int limit, int window_secs)
{
	struct mb_auth_limit *l = xcalloc(1, sizeof(*l));

	pthread_mutex_init(&l->lock, NULL);
	l->limit = limit;
	l->window_ms = (int64_t)(window_secs > 0 ? window_secs : 300) * 1000;
	return l;
}

void mb_auth_limit_free(struct mb_auth_limit **_l)
{
	struct mb_auth_limit *l = *_l;

	if (l == NULL)
		return;
	*_l = NULL;
	for (size_t i = 0; i < l->n; i++) {
		free(l->k[i]->key);
		free(l->k[i]);
	}
	free(l->k);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* The account a login names, as the store finds it: the login without
 * "@<our domain>" and "+ИНН[.КПП]", ASCII lower case (users.login is
 * COLLATE NOCASE).  Unknown logins get a key the same way, so that they
 * are treated, and take the time, exactly as known ones. */
char *mb_auth_account(const struct mailbox_env *env, const char *login)
{
	char *user = mb_login_user(env, login);

	for (char *c = user; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	return user;
}

/* IPv6 clients get a /64 each, as providers hand out: counting single
 * addresses would let one client rotate through 2^64 of them. */
static void mb_auth_addr_norm(const char *addr, char *out, size_t size)
{
	struct in6_addr a6;

	if (strchr(addr, ':') != NULL && inet_pton(AF_INET6, addr, &a6) == 1 &&
	    !IN6_IS_ADDR_V4MAPPED(&a6)) {
		memset(a6.s6_addr + 8, 0, 8);
		if (inet_ntop(AF_INET6, &a6, out, (socklen_t)size) != NULL) {
			size_t len = strlen(out);
			snprintf(out + len, size - len, "/64");
			return;
		}
	}
	snprintf(out, size, "%s", addr);
}

/* Under the lock. */
static void mb_auth_key_drop(struct mb_auth_limit *l, size_t i)
{
	free(l->k[i]->key);
	free(l->k[i]);
	l->k[i] = l->k[--l->n];
}

static int mb_auth_key_idle(const struct mb_auth_limit *l,
			    const struct mb_auth_key *k, int64_t now)
{
	return !k->busy && now - k->first_ms >= l->window_ms &&
	       k->next_ms <= now && k->clean_ms <= now;
}

static void mb_auth_expire(struct mb_auth_limit *l, int64_t now)
{
	size_t i = 0, oldest = SIZE_MAX;

	while (i < l->n) {
		if (mb_auth_key_idle(l, l->k[i], now)) {
			mb_auth_key_drop(l, i);
			continue;
		}
		if (!l->k[i]->busy &&
		    (oldest == SIZE_MAX || l->k[i]->first_ms < l->k[oldest]->first_ms))
			oldest = i;
		i++;
	}
	/* (a gate may add three) */
	if (l->n + 3 > MB_AUTH_MAX_KEYS && oldest != SIZE_MAX)
		mb_auth_key_drop(l, oldest);
}

/* The key, its window restarted when it has passed; NULL when absent and
 * not to be created. */
static struct mb_auth_key *mb_auth_find(struct mb_auth_limit *l,
					const char *key, int create, int64_t now)
{
	struct mb_auth_key *k = NULL;

	for (size_t i = 0; i < l->n && k == NULL; i++) {
		if (strcmp(l->k[i]->key, key) == 0)
			k = l->k[i];
	}
	if (k == NULL) {
		if (!create)
			return NULL;
		l->k = xrealloc(l->k, (l->n + 1) * sizeof(*l->k));
		k = xcalloc(1, sizeof(*k));
		l->k[l->n++] = k;
		k->key = xstrdup(key);
		k->first_ms = now;
	}
	if (now - k->first_ms >= l->window_ms) {
		k->first_ms = now;
		k->fails = 0;
	}
	return k;
}

static int mb_auth_fails(struct mb_auth_limit *l, const char *key, int64_t now)
{
	struct mb_auth_key *k = mb_auth_find(l, key, 0, now);

	return k != NULL ? k->fails : 0;
}

/* Milliseconds until the key's window ends. */
static int64_t mb_auth_window_left(struct mb_auth_limit *l, const char *key,
				   int64_t now)
{
	struct mb_auth_key *k = mb_auth_find(l, key, 0, now);

	return k != NULL ? k->first_ms + l->window_ms - now : 0;
}

static int64_t mb_auth_acct_delay(const struct mb_auth_limit *l, int fails)
{
	int over = fails - l->limit;
	int64_t d = MB_AUTH_ACCT_DELAY_MS;

	if (over < 0)
		return 0;
	while (over-- > 0 && d < MB_AUTH_ACCT_DELAY_MAX_MS)
		d *= 2;
	return d < MB_AUTH_ACCT_DELAY_MAX_MS ? d : MB_AUTH_ACCT_DELAY_MAX_MS;
}

static void mb_auth_slot_free(struct mailbox_auth_slot *slot)
{
	free(slot->pair);
	free(slot->addr);
	free(slot->acct);
	free(slot);
}

static struct mailbox_auth_slot *mb_auth_slot_new(const struct mailbox_env *env,
						  const char *addr,
						  const char *login)
{
	struct mailbox_auth_slot *slot = xcalloc(1, sizeof(*slot));
	char a[UTIL_ADDR_MAX + 8];
	char *acct = mb_auth_account(env, login);

	mb_auth_addr_norm(addr, a, sizeof(a));
	slot->pair = xasprintf("%c\t%s\t%s", MB_AUTH_PAIR, a, acct);
	slot->addr = xasprintf("%c\t%s", MB_AUTH_ADDR, a);
	slot->acct = xasprintf("%c\t%s", MB_AUTH_ACCT, acct);
	free(acct);
	return slot;
}

/* Under the lock: THROTTLED (and the wait) when the address may not try
 * this account now. */
static int mb_auth_throttled(struct mb_auth_limit *l,
			     const struct mailbox_auth_slot *slot, int64_t now,
			     int64_t *wait_ms_r)
{
	if (l->limit <= 0)
		return 0;
	if (mb_auth_fails(l, slot->pair, now) >= l->limit) {
		*wait_ms_r = mb_auth_window_left(l, slot->pair, now);
		return 1;
	}
	if (mb_auth_fails(l, slot->addr, now) >= l->limit * MB_AUTH_WIDE) {
		*wait_ms_r = mb_auth_window_left(l, slot->addr, now);
		return 1;
	}
	return 0;
}

enum mailbox_auth_gate mailbox_auth_gate(struct mailbox_env *env,
					 const char *addr, const char *login,
					 int take,
					 struct mailbox_auth_slot **slot_r,
					 int64_t *wait_ms_r)
{
	struct mb_auth_limit *l = env->auth_limit;
	struct mailbox_auth_slot *slot;
	struct mb_auth_key *pk, *ak, *uk;
	int64_t now = util_mono_ms();
	enum mailbox_auth_gate ret = MAILBOX_AUTH_GO;
	int clean;

	*slot_r = NULL;
	*wait_ms_r = 0;
	if (l == NULL)
		return MAILBOX_AUTH_GO;
	slot = mb_auth_slot_new(env, addr, login);
	pthread_mutex_lock(&l->lock);
	if (mb_auth_throttled(l, slot, now, wait_ms_r)) {
		ret = MAILBOX_AUTH_THROTTLED;
		goto out;
	}
	if (!take)
		goto out;
	if (l->n + 3 > MB_AUTH_MAX_KEYS)
		mb_auth_expire(l, now);
	pk = mb_auth_find(l, slot->pair, 1, now);
	ak = mb_auth_find(l, slot->addr, 1, now);
	uk = mb_auth_find(l, slot->acct, 1, now);
	clean = pk->fails == 0 && ak->fails == 0;
	if (ak->busy) {
		ret = MAILBOX_AUTH_WAIT;
		*wait_ms_r = MB_AUTH_POLL_MS;
	} else if (uk->busy || uk->next_ms > now ||
		   (!clean && uk->clean_ms > now)) {
		ret = MAILBOX_AUTH_WAIT;
		*wait_ms_r = uk->next_ms > now ? uk->next_ms - now : 0;
		if (*wait_ms_r > MB_AUTH_POLL_MS || *wait_ms_r <= 0)
			*wait_ms_r = MB_AUTH_POLL_MS;
		if (clean)
			uk->clean_ms = now + MB_AUTH_CLEAN_HOLD_MS;
	} else {
		/* counted now, before the check: a failure unless it is
		 * taken back by mailbox_auth_end */
		pk->fails++;
		ak->fails++;
		uk->fails++;
		ak->busy = uk->busy = 1;
		if (clean)
			uk->clean_ms = 0;
		*slot_r = slot;
		slot = NULL;
	}
out:
	pthread_mutex_unlock(&l->lock);
	if (slot != NULL)
		mb_auth_slot_free(slot);
	return ret;
}

static void mb_auth_uncount(struct mb_auth_limit *l, const char *key,
			    int64_t now)
{
	struct mb_auth_key *k = mb_auth_find(l, key, 0, now);

	if (k != NULL && k->fails > 0)
		k->fails--;
}

void mailbox_auth_end(struct mailbox_env *env, struct mailbox_auth_slot **_slot,
		      enum mailbox_auth_outcome outcome)
{
	struct mailbox_auth_slot *slot = *_slot;
	struct mb_auth_limit *l = env->auth_limit;
	struct mb_auth_key *k;
	int64_t now = util_mono_ms();

	if (slot == NULL)
		return;
	*_slot = NULL;
	pthread_mutex_lock(&l->lock);
	if ((k = mb_auth_find(l, slot->addr, 0, now)) != NULL)
		k->busy = 0;
	if ((k = mb_auth_find(l, slot->acct, 0, now)) != NULL) {
		k->busy = 0;
		if (outcome == MAILBOX_AUTH_FAILED)
			k->next_ms = now + mb_auth_acct_delay(l, k->fails);
	}
	if (outcome == MAILBOX_AUTH_OK) {
		/* the address knows the password: its own mistakes with this
		 * account are forgiven, nobody else's */
		if ((k = mb_auth_find(l, slot->pair, 0, now)) != NULL) {
			int mine = k->fails;

			k->fails = 0;
			for (int i = 0; i < mine; i++) {
				mb_auth_uncount(l, slot->addr, now);
				mb_auth_uncount(l, slot->acct, now);
			}
		}
	} else if (outcome == MAILBOX_AUTH_TEMP) {
		mb_auth_uncount(l, slot->pair, now);
		mb_auth_uncount(l, slot->addr, now);
		mb_auth_uncount(l, slot->acct, now);
	}
	pthread_mutex_unlock(&l->lock);
	mb_auth_slot_free(slot);
}
