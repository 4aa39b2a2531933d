/* The user's folder tree: names derived from folder roles and the language
 * (DESIGN.md section 4), the flat tree of one organization or INBOX plus
 * one top folder per organization (section 3), LIST/STATUS, and the
 * CREATE/DELETE/RENAME/SUBSCRIBE that only folders under the archive
 * allow. */
#include "mailbox/mailbox-private.h"

#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "lib/log.h"
#include "lib/util.h"

static const char *const mb_names_ru[STORE_MB_ROLE_COUNT] = {
	[STORE_MB_ROLE_NOTICES] = "INBOX",
	[STORE_MB_ROLE_INBOX] = "INBOX",
	[STORE_MB_ROLE_IN_INVITATIONS] = "Входящие/Приглашения",
	[STORE_MB_ROLE_OUT_INVITATIONS] = "Исходящие/Приглашения",
	[STORE_MB_ROLE_SENT] = "Отправленные",
	[STORE_MB_ROLE_DRAFTS] = "Черновики",
	[STORE_MB_ROLE_ARCHIVE] = "Архив",
	[STORE_MB_ROLE_TRASH] = "Корзина",
	[STORE_MB_ROLE_CONTACTS] = "Адресная книга",
	[STORE_MB_ROLE_USER] = "Архив",
	[STORE_MB_ROLE_TO_SIGN] = "Входящие/На подпись",
};

static const char *const mb_names_en[STORE_MB_ROLE_COUNT] = {
	[STORE_MB_ROLE_NOTICES] = "INBOX",
	[STORE_MB_ROLE_INBOX] = "INBOX",
	[STORE_MB_ROLE_IN_INVITATIONS] = "Incoming/Invitations",
	[STORE_MB_ROLE_OUT_INVITATIONS] = "Outgoing/Invitations",
	[STORE_MB_ROLE_SENT] = "Sent",
	[STORE_MB_ROLE_DRAFTS] = "Drafts",
	[STORE_MB_ROLE_ARCHIVE] = "Archive",
	[STORE_MB_ROLE_TRASH] = "Trash",
	[STORE_MB_ROLE_CONTACTS] = "Address Book",
	[STORE_MB_ROLE_USER] = "Archive",
	[STORE_MB_ROLE_TO_SIGN] = "Incoming/To sign",
};

/* The roles every box has, in LIST order. */
static const int mb_box_roles[] = {
	STORE_MB_ROLE_INBOX, STORE_MB_ROLE_IN_INVITATIONS,
	STORE_MB_ROLE_TO_SIGN, STORE_MB_ROLE_OUT_INVITATIONS, STORE_MB_ROLE_SENT,
	STORE_MB_ROLE_DRAFTS, STORE_MB_ROLE_ARCHIVE, STORE_MB_ROLE_TRASH,
	STORE_MB_ROLE_CONTACTS,
};
#define MB_N_BOX_ROLES (sizeof(mb_box_roles) / sizeof(mb_box_roles[0]))

const char *mb_role_label(const struct mailbox_env *env, int role)
{
	if (role < 0 || role >= STORE_MB_ROLE_COUNT)
		return "?";
	return env->english ? mb_names_en[role] : mb_names_ru[role];
}

/* The \Noselect parents of the invitation folders; in a multi-org tree
 * "Входящие" is a real folder that takes INBOX's role. */
static const char *mb_incoming_label(const struct mailbox_env *env)
{
	return env->english ? "Incoming" : "Входящие";
}

static const char *mb_outgoing_label(const struct mailbox_env *env)
{
	return env->english ? "Outgoing" : "Исходящие";
}

int mb_role_in_archive(int role)
{
	return role == STORE_MB_ROLE_ARCHIVE || role == STORE_MB_ROLE_USER;
}

static unsigned mb_role_attrs(int role)
{
	switch (role) {
	case STORE_MB_ROLE_SENT:
		return MAILBOX_ATTR_SENT;
	case STORE_MB_ROLE_DRAFTS:
		return MAILBOX_ATTR_DRAFTS;
	case STORE_MB_ROLE_ARCHIVE:
		return MAILBOX_ATTR_ARCHIVE;
	case STORE_MB_ROLE_TRASH:
		return MAILBOX_ATTR_TRASH;
	default:
		return 0;
	}
}

