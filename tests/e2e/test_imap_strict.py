#!/usr/bin/env python3
"""IMAP details a strict client checks (issue 9, section 2), each compared
with what Dovecot 2.3 answers to the same commands (doc/imap.md):

- a new keyword is announced with FLAGS and PERMANENTFLAGS before any
  FETCH shows it, in the session that set it (STORE, APPEND, COPY) and in
  another session of the folder on its next update;
- BODY[1.HEADER] / [1.TEXT] / [1.HEADER.FIELDS] / [1.MIME] of a message
  whose whole body is message/rfc822;
- ENVELOPE names from comments, SEARCH FROM/TO over addresses with
  comments;
- '[' inside an atom (SELECT is NO, not BAD), NIL as an atom;
- EXAMINE's RECENT equals STATUS's and SELECT's;
- subscriptions: CREATE does not subscribe, DELETE keeps it, LSUB %
  names the \\Noselect parent of a subscribed child;
- COPY and MOVE into the selected folder.

Untagged responses are read raw through imaplib's connection, because
their order is what is checked.
"""
import re
import unittest

import edomail_harness as h
from edomail_harness import utf7_encode as u7

ARCHIVE = "Архив"


def q(name):
    return '"%s"' % u7(name)


class Raw:
    """Raw commands over a logged-in imaplib connection: the lines of the
    answer in order, literals inlined as bytes."""

    def __init__(self, c):
        self.c = c
        self.n = 0

    def cmd(self, line, literal=None):
        self.n += 1
        tag = ("r%d" % self.n).encode()
        data = line.encode() if isinstance(line, str) else line
        if literal is not None:
            self.c.send(tag + b" " + data + b" {%d}\r\n" % len(literal))
            cont = self.c.readline()
            if not cont.startswith(b"+"):
                raise AssertionError("no continuation: %r" % cont)
            self.c.send(literal + b"\r\n")
        else:
            self.c.send(tag + b" " + data + b"\r\n")
        out = []
        while True:
            line = self.c.readline()
            if not line:
                raise AssertionError("connection closed")
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if m:
                line = line + self.c.read(int(m.group(1)))
                line += self.c.readline()
            out.append(line)
            if line.startswith(tag + b" "):
                return out

    def ok(self, line, literal=None):
        out = self.cmd(line, literal)
        if not out[-1].split(b" ", 2)[1] == b"OK":
            raise AssertionError("%s: %r" % (line, out))
        return out


def index_of(lines, pattern):
    for i, line in enumerate(lines):
        if re.search(pattern, line):
            return i
    return -1


