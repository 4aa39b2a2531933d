#!/bin/sh
# make-demo.sh DIR [--config-only]
# Creates a ready demo in DIR: edomail.conf, a demo CA (demo-ca.crt) and a
# TLS certificate signed by it (tls.crt), and, through edomailctl, three
# organizations («ООО Ромашка» and «ООО Лютик» already counteragents of each
# other, «ООО Василёк» not yet), users and
# certificates (RSA for Ромашка and Василёк, GOST for Лютик).  Writes
# DIR/demo.env with the facts a script needs.  Ports and the password come
# from DEMO_* variables (the test harness picks free ports).
set -eu
DIR=${1:?usage: make-demo.sh DIR [--config-only]}
ONLY_CONFIG=${2:-}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${EDOMAIL_BUILD_DIR:-$SRC/build}
: "${DEMO_IMAP_PORT:=1143}" "${DEMO_IMAPS_PORT:=1993}"
: "${DEMO_SUBMISSION_PORT:=1587}" "${DEMO_SUBMISSIONS_PORT:=1465}"
: "${DEMO_LANGUAGE:=ru}" "${DEMO_PASSWORD:=demo-password}"
: "${DEMO_PLAINTEXT_LOOPBACK:=false}"
# Thunderbird's autoconfig over HTTP (0 = off; the tests turn it on).
: "${DEMO_AUTOCONFIG_PORT:=1880}"
# The operator API over HTTPS (doc/operator-api.md; 0 = off).
: "${DEMO_API_PORT:=1844}"
# Seconds between rereads of the CRL folder (the tests: 1).
: "${DEMO_TRUST_REFRESH:=60}"
# More trust.* keys, e.g. 'fetch = true;' (the tests of fetching CRLs).
: "${DEMO_TRUST_EXTRA:=}"
# The operator's prefix: its participant ids begin with it.  A second demo
# with another one (e.g. 2BK) is a roaming peer (doc/roaming.md).
: "${DEMO_PREFIX:=2ED}"
case $DEMO_PREFIX in
[0-9A-Za-z][0-9A-Za-z][0-9A-Za-z]) ;;
*) echo "make-demo.sh: DEMO_PREFIX is 3 characters [0-9A-Za-z]" >&2; exit 2 ;;
esac

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
cat > "$DIR/edomail.conf" <<CONF
# edomail demo configuration (see conf/edomail.conf for every key).
server:
{
  domain = "edo.local";
  imap        = { address = "127.0.0.1"; port = $DEMO_IMAP_PORT; };
  imaps       = { address = "127.0.0.1"; port = $DEMO_IMAPS_PORT; };
  submission  = { address = "127.0.0.1"; port = $DEMO_SUBMISSION_PORT; };
  submissions = { address = "127.0.0.1"; port = $DEMO_SUBMISSIONS_PORT; };
  allow_plaintext_loopback = $DEMO_PLAINTEXT_LOOPBACK;
  workers = 2;
};
tls: { cert = "tls.crt"; key = "tls.key"; };
store: { path = "edomail.db"; node_key = "node.key"; };
# The operator API: https://127.0.0.1:$DEMO_API_PORT/ (port 0: off).
operator: { driver = "local"; prefix = "$DEMO_PREFIX"; dir = "operator";
            api = { address = "127.0.0.1"; port = $DEMO_API_PORT; }; };
folders: { language = "$DEMO_LANGUAGE"; };
log: { level = "info"; };
# "Add Mail Account" finds the settings at
# http://127.0.0.1:$DEMO_AUTOCONFIG_PORT/mail/config-v1.1.xml (port 0: off).
# The demo CA is the one trusted root: every demo certificate is issued by
# it (edomailctl cert make), so the demo's signatures are fully valid, and
# edomailctl cert revoke adds to its CRL in crls/.
trust: { roots = "demo-ca.crt"; crls = "crls"; refresh = $DEMO_TRUST_REFRESH;
         ca_cert = "demo-ca.crt"; ca_key = "demo-ca.key"; $DEMO_TRUST_EXTRA };
autoconfig: { listen = { address = "127.0.0.1"; port = $DEMO_AUTOCONFIG_PORT; };
              host = "127.0.0.1"; };
CONF

