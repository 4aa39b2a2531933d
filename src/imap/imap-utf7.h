#ifndef IMAP_IMAP_UTF7_H
#define IMAP_IMAP_UTF7_H
/* Modified UTF-7 for mailbox names (RFC 3501 5.1.3), both ways, strict:
 * input that another implementation would decode differently is refused. */
#include "lib/util.h"

/* UTF-8 -> modified UTF-7, appended to dest.  -1 if src is not valid
 * UTF-8. */
int imap_utf8_to_utf7(const char *src, struct buf *dest);
/* Modified UTF-7 -> UTF-8, appended to dest.  -1 (dest unchanged) for
 * 8-bit input, bad base64, an unterminated shift, padding bits that are
 * not zero, an encoded printable ASCII character, broken surrogates or an
 * empty "&-" misuse. */
int imap_utf7_to_utf8(const char *src, struct buf *dest);
int imap_utf7_is_valid(const char *src);

#endif
