#!/usr/bin/env python3
"""IMAP end-to-end with real mail clients: curl (imap:// with STARTTLS and
imaps://) walks and fetches every folder, mbsync syncs every folder to a
Maildir without errors, and mutt (under tmux) shows the index and reads a
message."""
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse
from email.message import EmailMessage

import edomail_harness as h
from edomail_harness import wait_for
from edomail_harness import utf7_encode as u7

SUBJECT = "Договор поставки №15"
BODY = "Направляем договор на подпись.\nС уважением, Лютик\n"


class ClientsTest(h.DaemonTestCase):
    tools = ("curl", "mbsync", "mutt", "tmux")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.d
        m = EmailMessage()
        m["From"] = d.addr(h.LUTIK["inn"])
        m["To"] = d.addr(h.ROMASHKA["inn"])
        m["Subject"] = SUBJECT
        m.set_content(BODY)
        m.add_attachment(b"contract body " * 100, maintype="application",
                         subtype="pdf", filename="Договор №15.pdf")
        s = d.smtp("lutik")
        s.send_message(m)
        s.quit()
        c = d.imap("romashka")

        def arrived():
            c.select("INBOX", readonly=True)
            return int(c.untagged_responses.get("EXISTS", [b"0"])[-1]) > 0
        wait_for(arrived)
        # a user folder with ordinary mail, so that every kind is synced
        c.create('"%s"' % u7("Архив/Переписка"))
        c.append('"%s"' % u7("Архив/Переписка"), None, None,
                 b"From: a@b.c\r\nSubject: hello\r\n\r\nhi\r\n")
        cls.folders = []
        for line in c.list('""', "*")[1]:
            m = re.match(rb'\(([^)]*)\) "/" "?([^"]*)"?$', line)
            if b"\\Noselect" not in m.group(1):
                cls.folders.append(m.group(2).decode())
        cls.counts = {}
        for f in cls.folders:
            st = c.status('"%s"' % f, "(MESSAGES)")[1][0]
            cls.counts[f] = int(re.search(rb"MESSAGES (\d+)", st).group(1))
        c.logout()

    def curl(self, url, *extra):
        r = subprocess.run(["curl", "-sS", "--max-time", "60", "--cacert", self.d.cafile,
                            "-u", "romashka:" + h.PASSWORD] + list(extra) + [url],
                           capture_output=True, timeout=90)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        return r.stdout

    def test_curl(self):
        base = "imap://127.0.0.1:%d/" % self.d.ports["imap"]
        listing = self.curl(base, "--ssl-reqd").decode()
        self.assertIn(u7("Отправленные"), listing)
        total = 0
        for f in self.folders:
            url = base + urllib.parse.quote(f)
            found = self.curl(url + "?ALL", "--ssl-reqd").decode()
            uids = found.split()[2:] if found.startswith("* SEARCH") else []
            self.assertEqual(len(uids), self.counts[f], (f, found))
            for seq in uids:
                msg = self.curl(url + "/;MAILINDEX=" + seq, "--ssl-reqd")
                self.assertIn(b"\r\n\r\n", msg)
                total += 1
        self.assertGreater(total, 0)
        # imaps:// too, fetching the EDO message by UID
        url = "imaps://127.0.0.1:%d/INBOX/;UID=1" % self.d.ports["imaps"]
        msg = self.curl(url)
        self.assertIn(b"Subject:", msg)

    def test_mbsync(self):
        tmp = tempfile.mkdtemp(prefix="edomail-mbsync-")
        try:
            rc = os.path.join(tmp, "mbsyncrc")
            os.makedirs(os.path.join(tmp, "mail"))
            with open(rc, "w") as f:
                # the demo certificate names "localhost" (mbsync checks names)
                f.write("""IMAPAccount edo
Host localhost
Port %d
User romashka
Pass %s
SSLType STARTTLS
CertificateFile %s

IMAPStore edo-remote
Account edo

MaildirStore edo-local
Path %s/mail/
Inbox %s/mail/INBOX
SubFolders Verbatim

Channel edo
Far :edo-remote:
Near :edo-local:
Patterns *
Create Near
Sync Pull
SyncState *
""" % (self.d.ports["imap"], h.PASSWORD, self.d.cafile, tmp, tmp))
            r = subprocess.run(["mbsync", "-c", rc, "-a"], capture_output=True,
                               text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertNotIn("rror", r.stderr)
            synced = 0
            for root, dirs, files in os.walk(os.path.join(tmp, "mail")):
                if os.path.basename(root) in ("cur", "new"):
                    synced += len(files)
            self.assertEqual(synced, sum(self.counts.values()))
            # a second run finds nothing to do and still succeeds
            r = subprocess.run(["mbsync", "-c", rc, "-a"], capture_output=True,
                               text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_mutt(self):
        tmp = tempfile.mkdtemp(prefix="edomail-mutt-")
        session = "edomail-mutt-%d" % os.getpid()
        try:
            rc = os.path.join(tmp, "muttrc")
            with open(rc, "w") as f:
                f.write("""set folder="imaps://romashka@127.0.0.1:%d/"
set spoolfile="+INBOX"
set imap_pass="%s"
set certificate_file="%s"
set ssl_force_tls=yes
set ssl_verify_host=no
set imap_check_subscribed=no
set header_cache=""
set message_cachedir=""
set charset="utf-8"
set send_charset="utf-8"
set sort=date
set mail_check=60
set timeout=600
""" % (self.d.ports["imaps"], h.PASSWORD, self.d.cafile))
            app = h.TmuxApp(session, "mutt -n -F %s" % rc, tmp)
            self.assertIsNotNone(app.wait(lambda t: SUBJECT in t),
                                 "mutt index:\n" + app.screen())
            # the letter, not the gateway's notices about it (the
            # recipient's ПДПол notice has the same date and subject)
            app.keys("l")
            self.assertIsNotNone(app.wait(lambda t: "Limit to" in t),
                                 "mutt limit prompt:\n" + app.screen())
            app.keys("!~f postmaster@", "Enter")
            self.assertIsNotNone(
                app.wait(lambda t: SUBJECT in t and "postmaster" not in t
                         and "Limit to" not in t),
                "mutt limited index:\n" + app.screen())
            app.keys("Enter")
            self.assertIsNotNone(
                app.wait(lambda t: "Направляем договор" in t),
                "mutt pager:\n" + app.screen())
            app.keys("q", "q")
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    h.main()
