"""Issue 11 §3: the state of a sent letter is visible in the client.

Ромашка sends Лютик a signed letter by SMTP.  Its INBOX gets notice
letters answering the Sent item (In-Reply-To and References name the Sent
item's Message-ID): delivery with the operator's date confirmation, and
Лютик's receipt notice (ИоП), as one notice or two depending on when the
sender's sync ran, each signed XML exactly once, valid against the FNS
schema, with a .sig that openssl verifies.  Nobody else gets anything; a
restart does not make them again."""
import email
import email.header
import email.policy
import os
import re
import subprocess
import tempfile
import time

from edomail_harness import SRC, DaemonTestCase, main
from test_smtp_session import (L_INN, R_INN, SENT, imap_messages,
                               imap_wait, make_mail, submit, verify_sig)

FORMATS = os.path.join(SRC, "data", "formats")
SCHEMA = {"DP_IZVPOL_": "DP_IZVPOL_1_982_00_01_03_01.xsd",
          "DP_PDOTPR_": "DP_PDOTPR_1_983_00_01_03_01.xsd"}


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def files_of(msg):
    return {p.get_filename(): p.get_payload(decode=True)
            for p in msg.walk() if p.get_filename() and not p.is_multipart()}


def xsd_valid(xml, xsd):
    """xmllint --schema; (ok, its output)."""
    with tempfile.NamedTemporaryFile(suffix=".xml") as f:
        f.write(xml)
        f.flush()
        r = subprocess.run(["xmllint", "--noout", "--schema",
                            os.path.join(FORMATS, xsd), f.name],
                           capture_output=True, text=True)
        return r.returncode == 0, r.stdout + r.stderr


def is_sent_of(m, mid):
    """m is the Sent item of the mail the client sent with Message-ID mid."""
    return (m.get("X-EDO-Client-Message-ID") or "").strip("<> ") == mid


def notices_about(d, login, mid):
    """[(uid, msg)] of the notices in INBOX that answer Message-ID mid."""
    out = []
    for uid, _, raw in imap_messages(d, login, "INBOX"):
        msg = parse(raw)
        if msg.get("X-EDO-Kind") == "notice" and \
                mid in (msg.get("In-Reply-To") or ""):
            out.append((uid, msg))
    return out


