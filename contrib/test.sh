#!/bin/sh
# The test command: installs what is missing, builds with address and
# undefined-behaviour sanitizers and runs every test (unit and end-to-end).
# It ends on meson's summary ("Ok: N  Fail: N ...").
set -eu
cd "$(dirname "$0")/.."
./contrib/install-deps.sh
BUILD=${BUILD:-build-test}
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" -Db_sanitize=address,undefined -Db_lundef=false \
		-Dbuildtype=debug
fi
ninja -C "$BUILD"
# LeakSanitizer is on; UBSan reports are fatal so they fail the test.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# The end-to-end tests run in the two-node mode too (a gateway-only node in
# front of the operator's API, suite "gateway"): EDOMAIL_TEST_GATEWAY=all
# runs every one of them, subset (the default) those of the mail actions
# (gw_subset in tests/e2e/meson.build), none none.  Arguments naming tests
# or suites run just those.
GATEWAY=${EDOMAIL_TEST_GATEWAY:-subset}
if [ $# -eq 0 ]; then
	case "$GATEWAY" in
	all) ;;
	subset) set -- --no-suite gateway-rest ;;
	none) set -- --no-suite gateway ;;
	*) echo "EDOMAIL_TEST_GATEWAY: all, subset или none / all, subset or" \
		"none, not $GATEWAY" >&2
	   exit 2 ;;
	esac
fi
exec meson test -C "$BUILD" --print-errorlogs --num-processes 2 "$@"
