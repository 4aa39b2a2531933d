/* BODY and BODYSTRUCTURE (RFC 3501 7.4.2 "body"): for each part its type,
 * parameters as written (RFC 2231 names included), id, description,
 * encoding, size in octets, lines for text and message/rfc822, and with
 * BODYSTRUCTURE the extension data (MD5, disposition, language, location). */
#include "imap/imap-envelope.h"
#include "imap/imap-quote.h"

#include <strings.h>

static void write_params(const struct imap_param *p, size_t n, struct buf *out)
{
	if (n == 0) {
		buf_append(out, "NIL", 3);
		return;
	}
	buf_append(out, "(", 1);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_append(out, " ", 1);
		imap_append_nstring(out, p[i].name);
		buf_append(out, " ", 1);
		imap_append_nstring(out, p[i].value);
	}
	buf_append(out, ")", 1);
}

/* body-ext-1part / body-ext-mpart tail: dsp lang loc */
static void write_ext_common(const struct imap_msgpart *part, struct buf *out)
{
	buf_append(out, " ", 1);
	if (part->disposition == NULL) {
		buf_append(out, "NIL", 3);
	} else {
		buf_append(out, "(", 1);
		imap_append_nstring(out, part->disposition);
		buf_append(out, " ", 1);
		write_params(part->disp_params, part->n_disp_params, out);
		buf_append(out, ")", 1);
	}
	buf_append(out, " ", 1);
	if (part->n_languages == 0) {
		buf_append(out, "NIL", 3);
	} else if (part->n_languages == 1) {
		imap_append_nstring(out, part->languages[0]);
	} else {
		buf_append(out, "(", 1);
		for (size_t i = 0; i < part->n_languages; i++) {
			if (i > 0)
				buf_append(out, " ", 1);
			imap_append_nstring(out, part->languages[i]);
		}
		buf_append(out, ")", 1);
	}
	buf_append(out, " ", 1);
	imap_append_nstring(out, part->location);
}

static void write_part(const unsigned char *data,
		       const struct imap_msgpart *part, int extended,
		       struct buf *out)
{
	buf_append(out, "(", 1);
	if (part->is_multipart) {
		for (size_t i = 0; i < part->n_children; i++)
			write_part(data, &part->children[i], extended, out);
		buf_append(out, " ", 1);
		imap_append_nstring(out, part->subtype);
		if (extended) {
			buf_append(out, " ", 1);
			write_params(part->params, part->n_params, out);
			write_ext_common(part, out);
		}
		buf_append(out, ")", 1);
		return;
	}
	imap_append_nstring(out, part->type);
	buf_append(out, " ", 1);
	imap_append_nstring(out, part->subtype);
	buf_append(out, " ", 1);
	write_params(part->params, part->n_params, out);
	buf_append(out, " ", 1);
	imap_append_nstring(out, part->id);
	buf_append(out, " ", 1);
	imap_append_nstring(out, part->description);
	buf_append(out, " ", 1);
	imap_append_nstring(out, part->encoding != NULL ? part->encoding : "7bit");
	buf_printf(out, " %zu", part->body_len);
	if (part->message != NULL) {
		buf_append(out, " ", 1);
		imap_envelope_write(data, part->message, out);
		buf_append(out, " ", 1);
		write_part(data, part->message, extended, out);
		buf_printf(out, " %u", part->body_lines);
	} else if (strcasecmp(part->type, "text") == 0) {
		buf_printf(out, " %u", part->body_lines);
	}
	if (extended) {
		buf_append(out, " ", 1);
		imap_append_nstring(out, part->md5);
		write_ext_common(part, out);
	}
	buf_append(out, ")", 1);
}

void imap_bodystructure_write(const struct imap_message *msg, int extended,
			      struct buf *out)
{
	write_part(msg->data, &msg->root, extended, out);
}
