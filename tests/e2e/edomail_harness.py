"""End-to-end harness: runs the real edomaild on free loopback ports.

Every test gets its own folder with a config, a TLS certificate, a store and
the demo (two organizations, users and certificates made with edomailctl by
contrib/make-demo.sh), then drives the daemon with real clients (imaplib,
smtplib, curl, mutt, mbsync, swaks).

Environment (set by meson): EDOMAIL_BUILD_DIR, EDOMAIL_SOURCE_DIR;
EDOMAIL_E2E_NODES=2 (the meson suite "gateway") makes every demo daemon a
pair: node A, the embedded operator serving the operator API, and node B,
a gateway-only node (operator.driver = "http") that the test drives (see
TwoNodes below and doc/operator-api.md).
"""
import imaplib
import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

SRC = os.environ.get("EDOMAIL_SOURCE_DIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(
                         os.path.abspath(__file__)))))
BUILD = os.environ.get("EDOMAIL_BUILD_DIR", os.path.join(SRC, "build-test"))

# The demo (contrib/make-demo.sh): organizations and users.
ROMASHKA = {"name": "ООО Ромашка", "inn": "7701234560", "kpp": "770101001"}
LUTIK = {"name": "ООО Лютик", "inn": "5001007329", "kpp": "500101001"}
VASILEK = {"name": "ООО Василёк", "inn": "7728012332", "kpp": "772801001"}
PASSWORD = "demo-password"
# buh: accountant serving Ромашка (RSA cert) and Лютик (GOST cert)
# romashka: owner of Ромашка (RSA); lutik: owner of Лютик (GOST)
# viewer: Ромашка, no signing right; vasilek: owner of Василёк (RSA), a
# third organization for isolation tests.


def _demo_template():
    """The demo made once per build (PBKDF2 and key generation under ASan
    take seconds) and copied into each test's folder.  Keyed by the demo
    script and the edomailctl binary, so a change makes a new one."""
    import fcntl
    import hashlib
    script = os.path.join(SRC, "contrib", "make-demo.sh")
    ctl = os.path.join(BUILD, "src", "ctl", "edomailctl")
    with open(script, "rb") as f:
        h = hashlib.sha256(f.read())
    h.update(str(os.stat(ctl).st_mtime_ns).encode())
    tdir = os.path.join(BUILD, "e2e-demo-" + h.hexdigest()[:12])
    with open(tdir + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(tdir, "ready")):
            shutil.rmtree(tdir, ignore_errors=True)
            env = dict(os.environ, EDOMAIL_BUILD_DIR=BUILD)
            r = subprocess.run([script, tdir], env=env, capture_output=True,
                               text=True)
            if r.returncode != 0:
                raise RuntimeError("make-demo.sh failed:\n" + r.stdout +
                                   r.stderr)
            open(os.path.join(tdir, "ready"), "w").close()
    return tdir


# EDOMAIL_E2E_NODES=2: the demo runs on two nodes (TwoNodes).
TWO_NODES = os.environ.get("EDOMAIL_E2E_NODES", "1") == "2"


def skip_two_nodes(reason):
    """unittest.skipIf for a test of the embedded operator's own internals,
    which the two-node mode cannot run as it is (doc/operator-api.md lists
    every such skip)."""
    return unittest.skipIf(TWO_NODES, "two-node mode: " + reason)


# Ports a test listens on are claimed, not just found free.  A port the
# kernel picks with bind(0) comes from the ephemeral range, which is also
# where every outgoing connection's source port comes from: between the
# pick and the daemon's bind, a client of the test running beside it took
# 42307 and the daemon failed with "Address already in use" (CI, gw-sealed).
# So ports come from below the ephemeral range, where no connect() lands,
# and each is claimed by a lock file held for the life of this process, so
# two tests never get the same one.  The bind check skips anything else
# listening there.
_PORT_DIR = os.path.join(tempfile.gettempdir(), "edomail-e2e-ports")
_PORT_LOCKS = []


def _port_range():
    lo = 32768
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    # 20000..(ephemeral start); a machine whose ephemeral range starts low
    # still gets 4000 ports, a few of which may then collide as before
    hi = max(lo, 24000)
    return 20000, hi


