#ifndef SMTP_SMTP_REPLY_H
#define SMTP_SMTP_REPLY_H
/* SMTP replies: a code, an enhanced status code (RFC 3463, RFC 2034) and a
 * text a person reads, "Русский текст / English text".  A reply that does
 * not fit one 512-octet line (RFC 5321 4.5.3.1.5) is split into a
 * multi-line reply: first at " / " (Russian, then English), then at spaces. */
#include <stddef.h>

struct buf;

#define SMTP_REPLY_TEXT_MAX 1536
#define SMTP_REPLY_LINE_TEXT 480	/* text octets per line */

struct smtp_reply {
	int code;			/* 0: none yet */
	char enhanced[12];		/* "5.7.1", "" for none */
	char text[SMTP_REPLY_TEXT_MAX];
};

void smtp_reply_set(struct smtp_reply *r, int code, const char *enhanced,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Appends the wire form (CRLF line ends) to out. */
void smtp_reply_format(struct buf *out, int code, const char *enhanced,
		       const char *text);

#endif
