"""Shared parts of the edomail benchmarks (Python 3 standard library only).

- Edomail: a demo edomaild (contrib/make-demo.sh) on free loopback ports,
  plaintext login allowed on loopback, started and stopped by us.
- Dovecot: a private Dovecot 2.3 instance (Debian's dovecot-imapd) with its
  own config, base_dir, passwd-file user and Maildir in a temp folder.
- Imap: a small raw IMAP client that can pipeline (imaplib cannot), so that
  both servers see the same command stream.
- Message generator (deterministic), memory of process trees (RSS and PSS),
  percentiles, table printing, a watchdog and a JSON summary for run-all.sh.

Everything listens on 127.0.0.1 only, and every server we start is stopped
when the script ends, also on errors, Ctrl-C or the watchdog.
"""
import atexit
import base64
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# make-demo.sh's settings come from the e2e harness (one place for them)
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
import edomail_harness as harness  # noqa: E402
BUILD = os.path.abspath(os.environ.get("EDOMAIL_BUILD_DIR",
                                       os.path.join(SRC, "build-bench")))
PASSWORD = "demo-password"
PBKDF2_ROUNDS = 100000      # CRYPTO_PASSWORD_ITERATIONS of edomaild
HOST = "127.0.0.1"

# Modified UTF-7 of the folder names used on edomaild.
ARCHIVE = "&BBAEQARFBDgEMg-"          # Архив


class BenchError(Exception):
    pass


class Timeout(BenchError):
    pass


# ---------------------------------------------------------------- cleanup

_cleanups = []


def on_cleanup(fn):
    """Run fn at exit (LIFO), whatever way the script ends."""
    _cleanups.append(fn)
    return fn


def run_cleanups():
    while _cleanups:
        fn = _cleanups.pop()
        try:
            fn()
        except Exception as e:  # cleanup must go on with the others
            print("cleanup: %s" % e, file=sys.stderr)


atexit.register(run_cleanups)


def remove_later(path):
    """Remove a temp folder at the end, unless BENCH_KEEP is set (to read
    the servers' logs after a run)."""
    if os.environ.get("BENCH_KEEP"):
        on_cleanup(lambda: print("kept %s" % path, file=sys.stderr))
    else:
        on_cleanup(lambda: shutil.rmtree(path, ignore_errors=True))


def report_logs(*servers, limit=8):
    """Print the warnings and errors the servers logged (each distinct
    message once, the first few), so that a figure never hides a failure."""
    for srv in servers:
        seen = []
        for line in srv.log().splitlines():
            low = line.lower()
            if srv.name == "edomaild":
                hit = "[warn]" in line or "[error]" in line
            else:
                hit = "error:" in low or "warning:" in low or "fatal:" in low
            if not hit:
                continue
            # the text after the level, without times, pids and sessions
            m = re.search(r"(\[warn\]|\[error\]|Warning:|Error:|Fatal:)"
                          r"(.*)", line)
            key = re.sub(r"\d+", "N", m.group(2) if m else line)[:160]
            if key not in seen:
                seen.append(key)
                if len(seen) <= limit:
                    print("%s log: %s" % (srv.name, line[:300]))
        if len(seen) > limit:
            print("%s log: ... %d more distinct warnings/errors" % (
                srv.name, len(seen) - limit))


def _alarm(signum, frame):
    raise Timeout("the benchmark ran past its time limit (--max-seconds)")


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def setup(max_seconds):
    """Watchdog and signals: a run never outlives max_seconds, and SIGTERM
    or Ctrl-C still stop the servers through the cleanups."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    signal.alarm(int(max_seconds))
    # Hundreds of connections: raise the soft descriptor limit (inherited
    # by the servers we start).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 8192) if hard != resource.RLIM_INFINITY else 8192
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def free_port():
    # claimed below the ephemeral range (see the harness): Dovecot's and
    # our listeners never race a client's source port
    return harness.free_port()


def wait_port(port, proc, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise BenchError("%s exited with %s" % (what, proc.returncode))
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise BenchError("%s did not open port %d" % (what, port))


def stop_process(proc, timeout=20):
    """SIGTERM, then SIGKILL after timeout; only the process we started."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------- servers

