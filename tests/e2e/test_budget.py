#!/usr/bin/env python3
"""The memory budget and the slots (issue 12, items 5-7; doc/robustness.md
"Memory budget" and "Slots").

- Memory: 200 clients of each kind that send and never read — SMTP
  before AUTH pipelining HELP, IMAP before login pipelining CAPABILITY,
  logged-in IMAP pipelining LIST "" * over 990 folders.  The daemon's
  VmRSS growth stays under the budget of those 600 connections (computed
  below from the same numbers as the document), and the server stops
  reading their commands instead of queueing replies.
- The login deadline counts wall time from the connection: a client that
  floods NOOP (so that it is always waiting for the rate limit) is
  closed at login_timeout all the same, over SMTP and IMAP.
- Slots: with the share of connections not logged in full, a new
  connection still logs in and the oldest not-logged-in one is closed
  with a reason; a logged-in session never loses its slot; only when
  every slot is logged in is a newcomer refused.

Why the RSS check means something under ASan: the daemon runs with a
16 MB quarantine (freed memory would otherwise stay resident, 256 MB by
default) and the bound allows ASan's redzones and shadow (x1.5) plus the
quarantine; the growth without the budget (before issue 12) was several
hundred MB within seconds (1.3 GB from 100 SMTP clients), so the check
still fails on unbounded growth.  In a build without ASan the bound is
the budget itself.
"""
import errno
import os
import select
import socket
import sys
import time
import unittest

import edomail_harness as h
from edomail_harness import utf7_encode as u7
from test_abuse import asan_env, cpu_ticks, finish, rss_mb

# The budget of doc/robustness.md, per connection, in KiB.
KIB = 1024
IMAP_INPUT = 64 * KIB + 4 * KIB     # max(max_line + 4 KiB, 64 KiB)
IMAP_OUTPUT = 256 * KIB             # IMAP_OUTPUT_HIGH
SMTP_INPUT = 256 * KIB              # SMTP_MAX_INPUT
SMTP_OUTPUT = 64 * KIB              # SMTP_OUTPUT_HIGH
SESSION = 16 * KIB                  # session, connection, bufferevent, parser
N = 200                             # clients of each kind
# The folders a user may still create: limits' 1000 minus the demo user's
# own (Входящие, На подпись, Отправленные, ... per organization).
FOLDERS = 990


def asan_build():
    with open(os.path.join(h.BUILD, "src", "daemon", "edomaild"), "rb") as f:
        return b"__asan_init" in f.read()


def nonblocking_conn(d, kind, source, rcvbuf=4096):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # a small window: the kernel holds little of the unread output, so
    # what piles up is the daemon's
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((source, 0))
    s.settimeout(30)
    s.connect(("127.0.0.1", d.ports[kind]))
    return s


def read_line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            break
        buf += c
    return buf


def read_until(s, tag):
    buf = b""
    while True:
        c = s.recv(65536)
        if not c:
            return buf
        buf += c
        if (b"\r\n" + tag + b" ") in buf or buf.startswith(tag + b" "):
            if buf.endswith(b"\r\n"):
                return buf


def pump(socks, seconds, sample, settled=None):
    """Sends each socket's data (socks: {socket: bytes}) over and over
    without ever reading; what does not fit waits.  Calls sample() between
    rounds; stops after `seconds`, or when settled() says so."""
    pos = {s: 0 for s in socks}
    for s in socks:
        s.setblocking(False)
    live = list(socks)
    end = time.time() + seconds
    while time.time() < end and not (settled is not None and settled()):
        _, writable, _ = select.select([], live, [], 0.2)
        for s in writable:
            p, data = pos[s], socks[s]
            try:
                n = s.send(data[p:] + data[:p])
                pos[s] = (p + n) % len(data)
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                    live.remove(s)
        sample()
        time.sleep(0.05)


