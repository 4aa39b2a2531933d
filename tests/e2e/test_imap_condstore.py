#!/usr/bin/env python3
"""CONDSTORE, QRESYNC (RFC 7162) and ESEARCH (RFC 4731) end to end.

Debian 12 has no Python IMAP library that speaks CONDSTORE/QRESYNC
(python3-imapclient is not packaged), so the commands go out raw over
imaplib's connection and every line up to the tagged reply is checked in
order (VANISHED before FETCH, CLOSED before the new folder's data).

Two sessions of one user share folders under Архив: HIGHESTMODSEQ rises
when the other session stores flags and when the operator's state (an
invitation rejected with edomailctl) sets an $EDO_* keyword; CHANGEDSINCE
returns only what changed; UNCHANGEDSINCE after another session's change
answers [MODIFIED]; a QRESYNC SELECT after an expunge in the other
session answers VANISHED (EARLIER) and the changed flags; after ENABLE
QRESYNC expunges arrive as VANISHED; SEARCH RETURN (...) answers ESEARCH.
"""
import re
import time
import unittest

import edomail_harness as h
from edomail_harness import utf7_encode as u7

ARCHIVE = "Архив"
IN_INV = "Входящие/Приглашения"


def q(name):
    return '"%s"' % u7(name)


def raw(c, cmd):
    """Sends cmd; returns (tagged line, [untagged lines]) as str."""
    tag = c._new_tag().decode()
    c.send(("%s %s\r\n" % (tag, cmd)).encode())
    lines = []
    while True:
        line = c.readline().decode().rstrip("\r\n")
        if line.startswith(tag + " "):
            return line[len(tag) + 1:], lines
        lines.append(line)


def ok(c, cmd):
    tagged, lines = raw(c, cmd)
    if not tagged.startswith("OK"):
        raise AssertionError("%s -> %s %r" % (cmd, tagged, lines))
    return tagged, lines


def code(lines, name):
    """The number of an OK [NAME n] response code (last one), or None."""
    val = None
    for ln in lines:
        m = re.search(r"\[%s (\d+)\]" % name, ln)
        if m:
            val = int(m.group(1))
    return val


def fetches(lines):
    """{seq: line} of untagged FETCH responses."""
    out = {}
    for ln in lines:
        m = re.match(r"\* (\d+) FETCH \((.*)\)$", ln)
        if m:
            out[int(m.group(1))] = m.group(2)
    return out


def status_line(lines):
    return [ln for ln in lines if ln.startswith("* STATUS ")][0]


def modseq(item):
    return int(re.search(r"MODSEQ \((\d+)\)", item).group(1))


def append(c, box, subject):
    msg = "From: x@y.z\r\nSubject: %s\r\n\r\ntext\r\n" % subject
    typ, data = c.append(q(box), None, None, msg.encode())
    assert typ == "OK", data


