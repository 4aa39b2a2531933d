/* Incremental IMAP command parser.  A state machine fed any number of bytes
 * at a time, so that a client sending one byte per packet and a client
 * pipelining many commands are the same to it. */
#include "imap/imap-parser.h"
#include "lib/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LITERAL_FIRST_ALLOC (64 * 1024)

enum parser_state {
	ST_ARG_START,	/* between arguments */
	ST_AFTER_ARG,	/* an argument just ended: SP, ')' or end of line */
	ST_ATOM,
	ST_QUOTED,
	ST_QUOTED_ESC,
	ST_LITERAL_SIZE,
	ST_LITERAL_CR,
	ST_LITERAL_LF,
	ST_LITERAL_DATA,
	ST_EOL_LF,	/* saw CR, expect LF */
	ST_SKIP,	/* after an error: drop bytes up to LF */
};

struct arg_list {
	struct imap_arg *v;
	size_t n, cap;
};

struct imap_parser {
	struct imap_parser_limits lim;
	enum parser_state state;

	struct arg_list *stack;	/* [0] is the top level */
	unsigned depth;

	struct buf tok;		/* atom or quoted string being read */
	int atom_bracket;	/* inside [...] of BODY[HEADER.FIELDS (..)] */

	uint64_t lit_size;
	size_t lit_pos, lit_cap;
	int lit_sync, lit_plus_seen, lit_digits;
	char *lit;

	size_t line_len;
	size_t literal_total;
	int want_cont;
	int have_result;

	char *tag;
	const char *error;
	int fatal;
	int error_at_eol;
};

struct imap_parser *imap_parser_new(const struct imap_parser_limits *lim)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));

	p->lim = *lim;
	if (p->lim.max_depth == 0)
		p->lim.max_depth = 1;
	p->stack = xcalloc(p->lim.max_depth + 1, sizeof(*p->stack));
	buf_init(&p->tok);
	return p;
}

static void args_free(struct imap_arg *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].str);
		if (v[i].type == IMAP_ARG_LIST)
			args_free(v[i].list, v[i].list_count);
	}
	free(v);
}

/* Drops every argument of the current command. */
static void parser_clear(struct imap_parser *p)
{
	for (unsigned i = 0; i <= p->depth; i++) {
		args_free(p->stack[i].v, p->stack[i].n);
		memset(&p->stack[i], 0, sizeof(p->stack[i]));
	}
	p->depth = 0;
	buf_reset(&p->tok);
	free(p->lit);
	p->lit = NULL;
	p->line_len = 0;
	p->literal_total = 0;
	p->want_cont = 0;
	p->have_result = 0;
	p->atom_bracket = 0;
	free(p->tag);
	p->tag = NULL;
}

void imap_parser_free(struct imap_parser **_p)
{
	struct imap_parser *p = *_p;

	if (p == NULL)
		return;
	*_p = NULL;
	parser_clear(p);
	buf_free(&p->tok);
	free(p->stack);
	free(p);
}

static struct imap_arg *arg_push(struct imap_parser *p, enum imap_arg_type type)
{
	struct arg_list *l = &p->stack[p->depth];

