#!/usr/bin/env python3
"""Thunderbird itself against edomail (issue 11 section 6).

Debian's `thunderbird` runs under Xvfb with a profile this test writes
(user.js: the account of buh+Ромашка over IMAPS and SMTPS; the demo CA
imported into the profile's cert9.db with certutil, as the README says),
driven over Marionette through the same front-end code a user's click
runs.  The steps share one daemon and one profile, in order; after each
one the SERVER state is checked through imaplib, an independent observer:

  1. first sync: the folder tree and a received letter appear;
  2. the letter is opened: it becomes \\Seen on the server;
  3. «Принять» is replied to an invitation: the counteragent is accepted;
  4. a letter with an attachment is sent: it reaches Лютик signed, and
     Thunderbird's Отправленные shows the EDO record;
  5. a letter is archived (the `a` key's command): it moves to Архив;
  6. a letter is deleted (Del): it moves to Корзина (every LIST of
     Корзина Thunderbird received says \\Trash; when its first session
     has not made Корзина its Trash folder, the test says why and
     restarts it once, as the README tells users);
  7. Thunderbird restarts and Del moves a letter to Корзина again (the
     Trash role survives the restart, section 2);
  8. the account wizard's lookup finds edomail's autoconfig (section 4).

One §1 symptom is an expected failure until Sent absorption is done: the
refused copy of an answer and Thunderbird's two dialogs (3b).  The other,
Отправленные showing Thunderbird's own copy, is a race with background
body downloads (doc/imap.md); the profile downloads bodies on opening, so
step 4 sees the same every run.

Slow (two Thunderbird starts per profile): meson suite 'thunderbird'."""
import email
import email.policy
import os
import re
import time
import unittest
from email.message import EmailMessage

import edomail_harness as h
import thunderbird as tbm
from edomail_harness import utf7_encode as u7

R_INN, L_INN, V_INN = h.ROMASHKA["inn"], h.LUTIK["inn"], h.VASILEK["inn"]
SENT = "Отправленные"
ARCHIVE = "Архив"
TRASH = "Корзина"
IN_INV = "Входящие/Приглашения"
LOGIN = "buh+" + R_INN

# Chrome-JS helpers, prepended to every step's script.
HELPERS = """
const root = MailServices.accounts.getAccount("account1").incomingServer
  .rootFolder;
const folderOf = path => MailServices.folderLookup.getFolderForURL(
  root.URI + "/" + path);
const about3 = win.gTabmail.currentAbout3Pane;
const {FileUtils} = ChromeUtils.importESModule(
  "resource://gre/modules/FileUtils.sys.mjs");
const refresh = f => new Promise(resolve => f.QueryInterface(
  Ci.nsIMsgImapMailFolder).updateFolderWithListener(
  win.msgWindow, { OnStartRunningUrl() {}, OnStopRunningUrl(u, st) {
    resolve(st); } }));
const headers = f => [...f.messages].map(m => ({ key: m.messageKey,
  subject: m.mime2DecodedSubject, messageId: m.messageId,
  read: m.isRead }));
// Prompts Thunderbird opened (common dialogs): their text, and a click
// on the button given (accept, cancel, extra1...) when asked.
function dialogs(press) {
  const out = [];
  for (const w of Services.wm.getEnumerator(null)) {
    const d = w.document.getElementById("commonDialog");
    if (!d) continue;
    out.push(w.document.getElementById("infoBody")?.textContent ||
             w.document.title);
    if (press) d.getButton(press).click();
  }
  return out;
}
function composeWindow() {
  const cw = Services.wm.getMostRecentWindow("msgcompose");
  return cw && cw.gMsgCompose && cw.gLoadingComplete ? cw : null;
}
function select(path, subject) {
  const f = folderOf(path);
  if (about3.gFolder != f) about3.displayFolder(f);
  const hdr = [...f.messages].find(m => m.mime2DecodedSubject == subject);
  if (!hdr) return false;
  const i = about3.gDBView.findIndexOfMsgHdr(hdr, true);
  if (i < 0) return false;
  about3.threadTree.selectedIndex = i;
  return about3.gDBView.hdrForFirstSelectedMessage == hdr;
}
"""


