/* Settings from a libconfig file.
 *
 * Every key is described once in settings_keys[] (group, name, type, where it
 * lands in struct settings, allowed range), so that reading, the unknown-key
 * check and the range checks cannot drift apart.  conf/edomail.conf shows
 * every key with its default. */
#include "config/config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include "lib/util.h"

#define KiB ((int64_t)1024)
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

enum settings_type {
	SETTINGS_KEY_STRING,	/* free text (validated per key below) */
	SETTINGS_KEY_PATH,	/* a file name, resolved against the file's folder */
	SETTINGS_KEY_INT,		/* int, seconds or a count */
	SETTINGS_KEY_SIZE,	/* size_t bytes: 65536 or "64M" */
	SETTINGS_KEY_BOOL,
	SETTINGS_KEY_LISTEN,	/* { address = "..."; port = N; } */
	SETTINGS_KEY_ROAMING,	/* ( { prefix; url; token_file; ca; }, ... ) */
};

struct settings_key {
	const char *group;
	const char *name;
	enum settings_type type;
	size_t offset;
	int64_t min, max;	/* INT and SIZE */
};

#define S(field) offsetof(struct settings, field)

static const struct settings_key settings_keys[] = {
	{ "server", "domain", SETTINGS_KEY_STRING, S(domain), 0, 0 },
	{ "server", "hostname", SETTINGS_KEY_STRING, S(hostname), 0, 0 },
	{ "server", "imap", SETTINGS_KEY_LISTEN, S(imap), 0, 0 },
	{ "server", "imaps", SETTINGS_KEY_LISTEN, S(imaps), 0, 0 },
	{ "server", "submission", SETTINGS_KEY_LISTEN, S(submission), 0, 0 },
	{ "server", "submissions", SETTINGS_KEY_LISTEN, S(submissions), 0, 0 },
	{ "server", "allow_plaintext_loopback", SETTINGS_KEY_BOOL,
	  S(allow_plaintext_loopback), 0, 0 },
	{ "server", "workers", SETTINGS_KEY_INT, S(workers), 1, 64 },

	{ "tls", "cert", SETTINGS_KEY_PATH, S(tls_cert), 0, 0 },
	{ "tls", "key", SETTINGS_KEY_PATH, S(tls_key), 0, 0 },

	{ "store", "path", SETTINGS_KEY_PATH, S(store_path), 0, 0 },
	{ "store", "node_key", SETTINGS_KEY_PATH, S(node_key_path), 0, 0 },

	{ "operator", "driver", SETTINGS_KEY_STRING, S(operator_driver), 0, 0 },
	{ "operator", "prefix", SETTINGS_KEY_STRING, S(operator_prefix), 0, 0 },
	{ "operator", "name", SETTINGS_KEY_STRING, S(operator_name), 0, 0 },
	{ "operator", "inn", SETTINGS_KEY_STRING, S(operator_inn), 0, 0 },
	{ "operator", "dir", SETTINGS_KEY_PATH, S(operator_dir), 0, 0 },
	{ "operator", "api", SETTINGS_KEY_LISTEN, S(operator_api), 0, 0 },
	{ "operator", "url", SETTINGS_KEY_STRING, S(operator_url), 0, 0 },
	{ "operator", "ca", SETTINGS_KEY_PATH, S(operator_ca), 0, 0 },
	{ "operator", "timeout", SETTINGS_KEY_INT, S(operator_timeout), 1, 600 },
	{ "operator", "roaming", SETTINGS_KEY_ROAMING, S(operator_roaming), 0, 0 },
	{ "operator", "poll_interval", SETTINGS_KEY_INT, S(operator_poll_interval), 10, 3600000 },

	{ "folders", "language", SETTINGS_KEY_STRING, S(folders_language), 0, 0 },

	{ "autoconfig", "listen", SETTINGS_KEY_LISTEN, S(autoconfig), 0, 0 },
	{ "autoconfig", "host", SETTINGS_KEY_STRING, S(autoconfig_host), 0, 0 },

	/* Lower bounds keep the protocols workable (an IMAP line must hold
	 * a long UID set), upper bounds keep one client from taking the
	 * machine. */
	{ "limits", "max_line", SETTINGS_KEY_SIZE, S(max_line), 1 * KiB, 16 * MiB },
	{ "limits", "max_literal", SETTINGS_KEY_SIZE, S(max_literal), 1 * KiB, 1 * GiB },
	{ "limits", "max_message", SETTINGS_KEY_SIZE, S(max_message), 1 * KiB, 1 * GiB },
	{ "limits", "max_mime_depth", SETTINGS_KEY_INT, S(max_mime_depth), 1, 100 },
	{ "limits", "max_mime_parts", SETTINGS_KEY_INT, S(max_mime_parts), 1, 100000 },
	{ "limits", "max_connections", SETTINGS_KEY_INT, S(max_connections), 1, 100000 },
	{ "limits", "max_connections_per_address", SETTINGS_KEY_INT,
	  S(max_connections_per_address), 0, 100000 },
	{ "limits", "max_unauth_connections", SETTINGS_KEY_INT,
	  S(max_unauth_connections), 1, 100000 },
	{ "limits", "login_timeout", SETTINGS_KEY_INT, S(login_timeout), 1, 3600 },
	{ "limits", "max_commands_per_second", SETTINGS_KEY_INT,
	  S(max_commands_per_second), 1, 100000 },
	{ "limits", "idle_timeout", SETTINGS_KEY_INT, S(idle_timeout), 1, 86400 },
	{ "limits", "command_timeout", SETTINGS_KEY_INT, S(command_timeout), 1, 86400 },
	{ "limits", "auth_fail_limit", SETTINGS_KEY_INT, S(auth_fail_limit), 1, 1000 },
	{ "limits", "auth_fail_window", SETTINGS_KEY_INT, S(auth_fail_window), 1, 86400 },
	{ "limits", "auth_cache_ttl", SETTINGS_KEY_INT, S(auth_cache_ttl), 0, 3600 },
	/* below the default only for tests: every new hash costs this */
	{ "limits", "password_iterations", SETTINGS_KEY_INT,
	  S(password_iterations), 1000, 10000000 },
	{ "limits", "invitation_max_text", SETTINGS_KEY_INT,
	  S(invitation_max_text), 1, 100000 },
	{ "limits", "quota_storage", SETTINGS_KEY_SIZE, S(quota_storage), 0,
	  1024 * GiB },

	{ "trust", "roots", SETTINGS_KEY_PATH, S(trust_roots), 0, 0 },
	{ "trust", "intermediates", SETTINGS_KEY_PATH, S(trust_intermediates), 0, 0 },
	{ "trust", "crls", SETTINGS_KEY_PATH, S(trust_crls), 0, 0 },
	{ "trust", "crl_cache", SETTINGS_KEY_PATH, S(trust_crl_cache), 0, 0 },
	{ "trust", "fetch", SETTINGS_KEY_BOOL, S(trust_fetch), 0, 0 },
	{ "trust", "refresh", SETTINGS_KEY_INT, S(trust_refresh), 1, 86400 },
	{ "trust", "ca_cert", SETTINGS_KEY_PATH, S(trust_ca_cert), 0, 0 },
	{ "trust", "ca_key", SETTINGS_KEY_PATH, S(trust_ca_key), 0, 0 },
	{ "trust", "ca_crl_url", SETTINGS_KEY_STRING, S(trust_ca_crl_url), 0, 0 },
	{ "trust", "expiry_warning_days", SETTINGS_KEY_INT,
	  S(trust_expiry_warning_days), 1, 365 },

	{ "log", "file", SETTINGS_KEY_PATH, S(log_file), 0, 0 },
	{ "log", "level", SETTINGS_KEY_STRING, S(log_level), 0, 0 },
	{ "log", "syslog_socket", SETTINGS_KEY_PATH, S(log_syslog_socket), 0, 0 },
};

