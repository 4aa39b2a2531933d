#!/usr/bin/env python3
"""IMAP STATUS of one organization while another one commits big letters.

- Load: Ромашка (`romashka`, RSA) submits letters to Лютик over SMTP, each
  with ATTACHMENTS attachments of SIZE bytes (default 120 x 100 KB): the
  daemon signs every document and the embedded operator stores and
  confirms all of them in one write transaction of the store.  CLIENTS
  sessions submit back to back until COUNT letters are in.
- Probe: meanwhile a session of a third organization (Василёк, `vasilek`,
  neither sender nor recipient) sends `STATUS INBOX (MESSAGES UNSEEN
  UIDNEXT)` in a loop, one at a time; each round trip is timed.  Before
  the load the same loop runs on an idle daemon (the floor).
- Reported: STATUS p50 / p99 / max, idle and under load, and the commit
  rate (letters/s, documents/s, MB/s of attachments).  The goal of issue
  10: STATUS p99 under 5 ms during the commits.

Nothing of the probe's organization changes, so its STATUS does no sync
work: what it waits for is the store (and the event loop, and the CPU:
the sender's signing and the client's own work share the cores).  The
probe runs in a process of its own, away from the sender's GIL.
"""
import argparse
import multiprocessing
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from email import policy
from email.message import EmailMessage

import benchlib as bl


def letter(from_addr, to_addr, i, files):
    m = EmailMessage(policy=policy.SMTP)
    m["From"] = from_addr
    m["To"] = to_addr
    m["Subject"] = "Пакет документов № %d" % i
    m["Message-ID"] = "<status-%d-%d@bench.local>" % (i, random.getrandbits(48))
    m.set_content("Направляем пакет документов № %d.\n" % i)
    for k, data in enumerate(files):
        m.add_attachment(data, maintype="application", subtype="pdf",
                         filename="Документ %d-%d.pdf" % (i, k + 1))
    return m.as_bytes()


def attachments(n, size):
    """n different incompressible 'PDF' files of size bytes."""
    rng = random.Random(120)
    head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    return [head + rng.randbytes(size - len(head)) for _ in range(n)]


class StatusProbe:
    """STATUS INBOX in a loop until stopped, in a process of its own: the
    sender's smtplib holds the GIL for hundreds of ms on a 16 MB letter
    (line ending and dot regexes), which a probe thread would measure as
    STATUS latency."""

    def __init__(self, edo, user, rate):
        ctx = multiprocessing.get_context("fork")
        self.stop = ctx.Event()
        self.ready = ctx.Event()
        self.rx, tx = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=self.run, args=(edo.port, user, rate, tx),
                                daemon=True)
        self.error = None

    def run(self, port, user, rate, tx):
        lat, error = [], None
        try:
            imap = bl.Imap(port, timeout=120).login(user)
            imap.command("STATUS INBOX (MESSAGES)")  # warm: sync, caches
            self.ready.set()
            gap = 1.0 / rate if rate > 0 else 0.0
            due = time.perf_counter()
            while not self.stop.is_set():
                # paced below the daemon's command rate: a probe that
                # empties its token bucket measures the rate limiter
                due += gap
                t = time.perf_counter()
                if due > t:
                    time.sleep(due - t)
                else:
                    due = t
                t = time.perf_counter()
                imap.command("STATUS INBOX (MESSAGES UNSEEN UIDNEXT)")
                lat.append((t, time.perf_counter() - t))
            imap.logout()
        except (OSError, bl.BenchError) as e:
            error = str(e)
        self.ready.set()
        tx.send((lat, error))

    def start(self):
        self.proc.start()
        self.ready.wait(60)

    def finish(self):
        """The round trips as (start, seconds)."""
        self.stop.set()
        lat, self.error = self.rx.recv()
        self.proc.join(60)
        return lat


def idle_status(edo, user, count):
    imap = bl.Imap(edo.port, timeout=120).login(user)
    imap.command("STATUS INBOX (MESSAGES)")
    lat = []
    for _ in range(count):
        t = time.perf_counter()
        imap.command("STATUS INBOX (MESSAGES UNSEEN UIDNEXT)")
        lat.append(time.perf_counter() - t)
    imap.logout()
    return lat


def submit(edo, from_addr, to_addr, msgs, clients):
    """Every letter of msgs over `clients` sessions; (seconds, MAIL..250
    latencies, errors)."""
    lock = threading.Lock()
    todo = iter(range(len(msgs)))
    lat, errors = [], []

    def worker(_):
        s = None
        try:
            while True:
                with lock:
                    i = next(todo, None)
                if i is None:
                    break
                if s is None:
                    s = bl.smtp_login(edo, "romashka")
                t = time.perf_counter()
                try:
                    s.sendmail(from_addr, [to_addr], msgs[i])
                except Exception as e:
                    with lock:
                        errors.append("letter %d: %s" % (i, e))
                    s = None
                    continue
                with lock:
                    lat.append(time.perf_counter() - t)
            if s is not None:
                s.quit()
        except Exception as e:
            with lock:
                errors.append("session: %s" % e)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as ex:
        list(ex.map(worker, range(clients)))
    return time.perf_counter() - t0, lat, errors


