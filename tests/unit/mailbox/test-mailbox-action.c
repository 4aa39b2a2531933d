/* The mail-action service without a socket (issue 10): addresses, MAIL
 * FROM and RCPT TO checks, and every action a submitted mail can become —
 * invitation, acceptance, refusal, a letter, an answer, re-signed
 * documents, the same answer again, a retry of a committed mail, all
 * recipients or none — plus the client's Sent copy absorbed.  The real
 * store, core and embedded operator on a temporary SQLite file. */
#include "mb-test.h"
#include "../edo-fixtures.h"

#include "mailbox/mailbox-action.h"
/* mb_render_message and the env's verification cache */
#include "mailbox/mailbox-private.h"

static struct settings set;
static struct store *store;
static struct core *core;
static struct mailbox_env *env;
static unsigned char node_key[CRYPTO_NODE_KEY_LEN];
static struct core_box A, B, X;
static struct mailbox_user *anna, *boris, *vera, *rita;

#define DOMAIN "edo.local"
#define DOC "Договор поставки № 7 от 01.12.2026"

/* ---- addresses (pure) ---- */

static void test_addr(void)
{
	struct mailbox_addr a;
	const char *d = DOMAIN;
	char longid[80], out[128];

	ok(mailbox_addr_parse("7701234560@edo.local", d, &a) == MAILBOX_RES_OK &&
	   a.kind == MAILBOX_ADDR_INN && strcmp(a.query, "7701234560") == 0 &&
	   !a.encrypt, "ИНН of an organization");
	ok(mailbox_addr_parse("500100732259@EDO.LOCAL", d, &a) == MAILBOX_RES_OK &&
	   a.kind == MAILBOX_ADDR_INN, "12-digit ИНН (ИП), domain case");
	ok(mailbox_addr_parse("7701234560.770101001@edo.local", d, &a) ==
	   MAILBOX_RES_OK && a.kind == MAILBOX_ADDR_INN_KPP &&
	   strcmp(a.inn, "7701234560") == 0 && strcmp(a.kpp, "770101001") == 0 &&
	   strcmp(a.query, "7701234560.770101001") == 0, "ИНН.КПП");
	ok(mailbox_addr_parse("7701234560.7701ab001@edo.local", d, &a) ==
	   MAILBOX_RES_OK && strcmp(a.kpp, "7701AB001") == 0,
	   "КПП letters upper-cased");
	ok(mailbox_addr_parse("2ED-5f0c2b1e-1111@edo.local", d, &a) ==
	   MAILBOX_RES_OK && a.kind == MAILBOX_ADDR_ID &&
	   strcmp(a.query, "2ED-5f0c2b1e-1111") == 0, "participant id");
	ok(mailbox_addr_parse("2ED-abc+encrypt@edo.local", d, &a) ==
	   MAILBOX_RES_OK && a.encrypt && strcmp(a.local, "2ED-abc") == 0,
	   "+encrypt on an id");
	ok(mailbox_addr_parse("7701234560+ENCRYPT@edo.local", d, &a) ==
	   MAILBOX_RES_OK && a.encrypt && a.kind == MAILBOX_ADDR_INN,
	   "+ENCRYPT on an ИНН");
	ok(mailbox_addr_parse("7701234560+secret@edo.local", d, &a) ==
	   MAILBOX_RES_BAD_SUBADDRESS, "unknown sub-address");
	ok(mailbox_addr_parse("7701234560@example.com", d, &a) ==
	   MAILBOX_RES_FOREIGN_DOMAIN, "other domain");
	ok(mailbox_addr_parse("7701234560@sub.edo.local", d, &a) ==
	   MAILBOX_RES_FOREIGN_DOMAIN, "subdomain is another domain");
	ok(mailbox_addr_parse("noatsign", d, &a) == MAILBOX_RES_FOREIGN_DOMAIN,
	   "no @");
	ok(mailbox_addr_parse("77012345@edo.local", d, &a) ==
	   MAILBOX_RES_BAD_ADDRESS, "8 digits: neither ИНН nor id");
	ok(mailbox_addr_parse("7701234560.77010100@edo.local", d, &a) ==
	   MAILBOX_RES_BAD_ADDRESS, "8-char КПП");
	ok(mailbox_addr_parse("a.b@edo.local", d, &a) == MAILBOX_RES_BAD_ADDRESS,
	   "dot in an id");
	ok(mailbox_addr_parse("\"x\"@edo.local", d, &a) ==
	   MAILBOX_RES_BAD_ADDRESS, "quoted local part");
	ok(mailbox_addr_parse("@edo.local", d, &a) == MAILBOX_RES_BAD_ADDRESS,
	   "empty local part");
	ok(mailbox_addr_parse("abc@edo.local", d, &a) == MAILBOX_RES_BAD_ADDRESS,
	   "too short for an id");
	memset(longid, 'A', 60);
	strcpy(longid + 60, "@edo.local");
	ok(mailbox_addr_parse(longid, d, &a) == MAILBOX_RES_BAD_ADDRESS,
	   "id longer than 46");
	mailbox_addr_of_box("2ED-x", "edo.local", out, sizeof(out));
	ok(strcmp(out, "2ED-x@edo.local") == 0, "address of a box");
}

