#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A bounded flood of client requests from thousands of source addresses against ntpsyncd under
`restrict default limited kod`: the rate limit holds per source, the kisses are limited, memory
stays flat, and a legitimate client keeps being served.

Topology: D runs ntpsyncd (`serve on`, `local stratum 10`, no upstream). F (198.51.100.2/24) is
the flooder: D routes 198.18.0.0/15 (RFC 2544's benchmarking range) to it and F treats the whole
prefix as local, so bench/ntpload (IP_TRANSPARENT, a source address per datagram) sends from any
address in it and receives the replies. C (203.0.113.2/24) is a legitimate client polling every
second; its network has a rule of its own without `limited` (a client polling every second is
over any `limited` minimum by design), so what is tested is that the flood does not starve it.

Two floods of FLOOD_SECONDS s at FLOOD_RATE requests/s:
  1. 4096 sources (within the limiter's table): each gets its first request answered and then
     at most one RATE kiss per `minimum` (2 s); kisses overall at most 100/s.
  2. 65536 sources (four times the table): the table evicts, memory does not grow.
Memory (RSS and PSS from /proc/PID/smaps_rollup) is compared before and after: at most +2 MiB
overall and +512 KiB from one flood to the next. Everything fits in about 30 s."""

import json
import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

FLOOD_RATE = 20000
FLOOD_SECONDS = 6
MINIMUM = 2.0            # ratelimit.h RATELIMIT_DEFAULT_MINIMUM
KOD_PER_SECOND = 100     # ratelimit.h RATELIMIT_KOD_PER_SECOND
MEMORY_BOUND_KIB = 2048
MEMORY_STEP_KIB = 512


def ntpload_path():
    path = os.environ.get("NTPLOAD") or os.path.join(harness.SOURCE_ROOT, "build", "bench", "ntpload")
    if not os.access(path, os.X_OK):
        raise harness.SetupError("bench/ntpload not built (set NTPLOAD or build build/bench/ntpload)")
    return path


class TestFlood(unittest.TestCase):
    def setUp(self):
        harness.require_ntpsyncd()
        self.ntpload = ntpload_path()
        self.lab = harness.Lab("fld")
        self.addCleanup(self.lab.close)

    def flood(self, flooder, sources, count):
        p = flooder.run([self.ntpload, "-s", flooder.server_v4, "-S", sources, "-n", str(count),
                         "-r", str(FLOOD_RATE), "-d", str(FLOOD_SECONDS), "-w", "1", "-P", "16"],
                        timeout=FLOOD_SECONDS + 30)
        self.assertEqual(p.returncode, 0, "ntpload failed: %s" % p.stderr)
        result = json.loads(p.stdout)
        harness.log("flood from %d sources: %s" % (count, p.stdout.strip()))
        self.assertGreaterEqual(result["sent"], 0.95 * FLOOD_RATE * FLOOD_SECONDS, "the flood did not happen")
        for key in ("invalid", "unmatched", "duplicates", "wrong_destination", "wrong_sender", "kod_other",
                    "kod_deny"):
            self.assertEqual(result[key], 0, "%s replies in the flood: %r" % (key, result))
        return result

    def test_flood(self):
        lab = self.lab
        legit = lab.add_client("203.0.113", "2001:db8:c2::")
        flooder = lab.add_client("198.51.100", "2001:db8:c1::", routed_prefix="198.18.0.0/15")
        conf = lab.write_config("ntpsyncd.conf", [
            "serve on",
            "local stratum 10",
            "restrict default limited kod",
            "restrict 203.0.113.0 mask 255.255.255.0",
        ])
        d = lab.daemon(conf)
        self.assertIsNotNone(d.wait_ready(10), d.process.stderr())
        first = legit.probe(legit.server_v4)
        self.assertIsNotNone(first, "the legitimate client is not served at all")
        before = d.memory_kib()
        # ThreadSanitizer's shadow memory is several times what it shadows.
        memory_scale = 4 if d.thread_sanitized() else 1

        # The legitimate client polls every second through both floods.
        polls = 2 * FLOOD_SECONDS + 6
        poller = lab.start_process("legit-client", legit.ns.exec_argv([
            harness.PYTHON3, os.path.join(harness.HERE, "harness.py"), "exchange", legit.server_v4,
            "--interval", "1", "--wait", "1"] + [harness.ntp_request().hex() for _ in range(polls)]))

        one = self.flood(flooder, "198.18.0.0/16", 4096)
        middle = d.memory_kib()
        two = self.flood(flooder, "198.19.0.0/16", 65536)
        after = d.memory_kib()

        self.assertIsNotNone(poller.wait(polls + 30), "the legitimate client's polls did not finish")
        self.assertTrue(d.process.running(), "ntpsyncd died:\n" + d.process.stderr()[-3000:])

        with self.subTest("rate limit within the table"):
            # Each source's first request is answered; the rest come faster than `minimum`.
            self.assertLessEqual(one["max_replies_per_source"], 2, one)
            self.assertLessEqual(one["replies"], 2 * 4096, one)
            self.assertGreaterEqual(one["sources_answered"], 0.9 * 4096, one)
            per_source_kods = math.ceil((FLOOD_SECONDS + 1) / MINIMUM) + 1
            self.assertLessEqual(one["max_kods_per_source"], per_source_kods, one)
            self.assertGreater(one["kod_rate"], 0, "no RATE kisses at all: %r" % one)

        with self.subTest("kisses limited"):
            for r in (one, two):
                self.assertLessEqual(r["kods"], KOD_PER_SECOND * (r["duration"] + 2), r)
                self.assertLess(r["kods"], 0.1 * r["sent"], r)

        with self.subTest("memory flat"):
            harness.log("memory KiB before %r, after flood 1 %r, after flood 2 %r" %
                        ({k: before[k] for k in ("Rss", "Pss")}, {k: middle[k] for k in ("Rss", "Pss")},
                         {k: after[k] for k in ("Rss", "Pss")}))
            for key in ("Rss", "Pss"):
                self.assertLessEqual(after[key] - before[key], MEMORY_BOUND_KIB * memory_scale, "%s before %d KiB, after %d KiB" %
                                     (key, before[key], after[key]))
                self.assertLessEqual(after[key] - middle[key], MEMORY_STEP_KIB * memory_scale,
                                     "%s grew with 16 times more sources: %d -> %d KiB" % (key, middle[key], after[key]))

        with self.subTest("legitimate client served"):
            data = json.loads(poller.stdout())
            origins = {bytes.fromhex(h)[40:48] for h in poller.argv[-polls:]}
            good = 0
            for r in data["received"]:
                raw = bytes.fromhex(r["hex"])
                p = harness.parse_packet(raw)
                if p.get("mode") == 4 and p.get("stratum") == 10 and p.get("origin") in origins:
                    good += 1
            self.assertGreaterEqual(good, 0.9 * polls, "legitimate client answered %d of %d" % (good, polls))

        rc, _ = d.stop(5)
        self.assertEqual(rc, 0, d.process.stderr()[-3000:])


if __name__ == "__main__":
    harness.main_unittest()
