#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A live demonstration of ntpsyncd against a real NTP server, with nothing leaving the machine and
# the machine's clock untouched:
#
#   - two network namespaces joined by a veth pair (192.0.2.1 and 192.0.2.2, documentation
#     addresses); the server's namespace runs chronyd (-x: it never touches the clock) whose time
#     libfaketime moves OFFSET seconds ahead (default +0.5), with shift-rx-timestamps.so moving the
#     kernel's packet timestamps to match;
#   - the other runs ntpsyncd --clock observe for DEMO_SECONDS (default 30), printing the STATUS
#     lines it sends to systemd (sd_notify), then ntpsyncd --query against the same server.
#
# Every process runs without CAP_SYS_TIME (setpriv). Everything is removed on exit, on Ctrl-C
# and on errors. Needs root and tools/install-deps.sh's packages (chrony, libfaketime, iproute2).
#
#   tools/demo.sh            OFFSET=-0.3 DEMO_SECONDS=20 tools/demo.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
offset=${OFFSET:-+0.5}
seconds=${DEMO_SECONDS:-30}
PYTHON3=/usr/bin/python3
NO_SYS_TIME=(setpriv --bounding-set -sys_time --inh-caps -sys_time)

[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (network namespaces)" >&2; exit 1; }
"$PYTHON3" -c "float('$offset')" 2>/dev/null || { echo "demo: OFFSET must be a number of seconds" >&2; exit 1; }

echo "== building ntpsyncd and the receive-timestamp shim"
[ -f build/build.ninja ] || meson setup build --werror >/dev/null
ninja -C build src/daemon/ntpsyncd tests/integration/shift-rx-timestamps.so >/dev/null
ntpsyncd=$root/build/src/daemon/ntpsyncd
shim=$root/build/tests/integration/shift-rx-timestamps.so

peers=$(bash tests/integration/setup-peers.sh --no-ntpsec) || {
        echo "demo: run tools/install-deps.sh first" >&2
        exit 1
}
chronyd=$(sed -n 's/^CHRONYD=//p' <<<"$peers")
libfaketime=$(sed -n 's/^LIBFAKETIME=//p' <<<"$peers")

srv=ntpsync-demo-$$-srv
cli=ntpsync-demo-$$-cli
tmp=$(mktemp -d /tmp/ntpsync-demo.XXXXXX)
chmod 755 "$tmp"
pids=()

cleanup() {
        local rc=$? pid ns
        trap - EXIT INT TERM
        for pid in "${pids[@]}"; do
                kill -TERM "$pid" 2>/dev/null || true
        done
        sleep 0.3
        for pid in "${pids[@]}"; do
                kill -KILL "$pid" 2>/dev/null || true
        done
        for ns in "$cli" "$srv"; do
                if ip netns list | grep -qw "$ns"; then
                        for pid in $(ip netns pids "$ns" 2>/dev/null); do
                                kill -KILL "$pid" 2>/dev/null || true
                        done
                        ip netns del "$ns" 2>/dev/null || true
                fi
                rm -rf "/etc/netns/$ns"
        done
        rm -rf "$tmp"
        echo "== cleaned up (namespaces $srv, $cli and their processes removed)"
        exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== network: $srv (192.0.2.1, 2001:db8::1) <-veth-> $cli (192.0.2.2, 2001:db8::2)"
for ns in "$srv" "$cli"; do
        ip netns add "$ns"
        ip netns exec "$ns" sh -c 'for c in all default; do echo 0 > /proc/sys/net/ipv6/conf/$c/accept_dad; done'
        ip -n "$ns" link set lo up
done
ip link add name eth0 netns "$cli" type veth peer name eth0 netns "$srv"
ip -n "$srv" addr add 192.0.2.1/24 dev eth0
ip -n "$cli" addr add 192.0.2.2/24 dev eth0
ip -n "$srv" addr add 2001:db8::1/64 dev eth0 nodad
ip -n "$cli" addr add 2001:db8::2/64 dev eth0 nodad
ip -n "$srv" link set eth0 up
ip -n "$cli" link set eth0 up
# Names in the client namespace come from this hosts file only (ip netns exec bind-mounts it).
mkdir -p "/etc/netns/$cli"
printf '127.0.0.1 localhost\n192.0.2.1 time.demo.test\n2001:db8::1 time.demo.test\n' >"/etc/netns/$cli/hosts"
printf 'nameserver 127.0.0.1\n' >"/etc/netns/$cli/resolv.conf"

echo "== chronyd in $srv, its clock ${offset} s off (libfaketime + shift-rx-timestamps.so)"
mkdir -m 700 "$tmp/chrony"
cat >"$tmp/chrony/chrony.conf" <<EOF
local stratum 1
allow all
cmdport 0
bindcmdaddress $tmp/chrony/chronyd.sock
driftfile $tmp/chrony/drift
pidfile $tmp/chrony/chronyd.pid
EOF
ip netns exec "$srv" "${NO_SYS_TIME[@]}" env \
        FAKETIME="$offset" FAKETIME_DONT_RESET=1 FAKETIME_NO_CACHE=1 \
        NTPSYNC_TEST_RX_SHIFT="$offset" LD_PRELOAD="$shim $libfaketime" \
        "$chronyd" -x -d -u root -f "$tmp/chrony/chrony.conf" >"$tmp/chronyd.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
        if ip netns exec "$cli" "$PYTHON3" tests/integration/harness.py probe 192.0.2.1 --timeout 0.5 \
                >"$tmp/probe.json" 2>/dev/null; then
                break
        fi
        sleep 0.2
done
[ -s "$tmp/probe.json" ] || { echo "demo: chronyd does not answer:"; cat "$tmp/chronyd.log"; exit 1; }
echo "   one raw NTP exchange from $cli: $(cat "$tmp/probe.json")"

echo "== ntpsyncd --clock observe in $cli for ${seconds} s (STATUS lines from sd_notify)"
mkdir -p "$tmp/state"
printf 'server time.demo.test iburst\n' >"$tmp/ntpsyncd.conf"
# A small listener plays systemd's part: it prints what ntpsyncd sends to NOTIFY_SOCKET.
"$PYTHON3" -u - "$tmp/notify.sock" >"$tmp/notify.log" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
t0 = time.monotonic()
while True:
    for line in s.recv(65536).decode(errors="replace").splitlines():
        if line.startswith(("STATUS=", "READY=")):
            print("   [%5.1f s] %s" % (time.monotonic() - t0, line), flush=True)
EOF
pids+=($!)
for _ in $(seq 50); do [ -S "$tmp/notify.sock" ] && break; sleep 0.1; done
tail -f "$tmp/notify.log" &
tail_pid=$!
pids+=("$tail_pid")
ip netns exec "$cli" "${NO_SYS_TIME[@]}" env NOTIFY_SOCKET="$tmp/notify.sock" \
        "$ntpsyncd" --clock observe --config "$tmp/ntpsyncd.conf" --timesyncd-conf= --state-dir "$tmp/state" \
        2>"$tmp/ntpsyncd.log" &
daemon=$!
pids+=("$daemon")
sleep "$seconds" &
wait $! # (a trap runs at once during wait, not only after a foreground sleep)
kill -TERM "$daemon"
rc=0
wait "$daemon" || rc=$?
sleep 0.3
kill "$tail_pid" 2>/dev/null || true
echo "   ntpsyncd exited with status $rc on SIGTERM; its log (stderr):"
sed 's/^/     | /' "$tmp/ntpsyncd.log"
[ -f "$tmp/state/drift" ] && echo "   drift file written: $(cat "$tmp/state/drift") ppm"

echo "== ntpsyncd --query time.demo.test (a short burst; never touches the clock)"
set +e
ip netns exec "$cli" "${NO_SYS_TIME[@]}" "$ntpsyncd" --query --config "$tmp/ntpsyncd.conf" \
        --state-dir "$tmp/state" time.demo.test | sed 's/^/   /'
ip netns exec "$cli" "${NO_SYS_TIME[@]}" "$ntpsyncd" --query --json --config "$tmp/ntpsyncd.conf" \
        --state-dir "$tmp/state" time.demo.test >"$tmp/query.json"
qrc=$?
set -e

echo "== findings"
"$PYTHON3" - "$offset" "$tmp/query.json" "$tmp/notify.log" "$qrc" <<'EOF'
import json, re, sys
fake = float(sys.argv[1])
try:
    q = json.load(open(sys.argv[2]))
except ValueError:
    q = {}
statuses = [l for l in open(sys.argv[3]) if "offset" in l]
last = None
if statuses:
    m = re.search(r"offset ([+-]\d+\.\d+) s", statuses[-1])
    last = float(m.group(1)) if m else None
print("   the server's clock was set %+.6f s off" % fake)
if last is not None:
    print("   the daemon's last STATUS: offset %+.6f s (error %+.6f s)" % (last, last - fake))
else:
    print("   the daemon sent no STATUS with an offset")
if q.get("offset") is not None:
    print("   --query: offset %+.6f s (error %+.6f s), exit status %s" % (q["offset"], q["offset"] - fake, sys.argv[4]))
else:
    print("   --query found no offset (exit status %s)" % sys.argv[4])
print("   this machine's clock was not changed: --clock observe, and no process had CAP_SYS_TIME")
EOF