	/* one slot is kept free for the EOL terminator */
	if (l->n + 2 > l->cap) {
		l->cap = l->cap == 0 ? 8 : l->cap * 2;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	l->v[l->n].type = type;
	return &l->v[l->n++];
}

static void list_terminate(struct arg_list *l)
{
	if (l->cap == 0) {
		l->cap = 1;
		l->v = xrealloc(l->v, sizeof(*l->v));
	}
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	l->v[l->n].type = IMAP_ARG_EOL;
}

/* An error in the middle of a line: skip the rest of it. */
static int parser_fail(struct imap_parser *p, const char *msg)
{
	p->error = msg;
	p->fatal = 0;
	p->state = ST_SKIP;
	return -1;
}

/* An error found at the end of a line: nothing left to skip. */
static int parser_fail_eol(struct imap_parser *p, const char *msg)
{
	char *tag = p->tag;

	/* the tag survives until the next call, for the BAD reply */
	p->tag = NULL;
	parser_clear(p);
	p->tag = tag;
	p->error = msg;
	p->fatal = 0;
	p->state = ST_ARG_START;
	p->error_at_eol = 1;
	return -1;
}

static void token_done(struct imap_parser *p, enum imap_arg_type type)
{
	struct imap_arg *a;

	if (type == IMAP_ARG_ATOM && p->tok.len == 3 &&
	    strncasecmp((const char *)p->tok.data, "NIL", 3) == 0)
		type = IMAP_ARG_NIL;
	a = arg_push(p, type);
	a->len = p->tok.len;
	a->str = xstrndup(p->tok.len == 0 ? "" : (const char *)p->tok.data,
			  p->tok.len);
	if (p->depth == 0 && p->stack[0].n == 1 && p->tag == NULL &&
	    type == IMAP_ARG_ATOM)
		p->tag = xstrdup(a->str);
	buf_reset(&p->tok);
	p->atom_bracket = 0;
	p->state = ST_AFTER_ARG;
}

static void literal_done(struct imap_parser *p)
{
	struct imap_arg *a = arg_push(p, IMAP_ARG_LITERAL);

	if (p->lit == NULL)
		p->lit = xstrdup("");
	p->lit[p->lit_size] = '\0';
	a->str = p->lit;
	a->len = (size_t)p->lit_size;
	p->lit = NULL;
	p->state = ST_AFTER_ARG;
}

/* End of the command line: returns the argument count or -1. */
static int line_done(struct imap_parser *p, const struct imap_arg **args_r)
{
	if (p->depth > 0)
		return parser_fail_eol(p,
			"Не закрыта скобка / Missing ')' in command");
	list_terminate(&p->stack[0]);
	*args_r = p->stack[0].v;
	p->have_result = 1;
	p->state = ST_ARG_START;
	return (int)p->stack[0].n;
}

static int literal_header_done(struct imap_parser *p,
			       const struct imap_arg **args_r)
{
	uint64_t room = p->lim.max_literal > p->literal_total ?
			p->lim.max_literal - p->literal_total : 0;

	if (p->lit_size > room) {
		if (!p->lit_sync) {
			/* the client sends the data anyway: we cannot tell
			 * it apart from commands, so the session ends */
			p->error = "Литерал слишком велик / Literal too large";
			p->fatal = 1;
			p->state = ST_SKIP;
			return -1;
		}
		return parser_fail_eol(p,
			"Литерал слишком велик / Literal too large");
	}
	p->literal_total += (size_t)p->lit_size;
	/* the buffer grows with the data that really arrives: an announced
	 * size costs nothing until the bytes are sent */
	p->lit_cap = p->lit_size < LITERAL_FIRST_ALLOC ?
		     (size_t)p->lit_size + 1 : LITERAL_FIRST_ALLOC;
	p->lit = xmalloc(p->lit_cap);
	p->lit_pos = 0;
	if (p->lit_sync)
		p->want_cont = 1;
	if (p->lit_size == 0)
		literal_done(p);
	else
		p->state = ST_LITERAL_DATA;
	(void)args_r;
	return -2;
}

static int is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c == 0x7f)
		return 0;
	return c != '(' && c != ')' && c != '{' && c != '"';
}

/* Whether the atom read so far ends in a section that takes a list after
 * a space: BODY[HEADER.FIELDS (A B)], BODY[1.HEADER.FIELDS.NOT (A)].  Any
 * other space ends the atom, as '[' is an ordinary atom character. */
static int bracket_wants_list(const struct imap_parser *p)
{
	static const char *const ends[] = { "HEADER.FIELDS", "HEADER.FIELDS.NOT" };
	const char *d = (const char *)p->tok.data;
	size_t len = p->tok.len;

	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		size_t n = strlen(ends[i]);

		if (len > n && strncasecmp(d + len - n, ends[i], n) == 0 &&
		    (d[len - n - 1] == '[' || d[len - n - 1] == '.'))
			return 1;
	}
	return 0;
}

/* Whether the atom read so far has a space after its last '[' (the
 * list of BODY[HEADER.FIELDS (...)]). */
static int bracket_has_space(const struct imap_parser *p)
{
	const unsigned char *d = p->tok.data;
	size_t i = p->tok.len;

	while (i > 0 && d[i - 1] != '[') {
		if (d[i - 1] == ' ')
			return 1;
		i--;
	}
	return 0;
}