class CondstoreTest(h.DaemonTestCase):
    def box(self, name, n=3):
        """A new folder under Архив with n messages; (a, b) sessions."""
        box = ARCHIVE + "/" + name
        a = self.d.imap("romashka")
        ok(a, "CREATE " + q(box))
        for i in range(n):
            append(a, box, "%s %d" % (name, i + 1))
        b = self.d.imap("romashka", mode="ssl")
        self.addCleanup(a.logout)
        self.addCleanup(b.logout)
        return box, a, b

    def test_capability_and_enable(self):
        c = self.d.imap("romashka")
        _, lines = ok(c, "CAPABILITY")
        caps = lines[0].split()
        for cap in ("CONDSTORE", "QRESYNC", "ESEARCH", "ENABLE", "UIDPLUS"):
            self.assertIn(cap, caps)
        _, lines = ok(c, "ENABLE QRESYNC")
        self.assertEqual(lines, ["* ENABLED CONDSTORE QRESYNC"])
        # already on: nothing newly enabled
        _, lines = ok(c, "ENABLE CONDSTORE")
        self.assertEqual(lines, ["* ENABLED"])
        c.logout()

    def test_qresync_needs_enable(self):
        box, a, b = self.box("Без ENABLE", 1)
        tagged, _ = raw(a, "SELECT %s (QRESYNC (1 1))" % q(box))
        self.assertTrue(tagged.startswith("BAD"), tagged)
        tagged, _ = raw(a, "FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)")
        self.assertTrue(tagged.startswith("BAD"), tagged)

    def test_highestmodseq_changedsince(self):
        box, a, b = self.box("Флаги")
        # without CONDSTORE no HIGHESTMODSEQ and no MODSEQ
        _, lines = ok(a, "SELECT " + q(box))
        self.assertIsNone(code(lines, "HIGHESTMODSEQ"))
        _, lines = ok(a, "SELECT %s (CONDSTORE)" % q(box))
        self.assertIn("* OK [CLOSED] Предыдущая папка закрыта / "
                      "Previous mailbox closed", lines)
        h0 = code(lines, "HIGHESTMODSEQ")
        self.assertIsNotNone(h0)
        _, lines = ok(a, "FETCH 1:* (MODSEQ)")
        ms = {k: modseq(v) for k, v in fetches(lines).items()}
        self.assertEqual(len(ms), 3)
        self.assertTrue(all(0 < m <= h0 for m in ms.values()), (ms, h0))
        _, lines = ok(b, "STATUS %s (HIGHESTMODSEQ MESSAGES)" % q(box))
        self.assertIn("HIGHESTMODSEQ %d MESSAGES 3" % h0, status_line(lines))

        # another session stores a flag
        ok(b, "SELECT " + q(box))
        ok(b, "STORE 2 +FLAGS (\\Flagged)")
        _, lines = ok(b, "STATUS %s (HIGHESTMODSEQ)" % q(box))
        h1 = int(re.search(r"HIGHESTMODSEQ (\d+)", status_line(lines)).group(1))
        self.assertGreater(h1, h0)
        # a hears of it with MODSEQ, CONDSTORE being on
        _, lines = ok(a, "NOOP")
        f = fetches(lines)
        self.assertEqual(list(f), [2])
        self.assertIn("FLAGS (\\Flagged)", f[2])
        self.assertEqual(modseq(f[2]), h1)
        # CHANGEDSINCE: only message 2
        _, lines = ok(a, "FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % h0)
        f = fetches(lines)
        self.assertEqual(list(f), [2])
        self.assertEqual(modseq(f[2]), h1)
        _, lines = ok(a, "UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % h1)
        self.assertEqual(fetches(lines), {})
        # SEARCH MODSEQ
        _, lines = ok(a, "SEARCH MODSEQ %d" % (h0 + 1))
        self.assertIn("* SEARCH 2 (MODSEQ %d)" % h1, lines)
        _, lines = ok(a, 'SEARCH MODSEQ "/flags/\\\\flagged" all %d'
                      % (h1 + 1))
        self.assertIn("* SEARCH", lines)
        # a's own STORE answers with FLAGS and MODSEQ; .SILENT with MODSEQ
        _, lines = ok(a, "STORE 1 +FLAGS (\\Seen)")
        f = fetches(lines)
        self.assertGreater(modseq(f[1]), h1)
        self.assertIn("FLAGS (\\Seen)", f[1])
        _, lines = ok(a, "UID STORE 3 +FLAGS.SILENT (\\Seen)")
        f = fetches(lines)
        self.assertNotIn("FLAGS", f[3])
        self.assertIn("UID 3", f[3])
        self.assertGreater(modseq(f[3]), modseq(fetches(
            ok(a, "FETCH 1 (MODSEQ)")[1])[1]))

    def test_unchangedsince_modified(self):
        box, a, b = self.box("Условно")
        _, lines = ok(a, "SELECT %s (CONDSTORE)" % q(box))
        h0 = code(lines, "HIGHESTMODSEQ")
        ok(b, "SELECT " + q(box))
        ok(b, "STORE 1 +FLAGS (\\Answered)")
        tagged, lines = ok(a, "STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS ($Mine)"
                           % h0)
        self.assertIn("[MODIFIED 1]", tagged)
        f = {k: v for k, v in fetches(lines).items() if "$Mine" in v}
        self.assertEqual(sorted(f), [2, 3])
        _, lines = ok(a, "FETCH 1 (FLAGS)")
        self.assertNotIn("$Mine", fetches(lines)[1])
        # UID form: the MODIFIED set is of UIDs; 0 always fails
        tagged, lines = ok(a, "UID STORE 2:3 (UNCHANGEDSINCE 0) +FLAGS (x)")
        self.assertIn("[MODIFIED 2:3]", tagged)
        # unchanged since the current MODSEQ: succeeds
        m3 = modseq(fetches(ok(a, "FETCH 3 (MODSEQ)")[1])[3])
        tagged, lines = ok(a, "STORE 3 (UNCHANGEDSINCE %d) -FLAGS ($Mine)"
                           % m3)
        self.assertNotIn("MODIFIED", tagged)
        self.assertGreater(modseq(fetches(lines)[3]), m3)

    def test_qresync_vanished(self):
        box, a, b = self.box("Быстро", 4)
        ok(a, "ENABLE QRESYNC")
        _, lines = ok(a, "SELECT " + q(box))
        uv = code(lines, "UIDVALIDITY")
        h0 = code(lines, "HIGHESTMODSEQ")
        ok(a, "UNSELECT")
        # the other session expunges 2 and flags 1
        ok(b, "SELECT " + q(box))
        ok(b, "STORE 2 +FLAGS.SILENT (\\Deleted)")
        ok(b, "EXPUNGE")
        ok(b, "STORE 1 +FLAGS (\\Answered)")
        _, lines = ok(a, "SELECT %s (QRESYNC (%d %d))" % (q(box), uv, h0))
        i = lines.index("* VANISHED (EARLIER) 2")
        f = [(n, ln) for n, ln in enumerate(lines) if " FETCH " in ln]
        self.assertEqual(len(f), 1, lines)
        self.assertGreater(f[0][0], i)
        self.assertRegex(f[0][1], r"^\* 1 FETCH \(UID 1 FLAGS \(\\Answered\) "
                         r"MODSEQ \(\d+\)\)$")
        h1 = code(lines, "HIGHESTMODSEQ")
        self.assertGreater(h1, h0)
        # known-uids limit the answer; a wrong UIDVALIDITY gives nothing
        _, lines = ok(a, "SELECT %s (QRESYNC (%d %d 3:4))" % (q(box), uv, h0))
        self.assertNotIn("VANISHED", " ".join(lines))
        self.assertEqual(fetches(lines), {})
        _, lines = ok(a, "SELECT %s (QRESYNC (%d %d 1:* (1:3 1:3)))"
                      % (q(box), uv, h0))
        self.assertIn("* VANISHED (EARLIER) 2", lines)
        _, lines = ok(a, "EXAMINE %s (QRESYNC (%d %d))" % (q(box), uv + 1, h0))
        self.assertNotIn("VANISHED", " ".join(lines))
        self.assertIn("* OK [CLOSED] Предыдущая папка закрыта / "
                      "Previous mailbox closed", lines)
        # in a selected folder: expunges are VANISHED, not EXPUNGE
        ok(a, "SELECT " + q(box))
        ok(b, "UID STORE 3 +FLAGS.SILENT (\\Deleted)")
        ok(b, "EXPUNGE")
        _, lines = ok(a, "NOOP")
        self.assertIn("* VANISHED 3", lines)
        self.assertNotIn("EXPUNGE", " ".join(lines))
        # UID FETCH ... (CHANGEDSINCE n VANISHED)
        _, lines = ok(a, "UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)"
                      % h0)
        self.assertEqual(lines[0], "* VANISHED (EARLIER) 2:3")
        self.assertEqual(len(fetches(lines)), 1)
        # its own EXPUNGE: VANISHED and the new HIGHESTMODSEQ
        ok(a, "UID STORE 4 +FLAGS.SILENT (\\Deleted)")
        tagged, lines = ok(a, "UID EXPUNGE 4")
        self.assertIn("* VANISHED 4", lines)
        h2 = code([tagged], "HIGHESTMODSEQ")
        self.assertIsNotNone(h2)
        _, lines = ok(b, "STATUS %s (HIGHESTMODSEQ)" % q(box))
        self.assertIn("HIGHESTMODSEQ %d" % h2, status_line(lines))

    def test_esearch(self):
        box, a, b = self.box("Поиск", 5)
        ok(a, "SELECT " + q(box))
        ok(a, "STORE 2,4 +FLAGS (\\Flagged)")
        _, lines = ok(a, "SEARCH RETURN (MIN MAX COUNT ALL) ALL")
        self.assertRegex(lines[0], r'^\* ESEARCH \(TAG "[^"]+"\) MIN 1 MAX 5 '
                         r'COUNT 5 ALL 1:5$')
        tag = a._new_tag().decode()
        a.send(('%s UID SEARCH RETURN () FLAGGED\r\n' % tag).encode())
        line = a.readline().decode().rstrip("\r\n")
        self.assertEqual(line, '* ESEARCH (TAG "%s") UID ALL 2,4' % tag)
        while not a.readline().decode().startswith(tag):
            pass
        _, lines = ok(a, "SEARCH RETURN (COUNT MIN) DELETED")
        self.assertRegex(lines[0], r'^\* ESEARCH \(TAG "[^"]+"\) COUNT 0$')
        _, lines = ok(a, "SEARCH RETURN (MAX) FLAGGED")
        self.assertRegex(lines[0], r'\) MAX 4$')
        tagged, _ = raw(a, "SEARCH RETURN (SAVE) ALL")
        self.assertTrue(tagged.startswith("BAD"), tagged)
        # the plain SEARCH is unchanged
        _, lines = ok(a, "SEARCH FLAGGED")
        self.assertEqual(lines, ["* SEARCH 2 4"])

    def test_edo_keyword_bumps_modseq(self):
        d = self.d
        d.ctl("invite", h.VASILEK["inn"], h.ROMASHKA["inn"], "--text",
              "Приглашение для CONDSTORE")
        a = d.imap("romashka")
        self.addCleanup(a.logout)
        deadline = time.time() + 30
        while True:
            _, lines = ok(a, "SELECT %s (CONDSTORE)" % q(IN_INV))
            n = int([ln for ln in lines if ln.endswith(" EXISTS")][0].split()[1])
            if n > 0:
                break
            self.assertLess(time.time(), deadline, "no invitation")
            time.sleep(0.3)
        h0 = code(lines, "HIGHESTMODSEQ")
        d.ctl("reject", h.ROMASHKA["inn"], h.VASILEK["inn"])
        deadline = time.time() + 30
        got = None
        while got is None:
            _, lines = ok(a, "NOOP")
            for ln in fetches(lines).values():
                if "$EDO_Rejected" in ln:
                    got = ln
            if got is None:
                self.assertLess(time.time(), deadline, "no $EDO_Rejected")
                time.sleep(0.3)
        self.assertGreater(modseq(got), h0)
        _, lines = ok(a, "FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % h0)
        f = fetches(lines)
        self.assertEqual(len(f), 1)
        self.assertIn("$EDO_Rejected", list(f.values())[0])
        b = d.imap("romashka")
        self.addCleanup(b.logout)
        _, lines = ok(b, "STATUS %s (HIGHESTMODSEQ)" % q(IN_INV))
        self.assertGreaterEqual(
            int(re.search(r"HIGHESTMODSEQ (\d+)", status_line(lines)).group(1)),
            modseq(got))


if __name__ == "__main__":
    h.main()
