#!/usr/bin/env python3
"""SMTP submission with a 100 KB attachment, RSA and GOST, against the cost
floor of signing.

- Throughput: COUNT letters with the same 100 KB attachment over K
  concurrent SMTP sessions: RSA (Ромашка -> Лютик, as `romashka`, RSA 2048
  certificate) and GOST (Лютик -> Ромашка, as `lutik`, GOST R 34.10-2012
  256-bit certificate).  Each letter is signed, sent through the embedded
  operator and confirmed before its 250.
- The floor: `openssl cms -sign` (detached, DER) of the same 100 KB file
  with a key of the same kind (RSA 2048 / SHA-256; GOST 2012-256 paramset
  A / Streebog-256 through `-engine gost`), COUNT times with K processes at
  once.  It includes a process start and a key load per signature, so it is
  an upper bound of what the signature alone costs.
- Delivery latency: the recipient IDLEs on INBOX; letters are sent one at a
  time, and for each the time from the 250 after DATA to the recipient's
  `* n EXISTS` is taken (negative: EXISTS came first).
"""
import argparse
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import benchlib as bl

DIRECTIONS = (  # name, user, from, to
    ("RSA", "romashka", "ROMASHKA_ADDR", "LUTIK_ADDR"),
    ("GOST", "lutik", "LUTIK_ADDR", "ROMASHKA_ADDR"),
)


def attachment(size=100 * 1024):
    """A deterministic 100 KB 'PDF' (incompressible after the header)."""
    rng = random.Random(100)
    head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    return head + rng.randbytes(size - len(head))


def stamped(data, i):
    """data with letter number i written into it (same size): every letter
    carries a document of its own, as real mail does, so that nothing the
    daemon stores once per distinct document (doc/store.md, "Shared
    parts") is shared between the letters of a run."""
    return data[:24] + b"%010d" % i + data[34:]


def submit_many(edo, user, from_addr, to_addr, data, count, clients,
                first=0):
    """count letters over `clients` sessions; returns (seconds, latencies of
    MAIL FROM..250 after DATA, errors).  Letters are numbered from first;
    letter i carries stamped(data, i).  The letters are made before the
    clock starts: Python's email package took as much CPU per letter as the
    daemon (5.8 ms), on the same two cores, inside the measured time, while
    the `openssl cms -sign` reference makes no mail at all."""
    lock = threading.Lock()
    letters = {i: bl.edo_letter(from_addr, to_addr, "Документы № %d" % i,
                                "Направляем документы № %d.\n" % i,
                                "Документ %d.pdf" % i, stamped(data, i))
               for i in range(first, first + count)}
    todo = iter(range(first, first + count))
    lat, errors = [], []

    def worker(k):
        s = None
        try:
            while True:
                with lock:
                    i = next(todo, None)
                if i is None:
                    break
                if s is None:
                    s = bl.smtp_login(edo, user)
                msg = letters.pop(i)
                t = time.perf_counter()
                try:
                    s.sendmail(from_addr, [to_addr], msg)
                except Exception as e:
                    with lock:
                        errors.append("%s letter %d: %s" % (user, i, e))
                    s = None
                    continue
                with lock:
                    lat.append(time.perf_counter() - t)
            if s is not None:
                s.quit()
        except Exception as e:
            with lock:
                errors.append("%s session: %s" % (user, e))

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as ex:
        list(ex.map(worker, range(clients)))
    return time.perf_counter() - t0, lat, errors


def make_keys(d):
    ok = True
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", os.path.join(d, "rsa.key"), "-out",
                    os.path.join(d, "rsa.crt"), "-subj", "/CN=bench RSA",
                    "-days", "30"], capture_output=True, check=True,
                   timeout=120)
    r = subprocess.run(["openssl", "req", "-engine", "gost", "-x509",
                        "-newkey", "gost2012_256", "-pkeyopt", "paramset:A",
                        "-nodes", "-keyout", os.path.join(d, "gost.key"),
                        "-out", os.path.join(d, "gost.crt"), "-subj",
                        "/CN=bench GOST", "-days", "30"],
                       capture_output=True, timeout=120)
    if r.returncode != 0:
        print("openssl GOST key: %s" % r.stderr.decode(errors="replace"))
        ok = False
    return ok


