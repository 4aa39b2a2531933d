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
import time
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
    conf = re.sub(r'prefix = "2ED"; dir = "operator";',
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
                             extra_env={"DEMO_API_PORT": str(cls.b_port)})
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

    def test_3_peer_down_nothing_lost(self):
        a, b = self.d, self.b
        b.stop()
        marker = "dn%d" % time.time_ns()
        # A's SMTP does not wait for B: accepted, delivered later
        self.send(a, "romashka", self.romashka, self.klever_addr,
                  "Пока выключен " + marker, "Текст " + marker,
                  ("down.txt", marker.encode()))
        time.sleep(2)
        b.start()
        got = self.wait_letter(b, "klever", marker,
                               "the letter sent while B was down")
        self.assertIn("down.txt", files(got))
        # once, not twice
        c = b.imap("klever")
        try:
            time.sleep(2)
            n = sum(1 for m in messages(c) if marker in (m["Subject"] or "")
                    and m.get("X-EDO-Kind") != "notice")
        finally:
            c.logout()
        self.assertEqual(n, 1)


if __name__ == "__main__":
    h.main()
