#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`server ADDR xleave`: against chronyd and against ntpsyncd itself, which serve interleaved mode
to clients that ask, the source goes interleaved (D-Bus Sources "mode", ntpsyncctl sources) and
measures the faked offset; against NTPsec's ntpd, which has no interleaved mode for clients, it
stays basic and still synchronizes to the right offset."""

import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TOL = harness.TOLERANCE
SYNC_TIMEOUT = 60
MODE_TIMEOUT = 60
BUS_NAME = "org.ntpsync1"


def ctl_path():
    return os.environ.get("NTPSYNCCTL") or os.path.join(os.path.dirname(harness.ntpsyncd_path() or ""), "..", "ctl",
                                                        "ntpsyncctl")


class TestXleave(unittest.TestCase):
    def setUp(self):
        harness.require_ntpsyncd()
        self.lab = harness.Lab("xlv")
        self.addCleanup(self.lab.close)

    def start_daemon(self, address):
        self.bus = self.lab.private_bus()
        # minpoll 3: a request every 8 s, so that the interleaved exchanges come within a minute.
        d = self.lab.ready_daemon(["server %s iburst xleave minpoll 3 maxpoll 3" % address],
                                  sync_timeout=SYNC_TIMEOUT, env={"DBUS_SYSTEM_BUS_ADDRESS": self.bus.address})
        self.addCleanup(self.lab.stop_and_close, d)
        self.assertTrue(self.bus.wait_for_name(BUS_NAME, 10), d.process.stderr())
        return d

    def source(self):
        """The only entry of the Sources property, its values by key."""
        p = self.bus.busctl("--json=short", "get-property", BUS_NAME, "/org/ntpsync1", "org.ntpsync1.Manager",
                            "Sources")
        self.assertEqual(p.returncode, 0, p.stderr)
        entries = json.loads(p.stdout)["data"]
        self.assertEqual(len(entries), 1, entries)
        return {k: v["data"] for k, v in entries[0][1].items()}

    def wait_source(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while True:
            s = self.source()
            if predicate(s) or time.monotonic() > deadline:
                return s
            time.sleep(1)

    def ctl_sources(self):
        p = subprocess.run([ctl_path(), "sources"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=30,
                           env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus.address))
        self.assertEqual(p.returncode, 0, p.stderr)
        harness.log("ntpsyncctl sources:\n" + p.stdout)
        return p.stdout

    def test_chronyd_answers_interleaved(self):
        self.check_interleaved(self.lab.chronyd(0.5))

    def test_ntpsyncd_answers_interleaved(self):
        self.check_interleaved(self.lab.ntpsyncd_server(-0.25))

    def check_interleaved(self, server):
        d = self.start_daemon(server.address)
        s = self.wait_source(lambda s: s["mode"] == "interleaved", MODE_TIMEOUT)
        self.assertEqual(s["mode"], "interleaved", "%r\n%s" % (s, d.process.stderr()))
        self.assertTrue(s["xleave"])
        # Samples from interleaved exchanges: the offset stays right.
        time.sleep(20)
        s = self.source()
        harness.log("source: %r" % s)
        self.assertEqual(s["mode"], "interleaved")
        self.assertEqual(s["state"], "ok")
        self.assertAlmostEqual(s["offset"] / 1e9, server.offset, delta=TOL)
        self.assertIn("interleaved mode", self.ctl_sources())

    def test_ntpsec_falls_back_to_basic(self):
        server = self.lab.ntpd(-0.3)
        d = self.start_daemon(server.address)
        # Several interleaved requests answered in basic mode by now.
        time.sleep(30)
        s = self.source()
        harness.log("source: %r" % s)
        self.assertEqual(s["mode"], "basic", d.process.stderr())
        self.assertTrue(s["xleave"])
        self.assertEqual(s["state"], "ok")
        self.assertEqual(s["reach"] & 0x7, 0x7, "the last three requests answered: %r" % s)
        self.assertAlmostEqual(s["offset"] / 1e9, server.offset, delta=TOL)
        self.assertIn("basic mode (xleave", self.ctl_sources())
        line, offset = d.wait_status_offset(5)
        self.assertAlmostEqual(offset, server.offset, delta=TOL, msg=line)


if __name__ == "__main__":
    harness.main_unittest()
