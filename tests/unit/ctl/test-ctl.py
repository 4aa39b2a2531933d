#!/usr/bin/env python3
"""edomailctl end to end: every command against a fresh database, checking
exit codes (0 done, 1 error, 2 usage), output and that a failed command
leaves nothing half-written.  Prints TAP.

usage: test-ctl.py EDOMAILCTL"""
import os
import shutil
import subprocess
import sys
import tempfile

CTL = sys.argv[1]
n = 0
failed = 0


def ok(cond, what, detail=""):
    global n, failed
    n += 1
    if not cond:
        failed += 1
        for line in str(detail).splitlines():
            print("# " + line)
    print("%s %d - %s" % ("ok" if cond else "not ok", n, what))


def inn10(prefix9):
    w = [2, 4, 10, 3, 5, 9, 4, 6, 8]
    c = sum(int(a) * b for a, b in zip(prefix9, w)) % 11 % 10
    return prefix9 + str(c)


def inn12(prefix10):
    w1 = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8]
    c1 = sum(int(a) * b for a, b in zip(prefix10, w1)) % 11 % 10
    s = prefix10 + str(c1)
    w2 = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]
    c2 = sum(int(a) * b for a, b in zip(s, w2)) % 11 % 10
    return s + str(c2)


# Set by `meson test --setup valgrind`: the valgrind options.  The setup's
# wrapper watches only Python here, so edomailctl runs under valgrind
# itself, for the commands that do not hash passwords or make keys (those
# take minutes under valgrind); exit 99 is a valgrind error.
VALGRIND = os.environ.get("EDOMAIL_VALGRIND", "").split()
VALGRIND_SLOW = ("user", "cert", "org", "member")


class Ctl:
    def __init__(self, conf):
        self.conf = conf

    def __call__(self, *args, input=None):
        cmd = [CTL, "-c", self.conf] + list(args)
        if VALGRIND and (not args or args[0] not in VALGRIND_SLOW):
            cmd = ["valgrind"] + [a.replace("--error-exitcode=1",
                                            "--error-exitcode=99")
                                  for a in VALGRIND] + cmd
        return subprocess.run(cmd, capture_output=True, text=True,
                              input=input, timeout=600 if VALGRIND else 60)


def field(out, label):
    for line in out.splitlines():
        if line.startswith(label + ":"):
            return line.split(":", 1)[1].strip()
    return None


def expect(r, code, what, *needles, stream="stdout"):
    text = r.stdout if stream == "stdout" else r.stderr
    good = r.returncode == code and all(s in text for s in needles)
    ok(good, what, "exit %d\nstdout: %s\nstderr: %s" %
       (r.returncode, r.stdout, r.stderr))
    return r


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True,
                   capture_output=True, timeout=60)


def test_usage(ctl, tmp):
    expect(subprocess.run([CTL], capture_output=True, text=True), 2,
           "no command: usage, exit 2", "usage", stream="stderr")
    expect(ctl("frobnicate"), 2, "unknown command: exit 2",
           "unknown command", stream="stderr")
    expect(ctl("org", "add", "--name", "X"), 2, "org add without --inn: 2",
           "usage", stream="stderr")
    expect(ctl("member", "add", "a", "b", "--role", "boss"), 2,
           "unknown role: 2", stream="stderr")
    expect(ctl("org", "show"), 2, "org show without ORG: 2")
    bad = os.path.join(tmp, "bad.conf")
    with open(bad, "w") as f:
        f.write("server = {\n  domian = \"x\";\n};\n")
    expect(Ctl(bad)("status"), 1, "bad config: exit 1 with file:line",
           bad + ":2: ", "unknown setting", stream="stderr")
    expect(Ctl(os.path.join(tmp, "none.conf"))("status"), 1,
           "missing config: exit 1", "cannot read", stream="stderr")


