#!/usr/bin/env python3
"""The operator down mid-load (issue 15 section 1): node B is a gateway
(operator.driver = "http") of node A.  Several SMTP sessions on B submit
letters in a loop while A is stopped and started again — once with
SIGTERM, once with SIGKILL — and while A hangs (SIGSTOP, SIGCONT).  While A is down B's SMTP answers 451 4.4.1
and nothing else, and B's IMAP keeps serving what it has (LOGIN, SELECT,
FETCH).  After A is back every letter that got 250 is at A exactly once
and complete; a letter that got 451 is at A at most once, and sent again
with the same Message-ID (as a client retries) it is there exactly once;
B's IMAP sees what happens at A afterwards (the event follower caught
up).  Every step waits for its condition (harness wait_for)."""
import collections
import email
import email.policy
import signal
import smtplib
import sys
import threading
import time
from email.message import EmailMessage

import edomail_harness as h

KLEVER_INN = "7728168971"
KLEVER_KPP = "772801001"
SENDERS = 3


def letter(frm, to, subject, msg_id, text, attach=None, reply_to=None):
    m = EmailMessage()
    m["From"] = frm
    m["To"] = to
    m["Subject"] = subject
    m["Message-ID"] = msg_id
    if reply_to:
        m["In-Reply-To"] = reply_to
    m.set_content(text)
    if attach:
        m.add_attachment(attach[1], maintype="application",
                         subtype="octet-stream", filename=attach[0])
    return m


def smtp_failure(e):
    """(code, text) of a refused submission; None for a broken session."""
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        code, text = list(e.recipients.values())[0]
        return code, text.decode("utf-8", "replace")
    if isinstance(e, smtplib.SMTPResponseException):
        err = e.smtp_error
        return e.smtp_code, err.decode("utf-8", "replace") \
            if isinstance(err, bytes) else str(err)
    return None


class Sender(threading.Thread):
    """One SMTP session on B sending letters until told to stop; every
    result is kept: ("ok", msg) or ("fail", code, text, msg)."""

    def __init__(self, node, login, frm, to, run, n):
        super().__init__(daemon=True)
        self.node, self.login, self.frm, self.to = node, login, frm, to
        self.run_id, self.n = run, n
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.results = []
        self.broken = []		# anything but 250 or 451 4.4.1
        self.seq = 0

    def count(self, kind, since=0):
        with self.lock:
            return sum(1 for r in self.results[since:] if r[0] == kind)

    def mark(self):
        with self.lock:
            return len(self.results)

    def run(self):
        s = None
        try:
            while not self.stop.is_set():
                if s is None:
                    # the harness's 60 s read timeout: a client's patience
                    s = self.node.smtp(self.login)
                self.seq += 1
                subj = "load-%s-t%d-n%d" % (self.run_id, self.n, self.seq)
                msg = letter(self.frm, self.to, subj,
                             "<%s@test>" % subj, "Текст " + subj,
                             ("doc-%d.txt" % self.seq, subj.encode()))
                try:
                    s.send_message(msg)
                    res = ("ok", msg)
                except smtplib.SMTPServerDisconnected as e:
                    res = ("broken", repr(e), msg)
                    s = None
                except smtplib.SMTPException as e:
                    f = smtp_failure(e)
                    res = ("fail",) + f + (msg,) if f is not None else \
                        ("broken", repr(e), msg)
                with self.lock:
                    self.results.append(res)
                    if res[0] == "broken":
                        self.broken.append(res)
                if res[0] == "fail":
                    self.stop.wait(0.3)	# a client backs off after 451
        except Exception as e:  # noqa: BLE001 - the test reports it
            with self.lock:
                self.broken.append(("broken", repr(e), None))
        finally:
            if s is not None:
                try:
                    s.quit()
                except (smtplib.SMTPException, OSError):
                    pass


