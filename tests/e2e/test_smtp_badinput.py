"""Bad input at the end of DATA: malformed MIME, libetpan's known crashers,
over-size messages, 8-bit headers, bare LF, NUL octets.  Each gets a clear
answer; the daemon survives; nothing is half-sent."""
import os

from edomail_harness import Daemon, DaemonTestCase, main
from test_smtp_session import (L_INN, R_INN, ctl_messages, edo_id, imap_wait,
                               by_edo_id, raw_session)

MAX_MESSAGE = 1024 * 1024


class SmtpBadInput(DaemonTestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(language=cls.language)
        with open(cls.d.conf, "a") as f:
            f.write('limits: { max_message = "1M"; command_timeout = 3; };\n')
        cls.d.start()

    def transaction(self, body, login="romashka"):
        """MAIL, RCPT, DATA with body sent as is, then the end marker;
        returns (code, text) of the end of data."""
        d = self.d
        s = raw_session(d, login)
        try:
            self.assertEqual(s.cmd("MAIL FROM:<%s>" % d.addr(R_INN))[0], 250)
            self.assertEqual(s.cmd("RCPT TO:<%s>" % d.addr(L_INN))[0], 250)
            self.assertEqual(s.cmd("DATA")[0], 354)
            s.send(body + b"\r\n.\r\n")
            code, text = s.reply()
            # The session stays usable after any refusal.
            self.assertEqual(s.cmd("NOOP")[0], 250)
            return code, text
        finally:
            s.close()

    def headers(self, subject="Проверка", extra=b""):
        d = self.d
        return (b"From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
                b"Message-ID: <%s@client.example>\r\n" %
                (d.addr(R_INN).encode(), d.addr(L_INN).encode(),
                 subject.encode(), os.urandom(8).hex().encode())) + extra

    def refused(self, body, code_prefix="5"):
        before = len(ctl_messages(self.d, L_INN))
        code, text = self.transaction(body)
        self.assertTrue(str(code).startswith(code_prefix), (code, text))
        self.assertIn(" / ", text, "Russian / English")
        self.assertEqual(len(ctl_messages(self.d, L_INN)), before,
                         "nothing half-sent")
        return code, text

    def test_boundary_quote_crasher(self):
        body = self.headers(extra=b'MIME-Version: 1.0\r\n'
                            b'Content-Type: multipart/mixed; boundary="\\""\r\n'
                            b'\r\n--"\r\nContent-Type: text/plain\r\n\r\nx\r\n--"--')
        code, text = self.refused(body)
        self.assertIn("5.6.0", text)

    def test_deep_rfc822_nesting(self):
        inner = b"Subject: leaf\r\n\r\nleaf\r\n"
        for i in range(60):
            inner = (b"Subject: level %d\r\nMIME-Version: 1.0\r\n"
                     b"Content-Type: message/rfc822\r\n\r\n" % i) + inner
        body = self.headers(extra=b"MIME-Version: 1.0\r\n"
                            b"Content-Type: message/rfc822\r\n\r\n") + inner
        code, text = self.refused(body)
        self.assertIn("5.6.0", text)

    def test_malformed_mime(self):
        # A multipart that never closes and has a broken base64 part.
        body = self.headers(extra=b'MIME-Version: 1.0\r\n'
                            b'Content-Type: multipart/mixed; boundary="b1"\r\n'
                            b'\r\n--b1\r\nContent-Type: application/pdf\r\n'
                            b'Content-Transfer-Encoding: base64\r\n'
                            b'Content-Disposition: attachment; filename="a.pdf"\r\n'
                            b'\r\n@@@@ not base64 @@@@\r\n')
        before = len(ctl_messages(self.d, L_INN))
        code, text = self.transaction(body)
        # Either understood leniently or refused clearly.
        self.assertIn(code, (250, 550), text)
        self.assertIn(" / ", text)
        if code == 550:
            self.assertEqual(len(ctl_messages(self.d, L_INN)), before)

    def test_no_header_at_all(self):
        code, text = self.refused(b"just some text without headers")
        self.assertIn(code, (550, 553))

    def test_oversize(self):
        d = self.d
        before = len(ctl_messages(d, L_INN))
        s = raw_session(d, "romashka")
        code, text = s.cmd("MAIL FROM:<%s> SIZE=%d" % (d.addr(R_INN),
                                                        MAX_MESSAGE + 1))
        self.assertEqual(code, 552, text)
        self.assertEqual(s.cmd("MAIL FROM:<%s>" % d.addr(R_INN))[0], 250)
        self.assertEqual(s.cmd("RCPT TO:<%s>" % d.addr(L_INN))[0], 250)
        self.assertEqual(s.cmd("DATA")[0], 354)
        line = b"A" * 76 + b"\r\n"
        s.send(self.headers() + b"\r\n" + line * (2 * MAX_MESSAGE // len(line)))
        s.send(b".\r\n")
        code, text = s.reply()
        self.assertEqual(code, 552, text)
        self.assertIn("5.3.4", text)
        self.assertEqual(s.cmd("NOOP")[0], 250)
        # BDAT past the limit too.
        self.assertEqual(s.cmd("MAIL FROM:<%s>" % d.addr(R_INN))[0], 250)
        self.assertEqual(s.cmd("RCPT TO:<%s>" % d.addr(L_INN))[0], 250)
        chunk = b"B" * (MAX_MESSAGE + 10)
        s.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        code, text = s.reply()
        self.assertEqual(code, 552, text)
        self.assertEqual(s.cmd("NOOP")[0], 250)
        s.close()
        self.assertEqual(len(ctl_messages(d, L_INN)), before)

    def test_eight_bit_headers(self):
        subject = "Счёт-фактура без кодирования"
        body = self.headers(subject=subject,
                            extra=b"Content-Type: text/plain; charset=utf-8\r\n"
                            b"\r\n\xd0\xa2\xd0\xb5\xd0\xba\xd1\x81\xd1\x82")
        code, text = self.transaction(body)
        self.assertEqual(code, 250, text)
        msg, flags, raw = imap_wait(self.d, "lutik", "INBOX",
                                    by_edo_id(edo_id(text)))
        self.assertEqual(msg["Subject"], subject)

    def test_bare_lf(self):
        body = self.headers(subject="Bare LF").replace(b"\r\n", b"\n") + \
            b"\nline one\n.\nline after a lone dot\n"
        code, text = self.transaction(body)
        self.assertEqual(code, 250, text)
        msg, flags, raw = imap_wait(self.d, "lutik", "INBOX",
                                    by_edo_id(edo_id(text)))
        content = msg.get_body(preferencelist=("plain",)).get_content()
        self.assertIn("line after a lone dot", content)

    def test_nul_octets(self):
        body = self.headers() + b"\r\nhello\x00world"
        code, text = self.refused(body)
        self.assertEqual(code, 550)
        self.assertIn("NUL", text)

    def test_idle_client_times_out(self):
        s = raw_session(self.d, "romashka")
        s.cmd("MAIL FROM:<%s>" % self.d.addr(R_INN))
        s.cmd("RCPT TO:<%s>" % self.d.addr(L_INN))
        self.assertEqual(s.cmd("DATA")[0], 354)
        s.send(b"Subject: stalled\r\n")
        s.sock.settimeout(15)
        code, text = s.reply()
        self.assertEqual(code, 421, text)
        self.assertIn("4.4.2", text)
        self.assertTrue(s.closed())
        s.close()

    def test_pipelined_bad_burst(self):
        d = self.d
        before = len(ctl_messages(d, L_INN))
        s = raw_session(d, "romashka")
        burst = ("MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nRCPT TO:<nobody@x>\r\n"
                 "FROB\r\nMAIL FROM:<again@x>\r\nDATA\r\n" %
                 (d.addr(R_INN), d.addr(L_INN)))
        s.send(burst)
        codes = [s.reply()[0] for _ in range(6)]
        self.assertEqual(codes, [250, 250, 550, 500, 503, 354])
        s.send(self.headers(extra=b'Content-Type: multipart/mixed; '
                            b'boundary="\\""\r\n') + b"\r\nx\r\n.\r\nQUIT\r\n")
        code, text = s.reply()
        self.assertEqual(code, 550, text)
        self.assertEqual(s.reply()[0], 221)
        s.close()
        self.assertEqual(len(ctl_messages(d, L_INN)), before)


if __name__ == "__main__":
    main()
