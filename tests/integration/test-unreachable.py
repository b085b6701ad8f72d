#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A server that goes away (its link down: packets silently lost) and comes back: the daemon keeps
running, logs `source ADDRESS: unreachable` once the reach register has emptied, and
`source ADDRESS: reachable again` and uses it again once it answers. minpoll 3 maxpoll 4 keep
this to about two and a half minutes."""

import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TOL = harness.TOLERANCE
# Below the step threshold (0.128 s): what is tested here is reachability, not stepping.
OFFSET = 0.05
# 8 unanswered polls of at most 16 s each empty the reach register; a margin on top.
UNREACHABLE_TIMEOUT = 8 * 16 + 25
# Back again: the next poll, at most maxpoll (16 s) away, plus a margin.
RETURN_TIMEOUT = 16 + 20


class TestUnreachable(unittest.TestCase):
    def test_server_goes_away_and_returns(self):
        harness.require_ntpsyncd()
        with harness.Lab("unr") as lab:
            server = lab.chronyd(OFFSET)
            addr = server.address
            conf = lab.write_config("ntpsyncd.conf", ["server %s iburst minpoll 3 maxpoll 4" % addr])
            d = lab.daemon(conf)
            try:
                self.assertIsNotNone(d.wait_ready(10), d.process.stderr())
                line, offset = d.wait_status_offset(60)
                self.assertIsNotNone(line, "never synchronized: %r\n%s" % (d.statuses(), d.process.stderr()))
                self.assertAlmostEqual(offset, OFFSET, delta=TOL)

                # Let the initial burst (6 requests 2 s apart) finish: from then on the polls are
                # 8-16 s apart, and 8 unanswered ones take at least 56 s.
                d.wait_notify(lambda l: False, 12)
                # Away: the server's end of the link goes down.
                t_down = time.monotonic()
                mark = len(d.process.stderr())
                server.link.set_up(False)
                m = d.process.wait_for_stderr(r"^source %s: unreachable$" % re.escape(addr), UNREACHABLE_TIMEOUT,
                                              start=mark)
                took = time.monotonic() - t_down
                self.assertTrue(d.process.running(), "the daemon exited:\n" + d.process.stderr())
                self.assertIsNotNone(m, "no 'source %s: unreachable' within %d s:\n%s" %
                                     (addr, UNREACHABLE_TIMEOUT, d.process.stderr()[mark:]))
                harness.log("unreachable after %.0f s" % took)
                # Not before 8 polls at minpoll (8 s) at the least could have gone unanswered.
                self.assertGreater(took, 7 * 8 - 2, "declared unreachable too early")
                self.assertNotRegex(d.process.stderr()[mark:m.start()], r"reachable again")
                # With its only source gone, the daemon says so.
                self.assertIsNotNone(d.wait_notify(lambda l: l.startswith("STATUS=Not synchronized"), 5),
                                     "status while unreachable: %r" % d.statuses()[-3:])

                # Back: link up again.
                since = len(d.messages)
                mark = len(d.process.stderr())
                t_up = time.monotonic()
                server.link.set_up(True)
                m = d.process.wait_for_stderr(r"^source %s: reachable again$" % re.escape(addr), RETURN_TIMEOUT,
                                              start=mark)
                self.assertIsNotNone(m, "no 'source %s: reachable again' within %d s:\n%s" %
                                     (addr, RETURN_TIMEOUT, d.process.stderr()[mark:]))
                harness.log("reachable again after %.0f s" % (time.monotonic() - t_up))
                line, offset = d.wait_status_offset(30, since=since)
                self.assertIsNotNone(line, "not used again: %r" % d.statuses()[-5:])
                self.assertIn("(%s)" % addr, line)
                self.assertAlmostEqual(offset, OFFSET, delta=TOL)

                self.assertTrue(d.process.running())
                rc, _ = d.stop(5)
                self.assertEqual(rc, 0)
            finally:
                if d.process.running():
                    d.process.kill()


if __name__ == "__main__":
    harness.main_unittest()
