#!/usr/bin/env python3
"""Data at rest and names (issue 12, items 10 and 13).

Files at rest: a fresh daemon makes its store, WAL, -shm, node key and the
operator's key and certificate 0600; it refuses to start (a bilingual line
naming the file and the chmod to run) when the store, its WAL or a key is
readable by others; a TLS key of 0640 (the ssl-cert group convention) is
accepted, 0644 is not.

Names: a NUL inside a literal mailbox name is BAD (it used to cut the name:
"Архив/nul\\0name" created "Архив/nul"); levels "." and ".." are NO
[CANNOT] for CREATE, RENAME, SELECT, APPEND, and nothing is created.
"""
import hashlib
import os
import signal
import socket
import ssl
import stat
import subprocess
import time
import unittest

import edomail_harness as h
from edomail_harness import utf7_encode as u7

ARCHIVE = "Архив"


def read(path):
    with open(path) as f:
        return f.read()


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


class FilesAtRest(unittest.TestCase):
    def setUp(self):
        self.d = h.Daemon(demo=False)

    def tearDown(self):
        rc, sanitizer, log = self.d.cleanup()
        self.assertFalse(sanitizer, log)

    def private_files(self):
        """What the daemon itself made: the store and the keys."""
        out = []
        for root, dirs, files in os.walk(self.d.dir):
            for f in files:
                if f.startswith("edomail.db") or f.endswith(".key") and \
                        f != "tls.key" or root.endswith("operator"):
                    out.append(os.path.join(root, f))
        return out

    def populate(self):
        """An organization, a user and a certificate: the store gets its
        WAL, edomailctl makes the node key (which seals the user's key)."""
        self.d.ctl("org", "add", "--name", "ООО Ромашка", "--inn",
                   h.ROMASHKA["inn"], "--kpp", h.ROMASHKA["kpp"])
        self.d.ctl("user", "add", "romashka", "--name", "Пётр",
                   input=h.PASSWORD + "\n")
        self.d.ctl("member", "add", "romashka", h.ROMASHKA["inn"], "--role",
                   "owner")
        self.d.ctl("cert", "make", "romashka", h.ROMASHKA["inn"], "--type",
                   "rsa")

    def start_fails(self):
        with self.assertRaises(RuntimeError) as cm:
            self.d.start(timeout=30)
        self.d.proc = None
        return str(cm.exception)

    def test_fresh_daemon_makes_0600(self):
        self.d.start()
        # A write makes the WAL and -shm; the operator's key is made in the
        # background on a fresh store: wait for it.
        self.populate()
        files = []
        for _ in range(200):
            files = self.private_files()
            names = {os.path.basename(f) for f in files}
            if {"edomail.db", "edomail.db-wal", "edomail.db-shm", "node.key",
                    "operator.key", "operator.crt"} <= names:
                break
            h.time.sleep(0.1)
        names = {os.path.basename(f) for f in files}
        self.assertLessEqual({"edomail.db", "edomail.db-wal", "node.key",
                              "operator.key", "operator.crt"}, names)
        for f in files:
            self.assertEqual(mode(f), 0o600, f)
        self.assertEqual(self.d.stop(), 0)

    def test_refuses_readable_store(self):
        self.d.start()
        self.assertEqual(self.d.stop(), 0)
        db = os.path.join(self.d.dir, "edomail.db")
        os.chmod(db, 0o644)
        err = self.start_fails()
        self.assertIn("chmod 600 " + db, err)
        self.assertIn("запуск отменён", err)
        self.assertIn("refusing to start", err)
        self.assertIn("readable by group or others (mode 0644)", err)
        os.chmod(db, 0o640)		# group: refused as well
        self.assertIn("mode 0640", self.start_fails())
        os.chmod(db, 0o600)
        self.d.start()

    def test_refuses_readable_keys(self):
        self.d.start()
        self.populate()
        self.assertEqual(self.d.stop(), 0)
        node = os.path.join(self.d.dir, "node.key")
        os.chmod(node, 0o644)
        self.assertIn("chmod 600 " + node, self.start_fails())
        os.chmod(node, 0o600)
        op = os.path.join(self.d.dir, "operator", "operator.key")
        if os.path.exists(op):
            os.chmod(op, 0o604)
            self.assertIn("chmod 600 " + op, self.start_fails())
            os.chmod(op, 0o600)
        tls = os.path.join(self.d.dir, "tls.key")
        os.chmod(tls, 0o644)
        err = self.start_fails()
        self.assertIn("chmod 640 " + tls, err)
        self.assertIn("readable by others (mode 0644)", err)
        os.chmod(tls, 0o640)	# the ssl-cert group convention
        self.d.start()