class Edomail:
    """The demo edomaild of contrib/make-demo.sh on free ports."""

    name = "edomaild"

    def __init__(self, workdir=None, language="ru", extra_env=None,
                 config_only=False):
        """extra_env: more DEMO_* settings (DEMO_API_PORT); config_only:
        make-demo.sh --config-only, a node without the demo data."""
        exe = os.path.join(BUILD, "src", "daemon", "edomaild")
        if not os.access(exe, os.X_OK):
            raise BenchError("no %s: build it first (meson setup build-bench "
                             "-Dbuildtype=release && ninja -C build-bench)"
                             % exe)
        self.exe = exe
        self.dir = tempfile.mkdtemp(prefix="edomail-bench-", dir=workdir)
        remove_later(self.dir)
        self.ports = harness.demo_ports()
        self.port = self.ports["imap"]
        self.smtp_port = self.ports["submission"]
        self.proc = None
        self.log_path = os.path.join(self.dir, "edomaild.log")
        self.conf = os.path.join(self.dir, "edomail.conf")
        self.env = harness.demo_env(BUILD, self.ports, language,
                                    DEMO_PLAINTEXT_LOOPBACK="true",
                                    **(extra_env or {}))
        r = subprocess.run([os.path.join(SRC, "contrib", "make-demo.sh"),
                            self.dir] + (["--config-only"] if config_only
                                         else []),
                           env=self.env, capture_output=True,
                           text=True, timeout=300)
        if r.returncode != 0:
            raise BenchError("make-demo.sh failed:\n" + r.stdout + r.stderr)
        self.demo = {}
        if config_only:
            return
        with open(os.path.join(self.dir, "demo.env")) as f:
            for line in f:
                if "=" in line:
                    k, v = line.strip().split("=", 1)
                    self.demo[k] = v

    def ctl(self, *args, input=None):
        """edomailctl on this node's config; its stdout."""
        r = subprocess.run([os.path.join(BUILD, "src", "ctl", "edomailctl"),
                            "-c", self.conf] + list(args), env=self.env,
                           capture_output=True, text=True, input=input,
                           timeout=300)
        if r.returncode != 0:
            raise BenchError("edomailctl %s: %s%s" % (" ".join(args),
                                                      r.stdout, r.stderr))
        return r.stdout

    def start(self, timeout=60):
        logf = open(self.log_path, "ab")
        # EDOMAIL_BENCH_WRAP: a command put before the daemon's, e.g.
        # "valgrind --tool=callgrind" for instruction counts that do not
        # depend on the load of a shared machine (doc/bench.md).
        wrap = os.environ.get("EDOMAIL_BENCH_WRAP", "").split()
        self.proc = subprocess.Popen(wrap + [self.exe, "-f", "-c", self.conf],
                                     stdout=logf, stderr=subprocess.STDOUT,
                                     env=self.env, cwd=self.dir)
        logf.close()
        on_cleanup(self.stop)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise BenchError("edomaild exited with %s:\n%s" %
                                 (self.proc.returncode, self.log()[-3000:]))
            if "edomaild: ready" in self.log():
                return self
            time.sleep(0.05)
        raise BenchError("edomaild did not become ready:\n" + self.log())

    def stop(self):
        stop_process(self.proc)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def pids(self):
        return [self.proc.pid] if self.alive() else []

    def cpu(self):
        return cpu_seconds(self.pids())

    def store_size(self):
        """(database, WAL) bytes of the store."""
        db = os.path.join(self.dir, "edomail.db")
        out = []
        for p in (db, db + "-wal"):
            try:
                out.append(os.path.getsize(p))
            except OSError:
                out.append(0)
        return tuple(out)


