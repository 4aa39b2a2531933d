/* The plain-folder side of the mailbox on a real store file: folder trees
 * (one organization, several, English names), login rules, UIDs that grow
 * and survive reopening, APPEND/COPY/MOVE/EXPUNGE in the user's folders
 * under the archive, CREATE/RENAME/DELETE rules, views seeing another
 * view's changes, and that a user never reaches another organization's
 * folders. */
#include "mb-test.h"
#include "store/store-mailbox.h"

#include <unistd.h>

static struct settings set, set_en;
static struct store *store;
static struct mailbox_env *env, *env_en;
static struct core_box A, B, C, X;
static int64_t anna, buh, blocked;

static const char msg1[] =
	"From: Анна <anna@example.org>\r\n"
	"To: buh@example.org\r\n"
	"Subject: test 1\r\n"
	"Message-ID: <one@example.org>\r\n"
	"\r\n"
	"body one\r\n";
static const char msg2[] =
	"From: anna@example.org\r\nSubject: test 2\r\n"
	"Message-ID:\r\n <two@example.org>\r\n\r\nbody two\r\n";
static const char msg3[] =
	"From: anna@example.org\r\nSubject: test 3\r\n\r\nbody three\r\n";

static struct core_box mbox(const char *id, const char *name, const char *inn,
			    const char *kpp)
{
	struct core_box b;

	memset(&b, 0, sizeof(b));
	snprintf(b.id, sizeof(b.id), "%s", id);
	snprintf(b.name, sizeof(b.name), "%s", name);
	snprintf(b.inn, sizeof(b.inn), "%s", inn);
	snprintf(b.kpp, sizeof(b.kpp), "%s", kpp);
	return b;
}

static void open_world(void)
{
	struct mailbox_error err = { 0 };
	const char *serr = NULL;

	if (store_open(set.store_path, &store, &serr) < 0)
		mbt_bail("store", serr);
	/* No operator here: the plain folders need none, and sync is a
	 * no-op without one. */
	if (mailbox_env_new(&set, store, NULL, &env, &err) < 0 ||
	    mailbox_env_new(&set_en, store, NULL, &env_en, &err) < 0)
		mbt_bail("env", err.msg);
}

static void close_world(void)
{
	mailbox_env_free(&env);
	mailbox_env_free(&env_en);
	store_close(&store);
}

static void setup(void)
{
	mbt_settings(&set, "ru");
	mbt_settings(&set_en, "en");
	crypto_init();
	open_world();
	A = mbox("2ED-aaaa", "ООО «Ромашка»", "7707083893", "770701001");
	B = mbox("2ED-bbbb", "ООО «Лютик»", "7733012345", "773301001");
	C = mbox("2ED-cccc", "ИП Иванов", "500100732259", "");
	X = mbox("2ED-xxxx", "АО «Чужая»", "6621001230", "662101001");
	mbt_org(store, &A, "Ромашка");
	mbt_org(store, &B, "Лютик");
	mbt_org(store, &C, NULL);
	mbt_org(store, &X, "Чужая");
	anna = mbt_user(store, "anna", "секрет-1");
	buh = mbt_user(store, "buh", "secret-2");
	blocked = mbt_user(store, "petrov", "secret-3");
	mbt_member(store, anna, A.id, STORE_ACTIVE);
	mbt_member(store, buh, A.id, STORE_ACTIVE);
	mbt_member(store, buh, B.id, STORE_ACTIVE);
	mbt_member(store, buh, C.id, STORE_BLOCKED);
	mbt_member(store, blocked, A.id, STORE_ACTIVE);
	store_user_set_status(store, blocked, STORE_BLOCKED);
}

static void test_login(void)
{
	struct mailbox_error err = { 0 };
	struct mailbox_user *u = NULL;
	const char *generic = "Неверный логин или пароль / invalid login or password";
	char long_login[400];

	ok(mailbox_login(env, "anna", "wrong", &u, &err) < 0 && u == NULL &&
	   err.cls == MAILBOX_ERR_AUTH && strcmp(err.msg, generic) == 0,
	   "wrong password: generic failure");
	ok(mailbox_login(env, "nobody", "секрет-1", &u, &err) < 0 &&
	   err.cls == MAILBOX_ERR_AUTH && strcmp(err.msg, generic) == 0,
	   "unknown user: the same text");
	ok(mailbox_login(env, "petrov", "secret-3", &u, &err) < 0 &&
	   err.cls == MAILBOX_ERR_AUTH &&
	   strcmp(err.msg, "Учётная запись заблокирована / account is blocked") == 0,
	   "blocked user told so");
	ok(mailbox_login(env, "petrov", "wrong", &u, &err) < 0 &&
	   strcmp(err.msg, generic) == 0,
	   "blocked user with a wrong password: generic");
	ok(mailbox_login(env, "anna+7733012345", "секрет-1", &u, &err) < 0 &&
	   err.cls == MAILBOX_ERR_AUTH && strcmp(err.msg, generic) == 0,
	   "anna+ИНН of an organization she does not serve: generic");
	ok(mailbox_login(env, "buh+500100732259", "secret-2", &u, &err) < 0 &&
	   err.cls == MAILBOX_ERR_AUTH && strcmp(err.msg, generic) == 0,
	   "buh+ИНН of an organization where his membership is blocked: generic");
	memset(long_login, 'a', sizeof(long_login) - 1);
	long_login[sizeof(long_login) - 1] = '\0';
	ok(mailbox_login(env, long_login, "x", &u, &err) < 0 &&
	   err.cls == MAILBOX_ERR_AUTH, "over-long login refused");
	u = mbt_login(env, "ANNA", "секрет-1");
	ok(u != NULL && mailbox_user_box_count(u) == 1 &&
	   strcmp(mailbox_user_box_id(u, 0), A.id) == 0 &&
	   strcmp(mailbox_user_login(u), "ANNA") == 0,
	   "login is case-insensitive; anna serves Ромашка");
	mailbox_user_free(&u);
	ok(u == NULL, "mailbox_user_free NULLs the pointer");
	u = mbt_login(env, "anna@edo.local", "секрет-1");
	ok(u != NULL, "login as the address on our domain");
	mailbox_user_free(&u);
	u = mbt_login(env, "buh+7707083893.770701001", "secret-2");
	ok(u != NULL && mailbox_user_box_count(u) == 1 &&
	   strcmp(mailbox_user_box_id(u, 0), A.id) == 0 && !mailbox_user_multi(u),
	   "buh+ИНН.КПП: that organization only, flat tree");
	mailbox_user_free(&u);
}

