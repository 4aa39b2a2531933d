#!/usr/bin/env python3
"""`meson install --destdir` into a temporary folder: every file is where a
Debian daemon has it (doc/install.md), the systemd unit names the
installed paths, the installed configuration passes `edomaild -t`, each
man page, English and its Russian translation under <MANDIR>/ru (man/ru/),
renders without a warning, and the pages of both languages name every
option, command and configuration key the sources have (so that a new one
cannot go undocumented, nor left out of the translation).

usage: test-install.py MESON BUILD_DIR SOURCE_DIR PREFIX SBINDIR
                       SYSCONFDIR STATEDIR MANDIR DATADIR"""
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

MESON, BUILD, SRC, PREFIX, SBINDIR, SYSCONFDIR, STATEDIR, MANDIR, DATADIR = \
    sys.argv[1:10]
del sys.argv[1:10]

MAN_PAGES = {"edomaild.8": "man8", "edomailctl.8": "man8",
             "edomail.conf.5": "man5"}

# The headings of the pages in each language: <MANDIR>/<folder>/<section>/,
# the sections edomaild(8) must have (the last one every page ends with),
# and the word before a group's name in edomail.conf(5).
ManLanguage = collections.namedtuple("ManLanguage",
                                     "folder sections group")
MAN_EN = ManLanguage("", ("OPTIONS", "LOGGING", "SIGNALS", "EXIT STATUS",
                          "FILES", "EXAMPLES", "SEE ALSO"), "GROUP")
MAN_RU = ManLanguage("ru", ("ПАРАМЕТРЫ", "ЖУРНАЛ", "СИГНАЛЫ",
                            "КОД ЗАВЕРШЕНИЯ", "ФАЙЛЫ", "ПРИМЕРЫ",
                            "СМОТРИТЕ ТАКЖЕ"), "ГРУППА")


def documented_names():
    """What the pages must name: edomaild's getopt letters, edomailctl's
    commands and the (group, key) pairs of the configuration."""
    with open(os.path.join(SRC, "src/daemon/main.c")) as f:
        opts = re.search(r'getopt\(argc, argv, "([^"]+)"\)', f.read()).group(1)
    with open(os.path.join(SRC, "src/ctl/ctl.c")) as f:
        cmds = re.findall(r'^\t\{ "([a-z ]+)", ctl_cmd_', f.read(), re.M)
    with open(os.path.join(SRC, "src/config/config.c")) as f:
        keys = re.findall(r'\{ "([a-z]+)", "([a-z_]+)", SETTINGS_KEY_',
                          f.read())
    return opts.replace(":", ""), cmds, keys


