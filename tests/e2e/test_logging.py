"""Where edomaild logs (edomaild(8), LOGGING): without -f it detaches and
sends RFC 3164 datagrams, facility daemon, to log.syslog_socket (here a
socket of the test, in place of /dev/log), with the right priority per
level; with -f and standard error being the journal (JOURNAL_STREAM names
its device and inode) each line starts with its priority "<N>"; SIGHUP
reopens log.file."""
import os
import re
import signal
import socket
import subprocess
import time
import unittest

import edomail_harness as h

EDOMAILD = os.path.join(h.BUILD, "src", "daemon", "edomaild")
# facility daemon (3 << 3) + LOG_INFO (6) / LOG_ERR (3)
PRI_INFO, PRI_ERR = 30, 27
LINE = re.compile(r"^<(\d+)>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d "
                  r"edomaild\[(\d+)\]: (.*)$", re.S)


def set_log(d, text):
    """Replaces the log group of the test daemon's configuration."""
    with open(d.conf) as f:
        conf = f.read()
    conf, n = re.subn(r"(?m)^log: .*$", "log: { %s };" % text, conf)
    assert n == 1, conf
    with open(d.conf, "w") as f:
        f.write(conf)


def gone(pid, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


class Syslog(unittest.TestCase):

    def setUp(self):
        self.d = h.Daemon()
        self.addCleanup(self.d.cleanup)
        self.sock_path = os.path.join(self.d.dir, "log.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        self.addCleanup(self.sock.close)
        set_log(self.d, 'level = "info"; syslog_socket = "log.sock";')

    def lines_until(self, want, pid=None, timeout=60):
        """Datagrams parsed as (priority, pid, text) until one whose text
        contains want (and that comes from pid, if given)."""
        got = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.sock.settimeout(max(0.1, deadline - time.time()))
            try:
                data = self.sock.recv(65536).decode()
            except socket.timeout:
                break
            m = LINE.match(data)
            self.assertIsNotNone(m, "not an RFC 3164 line: %r" % data)
            got.append((int(m.group(1)), int(m.group(2)), m.group(3)))
            if want in m.group(3) and pid in (None, int(m.group(2))):
                return got
        self.fail("no %r in syslog; got:\n%s" % (want, got))

    def start_detached(self):
        r = subprocess.run([EDOMAILD, "-c", self.d.conf], env=self.d.env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stderr, "", "nothing on the terminal once detached")

    def test_detached_daemon_logs_to_syslog(self):
        self.start_detached()
        got = self.lines_until("ready (domain edo.local)")
        pri, pid, text = got[-1]
        self.assertEqual(pri, PRI_INFO)
        self.assertTrue(any(p == PRI_INFO and "listening on 127.0.0.1:%d" %
                            self.d.ports["imap"] in t for p, _, t in got), got)
        try:
            # An error: a second daemon on the same ports.
            self.start_detached()
            got = self.lines_until("cannot listen")
            self.assertEqual(got[-1][0], PRI_ERR, got[-1])
            second = got[-1][1]
            self.assertNotEqual(second, pid)
            self.lines_until("edomaild stopped", second)
        finally:
            os.kill(pid, signal.SIGTERM)
        got = self.lines_until("edomaild stopped", pid)
        self.assertIn((PRI_INFO, pid, "signal 15: stopping"), got)
        self.assertTrue(gone(pid, 60), "edomaild did not stop on SIGTERM")

    def test_missing_socket_does_not_stop_the_daemon(self):
        """No syslog listening: lines are dropped, the daemon serves."""
        set_log(self.d, 'syslog_socket = "nobody-listens.sock";')
        self.start_detached()
        deadline = time.time() + 60
        while True:
            try:
                c = self.d.imap("romashka")
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        self.assertEqual(c.select("INBOX")[0], "OK")
        c.logout()
        pid = int(subprocess.run(
            ["sh", "-c", "for p in /proc/[0-9]*; do "
             "if [ \"$(readlink $p/exe)\" = '%s' ] && "
             "grep -qF '%s' $p/cmdline 2>/dev/null; then "
             "echo ${p#/proc/}; fi; done" % (os.path.realpath(EDOMAILD),
                                           self.d.conf)],
            capture_output=True, text=True).stdout.split()[0])
        os.kill(pid, signal.SIGTERM)
        self.assertTrue(gone(pid, 60))


class Journal(unittest.TestCase):

    def test_priority_prefix_when_stderr_is_the_journal(self):
        d = h.Daemon()
        self.addCleanup(d.cleanup)
        open(d.log_path, "w").close()
        st = os.stat(d.log_path)
        d.env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
        d.start()
        d.stop()
        lines = [ln for ln in d.log().splitlines()
                 if ln.startswith("<") or ln[:1].isdigit()]
        self.assertTrue(any(ln.startswith("<6>edomaild[info] ") and
                            "listening on" in ln for ln in lines), lines)
        self.assertFalse([ln for ln in lines if not ln.startswith("<")],
                         "a time-stamped line on the journal")

    def test_no_prefix_on_another_stderr(self):
        """JOURNAL_STREAM inherited by a daemon whose stderr is a file."""
        d = h.Daemon()
        self.addCleanup(d.cleanup)
        d.env["JOURNAL_STREAM"] = "1:1"
        d.start()
        d.stop()
        self.assertRegex(d.log(), r"(?m)^\d{4}-\d\d-\d\dT.*\[info\] .*listening on")
        self.assertNotRegex(d.log(), r"(?m)^<\d>")


class LogFile(unittest.TestCase):

    def test_sighup_reopens_the_file(self):
        d = h.Daemon()
        self.addCleanup(d.cleanup)
        set_log(d, 'file = "file.log";')
        path = os.path.join(d.dir, "file.log")
        d.start()
        os.rename(path, path + ".1")           # what logrotate does
        d.proc.send_signal(signal.SIGHUP)
        # the new file exists as soon as it is opened, before the line
        # saying so is written in it: wait for the line, not the file
        def reopened():
            if not os.path.exists(path):
                return False
            with open(path) as f:
                return "log file reopened" in f.read()
        h.wait_for(reopened, timeout=30, step=0.05,
                   what="'log file reopened' in the new log file")
        self.assertIsNone(d.proc.poll(), "SIGHUP stopped the daemon")
        self.assertEqual(d.stop(), 0)
        with open(path) as f:
            self.assertIn("edomaild stopped", f.read())


if __name__ == "__main__":
    h.main()
