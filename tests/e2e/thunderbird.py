"""Drives Debian's Thunderbird under Xvfb for end-to-end tests.

Thunderbird is the client under test; this module only starts it with a
profile the test writes (prefs in user.js: the account, its IMAP and SMTP
servers and ports; the demo CA trusted in the profile's cert9.db through
certutil) and talks to it over Marionette, Thunderbird's own automation
protocol (length-prefixed JSON "len:[0,id,command,params]" on a loopback
port; `--marionette -remote-allow-system-access` lets it run chrome
JavaScript).  The scripts call the same front-end code a user's click
runs: folder selection in the 3-pane window, goDoCommand("cmd_delete"),
the compose window's send.

Thunderbird's own IMAP/SMTP log (MOZ_LOG) goes to <profile>/../tb-moz.log*;
it shows the real command sequence a test step produced.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import time

TOOLS = ("thunderbird", "Xvfb", "certutil")


class MarionetteError(RuntimeError):
    pass


class Marionette:
    """A minimal Marionette client (protocol 3), standard library only."""

    def __init__(self, port, timeout=90):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port),
                                                     timeout=5)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.3)
        self.sock.settimeout(180)
        self.buf = b""
        self.msg_id = 0
        self.hello = self._recv()

    def _recv(self):
        while b":" not in self.buf:
            self._more()
        n, rest = self.buf.split(b":", 1)
        n = int(n)
        self.buf = rest
        while len(self.buf) < n:
            self._more()
        packet, self.buf = self.buf[:n], self.buf[n:]
        return json.loads(packet)

    def _more(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("Marionette closed the connection")
        self.buf += data

    def call(self, name, params=None):
        self.msg_id += 1
        data = json.dumps([0, self.msg_id, name, params or {}]).encode()
        self.sock.sendall(str(len(data)).encode() + b":" + data)
        while True:
            r = self._recv()
            if r[0] == 1 and r[1] == self.msg_id:
                break
        if r[2]:
            raise MarionetteError("%s: %s\n%s" % (
                name, r[2].get("message"), r[2].get("stacktrace", "")[:2000]))
        return r[3]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def _free_port():
    # claimed below the ephemeral range like the daemon's (the harness)
    import edomail_harness
    return edomail_harness.free_port()


class Xvfb:
    """A virtual X display of its own (-displayfd picks a free number)."""

    def __init__(self):
        r, w = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(w), "-screen", "0", "1280x1024x24",
             "-nolisten", "tcp"], pass_fds=(w,), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(w)
        with os.fdopen(r) as f:
            num = f.readline().strip()
        if not num:
            raise RuntimeError("Xvfb did not start / Xvfb не запустился")
        self.display = ":" + num

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


# Chrome JavaScript shared by every call: the modules a script needs.
JS_PRELUDE = """
const {MailServices} = ChromeUtils.importESModule(
  "resource:///modules/MailServices.sys.mjs");