class GatewayRestart(h.GatewayTestCase):
    api_port = h.free_port()
    extra_env = {"DEMO_API_PORT": str(api_port)}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        a = cls.d
        b = cls.gateway_node()
        cls.klever, _ = cls.gateway_org("ООО Клевер", KLEVER_INN, KLEVER_KPP,
                                        "klever")
        b.start()
        cls.me = "%s@edo.local" % cls.klever
        cls.lutik = a.addr(a.demo["LUTIK_INN"])
        # counteragents: invited from B, accepted at A
        s = b.smtp("klever")
        s.send_message(letter(cls.me, cls.lutik, "Давайте работать",
                              "<invite-%d@test>" % time.time_ns(),
                              "Приглашаем / join us"))
        s.quit()
        a.ctl("accept", a.demo["LUTIK_INN"], KLEVER_INN)

    # ---- helpers ----
    def find(self, c, marker, folder="INBOX"):
        """The letters (not notices) whose subject has marker: a Counter
        of subjects and the messages by subject."""
        c.select(folder)
        typ, data = c.search(None, "SUBJECT", '"%s"' % marker, "NOT",
                             "HEADER", "X-EDO-Kind", "notice")
        seen, msgs = collections.Counter(), {}
        for i in (data[0].split() if typ == "OK" else []):
            typ, d2 = c.fetch(i, "(BODY.PEEK[])")
            # unsolicited FETCH (flags) may come along: the literal's tuple
            parts = [x for x in d2 if isinstance(x, tuple)]
            if typ != "OK" or not parts:
                continue
            m = email.message_from_bytes(parts[0][1],
                                         policy=email.policy.default)
            seen[str(m["Subject"])] += 1
            msgs[str(m["Subject"])] = m
        return seen, msgs

    def from_a(self, marker):
        """Лютик at A writes to Клевер; the letter found in B's INBOX."""
        a, b = self.d, self.b
        s = a.smtp("lutik")
        s.send_message(letter(self.lutik, self.me, "from-a " + marker,
                              "<from-a-%s@test>" % marker, "Текст " + marker))
        s.quit()
        c = b.imap("klever")
        try:
            return h.wait_for(lambda: self.find(c, "from-a " + marker)[0],
                              timeout=60, what="A's letter on B")
        finally:
            c.logout()

    def outage(self, hard):
        """hard: False SIGTERM, True SIGKILL, "stop" SIGSTOP (the operator
        hangs: connections open, no answer, until SIGCONT)."""
        a, b = self.d, self.b
        run = "%s%d" % ({False: "t", True: "k"}.get(hard, "s"),
                        time.time_ns() % 10**9)
        # something on B to read while A is away
        self.from_a("before-" + run)
        senders = [Sender(b, "klever", self.me, self.lutik, run, i)
                   for i in range(SENDERS)]
        for t in senders:
            t.start()
        try:
            h.wait_for(lambda: all(t.count("ok") >= 2 for t in senders),
                       timeout=180, what="letters before the outage")
            if hard == "stop":
                a.proc.send_signal(signal.SIGSTOP)
            elif hard:
                a.kill()
            else:
                a.stop()
            down = [t.mark() for t in senders]
            try:
                # every session meets the outage: 451 4.4.1
                h.wait_for(lambda: all(t.count("fail", m) >= 1 for t, m in
                                       zip(senders, down)) or
                           any(t.broken for t in senders),
                           timeout=240, what="451 on every session")
                # IMAP on B keeps serving what it has
                c = b.imap("klever")
                try:
                    seen, msgs = self.find(c, "from-a before-" + run)
                    self.assertEqual(len(seen), 1, seen)
                    body = "".join(p.get_content() for p in
                                   list(msgs.values())[0].walk()
                                   if p.get_content_type() == "text/plain")
                    self.assertIn("before-" + run, body)
                    typ, data = c.fetch("1:*", "(FLAGS)")
                    self.assertEqual(typ, "OK", data)
                    typ, _ = c.noop()
                    self.assertEqual(typ, "OK")
                finally:
                    c.logout()
            finally:
                if hard == "stop":
                    a.proc.send_signal(signal.SIGCONT)
                else:
                    a.start()
            up = [t.mark() for t in senders]
            h.wait_for(lambda: all(t.count("ok", m) >= 2 for t, m in
                                   zip(senders, up)) or
                       any(t.broken for t in senders),
                       timeout=240, what="letters after the operator is back")
        finally:
            for t in senders:
                t.stop.set()
            for t in senders:
                t.join(300)
        results = [r for t in senders for r in t.results]
        broken = [r for t in senders for r in t.broken]
        self.assertEqual(broken, [], "only 250 or 451 may come")
        sent = [r[1] for r in results if r[0] == "ok"]
        failed = [r for r in results if r[0] == "fail"]
        self.assertTrue(failed, "the outage was not seen")
        for _, code, text, _ in failed:
            # DESIGN §9: the operator down is 451 4.4.1 with a clear text
            self.assertEqual(code, 451, text)
            self.assertIn("4.4.1", text)
            self.assertIn("недоступен", text)
            self.assertIn("unreachable", text)
        c = a.imap("lutik")
        try:
            want = [str(m["Subject"]) for m in sent]
            seen, _ = h.wait_for(
                lambda: (lambda r: r if all(s in r[0] for s in want)
                         else None)(self.find(c, "load-" + run)),
                timeout=120, what="every accepted letter at A")
            # a refused letter is not half there: at most once, complete
            early = 0
            for _, _, _, m in failed:
                self.assertLessEqual(seen[str(m["Subject"])], 1)
                early += seen[str(m["Subject"])]
            print("\n%s: %d letters accepted, %d refused with 451 (%d of "
                  "them already at A)" % ({False: "SIGTERM", True: "SIGKILL"}
                                          .get(hard, "SIGSTOP"),
                                          len(sent), len(failed), early),
                  file=sys.stderr)
            # the client's retry with the same Message-ID goes, once
            s = b.smtp("klever")
            for _, _, _, m in failed:
                s.send_message(m)
            s.quit()
            want += [str(m["Subject"]) for _, _, _, m in failed]
            seen, msgs = h.wait_for(
                lambda: (lambda r: r if all(s in r[0] for s in want)
                         else None)(self.find(c, "load-" + run)),
                timeout=120, what="the retried letters at A")
        finally:
            c.logout()
        dup = {k: v for k, v in seen.items() if v != 1}
        self.assertEqual(dup, {}, "every letter exactly once at A")
        self.assertEqual(sorted(seen), sorted(want))
        for subj, m in msgs.items():
            names = [p.get_filename() for p in m.walk() if p.get_filename()]
            self.assertTrue(any(n.endswith(".txt") for n in names), names)
            self.assertTrue(any(n.endswith(".txt.sig") for n in names),
                            (subj, names))
        # B catches up with what happens at A after the outage
        self.from_a("after-" + run)

    def test_1_sigterm(self):
        self.outage(hard=False)

    def test_2_sigkill(self):
        self.outage(hard=True)

    def test_3_sigstop(self):
        """The operator slow rather than gone: B's calls time out
        (operator.timeout), SMTP answers 451 and IMAP does not wait; the
        requests A takes up after SIGCONT do not double a letter."""
        self.outage(hard="stop")


if __name__ == "__main__":
    h.main()
