"""The daemon's start and stop, the config check, the demo's content."""
import os
import subprocess

from edomail_harness import BUILD, Daemon, DaemonTestCase, LUTIK, ROMASHKA, \
    main

EDOMAILD = os.path.join(BUILD, "src", "daemon", "edomaild")


class StartStop(DaemonTestCase):
    def test_demo_organizations(self):
        out = self.d.ctl("org", "list").stdout
        self.assertIn(ROMASHKA["inn"], out)
        self.assertIn(LUTIK["inn"], out)
        self.assertIn("ООО Ромашка", out)

    def test_demo_counteragents(self):
        out = self.d.ctl("counteragent", "list", ROMASHKA["inn"]).stdout
        self.assertIn(self.d.box_id(LUTIK["inn"]), out)
        self.assertIn("IsMyCounteragent", out)

    def test_config_check_ok(self):
        r = subprocess.run([EDOMAILD, "-t", "-c", self.d.conf],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("OK", r.stdout)

    def test_broken_config_names_file_and_line(self):
        bad = os.path.join(self.d.dir, "bad.conf")
        with open(bad, "w") as f:
            f.write('server:\n{\n  domain = "edo.local"\n  workers = ;\n};\n')
        r = subprocess.run([EDOMAILD, "-t", "-c", bad], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("bad.conf:", r.stderr)
        self.assertRegex(r.stderr, r"bad\.conf:\d+")

    def test_unknown_setting_refused(self):
        bad = os.path.join(self.d.dir, "unknown.conf")
        with open(bad, "w") as f:
            f.write('server: { domian = "edo.local"; };\n')
        r = subprocess.run([EDOMAILD, "-f", "-c", bad], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("domian", r.stderr)

    def test_port_in_use_is_a_clear_error(self):
        other = Daemon(demo=False)
        try:
            # Same IMAP port as the running daemon.
            with open(other.conf) as f:
                conf = f.read()
            conf = conf.replace("port = %d;" % other.ports["imap"],
                                "port = %d;" % self.d.ports["imap"])
            with open(other.conf, "w") as f:
                f.write(conf)
            r = subprocess.run([EDOMAILD, "-f", "-c", other.conf],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 1)
            self.assertIn("%d" % self.d.ports["imap"], r.stderr)
            self.assertIn("cannot listen", r.stderr)
        finally:
            other.cleanup()


if __name__ == "__main__":
    main()
