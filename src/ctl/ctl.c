/* edomailctl: the administrator's command line.  This file holds the
 * command table, the global options and the helpers every command uses. */
#include "ctl/ctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <edomail/core.h>

#include "lib/log.h"
#include "lib/util.h"

/* meson.build: sysconfdir/edomail/edomail.conf of the install prefix. */
#define CTL_DEFAULT_CONF EDOMAIL_DEFAULT_CONF

static const struct ctl_cmd ctl_cmds[] = {
	{ "org add", ctl_cmd_org_add,
	  "--name NAME --inn INN [--kpp KPP] [--short SHORT] [--test] "
	  "[--cert FILE.pem|FILE.p12 [--key FILE] [--password P]]" },
	{ "org attach", ctl_cmd_org_attach,
	  "ORG --token-file FILE|- | --cert-file CERT.pem --key-file KEY.pem "
	  "[--short-name NAME]" },
	{ "org list", ctl_cmd_org_list, "" },
	{ "org show", ctl_cmd_org_show, "ORG" },
	{ "org policy", ctl_cmd_org_policy,
	  "ORG [--encrypt on|off] [--receipt-cert CERT-ID|THUMBPRINT|LOGIN|none]" },
	{ "user add", ctl_cmd_user_add,
	  "LOGIN [--name NAME] [--password P | --password-file FILE | --password-fd N]" },
	{ "user list", ctl_cmd_user_list, "" },
	{ "user block", ctl_cmd_user_block, "LOGIN" },
	{ "user unblock", ctl_cmd_user_unblock, "LOGIN" },
	{ "user quota", ctl_cmd_user_quota, "LOGIN [SIZE|default|none]" },
	{ "user passwd", ctl_cmd_user_passwd,
	  "LOGIN [--password P | --password-file FILE | --password-fd N]" },
	{ "member add", ctl_cmd_member_add,
	  "LOGIN ORG --role owner|admin|signer|reader" },
	{ "member block", ctl_cmd_member_block, "LOGIN ORG" },
	{ "member unblock", ctl_cmd_member_unblock, "LOGIN ORG" },
	{ "member list", ctl_cmd_member_list, "ORG" },
	{ "cert import", ctl_cmd_cert_import,
	  "LOGIN ORG FILE [--key FILE] [--password P]" },
	{ "cert list", ctl_cmd_cert_list, "[LOGIN]" },
	{ "cert make", ctl_cmd_cert_make,
	  "LOGIN ORG --type rsa|gost [--days N] [--expired] "
	  "[--person INN --snils SNILS] [--inn INN] [--self-signed] "
	  "[--crl-url URL]" },
	{ "cert revoke", ctl_cmd_cert_revoke,
	  "SERIAL|FILE [--out FILE] [--next-update SECONDS]" },
	{ "poa import", ctl_cmd_poa_import, "LOGIN ORG FILE.xml FILE.sig" },
	{ "poa list", ctl_cmd_poa_list, "[LOGIN]" },
	{ "poa revoke", ctl_cmd_poa_revoke, "NUMBER" },
	{ "poa make", ctl_cmd_poa_make,
	  "ORG PRINCIPAL LOGIN --out FILE.xml [--number N] [--days N] "
	  "[--expired]" },
	{ "counteragent list", ctl_cmd_counteragent_list, "ORG" },
	{ "invite", ctl_cmd_invite, "ORG TO [--text TEXT]" },
	{ "accept", ctl_cmd_accept, "ORG FROM [--comment TEXT]" },
	{ "reject", ctl_cmd_reject, "ORG FROM [--comment TEXT]" },
	{ "withdraw", ctl_cmd_withdraw, "ORG TO" },
	{ "message list", ctl_cmd_message_list, "ORG" },
	{ "message show", ctl_cmd_message_show, "ORG MESSAGE-ID" },
	{ "upd make", ctl_cmd_upd_make,
	  "--from ORG --to ORG [--version 5.01|5.02] "
	  "[--item \"name;qty;price;vat[;unit]\"]... [--number N] "
	  "[--date YYYY-MM-DD] [--signer \"Фамилия Имя Отчество\"] "
	  "[--position TEXT] -o DIR|FILE" },
	{ "packet export", ctl_cmd_packet_export,
	  "ORG MESSAGE-ID -o FILE.zip [--decrypt]" },
	{ "doc list", ctl_cmd_doc_list,
	  "ORG [--state waiting|signed|refused|receipt-missing]" },
	{ "status", ctl_cmd_status, "" },
	{ "api token", ctl_cmd_api_token, "ORG|--roaming PREFIX [--label TEXT]" },
	{ "api tokens", ctl_cmd_api_tokens, "[ORG]" },
	{ "api revoke", ctl_cmd_api_revoke, "ID" },
	{ "api cert add", ctl_cmd_api_cert_add, "ORG FILE.pem" },
	{ "api certs", ctl_cmd_api_certs, "[ORG]" },
	{ "api cert remove", ctl_cmd_api_cert_remove, "ID" },
};