def server_find(d, login, folder, subject):
    """(uid, flags, message) of the letter with this subject in a folder,
    as the server says; None when it is not there."""
    c = d.imap(login)
    try:
        typ, _ = c.select('"%s"' % u7(folder), readonly=True)
        assert typ == "OK", folder
        typ, data = c.uid("fetch", "1:*", "(FLAGS BODY.PEEK[])")
        for item in data:
            if not isinstance(item, tuple):
                continue
            m = email.message_from_bytes(item[1], policy=email.policy.default)
            if m["Subject"] == subject:
                meta = item[0].decode()
                uid = int(re.search(r"UID (\d+)", meta).group(1))
                flags = re.search(r"FLAGS \(([^)]*)\)", meta).group(1).split()
                return uid, flags, m
        return None
    finally:
        c.logout()


def wait_for(fn, timeout=60, what="a condition"):
    return h.wait_for(fn, timeout, 0.5, what)


class ThunderbirdTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        h.require_tools(*tbm.TOOLS)
        cls.d = d = h.Daemon()
        d.start()
        cls.tb = None
        # Letters for Ромашка from Лютик: one to read, one to archive, two
        # to delete (one before and one after the restart).
        cls.subjects = {k: "Счёт №%d (%s)" % (i, k) for i, k in enumerate(
            ("read", "archive", "delete1", "delete2"), 1)}
        s = d.smtp("lutik")
        for subject in cls.subjects.values():
            m = EmailMessage()
            m["From"] = d.addr(L_INN)
            m["To"] = d.addr(R_INN)
            m["Subject"] = subject
            m.set_content("Направляем документ.\n")
            m.add_attachment(b"%PDF-1.4 demo " * 50, maintype="application",
                             subtype="pdf", filename="Счёт.pdf")
            s.send_message(m)
        s.quit()
        for subject in cls.subjects.values():
            wait_for(lambda: server_find(d, LOGIN, "INBOX", subject),
                     what="the letter in INBOX")
        cls.tb = tbm.Thunderbird(d, {"login": LOGIN,
                                     "email": d.addr(R_INN),
                                     "name": "Иванова Мария Петровна"},
                                 h.PASSWORD)
        # The README's one setting (section 2): Корзина is the folder Del
        # moves to.  Without it Thunderbird 153 does not keep the role of
        # the server's \Trash folder during its first session (it clears
        # the flag after discovery, see doc/imap.md) and Del only sets
        # \Deleted.
        cls.tb.extra_prefs["mail.server.server1.trash_folder_name"] = TRASH
        # Thunderbird's default settings otherwise, background download of
        # bodies (autosync_offline_stores) included: whether it downloads
        # the Sent item first or files its own copy under the APPENDUID
        # first, Отправленные must end showing the EDO record (issue 11
        # §1; the APPENDUID names a UID burnt at once, doc/imap.md).
        cls.tb.setup()
        cls.tb.start()
        cls.record_flags(cls.tb)

    @classmethod
    def tearDownClass(cls):
        if cls.tb is not None:
            if os.environ.get("EDOMAIL_KEEP"):
                cls.tb.screenshot(os.path.join(cls.tb.base, "last.png"))
            cls.tb.close()
        rc, sanitizer, log = cls.d.cleanup()
        if sanitizer:
            raise AssertionError("sanitizer report in edomaild log:\n" + log)
        if rc != 0:
            raise AssertionError("edomaild exited with %d:\n%s" % (rc, log))

    def js(self, body, *args):
        return self.tb.js(HELPERS + body, *args)

    def ca_status(self, org, other_inn):
        for ln in self.d.ctl("counteragent", "list", org).stdout.splitlines():
            if other_inn in ln:
                return ln
        return ""

    def server_folders(self):
        c = self.d.imap(LOGIN)
        try:
            return [h.utf7_decode(re.search(rb'"/" "?([^"]*)"?$', ln)
                                  .group(1).decode())
                    for ln in c.list('""', "*")[1]]
        finally:
            c.logout()

    def server_all(self, folder):
        """[(uid, flags, message)] of a folder on the server."""
        c = self.d.imap(LOGIN)
        try:
            c.select('"%s"' % u7(folder), readonly=True)
            out = []
            for item in c.uid("fetch", "1:*", "(FLAGS BODY.PEEK[])")[1]:
                if isinstance(item, tuple):
                    meta = item[0].decode()
                    out.append((int(re.search(r"UID (\d+)", meta).group(1)),
                                re.search(r"FLAGS \(([^)]*)\)", meta)
                                .group(1).split(),
                                email.message_from_bytes(
                                    item[1], policy=email.policy.default)))
            return out
        finally:
            c.logout()

    def select(self, folder, subject):
        """Shows the folder in the 3-pane window and selects the letter
        (as a click on it in the list does)."""
        self.tb.wait(lambda: self.js("return select(arguments[0], "
                                     "arguments[1]);", u7(folder), subject),
                     60, "the letter %r in the list" % subject)

    def command(self, folder, subject, cmd):
        """Selects the letter and runs a 3-pane command on it (Del: the
        `cmd_delete`, A: `cmd_archive`) once the command is enabled — it
        is not while the folder or the message is still loading."""
        self.tb.wait(lambda: self.js("""
            const [folder, subject, cmd] = arguments;
            if (!select(folder, subject) ||
                !about3.commandController.isCommandEnabled(cmd))
              return false;
            about3.commandController.doCommand(cmd);
            return true;""", u7(folder), subject, cmd), 60,
            "%s on %r" % (cmd, subject))

    def tb_headers(self, folder):
        return self.js("const f = folderOf(arguments[0]); await refresh(f);"
                       "return headers(f);", u7(folder))

    def tb_subjects(self, folder):
        return [m["subject"] for m in self.tb_headers(folder)]

    def test_1_first_sync(self):
        # every server folder is in Thunderbird's tree, with its role
        folders = self.tb.wait(lambda: self.js(
            "return root.descendants.length >= 8 && root.descendants.map("
            "f => [f.URI.slice(root.URI.length + 1), f.flags]);"), 60,
            "the folder tree")
        names = {n: fl for n, fl in folders}
        c = self.d.imap(LOGIN)
        listed = [re.search(rb'"/" "?([^"]*)"?$', ln).group(1).decode()
                  for ln in c.list('""', "*")[1]]
        c.logout()
        for n in listed:
            self.assertIn(n, names, "folder %s is not in Thunderbird" %
                          h.utf7_decode(n))
        self.assertTrue(names[u7(SENT)] & 0x200, "Отправленные is Sent")
        self.assertTrue(names[u7(ARCHIVE)] & 0x4000, "Архив is Archives")
        # the letters are in Thunderbird's INBOX
        have = self.tb.wait(lambda: set(self.tb_subjects("INBOX")) >=
                            set(self.subjects.values()), 60, "INBOX")
        self.assertTrue(have)

    def test_2_open_letter(self):
        subject = self.subjects["read"]
        uid, flags, _ = server_find(self.d, LOGIN, "INBOX", subject)
        self.assertNotIn("\\Seen", flags)
        self.select("INBOX", subject)
        # the message pane shows the letter's text
        self.tb.wait(lambda: self.js(
            "const b = about3.messageBrowser.contentWindow"
            ".getMessagePaneBrowser().contentDocument.body;"
            "return b && b.textContent.includes('Направляем документ');"),
            60, "the letter in the message pane")
        # and the server has it \Seen (an independent connection)
        wait_for(lambda: "\\Seen" in server_find(self.d, LOGIN, "INBOX",
                                                 subject)[1],
                 what="\\Seen on the server")

    def has_trash_role(self, timeout):
        """Whether Thunderbird holds Корзина as its Trash folder (the
        Trash icon a user sees) within timeout seconds."""
        try:
            self.tb.wait(lambda: self.js(
                "return (folderOf(arguments[0]).flags & 0x100) != 0;",
                u7(TRASH)), timeout, "Корзина as the Trash folder")
            return True
        except AssertionError:
            return False

    def delete(self, key, restart_for_role=False):
        """Del on a letter in INBOX; it must move to Корзина on the
        server (and leave INBOX)."""
        subject = self.subjects[key]
        self.assertIsNotNone(server_find(self.d, LOGIN, "INBOX", subject))
        # The server's part of the role: every LIST line Thunderbird
        # received for Корзина says \Trash.
        listed = [ln for ln in self.tb.moz_log().splitlines()
                  if "CreateNewLineFromSocket: * LIST " in ln and
                  ln.endswith(" " + u7(TRASH))]
        self.assertTrue(listed, "Thunderbird received no LIST of Корзина")
        for ln in listed:
            self.assertIn("\\Trash", ln.split("LIST ", 1)[1].split(")")[0])
        # Del moves to the folder Thunderbird holds as Trash at that moment,
        # and with none only sets \Deleted (doc/imap.md), so the test waits
        # for the role before pressing Del.  Thunderbird 153 sometimes does
        # not take the role in the first session of a new account even with
        # the README's setting (seen on CI machines, never here); the README
        # says to restart it once then, and so does this test, saying why.
        if not self.has_trash_role(30 if restart_for_role else 60):
            why = self.explain_roles()
            if not restart_for_role:
                raise AssertionError("Корзина is not the Trash folder in "
                                     "Thunderbird\n" + why)
            print("\nThunderbird did not make Корзина its Trash folder in "
                  "its first session; restarting it once, as the README "
                  "says.\n" + why, flush=True)
            self.restart()
            if not self.has_trash_role(60):
                raise AssertionError("Корзина is not the Trash folder in "
                                     "Thunderbird after a restart\n" +
                                     self.explain_roles())
        since = len(self.tb.moz_log())
        self.command("INBOX", subject, "cmd_delete")
        try:
            wait_for(lambda: server_find(self.d, LOGIN, TRASH, subject),
                     what="the deleted letter in Корзина on the server")
            wait_for(lambda: server_find(self.d, LOGIN, "INBOX", subject)
                     is None,
                     what="the deleted letter gone from INBOX on the server")
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, self.explain(subject, since)))

    @staticmethod
    def record_flags(tb):
        """From now on Thunderbird's folder-flag changes are kept in the
        window (what set or cleared a role, for explain_roles)."""
        tb.js(HELPERS + """
            if (win.edoFlagLog) return;
            win.edoFlagLog = [];
            MailServices.mailSession.AddFolderListener({
              onFolderIntPropertyChanged(f, prop, was, now) {
                if (prop == "FolderFlag" && ((was ^ now) & 0x4300))
                  win.edoFlagLog.push([Date.now(), f.URI.slice(
                    root.URI.length + 1), was, now]);
              }}, Ci.nsIFolderListener.intPropertyChanged);""")

    def explain_roles(self):
        """What a missing folder role leaves to read: each folder's flags
        and the role changes seen, the account's trash and delete
        preferences, the LIST lines Thunderbird received for Корзина."""
        state = self.js("""
            const pref = k => Services.prefs.prefHasUserValue(k) ?
              Services.prefs.getStringPref(k, "") || Services.prefs
              .getIntPref(k, -1) : "(default)";
            return {folders: root.descendants.map(f => [f.URI.slice(
                      root.URI.length + 1), f.flags.toString(16)]),
                    trash: pref("mail.server.server1.trash_folder_name"),
                    deleteModel: root.server.QueryInterface(
                      Ci.nsIImapIncomingServer).deleteModel,
                    changes: win.edoFlagLog || []};""")
        lines = [ln.split("CreateNewLineFromSocket: ", 1)[1]
                 for ln in self.tb.moz_log().splitlines()
                 if "CreateNewLineFromSocket: " in ln and u7(TRASH) in ln]
        return ("folders (flags hex): %s\nrole changes (ms, folder, was, "
                "now): %s\ntrash_folder_name: %r, delete model: %s\n"
                "LIST lines for Корзина:\n  %s" % (
                    state["folders"], state["changes"], state["trash"],
                    state["deleteModel"], "\n  ".join(lines[-10:])))

    def explain(self, subject, since):
        """What a failed step leaves to read: the IMAP commands Thunderbird
        sent since the step began and the servers' replies that were not OK,
        the letter's state on the server, the dialogs open, the daemon's
        warnings."""
        lines = self.tb.moz_log()[since:].splitlines()
        sent = [ln.split("SendData: ", 1)[1] for ln in lines
                if "SendData: " in ln and not re.search(
                    r" (login|authenticate) ", ln, re.I)]
        replies = [ln.split("CreateNewLineFromSocket: ", 1)[1] for ln in lines
                   if "CreateNewLineFromSocket: " in ln and
                   re.search(r"^\S+ (NO|BAD) ", ln.split(
                       "CreateNewLineFromSocket: ", 1)[1])]
        where = {f: server_find(self.d, LOGIN, f, subject)
                 for f in ("INBOX", TRASH)}
        warn = [ln for ln in self.d.log().splitlines()
                if re.search(r"warn|error|ошибка", ln, re.I)]
        return ("Thunderbird sent:\n  %s\nreplies NO/BAD:\n  %s\n"
                "on the server: %s\ndialogs: %s\ndaemon warnings:\n  %s" % (
                    "\n  ".join(sent[-40:]), "\n  ".join(replies[-10:]),
                    {f: v and v[:2] for f, v in where.items()},
                    self.js("return dialogs();"), "\n  ".join(warn[-20:])))

    # ---- sending from the compose window ----
    def compose_send(self, open_js, text, *args):
        """Opens a compose window with open_js, types text at the top of
        the body and presses Send; returns the texts of the prompts that
        appeared meanwhile (each dismissed with its Cancel button, so a
        refused copy to Отправленные does not stop the test)."""
        self.js(open_js, *args)
        self.tb.wait(lambda: self.js("return !!composeWindow();"), 60,
                     "the compose window")
        self.js("""const cw = composeWindow();
            const ed = cw.GetCurrentEditor();
            ed.beginningOfDocument();
            ed.insertText(arguments[0]);
            ed.insertLineBreak();
            cw.goDoCommand("cmd_sendNow");""", text)
        seen = []

        def done():
            seen.extend(self.js("return dialogs('cancel');"))
            return not self.js("return !!Services.wm.getMostRecentWindow("
                               "'msgcompose');")
        self.tb.wait(done, 120, "the compose window to close after Send")
        return seen

    def test_3_accept_invitation(self):
        d = self.d
        subject = "Приглашение к обмену от Василька"
        d.ctl("invite", V_INN, R_INN, "--text", subject)
        inv = wait_for(lambda: [m for m in self.server_all(IN_INV)
                                if V_INN in (m[2]["X-EDO-Counteragent-INN"]
                                             or "")], what="the invitation")
        subject = inv[0][2]["Subject"]
        self.select(IN_INV, subject)
        type(self).accept_dialogs = self.compose_send(
            "about3.commandController.doCommand('cmd_reply');", "Принять")
        # the server: Василёк is now a counteragent of Ромашка, and the
        # invitation carries $EDO_Accepted
        wait_for(lambda: "IsMyCounteragent" in self.ca_status(R_INN, V_INN),
                 what="Василёк accepted as a counteragent")
        self.assertIn("$EDO_Accepted",
                      server_find(d, LOGIN, IN_INV, subject)[1])

    def test_3b_accept_copy_filed(self):
        # Issue 11 section 1: Thunderbird's copy of the answer to
        # Отправленные is never refused (no "copy was not placed" dialog):
        # the gateway absorbs it (doc/imap.md "APPEND to Sent").  Before,
        # "[CANNOT] Отправленные заполняет шлюз…" and "Your message was
        # sent but a copy was not placed in your sent folder".
        self.assertEqual(self.accept_dialogs, [])

    def test_4_send_with_attachment(self):
        d = self.d
        subject = "Акт сверки за ноябрь"
        path = os.path.join(self.tb.base, "Акт сверки.pdf")
        with open(path, "wb") as f:
            f.write(b"%PDF-1.4 act " * 200)
        type(self).send_dialogs = self.compose_send("""
            const [to, subject, path] = arguments;
            const params = Cc[
              "@mozilla.org/messengercompose/composeparams;1"]
              .createInstance(Ci.nsIMsgComposeParams);
            const fields = Cc[
              "@mozilla.org/messengercompose/composefields;1"]
              .createInstance(Ci.nsIMsgCompFields);
            fields.to = to;
            fields.subject = subject;
            const att = Cc["@mozilla.org/messengercompose/attachment;1"]
              .createInstance(Ci.nsIMsgAttachment);
            const file = new FileUtils.File(path);
            att.url = Services.io.newFileURI(file).spec;
            att.name = file.leafName;
            fields.addAttachment(att);
            params.type = Ci.nsIMsgCompType.New;
            params.format = Ci.nsIMsgCompFormat.PlainText;
            params.composeFields = fields;
            params.identity = MailServices.accounts.getIdentity("id1");
            MailServices.compose.OpenComposeWindowWithParams(null, params);
            """, "Направляем акт сверки.", d.addr(L_INN), subject, path)
        # the server: Лютик received it, signed, with the document
        got = wait_for(lambda: server_find(d, "lutik", "INBOX", subject),
                       what="the letter at Лютик")
        names = [p.get_filename() for p in got[2].iter_attachments()]
        self.assertIn("Акт сверки.pdf", names)
        self.assertTrue(any(n and n.endswith(".sig") for n in names), names)
        # and Ромашка's Отправленные holds the EDO record
        sent = wait_for(lambda: server_find(d, LOGIN, SENT, subject),
                        what="the letter in Отправленные")
        type(self).sent_uid = sent[0]

    def sent_attachment_names(self):
        """The attachments Thunderbird shows for the sent letter when it is
        opened in its Отправленные."""
        self.select(SENT, "Акт сверки за ноябрь")
        return self.tb.wait(lambda: self.js("""
            const am = about3.messageBrowser.contentWindow;
            const b = am.getMessagePaneBrowser().contentDocument.body;
            return b && b.textContent.includes("Направляем акт") &&
              (am.currentAttachments || []).map(a => a.name);"""), 60,
            "the sent letter in the message pane")

    def test_4b_sent_shows_edo_record(self):
        # Issue 11 §1: opened in Thunderbird's Отправленные, the letter is
        # the EDO record (signature report, the document's .sig), not
        # Thunderbird's own copy (checked again after the restart, step 7).
        self.assertEqual(self.send_dialogs, [])
        names = self.sent_attachment_names()
        self.assertIn("Акт сверки.pdf.sig", names)
        self.assertIn("Протокол проверки подписей.txt", names)

    def test_5_archive(self):
        subject = self.subjects["archive"]
        self.command("INBOX", subject, "cmd_archive")
        found = wait_for(lambda: [f for f in self.server_folders()
                                  if f.startswith(ARCHIVE) and
                                  server_find(self.d, LOGIN, f, subject)],
                         what="the letter in Архив on the server")
        self.assertTrue(found)
        wait_for(lambda: server_find(self.d, LOGIN, "INBOX", subject) is None,
                 what="the archived letter gone from INBOX")

    def restart(self):
        self.tb.quit()
        self.tb.start()
        self.record_flags(self.tb)
        self.tb.wait(lambda: self.js("return root.descendants.length >= 8;"),
                     60, "the folder tree after the restart")

    def test_6_delete(self):
        self.delete("delete1", restart_for_role=True)

    def test_7_restart_and_delete_again(self):
        self.restart()
        trash = self.js("return folderOf(arguments[0]).flags;", u7(TRASH))
        self.assertTrue(trash & 0x100, "Корзина is still the Trash folder")
        self.delete("delete2")
        self.assertIn("Акт сверки.pdf.sig", self.sent_attachment_names())


    def test_8_autoconfig_lookup(self):
        """The wizard's first lookup (FetchConfig.fromISP, the code "Add
        Mail Account" runs for an address) finds edomail's autoconfig:
        http://autoconfig.edo.local/mail/config-v1.1.xml, with the name
        pointed at 127.0.0.1 (network.dns.localDomains) and a second
        daemon serving autoconfig on port 80, the port Thunderbird asks."""
        d2 = h.Daemon(demo=False, extra_env={"DEMO_AUTOCONFIG_PORT": "80"})
        try:
            d2.start()
            cfg = self.js("""
                Services.prefs.setStringPref("network.dns.localDomains",
                  "autoconfig.edo.local,edo.local");
                const {FetchConfig} = ChromeUtils.importESModule(
                  "resource:///modules/accountcreation/FetchConfig.sys.mjs");
                // Thunderbird 153 takes an AbortSignal and returns a
                // promise; 140 (Debian 12 without bookworm-security) takes
                // success and error callbacks
                const c = FetchConfig.fromISP.length >= 4 ?
                  await new Promise((ok, fail) => FetchConfig.fromISP(
                    "edo.local", arguments[0], ok, fail)) :
                  await FetchConfig.fromISP("edo.local", arguments[0],
                    new AbortController().signal);
                const s = x => [x.hostname, x.port, x.socketType, x.auth,
                                x.username];
                return { incoming: s(c.incoming), outgoing: s(c.outgoing),
                         source: c.source };""", "buh@edo.local")
        finally:
            rc, sanitizer, log = d2.cleanup()
            self.assertFalse(sanitizer, log)
        self.assertEqual(cfg["incoming"][:3], ["127.0.0.1", d2.ports["imaps"],
                                               3])  # 3: SSL/TLS
        self.assertEqual(cfg["outgoing"][:3], ["127.0.0.1",
                                               d2.ports["submissions"], 3])
        # the wizard puts the address's local part in later
        self.assertEqual(cfg["incoming"][4], "%EMAILLOCALPART%")


if __name__ == "__main__":
    h.main()
