#!/usr/bin/env python3
"""Daemon CPU per signed RSA submission, background work included.

smtp_submit.py reads the daemon's CPU when the last 250 arrives; the
receipts (ИоП) and the pre-rendering of Sent and INBOX still run after it.
This one sends COUNT letters (100 KB attachment, Ромашка -> Лютик, 4
sessions) after a warm-up of 8, waits until the daemon's CPU stops growing
and divides all of it by COUNT.  `--runs N` repeats that N times on the
same daemon and reports the median; each run is followed by COUNT `openssl
cms -sign` processes of the same file with an RSA-2048 key (the reference,
CPU of the processes per signature), so that both are measured under the
same load of a shared machine.  `--perf-ready FILE`: after the warm-up,
write the daemon's pid to FILE and wait 1 s (to attach `perf record -p`).
"""
import argparse
import os
import statistics
import tempfile
import time

import benchlib as bl
import smtp_submit as ss


def main():
    ap = bl.common_args(argparse.ArgumentParser(description=__doc__),
                        max_seconds=600)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--perf-ready", metavar="FILE")
    args = ap.parse_args()
    if args.quick:
        args.count = min(args.count, 10)
    bl.setup(args.max_seconds)
    edo = bl.Edomail(args.workdir).start()
    d = edo.demo
    data = ss.attachment()
    kind, user, src, dst = ss.DIRECTIONS[0]
    ss.submit_many(edo, user, d[src], d[dst], data, 8, 2,    # warm-up
                   first=1000000)
    time.sleep(1.0)
    if args.perf_ready:
        with open(args.perf_ready + ".tmp", "w") as f:
            f.write(str(edo.proc.pid))
        os.rename(args.perf_ready + ".tmp", args.perf_ready)
        time.sleep(1.0)
    tmp = tempfile.mkdtemp(prefix="bench-sign-", dir=args.workdir)
    bl.on_cleanup(lambda: __import__("shutil").rmtree(tmp, True))
    path = os.path.join(tmp, "doc.pdf")
    with open(path, "wb") as f:
        f.write(data)
    ss.make_keys(tmp)
    per, refs = [], []
    for run in range(args.runs):
        c0 = edo.cpu()
        secs, lat, errors = ss.submit_many(edo, user, d[src], d[dst], data,
                                           args.count, args.clients,
                                           first=run * args.count)
        during = edo.cpu() - c0
        prev = edo.cpu()
        while True:
            time.sleep(0.5)
            cur = edo.cpu()
            if cur - prev < 0.01:
                break
            prev = cur
        total = cur - c0
        _, fails, fl_cpu = ss.openssl_sign(tmp, kind, path, args.count,
                                           args.clients)
        ref = fl_cpu / max(args.count - fails, 1) * 1000
        per.append(total / args.count * 1000)
        refs.append(ref)
        print("%s run %d: %d letters in %.2f s (%.1f/s), errors %d; daemon "
              "CPU per letter: %.2f ms until the last 250, %.2f ms with the "
              "background work; openssl cms -sign %.2f ms CPU each; %s" % (
                  kind, run + 1, len(lat), secs, len(lat) / secs,
                  len(errors), during / args.count * 1000, per[-1], ref,
                  bl.conditions()))
    print("%s median of %d run(s): %.2f ms daemon CPU per letter (runs: %s);"
          " openssl cms -sign %.2f ms" % (
              kind, args.runs, statistics.median(per),
              " ".join("%.2f" % x for x in per), statistics.median(refs)))
    bl.report_logs(edo)


if __name__ == "__main__":
    main()