DOVECOT_CONF = """# private Dovecot for the edomail benchmarks (loopback, plaintext)
base_dir = {dir}/run
state_dir = {dir}/state
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 100
log_path = {dir}/dovecot.log
info_log_path = {dir}/dovecot-info.log
mail_location = maildir:{dir}/Maildir
# one user opens many sessions from 127.0.0.1 in the benchmarks
mail_max_userip_connections = 5000
# the defaults (100 processes per service) are below the 200 IDLE clients
default_process_limit = 2000
default_client_limit = 10000
passdb {{
  driver = passwd-file
  args = username_format=%u {dir}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {dir}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


class Dovecot:
    """A private Dovecot 2.3 (dovecot -F) with one passwd-file user whose
    mail is a Maildir in a temp folder.  Started as root (the packaged
    service is not used); mail processes run as nobody, since Dovecot
    refuses UID 0 for mail access."""

    name = "dovecot"
    user = "bench"

    def __init__(self, workdir=None, auth_cache=False, scheme="PBKDF2"):
        if shutil.which("dovecot") is None:
            raise BenchError("dovecot is not installed (dovecot-imapd)")
        self.dir = tempfile.mkdtemp(prefix="dovecot-bench-", dir=workdir)
        remove_later(self.dir)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.proc = None
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(DOVECOT_CONF.format(dir=self.dir, port=self.port))
            if auth_cache:
                # like edomaild's limits.auth_cache_ttl (60 s by default)
                f.write("auth_cache_size = 10M\nauth_cache_ttl = 60s\n"
                        "auth_cache_negative_ttl = 0\n")
        home = os.path.join(self.dir, "home")
        for d in ("run", "state", "home", "Maildir"):
            os.mkdir(os.path.join(self.dir, d))
        nobody = 65534
        for d in ("home", "Maildir"):
            os.chown(os.path.join(self.dir, d), nobody, nobody)
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            f.write("%s:%s:%d:%d::%s\n" % (self.user,
                                           self.password_hash(scheme),
                                           nobody, nobody, home))

    @staticmethod
    def password_hash(scheme="PBKDF2"):
        """Like with like: edomaild stores PBKDF2-HMAC-SHA256 with 100,000
        iterations (crypto/crypto.h), so Dovecot gets its PBKDF2 (SHA-1)
        with as many rounds, not a plain password that costs nothing.
        scheme "PLAIN" gives Dovecot's ceiling without any hashing."""
        if scheme == "PLAIN":
            return "{PLAIN}" + PASSWORD
        r = subprocess.run(["doveadm", "pw", "-s", "PBKDF2", "-r",
                            str(PBKDF2_ROUNDS), "-p", PASSWORD],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0 or not r.stdout.startswith("{PBKDF2}"):
            raise BenchError("doveadm pw failed: " + r.stdout + r.stderr)
        return r.stdout.strip()

    def start(self, timeout=60):
        out = open(os.path.join(self.dir, "master.out"), "ab")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf],
                                     stdout=out, stderr=subprocess.STDOUT)
        out.close()
        on_cleanup(self.stop)
        wait_port(self.port, self.proc, timeout, "dovecot")
        return self

    def stop(self):
        stop_process(self.proc)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        text = ""
        for name in ("master.out", "dovecot.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    text += f.read()
            except FileNotFoundError:
                pass
        return text

    def pids(self):
        """The master and every process it forked (one imap per client)."""
        return process_tree(self.proc.pid) if self.alive() else []

    def cpu(self):
        return cpu_seconds(self.pids())

    def imap_processes(self):
        n = 0
        for pid in self.pids():
            try:
                with open("/proc/%d/comm" % pid) as f:
                    if f.read().strip() == "imap":
                        n += 1
            except OSError:
                pass
        return n


# ---------------------------------------------------------------- memory

def process_tree(root):
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        # the command may hold spaces and parentheses: split after the last )
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_seconds(pids):
    """User + system CPU of the processes, plus what their reaped children
    used (Dovecot's master reaps the imap processes that ended)."""
    tck = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        total += sum(int(x) for x in fields[11:15])  # utime stime cu cs
    return total / tck


def memory(pids):
    """(RSS, PSS) in KiB summed over pids.  RSS counts shared pages once per
    process (overstates a forking server); PSS splits them among sharers."""
    rss = pss = 0
    for pid in pids:
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


# ---------------------------------------------------------------- IMAP

_literal_re = re.compile(rb"\{(\d+)\+?\}\r\n$")


class ImapError(BenchError):
    pass


class Imap:
    """A blocking IMAP client that can pipeline.  Responses are read as
    (line, literals): the line with literals cut out, and their bytes."""

    def __init__(self, port, timeout=120, host=HOST):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rf = self.sock.makefile("rb", buffering=1 << 16)
        self.n = 0
        self.greeting = self.read_response()[0]

    def close(self):
        try:
            self.rf.close()
            self.sock.close()
        except OSError:
            pass

    def tag(self):
        self.n += 1
        return b"T%d" % self.n

    def read_response(self):
        line = self.rf.readline(1 << 20)
        if not line:
            raise ImapError("connection closed by the server")
        literals = []
        m = _literal_re.search(line)
        while m:
            size = int(m.group(1))
            data = self.rf.read(size)
            if len(data) != size:
                raise ImapError("connection closed inside a literal")
            literals.append(data)
            more = self.rf.readline(1 << 20)
            if not more:
                raise ImapError("connection closed after a literal")
            line = line[:m.start()] + b"{}" + more
            m = _literal_re.search(line)
        return line, literals

    def send(self, data):
        self.sock.sendall(data)

    def wait_tagged(self, tag, untagged=None, ok=True):
        """Read until the tagged reply of tag; untagged responses go to the
        untagged list (when given).  Raises on NO/BAD when ok is set."""
        prefix = tag + b" "
        while True:
            line, lits = self.read_response()
            if line.startswith(prefix):
                status = line[len(prefix):].split(b" ", 1)[0].upper()
                if ok and status != b"OK":
                    raise ImapError("%s -> %s" % (tag.decode(), line.decode(
                        "utf-8", "replace").strip()))
                return status, line
            if untagged is not None:
                untagged.append((line, lits))

    def command(self, cmd, ok=True):
        """One command (str or bytes, without tag); returns (status, tagged
        line, untagged responses)."""
        if isinstance(cmd, str):
            cmd = cmd.encode()
        t = self.tag()
        self.send(t + b" " + cmd + b"\r\n")
        untagged = []
        status, line = self.wait_tagged(t, untagged, ok)
        return status, line, untagged

    def pipeline(self, cmds, ok=True):
        """Send all commands at once, then read every reply; returns the
        untagged responses of all of them (in order)."""
        tags, out = [], []
        for c in cmds:
            t = self.tag()
            tags.append(t)
            out.append(t + b" " + (c.encode() if isinstance(c, str) else c)
                       + b"\r\n")
        self.send(b"".join(out))
        untagged = []
        for t in tags:
            self.wait_tagged(t, untagged, ok)
        return untagged

    def login(self, user, password=PASSWORD):
        self.command("LOGIN %s %s" % (quote(user), quote(password)))
        return self

    def select(self, folder):
        _, _, untagged = self.command("SELECT " + quote(folder))
        exists = 0
        for line, _ in untagged:
            m = re.match(rb"\* (\d+) EXISTS", line)
            if m:
                exists = int(m.group(1))
        return exists

    @staticmethod
    def append_cmd(folder, msg, flags=""):
        """APPEND with a non-synchronizing literal (LITERAL+, offered by
        both servers) so that appends can be pipelined."""
        return (b"APPEND " + quote(folder).encode() + b" (" + flags.encode()
                + b") {%d+}\r\n" % len(msg) + msg)

    def logout(self):
        try:
            self.command("LOGOUT", ok=False)
        except (OSError, BenchError):
            pass
        self.close()


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def exists_in(untagged):
    n = None
    for line, _ in untagged:
        m = re.match(rb"\* (\d+) EXISTS", line)
        if m:
            n = int(m.group(1))
    return n


def append_all(imap, folder, messages, window=50):
    """APPEND every message, pipelined in windows; returns seconds."""
    t0 = time.perf_counter()
    for i in range(0, len(messages), window):
        imap.pipeline([Imap.append_cmd(folder, m)
                       for m in messages[i:i + window]])
    return time.perf_counter() - t0


HEADER_FETCH = ("UID FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS "
                "(From To Cc Bcc Subject Date Message-ID Priority X-Priority "
                "References Newsgroups In-Reply-To Content-Type Reply-To)])")


def full_sync(srv, user, folder, batch=100, keep=None):
    """A first sync as Thunderbird does it: SELECT, the header line of every
    message, then every body, UID FETCH n BODY.PEEK[] pipelined in groups of
    batch.  Returns a dict of timings, the server's CPU seconds, counts and
    a digest of the bodies (appended to the list keep when one is given)."""
    import hashlib
    digest = hashlib.sha256()
    imap = Imap(srv.port).login(user)
    try:
        cpu0 = srv.cpu()
        t0 = time.perf_counter()
        exists = imap.select(folder)
        t1 = time.perf_counter()
        _, _, untagged = imap.command(HEADER_FETCH)
        uids = []
        for line, _ in untagged:
            m = re.search(rb"\bUID (\d+)", line)
            if m and b" FETCH " in line:
                uids.append(int(m.group(1)))
        t2 = time.perf_counter()
        nbytes = 0
        nbodies = 0
        for i in range(0, len(uids), batch):
            part = imap.pipeline(["UID FETCH %d BODY.PEEK[]" % u
                                  for u in uids[i:i + batch]])
            for line, lits in part:
                if lits and b" FETCH " in line:
                    nbodies += 1
                    nbytes += len(lits[-1])
                    digest.update(lits[-1])
                    if keep is not None:
                        keep.append(lits[-1])
        t3 = time.perf_counter()
        cpu = srv.cpu() - cpu0
    finally:
        imap.logout()
    return {"exists": exists, "headers": len(uids), "bodies": nbodies,
            "bytes": nbytes, "select_s": t1 - t0, "headers_s": t2 - t1,
            "bodies_s": t3 - t2, "total_s": t3 - t0, "cpu_s": cpu,
            "digest": digest.hexdigest()}


# ---------------------------------------------------------------- messages

FIRST = ["Мария", "Пётр", "Анна", "Сергей", "Ольга", "Иван", "Елена",
         "Дмитрий", "Наталья", "Алексей", "John", "Anna", "Michael"]
LAST = ["Иванова", "Петров", "Смирнова", "Кузнецов", "Попова", "Соколов",
        "Лебедева", "Козлов", "Новикова", "Морозов", "Smith", "Brown"]
ORGS = ["romashka", "lutik", "vasilek", "buhuchet", "torgdom", "stroymash",
        "example"]
TOPICS = ["Счёт на оплату", "Акт сверки", "Договор поставки",
          "Счёт-фактура", "УПД за март", "Накладная ТОРГ-12",
          "Дополнительное соглашение", "Претензия", "Коммерческое предложение",
          "Invoice", "Price list", "Re: Акт выполненных работ",
          "Fwd: Договор аренды", "Отчёт за квартал", "Заявка на поставку"]
WORDS = ("просим оплатить счёт в течение пяти банковских дней согласно "
         "договору поставки направляем акт сверки взаимных расчётов за "
         "квартал подпишите пожалуйста и верните один экземпляр в наш адрес "
         "товар отгружен со склада накладная приложена к письму сумма с "
         "учётом НДС составляет рублей копеек срок действия предложения "
         "ограничен отдел бухгалтерии благодарим за сотрудничество with "
         "best regards the attached invoice is due within ten days").split()
FILES = ["Счёт №%d.pdf", "Акт сверки %d.pdf", "Договор %d.docx",
         "УПД %d.xml", "invoice-%d.pdf", "scan_%d.jpg"]
CTYPES = {"pdf": "application/pdf", "docx": "application/vnd."
          "openxmlformats-officedocument.wordprocessingml.document",
          "xml": "application/xml", "jpg": "image/jpeg"}


def _ew(text):
    """RFC 2047 encoded word when the text is not ASCII."""
    try:
        text.encode("ascii")
        return text
    except UnicodeEncodeError:
        return "=?UTF-8?B?%s?=" % base64.b64encode(text.encode()).decode()


def _person(rng):
    f, l = rng.choice(FIRST), rng.choice(LAST)
    addr = "%s.%s@%s.ru" % (rng.choice(["m", "p", "a", "s", "o", "i"]),
                            "".join(rng.choice("abcdefghkmnoprst")
                                    for _ in range(6)), rng.choice(ORGS))
    return '%s <%s>' % (_ew("%s %s" % (f, l)), addr)


def _text(rng, size):
    out, n = [], 0
    while n < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 12)))
        line = line[0].upper() + line[1:] + "."
        out.append(line)
        n += len(line.encode()) + 2
    return "\r\n".join(out) + "\r\n"


