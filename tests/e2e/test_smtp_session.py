"""SMTP submission, the protocol level: EHLO, STARTTLS, AUTH and its
throttling, PIPELINING, BDAT, limits, polite refusals.  Also the helpers
the other test_smtp_*.py files import (a raw SMTP client, mail builders,
IMAP and operator look-ups, signature checks)."""
import base64
import email
import email.policy
import os
import re
import socket
import sqlite3
import ssl
import subprocess
import tempfile
import time
import unittest
from email.message import EmailMessage

from edomail_harness import (DaemonTestCase, LUTIK, PASSWORD, ROMASHKA,
                             VASILEK, main, utf7_encode)

R_INN, L_INN, V_INN = ROMASHKA["inn"], LUTIK["inn"], VASILEK["inn"]
SENT = "Отправленные"
IN_INV = "Входящие/Приглашения"
OUT_INV = "Исходящие/Приглашения"


# ---- a raw client for what smtplib will not do ----

class RawSMTP:
    def __init__(self, d, kind="submission", timeout=60):
        self.d = d
        self.sock = socket.create_connection(("127.0.0.1", d.ports[kind]),
                                             timeout=timeout)
        if kind == "submissions":
            self.sock = d.tls_context().wrap_socket(self.sock)
        self.buf = b""
        self.greeting = self.reply()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; got %r" % self.buf)
            self.buf += chunk
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def reply(self):
        """(code, text of all lines joined by newlines)"""
        lines = []
        while True:
            ln = self.line()
            lines.append(ln[4:].decode("utf-8", "replace"))
            if ln[3:4] != b"-":
                return int(ln[:3]), "\n".join(lines)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def ehlo(self):
        return self.cmd("EHLO test.example")

    def starttls(self):
        code, text = self.cmd("STARTTLS")
        assert code == 220, (code, text)
        self.sock = self.d.tls_context().wrap_socket(self.sock)
        self.buf = b""

    def login(self, login, password=PASSWORD):
        msg = base64.b64encode(b"\0" + login.encode() + b"\0" +
                               password.encode()).decode()
        return self.cmd("AUTH PLAIN " + msg)

    def closed(self, timeout=5):
        """True when the server closed the connection."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (socket.timeout, ssl.SSLError):
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def raw_session(d, login="buh", kind="submission"):
    """A raw session after EHLO, STARTTLS (on 587) and AUTH."""
    s = RawSMTP(d, kind)
    s.ehlo()
    if kind == "submission":
        s.starttls()
        s.ehlo()
    code, text = s.login(login)
    assert code == 235, (code, text)
    return s


# ---- mails ----

def make_mail(from_addr, to_addrs, subject, text, attachments=(),
              message_id=None, headers=None):
    """RFC 5322 bytes with CRLF; attachments: (name, bytes, maintype/subtype)."""
    m = EmailMessage(policy=email.policy.SMTP)
    m["From"] = from_addr
    m["To"] = ", ".join(to_addrs) if isinstance(to_addrs, (list, tuple)) \
        else to_addrs
    m["Subject"] = subject
    m["Date"] = email.utils.formatdate(localtime=True)
    m["Message-ID"] = message_id or email.utils.make_msgid(domain="client.example")
    for k, v in (headers or {}).items():
        m[k] = v
    m.set_content(text)
    for att in attachments:
        name, data = att[0], att[1]
        ctype = att[2] if len(att) > 2 else "application/octet-stream"
        main_t, sub_t = ctype.split("/")
        m.add_attachment(data, maintype=main_t, subtype=sub_t, filename=name)
    return m.as_bytes(), m["Message-ID"].strip("<>")


def submit(d, login, from_addr, rcpts, data, mode="starttls"):
    """MAIL/RCPT/DATA with smtplib; returns (code, text) of the end of
    data, or of the first refused step."""
    c = d.smtp(login, mode=mode)
    try:
        code, text = c.mail(from_addr)
        if code != 250:
            return code, text.decode()
        for r in rcpts if isinstance(rcpts, (list, tuple)) else [rcpts]:
            code, text = c.rcpt(r)
            if code not in (250, 251):
                return code, text.decode()
        code, text = c.data(data)
        return code, text.decode()
    finally:
        try:
            c.quit()
        except Exception:
            pass


def edo_id(reply_text):
    m = re.search(r"id ([0-9a-f-]{36})", reply_text)
    return m.group(1) if m else None


# ---- the operator's side, through edomailctl and the database ----

def ctl_messages(d, org):
    """Rows of `edomailctl message list ORG` as dicts."""
    out = d.ctl("message", "list", org).stdout.splitlines()
    rows = []
    for ln in out[1:]:
        parts = ln.split(None, 10)
        if len(parts) >= 10:
            rows.append({"id": parts[0], "kind": parts[1], "dir": parts[2],
                         "other": parts[3],
                         "subject": parts[10] if len(parts) > 10 else ""})
    return rows


def ctl_message_show(d, org, msg_id):
    return d.ctl("message", "show", org, msg_id).stdout


def db_connect(d):
    """The operator's store (node A's in the two-node mode), read-only."""
    return sqlite3.connect("file:%s?mode=ro" % d.operator_db,
                           uri=True, timeout=30)


def db_contains(d, needle, prefix="op_"):
    """Does any value of the operator's tables (prefix) contain needle?"""
    con = db_connect(d)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")
            if r[0].startswith(prefix)]
        assert tables, "no tables with prefix " + prefix
        for t in tables:
            for row in con.execute('SELECT * FROM "%s"' % t):
                for v in row:
                    if isinstance(v, str):
                        v = v.encode()
                    if isinstance(v, (bytes, bytearray)) and needle in v:
                        return True
        return False
    finally:
        con.close()


