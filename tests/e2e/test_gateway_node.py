#!/usr/bin/env python3
"""A gateway-only node (issue 15 section 1): node B runs with
operator.driver = "http" against node A's operator API.  An organization
registered at A is attached on B with its API token (edomailctl org
attach); its user on B invites a counteragent served by A, sends a letter
through B's SMTP that A's user reads over IMAP, and reads over B's IMAP
the answer sent through A — everything through the HTTPS API with curl's
library on one side and evhttp on the other.  With A stopped, B's SMTP
answers 451 and loses nothing: the letter goes when it is sent again
after A is back."""
import email
import email.policy
import http.client
import os
import smtplib
import ssl
import time
from email.message import EmailMessage

import edomail_harness as h
from test_smtp_session import SENT, imap_wait, parts_by_name

KLEVER_INN = "7728168971"
KLEVER_KPP = "772801001"
# attached on B with a TLS client certificate instead of a token
LANDYSH_INN = "7707083893"
LANDYSH_KPP = "770701001"


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


def inbox_find(c, subject, folder="INBOX"):
    """The letter (not the receipt notices threaded to it, which carry
    the same subject) whose subject has the marker."""
    c.select(folder)
    typ, data = c.search(None, "SUBJECT", '"%s"' % subject)
    for i in reversed(data[0].split() if typ == "OK" else []):
        typ, data = c.fetch(i, "(BODY.PEEK[])")
        # an unsolicited FETCH (a flag that a receipt changed meanwhile)
        # may come first as plain bytes: the body is the (head, literal)
        bodies = [d[1] for d in data if isinstance(d, tuple)]
        if not bodies:
            continue
        m = email.message_from_bytes(bodies[0], policy=email.policy.default)
        if m.get("X-EDO-Kind") != "notice":
            return m
    return None


