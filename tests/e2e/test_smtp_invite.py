"""Invitations by mail: a letter to a subscriber who is not yet a
counteragent becomes an invitation; a reply «Принять» (sent with swaks)
accepts it, «Нет, спасибо» declines it, anything else is refused with an
explanation.  Statuses are visible in both organizations' folders."""
import subprocess

from edomail_harness import DaemonTestCase, PASSWORD, VASILEK, main
from test_smtp_session import (IN_INV, L_INN, OUT_INV, R_INN, V_INN,
                               ctl_messages, edo_id, imap_wait, make_mail,
                               submit)


def swaks_reply(d, login, from_addr, to_addr, in_reply_to, body,
                attach=None):
    """A plain reply as swaks sends it; (exit code, transcript)."""
    args = ["swaks", "--server", "127.0.0.1", "--port",
            str(d.ports["submission"]), "--tls", "--auth", "PLAIN",
            "--auth-user", login, "--auth-password", PASSWORD,
            "--from", from_addr, "--to", to_addr,
            "--header", "Subject: Re: Приглашение",
            "--add-header", "In-Reply-To: <%s>" % in_reply_to,
            "--add-header", "References: <%s>" % in_reply_to,
            "--add-header", "MIME-Version: 1.0",
            "--add-header", "Content-Type: text/plain; charset=utf-8",
            "--body", body, "--timeout", "60"]
    if attach:
        args += ["--attach", attach]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


def ca_status(d, org, other_inn):
    """The status column of `edomailctl counteragent list ORG` for other."""
    for ln in d.ctl("counteragent", "list", org).stdout.splitlines():
        if other_inn in ln:
            return ln
    return ""


def invitation_of(d, login, folder, other_inn, pred=lambda f: True):
    return imap_wait(d, login, folder,
                     lambda m, f: other_inn in (m.get("X-EDO-Counteragent-INN") or "")
                     and pred(f))


