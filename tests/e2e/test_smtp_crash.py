"""Crash safety: edomaild is killed with SIGKILL at random moments while 50
messages are being submitted.  The client does what a mail client does:
a message without a 250 is sent again (same bytes, same Message-ID) once
the server is back.  Afterwards every message exists exactly once at the
operator and in the recipient's mailbox, and nothing else does.  A 250
lost to the kill is recognised on the retry by its Message-ID."""
import os
import random
import signal
import smtplib
import socket
import ssl
import threading
import time
import unittest
import uuid

from edomail_harness import DaemonTestCase, main
from test_smtp_session import (L_INN, R_INN, db_connect, imap_messages,
                               make_mail, raw_session)

N_MESSAGES = 50


def wait_ready(d, since, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if d.proc is not None and d.proc.poll() is not None:
            raise RuntimeError("edomaild exited:\n" + d.log()[since:])
        if "edomaild: ready" in d.log()[since:]:
            return
        time.sleep(0.05)
    raise RuntimeError("edomaild did not restart:\n" + d.log()[since:])


class SmtpCrash(DaemonTestCase):

    def submit_until_250(self, data, stop):
        """Sends until 250 (retrying through kills); returns the reply."""
        d = self.d
        attempts = 0
        while not stop.is_set():
            attempts += 1
            try:
                c = d.smtp("romashka", mode="ssl")
                try:
                    code, text = c.mail(d.addr(R_INN))
                    if code == 250:
                        code, text = c.rcpt(d.addr(L_INN))
                    if code == 250:
                        code, text = c.data(data)
                    if code == 250:
                        return attempts, text.decode()
                    if code < 400 or code >= 500:
                        raise AssertionError("refused: %d %s" % (code, text))
                finally:
                    try:
                        c.close()
                    except Exception:
                        pass
            except (smtplib.SMTPException, OSError, ssl.SSLError,
                    socket.timeout, EOFError):
                pass
            time.sleep(0.2)
        raise AssertionError("stopped before 250")

    def test_sigkill_during_submissions(self):
        d = self.d
        tag = uuid.uuid4().hex[:8]
        mails = []
        for i in range(N_MESSAGES):
            data, mid = make_mail(d.addr(R_INN), d.addr(L_INN),
                                  "crash-%s-%02d" % (tag, i), "Письмо %d\n" % i,
                                  [("doc-%d.bin" % i, bytes([i]) * 20000)])
            mails.append((mid, data))

        done = threading.Event()
        kills = []

        def killer():
            rnd = random.Random()
            while not done.is_set():
                time.sleep(rnd.uniform(0.3, 2.5))
                if done.is_set():
                    break
                since = len(d.log())
                d.kill()
                kills.append(time.time())
                d.start()
                wait_ready(d, since)

        t = threading.Thread(target=killer)
        t.start()
        results = {}
        try:
            for mid, data in mails:
                results[mid] = self.submit_until_250(data, threading.Event())
        finally:
            done.set()
            t.join()
        self.assertGreaterEqual(len(kills), 2, "the daemon was killed")

        # Exactly once at the operator, from Ромашка to Лютик.
        con = db_connect(d)
        try:
            for mid, data in mails:
                n = con.execute(
                    "SELECT count(*) FROM op_messages WHERE client_message_id = ?",
                    (mid,)).fetchone()[0]
                self.assertEqual(n, 1, "message %s stored %d times" % (mid, n))
            n = con.execute("SELECT count(*) FROM op_messages WHERE subject "
                            "LIKE ?", ("crash-%s-%%" % tag,)).fetchone()[0]
            self.assertEqual(n, N_MESSAGES)
        finally:
            con.close()
        # Exactly once in the recipient's mailbox.
        deadline = time.time() + 120
        while True:
            subjects = []
            for uid, flags, raw in imap_messages(d, "lutik", "INBOX"):
                for ln in raw.split(b"\r\n"):
                    if ln.startswith(b"Subject: crash-" + tag.encode()):
                        subjects.append(ln)
            if len(subjects) >= N_MESSAGES or time.time() > deadline:
                break
            time.sleep(1)
        self.assertEqual(len(subjects), N_MESSAGES)
        self.assertEqual(len(set(subjects)), N_MESSAGES, "no duplicates")

    def test_sigterm_during_commit(self):
        """A stop while a big submission is being signed and committed:
        the daemon waits for it, stops cleanly, and the message exists
        once if its 250 was seen (and at most once otherwise)."""
        d = self.d
        data, mid = make_mail(d.addr(R_INN), d.addr(L_INN), "sigterm",
                              "Письмо\n", [("big.bin", b"\x07" * (5 << 20))])
        s = raw_session(d, "romashka", "submissions")
        s.cmd("MAIL FROM:<%s>" % d.addr(R_INN))
        s.cmd("RCPT TO:<%s>" % d.addr(L_INN))
        self.assertEqual(s.cmd("DATA")[0], 354)
        s.send(data + b".\r\n")
        time.sleep(0.3)
        since = len(d.log())
        got = None
        d.proc.send_signal(signal.SIGTERM)
        try:
            got = s.reply()
        except (EOFError, OSError, ssl.SSLError):
            pass
        s.close()
        self.assertEqual(d.proc.wait(60), 0, d.log()[since:])
        self.assertNotIn("Sanitizer", d.log()[since:])
        d.proc = None
        d.start()
        wait_ready(d, since)
        con = db_connect(d)
        try:
            n = con.execute("SELECT count(*) FROM op_messages WHERE "
                            "client_message_id = ?", (mid,)).fetchone()[0]
        finally:
            con.close()
        if got is not None and got[0] == 250:
            self.assertEqual(n, 1)
        else:
            self.assertLessEqual(n, 1)


if __name__ == "__main__":
    main()
