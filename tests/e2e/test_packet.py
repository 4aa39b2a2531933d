"""Issue 13 item 6: «Сохранить пакет».

Ромашка sends Лютик a signed letter; Лютик's side posts its receipt.  The
sender forwards the Sent item (as an attachment, with smtplib) to the
gateway's own address packet@edo.local and gets at once a letter in INBOX,
threaded to the item, carrying the ZIP: the document under its name, its
.sig, Квитанции/ with the operator's confirmation and the ИоП and their
.sig (each verified with openssl cms), the report and the summary; names
in UTF-8 with the ZIP's UTF-8 flag.  Another organization naming the same
item is refused at DATA; `edomailctl packet export` gives the same
files."""
import email
import email.policy
import io
import os
import tempfile
import time
import zipfile
from email.message import EmailMessage

from edomail_harness import DaemonTestCase, main
from test_smtp_session import (L_INN, R_INN, SENT, V_INN, ctl_message_show,
                               imap_wait, make_mail, submit, verify_sig)

DOC = "Акт сверки.pdf"
SUMMARY = "Описание пакета.txt"
REPORT = "Протокол проверки подписей.txt"


def is_sent_of(m, mid):
    return (m.get("X-EDO-Client-Message-ID") or "").strip("<> ") == mid


def zip_files(z):
    return {i.filename: z.read(i.filename) for i in z.infolist()}


