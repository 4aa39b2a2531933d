"""Trust (DESIGN.md §8): a demo-CA certificate's GOST signature is
«Действительна» with each check shown; a self-made certificate's is
«Недействительна» for its chain; a revoked certificate cannot sign (550 at
DATA) and cert list shows it revoked."""
import email
import email.policy
import functools
import http.server
import os
import threading
import time
import subprocess
import uuid

from edomail_harness import (PASSWORD, Daemon, DaemonTestCase, main,
                             require_tools, wait_for)
from test_smtp_session import (L_INN, R_INN, by_edo_id, edo_id,
                               imap_messages, imap_wait, make_mail,
                               parts_by_name, submit)

REPORT = "Протокол проверки подписей.txt"


class Trust(DaemonTestCase):
    tools = ("openssl-gost",)

    def send(self, login, from_inn, to_inn):
        d = self.d
        doc = b"%PDF-1.4\n" + uuid.uuid4().bytes * 50
        data, _ = make_mail(d.addr(from_inn), d.addr(to_inn),
                            "Доверие %s" % uuid.uuid4().hex[:8], "Текст\n",
                            [("акт.pdf", doc, "application/pdf")])
        return submit(d, login, d.addr(from_inn), d.addr(to_inn), data)

    def report(self, rcpt_login, msg_id):
        msg, _, _ = imap_wait(self.d, rcpt_login, "INBOX", by_edo_id(msg_id))
        parts = parts_by_name(msg)
        return parts[REPORT].decode("utf-8"), parts

    def test_a_demo_ca_gost_valid(self):
        code, text = self.send("buh", L_INN, R_INN)
        self.assertEqual(code, 250, text)
        rep, _ = self.report("romashka", edo_id(text))
        self.assertIn("Результат: Действительна", rep)
        self.assertIn("математика подписи: пройдена", rep)
        self.assertIn("цепочка до доверенного корня: пройдена "
                      "(CN=edomail demo CA", rep)
        self.assertIn("отзыв сертификата: пройдена", rep)
        self.assertIn("Издатель: CN=edomail demo CA", rep)

    def test_b_self_signed_invalid(self):
        d = self.d
        # The newest certificate signs: a self-made GOST one for romashka.
        d.ctl("cert", "make", "romashka", R_INN, "--type", "gost",
              "--self-signed", "--days", "400")
        code, text = self.send("romashka", R_INN, L_INN)
        self.assertEqual(code, 250, text)
        rep, _ = self.report("lutik", edo_id(text))
        self.assertIn("Результат: Недействительна — цепочка не доходит до "
                      "доверенного корня / chain does not reach a trusted "
                      "root", rep)
        self.assertIn("цепочка до доверенного корня: НЕ пройдена", rep)
        self.assertIn("математика подписи: пройдена", rep)

    def test_c_revoked_cannot_sign(self):
        d = self.d
        code, text = self.send("lutik", L_INN, R_INN)
        self.assertEqual(code, 250, text)
        rep, parts = self.report("romashka", edo_id(text))
        self.assertIn("Результат: Действительна", rep)
        # lutik's certificate, from the signature, revoked on the demo CA.
        sig = os.path.join(d.dir, "lutik.sig")
        with open(sig, "wb") as f:
            f.write(parts["акт.pdf.sig"])
        pem = os.path.join(d.dir, "lutik.pem")
        subprocess.run(["openssl", "pkcs7", "-inform", "DER", "-in", sig,
                        "-print_certs", "-out", pem], check=True,
                       capture_output=True)
        out = d.ctl("cert", "revoke", pem)
        self.assertIn("Revoked", out.stdout)
        wait_for(lambda: "CRLs reloaded" in d.log(), timeout=60,
                 what="the daemon rereads the CRL folder")
        code, text = self.send("lutik", L_INN, R_INN)
        self.assertEqual(code, 550, text)
        self.assertIn("отозван", text)
        self.assertIn("revoked", text)
        listing = d.ctl("cert", "list", "lutik").stdout
        self.assertIn("revoked", listing)

    def test_d_expiring_warns_once(self):
        d = self.d
        # A signer of Ромашка whose one certificate (issued by the demo
        # CA) has 3 days left; trust.expiry_warning_days is 30 by default.
        # (The signer takes the certificate valid longest: a user with an
        # older, longer one would sign with that.)
        d.ctl("user", "add", "srok", "--name", "Срочный Сергей",
              "--password", PASSWORD)
        d.ctl("member", "add", "srok", R_INN, "--role", "signer")
        d.ctl("cert", "make", "srok", R_INN, "--type", "rsa", "--days", "3")
        listing = d.ctl("cert", "list", "srok").stdout
        self.assertIn("Скоро истекает", listing)
        notice = "Сертификат подписи скоро истекает"
        for _ in range(2):
            code, text = self.send("srok", R_INN, L_INN)
            # It signs and sends, and the reply warns, every time.
            self.assertEqual(code, 250, text)
            self.assertIn("Готово", text)
            self.assertIn("Внимание: сертификат подписи", text)
            self.assertIn("Warning: the signing certificate", text)
            self.assertIn("have a new one issued", text)
            rep, _ = self.report("lutik", edo_id(text))
            self.assertIn("Результат: Действительна", rep)

        def notices():
            # Added while the submission runs, before its reply.
            return [raw for _, _, raw in imap_messages(d, "srok", "INBOX")
                    if notice in str(email.message_from_bytes(
                        raw, policy=email.policy.default)["Subject"])]
        wait_for(lambda: notices(), timeout=60,
                 what="the notice about the expiring certificate")
        # Once per certificate, not once per letter.
        self.assertEqual(len(notices()), 1)
        msg = email.message_from_bytes(notices()[0],
                                       policy=email.policy.default)
        body = msg.get_body(("plain",)).get_content()
        self.assertIn("истекает", body)
        self.assertIn("expires", body)
        self.assertIn("edomailctl cert import", body)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class TrustFetch(DaemonTestCase):
    """trust.fetch: the CRL comes from the certificate's distribution
    point, served by a local HTTP server; the demo CA's CRL in crls/ is
    removed, so what the daemon knows of revocation is what it fetched."""
    tools = ("openssl-gost",)

    @classmethod
    def setUpClass(cls):
        require_tools(*cls.tools)
        cls.d = Daemon(extra_env={"DEMO_TRUST_EXTRA": "fetch = true;"})
        os.remove(os.path.join(cls.d.dir, "crls", "demo-ca.crl"))
        cls.www = os.path.join(cls.d.dir, "www")
        os.mkdir(cls.www)
        cls.httpd = None
        cls.serve()
        cls.url = "http://127.0.0.1:%d/demo.crl" % cls.port
        cls.d.start()

    @classmethod
    def serve(cls):
        handler = functools.partial(_Quiet, directory=cls.www)
        addr = ("127.0.0.1", getattr(cls, "port", 0))
        cls.httpd = http.server.ThreadingHTTPServer(addr, handler)
        cls.port = cls.httpd.server_address[1]
        threading.Thread(target=cls.httpd.serve_forever, daemon=True).start()

    @classmethod
    def unserve(cls):
        if cls.httpd is not None:
            cls.httpd.shutdown()
            cls.httpd.server_close()
            cls.httpd = None

    @classmethod
    def tearDownClass(cls):
        cls.unserve()
        super().tearDownClass()

    send = Trust.send
    report = Trust.report

    def crl(self, *args):
        self.d.ctl("cert", "revoke", *args, "--out",
                   os.path.join(self.www, "demo.crl"))

    def fetched(self):
        return self.d.log().count("CRL fetched: " + self.url)

    def test_a_unreachable_is_unknown(self):
        d = self.d
        d.ctl("user", "add", "fetch1", "--password", PASSWORD)
        d.ctl("member", "add", "fetch1", R_INN, "--role", "signer")
        d.ctl("cert", "make", "fetch1", R_INN, "--type", "rsa",
              "--crl-url", self.url)
        # A CRL that expires in 5 seconds.
        made = time.time()
        self.crl("-", "--next-update", "5")
        # The first signature wants the distribution point.
        code, text = self.send("fetch1", R_INN, L_INN)
        self.assertEqual(code, 250, text)
        wait_for(lambda: self.fetched() >= 1, timeout=60,
                 what="the CRL fetched from " + self.url)
        # The server goes away and the fetched CRL expires.
        self.unserve()
        wait_for(lambda: time.time() > made + 7, timeout=30,
                 what="the CRL's nextUpdate")
        wait_for(lambda: "CRL %s unreachable" % self.url in d.log(),
                 timeout=60, what="a failed fetch of the expired CRL")
        code, text = self.send("fetch1", R_INN, L_INN)
        self.assertEqual(code, 250, text)   # unknown does not stop signing
        rep, _ = self.report("lutik", edo_id(text))
        self.assertIn("отзыв сертификата: неизвестно", rep)
        self.assertIn("статус отзыва неизвестен", rep)
        self.assertIn("revocation unknown", rep)
        self.assertIn("Результат: Недействительна", rep)
        self.assertNotIn("Результат: Действительна", rep)

    def test_b_fetched_revocation(self):
        d = self.d
        # The server is back with a CRL valid for a year: fetched again
        # (the expired one is wanted again in the background).
        self.crl("-")
        self.serve()
        before = self.fetched()
        wait_for(lambda: self.fetched() > before, timeout=60,
                 what="the CRL fetched again")
        code, text = self.send("fetch1", R_INN, L_INN)
        self.assertEqual(code, 250, text)
        letter = edo_id(text)
        rep, parts = self.report("lutik", letter)
        self.assertIn("отзыв сертификата: пройдена", rep)
        self.assertIn("Результат: Действительна", rep)
        # fetch1's certificate revoked in the served CRL only.
        sig = os.path.join(d.dir, "fetch1.sig")
        with open(sig, "wb") as f:
            f.write(parts["акт.pdf.sig"])
        pem = os.path.join(d.dir, "fetch1.pem")
        subprocess.run(["openssl", "pkcs7", "-inform", "DER", "-in", sig,
                        "-print_certs", "-out", pem], check=True,
                       capture_output=True)
        self.crl(pem)
        # A restart fetches the distribution points of every certificate
        # of the node at once (the cached CRL is still within its term).
        before = self.fetched()
        d.restart()
        wait_for(lambda: self.fetched() > before, timeout=60,
                 what="the CRL fetched at start")
        code, text = self.send("fetch1", R_INN, L_INN)
        self.assertEqual(code, 550, text)
        self.assertIn("отозван", text)
        self.assertIn("revoked", text)
        # The letter received before: its protocol stays as it was at
        # receipt (doc/trust.md); message show checks it again now.
        rep, _ = self.report("lutik", letter)
        self.assertIn("Результат: Действительна", rep)
        shown = d.ctl("message", "show", L_INN, letter).stdout
        self.assertIn("Недействительна / Invalid", shown)
        self.assertIn("revocation: failed", shown)
        self.assertIn("revoked since", shown)


if __name__ == "__main__":
    main()
