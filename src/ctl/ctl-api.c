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

#include <openssl/crypto.h>

#include <edomail/core.h>
#include "opapi/opapi.h"
#include "store/store.h"

/* A token for a peer operator (doc/roaming.md): it opens only the
 * /V1/Roaming/ calls, as the box "roaming:PREFIX". */
static int ctl_api_roaming_token(struct ctl *ctl, const char *prefix,
				 const char *label)
{
	char token[65], box[32];
	long long id;
	size_t i;

	for (i = 0; prefix[i] != '\0'; i++)
		if (!((prefix[i] >= '0' && prefix[i] <= '9') ||
		      (prefix[i] >= 'A' && prefix[i] <= 'Z') ||
		      (prefix[i] >= 'a' && prefix[i] <= 'z')))
			break;
	if (i != 3 || prefix[i] != '\0')
		return ctl_error("префикс оператора — 3 символа [0-9A-Za-z] / "
				 "an operator prefix is 3 characters [0-9A-Za-z]");
	snprintf(box, sizeof(box), "roaming:%s", prefix);
	if (opapi_token_new(ctl->store, box, label, token, &id) < 0)
		return ctl_error("ключ не сохранён / token not stored");
	printf("%s\n", token);
	fprintf(stderr, "Ключ роуминга %lld для оператора %s: сохраните его, "
		"повторно он не показывается / roaming token %lld for operator "
		"%s: keep it, it is not shown again\n", id, prefix, id, prefix);
	return CTL_EXIT_OK;
}

int ctl_cmd_api_token(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "label", required_argument, NULL, 'l' },
		{ "roaming", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *label = NULL;
	struct store_org o;
	char token[65];
	long long id;
	int c, roaming = 0;

	ctl_getopt_reset();
	while ((c = getopt_long(argc, argv, "l:r", opts, NULL)) != -1) {
		if (c == 'r')
			roaming = 1;
		else if (c == 'l')
			label = optarg;
		else
			return ctl_usage("api token");
	}
	if (optind + 1 != argc)
		return ctl_usage("api token");
	if (roaming)
		return ctl_api_roaming_token(ctl, argv[optind], label);
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

/* The token of org attach: a file (or "-": standard input), never an
 * argument, which other users see in ps. */
static int ctl_api_read_token(const char *path, char out[256])
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	size_t len;

	if (f == NULL)
		return ctl_error("%s: не открывается / cannot open", path);
	if (fgets(out, 256, f) == NULL)
		out[0] = '\0';
	if (f != stdin)
		fclose(f);
	len = strcspn(out, "\r\n");
	out[len] = '\0';
	if (len == 0)
		return ctl_error("%s: ключа нет / no token", path);
	return 0;
}

int ctl_cmd_org_attach(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "token-file", required_argument, NULL, 't' },
		{ "short-name", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL, *short_name = NULL;
	struct core_error err = { 0 };
	struct store_org o;
	struct core_box box;
	struct core *core;
	char token[256];
	int c, ret;

	ctl_getopt_reset();
	while ((c = getopt_long(argc, argv, "t:s:", opts, NULL)) != -1) {
		if (c == 't')
			file = optarg;
		else if (c == 's')
			short_name = optarg;
		else
			return ctl_usage("org attach");
	}
	if (optind + 1 != argc || file == NULL)
		return ctl_usage("org attach");
	/* the node key seals the token: made here on a fresh node */
	if (ctl_api_read_token(file, token) < 0 || ctl_node_key(ctl) < 0 ||
	    ctl_core(ctl, &core) < 0)
		return CTL_EXIT_ERROR;
	ret = core_attach_box(core, argv[optind], token, &box, &err);
	OPENSSL_cleanse(token, sizeof(token));
	if (ret < 0)
		return ctl_error("подключение к оператору / attaching at the "
				 "operator: %s", err.msg);
	memset(&o, 0, sizeof(o));
	o.box_id = box.id;
	o.name = box.name;
	o.short_name = (char *)short_name;
	o.inn = box.inn;
	o.kpp = box.kpp[0] != '\0' ? box.kpp : NULL;
	o.test_mode = box.test_mode;
	ret = store_org_add(ctl->store, &o);
	if (ret != STORE_OK && ret != STORE_ERR_CONFLICT)
		return ctl_store_error(ret, "org attach");
	printf("Подключена / attached: %s %s (ИНН %s)%s\n", box.id, box.name,
	       box.inn, ret == STORE_ERR_CONFLICT ?
	       " — уже была, ключ заменён / already here, token replaced" : "");
	return CTL_EXIT_OK;
}
