/* ESMTP command and content parsing without I/O (see smtp-parser.h). */
#include "smtp/smtp-parser.h"

#include "lib/util.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* ---- lines ---- */

void smtp_line_reader_init(struct smtp_line_reader *lr, size_t max)
{
	lr->max = max;
	lr->discarding = 0;
}

int smtp_line_read(struct smtp_line_reader *lr, const unsigned char *data,
		   size_t len, size_t *line_len_r, size_t *consumed_r)
{
	const unsigned char *lf = memchr(data, '\n', len);

	*line_len_r = 0;
	*consumed_r = 0;
	if (lr->discarding) {
		/* The rest of a line already known to be too long: drop it
		 * as it comes, so it never costs memory. */
		if (lf == NULL) {
			*consumed_r = len;
			return -2;
		}
		*consumed_r = (size_t)(lf - data) + 1;
		lr->discarding = 0;
		return -1;
	}
	if (lf == NULL) {
		if (len >= lr->max) {
			lr->discarding = 1;
			*consumed_r = len;
		}
		return -2;
	}
	size_t n = (size_t)(lf - data) + 1;
	if (n > lr->max) {
		*consumed_r = n;
		return -1;
	}
	size_t l = n - 1;
	if (l > 0 && data[l - 1] == '\r')
		l--;
	*line_len_r = l;
	*consumed_r = n;
	return 1;
}

/* ---- verbs ---- */

static const struct {
	enum smtp_cmd id;
	const char *name;
} smtp_verbs[] = {
	{ SMTP_CMD_HELO, "HELO" },
	{ SMTP_CMD_EHLO, "EHLO" },
	{ SMTP_CMD_STARTTLS, "STARTTLS" },
	{ SMTP_CMD_AUTH, "AUTH" },
	{ SMTP_CMD_MAIL, "MAIL" },
	{ SMTP_CMD_RCPT, "RCPT" },
	{ SMTP_CMD_DATA, "DATA" },
	{ SMTP_CMD_BDAT, "BDAT" },
	{ SMTP_CMD_RSET, "RSET" },
	{ SMTP_CMD_NOOP, "NOOP" },
	{ SMTP_CMD_VRFY, "VRFY" },
	{ SMTP_CMD_EXPN, "EXPN" },
	{ SMTP_CMD_HELP, "HELP" },
	{ SMTP_CMD_QUIT, "QUIT" },
	/* An HTTP request sent to the SMTP port (a browser, a cross-protocol
	 * attack): recognised so the session can hang up at once. */
	{ SMTP_CMD_HTTP, "GET" },
	{ SMTP_CMD_HTTP, "POST" },
	{ SMTP_CMD_HTTP, "HEAD" },
	{ SMTP_CMD_HTTP, "PUT" },
	{ SMTP_CMD_HTTP, "CONNECT" },
};

const char *smtp_cmd_name(enum smtp_cmd cmd)
{
	for (size_t i = 0; i < sizeof(smtp_verbs) / sizeof(smtp_verbs[0]); i++)
		if (smtp_verbs[i].id == cmd)
			return smtp_verbs[i].name;
	return "?";
}

static const char *skip_sp(const char *p)
{
	while (*p == ' ')
		p++;
	return p;
}

enum smtp_cmd smtp_parse_verb(const char *line, const char **args_r)
{
	size_t n = strcspn(line, " ");
	enum smtp_cmd id = SMTP_CMD_UNKNOWN;

	*args_r = line + n;
	for (size_t i = 0; i < sizeof(smtp_verbs) / sizeof(smtp_verbs[0]); i++) {
		if (strlen(smtp_verbs[i].name) == n &&
		    strncasecmp(line, smtp_verbs[i].name, n) == 0) {
			id = smtp_verbs[i].id;
			break;
		}
	}
	const char *args = skip_sp(line + n);
	*args_r = args;
	if (id == SMTP_CMD_MAIL || id == SMTP_CMD_RCPT) {
		const char *word = id == SMTP_CMD_MAIL ? "FROM:" : "TO:";
		size_t wl = strlen(word);
		/* RFC 5321 has no space between the word and its colon;
		 * the path may follow the colon after spaces (lenient, as
		 * many clients send "MAIL FROM: <a@b>"). */
		if (n == 4 && line[4] == ' ' && strncasecmp(line + 5, word, wl) == 0)
			*args_r = line + 5 + wl;
		else
			*args_r = NULL;
	}
	return id;
}

