/* The IMAP server's own MIME reader on arbitrary messages: clients APPEND
 * whatever they like (Sent copies, drafts), and FETCH BODYSTRUCTURE,
 * ENVELOPE, BODY[n.MIME] and SEARCH then read those bytes.  Checked besides
 * the sanitizers:
 *  - every part's header and body lie inside its parent's body, headers
 *    before bodies; nesting and part count within the limits;
 *  - BODY, BODYSTRUCTURE and ENVELOPE are one well-formed IMAP list each
 *    (balanced, strings closed, no 8-bit or line ends outside literals);
 *  - header fields lie inside the header; decoded header values and the
 *    decoded text SEARCH uses are UTF-8. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap-decode.h"
#include "imap/imap-envelope.h"
#include "imap/imap-message.h"
#include "lib/util.h"

#include "fuzz-common.h"

static const struct imap_message_limits fuzz_msg_limits = {
	.max_depth = 8,
	.max_parts = 64,
};

/* UTF-8, where NUL bytes may stand (a message may carry them; the text is
 * used with its length). */
static int fuzz_msg_utf8(const unsigned char *p, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i == len || p[i] == 0) {
			if (!util_utf8_valid(p + start, i - start))
				return 0;
			start = i + 1;
		}
	}
	return 1;
}

struct fuzz_walk {
	const struct imap_message *msg;
	size_t parts;
};

static void fuzz_msg_part(struct fuzz_walk *w, const struct imap_msgpart *p,
			  size_t lo, size_t hi, int depth)
{
	FUZZ_CHECK(depth <= fuzz_msg_limits.max_depth + 1);
	FUZZ_CHECK(++w->parts <= (size_t)fuzz_msg_limits.max_parts + 1);
	FUZZ_CHECK(p->hdr_off >= lo && p->hdr_off <= hi);
	FUZZ_CHECK(p->hdr_len <= hi - p->hdr_off);
	FUZZ_CHECK(p->body_off >= p->hdr_off + p->hdr_len);
	FUZZ_CHECK(p->body_off <= hi && p->body_len <= hi - p->body_off);
	FUZZ_CHECK(p->type != NULL && p->subtype != NULL);
	FUZZ_CHECK(p->n_params == 0 || p->params != NULL);
	for (size_t i = 0; i < p->n_params; i++)
		FUZZ_CHECK(p->params[i].name != NULL &&
			   p->params[i].value != NULL);
	FUZZ_CHECK(p->n_children == 0 || p->children != NULL);
	for (size_t i = 0; i < p->n_children; i++)
		fuzz_msg_part(w, &p->children[i], p->body_off,
			      p->body_off + p->body_len, depth + 1);
	if (p->message != NULL)
		fuzz_msg_part(w, p->message, p->body_off,
			      p->body_off + p->body_len, depth + 1);
}

/* Reads an IMAP response value (RFC 3501 9): one parenthesised list of
 * atoms, NIL, quoted strings and literals.  Not the command parser: in
 * responses, bodies of a multipart follow each other without a space
 * ("(...)(...) \"mixed\""), which commands never do.  Returns NULL when
 * the text is one well-formed list, else what is wrong. */
static const char *fuzz_msg_list(const unsigned char *s, size_t len)
{
	size_t i = 0;
	int depth = 0, closed = 0;

	if (len == 0 || s[0] != '(')
		return "does not start with '('";
	while (i < len) {
		unsigned char c = s[i];

		if (closed)
			return "text after the list";
		if (c == '(') {
			depth++;
			i++;
		} else if (c == ')') {
			if (depth == 0)
				return "unbalanced ')'";
			if (--depth == 0)
				closed = 1;
			i++;
		} else if (c == ' ') {
			if (i + 1 < len && s[i + 1] == ' ')
				return "two spaces";
			i++;
		} else if (c == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				if (s[i] == '\\') {
					if (++i == len || (s[i] != '"' &&
							   s[i] != '\\'))
						return "bad escape in quoted string";
				} else if (s[i] == '\r' || s[i] == '\n' ||
					   s[i] == 0 || s[i] >= 0x80) {
					return "CR, LF, NUL or 8-bit in quoted string";
				}
			}
			if (i == len)
				return "unterminated quoted string";
			i++;
		} else if (c == '{') {
			size_t n = 0, digits = 0;

			for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
				if (++digits > 9)
					return "literal size too long";
				n = n * 10 + (size_t)(s[i] - '0');
			}
			if (digits == 0 || len - i < 3 ||
			    memcmp(s + i, "}\r\n", 3) != 0)
				return "bad literal header";
			i += 3;
			if (len - i < n)
				return "literal runs past the end";
			i += n;
		} else if (c > 0x20 && c < 0x7f && c != '%' && c != '*' &&
			   c != ']' && c != '\\') {
			while (i < len && s[i] > 0x20 && s[i] < 0x7f &&
			       s[i] != '(' && s[i] != ')' && s[i] != '"' &&
			       s[i] != '{')
				i++;
		} else {
			return "invalid character";
		}
	}
	return depth == 0 && closed ? NULL : "unbalanced '('";
}

