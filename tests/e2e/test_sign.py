"""Issue 13 items 1-3, 7: documents that request the recipient's signature.

Ромашка sends Лютик a document with [на подпись]; Лютик's letter says so at
the top and both items carry $EDO_NeedsSign.  Лютик answers «Подписать»:
both sides get a notice threaded to the item with the two signatures (the
sender's and the recipient's .sig, both verify) and $EDO_Signed.  A second
«Подписать» is refused at DATA.  A second letter to <id>+sign is refused
with a reason: the notice carries a DP_UVUTOCH valid against its XSD and
its .sig, and quotes the reason; a refusal without a reason and a «Sign» to
a letter that requested nothing are refused at DATA."""
import email
import email.policy
import re
import time

from edomail_harness import DaemonTestCase, main, utf7_encode, wait_for
from test_flow_notices import files_of, xsd_valid
from test_smtp_session import (L_INN, R_INN, SENT, imap_wait, imap_messages,
                               make_mail, submit, verify_sig)

UVUTOCH = "DP_UVUTOCH_1_985_00_01_03_01.xsd"
TO_SIGN = "Входящие/На подпись"


def subjects_uids(c):
    """{uid: subject} of the selected folder."""
    typ, data = c.uid("FETCH", "1:*", "(UID BODY.PEEK[HEADER.FIELDS "
                      "(SUBJECT)])")
    out = {}
    for item in data:
        if isinstance(item, tuple):
            uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
            out[uid] = parse(item[1])["Subject"]
    return out


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


