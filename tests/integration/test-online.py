#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Online/OnlineReason follow the network (src/daemon/netwatch.c, manager_network_changed()).

ntpsyncd (--clock observe, `server 192.0.2.1 iburst minpoll 3 maxpoll 4`) on a private bus
(tests/dbus/dbustest.py's World) in a namespace that starts with only lo; a chronyd (-x) in a
server namespace; an nftables table in the daemon's namespace counts its NTP packets (output:
udp dport 123, input: udp sport 123, also per local address). One timeline, phase by phase:

  1. only lo: Online false ("link down" or "no route"), no packet leaves;
  2. a veth to the server, up but without an IPv4 address: still Online false ("no route");
     then 192.0.2.2/24 and a default route: Online true, Synchronized soon after, reach grows;
  3. address and route removed: Online false ("no route"); over 20 s the counter and the reach
     register stay where they were, and nothing is even tried (no "send failed");
  4. address and route back: Online true, polling resumes at once (a burst);
  5. 192.0.2.3 added and 192.0.2.2 removed on the same link (promote_secondaries: the route
     stays): "socket reopened", replies now come to 192.0.2.3;
  6. the link flapped 100 times in a tight loop (ip -batch, after 10 to warm up), then 15 times
     0.3 s apart (an evaluation each): the daemon runs, its fd count and RSS stay flat, it ends
     Online and synchronizing; down once more: Online false "link down"; up: true;
  7. the socket's address removed while offline and another added later: back online, the
     daemon synchronizes from the new address.

