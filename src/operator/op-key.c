/* The operator's own key and certificate: it signs the date confirmations.
 * Made on first use in settings->operator_dir (an RSA key, mode 0600, and
 * a self-signed certificate naming the operator and its ИНН), renewed when
 * the certificate is about to expire. */
#include "operator/op-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "config/config.h"
#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"

#define OP_KEY_FILE "operator.key"
#define OP_CERT_FILE "operator.crt"
#define OP_CERT_YEARS 5
#define OP_CERT_RENEW (7 * 24 * 3600)	/* renew a week before expiry */

static void op_key_wipe(char *key_pem)
{
	if (key_pem != NULL) {
		OPENSSL_cleanse(key_pem, strlen(key_pem));
		free(key_pem);
	}
}

static char *op_read_text(const char *path)
{
	unsigned char *data;
	size_t len;
	char *text;

	if (util_read_file(path, &data, &len) < 0)
		return NULL;
	text = xmalloc(len + 1);
	memcpy(text, data, len);
	text[len] = '\0';
	OPENSSL_cleanse(data, len);
	free(data);
	return text;
}

/* 1 when the certificate is good for at least a week more. */
static int op_cert_fresh(const char *cert_pem, int64_t *not_after_r)
{
	struct crypto_cert_info info;
	char *cerr = NULL;
	int fresh;

	memset(&info, 0, sizeof(info));
	if (crypto_cert_info(cert_pem, &info, &cerr) < 0) {
		free(cerr);
		return 0;
	}
	fresh = info.not_after > util_now() + OP_CERT_RENEW &&
		info.not_before <= util_now();
	*not_after_r = info.not_after;
	crypto_cert_info_clear(&info);
	return fresh;
}

static int op_key_make(struct operator *op, const char *key_path,
		       const char *cert_path, char **cert_r, char **key_r,
		       struct core_error *err)
{
	struct crypto_make_cert_req req;
	char *cerr = NULL;

	if (mkdir(op->set->operator_dir, 0700) < 0 && errno != EEXIST) {
		log_warn("operator: mkdir %s", op->set->operator_dir);
		return operator_error(err, CORE_ERR_TEMP,
			"Нет каталога ключа оператора / cannot create the "
			"operator's key folder");
	}
	memset(&req, 0, sizeof(req));
	req.key_type = "rsa";
	req.common_name = op->set->operator_name;
	req.org_name = op->set->operator_name;
	req.inn = op->set->operator_inn;
	req.not_after = util_now() + (int64_t)OP_CERT_YEARS * 365 * 24 * 3600;
	if (crypto_make_self_signed(&req, cert_r, key_r, &cerr) < 0) {
		log_error("operator: cannot make the operator's key: %s",
			  cerr != NULL ? cerr : "?");
		free(cerr);
		return operator_error(err, CORE_ERR_TEMP,
			"Не удалось создать ключ оператора / cannot create "
			"the operator's key");
	}
	if (util_write_file(key_path, *key_r, strlen(*key_r), 0600) < 0 ||
	    util_write_file(cert_path, *cert_r, strlen(*cert_r), 0600) < 0) {
		log_warn("operator: cannot write %s", key_path);
		free(*cert_r);
		op_key_wipe(*key_r);
		*cert_r = *key_r = NULL;
		return operator_error(err, CORE_ERR_TEMP,
			"Не удалось сохранить ключ оператора / cannot save "
			"the operator's key");
	}
	log_info("operator: made the operator's key %s and certificate %s",
		 key_path, cert_path);
	return 0;
}

/* At open: the operator's certificate, when one exists already, is a
 * trusted root of this node before any key is loaded, so that edomailctl
 * (which never signs as the operator) checks the operator's date
 * confirmations as the daemon does. */
void operator_trust_own_cert(struct operator *op)
{
	char *cert_path = xasprintf("%s/%s", op->set->operator_dir,
				    OP_CERT_FILE);
	char *cert = op_read_text(cert_path), *cerr = NULL;

	if (cert != NULL && crypto_trust_add_root(cert, &cerr) < 0) {
		log_warnx("operator: %s", cerr != NULL ? cerr : "?");
		free(cerr);
	}
	free(cert);
	free(cert_path);
}

/* Loads or makes the key; the caller holds key_lock. */
static int op_key_ready(struct operator *op, struct core_error *err)
{
	char *key_path, *cert_path, *cert = NULL, *key = NULL, *cerr = NULL;
	int64_t not_after = 0;
	int ret = 0;

	if (op->signer != NULL && op->cert_not_after > util_now() + OP_CERT_RENEW)
		return 0;
	crypto_signer_free(&op->signer);
	free(op->cert_pem);
	op->cert_pem = NULL;

	key_path = xasprintf("%s/%s", op->set->operator_dir, OP_KEY_FILE);
	cert_path = xasprintf("%s/%s", op->set->operator_dir, OP_CERT_FILE);
	cert = op_read_text(cert_path);
	key = op_read_text(key_path);
	if (cert == NULL || key == NULL || !op_cert_fresh(cert, &not_after)) {
		free(cert);
		op_key_wipe(key);
		cert = key = NULL;
		ret = op_key_make(op, key_path, cert_path, &cert, &key, err);
		if (ret == 0)
			(void)op_cert_fresh(cert, &not_after);
	}
	if (ret == 0 && crypto_signer_new(cert, key, &op->signer, &cerr) < 0) {
		log_error("operator: key %s: %s", key_path,
			  cerr != NULL ? cerr : "?");
		free(cerr);
		ret = operator_error(err, CORE_ERR_TEMP,
			"Ключ оператора не загружается / the operator's key "
			"cannot be loaded");
	}
	if (ret == 0) {
		/* The embedded operator is part of this node: its
		 * self-made certificate is trusted as a root here. */
		if (crypto_trust_add_root(cert, &cerr) < 0) {
			log_warnx("operator: %s", cerr != NULL ? cerr : "?");
			free(cerr);
		}
		op->cert_pem = cert;
		op->cert_not_after = not_after;
		cert = NULL;
	}
	free(cert);
	op_key_wipe(key);
	free(key_path);
	free(cert_path);
	return ret;
}

int operator_sign(struct operator *op, const unsigned char *data, size_t len,
		  unsigned char **sig_r, size_t *sig_len_r,
		  struct core_error *err)
{
	char *cerr = NULL;
	int ret = 0;

	pthread_mutex_lock(&op->key_lock);
	if (op_key_ready(op, err) < 0) {
		ret = -1;
	} else if (crypto_sign_detached(op->signer, data, len, sig_r,
					sig_len_r, &cerr) < 0) {
		log_error("operator: signing failed: %s",
			  cerr != NULL ? cerr : "?");
		free(cerr);
		ret = operator_error(err, CORE_ERR_TEMP,
			"Оператор не смог подписать подтверждение / the "
			"operator could not sign the confirmation");
	}
	pthread_mutex_unlock(&op->key_lock);
	return ret;
}

char *operator_cert_pem(struct operator *op, struct core_error *err)
{
	char *pem = NULL;

	pthread_mutex_lock(&op->key_lock);
	if (op_key_ready(op, err) == 0)
		pem = xstrdup(op->cert_pem);
	pthread_mutex_unlock(&op->key_lock);
	return pem;
}
