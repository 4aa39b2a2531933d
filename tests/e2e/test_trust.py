"""Trust (DESIGN.md §8): a demo-CA certificate's GOST signature is
«Действительна» with each check shown; a self-made certificate's is
«Недействительна» for its chain; a revoked certificate cannot sign (550 at
DATA) and cert list shows it revoked."""
import email
import email.policy
import os
import subprocess
import uuid

from edomail_harness import PASSWORD, DaemonTestCase, main, wait_for
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


if __name__ == "__main__":
    main()