#undef S

#define SETTINGS_N_KEYS (sizeof(settings_keys) / sizeof(settings_keys[0]))

/* Where a value came from, for "<file>:<line>: message". */
struct settings_ctx {
	struct settings *set;
	const char *path;
	char *error;
};

static int settings_fail(struct settings_ctx *ctx, const config_setting_t *where,
		       const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int settings_fail(struct settings_ctx *ctx, const config_setting_t *where,
		       const char *fmt, ...)
{
	const char *file = NULL;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	util_vformat_error(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (where != NULL)
		file = config_setting_source_file(where);
	if (file == NULL)
		file = ctx->path;
	free(ctx->error);
	if (where != NULL)
		ctx->error = xasprintf("%s:%u: %s", file,
				       config_setting_source_line(where), msg);
	else
		ctx->error = xasprintf("%s: %s", file, msg);
	return -1;
}

/* ---- defaults ---- */

static void settings_listen_default(struct settings_listen *l, int port)
{
	l->address = xstrdup("127.0.0.1");
	l->port = port;
}

void settings_defaults(struct settings *set)
{
	memset(set, 0, sizeof(*set));
	set->domain = xstrdup("edo.local");
	set->hostname = NULL;	/* the domain, unless set */
	/* Unprivileged ports: the demo needs no root. */
	settings_listen_default(&set->imap, 1143);
	settings_listen_default(&set->imaps, 1993);
	settings_listen_default(&set->submission, 1587);
	settings_listen_default(&set->submissions, 1465);
	set->allow_plaintext_loopback = 0;
	set->workers = 2;
	set->tls_cert = xstrdup("tls.crt");
	set->tls_key = xstrdup("tls.key");
	set->log_file = NULL;
	set->log_level = xstrdup("info");
	set->log_syslog_socket = xstrdup("/dev/log");

	set->store_path = xstrdup("edomail.db");
	set->node_key_path = xstrdup("node.key");

	set->operator_driver = xstrdup("local");
	set->operator_prefix = xstrdup("2ED");
	set->operator_name = xstrdup("Оператор ЭДО edomail");
	set->operator_inn = xstrdup("7700000016");
	set->operator_dir = xstrdup("operator");
	set->operator_timeout = 30;
	set->operator_poll_interval = 250;

	set->folders_language = xstrdup("ru");

	set->trust_crl_cache = xstrdup("crl-cache");
	set->trust_refresh = 300;
	set->trust_expiry_warning_days = 30;

	set->max_line = 65536;
	set->max_literal = 64 * MiB;
	set->max_message = 64 * MiB;
	set->max_mime_depth = 20;
	set->max_mime_parts = 500;
	set->max_connections = 1000;
	/* An office behind one NAT address: 40 people with Thunderbird (up
	 * to 5 IMAP connections and one SMTP each) fit; one address cannot
	 * take every slot of max_connections. */
	set->max_connections_per_address = 250;
	/* A quarter of the slots for connections that have not logged in:
	 * a flood of idle connections cannot take the others, and the
	 * oldest is dropped for a newcomer (doc/robustness.md). */
	set->max_unauth_connections = 250;
	set->login_timeout = 60;
	set->max_commands_per_second = 200;
	set->idle_timeout = 1800;
	set->command_timeout = 300;
	set->auth_fail_limit = 5;
	set->auth_fail_window = 300;
	set->auth_cache_ttl = 60;
	set->password_iterations = 600000;	/* CRYPTO_PASSWORD_ITERATIONS */
	set->invitation_max_text = 2000;
	/* What one user may keep of their own (drafts, archive folders,
	 * appended copies): doc/imap.md, "Quota". */
	set->quota_storage = 1 * GiB;
}

void settings_free(struct settings *set)
{
	free(set->config_path);
	free(set->config_dir);
	free(set->domain);
	free(set->hostname);
	free(set->imap.address);
	free(set->imaps.address);
	free(set->submission.address);
	free(set->submissions.address);
	free(set->operator_api.address);
	free(set->operator_url);
	free(set->operator_ca);
	free(set->autoconfig.address);
	free(set->autoconfig_host);
	free(set->tls_cert);
	free(set->tls_key);
	free(set->log_file);
	free(set->log_level);
	free(set->log_syslog_socket);
	free(set->store_path);
	free(set->node_key_path);
	free(set->operator_driver);
	free(set->operator_prefix);
	free(set->operator_name);
	free(set->operator_inn);
	free(set->operator_dir);
	for (size_t i = 0; i < set->n_operator_roaming; i++) {
		free(set->operator_roaming[i].prefix);
		free(set->operator_roaming[i].url);
		free(set->operator_roaming[i].token_file);
		free(set->operator_roaming[i].ca);
	}
	free(set->operator_roaming);
	free(set->folders_language);
	free(set->trust_roots);
	free(set->trust_intermediates);
	free(set->trust_crls);
	free(set->trust_crl_cache);
	free(set->trust_ca_cert);
	free(set->trust_ca_key);
	free(set->trust_ca_crl_url);
	memset(set, 0, sizeof(*set));
}

/* ---- values ---- */

static const char *settings_type_name(int type, int en)
{
	switch (type) {
	case CONFIG_TYPE_GROUP: return en ? "a group" : "группа";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: return en ? "an integer" : "число";
	case CONFIG_TYPE_FLOAT: return en ? "a float" : "дробное число";
	case CONFIG_TYPE_STRING: return en ? "a string" : "строка";
	case CONFIG_TYPE_BOOL: return "true/false";
	case CONFIG_TYPE_ARRAY: return en ? "an array" : "массив";
	case CONFIG_TYPE_LIST: return en ? "a list" : "список";
	default: return "?";
	}
}

static int settings_get_int(struct settings_ctx *ctx, const config_setting_t *s,
			  const char *key, int64_t *value_r)
{
	int type = config_setting_type(s);

	if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
		return settings_fail(ctx, s,
			"%s: ожидается число, а не %s / expected an integer, not %s",
			key, settings_type_name(type, 0), settings_type_name(type, 1));
	*value_r = config_setting_get_int64(s);
	return 0;
}

/* "64M", "512K", "1G" or plain bytes: sizes read better with a unit. */
static int settings_parse_size(const char *str, int64_t *value_r)
{
	char *end;
	long long v;
	int64_t mult = 1;

	errno = 0;
	if (*str < '0' || *str > '9')
		return -1;
	v = strtoll(str, &end, 10);
	if (errno != 0 || v < 0)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': mult = KiB; end++; break;
	case 'm': case 'M': mult = MiB; end++; break;
	case 'g': case 'G': mult = GiB; end++; break;
	default: return -1;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || v > INT64_MAX / mult)
		return -1;
	*value_r = v * mult;
	return 0;
}

static int settings_get_size(struct settings_ctx *ctx, const config_setting_t *s,
			   const char *key, int64_t *value_r)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return settings_get_int(ctx, s, key, value_r);
	if (settings_parse_size(config_setting_get_string(s), value_r) < 0)
		return settings_fail(ctx, s,
			"%s: неверный размер \"%s\" (пример: 65536, \"512K\", \"64M\") / "
			"bad size \"%s\" (e.g. 65536, \"512K\", \"64M\")", key,
			config_setting_get_string(s), config_setting_get_string(s));
	return 0;
}

