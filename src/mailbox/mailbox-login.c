/* Login: "user", "user+ИНН" or "user+ИНН.КПП" (DESIGN.md section 3), the
 * password check, and the boxes the session serves (active memberships
 * only, so a blocked membership hides its organization). */
#include "mailbox/mailbox-private.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"

#define MB_AUTH_FAILED "Неверный логин или пароль / invalid login or password"

struct mb_login {
	char *user;		/* login without the organization part */
	char inn[13];		/* "" when not given */
	char kpp[10];		/* "" when not given */
};

static int mb_all_digits(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* The suffix after the last '+' names an organization only when it looks
 * like one (10 or 12 digits, optionally ".КПП"); otherwise '+' is part of
 * the login.  "user@<our domain>" is accepted as "user" because many
 * clients offer the address as the login. */
static void mb_login_parse(const struct mailbox_env *env, const char *login,
			   struct mb_login *l)
{
	const char *plus, *dot, *at;
	size_t inn_len, kpp_len, len = strlen(login);

	memset(l, 0, sizeof(*l));
	at = strrchr(login, '@');
	if (at != NULL && util_strcaseeq(at + 1, env->domain))
		len = (size_t)(at - login);
	plus = memrchr(login, '+', len);
	if (plus != NULL) {
		dot = memchr(plus, '.', len - (size_t)(plus - login));
		inn_len = (size_t)((dot != NULL ? dot : login + len) - plus - 1);
		kpp_len = dot != NULL ? len - (size_t)(dot - login) - 1 : 0;
		if ((inn_len == 10 || inn_len == 12) &&
		    mb_all_digits(plus + 1, inn_len) &&
		    (dot == NULL || kpp_len == 9)) {
			memcpy(l->inn, plus + 1, inn_len);
			if (dot != NULL)
				memcpy(l->kpp, dot + 1, kpp_len);
			len = (size_t)(plus - login);
		}
	}
	l->user = xstrndup(login, len);
}

char *mb_login_user(const struct mailbox_env *env, const char *login)
{
	struct mb_login l;

	mb_login_parse(env, login, &l);
	return l.user;
}

static void mb_user_free_boxes(struct mailbox_user *user)
{
	size_t i;

	for (i = 0; i < user->n_boxes; i++) {
		free(user->boxes[i].box_id);
		store_org_clear(&user->boxes[i].org);
		free(user->boxes[i].prefix);
		free(user->boxes[i].cursor);
	}
	free(user->boxes);
	user->boxes = NULL;
	user->n_boxes = 0;
}

void mailbox_user_free(struct mailbox_user **_user)
{
	struct mailbox_user *user = *_user;

	if (user == NULL)
		return;
	*_user = NULL;
	if (__atomic_sub_fetch(&user->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	mb_user_free_boxes(user);
	free(user->login);
	free(user);
}

struct mailbox_user *mailbox_user_ref(struct mailbox_user *user)
{
	__atomic_add_fetch(&user->refs, 1, __ATOMIC_RELAXED);
	return user;
}

const char *mailbox_user_login(struct mailbox_user *user)
{
	return user->login;
}

int64_t mailbox_user_id(struct mailbox_user *user)
{
	return user->id;
}

size_t mailbox_user_box_count(struct mailbox_user *user)
{
	return user->n_boxes;
}

const char *mailbox_user_box_id(struct mailbox_user *user, size_t i)
{
	return i < user->n_boxes ? user->boxes[i].box_id : NULL;
}

int mailbox_user_multi(struct mailbox_user *user)
{
	return user->multi;
}

static int mb_org_matches(const struct store_org *org, const struct mb_login *l)
{
	const char *kpp = org->kpp != NULL ? org->kpp : "";

	if (strcmp(org->inn, l->inn) != 0)
		return 0;
	return l->kpp[0] == '\0' || strcmp(kpp, l->kpp) == 0;
}

static void mb_user_add_box(struct mailbox_user *user, const char *box_id,
			    struct store_org *org)
{
	struct mb_box *b;

	user->boxes = xrealloc(user->boxes,
			       (user->n_boxes + 1) * sizeof(*user->boxes));
	b = &user->boxes[user->n_boxes++];
	memset(b, 0, sizeof(*b));
	b->box_id = xstrdup(box_id);
	b->org = *org;
	memset(org, 0, sizeof(*org));
}

/* The top folder name of an organization for a multi-org user: its short
 * name and ИНН, with the КПП when two branches would look the same. */
static void mb_user_prefixes(struct mailbox_user *user)
{
	size_t i, j;

	for (i = 0; i < user->n_boxes; i++) {
		struct store_org *o = &user->boxes[i].org;
		const char *name = o->short_name != NULL && o->short_name[0] != '\0' ?
			o->short_name : o->name;
		char *p, *c;

		p = xasprintf("%s %s", name != NULL ? name : "", o->inn);
		/* '/' would split the name into levels; controls are not
		 * wanted in a folder name. */
		for (c = p; *c != '\0'; c++) {
			if (*c == '/' || (unsigned char)*c < 0x20)
				*c = '-';
		}
		user->boxes[i].prefix = p;
	}
	for (i = 0; i < user->n_boxes; i++) {
		for (j = 0; j < user->n_boxes; j++) {
			struct store_org *o = &user->boxes[i].org;
			char *p;

			if (i == j || strcmp(user->boxes[i].prefix,
					     user->boxes[j].prefix) != 0)
				continue;
			p = xasprintf("%s.%s", user->boxes[i].prefix,
				      o->kpp != NULL && o->kpp[0] != '\0' ?
				      o->kpp : o->box_id);
			free(user->boxes[i].prefix);
			user->boxes[i].prefix = p;
			break;
		}
	}
}

/* Active memberships (matching the +ИНН part if given) become the
 * session's boxes.  -1: ambiguous ИНН without КПП. */
static int mb_user_load_boxes(struct mailbox_user *user,
			      const struct mb_login *l, int *n_blocked_r,
			      struct mailbox_error *err)
{
	struct store *s = user->env->store;
	struct store_membership *m;
	struct store_org org;
	size_t n, i;
	int ret;

	*n_blocked_r = 0;
	ret = store_member_list_user(s, user->id, &m, &n);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "login");
	for (i = 0; i < n; i++) {
		if (m[i].status != STORE_ACTIVE) {
			(*n_blocked_r)++;
			continue;
		}
		if (store_org_get(s, m[i].box_id, &org) != STORE_OK)
			continue;
		if (l->inn[0] != '\0' && !mb_org_matches(&org, l)) {
			store_org_clear(&org);
			continue;
		}
		mb_user_add_box(user, m[i].box_id, &org);
	}
	store_member_list_free(m, n);
	if (l->inn[0] != '\0' && user->n_boxes > 1) {
		mb_user_free_boxes(user);
		return mb_error(err, MAILBOX_ERR_AUTH,
				"У этого ИНН несколько КПП: войдите как "
				"логин+ИНН.КПП / several КПП share this ИНН: "
				"log in as login+INN.KPP");
	}
	return 0;
}

/* Folder rows and sync cursors for every box of the session. */
static int mb_user_prepare(struct mailbox_user *user,
			   struct mailbox_error *err)
{
	struct mailbox_env *env = user->env;
	int64_t id;
	size_t i;
	int ret;

	ret = store_mb_folder_ensure(env->store, user->id, "",
				     STORE_MB_ROLE_NOTICES, "", &id);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "login folders");
	for (i = 0; i < user->n_boxes; i++) {
		if (mb_box_folders_ensure(env, user->id, user->boxes[i].box_id,
					  err) < 0)
			return -1;
		ret = store_mb_cursor_get(env->store, user->id,
					  user->boxes[i].box_id,
					  &user->boxes[i].cursor);
		if (ret != STORE_OK)
			return mb_store_error(err, ret, "login cursor");
	}
	return 0;
}

/* A hash made with fewer iterations than limits.password_iterations asks
 * (100,000 before issue 12) is made anew from the password just verified.
 * Only while the row still holds the old hash, so a password changed
 * meanwhile by edomailctl wins; the epoch stays, so the user's other
 * sessions go on.  A failure only means the upgrade waits for the next
 * login. */
static void mb_login_upgrade(struct mailbox_env *env, struct store_user *su,
			     const char *password)
{
	int want = env->set->password_iterations;
	char *hash = NULL;

	if (su->pw_hash == NULL || want <= 0 ||
	    crypto_password_iterations(su->pw_hash) >= want)
		return;
	if (crypto_password_hash_iter(password, want, &hash) < 0)
		return;
	if (store_user_upgrade_hash(env->store, su->id, su->pw_hash, hash) ==
	    STORE_OK) {
		log_info("mailbox: password hash of %s upgraded to %d iterations",
			 su->login, want);
		free(su->pw_hash);
		su->pw_hash = hash;
		return;
	}
	free(hash);
}

/* The password check of a login: 0 verified (from the cache when it
 * holds it), -1 refused (err set), 1 not in the cache and only_cached. */
static int mb_login_verify(struct mailbox_env *env, const struct mb_login *l,
			   const char *password, int only_cached,
			   struct store_user *su, struct mailbox_error *err)
{
	const char *dummy;
	int ret, cached;

	ret = store_user_get(env->store, l->user, su);
	if (ret != STORE_OK) {
		if (ret != STORE_ERR_NOTFOUND)
			return mb_store_error(err, ret, "login");
		if (only_cached)
			return 1;
		/* Same work as a wrong password, so timing does not tell
		 * which logins exist. */
		if ((dummy = mb_dummy_hash(env)) != NULL)
			(void)crypto_password_verify(password, dummy);
		return mb_error(err, MAILBOX_ERR_AUTH, MB_AUTH_FAILED);
	}
	cached = su->pw_hash != NULL &&
		 mb_auth_cache_check(env->auth_cache, su->id, su->pw_hash,
				     password);
	if (!cached && only_cached) {
		store_user_clear(su);
		return 1;
	}
	if (!cached && (su->pw_hash == NULL ||
			crypto_password_verify(password, su->pw_hash) != 1)) {
		store_user_clear(su);
		return mb_error(err, MAILBOX_ERR_AUTH, MB_AUTH_FAILED);
	}
	if (!cached)
		mb_login_upgrade(env, su, password);
	if (su->status != STORE_ACTIVE) {
		log_info("mailbox: login of blocked user %s refused", su->login);
		mb_auth_cache_drop(env->auth_cache, su->id);
		store_user_clear(su);
		return mb_error(err, MAILBOX_ERR_AUTH,
				"Учётная запись заблокирована / account is blocked");
	}
	if (!cached)
		mb_auth_cache_add(env->auth_cache, su->id, su->pw_hash, password);
	return 0;
}

static int mb_login(struct mailbox_env *env, const char *login,
		    const char *password, int only_cached,
		    struct mailbox_user **user_r, struct mailbox_error *err)
{
	struct mailbox_user *user;
	struct store_user su;
	struct mb_login l;
	int ret, n_blocked;

	*user_r = NULL;
	if (login == NULL || password == NULL || login[0] == '\0' ||
	    strlen(login) > MB_MAX_LOGIN || strlen(password) > MB_MAX_PASSWORD)
		return mb_error(err, MAILBOX_ERR_AUTH, MB_AUTH_FAILED);
	mb_login_parse(env, login, &l);
	ret = mb_login_verify(env, &l, password, only_cached, &su, err);
	free(l.user);
	l.user = NULL;
	if (ret != 0)
		return ret;
	user = xcalloc(1, sizeof(*user));
	user->refs = 1;
	user->env = env;
	user->id = su.id;
	user->pw_epoch = su.pw_epoch;
	user->login = xstrdup(login);
	store_user_clear(&su);
	if (mb_user_load_boxes(user, &l, &n_blocked, err) < 0) {
		mailbox_user_free(&user);
		return -1;
	}
	if (user->n_boxes == 0) {
		/* "+ИНН" of a box the user does not serve actively looks like
		 * any failed login; a plain login blocked everywhere is told
		 * so. */
		mailbox_user_free(&user);
		if (l.inn[0] == '\0' && n_blocked > 0)
			return mb_error(err, MAILBOX_ERR_AUTH,
					"Учётная запись заблокирована / account is blocked");
		return mb_error(err, MAILBOX_ERR_AUTH, MB_AUTH_FAILED);
	}
	user->multi = l.inn[0] == '\0' && user->n_boxes > 1;
	if (user->multi)
		mb_user_prefixes(user);
	if (mb_user_prepare(user, err) < 0) {
		mailbox_user_free(&user);
		return -1;
	}
	*user_r = user;
	return 0;
}

int mailbox_login(struct mailbox_env *env, const char *login,
		  const char *password, struct mailbox_user **user_r,
		  struct mailbox_error *err)
{
	return mb_login(env, login, password, 0, user_r, err);
}

int mailbox_login_cached(struct mailbox_env *env, const char *login,
			 const char *password, struct mailbox_user **user_r,
			 struct mailbox_error *err)
{
	return mb_login(env, login, password, 1, user_r, err);
}

int mb_user_state_check(struct mailbox_user *user, struct mailbox_error *err)
{
	struct store_user su;
	int ret, active, same_pw;

	ret = store_user_get_by_id(user->env->store, user->id, &su);
	if (ret == STORE_ERR_NOTFOUND)
		return mb_error(err, MAILBOX_ERR_AUTH,
				"Учётная запись удалена / account was removed");
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "access check");
	active = su.status == STORE_ACTIVE;
	same_pw = su.pw_epoch == user->pw_epoch;
	store_user_clear(&su);
	if (!active)
		return mb_error(err, MAILBOX_ERR_AUTH,
				"Учётная запись заблокирована / account is blocked");
	if (!same_pw)
		return mb_error(err, MAILBOX_ERR_AUTH,
				"Пароль изменён, войдите снова / the password "
				"was changed, log in again");
	return 0;
}

int mailbox_user_check(struct mailbox_user *user, struct mailbox_error *err)
{
	struct store *s = user->env->store;
	struct store_membership m;
	int ret, active;

	if (mb_user_state_check(user, err) < 0)
		return -1;
	for (size_t i = 0; i < user->n_boxes; i++) {
		ret = store_member_get(s, user->id, user->boxes[i].box_id, &m);
		if (ret != STORE_OK && ret != STORE_ERR_NOTFOUND)
			return mb_store_error(err, ret, "access check");
		active = ret == STORE_OK && m.status == STORE_ACTIVE;
		if (ret == STORE_OK)
			store_membership_clear(&m);
		if (!active)
			return mb_error(err, MAILBOX_ERR_AUTH,
				"Доступ к организации закрыт, войдите снова / "
				"access to an organization was withdrawn, log in again");
	}
	return 0;
}