int mb_box_folders_ensure(struct mailbox_env *env, int64_t user_id,
			  const char *box_id, struct mailbox_error *err)
{
	int64_t id;
	size_t i;
	int ret;

	if ((ret = store_tx_begin(env->store)) != STORE_OK)
		return mb_store_error(err, ret, "folders ensure");
	for (i = 0; i < MB_N_BOX_ROLES; i++) {
		ret = store_mb_folder_ensure(env->store, user_id, box_id,
					     mb_box_roles[i], "", &id);
		if (ret != STORE_OK) {
			store_tx_rollback(env->store);
			return mb_store_error(err, ret, "folders ensure");
		}
	}
	if ((ret = store_tx_commit(env->store)) != STORE_OK)
		return mb_store_error(err, ret, "folders ensure");
	return 0;
}

int mb_folder_id(struct mailbox_env *env, int64_t user_id, const char *box_id,
		 int role, int64_t *id_r, struct mailbox_error *err)
{
	int ret;

	/* ensure, not find: a box added to the user after login, or a row
	 * lost, is simply created again. */
	ret = store_mb_folder_ensure(env->store, user_id, box_id, role, "", id_r);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "folder id");
	return 0;
}

/* ---- building the tree ---- */

static struct mb_node *mb_tree_add(struct mb_tree *tree, char *name)
{
	struct mb_node *n;

	if (tree->n == tree->cap) {
		tree->cap = tree->cap == 0 ? 32 : tree->cap * 2;
		tree->nodes = xrealloc(tree->nodes, tree->cap * sizeof(*n));
	}
	n = &tree->nodes[tree->n++];
	memset(n, 0, sizeof(*n));
	n->name = name;
	n->role = -1;
	n->box_id = "";
	n->subscribed = 1;
	return n;
}

static void mb_tree_add_container(struct mb_tree *tree, char *name)
{
	struct mb_node *n = mb_tree_add(tree, name);

	n->attrs = MAILBOX_ATTR_NOSELECT;
}

void mb_tree_free(struct mb_tree *tree)
{
	size_t i;

	for (i = 0; i < tree->n; i++)
		free(tree->nodes[i].name);
	free(tree->nodes);
	store_mb_folder_list_free(tree->folders, tree->n_folders);
	memset(tree, 0, sizeof(*tree));
}

struct mb_node *mb_tree_find(struct mb_tree *tree, const char *name)
{
	size_t i;

	/* INBOX is case-insensitive (RFC 3501 5.1), everything else exact. */
	if (util_strcaseeq(name, "INBOX"))
		name = "INBOX";
	for (i = 0; i < tree->n; i++) {
		if (strcmp(tree->nodes[i].name, name) == 0)
			return &tree->nodes[i];
	}
	return NULL;
}

static void mb_node_from_folder(struct mb_node *n, struct store_mb_folder *f,
				const char *box_id)
{
	n->folder_id = f->id;
	n->role = f->role;
	n->box_id = box_id;
	n->path = f->path;
	n->uidvalidity = f->uidvalidity;
	n->subscribed = f->subscribed;
	n->attrs = mb_role_attrs(f->role);
}

