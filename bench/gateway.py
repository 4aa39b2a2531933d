#!/usr/bin/env python3
"""The operator over the network (issue 15 section 3): a gateway node
against the embedded one, side by side in one run.

Two daemons: A, the demo with its embedded operator serving the operator
API (operator.api); B, a gateway-only node (operator.driver = "http")
against A's API, with the organization Клевер registered at A and attached
on B (as tests/e2e/test_gateway_node.py sets it up).

- Rate: COUNT signed letters with a 100 KB attachment over K sessions,
  RSA: Ромашка -> Лютик on A (embedded) and Клевер -> Лютик through B
  (every call to the operator over HTTPS), in alternating rounds so that
  the load of a shared machine falls on both alike.  Goal: the gateway at
  least 0.8 of the embedded rate.
- Delivery: the recipient IDLEs on INBOX; letters are sent one at a time,
  the time from the 250 after DATA to the recipient's `* n EXISTS` is
  taken: on one node (A -> A), B -> A (sender on the gateway, recipient
  on the operator node) and A -> B (the gateway's follower long-polls
  GetNewEvents).  Goal: p99 at most 200 ms across the nodes.
"""
import argparse
import os
import sys

import benchlib as bl
import smtp_submit as ss

KLEVER_INN = "7728168971"
KLEVER_KPP = "772801001"


def box_of(node, inn):
    out = node.ctl("org", "show", inn)
    for line in out.splitlines():
        if ":" in line and line.split(":", 1)[0].strip().lower() in (
                "id", "box", "participant id", "идентификатор участника"):
            return line.split(":", 1)[1].strip()
    raise bl.BenchError("no participant id in:\n" + out)


def two_nodes(workdir):
    """A (embedded operator, API on) and B (gateway of Клевер)."""
    api_port = bl.free_port()
    a = bl.Edomail(workdir, extra_env={"DEMO_API_PORT": str(api_port)})
    a.ctl("org", "add", "--name", "ООО Клевер", "--inn", KLEVER_INN,
          "--kpp", KLEVER_KPP)
    token = a.ctl("api", "token", KLEVER_INN).strip()
    a.ctl("invite", KLEVER_INN, a.demo["LUTIK_INN"])
    a.ctl("accept", a.demo["LUTIK_INN"], KLEVER_INN)
    klever = box_of(a, KLEVER_INN)
    a.start()
    b = bl.Edomail(workdir, config_only=True)
    bl.harness.gateway_conf(b.conf, api_port, "%s/demo-ca.crt" % a.dir,
                            timeout=30)
    b.ctl("org", "attach", KLEVER_INN, "--token-file", "-",
          input=token + "\n")
    b.ctl("user", "add", "klever", "--password", bl.PASSWORD)
    b.ctl("member", "add", "klever", KLEVER_INN, "--role", "owner")
    b.ctl("cert", "make", "klever", KLEVER_INN, "--type", "rsa")
    b.start()
    return a, b, "%s@edo.local" % klever