/* ---- the world ---- */

static void setup(void)
{
	char *a_cert, *a_key, *b_cert, *b_key, *an_cert, *an_key, *bo_cert,
	     *bo_key;
	int64_t id;

	mbt_settings(&set, "ru");
	free(set.domain);
	set.domain = xstrdup(DOMAIN);
	mbt_edo_open(&set, &store, &core, &env, node_key);
	fx_make_cert("ООО «Ромашка»", "7707083893", NULL, NULL, &a_cert, &a_key);
	fx_make_cert("ООО «Лютик»", "7733012345", NULL, NULL, &b_cert, &b_key);
	fx_make_cert("ООО «Ромашка»", "7707083893", "Петрова", "Анна Сергеевна",
		     &an_cert, &an_key);
	fx_make_cert("ООО «Лютик»", "7733012345", "Борисов", "Борис",
		     &bo_cert, &bo_key);
	A = fx_register(core, "ООО «Ромашка»", "7707083893", "770701001", a_cert);
	B = fx_register(core, "ООО «Лютик»", "7733012345", "773301001", b_cert);
	X = fx_register(core, "АО «Чужая»", "6621001230", "662101001", NULL);
	mbt_org(store, &A, "Ромашка");
	mbt_org(store, &B, "Лютик");
	mbt_org(store, &X, "Чужая");
	id = mbt_user(store, "anna", "pw-anna");
	mbt_member(store, id, A.id, STORE_ACTIVE);
	fx_gw_cert(store, node_key, A.id, id, an_cert, an_key);
	id = mbt_user(store, "boris", "pw-boris");
	mbt_member(store, id, B.id, STORE_ACTIVE);
	fx_gw_cert(store, node_key, B.id, id, bo_cert, bo_key);
	/* vera may sign but has no certificate; rita only reads */
	mbt_member(store, mbt_user(store, "vera", "pw-vera"), A.id,
		   STORE_ACTIVE);
	id = mbt_user(store, "rita", "pw-rita");
	if (store_member_set(store, id, A.id, STORE_ROLE_READER,
			     STORE_ACTIVE) != STORE_OK)
		mbt_bail("member", "rita");
	anna = mbt_login(env, "anna", "pw-anna");
	boris = mbt_login(env, "boris", "pw-boris");
	vera = mbt_login(env, "vera", "pw-vera");
	rita = mbt_login(env, "rita", "pw-rita");
	if (anna == NULL || boris == NULL || vera == NULL || rita == NULL)
		mbt_bail("login", "a test user");
	free(a_cert);
	free(a_key);
	free(b_cert);
	free(b_key);
	free(an_cert);
	free(an_key);
	free(bo_cert);
	free(bo_key);
}

/* ---- a mail as a client writes it ---- */

struct mail {
	const char *from, *to, *subject, *msgid, *in_reply_to, *text;
	const char *attachment;		/* its bytes, or NULL */
	const char *att_name;
};

