#!/usr/bin/env python3
"""Latency a real client feels: no delayed-ACK stall in the middle of a
command.

Most clients (Python's imaplib among them) send an IMAP literal and the
CRLF after it in two writes without TCP_NODELAY, and many SMTP clients the
message and its final dot likewise: Nagle holds the second write until the
first is ACKed.  Linux delays that ACK by 40 ms unless the server ACKs at
once, which made every synchronizing APPEND take 40 ms more than Dovecot.
The test measures, from the client's side, how long the server leaves the
literal (the message) unacknowledged: the bytes in the client's send queue
(TIOCOUTQ) must reach 0 well before a delayed ACK would come.  The time is
what the server needs to read a few KB, not to store anything, so the
bound holds under ASan on a loaded machine.
"""
import base64
import fcntl
import socket
import statistics
import struct
import termios
import time
import unittest

import edomail_harness as h
from edomail_harness import utf7_encode as u7

# A delayed ACK comes after 40 ms at the least (TCP_DELACK_MIN).
BOUND = 0.030
TRIALS = 7


def unacked(sock):
    """Bytes the client sent that the server has not ACKed yet."""
    buf = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, struct.pack("i", 0))
    return struct.unpack("i", buf)[0]


def ack_wait(sock, timeout=2.0):
    """Seconds until everything sent is ACKed."""
    t0 = time.perf_counter()
    while unacked(sock) > 0:
        if time.perf_counter() - t0 > timeout:
            break
        time.sleep(0.0005)
    return time.perf_counter() - t0


def message(i, size=3000):
    body = ("Строка письма номер %d для проверки задержки.\r\n" % i) * (
        size // 80)
    return ("From: a@example.ru\r\nTo: b@example.ru\r\nSubject: lat %d\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n%s" % (i, body)).encode()


class Conn:
    """A plain socket without TCP_NODELAY, the way imaplib/smtplib open
    theirs."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.rf = self.sock.makefile("rb")

    def line(self):
        ln = self.rf.readline()
        if not ln:
            raise AssertionError("connection closed")
        return ln

    def until(self, prefix):
        while True:
            ln = self.line()
            if ln.startswith(prefix):
                return ln

    def close(self):
        self.rf.close()
        self.sock.close()


class LatencyTest(h.DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        # plain IMAP/SMTP on loopback: TIOCOUTQ counts TCP bytes
        cls.d = h.Daemon(extra_env={"DEMO_PLAINTEXT_LOOPBACK": "true"})
        cls.d.start()

    def test_imap_literal_acked_at_once(self):
        c = Conn(self.d.ports["imap"])
        try:
            c.line()
            c.sock.sendall(b'a LOGIN romashka "%s"\r\n' % h.PASSWORD.encode())
            self.assertIn(b"a OK", c.until(b"a "))
            folder = u7("Архив/Задержка").encode()
            c.sock.sendall(b'b CREATE "%s"\r\n' % folder)
            self.assertIn(b"b OK", c.until(b"b "))
            waits = []
            for i in range(TRIALS):
                msg = message(i)
                tag = b"t%d" % i
                c.sock.sendall(b'%s APPEND "%s" {%d}\r\n' % (
                    tag, folder, len(msg)))
                self.assertTrue(c.line().startswith(b"+"))
                c.sock.sendall(msg)
                waits.append(ack_wait(c.sock))
                c.sock.sendall(b"\r\n")
                self.assertIn(tag + b" OK", c.until(tag + b" "))
        finally:
            c.close()
        # the first ones may be ACKed at once by the kernel's quick-ACK
        # start of a connection; the median is what a client lives with
        self.assertLess(statistics.median(waits), BOUND, waits)

    def test_smtp_message_acked_at_once(self):
        frm = self.d.addr(h.ROMASHKA["inn"])
        to = self.d.addr(h.LUTIK["inn"])
        c = Conn(self.d.ports["submission"])
        waits = []
        try:
            c.line()
            c.sock.sendall(b"EHLO test.local\r\n")
            c.until(b"250 ")
            auth = base64.b64encode(b"\0romashka\0" + h.PASSWORD.encode())
            c.sock.sendall(b"AUTH PLAIN " + auth + b"\r\n")
            self.assertTrue(c.line().startswith(b"235"))
            for i in range(5):
                c.sock.sendall(b"MAIL FROM:<%s>\r\n" % frm.encode())
                self.assertTrue(c.line().startswith(b"250"))
                c.sock.sendall(b"RCPT TO:<%s>\r\n" % to.encode())
                self.assertTrue(c.line().startswith(b"250"))
                c.sock.sendall(b"DATA\r\n")
                self.assertTrue(c.line().startswith(b"354"))
                msg = message(i).replace(b"To: b@example.ru",
                                         b"To: <%s>" % to.encode())
                msg = msg.replace(b"From: a@example.ru",
                                  b"From: <%s>" % frm.encode())
                c.sock.sendall(msg + b"\r\n")
                waits.append(ack_wait(c.sock))
                c.sock.sendall(b".\r\n")
                reply = c.line()
                self.assertTrue(reply.startswith(b"250"), reply)
        finally:
            c.close()
        self.assertLess(statistics.median(waits), BOUND, waits)


if __name__ == "__main__":
    unittest.main()