def _port_bindable(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # the daemon listens with SO_REUSEADDR: a port left in TIME_WAIT by
        # the last test that had it is as good for it as a fresh one
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def claim_ports(n):
    """n loopback ports no other test holds and nothing listens on; held
    (lock files) until this process exits."""
    import fcntl
    import random
    os.makedirs(_PORT_DIR, exist_ok=True)
    lo, hi = _port_range()
    span = hi - lo
    start = random.randrange(span)
    got = []
    for i in range(span):
        if len(got) == n:
            break
        port = lo + (start + i) % span
        fd = os.open(os.path.join(_PORT_DIR, str(port)),
                     os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        if not _port_bindable(port):
            os.close(fd)
            continue
        _PORT_LOCKS.append(fd)
        got.append(port)
    if len(got) < n:
        raise RuntimeError("no free loopback port in %d..%d" % (lo, hi))
    return got


def free_port():
    return claim_ports(1)[0]


def demo_ports():
    """Claimed loopback ports for the four listeners, all different."""
    names = ("imap", "imaps", "submission", "submissions")
    return dict(zip(names, claim_ports(len(names))))


def demo_env(build, ports, language="ru", **extra):
    """The environment contrib/make-demo.sh reads (build folder, ports,
    folder language, password), with extra DEMO_* settings; also used by
    bench/benchlib.py."""
    env = dict(os.environ)
    env.update({
        "EDOMAIL_BUILD_DIR": build,
        "DEMO_IMAP_PORT": str(ports["imap"]),
        "DEMO_IMAPS_PORT": str(ports["imaps"]),
        "DEMO_SUBMISSION_PORT": str(ports["submission"]),
        "DEMO_SUBMISSIONS_PORT": str(ports["submissions"]),
        "DEMO_LANGUAGE": language,
        "DEMO_PASSWORD": PASSWORD,
        # off unless a test asks for it (extra DEMO_AUTOCONFIG_PORT)
        "DEMO_AUTOCONFIG_PORT": "0",
        "DEMO_API_PORT": "0",
        "DEMO_TRUST_REFRESH": "1",
    })
    env.update(extra)
    return env



def wait_for(fn, timeout=30, step=0.2, what="a condition"):
    """fn()'s first true value, polled every step seconds; AssertionError
    after timeout seconds."""
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(step)

class Daemon:
    """One edomaild with its own folder, config and demo data."""

    def __new__(cls, language="ru", extra_env=None, demo=True,
                _single=False, _ca_dir=None):
        # In the two-node mode a demo daemon is a pair (TwoNodes).
        if cls is Daemon and demo and TWO_NODES and not _single:
            return super().__new__(TwoNodes)
        return super().__new__(cls)

    def __init__(self, language="ru", extra_env=None, demo=True,
                 _single=False, _ca_dir=None):
        require_tools("openssl")  # make-demo.sh makes the certificate
        self.dir = tempfile.mkdtemp(prefix="edomail-e2e-")
        self.ports = demo_ports()
        self.language = language
        self.proc = None
        self.log_path = os.path.join(self.dir, "edomaild.log")
        self.conf = os.path.join(self.dir, "edomail.conf")
        env = demo_env(BUILD, self.ports, language, **(extra_env or {}))
        self.env = env
        # Config and TLS certificate for this test's ports; the demo's data
        # (store, node key, operator key) comes from the shared template.
        if demo or _ca_dir:
            # The template's demo CA issued its certificates: the test
            # keeps it (make-demo.sh reuses a CA that is there).
            tdir = _ca_dir or _demo_template()
            for name in ("demo-ca.crt", "demo-ca.key"):
                shutil.copy2(os.path.join(tdir, name),
                             os.path.join(self.dir, name))
        args = [os.path.join(SRC, "contrib", "make-demo.sh"), self.dir,
                "--config-only"]
        r = subprocess.run(args, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("make-demo.sh failed:\n" + r.stdout + r.stderr)
        if demo:
            tdir = _demo_template()
            for name in os.listdir(tdir):
                if name in ("edomail.conf", "tls.crt", "tls.key",
                            "demo-ca.crt", "demo-ca.key", "ready"):
                    continue
                src = os.path.join(tdir, name)
                if os.path.isdir(src):
                    shutil.copytree(src, os.path.join(self.dir, name),
                                    dirs_exist_ok=True)
                else:
                    shutil.copy2(src, os.path.join(self.dir, name))
        # The demo CA that signed tls.crt: what a client trusts.
        self.cafile = os.path.join(self.dir, "demo-ca.crt")
        # The store that holds the operator's tables (op_*): this node's,
        # node A's in the two-node mode.
        self.operator_db = os.path.join(self.dir, "edomail.db")
        self.demo = {}
        envfile = os.path.join(self.dir, "demo.env")
        if os.path.exists(envfile):
            with open(envfile) as f:
                for line in f:
                    if "=" in line:
                        k, v = line.strip().split("=", 1)
                        self.demo[k] = v

    # ---- process control ----
    def start(self, timeout=30):
        since = len(self.log())  # a restart's log follows the last run's
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "src", "daemon", "edomaild"), "-f", "-c",
             self.conf], stdout=logf, stderr=subprocess.STDOUT, env=self.env)
        logf.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("edomaild exited with %s:\n%s" %
                                   (self.proc.returncode, self.log()))
            if "edomaild: ready" in self.log()[since:]:
                return self
            time.sleep(0.05)
        raise RuntimeError("edomaild did not become ready:\n" + self.log())

    def stop(self, timeout=30):
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise RuntimeError("edomaild did not stop on SIGTERM:\n" + self.log())
        self.proc = None
        return rc

    def kill(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def cleanup(self):
        """Stops the daemon and removes its folder; returns (exit code,
        sanitizer report found, the whole log)."""
        rc = 0
        if self.proc is not None:
            rc = self.stop()
        log = self.log()
        sanitizer = "ERROR: AddressSanitizer" in log or \
            "runtime error:" in log or "ERROR: LeakSanitizer" in log
        if os.environ.get("EDOMAIL_KEEP") is None:
            shutil.rmtree(self.dir, ignore_errors=True)
        return rc, sanitizer, log

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    # ---- admin ----
    def ctl(self, *args, check=True, input=None):
        r = subprocess.run(
            [os.path.join(BUILD, "src", "ctl", "edomailctl"), "-c",
             self.conf] + list(args), capture_output=True, text=True,
            env=self.env, input=input)
        if check and r.returncode != 0:
            raise RuntimeError("edomailctl %s failed (%d):\n%s%s" %
                               (" ".join(args), r.returncode, r.stdout,
                                r.stderr))
        return r

    def box_id(self, inn):
        """The participant id of an organization (demo.env, else `org show`)."""
        for org in ("ROMASHKA", "LUTIK", "VASILEK"):
            if self.demo.get(org + "_INN") == inn:
                return self.demo[org + "_BOX"]
        out = self.ctl("org", "show", inn).stdout
        for line in out.splitlines():
            if ":" in line and line.split(":", 1)[0].strip().lower() in (
                    "id", "box", "participant id", "идентификатор участника"):
                return line.split(":", 1)[1].strip()
        raise RuntimeError("no participant id in:\n" + out)

    def addr(self, inn, domain="edo.local"):
        """The EDO mail address of an organization given by its ИНН."""
        return "%s@%s" % (self.box_id(inn), domain)

    # ---- clients ----
    def tls_context(self):
        ctx = ssl.create_default_context(cafile=self.cafile)
        ctx.check_hostname = False
        return ctx

    def imap(self, login, password=PASSWORD, mode="starttls"):
        if mode == "ssl":
            c = imaplib.IMAP4_SSL("127.0.0.1", self.ports["imaps"],
                                  ssl_context=self.tls_context())
        else:
            c = imaplib.IMAP4("127.0.0.1", self.ports["imap"])
            if mode == "starttls":
                c.starttls(ssl_context=self.tls_context())
        c.login(login, password)
        return c

    def smtp(self, login, password=PASSWORD, mode="starttls"):
        if mode == "ssl":
            c = smtplib.SMTP_SSL("127.0.0.1", self.ports["submissions"],
                                 context=self.tls_context(), timeout=60)
        else:
            c = smtplib.SMTP("127.0.0.1", self.ports["submission"],
                             timeout=60)
            c.ehlo()
            if mode == "starttls":
                c.starttls(context=self.tls_context())
                c.ehlo()
        c.login(login, password)
        return c


# ---- the two-node mode (EDOMAIL_E2E_NODES=2) ----

# edomailctl commands that administer the operator itself: on a gateway
# node they have no meaning (API tokens live in the operator's store) or
# need the operator's own store (registering an organization), so the
# pair runs them on node A.  Everything else runs on node B, the gateway,
# through its http driver where it reaches the operator.
OPERATOR_SIDE = {("api", "token"), ("api", "tokens"), ("api", "revoke"),
                 ("api", "cert"), ("api", "certs"), ("org", "add")}
DEMO_INNS = (ROMASHKA["inn"], LUTIK["inn"], VASILEK["inn"])


def gateway_conf(path, api_port, ca, extra="", timeout=10):
    """Turns make-demo.sh's config at path into a gateway node's: the http
    driver to node A's operator API on api_port (A's CA ca), no API of
    its own; extra: more settings of the operator group.  The two-node
    mode, the tests that build their own nodes and bench/gateway.py."""
    with open(path) as f:
        conf = f.read()
    conf, n = re.subn(
        r"operator:\s*\{[^}]*\{[^}]*\};\s*\};",
        'operator: { driver = "http"; prefix = "2ED"; dir = "operator"; '
        'url = "https://127.0.0.1:%d"; ca = "%s"; timeout = %d; %s};' %
        (api_port, ca, timeout, extra), conf)
    if n != 1:
        raise RuntimeError("no operator group in " + path)
    with open(path, "w") as f:
        f.write(conf)


def _attach(a, b, inn):
    """Attaches the organization inn (registered at A) on B with a fresh
    API token of A's."""
    token = a.ctl("api", "token", inn, "--label", "e2e gateway").stdout.strip()
    b.ctl("org", "attach", inn, "--token-file", "-", input=token + "\n")


def _two_node_template():
    """Node A's demo after the gateway was set up (API tokens, the gateway
    users' certificates registered) and node B's own store: made once per
    build from _demo_template() (certificates under ASan take seconds) and
    copied into each test's folders.  B's users, memberships, certificates
    (issued by the same demo CA) and receipt policies are those of
    make-demo.sh; its organizations are attached by token."""
    import fcntl
    import hashlib
    base = _demo_template()
    with open(os.path.abspath(__file__), "rb") as f:
        hsh = hashlib.sha256(f.read())
    hsh.update(base.encode())
    tdir = os.path.join(BUILD, "e2e-gw-" + hsh.hexdigest()[:12])
    with open(tdir + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(tdir, "ready")):
            return tdir
        shutil.rmtree(tdir, ignore_errors=True)
        a = Daemon(demo=True, extra_env={"DEMO_API_PORT": str(free_port())},
                   _single=True)
        b = Daemon(demo=False, _single=True, _ca_dir=base)
        try:
            # the demo CA's CRL too: without it no signature is valid
            for name in ("demo.env", "upd", "crls"):
                src = os.path.join(a.dir, name)
                if os.path.isdir(src):
                    shutil.copytree(src, os.path.join(b.dir, name),
                                    dirs_exist_ok=True)
                else:
                    shutil.copy2(src, os.path.join(b.dir, name))
            gateway_conf(b.conf, int(a.env["DEMO_API_PORT"]), b.cafile)
            a.start()
            for inn in DEMO_INNS:
                _attach(a, b, inn)
                # A keeps make-demo.sh's users and keys, but the receipts
                # (ИоП) are the gateway's to sign, with B's policy: A's
                # own automatic receipts would race B's
                a.ctl("org", "policy", inn, "--receipt-cert", "none")
            _make_demo_users(b)
            a.stop()
            os.makedirs(tdir)
            for node, sub in ((a, "a"), (b, "b")):
                shutil.copytree(node.dir, os.path.join(tdir, sub))
        finally:
            a.cleanup()
            b.cleanup()
        open(os.path.join(tdir, "ready"), "w").close()
    return tdir


def _make_demo_users(b):
    """make-demo.sh's users, memberships, certificates and receipt
    policies, on the gateway node b."""
    users = (("buh", "Иванова Мария Петровна"),
             ("romashka", "Петров Пётр Петрович"),
             ("lutik", "Сидоров Сидор Сидорович"),
             ("viewer", "Смирнова Анна Ивановна"),
             ("vasilek", "Кузнецов Иван Иванович"))
    r, l, v = DEMO_INNS
    for login, name in users:
        b.ctl("user", "add", login, "--name", name, "--password-fd", "0",
              input=PASSWORD + "\n")
    for login, inn, role in (("buh", r, "signer"), ("buh", l, "signer"),
                             ("romashka", r, "owner"),
                             ("lutik", l, "owner"), ("viewer", r, "reader"),
                             ("vasilek", v, "owner")):
        b.ctl("member", "add", login, inn, "--role", role)
    for login, inn, kind in (("buh", r, "rsa"), ("buh", l, "gost"),
                             ("romashka", r, "rsa"), ("lutik", l, "gost"),
                             ("vasilek", v, "rsa")):
        b.ctl("cert", "make", login, inn, "--type", kind)
    for inn, login in ((r, "romashka"), (l, "lutik"), (v, "vasilek")):
        b.ctl("org", "policy", inn, "--receipt-cert", login)


class TwoNodes(Daemon):
    """The demo on two nodes: self is node B, the gateway-only node
    (operator.driver = "http", its own store for folders and UIDs) that a
    test drives exactly like the one daemon of the one-node mode (ports,
    imap(), smtp(), conf, dir, demo, cafile); self.op is node A, the
    demo's embedded operator serving the operator API to B.  start/stop
    run both (A first up, last down), kill and restart B only, cleanup
    checks both logs."""

    def __init__(self, language="ru", extra_env=None, demo=True):
        extra = dict(extra_env or {})
        tdir = _two_node_template()
        # A: the operator; the test's DEMO_* settings of trust apply to it
        # as well (both nodes check signatures).
        a_env = {k: v for k, v in extra.items()
                 if k.startswith("DEMO_TRUST")}
        a_env["DEMO_API_PORT"] = extra.get("DEMO_API_PORT") or \
            str(free_port())
        if a_env["DEMO_API_PORT"] == "0":
            a_env["DEMO_API_PORT"] = str(free_port())
        self.op = Daemon(language, a_env, demo=False, _single=True,
                         _ca_dir=tdir + "/a")
        self._fill(self.op, os.path.join(tdir, "a"))
        extra["DEMO_API_PORT"] = "0"
        super().__init__(language, extra, demo=False, _single=True,
                         _ca_dir=tdir + "/b")
        self._fill(self, os.path.join(tdir, "b"))
        gateway_conf(self.conf, int(a_env["DEMO_API_PORT"]), self.cafile)
        self.operator_db = self.op.operator_db
        # a test that cleans up B itself (rmtree of d.dir) leaves A: at
        # exit A is stopped and its folder removed all the same
        import atexit
        atexit.register(self._op_cleanup)

    def _op_cleanup(self):
        if os.path.isdir(self.op.dir):
            self.op.cleanup()

    @staticmethod
    def _fill(node, src):
        """node's folder gets the template's data; its config and TLS
        certificate stay (this test's ports)."""
        for name in os.listdir(src):
            if name in ("edomail.conf", "tls.crt", "tls.key", "ready",
                        "edomaild.log"):
                continue
            s = os.path.join(src, name)
            if os.path.isdir(s):
                shutil.copytree(s, os.path.join(node.dir, name),
                                dirs_exist_ok=True)
            else:
                shutil.copy2(s, os.path.join(node.dir, name))
        node.demo = {}
        envfile = os.path.join(node.dir, "demo.env")
        if os.path.exists(envfile):
            with open(envfile) as f:
                for line in f:
                    if "=" in line:
                        k, v = line.strip().split("=", 1)
                        node.demo[k] = v

    def start(self, timeout=30):
        if self.op.proc is None:
            self.op.start(timeout)
        return super().start(timeout)

    def stop(self, timeout=30):
        rc = super().stop(timeout)
        rc_a = self.op.stop(timeout)
        return rc or rc_a

    def restart(self):
        super().stop()
        return super().start()

    def cleanup(self):
        rc, sanitizer, log = super().cleanup()
        rc_a, sanitizer_a, log_a = self.op.cleanup()
        return (rc or rc_a, sanitizer or sanitizer_a,
                log + "\n---- node A (operator) ----\n" + log_a)

    def ctl(self, *args, check=True, input=None):
        if tuple(args[:2]) in OPERATOR_SIDE:
            r = self.op.ctl(*args, check=check, input=input)
            if tuple(args[:2]) == ("org", "add") and r.returncode == 0:
                # a new organization is served by the gateway at once
                inn = args[args.index("--inn") + 1]
                _attach(self.op, self, inn)
            return r
        r = super().ctl(*args, check=check, input=input)
        if tuple(args[:2]) == ("cert", "revoke") and r.returncode == 0:
            # one demo CA for both nodes: A checks signatures too
            src = os.path.join(self.dir, "crls")
            shutil.copytree(src, os.path.join(self.op.dir, "crls"),
                            dirs_exist_ok=True)
        return r


class TmuxApp:
    """A terminal program (mutt, NeoMutt) in a detached tmux session of
    200x50, read with capture-pane and driven with send-keys."""

    def __init__(self, session, command, home):
        self.session = session
        self.env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8",
                        TERM="xterm-256color", HOME=home)
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x",
                        "200", "-y", "50", command], env=self.env,
                       check=True)

    def screen(self):
        return subprocess.run(["tmux", "capture-pane", "-p", "-t",
                               self.session], capture_output=True, text=True,
                              env=self.env).stdout

    def wait(self, ok, timeout=60):
        """The screen once ok(screen) holds; None after timeout."""
        deadline = time.time() + timeout
        while True:
            text = self.screen()
            if ok(text):
                return text
            if time.time() > deadline:
                return None
            time.sleep(0.3)

    def keys(self, *keys):
        subprocess.run(["tmux", "send-keys", "-t", self.session] +
                       list(keys), env=self.env)

    def running(self):
        return subprocess.run(["tmux", "has-session", "-t", self.session],
                              capture_output=True).returncode == 0

    def kill(self):
        subprocess.run(["tmux", "kill-session", "-t", self.session],
                       capture_output=True)


