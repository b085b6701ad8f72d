#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The running daemon, --clock observe, against one faked server: READY=1, a STATUS line with the
offset, clean exit on SIGTERM, and the drift file in the state directory."""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TOL = harness.TOLERANCE
SYNC_TIMEOUT = 60


class TestDaemonObserve(unittest.TestCase):
    def setUp(self):
        harness.require_ntpsyncd()
        self.lab = harness.Lab("obs")
        self.addCleanup(self.lab.close)

    def run_daemon(self, server, address, expect_would):
        lab = self.lab
        conf = lab.write_config("ntpsyncd.conf", [
            "# test config",
            "server %s iburst" % address,
        ])
        state = lab.state_dir()
        with lab.daemon(conf, state) as d:
            self.assertIsNotNone(d.wait_ready(10), "no READY=1 within 10 s:\n" + d.process.stderr())
            line, offset = d.wait_status_offset(SYNC_TIMEOUT)
            self.assertIsNotNone(line, "no STATUS with an offset within %d s; statuses %r\n%s" %
                                 (SYNC_TIMEOUT, d.statuses(), d.process.stderr()))
            harness.log("status: " + line)
            self.assertAlmostEqual(offset, server.offset, delta=TOL, msg=line)
            m = re.fullmatch(r"STATUS=Observing (\S+) \((\S+)\), stratum (\d+), offset [+-]\d+\.\d{9} s(.*)", line)
            self.assertIsNotNone(m, "STATUS not in the documented form: %r" % line)
            self.assertEqual(m.group(1), address)
            self.assertEqual(m.group(2), address)
            # The stratum in STATUS is the system peer's (ntpsyncd prints its own minus one).
            self.assertEqual(m.group(3), "1", "stratum of the stratum-1 server")
            self.assertEqual(m.group(4), expect_would, line)

            rc, took = d.stop(5)
            self.assertEqual(rc, 0, "exit status after SIGTERM (None: still running after 5 s)")
            self.assertLess(took, 5)
            err = d.process.stderr()
            # It never tried to change the clock (it runs without CAP_SYS_TIME: it would fail).
            self.assertNotIn("cannot adjust the clock", err)
            self.assertNotIn("Operation not permitted", err)

            drift = os.path.join(state, "drift")
            self.assertTrue(os.path.isfile(drift), "no drift file in %s: %r" % (state, os.listdir(state)))
            with open(drift) as f:
                text = f.read()
            ppm = float(text)  # one number
            self.assertLessEqual(abs(ppm), 500)
            self.assertEqual(os.stat(drift).st_mode & 0o022, 0, "drift file writable by others")
            # The state directory holds no temporary files afterwards.
            self.assertEqual([n for n in os.listdir(state) if n.startswith(".")], [])

    def test_chronyd_ipv4(self):
        server = self.lab.chronyd(0.5)
        self.run_daemon(server, server.address, " (would step)")

    def test_ntpd_ipv6(self):
        server = self.lab.ntpd(-0.3)
        self.run_daemon(server, server.address6, " (would step)")

    def test_small_offset_would_slew(self):
        server = self.lab.chronyd(0.05)
        self.run_daemon(server, server.address, " (would slew)")

    def test_large_offset_stays_observed(self):
        """Observe mode never corrects the clock, so a large offset stays: later polls must still
        report it as an offset that would be stepped, not drop it (8 s polls, ~35 s)."""
        lab = self.lab
        server = lab.chronyd(0.5)
        conf = lab.write_config("ntpsyncd.conf", ["server %s iburst minpoll 3 maxpoll 3" % server.address])
        with lab.daemon(conf) as d:
            self.assertIsNotNone(d.wait_ready(10), d.process.stderr())
            line, offset = d.wait_status_offset(SYNC_TIMEOUT)
            self.assertIsNotNone(line, d.process.stderr())
            # The burst (10 s) and three polls 8 s apart.
            d.wait_notify(lambda l: False, 10 + 3 * 8 + 2)
            statuses = d.statuses()
            last = statuses[-1]
            self.assertRegex(last, r"^Observing ", "statuses: %r" % statuses)
            self.assertAlmostEqual(float(harness.STATUS_OFFSET.search(last).group(1)), 0.5, delta=TOL)
            self.assertTrue(last.endswith(" (would step)"), "statuses: %r" % statuses)
            rc, _ = d.stop(5)
            self.assertEqual(rc, 0)


if __name__ == "__main__":
    harness.main_unittest()
