/* edomailctl upd make: a valid УПД seller's title (5.01 or 5.02) from an
 * organization served here to any participant, for people who want to
 * try the formalized flow (DESIGN.md section 6a, doc/upd.md).  The file
 * gets its FNS name: a mail must attach it under that name (ИдФайл). */
#include "ctl/ctl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <edomail/core.h>

#include "edo/edo-upd.h"
#include "lib/util.h"

#define CTL_UPD_MAX_ITEMS 1000

struct ctl_upd_args {
	const char *from, *to, *out, *number, *date, *signer, *position;
	enum edo_upd_version version;
	char **items;			/* "name;qty;price;vat[;unit]" */
	size_t n_items;
};

static int ctl_upd_parse(int argc, char **argv, struct ctl_upd_args *a)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "version", required_argument, NULL, 'v' },
		{ "item", required_argument, NULL, 'i' },
		{ "number", required_argument, NULL, 'n' },
		{ "date", required_argument, NULL, 'd' },
		{ "signer", required_argument, NULL, 's' },
		{ "position", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': a->from = optarg; break;
		case 't': a->to = optarg; break;
		case 'o': a->out = optarg; break;
		case 'n': a->number = optarg; break;
		case 'd': a->date = optarg; break;
		case 's': a->signer = optarg; break;
		case 'p': a->position = optarg; break;
		case 'v':
			if (strcmp(optarg, "5.01") == 0)
				a->version = EDO_UPD_501;
			else if (strcmp(optarg, "5.02") == 0)
				a->version = EDO_UPD_502;
			else
				return -1;
			break;
		case 'i':
			if (a->n_items == CTL_UPD_MAX_ITEMS)
				return -1;
			a->items = xrealloc(a->items, (a->n_items + 1) *
					    sizeof(*a->items));
			a->items[a->n_items++] = optarg;
			break;
		default:
			return -1;
		}
	}
	return optind == argc && a->from != NULL && a->to != NULL &&
	       a->out != NULL ? 0 : -1;
}

/* "name;qty;price;vat[;unit]" split in place. */
static int ctl_upd_item(char *spec, struct edo_upd_item *it)
{
	char *f[5] = { NULL };
	size_t n = 0;
	char *p = spec;

	while (n < 5) {
		f[n++] = p;
		if ((p = strchr(p, ';')) == NULL)
			break;
		*p++ = '\0';
	}
	if (n < 3 || p != NULL)
		return -1;
	it->name = f[0];
	it->qty = f[1];
	it->price = f[2];
	it->vat = f[3] != NULL && *f[3] != '\0' ? f[3] : "20%";
	it->unit = f[4];
	return 0;
}

/* ГГГГ-ММ-ДД as noon Moscow time (no date shift whatever the zone). */
static int ctl_upd_date(const char *s, int64_t *ts_r)
{
	struct tm tm;
	char *end;

	if (s == NULL) {
		*ts_r = util_now();
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	tm.tm_hour = 9;		/* 12:00 in Moscow */
	*ts_r = (int64_t)timegm(&tm);
	return 0;
}

/* -o DIR: DIR/<FNS name>; -o FILE: FILE as given. */
static char *ctl_upd_path(const char *out, const char *name)
{
	struct stat st;

	if (stat(out, &st) == 0 && S_ISDIR(st.st_mode))
		return xasprintf("%s/%s", out, name);
	return xstrdup(out);
}

static int ctl_upd_write(const char *path, const unsigned char *xml,
			 size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		return -1;
	if (fwrite(xml, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

/* The seller (served here) and the buyer (any participant). */
static int ctl_upd_parties(struct ctl *ctl, const struct ctl_upd_args *a,
			   struct store_org *o, struct core_box *to)
{
	struct core_error err = { 0 };
	struct core *core;

	if (ctl_find_org(ctl, a->from, o) < 0)
		return -1;
	if (ctl_core(ctl, &core) < 0 ||
	    core_find_box(core, a->to, to, &err) < 0) {
		if (err.msg[0] != '\0')
			ctl_error("%s: %s", a->to, err.msg);
		store_org_clear(o);
		return -1;
	}
	return 0;
}

static int ctl_upd_make(struct ctl *ctl, struct ctl_upd_args *a,
			struct edo_upd_item *items)
{
	struct edo_upd_seller_req req;
	struct core_error err = { 0 };
	struct store_org o;
	struct core_box to;
	unsigned char *xml = NULL;
	char *name = NULL, *path, *sur = NULL, *given = NULL, *patr = NULL;
	char number[32];
	size_t len;
	int ret = CTL_EXIT_ERROR;

	memset(&req, 0, sizeof(req));
	if (ctl_upd_date(a->date, &req.date) < 0)
		return ctl_error("дата: ГГГГ-ММ-ДД / date: YYYY-MM-DD");
	if (ctl_upd_parties(ctl, a, &o, &to) < 0)
		return CTL_EXIT_ERROR;
	if (a->signer != NULL)
		(void)edo_fns_split_name(a->signer, &sur, &given, &patr);
	snprintf(number, sizeof(number), "%lld", (long long)(util_now() % 100000));
	req.version = a->version;
	req.seller = (struct edo_upd_org){ o.box_id, o.name, o.inn, o.kpp,
					   NULL };
	req.buyer = (struct edo_upd_org){ to.id, to.name, to.inn, to.kpp,
					  NULL };
	req.number = a->number != NULL ? a->number : number;
	req.items = items;
	req.n_items = a->n_items;
	req.signer = (struct edo_fns_person){ sur, given, patr, a->position };
	if (edo_upd_make_seller(&req, &xml, &len, &name, &err) < 0) {
		ctl_error("%s", err.msg);
	} else {
		path = ctl_upd_path(a->out, name);
		if (ctl_upd_write(path, xml, len) < 0) {
			ctl_error("не записать / cannot write %s", path);
		} else {
			printf("%s\n", path);
			ret = CTL_EXIT_OK;
		}
		free(path);
	}
	free(xml);
	free(name);
	free(sur);
	free(given);
	free(patr);
	store_org_clear(&o);
	return ret;
}

int ctl_cmd_upd_make(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_upd_args a;
	struct edo_upd_item *items;
	int ret;

	memset(&a, 0, sizeof(a));
	a.version = EDO_UPD_502;
	if (ctl_upd_parse(argc, argv, &a) < 0) {
		free(a.items);
		return ctl_usage("upd make");
	}
	if (a.n_items == 0) {
		/* a line to try with */
		static char demo[] = "Бумага офисная А4, 500 листов;10;250.00;20%;шт";
		a.items = xcalloc(1, sizeof(*a.items));
		a.items[a.n_items++] = demo;
	}
	items = xcalloc(a.n_items, sizeof(*items));
	for (size_t i = 0; i < a.n_items; i++) {
		if (ctl_upd_item(a.items[i], &items[i]) < 0) {
			free(items);
			free(a.items);
			return ctl_error("--item «название;количество;цена;"
					 "НДС[;ед.]» / \"name;qty;price;vat"
					 "[;unit]\"");
		}
	}
	ret = ctl_upd_make(ctl, &a, items);
	free(items);
	free(a.items);
	return ret;
}