/* Adds the folders of one box, names under prefix ("" for flat). */
static void mb_tree_add_box(struct mailbox_env *env, struct mb_tree *tree,
			    const struct mb_box *box, const char *prefix)
{
	const char *sep = prefix[0] != '\0' ? "/" : "";
	struct store_mb_folder *f = NULL;
	struct mb_node *n;
	size_t i, r;

	if (prefix[0] != '\0')
		mb_tree_add_container(tree, xstrdup(prefix));
	for (r = 0; r < MB_N_BOX_ROLES; r++) {
		int role = mb_box_roles[r];

		for (i = 0; i < tree->n_folders; i++) {
			f = &tree->folders[i];
			if (f->role == role && strcmp(f->box_id, box->box_id) == 0)
				break;
		}
		if (i == tree->n_folders)
			continue;
		if (role == STORE_MB_ROLE_INBOX) {
			/* Flat: INBOX.  Multi-org: "Org/Входящие" holds the
			 * messages and the invitation subfolder. */
			n = mb_tree_add(tree, prefix[0] == '\0' ? xstrdup("INBOX") :
					xasprintf("%s/%s", prefix,
						  mb_incoming_label(env)));
			mb_node_from_folder(n, f, box->box_id);
			if (prefix[0] == '\0')
				mb_tree_add_container(tree,
					xstrdup(mb_incoming_label(env)));
			continue;
		}
		if (role == STORE_MB_ROLE_OUT_INVITATIONS)
			mb_tree_add_container(tree, xasprintf("%s%s%s", prefix,
					      sep, mb_outgoing_label(env)));
		n = mb_tree_add(tree, xasprintf("%s%s%s", prefix, sep,
						mb_role_label(env, role)));
		mb_node_from_folder(n, f, box->box_id);
		if (role != STORE_MB_ROLE_ARCHIVE)
			continue;
		/* The user's own folders, in path order, right after the
		 * archive. */
		for (i = 0; i < tree->n_folders; i++) {
			f = &tree->folders[i];
			if (f->role != STORE_MB_ROLE_USER ||
			    strcmp(f->box_id, box->box_id) != 0)
				continue;
			n = mb_tree_add(tree, xasprintf("%s%s%s/%s", prefix, sep,
					mb_role_label(env, STORE_MB_ROLE_ARCHIVE),
					f->path));
			mb_node_from_folder(n, f, box->box_id);
		}
	}
}

/* Sorts '/' before every other byte so that a folder's children follow
 * it directly. */
static int mb_name_cmp(const char *a, const char *b)
{
	for (; *a != '\0' && *a == *b; a++, b++)
		;
	if (*a == *b)
		return 0;
	if (*a == '/')
		return *b == '\0' ? 1 : -1;
	if (*b == '/')
		return *a == '\0' ? -1 : 1;
	return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
}

static int mb_node_ptr_cmp(const void *a, const void *b)
{
	const struct mb_node *const *x = a, *const *y = b;

	return mb_name_cmp((*x)->name, (*y)->name);
}

static int mb_is_child(const char *parent, const char *name)
{
	size_t len = strlen(parent);

	return strncmp(parent, name, len) == 0 && name[len] == '/';
}

/* Containers for any missing parent of a user folder (rows left by an
 * older program), then \HasChildren / \HasNoChildren. */
static void mb_tree_finish(struct mb_tree *tree)
{
	struct mb_node **sorted;
	size_t i, count = tree->n;

	for (i = 0; i < count; i++) {
		char *name = tree->nodes[i].name, *slash;

		if (tree->nodes[i].role != STORE_MB_ROLE_USER)
			continue;
		for (slash = strrchr(name, '/'); slash != NULL;
		     slash = memrchr(name, '/', (size_t)(slash - name))) {
			char *parent = xstrndup(name, (size_t)(slash - name));

			if (mb_tree_find(tree, parent) != NULL) {
				free(parent);
				break;
			}
			mb_tree_add_container(tree, parent);
			name = tree->nodes[i].name;
		}
	}
	sorted = xcalloc(tree->n, sizeof(*sorted));
	for (i = 0; i < tree->n; i++)
		sorted[i] = &tree->nodes[i];
	qsort(sorted, tree->n, sizeof(*sorted), mb_node_ptr_cmp);
	for (i = 0; i < tree->n; i++) {
		int children = i + 1 < tree->n &&
			mb_is_child(sorted[i]->name, sorted[i + 1]->name);

		sorted[i]->attrs |= children ? MAILBOX_ATTR_HASCHILDREN :
			MAILBOX_ATTR_HASNOCHILDREN;
	}
	free(sorted);
}

int mb_tree_build(struct mailbox_user *user, struct mb_tree *tree,
		  struct mailbox_error *err)
{
	struct mailbox_env *env = user->env;
	struct store_mb_folder *f = NULL;
	struct mb_node *n;
	size_t i;
	int ret;