static char *mail_build(const struct mail *m, size_t *len_r)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
		   "Date: Sat, 05 Dec 2026 12:00:00 +0300\r\nMIME-Version: 1.0\r\n",
		   m->from, m->to, m->subject);
	if (m->msgid != NULL)
		buf_printf(&b, "Message-ID: <%s>\r\n", m->msgid);
	if (m->in_reply_to != NULL)
		buf_printf(&b, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n",
			   m->in_reply_to, m->in_reply_to);
	if (m->attachment == NULL) {
		buf_printf(&b, "Content-Type: text/plain; charset=utf-8\r\n"
			   "Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n",
			   m->text);
	} else {
		char *b64 = crypto_base64((const unsigned char *)m->attachment,
					  strlen(m->attachment));
		buf_printf(&b, "Content-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n"
			   "--zz\r\nContent-Type: text/plain; charset=utf-8\r\n"
			   "Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n"
			   "--zz\r\nContent-Type: application/octet-stream; "
			   "name=\"%s\"\r\nContent-Disposition: attachment; "
			   "filename=\"%s\"\r\nContent-Transfer-Encoding: base64"
			   "\r\n\r\n%s\r\n--zz--\r\n", m->text, m->att_name,
			   m->att_name, b64);
		free(b64);
	}
	return (char *)buf_steal(&b, len_r);
}

static char addr_a[128], addr_b[128], addr_x[128];

/* MAIL FROM, every RCPT TO and the mail, as SMTP would hand them over.
 * Returns the result class; *res keeps the details. */
static enum mailbox_result_class submit(struct mailbox_user *u,
					const struct mail *m,
					const char *const *rcpts,
					struct mailbox_result *res)
{
	struct mailbox_sender from;
	struct mailbox_recipient r[4];
	struct mailbox_submission sub;
	size_t n = 0, len;
	char *data;

	memset(&sub, 0, sizeof(sub));
	if (mailbox_sender_check(u, m->from, &from, res) < 0)
		return res->cls;
	for (; rcpts[n] != NULL; n++) {
		if (mailbox_recipient_check(u, &from, rcpts[n], &r[n], res) < 0)
			return res->cls;
	}
	data = mail_build(m, &len);
	sub.from = &from;
	sub.rcpts = r;
	sub.n_rcpts = n;
	sub.data = (unsigned char *)data;
	sub.len = len;
	(void)mailbox_submit(u, &sub, res);
	free(data);
	if (res->cls != MAILBOX_RES_OK)
		printf("# %s\n", res->text);
	return res->cls;
}

static int has(const char *text, const char *part)
{
	return strstr(text, part) != NULL;
}

/* ---- MAIL FROM and RCPT TO ---- */

static void test_sender(void)
{
	struct mailbox_sender s;
	struct mailbox_result res;

	ok(mailbox_sender_check(anna, addr_a, &s, &res) == 0 &&
	   res.cls == MAILBOX_RES_OK && strcmp(s.org.id, A.id) == 0,
	   "anna sends as Ромашка");
	ok(mailbox_sender_check(anna, addr_b, &s, &res) < 0 &&
	   res.cls == MAILBOX_RES_NOT_YOURS, "not as Лютик: %s", res.text);
	ok(mailbox_sender_check(anna, "7707083893@example.com", &s, &res) < 0 &&
	   res.cls == MAILBOX_RES_NOT_YOURS, "not from another domain");
	/* a reader passes MAIL FROM (packet@ serves readers too) and is
	 * refused at RCPT for a counteragent, with the reason */
	ok(mailbox_sender_check(rita, addr_a, &s, &res) == 0 && !s.may_sign,
	   "a reader's MAIL FROM passes, without the signing right");
	{
		struct mailbox_recipient r;

		ok(mailbox_recipient_check(rita, &s, addr_b, &r, &res) < 0 &&
		   res.cls == MAILBOX_RES_REFUSED &&
		   has(res.text, "права подписи") &&
		   has(res.text, "signing right"),
		   "a reader may not send to a counteragent: %s", res.text);
		ok(mailbox_recipient_check(rita, &s, "packet@" DOMAIN, &r,
					   &res) == 0 &&
		   r.gateway == MAILBOX_GW_PACKET,
		   "a reader may ask packet@ for a packet");
	}
}

