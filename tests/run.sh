#!/bin/bash
# tests/run.sh - run the whole suite after `make all` and `make SAN=1 all`:
#   1. unit tests, normal and ASan+UBSan builds
#   2. each libFuzzer target for FUZZ_SECONDS (default 15) from its seed corpus
#   3. end-to-end tests (tests/e2e/test_*.py) against real agents, first on
#      the normal build, then the core ones again on the sanitizer build
# Every test prints "ok - NAME", "ok - NAME # SKIP why" or "not ok - NAME";
# a test program that dies without saying so counts as one failure. At the
# end, any process the suite started that is still running (a QEMU guest, an
# agent, a child) is a failure. The last line is
# "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
PY=${PYTHON:-python3}
pass=0
fail=0
skip=0
failed_names=()
log_dir=$(mktemp -d /tmp/ovs-tests.XXXXXX)
export OVS_LEFTOVER_LOG="$log_dir/leftovers" OVS_E2E_DIRS="$log_dir/e2e-dirs"
: >"$OVS_LEFTOVER_LOG"
: >"$OVS_E2E_DIRS"

# run LABEL TIMEOUT CMD... : count the TAP lines of one test program.
run() {
	local label=$1 limit=$2 out rc ok bad skipped
	shift 2
	out="$log_dir/$(echo "$label" | tr '/ ' '__').log"
	timeout -k 10 "$limit" "$@" >"$out" 2>&1
	rc=$?
	ok=$(grep '^ok ' "$out" | grep -vc ' # SKIP')
	skipped=$(grep '^ok ' "$out" | grep -c ' # SKIP')
	bad=$(grep -c '^not ok ' "$out")
	grep -E '^(ok|not ok) ' "$out" | sed "s|^|[$label] |"
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		echo "not ok - $label exited with status $rc"
		bad=1
	fi
	if [ "$rc" -ne 0 ] || [ "$bad" -ne 0 ]; then
		echo "---- $label output (tail) ----"
		tail -n 40 "$out"
		echo "----"
		failed_names+=("$label")
	fi
	pass=$((pass + ok))
	skip=$((skip + skipped))
	fail=$((fail + bad))
}

echo "== layers (tests/check_layers.sh)"
run "layers" 60 tests/check_layers.sh
echo "== unit tests"
for t in build/tests/test_*; do
	run "unit/$(basename "$t")" 300 "$t"
done
echo "== unit tests (ASan+UBSan)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for t in build-san/tests/test_*; do
	run "san/$(basename "$t")" 300 "$t"
done

echo "== fuzz targets (${FUZZ_SECONDS}s each)"
if tests/fuzz/build.sh >"$log_dir/fuzz-build.log" 2>&1; then
	FUZZ_SECONDS=$FUZZ_SECONDS tests/fuzz/run.sh 2>&1 | tee "$log_dir/fuzz.log"
	rc=${PIPESTATUS[0]}
	ok=$(grep -c '^ok ' "$log_dir/fuzz.log")
	bad=$(grep -c '^not ok ' "$log_dir/fuzz.log")
	while read -r name; do
		failed_names+=("$name")
	done < <(sed -n 's/^not ok - \(fuzz:[^ ]*\).*/\1/p' "$log_dir/fuzz.log")
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		echo "not ok - fuzz: tests/fuzz/run.sh exited with status $rc"
		bad=1
		failed_names+=("fuzz")
	fi
	pass=$((pass + ok))
	fail=$((fail + bad))
else
	echo "not ok - fuzz: build failed"
	tail -n 40 "$log_dir/fuzz-build.log"
	fail=$((fail + 1))
fi

echo "== test guest image (kernel + initramfs from Debian's packages)"
if tests/guest/build.sh build/guest >"$log_dir/guest-build.log" 2>&1; then
	echo "ok - guest image built"
	pass=$((pass + 1))
else
	echo "not ok - guest image (tests/guest/build.sh)"
	tail -n 20 "$log_dir/guest-build.log"
	fail=$((fail + 1))
	failed_names+=("guest-image")
fi

echo "== end-to-end tests"
for t in tests/e2e/test_*.py; do
	run "e2e/$(basename "$t" .py)" 900 env OVS_BUILD=build "$PY" "$t"
done
echo "== end-to-end tests on the ASan+UBSan build"
for t in tests/e2e/test_rpc.py tests/e2e/test_limits.py tests/e2e/test_signals.py \
	tests/e2e/test_guests_sim.py tests/e2e/test_vmcfg_methods.py \
	tests/e2e/test_hostile.py tests/e2e/test_hooks.py \
	tests/e2e/test_guest_net.py tests/e2e/test_network_info.py \
	tests/e2e/test_repositories.py tests/e2e/test_pool.py tests/e2e/test_corolink.py \
	tests/e2e/test_ha.py; do
	[ -e "$t" ] && run "e2e-san/$(basename "$t" .py)" 900 env OVS_BUILD=build-san "$PY" "$t"
done

echo "== nothing left running"
# agentfix ends each agent's leftover QEMUs by pid and writes them here.
if [ -s "$OVS_LEFTOVER_LOG" ]; then
	sed 's/^/# /' "$OVS_LEFTOVER_LOG"
	echo "not ok - leftovers: a test left a guest running (its teardown ended it)"
	fail=$((fail + 1))
	failed_names+=("leftovers")
else
	echo "ok - leftovers: every test destroyed its guests"
	pass=$((pass + 1))
fi
# Whatever still runs from a temp dir this run's tests made (agentfix lists
# them in $OVS_E2E_DIRS): agents, QEMUs, children. Only looked for here,
# never killed by pattern; the tests end their own by pid. (Matched inside
# bash, so no process of this scan carries a dir in its command line.)
mapfile -t dirs <"$OVS_E2E_DIRS"
left=$(for c in /proc/[0-9]*/cmdline; do
	{ cmd=$(tr '\0' ' ' <"$c"); } 2>/dev/null || continue
	for d in "${dirs[@]}"; do
		if [ -n "$d" ] && [[ $cmd == *"$d"* ]]; then
			echo "${c//[^0-9]/}: ${cmd:0:150}"
			break
		fi
	done
done)
if [ -n "$left" ]; then
	echo "$left" | sed 's/^/# still running: /'
	echo "not ok - processes: the suite left processes running"
	fail=$((fail + 1))
	failed_names+=("processes")
else
	echo "ok - processes: nothing the suite started is still running"
	pass=$((pass + 1))
fi

if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failed: ${failed_names[*]}"
	echo "logs in $log_dir"
else
	rm -rf "$log_dir"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