/* Verified logins are remembered (limits.auth_cache_ttl): never a failed
 * one, not past a password change (the stored hash is part of the key),
 * not for a blocked user, not past the TTL. */
static int cached(struct mailbox_env *e, const char *login, const char *pw)
{
	struct mailbox_error err = { 0 };
	struct mailbox_user *u = NULL;
	int ret = mailbox_login_cached(e, login, pw, &u, &err);

	if (ret == 0 && u == NULL)
		return 99;
	mailbox_user_free(&u);
	return ret;
}

static void test_login_cache(void)
{
	struct mailbox_error err = { 0 };
	struct mailbox_user *u = NULL;
	struct settings set_short = set, set_off = set;
	struct mailbox_env *env_short = NULL, *env_off = NULL;
	int64_t kira = mbt_user(store, "kira", "pw-1");
	char *hash = NULL;

	mbt_member(store, kira, A.id, STORE_ACTIVE);
	ok(cached(env, "kira", "pw-1") == 1, "cache: unknown before a login");
	ok(mailbox_login(env, "kira", "wrong", &u, &err) < 0,
	   "cache: wrong password refused");
	ok(cached(env, "kira", "wrong") == 1 && cached(env, "kira", "pw-1") == 1,
	   "cache: a failed login is not remembered");
	u = mbt_login(env, "kira", "pw-1");
	mailbox_user_free(&u);
	ok(cached(env, "kira", "pw-1") == 0, "cache: verified login remembered");
	ok(cached(env, "KIRA+7707083893", "pw-1") == 0,
	   "cache: keyed by the user, whatever form of the login");
	ok(cached(env, "kira", "pw-2") == 1 && cached(env, "kira", "pw-1x") == 1,
	   "cache: another password is not a hit");
	ok(cached(env, "anna", "pw-1") != 0, "cache: another user is not a hit");

	/* a password change by edomailctl: a new stored hash */
	if (crypto_password_hash("pw-2", &hash) < 0 ||
	    store_user_set_password(store, kira, hash) != STORE_OK)
		mbt_bail("passwd", "kira");
	free(hash);
	ok(cached(env, "kira", "pw-1") == 1, "cache: old password gone after a change");
	ok(mailbox_login(env, "kira", "pw-1", &u, &err) < 0 && u == NULL,
	   "cache: old password refused after a change");
	u = mbt_login(env, "kira", "pw-2");
	mailbox_user_free(&u);
	ok(cached(env, "kira", "pw-2") == 0, "cache: new password remembered");

	/* a block: refused at once, and the entry is dropped */
	store_user_set_status(store, kira, STORE_BLOCKED);
	ok(mailbox_login_cached(env, "kira", "pw-2", &u, &err) < 0 && u == NULL &&
	   err.cls == MAILBOX_ERR_AUTH &&
	   strcmp(err.msg, "Учётная запись заблокирована / account is blocked") == 0,
	   "cache: blocked user refused from the cache");
	store_user_set_status(store, kira, STORE_ACTIVE);
	ok(cached(env, "kira", "pw-2") == 1, "cache: entry dropped by the block");

	/* TTL and off */
	set_short.auth_cache_ttl = 1;
	set_off.auth_cache_ttl = 0;
	if (mailbox_env_new(&set_short, store, NULL, &env_short, &err) < 0 ||
	    mailbox_env_new(&set_off, store, NULL, &env_off, &err) < 0)
		mbt_bail("env", err.msg);
	/* (env_off first: a login hashes 600,000 times, which can take
	 * longer than the 1 s TTL on a loaded machine) */
	u = mbt_login(env_off, "kira", "pw-2");
	mailbox_user_free(&u);
	u = mbt_login(env_short, "kira", "pw-2");
	mailbox_user_free(&u);
	ok(cached(env_short, "kira", "pw-2") == 0, "cache: hit within the TTL");
	ok(cached(env_off, "kira", "pw-2") == 1, "cache: auth_cache_ttl = 0 keeps nothing");
	usleep(1100 * 1000);
	ok(cached(env_short, "kira", "pw-2") == 1, "cache: expired after the TTL");
	mailbox_env_free(&env_short);
	mailbox_env_free(&env_off);
}

static void test_flat_tree(void)
{
	struct mailbox_user *u = mbt_login(env, "anna", "секрет-1");

	ok(u != NULL && !mailbox_user_multi(u), "anna: flat tree");
	if (u == NULL)
		return;
	ok(mbt_list_count(u) == 11, "eleven names in the flat tree (%zu)",
	   mbt_list_count(u));
	ok(mbt_listed(u, "INBOX", MAILBOX_ATTR_HASNOCHILDREN) &&
	   mbt_listed(u, "Входящие", MAILBOX_ATTR_NOSELECT |
		      MAILBOX_ATTR_HASCHILDREN) &&
	   mbt_listed(u, "Входящие/Приглашения", 0) &&
	   mbt_listed(u, "Входящие/На подпись", 0) &&
	   mbt_listed(u, "Исходящие", MAILBOX_ATTR_NOSELECT) &&
	   mbt_listed(u, "Исходящие/Приглашения", 0) &&
	   mbt_listed(u, "Отправленные", MAILBOX_ATTR_SENT) &&
	   mbt_listed(u, "Черновики", MAILBOX_ATTR_DRAFTS) &&
	   mbt_listed(u, "Архив", MAILBOX_ATTR_ARCHIVE) &&
	   mbt_listed(u, "Корзина", MAILBOX_ATTR_TRASH) &&
	   mbt_listed(u, "Адресная книга", MAILBOX_ATTR_SUBSCRIBED),
	   "the folders of DESIGN.md section 4 with special-use");
	if (mbt_failed > 0)
		mbt_print_list(u);
	ok(mbt_messages(u, "inbox") == 0, "inbox is INBOX");
	mailbox_user_free(&u);

	u = mbt_login(env_en, "anna", "секрет-1");
	ok(u != NULL && mbt_listed(u, "Incoming", MAILBOX_ATTR_NOSELECT) &&
	   mbt_listed(u, "Incoming/Invitations", 0) &&
	   mbt_listed(u, "Incoming/To sign", 0) &&
	   mbt_listed(u, "Outgoing/Invitations", 0) &&
	   mbt_listed(u, "Sent", MAILBOX_ATTR_SENT) &&
	   mbt_listed(u, "Drafts", MAILBOX_ATTR_DRAFTS) &&
	   mbt_listed(u, "Archive", MAILBOX_ATTR_ARCHIVE) &&
	   mbt_listed(u, "Trash", MAILBOX_ATTR_TRASH) &&
	   mbt_listed(u, "Address Book", 0) && !mbt_listed(u, "Архив", 0),
	   "folders.language = en: English names over the same rows");
	mailbox_user_free(&u);
}

