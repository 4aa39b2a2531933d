#ifndef IMAP_IMAP_QUOTE_H
#define IMAP_IMAP_QUOTE_H
/* Writing IMAP strings: quoted when safe, a literal otherwise. */
#include <stddef.h>
#include "lib/util.h"

/* A string: quoted if it is short 7-bit text, else {n} literal. */
void imap_append_string(struct buf *b, const char *s, size_t len);
/* NIL for NULL. */
void imap_append_nstring(struct buf *b, const char *s);
/* An atom when every character allows it, else as a string. */
void imap_append_astring(struct buf *b, const char *s);

#endif
