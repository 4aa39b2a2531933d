#!/usr/bin/env python3
"""IMAP end-to-end: the real edomaild driven with Python's imaplib.

Login over STARTTLS and 993, the folder tree with special-use, an
invitation in Входящие/Приглашения, a signed message with two
Cyrillic-named attachments (BODYSTRUCTURE, exact RFC822.SIZE, decoded
attachments, `openssl cms -verify`), 64 KiB partial fetches, SEARCH, MOVE
to Архив (checked with edomailctl, and after a restart with the same UID),
IDLE, cross-organization isolation, a blocked user and a user folder under
Архив used as an ordinary IMAP folder.
"""
import email
import email.policy
import imaplib
import os
import re
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
from email.message import EmailMessage

import edomail_harness as h
from edomail_harness import wait_for
from edomail_harness import utf7_encode as u7

INBOX_INV = "Входящие/Приглашения"
ARCHIVE = "Архив"

DOC1_NAME = "Счёт на оплату №42.pdf"
DOC1 = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
DOC2_NAME = "Акт сверки (январь).xml"
DOC2 = ('<?xml version="1.0" encoding="utf-8"?><акт номер="7">'
        + "сверка " * 3000 + "</акт>").encode()


def q(name):
    """A mailbox name for imaplib: modified UTF-7, quoted."""
    return '"%s"' % u7(name)


def ok(res):
    typ, data = res
    if typ != "OK":
        raise AssertionError("expected OK, got %s %r" % (typ, data))
    return data


def fetch_one(c, seq, items, uid=False):
    """(dict of item -> value) for one message, literal values as bytes."""
    typ, data = c.uid("FETCH", seq, items) if uid else c.fetch(seq, items)
    if typ != "OK":
        raise AssertionError("FETCH failed: %r" % (data,))
    out = {}
    for part in data:
        if isinstance(part, tuple):
            head, lit = part
            key = re.search(rb"([A-Z0-9.]+(?:\[[^\]]*\])?(?:<\d+>)?) \{\d+\}$",
                            head).group(1).decode()
            out[key] = lit
            out["_head"] = out.get("_head", b"") + head
        elif part not in (b")",):
            out["_head"] = out.get("_head", b"") + part
    return out


def exists(c, box):
    data = ok(c.status(q(box), "(MESSAGES)"))
    return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))


def make_letter(d, subject, body, attachments):
    m = EmailMessage()
    m["From"] = d.addr(h.LUTIK["inn"])
    m["To"] = d.addr(h.ROMASHKA["inn"])
    m["Subject"] = subject
    m.set_content(body)
    for name, data, mt in attachments:
        main, sub = mt.split("/")
        m.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return m