static void test_multi_tree(void)
{
	struct mailbox_error err = { 0 };
	struct mailbox_user *u = mbt_login(env, "buh", "secret-2");
	struct mailbox_view *v = NULL;

	ok(u != NULL && mailbox_user_multi(u) && mailbox_user_box_count(u) == 2,
	   "buh: two active organizations, multi tree");
	if (u == NULL)
		return;
	ok(mbt_listed(u, "INBOX", 0) &&
	   mbt_listed(u, "Ромашка 7707083893", MAILBOX_ATTR_NOSELECT |
		      MAILBOX_ATTR_HASCHILDREN) &&
	   mbt_listed(u, "Ромашка 7707083893/Входящие", MAILBOX_ATTR_HASCHILDREN) &&
	   mbt_listed(u, "Ромашка 7707083893/Входящие/Приглашения", 0) &&
	   mbt_listed(u, "Ромашка 7707083893/Исходящие/Приглашения", 0) &&
	   mbt_listed(u, "Ромашка 7707083893/Отправленные", MAILBOX_ATTR_SENT) &&
	   mbt_listed(u, "Ромашка 7707083893/Архив", MAILBOX_ATTR_ARCHIVE) &&
	   mbt_listed(u, "Лютик 7733012345/Входящие", 0) &&
	   mbt_listed(u, "Лютик 7733012345/Входящие/На подпись", 0) &&
	   mbt_listed(u, "Лютик 7733012345/Корзина", MAILBOX_ATTR_TRASH),
	   "INBOX plus one folder per organization (short name and ИНН)");
	ok(!mbt_listed(u, "Ромашка 7707083893/INBOX", 0) &&
	   !mbt_listed(u, "ИП Иванов 500100732259", 0) &&
	   mbt_list_count(u) == 1 + 2 * 11,
	   "no INBOX inside, the blocked organization hidden (%zu names)",
	   mbt_list_count(u));
	ok(mailbox_view_open(u, "Ромашка 7707083893/Входящие", 0, &v, &err) == 0,
	   "Входящие takes INBOX's role and is selectable");
	mailbox_view_close(&v);
	ok(mailbox_view_open(u, "Ромашка 7707083893", 0, &v, &err) < 0 &&
	   err.cls == MAILBOX_ERR_CANNOT, "the organization folder is \\Noselect");
	mailbox_user_free(&u);
}

static void test_isolation(void)
{
	struct mailbox_error err = { 0 };
	struct mailbox_user *anna_u = mbt_login(env, "anna", "секрет-1");
	struct mailbox_user *buh_b = mbt_login(env, "buh+7733012345", "secret-2");
	struct mailbox_view *v = NULL;
	uint32_t uidv, uid;

	ok(anna_u != NULL && buh_b != NULL, "two sessions");
	if (anna_u == NULL || buh_b == NULL)
		goto out;
	ok(mailbox_view_open(anna_u, "Лютик 7733012345/Входящие", 0, &v,
			     &err) < 0 && err.cls == MAILBOX_ERR_NOTFOUND,
	   "anna cannot name Лютик's folders");
	ok(mailbox_append(anna_u, "Лютик 7733012345/Черновики",
			  (const unsigned char *)msg1, strlen(msg1), 0, NULL, 0,
			  &uidv, &uid, &err) < 0, "nor append to them");
	ok(mbt_append(buh_b, "Черновики", msg1, 0, NULL) == 1 &&
	   mbt_messages(anna_u, "Черновики") == 0,
	   "buh's draft in Лютик is not in anna's Ромашка drafts");
	ok(mbt_append(anna_u, "Черновики", msg1, 0, NULL) == 1,
	   "anna's own drafts start at UID 1");
out:
	mailbox_user_free(&anna_u);
	mailbox_user_free(&buh_b);
}

