#!/bin/sh
# Runs the README's test command (contrib/test.sh) on a freshly installed
# Debian 12 made with debootstrap, from a clean clone of this repository's
# HEAD: the check that a new machine has everything the suite needs (a
# machine that has run the suite before hides missing install steps).
#
#   contrib/chroot-test.sh DIR [TEST...]
#                                  (as root; DIR is made if missing and
#                                   removed afterwards unless KEEP=1; TEST
#                                   names meson tests or suites to run
#                                   instead of all, as contrib/test.sh)
#
# Needs debootstrap and network access to the Debian mirror.  Mounts /proc,
# /sys, /dev and /dev/pts into DIR for the run and unmounts them after.
set -eu
[ "$(id -u)" = 0 ] || { echo "chroot-test: run as root / нужен root" >&2; exit 2; }
[ $# -ge 1 ] || { echo "usage: $0 DIR [TEST...]" >&2; exit 2; }
DIR=$1
shift
SRC=$(cd "$(dirname "$0")/.." && pwd)
MIRROR=${MIRROR:-http://deb.debian.org/debian}

if [ ! -x "$DIR/bin/sh" ]; then
	command -v debootstrap >/dev/null ||
		{ apt-get update -qq && apt-get install -y -qq debootstrap; }
	debootstrap bookworm "$DIR" "$MIRROR"
fi
# Debian's installer also enables the security and updates suites, and a
# new machine gets its packages from them (Thunderbird 153 from
# bookworm-security, where bookworm alone has 140): the same sources here.
SECURITY=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-security main\n' \
	"$MIRROR" "$MIRROR" "$SECURITY" > "$DIR/etc/apt/sources.list"
cp /etc/resolv.conf "$DIR/etc/resolv.conf"
rm -rf "$DIR/root/edomail"
git clone -q "$SRC" "$DIR/root/edomail"

cleanup() {
	for m in run/netns dev/shm dev/pts dev sys proc; do
		umount -l "$DIR/$m" 2>/dev/null || true
	done
	umount -l "$DIR" 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] || rm -rf "$DIR"
}
trap cleanup EXIT
# The root a mount point of its own, as on a real machine: `ip netns exec`
# (test_abuse's non-loopback peer) remounts / and /sys inside.
mount --bind "$DIR" "$DIR"
mount -t proc proc "$DIR/proc"
mount -t sysfs sys "$DIR/sys"
mount --bind /dev "$DIR/dev"
mount --bind /dev/pts "$DIR/dev/pts"
# POSIX shared memory, a mount of its own on a real machine: Thunderbird
# (the thunderbird suite) needs it.
mount -t tmpfs -o mode=1777 shm "$DIR/dev/shm"
# A clean environment as on a new machine: root's login shell, no pyenv.
chroot "$DIR" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	CI=true /bin/sh -c 'cd /root/edomail && ./contrib/test.sh "$@"' sh "$@"
