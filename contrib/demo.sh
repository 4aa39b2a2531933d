#!/bin/sh
# The run command: installs what is missing, builds, creates a ready demo
# (two organizations, users, RSA and GOST certificates) in ./demo and runs
# edomaild in the foreground on 127.0.0.1.  Ctrl-C stops it; running it
# again reuses the demo (delete ./demo to start afresh).
set -eu
cd "$(dirname "$0")/.."
./contrib/install-deps.sh
BUILD=${BUILD:-build}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" -Dbuildtype=debugoptimized
ninja -C "$BUILD"
export EDOMAIL_BUILD_DIR="$PWD/$BUILD"
DEMO=${DEMO_DIR:-$PWD/demo}
if [ ! -f "$DEMO/edomail.conf" ]; then
	./contrib/make-demo.sh "$DEMO"
fi
. "$DEMO/demo.env"
: "${DEMO_AUTOCONFIG_PORT:=1880}"
cat <<INFO

  edomail demo — подключите почтовый клиент / connect a mail client
  ---------------------------------------------------------------------
  IMAP:  127.0.0.1:$DEMO_IMAP_PORT (STARTTLS), 127.0.0.1:$DEMO_IMAPS_PORT (SSL/TLS)
  SMTP:  127.0.0.1:$DEMO_SUBMISSION_PORT (STARTTLS), 127.0.0.1:$DEMO_SUBMISSIONS_PORT (SSL/TLS)
  Password for every demo user / пароль всех пользователей: $DEMO_PASSWORD
  Trust the demo CA once (Thunderbird closed; README, "Thunderbird"):
    certutil -A -n "edomail demo CA" -t "C,," -i $DEMO/demo-ca.crt \\
      -d sql:\$HOME/.thunderbird/<profile>
  Autoconfig (Thunderbird): curl http://127.0.0.1:$DEMO_AUTOCONFIG_PORT/mail/config-v1.1.xml

  Users / пользователи:
    buh+$ROMASHKA_INN   бухгалтер, «ООО Ромашка» (RSA)    address $ROMASHKA_ADDR
    buh+$LUTIK_INN   бухгалтер, «ООО Лютик» (ГОСТ)      address $LUTIK_ADDR
    buh                 both organizations in one account / обе организации
    romashka, lutik     owners / владельцы
    viewer              «ООО Ромашка», without the signing right / без права подписи

  Sample УПД to attach (Ромашка → Лютик) / образцы УПД: $DEMO/upd/
  Admin: $BUILD/src/ctl/edomailctl -c $DEMO/edomail.conf status
  ---------------------------------------------------------------------

INFO
exec "$BUILD/src/daemon/edomaild" -f -c "$DEMO/edomail.conf"