def _b64lines(data):
    s = base64.b64encode(data).decode()
    return "\r\n".join(s[i:i + 76] for i in range(0, len(s), 76)) + "\r\n"


def gen_message(rng, i, attach_ratio=0.25):
    """A realistic business letter of a few KB (CRLF), a quarter of them
    with an attachment of 5-40 KB; deterministic for a given rng state."""
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0300",
                         time.gmtime(1735689600 + i * 397))
    subject = "%s %d" % (rng.choice(TOPICS), rng.randint(1, 9999))
    head = ["From: " + _person(rng), "To: " + _person(rng)]
    if rng.random() < 0.3:
        head.append("Cc: " + _person(rng))
    head += ["Subject: " + _ew(subject), "Date: " + date,
             "Message-ID: <bench.%d.%08x@example.ru>" % (i, rng.getrandbits(32)),
             "MIME-Version: 1.0"]
    if rng.random() < 0.2:
        head.append("In-Reply-To: <bench.%d.0@example.ru>" % max(0, i - 7))
    body = _text(rng, rng.randint(1500, 5000))
    if rng.random() >= attach_ratio:
        head += ["Content-Type: text/plain; charset=utf-8",
                 "Content-Transfer-Encoding: base64"]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + \
            _b64lines(body.encode()).encode()
    boundary = "=_bench_%d_%06x" % (i, rng.getrandbits(24))
    fname = rng.choice(FILES) % rng.randint(1, 999)
    ext = fname.rsplit(".", 1)[1]
    blob = rng.randbytes(rng.randint(5000, 40000))
    head += ['Content-Type: multipart/mixed; boundary="%s"' % boundary]
    parts = ["--" + boundary,
             "Content-Type: text/plain; charset=utf-8",
             "Content-Transfer-Encoding: base64", "",
             _b64lines(body.encode()),
             "--" + boundary,
             'Content-Type: %s; name="%s"' % (CTYPES[ext], _ew(fname)),
             "Content-Transfer-Encoding: base64",
             "Content-Disposition: attachment; filename*=utf-8''%s" %
             "".join(c if c.isalnum() and ord(c) < 128 else
                     "".join("%%%02X" % b for b in c.encode()) for c in fname),
             "", _b64lines(blob), "--" + boundary + "--", ""]
    return ("\r\n".join(head) + "\r\n\r\n" + "\r\n".join(parts)).encode()


