#ifndef MAILBOX_MAILBOX_ACTION_H
#define MAILBOX_MAILBOX_ACTION_H
/* The mail-action service: everything a submitted mail does at the EDO
 * operator (DESIGN.md sections 2, 5 and 6; doc/architecture.md).  A
 * protocol session checks its own protocol's rules, hands the whole
 * request here and maps the typed result to its codes; edomailctl and the
 * unit tests call the same functions without a socket.
 *
 *   mailbox_sender_check     MAIL FROM: may this user send as this address
 *   mailbox_recipient_check  RCPT TO: who is it, what will the mail become
 *   mailbox_submit           the mail: letter, answer, re-signed documents,
 *                            invitation, acceptance or refusal of one,
 *                            per recipient, all of them or none
 *
 * The functions are slow (store lookups, signing): call them on a worker
 * thread.  They never keep a store transaction across core calls: the
 * core's driver owns its transactions (DESIGN.md, "Driver boundary"). */
#include <stddef.h>
#include <stdint.h>

#include "mailbox/mailbox.h"

#define MAILBOX_ID_MAX 48		/* participant ids: at most 46 chars */
#define MAILBOX_UUID_LEN 37
#define MAILBOX_ADDR_MAX 256		/* an address as the client gave it */
#define MAILBOX_RESULT_TEXT 1536

/* What went wrong, in the terms a protocol maps to its codes (SMTP's in
 * smtp-session.c, doc/smtp.md). */
enum mailbox_result_class {
	MAILBOX_RES_OK = 0,
	MAILBOX_RES_TEMP,		/* try again later: 451 4.3.0 */
	MAILBOX_RES_REFUSED,		/* not allowed now (role, state, policy, the
					 * message's content): 550 5.7.1 */
	MAILBOX_RES_NOT_YOURS,		/* the sender is not the user's
					 * organization: 553 5.7.1 */
	MAILBOX_RES_NO_SUCH,		/* no such participant: 550 5.1.1 */
	MAILBOX_RES_BAD_ADDRESS,	/* not an ИНН, ИНН.КПП or id: 550 5.1.3 */
	MAILBOX_RES_FOREIGN_DOMAIN,	/* not an EDO address: 550 5.1.2 */
	MAILBOX_RES_BAD_SUBADDRESS,	/* +tag other than +encrypt, +sign: 553 5.1.3 */
	MAILBOX_RES_BAD_MESSAGE,	/* the mail cannot be read: 550 5.6.0 */
	MAILBOX_RES_UNAVAILABLE,	/* the EDO operator cannot be reached
					 * (remote driver): 451 4.4.1 */
};

/* What a submission did for one recipient. */
enum mailbox_action {
	MAILBOX_ACT_LETTER = 0,		/* a new EDO message */
	MAILBOX_ACT_ANSWER,		/* a message answering another */
	MAILBOX_ACT_RESIGN,		/* received documents signed and sent back */
	MAILBOX_ACT_INVITE,		/* an invitation to exchange documents */
	MAILBOX_ACT_ACCEPT,		/* the other side's invitation accepted */
	MAILBOX_ACT_REJECT,		/* ... declined */
	MAILBOX_ACT_NOOP,		/* the same answer was given before */
	MAILBOX_ACT_DUPLICATE,		/* this mail was committed before (a retry) */
	MAILBOX_ACT_SIGN,		/* received documents signed (a patch) */
	MAILBOX_ACT_REFUSE,		/* ... refused, with a reason (DP_UVUTOCH) */
};
const char *mailbox_action_name(enum mailbox_action a);	/* "letter", ... */

/* The relation to a recipient, as RCPT TO reports it. */
enum mailbox_relation {
	MAILBOX_REL_NONE = 0,		/* not a counteragent: an invitation */
	MAILBOX_REL_COUNTERAGENT,	/* messages go */
	MAILBOX_REL_INVITES_ME,		/* answer Accept or Decline */
	MAILBOX_REL_INVITED_BY_ME,	/* waiting for the other side */
	MAILBOX_REL_REJECTS_ME,
	MAILBOX_REL_REJECTED_BY_ME,
};

struct mailbox_rcpt_outcome {
	char box_id[MAILBOX_ID_MAX];
	enum mailbox_action action;
	char id[MAILBOX_UUID_LEN];	/* message or invitation id, "" */
	size_t documents;		/* signed documents sent */
	int encrypted;
};

/* The typed result of every action: a class, a text for people
 * ("Русский / English", for an SMTP reply, an IMAP NO or a notice) and,
 * for a submission, what each recipient got. */
