#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# NTS serving throughput: the highest rate of authenticated responses per second at less than 1 %
# loss, and the NTS-KE handshakes per second, for ntpsyncd and chronyd one after the other on the
# same setup in one run (serve-throughput.sh for plain NTP; the same namespaces, pinning, steps,
# loss criterion and rounds).
#
# Two network namespaces joined by a veth pair (192.0.2.1 server, 192.0.2.2 load generator); the
# server pinned to one core (SERVER_CPU, default 1), bench/ntsload to another (LOAD_CPU, default
# 0), each veth end's receive processing steered (RPS) to the core of the process that reads it.
# Both servers get the same certificate, ECDSA P-256 made by tests/integration/nts_certs.py for
# the name nts.test (and 192.0.2.1), signed by a CA the generator trusts.
#
# Authenticated responses: ntsload does one NTS-KE, then sends open loop at each rate of RATES for
# STEP_SECONDS requests with one cookie (of the eight, in turn) and no placeholders, and checks
# every reply (from the server, mode 4, its request's Unique Identifier, origin = the request's
# transmit timestamp, authenticator verified with the S2C key, a new cookie in it). The steps go
# up as in serve-throughput.sh: a step that loses 1 % or more is tried again, the first rate that
# fails twice ends the climb after its midpoint to the last clean rate was tried; a generator that
# cannot keep up makes the figure a lower bound (">="). Any reply that fails a check ends the run.
#
# NTS-KE: ntsload --ke-only keeps KE_PARALLEL key establishments under way for KE_SECONDS (TLS 1.3
# with the certificate verified, keys exported, cookies received) and counts the completed ones.
# A TLS client costs about as much as a TLS server (key exchange both sides, and the signature
# checks of the certificate here), so one generator core may not be able to keep one server core
# busy: the server's CPU time (user and system of all its processes and threads; chronyd answers
# NTS-KE in a helper process) is measured too, and the handshakes per second of server CPU time
# are shown: what one core of it would complete when saturated. That figure is tick-sampled and
# leaves out softirq work that ran while the server's core was idle: indicative only.
#
#   ntpsyncd  --clock observe, `serve on`, `restrict default`, `local stratum 10`, `nts enable`,
#             `nts cert`, `nts key` (server keys made fresh in a private state directory)
#   chronyd   -x (never touches the clock), `allow all`, `local stratum 1`, no ratelimit,
#             `ntsservercert`, `ntsserverkey`, `ntsdumpdir` and the command socket in a private
#             0700 directory, `cmdport 0`, its default NTS-KE helper process
#
# Socket buffers: ntpsyncd sets 8 MiB itself; chronyd's port 123 sockets get the same through
# bench/sockbuf-preload.so (SOCKBUF=0: its defaults). Nothing here can change the clock; all
# traffic stays in the namespaces.
#
# Usage: bench/nts-serve-throughput.sh [BUILD_DIR]   (as root; about 3-4 minutes)
#   env: RATES="20000 30000 ...", STEP_SECONDS=3, SERVER_CPU=1, LOAD_CPU=0, SOCKBUF=8388608,
#        SERVERS="ntpsyncd chronyd", RETRIES=1, ROUNDS=2 (each server measured that often, in
#        turn; its best round counts), KE_SECONDS=4, KE_PARALLEL=8
set -euo pipefail

here=$(dirname "$(realpath "$0")")
build=$(realpath "${1:-$here/../build}")
rates=${RATES:-"20000 30000 40000 50000 60000 70000 80000 90000 100000 120000 150000 200000"}
step_seconds=${STEP_SECONDS:-3}
server_cpu=${SERVER_CPU:-1}
load_cpu=${LOAD_CPU:-0}
sockbuf=${SOCKBUF:-8388608}
servers=${SERVERS:-"ntpsyncd chronyd"}
retries=${RETRIES:-1}
rounds=${ROUNDS:-2}
ke_seconds=${KE_SECONDS:-4}
ke_parallel=${KE_PARALLEL:-8}
cpu_rate=20000 # the server's CPU time is compared at this rate (one of RATES)
host=nts.test
server_address=192.0.2.1

