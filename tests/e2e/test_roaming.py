#!/usr/bin/env python3
"""Roaming between two operators (issue 15 section 2, doc/roaming.md).

Node A is the demo, operator prefix 2ED; node B is a second embedded
operator, prefix 2BK, with its own organization Клевер.  Each names the
other in operator.roaming with a roaming token the other made
(edomailctl api token --roaming PREFIX).  Both use the demo CA (B's
certificates are issued from A's demo CA), so a signature is
«Действительна» on both nodes.

Across the two: Ромашка (A) finds Клевер (B) by ИНН and invites it; B
accepts; signed letters both ways, read over IMAP with the signature
report; the recipient's ИоП flows back to the sender's INBOX as a notice;
and with B stopped, A's SMTP still accepts a letter, which reaches B once
B is back."""
import email
import email.policy
import os
import re
import shutil
import signal
import time
import uuid
from email.message import EmailMessage

import edomail_harness as h

KLEVER_INN = "7728168971"
KLEVER_KPP = "772801001"
REPORT = "Протокол проверки подписей.txt"


def letter(frm, to, subject, text, attach=None, reply_to=None):
    m = EmailMessage()
    m["From"] = frm
    m["To"] = to
    m["Subject"] = subject
    m["Message-ID"] = "<%s@test>" % time.time_ns()
    if reply_to:
        m["In-Reply-To"] = reply_to
    m.set_content(text)
    if attach:
        m.add_attachment(attach[1], maintype="application",
                         subtype="octet-stream", filename=attach[0])
    return m


def messages(c, folder="INBOX"):
    c.select(folder)
    typ, data = c.uid("FETCH", "1:*", "(BODY.PEEK[])")
    # only the literals: an unsolicited FETCH (FLAGS) or EXISTS may come
    # in between while the other node delivers
    return [email.message_from_bytes(item[1], policy=email.policy.default)
            for item in (data if typ == "OK" else [])
            if isinstance(item, tuple)]


def find_letter(c, marker):
    for m in messages(c):
        if marker in (m["Subject"] or "") and \
                m.get("X-EDO-Kind") != "notice":
            return m
    return None


def files(m):
    return {p.get_filename(): p.get_payload(decode=True)
            for p in m.walk() if p.get_filename() and not p.is_multipart()}


def set_operator(conf_path, prefix, peer_prefix, peer_port):
    with open(conf_path) as f:
        conf = f.read()
    # make-demo.sh wrote the node's own prefix (DEMO_PREFIX)
    conf = re.sub(r'prefix = "%s"; dir = "operator";' % prefix,
                  'prefix = "%s"; dir = "operator"; roaming = ( { '
                  'prefix = "%s"; url = "https://127.0.0.1:%d"; '
                  'token_file = "peer.token"; ca = "peer-ca.crt"; } );' %
                  (prefix, peer_prefix, peer_port), conf)
    assert "roaming" in conf, conf
    with open(conf_path, "w") as f:
        f.write(conf)


