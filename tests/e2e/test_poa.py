"""Signer ↔ organization and the МЧД (issue 14 items 3-5): a signature
speaks for an organization only with the organization's certificate, or a
person's certificate backed by a valid МЧД of that organization naming
the person.  The МЧД is built and signed for the demo with `edomailctl
poa make` (the head of Ромашка, user romashka, signs it) and imported
with `edomailctl poa import`."""
import os
import re

from edomail_harness import DaemonTestCase, PASSWORD, main
from test_smtp_session import (L_INN, R_INN, SENT, ctl_messages, edo_id,
                               imap_wait, by_edo_id, make_mail,
                               parts_by_name, submit, verify_sig)

# Valid 12-digit personal ИНН (check digits) and СНИЛС of the demo people.
PEOPLE = {
    "ivanova": ("Иванова Мария", "500100732259", "11223344595"),
    "petrov": ("Петров Пётр", "773301234562", "12345678964"),
    "sidorov": ("Сидоров Иван", "773301234562", "98765432101"),
    # a GOST R 34.10-2012 person's certificate (see KEY_TYPE)
    "smirnova": ("Смирнова Ольга", "500100732259", "11223344595"),
}
KEY_TYPE = {"smirnova": "gost"}
REPORT = "Протокол проверки подписей.txt"