class Names(h.DaemonTestCase):
    def raw(self):
        c = self.d.imap("romashka")
        self.addCleanup(c.logout)
        return c

    def names(self, c):
        typ, data = c.list('""', "*")
        return b"\n".join(x for x in data if x)

    def send_literal(self, c, cmd, name, rest=b""):
        """cmd {n}\\r\\n name rest: returns the tagged answer."""
        tag = c._new_tag()
        c.send(tag + b" " + cmd + b" {%d}\r\n" % len(name))
        line = c.readline()
        self.assertTrue(line.startswith(b"+"), line)
        c.send(name + rest + b"\r\n")
        while True:
            line = c.readline()
            if line.startswith(tag + b" "):
                return line

    def test_nul_in_literal(self):
        c = self.raw()
        name = u7(ARCHIVE + "/nul").encode() + b"\x00name"
        for cmd, rest in ((b"CREATE", b""), (b"SELECT", b""),
                          (b"DELETE", b""), (b"STATUS", b" (MESSAGES)")):
            ans = self.send_literal(c, cmd, name, rest)
            self.assertIn(b" BAD ", ans, cmd)
            self.assertIn(b"NUL", ans)
        self.assertNotIn(u7(ARCHIVE + "/nul").encode(), self.names(c))
        # the session goes on
        self.assertEqual(c.noop()[0], "OK")

    def test_dot_levels(self):
        c = self.raw()
        for name in (".", "..", ARCHIVE + "/.", ARCHIVE + "/..",
                     ARCHIVE + "/a/../b", ARCHIVE + "/../INBOX",
                     ARCHIVE + "/./x", "../" + ARCHIVE):
            q = '"%s"' % u7(name)
            typ, data = c.create(q)
            self.assertEqual(typ, "NO", name)
            self.assertIn(b"[CANNOT]", data[0], name)
            typ, data = c.select(q)
            self.assertEqual(typ, "NO", name)
            typ, data = c.append(q, None, None, b"Subject: x\r\n\r\nx\r\n")
            self.assertEqual(typ, "NO", name)
        # a dot inside a level is an ordinary name
        self.assertEqual(c.create('"%s"' % u7(ARCHIVE + "/ok2.d"))[0], "OK")
        typ, data = c.rename('"%s"' % u7(ARCHIVE + "/ok2.d"),
                             '"%s"' % u7(ARCHIVE + "/.."))
        self.assertEqual(typ, "NO")
        listed = self.names(c)
        for bad in (b'/.."', b'/."', b'/a/', b'/b"', b'/x"'):
            self.assertNotIn(bad, listed)
        self.assertIn(u7(ARCHIVE + "/ok2.d").encode(), listed)


DRAFTS = "Черновики"