# What each pseudo-tool needs beyond its name on PATH, and the Debian
# packages that provide it (contrib/install-deps.sh installs them all).
TOOL_PACKAGES = {
    "swaks-tls": "swaks libnet-ssleay-perl libio-socket-ssl-perl",
    "openssl-gost": "openssl libengine-gost-openssl",
    "mbsync": "isync",
    "ip": "iproute2",
    "prlimit": "util-linux",
    "xmllint": "libxml2-utils",
}


def _tool_ok(t):
    if t == "swaks-tls":
        # swaks says "=== TLS supported" only with Net::SSLeay and
        # IO::Socket::SSL, which --no-install-recommends leaves out.
        return shutil.which("swaks") is not None and "=== TLS supported" \
            in subprocess.run(["swaks", "--support"],
                              capture_output=True, text=True).stdout
    if t == "openssl-gost":
        # `openssl cms -engine gost` of GOST signatures needs the engine.
        return shutil.which("openssl") is not None and subprocess.run(
            ["openssl", "engine", "gost"], capture_output=True).returncode == 0
    return shutil.which(t) is not None


def require_tools(*tools):
    """Fails at once, saying what to install, when a client a test drives
    is missing or lacks what the test needs (pseudo-tools: "swaks-tls",
    swaks with its Perl TLS modules; "openssl-gost", openssl with the GOST
    engine).  A missing tool is a failure, never a skip: a machine that
    lacks one must not pass the suite."""
    missing = [t for t in tools if not _tool_ok(t)]
    if missing:
        raise RuntimeError(
            "не хватает инструментов для теста / tools missing for this "
            "test: %s; run contrib/install-deps.sh (packages: %s)" %
            (", ".join(missing),
             " ".join(TOOL_PACKAGES.get(t, t) for t in missing)))


