"""Issue 11: the client's copy in Отправленные is never refused, and what
the user sees there after sending is the EDO record; state changes arrive
as notice letters threaded to the item.

The Sent copy is checked with Thunderbird's real sequence: the folder is
open (its UIDs known), the letter goes by SMTP, the client APPENDs its own
copy to Sent and files it under the APPENDUID it gets, then it syncs the
folder (NOOP, UID FETCH 1:* FLAGS): a UID that is gone is dropped from its
store, a UID it does not know is fetched from the server."""
import email
import email.policy
import re

from edomail_harness import DaemonTestCase, main, utf7_encode
from test_smtp_invite import invitation_of, swaks_reply
from test_smtp_session import (IN_INV, L_INN, OUT_INV, R_INN, SENT, V_INN,
                               imap_messages, imap_wait, make_mail, submit)

SENT_Q = '"%s"' % utf7_encode(SENT)


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def uids(c):
    typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
    out = set()
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if line:
            m = re.search(rb"UID (\d+)", line)
            if m:
                out.add(int(m.group(1)))
    return out


class ThunderbirdSent:
    """A client that keeps an offline store of Sent as Thunderbird does."""

    def __init__(self, d, login):
        self.c = d.imap(login)
        typ, _ = self.c.select(SENT_Q)
        assert typ == "OK"
        self.store = {u: None for u in uids(self.c)}

    def append(self, raw):
        """APPEND as after sending; files the copy under APPENDUID."""
        typ, data = self.c.append(SENT_Q, r"(\Seen)", None, raw)
        text = b" ".join(x for x in data if isinstance(x, bytes)).decode()
        m = re.search(r"APPENDUID (\d+) (\d+)", text)
        uid = int(m.group(2)) if m else None
        if uid is not None:
            self.store[uid] = raw
        return typ, text, uid

    def sync(self):
        """Drops what the server no longer has, fetches what is new;
        returns {uid: bytes} of the messages now shown for new UIDs."""
        self.c.noop()
        server = uids(self.c)
        for u in list(self.store):
            if u not in server:
                del self.store[u]
        fetched = {}
        for u in sorted(server - set(self.store)):
            typ, data = self.c.uid("FETCH", str(u), "(BODY.PEEK[])")
            fetched[u] = self.store[u] = data[0][1]
        return fetched

    def close(self):
        try:
            self.c.logout()
        except Exception:
            pass