class FlowNotices(DaemonTestCase):
    tools = ("openssl-gost", "xmllint")

    def wait_flow(self, login, mid, timeout=60):
        """The notices answering mid once they carry both the operator's
        confirmation and the receipt."""
        deadline = time.time() + timeout
        while True:
            notes = notices_about(self.d, login, mid)
            names = [n for _, m in notes for n in files_of(m)]
            if any(n.startswith("DP_IZVPOL_") for n in names) and \
                    any(n.startswith("DP_PDOTPR_") for n in names):
                return notes
            if time.time() > deadline:
                self.fail("notices of %s: %s" % (mid, names))
            time.sleep(0.5)

    def test_1_sender_gets_signed_notices(self):
        d = self.d
        data, mid = make_mail(d.addr(R_INN), d.addr(L_INN), "Счёт 15",
                              "Счёт во вложении\n",
                              [("schet-15.pdf", b"%PDF-1.4 schet 15")])
        code, text = submit(d, "romashka", d.addr(R_INN), d.addr(L_INN),
                            data)
        self.assertEqual(code, 250, text)
        sent, flags, _ = imap_wait(
            d, "romashka", SENT, lambda m, f: is_sent_of(m, mid))
        # the Sent item has the EDO message's own Message-ID (so that
        # Thunderbird does not take its copy for it, doc/imap.md); the
        # notices answer that one
        item = sent["Message-ID"].strip("<> ")
        self.assertNotEqual(item, mid)
        notes = self.wait_flow("romashka", item)
        self.assertIn(len(notes), (1, 2),
                      "delivery+confirmation and receipt: one or two "
                      "notices, not one per event")
        seen = {}
        for uid, note in notes:
            self.assertEqual(note["In-Reply-To"].strip(), "<%s>" % item)
            self.assertIn(item, note["References"])
            frm = str(email.header.make_header(
                email.header.decode_header(note["From"])))
            self.assertIn("Шлюз ЭДО / EDO gateway", frm)
            self.assertIn("postmaster@", frm)
            self.assertIn("Счёт 15", note["Subject"])
            body = note.get_body(preferencelist=("plain",)).get_content()
            self.assertIn("ООО Лютик", body)
            self.assertIn("schet-15.pdf", body)
            self.assertIn("UTC", body)
            files = files_of(note)
            for name, xml in files.items():
                if name.endswith(".sig"):
                    self.assertIn(name[:-4], files, "a .sig with its XML")
                    continue
                prefix = name[:10]
                self.assertIn(prefix, SCHEMA, name)
                self.assertNotIn(prefix, seen, "each signed XML once")
                seen[prefix] = uid
                ok, out = xsd_valid(xml, SCHEMA[prefix])
                self.assertTrue(ok, "%s against %s: %s" %
                                (name, SCHEMA[prefix], out))
                self.assertIn(name + ".sig", files)
                self.assertTrue(verify_sig(xml, files[name + ".sig"],
                                           gost=True),
                                "%s.sig verifies" % name)
                self.assertIn(name, body, "the text names the file")
            if "DP_PDOTPR_" in [n[:10] for n in files]:
                self.assertIn("Доставлено", note["Subject"])
                self.assertIn("Delivered", note["Subject"])
                self.assertIn("подтверждение оператора", body)
            if "DP_IZVPOL_" in [n[:10] for n in files]:
                self.assertIn("получено адресатом", note["Subject"].lower())
                self.assertIn("receipt notice", body)
        self.assertEqual(set(seen), set(SCHEMA))
        # The keywords stay, for clients that show them.
        _, flags, _ = imap_wait(
            d, "romashka", SENT,
            lambda m, f: is_sent_of(m, mid) and "$EDO_Receipt" in f)
        for kw in ("$EDO_Delivered", "$EDO_Confirmed", "$EDO_Receipt"):
            self.assertIn(kw, flags)
        # The recipient's notices are its own (ПДПол, its ИоП:
        # test_receipts.py); the third organization sees nothing of it.
        for login in ("vasilek",):
            self.assertEqual(notices_about(d, login, item), [], login)
        for _, _, raw in imap_messages(d, "vasilek", "INBOX"):
            self.assertNotIn(mid.encode(), raw)
            self.assertNotIn(item.encode(), raw)
        _, lflags, _ = imap_wait(
            d, "lutik", "INBOX",
            lambda m, f: m["Subject"] == "Счёт 15" and "$EDO_Receipt" in f)
        self.__class__.mid = item
        self.__class__.count = len(notes)

    def test_2_restart_makes_no_second_notice(self):
        d = self.d
        mid = getattr(self.__class__, "mid", None)
        self.assertIsNotNone(mid, "test_1 ran")
        before = [m["Message-ID"] for _, m in notices_about(d, "romashka",
                                                            mid)]
        self.assertEqual(len(before), self.__class__.count)
        d.restart()
        # a login syncs; give the startup's receipt work time to run too
        time.sleep(2)
        after = [m["Message-ID"] for _, m in notices_about(d, "romashka",
                                                           mid)]
        self.assertEqual(sorted(after), sorted(before))
        total = len(imap_messages(d, "romashka", "INBOX"))
        time.sleep(1)
        self.assertEqual(len(imap_messages(d, "romashka", "INBOX")), total)

    def test_3_unsigned_letter_delivery_only(self):
        """A letter without documents has nothing to confirm or receipt:
        one notice of its delivery, without files."""
        d = self.d
        data, mid = make_mail(d.addr(R_INN), d.addr(L_INN), "Просто текст",
                              "Без вложений\n")
        code, text = submit(d, "romashka", d.addr(R_INN), d.addr(L_INN),
                            data)
        self.assertEqual(code, 250, text)
        sent, _, _ = imap_wait(d, "romashka", SENT,
                               lambda m, f: is_sent_of(m, mid))
        mid = sent["Message-ID"].strip("<> ")
        note, _, _ = imap_wait(
            d, "romashka", "INBOX",
            lambda m, f: m.get("X-EDO-Kind") == "notice" and
            mid in (m.get("In-Reply-To") or ""))
        self.assertIn("Доставлено / Delivered", note["Subject"])
        self.assertEqual(files_of(note), {})
        time.sleep(2)
        self.assertEqual(len(notices_about(d, "romashka", mid)), 1)


if __name__ == "__main__":
    main()
