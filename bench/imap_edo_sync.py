#!/usr/bin/env python3
"""Full sync of an INBOX of EDO messages made through the operator.

Ромашка (user `romashka`, RSA certificate) sends COUNT small letters with
one small attachment each to Лютик over SMTP submission (K concurrent
sessions, several letters per session); each becomes a signed EDO message
with the operator's confirmation.  The generation rate is a figure.  Then
`lutik` syncs INBOX as Thunderbird does (imap_sync.py's sync); the rendered
messages it received are APPENDed to a private Dovecot and synced there
too, so both servers serve the very same bytes.
"""
import argparse
import sys
import threading
import time

import benchlib as bl


def generate(edo, count, clients, per_session):
    """Send count letters over `clients` SMTP sessions in parallel; returns
    (seconds, sent, errors)."""
    d = edo.demo
    sent = [0]
    step = max(1, count // 10)
    t0 = time.perf_counter()
    errors = []
    lock = threading.Lock()
    todo = iter(range(count))

    def next_index():
        with lock:
            return next(todo, None)

    def worker():
        s = None
        done_in_session = 0
        try:
            while True:
                i = next_index()
                if i is None:
                    break
                if s is None or done_in_session >= per_session:
                    if s is not None:
                        s.quit()
                    s = bl.smtp_login(edo, "romashka")
                    done_in_session = 0
                data = ("Счёт %d\n" % i).encode() * 64
                msg = bl.edo_letter(
                    d["ROMASHKA_ADDR"], d["LUTIK_ADDR"],
                    "Счёт на оплату № %d" % i,
                    "Добрый день! Направляем счёт № %d.\n" % i,
                    "Счёт %d.txt" % i, data, ("text", "plain"))
                try:
                    s.sendmail(d["ROMASHKA_ADDR"], [d["LUTIK_ADDR"]], msg)
                    with lock:
                        sent[0] += 1
                        if sent[0] % step == 0:
                            db, wal = edo.store_size()
                            print("  %d letters, %.0f s, %.1f letters/s; "
                                  "store %.0f MB + WAL %.0f MB" % (
                                      sent[0], time.perf_counter() - t0,
                                      sent[0] / (time.perf_counter() - t0),
                                      db / 1e6, wal / 1e6), flush=True)
                except Exception as e:
                    with lock:
                        errors.append("letter %d: %s" % (i, e))
                    s = None
                done_in_session += 1
            if s is not None:
                s.quit()
        except Exception as e:
            with lock:
                errors.append("session: %s" % e)

    threads = [threading.Thread(target=worker, daemon=True)
               for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, sent[0], errors


def main():
    ap = bl.common_args(argparse.ArgumentParser(description=__doc__),
                        max_seconds=3600)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--clients", type=int, default=4,
                    help="concurrent SMTP sessions for the generation")
    ap.add_argument("--per-session", type=int, default=100,
                    help="letters per SMTP session")
    ap.add_argument("--batch", type=int, default=100)
    args = ap.parse_args()
    if args.quick:
        args.count = min(args.count, 100)
    bl.setup(args.max_seconds)
    summary = bl.Summary("imap_edo_sync", args.summary)
    print("imap_edo_sync: %d EDO letters, %d SMTP sessions in parallel; %s"
          % (args.count, args.clients, bl.conditions()))

    edo = bl.Edomail(args.workdir).start()
    dov = bl.Dovecot(args.workdir).start()
    before = bl.Imap(edo.port).login("lutik")
    base = before.select("INBOX")
    before.logout()

    cpu0 = edo.cpu()
    gen_s, sent, errors = generate(edo, args.count, args.clients,
                                   args.per_session)
    gen_cpu = edo.cpu() - cpu0
    db, wal = edo.store_size()
    print("generation: %d/%d letters in %.1f s (%.1f letters/s, server CPU "
          "%.1f ms a letter), %d errors; store %.1f MB + WAL %.1f MB" % (
              sent, args.count, gen_s, sent / gen_s,
              gen_cpu / max(sent, 1) * 1000, len(errors), db / 1e6,
              wal / 1e6))
    for e in errors[:5]:
        print("  error: %s" % e)
    # Another client meanwhile: CAPABILITY over and over on its own
    # connection; the longest wait for an answer shows whether the
    # projection held up the other sessions.
    probe = bl.Imap(edo.port)
    stop = threading.Event()
    gaps = []

    def poll():
        while not stop.is_set():
            t = time.perf_counter()
            probe.command("CAPABILITY")
            gaps.append(time.perf_counter() - t)
            time.sleep(0.005)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    steps = {}
    exists, waited = bl.wait_exists_count(edo, "lutik", "INBOX",
                                          base + sent, 120, steps)
    stop.set()
    poller.join(30)
    probe.logout()
    stall = max(gaps) if gaps else float("nan")
    print("lutik's first SELECT after the letters: INBOX shows %d messages "
          "(%d before) after %.2f s; another session's longest wait "
          "meanwhile %.1f ms (%d commands)" % (exists, base, waited,
                                               stall * 1000, len(gaps)))
    print("  of which LOGIN %.2f s (projection on the worker), first SELECT "
          "%.3f s showing %d, %d SELECT(s) in all" % (
              steps.get("login", 0), steps.get("select", 0),
              steps.get("first", 0), steps.get("polls", 0)))

    bodies = []
    rounds = {}
    rounds[("first", "edomaild")] = bl.full_sync(edo, "lutik", "INBOX",
                                                 args.batch, keep=bodies)
    rounds[("second", "edomaild")] = bl.full_sync(edo, "lutik",
                                                  "INBOX", args.batch)
    imap = bl.Imap(dov.port).login(dov.user)
    app_s = bl.append_all(imap, "INBOX", bodies)
    imap.logout()
    print("dovecot: APPEND of the %d rendered messages (%.1f MB) in %.1f s"
          % (len(bodies), sum(len(b) for b in bodies) / 1e6, app_s))
    rounds[("first", "dovecot")] = bl.full_sync(dov, dov.user, "INBOX",
                                                args.batch)
    rounds[("second", "dovecot")] = bl.full_sync(dov, dov.user,
                                                 "INBOX", args.batch)

    n = len(bodies)
    rows = [["generation (SMTP -> EDO)", gen_s, sent / gen_s, None, None,
             None],
            ["generation: server CPU", gen_cpu, None, None, None, None],
            ["first LOGIN + SELECT (projection)", waited, None, None, None,
             None],
            ["  another session's longest wait meanwhile", stall, None, None,
             None, None]]
    summary.add("EDO generation over SMTP", "letters/s", sent / gen_s)
    summary.add("first SELECT after %d letters" % sent, "s", waited)
    for rnd in ("first", "second"):
        a, b = rounds[(rnd, "edomaild")], rounds[(rnd, "dovecot")]
        for key, label in (("headers_s", "header fetch"),
                           ("bodies_s", "bodies"), ("total_s", "total")):
            rows.append(["%s sync: %s" % (rnd, label), a[key],
                         n / a[key] if a[key] else 0, b[key],
                         n / b[key] if b[key] else 0,
                         bl.ratio(a[key], b[key])])
        rows.append(["%s sync: server CPU" % rnd, a["cpu_s"], None,
                     b["cpu_s"], None, bl.ratio(a["cpu_s"], b["cpu_s"])])
        summary.add("%s EDO INBOX sync %d msgs" % (rnd, n), "s",
                    a["total_s"], b["total_s"])
    bl.report_logs(edo, dov)
    bl.table("imap_edo_sync, %d EDO messages (ratio = edomaild / dovecot "
             "time)" % n, ["step", "edomaild s", "msgs/s", "dovecot s",
                           "msgs/s", "ratio"], rows)
    same = rounds[("first", "edomaild")]["digest"] == \
        rounds[("first", "dovecot")]["digest"]
    print("same content on both: %s; edomaild bodies %d, dovecot bodies %d"
          % ("yes" if same else "NO", rounds[("first", "edomaild")]["bodies"],
             rounds[("first", "dovecot")]["bodies"]))
    return 0 if sent == args.count and not errors and same else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except bl.BenchError as e:
        print("imap_edo_sync: %s" % e, file=sys.stderr)
        sys.exit(2)