class RoamingBase(h.DaemonTestCase):
    """Two nodes, A (the demo, 2ED) and B (2BK, Клевер), each the other's
    roaming peer; no tests of its own (test_roaming_flows.py uses it)."""
    tools = ("openssl",)
    a_port = h.free_port()
    b_port = h.free_port()
    extra_env = {"DEMO_API_PORT": str(a_port)}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        a = cls.d
        b = cls.b = h.Daemon(demo=False,
                             extra_env={"DEMO_API_PORT": str(cls.b_port),
                                        "DEMO_PREFIX": "2BK"})
        # B's TLS certificate is from B's own CA: A trusts that one for
        # B's API; B's signing certificates come from A's demo CA.
        shutil.copy2(b.cafile, os.path.join(a.dir, "peer-ca.crt"))
        shutil.copy2(b.cafile, os.path.join(b.dir, "tls-ca.crt"))
        shutil.copy2(a.cafile, os.path.join(b.dir, "peer-ca.crt"))
        for name in ("demo-ca.crt", "demo-ca.key"):
            shutil.copy2(os.path.join(a.dir, name), os.path.join(b.dir, name))
        b.cafile = os.path.join(b.dir, "tls-ca.crt")  # what B's TLS shows
        # and the demo CA's CRL, so that revocation is known on B too
        shutil.copytree(os.path.join(a.dir, "crls"),
                        os.path.join(b.dir, "crls"), dirs_exist_ok=True)
        set_operator(b.conf, "2BK", "2ED", cls.a_port)
        b.ctl("org", "add", "--name", "ООО Клевер", "--inn", KLEVER_INN,
              "--kpp", KLEVER_KPP)
        b.ctl("user", "add", "klever", "--password", h.PASSWORD)
        b.ctl("member", "add", "klever", KLEVER_INN, "--role", "owner")
        b.ctl("cert", "make", "klever", KLEVER_INN, "--type", "rsa")
        b.ctl("org", "policy", KLEVER_INN, "--receipt-cert", "klever")
        cls.klever = b.box_id(KLEVER_INN)
        assert cls.klever.startswith("2BK"), cls.klever
        # the roaming tokens: each made by one, used by the other
        tok = b.ctl("api", "token", "--roaming", "2ED").stdout.strip()
        with open(os.path.join(a.dir, "peer.token"), "w") as f:
            f.write(tok + "\n")
        tok = a.ctl("api", "token", "--roaming", "2BK").stdout.strip()
        with open(os.path.join(b.dir, "peer.token"), "w") as f:
            f.write(tok + "\n")
        a.stop()
        set_operator(a.conf, "2ED", "2BK", cls.b_port)
        a.start()
        b.start()
        cls.romashka = a.addr(a.demo["ROMASHKA_INN"])
        cls.klever_addr = "%s@edo.local" % cls.klever

    @classmethod
    def tearDownClass(cls):
        rc, sanitizer, log = cls.b.cleanup()
        super().tearDownClass()
        if sanitizer:
            raise AssertionError("sanitizer report in node B's log:\n" + log)
        if rc != 0:
            raise AssertionError("node B exited with %d:\n%s" % (rc, log))

    def send(self, node, login, frm, to, subject, text, attach=None,
             reply_to=None):
        s = node.smtp(login)
        try:
            s.send_message(letter(frm, to, subject, text, attach, reply_to))
        finally:
            s.quit()

    def wait_letter(self, node, login, marker, what):
        c = node.imap(login)
        try:
            return h.wait_for(lambda: find_letter(c, marker), timeout=60,
                              what=what)
        finally:
            c.logout()



