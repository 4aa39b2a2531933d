#ifndef MAILBOX_MAILBOX_PACKET_H
#define MAILBOX_MAILBOX_PACKET_H
/* «Сохранить пакет» (DESIGN.md section 7, issue 13 item 6): the whole
 * packet of one EDO message — documents, every signature, receipts and
 * confirmations with their signatures, the signature report and a readable
 * summary — as one ZIP in the layout Diadoc and Astral export
 * (doc/mailbox.md, "The packet").  Built in memory (libzip on a buffer
 * source): nothing of it, decrypted or not, touches the disk here.
 *
 * Used by edomailctl (packet export) and by the gateway's own address
 * packet@<domain> (mailbox-packet-mail.c). */
#include <stddef.h>
#include <stdint.h>

#include "mailbox/mailbox.h"

/* The summary's and the report's names inside the ZIP, and the folder of
 * receipts and confirmations. */
#define MAILBOX_PACKET_SUMMARY "Описание пакета.txt"
#define MAILBOX_PACKET_REPORT "Протокол проверки подписей.txt"
#define MAILBOX_PACKET_TEXT "Текст письма.txt"
#define MAILBOX_PACKET_RECEIPTS "Квитанции/"

enum mailbox_packet_flags {
	/* Encrypted documents go into the ZIP decrypted (when a key opens
	 * them) instead of as the CMS envelopes the operator keeps. */
	MAILBOX_PACKET_CLEAR = 1 << 0,
};

struct mailbox_packet {
	unsigned char *zip;
	size_t len;
	char *file_name;		/* "packet_<message-id>.zip" */
	char *subject;			/* the message's subject, "" */
	size_t n_documents;
	size_t n_signatures;
	size_t n_receipts;		/* receipts and confirmations */
	int encrypted;			/* the message had encrypted parts */
};

/* The packet of message msg_id as box_id sees it.  user_id: whose keys
 * open encrypted parts (the user's, then the organization's); 0: the
 * organization's only.  The caller has checked that whoever asks may see
 * the box (the core checks that box_id is a party of the message).
 * 0, or -1 with err (NOTFOUND: no such message for this box). */
int mailbox_packet_export(struct mailbox_env *env, const char *box_id,
			  int64_t user_id, const char *msg_id, unsigned flags,
			  struct mailbox_packet *p_r,
			  struct mailbox_error *err);
void mailbox_packet_clear(struct mailbox_packet *p);

#endif