class ImapTest(h.DaemonTestCase):
    tools = ("openssl-gost",)  # openssl cms -verify of GOST signatures

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.d
        # an EDO message from Лютик (GOST signature) with two documents
        m = make_letter(d, "Счёт и акт за январь", "Добрый день!\nДокументы во вложении.\n",
                        [(DOC1_NAME, DOC1, "application/pdf"),
                         (DOC2_NAME, DOC2, "application/xml")])
        s = d.smtp("lutik")
        s.send_message(m)
        s.quit()
        # an invitation from Василёк to Ромашка
        d.ctl("invite", h.VASILEK["inn"], h.ROMASHKA["inn"], "--text",
              "Предлагаем обмен документами через ЭДО")
        c = d.imap("romashka")
        wait_for(lambda: exists(c, "INBOX") >= 1 and exists(c, INBOX_INV) >= 1)
        c.logout()

    # ---- login ----
    def test_login_starttls_and_993(self):
        c = imaplib.IMAP4("127.0.0.1", self.d.ports["imap"])
        caps = c.capabilities
        self.assertIn("STARTTLS", caps)
        self.assertIn("LOGINDISABLED", caps)
        self.assertNotIn("AUTH=PLAIN", caps)
        with self.assertRaises(imaplib.IMAP4.error):
            c.login("romashka", h.PASSWORD)
        c.starttls(ssl_context=self.d.tls_context())
        typ, caps = c.capability()
        self.assertIn(b"AUTH=PLAIN", caps[0])
        self.assertNotIn(b"STARTTLS", caps[0])
        ok(c.login("romashka", h.PASSWORD))
        for cap in ("IDLE", "UIDPLUS", "MOVE", "SPECIAL-USE", "LIST-EXTENDED",
                    "NAMESPACE", "ID", "UNSELECT", "CHILDREN", "LITERAL+",
                    "ENABLE", "SASL-IR"):
            self.assertIn(cap, c.capabilities)
        c.logout()
        c = self.d.imap("romashka", mode="ssl")
        ok(c.noop())
        # AUTHENTICATE PLAIN (SASL-IR by imaplib's authenticate)
        c.logout()
        c = imaplib.IMAP4_SSL("127.0.0.1", self.d.ports["imaps"],
                              ssl_context=self.d.tls_context())
        ok(c.authenticate("PLAIN", lambda _: b"\0romashka\0" + h.PASSWORD.encode()))
        c.logout()

    def test_wrong_password(self):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.d.ports["imaps"],
                              ssl_context=self.d.tls_context())
        with self.assertRaises(imaplib.IMAP4.error) as e:
            c.login("romashka", "wrong")
        self.assertIn("AUTHENTICATIONFAILED", str(e.exception))
        c.logout()

    # ---- folders ----
    def test_list_special_use(self):
        c = self.d.imap("romashka")
        data = ok(c.list('""', "*"))
        lines = [x.decode() for x in data]
        names = {}
        for l in lines:
            m = re.match(r'\(([^)]*)\) "/" (.*)$', l)
            name = m.group(2).strip('"')
            names[h.utf7_decode(name)] = m.group(1).split()
        for folder, attr in (("Отправленные", "\\Sent"), ("Черновики", "\\Drafts"),
                             (ARCHIVE, "\\Archive"), ("Корзина", "\\Trash")):
            self.assertIn(folder, names)
            self.assertIn(attr, names[folder])
        self.assertIn("INBOX", names)
        self.assertIn(INBOX_INV, names)
        self.assertIn("Исходящие/Приглашения", names)
        self.assertIn("Адресная книга", names)
        # LIST-EXTENDED: selection SPECIAL-USE and RETURN options
        typ, data = c._simple_command("LIST", "(SPECIAL-USE)", '""', '"*"',
                                      "RETURN", "(SPECIAL-USE SUBSCRIBED)")
        self.assertEqual(typ, "OK")
        special = c.untagged_responses.pop("LIST", [])
        self.assertEqual(len(special), 4, special)
        # "%" does not descend; the reference name is prefixed
        top = [h.utf7_decode(re.search(rb'"/" "?([^"]*)"?$', x).group(1).decode())
               for x in ok(c.list('""', "%"))]
        self.assertIn("Входящие", top)
        self.assertNotIn(INBOX_INV, top)
        sub = ok(c.list(q("Входящие/"), "%"))
        self.assertTrue(any(u7("Приглашения").encode() in x for x in sub), sub)
        ok(c.lsub('""', "*"))
        data = ok(c.namespace())
        self.assertIn(b'(("" "/"))', data[0])
        c.logout()

    def test_invitation(self):
        c = self.d.imap("romashka")
        ok(c.select(q(INBOX_INV), readonly=True))
        data = fetch_one(c, "1", "(ENVELOPE BODY.PEEK[HEADER] BODY.PEEK[TEXT] FLAGS)")
        hdr = email.message_from_bytes(data["BODY[HEADER]"], policy=email.policy.default)
        self.assertIn("Василёк", str(hdr["From"]))
        self.assertIn(self.d.box_id(h.VASILEK["inn"]), str(hdr["From"]))
        text = email.message_from_bytes(data["BODY[HEADER]"] + data["BODY[TEXT]"],
                                        policy=email.policy.default)
        body = text.get_body(preferencelist=("plain",)).get_content()
        self.assertIn(h.VASILEK["inn"], body)
        self.assertIn("Предлагаем обмен документами", body)
        self.assertIn("Принять", body)
        c.logout()

    # ---- the EDO message ----
    def _message(self, c):
        ok(c.select("INBOX"))
        # UTF-8 search strings go as a literal
        c.literal = "январь".encode()
        typ, data = c.search("UTF-8", "SUBJECT")
        seqs = data[0].split()
        # the letter, not the notices answering it (their subject names
        # the letter's too: issue 13 item 5 gives the recipient its own)
        letters = []
        for s in seqs:
            typ, d = c.fetch(s, "(BODY.PEEK[HEADER.FIELDS (X-EDO-KIND)])")
            if b"notice" not in d[0][1]:
                letters.append(s)
        self.assertTrue(letters, "message not found")
        return letters[-1].decode()

    def test_message_structure_and_attachments(self):
        c = self.d.imap("romashka")
        seq = self._message(c)
        data = fetch_one(c, seq, "(RFC822.SIZE BODYSTRUCTURE BODY.PEEK[])")
        raw = data["BODY[]"]
        size = int(re.search(rb"RFC822.SIZE (\d+)", data["_head"]).group(1))
        self.assertEqual(size, len(raw))
        bs = data["_head"].decode("utf-8", "replace")
        self.assertIn('"mixed"', bs)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        files = {}
        for part in msg.walk():
            fn = part.get_filename()
            if fn:
                files[fn] = part.get_payload(decode=True)
        self.assertEqual(files.get(DOC1_NAME), DOC1)
        self.assertEqual(files.get(DOC2_NAME), DOC2)
        # BODYSTRUCTURE names every attachment part with its size; fetch
        # each body part by number and compare with the MIME parser
        parts = [p for p in msg.walk() if not p.is_multipart()]
        self.assertGreaterEqual(len(parts), 4)
        for i in range(1, len(msg.get_payload()) + 1):
            d2 = fetch_one(c, seq, "(BODY.PEEK[%d] BODY.PEEK[%d.MIME])" % (i, i))
            mime = d2["BODY[%d.MIME]" % i]
            body = d2["BODY[%d]" % i]
            sub = msg.get_payload()[i - 1]
            if not sub.is_multipart():
                self.assertEqual(email.message_from_bytes(mime + body).get_payload(decode=True),
                                 sub.get_payload(decode=True))
        # detached signatures verify with openssl cms (GOST via the engine)
        sigs = {fn: b for fn, b in files.items() if fn.endswith(".sig")}
        self.assertIn(DOC1_NAME + ".sig", sigs)
        self.assertIn(DOC2_NAME + ".sig", sigs)
        with tempfile.TemporaryDirectory() as tmp:
            for doc in (DOC1_NAME, DOC2_NAME):
                dp = os.path.join(tmp, "doc")
                sp = os.path.join(tmp, "sig")
                with open(dp, "wb") as f:
                    f.write(files[doc])
                with open(sp, "wb") as f:
                    f.write(sigs[doc + ".sig"])
                r = subprocess.run(["openssl", "cms", "-verify", "-engine", "gost",
                                    "-binary", "-inform", "DER", "-in", sp,
                                    "-content", dp, "-noverify", "-out", os.devnull],
                                   capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("Verification successful", r.stderr)
        c.logout()

    def test_partial_fetch_64k(self):
        c = self.d.imap("romashka")
        seq = self._message(c)
        whole = fetch_one(c, seq, "(BODY.PEEK[])")["BODY[]"]
        self.assertGreater(len(whole), 65536)
        got, off = b"", 0
        while True:
            d = fetch_one(c, seq, "(BODY.PEEK[]<%d.65536>)" % off)
            chunk = d["BODY[]<%d>" % off]
            got += chunk
            if len(chunk) < 65536:
                break
            off += 65536
        self.assertEqual(got, whole)
        # past the end: empty
        d = fetch_one(c, seq, "(BODY.PEEK[]<%d.10>)" % (len(whole) + 5))
        self.assertEqual(d["BODY[]<%d>" % (len(whole) + 5)], b"")
        c.logout()

    def test_seen_on_body_fetch(self):
        c = self.d.imap("romashka")
        seq = self._message(c)
        ok(c.store(seq, "-FLAGS", "(\\Seen)"))
        typ, data = c.fetch(seq, "(BODY[HEADER.FIELDS (SUBJECT)])")
        self.assertIn(b"\\Seen", b" ".join(x[0] if isinstance(x, tuple) else x for x in data))
        ok(c.store(seq, "-FLAGS.SILENT", "(\\Seen)"))
        typ, data = c.fetch(seq, "(FLAGS)")
        self.assertNotIn(b"\\Seen", data[0])
        c.logout()

    def test_search(self):
        c = self.d.imap("romashka")
        seq = self._message(c)
        c.literal = "документы во вложении".encode()
        self.assertIn(seq.encode(), ok(c.search("UTF-8", "BODY"))[0].split())
        c.literal = "лютик".encode()
        self.assertIn(seq.encode(), ok(c.search("UTF-8", "FROM"))[0].split())
        self.assertIn(seq.encode(), ok(c.search(None, "FROM", self.d.box_id(h.LUTIK["inn"])))[0].split())
        today = time.strftime("%d-%b-%Y", time.gmtime())
        self.assertIn(seq.encode(), ok(c.search(None, "SINCE", "1-Jan-2020"))[0].split())
        self.assertNotIn(seq.encode(), ok(c.search(None, "BEFORE", "1-Jan-2020"))[0].split())
        self.assertIn(seq.encode(), ok(c.search(None, "SENTSINCE", "1-Jan-2020", "SENTBEFORE", "1-Jan-2100"))[0].split())
        self.assertEqual(ok(c.search(None, "SUBJECT", "nonexistent-word-xyz"))[0], b"")
        uids = ok(c.uid("SEARCH", None, "ALL"))[0].split()
        self.assertTrue(uids)
        typ, data = c.search("KOI8-R", "ALL")
        self.assertEqual(typ, "NO")
        self.assertIn(b"BADCHARSET", data[0])
        del today
        c.logout()

    # ---- MOVE to the archive and back, through the operator ----
    def test_move_to_archive_and_restart(self):
        c = self.d.imap("romashka")
        seq = self._message(c)
        data = fetch_one(c, seq, "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID X-EDO-MESSAGE-ID)])")
        hdr = data["BODY[HEADER.FIELDS (MESSAGE-ID X-EDO-MESSAGE-ID)]"].decode()
        typ, resp = c._simple_command("MOVE", seq, q(ARCHIVE))
        self.assertEqual(typ, "OK", resp)
        copyuid = c.untagged_responses.get("OK", [])
        m = [re.search(rb"COPYUID (\d+) (\d+) (\d+)", x) for x in copyuid]
        m = [x for x in m if x]
        self.assertTrue(m, copyuid)
        validity, new_uid = m[-1].group(1), m[-1].group(3)
        self.assertIn("EXPUNGE", c.untagged_responses)
        c.logout()
        edo_id = re.search(r"<([^@>]+)@", hdr).group(1)
        out = self.d.ctl("message", "show", h.ROMASHKA["inn"], edo_id).stdout
        self.assertRegex(out.lower(), r"архив|archiv")
        # restart: same UIDVALIDITY and UID in the archive
        self.assertEqual(self.d.stop(), 0)
        log = self.d.log()
        for bad in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
            self.assertNotIn(bad, log)
        # the log says "ready" from the first start: start() would not wait
        # for the second one, so the checked log is set aside
        os.replace(self.d.log_path, self.d.log_path + ".1")
        self.d.start()
        c = self.d.imap("romashka")
        data = ok(c.select(q(ARCHIVE)))
        self.assertEqual(c.untagged_responses.get("UIDVALIDITY", [b""])[0], validity)
        uids = ok(c.uid("SEARCH", None, "ALL"))[0].split()
        self.assertIn(new_uid, uids)
        # and back to INBOX: restored at the operator
        typ, resp = c.uid("MOVE", new_uid.decode(), "INBOX")
        self.assertEqual(typ, "OK", resp)
        c.logout()

    # ---- IDLE ----
    def test_idle_sees_new_message(self):
        c = self.d.imap("romashka")
        ok(c.select("INBOX"))
        count = int(c.untagged_responses["EXISTS"][-1])
        tag = c._new_tag()
        c.send(tag + b" IDLE\r\n")
        self.assertTrue(c.readline().startswith(b"+"))
        m = make_letter(self.d, "Новое сообщение для IDLE", "Проверка IDLE\n", [])
        s = self.d.smtp("lutik")
        s.send_message(m)
        s.quit()
        c.sock.settimeout(30)
        line = c.readline()
        while not line.endswith(b"EXISTS\r\n"):
            line = c.readline()
        self.assertGreater(int(line.split()[1]), count)
        c.send(b"DONE\r\n")
        while True:
            line = c.readline()
            if line.startswith(tag):
                self.assertIn(b"OK", line)
                break
        c.logout()

    def test_idle_sees_invitation_from_edomailctl(self):
        # another process (edomailctl) acts at the operator: the daemon's
        # poll notifies the mailbox layer, IDLE pushes at once
        c = self.d.imap("lutik")
        ok(c.select(q(INBOX_INV)))
        count = int(c.untagged_responses["EXISTS"][-1])
        tag = c._new_tag()
        c.send(tag + b" IDLE\r\n")
        self.assertTrue(c.readline().startswith(b"+"))
        start = time.time()
        self.d.ctl("invite", h.VASILEK["inn"], h.LUTIK["inn"], "--text", "Приглашение для IDLE")
        c.sock.settimeout(20)
        line = c.readline()
        while not line.endswith(b"EXISTS\r\n"):
            line = c.readline()
        self.assertEqual(int(line.split()[1]), count + 1)
        self.assertLess(time.time() - start, 10)
        c.send(b"DONE\r\n")
        while not c.readline().startswith(tag):
            pass
        c.logout()

    # ---- isolation ----
    def test_cross_org_refused(self):
        # buh serves Ромашка and Лютик: one top-level tree per organization
        b = self.d.imap("buh")
        tops = [h.utf7_decode(re.search(rb'"/" "?([^"]*)"?$', x).group(1).decode())
                for x in ok(b.list('""', "%"))]
        romashka_top = [t for t in tops if h.ROMASHKA["inn"] in t]
        self.assertTrue(romashka_top, tops)
        foreign = romashka_top[0] + "/" + ARCHIVE
        b.logout()
        c = self.d.imap("vasilek")
        typ, data = c.select(q(foreign))
        self.assertEqual(typ, "NO")
        typ, data = c.status(q(foreign), "(MESSAGES)")
        self.assertEqual(typ, "NO")
        ok(c.select("INBOX"))
        typ, data = c.copy("1:*", q(foreign))
        self.assertEqual(typ, "NO")
        # only its own messages, whatever UIDs are asked for
        typ, data = c.uid("FETCH", "1:*", "(BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        self.assertNotIn("Счёт и акт".encode(), b"".join(
            x[1] if isinstance(x, tuple) else (x or b"") for x in data))
        c.logout()

    def test_blocked_user(self):
        self.d.ctl("member", "block", "viewer", h.ROMASHKA["inn"])
        try:
            c = imaplib.IMAP4_SSL("127.0.0.1", self.d.ports["imaps"],
                                  ssl_context=self.d.tls_context())
            with self.assertRaises(imaplib.IMAP4.error):
                c.login("viewer", h.PASSWORD)
            c.logout()
        finally:
            self.d.ctl("member", "unblock", "viewer", h.ROMASHKA["inn"])

    # ---- a user folder under the archive ----
    def test_user_folder_under_archive(self):
        c = self.d.imap("romashka")
        box = ARCHIVE + "/Личное & разное"
        ok(c.create(q(box)))
        ok(c.subscribe(q(box)))
        msgs = []
        for i in range(3):
            m = EmailMessage()
            m["From"] = "Друг <friend@example.org>"
            m["To"] = "me@example.org"
            m["Subject"] = "Личное письмо %d" % i
            m["Date"] = "Mon, %d Mar 2025 10:00:00 +0300" % (i + 1)
            m.set_content("Текст письма номер %d\n" % i)
            raw = m.as_bytes(policy=email.policy.SMTP)
            msgs.append(raw)
            typ, data = c.append(q(box), "(\\Flagged)",
                                 '"0%d-Mar-2025 10:00:00 +0300"' % (i + 1), raw)
            self.assertEqual(typ, "OK", data)
            self.assertIn(b"APPENDUID", data[0])
        ok(c.select(q(box)))
        self.assertEqual(int(c.untagged_responses["EXISTS"][-1]), 3)
        d = fetch_one(c, "2", "(RFC822.SIZE BODY.PEEK[] INTERNALDATE FLAGS)")
        self.assertEqual(d["BODY[]"], msgs[1])
        self.assertIn(b"RFC822.SIZE %d" % len(msgs[1]), d["_head"])
        # the mailbox keeps the instant; the zone is shown as UTC
        self.assertIn(b"02-Mar-2025 07:00:00 +0000", d["_head"])
        self.assertIn(b"\\Flagged", d["_head"])
        ok(c.store("1:2", "+FLAGS", "(\\Deleted $Important)"))
        self.assertEqual(ok(c.search(None, "DELETED"))[0], b"1 2")
        self.assertEqual(ok(c.search(None, "KEYWORD", "$Important"))[0], b"1 2")
        with self.assertRaises(imaplib.IMAP4.error):
            c.store("1", "+FLAGS", "(\\Recent)")
        c.literal = "номер 2".encode()
        self.assertEqual(ok(c.search("UTF-8", "BODY"))[0], b"3")
        self.assertEqual(ok(c.search(None, "SENTON", "3-Mar-2025"))[0], b"3")
        self.assertEqual(ok(c.search(None, "ON", "1-Mar-2025"))[0], b"1")
        typ, data = c.expunge()
        # "1, 1" or "2, 1": both remove messages 1 and 2
        self.assertIn(data, ([b"1", b"1"], [b"2", b"1"]))
        self.assertEqual(int(ok(c.select(q(box)))[0]), 1)
        # COPY within the archive tree with COPYUID
        ok(c.create(q(box + "/Под")))
        typ, data = c.copy("1", q(box + "/Под"))
        self.assertIn(b"COPYUID", data[0])
        typ, data = c.copy("1", q(box + "/Нет такой"))
        self.assertEqual(typ, "NO")
        self.assertIn(b"TRYCREATE", data[0])
        ok(c.rename(q(box + "/Под"), q(box + "/Над")))
        ok(c.close())
        ok(c.delete(q(box + "/Над")))
        # APPEND where it is not allowed
        typ, data = c.append(q("Адресная книга"), None, None, msgs[0])
        self.assertEqual(typ, "NO")
        typ, data = c.create(q("Входящие/Моя"))
        self.assertEqual(typ, "NO")
        c.logout()

    # ---- two sessions on one folder ----
    def test_concurrent_sessions(self):
        box = ARCHIVE + "/Общая"
        a = self.d.imap("romashka")
        ok(a.create(q(box)))
        for i in range(3):
            ok(a.append(q(box), None, None,
                        b"From: x@y.z\r\nSubject: shared %d\r\n\r\ntext\r\n" % i))
        ok(a.select(q(box)))
        b = self.d.imap("romashka", mode="ssl")
        ok(b.select(q(box)))
        ok(b.store("1", "+FLAGS", "(\\Flagged)"))
        ok(b.store("2", "+FLAGS.SILENT", "(\\Deleted)"))
        ok(b.expunge())
        ok(b.append(q(box), None, None, b"From: x@y.z\r\nSubject: new\r\n\r\nnew\r\n"))
        # FETCH must not carry EXPUNGE (RFC 3501 7.4.1); EXISTS may come
        a.untagged_responses.clear()
        ok(a.fetch("1", "(FLAGS)"))
        self.assertNotIn("EXPUNGE", a.untagged_responses)
        seen_exists = a.untagged_responses.get("EXISTS", [])
        # NOOP brings the expunge (and the new message if not yet told)
        a.untagged_responses.clear()
        ok(a.noop())
        self.assertEqual(a.untagged_responses.get("EXPUNGE"), [b"2"])
        seen_exists += a.untagged_responses.get("EXISTS", [])
        self.assertEqual(seen_exists, [b"4"])
        typ, data = a.fetch("1:*", "(FLAGS)")
        self.assertIn(b"\\Flagged", data[0])
        self.assertEqual(len(data), 3)
        # IDLE in a user folder sees another session's APPEND
        tag = a._new_tag()
        a.send(tag + b" IDLE\r\n")
        self.assertTrue(a.readline().startswith(b"+"))
        ok(b.append(q(box), None, None, b"From: x@y.z\r\nSubject: idle\r\n\r\nx\r\n"))
        a.sock.settimeout(10)
        line = a.readline()
        while not line.endswith(b"EXISTS\r\n"):
            line = a.readline()
        self.assertEqual(line, b"* 4 EXISTS\r\n")
        a.send(b"DONE\r\n")
        while not a.readline().startswith(tag):
            pass
        b.logout()
        a.logout()


class EnglishFoldersTest(h.DaemonTestCase):
    language = "en"

    def test_english_tree(self):
        c = self.d.imap("romashka")
        names = [re.search(rb'"/" "?([^"]*)"?$', x).group(1).decode()
                 for x in ok(c.list('""', "*"))]
        for n in ("INBOX", "Sent", "Drafts", "Archive", "Trash"):
            self.assertIn(n, names)
        data = ok(c.list('""', "Sent"))
        self.assertIn(b"\\Sent", data[0])
        ok(c.select("Archive"))
        c.logout()


if __name__ == "__main__":
    h.main()
