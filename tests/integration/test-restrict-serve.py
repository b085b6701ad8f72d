#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The server side of ntpsyncd under `restrict` rules, with clients at different addresses.

Topology: D runs ntpsyncd (`serve on`, `local stratum 10`, no upstream: the replies are served
either way); C1 is 198.51.100.2-.9/24 (+ 2001:db8:c1::2-9), C2 203.0.113.2-.9/24 (+
2001:db8:c2::2-9), each joined to D by a veth pair (D is .1 / ::1 on each). Each test writes the
rules into the configuration file and sends SIGHUP; the reload is done when ntpsyncd notifies
READY=1 after RELOADING=1, and the rules hold from the next packet on. The rate limiter keeps its
per-address state across reloads (as it should), so each rate-limit test asks from an address of
its own. One test changes the rules over D-Bus (a private dbus-daemon, busctl) instead.

Requests come from the harness's raw client (harness.py exchange): a reply is matched to its
request by the origin timestamp; "silent" means nothing at all came back within 0.5 s."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

WAIT = 0.5  # s after the last request: on a veth pair, a reply takes well under 1 ms
BASE = ["serve on", "local stratum 10"]


def mode6_readvar(sequence=1):
    """A mode 6 READVAR request for the system variables (`ntpq -c rv`): 12-byte header."""
    return bytes([0x16, 0x02]) + sequence.to_bytes(2, "big") + bytes(8)


def mode7_request(request=42, length=48):
    """A mode 7 (ntpdc) request, by default MON_GETLIST_1 (monlist), implementation 3 (XNTPD)."""
    head = bytes([0x17, 0x00, 0x03, request])
    return (head + bytes(max(0, length - 4)))[:length]


class RestrictBase(unittest.TestCase):
    bus = False

    @classmethod
    def setUpClass(cls):
        harness.require_ntpsyncd()
        cls.lab = harness.Lab("rst")
        with cls.lab.closed_on_failure():
            cls.c1 = cls.lab.add_client("198.51.100", "2001:db8:c1::", n_addresses=8)
            cls.c2 = cls.lab.add_client("203.0.113", "2001:db8:c2::", n_addresses=8)
            env = None
            if cls.bus:
                cls.private_bus = cls.lab.private_bus()
                env = {"DBUS_SYSTEM_BUS_ADDRESS": cls.private_bus.address}
            cls.daemon = cls.lab.ready_daemon(BASE, env=env)

    @classmethod
    def tearDownClass(cls):
        cls.lab.stop_and_close(cls.daemon)

    def setUp(self):
        self.assertTrue(self.daemon.process.running(), "ntpsyncd died:\n" + self.daemon.process.stderr())

    def rules(self, *rules):
        """Writes `restrict RULE` lines into the configuration and reloads (SIGHUP)."""
        self.lab.write_config("ntpsyncd.conf", BASE + ["restrict " + r for r in rules])
        before = len(self.daemon.process.stderr())
        self.assertTrue(self.daemon.reload(), "reload not confirmed:\n" + self.daemon.process.stderr()[-3000:])
        self.assertNotIn("keeping the running configuration", self.daemon.process.stderr()[before:])

    def ask(self, client, packets, interval=0.0, v6=False, bind=None, sport=0):
        """Sends packets from client to D; returns (replies indexed by request, all received)."""
        address = client.server_v6 if v6 else client.server_v4
        sent, received = client.exchange(address, packets, interval=interval, wait=WAIT, bind=bind, sport=sport)
        by_request = [None] * len(packets)
        for r in received:
            if r["request"] is not None and by_request[r["request"]] is None:
                by_request[r["request"]] = r
        return by_request, received

    def assert_served(self, reply, msg=""):
        self.assertIsNotNone(reply, "no reply " + msg)
        self.assertEqual(reply["mode"], 4, msg)
        self.assertEqual(reply["stratum"], 10, "not a normal reply (a kiss-o'-death?) %s: %r" % (msg, reply))
        self.assertEqual(reply["refid_raw"], b"LOCL", msg)

    def assert_silent(self, received, msg=""):
        self.assertEqual([(r["mode"], r.get("stratum"), r.get("kod")) for r in received], [],
                         "expected no reply at all " + msg)

    def assert_kod(self, reply, code):
        self.assertIsNotNone(reply)
        self.assertEqual((reply["mode"], reply["stratum"], reply["kod"]), (4, 0, code), reply)
        self.assertEqual(reply["leap"], 3)


