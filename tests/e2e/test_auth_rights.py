#!/usr/bin/env python3
"""Passwords and rights that hold (issue 12 items 4, 8 and 9).

- `edomailctl user passwd` ends the sessions opened with the old password,
  as `user block` does: IMAP gets BYE at its next command, SMTP 550 at its
  next MAIL FROM.
- New hashes have 600,000 PBKDF2 iterations (the default of
  limits.password_iterations); a stored hash with fewer is upgraded at the
  next successful login, and the other sessions of the user go on.
- edomailctl reads a password from standard input and from a file
  descriptor (--password-fd), not only --password (seen in ps).
- A user blocked, or whose password is changed, between MAIL FROM and the
  final dot sends nothing: the dot is refused with 550.
- A reader (member without the signing right) cannot archive, delete or
  restore the organization's documents at the operator: UID MOVE to
  Корзина or Архив and EXPUNGE of the last copy get NO [NOPERM]; the
  owner's may.
"""
import base64
import hashlib
import imaplib
import os
import re
import smtplib
import sqlite3
import time
import unittest
from email.message import EmailMessage

import edomail_harness as h
from edomail_harness import wait_for

R_INN = h.ROMASHKA["inn"]
L_INN = h.LUTIK["inn"]
TRASH = h.utf7_encode("Корзина")
ARCHIVE = h.utf7_encode("Архив")


def q(name):
    return '"%s"' % name


def messages(c, box):
    typ, data = c.status(q(box), "(MESSAGES)")
    return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))


def letter(d, frm, to, subject):
    m = EmailMessage()
    m["From"] = d.addr(frm)
    m["To"] = d.addr(to)
    m["Subject"] = subject
    m.set_content("Документ во вложении.\n")
    m.add_attachment(b"%PDF-1.4 test " + subject.encode(), maintype="application",
                     subtype="pdf", filename="doc.pdf")
    return m