class Roaming(RoamingBase):
    def test_1_invite_by_inn_accepted_across(self):
        a, b = self.d, self.b
        # A's SMTP finds Клевер by ИНН at B: the invitation goes there
        self.send(a, "romashka", self.romashka,
                  "%s@edo.local" % KLEVER_INN, "Давайте работать",
                  "Приглашаем к обмену / join us")
        # B sees Ромашка inviting; accepting there answers A
        h.wait_for(lambda: b.ctl("accept", KLEVER_INN,
                                 a.demo["ROMASHKA_INN"],
                                 check=False).returncode == 0,
                   timeout=60, what="the invitation at B")
        def accepted():
            out = a.ctl("counteragent", "list", a.demo["ROMASHKA_INN"]).stdout
            return any(self.klever in line and "IsMyCounteragent" in line
                       for line in out.splitlines())
        h.wait_for(accepted, timeout=60, what="the acceptance back at A")

    def test_2_signed_letters_both_ways_and_receipt(self):
        a, b = self.d, self.b
        marker = "rm%d" % time.time_ns()
        self.send(a, "romashka", self.romashka, self.klever_addr,
                  "Акт " + marker, "Текст " + marker,
                  ("акт.txt", ("акт " + marker).encode()))
        got = self.wait_letter(b, "klever", marker,
                               "A's letter in Клевер's INBOX on B")
        f = files(got)
        self.assertIn("акт.txt", f)
        self.assertIn("акт.txt.sig", f)
        self.assertIn("Результат: Действительна",
                      f[REPORT].decode("utf-8"))
        # the answer from B reaches A's IMAP, signed and valid there
        self.send(b, "klever", self.klever_addr, self.romashka,
                  "Ответ ans-" + marker, "Получили " + marker,
                  ("ответ.txt", b"answer " + marker.encode()),
                  reply_to=got["Message-ID"])
        back = self.wait_letter(a, "romashka", "ans-" + marker,
                                "B's answer in Ромашка's INBOX on A")
        f = files(back)
        self.assertIn("ответ.txt.sig", f)
        self.assertIn("Результат: Действительна",
                      f[REPORT].decode("utf-8"))
        # Клевер's ИоП (made and signed on B) comes back to Ромашка on A
        c = a.imap("romashka")
        try:
            def receipt():
                for m in messages(c):
                    if m.get("X-EDO-Kind") == "notice" and \
                            marker in (m["Subject"] or "") and \
                            "ans-" not in (m["Subject"] or "") and \
                            any(n.startswith("DP_IZVPOL_")
                                for n in files(m)):
                        return m
                return None
            h.wait_for(receipt, timeout=90,
                       what="Клевер's receipt notice on A")
        finally:
            c.logout()

    def sent_item(self, marker, pred):
        c = self.d.imap("romashka")
        try:
            def found():
                c.select('"%s"' % h.utf7_encode("Отправленные"))
                typ, data = c.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER])")
                for item in data if typ == "OK" else []:
                    if not isinstance(item, tuple):
                        continue
                    m = email.message_from_bytes(
                        item[1], policy=email.policy.default)
                    flags = re.search(rb"FLAGS \(([^)]*)\)", item[0])
                    flags = flags.group(1).decode().split() if flags else []
                    if marker in (m["Subject"] or "") and pred(flags):
                        return m, flags
                return None
            return h.wait_for(found, timeout=90, what="the Sent item")
        finally:
            c.logout()

    def flow_notice(self, marker, word):
        c = self.d.imap("romashka")
        try:
            return h.wait_for(
                lambda: [m for m in messages(c)
                         if m.get("X-EDO-Kind") == "notice" and
                         marker in (m["Subject"] or "") and
                         word in (m["Subject"] or "")],
                timeout=90, what="a notice «%s» on A" % word)[0]
        finally:
            c.logout()

    def test_3_peer_down_nothing_lost(self):
        a, b = self.d, self.b
        b.stop()
        marker = "dn%d" % time.time_ns()
        # A's SMTP does not wait for B: accepted, delivered later, and
        # says so
        s = a.smtp("romashka")
        try:
            m = letter(self.romashka, self.klever_addr,
                       "Пока выключен " + marker, "Текст " + marker,
                       ("down.txt", marker.encode()))
            s.mail(self.romashka)
            s.rcpt(self.klever_addr)
            code, text = s.data(m.as_bytes())
        finally:
            s.quit()
        self.assertEqual(code, 250, text)
        self.assertIn("передаётся оператору получателя", text.decode())
        self.assertIn("being passed to the recipient's operator",
                      text.decode())
        # not Delivered while B is down: A's notice says where it is
        note = self.flow_notice(marker, "Передаётся оператору получателя")
        self.assertIn("Being passed to the recipient's operator",
                      note["Subject"])
        self.assertNotIn("Доставлено", note["Subject"])
        _, flags = self.sent_item(marker, lambda f: "$EDO_Confirmed" in f)
        self.assertNotIn("$EDO_Delivered", flags)
        time.sleep(2)
        _, flags = self.sent_item(marker, lambda f: True)
        self.assertNotIn("$EDO_Delivered", flags)
        # edomailctl status shows the queue towards B
        out = a.ctl("status").stdout
        m = re.search(r"2BK: ожидают / pending (\d+) \(старейшее / oldest "
                      r"(\d+) s\), отклонены / refused (\d+)", out)
        self.assertIsNotNone(m, out)
        self.assertGreaterEqual(int(m.group(1)), 1)
        self.assertGreaterEqual(int(m.group(2)), 2)
        self.assertEqual(int(m.group(3)), 0)
        b.start()
        got = self.wait_letter(b, "klever", marker,
                               "the letter sent while B was down")
        self.assertIn("down.txt", files(got))
        # B took it: now Delivered at A, with its notice
        self.sent_item(marker, lambda f: "$EDO_Delivered" in f)
        self.flow_notice(marker, "Доставлено")
        self.assertIn("2BK: ожидают / pending 0, отклонены / refused 0",
                      a.ctl("status").stdout)
        # once, not twice
        c = b.imap("klever")
        try:
            time.sleep(2)
            n = sum(1 for m in messages(c) if marker in (m["Subject"] or "")
                    and m.get("X-EDO-Kind") != "notice")
        finally:
            c.logout()
        self.assertEqual(n, 1)

    def rcpt(self, to, s=None):
        """(code, text, seconds) of RCPT TO:<to> from Ромашка on A, in
        session s (MAIL FROM given) or a new one."""
        own = s is None
        if own:
            s = self.d.smtp("romashka")
            s.mail(self.romashka)
        try:
            t0 = time.monotonic()
            code, text = s.rcpt(to)
            return code, text.decode(), time.monotonic() - t0
        finally:
            if own:
                try:
                    s.quit()
                except Exception:
                    pass

    def test_4_peer_hangs_rcpt_answers_451_quickly(self):
        b = self.b
        nobody = "%s@edo.local" % unused_inn()
        b_id = "2BK%s@edo.local" % uuid.uuid4().hex.upper()
        code, text, _ = self.rcpt(nobody)
        self.assertEqual(code, 550, text)
        # one session, so that the RCPTs below fall within the 10 s that
        # B is remembered as down, however slow the machine
        s = self.d.smtp("romashka")
        s.mail(self.romashka)
        # B stopped (SIGSTOP): connections are accepted, nothing answers
        b.proc.send_signal(signal.SIGSTOP)
        try:
            # an ИНН A does not know: only B could say, after the lookup
            # timeout (5 s), not operator.timeout (30 s)
            code, text, took = self.rcpt(nobody, s)
            self.assertEqual(code, 451, text)
            self.assertIn("4.4.1", text)
            self.assertIn("недоступен", text)
            self.assertIn("unreachable", text)
            self.assertLess(took, 15, "the lookup timeout is 5 s")
            # remembered as down: the next ones answer at once
            for to in (nobody, b_id):
                code, text, took = self.rcpt(to, s)
                self.assertEqual(code, 451, text)
                self.assertIn("4.4.1", text)
                self.assertLess(took, 3, "B is remembered as down")
            # what A knows is not held up: Клевер is mirrored here, and
            # an id of A's own prefix is A's to answer
            code, text, _ = self.rcpt(self.klever_addr, s)
            self.assertEqual(code, 250, text)
            code, text, _ = self.rcpt("2ED%s@edo.local" %
                                      uuid.uuid4().hex.upper(), s)
            self.assertEqual(code, 550, text)
        finally:
            b.proc.send_signal(signal.SIGCONT)
            try:
                s.quit()
            except Exception:
                pass
        # B answers again: «not a subscriber» once the hold is over
        h.wait_for(lambda: self.rcpt(nobody)[0] == 550, timeout=60,
                   step=1, what="B answering lookups again")


def unused_inn():
    """A valid 10-digit ИНН of nobody."""
    import random
    w = [2, 4, 10, 3, 5, 9, 4, 6, 8]
    d = [random.randint(0, 9) for _ in range(9)]
    d[0] = 9
    return "".join(map(str, d)) + str(sum(a * b for a, b in zip(w, d))
                                      % 11 % 10)


if __name__ == "__main__":
    h.main()
