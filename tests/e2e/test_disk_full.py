#!/usr/bin/env python3
"""A full disk (issue 12, item 11): deleting always works, recovery is clean.

The daemon's store is put on a tmpfs of 32 MB next to a filler file the
test writes.  A user without a quota appends letters until the disk is
full: NO [UNAVAILABLE], the daemon releases its 8 MB reserve
(<store>.reserve) and says so in its log.  Another organization's user
gets the same temporary NO.  The user can still mark its letters \\Deleted
and EXPUNGE them; new letters are still refused (the room is for
deletions), and an SMTP submission gets 451 (on a gateway node, whose
operator has room, it is sent).  When the filler goes (space returns) the next APPEND works,
the reserve is back, and every letter kept is fetched byte for byte.

Needs root (mount); the suite runs as root in CI.
"""
import os
import re
import shutil
import subprocess
import unittest

import edomail_harness as h
from edomail_harness import utf7_encode as u7
from test_smtp_session import L_INN, R_INN, make_mail, submit

DRAFTS = "Черновики"
RESERVE = 8 * 1024 * 1024
LETTER = 512 * 1024


def letter(n):
    """A letter of about 512 KB whose bytes differ from every other's
    (identical bytes would share one blob)."""
    line = ("%06d" % n) + "y" * 70 + "\r\n"
    body = line * (LETTER // len(line))
    return ("From: viewer@edo.local\r\nSubject: filler %d\r\n\r\n%s"
            % (n, body)).encode()


class DiskFull(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.fail("test_disk_full needs root to mount a tmpfs "
                      "(run the suite as root, as CI does)")
        self.d = h.Daemon()
        self.mnt = os.path.join(self.d.dir, "small")
        os.mkdir(self.mnt)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m,mode=0700",
                            "tmpfs", self.mnt], capture_output=True, text=True)
        if r.returncode != 0:
            shutil.rmtree(self.d.dir, ignore_errors=True)
            self.fail("mount -t tmpfs failed: " + r.stderr)
        self.mounted = True
        for name in os.listdir(self.d.dir):
            if name.startswith("edomail.db"):
                shutil.move(os.path.join(self.d.dir, name),
                            os.path.join(self.mnt, name))
        self.db = os.path.join(self.mnt, "edomail.db")
        with open(self.d.conf) as f:
            conf = f.read()
        conf, n = re.subn(r'path = "edomail\.db"', 'path = "%s"' % self.db,
                          conf)
        self.assertEqual(n, 1, conf)
        with open(self.d.conf, "w") as f:
            f.write(conf)
        self.filler = os.path.join(self.mnt, "filler")
        with open(self.filler, "wb") as f:
            f.write(b"\0" * (12 * 1024 * 1024))
        self.d.start()

    def tearDown(self):
        self.doCleanups()  # the clients, before the daemon stops
        rc, sanitizer, log = 0, False, ""
        if self.d.proc is not None:
            rc = self.d.stop()
            log = self.d.log()
            sanitizer = "ERROR: AddressSanitizer" in log or \
                "runtime error:" in log or "ERROR: LeakSanitizer" in log
        subprocess.run(["umount", self.mnt])
        if os.environ.get("EDOMAIL_KEEP") is None:
            shutil.rmtree(self.d.dir, ignore_errors=True)
        self.assertFalse(sanitizer, log)
        self.assertEqual(rc, 0, log)

    def reserve(self):
        try:
            st = os.stat(self.db + ".reserve")
        except FileNotFoundError:
            return None
        return st.st_mode & 0o777, st.st_blocks * 512

    def test_delete_when_full_and_recover(self):
        self.assertEqual(self.reserve(), (0o600, RESERVE))
        self.d.ctl("user", "quota", "viewer", "none")
        c = self.d.imap("viewer")
        self.addCleanup(c.logout)
        drafts = '"%s"' % u7(DRAFTS)
        kept = []
        refused = None
        for n in range(80):
            typ, data = c.append(drafts, None, None, letter(n))
            if typ != "OK":
                refused = data[0]
                break
            kept.append(letter(n))
        self.assertIsNotNone(refused, "the disk never filled")
        self.assertIn(b"[UNAVAILABLE]", refused)
        self.assertGreater(len(kept), 4)
        self.assertIsNone(self.reserve(), "the reserve was not released")
        self.assertIn("disk full; the 8388608-byte reserve was released",
                      self.d.log())

        # another organization: the same temporary refusal, no crash
        v = self.d.imap("vasilek")
        typ, data = v.append(drafts, None, None, letter(1000))
        self.assertEqual(typ, "NO")
        self.assertIn(b"[UNAVAILABLE]", data[0])
        v.logout()
        # a submission: 451, temporary, when the operator's store is on
        # the full disk (the embedded operator); a gateway node's letter
        # goes to node A's operator, whose disk has room: sent
        data, _ = make_mail(self.d.addr(R_INN), self.d.addr(L_INN),
                            "Счёт", "Добрый день!\n",
                            [("doc.pdf", b"%PDF-1.4\n" + os.urandom(2000),
                              "application/pdf")])
        code, text = submit(self.d, "buh", self.d.addr(R_INN),
                            self.d.addr(L_INN), data)
        self.assertEqual(code, 250 if h.TWO_NODES else 451, text)

        # deleting works: the newer half goes
        self.assertEqual(c.select(drafts)[0], "OK")
        half = len(kept) // 2
        typ, _ = c.uid("SEARCH", "ALL")
        self.assertEqual(typ, "OK")
        typ, data = c.store("%d:*" % (half + 1), "+FLAGS", "(\\Deleted)")
        self.assertEqual(typ, "OK", data)
        typ, data = c.expunge()
        self.assertEqual(typ, "OK", data)
        typ, data = c.search(None, "ALL")
        self.assertEqual(len(data[0].split()), half)
        del kept[half:]
        # still no room for new letters: the room is for deletions
        typ, data = c.append(drafts, None, None, letter(2000))
        self.assertEqual(typ, "NO")
        self.assertIn(b"[UNAVAILABLE]", data[0])

        # space returns: letters are accepted again, the reserve is back
        os.unlink(self.filler)
        typ, data = c.append(drafts, None, None, letter(3000))
        self.assertEqual(typ, "OK", data)
        kept.append(letter(3000))
        self.assertEqual(self.reserve(), (0o600, RESERVE))
        self.assertIn("the reserve is made again", self.d.log())

        # nothing lost: every letter kept, byte for byte
        self.assertEqual(c.select(drafts)[0], "OK")
        for i, want in enumerate(kept, 1):
            typ, data = c.fetch(str(i), "(BODY.PEEK[])")
            self.assertEqual(typ, "OK")
            self.assertEqual(data[0][1], want, "letter %d differs" % i)


if __name__ == "__main__":
    unittest.main()