/* One byte outside literal data.  Returns -2 to go on, else a result. */
static int parse_byte(struct imap_parser *p, unsigned char c,
		      const struct imap_arg **args_r)
{
	switch (p->state) {
	case ST_AFTER_ARG:
		if (c == ' ') {
			p->state = ST_ARG_START;
			return -2;
		}
		if (c != ')' && c != '\r' && c != '\n')
			return parser_fail(p,
				"Ожидался пробел между аргументами / Missing space between arguments");
		/* fall through */
	case ST_ARG_START:
		switch (c) {
		case ' ':
			return -2;
		case '\r':
			p->state = ST_EOL_LF;
			return -2;
		case '\n':
			return line_done(p, args_r);
		case '(':
			if (p->depth + 1 > p->lim.max_depth)
				return parser_fail(p,
					"Слишком глубокая вложенность скобок / Lists nested too deep");
			arg_push(p, IMAP_ARG_LIST);
			p->depth++;
			memset(&p->stack[p->depth], 0, sizeof(p->stack[p->depth]));
			p->state = ST_ARG_START;
			return -2;
		case ')': {
			struct arg_list *child;
			struct imap_arg *parent;

			if (p->depth == 0)
				return parser_fail(p,
					"Лишняя закрывающая скобка / Unexpected ')'");
			child = &p->stack[p->depth];
			list_terminate(child);
			p->depth--;
			parent = &p->stack[p->depth].v[p->stack[p->depth].n - 1];
			parent->list = child->v;
			parent->list_count = child->n;
			memset(child, 0, sizeof(*child));
			p->state = ST_AFTER_ARG;
			return -2;
		}
		case '"':
			p->state = ST_QUOTED;
			return -2;
		case '{':
			p->lit_size = 0;
			p->lit_sync = 1;
			p->lit_plus_seen = 0;
			p->lit_digits = 0;
			p->state = ST_LITERAL_SIZE;
			return -2;
		default:
			if (!is_atom_char(c) && c != '\\')
				return parser_fail(p,
					"Недопустимый символ в команде / Invalid character in command");
			buf_append(&p->tok, &c, 1);
			p->state = ST_ATOM;
			return -2;
		}
	case ST_ATOM:
		if (p->atom_bracket && ((c == ' ' && !bracket_has_space(p) &&
					 !bracket_wants_list(p)) ||
					((c == '\r' || c == '\n' || c == ')') &&
					 !bracket_has_space(p)))) {
			/* '[' is an atom character (only ']' is resp-special):
			 * unless it opened a section with a list, such as
			 * BODY[HEADER.FIELDS (A B)], the atom ends as any
			 * other does (a mailbox name "a[b") */
			p->atom_bracket = 0;
		}
		if (p->atom_bracket) {
			if (c == '\r' || c == '\n' || c == 0)
				return parser_fail(p,
					"Не закрыта квадратная скобка / Missing ']'");
			if (c == ']')
				p->atom_bracket = 0;
			buf_append(&p->tok, &c, 1);
			return -2;
		}
		if (c == ' ' || c == ')' || c == '\r' || c == '\n') {
			token_done(p, IMAP_ARG_ATOM);
			return parse_byte(p, c, args_r);
		}
		if (c == '[')
			p->atom_bracket = 1;
		else if (!is_atom_char(c) && c != '\\')
			return parser_fail(p,
				"Недопустимый символ в атоме / Invalid character in atom");
		buf_append(&p->tok, &c, 1);
		return -2;
	case ST_QUOTED:
		if (c == '"') {
			token_done(p, IMAP_ARG_STRING);
			return -2;
		}
		if (c == '\\') {
			p->state = ST_QUOTED_ESC;
			return -2;
		}
		if (c == '\r' || c == '\n' || c == 0)
			return parser_fail(p,
				"Не закрыта кавычка / Missing '\"' in quoted string");
		buf_append(&p->tok, &c, 1);
		return -2;
	case ST_QUOTED_ESC:
		if (c != '"' && c != '\\')
			return parser_fail(p,
				"Недопустимое экранирование в строке / Invalid '\\' escape in quoted string");
		buf_append(&p->tok, &c, 1);
		p->state = ST_QUOTED;
		return -2;
	case ST_LITERAL_SIZE:
		if (c >= '0' && c <= '9' && !p->lit_plus_seen) {
			if (++p->lit_digits > 12)
				return parser_fail(p,
					"Неверный размер литерала / Invalid literal size");
			p->lit_size = p->lit_size * 10 + (uint64_t)(c - '0');
			return -2;
		}
		if (c == '+' && p->lit_digits > 0 && !p->lit_plus_seen) {
			p->lit_plus_seen = 1;
			p->lit_sync = 0;
			return -2;
		}
		if (c == '}' && p->lit_digits > 0) {
			p->state = ST_LITERAL_CR;
			return -2;
		}
		return parser_fail(p, "Неверный литерал / Invalid literal");
	case ST_LITERAL_CR:
		if (c == '\r') {
			p->state = ST_LITERAL_LF;
			return -2;
		}
		if (c == '\n')
			return literal_header_done(p, args_r);
		return parser_fail(p,
			"После литерала ожидался конец строки / Expected CRLF after literal");
	case ST_LITERAL_LF:
		if (c == '\n')
			return literal_header_done(p, args_r);
		return parser_fail(p,
			"После литерала ожидался конец строки / Expected CRLF after literal");
	case ST_EOL_LF:
		if (c == '\n')
			return line_done(p, args_r);
		return parser_fail(p,
			"Одиночный CR в команде / Bare CR in command");
	case ST_LITERAL_DATA:
	case ST_SKIP:
		break;
	}
	return parser_fail(p, "Внутренняя ошибка разбора / Parser error");
}

