/* Private keys at rest: AES-256-GCM under the node key.
 *
 * Format: "EDK1" | nonce (12) | tag (16) | ciphertext.  The magic is also
 * fed to GCM as associated data, so a blob cannot be passed off as another
 * format version.  A random 96-bit nonce per seal is safe for far more
 * keys than a node will ever hold (NIST SP 800-38D: < 2^32 messages).
 *
 * Decrypted renderings of encrypted EDO messages (issue 14 item 6) are
 * sealed the same way under the same key with the magic "EDR1": the magic
 * being the associated data, a sealed rendering never opens as a key and
 * a sealed key never opens as a rendering.  A node stores far fewer than
 * 2^32 renderings per key, as above. */
#include "crypto/crypto-private.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CRYPTO_SEAL_MAGIC	"EDK1"
#define CRYPTO_SEAL_MAGIC_RENDERING "EDR1"
#define CRYPTO_SEAL_MAGIC_LEN	4
#define CRYPTO_SEAL_NONCE_LEN	12
#define CRYPTO_SEAL_TAG_LEN	16
#define CRYPTO_SEAL_HDR_LEN \
	(CRYPTO_SEAL_MAGIC_LEN + CRYPTO_SEAL_NONCE_LEN + CRYPTO_SEAL_TAG_LEN)

/* ---- node key file ---- */

static int crypto_read_exact(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	/* One more byte must not exist: the file is exactly the key. */
	unsigned char extra;
	ssize_t n;
	do {
		n = read(fd, &extra, 1);
	} while (n < 0 && errno == EINTR);
	return n == 0 ? 0 : -1;
}

static int crypto_node_key_read(const char *path,
				unsigned char key_r[CRYPTO_NODE_KEY_LEN],
				char **error_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0) {
		log_warnx("crypto: %s: ключ узла доступен другим "
			  "пользователям (chmod 600) / node key is readable by "
			  "others (chmod 600)", path);
	}
	int ret = crypto_read_exact(fd, key_r, CRYPTO_NODE_KEY_LEN);
	close(fd);
	if (ret < 0) {
		OPENSSL_cleanse(key_r, CRYPTO_NODE_KEY_LEN);
		crypto_error(error_r, "Файл ключа узла %s повреждён (должно быть "
			     "%d байта) / node key file %s is corrupt (must be "
			     "%d bytes)", path, CRYPTO_NODE_KEY_LEN, path,
			     CRYPTO_NODE_KEY_LEN);
		errno = EINVAL;
	}
	return ret;
}

static int crypto_write_all(int fd, const unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes a fresh key to a temporary file and links it into place: link()
 * fails when another process created the key meanwhile, and then that key
 * is the one everyone uses.  A rename would silently replace it and make
 * keys sealed by the other process unreadable. */
static int crypto_node_key_create(const char *path, char **error_r)
{
	unsigned char key[CRYPTO_NODE_KEY_LEN];
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int ret = -1;

	if (RAND_bytes(key, sizeof(key)) != 1)
		fatalx("RAND_bytes failed");
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (crypto_write_all(fd, key, sizeof(key)) == 0 &&
		    fsync(fd) == 0 && close(fd) == 0) {
			fd = -1;
			if (link(tmp, path) == 0 || errno == EEXIST)
				ret = 0;
		}
		int e = errno;
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		errno = e;
	}
	OPENSSL_cleanse(key, sizeof(key));
	if (ret < 0) {
		crypto_error(error_r, "Не удалось создать ключ узла %s: %s / "
			     "cannot create node key %s: %s", path,
			     strerror(errno), path, strerror(errno));
	}
	free(tmp);
	return ret;
}

int crypto_node_key_load(const char *path, int create,
			 unsigned char key_r[CRYPTO_NODE_KEY_LEN],
			 char **error_r)
{
	char *err = NULL;

	if (crypto_node_key_read(path, key_r, &err) == 0)
		return 0;
	if (err != NULL || errno != ENOENT || !create) {
		if (err == NULL) {
			int e = errno;
			crypto_error(&err, "Не удалось прочитать ключ узла %s: %s "
				     "/ cannot read node key %s: %s", path,
				     strerror(e), path, strerror(e));
		}
		if (error_r != NULL)
			*error_r = err;
		else
			free(err);
		return -1;
	}
	if (crypto_node_key_create(path, error_r) < 0)
		return -1;
	log_info("crypto: создан ключ узла / created node key %s", path);
	return crypto_node_key_read(path, key_r, error_r);
}

/* ---- seal / unseal ---- */