static int settings_check_range(struct settings_ctx *ctx,
			      const config_setting_t *s, const char *key,
			      int64_t v, int64_t min, int64_t max)
{
	if (v < min || v > max)
		return settings_fail(ctx, s,
			"%s: значение %lld вне диапазона %lld..%lld / "
			"value %lld out of range %lld..%lld", key, (long long)v,
			(long long)min, (long long)max, (long long)v,
			(long long)min, (long long)max);
	return 0;
}

static int settings_get_string(struct settings_ctx *ctx, const config_setting_t *s,
			     const char *key, char **value_r)
{
	const char *str;
	int type = config_setting_type(s);

	if (type != CONFIG_TYPE_STRING)
		return settings_fail(ctx, s,
			"%s: ожидается строка, а не %s / expected a string, not %s",
			key, settings_type_name(type, 0), settings_type_name(type, 1));
	str = config_setting_get_string(s);
	if (!util_utf8_valid((const unsigned char *)str, strlen(str)))
		return settings_fail(ctx, s, "%s: строка не в UTF-8 / not UTF-8", key);
	free(*value_r);
	*value_r = xstrdup(str);
	return 0;
}

static int settings_read_listen(struct settings_ctx *ctx, const config_setting_t *s,
			      const char *key, struct settings_listen *l)
{
	const config_setting_t *m;
	char sub[256];
	int64_t port = 0;
	int i, n;

	if (config_setting_type(s) != CONFIG_TYPE_GROUP)
		return settings_fail(ctx, s,
			"%s: ожидается группа { address = \"...\"; port = N; } / "
			"expected a group { address = \"...\"; port = N; }", key);
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(s, i);
		snprintf(sub, sizeof(sub), "%s.%.100s", key, config_setting_name(m));
		if (strcmp(config_setting_name(m), "address") == 0) {
			if (settings_get_string(ctx, m, sub, &l->address) < 0)
				return -1;
		} else if (strcmp(config_setting_name(m), "port") == 0) {
			if (settings_get_int(ctx, m, sub, &port) < 0 ||
			    settings_check_range(ctx, m, sub, port, 0, 65535) < 0)
				return -1;
			l->port = (int)port;
		} else {
			return settings_fail(ctx, m,
				"неизвестный параметр %s / unknown setting %s", sub, sub);
		}
	}
	/* An empty address switches the listener off, as port 0 does. */
	if (l->address != NULL && l->address[0] == '\0') {
		free(l->address);
		l->address = NULL;
	}
	return 0;
}