static void test_create_rename_delete(void)
{
	struct mailbox_error err = { 0 };
	struct mailbox_user *u = mbt_login(env, "anna", "секрет-1");
	uint32_t uidv, uid;

	ok(mailbox_create(u, "Архив/2024/Договоры", &err) == 0 &&
	   mbt_listed(u, "Архив/2024", MAILBOX_ATTR_HASCHILDREN) &&
	   mbt_listed(u, "Архив/2024/Договоры", MAILBOX_ATTR_HASNOCHILDREN) &&
	   mbt_listed(u, "Архив", MAILBOX_ATTR_HASCHILDREN),
	   "CREATE under the archive makes the parents too");
	ok(mailbox_create(u, "Архив/2024/", &err) < 0 &&
	   err.cls == MAILBOX_ERR_EXISTS, "CREATE of an existing one (trailing /)");
	ok(mailbox_create(u, "Проекты", &err) < 0 &&
	   err.cls == MAILBOX_ERR_CANNOT, "CREATE outside the archive: CANNOT (%s)",
	   err.msg);
	ok(mailbox_create(u, "Корзина/x", &err) < 0 &&
	   err.cls == MAILBOX_ERR_CANNOT, "nor under the trash");
	ok(mailbox_create(u, "Архив//x", &err) < 0 &&
	   err.cls == MAILBOX_ERR_INVALID, "empty level refused");
	ok(mailbox_create(u, "Архив/a*b", &err) < 0 &&
	   err.cls == MAILBOX_ERR_INVALID, "wildcards refused");
	ok(mailbox_create(u, "Архив/\x01", &err) < 0 &&
	   err.cls == MAILBOX_ERR_INVALID, "controls refused");
	ok(mailbox_create(u, "Архив/..", &err) < 0 &&
	   mailbox_create(u, "Архив/.", &err) < 0 &&
	   mailbox_create(u, "Архив/a/../b", &err) < 0 &&
	   mailbox_create(u, "Архив/./x", &err) < 0 &&
	   mailbox_create(u, "Архив/x/.", &err) < 0 &&
	   !mbt_listed(u, "Архив/a", 0) && !mbt_listed(u, "Архив/b", 0),
	   "levels . and .. refused (issue 12)");
	ok(mailbox_create(u, "Архив/v1.2", &err) == 0 &&
	   mailbox_create(u, "Архив/...", &err) == 0,
	   "a dot inside a level is a name");
	ok(mailbox_append(u, "Архив/Нет такой", (const unsigned char *)msg1,
			  strlen(msg1), 0, NULL, 0, &uidv, &uid, &err) < 0 &&
	   err.cls == MAILBOX_ERR_TRYCREATE, "APPEND to a missing archive folder: TRYCREATE");
	ok(mbt_append(u, "Архив/2024/Договоры", msg3, 0, NULL) == 1,
	   "append into the new folder");
	ok(mailbox_rename(u, "Архив/2024", "Архив/2023/Старое", &err) == 0 &&
	   mbt_listed(u, "Архив/2023/Старое/Договоры", 0) &&
	   !mbt_listed(u, "Архив/2024", 0) &&
	   mbt_messages(u, "Архив/2023/Старое/Договоры") == 1,
	   "RENAME moves the children and the mail along");
	ok(mailbox_rename(u, "Отправленные", "Архив/Отпр", &err) < 0 &&
	   err.cls == MAILBOX_ERR_CANNOT, "RENAME of a system folder: CANNOT");
	ok(mailbox_rename(u, "Архив/2023", "Архив/2023/Старое/x", &err) < 0,
	   "RENAME into itself refused");
	ok(mailbox_delete(u, "Архив/2023", &err) < 0 &&
	   err.cls == MAILBOX_ERR_CANNOT, "DELETE with subfolders refused");
	ok(mailbox_delete(u, "Архив/2023/Старое/Договоры", &err) == 0 &&
	   !mbt_listed(u, "Архив/2023/Старое/Договоры", 0),
	   "DELETE of a leaf");
	ok(mailbox_delete(u, "INBOX", &err) < 0 && err.cls == MAILBOX_ERR_CANNOT,
	   "DELETE INBOX: CANNOT");
	ok(mailbox_subscribe(u, "Архив/2023", 0, &err) == 0 &&
	   !mbt_listed(u, "Архив/2023", MAILBOX_ATTR_SUBSCRIBED) &&
	   mailbox_subscribe(u, "Архив/2023", 1, &err) == 0 &&
	   mbt_listed(u, "Архив/2023", MAILBOX_ATTR_SUBSCRIBED),
	   "UNSUBSCRIBE / SUBSCRIBE");
	mailbox_user_free(&u);
}

static void test_append_rules(void)
{
	struct mailbox_error err = { 0 };
	struct mailbox_user *u = mbt_login(env, "anna", "секрет-1");
	uint32_t uidv = 0, uid = 0;

	ok(mailbox_append(u, "INBOX", (const unsigned char *)msg1, strlen(msg1),
			  0, NULL, 0, &uidv, &uid, &err) < 0 &&
	   err.cls == MAILBOX_ERR_CANNOT, "APPEND to INBOX: CANNOT (%s)", err.msg);
	{
		struct mailbox_view *v = NULL;
		const struct mailbox_msg *m;
		uint32_t before = mbt_messages(u, "Отправленные");

		/* issue 11: never refused; kept as ordinary mail, marked */
		ok(mailbox_append(u, "Отправленные", (const unsigned char *)msg1,
				  strlen(msg1), MAILBOX_FLAG_SEEN, "$Label1", 0,
				  &uidv, &uid, &err) == 0 && uid != 0 &&
		   mbt_messages(u, "Отправленные") == before + 1,
		   "APPEND of an unknown Sent copy: kept (%s)", err.msg);
		ok(mailbox_view_open(u, "Отправленные", 1, &v, &err) == 0 &&
		   (m = mailbox_view_msg(v, mailbox_view_seq_of_uid(v, uid))) !=
		   NULL && strstr(m->keywords, "$EDO_NotEDO") != NULL &&
		   strstr(m->keywords, "$Label1") != NULL &&
		   (m->flags & MAILBOX_FLAG_SEEN),
		   "it is marked $EDO_NotEDO and keeps the client's flags");
		mailbox_view_close(&v);
	}
	ok(mailbox_append(u, "Адресная книга", (const unsigned char *)msg1,
			  strlen(msg1), 0, NULL, 0, &uidv, &uid, &err) < 0 &&
	   err.cls == MAILBOX_ERR_CANNOT, "APPEND to the address book: CANNOT");
	ok(mailbox_append(u, "Черновики", (const unsigned char *)"", 0, 0, NULL,
			  0, &uidv, &uid, &err) < 0 &&
	   err.cls == MAILBOX_ERR_INVALID, "empty APPEND refused");
	ok(mailbox_append(u, "Черновики", (const unsigned char *)msg2,
			  strlen(msg2), MAILBOX_FLAG_DRAFT | MAILBOX_FLAG_RECENT,
			  "$EDO_Delivered work", 1700000000, &uidv, &uid,
			  &err) == 0 && uid == 2 && uidv != 0,
	   "APPEND to drafts with flags and keywords");
	ok(mailbox_append(u, "Черновики", (const unsigned char *)msg2,
			  strlen(msg2), 0, "bad\\kw", 0, &uidv, &uid, &err) < 0 &&
	   err.cls == MAILBOX_ERR_INVALID, "invalid keyword refused");
	mailbox_user_free(&u);
}

