"""Issue 13 item 5: receipts and confirmations in the mail client.

Лютик sends Ромашка a signed letter.  With a certificate chosen for
receipts (`edomailctl org policy --receipt-cert`) Ромашка's receipt (ИоП)
is made at delivery and signed with that certificate, and the notices name
the signer.  With no choice made there is no receipt until a user of
Ромашка with the signing right opens the letter (FETCH BODY[] sets \\Seen);
a reader-only user opening it makes none; then the receipt exists, signed
with that user's certificate, only once.  The sender gets the receipt's
notice; the recipient gets notices of its ПДПол and of the ИоП it sent.
Every XML validates against its XSD and every .sig verifies with openssl;
the signer's certificate is the one expected."""
import os
import re
import subprocess
import tempfile
import time

from edomail_harness import DaemonTestCase, main, utf7_decode, wait_for
from test_flow_notices import (files_of, is_sent_of, notices_about, parse,
                               xsd_valid)
from test_smtp_session import (L_INN, R_INN, SENT, imap_messages, imap_wait,
                               make_mail, op_entities, submit, verify_sig)

SCHEMA = {"DP_IZVPOL_": "DP_IZVPOL_1_982_00_01_03_01.xsd",
          "DP_PDOTPR_": "DP_PDOTPR_1_983_00_01_03_01.xsd",
          "DP_PDPOL_": "DP_PDPOL_1_984_00_01_03_01.xsd"}


def schema_of(name):
    return next(x for p, x in SCHEMA.items() if name.startswith(p))


def signer_thumbprint(doc, sig):
    """The SHA-1 thumbprint of the certificate that made the detached
    signature sig over doc (openssl cms -verify -signer), upper hex."""
    with tempfile.TemporaryDirectory() as t:
        dp, sp, cp = (os.path.join(t, n) for n in ("doc", "sig", "cert"))
        with open(dp, "wb") as f:
            f.write(doc)
        with open(sp, "wb") as f:
            f.write(sig)
        subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform",
                        "DER", "-noverify", "-in", sp, "-content", dp,
                        "-signer", cp, "-out", "/dev/null"],
                       check=True, capture_output=True)
        r = subprocess.run(["openssl", "x509", "-in", cp, "-noout",
                            "-fingerprint", "-sha1"], check=True,
                           capture_output=True, text=True)
        return r.stdout.strip().split("=", 1)[1].replace(":", "").upper()


