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
#   ntpsyncd  --clock observe, `serve on`, `serve threads 1`, `restrict default` (no limited),
#             `local stratum 10`
#   ntpsyncd-n the same with its default `serve threads`: one thread per core it may use, that is
#             per core of SERVER_CPUS (with one core, two threads on it: the cost of the threads)
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
#        SERVER_CPUS=SERVER_CPU (the server's cores, a taskset list: "1-3" for 1 vs 3 threads),
#        SERVERS="ntpsyncd ntpsyncd-n chronyd ntpd", RETRIES=1 (more tries of a step that lost >= 1 %),
#        ROUNDS=2 (each server measured that often, in turn; its best round counts)
set -euo pipefail

here=$(dirname "$(realpath "$0")")
default_rates="50000 100000 150000 200000 250000 300000 350000 400000 500000 600000 800000 1000000"
default_servers="ntpsyncd ntpsyncd-n chronyd ntpd"
cpu_rate=100000 # the server's CPU time is compared at this rate (one of RATES)
reply_word=replies
bad_keys="invalid unmatched duplicates wrong_sender unsynchronized kods"
. "$here/lib.sh"
bench_init tput "${1:-$here/../build}"
ntpload=$build/bench/ntpload
bench_require "$ntpsyncd" "$ntpload" "$shim"
ntpd=$(bash "$here/../tests/integration/setup-peers.sh" | sed -n 's/^NTPD=//p')

load() { taskset -c "$load_cpu" ip netns exec "$ns_load" "$ntpload" -s "$server_address" "$@"; }

start_server() {
        local name=$1
        case "$name" in
        ntpsyncd)
                mkdir -p "$dir/state"
                run_ntpsyncd "$dir/state/ntpsyncd.conf" "serve on" "serve threads 1" "restrict default" "local stratum 10"
                ;;
        ntpsyncd-n)
                mkdir -p "$dir/state"
                # SERVER_CPUS with one core: two threads on it, the cost of the threads themselves.
                local threads=$(($(cpu_count "$server_cpus") > 1 ? $(cpu_count "$server_cpus") : 2))
                run_ntpsyncd "$dir/state/ntpsyncd.conf" "serve on" "serve threads $threads" "restrict default" \
                        "local stratum 10"
                ;;
        chronyd)
                run_chronyd "$dir/chrony.conf" "local stratum 1" "allow all" "cmdport 0" "pidfile $dir/chronyd.pid" \
                        "driftfile $dir/chronyd.drift"
                ;;
        ntpd)
                # NTPsec's built-in default restriction is "limited noquery" (since 1.1.9):
                # lifted, as `restrict default` is for the other two.
                printf '%s\n' "tos orphan 1 orphanwait 0" "unrestrict default limited noquery" \
                        "unrestrict -6 default limited noquery" "driftfile $dir/ntpd.drift" >"$dir/ntp.conf"
                sockbuf_preload
                taskset -c "$server_cpu" ip netns exec "$ns_srv" "${sockbuf_env[@]}" "${no_sys_time[@]}" \
                        "$ntpd" -n -c "$dir/ntp.conf" -p "$dir/ntpd.pid" >"$dir/ntpd.log" 2>&1 &
                server_pid=$!
                ;;
        esac
        wait_answering "$name"
}

measure_extra() { :; }

echo "serve-throughput: $(nproc) cores, server on CPU(s) $server_cpus, ntpload on CPU $load_cpu," \
        "$step_seconds s per step, $rounds rounds, socket buffers $([ "$sockbuf" -gt 0 ] && echo "$sockbuf B" || echo default)"
bench_rounds

echo
printf '%-10s %22s   %s\n' server "responses/s (<1% loss)" "server CPU at $cpu_rate/s (of one core)"
for s in $servers; do
        printf '%-10s %22s   %s\n' "$s" "${peak[$s]}" "${cpu_best[$s]:-n/a}"
done
show_ratio() {
        [ -n "${peak[$1]:-}" ] && [ -n "${peak[$2]:-}" ] && printf 'ratio %-20s %s\n' "$1/$2:" "$(ratio "${peak[$1]}" "${peak[$2]}")"
        return 0
}
show_ratio ntpsyncd chronyd
show_ratio ntpsyncd ntpd
show_ratio ntpsyncd-n ntpsyncd
show_ratio ntpsyncd-n chronyd
show_ratio ntpsyncd-n ntpd
exit 0
