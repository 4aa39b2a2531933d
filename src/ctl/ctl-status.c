/* edomailctl status: what this node holds, in one screen. */
#include "ctl/ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <edomail/core.h>

#include "core/core-local.h"
#include "lib/util.h"
#include "operator/operator.h"

static int ctl_count_event(const struct core_event *ev, void *ctx)
{
	size_t *n = ctx;

	(void)ev;
	(*n)++;
	return 0;
}

static void ctl_status_orgs(struct ctl *ctl, struct core *core)
{
	struct core_error err = { 0 };
	struct store_membership *ms;
	struct store_org *orgs;
	size_t n, nm, i, events;

	if (store_org_list(ctl->store, &orgs, &n) != STORE_OK)
		return;
	printf("Organizations: %zu\n", n);
	for (i = 0; i < n; i++) {
		nm = 0;
		if (store_member_list_box(ctl->store, orgs[i].box_id, &ms, &nm) == STORE_OK)
			store_member_list_free(ms, nm);
		events = 0;
		if (core_poll_events(core, orgs[i].box_id, NULL, 0, ctl_count_event,
				     &events, &err) < 0)
			printf("  %s %s: %s\n", orgs[i].box_id, orgs[i].inn, err.msg);
		else
			printf("  %-36s %-12s members %-3zu events %-6zu %s%s\n",
			       orgs[i].box_id, orgs[i].inn, nm, events, orgs[i].name,
			       orgs[i].test_mode ? " (тестовый / test)" : "");
	}
	store_org_list_free(orgs, n);
}

static void ctl_status_users(struct ctl *ctl)
{
	struct store_user *users;
	size_t n, i, blocked = 0;

	if (store_user_list(ctl->store, &users, &n) != STORE_OK)
		return;
	for (i = 0; i < n; i++) {
		if (users[i].status != STORE_ACTIVE)
			blocked++;
	}
	printf("Users: %zu (Активен %zu, Заблокирован %zu)\n", n, n - blocked,
	       blocked);
	store_user_list_free(users, n);
}

static void ctl_status_certs(struct ctl *ctl)
{
	size_t count[3] = { 0, 0, 0 };
	struct store_cert *cs;
	int64_t now = util_now();
	size_t n, i;

	if (store_cert_list_all(ctl->store, -1, &cs, &n) != STORE_OK)
		return;
	for (i = 0; i < n; i++)
		count[crypto_cert_status(cs[i].not_before, cs[i].not_after, now)]++;
	printf("Certificates: %zu (%s %zu, %s %zu, %s %zu)\n", n,
	       crypto_cert_status_name(CRYPTO_CERT_ACTIVE), count[CRYPTO_CERT_ACTIVE],
	       crypto_cert_status_name(CRYPTO_CERT_EXPIRING),
	       count[CRYPTO_CERT_EXPIRING],
	       crypto_cert_status_name(CRYPTO_CERT_INVALID),
	       count[CRYPTO_CERT_INVALID]);
	store_cert_list_free(cs, n);
}

/* The roaming queue towards each peer (doc/roaming.md): what waits,
 * since when, what a peer refused for good, and why. */
static void ctl_status_roaming(struct core *core)
{
	struct operator *op = core_local_operator(core);
	struct operator_roam_status *st;
	int64_t now = util_now();
	size_t n, i;

	if (op == NULL || operator_roam_status(op, &st, &n) < 0 || n == 0)
		return;
	printf("Roaming: %zu\n", n);
	for (i = 0; i < n; i++) {
		printf("  %s: ожидают / pending %lld", st[i].peer,
		       (long long)st[i].pending);
		if (st[i].pending > 0)
			printf(" (старейшее / oldest %lld s)",
			       (long long)(now - st[i].oldest));
		printf(", отклонены / refused %lld\n",
		       (long long)st[i].refused);
		if (st[i].last_error[0] != '\0')
			printf("    %s\n", st[i].last_error);
	}
	free(st);
}

int ctl_cmd_status(struct ctl *ctl, int argc, char **argv)
{
	struct core *core;

	if (ctl_positional(argc, argv, 0, 0) < 0)
		return ctl_usage("status");
	if (ctl_core(ctl, &core) < 0)
		return CTL_EXIT_ERROR;
	printf("edomail %s\n", EDOMAIL_VERSION);
	printf("Configuration: %s\n", ctl->set.config_path);
	printf("Database: %s (schema %d)\n", ctl->set.store_path,
	       store_schema_version(ctl->store));
	printf("Domain: %s\n", ctl->set.domain);
	printf("Operator: %s, prefix %s\n", ctl->set.operator_driver,
	       ctl->set.operator_prefix);
	ctl_status_orgs(ctl, core);
	ctl_status_users(ctl);
	ctl_status_certs(ctl);
	ctl_status_roaming(core);
	return CTL_EXIT_OK;
}
