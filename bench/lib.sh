# SPDX-License-Identifier: LGPL-2.1-or-later
# What the serving benchmarks (serve-throughput.sh, nts-serve-throughput.sh, xleave-tx-error.sh)
# share: two network namespaces joined by a veth pair with each end's receive processing steered
# (RPS) to the core
# of the process that reads it, the server's start and stop by PID, its CPU time, the climb of
# open-loop rates up to the highest one with less than 1 % loss, and the rounds. Sourced; the
# script defines load() (the generator, with its arguments), start_server NAME and
# measure_extra NAME (work after the climb, before the server stops), and sets `bad_keys` (the
# generator's JSON fields that must stay 0).
#
# bench_init TAG BUILD: checks root, makes $dir, the namespaces $ns_srv and $ns_load (server
# $server_address, generator 192.0.2.2), and the clean-up.

bench_init() {
        bench_tag=$1
        build=$(realpath "$2")
        [ "$(id -u)" -eq 0 ] || { echo "$bench_tag: needs root (network namespaces)" >&2; exit 1; }
        rates=${RATES:-${default_rates:-}}
        step_seconds=${STEP_SECONDS:-3}
        server_cpu=${SERVER_CPU:-1}
        # The cores the server may use (taskset's list: "1", "0,1", "0-3"); one by default.
        server_cpus=${SERVER_CPUS:-$server_cpu}
        load_cpu=${LOAD_CPU:-0}
        sockbuf=${SOCKBUF:-8388608}
        servers=${SERVERS:-$default_servers}
        retries=${RETRIES:-1}
        rounds=${ROUNDS:-2}
        server_address=192.0.2.1
        chronyd=$(command -v chronyd || echo /usr/sbin/chronyd)
        ntpsyncd=$build/src/daemon/ntpsyncd
        shim=$build/bench/sockbuf-preload.so
        no_sys_time=(setpriv --bounding-set -sys_time --inh-caps -sys_time)
        ns_srv=ntpsync-$bench_tag-$$-s
        ns_load=ntpsync-$bench_tag-$$-l
        dir=$(mktemp -d "/tmp/ntpsync-$bench_tag.XXXXXX")
        server_pid=
        trap bench_cleanup EXIT
        trap 'exit 130' INT TERM HUP
        bench_network
}

bench_require() {
        local f
        for f in "$@"; do
                [ -e "$f" ] || { echo "$bench_tag: $f missing (ninja -C $build)" >&2; exit 1; }
        done
}

stop_pid() {
        [ -n "$1" ] || return 0
        kill "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
}

# The server, and a background load generator a script started as load_pid.
bench_cleanup() {
        stop_pid "${load_pid:-}"
        stop_pid "$server_pid"
        ip netns del "$ns_srv" 2>/dev/null || true
        ip netns del "$ns_load" 2>/dev/null || true
        rm -rf "$dir"
}

# How many cores a taskset list names.
cpu_count() { python3 -c "print(bin(int('$(cpu_mask "$1")', 16)).count('1'))"; }