const win = Services.wm.getMostRecentWindow("mail:3pane");
"""


class Thunderbird:
    """One Thunderbird profile for one IMAP/SMTP account on the daemon.

    account: dict(login, email, name) — login is the IMAP and SMTP user
    name (e.g. "buh+7701234560")."""

    def __init__(self, daemon, account, password):
        self.d = daemon
        self.account = account
        self.password = password
        self.base = os.path.join(daemon.dir, "thunderbird")
        self.profile = os.path.join(self.base, "profile")
        os.makedirs(self.profile, exist_ok=True)
        self.xvfb = None
        self.proc = None
        self.m = None
        self.runs = 0
        self.extra_prefs = {}
        self._trust_demo_ca()

    # ---- the profile ----
    def _trust_demo_ca(self):
        """The README's one command: the demo CA into the profile's NSS
        database (certutil makes cert9.db when it does not exist)."""
        db = "sql:" + self.profile
        subprocess.run(["certutil", "-N", "-d", db, "--empty-password"],
                       check=True, capture_output=True)
        subprocess.run(["certutil", "-A", "-n", "edomail demo CA", "-t",
                        "C,,", "-i", self.d.cafile, "-d", db],
                       check=True, capture_output=True)

    def _prefs(self, with_account):
        p = {
            "marionette.port": self.marionette_port,
            # no first-run windows, updates, telemetry or default-client
            # question: nothing but the mail window
            "mail.shell.checkDefaultClient": False,
            "mail.provider.suppress_dialog_on_startup": True,
            "mailnews.start_page.enabled": False,
            "mail.spotlight.firstRunDone": True,
            "mail.winsearch.firstRunDone": True,
            "app.update.disabledForTesting": True,
            "app.update.auto": False,
            "datareporting.policy.dataSubmissionEnabled": False,
            "toolkit.telemetry.reportingpolicy.firstRun": False,
            "mail.rights.version": 1,
            "browser.dom.window.dump.enabled": True,
            "mail.biff.show_alert": False,
            "mail.biff.play_sound": False,
            "mailnews.ui.junk.firstuse": False,
            "mail.tabs.drawInTitlebar": False,
            # the account and Local Folders
            "mail.accountmanager.accounts": "account1,account2",
            "mail.accountmanager.defaultaccount": "account1",
            "mail.accountmanager.localfoldersserver": "server2",
            "mail.account.account2.server": "server2",
            "mail.server.server2.type": "none",
            "mail.server.server2.hostname": "Local Folders",
            "mail.server.server2.userName": "nobody",
            "mail.server.server2.name": "Local Folders",
            "mail.server.server2.directory-rel": "[ProfD]Mail/Local Folders",
        }
        p.update(self.extra_prefs)
        if not with_account:
            p["mail.accountmanager.accounts"] = "account2"
            p["mail.accountmanager.defaultaccount"] = "account2"
            return p
        a = self.account
        p.update({
            "mail.account.account1.identities": "id1",
            "mail.account.account1.server": "server1",
            "mail.identity.id1.fullName": a["name"],
            "mail.identity.id1.useremail": a["email"],
            "mail.identity.id1.smtpServer": "smtp1",
            "mail.identity.id1.valid": True,
            "mail.identity.id1.reply_on_top": 1,
            "mail.identity.id1.compose_html": False,
            "mail.server.server1.type": "imap",
            "mail.server.server1.hostname": "127.0.0.1",
            "mail.server.server1.port": self.d.ports["imaps"],
            "mail.server.server1.socketType": 3,  # SSL/TLS
            "mail.server.server1.authMethod": 3,  # normal password
            "mail.server.server1.userName": a["login"],
            "mail.server.server1.name": a["email"],
            "mail.server.server1.directory-rel": "[ProfD]ImapMail/edomail",
            "mail.server.server1.login_at_startup": True,
            "mail.server.server1.check_new_mail": False,
            "mail.smtpservers": "smtp1",
            "mail.smtp.defaultserver": "smtp1",
            "mail.smtpserver.smtp1.hostname": "127.0.0.1",
            "mail.smtpserver.smtp1.port": self.d.ports["submissions"],
            "mail.smtpserver.smtp1.try_ssl": 3,
            "mail.smtpserver.smtp1.authMethod": 3,
            "mail.smtpserver.smtp1.username": a["login"],
        })
        return p

    def _write_prefs(self, with_account):
        with open(os.path.join(self.profile, "user.js"), "w") as f:
            for k, v in self._prefs(with_account).items():
                f.write("user_pref(%s, %s);\n" % (json.dumps(k),
                                                  json.dumps(v)))

    # ---- the process ----
    def setup(self):
        """First start without the account: stores the password in the
        profile's login manager (logins.json is encrypted with key4.db, so
        Thunderbird writes it), then quits.  The real start follows."""
        self.marionette_port = _free_port()
        self._write_prefs(with_account=False)
        self.start(with_account=False)
        a = self.account
        self.js("""
          const [login, password] = arguments;
          for (const origin of ["imap://127.0.0.1", "smtp://127.0.0.1"]) {
            const li = Cc["@mozilla.org/login-manager/loginInfo;1"]
              .createInstance(Ci.nsILoginInfo);
            li.init(origin, null, origin, login, password, "", "");
            await Services.logins.addLoginAsync(li);
          }
          return true;""", a["login"], self.password)
        self.quit()

    def start(self, with_account=True):
        if self.xvfb is None:
            self.xvfb = Xvfb()
        if with_account:
            self.marionette_port = _free_port()
            self._write_prefs(with_account=True)
        self.runs += 1
        env = dict(os.environ, DISPLAY=self.xvfb.display,
                   MOZ_LOG="IMAP:5,SMTP:5,timestamp",
                   MOZ_LOG_FILE=os.path.join(self.base, "tb-moz-%d.log" %
                                             self.runs),
                   LANG="ru_RU.UTF-8", HOME=self.base,
                   MOZ_CRASHREPORTER_DISABLE="1")
        self.log = open(os.path.join(self.base, "tb-%d.log" % self.runs),
                        "wb")
        self.proc = subprocess.Popen(
            ["thunderbird", "--profile", self.profile, "--no-remote",
             "--marionette", "-remote-allow-system-access"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.m = Marionette(self.marionette_port)
        self.m.call("WebDriver:NewSession", {"capabilities": {}})
        self.m.call("Marionette:SetContext", {"value": "chrome"})
        self.m.call("WebDriver:SetTimeouts", {"script": 120000})
        self.wait(lambda: self.js("return !!(win && win.gTabmail && "
                                  "win.gTabmail.currentAbout3Pane);"),
                  60, "the mail window")
        return self

    def quit(self):
        if self.proc is None:
            return
        try:
            self.m.call("Marionette:Quit", {"flags": ["eAttemptQuit"]})
        except (MarionetteError, EOFError, OSError):
            pass
        self.m.close()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None
        self.log.close()

    def close(self):
        """Quits Thunderbird (if running) and stops Xvfb."""
        try:
            self.quit()
        finally:
            if self.proc is not None:
                os.killpg(self.proc.pid, signal.SIGKILL)
            if self.xvfb is not None:
                self.xvfb.stop()
                self.xvfb = None

    def screenshot(self, path):
        shutil.which("import") and subprocess.run(
            ["import", "-display", self.xvfb.display, "-window", "root",
             path], capture_output=True)

    # ---- scripts ----
    def js(self, body, *args):
        """Runs body as the body of an async chrome function (the 3-pane
        window is `win`); returns its value."""
        script = JS_PRELUDE + "return (async () => {" + body + "})();"
        return self.m.call("WebDriver:ExecuteScript",
                           {"script": script, "args": list(args),
                            "newSandbox": False})["value"]

    def wait(self, ok, timeout, what):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                last = ok()
                if last:
                    return last
            except MarionetteError as e:
                last = e
            time.sleep(0.5)
        raise AssertionError("Thunderbird: timed out waiting for %s (%r)" %
                             (what, last))

    def moz_log(self):
        out = []
        for name in sorted(os.listdir(self.base)):
            if name.startswith("tb-moz-"):
                with open(os.path.join(self.base, name), errors="replace") as f:
                    out.append(f.read())
        return "\n".join(out)