static void test_recipient(void)
{
	struct mailbox_sender s;
	struct mailbox_recipient r;
	struct mailbox_result res;

	(void)mailbox_sender_check(anna, addr_a, &s, &res);
	ok(mailbox_recipient_check(anna, &s, addr_b, &r, &res) == 0 &&
	   r.relation == MAILBOX_REL_NONE && has(res.text, "приглашением"),
	   "Лютик: not a counteragent yet, an invitation");
	ok(mailbox_recipient_check(anna, &s, "7733012346@" DOMAIN, &r, &res) < 0 &&
	   res.cls == MAILBOX_RES_BAD_ADDRESS, "wrong ИНН check digit");
	ok(mailbox_recipient_check(anna, &s, "7736050003@" DOMAIN, &r, &res) < 0 &&
	   res.cls == MAILBOX_RES_NO_SUCH, "no such subscriber");
	ok(mailbox_recipient_check(anna, &s, "7733012345@mail.ru", &r, &res) < 0 &&
	   res.cls == MAILBOX_RES_FOREIGN_DOMAIN, "not an EDO address");
	ok(mailbox_recipient_check(anna, &s, "7733012345+x@" DOMAIN, &r, &res) < 0 &&
	   res.cls == MAILBOX_RES_BAD_SUBADDRESS, "unknown +tag");
	ok(mailbox_recipient_check(anna, &s, addr_a, &r, &res) < 0 &&
	   res.cls == MAILBOX_RES_REFUSED, "not to the own organization");
	ok(mailbox_recipient_check(anna, &s, "7733012345+encrypt@" DOMAIN, &r,
				   &res) < 0 && res.cls == MAILBOX_RES_REFUSED,
	   "an invitation is not encrypted");
}

/* ---- the actions ---- */

static char inv_id[MAILBOX_UUID_LEN], letter_id[MAILBOX_UUID_LEN];

static void test_invite_accept(void)
{
	const char *to_b[] = { addr_b, NULL }, *to_a[] = { addr_a, NULL };
	struct mailbox_result res;
	struct mail m = { addr_a, addr_b, "Приглашение", "inv-1@client",
			  NULL, "Предлагаем обмен документами", NULL, NULL };
	char ref[128];

	ok(submit(anna, &m, to_b, &res) == MAILBOX_RES_OK &&
	   res.n_rcpts == 1 && res.rcpts[0].action == MAILBOX_ACT_INVITE &&
	   res.rcpts[0].id[0] != '\0', "a letter to a stranger: invitation");
	snprintf(inv_id, sizeof(inv_id), "%s", res.rcpts[0].id);
	mailbox_result_clear(&res);
	ok(submit(anna, &m, to_b, &res) == MAILBOX_RES_REFUSED &&
	   has(res.text, "не ответил"), "no second invitation while waiting");
	mailbox_result_clear(&res);

	snprintf(ref, sizeof(ref), "%s@%s", inv_id, DOMAIN);
	struct mail ans = { addr_b, addr_a, "Re: Приглашение", "ans-1@client",
			    ref, "Непонятно", NULL, NULL };
	ok(submit(boris, &ans, to_a, &res) == MAILBOX_RES_BAD_MESSAGE &&
	   has(res.text, "Принять"), "an answer that is no decision: %s",
	   res.text);
	mailbox_result_clear(&res);
	ans.text = "Принять, спасибо";
	ok(submit(boris, &ans, to_a, &res) == MAILBOX_RES_OK &&
	   res.rcpts[0].action == MAILBOX_ACT_ACCEPT, "Принять: accepted");
	mailbox_result_clear(&res);
	ok(submit(boris, &ans, to_a, &res) == MAILBOX_RES_OK &&
	   res.rcpts[0].action == MAILBOX_ACT_NOOP,
	   "the same answer again changes nothing");
	mailbox_result_clear(&res);
}

static void test_reject(void)
{
	struct core_error err = { 0 };
	const char *to_x[] = { addr_x, NULL };
	struct mailbox_result res;
	char id[CORE_UUID_LEN], ref[128];

	ok(core_invite(core, X.id, A.id, "Давайте работать", NULL, id, &err) == 0,
	   "Чужая invites Ромашка");
	snprintf(ref, sizeof(ref), "%s@%s", id, DOMAIN);
	struct mail m = { addr_a, addr_x, "Re: приглашение", "rej-1@client",
			  ref, "Отклонить: не знаем вас", NULL, NULL };
	ok(submit(anna, &m, to_x, &res) == MAILBOX_RES_OK &&
	   res.rcpts[0].action == MAILBOX_ACT_REJECT, "Отклонить: declined");
	mailbox_result_clear(&res);
}

/* The letter just submitted renders without checking its signature
 * again (the submission noted the report), and byte for byte as with a
 * check: the same rendering with an empty verification cache. */
