/* The ESMTP parser fed arbitrary bytes the way a submission session uses
 * it: command lines through the line reader, each line through the verb
 * recogniser and the MAIL/RCPT/BDAT/AUTH argument parsers, DATA content
 * through the dot-unstuffing reader and BDAT chunks through the raw one.
 * The input runs twice, all at once and in random-sized chunks; the two
 * transcripts must be equal.  Checked besides the sanitizers:
 *  - lines respect the reader's limit; paths, ENVID and ORCPT their sizes;
 *  - errors are 5xx with an enhanced code and a "Русский / English" text;
 *  - AUTH mechanisms come back upper-cased;
 *  - message content has CRLF line ends only and no NUL, and its length is
 *    what the reader counted (until the size limit). */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "smtp/smtp-parser.h"

#include "fuzz-common.h"

/* Small, so that the fuzzer gets past it. */
#define FUZZ_SMTP_MAX_MESSAGE 8192
#define FUZZ_SMTP_MAX_COMMANDS 2048

enum fuzz_smtp_mode { MODE_LINE, MODE_DATA, MODE_BDAT, MODE_END };

struct fuzz_smtp {
	struct buf *t;			/* transcript */
	struct buf pending;		/* received, not yet consumed */
	enum fuzz_smtp_mode mode;
	struct smtp_line_reader lr;
	int auth_line;			/* the next line is a SASL response */
	struct smtp_data_reader dr;
	struct buf content;
	int bdat_open;			/* a BDAT transaction is going on */
	uint64_t bdat_left;
	int bdat_last;
	unsigned commands;
};

static void fuzz_smtp_error(struct fuzz_smtp *s, const char *what,
			    const struct smtp_parse_error *err)
{
	FUZZ_CHECK(err->code >= 500 && err->code <= 559);
	FUZZ_CHECK(err->enhanced != NULL && err->enhanced[0] == '5' &&
		   err->enhanced[1] == '.');
	FUZZ_CHECK(err->text != NULL && strstr(err->text, " / ") != NULL);
	buf_printf(s->t, "%s ERR %d %s %s\n", what, err->code, err->enhanced,
		   err->text);
}

static void fuzz_smtp_path(struct fuzz_smtp *s, const struct smtp_path *path)
{
	size_t n = strnlen(path->addr, sizeof(path->addr));

	FUZZ_CHECK(n <= SMTP_PATH_MAX);
	buf_printf(s->t, " <%s> utf8=%d", path->addr, path->utf8);
}

static void fuzz_smtp_mail(struct fuzz_smtp *s, const char *args)
{
	struct smtp_path path;
	struct smtp_mail_params mp;
	struct smtp_parse_error err;

	if (smtp_parse_mail(args, &path, &mp, &err) < 0) {
		fuzz_smtp_error(s, "MAIL", &err);
		return;
	}
	buf_append_str(s->t, "MAIL");
	fuzz_smtp_path(s, &path);
	FUZZ_CHECK(strnlen(mp.envid, sizeof(mp.envid)) <= SMTP_ENVID_MAX);
	FUZZ_CHECK(mp.envid[0] == '\0' || smtp_xtext_valid(mp.envid));
	buf_printf(s->t, " size=%d/%llu body=%d utf8=%d ret=%d envid=%s auth=%d\n",
		   mp.has_size, (unsigned long long)mp.size, (int)mp.body,
		   mp.smtputf8, (int)mp.ret, mp.envid, mp.has_auth);
}

static void fuzz_smtp_rcpt(struct fuzz_smtp *s, const char *args)
{
	struct smtp_path path;
	struct smtp_rcpt_params rp;
	struct smtp_parse_error err;

	if (smtp_parse_rcpt(args, &path, &rp, &err) < 0) {
		fuzz_smtp_error(s, "RCPT", &err);
		return;
	}
	buf_append_str(s->t, "RCPT");
	fuzz_smtp_path(s, &path);
	/* the null path is for MAIL FROM only */
	FUZZ_CHECK(path.addr[0] != '\0');
	FUZZ_CHECK(strnlen(rp.orcpt, sizeof(rp.orcpt)) <= SMTP_ORCPT_MAX);
	FUZZ_CHECK((rp.notify & ~0xfu) == 0);
	buf_printf(s->t, " notify=%u orcpt=%s\n", rp.notify, rp.orcpt);
}

