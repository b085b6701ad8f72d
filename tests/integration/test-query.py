#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`ntpsyncd --query` against chronyd (+0.5 s, -0.3 s, +2.0 s) and NTPsec's ntpd (+0.7 s)."""

import concurrent.futures
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TOL = harness.TOLERANCE


class TestQuery(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_ntpsyncd()
        cls.lab = harness.Lab("qry")
        with cls.lab.closed_on_failure():
            cls.servers = [cls.lab.chronyd(0.5), cls.lab.chronyd(-0.3), cls.lab.chronyd(2.0), cls.lab.ntpd(0.7)]
            cls.silent = cls.lab.add_link()  # an address where nothing answers

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def check_single(self, server, address, rc, data, out, err):
        what = "%s %+g s at %s" % (server.kind, server.offset, address)
        self.assertEqual(rc, 0, "query of %s exited %d: %s %s" % (what, rc, out, err))
        self.assertIsNotNone(data, "no JSON from the query of %s: %r" % (what, out))
        self.assertIs(data["synchronized"], True)
        self.assertAlmostEqual(data["offset"], server.offset, delta=TOL, msg="combined offset, " + what)
        self.assertEqual(len(data["sources"]), 1, data)
        s = data["sources"][0]
        self.assertEqual(s["host"], address)
        self.assertEqual(s["address"], address)
        self.assertEqual(s["stratum"], 1)
        self.assertEqual(s["tally"], "*", s)
        self.assertAlmostEqual(s["offset"], server.offset, delta=TOL, msg="source offset, " + what)
        self.assertGreaterEqual(s["delay"], 0)
        self.assertLess(s["delay"], 0.01)
        self.assertGreaterEqual(s["jitter"], 0)
        self.assertLess(s["jitter"], 0.005)
        expected_refid = "LOOP" if server.kind == "ntpd" else "127.127.1.1"
        self.assertEqual(s["refid"], expected_refid)
        for key in ("host", "address", "stratum", "refid", "offset", "delay", "jitter", "tally"):
            self.assertIn(key, s)

    def test_each_server(self):
        """One query per server, IPv4, all four at once (each a separate ntpsyncd)."""
        with concurrent.futures.ThreadPoolExecutor(len(self.servers)) as pool:
            futures = [(s, pool.submit(self.lab.query, [s.address])) for s in self.servers]
            results = [(s, f.result()) for s, f in futures]
        for server, (rc, data, out, err) in results:
            with self.subTest(server=server.kind, offset=server.offset):
                self.check_single(server, server.address, rc, data, out, err)

    def test_ipv6(self):
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            futures = [(s, pool.submit(self.lab.query, [s.address6])) for s in (self.servers[1], self.servers[3])]
            results = [(s, f.result()) for s, f in futures]
        for server, (rc, data, out, err) in results:
            with self.subTest(server=server.kind, offset=server.offset):
                self.check_single(server, server.address6, rc, data, out, err)

    def test_configured_servers_and_text_output(self):
        """Without HOST arguments the configured servers are measured; without --json, text."""
        server = self.servers[0]
        conf = self.lab.write_config("query-configured.conf", ["server %s" % server.address])
        t0 = time.monotonic()
        rc, _, out, err = self.lab.query([], config=conf, json_output=False)
        took = time.monotonic() - t0
        self.assertEqual(rc, 0, out + err)
        self.assertLess(took, 20, "a query should take about 10 s")
        lines = out.strip().splitlines()
        self.assertEqual(len(lines), 2, out)
        self.assertTrue(lines[0].startswith("*"), lines[0])
        self.assertIn(server.address, lines[0])
        m = re.fullmatch(r"offset ([+-]\d+\.\d{9}) s", lines[-1])
        self.assertIsNotNone(m, "last line: %r" % lines[-1])
        self.assertAlmostEqual(float(m.group(1)), server.offset, delta=TOL)

    def test_no_answer(self):
        """Nobody at the address: exit status 1, offset null, and it gives up in time."""
        t0 = time.monotonic()
        rc, data, out, err = self.lab.query([self.silent.server_v4])
        took = time.monotonic() - t0
        self.assertEqual(rc, 1, out + err)
        self.assertIsNotNone(data, out)
        self.assertIs(data["synchronized"], False)
        self.assertIsNone(data["offset"])
        self.assertEqual(len(data["sources"]), 1)
        self.assertIsNone(data["sources"][0]["offset"])
        self.assertLess(took, 25)

    def test_disagreeing_pair_has_no_majority(self):
        """+0.5 s and +0.7 s: neither interval overlaps the other, no majority, no offset."""
        rc, data, out, err = self.lab.query([self.servers[0].address, self.servers[3].address])
        self.assertEqual(rc, 1, out + err)
        self.assertIsNone(data["offset"])
        offsets = sorted(s["offset"] for s in data["sources"])
        self.assertAlmostEqual(offsets[0], 0.5, delta=TOL)
        self.assertAlmostEqual(offsets[1], 0.7, delta=TOL)
        for s in data["sources"]:
            self.assertNotIn(s["tally"], "*+", s)


if __name__ == "__main__":
    harness.main_unittest()