class Sign(DaemonTestCase):
    tools = ("openssl-gost", "xmllint")

    def send_for_signature(self, subject, to, doc):
        d = self.d
        data, mid = make_mail(d.addr(R_INN), to, subject, "Прошу подписать\n",
                              [(doc[0], doc[1])])
        code, text = submit(d, "romashka", d.addr(R_INN), to, data)
        self.assertEqual(code, 250, text)
        inbox, flags, _ = imap_wait(
            d, "lutik", "INBOX",
            lambda m, f: m["Subject"] == subject.replace(
                "[на подпись] ", "").replace("[sign] ", "")
            and "$EDO_NeedsSign" in f)
        return inbox

    def reply(self, item, text, login="lutik", frm=L_INN, to=R_INN):
        d = self.d
        data, _ = make_mail(d.addr(frm), d.addr(to),
                            "Re: " + item["Subject"], text,
                            headers={"In-Reply-To": item["Message-ID"],
                                     "References": item["Message-ID"]})
        return submit(d, login, d.addr(frm), d.addr(to), data)

    def notice(self, login, item_id, word):
        note, _, _ = imap_wait(
            self.d, login, "INBOX",
            lambda m, f: m.get("X-EDO-Kind") == "notice" and
            item_id in (m.get("In-Reply-To") or "") and
            word in (m["Subject"] or ""), timeout=90)
        return note

    def test_1_request_and_sign(self):
        d = self.d
        doc = ("akt-7.pdf", b"%PDF-1.4 akt 7")
        item = self.send_for_signature("[на подпись] Акт 7", d.addr(L_INN),
                                       doc)
        body = item.get_body(preferencelist=("plain",)).get_content()
        self.assertIn("ТРЕБУЕТСЯ ВАША ПОДПИСЬ", body)
        self.assertIn("YOUR SIGNATURE IS REQUESTED", body)
        self.assertIn("Подписать", body)
        sent, sflags, _ = imap_wait(
            d, "romashka", SENT,
            lambda m, f: m["Subject"] == "Акт 7" and "$EDO_NeedsSign" in f)
        # a reply that neither signs nor refuses stays an answer; a
        # refusal without a reason is refused
        code, text = self.reply(item, "Отказать\n")
        self.assertEqual(code, 550, text)
        self.assertIn("причин", text)
        code, text = self.reply(item, "Подписать\n")
        self.assertEqual(code, 250, text)
        code, text = self.reply(item, "Подписываю\n")
        self.assertEqual(code, 550, text)
        self.assertIn("уже подписан", text)
        self.assertIn("already signed", text)
        for login, it in (("romashka", sent), ("lutik", item)):
            iid = it["Message-ID"].strip("<> ")
            note = self.notice(login, iid, "подписал" if login == "lutik"
                               else "подписаны")
            files = files_of(note)
            sigs = [n for n in files if n.endswith(".sig")]
            self.assertEqual(len(sigs), 2, "the sender's and the "
                             "recipient's signature: %s" % sigs)
            for n in sigs:
                self.assertTrue(verify_sig(doc[1], files[n], gost=True), n)
            nbody = note.get_body(preferencelist=("plain",)).get_content()
            self.assertIn("подписан получателем", nbody)
            self.assertIn("signed by the recipient", nbody)
        for login, folder, subj in (("romashka", SENT, "Акт 7"),
                                    ("lutik", "INBOX", "Акт 7")):
            imap_wait(d, login, folder,
                      lambda m, f: m["Subject"] == subj and
                      "$EDO_Signed" in f)

    def test_2_refuse_with_reason(self):
        d = self.d
        to = d.addr(L_INN).replace("@", "+sign@")
        item = self.send_for_signature("Счёт 8", to, ("schet-8.pdf",
                                                      b"%PDF-1.4 schet 8"))
        code, text = self.reply(item, "Отказать: неверная сумма\n")
        self.assertEqual(code, 250, text)
        sent, _, _ = imap_wait(d, "romashka", SENT,
                               lambda m, f: m["Subject"] == "Счёт 8" and
                               "$EDO_Refused" in f)
        note = self.notice("romashka", sent["Message-ID"].strip("<> "),
                           "Отказано")
        nbody = note.get_body(preferencelist=("plain",)).get_content()
        self.assertIn("неверная сумма", nbody)
        files = files_of(note)
        xmls = [n for n in files if n.startswith("DP_UVUTOCH_") and
                n.endswith(".xml")]
        self.assertEqual(len(xmls), 1, list(files))
        xml = files[xmls[0]]
        ok, out = xsd_valid(xml, UVUTOCH)
        self.assertTrue(ok, out)
        self.assertIn("неверная сумма".encode("cp1251"), xml)
        self.assertTrue(verify_sig(xml, files[xmls[0] + ".sig"], gost=True))
        code, text = self.reply(item, "Подписать\n")
        self.assertEqual(code, 550, text)
        self.assertIn("отказано", text)

    def test_3_sign_without_request(self):
        d = self.d
        data, _ = make_mail(d.addr(R_INN), d.addr(L_INN), "Письмо 9",
                            "Просто письмо\n", [("p9.pdf", b"%PDF p9")])
        code, text = submit(d, "romashka", d.addr(R_INN), d.addr(L_INN), data)
        self.assertEqual(code, 250, text)
        item, _, _ = imap_wait(d, "lutik", "INBOX",
                               lambda m, f: m["Subject"] == "Письмо 9")
        code, text = self.reply(item, "Sign\n")
        self.assertEqual(code, 550, text)
        self.assertIn("did not request", text)

    def test_4_to_sign_folder(self):
        """The virtual folder fills with the request and empties when
        another user of the organization (buh, signer of Лютик) signs;
        lutik's session open in it the whole time sees the EXPUNGE."""
        d = self.d
        watch = d.imap("lutik")
        try:
            typ, _ = watch.select('"%s"' % utf7_encode(TO_SIGN))
            self.assertEqual(typ, "OK")
            before = subjects_uids(watch)
            item = self.send_for_signature("[sign] Договор 10",
                                           d.addr(L_INN),
                                           ("dogovor-10.pdf",
                                            b"%PDF-1.4 dogovor 10"))
            got = {}

            def listed():
                watch.noop()
                got.update(subjects_uids(watch))
                return [u for u, s in got.items() if s == "Договор 10"
                        and u not in before]
            wait_for(listed, timeout=60, what="the item in To sign")
            uid = listed()[0]
            typ, data = watch.uid("FETCH", str(uid), "(FLAGS)")
            self.assertIn(b"$EDO_NeedsSign", data[0])
            # the user cannot move, copy or delete it there
            typ, data = watch.uid("MOVE", str(uid), '"%s"' %
                                  utf7_encode("Архив"))
            self.assertEqual(typ, "NO", data)
            self.assertIn("To sign", data[0].decode())
            typ, data = watch.uid("COPY", str(uid), '"%s"' %
                                  utf7_encode("Архив"))
            self.assertEqual(typ, "NO", data)
            typ, data = watch.uid("STORE", str(uid), "+FLAGS", "(\\Deleted)")
            self.assertEqual(typ, "NO", data)
            typ, _ = watch.expunge()
            self.assertEqual(typ, "OK")
            # buh (a signer of Лютик too) signs from his own session
            data, _ = make_mail(d.addr(L_INN), d.addr(R_INN),
                                "Re: Договор 10", "Согласовано\n",
                                headers={"In-Reply-To": item["Message-ID"],
                                         "References": item["Message-ID"]})
            code, text = submit(d, "buh", d.addr(L_INN), d.addr(R_INN), data)
            self.assertEqual(code, 250, text)
            expunged = []

            def gone():
                typ, data = watch.noop()
                expunged.extend(x for x in watch.untagged_responses.pop(
                    "EXPUNGE", []))
                return expunged and uid not in subjects_uids(watch)
            wait_for(gone, timeout=90, what="EXPUNGE of the signed item")
            typ, data = watch.uid("SEARCH", "UID", str(uid))
            self.assertEqual(data[0].split(), [])
            # the keyword tells the current state, on both sides
            _, flags, _ = imap_wait(
                d, "lutik", "INBOX",
                lambda m, f: m["Subject"] == "Договор 10" and
                "$EDO_Signed" in f)
            self.assertNotIn("$EDO_NeedsSign", flags)
            _, flags, _ = imap_wait(
                d, "romashka", SENT,
                lambda m, f: m["Subject"] == "Договор 10" and
                "$EDO_Signed" in f)
            self.assertNotIn("$EDO_NeedsSign", flags)
        finally:
            watch.logout()
        # a fresh session: not listed any more
        self.assertEqual([u for u, _, m in imap_messages(d, "lutik", TO_SIGN)
                          if parse(m)["Subject"] == "Договор 10"], [])
    def doc_states(self, inn, state=None):
        """{file name: state} of `edomailctl doc list` (with --state)."""
        args = ["doc", "list", inn] + (["--state", state] if state else [])
        out = {}
        for line in self.d.ctl(*args).stdout.splitlines()[1:]:
            cols = line.split()
            out[cols[-1]] = cols[-3]
        return out

    def test_5_reader_encrypt_and_doc_list(self):
        """Лютик asks Ромашка to sign through <id>+sign+encrypt; viewer (a
        reader of Ромашка) cannot sign it and nothing changes; romashka
        signs; `edomailctl doc list --state` follows the states."""
        d = self.d
        to = d.addr(R_INN).replace("@", "+sign+encrypt@")
        data, _ = make_mail(d.addr(L_INN), to, "Акт 11", "Подпишите\n",
                            [("akt-11.pdf", b"%PDF-1.4 akt 11")])
        code, text = submit(d, "lutik", d.addr(L_INN), to, data)
        self.assertEqual(code, 250, text)
        item, _, raw = imap_wait(
            d, "romashka", "INBOX",
            lambda m, f: m["Subject"] == "Акт 11" and "$EDO_NeedsSign" in f)
        self.assertEqual(self.doc_states(R_INN, "waiting").get("akt-11.pdf"),
                         "waiting")
        self.assertIn("akt-11.pdf", self.doc_states(L_INN, "waiting"))
        show = d.ctl("message", "show", R_INN,
                     item["Message-ID"].strip("<> ").split("@")[0]).stdout
        self.assertIn("Encrypted: yes", show)
        # the reader's «Подписать» is refused with the reason, bilingual
        data, _ = make_mail(d.addr(R_INN), d.addr(L_INN), "Re: Акт 11",
                            "Подписать\n",
                            headers={"In-Reply-To": item["Message-ID"],
                                     "References": item["Message-ID"]})
        code, text = submit(d, "viewer", d.addr(R_INN), d.addr(L_INN), data)
        self.assertEqual(code, 550, text)
        self.assertIn("нет права подписи", text)
        self.assertIn("no signing right", text)
        self.assertEqual(self.doc_states(R_INN).get("akt-11.pdf"), "waiting")
        code, text = self.reply(item, "Подписать\n", login="romashka",
                                frm=R_INN, to=L_INN)
        self.assertEqual(code, 250, text)
        self.assertEqual(self.doc_states(R_INN, "signed").get("akt-11.pdf"),
                         "signed")
        self.assertNotIn("akt-11.pdf", self.doc_states(R_INN, "waiting"))
        self.assertEqual(self.doc_states(L_INN, "signed").get("akt-11.pdf"),
                         "signed")
        r = d.ctl("doc", "list", R_INN, "--state", "bogus", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("unknown state", r.stderr)


if __name__ == "__main__":
    main()