Everything (processes, namespaces, the bus) is stopped by PID and namespace name on every exit
path (harness.Lab). Nothing here changes this machine's clock: ntpsyncd observes, chronyd runs
with -x, both without CAP_SYS_TIME."""

import json
import os
import re
import shutil
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "dbus"))
import harness  # noqa: E402
from harness import log  # noqa: E402

try:
    import dbustest  # noqa: E402
except ImportError as e:  # dbus-python missing is reported by require_tools()
    dbustest = None
    DBUSTEST_ERROR = e

OFFSET = 0.025
SERVER = "192.0.2.1"
ADDR_A, ADDR_B, ADDR_C = "192.0.2.2", "192.0.2.3", "192.0.2.4"
IFNAME = "srv1"
TABLE = "ntpsync_online"
OFFLINE_SECONDS = 20
FLAPS = 100
SLOW_FLAPS = 15
FD_SLACK = 2            # a socket being reopened at the moment of counting
RSS_SLACK_KIB = 1024    # malloc arenas may keep a little; a leak per flap would be far more


def popcount(v):
    return bin(v).count("1")


class LateLink:
    """A veth pair between the daemon's namespace and the server's, made when the test says so
    (the server's end gets 192.0.2.1/24; the daemon's end nothing until the test adds it).
    Looks enough like harness.Link for harness.Chronyd (link.server, server_v4)."""

    def __init__(self, client, server):
        self.client = client
        self.server = server
        self.server_v4 = SERVER
        self.server_v6 = "2001:db8::1"
        self.index = 1
        self.created = False

    def create(self):
        harness._ip("link", "add", "name", IFNAME, "netns", self.client.name, "type", "veth",
                    "peer", "name", "eth0", "netns", self.server.name)
        self.created = True
        harness._ip("-n", self.server.name, "addr", "add", SERVER + "/24", "dev", "eth0")
        harness._ip("-n", self.server.name, "link", "set", "eth0", "up")
        # Deleting the primary address promotes a secondary one instead of deleting it too.
        self.client.run(["sysctl", "-q", "-w", "net.ipv4.conf.%s.promote_secondaries=1" % IFNAME], check=True)
        harness._ip("-n", self.client.name, "link", "set", IFNAME, "up")


class TestOnline(unittest.TestCase):
    def setUp(self):
        if dbustest is None:
            self.fail("tests/dbus/dbustest.py cannot be imported: %s" % DBUSTEST_ERROR)
        self.w = dbustest.World("onl", polkit=False, chrony=False)
        self.addCleanup(self.w.close)
        self.lab = self.w.lab
        self.ns = self.lab.client
        self.t0 = time.monotonic()

    # ---- tools

    def phase(self, text):
        log("==== [%5.1f s] %s" % (time.monotonic() - self.t0, text))

    def ip(self, *args, check=True):
        return harness._ip("-n", self.ns.name, *args, check=check)

    def setup_nft(self):
        rules = ["table inet %s {" % TABLE,
                 "  chain out {",
                 "    type filter hook output priority 0; policy accept;",
                 '    udp dport 123 counter comment "out"']
        for a in (ADDR_A, ADDR_B, ADDR_C):
            rules.append('    ip saddr %s udp dport 123 counter comment "out %s"' % (a, a))
        rules += ["  }", "  chain in {", "    type filter hook input priority 0; policy accept;",
                  '    udp sport 123 counter comment "in"']
        for a in (ADDR_A, ADDR_B, ADDR_C):
            rules.append('    ip daddr %s udp sport 123 counter comment "in %s"' % (a, a))
        rules += ["  }", "}", ""]
        path = self.lab.write_config("counters.nft", rules)
        p = self.ns.run(["nft", "-f", path])
        if p.returncode != 0:
            raise harness.SetupError("nft -f %s failed: %s" % (path, p.stderr))

    def counters(self):
        """{comment: packets} of the counting rules in the daemon's namespace."""
        p = self.ns.run(["nft", "-j", "list", "table", "inet", TABLE], check=True)
        out = {}
        for item in json.loads(p.stdout)["nftables"]:
            rule = item.get("rule")
            if not rule or "comment" not in rule:
                continue
            for e in rule.get("expr", []):
                if "counter" in e:
                    out[rule["comment"]] = e["counter"]["packets"]
        return out

    def sent(self, address=None):
        return self.counters()["out" if address is None else "out " + address]

    def received(self, address=None):
        return self.counters()["in" if address is None else "in " + address]

    def get(self, name):
        return self.w.get(name)

    def source(self):
        """The Sources entry of 192.0.2.1 as a dict (name included), or None."""
        for name, d in self.get("Sources"):
            if name == SERVER:
                return dict(d, name=name)
        return None

    def reach(self):
        s = self.source()
        return s["reach"] if s else None

    def wait_for(self, what, predicate, timeout, interval=0.1):
        """Polls predicate() until it returns something true; returns it, or fails the test."""
        deadline = time.monotonic() + timeout
        while True:
            v = predicate()
            if v:
                return v
            if not self.daemon.process.running():
                self.fail("ntpsyncd exited (%s) while waiting for %s:\n%s" %
                          (self.daemon.process.poll(), what, self.daemon.process.stderr()[-4000:]))
            if time.monotonic() > deadline:
                self.fail("%s: not within %.0f s (Online=%r %r, Sources=%r, counters=%r)\nlog:\n%s" %
                          (what, timeout, self.get("Online"), self.get("OnlineReason"), self.source(),
                           self.counters(), self.daemon_log()))
            time.sleep(interval)

    def wait_online(self, online, timeout):
        t = time.monotonic()
        self.wait_for("Online %s" % online, lambda: self.get("Online") == online, timeout)
        took = time.monotonic() - t
        log("Online=%s after %.2f s, OnlineReason=%r" % (online, took, self.get("OnlineReason")))
        return took

    def daemon_log(self, limit=6000):
        """The daemon's stderr without the netlink debug lines (the flapping makes thousands)."""
        text = "".join(l for l in self.daemon.process.stderr().splitlines(True) if not l.startswith("netlink: "))
        return text[-limit:]

    def log_mark(self):
        return len(self.daemon.process.stderr())

    def log_since(self, mark):
        return self.daemon.process.stderr()[mark:]

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.daemon.process.pid))

    def rss(self):
        return self.daemon.memory_kib()["Rss"]

    def flap(self, n, end_up=True):
        lines = []
        for _ in range(n):
            lines += ["link set %s down" % IFNAME, "link set %s up" % IFNAME]
        if not end_up:
            lines.append("link set %s down" % IFNAME)
        path = self.lab.write_config("flap-%d.batch" % n, lines)
        t = time.monotonic()
        p = self.ns.run(["ip", "-batch", path], timeout=120)
        self.assertEqual(p.returncode, 0, "ip -batch: %s" % p.stderr)
        log("%d flaps took %.2f s" % (n, time.monotonic() - t))

    def start_server(self):
        """chronyd in its own namespace, with only lo until the link is made; ready when it answers
        as stratum 1 on its own loopback (never probed from the daemon's namespace: that would be
        counted)."""
        server_ns = self.lab._netns("s1")
        self.link = LateLink(self.ns, server_ns)
        self.server = harness.Chronyd(self.lab, self.link, OFFSET, "chronyd1").start(wait=False)
        deadline = time.monotonic() + 20
        while True:
            p = server_ns.run([harness.PYTHON3, os.path.join(HERE, "harness.py"), "probe", "127.0.0.1",
                               "--timeout", "1"], timeout=15)
            if p.returncode == 0 and json.loads(p.stdout).get("stratum") == 1:
                return
            if time.monotonic() > deadline or not self.server.process.running():
                raise harness.SetupError("chronyd not answering as stratum 1: %s\n%s" %
                                         (p.stdout + p.stderr, self.server.process.stderr()))
            time.sleep(0.3)

    # ---- the test

    def test_online(self):
        self.start_server()
        self.setup_nft()
        config = self.lab.write_config("ntpsyncd.conf", ["server %s iburst minpoll 3 maxpoll 4" % SERVER])
        self.daemon = self.w.start_daemon(config, extra_args=["--debug"])
        d = self.daemon

        self.phase("1. only lo: offline, silent")
        self.assertIsNotNone(d.wait_ready(10), "no READY=1:\n" + d.process.stderr())
        time.sleep(4)  # the iburst would have sent two requests by now
        self.assertFalse(self.get("Online"), "Online with only lo up")
        self.assertIn(self.get("OnlineReason"), ("link down", "no route"))
        self.assertEqual(self.sent(), 0, "NTP packets sent with only lo up")
        self.assertTrue(d.process.running())
        # Listed all the same, never reached, as ntpq -p shows a server without a route.
        source = self.source()
        self.assertIsNotNone(source, "%s missing from Sources without a route: %r" % (SERVER, self.get("Sources")))
        self.assertEqual(source["reach"], 0)
        self.assertRegex(d.process.stderr(), r"source %s \(%s\): no route to it yet" % (re.escape(SERVER), re.escape(SERVER)))

        self.phase("2. link, address and route: online, synchronized")
        self.link.create()
        # The link alone (up, an IPv6 link-local address, no IPv4 address or route): still no
        # route to 192.0.2.1. The kernel reports the carrier (IFF_RUNNING) up to a second after
        # `ip link set up` (linkwatch), then the debounce: wait until the daemon has seen it.
        with self.subTest(state="link up, no address or route"):
            self.wait_for("the link seen running",
                          lambda: self.get("Online") or self.get("OnlineReason") != "link down", 5)
            time.sleep(0.5)
            self.assertFalse(self.get("Online"), "Online with the link up but no route to %s" % SERVER)
            self.assertEqual(self.get("OnlineReason"), "no route")
            self.assertEqual(self.sent(), 0)
        self.ip("addr", "add", ADDR_A + "/24", "dev", IFNAME)
        self.ip("route", "add", "default", "via", SERVER)
        t_up = time.monotonic()
        self.wait_online(True, 5)
        self.assertEqual(self.get("OnlineReason"), "")
        self.wait_for("synchronized", lambda: self.get("Synchronized"), 30, 0.3)
        self.assertIn("source %s: route found, socket opened" % SERVER, d.process.stderr())
        log("Synchronized after %.1f s" % (time.monotonic() - t_up))
        self.assertAlmostEqual(self.get("Offset") / 1e9, OFFSET, delta=harness.TOLERANCE)
        self.wait_for("reach with 3 bits", lambda: popcount(self.reach() or 0) >= 3, 30, 0.3)
        r0 = self.reach()
        log("reach %o (octal), sent %d, received %d" % (r0, self.sent(), self.received()))
        self.assertGreater(self.received(ADDR_A), 0)

        self.phase("3. address and route removed: offline, nothing sent, reach kept")
        self.ip("route", "del", "default", check=False)
        self.ip("addr", "del", ADDR_A + "/24", "dev", IFNAME)
        self.wait_online(False, 5)
        self.assertEqual(self.get("OnlineReason"), "no route")
        mark = self.log_mark()
        r1, c1 = self.reach(), self.sent()
        self.assertNotEqual(r1, 0, "reach emptied on going offline")
        time.sleep(OFFLINE_SECONDS)
        r2, c2 = self.reach(), self.sent()
        log("offline %d s: reach %o -> %o, sent %d -> %d" % (OFFLINE_SECONDS, r1, r2, c1, c2))
        self.assertTrue(d.process.running())
        self.assertFalse(self.get("Online"))
        self.assertEqual(c2, c1, "NTP packets left while offline")
        self.assertEqual(r2, r1, "the reach register decayed while offline (%o -> %o)" % (r1, r2))
        self.assertNotRegex(self.log_since(mark), r"send failed",
                            "the daemon tried to send while offline")

        self.phase("4. back: online, a burst at once")
        c_back, rx_back = self.sent(), self.received(ADDR_A)
        self.ip("addr", "add", ADDR_A + "/24", "dev", IFNAME)
        self.ip("route", "add", "default", "via", SERVER)
        t_back = time.monotonic()
        self.wait_online(True, 5)
        self.wait_for("first packet after coming back", lambda: self.sent() > c_back, 3, 0.05)
        t_first = time.monotonic()
        log("back: first packet after %.2f s" % (t_first - t_back))
        # A burst: requests 2 s apart (at minpoll the next would be 8 s away).
        time.sleep(5.0)
        burst = self.sent() - c_back
        log("back: %d packets within 5 s of the first" % burst)
        self.assertGreaterEqual(burst, 3, "no burst on coming back online (%d packets in 5 s)" % burst)
        self.wait_for("a reply after coming back", lambda: self.received(ADDR_A) > rx_back, 10)
        self.assertTrue(self.get("Synchronized"))

        self.phase("5. the socket's address replaced on the same link: reopened")
        mark = self.log_mark()
        self.ip("addr", "add", ADDR_B + "/24", "dev", IFNAME)
        self.ip("addr", "del", ADDR_A + "/24", "dev", IFNAME)
        t_swap = time.monotonic()
        self.wait_for("'socket reopened'", lambda: re.search(r"socket reopened", self.log_since(mark)), 5)
        log("socket reopened after %.2f s" % (time.monotonic() - t_swap))
        # The next poll is at most maxpoll (16 s) away.
        self.wait_for("a reply to %s" % ADDR_B, lambda: self.received(ADDR_B) > 0, 25, 0.3)
        log("first reply to %s after %.1f s" % (ADDR_B, time.monotonic() - t_swap))
        self.assertTrue(self.get("Online"))
        self.assertTrue(self.get("Synchronized"))
        self.assertNotRegex(self.log_since(mark), r"send failed")

        self.phase("6. %d flaps, then %d slower ones" % (FLAPS, SLOW_FLAPS))
        self.flap(10)
        self.wait_online(True, 5)
        time.sleep(1)
        fd0, rss0 = self.fds(), self.rss()
        self.flap(FLAPS)
        self.assertTrue(d.process.running(), "ntpsyncd died from flapping:\n" + self.daemon_log())
        # Then slower, so that each change gets its own debounced evaluation (offline, online and
        # a burst each time).
        for _ in range(SLOW_FLAPS):
            self.ip("link", "set", IFNAME, "down")
            time.sleep(0.3)
            self.ip("link", "set", IFNAME, "up")
            time.sleep(0.3)
        self.assertTrue(d.process.running(), "ntpsyncd died from flapping:\n" + self.daemon_log())
        self.wait_online(True, 5)
        time.sleep(1.5)  # the last debounced evaluation and its burst
        self.assertTrue(self.get("Online"), "not Online after the flapping ended with the link up")
        self.assertEqual(self.get("OnlineReason"), "")
        fd1, rss1 = self.fds(), self.rss()
        log("fds %d -> %d, RSS %d -> %d KiB; %d evaluations logged" %
            (fd0, fd1, rss0, rss1, len(re.findall(r"^(Network usable|No usable route)", d.process.stderr(), re.M))))
        self.assertLessEqual(abs(fd1 - fd0), FD_SLACK, "fd count %d -> %d after %d flaps" % (fd0, fd1, FLAPS))
        self.assertLessEqual(rss1 - rss0, RSS_SLACK_KIB, "RSS %d -> %d KiB after %d flaps" % (rss0, rss1, FLAPS))
        rx = self.received(ADDR_B)
        self.wait_for("a reply after the flapping", lambda: self.received(ADDR_B) > rx, 20, 0.3)
        self.assertTrue(self.get("Synchronized"))
        # Ending with the link down: offline, and the reason says so (only lo is left).
        self.flap(3, end_up=False)
        self.wait_online(False, 5)
        self.assertEqual(self.get("OnlineReason"), "link down")
        self.ip("link", "set", IFNAME, "up")
        self.wait_online(True, 5)

        self.phase("7. the address goes while offline, another comes later")
        with self.subTest(phase="new address while offline"):
            self.ip("route", "del", "default", check=False)
            self.ip("addr", "del", ADDR_B + "/24", "dev", IFNAME)
            self.wait_online(False, 5)
            time.sleep(1)
            mark = self.log_mark()
            self.ip("addr", "add", ADDR_C + "/24", "dev", IFNAME)
            self.ip("route", "add", "default", "via", SERVER)
            t_new = time.monotonic()
            self.wait_online(True, 5)
            # Back online with iburst: a burst at once, so replies within seconds.
            try:
                self.wait_for("a reply to %s (new address while offline)" % ADDR_C,
                              lambda: self.received(ADDR_C) > 0, 15, 0.3)
            finally:
                tail = self.log_since(mark)
                log("after the new address: sent from %s: %d, from %s: %d; 'send failed' lines: %d" %
                    (ADDR_B, self.sent(ADDR_B), ADDR_C, self.sent(ADDR_C), len(re.findall("send failed", tail))))
            log("first reply to %s after %.1f s" % (ADDR_C, time.monotonic() - t_new))
            self.assertNotRegex(self.log_since(mark), r"send failed")

        self.phase("stop")
        rc, took = d.stop(5)
        self.assertEqual(rc, 0, "exit status %r after SIGTERM" % rc)


def main():
    if dbustest is not None:
        dbustest.require_tools()
    else:
        harness.require_root()
    if not shutil.which("nft"):
        print("SETUP FAILED: no nft (package nftables)", file=sys.stderr)
        sys.exit(1)
    harness.main_unittest()


if __name__ == "__main__":
    main()
