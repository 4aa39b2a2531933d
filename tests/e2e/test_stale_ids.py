#!/usr/bin/env python3
"""Never the wrong bytes (issue 9, part 1): a session that has not been
told a message is gone must never be served another message in its place,
least of all another organization's.

- The exact sequence of the report: session a of `romashka` has message 3
  of a folder in its snapshot, session b expunges it, `lutik` appends to
  his own folder (which used to take over the freed storage row), and a
  fetches message 3: the answer is the data as NIL with
  OK [EXPUNGEISSUED] (RFC 2180 4.1.2, as Dovecot does), never lutik's
  bytes and never NO [UNAVAILABLE].  STORE on it: OK, no effect.
- A folder deleted and created again at once gets another UIDVALIDITY,
  and a session that still has the deleted folder selected sees nothing of
  a folder made meanwhile by another organization.
- A randomized run: sessions of three users in three organizations do
  SELECT/FETCH/STORE/EXPUNGE/APPEND/COPY/MOVE/CREATE/DELETE for a minute,
  and a checker remembers for every (user, folder, UIDVALIDITY, UID) the
  Message-ID and body hash it was served; any change, or a message of
  another user, fails the test; half the sessions ENABLE QRESYNC.  The
  suite runs it under ASan.
"""
import hashlib
import imaplib
import os
import random
import re
import threading
import time
import unittest
import uuid

import edomail_harness as h
from edomail_harness import utf7_encode as u7

DURATION = float(os.environ.get("EDOMAIL_STALE_SECONDS", "60"))
USERS = ("romashka", "lutik", "vasilek")
SESSIONS_PER_USER = 3
FOLDERS = ("Архив/s1", "Архив/s2", "Архив/s3")


def q(name):
    return '"' + u7(name) + '"'


def make_msg(owner, tag=""):
    token = uuid.uuid4().hex
    mid = "<%s.%s@stale.test>" % (token, owner)
    body = ("From: %s@example.org\r\nTo: x@example.org\r\n"
            "Subject: %s %s\r\nMessage-ID: %s\r\n"
            "Date: Sat, 05 Dec 2026 10:00:00 +0300\r\n\r\n"
            "owner=%s token=%s private body of %s\r\n" %
            (owner, owner, tag, mid, owner, token, owner))
    return body.encode(), mid


def fetch_parts(data):
    """(header bytes, literal or None) of each message in a FETCH
    response as imaplib returns it."""
    out = []
    for el in data:
        if isinstance(el, tuple):
            out.append((el[0], el[1]))
        elif isinstance(el, bytes) and el not in (b")",) and b"FETCH" not in el \
                and re.match(rb"^\d+ \(", el):
            out.append((el, None))
    return out


def uid_of(head):
    m = re.search(rb"UID (\d+)", head)
    return int(m.group(1)) if m else None


def raw(c, command):
    """Sends one command on an imaplib connection and returns every line
    up to and including the tagged one (literals included as read)."""
    tag = c._new_tag()
    c.send(tag + b" " + command + b"\r\n")
    lines = []
    while True:
        ln = c._get_line()
        lines.append(ln)
        m = re.search(rb"\{(\d+)\}$", ln)
        if m:
            lines.append(c.read(int(m.group(1))))
            continue
        if ln.startswith(tag + b" "):
            return lines


def uidvalidity(c):
    typ, data = c.response("UIDVALIDITY")
    return int(data[0]) if data and data[0] else None


