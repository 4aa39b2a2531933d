/* The EDO side of the mailbox with the real core and embedded operator on
 * a temporary SQLite file: sync turns invitations, answers, messages and
 * their delivery/receipt/confirmation events into items and keywords
 * exactly once; moves to the archive and the trash act at the operator;
 * a client's Sent copy is recognised; encrypted messages are shown
 * decrypted; a re-signed message shows every signature; IDLE is woken. */
#include "mb-test.h"
#include "../edo-fixtures.h"

#include "operator/operator.h"
/* Only to put a FAILED event in a log: the operator has no failure to
 * report in these flows yet. */
#include "operator/op-private.h"
/* test_sync_no_wait holds the env's sync lock as a worker's sync would */
#include "mailbox/mailbox-private.h"
/* test_encrypted looks at the stored bytes (issue 14: sealed) */
#include "store/store-sql.h"
#include <sqlite3.h>

#include <pthread.h>
#include <time.h>
#include <unistd.h>

static struct settings set;
static struct store *store;
static struct core *core;
static struct mailbox_env *env;
static unsigned char node_key[CRYPTO_NODE_KEY_LEN];
static struct core_box A, B, X;
static char *a_cert, *a_key, *b_cert, *b_key;
static char ab_msg[CORE_UUID_LEN];

/* "<name>: <id@edo.local>": the Sent item of an EDO message carries the
 * message's own Message-ID (not the client's), and notices and answers
 * point at it.  Two buffers: two such headers in one ok(). */
static const char *edo_hdr(const char *name, const char *id)
{
	static char buf[2][160];
	static int k;

	k = !k;
	snprintf(buf[k], sizeof(buf[k]), "%s: <%s@edo.local>", name, id);
	return buf[k];
}

#define CLIENT_ID "20261125.abc@mail.example"

/* Set: the text is encrypted to the sender alone (a letter the recipient
 * can open only in part). */
static int text_to_sender_only;

/* A letter from->to with one signed document (encrypted to both parties'
 * certificates when enc_to is given). */
static int send_doc(const char *from, const char *to, enum core_msg_kind kind,
		    const char *reply_to, const char *client_id,
		    const char *cert, const char *key, const char *doc,
		    const char *enc_to, char id_r[CORE_UUID_LEN])
{
	struct core_error err = { 0 };
	struct core_entity ents[3];
	struct core_message msg;
	const char *pems[2];
	char *cerr = NULL;
	size_t i;
	int ret;

	memset(&msg, 0, sizeof(msg));
	memset(ents, 0, sizeof(ents));
	msg.kind = kind;
	snprintf(msg.from_box, sizeof(msg.from_box), "%s", from);
	snprintf(msg.to_box, sizeof(msg.to_box), "%s", to);
	snprintf(msg.reply_to, sizeof(msg.reply_to), "%s",
		 reply_to != NULL ? reply_to : "");
	msg.subject = "Documents for November";
	msg.client_message_id = (char *)client_id;
	msg.sender_name = "Anna Petrova";
	util_uuid(ents[0].id);
	ents[0].kind = CORE_ENT_ATTACHMENT;
	ents[0].file_name = "contract.pdf";
	ents[0].data = (unsigned char *)doc;
	ents[0].len = strlen(doc);
	ents[1].kind = CORE_ENT_SIGNATURE;
	snprintf(ents[1].parent_id, sizeof(ents[1].parent_id), "%s", ents[0].id);
	ents[1].file_name = "contract.pdf.sig";
	fx_sign(cert, key, doc, &ents[1].data, &ents[1].len);
	msg.entities = ents;
	msg.n_entities = 2;
	if (enc_to == NULL) {
		msg.text = "Good afternoon, the documents are attached.";
	} else {
		/* Document and text encrypted to the recipient and to us. */
		pems[0] = enc_to;
		pems[1] = cert;
		msg.encrypted = 1;
		if (crypto_encrypt(pems, 2, ents[0].data, ents[0].len,
				   &ents[0].data, &ents[0].len, &cerr) < 0)
			mbt_bail("encrypt", cerr);
		ents[0].encrypted = 1;
		ents[2].kind = CORE_ENT_TEXT;
		ents[2].file_name = "text.txt";
		if (crypto_encrypt(text_to_sender_only ? pems + 1 : pems,
				   text_to_sender_only ? 1 : 2,
				   (const unsigned char *)"Secret plan 42",
				   14, &ents[2].data, &ents[2].len, &cerr) < 0)
			mbt_bail("encrypt", cerr);
		ents[2].encrypted = 1;
		msg.n_entities = 3;
	}
	ret = core_send_message(core, &msg, NULL, id_r, &err);
	if (ret < 0)
		printf("# send: %s\n", err.msg);
	free(ents[1].data);
	if (enc_to != NULL) {
		free(ents[0].data);
		free(ents[2].data);
	}
	for (i = 0; i < 3; i++)
		(void)ents[i];
	return ret;
}

