#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Malformed requests to ntpsyncd's server side get no reply at all, and the daemon stays alive
and serving: short and odd lengths, versions 0 and 5-7, reserved and non-request modes, mode 7,
broken extension fields, MACs without keys, a datagram longer than the receive buffer whose first
1024 bytes would be a valid request, mode 6 with bad counts, offsets and flags (from the network
under a rule that lets it ask, and from loopback inside the daemon's namespace), and a bounded,
seeded burst of random datagrams.

Run against the build's ntpsyncd; with NTPSYNC_TEST_SANITIZED_NTPSYNCD set to an ntpsyncd built
with -Db_sanitize=address,undefined the same runs against that one too (its stderr must then
hold no sanitizer report). Topology: D runs ntpsyncd (`serve on`, `serve threads 1`: the main
thread alone, where the other serving tests run one thread per CPU, `local stratum 10`); C1
(198.51.100.2/24) is joined to it by a veth pair."""

import json
import os
import random
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

WAIT = 0.5
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:",
                   "Assertion", "assertion")


def header(version=4, mode=3, leap=0):
    return harness.ntp_request(version=version, mode=mode, leap=leap)


def extension(field_type, length, body_length=None):
    """An RFC 7822 extension field header claiming `length` bytes, with body_length (default
    length - 4) bytes after it."""
    body = length - 4 if body_length is None else body_length
    return struct.pack("!HH", field_type, length) + bytes(max(0, body))


_sequence = [100]


def mode6(opcode=2, sequence=None, status=0, assoc=0, offset=0, count=0, data=b"", flags=0, version=2):
    """A mode 6 request: LI/VN/mode, R/E/M + opcode, sequence, status, association, offset, count."""
    first = (version << 3) | 6
    if sequence is None:
        _sequence[0] += 1
        sequence = _sequence[0]
    return struct.pack("!BBHHHHH", first, flags | opcode, sequence, status, assoc, offset, count) + data


def malformed_cases():
    h = header()
    cases = {
        "empty": b"",
        "one byte": b"\x23",
        "12 bytes": h[:12],
        "47 bytes": h[:47],
        "49 bytes": h + b"\0",
        "50 bytes": h + b"\0\0",
        "51 bytes": h + b"\0\0\0",
        "56 bytes (neither a MAC nor a field)": h + bytes(8),
        "version 0": header(version=0),
        "version 5": header(version=5),
        "version 6": header(version=6),
        "version 7": header(version=7),
        "mode 0 (reserved)": header(mode=0),
        "mode 2 (symmetric passive)": header(mode=2),
        "mode 4 (a reply)": header(mode=4),
        "mode 5 (broadcast)": header(mode=5),
        "mode 7, 8 bytes": bytes([0x17, 0x00, 0x03, 0x2a]) + bytes(4),
        "mode 7, 48 bytes": bytes([0x17, 0x00, 0x03, 0x2a]) + bytes(44),
        "mode 7 monlist, 192 bytes": bytes([0x17, 0x00, 0x03, 0x2a]) + bytes(188),
        "mode 7 version 2": bytes([0x17 & ~0x38 | (2 << 3), 0x00, 0x03, 0x2a]) + bytes(44),
        "MAC key id only (crypto-NAK) without keys": h + struct.pack("!I", 1),
        "MAC key id + MD5 without keys": h + struct.pack("!I", 1) + bytes(16),
        "MAC key id + SHA-1 without keys": h + struct.pack("!I", 1) + bytes(20),
        "v3 with 8 trailing bytes": header(version=3) + bytes(8),
        "extension length 0": h + extension(0x0104, 0, body_length=12),
        "extension length 8": h + extension(0x0104, 8, body_length=12),
        "extension length 18": h + extension(0x0104, 18, body_length=16),
        "extension longer than the datagram": h + extension(0x0104, 100, body_length=28),
        "extension length 0xfffc": h + extension(0x0104, 0xfffc, body_length=28),
        "second extension overruns": h + extension(0x0104, 16) + extension(0x0104, 64, body_length=28),
        "extension then junk": h + extension(0x0104, 16) + bytes(8),
        # 48 + 976 = 1024 bytes that parse as a request, then 100 more: the datagram is longer
        # than any NTP packet and must not be answered as its truncated first 1024 bytes.
        "1124 bytes, first 1024 a valid request": h + extension(0x0104, 976) + bytes(100),
        "2000 bytes": h + bytes(1952),
        "mode 6, 1 byte": b"\x16",
        "mode 6, 11 bytes": mode6()[:11],
        "mode 6, response bit": mode6(flags=0x80),
        "mode 6, more bit": mode6(flags=0x20),
        "mode 6, count past the datagram": mode6(count=100),
        "mode 6, count 0xffff": mode6(count=0xffff, data=b"abcd"),
        "mode 6, offset (a fragment)": mode6(offset=8, count=4, data=b"abcd"),
        "mode 6, offset past everything": mode6(offset=0xfffc, count=4, data=b"abcd"),
        "mode 6, version 0": mode6(version=0),
        "mode 6, version 5": mode6(version=5),
    }
    return cases


def odd_mode6_cases():
    """Mode 6 requests that are odd but not malformed by mode6.h's definition: an error response
    (never more than one datagram) or nothing is fine, as long as the daemon lives on."""
    return {
        "mode 6, error bit": mode6(flags=0x40),
        "mode 6, count beyond the maximum": mode6(count=500, data=bytes(500)),
        "mode 6, odd count": mode6(count=3, data=b"abc\0"),
        "mode 6, unknown opcode": mode6(opcode=30),
        "mode 6, write": mode6(opcode=3, count=8, data=b"leap=0\r\n"),
        "mode 6, configure": mode6(opcode=8, count=8, data=b"server 1"),
        "mode 6, MRU": mode6(opcode=10),
        "mode 6, nonce": mode6(opcode=12),
        "mode 6, bad association": mode6(opcode=2, assoc=0xffff),
        "mode 6, variable list of 200 commas": mode6(count=200, data=b"," * 200),
        "mode 6, variable name of 400 bytes": mode6(count=400, data=b"a" * 400),
    }


def random_datagrams(seed=20260101, n=400):
    """A bounded, seeded burst: random lengths 0-600, random bytes; a third start like a client
    request, a third like mode 6, so that they get past the first checks."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        length = rng.choice([rng.randrange(0, 64), rng.randrange(0, 600)])
        data = bytearray(rng.getrandbits(8) for _ in range(length))
        if data and i % 3 == 0:
            data[0] = 0x23
        elif data and i % 3 == 1:
            data[0] = 0x16
        out.append(bytes(data))
    return out


class MalformedCases:
    """The tests, for a TestCase that names the ntpsyncd binary (None: the build's)."""
    ntpsyncd = None

    @classmethod
    def setUpClass(cls):
        harness.require_ntpsyncd()
        cls.lab = harness.Lab("mal")
        with cls.lab.closed_on_failure():
            if cls.ntpsyncd:
                cls.lab.ntpsyncd = cls.ntpsyncd
            cls.c1 = cls.lab.add_client("198.51.100", "2001:db8:c1::")
            # C1's network gets a rule of its own: mode 6 from it reaches the control code.
            cls.daemon = cls.lab.ready_daemon(["serve on", "serve threads 1", "local stratum 10", "restrict default",
                                               "restrict 198.51.100.0/24"], ready_timeout=20,
                                              env={"ASAN_OPTIONS": "abort_on_error=0:detect_leaks=1",
                                                   "UBSAN_OPTIONS": "print_stacktrace=1"})

    @classmethod
    def tearDownClass(cls):
        cls.lab.stop_and_close(cls.daemon, timeout=10)

    def assert_alive_and_serving(self, what):
        self.assertTrue(self.daemon.process.running(), "ntpsyncd died after %s:\n%s" %
                        (what, self.daemon.process.stderr()[-4000:]))
        replies, received = self.ask([harness.ntp_request()])
        self.assertIsNotNone(replies[0], "not serving after %s" % what)
        self.assertEqual((replies[0]["mode"], replies[0]["stratum"]), (4, 10))
        err = self.daemon.process.stderr()
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, err, "after %s:\n%s" % (what, err[-4000:]))

    def ask(self, packets, interval=0.0, loopback=False):
        if loopback:
            p = self.lab.client.run([harness.PYTHON3, os.path.join(harness.HERE, "harness.py"), "exchange",
                                     "127.0.0.1", "--wait", str(WAIT), "--interval", str(interval)] +
                                    [pk.hex() if pk else "-" for pk in packets], timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            received = json.loads(p.stdout)["received"]
            return [None] * len(packets), [{"raw": bytes.fromhex(r["hex"])} for r in received]
        sent, received = self.c1.exchange(self.c1.server_v4, packets, interval=interval, wait=WAIT)
        by_request = [None] * len(packets)
        for r in received:
            if r["request"] is not None:
                by_request[r["request"]] = r
        return by_request, received

    def silent(self, cases, loopback=False):
        """Sends every case, 20 ms apart, and asserts that nothing at all comes back. A reply is
        named by the request it echoes (origin timestamp, mode 6 sequence number) or its time."""
        names = list(cases)
        packets = [cases[n] for n in names]
        sent, received = self.ask(packets, interval=0.02, loopback=loopback)
        culprits = []
        for r in received:
            raw = r["raw"]
            guess = [n for n in names if len(cases[n]) >= 48 and len(raw) >= 32 and raw[24:32] == cases[n][40:48]]
            if not guess and len(raw) >= 4 and raw[0] & 7 == 6:
                guess = [n for n in names if len(cases[n]) >= 4 and cases[n][0] & 7 == 6 and cases[n][2:4] == raw[2:4]]
            culprits.append((guess or ["?"], raw[:48].hex()))
        self.assertEqual(culprits, [], "replies to malformed requests%s" % (" from loopback" if loopback else ""))

    def test_malformed_requests(self):
        self.silent(malformed_cases())
        self.assert_alive_and_serving("the malformed requests")

    def test_malformed_mode6_from_loopback(self):
        cases = {k: v for k, v in malformed_cases().items() if k.startswith("mode 6")}
        self.silent(cases, loopback=True)
        self.assert_alive_and_serving("malformed mode 6 from loopback")

    def test_odd_mode6(self):
        for loopback in (False, True):
            cases = odd_mode6_cases()
            names = list(cases)
            _, received = self.ask([cases[n] for n in names], interval=0.02, loopback=loopback)
            for r in received:
                raw = r["raw"]
                with self.subTest(loopback=loopback, reply=raw[:12].hex()):
                    self.assertGreaterEqual(len(raw), 12)
                    self.assertEqual(raw[0] & 7, 6, "not a mode 6 response")
                    self.assertTrue(raw[1] & 0x80, "response bit not set")
            self.assertLessEqual(len(received), len(cases), "more than one datagram per odd request")
        self.assert_alive_and_serving("odd mode 6 requests")

    def test_random_burst(self):
        packets = random_datagrams()
        # In chunks: the whole burst in one helper call would make a long command line.
        for i in range(0, len(packets), 100):
            self.ask(packets[i:i + 100], interval=0.001)
        self.assert_alive_and_serving("%d random datagrams" % len(packets))


class TestMalformed(MalformedCases, unittest.TestCase):
    pass


SANITIZED = os.environ.get("NTPSYNC_TEST_SANITIZED_NTPSYNCD")


@unittest.skipUnless(SANITIZED and os.access(SANITIZED, os.X_OK),
                     "NTPSYNC_TEST_SANITIZED_NTPSYNCD not set (an ntpsyncd built with -Db_sanitize=address,undefined)")
class TestMalformedSanitized(MalformedCases, unittest.TestCase):
    ntpsyncd = os.path.abspath(SANITIZED) if SANITIZED else None

    @classmethod
    def tearDownClass(cls):
        # The sanitizer's report at exit (leaks) counts too.
        try:
            if cls.daemon.process.running():
                rc, _ = cls.daemon.stop(20)
                err = cls.daemon.process.stderr()
                bad = [m for m in SANITIZER_MARKS if m in err]
                if rc != 0 or bad:
                    raise AssertionError("sanitized ntpsyncd: exit %r, %r:\n%s" % (rc, bad, err[-4000:]))
        finally:
            cls.lab.close()


if __name__ == "__main__":
    harness.main_unittest()