def openssl_sign(d, kind, path, count, clients):
    """count `openssl cms -sign` runs, `clients` at a time; returns (seconds,
    failures, CPU seconds of the openssl processes)."""
    if kind == "RSA":
        cmd = ["openssl", "cms", "-sign", "-binary", "-in", path, "-signer",
               os.path.join(d, "rsa.crt"), "-inkey",
               os.path.join(d, "rsa.key"), "-md", "sha256", "-outform",
               "DER", "-out", os.devnull]
    else:
        cmd = ["openssl", "cms", "-sign", "-engine", "gost", "-binary",
               "-in", path, "-signer", os.path.join(d, "gost.crt"), "-inkey",
               os.path.join(d, "gost.key"), "-md", "md_gost12_256",
               "-outform", "DER", "-out", os.devnull]
    lock = threading.Lock()
    todo = iter(range(count))
    fails = [0]

    def worker(_):
        while True:
            with lock:
                if next(todo, None) is None:
                    return
            r = subprocess.run(cmd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=60)
            if r.returncode != 0:
                with lock:
                    fails[0] += 1

    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as ex:
        list(ex.map(worker, range(clients)))
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return time.perf_counter() - t0, fails[0], cpu


class IdleWatcher(threading.Thread):
    """The recipient in IDLE on INBOX: the time of every new EXISTS."""

    def __init__(self, edo, user):
        super().__init__(daemon=True)
        self.imap = bl.Imap(edo.port, timeout=300).login(user)
        self.base = self.imap.select("INBOX")
        self.imap.send(self.imap.tag() + b" IDLE\r\n")
        line, _ = self.imap.read_response()
        if not line.startswith(b"+"):
            raise bl.BenchError("IDLE refused: %r" % line)
        self.seen = {}           # EXISTS number -> perf_counter time
        self.cond = threading.Condition()
        self.stop = False

    def run(self):
        try:
            while not self.stop:
                line, _ = self.imap.read_response()
                t = time.perf_counter()
                m = re.match(rb"\* (\d+) EXISTS", line)
                if m:
                    with self.cond:
                        self.seen.setdefault(int(m.group(1)), t)
                        self.cond.notify_all()
        except (OSError, bl.BenchError):
            pass

    def wait_for(self, n, timeout):
        """The time the folder first showed at least n messages."""
        deadline = time.time() + timeout
        with self.cond:
            while True:
                hits = [t for k, t in self.seen.items() if k >= n]
                if hits:
                    return min(hits)
                left = deadline - time.time()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def close(self):
        self.stop = True
        try:
            self.imap.send(b"DONE\r\n")
        except OSError:
            pass
        self.imap.logout()


def settle(node, user, quiet=2.0, timeout=120):
    """Waits until user's INBOX stops growing (letters and notices of the
    rate rounds still arriving would be counted as the next letter's
    EXISTS); returns its count."""
    imap = bl.Imap(node.port).login(user)
    try:
        last, since, t0 = -1, time.monotonic(), time.monotonic()
        while time.monotonic() - t0 < timeout:
            n = imap.select("INBOX")
            if n != last:
                last, since = n, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
            time.sleep(0.25)
        return last
    finally:
        imap.logout()


def delivery_latency(send_node, user, watch_node, rcpt, from_addr, to_addr,
                     data, count):
    """250 after DATA on send_node -> EXISTS in rcpt's IDLE on watch_node,
    one letter at a time; (latencies, missing, EXISTS beyond the letters:
    something else arrived and the figures are suspect)."""
    settle(watch_node, rcpt)
    w = IdleWatcher(watch_node, rcpt)
    w.start()
    t250 = {}
    tag = "%05d" % (int(time.time()) % 100000)
    s = bl.smtp_login(send_node, user)
    try:
        for i in range(count):
            msg = bl.edo_letter(from_addr, to_addr,
                                "Latency %s-%05d" % (tag, i),
                                "Проверка задержки доставки.\n",
                                "Документ %d.pdf" % i, stamped(data, i))
            n0 = max(list(w.seen) + [w.base])
            s.sendmail(from_addr, [to_addr], msg)
            t250[i] = time.perf_counter()
            # one letter at a time: its EXISTS (or a notice's) before the
            # next is sent; which sequence number is the letter is read
            # below
            w.wait_for(n0 + 1, 30)
        time.sleep(1)
    finally:
        s.quit()
        w.close()
    # The letter's sequence number by its subject (notices of earlier
    # letters arrive in between and take numbers too); its time is the
    # first EXISTS that covered it.
    imap = bl.Imap(watch_node.port).login(rcpt)
    seq_of = {}
    try:
        imap.select("INBOX")
        _, _, untagged = imap.command(
            "FETCH %d:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])" % (w.base + 1))
        for line, lits in untagged:
            m = re.match(rb"\* (\d+) FETCH", line)
            hm = re.search(rb"Latency " + tag.encode() + rb"-(\d{5})",
                           b"".join(lits))
            if m and hm:
                seq_of.setdefault(int(hm.group(1)), int(m.group(1)))
    finally:
        imap.logout()
    lat, missing = [], 0
    for i, t in t250.items():
        hits = [ts for k, ts in w.seen.items() if k >= seq_of.get(i, 1 << 30)]
        if not hits:
            missing += 1
        else:
            lat.append(min(hits) - t)
    extra = max(list(w.seen) + [w.base]) - (w.base + count)
    return lat, missing, extra


