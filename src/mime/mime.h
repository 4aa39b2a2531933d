#ifndef MIME_MIME_H
#define MIME_MIME_H
/* Mail <-> EDO conversion with libetpan.
 *  - render: EDO objects (core messages, invitations, counteragents,
 *    notices) as immutable RFC 5322 messages (DESIGN.md section 7);
 *  - parse: a submitted message into what SMTP needs to build an EDO
 *    operation (DESIGN.md section 6), after guarding libetpan's known
 *    crashers (boundary="\"", deep message/rfc822 nesting) and enforcing
 *    limits on size, nesting and part count. */
#include <stddef.h>
#include <stdint.h>
#include <edomail/core.h>

struct mime_limits {
	size_t max_size;	/* whole message, bytes */
	int max_depth;		/* multipart / message/rfc822 nesting */
	int max_parts;		/* leaf parts and embedded messages */
	size_t max_header_line;	/* one header line, bytes */
};
/* 64 MiB, depth 20, 500 parts, header lines of 4096 bytes. */
void mime_limits_default(struct mime_limits *lim);

/* ---- rendering ---- */

/* A party as shown in From/To: "Name" <participant-id@domain>. */
struct mime_party {
	const char *box_id;
	const char *name;
	const char *inn;
	const char *kpp;
};

/* Per-signature facts for the signature report part. */
struct mime_sig_report {
	const char *entity_id;		/* the signature entity */
	const char *document_name;	/* file it signs */
	const char *signer;		/* subject / common name */
	const char *serial;
	const char *issuer;
	int64_t not_before, not_after;
	int64_t signing_time;
	int valid;
	const char *error;		/* NULL when valid */
	/* organization and power of attorney (poa): filled when org_checked;
	 * valid above then also needs org_valid */
	int org_checked;
	int org_valid;
	const char *org_reason;		/* bilingual "… / …" */
	const char *holder_org, *holder_title, *holder_inn, *holder_ogrn,
		*holder_snils;
	const char *poa_summary;	/* bilingual; NULL: no МЧД */
	/* Each check: 0 not done, 1 passed, 2 failed, 3 unknown (the
	 * values of crypto's enum crypto_check); detail may be NULL. */
	int check_math;
	/* chain and revocation (trust) */
	int check_chain;
	const char *chain_detail;	/* the root reached, or why not */
	int check_revocation;
	const char *revocation_detail;	/* revoked since / why unknown */
};

struct mime_render_msg {
	const char *domain;
	const struct core_message *msg;	/* entities: documents and signatures
					 * in clear (already decrypted) */
	struct mime_party from, to;
	const char *message_id;		/* without <>; NULL: <msg.id@domain> */
	const char *in_reply_to;	/* without <>; may be NULL */
	/* The sender's own rendering (Sent) of a mail it submitted: the
	 * Message-ID of the client's mail, without <>, shown as
	 * X-EDO-Client-Message-ID; NULL otherwise. */
	const char *client_message_id;
	const struct mime_sig_report *reports;
	size_t n_reports;
	int was_encrypted;		/* say so in headers and text */
	const unsigned char *packet;	/* the whole EDO packet (zip or XML), may be NULL */
	size_t packet_len;
	const char *packet_name;
	const char *language;		/* "ru" | "en" for fixed texts */
	/* Readable tables of the formalized documents (УПД) among the
	 * entities, made by the caller (mime/ does not read FNS XML): shown
	 * in the text part after the letter's text; NULL: none. */
	const char *doc_tables;
	/* Out, may be NULL: an array of msg->n_entities where each entity's
	 * base64 body (lines of 76 characters and CRLF) begins in the
	 * output, SIZE_MAX for one not shown.  The caller's shared parts
	 * (mailbox-render.c) come from it without scanning the output. */
	size_t *body_at;
};
/* Returns 0 and malloc'd CRLF message bytes (deterministic for the same
 * input), or -1 with a malloc'd error in *error_r.  The same for the other
 * renderers.  doc/mime.md describes the layout. */
int mime_render_message(const struct mime_render_msg *r, unsigned char **out_r,
			size_t *len_r, char **error_r);

struct mime_render_invitation {
	const char *domain;
	const char *invitation_id;	/* message id of the invitation */
	struct mime_party from, to;
	const char *text;		/* the inviter's message, may be NULL */
	int outgoing;			/* 1: I invited; 0: invited me */
	int64_t date;
	const char *language;
};
int mime_render_invitation(const struct mime_render_invitation *r,
			   unsigned char **out_r, size_t *len_r,
			   char **error_r);