class GatewayNode(h.GatewayTestCase):
    api_port = h.free_port()
    extra_env = {"DEMO_API_PORT": str(api_port)}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        a = cls.d
        # only the long-poll can bring events quickly: a poll every 10
        # minutes never would (test_5)
        b = cls.gateway_node("poll_interval = 600000; ")
        # Клевер is registered at A (the operator) and served by B only.
        cls.klever, cls.token = cls.gateway_org("ООО Клевер", KLEVER_INN,
                                                KLEVER_KPP, "klever")
        # Ландыш: registered at A, its client certificate (issued by A's
        # CA) bound to it there, attached on B with certificate and key
        a.ctl("org", "add", "--name", "ООО Ландыш", "--inn", LANDYSH_INN,
              "--kpp", LANDYSH_KPP)
        cls.landysh = a.box_id(LANDYSH_INN)
        cls.l_cert = h.client_cert(a.dir, b.dir, "landysh-api")
        a.ctl("api", "cert", "add", LANDYSH_INN, cls.l_cert[0])
        b.ctl("org", "attach", LANDYSH_INN, "--cert-file", cls.l_cert[0],
              "--key-file", cls.l_cert[1])
        cls.gateway_user(LANDYSH_INN, "landysh")
        b.start()

    def test_1_attach_is_checked(self):
        r = self.b.ctl("org", "attach", self.d.demo["LUTIK_INN"],
                       "--token-file", "-", input=self.token + "\n",
                       check=False)
        # Клевер's token is not Лютик's: refused, nothing attached
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("403", r.stderr)
        self.assertNotIn(self.d.demo["LUTIK_INN"],
                         self.b.ctl("org", "list").stdout)

    def test_2_invite_letter_both_ways(self):
        a, b = self.d, self.b
        lutik = a.addr(a.demo["LUTIK_INN"])
        klever_addr = "%s@edo.local" % self.klever
        # an invitation from B, accepted at A
        s = b.smtp("klever")
        s.send_message(letter(klever_addr, lutik, "Давайте работать",
                              "Приглашаем к обмену / join us"))
        s.quit()
        a.ctl("accept", a.demo["LUTIK_INN"], KLEVER_INN)
        # a signed letter from B reaches A's IMAP
        marker = "gw%d" % time.time_ns()
        s = b.smtp("klever")
        s.send_message(letter(klever_addr, lutik, "Акт " + marker,
                              "Текст " + marker,
                              ("акт.txt", ("акт " + marker).encode())))
        s.quit()
        c = a.imap("lutik")
        try:
            got = h.wait_for(lambda: inbox_find(c, marker),
                             what="B's letter in Лютик's INBOX on A")
        finally:
            c.logout()
        names = [p.get_filename() for p in got.walk() if p.get_filename()]
        self.assertIn("акт.txt", names)
        self.assertIn("акт.txt.sig", names)
        # the answer from A reaches B's IMAP
        s = a.smtp("lutik")
        s.send_message(letter(lutik, klever_addr, "Ответ ans-" + marker,
                              "Получили " + marker,
                              reply_to=got["Message-ID"]))
        s.quit()
        c = b.imap("klever")
        try:
            back = h.wait_for(lambda: inbox_find(c, "ans-" + marker),
                              what="A's answer in Клевер's INBOX on B")
        finally:
            c.logout()
        self.assertIn("Получили " + marker, back.as_string() +
                      "".join(p.get_payload(decode=True).decode(
                          "utf-8", "replace") for p in back.walk()
                          if p.get_content_type() == "text/plain"))

    def test_4_sign_both_ways(self):
        """[на подпись] and «Подписать» across the two nodes: the request
        travels as NeedRecipientSignature in the JSON, and the gateway's
        «Подписать» goes as a PostMessagePatch of the service's entities,
        so the operator runs the same sign checks (CORE_OP_PATCH)."""
        a, b = self.d, self.b
        lutik = a.addr(a.demo["LUTIK_INN"])
        klever_addr = "%s@edo.local" % self.klever
        marker = "sg%d" % time.time_ns()
        s = a.smtp("lutik")
        s.send_message(letter(lutik, klever_addr,
                              "[на подпись] Договор " + marker, "Прошу",
                              ("договор.txt", marker.encode())))
        s.quit()
        c = b.imap("klever")
        try:
            item = h.wait_for(lambda: inbox_find(c, marker),
                              what="the document to sign on B")
        finally:
            c.logout()
        body = "".join(p.get_content() for p in item.walk()
                       if p.get_content_type() == "text/plain")
        self.assertIn("ТРЕБУЕТСЯ ВАША ПОДПИСЬ", body)
        s = b.smtp("klever")
        reply = letter(klever_addr, lutik, "Re: Договор " + marker,
                       "Подписать\n", reply_to=item["Message-ID"])
        s.send_message(reply)
        # a second «Подписать» is refused by the operator, through B
        reply.replace_header("Message-ID", "<again-%s@test>" % marker)
        with self.assertRaises(smtplib.SMTPDataError) as cm:
            s.send_message(reply)
        self.assertEqual(cm.exception.smtp_code, 550)
        self.assertIn("already signed", cm.exception.smtp_error.decode())
        s.quit()
        c = a.imap("lutik")
        try:
            def signed():
                c.select("INBOX")
                typ, data = c.search(None, "SUBJECT", '"%s"' % marker,
                                     "HEADER", "X-EDO-Kind", "notice")
                for i in (data[0].split() if typ == "OK" else []):
                    typ, d2 = c.fetch(i, "(BODY.PEEK[HEADER.FIELDS "
                                         "(SUBJECT)])")
                    if "подписан" in email.message_from_bytes(
                            d2[0][1], policy=email.policy.default)[
                                "Subject"]:
                        return True
                return False
            h.wait_for(signed, timeout=60,
                       what="the signature notice on A")
        finally:
            c.logout()

    def test_5_cert_attached(self):
        """An organization attached with a TLS client certificate works
        like one attached with a token: its invitation and letter from
        B's SMTP reach A; a certificate A does not know is refused at
        attach, and so is one registered for another organization."""
        a, b = self.d, self.b
        lutik = a.addr(a.demo["LUTIK_INN"])
        me = "%s@edo.local" % self.landysh
        # the key is sealed in B's store, not kept in clear
        for name in os.listdir(b.dir):
            if name.startswith("edomail.db"):
                with open(os.path.join(b.dir, name), "rb") as f:
                    self.assertNotIn(b"PRIVATE KEY", f.read(), name)
        stranger = h.client_cert(a.dir, b.dir, "stranger-api")
        r = b.ctl("org", "attach", a.demo["VASILEK_INN"], "--cert-file",
                  stranger[0], "--key-file", stranger[1], check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("401", r.stderr)
        r = b.ctl("org", "attach", a.demo["VASILEK_INN"], "--cert-file",
                  self.l_cert[0], "--key-file", self.l_cert[1], check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("403", r.stderr)
        s = b.smtp("landysh")
        s.send_message(letter(me, lutik, "Давайте работать",
                              "Приглашаем / join us"))
        s.quit()
        a.ctl("accept", a.demo["LUTIK_INN"], LANDYSH_INN)
        marker = "crt%d" % time.time_ns()
        s = b.smtp("landysh")
        s.send_message(letter(me, lutik, "Счёт " + marker, "Текст " + marker,
                              ("счёт.txt", marker.encode())))
        s.quit()
        c = a.imap("lutik")
        try:
            got = h.wait_for(lambda: inbox_find(c, marker),
                             what="the certificate-attached letter on A")
        finally:
            c.logout()
        names = [p.get_filename() for p in got.walk() if p.get_filename()]
        self.assertIn("счёт.txt.sig", names)

    def test_3_operator_down(self):
        a, b = self.d, self.b
        lutik = a.addr(a.demo["LUTIK_INN"])
        klever_addr = "%s@edo.local" % self.klever
        marker = "down%d" % time.time_ns()
        msg = letter(klever_addr, lutik, "Пока оператор стоит " + marker,
                     "Текст " + marker)
        a.stop()
        try:
            s = b.smtp("klever")
            with self.assertRaises(smtplib.SMTPException) as cm:
                s.send_message(msg)
            e = cm.exception
            if hasattr(e, "recipients"):
                code, text = list(e.recipients.values())[0]
            else:
                code, text = e.smtp_code, e.smtp_error
            # DESIGN §9: the operator down is 451 4.4.1 with a clear text
            self.assertEqual(code, 451, e)
            self.assertIn(b"4.4.1", text)
            self.assertIn("недоступен", text.decode())
            self.assertIn("unreachable", text.decode())
            s.quit()
        finally:
            a.start()
        # the same letter again: it goes, once
        s = b.smtp("klever")
        s.send_message(msg)
        s.quit()
        c = a.imap("lutik")
        try:
            h.wait_for(lambda: inbox_find(c, marker),
                       what="the retried letter on A")
            c.select("INBOX")
            typ, data = c.search(None, "SUBJECT", '"%s"' % marker,
                                 "NOT", "HEADER", "X-EDO-Kind", "notice")
            self.assertEqual(len(data[0].split()), 1)
        finally:
            c.logout()

    def test_5_idle_long_poll(self):
        """IDLE on the gateway node sees a letter sent at the operator
        node at once: the follower's long-poll (GetNewEvents waitSeconds)
        is answered when the operator commits.  B polls only every 10
        minutes and IDLE resyncs on its own every 30 s, so EXISTS within
        15 s can only have come by the long-poll."""
        a, b = self.d, self.b
        lutik = a.addr(a.demo["LUTIK_INN"])
        klever_addr = "%s@edo.local" % self.klever
        c = b.imap("klever")
        try:
            c.select("INBOX")
            # an earlier test's letter may still be on its way: settle
            time.sleep(1)
            c.noop()
            count = int(c.untagged_responses["EXISTS"][-1])
            tag = c._new_tag()
            c.send(tag + b" IDLE\r\n")
            self.assertTrue(c.readline().startswith(b"+"))
            marker = "lp%d" % time.time_ns()
            s = a.smtp("lutik")
            s.send_message(letter(lutik, klever_addr, "Долгий опрос " + marker,
                                  "Текст " + marker))
            s.quit()
            sent = time.monotonic()
            c.sock.settimeout(15)
            line = c.readline()
            while not (line.endswith(b"EXISTS\r\n") and
                       int(line.split()[1]) > count):
                line = c.readline()
            took = time.monotonic() - sent
            self.assertLess(took, 15)
            c.send(b"DONE\r\n")
            while not c.readline().startswith(tag):
                pass
            self.assertIsNotNone(inbox_find(c, marker))
        finally:
            c.logout()

    def test_6_sent_copy_from_posted(self):
        """The Sent copy of a letter sent through the gateway takes the
        documents' bytes from what B posted (core-http.c, "posted"): B
        asks GetMessage without content, the documents do not come back
        as base64; the copy has exactly the bytes A stored and delivered
        (the same document and signature as Лютик's INBOX copy on A)."""
        b = self.b
        doc = os.urandom(60000)
        marker = self.send_from_b("Счёт", "счёт.bin", doc)

        def is_letter(m, f):
            return (marker in (m["Subject"] or "") and
                    m.get("X-EDO-Kind") != "notice")

        sent, _, _ = imap_wait(b, "klever", SENT, is_letter)
        edo_id = sent["X-EDO-Message-Id"]
        self.assertTrue(edo_id)
        self.assertIn("message %s from the posted copy" % edo_id, b.log())
        mine, theirs = parts_by_name(sent), parts_by_name(self.at_a(marker))
        self.assertEqual(mine["счёт.bin"], doc)
        self.assertEqual(mine["счёт.bin"], theirs["счёт.bin"])
        self.assertEqual(mine["счёт.bin.sig"], theirs["счёт.bin.sig"])

    def send_from_b(self, subject, filename, doc):
        """Клевер sends Лютик a letter with one document through B's SMTP;
        the marker in its subject."""
        a = self.d
        marker = "m%d" % time.time_ns()
        s = self.b.smtp("klever")
        s.send_message(letter("%s@edo.local" % self.klever,
                              a.addr(a.demo["LUTIK_INN"]),
                              "%s %s" % (subject, marker),
                              "Текст " + marker, (filename, doc)))
        s.quit()
        return marker

    def at_a(self, marker):
        """The letter with the marker, once it is in Лютик's INBOX on A."""
        return h.wait_for(lambda: inbox_find_conn(self.d, marker),
                          what="B's letter in Лютик's INBOX on A")

    def fill_shelf(self, token):
        """Uploads one-byte documents to A's shelf with the box's token
        until A refuses: the number taken and the refusal's status and
        Retry-After."""
        ctx = ssl.create_default_context(cafile=self.d.cafile)
        conn = http.client.HTTPSConnection("127.0.0.1", self.api_port,
                                           context=ctx, timeout=30)
        try:
            for n in range(5000):
                conn.request("POST", "/V2/ShelfUpload?fileExtension=.txt",
                             b"x", {"Authorization": "Bearer " + token,
                                    "Content-Type":
                                    "application/octet-stream"})
                r = conn.getresponse()
                r.read()
                if r.status != 200:
                    return n, r.status, r.getheader("Retry-After")
            self.fail("A's shelf took 5000 documents of one box")
        finally:
            conn.close()

    def test_7_shelf_full_inline(self):
        """With Клевер's shelf at A full, a letter from B with a document
        big enough for the shelf (16 KB and more) still goes at once: B
        posts the document inside PostMessage, and Лютик gets exactly its
        bytes and signature."""
        taken, status, retry = self.fill_shelf(self.token)
        self.assertEqual((status, retry), (429, "5"))
        self.assertGreater(taken, 0)
        doc = os.urandom(40000)
        parts = parts_by_name(self.at_a(self.send_from_b(
            "Накладная", "накладная.bin", doc)))
        self.assertEqual(parts["накладная.bin"], doc)
        self.assertIn("накладная.bin.sig", parts)
        # the shelf is still full: the document did not go by it
        self.assertEqual(self.fill_shelf(self.token)[:2], (0, 429))


def inbox_find_conn(d, marker):
    c = d.imap("lutik")
    try:
        return inbox_find(c, marker)
    finally:
        c.logout()


if __name__ == "__main__":
    h.main()
