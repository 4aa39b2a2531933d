/* SASL helpers without I/O (RFC 4616 PLAIN message).  The login forms
 * ("buh", "buh+ИНН", "buh@domain") are the mailbox's (mailbox-login.c). */
#include "smtp/smtp-sasl.h"

#include "lib/util.h"

#include <string.h>

int smtp_sasl_plain_split(const unsigned char *msg, size_t len,
			  char **login_r, char **password_r)
{
	const unsigned char *nul1 = memchr(msg, '\0', len);
	if (nul1 == NULL)
		return -1;
	const unsigned char *authcid = nul1 + 1;
	size_t rest = len - (size_t)(authcid - msg);
	const unsigned char *nul2 = memchr(authcid, '\0', rest);
	if (nul2 == NULL)
		return -1;
	const unsigned char *pass = nul2 + 1;
	size_t authzid_len = (size_t)(nul1 - msg);
	size_t login_len = (size_t)(nul2 - authcid);
	size_t pass_len = len - (size_t)(pass - msg);

	if (login_len == 0 || login_len > SMTP_LOGIN_MAX ||
	    pass_len > SMTP_PASSWORD_MAX || memchr(pass, '\0', pass_len) != NULL)
		return -1;
	/* Acting for another user is not offered: an authorization
	 * identity, when given, must be the user itself. */
	if (authzid_len != 0 &&
	    (authzid_len != login_len || memcmp(msg, authcid, login_len) != 0))
		return -1;
	*login_r = xstrndup((const char *)authcid, login_len);
	*password_r = xstrndup((const char *)pass, pass_len);
	return 0;
}
