#!/bin/bash
# tests/fuzz/run.sh - run the libFuzzer targets that tests/fuzz/build.sh
# built into build-fuzz/, each from a temp copy of its seed corpus
# tests/fuzz/corpus/NAME/ (removed afterwards, however the run ends).
#
#   FUZZ_SECONDS  seconds per target (default 15)
#   FUZZ_TARGETS  targets to run, e.g. "fuzz_record fuzz_http" (default:
#                 one per tests/fuzz/fuzz_*.c)
#   FUZZ_JOBS     fuzzer processes at once (default 1): up to that many
#                 targets run side by side, and when there are more jobs
#                 than targets each target runs several libFuzzer -jobs
#
# Prints "ok - fuzz:NAME (N runs in S s)" or "not ok - fuzz:NAME ..." and
# the tail of its log for each target, in order, then the total runs.
# Crash inputs are kept in build-fuzz/artifacts/. Exit status 0 when every
# target passed. Used by tests/run.sh and `make fuzz`.
set -u
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd)
seconds=${FUZZ_SECONDS:-15}
jobs=${FUZZ_JOBS:-1}
case "$seconds$jobs" in
*[!0-9]*) echo "FUZZ_SECONDS and FUZZ_JOBS must be numbers" >&2; exit 2 ;;
esac
if [ "$seconds" -lt 1 ] || [ "$jobs" -lt 1 ]; then
	echo "FUZZ_SECONDS and FUZZ_JOBS must be at least 1" >&2
	exit 2
fi
if [ -n "${FUZZ_TARGETS:-}" ]; then
	targets=()
	for t in $FUZZ_TARGETS; do
		t="fuzz_${t#fuzz_}"   # "record" means fuzz_record
		[[ " ${targets[*]} " == *" $t "* ]] || targets+=("$t")
	done
else
	targets=()
	for src in tests/fuzz/fuzz_*.c; do
		t=${src##*/}
		targets+=("${t%.c}")
	done
fi
n=${#targets[@]}
if [ "$n" -eq 0 ]; then
	echo "no fuzz targets" >&2
	exit 2
fi
at_once=$((jobs < n ? jobs : n))
per_target=$((jobs / n > 1 ? jobs / n : 1))
tmp=$(mktemp -d /tmp/ovs-fuzz.XXXXXX)
artifacts="$root/build-fuzz/artifacts"
mkdir -p "$artifacts"

# Stop what is still running (timeout passes the signal to the fuzzer and
# its -jobs children), then remove the temp corpora and logs.
cleanup() {
	local f
	for f in "$tmp"/*/timeout.pid; do
		[ -e "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "# fuzz: interrupted" >&2; exit 130' INT TERM

# fuzz NAME: run one target in $tmp/NAME; leaves $tmp/NAME/result.
fuzz() {
	local name=$1 dir="$tmp/$1" bin="$root/build-fuzz/$1" start rc runs line logs
	local args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048
		-print_final_stats=1 -artifact_prefix="$artifacts/$name-")
	mkdir -p "$dir/corpus"
	if [ ! -x "$bin" ]; then
		echo "not ok - fuzz:$name (not built: run tests/fuzz/build.sh)" >"$dir/result.tmp"
		mv "$dir/result.tmp" "$dir/result"
		return
	fi
	[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$dir/corpus/"
	[ "$per_target" -gt 1 ] && args+=(-jobs="$per_target" -workers="$per_target")
	start=$(date +%s)
	# -jobs writes each job's log to fuzz-N.log in the current directory
	# (and copies it into its own output when the job ends).
	(cd "$dir" && exec timeout -k 10 $((seconds + 60)) "$bin" "${args[@]}" corpus \
		>"$dir/out.log" 2>&1) &
	echo $! >"$dir/timeout.pid"
	wait $!
	rc=$?
	rm -f "$dir/timeout.pid"
	logs=("$dir/out.log")
	[ "$per_target" -gt 1 ] && logs=("$dir"/fuzz-*.log)
	runs=$(cat "${logs[@]}" | grep -o 'stat::number_of_executed_units: [0-9]*' |
		awk '{ s += $2 } END { print s + 0 }')
	line="fuzz:$name ($runs runs in $(($(date +%s) - start)) s)"
	if [ "$rc" -eq 0 ]; then
		echo "ok - $line" >"$dir/result.tmp"
	else
		{
			echo "not ok - $line: exit status $rc"
			tail -n 40 "$dir/out.log" | sed 's/^/# /'   # TAP comments
		} >"$dir/result.tmp"
	fi
	echo "$runs" >"$dir/runs"
	mv "$dir/result.tmp" "$dir/result"   # last: its presence says done
}

start=$(date +%s)
printed=0
running=0
total=0
failed=0
# Print finished results in target order, as soon as all before them are.
flush() {
	while [ "$printed" -lt "$n" ] && [ -e "$tmp/${targets[$printed]}/result" ]; do
		local d="$tmp/${targets[$printed]}"
		cat "$d/result"
		grep -q '^not ok' "$d/result" && failed=$((failed + 1))
		[ -e "$d/runs" ] && total=$((total + $(cat "$d/runs")))
		printed=$((printed + 1))
	done
}
for name in "${targets[@]}"; do
	while [ "$running" -ge "$at_once" ]; do
		wait -n
		running=$((running - 1))
		flush
	done
	mkdir -p "$tmp/$name"
	fuzz "$name" &
	running=$((running + 1))
done
wait
flush
echo "# fuzz: $total runs in total, $n targets, $failed failed, $(($(date +%s) - start)) s"
[ "$failed" -eq 0 ]