/* ---- errors ---- */

static int perr(struct smtp_parse_error *err, int code, const char *enh,
		const char *text)
{
	err->code = code;
	err->enhanced = enh;
	err->text = text;
	return -1;
}

/* ---- paths (RFC 5321 4.1.2, RFC 6531 3.3) ---- */

static int is_atext(unsigned char c)
{
	return isalnum(c) || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL ||
	       c >= 0x80;
}

static int is_let_dig(unsigned char c)
{
	return isalnum(c) || c >= 0x80;
}

/* Dot-string or quoted-string; returns the end or NULL. */
static const char *parse_local_part(const char *p)
{
	const unsigned char *s = (const unsigned char *)p;

	if (*s == '"') {
		s++;
		while (*s != '"') {
			if (*s == '\\') {
				if (s[1] < 32 || s[1] > 126)
					return NULL;
				s += 2;
			} else if ((*s >= 32 && *s <= 126) || *s >= 0x80) {
				s++;
			} else {
				return NULL;
			}
		}
		return (const char *)s + 1;
	}
	for (;;) {
		const unsigned char *atom = s;
		while (*s != '\0' && is_atext(*s))
			s++;
		if (s == atom)
			return NULL;
		if (*s != '.')
			return (const char *)s;
		s++;
	}
}

static const char *parse_domain(const char *p)
{
	const unsigned char *s = (const unsigned char *)p;

	if (*s == '[') {
		/* Address literal: dtext up to ']'. */
		s++;
		const unsigned char *start = s;
		while (*s != ']') {
			if (*s < 33 || *s > 126 || *s == '[' || *s == '\\')
				return NULL;
			s++;
		}
		return s == start ? NULL : (const char *)s + 1;
	}
	for (;;) {
		const unsigned char *label = s;
		while (*s != '\0' && (is_let_dig(*s) || *s == '-'))
			s++;
		if (s == label || *label == '-' || s[-1] == '-')
			return NULL;
		if (*s != '.')
			return (const char *)s;
		s++;
	}
}

/* "@a.example,@b.example:" before the mailbox (RFC 5321 4.1.2 A-d-l):
 * accepted and ignored (RFC 5321 C). */
static const char *skip_source_route(const char *p)
{
	while (*p == '@') {
		const char *end = parse_domain(p + 1);
		if (end == NULL)
			return NULL;
		p = end;
		if (*p == ',')
			p++;
		else if (*p == ':')
			return p + 1;
		else
			return NULL;
	}
	return NULL;
}

static int parse_path(const char **pp, int rcpt, struct smtp_path *path,
		      struct smtp_parse_error *err)
{
	const char *enh = rcpt ? "5.1.3" : "5.1.7";
	const char *p = skip_sp(*pp);

	memset(path, 0, sizeof(*path));
	if (*p != '<')
		return perr(err, 501, enh,
			    "Адрес нужно заключить в угловые скобки: <адрес> / "
			    "the address must be enclosed in angle brackets: <address>");
	p++;
	if (*p == '>') {
		if (rcpt)
			return perr(err, 501, enh,
				    "Пустой адрес получателя / empty recipient address");
		*pp = p + 1;
		return 0;
	}
	if (*p == '@') {
		p = skip_source_route(p);
		if (p == NULL)
			return perr(err, 501, enh,
				    "Ошибка в маршруте адреса / bad source route in address");
	}
	const char *start = p;
	const char *at = parse_local_part(p);
	if (at == NULL || *at != '@')
		return perr(err, 501, enh,
			    "Ошибка в адресе: нужен вид имя@домен / "
			    "bad address syntax, expected name@domain");
	if ((size_t)(at - start) > SMTP_LOCAL_MAX)
		return perr(err, 501, enh,
			    "Имя в адресе длиннее 64 символов / local part longer than 64 octets");
	const char *end = parse_domain(at + 1);
	if (end == NULL || *end != '>')
		return perr(err, 501, enh,
			    "Ошибка в домене адреса / bad domain in address");
	if ((size_t)(end - at - 1) > SMTP_DOMAIN_MAX)
		return perr(err, 501, enh,
			    "Домен длиннее 255 символов / domain longer than 255 octets");
	size_t n = (size_t)(end - start);
	if (n > SMTP_PATH_MAX)
		return perr(err, 501, enh,
			    "Адрес длиннее 256 символов / path longer than 256 octets");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)start[i] >= 0x80)
			path->utf8 = 1;
	if (path->utf8 && !util_utf8_valid((const unsigned char *)start, n))
		return perr(err, 501, enh,
			    "Адрес не в кодировке UTF-8 / address is not valid UTF-8");
	memcpy(path->addr, start, n);
	path->addr[n] = '\0';
	*pp = end + 1;
	return 0;
}

