#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Bad arguments to org.ntpsync1.Manager (and timesync1's SetRuntimeNTPServers), from uid 65534
while polkit would allow everything: each is org.freedesktop.DBus.Error.InvalidArgs with a
message that names the problem, is refused BEFORE any authorization (the polkit mock records no
CheckAuthorization), and changes nothing (setting properties and settings.conf). D-Bus strings
cannot carry NUL, so control characters, spaces, quotes and newlines stand in for it. A few of
the same through busctl and ntpsyncctl."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbustest  # noqa: E402
from dbustest import ERROR_INVALID_ARGS, log  # noqa: E402

LONG = "a" * 300          # an overlong name
LONG_DNS = ".".join(["b" * 60] * 5)  # 304 characters, labels of legal length
OK_SERVER = "server 198.51.100.1 iburst"


def servers(n, fmt="server 198.51.100.%d"):
    return [fmt % (i % 250) if "%" in fmt else fmt for i in range(n)]


def distinct_servers(n):
    return ["server 10.%d.%d.1" % (i // 250, i % 250) for i in range(n)]


# (method, signature, args, regex the message must match); interface Manager unless noted
CASES = [
    # server specs
    ("SetServers", "asb", [[], False], r"No servers given"),
    ("SetServers", "asb", [[""], False], r"Invalid server spec \"\": empty server spec"),
    ("SetServers", "asb", [["server"], False], r"no host given"),
    ("SetServers", "asb", [["server bad_host!"], False], r"Invalid server spec .*not a valid host"),
    ("SetServers", "asb", [["server 198.51.100.1 iburst bogus"], False], r"unknown server option"),
    ("SetServers", "asb", [["server 198.51.100.1 minpoll 9 maxpoll 4"], False], r"minpoll is larger than maxpoll"),
    ("SetServers", "asb", [["server 198.51.100.1 minpoll"], False], r"Invalid server spec"),
    ("SetServers", "asb", [["server 198.51.100.1 key 1"], False], r"symmetric keys and autokey are not supported"),
    ("SetServers", "asb", [["198.51.100.1 iburst"], False], r"a spec is"),
    ("SetServers", "asb", [["server 198.51.100.1\x01"], False], r"not a valid host"),
    ("SetServers", "asb", [["server \x01198.51.100.1"], False], r"not a valid host"),
    ("SetServers", "asb", [["server 198.51.100.1 iburst\x7f"], False], r"Invalid server spec"),
    ("SetServers", "asb", [["server \"198.51.100.1\""], False], r"not a valid host"),
    ("SetServers", "asb", [["server '198.51.100.1'"], False], r"not a valid host"),
    ("SetServers", "asb", [["server 198.51.100.1\nrestrict default ignore"], False], r"Invalid server spec"),
    ("SetServers", "asb", [["server 198.51.100.1 minpoll 4\nserver 198.51.100.2"], False], r"Invalid server spec"),
    ("SetServers", "asb", [["server 198.51.100.1 # comment"], False], r"Invalid server spec"),
    ("SetServers", "asb", [["server -oops"], False], r"not a valid host"),
    ("SetServers", "asb", [["server a..b"], False], r"not a valid host"),
    ("SetServers", "asb", [["server " + LONG], False], r"not a valid host"),
    ("SetServers", "asb", [[LONG_DNS], False], r"not a valid host"),
    ("SetServers", "asb", [["server " + "x" * 2000], False], r"too long"),
    ("SetServers", "asb", [["server 198.51.100.1", "198.51.100.1"], False], r"Duplicate server 198\.51\.100\.1"),
    ("SetServers", "asb", [["server Host.Example.Test", "pool host.example.test"], False], r"Duplicate server"),
    ("SetServers", "asb", [servers(10000, OK_SERVER), False], r"Too many elements \(10000\)"),
    ("SetServers", "asb", [distinct_servers(129), False], r"More than 128 servers"),
    ("SetServers", "asb", [[OK_SERVER, "server bad host"], False], r"bad host"),
    ("SetServers", "sb", [OK_SERVER, False], r"expecting 'asb'"),  # wrong signature: sd-bus refuses it
    ("AddServer", "sb", ["", False], r"empty server spec"),
    ("AddServer", "sb", ["server " + LONG, False], r"not a valid host"),
    ("AddServer", "sb", ["server 198.51.100.1 prefer\x02", False], r"Invalid server spec"),
    ("AddServer", "sb", ["pool pool.example.test maxsources 99999", False], r"Invalid server spec"),
    ("AddServer", "sb", ["@SERVER@", False], r"is already a server"),
    ("RemoveServer", "sb", ["", False], r"Not a valid host"),
    ("RemoveServer", "sb", ["198.51.100.1 iburst", False], r"Not a valid host"),
    ("RemoveServer", "sb", [LONG, False], r"Not a valid host"),
    ("RemoveServer", "sb", ["198.51.100.77", False], r"No server 198\.51\.100\.77"),
    # restrict rules
    ("SetRestrictRules", "asb", [["bogus rule"], False], r"Invalid restrict rule \"bogus rule\""),
    ("SetRestrictRules", "asb", [["default frobnicate"], False], r"Invalid restrict rule .*unknown restrict flag: 'frobnicate'"),
    ("SetRestrictRules", "asb", [["192.0.2.0 mask 255.0.255.0"], False], r"Invalid restrict rule .*contiguous netmask.*: '255.0.255.0'"),
    ("SetRestrictRules", "asb", [["192.0.2.0/33"], False], r"Invalid restrict rule"),
    ("SetRestrictRules", "asb", [["192.0.2.0/24 nomodify\x01"], False], r"Invalid restrict rule"),
    ("SetRestrictRules", "asb", [["\"192.0.2.0/24\" ignore"], False], r"Invalid restrict rule"),
    ("SetRestrictRules", "asb", [["192.0.2.0/24 nomodify\nrestrict default ignore"], False], r"Invalid restrict rule"),
    ("SetRestrictRules", "asb", [[LONG + " ignore"], False], r"Invalid restrict rule"),
    ("SetRestrictRules", "asb", [["192.0.2.0 mask 255.255.255.0 nomodify", "192.0.2.0/24 ignore"], False],
     r"Two rules for the same address"),
    ("SetRestrictRules", "asb", [["default kod"] * 10000, False], r"Too many elements \(10000\)"),
    ("SetRestrictRules", "asb", [["10.%d.%d.0/24" % (i // 256, i % 256) for i in range(257)], False], r"More than 256 rules"),
    ("AddRestrict", "sb", ["", False], r"Invalid restrict rule"),
    ("AddRestrict", "sb", ["198.51.100.0 mask 255.255.255.0 bogusflag", False], r"Invalid restrict rule"),
    ("AddRestrict", "sb", ["198.51.100.0/24 noquery\x1b[0m", False], r"Invalid restrict rule"),
    ("RemoveRestrict", "sb", ["default", False], r"default rules can be changed but not removed"),
    ("RemoveRestrict", "sb", ["198.51.100.0/24 nomodify", False], r"Give only the address"),
    ("RemoveRestrict", "sb", ["203.0.113.0/24", False], r"No rule for 203\.0\.113\.0/24"),
    ("RemoveRestrict", "sb", [LONG, False], r"Invalid restrict rule"),
    # NTS serving
    ("SetNts", "bssb", [True, "", "", False], r"Serving NTS needs a certificate and a key; none is configured"),
    ("SetNts", "bssb", [True, "/etc/ntpsync/cert.pem", "", False], r"Serving NTS needs a key; none is configured"),
    ("SetNts", "bssb", [True, "cert.pem", "/etc/ntpsync/key.pem", False], r"Invalid certificate path"),
    ("SetNts", "bssb", [True, "/etc/ntpsync/cert.pem", "/etc/my key.pem", False], r"Invalid key path"),
    ("SetNts", "bssb", [True, "/etc/ntpsync/cert.pem\nnts disable", "/k.pem", False], r"Invalid certificate path"),
    ("SetNts", "bssb", [True, "/etc/#cert.pem", "/k.pem", False], r"Invalid certificate path"),
    ("SetNts", "bssb", [True, "/" + "c" * 2000, "/k.pem", False], r"Invalid certificate path"),
    ("SetNts", "bssb", [True, "/etc/ntpsync/cert.pem", "/k.pem\x01", False], r"Invalid key path"),
    # Query validates too (it needs no authorization, but a bad host must not be looked up)
    ("Query", "s", [""], r"Not a valid host"),
    ("Query", "s", ["host name with spaces"], r"Not a valid host"),
    ("Query", "s", [LONG], r"Not a valid host"),
    ("Query", "s", ["198.51.100.1\x01"], r"Not a valid host"),
]

TIMESYNC_CASES = [
    (["bad host"], r"Invalid NTP server name or address: bad host"),
    ([LONG], r"Invalid NTP server name or address"),
    (["198.51.100.1\x01"], r"Invalid NTP server name or address"),
    (["10.0.%d.1" % i for i in range(129)], r"More than 128 servers"),
    (["198.51.100.1"] * 10000, r"(Too many|More than)"),
]


class TestBadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = dbustest.World("bad")
        cls.addClassCleanup(cls.w.close)
        w = cls.w
        w.start_daemon()
        # A persisted starting state, so that "nothing changed" covers settings.conf too.
        r = w.call("SetRestrictRules", "asb", [["default kod nomodify", "198.51.100.0/24 noquery"], False])
        assert r.ok, r
        r = w.call("AddServer", "sb", ["server 198.51.100.1 iburst", False])
        assert r.ok, r

    def setUp(self):
        self.w.polkit.allow_all()  # were validation skipped, the change would go through

    def check_refused(self, result, regex, what):
        self.assertFalse(result.ok, "%s was accepted" % what)
        self.assertEqual(result.error, ERROR_INVALID_ARGS, "%s: %r" % (what, result))
        self.assertTrue(result.message, "%s: no message" % what)
        self.assertRegex(result.message, regex, what)
        self.assertLess(len(result.message), 1200, "%s: message of %d characters" % (what, len(result.message)))

    def test_manager_methods(self):
        w = self.w
        before = w.snapshot()
        for method, signature, args, regex in CASES:
            args = [a.replace("@SERVER@", w.server_spec()) if isinstance(a, str) else a for a in args]
            what = "%s(%s)" % (method, repr(args)[:100])
            for runtime in (False, True):
                if signature.endswith("b") and len(args) == 2:
                    args = [args[0], runtime]
                elif runtime:
                    continue
                r = w.call(method, signature, args, nobody=True)
                log("%s -> %s: %s" % (what, r.error, r.message[:200]))
                self.check_refused(r, regex, what)
            self.assertEqual(w.polkit.calls(), [], "%s asked polkit before validating" % what)
        self.assertEqual(w.snapshot(), before)
        self.assertTrue(w.daemon.process.running())

    def test_messages_are_printable(self):
        """An error message quotes what was wrong, but never raw control characters: they would
        reach the caller's terminal (ntpsyncctl, busctl print the message)."""
        w = self.w
        for method, args in [("SetServers", [["server 198.51.100.1\x1b]0;owned\x07"], False]),
                             ("AddServer", ["server 198.51.100.1\r\nfake: line", False]),
                             ("AddRestrict", ["198.51.100.0/24 noquery\x1b[2J", False]),
                             ("SetRestrictRules", [["198.51.100.0/24\x01"], False])]:
            r = w.call(method, "asb" if method.startswith("Set") else "sb", args, nobody=True)
            self.assertEqual(r.error, ERROR_INVALID_ARGS, r)
            bad = [c for c in r.message if ord(c) < 0x20 or ord(c) == 0x7f]
            self.assertEqual(bad, [], "%s: the error message carries control characters: %r" % (method, r.message))

    def test_timesync1(self):
        w = self.w
        before = w.snapshot()
        runtime_before = w.get("RuntimeNTPServers", dbustest.TIMESYNC_INTERFACE, dbustest.TIMESYNC_NAME,
                               dbustest.TIMESYNC_PATH)
        for names, regex in TIMESYNC_CASES:
            r = w.call("SetRuntimeNTPServers", "as", [names], nobody=True, dest=dbustest.TIMESYNC_NAME,
                       path=dbustest.TIMESYNC_PATH, interface=dbustest.TIMESYNC_INTERFACE)
            self.check_refused(r, regex, "SetRuntimeNTPServers(%r)" % (repr(names)[:80]))
        self.assertEqual(w.polkit.calls(), [])
        self.assertEqual(w.snapshot(), before)
        self.assertEqual(w.get("RuntimeNTPServers", dbustest.TIMESYNC_INTERFACE, dbustest.TIMESYNC_NAME,
                               dbustest.TIMESYNC_PATH), runtime_before)

    def test_busctl(self):
        w = self.w
        before = w.snapshot()
        cases = [
            ("SetServers", "asb", [[], False], "No servers given"),
            ("SetServers", "asb", [["server 198.51.100.5", "server 198.51.100.5"], False], "Duplicate server"),
            ("SetServers", "asb", [servers(10000, OK_SERVER), False], "Too many elements (10000)"),
            ("SetServers", "asb", [["server 'quoted host'"], False], "not a valid host"),
            ("AddRestrict", "sb", ["192.0.2.0 mask 255.255.255.0 bogus", True], "Invalid restrict rule"),
            ("RemoveServer", "sb", [LONG, True], "Not a valid host"),
        ]
        for method, signature, args, text in cases:
            for interactive in (False, True):
                p = w.busctl_call(method, signature, args, nobody=True, interactive=interactive)
                self.assertEqual(p.returncode, 1, method)
                self.assertIn(text, p.stderr)
        self.assertEqual(w.polkit.calls(), [])
        self.assertEqual(w.snapshot(), before)

    def test_ntpsyncctl(self):
        w = self.w
        if not w.ctl:
            self.skipTest("ntpsyncctl is not built")
        before = w.snapshot()
        cases = [
            (["servers", "set", "server bad_host!"], "not a valid host"),
            (["servers", "set", "server 198.51.100.5", "198.51.100.5"], "Duplicate server"),
            (["servers", "add", "server", "198.51.100.5", "wibble"], "unknown server option"),
            (["servers", "add", "server", "198.51.100.5\x01"], "not a valid host"),
            (["servers", "remove", LONG], "Not a valid host"),
            (["restrict", "set", "192.0.2.0/24 ignore", "192.0.2.0 mask 255.255.255.0"], "Two rules for the same"),
            (["restrict", "add", "192.0.2.0", "mask", "255.255.255.0", "bogus"], "Invalid restrict rule"),
            (["restrict", "remove", "default"], "not removed"),
            (["--runtime", "servers", "set"] + servers(10000, OK_SERVER), "Too many elements"),
        ]
        for args, text in cases:
            p = w.ntpsyncctl(args, nobody=True)
            self.assertEqual(p.returncode, dbustest.CTL_FAILED, "%s: %s" % (args[:3], p.stderr))
            self.assertIn(text, p.stderr)
        self.assertEqual(w.polkit.calls(), [])
        self.assertEqual(w.snapshot(), before)


if __name__ == "__main__":
    dbustest.main_unittest()