static int sync_user(struct mailbox_user *u)
{
	struct mailbox_error err = { 0 };

	if (mailbox_user_sync(u, &err) < 0) {
		printf("# sync: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static struct mailbox_view *view(struct mailbox_user *u, const char *name)
{
	struct mailbox_error err = { 0 };
	struct mailbox_view *v = NULL;

	if (mailbox_view_open(u, name, 0, &v, &err) < 0)
		printf("# select %s: %s\n", name, err.msg);
	return v;
}

/* Keyword kw on message seq of the folder (a fresh view). */
static int has_kw(struct mailbox_user *u, const char *folder, uint32_t seq,
		  const char *kw)
{
	struct mailbox_view *v = view(u, folder);
	const struct mailbox_msg *m;
	int found;

	if (v == NULL)
		return 0;
	m = mailbox_view_msg(v, seq);
	found = m != NULL && strstr(m->keywords, kw) != NULL;
	if (!found && m != NULL)
		printf("# %s %u keywords: \"%s\"\n", folder, seq, m->keywords);
	mailbox_view_close(&v);
	return found;
}

static int folder_has(struct mailbox_user *u, const char *folder,
		      uint32_t seq, const char *needle)
{
	struct mailbox_view *v = view(u, folder);
	int found = v != NULL && mbt_msg_has(v, seq, needle);

	mailbox_view_close(&v);
	return found;
}

/* How many XML files named prefix* a notice in INBOX carries, each with
 * its prefix*.xml.sig; -1 when an XML has no .sig. */
static int notice_files(struct mailbox_user *u, uint32_t seq,
			const char *prefix)
{
	struct mailbox_view *v = view(u, "INBOX");
	struct mailbox_error err = { 0 };
	unsigned char *data = NULL;
	const char *p, *end;
	size_t len = 0;
	int xml = 0, sig = 0;

	if (v == NULL || mailbox_msg_data(v, seq, &data, &len, &err) < 0) {
		mailbox_view_close(&v);
		return -1;
	}
	mailbox_view_close(&v);
	data = realloc(data, len + 1);
	data[len] = '\0';
	for (p = (const char *)data; (p = strstr(p, "filename=")) != NULL; p++) {
		p += strlen("filename=");
		p += *p == '"';
		if (strncmp(p, prefix, strlen(prefix)) != 0)
			continue;
		end = strpbrk(p, "\"\r\n;");
		if (end == NULL)
			continue;
		if (end - p > 8 && strncmp(end - 8, ".xml.sig", 8) == 0)
			sig++;
		else if (end - p > 4 && strncmp(end - 4, ".xml", 4) == 0)
			xml++;
	}
	free(data);
	return xml == sig ? xml : -1;
}

/* The sequence number of the item showing an EDO message. */
static uint32_t seq_of_msg(struct mailbox_view *v, const char *msg_id)
{
	uint32_t i;

	/* the item itself, not a notice answering it */
	for (i = 1; v != NULL && i <= mailbox_view_count(v); i++) {
		if (mbt_msg_has(v, i, msg_id) &&
		    !mbt_msg_has(v, i, "X-EDO-Kind: notice"))
			return i;
	}
	return 0;
}

/* The items of a folder that are not notices: the recipient's INBOX also
 * holds the notices of its ПДПол and receipts (issue 13 item 5). */
static uint32_t letters(struct mailbox_user *u, const char *folder)
{
	struct mailbox_view *v = view(u, folder);
	uint32_t i, n = 0;

	for (i = 1; v != NULL && i <= mailbox_view_count(v); i++)
		n += !mbt_msg_has(v, i, "X-EDO-Kind: notice");
	mailbox_view_close(&v);
	return n;
}

/* The sequence number of EDO message msg_id's own item in folder (its
 * notices come after it). */
static uint32_t item_seq(struct mailbox_user *u, const char *folder,
			 const char *msg_id)
{
	struct mailbox_view *v = view(u, folder);
	uint32_t seq = seq_of_msg(v, msg_id);

	mailbox_view_close(&v);
	return seq;
}

static int is_archived(const char *box, const char *msg_id, int deleted)
{
	struct core_error err = { 0 };
	struct core_message *m = NULL;
	int v;

	if (core_get_message(core, box, msg_id, &m, &err) < 0)
		return -1;
	v = deleted ? m->deleted : m->archived;
	core_message_free(&m);
	return v;
}

static void setup(void)
{
	mbt_settings(&set, "ru");
	mbt_edo_open(&set, &store, &core, &env, node_key);
	fx_make_cert("Romashka", "7707083893", NULL, NULL, &a_cert, &a_key);
	fx_make_cert("Lyutik", "7733012345", NULL, NULL, &b_cert, &b_key);
	A = fx_register(core, "ООО «Ромашка»", "7707083893", "770701001",
			a_cert);
	B = fx_register(core, "ООО «Лютик»", "7733012345", "773301001", b_cert);
	X = fx_register(core, "АО «Чужая»", "6621001230", "662101001", NULL);
	mbt_org(store, &A, "Ромашка");
	mbt_org(store, &B, "Лютик");
	mbt_org(store, &X, "Чужая");
	fx_gw_cert(store, node_key, A.id, 0, a_cert, a_key);
	fx_gw_cert(store, node_key, B.id, 0, b_cert, b_key);
	mbt_member(store, mbt_user(store, "anna", "pw-anna"), A.id, STORE_ACTIVE);
	mbt_member(store, mbt_user(store, "boris", "pw-boris"), B.id, STORE_ACTIVE);
	{
		int64_t buh = mbt_user(store, "buh", "pw-buh");

		mbt_member(store, buh, A.id, STORE_ACTIVE);
		mbt_member(store, buh, B.id, STORE_ACTIVE);
	}
	mbt_member(store, mbt_user(store, "eve", "pw-eve"), X.id, STORE_ACTIVE);
}

static void test_invitation(struct mailbox_user *anna, struct mailbox_user *boris)
{
	struct core_error err = { 0 };
	char inv[CORE_UUID_LEN];

	ok(core_invite(core, A.id, B.id, "Предлагаем обмен документами", NULL,
		       inv, &err) == 0, "A invites B (%s)", err.msg);
	ok(sync_user(anna) == 0 && sync_user(boris) == 0, "both synced");
	ok(mbt_messages(anna, "Исходящие/Приглашения") == 1 &&
	   mbt_messages(boris, "Входящие/Приглашения") == 1 &&
	   mbt_messages(boris, "INBOX") == 0,
	   "the invitation: out at A, in at B");
	ok(folder_has(boris, "Входящие/Приглашения", 1,
		      "Предлагаем обмен документами") ||
	   folder_has(boris, "Входящие/Приглашения", 1, "X-EDO"),
	   "the incoming invitation is rendered");
	{
		struct mailbox_status st;
		struct mailbox_error merr = { 0 };

		ok(mailbox_folder_status(boris, "Входящие/Приглашения", &st,
					 &merr) == 0 && st.unseen == 1 &&
		   mailbox_folder_status(anna, "Исходящие/Приглашения", &st,
					 &merr) == 0 && st.unseen == 0,
		   "incoming unseen, outgoing \\Seen");
	}
	ok(sync_user(anna) == 0 && sync_user(boris) == 0 &&
	   mbt_messages(anna, "Исходящие/Приглашения") == 1 &&
	   mbt_messages(boris, "Входящие/Приглашения") == 1,
	   "a second sync adds nothing");
	ok(core_accept(core, B.id, A.id, "Согласны", NULL, &err) == 0, "B accepts");
	ok(sync_user(anna) == 0 && sync_user(boris) == 0, "synced");
	ok(has_kw(anna, "Исходящие/Приглашения", 1, "$EDO_Accepted") &&
	   has_kw(boris, "Входящие/Приглашения", 1, "$EDO_Accepted"),
	   "$EDO_Accepted on both invitation items");
	{
		char irt[160];

		snprintf(irt, sizeof(irt), "In-Reply-To: <%s@", inv);
		ok(mbt_messages(anna, "INBOX") == 1 &&
		   folder_has(anna, "INBOX", 1, "X-EDO-Kind: notice") &&
		   folder_has(anna, "INBOX", 1, irt) &&
		   folder_has(anna, "INBOX", 1, "References: <") &&
		   mbt_messages(boris, "INBOX") == 0,
		   "the inviter gets a notice letter answering its invitation "
		   "(issue 11), the invitee none");
	}
	ok(mbt_messages(anna, "Адресная книга") == 1 &&
	   mbt_messages(boris, "Адресная книга") == 1,
	   "a contact card in both address books");
	ok(folder_has(boris, "Адресная книга", 1, "vcard") ||
	   folder_has(boris, "Адресная книга", 1, "VCARD"),
	   "the card carries a vCard");
}

static void test_message(struct mailbox_user *anna, struct mailbox_user *boris)
{
	struct core_error err = { 0 };
	/* the notice of the accepted invitation is there already */
	uint32_t n0 = mbt_messages(anna, "INBOX"), n1 = n0 + 1, n2 = n0 + 2;

	ok(send_doc(A.id, B.id, CORE_MSG_LETTER, NULL, "<" CLIENT_ID ">", a_cert,
		    a_key, "%PDF-1.4 contract", NULL, ab_msg) == 0,
	   "A sends B a signed letter");
	ok(sync_user(anna) == 0 && sync_user(boris) == 0, "synced");
	ok(mbt_messages(anna, "Отправленные") == 1 &&
	   letters(boris, "INBOX") == 1, "Sent at A, INBOX at B");
	ok(folder_has(anna, "Отправленные", 1, edo_hdr("\nMessage-ID", ab_msg)) &&
	   folder_has(anna, "Отправленные", 1,
		      "X-EDO-Client-Message-ID: <" CLIENT_ID ">") &&
	   !folder_has(anna, "Отправленные", 1, "\nMessage-ID: <" CLIENT_ID),
	   "the Sent item carries the EDO message's Message-ID, the "
	   "client's in X-EDO-Client-Message-ID");
	ok(folder_has(boris, "INBOX", 1, ab_msg) &&
	   folder_has(boris, "INBOX", 1, "contract.pdf.sig") &&
	   folder_has(boris, "INBOX", 1, "X-EDO-Signatures: 1"),
	   "INBOX item: the EDO message with its signature");
	ok(folder_has(boris, "INBOX", 1, "Действительна"),
	   "the signature report says the signature is valid");
	ok(has_kw(anna, "Отправленные", 1, "$EDO_Delivered") &&
	   has_kw(anna, "Отправленные", 1, "$EDO_Confirmed"),
	   "Sent: $EDO_Delivered and $EDO_Confirmed");
	/* Delivery and the operator's confirmation came in the commit of
	 * the send: one notice, threaded to the Sent item, with the
	 * confirmation's XML and .sig. */
	ok(mbt_messages(anna, "INBOX") == n1 &&
	   folder_has(anna, "INBOX", n1, "X-EDO-Kind: notice") &&
	   folder_has(anna, "INBOX", n1, edo_hdr("In-Reply-To", ab_msg)) &&
	   folder_has(anna, "INBOX", n1, edo_hdr("References", ab_msg)),
	   "A's INBOX: a notice answering the Sent item");
	ok(folder_has(anna, "INBOX", n1, "доставлено в ящик получателя") &&
	   folder_has(anna, "INBOX", n1, "delivered to the recipient's box") &&
	   folder_has(anna, "INBOX", n1, "подтверждение оператора ЭДО") &&
	   folder_has(anna, "INBOX", n1, "ООО «Лютик»") &&
	   folder_has(anna, "INBOX", n1, "contract.pdf"),
	   "it says what happened, to whom and of which document");
	ok(notice_files(anna, n1, "DP_PDOTPR_") == 1 &&
	   notice_files(anna, n1, "DP_IZVPOL_") == 0,
	   "it carries the confirmation's XML and its .sig, no receipt yet");
	ok(folder_has(anna, "INBOX", n1, "подпись действительна") &&
	   folder_has(anna, "INBOX", n1, "the signature is valid"),
	   "and says that the operator's signature holds");
	/* The recipient is told of its own: the ПДПол, threaded to its
	 * item, with the XML and .sig; never the sender's ПДОтпр. */
	ok(mbt_messages(boris, "INBOX") == 2 &&
	   folder_has(boris, "INBOX", 2, "X-EDO-Kind: notice") &&
	   folder_has(boris, "INBOX", 2, edo_hdr("In-Reply-To", ab_msg)) &&
	   folder_has(boris, "INBOX", 2, "дате получения") &&
	   notice_files(boris, 2, "DP_PDPOL_") == 1 &&
	   notice_files(boris, 2, "DP_PDOTPR_") == 0 &&
	   notice_files(anna, n1, "DP_PDPOL_") == 0,
	   "the recipient gets a notice of its ПДПол, the sender none");
	ok(core_send_receipts(core, B.id, &err) == 0, "B posts its receipt");
	ok(sync_user(anna) == 0 && sync_user(boris) == 0, "synced");
	ok(has_kw(anna, "Отправленные", 1, "$EDO_Receipt") &&
	   has_kw(boris, "INBOX", 1, "$EDO_Receipt"),
	   "$EDO_Receipt on the Sent item and on the incoming one");
	ok(mbt_messages(anna, "INBOX") == n2 &&
	   folder_has(anna, "INBOX", n2, edo_hdr("In-Reply-To", ab_msg)) &&
	   folder_has(anna, "INBOX", n2, "извещение о получении (ИоП)") &&
	   !folder_has(anna, "INBOX", n2, "доставлено в ящик") &&
	   notice_files(anna, n2, "DP_IZVPOL_") == 1 &&
	   notice_files(anna, n2, "DP_PDOTPR_") == 0,
	   "the receipt, later: a second notice with the ИоП and its .sig");
	ok(mbt_messages(boris, "INBOX") == 3 &&
	   folder_has(boris, "INBOX", 3, edo_hdr("In-Reply-To", ab_msg)) &&
	   folder_has(boris, "INBOX", 3, "ваше извещение о получении") &&
	   folder_has(boris, "INBOX", 3, "подписал") &&
	   notice_files(boris, 3, "DP_IZVPOL_") == 1,
	   "B's own receipt: a notice that says who signed it");
	ok(sync_user(anna) == 0 && sync_user(boris) == 0 &&
	   mbt_messages(anna, "Отправленные") == 1 &&
	   mbt_messages(anna, "INBOX") == n2 &&
	   mbt_messages(boris, "INBOX") == 3, "syncing again: no duplicates");
}

/* The read hook (issue 13 item 5): a first \Seen on an incoming EDO
 * message calls it once with the item's box, user and message; a second
 * \Seen, a notice, a Sent item do not. */
struct read_calls {
	int n;
	char box[CORE_ID_MAX], msg[CORE_UUID_LEN];
	int64_t user;
};

static void read_hook(const char *box_id, int64_t user_id,
		      const char *edo_msg_id, void *ctx)
{
	struct read_calls *r = ctx;

	r->n++;
	snprintf(r->box, sizeof(r->box), "%s", box_id);
	snprintf(r->msg, sizeof(r->msg), "%s", edo_msg_id);
	r->user = user_id;
}

static void test_read_hook(struct mailbox_user *anna,
			   struct mailbox_user *boris)
{
	struct mailbox_error err = { 0 };
	struct read_calls r = { 0 };
	struct mailbox_view *v = view(boris, "INBOX");
	uint32_t seq = seq_of_msg(v, ab_msg), i;

	mailbox_env_set_read_hook(env, read_hook, &r);
	ok(v != NULL && seq != 0 &&
	   mailbox_store(v, seq, MAILBOX_STORE_ADD, MAILBOX_FLAG_SEEN, NULL,
			 &err) == 0 && r.n == 1 && strcmp(r.box, B.id) == 0 &&
	   strcmp(r.msg, ab_msg) == 0 && r.user == mailbox_user_id(boris),
	   "a first \\Seen of an incoming letter calls the read hook (%d)",
	   r.n);
	ok(mailbox_store(v, seq, MAILBOX_STORE_ADD, MAILBOX_FLAG_SEEN, NULL,
			 &err) == 0 && r.n == 1, "a second \\Seen does not");
	for (i = 1; v != NULL && i <= mailbox_view_count(v); i++) {
		if (mbt_msg_has(v, i, "X-EDO-Kind: notice"))
			(void)mailbox_store(v, i, MAILBOX_STORE_ADD,
					    MAILBOX_FLAG_SEEN, NULL, &err);
	}
	ok(r.n == 1, "nor reading the notices");
	(void)mailbox_store(v, seq, MAILBOX_STORE_REMOVE, MAILBOX_FLAG_SEEN,
			    NULL, &err);
	mailbox_view_close(&v);
	r.n = 0;
	v = view(anna, "Отправленные");
	ok(v != NULL && mailbox_store(v, 1, MAILBOX_STORE_REMOVE,
				      MAILBOX_FLAG_SEEN, NULL, &err) == 0 &&
	   mailbox_store(v, 1, MAILBOX_STORE_ADD, MAILBOX_FLAG_SEEN, NULL,
			 &err) == 0 && r.n == 0, "nor a Sent item");
	mailbox_view_close(&v);
	mailbox_env_set_read_hook(env, NULL, NULL);
}

/* The events of a letter that come while the sender does not look make
 * one notice; another member of the box gets the same one, rendered once. */
static void test_flow_grouped(struct mailbox_user *anna)
{
	struct mailbox_user *buh = mbt_login(env, "buh", "pw-buh");
	struct core_error err = { 0 };
	char id[CORE_UUID_LEN];
	uint32_t n, nb;

	if (buh == NULL)
		mbt_bail("login", "buh");
	/* the receipts of the earlier letters, and their notices, first */
	ok(core_send_receipts(core, B.id, &err) == 0 && sync_user(anna) == 0 &&
	   sync_user(buh) == 0, "synced before");
	n = mbt_messages(anna, "INBOX");
	nb = mbt_messages(buh, "Ромашка 7707083893/Входящие");
	ok(send_doc(A.id, B.id, CORE_MSG_LETTER, NULL, "grouped@mail.example",
		    a_cert, a_key, "%PDF grouped", NULL, id) == 0 &&
	   core_send_receipts(core, B.id, &err) == 0,
	   "a letter delivered, confirmed and answered by a receipt");
	ok(sync_user(anna) == 0 && mbt_messages(anna, "INBOX") == n + 1,
	   "one notice for the three");
	ok(folder_has(anna, "INBOX", n + 1, "доставлено в ящик") &&
	   folder_has(anna, "INBOX", n + 1, "подтверждение оператора") &&
	   folder_has(anna, "INBOX", n + 1, "извещение о получении") &&
	   folder_has(anna, "INBOX", n + 1, edo_hdr("In-Reply-To", id)) &&
	   notice_files(anna, n + 1, "DP_PDOTPR_") == 1 &&
	   notice_files(anna, n + 1, "DP_IZVPOL_") == 1,
	   "with both signed XML files and their signatures");
	ok(sync_user(buh) == 0 &&
	   (nb = mbt_messages(buh, "Ромашка 7707083893/Входящие")) > 0 &&
	   folder_has(buh, "Ромашка 7707083893/Входящие", nb,
		      edo_hdr("In-Reply-To", id)) &&
	   folder_has(buh, "Ромашка 7707083893/Входящие", nb,
		      "извещение о получении"),
	   "another member of the box gets it too");
	ok(sync_user(anna) == 0 && mbt_messages(anna, "INBOX") == n + 1,
	   "again: nothing new");
	mailbox_user_free(&buh);
}

static void test_sent_append(struct mailbox_user *anna)
{
	static const char copy[] =
		"From: anna@edo.local\r\nTo: lyutik@edo.local\r\n"
		"Subject: Documents for November\r\n"
		"Message-ID: <" CLIENT_ID ">\r\n\r\nGood afternoon\r\n";
	static const char copy2[] =
		"From: anna@edo.local\r\nSubject: second\r\n"
		"Message-ID: <second@mail.example>\r\n\r\nsecond\r\n";
	struct mailbox_error err = { 0 };
	struct mailbox_user *buh = mbt_login(env, "buh", "pw-buh");
	struct mailbox_view *v;
	char id[CORE_UUID_LEN];
	uint32_t uidv = 0, uid = 0;

	ok(mailbox_append(anna, "Отправленные", (const unsigned char *)copy,
			  strlen(copy), MAILBOX_FLAG_SEEN, NULL, 0, &uidv, &uid,
			  &err) == 0 && uid == 2 &&
	   mbt_messages(anna, "Отправленные") == 1,
	   "APPEND of the client's Sent copy: absorbed, APPENDUID of a UID "
	   "gone at once (%u), no duplicate", uid);
	ok(send_doc(A.id, B.id, CORE_MSG_LETTER, NULL, "second@mail.example",
		    a_cert, a_key, "%PDF second", NULL, id) == 0,
	   "another letter submitted, not synced yet");
	ok(mailbox_append(anna, "Отправленные", (const unsigned char *)copy2,
			  strlen(copy2), MAILBOX_FLAG_SEEN, NULL, 0, &uidv, &uid,
			  &err) == 0 && uid == 4 &&
	   mbt_messages(anna, "Отправленные") == 2,
	   "APPEND syncs first and finds it (uid %u, %s)", uid, err.msg);
	ok(buh != NULL && mailbox_append(buh, "Лютик 7733012345/Отправленные",
			  (const unsigned char *)copy2, strlen(copy2), 0, NULL,
			  0, &uidv, &uid, &err) == 0 && uid == 1 &&
	   mbt_messages(buh, "Лютик 7733012345/Отправленные") == 0 &&
	   mbt_messages(buh, "Ромашка 7707083893/Отправленные") == 2,
	   "a Sent copy is matched across the user's organizations (%s)",
	   err.msg);
	ok(mailbox_sent_has(anna, "<second@mail.example>", &err) == 1 &&
	   mailbox_sent_has(anna, "nope@x", &err) == 0, "mailbox_sent_has");
	v = view(anna, "Отправленные");
	ok(v != NULL && mailbox_view_count(v) == 2 &&
	   mailbox_view_seq_of_uid(v, 2) == 0 &&
	   mailbox_view_seq_of_uid(v, 4) == 0 &&
	   mailbox_view_seq_of_uid(v, 3) == 2, "Sent has 2: UIDs 1 and 3");
	mailbox_view_close(&v);
	mailbox_user_free(&buh);
}

static void test_archive(struct mailbox_user *boris)
{
	struct mailbox_error err = { 0 };
	struct mailbox_user *buh = mbt_login(env, "buh", "pw-buh");
	struct mailbox_view *v;
	uint32_t seq = 1, dv, *src = NULL, *dst = NULL;
	size_t n = 0;

	ok(sync_user(boris) == 0, "boris synced");
	v = view(boris, "INBOX");
	ok(v != NULL && letters(boris, "INBOX") == 2, "B's INBOX has 2");
	if (v == NULL)
		goto out;
	ok(sync_user(buh) == 0 &&
	   letters(buh, "Лютик 7733012345/Входящие") == 2,
	   "buh sees the same two in Лютик/Входящие");
	ok(mailbox_copy(v, &seq, 1, "Архив", 1, &dv, &src, &dst, &n, &err) == 0 &&
	   n == 1 && dst[0] == 1, "MOVE to Архив (%s)", err.msg);
	free(src);
	free(dst);
	ok(is_archived(B.id, ab_msg, 0) == 1 && is_archived(A.id, ab_msg, 0) == 0,
	   "archived at the operator for B only");
	ok(letters(boris, "INBOX") == 1 && mbt_messages(boris, "Архив") == 1,
	   "INBOX 1, Архив 1");
	ok(sync_user(boris) == 0 && letters(boris, "INBOX") == 1 &&
	   mbt_messages(boris, "Архив") == 1,
	   "the ARCHIVED event does not move it twice");
	ok(sync_user(buh) == 0 &&
	   letters(buh, "Лютик 7733012345/Входящие") == 1 &&
	   mbt_messages(buh, "Лютик 7733012345/Архив") == 1,
	   "another member of B sees it archived after sync");
	mailbox_view_close(&v);

	/* back from the archive: restored */
	v = view(boris, "Архив");
	ok(v != NULL && mailbox_copy(v, &seq, 1, "INBOX", 1, &dv, &src, &dst,
				     &n, &err) == 0 && n == 1,
	   "MOVE from Архив back to INBOX (%s)", err.msg);
	free(src);
	free(dst);
	ok(is_archived(B.id, ab_msg, 0) == 0 && letters(boris, "INBOX") == 2,
	   "restored at the operator and in INBOX");
	mailbox_view_close(&v);
	ok(sync_user(buh) == 0 &&
	   letters(buh, "Лютик 7733012345/Входящие") == 2,
	   "and back for the other member");

	/* \Deleted + EXPUNGE in INBOX: to the trash, deleted at the operator */
	v = view(boris, "INBOX");
	seq = seq_of_msg(v, ab_msg);
	ok(v != NULL && mailbox_copy(v, &seq, 1, "Отправленные", 1, &dv, &src,
				     &dst, &n, &err) < 0 &&
	   err.cls == MAILBOX_ERR_CANNOT, "an EDO message cannot go to Sent");
	ok(mailbox_copy(v, &seq, 1, "Адресная книга", 0, &dv, &src, &dst, &n,
			&err) < 0 && err.cls == MAILBOX_ERR_CANNOT,
	   "nor be copied into the address book");
	ok(seq != 0 &&
	   mailbox_store(v, seq, MAILBOX_STORE_ADD, MAILBOX_FLAG_DELETED, NULL,
			 &err) == 0 && mailbox_expunge(v, NULL, 0, &err) == 0,
	   "STORE \\Deleted and EXPUNGE the first message");
	ok(is_archived(B.id, ab_msg, 1) == 1 && mbt_messages(boris, "Корзина") == 1 &&
	   letters(boris, "INBOX") == 1,
	   "the last copy went to Корзина, deleted at the operator");
	mailbox_view_close(&v);
	v = view(boris, "Корзина");
	ok(v != NULL && mailbox_view_count(v) == 1 &&
	   !(mailbox_view_msg(v, 1)->flags & MAILBOX_FLAG_DELETED),
	   "in the trash without \\Deleted");
	seq = 1;
	ok(mailbox_copy(v, &seq, 1, "INBOX", 1, &dv, &src, &dst, &n, &err) == 0 &&
	   is_archived(B.id, ab_msg, 1) == 0 && letters(boris, "INBOX") == 2,
	   "MOVE from the trash restores");
	free(src);
	free(dst);
	mailbox_view_close(&v);
out:
	mailbox_user_free(&buh);
}

/* Outlook: COPY to the archive, then \Deleted + EXPUNGE of the source. */
static void test_copy_archive(struct mailbox_user *anna)
{
	struct mailbox_error err = { 0 };
	struct mailbox_view *v = view(anna, "Отправленные");
	uint32_t seq = 1, dv, *src = NULL, *dst = NULL;
	size_t n = 0;

	ok(mailbox_create(anna, "Архив/2025", &err) == 0, "create Архив/2025");
	ok(v != NULL && mailbox_copy(v, &seq, 1, "Архив/2025", 0, &dv, &src,
				     &dst, &n, &err) == 0 && n == 1,
	   "COPY of a Sent item into an archive subfolder (%s)", err.msg);
	free(src);
	free(dst);
	ok(is_archived(A.id, ab_msg, 0) == 1 &&
	   mbt_messages(anna, "Отправленные") == 2 &&
	   mbt_messages(anna, "Архив/2025") == 1,
	   "archived at the operator; the source stays until EXPUNGE");
	ok(sync_user(anna) == 0 && mbt_messages(anna, "Архив") == 0 &&
	   mbt_messages(anna, "Архив/2025") == 1,
	   "the ARCHIVED event finds it already in the archive");
	ok(mailbox_store(v, 1, MAILBOX_STORE_ADD, MAILBOX_FLAG_DELETED, NULL,
			 &err) == 0 && mailbox_expunge(v, NULL, 0, &err) == 0,
	   "source \\Deleted and EXPUNGE");
	ok(mbt_messages(anna, "Отправленные") == 1 &&
	   mbt_messages(anna, "Архив/2025") == 1 &&
	   mbt_messages(anna, "Корзина") == 0 &&
	   is_archived(A.id, ab_msg, 1) == 0,
	   "one item in the archive, nothing deleted at the operator");
	ok(has_kw(anna, "Архив/2025", 1, "$EDO_Receipt"),
	   "the archived copy keeps the operator's keywords");
	mailbox_view_close(&v);
	ok(mailbox_delete(anna, "Архив/2025", &err) == 0 &&
	   mbt_messages(anna, "Архив") == 1,
	   "deleting the folder keeps the EDO message in Архив");
}

static int wakeups;

/* CPU time of this thread: the notify and the refresh run on it, and what
 * they cost does not depend on how busy the machine is (wall time under
 * a loaded CI machine did: 120-151 ms were seen for the same work). */
static int64_t thread_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wake(void *ctx)
{
	(*(int *)ctx)++;
}

static void test_idle(struct mailbox_user *boris)
{
	struct mailbox_error err = { 0 };
	struct mailbox_view *v = view(boris, "INBOX");
	struct mailbox_changes ch;
	char id[CORE_UUID_LEN];
	int64_t t0;
	int rc;
	uint32_t before;

	if (v == NULL)
		return;
	before = mailbox_view_count(v);
	mailbox_view_set_notify(v, wake, &wakeups);
	ok(send_doc(A.id, B.id, CORE_MSG_LETTER, NULL, NULL, a_cert, a_key,
		    "%PDF third", NULL, id) == 0, "a new message for B");
	t0 = thread_cpu_ms();
	wakeups = 0;
	mailbox_env_notify_box(env, B.id);
	ok(wakeups == 1, "notify syncs and wakes the IDLE view (%d)", wakeups);
	/* Refresh first: an argument of ok() must not read what another
	 * argument fills (their order is unspecified). */
	rc = mailbox_view_refresh(v, 1, &ch, &err);
	/* the letter and the notice of its ПДПол */
	ok(rc == 0 && ch.exists_changed && ch.exists == before + 2,
	   "refresh: EXISTS %u", ch.exists);
	mailbox_changes_clear(&ch);
	ok(thread_cpu_ms() - t0 < 100, "within 100 ms of CPU (%lld ms)",
	   (long long)(thread_cpu_ms() - t0));
	wakeups = 0;
	mailbox_env_notify_box(env, B.id);
	ok(wakeups == 0, "nothing new: no wake-up");
	mailbox_view_close(&v);
}

/* Stored rows (renderings, shared parts) whose bytes contain needle. */
static int stored_has(const char *needle)
{
	sqlite3_stmt *st;
	int n = -1;

	store_lock(store);
	st = store_stmt(store, "SELECT (SELECT count(*) FROM mb_blobs WHERE "
			"instr(data, CAST(?1 AS BLOB)) > 0) + (SELECT count(*) "
			"FROM mb_parts WHERE instr(data, CAST(?1 AS BLOB)) > 0)");
	if (st != NULL) {
		sqlite3_bind_text(st, 1, needle, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int(st, 0);
	}
	store_unlock(store);
	return n;
}

static int64_t sql_id(const char *sql)
{
	sqlite3_stmt *st;
	int64_t id = -1;

	store_lock(store);
	st = store_stmt(store, sql);
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	store_unlock(store);
	return id;
}

/* B's rendering made clear again, as a version before migration 15
 * stored it; the daemon's start pass must seal it in place. */
static int unseal_as_old(int64_t id)
{
	unsigned char *d = NULL;
	size_t n = 0;
	sqlite3_stmt *st;
	int ret = -1;

	if (store_mb_blob_get(store, id, &d, &n) != STORE_OK)
		return -1;
	store_lock_write(store);
	st = store_stmt(store, "UPDATE mb_blobs SET data = ? WHERE id = ?");
	if (st != NULL) {
		sqlite3_bind_blob(st, 1, d, (int)n, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, id);
		if (sqlite3_step(st) == SQLITE_DONE)
			ret = 0;
	}
	st = store_stmt(store, "DELETE FROM mb_sealed_blobs WHERE blob_id = ?");
	if (ret == 0 && st != NULL) {
		sqlite3_bind_int64(st, 1, id);
		ret = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	}
	store_unlock(store);
	free(d);
	if (ret == 0)
		ret = store_kv_set(store, "mailbox.seal_pending", "1");
	return ret;
}

static void test_encrypted(struct mailbox_user *anna, struct mailbox_user *boris)
{
	char id[CORE_UUID_LEN];
	uint32_t n;

	ok(send_doc(A.id, B.id, CORE_MSG_LETTER, NULL, "enc@mail.example",
		    a_cert, a_key, "%PDF secret", b_cert, id) == 0,
	   "A sends B an encrypted letter");
	ok(sync_user(boris) == 0 && sync_user(anna) == 0, "synced");
	n = item_seq(boris, "INBOX", id);
	ok(folder_has(boris, "INBOX", n, "X-EDO-Encrypted: yes") &&
	   !folder_has(boris, "INBOX", n, "contract.pdf.p7m") &&
	   folder_has(boris, "INBOX", n, "Действительна"),
	   "B sees it decrypted, the signature verified over the clear document");
	ok(folder_has(boris, "INBOX", n, "U2VjcmV0IHBsYW4gNDI") ||
	   folder_has(boris, "INBOX", n, "Secret plan 42"),
	   "the decrypted text is the message text");
	ok(folder_has(anna, "Отправленные", mbt_messages(anna, "Отправленные"),
		      "Message-ID: <enc@mail.example>"), "the sender's Sent copy");

	/* Issue 14: nothing of it clear in the store. */
	ok(stored_has("Secret plan 42") == 0 &&
	   stored_has("U2VjcmV0IHBsYW4gNDI") == 0 &&
	   stored_has("JVBERiBzZWNyZXQ") == 0,
	   "no rendering or part holds the text or the document clear");
	int64_t blob = sql_id("SELECT b.id FROM mb_blobs b JOIN mb_sealed_blobs z "
			    "ON z.blob_id = b.id WHERE b.edo_key LIKE "
			    "'message:%:in:decrypted'");
	ok(blob > 0 && sql_id("SELECT count(*) FROM mb_blobs b WHERE b.edo_key "
			    "LIKE 'message:%:decrypted' AND NOT EXISTS (SELECT 1 "
			    "FROM mb_sealed_blobs z WHERE z.blob_id = b.id)") == 0,
	   "both renderings (INBOX and Sent) are sealed");
	ok(unseal_as_old(blob) == 0 && stored_has("JVBERiBzZWNyZXQ") > 0,
	   "B's rendering made clear, as an older version stored it");
	ok(mailbox_env_seal_pending(env) == 0 &&
	   stored_has("JVBERiBzZWNyZXQ") == 0 &&
	   sql_id("SELECT count(*) FROM mb_sealed_blobs WHERE blob_id = "
		  "(SELECT b.id FROM mb_blobs b WHERE b.edo_key LIKE "
		  "'message:%:in:decrypted')") == 1,
	   "the start pass seals it in place");
	ok(folder_has(boris, "INBOX", n, "X-EDO-Encrypted: yes") &&
	   (folder_has(boris, "INBOX", n, "U2VjcmV0IHBsYW4gNDI") ||
	    folder_has(boris, "INBOX", n, "Secret plan 42")),
	   "B still reads it decrypted");
	ok(mailbox_env_seal_pending(env) == 0, "a second start has nothing "
	   "to do");
}

/* Issue 14 item 3: B's keys open the document but not the text.  Shown
 * before: the document clear next to a text saying nothing could be
 * decrypted, in the rendering every member who cannot decrypt shares.
 * Now nothing is shown opened. */
static void test_encrypted_part(struct mailbox_user *boris)
{
	char id[CORE_UUID_LEN];
	uint32_t n;

	text_to_sender_only = 1;
	ok(send_doc(A.id, B.id, CORE_MSG_LETTER, NULL, "part@mail.example",
		    a_cert, a_key, "%PDF partly", b_cert, id) == 0,
	   "A sends B a letter whose text only A can open");
	text_to_sender_only = 0;
	ok(sync_user(boris) == 0, "synced");
	/* the letter, not the notices of its ПДПол and receipt after it */
	n = item_seq(boris, "INBOX", id);
	ok(folder_has(boris, "INBOX", n, "X-EDO-Encrypted: yes") &&
	   folder_has(boris, "INBOX", n, "contract.pdf.p7m") &&
	   !folder_has(boris, "INBOX", n, "%PDF partly") &&
	   !folder_has(boris, "INBOX", n, "JVBERiBwYXJ0bH"),
	   "B sees no part opened: the document stays its .p7m");
	ok(stored_has("JVBERiBwYXJ0bH") == 0,
	   "and nothing of it is stored clear");
}

static void test_resign(struct mailbox_user *anna)
{
	char id[CORE_UUID_LEN];
	uint32_t n;

	ok(send_doc(B.id, A.id, CORE_MSG_RESIGN, ab_msg, NULL, b_cert, b_key,
		    "%PDF-1.4 contract", NULL, id) == 0,
	   "B re-signs A's document and sends it back");
	ok(sync_user(anna) == 0, "synced");
	/* INBOX also holds the notices of what A sent, and now of the
	 * ПДПол of this one after it */
	n = item_seq(anna, "INBOX", id);
	ok(n > 2 && folder_has(anna, "INBOX", n, "X-EDO-Signatures: 2") &&
	   folder_has(anna, "INBOX", n, "contract.pdf.2.sig") &&
	   folder_has(anna, "INBOX", n, edo_hdr("In-Reply-To", ab_msg)),
	   "the re-signed message shows both signatures and answers the "
	   "original");
}

static void test_isolation(void)
{
	struct mailbox_error err = { 0 };
	struct mailbox_user *eve = mbt_login(env, "eve", "pw-eve");
	struct mailbox_view *v = NULL;

	ok(eve != NULL && sync_user(eve) == 0 && mbt_messages(eve, "INBOX") == 0 &&
	   mbt_messages(eve, "Отправленные") == 0 &&
	   mbt_messages(eve, "Адресная книга") == 0,
	   "a user of another organization sees nothing of A and B");
	ok(mailbox_view_open(eve, "Лютик 7733012345/Входящие", 0, &v, &err) < 0 &&
	   err.cls == MAILBOX_ERR_NOTFOUND, "and cannot name their folders");
	mailbox_user_free(&eve);
}

static void test_reject_withdraw(struct mailbox_user *anna)
{
	struct core_error err = { 0 };
	struct mailbox_user *eve = mbt_login(env, "eve", "pw-eve");
	char inv[CORE_UUID_LEN];

	ok(core_invite(core, A.id, X.id, "Давайте работать", NULL, inv, &err) == 0 &&
	   core_reject(core, X.id, A.id, "Нет, спасибо", NULL, &err) == 0,
	   "A invites X, X rejects (%s)", err.msg);
	ok(eve != NULL && sync_user(eve) == 0 && sync_user(anna) == 0, "synced");
	ok(has_kw(eve, "Входящие/Приглашения", 1, "$EDO_Rejected") &&
	   has_kw(anna, "Исходящие/Приглашения", 2, "$EDO_Rejected") &&
	   !has_kw(anna, "Исходящие/Приглашения", 1, "$EDO_Rejected"),
	   "$EDO_Rejected on that invitation only");
	{
		char irt[160];
		uint32_t n = mbt_messages(anna, "INBOX");

		snprintf(irt, sizeof(irt), "In-Reply-To: <%s@", inv);
		ok(folder_has(anna, "INBOX", n, irt) &&
		   folder_has(anna, "INBOX", n, "X-EDO-Kind: notice") &&
		   mbt_messages(eve, "INBOX") == 0,
		   "the inviter gets a notice of the rejection, the other "
		   "side none");
	}
	ok(mbt_messages(eve, "Адресная книга") == 0, "no contact card");
	ok(core_invite(core, X.id, A.id, NULL, NULL, inv, &err) == 0 &&
	   core_withdraw(core, X.id, A.id, NULL, &err) == 0, "X invites A, withdraws (%s)",
	   err.msg);
	ok(sync_user(eve) == 0 && sync_user(anna) == 0 &&
	   has_kw(anna, "Входящие/Приглашения", 1, "$EDO_Withdrawn") &&
	   has_kw(eve, "Исходящие/Приглашения", 1, "$EDO_Withdrawn"),
	   "$EDO_Withdrawn on both sides");
	mailbox_user_free(&eve);
}

static void test_failed_and_notices(struct mailbox_user *anna)
{
	struct mailbox_error err = { 0 };
	uint32_t n = mbt_messages(anna, "INBOX");

	ok(operator_store_event_add(store, A.id, CORE_EV_FAILED, B.id, ab_msg,
				    NULL, "Получатель не найден / recipient "
				    "not found", util_now()) == STORE_OK,
	   "a FAILED event in A's log");
	ok(sync_user(anna) == 0 && mbt_messages(anna, "INBOX") == n + 1 &&
	   folder_has(anna, "INBOX", n + 1, "Получатель не найден") &&
	   folder_has(anna, "INBOX", n + 1, edo_hdr("In-Reply-To", ab_msg)),
	   "a notice in INBOX, answering the failed message");
	ok(has_kw(anna, "Архив", 1, "$EDO_Failed"),
	   "$EDO_Failed on the message's item");
	ok(mailbox_notice_add(anna, A.id, "Письмо не отправлено / not sent",
			      "Нет права подписи / no signing right",
			      "<x@y>", &err) == 0 &&
	   mbt_messages(anna, "INBOX") == n + 2 &&
	   folder_has(anna, "INBOX", n + 2, "Нет права подписи"),
	   "mailbox_notice_add puts a notice in the box's INBOX (%s)", err.msg);
}

/* The event loop (the thread that made the env) never waits for a sync
 * running on a worker: its own sync is skipped and made up for by
 * mailbox_env_sync_skipped.  A sync on another thread does the work. */
static pthread_mutex_t hold_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cv = PTHREAD_COND_INITIALIZER;
static int hold_state;		/* 1 held, 2 release */

static void *hold_sync_lock(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&env->sync_lock);
	pthread_mutex_lock(&hold_mu);
	hold_state = 1;
	pthread_cond_broadcast(&hold_cv);
	while (hold_state != 2)
		pthread_cond_wait(&hold_cv, &hold_mu);
	pthread_mutex_unlock(&hold_mu);
	pthread_mutex_unlock(&env->sync_lock);
	return NULL;
}

static void *sync_elsewhere(void *arg)
{
	return sync_user(arg) == 0 ? arg : NULL;
}

static void test_sync_no_wait(struct mailbox_user *boris)
{
	struct mailbox_view *v = view(boris, "INBOX");
	char id[CORE_UUID_LEN];
	pthread_t t;
	void *res = NULL;
	uint32_t before;
	int woken = 0;

	if (v == NULL)
		return;
	/* B's notices of the re-signed letter it sent come first */
	(void)sync_user(boris);
	before = letters(boris, "INBOX");
	mailbox_view_set_notify(v, wake, &woken);
	ok(send_doc(A.id, B.id, CORE_MSG_LETTER, NULL, NULL, a_cert, a_key,
		    "%PDF no wait", NULL, id) == 0, "a new message for B");
	pthread_create(&t, NULL, hold_sync_lock, NULL);
	pthread_mutex_lock(&hold_mu);
	while (hold_state != 1)
		pthread_cond_wait(&hold_cv, &hold_mu);
	pthread_mutex_unlock(&hold_mu);
	/* a wait here would never end: the alarm fails the test instead */
	alarm(60);
	ok(sync_user(boris) == 0 && woken == 0,
	   "loop: a sync while another runs returns at once, doing nothing");
	alarm(0);
	pthread_mutex_lock(&hold_mu);
	hold_state = 2;
	pthread_cond_broadcast(&hold_cv);
	pthread_mutex_unlock(&hold_mu);
	pthread_join(t, NULL);
	mailbox_env_sync_skipped(env);
	ok(woken == 1 && letters(boris, "INBOX") == before + 1,
	   "the skipped sync is made up afterwards (woken %d)", woken);
	woken = 0;
	mailbox_env_sync_skipped(env);
	ok(woken == 0, "and only once");
	ok(send_doc(A.id, B.id, CORE_MSG_LETTER, NULL, NULL, a_cert, a_key,
		    "%PDF on a worker", NULL, id) == 0, "another message for B");
	pthread_create(&t, NULL, sync_elsewhere, boris);
	pthread_join(t, &res);
	ok(res == boris && letters(boris, "INBOX") == before + 2,
	   "a sync on another thread projects the events");
	mailbox_view_close(&v);
}

int main(void)
{
	struct mailbox_user *anna, *boris, *anna2;
	uint32_t inbox, sent, archive;

	log_init("test-mailbox-sync", LOG_LVL_ERROR);
	setup();
	anna = mbt_login(env, "anna", "pw-anna");
	boris = mbt_login(env, "boris", "pw-boris");
	/* A second session of anna whose cursor goes stale. */
	anna2 = mbt_login(env, "anna", "pw-anna");
	if (anna == NULL || boris == NULL || anna2 == NULL)
		mbt_bail("login", "anna/boris");
	test_invitation(anna, boris);
	test_message(anna, boris);
	test_read_hook(anna, boris);
	test_sent_append(anna);
	test_archive(boris);
	test_copy_archive(anna);
	test_idle(boris);
	test_encrypted(anna, boris);
	test_resign(anna);
	test_flow_grouped(anna);
	test_isolation();
	test_reject_withdraw(anna);
	test_failed_and_notices(anna);
	inbox = mbt_messages(anna, "INBOX");
	sent = mbt_messages(anna, "Отправленные");
	archive = mbt_messages(anna, "Архив");
	ok(sync_user(anna2) == 0 && mbt_messages(anna2, "INBOX") == inbox &&
	   mbt_messages(anna2, "Отправленные") == sent &&
	   mbt_messages(anna2, "Архив") == archive,
	   "a second session with a stale cursor adds nothing (%u %u %u)",
	   inbox, sent, archive);
	/* last: its letters change what the check above compares */
	test_sync_no_wait(boris);
	test_encrypted_part(boris);
	mailbox_user_free(&anna2);
	mailbox_user_free(&anna);
	mailbox_user_free(&boris);
	mbt_edo_close(&set, &store, &core, &env);
	free(a_cert);
	free(a_key);
	free(b_cert);
	free(b_key);
	edo_fns_cleanup();
	return mbt_done();
}
