#!/usr/bin/env python3
"""What an ordinary client feels, edomaild against Dovecot, in one run.

- APPEND with a synchronizing literal through Python's imaplib: it sends
  `APPEND folder {n}`, waits for the `+` continuation, then writes the
  literal and the closing CRLF in two writes without TCP_NODELAY (as many
  clients do).  Latency of each APPEND, one at a time.
- SMTP (edomaild only; the private Dovecot has no submission service): a
  client that writes the message after `354` and the final `.` in two
  writes, without TCP_NODELAY; latency from the message to the 250.
- Login-heavy load: K client processes, each in a loop connects, LOGIN,
  SELECT, FETCH of 10 flags, NOOP, LOGOUT (our raw client, one command at
  a time).  Commands per second (all five counted) and LOGIN latency.
  Also against a second Dovecot whose password is stored {PLAIN}: its
  ceiling when a login costs no hashing at all.
"""
import argparse
import imaplib
import multiprocessing as mp
import socket
import sys
import time

import benchlib as bl

FOLDER_EDO = bl.ARCHIVE + "/Client"


def imaplib_appends(srv, user, folder, msgs, create):
    """Every message by imaplib's APPEND; returns the latencies (s)."""
    c = imaplib.IMAP4(bl.HOST, srv.port)
    try:
        c.login(user, bl.PASSWORD)
        if create:
            c.create(bl.quote(folder))
        lat = []
        for m in msgs:
            t = time.perf_counter()
            typ, data = c.append(bl.quote(folder), None, None, m)
            lat.append(time.perf_counter() - t)
            if typ != "OK":
                raise bl.BenchError("imaplib APPEND: %s %s" % (typ, data))
        return lat
    finally:
        try:
            c.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


class SmtpRaw:
    """A plain SMTP client on a socket without TCP_NODELAY."""

    def __init__(self, port):
        self.sock = socket.create_connection((bl.HOST, port), timeout=120)
        self.rf = self.sock.makefile("rb")
        self.reply()

    def reply(self):
        while True:
            line = self.rf.readline()
            if not line:
                raise bl.BenchError("SMTP connection closed")
            if line[3:4] != b"-":
                return int(line[:3]), line

    def cmd(self, line, want):
        self.sock.sendall(line + b"\r\n")
        code, text = self.reply()
        if code != want:
            raise bl.BenchError("SMTP %s -> %s" % (line[:40], text))

    def close(self):
        try:
            self.sock.sendall(b"QUIT\r\n")
            self.reply()
        except (OSError, bl.BenchError):
            pass
        self.sock.close()


def smtp_split_dot(edo, count):
    """count letters, the message and the final dot in two writes; returns
    the latencies (s) from the message to the 250."""
    import base64
    user = "romashka"
    frm, to = edo.demo["ROMASHKA_ADDR"], edo.demo["LUTIK_ADDR"]
    c = SmtpRaw(edo.smtp_port)
    lat = []
    try:
        c.cmd(b"EHLO bench.local", 250)
        auth = base64.b64encode(b"\0" + user.encode() + b"\0" +
                                bl.PASSWORD.encode())
        c.cmd(b"AUTH PLAIN " + auth, 235)
        for i in range(count):
            msg = bl.edo_letter(frm, to, "Письмо %d" % i, "Текст письма.\n",
                                "Счёт %d.pdf" % i, b"%PDF-1.7\n" + bytes(
                                    (i + k) % 256 for k in range(2000)))
            msg = msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            c.cmd(b"MAIL FROM:<%s>" % frm.encode(), 250)
            c.cmd(b"RCPT TO:<%s>" % to.encode(), 250)
            c.cmd(b"DATA", 354)
            t = time.perf_counter()
            c.sock.sendall(msg if msg.endswith(b"\r\n") else msg + b"\r\n")
            c.sock.sendall(b".\r\n")
            code, text = c.reply()
            lat.append(time.perf_counter() - t)
            if code != 250:
                raise bl.BenchError("SMTP DATA -> %s" % text)
    finally:
        c.close()
    return lat


def login_client(port, user, folder, start, duration, out):
    """One process: sessions of LOGIN, SELECT, FETCH, NOOP, LOGOUT."""
    logins, cmds, errors = [], 0, []
    try:
        start.wait(60)
        deadline = time.time() + duration
        while time.time() < deadline:
            imap = bl.Imap(port, timeout=60)
            t = time.perf_counter()
            imap.login(user)
            logins.append(time.perf_counter() - t)
            imap.command("SELECT " + bl.quote(folder))
            imap.command("FETCH 1:10 (UID FLAGS)")
            imap.command("NOOP")
            imap.command("LOGOUT")
            imap.close()
            if time.time() < deadline:
                cmds += 5
    except Exception as e:  # report, never hang the parent
        errors.append(str(e))
    out.put((logins, cmds, errors))


def login_load(srv, user, folder, clients, duration):
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    start = ctx.Barrier(clients + 1)
    procs = [ctx.Process(target=login_client, daemon=True, args=(
        srv.port, user, folder, start, duration, out))
        for _ in range(clients)]
    for p in procs:
        p.start()
    cpu0 = srv.cpu()
    start.wait(60)
    res = [out.get(timeout=duration + 120) for _ in procs]
    cpu = srv.cpu() - cpu0
    for p in procs:
        p.join(10)
    logins = [x for r in res for x in r[0]]
    cmds = sum(r[1] for r in res)
    errors = [e for r in res for e in r[2]]
    return logins, cmds, errors, cpu