	memset(tree, 0, sizeof(*tree));
	ret = store_mb_folder_list(env->store, user->id, &tree->folders,
				   &tree->n_folders);
	if (ret != STORE_OK) {
		mb_tree_free(tree);
		return mb_store_error(err, ret, "folder list");
	}
	if (!user->multi) {
		/* The session's boxes only: isolation by construction. */
		if (user->n_boxes > 0)
			mb_tree_add_box(env, tree, &user->boxes[0], "");
	} else {
		for (i = 0; i < tree->n_folders; i++) {
			f = &tree->folders[i];
			if (f->role == STORE_MB_ROLE_NOTICES &&
			    f->box_id[0] == '\0') {
				n = mb_tree_add(tree, xstrdup("INBOX"));
				mb_node_from_folder(n, f, "");
				break;
			}
		}
		for (i = 0; i < user->n_boxes; i++)
			mb_tree_add_box(env, tree, &user->boxes[i],
					user->boxes[i].prefix);
	}
	mb_tree_finish(tree);
	return 0;
}

/* The archive node under which name would be a user folder, with the
 * path below it in *path_r (points into name); NULL if none. */
static struct mb_node *mb_archive_of(struct mb_tree *tree, const char *name,
				     const char **path_r)
{
	size_t i, len;

	for (i = 0; i < tree->n; i++) {
		struct mb_node *n = &tree->nodes[i];

		if (n->role != STORE_MB_ROLE_ARCHIVE)
			continue;
		len = strlen(n->name);
		if (strncmp(n->name, name, len) == 0 && name[len] == '/') {
			*path_r = name + len + 1;
			return n;
		}
	}
	return NULL;
}

int mb_resolve(struct mailbox_user *user, const char *name,
	       struct mb_tree *tree, struct mb_node **node_r,
	       struct mailbox_error *err)
{
	const char *path;
	struct mb_node *n;

	/* The tree is left built (or zeroed) for the caller to free. */
	*node_r = NULL;
	memset(tree, 0, sizeof(*tree));
	if (name == NULL || strlen(name) > MB_MAX_NAME)
		return mb_error(err, MAILBOX_ERR_NOTFOUND,
				"Нет такой папки / no such folder");
	if (mb_tree_build(user, tree, err) < 0)
		return -1;
	n = mb_tree_find(tree, name);
	if (n == NULL) {
		if (mb_archive_of(tree, name, &path) != NULL && path[0] != '\0')
			return mb_error(err, MAILBOX_ERR_TRYCREATE,
					"Нет такой папки: создайте её / "
					"no such folder: create it first");
		return mb_error(err, MAILBOX_ERR_NOTFOUND,
				"Нет такой папки / no such folder");
	}
	if (n->folder_id == 0)
		return mb_error(err, MAILBOX_ERR_CANNOT,
				"Эта папка только содержит другие папки / "
				"this folder only holds other folders");
	*node_r = n;
	return 0;
}

/* ---- LIST / STATUS ---- */

static int mb_sub_has(const struct store_mb_sub *subs, size_t n,
		      const char *box_id, const char *path)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(subs[i].box_id, box_id) == 0 &&
		    strcmp(subs[i].path, path) == 0)
			return 1;
	}
	return 0;
}

/* The archive folder of a box in this tree, NULL when the session does
 * not serve the box. */
static const struct mb_node *mb_tree_archive(const struct mb_tree *tree,
					     const char *box_id)
{
	for (size_t i = 0; i < tree->n; i++) {
		if (tree->nodes[i].role == STORE_MB_ROLE_ARCHIVE &&
		    strcmp(tree->nodes[i].box_id, box_id) == 0)
			return &tree->nodes[i];
	}
	return NULL;
}

