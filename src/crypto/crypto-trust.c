/* Trust: the chain of a signer's certificate to a configured root
 * (trust.roots, trust.intermediates) and its revocation status by CRLs
 * (trust.crls, and CRLs fetched from the certificates' distribution
 * points, which the daemon's worker hands in with crypto_trust_add_crl).
 *
 * One process-wide state under a mutex: the roots live in an X509_STORE
 * (its own lock makes lookups from worker threads safe); a reload builds a
 * new state and swaps it in, and a check holds a reference to the state it
 * started with.  The generation counter changes whenever the answer of a
 * check may change (roots or CRLs reloaded), so cached reports of the old
 * generation are not reused (crypto-verify-cache.c).
 *
 * The chain is built by OpenSSL (X509_STORE_CTX, GOST signatures through
 * the gost engine, which crypto_init made the default); revocation is
 * checked here, certificate by certificate, because the report must tell
 * "revoked since ..." apart from "revocation unknown" (no CRL, or a CRL
 * past its nextUpdate), and OpenSSL's CRL check merges the two. */
#include "crypto/crypto-private.h"
#include "lib/log.h"
#include "lib/util.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define CRYPTO_TRUST_MAX_FILE	(16 * 1024 * 1024)	/* a big CA's CRL */
#define CRYPTO_TRUST_MAX_WANTED	64

struct crypto_trust_crl {
	X509_CRL *crl;
	char *url;		/* where it was fetched; NULL: trust.crls */
};

struct crypto_trust_state {
	int refs;		/* under crypto_trust.lock */
	X509_STORE *store;	/* the roots */
	STACK_OF(X509) *intermediates;
	struct crypto_trust_crl *crls;
	size_t n_crls;
	size_t n_roots;
};

static struct {
	pthread_mutex_t lock;
	struct crypto_trust_state *st;	/* NULL: not configured */
	char *roots, *intermediates, *crls_dir, *cache_dir;
	int fetch;
	char *crls_fingerprint;		/* what the folder held last time */
	STACK_OF(X509) *extra_roots;	/* crypto_trust_add_root's */
	char *wanted[CRYPTO_TRUST_MAX_WANTED];
	size_t n_wanted;
} crypto_trust = { .lock = PTHREAD_MUTEX_INITIALIZER };

static atomic_ulong crypto_trust_gen = 1;

static void crypto_trust_memo_clear(void);

unsigned long crypto_trust_generation(void)
{
	return atomic_load(&crypto_trust_gen);
}

/* ---- state ---- */

static void crypto_trust_state_unref(struct crypto_trust_state *st)
{
	int last;

	if (st == NULL)
		return;
	pthread_mutex_lock(&crypto_trust.lock);
	last = --st->refs == 0;
	pthread_mutex_unlock(&crypto_trust.lock);
	if (!last)
		return;
	X509_STORE_free(st->store);
	sk_X509_pop_free(st->intermediates, X509_free);
	for (size_t i = 0; i < st->n_crls; i++) {
		X509_CRL_free(st->crls[i].crl);
		free(st->crls[i].url);
	}
	free(st->crls);
	free(st);
}

static struct crypto_trust_state *crypto_trust_state_get(void)
{
	struct crypto_trust_state *st;

	pthread_mutex_lock(&crypto_trust.lock);
	st = crypto_trust.st;
	if (st != NULL)
		st->refs++;
	pthread_mutex_unlock(&crypto_trust.lock);
	return st;
}

/* Installs st (one reference owned by the global) and drops the old. */
static void crypto_trust_state_set(struct crypto_trust_state *st)
{
	struct crypto_trust_state *old;

	pthread_mutex_lock(&crypto_trust.lock);
	old = crypto_trust.st;
	crypto_trust.st = st;
	pthread_mutex_unlock(&crypto_trust.lock);
	atomic_fetch_add(&crypto_trust_gen, 1);
	crypto_trust_state_unref(old);
}

/* ---- reading files ---- */

static int crypto_trust_is_file(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int crypto_trust_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular files of a folder, sorted (a file is one entry), or the
 * path itself when it is a file.  NULL-terminated. */
static char **crypto_trust_files(const char *path, size_t *n_r)
{
	char **names = NULL;
	size_t n = 0;
	DIR *d;
	struct dirent *de;

	*n_r = 0;
	if (crypto_trust_is_file(path)) {
		names = xcalloc(2, sizeof(*names));
		names[0] = xstrdup(path);
		*n_r = 1;
		return names;
	}
	d = opendir(path);
	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		char *full;

		if (de->d_name[0] == '.')
			continue;
		full = xasprintf("%s/%s", path, de->d_name);
		if (!crypto_trust_is_file(full)) {
			free(full);
			continue;
		}
		names = xrealloc(names, (n + 2) * sizeof(*names));
		names[n++] = full;
	}
	closedir(d);
	if (names != NULL) {
		names[n] = NULL;
		qsort(names, n, sizeof(*names), crypto_trust_name_cmp);
	}
	*n_r = n;
	return names;
}