static void test_uids_and_views(void)
{
	struct mailbox_error err = { 0 };
	struct mailbox_user *u = mbt_login(env, "anna", "секрет-1");
	struct mailbox_user *u2 = mbt_login(env, "anna", "секрет-1");
	struct mailbox_view *v1 = NULL, *v2 = NULL;
	struct mailbox_changes ch;
	struct mailbox_status st;
	const struct mailbox_msg *m;
	uint32_t uidv1, seqs[2];

	ok(mailbox_create(u, "Архив/Проекты", &err) == 0, "create Архив/Проекты");
	ok(mbt_append(u, "Архив/Проекты", msg1, 0, NULL) == 1 &&
	   mbt_append(u, "Архив/Проекты", msg2, MAILBOX_FLAG_SEEN, NULL) == 2 &&
	   mbt_append(u, "Архив/Проекты", msg3, 0, "$label1") == 3,
	   "UIDs 1, 2, 3");
	ok(mailbox_folder_status(u, "Архив/Проекты", &st, &err) == 0 &&
	   st.messages == 3 && st.uidnext == 4 && st.unseen == 2 &&
	   st.recent == 3, "STATUS: 3 messages, UIDNEXT 4, 2 unseen, 3 recent");
	uidv1 = st.uidvalidity;
	ok(mailbox_view_open(u, "Архив/Проекты", 0, &v1, &err) == 0 &&
	   mailbox_view_count(v1) == 3, "SELECT sees 3");
	mailbox_view_status(v1, &st);
	ok(st.recent == 3 && st.first_unseen_seq == 1 &&
	   mailbox_view_seq_of_uid(v1, 2) == 2 &&
	   mailbox_view_seq_of_uid(v1, 9) == 0, "view status and UID lookup");
	ok(mailbox_view_open(u2, "Архив/Проекты", 0, &v2, &err) == 0,
	   "a second session selects it");
	mailbox_view_status(v2, &st);
	ok(st.recent == 0, "\\Recent went to the first session only");
	ok(mbt_msg_has(v1, 1, "body one") && mbt_msg_has(v1, 2, "body two"),
	   "message bytes");
	m = mailbox_view_msg(v1, 3);
	ok(m != NULL && m->uid == 3 && strcmp(m->keywords, "$label1") == 0 &&
	   m->size == strlen(msg3), "keywords and exact size");
	ok(strstr(mailbox_view_keywords(v1), "$label1") != NULL &&
	   strstr(mailbox_view_keywords(v1), "$EDO_Delivered") != NULL,
	   "FLAGS keywords: in use and the operator's");

	/* v2 changes; v1 sees it on refresh. */
	ok(mailbox_store(v2, 1, MAILBOX_STORE_ADD, MAILBOX_FLAG_FLAGGED,
			 "$EDO_Receipt важно", &err) < 0 &&
	   err.cls == MAILBOX_ERR_INVALID, "non-atom keyword refused");
	ok(mailbox_store(v2, 1, MAILBOX_STORE_ADD, MAILBOX_FLAG_FLAGGED,
			 "$EDO_Receipt urgent", &err) == 0, "v2 STORE +FLAGS");
	m = mailbox_view_msg(v2, 1);
	ok(m->flags & MAILBOX_FLAG_FLAGGED && strcmp(m->keywords, "urgent") == 0,
	   "$EDO_* keywords cannot be set by STORE");
	ok(mailbox_view_refresh(v2, 1, &ch, &err) == 0 &&
	   ch.n_flag_changed == 0 && ch.n_expunged == 0 && !ch.exists_changed,
	   "v2's own change is not reported back to it");
	mailbox_changes_clear(&ch);
	ok(mailbox_view_refresh(v1, 1, &ch, &err) == 0 &&
	   ch.n_flag_changed == 1 && ch.flag_changed_seqs[0] == 1 &&
	   (mailbox_view_msg(v1, 1)->flags & MAILBOX_FLAG_FLAGGED) &&
	   (mailbox_view_msg(v1, 1)->flags & MAILBOX_FLAG_RECENT),
	   "v1 sees the flag change (and keeps \\Recent)");
	mailbox_changes_clear(&ch);
	ok(mailbox_view_refresh(v1, 1, &ch, &err) == 0 &&
	   ch.n_flag_changed == 0, "nothing the second time");
	mailbox_changes_clear(&ch);

	/* a new message from the other session */
	ok(mbt_append(u2, "Архив/Проекты", msg3, 0, NULL) == 4, "u2 appends UID 4");
	ok(mailbox_view_refresh(v1, 1, &ch, &err) == 0 && ch.exists_changed &&
	   ch.exists == 4 && mailbox_view_msg(v1, 4)->uid == 4,
	   "v1: EXISTS 4");
	mailbox_changes_clear(&ch);

	/* expunge in v2, seen by v1; deferred while FETCH runs */
	ok(mailbox_store(v2, 1, MAILBOX_STORE_ADD, MAILBOX_FLAG_DELETED, NULL,
			 &err) == 0 &&
	   mailbox_store(v2, 3, MAILBOX_STORE_ADD, MAILBOX_FLAG_DELETED, NULL,
			 &err) == 0, "v2 marks 1 and 3 \\Deleted");
	ok(mailbox_expunge(v2, NULL, 0, &err) == 0, "v2 EXPUNGE");
	ok(mailbox_view_refresh(v1, 0, &ch, &err) == 0 && ch.n_expunged == 0 &&
	   ch.n_flag_changed == 0 && mailbox_view_count(v1) == 4,
	   "v1 during FETCH: expunges held back");
	mailbox_changes_clear(&ch);
	ok(mbt_msg_has(v1, 2, "body two"), "v1 still reads seq 2");
	ok(mailbox_view_refresh(v1, 1, &ch, &err) == 0 && ch.n_expunged == 2 &&
	   ch.expunged_seqs[0] == 3 && ch.expunged_seqs[1] == 1 &&
	   mailbox_view_count(v1) == 2 && mailbox_view_msg(v1, 1)->uid == 2 &&
	   mailbox_view_msg(v1, 2)->uid == 4,
	   "v1: EXPUNGE 3 then 1, UIDs 2 and 4 left");
	mailbox_changes_clear(&ch);
	ok(mailbox_view_refresh(v2, 1, &ch, &err) == 0 && ch.n_expunged == 2,
	   "v2 reports its own expunge on its refresh");
	mailbox_changes_clear(&ch);

	/* COPY and MOVE between user folders */
	ok(mailbox_create(u, "Архив/Копии", &err) == 0, "create Архив/Копии");
	{
		uint32_t dv = 0, *src = NULL, *dst = NULL;
		size_t n = 0;

		seqs[0] = 1;
		seqs[1] = 2;
		ok(mailbox_copy(v1, seqs, 2, "Архив/Копии", 0, &dv, &src, &dst,
				&n, &err) == 0 && n == 2 && src[0] == 2 &&
		   src[1] == 4 && dst[0] == 1 && dst[1] == 2 && dv != 0,
		   "COPY: COPYUID 2,4 -> 1,2");
		free(src);
		free(dst);
		ok(mbt_messages(u, "Архив/Копии") == 2 &&
		   mbt_messages(u, "Архив/Проекты") == 2, "source kept");
		seqs[0] = 2;
		ok(mailbox_copy(v1, seqs, 1, "Архив/Копии", 1, &dv, &src, &dst,
				&n, &err) == 0 && n == 1 && src[0] == 4 &&
		   dst[0] == 3, "MOVE: 4 -> 3");
		free(src);
		free(dst);
		ok(mbt_messages(u, "Архив/Копии") == 3 &&
		   mbt_messages(u, "Архив/Проекты") == 1, "MOVE removed the source");
		ok(mailbox_view_refresh(v1, 1, &ch, &err) == 0 &&
		   ch.n_expunged == 1 && ch.expunged_seqs[0] == 2,
		   "MOVE shows as EXPUNGE 2 in the source view");
		mailbox_changes_clear(&ch);
		seqs[0] = 1;
		ok(mailbox_copy(v1, seqs, 1, "INBOX", 0, &dv, &src, &dst, &n,
				&err) < 0 && err.cls == MAILBOX_ERR_CANNOT,
		   "COPY into INBOX: CANNOT");
		ok(mailbox_copy(v1, seqs, 1, "Архив/Нет", 0, &dv, &src, &dst,
				&n, &err) < 0 && err.cls == MAILBOX_ERR_TRYCREATE,
		   "COPY to a missing folder: TRYCREATE");
		ok(mailbox_copy(v1, seqs, 1, "Корзина", 1, &dv, &src, &dst, &n,
				&err) == 0 && n == 1, "MOVE of plain mail to the trash");
		free(src);
		free(dst);
	}
	mailbox_view_close(&v1);
	mailbox_view_close(&v2);
	ok(v1 == NULL, "mailbox_view_close NULLs the pointer");

	/* reopen everything: UIDs go on, UIDVALIDITY stays */
	mailbox_user_free(&u);
	mailbox_user_free(&u2);
	close_world();
	open_world();
	u = mbt_login(env, "anna", "секрет-1");
	ok(mailbox_folder_status(u, "Архив/Проекты", &st, &err) == 0 &&
	   st.uidvalidity == uidv1 && st.uidnext == 5,
	   "after reopening: same UIDVALIDITY, UIDNEXT 5");
	ok(mbt_append(u, "Архив/Проекты", msg1, 0, NULL) == 5,
	   "the next APPEND gets UID 5");
	ok(mailbox_delete(u, "Архив/Проекты", &err) == 0 &&
	   mailbox_create(u, "Архив/Проекты", &err) == 0 &&
	   mailbox_folder_status(u, "Архив/Проекты", &st, &err) == 0 &&
	   st.uidvalidity != uidv1 && st.uidnext == 1,
	   "deleted and created again: new UIDVALIDITY, UIDs from 1");
	mailbox_user_free(&u);
}

