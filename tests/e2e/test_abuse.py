#!/usr/bin/env python3
"""Abuse, end to end: what hostile or broken clients do to the daemon.

- Slowloris: one byte per second on IMAP and SMTP, before login, in the
  middle of a command line, in a literal, in DATA, in a TLS handshake: the
  daemon closes each after its deadlines (which received bytes do not
  restart, unlike libevent's timeouts) and keeps serving others.
- 2,000 simultaneous connections that never log in: each is greeted,
  and past max_unauth_connections (250) the oldest one not logged in
  gets «* BYE» / «421» and is closed; a good client logs in meanwhile
  (the refusal when every slot is logged in: test_budget.py).
- A descriptor limit below what max_connections needs: no busy loop, no
  flood of log lines, service resumes when descriptors are free.
- Clients that never read (1000 FETCHes of a 2 MB message each, SMTP
  NOOP floods): bounded daemon memory (VmRSS sampled from /proc), a good
  client's login+SELECT+FETCH keeps working (latency measured), the
  offenders are dropped after the write timeout.
- Blocked users and members: new logins refused over IMAP and SMTP; what
  happens to sessions that were open (doc/robustness.md): IMAP goes on
  until logout or timeout, SMTP must refuse the next MAIL FROM.
- Failed-login throttling (auth_fail_limit per auth_fail_window) on SMTP
  from a second address and after the window; IMAP's is in
  test_imap_badinput.py.
- Plaintext AUTH/LOGIN: `allow_plaintext_loopback = true` allows it from
  127.0.0.0/8 only; a truly non-loopback peer is tested inside a network
  namespace of our own (veth pair) when `ip netns` is available.

The Limits daemon has short timeouts (idle_timeout = command_timeout =
5 s; IMAP's pre-login deadline is min(idle_timeout, 120 s)); Accounts has
the defaults.  Daemons run with a small ASan quarantine so that VmRSS
means something.
"""
import base64
import concurrent.futures
import email.policy
import json
import os
import resource
import select
import socket
import ssl
import subprocess
import sys
import threading
import time
import unittest
from email.message import EmailMessage

import edomail_harness as h
from edomail_harness import utf7_encode as u7
from test_imap_badinput import Raw
from test_smtp_session import L_INN, R_INN, RawSMTP, raw_session

TIMEOUT = 5             # idle_timeout and command_timeout of the test config
CLOSE_WITHIN = 4 * TIMEOUT   # an offender must be gone by then
SLOW_RUN = CLOSE_WITHIN + 4  # how long a slowloris client keeps trying

