#!/usr/bin/env python3
"""Memory of many IDLE connections, edomaild against Dovecot, in one run.

For each server: after one warm-up login, the memory of the server
process(es) is taken; then N connections log in, SELECT INBOX and IDLE;
the memory is taken again.  edomaild is one process; Dovecot forks one
`imap` process per connection, so its figure is the sum over the master
and every process it forked.  RSS counts shared pages once per process
(what `ps` shows, overstates a forking server); PSS splits shared pages
among the processes that share them (the fair total).

Then one new message (edomaild: an EDO letter from Лютик over SMTP;
Dovecot: an APPEND to INBOX) must wake every idler: how many saw EXISTS
and how long after the 250 / APPEND OK the last one did.
"""
import argparse
import selectors
import smtplib
import sys
import time
from email.message import EmailMessage

import benchlib as bl


def open_idlers(srv, user, n):
    conns = []
    for _ in range(n):
        c = bl.Imap(srv.port, timeout=60).login(user)
        c.select("INBOX")
        c.send(c.tag() + b" IDLE\r\n")
        line, _ = c.read_response()
        if not line.startswith(b"+"):
            raise bl.BenchError("%s: IDLE refused: %r" % (srv.name, line))
        conns.append(c)
    return conns


def close_idlers(conns):
    for c in conns:
        try:
            c.send(b"DONE\r\n")
        except OSError:
            pass
    for c in conns:
        c.logout()


def wait_exists(conns, t_trigger, timeout):
    """Seconds from t_trigger to each idler's EXISTS (a list)."""
    sel = selectors.DefaultSelector()
    for c in conns:
        c.sock.setblocking(False)
        sel.register(c.sock, selectors.EVENT_READ, c)
    seen, got = {}, {}
    deadline = time.time() + timeout
    while len(seen) < len(conns) and time.time() < deadline:
        for key, _ in sel.select(0.2):
            c = key.data
            try:
                data = c.sock.recv(65536)
            except BlockingIOError:
                continue
            if not data:
                sel.unregister(c.sock)
                continue
            got[c] = got.get(c, b"") + data
            if c not in seen and b" EXISTS" in got[c]:
                seen[c] = time.perf_counter() - t_trigger
    sel.close()
    for c in conns:
        c.sock.setblocking(True)
    return list(seen.values())


def trigger_edomail(edo):
    d = edo.demo
    m = EmailMessage()
    m["From"] = d["LUTIK_ADDR"]
    m["To"] = d["ROMASHKA_ADDR"]
    m["Subject"] = "Проверка IDLE"
    m.set_content("Одно письмо будит всех / one letter wakes every idler")
    s = smtplib.SMTP(bl.HOST, edo.smtp_port, timeout=60)
    s.login("lutik", bl.PASSWORD)
    s.send_message(m)
    t = time.perf_counter()
    s.quit()
    return t


def trigger_dovecot(dov, msg):
    c = bl.Imap(dov.port).login(dov.user)
    c.command(bl.Imap.append_cmd("INBOX", msg))
    t = time.perf_counter()
    c.logout()
    return t


def main():
    ap = bl.common_args(argparse.ArgumentParser(description=__doc__),
                        max_seconds=600)
    ap.add_argument("--connections", type=int, default=200)
    args = ap.parse_args()
    if args.quick:
        args.connections = min(args.connections, 20)
    bl.setup(args.max_seconds)
    summary = bl.Summary("imap_idle", args.summary)
    n = args.connections
    print("imap_idle: %d IDLE connections per server; %s" %
          (n, bl.conditions()))

    edo = bl.Edomail(args.workdir).start()
    dov = bl.Dovecot(args.workdir).start()
    msg = bl.gen_messages(1)[0]
    plan = [(edo, "romashka", lambda: trigger_edomail(edo)),
            (dov, dov.user, lambda: trigger_dovecot(dov, msg))]
    res = {}
    for srv, user, trigger in plan:
        warm = bl.Imap(srv.port).login(user)
        warm.select("INBOX")
        warm.logout()
        time.sleep(1.0)
        before = bl.memory(srv.pids())
        nproc_before = len(srv.pids())
        t0 = time.perf_counter()
        conns = open_idlers(srv, user, n)
        setup_s = time.perf_counter() - t0
        time.sleep(2.0)
        after = bl.memory(srv.pids())
        nproc_after = len(srv.pids())
        t = trigger()
        lat = wait_exists(conns, t, 30)
        close_idlers(conns)
        res[srv.name] = {"before": before, "after": after,
                         "procs": (nproc_before, nproc_after),
                         "setup_s": setup_s, "woken": len(lat),
                         "wake_p50": bl.percentile(lat, 50),
                         "wake_max": max(lat) if lat else float("nan")}
        print("%s: %d connections in %.2f s, processes %d -> %d, "
              "RSS %d -> %d KiB, PSS %d -> %d KiB, woken %d/%d" % (
                  srv.name, n, setup_s, nproc_before, nproc_after,
                  before[0], after[0], before[1], after[1], len(lat), n))

    e, d = res["edomaild"], res["dovecot"]
    rows = []
    for idx, what in ((0, "RSS"), (1, "PSS")):
        rows.append(["%s before, MiB" % what, e["before"][idx] / 1024,
                     d["before"][idx] / 1024,
                     bl.ratio(e["before"][idx], d["before"][idx])])
        rows.append(["%s with %d IDLE, MiB" % (what, n),
                     e["after"][idx] / 1024, d["after"][idx] / 1024,
                     bl.ratio(e["after"][idx], d["after"][idx])])
        pe = (e["after"][idx] - e["before"][idx]) / n
        pd = (d["after"][idx] - d["before"][idx]) / n
        rows.append(["%s per connection, KiB" % what, pe, pd,
                     bl.ratio(pe, pd)])
        summary.add("%s per IDLE connection" % what, "KiB", pe, pd)
    rows.append(["processes", e["procs"][1], d["procs"][1], ""])
    rows.append(["login+SELECT+IDLE of all, s", e["setup_s"], d["setup_s"],
                 bl.ratio(e["setup_s"], d["setup_s"])])
    rows.append(["idlers woken by 1 new message", e["woken"], d["woken"], ""])
    rows.append(["wake-up p50, ms", e["wake_p50"] * 1000,
                 d["wake_p50"] * 1000, bl.ratio(e["wake_p50"],
                                                d["wake_p50"])])
    rows.append(["wake-up of the last, ms", e["wake_max"] * 1000,
                 d["wake_max"] * 1000, bl.ratio(e["wake_max"],
                                                d["wake_max"])])
    bl.report_logs(edo, dov)
    bl.table("imap_idle, %d connections (ratio = edomaild / dovecot)" % n,
             ["figure", "edomaild", "dovecot", "ratio"], rows)
    return 0 if e["woken"] == n and d["woken"] == n else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except bl.BenchError as e:
        print("imap_idle: %s" % e, file=sys.stderr)
        sys.exit(2)