def ms(values, p):
    return bl.percentile(values, p) * 1000


def slow(values, limit=0.005):
    return sum(1 for v in values if v > limit)


def share(values, limit=0.005):
    """The part of the probe's time spent in STATUS slower than limit."""
    total = sum(values)
    return 100.0 * sum(v for v in values if v > limit) / total if total else None


def main():
    ap = bl.common_args(argparse.ArgumentParser(description=__doc__),
                        max_seconds=1800)
    ap.add_argument("--count", type=int, default=20,
                    help="letters submitted under the probe")
    ap.add_argument("--attachments", type=int, default=120,
                    help="attachments per letter")
    ap.add_argument("--size", type=int, default=100 * 1024,
                    help="bytes per attachment")
    ap.add_argument("--clients", type=int, default=2,
                    help="concurrent SMTP sessions of the sender")
    ap.add_argument("--idle-count", type=int, default=500,
                    help="STATUS commands on the idle daemon")
    ap.add_argument("--probe-rate", type=float, default=150,
                    help="STATUS commands a second under load (0: back to "
                    "back); below limits.max_commands_per_second (200), or "
                    "the probe waits for the rate limiter's tokens")
    ap.add_argument("--dump", metavar="FILE",
                    help="write each STATUS under load as 'start seconds' "
                    "(perf_counter) to FILE")
    args = ap.parse_args()
    if args.quick:
        args.count = min(args.count, 3)
        args.attachments = min(args.attachments, 20)
        args.idle_count = min(args.idle_count, 50)
    bl.setup(args.max_seconds)
    summary = bl.Summary("status_during_commit", args.summary)
    print("status_during_commit: %d letters of %d x %d KB over %d sessions; "
          "%s; daemon %s" % (args.count, args.attachments, args.size // 1024,
                             args.clients, bl.conditions(), bl.BUILD))

    files = attachments(args.attachments, args.size)
    edo = bl.Edomail(args.workdir).start()
    d = edo.demo
    msgs = [letter(d["ROMASHKA_ADDR"], d["LUTIK_ADDR"], i, files)
            for i in range(args.count)]
    # one letter first: keys unsealed, statements prepared, the store warm
    _, _, errors = submit(edo, d["ROMASHKA_ADDR"], d["LUTIK_ADDR"],
                          [letter(d["ROMASHKA_ADDR"], d["LUTIK_ADDR"], -1,
                                  files)], 1)
    idle = idle_status(edo, "vasilek", args.idle_count)

    probe = StatusProbe(edo, "vasilek", args.probe_rate)
    probe.start()
    cpu0 = edo.cpu()
    secs, lat, more = submit(edo, d["ROMASHKA_ADDR"], d["LUTIK_ADDR"], msgs,
                             args.clients)
    cpu = edo.cpu() - cpu0
    timed = probe.finish()
    busy = [d for _, d in timed]
    if args.dump:
        with open(args.dump, "w") as f:
            for t, d in timed:
                f.write("%.6f %.6f\n" % (t, d))
    errors += more
    for e in errors[:5]:
        print("  error: %s" % e)
    if probe.error is not None:
        print("  STATUS probe: %s" % probe.error)

    sent = len(lat)
    mb = sent * args.attachments * args.size / 1e6
    rows = [
        ["STATUS p50 ms", ms(idle, 50), ms(busy, 50)],
        ["STATUS p99 ms", ms(idle, 99), ms(busy, 99)],
        ["STATUS p99.9 ms", ms(idle, 99.9), ms(busy, 99.9)],
        ["STATUS max ms", max(idle) * 1000 if idle else None,
         max(busy) * 1000 if busy else None],
        # few STATUS meet a commit, each for long: p99 hides them
        ["STATUS over 5 ms", slow(idle), slow(busy)],
        ["time in STATUS over 5 ms, %", share(idle), share(busy)],
        ["STATUS commands", len(idle), len(busy)],
        ["letters/s", None, sent / secs],
        ["documents/s", None, sent * args.attachments / secs],
        ["attachment MB/s", None, mb / secs],
        ["MAIL..250 p50 ms", None, ms(lat, 50)],
        ["MAIL..250 max ms", None, max(lat) * 1000 if lat else None],
        ["daemon CPU ms per letter", None, cpu / max(sent, 1) * 1000],
    ]
    bl.report_logs(edo)
    bl.table("status_during_commit: STATUS of Василёк, idle and while "
             "Ромашка commits letters of %d x %d KB (%d sessions)" % (
                 args.attachments, args.size // 1024, args.clients),
             ["figure", "idle", "during commits"], rows)
    summary.add("STATUS p99 during %d-attachment commits" % args.attachments,
                "ms", ms(busy, 99))
    summary.add("STATUS max during %d-attachment commits" % args.attachments,
                "ms", max(busy) * 1000 if busy else float("nan"))
    summary.add("letters/s with %d x %d KB" % (args.attachments,
                                               args.size // 1024),
                "msgs/s", sent / secs)
    ok = not errors and probe.error is None and sent == args.count
    if not edo.alive():
        print("edomaild DIED")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except bl.BenchError as e:
        print("status_during_commit: %s" % e, file=sys.stderr)
        sys.exit(2)
