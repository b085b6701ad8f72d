#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds ntpsync and runs every scenario of the simulator over seeds 1-20 (SEEDS=A-B to change):
# the real engine in virtual time against a modelled clock, network and servers, with how fast it
# synchronizes and how closely it then holds the clock. Needs tools/install-deps.sh's packages.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
seeds=${SEEDS:-1-20}
sim=build/tests/sim/ntpsync-sim

[ -f build/build.ninja ] || meson setup build --werror
ninja -C build tests/sim/ntpsync-sim

mapfile -t scenarios < <("$sim" --list)
[ "${#scenarios[@]}" -gt 0 ] || { echo "demo: ntpsync-sim --list named no scenario" >&2; exit 1; }
failed=0
for line in "${scenarios[@]}"; do
        name=${line%% *}
        [ -n "$name" ] || continue
        echo
        echo "== $line"
        "$sim" --scenario "$name" --seeds "$seeds" </dev/null || { echo "(ntpsync-sim exited with $?)"; failed=$((failed + 1)); }
done
echo
echo "${#scenarios[@]} scenarios, seeds $seeds, $failed failed to run"
[ "$failed" -eq 0 ]