ntpsyncd=$build/src/daemon/ntpsyncd
ntsload=$build/bench/ntsload
shim=$build/bench/sockbuf-preload.so
for f in "$ntpsyncd" "$ntsload" "$shim"; do
        [ -e "$f" ] || { echo "nts-serve-throughput: $f missing (ninja -C $build)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "nts-serve-throughput: needs root (network namespaces)" >&2; exit 1; }
chronyd=$(command -v chronyd || echo /usr/sbin/chronyd)
no_sys_time=(setpriv --bounding-set -sys_time --inh-caps -sys_time)

ns_srv=ntpsync-ntstput-$$-s
ns_load=ntpsync-ntstput-$$-l
dir=$(mktemp -d /tmp/ntpsync-ntstput.XXXXXX)
server_pid=

cleanup() {
        if [ -n "$server_pid" ]; then
                kill "$server_pid" 2>/dev/null || true
                wait "$server_pid" 2>/dev/null || true
        fi
        ip netns del "$ns_srv" 2>/dev/null || true
        ip netns del "$ns_load" 2>/dev/null || true
        rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

cpu_mask() { printf '%x' $((1 << $1)); }

ip netns add "$ns_srv"
ip netns add "$ns_load"
ip link add eth0 netns "$ns_srv" type veth peer name eth0 netns "$ns_load"
ip -n "$ns_srv" addr add "$server_address/24" dev eth0
ip -n "$ns_load" addr add 192.0.2.2/24 dev eth0
for ns in "$ns_srv" "$ns_load"; do
        ip -n "$ns" link set lo up
        ip -n "$ns" link set eth0 up
done
ip netns exec "$ns_srv" sh -c "echo $(cpu_mask "$server_cpu") > /sys/class/net/eth0/queues/rx-0/rps_cpus"
ip netns exec "$ns_load" sh -c "echo $(cpu_mask "$load_cpu") > /sys/class/net/eth0/queues/rx-0/rps_cpus"
# Thousands of NTS-KE connections a second: all the ports, and those in TIME_WAIT reused (these
# settings belong to the generator's namespace only).
ip netns exec "$ns_load" sysctl -q -w net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1

mkdir -m 0700 "$dir/pki"
read -r chain key ca < <(python3 - "$here/../tests/integration" "$dir/pki" "$host" "$server_address" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import nts_certs
pki = nts_certs.Pki(sys.argv[2])
chain, key = pki.server([sys.argv[3], sys.argv[4]])
print(chain, key, pki.ca)
EOF
)

load() {
        taskset -c "$load_cpu" ip netns exec "$ns_load" "$ntsload" --host "$host" --server "$server_address" \
                --ca "$ca" "$@"
}
field() { python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(d[sys.argv[2]])' "$1" "$2"; }

start_server() {
        local name=$1 preload=()
        [ "$sockbuf" -gt 0 ] && preload=(env "LD_PRELOAD=$shim" "NTPSYNC_BENCH_SOCKBUF=$sockbuf")
        rm -rf "$dir/$name"
        mkdir -m 0700 "$dir/$name"
        case "$name" in
        ntpsyncd)
                printf '%s\n' "serve on" "restrict default" "local stratum 10" "nts enable" "nts cert $chain" \
                        "nts key $key" >"$dir/$name/ntpsyncd.conf"
                DBUS_SYSTEM_BUS_ADDRESS=unix:path=$dir/no-bus taskset -c "$server_cpu" ip netns exec "$ns_srv" \
                        "${no_sys_time[@]}" "$ntpsyncd" --clock observe --config "$dir/$name/ntpsyncd.conf" --timesyncd-conf= \
                        --state-dir "$dir/$name" >"$dir/$name.log" 2>&1 &
                ;;
        chronyd)
                mkdir -m 0700 "$dir/$name/nts"
                printf '%s\n' "local stratum 1" "allow all" "cmdport 0" "bindcmdaddress $dir/$name/chronyd.sock" \
                        "pidfile $dir/$name/chronyd.pid" "driftfile $dir/$name/chronyd.drift" \
                        "ntsservercert $chain" "ntsserverkey $key" "ntsdumpdir $dir/$name/nts" >"$dir/$name/chrony.conf"
                taskset -c "$server_cpu" ip netns exec "$ns_srv" "${preload[@]}" "${no_sys_time[@]}" \
                        "$chronyd" -x -d -u root -f "$dir/$name/chrony.conf" >"$dir/$name.log" 2>&1 &
                ;;
        esac
        server_pid=$!
        # Ready when a key establishment succeeds and an authenticated request is answered as
        # synchronized.
        for _ in $(seq 60); do
                local out
                if out=$(load -r 20 -d 0.25 -w 0.25 -P 1 2>/dev/null) && [ "$(field "$out" replies)" -gt 0 ]; then
                        return 0
                fi
                kill -0 "$server_pid" 2>/dev/null || break
                sleep 0.5
        done
        echo "nts-serve-throughput: $name not answering NTS as synchronized:" >&2
        load -r 20 -d 0.25 -w 0.25 -P 1 >&2 || true
        cat "$dir/$name.log" >&2
        exit 1
}

stop_server() {
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
        sleep 0.5
}

# The server and its processes (chronyd's NTS-KE helper is a child), by PID.
server_pids() {
        local pid=$1 child
        echo "$pid"
        for child in $(ps -o pid= --ppid "$pid"); do
                server_pids "$child"
        done
}
# utime + stime of all of them (all threads), in clock ticks.
cpu_ticks() {
        local pid total=0 ticks
        for pid in $(server_pids "$server_pid"); do
                ticks=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null) || continue
                total=$((total + ticks))
        done
        echo "$total"
}
percent() { python3 -c "print('%.0f' % (($2 - $1) / $(getconf CLK_TCK) / ($3) * 100))"; }

