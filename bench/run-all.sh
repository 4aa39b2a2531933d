#!/bin/sh
# run-all.sh [--quick] [other options for every script]
# Runs every benchmark one after the other (each starts and stops its own
# edomaild and Dovecot on free loopback ports), then prints a summary table.
# BENCHES="imap_sync smtp_submit" limits the set.  The daemon is taken from
# EDOMAIL_BUILD_DIR (default build-bench, built here in release mode, without
# sanitizers, when missing).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$HERE")
: "${EDOMAIL_BUILD_DIR:=$SRC/build-bench}"
export EDOMAIL_BUILD_DIR
: "${BENCHES:=imap_sync imap_mixed imap_idle imap_edo_sync smtp_submit imap_client gateway}"

if [ ! -x "$EDOMAIL_BUILD_DIR/src/daemon/edomaild" ]; then
	[ -d "$EDOMAIL_BUILD_DIR" ] ||
		meson setup "$EDOMAIL_BUILD_DIR" "$SRC" -Dbuildtype=release || exit 2
	ninja -C "$EDOMAIL_BUILD_DIR" -j2 || exit 2
fi

SUMMARY=$(mktemp)
child=
# A script stops its servers on SIGTERM: pass ours on and let it clean up.
stop() {
	[ -n "$child" ] && kill -TERM "$child" 2>/dev/null && wait "$child"
	exit 130
}
trap 'rm -f "$SUMMARY"' EXIT
trap stop INT TERM
status=0
for b in $BENCHES; do
	echo "=== $b $*"
	python3 "$HERE/$b.py" "$@" --summary "$SUMMARY" &
	child=$!
	if ! wait "$child"; then
		echo "=== $b FAILED"
		status=1
	fi
	child=
done
cd "$HERE" && python3 -c 'import sys, benchlib; benchlib.print_summary(sys.argv[1])' "$SUMMARY"
exit $status
