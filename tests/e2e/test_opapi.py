#!/usr/bin/env python3
"""The operator API over HTTPS (issue 15 section 1, doc/operator-api.md),
driven with curl: bearer tokens per organization (edomailctl api token)
and TLS client certificates registered for one (edomailctl api cert add),
Diadoc's calls and JSON shapes, Diadoc's errors (status,
X-Diadoc-ErrorCode, a bilingual text), one organization never reaching
another's box or messages, PostMessage idempotent by operationId, and a
message posted over the API reaching the recipient's IMAP INBOX."""
import base64
import json
import subprocess
import threading
import time

import edomail_harness as h


class OperatorApi(h.DaemonTestCase):
    tools = ("curl", "openssl")
    port = h.free_port()
    extra_env = {"DEMO_API_PORT": str(port)}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.d
        cls.R = d.demo["ROMASHKA_BOX"]
        cls.L = d.demo["LUTIK_BOX"]
        cls.V = d.demo["VASILEK_BOX"]
        cls.tok = {}
        for name, inn in (("R", "ROMASHKA_INN"), ("L", "LUTIK_INN"),
                          ("V", "VASILEK_INN")):
            r = d.ctl("api", "token", d.demo[inn], "--label", "test " + name)
            cls.tok[name] = r.stdout.strip()
            assert len(cls.tok[name]) == 64, r.stdout + r.stderr

    def call(self, path, who=None, method="GET", body=None, token=None,
             raw=False, cert=None, ctype="application/json"):
        """(status, headers dict, body) of one request made by curl;
        cert: (certificate, key) files of a TLS client certificate."""
        # no "Expect: 100-continue": the first answer is the real one
        args = ["curl", "-sS", "--max-time", "30", "--cacert", self.d.cafile,
                "-H", "Expect:",
                "-D", "-", "-X", method]
        if cert is not None:
            args += ["--cert", cert[0], "--key", cert[1]]
        tok = token if token is not None else \
            (self.tok[who] if who is not None else None)
        if tok is not None:
            args += ["-H", "Authorization: Bearer " + tok]
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            args += ["-H", "Content-Type: " + ctype,
                     "--data-binary", "@-"]
        else:
            data = None
        args.append("https://127.0.0.1:%d%s" % (self.port, path))
        r = subprocess.run(args, capture_output=True, timeout=60,
                           input=data.encode() if isinstance(data, str)
                           else data)
        self.assertEqual(r.returncode, 0, r.stderr)
        head, _, content = r.stdout.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        if raw or status != 200 or not headers.get(
                "content-type", "").startswith("application/json"):
            return status, headers, content
        return status, headers, json.loads(content)

    def assertError(self, resp, status, code):
        st, hd, body = resp
        self.assertEqual(st, status, body)
        self.assertEqual(hd.get("x-diadoc-errorcode"), code, hd)
        text = body.decode()
        self.assertIn(" / ", text)  # Russian / English

    # ---- auth and isolation ----
    def test_auth(self):
        self.assertError(self.call("/GetOrganization?inn=" +
                                   self.d.demo["LUTIK_INN"]),
                         401, "Http.Unauthorized")
        self.assertError(self.call("/GetOrganization?inn=1", token="0" * 64),
                         401, "Http.Unauthorized")
        # a revoked token stops working at once
        d = self.d
        tok = d.ctl("api", "token", d.demo["ROMASHKA_INN"]).stdout.strip()
        st, _, _ = self.call("/V3/GetCounteragents?myBoxId=" + self.R,
                             token=tok)
        self.assertEqual(st, 200)
        listing = d.ctl("api", "tokens", d.demo["ROMASHKA_INN"]).stdout
        tid = [line.split()[0] for line in listing.splitlines()
               if line.split()[0].isdigit()][-1]
        d.ctl("api", "revoke", tid)
        self.assertError(self.call("/V3/GetCounteragents?myBoxId=" + self.R,
                                   token=tok), 401, "Http.Unauthorized")
        self.assertIn("отозван", d.ctl("api", "tokens").stdout)

    def test_client_cert(self):
        """A TLS client certificate registered for an organization (api
        cert add) acts as its box like a token; unregistered, unchained,
        revoked or removed ones are 401; a token of another organization
        with it is 401."""
        d = self.d
        cc = lambda name, **kw: h.client_cert(d.dir, d.dir, name, **kw)
        ok = cc("romashka-api")
        out = d.ctl("api", "cert", "add", d.demo["ROMASHKA_INN"],
                    ok[0]).stdout
        cid = out.split()[1]
        path_r = "/V3/GetCounteragents?myBoxId=" + self.R
        st, _, body = self.call(path_r, cert=ok)
        self.assertEqual(st, 200, body)
        self.assertIn("Counteragents", body)
        # another organization's box: 403, as with a token
        self.assertError(self.call("/V3/GetCounteragents?myBoxId=" + self.L,
                                   cert=ok), 403, "Http.Forbidden")
        # the same organization's token with it: fine; another's: 401
        self.assertEqual(self.call(path_r, "R", cert=ok)[0], 200)
        self.assertError(self.call("/V3/GetCounteragents?myBoxId=" + self.L,
                                   "L", cert=ok), 401, "Http.Unauthorized")
        # a good token does not save a bad certificate
        stranger = cc("stranger")
        self.assertError(self.call(path_r, cert=stranger), 401,
                         "Http.Unauthorized")
        self.assertError(self.call(path_r, "R", cert=stranger), 401,
                         "Http.Unauthorized")
        # registered but not chained to the trust roots
        selfsig = cc("selfsigned", self_signed=True)
        r = d.ctl("api", "cert", "add", d.demo["ROMASHKA_INN"], selfsig[0])
        self.assertIn("warning", r.stderr)
        st, _, body = self.call(path_r, cert=selfsig)
        self.assertEqual(st, 401, body)
        self.assertIn("refused", body.decode())
        # a certificate of another ИНН (ИННЮЛ) is not registered for Ромашка
        other = cc("lutik-inn", subject="/CN=Лютик/INNLE=" +
                   d.demo["LUTIK_INN"])
        r = d.ctl("api", "cert", "add", d.demo["ROMASHKA_INN"], other[0],
                  check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(d.demo["LUTIK_INN"], r.stderr)
        # revoked by the CA: refused once the daemon has the new CRL
        rev = cc("revoked-api")
        d.ctl("api", "cert", "add", d.demo["ROMASHKA_INN"], rev[0])
        self.assertEqual(self.call(path_r, cert=rev)[0], 200)
        d.ctl("cert", "revoke", rev[0])
        st, _, body = h.wait_for(
            lambda: (lambda r: r if r[0] != 200 else None)(
                self.call(path_r, cert=rev)),
            what="the revoked certificate refused")
        self.assertEqual(st, 401, body)
        self.assertIn("revoked", body.decode())
        # removed from the organization: 401 at once
        d.ctl("api", "cert", "remove", cid)
        self.assertError(self.call(path_r, cert=ok), 401, "Http.Unauthorized")
        listing = d.ctl("api", "certs", d.demo["ROMASHKA_INN"]).stdout
        self.assertIn("снят", listing)
        self.assertIn("CN=romashka-api", listing)

    def test_roaming_tokens_apart(self):
        """A roaming operator's token opens /V1/Roaming/ only, and only it
        does: an organization's token there is 403, none is 401."""
        d = self.d
        rtok = d.ctl("api", "token", "--roaming", "2BK").stdout.strip()
        self.assertEqual(len(rtok), 64, rtok)
        path = "/V1/Roaming/FindOrganization?query=" + \
            d.demo["ROMASHKA_INN"]
        self.assertError(self.call(path), 401, "Http.Unauthorized")
        self.assertError(self.call(path, "R"), 403, "Http.Forbidden")
        self.assertError(self.call(path, token="ab" * 32), 401,
                         "Http.Unauthorized")
        st, _, org = self.call(path, token=rtok)
        self.assertEqual(st, 200, org)
        self.assertEqual(org.get("Inn"), d.demo["ROMASHKA_INN"], org)
        self.assertError(self.call("/V3/GetCounteragents?myBoxId=" + self.R,
                                   token=rtok), 403, "Http.Forbidden")

    def test_other_box_is_forbidden(self):
        for path in ("/V3/GetCounteragents?myBoxId=" + self.L,
                     "/V7/GetNewEvents?boxId=" + self.L,
                     "/V5/GetMessage?boxId=%s&messageId=%s" %
                     (self.L, "00000000-0000-4000-8000-000000000000")):
            self.assertError(self.call(path, "R"), 403, "Http.Forbidden")
        self.assertError(self.call("/V3/PostMessage", "R", "POST",
                                   {"FromBoxId": self.L, "ToBoxId": self.R}),
                         403, "Http.Forbidden")

    def test_bad_requests(self):
        self.assertError(self.call("/V3/PostMessage", "R", "POST", "{nope"),
                         400, "Http.BadRequest")
        self.assertError(self.call("/V3/PostMessage", "R"), 405,
                         "Http.MethodNotAllowed")
        self.assertError(self.call("/V9/Nothing", "R"), 404, "Http.NotFound")
        self.assertError(self.call("/V7/GetNewEvents", "R"), 400,
                         "Http.BadRequest")
        self.assertError(self.call("/V7/GetNewEvents?boxId=%s&limit=1000" %
                                   self.R, "R"), 400, "Http.BadRequest")

    # ---- organizations and counteragents ----
    def test_organizations(self):
        st, _, org = self.call("/GetOrganization?inn=" +
                               self.d.demo["LUTIK_INN"], "R")
        self.assertEqual(st, 200)
        self.assertEqual(org["Inn"], self.d.demo["LUTIK_INN"])
        self.assertEqual(org["Boxes"][0]["BoxId"], self.L)
        self.assertFalse(org["IsRoaming"])
        st, _, orgs = self.call("/GetOrganizationsByInnKpp?inn=0000000000",
                                "R")
        self.assertEqual((st, orgs["Organizations"]), (200, []))
        st, _, cas = self.call("/V3/GetCounteragents?myBoxId=" + self.R, "R")
        self.assertEqual(st, 200)
        status = {c["IndexKey"]: c["CurrentStatus"]
                  for c in cas["Counteragents"]}
        self.assertEqual(status.get(self.L), "IsMyCounteragent")

    def test_acquire_and_break(self):
        # Василёк invites Лютик; Лютик declines (Break); Василёк sees it
        st, _, task = self.call("/V3/AcquireCounteragent?myBoxId=" + self.V,
                                "V", "POST", {"Inn": self.d.demo["LUTIK_INN"],
                                              "MessageToCounteragent":
                                              "Приглашаем / Join us"})
        self.assertEqual((st, task["TaskId"]), (200, self.L))
        st, _, cas = self.call("/V3/GetCounteragents?myBoxId=%s&"
                               "counteragentStatus=InvitesMe" % self.L, "L")
        self.assertEqual(st, 200)
        got = [c for c in cas["Counteragents"] if c["IndexKey"] == self.V]
        self.assertEqual(len(got), 1, cas)
        self.assertIn("Join us", got[0]["MessageFromCounteragent"])
        st, _, _ = self.call("/V2/BreakWithCounteragent?myBoxId=%s&"
                             "counteragentBoxId=%s&comment=no" %
                             (self.L, self.V), "L", "POST", {})
        self.assertEqual(st, 200)
        st, _, cas = self.call("/V3/GetCounteragents?myBoxId=" + self.V, "V")
        status = {c["IndexKey"]: c["CurrentStatus"]
                  for c in cas["Counteragents"]}
        self.assertEqual(status.get(self.L), "RejectsMe")
        self.assertError(self.call("/V2/AcquireCounteragentResult?taskId=" +
                                   self.L, "V"), 409, "Http.Conflict")
        # Ромашка invites Василёк, who accepts by acquiring back
        st, _, _ = self.call("/V3/AcquireCounteragent?myBoxId=" + self.R,
                             "R", "POST", {"BoxId": self.V})
        self.assertEqual(st, 200)
        st, _, _ = self.call("/V3/AcquireCounteragent?myBoxId=" + self.V,
                             "V", "POST", {"BoxId": self.R})
        self.assertEqual(st, 200)
        st, _, res = self.call("/V2/AcquireCounteragentResult?taskId=" +
                               self.V, "R")
        self.assertEqual((st, res["OrgId"]), (200, self.V))
        st, _, cas = self.call("/V3/GetCounteragents?myBoxId=" + self.V, "V")
        status = {c["IndexKey"]: c["CurrentStatus"]
                  for c in cas["Counteragents"]}
        self.assertEqual(status.get(self.R), "IsMyCounteragent")
        # an established relation is not broken off: said, not pretended
        self.assertError(self.call("/V2/BreakWithCounteragent?myBoxId=%s&"
                                   "counteragentBoxId=%s" % (self.V, self.R),
                                   "V", "POST", {}), 409, "Http.Conflict")

    def test_certificates(self):
        st, _, certs = self.call("/V2/GetCounteragentCertificates?myBoxId=%s&"
                                 "counteragentBoxId=%s" % (self.R, self.L),
                                 "R")
        self.assertEqual(st, 200)
        self.assertTrue(certs["Certificates"])
        der = base64.b64decode(certs["Certificates"][0]["RawCertificateData"])
        r = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout",
                            "-subject"], input=der, capture_output=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        # not a counteragent (Лютик declines Василёк in another test,
        # and nothing else relates them): refused
        self.assertError(self.call("/V2/GetCounteragentCertificates?myBoxId="
                                   "%s&counteragentBoxId=%s" % (self.L, self.V),
                                   "L"), 403, "Http.Forbidden")

    # ---- messages ----
    def post_letter(self, op_id, marker):
        doc = ("Акт сверки %s\n" % marker).encode()
        body = {"FromBoxId": self.R, "ToBoxId": self.L,
                "Subject": "API " + marker, "Text": "Текст " + marker,
                "DocumentAttachments": [{
                    "SignedContent": {
                        "Content": base64.b64encode(doc).decode(),
                        "Signature": base64.b64encode(b"sig").decode()},
                    "Metadata": [{"Key": "FileName",
                                  "Value": "акт-%s.txt" % marker}]}]}
        return doc, self.call("/V3/PostMessage?operationId=" + op_id, "R",
                              "POST", body)

    def test_post_message_and_read(self):
        marker = "m%d" % time.time_ns()
        doc, (st, _, msg) = self.post_letter("op-" + marker, marker)
        self.assertEqual(st, 200, msg)
        mid = msg["MessageId"]
        self.assertEqual((msg["FromBoxId"], msg["ToBoxId"]), (self.R, self.L))
        # the same operationId again: the same message, nothing new
        self.assertNotIn("IsReplayed", msg)
        _, (st, _, again) = self.post_letter("op-" + marker, marker)
        self.assertEqual((st, again["MessageId"]), (200, mid))
        self.assertIs(again.get("IsReplayed"), True)
        # the recipient reads it: with content, and each entity raw
        st, _, got = self.call("/V5/GetMessage?boxId=%s&messageId=%s&"
                               "injectEntityContent=true" % (self.L, mid), "L")
        self.assertEqual(st, 200)
        docs = [e for e in got["Entities"] if e["EdoKind"] == "Document"]
        self.assertEqual(len(docs), 1)
        self.assertEqual(base64.b64decode(docs[0]["Content"]["Data"]), doc)
        self.assertEqual(docs[0]["FileName"], "акт-%s.txt" % marker)
        self.assertTrue(any(e["EdoKind"] == "Signature" and
                            e["ParentEntityId"] == docs[0]["EntityId"]
                            for e in got["Entities"]))
        st, hd, raw = self.call("/V4/GetEntityContent?boxId=%s&messageId=%s&"
                                "entityId=%s" % (self.L, mid,
                                                 docs[0]["EntityId"]),
                                "L", raw=True)
        self.assertEqual((st, raw), (200, doc))
        # a third organization is no party to it
        st, _, _ = self.call("/V5/GetMessage?boxId=%s&messageId=%s" %
                             (self.V, mid), "V")
        self.assertIn(st, (403, 404))
        # the recipient's event log names it, page by page
        st, _, ev = self.call("/V7/GetNewEvents?boxId=" + self.L, "L")
        self.assertEqual(st, 200)
        mine = [e for e in ev["Events"] if e["MessageId"] == mid]
        self.assertTrue(any(e["EdoEventType"] == "MessageIn" for e in mine),
                        ev)
        first = ev["Events"][0]["IndexKey"]
        st, _, page = self.call("/V7/GetNewEvents?boxId=%s&limit=1" % self.L,
                                "L")
        self.assertEqual(page["Events"][0]["IndexKey"], first)
        self.assertTrue(page["HasMore"])
        st, _, nxt = self.call("/V7/GetNewEvents?boxId=%s&limit=1&"
                               "afterIndexKey=%s" % (self.L, first), "L")
        self.assertGreater(nxt["Events"][0]["IndexKey"], first)
        # and a mail client of the recipient sees the letter
        c = self.d.imap("lutik")
        try:
            def arrived():
                c.select("INBOX")
                typ, data = c.search(None, "SUBJECT", '"%s"' % marker)
                return typ == "OK" and data[0].split()
            h.wait_for(arrived, what="the API letter in Лютик's INBOX")
        finally:
            c.logout()

    def test_shelf_upload(self):
        """/V2/ShelfUpload and Content.NameOnShelf: a document posted as
        raw bytes arrives whole; the name is the uploader's only and is
        used up; GetMessage's skipDocumentContent leaves the documents
        out and keeps the rest."""
        import os
        import uuid
        doc = os.urandom(40000)

        def upload(who, data, query=""):
            return self.call("/V2/ShelfUpload" + query, who, "POST", data,
                             raw=True, ctype="application/octet-stream")

        st, hd, name = upload("R", doc, "?fileExtension=.bin")
        self.assertEqual(st, 200, name)
        self.assertTrue(hd["content-type"].startswith("text/plain"), hd)
        name = name.decode()
        self.assertTrue(name.endswith(".bin"), name)
        doc_id, sig_id = str(uuid.uuid4()), str(uuid.uuid4())

        def body(frm, to):
            return {"FromBoxId": frm, "ToBoxId": to, "Subject": "С полки",
                    "Entities": [
                        {"EntityId": doc_id, "EdoKind": "Document",
                         "FileName": "полка.bin",
                         "Content": {"Size": len(doc), "NameOnShelf": name}},
                        {"EntityId": sig_id, "EdoKind": "Signature",
                         "ParentEntityId": doc_id,
                         "Content": {"Data": base64.b64encode(
                             b"sig").decode()}}]}
        # another organization cannot use the name
        self.assertError(self.call("/V3/PostMessage?operationId=shelf-l",
                                   "L", "POST", body(self.L, self.R)),
                         404, "Shelf.NotFound")
        st, _, msg = self.call("/V3/PostMessage?operationId=shelf-r", "R",
                               "POST", body(self.R, self.L))
        self.assertEqual(st, 200, msg)
        mid = msg["MessageId"]
        st, _, got = self.call("/V5/GetMessage?boxId=%s&messageId=%s&"
                               "injectEntityContent=true" % (self.L, mid), "L")
        docs = [e for e in got["Entities"] if e["EntityId"] == doc_id]
        self.assertEqual(base64.b64decode(docs[0]["Content"]["Data"]), doc)
        st, _, got = self.call("/V5/GetMessage?boxId=%s&messageId=%s&"
                               "injectEntityContent=true&"
                               "skipDocumentContent=true" % (self.L, mid), "L")
        ents = {e["EntityId"]: e for e in got["Entities"]}
        self.assertEqual(ents[doc_id]["Content"]["Size"], len(doc))
        self.assertEqual(ents[doc_id]["Content"].get("Data", ""), "")
        self.assertEqual(base64.b64decode(ents[sig_id]["Content"]["Data"]),
                         b"sig")
        # used up by the message
        self.assertError(self.call("/V3/PostMessage?operationId=shelf-r2",
                                   "R", "POST", body(self.R, self.L)),
                         404, "Shelf.NotFound")
        self.assertError(upload("R", b"x" * (3 * 1024 * 1024 + 1)), 413,
                         "Http.RequestEntityTooLarge")
        self.assertError(upload("R", b"x", "?fileExtension=../x"), 400,
                         "Http.BadRequest")

    def test_long_poll(self):
        """GetNewEvents with waitSeconds (doc/operator-api.md): nothing
        new answers the empty page when the wait is over; a letter to the
        box answers the waiting request at once with its event.  A wait
        left open when the daemon stops is dropped cleanly (the class's
        teardown checks the sanitizers)."""
        st, _, last = self.call("/V2/GetLastEvent?boxId=" + self.L, "L")
        self.assertEqual(st, 200, last)
        key = last["IndexKey"]
        # nothing new: the empty page after the wait
        t0 = time.monotonic()
        st, _, page = self.call("/V7/GetNewEvents?boxId=%s&afterIndexKey=%s"
                                "&waitSeconds=2" % (self.L, key), "L")
        took = time.monotonic() - t0
        self.assertEqual((st, page["Events"]), (200, []))
        self.assertGreaterEqual(took, 1.5)
        self.assertError(self.call("/V7/GetNewEvents?boxId=%s&waitSeconds=31"
                                   % self.L, "L"), 400, "Http.BadRequest")
        # a letter while the request waits: answered with its event
        got = {}

        def wait():
            got["resp"] = self.call("/V7/GetNewEvents?boxId=%s&afterIndexKey"
                                    "=%s&waitSeconds=25" % (self.L, key), "L")
            got["at"] = time.monotonic()
        t = threading.Thread(target=wait)
        t.start()
        time.sleep(1)
        marker = "lp%d" % time.time_ns()
        _, (st, _, msg) = self.post_letter("op-" + marker, marker)
        self.assertEqual(st, 200, msg)
        posted = time.monotonic()
        t.join(40)
        st, _, page = got["resp"]
        self.assertEqual(st, 200, page)
        self.assertIn(msg["MessageId"], [e["MessageId"]
                                         for e in page["Events"]])
        # well before the 25 s wait was over
        self.assertLess(got["at"] - posted, 15)
        # one more wait left open for the shutdown
        st, _, vlast = self.call("/V2/GetLastEvent?boxId=" + self.V, "V")
        vkey = vlast["IndexKey"] if st == 200 else ""
        self.__class__.left_open = subprocess.Popen(
            ["curl", "-sS", "-o", "/dev/null", "--max-time", "60",
             "--cacert", self.d.cafile, "-H", "Authorization: Bearer " +
             self.tok["V"], "https://127.0.0.1:%d/V7/GetNewEvents?boxId=%s"
             "&afterIndexKey=%s&waitSeconds=30" % (self.port, self.V,
                                                   vkey)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            p = getattr(cls, "left_open", None)
            if p is not None:
                p.kill()
                p.wait()

    def test_patch_signature(self):
        marker = "p%d" % time.time_ns()
        _, (st, _, msg) = self.post_letter("op-" + marker, marker)
        self.assertEqual(st, 200)
        doc = [e for e in msg["Entities"] if e["EdoKind"] == "Document"][0]
        st, _, patch = self.call("/V3/PostMessagePatch?operationId=pt-" +
                                 marker, "L", "POST", {
                                     "BoxId": self.L,
                                     "MessageId": msg["MessageId"],
                                     "Signatures": [{
                                         "ParentEntityId": doc["EntityId"],
                                         "Signature": base64.b64encode(
                                             b"counter").decode()}]})
        self.assertEqual(st, 200, patch)
        st, _, got = self.call("/V5/GetMessage?boxId=%s&messageId=%s" %
                               (self.R, msg["MessageId"]), "R")
        sigs = [e for e in got["Entities"] if e["EdoKind"] == "Signature"
                and e["ParentEntityId"] == doc["EntityId"]]
        self.assertEqual(sorted(s["SignerBoxId"] for s in sigs),
                         sorted([self.R, self.L]))


if __name__ == "__main__":
    h.main()