# One step: prints a line, sets step_rps, step_ok (loss < 1 %) and step_limited (the generator
# could not send at the rate asked).
step() {
        local name=$1 rate=$2 out loss achieved bad t0 t1
        t0=$(cpu_ticks)
        out=$(load -r "$rate" -d "$step_seconds" -w 0.5)
        t1=$(cpu_ticks)
        step_cpu=$(percent "$t0" "$t1" "$step_seconds + 0.5")
        loss=$(field "$out" loss)
        step_rps=$(field "$out" replies_per_second)
        achieved=$(field "$out" achieved_rate)
        bad=$(python3 -c 'import json, sys; d = json.loads(sys.argv[1])
print(sum(d[k] for k in ("invalid", "unmatched", "duplicates", "wrong_sender", "bad_origin", "auth_failed",
                         "naks", "kods", "unsynchronized")))' "$out")
        printf '  %-9s target %7d/s  sent %7.0f/s  authenticated replies %7.0f/s  loss %6.2f %%  bad %s  server CPU %3d %%\n' \
                "$name" "$rate" "$achieved" "$step_rps" "$(python3 -c "print($loss * 100)")" "$bad" "$step_cpu"
        if [ "$bad" -ne 0 ]; then
                echo "nts-serve-throughput: $name sent replies that failed a check: $out" >&2
                exit 1
        fi
        step_ok=$(python3 -c "print(1 if $loss < 0.01 else 0)")
        step_limited=$(python3 -c "print(1 if $achieved < 0.98 * $rate else 0)")
        if [ "$rate" -eq "$cpu_rate" ] && [ "$step_ok" -eq 1 ]; then
                cpu_at[$name]="$step_cpu %"
        fi
}

# Key establishments for KE_SECONDS: sets ke_rate (completed per second) and ke_per_cpu
# (completed per second of the server's CPU time).
ke_step() {
        local name=$1 out t0 t1 completed failed server_seconds load_cpu_percent
        t0=$(cpu_ticks)
        out=$(load --ke-only -d "$ke_seconds" -j "$ke_parallel")
        t1=$(cpu_ticks)
        completed=$(field "$out" completed)
        failed=$(field "$out" failed)
        ke_rate=$(field "$out" handshakes_per_second)
        server_seconds=$(python3 -c "print(($t1 - $t0) / $(getconf CLK_TCK))")
        ke_per_cpu=$(python3 -c "print('%.0f' % ($completed / $server_seconds if $server_seconds > 0 else 0))")
        load_cpu_percent=$(python3 -c "print('%.0f' % ($(field "$out" cpu_seconds) / $ke_seconds * 100))")
        printf '  %-9s NTS-KE  %7.0f handshakes/s  failed %s  server CPU %3d %%  ntsload CPU %3d %%  = %s handshakes per server CPU-second\n' \
                "$name" "$ke_rate" "$failed" "$(percent "$t0" "$t1" "$ke_seconds")" "$load_cpu_percent" "$ke_per_cpu"
        if [ "$failed" -ne 0 ] || [ "$completed" -eq 0 ]; then
                echo "nts-serve-throughput: $name failed key establishments: $out" >&2
                exit 1
        fi
}

declare -A cpu_at cpu_best peak ke_best ke_cpu_best
measure() {
        local name=$1 best=0 bound="" last_good=0 rate try
        start_server "$name"
        # Threads and all: every thread of the server on its core.
        taskset -a -p -c "$server_cpu" "$server_pid" >/dev/null 2>&1 || true
        load -r 1000 -d 0.5 >/dev/null # warm-up
        for rate in $rates; do
                for try in $(seq $((retries + 1))); do
                        step "$name" "$rate"
                        [ "$step_ok" -eq 1 ] && break
                done
                if [ "$step_ok" -eq 0 ]; then
                        if [ "$last_good" -gt 0 ]; then
                                local mid=$(((last_good + rate) / 2))
                                for try in $(seq $((retries + 1))); do
                                        step "$name" "$mid"
                                        [ "$step_ok" -eq 1 ] && break
                                done
                                [ "$step_ok" -eq 1 ] && best=$step_rps
                        fi
                        break
                fi
                best=$step_rps
                last_good=$rate
                if [ "$step_limited" -eq 1 ]; then
                        bound=">="
                        echo "  (the load generator cannot send faster: $name's figure is a lower bound)"
                        break
                fi
        done
        ke_step "$name"
        kill -0 "$server_pid" 2>/dev/null || { echo "nts-serve-throughput: $name died" >&2; cat "$dir/$name.log" >&2; exit 1; }
        stop_server
        # The best round counts: other work on the machine only ever makes a server look worse.
        if greater "$best" "${peak[$name]:-0}"; then
                peak[$name]="$bound$best"
                cpu_best[$name]=${cpu_at[$name]:-}
        fi
        greater "$ke_rate" "${ke_best[$name]:-0}" && ke_best[$name]=$ke_rate
        greater "$ke_per_cpu" "${ke_cpu_best[$name]:-0}" && ke_cpu_best[$name]=$ke_per_cpu
        return 0
}
greater() { python3 -c "import sys; sys.exit(0 if float('${1#>=}') > float('${2#>=}') else 1)"; }
ratio() {
        python3 -c 'import sys; a, b = (float(x.lstrip(">=")) for x in sys.argv[1:]); print("%.2f" % (a / b) if b else "n/a")' "$1" "$2"
}

echo "nts-serve-throughput: $(nproc) cores, server on CPU $server_cpu, ntsload on CPU $load_cpu," \
        "$step_seconds s per step, NTS-KE $ke_seconds s with $ke_parallel at a time, $rounds rounds," \
        "socket buffers $([ "$sockbuf" -gt 0 ] && echo "$sockbuf B" || echo default)"
order=($servers)
for round in $(seq "$rounds"); do
        echo "round $round of $rounds"
        for s in "${order[@]}"; do
                unset "cpu_at[$s]"
                measure "$s"
        done
        order=("${order[@]:1}" "${order[0]}") # another server goes first next round
done

echo
printf '%-10s %28s  %20s  %18s  %26s\n' server "authenticated responses/s" "server CPU at $cpu_rate/s" \
        "NTS-KE handshakes/s" "handshakes/server CPU-second"
for s in $servers; do
        printf '%-10s %28s  %20s  %18s  %26s\n' "$s" "${peak[$s]}" "${cpu_best[$s]:-n/a}" "${ke_best[$s]}" "${ke_cpu_best[$s]}"
done
if [ -n "${peak[ntpsyncd]:-}" ] && [ -n "${peak[chronyd]:-}" ]; then
        echo "ratio ntpsyncd/chronyd: authenticated responses $(ratio "${peak[ntpsyncd]}" "${peak[chronyd]}")," \
                "NTS-KE handshakes $(ratio "${ke_best[ntpsyncd]}" "${ke_best[chronyd]}")," \
                "per server CPU-second $(ratio "${ke_cpu_best[ntpsyncd]}" "${ke_cpu_best[chronyd]}")"
fi
exit 0