ENT_KINDS = ["attachment", "signature", "receipt", "receipt-signature",
             "confirmation", "confirmation-signature", "text"]


def op_entities(d, msg_id):
    """The entities of an EDO message as the operator stores them."""
    con = db_connect(d)
    try:
        rows = con.execute(
            "SELECT id, kind, parent_id, file_name, data, encrypted, signer_box "
            "FROM op_entities WHERE message_id = ? ORDER BY num", (msg_id,))
        return [{"id": r[0], "kind": ENT_KINDS[r[1]], "parent": r[2],
                 "name": r[3], "data": bytes(r[4]), "encrypted": r[5],
                 "signer": r[6]} for r in rows]
    finally:
        con.close()


def op_docs_with_sigs(ents):
    """{document name: (bytes, [signature bytes])}"""
    out = {}
    for e in ents:
        if e["kind"] == "attachment":
            out[e["name"]] = (e["data"], [s["data"] for s in ents
                                          if s["kind"] == "signature" and
                                          s["parent"] == e["id"]])
    return out


# ---- IMAP ----

def imap_messages(d, login, folder):
    """[(uid, flags, bytes)] of a folder."""
    c = d.imap(login)
    try:
        name = utf7_encode(folder) if folder != "INBOX" else folder
        typ, _ = c.select('"%s"' % name, readonly=True)
        if typ != "OK":
            return []
        typ, data = c.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
        out = []
        for item in data:
            if not isinstance(item, tuple):
                continue
            meta = item[0].decode()
            uid = int(re.search(r"UID (\d+)", meta).group(1))
            flags = re.search(r"FLAGS \(([^)]*)\)", meta).group(1).split()
            out.append((uid, flags, item[1]))
        return out
    finally:
        try:
            c.logout()
        except Exception:
            pass


