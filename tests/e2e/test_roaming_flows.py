#!/usr/bin/env python3
"""Roaming (issue 15 section 2, doc/roaming.md): the mail actions across
two operators, as test_sealed.py, test_sign.py, test_receipts.py and
test_smtp_invite.py check them on one node.

Node A is the demo (2ED: Ромашка, Лютик, Василёк), node B a second
operator (2BK: Клевер); see test_roaming.RoamingBase.  Ромашка and Клевер
become counteragents in setUpClass.  Then: encrypted letters both ways
read in clear; a signature requested, given by reply on the other node,
with both signatures and $EDO_Signed at the sender and the receipts
flowing back; a refusal with its reason (DP_UVUTOCH) across; the other
direction of the signature; invitations rejected (by edomailctl and by a
reply) and withdrawn across."""
import time
import uuid

import edomail_harness as h
from test_flow_notices import files_of, xsd_valid
from test_roaming import KLEVER_INN, REPORT, RoamingBase
from test_smtp_session import (IN_INV, L_INN, OUT_INV, R_INN, SENT, V_INN,
                               db_contains, edo_id, imap_wait, make_mail,
                               parts_by_name, submit, verify_sig)

UVUTOCH = "DP_UVUTOCH_1_985_00_01_03_01.xsd"


def ca_status(d, org, other):
    """The line of `edomailctl counteragent list ORG` naming other."""
    for ln in d.ctl("counteragent", "list", org).stdout.splitlines():
        if other in ln:
            return ln
    return ""


def notice(d, login, item_id, pred, timeout=90):
    """The notice in login's INBOX threaded to item_id for which
    pred(subject, files) holds."""
    msg, _, _ = imap_wait(
        d, login, "INBOX",
        lambda m, f: m.get("X-EDO-Kind") == "notice" and
        item_id in (m.get("In-Reply-To") or "") and
        pred(m["Subject"] or "", files_of(m)), timeout=timeout)
    return msg


def mid_of(item):
    return item["Message-ID"].strip("<> ")


