/* edomailctl user add|list|block|unblock|passwd, member add|block|unblock|list */
#include "ctl/ctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

#define CTL_LOGIN_MAX 64

/* Logins travel in IMAP LOGIN and SMTP AUTH and are split at '+' for
 * "user+ИНН", so '+' and anything needing quotes are kept out. */
static int ctl_login_valid(const char *login)
{
	size_t len = strlen(login), i;
	char c;

	if (len == 0 || len > CTL_LOGIN_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		c = login[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-' || c == '@'))
			return 0;
	}
	return 1;
}

struct ctl_pw_args {
	const char *name, *password, *password_file;
	int password_fd;		/* -1: none */
};

static int ctl_pw_parse(int argc, char **argv, struct ctl_pw_args *a,
			int with_name)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "password", required_argument, NULL, 'p' },
		{ "password-file", required_argument, NULL, 'f' },
		{ "password-fd", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, given = 0;
	char *end;

	memset(a, 0, sizeof(*a));
	a->password_fd = -1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (!with_name)
				return -1;
			a->name = optarg;
			break;
		case 'p': a->password = optarg; given++; break;
		case 'f': a->password_file = optarg; given++; break;
		case 'd':
			errno = 0;
			a->password_fd = (int)strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg ||
			    a->password_fd < 0)
				return -1;
			given++;
			break;
		default: return -1;
		}
	}
	if (argc - optind != 1 || given > 1)
		return -1;
	return 0;
}

static int ctl_hash_password(struct ctl *ctl, const struct ctl_pw_args *a,
			     char **hash_r)
{
	char *pw = NULL;
	int ret;

	if (ctl_read_password(a->password, a->password_file, a->password_fd,
			      &pw) < 0)
		return -1;
	ret = crypto_password_hash_iter(pw, ctl->set.password_iterations,
					hash_r);
	ctl_wipe_free(pw);
	if (ret < 0)
		return ctl_error("не удалось вычислить хэш пароля / cannot hash the "
				 "password"), -1;
	return 0;
}

int ctl_cmd_user_add(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_pw_args a;
	const char *login;
	char *hash = NULL;
	int64_t id;
	int ret;

	if (ctl_pw_parse(argc, argv, &a, 1) < 0)
		return ctl_usage("user add");
	login = argv[optind];
	if (!ctl_login_valid(login))
		return ctl_error("неверный логин «%s»: 1..%d символов из A-Z a-z 0-9 . _ - @ "
				 "/ invalid login \"%s\": 1..%d of A-Z a-z 0-9 . _ - @",
				 login, CTL_LOGIN_MAX, login, CTL_LOGIN_MAX);
	if (a.name != NULL && (strlen(a.name) > 500 ||
	    !util_utf8_valid((const unsigned char *)a.name, strlen(a.name))))
		return ctl_error("имя длиннее 500 байт или не UTF-8 / the name is "
				 "longer than 500 bytes or not UTF-8");
	if (ctl_hash_password(ctl, &a, &hash) < 0)
		return CTL_EXIT_ERROR;
	ret = store_user_add(ctl->store, login, a.name, hash, &id);
	ctl_wipe_free(hash);
	if (ret == STORE_ERR_CONFLICT)
		return ctl_error("пользователь «%s» уже есть / user \"%s\" already "
				 "exists", login, login);
	if (ret != STORE_OK)
		return ctl_store_error(ret, "user add");
	printf("Пользователь создан / user added: %s (id %lld)\n", login,
	       (long long)id);
	return CTL_EXIT_OK;
}

static const char *ctl_status_name(int status)
{
	return status == STORE_ACTIVE ? "Активен" : "Заблокирован";
}

int ctl_cmd_user_list(struct ctl *ctl, int argc, char **argv)
{
	struct store_user *users;
	struct store_membership *ms;
	size_t n, nm, i, j;
	int ret;

	if (ctl_positional(argc, argv, 0, 0) < 0)
		return ctl_usage("user list");
	ret = store_user_list(ctl->store, &users, &n);
	if (ret != STORE_OK)
		return ctl_store_error(ret, "user list");
	printf("%-20s %-13s %-32s %s\n", "LOGIN", "STATUS", "NAME", "ORGANIZATIONS");
	for (i = 0; i < n; i++) {
		ctl_col(users[i].login, 20);
		ctl_col(ctl_status_name(users[i].status), 13);
		ctl_col(users[i].full_name != NULL ? users[i].full_name : "-", 32);
		if (store_member_list_user(ctl->store, users[i].id, &ms, &nm) == STORE_OK) {
			for (j = 0; j < nm; j++)
				printf("%s%s", j == 0 ? "" : ", ", ms[j].box_id);
			store_member_list_free(ms, nm);
		}
		printf("\n");
	}
	store_user_list_free(users, n);
	return CTL_EXIT_OK;
}

static int ctl_user_status(struct ctl *ctl, int argc, char **argv,
			   const char *cmd, int status)
{
	struct store_user u;
	int ret;

	if (ctl_positional(argc, argv, 1, 1) < 0)
		return ctl_usage(cmd);
	if (ctl_find_user(ctl, argv[optind], &u) < 0)
		return CTL_EXIT_ERROR;
	ret = store_user_set_status(ctl->store, u.id, status);
	if (ret == STORE_OK)
		printf("%s: %s\n", u.login, ctl_status_name(status));
	store_user_clear(&u);
	return ret == STORE_OK ? CTL_EXIT_OK : ctl_store_error(ret, cmd);
}

int ctl_cmd_user_block(struct ctl *ctl, int argc, char **argv)
{
	return ctl_user_status(ctl, argc, argv, "user block", STORE_BLOCKED);
}