/* ---- ESMTP parameters ---- */

struct esmtp_param {
	char key[32];
	const char *value;	/* NULL when no '=' */
	size_t value_len;
};

/* Next "KEY[=VALUE]" (RFC 5321 4.1.2 esmtp-param); 1 found, 0 at the end,
 * -1 syntax error. */
static int next_param(const char **pp, struct esmtp_param *prm)
{
	const char *p = *pp;

	if (*p == '\0')
		return 0;
	if (*p != ' ')
		return -1;
	p = skip_sp(p);
	if (*p == '\0')
		return 0;
	size_t k = 0;
	if (!isalnum((unsigned char)*p))
		return -1;
	while (isalnum((unsigned char)*p) || *p == '-') {
		if (k + 1 >= sizeof(prm->key))
			return -1;
		prm->key[k++] = (char)toupper((unsigned char)*p);
		p++;
	}
	prm->key[k] = '\0';
	prm->value = NULL;
	prm->value_len = 0;
	if (*p == '=') {
		p++;
		prm->value = p;
		while ((unsigned char)*p > 32 && *p != '=' &&
		       (unsigned char)*p < 127)
			p++;
		prm->value_len = (size_t)(p - prm->value);
		if (prm->value_len == 0)
			return -1;
	}
	if (*p != '\0' && *p != ' ')
		return -1;
	*pp = p;
	return 1;
}

static int value_is(const struct esmtp_param *prm, const char *word)
{
	return prm->value != NULL && prm->value_len == strlen(word) &&
	       strncasecmp(prm->value, word, prm->value_len) == 0;
}

int smtp_xtext_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (*p == '+') {
			if (!isxdigit(p[1]) || !isxdigit(p[2]))
				return 0;
			p += 2;
		} else if (*p < 33 || *p > 126 || *p == '=') {
			return 0;
		}
	}
	return 1;
}

static int parse_size(const struct esmtp_param *prm, uint64_t *size_r)
{
	uint64_t v = 0;

	if (prm->value == NULL || prm->value_len > 19)
		return -1;
	for (size_t i = 0; i < prm->value_len; i++) {
		if (!isdigit((unsigned char)prm->value[i]))
			return -1;
		v = v * 10 + (uint64_t)(prm->value[i] - '0');
	}
	*size_r = v;
	return 0;
}

static const char txt_param_syntax[] =
	"Ошибка в параметрах команды / syntax error in parameters";
static const char txt_param_dup[] =
	"Параметр указан дважды / parameter given twice";
static const char txt_param_unknown[] =
	"Неизвестный параметр / unrecognised parameter";

static int mail_param(const struct esmtp_param *prm,
		      struct smtp_mail_params *mp, unsigned *seen,
		      struct smtp_parse_error *err)
{
	static const char *const keys[] = { "SIZE", "BODY", "SMTPUTF8", "RET",
					    "ENVID", "AUTH" };
	unsigned bit = 0;