static void fuzz_smtp_auth(struct fuzz_smtp *s, const char *args)
{
	char *copy = xstrdup(args);
	const char *mech, *initial;
	struct smtp_parse_error err;

	if (smtp_parse_auth(copy, &mech, &initial, &err) < 0) {
		fuzz_smtp_error(s, "AUTH", &err);
	} else {
		FUZZ_CHECK(mech != NULL && *mech != '\0');
		for (const char *p = mech; *p != '\0'; p++)
			FUZZ_CHECK(!islower((unsigned char)*p));
		buf_printf(s->t, "AUTH %s %s\n", mech,
			   initial != NULL ? initial : "(none)");
		/* without an initial response the client sends it next,
		 * on a line that may be longer than a command */
		s->auth_line = initial == NULL;
	}
	free(copy);
}

/* A message (DATA) or a BDAT transaction is complete. */
static void fuzz_smtp_content_done(struct fuzz_smtp *s, int dotted)
{
	struct smtp_data_reader *dr = &s->dr;
	size_t bad;

	buf_printf(s->t, "CONTENT total=%llu over=%d nul=%lu lf=%lu cr=%lu\n",
		   (unsigned long long)dr->total, dr->over, dr->nul,
		   dr->bare_lf, dr->bare_cr);
	FUZZ_CHECK(dr->over == (dr->total > FUZZ_SMTP_MAX_MESSAGE));
	if (!dr->over) {
		FUZZ_CHECK(s->content.len == dr->total);
		if (!fuzz_crlf_ok(s->content.data, s->content.len, 0, &bad)) {
			fprintf(stderr, "fuzz: content breaks CRLF/NUL rules "
				"at offset %zu\n", bad);
			abort();
		}
		/* DATA ends only after a CRLF, which is part of the content */
		if (dotted && s->content.len > 0)
			FUZZ_CHECK(s->content.len >= 2 &&
				   memcmp(s->content.data + s->content.len - 2,
					  "\r\n", 2) == 0);
		buf_append(s->t, s->content.data, s->content.len);
		buf_append_str(s->t, "\n");
	}
	buf_free(&s->content);
	buf_init(&s->content);
	s->bdat_open = 0;
}

/* The session drops a BDAT transaction that never saw LAST. */
static void fuzz_smtp_end_bdat(struct fuzz_smtp *s)
{
	if (!s->bdat_open)
		return;
	buf_append_str(s->t, "BDAT dropped\n");
	buf_free(&s->content);
	s->bdat_open = 0;
}

static void fuzz_smtp_bdat(struct fuzz_smtp *s, const char *args)
{
	struct smtp_parse_error err;
	uint64_t size;
	int last;

	if (smtp_parse_bdat(args, &size, &last, &err) < 0) {
		fuzz_smtp_error(s, "BDAT", &err);
		return;
	}
	buf_printf(s->t, "BDAT %llu last=%d\n", (unsigned long long)size, last);
	if (!s->bdat_open) {
		smtp_data_reader_init(&s->dr, &s->content,
				      FUZZ_SMTP_MAX_MESSAGE);
		s->bdat_open = 1;
	}
	s->bdat_left = size;
	s->bdat_last = last;
	s->mode = MODE_BDAT;
}

static void fuzz_smtp_line(struct fuzz_smtp *s, const unsigned char *data,
			   size_t len)
{
	char *line = xstrndup((const char *)data, len);
	const char *args;
	enum smtp_cmd cmd;

	buf_printf(s->t, "LINE %zu\n", len);
	if (s->auth_line) {
		s->auth_line = 0;
		buf_printf(s->t, "SASL %s\n", line);
		free(line);
		return;
	}
	cmd = smtp_parse_verb(line, &args);
	FUZZ_CHECK(smtp_cmd_name(cmd) != NULL);
	if (cmd == SMTP_CMD_MAIL || cmd == SMTP_CMD_RCPT)
		FUZZ_CHECK(args == NULL ||
			   (args >= line && args <= line + strlen(line)));
	else
		FUZZ_CHECK(args != NULL && args >= line &&
			   args <= line + strlen(line));
	buf_printf(s->t, "VERB %s\n", smtp_cmd_name(cmd));
	switch (cmd) {
	case SMTP_CMD_RCPT:
		fuzz_smtp_rcpt(s, args);
		break;
	case SMTP_CMD_AUTH:
		fuzz_smtp_auth(s, args);
		break;
	case SMTP_CMD_BDAT:
		fuzz_smtp_bdat(s, args);
		break;
	case SMTP_CMD_DATA:
		/* RFC 3030 2: no DATA inside a BDAT transaction (503) */
		if (s->bdat_open) {
			buf_append_str(s->t, "DATA refused\n");
			break;
		}
		buf_reset(&s->content);
		smtp_data_reader_init(&s->dr, &s->content,
				      FUZZ_SMTP_MAX_MESSAGE);
		s->mode = MODE_DATA;
		break;
	case SMTP_CMD_RSET:
	case SMTP_CMD_MAIL:
	case SMTP_CMD_HELO:
	case SMTP_CMD_EHLO:
		/* these end a pending BDAT transaction */
		fuzz_smtp_end_bdat(s);
		if (cmd == SMTP_CMD_MAIL)
			fuzz_smtp_mail(s, args);
		break;
	case SMTP_CMD_HTTP:
	case SMTP_CMD_QUIT:
		s->mode = MODE_END;	/* the session closes */
		break;
	default:
		(void)smtp_xtext_valid(args);
		break;
	}
	free(line);
}

