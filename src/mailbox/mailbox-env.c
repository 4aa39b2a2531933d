/* The mailbox environment: settings, store and core handles, the list of
 * open views for IDLE notification, and the node key used to open private
 * keys for decryption. */
#include "mailbox/mailbox-private.h"

#include <stdlib.h>
#include <string.h>


#include "config/config.h"
#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"

/* APPEND without a configured limit still has one. */
#define MB_DEFAULT_MAX_APPEND (64u * 1024 * 1024)

int mailbox_env_new(const struct settings *set, struct store *store,
		    struct core *core, struct mailbox_env **env_r,
		    struct mailbox_error *err)
{
	struct mailbox_env *env;

	*env_r = NULL;
	if (set == NULL || store == NULL)
		return mb_error(err, MAILBOX_ERR_INVALID,
				"Нет настроек или хранилища / no settings or store");
	env = xcalloc(1, sizeof(*env));
	env->set = set;
	env->store = store;
	env->core = core;
	env->domain = set->domain != NULL ? set->domain : "localhost";
	env->english = set->folders_language != NULL &&
		strcmp(set->folders_language, "en") == 0;
	env->max_append = set->max_literal > set->max_message ?
		set->max_literal : set->max_message;
	if (env->max_append == 0)
		env->max_append = MB_DEFAULT_MAX_APPEND;
	env->loop_thread = pthread_self();
	pthread_mutex_init(&env->lock, NULL);
	pthread_mutex_init(&env->sync_lock, NULL);
	env->auth_cache = mb_auth_cache_new(set->auth_cache_ttl);
	env->auth_limit = mb_auth_limit_new(set->auth_fail_limit,
					    set->auth_fail_window);
	env->verify_cache = crypto_verify_cache_new();
	mb_sealed_hook(env, 1);
	*env_r = env;
	return 0;
}

void mailbox_env_free(struct mailbox_env **_env)
{
	struct mailbox_env *env = *_env;

	if (env == NULL)
		return;
	*_env = NULL;
	if (env->views != NULL)
		log_warnx("mailbox: env freed with views still open");
	mb_sealed_hook(env, 0);
	free(env->dummy_hash);
	mb_auth_cache_free(&env->auth_cache);
	mb_auth_limit_free(&env->auth_limit);
	crypto_verify_cache_free(&env->verify_cache);
	free(env->prerendering);
	pthread_mutex_destroy(&env->lock);
	pthread_mutex_destroy(&env->sync_lock);
	free(env);
}

const char *mb_dummy_hash(struct mailbox_env *env)
{
	const char *h;

	pthread_mutex_lock(&env->lock);
	if (env->dummy_hash == NULL &&
	    crypto_password_hash_iter("edomail-no-such-user",
				      env->set->password_iterations,
				      &env->dummy_hash) < 0)
		env->dummy_hash = NULL;
	h = env->dummy_hash;
	pthread_mutex_unlock(&env->lock);
	return h;
}

/* ---- views and notification ---- */

void mb_view_register(struct mailbox_env *env, struct mailbox_view *view)
{
	pthread_mutex_lock(&env->lock);
	view->gen = ++env->view_gen;
	view->prev = NULL;
	view->next = env->views;
	if (env->views != NULL)
		env->views->prev = view;
	env->views = view;
	pthread_mutex_unlock(&env->lock);
}

void mb_view_unregister(struct mailbox_env *env, struct mailbox_view *view)
{
	pthread_mutex_lock(&env->lock);
	if (view->prev != NULL)
		view->prev->next = view->next;
	else if (env->views == view)
		env->views = view->next;
	if (view->next != NULL)
		view->next->prev = view->prev;
	view->next = view->prev = NULL;
	view->gen = 0;
	pthread_mutex_unlock(&env->lock);
}

void mailbox_view_set_notify(struct mailbox_view *view,
			     mailbox_notify_cb *cb, void *ctx)
{
	pthread_mutex_lock(&view->env->lock);
	view->cb = cb;
	view->cb_ctx = ctx;
	pthread_mutex_unlock(&view->env->lock);
}

struct mb_call {
	struct mailbox_view *view;
	uint64_t gen;
};

static int mb_view_alive(struct mailbox_env *env, const struct mb_call *c,
			 mailbox_notify_cb **cb_r, void **ctx_r)
{
	struct mailbox_view *v;

	for (v = env->views; v != NULL; v = v->next) {
		if (v == c->view && v->gen == c->gen && v->cb != NULL) {
			*cb_r = v->cb;
			*ctx_r = v->cb_ctx;
			return 1;
		}
	}
	return 0;
}

/* Calls the callbacks collected; a callback may close views (its own or
 * others), so each one is looked up again before it is called. */