int imap_parser_read_args(struct imap_parser *p, const unsigned char *data,
			  size_t len, size_t *consumed_r,
			  const struct imap_arg **args_r)
{
	size_t i = 0;
	int ret;

	*consumed_r = 0;
	*args_r = NULL;
	if (p->have_result || p->error_at_eol) {
		parser_clear(p);
		p->error_at_eol = 0;
	}
	p->error = NULL;
	p->want_cont = 0;
	while (i < len) {
		if (p->state == ST_SKIP) {
			const unsigned char *lf = memchr(data + i, '\n', len - i);

			if (lf == NULL) {
				*consumed_r = len;
				return -2;
			}
			i = (size_t)(lf - data) + 1;
			parser_clear(p);
			p->state = ST_ARG_START;
			continue;
		}
		if (p->state == ST_LITERAL_DATA) {
			size_t want = (size_t)p->lit_size - p->lit_pos;
			size_t n = len - i < want ? len - i : want;

			if (p->lit_pos + n + 1 > p->lit_cap) {
				size_t cap = p->lit_cap * 2;

				while (cap < p->lit_pos + n + 1)
					cap *= 2;
				if (cap > (size_t)p->lit_size + 1)
					cap = (size_t)p->lit_size + 1;
				p->lit = xrealloc(p->lit, cap);
				p->lit_cap = cap;
			}
			memcpy(p->lit + p->lit_pos, data + i, n);
			p->lit_pos += n;
			i += n;
			if (p->lit_pos == p->lit_size)
				literal_done(p);
			continue;
		}
		if (++p->line_len > p->lim.max_line) {
			*consumed_r = i;
			return parser_fail(p,
				"Слишком длинная строка команды / Command line too long");
		}
		ret = parse_byte(p, data[i++], args_r);
		if (ret != -2) {
			*consumed_r = i;
			return ret;
		}
		if (p->want_cont) {
			/* the client waits for "+" before sending more */
			*consumed_r = i;
			return -2;
		}
	}
	*consumed_r = i;
	return -2;
}

int imap_parser_want_continuation(struct imap_parser *p)
{
	int ret = p->want_cont;

	p->want_cont = 0;
	return ret;
}

const char *imap_parser_error(struct imap_parser *p, int *fatal_r)
{
	if (fatal_r != NULL)
		*fatal_r = p->fatal;
	return p->error != NULL ? p->error : "Ошибка в команде / Error in command";
}

int imap_parser_busy(struct imap_parser *p)
{
	if (p->have_result || p->error_at_eol)
		return 0;
	return p->line_len > 0 || p->state == ST_SKIP ||
	       p->state == ST_LITERAL_DATA;
}

void imap_parser_set_max_literal(struct imap_parser *p, size_t max)
{
	p->lim.max_literal = max;
}

size_t imap_parser_literal_bytes(struct imap_parser *p)
{
	return p->have_result ? 0 : p->literal_total;
}

const char *imap_parser_tag(struct imap_parser *p)
{
	return p->tag;
}

int imap_arg_get_atom(const struct imap_arg *arg, const char **str_r)
{
	/* a client never sends nil: NIL is the atom (STORE 1 +FLAGS NIL) */
	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_NIL)
		return 0;
	*str_r = arg->str;
	return 1;
}

int imap_arg_get_astring(const struct imap_arg *arg, const char **str_r)
{
	switch (arg->type) {
	case IMAP_ARG_ATOM:
	case IMAP_ARG_STRING:
	case IMAP_ARG_LITERAL:
		*str_r = arg->str;
		return 1;
	case IMAP_ARG_NIL:
		*str_r = arg->str;	/* as written: "nil" is not "NIL" */
		return 1;
	default:
		return 0;
	}
}

int imap_arg_get_string(const struct imap_arg *arg, const char **str_r)
{
	if (arg->type != IMAP_ARG_STRING && arg->type != IMAP_ARG_LITERAL)
		return 0;
	*str_r = arg->str;
	return 1;
}

int imap_arg_get_list(const struct imap_arg *arg, const struct imap_arg **list_r,
		      size_t *count_r)
{
	if (arg->type != IMAP_ARG_LIST)
		return 0;
	*list_r = arg->list;
	*count_r = arg->list_count;
	return 1;
}

int imap_arg_atom_equals(const struct imap_arg *arg, const char *word)
{
	return (arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_NIL) &&
	       strcasecmp(arg->str, word) == 0;
}
