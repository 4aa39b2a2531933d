/* edomailctl api token|tokens|revoke: bearer tokens of the operator API
 * (doc/operator-api.md).  A token acts as one organization's box; it is
 * printed once and only its SHA-256 is kept. */
#include "ctl/ctl.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opapi/opapi.h"
#include "store/store.h"

int ctl_cmd_api_token(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "label", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	const char *label = NULL;
	struct store_org o;
	char token[65];
	long long id;
	int c;

	ctl_getopt_reset();
	while ((c = getopt_long(argc, argv, "l:", opts, NULL)) != -1) {
		if (c != 'l')
			return ctl_usage("api token");
		label = optarg;
	}
	if (optind + 1 != argc)
		return ctl_usage("api token");
	if (ctl_find_org(ctl, argv[optind], &o) < 0)
		return CTL_EXIT_ERROR;
	if (opapi_token_new(ctl->store, o.box_id, label, token, &id) < 0) {
		store_org_clear(&o);
		return ctl_error("ключ не сохранён / token not stored");
	}
	/* The token alone on stdout, so that scripts can take it. */
	printf("%s\n", token);
	fprintf(stderr, "Ключ %lld для %s (%s): сохраните его, повторно он не "
		"показывается / token %lld for %s (%s): keep it, it is not shown "
		"again\n", id, o.name, o.box_id, id, o.name, o.box_id);
	store_org_clear(&o);
	return CTL_EXIT_OK;
}

static int ctl_api_print(const struct store_api_token *t, void *ctx)
{
	char when[32];

	(void)ctx;
	ctl_format_time(t->created, when);
	printf("%-6" PRId64 " %-20s %-17s %-9s %s\n", t->id, t->box_id, when,
	       t->revoked ? "отозван" : "действует", t->label);
	return 0;
}

int ctl_cmd_api_tokens(struct ctl *ctl, int argc, char **argv)
{
	struct store_org o;
	int ret;

	if (ctl_positional(argc, argv, 0, 1) < 0)
		return ctl_usage("api tokens");
	memset(&o, 0, sizeof(o));
	if (optind < argc && ctl_find_org(ctl, argv[optind], &o) < 0)
		return CTL_EXIT_ERROR;
	printf("%-6s %-20s %-17s %-9s %s\n", "ID", "BOX", "CREATED", "STATE",
	       "LABEL");
	ret = store_api_token_list(ctl->store, o.box_id, ctl_api_print, NULL);
	store_org_clear(&o);
	return ret == STORE_OK ? CTL_EXIT_OK : ctl_store_error(ret, "api tokens");
}

int ctl_cmd_api_revoke(struct ctl *ctl, int argc, char **argv)
{
	char *end;
	long long id;
	int ret;

	if (ctl_positional(argc, argv, 1, 1) < 0)
		return ctl_usage("api revoke");
	errno = 0;
	id = strtoll(argv[optind], &end, 10);
	if (errno != 0 || *end != '\0' || id <= 0)
		return ctl_usage("api revoke");
	ret = store_api_token_revoke(ctl->store, id);
	if (ret == STORE_ERR_NOTFOUND)
		return ctl_error("ключа %lld нет или он уже отозван / no token %lld "
				 "or already revoked", id, id);
	if (ret != STORE_OK)
		return ctl_store_error(ret, "api revoke");
	printf("Ключ %lld отозван / token %lld revoked\n", id, id);
	return CTL_EXIT_OK;
}