static int notified;

static void notify_cb(void *ctx)
{
	(*(int *)ctx)++;
}

static void test_notify(void)
{
	struct mailbox_error err = { 0 };
	struct mailbox_user *u = mbt_login(env, "anna", "секрет-1");
	struct mailbox_user *other = mbt_login(env, "buh+7707083893", "secret-2");
	struct mailbox_view *v = NULL, *w = NULL, *o = NULL;

	ok(mailbox_view_open(u, "Черновики", 0, &v, &err) == 0 &&
	   mailbox_view_open(u, "Черновики", 1, &w, &err) == 0 &&
	   mailbox_view_open(other, "Черновики", 0, &o, &err) == 0,
	   "three views (one EXAMINE, one of another user)");
	mailbox_view_set_notify(v, notify_cb, &notified);
	mailbox_view_set_notify(o, notify_cb, &notified);
	notified = 0;
	ok(mbt_append(u, "Черновики", msg3, 0, NULL) != 0 && notified == 1,
	   "APPEND by the user wakes her view only (%d)", notified);
	notified = 0;
	ok(mailbox_store(w, 1, MAILBOX_STORE_ADD, MAILBOX_FLAG_SEEN, NULL,
			 &err) < 0 && err.cls == MAILBOX_ERR_CANNOT,
	   "STORE in an EXAMINE view: CANNOT");
	mailbox_view_close(&v);
	ok(mbt_append(u, "Черновики", msg3, 0, NULL) != 0 && notified == 0,
	   "a closed view is not called");
	mailbox_env_notify_box(env, A.id);
	ok(notified == 0, "notify without operator changes wakes nobody");
	mailbox_view_close(&w);
	mailbox_view_close(&o);
	mailbox_user_free(&u);
	mailbox_user_free(&other);
}

/* RFC 7162 support: MODSEQs, UNCHANGEDSINCE against the row, the UIDs
 * that left since a MODSEQ, and the superset once that history is cut. */
static int64_t folder_id_of_path(const char *path)
{
	struct store_mb_folder *f = NULL;
	size_t n = 0, i;
	int64_t id = 0;

	if (store_mb_folder_list(store, anna, &f, &n) != STORE_OK)
		return 0;
	for (i = 0; i < n; i++) {
		if (f[i].role == STORE_MB_ROLE_USER && strcmp(f[i].path, path) == 0)
			id = f[i].id;
	}
	store_mb_folder_list_free(f, n);
	return id;
}