# A demo CA of its own and a server certificate signed by it: a client that
# trusts demo-ca.crt (one certutil command for a Thunderbird profile, see
# README) connects to IMAP and SMTP without a single exception dialog.  A
# self-signed server certificate needed one exception per port, and
# Thunderbird's first send failed meanwhile.  The CA stays when the demo is
# made again in the same folder, so an imported CA remains valid.
if [ ! -f "$DIR/demo-ca.crt" ] || [ ! -f "$DIR/demo-ca.key" ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
		-subj "/O=edomail demo/CN=edomail demo CA" \
		-addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-keyout "$DIR/demo-ca.key" -out "$DIR/demo-ca.crt" 2>/dev/null
	chmod 600 "$DIR/demo-ca.key"
fi
openssl req -newkey rsa:2048 -nodes -subj "/O=edomail demo/CN=localhost" \
	-keyout "$DIR/tls.key" -out "$DIR/tls.csr" 2>/dev/null
printf '%s\n' "basicConstraints=critical,CA:FALSE" \
	"keyUsage=critical,digitalSignature,keyEncipherment" \
	"extendedKeyUsage=serverAuth" \
	"subjectAltName=DNS:localhost,IP:127.0.0.1" > "$DIR/tls.ext"
# 825 days: the longest validity clients accept for a server certificate.
openssl x509 -req -in "$DIR/tls.csr" -CA "$DIR/demo-ca.crt" \
	-CAkey "$DIR/demo-ca.key" -set_serial "0x$(openssl rand -hex 8)" \
	-days 825 -extfile "$DIR/tls.ext" -out "$DIR/tls.crt" 2>/dev/null
rm -f "$DIR/tls.csr" "$DIR/tls.ext"
chmod 600 "$DIR/tls.key"
mkdir -p "$DIR/crls"
[ "$ONLY_CONFIG" = "--config-only" ] && exit 0

CTL="$BUILD/src/ctl/edomailctl -c $DIR/edomail.conf"
# The demo CA's first CRL (nothing revoked yet).
[ -f "$DIR/crls/demo-ca.crl" ] || $CTL cert revoke - >/dev/null
R_INN=7701234560 R_KPP=770101001
L_INN=5001007329 L_KPP=500101001
V_INN=7728012332 V_KPP=772801001

$CTL org add --name "ООО Ромашка" --inn $R_INN --kpp $R_KPP --short "Ромашка" >/dev/null
$CTL org add --name "ООО Лютик" --inn $L_INN --kpp $L_KPP --short "Лютик" >/dev/null
$CTL org add --name "ООО Василёк" --inn $V_INN --kpp $V_KPP --short "Василёк" >/dev/null

adduser() { # login "full name"
	printf '%s\n' "$DEMO_PASSWORD" | $CTL user add "$1" --name "$2" >/dev/null
}
adduser buh "Иванова Мария Петровна"
adduser romashka "Петров Пётр Петрович"
adduser lutik "Сидоров Сидор Сидорович"
adduser viewer "Смирнова Анна Ивановна"
adduser vasilek "Кузнецов Иван Иванович"

$CTL member add buh $R_INN --role signer >/dev/null
$CTL member add buh $L_INN --role signer >/dev/null
$CTL member add romashka $R_INN --role owner >/dev/null
$CTL member add lutik $L_INN --role owner >/dev/null
$CTL member add viewer $R_INN --role reader >/dev/null
$CTL member add vasilek $V_INN --role owner >/dev/null

$CTL cert make buh $R_INN --type rsa >/dev/null
$CTL cert make buh $L_INN --type gost >/dev/null
$CTL cert make romashka $R_INN --type rsa >/dev/null
$CTL cert make lutik $L_INN --type gost >/dev/null
$CTL cert make vasilek $V_INN --type rsa >/dev/null

# Automatic receipts (ИоП) are signed with the owner's certificate; without
# this choice they would wait until a signer opens the letter.
$CTL org policy $R_INN --receipt-cert romashka >/dev/null
$CTL org policy $L_INN --receipt-cert lutik >/dev/null
$CTL org policy $V_INN --receipt-cert vasilek >/dev/null

# Ромашка and Лютик exchange documents from the start.
$CTL invite $R_INN $L_INN --text "Приглашаем к обмену документами" >/dev/null
$CTL accept $L_INN $R_INN --comment "Принято" >/dev/null

# Sample УПД (seller's titles, formats 5.02 and 5.01) from Ромашка to Лютик,
# to attach to a letter as they are (the file name is the document's
# ИдФайл): the recipient sees the table, the schema and the ИНН are checked.
mkdir -p "$DIR/upd"
$CTL upd make --from $R_INN --to $L_INN --version 5.02 --number 1 \
	--signer "Иванова Мария Петровна" --position "Главный бухгалтер" \
	--item "Бумага офисная А4, 500 листов;10;250.00;20%;шт" \
	--item "Картридж для принтера;2;3500;20%;шт" \
	--item "Доставка;1;500;20%;усл. ед" -o "$DIR/upd" >/dev/null
$CTL upd make --from $R_INN --to $L_INN --version 5.01 --number 2 \
	--signer "Иванова Мария Петровна" --position "Главный бухгалтер" \
	--item "Консультация по ЭДО;3;1500;без НДС;ч" -o "$DIR/upd" >/dev/null

box() { $CTL org show "$1" | awk -F': *' 'tolower($1) ~ /participant id|идентификатор/ {print $2; exit}'; }
R_BOX=$(box $R_INN); L_BOX=$(box $L_INN); V_BOX=$(box $V_INN)
cat > "$DIR/demo.env" <<ENV
DEMO_IMAP_PORT=$DEMO_IMAP_PORT
DEMO_IMAPS_PORT=$DEMO_IMAPS_PORT
DEMO_SUBMISSION_PORT=$DEMO_SUBMISSION_PORT
DEMO_SUBMISSIONS_PORT=$DEMO_SUBMISSIONS_PORT
DEMO_AUTOCONFIG_PORT=$DEMO_AUTOCONFIG_PORT
DEMO_API_PORT=$DEMO_API_PORT
DEMO_PASSWORD=$DEMO_PASSWORD
DEMO_PREFIX=$DEMO_PREFIX
ROMASHKA_INN=$R_INN
LUTIK_INN=$L_INN
VASILEK_INN=$V_INN
ROMASHKA_BOX=$R_BOX
LUTIK_BOX=$L_BOX
VASILEK_BOX=$V_BOX
ROMASHKA_ADDR=$R_BOX@edo.local
LUTIK_ADDR=$L_BOX@edo.local
VASILEK_ADDR=$V_BOX@edo.local
ENV