def test_orgs(ctl, orgs):
    r_inn, r_kpp = orgs["r"]
    r = expect(ctl("org", "add", "--name", "ООО Ромашка", "--inn", r_inn,
                   "--kpp", r_kpp, "--short", "Ромашка"), 0, "org add",
               "Participant id: 2ED")
    box = field(r.stdout, "Participant id")
    ok(box is not None and len(box) <= 46, "participant id with prefix", box)
    expect(ctl("org", "add", "--name", "ООО Ромашка 2", "--inn", r_inn,
               "--kpp", r_kpp), 1, "same ИНН/КПП again: error",
           "already", stream="stderr")
    expect(ctl("org", "add", "--name", "X", "--inn", "7701234561",
               "--kpp", r_kpp), 1, "ИНН with a bad check digit",
           "invalid ИНН", stream="stderr")
    expect(ctl("org", "add", "--name", "X", "--inn", inn10("770100000")), 1,
           "organization without КПП", "--kpp", stream="stderr")
    ip = inn12("5001000000")
    r = expect(ctl("org", "add", "--name", "ИП Сидоров", "--inn", ip,
                   "--test"), 0, "ИП with a 12-digit ИНН, test mode",
               "Test mode: yes")
    l_inn, l_kpp = orgs["l"]
    expect(ctl("org", "add", "--name", "ООО Лютик", "--inn", l_inn, "--kpp",
               l_kpp), 0, "second organization")
    expect(ctl("org", "list"), 0, "org list", box, "ООО Лютик", ip)
    expect(ctl("org", "show", r_inn), 0, "org show by ИНН",
           "Participant id: " + box)
    expect(ctl("org", "show", r_inn + "." + r_kpp), 0, "org show by ИНН.КПП",
           "Short name: Ромашка")
    expect(ctl("org", "show", box), 0, "org show by participant id",
           "ИНН: " + r_inn)
    expect(ctl("org", "show", "0000000000"), 1, "org show unknown",
           "not found", stream="stderr")
    expect(ctl("org", "policy", r_inn, "--encrypt", "on"), 0, "policy on")
    expect(ctl("org", "show", r_inn), 0, "policy shown", "Encrypt: always")
    expect(ctl("org", "policy", r_inn, "--encrypt", "maybe"), 2,
           "policy bad value: usage")
    return box


def test_users(ctl, tmp, orgs):
    r_inn = orgs["r"][0]
    expect(ctl("user", "add", "buh", "--name", "Иванова Мария Петровна",
               "--password", "secret1"), 0, "user add with --password")
    r = ctl("user", "add", "romashka", input="secret2\n")
    expect(r, 0, "user add, password on stdin")
    pw = os.path.join(tmp, "pw")
    with open(pw, "w") as f:
        f.write("secret3\n")
    expect(ctl("user", "add", "viewer", "--password-file", pw), 0,
           "user add with --password-file")
    expect(ctl("user", "add", "BUH", "--password", "x"), 1,
           "same login in another case", "already", stream="stderr")
    expect(ctl("user", "add", "a+b", "--password", "x"), 1,
           "login with '+'", "invalid login", stream="stderr")
    expect(ctl("user", "add", "empty", input="\n"), 1, "empty password",
           "empty", stream="stderr")
    expect(ctl("user", "list"), 0, "user list", "buh", "Иванова Мария",
           "romashka", "viewer")
    expect(ctl("user", "block", "viewer"), 0, "block", "Заблокирован")
    expect(ctl("user", "list"), 0, "blocked in the list", "Заблокирован")
    expect(ctl("user", "unblock", "viewer"), 0, "unblock", "Активен")
    expect(ctl("user", "passwd", "viewer", "--password", "new"), 0, "passwd")
    expect(ctl("user", "block", "nobody"), 1, "block unknown user",
           "not found", stream="stderr")

    expect(ctl("member", "add", "buh", r_inn, "--role", "signer"), 0,
           "member add signer", "Сотрудник с правом подписи")
    expect(ctl("member", "add", "viewer", r_inn, "--role", "reader"), 0,
           "member add reader")
    expect(ctl("member", "add", "romashka", r_inn, "--role", "owner"), 0,
           "member add owner")
    expect(ctl("member", "add", "buh", orgs["l"][0], "--role", "signer"), 0,
           "member of a second org")
    expect(ctl("member", "block", "viewer", r_inn), 0, "member block")
    expect(ctl("member", "list", r_inn), 0, "member list", "buh",
           "Сотрудник без права подписи", "Заблокирован", "Владелец")
    expect(ctl("member", "add", "viewer", r_inn, "--role", "admin"), 0,
           "role change")
    expect(ctl("member", "list", r_inn), 0, "role change keeps the block",
           "Администратор", "Заблокирован")
    expect(ctl("member", "unblock", "viewer", r_inn), 0, "member unblock")
    expect(ctl("member", "block", "romashka", orgs["l"][0]), 1,
           "block a non-member", "not a member", stream="stderr")
    expect(ctl("user", "list"), 0, "user list shows organizations",
           "buh")


