#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Four chronyd servers, three at +0.4 s and one at +2.0 s: the combined offset is the three
truechimers', and the odd one is marked a falseticker by --query and left out by the daemon."""

import concurrent.futures
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TOL = harness.TOLERANCE
TRUE_OFFSET = 0.4
FALSE_OFFSET = 2.0


class TestFalseticker(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_ntpsyncd()
        cls.lab = harness.Lab("fts")
        with cls.lab.closed_on_failure():
            # The falseticker is not the first one, so that "first come" would not hide a bug.
            cls.servers = [cls.lab.chronyd(o) for o in (TRUE_OFFSET, FALSE_OFFSET, TRUE_OFFSET, TRUE_OFFSET)]
        cls.bad = cls.servers[1]
        cls.good = [s for s in cls.servers if s is not cls.bad]

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def orders(self):
        """The configured/queried order, falseticker second and falseticker first: whichever
        answers first must not decide anything alone."""
        return {"bad-second": self.servers, "bad-first": [self.bad] + self.good}

    def test_query_marks_falseticker(self):
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            futures = {name: pool.submit(self.lab.query, [s.address for s in order])
                       for name, order in self.orders().items()}
            results = {name: f.result() for name, f in futures.items()}
        for name, (rc, data, out, err) in results.items():
            with self.subTest(order=name):
                self.check_query(rc, data, out, err)

    def check_query(self, rc, data, out, err):
        self.assertIsNotNone(data, out + err)
        self.assertEqual(len(data["sources"]), 4)
        bad = harness.find_source(data, address=self.bad.address)
        self.assertIsNotNone(bad, out)
        self.assertEqual(bad["tally"], "x", out)
        self.assertAlmostEqual(bad["offset"], FALSE_OFFSET, delta=TOL)
        tallies = []
        for s in self.good:
            entry = harness.find_source(data, address=s.address)
            self.assertIsNotNone(entry, out)
            self.assertIn(entry["tally"], "*+", out)
            self.assertAlmostEqual(entry["offset"], TRUE_OFFSET, delta=TOL)
            tallies.append(entry["tally"])
        self.assertEqual(tallies.count("*"), 1, "exactly one system peer: %r" % tallies)
        # A system peer was chosen, so there is a combined offset.
        self.assertIs(data["synchronized"], True, out)
        self.assertAlmostEqual(data["offset"], TRUE_OFFSET, delta=TOL, msg=out)
        self.assertEqual(rc, 0, out + err)

    def test_daemon_ignores_falseticker(self):
        lab = self.lab
        daemons = {}
        try:
            for name, order in self.orders().items():
                conf = lab.write_config(name + ".conf", ["server %s iburst" % s.address for s in order])
                daemons[name] = lab.daemon(conf, lab.state_dir("state-" + name), name="ntpsyncd-" + name)
            for name, d in daemons.items():
                self.assertIsNotNone(d.wait_ready(10), d.process.stderr())
            # The initial bursts: 6 packets 2 s apart; then a few seconds more.
            daemons["bad-first"].wait_notify(lambda l: False, 16)
            for name, d in daemons.items():
                with self.subTest(order=name):
                    self.check_daemon(d)
        finally:
            for d in daemons.values():
                if d.process.running():
                    d.process.kill()

    def check_daemon(self, d):
        statuses = d.statuses()
        harness.log("%s statuses: %r" % (d.name, statuses))
        with_offset = [s for s in statuses if harness.STATUS_OFFSET.search(s)]
        self.assertTrue(with_offset, "no STATUS with an offset: %r\n%s" % (statuses, d.process.stderr()))
        # Never, not even before every server answered, did it follow the falseticker.
        for status in with_offset:
            offset = float(harness.STATUS_OFFSET.search(status).group(1))
            self.assertAlmostEqual(offset, TRUE_OFFSET, delta=TOL, msg="%s in %r" % (status, statuses))
            peer = re.match(r"Observing (\S+) \((\S+)\)", status)
            self.assertIsNotNone(peer, status)
            self.assertIn(peer.group(2), [s.address for s in self.good], status)
        # Once it followed the three, it never lost them: truechimers microseconds apart on a LAN
        # agree (tos mindist), however narrow their root distances.
        first = statuses.index(with_offset[0])
        lost = [s for s in statuses[first:] if not harness.STATUS_OFFSET.search(s)]
        self.assertEqual(lost, [], "statuses: %r" % statuses)
        # Once the bursts are over, it is synchronized to the majority.
        self.assertRegex(statuses[-1], harness.STATUS_OFFSET, "status after the bursts: %r" % statuses)
        rc, _ = d.stop(5)
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    harness.main_unittest()
