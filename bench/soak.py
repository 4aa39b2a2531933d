#!/usr/bin/env python3
"""Soak: many simulated mail-client users against one edomaild for a long
time, with the daemon restarted under them, then a consistency audit.

    meson setup build-soak -Dbuildtype=release && ninja -C build-soak
    EDOMAIL_BUILD_DIR=build-soak python3 bench/soak.py --minutes 10 --users 50

Each user (own login, signing member of ООО Ромашка or ООО Лютик, with an
RSA certificate) loops until the time is up, choosing at random:

- send: a letter (sometimes with a signed document) to the other
  organization over SMTP (587 STARTTLS or 465), a token in the subject; a
  retry after a lost connection reuses the Message-ID (the server must not
  duplicate it);
- read: SELECT INBOX and FETCH a few whole messages (imaplib);
- flag: toggle \\Flagged on a message; the last acknowledged state is what
  the audit expects;
- archive / unarchive: UID MOVE between INBOX and Архив (at the operator:
  archive and restore).

A restarter thread stops the daemon with SIGTERM and starts it again
(--restarts, evenly spread); clients reconnect and retry.

The audit, after a last sync of every user: every letter that got 250 is
at the recipient organization exactly once for every member (in INBOX or
Архив, never twice, never in Корзина) and exactly once in the sender
members' Отправленные; letters whose 250 was lost in a restart are counted
separately (they may or may not exist, but never twice); the folder of
every item matches the operator's archived state (`edomailctl message
list`, a sample cross-checked with `message show`); flags are as last
acknowledged.  Printed: operations per second, errors by kind, peak RSS of
the daemon, audit results.  The exit status is 1 when the audit fails.

Loopback only; every loop ends with the deadline; the daemon is stopped
at the end whatever happens.
"""
import argparse
import collections
import email
import email.policy
import email.utils
import imaplib
import os
import random
import re
import smtplib
import socket
import ssl
import sys
import threading
import time
from email.message import EmailMessage

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("EDOMAIL_BUILD_DIR", os.path.join(SRC, "build-soak"))
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
import edomail_harness as h  # noqa: E402
from edomail_harness import utf7_decode, utf7_encode  # noqa: E402

ORGS = {"R": h.ROMASHKA["inn"], "L": h.LUTIK["inn"]}
ARCHIVE = utf7_encode("Архив")
SENT = utf7_encode("Отправленные")
TRASH = utf7_encode("Корзина")
TOKEN_RE = re.compile(r"soak-(\d+)-(\d+)")
EDO_ID_RE = re.compile(r"id ([0-9a-f-]{36})")


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.ops = collections.Counter()
        self.errors = collections.Counter()
        self.examples = collections.defaultdict(list)   # kind -> texts
        self.samples = collections.defaultdict(list)

    def op(self, kind, seconds):
        with self.lock:
            self.ops[kind] += 1
            self.samples[kind].append(seconds)

    def error(self, kind, e=None):
        """Counted by kind; the first three texts of a server's refusal
        (an IMAP NO/BAD, an SMTP code) are kept for the report, since a
        refusal under load is a finding, not noise."""
        with self.lock:
            self.errors[kind] += 1
            if e is not None and len(self.examples[kind]) < 3 and \
                    isinstance(e, (imaplib.IMAP4.error,
                                   smtplib.SMTPResponseException)) and \
                    not isinstance(e, imaplib.IMAP4.abort):
                self.examples[kind].append(str(e)[:300])


