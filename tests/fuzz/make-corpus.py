#!/usr/bin/env python3
"""Writes the seed corpus of every harness into tests/fuzz/corpus/<harness>/.

The seeds are what the fuzzer starts from: small, valid-looking inputs of
each kind (client sessions, configuration files, submitted mails from real
clients, EDO objects, FNS documents) so that it reaches deep code at once
instead of rediscovering "a001 LOGIN" by chance.  Sources:
  - protocol sessions written for this script (commands the way Thunderbird,
    Outlook, mutt and swaks send them);
  - conf/edomail.conf and the mails of tests/unit/mime/mime-samples.h and
    tests/unit/imap/data/*.eml (the unit tests' sample inputs);
  - FNS documents as the operator module builds them (windows-1251).
Run it again after changing it; it rewrites only the files it makes
(names start with "seed-").  Usage: tests/fuzz/make-corpus.py
"""
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def write(harness, name, data):
    # a mail is also a message clients APPEND and the IMAP server reads
    if harness == 'mime-parse':
        write('imap-message', name, data)
    d = os.path.join(HERE, 'corpus', harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode('utf-8')
    with open(os.path.join(d, 'seed-' + name), 'wb') as f:
        f.write(data)


def crlf(text):
    return text.replace('\r\n', '\n').replace('\n', '\r\n')


# ---- IMAP: client sessions ----

IMAP = {
    'login-select-fetch': '''a001 CAPABILITY
a002 LOGIN "anna+7707083893" "secret pass"
a003 LIST "" "*"
a004 SELECT INBOX
a005 FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)])
a006 UID FETCH 1:4 (BODYSTRUCTURE ENVELOPE INTERNALDATE)
a007 LOGOUT
''',
    'thunderbird': '''1 capability
2 authenticate PLAIN
AGFubmEAc2VjcmV0
3 ID ("name" "Thunderbird" "version" "115.5.0")
4 namespace
5 enable CONDSTORE
6 list (SUBSCRIBED) "" "*" RETURN (SPECIAL-USE)
7 select "INBOX" (CONDSTORE)
8 UID fetch 1:* (FLAGS)
9 IDLE
DONE
10 logout
''',
    'literal-plus': '''B1 LOGIN {4+}
anna {6+}
secret
B2 APPEND Drafts {5+}
abcde
B3 NOOP
''',
    'search': '''s2 SEARCH NOT DELETED LARGER 1000 HEADER "X-EDO-Kind" "letter" 1:100,200:*
s3 UID SEARCH OR (FLAGGED KEYWORD $EDO_Accepted) (BEFORE 01-Jan-2026 TEXT "договор")
''',
    'store-copy-move': '''c1 UID STORE 1:3 +FLAGS.SILENT (\\Seen $EDO_Receipt)
c2 UID COPY 4 "&BBAEQARFBDgEMg-"
c3 UID MOVE 5:7 "&BBoEPgRABDcEOAQ9BDA-"
c4 EXPUNGE
c5 UID EXPUNGE 1:*
c6 STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ)
''',
    'fetch-sections': '''f1 FETCH 1 (BODY[] BODY[1] BODY[1.MIME] BODY[2.1.HEADER] BODY[TEXT]<0.1024>)
f2 FETCH 2 BODY.PEEK[HEADER.FIELDS.NOT (Received X-EDO-Id)]
f3 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)
f4 FETCH 1,3,5:7 RFC822.HEADER
''',
    'mailbox-names': '''m1 CREATE "Архив/2025"
m2 CREATE "&BBAEQARFBDgEMg-/2025"
m3 RENAME "&BBAEQARFBDgEMg-/2025" "&BBAEQARFBDgEMg-/2024"
m4 DELETE "a\\"b"
m5 SUBSCRIBE NIL
m6 LSUB "" %
m7 LIST "" "%/%"
''',
    'errors': '''x1 FETCH 1 (FLAGS
x2 NOOP)
x3 "unterminated
x4 APPEND x {99999999999999999999}
x5 X ((((((((((((a))))))))))))
x6 \\ bad
x7 NOOP\rbare
x8 SELECT INBOX
''',
    'empty-lines': '''

a NOOP
   
b  NOOP  
''',
    'starttls': '''a STARTTLS
b CAPABILITY
c LOGIN "anna+7707083893.773601001" "пароль"
''',
    'nul-in-literal': 'n1 APPEND box {5}\r\na\0b\r\n\r\nn2 NOOP\r\n',
    'quoted-escapes': 'q1 LOGIN "a\\\\b" "c\\"d"\r\nq2 LOGIN "a\\x" y\r\n',
    'unselect-close': 'u1 SELECT Drafts\r\nu2 UNSELECT\r\nu3 EXAMINE INBOX\r\nu4 CLOSE\r\nu5 CHECK\r\n',
    'nonsync-too-big': 'z1 APPEND x {100000+}\r\n' + 'x' * 200 + '\r\nz2 NOOP\r\n',
}

for name, text in IMAP.items():
    write('imap-parser', name, crlf(text) if '\r' not in text else text)


def literal(text, plus=False):
    data = text.encode('utf-8')
    return b'{%d%s}\r\n' % (len(data), b'+' if plus else b'') + data


MSG = crlf('From: anna@romashka.ru\nSubject: test\n\nHello, world!\n').encode()
write('imap-parser', 'append-literal',
      b'A1 LOGIN anna secret\r\n'
      b'A2 APPEND "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-" (\\Seen) '
      b'"25-Nov-2025 13:05:11 +0300" ' + literal(MSG.decode()) + b'\r\n'
      b'A3 APPEND INBOX ' + literal(MSG.decode(), True) + b'\r\n'
      b'A4 LOGOUT\r\n')
write('imap-parser', 'search-literal',
      b's1 UID SEARCH CHARSET UTF-8 SUBJECT ' + literal('Счёт') +
      ' OR UNSEEN FROM "lutik" SINCE 1-Nov-2025\r\n'.encode())
write('imap-parser', 'long-line', 'a1 NOOP ' + 'x' * 3000 + '\r\na2 NOOP\r\n')
write('imap-parser', 'lf-only', 'a1 NOOP\na2 LOGIN a b\n')


# ---- SMTP: submission sessions ----

SMTP = {
    'plain-letter': '''EHLO [192.168.1.10]
AUTH PLAIN AGFubmErNzcwNzA4Mzg5MwBzZWNyZXQ=
MAIL FROM:<anna@romashka.ru> SIZE=512 BODY=8BITMIME
RCPT TO:<2ED0123456789ABCDEF0123456789ABCDEF@edo.local>
DATA
From: Anna <anna@romashka.ru>
To: <2ED0123456789ABCDEF0123456789ABCDEF@edo.local>
Subject: =?UTF-8?B?0KHRh9GR0YI=?=

..leading dot
.
QUIT
''',
    'auth-login': '''EHLO client
AUTH LOGIN
YW5uYQ==
c2VjcmV0
AUTH PLAIN
=
AUTH CRAM-MD5 abc=
AUTH x-unknown_mech
QUIT
''',
    'dsn-params': '''EHLO a.b
MAIL FROM:<a@b.c> RET=HDRS ENVID=QQ+2B1 SMTPUTF8
RCPT TO:<x@edo.local> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x+40edo.local
RCPT TO:<y@edo.local> NOTIFY=NEVER
RCPT TO:<z@edo.local> NOTIFY=NEVER,DELAY
RCPT TO:<> 
MAIL FROM:<> 
RSET
QUIT
''',
    'bdat': 'EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 12\r\nSubject: x\r\nBDAT 9 LAST\r\n\r\nbody\r\r\nQUIT\r\n',
    'bdat-zero-last': 'EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 0 LAST\r\nBDAT 99999999999999999999\r\nBDAT LAST\r\nQUIT\r\n',
    'quoted-local': '''HELO x
MAIL FROM:<"john smith"@example.com>
RCPT TO:<@relay.a,@relay.b:user@edo.local>
RCPT TO:<анна@пример.рф>
RCPT TO:user@edo.local
RCPT TO: <spaced@edo.local>
VRFY anna
EXPN list
HELP
NOOP arg
''',
    'smuggling': 'EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: a\r\n\r\nbody\n.\nMAIL FROM:<evil@x>\r\n.\r\nQUIT\r\n',
    'bare-cr-lf-nul': 'EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nline\rbare cr\nbare lf\0nul\r\n.\rx\r\n.\r\nQUIT\r\n',
    'http': 'GET / HTTP/1.1\r\nHost: edo.local\r\n\r\n',
    'long-line': 'EHLO ' + 'x' * 1200 + '\r\nNOOP\r\n',
    'long-path': 'EHLO x\r\nMAIL FROM:<' + 'a' * 70 + '@' + 'b' * 250 + '.ru>\r\nQUIT\r\n',
    'lf-only': 'EHLO x\nMAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA\nbody\n.\n.\r\n',
    'starttls': 'EHLO x\r\nSTARTTLS\r\nEHLO x\r\n',
}

for name, text in SMTP.items():
    write('smtp-parser', name, crlf(text) if '\r' not in text else text)


# ---- config ----

with open(os.path.join(ROOT, 'conf', 'edomail.conf'), 'rb') as f:
    write('config', 'edomail.conf', f.read())

CONFIG = {
    'minimal': 'server: { domain = "edo.example.ru"; };\n',
    'listen': '''server: {
  domain = "edo.local";
  hostname = "mail.edo.local";
  imap = { address = "0.0.0.0"; port = 143; };
  imaps = { address = ""; port = 0; };
  submission = { port = 587; };
  allow_plaintext_loopback = true;
  workers = 4;
};
''',
    'limits': '''limits: {
  max_line = "64K";
  max_literal = "32M";
  max_message = 67108864;
  max_mime_depth = 10;
  max_mime_parts = 200;
  idle_timeout = 1800;
  command_timeout = 300;
};
''',
    'operator': '''operator: {
  driver = "local";
  prefix = "2ED";
  name = "Оператор ЭДО «Пример»";
  inn = "7700000016";
  dir = "operator";
};
folders: { language = "en"; };
log: { file = ""; level = "debug"; };
store: { path = "/var/lib/edomail/edomail.db"; node_key = "node.key"; };
tls: { cert = "tls.crt"; key = "tls.key"; };
''',
    'errors': '''server: { domain = "bad domain"; workers = 0; };
limits: { max_line = "12Q"; };
unknown: { x = 1; };
''',
    'types': '''server: { domain = 42; imap = [1, 2]; workers = 1.5; };
limits: { max_mime_parts = 9223372036854775807L; };
''',
    'syntax-error': 'server: { domain = "edo.local" \n',
    'comments': '# comment\n// another\n/* block */ server: { domain = "a.b"; };\n',
}
for name, text in CONFIG.items():
    write('config', name, text)


# ---- MIME: submitted mails ----

def c_strings(path):
    """The static const char arrays of a C header, as bytes."""
    with open(path, encoding='utf-8') as f:
        src = f.read()
    out = {}
    for m in re.finditer(r'static const char (\w+)\[\]\s*=\s*((?:\s*"(?:[^"\\]|\\.)*")+)\s*;', src):
        data = bytearray()
        for lit in re.finditer(r'"((?:[^"\\]|\\.)*)"', m.group(2)):
            s = lit.group(1)
            i = 0
            while i < len(s):
                c = s[i]
                if c != '\\':
                    data += c.encode('utf-8')
                    i += 1
                    continue
                e = s[i + 1]
                if e == 'x':
                    j = i + 2
                    while j < len(s) and j < i + 4 and s[j] in '0123456789abcdefABCDEF':
                        j += 1
                    data.append(int(s[i + 2:j], 16))
                    i = j
                    continue
                data += {'r': b'\r', 'n': b'\n', 't': b'\t', '"': b'"',
                         '\\': b'\\', '0': b'\0', "'": b"'"}[e]
                i += 2
        out[m.group(1)] = bytes(data)
    return out


samples = os.path.join(ROOT, 'tests', 'unit', 'mime', 'mime-samples.h')
if os.path.exists(samples):
    for name, data in c_strings(samples).items():
        write('mime-parse', name.replace('_', '-'), data)
eml_dir = os.path.join(ROOT, 'tests', 'unit', 'imap', 'data')
if os.path.isdir(eml_dir):
    for fn in sorted(os.listdir(eml_dir)):
        if fn.endswith('.eml'):
            with open(os.path.join(eml_dir, fn), 'rb') as f:
                write('mime-parse', fn, f.read())

MIME = {
    'swaks-plain': '''Date: Tue, 25 Nov 2025 13:05:11 +0300
To: 7707083893@edo.local
From: anna@romashka.ru
Subject: test Tue, 25 Nov 2025 13:05:11 +0300
Message-Id: <20251125130511.012345@romashka.ru>
X-Mailer: swaks v20201014.0 jetmore.org/john/code/swaks/

This is a test mailing
''',
    'accept-reply': '''From: Anna <anna@romashka.ru>
To: "ООО Лютик" <2ED-abc@edo.local>
Subject: Re: Приглашение
In-Reply-To: <inv-1@edo.local>
References: <a@b> <inv-1@edo.local>
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Принять
Спасибо!

> ООО Лютик приглашает вас.
-- 
Анна
''',
    'reject-qp': '''From: anna@romashka.ru
To: 2ED-abc@edo.local, 7707083893.773601001@edo.local
Cc: =?utf-8?q?=D0=91=D1=83=D1=85?= <buh@romashka.ru>
Subject: =?utf-8?q?Re=3A_=D0=9F=D1=80=D0=B8=D0=B3=D0=BB=D0=B0=D1=88=D0=B5=D0=BD=D0=B8=D0=B5?=
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

=D0=9E=D1=82=D0=BA=D0=BB=D0=BE=D0=BD=D0=B8=D1=82=D1=8C: =D0=BD=D0=B5 =D0=BD=
=D0=B0=D1=88 =D0=BA=D0=BE=D0=BD=D1=82=D1=80=D0=B0=D0=B3=D0=B5=D0=BD=D1=82
''',
    'encrypt-attachments': '''From: anna@romashka.ru
To: <2ED-abc+encrypt@edo.local>
Subject: [шифр] Договор и акт
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: multipart/alternative; boundary="b2"

--b2
Content-Type: text/plain; charset=koi8-r
Content-Transfer-Encoding: base64

8NLJ18XUIQ==
--b2
Content-Type: text/html; charset=utf-8

<html><body><p>Привет&nbsp;<b>мир</b></p><script>x</script></body></html>
--b2--
--b1
Content-Type: application/pdf; name="=?windows-1251?B?xO7j7uLu8C5wZGY=?="
Content-Disposition: attachment;
 filename*0*=utf-8''%D0%94%D0%BE%D0%B3%D0%BE%D0%B2%D0%BE%D1%80;
 filename*1*=%20%E2%84%961.pdf
Content-Transfer-Encoding: base64

JVBERi0xLjQKJeLjz9MK
--b1
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="act.xml"

<?xml version="1.0"?><a/>
--b1--
''',
    'forward-rfc822': '''From: anna@romashka.ru
To: 2ED-abc@edo.local
Subject: Fwd: Счёт
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain

Переподписать
--outer
Content-Type: message/rfc822
Content-Disposition: attachment; filename="orig.eml"

From: "ООО Лютик" <2ED-abc@edo.local>
Subject: Счёт
Message-ID: <11111111-2222-3333-4444-555555555555@edo.local>
Content-Type: multipart/mixed; boundary="inner"

--inner
Content-Type: application/pdf; name="invoice.pdf"
Content-Transfer-Encoding: base64

JVBERi0=
--inner
Content-Type: application/pkcs7-signature; name="invoice.pdf.sig"
Content-Transfer-Encoding: base64

MIIB
--inner--
--outer--
''',
    'bad-boundary-quote': '''From: a@b
To: c@d
Content-Type: multipart/mixed; boundary="\\""

--"
x
''',
    'deep-nesting': 'From: a@b\nTo: c@d\nContent-Type: message/rfc822\n\n' * 40 + 'Subject: deep\n\nbody\n',
    'many-parts': 'From: a@b\nTo: c@d\nContent-Type: multipart/mixed; boundary=z\n\n' +
                  ''.join('--z\nContent-Type: text/plain\n\n%d\n' % i for i in range(60)) + '--z--\n',
    'long-header': 'From: a@b\nTo: c@d\nSubject: ' + 'x' * 2000 + '\n\nbody\n',
    'no-headers': '\nonly a body\n',
    'group-address': 'From: Anna <anna@romashka.ru>\nTo: undisclosed-recipients:;\nBcc: x@y\nSubject: g\n\nb\n',
    'encoded-words-broken': 'From: =?utf-8?B?####?= <a@b>\nTo: c@d\nSubject: =?unknown?Q?x?= =?utf-8?Q?=ZZ?=\n\n\udcff\udcfe bad utf8\n',
}
for name, text in MIME.items():
    write('mime-parse', name, crlf(text).encode('utf-8', 'surrogateescape'))


# ---- MIME rendering: structured inputs, in the order fuzz-mime-render.c
# reads them (see fuzz-common.h for the encodings) ----

class Enc:
    UUID = '0123456789abcdef-'
    ID = 'ABCDEFabcdef0123456789-.@Zz'
    LOGIN = 'abcdefghijklmnopqrstuvwxyz0123456789._+-'

    def __init__(self):
        self.b = bytearray()

    def u8(self, v):
        self.b.append(v & 0xff)

    def u32(self, v):
        self.b += struct.pack('>I', v & 0xffffffff)

    def time(self, t):
        self.u32(t >> 8)
        self.u8(t & 0xff)

    def str(self, s):
        data = s.encode('utf-8') if isinstance(s, str) else s
        n = len(data)
        if n < 255:
            self.u8(n)
        else:
            extra = (n - 255 + 15) // 16
            self.u8(255)
            self.u8(extra)
            data = data + b'x' * (255 + extra * 16 - n)
        self.b += data

    def word(self, s, alphabet):
        # byte b stands for alphabet[b % len]; 0 is dropped, so use len
        self.str(bytes(alphabet.index(c) or len(alphabet) for c in s))

    def bytes_(self, data):
        self.u8(len(data) // 64)
        self.u8(len(data) % 64)
        self.b += data

    def any_or_null(self, s):
        if s is None:
            self.u8(0)
        else:
            self.u8(1)
            self.str(s)

    def party(self, box_id, name, inn, kpp):
        self.word(box_id, self.ID)
        self.str(name)
        self.str(inn)
        self.str(kpp)


T = 1764064800  # 2025-11-25 10:00:00 UTC
ROM = ('2ED0123456789ABCDEF0123456789ABCDEF', 'ООО «Ромашка»', '7707083893', '773601001')
LUT = ('2ED-abc', 'ИП Лютиков Иван Иванович', '500100732259', '')


def render_message(subject, text, entities, reports, packet=None, enc=False,
                   kind=0, reply=None, lang=0):
    e = Enc()
    e.u8(0)
    e.word('5f1c2a9e-0d1b-4c55-9b7e-3e2a1f0c9d11', Enc.UUID)
    e.u8(kind)
    e.word(ROM[0], Enc.ID)
    e.word(LUT[0], Enc.ID)
    e.str(subject)
    e.any_or_null(text)
    e.u8(0)
    if reply:
        e.u8(1)
        e.word(reply, Enc.UUID)
    else:
        e.u8(0)
    e.any_or_null('<abc@romashka.ru>')
    e.any_or_null('Анна Бухгалтерова')
    e.time(T)
    e.u8(len(entities))
    for i, (kind_, name, ctype, data) in enumerate(entities):
        # sel: kind = sel % 7; a signature names the entity before it
        # as parent: bit 7 set and (sel >> 3) % i == i - 1
        parent = kind_ == 1 and i > 0
        e.u8(next(v for v in range(256) if v % 7 == kind_ and
                  bool(v & 0x80) == parent and
                  (not parent or (v >> 3) % i == i - 1)))
        e.word('%08x-0000-4000-8000-%012x' % (i, i), Enc.UUID)
        e.str(name)
        e.any_or_null(ctype)
        e.bytes_(data)
        e.word(ROM[0], Enc.ID)
        e.time(T + i)
    e.u8(len(reports))
    for doc, signer, valid in reports:
        e.word('00000001-0000-4000-8000-000000000001', Enc.UUID)
        e.str(doc)
        e.str(signer)
        e.str('01A2B3C4D5E6F7')
        e.str('CN=Тестовый УЦ, O=Пример, C=RU')
        e.time(T - 86400 * 30)
        e.time(T + 86400 * 335)
        e.time(T)
        e.u8(1 if valid else 0)
        if not valid:
            e.str('Подпись не совпадает / signature mismatch')
    e.u8(0)                     # domain edo.local
    e.party(*ROM)
    e.party(*LUT)
    e.any_or_null(None)         # message_id
    e.u8(1)
    e.any_or_null('inv-1@edo.local')
    e.u8(1 if enc else 0)
    if packet is not None:
        e.u8(1)
        e.bytes_(packet)
        e.str('packet.zip')
    else:
        e.u8(0)
    e.u8(lang)
    return bytes(e.b)


write('mime-render', 'letter', render_message(
    'Счёт на оплату № 15', 'Добрый день!\nВо вложении счёт.\n',
    [(0, 'Счёт № 15.pdf', 'application/pdf', b'%PDF-1.4\n%\xe2\xe3\xcf\xd3\n'),
     (1, 'Счёт № 15.pdf.sig', 'application/pkcs7-signature', b'\x30\x82\x01\x02' * 8)],
    [('Счёт № 15.pdf', 'Иванов Иван Иванович', True)], packet=b'PK\x03\x04' + b'\0' * 26))
write('mime-render', 'encrypted-answer', render_message(
    'Re: Договор', None,
    [(6, 'text.p7m', None, b'\x30\x80' * 20),
     (0, 'a' * 300 + '.docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', b'PK' * 100)],
    [('x.docx', 'Петров', False)], enc=True, kind=2,
    reply='11111111-2222-3333-4444-555555555555', lang=1))
write('mime-render', 'hostile-names', render_message(
    'line\r\nBcc: evil@x\r\n' + 'Ж' * 600, 'text\r\n.\r\n--=_edo_x\r\n' + 'y' * 2000,
    [(0, '"quoted"\\name\r\n.pdf', 'text/plain\r\nX: y', b'\0\r\n.\r\n' * 50),
     (2, '', '', b''),
     (4, 'receipt.xml', 'application/xml', b'<?xml version="1.0"?><a/>')],
    [], lang=0))

inv = Enc()
inv.u8(1)
inv.u8(0)
inv.word('5f1c2a9e-0d1b-4c55-9b7e-3e2a1f0c9d11', Enc.UUID)
inv.party(*LUT)
inv.party(*ROM)
inv.any_or_null('ИП Лютиков приглашает вас к обмену электронными документами.')
inv.u8(0)
inv.time(T)
inv.u8(0)
write('mime-render', 'invitation', bytes(inv.b))

con = Enc()
con.u8(2)
con.u8(1)
con.party(*ROM)
con.party(*LUT)
con.str('Контрагент / IsMyCounteragent')
con.time(T)
con.u8(1)
write('mime-render', 'contact', bytes(con.b))

notice = Enc()
notice.u8(3)
notice.u8(0)
notice.word('anna+7707083893', Enc.LOGIN)
notice.str('Не отправлено: сертификат истёк / Not sent: certificate expired')
notice.str('Письмо «Счёт» не отправлено.\nСертификат истёк 01.11.2025.\n')
notice.any_or_null('20251125130511.012345@romashka.ru')
notice.time(T)
write('mime-render', 'notice', bytes(notice.b))


# ---- FNS XML (windows-1251, as the operator writes and reads them) ----

IZVPOL = ('<?xml version="1.0" encoding="windows-1251"?>\n'
          '<Файл ИдФайл="DP_IZVPOL_2ED11111111111111111111111111111111_2ED0123456789ABCDEF0123456789ABCDEF_20241125_dcd1353c-349d-47d2-bb7f-580943f12269" ВерсПрог="edomail 0.1.0" ВерсФорм="1.03">'
          '<Документ КНД="1115110"><УчастЭДО ИдУчастЭДО="2ED0123456789ABCDEF0123456789ABCDEF">'
          '<ЮЛ НаимОрг="ООО «Ромашка»" ИННЮЛ="7707083893" КПП="773601001"/></УчастЭДО>'
          '<СвИзвПолуч ДатаПол="25.11.2024" ВремяПол="19.00.00"><СведПолФайл ИмяПолФайла="Договор №1.pdf">'
          '<ЭППолФайл>MIIBAgYJKoZI</ЭППолФайл></СведПолФайл></СвИзвПолуч>'
          '<ОтпрДок ИдУчастЭДО="2ED11111111111111111111111111111111"><ИП ИННФЛ="500100732259">'
          '<ФИО Фамилия="Иванов" Имя="Иван" Отчество="Иванович"/></ИП></ОтпрДок>'
          '<Подписант Должн="Генеральный директор"><ФИО Фамилия="Петров" Имя="Пётр" Отчество="Петрович"/></Подписант>'
          '</Документ></Файл>\n')
PDOTPR = ('<?xml version="1.0" encoding="windows-1251"?>\n'
          '<Файл ИдФайл="DP_PDOTPR_2ED11111111111111111111111111111111_2ED_20241125_283ced6d-359f-443d-9e40-2ede66eafe40" ВерсПрог="edomail 0.1.0" ВерсФорм="1.03">'
          '<Документ КНД="1115111"><ОперЭДО НаимОрг="Оператор ЭДО edomail" ИННЮЛ="7700000016" ИдОперЭДО="2ED"/>'
          '<СведПодтв ДатаОтпр="25.11.2024" ВремяОтпр="18.53.20"><СведОтпрФайл ИмяОтпрФайла="Счёт 15.xml">'
          '<ЭПОтпрФайл>MIIBAgYJKoZI</ЭПОтпрФайл><ЭПОтпрФайл>MIIBAgYJKoZI</ЭПОтпрФайл></СведОтпрФайл></СведПодтв>'
          '<СвОтпрДок ИдУчастЭДО="2ED11111111111111111111111111111111"><ИП ИННФЛ="500100732259">'
          '<ФИО Фамилия="Иванов" Имя="Иван" Отчество="Иванович"/></ИП></СвОтпрДок>'
          '<СвПолДок ИдУчастЭДО="2ED0123456789ABCDEF0123456789ABCDEF"><ЮЛ НаимОрг="ООО «Ромашка»" ИННЮЛ="7707083893" КПП="773601001"/></СвПолДок>'
          '</Документ></Файл>\n')
PDPOL = (PDOTPR.replace('DP_PDOTPR', 'DP_PDPOL').replace('1115111', '1115112')
         .replace('ДатаОтпр', 'ДатаПол').replace('ВремяОтпр', 'ВремяПол')
         .replace('СведОтпрФайл', 'СведПолФайл').replace('ИмяОтпрФайла', 'ИмяПолФайла')
         .replace('ЭПОтпрФайл', 'ЭППолФайл'))

write('xml-receipt', 'izvpol.xml', IZVPOL.encode('cp1251'))
write('xml-receipt', 'pdotpr.xml', PDOTPR.encode('cp1251'))
write('xml-receipt', 'pdpol.xml', PDPOL.encode('cp1251'))
write('xml-receipt', 'izvpol-utf8.xml', IZVPOL.replace('windows-1251', 'utf-8').encode('utf-8'))
write('xml-receipt', 'izvpol-utf16.xml', IZVPOL.replace('windows-1251', 'utf-16').encode('utf-16'))
write('xml-receipt', 'izvpol-no-decl.xml', IZVPOL.split('\n', 1)[1].encode('utf-8'))
write('xml-receipt', 'izvpol-bad-inn.xml', IZVPOL.replace('7707083893', '77070838').encode('cp1251'))
write('xml-receipt', 'izvpol-missing-signer.xml',
      re.sub('<Подписант.*</Подписант>', '', IZVPOL).encode('cp1251'))
write('xml-receipt', 'billion-laughs.xml',
      b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
      b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
      b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n'
      b'<lolz>&lol3;</lolz>\n')
write('xml-receipt', 'xxe.xml',
      b'<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>\n')
write('xml-receipt', 'xinclude.xml',
      b'<a xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="/etc/passwd" parse="text"/></a>')
write('xml-receipt', 'deep.xml', b'<a>' * 300 + b'</a>' * 300)
write('xml-receipt', 'truncated.xml', IZVPOL.encode('cp1251')[:300])
write('xml-receipt', 'names.txt', 'ИП Иванов Иван Иванович Оглы'.encode('utf-8'))

print('corpus written to', os.path.join(HERE, 'corpus'), file=sys.stderr)