static void test_letter_noted(void)
{
	struct crypto_verify_cache *noted = env->verify_cache;
	struct mb_party_cache *parties = mb_party_cache_new();
	struct mailbox_error err = { 0 };
	struct mb_rendered r1, r2;
	unsigned long f0, c0, f1, c1, f2, c2;

	crypto_verify_cache_counts(noted, &f0, &c0);
	if (mb_render_message(env, 0, B.id, letter_id, 0, parties, &r1,
			      &err) < 0)
		mbt_bail("render", err.msg);
	crypto_verify_cache_counts(noted, &f1, &c1);
	ok(f1 == f0 + 1 && c1 == c0,
	   "the rendering finds the submission's report, no check "
	   "(found %lu->%lu, checked %lu->%lu)", f0, f1, c0, c1);
	env->verify_cache = crypto_verify_cache_new();
	if (mb_render_message(env, 0, B.id, letter_id, 0, parties, &r2,
			      &err) < 0)
		mbt_bail("render", err.msg);
	crypto_verify_cache_counts(env->verify_cache, &f2, &c2);
	ok(c2 == 1 && r1.len == r2.len &&
	   memcmp(r1.data, r2.data, r1.len) == 0,
	   "a rendering with a check is the same, byte for byte (%zu, %zu)",
	   r1.len, r2.len);
	crypto_verify_cache_free(&env->verify_cache);
	env->verify_cache = noted;
	mb_rendered_clear(&r1);
	mb_rendered_clear(&r2);
	mb_party_cache_free(&parties);
}

static void test_letter(void)
{
	const char *to_b[] = { addr_b, NULL };
	struct mailbox_result res;
	struct mail m = { addr_a, addr_b, "Договор", "letter-1@client", NULL,
			  "Добрый день, договор во вложении", DOC, "dogovor.txt" };
	struct core_message *msg = NULL;
	struct core_error err = { 0 };

	ok(submit(anna, &m, to_b, &res) == MAILBOX_RES_OK &&
	   res.rcpts[0].action == MAILBOX_ACT_LETTER &&
	   res.rcpts[0].documents == 1 && !res.rcpts[0].encrypted,
	   "a letter with a document: %s", res.text);
	snprintf(letter_id, sizeof(letter_id), "%s", res.rcpts[0].id);
	mailbox_result_clear(&res);
	int docs = 0, sigs = 0;
	if (core_get_message(core, B.id, letter_id, &msg, &err) == 0) {
		for (size_t i = 0; i < msg->n_entities; i++) {
			const struct core_entity *e = &msg->entities[i];
			docs += e->kind == CORE_ENT_ATTACHMENT &&
				e->len == strlen(DOC) &&
				memcmp(e->data, DOC, e->len) == 0;
			sigs += e->kind == CORE_ENT_SIGNATURE &&
				strcmp(e->signer_box, A.id) == 0;
		}
	}
	ok(docs == 1 && sigs == 1,
	   "Лютик has the document and Ромашка's signature");
	core_message_free(&msg);
	test_letter_noted();
	ok(submit(anna, &m, to_b, &res) == MAILBOX_RES_OK &&
	   res.rcpts[0].action == MAILBOX_ACT_DUPLICATE &&
	   strcmp(res.rcpts[0].id, letter_id) == 0,
	   "the client's retry is the same message, not a second one");
	mailbox_result_clear(&res);

	m.subject = "[шифр] Секретный договор";
	m.msgid = "letter-2@client";
	ok(submit(anna, &m, to_b, &res) == MAILBOX_RES_OK &&
	   res.rcpts[0].encrypted, "[шифр] encrypts");
	mailbox_result_clear(&res);

	m.msgid = "letter-3@client";
	ok(submit(vera, &m, to_b, &res) == MAILBOX_RES_REFUSED &&
	   has(res.text, "нет сертификата") &&
	   has(res.text, "ничего не отправлено") &&
	   has(res.text, "nothing was sent"), "no certificate: %s", res.text);
	mailbox_result_clear(&res);

	ok(mailbox_submit(anna, &(struct mailbox_submission){ 0 }, &res) < 0 &&
	   res.cls == MAILBOX_RES_BAD_MESSAGE, "an empty submission");
	mailbox_result_clear(&res);
}

