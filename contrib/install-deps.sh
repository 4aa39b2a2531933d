#!/bin/sh
# Installs the Debian 12 packages edomail needs to build, test and run the
# demo, but only those that are missing (apt-get update first, as a clean
# machine has no package lists).  Run as root, or it uses sudo.
set -eu
# Every tool a test drives is here (tests/e2e/edomail_harness.py
# require_tools fails a test whose tool is missing); iproute2 (ip netns)
# and man-db/groff-base (the man pages' install test) are not in a minimal
# debootstrap.  libdpkg-perl: Debian's libetpan.pc links with
# -specs=/usr/share/dpkg/no-pie-link.specs, a file of that package; a fresh
# machine without it cannot link (found by contrib/chroot-test.sh).
PKGS="meson ninja-build pkg-config gcc libc6-dev libdpkg-perl
libetpan-dev libcurl4-gnutls-dev libssl-dev openssl libsqlite3-dev sqlite3
libxml2-dev libxml2-utils libconfig-dev libevent-dev libjansson-dev libengine-gost-openssl
libzip-dev
python3 curl swaks libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl
mutt neomutt isync tmux valgrind clang libclang-rt-14-dev
dovecot-imapd
iproute2 util-linux man-db groff-base"
# --- thunderbird: the e2e suite 'thunderbird' (tests/e2e/test_thunderbird.py)
# drives Debian's Thunderbird under Xvfb; certutil (libnss3-tools) trusts
# the demo CA in its profile.
PKGS="$PKGS thunderbird xvfb libnss3-tools"
# --- end thunderbird
missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Dovecot is only a benchmark peer: keep its packaged service from starting.
if echo "$missing" | grep -q dovecot && [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod 755 /usr/sbin/policy-rc.d
	trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
