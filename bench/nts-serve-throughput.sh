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
default_rates="20000 30000 40000 50000 60000 70000 80000 90000 100000 120000 150000 200000"
default_servers="ntpsyncd chronyd"
cpu_rate=20000 # the server's CPU time is compared at this rate (one of RATES)
reply_word="authenticated replies"
bad_keys="invalid unmatched duplicates wrong_sender bad_origin auth_failed naks kods unsynchronized"
host=nts.test
. "$here/lib.sh"
bench_init ntstput "${1:-$here/../build}"
ke_seconds=${KE_SECONDS:-4}
ke_parallel=${KE_PARALLEL:-8}
ntsload=$build/bench/ntsload
bench_require "$ntpsyncd" "$ntsload" "$shim"
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

# Ready when a key establishment succeeds and an authenticated request is answered as
# synchronized.
start_server() {
        local name=$1
        rm -rf "${dir:?}/$name"
        mkdir -m 0700 "$dir/$name"
        case "$name" in
        ntpsyncd)
                run_ntpsyncd "$dir/$name/ntpsyncd.conf" "serve on" "restrict default" "local stratum 10" "nts enable" \
                        "nts cert $chain" "nts key $key"
                ;;
        chronyd)
                mkdir -m 0700 "$dir/$name/nts"
                run_chronyd "$dir/$name/chrony.conf" "local stratum 1" "allow all" "cmdport 0" \
                        "bindcmdaddress $dir/$name/chronyd.sock" "pidfile $dir/$name/chronyd.pid" \
                        "driftfile $dir/$name/chronyd.drift" "ntsservercert $chain" "ntsserverkey $key" \
                        "ntsdumpdir $dir/$name/nts"
                ;;
        esac
        wait_answering "$name"
}

# Key establishments for KE_SECONDS: sets ke_rate (completed per second) and ke_per_cpu
# (completed per second of the server's CPU time).
ke_step() {
        local name=$1 out u0 s0 u1 s1 completed failed server_seconds load_cpu_percent
        read -r u0 s0 < <(cpu_ticks)
        out=$(load --ke-only -d "$ke_seconds" -j "$ke_parallel")
        read -r u1 s1 < <(cpu_ticks)
        completed=$(field "$out" completed)
        failed=$(field "$out" failed)
        ke_rate=$(field "$out" handshakes_per_second)
        server_seconds=$(python3 -c "print(($u1 + $s1 - $u0 - $s0) / $(getconf CLK_TCK))")
        ke_per_cpu=$(python3 -c "print('%.0f' % ($completed / $server_seconds if $server_seconds > 0 else 0))")
        load_cpu_percent=$(python3 -c "print('%.0f' % ($(field "$out" cpu_seconds) / $ke_seconds * 100))")
        printf '  %-9s NTS-KE  %7.0f handshakes/s  failed %s  server CPU %3d %%  ntsload CPU %3d %%  = %s handshakes per server CPU-second\n' \
                "$name" "$ke_rate" "$failed" "$(percent $((u0 + s0)) $((u1 + s1)) "$ke_seconds")" "$load_cpu_percent" \
                "$ke_per_cpu"
        if [ "$failed" -ne 0 ] || [ "$completed" -eq 0 ]; then
                echo "nts-serve-throughput: $name failed key establishments: $out" >&2
                exit 1
        fi
}

declare -A ke_best ke_cpu_best
measure_extra() {
        local name=$1
        ke_step "$name"
        greater "$ke_rate" "${ke_best[$name]:-0}" && ke_best[$name]=$ke_rate
        greater "$ke_per_cpu" "${ke_cpu_best[$name]:-0}" && ke_cpu_best[$name]=$ke_per_cpu
        return 0
}

echo "nts-serve-throughput: $(nproc) cores, server on CPU $server_cpu, ntsload on CPU $load_cpu," \
        "$step_seconds s per step, NTS-KE $ke_seconds s with $ke_parallel at a time, $rounds rounds," \
        "socket buffers $([ "$sockbuf" -gt 0 ] && echo "$sockbuf B" || echo default)"
bench_rounds

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