class Receipts(DaemonTestCase):
    tools = ("openssl-gost", "xmllint")

    def cert_of(self, login, box):
        """(id, thumbprint) of login's certificate in box."""
        out = self.d.ctl("cert", "list", login).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) > 3 and parts[1] == login and parts[2] == box:
                return parts[0], parts[-1].upper()
        self.fail("no certificate of %s in %s:\n%s" % (login, box, out))

    def send(self, subject):
        """Лютик sends Ромашка a signed letter; the EDO message id and the
        Message-ID of Лютик's Sent item."""
        d = self.d
        data, mid = make_mail(d.addr(L_INN), d.addr(R_INN), subject,
                              "Документ во вложении\n",
                              [("akt.pdf", b"%PDF-1.4 " + subject.encode())])
        code, text = submit(d, "lutik", d.addr(L_INN), d.addr(R_INN), data)
        self.assertEqual(code, 250, text)
        sent, _, _ = imap_wait(d, "lutik", SENT,
                               lambda m, f: is_sent_of(m, mid))
        return sent["X-EDO-Message-Id"], sent["Message-ID"].strip("<> ")

    def receipts(self, edo_id):
        """[(xml, sig)] of the receipts the operator holds for edo_id."""
        ents = op_entities(self.d, edo_id)
        return [(e["data"], s["data"]) for e in ents
                if e["kind"] == "receipt"
                for s in ents if s["kind"] == "receipt-signature" and
                s["parent"] == e["id"]]

    def wait_notice(self, login, about, prefix, timeout=60):
        """The notice in login's INBOX answering Message-ID about that
        carries a file starting with prefix; its files are checked: each
        XML valid against its schema, each .sig verifies."""
        found = []

        def look():
            for _, note in notices_about(self.d, login, about):
                files = files_of(note)
                if any(n.startswith(prefix) for n in files):
                    found.append(note)
                    return True
            return False
        wait_for(look, timeout=timeout, what="%s notice of %s" % (prefix,
                                                                  login))
        note = found[0]
        self.assertEqual(note["In-Reply-To"].strip(), "<%s>" % about)
        self.assertIn(about, note["References"])
        files = files_of(note)
        for name, xml in files.items():
            if name.endswith(".sig"):
                continue
            ok, out = xsd_valid(xml, schema_of(name))
            self.assertTrue(ok, "%s: %s" % (name, out))
            self.assertTrue(verify_sig(xml, files[name + ".sig"], gost=True),
                            name + ".sig verifies")
        return note, files

    def incoming_item(self, login, edo_id):
        msg, _, _ = imap_wait(self.d, login, "INBOX",
                              lambda m, f: m["X-EDO-Message-Id"] == edo_id and
                              m["X-EDO-Kind"] != "notice")
        return msg["Message-ID"].strip("<> ")

    def inbox_of(self, c, login):
        """Ромашка's incoming folder: INBOX, or for a user of several
        organizations (buh) "<Ромашка's tree>/Входящие"."""
        if login != "buh":
            return "INBOX"
        typ, data = c.list('""', "*")
        for x in data:
            name = re.search(rb'"/" "?([^"]*)"?$', x).group(1).decode()
            dec = utf7_decode(name)
            if R_INN in dec and dec.endswith("/Входящие"):
                return '"%s"' % name
        self.fail("no Ромашка incoming folder of buh: %s" % data)

    def read(self, login, edo_id, how="fetch"):
        """login opens the letter as a mail client does: FETCH BODY[]
        (sets \\Seen) or STORE +FLAGS (\\Seen)."""
        c = self.d.imap(login)
        try:
            c.select(self.inbox_of(c, login))
            typ, data = c.uid("SEARCH", "HEADER", "X-EDO-Message-Id", edo_id)
            uids = [u for u in data[0].split()]
            self.assertTrue(uids, "the letter is in %s's INBOX" % login)
            for uid in uids:
                if how == "fetch":
                    typ, data = c.uid("FETCH", uid, "(BODY[])")
                else:
                    typ, data = c.uid("STORE", uid, "+FLAGS", "(\\Seen)")
                self.assertEqual(typ, "OK")
                typ, data = c.uid("FETCH", uid, "(FLAGS)")
                self.assertIn(b"\\Seen", data[0])
        finally:
            c.logout()

    def test_policy_receipt_at_delivery(self):
        d = self.d
        r_box = d.box_id(R_INN)
        cid, tp = self.cert_of("buh", r_box)
        d.ctl("org", "policy", R_INN, "--receipt-cert", tp.lower())
        show = d.ctl("org", "show", R_INN).stdout
        self.assertIn("Receipts: certificate %s" % cid, show)
        self.assertIn("(buh)", show)
        edo_id, sent_item = self.send("Акт 1")
        # Nobody reads it: the receipt comes at delivery anyway.
        wait_for(lambda: self.receipts(edo_id), what="the receipt")
        (xml, sig), = self.receipts(edo_id)
        self.assertEqual(signer_thumbprint(xml, sig), tp)
        # The sender's notice carries it and names the signer.
        note, files = self.wait_notice("lutik", sent_item, "DP_IZVPOL_")
        body = note.get_body(preferencelist=("plain",)).get_content()
        self.assertIn(tp, body.upper())
        self.assertIn("Иванова", body)      # buh's name, the cert's CN
        # The recipient: its ПДПол and its own ИоП, threaded to its item.
        item = self.incoming_item("romashka", edo_id)
        note, files = self.wait_notice("romashka", item, "DP_PDPOL_")
        self.assertIn("дата получения", note["Subject"].lower())
        note, files = self.wait_notice("romashka", item, "DP_IZVPOL_")
        body = note.get_body(preferencelist=("plain",)).get_content()
        self.assertIn(tp, body.upper())
        self.assertIn("your receipt notice", body)
        # The sender does not get the recipient's ПДПол, nor the
        # recipient the sender's ПДОтпр.
        for _, n in notices_about(d, "lutik", sent_item):
            self.assertFalse([f for f in files_of(n)
                              if f.startswith("DP_PDPOL_")])
        for _, n in notices_about(d, "romashka", item):
            self.assertFalse([f for f in files_of(n)
                              if f.startswith("DP_PDOTPR_")])
        # The keywords stay.
        imap_wait(d, "romashka", "INBOX",
                  lambda m, f: m["X-EDO-Message-Id"] == edo_id and
                  "$EDO_Receipt" in f and "$EDO_Confirmed" in f)
        imap_wait(d, "lutik", SENT,
                  lambda m, f: m["X-EDO-Message-Id"] == edo_id and
                  "$EDO_Receipt" in f and "$EDO_Confirmed" in f)

    def test_no_policy_receipt_on_first_signer_read(self):
        d = self.d
        r_box = d.box_id(R_INN)
        d.ctl("org", "policy", R_INN, "--receipt-cert", "none")
        self.assertIn("first signer", d.ctl("org", "show", R_INN).stdout)
        edo_id, sent_item = self.send("Акт 2")
        item = self.incoming_item("romashka", edo_id)
        # The ПДПол notice comes at delivery; no receipt is made.
        self.wait_notice("romashka", item, "DP_PDPOL_")
        time.sleep(2)
        self.assertEqual(self.receipts(edo_id), [])
        # A reader opens it: still none.
        self.read("viewer", edo_id)
        time.sleep(2)
        self.assertEqual(self.receipts(edo_id), [], "a reader signs nothing")
        # The owner opens it: the receipt exists, signed with its own
        # certificate.
        _, tp = self.cert_of("romashka", r_box)
        self.read("romashka", edo_id)
        wait_for(lambda: self.receipts(edo_id), what="the receipt")
        (xml, sig), = self.receipts(edo_id)
        self.assertEqual(signer_thumbprint(xml, sig), tp)
        ok, out = xsd_valid(xml, SCHEMA["DP_IZVPOL_"])
        self.assertTrue(ok, out)
        self.assertIn("Петров", xml.decode("cp1251"))  # romashka's ФИО
        note, _ = self.wait_notice("lutik", sent_item, "DP_IZVPOL_")
        body = note.get_body(preferencelist=("plain",)).get_content()
        self.assertIn(tp, body.upper())
        note, _ = self.wait_notice("romashka", item, "DP_IZVPOL_")
        self.assertIn("Receipt notice sent", note["Subject"])
        # Another signer reading it later (STORE \Seen) makes no second.
        self.read("buh", edo_id, how="store")
        time.sleep(2)
        self.assertEqual(len(self.receipts(edo_id)), 1)

    def test_receipt_cert_option_checks(self):
        d = self.d
        l_box = d.box_id(L_INN)
        # another organization's certificate, a reader, nobody
        cid, _ = self.cert_of("lutik", l_box)
        for arg in (cid, "viewer", "nobody-such"):
            r = d.ctl("org", "policy", R_INN, "--receipt-cert", arg,
                      check=False)
            self.assertNotEqual(r.returncode, 0, arg)
        r = d.ctl("org", "policy", R_INN, "--receipt-cert", "buh")
        self.assertIn("current certificate of buh", r.stdout)


if __name__ == "__main__":
    main()
