#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Server transmit-timestamp error in basic and interleaved mode, ntpsyncd against chronyd in the
# same run (issue 16).
#
# Two network namespaces joined by a veth pair (192.0.2.1 server, 192.0.2.2 client). A small
# client (Python, below) asks the server COUNT times, INTERVAL s apart, in basic mode and then in
# interleaved mode, and takes the kernel's receive timestamp of every answer on its end of the
# veth (SO_TIMESTAMPNS): on one machine, with one clock, that is when the answer left the server
# to within the veth's hand-over. The error is the transmit timestamp the server wrote minus that
# arrival: in basic mode the one in the answer itself (taken before it was sent), in interleaved
# mode the one in the next answer (the previous answer's, from the kernel when the server has it).
# Both servers are measured idle and while bench/ntpload sends LOAD_RATE basic requests per
# second from the same namespace (a loaded server: its answers wait behind others in the stack).
#
#   ntpsyncd  --clock observe, `serve on`, `restrict default`, `local stratum 10`
#   chronyd   -x (never touches the clock), `allow all`, `local stratum 1`
#
# Figures are medians and 99th percentiles in microseconds, and the ratio of the median absolute
# error basic/interleaved per server; not a timed test. Nothing here changes the clock; all
# traffic stays in the namespaces.
#
# Usage: bench/xleave-tx-error.sh [BUILD_DIR]   (as root; about a minute)
#   env: COUNT=300, INTERVAL=0.02, LOAD_RATE=20000, SERVERS="ntpsyncd chronyd", SERVER_CPU=1, LOAD_CPU=0,
#        SOCKBUF=8388608 (chronyd's, through bench/sockbuf-preload.so)
set -euo pipefail

here=$(dirname "$(realpath "$0")")
count=${COUNT:-300}
interval=${INTERVAL:-0.02}
load_rate=${LOAD_RATE:-20000}
default_servers="ntpsyncd chronyd"
. "$here/lib.sh"
bench_init xtx "${1:-$here/../build}"
ntpload=$build/bench/ntpload
bench_require "$ntpsyncd" "$ntpload" "$shim"
load_pid=

# The client: prints {"errors_ns": [...], "answers": n} for one mode.
cat >"$dir/client.py" <<'PY'
import json, os, socket, sys, time
server, count, interval, mode = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
SO_TIMESTAMPNS = 35
EPOCH = 2208988800

def to_ns(ts):
    v = int.from_bytes(ts, "big")
    return ((v >> 32) - EPOCH) * 1000000000 + ((v & 0xffffffff) * 1000000000 >> 32)

def to_ntp(ns):
    s, f = divmod(ns, 1000000000)
    return (((s + EPOCH) << 32) | ((f << 32) // 1000000000)).to_bytes(8, "big")

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
s.settimeout(1)
errors, previous = [], None  # previous: (our arrival ns, the answer's receive timestamp)
# Interleaved, the first two answers are basic: the third is the first that can be interleaved.
for i in range(count + (2 if mode == "interleaved" else 0)):
    origin = receive = bytes(8)
    if mode == "interleaved" and previous:
        origin, receive = previous[1], to_ntp(previous[0])
    transmit = os.urandom(8)
    s.sendto(bytes([0x23]) + bytes(23) + origin + receive + transmit, (server, 123))
    try:
        while True:
            data, anc, _, _ = s.recvmsg(2048, 1024)
            if len(data) >= 48 and data[24:32] in (transmit, receive):
                break
    except socket.timeout:
        previous = None
        continue
    arrival = None
    for level, kind, value in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            sec, nsec = int.from_bytes(value[:8], "little"), int.from_bytes(value[8:16], "little")
            arrival = sec * 1000000000 + nsec
    if mode == "basic":
        errors.append(to_ns(data[40:48]) - arrival)
    elif previous and data[24:32] == receive:
        errors.append(to_ns(data[40:48]) - previous[0])
    previous = (arrival, data[32:40])
    time.sleep(interval)
print(json.dumps({"errors_ns": errors, "answers": count}))
PY

client() { ip netns exec "$ns_load" python3 "$dir/client.py" "$server_address" "$@"; }

start_server() {
        case "$1" in
        ntpsyncd)
                mkdir -p "$dir/state"
                run_ntpsyncd "$dir/state/ntpsyncd.conf" "serve on" "restrict default" "local stratum 10"
                ;;
        chronyd)
                run_chronyd "$dir/chrony.conf" "local stratum 1" "allow all" "cmdport 0" "pidfile $dir/chronyd.pid" \
                        "driftfile $dir/chronyd.drift"
                ;;
        esac
        for _ in $(seq 40); do
                if client 1 0 basic 2>/dev/null | grep -q '"errors_ns": \[-\?[0-9]'; then
                        return 0
                fi
                kill -0 "$server_pid" 2>/dev/null || break
                sleep 0.5
        done
        echo "xleave-tx-error: $1 not answering:" >&2
        cat "$dir/$1.log" >&2
        exit 1
}

# summary NAME CONDITION MODE: prints one row, sets median_abs.
summary() {
        client "$count" "$interval" "$3" >"$dir/out.json"
        read -r median_abs row < <(python3 - "$dir/out.json" "$1" "$2" "$3" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
e = sorted(x / 1000 for x in d["errors_ns"])
if not e:
    print("nan %-9s %-6s %-12s no answers of that mode" % tuple(sys.argv[2:5]))
    sys.exit(0)
a = sorted(abs(x) for x in e)
pick = lambda v, q: v[min(len(v) - 1, int(q * len(v)))]
print("%.3f %-9s %-6s %-12s %4d/%-4d  median %8.2f  p1 %8.2f  p99 %8.2f  median |err| %7.2f" %
      (pick(a, 0.5), sys.argv[2], sys.argv[3], sys.argv[4], len(e), d["answers"], pick(e, 0.5), pick(e, 0.01),
       pick(e, 0.99), pick(a, 0.5)))
PY
)
        echo "  $row"
}

declare -A ratio
echo "xleave-tx-error: $count exchanges per mode, ${interval} s apart; server on CPU $server_cpu;" \
        "load $load_rate/s; errors in µs (transmit timestamp written - arrival on the client's veth end)"
printf '  %-9s %-6s %-12s %9s  %s\n' server load mode answers "error (µs)"
for name in $servers; do
        start_server "$name"
        for condition in idle loaded; do
                if [ "$condition" = loaded ]; then
                        taskset -c "$load_cpu" ip netns exec "$ns_load" "$ntpload" -s "$server_address" -r "$load_rate" \
                                -d 3600 -w 0 >/dev/null 2>&1 &
                        load_pid=$!
                        sleep 1
                fi
                summary "$name" "$condition" basic
                basic=$median_abs
                summary "$name" "$condition" interleaved
                ratio[$name/$condition]=$(python3 -c "print('%.1f' % ($basic / $median_abs) if $median_abs > 0 else 'inf')")
                stop_pid "$load_pid"
                load_pid=
        done
        kill -0 "$server_pid" 2>/dev/null || { echo "xleave-tx-error: $name died" >&2; cat "$dir/$name.log" >&2; exit 1; }
        stop_server
done
echo
echo "median |error| basic / interleaved:"
for name in $servers; do
        echo "  $name: idle ${ratio[$name/idle]}x, loaded ${ratio[$name/loaded]}x"
done
exit 0