/* One peer of operator.roaming: a group of four strings and the lookup
 * timeout. */
static int settings_read_peer(struct settings_ctx *ctx, const config_setting_t *g,
			      const char *key, struct settings_roam_peer *p)
{
	const config_setting_t *m;
	char sub[256];	/* key (at most 128 with the index) + "." + 100 */
	char **dst;
	int64_t v = 0;
	int i, n;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return settings_fail(ctx, g,
			"%s: ожидается группа { prefix; url; token_file; ca; "
			"lookup_timeout; } / expected a group { prefix; url; "
			"token_file; ca; lookup_timeout; }", key);
	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(g, i);
		snprintf(sub, sizeof(sub), "%s.%.100s", key, config_setting_name(m));
		if (strcmp(config_setting_name(m), "lookup_timeout") == 0) {
			if (settings_get_int(ctx, m, sub, &v) < 0)
				return -1;
			if (v < 1 || v > 300)
				return settings_fail(ctx, m,
					"%s: от 1 до 300 секунд / 1 to 300 "
					"seconds", sub);
			p->lookup_timeout = (int)v;
			continue;
		}
		if (strcmp(config_setting_name(m), "prefix") == 0)
			dst = &p->prefix;
		else if (strcmp(config_setting_name(m), "url") == 0)
			dst = &p->url;
		else if (strcmp(config_setting_name(m), "token_file") == 0)
			dst = &p->token_file;
		else if (strcmp(config_setting_name(m), "ca") == 0)
			dst = &p->ca;
		else
			return settings_fail(ctx, m,
				"неизвестный параметр %s / unknown setting %s", sub, sub);
		if (settings_get_string(ctx, m, sub, dst) < 0)
			return -1;
	}
	if (p->prefix == NULL || strlen(p->prefix) != 3 || p->url == NULL ||
	    strncmp(p->url, "https://", 8) != 0 || p->token_file == NULL)
		return settings_fail(ctx, g,
			"%s: нужны prefix (3 символа), url (https://...) и "
			"token_file / prefix (3 characters), url (https://...) and "
			"token_file are required", key);
	if (p->lookup_timeout == 0)
		p->lookup_timeout = 5;
	return 0;
}

