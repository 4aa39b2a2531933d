#ifndef DAEMON_DAEMON_AUTOCONFIG_H
#define DAEMON_DAEMON_AUTOCONFIG_H
/* Thunderbird's autoconfig over HTTP (autoconfig.listen in the config):
 * GET /.well-known/autoconfig/mail/config-v1.1.xml and
 * /mail/config-v1.1.xml answer contrib/autoconfig's document filled with
 * this server's domain, host and TLS ports, so that "Add Mail Account"
 * with only an address and a password finds IMAP and SMTP. */
#include <event2/event.h>

#include "config/config.h"

struct daemon_autoconfig;

/* NULL when autoconfig.listen is off (*failed_r = 0) or cannot listen
 * (*failed_r = 1, logged). */
struct daemon_autoconfig *daemon_autoconfig_new(struct event_base *base,
						const struct settings *set,
						int *failed_r);
void daemon_autoconfig_free(struct daemon_autoconfig *ac);
/* The document served (malloc'd), for tests and the log. */
char *daemon_autoconfig_xml(const struct settings *set);

#endif
