/* Failed-login limits (mailbox-authlimit.c, issue 12 items 1-3), password
 * changes that end sessions and the upgrade of old password hashes
 * (mailbox-login.c, item 4). */
#include "mb-test.h"

#include <unistd.h>

static struct settings set;
static struct store *store;
static struct core *core;
static struct mailbox_env *env;

/* The gate with take; the slot (if any) in *slot. */
static enum mailbox_auth_gate gate(const char *addr, const char *login,
				   struct mailbox_auth_slot **slot)
{
	int64_t wait;

	return mailbox_auth_gate(env, addr, login, 1, slot, &wait);
}

/* Many attempts at once from one address: only one runs, and never more
 * than the limit are let through, however they interleave. */
static void test_one_at_a_time(void)
{
	struct mailbox_auth_slot *slots[200];
	int go = 0, wait = 0, throttled = 0, checked = 0;

	for (int round = 0; round < 20; round++) {
		go = wait = 0;
		for (int i = 0; i < 200; i++) {
			enum mailbox_auth_gate g = gate("10.0.0.1", "victim1", &slots[i]);

			go += g == MAILBOX_AUTH_GO;
			wait += g == MAILBOX_AUTH_WAIT;
			throttled += g == MAILBOX_AUTH_THROTTLED;
		}
		ok(go <= 1, "round %d: at most one check runs (%d)", round, go);
		for (int i = 0; i < 200; i++) {
			if (slots[i] != NULL) {
				checked++;
				mailbox_auth_end(env, &slots[i], MAILBOX_AUTH_FAILED);
			}
		}
		if (go == 0 && wait == 0)
			break;
		usleep(20000);
	}
	ok(checked == set.auth_fail_limit, "200 at once: %d checked (limit %d)",
	   checked, set.auth_fail_limit);
	ok(throttled > 0, "then throttled");
}

/* Every spelling of the account is one counter. */
static void test_spellings(void)
{
	static const char *spellings[] = {
		"Victim2", "VICTIM2", "victim2@edo.local", "victim2+7701234567",
		"ViCtIm2+7701234567.770101001",
	};
	struct mailbox_auth_slot *slot;
	int checked = 0;

	for (int i = 0; i < 20; i++) {
		enum mailbox_auth_gate g =
			gate("10.0.0.2", spellings[i % 5], &slot);

		if (g == MAILBOX_AUTH_GO) {
			checked++;
			mailbox_auth_end(env, &slot, MAILBOX_AUTH_FAILED);
		} else if (g == MAILBOX_AUTH_WAIT) {
			usleep(300000);
		}
	}
	ok(checked == set.auth_fail_limit, "5 spellings: %d checked (limit %d)",
	   checked, set.auth_fail_limit);
	ok(gate("10.0.0.2", "VicTim2@EDO.LOCAL", &slot) == MAILBOX_AUTH_THROTTLED,
	   "another spelling is throttled too");
	ok(gate("10.0.0.3", "victim2", &slot) != MAILBOX_AUTH_THROTTLED,
	   "another address is not");
	mailbox_auth_end(env, &slot, MAILBOX_AUTH_TEMP);
}

/* Guessers on many addresses slow the account down but a clean address
 * gets its check first and within the cap. */
static void test_clean_address_first(void)
{
	struct mailbox_auth_slot *slot = NULL, *dirty = NULL;
	char addr[32];
	int64_t wait = 0, t0;
	int fails = 0;

	/* 8 failures from 4 addresses (2 each, under the pair limit): the
	 * account's delay is 2 s now */
	for (int i = 0; fails < 8 && i < 200; i++) {
		snprintf(addr, sizeof(addr), "10.1.0.%d", fails % 4);
		if (gate(addr, "victim3", &slot) == MAILBOX_AUTH_GO) {
			mailbox_auth_end(env, &slot, MAILBOX_AUTH_FAILED);
			fails++;
		} else {
			usleep(50000);
		}
	}
	ok(fails == 8, "8 failures counted");
	ok(mailbox_auth_gate(env, "10.1.0.1", "victim3", 1, &slot, &wait) ==
	   MAILBOX_AUTH_WAIT, "the account is slowed down");
	/* the clean address asks: from now the account waits for it */
	t0 = util_mono_ms();
	while (gate("10.2.0.1", "victim3", &slot) != MAILBOX_AUTH_GO) {
		ok(gate("10.1.0.2", "victim3", &dirty) != MAILBOX_AUTH_GO,
		   "a guesser does not go before the clean address");
		mailbox_auth_end(env, &dirty, MAILBOX_AUTH_FAILED);
		usleep(50000);
	}
	ok(util_mono_ms() - t0 <= 5000 + 200, "clean address waited %lld ms "
	   "(cap 5000)", (long long)(util_mono_ms() - t0));
	mailbox_auth_end(env, &slot, MAILBOX_AUTH_OK);
}

/* A success forgives the address its own failures with that account. */
static void test_success_forgives(void)
{
	struct mailbox_auth_slot *slot;

	for (int i = 0; i < set.auth_fail_limit - 1; i++) {
		ok(gate("10.3.0.1", "victim4", &slot) == MAILBOX_AUTH_GO, "try %d", i);
		mailbox_auth_end(env, &slot, MAILBOX_AUTH_FAILED);
		usleep(300000);		/* the account's delay after failures */
	}
	ok(gate("10.3.0.1", "victim4", &slot) == MAILBOX_AUTH_GO, "right one");
	mailbox_auth_end(env, &slot, MAILBOX_AUTH_OK);
	for (int i = 0; i < set.auth_fail_limit - 1; i++) {
		ok(gate("10.3.0.1", "victim4", &slot) == MAILBOX_AUTH_GO,
		   "after the success, try %d", i);
		mailbox_auth_end(env, &slot, MAILBOX_AUTH_FAILED);
		usleep(300000);
	}
}

int main(void)
{
	unsigned char nk[CRYPTO_NODE_KEY_LEN];

	mbt_settings(&set, "ru");
	free(set.domain);
	set.domain = xstrdup("edo.local");
	set.auth_fail_limit = 5;
	mbt_edo_open(&set, &store, &core, &env, nk);
	test_one_at_a_time();
	test_spellings();
	test_clean_address_first();
	test_success_forgives();
	mbt_edo_close(&set, &store, &core, &env);
	return mbt_done();
}
