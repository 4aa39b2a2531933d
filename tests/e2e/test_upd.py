"""УПД (issue 13 item 4, DESIGN.md section 6a): a seller's title made by
`edomailctl upd make` goes through SMTP, the recipient (and the sender's
Sent copy) shows it as a readable table beside the signed XML; a broken
УПД and a УПД with a wrong ИНН are refused at DATA with the reason, and
nothing is sent."""
import os
import re
import subprocess
import tempfile
import uuid

from edomail_harness import BUILD, SRC, DaemonTestCase, main
from test_smtp_session import (L_INN, R_INN, SENT, V_INN, by_edo_id,
                               ctl_messages, db_contains, edo_id, imap_wait,
                               make_mail, op_docs_with_sigs, op_entities,
                               parts_by_name, submit, verify_sig)

FORMATS = os.path.join(SRC, "data", "formats")
XSD = {"5.01": "ON_NSCHFDOPPR_1_997_01_05_01_03.xsd",
       "5.02": "ON_NSCHFDOPPR_1_997_01_05_02_01.xsd"}
BUYER_XSD = {"5.01": "ON_NSCHFDOPPOK_1_997_02_05_01_02.xsd",
             "5.02": "ON_NSCHFDOPPOK_1_997_02_05_02_01.xsd"}


