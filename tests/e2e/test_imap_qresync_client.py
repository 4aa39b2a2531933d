#!/usr/bin/env python3
"""QRESYNC with a client nobody here wrote: NeoMutt (Debian's package,
`imap_qresync` with its header cache) opens a folder, quits, another
session expunges one message and flags another, and NeoMutt opens the
folder again.  A recording proxy between NeoMutt and edomaild shows that
the second open resynchronised with `ENABLE QRESYNC` and
`SELECT ... (QRESYNC (uidvalidity modseq ...))`, and NeoMutt's screen
shows the folder as it is now: the expunged message gone, the rest there.
"""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import edomail_harness as h
from edomail_harness import utf7_encode as u7

FOLDER = "Архив/qr"


class Recorder:
    """A TCP proxy on loopback that keeps what each client connection sent
    (plain IMAP: the test allows plaintext on loopback)."""

    def __init__(self, target_port):
        self.target = target_port
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        self.sent = []          # bytes the client sent, one per connection
        self.got = []           # bytes the server answered
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            s = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.sent.append(bytearray())
                self.got.append(bytearray())
                idx = len(self.sent) - 1
            threading.Thread(target=self.pipe, args=(c, s, self.sent[idx]),
                             daemon=True).start()
            threading.Thread(target=self.pipe, args=(s, c, self.got[idx]),
                             daemon=True).start()

    def pipe(self, src, dst, record):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self.lock:
                    record += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for x in (src, dst):
                try:
                    x.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                x.close()

    def close(self):
        self.lsock.close()


class NeoMuttQresync(h.DaemonTestCase):
    tools = ("neomutt", "tmux")
    extra_env = {"DEMO_PLAINTEXT_LOOPBACK": "true"}

    def run_neomutt(self, tmp, rc, url, session, want, absent=()):
        """NeoMutt on url until its screen shows every want and no absent;
        then it quits.  Returns that screen."""
        app = h.TmuxApp(session, "neomutt -n -F %s -f '%s'" % (rc, url), tmp)
        try:
            text = app.wait(lambda t: all(w in t for w in want) and
                            not any(a in t for a in absent))
            if text is None:
                self.fail("neomutt index:\n" + app.screen())
            app.keys("q")
            deadline = time.time() + 30
            while app.running():
                if time.time() > deadline:
                    self.fail("neomutt did not quit:\n" + app.screen())
                time.sleep(0.2)
            return text
        finally:
            app.kill()

    def test_reopen_resynchronises_with_qresync(self):
        d = self.d
        c = d.imap("romashka")
        self.assertEqual(c.create('"%s"' % u7(FOLDER))[0], "OK")
        for i in range(1, 6):
            msg = ("From: a@example.org\r\nTo: b@example.org\r\n"
                   "Subject: qr-%d\r\nMessage-ID: <qr-%d@client.example>\r\n"
                   "Date: Sat, 05 Dec 2026 10:0%d:00 +0300\r\n\r\nbody %d\r\n"
                   % (i, i, i, i)).encode()
            self.assertEqual(c.append('"%s"' % u7(FOLDER), None, None,
                                      msg)[0], "OK")
        rec = Recorder(d.ports["imap"])
        tmp = tempfile.mkdtemp(prefix="edomail-neomutt-")
        session = "edomail-neomutt-%d" % os.getpid()
        try:
            rc = os.path.join(tmp, "neomuttrc")
            os.mkdir(os.path.join(tmp, "hc"))
            with open(rc, "w") as f:
                f.write("""set folder="imap://romashka@127.0.0.1:%d/"
set spoolfile="+%s"
set record=""
set postponed=""
set imap_user="romashka"
set imap_pass="%s"
set ssl_starttls=no
set ssl_force_tls=no
set imap_qresync=yes
set header_cache="%s/hc/"
set message_cachedir=""
set imap_check_subscribed=no
set imap_idle=no
set charset="utf-8"
set sort=date
set index_format="%%s"
set mail_check=600
set timeout=600
set confirmappend=no
set quit=yes
""" % (rec.port, FOLDER, h.PASSWORD, tmp))
            url = "imap://romashka@127.0.0.1:%d/%s" % (rec.port, FOLDER)
            self.run_neomutt(tmp, rc, url, session,
                             ["qr-%d" % i for i in range(1, 6)])
            first = len(rec.sent)
            # Another session changes the folder while NeoMutt is away.
            self.assertEqual(c.select('"%s"' % u7(FOLDER))[0], "OK")
            self.assertEqual(c.store("2", "+FLAGS", "(\\Deleted)")[0], "OK")
            self.assertEqual(c.expunge()[0], "OK")
            self.assertEqual(c.store("2", "+FLAGS", "(\\Flagged)")[0], "OK")
            c.logout()
            text = self.run_neomutt(tmp, rc, url, session,
                                    ["qr-1", "qr-3", "qr-4", "qr-5"],
                                    absent=["qr-2"])
            self.assertNotIn("qr-2", text)
            sent = b"".join(bytes(x) for x in rec.sent[first:])
            got = b"".join(bytes(x) for x in rec.got[first:])
            self.assertIn(b"ENABLE QRESYNC", sent.upper(), sent[:2000])
            # RFC 7162 3.2.5 (SELECT ... QRESYNC) or 3.2.6 (UID FETCH ...
            # (CHANGEDSINCE n VANISHED)); NeoMutt 20220429 uses the latter.
            self.assertTrue(
                re.search(rb"SELECT [^\r\n]*\(QRESYNC \(\d+ \d+", sent, re.I)
                or re.search(rb"UID FETCH [^\r\n]*\(CHANGEDSINCE \d+ "
                             rb"VANISHED\)", sent, re.I), sent[:2000])
            # It learnt of the expunge from VANISHED (EARLIER), not by
            # fetching the whole folder again.
            self.assertRegex(got, rb"\* VANISHED \(EARLIER\) 2\r\n")
            self.assertRegex(got, rb"\* \d+ FETCH \([^\r\n]*\\Flagged")
        finally:
            rec.close()
            subprocess.run(["tmux", "kill-session", "-t", session],
                           capture_output=True)
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    h.main()
