#!/usr/bin/env python3
"""meson install script: writes the default configuration
SYSCONFDIR/edomail/edomail.conf from conf/edomail.conf, with the store,
node key and operator folder in STATEDIR and the TLS files next to the
configuration, unless the file exists: an administrator's edited
configuration survives a reinstall (what dpkg does for a conffile).

usage: install-config.py SOURCE_CONF SYSCONFDIR STATEDIR"""
import os
import re
import sys


def main():
    src, sysconfdir, statedir = sys.argv[1:4]
    destdir = os.environ.get("DESTDIR", "")
    confdir = os.path.join(sysconfdir, "edomail")
    target = destdir + os.path.join(confdir, "edomail.conf")
    if os.path.exists(target):
        print("edomail: %s exists, left as it is" % target)
        return 0
    with open(src, encoding="utf-8") as f:
        text = f.read()
    paths = {
        "cert": os.path.join(confdir, "tls.crt"),
        "key": os.path.join(confdir, "tls.key"),
        "path": os.path.join(statedir, "edomail.db"),
        "node_key": os.path.join(statedir, "node.key"),
        "dir": os.path.join(statedir, "operator"),
    }
    for key, value in paths.items():
        text, n = re.subn(r'(?m)^(\s*%s\s*=\s*)"[^"]*";' % key,
                          r'\g<1>"%s";' % value, text, count=1)
        if n != 1:
            print("install-config: no '%s' in %s" % (key, src),
                  file=sys.stderr)
            return 1
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(target, 0o644)
    print("Installing %s" % target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