int mailbox_list(struct mailbox_user *user, struct mailbox_folder_info **f_r,
		 size_t *n_r, struct mailbox_error *err)
{
	struct mailbox_folder_info *out;
	struct store_mb_sub *subs = NULL;
	struct mb_tree tree;
	size_t i, n_subs = 0, n_out;
	int ret;

	*f_r = NULL;
	*n_r = 0;
	if (mb_tree_build(user, &tree, err) < 0)
		return -1;
	ret = store_mb_sub_list(user->env->store, user->id, &subs, &n_subs);
	if (ret != STORE_OK) {
		mb_tree_free(&tree);
		return mb_store_error(err, ret, "list");
	}
	out = xcalloc(tree.n + n_subs + 1, sizeof(*out));
	for (i = 0; i < tree.n; i++) {
		const struct mb_node *nd = &tree.nodes[i];

		out[i].name = xstrdup(nd->name);
		out[i].attrs = nd->attrs;
		if (nd->folder_id != 0 && (nd->role == STORE_MB_ROLE_USER ?
			mb_sub_has(subs, n_subs, nd->box_id, nd->path) :
			nd->subscribed))
			out[i].attrs |= MAILBOX_ATTR_SUBSCRIBED;
	}
	/* Subscriptions outlive their folders (RFC 3501 6.3.6): a name
	 * whose folder is gone is listed as nonexistent. */
	n_out = tree.n;
	for (i = 0; i < n_subs; i++) {
		const struct mb_node *archive = mb_tree_archive(&tree,
							       subs[i].box_id);
		char *name;

		if (archive == NULL)
			continue;
		name = xasprintf("%s/%s", archive->name, subs[i].path);
		if (mb_tree_find(&tree, name) != NULL) {
			free(name);
			continue;
		}
		out[n_out].name = name;
		out[n_out].attrs = MAILBOX_ATTR_NONEXISTENT |
				   MAILBOX_ATTR_NOSELECT |
				   MAILBOX_ATTR_SUBSCRIBED;
		n_out++;
	}
	store_mb_sub_list_free(subs, n_subs);
	*f_r = out;
	*n_r = n_out;
	mb_tree_free(&tree);
	return 0;
}

void mailbox_folder_info_free(struct mailbox_folder_info *f, size_t n)
{
	size_t i;

	for (i = 0; f != NULL && i < n; i++)
		free(f[i].name);
	free(f);
}

int mailbox_folder_status(struct mailbox_user *user, const char *name,
			  struct mailbox_status *st_r,
			  struct mailbox_error *err)
{
	struct store_mb_folder f;
	struct mb_tree tree;
	struct mb_node *n;
	int ret;

	memset(st_r, 0, sizeof(*st_r));
	if (mb_resolve(user, name, &tree, &n, err) < 0) {
		mb_tree_free(&tree);
		return -1;
	}
	ret = store_mb_folder_get(user->env->store, n->folder_id, &f);
	mb_tree_free(&tree);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "folder status");
	ret = store_mb_folder_counts(user->env->store, f.id, f.recent_uid,
				     &st_r->messages, &st_r->unseen,
				     &st_r->recent);
	st_r->uidnext = f.uidnext;
	st_r->uidvalidity = f.uidvalidity;
	st_r->highestmodseq = (uint64_t)f.modseq;
	store_mb_folder_clear(&f);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "folder status");
	return 0;
}

/* ---- CREATE / DELETE / RENAME / SUBSCRIBE ---- */

static int mb_dot_level(const char *p, size_t n)
{
	return (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.');
}

/* A path below the archive a user may create: valid UTF-8 without
 * controls or IMAP wildcards, no empty level and no "." or ".." level
 * (they read as path steps), bounded. */
static int mb_user_path_valid(const char *path, struct mailbox_error *err)
{
	size_t len = strlen(path), comp = 0, depth = 1, i;

	if (len == 0 || len > MB_MAX_NAME ||
	    !util_utf8_valid((const unsigned char *)path, len))
		goto bad;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)path[i];

		if (c < 0x20 || c == 0x7f || c == '*' || c == '%')
			goto bad;
		if (c == '/') {
			if (comp == 0 || mb_dot_level(path + i - comp, comp))
				goto bad;
			comp = 0;
			if (++depth > MB_MAX_DEPTH)
				goto bad;
			continue;
		}
		if (++comp > MB_MAX_COMPONENT)
			goto bad;
	}
	if (comp == 0 || mb_dot_level(path + len - comp, comp))
		goto bad;
	return 0;