/* operator.roaming = ( { ... }, { ... } ); a single group is one peer. */
static int settings_read_roaming(struct settings_ctx *ctx,
				 const config_setting_t *s, const char *key)
{
	struct settings *set = ctx->set;
	int n, i, single = config_setting_type(s) == CONFIG_TYPE_GROUP;

	if (!single && config_setting_type(s) != CONFIG_TYPE_LIST)
		return settings_fail(ctx, s,
			"%s: ожидается список ( { ... }, ... ) / expected a list "
			"( { ... }, ... )", key);
	n = single ? 1 : config_setting_length(s);
	set->operator_roaming = xcalloc(n > 0 ? n : 1,
					sizeof(*set->operator_roaming));
	set->n_operator_roaming = (size_t)n;
	for (i = 0; i < n; i++) {
		if (settings_read_peer(ctx, single ? s :
				       config_setting_get_elem(s, i), key,
				       &set->operator_roaming[i]) < 0)
			return -1;
	}
	return 0;
}

static int settings_read_key(struct settings_ctx *ctx, const struct settings_key *k,
			   const config_setting_t *s)
{
	char *base = (char *)ctx->set + k->offset;
	char key[128];
	int64_t v = 0;

	snprintf(key, sizeof(key), "%s.%s", k->group, k->name);
	switch (k->type) {
	case SETTINGS_KEY_STRING:
	case SETTINGS_KEY_PATH:
		return settings_get_string(ctx, s, key, (char **)base);
	case SETTINGS_KEY_INT:
		if (settings_get_int(ctx, s, key, &v) < 0 ||
		    settings_check_range(ctx, s, key, v, k->min, k->max) < 0)
			return -1;
		*(int *)base = (int)v;
		return 0;
	case SETTINGS_KEY_SIZE:
		if (settings_get_size(ctx, s, key, &v) < 0 ||
		    settings_check_range(ctx, s, key, v, k->min, k->max) < 0)
			return -1;
		*(size_t *)base = (size_t)v;
		return 0;
	case SETTINGS_KEY_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return settings_fail(ctx, s,
				"%s: ожидается true или false / expected true or false",
				key);
		*(int *)base = config_setting_get_bool(s);
		return 0;
	case SETTINGS_KEY_LISTEN:
		return settings_read_listen(ctx, s, key, (struct settings_listen *)base);
	case SETTINGS_KEY_ROAMING:
		return settings_read_roaming(ctx, s, key);
	}
	return settings_fail(ctx, s, "%s: ?", key);
}

static const struct settings_key *settings_key_find(const char *group,
						const char *name)
{
	size_t i;

	for (i = 0; i < SETTINGS_N_KEYS; i++) {
		if (strcmp(settings_keys[i].group, group) == 0 &&
		    strcmp(settings_keys[i].name, name) == 0)
			return &settings_keys[i];
	}
	return NULL;
}

static int settings_group_known(const char *group)
{
	size_t i;

	for (i = 0; i < SETTINGS_N_KEYS; i++) {
		if (strcmp(settings_keys[i].group, group) == 0)
			return 1;
	}
	return 0;
}