/* Address book item: text/plain summary + text/vcard. */
struct mime_render_contact {
	const char *domain;
	struct mime_party self, counteragent;
	const char *status;		/* human-readable */
	int64_t date;
	const char *language;
};
int mime_render_contact(const struct mime_render_contact *r,
			unsigned char **out_r, size_t *len_r, char **error_r);

/* A file a notice carries: a signed XML of the document flow (ИоП, the
 * operator's confirmation) or its detached signature. */
struct mime_notice_file {
	const char *file_name;		/* UTF-8 */
	const char *content_type;	/* NULL: guessed from the name */
	const unsigned char *data;
	size_t len;
};

/* A gateway notice (failures, state changes): from the gateway
 * postmaster, "Шлюз ЭДО / EDO gateway".  Without files one text/plain
 * part; with files multipart/mixed: the text, then each file. */
struct mime_render_notice {
	const char *domain;
	const char *to_addr;		/* user's address */
	const char *subject;
	const char *text;
	const char *in_reply_to;	/* may be NULL */
	int64_t date;
	const char *message_id;		/* without <>; NULL: derived from the
					 * content, <notice-HASH@domain> */
	const struct mime_notice_file *files;
	size_t n_files;
};
int mime_render_notice(const struct mime_render_notice *r,
		       unsigned char **out_r, size_t *len_r, char **error_r);

/* ---- parsing a submission ---- */

struct mime_attachment {
	char *file_name;	/* UTF-8 (RFC 2231 / RFC 2047 decoded) */
	char *content_type;	/* lower case type/subtype */
	unsigned char *data;	/* decoded bytes */
	size_t len;
	int forwarded;		/* 1: found inside an attached message/rfc822
				 * (forward as attachment): the original
				 * document, byte-identical, for re-signing */
};

struct mime_submission {
	char *from_addr;	/* addr-spec of From, lower case */
	char *from_name;
	char **to_addrs;	/* To + Cc addr-specs */
	size_t n_to;
	char *subject;		/* UTF-8, RFC 2047 decoded; "" if none */
	char *message_id;	/* without <> */
	char *in_reply_to;	/* without <>, first id */
	char **references;	/* without <> */
	size_t n_references;
	char *text;		/* UTF-8: text/plain preferred, else HTML reduced */
	char *new_text;		/* text without quoted lines and signature */
	struct mime_attachment *attachments;
	size_t n_attachments;
	int64_t date;
};

/* Returns 0, or -1 with a message fit for an SMTP reply (Russian / English)
 * in *error_r (malloc'd).  lim NULL: mime_limits_default.  Bare LF line
 * ends are turned into CRLF first; mime_guard runs before libetpan.  All
 * strings are valid UTF-8; text and new_text use LF line ends.  On error
 * *sub_r is empty (and may still be cleared). */
int mime_parse_submission(const unsigned char *data, size_t len,
			  const struct mime_limits *lim,
			  struct mime_submission *sub_r, char **error_r);
void mime_submission_clear(struct mime_submission *sub);

/* The first words of a reply: 1 accept, -1 reject, 0 neither; *comment_r
 * (may be NULL) receives the rest of the text after the decision word(s),
 * separating punctuation removed (malloc'd, may be ""); when the decision
 * is 0 it receives the whole trimmed text.  doc/mime.md lists the words. */
int mime_reply_decision(const char *new_text, char **comment_r);
/* The answer to documents that requested a signature: 1 when the new
 * text starts with Подписать / Подписываю / Согласовано / Sign, -1 with
 * Отказать / Отказ / Не подписываю / Refuse, else 0; *reason_r (caller
 * frees) gets the rest of the text (the refusal's reason). */
int mime_sign_decision(const char *new_text, char **reason_r);

/* Guards run before libetpan sees untrusted input: 0 safe, -1 with the
 * reason (malloc'd, Russian / English) in *error_r.  One linear pass, no
 * recursion.  CRLF and bare LF both end a line; a bare CR is refused. */
int mime_guard(const unsigned char *data, size_t len,
	       const struct mime_limits *lim, char **error_r);

/* For IMAP: an RFC 2047 encoded-word for a UTF-8 header value (malloc'd,
 * one line).  Printable ASCII without "=?" comes back unchanged; anything
 * else as B words in UTF-8 separated by single spaces. */
char *mime_encode_header_word(const char *utf8);

#endif
