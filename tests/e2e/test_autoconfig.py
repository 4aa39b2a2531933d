#!/usr/bin/env python3
"""Thunderbird's autoconfig over HTTP (issue 11 section 4): with
autoconfig.listen set, GET /.well-known/autoconfig/mail/config-v1.1.xml and
/mail/config-v1.1.xml (fetched with curl, as Thunderbird's wizard does)
answer contrib/autoconfig's document with the real domain, host and ports;
other paths are 404 and other methods are refused.  Off by default."""
import subprocess
import xml.etree.ElementTree as ET

import edomail_harness as h

PATHS = ("/.well-known/autoconfig/mail/config-v1.1.xml",
         "/mail/config-v1.1.xml")


def curl(url, *extra):
    r = subprocess.run(["curl", "-sS", "--max-time", "20", "-o", "-",
                        "-w", "\n%{http_code} %{content_type}"] +
                       list(extra) + [url], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    body, _, status = r.stdout.rpartition("\n")
    code, _, ctype = status.partition(" ")
    return int(code), ctype, body


class Autoconfig(h.DaemonTestCase):
    tools = ("curl",)
    port = h.free_port()
    extra_env = {"DEMO_AUTOCONFIG_PORT": str(port)}

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def test_config_documents(self):
        p = self.d.ports
        for path in PATHS:
            code, ctype, body = curl(self.url(path) +
                                     "?emailaddress=buh%40edo.local")
            self.assertEqual(code, 200, body)
            self.assertTrue(ctype.startswith("application/xml"), ctype)
            prov = ET.fromstring(body).find("emailProvider")
            self.assertEqual(prov.get("id"), "edo.local")
            self.assertEqual(prov.findtext("domain"), "edo.local")
            got = [(s.tag, s.get("type"), s.findtext("hostname"),
                    int(s.findtext("port")), s.findtext("socketType"),
                    s.findtext("authentication"), s.findtext("username"))
                   for s in prov if s.tag.endswith("Server")]
            want = [("incomingServer", "imap", "127.0.0.1", p["imaps"], "SSL"),
                    ("incomingServer", "imap", "127.0.0.1", p["imap"],
                     "STARTTLS"),
                    ("outgoingServer", "smtp", "127.0.0.1", p["submissions"],
                     "SSL"),
                    ("outgoingServer", "smtp", "127.0.0.1", p["submission"],
                     "STARTTLS")]
            self.assertEqual([g[:5] for g in got], want)
            for g in got:
                self.assertEqual(g[5:], ("password-cleartext",
                                         "%EMAILLOCALPART%"))

    def test_other_paths_and_methods(self):
        code, _, _ = curl(self.url("/"))
        self.assertEqual(code, 404)
        code, _, _ = curl(self.url("/mail/config-v1.1.xml.bak"))
        self.assertEqual(code, 404)
        # evhttp refuses other methods with 501 Not Implemented
        code, _, _ = curl(self.url(PATHS[1]), "-X", "POST")
        self.assertEqual(code, 501)
        code, _, _ = curl(self.url(PATHS[1]), "-d", "x=1")
        self.assertIn(code, (413, 501))
        code, _, _ = curl(self.url(PATHS[1]), "-I")
        self.assertEqual(code, 200)

    def test_off_by_default(self):
        # a config without the autoconfig group: no HTTP listener
        d = h.Daemon(demo=False)
        try:
            with open(d.conf) as f:
                conf = f.read()
            with open(d.conf, "w") as f:
                f.write(conf[:conf.index("# \"Add Mail Account\"")])
            d.start()
            self.assertIn("IMAPS (TLS) listening", d.log())
            self.assertNotIn("autoconfig", d.log())
        finally:
            d.cleanup()

if __name__ == "__main__":
    h.main()
