#ifndef CRYPTO_CRYPTO_H
#define CRYPTO_CRYPTO_H
/* OpenSSL 3: detached CMS signatures, CMS enveloped encryption, certificate
 * facts, private keys sealed at rest, password hashing, TLS contexts.
 * GOST R 34.10-2012 / 34.11-2012 go through the `gost` ENGINE (the only way
 * GOST CMS works on Debian 12); that deprecated API is confined to
 * crypto-gost.c.  Errors: functions return 0 or -1 and set *error_r to a
 * malloc'd message a person can read (caller frees). */
#include <stddef.h>
#include <stdint.h>

struct ssl_ctx_st;

/* Loads the gost engine if installed.  Safe to call more than once. */
int crypto_init(void);
int crypto_gost_available(void);

/* ---- certificates ---- */

enum crypto_cert_status {
	CRYPTO_CERT_ACTIVE = 0,		/* Активен: more than the warning left */
	CRYPTO_CERT_EXPIRING = 1,	/* Скоро истекает: within the warning */
	CRYPTO_CERT_INVALID = 2,	/* Недействителен: expired or not yet valid */
};

struct crypto_cert_info {
	char *subject;		/* one line, UTF-8 */
	char *issuer;
	char *serial;		/* hex */
	char *thumbprint;	/* SHA-1 of DER, hex */
	char *key_type;		/* rsa | ec | gost2012_256 | gost2012_512 */
	int64_t not_before;
	int64_t not_after;
	char *common_name;
	char *org_name;		/* O= */
	char *inn;		/* from ИННЮЛ 1.2.643.100.4 or ИНН 1.2.643.3.131.1.1; NULL if absent */
	char *surname;		/* SN / GN of the holder when present */
	char *given_name;
	char *ogrn;		/* ОГРН 1.2.643.100.1 (or ОГРНИП); NULL if absent */
	char *snils;		/* СНИЛС 1.2.643.100.3; NULL if absent */
	char *email;		/* emailAddress of the subject; NULL if absent */
	/* organization and power of attorney (poa): who the holder is */
	char *innle;		/* ИННЮЛ (10 digits): an organization's certificate */
	char *inn_fl;		/* ИНН of a person or ИП (12 digits, not the
				 * "00"-padded ИНН of an organization) */
	char *title;		/* position (title, 2.5.4.12); NULL if absent */
};

int crypto_cert_info(const char *cert_pem, struct crypto_cert_info *info_r,
		     char **error_r);
void crypto_cert_info_clear(struct crypto_cert_info *info);
/* crypto_cert_info keeps the facts of the last 32 certificates it read
 * (keyed by the PEM text); this empties that cache. */
void crypto_cert_info_cache_clear(void);
enum crypto_cert_status crypto_cert_status(int64_t not_before,
					   int64_t not_after, int64_t now);
const char *crypto_cert_status_name(enum crypto_cert_status st); /* Russian */
/* «Скоро истекает» within this many days (trust.expiry_warning_days;
 * 30 until set; process-wide, set at start-up). */
void crypto_cert_expiry_warning_set(int days);
int64_t crypto_cert_expiry_warning(void);	/* seconds */

/* PEM certificate + PEM private key from a PKCS#12 file or from PEM text
 * (a file that holds both, or two files).  Wrong password: -1 with
 * "Неверный пароль PKCS#12 / wrong PKCS#12 password". */
int crypto_load_pkcs12(const unsigned char *data, size_t len,
		       const char *password, char **cert_pem_r,
		       char **key_pem_r, char **error_r);
/* Checks that key matches cert. */
int crypto_check_key_pair(const char *cert_pem, const char *key_pem,
			  char **error_r);

/* A self-signed certificate for demos and tests.  key_type: "rsa", "ec",
 * "gost2012_256" (also "gost2012_512").  inn goes into the ИННЮЛ (10
 * digits) or ИНН (12) field.  not_after may lie in the past (tests of
 * expired certificates). */
struct crypto_make_cert_req {
	const char *key_type;
	const char *common_name;
	const char *org_name;
	const char *inn;	/* may be NULL */
	const char *surname;	/* may be NULL */
	const char *given_name;	/* may be NULL */
	const char *email;	/* may be NULL */
	int64_t not_before;	/* 0 = now */
	int64_t not_after;	/* 0 = now + 1 year */
	const char *ogrn;	/* ОГРН, 13 digits (15: ОГРНИП); may be NULL */
	const char *snils;	/* СНИЛС, 11 digits; may be NULL */
};
int crypto_make_self_signed(const struct crypto_make_cert_req *req,
			    char **cert_pem_r, char **key_pem_r,
			    char **error_r);

