#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""ntpsyncd serving time (`serve on`) to real clients: NTPsec's ntpdig, Debian's ntpdate (NTPsec's
wrapper around ntpdig) and chronyd -Q, plus the harness's raw client for the header fields.

Topology (documentation ranges only):

    S  chronyd, fake offset 0 (the host clock is the truth), stratum 1
    |  192.0.2.5 -- 192.0.2.6/30
    D  ntpsyncd --clock observe, `server 192.0.2.5 iburst minpoll 3`, `serve on`
    |-- 198.51.100.1/24, 2001:db8:c1::1/64 -- C1 198.51.100.2, 2001:db8:c1::2
    `-- 203.0.113.1/24,  2001:db8:c2::1/64 -- C2 203.0.113.2,  2001:db8:c2::2

Synchronized, D answers both clients with an offset within 5 ms, stratum = S's + 1, refid =
S's IPv4 address. Not synchronized (no upstream), clients refuse its time: ntpdig/ntpdate drop
it ("stratum too high", "no eligible servers", exit 1) and chronyd -Q times out (exit 1)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TOL = harness.TOLERANCE  # 5 ms
SYNC_TIMEOUT = 60


def client_nets(lab):
    c1 = lab.add_client("198.51.100", "2001:db8:c1::")
    c2 = lab.add_client("203.0.113", "2001:db8:c2::")
    return c1, c2


class TestServeSynchronized(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_ntpsyncd()
        cls.lab = harness.Lab("srv")
        with cls.lab.closed_on_failure():
            cls.upstream = cls.lab.chronyd(0)
            cls.c1, cls.c2 = client_nets(cls.lab)
            cls.daemon = cls.lab.ready_daemon([
                "server %s iburst minpoll 3" % cls.upstream.address,
                "serve on",
            ], sync_timeout=SYNC_TIMEOUT)
            cls.upstream_stratum = cls.lab.probe(cls.upstream.address)["stratum"]
        # Under ThreadSanitizer every step of the daemon is several times slower: so is its answer.
        cls.tol = TOL * (4 if cls.daemon.thread_sanitized() else 1)

    @classmethod
    def tearDownClass(cls):
        cls.lab.stop_and_close(cls.daemon)

    def setUp(self):
        self.assertTrue(self.daemon.process.running(), "ntpsyncd died:\n" + self.daemon.process.stderr())

    def test_ntpdig(self):
        for client, address in ((self.c1, self.c1.server_v4), (self.c2, self.c2.server_v4),
                                (self.c1, self.c1.server_v6)):
            with self.subTest(client=client.address4, server=address):
                rc, result, out = client.ntpdig(address)
                self.assertEqual(rc, 0, out)
                self.assertIsNotNone(result, out)
                self.assertLessEqual(abs(result["offset"]), self.tol, out)
                self.assertEqual(result["stratum"], self.upstream_stratum + 1, out)
                self.assertEqual(result["leap"], "no-leap", out)

    def test_ntpdate(self):
        r = self.c2.ntpdate(self.c2.server_v4)
        if r is None:
            self.skipTest("ntpdate (ntpsec-ntpdate) not available: setup-peers.sh could not fetch it")
        rc, result, out = r
        self.assertEqual(rc, 0, out)
        self.assertIsNotNone(result, "no result line from ntpdate:\n" + out)
        self.assertLessEqual(abs(result["offset"]), self.tol, out)
        self.assertEqual(result["stratum"], self.upstream_stratum + 1, out)

    def test_chronyd_client(self):
        rc, offset, out = self.c1.chronyd_query(self.c1.server_v4, self.lab.dir, timeout=10)
        self.assertEqual(rc, 0, out)
        self.assertIsNotNone(offset, "chronyd -Q printed no offset:\n" + out)
        self.assertLessEqual(abs(offset), self.tol, out)

    def test_reply_fields(self):
        """The header as a client checks it (RFC 5905): our stratum and refid, the origin
        echoing the request's transmit, the request's version, timestamps in order."""
        for version in (4, 3):
            with self.subTest(version=version):
                req = harness.ntp_request(version=version, poll=6)
                sent, received = self.c1.exchange(self.c1.server_v4, [req], wait=1.0)
                self.assertEqual(len(received), 1, received)
                r = received[0]
                self.assertEqual(r["request"], 0, "origin is not the request's transmit timestamp")
                self.assertEqual(r["from"], self.c1.server_v4, "reply from another address than asked")
                self.assertEqual((r["length"], r["mode"], r["version"], r["leap"]), (48, 4, version, 0))
                self.assertEqual(r["stratum"], self.upstream_stratum + 1)
                self.assertEqual(r["refid"], self.upstream.address, "refid is the upstream's IPv4 address")
                self.assertLess(r["root_delay"], 0.1)
                self.assertLess(r["root_dispersion"], 0.1)
                self.assertEqual(r["poll"], 6)
                rec, xmt, ref = (int.from_bytes(r[k], "big") for k in ("receive", "transmit", "reference"))
                self.assertNotEqual(ref, 0, "no reference timestamp")
                self.assertLessEqual(ref, rec, "reference timestamp after the receive timestamp")
                self.assertLessEqual(rec, xmt, "receive timestamp after the transmit timestamp")
                self.assertLess((xmt - rec) / 2**32, 0.01)

    def test_both_clients_and_families(self):
        for client in (self.c1, self.c2):
            for address in (client.server_v4, client.server_v6):
                with self.subTest(client=client.address4, server=address):
                    p = client.probe(address)
                    self.assertIsNotNone(p, "no answer")
                    self.assertEqual(p["stratum"], self.upstream_stratum + 1)
                    self.assertLessEqual(abs(p["offset"]), self.tol)


class TestServeUnsynchronized(unittest.TestCase):
    """Serving without an upstream: replies say so (leap 3, stratum 16) and clients refuse them."""

    @classmethod
    def setUpClass(cls):
        harness.require_ntpsyncd()
        cls.lab = harness.Lab("srvu")
        with cls.lab.closed_on_failure():
            cls.c1, cls.c2 = client_nets(cls.lab)
            cls.daemon = cls.lab.ready_daemon(["serve on"])

    @classmethod
    def tearDownClass(cls):
        cls.lab.stop_and_close(cls.daemon)

    def test_reply_says_unsynchronized(self):
        sent, received = self.c1.exchange(self.c1.server_v4, [harness.ntp_request()], wait=1.0)
        self.assertEqual(len(received), 1, received)
        r = received[0]
        self.assertEqual(r["request"], 0)
        self.assertEqual((r["mode"], r["leap"], r["stratum"]), (4, 3, 16))
        self.assertEqual(r["refid_raw"], bytes(4))
        self.assertEqual(r["reference"], bytes(8))

    def test_ntpdig_refuses(self):
        rc, result, out = self.c1.ntpdig(self.c1.server_v4)
        self.assertNotEqual(rc, 0, out)
        self.assertIsNone(result, out)
        self.assertIn("stratum too high", out)
        self.assertIn("no eligible servers", out)

    def test_ntpdate_refuses(self):
        r = self.c2.ntpdate(self.c2.server_v4)
        if r is None:
            self.skipTest("ntpdate (ntpsec-ntpdate) not available")
        rc, result, out = r
        self.assertNotEqual(rc, 0, out)
        self.assertIsNone(result, out)
        self.assertIn("no eligible servers", out)

    def test_chronyd_refuses(self):
        rc, offset, out = self.c2.chronyd_query(self.c2.server_v4, self.lab.dir, timeout=5)
        self.assertNotEqual(rc, 0, out)
        self.assertIsNone(offset, out)


if __name__ == "__main__":
    harness.main_unittest()