static void crypto_trust_files_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int crypto_trust_read(const char *path, unsigned char **data_r,
			     size_t *len_r)
{
	if (util_read_file(path, data_r, len_r) < 0) {
		log_warn("trust: %s", path);
		return -1;
	}
	if (*len_r > CRYPTO_TRUST_MAX_FILE) {
		log_warnx("trust: %s: слишком большой файл / file too large",
			  path);
		free(*data_r);
		return -1;
	}
	return 0;
}

/* Every certificate of a PEM file (one or many), or the one of a DER
 * file, appended to out. */
static int crypto_trust_load_certs(const char *path, STACK_OF(X509) *out)
{
	unsigned char *data;
	size_t len;
	int n = 0;

	if (crypto_trust_read(path, &data, &len) < 0)
		return -1;
	if (memmem(data, len, "-----BEGIN", 10) != NULL) {
		BIO *bio = BIO_new_mem_buf(data, (int)len);
		X509 *x;

		while (bio != NULL &&
		       (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
			sk_X509_push(out, x);
			n++;
		}
		BIO_free(bio);
	} else {
		const unsigned char *p = data;
		X509 *x = d2i_X509(NULL, &p, (long)len);

		if (x != NULL) {
			sk_X509_push(out, x);
			n++;
		}
	}
	crypto_drain_errors("trust certificates");
	free(data);
	return n;
}

static int crypto_trust_load_cert_path(const char *path, STACK_OF(X509) *out,
				       char **error_r)
{
	size_t n, i;
	char **files = crypto_trust_files(path, &n);

	if (files == NULL && !crypto_trust_is_file(path)) {
		struct stat sb;

		if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
			return 0;	/* an empty folder */
		crypto_error(error_r, "%s: нет такого файла или каталога / no "
			     "such file or folder", path);
		return -1;
	}
	for (i = 0; i < n; i++)
		(void)crypto_trust_load_certs(files[i], out);
	crypto_trust_files_free(files, n);
	return 0;
}

/* CRLs of a file: PEM (one or many) or DER. */
static void crypto_trust_load_crl_file(const char *path,
				       struct crypto_trust_state *st)
{
	unsigned char *data;
	size_t len;

	if (crypto_trust_read(path, &data, &len) < 0)
		return;
	if (memmem(data, len, "-----BEGIN", 10) != NULL) {
		BIO *bio = BIO_new_mem_buf(data, (int)len);
		X509_CRL *c;

		while (bio != NULL &&
		       (c = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL) {
			st->crls = xrealloc(st->crls, (st->n_crls + 1) *
					    sizeof(*st->crls));
			st->crls[st->n_crls++] = (struct crypto_trust_crl){ c, NULL };
		}
		BIO_free(bio);
	} else {
		const unsigned char *p = data;
		X509_CRL *c = d2i_X509_CRL(NULL, &p, (long)len);

		if (c != NULL) {
			st->crls = xrealloc(st->crls, (st->n_crls + 1) *
					    sizeof(*st->crls));
			st->crls[st->n_crls++] = (struct crypto_trust_crl){ c, NULL };
		} else {
			log_warnx("trust: %s: не список отзыва (CRL) / not a "
				  "CRL", path);
		}
	}
	crypto_drain_errors("trust CRLs");
	free(data);
}

/* Name, size and time of every file of the folder: a reload that finds
 * the same need not rebuild anything. */
static char *crypto_trust_fingerprint(const char *dir)
{
	struct buf b;
	size_t n, i;
	char **files;
	struct stat sb;

	if (dir == NULL)
		return xstrdup("");
	files = crypto_trust_files(dir, &n);
	buf_init(&b);
	for (i = 0; i < n; i++) {
		if (stat(files[i], &sb) < 0)
			continue;
		buf_printf(&b, "%s:%lld:%lld.%09ld\n", files[i],
			   (long long)sb.st_size, (long long)sb.st_mtim.tv_sec,
			   sb.st_mtim.tv_nsec);
	}
	crypto_trust_files_free(files, n);
	buf_append(&b, "", 1);
	return (char *)b.data;
}

/* ---- building a state ---- */

static int crypto_trust_build(struct crypto_trust_state **st_r,
			      char **error_r)
{
	struct crypto_trust_state *st = xcalloc(1, sizeof(*st));
	STACK_OF(X509) *roots = sk_X509_new_null();
	size_t n, i;
	char **files;

	st->refs = 1;
	st->store = X509_STORE_new();
	st->intermediates = sk_X509_new_null();
	if (st->store == NULL || roots == NULL || st->intermediates == NULL)
		fatalx("trust: out of memory");
	if ((crypto_trust.roots != NULL &&
	     crypto_trust_load_cert_path(crypto_trust.roots, roots,
					 error_r) < 0) ||
	    (crypto_trust.intermediates != NULL &&
	     crypto_trust_load_cert_path(crypto_trust.intermediates,
					 st->intermediates, error_r) < 0)) {
		sk_X509_pop_free(roots, X509_free);
		st->refs = 1;
		crypto_trust_state_unref(st);
		return -1;
	}
	pthread_mutex_lock(&crypto_trust.lock);
	for (i = 0; crypto_trust.extra_roots != NULL &&
	     i < (size_t)sk_X509_num(crypto_trust.extra_roots); i++) {
		X509 *x = sk_X509_value(crypto_trust.extra_roots, (int)i);
		X509_up_ref(x);
		sk_X509_push(roots, x);
	}
	pthread_mutex_unlock(&crypto_trust.lock);
	for (i = 0; i < (size_t)sk_X509_num(roots); i++) {
		if (X509_STORE_add_cert(st->store, sk_X509_value(roots, (int)i)) == 1)
			st->n_roots++;
	}
	crypto_drain_errors("X509_STORE_add_cert");
	sk_X509_pop_free(roots, X509_free);
	if (crypto_trust.crls_dir != NULL) {
		files = crypto_trust_files(crypto_trust.crls_dir, &n);
		for (i = 0; i < n; i++)
			crypto_trust_load_crl_file(files[i], st);
		crypto_trust_files_free(files, n);
	}
	if (crypto_trust.cache_dir != NULL) {
		files = crypto_trust_files(crypto_trust.cache_dir, &n);
		for (i = 0; i < n; i++)
			crypto_trust_load_crl_file(files[i], st);
		crypto_trust_files_free(files, n);
	}
	*st_r = st;
	return 0;
}

static void crypto_trust_set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src != NULL && src[0] != '\0' ? xstrdup(src) : NULL;
}

int crypto_trust_configure(const struct crypto_trust_settings *s,
			   char **error_r)
{
	struct crypto_trust_state *st;

	(void)crypto_init();
	pthread_mutex_lock(&crypto_trust.lock);
	crypto_trust_set_str(&crypto_trust.roots, s->roots);
	crypto_trust_set_str(&crypto_trust.intermediates, s->intermediates);
	crypto_trust_set_str(&crypto_trust.crls_dir, s->crls);
	crypto_trust_set_str(&crypto_trust.cache_dir, s->cache_dir);
	crypto_trust.fetch = s->fetch;
	crypto_cert_expiry_warning_set(s->expiry_warning_days);
	free(crypto_trust.crls_fingerprint);
	crypto_trust.crls_fingerprint = NULL;
	pthread_mutex_unlock(&crypto_trust.lock);
	if (crypto_trust.cache_dir != NULL)
		(void)mkdir(crypto_trust.cache_dir, 0700);
	if (crypto_trust_build(&st, error_r) < 0)
		return -1;
	crypto_trust.crls_fingerprint = crypto_trust_fingerprint(
		crypto_trust.crls_dir);
	log_debug("trust: %zu root(s), %d intermediate(s), %zu CRL(s)",
		  st->n_roots, sk_X509_num(st->intermediates), st->n_crls);
	crypto_trust_state_set(st);
	return 0;
}

static void crypto_trust_want(const char *url);

/* The background refresh: a CRL fetched from a URL is fetched again once
 * its nextUpdate has passed, without waiting for a check to miss it. */
static void crypto_trust_want_expired(struct crypto_trust_state *st)
{
	int64_t next, now = util_now();

	for (size_t i = 0; i < st->n_crls; i++) {
		const ASN1_TIME *t = X509_CRL_get0_nextUpdate(st->crls[i].crl);

		if (st->crls[i].url != NULL && t != NULL &&
		    crypto_asn1_time_unix(t, &next) == 0 && next < now)
			crypto_trust_want(st->crls[i].url);
	}
}

int crypto_trust_reload(int force)
{
	struct crypto_trust_state *st, *old;
	char *fp, *error = NULL;

	old = crypto_trust_state_get();
	if (old == NULL)
		return 0;
	crypto_trust_want_expired(old);
	fp = crypto_trust_fingerprint(crypto_trust.crls_dir);
	if (!force && crypto_trust.crls_fingerprint != NULL &&
	    strcmp(fp, crypto_trust.crls_fingerprint) == 0) {
		free(fp);
		crypto_trust_state_unref(old);
		return 0;
	}
	if (crypto_trust_build(&st, &error) < 0) {
		log_warnx("trust: %s", error);
		free(error);
		free(fp);
		crypto_trust_state_unref(old);
		return -1;
	}
	crypto_trust_state_unref(old);
	free(crypto_trust.crls_fingerprint);
	crypto_trust.crls_fingerprint = fp;
	log_info("trust: списки отзыва перечитаны, %zu CRL / CRLs reloaded, "
		 "%zu CRL(s)", st->n_crls, st->n_crls);
	crypto_trust_state_set(st);
	return 1;
}

int crypto_trust_add_root(const char *cert_pem, char **error_r)
{
	struct crypto_trust_state *st;
	X509 *x = crypto_x509_from_pem(cert_pem, error_r);

	if (x == NULL)
		return -1;
	/* Kept for every later configure and reload. */
	pthread_mutex_lock(&crypto_trust.lock);
	if (crypto_trust.extra_roots == NULL)
		crypto_trust.extra_roots = sk_X509_new_null();
	X509_up_ref(x);
	sk_X509_push(crypto_trust.extra_roots, x);
	pthread_mutex_unlock(&crypto_trust.lock);
	st = crypto_trust_state_get();
	if (st != NULL) {
		(void)X509_STORE_add_cert(st->store, x);
		crypto_drain_errors("X509_STORE_add_cert");
		crypto_trust_state_unref(st);
		crypto_trust_memo_clear();
		/* No new generation: the operator's root is added before
		 * anything it signed is checked, and a new generation
		 * would drop the reports noted at signing. */
	}
	X509_free(x);
	return 0;
}

void crypto_trust_clear(void)
{
	crypto_trust_state_set(NULL);
	crypto_trust_memo_clear();
	pthread_mutex_lock(&crypto_trust.lock);
	crypto_trust_set_str(&crypto_trust.roots, NULL);
	crypto_trust_set_str(&crypto_trust.intermediates, NULL);
	crypto_trust_set_str(&crypto_trust.crls_dir, NULL);
	crypto_trust_set_str(&crypto_trust.cache_dir, NULL);
	free(crypto_trust.crls_fingerprint);
	crypto_trust.crls_fingerprint = NULL;
	for (size_t i = 0; i < crypto_trust.n_wanted; i++)
		free(crypto_trust.wanted[i]);
	crypto_trust.n_wanted = 0;
	sk_X509_pop_free(crypto_trust.extra_roots, X509_free);
	crypto_trust.extra_roots = NULL;
	pthread_mutex_unlock(&crypto_trust.lock);
}

/* ---- fetched CRLs ---- */

static void crypto_trust_want(const char *url)
{
	size_t i;

	pthread_mutex_lock(&crypto_trust.lock);
	if (crypto_trust.fetch) {
		for (i = 0; i < crypto_trust.n_wanted; i++) {
			if (strcmp(crypto_trust.wanted[i], url) == 0)
				break;
		}
		if (i == crypto_trust.n_wanted &&
		    i < CRYPTO_TRUST_MAX_WANTED)
			crypto_trust.wanted[crypto_trust.n_wanted++] =
				xstrdup(url);
	}
	pthread_mutex_unlock(&crypto_trust.lock);
}

/* The http(s) URLs of the certificate's CRL distribution points. */
static void crypto_trust_want_cdp(X509 *x)
{
	STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(x,
		NID_crl_distribution_points, NULL, NULL);

	for (int i = 0; dps != NULL && i < sk_DIST_POINT_num(dps); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		GENERAL_NAMES *names = dp->distpoint->name.fullname;
		for (int j = 0; j < sk_GENERAL_NAME_num(names); j++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(names, j);
			const char *uri;

			if (g->type != GEN_URI)
				continue;
			uri = (const char *)ASN1_STRING_get0_data(
				g->d.uniformResourceIdentifier);
			if (strncmp(uri, "http://", 7) == 0 ||
			    strncmp(uri, "https://", 8) == 0)
				crypto_trust_want(uri);
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	crypto_drain_errors("CRL distribution points");
}

void crypto_trust_note_cert(const char *cert_pem)
{
	X509 *x = crypto_x509_from_pem(cert_pem, NULL);

	if (x == NULL)
		return;
	crypto_trust_want_cdp(x);
	X509_free(x);
}

char **crypto_trust_wanted(size_t *n_r)
{
	char **urls;

	pthread_mutex_lock(&crypto_trust.lock);
	*n_r = crypto_trust.n_wanted;
	urls = xcalloc(crypto_trust.n_wanted + 1, sizeof(*urls));
	for (size_t i = 0; i < crypto_trust.n_wanted; i++)
		urls[i] = crypto_trust.wanted[i];
	crypto_trust.n_wanted = 0;
	pthread_mutex_unlock(&crypto_trust.lock);
	return urls;
}

int crypto_trust_fetch_enabled(void)
{
	int on;

	pthread_mutex_lock(&crypto_trust.lock);
	on = crypto_trust.fetch && crypto_trust.st != NULL;
	pthread_mutex_unlock(&crypto_trust.lock);
	return on;
}

int crypto_trust_add_crl(const char *url, const unsigned char *data,
			 size_t len, char **error_r)
{
	const unsigned char *p = data;
	X509_CRL *crl = NULL;
	struct crypto_trust_state *st;
	unsigned char h[32];
	unsigned char *der = NULL;
	int der_len;

	if (len > CRYPTO_TRUST_MAX_FILE) {
		crypto_error(error_r, "Список отзыва слишком большой / CRL too "
			     "large");
		return -1;
	}
	if (memmem(data, len, "-----BEGIN", 10) != NULL) {
		BIO *bio = BIO_new_mem_buf(data, (int)len);
		crl = bio != NULL ? PEM_read_bio_X509_CRL(bio, NULL, NULL,
							 NULL) : NULL;
		BIO_free(bio);
	} else {
		crl = d2i_X509_CRL(NULL, &p, (long)len);
	}
	if (crl == NULL) {
		crypto_error(error_r, "Это не список отзыва (CRL) / not a CRL");
		return -1;
	}
	/* Kept as DER under the URL's hash; the next start reads it
	 * back with the folder's CRLs. */
	if (crypto_trust.cache_dir != NULL &&
	    (der_len = i2d_X509_CRL(crl, &der)) > 0) {
		char hex[65], *path;

		crypto_sha256(url, strlen(url), h);
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", h[i]);
		path = xasprintf("%s/%s.crl", crypto_trust.cache_dir, hex);
		if (util_write_file(path, der, (size_t)der_len, 0644) < 0)
			log_warn("trust: %s", path);
		free(path);
	}
	OPENSSL_free(der);
	st = crypto_trust_state_get();
	if (st == NULL) {
		X509_CRL_free(crl);
		return 0;
	}
	/* A copy of the state with this CRL instead of the one fetched
	 * from the same URL before: a check in progress keeps its own. */
	struct crypto_trust_state *ns = xcalloc(1, sizeof(*ns));
	ns->refs = 1;
	ns->store = st->store;
	X509_STORE_up_ref(ns->store);
	ns->intermediates = X509_chain_up_ref(st->intermediates);
	ns->n_roots = st->n_roots;
	ns->crls = xcalloc(st->n_crls + 1, sizeof(*ns->crls));
	for (size_t i = 0; i < st->n_crls; i++) {
		if (st->crls[i].url != NULL && strcmp(st->crls[i].url, url) == 0)
			continue;
		X509_CRL_up_ref(st->crls[i].crl);
		ns->crls[ns->n_crls].crl = st->crls[i].crl;
		ns->crls[ns->n_crls++].url = st->crls[i].url != NULL ?
			xstrdup(st->crls[i].url) : NULL;
	}
	ns->crls[ns->n_crls].crl = crl;
	ns->crls[ns->n_crls++].url = xstrdup(url);
	crypto_trust_state_unref(st);
	crypto_trust_state_set(ns);
	return 0;
}

/* ---- checking ---- */

static void crypto_trust_date(int64_t t, char ru[40], char en[40])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL) {
		snprintf(ru, 40, "?");
		snprintf(en, 40, "?");
		return;
	}
	strftime(ru, 40, "%d.%m.%Y %H:%M UTC", &tm);
	strftime(en, 40, "%Y-%m-%d %H:%M UTC", &tm);
}

static char *crypto_trust_chain_reason(int err, X509 *at)
{
	char *cn = at != NULL ? crypto_name_get(X509_get_subject_name(at),
						NID_commonName) : NULL;
	char *r;

	switch (err) {
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		r = xasprintf("цепочка не доходит до доверенного корня / "
			      "chain does not reach a trusted root: «%s»",
			      cn != NULL ? cn : "?");
		break;
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		r = xasprintf("подпись издателя на сертификате «%s» неверна / "
			      "the issuer's signature on \"%s\" is wrong",
			      cn != NULL ? cn : "?", cn != NULL ? cn : "?");
		break;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		r = xasprintf("сертификат «%s» в цепочке недействителен на "
			      "момент подписания / certificate \"%s\" of the "
			      "chain was not valid at signing time",
			      cn != NULL ? cn : "?", cn != NULL ? cn : "?");
		break;
	case X509_V_ERR_INVALID_CA:
		r = xasprintf("издатель «%s» не является УЦ / the issuer "
			      "\"%s\" is not a CA", cn != NULL ? cn : "?",
			      cn != NULL ? cn : "?");
		break;
	default:
		r = xasprintf("цепочка сертификатов не проверена (%s) / the "
			      "certificate chain does not verify (%s)",
			      X509_verify_cert_error_string(err),
			      X509_verify_cert_error_string(err));
		break;
	}
	free(cn);
	return r;
}

/* 1 when CRL c is newer than best: the higher CRL Number when both have
 * one, else the later thisUpdate; on a tie the one installed later (a
 * fetched CRL goes after the cached copy it replaces): two CRLs of one
 * second are told apart. */
static int crypto_trust_crl_newer(X509_CRL *c, X509_CRL *best)
{
	long nc = crypto_crl_number(c), nb = crypto_crl_number(best);
	int t;

	if (nc > 0 && nb > 0 && nc != nb)
		return nc > nb;
	t = ASN1_TIME_compare(X509_CRL_get0_lastUpdate(c),
			      X509_CRL_get0_lastUpdate(best));
	return t >= 0;
}

/* The newest CRL of issuer's that issuer really signed, or NULL. */
static X509_CRL *crypto_trust_find_crl(struct crypto_trust_state *st,
				       X509 *issuer)
{
	X509_CRL *best = NULL;
	EVP_PKEY *pk = X509_get0_pubkey(issuer);

	for (size_t i = 0; i < st->n_crls; i++) {
		X509_CRL *c = st->crls[i].crl;

		if (X509_NAME_cmp(X509_CRL_get_issuer(c),
				  X509_get_subject_name(issuer)) != 0 ||
		    pk == NULL || X509_CRL_verify(c, pk) != 1)
			continue;
		if (best == NULL || crypto_trust_crl_newer(c, best))
			best = c;
	}
	crypto_drain_errors("X509_CRL_verify");
	return best;
}

/* Revocation of x (issued by issuer) now: OK, FAILED (revoked) or
 * UNKNOWN, with the reason in r. */
static enum crypto_check crypto_trust_revocation_one(
	struct crypto_trust_state *st, X509 *x, X509 *issuer, int64_t now,
	struct crypto_verify_report *r)
{
	X509_CRL *crl = crypto_trust_find_crl(st, issuer);
	X509_REVOKED *rev = NULL;
	char *cn = crypto_name_get(X509_get_subject_name(x), NID_commonName);
	char *icn = crypto_name_get(X509_get_subject_name(issuer),
				    NID_commonName);
	const char *c = cn != NULL ? cn : "?", *ic = icn != NULL ? icn : "?";
	char ru[40], en[40];
	int64_t next = 0;
	enum crypto_check res = CRYPTO_CHECK_OK;

	if (crl == NULL) {
		crypto_trust_want_cdp(x);
		r->revocation_error = xasprintf("статус отзыва неизвестен: нет "
			"списка отзыва (CRL) УЦ «%s» / revocation unknown: no "
			"CRL of the CA \"%s\"", ic, ic);
		res = CRYPTO_CHECK_UNKNOWN;
	} else if (X509_CRL_get0_by_cert(crl, &rev, x) == 1) {
		int64_t when = 0;

		(void)crypto_asn1_time_unix(X509_REVOKED_get0_revocationDate(rev),
					    &when);
		crypto_trust_date(when, ru, en);
		r->revoked_at = when;
		r->revocation_error = xasprintf("сертификат «%s» отозван с %s / "
			"certificate \"%s\" revoked since %s", c, ru, c, en);
		res = CRYPTO_CHECK_FAILED;
	} else if (X509_CRL_get0_nextUpdate(crl) != NULL &&
		   crypto_asn1_time_unix(X509_CRL_get0_nextUpdate(crl),
					 &next) == 0 && next < now) {
		crypto_trust_want_cdp(x);
		crypto_trust_date(next, ru, en);
		r->revocation_error = xasprintf("статус отзыва неизвестен: "
			"список отзыва УЦ «%s» устарел (следующий ожидался %s) "
			"/ revocation unknown: the CRL of \"%s\" expired (next "
			"update was due %s)", ic, ru, ic, en);
		res = CRYPTO_CHECK_UNKNOWN;
	}
	crypto_drain_errors("CRL lookup");
	free(cn);
	free(icn);
	return res;
}

/* Revocation of every certificate of the chain but the root (a root is
 * trusted by configuration, not by a CRL). */
static void crypto_trust_revocation(struct crypto_trust_state *st,
				    STACK_OF(X509) *chain, int64_t now,
				    struct crypto_verify_report *r)
{
	int n = sk_X509_num(chain);

	r->revocation = CRYPTO_CHECK_OK;
	for (int i = 0; i + 1 < n; i++) {
		struct crypto_verify_report one;
		enum crypto_check res;

		memset(&one, 0, sizeof(one));
		res = crypto_trust_revocation_one(st, sk_X509_value(chain, i),
						  sk_X509_value(chain, i + 1),
						  now, &one);
		if (res == CRYPTO_CHECK_OK)
			continue;
		/* Revoked outweighs unknown; the first of each kind is
		 * what the report names. */
		if (res == CRYPTO_CHECK_FAILED &&
		    r->revocation != CRYPTO_CHECK_FAILED) {
			free(r->revocation_error);
			r->revocation_error = one.revocation_error;
			r->revoked_at = one.revoked_at;
			r->revocation = res;
		} else if (r->revocation == CRYPTO_CHECK_OK) {
			r->revocation_error = one.revocation_error;
			r->revocation = res;
		} else {
			free(one.revocation_error);
		}
	}
}

/* ---- the memo of this second's checks ----
 *
 * A signing checks its own certificate first: the operator's two
 * confirmations, the sender's signature and the receipt each did the whole
 * chain and CRL walk, 3 % of the daemon's CPU per letter (perf, issue 10).
 * A check's answer depends only on the certificate, the trust state
 * (its generation), the time checked at and "now" for the CRLs' dates,
 * all in whole seconds: within one second, with the same generation, the
 * same certificate gets the same answer, so the memo never answers what a
 * check would not. */
#define CRYPTO_TRUST_MEMO 8

struct crypto_trust_memo {
	X509 *cert;		/* a reference; NULL: free slot */
	unsigned long gen;
	int64_t at, now;
	struct crypto_verify_report r;	/* the trust fields only */
};

static struct {
	pthread_mutex_t lock;
	struct crypto_trust_memo m[CRYPTO_TRUST_MEMO];
	size_t next;
} crypto_trust_memo = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void crypto_trust_fields_copy(struct crypto_verify_report *dst,
				     const struct crypto_verify_report *src)
{
	dst->chain = src->chain;
	dst->revocation = src->revocation;
	dst->revoked_at = src->revoked_at;
	crypto_verify_trust_copy(dst, src);
}

static void crypto_trust_memo_slot_clear(struct crypto_trust_memo *m)
{
	X509_free(m->cert);
	crypto_verify_trust_clear(&m->r);
	memset(m, 0, sizeof(*m));
}

/* Also when a root is added without a new generation. */
static void crypto_trust_memo_clear(void)
{
	pthread_mutex_lock(&crypto_trust_memo.lock);
	for (size_t i = 0; i < CRYPTO_TRUST_MEMO; i++)
		crypto_trust_memo_slot_clear(&crypto_trust_memo.m[i]);
	pthread_mutex_unlock(&crypto_trust_memo.lock);
}

static int crypto_trust_memo_find(X509 *x, unsigned long gen, int64_t at,
				  int64_t now, struct crypto_verify_report *r)
{
	int found = 0;

	pthread_mutex_lock(&crypto_trust_memo.lock);
	for (size_t i = 0; i < CRYPTO_TRUST_MEMO && !found; i++) {
		struct crypto_trust_memo *m = &crypto_trust_memo.m[i];

		if (m->cert != NULL && m->gen == gen && m->at == at &&
		    m->now == now && X509_cmp(m->cert, x) == 0) {
			crypto_trust_fields_copy(r, &m->r);
			found = 1;
		}
	}
	pthread_mutex_unlock(&crypto_trust_memo.lock);
	return found;
}

static void crypto_trust_memo_put(X509 *x, unsigned long gen, int64_t at,
				  int64_t now,
				  const struct crypto_verify_report *r)
{
	struct crypto_trust_memo *m;

	pthread_mutex_lock(&crypto_trust_memo.lock);
	m = &crypto_trust_memo.m[crypto_trust_memo.next++ % CRYPTO_TRUST_MEMO];
	crypto_trust_memo_slot_clear(m);
	X509_up_ref(x);
	m->cert = x;
	m->gen = gen;
	m->at = at;
	m->now = now;
	crypto_trust_fields_copy(&m->r, r);
	pthread_mutex_unlock(&crypto_trust_memo.lock);
}

static void crypto_trust_check_now(X509 *x, STACK_OF(X509) *extra,
				   int64_t at, int64_t now,
				   struct crypto_verify_report *r);

void crypto_trust_check_x509(X509 *x, STACK_OF(X509) *extra, int64_t at,
			     struct crypto_verify_report *r)
{
	/* The generation before the check: a reload during it leaves an
	 * entry no later lookup matches. */
	unsigned long gen = crypto_trust_generation();
	int64_t now = util_now();

	if (at == 0)
		at = now;
	/* Certificates carried by a signature may complete another chain:
	 * only a check by the configured trust alone is kept. */
	if (extra != NULL && sk_X509_num(extra) > 0) {
		crypto_trust_check_now(x, extra, at, now, r);
		return;
	}
	if (crypto_trust_memo_find(x, gen, at, now, r))
		return;
	crypto_trust_check_now(x, NULL, at, now, r);
	crypto_trust_memo_put(x, gen, at, now, r);
}

static void crypto_trust_check_now(X509 *x, STACK_OF(X509) *extra,
				   int64_t at, int64_t now,
				   struct crypto_verify_report *r)
{
	struct crypto_trust_state *st = crypto_trust_state_get();
	STACK_OF(X509) *untrusted, *chain = NULL;
	X509_STORE_CTX *ctx;

	r->chain = r->revocation = CRYPTO_CHECK_UNKNOWN;
	if (st == NULL) {
		r->chain = CRYPTO_CHECK_FAILED;
		r->chain_error = xstrdup("доверенные корневые сертификаты не "
			"настроены (trust.roots) / no trusted roots are "
			"configured (trust.roots)");
		r->revocation_error = xstrdup("статус отзыва неизвестен / "
					      "revocation unknown");
		return;
	}
	untrusted = X509_chain_up_ref(st->intermediates);
	for (int i = 0; extra != NULL && i < sk_X509_num(extra); i++) {
		X509_up_ref(sk_X509_value(extra, i));
		sk_X509_push(untrusted, sk_X509_value(extra, i));
	}
	ctx = X509_STORE_CTX_new();
	if (ctx == NULL || untrusted == NULL ||
	    X509_STORE_CTX_init(ctx, st->store, x, untrusted) != 1)
		fatalx("trust: X509_STORE_CTX_init failed");
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx),
				   (time_t)at);
	if (X509_verify_cert(ctx) == 1) {
		chain = X509_STORE_CTX_get1_chain(ctx);
		r->chain = CRYPTO_CHECK_OK;
		r->chain_root = crypto_name_oneline(X509_get_subject_name(
			sk_X509_value(chain, sk_X509_num(chain) - 1)));
	} else {
		r->chain = CRYPTO_CHECK_FAILED;
		r->chain_error = crypto_trust_chain_reason(
			X509_STORE_CTX_get_error(ctx),
			X509_STORE_CTX_get_current_cert(ctx));
	}
	crypto_drain_errors("X509_verify_cert");
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(untrusted, X509_free);
	if (chain != NULL) {
		crypto_trust_revocation(st, chain, now, r);
		sk_X509_pop_free(chain, X509_free);
	} else {
		r->revocation_error = xstrdup("не проверялся: нет цепочки до "
			"доверенного корня / not checked: no chain to a trusted "
			"root");
	}
	crypto_trust_state_unref(st);
}