bad:
	return mb_error(err, MAILBOX_ERR_INVALID,
			"Недопустимое имя папки (пустые части, части «.» и «..», "
			"символы * %% или слишком длинное) / invalid folder name "
			"(empty levels, \".\" or \"..\" levels, * or %% "
			"characters, or too long)");
}

static int mb_only_archive(struct mailbox_env *env, struct mailbox_error *err)
{
	return mb_error(err, MAILBOX_ERR_CANNOT,
			"Создавать, удалять и переименовывать можно только "
			"папки внутри «%s» / only folders inside \"%s\" can be "
			"created, deleted or renamed",
			mb_role_label(env, STORE_MB_ROLE_ARCHIVE),
			mb_names_en[STORE_MB_ROLE_ARCHIVE]);
}

/* Creates path and every missing parent below the archive of box_id. */
static int mb_create_path(struct mailbox_user *user, const char *box_id,
			  const char *path, struct mailbox_error *err)
{
	struct mailbox_env *env = user->env;
	size_t n_folders;
	const char *p;
	int64_t id;
	int ret;

	ret = store_mb_folder_count_user(env->store, user->id, &n_folders);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "create");
	if (n_folders >= MB_MAX_USER_FOLDERS)
		return mb_error(err, MAILBOX_ERR_OVERQUOTA,
				"Слишком много папок / too many folders");
	if ((ret = store_tx_begin(env->store)) != STORE_OK)
		return mb_store_error(err, ret, "create");
	for (p = strchr(path, '/');; p = strchr(p + 1, '/')) {
		char *part = p == NULL ? xstrdup(path) :
			xstrndup(path, (size_t)(p - path));

		ret = store_mb_folder_ensure(env->store, user->id, box_id,
					     STORE_MB_ROLE_USER, part, &id);
		free(part);
		if (ret != STORE_OK) {
			store_tx_rollback(env->store);
			return mb_store_error(err, ret, "create");
		}
		if (p == NULL)
			break;
	}
	if ((ret = store_tx_commit(env->store)) != STORE_OK)
		return mb_store_error(err, ret, "create");
	return 0;
}

int mailbox_create(struct mailbox_user *user, const char *name,
		   struct mailbox_error *err)
{
	struct mb_node *archive;
	struct mb_tree tree;
	const char *path;
	char *clean;
	size_t len;
	int ret;

	if (name == NULL || (len = strlen(name)) == 0 || len > MB_MAX_NAME)
		return mb_error(err, MAILBOX_ERR_INVALID,
				"Недопустимое имя папки / invalid folder name");
	/* A trailing separator only says children are intended. */
	clean = xstrdup(name);
	if (len > 1 && clean[len - 1] == '/')
		clean[len - 1] = '\0';
	if (mb_tree_build(user, &tree, err) < 0) {
		free(clean);
		return -1;
	}
	if (mb_tree_find(&tree, clean) != NULL)
		ret = mb_error(err, MAILBOX_ERR_EXISTS,
			       "Папка уже существует / folder already exists");
	else if ((archive = mb_archive_of(&tree, clean, &path)) == NULL)
		ret = mb_only_archive(user->env, err);
	else if (mb_user_path_valid(path, err) < 0)
		ret = -1;
	else
		ret = mb_create_path(user, archive->box_id, path, err);
	mb_tree_free(&tree);
	free(clean);
	if (ret == 0)
		mb_notify_user(user->env, user->id, 0, NULL);
	return ret;
}

/* Items of a user folder that stand for EDO messages stay archived at
 * the operator; deleting the folder must not lose them from view, so
 * they go to the archive folder itself. */
static int mb_rescue_edo_items(struct mailbox_env *env, int64_t user_id,
			       struct mb_node *n, struct mailbox_error *err)
{
	struct store_mb_item *items;
	size_t n_items, i;
	int64_t archive_id;
	int ret;

