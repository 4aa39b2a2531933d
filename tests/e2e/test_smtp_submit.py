"""SMTP submission: letters become signed (optionally encrypted) EDO
messages that arrive byte-identical; answers; several recipients at once;
mutt, curl and Thunderbird's submit-then-APPEND."""
import email
import email.policy
import imaplib
import os
import subprocess
import tempfile
import time
import uuid

from edomail_harness import DaemonTestCase, PASSWORD, main, utf7_encode
from test_smtp_session import (L_INN, R_INN, SENT, V_INN, by_edo_id,
                               ctl_message_show, ctl_messages, db_contains,
                               edo_id, imap_messages, imap_wait, make_mail,
                               op_docs_with_sigs, op_entities, parts_by_name,
                               submit, verify_sig)

MUTT_DOC = b"%PDF-1.4\n\x00\x01\x02\xff invoice from mutt\n"
CYR_NAME = "Договор поставки №15 от 01.02.2025.pdf"


class SmtpSubmit(DaemonTestCase):
    tools = ("openssl-gost", "mutt", "curl")

    def deliver(self, mode, login, from_inn, to_inn, rcpt_login, gost):
        d = self.d
        small = b"%PDF-1.4\n" + os.urandom(3000)
        big = os.urandom(5 * 1024 * 1024)
        subject = "Документы %s" % uuid.uuid4().hex[:8]
        data, mid = make_mail(d.addr(from_inn), d.addr(to_inn), subject,
                              "Добрый день!\nНаправляем договор.\n",
                              [(CYR_NAME, small, "application/pdf"),
                               ("big.bin", big)])
        code, text = submit(d, login, d.addr(from_inn), d.addr(to_inn), data,
                            mode=mode)
        self.assertEqual(code, 250, text)
        msg_id = edo_id(text)
        self.assertIsNotNone(msg_id, text)

        # At the operator: the documents as sent, each with a valid
        # detached signature of the sender.
        docs = op_docs_with_sigs(op_entities(d, msg_id))
        self.assertEqual(sorted(docs), sorted([CYR_NAME, "big.bin"]))
        self.assertEqual(docs[CYR_NAME][0], small)
        self.assertEqual(docs["big.bin"][0], big)
        for name, (doc, sigs) in docs.items():
            self.assertEqual(len(sigs), 1)
            self.assertTrue(verify_sig(doc, sigs[0], gost), name)

        # At the recipient, over IMAP: byte-identical documents and
        # signatures that verify.
        msg, flags, raw = imap_wait(d, rcpt_login, "INBOX", by_edo_id(msg_id))
        self.assertEqual(msg["Subject"], subject)
        parts = parts_by_name(msg)
        self.assertEqual(parts[CYR_NAME], small)
        self.assertEqual(parts["big.bin"], big)
        self.assertTrue(verify_sig(small, parts[CYR_NAME + ".sig"], gost))
        self.assertTrue(verify_sig(big, parts["big.bin.sig"], gost))

        # At the sender: the Sent item with delivery and receipt.
        imap_wait(d, "%s+%s" % (login, from_inn), SENT,
                  lambda m, f: by_edo_id(msg_id)(m, f) and
                  "$EDO_Delivered" in f and "$EDO_Receipt" in f, timeout=120)
        return msg_id

    def test_587_starttls_rsa(self):
        self.deliver("starttls", "buh", R_INN, L_INN, "lutik", gost=False)

    def test_465_tls_gost(self):
        self.deliver("ssl", "buh", L_INN, R_INN, "romashka", gost=True)

    def check_encrypted(self, subject, to_addr, text_marker):
        d = self.d
        doc = b"secret document " + uuid.uuid4().bytes * 64
        data, mid = make_mail(d.addr(R_INN), to_addr, subject,
                              text_marker + "\n", [("ведомость.xlsx", doc)])
        code, text = submit(d, "romashka", d.addr(R_INN), to_addr, data)
        self.assertEqual(code, 250, text)
        self.assertIn("зашифровано", text)
        msg_id = edo_id(text)
        # The operator holds no plaintext of the text or the document.
        self.assertFalse(db_contains(d, text_marker.encode()))
        self.assertFalse(db_contains(d, doc))
        ents = op_entities(d, msg_id)
        kinds = [e["kind"] for e in ents]
        self.assertIn("text", kinds)
        self.assertTrue(all(e["encrypted"] for e in ents
                            if e["kind"] in ("attachment", "text")))
        # The signature verifies over the plaintext.
        att = [e for e in ents if e["kind"] == "attachment"][0]
        sig = [e for e in ents if e["kind"] == "signature"][0]
        self.assertTrue(verify_sig(doc, sig["data"]))
        # The recipient reads the plaintext.
        msg, flags, raw = imap_wait(d, "lutik", "INBOX", by_edo_id(msg_id))
        body = msg.get_body(preferencelist=("plain",)).get_content()
        self.assertIn(text_marker, body)
        self.assertEqual(parts_by_name(msg)["ведомость.xlsx"], doc)
        self.assertNotIn("[шифр]", msg["Subject"])
        return msg_id

    def test_encrypted_by_subject_tag(self):
        self.check_encrypted("[шифр] Зарплатная ведомость", self.d.addr(L_INN),
                             "СЕКРЕТ-" + uuid.uuid4().hex)

    def test_encrypted_by_subaddress(self):
        to = self.d.addr(L_INN).replace("@", "+encrypt@")
        self.check_encrypted("Ведомость", to, "SECRET-" + uuid.uuid4().hex)

    def test_answer_is_linked(self):
        d = self.d
        data, _ = make_mail(d.addr(L_INN), d.addr(R_INN), "Вопрос по счёту",
                            "Уточните сумму.\n")
        code, text = submit(d, "lutik", d.addr(L_INN), d.addr(R_INN), data)
        self.assertEqual(code, 250, text)
        orig = edo_id(text)
        data, _ = make_mail(d.addr(R_INN), d.addr(L_INN), "Re: Вопрос по счёту",
                            "Сумма верна.\n\n> Уточните сумму.\n",
                            headers={"In-Reply-To": "<%s@edo.local>" % orig,
                                     "References": "<%s@edo.local>" % orig})
        code, text = submit(d, "romashka", d.addr(R_INN), d.addr(L_INN), data)
        self.assertEqual(code, 250, text)
        self.assertIn("ответ", text)
        shown = ctl_message_show(d, R_INN, edo_id(text))
        self.assertIn("Kind: answer", shown)
        self.assertIn("Reply to: " + orig, shown)

    def test_several_recipients_all_or_nothing(self):
        d = self.d
        l_before = len(ctl_messages(d, L_INN))
        v_before = len(ctl_messages(d, V_INN))
        # Лютик would get a message, Василёк an invitation, which cannot
        # carry attachments: the whole mail is refused, nothing is sent.
        data, _ = make_mail(d.addr(R_INN), [d.addr(L_INN), d.addr(V_INN)],
                            "Всем", "Текст\n", [("a.txt", b"doc")])
        code, text = submit(d, "romashka", d.addr(R_INN),
                            [d.addr(L_INN), d.addr(V_INN)], data)
        self.assertEqual(code, 550, text)
        self.assertIn("5.7.1", text)
        self.assertEqual(len(ctl_messages(d, L_INN)), l_before)
        self.assertEqual(len(ctl_messages(d, V_INN)), v_before)
        # Without the attachment: a message and an invitation, one commit.
        data, _ = make_mail(d.addr(R_INN), [d.addr(L_INN), d.addr(V_INN)],
                            "Всем", "Предлагаем сотрудничество\n")
        code, text = submit(d, "romashka", d.addr(R_INN),
                            [d.addr(L_INN), d.addr(V_INN)], data)
        self.assertEqual(code, 250, text)
        self.assertIn("приглашение", text)
        self.assertEqual(len(ctl_messages(d, L_INN)), l_before + 1)
        self.assertEqual(len(ctl_messages(d, V_INN)), v_before + 1)

    def test_retry_with_same_message_id_is_not_duplicated(self):
        d = self.d
        data, mid = make_mail(d.addr(R_INN), d.addr(L_INN), "Повтор",
                              "Один раз\n")
        before = len(ctl_messages(d, L_INN))
        code1, text1 = submit(d, "romashka", d.addr(R_INN), d.addr(L_INN), data)
        code2, text2 = submit(d, "romashka", d.addr(R_INN), d.addr(L_INN), data)
        self.assertEqual((code1, code2), (250, 250), text2)
        self.assertEqual(edo_id(text1), edo_id(text2))
        # the sender is told (two-node mode: the operator's IsReplayed)
        self.assertNotIn("already sent", text1)
        self.assertIn("already sent", text2)
        self.assertEqual(len(ctl_messages(d, L_INN)), before + 1)

    def test_thunderbird_submit_then_append(self):
        d = self.d
        data, mid = make_mail(d.addr(R_INN), d.addr(L_INN), "Thunderbird",
                              "Письмо из Thunderbird\n",
                              [("акт.pdf", b"%PDF act")])
        code, text = submit(d, "buh", d.addr(R_INN), d.addr(L_INN), data)
        self.assertEqual(code, 250, text)
        msg_id = edo_id(text)
        c = d.imap("buh+" + R_INN)
        try:
            typ, resp = c.append(utf7_encode(SENT), "(\\Seen)",
                                 imaplib.Time2Internaldate(time.time()), data)
            self.assertEqual(typ, "OK", resp)
        finally:
            c.logout()
        items = [m for uid, flags, raw in imap_messages(d, "buh+" + R_INN, SENT)
                 for m in [email.message_from_bytes(raw, policy=email.policy.default)]
                 if mid in (m.get("Message-ID") or "") or
                 m.get("X-EDO-Message-Id", "") == msg_id]
        self.assertEqual(len(items), 1, "one Sent item, not two")

    def test_mutt_batch(self):
        d = self.d
        subject = "mutt %s" % uuid.uuid4().hex[:8]
        with tempfile.TemporaryDirectory() as t:
            rc = os.path.join(t, "muttrc")
            with open(rc, "w") as f:
                f.write('set from="%s"\nset use_from=yes\nset envelope_from=yes\n'
                        'set smtp_url="smtp://romashka@127.0.0.1:%d/"\n'
                        'set smtp_pass="%s"\nset ssl_starttls=yes\n'
                        'set ssl_force_tls=yes\nset ssl_verify_host=no\n'
                        'set certificate_file="%s"\n'
                        'set ssl_ca_certificates_file="%s"\n'
                        'set record=""\nset charset="utf-8"\n'
                        'set send_charset="utf-8"\nset copy=no\n'
                        % (d.addr(R_INN), d.ports["submission"], PASSWORD,
                           os.path.join(t, "certs"), d.cafile))
            # Binary, so that it travels base64 (text parts are CRLF
            # by MIME's canonical form).
            doc = os.path.join(t, "счёт.pdf")
            with open(doc, "wb") as f:
                f.write(MUTT_DOC)
            r = subprocess.run(["mutt", "-n", "-F", rc, "-s", subject, "-a", doc,
                                "--", d.addr(L_INN)],
                               input="Письмо из mutt\n", text=True,
                               capture_output=True, timeout=120,
                               env=dict(os.environ, HOME=t))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        rows = [m for m in ctl_messages(d, L_INN) if m["subject"] == subject]
        self.assertEqual(len(rows), 1)
        msg, flags, raw = imap_wait(d, "lutik", "INBOX",
                                    lambda m, f: m["Subject"] == subject)
        self.assertEqual(parts_by_name(msg)["счёт.pdf"], MUTT_DOC)

    def test_curl(self):
        d = self.d
        subject = "curl %s" % uuid.uuid4().hex[:8]
        data, mid = make_mail(d.addr(R_INN), d.addr(L_INN), subject,
                              "Письмо из curl\n", [("c.txt", b"from curl")])
        with tempfile.NamedTemporaryFile(suffix=".eml") as f:
            f.write(data)
            f.flush()
            r = subprocess.run(
                ["curl", "-sS", "--url",
                 "smtp://127.0.0.1:%d" % d.ports["submission"], "--ssl-reqd",
                 "--cacert", d.cafile, "--mail-from", d.addr(R_INN),
                 "--mail-rcpt", d.addr(L_INN), "--user",
                 "romashka:" + PASSWORD, "--upload-file", f.name],
                capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        rows = [m for m in ctl_messages(d, L_INN) if m["subject"] == subject]
        self.assertEqual(len(rows), 1)
        msg, flags, raw = imap_wait(d, "lutik", "INBOX",
                                    lambda m, f: m["Subject"] == subject)
        self.assertEqual(parts_by_name(msg)["c.txt"], b"from curl")


if __name__ == "__main__":
    main()