class AuthRights(h.DaemonTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.d
        for u in ("pwchange", "upgrade", "midletter"):
            d.ctl("user", "add", u, "--password", "pw-" + u)
            d.ctl("member", "add", u, R_INN, "--role", "signer")
        d.ctl("cert", "make", "midletter", R_INN, "--type", "rsa")
        # a document from Лютик in Ромашка's INBOX
        s = d.smtp("lutik")
        s.send_message(letter(d, L_INN, R_INN, "Акт для читателя"))
        s.quit()
        c = d.imap("romashka")
        wait_for(lambda: messages(c, "INBOX") >= 1)
        c.logout()

    def db(self):
        return sqlite3.connect(os.path.join(self.d.dir, "edomail.db"))

    def stored_hash(self, login):
        with self.db() as con:
            return con.execute("SELECT pw_hash FROM users WHERE login = ?",
                               (login,)).fetchone()[0]

    # ---- item 4 ----

    def test_passwd_ends_sessions(self):
        d = self.d
        c = d.imap("pwchange", "pw-pwchange")
        c.select("INBOX")
        s = d.smtp("pwchange", "pw-pwchange")
        d.ctl("user", "passwd", "pwchange", "--password", "pw-new")
        time.sleep(1.2)     # a session re-reads its user at most once a second
        try:
            with self.assertRaises((imaplib.IMAP4.abort, imaplib.IMAP4.error,
                                    OSError)) as cm:
                c.noop()
                c.select("INBOX")
            code, text = s.mail(d.addr(R_INN))
            self.assertEqual(code, 550, text)
            self.assertIn(b"password was changed", text)
            # the new password works, the old one does not
            d.imap("pwchange", "pw-new").logout()
            with self.assertRaises(imaplib.IMAP4.error):
                d.imap("pwchange", "pw-pwchange")
        finally:
            d.ctl("user", "passwd", "pwchange", "--password", "pw-pwchange")
            try:
                s.close()
            except Exception:
                pass

    def test_default_iterations_and_upgrade(self):
        d = self.d
        # a user made now: the default, 600,000
        self.assertTrue(self.stored_hash("upgrade")
                        .startswith("pbkdf2-sha256$600000$"),
                        self.stored_hash("upgrade"))
        # a hash as made before (100,000), written as an old release did
        salt = os.urandom(16)
        dk = hashlib.pbkdf2_hmac("sha256", b"pw-old", salt, 100000)
        old = "pbkdf2-sha256$100000$%s$%s" % (
            base64.b64encode(salt).decode(), base64.b64encode(dk).decode())
        with self.db() as con:
            con.execute("UPDATE users SET pw_hash = ? WHERE login = ?",
                        (old, "upgrade"))
        other = d.imap("upgrade", "pw-old")
        other.select("INBOX")
        new = self.stored_hash("upgrade")
        self.assertTrue(new.startswith("pbkdf2-sha256$600000$"), new)
        # the same password goes on working, and the other session too
        d.imap("upgrade", "pw-old").logout()
        time.sleep(1.2)
        self.assertEqual(other.noop()[0], "OK")
        self.assertEqual(other.select("INBOX")[0], "OK")
        other.logout()

    def test_password_from_stdin_and_fd(self):
        d = self.d
        d.ctl("user", "add", "stdinuser", input="pw-stdin\n")
        self.assertTrue(self.check_hash("stdinuser", b"pw-stdin"))
        r, w = os.pipe()
        os.write(w, b"pw-fd\n")
        os.close(w)
        try:
            import subprocess
            p = subprocess.run(
                [os.path.join(h.BUILD, "src", "ctl", "edomailctl"), "-c",
                 d.conf, "user", "passwd", "stdinuser", "--password-fd",
                 str(r)], env=d.env, pass_fds=(r,), capture_output=True,
                text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
        finally:
            os.close(r)
        self.assertTrue(self.check_hash("stdinuser", b"pw-fd"))

    def check_hash(self, login, password):
        """Whether the stored hash of login is that of password."""
        h1 = self.stored_hash(login)
        salt64, dk64 = h1.split("$")[2:4]
        dk = hashlib.pbkdf2_hmac("sha256", password, base64.b64decode(salt64),
                                 int(h1.split("$")[1]))
        return base64.b64encode(dk).decode() == dk64

    # ---- item 8 ----

    def midletter(self, between):
        d = self.d
        c = d.imap("lutik")
        before = messages(c, "INBOX")
        s = d.smtp("midletter", "pw-midletter")
        try:
            self.assertEqual(s.mail(d.addr(R_INN))[0], 250)
            self.assertEqual(s.rcpt(d.addr(L_INN))[0], 250)
            between()
            m = letter(d, R_INN, L_INN, "Письмо после блокировки")
            code, text = s.data(m.as_bytes())
            self.assertEqual(code, 550, text)
            self.assertIn(b"nothing was sent", text)
        finally:
            s.close()
        time.sleep(2)
        self.assertEqual(messages(c, "INBOX"), before, "a letter was sent")
        c.logout()

    def test_blocked_between_mail_from_and_dot(self):
        d = self.d
        try:
            self.midletter(lambda: d.ctl("user", "block", "midletter"))
        finally:
            d.ctl("user", "unblock", "midletter")

    def test_passwd_between_mail_from_and_dot(self):
        d = self.d
        try:
            self.midletter(lambda: d.ctl("user", "passwd", "midletter",
                                         "--password", "pw-other"))
        finally:
            d.ctl("user", "passwd", "midletter", "--password", "pw-midletter")

    # ---- item 9 ----

    def test_reader_cannot_archive_or_delete(self):
        d = self.d
        c = d.imap("viewer")
        c.select("INBOX")
        # the document (not a notice letter): it has X-EDO-Documents
        typ, data = c.uid("SEARCH", "HEADER", "X-EDO-Documents", '""')
        uids = data[0].split()
        self.assertTrue(uids, data)
        uid = uids[0].decode()
        for dest in (TRASH, ARCHIVE):
            typ, data = c.uid("MOVE", uid, q(dest))
            self.assertEqual(typ, "NO", data)
            self.assertIn(b"[NOPERM]", data[0])
            self.assertIn(b"signing right", data[0])
            typ, data = c.uid("COPY", uid, q(dest))
            self.assertEqual(typ, "NO", data)
        c.uid("STORE", uid, "+FLAGS", "(\\Deleted)")
        typ, data = c.expunge()
        self.assertEqual(typ, "NO", data)
        self.assertIn(b"[NOPERM]", data[0])
        c.uid("STORE", uid, "-FLAGS", "(\\Deleted)")
        self.assertEqual(messages(c, TRASH), 0)
        c.logout()
        # the organization's document is where it was, for everyone
        o = d.imap("romashka")
        n = messages(o, "INBOX")
        self.assertGreaterEqual(n, 1)
        # the owner may archive it
        o.select("INBOX")
        typ, data = o.uid("SEARCH", "HEADER", "X-EDO-Documents", '""')
        ouid = data[0].split()[0].decode()
        typ, data = o.uid("MOVE", ouid, q(ARCHIVE))
        self.assertEqual(typ, "OK", data)
        o.logout()


if __name__ == "__main__":
    unittest.main(verbosity=2)