class TestRestrictFlags(RestrictBase):
    def test_default_ignore_allows_one_network(self):
        self.rules("default ignore", "198.51.100.0 mask 255.255.255.0")
        replies, _ = self.ask(self.c1, [harness.ntp_request()])
        self.assert_served(replies[0], "to C1 (198.51.100.0/24 allowed)")
        _, received = self.ask(self.c2, [harness.ntp_request()])
        self.assert_silent(received, "to C2 under default ignore")
        # `default` holds for both families: IPv6 is ignored too, C1's included.
        _, received = self.ask(self.c2, [harness.ntp_request()], v6=True)
        self.assert_silent(received, "to C2 over IPv6")
        _, received = self.ask(self.c1, [harness.ntp_request()], v6=True)
        self.assert_silent(received, "to C1 over IPv6 (no IPv6 rule)")
        # The prefix form and an IPv6 rule.
        self.rules("default ignore", "203.0.113.0/24", "2001:db8:c1::/64")
        replies, _ = self.ask(self.c2, [harness.ntp_request()])
        self.assert_served(replies[0], "to C2 (203.0.113.0/24 allowed)")
        replies, _ = self.ask(self.c1, [harness.ntp_request()], v6=True)
        self.assert_served(replies[0], "to C1 over IPv6 (2001:db8:c1::/64 allowed)")
        _, received = self.ask(self.c1, [harness.ntp_request()])
        self.assert_silent(received, "to C1 over IPv4 (not allowed any more)")

    def test_more_specific_rule_wins(self):
        self.rules("default", "203.0.113.0/24 ignore", "203.0.113.4/32")
        _, received = self.ask(self.c2, [harness.ntp_request()], bind=self.c2.addresses4[0])
        self.assert_silent(received, "from 203.0.113.2 (the /24 is ignored)")
        replies, _ = self.ask(self.c2, [harness.ntp_request()], bind=self.c2.addresses4[2])
        self.assert_served(replies[0], "from 203.0.113.4 (its /32 allows it)")

    def test_noserve(self):
        self.rules("default noserve")
        _, received = self.ask(self.c1, [harness.ntp_request() for _ in range(3)], interval=0.1)
        self.assert_silent(received, "under noserve")

    def test_noserve_kod(self):
        """DENY kisses, at most one per client per `minimum` (2 s): five requests in 0.8 s, one kiss."""
        self.rules("default noserve kod")
        replies, received = self.ask(self.c1, [harness.ntp_request() for _ in range(5)], interval=0.2,
                                     bind=self.c1.addresses4[1])
        self.assert_kod(replies[0], "DENY")
        self.assertEqual(len(received), 1, "kisses are limited too: %r" % received)
        # ntpdig sees it as a kiss-o'-death and refuses the time (from an address of its own).
        rc, result, out = self.c2.ntpdig(self.c2.server_v4)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("KOD", out)

    def test_limited(self):
        """20 requests 0.1 s apart: the first is answered, the rest come faster than `minimum`."""
        self.rules("default limited")
        replies, received = self.ask(self.c1, [harness.ntp_request() for _ in range(20)], interval=0.1,
                                     bind=self.c1.addresses4[2])
        self.assert_served(replies[0], "first request under limited")
        answered = [i for i, r in enumerate(replies) if r]
        self.assertLessEqual(len(answered), 3, "answered: %r" % answered)
        self.assertTrue(all(r is None for r in replies[10:]), "later ones answered: %r" % answered)
        self.assertFalse(any(r["stratum"] == 0 for r in received), "a kiss without kod")
        # Another client is not affected.
        replies, _ = self.ask(self.c1, [harness.ntp_request()], bind=self.c1.addresses4[3])
        self.assert_served(replies[0], "from another address")

    def test_limited_kod(self):
        """30 requests 0.1 s apart: the first answered, then RATE kisses, themselves limited."""
        self.rules("default limited kod")
        n = 30
        replies, received = self.ask(self.c1, [harness.ntp_request() for _ in range(n)], interval=0.1,
                                     bind=self.c1.addresses4[4])
        self.assert_served(replies[0], "first request under limited kod")
        kods = [(i, r) for i, r in enumerate(replies) if r and r["stratum"] == 0]
        served = [i for i, r in enumerate(replies) if r and r["stratum"] != 0]
        self.assertGreaterEqual(len(kods), 1, "no RATE kiss: %r" % received)
        for i, r in kods:
            self.assert_kod(r, "RATE")
        # One kiss per `minimum` (2 s) at most: 3 s of requests, at most 2 (and the boundary).
        self.assertLessEqual(len(kods), 3, "kisses: %r" % [i for i, _ in kods])
        self.assertLessEqual(len(served), 3, "served: %r" % served)
        self.assertEqual(len(received), len(kods) + len(served), "replies that match no request")
        self.assertLess(len(received), n / 5, "far fewer replies than requests")

    def test_version(self):
        self.rules("default version")
        replies, received = self.ask(self.c1, [harness.ntp_request(version=3), harness.ntp_request(version=4)],
                                     interval=0.1)
        self.assertIsNone(replies[0], "a version 3 request answered under `version`")
        self.assert_served(replies[1], "version 4 under `version`")
        self.assertEqual(replies[1]["version"], 4)
        self.rules("default")
        replies, _ = self.ask(self.c1, [harness.ntp_request(version=3)])
        self.assert_served(replies[0], "version 3 without `version`")
        self.assertEqual(replies[0]["version"], 3, "the reply has the request's version")

    def test_nopeer(self):
        self.rules("default")
        replies, _ = self.ask(self.c1, [harness.ntp_request(mode=1)])
        self.assertIsNotNone(replies[0], "symmetric active request not answered without nopeer")
        self.assertEqual(replies[0]["mode"], 2, "a symmetric active request gets a symmetric passive reply")
        self.assertEqual(replies[0]["stratum"], 10)
        self.rules("default nopeer")
        replies, received = self.ask(self.c1, [harness.ntp_request(mode=1), harness.ntp_request(mode=3)],
                                     interval=0.1)
        self.assertIsNone(replies[0], "mode 1 answered under nopeer: %r" % received)
        self.assert_served(replies[1], "mode 3 under nopeer")

    def test_mode7_never_answered(self):
        for rules in (["default"], ["default", "198.51.100.0/24"]):
            self.rules(*rules)
            for length in (8, 48, 192):
                with self.subTest(rules=rules, length=length):
                    _, received = self.ask(self.c1, [mode7_request(length=length)])
                    self.assert_silent(received, "to mode 7 (%d bytes)" % length)
        # Nor from the loopback address inside D.
        p = self.lab.client.run([harness.PYTHON3, os.path.join(harness.HERE, "harness.py"), "exchange", "127.0.0.1",
                                 "--wait", str(WAIT), mode7_request().hex()])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('"received": []', p.stdout)

    def test_mode6_from_the_network(self):
        """Mode 6 is for loopback unless a rule of its own lets a network in: nothing comes back to
        a network client under default rules, nor with noquery."""
        for rules in ([], ["default"], ["default kod limited nomodify notrap nopeer noquery"],
                      ["default", "198.51.100.0/24 noquery"]):
            self.rules(*rules)
            with self.subTest(rules=rules):
                _, received = self.ask(self.c1, [mode6_readvar()], bind=self.c1.addresses4[5])
                self.assert_silent(received, "to mode 6")
                _, received = self.ask(self.c1, [mode6_readvar()], v6=True)
                self.assert_silent(received, "to mode 6 over IPv6")

    def test_ntpport(self):
        """`ntpport` rules match only clients sending from port 123."""
        self.rules("default", "198.51.100.0/24 ntpport ignore")
        replies, _ = self.ask(self.c1, [harness.ntp_request()])
        self.assert_served(replies[0], "from a high port (the ntpport rule does not match)")
        _, received = self.ask(self.c1, [harness.ntp_request()], sport=123)
        self.assert_silent(received, "from port 123 (the ntpport rule matches)")

    def test_rules_change_on_next_packet(self):
        for turn in range(2):
            self.rules("default")
            replies, _ = self.ask(self.c2, [harness.ntp_request()])
            self.assert_served(replies[0], "(turn %d) under default" % turn)
            self.rules("default", "203.0.113.0/24 ignore")
            _, received = self.ask(self.c2, [harness.ntp_request()])
            self.assert_silent(received, "(turn %d) on the first packet after the reload" % turn)
            self.rules("default")
            replies, _ = self.ask(self.c2, [harness.ntp_request()])
            self.assert_served(replies[0], "(turn %d) on the first packet after lifting the rule" % turn)

    def test_bad_rules_keep_the_running_ones(self):
        self.rules("default", "203.0.113.0/24 ignore")
        self.lab.write_config("ntpsyncd.conf", BASE + ["restrict default", "restrict 203.0.113.0 mask 255.0.255.0"])
        before = len(self.daemon.process.stderr())
        self.daemon.reload()
        self.assertRegex(self.daemon.process.stderr()[before:], r"ntpsyncd.conf:4: .*keeping the running configuration")
        _, received = self.ask(self.c2, [harness.ntp_request()])
        self.assert_silent(received, "after a refused reload, the old rules hold")
        self.rules("default")