def test_certs(ctl, tmp, orgs):
    r_inn = orgs["r"][0]
    expect(ctl("cert", "make", "buh", r_inn, "--type", "rsa"), 0,
           "cert make rsa", "Certificate:", "Активен")
    expect(ctl("cert", "make", "romashka", r_inn, "--type", "rsa",
               "--days", "10"), 0, "cert make 10 days", "Скоро истекает")
    expect(ctl("cert", "make", "romashka", r_inn, "--type", "rsa",
               "--expired"), 0, "cert make expired", "Недействителен")
    expect(ctl("cert", "make", "buh", orgs["l"][0], "--type", "gost"), 0,
           "cert make gost", "gost2012_256")
    expect(ctl("cert", "make", "buh", r_inn, "--type", "dsa"), 2,
           "cert make bad type: usage")
    expect(ctl("cert", "make", "romashka", orgs["l"][0], "--type", "rsa"), 1,
           "cert for a non-member", "not a member", stream="stderr")

    key = os.path.join(tmp, "k.pem")
    crt = os.path.join(tmp, "c.pem")
    p12 = os.path.join(tmp, "c.p12")
    other = os.path.join(tmp, "other.pem")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "400",
            "-subj", "/CN=Иванова/O=Ромашка", "-keyout", key, "-out", crt,
            "-utf8")
    openssl("genpkey", "-algorithm", "RSA", "-out", other)
    openssl("pkcs12", "-export", "-in", crt, "-inkey", key, "-out", p12,
            "-passout", "pass:p12pw")
    expect(ctl("cert", "import", "buh", r_inn, crt, "--key", other), 1,
           "a key that does not match is refused", "does not match",
           stream="stderr")
    old_key = os.path.join(tmp, "old-k.pem")
    old_crt = os.path.join(tmp, "old-c.pem")
    old_csr = os.path.join(tmp, "old.csr")
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj",
            "/CN=Old/O=Ромашка", "-keyout", old_key, "-out", old_csr, "-utf8")
    # -days -1: notAfter a day before notBefore, i.e. already expired.
    openssl("x509", "-req", "-in", old_csr, "-signkey", old_key, "-days",
            "-1", "-out", old_crt)
    before = ctl("cert", "list").stdout
    expect(ctl("cert", "import", "buh", r_inn, old_crt, "--key", old_key), 1,
           "an expired certificate is refused", "not valid now",
           stream="stderr")
    ok(ctl("cert", "list").stdout == before,
       "the refused certificate left nothing behind")
    expect(ctl("cert", "import", "buh", r_inn, p12, "--password", "wrong"), 1,
           "PKCS#12 with a wrong password", "password", stream="stderr")
    expect(ctl("cert", "import", "buh", r_inn, p12, "--password", "p12pw"), 0,
           "PKCS#12 import", "Certificate:")
    expect(ctl("cert", "import", "buh", r_inn, crt, "--key", key), 1,
           "same certificate again", "already imported", stream="stderr")
    r = expect(ctl("cert", "list"), 0, "cert list", "Активен",
               "Скоро истекает", "Недействителен", "gost2012_256")
    ok(r.stdout.count("\n") == 6, "five certificates listed", r.stdout)
    r = expect(ctl("cert", "list", "romashka"), 0, "cert list of one user")
    ok(r.stdout.count("\n") == 3, "two certificates of romashka", r.stdout)
    with open(os.path.join(tmp, "node.key"), "rb") as f:
        ok(len(f.read()) == 32, "node key made")
    ok((os.stat(os.path.join(tmp, "node.key")).st_mode & 0o777) == 0o600,
       "node key mode 0600")
    db = open(os.path.join(tmp, "edomail.db"), "rb").read()
    ok(b"PRIVATE KEY" not in db, "no clear private key in the database")


