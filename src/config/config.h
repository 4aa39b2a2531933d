#ifndef CONFIG_CONFIG_H
#define CONFIG_CONFIG_H
/* Settings read from the libconfig file (conf/edomail.conf documents every
 * key).  Relative paths in the file are resolved against the file's folder.
 * A wrong or missing setting stops the program at start with
 * "<file>:<line>: <what is wrong>". */
#include <stddef.h>
#include <stdint.h>

struct settings_listen {
	char *address;	/* "127.0.0.1"; NULL = listener off */
	int port;	/* 0 = off */
};

/* operator.roaming: one peer operator (doc/roaming.md). */
struct settings_roam_peer {
	char *prefix;		/* the peer's 3-character prefix: it owns those boxes */
	char *url;		/* its operator API, https://... */
	char *token_file;	/* a roaming token the peer made for us */
	char *ca;		/* CA bundle of its TLS certificate; NULL: system */
	int lookup_timeout;	/* seconds for a lookup (find, certificates)
				 * while a client waits: default 5 */
};

struct settings {
	char *config_path;	/* the file these came from */
	char *config_dir;	/* its folder */

	/* server */
	char *domain;		/* server.domain, e.g. "edo.local" */
	char *hostname;		/* server.hostname, greeting name */
	struct settings_listen imap, imaps, submission, submissions;
	char *tls_cert;		/* PEM chain */
	char *tls_key;		/* PEM key */
	int allow_plaintext_loopback; /* auth without TLS on 127.0.0.0/8, ::1 */
	char *log_file;		/* NULL = stderr */
	char *log_level;	/* debug|info|warn|error */
	char *log_syslog_socket; /* without -f and log_file: syslog here */
	int workers;		/* worker threads for signing etc. */

	/* store */
	char *store_path;	/* SQLite database file */
	char *node_key_path;	/* 32 random bytes; encrypts private keys */

	/* operator */
	char *operator_driver;	/* "local" */
	char *operator_prefix;	/* 3 characters, e.g. "2ED" */
	char *operator_name;	/* shown in confirmations */
	char *operator_inn;	/* operator's own ИНН for FNS XML */
	char *operator_dir;	/* operator's key and certificate live here */
	struct settings_listen operator_api;	/* HTTPS operator API; off unless set */
	char *operator_url;	/* driver "http": the operator API's base URL */
	char *operator_ca;	/* its TLS CA bundle; NULL: the system's */
	int operator_timeout;	/* seconds for one HTTP call */
	struct settings_roam_peer *operator_roaming;	/* roaming peers */
	size_t n_operator_roaming;
	int operator_poll_interval;	/* ms between GetNewEvents when the
					 * operator does not long-poll */

	/* folders */
	char *folders_language;	/* "ru" | "en" */

	/* autoconfig: Thunderbird's config-v1.1.xml over HTTP */
	struct settings_listen autoconfig;	/* off unless set */
	char *autoconfig_host;	/* host in the config; NULL = server.hostname */

	/* trust: what «Действительна» rests on (DESIGN.md §8) */
	char *trust_roots;	/* PEM bundle or folder of trusted roots */
	char *trust_intermediates; /* PEM bundle or folder; may be NULL */
	char *trust_crls;	/* folder of CRLs; may be NULL */
	char *trust_crl_cache;	/* fetched CRLs are kept here */
	int trust_fetch;	/* download CRLs from distribution points */
	int trust_refresh;	/* seconds between CRL rereads/fetches */
	char *trust_ca_cert;	/* demo CA: cert make issues from it */
	char *trust_ca_key;
	char *trust_ca_crl_url;	/* CRL distribution point of issued certs */
	int trust_expiry_warning_days; /* «Скоро истекает» within this */

	/* limits */
	size_t max_line;	/* protocol line, bytes */
	size_t max_literal;	/* IMAP literal, bytes */
	size_t max_message;	/* SMTP message, bytes */
	int max_mime_depth;	/* nesting of multiparts / message/rfc822 */
	int max_mime_parts;	/* parts in one message */
	int max_connections;
	int max_connections_per_address;	/* 0: no limit */
	int max_unauth_connections;	/* not logged in yet; the oldest
					 * is dropped for a new one */
	int login_timeout;	/* seconds from connect to a login */
	int max_commands_per_second;
	int idle_timeout;	/* seconds: IMAP IDLE / autologout */
	int command_timeout;	/* seconds: SMTP command */
	int auth_fail_limit;	/* failed logins per address+login per window */
	int auth_fail_window;	/* seconds */
	int auth_cache_ttl;	/* seconds a verified login is remembered; 0 off */
	int password_iterations; /* PBKDF2 iterations of new password hashes */
	int invitation_max_text; /* characters */
	size_t quota_storage;	/* bytes a user may store; 0 = no quota */
};

/* Fills *set_r with defaults, then the file.  Returns 0, or -1 with a
 * malloc'd "<file>:<line>: message" in *error_r. */
int settings_load(const char *path, struct settings *set_r, char **error_r);
/* Defaults only (for tests). */
void settings_defaults(struct settings *set);
void settings_free(struct settings *set);

typedef void settings_key_cb(const char *key, void *ctx);
/* SIGHUP: takes from fresh (a successful settings_load of the same file)
 * the keys that may change at runtime (config.c: settings_runtime_keys),
 * swapping the values so that settings_free(fresh) frees the old ones;
 * applied() names each key taken, restart() each changed key that needs a
 * restart (its old value stays).  Returns the number of keys taken. */
int settings_reload(struct settings *live, struct settings *fresh,
		    settings_key_cb *applied, settings_key_cb *restart,
		    void *ctx);

#endif