	for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(prm->key, keys[i]) == 0)
			bit = 1u << i;
	if (bit == 0)
		return perr(err, 555, "5.5.4", txt_param_unknown);
	if (*seen & bit)
		return perr(err, 501, "5.5.4", txt_param_dup);
	*seen |= bit;

	if (strcmp(prm->key, "SIZE") == 0) {
		if (parse_size(prm, &mp->size) < 0)
			return perr(err, 501, "5.5.4",
				    "SIZE: нужно число байт / SIZE needs a number of octets");
		mp->has_size = 1;
	} else if (strcmp(prm->key, "BODY") == 0) {
		if (value_is(prm, "7BIT"))
			mp->body = SMTP_BODY_7BIT;
		else if (value_is(prm, "8BITMIME"))
			mp->body = SMTP_BODY_8BITMIME;
		else
			return perr(err, 555, "5.5.4",
				    "BODY: допустимы 7BIT и 8BITMIME / BODY must be 7BIT or 8BITMIME");
	} else if (strcmp(prm->key, "SMTPUTF8") == 0) {
		if (prm->value != NULL)
			return perr(err, 501, "5.5.4",
				    "SMTPUTF8 не имеет значения / SMTPUTF8 takes no value");
		mp->smtputf8 = 1;
	} else if (strcmp(prm->key, "RET") == 0) {
		if (value_is(prm, "FULL"))
			mp->ret = SMTP_RET_FULL;
		else if (value_is(prm, "HDRS"))
			mp->ret = SMTP_RET_HDRS;
		else
			return perr(err, 501, "5.5.4",
				    "RET: допустимы FULL и HDRS / RET must be FULL or HDRS");
	} else if (strcmp(prm->key, "ENVID") == 0) {
		if (prm->value == NULL || prm->value_len > SMTP_ENVID_MAX)
			return perr(err, 501, "5.5.4",
				    "ENVID: пусто или длиннее 100 символов / ENVID empty or longer than 100");
		memcpy(mp->envid, prm->value, prm->value_len);
		mp->envid[prm->value_len] = '\0';
		if (!smtp_xtext_valid(mp->envid))
			return perr(err, 501, "5.5.4",
				    "ENVID: ошибка в xtext / ENVID is not valid xtext");
	} else {
		/* AUTH=<mailbox> of RFC 4954 5: a relay's assertion that we
		 * do not need; the authenticated user is what counts. */
		if (prm->value == NULL)
			return perr(err, 501, "5.5.4", txt_param_syntax);
		mp->has_auth = 1;
	}
	return 0;
}

int smtp_parse_mail(const char *args, struct smtp_path *path_r,
		    struct smtp_mail_params *params_r,
		    struct smtp_parse_error *err_r)
{
	struct esmtp_param prm;
	unsigned seen = 0;
	int r;

	memset(params_r, 0, sizeof(*params_r));
	if (args == NULL)
		return perr(err_r, 501, "5.5.4",
			    "Нужно: MAIL FROM:<адрес> / syntax: MAIL FROM:<address>");
	if (parse_path(&args, 0, path_r, err_r) < 0)
		return -1;
	while ((r = next_param(&args, &prm)) > 0)
		if (mail_param(&prm, params_r, &seen, err_r) < 0)
			return -1;
	if (r < 0)
		return perr(err_r, 501, "5.5.4", txt_param_syntax);
	return 0;
}

static int parse_notify(const struct esmtp_param *prm, unsigned *notify_r)
{
	static const struct {
		const char *word;
		unsigned bit;
	} words[] = {
		{ "NEVER", SMTP_NOTIFY_NEVER },
		{ "SUCCESS", SMTP_NOTIFY_SUCCESS },
		{ "FAILURE", SMTP_NOTIFY_FAILURE },
		{ "DELAY", SMTP_NOTIFY_DELAY },
	};
	const char *p = prm->value, *end;
	unsigned notify = 0;

	if (p == NULL)		/* NOTIFY without a value */
		return -1;
	end = p + prm->value_len;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t n = (size_t)((comma != NULL ? comma : end) - p);
		unsigned bit = 0;
		for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strlen(words[i].word) == n &&
			    strncasecmp(p, words[i].word, n) == 0)
				bit = words[i].bit;
		if (bit == 0 || (notify & bit))
			return -1;
		notify |= bit;
		if (comma == NULL)
			break;
		p = comma + 1;
		if (p == end)
			return -1;
	}
	/* NEVER excludes the others (RFC 3461 4.1). */
	if ((notify & SMTP_NOTIFY_NEVER) && notify != SMTP_NOTIFY_NEVER)
		return -1;
	*notify_r = notify;
	return 0;
}

