/* «Сохранить пакет» (issue 13 item 6): the packet builder and the
 * gateway's packet@<domain>, without a socket.  A letter with a document
 * goes from Ромашка to Лютик, Лютик's side posts its receipt; the packet
 * is opened with libzip: the document under its name, its signature as
 * .sig verifying over it, the operator's confirmation and the receipt with
 * their .sig in Квитанции/, the report and the summary.  Then packet@:
 * an answer to the item gets a packet letter in INBOX; another
 * organization's item, or none, is refused; a letter to a counteragent
 * starting with «Пакет» stays a letter. */
#include "mb-test.h"
#include "../edo-fixtures.h"

#include <zip.h>

#include "mailbox/mailbox-action.h"
#include "mailbox/mailbox-packet.h"

static struct settings set;
static struct store *store;
static struct core *core;
static struct mailbox_env *env;
static unsigned char node_key[CRYPTO_NODE_KEY_LEN];
static struct core_box A, B, X;
static struct mailbox_user *anna, *boris, *xena;
static char addr_a[128], addr_b[128], addr_x[128], letter_id[CORE_UUID_LEN];

#define DOMAIN "edo.local"
#define DOC "Акт сверки за ноябрь 2026"
#define DOC_NAME "Акт сверки.txt"

static void setup(void)
{
	char *a_cert, *a_key, *b_cert, *b_key, *an_cert, *an_key, *bo_cert,
	     *bo_key;
	struct core_error err = { 0 };
	char inv[CORE_UUID_LEN];
	int64_t id;

	mbt_settings(&set, "ru");
	free(set.domain);
	set.domain = xstrdup(DOMAIN);
	mbt_edo_open(&set, &store, &core, &env, node_key);
	fx_make_cert("ООО «Ромашка»", "7707083893", NULL, NULL, &a_cert, &a_key);
	fx_make_cert("ООО «Лютик»", "7733012345", NULL, NULL, &b_cert, &b_key);
	fx_make_cert("ООО «Ромашка»", "7707083893", "Петрова", "Анна",
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
	mbt_member(store, mbt_user(store, "xena", "pw-xena"), X.id,
		   STORE_ACTIVE);
	if (core_invite(core, A.id, B.id, "Давайте обмениваться", NULL, inv,
			&err) < 0 || core_accept(core, B.id, A.id, NULL, NULL,
						 &err) < 0)
		mbt_bail("counteragents", err.msg);
	anna = mbt_login(env, "anna", "pw-anna");
	boris = mbt_login(env, "boris", "pw-boris");
	xena = mbt_login(env, "xena", "pw-xena");
	if (anna == NULL || boris == NULL || xena == NULL)
		mbt_bail("login", "a test user");
	mailbox_addr_of_box(A.id, DOMAIN, addr_a, sizeof(addr_a));
	mailbox_addr_of_box(B.id, DOMAIN, addr_b, sizeof(addr_b));
	mailbox_addr_of_box(X.id, DOMAIN, addr_x, sizeof(addr_x));
	free(a_cert);
	free(a_key);
	free(b_cert);
	free(b_key);
	free(an_cert);
	free(an_key);
	free(bo_cert);
	free(bo_key);
}

/* A mail: headers (extra, CRLF-ended), a text and an optional document. */
static char *mail(const char *from, const char *to, const char *extra,
		  const char *text, int with_doc, size_t *len_r)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: =?UTF-8?B?"
		   "0JDQutGC?=\r\nDate: Sat, 05 Dec 2026 12:00:00 +0300\r\n"
		   "MIME-Version: 1.0\r\n%s", from, to, extra);
	if (!with_doc) {
		buf_printf(&b, "Content-Type: text/plain; charset=utf-8\r\n"
			   "Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n",
			   text);
	} else {
		char *b64 = crypto_base64((const unsigned char *)DOC,
					  strlen(DOC));

		buf_printf(&b, "Content-Type: multipart/mixed; boundary=\"zz\""
			   "\r\n\r\n--zz\r\nContent-Type: text/plain; "
			   "charset=utf-8\r\nContent-Transfer-Encoding: 8bit"
			   "\r\n\r\n%s\r\n--zz\r\nContent-Type: text/plain; "
			   "name*=utf-8''%%D0%%90%%D0%%BA%%D1%%82%%20%%D1%%81"
			   "%%D0%%B2%%D0%%B5%%D1%%80%%D0%%BA%%D0%%B8.txt\r\n"
			   "Content-Disposition: attachment; filename*=utf-8''"
			   "%%D0%%90%%D0%%BA%%D1%%82%%20%%D1%%81%%D0%%B2%%D0"
			   "%%B5%%D1%%80%%D0%%BA%%D0%%B8.txt\r\n"
			   "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n"
			   "--zz--\r\n", text, b64);
		free(b64);
	}
	return (char *)buf_steal(&b, len_r);
}