	ret = store_mb_item_list(env->store, n->folder_id, 0, &items, &n_items);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "delete");
	for (i = 0; i < n_items; i++) {
		if (items[i].kind != STORE_MB_KIND_MESSAGE ||
		    items[i].edo_msg_id == NULL)
			continue;
		if (mb_folder_id(env, user_id, n->box_id, STORE_MB_ROLE_ARCHIVE,
				 &archive_id, err) < 0) {
			store_mb_item_list_free(items, n_items);
			return -1;
		}
		ret = store_mb_item_move(env->store, items[i].id, archive_id,
					 NULL);
		if (ret != STORE_OK) {
			store_mb_item_list_free(items, n_items);
			return mb_store_error(err, ret, "delete");
		}
	}
	store_mb_item_list_free(items, n_items);
	return 0;
}

int mailbox_delete(struct mailbox_user *user, const char *name,
		   struct mailbox_error *err)
{
	struct mailbox_env *env = user->env;
	struct mb_tree tree;
	struct mb_node *n;
	int ret;

	if (mb_tree_build(user, &tree, err) < 0)
		return -1;
	n = name != NULL ? mb_tree_find(&tree, name) : NULL;
	if (n == NULL) {
		mb_tree_free(&tree);
		return mb_error(err, MAILBOX_ERR_NOTFOUND,
				"Нет такой папки / no such folder");
	}
	if (n->role != STORE_MB_ROLE_USER || n->folder_id == 0) {
		mb_tree_free(&tree);
		return mb_only_archive(env, err);
	}
	if (n->attrs & MAILBOX_ATTR_HASCHILDREN) {
		mb_tree_free(&tree);
		return mb_error(err, MAILBOX_ERR_CANNOT,
				"Сначала удалите вложенные папки / "
				"delete the subfolders first");
	}
	ret = -1;
	if (store_tx_begin(env->store) != STORE_OK) {
		mb_error(err, MAILBOX_ERR_TEMP,
			 "Хранилище временно недоступно / storage unavailable");
	} else if (mb_rescue_edo_items(env, user->id, n, err) < 0) {
		store_tx_rollback(env->store);
	} else if ((ret = store_mb_folder_delete(env->store, n->folder_id)) !=
		   STORE_OK) {
		store_tx_rollback(env->store);
		ret = mb_store_error(err, ret, "delete");
	} else if ((ret = store_tx_commit(env->store)) != STORE_OK) {
		ret = mb_store_error(err, ret, "delete");
	}
	mb_tree_free(&tree);
	if (ret == 0)
		mb_notify_user(env, user->id, 0, NULL);
	return ret;
}

/* Renames from and all its children to the new path (same box). */
static int mb_rename_rows(struct mailbox_env *env, struct mb_tree *tree,
			  struct mb_node *from, const char *new_path,
			  struct mailbox_error *err)
{
	size_t i, old_len = strlen(from->path);
	int ret;

	if ((ret = store_tx_begin(env->store)) != STORE_OK)
		return mb_store_error(err, ret, "rename");
	for (i = 0; i < tree->n_folders; i++) {
		struct store_mb_folder *f = &tree->folders[i];
		char *p;

		if (f->role != STORE_MB_ROLE_USER ||
		    strcmp(f->box_id, from->box_id) != 0)
			continue;
		if (strcmp(f->path, from->path) == 0)
			p = xstrdup(new_path);
		else if (strncmp(f->path, from->path, old_len) == 0 &&
			 f->path[old_len] == '/')
			p = xasprintf("%s%s", new_path, f->path + old_len);
		else
			continue;
		if (strlen(p) > MB_MAX_NAME) {
			free(p);
			store_tx_rollback(env->store);
			return mb_error(err, MAILBOX_ERR_INVALID,
					"Слишком длинное имя папки / folder name too long");
		}
		ret = store_mb_folder_set_path(env->store, f->id, p);
		free(p);
		if (ret != STORE_OK) {
			store_tx_rollback(env->store);
			if (ret == STORE_ERR_CONFLICT)
				return mb_error(err, MAILBOX_ERR_EXISTS,
						"Папка уже существует / folder already exists");
			return mb_store_error(err, ret, "rename");
		}
	}
	if ((ret = store_tx_commit(env->store)) != STORE_OK)
		return mb_store_error(err, ret, "rename");
	return 0;
}

