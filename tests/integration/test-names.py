#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Servers given by name, resolved through the client namespace's /etc/hosts (ip netns exec
bind-mounts /etc/netns/NAME/hosts over it; DNS goes nowhere: resolv.conf points at the
namespace's own loopback)."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TOL = harness.TOLERANCE


class TestNames(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_ntpsyncd()
        cls.lab = harness.Lab("nam")
        with cls.lab.closed_on_failure():
            cls.a = cls.lab.chronyd(0.5)
            cls.b = cls.lab.ntpd(0.7)
            cls.lab.client.set_hosts({
                "server-a.test": [cls.a.address],
                "server-b.test": [cls.b.address6],  # IPv6 only
            })

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def test_hosts_file_is_private(self):
        with open("/etc/hosts") as f:
            self.assertNotIn("server-a.test", f.read(), "the host's /etc/hosts must not be touched")
        p = self.lab.client.run(["getent", "hosts", "server-a.test"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(self.a.address, p.stdout)

    def test_query_by_name(self):
        for server, name, address in ((self.a, "server-a.test", self.a.address),
                                      (self.b, "server-b.test", self.b.address6)):
            with self.subTest(name=name):
                rc, data, out, err = self.lab.query([name])
                self.assertEqual(rc, 0, out + err)
                self.assertEqual(len(data["sources"]), 1, out)
                s = data["sources"][0]
                self.assertEqual(s["host"], name)
                self.assertEqual(s["address"], address)
                self.assertAlmostEqual(s["offset"], server.offset, delta=TOL)
                self.assertAlmostEqual(data["offset"], server.offset, delta=TOL)

    def test_unknown_name(self):
        t0 = time.monotonic()
        rc, data, out, err = self.lab.query(["nosuch.test"])
        self.assertEqual(rc, 1, out + err)
        self.assertLess(time.monotonic() - t0, 25)
        self.assertIsNone(data["offset"])
        self.assertIn("nosuch.test", err + out)

    def test_daemon_by_name(self):
        conf = self.lab.write_config("names.conf", ["server server-a.test iburst"])
        with self.lab.daemon(conf) as d:
            self.assertIsNotNone(d.wait_ready(10), d.process.stderr())
            line, offset = d.wait_status_offset(60)
            self.assertIsNotNone(line, "%r\n%s" % (d.statuses(), d.process.stderr()))
            self.assertIn("Observing server-a.test (%s)" % self.a.address, line)
            self.assertAlmostEqual(offset, self.a.offset, delta=TOL)
            rc, _ = d.stop(5)
            self.assertEqual(rc, 0)


if __name__ == "__main__":
    harness.main_unittest()