class ExactSequence(h.DaemonTestCase):
    def setUp(self):
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            try:
                c.logout()
            except Exception:
                pass

    def imap(self, login):
        c = self.d.imap(login)
        self.clients.append(c)
        return c

    def test_fetch_after_foreign_expunge_never_serves_other_bytes(self):
        a, b, c = self.imap("romashka"), self.imap("romashka"), self.imap("lutik")
        self.assertEqual(a.create(q("Архив/x"))[0], "OK")
        self.assertEqual(c.create(q("Архив/y"))[0], "OK")
        own = []
        for i in range(3):
            msg, mid = make_msg("romashka", "r%d" % i)
            self.assertEqual(a.append(q("Архив/x"), None, None, msg)[0], "OK")
            own.append(msg)
        self.assertEqual(a.select(q("Архив/x"))[0], "OK")
        typ, data = a.fetch("1", "(BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        self.assertEqual(b.select(q("Архив/x"))[0], "OK")
        self.assertEqual(b.store("3", "+FLAGS.SILENT", "(\\Deleted)")[0], "OK")
        typ, data = b.expunge()
        self.assertEqual((typ, data), ("OK", [b"3"]))
        secrets = []
        for i in range(4):
            msg, mid = make_msg("lutik", "l%d" % i)
            self.assertEqual(c.append(q("Архив/y"), None, None, msg)[0], "OK")
            secrets.append(msg)
        # a has not been told: message 3 is still in its snapshot.
        lines = raw(a, b"FETCH 3 (UID BODY.PEEK[])")
        joined = b"\n".join(lines)
        self.assertNotIn(b"lutik", joined)
        self.assertIn(b"* 3 FETCH (UID 3 BODY[] NIL)", joined)
        self.assertTrue(lines[-1].split(b" ", 1)[1].startswith(
            b"OK [EXPUNGEISSUED]"), lines)
        lines = raw(a, b"FETCH 3 (BODY.PEEK[TEXT] RFC822.SIZE ENVELOPE "
                    b"BODYSTRUCTURE FLAGS)")
        joined = b"\n".join(lines)
        self.assertNotIn(b"lutik", joined)
        self.assertIn(b"BODY[TEXT] NIL", joined)
        self.assertTrue(lines[-1].split(b" ", 1)[1].startswith(
            b"OK [EXPUNGEISSUED]"), lines)
        # STORE on it: no error, no effect (RFC 2180 4.2.1).
        lines = raw(a, b"STORE 3 +FLAGS (\\Flagged)")
        self.assertTrue(lines[-1].split(b" ", 1)[1].startswith(b"OK"), lines)
        # The first two are still served as they are.
        typ, data = a.fetch("1:2", "(BODY.PEEK[])")
        self.assertEqual([p[1] for p in fetch_parts(data)], own[:2])
        # A command that may report expunges now does.
        lines = raw(a, b"NOOP")
        self.assertIn(b"* 3 EXPUNGE", lines)
        typ, data = a.fetch("1:*", "(BODY.PEEK[])")
        self.assertEqual([p[1] for p in fetch_parts(data)], own[:2])

    def test_deleted_folder_gets_a_new_uidvalidity(self):
        a = self.imap("romashka")
        seen = set()
        for i in range(4):
            self.assertEqual(a.create(q("Архив/again"))[0], "OK")
            self.assertEqual(a.select(q("Архив/again"))[0], "OK")
            v = uidvalidity(a)
            self.assertNotIn(v, seen)
            seen.add(v)
            a.close()
            self.assertEqual(a.delete(q("Архив/again"))[0], "OK")

    def test_selected_folder_deleted_then_foreign_folder_made(self):
        a, b, c = self.imap("romashka"), self.imap("romashka"), self.imap("lutik")
        self.assertEqual(a.create(q("Архив/gone"))[0], "OK")
        msg, _ = make_msg("romashka", "gone")
        self.assertEqual(a.append(q("Архив/gone"), None, None, msg)[0], "OK")
        self.assertEqual(a.select(q("Архив/gone"))[0], "OK")
        self.assertEqual(b.delete(q("Архив/gone"))[0], "OK")
        self.assertEqual(c.create(q("Архив/fresh"))[0], "OK")
        secret, _ = make_msg("lutik", "fresh")
        self.assertEqual(c.append(q("Архив/fresh"), None, None, secret)[0], "OK")
        typ, data = a.fetch("1:*", "(UID BODY.PEEK[])")
        self.assertNotIn(b"lutik", repr(data).encode())
        typ, data = a.noop()
        typ, data = a.uid("FETCH", "1:*", "(BODY.PEEK[])")
        self.assertNotIn(b"lutik", repr(data).encode())


class Checker:
    """What every (user, folder, UIDVALIDITY, UID) was when first served."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = {}
        self.failures = []
        self.served = 0

    def fail(self, text):
        with self.lock:
            self.failures.append(text)

    def check(self, user, folder, uidv, uid, body):
        if body is None:
            return
        m = re.search(rb"owner=(\w+)", body)
        if m is None or m.group(1).decode() != user:
            self.fail("%s got a message of another user in %s: %r" %
                      (user, folder, body[:200]))
            return
        mid = re.search(rb"Message-ID: (<[^>]+>)", body)
        value = (mid.group(1) if mid else None,
                 hashlib.sha256(body).hexdigest())
        key = (user, folder, uidv, uid)
        with self.lock:
            self.served += 1
            old = self.seen.setdefault(key, value)
        if old != value:
            self.fail("%s %s UIDVALIDITY %s UID %s changed: %r -> %r" %
                      (user, folder, uidv, uid, old, value))


class Worker(threading.Thread):
    def __init__(self, d, user, seed, checker, deadline):
        super().__init__(daemon=True)
        self.d, self.user, self.checker = d, user, checker
        self.rnd = random.Random(seed)
        self.deadline = deadline
        self.ops = 0
        self.error = None
        self.folder = None
        self.uidv = None

    def run(self):
        try:
            self.c = self.d.imap(self.user)
            # Half the sessions take QRESYNC: expunges then come as
            # VANISHED and FETCH carries MODSEQ (RFC 7162).
            self.qresync = self.rnd.random() < 0.5
            if self.qresync:
                self.c.enable("QRESYNC")
            while time.time() < self.deadline:
                try:
                    self.step()
                except imaplib.IMAP4.abort:
                    raise
                except imaplib.IMAP4.error as e:
                    # A number past the end of the snapshot is BAD by
                    # RFC 3501; anything else is a failure.
                    if "out of range" not in str(e):
                        raise
                self.ops += 1
            self.c.logout()
        except Exception as e:  # an abort or BAD is a failure
            self.error = "%s: %r" % (self.user, e)

    def select(self):
        name = self.rnd.choice(FOLDERS)
        typ, _ = self.c.select(q(name))
        if typ == "OK":
            self.folder, self.uidv = name, uidvalidity(self.c)
        else:
            self.folder = None

    def fetch(self):
        if self.folder is None:
            return
        use_uid = self.rnd.random() < 0.5
        n = self.rnd.randint(1, 8)
        items = "(UID MODSEQ BODY.PEEK[])" if self.qresync else \
            "(UID BODY.PEEK[])"
        if use_uid:
            typ, data = self.c.uid("FETCH", "%d:%d" % (n, n + 3), items)
        else:
            typ, data = self.c.fetch("%d:%d" % (n, n + 1), items)
        if typ != "OK":
            self.checker.fail("%s FETCH in %s: %s %r" % (self.user,
                                                         self.folder, typ, data))
            return
        for head, body in fetch_parts(data):
            uid = uid_of(head)
            if uid is not None:
                self.checker.check(self.user, self.folder, self.uidv, uid, body)

    def step(self):
        r = self.rnd.random()
        c = self.c
        if self.folder is None or r < 0.10:
            self.select()
        elif r < 0.40:
            self.fetch()
        elif r < 0.55:
            msg, _ = make_msg(self.user)
            c.append(q(self.rnd.choice(FOLDERS)), None, None, msg)
        elif r < 0.65:
            c.store(str(self.rnd.randint(1, 6)), "+FLAGS.SILENT",
                    self.rnd.choice(["(\\Deleted)", "(\\Seen)", "(\\Flagged)"]))
        elif r < 0.72:
            c.expunge()
        elif r < 0.80:
            c.copy("%d" % self.rnd.randint(1, 5), q(self.rnd.choice(FOLDERS)))
        elif r < 0.87:
            c._simple_command("MOVE", "%d" % self.rnd.randint(1, 5),
                              q(self.rnd.choice(FOLDERS)))
        elif r < 0.90:
            # Folders go and come back: their ids and UIDVALIDITY must not.
            name = self.rnd.choice(FOLDERS)
            c.delete(q(name))
            if name == self.folder:
                self.folder = None      # DELETE of the selected one
            c.create(q(name))
        else:
            c.noop()


class Randomized(unittest.TestCase):
    def test_sessions_never_see_changed_or_foreign_messages(self):
        d = h.Daemon()
        d.start()
        try:
            setup = {}
            for u in USERS:
                setup[u] = d.imap(u)
                for f in FOLDERS:
                    setup[u].create(q(f))
                    for i in range(3):
                        msg, _ = make_msg(u, "seed")
                        setup[u].append(q(f), None, None, msg)
                setup[u].logout()
            checker = Checker()
            deadline = time.time() + DURATION
            workers = [Worker(d, u, 1000 * k + i, checker, deadline)
                       for k, u in enumerate(USERS)
                       for i in range(SESSIONS_PER_USER)]
            for w in workers:
                w.start()
            for w in workers:
                w.join(DURATION + 120)
            errors = [w.error for w in workers if w.error]
            self.assertEqual(errors, [])
            self.assertEqual(checker.failures, [])
            ops = sum(w.ops for w in workers)
            print("randomized: %d sessions, %d operations, %d messages "
                  "checked" % (len(workers), ops, checker.served))
            self.assertGreater(checker.served, 100)
        finally:
            rc, sanitizer, log = d.cleanup()
        self.assertFalse(sanitizer, log)
        self.assertEqual(rc, 0, log)


if __name__ == "__main__":
    h.main()