class MemoryBudget(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon(extra_env=dict(asan_env(),
                                        DEMO_PLAINTEXT_LOOPBACK="true"))
        with open(cls.d.conf, "a") as f:
            f.write("limits: { max_unauth_connections = 1000; "
                    "login_timeout = 120; };\n")
        cls.d.start()

    @classmethod
    def tearDownClass(cls):
        finish(cls.d)

    def make_folders(self):
        s = nonblocking_conn(self.d, "imap", "127.0.0.1", rcvbuf=1 << 20)
        read_line(s)
        s.sendall(b'L LOGIN romashka "%s"\r\n' % h.PASSWORD.encode())
        self.assertIn(b"L OK", read_until(s, b"L"))
        s.sendall(b"".join(b'c%d CREATE "%s"\r\n' % (
            i, u7("Архив/папка-для-проверки-бюджета-%04d" % i).encode())
            for i in range(FOLDERS)))
        out = read_until(s, b"c%d" % (FOLDERS - 1))
        self.assertEqual(out.count(b" OK "), FOLDERS, out[-500:])
        s.sendall(b'l LIST "" *\r\n')
        listing = read_until(s, b"l")
        s.close()
        return len(listing)

    def test_never_reading_clients(self):
        d = self.d
        pid = d.proc.pid
        list_size = self.make_folders()
        # logged in first; make_folders' login filled the login cache, so
        # the password is not hashed 200 times
        authed = []
        for i in range(N):
            s = nonblocking_conn(d, "imap", "127.0.4.%d" % (1 + i // 100))
            read_line(s)
            s.sendall(b'L LOGIN romashka "%s"\r\n' % h.PASSWORD.encode())
            authed.append(s)
        for s in authed:
            self.assertIn(b"L OK", read_until(s, b"L"))
        unauth_imap = [nonblocking_conn(d, "imap", "127.0.5.%d" % (1 + i // 100))
                       for i in range(N)]
        smtp = [nonblocking_conn(d, "submission", "127.0.6.%d" % (1 + i // 100))
                for i in range(N)]
        for s in unauth_imap + smtp:
            read_line(s)
        time.sleep(1)
        before = rss_mb(pid)
        peak = [before]

        def sample():
            peak[0] = max(peak[0], rss_mb(pid))
        t0 = time.time()
        socks = {}
        # 20 LISTs each: 3 fill the budget, so the other 17 wait unread
        # (without the budget all 20 ran: 2.5 MB a client); fewer LISTs
        # keep the daemon's CPU time within the test's (~0.1 s a LIST of
        # 990 folders under ASan)
        for s in authed:
            s.sendall(b'a LIST "" *\r\n' * 20)
        socks.update((s, b"a CAPABILITY\r\n" * 1000) for s in unauth_imap)
        socks.update((s, b"HELP\r\n" * 1000) for s in smtp)
        # Until the daemon has nothing left to do: every client's output
        # budget is full and none of its commands is read (its CPU time
        # stands still for 2 s); a LIST of 990 folders takes a while
        # under ASan, 600 of them fill the budgets; 30 s at most.
        ticks = [cpu_ticks(pid), time.time()]

        def settled():
            now, t = cpu_ticks(pid), time.time()
            if now != ticks[0]:
                ticks[0], ticks[1] = now, t
            return t - t0 > 5 and t - ticks[1] > 2
        pump(socks, 30, sample, settled)
        took = time.time() - t0
        everyone = list(socks) + authed
        # the daemon may still be running the LISTs it read: let it finish
        deadline = time.time() + 90
        while time.time() < deadline and not settled():
            sample()
            time.sleep(0.5)
        during = rss_mb(pid)
        for s in everyone:
            s.close()
        time.sleep(3)
        after = rss_mb(pid)
        growth = peak[0] - before
        # one LIST reply past the output budget: the command that found
        # the budget not yet full
        budget = (N * (IMAP_INPUT + IMAP_OUTPUT + list_size + SESSION) +
                  N * (IMAP_INPUT + IMAP_OUTPUT + SESSION) +
                  N * (SMTP_INPUT + SMTP_OUTPUT + SESSION))
        budget_mb = budget / float(1 << 20)
        asan = asan_build()
        bound = budget_mb * 1.5 + 16 if asan else budget_mb
        print("budget: %d x 3 never-reading clients, LIST reply %d bytes; "
              "RSS %.0f MB before, %.0f peak (+%.0f), %.0f at the end, %.0f "
              "after closing; budget %.0f MB, bound %.0f MB%s; settled after "
              "%.0f s" %
              (N, list_size, before, peak[0], growth, during, after,
               budget_mb, bound, " (ASan)" if asan else "", took),
              file=sys.stderr)
        self.assertLess(growth, bound)
        # still serving
        s = nonblocking_conn(d, "imap", "127.0.0.1", rcvbuf=1 << 20)
        self.assertTrue(read_line(s).startswith(b"* OK"))
        s.sendall(b'L LOGIN lutik "%s"\r\n' % h.PASSWORD.encode())
        self.assertIn(b"L OK", read_until(s, b"L"))
        s.close()


def smtp_reply(f):
    while True:
        ln = f.readline()
        if not ln or ln[3:4] != b"-":
            return ln


class LoginDeadline(unittest.TestCase):
    """login_timeout 4 s, 20 commands a second."""
    LOGIN = 4

    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon(extra_env=asan_env())
        with open(cls.d.conf, "a") as f:
            f.write("limits: { login_timeout = %d; "
                    "max_commands_per_second = 20; };\n" % cls.LOGIN)
        cls.d.start()

    @classmethod
    def tearDownClass(cls):
        finish(cls.d)

    def busy_client(self, kind, line):
        """Sends `line` 300 times a second (over the rate: always waiting
        for a token) and reads everything; seconds until the server
        closed, and the last bytes it sent."""
        s = socket.create_connection(("127.0.0.1", self.d.ports[kind]),
                                     timeout=30)
        t0 = time.time()
        s.setblocking(False)
        got = b""
        while time.time() - t0 < 4 * self.LOGIN:
            try:
                s.send(line * 3)
            except OSError:
                pass
            try:
                while True:
                    c = s.recv(65536)
                    if not c:
                        s.close()
                        return time.time() - t0, got[-300:]
                    got = (got + c)[-4096:]
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                return time.time() - t0, got[-300:]
            time.sleep(0.01)
        s.close()
        return None, got[-300:]

    def test_login_deadline_busy_smtp(self):
        took, last = self.busy_client("submission", b"NOOP\r\n")
        self.assertIsNotNone(took, "still open after %d s" % (4 * self.LOGIN))
        # the deadline plus a little, not the old extension to twice it
        self.assertLess(took, self.LOGIN * 1.5, last)
        self.assertIn(b"421 4.4.2", last)

    def test_login_deadline_busy_imap(self):
        took, last = self.busy_client("imap", b"n NOOP\r\n")
        self.assertIsNotNone(took, "still open after %d s" % (4 * self.LOGIN))
        self.assertLess(took, self.LOGIN * 1.5, last)
        self.assertIn(b"* BYE", last)



class Slots(unittest.TestCase):
    """10 slots for connections not logged in, 20 in all."""

    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon(extra_env=dict(asan_env(),
                                        DEMO_PLAINTEXT_LOOPBACK="true"))
        with open(cls.d.conf, "a") as f:
            f.write("limits: { max_unauth_connections = 10; "
                    "max_connections = 20; };\n")
        cls.d.start()

    @classmethod
    def tearDownClass(cls):
        finish(cls.d)

    def connect(self, kind="imap"):
        s = socket.create_connection(("127.0.0.1", self.d.ports[kind]),
                                     timeout=20)
        f = s.makefile("rb")
        return s, f, f.readline()

    def login(self, s, f, user="romashka"):
        s.sendall(b'L LOGIN %s "%s"\r\n' % (user.encode(),
                                          h.PASSWORD.encode()))
        while True:
            ln = f.readline()
            if not ln or ln.startswith(b"L "):
                return ln

    def test_slots(self):
        d = self.d
        # a logged-in session first: it must keep its slot throughout
        s0, f0, g = self.connect()
        self.assertTrue(g.startswith(b"* OK"), g)
        self.assertTrue(self.login(s0, f0).startswith(b"L OK"))
        # the share of connections not logged in, full (IMAP and SMTP)
        idle = [self.connect(("imap", "submission")[i % 2]) for i in range(10)]
        for _, _, g in idle:
            self.assertTrue(g.startswith(b"* OK") or g.startswith(b"220 "), g)
        # a newcomer logs in; the oldest not logged in was closed for it
        s1, f1, g = self.connect()
        self.assertTrue(g.startswith(b"* OK"), g)
        bye = idle[0][1].readline()
        self.assertTrue(bye.startswith(b"* BYE "), bye)
        self.assertIn(b"too many connections not logged in", bye)
        self.assertEqual(idle[0][1].readline(), b"")
        self.assertTrue(self.login(s1, f1).startswith(b"L OK"))
        # the share full again (s1 logged in, s2 takes its place); the
        # next newcomer closes the next oldest, an SMTP one
        s2, f2, g = self.connect("submission")
        s3, f3, g = self.connect()
        self.assertTrue(g.startswith(b"* OK"), g)
        bye = idle[1][1].readline()
        self.assertTrue(bye.startswith(b"421 4.7.0 "), bye)
        self.assertIn(b"too many connections not logged in", bye)
        # a churn of newcomers never takes a logged-in slot
        churn = [self.connect() for _ in range(30)]
        for s, f in ((s0, f0), (s1, f1)):
            s.sendall(b"n NOOP\r\n")
            self.assertTrue(f.readline().startswith(b"n OK"))
        for c in churn + idle + [(s2, f2, None), (s3, f3, None)]:
            c[0].close()
        # every slot logged in: the newcomer is refused, nobody is dropped
        time.sleep(0.5)
        logged = [(s0, f0), (s1, f1)]
        while len(logged) < 20:
            s, f, g = self.connect()
            self.assertTrue(g.startswith(b"* OK"), g)
            self.assertTrue(self.login(s, f).startswith(b"L OK"))
            logged.append((s, f))
        s, f, g = self.connect()
        self.assertTrue(g.startswith(b"* BYE "), g)
        self.assertIn(b"too many connections, try later", g)
        s.close()
        for s, f in logged:
            s.sendall(b"n NOOP\r\n")
            self.assertTrue(f.readline().startswith(b"n OK"))
            s.close()
        self.assertIn("connections not logged in", d.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