static int mb_parent_path(struct mailbox_user *user, const char *box_id,
			  const char *path, struct mailbox_error *err)
{
	const char *slash = strrchr(path, '/');
	char *parent;
	int ret;

	if (slash == NULL)
		return 0;
	parent = xstrndup(path, (size_t)(slash - path));
	ret = mb_create_path(user, box_id, parent, err);
	free(parent);
	return ret;
}

int mailbox_rename(struct mailbox_user *user, const char *from,
		   const char *to, struct mailbox_error *err)
{
	struct mb_node *src, *archive;
	struct mb_tree tree;
	const char *path;
	size_t from_len;
	int ret;

	if (from == NULL || to == NULL || strlen(to) > MB_MAX_NAME)
		return mb_error(err, MAILBOX_ERR_INVALID,
				"Недопустимое имя папки / invalid folder name");
	if (mb_tree_build(user, &tree, err) < 0)
		return -1;
	src = mb_tree_find(&tree, from);
	from_len = src != NULL ? strlen(src->name) : 0;
	if (src == NULL)
		ret = mb_error(err, MAILBOX_ERR_NOTFOUND,
			       "Нет такой папки / no such folder");
	else if (src->role != STORE_MB_ROLE_USER || src->folder_id == 0)
		ret = mb_only_archive(user->env, err);
	else if (mb_tree_find(&tree, to) != NULL)
		ret = mb_error(err, MAILBOX_ERR_EXISTS,
			       "Папка уже существует / folder already exists");
	else if ((archive = mb_archive_of(&tree, to, &path)) == NULL ||
		 strcmp(archive->box_id, src->box_id) != 0)
		ret = mb_only_archive(user->env, err);
	else if (strncmp(to, src->name, from_len) == 0 && to[from_len] == '/')
		ret = mb_error(err, MAILBOX_ERR_CANNOT,
			       "Нельзя перенести папку внутрь неё самой / "
			       "cannot move a folder into itself");
	else if (mb_user_path_valid(path, err) < 0)
		ret = -1;
	else if ((ret = mb_parent_path(user, src->box_id, path, err)) == 0)
		ret = mb_rename_rows(user->env, &tree, src, path, err);
	mb_tree_free(&tree);
	if (ret == 0)
		mb_notify_user(user->env, user->id, 0, NULL);
	return ret;
}

int mailbox_subscribe(struct mailbox_user *user, const char *name,
		      int subscribed, struct mailbox_error *err)
{
	struct mb_tree tree;
	struct mb_node *n;
	int ret = 0;

	if (mb_tree_build(user, &tree, err) < 0)
		return -1;
	n = name != NULL ? mb_tree_find(&tree, name) : NULL;
	if (n == NULL) {
		struct mb_node *archive;
		const char *path;

		/* UNSUBSCRIBE of a deleted folder's name drops it; of any
		 * other unknown name it does nothing (Dovecot: OK) */
		if (subscribed)
			ret = mb_error(err, MAILBOX_ERR_NOTFOUND,
				       "Нет такой папки / no such folder");
		else if (name != NULL &&
			 (archive = mb_archive_of(&tree, name, &path)) != NULL &&
			 (ret = store_mb_sub_set(user->env->store, user->id,
						 archive->box_id, path, 0)) !=
			 STORE_OK)
			ret = mb_store_error(err, ret, "subscribe");
	} else if (n->folder_id != 0 && n->role == STORE_MB_ROLE_USER) {
		ret = store_mb_sub_set(user->env->store, user->id, n->box_id,
				       n->path, subscribed);
		if (ret != STORE_OK)
			ret = mb_store_error(err, ret, "subscribe");
	} else if (n->folder_id != 0) {
		ret = store_mb_folder_set_subscribed(user->env->store,
						     n->folder_id, subscribed);
		if (ret != STORE_OK)
			ret = mb_store_error(err, ret, "subscribe");
	}
	/* Containers have no row; subscribing them is accepted and
	 * changes nothing (they are always listed). */
	mb_tree_free(&tree);
	return ret;
}