# 2,000 client sockets here, 1,000 sessions in the daemon (a child: it
# inherits the limit).
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
_want = 8192 if _hard == resource.RLIM_INFINITY else min(_hard, 8192)
if _soft < _want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (_want, _hard))
FD_LIMIT = resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def asan_env(extra=""):
    """A small quarantine: freed memory must not look like growth (the
    default ASan quarantine alone is 256 MB)."""
    opts = os.environ.get("ASAN_OPTIONS", "")
    return {"ASAN_OPTIONS": (opts + ":" if opts else "") +
            "quarantine_size_mb=16" + extra}


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def daemon_peers(pid, port):
    """Client ports of the daemon's open TCP connections on a listener
    port (its descriptors matched with /proc/net/tcp)."""
    inodes = set()
    fddir = "/proc/%d/fd" % pid
    for fd in os.listdir(fddir):
        try:
            link = os.readlink(os.path.join(fddir, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(int(link[8:-1]))
    peers = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            p = line.split()
            if int(p[9]) in inodes and p[3] != "0A" and \
                    int(p[1].split(":")[1], 16) == port:
                peers.add(int(p[2].split(":")[1], 16))
    return peers


def start_daemon(d, prefix=(), timeout=60):
    """Daemon.start with a command prefix (prlimit, ip netns exec); in the
    two-node mode the operator node (d.op) is started first, as it is."""
    if getattr(d, "op", None) is not None and d.op.proc is None:
        d.op.start()
    ready = d.log().count("edomaild: ready")
    logf = open(d.log_path, "ab")
    d.proc = subprocess.Popen(
        list(prefix) + [os.path.join(h.BUILD, "src", "daemon", "edomaild"),
                        "-f", "-c", d.conf],
        stdout=logf, stderr=subprocess.STDOUT, env=d.env)
    logf.close()
    deadline = time.time() + timeout
    while time.time() < deadline:
        if d.proc.poll() is not None:
            raise RuntimeError("edomaild exited with %s:\n%s" %
                               (d.proc.returncode, d.log()))
        if d.log().count("edomaild: ready") > ready:
            return d
        time.sleep(0.05)
    raise RuntimeError("edomaild did not become ready:\n" + d.log())


def finish(d):
    """Stops a daemon; fails on a sanitizer report or a bad exit."""
    res = d.cleanup()
    rc, sanitizer, log = res[0], res[1], res[2] if len(res) > 2 else ""
    if sanitizer or rc != 0:
        raise AssertionError("edomaild: rc %d, sanitizer %s\n%s" %
                             (rc, sanitizer, log[-20000:]))


def big_message(size):
    m = EmailMessage()
    m["From"] = "Отправитель <sender@example.org>"
    m["To"] = "me@example.org"
    m["Subject"] = "Большое письмо"
    m.set_content("Большое вложение\n")
    m.add_attachment(os.urandom(size), maintype="application",
                     subtype="octet-stream", filename="big.bin")
    return m.as_bytes(policy=email.policy.SMTP)


# ---- slowloris ----

class SlowClient(threading.Thread):
    """Connects, does `setup` at full speed, then sends `drip` one byte per
    second until the server closes the connection or SLOW_RUN passes.
    Result: seconds from the first slow byte to the close, or None."""

    def __init__(self, d, name, port_kind, tls, setup, drip):
        super().__init__(daemon=True)
        self.d, self.name, self.port_kind, self.tls = d, name, port_kind, tls
        self.setup, self.drip = setup, drip
        self.closed_after = None
        self.error = None
        self.bytes_sent = 0

    def closed(self, sock):
        """True when the server has closed (reads what is waiting)."""
        try:
            while True:
                if self.tls and sock.pending():
                    pass
                elif not select.select([sock], [], [], 0)[0]:
                    return False
                data = sock.recv(65536)
                if not data:
                    return True
        except (ssl.SSLWantReadError, BlockingIOError, socket.timeout):
            return False
        except (OSError, ssl.SSLError):
            return True

    def run(self):
        try:
            raw = socket.create_connection(("127.0.0.1",
                                            self.d.ports[self.port_kind]),
                                           timeout=30)
            sock = raw
            if self.tls:
                sock = self.d.tls_context().wrap_socket(raw)
            f = sock.makefile("rb")
            self.setup(sock, f)
            sock.settimeout(2)
        except Exception as e:      # noqa: BLE001 - reported by the test
            self.error = "setup: %r" % e
            return
        start = time.time()
        i = 0
        while time.time() - start < SLOW_RUN:
            try:
                sock.sendall(self.drip[i % len(self.drip):][:1])
                self.bytes_sent += 1
            except (OSError, ssl.SSLError):
                self.closed_after = time.time() - start
                break
            i += 1
            time.sleep(1)
            if self.closed(sock):
                self.closed_after = time.time() - start
                break
        try:
            sock.close()
        except OSError:
            pass


def imap_until(sock, f, tag):
    while True:
        ln = f.readline()
        if not ln or ln.startswith(tag + b" "):
            return ln


def imap_login_setup(sock, f):
    f.readline()
    sock.sendall(b'L LOGIN romashka "%s"\r\n' % h.PASSWORD.encode())
    assert b"L OK" in imap_until(sock, f, b"L")
    sock.sendall(b"S SELECT INBOX\r\n")
    imap_until(sock, f, b"S")


def smtp_reply(f):
    while True:
        ln = f.readline()
        if not ln or ln[3:4] != b"-":
            return ln


def smtp_auth_setup(mail=False):
    def setup(sock, f):
        smtp_reply(f)
        for line in (b"EHLO slow.example",
                     b"AUTH PLAIN " + base64.b64encode(
                         b"\0romashka\0" + h.PASSWORD.encode())):
            sock.sendall(line + b"\r\n")
            smtp_reply(f)
        if mail:
            for line in (b"MAIL FROM:<%s@edo.local>" % R_INN.encode(),
                         b"RCPT TO:<%s@edo.local>" % L_INN.encode(),
                         b"DATA"):
                sock.sendall(line + b"\r\n")
                r = smtp_reply(f)
            assert r.startswith(b"354"), r
    return setup


def greeting_only(sock, f):
    f.readline()


class Limits(unittest.TestCase):
    """One daemon with short timeouts for the slowloris, connection,
    memory, throttle and blocking tests."""

    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon(extra_env=asan_env())
        with open(cls.d.conf, "a") as f:
            f.write("limits: { idle_timeout = %d; command_timeout = %d; "
                    "};\n" %
                    (TIMEOUT, TIMEOUT))
        cls.d.start()
        d = cls.d
        # the slow clients start first and run while the other tests do
        tls_record = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01,
                            0xfc, 0x03, 0x03]) + os.urandom(64)
        cls.slow = {
            "imap-prelogin": SlowClient(d, "imap-prelogin", "imap", False,
                                        greeting_only, b"a1 NOOP " + b"x" * 100),
            "imap-command": SlowClient(d, "imap-command", "imaps", True,
                                       imap_login_setup,
                                       b"a2 FETCH 1:* (FLAGS" + b" FLAGS" * 50),
            "imap-literal": SlowClient(
                d, "imap-literal", "imaps", True,
                lambda s, f: (imap_login_setup(s, f),
                              s.sendall(b'a3 APPEND "%s" {100000+}\r\n' %
                                        u7("Архив").encode())),
                b"Subject: slow\r\n\r\n" + b"y" * 1000),
            "imap-tls-handshake": SlowClient(d, "imap-tls-handshake", "imaps",
                                             False, lambda s, f: None, tls_record),
            "smtp-prelogin": SlowClient(d, "smtp-prelogin", "submission", False,
                                        greeting_only, b"EHLO " + b"x" * 100),
            "smtp-command": SlowClient(d, "smtp-command", "submissions", True,
                                       smtp_auth_setup(),
                                       b"MAIL FROM:<%s@edo.local>\r\n" %
                                       R_INN.encode()),
            "smtp-data": SlowClient(d, "smtp-data", "submissions", True,
                                    smtp_auth_setup(mail=True),
                                    b"Subject: slow\r\n\r\n" + b"z" * 1000),
            "smtp-tls-handshake": SlowClient(d, "smtp-tls-handshake",
                                             "submissions", False,
                                             lambda s, f: None, tls_record),
        }
        for c in cls.slow.values():
            c.start()
        cls.slow_started = time.time()
        # a big message for the readers that never read, a small one for
        # the good client
        c = d.imap("romashka")
        cls.big_box = '"%s"' % u7("Архив/Большое")
        assert c.create(cls.big_box)[0] == "OK"
        assert c.append(cls.big_box, None, None, big_message(2 << 20))[0] == "OK"
        c.logout()
        c = d.imap("lutik")
        cls.small_box = '"%s"' % u7("Архив/Малое")
        assert c.create(cls.small_box)[0] == "OK"
        assert c.append(cls.small_box, None, None, big_message(10000))[0] == "OK"
        c.logout()

    @classmethod
    def tearDownClass(cls):
        for c in cls.slow.values():
            c.join()
        finish(cls.d)

    def good_client(self):
        """login + SELECT + FETCH by another user; seconds taken."""
        t0 = time.time()
        c = self.d.imap("lutik", mode="ssl")
        try:
            typ, _ = c.select(self.small_box)
            self.assertEqual(typ, "OK")
            typ, data = c.fetch("1", "(BODY.PEEK[])")
            self.assertEqual(typ, "OK")
            self.assertGreater(len(data[0][1]), 10000)
        finally:
            c.logout()
        return time.time() - t0

    # ---- slowloris (the clients were started in setUpClass) ----

    def slow_result(self, name):
        c = self.slow[name]
        c.join(SLOW_RUN + 60)
        self.assertIsNone(c.error, name)
        self.assertIsNotNone(c.closed_after,
                             "%s: still open after %d s (%d bytes sent at "
                             "one per second)" % (name, SLOW_RUN, c.bytes_sent))
        self.assertLessEqual(c.closed_after, CLOSE_WITHIN, name)

    def test_z_slowloris_imap_prelogin(self):
        self.slow_result("imap-prelogin")

    def test_z_slowloris_imap_command(self):
        self.slow_result("imap-command")

    def test_z_slowloris_imap_literal(self):
        self.slow_result("imap-literal")

    def test_z_slowloris_imap_tls_handshake(self):
        self.slow_result("imap-tls-handshake")

    def test_z_slowloris_smtp_prelogin(self):
        self.slow_result("smtp-prelogin")

    def test_z_slowloris_smtp_command(self):
        self.slow_result("smtp-command")

    def test_z_slowloris_smtp_data(self):
        self.slow_result("smtp-data")

    def test_z_slowloris_smtp_tls_handshake(self):
        self.slow_result("smtp-tls-handshake")

    def test_login_answered_after_the_deadline(self):
        """A LOGIN sent in time is answered even when the answer itself
        comes after the pre-login deadline (5 s here): the throttle holds
        it back 3 s.  (Before: «* BYE Timeout» while the server worked.)"""
        d = self.d

        def fail(i):
            r = Raw(d, source="127.0.0.10")
            try:
                return r.login("vasilek", "wrong-%d" % i)[:4]
            finally:
                r.close()
        # one after another: sent at once, they would be checked one at a
        # time (test_auth_limits.py) and the last could wait past the
        # short deadline on a loaded machine
        self.assertEqual([fail(i) for i in range(5)], [b"L NO"] * 5)
        r = Raw(d, source="127.0.0.10")
        time.sleep(TIMEOUT - 2.5)
        t = r.login("vasilek")
        r.close()
        self.assertRegex(t, rb"^L NO \[AUTHENTICATIONFAILED\]")

    # ---- 2,000 connections ----

    def test_connection_limit(self):
        if FD_LIMIT < 2100:
            self.skipTest("RLIMIT_NOFILE %d < 2100" % FD_LIMIT)
        d = self.d
        socks, kinds = [], []
        try:
            for i in range(2000):
                kind = ("imap", "submission")[i % 2]
                # 100 from each of 20 addresses: under the per-address
                # limit (250), so the global one (1000) is what refuses
                socks.append(socket.create_connection(
                    ("127.0.0.1", d.ports[kind]), timeout=30,
                    source_address=("127.0.1.%d" % (1 + i // 100), 0)))
                kinds.append(kind)
            # a newcomer logs in although 2,000 tried before it
            r = Raw(d, source="127.0.1.99")
            self.assertIn(b"L OK", r.login("lutik"))
            r.close()
            greeted = evicted = 0
            for s, kind in zip(socks, kinds):
                data = b""
                while b"\r\n" not in data:
                    c = s.recv(4096)
                    self.assertTrue(c, data)
                    data += c
                first, nxt = data.split(b"\r\n", 1)
                self.assertTrue(first.startswith(b"* OK") or
                                first.startswith(b"220 "), first)
                greeted += 1
                if not nxt:
                    s.setblocking(False)
                    try:
                        nxt = s.recv(1000)
                    except BlockingIOError:
                        continue    # still open: one of the newest
                if kind == "imap":
                    self.assertTrue(nxt.startswith(b"* BYE "), nxt)
                else:
                    self.assertTrue(nxt.startswith(b"421 4.7.0 "), nxt)
                self.assertIn(b" / too many connections not logged in", nxt)
                evicted += 1
            self.assertEqual(greeted, 2000)
            # the slow clients of setUpClass hold a few of the 250
            self.assertGreaterEqual(evicted, 2000 - 250)
            self.assertIn("connections not logged in", d.log())
        finally:
            for s in socks:
                s.close()
        # slots come back
        deadline = time.time() + 30
        while True:
            try:
                self.good_client()
                break
            except (imaplib_error(), OSError, AssertionError):
                if time.time() > deadline:
                    raise
                time.sleep(0.5)

    def test_connection_limit_per_address(self):
        """One address cannot take every slot: past
        max_connections_per_address (250) its next connection is refused
        with a reason, other addresses are served, and a closed connection
        frees a slot for it."""
        d = self.d
        socks = []
        try:
            for i in range(260):
                kind = ("imap", "submission")[i % 2]
                socks.append((kind, socket.create_connection(
                    ("127.0.0.1", d.ports[kind]), timeout=30,
                    source_address=("127.0.2.1", 0))))
            firsts = [s.makefile("rb").readline() for _, s in socks]
            served = [f for f in firsts
                      if f.startswith(b"* OK") or f.startswith(b"220 ")]
            refused = [(k, f) for (k, _), f in zip(socks, firsts)
                       if f not in served]
            self.assertEqual(len(served), 250)
            self.assertEqual(len(refused), 10)
            for kind, f in refused:
                self.assertTrue(f.startswith(b"* BYE " if kind == "imap"
                                             else b"421 4.7.0 "), f)
                self.assertIn(b"too many connections from your address", f)
            # another address is served meanwhile
            r = Raw(d, source="127.0.2.2")
            self.assertIn(b"L OK", r.login("lutik"))
            r.close()
            # a slot of the busy address comes back when one is closed
            socks.pop(0)[1].close()
            deadline = time.time() + 10
            while True:
                s = socket.create_connection(
                    ("127.0.0.1", d.ports["imap"]), timeout=30,
                    source_address=("127.0.2.1", 0))
                first = s.makefile("rb").readline()
                s.close()
                if first.startswith(b"* OK") or time.time() > deadline:
                    break
                time.sleep(0.2)
            self.assertTrue(first.startswith(b"* OK"), first)
            self.assertIn("limit of 250 connections per address", d.log())
        finally:
            for _, s in socks:
                s.close()

    # ---- clients that never read ----

    def test_readers_that_never_read(self):
        d = self.d
        pid = d.proc.pid
        base_latency = self.good_client()
        before = rss_mb(pid)
        # Small receive windows: the kernel holds little of the unread
        # output, so the daemon's own buffering is what is measured.  Each
        # client floods right after its login (the idle timeout is 5 s).
        def fetch_flood():
            r = TinyWindowIMAP(d)
            self.assertIn(b"L OK", r.login("romashka"))
            r.cmd("s", "SELECT " + self.big_box)
            r.s.settimeout(3 * TIMEOUT)
            try:
                r.s.sendall(b"".join(b"f%d FETCH 1 BODY.PEEK[]\r\n" % j
                                     for j in range(1000)))
            except (OSError, ssl.SSLError):
                pass        # the daemon dropped us: what we want
            return r

        def ehlo_flood():
            # EHLO: a long reply, so that the unread output piles up fast
            s = TinyWindowSMTP(d)
            s.sock.settimeout(3 * TIMEOUT)
            try:
                for _ in range(100):
                    s.sock.sendall(b"EHLO flood.example\r\n" * 5000)
            except (OSError, ssl.SSLError):
                pass
            return s
        ex = concurrent.futures.ThreadPoolExecutor(13)
        fa = [ex.submit(fetch_flood) for _ in range(10)]
        fs = [ex.submit(ehlo_flood) for _ in range(3)]
        # the good client's own login must not queue behind the
        # attackers' (the pre-login deadline is only 5 s here)
        concurrent.futures.wait(fa, timeout=60)
        start = time.time()
        peak, latencies, gone_at = before, [], None
        # logins take a while under ASan: the clock of each offender starts
        # with its flood, so allow for the logins
        # (and under load the last of them stalls up to ~20 s after the
        # first: the kernel keeps taking some of its output for a while)
        while time.time() - start < CLOSE_WITHIN + 40:
            latencies.append(self.good_client())
            peak = max(peak, rss_mb(pid))
            ports = {f.result().s.getsockname()[1] for f in fa if f.done()}
            sports = {f.result().sock.getsockname()[1] for f in fs if f.done()}
            # The SMTP flooders are not waited for: at 200 commands a second
            # their unread replies take tens of seconds to fill the
            # kernel's buffers (~1.5 MB on loopback) before the write
            # timeout can start; their cost is in the memory figure.
            left = ports & daemon_peers(pid, d.ports["imaps"])
            if not left and len(ports) == len(fa) and len(sports) == len(fs):
                gone_at = time.time() - start
                break
            time.sleep(0.5)
        ex.shutdown(wait=True)
        for f in fa + fs:
            f.result().close()
        time.sleep(1)
        after = rss_mb(pid)
        print("never-reading clients: RSS %.0f MB before, %.0f peak, %.0f after;"
              " good client %.2f s idle, %.2f s max under attack (%d probes);"
              " offenders gone after %s s" %
              (before, peak, after, base_latency, max(latencies),
               len(latencies), gone_at), file=sys.stderr)
        # Each reader holds at most IMAP_OUTPUT_HIGH (256 KiB) of queued
        # output plus the 2 MB rendered message; ASan adds redzones and
        # the quarantine keeps 16 MB: 10 x (2 + 0.25) x 2 + 16 ~ 60 MB,
        # the SMTP sessions a few hundred KB each (rate limit x write
        # timeout).  100 MB leaves room for allocator caches without
        # letting per-command copies (1000 x 2 MB) pass.
        self.assertLess(peak - before, 100, "RSS grew %.0f MB" % (peak - before))
        self.assertLess(max(latencies), 15)
        self.assertIsNotNone(gone_at, "offenders still connected: %d of %d" %
                             (len(left), len(ports)))
        self.assertRegex(d.log(), "write timeout|output not read")

def tiny_window_socket(d, kind):
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.settimeout(60)
    raw.connect(("127.0.0.1", d.ports[kind]))
    return d.tls_context().wrap_socket(raw)


class TinyWindowIMAP(Raw):
    """Raw (test_imap_badinput) over a socket with a 4 KiB receive buffer."""

    def __init__(self, d):
        self.s = tiny_window_socket(d, "imaps")
        self.f = self.s.makefile("rb")
        self.greeting = self.line()


class TinyWindowSMTP(RawSMTP):
    """An authenticated RawSMTP session with a 4 KiB receive buffer."""

    def __init__(self, d, login="romashka"):
        self.d = d
        self.sock = tiny_window_socket(d, "submissions")
        self.buf = b""
        self.greeting = self.reply()
        self.ehlo()
        code, text = self.login(login)
        assert code == 235, text


class SourceSMTP(RawSMTP):
    """RawSMTP over implicit TLS from a chosen loopback address."""

    def __init__(self, d, source):
        self.d = d
        raw = socket.create_connection(("127.0.0.1", d.ports["submissions"]),
                                       timeout=60, source_address=(source, 0))
        self.sock = d.tls_context().wrap_socket(raw)
        self.buf = b""
        self.greeting = self.reply()


def imaplib_error():
    import imaplib
    return imaplib.IMAP4.error


class DescriptorLimit(unittest.TestCase):
    """The daemon started with fewer descriptors than max_connections
    needs (prlimit 128, a hard limit it cannot raise): it says so at start
    and accepts fewer connections, so that clients past the limit get a
    «* BYE» instead of an accept() that fails (since issue 12: none of
    these logs in, so each newcomer closes the oldest with a BYE).  (Before: libevent retried
    the failing accept() at once, one core busy and ~5 MB of «Too many
    open files» log lines a second, clients hanging unanswered.)"""

    def test_out_of_descriptors(self):
        h.require_tools("prlimit")
        d = h.Daemon(extra_env=asan_env())
        try:
            start_daemon(d, ["prlimit", "--nofile=128:128"])
            pid = d.proc.pid
            socks = [socket.create_connection(("127.0.0.1", d.ports["imap"]),
                                              timeout=10) for _ in range(200)]
            # Every client answered (a greeting or a BYE) first: the
            # accepting and closing is work, and a fixed pause let it
            # run into the measured second on a loaded machine (41 % in
            # the two-node mode).  Then the daemon must settle: the bug
            # was a loop that never ends (accept() retried at once), so
            # the idle second is looked for over ten, not hoped for in
            # the first.
            pending = set(socks)
            deadline = time.time() + 30
            while pending and time.time() < deadline:
                pending -= set(select.select(list(pending), [], [], 0.5)[0])
            hz = os.sysconf("SC_CLK_TCK")
            windows = []
            for _ in range(10):
                c0, l0 = cpu_ticks(pid), os.path.getsize(d.log_path)
                time.sleep(1)
                c1, l1 = cpu_ticks(pid), os.path.getsize(d.log_path)
                windows.append(c1 - c0)
                if (c1 - c0) / hz < 0.3:
                    break
            answers = {b"(nothing)": 0}
            ready = select.select(socks, [], [], 1)[0]
            for s in socks:
                if s in ready:
                    # the greeting, then for those past the limit the BYE
                    # of the oldest not logged in (or a refusal)
                    a = s.recv(4096)
                    a = b"* BYE" if b"* BYE" in a else a[:5]
                    answers[a] = answers.get(a, 0) + 1
                else:
                    answers[b"(nothing)"] += 1
            for s in socks[:150]:
                s.close()
            time.sleep(1)
            s = socket.create_connection(("127.0.0.1", d.ports["imap"]),
                                         timeout=10)
            first = s.makefile("rb").readline()
            s.close()
            for s in socks[150:]:
                s.close()
            print("out of descriptors: %.0f%% CPU (ticks a second: %r), "
                  "%d bytes of log in 1 s, answers %r" % (
                      100.0 * (c1 - c0) / hz, windows, l1 - l0, answers),
                  file=sys.stderr)
            self.assertLess((c1 - c0) / hz, 0.3,
                            "busy loop on accept(): CPU ticks a second %r" %
                            windows)
            self.assertLess(l1 - l0, 10000, "log flood")
            self.assertIn("descriptor limit 128 is below what max_connections = "
                          "1000 needs", d.log())
            self.assertEqual(answers.get(b"(nothing)"), 0, answers)
            self.assertGreater(answers.get(b"* BYE"), 0, answers)
            self.assertTrue(first.startswith(b"* OK"), first)
        finally:
            log_size = os.path.getsize(d.log_path) if os.path.exists(d.log_path) else 0
            if log_size > 10 << 20:
                open(d.log_path, "w").close()    # do not keep a flood
            finish(d)


# ---- plaintext AUTH/LOGIN ----

def select_until_close(r):
    """SELECT INBOX on r: the lines read until the tagged answer, or the
    repr of those read until the server closed the connection."""
    try:
        u, t = r.cmd("s", "SELECT INBOX")
        return u + [t]
    except ConnectionError as e:
        return [str(e).encode()]


class Accounts(unittest.TestCase):
    """Blocked users and members, failed-login throttling, and
    `allow_plaintext_loopback = true` (LOGIN/AUTH without TLS from
    127.0.0.0/8; the default false is tested in test_imap.py and
    test_smtp_session.py).  Default timeouts: a login answered after the
    failure and throttle delays must not meet the short pre-login
    deadline of the Limits daemon."""

    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon(extra_env={"DEMO_PLAINTEXT_LOOPBACK": "true"})
        with open(cls.d.conf, "a") as f:
            f.write("limits: { auth_fail_limit = 3; auth_fail_window = 15; };\n")
        cls.d.start()
        d = cls.d
        # a user to block, with a certificate so that it could send
        d.ctl("user", "add", "blockme", "--name", "Блокируемый Пользователь",
              "--password", h.PASSWORD)
        d.ctl("member", "add", "blockme", R_INN, "--role", "signer")
        d.ctl("cert", "make", "blockme", R_INN, "--type", "rsa")

    @classmethod
    def tearDownClass(cls):
        finish(cls.d)

    # ---- blocked users and members ----

    def open_sessions_then_block(self):
        """IMAP and SMTP sessions of `blockme`, then `user block`; the
        answers of the open sessions to their next command: the IMAP
        lines (untagged and tagged) up to the close, the SMTP reply."""
        d = self.d
        r = Raw(d, source="127.0.0.4")
        self.assertIn(b"L OK", r.login("blockme"))
        s = raw_session(d, "blockme", "submissions")
        d.ctl("user", "block", "blockme")
        # a session re-reads its user's status at most once a second
        time.sleep(1.2)
        try:
            lines = select_until_close(r)
            code, text = s.cmd("MAIL FROM:<%s@edo.local>" % R_INN)
        finally:
            d.ctl("user", "unblock", "blockme")
            r.close()
            s.close()
        return lines, code, text

    def test_blocked_user_new_logins(self):
        d = self.d
        d.ctl("user", "block", "blockme")
        try:
            r = Raw(d, source="127.0.0.4")
            t = r.login("blockme")
            r.close()
            self.assertRegex(t, rb"^L NO \[AUTHENTICATIONFAILED\]")
            s = RawSMTP(d, "submissions")
            s.ehlo()
            code, text = s.login("blockme")
            s.close()
            self.assertEqual(code, 535, text)
        finally:
            d.ctl("user", "unblock", "blockme")
        r = Raw(d, source="127.0.0.4")
        self.assertIn(b"L OK", r.login("blockme"))
        r.close()

    def test_blocked_user_open_imap_session(self):
        """A session opened before the block gets BYE at its next command,
        which is not run (it used to go on reading until logout)."""
        lines, code, text = self.open_sessions_then_block()
        joined = b"".join(lines)
        self.assertIn(b"* BYE", joined)
        self.assertIn(b"account is blocked", joined)
        self.assertNotIn(b"s OK", joined)
        self.assertNotIn(b"EXISTS", joined)

    def idle_until_bye(self, r, timeout=25):
        """IDLE on r; returns the line with BYE (or b"" at close) read
        within timeout seconds, None if nothing came."""
        r.send(b"i IDLE\r\n")
        self.assertTrue(r.line().startswith(b"+"))
        r.s.settimeout(timeout)
        try:
            while True:
                l = r.line()
                if l == b"" or l.startswith(b"* BYE"):
                    return l
        except (socket.timeout, ssl.SSLError, OSError):
            return None

    def test_blocked_user_idle_session_closed(self):
        """A session sitting in IDLE sends no commands: the server's
        periodic check (every 15 s) closes it with BYE after a block."""
        d = self.d
        r = Raw(d, source="127.0.0.4")
        self.assertIn(b"L OK", r.login("blockme"))
        self.assertTrue(r.cmd("s", "SELECT INBOX")[1].startswith(b"s OK"))
        t0 = time.time()
        d.ctl("user", "block", "blockme")
        try:
            l = self.idle_until_bye(r)
        finally:
            d.ctl("user", "unblock", "blockme")
            r.close()
        self.assertIsNotNone(l, "IDLE session of a blocked user still open "
                             "after %.0f s" % (time.time() - t0))
        self.assertIn("account is blocked".encode(), l)

    def test_member_blocked_open_session_closed(self):
        """buh logged in for Ромашка; the membership is blocked: the next
        command gets BYE; buh's session for Лютик goes on."""
        d = self.d
        r = Raw(d, source="127.0.0.5")
        self.assertIn(b"L OK", r.login("buh+" + R_INN))
        other = Raw(d, source="127.0.0.5")
        self.assertIn(b"L OK", other.login("buh+" + L_INN))
        d.ctl("member", "block", "buh", R_INN)
        time.sleep(1.2)
        try:
            lines = select_until_close(r)
            u, t = other.cmd("s", "SELECT INBOX")
        finally:
            d.ctl("member", "unblock", "buh", R_INN)
            r.close()
            other.close()
        joined = b"".join(lines)
        self.assertIn(b"* BYE", joined)
        self.assertIn(b"log in again", joined)
        self.assertNotIn(b"s OK", joined)
        self.assertTrue(t.startswith(b"s OK"), t)

    # (smtp-rcpt.c, sender_work: MAIL FROM checked the membership but not
    # the user's own status, so a blocked user's open session still sent)
    def test_blocked_user_open_smtp_session(self):
        lines, code, text = self.open_sessions_then_block()
        self.assertEqual(code, 550, "open SMTP session of a blocked user: "
                         + text)
        self.assertIn("5.7.1", text)

    def test_member_blocked_in_one_org_uses_the_other(self):
        d = self.d
        d.ctl("member", "block", "buh", R_INN)
        try:
            c = d.imap("buh")
            names = h.utf7_decode(b"".join(c.list('""', "*")[1]).decode())
            c.logout()
            self.assertNotIn(R_INN, names)
            self.assertNotIn("Ромашка", names)
            r = Raw(d, source="127.0.0.5")
            self.assertRegex(r.login("buh+" + R_INN), rb"^L NO ")
            r.close()
            c = d.imap("buh+" + L_INN)
            self.assertEqual(c.select("INBOX")[0], "OK")
            c.logout()
            s = raw_session(d, "buh", "submissions")
            self.assertEqual(s.cmd("MAIL FROM:<%s@edo.local>" % L_INN)[0], 250)
            s.cmd("RSET")
            self.assertEqual(s.cmd("MAIL FROM:<%s@edo.local>" % R_INN)[0], 550)
            s.close()
        finally:
            d.ctl("member", "unblock", "buh", R_INN)

    # ---- failed-login throttling ----

    def test_throttle_other_address_and_window(self):
        """SMTP and IMAP: auth_fail_limit (3) failures lock the login out
        from that address only, until auth_fail_window (15 s) has passed
        since the first failure.  (SMTP and IMAP try different accounts:
        one account's checks run one at a time and slow down after
        failures, test_auth_limits.py.)"""
        d = self.d

        def smtp_auth(password, source="127.0.0.1"):
            s = SourceSMTP(d, source)
            s.ehlo()
            code = s.login("vasilek", password)[0]
            s.close()
            return code

        def imap_auth(password, source="127.0.0.7"):
            r = Raw(d, source=source)
            t = r.login("lutik", password)
            r.close()
            return t[:4]
        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(6) as ex:
            smtp = [ex.submit(smtp_auth, "wrong-%d" % i) for i in range(3)]
            imap = [ex.submit(imap_auth, "wrong-%d" % i) for i in range(3)]
            self.assertEqual([f.result() for f in smtp], [535] * 3)
            self.assertEqual([f.result() for f in imap], [b"L NO"] * 3)
            smtp = ex.submit(smtp_auth, h.PASSWORD)
            imap = ex.submit(imap_auth, h.PASSWORD)
            # another address is not locked out, nor another user here
            smtp2 = ex.submit(smtp_auth, h.PASSWORD, "127.0.0.6")
            imap2 = ex.submit(imap_auth, h.PASSWORD, "127.0.0.8")
            self.assertEqual(smtp.result(), 454, "throttled")
            self.assertEqual(imap.result(), b"L NO", "throttled")
            self.assertEqual(smtp2.result(), 235)
            self.assertEqual(imap2.result(), b"L OK")
        self.assertLess(time.time() - t0, 15, "too slow to see the window")
        s = RawSMTP(d, "submissions")
        s.ehlo()
        self.assertEqual(s.login("romashka")[0], 235)
        s.close()
        # after the window it is over
        # (util_now() has whole seconds, and the first failure was
        # counted after its password check)
        time.sleep(max(0, t0 + 17.5 - time.time()))
        self.assertEqual(smtp_auth(h.PASSWORD), 235)
        self.assertEqual(imap_auth(h.PASSWORD), b"L OK")


    def test_loopback_plaintext_allowed(self):
        d = self.d
        for source in ("127.0.0.1", "127.0.0.9"):
            s = socket.create_connection(("127.0.0.1", d.ports["imap"]),
                                         timeout=30, source_address=(source, 0))
            f = s.makefile("rb")
            greeting = f.readline()
            self.assertIn(b"AUTH=PLAIN", greeting)
            self.assertNotIn(b"LOGINDISABLED", greeting)
            s.sendall(b'L LOGIN romashka "%s"\r\n' % h.PASSWORD.encode())
            self.assertIn(b"L OK", imap_until(s, f, b"L"))
            s.close()
            r = RawSMTP(d)
            code, text = r.ehlo()
            self.assertIn("AUTH PLAIN", text)
            self.assertEqual(r.login("romashka")[0], 235)
            r.close()


NETNS_CLIENT = r'''
import json, socket, ssl, sys, base64
host, src, imap_port, smtp_port, cafile, password = sys.argv[1:7]
out = {}
def imap(source):
    s = socket.create_connection((host, int(imap_port)), timeout=30,
                                 source_address=(source, 0))
    f = s.makefile("rb")
    g = f.readline().decode()
    s.sendall(b'L LOGIN romashka "%s"\r\n' % password.encode())
    t = f.readline().decode()
    s.close()
    return g, t
def smtp(source, tls=False):
    s = socket.create_connection((host, int(smtp_port)), timeout=30,
                                 source_address=(source, 0))
    f = s.makefile("rb")
    def reply():
        lines = []
        while True:
            ln = f.readline().decode()
            lines.append(ln)
            if ln[3:4] != "-":
                return "".join(lines)
    reply()
    s.sendall(b"EHLO netns.test\r\n")
    ehlo = reply()
    if tls:
        s.sendall(b"STARTTLS\r\n"); reply()
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.check_hostname = False
        s = ctx.wrap_socket(s)
        f = s.makefile("rb")
        s.sendall(b"EHLO netns.test\r\n")
        ehlo = reply()
    s.sendall(b"AUTH PLAIN " + base64.b64encode(b"\0romashka\0" +
              password.encode()) + b"\r\n")
    a = reply()
    s.close()
    return ehlo, a
out["imap_remote"] = imap(src)
out["imap_loopback"] = imap("127.0.0.1")
out["smtp_remote"] = smtp(src)
out["smtp_remote_tls"] = smtp(src, tls=True)
out["smtp_loopback"] = smtp("127.0.0.1")
print(json.dumps(out))
'''


class PlaintextNonLoopback(unittest.TestCase):
    """A peer that is not loopback, in a network namespace of our own: a
    veth pair with private addresses that exist only inside it.  Plaintext
    LOGIN/AUTH is refused from it even with allow_plaintext_loopback =
    true, and allowed from 127.0.0.1 in the same namespace."""

    NS = "edotest-abuse-%d" % os.getpid()
    SERVER, CLIENT = "10.231.77.1", "10.231.77.2"

    def ip(self, *args, check=True):
        return subprocess.run(["ip"] + list(args), capture_output=True,
                              text=True, check=check)

    def setUp(self):
        h.require_tools("ip")
        r = subprocess.run(["ip", "netns", "add", self.NS],
                           capture_output=True, text=True)
        # A container without namespaces is a property of the machine, not
        # a missing package: that one is skipped, saying why.
        if r.returncode != 0:
            self.skipTest("no network namespaces here (%s); the config switch "
                          "is tested on loopback" % r.stderr.strip())
        self.addCleanup(self.ip, "netns", "del", self.NS, check=False)
        r = self.ip("netns", "exec", self.NS, "true", check=False)
        if r.returncode != 0:
            self.skipTest("cannot enter a network namespace here (%s); the "
                          "config switch is tested on loopback" %
                          r.stderr.strip())
        ns = ["netns", "exec", self.NS, "ip"]
        self.ip(*ns, "link", "set", "lo", "up")
        self.ip(*ns, "link", "add", "edoa", "type", "veth", "peer", "name", "edob")
        self.ip(*ns, "addr", "add", self.SERVER + "/24", "dev", "edoa")
        self.ip(*ns, "addr", "add", self.CLIENT + "/24", "dev", "edob")
        self.ip(*ns, "link", "set", "edoa", "up")
        self.ip(*ns, "link", "set", "edob", "up")

    def test_non_loopback_peer(self):
        d = h.Daemon(extra_env={"DEMO_PLAINTEXT_LOOPBACK": "true"})
        with open(d.conf) as f:
            conf = f.read()
        # every address of the namespace: loopback and the veth ones
        with open(d.conf, "w") as f:
            f.write(conf.replace('address = "127.0.0.1"', 'address = "0.0.0.0"'))
        try:
            start_daemon(d, ["ip", "netns", "exec", self.NS])
            r = subprocess.run(
                ["ip", "netns", "exec", self.NS, sys.executable, "-c",
                 NETNS_CLIENT, self.SERVER, self.CLIENT, str(d.ports["imap"]),
                 str(d.ports["submission"]), d.cafile, h.PASSWORD],
                capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            out = json.loads(r.stdout)
            g, t = out["imap_remote"]
            self.assertIn("LOGINDISABLED", g)
            self.assertNotIn("AUTH=PLAIN", g)
            self.assertRegex(t, r"^L (NO|BAD) ")
            g, t = out["imap_loopback"]
            self.assertIn("AUTH=PLAIN", g)
            self.assertTrue(t.startswith("L OK"), t)
            ehlo, a = out["smtp_remote"]
            self.assertNotIn("AUTH", ehlo)
            self.assertTrue(a.startswith("530"), a)
            ehlo, a = out["smtp_remote_tls"]
            self.assertIn("AUTH PLAIN", ehlo)
            self.assertTrue(a.startswith("235"), a)
            ehlo, a = out["smtp_loopback"]
            self.assertIn("AUTH PLAIN", ehlo)
            self.assertTrue(a.startswith("235"), a)
        finally:
            finish(d)


if __name__ == "__main__":
    h.main()
