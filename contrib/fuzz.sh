#!/bin/sh
# Runs every libFuzzer harness of tests/fuzz/ for SECONDS each (default
# 600), one after the other, and prints one line per harness: executions,
# executions per second, crashes.  Inputs that crash or leak are copied to
# tests/fuzz/regressions/<harness>/, where the normal test suite replays
# them (doc/fuzzing.md).
#
#   contrib/fuzz.sh [SECONDS]
#
# Environment:
#   BUILD=build-fuzz         the clang build folder (configured if missing)
#   FUZZ_WORK=$BUILD/fuzz-work   work corpus and artifacts, outside git
#   FUZZ_HARNESSES="imap-parser smtp-parser ..."   a subset
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)

SECS=${1:-600}
case $SECS in
''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
BUILD=${BUILD:-build-fuzz}
WORK=${FUZZ_WORK:-$BUILD/fuzz-work}
HARNESSES=${FUZZ_HARNESSES:-"imap-parser imap-message smtp-parser config mime-parse mime-render xml-receipt opapi-json poa upd"}
MAX_CRASHES=3	# restarts after a crash before giving up on a harness

if ! command -v clang >/dev/null 2>&1; then
	echo "$0: clang is needed (apt-get install clang)" >&2
	exit 1
fi
if [ ! -f "$BUILD/build.ninja" ]; then
	# The libraries get coverage instrumentation (fuzzer-no-link) and the
	# sanitizers too, so that libFuzzer sees inside the modules.
	CC=clang meson setup "$BUILD" -Dfuzzing=true -Db_lundef=false \
		-Db_sanitize=address,undefined -Dbuildtype=debugoptimized \
		-Dc_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined'
fi

# Only harnesses whose module has a library are defined.
TARGETS=
BUILT=
for h in $HARNESSES; do
	if ninja -C "$BUILD" -t targets all 2>/dev/null |
	    grep -q "^tests/fuzz/fuzz-$h:"; then
		TARGETS="$TARGETS tests/fuzz/fuzz-$h"
		BUILT="$BUILT $h"
	else
		echo "$h: not built (its module has no library yet)" >&2
	fi
done
[ -n "$TARGETS" ] || exit 1
# shellcheck disable=SC2086
ninja -j2 -C "$BUILD" $TARGETS >/dev/null

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export LSAN_OPTIONS="suppressions=$ROOT/tests/fuzz/lsan.supp"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# "stat::name: value" from libFuzzer's -print_final_stats output.
stat() {
	sed -n "s/^stat::$1: *//p" "$2" | tail -n 1
}

SUMMARY=
for h in $BUILT; do
	dir="$WORK/$h"
	mkdir -p "$dir/corpus" "$dir/artifacts"
	seeds="$ROOT/tests/fuzz/corpus/$h"
	dict=
	[ -f "$ROOT/tests/fuzz/dict/$h.dict" ] &&
		dict="-dict=$ROOT/tests/fuzz/dict/$h.dict"
	before=$(ls "$dir/artifacts" | wc -l)
	start=$(date +%s)
	execs=0
	crashes=0
	left=$SECS
	while [ "$left" -gt 0 ]; do
		rc=0
		# shellcheck disable=SC2086
		"$BUILD/tests/fuzz/fuzz-$h" -max_total_time="$left" \
			-rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
			-artifact_prefix="$dir/artifacts/" $dict \
			"$dir/corpus" "$seeds" >"$dir/last.log" 2>&1 || rc=$?
		cat "$dir/last.log" >>"$dir/fuzz.log"
		n=$(stat number_of_executed_units "$dir/last.log")
		execs=$((execs + ${n:-0}))
		[ "$rc" -eq 0 ] && break
		crashes=$((crashes + 1))
		grep -E "^(==[0-9]+==ERROR|SUMMARY|fuzz: )" "$dir/last.log" |
			head -n 3 | sed "s/^/$h: /" >&2
		[ "$crashes" -ge "$MAX_CRASHES" ] && break
		left=$((SECS - ($(date +%s) - start)))
	done
	elapsed=$(($(date +%s) - start))
	[ "$elapsed" -gt 0 ] || elapsed=1
	after=$(ls "$dir/artifacts" | wc -l)
	# Keep what crashed or leaked; timeouts and out-of-memory inputs stay
	# in the work folder (they would slow the test suite), see fuzz.log.
	for f in "$dir"/artifacts/crash-* "$dir"/artifacts/leak-*; do
		[ -f "$f" ] || continue
		mkdir -p "$ROOT/tests/fuzz/regressions/$h"
		[ -f "$ROOT/tests/fuzz/regressions/$h/$(basename "$f")" ] ||
			cp "$f" "$ROOT/tests/fuzz/regressions/$h/"
	done
	line=$(printf '%-12s %12s execs %8s exec/s %3s crashes %3s new artifacts' \
		"$h" "$execs" "$((execs / elapsed))" "$crashes" \
		"$((after - before))")
	echo "$line"
	SUMMARY="$SUMMARY$line
"
done
printf '\n%s' "$SUMMARY"
echo "work corpus and logs: $WORK"