def main():
    ap = bl.common_args(argparse.ArgumentParser(description=__doc__),
                        max_seconds=1800)
    ap.add_argument("--count", type=int, default=200,
                    help="letters per algorithm")
    ap.add_argument("--clients", type=int, default=4,
                    help="concurrent SMTP sessions / openssl processes")
    ap.add_argument("--latency-count", type=int, default=200,
                    help="letters for the 250 -> EXISTS latency")
    args = ap.parse_args()
    if args.quick:
        args.count = min(args.count, 10)
        args.latency_count = min(args.latency_count, 10)
        args.clients = min(args.clients, 2)
    bl.setup(args.max_seconds)
    summary = bl.Summary("smtp_submit", args.summary)
    print("smtp_submit: %d letters with a 100 KB attachment per algorithm, "
          "%d concurrent; latency over %d; %s" % (
              args.count, args.clients, args.latency_count,
              bl.conditions()))

    data = attachment()
    tmp = tempfile.mkdtemp(prefix="bench-sign-", dir=args.workdir)
    bl.on_cleanup(lambda: __import__("shutil").rmtree(tmp, True))
    path = os.path.join(tmp, "doc.pdf")
    with open(path, "wb") as f:
        f.write(data)
    gost_ok = make_keys(tmp)

    edo = bl.Edomail(args.workdir).start()
    d = edo.demo
    rows, ok = [], True
    for kind, user, src, dst in DIRECTIONS:
        cpu0 = edo.cpu()
        secs, lat, errors = submit_many(edo, user, d[src], d[dst], data,
                                        args.count, args.clients)
        cpu = edo.cpu() - cpu0
        sent = len(lat)
        for e in errors[:5]:
            print("  error: %s" % e)
        ok = ok and not errors
        if kind == "GOST" and not gost_ok:
            fl_s, fails, fl_cpu = float("nan"), args.count, float("nan")
        else:
            fl_s, fails, fl_cpu = openssl_sign(tmp, kind, path, args.count,
                                               args.clients)
        rate = sent / secs
        floor = (args.count - fails) / fl_s if fl_s == fl_s else None
        print("%s: %d/%d submitted in %.2f s; openssl cms -sign %d in %.2f s"
              " (%d failed)" % (kind, sent, args.count, secs, args.count,
                                fl_s, fails))
        rows.append(["%s submissions/s" % kind, rate, floor,
                     bl.ratio(rate, floor)])
        per_e = cpu / max(sent, 1) * 1000
        per_f = fl_cpu / max(args.count - fails, 1) * 1000
        rows.append(["%s CPU ms per letter / sign" % kind, per_e, per_f,
                     bl.ratio(per_e, per_f)])
        summary.add("%s CPU per submission (100 KB)" % kind, "ms", per_e,
                    per_f, other_name="openssl cms -sign")
        rows.append(["%s MAIL..250 p50 ms" % kind,
                     bl.percentile(lat, 50) * 1000, None, None])
        rows.append(["%s MAIL..250 p99 ms" % kind,
                     bl.percentile(lat, 99) * 1000, None, None])
        summary.add("%s submissions/s (100 KB, %d clients)" % (
            kind, args.clients), "msgs/s", rate, floor,
            other_name="openssl cms -sign")
    for kind, user, src, dst in DIRECTIONS:
        rcpt = "lutik" if user == "romashka" else "romashka"
        lat, missing, extra = delivery_latency(edo, user, edo, rcpt, d[src],
                                               d[dst], data,
                                               args.latency_count)
        ok = ok and missing == 0
        early = sum(1 for x in lat if x < 0)
        print("%s: 250 -> EXISTS over %d letters, %d missing, %d other "
              "EXISTS, %d before the 250" % (kind, len(lat), missing, extra,
                                              early))
        for p in (50, 99):
            v = bl.percentile(lat, p) * 1000
            rows.append(["%s 250->IDLE EXISTS p%d ms" % (kind, p), v, None,
                         None])
            summary.add("%s 250->EXISTS p%d" % (kind, p), "ms", v)
    bl.report_logs(edo)
    bl.table("smtp_submit, 100 KB attachment, %d concurrent (floor = openssl "
             "cms -sign of the same file, ratio = edomaild / floor)" %
             args.clients, ["figure", "edomaild", "openssl floor", "ratio"],
             rows)
    db, wal = edo.store_size()
    print("edomaild store after %d letters of 100 KB: %.1f MB + WAL %.1f MB"
          % (2 * args.count + 2 * args.latency_count, db / 1e6, wal / 1e6))
    if not edo.alive():
        print("edomaild DIED")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except bl.BenchError as e:
        print("smtp_submit: %s" % e, file=sys.stderr)
        sys.exit(2)
