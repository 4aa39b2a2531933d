#ifndef DAEMON_DAEMON_TRUST_H
#define DAEMON_DAEMON_TRUST_H
/* trust.* at run time: configuration, and the CRL refresh thread. */
#include "config/config.h"

struct store;
struct daemon_trust;

int daemon_trust_configure(const struct settings *set, char **error_r);
struct daemon_trust *daemon_trust_start(const struct settings *set,
					struct store *store);
void daemon_trust_stop(struct daemon_trust **t);

#endif
