/* Signing with a «Скоро истекает» certificate (issue 14 item 7): the
 * letter goes, and the user is told twice over — in the reply to the
 * submission (every time: the mail client shows it at that moment) and by
 * a notice letter in the box's INBOX (once per certificate, remembered in
 * mb_cert_notices: a reminder with every letter would be noise). */
#include "mailbox/mailbox-submit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"

#define MB_CERT_NOTICE_EXPIRING "expiring"

static void mb_cert_day(int64_t t, char ru[40], char en[40])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	snprintf(ru, 40, "%02d.%02d.%04d %02d:%02d UTC", tm.tm_mday,
		 tm.tm_mon + 1, tm.tm_year + 1900, tm.tm_hour, tm.tm_min);
	snprintf(en, 40, "%04d-%02d-%02d %02d:%02d UTC", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
}

/* The INBOX notice, once: rendered first (outside the transaction), then
 * the claim and the item in one transaction, so that a crash loses
 * neither or both.  A failure costs the notice only (logged): the letter
 * is sent already and the reply says it all. */
static void mb_cert_notice_add(struct mb_submit *c,
			       const struct crypto_cert_info *info,
			       const char *ru_until, const char *en_until)
{
	struct mailbox_env *env = c->env;
	const char *box = c->from->org.id;
	struct mailbox_error err = { 0 };
	struct mb_rendered r;
	struct store_mb_item it;
	char *addr, *key, *subject, *text;
	int ret;

	addr = xasprintf("%s@%s", box, env->domain);
	key = xasprintf("notice:%s:cert-expiring:%lld:%s", box,
			(long long)c->user->id, info->thumbprint);
	subject = xasprintf("Сертификат подписи скоро истекает / "
			    "Signing certificate expires soon: %s",
			    info->common_name != NULL ? info->common_name :
			    info->subject);
	text = xasprintf(
		"Вы подписали письмо сертификатом, срок действия которого "
		"истекает %s.\n\n"
		"Владелец: %s\nИздатель: %s\nСерийный номер: %s\n"
		"Отпечаток: %s\n\n"
		"После этой даты подписывать им будет нельзя: получите новый "
		"сертификат в удостоверяющем центре и загрузите его "
		"(edomailctl cert import). Это уведомление приходит один раз "
		"для сертификата; ответ на каждое письмо повторяет "
		"предупреждение.\n\n"
		"You signed a letter with a certificate that expires %s.\n\n"
		"Holder: %s\nIssuer: %s\nSerial: %s\nThumbprint: %s\n\n"
		"After that date it cannot sign: have a new certificate "
		"issued and import it (edomailctl cert import). This notice "
		"comes once per certificate; the reply to each letter repeats "
		"the warning.\n",
		ru_until, info->subject, info->issuer, info->serial,
		info->thumbprint, en_until, info->subject, info->issuer,
		info->serial, info->thumbprint);
	ret = mb_render_notice(env, addr, key, subject, text, NULL, util_now(),
			       &r, &err);
	free(addr);
	free(key);
	free(subject);
	free(text);
	if (ret < 0)
		goto failed;
	memset(&it, 0, sizeof(it));
	if (mb_box_folders_ensure(env, c->user->id, box, &err) < 0 ||
	    mb_folder_id(env, c->user->id, box, STORE_MB_ROLE_INBOX,
			 &it.folder_id, &err) < 0) {
		mb_rendered_clear(&r);
		goto failed;
	}
	if ((ret = store_tx_begin(env->store)) != STORE_OK) {
		mb_rendered_clear(&r);
		goto store_failed;
	}
	ret = store_mb_cert_notice_claim(env->store, c->user->id,
					 info->thumbprint,
					 MB_CERT_NOTICE_EXPIRING, util_now());
	if (ret == STORE_ERR_CONFLICT) {
		/* Told before: nothing more. */
		store_tx_rollback(env->store);
		mb_rendered_clear(&r);
		return;
	}
	if (ret == STORE_OK) {
		ret = mb_rendered_blob(env, &r, &it.blob_id, &it.size, &err);
		ret = ret == 0 ? STORE_OK : STORE_ERR_TEMP;
	}
	if (ret == STORE_OK) {
		it.flags = 0;
		it.keywords = "";
		it.internaldate = r.date != 0 ? r.date : util_now();
		it.user_id = c->user->id;
		it.box_id = (char *)box;
		it.kind = STORE_MB_KIND_NOTICE;
		it.home_role = STORE_MB_ROLE_INBOX;
		it.message_id = r.message_id;
		ret = store_mb_item_add(env->store, &it);
	}
	mb_rendered_clear(&r);
	if (ret != STORE_OK) {
		store_tx_rollback(env->store);
		goto store_failed;
	}
	if ((ret = store_tx_commit(env->store)) != STORE_OK)
		goto store_failed;
	log_info("submit[%lu] %s: certificate %s expires %s: notice in the "
		 "INBOX of %s", c->sid, c->user->login, info->thumbprint,
		 en_until, box);
	mb_notify_user(env, c->user->id, it.folder_id, NULL);
	return;
store_failed:
	log_warnx("submit[%lu] %s: the notice about certificate %s expiring "
		  "is not stored (store error %d)", c->sid, c->user->login,
		  info->thumbprint, ret);
	return;
failed:
	log_warnx("submit[%lu] %s: the notice about certificate %s expiring "
		  "is not made: %s", c->sid, c->user->login, info->thumbprint,
		  err.msg);
}

void mb_submit_cert_warning(struct mb_submit *c, char **ru_r, char **en_r)
{
	struct crypto_cert_info info;
	char *error = NULL, ru[40], en[40];

	*ru_r = xstrdup("");
	*en_r = xstrdup("");
	if (c->signer == NULL)
		return;
	if (crypto_cert_info(core_signer_cert_pem(c->signer), &info,
			     &error) < 0) {
		free(error);
		return;
	}
	if (crypto_cert_status(info.not_before, info.not_after, util_now()) ==
	    CRYPTO_CERT_EXPIRING) {
		mb_cert_day(info.not_after, ru, en);
		free(*ru_r);
		free(*en_r);
		*ru_r = xasprintf(". Внимание: сертификат подписи (серийный "
				  "номер %s) истекает %s, получите новый",
				  info.serial, ru);
		*en_r = xasprintf(". Warning: the signing certificate (serial "
				  "%s) expires %s, have a new one issued",
				  info.serial, en);
		mb_cert_notice_add(c, &info, ru, en);
	}
	crypto_cert_info_clear(&info);
}
