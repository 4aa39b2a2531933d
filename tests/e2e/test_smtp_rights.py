"""Who may send: the signing right, blocked members, certificates, the
From address.  Every refusal is 5xx 5.7.1 with a reason in Russian and
English, and nothing is sent."""
from edomail_harness import DaemonTestCase, PASSWORD, main
from test_smtp_session import (L_INN, R_INN, V_INN, ctl_messages, make_mail,
                               raw_session, submit)


class SmtpRights(DaemonTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.d
        # A signer whose only certificate has expired, and one with none.
        for login in ("expired", "nocert"):
            d.ctl("user", "add", login, "--name", "Тестов Тест", "--password",
                  PASSWORD)
            d.ctl("member", "add", login, R_INN, "--role", "signer")
        d.ctl("cert", "make", "expired", R_INN, "--type", "rsa", "--expired")

    def assert_refused(self, login, reason_words, attachments=()):
        d = self.d
        before = len(ctl_messages(d, L_INN))
        data, _ = make_mail(d.addr(R_INN), d.addr(L_INN), "Проверка прав",
                            "Текст\n", attachments)
        code, text = submit(d, login, d.addr(R_INN), d.addr(L_INN), data)
        self.assertEqual(code, 550, text)
        self.assertIn("5.7.1", text)
        self.assertIn(" / ", text)
        for w in reason_words:
            self.assertIn(w, text)
        self.assertEqual(len(ctl_messages(d, L_INN)), before, "nothing sent")

    def test_reader_has_no_signing_right(self):
        self.assert_refused("viewer", ["права подписи", "signing right"])

    def test_expired_certificate(self):
        self.assert_refused("expired", ["истёк", "expired"],
                            [("a.pdf", b"%PDF")])
        self.assert_refused("expired", ["истёк", "expired"])

    def test_no_certificate(self):
        self.assert_refused("nocert", ["нет сертификата", "no signing certificate"])

    def test_invitation_needs_no_certificate(self):
        # Nothing is signed in an invitation.
        d = self.d
        data, _ = make_mail(d.addr(R_INN), "%s@edo.local" % V_INN, "Приглашение",
                            "Давайте обмениваться документами\n")
        code, text = submit(d, "nocert", d.addr(R_INN), "%s@edo.local" % V_INN,
                            data)
        self.assertEqual(code, 250, text)

    def test_blocked_member(self):
        d = self.d
        d.ctl("member", "block", "buh", R_INN)
        try:
            s = raw_session(d, "buh")   # still serves Лютик
            code, text = s.cmd("MAIL FROM:<%s>" % d.addr(R_INN))
            self.assertEqual(code, 550, text)
            self.assertIn("5.7.1", text)
            self.assertIn("заблокирована", text)
            s.close()
        finally:
            d.ctl("member", "unblock", "buh", R_INN)

    def test_from_header_must_match_envelope(self):
        d = self.d
        before = len(ctl_messages(d, R_INN))
        # buh serves both, but the envelope says Лютик and From Ромашка.
        data, _ = make_mail(d.addr(R_INN), d.addr(R_INN), "Подмена", "x\n")
        code, text = submit(d, "buh", d.addr(L_INN), d.addr(R_INN), data)
        self.assertEqual(code, 553, text)
        self.assertIn("5.7.1", text)
        self.assertIn("From", text)
        self.assertEqual(len(ctl_messages(d, R_INN)), before)

    def test_login_for_one_org_cannot_send_as_another(self):
        d = self.d
        s = raw_session(d, "buh+" + L_INN)
        code, text = s.cmd("MAIL FROM:<%s>" % d.addr(R_INN))
        self.assertEqual(code, 553, text)
        code, text = s.cmd("MAIL FROM:<%s>" % d.addr(L_INN))
        self.assertEqual(code, 250, text)
        s.close()


if __name__ == "__main__":
    main()