def imap_wait(d, login, folder, pred, timeout=60):
    """The first message of folder for which pred(msg, flags) is true."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        for uid, flags, raw in imap_messages(d, login, folder):
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            if pred(msg, flags):
                return msg, flags, raw
            last = msg
        time.sleep(0.5)
    raise AssertionError("no matching message in %s of %s (last seen: %s)" %
                         (folder, login, last and last["Subject"]))


def by_edo_id(msg_id):
    return lambda m, f: (m.get("X-EDO-Message-Id", "") == msg_id or
                         msg_id in (m.get("Message-ID") or ""))


def parts_by_name(msg):
    """{file name: bytes} of every part that has a file name."""
    out = {}
    for p in msg.walk():
        name = p.get_filename()
        if name and not p.is_multipart():
            out[name] = p.get_payload(decode=True)
    return out


# ---- signatures ----

def verify_sig(doc, sig, gost=False):
    """openssl cms -verify of a detached DER signature; True when valid."""
    with tempfile.TemporaryDirectory() as t:
        dp, sp = os.path.join(t, "doc"), os.path.join(t, "sig")
        with open(dp, "wb") as f:
            f.write(doc)
        with open(sp, "wb") as f:
            f.write(sig)
        args = ["openssl", "cms", "-verify", "-binary", "-inform", "DER",
                "-noverify", "-in", sp, "-content", dp, "-out", "/dev/null"]
        if gost:
            args[2:2] = ["-engine", "gost"]
        r = subprocess.run(args, capture_output=True)
        return r.returncode == 0


def sig_count(sig, gost=False):
    """Number of SignerInfos in a DER CMS (cms -cmsout -print)."""
    args = ["openssl", "cms", "-cmsout", "-print", "-inform", "DER"]
    if gost:
        args[2:2] = ["-engine", "gost"]
    r = subprocess.run(args, input=sig, capture_output=True)
    return r.stdout.count(b"signerInfos") and r.stdout.count(b"sid:")


# ---- the tests of this file: the protocol ----

class SmtpSession(DaemonTestCase):
    tools = ("openssl-gost",)  # verify_sig, sig_count

    def test_ehlo_starttls_auth_advertised(self):
        s = RawSMTP(self.d)
        self.assertTrue(s.greeting[1].startswith("edo.local ESMTP"))
        code, text = s.ehlo()
        self.assertEqual(code, 250)
        for ext in ("PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES",
                    "SMTPUTF8", "DSN", "CHUNKING", "STARTTLS"):
            self.assertIn(ext, text)
        self.assertNotIn("AUTH", text, "no AUTH before TLS")
        code, text = s.cmd("AUTH PLAIN AGJ1aABkZW1vLXBhc3N3b3Jk")
        self.assertEqual(code, 530)
        self.assertIn("5.7.0", text)
        self.assertIn("STARTTLS", text)
        code, text = s.cmd("MAIL FROM:<%s>" % self.d.addr(R_INN))
        self.assertEqual(code, 530, "MAIL needs AUTH")
        s.starttls()
        code, text = s.ehlo()
        self.assertIn("AUTH PLAIN LOGIN", text)
        self.assertNotIn("STARTTLS", text)
        code, text = s.login("buh")
        self.assertEqual(code, 235)
        code, text = s.cmd("QUIT")
        self.assertEqual(code, 221)
        s.close()

    def test_implicit_tls_and_auth_login(self):
        s = RawSMTP(self.d, "submissions")
        code, text = s.ehlo()
        self.assertIn("AUTH PLAIN LOGIN", text)
        self.assertEqual(s.cmd("AUTH LOGIN")[0], 334)
        self.assertEqual(s.cmd(base64.b64encode(b"romashka").decode())[0], 334)
        code, text = s.cmd(base64.b64encode(PASSWORD.encode()).decode())
        self.assertEqual(code, 235, text)
        self.assertEqual(s.cmd("AUTH PLAIN")[0], 503, "second AUTH refused")
        s.close()

    def test_login_as_address(self):
        # Thunderbird offers the whole address as the user name; it used
        # to log in and then fail with 454 (the user was looked up by the
        # raw login).  The mail goes through as for "romashka".
        s = RawSMTP(self.d, "submissions")
        s.ehlo()
        code, text = s.login("romashka@edo.local")
        self.assertEqual(code, 235, text)
        code, text = s.cmd("MAIL FROM:<%s>" % self.d.addr(R_INN))
        self.assertEqual(code, 250, text)
        s.close()

    def test_auth_cancel_and_garbage(self):
        s = RawSMTP(self.d, "submissions")
        s.ehlo()
        self.assertEqual(s.cmd("AUTH PLAIN")[0], 334)
        self.assertEqual(s.cmd("*")[0], 501)
        self.assertEqual(s.cmd("AUTH PLAIN !!!notbase64")[0], 501)
        self.assertEqual(s.cmd("AUTH CRAM-MD5")[0], 504)
        self.assertEqual(s.cmd("NOOP")[0], 250)
        s.close()

    def test_auth_failures_throttled(self):
        s = RawSMTP(self.d, "submissions")
        s.ehlo()
        codes = [s.login("lutik", "wrong-%d" % i)[0] for i in range(5)]
        self.assertEqual(codes, [535] * 5)
        code, text = s.login("lutik", PASSWORD)
        self.assertEqual(code, 454, "throttled even with the right password")
        self.assertIn("4.7.0", text)
        s.close()
        # Another login from the same address is not affected.
        s = RawSMTP(self.d, "submissions")
        s.ehlo()
        self.assertEqual(s.login("vasilek")[0], 235)
        s.close()

    def test_polite_commands(self):
        s = RawSMTP(self.d)
        self.assertEqual(s.cmd("MAIL FROM:<x@y>")[0], 503, "EHLO first")
        s.ehlo()
        self.assertEqual(s.cmd("VRFY buh")[0], 252)
        self.assertEqual(s.cmd("EXPN list")[0], 502)
        code, text = s.cmd("HELP")
        self.assertEqual(code, 214)
        self.assertEqual(s.cmd("NOOP")[0], 250)
        self.assertEqual(s.cmd("RSET")[0], 250)
        code, text = s.cmd("FROB")
        self.assertEqual(code, 500)
        self.assertIn(" / ", text, "Russian / English")
        code, text = s.cmd("NOOP " + "x" * 1200)
        self.assertEqual(code, 500)
        self.assertIn("5.5.2", text)
        self.assertEqual(s.cmd("NOOP")[0], 250, "the session goes on")
        code, text = s.cmd("GET / HTTP/1.1")
        self.assertEqual(code, 500)
        self.assertTrue(s.closed())
        s.close()

    def test_starttls_injection_is_dropped(self):
        s = RawSMTP(self.d)
        s.ehlo()
        # A command pipelined after STARTTLS must not run under TLS.
        s.send("STARTTLS\r\nNOOP\r\n")
        code, _ = s.reply()
        self.assertEqual(code, 220)
        s.sock = self.d.tls_context().wrap_socket(s.sock)
        s.buf = b""
        code, text = s.cmd("NOOP")
        self.assertEqual(code, 250)
        code, text = s.cmd("MAIL FROM:<x@y>")
        self.assertEqual(code, 503, "EHLO again after STARTTLS")
        s.close()

    def test_sender_must_be_own_box(self):
        s = raw_session(self.d, "romashka")
        code, text = s.cmd("MAIL FROM:<%s>" % self.d.addr(L_INN))
        self.assertEqual(code, 553)
        self.assertIn("5.7.1", text)
        code, text = s.cmd("MAIL FROM:<someone@example.com>")
        self.assertEqual(code, 553)
        code, text = s.cmd("MAIL FROM:<>")
        self.assertEqual(code, 553)
        code, text = s.cmd("MAIL FROM:<%s@edo.local> SIZE=1000" % R_INN)
        self.assertEqual(code, 250, "ИНН form of the own box: " + text)
        s.close()

    def test_size_declared_too_big(self):
        s = raw_session(self.d, "romashka")
        code, text = s.cmd("MAIL FROM:<%s> SIZE=999999999999" %
                           self.d.addr(R_INN))
        self.assertEqual(code, 552)
        self.assertIn("5.3.4", text)
        code, text = s.cmd("MAIL FROM:<%s> FOO=BAR" % self.d.addr(R_INN))
        self.assertEqual(code, 555)
        s.close()

    def test_recipient_rules(self):
        s = raw_session(self.d, "romashka")
        self.assertEqual(s.cmd("RCPT TO:<%s>" % self.d.addr(L_INN))[0], 503,
                         "MAIL first")
        self.assertEqual(s.cmd("MAIL FROM:<%s>" % self.d.addr(R_INN))[0], 250)
        code, text = s.cmd("RCPT TO:<7707083893@edo.local>")
        self.assertEqual(code, 550, text)
        self.assertIn("5.1.1", text)
        self.assertIn("Абонент с ИНН получателя не найден", text)
        code, text = s.cmd("RCPT TO:<7701234561@edo.local>")
        self.assertEqual(code, 550, "bad check digit")
        code, text = s.cmd("RCPT TO:<partner@example.com>")
        self.assertEqual(code, 550)
        self.assertIn("5.1.2", text)
        code, text = s.cmd("RCPT TO:<%s+secret@edo.local>" % L_INN)
        self.assertEqual(code, 553)
        code, text = s.cmd("RCPT TO:<%s>" % self.d.addr(R_INN))
        self.assertEqual(code, 550, "own organization")
        code, text = s.cmd("RCPT TO:<%s@edo.local> NOTIFY=SUCCESS,FAILURE "
                           "ORCPT=rfc822;x+40y" % L_INN)
        self.assertEqual(code, 250, text)
        self.assertIn("контрагент", text)
        code, text = s.cmd("RCPT TO:<%s.%s@edo.local>" % (L_INN, LUTIK["kpp"]))
        self.assertEqual(code, 250, "same box again: " + text)
        code, text = s.cmd("RCPT TO:<%s@edo.local>" % V_INN)
        self.assertEqual(code, 250, text)
        self.assertIn("приглашение", text)
        s.close()

    def test_pipelined_burst(self):
        d = self.d
        data, mid = make_mail(d.addr(R_INN), d.addr(L_INN), "Пакетная отправка",
                              "Текст письма\r\n")
        before = len(ctl_messages(d, L_INN))
        s = raw_session(d, "romashka")
        # One write: MAIL, two RCPT (one bad), DATA.
        s.send("MAIL FROM:<%s>\r\nRCPT TO:<bad@example.com>\r\n"
               "RCPT TO:<%s>\r\nDATA\r\n" % (d.addr(R_INN), d.addr(L_INN)))
        codes = [s.reply()[0] for _ in range(4)]
        self.assertEqual(codes, [250, 550, 250, 354])
        s.send(data + b".\r\nNOOP\r\nNOOP\r\n")
        code, text = s.reply()
        self.assertEqual(code, 250, text)
        self.assertEqual([s.reply()[0], s.reply()[0]], [250, 250])
        self.assertEqual(len(ctl_messages(d, L_INN)), before + 1)
        # A burst of many commands is answered in order, none lost.
        s.send("NOOP\r\n" * 300 + "RSET\r\n")
        codes = [s.reply()[0] for _ in range(301)]
        self.assertEqual(codes, [250] * 301)
        s.close()

    def test_bdat_chunking(self):
        d = self.d
        data, mid = make_mail(d.addr(R_INN), d.addr(L_INN), "BDAT письмо",
                              "Текст в кусках\r\n", [("a.txt", b"chunked doc\n")])
        s = raw_session(d, "romashka")
        self.assertEqual(s.cmd("MAIL FROM:<%s> BODY=8BITMIME" % d.addr(R_INN))[0], 250)
        self.assertEqual(s.cmd("RCPT TO:<%s>" % d.addr(L_INN))[0], 250)
        half = len(data) // 2
        s.send(b"BDAT %d\r\n" % half + data[:half])
        code, text = s.reply()
        self.assertEqual(code, 250, text)
        rest = data[half:]
        s.send(b"BDAT %d LAST\r\n" % len(rest) + rest)
        code, text = s.reply()
        self.assertEqual(code, 250, text)
        self.assertIsNotNone(edo_id(text))
        # DATA after BDAT in one transaction is refused; BDAT without a
        # transaction is read and refused.
        s.send(b"BDAT 5 LAST\r\nhello")
        self.assertEqual(s.reply()[0], 503)
        self.assertEqual(s.cmd("NOOP")[0], 250, "still in sync")
        s.close()

    def test_client_drops_in_data(self):
        d = self.d
        before = len(ctl_messages(d, L_INN))
        s = raw_session(d, "romashka")
        s.cmd("MAIL FROM:<%s>" % d.addr(R_INN))
        s.cmd("RCPT TO:<%s>" % d.addr(L_INN))
        self.assertEqual(s.cmd("DATA")[0], 354)
        s.send(b"From: x\r\nSubject: half\r\n\r\nhalf a message\r\n")
        s.close()
        time.sleep(1)
        self.assertEqual(len(ctl_messages(d, L_INN)), before, "nothing half-sent")
        # the daemon is fine
        s = raw_session(d, "romashka")
        self.assertEqual(s.cmd("NOOP")[0], 250)
        s.close()


if __name__ == "__main__":
    main()