/* The same certificate issued by a CA (the demo CA, the tests' roots):
 * crl_url (may be NULL) goes into its CRL distribution points. */
int crypto_make_issued(const struct crypto_make_cert_req *req,
		       const char *ca_cert_pem, const char *ca_key_pem,
		       const char *crl_url, char **cert_pem_r,
		       char **key_pem_r, char **error_r);
/* A root CA certificate (CA:TRUE, keyCertSign, cRLSign) with a new key:
 * "rsa" or "gost2012_256"; not_after 0 = ten years. */
int crypto_make_ca(const char *key_type, const char *common_name,
		   int64_t not_after, char **cert_pem_r, char **key_pem_r,
		   char **error_r);
/* A CRL of the CA, PEM: the entries of old_crl_pem (may be NULL), plus
 * serial_hex revoked at revoked_at (serial NULL: none added, a renewal),
 * valid until next_update. */
int crypto_make_crl(const char *ca_cert_pem, const char *ca_key_pem,
		    const char *old_crl_pem, const char *serial_hex,
		    int64_t revoked_at, int64_t next_update,
		    char **crl_pem_r, char **error_r);

/* ---- private keys at rest: AES-256-GCM under the node key ---- */

#define CRYPTO_NODE_KEY_LEN 32
/* Reads the node key file; with create, makes it (mode 0600) if missing. */
int crypto_node_key_load(const char *path, int create,
			 unsigned char key_r[CRYPTO_NODE_KEY_LEN],
			 char **error_r);
int crypto_seal(const unsigned char key[CRYPTO_NODE_KEY_LEN],
		const unsigned char *in, size_t len, unsigned char **out_r,
		size_t *out_len_r);
int crypto_unseal(const unsigned char key[CRYPTO_NODE_KEY_LEN],
		  const unsigned char *in, size_t len, unsigned char **out_r,
		  size_t *out_len_r, char **error_r);
/* The same for decrypted renderings of encrypted messages (issue 14):
 * another magic ("EDR1", also the associated data), so a sealed
 * rendering and a sealed key never open as each other.  The unsealed
 * bytes are NUL-terminated as well. */
int crypto_seal_rendering(const unsigned char key[CRYPTO_NODE_KEY_LEN],
			  const unsigned char *in, size_t len,
			  unsigned char **out_r, size_t *out_len_r);
int crypto_unseal_rendering(const unsigned char key[CRYPTO_NODE_KEY_LEN],
			    const unsigned char *in, size_t len,
			    unsigned char **out_r, size_t *out_len_r,
			    char **error_r);

/* ---- signing ---- */

struct crypto_signer;
/* key_pem is the clear PEM private key (wipe it after). */
int crypto_signer_new(const char *cert_pem, const char *key_pem,
		      struct crypto_signer **signer_r, char **error_r);
void crypto_signer_free(struct crypto_signer **signer);
/* Detached CMS SignedData (DER) over data; signer certificate included,
 * signing-time attribute; SHA-256 or Streebog-256 for GOST keys.  Refuses
 * with a clear error when the certificate is not valid now. */
int crypto_sign_detached(struct crypto_signer *signer,
			 const unsigned char *data, size_t len,
			 unsigned char **sig_r, size_t *sig_len_r,
			 char **error_r);

/* The result of one check of a signature (mathematics, chain, revocation,
 * and what other checks join the report). */
enum crypto_check {
	CRYPTO_CHECK_NOT_DONE = 0,
	CRYPTO_CHECK_OK,
	CRYPTO_CHECK_FAILED,
	CRYPTO_CHECK_UNKNOWN,	/* could not be decided (no CRL, ...) */
};
/* "пройдена" / "passed", ... (en: English). */
const char *crypto_check_name(enum crypto_check c, int en);