#define CTL_N_CMDS (sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

/* ---- messages ---- */

int ctl_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("edomailctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CTL_EXIT_ERROR;
}

int ctl_usage(const char *name)
{
	size_t i;

	for (i = 0; i < CTL_N_CMDS; i++) {
		if (strcmp(ctl_cmds[i].name, name) == 0) {
			fprintf(stderr, "использование / usage: edomailctl [-c FILE] %s%s%s\n",
				name, ctl_cmds[i].usage[0] != '\0' ? " " : "",
				ctl_cmds[i].usage);
			break;
		}
	}
	return CTL_EXIT_USAGE;
}

static void ctl_usage_all(FILE *f)
{
	size_t i;

	fprintf(f, "использование / usage: edomailctl [-c FILE] COMMAND [ARGS]\n"
		"  -c FILE  конфигурация / configuration (default %s)\n\n"
		"Команды / commands:\n", CTL_DEFAULT_CONF);
	for (i = 0; i < CTL_N_CMDS; i++)
		fprintf(f, "  %s%s%s\n", ctl_cmds[i].name,
			ctl_cmds[i].usage[0] != '\0' ? " " : "", ctl_cmds[i].usage);
	fprintf(f, "\nORG: идентификатор участника, ИНН или ИНН.КПП / "
		"participant id, ИНН or ИНН.КПП\n");
}

int ctl_store_error(int err, const char *what)
{
	return ctl_error("%s: %s", what, store_error_str(err));
}

/* ---- lazily opened parts ---- */

int ctl_core(struct ctl *ctl, struct core **core_r)
{
	struct core_error err = { 0 };

	if (ctl->core == NULL &&
	    core_open(&ctl->set, ctl->store, &ctl->core, &err) < 0)
		return ctl_error("оператор / operator: %s", err.msg);
	*core_r = ctl->core;
	return 0;
}

int ctl_node_key(struct ctl *ctl)
{
	char *error = NULL;

	if (ctl->node_key_loaded)
		return 0;
	if (crypto_node_key_load(ctl->set.node_key_path, 1, ctl->node_key,
				 &error) < 0) {
		ctl_error("%s: %s", ctl->set.node_key_path, error);
		free(error);
		return -1;
	}
	ctl->node_key_loaded = 1;
	return 0;
}

/* ---- lookups ---- */

int ctl_find_org(struct ctl *ctl, const char *query, struct store_org *o_r)
{
	char inn[16], *kpp = NULL;
	const char *sep;
	int ret;

	ret = store_org_get(ctl->store, query, o_r);
	if (ret == STORE_ERR_NOTFOUND) {
		/* ИНН, ИНН.КПП or ИНН/КПП */
		sep = strpbrk(query, "./");
		if ((sep != NULL ? (size_t)(sep - query) : strlen(query)) < sizeof(inn)) {
			if (sep != NULL) {
				memcpy(inn, query, sep - query);
				inn[sep - query] = '\0';
				kpp = (char *)sep + 1;
			} else {
				strcpy(inn, query);
			}
			ret = store_org_find_inn(ctl->store, inn, kpp, o_r);
		}
	}
	if (ret == STORE_OK)
		return 0;
	if (ret == STORE_ERR_NOTFOUND)
		return ctl_error("организация «%s» не найдена на этом узле / "
				 "organization \"%s\" not found on this node", query, query),
			-1;
	if (ret == STORE_ERR_CONFLICT)
		return ctl_error("у ИНН %s несколько КПП, укажите ИНН.КПП / "
				 "ИНН %s has several КПП, give ИНН.КПП", query, query),
			-1;
	return ctl_store_error(ret, query), -1;
}

