#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Validates the fake-time setup itself, without ntpsyncd: NTPsec's ntpdig and the harness's own
one-packet probe, run in the client namespace, measure the offsets that libfaketime plus
shift-rx-timestamps.so give chronyd and NTPsec's ntpd, over IPv4 and IPv6."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TOL = harness.TOLERANCE


class TestPeers(unittest.TestCase):
    def check(self, lab, server, offset):
        for address in (server.address, server.address6):
            dig = lab.ntpdig(address)
            harness.log("ntpdig %s (%s %+g): %r" % (address, server.kind, offset, dig))
            self.assertEqual(dig["stratum"], 1)
            self.assertAlmostEqual(dig["offset"], offset, delta=TOL,
                                   msg="ntpdig vs %s faked %+g s at %s" % (server.kind, offset, address))
            probe = lab.probe(address)
            self.assertIsNotNone(probe)
            self.assertEqual(probe["stratum"], 1)
            self.assertEqual(probe["leap"], 0)
            self.assertAlmostEqual(probe["offset"], offset, delta=TOL)

    def test_chronyd_offsets(self):
        with harness.Lab("pch") as lab:
            servers = [(lab.chronyd(o), o) for o in (0.5, -0.3, 2.0)]
            for server, offset in servers:
                self.check(lab, server, offset)

    def test_ntpd_offset(self):
        with harness.Lab("pnt") as lab:
            server = lab.ntpd(0.7)
            self.check(lab, server, 0.7)

    def test_without_rx_shim_offset_is_halved(self):
        """Documents why shift-rx-timestamps.so exists: libfaketime alone gives half the offset."""
        with harness.Lab("pns", shim=False) as lab:
            server = lab.chronyd(0.5)
            dig = lab.ntpdig(server.address)
            self.assertAlmostEqual(dig["offset"], 0.25, delta=TOL)


if __name__ == "__main__":
    harness.main_unittest()