static enum mailbox_result_class submit(struct mailbox_user *u,
					const char *from,
					const char *const *rcpts,
					const char *data, size_t len,
					struct mailbox_result *res)
{
	struct mailbox_sender s;
	struct mailbox_recipient r[4];
	struct mailbox_submission sub;
	size_t n = 0;

	memset(&sub, 0, sizeof(sub));
	if (mailbox_sender_check(u, from, &s, res) < 0)
		return res->cls;
	for (; rcpts[n] != NULL; n++) {
		mailbox_result_clear(res);
		if (mailbox_recipient_check(u, &s, rcpts[n], &r[n], res) < 0)
			return res->cls;
	}
	mailbox_result_clear(res);
	sub.from = &s;
	sub.rcpts = r;
	sub.n_rcpts = n;
	sub.data = (const unsigned char *)data;
	sub.len = len;
	(void)mailbox_submit(u, &sub, res);
	if (res->cls != MAILBOX_RES_OK)
		printf("# %s\n", res->text);
	return res->cls;
}

/* One file of the ZIP (malloc'd), NULL when absent. */
static unsigned char *zip_get(zip_t *za, const char *name, size_t *len_r)
{
	zip_stat_t st;
	zip_file_t *f;
	unsigned char *d;

	if (zip_stat(za, name, ZIP_FL_ENC_UTF_8, &st) < 0 ||
	    (f = zip_fopen(za, name, ZIP_FL_ENC_UTF_8)) == NULL)
		return NULL;
	d = xmalloc(st.size + 1);
	if (zip_fread(f, d, st.size) != (zip_int64_t)st.size) {
		free(d);
		d = NULL;
	} else {
		d[st.size] = '\0';
		*len_r = st.size;
	}
	zip_fclose(f);
	return d;
}

static int verifies(zip_t *za, const char *doc, const char *sig)
{
	struct crypto_verify_report r;
	unsigned char *d, *s;
	size_t dl = 0, sl = 0;
	int ok = 0;

	d = zip_get(za, doc, &dl);
	s = zip_get(za, sig, &sl);
	memset(&r, 0, sizeof(r));
	if (d != NULL && s != NULL &&
	    crypto_verify_detached(d, dl, s, sl, &r) == 0)
		ok = r.valid;
	crypto_verify_report_clear(&r);
	free(d);
	free(s);
	return ok;
}

static zip_t *zip_of(const struct mailbox_packet *p)
{
	zip_error_t ze;
	zip_source_t *src;
	zip_t *za;

	zip_error_init(&ze);
	src = zip_source_buffer_create(p->zip, p->len, 0, &ze);
	za = src != NULL ? zip_open_from_source(src, ZIP_RDONLY, &ze) : NULL;
	if (za == NULL && src != NULL)
		zip_source_free(src);
	zip_error_fini(&ze);
	return za;
}

