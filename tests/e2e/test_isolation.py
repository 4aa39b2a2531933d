#!/usr/bin/env python3
"""Isolation between organizations, end to end.

A user of organization A (`vasilek`, ООО Василёк) aims every IMAP command
that names a mailbox and every SMTP step at organization B (ООО Ромашка):
B's folder names as `buh` sees them, B's user folder, B's participant id,
wildcards.  Each is refused, and the answer is the same as for a folder or
an address that does not exist at all (after the tag and the name the
client itself sent are taken out), so the answers tell nothing about B.
Per-organization logins `buh+<ИНН>` see only their organization, and a
`+<ИНН>` the user does not serve fails like a wrong password.  At the end
B's folders, messages and invitations are as they were.

test_imap.py already checks SELECT/STATUS/COPY of a foreign folder and a
FETCH over foreign UIDs, test_smtp_rights.py MAIL FROM of a box the login
does not serve for per-organization logins and From spoofing by a member
of both; this file compares the answers and covers the rest.
"""
import concurrent.futures
import email
import email.policy
import email.utils
import os
import re
import unittest
import uuid

import edomail_harness as h
from edomail_harness import utf7_decode, utf7_encode as u7
from test_imap_badinput import Raw
from test_smtp_session import (L_INN, R_INN, V_INN, RawSMTP, ctl_messages,
                               ctl_message_show, edo_id, imap_wait, make_mail,
                               raw_session, submit)

SECRET = "СекретРомашки-" + uuid.uuid4().hex[:8]
SECRET_FOLDER = "Архив/Папка " + SECRET
# A fourth organization that invites Ромашка, so that B has an invitation
# whose id A may try to answer.
ODUV = {"name": "ООО Одуванчик", "inn": None, "kpp": "771001001"}


def inn10(prefix9):
    """A 10-digit ИНН with a valid check digit."""
    k = [2, 4, 10, 3, 5, 9, 4, 6, 8]
    s = sum(int(c) * w for c, w in zip(prefix9, k))
    return prefix9 + str(s % 11 % 10)


ODUV["inn"] = inn10("771000555")
NOBODY_INN = inn10("770999111")    # valid, but no such organization


def norm(lines, *names):
    """An IMAP transcript without tags and without the names the client
    sent (so that two answers can be compared)."""
    out = []
    for ln in lines:
        ln = ln.decode("utf-8", "replace").rstrip("\r\n")
        ln = re.sub(r"^[A-Za-z0-9.]+ (OK|NO|BAD) ", r"TAG \1 ", ln)
        for n in names:
            if n:
                ln = ln.replace(n, "<NAME>")
        out.append(ln)
    return out


