#!/usr/bin/env python3
"""Verified logins are remembered (limits.auth_cache_ttl), as Dovecot's
auth cache does, and that changes nothing a user or an administrator can
see: `edomailctl user passwd` and `user block` (another process writing
the store) take effect at the very next login, a wrong password is never
let in.  A remembered login is answered on the loop, not queued on the
worker pool behind other sessions' password hashing.
"""
import socket
import threading
import time
import unittest

import edomail_harness as h

R_INN = h.ROMASHKA["inn"]
SLOW = tuple("slow%d" % i for i in range(8))


def imap_login(d, login, password, out=None):
    """The tagged reply of LOGIN on a new plain connection (loopback)."""
    s = socket.create_connection(("127.0.0.1", d.ports["imap"]), timeout=120)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    try:
        f.readline()
        s.sendall(b'L LOGIN "%s" "%s"\r\n' % (login.encode(),
                                               password.encode()))
        while True:
            line = f.readline()
            if not line or line.startswith(b"L "):
                break
        if out is not None:
            out.append((time.perf_counter(), login, line))
        return line
    finally:
        f.close()
        s.close()


class LoginCacheTest(h.DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon(extra_env={"DEMO_PLAINTEXT_LOOPBACK": "true"})
        with open(cls.d.conf, "a") as f:
            # no throttling of the wrong passwords tried here
            f.write("limits: { auth_fail_limit = 1000; };\n")
        cls.d.start()
        d = cls.d
        for u in ("cachy",) + SLOW:
            d.ctl("user", "add", u, "--name", "Кэш Тестов", "--password",
                  "pw-" + u)
            d.ctl("member", "add", u, R_INN, "--role", "reader")

    def test_change_and_block_take_effect(self):
        d = self.d
        self.assertIn(b"L OK", imap_login(d, "cachy", "pw-cachy"))
        self.assertIn(b"L OK", imap_login(d, "cachy", "pw-cachy"))
        self.assertIn(b"L NO", imap_login(d, "cachy", "wrong"))
        d.ctl("user", "passwd", "cachy", "--password", "pw-new")
        try:
            self.assertIn(b"L NO", imap_login(d, "cachy", "pw-cachy"))
            self.assertIn(b"L OK", imap_login(d, "cachy", "pw-new"))
            self.assertIn(b"L OK", imap_login(d, "cachy", "pw-new"))
            d.ctl("user", "block", "cachy")
            try:
                self.assertIn(b"L NO", imap_login(d, "cachy", "pw-new"))
            finally:
                d.ctl("user", "unblock", "cachy")
            self.assertIn(b"L OK", imap_login(d, "cachy", "pw-new"))
        finally:
            d.ctl("user", "passwd", "cachy", "--password", "pw-cachy")
        self.assertIn(b"L OK", imap_login(d, "cachy", "pw-cachy"))

    def test_remembered_login_not_queued(self):
        """Eight first logins (PBKDF2 each, on two workers) and, just after,
        a remembered one: it is among the first answered (queued behind
        them, it would come after at least six of them)."""
        d = self.d
        self.assertIn(b"L OK", imap_login(d, "cachy", "pw-cachy"))
        out = []
        threads = [threading.Thread(target=imap_login,
                                    args=(d, u, "pw-" + u, out))
                   for u in SLOW]
        for t in threads:
            t.start()
        time.sleep(0.05)
        imap_login(d, "cachy", "pw-cachy", out)
        for t in threads:
            t.join(120)
        order = [login for _, login, _ in sorted(out)]
        self.assertTrue(all(b"L OK" in line for _, _, line in out), out)
        self.assertLess(order.index("cachy"), 3, order)


if __name__ == "__main__":
    unittest.main()