static void fuzz_msg_reparse(const char *what, const struct buf *out)
{
	const char *why = fuzz_msg_list(out->data, out->len);

	if (why != NULL) {
		fprintf(stderr, "fuzz: %s is not one IMAP list (%s):\n%.*s\n",
			what, why, (int)out->len, (const char *)out->data);
		abort();
	}
}

static void fuzz_msg_structure(const struct imap_message *msg)
{
	static const char *const partnums[] = {
		"", "1", "2", "1.1", "1.2", "2.1", "1.1.1", "3.2.1", "0", "1.",
	};
	struct buf out;

	buf_init(&out);
	imap_bodystructure_write(msg, 1, &out);
	fuzz_msg_reparse("BODYSTRUCTURE", &out);
	buf_reset(&out);
	imap_bodystructure_write(msg, 0, &out);
	fuzz_msg_reparse("BODY", &out);
	buf_reset(&out);
	imap_envelope_write(msg->data, &msg->root, &out);
	fuzz_msg_reparse("ENVELOPE", &out);
	for (size_t i = 0; i < sizeof(partnums) / sizeof(partnums[0]); i++) {
		const struct imap_msgpart *inner;

		inner = imap_message_find_inner(msg, partnums[i]);
		if (inner != NULL && inner != &msg->root) {
			buf_reset(&out);
			imap_envelope_write(msg->data, inner, &out);
			fuzz_msg_reparse("ENVELOPE (inner)", &out);
		}
	}
	buf_free(&out);
}

static void fuzz_msg_headers(const struct imap_message *msg)
{
	static const char *const names[] = { "From", "To", "Subject" };
	const struct imap_msgpart *root = &msg->root;
	struct imap_header_iter it;
	const char *name;
	size_t name_len, field_off, field_len, value_off;
	struct buf out;

	imap_header_iter_init(&it, msg->data, root->hdr_off, root->hdr_len);
	while (imap_header_iter_next(&it, &name, &name_len, &field_off,
				     &field_len, &value_off)) {
		char *value, *decoded;

		/* a line without a colon is a field without a name */
		FUZZ_CHECK(name_len <= field_len);
		FUZZ_CHECK(field_off >= root->hdr_off);
		FUZZ_CHECK(field_len <= root->hdr_off + root->hdr_len -
			   field_off);
		FUZZ_CHECK(value_off >= field_off &&
			   value_off <= field_off + field_len);
		value = imap_header_unfold(msg->data + value_off,
					   field_off + field_len - value_off);
		FUZZ_CHECK(value != NULL);
		decoded = imap_decode_header(value);
		FUZZ_CHECK(decoded != NULL);
		FUZZ_CHECK(util_utf8_valid((const unsigned char *)decoded,
					   strlen(decoded)));
		free(decoded);
		free(value);
	}
	for (size_t i = 0; i < 2; i++) {
		char *v = imap_header_get(msg->data, root->hdr_off,
					  root->hdr_len, names[i]);
		struct imap_address *addrs;
		size_t n;

		if (v == NULL)
			continue;
		imap_address_parse(v, 50, &addrs, &n);
		FUZZ_CHECK(n <= 50);
		imap_address_free(addrs, n);
		free(v);
	}
	buf_init(&out);
	imap_header_filter(msg->data, root->hdr_off, root->hdr_len, names,
			   3, 0, &out);
	FUZZ_CHECK(out.len <= 2 * root->hdr_len + 2);
	buf_reset(&out);
	imap_header_filter(msg->data, root->hdr_off, root->hdr_len, names,
			   3, 1, &out);
	FUZZ_CHECK(out.len <= 2 * root->hdr_len + 2);
	buf_reset(&out);
	/* SEARCH BODY/TEXT reads the decoded text, folded */
	imap_decode_body_text(msg, &out);
	if (fuzz_debug())
		fprintf(stderr, "body text: %zu bytes\n%.*s\n", out.len,
			(int)out.len, (const char *)out.data);
	FUZZ_CHECK(out.len == 0 || fuzz_msg_utf8(out.data, out.len));
	{
		struct buf folded;

		buf_init(&folded);
		imap_fold_utf8(out.len == 0 ? "" : (const char *)out.data,
			       out.len, &folded);
		FUZZ_CHECK(folded.len == 0 ||
			   fuzz_msg_utf8(folded.data, folded.len));
		buf_free(&folded);
	}
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_message *msg;
	struct fuzz_walk w = { 0 };

	msg = imap_message_parse(data, size, &fuzz_msg_limits);
	FUZZ_CHECK(msg != NULL);
	w.msg = msg;
	fuzz_msg_part(&w, &msg->root, 0, size, 0);
	fuzz_msg_structure(msg);
	fuzz_msg_headers(msg);
	imap_message_free(&msg);
	FUZZ_CHECK(msg == NULL);
	return 0;
}
