#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs ntpsync-sim as a user would: the scenario list, one JSON run, and bad arguments.
# Usage: check-cli.sh NTPSYNC_SIM PYTHON3
set -eu

sim=$1
python3=$2

fail() {
        echo "check-cli: $*" >&2
        exit 1
}

list=$("$sim" --list)
echo "$list" | grep -q '^lan-default ' || fail "--list does not name lan-default"
echo "$list" | grep -q '^era-2036 ' || fail "--list does not name era-2036"

json=$("$sim" --scenario lan-default --json)
echo "$json" | "$python3" -c '
import json, sys
run = json.load(sys.stdin)
for key in ("sync_time", "rms_offset", "max_offset", "rms_freq_ppm", "steps", "packets", "synchronized"):
    assert key in run, "missing key " + key
assert run["packets"] > 0, "no packets sent"
' || fail "--scenario lan-default --json: not the expected JSON: $json"

json=$("$sim" --scenario lan-default --seeds 1-2 --json)
echo "$json" | "$python3" -c '
import json, sys
runs = json.load(sys.stdin)
for key in ("sync_time", "rms_offset", "max_offset", "rms_freq_ppm", "steps", "packets"):
    assert set(runs[key]) == {"min", "median", "max"}, key
' || fail "--seeds 1-2 --json: not the expected JSON: $json"

for args in "--scenario no-such-scenario" "--scenario" "--seeds 5-1 --scenario lan-default" \
            "--seed x --scenario lan-default" "--bogus" "" "--list extra"; do
        status=0
        # shellcheck disable=SC2086 # word splitting wanted
        "$sim" $args >/dev/null 2>&1 || status=$?
        [ "$status" -eq 2 ] || fail "'ntpsync-sim $args' exited with $status, expected 2"
done

echo "ok"