class RoamingFlows(RoamingBase):
    tools = ("openssl-gost", "xmllint")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        a, b = cls.d, cls.b
        a.ctl("invite", R_INN, KLEVER_INN, "--text", "Давайте работать")
        h.wait_for(lambda: b.ctl("accept", KLEVER_INN, R_INN,
                                 check=False).returncode == 0,
                   timeout=60, what="Ромашка's invitation at B")
        h.wait_for(lambda: "IsMyCounteragent" in
                   ca_status(a, R_INN, cls.klever),
                   timeout=60, what="Клевер's acceptance at A")

    def a_addr(self, inn):
        return self.d.addr(inn)

    # ---- encryption ----

    def test_1_encrypted_both_ways(self):
        a, b = self.d, self.b
        for node, login, frm, to, rnode, rlogin, how in (
                (a, "romashka", self.romashka,
                 self.klever_addr.replace("@", "+encrypt@"), b, "klever",
                 "subaddress"),
                (b, "klever", self.klever_addr, self.romashka, a,
                 "romashka", "tag")):
            tag = uuid.uuid4().hex
            text = "ТайныйТекст-" + tag
            doc = ("SecretDocument-" + tag + "\n").encode() * 300
            subject = ("[шифр] Ведомость " if how == "tag" else
                       "Ведомость ") + tag
            data, _ = make_mail(frm, to, subject, "Добрый день!\n" + text +
                                "\n", [("ведомость.bin", doc)])
            code, reply = submit(node, login, frm, to, data)
            self.assertEqual(code, 250, reply)
            self.assertIn("зашифровано", reply)
            msg_id = edo_id(reply)
            self.assertIsNotNone(msg_id, reply)
            # the recipient on the other node reads it in clear, the
            # signature valid there
            msg, _, _ = imap_wait(rnode, rlogin, "INBOX",
                                  lambda m, f: m.get("X-EDO-Kind") !=
                                  "notice" and tag in (m["Subject"] or ""),
                                  timeout=90)
            self.assertNotIn("[шифр]", msg["Subject"])
            self.assertEqual(msg.get("X-EDO-Encrypted"), "yes")
            body = msg.get_body(preferencelist=("plain",)).get_content()
            self.assertIn(text, body)
            parts = parts_by_name(msg)
            self.assertEqual(parts["ведомость.bin"], doc)
            self.assertIn("Результат: Действительна",
                          parts[REPORT].decode("utf-8"))
            # neither operator holds the plaintext
            for d in (node, rnode):
                self.assertFalse(db_contains(d, text.encode()))
                self.assertFalse(db_contains(d, doc))

    # ---- signature requested across ----

    def request_signature(self, node, login, frm, to, rnode, rlogin,
                          subject, doc):
        """A letter asking for the recipient's signature; (the
        recipient's item, the sender's Sent item)."""
        data, _ = make_mail(frm, to, subject, "Прошу подписать\n", [doc])
        code, reply = submit(node, login, frm, to, data)
        self.assertEqual(code, 250, reply)
        plain = subject.replace("[на подпись] ", "")
        item, _, _ = imap_wait(rnode, rlogin, "INBOX",
                               lambda m, f: m["Subject"] == plain and
                               "$EDO_NeedsSign" in f, timeout=90)
        sent, _, _ = imap_wait(node, login, SENT,
                               lambda m, f: m["Subject"] == plain and
                               "$EDO_NeedsSign" in f)
        return item, sent

    def reply(self, node, login, frm, to, item, text):
        data, _ = make_mail(frm, to, "Re: " + item["Subject"], text,
                            headers={"In-Reply-To": item["Message-ID"],
                                     "References": item["Message-ID"]})
        return submit(node, login, frm, to, data)

    def check_signed(self, node, login, folder, subject, item, doc,
                     word):
        """login's notice threaded to item with both signatures (valid),
        and $EDO_Signed on the item."""
        note = notice(node, login, mid_of(item),
                      lambda s, fs: word in s and
                      len([n for n in fs if n.endswith(".sig")]) == 2)
        sigs = [n for n in files_of(note) if n.endswith(".sig")]
        for n in sigs:
            self.assertTrue(verify_sig(doc[1], files_of(note)[n],
                                       gost=True), n)
        body = note.get_body(preferencelist=("plain",)).get_content()
        self.assertIn("подписан получателем", body)
        imap_wait(node, login, folder,
                  lambda m, f: m["Subject"] == subject and
                  "$EDO_Signed" in f, timeout=90)

    def test_2_sign_by_reply_across_and_receipts(self):
        a, b = self.d, self.b
        tag = uuid.uuid4().hex[:8]
        subject = "Акт " + tag
        doc = ("akt-%s.pdf" % tag, b"%PDF-1.4 akt " + tag.encode())
        item, sent = self.request_signature(
            a, "romashka", self.romashka, self.klever_addr, b, "klever",
            "[на подпись] " + subject, doc)
        body = item.get_body(preferencelist=("plain",)).get_content()
        self.assertIn("ТРЕБУЕТСЯ ВАША ПОДПИСЬ", body)
        # Клевер signs by a reply on B
        code, reply = self.reply(b, "klever", self.klever_addr,
                                 self.romashka, item, "Подписать\n")
        self.assertEqual(code, 250, reply)
        self.check_signed(a, "romashka", SENT, subject, sent, doc,
                          "подписаны")
        self.check_signed(b, "klever", "INBOX", subject, item, doc,
                          "подписал")
        # a second «Подписать» is refused on B
        code, reply = self.reply(b, "klever", self.klever_addr,
                                 self.romashka, item, "Подписать\n")
        self.assertEqual(code, 550, reply)
        # the receipts: the sender has its operator's ПДОтпр and Клевер's
        # ИоП; Клевер its operator's ПДПол
        notice(a, "romashka", mid_of(sent),
               lambda s, fs: any(n.startswith("DP_PDOTPR_") for n in fs))
        izv = notice(a, "romashka", mid_of(sent),
                     lambda s, fs: any(n.startswith("DP_IZVPOL_")
                                       for n in fs))
        fs = files_of(izv)
        xml = [n for n in fs if n.startswith("DP_IZVPOL_") and
               n.endswith(".xml")][0]
        ok, out = xsd_valid(fs[xml], "DP_IZVPOL_1_982_00_01_03_01.xsd")
        self.assertTrue(ok, out)
        self.assertTrue(verify_sig(fs[xml], fs[xml + ".sig"], gost=True))
        notice(b, "klever", mid_of(item),
               lambda s, fs: any(n.startswith("DP_PDPOL_") for n in fs))

    def test_3_refusal_with_reason_across(self):
        a, b = self.d, self.b
        tag = uuid.uuid4().hex[:8]
        subject = "Счёт " + tag
        to = self.klever_addr.replace("@", "+sign@")
        item, sent = self.request_signature(
            a, "romashka", self.romashka, to, b, "klever", subject,
            ("schet-%s.pdf" % tag, b"%PDF-1.4 schet " + tag.encode()))
        code, reply = self.reply(b, "klever", self.klever_addr,
                                 self.romashka, item,
                                 "Отказать: неверная сумма\n")
        self.assertEqual(code, 250, reply)
        imap_wait(a, "romashka", SENT,
                  lambda m, f: m["Subject"] == subject and
                  "$EDO_Refused" in f, timeout=90)
        note = notice(a, "romashka", mid_of(sent),
                      lambda s, fs: "Отказано" in s)
        self.assertIn("неверная сумма",
                      note.get_body(preferencelist=("plain",)).get_content())
        fs = files_of(note)
        xmls = [n for n in fs if n.startswith("DP_UVUTOCH_") and
                n.endswith(".xml")]
        self.assertEqual(len(xmls), 1, list(fs))
        ok, out = xsd_valid(fs[xmls[0]], UVUTOCH)
        self.assertTrue(ok, out)
        self.assertIn("неверная сумма".encode("cp1251"), fs[xmls[0]])
        self.assertTrue(verify_sig(fs[xmls[0]], fs[xmls[0] + ".sig"],
                                   gost=True))
        # refused is final on both sides
        code, reply = self.reply(b, "klever", self.klever_addr,
                                 self.romashka, item, "Подписать\n")
        self.assertEqual(code, 550, reply)

    def test_4_signature_requested_from_b(self):
        a, b = self.d, self.b
        tag = uuid.uuid4().hex[:8]
        subject = "Договор " + tag
        doc = ("dogovor-%s.pdf" % tag, b"%PDF-1.4 dogovor " + tag.encode())
        item, sent = self.request_signature(
            b, "klever", self.klever_addr, self.romashka, a, "romashka",
            "[на подпись] " + subject, doc)
        code, reply = self.reply(a, "romashka", self.romashka,
                                 self.klever_addr, item, "Подписать\n")
        self.assertEqual(code, 250, reply)
        self.check_signed(b, "klever", SENT, subject, sent, doc,
                          "подписаны")
        self.check_signed(a, "romashka", "INBOX", subject, item, doc,
                          "подписал")

    # ---- invitations rejected and withdrawn across ----

    def test_5_invitation_rejected_by_ctl_across(self):
        a, b = self.d, self.b
        # Лютик (A) invites Клевер (B) by mail; Клевер rejects on B
        to = "%s@edo.local" % KLEVER_INN
        data, _ = make_mail(self.a_addr(L_INN), to, "Приглашение",
                            "Предлагаем ЭДО\n")
        code, reply = submit(a, "lutik", self.a_addr(L_INN), to, data)
        self.assertEqual(code, 250, reply)
        self.assertIn("IsInvitedByMe", ca_status(a, L_INN, self.klever))
        h.wait_for(lambda: b.ctl("reject", KLEVER_INN, L_INN, "--comment",
                                 "Не сейчас", check=False).returncode == 0,
                   timeout=60, what="Лютик's invitation at B")
        self.assertIn("IsRejectedByMe", ca_status(b, KLEVER_INN, L_INN))
        h.wait_for(lambda: "RejectsMe" in ca_status(a, L_INN, self.klever),
                   timeout=60, what="the rejection back at A")
        imap_wait(a, "lutik", OUT_INV,
                  lambda m, f: KLEVER_INN in
                  (m.get("X-EDO-Counteragent-INN") or "") and
                  "$EDO_Rejected" in f,
                  timeout=60)

    def test_6_invitation_rejected_by_reply_across(self):
        a, b = self.d, self.b
        # Клевер (B) invites Василёк (A), found at A by ИНН; Василёк
        # declines with a reply on A
        to = "%s@edo.local" % V_INN
        data, _ = make_mail(self.klever_addr, to, "Знакомство",
                            "Приглашаем к обмену\n")
        code, reply = submit(b, "klever", self.klever_addr, to, data)
        self.assertEqual(code, 250, reply)
        msg, _, _ = imap_wait(a, "vasilek", IN_INV,
                              lambda m, f: KLEVER_INN in
                              (m.get("X-EDO-Counteragent-INN") or ""),
                              timeout=90)
        code, reply = self.reply(a, "vasilek", self.a_addr(V_INN),
                                 self.klever_addr, msg,
                                 "Нет, спасибо. Работаем на бумаге.\n")
        self.assertEqual(code, 250, reply)
        self.assertIn("IsRejectedByMe", ca_status(a, V_INN, KLEVER_INN))
        h.wait_for(lambda: "RejectsMe" in ca_status(b, KLEVER_INN, V_INN),
                   timeout=60, what="Василёк's rejection back at B")
        imap_wait(b, "klever", OUT_INV,
                  lambda m, f: V_INN in
                  (m.get("X-EDO-Counteragent-INN") or "") and
                  "$EDO_Rejected" in f, timeout=60)

    def test_7_invitation_withdrawn_across(self):
        a, b = self.d, self.b
        # after test 5's rejection Клевер may invite Лютик itself, then
        # withdraws; A sees the invitation come and go
        if "RejectsMe" not in ca_status(a, L_INN, self.klever):
            self.test_5_invitation_rejected_by_ctl_across()
        b.ctl("invite", KLEVER_INN, L_INN, "--text", "Всё-таки давайте")
        h.wait_for(lambda: "InvitesMe" in ca_status(a, L_INN, self.klever),
                   timeout=60, what="Клевер's invitation at A")
        imap_wait(a, "lutik", IN_INV,
                  lambda m, f: KLEVER_INN in
                  (m.get("X-EDO-Counteragent-INN") or "") and
                  "$EDO_Withdrawn" not in f, timeout=60)
        b.ctl("withdraw", KLEVER_INN, L_INN)
        self.assertNotIn("IsInvitedByMe", ca_status(b, KLEVER_INN, L_INN))
        h.wait_for(lambda: "InvitesMe" not in
                   ca_status(a, L_INN, self.klever),
                   timeout=60, what="the withdrawal at A")
        imap_wait(a, "lutik", IN_INV,
                  lambda m, f: KLEVER_INN in
                  (m.get("X-EDO-Counteragent-INN") or "") and
                  "$EDO_Withdrawn" in f, timeout=60)
        # Лютик's «Принять» to a withdrawn invitation is refused
        self.assertNotEqual(a.ctl("accept", L_INN, self.klever,
                                  check=False).returncode, 0)


if __name__ == "__main__":
    h.main()
