#!/usr/bin/env python3
"""The floor under a signed letter's CPU: what the required work costs
on this machine without edomaild (issue 10's ≤ 3 ms goal).

A signed RSA letter with a 100 KB document needs, whatever the code:
  - four RSA-2048 private-key operations: the sender's CMS signature, the
    operator's two confirmations (ПДОТПР, ПДПОЛ) and the recipient's
    receipt (ИоП); `openssl speed rsa2048` gives the cost of one;
  - one SHA-256 of the document (the CMS message digest) and one base64
    decoding of its 137 KB in the mail (Python's hashlib and binascii, both
    C: OpenSSL's SHA-256 and a table decoder);
  - durable storage of what the operator must keep, in SQLite with the
    daemon's settings (WAL, synchronous=FULL, checkpoints every 1000
    pages): one FULL commit with the message, the document, its signature,
    the two confirmations with their signatures, two events and the
    operation id; one FULL commit with the receipt and its signature and
    an event.  Nothing of the mailbox (folders, UIDs, renderings) is
    written: a lower bound.  Python's sqlite3 adds a few microseconds per
    statement, so the figure is slightly above the floor, not below.
The sum is the floor of one letter.  `--daemon` then runs submit_cpu.py
(the daemon's CPU per letter and the `openssl cms -sign` reference) in the
same run, for the side by side of doc/bench.md.
"""
import argparse
import base64
import hashlib
import os
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time

import benchlib as bl
import smtp_submit as ss


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def rsa_sign_ms():
    """One RSA-2048 private-key operation (openssl speed), in ms."""
    out = subprocess.run(["openssl", "speed", "-seconds", "2", "rsa2048"],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"^rsa 2048 bits\s+([0-9.]+)s", out, re.M)
    if m is None:
        raise bl.BenchError("openssl speed: no rsa 2048 line:\n" + out)
    return float(m.group(1)) * 1000


def digest_ms(data, rounds=400):
    """SHA-256 of the document and base64 decoding of its mail form."""
    b64 = base64.encodebytes(data)      # 76-character lines, as in mail
    c0 = cpu()
    for _ in range(rounds):
        hashlib.sha256(data).digest()
    sha = (cpu() - c0) / rounds * 1000
    c0 = cpu()
    for _ in range(rounds):
        base64.decodebytes(b64)
    return sha, (cpu() - c0) / rounds * 1000


SCHEMA = """
CREATE TABLE messages(num INTEGER PRIMARY KEY, id TEXT UNIQUE, box TEXT,
                      created INTEGER);
CREATE TABLE entities(num INTEGER PRIMARY KEY, id TEXT, message_id TEXT,
                      kind INTEGER, data BLOB);
CREATE INDEX entities_message ON entities(message_id);
CREATE TABLE events(num INTEGER PRIMARY KEY, box TEXT, message_id TEXT,
                    created INTEGER);
CREATE INDEX events_box ON events(box, num);
CREATE TABLE operations(box TEXT, op_id TEXT, message_id TEXT,
                        PRIMARY KEY(box, op_id));
"""


def storage_ms(workdir, data, count):
    """CPU per letter of the two FULL commits the operator needs."""
    path = os.path.join(workdir, "floor.db")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA wal_autocheckpoint=1000")
    db.executescript(SCHEMA)
    sig = os.urandom(2500)
    xml = os.urandom(2000)
    receipt = os.urandom(1500)

    def letter(i, doc):
        m = "m%d" % i
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO messages(id, box, created) VALUES (?,?,?)",
                   (m, "to", i))
        for kind, blob in ((0, doc), (1, sig), (2, xml), (1, sig), (2, xml),
                           (1, sig)):
            db.execute("INSERT INTO entities(id, message_id, kind, data) "
                       "VALUES (?,?,?,?)", ("e%d.%d" % (i, kind), m, kind,
                                            blob))
        for box in ("from", "to"):
            db.execute("INSERT INTO events(box, message_id, created) "
                       "VALUES (?,?,?)", (box, m, i))
        db.execute("INSERT INTO operations VALUES (?,?,?)", ("from",
                                                             "op%d" % i, m))
        db.execute("COMMIT")
        db.execute("BEGIN IMMEDIATE")
        for kind, blob in ((3, receipt), (1, sig)):
            db.execute("INSERT INTO entities(id, message_id, kind, data) "
                       "VALUES (?,?,?,?)", ("r%d.%d" % (i, kind), m, kind,
                                            blob))
        db.execute("INSERT INTO events(box, message_id, created) "
                   "VALUES (?,?,?)", ("from", m, i))
        db.execute("COMMIT")

    for i in range(20):                 # warm-up, as the daemon's
        letter(i, ss.stamped(data, i))
    docs = [ss.stamped(data, 1000 + i) for i in range(count)]
    c0 = cpu()
    for i, doc in enumerate(docs):
        letter(1000 + i, doc)
    per = (cpu() - c0) / count * 1000
    db.close()
    return per


def main():
    ap = bl.common_args(argparse.ArgumentParser(description=__doc__),
                        max_seconds=600)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--daemon", action="store_true",
                    help="then run submit_cpu.py --count COUNT")
    args = ap.parse_args()
    if args.quick:
        args.count = min(args.count, 20)
    bl.setup(args.max_seconds)
    tmp = tempfile.mkdtemp(prefix="bench-floor-", dir=args.workdir)
    bl.remove_later(tmp)
    data = ss.attachment()
    rsa = rsa_sign_ms()
    sha, b64 = digest_ms(data)
    store = storage_ms(tmp, data, args.count)
    floor = 4 * rsa + sha + b64 + store
    print("floor of one signed RSA letter, 100 KB (%s):" % bl.conditions())
    print("  4 RSA-2048 signatures  %6.2f ms (%.3f each)" % (4 * rsa, rsa))
    print("  SHA-256 of 100 KB      %6.2f ms" % sha)
    print("  base64 of 137 KB       %6.2f ms" % b64)
    print("  2 FULL commits         %6.2f ms (%d letters)" % (store,
                                                              args.count))
    print("  sum                    %6.2f ms; goal 3 ms leaves %.2f ms for "
          "SMTP, MIME, XML, the mailbox and the renderings" % (
              floor, 3 - floor))
    if args.daemon:
        sys.stdout.flush()
        here = os.path.dirname(os.path.abspath(__file__))
        subprocess.run([sys.executable, os.path.join(here, "submit_cpu.py"),
                        "--count", str(args.count)] +
                       (["--workdir", args.workdir] if args.workdir else []),
                       check=True)


if __name__ == "__main__":
    main()