static int parse_orcpt(const struct esmtp_param *prm, char *out)
{
	if (prm->value == NULL || prm->value_len > SMTP_ORCPT_MAX)
		return -1;
	memcpy(out, prm->value, prm->value_len);
	out[prm->value_len] = '\0';
	char *semi = strchr(out, ';');
	if (semi == NULL || semi == out)
		return -1;
	for (char *p = out; p < semi; p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			return -1;
	return smtp_xtext_valid(semi + 1) && semi[1] != '\0' ? 0 : -1;
}

int smtp_parse_rcpt(const char *args, struct smtp_path *path_r,
		    struct smtp_rcpt_params *params_r,
		    struct smtp_parse_error *err_r)
{
	struct esmtp_param prm;
	int r, seen_notify = 0, seen_orcpt = 0;

	memset(params_r, 0, sizeof(*params_r));
	if (args == NULL)
		return perr(err_r, 501, "5.5.4",
			    "Нужно: RCPT TO:<адрес> / syntax: RCPT TO:<address>");
	if (parse_path(&args, 1, path_r, err_r) < 0)
		return -1;
	while ((r = next_param(&args, &prm)) > 0) {
		if (strcmp(prm.key, "NOTIFY") == 0) {
			if (seen_notify++)
				return perr(err_r, 501, "5.5.4", txt_param_dup);
			if (parse_notify(&prm, &params_r->notify) < 0)
				return perr(err_r, 501, "5.5.4",
					    "NOTIFY: NEVER или SUCCESS,FAILURE,DELAY / "
					    "NOTIFY must be NEVER or a list of SUCCESS,FAILURE,DELAY");
		} else if (strcmp(prm.key, "ORCPT") == 0) {
			if (seen_orcpt++)
				return perr(err_r, 501, "5.5.4", txt_param_dup);
			if (parse_orcpt(&prm, params_r->orcpt) < 0)
				return perr(err_r, 501, "5.5.4",
					    "ORCPT: нужно тип;xtext / ORCPT must be addr-type;xtext");
		} else {
			return perr(err_r, 555, "5.5.4", txt_param_unknown);
		}
	}
	if (r < 0)
		return perr(err_r, 501, "5.5.4", txt_param_syntax);
	return 0;
}

int smtp_parse_bdat(const char *args, uint64_t *size_r, int *last_r,
		    struct smtp_parse_error *err_r)
{
	const char *p = args;
	uint64_t v = 0;
	size_t digits = 0;

	*last_r = 0;
	*size_r = 0;
	while (isdigit((unsigned char)*p)) {
		if (++digits > 19)
			return perr(err_r, 501, "5.5.4",
				    "BDAT: слишком большое число / BDAT size too large");
		v = v * 10 + (uint64_t)(*p - '0');
		p++;
	}
	if (digits == 0)
		return perr(err_r, 501, "5.5.4",
			    "Нужно: BDAT <размер> [LAST] / syntax: BDAT <size> [LAST]");
	p = skip_sp(p);
	if (strncasecmp(p, "LAST", 4) == 0 && (p == args || p[-1] == ' ')) {
		*last_r = 1;
		p = skip_sp(p + 4);
	}
	if (*p != '\0')
		return perr(err_r, 501, "5.5.4",
			    "Нужно: BDAT <размер> [LAST] / syntax: BDAT <size> [LAST]");
	*size_r = v;
	return 0;
}

int smtp_parse_auth(char *args, const char **mech_r, const char **initial_r,
		    struct smtp_parse_error *err_r)
{
	char *p = args;

	*mech_r = NULL;
	*initial_r = NULL;
	char *mech = p;
	while (isalnum((unsigned char)*p) || *p == '-' || *p == '_') {
		*p = (char)toupper((unsigned char)*p);
		p++;
	}
	if (p == mech || p - mech > 20 || (*p != '\0' && *p != ' '))
		return perr(err_r, 501, "5.5.4",
			    "Нужно: AUTH <механизм> [ответ] / syntax: AUTH <mechanism> [initial-response]");
	if (*p == ' ') {
		*p++ = '\0';
		p = (char *)skip_sp(p);
		char *resp = p;
		while (isalnum((unsigned char)*p) || *p == '+' || *p == '/' ||
		       *p == '=')
			p++;
		if (*p != '\0' || resp == p)
			return perr(err_r, 501, "5.5.2",
				    "Ответ AUTH не в base64 / AUTH response is not base64");
		*initial_r = strcmp(resp, "=") == 0 ? "" : resp;
	}
	*mech_r = mech;
	return 0;
}

/* ---- content ---- */

enum {
	DR_BOL = 0,	/* at the beginning of a line */
	DR_DOT,		/* a '.' at the beginning of a line */
	DR_DOT_CR,	/* ".\r" at the beginning of a line */
	DR_MID,		/* inside a line */
	DR_CR,		/* a '\r' inside a line */
};
/* Bit 0x10 of state: the current line began after a CRLF (or at the very
 * start), the only place where "." CRLF ends the data. */
#define DR_CRLF_BOL 0x10
#define DR_RAW 0x20	/* BDAT: no dot handling */

void smtp_data_reader_init(struct smtp_data_reader *dr, struct buf *out,
			   size_t max)
{
	memset(dr, 0, sizeof(*dr));
	dr->state = DR_BOL | DR_CRLF_BOL;
	dr->out = out;
	dr->max = max;
}

static void dr_emit(struct smtp_data_reader *dr, const void *p, size_t n)
{
	dr->total += n;
	if (dr->over)
		return;
	if (dr->total > dr->max) {
		/* Keep reading to stay in sync with the client, but stop
		 * keeping bytes: the answer will be 552. */
		dr->over = 1;
		buf_free(dr->out);
		return;
	}
	buf_append(dr->out, p, n);
}

static void dr_set(struct smtp_data_reader *dr, int st, int crlf_bol)
{
	dr->state = st | (crlf_bol ? DR_CRLF_BOL : 0) | (dr->state & DR_RAW);
}

/* One step; returns the number of bytes of data used (>= 1), 0 when the
 * byte only changed state and must be seen again, or -1 at the end. */
static long dr_step(struct smtp_data_reader *dr, const unsigned char *data,
		    size_t len)
{
	int st = dr->state & 0x0f;
	int crlf_bol = (dr->state & DR_CRLF_BOL) != 0;
	unsigned char c = data[0];

	switch (st) {
	case DR_BOL:
		if (c == '.' && !(dr->state & DR_RAW)) {
			dr_set(dr, DR_DOT, crlf_bol);
			return 1;
		}
		dr_set(dr, DR_MID, 0);
		return 0;
	case DR_DOT:
		if (c == '\r') {
			dr_set(dr, DR_DOT_CR, crlf_bol);
			return 1;
		}
		if (c == '\n') {
			/* "." and a bare LF: content, not the end. */
			dr->bare_lf++;
			dr_emit(dr, ".\r\n", 3);
			dr_set(dr, DR_BOL, 0);
			return 1;
		}
		/* A stuffed dot: drop it, the rest is the line. */
		dr_set(dr, DR_MID, 0);
		return 0;
	case DR_DOT_CR:
		if (c == '\n') {
			if (crlf_bol)
				return -1;
			dr_emit(dr, ".\r\n", 3);
			dr_set(dr, DR_BOL, 1);
			return 1;
		}
		dr->bare_cr++;
		dr_emit(dr, "\r\n", 2);
		dr_set(dr, DR_BOL, 0);
		return 0;
	case DR_CR:
		if (c == '\n') {
			dr_emit(dr, "\r\n", 2);
			dr_set(dr, DR_BOL, 1);
			return 1;
		}
		dr->bare_cr++;
		dr_emit(dr, "\r\n", 2);
		dr_set(dr, DR_BOL, 0);
		return 0;
	default: /* DR_MID */
		break;
	}
	if (c == '\r') {
		dr_set(dr, DR_CR, 0);
		return 1;
	}
	if (c == '\n') {
		dr->bare_lf++;
		dr_emit(dr, "\r\n", 2);
		dr_set(dr, DR_BOL, 0);
		return 1;
	}
	if (c == '\0') {
		dr->nul++;
		return 1;
	}
	/* A run of ordinary octets in one append. */
	size_t n = 1;
	while (n < len && data[n] != '\r' && data[n] != '\n' && data[n] != '\0')
		n++;
	dr_emit(dr, data, n);
	return (long)n;
}

int smtp_data_read(struct smtp_data_reader *dr, const unsigned char *data,
		   size_t len, size_t *consumed_r)
{
	size_t i = 0;

	while (i < len) {
		long used = dr_step(dr, data + i, len - i);
		if (used < 0) {
			*consumed_r = i + 1;
			return 1;
		}
		i += (size_t)used;
	}
	*consumed_r = len;
	return -2;
}

void smtp_data_chunk(struct smtp_data_reader *dr, const unsigned char *data,
		     size_t len)
{
	size_t i = 0;

	dr->state |= DR_RAW;
	while (i < len)
		i += (size_t)dr_step(dr, data + i, len - i);
}

void smtp_data_chunk_end(struct smtp_data_reader *dr)
{
	if ((dr->state & 0x0f) == DR_CR) {
		dr->bare_cr++;
		dr_emit(dr, "\r\n", 2);
		dr_set(dr, DR_BOL, 0);
	}
}
