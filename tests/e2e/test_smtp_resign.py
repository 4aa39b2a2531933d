"""Re-signing ("Переподписать вложения"): forwarding a received message's
documents back to its sender adds our signature to the same documents; the
sender gets them back with two valid signatures."""
import email
import email.policy
import os
import uuid
from email.message import EmailMessage

from edomail_harness import DaemonTestCase, main
from test_smtp_session import (L_INN, R_INN, by_edo_id, ctl_message_show,
                               ctl_messages, edo_id, imap_wait, make_mail,
                               op_docs_with_sigs, op_entities, parts_by_name,
                               submit, verify_sig)

DOC_NAME = "УПД №7 от 03.03.2025.pdf"


class SmtpResign(DaemonTestCase):
    tools = ("openssl-gost",)  # verify_sig, sig_count

    def receive_from_lutik(self):
        """Лютик (GOST) sends Ромашка a document; Ромашка's copy over IMAP."""
        d = self.d
        doc = b"%PDF-1.7\n" + os.urandom(20000)
        subject = "УПД %s" % uuid.uuid4().hex[:6]
        data, _ = make_mail(d.addr(L_INN), d.addr(R_INN), subject,
                            "Подпишите, пожалуйста.\n",
                            [(DOC_NAME, doc, "application/pdf")])
        code, text = submit(d, "lutik", d.addr(L_INN), d.addr(R_INN), data)
        self.assertEqual(code, 250, text)
        orig = edo_id(text)
        msg, flags, raw = imap_wait(d, "romashka", "INBOX", by_edo_id(orig))
        return orig, doc, msg, raw

    def check_back_at_lutik(self, orig, doc, reply):
        d = self.d
        self.assertIn("переподписаны", reply)
        resign = edo_id(reply)
        shown = ctl_message_show(d, L_INN, resign)
        self.assertIn("Kind: resign", shown)
        self.assertIn("Reply to: " + orig, shown)
        docs = op_docs_with_sigs(op_entities(d, resign))
        self.assertEqual(list(docs), [DOC_NAME])
        body, sigs = docs[DOC_NAME]
        self.assertEqual(body, doc)
        self.assertEqual(len(sigs), 2, "the original signature and ours")
        self.assertTrue(all(verify_sig(doc, s, gost=True) for s in sigs))
        # Лютик receives its document with both signatures.
        msg, flags, raw = imap_wait(d, "lutik", "INBOX", by_edo_id(resign))
        parts = parts_by_name(msg)
        self.assertEqual(parts[DOC_NAME], doc)
        sig_parts = [v for k, v in parts.items()
                     if k.startswith(DOC_NAME) and k.endswith(".sig")]
        self.assertEqual(len(sig_parts), 2, sorted(parts))
        self.assertTrue(all(verify_sig(doc, s, gost=True) for s in sig_parts))

    def test_forward_inline(self):
        d = self.d
        orig, doc, msg, raw = self.receive_from_lutik()
        parts = parts_by_name(msg)
        # What Thunderbird's inline forward carries: every part of the
        # received message (documents, signatures, the report).
        atts = [(name, data, "application/octet-stream")
                for name, data in parts.items()]
        data, _ = make_mail(d.addr(R_INN), d.addr(L_INN),
                            "Fwd: " + msg["Subject"], "Подписали.\n", atts)
        code, text = submit(d, "romashka", d.addr(R_INN), d.addr(L_INN), data)
        self.assertEqual(code, 250, text)
        self.check_back_at_lutik(orig, doc, text)

    def test_forward_as_attachment(self):
        d = self.d
        orig, doc, msg, raw = self.receive_from_lutik()
        m = EmailMessage(policy=email.policy.SMTP)
        m["From"] = d.addr(R_INN)
        m["To"] = d.addr(L_INN)
        m["Subject"] = "Fwd: " + msg["Subject"]
        m["Message-ID"] = email.utils.make_msgid(domain="client.example")
        m.set_content("Возвращаем подписанным.\n")
        m.add_attachment(email.message_from_bytes(raw, policy=email.policy.SMTP))
        code, text = submit(d, "romashka", d.addr(R_INN), d.addr(L_INN),
                            m.as_bytes())
        self.assertEqual(code, 250, text)
        self.check_back_at_lutik(orig, doc, text)

    def test_fresh_letter_with_the_same_bytes_stays_a_letter(self):
        # Not a forward (no Fwd:, no signatures, no forwarded parts): a
        # document that merely equals a received one is sent as new.
        d = self.d
        orig, doc, msg, raw = self.receive_from_lutik()
        data, _ = make_mail(d.addr(R_INN), d.addr(L_INN), "Наш экземпляр",
                            "Высылаем.\n", [(DOC_NAME, doc, "application/pdf")])
        code, text = submit(d, "romashka", d.addr(R_INN), d.addr(L_INN), data)
        self.assertEqual(code, 250, text)
        self.assertIn("сообщение ЭДО", text)
        self.assertIn("Kind: letter", ctl_message_show(d, L_INN, edo_id(text)))

    def test_forward_with_a_new_document_refused(self):
        d = self.d
        orig, doc, msg, raw = self.receive_from_lutik()
        before = len(ctl_messages(d, L_INN))
        data, _ = make_mail(d.addr(R_INN), d.addr(L_INN), "Fwd: смешанное",
                            "Текст\n", [(DOC_NAME, doc, "application/pdf"),
                                        ("новый.pdf", b"%PDF new", "application/pdf")])
        code, text = submit(d, "romashka", d.addr(R_INN), d.addr(L_INN), data)
        self.assertEqual(code, 550, text)
        self.assertIn("5.7.1", text)
        self.assertEqual(len(ctl_messages(d, L_INN)), before)


if __name__ == "__main__":
    main()