class Packet(DaemonTestCase):
    tools = ("openssl-gost",)

    def send_letter(self):
        d = self.d
        data, mid = make_mail(d.addr(R_INN), d.addr(L_INN), "Акт за ноябрь",
                              "Акт во вложении\n",
                              [(DOC, b"%PDF-1.4 akt sverki")])
        code, text = submit(d, "romashka", d.addr(R_INN), d.addr(L_INN),
                            data)
        self.assertEqual(code, 250, text)
        _, _, raw = imap_wait(d, "romashka", SENT,
                              lambda m, f: is_sent_of(m, mid))
        sent = email.message_from_bytes(raw, policy=email.policy.default)
        item = sent["Message-ID"].strip("<> ")
        edo = item.split("@")[0]
        # Лютик's receipt comes from its worker a moment later.
        deadline = time.time() + 60
        while "Receipts: 1" not in ctl_message_show(d, R_INN, edo):
            self.assertLess(time.time(), deadline, "no receipt")
            time.sleep(0.5)
        return raw, item, edo

    def forward(self, login, inn, raw):
        d = self.d
        m = EmailMessage(policy=email.policy.SMTP)
        m["From"] = d.addr(inn)
        m["To"] = "packet@edo.local"
        m["Subject"] = "Fwd: Акт за ноябрь"
        m["Message-ID"] = email.utils.make_msgid(domain="client.example")
        m.set_content("Сохранить пакет\n")
        # forward as attachment: message/rfc822, never base64 (RFC 2046)
        m.add_attachment(email.message_from_bytes(
            raw, policy=email.policy.SMTP))
        return submit(d, login, d.addr(inn), ["packet@edo.local"],
                      m.as_bytes())

    def check_layout(self, z):
        files = zip_files(z)
        names = set(files)
        self.assertIn(DOC, names)
        self.assertEqual(files[DOC], b"%PDF-1.4 akt sverki")
        self.assertIn(DOC + ".sig", names)
        self.assertIn(SUMMARY, names)
        self.assertIn(REPORT, names)
        for info in z.infolist():
            if any(ord(ch) > 127 for ch in info.filename):
                self.assertTrue(info.flag_bits & 0x800,
                                "UTF-8 flag on " + info.filename)
        receipts = [n for n in names if n.startswith("Квитанции/")]
        kinds = {"_".join(n.split("/")[1].split("_")[:2]) for n in receipts
                 if not n.endswith(".sig")}
        # the operator's ПДОтпр (sender) and ПДПол (recipient), and the
        # recipient's ИоП: the whole packet, as a court would need it
        self.assertEqual(kinds, {"DP_PDOTPR", "DP_PDPOL", "DP_IZVPOL"},
                         receipts)
        sigs = [n for n in names if n.endswith(".sig")]
        self.assertEqual(len(sigs), 4, sigs)
        for s in sigs:
            self.assertTrue(verify_sig(files[s[:-4]], files[s], gost=True),
                            s + " verifies")
        summary = files[SUMMARY].decode()
        for needle in ("ООО Ромашка", "ООО Лютик", DOC, "действительна",
                       "valid", "Квитанции", "DOCUMENT FLOW PACKET"):
            self.assertIn(needle, summary)
        return files

    def test_forward_to_packet_and_export(self):
        d = self.d
        raw, item, edo = self.send_letter()
        code, text = self.forward("romashka", R_INN, raw)
        self.assertEqual(code, 250, text)
        self.assertIn("packet", text)
        msg, _, _ = imap_wait(
            d, "romashka", "INBOX",
            lambda m, f: item in (m.get("In-Reply-To") or "") and
            any((p.get_filename() or "").endswith(".zip")
                for p in m.walk()))
        self.assertIn("Document packet", msg["Subject"])
        zpart = [p for p in msg.walk()
                 if (p.get_filename() or "").endswith(".zip")][0]
        self.assertEqual(zpart.get_content_type(), "application/zip")
        mail_files = self.check_layout(
            zipfile.ZipFile(io.BytesIO(zpart.get_payload(decode=True))))

        # edomailctl packet export: the same files
        with tempfile.TemporaryDirectory() as t:
            out = os.path.join(t, "p.zip")
            r = d.ctl("packet", "export", R_INN, edo, "-o", out)
            self.assertIn("packet saved", r.stdout)
            self.assertEqual(os.stat(out).st_mode & 0o777, 0o600)
            with zipfile.ZipFile(out) as z:
                ctl_files = self.check_layout(z)
        self.assertEqual(set(ctl_files), set(mail_files))
        for n in ctl_files:
            if n != SUMMARY:  # says when it was made
                self.assertEqual(ctl_files[n], mail_files[n], n)

        # another organization naming the item: refused at DATA
        data, _ = make_mail(d.addr(V_INN), "packet@edo.local", "Пакет",
                            "Пакет\n", headers={"In-Reply-To": "<%s>" % item})
        code, text = submit(d, "vasilek", d.addr(V_INN),
                            ["packet@edo.local"], data)
        self.assertEqual(code, 550, text)
        self.assertIn("Не найден", text)
        self.assertIn("no item", text)

    def test_reader_gets_a_packet(self):
        """A member without the signing right (viewer, a reader of
        Ромашка) may ask packet@ for a packet: reading documents is all
        it takes; a letter to a counteragent stays refused, at RCPT."""
        d = self.d
        raw, item, edo = self.send_letter()
        # the reader sees the letter in its own Отправленные first, as a
        # mail client does before it can forward it
        imap_wait(d, "viewer", SENT,
                  lambda m, f: item in (m.get("Message-ID") or ""))
        code, text = self.forward("viewer", R_INN, raw)
        self.assertEqual(code, 250, text)
        msg, _, _ = imap_wait(
            d, "viewer", "INBOX",
            lambda m, f: item in (m.get("In-Reply-To") or "") and
            any((p.get_filename() or "").endswith(".zip")
                for p in m.walk()))
        zpart = [p for p in msg.walk()
                 if (p.get_filename() or "").endswith(".zip")][0]
        self.check_layout(
            zipfile.ZipFile(io.BytesIO(zpart.get_payload(decode=True))))
        data, _ = make_mail(d.addr(R_INN), d.addr(L_INN), "Письмо",
                            "Текст\n")
        code, text = submit(d, "viewer", d.addr(R_INN), d.addr(L_INN), data)
        self.assertEqual(code, 550, text)
        self.assertIn("права подписи", text)
        self.assertIn("signing right", text)

    def test_reply_starting_with_paket_to_counteragent_is_a_letter(self):
        d = self.d
        data, mid = make_mail(d.addr(R_INN), d.addr(L_INN), "Документы",
                              "Пакет документов пришлём завтра\n")
        code, text = submit(d, "romashka", d.addr(R_INN), d.addr(L_INN),
                            data)
        self.assertEqual(code, 250, text)
        imap_wait(d, "lutik", "INBOX",
                  lambda m, f: "Документы" in (m["Subject"] or "") and
                  m.get("X-EDO-Kind") is not None)


if __name__ == "__main__":
    main()