class TestRestrictDBus(RestrictBase):
    """SetRestrictRules over D-Bus (busctl on a private bus; the caller is root, whom ntpsyncd
    lets through without polkit) changes behaviour on the next packet, like a reload."""
    bus = True

    def busctl(self, *args):
        p = self.private_bus.busctl(*args)
        self.assertEqual(p.returncode, 0, "busctl %s: %s%s" % (" ".join(args), p.stdout, p.stderr))
        return p.stdout

    def set_rules(self, rules):
        # "--": rules such as "-6 default" are not options of busctl.
        self.busctl("call", "--", "org.ntpsync1", "/org/ntpsync1", "org.ntpsync1.Manager", "SetRestrictRules", "asb",
                    str(len(rules)), *rules, "true")

    def test_set_restrict_rules(self):
        self.assertTrue(self.private_bus.wait_for_name("org.ntpsync1"),
                        "ntpsyncd did not take org.ntpsync1:\n" + self.daemon.process.stderr())
        replies, _ = self.ask(self.c1, [harness.ntp_request()])
        self.assert_served(replies[0], "before")
        self.set_rules(["-4 default", "-6 default", "198.51.100.0/24 ignore"])
        _, received = self.ask(self.c1, [harness.ntp_request()])
        self.assert_silent(received, "on the first packet after SetRestrictRules")
        replies, _ = self.ask(self.c2, [harness.ntp_request()])
        self.assert_served(replies[0], "another network")
        out = self.busctl("get-property", "org.ntpsync1", "/org/ntpsync1", "org.ntpsync1.Manager", "RestrictRules")
        self.assertIn("198.51.100.0/24", out)
        self.set_rules(["default"])
        replies, _ = self.ask(self.c1, [harness.ntp_request()])
        self.assert_served(replies[0], "on the first packet after lifting the rule")


if __name__ == "__main__":
    harness.main_unittest()
