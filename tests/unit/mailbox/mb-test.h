#ifndef TESTS_UNIT_MAILBOX_MB_TEST_H
#define TESTS_UNIT_MAILBOX_MB_TEST_H
/* TAP output and a scratch world for the mailbox tests: settings with every
 * file in a temporary directory, a real store, the real core with the
 * embedded operator, and helpers to add organizations and users the way
 * edomailctl does. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <edomail/core.h>
#include "config/config.h"
#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"
#include "mailbox/mailbox.h"
#include "store/store.h"

/* Not every test uses every helper. */
#define MBT_HELPER static __attribute__((unused))

static int mbt_count, mbt_failed;
static char mbt_dir[64];

__attribute__((format(printf, 4, 5)))
static int mbt_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	mbt_count++;
	printf("%sok %d - ", cond ? "" : "not ", mbt_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond) {
		mbt_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return cond;
}
#define ok(cond, ...) mbt_ok((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

MBT_HELPER void mbt_bail(const char *what, const char *why)
{
	printf("Bail out! %s: %s\n", what, why != NULL ? why : "?");
	exit(1);
}

static const char *mbt_tmpdir(void)
{
	if (mbt_dir[0] != '\0')
		return mbt_dir;
	snprintf(mbt_dir, sizeof(mbt_dir), "/tmp/edomail-mb-XXXXXX");
	if (mkdtemp(mbt_dir) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
	return mbt_dir;
}

static void mbt_rmdir(void)
{
	char cmd[128];

	if (mbt_dir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", mbt_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", mbt_dir);
	mbt_dir[0] = '\0';
}

MBT_HELPER void mbt_set_path(char **field, const char *name)
{
	free(*field);
	*field = xasprintf("%s/%s", mbt_tmpdir(), name);
}

MBT_HELPER void mbt_settings(struct settings *set, const char *language)
{
	settings_defaults(set);
	mbt_set_path(&set->store_path, "edomail.db");
	mbt_set_path(&set->operator_dir, "operator");
	mbt_set_path(&set->node_key_path, "node.key");
	free(set->folders_language);
	set->folders_language = xstrdup(language);
}

static int mbt_done(void)
{
	printf("1..%d\n", mbt_count);
	mbt_rmdir();
	return mbt_failed == 0 ? 0 : 1;
}

/* ---- the EDO world: store, core with the embedded operator, env ---- */

/* Opens on *set (mbt_settings first) the store, a new node key, the core
 * and the mailbox env of the EDO tests. */
MBT_HELPER void mbt_edo_open(struct settings *set, struct store **store_r,
			     struct core **core_r,
			     struct mailbox_env **env_r,
			     unsigned char node_key[CRYPTO_NODE_KEY_LEN])
{
	struct core_error err = { 0 };
	struct mailbox_error merr = { 0 };
	const char *serr = NULL;
	char *cerr = NULL;

	crypto_init();
	if (store_open(set->store_path, store_r, &serr) < 0 ||
	    crypto_node_key_load(set->node_key_path, 1, node_key, &cerr) < 0)
		mbt_bail("setup", serr != NULL ? serr : cerr);
	if (core_open(set, *store_r, core_r, &err) < 0)
		mbt_bail("core", err.msg);
	if (mailbox_env_new(set, *store_r, *core_r, env_r, &merr) < 0)
		mbt_bail("env", merr.msg);
}

/* Closes what mbt_edo_open opened, and the settings. */
MBT_HELPER void mbt_edo_close(struct settings *set, struct store **store,
			      struct core **core, struct mailbox_env **env)
{
	mailbox_env_free(env);
	core_close(core);
	store_close(store);
	settings_free(set);
}

/* ---- the gateway's rows, as edomailctl makes them ---- */

MBT_HELPER int64_t mbt_user(struct store *store, const char *login,
			const char *password)
{
	char *hash = NULL;
	int64_t id = 0;

	if (crypto_password_hash(password, &hash) < 0 ||
	    store_user_add(store, login, login, hash, &id) != STORE_OK)
		mbt_bail("user", login);
	free(hash);
	return id;
}

MBT_HELPER void mbt_org(struct store *store, const struct core_box *b,
		    const char *short_name)
{
	struct store_org org;

	memset(&org, 0, sizeof(org));
	org.box_id = (char *)b->id;
	org.name = (char *)b->name;
	org.short_name = (char *)short_name;
	org.inn = (char *)b->inn;
	org.kpp = b->kpp[0] != '\0' ? (char *)b->kpp : NULL;
	if (store_org_add(store, &org) != STORE_OK)
		mbt_bail("org", b->name);
}

MBT_HELPER void mbt_member(struct store *store, int64_t user_id,
		       const char *box_id, int status)
{
	if (store_member_set(store, user_id, box_id, STORE_ROLE_SIGNER,
			     status) != STORE_OK)
		mbt_bail("member", box_id);
}

/* ---- mailbox helpers ---- */

MBT_HELPER struct mailbox_user *mbt_login(struct mailbox_env *env,
				      const char *login, const char *pw)
{
	struct mailbox_error err = { 0 };
	struct mailbox_user *u = NULL;

	if (mailbox_login(env, login, pw, &u, &err) < 0) {
		printf("# login %s: %s\n", login, err.msg);
		return NULL;
	}
	return u;
}

/* 1 when the user's LIST has name with all attrs bits set. */
MBT_HELPER int mbt_listed(struct mailbox_user *u, const char *name,
		      unsigned attrs)
{
	struct mailbox_folder_info *f = NULL;
	struct mailbox_error err = { 0 };
	size_t n = 0, i;
	int found = 0;

	if (mailbox_list(u, &f, &n, &err) < 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (strcmp(f[i].name, name) == 0 &&
		    (f[i].attrs & attrs) == attrs)
			found = 1;
	}
	mailbox_folder_info_free(f, n);
	return found;
}

MBT_HELPER size_t mbt_list_count(struct mailbox_user *u)
{
	struct mailbox_folder_info *f = NULL;
	struct mailbox_error err = { 0 };
	size_t n = 0;

	if (mailbox_list(u, &f, &n, &err) < 0)
		return 0;
	mailbox_folder_info_free(f, n);
	return n;
}

MBT_HELPER void mbt_print_list(struct mailbox_user *u)
{
	struct mailbox_folder_info *f = NULL;
	struct mailbox_error err = { 0 };
	size_t n = 0, i;

	if (mailbox_list(u, &f, &n, &err) < 0)
		return;
	for (i = 0; i < n; i++)
		printf("#   %s (%#x)\n", f[i].name, f[i].attrs);
	mailbox_folder_info_free(f, n);
}

MBT_HELPER uint32_t mbt_messages(struct mailbox_user *u, const char *name)
{
	struct mailbox_status st;
	struct mailbox_error err = { 0 };

	if (mailbox_folder_status(u, name, &st, &err) < 0) {
		printf("# status %s: %s\n", name, err.msg);
		return (uint32_t)-1;
	}
	return st.messages;
}

MBT_HELPER uint32_t mbt_append(struct mailbox_user *u, const char *name,
			   const char *msg, uint32_t flags, const char *kw)
{
	struct mailbox_error err = { 0 };
	uint32_t uidv = 0, uid = 0;

	if (mailbox_append(u, name, (const unsigned char *)msg, strlen(msg),
			   flags, kw, 0, &uidv, &uid, &err) < 0) {
		printf("# append %s: %s\n", name, err.msg);
		return 0;
	}
	return uid;
}

MBT_HELPER int mbt_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Quoted-printable decoding of a whole message (other bytes pass), so
 * that tests can look for Russian text in text parts. */
MBT_HELPER unsigned char *mbt_unqp(const unsigned char *in, size_t len,
			       size_t *len_r)
{
	unsigned char *out = xmalloc(len + 1);
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (in[i] == '=' && i + 2 < len && in[i + 1] == '\r' &&
		    in[i + 2] == '\n') {
			i += 2;
		} else if (in[i] == '=' && i + 2 < len &&
			   mbt_hex(in[i + 1]) >= 0 && mbt_hex(in[i + 2]) >= 0) {
			out[o++] = (unsigned char)(mbt_hex(in[i + 1]) * 16 +
						   mbt_hex(in[i + 2]));
			i += 2;
		} else {
			out[o++] = in[i];
		}
	}
	*len_r = o;
	return out;
}

/* The message's bytes (or its quoted-printable text) contain needle. */
MBT_HELPER int mbt_msg_has(struct mailbox_view *v, uint32_t seq,
			   const char *needle)
{
	struct mailbox_error err = { 0 };
	unsigned char *data = NULL, *dec;
	size_t len = 0, dlen;
	int found;

	if (mailbox_msg_data(v, seq, &data, &len, &err) < 0)
		return 0;
	dec = mbt_unqp(data, len, &dlen);
	found = memmem(data, len, needle, strlen(needle)) != NULL ||
		memmem(dec, dlen, needle, strlen(needle)) != NULL;
	free(dec);
	free(data);
	return found;
}

#endif