class DaemonTestCase(unittest.TestCase):
    """A test class with one daemon for all its tests (started in
    setUpClass); fails if the daemon logged a sanitizer report or did not
    stop cleanly.  tools: the clients the class drives (require_tools);
    extra_env: DEMO_* settings of its daemon."""
    language = "ru"
    tools = ()
    extra_env = None

    @classmethod
    def setUpClass(cls):
        require_tools(*cls.tools)
        cls.d = Daemon(language=cls.language, extra_env=cls.extra_env)
        cls.d.start()

    @classmethod
    def tearDownClass(cls):
        rc, sanitizer, log = cls.d.cleanup()
        if sanitizer:
            raise AssertionError("sanitizer report in edomaild log:\n" + log)
        if rc != 0:
            raise AssertionError("edomaild exited with %d:\n%s" % (rc, log))


class GatewayTestCase(DaemonTestCase):
    """Two nodes built by the test itself: self.d is node A, the demo with
    its embedded operator serving the operator API on api_port; self.b is
    node B, a gateway-only node (operator.driver = "http") against it,
    made by gateway_node and attached to organizations by gateway_org.
    tearDownClass checks B's log and exit as the harness does A's."""
    tools = ("openssl",)
    b = None

    @classmethod
    def gateway_node(cls, operator_extra=""):
        """Node B (not started); operator_extra: more settings of its
        operator group ("poll_interval = 600000;")."""
        b = cls.b = Daemon(demo=False)
        gateway_conf(b.conf, cls.api_port, cls.d.cafile, operator_extra)
        return b

    @classmethod
    def gateway_org(cls, name, inn, kpp, login):
        """An organization registered at A and served by B only: attached
        on B with a token A issued, with its user login (owner, an RSA
        certificate).  Its box id and the token."""
        a, b = cls.d, cls.b
        a.ctl("org", "add", "--name", name, "--inn", inn, "--kpp", kpp)
        token = a.ctl("api", "token", inn).stdout.strip()
        b.ctl("org", "attach", inn, "--token-file", "-", input=token + "\n")
        cls.gateway_user(inn, login)
        return a.box_id(inn), token

    @classmethod
    def gateway_user(cls, inn, login):
        """login on B, owner of the organization inn, with an RSA
        certificate."""
        b = cls.b
        b.ctl("user", "add", login, "--password", PASSWORD)
        b.ctl("member", "add", login, inn, "--role", "owner")
        b.ctl("cert", "make", login, inn, "--type", "rsa")

    @classmethod
    def tearDownClass(cls):
        rc, sanitizer, log = cls.b.cleanup() if cls.b is not None else \
            (0, False, "")
        super().tearDownClass()
        if sanitizer:
            raise AssertionError("sanitizer report in node B's log:\n" + log)
        if rc != 0:
            raise AssertionError("node B exited with %d:\n%s" % (rc, log))