int ctl_find_user(struct ctl *ctl, const char *login, struct store_user *u_r)
{
	int ret = store_user_get(ctl->store, login, u_r);

	if (ret == STORE_OK)
		return 0;
	if (ret == STORE_ERR_NOTFOUND)
		return ctl_error("пользователь «%s» не найден / user \"%s\" not found",
				 login, login), -1;
	return ctl_store_error(ret, login), -1;
}

/* ---- input ---- */

void ctl_wipe_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

int ctl_read_file(const char *path, unsigned char **data_r, size_t *len_r)
{
	unsigned char *data;
	size_t len;

	if (util_read_file(path, &data, &len) < 0)
		return ctl_error("%s: не удалось прочитать / cannot read: %s", path,
				 strerror(errno)), -1;
	if (len > CTL_MAX_FILE) {
		explicit_bzero(data, len);
		free(data);
		return ctl_error("%s: файл больше %d байт / file larger than %d bytes",
				 path, CTL_MAX_FILE, CTL_MAX_FILE), -1;
	}
	*data_r = data;
	*len_r = len;
	return 0;
}

/* One line of at most CTL_MAX_PASSWORD bytes without its newline. */
static int ctl_read_line(FILE *f, char **line_r)
{
	char buf[CTL_MAX_PASSWORD + 2];
	size_t len;

	if (fgets(buf, sizeof(buf), f) == NULL)
		return -1;
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	else if (len > CTL_MAX_PASSWORD)
		return explicit_bzero(buf, sizeof(buf)), -1;
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	*line_r = xstrdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

static int ctl_ask_password(const char *prompt, char **pw_r)
{
	struct termios old, quiet;
	int ret;

	fputs(prompt, stderr);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &old) < 0)
		return -1;
	quiet = old;
	quiet.c_lflag &= ~ECHO;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	ret = ctl_read_line(stdin, pw_r);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return ret;
}

static int ctl_password_from_stdin(char **pw_r)
{
	char *again = NULL;
	int same;

	if (!isatty(STDIN_FILENO)) {
		if (ctl_read_line(stdin, pw_r) < 0)
			return ctl_error("не удалось прочитать пароль со стандартного "
					 "ввода / cannot read the password from stdin"), -1;
		return 0;
	}
	if (ctl_ask_password("Пароль / Password: ", pw_r) < 0)
		return ctl_error("не удалось прочитать пароль / cannot read the password"),
			-1;
	if (ctl_ask_password("Ещё раз / Again: ", &again) < 0) {
		ctl_wipe_free(*pw_r);
		return ctl_error("не удалось прочитать пароль / cannot read the password"),
			-1;
	}
	same = strcmp(*pw_r, again) == 0;
	ctl_wipe_free(again);
	if (!same) {
		ctl_wipe_free(*pw_r);
		*pw_r = NULL;
		return ctl_error("пароли не совпадают / passwords do not match"), -1;
	}
	return 0;
}

int ctl_read_password(const char *given, const char *file, int fd,
		      char **pw_r)
{
	char fdname[32];
	FILE *f;
	int ret;

	*pw_r = NULL;
	if (fd >= 0) {
		/* a descriptor the caller opened (a pipe from a secret
		 * store): nothing in argv, nothing on disk */
		snprintf(fdname, sizeof(fdname), "descriptor %d", fd);
		file = fdname;
	}
	if (given != NULL) {
		*pw_r = xstrdup(given);
	} else if (file != NULL) {
		f = fd >= 0 ? fdopen(fd, "r") : fopen(file, "r");
		if (f == NULL)
			return ctl_error("%s: %s", file, strerror(errno)), -1;
		ret = ctl_read_line(f, pw_r);
		fclose(f);
		if (ret < 0)
			return ctl_error("%s: нет пароля в первой строке или он длиннее %d / "
					 "no password on the first line or longer than %d",
					 file, CTL_MAX_PASSWORD, CTL_MAX_PASSWORD), -1;
	} else if (ctl_password_from_stdin(pw_r) < 0) {
		return -1;
	}
	if ((*pw_r)[0] == '\0' || strlen(*pw_r) > CTL_MAX_PASSWORD) {
		ctl_wipe_free(*pw_r);
		*pw_r = NULL;
		return ctl_error("пустой или слишком длинный пароль / empty or too long "
				 "password"), -1;
	}
	return 0;
}