class StrictClient(h.DaemonTestCase):

    def session(self):
        c = self.d.imap("romashka")
        self.addCleanup(c.logout)
        return Raw(c)

    def folder(self, raw, name, messages=()):
        raw.ok("CREATE " + q(name))
        for flags, msg in messages:
            raw.ok("APPEND %s (%s)" % (q(name), flags), msg)

    # ---- keywords ----

    def test_new_keyword_announced_before_fetch(self):
        a, b, c = self.session(), self.session(), self.session()
        box = ARCHIVE + "/kw"
        other = ARCHIVE + "/kw-other"
        self.folder(a, box, [("", b"Subject: one\r\n\r\nbody\r\n"),
                             ("", b"Subject: two\r\n\r\nbody\r\n")])
        self.folder(a, other, [("kw4", b"Subject: four\r\n\r\nbody\r\n")])
        a.ok("SELECT " + q(box))
        b.ok("SELECT " + q(box))

        # STORE: FLAGS and PERMANENTFLAGS, then the FETCH
        out = a.ok("STORE 1 +FLAGS (kw1)")
        i_flags = index_of(out, rb"^\* FLAGS \(.*\bkw1\b")
        i_perm = index_of(out, rb"^\* OK \[PERMANENTFLAGS \(.*\bkw1\b.*\\\*\)\]")
        i_fetch = index_of(out, rb"^\* 1 FETCH \(FLAGS \(.*kw1")
        self.assertTrue(0 <= i_flags < i_perm < i_fetch, out)
        # the other session on its next update
        out = b.ok("NOOP")
        i_flags = index_of(out, rb"^\* FLAGS \(.*\bkw1\b")
        i_fetch = index_of(out, rb"^\* 1 FETCH \(.*kw1")
        self.assertTrue(0 <= i_flags < i_fetch, out)
        self.assertGreaterEqual(
            index_of(out, rb"^\* OK \[PERMANENTFLAGS \(.*\bkw1\b"), 0, out)
        # a known keyword is not announced again
        out = a.ok("STORE 2 +FLAGS (kw1)")
        self.assertEqual(index_of(out, rb"^\* FLAGS"), -1, out)
        # .SILENT still announces a new keyword (Dovecot)
        out = a.ok("STORE 2 +FLAGS.SILENT (kw2)")
        self.assertGreaterEqual(index_of(out, rb"^\* FLAGS \(.*\bkw2\b"), 0,
                                out)
        self.assertEqual(index_of(out, rb"FETCH"), -1, out)

        # APPEND into the selected folder: FLAGS before EXISTS
        out = a.ok("APPEND %s (kw3)" % q(box),
                   b"Subject: three\r\n\r\nbody\r\n")
        i_flags = index_of(out, rb"^\* FLAGS \(.*\bkw3\b")
        i_exists = index_of(out, rb"^\* 3 EXISTS")
        self.assertTrue(0 <= i_flags < i_exists, out)
        out = b.ok("NOOP")
        i_flags = index_of(out, rb"^\* FLAGS \(.*\bkw2\b.*\bkw3\b")
        i_exists = index_of(out, rb"^\* 3 EXISTS")
        self.assertTrue(0 <= i_flags < i_exists, out)
        out = b.ok("FETCH 3 FLAGS")
        self.assertGreaterEqual(index_of(out, rb"^\* 3 FETCH \(FLAGS \(.*kw3"),
                                0, out)

        # COPY from another folder (another session): kw4 announced
        c.ok("SELECT " + q(other))
        c.ok("COPY 1 " + q(box))
        for s in (a, b):
            out = s.ok("NOOP")
            i_flags = index_of(out, rb"^\* FLAGS \(.*\bkw4\b")
            i_exists = index_of(out, rb"^\* 4 EXISTS")
            self.assertTrue(0 <= i_flags < i_exists, out)

        # EXAMINE: announced with PERMANENTFLAGS ()
        e = self.session()
        e.ok("EXAMINE " + q(box))
        a.ok("STORE 1 +FLAGS (kw5)")
        out = e.ok("NOOP")
        i_flags = index_of(out, rb"^\* FLAGS \(.*\bkw5\b")
        i_perm = index_of(out, rb"^\* OK \[PERMANENTFLAGS \(\)\]")
        i_fetch = index_of(out, rb"^\* 1 FETCH \(.*kw5")
        self.assertTrue(0 <= i_flags < i_perm < i_fetch, out)

    # ---- message structure ----

    def test_sections_of_message_rfc822_body(self):
        a = self.session()
        box = ARCHIVE + "/rfc822"
        msg = (b"From: a@b.org\r\nSubject: outer\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: message/rfc822\r\n\r\n"
               b"From: c@d.org\r\nSubject: inner\r\nX-A: 1\r\n\r\n"
               b"inner body\r\n")
        self.folder(a, box, [("", msg),
                             ("", b"Subject: plain\r\n\r\nplain body\r\n")])
        a.ok("SELECT " + q(box))
        out = b"".join(a.ok(
            "FETCH 1 (BODY.PEEK[1.HEADER] BODY.PEEK[1.TEXT] "
            "BODY.PEEK[1.HEADER.FIELDS (SUBJECT)] BODY.PEEK[1.MIME] "
            "BODY.PEEK[1] BODY.PEEK[1.1] "
            "BODY.PEEK[1.HEADER.FIELDS.NOT (SUBJECT)])"))
        # what Dovecot 2.3 answers to the same FETCH
        for want in (
                b"BODY[1.HEADER] {41}\r\nFrom: c@d.org\r\nSubject: inner\r\n"
                b"X-A: 1\r\n\r\n",
                b"BODY[1.TEXT] {12}\r\ninner body\r\n",
                b"BODY[1.HEADER.FIELDS (SUBJECT)] {18}\r\n"
                b"Subject: inner\r\n\r\n",
                b"BODY[1.MIME] {82}\r\nFrom: a@b.org\r\nSubject: outer\r\n",
                b"BODY[1] {53}\r\nFrom: c@d.org\r\n",
                b"BODY[1.1] {12}\r\ninner body\r\n",
                b"BODY[1.HEADER.FIELDS.NOT (SUBJECT)] {25}\r\n"
                b"From: c@d.org\r\nX-A: 1\r\n\r\n"):
            self.assertIn(want, out)
        # a text message has no 1.HEADER (Dovecot: empty), 1.MIME is its
        # header
        out = b"".join(a.ok("FETCH 2 (BODY.PEEK[1.HEADER] BODY.PEEK[1.MIME])"))
        self.assertRegex(out, rb'BODY\[1\.HEADER\] (""|\{0\}\r\n)')
        self.assertIn(b"BODY[1.MIME] {18}\r\nSubject: plain\r\n\r\n", out)

    # ---- addresses ----

    def test_envelope_and_search_with_address_comments(self):
        a = self.session()
        box = ARCHIVE + "/addr"
        msg = (b"From: user@domain.org (Real Name)\r\n"
               b"To: <user (c)@ (c) domain.org>, x@y.org (A) (B), "
               b"(Pre) z@w.org\r\n"
               b"Cc: Joe (x) <joe@d.org> (after)\r\n"
               b"Subject: t\r\n\r\nbody\r\n")
        self.folder(a, box, [("", msg),
                             ("", b"From: other@else.org\r\nTo: n@m.org\r\n"
                              b"Subject: nil here\r\n\r\nbody\r\n")])
        a.ok("SELECT " + q(box))
        out = b"".join(a.ok("FETCH 1 ENVELOPE"))
        self.assertIn(
            b'ENVELOPE (NIL "t" (("Real Name" NIL "user" "domain.org")) '
            b'(("Real Name" NIL "user" "domain.org")) '
            b'(("Real Name" NIL "user" "domain.org")) '
            b'((NIL NIL "user" "domain.org")("B" NIL "x" "y.org")'
            b'(NIL NIL "z" "w.org")) (("Joe" NIL "joe" "d.org")) '
            b'NIL NIL NIL)', out)
        for key, want in (('FROM "Real Name"', b"* SEARCH 1\r\n"),
                          ('TO "user@domain.org"', b"* SEARCH 1\r\n"),
                          ('TO "b <x@y.org>"', b"* SEARCH 1\r\n"),
                          ('CC "joe <joe@d.org>"', b"* SEARCH 1\r\n"),
                          ('FROM "nobody@domain.org"', b"* SEARCH\r\n")):
            out = a.ok("SEARCH " + key)
            self.assertEqual(out[0], want, key)

    # ---- atoms ----

    def test_bracket_in_atom_and_nil(self):
        a = self.session()
        out = a.cmd("SELECT !#$&'+,-.0123456789:;<=>?@^_|[}")
        self.assertTrue(out[-1].startswith(b"r1 NO "), out)
        out = a.cmd("SELECT nosuch[folder")
        self.assertTrue(out[-1].startswith(b"r2 NO "), out)
        out = a.cmd("STATUS a[b (MESSAGES)")
        self.assertTrue(out[-1].startswith(b"r3 NO "), out)
        # a section with a list still needs its ']'
        box = ARCHIVE + "/nil"
        self.folder(a, box, [("", b"Subject: nil here\r\n\r\nbody\r\n"),
                             ("", b"Subject: other\r\n\r\nbody\r\n")])
        a.ok("SELECT " + q(box))
        out = a.cmd("FETCH 1 BODY[HEADER.FIELDS (SUBJECT)")
        self.assertIn(b" BAD ", out[-1])
        # NIL is the atom / string "NIL"
        out = a.ok("STORE 1 +FLAGS NIL")
        self.assertGreaterEqual(index_of(out, rb"^\* FLAGS \(.*\bNIL\b"), 0,
                                out)
        self.assertGreaterEqual(index_of(out, rb"^\* 1 FETCH \(FLAGS \(.*NIL"),
                                0, out)
        a.ok("STORE 2 +FLAGS (NIL)")
        self.assertEqual(a.ok("SEARCH KEYWORD NIL")[0], b"* SEARCH 1 2\r\n")
        self.assertEqual(a.ok("SEARCH SUBJECT NIL")[0], b"* SEARCH 1\r\n")
        out = a.ok('LIST "" NIL')
        self.assertEqual(len(out), 1, out)

    # ---- \Recent ----

    def test_examine_recent_like_status_and_select(self):
        a, b = self.session(), self.session()
        box = ARCHIVE + "/recent"
        self.folder(a, box, [("", b"Subject: 1\r\n\r\nx\r\n"),
                             ("", b"Subject: 2\r\n\r\nx\r\n")])
        self.assertIn(b"RECENT 2)", a.ok("STATUS %s (RECENT)" % q(box))[0])
        out = a.ok("EXAMINE " + q(box))
        self.assertIn(b"* 2 RECENT\r\n", out)
        out = b"".join(a.ok("FETCH 1:* FLAGS"))
        self.assertEqual(out.count(b"\\Recent"), 2, out)
        # EXAMINE took nothing: SELECT still gets them ...
        a.ok("UNSELECT")
        self.assertIn(b"RECENT 2)", a.ok("STATUS %s (RECENT)" % q(box))[0])
        self.assertIn(b"* 2 RECENT\r\n", b.ok("SELECT " + q(box)))
        # ... and then they are nobody else's
        self.assertIn(b"RECENT 0)", a.ok("STATUS %s (RECENT)" % q(box))[0])
        self.assertIn(b"* 0 RECENT\r\n", a.ok("EXAMINE " + q(box)))

    # ---- subscriptions ----

    def test_subscriptions(self):
        a = self.session()
        base = ARCHIVE + "/subs"
        leaf = base + "/leaf"
        a.ok("CREATE " + q(leaf))
        # CREATE does not subscribe
        self.assertEqual(len(a.ok('LSUB "" ' + q(leaf))), 1)
        out = a.ok('LIST (SUBSCRIBED) "" ' + q(base + "/*"))
        self.assertEqual(len(out), 1, out)
        a.ok("SUBSCRIBE " + q(leaf))
        out = a.ok('LSUB "" ' + q(leaf))
        self.assertEqual(len(out), 2, out)
        # LSUB %: the parent of a subscribed child, \Noselect
        out = a.ok('LSUB "" ' + q(ARCHIVE + "/%"))
        self.assertIn(b'* LSUB (\\Noselect) "/" %s\r\n' %
                      u7(base).encode(), out)
        self.assertEqual(index_of(out, re.escape(u7(leaf).encode())), -1)
        # ... as for the system container of the invitation folders
        out = a.ok('LSUB "" %')
        self.assertIn(b'* LSUB (\\Noselect) "/" %s\r\n' %
                      u7("Входящие").encode(), out)
        # DELETE keeps the subscription
        a.ok("DELETE " + q(leaf))
        out = a.ok('LIST (SUBSCRIBED) "" ' + q(base + "/*"))
        self.assertIn(b'* LIST (\\NonExistent \\Subscribed) "/" %s\r\n' %
                      u7(leaf).encode(), out)
        out = a.ok('LIST "" ' + q(base + "/*"))
        self.assertEqual(len(out), 1, out)
        out = a.ok('LIST "" ' + q(base))
        self.assertIn(b"\\HasNoChildren", out[0])
        out = a.ok('LSUB "" ' + q(leaf))
        self.assertEqual(len(out), 2, out)
        # created again, it is subscribed again
        a.ok("CREATE " + q(leaf))
        out = a.ok('LIST "" %s RETURN (SUBSCRIBED)' % q(leaf))
        self.assertIn(b"\\Subscribed", out[0])
        # a deleted folder's subscription can be dropped
        a.ok("DELETE " + q(leaf))
        a.ok("UNSUBSCRIBE " + q(leaf))
        out = a.ok('LIST (SUBSCRIBED) "" ' + q(base + "/*"))
        self.assertEqual(len(out), 1, out)

    # ---- COPY / MOVE into the selected folder ----

    def test_copy_and_move_into_selected_folder(self):
        a, b = self.session(), self.session()
        box = ARCHIVE + "/self"
        self.folder(a, box, [("\\Flagged kwx", b"Subject: 1\r\n\r\nx\r\n"),
                             ("", b"Subject: 2\r\n\r\nx\r\n")])
        a.ok("SELECT " + q(box))
        b.ok("SELECT " + q(box))
        out = a.ok("COPY 1 " + q(box))
        self.assertRegex(out[-1], rb"\[COPYUID \d+ 1 3\]")
        self.assertIn(b"* 3 EXISTS\r\n", out)
        out = a.ok("MOVE 1 " + q(box))
        i_copyuid = index_of(out, rb"^\* OK \[COPYUID \d+ 1 4\]")
        i_expunge = index_of(out, rb"^\* 1 EXPUNGE")
        i_exists = index_of(out, rb"^\* 3 EXISTS")
        self.assertTrue(0 <= i_copyuid < i_expunge < i_exists, out)
        out = a.ok("UID MOVE 4 " + q(box))
        self.assertGreaterEqual(index_of(out, rb"\[COPYUID \d+ 4 5\]"), 0, out)
        out = b"".join(a.ok("FETCH 1:* (UID FLAGS)"))
        self.assertRegex(out, rb"\* 1 FETCH \(UID 2 ")
        self.assertRegex(out, rb"\* 2 FETCH \(UID 3 FLAGS \([^)]*\\Flagged")
        self.assertRegex(out, rb"\* 3 FETCH \(UID 5 FLAGS \([^)]*kwx")
        # the other session sees the same after its next update
        b.ok("NOOP")
        out = b"".join(b.ok("UID FETCH 1:* FLAGS"))
        self.assertEqual(re.findall(rb"UID (\d+)", out), [b"2", b"3", b"5"])


if __name__ == "__main__":
    h.main()
