#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The netlink watcher (src/daemon/netwatch) against the real kernel.

tests/netwatch/netwatch-probe runs the watcher and prints one JSON line per callback, with the
query API's answers for a few addresses. Each test here makes two network namespaces, "host"
(where the probe runs, only lo up at first) and "peer" (the other end of a veth pair), changes
links, addresses and routes in "host", and checks what the probe reports: callbacks within about
a second, has_route and the offline reason following the kernel, removed addresses listed,
flapping debounced to a few callbacks with no file descriptors or memory left behind, and an
overrun of the netlink socket reported as such.

Documentation ranges only (192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32); nothing leaves the
machine. Namespaces are named after this process (ntpsync-netwatch-PID-N-host/peer) and deleted
in cleanups; ones left by a killed run are deleted when their PID is gone. Needs root: exit 77
(skipped) otherwise. Environment: NETWATCH_PROBE (set by meson).
"""

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

SKIP = 77
PREFIX = "ntpsync-netwatch-"
PROBE = os.environ.get("NETWATCH_PROBE", "")
DEBOUNCE_MS = 250

LOCAL4, GATEWAY4, DEST4 = "192.0.2.2", "192.0.2.1", "198.51.100.7"
LOCAL6, GATEWAY6, DEST6 = "2001:db8:1::2", "2001:db8:1::1", "2001:db8:2::7"
DESTINATIONS = [DEST4, DEST6, GATEWAY4]

live = []                    # Networks and Probes to clean up if a signal ends the run

CALLBACK_WITHIN = 1.5        # seconds: debounce (0.25 s) plus generous scheduling slack
QUIET = 1.5                  # seconds without a callback: the watcher is done


def run(*args, check=True):
    p = subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr.strip()))
    return p


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def delete_stale_namespaces():
    """Namespaces of earlier runs that were killed before their cleanups ran."""
    for line in run("ip", "netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.match(re.escape(PREFIX) + r"(\d+)-", name)
        if m and int(m.group(1)) != os.getpid() and not pid_alive(int(m.group(1))):
            run("ip", "netns", "delete", name, check=False)


class Network:
    """Two namespaces joined by veth0 (host) -- veth1 (peer)."""
    counter = 0

    def __init__(self):
        Network.counter += 1
        base = "%s%d-%d" % (PREFIX, os.getpid(), Network.counter)
        self.host, self.peer = base + "-host", base + "-peer"
        self.created = []
        live.append(self)

    def create(self):
        for name in (self.host, self.peer):
            run("ip", "netns", "add", name)
            self.created.append(name)
            run("ip", "-n", name, "link", "set", "lo", "up")

    def destroy(self):
        if self in live:
            live.remove(self)
        while self.created:
            run("ip", "netns", "delete", self.created.pop(), check=False)

    def ip(self, *args):
        run("ip", "-n", self.host, *args)

    def batch(self, commands):
        """Runs ip commands in the host namespace in one process: as fast as the kernel takes them."""
        p = subprocess.run(["ip", "-n", self.host, "-batch", "-"], input="\n".join(commands) + "\n",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
        if p.returncode != 0:
            raise AssertionError("ip -batch failed: %s" % p.stderr.strip())

    def add_veth(self):
        run("ip", "-n", self.host, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", self.peer)
        run("ip", "-n", self.peer, "link", "set", "veth1", "up")
        self.ip("link", "set", "veth0", "up")

    def add_addresses_and_routes(self):
        self.batch(["address add %s/24 dev veth0" % LOCAL4,
                    "address add %s/64 dev veth0 nodad" % LOCAL6,
                    "route add 198.51.100.0/24 via %s" % GATEWAY4,
                    "route add 2001:db8:2::/64 via %s" % GATEWAY6])


class Probe:
    """netwatch-probe in the host namespace (`ip netns exec` runs it in place: the PID is its own)."""

    def __init__(self, network, *args, env=None):
        command = ["ip", "netns", "exec", network.host, PROBE, "--debounce-ms", str(DEBOUNCE_MS),
                   "--local", LOCAL4, "--local", LOCAL6] + list(args) + DESTINATIONS
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        live.append(self)
        self.lines = queue.Queue()
        self.stderr = []
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        self.ready = self.next(10)
        if self.ready.get("event") != "ready":
            raise AssertionError("the probe did not start: %r" % self.ready)

    def _read_stdout(self):
        for line in self.process.stdout:
            self.lines.put(json.loads(line))
        self.lines.put(None)

    def _read_stderr(self):
        for line in self.process.stderr:
            self.stderr.append(line)

    @property
    def pid(self):
        return self.process.pid

    def next(self, timeout):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no line from the probe within %.1f s" % timeout) from None
        if line is None:
            raise AssertionError("the probe exited: %s" % "".join(self.stderr))
        return line

    def wait_for(self, predicate, timeout=CALLBACK_WITHIN):
        """The first callback for which predicate holds, and all the callbacks until then."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            line = self.next(max(0.01, deadline - time.monotonic()))
            seen.append(line)
            if predicate(line):
                return line, seen

    def until_quiet(self, quiet=QUIET, limit=30):
        """The callbacks until none came for quiet seconds."""
        seen = []
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=quiet)
            except queue.Empty:
                return seen
            if line is None:
                raise AssertionError("the probe exited: %s" % "".join(self.stderr))
            seen.append(line)
        raise AssertionError("the probe never became quiet: %d callbacks" % len(seen))

    def fd_count(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def rss_kib(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def stop(self):
        """SIGTERM; returns the exit status (the sanitizer build fails it for leaks)."""
        if self in live:
            live.remove(self)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self.process.stderr.close()
        return self.process.returncode


def merged_flags(callbacks):
    keys = ("links_changed", "addresses_added", "addresses_removed", "routes_changed", "overrun")
    return {k: any(c[k] for c in callbacks) for k in keys}


class Netwatch(unittest.TestCase):
    def setUp(self):
        self.net = Network()
        self.addCleanup(self.net.destroy)
        self.net.create()
        self.probe = None

    def tearDown(self):
        if self.probe is not None:
            status = self.probe.stop()
            sys.stderr.write("".join(self.probe.stderr[-20:]))
            self.assertEqual(status, 0, "the probe exited with %d: %s" % (status, "".join(self.probe.stderr)))

    def start_probe(self, *args, env=None):
        self.probe = Probe(self.net, *args, env=env)
        return self.probe.ready

    def test_starts_offline(self):
        ready = self.start_probe()
        self.assertEqual(ready["has_route"], {DEST4: False, DEST6: False, GATEWAY4: False})
        self.assertEqual(ready["reason"], "link down")
        self.assertEqual(ready["local"], {LOCAL4: False, LOCAL6: False})

    def test_routes_come_and_go(self):
        self.start_probe()
        self.net.add_veth()
        # A link is up now (the kernel calls it running up to a second after the carrier came),
        # but it leads nowhere.
        change, _ = self.probe.wait_for(lambda c: c["links_changed"] and c["reason"] == "no route",
                                        timeout=CALLBACK_WITHIN + 1)
        self.assertFalse(change["has_route"][DEST4])

        started = time.monotonic()
        self.net.add_addresses_and_routes()
        change, seen = self.probe.wait_for(lambda c: c["has_route"][DEST4] and c["has_route"][DEST6])
        self.assertLess(time.monotonic() - started, CALLBACK_WITHIN)
        flags = merged_flags(seen)
        self.assertTrue(flags["addresses_added"] and flags["routes_changed"], seen)
        self.assertTrue(change["has_route"][GATEWAY4])
        self.assertEqual(change["local"], {LOCAL4: True, LOCAL6: True})

        self.net.batch(["route del 198.51.100.0/24", "route del 2001:db8:2::/64"])
        change, seen = self.probe.wait_for(lambda c: c["routes_changed"])
        self.assertEqual(change["has_route"], {DEST4: False, DEST6: False, GATEWAY4: True})
        self.assertEqual(change["reason"], "no route")
        self.assertFalse(change["addresses_removed"])

        self.net.batch(["address del %s/24 dev veth0" % LOCAL4, "address del %s/64 dev veth0" % LOCAL6])
        change, seen = self.probe.wait_for(lambda c: c["addresses_removed"])
        self.assertEqual(sorted(change["removed"]), sorted([LOCAL4, LOCAL6]))
        self.assertFalse(change["removed_incomplete"])
        self.assertEqual(change["has_route"], {DEST4: False, DEST6: False, GATEWAY4: False})
        self.assertEqual(change["local"], {LOCAL4: False, LOCAL6: False})

        self.net.ip("link", "set", "veth0", "down")
        change, _ = self.probe.wait_for(lambda c: c["links_changed"])
        self.assertEqual(change["reason"], "link down")

    def test_removed_addresses_reported(self):
        self.start_probe()
        self.net.add_veth()
        extra = ["192.0.2.%d" % i for i in range(10, 30)]
        self.net.batch(["address add %s/24 dev veth0" % LOCAL4, "address add %s/64 dev veth0 nodad" % LOCAL6] +
                       ["address add %s/32 dev veth0" % a for a in extra[:3]])
        self.probe.wait_for(lambda c: c["addresses_added"] and c["local"][LOCAL4])
        self.probe.until_quiet(quiet=0.6)

        # LOCAL4 goes and comes back within one debounce period: it is not gone, and not listed.
        self.net.batch(["address del %s/64 dev veth0" % LOCAL6] +
                       ["address del %s/32 dev veth0" % a for a in extra[:3]] +
                       ["address del %s/24 dev veth0" % LOCAL4, "address add %s/24 dev veth0" % LOCAL4])
        change, seen = self.probe.wait_for(lambda c: c["addresses_removed"])
        self.assertEqual(len(seen), 1, seen)
        self.assertEqual(sorted(change["removed"]), sorted([LOCAL6] + extra[:3]))
        self.assertFalse(change["removed_incomplete"])
        self.assertEqual(change["local"], {LOCAL4: True, LOCAL6: False})
        self.probe.until_quiet(quiet=0.6)

        # More than the list holds: the first ones are listed and the list says it is incomplete.
        self.net.batch(["address add %s/32 dev veth0" % a for a in extra])
        self.probe.wait_for(lambda c: c["addresses_added"])
        self.probe.until_quiet(quiet=0.6)
        self.net.batch(["address del %s/32 dev veth0" % a for a in extra])
        change, _ = self.probe.wait_for(lambda c: c["addresses_removed"])
        self.assertEqual(change["removed"], extra[:16])
        self.assertTrue(change["removed_incomplete"])
        self.assertEqual(change["counts"]["addresses_removed"], len(extra))

    def flap(self, times, pause=None):
        """Toggles veth0 down and up `times` times, one `ip` process per change (hundreds a second,
        or about 1/pause a second)."""
        started = time.monotonic()
        sleep = "sleep %s;" % pause if pause else ""
        run("ip", "netns", "exec", self.net.host, "sh", "-c",
            "for i in $(seq %d); do ip link set veth0 down; %s ip link set veth0 up; %s done" % (times, sleep, sleep))
        return time.monotonic() - started

    def assert_spaced(self, callbacks):
        """At most one callback per debounce period."""
        times = [c["t_ms"] for c in callbacks]
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertTrue(all(g >= DEBOUNCE_MS - 5 for g in gaps), gaps)

    def test_flapping_is_debounced(self):
        # In the sanitizer build, freed memory waits in AddressSanitizer's quarantine (256 MiB by
        # default) and counts in RSS: a small quarantine lets RSS settle; leaks are LeakSanitizer's.
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "quarantine_size_mb=4"]))
        self.start_probe(env=env)
        self.net.add_veth()
        self.net.add_addresses_and_routes()
        self.probe.wait_for(lambda c: c["has_route"][DEST4])
        self.probe.until_quiet()
        self.flap(100)                   # warm-up: allocations that stay for the process's life
        self.probe.until_quiet()
        fds, rss = self.probe.fd_count(), self.probe.rss_kib()

        duration = self.flap(100)
        callbacks = self.probe.until_quiet()
        sys.stderr.write("100 flaps in %.2f s: %d callbacks, RSS %d -> %d KiB, %d fds\n" %
                         (duration, len(callbacks), rss, self.probe.rss_kib(), self.probe.fd_count()))
        for c in callbacks:
            sys.stderr.write("  %s\n" % json.dumps(c))
        self.assertGreaterEqual(len(callbacks), 1)
        self.assertLessEqual(len(callbacks), 20)
        self.assert_spaced(callbacks)
        counts = [c["counts"] for c in callbacks]
        events = sum(n["links_up"] + n["links_down"] for n in counts)
        overrun = any(c["overrun"] for c in callbacks)
        self.assertTrue(overrun or events >= 200, counts)
        # After the storm the state is read once more, as it is: veth0 is up, its IPv4 address and
        # connected route are back, the routes via the gateway went with the first `down`.
        last = callbacks[-1]
        self.assertEqual(last["reason"], "no route")
        self.assertEqual(last["has_route"], {DEST4: False, DEST6: False, GATEWAY4: True})

        self.assertEqual(self.probe.fd_count(), fds)
        self.assertLess(self.probe.rss_kib() - rss, 1024)

    def test_continuous_flapping_still_reports(self):
        """A link that keeps flapping for seconds cannot postpone the callback for ever: one comes
        at the latest 4 debounce periods after the first event, then at most one per period."""
        self.start_probe()
        self.net.add_veth()
        self.probe.wait_for(lambda c: c["reason"] == "no route", timeout=CALLBACK_WITHIN + 1)
        self.probe.until_quiet()
        started_ms = time.monotonic() * 1000
        duration = self.flap(60, pause=0.02)
        callbacks = self.probe.until_quiet()
        sys.stderr.write("60 slow flaps in %.2f s: %d callbacks at %s ms\n" %
                         (duration, len(callbacks), [round(c["t_ms"] - started_ms) for c in callbacks]))
        self.assertGreater(duration, 2.0)
        self.assertLess(callbacks[0]["t_ms"] - started_ms, 4 * DEBOUNCE_MS + 300)
        self.assertGreaterEqual(len(callbacks), 2)
        self.assertLessEqual(len(callbacks), duration / (DEBOUNCE_MS / 1000) + 2)
        self.assert_spaced(callbacks)

    def test_overrun_reported(self):
        self.start_probe()
        self.net.add_veth()
        self.probe.wait_for(lambda c: c["links_changed"])
        self.probe.until_quiet(quiet=0.6)
        # A stopped probe reads nothing: enough events fill its receive buffer (1 MiB) and the
        # kernel drops the rest, which the next read reports as ENOBUFS.
        os.kill(self.probe.pid, signal.SIGSTOP)
        try:
            self.net.batch(["link set veth0 down\nlink set veth0 up"] * 3000)
        finally:
            os.kill(self.probe.pid, signal.SIGCONT)
        callbacks = self.probe.until_quiet()
        self.assertTrue(any(c["overrun"] for c in callbacks), [c["counts"] for c in callbacks])
        self.assertLessEqual(len(callbacks), 20)
        overrun = next(c for c in callbacks if c["overrun"])
        self.assertTrue(overrun["links_changed"] and overrun["addresses_removed"] and overrun["routes_changed"])
        self.assertTrue(overrun["removed_incomplete"])
        self.assertEqual(callbacks[-1]["reason"], "no route")


def main():
    if os.geteuid() != 0:
        print("test-netwatch: needs root (network namespaces), skipping", file=sys.stderr)
        return SKIP
    if not PROBE or not os.access(PROBE, os.X_OK):
        print("test-netwatch: NETWATCH_PROBE is not set to the probe", file=sys.stderr)
        return 1
    delete_stale_namespaces()
    probe_ns = "%s%d-check" % (PREFIX, os.getpid())
    if run("ip", "netns", "add", probe_ns, check=False).returncode != 0:
        print("test-netwatch: cannot create network namespaces here, skipping", file=sys.stderr)
        return SKIP
    run("ip", "netns", "delete", probe_ns, check=False)

    def on_signal(signum, frame):
        # Probes first (by PID), then the namespaces (by name), newest first.
        for thing in reversed(list(live)):
            thing.stop() if isinstance(thing, Probe) else thing.destroy()
        os._exit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    result = unittest.main(exit=False, verbosity=2).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