/* From names another organization than the envelope. */
static void test_from_mismatch(void)
{
	struct mailbox_sender s;
	struct mailbox_recipient r;
	struct mailbox_result res;
	struct mailbox_submission sub;
	struct mail m = { addr_b, addr_b, "Договор", "from-1@client", NULL,
			  "текст", NULL, NULL };
	size_t len;
	char *data = mail_build(&m, &len);

	(void)mailbox_sender_check(anna, addr_a, &s, &res);
	(void)mailbox_recipient_check(anna, &s, addr_b, &r, &res);
	sub = (struct mailbox_submission){ &s, &r, 1,
					   (unsigned char *)data, len, 0 };
	ok(mailbox_submit(anna, &sub, &res) < 0 &&
	   res.cls == MAILBOX_RES_NOT_YOURS && has(res.text, "From"),
	   "From of another organization refused");
	free(data);
	mailbox_result_clear(&res);
}

static void test_answer_resign(void)
{
	const char *to_a[] = { addr_a, NULL };
	struct mailbox_result res;
	char ref[128];

	snprintf(ref, sizeof(ref), "%s@%s", letter_id, DOMAIN);
	struct mail ans = { addr_b, addr_a, "Re: Договор", "answer-1@client",
			    ref, "Получили, спасибо", NULL, NULL };
	ok(submit(boris, &ans, to_a, &res) == MAILBOX_RES_OK &&
	   res.rcpts[0].action == MAILBOX_ACT_ANSWER, "a reply: answer");
	mailbox_result_clear(&res);

	struct mail fwd = { addr_b, addr_a, "Fwd: Договор", "resign-1@client",
			    ref, "Подписали", DOC, "dogovor.txt" };
	ok(submit(boris, &fwd, to_a, &res) == MAILBOX_RES_OK &&
	   res.rcpts[0].action == MAILBOX_ACT_RESIGN &&
	   res.rcpts[0].documents == 1, "the document forwarded back: re-signed");
	mailbox_result_clear(&res);
}

/* Two recipients, one of which cannot take the mail: nothing is sent. */
static void test_all_or_none(void)
{
	const char *both[] = { addr_b, addr_x, NULL };
	struct mailbox_result res;
	struct core_error err = { 0 };
	char id[CORE_UUID_LEN];
	struct mail m = { addr_a, addr_b, "Два адресата", "both-1@client", NULL,
			  "Документ обоим", DOC, "dogovor.txt" };

	ok(submit(anna, &m, both, &res) == MAILBOX_RES_REFUSED &&
	   has(res.text, "приглашение не может содержать вложений"),
	   "a document to a non-counteragent refuses the whole mail");
	mailbox_result_clear(&res);
	ok(core_find_by_client_id(core, B.id, "both-1@client", id, &err) < 0,
	   "and Лютик got nothing either");
}

/* A copy as the client APPENDs it after sending: only its Message-ID
 * matters. */
static char *sent_copy(const char *from, const char *msgid, size_t *len_r)
{
	char *data = xasprintf("From: %s\r\nTo: someone@edo.local\r\n"
			       "Subject: copy\r\nMessage-ID: <%s>\r\n\r\n"
			       "the client's copy\r\n", from, msgid);
	*len_r = strlen(data);
	return data;
}

/* APPEND of the client's Sent copy of what user submitted as msgid:
 * absorbed (issue 11) -- OK, nothing added, the APPENDUID names a UID
 * that is gone at once (UIDNEXT moved past it). */
static void check_absorbed(struct mailbox_user *u, const char *msgid,
			   const char *what)
{
	struct mailbox_error err = { 0 };
	struct mailbox_status before, after;
	uint32_t uidv = 0, uid = 0;
	size_t len;
	char *data = sent_copy("x@edo.local", msgid, &len);

	ok(mailbox_user_sync(u, &err) == 0 &&
	   mailbox_folder_status(u, "Отправленные", &before, &err) == 0 &&
	   mailbox_append(u, "Отправленные", (unsigned char *)data, len,
			  MAILBOX_FLAG_SEEN, NULL, 0, &uidv, &uid, &err) == 0 &&
	   uid == before.uidnext &&
	   mailbox_folder_status(u, "Отправленные", &after, &err) == 0 &&
	   after.messages == before.messages &&
	   after.uidnext == before.uidnext + 1,
	   "the Sent copy of %s is absorbed: OK, APPENDUID %u of a gone UID, "
	   "no second message (%s)", what, uid, err.msg);
	free(data);
}