static EVP_CIPHER_CTX *crypto_gcm_ctx(const unsigned char *key,
				      const unsigned char *nonce,
				      const char *magic, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl;

	if (ctx == NULL)
		fatalx("EVP_CIPHER_CTX_new failed");
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL,
			      enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
				CRYPTO_SEAL_NONCE_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &outl,
			     (const unsigned char *)magic,
			     CRYPTO_SEAL_MAGIC_LEN) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int crypto_seal_magic(const unsigned char *key, const char *magic,
			     const unsigned char *in, size_t len,
			     unsigned char **out_r, size_t *out_len_r)
{
	if (len > CRYPTO_MAX_DATA_LEN)
		return -1;
	unsigned char *out = xmalloc(CRYPTO_SEAL_HDR_LEN + len);
	unsigned char *nonce = out + CRYPTO_SEAL_MAGIC_LEN;
	unsigned char *tag = nonce + CRYPTO_SEAL_NONCE_LEN;
	unsigned char *ct = tag + CRYPTO_SEAL_TAG_LEN;
	int n = 0, fin = 0;

	memcpy(out, magic, CRYPTO_SEAL_MAGIC_LEN);
	if (RAND_bytes(nonce, CRYPTO_SEAL_NONCE_LEN) != 1)
		fatalx("RAND_bytes failed");
	EVP_CIPHER_CTX *ctx = crypto_gcm_ctx(key, nonce, magic, 1);
	if (ctx == NULL ||
	    EVP_EncryptUpdate(ctx, ct, &n, in, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, ct + n, &fin) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
				CRYPTO_SEAL_TAG_LEN, tag) != 1) {
		crypto_drain_errors("crypto_seal");
		EVP_CIPHER_CTX_free(ctx);
		free(out);
		return -1;
	}
	EVP_CIPHER_CTX_free(ctx);
	*out_r = out;
	*out_len_r = CRYPTO_SEAL_HDR_LEN + (size_t)n + (size_t)fin;
	return 0;
}

static int crypto_unseal_magic(const unsigned char *key, const char *magic,
			       const unsigned char *in, size_t len,
			       unsigned char **out_r, size_t *out_len_r,
			       char **error_r)
{
	if (len < CRYPTO_SEAL_HDR_LEN || len > CRYPTO_MAX_DATA_LEN ||
	    memcmp(in, magic, CRYPTO_SEAL_MAGIC_LEN) != 0) {
		int is_key = strcmp(magic, CRYPTO_SEAL_MAGIC) == 0;
		crypto_error(error_r, "Неизвестный формат зашифрованного %s / "
			     "unknown sealed %s format", is_key ? "ключа" :
			     "письма", is_key ? "key" : "rendering");
		return -1;
	}
	const unsigned char *nonce = in + CRYPTO_SEAL_MAGIC_LEN;
	const unsigned char *tag = nonce + CRYPTO_SEAL_NONCE_LEN;
	const unsigned char *ct = tag + CRYPTO_SEAL_TAG_LEN;
	size_t ct_len = len - CRYPTO_SEAL_HDR_LEN;
	/* One byte more than needed: callers often treat the result as a
	 * PEM string, so it is NUL-terminated. */
	unsigned char *out = xmalloc(ct_len + 1);
	int n = 0, fin = 0;

	EVP_CIPHER_CTX *ctx = crypto_gcm_ctx(key, nonce, magic, 0);
	if (ctx == NULL ||
	    EVP_DecryptUpdate(ctx, out, &n, ct, (int)ct_len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CRYPTO_SEAL_TAG_LEN,
				(void *)tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, out + n, &fin) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		OPENSSL_cleanse(out, ct_len + 1);
		free(out);
		crypto_error(error_r, "Не удалось расшифровать (%s): неверный "
			     "ключ узла или данные повреждены / cannot unseal "
			     "(%s): wrong node key or corrupt data", magic,
			     magic);
		return -1;
	}
	EVP_CIPHER_CTX_free(ctx);
	out[n + fin] = '\0';
	*out_r = out;
	*out_len_r = (size_t)n + (size_t)fin;
	return 0;
}

int crypto_seal(const unsigned char key[CRYPTO_NODE_KEY_LEN],
		const unsigned char *in, size_t len, unsigned char **out_r,
		size_t *out_len_r)
{
	return crypto_seal_magic(key, CRYPTO_SEAL_MAGIC, in, len, out_r,
				 out_len_r);
}

int crypto_unseal(const unsigned char key[CRYPTO_NODE_KEY_LEN],
		  const unsigned char *in, size_t len, unsigned char **out_r,
		  size_t *out_len_r, char **error_r)
{
	return crypto_unseal_magic(key, CRYPTO_SEAL_MAGIC, in, len, out_r,
				   out_len_r, error_r);
}

int crypto_seal_rendering(const unsigned char key[CRYPTO_NODE_KEY_LEN],
			  const unsigned char *in, size_t len,
			  unsigned char **out_r, size_t *out_len_r)
{
	return crypto_seal_magic(key, CRYPTO_SEAL_MAGIC_RENDERING, in, len,
				 out_r, out_len_r);
}

int crypto_unseal_rendering(const unsigned char key[CRYPTO_NODE_KEY_LEN],
			    const unsigned char *in, size_t len,
			    unsigned char **out_r, size_t *out_len_r,
			    char **error_r)
{
	return crypto_unseal_magic(key, CRYPTO_SEAL_MAGIC_RENDERING, in, len,
				   out_r, out_len_r, error_r);
}