def main():
    ap = bl.common_args(argparse.ArgumentParser(description=__doc__),
                        max_seconds=2400)
    ap.add_argument("--count", type=int, default=100,
                    help="letters per mode and round")
    ap.add_argument("--rounds", type=int, default=2,
                    help="alternating rounds embedded/gateway")
    ap.add_argument("--clients", type=int, default=4,
                    help="concurrent SMTP sessions")
    ap.add_argument("--latency-count", type=int, default=200,
                    help="letters per direction for 250 -> EXISTS")
    ap.add_argument("--only", choices=("embedded", "gateway"),
                    help="run the rate rounds of one mode (to profile it)")
    args = ap.parse_args()
    if args.quick:
        args.count = min(args.count, 10)
        args.rounds = 1
        args.latency_count = min(args.latency_count, 10)
        args.clients = min(args.clients, 2)
    bl.setup(args.max_seconds)
    summary = bl.Summary("gateway", args.summary)
    print("gateway: %d letters with a 100 KB attachment per mode and round, "
          "%d rounds, %d concurrent; latency over %d per direction; %s" % (
              args.count, args.rounds, args.clients, args.latency_count,
              bl.conditions()))
    data = ss.attachment()
    a, b, klever = two_nodes(args.workdir)
    d = a.demo
    modes = (  # name, node, user, from, to
        ("embedded", a, "romashka", d["ROMASHKA_ADDR"], d["LUTIK_ADDR"]),
        ("gateway", b, "klever", klever, d["LUTIK_ADDR"]),
    )
    if args.only:
        modes = tuple(m for m in modes if m[0] == args.only)
    ok = True
    totals = {m[0]: [0, 0.0, 0.0] for m in modes}  # sent, seconds, CPU
    first = 0
    for rnd in range(args.rounds):
        for name, node, user, src, dst in modes:
            cpu0 = a.cpu() + b.cpu()
            secs, lat, errors = ss.submit_many(node, user, src, dst, data,
                                               args.count, args.clients,
                                               first)
            first += args.count
            cpu = a.cpu() + b.cpu() - cpu0
            for e in errors[:5]:
                print("  error: %s" % e)
            ok = ok and not errors
            t = totals[name]
            t[0] += len(lat)
            t[1] += secs
            t[2] += cpu
            print("round %d, %s: %d/%d in %.2f s, %.1f letters/s, CPU "
                  "%.1f ms/letter (A+B), MAIL..250 p50 %.1f ms; load %.2f"
                  % (rnd + 1, name, len(lat), args.count, secs,
                     len(lat) / secs, cpu / max(len(lat), 1) * 1000,
                     bl.percentile(lat, 50) * 1000, os.getloadavg()[0]))
    if args.only:
        return 0 if ok else 1
    rate = {k: v[0] / v[1] for k, v in totals.items()}
    cpu = {k: v[2] / max(v[0], 1) * 1000 for k, v in totals.items()}
    rows = [["letters/s (100 KB, RSA, %d clients)" % args.clients,
             rate["gateway"], rate["embedded"],
             bl.ratio(rate["gateway"], rate["embedded"])],
            ["CPU ms per letter (A+B)", cpu["gateway"], cpu["embedded"],
             bl.ratio(cpu["gateway"], cpu["embedded"])]]
    summary.add("letters/s (100 KB, %d clients)" % args.clients, "msgs/s",
                rate["gateway"], rate["embedded"], other_name="embedded")
    summary.add("CPU per letter, both nodes", "ms", cpu["gateway"],
                cpu["embedded"], other_name="embedded")

    directions = (  # name, sender node, user, watcher node, rcpt, from, to
        ("A->A (one node)", a, "romashka", a, "lutik", d["ROMASHKA_ADDR"],
         d["LUTIK_ADDR"]),
        ("B->A", b, "klever", a, "lutik", klever, d["LUTIK_ADDR"]),
        ("A->B", a, "lutik", b, "klever", d["LUTIK_ADDR"], klever),
    )
    for name, sn, user, wn, rcpt, src, dst in directions:
        lat, missing, extra = ss.delivery_latency(
            sn, user, wn, rcpt, src, dst, data, args.latency_count)
        ok = ok and missing == 0
        print("%s: 250 -> EXISTS over %d letters, %d missing, %d other "
              "EXISTS, %d before the 250; load %.2f" % (
                  name, len(lat), missing, extra,
                  sum(1 for x in lat if x < 0), os.getloadavg()[0]))
        for p in (50, 99):
            v = bl.percentile(lat, p) * 1000
            rows.append(["%s 250->IDLE EXISTS p%d ms" % (name, p), v, None,
                         None])
            summary.add("%s 250->EXISTS p%d" % (name, p), "ms", v)
    bl.report_logs(a, b)
    bl.table("gateway, 100 KB attachment, %d concurrent (ratio = gateway / "
             "embedded; goal >= 0.8; cross-node p99 goal <= 200 ms)" %
             args.clients, ["figure", "gateway (B)", "embedded (A)",
                            "ratio"], rows)
    print("after: %s" % bl.conditions())
    for n, node in (("A", a), ("B", b)):
        if not node.alive():
            print("edomaild %s DIED" % n)
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except bl.BenchError as e:
        print("gateway: %s" % e, file=sys.stderr)
        sys.exit(2)