/* The client's Sent copy of every kind the gateway sends is absorbed
 * (never refused), also where it made no Sent item; a copy of something
 * never submitted is kept, marked $EDO_NotEDO. */
static void test_sent_absorbed(void)
{
	struct mailbox_error err = { 0 };
	struct mailbox_status before, after;
	uint32_t uidv = 0, uid = 0;
	size_t len;
	char *data;

	ok(mailbox_user_sync(anna, &err) == 0 &&
	   mailbox_sent_has(anna, "letter-1@client", &err) == 1,
	   "anna's Sent holds the submitted letter");
	check_absorbed(anna, "letter-1@client", "a letter");
	check_absorbed(anna, "inv-1@client", "an invitation");
	check_absorbed(boris, "ans-1@client", "an acceptance");
	check_absorbed(anna, "rej-1@client", "a refusal of an invitation");
	check_absorbed(boris, "answer-1@client", "an answer");
	check_absorbed(boris, "resign-1@client", "a re-sign");
	/* Another user's submission is not this user's. */
	data = sent_copy("x@edo.local", "ans-1@client", &len);
	ok(mailbox_folder_status(anna, "Отправленные", &before, &err) == 0 &&
	   mailbox_append(anna, "Отправленные", (unsigned char *)data, len, 0,
			  NULL, 0, &uidv, &uid, &err) == 0 && uid != 0 &&
	   mailbox_folder_status(anna, "Отправленные", &after, &err) == 0 &&
	   after.messages == before.messages + 1,
	   "a copy of what another user sent is kept as ordinary mail");
	free(data);
}

/* ---- signature requests (issue 13) ---- */

/* The state of the message's first document as box_id sees it, and the
 * number of its entities (*n_r), so that a refusal is seen to change
 * nothing. */
static enum core_doc_state doc_state(const char *box_id, const char *msg_id,
				     size_t *n_r)
{
	struct core_message *msg = NULL;
	struct core_error err = { 0 };
	enum core_doc_state st = CORE_DOC_PLAIN;
	size_t i;

	*n_r = 0;
	if (core_get_message(core, box_id, msg_id, &msg, &err) < 0)
		mbt_bail("get message", err.msg);
	for (i = 0; i < msg->n_entities; i++) {
		if (msg->entities[i].kind == CORE_ENT_ATTACHMENT) {
			st = core_doc_state(msg, msg->entities[i].id);
			break;
		}
	}
	*n_r = msg->n_entities;
	core_message_free(&msg);
	return st;
}

/* A reply of u (Ромашка) to the message msg_id of Лютик. */
static enum mailbox_result_class answer(struct mailbox_user *u,
					const char *msg_id,
					const char *msgid, const char *text,
					struct mailbox_result *res)
{
	const char *to_b[] = { addr_b, NULL };
	char ref[128];

	snprintf(ref, sizeof(ref), "%s@%s", msg_id, DOMAIN);
	struct mail m = { addr_a, addr_b, "Re: Акт", msgid, ref, text, NULL,
			  NULL };
	return submit(u, &m, to_b, res);
}

static void request(const char *subject, const char *msgid, char *id_r)
{
	const char *to_a[] = { addr_a, NULL };
	struct mailbox_result res;
	struct mail m = { addr_b, addr_a, subject, msgid, NULL,
			  "Прошу подписать", DOC, "akt.txt" };
	size_t n;

	ok(submit(boris, &m, to_a, &res) == MAILBOX_RES_OK &&
	   res.rcpts[0].action == MAILBOX_ACT_LETTER,
	   "%s: a letter: %s", subject, res.text);
	snprintf(id_r, MAILBOX_UUID_LEN, "%s", res.rcpts[0].id);
	mailbox_result_clear(&res);
	ok(doc_state(A.id, id_r, &n) == CORE_DOC_WAITING &&
	   doc_state(B.id, id_r, &n) == CORE_DOC_WAITING,
	   "%s: both sides see the document waiting", subject);
}