class Poa(DaemonTestCase):
    tools = ("openssl-gost",)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.d
        for login, (name, inn, snils) in PEOPLE.items():
            d.ctl("user", "add", login, "--name", name, "--password",
                  PASSWORD)
            d.ctl("member", "add", login, R_INN, "--role", "signer")
            d.ctl("cert", "make", login, R_INN, "--type",
                  KEY_TYPE.get(login, "rsa"), "--person", inn, "--snils",
                  snils)
        # A certificate of Лютик (its ИННЮЛ) held for Ромашка.
        d.ctl("user", "add", "alien", "--name", "Чужой Сотрудник",
              "--password", PASSWORD)
        d.ctl("member", "add", "alien", R_INN, "--role", "signer")
        d.ctl("cert", "make", "alien", R_INN, "--type", "rsa", "--inn", L_INN)

    def make_poa(self, login, *extra):
        """An МЧД of Ромашка for login signed by its head; its number."""
        d = self.d
        path = os.path.join(d.dir, "poa-%s.xml" % login)
        d.ctl("poa", "make", R_INN, "romashka", login, "--out", path, *extra)
        with open(path, encoding="utf-8") as f:
            number = re.search(r'НомДовер="([^"]+)"', f.read()).group(1)
        return path, number

    def send(self, login, subject):
        d = self.d
        data, _ = make_mail(d.addr(R_INN), d.addr(L_INN), subject,
                            "Добрый день\n", [("act.pdf", b"%PDF-1.4 act")])
        return submit(d, login, d.addr(R_INN), d.addr(L_INN), data)

    def assert_refused(self, login, words):
        before = len(ctl_messages(self.d, L_INN))
        code, text = self.send(login, "Проверка МЧД")
        self.assertEqual(code, 550, text)
        self.assertIn("5.7.1", text)
        # Bilingual: the SMTP reply puts Russian and English on lines of
        # their own (words names one of each).
        self.assertIn("ничего не отправлено", text)
        self.assertIn("nothing was sent", text)
        for w in words:
            self.assertIn(w, text)
        self.assertEqual(len(ctl_messages(self.d, L_INN)), before,
                         "nothing sent")
        return text

    def test_person_without_poa_refused_at_data(self):
        self.assert_refused("sidorov", ["доверенност", "power of attorney",
                                        "poa import"])

    def test_certificate_of_another_organization_refused(self):
        self.assert_refused("alien", ["другой организации", L_INN,
                                      "another organization"])

    def test_with_poa_the_letter_goes_and_the_report_names_it(self):
        d = self.d
        path, number = self.make_poa("ivanova")
        out = d.ctl("poa", "import", "ivanova", R_INN, path,
                    path + ".sig").stdout
        self.assertIn(number, out)
        self.assertIn("действует", d.ctl("poa", "list", "ivanova").stdout)
        code, text = self.send("ivanova", "По доверенности")
        self.assertEqual(code, 250, text)
        msg_id = edo_id(text)
        msg, _, _ = imap_wait(d, "lutik", "INBOX", by_edo_id(msg_id))
        report = parts_by_name(msg)[REPORT].decode()
        self.assertIn("МЧД: № %s" % number, report)
        self.assertIn("доверитель ООО Ромашка", report)
        self.assertIn("Организация и полномочия: Действительна", report)
        self.assertIn("СНИЛС: 11223344595", report)
        self.assertNotIn("Недействительна", report)
        # The МЧД and the principal's signature travel with the letter.
        parts = parts_by_name(msg)
        self.assertIn("МЧД %s.xml" % number, parts)
        self.assertIn("МЧД %s.xml.sig" % number, parts)

    def test_gost_signature_with_poa_fully_valid(self):
        """Issue 14: a fully valid GOST signature with an МЧД — the
        mathematics, the chain to the demo root, revocation and the
        organization/МЧД check all pass, the same on both sides, and the
        signature verifies with openssl cms -engine gost."""
        d = self.d
        path, number = self.make_poa("smirnova")
        d.ctl("poa", "import", "smirnova", R_INN, path, path + ".sig")
        code, text = self.send("smirnova", "ГОСТ по доверенности")
        self.assertEqual(code, 250, text)
        msg_id = edo_id(text)
        for login, folder in (("lutik", "INBOX"), ("smirnova", SENT)):
            msg, _, _ = imap_wait(d, login, folder, by_edo_id(msg_id))
            parts = parts_by_name(msg)
            report = parts[REPORT].decode()
            self.assertIn("МЧД: № %s" % number, report)
            self.assertIn("Организация и полномочия: Действительна", report)
            self.assertIn("Результат: Действительна", report)
            self.assertNotIn("Недействительна", report)
            self.assertNotIn("НЕ пройдена", report)
            self.assertNotIn("неизвестно", report)
            self.assertTrue(verify_sig(parts["act.pdf"],
                                       parts["act.pdf.sig"], gost=True))

    def test_revoked_poa_refused(self):
        d = self.d
        path, number = self.make_poa("petrov")
        d.ctl("poa", "import", "petrov", R_INN, path, path + ".sig")
        code, text = self.send("petrov", "До отзыва")
        self.assertEqual(code, 250, text)
        d.ctl("poa", "revoke", number)
        self.assertIn("отозвана", d.ctl("poa", "list", "petrov").stdout)
        self.assert_refused("petrov", ["отозвана", "revoked"])

    def test_import_checks(self):
        d = self.d
        # An expired МЧД is not imported.
        path, _ = self.make_poa("sidorov", "--expired", "--days", "10")
        r = d.ctl("poa", "import", "sidorov", R_INN, path, path + ".sig",
                  check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("истекла", r.stderr)
        # Another person's МЧД (ivanova's) for sidorov: ИНН/СНИЛС differ.
        path, _ = self.make_poa("ivanova", "--number", "mismatch-1")
        r = d.ctl("poa", "import", "sidorov", R_INN, path, path + ".sig",
                  check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("СНИЛС", r.stderr)
        # Signed by a person, not by the organization's head.
        path, _ = self.make_poa("ivanova", "--number", "badsig-1")
        path2 = os.path.join(d.dir, "by-person.xml")
        d.ctl("poa", "make", R_INN, "sidorov", "ivanova", "--out", path2,
              "--number", "badsig-1")
        r = d.ctl("poa", "import", "ivanova", R_INN, path2, path2 + ".sig",
                  check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("не сертификатом организации", r.stderr)


if __name__ == "__main__":
    main()
