#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Idle cost of a client with four sources, ntpsyncd next to chronyd in the same run: resident
# memory (PSS and private, from /proc/PID/smaps_rollup) and wake-ups per minute (voluntary context
# switches while idle).
#
# Everything runs in a network namespace of its own: NTPsec's ntpd (unpacked by
# tests/integration/setup-peers.sh) serves time on four addresses of 192.0.2.0/24, and both
# clients poll those four. The server is neither client's program, so that it shares no library
# pages with one of them: PSS charges shared pages to the processes that share them. Nothing may
# set the clock (chronyd -x, ntpsyncd --clock observe, ntpd without CAP_SYS_TIME).
# Usage: bench/idle.sh [BUILD_DIR] [SECONDS]
set -euo pipefail

build=${1:-build}
window=${2:-120}
settle=${SETTLE:-30}
ntpsyncd=$(realpath "$build/src/daemon/ntpsyncd")
ns=ntpsync-bench-$$
dir=$(mktemp -d /tmp/ntpsync-bench.XXXXXX)
pids=()

cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
        rm -rf "$dir"
}
trap cleanup EXIT

in_ns() { ip netns exec "$ns" "$@"; }

ip netns add "$ns"
in_ns ip link set lo up
for i in 1 2 3 4; do in_ns ip addr add 192.0.2.$i/32 dev lo; done

eval "$(bash "$(dirname "$0")/../tests/integration/setup-peers.sh")"
cat >"$dir/server.conf" <<CONF
tos orphan 1 orphanwait 0
driftfile $dir/server.drift
CONF
# NTPsec's ntpd sets the clock at start unless it may not: no CAP_SYS_TIME for it.
ip netns exec "$ns" env LD_LIBRARY_PATH="${NTPSEC_LD_LIBRARY_PATH:-}" \
        setpriv --bounding-set -sys_time --inh-caps -sys_time \
        "$NTPD" -n -c "$dir/server.conf" -p "$dir/server.pid" >"$dir/server.log" 2>&1 &
pids+=($!)
sleep 2

{
        for i in 1 2 3 4; do echo "server 192.0.2.$i iburst"; done
        echo "port 0"
        echo "cmdport 0"
        echo "pidfile $dir/client.pid"
        echo "driftfile $dir/client.drift"
} >"$dir/chrony-client.conf"
ip netns exec "$ns" chronyd -x -d -f "$dir/chrony-client.conf" >"$dir/chrony-client.log" 2>&1 &
chrony_pid=$!
pids+=($chrony_pid)

for i in 1 2 3 4; do echo "server 192.0.2.$i iburst"; done >"$dir/ntpsyncd.conf"
mkdir "$dir/state"
ip netns exec "$ns" "$ntpsyncd" --clock observe --config "$dir/ntpsyncd.conf" --timesyncd-conf= --state-dir "$dir/state" >"$dir/ntpsyncd.log" 2>&1 &
ntpsyncd_pid=$!
pids+=($ntpsyncd_pid)

# `ip netns exec` execs the command (no subshell here): the PIDs are the daemons'.
sleep "$settle"

pss_kb() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup"; }
private_kb() { awk '/^Private_(Clean|Dirty):/ { n += $2 } END { print n }' "/proc/$1/smaps_rollup"; }
switches() { awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$1/status"; }

c0=$(switches $chrony_pid); n0=$(switches $ntpsyncd_pid)
sleep "$window"
c1=$(switches $chrony_pid); n1=$(switches $ntpsyncd_pid)

c_pss=$(pss_kb $chrony_pid); n_pss=$(pss_kb $ntpsyncd_pid)
c_priv=$(private_kb $chrony_pid); n_priv=$(private_kb $ntpsyncd_pid)
c_wake=$(awk -v a="$c0" -v b="$c1" -v w="$window" 'BEGIN { printf "%.1f", (b - a) * 60 / w }')
n_wake=$(awk -v a="$n0" -v b="$n1" -v w="$window" 'BEGIN { printf "%.1f", (b - a) * 60 / w }')

printf '%-10s %10s %14s %14s\n' "" "PSS (KiB)" "private (KiB)" "wake-ups/min"
printf '%-10s %10s %14s %14s\n' chronyd "$c_pss" "$c_priv" "$c_wake"
printf '%-10s %10s %14s %14s\n' ntpsyncd "$n_pss" "$n_priv" "$n_wake"
awk -v a="$n_pss" -v b="$c_pss" -v p="$n_priv" -v q="$c_priv" -v c="$n_wake" -v d="$c_wake" \
        'BEGIN { printf "ratio ntpsyncd/chronyd: PSS %.2f, private %.2f, wake-ups %.2f\n", a / b, p / q, (d > 0 ? c / d : 0) }'
echo "(idle window ${window} s after ${settle} s of start-up; four sources each, minpoll 6)"