static void test_sign(void)
{
	struct mailbox_result res;
	char id[MAILBOX_UUID_LEN], id2[MAILBOX_UUID_LEN];
	size_t n0, n;

	request("[на подпись] Акт", "sign-req-1@client", id);
	(void)doc_state(A.id, id, &n0);

	/* a reply to a letter that requested nothing: Лютик got letter_id
	 * from Ромашка with no request */
	{
		const char *to_a[] = { addr_a, NULL };
		char ref[128];

		snprintf(ref, sizeof(ref), "%s@%s", letter_id, DOMAIN);
		struct mail m = { addr_b, addr_a, "Re: Договор", "sign-x@client",
				  ref, "Подписать", NULL, NULL };
		ok(submit(boris, &m, to_a, &res) == MAILBOX_RES_REFUSED &&
		   has(res.text, "не запрашивал") &&
		   has(res.text, "did not request"),
		   "«Подписать» to a letter without a request: %s", res.text);
		mailbox_result_clear(&res);
		ok(doc_state(B.id, letter_id, &n) == CORE_DOC_PLAIN,
		   "that letter is unchanged");
	}
	ok(answer(rita, id, "sign-r@client", "Подписать", &res) ==
	   MAILBOX_RES_REFUSED && has(res.text, "права подписи") &&
	   has(res.text, "signing right"),
	   "a reader's «Подписать»: %s", res.text);
	mailbox_result_clear(&res);
	ok(doc_state(A.id, id, &n) == CORE_DOC_WAITING && n == n0,
	   "nothing changed after the reader's try");
	ok(answer(anna, id, "sign-0@client", "Отказать", &res) ==
	   MAILBOX_RES_REFUSED && has(res.text, "причин") &&
	   has(res.text, "reason"),
	   "a refusal without a reason: %s", res.text);
	mailbox_result_clear(&res);
	ok(doc_state(A.id, id, &n) == CORE_DOC_WAITING && n == n0,
	   "nothing changed after the refusal without a reason");
	ok(answer(anna, id, "sign-1@client", "Подписать\n\nС уважением",
		  &res) == MAILBOX_RES_OK &&
	   res.rcpts[0].action == MAILBOX_ACT_SIGN, "«Подписать» signs: %s",
	   res.text);
	mailbox_result_clear(&res);
	ok(doc_state(A.id, id, &n) == CORE_DOC_SIGNED && n > n0 &&
	   doc_state(B.id, id, &n0) == CORE_DOC_SIGNED,
	   "signed on both sides");
	(void)doc_state(A.id, id, &n0);
	ok(answer(anna, id, "sign-2@client", "Подписываю", &res) ==
	   MAILBOX_RES_REFUSED && has(res.text, "уже подписан") &&
	   has(res.text, "already signed"),
	   "signing twice: %s", res.text);
	mailbox_result_clear(&res);
	ok(doc_state(A.id, id, &n) == CORE_DOC_SIGNED && n == n0,
	   "nothing added by the second «Подписать»");

	request("[sign] Акт 2", "sign-req-2@client", id2);
	ok(answer(anna, id2, "sign-3@client", "Отказать: неверная сумма",
		  &res) == MAILBOX_RES_OK &&
	   res.rcpts[0].action == MAILBOX_ACT_REFUSE, "refused with a reason: %s",
	   res.text);
	mailbox_result_clear(&res);
	ok(doc_state(B.id, id2, &n0) == CORE_DOC_REFUSED, "refused");
	ok(answer(anna, id2, "sign-4@client", "Sign", &res) ==
	   MAILBOX_RES_REFUSED && has(res.text, "отказано") &&
	   has(res.text, "refused"),
	   "«Sign» after the refusal: %s", res.text);
	mailbox_result_clear(&res);
	ok(doc_state(B.id, id2, &n) == CORE_DOC_REFUSED && n == n0,
	   "nothing changed after it");
}

int main(void)
{
	test_addr();
	setup();
	mailbox_addr_of_box(A.id, DOMAIN, addr_a, sizeof(addr_a));
	mailbox_addr_of_box(B.id, DOMAIN, addr_b, sizeof(addr_b));
	mailbox_addr_of_box(X.id, DOMAIN, addr_x, sizeof(addr_x));
	test_sender();
	test_recipient();
	test_invite_accept();
	test_reject();
	test_letter();
	test_from_mismatch();
	test_answer_resign();
	test_all_or_none();
	test_sent_absorbed();
	test_sign();
	mailbox_user_free(&anna);
	mailbox_user_free(&boris);
	mailbox_user_free(&vera);
	mailbox_user_free(&rita);
	mbt_edo_close(&set, &store, &core, &env);
	return mbt_done();
}