static int settings_read_group(struct settings_ctx *ctx, const config_setting_t *g)
{
	const char *group = config_setting_name(g);
	const struct settings_key *k;
	const config_setting_t *s;
	int i, n;

	if (!settings_group_known(group))
		return settings_fail(ctx, g,
			"неизвестная группа %s (есть: server, tls, store, operator, "
			"folders, limits, log) / unknown group %s", group, group);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return settings_fail(ctx, g,
			"%s: ожидается группа { ... } / expected a group { ... }",
			group);
	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(g, i);
		k = settings_key_find(group, config_setting_name(s));
		if (k == NULL)
			return settings_fail(ctx, s,
				"неизвестный параметр %s.%s / unknown setting %s.%s",
				group, config_setting_name(s), group,
				config_setting_name(s));
		if (settings_read_key(ctx, k, s) < 0)
			return -1;
	}
	return 0;
}

/* ---- checks that need more than a type and a range ---- */

static const config_setting_t *settings_where(config_t *cfg, const char *key)
{
	return config_lookup(cfg, key);
}

static int settings_is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		(c >= 'A' && c <= 'Z');
}

static int settings_hostname_valid(const char *s)
{
	size_t len = strlen(s), i;

	if (len == 0 || len > 253 || s[0] == '.' || s[0] == '-')
		return 0;
	for (i = 0; i < len; i++) {
		if (!settings_is_alnum(s[i]) && s[i] != '.' && s[i] != '-')
			return 0;
	}
	return 1;
}

static int settings_digits(const char *s, size_t len1, size_t len2)
{
	size_t len = strlen(s), i;

	if (len != len1 && len != len2)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
	}
	return 1;
}

static int settings_check_server(struct settings_ctx *ctx, config_t *cfg)
{
	struct settings *set = ctx->set;

	if (!settings_hostname_valid(set->domain))
		return settings_fail(ctx, settings_where(cfg, "server.domain"),
			"server.domain: неверное имя домена \"%s\" / bad domain name \"%s\"",
			set->domain, set->domain);
	if (set->hostname != NULL && !settings_hostname_valid(set->hostname))
		return settings_fail(ctx, settings_where(cfg, "server.hostname"),
			"server.hostname: неверное имя узла \"%s\" / bad host name \"%s\"",
			set->hostname, set->hostname);
	if (set->hostname == NULL)
		set->hostname = xstrdup(set->domain);
	if (set->autoconfig_host != NULL &&
	    !settings_hostname_valid(set->autoconfig_host))
		return settings_fail(ctx, settings_where(cfg, "autoconfig.host"),
			"autoconfig.host: неверное имя узла \"%s\" / bad host name \"%s\"",
			set->autoconfig_host, set->autoconfig_host);
	return 0;
}

static int settings_check_operator(struct settings_ctx *ctx, config_t *cfg)
{
	struct settings *set = ctx->set;
	const char *p = set->operator_prefix;
	size_t i;

	/* The prefix starts every participant id this operator assigns. */
	if (strlen(p) != 3 || !settings_is_alnum(p[0]) || !settings_is_alnum(p[1]) ||
	    !settings_is_alnum(p[2]))
		return settings_fail(ctx, settings_where(cfg, "operator.prefix"),
			"operator.prefix: нужно ровно 3 символа [0-9A-Za-z], а не \"%s\" / "
			"must be exactly 3 characters [0-9A-Za-z], not \"%s\"", p, p);
	if (set->operator_driver[0] == '\0')
		return settings_fail(ctx, settings_where(cfg, "operator.driver"),
			"operator.driver: пусто / empty");
	for (i = 0; set->operator_driver[i] != '\0'; i++) {
		if (!settings_is_alnum(set->operator_driver[i]) &&
		    set->operator_driver[i] != '_')
			return settings_fail(ctx, settings_where(cfg, "operator.driver"),
				"operator.driver: неверное имя \"%s\" / bad name \"%s\"",
				set->operator_driver, set->operator_driver);
	}
	if (strcmp(set->operator_driver, "http") == 0 &&
	    (set->operator_url == NULL ||
	     strncmp(set->operator_url, "https://", 8) != 0))
		return settings_fail(ctx, settings_where(cfg, "operator.url"),
			"operator.url: для драйвера http нужен адрес https://... / "
			"the http driver needs an https://... URL");
	if (!settings_digits(set->operator_inn, 10, 12))
		return settings_fail(ctx, settings_where(cfg, "operator.inn"),
			"operator.inn: ИНН — 10 или 12 цифр / ИНН must be 10 or 12 digits");
	if (set->operator_name[0] == '\0' || strlen(set->operator_name) > 1000)
		return settings_fail(ctx, settings_where(cfg, "operator.name"),
			"operator.name: пусто или слишком длинно / empty or too long");
	return 0;
}

