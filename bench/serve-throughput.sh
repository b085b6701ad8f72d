#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Serving throughput: the highest rate of correct responses per second at less than 1 % loss,
# for ntpsyncd, chronyd and NTPsec's ntpd, one after the other on the same setup in one run.
#
# Two network namespaces joined by a veth pair (192.0.2.1 server, 192.0.2.2 load generator).
# The server runs pinned to one core (SERVER_CPU, default 1), bench/ntpload to another (LOAD_CPU,
# default 0), and each veth end's receive processing is steered (RPS) to the core of the process
# that reads it, so that each side pays for the packets it receives, as on two machines.
# ntpload sends open loop at each rate of RATES for STEP_SECONDS and checks every reply (origin
# = the request's transmit timestamp, from the server's address and port, mode 4, version 4,
# timestamps set, synchronized); the steps go up until the loss reaches 1 % twice in a row at
# one rate (then the midpoint to the last clean rate is tried), or the generator cannot keep up
# (then the figure is a lower bound, marked ">="). The server's own CPU time (user and system,
# from /proc/PID/stat) is shown per step and compared at 100000/s: on a veth pair most of the
# cost of a response is the kernel's (receive softirq, UDP send), which no server can avoid, and
# the figures are tick-sampled and include softirq work that happens to run in the server's
# context: indicative only.
#
#   ntpsyncd  --clock observe, `serve on`, `restrict default` (no limited), `local stratum 10`
#   chronyd   -x (never touches the clock), `allow all`, `local stratum 1`, no ratelimit
#   ntpd      NTPsec under setpriv without CAP_SYS_TIME, orphan mode (stratum 1), its built-in
#             `limited noquery` default lifted (`unrestrict default limited noquery`)
#
# Socket buffers: ntpsyncd sets 8 MiB itself; chronyd and ntpd cannot be told, so their port 123
# sockets get the same through an LD_PRELOAD shim (bench/sockbuf-preload.so; SOCKBUF=0 to
# leave their defaults). Nothing here can change the clock; all traffic stays in the namespaces.
#
# Usage: bench/serve-throughput.sh [BUILD_DIR]   (as root; about 3-5 minutes)
#   env: RATES="50000 100000 ...", STEP_SECONDS=3, SERVER_CPU=1, LOAD_CPU=0, SOCKBUF=8388608,
#        SERVERS="ntpsyncd chronyd ntpd", RETRIES=1 (more tries of a step that lost >= 1 %),
#        ROUNDS=2 (each server measured that often, in turn; its best round counts)
set -euo pipefail

here=$(dirname "$(realpath "$0")")
build=$(realpath "${1:-$here/../build}")
rates=${RATES:-"50000 100000 150000 200000 250000 300000 350000 400000 500000 600000 800000 1000000"}
step_seconds=${STEP_SECONDS:-3}
server_cpu=${SERVER_CPU:-1}
load_cpu=${LOAD_CPU:-0}
sockbuf=${SOCKBUF:-8388608}
servers=${SERVERS:-"ntpsyncd chronyd ntpd"}
retries=${RETRIES:-1}
rounds=${ROUNDS:-2}
cpu_rate=100000 # the server's CPU time is compared at this rate (one of RATES)

ntpsyncd=$build/src/daemon/ntpsyncd
ntpload=$build/bench/ntpload
shim=$build/bench/sockbuf-preload.so
for f in "$ntpsyncd" "$ntpload" "$shim"; do
        [ -e "$f" ] || { echo "serve-throughput: $f missing (ninja -C $build)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "serve-throughput: needs root (network namespaces)" >&2; exit 1; }
chronyd=$(command -v chronyd || echo /usr/sbin/chronyd)
ntpd=$(bash "$here/../tests/integration/setup-peers.sh" | sed -n 's/^NTPD=//p')
no_sys_time=(setpriv --bounding-set -sys_time --inh-caps -sys_time)

ns_srv=ntpsync-tput-$$-s
ns_load=ntpsync-tput-$$-l
dir=$(mktemp -d /tmp/ntpsync-tput.XXXXXX)
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
ip -n "$ns_srv" addr add 192.0.2.1/24 dev eth0
ip -n "$ns_load" addr add 192.0.2.2/24 dev eth0
for ns in "$ns_srv" "$ns_load"; do
        ip -n "$ns" link set lo up
        ip -n "$ns" link set eth0 up
done
ip netns exec "$ns_srv" sh -c "echo $(cpu_mask "$server_cpu") > /sys/class/net/eth0/queues/rx-0/rps_cpus"
ip netns exec "$ns_load" sh -c "echo $(cpu_mask "$load_cpu") > /sys/class/net/eth0/queues/rx-0/rps_cpus"

load() { taskset -c "$load_cpu" ip netns exec "$ns_load" "$ntpload" -s 192.0.2.1 "$@"; }
field() { python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(d[sys.argv[2]])' "$1" "$2"; }

start_server() {
        local name=$1 preload=()
        [ "$sockbuf" -gt 0 ] && preload=(env "LD_PRELOAD=$shim" "NTPSYNC_BENCH_SOCKBUF=$sockbuf")
        case "$name" in
        ntpsyncd)
                mkdir -p "$dir/state"
                printf '%s\n' "serve on" "restrict default" "local stratum 10" >"$dir/ntpsyncd.conf"
                DBUS_SYSTEM_BUS_ADDRESS=unix:path=$dir/no-bus taskset -c "$server_cpu" ip netns exec "$ns_srv" \
                        "${no_sys_time[@]}" "$ntpsyncd" --clock observe --config "$dir/ntpsyncd.conf" --timesyncd-conf= \
                        --state-dir "$dir/state" >"$dir/$name.log" 2>&1 &
                ;;
        chronyd)
                printf '%s\n' "local stratum 1" "allow all" "cmdport 0" "pidfile $dir/chronyd.pid" \
                        "driftfile $dir/chronyd.drift" >"$dir/chrony.conf"
                taskset -c "$server_cpu" ip netns exec "$ns_srv" "${preload[@]}" "${no_sys_time[@]}" \
                        "$chronyd" -x -d -u root -f "$dir/chrony.conf" >"$dir/$name.log" 2>&1 &
                ;;
        ntpd)
                # NTPsec's built-in default restriction is "limited noquery" (since 1.1.9):
                # lifted, as `restrict default` is for the other two.
                printf '%s\n' "tos orphan 1 orphanwait 0" "unrestrict default limited noquery" \
                        "unrestrict -6 default limited noquery" "driftfile $dir/ntpd.drift" >"$dir/ntp.conf"
                taskset -c "$server_cpu" ip netns exec "$ns_srv" "${preload[@]}" "${no_sys_time[@]}" \
                        "$ntpd" -n -c "$dir/ntp.conf" -p "$dir/ntpd.pid" >"$dir/$name.log" 2>&1 &
                ;;
        esac
        server_pid=$!
        # Ready when it answers as synchronized.
        for _ in $(seq 60); do
                local out
                out=$(load -r 20 -d 0.25 -w 0.25 -P 1)
                if [ "$(field "$out" replies)" -gt 0 ]; then
                        return 0
                fi
                kill -0 "$server_pid" 2>/dev/null || break
                sleep 0.5
        done
        echo "serve-throughput: $name not answering as synchronized:" >&2
        cat "$dir/$name.log" >&2
        exit 1
}