class Upd(DaemonTestCase):
    tools = ("xmllint", "openssl-gost")

    def make_upd(self, from_inn, to_inn, version="5.02", items=None,
                 number=None):
        """(file name, bytes) of a УПД made by edomailctl upd make."""
        out = tempfile.mkdtemp(dir=self.d.dir)
        args = ["upd", "make", "--from", from_inn, "--to", to_inn,
                "--version", version, "-o", out]
        for it in items or ("Бумага офисная А4;10;250.00;20%;шт",
                            "Доставка;1;1500;20%;усл. ед"):
            args += ["--item", it]
        if number:
            args += ["--number", number]
        path = self.d.ctl(*args).stdout.strip()
        self.assertTrue(path.startswith(out + "/ON_NSCHFDOPPR_"), path)
        with open(path, "rb") as f:
            data = f.read()
        return os.path.basename(path), data

    def xmllint(self, name, data, version, xsd=XSD):
        with tempfile.TemporaryDirectory() as t:
            p = os.path.join(t, name)
            with open(p, "wb") as f:
                f.write(data)
            r = subprocess.run(["xmllint", "--noout", "--schema",
                                os.path.join(FORMATS, xsd[version]), p],
                               capture_output=True, text=True)
            return r.returncode == 0, r.stderr

    def send_upd(self, version):
        d = self.d
        number = "T-" + uuid.uuid4().hex[:6]
        name, upd = self.make_upd(R_INN, L_INN, version, number=number)
        self.assertIn(b'encoding="windows-1251"', upd[:100])
        ok, err = self.xmllint(name, upd, version)
        self.assertTrue(ok, err)
        subject = "УПД %s" % number
        data, _ = make_mail(d.addr(R_INN), d.addr(L_INN), subject,
                            "Добрый день! Направляем УПД.\n",
                            [(name, upd, "application/xml")])
        code, text = submit(d, "romashka", d.addr(R_INN), d.addr(L_INN), data)
        self.assertEqual(code, 250, text)
        msg_id = edo_id(text)
        docs = op_docs_with_sigs(op_entities(d, msg_id))
        self.assertEqual(docs[name][0], upd)
        self.assertTrue(verify_sig(upd, docs[name][1][0]))

        for login, folder in (("lutik", "INBOX"), ("romashka", SENT)):
            msg, flags, raw = imap_wait(d, login, folder, by_edo_id(msg_id))
            body = msg.get_body(preferencelist=("plain",)).get_content()
            self.assertIn("Добрый день! Направляем УПД.", body)
            self.assertIn("УПД № %s от " % number, body)
            self.assertIn("формат %s" % version, body)
            self.assertIn("Продавец:   ООО Ромашка, ИНН %s" % R_INN, body)
            self.assertIn("Покупатель: ООО Лютик, ИНН %s" % L_INN, body)
            self.assertIn("Бумага офисная А4", body)
            self.assertIn("Всего к оплате", body)
            # 10 * 250 + 1500 = 4000 net, 800 VAT, 4800 to pay
            self.assertIn("Итого: без НДС 4000.00, НДС 800.00, всего к "
                          "оплате 4800.00", body)
            rows = [ln for ln in body.splitlines()
                    if ln.startswith(("1  ", "2  "))]
            self.assertEqual(len(rows), 2, body)
            self.assertEqual(len(rows[0]), len(rows[1]), "aligned:\n" + body)
            parts = parts_by_name(msg)
            self.assertEqual(parts[name], upd)
            self.assertTrue(verify_sig(upd, parts[name + ".sig"]))
        return msg_id

    def sign_upd(self, version):
        """A УПД always requests the buyer's signature; «Подписать» makes
        the buyer's title of the same version, valid against its XSD and
        signed, and the seller gets it in a notice threaded to the item."""
        d = self.d
        msg_id = self.send_upd(version)
        item, flags, _ = imap_wait(d, "lutik", "INBOX", by_edo_id(msg_id))
        self.assertIn("$EDO_NeedsSign", flags)
        body = item.get_body(preferencelist=("plain",)).get_content()
        self.assertIn("ТРЕБУЕТСЯ ВАША ПОДПИСЬ", body)
        data, _ = make_mail(d.addr(L_INN), d.addr(R_INN),
                            "Re: " + item["Subject"], "Подписать\n",
                            headers={"In-Reply-To": item["Message-ID"],
                                     "References": item["Message-ID"]})
        code, text = submit(d, "lutik", d.addr(L_INN), d.addr(R_INN), data)
        self.assertEqual(code, 250, text)
        note, _, _ = imap_wait(
            d, "romashka", "INBOX",
            lambda m, f: m.get("X-EDO-Kind") == "notice" and
            msg_id in (m.get("In-Reply-To") or "") and
            "подписан" in (m["Subject"] or ""), timeout=90)
        files = parts_by_name(note)
        titles = [n for n in files if n.startswith("ON_NSCHFDOPPOK_") and
                  n.endswith(".xml")]
        self.assertEqual(len(titles), 1, sorted(files))
        title = files[titles[0]]
        ok, err = self.xmllint(titles[0], title, version, BUYER_XSD)
        self.assertTrue(ok, err)
        self.assertIn(b'encoding="windows-1251"', title[:100])
        self.assertTrue(verify_sig(title, files[titles[0] + ".sig"],
                                   gost=True))
        imap_wait(d, "romashka", SENT,
                  lambda m, f: by_edo_id(msg_id)(m, f) and "$EDO_Signed" in f)

    def test_upd_502_buyer_title(self):
        self.sign_upd("5.02")

    def test_upd_501_buyer_title(self):
        self.sign_upd("5.01")

    def test_upd_502_shown_as_table(self):
        self.send_upd("5.02")

    def test_upd_501_shown_as_table(self):
        self.send_upd("5.01")

    def refused(self, name, upd, marker, to_inn=L_INN):
        """Submits; expects a 5xx at DATA whose text has every marker, and
        no trace of the document at the operator."""
        d = self.d
        before = len(ctl_messages(d, R_INN))
        data, _ = make_mail(d.addr(R_INN), d.addr(to_inn), "Неверный УПД",
                            "Текст\n", [(name, upd, "application/xml")])
        code, text = submit(d, "romashka", d.addr(R_INN), d.addr(to_inn),
                            data)
        self.assertTrue(500 <= code < 600, (code, text))
        # the reply's lines (split at " / " and at spaces) joined again
        text = " ".join(re.sub(r"^\d\.\d\.\d+ ", "", ln)
                        for ln in text.split("\n"))
        for m in marker:
            self.assertIn(m, text)
        self.assertIn("ничего не отправлено", text)
        self.assertIn("nothing was sent", text)
        self.assertEqual(len(ctl_messages(d, R_INN)), before)
        self.assertFalse(db_contains(d, upd))
        return text

    def test_broken_upd_refused_with_path(self):
        name, upd = self.make_upd(R_INN, L_INN, "5.02")
        broken = upd.replace(b'="20%"', b'="25%"', 1)
        self.assertNotEqual(broken, upd)
        self.refused(name, broken, [
            "не соответствует схеме ФНС", "does not match the FNS schema",
            "/Файл/Документ/ТаблСчФакт/СведТов[1]", "НалСт", "25%",
            "line 25"])
        name, upd = self.make_upd(R_INN, L_INN, "5.01")
        self.refused(name, upd[:len(upd) // 2],
                     ["неверный XML", "malformed XML"])

    def test_wrong_inn_refused(self):
        # buyer: Василёк, sent to Лютик
        name, upd = self.make_upd(R_INN, V_INN, "5.02")
        self.refused(name, upd, [
            "покупатель — ИНН %s" % V_INN, "получатель «ООО Лютик» — ИНН %s"
            % L_INN, "the УПД's buyer has ИНН %s" % V_INN])
        # seller: Лютик, sent by Ромашка
        name, upd = self.make_upd(L_INN, R_INN, "5.01")
        self.refused(name, upd, [
            "продавец — ИНН %s" % L_INN, "the УПД's seller has ИНН %s" % L_INN],
            to_inn=L_INN)

    def test_ctl_upd_make_usage(self):
        r = self.d.ctl("upd", "make", "--from", R_INN, check=False)
        self.assertEqual(r.returncode, 2, r.stderr)
        r = self.d.ctl("upd", "make", "--from", R_INN, "--to", L_INN,
                       "--item", "Товар;много;10;20%", "-o", self.d.dir,
                       check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("количество", r.stderr)


if __name__ == "__main__":
    main()
