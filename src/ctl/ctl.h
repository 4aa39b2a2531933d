#ifndef CTL_CTL_H
#define CTL_CTL_H
/* edomailctl: one command per function, grouped by topic in ctl-*.c.
 * A command returns the exit status: 0 done, 1 error (already printed),
 * 2 usage error. */
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "crypto/crypto.h"
#include "store/store.h"

#define CTL_EXIT_OK 0
#define CTL_EXIT_ERROR 1
#define CTL_EXIT_USAGE 2

/* The largest certificate, key or password file read. */
#define CTL_MAX_FILE (1024 * 1024)
#define CTL_MAX_PASSWORD 1024

struct core;

struct ctl {
	struct settings set;
	struct store *store;
	struct core *core;		/* opened on first use */
	int node_key_loaded;
	unsigned char node_key[CRYPTO_NODE_KEY_LEN];
};

typedef int ctl_cmd_func(struct ctl *ctl, int argc, char **argv);

struct ctl_cmd {
	const char *name;	/* "org add" */
	ctl_cmd_func *run;
	const char *usage;	/* arguments after the name */
};

/* "edomailctl: <message>" on stderr; returns CTL_EXIT_ERROR. */
int ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The usage of a command on stderr; returns CTL_EXIT_USAGE. */
int ctl_usage(const char *name);
/* A store error in words; returns CTL_EXIT_ERROR. */
int ctl_store_error(int err, const char *what);

/* Opens the operator client core (once). */
int ctl_core(struct ctl *ctl, struct core **core_r);
/* Loads the node key that seals private keys (creating it if missing). */
int ctl_node_key(struct ctl *ctl);

/* An organization served here by participant id, ИНН, ИНН.КПП or ИНН/КПП;
 * prints the error. */
int ctl_find_org(struct ctl *ctl, const char *query, struct store_org *o_r);
int ctl_find_user(struct ctl *ctl, const char *login, struct store_user *u_r);

/* Password from --password, --password-file, --password-fd or stdin (asked twice on a
 * terminal).  The caller wipes and frees it. */
int ctl_read_password(const char *given, const char *file, int fd,
		      char **pw_r);
void ctl_wipe_free(char *s);
/* A whole file of at most CTL_MAX_FILE bytes, NUL-terminated. */
int ctl_read_file(const char *path, unsigned char **data_r, size_t *len_r);
/* Local time as "2026-11-25 22:40". */
void ctl_format_time(int64_t t, char out[32]);
/* Characters (not bytes) of UTF-8 text. */
size_t ctl_utf8_chars(const char *s);
/* Prints s and a space, padded to width characters (printf pads bytes,
 * which misaligns Cyrillic columns). */
void ctl_col(const char *s, int width);
/* Before each command's getopt_long: glibc keeps state between scans. */
void ctl_getopt_reset(void);
/* A command without options and min..max positional arguments (from
 * argv[optind]); 0 or -1. */
int ctl_positional(int argc, char **argv, int min, int max);

/* ctl-poa.c: organization and power of attorney (poa), the МЧД */
int ctl_cmd_poa_import(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_poa_list(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_poa_revoke(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_poa_make(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_api_token(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_api_tokens(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_api_revoke(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_api_cert_add(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_api_certs(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_api_cert_remove(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_org_attach(struct ctl *ctl, int argc, char **argv);

int ctl_cmd_org_add(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_org_list(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_org_show(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_org_policy(struct ctl *ctl, int argc, char **argv);

int ctl_cmd_user_add(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_user_list(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_user_block(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_user_quota(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_user_unblock(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_user_passwd(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_member_add(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_member_block(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_member_unblock(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_member_list(struct ctl *ctl, int argc, char **argv);

int ctl_cmd_cert_import(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_cert_list(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_cert_make(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_cert_revoke(struct ctl *ctl, int argc, char **argv);
/* trust.* into crypto (the checks of cert list and of signing). */
int ctl_trust_configure(struct ctl *ctl);

int ctl_cmd_counteragent_list(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_invite(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_accept(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_reject(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_withdraw(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_message_list(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_message_show(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_packet_export(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_doc_list(struct ctl *ctl, int argc, char **argv);

int ctl_cmd_status(struct ctl *ctl, int argc, char **argv);

int ctl_cmd_upd_make(struct ctl *ctl, int argc, char **argv);

/* Shared by org add and cert import/make: stores a certificate (and its
 * private key, sealed) for user_id in box_id (0: the organization's own);
 * the gateway's rows only (publish it with ctl_cert_publish first). */
int ctl_cert_store(struct ctl *ctl, const char *box_id, int64_t user_id,
		   const char *cert_pem, const char *key_pem,
		   const char *org_inn, int64_t *id_r);
/* Publishes a certificate of box_id at the operator (idempotent: its
 * operation id is the thumbprint).  Never inside a store transaction. */
int ctl_cert_publish(struct ctl *ctl, const char *box_id,
		     const char *cert_pem);
/* Reads FILE (PEM or PKCS#12) with an optional separate key file. */
int ctl_cert_load(const char *file, const char *key_file,
		  const char *password, char **cert_pem_r, char **key_pem_r);

#endif
