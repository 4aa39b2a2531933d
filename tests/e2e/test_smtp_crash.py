"""Crash safety: edomaild is killed with SIGKILL at chosen points of the
submission stream while 50 messages are being submitted (before a
session, after RCPT, in the middle of DATA, and right after the final
dot, before the reply is read), so the test proves the same on a fast
release build as under ASan.  The client does what a mail client does:
a message without a 250 is sent again (same bytes, same Message-ID) once
the server is back.  Afterwards every message exists exactly once at the
operator and in the recipient's mailbox, and nothing else does.  A 250
lost to the kill is recognised on the retry by its Message-ID."""
import os
import re
import signal
import smtplib
import socket
import ssl
import time
import unittest
import uuid

from edomail_harness import DaemonTestCase, main
from test_smtp_session import (L_INN, R_INN, db_connect, imap_messages,
                               make_mail, raw_session)

N_MESSAGES = 50
# Which submission's first attempt is cut, and where: every point twice
# ("before" kills between two submissions, so that one needs no retry).
KILLS = {3: "before", 8: "after_rcpt", 13: "mid_data", 18: "after_dot",
         24: "before", 30: "after_rcpt", 36: "mid_data", 42: "after_dot"}


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

    def kill_restart(self):
        d = self.d
        since = len(d.log())
        d.kill()
        d.start()
        wait_ready(d, since)

    def submit_once(self, data, kill_at):
        """One attempt; kill_at names the point where the daemon is
        killed (None: no kill).  Returns (code, text), or None when the
        attempt was cut."""
        d = self.d
        if kill_at == "before":
            self.kill_restart()
        c = d.smtp("romashka", mode="ssl")
        try:
            code, text = c.mail(d.addr(R_INN))
            if code == 250:
                code, text = c.rcpt(d.addr(L_INN))
            if code != 250:
                return code, text
            if kill_at == "after_rcpt":
                self.kill_restart()
                return None
            code, text = c.docmd("DATA")
            if code != 354:
                return code, text
            raw = re.sub(rb"(?m)^\.", b"..", data)
            if not raw.endswith(b"\r\n"):
                raw += b"\r\n"
            if kill_at == "mid_data":
                c.send(raw[:len(raw) // 2])
                self.kill_restart()
                return None
            c.send(raw + b".\r\n")
            if kill_at == "after_dot":
                # The 250 may or may not have been committed: the retry's
                # Message-ID tells, and the message exists once either way.
                self.kill_restart()
                return None
            return c.getreply()
        finally:
            try:
                c.close()
            except Exception:
                pass

    def submit_until_250(self, data, kill_at=None):
        """Sends until 250, the first attempt cut at kill_at; returns
        (attempts, reply text)."""
        for attempt in range(1, 20):
            try:
                got = self.submit_once(data, kill_at if attempt == 1 else None)
            except (smtplib.SMTPException, OSError, ssl.SSLError,
                    socket.timeout, EOFError):
                got = None
            if got is not None:
                code, text = got
                if code == 250:
                    return attempt, text.decode() if isinstance(
                        text, bytes) else text
                if code < 400 or code >= 500:
                    raise AssertionError("refused: %d %s" % (code, text))
            time.sleep(0.2)
        raise AssertionError("no 250 after 20 attempts")

    def test_sigkill_during_submissions(self):
        d = self.d
        tag = uuid.uuid4().hex[:8]
        mails = []
        for i in range(N_MESSAGES):
            data, mid = make_mail(d.addr(R_INN), d.addr(L_INN),
                                  "crash-%s-%02d" % (tag, i), "Письмо %d\n" % i,
                                  [("doc-%d.bin" % i, bytes([i]) * 20000)])
            mails.append((mid, data))

        results = {}
        for i, (mid, data) in enumerate(mails):
            results[mid] = self.submit_until_250(data, KILLS.get(i))
        retried = [i for i, (mid, _) in enumerate(mails)
                   if results[mid][0] > 1]
        # Every cut attempt was retried, and only those.
        self.assertEqual(retried, sorted(k for k, v in KILLS.items()
                                         if v != "before"))

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
