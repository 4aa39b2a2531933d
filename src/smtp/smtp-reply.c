/* Formatting SMTP replies (see smtp-reply.h). */
#include "smtp/smtp-reply.h"

#include "lib/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void smtp_reply_set(struct smtp_reply *r, int code, const char *enhanced,
		    const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	snprintf(r->enhanced, sizeof(r->enhanced), "%s",
		 enhanced != NULL ? enhanced : "");
	va_start(ap, fmt);
	util_vformat_error(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

/* The longest prefix of s (length n) that fits max octets, ending at a
 * space when there is one, never inside a UTF-8 sequence. */
static size_t piece_len(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	size_t cut = max;
	while (cut > max / 2 && s[cut] != ' ')
		cut--;
	if (s[cut] == ' ')
		return cut;
	cut = max;
	while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;
	return cut > 0 ? cut : max;
}

struct reply_piece {
	const char *s;
	size_t n;
};

static size_t split_pieces(const char *text, struct reply_piece *pcs,
			   size_t max_pcs)
{
	size_t total = strlen(text), npcs = 0;
	const char *seg = text, *end = text + total;

	while (seg < end && npcs < max_pcs) {
		const char *slash = NULL;
		/* Russian and English on their own lines when too long. */
		if (total > SMTP_REPLY_LINE_TEXT)
			slash = strstr(seg, " / ");
		const char *seg_end = slash != NULL ? slash : end;
		while (seg < seg_end && npcs < max_pcs) {
			size_t n = piece_len(seg, (size_t)(seg_end - seg),
					     SMTP_REPLY_LINE_TEXT);
			pcs[npcs].s = seg;
			pcs[npcs].n = n;
			npcs++;
			seg += n;
			while (seg < seg_end && *seg == ' ')
				seg++;
		}
		seg = slash != NULL ? slash + 3 : end;
	}
	return npcs;
}

void smtp_reply_format(struct buf *out, int code, const char *enhanced,
		       const char *text)
{
	struct reply_piece pcs[16];
	char *clean = xstrdup(text != NULL ? text : "");
	const char *enh = enhanced != NULL ? enhanced : "";

	/* A reply line must not carry CR, LF or other controls: texts may
	 * come from other modules or from user input. */
	for (char *p = clean; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	size_t npcs = split_pieces(clean, pcs, sizeof(pcs) / sizeof(pcs[0]));
	if (npcs == 0) {
		pcs[0].s = "";
		pcs[0].n = 0;
		npcs = 1;
	}
	for (size_t i = 0; i < npcs; i++) {
		buf_printf(out, "%03d%c", code, i + 1 < npcs ? '-' : ' ');
		if (*enh != '\0')
			buf_printf(out, "%s ", enh);
		buf_append(out, pcs[i].s, pcs[i].n);
		buf_append(out, "\r\n", 2);
	}
	free(clean);
}