class Ledger:
    """What the clients know was done, for the audit."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sent = {}          # token -> dict(org, to, msgid, edo_id, state)
        self.flags = {}         # (login, token) -> (expected \\Flagged, when)
        self.moved = collections.defaultdict(list)  # (org, token) -> MOVE times

    def letter(self, token, **kw):
        with self.lock:
            self.sent.setdefault(token, {}).update(kw)


def error_kind(proto, e):
    if isinstance(e, smtplib.SMTPResponseException):
        return "%s %d" % (proto, e.smtp_code)
    if isinstance(e, imaplib.IMAP4.abort):
        return "%s abort (BYE or lost connection)" % proto
    if isinstance(e, imaplib.IMAP4.error):
        return "%s NO/BAD" % proto
    if isinstance(e, (ConnectionError, socket.timeout, ssl.SSLError,
                      smtplib.SMTPServerDisconnected, OSError, EOFError)):
        return "%s connection (%s)" % (proto, type(e).__name__)
    return "%s %s" % (proto, type(e).__name__)


class User(threading.Thread):
    def __init__(self, soak, n, login, org):
        super().__init__(daemon=True)
        self.soak, self.n, self.login, self.org = soak, n, login, org
        self.other = "L" if org == "R" else "R"
        self.rng = random.Random(soak.args.seed * 1000 + n)
        self.imap = None
        self.seq = 0

    # ---- connections ----
    def imap_conn(self):
        if self.imap is None:
            d = self.soak.d
            c = imaplib.IMAP4_SSL("127.0.0.1", d.ports["imaps"],
                                  ssl_context=self.soak.ctx, timeout=60)
            c.login(self.login, h.PASSWORD)
            self.imap = c
        return self.imap

    def imap_drop(self):
        if self.imap is not None:
            try:
                self.imap.shutdown()
            except Exception:       # noqa: BLE001 - it is going away
                pass
            self.imap = None

    # ---- actions ----
    def send(self):
        soak = self.soak
        d = soak.d
        self.seq += 1
        token = "soak-%d-%d" % (self.n, self.seq)
        m = EmailMessage()
        m["From"] = d.addr(ORGS[self.org])
        m["To"] = d.addr(ORGS[self.other])
        m["Subject"] = "Письмо %s" % token
        m["Date"] = email.utils.formatdate(localtime=True)
        m["Message-ID"] = "<%s@soak.example>" % token
        m.set_content("Проверка под нагрузкой %s\n" % token)
        if self.rng.random() < 0.3:
            m.add_attachment(os.urandom(self.rng.randint(1000, 50000)),
                             maintype="application", subtype="pdf",
                             filename="Документ %s.pdf" % token)
        soak.ledger.letter(token, org=self.org, to=self.other,
                           msgid=m["Message-ID"], state="trying")
        data = m.as_bytes(policy=email.policy.SMTP)
        for attempt in range(5):
            if soak.stop.is_set() and attempt > 0:
                break
            t0 = time.time()
            try:
                if self.rng.random() < 0.5:
                    s = smtplib.SMTP_SSL("127.0.0.1", d.ports["submissions"],
                                         context=soak.ctx, timeout=60)
                else:
                    s = smtplib.SMTP("127.0.0.1", d.ports["submission"],
                                     timeout=60)
                    s.starttls(context=soak.ctx)
                try:
                    s.login(self.login, h.PASSWORD)
                    s.mail(d.addr(ORGS[self.org]))
                    code, text = s.rcpt(d.addr(ORGS[self.other]))
                    if code != 250:
                        raise smtplib.SMTPResponseException(code, text)
                    code, text = s.data(data)
                    if code != 250:
                        raise smtplib.SMTPResponseException(code, text)
                finally:
                    try:
                        s.quit()
                    except Exception:       # noqa: BLE001
                        s.close()
                mid = EDO_ID_RE.search(text.decode("utf-8", "replace"))
                soak.ledger.letter(token, state="250",
                                   edo_id=mid.group(1) if mid else None)
                soak.stats.op("send", time.time() - t0)
                return
            except Exception as e:      # noqa: BLE001 - counted, retried
                kind = error_kind("smtp", e)
                soak.stats.error(kind, e)
                if isinstance(e, smtplib.SMTPResponseException) and \
                        500 <= e.smtp_code < 600:
                    soak.ledger.letter(token, state="refused %d" % e.smtp_code)
                    return
                soak.ledger.letter(token, state="unknown")
                time.sleep(0.5 + attempt)

    def pick(self, c, folder, want_token=True):
        """A random (uid, token) of a folder, or None."""
        typ, data = c.select(folder)
        if typ != "OK":
            return None
        typ, data = c.uid("SEARCH", None, "ALL")
        uids = data[0].split()
        if not uids:
            return None
        uid = self.rng.choice(uids[-200:]).decode()
        typ, data = c.uid("FETCH", uid, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        raw = b"".join(x[1] for x in data if isinstance(x, tuple))
        subj = email.message_from_bytes(raw, policy=email.policy.default)
        m = TOKEN_RE.search(str(subj.get("Subject", "")))
        if want_token and not m:
            return None
        return uid, m.group(0) if m else None

    def read(self):
        c = self.imap_conn()
        t0 = time.time()
        c.select("INBOX", readonly=True)
        typ, data = c.uid("SEARCH", None, "ALL")
        uids = data[0].split()
        for uid in self.rng.sample(uids, min(3, len(uids))):
            c.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
        self.soak.stats.op("read", time.time() - t0)

    def flag(self):
        c = self.imap_conn()
        t0 = time.time()
        got = self.pick(c, "INBOX")
        if got is None:
            return
        uid, token = got
        on = self.rng.random() < 0.5
        key = (self.login, token)
        with self.soak.ledger.lock:
            self.soak.ledger.flags[key] = None     # unknown until OK
        when = time.time()
        typ, data = c.uid("STORE", uid, "+FLAGS" if on else "-FLAGS",
                          "(\\Flagged)")
        # OK with the new flags of that UID; a UID another member's MOVE
        # took away meanwhile gets OK and nothing (RFC 2180 4.2)
        echo = [x for x in data if isinstance(x, bytes) and
                (b"UID %s " % uid.encode()) in x]
        if typ == "OK" and echo and (b"\\Flagged" in echo[0]) == on:
            with self.soak.ledger.lock:
                self.soak.ledger.flags[key] = (on, when)
        self.soak.stats.op("flag", time.time() - t0)

    def move(self, src, dst, kind):
        c = self.imap_conn()
        t0 = time.time()
        got = self.pick(c, src)
        if got is None:
            return
        uid, token = got
        with self.soak.ledger.lock:
            self.soak.ledger.moved[(self.org, token)].append(time.time())
        typ, data = c.uid("MOVE", uid, dst)
        if typ != "OK":
            # another member moved it first: the item is gone from here
            self.soak.stats.error("imap MOVE NO (%s)" %
                                  (data[0] or b"").decode("utf-8", "replace")[:40])
            return
        self.soak.stats.op(kind, time.time() - t0)

    def run(self):
        soak = self.soak
        actions = [(self.send, 30), (self.read, 30), (self.flag, 15),
                   (lambda: self.move("INBOX", '"%s"' % ARCHIVE, "archive"), 15),
                   (lambda: self.move('"%s"' % ARCHIVE, "INBOX", "unarchive"), 10)]
        total = sum(w for _, w in actions)
        while not soak.stop.is_set():
            r = self.rng.uniform(0, total)
            for fn, w in actions:
                r -= w
                if r <= 0:
                    break
            try:
                fn()
            except Exception as e:      # noqa: BLE001 - counted, reconnect
                soak.stats.error(error_kind("imap", e), e)
                self.imap_drop()
                time.sleep(0.5)
            time.sleep(self.rng.uniform(0, soak.args.think))
        self.imap_drop()


class Soak:
    def __init__(self, args):
        self.args = args
        self.stats = Stats()
        self.ledger = Ledger()
        self.stop = threading.Event()
        self.peak_rss = 0
        self.rss_samples = []
        self.restarts = []
        self.cpu_ticks = {}     # daemon pid -> utime + stime, last seen

    def setup(self):
        self.d = h.Daemon()
        self.d.start()
        self.ctx = self.d.tls_context()
        self.users = []
        for n in range(1, self.args.users + 1):
            org = "R" if n % 2 else "L"
            login = "soak%02d" % n
            self.d.ctl("user", "add", login, "--name", "Нагрузочный %d" % n,
                       "--password", h.PASSWORD)
            self.d.ctl("member", "add", login, ORGS[org], "--role", "signer")
            self.d.ctl("cert", "make", login, ORGS[org], "--type", "rsa")
            self.users.append(User(self, n, login, org))

    def sampler(self):
        while not self.stop.is_set():
            p = self.d.proc
            if p is not None:
                try:
                    with open("/proc/%d/status" % p.pid) as f:
                        for line in f:
                            if line.startswith("VmRSS:"):
                                kb = int(line.split()[1])
                                self.peak_rss = max(self.peak_rss, kb)
                                self.rss_samples.append((time.time(), kb))
                    with open("/proc/%d/stat" % p.pid) as f:
                        st = f.read().rsplit(")", 1)[1].split()
                    # per process: a restart starts a new count
                    self.cpu_ticks[p.pid] = int(st[11]) + int(st[12])
                except (FileNotFoundError, ProcessLookupError, ValueError,
                        IndexError):
                    pass
            time.sleep(1)

    def restarter(self, duration):
        n = self.args.restarts
        for i in range(n):
            when = self.t0 + duration * (i + 1) / (n + 1)
            while time.time() < when:
                if self.stop.wait(0.5):
                    return
            t = time.time()
            self.d.stop()
            self.d.start()
            self.restarts.append((t - self.t0, time.time() - t))
            print("  restart %d at %.0f s: down %.1f s" %
                  (i + 1, t - self.t0, time.time() - t), flush=True)

    def run(self):
        duration = self.args.minutes * 60
        self.t0 = time.time()
        threads = [threading.Thread(target=self.sampler, daemon=True),
                   threading.Thread(target=self.restarter, args=(duration,),
                                    daemon=True)]
        for t in threads + self.users:
            t.start()
        last = self.t0
        while time.time() - self.t0 < duration:
            time.sleep(min(10, max(0.1, duration - (time.time() - self.t0))))
            if time.time() - last >= 30 or time.time() - self.t0 >= duration:
                last = time.time()
                print("  %4.0f s: %d operations, %d errors, RSS %.0f MB" %
                      (time.time() - self.t0, sum(self.stats.ops.values()),
                       sum(self.stats.errors.values()),
                       self.rss_samples[-1][1] / 1024 if self.rss_samples else 0),
                      flush=True)
        self.stop.set()
        for u in self.users:
            u.join(180)
        for t in threads:
            t.join(120)
        self.elapsed = time.time() - self.t0

    # ---- the audit ----
    def folder_items(self, c, folder):
        """[(token, edo_id, flags)] of a folder."""
        typ, _ = c.select(folder, readonly=True)
        if typ != "OK":
            return []
        typ, data = c.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS "
                          "(SUBJECT MESSAGE-ID X-EDO-MESSAGE-ID)])")
        out = []
        for x in data:
            if not isinstance(x, tuple):
                continue
            flags = re.search(rb"FLAGS \(([^)]*)\)", x[0])
            hdr = email.message_from_bytes(x[1], policy=email.policy.default)
            m = TOKEN_RE.search(str(hdr.get("Subject", "")))
            if not m:
                continue
            edo = str(hdr.get("X-EDO-Message-Id", "") or "")
            if not edo:
                mm = re.match(r"<([0-9a-f-]{36})@", str(hdr.get("Message-ID", "")))
                edo = mm.group(1) if mm else ""
            out.append((m.group(0), edo,
                        flags.group(1).decode().split() if flags else []))
        return out

    def user_view(self, login):
        """{token: [(folder, edo_id, flags)]} over every folder of a user."""
        c = imaplib.IMAP4_SSL("127.0.0.1", self.d.ports["imaps"],
                              ssl_context=self.ctx, timeout=120)
        c.login(login, h.PASSWORD)
        view = collections.defaultdict(list)
        try:
            names = []
            for x in c.list('""', "*")[1]:
                m = re.search(rb'\(([^)]*)\) "/" ("[^"]*"|\S+)$', x)
                if m and b"\\Noselect" not in m.group(1):
                    names.append(m.group(2).strip(b'"').decode())
            for name in names:
                for token, edo, flags in self.folder_items(c, '"%s"' % name):
                    view[token].append((utf7_decode(name), edo, flags))
        finally:
            c.logout()
        return view

    def operator_state(self, org):
        """{edo_id: archived} from `edomailctl message list`."""
        out = {}
        for line in self.d.ctl("message", "list", ORGS[org]).stdout.splitlines()[1:]:
            p = line.split()
            if len(p) >= 8 and len(p[0]) == 36:
                out[p[0]] = p[6] == "archived"
        return out

    def audit(self):
        problems = []
        sent = self.ledger.sent
        ok = {t: v for t, v in sent.items() if v.get("state") == "250"}
        unknown = {t for t, v in sent.items() if v.get("state") in ("unknown", "trying")}
        ops = {o: self.operator_state(o) for o in ORGS}
        # show one message of each org with `message show`, as a check of
        # the list's archived column
        shown = 0
        views = {}
        for u in self.users:
            views[u.login] = self.user_view(u.login)
        for u in self.users:
            view = views[u.login]
            for token, info in sent.items():
                if info.get("state") not in ("250", "unknown", "trying"):
                    continue
                items = view.get(token, [])
                # items of EDO messages of this box (a notice about a
                # message carries its subject but is not at the operator)
                items = [x for x in items if x[1] in ops[u.org]]
                if u.org == info["to"]:
                    where = [f for f, _, _ in items if not f.startswith("Отправленные")]
                elif u.org == info["org"]:
                    where = [f for f, _, _ in items if f.startswith("Отправленные")]
                else:
                    continue
                if token in ok and len(where) != 1:
                    problems.append("%s: %s seen %d times at %s: %s" %
                                    (u.login, token, len(where), u.org, where))
                elif token in unknown and len(where) > 1:
                    problems.append("%s: unconfirmed %s seen %d times: %s" %
                                    (u.login, token, len(where), where))
                if any(f.startswith("Корзина") for f in where):
                    problems.append("%s: %s in the trash" % (u.login, token))
                if u.org == info["to"] and len(where) == 1:
                    folder = where[0]
                    edo = [e for f, e, _ in items if f == folder][0]
                    archived = ops[u.org].get(edo)
                    if archived is None:
                        problems.append("%s: %s (%s) unknown at the operator" %
                                        (u.login, token, edo))
                    elif archived != folder.startswith("Архив"):
                        problems.append("%s: %s in %s but archived=%s at the "
                                        "operator" % (u.login, token, folder,
                                                      archived))
                    if shown < 10 and self.args.show_sample:
                        out = self.d.ctl("message", "show", ORGS[u.org], edo).stdout
                        if ("Archived: yes" in out) != archived:
                            problems.append("message show %s disagrees with "
                                            "message list" % edo)
                        shown += 1
        # flags as last acknowledged, where no member moved the message
        # around the STORE (a STORE that raced with another session's MOVE
        # may hit the item it took away: RFC 2180 4.2)
        org_of = {u.login: u.org for u in self.users}
        self.flags_checked = 0
        for (login, token), exp in self.ledger.flags.items():
            if exp is None:
                continue
            on, when = exp
            if any(abs(t - when) < 5 for t in
                   self.ledger.moved.get((org_of[login], token), ())):
                continue
            self.flags_checked += 1
            items = [x for x in views[login].get(token, [])
                     if not x[0].startswith("Отправленные")]
            if len(items) == 1 and (("\\Flagged" in items[0][2]) != on):
                problems.append("%s: %s flagged=%s, expected %s" %
                                (login, token, not on, on))
        self.archived_items = sum(
            1 for v in views.values() for items in v.values()
            for f, e, _ in items if f.startswith("Архив"))
        self.archived_op = sum(sum(1 for a in o.values() if a) for o in ops.values())
        self.shown = shown
        return ok, unknown, problems

    def report(self, ok, unknown, problems):
        el = self.elapsed
        total = sum(self.stats.ops.values())
        print("\n== soak: %d users, %.1f min, %d restarts, build %s" %
              (self.args.users, el / 60, len(self.restarts), h.BUILD))
        print("operations: %d in %.0f s = %.1f/s" % (total, el, total / el))
        for k, n in sorted(self.stats.ops.items()):
            s = sorted(self.stats.samples[k])
            print("  %-10s %6d  %.1f/s  median %.3f s  p95 %.3f s  max %.3f s" %
                  (k, n, n / el, s[len(s) // 2], s[int(len(s) * 0.95)], s[-1]))
        print("errors: %d" % sum(self.stats.errors.values()))
        for k, n in self.stats.errors.most_common():
            print("  %-60s %6d" % (k, n))
            for text in self.stats.examples.get(k, ()):
                print("      e.g. %s" % text)
        print("restarts: %s" % ", ".join("at %.0f s (down %.1f s)" % r
                                         for r in self.restarts))
        print("daemon peak RSS: %.1f MB" % (self.peak_rss / 1024))
        cpu = sum(self.cpu_ticks.values()) / os.sysconf("SC_CLK_TCK")
        print("daemon CPU: %.0f s in %.0f s (%.0f%% of one core), %.1f ms an "
              "operation" % (cpu, el, 100 * cpu / el, 1000 * cpu / max(total, 1)))
        states = collections.Counter(v.get("state") for v in self.ledger.sent.values())
        print("letters: %s" % dict(states))
        print("audit: %d letters with 250 checked at %d users, %d unconfirmed; "
              "%d problems" % (len(ok), len(self.users), len(unknown), len(problems)))
        print("  items in Архив over all users: %d; messages archived at the "
              "operator: %d; `message show` cross-checks: %d; flags checked: %d" %
              (self.archived_items, self.archived_op, self.shown,
               self.flags_checked))
        for p in problems[:50]:
            print("  " + p)

    def close(self):
        rc = self.d.stop() if self.d.proc is not None else 0
        log = self.d.log()
        bad = [l for l in log.splitlines() if "[error]" in l or "ERROR" in l
               or "runtime error:" in l]
        if rc != 0:
            bad.append("edomaild exited with %d" % rc)
        if bad:
            print("daemon log errors (%d), first: %s" % (len(bad), bad[:5]))
        warns = collections.Counter(
            re.sub(r"\d+", "N", l.split("]", 1)[-1])[:100]
            for l in log.splitlines() if "[warn]" in l)
        print("daemon log warnings: %d" % sum(warns.values()))
        for w, n in warns.most_common(8):
            print("  %6d %s" % (n, w.strip()))
        if self.args.keep:
            print("kept in %s" % self.d.dir)
        else:
            self.d.cleanup()
        return bad


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--restarts", type=int, default=2)
    ap.add_argument("--think", type=float, default=0.5,
                    help="longest pause between a user's actions, seconds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the daemon's folder")
    ap.add_argument("--no-show-sample", dest="show_sample", action="store_false")
    args = ap.parse_args(argv)
    if not 1 <= args.users <= 200 or not 0 < args.minutes <= 120:
        ap.error("1..200 users, up to 120 minutes")
    return args


def run(args):
    """The whole soak; 0 when the audit and the daemon's log are clean."""
    soak = Soak(args)
    print("soak: %d users for %.1f min against %s" %
          (args.users, args.minutes, h.BUILD), flush=True)
    problems = ["not run"]
    soak.setup()
    try:
        soak.run()
        print("audit...", flush=True)
        ok, unknown, problems = soak.audit()
        soak.report(ok, unknown, problems)
    finally:
        soak.stop.set()
        bad = soak.close()
    return 1 if problems or bad else 0


def main():
    return run(parse_args())


if __name__ == "__main__":
    sys.exit(main())
