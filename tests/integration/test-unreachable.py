#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A server that goes away (its link down: packets silently lost) and comes back: the daemon keeps
running, logs `source ADDRESS: unreachable` once the reach register has emptied, and
`source ADDRESS: reachable again` and uses it again once it answers. minpoll 3 maxpoll 4 keep
this to under two minutes.

Two pairs run side by side on the same timeline, each a daemon with one server: one server +0.05 s
off (below the step threshold: plain reachability), one +0.5 s off (observe mode never steps, so
the offset is still beyond the step threshold when the server returns: it must be used again all
the same)."""

import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TOL = harness.TOLERANCE
OFFSETS = (0.05, 0.5)
# 8 unanswered polls of at most 16 s each empty the reach register; a margin on top.
UNREACHABLE_TIMEOUT = 8 * 16 + 25
# Back again: the next poll, at most maxpoll (16 s) away, plus a margin.
RETURN_TIMEOUT = 16 + 20


class TestUnreachable(unittest.TestCase):
    def test_server_goes_away_and_returns(self):
        harness.require_ntpsyncd()
        with harness.Lab("unr") as lab:
            pairs = []
            try:
                for offset in OFFSETS:
                    server = lab.chronyd(offset)
                    conf = lab.write_config("ntpsyncd-%d.conf" % server.link.index,
                                            ["server %s iburst minpoll 3 maxpoll 4" % server.address])
                    d = lab.daemon(conf, lab.state_dir("state-%d" % server.link.index),
                                   name="ntpsyncd-%d" % server.link.index)
                    pairs.append((server, d))
                self.run_pairs(pairs)
            finally:
                for _, d in pairs:
                    if d.process.running():
                        d.process.kill()

    def run_pairs(self, pairs):
        for server, d in pairs:
            self.assertIsNotNone(d.wait_ready(10), d.process.stderr())
            line, offset = d.wait_status_offset(60)
            self.assertIsNotNone(line, "never synchronized: %r\n%s" % (d.statuses(), d.process.stderr()))
            self.assertAlmostEqual(offset, server.offset, delta=TOL)

        # Let the initial bursts (6 requests 2 s apart) finish: from then on the polls are 8-16 s
        # apart, and 8 unanswered ones take at least 56 s.
        pairs[0][1].wait_notify(lambda l: False, 12)

        # Away: the servers' ends of the links go down.
        t_down = time.monotonic()
        marks = []
        for server, d in pairs:
            marks.append(len(d.process.stderr()))
            server.link.set_up(False)
        for (server, d), mark in zip(pairs, marks):
            addr = server.address
            with self.subTest(offset=server.offset, phase="away"):
                m = d.process.wait_for_stderr(r"^source %s: unreachable$" % re.escape(addr),
                                              max(1, UNREACHABLE_TIMEOUT - (time.monotonic() - t_down)), start=mark)
                took = time.monotonic() - t_down
                self.assertTrue(d.process.running(), "the daemon exited:\n" + d.process.stderr())
                self.assertIsNotNone(m, "no 'source %s: unreachable' within %d s:\n%s" %
                                     (addr, UNREACHABLE_TIMEOUT, d.process.stderr()[mark:]))
                harness.log("%s: unreachable after %.0f s" % (d.name, took))
                # Not before 8 polls at minpoll (8 s) at the least could have gone unanswered.
                self.assertGreater(took, 7 * 8 - 2, "declared unreachable too early")
                self.assertNotRegex(d.process.stderr()[mark:m.start()], r"reachable again")
                # With its only source gone, the daemon says so.
                self.assertIsNotNone(d.wait_notify(lambda l: l.startswith("STATUS=Not synchronized"), 5),
                                     "status while unreachable: %r" % d.statuses()[-3:])

        # Back: links up again.
        t_up = time.monotonic()
        since = []
        for (server, d), i in zip(pairs, range(len(pairs))):
            since.append(len(d.messages))
            marks[i] = len(d.process.stderr())
            server.link.set_up(True)
        for (server, d), mark, first in zip(pairs, marks, since):
            addr = server.address
            with self.subTest(offset=server.offset, phase="back"):
                m = d.process.wait_for_stderr(r"^source %s: reachable again$" % re.escape(addr),
                                              max(1, RETURN_TIMEOUT - (time.monotonic() - t_up)), start=mark)
                self.assertIsNotNone(m, "no 'source %s: reachable again' within %d s:\n%s" %
                                     (addr, RETURN_TIMEOUT, d.process.stderr()[mark:]))
                harness.log("%s: reachable again after %.0f s" % (d.name, time.monotonic() - t_up))
                line, offset = d.wait_status_offset(max(1, RETURN_TIMEOUT + 30 - (time.monotonic() - t_up)),
                                                    since=first)
                self.assertIsNotNone(line, "not used again: %r" % d.statuses()[-5:])
                self.assertIn("(%s)" % addr, line)
                self.assertAlmostEqual(offset, server.offset, delta=TOL)

        for server, d in pairs:
            with self.subTest(offset=server.offset, phase="stop"):
                self.assertTrue(d.process.running())
                rc, _ = d.stop(5)
                self.assertEqual(rc, 0)


if __name__ == "__main__":
    harness.main_unittest()