static void test_builder(void)
{
	const char *to_b[] = { addr_b, NULL };
	struct mailbox_result res = { 0 };
	struct mailbox_error err = { 0 };
	struct core_error cerr = { 0 };
	struct mailbox_packet p;
	char *data, *summary;
	size_t len, n_rc = 0, n_rc_sig = 0, slen = 0;
	zip_t *za;

	data = mail(addr_a, addr_b, "Message-ID: <akt-1@client>\r\n",
		    "Акт во вложении", 1, &len);
	ok(submit(anna, addr_a, to_b, data, len, &res) == MAILBOX_RES_OK &&
	   res.n_rcpts == 1, "the letter goes");
	snprintf(letter_id, sizeof(letter_id), "%s",
		 res.n_rcpts == 1 ? res.rcpts[0].id : "");
	mailbox_result_clear(&res);
	free(data);
	ok(core_send_receipts(core, B.id, &cerr) == 0, "Лютик's receipt");

	int made = mailbox_packet_export(env, A.id, 0, letter_id, 0, &p,
					 &err) == 0;
	ok(made && p.len > 0 && p.n_documents == 1 && p.n_signatures == 3 &&
	   p.n_receipts == 2, "the packet: 1 document, %zu signatures (the "
	   "document's, the receipt's, the confirmation's), %zu receipts",
	   p.n_signatures, p.n_receipts);
	za = zip_of(&p);
	ok(za != NULL, "a ZIP libzip opens");
	if (za == NULL)
		return;
	size_t dl = 0;
	unsigned char *d = zip_get(za, DOC_NAME, &dl);
	ok(d != NULL && dl == strlen(DOC) && memcmp(d, DOC, dl) == 0,
	   "the document under its original name, byte for byte");
	free(d);
	ok(verifies(za, DOC_NAME, DOC_NAME ".sig"),
	   "its .sig verifies over it");
	for (zip_int64_t i = 0; i < zip_get_num_entries(za, 0); i++) {
		const char *nm = zip_get_name(za, (zip_uint64_t)i,
					      ZIP_FL_ENC_UTF_8);
		char base[512];

		printf("# %s\n", nm);
		if (strncmp(nm, MAILBOX_PACKET_RECEIPTS,
			    strlen(MAILBOX_PACKET_RECEIPTS)) != 0)
			continue;
		if (strlen(nm) > 4 && strcmp(nm + strlen(nm) - 4, ".sig") == 0) {
			snprintf(base, sizeof(base), "%.*s",
				 (int)(strlen(nm) - 4), nm);
			n_rc_sig += verifies(za, base, nm);
		} else {
			n_rc++;
		}
	}
	ok(n_rc == 2 && n_rc_sig == 2, "Квитанции/: the confirmation and the "
	   "ИоП, each with a .sig that verifies (%zu, %zu)", n_rc, n_rc_sig);
	summary = (char *)zip_get(za, MAILBOX_PACKET_SUMMARY, &slen);
	ok(summary != NULL && strstr(summary, "ООО «Ромашка»") != NULL &&
	   strstr(summary, "ООО «Лютик»") != NULL &&
	   strstr(summary, DOC_NAME) != NULL &&
	   strstr(summary, "действительна") != NULL &&
	   strstr(summary, "valid") != NULL &&
	   strstr(summary, "Квитанции") != NULL,
	   "the summary says who, what, and the results in both languages");
	free(summary);
	summary = (char *)zip_get(za, MAILBOX_PACKET_REPORT, &slen);
	ok(summary != NULL && strstr(summary, "Петрова") != NULL,
	   "the signature report names the signer");
	free(summary);
	zip_discard(za);
	mailbox_packet_clear(&p);

	ok(mailbox_packet_export(env, X.id, 0, letter_id, 0, &p, &err) < 0,
	   "no packet of a message for a box that is no party: %s", err.msg);
	mailbox_packet_clear(&p);
}

static uint32_t inbox_count(struct mailbox_user *u)
{
	struct mailbox_error err = { 0 };

	(void)mailbox_user_sync(u, &err);
	return mbt_messages(u, "INBOX");
}

/* Packet letters of the letter in the user's INBOX. */
static uint32_t packets(struct mailbox_user *u)
{
	struct mailbox_error err = { 0 };
	struct mailbox_view *v = NULL;
	struct mailbox_status st;
	char name[128];
	uint32_t n = 0;

	(void)mailbox_user_sync(u, &err);
	snprintf(name, sizeof(name), "packet_%s.zip", letter_id);
	if (mailbox_view_open(u, "INBOX", 1, &v, &err) < 0)
		return 0;
	mailbox_view_status(v, &st);
	for (uint32_t i = 1; i <= st.messages; i++)
		n += mbt_msg_has(v, i, name);
	mailbox_view_close(&v);
	return n;
}