static int settings_check_misc(struct settings_ctx *ctx, config_t *cfg)
{
	struct settings *set = ctx->set;
	const char *lvl = set->log_level;

	if (strcmp(set->folders_language, "ru") != 0 &&
	    strcmp(set->folders_language, "en") != 0)
		return settings_fail(ctx, settings_where(cfg, "folders.language"),
			"folders.language: \"ru\" или \"en\", а не \"%s\" / "
			"\"ru\" or \"en\", not \"%s\"", set->folders_language,
			set->folders_language);
	if (strcmp(lvl, "debug") != 0 && strcmp(lvl, "info") != 0 &&
	    strcmp(lvl, "warn") != 0 && strcmp(lvl, "error") != 0)
		return settings_fail(ctx, settings_where(cfg, "log.level"),
			"log.level: debug, info, warn или error, а не \"%s\" / "
			"debug, info, warn or error, not \"%s\"", lvl, lvl);
	/* An IMAP literal and a message both arrive through protocol lines
	 * of at most max_line; a literal larger than a message is useless
	 * but harmless, so only the line is checked against them. */
	if (set->max_line > set->max_message)
		return settings_fail(ctx, settings_where(cfg, "limits.max_line"),
			"limits.max_line больше limits.max_message / "
			"limits.max_line is larger than limits.max_message");
	return 0;
}

/* ---- paths ---- */

static char *settings_resolve(const char *dir, const char *path)
{
	if (path == NULL || path[0] == '/' || path[0] == '\0')
		return path == NULL ? NULL : xstrdup(path);
	return xasprintf("%s/%s", dir, path);
}

static void settings_resolve_paths(struct settings *set)
{
	size_t i;
	char **p, *abs;

	for (i = 0; i < SETTINGS_N_KEYS; i++) {
		if (settings_keys[i].type != SETTINGS_KEY_PATH)
			continue;
		p = (char **)((char *)set + settings_keys[i].offset);
		abs = settings_resolve(set->config_dir, *p);
		free(*p);
		*p = abs;
	}
	for (i = 0; i < set->n_operator_roaming; i++) {
		p = &set->operator_roaming[i].token_file;
		abs = settings_resolve(set->config_dir, *p);
		free(*p);
		*p = abs;
		p = &set->operator_roaming[i].ca;
		abs = settings_resolve(set->config_dir, *p);
		free(*p);
		*p = abs;
	}
	/* An empty log file name means stderr. */
	if (set->log_file != NULL && set->log_file[0] == '\0') {
		free(set->log_file);
		set->log_file = NULL;
	}
}

/* The file's folder as an absolute path: the daemon may change its working
 * folder, and edomailctl may be run from anywhere. */
static void settings_set_location(struct settings *set, const char *path)
{
	char *abs, *slash, cwd[PATH_MAX];

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		abs = xstrdup(path);
	else
		abs = xasprintf("%s/%s", cwd, path);
	set->config_path = abs;
	slash = strrchr(abs, '/');
	if (slash == NULL || slash == abs)
		set->config_dir = xstrdup(slash == abs ? "/" : ".");
	else
		set->config_dir = xstrndup(abs, slash - abs);
}

/* ---- loading ---- */

static int settings_read(struct settings_ctx *ctx, config_t *cfg, const char *path)
{
	const config_setting_t *root;
	const char *file;
	int i, n;

	if (!config_read_file(cfg, path)) {
		if (config_error_type(cfg) == CONFIG_ERR_FILE_IO) {
			ctx->error = xasprintf("%s: не удалось прочитать файл / "
					       "cannot read the file: %s", path,
					       strerror(errno != 0 ? errno : ENOENT));
			return -1;
		}
		file = config_error_file(cfg);
		ctx->error = xasprintf("%s:%d: синтаксическая ошибка / syntax error: %s",
				       file != NULL ? file : path,
				       config_error_line(cfg), config_error_text(cfg));
		return -1;
	}
	root = config_root_setting(cfg);
	n = config_setting_length(root);
	for (i = 0; i < n; i++) {
		if (settings_read_group(ctx, config_setting_get_elem(root, i)) < 0)
			return -1;
	}
	if (settings_check_server(ctx, cfg) < 0 ||
	    settings_check_operator(ctx, cfg) < 0 ||
	    settings_check_misc(ctx, cfg) < 0)
		return -1;
	return 0;
}

/* ---- reload (SIGHUP) ---- */

/* Keys a running daemon takes on SIGHUP; every other key changed in the
 * file is reported as needing a restart (doc/admin.md, "Reloading").  A
 * key belongs here only when its users read it from the settings each
 * time (or the daemon re-applies it), never from a copy made at start. */
static const char *const settings_runtime_keys[] = {
	"tls.cert", "tls.key", "log.file", "log.level",
	"server.allow_plaintext_loopback",
	"limits.max_connections", "limits.max_connections_per_address",
	"limits.max_commands_per_second", "limits.idle_timeout",
	"limits.command_timeout", "limits.max_line",
	"limits.invitation_max_text", "limits.quota_storage",
};

