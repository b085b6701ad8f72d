#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""NTPsec's ntpq against ntpsyncd's mode 6 (read-only, local): `ntpq -p`, `-c rv`, `-c as`,
`-c "rv ASSID"` and `-c sysinfo` from loopback show the system variables and the sources; writes
and the MRU list are refused with an error; from the network nothing comes back unless a rule
of the network's own allows it (and not with noquery).

Topology: S runs chronyd (offset 0, stratum 1) at 192.0.2.5; D runs ntpsyncd (observe, `server
192.0.2.5 iburst minpoll 3`, `serve on`); C1 (198.51.100.2/24) is a client network joined to D.
ntpq runs with -n (no name lookups) and a 1 s timeout; it exits 0 whatever happens, so its
output is what is checked."""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SYNC_TIMEOUT = 60
TIMED_OUT = "***Request timed out"


class TestNtpq(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_ntpsyncd()
        cls.lab = harness.Lab("ntq")
        with cls.lab.closed_on_failure():
            cls.upstream = cls.lab.chronyd(0)
            cls.c1 = cls.lab.add_client("198.51.100", "2001:db8:c1::")
            cls.base = ["server %s iburst minpoll 3" % cls.upstream.address, "serve on"]
            cls.daemon = cls.lab.ready_daemon(cls.base, sync_timeout=SYNC_TIMEOUT)

    @classmethod
    def tearDownClass(cls):
        cls.lab.stop_and_close(cls.daemon)

    def setUp(self):
        self.assertTrue(self.daemon.process.running(), self.daemon.process.stderr())

    def ntpq(self, host, *commands, ns=None):
        pr = harness.peers()
        argv = [harness.PYTHON3, pr["NTPQ"], "-n", "-c", "timeout 1000"]
        for c in commands:
            argv += ["-c", c]
        p = (ns or self.lab.client).run(argv + [host], env={"PYTHONPATH": pr["NTPSEC_PYTHONPATH"]}, timeout=60)
        out = p.stdout + p.stderr
        harness.log("ntpq %s %r:\n%s" % (host, commands, out))
        return out

    def rules(self, *rules):
        self.lab.write_config("ntpsyncd.conf", self.base + ["restrict " + r for r in rules])
        self.assertTrue(self.daemon.reload())

    def test_peers(self):
        for host in ("127.0.0.1", "::1"):
            with self.subTest(host=host):
                out = self.ntpq(host, "peers")
                self.assertRegex(out, r"remote\s+refid\s+st\s+t\s+when\s+poll\s+reach\s+delay\s+offset\s+jitter")
                m = re.search(r"^\*192\.0\.2\.5\s+\S+\s+(\d+)\s+u\s+\S+\s+(\d+)\s+([0-7]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)",
                              out, re.M)
                self.assertIsNotNone(m, "no line for the system peer 192.0.2.5 with '*':\n" + out)
                stratum, poll, reach, delay, offset, jitter = m.groups()
                self.assertEqual(stratum, "1")
                self.assertEqual(poll, "8", "minpoll 3")
                self.assertNotEqual(int(reach, 8), 0)
                self.assertLess(abs(float(offset)), 5.0, "offset in ms")
                self.assertLess(float(delay), 5.0, "delay in ms")

    def test_system_variables(self):
        out = self.ntpq("127.0.0.1", "rv")
        for expected in ('version="ntpsyncd', "stratum=2", "refid=192.0.2.5", "leap=00", "precision=-20"):
            self.assertIn(expected, out)
        self.assertRegex(out, r"status=06\d\d leap_none, sync_ntp")
        m = re.search(r"offset=([-\d.]+)", out)
        self.assertIsNotNone(m, out)
        self.assertLess(abs(float(m.group(1))), 5.0, "offset in ms")
        out = self.ntpq("127.0.0.1", "sysinfo")
        self.assertRegex(out, r"system peer:\s+192\.0\.2\.5")
        self.assertRegex(out, r"stratum:\s+2")

    def test_associations(self):
        out = self.ntpq("127.0.0.1", "associations")
        m = re.search(r"^\s*1\s+(\d+)\s+([0-9a-f]{4})\s+yes\s+yes\s+none\s+sys\.peer", out, re.M)
        self.assertIsNotNone(m, "no configured, reachable system peer:\n" + out)
        assid = m.group(1)
        out = self.ntpq("127.0.0.1", "rv %s" % assid)
        self.assertIn("srcadr=192.0.2.5", out)
        self.assertRegex(out, r"stratum=1\b")
        self.assertRegex(out, r"reach=0*[1-7][0-7]*")

    def test_writes_and_mrulist_refused(self):
        out = self.ntpq("127.0.0.1", "mrulist")
        self.assertRegex(out, r"\*\*\*Server error|PERMISSION|refused", "mrulist not refused:\n" + out)
        out = self.ntpq("127.0.0.1", "rv")
        self.assertIn("stratum=2", out, "still answering after refusing")

    def test_network_clients(self):
        """From C1: silent under the default rules; answered with a rule of C1's own; silent again
        with noquery."""
        try:
            self.rules()
            self.assertIn(TIMED_OUT, self.ntpq(self.c1.server_v4, "rv", ns=self.c1.ns))
            self.rules("default kod limited nomodify notrap nopeer noquery", "198.51.100.0/24 nomodify")
            out = self.ntpq(self.c1.server_v4, "rv", ns=self.c1.ns)
            self.assertIn("stratum=2", out, "C1 has a rule of its own without noquery")
            self.rules("default", "198.51.100.0/24 noquery")
            self.assertIn(TIMED_OUT, self.ntpq(self.c1.server_v4, "rv", ns=self.c1.ns))
            # Loopback is not affected by a network's noquery.
            self.assertIn("stratum=2", self.ntpq("127.0.0.1", "rv"))
        finally:
            self.rules()

    def test_peers_without_serving(self):
        """An ntpd administrator's habit: `ntpq -p` on a machine that only keeps its own time.
        With `serve off` (the default) ntpsyncd keeps loopback sockets for control messages only:
        ntpq works, NTP clients get no time."""
        self.lab.write_config("ntpsyncd.conf", ["server %s iburst minpoll 3" % self.upstream.address])
        try:
            self.assertTrue(self.daemon.reload())
            out = self.ntpq("127.0.0.1", "peers")
            self.assertRegex(out, r"(?m)^\*192\.0\.2\.5", out)
        finally:
            self.lab.write_config("ntpsyncd.conf", self.base)
            self.assertTrue(self.daemon.reload())


if __name__ == "__main__":
    harness.main_unittest()