class SentAndNotices(DaemonTestCase):
    tools = ("swaks-tls",)

    def absorbed(self, login, from_addr, to_addr, data, kind):
        """Sends data (already submitted or not) then APPENDs it the
        Thunderbird way: OK, the copy's UID gone; returns the new items."""
        tb = ThunderbirdSent(self.d, login)
        try:
            if from_addr is not None:
                code, text = submit(self.d, login, from_addr, to_addr, data)
                self.assertEqual(code, 250, text)
            typ, text, uid = tb.append(data)
            self.assertEqual(typ, "OK", "%s: %s" % (kind, text))
            self.assertIsNotNone(uid, "%s: APPENDUID in %s" % (kind, text))
            new = tb.sync()
            self.assertNotIn(uid, tb.store,
                             "%s: the client's own copy is dropped" % kind)
            self.assertNotIn(uid, new)
            return new
        finally:
            tb.close()

    def test_1_letter_shows_edo_record(self):
        d = self.d
        data, mid = make_mail(d.addr(R_INN), d.addr(L_INN), "Договор",
                              "Договор во вложении\n",
                              [("dogovor.pdf", b"%PDF-1.4 dogovor")])
        new = self.absorbed("romashka", d.addr(R_INN), d.addr(L_INN), data,
                            "a letter")
        self.assertEqual(len(new), 1, "the EDO item is fetched as new")
        msg = parse(list(new.values())[0])
        # its own Message-ID (the EDO message's), the client's in a header
        # of its own: Thunderbird takes a new UID with the Message-ID of
        # its APPENDed copy for that copy (doc/imap.md)
        self.assertNotEqual(msg["Message-ID"].strip("<>"), mid)
        self.assertEqual(msg["X-EDO-Client-Message-ID"].strip("<>"), mid)
        self.assertIn(d.box_id(R_INN), msg["From"])
        names = [p.get_filename() for p in msg.walk() if p.get_filename()]
        self.assertIn("dogovor.pdf", names)
        self.assertIn("dogovor.pdf.sig", names)
        self.assertTrue(any(k.lower().startswith("x-edo") for k in msg.keys()))

    def test_2_answer_absorbed(self):
        d = self.d
        orig, _, _ = imap_wait(d, "lutik", "INBOX",
                               lambda m, f: m["Subject"] == "Договор")
        data, mid = make_mail(d.addr(L_INN), d.addr(R_INN), "Re: Договор",
                              "Получили, спасибо\n",
                              headers={"In-Reply-To": orig["Message-ID"]})
        new = self.absorbed("lutik", d.addr(L_INN), d.addr(R_INN), data,
                            "an answer")
        self.assertEqual(len(new), 1)
        msg = parse(list(new.values())[0])
        self.assertNotEqual(msg["Message-ID"].strip("<>"), mid)
        self.assertEqual(msg["X-EDO-Client-Message-ID"].strip("<>"), mid)
        self.assertIn(d.box_id(L_INN), msg["From"])

    def test_3_invitation_and_acceptance(self):
        d = self.d
        data, _ = make_mail(d.addr(R_INN), d.addr(V_INN), "Приглашение",
                            "Приглашаем к обмену документами\n")
        new = self.absorbed("romashka", d.addr(R_INN), d.addr(V_INN), data,
                            "an invitation")
        self.assertEqual(new, {}, "no item in Sent for an invitation")
        inv, _, _ = invitation_of(d, "vasilek", IN_INV, R_INN)
        inv_mid = inv["Message-ID"].strip().strip("<>")
        out, _, _ = invitation_of(d, "romashka", OUT_INV, V_INN)
        out_mid = out["Message-ID"].strip().strip("<>")

        reply, _ = make_mail(d.addr(V_INN), d.addr(R_INN), "Re: Приглашение",
                             "Принять\n\nС уважением, Кузнецов\n",
                             headers={"In-Reply-To": "<%s>" % inv_mid,
                                      "References": "<%s>" % inv_mid})
        new = self.absorbed("vasilek", d.addr(V_INN), d.addr(R_INN), reply,
                            "an acceptance")
        self.assertEqual(new, {})

        # The inviter reads it in INBOX, threaded to its invitation.
        note, _, _ = imap_wait(
            d, "romashka", "INBOX",
            lambda m, f: m.get("X-EDO-Kind") == "notice" and
            out_mid in (m.get("In-Reply-To") or ""))
        self.assertIn(out_mid, note["References"])
        body = note.get_body(preferencelist=("plain",)).get_content()
        self.assertIn("приняла ваше приглашение", body)
        self.assertIn("accepted your invitation", body)
        self.assertIn("С уважением, Кузнецов", body)
        self.assertIn("Приглашение принято", note["Subject"])
        # Nobody else does.
        for login in ("vasilek", "lutik"):
            for _, _, raw in imap_messages(d, login, "INBOX"):
                self.assertNotIn(out_mid.encode(), raw, login)

    def test_4_rejection_with_comment(self):
        d = self.d
        data, _ = make_mail(d.addr(L_INN), d.addr(V_INN), "Приглашение",
                            "Предлагаем ЭДО\n")
        self.absorbed("lutik", d.addr(L_INN), d.addr(V_INN), data,
                      "an invitation")
        inv, _, _ = invitation_of(d, "vasilek", IN_INV, L_INN)
        inv_mid = inv["Message-ID"].strip().strip("<>")
        out, _, _ = invitation_of(d, "lutik", OUT_INV, V_INN)
        out_mid = out["Message-ID"].strip().strip("<>")
        reply, _ = make_mail(d.addr(V_INN), d.addr(L_INN), "Re: Приглашение",
                             "Нет, спасибо. Работаем на бумаге.\n",
                             headers={"In-Reply-To": "<%s>" % inv_mid})
        self.absorbed("vasilek", d.addr(V_INN), d.addr(L_INN), reply,
                      "a refusal")
        note, _, _ = imap_wait(
            d, "lutik", "INBOX",
            lambda m, f: m.get("X-EDO-Kind") == "notice" and
            out_mid in (m.get("In-Reply-To") or ""))
        self.assertIn(out_mid, note["References"])
        body = note.get_body(preferencelist=("plain",)).get_content()
        self.assertIn("отклонила ваше приглашение", body)
        self.assertIn("Работаем на бумаге", body)
        self.assertIn("rejected your invitation", body)
        for login in ("vasilek", "romashka"):
            for _, _, raw in imap_messages(d, login, "INBOX"):
                self.assertNotIn(out_mid.encode(), raw, login)

    def test_5_unknown_copy_kept_marked(self):
        d = self.d
        data, mid = make_mail(d.addr(R_INN), "someone@example.org",
                              "Не через ЭДО", "Обычное письмо\n")
        tb = ThunderbirdSent(d, "romashka")
        try:
            typ, text, uid = tb.append(data)
            self.assertEqual(typ, "OK", text)
            self.assertIsNotNone(uid)
            tb.sync()
            self.assertIn(uid, tb.store, "the copy stays")
            typ, resp = tb.c.uid("FETCH", str(uid), "(FLAGS)")
            self.assertIn(b"$EDO_NotEDO", resp[0])
            self.assertIn(b"\\Seen", resp[0])
        finally:
            tb.close()


if __name__ == "__main__":
    main()