class SmtpInvite(DaemonTestCase):
    tools = ("swaks-tls",)


    def test_1_invitation_refusals(self):
        d = self.d
        before = len(ctl_messages(d, V_INN))
        # Attachments cannot ride on an invitation.
        data, _ = make_mail(d.addr(R_INN), "%s@edo.local" % V_INN,
                            "Знакомство", "Приглашаем\n", [("a.pdf", b"x")])
        code, text = submit(d, "romashka", d.addr(R_INN),
                            "%s@edo.local" % V_INN, data)
        self.assertEqual(code, 550)
        self.assertIn("5.7.1", text)
        self.assertIn("приглашение", text)
        # Too long a text.
        data, _ = make_mail(d.addr(R_INN), "%s@edo.local" % V_INN,
                            "Знакомство", "Ж" * 2001 + "\n")
        code, text = submit(d, "romashka", d.addr(R_INN),
                            "%s@edo.local" % V_INN, data)
        self.assertEqual(code, 550)
        self.assertIn("2000", text)
        # Encryption cannot apply.
        data, _ = make_mail(d.addr(R_INN), "%s@edo.local" % V_INN,
                            "[шифр] Знакомство", "Приглашаем\n")
        code, text = submit(d, "romashka", d.addr(R_INN),
                            "%s@edo.local" % V_INN, data)
        self.assertEqual(code, 550)
        self.assertEqual(len(ctl_messages(d, V_INN)), before, "nothing sent")

    def test_2_invite_ambiguous_then_accept(self):
        d = self.d
        data, _ = make_mail(d.addr(R_INN), "%s@edo.local" % V_INN,
                            "Приглашение к ЭДО",
                            "Приглашаем к обмену документами.\n")
        code, text = submit(d, "romashka", d.addr(R_INN),
                            "%s@edo.local" % V_INN, data)
        self.assertEqual(code, 250, text)
        self.assertIn("IsInvitedByMe", ca_status(d, R_INN, V_INN))
        # Another letter while the invitation is pending: refused at RCPT.
        code, text = submit(d, "romashka", d.addr(R_INN),
                            "%s@edo.local" % V_INN, data)
        self.assertEqual(code, 550, text)

        # Василёк sees it in Входящие/Приглашения and replies to it.
        msg, flags, raw = invitation_of(d, "vasilek", IN_INV, R_INN)
        inv_mid = msg["Message-ID"].strip().strip("<>")
        self.assertIn("Приглашаем к обмену документами",
                      msg.get_body(preferencelist=("plain",)).get_content())

        rc, out = swaks_reply(d, "vasilek", d.addr(V_INN), d.addr(R_INN),
                              inv_mid, "Добрый день, а кто вы?")
        self.assertNotEqual(rc, 0)
        self.assertIn("550 5.6.0", out)
        self.assertIn("InvitesMe", ca_status(d, V_INN, R_INN))

        rc, out = swaks_reply(d, "vasilek", d.addr(V_INN), d.addr(R_INN),
                              inv_mid, "Принять\n\nС уважением, Кузнецов")
        self.assertEqual(rc, 0, out)
        self.assertIn("IsMyCounteragent", ca_status(d, V_INN, R_INN))
        self.assertIn("IsMyCounteragent", ca_status(d, R_INN, V_INN))
        # Both folders show the outcome.
        invitation_of(d, "vasilek", IN_INV, R_INN,
                      lambda f: "$EDO_Accepted" in f)
        invitation_of(d, "romashka", OUT_INV, V_INN,
                      lambda f: "$EDO_Accepted" in f)
        # Each is in the other's address book.
        invitation_of(d, "vasilek", "Адресная книга", R_INN)
        invitation_of(d, "romashka", "Адресная книга", V_INN)
        # The same answer again is harmless.
        rc, out = swaks_reply(d, "vasilek", d.addr(V_INN), d.addr(R_INN),
                              inv_mid, "Принять")
        self.assertEqual(rc, 0, out)
        # Now letters go as EDO messages.
        data, _ = make_mail(d.addr(V_INN), d.addr(R_INN), "Первое письмо",
                            "Теперь мы контрагенты\n", [("d.pdf", b"%PDF doc")])
        code, text = submit(d, "vasilek", d.addr(V_INN), d.addr(R_INN), data)
        self.assertEqual(code, 250, text)
        self.assertIn("сообщение ЭДО", text)

    def test_3_invite_by_inn_kpp_and_decline(self):
        d = self.d
        to = "%s.%s@edo.local" % (V_INN, VASILEK["kpp"])
        data, _ = make_mail(d.addr(L_INN), to, "Приглашение",
                            "Предлагаем ЭДО\n")
        code, text = submit(d, "lutik", d.addr(L_INN), to, data)
        self.assertEqual(code, 250, text)
        inv_id = edo_id(text)
        msg, flags, raw = invitation_of(d, "vasilek", IN_INV, L_INN)
        inv_mid = msg["Message-ID"].strip().strip("<>")
        self.assertIn(inv_id, inv_mid)
        rc, out = swaks_reply(d, "vasilek", d.addr(V_INN), d.addr(L_INN),
                              inv_mid, "Нет, спасибо. Работаем на бумаге.")
        self.assertEqual(rc, 0, out)
        self.assertIn("RejectsMe", ca_status(d, L_INN, V_INN))
        invitation_of(d, "vasilek", IN_INV, L_INN,
                      lambda f: "$EDO_Rejected" in f)
        invitation_of(d, "lutik", OUT_INV, V_INN,
                      lambda f: "$EDO_Rejected" in f)

    def test_4_answer_with_attachment_refused_then_yes(self):
        d = self.d
        # Василёк declined Лютик (test 3) and now invites Лютик itself.
        data, _ = make_mail(d.addr(V_INN), d.addr(L_INN), "Передумали",
                            "Давайте всё-таки обмениваться документами\n")
        code, text = submit(d, "vasilek", d.addr(V_INN), d.addr(L_INN), data)
        self.assertEqual(code, 250, text)
        self.assertIn("InvitesMe", ca_status(d, L_INN, V_INN))
        msg, flags, raw = invitation_of(d, "lutik", IN_INV, V_INN,
                                        lambda f: "$EDO_Rejected" not in f)
        inv_mid = msg["Message-ID"].strip().strip("<>")
        data, _ = make_mail(d.addr(L_INN), d.addr(V_INN), "Re: Передумали",
                            "Да\n", [("x.pdf", b"%PDF")],
                            headers={"In-Reply-To": "<%s>" % inv_mid})
        code, text = submit(d, "lutik", d.addr(L_INN), d.addr(V_INN), data)
        self.assertEqual(code, 550, text)
        self.assertIn("5.7.1", text)
        self.assertIn("InvitesMe", ca_status(d, L_INN, V_INN))
        data, _ = make_mail(d.addr(L_INN), d.addr(V_INN), "Re: Передумали",
                            "Да, согласны.\n\n> Давайте всё-таки\n",
                            headers={"In-Reply-To": "<%s>" % inv_mid})
        code, text = submit(d, "lutik", d.addr(L_INN), d.addr(V_INN), data)
        self.assertEqual(code, 250, text)
        self.assertIn("IsMyCounteragent", ca_status(d, L_INN, V_INN))


if __name__ == "__main__":
    main()