int ctl_cmd_user_unblock(struct ctl *ctl, int argc, char **argv)
{
	return ctl_user_status(ctl, argc, argv, "user unblock", STORE_ACTIVE);
}

int ctl_cmd_user_passwd(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_pw_args a;
	struct store_user u;
	char *hash = NULL;
	int ret;

	if (ctl_pw_parse(argc, argv, &a, 0) < 0)
		return ctl_usage("user passwd");
	if (ctl_find_user(ctl, argv[optind], &u) < 0)
		return CTL_EXIT_ERROR;
	if (ctl_hash_password(ctl, &a, &hash) < 0) {
		store_user_clear(&u);
		return CTL_EXIT_ERROR;
	}
	ret = store_user_set_password(ctl->store, u.id, hash);
	ctl_wipe_free(hash);
	/* the epoch went up with the hash: the daemon ends the sessions
	 * opened with the old password (within 15 s, IMAP; at the next
	 * MAIL FROM or final dot, SMTP) */
	if (ret == STORE_OK)
		printf("Пароль изменён, открытые сеансы закрываются / password "
		       "changed, open sessions are closed: %s\n", u.login);
	store_user_clear(&u);
	return ret == STORE_OK ? CTL_EXIT_OK : ctl_store_error(ret, "user passwd");
}

/* ---- memberships ---- */

int ctl_cmd_member_add(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct store_membership m;
	struct store_user u;
	struct store_org o;
	enum store_role role = STORE_ROLE_READER;
	int ch, have_role = 0, status = STORE_ACTIVE, ret;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'r' || store_role_parse(optarg, &role) < 0)
			return ctl_usage("member add");
		have_role = 1;
	}
	if (!have_role || argc - optind != 2)
		return ctl_usage("member add");
	if (ctl_find_user(ctl, argv[optind], &u) < 0)
		return CTL_EXIT_ERROR;
	if (ctl_find_org(ctl, argv[optind + 1], &o) < 0) {
		store_user_clear(&u);
		return CTL_EXIT_ERROR;
	}
	/* Changing the role of a blocked member keeps them blocked. */
	if (store_member_get(ctl->store, u.id, o.box_id, &m) == STORE_OK) {
		status = m.status;
		store_membership_clear(&m);
	}
	ret = store_member_set(ctl->store, u.id, o.box_id, role, status);
	if (ret == STORE_OK)
		printf("%s → %s (%s): %s\n", u.login, o.box_id, o.name,
		       store_role_name(role));
	store_user_clear(&u);
	store_org_clear(&o);
	return ret == STORE_OK ? CTL_EXIT_OK : ctl_store_error(ret, "member add");
}

static int ctl_member_status(struct ctl *ctl, int argc, char **argv,
			     const char *cmd, int status)
{
	struct store_membership m;
	struct store_user u;
	struct store_org o;
	int ret;

	if (ctl_positional(argc, argv, 2, 2) < 0)
		return ctl_usage(cmd);
	if (ctl_find_user(ctl, argv[optind], &u) < 0)
		return CTL_EXIT_ERROR;
	if (ctl_find_org(ctl, argv[optind + 1], &o) < 0) {
		store_user_clear(&u);
		return CTL_EXIT_ERROR;
	}
	ret = store_member_get(ctl->store, u.id, o.box_id, &m);
	if (ret == STORE_ERR_NOTFOUND) {
		ctl_error("%s не состоит в %s / %s is not a member of %s", u.login,
			  o.box_id, u.login, o.box_id);
	} else if (ret != STORE_OK) {
		ctl_store_error(ret, cmd);
	} else {
		ret = store_member_set(ctl->store, u.id, o.box_id, m.role, status);
		if (ret == STORE_OK)
			printf("%s в %s / in %s: %s\n", u.login, o.box_id, o.box_id,
			       ctl_status_name(status));
		else
			ctl_store_error(ret, cmd);
		store_membership_clear(&m);
	}
	store_user_clear(&u);
	store_org_clear(&o);
	return ret == STORE_OK ? CTL_EXIT_OK : CTL_EXIT_ERROR;
}

int ctl_cmd_member_block(struct ctl *ctl, int argc, char **argv)
{
	return ctl_member_status(ctl, argc, argv, "member block", STORE_BLOCKED);
}

int ctl_cmd_member_unblock(struct ctl *ctl, int argc, char **argv)
{
	return ctl_member_status(ctl, argc, argv, "member unblock", STORE_ACTIVE);
}

int ctl_cmd_member_list(struct ctl *ctl, int argc, char **argv)
{
	struct store_membership *ms;
	struct store_user u;
	struct store_org o;
	size_t n, i;
	int ret;

	if (ctl_positional(argc, argv, 1, 1) < 0)
		return ctl_usage("member list");
	if (ctl_find_org(ctl, argv[optind], &o) < 0)
		return CTL_EXIT_ERROR;
	ret = store_member_list_box(ctl->store, o.box_id, &ms, &n);
	store_org_clear(&o);
	if (ret != STORE_OK)
		return ctl_store_error(ret, "member list");
	printf("%-20s %-28s %-13s %s\n", "LOGIN", "ROLE", "STATUS", "NAME");
	for (i = 0; i < n; i++) {
		if (store_user_get_by_id(ctl->store, ms[i].user_id, &u) != STORE_OK)
			continue;
		ctl_col(u.login, 20);
		ctl_col(store_role_name(ms[i].role), 28);
		ctl_col(ctl_status_name(ms[i].status), 13);
		printf("%s\n", u.full_name != NULL ? u.full_name : "-");
		store_user_clear(&u);
	}
	store_member_list_free(ms, n);
	return CTL_EXIT_OK;
}