static void fuzz_smtp_drop(struct fuzz_smtp *s, size_t n)
{
	FUZZ_CHECK(n <= s->pending.len);
	memmove(s->pending.data, s->pending.data + n, s->pending.len - n);
	s->pending.len -= n;
}

/* One step on the pending bytes; 0 when more input is needed. */
static int fuzz_smtp_step(struct fuzz_smtp *s)
{
	size_t line_len, consumed, n;
	int r;

	switch (s->mode) {
	case MODE_LINE:
		if (s->commands++ >= FUZZ_SMTP_MAX_COMMANDS) {
			s->mode = MODE_END;
			return 0;
		}
		s->lr.max = s->auth_line ? SMTP_AUTH_LINE_MAX : SMTP_LINE_MAX;
		r = smtp_line_read(&s->lr, s->pending.data, s->pending.len,
				   &line_len, &consumed);
		FUZZ_CHECK(consumed <= s->pending.len);
		if (r == 1) {
			FUZZ_CHECK(line_len < consumed);
			FUZZ_CHECK(consumed <= s->lr.max);
			fuzz_smtp_line(s, s->pending.data, line_len);
		} else if (r == -1) {
			buf_append_str(s->t, "LINE too long\n");
			s->auth_line = 0;
		} else {
			FUZZ_CHECK(r == -2);
			s->commands--;
		}
		fuzz_smtp_drop(s, consumed);
		return r != -2;
	case MODE_DATA:
		r = smtp_data_read(&s->dr, s->pending.data, s->pending.len,
				   &consumed);
		FUZZ_CHECK(consumed <= s->pending.len);
		fuzz_smtp_drop(s, consumed);
		if (r == -2) {
			FUZZ_CHECK(s->pending.len == 0);
			return 0;
		}
		FUZZ_CHECK(r == 1);
		fuzz_smtp_content_done(s, 1);
		s->mode = MODE_LINE;
		return 1;
	case MODE_BDAT:
		n = s->bdat_left < s->pending.len ? (size_t)s->bdat_left :
			s->pending.len;
		if (n == 0 && s->bdat_left > 0)
			return 0;
		smtp_data_chunk(&s->dr, s->pending.data, n);
		fuzz_smtp_drop(s, n);
		s->bdat_left -= n;
		if (s->bdat_left > 0)
			return 0;
		if (s->bdat_last) {
			smtp_data_chunk_end(&s->dr);
			fuzz_smtp_content_done(s, 0);
		}
		s->mode = MODE_LINE;
		return 1;
	case MODE_END:
		break;
	}
	return 0;
}

static void fuzz_smtp_run(const uint8_t *data, size_t size, int chunked,
			  struct buf *t)
{
	struct fuzz_smtp s;
	uint64_t rng = fuzz_hash(data, size);
	size_t pos = 0;

	memset(&s, 0, sizeof(s));
	s.t = t;
	buf_init(&s.pending);
	buf_init(&s.content);
	smtp_line_reader_init(&s.lr, SMTP_LINE_MAX);
	while (pos < size && s.mode != MODE_END) {
		size_t n = chunked ? fuzz_chunk(&rng, size - pos) : size - pos;

		buf_append(&s.pending, data + pos, n);
		pos += n;
		while (s.mode != MODE_END && fuzz_smtp_step(&s))
			;
	}
	buf_free(&s.pending);
	buf_free(&s.content);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_same_either_way(data, size, fuzz_smtp_run);
	return 0;
}
