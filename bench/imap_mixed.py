#!/usr/bin/env python3
"""Mixed IMAP load, edomaild against Dovecot, in one run.

N client processes (one connection each) loop for a fixed time over
SELECT, FETCH of the newest headers, FETCH of a body, STORE \\Seen, APPEND,
STORE \\Deleted and EXPUNGE, each in its own folder (so the folder keeps its
size: one APPEND and one EXPUNGE per round).  Every command is an op whose
latency is taken from sending it to its tagged reply.  The servers are
loaded one after the other, never at the same time.
"""
import argparse
import multiprocessing as mp
import random
import re
import sys
import time

import benchlib as bl

OPS = ("select", "fetch-headers", "fetch-body", "store", "append",
       "expunge")
HEADERS = ("(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (From To Cc "
           "Subject Date Message-ID Content-Type)])")


def client(port, user, folder, pool, start, duration, out, seed):
    """One client process: returns {op: [latencies]}, errors."""
    lat = {op: [] for op in OPS}
    errors = []
    rng = random.Random(seed)
    try:
        imap = bl.Imap(port, timeout=60).login(user)
        start.wait(60)
        deadline = time.time() + duration

        def op(name, cmd):
            t = time.perf_counter()
            try:
                status, line, untagged = imap.command(cmd, ok=False)
            except (OSError, bl.BenchError) as e:
                errors.append("%s: %s" % (name, e))
                raise
            if status != b"OK":
                errors.append("%s: %s" % (name, line.decode(
                    "utf-8", "replace").strip()))
                return None
            if time.time() < deadline:   # count only ops inside the window
                lat[name].append(time.perf_counter() - t)
            return untagged

        i = 0
        while time.time() < deadline:
            u = op("select", "SELECT " + bl.quote(folder))
            n = bl.exists_in(u or []) or 0
            if n > 0:
                op("fetch-headers", "FETCH %d:%d %s" %
                   (max(1, n - 19), n, HEADERS))
                op("fetch-body", "FETCH %d BODY.PEEK[]" % rng.randint(1, n))
                op("store", "STORE %d +FLAGS (\\Seen)" % rng.randint(1, n))
            op("append", bl.Imap.append_cmd(folder, pool[i % len(pool)]))
            i += 1
            if n > 0:
                op("store", "STORE 1 +FLAGS (\\Deleted)")
                op("expunge", "EXPUNGE")
        imap.logout()
    except Exception as e:  # report, never hang the parent
        errors.append("client: %s" % e)
    out.put((lat, errors[:5], len(errors)))


def run_load(srv, user, folders, pools, clients, duration):
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    start = ctx.Barrier(clients + 1)
    procs = []
    # Clients log in first, then all start together at the barrier.
    for k in range(clients):
        p = ctx.Process(target=client, args=(
            srv.port, user, folders[k], pools[k], start, duration, out, k),
            daemon=True)
        p.start()
        procs.append(p)
    try:
        start.wait(60)
    except Exception:
        pass
    results = []
    for _ in procs:
        results.append(out.get(timeout=duration + 120))
    for p in procs:
        p.join(10)
        if p.is_alive():
            p.kill()
    lat = {op: [] for op in OPS}
    errs, nerr = [], 0
    for l, e, n in results:
        for op in OPS:
            lat[op].extend(l[op])
        errs.extend(e)
        nerr += n
    return lat, errs, nerr


def main():
    ap = bl.common_args(argparse.ArgumentParser(description=__doc__),
                        max_seconds=900)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--folder-size", type=int, default=100,
                    help="messages in each client's folder")
    args = ap.parse_args()
    if args.quick:
        args.clients = min(args.clients, 4)
        args.duration = min(args.duration, 3.0)
        args.folder_size = min(args.folder_size, 20)
    bl.setup(args.max_seconds)
    summary = bl.Summary("imap_mixed", args.summary)
    print("imap_mixed: %d clients, %.0f s each server, %d messages per "
          "folder; %s" % (args.clients, args.duration, args.folder_size,
                          bl.conditions()))

    msgs = bl.gen_messages(args.folder_size + 40 * args.clients)
    seed_msgs = msgs[:args.folder_size]
    pools = [msgs[args.folder_size + 40 * k:args.folder_size + 40 * (k + 1)]
             for k in range(args.clients)]

    edo = bl.Edomail(args.workdir).start()
    dov = bl.Dovecot(args.workdir).start()
    plan = [(edo, "romashka", bl.ARCHIVE + "/Mixed%d"),
            (dov, dov.user, "Mixed%d")]
    res = {}
    for srv, user, pattern in plan:
        folders = [pattern % k for k in range(args.clients)]
        imap = bl.Imap(srv.port).login(user)
        for f in folders:
            imap.command("CREATE " + bl.quote(f))
            bl.append_all(imap, f, seed_msgs)
        imap.logout()
        cpu0 = srv.cpu()
        lat, errs, nerr = run_load(srv, user, folders, pools,
                                   args.clients, args.duration)
        cpu = srv.cpu() - cpu0
        total = sum(len(v) for v in lat.values())
        res[srv.name] = (lat, errs, nerr, cpu / max(total, 1))
        print("%s: %d ops in %.0f s, %d errors, server CPU %.1f s" % (
            srv.name, total, args.duration, nerr, cpu))
        for e in errs[:5]:
            print("  error: %s" % e)
        if not srv.alive():
            print("  %s DIED during the load" % srv.name)

    e, d = "edomaild", "dovecot"
    rows = []
    allv = {}
    for name in (e, d):
        lat = res[name][0]
        allv[name] = [x for op in OPS for x in lat[op]]
    ops_s = {n: len(allv[n]) / args.duration for n in (e, d)}
    rows.append(["ops/s", ops_s[e], ops_s[d], bl.ratio(ops_s[e], ops_s[d])])
    cpu_e, cpu_d = res[e][3] * 1000, res[d][3] * 1000
    rows.append(["server CPU ms per op", cpu_e, cpu_d, bl.ratio(cpu_e, cpu_d)])
    summary.add("mixed server CPU per op", "ms", cpu_e, cpu_d)
    for p in (50, 99):
        a = bl.percentile(allv[e], p) * 1000
        b = bl.percentile(allv[d], p) * 1000
        rows.append(["all ops p%d ms" % p, a, b, bl.ratio(a, b)])
        summary.add("mixed p%d latency" % p, "ms", a, b)
    summary.add("mixed ops/s (%d clients)" % args.clients, "ops/s",
                ops_s[e], ops_s[d])
    for op in OPS:
        for p in (50, 99):
            a = bl.percentile(res[e][0][op], p) * 1000
            b = bl.percentile(res[d][0][op], p) * 1000
            rows.append(["%s p%d ms" % (op, p), a, b, bl.ratio(a, b)])
    rows.append(["errors", res[e][2], res[d][2], ""])
    bl.report_logs(edo, dov)
    bl.table("imap_mixed, %d clients x %.0f s (ratio = edomaild / dovecot)"
             % (args.clients, args.duration),
             ["figure", "edomaild", "dovecot", "ratio"], rows)
    return 0 if res[e][2] == 0 and res[d][2] == 0 else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except bl.BenchError as e:
        print("imap_mixed: %s" % e, file=sys.stderr)
        sys.exit(2)