# The hexadecimal mask of a taskset list ("1", "0,2", "0-3").
cpu_mask() {
        local mask=0 part first last cpu
        for part in ${1//,/ }; do
                first=${part%-*}
                last=${part#*-}
                for cpu in $(seq "$first" "$last"); do
                        mask=$((mask | (1 << cpu)))
                done
        done
        printf '%x' "$mask"
}

bench_network() {
        ip netns add "$ns_srv"
        ip netns add "$ns_load"
        ip link add eth0 netns "$ns_srv" type veth peer name eth0 netns "$ns_load"
        ip -n "$ns_srv" addr add "$server_address/24" dev eth0
        ip -n "$ns_load" addr add 192.0.2.2/24 dev eth0
        local ns
        for ns in "$ns_srv" "$ns_load"; do
                ip -n "$ns" link set lo up
                ip -n "$ns" link set eth0 up
        done
        ip netns exec "$ns_srv" sh -c "echo $(cpu_mask "$server_cpus") > /sys/class/net/eth0/queues/rx-0/rps_cpus"
        ip netns exec "$ns_load" sh -c "echo $(cpu_mask "$load_cpu") > /sys/class/net/eth0/queues/rx-0/rps_cpus"
}

# The LD_PRELOAD shim's environment for chronyd and ntpd (ntpsyncd sizes its own buffers).
sockbuf_preload() {
        sockbuf_env=()
        [ "$sockbuf" -gt 0 ] && sockbuf_env=(env "LD_PRELOAD=$shim" "NTPSYNC_BENCH_SOCKBUF=$sockbuf")
        return 0
}

# ntpsyncd in the server's namespace on the server's core, configured by the lines given.
run_ntpsyncd() {
        local conf=$1
        shift
        printf '%s\n' "$@" >"$conf"
        DBUS_SYSTEM_BUS_ADDRESS=unix:path=$dir/no-bus taskset -c "$server_cpus" ip netns exec "$ns_srv" \
                "${no_sys_time[@]}" "$ntpsyncd" --clock observe --config "$conf" --timesyncd-conf= \
                --state-dir "$(dirname "$conf")" >"$dir/ntpsyncd.log" 2>&1 &
        server_pid=$!
}

# chronyd likewise, with the buffer shim, configured by the lines given.
run_chronyd() {
        local conf=$1
        shift
        printf '%s\n' "$@" >"$conf"
        sockbuf_preload
        taskset -c "$server_cpus" ip netns exec "$ns_srv" "${sockbuf_env[@]}" "${no_sys_time[@]}" \
                "$chronyd" -x -d -u root -f "$conf" >"$dir/chronyd.log" 2>&1 &
        server_pid=$!
}

# Waits until the generator's probe (a short run) gets a reply; the server's log on failure.
wait_answering() {
        local name=$1 out
        for _ in $(seq 60); do
                if out=$(load -r 20 -d 0.25 -w 0.25 -P 1 2>/dev/null) && [ "$(field "$out" replies)" -gt 0 ]; then
                        return 0
                fi
                kill -0 "$server_pid" 2>/dev/null || break
                sleep 0.5
        done
        echo "$bench_tag: $name not answering as synchronized:" >&2
        load -r 20 -d 0.25 -w 0.25 -P 1 >&2 || true
        cat "$dir/$name.log" >&2
        exit 1
}

stop_server() {
        stop_pid "$server_pid"
        server_pid=
        sleep 0.5
}

field() { python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(d[sys.argv[2]])' "$1" "$2"; }
greater() { python3 -c "import sys; sys.exit(0 if float('${1#>=}') > float('${2#>=}') else 1)"; }
ratio() {
        python3 -c 'import sys; a, b = (float(x.lstrip(">=")) for x in sys.argv[1:]); print("%.2f" % (a / b) if b else "n/a")' "$1" "$2"
}

# The server and its processes (chronyd's NTS-KE helper is a child), by PID.
server_pids() {
        local pid=$1 child
        echo "$pid"
        for child in $(ps -o pid= --ppid "$pid"); do
                server_pids "$child"
        done
}
# utime and stime of all of them (all threads), in clock ticks.
cpu_ticks() {
        local pid user=0 sys=0 u s
        for pid in $(server_pids "$server_pid"); do
                read -r u s < <(awk '{ print $14, $15 }' "/proc/$pid/stat" 2>/dev/null) || continue
                user=$((user + u))
                sys=$((sys + s))
        done
        echo "$user $sys"
}
percent() { python3 -c "print('%.0f' % (($2 - $1) / $(getconf CLK_TCK) / ($3) * 100))"; }

# One step: prints a line, sets step_rps, step_ok (loss < 1 %), step_limited (the generator could
# not send at the rate asked), step_user and step_sys (the server's CPU, % of one core). A reply
# that failed a check (a nonzero field of bad_keys) ends the run.
step() {
        local name=$1 rate=$2 out loss achieved bad u0 s0 u1 s1
        read -r u0 s0 < <(cpu_ticks)
        out=$(load -r "$rate" -d "$step_seconds" -w 0.5)
        read -r u1 s1 < <(cpu_ticks)
        step_user=$(percent "$u0" "$u1" "$step_seconds + 0.5")
        step_sys=$(percent "$s0" "$s1" "$step_seconds + 0.5")
        loss=$(field "$out" loss)
        step_rps=$(field "$out" replies_per_second)
        achieved=$(field "$out" achieved_rate)
        bad=$(python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(sum(d[k] for k in sys.argv[2:]))' \
                "$out" $bad_keys)
        printf '  %-9s target %7d/s  sent %7.0f/s  %s %7.0f/s  loss %6.2f %%  bad %s  server CPU user %2d %% sys %2d %%\n' \
                "$name" "$rate" "$achieved" "$reply_word" "$step_rps" "$(python3 -c "print($loss * 100)")" "$bad" \
                "$step_user" "$step_sys"
        if [ "$bad" -ne 0 ]; then
                echo "$bench_tag: $name sent replies that failed a check: $out" >&2
                exit 1
        fi
        step_ok=$(python3 -c "print(1 if $loss < 0.01 else 0)")
        step_limited=$(python3 -c "print(1 if $achieved < 0.98 * $rate else 0)")
        if [ "$rate" -eq "$cpu_rate" ] && [ "$step_ok" -eq 1 ]; then
                cpu_at[$name]="$((step_user + step_sys)) %"
        fi
}

# A step that loses 1 % or more is tried again (other work on the machine can get in the way
# once); true when one of the tries was clean.
step_tries() {
        local try
        for try in $(seq $((retries + 1))); do
                step "$1" "$2"
                [ "$step_ok" -eq 1 ] && return 0
        done
        return 1
}

declare -A cpu_at cpu_best peak
# The climb for one server: the next rate is only tried after a clean step; after the first rate
# that fails, the midpoint between it and the last clean one is tried too. The best round counts:
# other work on the machine only ever makes a server look worse.
measure() {
        local name=$1 best=0 bound="" last_good=0 rate
        start_server "$name"
        # Threads and all: every thread of the server on its core.
        taskset -a -p -c "$server_cpus" "$server_pid" >/dev/null 2>&1 || true
        load -r 1000 -d 0.5 >/dev/null # warm-up
        for rate in $rates; do
                if ! step_tries "$name" "$rate"; then
                        if [ "$last_good" -gt 0 ] && step_tries "$name" $(((last_good + rate) / 2)); then
                                best=$step_rps
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
        measure_extra "$name"
        kill -0 "$server_pid" 2>/dev/null || { echo "$bench_tag: $name died" >&2; cat "$dir/$name.log" >&2; exit 1; }
        stop_server
        : "${peak[$name]:=0}" # a server that lost 1 % at the lowest rate shows 0
        if greater "$best" "${peak[$name]}"; then
                peak[$name]="$bound$best"
                cpu_best[$name]=${cpu_at[$name]:-}
        fi
        return 0
}

# Each server measured ROUNDS times, another one going first each round.
bench_rounds() {
        local order=($servers) round s
        for round in $(seq "$rounds"); do
                echo "round $round of $rounds"
                for s in "${order[@]}"; do
                        unset "cpu_at[$s]"
                        measure "$s"
                done
                order=("${order[@]:1}" "${order[0]}")
        done
}
