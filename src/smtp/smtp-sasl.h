#ifndef SMTP_SMTP_SASL_H
#define SMTP_SMTP_SASL_H
/* SASL helpers without I/O, unit-tested. */
#include <stddef.h>

#define SMTP_LOGIN_MAX 256
#define SMTP_PASSWORD_MAX 1024

/* SASL PLAIN message (already base64-decoded): authzid NUL authcid NUL
 * passwd.  0, or -1 when malformed or authzid names another user. */
int smtp_sasl_plain_split(const unsigned char *msg, size_t len,
			  char **login_r, char **password_r);

#endif