def utf7_encode(name):
    """Modified UTF-7 (RFC 3501 5.1.3), independent of the server's code."""
    out, buf = [], []

    def flush():
        if buf:
            import base64
            b = base64.b64encode("".join(buf).encode("utf-16-be")).decode()
            out.append("&" + b.rstrip("=").replace("/", ",") + "-")
            buf.clear()
    for ch in name:
        if 0x20 <= ord(ch) <= 0x7e:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buf.append(ch)
    flush()
    return "".join(out)


def utf7_decode(s):
    import base64
    out, i = [], 0
    while i < len(s):
        if s[i] == "&":
            j = s.index("-", i)
            if j == i + 1:
                out.append("&")
            else:
                b = s[i + 1:j].replace(",", "/")
                b += "=" * (-len(b) % 4)
                out.append(base64.b64decode(b).decode("utf-16-be"))
            i = j + 1
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def client_cert(ca_dir, out_dir, name, subject=None, self_signed=False):
    """A TLS client certificate and its key (paths), issued by the demo CA
    of ca_dir (demo-ca.crt/.key), or self-signed: for the operator API's
    client certificate tests."""
    key = os.path.join(out_dir, name + ".key")
    crt = os.path.join(out_dir, name + ".crt")
    subj = subject or "/CN=%s" % name
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)
    # INNLE= in a subject: ИННЮЛ, which openssl knows by a config only
    cnf = os.path.join(out_dir, "client-cert.cnf")
    with open(cnf, "w") as f:
        f.write("oid_section = new_oids\n[new_oids]\n"
                "INNLE = 1.2.643.100.4\n[req]\ndistinguished_name = dn\n"
                "[dn]\n")
    run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
        "ec_paramgen_curve:P-256", "-out", key)
    if self_signed:
        run("openssl", "req", "-new", "-x509", "-config", cnf, "-key", key,
            "-subj", subj,
            "-days", "30", "-out", crt)
        return crt, key
    csr = os.path.join(out_dir, name + ".csr")
    run("openssl", "req", "-new", "-config", cnf, "-key", key, "-subj", subj,
        "-out", csr)
    run("openssl", "x509", "-req", "-in", csr,
        "-CA", os.path.join(ca_dir, "demo-ca.crt"),
        "-CAkey", os.path.join(ca_dir, "demo-ca.key"),
        "-set_serial", "0x" + os.urandom(8).hex(), "-days", "30",
        "-out", crt)
    os.unlink(csr)
    return crt, key


def main():
    unittest.main(verbosity=2)