int crypto_trust_check_cert(const char *cert_pem, int64_t at,
			    struct crypto_verify_report *r_r, char **error_r)
{
	X509 *x = crypto_x509_from_pem(cert_pem, error_r);

	memset(r_r, 0, sizeof(*r_r));
	if (x == NULL)
		return -1;
	crypto_trust_check_x509(x, NULL, at, r_r);
	X509_free(x);
	return 0;
}

/* ---- the report ---- */

void crypto_verify_trust_copy(struct crypto_verify_report *dst,
			      const struct crypto_verify_report *src)
{
	dst->chain_error = src->chain_error != NULL ?
		xstrdup(src->chain_error) : NULL;
	dst->chain_root = src->chain_root != NULL ?
		xstrdup(src->chain_root) : NULL;
	dst->revocation_error = src->revocation_error != NULL ?
		xstrdup(src->revocation_error) : NULL;
}

void crypto_verify_trust_clear(struct crypto_verify_report *r)
{
	free(r->chain_error);
	free(r->chain_root);
	free(r->revocation_error);
	r->chain_error = r->chain_root = r->revocation_error = NULL;
}

const char *crypto_check_name(enum crypto_check c, int en)
{
	switch (c) {
	case CRYPTO_CHECK_OK:
		return en ? "passed" : "пройдена";
	case CRYPTO_CHECK_FAILED:
		return en ? "failed" : "не пройдена";
	case CRYPTO_CHECK_UNKNOWN:
		return en ? "unknown" : "неизвестно";
	case CRYPTO_CHECK_NOT_DONE:
		break;
	}
	return en ? "not done" : "не проводилась";
}

void crypto_verify_verdict(struct crypto_verify_report *r)
{
	const char *why = NULL;

	if (!r->math_valid) {
		r->valid = 0;
		return;		/* r->error says why already */
	}
	if (r->chain != CRYPTO_CHECK_OK)
		why = r->chain_error != NULL ? r->chain_error :
			"цепочка не проверена / chain not checked";
	else if (r->revocation != CRYPTO_CHECK_OK)
		why = r->revocation_error != NULL ? r->revocation_error :
			"статус отзыва неизвестен / revocation unknown";
	/* Further checks (the organization, МЧД) join here. */
	r->valid = why == NULL;
	free(r->error);
	r->error = why != NULL ? xstrdup(why) : NULL;
}