struct crypto_verify_report {
	int valid;		/* 1: every check holds (crypto_verify_verdict) */
	char *signer_subject;
	char *signer_common_name;
	char *signer_serial;
	char *signer_issuer;
	char *signer_thumbprint;
	char *key_type;
	int64_t not_before;
	int64_t not_after;
	int64_t signing_time;	/* 0 if absent */
	int cert_valid_at_signing; /* the certificate was valid at signing time */
	char *error;		/* why not valid; NULL when valid */
	/* organization and power of attorney (poa): the signer's
	 * certificate, for the organization check (crypto_cert_info) */
	char *signer_cert_pem;
	int math_valid;		/* 1: the signature matches the data */
	/* chain and revocation (trust) */
	enum crypto_check chain;	/* to a root of trust.roots */
	char *chain_root;	/* the trusted root reached (one line) */
	char *chain_error;	/* why the chain failed */
	enum crypto_check revocation;	/* every certificate of the chain */
	char *revocation_error;	/* revoked since ... / why unknown */
	int64_t revoked_at;	/* when revoked (FAILED), else 0 */
};
/* The overall verdict from the checks: valid (and error = the first
 * failing check's reason) only when all hold.  One place, so that a new
 * check joins the verdict here. */
void crypto_verify_verdict(struct crypto_verify_report *r);
/* Checks a detached signature over data: the mathematics, the chain of
 * the signer's certificate to a configured root (crypto_trust_configure)
 * and its revocation; the report says whose signature it is and each
 * check's result. Returns 0 when a report was made (see report->valid),
 * -1 when sig is not CMS at all. */
int crypto_verify_detached(const unsigned char *data, size_t len,
			   const unsigned char *sig, size_t sig_len,
			   struct crypto_verify_report *report_r);
void crypto_verify_report_clear(struct crypto_verify_report *r);
/* The same check through a cache of recent reports (crypto-verify-cache.c),
 * thread-safe: the same signature over the same bytes is checked once a
 * minute at most.  c NULL: no cache. */
struct crypto_verify_cache;
struct crypto_verify_cache *crypto_verify_cache_new(void);
void crypto_verify_cache_free(struct crypto_verify_cache **c);
int crypto_verify_detached_cached(struct crypto_verify_cache *c,
				  const unsigned char *data, size_t len,
				  const unsigned char *sig, size_t sig_len,
				  struct crypto_verify_report *report_r);
/* The cache's report on sig over the bytes whose SHA-256 is data_sha256,
 * without the bytes: 1 found (*ret_r what the check returned, report_r
 * filled), 0 not there (nothing checked: the caller reads the bytes and
 * calls crypto_verify_detached_cached). */
int crypto_verify_cache_find_sha(struct crypto_verify_cache *c,
				 const unsigned char data_sha256[32],
				 const unsigned char *sig, size_t sig_len,
				 int *ret_r,
				 struct crypto_verify_report *report_r);
/* Lookups answered from the cache and checks made through it, since it
 * was made (for tests and statistics). */
void crypto_verify_cache_counts(struct crypto_verify_cache *c,
				unsigned long *found_r,
				unsigned long *checked_r);
/* Leaves r as the cached report of sig over data (data_sha256: the
 * data's SHA-256 when the caller has it, else NULL).  Only for a report
 * that is exactly what crypto_verify_detached would make; not kept for a
 * report without a signing time (it would depend on the clock). */
void crypto_verify_cache_note(struct crypto_verify_cache *c,
			      const unsigned char *data, size_t len,
			      const unsigned char *data_sha256,
			      const unsigned char *sig, size_t sig_len,
			      const struct crypto_verify_report *r);
/* crypto_sign_detached, and the report a check of the new signature would
 * make noted in c (NULL: none), so that the renderings of the letter do
 * not check the signature that was just made. */
int crypto_sign_detached_noted(struct crypto_verify_cache *c,
			       struct crypto_signer *signer,
			       const unsigned char *data, size_t len,
			       const unsigned char *data_sha256,
			       unsigned char **sig_r, size_t *sig_len_r,
			       char **error_r);

/* ---- trust: roots, intermediates, CRLs (crypto-trust.c) ---- */

struct crypto_trust_settings {
	const char *roots;		/* PEM bundle or folder; NULL: none */
	const char *intermediates;	/* PEM bundle or folder; NULL: none */
	const char *crls;		/* folder of CRLs (PEM or DER); NULL */
	const char *cache_dir;		/* fetched CRLs kept here; NULL: not */
	int fetch;			/* CRLs from distribution points */
	int expiry_warning_days;	/* «Скоро истекает»; 0: unchanged */
};
/* Process-wide; until it is called nothing is trusted (every chain
 * fails).  -1 when a configured path cannot be read. */