def gen_messages(count, seed=20261125):
    rng = random.Random(seed)
    return [gen_message(rng, i) for i in range(count)]


# ---------------------------------------------------------------- figures

def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def ratio(a, b):
    try:
        return a / b
    except (ZeroDivisionError, TypeError):
        return float("nan")


def fmt(v):
    if isinstance(v, str):
        return v
    if v is None:
        return "-"
    if isinstance(v, int):
        return str(v)
    if v != v:
        return "-"
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.3g" % v


def table(title, header, rows):
    """Print an aligned table; rows are lists of str/number."""
    cells = [header] + [[fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    # text columns (the first, or a text value in the first row) go left
    left = [i == 0 or (rows and isinstance(rows[0][i], str) and
                       rows[0][i] != "") for i in range(len(header))]
    print()
    print(title)
    line = "  ".join("-" * w for w in widths)
    print(line)
    for j, r in enumerate(cells):
        print("  ".join(c.ljust(w) if left[i] else c.rjust(w)
                        for i, (c, w) in enumerate(zip(r, widths)))
              .rstrip())
        if j == 0:
            print(line)
    print(line)
    sys.stdout.flush()


class Summary:
    """Rows for run-all.sh: bench, metric, unit, edomail, other, ratio
    (edomail / other), written as JSON lines to --summary FILE."""

    def __init__(self, bench, path):
        self.bench, self.path = bench, path

    def add(self, metric, unit, edomail, other=None, other_name="dovecot"):
        if not self.path:
            return
        with open(self.path, "a") as f:
            f.write(json.dumps({
                "bench": self.bench, "metric": metric, "unit": unit,
                "edomail": edomail, "other": other, "other_name": other_name,
                "ratio": ratio(edomail, other) if other else None},
                ensure_ascii=False) + "\n")


def common_args(parser, max_seconds):
    parser.add_argument("--quick", action="store_true",
                        help="small counts: a smoke run of a few seconds")
    parser.add_argument("--summary", metavar="FILE",
                        help="append result rows (JSON lines) for run-all.sh")
    parser.add_argument("--max-seconds", type=float, default=max_seconds,
                        help="hard time limit of the whole run "
                        "(default %(default)s)")
    parser.add_argument("--workdir", default=None,
                        help="where the temp folders go (default: $TMPDIR)")
    return parser


def conditions():
    """One line about the machine, printed with every run."""
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    return ("%s, %d CPUs, load %.2f %.2f %.2f, %s" % (
        time.strftime("%Y-%m-%d %H:%M:%S"), os.cpu_count() or 0, load[0],
        load[1], load[2], os.uname().release))


# ---------------------------------------------------------------- SMTP

def smtp_login(srv, user):
    """A submission session on edomaild (plaintext, loopback allowed by the
    demo's allow_plaintext_loopback)."""
    import smtplib
    s = smtplib.SMTP(HOST, srv.smtp_port, timeout=120)
    s.ehlo("bench.local")
    s.login(user, PASSWORD)
    return s


def edo_letter(from_addr, to_addr, subject, text, fname, data,
               ctype=("application", "pdf")):
    """A letter as a mail client writes it: text and one attachment."""
    from email.message import EmailMessage
    from email import policy
    m = EmailMessage(policy=policy.SMTP)
    m["From"] = from_addr
    m["To"] = to_addr
    m["Subject"] = subject
    m["Message-ID"] = "<%s@bench.local>" % base64.b32encode(
        os.urandom(10)).decode().lower()
    m.set_content(text)
    m.add_attachment(data, maintype=ctype[0], subtype=ctype[1],
                     filename=fname)
    return m.as_bytes()


def wait_exists_count(srv, user, folder, count, timeout, steps=None):
    """Poll until folder shows at least count messages; returns (exists,
    seconds waited).  steps, a dict, gets the parts: "login" (s), "select"
    (the first SELECT, s), "first" (what it showed), "polls"."""
    t0 = time.perf_counter()
    imap = Imap(srv.port).login(user)
    if steps is not None:
        steps["login"] = time.perf_counter() - t0
        steps["polls"] = 0
    try:
        n = 0
        while time.perf_counter() - t0 < timeout:
            t1 = time.perf_counter()
            n = imap.select(folder)
            if steps is not None:
                if steps["polls"] == 0:
                    steps["select"] = time.perf_counter() - t1
                    steps["first"] = n
                steps["polls"] += 1
            if n >= count:
                break
            time.sleep(0.2)
        return n, time.perf_counter() - t0
    finally:
        imap.logout()


def print_summary(path):
    """The table of run-all.sh from the JSON lines of every script."""
    rows = []
    try:
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                rows.append([r["bench"], r["metric"], r["unit"],
                             r["edomail"], r["other"],
                             r["other_name"] if r["other"] is not None
                             else "", r["ratio"]])
    except FileNotFoundError:
        pass
    table("Summary (ratio = edomaild / other)",
          ["bench", "metric", "unit", "edomaild", "other", "other is",
           "ratio"], rows)
