#ifndef IMAP_IMAP_PARSER_H
#define IMAP_IMAP_PARSER_H
/* IMAP command line parser (Dovecot lib-imap style): no I/O.  The caller
 * hands it whatever bytes arrived; it consumes up to the end of one command
 * (including literal data) and returns the arguments once the command is
 * complete.  Limits (line length, literal size, list depth) are checked
 * before anything is allocated for the data they guard. */
#include <stddef.h>

enum imap_arg_type {
	IMAP_ARG_NIL,
	IMAP_ARG_ATOM,
	IMAP_ARG_STRING,	/* quoted */
	IMAP_ARG_LITERAL,
	IMAP_ARG_LIST,
	IMAP_ARG_EOL,		/* terminates every argument array */
};

struct imap_arg {
	enum imap_arg_type type;
	char *str;		/* atom/string/literal, NUL-terminated */
	size_t len;		/* literals may hold NULs */
	struct imap_arg *list;	/* IMAP_ARG_LIST: EOL-terminated */
	size_t list_count;
};

struct imap_parser_limits {
	size_t max_line;	/* bytes outside literals */
	size_t max_literal;	/* all literal bytes of one command */
	unsigned max_depth;	/* nesting of parenthesised lists */
};

struct imap_parser;

struct imap_parser *imap_parser_new(const struct imap_parser_limits *lim);
void imap_parser_free(struct imap_parser **parser);

/* Consumes bytes from data (at most len, never past the end of the current
 * command: *consumed_r says how many).  Returns the number of arguments
 * (the tag and command name are the first two) with *args_r pointing at an
 * EOL-terminated array valid until the next call; -2 when more input is
 * needed; -1 on an error (see imap_parser_error()).  After an error the
 * parser skips the rest of the command line by itself. */
int imap_parser_read_args(struct imap_parser *parser, const unsigned char *data,
			  size_t len, size_t *consumed_r,
			  const struct imap_arg **args_r);

/* After -2: 1 once if the client now waits for "+ " (a synchronizing
 * literal was announced and accepted). */
int imap_parser_want_continuation(struct imap_parser *parser);

/* After -1: the message for the BAD reply and whether the connection must
 * be closed (a non-synchronizing literal we refuse would otherwise be read
 * as commands). */
const char *imap_parser_error(struct imap_parser *parser, int *fatal_r);

/* 1 while part of a command has been read but not the whole of it (for
 * the session's deadline against clients that trickle bytes). */
int imap_parser_busy(struct imap_parser *parser);
/* The literal limit from the next literal on (login raises it). */
void imap_parser_set_max_literal(struct imap_parser *parser, size_t max);
/* Literal bytes announced so far in the current command. */
size_t imap_parser_literal_bytes(struct imap_parser *parser);

/* The tag of the command being parsed, NULL if not yet known. */
const char *imap_parser_tag(struct imap_parser *parser);

/* Forget everything of the current command (after a reply was sent). */
void imap_parser_reset(struct imap_parser *parser);

/* Argument helpers: 1 when the argument has that shape.  In commands NIL
 * is only ever the atom "NIL" (as written), for both helpers. */
int imap_arg_get_atom(const struct imap_arg *arg, const char **str_r);
/* atom, quoted string or literal (NIL counts as an atom) */
int imap_arg_get_astring(const struct imap_arg *arg, const char **str_r);
/* quoted string or literal */
int imap_arg_get_string(const struct imap_arg *arg, const char **str_r);
int imap_arg_get_list(const struct imap_arg *arg, const struct imap_arg **list_r,
		      size_t *count_r);
int imap_arg_atom_equals(const struct imap_arg *arg, const char *word);

#endif