int crypto_trust_configure(const struct crypto_trust_settings *s,
			   char **error_r);
/* Rereads the CRL folder (force: even when its files look unchanged),
 * and wants again (trust.fetch) the fetched CRLs past their nextUpdate;
 * 1 when reloaded, 0 unchanged, -1 on error.  For a background worker. */
int crypto_trust_reload(int force);
/* Trusts one more root (the embedded operator's own certificate). */
int crypto_trust_add_root(const char *cert_pem, char **error_r);
void crypto_trust_clear(void);
/* Changes whenever a check's answer may change (cached reports of an
 * older generation are not reused). */
unsigned long crypto_trust_generation(void);
/* trust.fetch: the CRL URLs wanted (missing or past nextUpdate), taken
 * out of the list (caller frees each and the array); a certificate's
 * distribution points join it with crypto_trust_note_cert. */
int crypto_trust_fetch_enabled(void);
char **crypto_trust_wanted(size_t *n_r);
void crypto_trust_note_cert(const char *cert_pem);
/* A CRL fetched from url (DER or PEM): used from now on, and cached. */
int crypto_trust_add_crl(const char *url, const unsigned char *data,
			 size_t len, char **error_r);
/* The chain and revocation checks of one certificate at time `at` (0:
 * now), into the trust fields of *r_r (which is zeroed first). */
int crypto_trust_check_cert(const char *cert_pem, int64_t at,
			    struct crypto_verify_report *r_r, char **error_r);

/* ---- TLS client certificates (crypto-clientcert.c) ---- */

/* The SHA-256 of the certificate's DER (what api_certs binds). */
int crypto_cert_sha256(const char *cert_pem, unsigned char sha256_r[32],
		       char **error_r);
/* The client's certificate (and the certificates it sent along, a PEM
 * bundle or NULL) checked as a signer's: a chain to a trusted root and
 * every certificate of it known unrevoked now.  0 with its SHA-256 in
 * sha256_r, or -1 with the reason (bilingual) in *error_r. */
int crypto_client_cert_check(const char *cert_pem, const char *chain_pem,
			     unsigned char sha256_r[32], char **error_r);

/* ---- encryption ---- */

/* CMS EnvelopedData (DER) to every certificate given.  Cipher: AES-256-CBC
 * for RSA/EC recipients, gost89 (GOST 28147-89) when any recipient is GOST. */
int crypto_encrypt(const char *const *cert_pems, size_t n_certs,
		   const unsigned char *data, size_t len,
		   unsigned char **out_r, size_t *out_len_r, char **error_r);
int crypto_decrypt(const char *cert_pem, const char *key_pem,
		   const unsigned char *in, size_t len, unsigned char **out_r,
		   size_t *out_len_r, char **error_r);

/* ---- passwords: PBKDF2-HMAC-SHA256, "pbkdf2-sha256$<iter>$<salt b64>$<hash b64>" ---- */
/* Iterations for new hashes (OWASP's 2023 figure for PBKDF2-HMAC-SHA256;
 * limits.password_iterations may say otherwise); verification uses the
 * count stored in the hash, so raising this keeps old hashes valid, and a
 * login upgrades them (mailbox-login.c). */
#define CRYPTO_PASSWORD_ITERATIONS 600000
int crypto_password_hash(const char *password, char **hash_r);
int crypto_password_hash_iter(const char *password, int iterations,
			      char **hash_r);
/* The iteration count of a stored hash; 0 when it is not one of ours. */
int crypto_password_iterations(const char *hash);
/* 1 match, 0 no match (constant time). */
int crypto_password_verify(const char *password, const char *hash);

/* ---- TLS ---- */
struct ssl_ctx_st *crypto_tls_server_ctx(const char *cert_path,
					 const char *key_path, char **error_r);
/* Writes a self-signed RSA certificate and key for hostname (demo). */
int crypto_tls_make_self_signed(const char *cert_path, const char *key_path,
				const char *hostname, char **error_r);

/* ---- small helpers ---- */
void crypto_sha256(const void *data, size_t len, unsigned char out[32]);
/* len bytes from the CSPRNG. */
void crypto_random(void *buf, size_t len);
char *crypto_base64(const unsigned char *data, size_t len); /* no newlines */

#endif