struct mailbox_result {
	enum mailbox_result_class cls;
	char text[MAILBOX_RESULT_TEXT];
	struct mailbox_rcpt_outcome *rcpts;
	size_t n_rcpts;
};
void mailbox_result_clear(struct mailbox_result *res);

/* An organization as the service names it. */
struct mailbox_org {
	char id[MAILBOX_ID_MAX];
	char name[512];
	char inn[13];
	char kpp[10];			/* "" for ИП */
	int test_mode;
};

/* ---- addresses (DESIGN.md section 5; pure, no lookups) ---- */

enum mailbox_addr_kind {
	MAILBOX_ADDR_ID = 0,		/* a participant id */
	MAILBOX_ADDR_INN,		/* 10 or 12 digits */
	MAILBOX_ADDR_INN_KPP,		/* 10 digits "." 9 characters */
};

struct mailbox_addr {
	enum mailbox_addr_kind kind;
	char local[MAILBOX_ADDR_MAX];	/* without the sub-address */
	char query[MAILBOX_ADDR_MAX];	/* what the operator looks up */
	char inn[13];
	char kpp[10];
	int encrypt;			/* +encrypt */
	int sign;			/* +sign: request the recipient's signature */
};

/* "local@domain" (domain without case); MAILBOX_RES_OK or one of
 * FOREIGN_DOMAIN, BAD_ADDRESS, BAD_SUBADDRESS (no text is set). */
enum mailbox_result_class mailbox_addr_parse(const char *addr,
					     const char *domain,
					     struct mailbox_addr *a_r);
/* "<id>@<domain>" of a box. */
void mailbox_addr_of_box(const char *box_id, const char *domain, char *out,
			 size_t out_size);

/* ---- MAIL FROM ---- */

struct mailbox_sender {
	char addr[MAILBOX_ADDR_MAX];
	struct mailbox_org org;
	int encrypt_policy;		/* the organization always encrypts */
	int may_sign;			/* the user's role has the signing right */
	char role[64];			/* the role's name, for the refusal */
};

/* The address must name an organization this session serves, where the
 * user is active.  A member without the signing right passes too (may_sign
 * 0): the gateway's own addresses serve every member (packet@), and
 * mailbox_recipient_check refuses the counteragents with the reason.
 * 0 (res OK, text for the reply) or -1. */
int mailbox_sender_check(struct mailbox_user *user, const char *addr,
			 struct mailbox_sender *s_r,
			 struct mailbox_result *res);

/* ---- RCPT TO ---- */

/* The gateway's own addresses. */
enum mailbox_gateway {
	MAILBOX_GW_NONE = 0,		/* a counteragent */
	MAILBOX_GW_PACKET,		/* packet@<domain>: «Сохранить пакет» */
};
#define MAILBOX_GW_PACKET_LOCAL "packet"

struct mailbox_recipient {
	char addr[MAILBOX_ADDR_MAX];
	struct mailbox_org org;
	enum mailbox_relation relation;	/* at RCPT time; read again at commit */
	int encrypt;			/* +encrypt */
	/* The gateway's own address (DESIGN.md section 5), never a
	 * counteragent: org is empty, the mail is answered by the gateway
	 * (mailbox-packet-mail.c). */
	enum mailbox_gateway gateway;
	int sign;			/* +sign */
};

/* Finds the participant, refuses what cannot go (own organization, an
 * invitation not answered yet, +encrypt to a non-counteragent, no
 * certificate to encrypt to).  0 (res OK with what the mail will become)
 * or -1. */
int mailbox_recipient_check(struct mailbox_user *user,
			    const struct mailbox_sender *from,
			    const char *addr, struct mailbox_recipient *r_r,
			    struct mailbox_result *res);

/* ---- the mail ---- */

struct mailbox_submission {
	const struct mailbox_sender *from;
	const struct mailbox_recipient *rcpts;	/* distinct organizations */
	size_t n_rcpts;
	const unsigned char *data;		/* the RFC 5322 message */
	size_t len;
	unsigned long session_id;		/* for the log */
};

/* Guards and parses the mail, checks From and the user's rights again,
 * decides per recipient, signs and encrypts everything, then has the core
 * apply every recipient's operation at once (all or none; a retry of the
 * same Message-ID changes nothing: operation ids).  0 with res->rcpts, or
 * -1 with nothing sent. */
int mailbox_submit(struct mailbox_user *user,
		   const struct mailbox_submission *sub,
		   struct mailbox_result *res);

#endif