static void test_packet_address(void)
{
	const char *to_p[] = { "packet@" DOMAIN, NULL };
	const char *to_pb[] = { "PACKET@edo.local", addr_b, NULL };
	const char *to_b[] = { addr_b, NULL };
	struct mailbox_result res = { 0 };
	struct mailbox_view *v = NULL;
	struct mailbox_error err = { 0 };
	char *data, hdr[256];
	size_t len;
	uint32_t before;

	before = inbox_count(anna);
	snprintf(hdr, sizeof(hdr), "In-Reply-To: <%s@%s>\r\n", letter_id,
		 DOMAIN);
	data = mail(addr_a, "packet@" DOMAIN, hdr, "Пакет", 0, &len);
	ok(submit(anna, addr_a, to_p, data, len, &res) == MAILBOX_RES_OK &&
	   strstr(res.text, "packet") != NULL, "packet@ answers: %s",
	   res.text);
	mailbox_result_clear(&res);
	free(data);
	ok(inbox_count(anna) == before + 1, "a packet letter in INBOX");
	if (mailbox_view_open(anna, "INBOX", 1, &v, &err) == 0) {
		struct mailbox_status st;

		mailbox_view_status(v, &st);
		ok(mbt_msg_has(v, st.messages, "application/zip") &&
		   mbt_msg_has(v, st.messages, letter_id) &&
		   mbt_msg_has(v, st.messages, "In-Reply-To"),
		   "it carries the ZIP and answers the item");
		mailbox_view_close(&v);
	}

	/* Boris has the same letter in his INBOX: a forward as attachment */
	snprintf(hdr, sizeof(hdr), "X-Forwarded-Message-Id: <%s@%s>\r\n",
		 letter_id, DOMAIN);
	before = inbox_count(boris);
	data = mail(addr_b, "packet@" DOMAIN, hdr, "fw", 0, &len);
	ok(submit(boris, addr_b, to_p, data, len, &res) == MAILBOX_RES_OK,
	   "the recipient's side too (a forward)");
	mailbox_result_clear(&res);
	free(data);
	ok(inbox_count(boris) == before + 1, "Лютик's packet letter");

	/* another organization's item */
	snprintf(hdr, sizeof(hdr), "In-Reply-To: <%s@%s>\r\n", letter_id,
		 DOMAIN);
	data = mail(addr_x, "packet@" DOMAIN, hdr, "Пакет", 0, &len);
	ok(submit(xena, addr_x, to_p, data, len, &res) == MAILBOX_RES_REFUSED &&
	   strstr(res.text, "Не найден") != NULL &&
	   strstr(res.text, "no item") != NULL,
	   "another organization's item is refused: %s", res.text);
	mailbox_result_clear(&res);
	free(data);
	data = mail(addr_a, "packet@" DOMAIN, "", "Пакет", 0, &len);
	ok(submit(anna, addr_a, to_p, data, len, &res) == MAILBOX_RES_REFUSED,
	   "no item named: refused");
	mailbox_result_clear(&res);
	free(data);

	/* «Пакет» to a counteragent is a letter */
	data = mail(addr_a, addr_b, "Message-ID: <paket-2@client>\r\n",
		    "Пакет документов пришлём завтра", 0, &len);
	ok(submit(anna, addr_a, to_b, data, len, &res) == MAILBOX_RES_OK &&
	   res.n_rcpts == 1 && res.rcpts[0].action == MAILBOX_ACT_LETTER,
	   "«Пакет…» to a counteragent is an ordinary letter");
	mailbox_result_clear(&res);
	free(data);

	/* packet@ and a counteragent in one mail: both */
	before = packets(anna);
	snprintf(hdr, sizeof(hdr), "Message-ID: <both-3@client>\r\n"
		 "In-Reply-To: <%s@%s>\r\n", letter_id, DOMAIN);
	data = mail(addr_a, addr_b, hdr, "Ответ", 0, &len);
	ok(submit(anna, addr_a, to_pb, data, len, &res) == MAILBOX_RES_OK &&
	   res.n_rcpts == 1 && res.rcpts[0].action == MAILBOX_ACT_ANSWER,
	   "packet@ beside a counteragent: the answer goes");
	mailbox_result_clear(&res);
	free(data);
	ok(packets(anna) == before + 1, "and the packet comes");
}

int main(void)
{
	setup();
	test_builder();
	test_packet_address();
	mailbox_user_free(&anna);
	mailbox_user_free(&boris);
	mailbox_user_free(&xena);
	mbt_edo_close(&set, &store, &core, &env);
	return mbt_done();
}
