#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds ntpsync three ways, runs the tests of each, and ends with one line "N passed, N failed"
# (meson test results of all builds, plus one result per fuzzing run); exits non-zero on any failure.
#
#   build/           gcc, --werror, --prefix=/usr: every test suite, the booted-system test included
#   build-sanitize/  gcc with AddressSanitizer and UndefinedBehaviorSanitizer, --werror: unit, sim, fuzz
#   build-tsan/      gcc with ThreadSanitizer, --werror: the serving threads' unit tests and the
#                    serving integration tests (a report fails the test that saw it)
#   build-fuzz/      clang, libFuzzer and the same sanitizers: the fuzz suite, then FUZZ_SECONDS
#                    (default 30) of fuzzing per target, all targets at once
#
# FUZZ_SECONDS=0 leaves the libFuzzer build out. Installs nothing: see tools/install-deps.sh.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
PYTHON3=/usr/bin/python3
SANITIZE_OPTIONS="-Db_sanitize=address,undefined -Db_lundef=false"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
TSAN_SETUP_OPTIONS="-Db_sanitize=thread -Db_lundef=false"
# The daemon goes on after a report (the harness finds it in its stderr); a unit test exits 66.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=0:second_deadlock_stack=1}
# What runs on more than one thread: the serving threads and what they share.
TSAN_TESTS="test-ntp-server-shared test-ratelimit test-server test-nts-server test-nts-server-keys
            test-serve test-flood test-restrict-serve test-serve-threads test-xleave-serve"

passed=0
failed=0
skipped=0

step() {
        echo
        echo "=== $*"
}

record_failure() {
        echo "FAILED: $*"
        failed=$((failed + 1))
}

# meson setup, or reconfigure with these options when the directory was set up before.
configure() {
        local dir=$1
        shift
        if [ -f "$dir/build.ninja" ]; then
                meson setup --reconfigure "$dir" "$@"
        else
                meson setup "$dir" "$@"
        fi
}

# Adds the results in DIR/meson-logs/testlog.json to the totals.
count_results() {
        local counts ok bad skip
        counts=$("$PYTHON3" - "$1/meson-logs/testlog.json" <<'EOF'
import json, sys

ok = bad = skip = 0
try:
    with open(sys.argv[1]) as log:
        for line in log:
            result = json.loads(line)["result"]
            if result in ("OK", "EXPECTEDFAIL"):
                ok += 1
            elif result == "SKIP":
                skip += 1
            else:
                bad += 1
except FileNotFoundError:
    pass
print(ok, bad, skip)
EOF
)
        read -r ok bad skip <<<"$counts"
        echo "--- $1: $ok passed, $bad failed, $skip skipped"
        passed=$((passed + ok))
        failed=$((failed + bad))
        skipped=$((skipped + skip))
}

# build_and_test DIR "SETUP OPTIONS" [meson test options...]
# Returns non-zero only when the build failed (and counts that as a failure); test results are counted.
build_and_test() {
        local dir=$1 setup_options=$2
        shift 2
        # shellcheck disable=SC2086 # the options are words
        configure "$dir" $setup_options || { record_failure "meson setup $dir"; return 1; }
        ninja -C "$dir" || { record_failure "build of $dir"; return 1; }
        rm -f "$dir/meson-logs/testlog.json"
        meson test -C "$dir" --no-rebuild --print-errorlogs "$@" || true
        count_results "$dir"
}

# Runs one libFuzzer binary for FUZZ_SECONDS on a scratch copy of its seed corpus.
fuzz_one() {
        local target=$1 dir=build-fuzz/fuzzing/$1
        rm -rf "$dir"
        mkdir -p "$dir/corpus" "$dir/artifacts"
        build-fuzz/tests/fuzz/"$target" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
                -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
                "$dir/corpus" tests/fuzz/corpus/"$target" >"$dir/log" 2>&1
}

fuzz_all() {
        local targets=() pids=() corpus target i
        for corpus in tests/fuzz/corpus/*/; do
                targets+=("$(basename "$corpus")")
        done
        for target in "${targets[@]}"; do
                fuzz_one "$target" &
                pids+=($!)
        done
        for i in "${!targets[@]}"; do
                local dir=build-fuzz/fuzzing/${targets[$i]}
                target=${targets[$i]}
                if wait "${pids[$i]}"; then
                        echo "--- $target: $(grep -m1 -o 'stat::number_of_executed_units: [0-9]*' "$dir/log" || echo 'ran'), no crash"
                        passed=$((passed + 1))
                else
                        tail -n 40 "$dir/log"
                        record_failure "fuzzing $target: see $dir/log and $dir/artifacts/"
                fi
        done
}

step "build/: gcc, --werror, all suites"
# --prefix=/usr: the booted-system test (tests/system) installs this build into a Debian system.
build_and_test build "--werror --prefix=/usr" || true

step "build-sanitize/: gcc, ASan + UBSan, --werror: unit, sim, fuzz"
build_and_test build-sanitize "--werror $SANITIZE_OPTIONS" --suite unit --suite sim --suite fuzz || true

step "build-tsan/: gcc, ThreadSanitizer, --werror: serving threads (unit and integration)"
# shellcheck disable=SC2086 # the test names are words
build_and_test build-tsan "--werror $TSAN_SETUP_OPTIONS" $TSAN_TESTS || true

if [ "$FUZZ_SECONDS" -gt 0 ]; then
        step "build-fuzz/: clang, libFuzzer + ASan + UBSan: fuzz suite, then ${FUZZ_SECONDS} s per target"
        if CC=clang build_and_test build-fuzz "--werror -Dfuzzing=true $SANITIZE_OPTIONS" --suite fuzz; then
                fuzz_all
        fi
fi

if [ $((passed + failed)) -eq 0 ]; then
        record_failure "no test ran"
fi

echo
[ "$skipped" -eq 0 ] || echo "($skipped skipped)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