class Isolation(h.DaemonTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.d
        d.ctl("org", "add", "--name", ODUV["name"], "--inn", ODUV["inn"],
              "--kpp", ODUV["kpp"], "--short", "Одуванчик")
        # Лютик sends Ромашка a document with a secret subject.
        cls.doc = b"%PDF-1.4\n" + os.urandom(3000) + b"\n%%EOF\n"
        data, _ = make_mail(d.addr(L_INN), d.addr(R_INN), "Счёт " + SECRET,
                            "Текст " + SECRET + "\n",
                            [("Счёт %s.pdf" % SECRET, cls.doc, "application/pdf")])
        code, text = submit(d, "lutik", d.addr(L_INN), d.addr(R_INN), data)
        assert code == 250, text
        cls.b_msg = edo_id(text)
        # Одуванчик invites Ромашка; Василёк and Лютик become
        # counteragents (so that a forward from A to Лютик is a letter).
        d.ctl("invite", ODUV["inn"], R_INN, "--text", "Приглашение " + SECRET)
        d.ctl("invite", V_INN, L_INN, "--text", "Давайте дружить")
        d.ctl("accept", L_INN, V_INN)
        d.ctl("invite", V_INN, ODUV["inn"], "--text", "И с вами")
        d.ctl("accept", ODUV["inn"], V_INN)
        cls.b_inv = None
        for row in ctl_messages(d, R_INN):
            if row["kind"].startswith("inv") and row["dir"].startswith("in"):
                cls.b_inv = row["id"]
        assert cls.b_inv, d.ctl("message", "list", R_INN).stdout
        # B's user folder with the message in it.
        c = d.imap("romashka")
        assert c.create('"%s"' % u7(SECRET_FOLDER))[0] == "OK"
        imap_wait(d, "romashka", "INBOX",
                  lambda m, f: SECRET in str(m["Subject"]))
        imap_wait(d, "romashka", "Входящие/Приглашения",
                  lambda m, f: ODUV["inn"] in str(m.get("X-EDO-Counteragent-INN")))
        c.select("INBOX")
        c.literal = SECRET.encode()
        typ, data = c.search("UTF-8", "SUBJECT")
        seq = data[0].split()[-1].decode()
        assert c.copy(seq, '"%s"' % u7(SECRET_FOLDER))[0] == "OK"
        c.logout()
        # B's top-level folder as a user of both organizations sees it.
        b = d.imap("buh")
        tops = [utf7_decode(re.search(rb'"/" "?([^"]*)"?$', x).group(1).decode())
                for x in b.list('""', "%")[1]]
        b.logout()
        cls.b_top = [t for t in tops if R_INN in t][0]
        cls.b_box = d.box_id(R_INN)
        cls.b_state = cls.state_of_b()

    @classmethod
    def state_of_b(cls):
        """What B has: folders, message counts, UIDNEXT, counteragents."""
        d = cls.d
        c = d.imap("romashka")
        state = {}
        for x in c.list('""', "*")[1]:
            name = re.search(rb'"/" ("[^"]*"|\S+)$', x).group(1).strip(b'"')
            typ, data = c.status(b'"' + name + b'"', "(MESSAGES UIDNEXT)")
            state[utf7_decode(name.decode())] = (typ, data[0])
        c.logout()
        state["_ca"] = d.ctl("counteragent", "list", R_INN).stdout
        state["_msgs"] = len(ctl_messages(d, R_INN))
        return state

    def tearDown(self):
        # whatever A tried, B is untouched
        self.assertEqual(self.state_of_b(), self.b_state)

    # ---- IMAP ----

    def foreign_and_control(self):
        """(name of B's, name of the same shape that exists nowhere)."""
        nobody_top = "Нет такой %s" % NOBODY_INN
        return [
            (self.b_top, nobody_top),
            (self.b_top + "/INBOX", nobody_top + "/INBOX"),
            (self.b_top + "/Архив", nobody_top + "/Архив"),
            (self.b_top + "/" + SECRET_FOLDER, nobody_top + "/Архив/Папка Нет"),
            (self.b_top + "/Входящие/Приглашения",
             nobody_top + "/Входящие/Приглашения"),
            (self.b_box, "2EDnosuchparticipant"),
            (self.b_box + "/INBOX", "2EDnosuchparticipant/INBOX"),
            (R_INN, NOBODY_INN),
            ("Ромашка/Архив", "Нетакой/Архив"),
            ("../" + self.b_top, "../" + nobody_top),
            ("INBOX/../" + self.b_top, "INBOX/../" + nobody_top),
        ]

    def compare(self, r, template, foreign, control, tag="t", may_be_ok=False):
        """Sends template % name (name quoted, modified UTF-7) for the
        foreign and the control name; the answers must be the same once
        the tag and the names are taken out, and (unless may_be_ok) not
        OK."""
        outs = []
        for name in (foreign, control):
            wire = u7(name)
            u, t = r.cmd(tag, template % ('"%s"' % wire))
            outs.append((norm(u + [t], wire), t))
        if not may_be_ok:
            self.assertFalse(outs[0][1].startswith(tag.encode() + b" OK"),
                             (template, foreign, outs[0]))
        self.assertEqual(outs[0][0], outs[1][0], (template, foreign))
        text = "\n".join(outs[0][0])
        for leak in (SECRET, self.b_box, "Ромашка", R_INN):
            if leak not in foreign:
                self.assertNotIn(leak, text, (template, foreign))
        return outs[0][0]

    def test_imap_mailbox_commands(self):
        d = self.d
        r = Raw(d)
        self.assertIn(b"L OK", r.login("vasilek"))
        self.assertTrue(r.cmd("c", 'CREATE "%s"' % u7("Архив/Моя"))[1]
                        .startswith(b"c OK"))
        for foreign, control in self.foreign_and_control():
            for template in ("SELECT %s", "EXAMINE %s",
                             "STATUS %s (MESSAGES UIDNEXT)", "DELETE %s",
                             'RENAME %%s "%s"' % u7("Архив/Новая"),
                             'RENAME "%s" %%s' % u7("Архив/Моя"),
                             "APPEND %s {5+}\r\nHello"):
                self.compare(r, template, foreign, control)
            self.compare(r, "CREATE %s", foreign + "/x", control + "/x")
            # SUBSCRIBE of a name that does not exist is allowed by RFC
            # 3501 6.3.6; either way the two answers must be alike
            for template in ("SUBSCRIBE %s", "UNSUBSCRIBE %s"):
                self.compare(r, template, foreign, control, may_be_ok=True)
        # COPY, MOVE, UID COPY, UID MOVE from A's own folder
        mine = '"%s"' % u7("Архив/Моя")
        self.assertTrue(r.cmd("a", "APPEND %s {5+}\r\nHello" % mine)[1]
                        .startswith(b"a OK"))
        u, t = r.cmd("s", "SELECT " + mine)
        self.assertTrue(t.startswith(b"s OK"))
        for foreign, control in self.foreign_and_control():
            for template in ("COPY 1 %s", "MOVE 1 %s", "UID COPY 1:* %s",
                             "UID MOVE 1:* %s", "COPY 1:* %s"):
                self.compare(r, template, foreign, control)
        # the message is still in A's folder
        u, t = r.cmd("n", "NOOP")
        self.assertFalse(any(b"EXPUNGE" in x for x in u), u)
        r.cmd("z", "LOGOUT")
        r.close()

    def test_imap_list_patterns(self):
        """LIST and LSUB with patterns aimed at B: nothing of B."""
        r = Raw(self.d)
        r.login("vasilek")
        mine = None
        for ref, pat in (('""', '"*"'), ('""', '"%"'), ('""', '"*%s*"' % R_INN),
                         ('""', '"*%s*"' % u7("Ромашка")),
                         ('""', '"%s*"' % u7(self.b_top)),
                         ('"%s"' % u7(self.b_top + "/"), '"*"'),
                         ('"%s"' % u7(self.b_top), '"%"'),
                         ('""', '"*%s*"' % self.b_box),
                         ('""', '"*/*/*/*"'), ('""', '"../*"'),
                         ('"../"', '"*"'), ('""', '"*%s*"' % u7(SECRET))):
            for verb in ("LIST", "LSUB", "LIST (SUBSCRIBED)", "LIST (SPECIAL-USE)"):
                u, t = r.cmd("l", "%s %s %s" % (verb, ref, pat))
                self.assertTrue(t.startswith(b"l OK") or t.startswith(b"l BAD"),
                                (verb, ref, pat, t))
                text = b"".join(u).decode("utf-8", "replace")
                names = utf7_decode(text) if "&" in text else text
                for leak in (R_INN, "Ромашка", SECRET, self.b_box):
                    self.assertNotIn(leak, names, (verb, ref, pat))
                if verb == "LIST" and pat == '"*"' and ref == '""':
                    mine = names
        # the wildcard listing is exactly A's own flat tree
        self.assertIn("INBOX", mine)
        self.assertNotIn(L_INN, mine)
        r.close()

    def test_imap_no_foreign_content_anywhere(self):
        """Every folder A can see, every message in it: no B."""
        c = self.d.imap("vasilek")
        names = [re.search(rb'"/" ("[^"]*"|\S+)$', x).group(1).strip(b'"')
                 for x in c.list('""', "*")[1]]
        self.assertTrue(names)
        for name in names:
            typ, _ = c.select(b'"' + name + b'"', readonly=True)
            if typ != "OK":
                continue
            typ, data = c.uid("FETCH", "1:*", "(BODY.PEEK[])")
            self.assertEqual(typ, "OK")
            blob = b"".join(x[1] for x in data if isinstance(x, tuple))
            for leak in (SECRET.encode(), self.doc[100:200], self.b_msg.encode(),
                         self.b_inv.encode()):
                self.assertNotIn(leak, blob, name)
            c.literal = SECRET.encode()
            typ, data = c.uid("SEARCH", "CHARSET", "UTF-8", "TEXT")
            self.assertEqual(data[0], b"", name)
        c.logout()

    def test_imap_same_folder_name_is_per_user(self):
        """A's folder with the same name as B's is A's own, empty one."""
        c = self.d.imap("vasilek")
        wire = '"%s"' % u7(SECRET_FOLDER)
        self.assertEqual(c.create(wire)[0], "OK")
        typ, data = c.select(wire)
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0], b"0")
        c.close()
        self.assertEqual(c.delete(wire)[0], "OK")
        c.logout()

    def test_per_org_login(self):
        """buh+<ИНН> sees one organization; a +<ИНН> not served, or of an
        organization that does not exist, fails like a wrong password."""
        d = self.d
        cases = (("buh+" + V_INN, h.PASSWORD), ("buh+" + NOBODY_INN, h.PASSWORD),
                 ("vasilek+" + R_INN, h.PASSWORD),
                 ("vasilek+%s.%s" % (R_INN, h.ROMASHKA["kpp"]), h.PASSWORD),
                 ("buh", "wrong password"), ("nosuchuser", h.PASSWORD))

        def imap_try(case):
            r = Raw(d, source="127.0.0.3")
            try:
                return norm([r.login(*case)])
            finally:
                r.close()

        def smtp_try(case):
            s = RawSMTP(d, "submissions")
            try:
                s.ehlo()
                return s.login(*case)
            finally:
                s.close()
        # failed logins are answered after a delay: try them side by side
        with concurrent.futures.ThreadPoolExecutor(len(cases) * 2) as ex:
            fi = {c[0]: ex.submit(imap_try, c) for c in cases}
            fs = {c[0] + " smtp": ex.submit(smtp_try, c) for c in cases}
            answers = {k: f.result() for k, f in list(fi.items()) + list(fs.items())}
        self.assertEqual(len({str(v) for k, v in answers.items()
                              if not k.endswith("smtp")}), 1, answers)
        self.assertEqual(len({str(v) for k, v in answers.items()
                              if k.endswith("smtp")}), 1, answers)
        r = Raw(d)
        r.login("buh+" + L_INN)
        nobody = norm([r.cmd("x", 'SELECT "%s"' % u7("Нет такой/INBOX"))[1]])
        r.close()
        for inn, other, other_name in ((L_INN, R_INN, "Ромашка"),
                                       (R_INN, L_INN, "Лютик"),
                                       ("%s.%s" % (R_INN, h.ROMASHKA["kpp"]),
                                        L_INN, "Лютик")):
            c = d.imap("buh+" + inn)
            listing = utf7_decode(b"".join(c.list('""', "*")[1]).decode())
            self.assertNotIn(other, listing)
            self.assertNotIn(other_name, listing)
            self.assertNotIn(d.box_id(other), listing)
            # the multi-organization names do not resolve in a
            # one-organization login, whichever organization they name
            for name in (self.b_top, self.b_top + "/INBOX"):
                typ, data = c.select('"%s"' % u7(name))
                self.assertEqual(typ, "NO")
            typ, data = c._simple_command("SELECT", '"%s"' % u7(self.b_top + "/INBOX"))
            self.assertEqual(norm([b"x NO " + data[-1]]), nobody)
            if inn == L_INN:
                c.select("INBOX", readonly=True)
                typ, data = c.uid("FETCH", "1:*", "(BODY.PEEK[HEADER])")
                blob = b"".join(x[1] for x in data if isinstance(x, tuple))
                self.assertNotIn(SECRET.encode(), blob)
            c.logout()

    # ---- SMTP ----

    def smtp_compare(self, steps, foreign, control):
        """Runs steps(session, address) for both; the replies must match
        once the address is taken out."""
        outs = []
        for addr in (foreign, control):
            s = raw_session(self.d, "vasilek", "submissions")
            code, text = steps(s, addr)
            s.close()
            bare = email.utils.parseaddr(addr)[1]
            for x in (addr, bare):
                text = re.sub(re.escape(x), "<ADDR>", text, flags=re.I)
            outs.append((code, text))
        self.assertEqual(outs[0], outs[1], foreign)
        self.assertGreaterEqual(outs[0][0], 500)
        for leak in ("Ромашка", R_INN, self.b_box, SECRET):
            if leak not in foreign:
                self.assertNotIn(leak, outs[0][1], foreign)
        return outs[0]

    # (smtp-rcpt.c, sender_work, before: «Вы не можете отправлять от имени
    # «ООО Ромашка» (ИНН …)» for another organization, «… не найдена» for
    # nobody: an oracle for participant ids and their owners)
    def test_smtp_mail_from_b(self):
        d = self.d
        for foreign, control in (
                (d.addr(R_INN), "2EDnosuchparticipant@edo.local"),
                ("%s@edo.local" % R_INN, "%s@edo.local" % NOBODY_INN),
                ("%s.%s@edo.local" % (R_INN, h.ROMASHKA["kpp"]),
                 "%s.%s@edo.local" % (NOBODY_INN, h.ROMASHKA["kpp"]))):
            self.smtp_compare(lambda s, a: s.cmd("MAIL FROM:<%s>" % a),
                              foreign, control)

    def test_smtp_from_header_spoofing(self):
        d = self.d
        me = d.addr(V_INN)
        to = d.addr(L_INN)
        before = len(ctl_messages(d, L_INN))

        def steps(s, addr):
            data, _ = make_mail(addr, to, "Подмена", "x\n")
            s.cmd("MAIL FROM:<%s>" % me)
            s.cmd("RCPT TO:<%s>" % to)
            s.cmd("DATA")
            s.send(data + b".\r\n")
            return s.reply()
        for foreign, control in (
                (d.addr(R_INN), "2EDnosuchparticipant@edo.local"),
                ("%s@edo.local" % R_INN, "%s@edo.local" % NOBODY_INN),
                ("ООО Ромашка <%s>" % d.addr(R_INN),
                 "ООО Нет <2EDnosuchparticipant@edo.local>")):
            code, text = self.smtp_compare(steps, foreign, control)
            self.assertIn("5.7.1", text)
        self.assertEqual(len(ctl_messages(d, L_INN)), before, "nothing sent")

    def test_smtp_reply_to_b_invitation(self):
        """«Принять» in reply to B's invitation id, sent by A to the
        inviter: an ordinary letter of A, B's invitation stays open."""
        d = self.d
        to = d.addr(ODUV["inn"])
        data, _ = make_mail(d.addr(V_INN), to, "Re: Приглашение",
                            "Принять\n", headers={
                                "In-Reply-To": "<%s@edo.local>" % self.b_inv,
                                "References": "<%s@edo.local>" % self.b_inv})
        code, text = submit(d, "vasilek", d.addr(V_INN), to, data)
        self.assertEqual(code, 250, text)
        self.assertNotIn("приглашени", text.split("/")[0].lower())
        shown = ctl_message_show(d, V_INN, edo_id(text))
        self.assertNotIn(self.b_inv, shown)
        self.assertNotIn("Reply to: " + self.b_inv, shown)
        # B's invitation is still waiting for B's answer
        self.assertRegex(d.ctl("counteragent", "list", R_INN).stdout,
                         r"InvitesMe\s+%s" % ODUV["inn"])

    def test_smtp_forward_b_document(self):
        """A forwards B's received document to its sender, referencing
        B's message: a new letter signed by A only, not B's re-signing,
        and not linked to B's message."""
        d = self.d
        to = d.addr(L_INN)
        name = "Счёт %s.pdf" % SECRET
        data, _ = make_mail(d.addr(V_INN), to, "Fwd: Счёт " + SECRET,
                            "Пересылаю\n", [(name, self.doc, "application/pdf")],
                            headers={"In-Reply-To": "<%s@edo.local>" % self.b_msg,
                                     "References": "<%s@edo.local>" % self.b_msg})
        code, text = submit(d, "vasilek", d.addr(V_INN), to, data)
        self.assertEqual(code, 250, text)
        self.assertNotIn("переподпис", text)
        shown = ctl_message_show(d, V_INN, edo_id(text))
        self.assertIn("Kind: letter", shown)
        self.assertNotIn(self.b_msg, shown)
        # the same letter with an answer's references only
        data, _ = make_mail(d.addr(V_INN), to, "Re: Счёт", "Ответ\n", headers={
            "In-Reply-To": "<%s@edo.local>" % self.b_msg})
        code, text = submit(d, "vasilek", d.addr(V_INN), to, data)
        self.assertEqual(code, 250, text)
        shown = ctl_message_show(d, V_INN, edo_id(text))
        self.assertIn("Kind: letter", shown)
        self.assertNotIn(self.b_msg, shown)

    def test_smtp_rcpt_b_reveals_nothing_private(self):
        """RCPT TO B is what any subscriber search shows (name, ИНН: the
        invitation case of DESIGN.md 6); nothing of B's mail."""
        s = raw_session(self.d, "vasilek", "submissions")
        self.assertEqual(s.cmd("MAIL FROM:<%s>" % self.d.addr(V_INN))[0], 250)
        for addr in (self.d.addr(R_INN), "%s@edo.local" % R_INN,
                     "%s+encrypt@edo.local" % R_INN):
            code, text = s.cmd("RCPT TO:<%s>" % addr)
            for leak in (SECRET, self.b_msg, self.b_inv):
                self.assertNotIn(leak, text)
        s.cmd("RSET")
        s.close()


if __name__ == "__main__":
    h.main()
