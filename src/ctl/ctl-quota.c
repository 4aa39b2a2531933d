/* edomailctl user quota LOGIN [SIZE|default|none]: the storage quota of one
 * user (doc/imap.md, "Quota"; the default is limits.quota_storage). */
#include "ctl/ctl.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "store/store.h"

/* "default" → -1, "none" → 0, "500M", "2G", "1024K", "1048576" → bytes. */
static int ctl_quota_parse(const char *s, int64_t *quota_r)
{
	char *end;
	unsigned long long v;

	if (strcmp(s, "default") == 0) {
		*quota_r = -1;
		return 0;
	}
	if (strcmp(s, "none") == 0) {
		*quota_r = 0;
		return 0;
	}
	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	case 'T': case 't': v <<= 40; end++; break;
	}
	if (*end != '\0' || v > (unsigned long long)INT64_MAX / 2)
		return -1;
	*quota_r = (int64_t)v;
	return 0;
}

static void ctl_quota_print(struct ctl *ctl, const struct store_user *u)
{
	int64_t q = -1;
	uint64_t used = 0, limit;

	(void)store_user_quota_get(ctl->store, u->id, &q);
	(void)store_user_usage(ctl->store, u->id, &used);
	limit = q >= 0 ? (uint64_t)q : (uint64_t)ctl->set.quota_storage;
	printf("%s: занято / used %" PRIu64 " KB, квота / quota ", u->login,
	       (used + 1023) / 1024);
	if (limit == 0)
		printf("нет / none");
	else
		printf("%" PRIu64 " KB", limit / 1024);
	printf("%s\n", q < 0 ? " (по умолчанию / default)" : "");
}

int ctl_cmd_user_quota(struct ctl *ctl, int argc, char **argv)
{
	struct store_user u;
	int64_t quota = 0;
	int ret = STORE_OK;

	if (ctl_positional(argc, argv, 1, 2) < 0)
		return ctl_usage("user quota");
	if (argc - optind == 2 && ctl_quota_parse(argv[optind + 1], &quota) < 0) {
		fprintf(stderr, "edomailctl: неверный размер «%s» (например 500M, "
			"2G, default, none) / invalid size '%s' (e.g. 500M, 2G, "
			"default, none)\n", argv[optind + 1], argv[optind + 1]);
		return CTL_EXIT_USAGE;
	}
	if (ctl_find_user(ctl, argv[optind], &u) < 0)
		return CTL_EXIT_ERROR;
	if (argc - optind == 2)
		ret = store_user_quota_set(ctl->store, u.id, quota);
	if (ret == STORE_OK)
		ctl_quota_print(ctl, &u);
	store_user_clear(&u);
	return ret == STORE_OK ? CTL_EXIT_OK : ctl_store_error(ret, "user quota");
}