static int settings_key_runtime(const struct settings_key *k)
{
	char key[128];

	snprintf(key, sizeof(key), "%s.%s", k->group, k->name);
	for (size_t i = 0; i < sizeof(settings_runtime_keys) /
	     sizeof(settings_runtime_keys[0]); i++)
		if (strcmp(settings_runtime_keys[i], key) == 0)
			return 1;
	return 0;
}

static int settings_str_eq(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static int settings_value_eq(const struct settings_key *k, const void *a,
			     const void *b)
{
	switch (k->type) {
	case SETTINGS_KEY_STRING:
	case SETTINGS_KEY_PATH:
		return settings_str_eq(*(char *const *)a, *(char *const *)b);
	case SETTINGS_KEY_INT:
	case SETTINGS_KEY_BOOL:
		return *(const int *)a == *(const int *)b;
	case SETTINGS_KEY_SIZE:
		return *(const size_t *)a == *(const size_t *)b;
	case SETTINGS_KEY_LISTEN: {
		const struct settings_listen *x = a, *y = b;

		return x->port == y->port &&
		       settings_str_eq(x->address, y->address);
	}
	case SETTINGS_KEY_ROAMING: {
		/* the count follows the array in struct settings */
		_Static_assert(offsetof(struct settings, n_operator_roaming) ==
			       offsetof(struct settings, operator_roaming) +
			       sizeof(void *), "roaming count layout");
		const struct settings_roam_peer *x = *(void *const *)a;
		const struct settings_roam_peer *y = *(void *const *)b;
		size_t nx = *(const size_t *)((const char *)a + sizeof(void *));
		size_t ny = *(const size_t *)((const char *)b + sizeof(void *));

		if (nx != ny)
			return 0;
		for (size_t i = 0; i < nx; i++)
			if (!settings_str_eq(x[i].prefix, y[i].prefix) ||
			    !settings_str_eq(x[i].url, y[i].url) ||
			    !settings_str_eq(x[i].token_file, y[i].token_file) ||
			    !settings_str_eq(x[i].ca, y[i].ca) ||
			    x[i].lookup_timeout != y[i].lookup_timeout)
				return 0;
		return 1;
	}
	}
	return 0;
}

static size_t settings_value_size(const struct settings_key *k)
{
	switch (k->type) {
	case SETTINGS_KEY_STRING:
	case SETTINGS_KEY_PATH: return sizeof(char *);
	case SETTINGS_KEY_INT:
	case SETTINGS_KEY_BOOL: return sizeof(int);
	case SETTINGS_KEY_SIZE: return sizeof(size_t);
	case SETTINGS_KEY_LISTEN: return sizeof(struct settings_listen);
	case SETTINGS_KEY_ROAMING: return 0;	/* never applied live */
	}
	return 0;
}

int settings_reload(struct settings *live, struct settings *fresh,
		    settings_key_cb *applied, settings_key_cb *restart,
		    void *ctx)
{
	int n = 0;

	for (size_t i = 0; i < SETTINGS_N_KEYS; i++) {
		const struct settings_key *k = &settings_keys[i];
		char *a = (char *)live + k->offset, *b = (char *)fresh + k->offset;
		char key[128], tmp[sizeof(struct settings_listen)];
		size_t size = settings_value_size(k);

		if (settings_value_eq(k, a, b))
			continue;
		snprintf(key, sizeof(key), "%s.%s", k->group, k->name);
		if (!settings_key_runtime(k)) {
			if (restart != NULL)
				restart(key, ctx);
			continue;
		}
		/* swapped: fresh now owns the old strings and frees them */
		memcpy(tmp, a, size);
		memcpy(a, b, size);
		memcpy(b, tmp, size);
		if (applied != NULL)
			applied(key, ctx);
		n++;
	}
	return n;
}

int settings_load(const char *path, struct settings *set_r, char **error_r)
{
	struct settings_ctx ctx = { .set = set_r, .path = path };
	config_t cfg;
	int ret;

	*error_r = NULL;
	settings_defaults(set_r);
	settings_set_location(set_r, path);
	config_init(&cfg);
	/* @include "x.conf" is relative to the including file's folder. */
	config_set_include_dir(&cfg, set_r->config_dir);
	errno = 0;
	ret = settings_read(&ctx, &cfg, path);
	config_destroy(&cfg);
	if (ret < 0) {
		settings_free(set_r);
		*error_r = ctx.error;
		return -1;
	}
	settings_resolve_paths(set_r);
	return 0;
}