stop_server() {
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
        sleep 0.5
}

# One step: prints a line, sets step_rps, step_ok (loss < 1 %) and step_limited (the generator
# could not send at the rate asked).
# utime and stime of the server (all threads), in clock ticks.
cpu_ticks() { awk '{ print $14, $15 }' "/proc/$server_pid/stat"; }
percent() { python3 -c "print('%.0f' % (($2 - $1) / $(getconf CLK_TCK) / ($step_seconds + 0.5) * 100))"; }
step() {
        local name=$1 rate=$2 out loss achieved bad u0 s0 u1 s1
        read -r u0 s0 < <(cpu_ticks)
        out=$(load -r "$rate" -d "$step_seconds" -w 0.5)
        read -r u1 s1 < <(cpu_ticks)
        step_user=$(percent "$u0" "$u1")
        step_sys=$(percent "$s0" "$s1")
        loss=$(field "$out" loss)
        step_rps=$(field "$out" replies_per_second)
        achieved=$(field "$out" achieved_rate)
        bad=$(python3 -c 'import json, sys; d = json.loads(sys.argv[1])
print(sum(d[k] for k in ("invalid", "unmatched", "duplicates", "wrong_sender", "unsynchronized", "kods")))' "$out")
        printf '  %-9s target %7d/s  sent %7.0f/s  replies %7.0f/s  loss %6.2f %%  bad %s  server CPU user %2d %% sys %2d %%\n' \
                "$name" "$rate" "$achieved" "$step_rps" "$(python3 -c "print($loss * 100)")" "$bad" "$step_user" "$step_sys"
        if [ "$bad" -ne 0 ]; then
                echo "serve-throughput: $name sent incorrect replies: $out" >&2
                exit 1
        fi
        step_ok=$(python3 -c "print(1 if $loss < 0.01 else 0)")
        step_limited=$(python3 -c "print(1 if $achieved < 0.98 * $rate else 0)")
        if [ "$rate" -eq "$cpu_rate" ] && [ "$step_ok" -eq 1 ]; then
                cpu_at[$name]="$((step_user + step_sys)) %"
        fi
}

declare -A cpu_at
# A step that loses 1 % or more is tried again (other work on the machine can get in the way
# once); the next rate is only tried after a clean step. After the first rate that fails twice,
# the midpoint between it and the last clean one is tried too.
declare -A peak
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
        kill -0 "$server_pid" 2>/dev/null || { echo "serve-throughput: $name died" >&2; cat "$dir/$name.log" >&2; exit 1; }
        stop_server
        # The best round counts: other work on the machine only ever makes a server look worse.
        local previous=${peak[$name]:-0}
        if python3 -c "import sys; sys.exit(0 if $best > float('${previous#>=}') else 1)"; then
                peak[$name]="$bound$best"
                cpu_best[$name]=${cpu_at[$name]:-}
        fi
}

echo "serve-throughput: $(nproc) cores, server on CPU $server_cpu, ntpload on CPU $load_cpu," \
        "$step_seconds s per step, $rounds rounds, socket buffers $([ "$sockbuf" -gt 0 ] && echo "$sockbuf B" || echo default)"
declare -A cpu_best
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
printf '%-10s %22s   %s\n' server "responses/s (<1% loss)" "server CPU at $cpu_rate/s (of one core)"
for s in $servers; do
        printf '%-10s %22s   %s\n' "$s" "${peak[$s]}" "${cpu_best[$s]:-n/a}"
done
ratio() {
        python3 -c 'import sys; a, b = (float(x.lstrip(">=")) for x in sys.argv[1:]); print("%.2f" % (a / b) if b else "n/a")' "$1" "$2"
}
[ -n "${peak[ntpsyncd]:-}" ] && [ -n "${peak[chronyd]:-}" ] && echo "ratio ntpsyncd/chronyd: $(ratio "${peak[ntpsyncd]}" "${peak[chronyd]}")"
[ -n "${peak[ntpsyncd]:-}" ] && [ -n "${peak[ntpd]:-}" ] && echo "ratio ntpsyncd/ntpd:    $(ratio "${peak[ntpsyncd]}" "${peak[ntpd]}")"
exit 0