class Quota(h.DaemonTestCase):
    """Per-user storage quota: NO [OVERQUOTA] on APPEND and COPY, deleting
    works and frees it, GETQUOTAROOT/GETQUOTA answer, another user of the
    same organization is not affected."""

    def msg(self, n, size=20000):
        body = ("x" * 76 + "\r\n") * (size // 78)
        return ("From: viewer@edo.local\r\nSubject: draft %d\r\n\r\n%s"
                % (n, body)).encode()

    def test_quota(self):
        r = self.d.ctl("user", "quota", "viewer", "64K")
        self.assertIn("quota 64 KB", r.stdout)
        c = self.d.imap("viewer")
        self.addCleanup(c.logout)
        typ, caps = c.capability()
        self.assertIn(b"QUOTA=RES-STORAGE", caps[0])
        drafts = '"%s"' % u7(DRAFTS)
        results = [c.append(drafts, None, None, self.msg(i))
                   for i in range(4)]
        self.assertEqual([t for t, _ in results], ["OK", "OK", "OK", "NO"])
        self.assertIn(b"[OVERQUOTA]", results[3][1][0])
        typ, data = c.getquotaroot("INBOX")
        self.assertEqual(typ, "OK")
        flat = b" ".join(x if isinstance(x, bytes) else b"" for x in
                         sum(data, []))
        self.assertIn(b'INBOX ""', flat)
        self.assertRegex(flat, rb'"" \(STORAGE (5[89]|6[0-4]) 64\)')
        typ, data = c.getquota('""')
        self.assertEqual(typ, "OK")
        self.assertRegex(data[0], rb'"" \(STORAGE \d+ 64\)')
        self.assertEqual(c.getquota('"other"')[0], "NO")
        self.assertEqual(c._simple_command(
            "SETQUOTA", '""', "(STORAGE 1000000)")[0], "NO")
        # COPY of ordinary mail counts too
        self.assertEqual(c.select(drafts)[0], "OK")
        typ, data = c.copy("1", drafts)
        self.assertEqual(typ, "NO")
        self.assertIn(b"[OVERQUOTA]", data[0])
        # another member of Ромашка is not affected
        o = self.d.imap("romashka")
        self.assertEqual(o.append(drafts, None, None, self.msg(9))[0], "OK")
        o.logout()
        # deleting works and frees the quota
        c.store("1:2", "+FLAGS", "(\\Deleted)")
        self.assertEqual(c.expunge()[0], "OK")
        self.assertEqual(c.append(drafts, None, None, self.msg(5))[0], "OK")
        # no quota for this user: no root
        r = self.d.ctl("user", "quota", "viewer", "none")
        self.assertIn("none", r.stdout)
        typ, data = c.getquotaroot("INBOX")
        self.assertEqual(typ, "OK")
        self.assertNotIn(b"STORAGE", b" ".join(
            x for x in sum(data, []) if isinstance(x, bytes)))
        self.assertEqual(c.append(drafts, None, None, self.msg(6))[0], "OK")
        r = self.d.ctl("user", "quota", "viewer", "default")
        self.assertIn("default", r.stdout)
        self.assertEqual(self.d.ctl("user", "quota", "viewer", "12X",
                                    check=False).returncode, 2)


class Reload(unittest.TestCase):
    """SIGHUP: configuration and TLS certificate for new connections; open
    sessions go on; a broken file keeps the old configuration."""

    def setUp(self):
        self.d = h.Daemon()
        self.d.start()

    def tearDown(self):
        rc, sanitizer, log = self.d.cleanup()
        self.assertFalse(sanitizer, log)
        self.assertEqual(rc, 0, log)

    def fingerprint(self, port_name="imaps"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1",
                                       self.d.ports[port_name])) as s:
            with ctx.wrap_socket(s) as t:
                return hashlib.sha256(t.getpeercert(True)).hexdigest()

    def hup_and_wait(self, text):
        since = len(self.d.log())
        self.d.proc.send_signal(signal.SIGHUP)
        for _ in range(300):
            if text in self.d.log()[since:]:
                return self.d.log()[since:]
            time.sleep(0.05)
        self.fail("no %r after SIGHUP:\n%s" % (text, self.d.log()[since:]))

    def new_cert(self):
        tmp = os.path.join(self.d.dir, "new")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-days", "30", "-subj", "/CN=localhost",
                        "-keyout", tmp + ".key", "-out", tmp + ".crt"],
                       check=True, capture_output=True)
        os.chmod(tmp + ".key", 0o600)
        os.replace(tmp + ".key", os.path.join(self.d.dir, "tls.key"))
        os.replace(tmp + ".crt", os.path.join(self.d.dir, "tls.crt"))
        # the new certificate is self-signed: clients of the test trust it
        # instead of the demo CA from now on
        self.d.cafile = os.path.join(self.d.dir, "tls.crt")

    def test_hup_reloads_cert_keeps_sessions(self):
        old_fp = self.fingerprint()
        c = self.d.imap("romashka", mode="ssl")
        self.assertEqual(c.select("INBOX")[0], "OK")
        self.new_cert()
        log = self.hup_and_wait("configuration reloaded")
        new_fp = self.fingerprint()
        self.assertNotEqual(old_fp, new_fp)
        self.assertEqual(new_fp, self.fingerprint("imaps"))
        self.assertEqual(new_fp, self.fingerprint("submissions"))
        self.assertIn(":".join(new_fp[i:i + 2].upper()
                               for i in range(0, 64, 2)), log)
        self.assertIn("конфигурация перечитана", log)
        # the session opened before goes on
        self.assertEqual(c.noop()[0], "OK")
        self.assertEqual(c.select("INBOX")[0], "OK")
        c.logout()
        # STARTTLS and login on a new connection (the new tls.crt is the CA)
        c = self.d.imap("romashka", mode="starttls")
        self.assertEqual(c.select("INBOX")[0], "OK")
        c.logout()

    def test_hup_broken_keeps_old(self):
        fp = self.fingerprint()
        conf = read(self.d.conf)
        with open(self.d.conf, "a") as f:
            f.write("limits: { no_such_key = 1; };\n")
        log = self.hup_and_wait("configuration not reloaded")
        self.assertIn("конфигурация не перечитана, действует прежняя", log)
        self.assertIn("no_such_key", log)
        self.assertEqual(fp, self.fingerprint())
        # a broken certificate: the old context stays as well
        with open(self.d.conf, "w") as f:
            f.write(conf)
        crt = os.path.join(self.d.dir, "tls.crt")
        good = read(crt)
        with open(crt, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nbroken\n")
        log = self.hup_and_wait("TLS certificate not loaded")
        self.assertIn("сертификат TLS не загружен", log)
        self.assertEqual(fp, self.fingerprint())
        with open(crt, "w") as f:
            f.write(good)
        # a runtime key applies, a listen port needs a restart
        conf2 = conf.replace('log: { level = "info"; };',
                             'log: { level = "info"; };\n'
                             'limits: { idle_timeout = 600; };')
        conf2 = conf2.replace("port = %d;" % self.d.ports["imap"],
                              "port = %d;" % h.free_port())
        with open(self.d.conf, "w") as f:
            f.write(conf2)
        log = self.hup_and_wait("configuration reloaded")
        self.assertIn("limits.idle_timeout: новое значение действует / new "
                      "value in effect", log)
        self.assertIn("server.imap changed, needs a restart", log)
        c = self.d.imap("romashka")	# the old port still serves
        self.assertEqual(c.noop()[0], "OK")
        c.logout()


if __name__ == "__main__":
    h.main()