def test_org_cert_atomic(ctl, tmp, orgs):
    v_inn, v_kpp = orgs["v"]
    crt = os.path.join(tmp, "c.pem")
    # The certificate is already imported for buh: the org add must fail
    # as a whole, leaving no organization and no operator registration.
    expect(ctl("org", "add", "--name", "ООО Василёк", "--inn", v_inn,
               "--kpp", v_kpp, "--cert", crt), 1,
           "org add with an already used certificate fails",
           "already imported", stream="stderr")
    expect(ctl("org", "show", v_inn), 1, "nothing half-written",
           stream="stderr")
    vkey = os.path.join(tmp, "v.key")
    vcrt = os.path.join(tmp, "v.crt")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "400",
            "-subj", "/CN=Vasilek", "-keyout", vkey, "-out", vcrt)
    r = expect(ctl("org", "add", "--name", "ООО Василёк", "--inn", v_inn,
                   "--kpp", v_kpp, "--cert", vcrt, "--key", vkey), 0,
               "org add with its own certificate after the failure",
               "Organization certificate:")
    expect(ctl("cert", "list"), 0, "org certificate listed without login",
           field(r.stdout, "Participant id"))


def test_edo(ctl, orgs, r_box):
    r_inn, l_inn, v_inn = orgs["r"][0], orgs["l"][0], orgs["v"][0]
    r = expect(ctl("invite", r_inn, l_inn, "--text", "Приглашаем"), 0,
               "invite", "Message id:")
    inv_id = field(r.stdout, "Message id")
    expect(ctl("counteragent", "list", r_inn), 0, "inviter sees IsInvitedByMe",
           "IsInvitedByMe")
    expect(ctl("counteragent", "list", l_inn), 0, "invitee sees InvitesMe",
           "InvitesMe", "Приглашаем")
    expect(ctl("accept", l_inn, r_inn, "--comment", "Принято"), 0, "accept")
    expect(ctl("counteragent", "list", r_inn), 0, "now IsMyCounteragent",
           "IsMyCounteragent")
    expect(ctl("invite", v_inn, r_inn), 0, "second invitation")
    expect(ctl("reject", r_inn, v_inn, "--comment", "Нет"), 0, "reject")
    expect(ctl("counteragent", "list", v_inn), 0, "inviter sees RejectsMe",
           "RejectsMe")
    expect(ctl("withdraw", l_inn, v_inn), 1, "withdraw without an invitation",
           stream="stderr")
    expect(ctl("invite", r_inn, "0000000000"), 1, "invite an unknown box",
           stream="stderr")
    expect(ctl("invite", r_inn, v_inn, "--text", "я" * 2001), 1,
           "invitation text too long", "2000", stream="stderr")
    r = expect(ctl("message", "list", r_inn), 0, "message list", "invitation")
    ok(inv_id is not None and inv_id in r.stdout, "the invitation is listed",
       r.stdout)
    if inv_id:
        expect(ctl("message", "show", r_inn, inv_id), 0, "message show",
               "Message id: " + inv_id, "Kind: invitation", "Archived: no",
               "Deleted: no", "Signatures: 0")
    expect(ctl("message", "show", r_inn, "00000000-0000-0000-0000-000000000000"),
           1, "message show unknown", stream="stderr")
    expect(ctl("status"), 0, "status", "Organizations: 4", "Users: 3",
           "Certificates: 6", "events", r_box)


def main():
    tmp = tempfile.mkdtemp(prefix="edoctl-")
    conf = os.path.join(tmp, "edomail.conf")
    with open(conf, "w") as f:
        f.write('store = { path = "edomail.db"; node_key = "node.key"; };\n'
                'operator = { dir = "operator"; };\n')
    ctl = Ctl(conf)
    orgs = {"r": (inn10("770123456"), "770101001"),
            "l": (inn10("500100732"), "500101001"),
            "v": (inn10("772801233"), "772801001")}
    try:
        test_usage(ctl, tmp)
        r_box = test_orgs(ctl, orgs)
        test_users(ctl, tmp, orgs)
        test_certs(ctl, tmp, orgs)
        test_org_cert_atomic(ctl, tmp, orgs)
        test_edo(ctl, orgs, r_box)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % n)
    return 1 if failed else 0


sys.exit(main())
