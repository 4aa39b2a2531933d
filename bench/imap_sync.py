#!/usr/bin/env python3
"""IMAP full sync, edomaild against Dovecot, in one run.

The same generated messages (deterministic) are APPENDed to a user folder
under the archive on edomaild (Архив/Bench, as `romashka`) and to INBOX of a
private Dovecot (Maildir); the APPEND time is a figure.  Then a first sync
as Thunderbird does it: SELECT, UID FETCH 1:* with the header fields it
asks for, then every body with UID FETCH n BODY.PEEK[] pipelined in groups
of 100.  A second sync follows (caches warm).  The digest of the bodies
shows both servers returned the same bytes.
"""
import argparse
import sys
import time

import benchlib as bl

FOLDER_EDO = bl.ARCHIVE + "/Bench"


def main():
    ap = bl.common_args(argparse.ArgumentParser(description=__doc__),
                        max_seconds=1800)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=100,
                    help="bodies per pipelined group")
    args = ap.parse_args()
    if args.quick:
        args.count = min(args.count, 300)
    bl.setup(args.max_seconds)
    summary = bl.Summary("imap_sync", args.summary)
    print("imap_sync: %d messages, bodies in pipelined groups of %d; %s" %
          (args.count, args.batch, bl.conditions()))

    t0 = time.perf_counter()
    msgs = bl.gen_messages(args.count)
    size = sum(len(m) for m in msgs)
    print("generated %d messages, %.1f MB (%.1f KB average, %d with an "
          "attachment) in %.1f s" % (
              len(msgs), size / 1e6, size / len(msgs) / 1e3,
              sum(1 for m in msgs if b"multipart/mixed" in m),
              time.perf_counter() - t0))

    edo = bl.Edomail(args.workdir).start()
    dov = bl.Dovecot(args.workdir).start()
    servers = [(edo, "romashka", FOLDER_EDO), (dov, dov.user, "INBOX")]

    append, append_cpu = {}, {}
    for srv, user, folder in servers:
        imap = bl.Imap(srv.port).login(user)
        if folder != "INBOX":
            imap.command("CREATE " + bl.quote(folder))
        cpu0 = srv.cpu()
        append[srv.name] = bl.append_all(imap, folder, msgs)
        append_cpu[srv.name] = srv.cpu() - cpu0
        imap.logout()
        print("%s: APPEND %d in %.2f s (server CPU %.2f s)" % (
            srv.name, len(msgs), append[srv.name], append_cpu[srv.name]))

    rounds = {}
    for rnd in ("first", "second"):
        for srv, user, folder in servers:
            r = bl.full_sync(srv, user, folder, args.batch)
            rounds[(rnd, srv.name)] = r
            print("%s %s sync: %d headers, %d bodies, %.1f MB in %.2f s "
                  "(server CPU %.2f s)" % (
                      srv.name, rnd, r["headers"], r["bodies"],
                      r["bytes"] / 1e6, r["total_s"], r["cpu_s"]))

    e, d = "edomaild", "dovecot"
    rows = []
    n = len(msgs)
    rows.append(["APPEND (pipelined, 50)", append[e], n / append[e],
                 append[d], n / append[d], bl.ratio(append[e], append[d])])
    rows.append(["APPEND: server CPU", append_cpu[e], None, append_cpu[d],
                 None, bl.ratio(append_cpu[e], append_cpu[d])])
    summary.add("APPEND %d msgs" % n, "s", append[e], append[d])
    for rnd in ("first", "second"):
        re_, rd = rounds[(rnd, e)], rounds[(rnd, d)]
        for key, label in (("headers_s", "header fetch"),
                           ("bodies_s", "bodies"), ("total_s", "total")):
            rows.append(["%s sync: %s" % (rnd, label), re_[key],
                         n / re_[key] if re_[key] else 0, rd[key],
                         n / rd[key] if rd[key] else 0,
                         bl.ratio(re_[key], rd[key])])
        rows.append(["%s sync: server CPU" % rnd, re_["cpu_s"], None,
                     rd["cpu_s"], None, bl.ratio(re_["cpu_s"], rd["cpu_s"])])
        summary.add("%s full sync %d msgs" % (rnd, n), "s", re_["total_s"],
                    rd["total_s"])
        summary.add("%s full sync %d msgs, server CPU" % (rnd, n), "s",
                    re_["cpu_s"], rd["cpu_s"])
    bl.report_logs(edo, dov)
    bl.table("imap_sync (ratio = edomaild / dovecot time; < 1 means "
             "edomaild is faster)",
             ["step", "edomaild s", "msgs/s", "dovecot s", "msgs/s", "ratio"],
             rows)
    ok = True
    for rnd in ("first", "second"):
        re_, rd = rounds[(rnd, e)], rounds[(rnd, d)]
        same = re_["digest"] == rd["digest"]
        print("%s sync: %d/%d bodies, bytes %d/%d, same content: %s" % (
            rnd, re_["bodies"], rd["bodies"], re_["bytes"], rd["bytes"],
            "yes" if same else "NO"))
        if re_["bodies"] != n or rd["bodies"] != n:
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except bl.BenchError as e:
        print("imap_sync: %s" % e, file=sys.stderr)
        sys.exit(2)