class Install(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for tool in ("man", "groff"):
            if shutil.which(tool) is None:
                raise RuntimeError(
                    "не хватает %s / %s is missing: run contrib/install-deps.sh "
                    "(packages man-db groff-base)" % (tool, tool))
        cls.dest = tempfile.mkdtemp(prefix="edomail-install-")
        r = subprocess.run([MESON, "install", "-C", BUILD, "--no-rebuild",
                            "--destdir", cls.dest], capture_output=True,
                           text=True)
        if r.returncode != 0:
            raise RuntimeError("meson install failed:\n" + r.stdout + r.stderr)
        cls.install_log = r.stdout

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dest, ignore_errors=True)

    def path(self, p):
        return self.dest + p

    def read(self, p):
        with open(self.path(p), encoding="utf-8") as f:
            return f.read()

    def test_programs_in_sbin(self):
        for prog in ("edomaild", "edomailctl"):
            p = self.path(os.path.join(SBINDIR, prog))
            self.assertTrue(os.path.isfile(p) and os.access(p, os.X_OK), p)
        self.assertFalse(os.path.exists(self.path(
            os.path.join(PREFIX, "bin", "edomailctl"))))

    def test_systemd_unit(self):
        unit = self.read(os.path.join(PREFIX, "lib/systemd/system/edomaild.service"))
        conf = os.path.join(SYSCONFDIR, "edomail", "edomail.conf")
        self.assertIn("ExecStart=%s/edomaild -f -c %s\n" % (SBINDIR, conf), unit)
        self.assertIn("ExecStartPre=%s/edomaild -t -c %s\n" % (SBINDIR, conf), unit)
        self.assertIn("ReadWritePaths=%s\n" % STATEDIR, unit)
        self.assertIn("User=edomail\n", unit)
        self.assertNotIn("@", unit.replace("man:", ""), "an unfilled @var@")
        users = self.read(os.path.join(PREFIX, "lib/sysusers.d/edomail.conf"))
        self.assertRegex(users, r"(?m)^u edomail - .* %s$" % re.escape(STATEDIR))
        tmpf = self.read(os.path.join(PREFIX, "lib/tmpfiles.d/edomail.conf"))
        self.assertRegex(tmpf, r"(?m)^d %s 0750 edomail edomail -$" %
                         re.escape(STATEDIR))

    def test_configuration(self):
        example = os.path.join(DATADIR, "doc/edomail/examples/edomail.conf")
        with open(os.path.join(SRC, "conf/edomail.conf"), encoding="utf-8") as f:
            self.assertEqual(self.read(example), f.read())
        live = os.path.join(SYSCONFDIR, "edomail/edomail.conf")
        text = self.read(live)
        for key, value in (("path", STATEDIR + "/edomail.db"),
                           ("node_key", STATEDIR + "/node.key"),
                           ("dir", STATEDIR + "/operator"),
                           ("cert", SYSCONFDIR + "/edomail/tls.crt"),
                           ("key", SYSCONFDIR + "/edomail/tls.key")):
            self.assertRegex(text, r'(?m)^\s*%s = "%s";' %
                             (key, re.escape(value)))
        r = subprocess.run([os.path.join(BUILD, "src/daemon/edomaild"), "-t",
                            "-c", self.path(live)], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_configuration_kept_on_reinstall(self):
        """An administrator's configuration survives `meson install`."""
        live = self.path(os.path.join(SYSCONFDIR, "edomail/edomail.conf"))
        with open(live, "a") as f:
            f.write("# edited by the administrator\n")
        r = subprocess.run([MESON, "install", "-C", BUILD, "--no-rebuild",
                            "--destdir", self.dest], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(live) as f:
            self.assertIn("# edited by the administrator\n", f.read())

    def man_page(self, lang, page):
        return self.path(os.path.join(MANDIR, lang.folder, MAN_PAGES[page],
                                      page))

    def check_rendering(self, lang):
        env = dict(os.environ, LC_ALL="C.UTF-8", MANROFFSEQ="", MANWIDTH="80")
        for page in MAN_PAGES:
            p = self.man_page(lang, page)
            self.assertTrue(os.path.isfile(p), p)
            r = subprocess.run(["man", "--warnings", "-l", "-E", "UTF-8", p],
                               capture_output=True, text=True, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr, "", p)
            self.assertIn(lang.sections[-1], r.stdout, p)
            r = subprocess.run(["groff", "-man", "-ww", "-z", "-K", "utf8",
                                "-Tutf8", p], capture_output=True, text=True,
                               env=env)
            self.assertEqual((r.returncode, r.stderr), (0, ""), p)

    def test_man_pages_render_without_warnings(self):
        self.check_rendering(MAN_EN)

    def test_ru_man_pages_render_without_warnings(self):
        self.check_rendering(MAN_RU)

    def rendered(self, lang, page):
        env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="2000")
        out = subprocess.run(["man", "-l", self.man_page(lang, page)],
                             capture_output=True, text=True, env=env).stdout
        return re.sub(r".\x08", "", out)

    def check_documented(self, lang):
        opts, cmds, keys = documented_names()

        def where(what):
            return "%s (%s)" % (what, lang.folder or "en")

        text = self.rendered(lang, "edomaild.8")
        for o in opts:
            self.assertRegex(text, r"(?m)^\s+-%s\b" % o,
                             where("edomaild -%s" % o))
        for sect in lang.sections:
            self.assertRegex(text, r"(?m)^%s$" % sect, where(sect))

        self.assertGreater(len(cmds), 20)
        text = self.rendered(lang, "edomailctl.8")
        for c in cmds:
            self.assertRegex(text, r"(?m)^\s+%s\b" % re.escape(c),
                             where("edomailctl %s" % c))

        self.assertGreater(len(keys), 30)
        text = self.rendered(lang, "edomail.conf.5")
        for group, key in keys:
            heading = "%s %s" % (lang.group, group)
            part = text.split(heading + "\n", 1)
            self.assertEqual(len(part), 2, where(heading))
            section = part[1].split("\n%s " % lang.group, 1)[0]
            self.assertRegex(section, r"(?m)^\s+%s \(" % key,
                             where("%s.%s" % (group, key)))

    def test_man_pages_document_everything(self):
        self.check_documented(MAN_EN)

    def test_ru_man_pages_document_everything(self):
        """The Russian pages are a whole translation: every option, command
        and key of the English ones, under the Russian headings."""
        self.check_documented(MAN_RU)


if __name__ == "__main__":
    unittest.main(verbosity=2)