static void mb_call_views(struct mailbox_env *env, struct mb_call *calls,
			  size_t n)
{
	mailbox_notify_cb *cb;
	void *ctx;
	size_t i;
	int alive;

	for (i = 0; i < n; i++) {
		pthread_mutex_lock(&env->lock);
		alive = mb_view_alive(env, &calls[i], &cb, &ctx);
		pthread_mutex_unlock(&env->lock);
		if (alive)
			cb(ctx);
	}
}

void mb_notify_user(struct mailbox_env *env, int64_t user_id,
		    int64_t folder_id, struct mailbox_view *except)
{
	struct mb_call *calls = NULL;
	struct mailbox_view *v;
	size_t n = 0, cap = 0;

	/* Sessions live on the loop thread; elsewhere the daemon's core
	 * notification wakes them instead. */
	if (!pthread_equal(pthread_self(), env->loop_thread))
		return;
	pthread_mutex_lock(&env->lock);
	for (v = env->views; v != NULL; v = v->next) {
		if (v == except || v->cb == NULL || v->user->id != user_id)
			continue;
		if (folder_id != 0 && v->folder_id != folder_id)
			continue;
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			calls = xrealloc(calls, cap * sizeof(*calls));
		}
		calls[n].view = v;
		calls[n].gen = v->gen;
		n++;
	}
	pthread_mutex_unlock(&env->lock);
	mb_call_views(env, calls, n);
	free(calls);
}

int mb_user_serves(const struct mailbox_user *user, const char *box_id)
{
	size_t i;

	for (i = 0; i < user->n_boxes; i++) {
		if (strcmp(user->boxes[i].box_id, box_id) == 0)
			return 1;
	}
	return 0;
}

/* A user (by id) with an open view on a box, and a session object of it
 * to sync with; NULL when none is left. */
static struct mailbox_user *mb_next_user(struct mailbox_env *env,
					 const char *box_id,
					 const int64_t *done, size_t n_done)
{
	struct mailbox_view *v;
	size_t i;

	for (v = env->views; v != NULL; v = v->next) {
		if (!mb_user_serves(v->user, box_id))
			continue;
		for (i = 0; i < n_done; i++) {
			if (done[i] == v->user->id)
				break;
		}
		if (i == n_done)
			return v->user;
	}
	return NULL;
}

void mailbox_env_notify_box(struct mailbox_env *env, const char *box_id)
{
	struct mailbox_error err;
	struct mailbox_user *user;
	int64_t *done = NULL;
	size_t n_done = 0;

	if (env == NULL || box_id == NULL)
		return;
	/* Sync each user watching the box once; a sync that changed
	 * something wakes that user's views, and an IDLE session refreshes
	 * and sees the new item right away. */
	for (;;) {
		pthread_mutex_lock(&env->lock);
		user = mb_next_user(env, box_id, done, n_done);
		pthread_mutex_unlock(&env->lock);
		if (user == NULL)
			break;
		done = xrealloc(done, (n_done + 1) * sizeof(*done));
		done[n_done++] = user->id;
		if (mailbox_user_sync(user, &err) < 0)
			log_warnx("mailbox: sync of %s after notify: %s",
				  user->login, err.msg);
	}
	free(done);
}

void mailbox_env_sync_skipped(struct mailbox_env *env)
{
	struct mailbox_error err;
	struct mailbox_user *user;
	struct mailbox_view *v;
	int64_t *done = NULL;
	size_t n_done = 0, i;
	int skipped;

	pthread_mutex_lock(&env->lock);
	skipped = env->sync_skipped;
	env->sync_skipped = 0;
	pthread_mutex_unlock(&env->lock);
	if (!skipped)
		return;
	/* every user with an open view once, as a notification would */
	for (;;) {
		user = NULL;
		pthread_mutex_lock(&env->lock);
		for (v = env->views; v != NULL && user == NULL; v = v->next) {
			for (i = 0; i < n_done && done[i] != v->user->id; i++)
				;
			if (i == n_done)
				user = v->user;
		}
		pthread_mutex_unlock(&env->lock);
		if (user == NULL)
			break;
		done = xrealloc(done, (n_done + 1) * sizeof(*done));
		done[n_done++] = user->id;
		if (mailbox_user_sync(user, &err) < 0)
			log_warnx("mailbox: sync of %s: %s", user->login,
				  err.msg);
	}
	free(done);
}

uint64_t mailbox_env_render_count(struct mailbox_env *env)
{
	uint64_t n;

	pthread_mutex_lock(&env->lock);
	n = env->sync_renders;
	pthread_mutex_unlock(&env->lock);
	return n;
}