static void test_modseq_vanished(void)
{
	struct mailbox_error err = { 0 };
	struct mailbox_user *u = mbt_login(env, "anna", "секрет-1");
	struct mailbox_view *v = NULL, *v2 = NULL, *v3 = NULL;
	struct mailbox_uid_range *r = NULL;
	struct mailbox_status st;
	struct mailbox_changes ch;
	const char *box = "Архив/Модсеки";
	uint64_t h0, h1, m1 = 0;
	size_t n = 0;
	int modified = -1;
	int64_t fid;

	ok(mailbox_create(u, box, &err) == 0 &&
	   mbt_append(u, box, msg1, 0, NULL) == 1 &&
	   mbt_append(u, box, msg2, 0, NULL) == 2 &&
	   mbt_append(u, box, msg3, 0, NULL) == 3 &&
	   mbt_append(u, box, msg1, 0, NULL) == 4, "4 messages");
	ok(mailbox_view_open(u, box, 0, &v, &err) == 0 &&
	   mailbox_view_open(u, box, 0, &v2, &err) == 0, "two views");
	h0 = mailbox_view_highestmodseq(v);
	ok(h0 > 0 && mailbox_view_msg_modseq(v, 4) == h0 &&
	   mailbox_view_msg_modseq(v, 1) < mailbox_view_msg_modseq(v, 2),
	   "MODSEQs rise with every APPEND; HIGHESTMODSEQ is the last");
	ok(mailbox_store_unchanged(v2, 1, h0, MAILBOX_STORE_ADD,
				   MAILBOX_FLAG_FLAGGED, "", &modified,
				   &err) == 0 && modified == 0 &&
	   (m1 = mailbox_view_msg_modseq(v2, 1)) > h0,
	   "UNCHANGEDSINCE h0 succeeds and bumps the MODSEQ");
	ok(mailbox_store_unchanged(v, 1, h0, MAILBOX_STORE_ADD,
				   MAILBOX_FLAG_SEEN, "", &modified,
				   &err) == 0 && modified == 1 &&
	   (mailbox_view_msg(v, 1)->flags & MAILBOX_FLAG_SEEN) == 0,
	   "the other view's stale snapshot: MODIFIED, nothing stored");
	ok(mailbox_folder_status(u, box, &st, &err) == 0 &&
	   st.highestmodseq == m1, "STATUS HIGHESTMODSEQ");

	/* v2 expunges UID 2 */
	ok(mailbox_store(v2, 2, MAILBOX_STORE_ADD, MAILBOX_FLAG_DELETED, "",
			 &err) == 0 && mailbox_expunge(v2, NULL, 0, &err) == 0,
	   "expunge UID 2");
	ok(mailbox_view_open(u, box, 1, &v3, &err) == 0 &&
	   mailbox_view_vanished(v3, h0, &r, &n, &err) == 0 && n == 1 &&
	   r[0].lo == 2 && r[0].hi == 2, "VANISHED since h0: 2");
	free(r);
	ok(mailbox_view_vanished(v3, mailbox_view_highestmodseq(v3), &r, &n,
				 &err) == 0 && n == 0, "nothing since now");
	free(r);
	ok(mailbox_view_vanished(v, h0, &r, &n, &err) == 0 && n == 0,
	   "not while the view still shows it");
	free(r);
	ok(mailbox_view_refresh(v, 1, &ch, &err) == 0 && ch.n_expunged == 1 &&
	   ch.expunged_seqs[0] == 2 && ch.expunged_uids[0] == 2,
	   "refresh reports the expunge with its UID");
	mailbox_changes_clear(&ch);
	mailbox_view_close(&v3);

	/* UID 3 goes too; the history is cut to the last row */
	ok(mailbox_store(v2, 3, MAILBOX_STORE_ADD, MAILBOX_FLAG_DELETED, "",
			 &err) == 0 && mailbox_folder_status(u, box, &st, &err) == 0 &&
	   mailbox_expunge(v2, NULL, 0, &err) == 0, "expunge UID 3");
	h1 = st.highestmodseq;
	fid = folder_id_of_path("Модсеки");
	ok(fid != 0 && store_mb_vanished_prune(store, fid, 1) == STORE_OK,
	   "prune to one row");
	ok(mailbox_view_open(u, box, 1, &v3, &err) == 0 &&
	   mailbox_view_vanished(v3, h1, &r, &n, &err) == 0 && n == 1 &&
	   r[0].lo == 3 && r[0].hi == 3, "after the cut: exact (3)");
	free(r);
	ok(mailbox_view_vanished(v3, h0, &r, &n, &err) == 0 && n == 1 &&
	   r[0].lo == 2 && r[0].hi == 3,
	   "before the cut: every UID not shown (2:3)");
	free(r);
	mailbox_view_close(&v3);
	mailbox_view_close(&v2);
	mailbox_view_close(&v);
	mailbox_user_free(&u);
}

/* 1 when view a shows what a fresh SELECT (the whole folder read) shows:
 * the same UIDs in the same order, flags (but \Recent) and keywords. */
static int same_as_fresh(struct mailbox_user *u, const char *box,
			 struct mailbox_view *a, int step)
{
	struct mailbox_error err = { 0 };
	struct mailbox_view *c = NULL;
	uint32_t i, n;
	int same;

	if (mailbox_view_open(u, box, 1, &c, &err) < 0)
		return 0;
	n = mailbox_view_count(c);
	same = mailbox_view_count(a) == n;
	for (i = 1; same && i <= n; i++) {
		const struct mailbox_msg *x = mailbox_view_msg(a, i);
		const struct mailbox_msg *y = mailbox_view_msg(c, i);

		same = x->uid == y->uid &&
		       (x->flags & ~(uint32_t)MAILBOX_FLAG_RECENT) ==
		       (y->flags & ~(uint32_t)MAILBOX_FLAG_RECENT) &&
		       strcmp(x->keywords, y->keywords) == 0;
		if (!same)
			printf("# step %d, seq %u: uid %u/%u flags %#x/%#x "
			     "keywords '%s'/'%s'\n", step, i, x->uid, y->uid,
			     x->flags, y->flags, x->keywords, y->keywords);
	}
	if (mailbox_view_count(a) != n)
		printf("# step %d: %u messages, a fresh view %u\n", step,
		     mailbox_view_count(a), n);
	mailbox_view_close(&c);
	return same;
}

/* A view refreshed from the changes since its MODSEQ (appends, flags,
 * keywords, expunges, moves out, some refreshes that may not expunge,
 * and history cuts that make it compare the whole folder) stays what a
 * fresh SELECT shows, step after step; a second session makes the
 * changes, a fixed pseudo-random sequence chooses them. */
