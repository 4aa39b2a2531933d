#ifndef SMTP_SMTP_PARSER_H
#define SMTP_SMTP_PARSER_H
/* The ESMTP command parser: no I/O, no allocation of session state.  The
 * session feeds it the bytes it has; the parser says "a line", "need more"
 * or "error".  Unit tests feed it one byte at a time.
 *
 * Limits come first (RFC 5321 4.5.3.1): a command line is at most 1000
 * octets with its CRLF (AUTH lines 12288, RFC 4954 4), a path 256, a local
 * part 64, a domain 255. */
#include <stddef.h>
#include <stdint.h>

struct buf;

#define SMTP_LINE_MAX 1000
#define SMTP_AUTH_LINE_MAX 12288
#define SMTP_PATH_MAX 256
#define SMTP_LOCAL_MAX 64
#define SMTP_DOMAIN_MAX 255
#define SMTP_ENVID_MAX 100	/* RFC 3461 4.4 */
#define SMTP_ORCPT_MAX 500	/* RFC 3461 4.2 */

/* ---- lines ---- */

/* A line ends at LF; a CR just before it is part of the terminator.  A
 * bare LF is accepted as a command terminator (clients that send it mean
 * it), see doc/smtp.md. */
struct smtp_line_reader {
	size_t max;		/* with the terminator */
	int discarding;		/* inside an over-long line */
};

void smtp_line_reader_init(struct smtp_line_reader *lr, size_t max);
/* Looks for one line at the start of data.  Returns
 *   1: a line of *line_len_r bytes (terminator excluded) starts at data;
 *      *consumed_r counts it with its terminator;
 *  -2: need more input; *consumed_r bytes (of an over-long line being
 *      discarded) may be dropped;
 *  -1: an over-long line ended; *consumed_r bytes must be dropped and the
 *      session answers "500 5.5.2 line too long". */
int smtp_line_read(struct smtp_line_reader *lr, const unsigned char *data,
		   size_t len, size_t *line_len_r, size_t *consumed_r);

/* ---- commands ---- */

enum smtp_cmd {
	SMTP_CMD_UNKNOWN = 0,
	SMTP_CMD_HELO,
	SMTP_CMD_EHLO,
	SMTP_CMD_STARTTLS,
	SMTP_CMD_AUTH,
	SMTP_CMD_MAIL,
	SMTP_CMD_RCPT,
	SMTP_CMD_DATA,
	SMTP_CMD_BDAT,
	SMTP_CMD_RSET,
	SMTP_CMD_NOOP,
	SMTP_CMD_VRFY,
	SMTP_CMD_EXPN,
	SMTP_CMD_HELP,
	SMTP_CMD_QUIT,
	SMTP_CMD_HTTP,		/* "GET /", "POST /": not a mail client */
};

/* Recognises the verb of a NUL-terminated command line (case-insensitive).
 * *args_r points at the argument text: after "MAIL FROM:" / "RCPT TO:"
 * (NULL when that word is missing), else after the verb and its spaces
 * ("" when none). */
enum smtp_cmd smtp_parse_verb(const char *line, const char **args_r);
const char *smtp_cmd_name(enum smtp_cmd cmd);

/* An error of the parser, mapped 1:1 to an SMTP reply. */
struct smtp_parse_error {
	int code;		/* 501, 553, 555 */
	const char *enhanced;	/* "5.5.4" */
	const char *text;	/* Russian / English */
};

enum smtp_body { SMTP_BODY_NONE = 0, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME };
enum smtp_ret { SMTP_RET_NONE = 0, SMTP_RET_FULL, SMTP_RET_HDRS };

struct smtp_mail_params {
	int has_size;
	uint64_t size;
	enum smtp_body body;
	int smtputf8;
	enum smtp_ret ret;
	char envid[SMTP_ENVID_MAX + 1];	/* xtext as sent, "" when absent */
	int has_auth;			/* AUTH=<...> (RFC 4954 5), ignored */
};

#define SMTP_NOTIFY_NEVER   0x1
#define SMTP_NOTIFY_SUCCESS 0x2
#define SMTP_NOTIFY_FAILURE 0x4
#define SMTP_NOTIFY_DELAY   0x8

struct smtp_rcpt_params {
	unsigned notify;		/* 0 when absent */
	char orcpt[SMTP_ORCPT_MAX + 1];	/* "rfc822;xtext" as sent, or "" */
};

/* A path as "local@domain" (source route dropped); "" for the null path
 * "<>" of MAIL FROM.  Non-ASCII is UTF-8-validated and flagged. */
struct smtp_path {
	char addr[SMTP_PATH_MAX + 1];
	int utf8;		/* has non-ASCII octets (needs SMTPUTF8) */
};

/* "MAIL FROM:" arguments.  0, or -1 with *err_r. */
int smtp_parse_mail(const char *args, struct smtp_path *path_r,
		    struct smtp_mail_params *params_r,
		    struct smtp_parse_error *err_r);
/* "RCPT TO:" arguments.  The null path is refused.  0, or -1. */
int smtp_parse_rcpt(const char *args, struct smtp_path *path_r,
		    struct smtp_rcpt_params *params_r,
		    struct smtp_parse_error *err_r);
/* "BDAT <size> [LAST]".  0, or -1. */
int smtp_parse_bdat(const char *args, uint64_t *size_r, int *last_r,
		    struct smtp_parse_error *err_r);
/* "AUTH <mechanism> [initial-response]": *mech_r and *initial_r point into
 * args copies in the caller's buffer (mech upper-cased in place); initial
 * is NULL when absent, "" for "=" (an empty response, RFC 4954 4). */
int smtp_parse_auth(char *args, const char **mech_r, const char **initial_r,
		    struct smtp_parse_error *err_r);
/* RFC 3461 4: xtext is printable ASCII except '+' and '=', those as +HH. */
int smtp_xtext_valid(const char *s);

/* ---- message content ---- */

/* DATA content (dot-stuffed, RFC 5321 4.5.2) and BDAT chunks (raw, RFC
 * 3030) into a message with CRLF line ends.
 * Decisions (doc/smtp.md):
 *  - the end of DATA is only <CRLF>.<CRLF> (the line before it ended with
 *    CRLF too: no SMTP smuggling through "<LF>.<LF>" or "<LF>.<CRLF>");
 *  - bare LF and bare CR inside the content are line ends and become CRLF
 *    (counted so the log can say so);
 *  - NUL octets are counted and dropped; the session refuses the message;
 *  - past max bytes the content is counted but no longer kept. */
struct smtp_data_reader {
	int state;
	struct buf *out;
	size_t max;
	uint64_t total;		/* content bytes after unstuffing */
	int over;		/* total > max */
	unsigned long nul, bare_lf, bare_cr;
};

void smtp_data_reader_init(struct smtp_data_reader *dr, struct buf *out,
			   size_t max);
/* DATA: 1 when the end-of-data line was consumed (*consumed_r includes
 * it), -2 when all of data was consumed and more is needed. */
int smtp_data_read(struct smtp_data_reader *dr, const unsigned char *data,
		   size_t len, size_t *consumed_r);
/* BDAT: all of data is content. */
void smtp_data_chunk(struct smtp_data_reader *dr, const unsigned char *data,
		     size_t len);
/* BDAT LAST: ends a pending bare CR. */
void smtp_data_chunk_end(struct smtp_data_reader *dr);

#endif