def main():
    ap = bl.common_args(argparse.ArgumentParser(description=__doc__),
                        max_seconds=1200)
    ap.add_argument("--appends", type=int, default=1000)
    ap.add_argument("--letters", type=int, default=50)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--duration", type=float, default=20.0)
    args = ap.parse_args()
    if args.quick:
        args.appends = min(args.appends, 100)
        args.letters = min(args.letters, 10)
        args.clients = min(args.clients, 4)
        args.duration = min(args.duration, 5.0)
    bl.setup(args.max_seconds)
    summary = bl.Summary("imap_client", args.summary)
    print("imap_client: %d imaplib APPENDs, %d SMTP letters, %d login "
          "clients x %.0f s; %s" % (args.appends, args.letters, args.clients,
                                    args.duration, bl.conditions()))
    msgs = bl.gen_messages(args.appends)
    edo = bl.Edomail(args.workdir).start()
    dov = bl.Dovecot(args.workdir, auth_cache=True).start()
    plan = [(edo, "romashka", FOLDER_EDO, True),
            (dov, dov.user, "INBOX", False)]
    e, d = "edomaild", "dovecot"
    app, login = {}, {}
    for srv, user, folder, create in plan:
        cpu0 = srv.cpu()
        t0 = time.perf_counter()
        lat = imaplib_appends(srv, user, folder, msgs, create)
        app[srv.name] = (lat, time.perf_counter() - t0, srv.cpu() - cpu0)
        print("%s: %d imaplib APPENDs in %.2f s, p50 %.2f ms" % (
            srv.name, len(lat), app[srv.name][1],
            bl.percentile(lat, 50) * 1000))
    smtp_lat = smtp_split_dot(edo, args.letters)
    print("edomaild: %d SMTP letters, dot apart, p50 %.2f ms" % (
        len(smtp_lat), bl.percentile(smtp_lat, 50) * 1000))
    plain = bl.Dovecot(args.workdir, scheme="PLAIN").start()
    plain.name = "dovecot-plain"
    imap = bl.Imap(plain.port).login(plain.user)
    bl.append_all(imap, "INBOX", msgs[:20])
    imap.logout()
    for srv, user, folder, _ in plan + [(plain, plain.user, "INBOX", 0)]:
        login[srv.name] = login_load(srv, user, folder, args.clients,
                                     args.duration)
        lg, cmds, errs, cpu = login[srv.name]
        print("%s: %d sessions, %.0f commands/s, %d errors" % (
            srv.name, len(lg), cmds / args.duration, len(errs)))
        for x in errs[:5]:
            print("  error: %s" % x)

    rows = []
    for p in (50, 90, 99):
        a = bl.percentile(app[e][0], p) * 1000
        b = bl.percentile(app[d][0], p) * 1000
        rows.append(["imaplib APPEND p%d ms" % p, a, b, bl.ratio(a, b)])
        if p == 50:
            summary.add("imaplib APPEND p50", "ms", a, b)
    rows.append(["imaplib APPEND total s", app[e][1], app[d][1],
                 bl.ratio(app[e][1], app[d][1])])
    rows.append(["imaplib APPEND server CPU s", app[e][2], app[d][2],
                 bl.ratio(app[e][2], app[d][2])])
    for p in (50, 99):
        rows.append(["SMTP message -> 250, dot apart, p%d ms" % p,
                     bl.percentile(smtp_lat, p) * 1000, None, ""])
    pl = "dovecot-plain"
    cps = {n: login[n][1] / args.duration for n in (e, d, pl)}
    rows.append(["login-heavy commands/s", cps[e], cps[d],
                 bl.ratio(cps[e], cps[d])])
    rows.append(["  against Dovecot with {PLAIN} password", cps[e], cps[pl],
                 bl.ratio(cps[e], cps[pl])])
    summary.add("login-heavy commands/s, Dovecot {PLAIN}", "cmd/s", cps[e],
                cps[pl])
    summary.add("login-heavy commands/s (%d clients)" % args.clients,
                "cmd/s", cps[e], cps[d])
    for p in (50, 99):
        a = bl.percentile(login[e][0], p) * 1000
        b = bl.percentile(login[d][0], p) * 1000
        rows.append(["login-heavy LOGIN p%d ms" % p, a, b, bl.ratio(a, b)])
    for q in (50, 99):
        a = bl.percentile(login[e][0], q) * 1000
        b = bl.percentile(login[pl][0], q) * 1000
        rows.append(["  LOGIN p%d ms, Dovecot {PLAIN}" % q, a, b,
                     bl.ratio(a, b)])
    rows.append(["login-heavy server CPU s", login[e][3], login[d][3],
                 bl.ratio(login[e][3], login[d][3])])
    nerr = len(login[e][2]) + len(login[d][2]) + len(login[pl][2])
    rows.append(["errors", len(login[e][2]), len(login[d][2]) +
                 len(login[pl][2]), ""])
    bl.report_logs(edo, dov, plain)
    bl.table("imap_client (ratio = edomaild / dovecot)",
             ["figure", "edomaild", "dovecot", "ratio"], rows)
    return 0 if nerr == 0 else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except bl.BenchError as e:
        print("imap_client: %s" % e, file=sys.stderr)
        sys.exit(2)