static void test_refresh_since(void)
{
	struct mailbox_error err = { 0 };
	struct mailbox_user *u = mbt_login(env, "anna", "секрет-1");
	struct mailbox_user *u2 = mbt_login(env, "anna", "секрет-1");
	struct mailbox_view *a = NULL, *b = NULL;
	struct mailbox_changes ch;
	const char *box = "Архив/Смена";
	unsigned int seed = 20261206, agree = 0, checks = 0, cuts = 0;
	uint32_t i, seq, n;
	int64_t fid;
	char kw[16];

	ok(mailbox_create(u, box, &err) == 0 &&
	   mailbox_create(u, "Архив/Смена2", &err) == 0, "two folders");
	for (i = 0; i < 20; i++)
		mbt_append(u, box, i % 2 ? msg1 : msg2, 0, NULL);
	fid = folder_id_of_path("Смена");
	ok(fid != 0 && mailbox_view_open(u, box, 0, &a, &err) == 0 &&
	   mailbox_view_open(u2, box, 0, &b, &err) == 0,
	   "20 messages, two sessions");
	for (int step = 0; step < 400; step++) {
		seed = seed * 1103515245u + 12345u;
		n = mailbox_view_count(b);
		seq = n > 0 ? 1 + (seed >> 8) % n : 0;
		switch ((seed >> 20) % 8) {
		case 0:
			mbt_append(u2, box, msg3, 0, (seed & 1) ? "$new" : NULL);
			break;
		case 1:
		case 2:
			if (seq == 0)
				break;
			snprintf(kw, sizeof(kw), "$k%u", (seed >> 4) % 5);
			(void)mailbox_store(b, seq, (seed & 1) ?
					    MAILBOX_STORE_ADD :
					    MAILBOX_STORE_REMOVE,
					    (seed & 2) ? MAILBOX_FLAG_SEEN :
					    MAILBOX_FLAG_FLAGGED,
					    (seed & 4) ? kw : NULL, &err);
			break;
		case 3:
			if (seq == 0)
				break;
			(void)mailbox_store(b, seq, MAILBOX_STORE_ADD,
					    MAILBOX_FLAG_DELETED, NULL, &err);
			(void)mailbox_expunge(b, NULL, 0, &err);
			break;
		case 4: {
			uint32_t dv = 0, *src = NULL, *dst = NULL;
			size_t moved = 0;

			if (seq == 0)
				break;
			(void)mailbox_copy(b, &seq, 1, "Архив/Смена2", 1, &dv,
					   &src, &dst, &moved, &err);
			free(src);
			free(dst);
			break;
		}
		case 5:
			/* a FETCH's refresh: expunges held back */
			if (mailbox_view_refresh(a, 0, &ch, &err) == 0)
				mailbox_changes_clear(&ch);
			break;
		case 6:
			if ((seed >> 3) % 4 == 0 &&
			    store_mb_vanished_prune(store, fid, 1) == STORE_OK)
				cuts++;
			break;
		default:
			break;
		}
		if (mailbox_view_refresh(b, 1, &ch, &err) == 0)
			mailbox_changes_clear(&ch);
		if ((seed >> 12) % 3 != 0)
			continue;
		if (mailbox_view_refresh(a, 1, &ch, &err) == 0)
			mailbox_changes_clear(&ch);
		checks++;
		agree += same_as_fresh(u, box, a, step);
	}
	ok(checks > 50 && agree == checks && cuts > 0,
	   "after %u refreshes (%u history cuts) the view is what a fresh "
	   "SELECT shows, every time (%u)", checks, cuts, agree);
	mailbox_view_close(&b);
	mailbox_view_close(&a);
	mailbox_user_free(&u2);
	mailbox_user_free(&u);
}

/* mailbox_msg_header: the bytes up to and including the first empty line
 * (the same header block imap_message_parse_header finds), read in
 * chunks from the store; the whole message without one. */
static void header_case(struct mailbox_user *u, const char *what,
			const char *msg, size_t want)
{
	struct mailbox_error err = { 0 };
	struct mailbox_view *v = NULL;
	unsigned char *d = NULL;
	size_t len = 0;
	uint32_t n;
	int rc, begun;

	if (mbt_append(u, "Архив/Заголовки", msg, 0, "") == 0 ||
	    mailbox_view_open(u, "Архив/Заголовки", 1, &v, &err) < 0) {
		ok(0, "header: %s: append/open", what);
		return;
	}
	n = mailbox_view_count(v);
	begun = mailbox_view_read_begin(v) == 0;
	rc = begun && mailbox_msg_header(v, n, &d, &len, &err) == 0;
	if (begun)
		mailbox_view_read_end(v);
	ok(rc && len == want && memcmp(d, msg, want) == 0 && d[len] == '\0',
	   "header: %s (%zu of %zu bytes)", what, len, strlen(msg));
	free(d);
	mailbox_view_close(&v);
}

static void test_msg_header(void)
{
	struct mailbox_error err = { 0 };
	struct mailbox_user *u = mbt_login(env, "anna", "секрет-1");
	struct buf big;
	size_t hdr;
	const char *m;

	if (u == NULL || mailbox_create(u, "Архив/Заголовки", &err) < 0) {
		ok(0, "header: setup");
		mailbox_user_free(&u);
		return;
	}
	m = "Subject: a\r\nFrom: b@example.org\r\n\r\nbody\r\n";
	header_case(u, "CRLF", m, strstr(m, "\r\n\r\n") - m + 4);
	m = "Subject: a\nFrom: b@example.org\n\nbody\n\r\n";
	header_case(u, "bare LF", m, strstr(m, "\n\n") - m + 2);
	m = "Subject: no body\r\nFrom: b@example.org\r\n";
	header_case(u, "no empty line: all", m, strlen(m));
	/* 3 chunks of reading; the empty line's CR ends the first 4096 */
	buf_init(&big);
	buf_append_str(&big, "Subject: long\r\n");
	while (big.len < 4096 - 40)
		buf_append_str(&big, "X-Filler: 0123456789abcdef\r\n");
	while (big.len < 4095 - 2)
		buf_append_str(&big, "X");
	buf_append_str(&big, "\r\n\r\n");
	hdr = big.len;
	for (int i = 0; i < 2000; i++)
		buf_append_str(&big, "body line of the message\r\n");
	header_case(u, "empty line across the first read", (char *)big.data, hdr);
	buf_reset(&big);
	for (int i = 0; i < 1200; i++)
		buf_append_str(&big, "X-Filler: 0123456789abcdef\r\n");
	buf_append_str(&big, "\r\n");
	hdr = big.len;
	buf_append_str(&big, "body\r\n");
	header_case(u, "header of 34 KB", (char *)big.data, hdr);
	buf_free(&big);
	mailbox_user_free(&u);
}

int main(void)
{
	log_init("test-mailbox-folders", LOG_LVL_ERROR);
	setup();
	test_login();
	test_flat_tree();
	test_multi_tree();
	test_isolation();
	test_create_rename_delete();
	test_append_rules();
	test_uids_and_views();
	test_notify();
	test_modseq_vanished();
	test_refresh_since();
	test_login_cache();
	test_msg_header();
	close_world();
	settings_free(&set);
	settings_free(&set_en);
	return mbt_done();
}