/* ---- small formatting ---- */

void ctl_format_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)t);
}

size_t ctl_utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	}
	return n;
}

void ctl_col(const char *s, int width)
{
	int chars = (int)ctl_utf8_chars(s);

	fputs(s, stdout);
	printf("%*s", chars < width ? width - chars + 1 : 1, "");
}

void ctl_getopt_reset(void)
{
	optind = 0;
	opterr = 1;
}

int ctl_positional(int argc, char **argv, int min, int max)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };

	if (getopt_long(argc, argv, "", opts, NULL) != -1)
		return -1;
	return argc - optind >= min && argc - optind <= max ? 0 : -1;
}

/* ---- main ---- */

/* A command is one to three words ("status", "org add", "api cert add"). */
static const struct ctl_cmd *ctl_cmd_find(int argc, char **argv, int *words_r)
{
	char name[96];
	size_t i, len;
	int words, w;

	for (i = 0; i < CTL_N_CMDS; i++) {
		words = 1;
		for (const char *p = ctl_cmds[i].name; *p != '\0'; p++)
			words += *p == ' ';
		if (argc < words)
			continue;
		name[0] = '\0';
		for (w = 0, len = 0; w < words && len < sizeof(name); w++)
			len += (size_t)snprintf(name + len, sizeof(name) - len,
						"%s%s", w > 0 ? " " : "", argv[w]);
		if (len < sizeof(name) && strcmp(name, ctl_cmds[i].name) == 0) {
			*words_r = words;
			return &ctl_cmds[i];
		}
	}
	return NULL;
}

static int ctl_open(struct ctl *ctl, const char *conf_path)
{
	const char *serr = NULL;
	char *error = NULL;

	if (settings_load(conf_path, &ctl->set, &error) < 0) {
		ctl_error("%s", error);
		free(error);
		return -1;
	}
	if (crypto_init() < 0)
		return ctl_error("OpenSSL: ошибка инициализации / initialisation "
				 "failed"), -1;
	if (ctl_trust_configure(ctl) < 0)
		return -1;
	if (store_open(ctl->set.store_path, &ctl->store, &serr) < 0)
		return ctl_error("%s", serr), -1;
	return 0;
}

static void ctl_close(struct ctl *ctl)
{
	core_close(&ctl->core);
	store_close(&ctl->store);
	settings_free(&ctl->set);
	explicit_bzero(ctl->node_key, sizeof(ctl->node_key));
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *conf_path = CTL_DEFAULT_CONF;
	const struct ctl_cmd *cmd;
	struct ctl ctl;
	int ch, words, ret;

	log_init("edomailctl", LOG_LVL_ERROR);
	/* The store, the node key and exported keys: private to the owner
	 * (doc/robustness.md, "Files at rest"). */
	umask(077);
	/* '+': stop at the command, whose own options come later. */
	while ((ch = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'h':
			ctl_usage_all(stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("edomailctl %s\n", EDOMAIL_VERSION);
			return CTL_EXIT_OK;
		default:
			ctl_usage_all(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0 || (cmd = ctl_cmd_find(argc, argv, &words)) == NULL) {
		if (argc > 0)
			fprintf(stderr, "edomailctl: неизвестная команда / unknown "
				"command: %s\n", argv[0]);
		ctl_usage_all(stderr);
		return CTL_EXIT_USAGE;
	}
	memset(&ctl, 0, sizeof(ctl));
	if (ctl_open(&ctl, conf_path) < 0) {
		ctl_close(&ctl);
		return CTL_EXIT_ERROR;
	}
	/* The command sees argv[0] as its name, then its own arguments. */
	argv += words - 1;
	argc -= words - 1;
	argv[0] = "edomailctl";
	ctl_getopt_reset();
	ret = cmd->run(&ctl, argc, argv);
	ctl_close(&ctl);
	return ret;
}
