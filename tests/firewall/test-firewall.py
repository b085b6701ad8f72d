#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The firewall module (src/daemon/firewall*.c) through tests/firewall/firewall-probe.

nftables cases run in network namespaces this test creates (names with its PID, deleted by name
in tearDown and at exit) and need root, nft(8) and the helper; NTP traffic comes from NTPsec's
ntpdig in the client namespace of a harness Lab against chronyd in the server namespace, where
the probe applies the state. firewalld cases run against a python-dbusmock firewalld
(firewalld_mock.py) on a private dbus-daemon and need no root. The compiler cases need nothing.
"""

import ipaddress
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402

SOURCE_ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
PROBE = os.environ.get("FIREWALL_PROBE") or os.path.join(SOURCE_ROOT, "build", "tests", "firewall", "firewall-probe")
HELPER = os.environ.get("NTPSYNCD_FIREWALL_HELPER") or \
    os.path.join(SOURCE_ROOT, "build", "src", "daemon", "ntpsyncd-firewall-helper")
ROOT = os.geteuid() == 0
NFT = shutil.which("nft") or ("/usr/sbin/nft" if os.path.exists("/usr/sbin/nft") else None)
HAVE_HELPER = os.access(HELPER, os.X_OK)
NFT_OK = ROOT and NFT is not None and HAVE_HELPER
NFT_SKIP = "needs root, nft(8) and ntpsyncd-firewall-helper"

CAP_NET_ADMIN = 1 << 12
EBADMSG, EPROTO, EOPNOTSUPP, EINVAL, E2BIG, EAFNOSUPPORT = 74, 71, 95, 22, 7, 97

POLICY_DROP_WARNING = "table inet filter chain input drops udp port 123 (policy drop)"
NTS_KE_POLICY_DROP_WARNING = "table inet filter chain input drops tcp port 4460 (policy drop)"
NTS_KE_RULE = 'tcp dport 4460 counter packets 0 bytes 0 accept comment "ntpsync nts-ke"'
NTS_KE_OFF_RULE = 'tcp dport 4460 counter packets 0 bytes 0 drop comment "ntpsync nts-ke off"'


def run_probe(args, ns=None, env=None, timeout=60, prefix=()):
    """Runs the probe (in namespace ns); returns (CompletedProcess, [one dict per command])."""
    argv = list(prefix) + [PROBE] + list(args)
    if ns is not None:
        argv = ns.exec_argv(argv)
    full_env = dict(os.environ)
    full_env["NTPSYNCD_FIREWALL_HELPER"] = HELPER
    if env:
        full_env.update(env)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                       env=full_env, timeout=timeout)
    results = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    check_sanitizers(p.stderr)
    return p, results


def check_sanitizers(text):
    """A sanitizer build reports on stderr (the probe's, and the helper's, which it inherits)."""
    if re.search(r"Sanitizer|runtime error:", text):
        raise AssertionError("sanitizer report:\n" + text)


def results_until_pause(test, p):
    """The probe's results, one JSON line each, up to its `pause`."""
    results = []
    while not results or results[-1]["command"] != "pause":
        line = p.stdout.readline()
        if not line:
            test.fail("probe ended early: " + p.stderr.read())
        results.append(json.loads(line))
    return results


def run_paused(test, argv, env, during_pause, timeout=30):
    """Runs the probe (argv) with a `pause` among its commands: during_pause(the results so far)
    runs there, then the probe goes on to its end. Returns (results before the pause, results
    after it, exit status, stderr)."""
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, env=env)
    try:
        before = results_until_pause(test, p)
        during_pause(before)
        out, err = p.communicate("\n", timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    check_sanitizers(err)
    return before, [json.loads(line) for line in out.splitlines() if line.startswith("{")], p.returncode, err


def probe_ok(testcase, args, ns=None, env=None):
    p, results = run_probe(args, ns=ns, env=env)
    testcase.assertEqual(p.returncode, 0, "probe %s failed:\n%s\n%s" % (args, p.stdout, p.stderr))
    return results


def nft(ns, *args, check=True):
    p = ns.run([NFT] + list(args))
    if check and p.returncode != 0:
        raise RuntimeError("nft %s: %s" % (" ".join(args), p.stderr.strip()))
    return p.stdout


def our_rules(ns):
    """The rules of table inet ntpsync as {comment: rule} (and the total count), from nft -j."""
    data = json.loads(nft(ns, "-j", "list", "table", "inet", "ntpsync"))
    rules = [i["rule"] for i in data["nftables"] if "rule" in i]
    return {r.get("comment"): r for r in rules}, len(rules)


def packets(rule):
    return sum(e["counter"]["packets"] for e in rule["expr"] if "counter" in e)


def has_table(ns, family, name):
    return re.search(r"^table %s %s$" % (family, name), nft(ns, "list", "tables"), re.M) is not None


class Namespaced(unittest.TestCase):
    """A fresh network namespace per test."""

    _n = 0

    def setUp(self):
        Namespaced._n += 1
        self.ns = harness.Netns("fw%d-%d" % (os.getpid(), Namespaced._n))

    def tearDown(self):
        self.ns.delete()


# --------------------------------------------------------------------------------------------


class Compile(unittest.TestCase):
    """restrict rules → ranges, the most specific rule deciding (needs nothing)."""

    def compile(self, *rules):
        args = ["compile"]
        for r in rules:
            args += ["--restrict", r]
        p, results = run_probe(args, env={"NTPSYNCD_FIREWALL_HELPER": "/nonexistent"})
        self.assertEqual(p.returncode, 0, p.stderr)
        return [tuple(r) for r in results[-1]["ranges"]]

    def test_nothing_ignored(self):
        self.assertEqual(self.compile("default kod limited nomodify", "192.0.2.0/24 noquery"), [])

    def test_prefixes(self):
        self.assertEqual(self.compile("192.0.2.0/30 ignore", "2001:db8::/64 ignore"),
                         [("192.0.2.0", "192.0.2.3"), ("2001:db8::", "2001:db8::ffff:ffff:ffff:ffff")])

    def test_default_ignore_with_exceptions(self):
        self.assertEqual(self.compile("default ignore", "192.0.2.0/24 nomodify", "192.0.2.128/25 ignore",
                                      "-6 default noquery"),
                         [("0.0.0.0", "192.0.1.255"), ("192.0.2.128", "255.255.255.255")])

    def test_nested_and_merged(self):
        # /24 ignore containing a /28 allowed containing a /30 ignored; adjacent ranges merge.
        self.assertEqual(self.compile("198.51.100.0/24 ignore", "198.51.100.16/28", "198.51.100.20/30 ignore",
                                      "203.0.113.0/25 ignore", "203.0.113.128/25 ignore"),
                         [("198.51.100.0", "198.51.100.15"), ("198.51.100.20", "198.51.100.23"),
                          ("198.51.100.32", "198.51.100.255"), ("203.0.113.0", "203.0.113.255")])

    def test_ntpport_never_drops(self):
        # ignore for port-123 clients only: not a drop; an ntpport exception still cuts out.
        self.assertEqual(self.compile("192.0.2.0/24 ignore ntpport"), [])
        self.assertEqual(self.compile("192.0.2.0/24 ignore", "192.0.2.0/25 ntpport"),
                         [("192.0.2.128", "192.0.2.255")])


class Unprivileged(Namespaced):
    """Without CAP_NET_ADMIN or without the helper: backend "none", said clearly, nothing fails."""

    def setUp(self):
        if not ROOT:
            self.ns = None
            return
        super().setUp()

    def tearDown(self):
        if self.ns:
            super().tearDown()

    def test_no_cap_net_admin(self):
        prefix = ()
        if ROOT:
            # nobody, no capabilities left to regain
            prefix = ("setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "--inh-caps", "-all",
                      "--bounding-set", "-all", "--no-new-privs")
        p, results = run_probe(["read", "apply", "--server", "on", "remove", "drop-privileges"], ns=self.ns,
                               prefix=prefix)
        self.assertEqual(p.returncode, 1, p.stderr)  # apply and remove say no
        read, apply, remove, drop = results
        self.assertEqual(read["result"], 0)
        self.assertEqual(read["backend"], "none")
        self.assertIn("CAP_NET_ADMIN", read["reason"])
        self.assertEqual(apply["result"], -EOPNOTSUPP)
        self.assertIn("no firewall backend", apply["error"])
        self.assertEqual(remove["result"], -EOPNOTSUPP)
        self.assertEqual(drop["result"], 0)
        self.assertIn("Firewall: none", p.stderr)
        if ROOT:
            self.assertFalse(has_table(self.ns, "inet", "ntpsync"))

    @unittest.skipUnless(NFT_OK, NFT_SKIP)
    def test_no_helper(self):
        p, results = run_probe(["read"], ns=self.ns, env={"NTPSYNCD_FIREWALL_HELPER": "/nonexistent/helper"})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(results[0]["backend"], "none")
        self.assertIn("/nonexistent/helper", results[0]["reason"])


@unittest.skipUnless(NFT_OK, NFT_SKIP)
class Nftables(Namespaced):
    """The table inet ntpsync itself, in an empty namespace."""

    def test_rules_and_read_back(self):
        results = probe_ok(self, ["apply", "--client", "on", "--server", "on", "--ignore", "192.0.2.0/30",
                                  "--ignore", "2001:db8::/64", "read"], ns=self.ns)
        read = results[1]
        self.assertEqual((read["backend"], read["installed"], read["client"], read["server"], read["conntrack"]),
                         ("nftables", True, True, True, True))
        self.assertEqual(read["ignored"], 2)
        self.assertEqual(read["warning"], "")
        rules, n = our_rules(self.ns)
        self.assertEqual(sorted(rules), ["ntpsync client", "ntpsync client replies", "ntpsync ignore4",
                                         "ntpsync ignore6", "ntpsync server", "ntpsync server replies"])
        self.assertEqual(n, 6)
        for r in rules.values():
            self.assertTrue(any("counter" in e for e in r["expr"]), r)
        text = nft(self.ns, "list", "table", "inet", "ntpsync")
        self.assertIn("type filter hook input priority filter; policy accept;", text)
        self.assertIn("type filter hook output priority filter; policy accept;", text)
        self.assertIn("elements = { 192.0.2.0/30 }", text)
        self.assertIn("elements = { 2001:db8::/64 }", text)
        self.assertRegex(text, r"ip saddr @ignored4 udp dport 123 counter packets \d+ bytes \d+ drop")

        results = probe_ok(self, ["apply", "--client", "off", "--server", "off", "read"], ns=self.ns)
        read = results[1]
        self.assertEqual((read["installed"], read["client"], read["server"], read["ignored"]), (True, False, False, 0))
        rules, n = our_rules(self.ns)
        self.assertEqual(sorted(rules), ["ntpsync client off", "ntpsync ignore4", "ntpsync ignore6",
                                         "ntpsync server off"])

    def test_idempotent_and_restart(self):
        args = ["apply", "--client", "on", "--server", "off", "--ignore", "198.51.100.0/24"]
        probe_ok(self, args + args + ["read"], ns=self.ns)  # twice in one process
        first, n1 = our_rules(self.ns)
        probe_ok(self, args, ns=self.ns)  # a restarted daemon applies again
        again, n2 = our_rules(self.ns)
        self.assertEqual(n1, n2)
        self.assertEqual(sorted(first), sorted(again))
        self.assertEqual(nft(self.ns, "list", "tables").count("ntpsync"), 1)
        sets = json.loads(nft(self.ns, "-j", "list", "set", "inet", "ntpsync", "ignored4"))
        elems = [i["set"].get("elem", []) for i in sets["nftables"] if "set" in i][0]
        self.assertEqual(len(elems), 1)
        results = probe_ok(self, ["remove", "remove", "read"], ns=self.ns)
        self.assertEqual([r["result"] for r in results[:2]], [0, 0])
        self.assertFalse(results[2]["installed"])
        self.assertFalse(has_table(self.ns, "inet", "ntpsync"))

    def test_foreign_tables_untouched(self):
        self.ns.run([NFT, "add table inet filter; "
                          "add chain inet filter input { type filter hook input priority 0; policy accept; }; "
                          "add rule inet filter input iifname lo accept comment \"admin\"; "
                          "add set inet filter blocked { type ipv4_addr; elements = { 203.0.113.7 } }; "
                          "add table ip nat; "
                          "add chain ip nat post { type nat hook postrouting priority 100; }; "
                          "add rule ip nat post oifname eth9 masquerade"], check=True)
        before = nft(self.ns, "list", "table", "inet", "filter"), nft(self.ns, "list", "table", "ip", "nat")
        probe_ok(self, ["apply", "--client", "on", "--server", "on", "--ignore", "203.0.113.0/24"], ns=self.ns)
        self.assertTrue(has_table(self.ns, "inet", "ntpsync"))
        probe_ok(self, ["apply", "--client", "off", "--server", "off"], ns=self.ns)
        middle = nft(self.ns, "list", "table", "inet", "filter"), nft(self.ns, "list", "table", "ip", "nat")
        probe_ok(self, ["remove"], ns=self.ns)
        after = nft(self.ns, "list", "table", "inet", "filter"), nft(self.ns, "list", "table", "ip", "nat")
        self.assertEqual(before, middle)
        self.assertEqual(before, after)
        self.assertFalse(has_table(self.ns, "inet", "ntpsync"))
        self.assertEqual(sorted(nft(self.ns, "list", "tables").split("\n")),
                         sorted(["table inet filter", "table ip nat", ""]))

    def test_foreign_drops_reported(self):
        self.ns.run([NFT, "add table inet filter; "
                          "add chain inet filter input { type filter hook input priority 0; policy drop; }; "
                          "add rule inet filter input ct state established,related accept; "
                          "add table ip other; "
                          "add chain ip other out { type filter hook output priority 10; policy accept; }; "
                          "add rule ip other out udp dport 123 counter drop"], check=True)
        read = probe_ok(self, ["apply", "--client", "off", "--server", "on", "read"], ns=self.ns)[1]
        # The client is off: the foreign output drop agrees with it and is not reported.
        self.assertEqual(read["warning"], POLICY_DROP_WARNING)
        read = probe_ok(self, ["apply", "--client", "on", "--server", "on", "read"], ns=self.ns)[1]
        handle = re.search(r"udp dport 123 counter packets \d+ bytes \d+ drop # handle (\d+)",
                           nft(self.ns, "-a", "list", "table", "ip", "other")).group(1)
        self.assertEqual(read["warning"], POLICY_DROP_WARNING +
                         "; table ip other chain out drops udp port 123 (rule handle %s)" % handle)
        read = probe_ok(self, ["apply", "--client", "off", "--server", "off", "read"], ns=self.ns)[1]
        self.assertEqual(read["warning"], "")
        # The administrator opens port 123 in their table: nothing in the way any more.
        self.ns.run([NFT, "add rule inet filter input udp dport 123 accept"], check=True)
        self.ns.run([NFT, "delete table ip other"], check=True)
        read = probe_ok(self, ["apply", "--client", "on", "--server", "on", "read"], ns=self.ns)[1]
        self.assertEqual(read["warning"], "")

    def test_nts_ke_rules(self):
        """NTS served: TCP 4460 goes with the server direction, accepted or dropped; without NTS,
        ntpsync has no rule for it at all."""
        read = probe_ok(self, ["apply", "--client", "on", "--server", "on", "--nts-ke", "on", "read"], ns=self.ns)[1]
        self.assertEqual((read["server"], read["nts_ke"], read["server_state"], read["state_reason"]),
                         (True, True, "open", ""))
        self.assertEqual(read["warning"], "")
        rules, n = our_rules(self.ns)
        self.assertIn("ntpsync nts-ke", rules)
        self.assertNotIn("ntpsync nts-ke off", rules)
        self.assertEqual(n, 7)
        text = nft(self.ns, "list", "table", "inet", "ntpsync")
        self.assertIn(NTS_KE_RULE, text)
        # In chain input, after the drops of the ignored clients (which are about udp 123 only).
        self.assertNotRegex(text, r"@ignored\d tcp")

        read = probe_ok(self, ["apply", "--client", "on", "--server", "off", "--nts-ke", "on", "read"], ns=self.ns)[1]
        self.assertEqual((read["server"], read["nts_ke"], read["server_state"]), (False, False, "closed"))
        rules, _ = our_rules(self.ns)
        self.assertIn("ntpsync nts-ke off", rules)
        self.assertNotIn("ntpsync nts-ke", rules)
        self.assertIn(NTS_KE_OFF_RULE, nft(self.ns, "list", "table", "inet", "ntpsync"))

        # NTS not configured: 4460 is not ntpsync's, on or off.
        for server in ("on", "off"):
            read = probe_ok(self, ["apply", "--client", "on", "--server", server, "read"], ns=self.ns)[1]
            self.assertFalse(read["nts_ke"])
            self.assertEqual(read["server_state"], "open" if server == "on" else "closed")
            self.assertNotIn("4460", nft(self.ns, "list", "table", "inet", "ntpsync"))

    def test_nts_ke_rule_deleted_is_failed(self):
        """The read-back is honest: udp 123 still open but 4460 gone is "failed", naming 4460."""
        argv = self.ns.exec_argv([PROBE, "apply", "--server", "on", "--nts-ke", "on", "read", "pause", "read"])

        def delete_nts_ke_rule(results):
            self.assertEqual(results[1]["server_state"], "open")
            handle = re.search(r'comment "ntpsync nts-ke" # handle (\d+)',
                               nft(self.ns, "-a", "list", "table", "inet", "ntpsync")).group(1)
            nft(self.ns, "delete", "rule", "inet", "ntpsync", "input", "handle", handle)
        _, after, _, _ = run_paused(self, argv, dict(os.environ, NTPSYNCD_FIREWALL_HELPER=HELPER), delete_nts_ke_rule)
        read = after[0]
        self.assertEqual((read["server"], read["nts_ke"], read["client_state"], read["server_state"]),
                         (True, False, "open", "failed"))
        self.assertEqual(read["state_reason"],
                         "table inet ntpsync does not let NTS-KE (tcp port 4460) in (changed since it was applied)")

    def test_nts_ke_foreign_drops_reported(self):
        self.ns.run([NFT, "add table inet filter; "
                          "add chain inet filter input { type filter hook input priority 0; policy drop; }; "
                          "add rule inet filter input ct state established,related accept; "
                          "add table ip other; "
                          "add chain ip other in { type filter hook input priority 10; policy accept; }; "
                          "add rule ip other in tcp dport 4460 counter drop"], check=True)
        read = probe_ok(self, ["apply", "--client", "off", "--server", "on", "--nts-ke", "on", "read"], ns=self.ns)[1]
        handle = re.search(r"tcp dport 4460 counter packets \d+ bytes \d+ drop # handle (\d+)",
                           nft(self.ns, "-a", "list", "table", "ip", "other")).group(1)
        self.assertEqual(read["warning"], POLICY_DROP_WARNING + "; " + NTS_KE_POLICY_DROP_WARNING +
                         "; table ip other chain in drops tcp port 4460 (rule handle %s)" % handle)
        # Without NTS, ntpsync says nothing about 4460.
        read = probe_ok(self, ["apply", "--client", "off", "--server", "on", "read"], ns=self.ns)[1]
        self.assertEqual(read["warning"], POLICY_DROP_WARNING)
        # Server off: the drops agree with it.
        read = probe_ok(self, ["apply", "--client", "off", "--server", "off", "--nts-ke", "on", "read"], ns=self.ns)[1]
        self.assertEqual(read["warning"], "")
        # The administrator opens both ports in their table and drops nothing else: nothing in the way.
        self.ns.run([NFT, "add rule inet filter input udp dport 123 accept; "
                          "add rule inet filter input tcp dport 4460 accept; delete table ip other"], check=True)
        read = probe_ok(self, ["apply", "--client", "off", "--server", "on", "--nts-ke", "on", "read"], ns=self.ns)[1]
        self.assertEqual(read["warning"], "")

    def test_privilege_separation(self):
        argv = self.ns.exec_argv([PROBE, "apply", "--server", "on", "read", "drop-privileges", "caps", "pause",
                                  "apply", "--server", "off", "read"])
        checked = {}

        def check_separation(results):
            apply, read, drop, caps, _ = results
            self.assertEqual((apply["result"], drop["result"]), (0, 0))
            # The probe (the daemon's side): CAP_NET_ADMIN gone from effective, permitted, bounding.
            for key in ("CapEff", "CapPrm", "CapBnd"):
                self.assertEqual(int(caps[key], 16) & CAP_NET_ADMIN, 0, key)
            # The helper: CAP_NET_ADMIN and nothing else, nobody, no new privileges.
            helper = checked["helper"] = read["helper_pid"]
            self.assertGreater(helper, 0)
            with open("/proc/%d/status" % helper) as f:
                status = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
            for key in ("CapEff", "CapPrm", "CapBnd"):
                self.assertEqual(int(status[key], 16), CAP_NET_ADMIN, key)
            self.assertEqual(int(status["CapInh"], 16), 0)
            self.assertEqual(int(status["CapAmb"], 16), 0)
            self.assertEqual(status["NoNewPrivs"].strip(), "1")
            self.assertEqual(status["Uid"].split(), ["65534"] * 4)
            self.assertEqual(status["Gid"].split(), ["65534"] * 4)
            with open("/proc/%d/cmdline" % helper) as f:
                self.assertEqual(f.read().split("\0")[0], "ntpsyncd-firewall-helper")
        # After the pause: the helper still does the work for the daemon that gave CAP_NET_ADMIN up.
        _, results, returncode, err = run_paused(self, argv, dict(os.environ, NTPSYNCD_FIREWALL_HELPER=HELPER),
                                                 check_separation)
        helper = checked["helper"]
        self.assertEqual(returncode, 0, err)
        self.assertEqual(results[0]["result"], 0)
        self.assertFalse(results[1]["server"])
        self.assertEqual(results[1]["helper_pid"], helper)
        # The daemon's side closed its socket: the helper is gone.
        self.assertFalse(os.path.exists("/proc/%d" % helper) and
                         "ntpsyncd-firewall-helper" in open("/proc/%d/cmdline" % helper).read())

    def test_ambient_capability_start(self):
        """A daemon started as a user with AmbientCapabilities=CAP_NET_ADMIN hands it to the helper."""
        prefix = ("setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "--inh-caps", "+net_admin",
                  "--ambient-caps", "+net_admin", "--bounding-set", "-all,+net_admin")
        p, results = run_probe(["apply", "--server", "on", "read", "drop-privileges", "caps", "apply", "--server",
                                "off", "read"], ns=self.ns, prefix=prefix)
        self.assertEqual(p.returncode, 0, p.stderr)
        apply, read, drop, caps, apply2, read2 = results
        self.assertEqual((apply["backend"], read["server"], read2["server"]), ("nftables", True, False))
        self.assertEqual(int(caps["CapEff"], 16) | int(caps["CapPrm"], 16) | int(caps["CapAmb"], 16), 0)

    def test_helper_death(self):
        """A helper that dies is noticed: errors, backend none, and the kernel keeps what it had."""
        argv = self.ns.exec_argv([PROBE, "apply", "--server", "on", "read", "pause", "read", "apply", "--server",
                                  "off", "read"])
        killed = {}

        def kill_helper(results):
            killed["pid"] = [r for r in results if r["command"] == "read"][-1]["helper_pid"]
            os.kill(killed["pid"], 9)
        _, after, returncode, err = run_paused(self, argv, dict(os.environ, NTPSYNCD_FIREWALL_HELPER=HELPER),
                                               kill_helper)
        helper = killed["pid"]
        read, apply, read2 = after
        self.assertEqual(returncode, 1)
        self.assertLess(read["result"], 0)
        self.assertEqual(apply["result"], -EOPNOTSUPP)
        self.assertIn("firewall helper", apply["error"])
        self.assertEqual((read2["result"], read2["backend"]), (0, "none"))
        self.assertIn("firewall helper", read2["reason"])
        self.assertIn("Firewall helper (PID %d)" % helper, err)
        self.assertIn('udp dport 123 counter packets 0 bytes 0 accept comment "ntpsync server"',
                      nft(self.ns, "list", "table", "inet", "ntpsync"))

    def test_helper_not_by_hand(self):
        p = self.ns.run([HELPER])
        self.assertEqual(p.returncode, 2)
        self.assertIn("not meant to be run by hand", p.stderr)


@unittest.skipUnless(NFT_OK, NFT_SKIP)
class HelperProtocol(Namespaced):
    """The helper alone, spoken to directly: every malformed request refused, nothing changed."""

    REQ_HEADER = struct.Struct("<IIIBBB1sI")
    RANGE = struct.Struct("<B7s16s16s")
    MAX_RANGES = 1024
    RESP = struct.Struct("<IIIiBBBBIQB7s512s1024s")
    MAGIC, VERSION = 0x4e545046, 2

    def setUp(self):
        super().setUp()
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        fd = theirs.fileno()
        self.proc = subprocess.Popen(self.ns.exec_argv(["sh", "-c", 'exec "$0" 3<&%d %d<&-' % (fd, fd), HELPER]),
                                     pass_fds=(fd,), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     universal_newlines=True)
        theirs.close()
        self.sock.settimeout(30)

    def tearDown(self):
        self.sock.close()
        try:
            self.proc.wait(10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            super().tearDown()

    def request(self, op, client=0, server=0, ranges=(), n=None, magic=None, version=None, pad=b"\0", nts_ke=0):
        body = self.REQ_HEADER.pack(self.MAGIC if magic is None else magic,
                                    self.VERSION if version is None else version,
                                    op, client, server, nts_ke, pad, len(ranges) if n is None else n)
        rs = b"".join(self.RANGE.pack(*r) if isinstance(r, tuple) else r for r in ranges)
        return body + rs + bytes(self.RANGE.size * self.MAX_RANGES - len(rs))

    def call(self, data):
        self.sock.send(data)
        reply = self.sock.recv(65536)
        self.assertEqual(len(reply), self.RESP.size)
        (magic, version, op, error, installed, client, server, ct, n_ignored, pkts, nts_ke, pad, msg,
         warn) = self.RESP.unpack(reply)
        self.assertEqual((magic, version, pad), (self.MAGIC, self.VERSION, bytes(7)))
        self.last_nts_ke = nts_ke
        return error, msg.split(b"\0")[0].decode(), installed

    @staticmethod
    def v4(a, b, pad=bytes(7), tail=bytes(12)):
        return (socket.AF_INET, pad, socket.inet_pton(socket.AF_INET, a) + tail,
                socket.inet_pton(socket.AF_INET, b) + tail)

    def test_refuses_malformed(self):
        self.assertEqual(self.call(self.request(1))[0], 0)  # HELLO
        good = self.v4("192.0.2.0", "192.0.2.3")
        cases = [
            (b"short", -EBADMSG),
            (self.request(2, 1, 1, [good]) + b"x", -EBADMSG),
            (self.request(2, 1, 1, [good], magic=0x12345678), -EPROTO),
            (self.request(2, 1, 1, [good], version=1), -EPROTO),  # before nts_ke
            (self.request(2, 1, 1, [good], version=3), -EPROTO),
            (self.request(9), -EOPNOTSUPP),
            (self.request(0), -EOPNOTSUPP),
            (self.request(2, 2, 1), -EINVAL),
            (self.request(2, 1, 7), -EINVAL),
            (self.request(2, 1, 1, pad=b"\1"), -EINVAL),
            (self.request(2, 1, 1, nts_ke=2), -EINVAL),
            (self.request(3, nts_ke=1), -EINVAL),
            (self.request(2, 1, 1, n=1025), -E2BIG),
            (self.request(3, client=1), -EINVAL),
            (self.request(4, n=1, ranges=[good]), -EINVAL),
            (self.request(2, 1, 1, [(7, bytes(7), bytes(16), bytes(16))]), -EAFNOSUPPORT),
            (self.request(2, 1, 1, [self.v4("192.0.2.0", "192.0.2.3", tail=b"\1" + bytes(11))]), -EINVAL),
            (self.request(2, 1, 1, [self.v4("192.0.2.0", "192.0.2.3", pad=b"\1" + bytes(6))]), -EINVAL),
            (self.request(2, 1, 1, [self.v4("192.0.2.9", "192.0.2.3")]), -EINVAL),
            (self.request(2, 1, 1, [self.v4("198.51.100.0", "198.51.100.9"), good]), -EINVAL),
            (self.request(2, 1, 1, [self.v4("192.0.2.0", "192.0.2.9"), self.v4("192.0.2.5", "192.0.2.20")]), -EINVAL),
            (self.request(2, 1, 1, [(socket.AF_INET6, bytes(7), bytes(16), bytes(16)), good]), -EINVAL),
            (self.request(2, 1, 1, [good], n=0), -EINVAL),  # an unused range that is not zero
        ]
        for data, expected in cases:
            error, message, _ = self.call(data)
            self.assertEqual(error, expected, message)
            self.assertTrue(message.startswith("request: "), message)
        self.assertFalse(has_table(self.ns, "inet", "ntpsync"))
        # Still serving, and a good request works.
        self.assertEqual(self.call(self.request(2, 1, 1, [good, self.v4("198.51.100.0", "198.51.100.255")]))[0], 0)
        error, _, installed = self.call(self.request(3))
        self.assertEqual((error, installed, self.last_nts_ke), (0, 1, 0))
        self.assertEqual(self.call(self.request(2, 1, 1, [good], nts_ke=1))[0], 0)
        error, _, installed = self.call(self.request(3))
        self.assertEqual((error, installed, self.last_nts_ke), (0, 1, 1))
        self.assertIn(NTS_KE_RULE, nft(self.ns, "list", "table", "inet", "ntpsync"))
        self.sock.close()
        self.assertEqual(self.proc.wait(10), 0)
        check_sanitizers(self.proc.stderr.read())


@unittest.skipUnless(NFT_OK, NFT_SKIP)
class Traffic(unittest.TestCase):
    """Real NTP: ntpdig in the client namespace, chronyd in the server namespace where the state is
    applied (harness.Lab: one veth pair, documentation addresses, see harness.Link)."""

    def setUp(self):
        try:
            harness.peers()
        except harness.SetupError as e:
            self.skipTest(str(e))
        self.lab = harness.Lab(tag="fw", shim=False)
        self.server = self.lab.chronyd(0.0)
        self.sns = self.server.link.server

    def tearDown(self):
        self.lab.close()

    def answers(self, address, timeout=1):
        pr = harness.peers()
        p = self.lab.client.run(harness.NO_SYS_TIME + [harness.PYTHON3, pr["NTPDIG"], "-j", "-t", str(timeout), address],
                                timeout=timeout + 20, env={"PYTHONPATH": pr["NTPSEC_PYTHONPATH"]})
        return p.returncode == 0 and '"offset"' in p.stdout

    def apply(self, *args):
        return probe_ok(self, ["apply", "--client", "on"] + list(args) + ["read"], ns=self.sns)[1]

    def test_server_on_off_and_ignore(self):
        v4, v6 = self.server.address, self.server.address6
        link = self.server.link
        net4 = str(ipaddress.ip_network(link.client_v4 + "/30", strict=False))
        net6 = str(ipaddress.ip_network(link.client_v6 + "/64", strict=False))
        self.assertTrue(self.answers(v4))

        read = self.apply("--server", "off")
        self.assertFalse(read["server"])
        self.assertFalse(self.answers(v4))
        self.assertFalse(self.answers(v6))
        rules, _ = our_rules(self.sns)
        self.assertGreater(packets(rules["ntpsync server off"]), 0)

        read = self.apply("--server", "on")
        self.assertTrue(read["server"])
        self.assertTrue(self.answers(v4))
        self.assertTrue(self.answers(v6))
        rules, _ = our_rules(self.sns)
        self.assertGreater(packets(rules["ntpsync server"]), 0)
        self.assertGreater(packets(rules["ntpsync server replies"]), 0)

        # restrict CLIENT-NETWORK/30 ignore: the client's network is dropped by the kernel.
        read = self.apply("--server", "on", "--ignore", net4)
        self.assertEqual(read["ignored"], 1)
        self.assertFalse(self.answers(v4))
        self.assertTrue(self.answers(v6))
        rules, _ = our_rules(self.sns)
        self.assertGreater(packets(rules["ntpsync ignore4"]), 0)
        self.assertEqual(packets(rules["ntpsync ignore6"]), 0)
        self.assertGreater(probe_ok(self, ["read"], ns=self.sns)[0]["ignored_packets"], 0)
        self.assertRegex(nft(self.sns, "list", "table", "inet", "ntpsync"),
                         r"ip saddr @ignored4 udp dport 123 counter packets [1-9]\d* bytes \d+ drop")

        self.apply("--server", "on", "--ignore", net4, "--ignore", net6)
        self.assertFalse(self.answers(v6))
        rules, _ = our_rules(self.sns)
        self.assertGreater(packets(rules["ntpsync ignore6"]), 0)

        # default ignore, but this one client allowed: the most specific rule decides.
        self.apply("--server", "on", "--restrict", "default ignore", "--restrict", link.client_v4 + " nomodify")
        self.assertTrue(self.answers(v4))
        self.assertFalse(self.answers(v6))

        # Removed: chronyd answers everyone again.
        probe_ok(self, ["remove"], ns=self.sns)
        self.assertTrue(self.answers(v4))
        self.assertTrue(self.answers(v6))

    def connects(self, address, port=4460, timeout=1):
        """Whether a TCP connection from the client namespace to address:port is accepted."""
        code = ("import socket, sys\n"
                "try:\n"
                "    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()\n"
                "except OSError:\n"
                "    sys.exit(1)\n")
        p = self.lab.client.run([harness.PYTHON3, "-c", code, address, str(port), str(timeout)], timeout=timeout + 20)
        return p.returncode == 0

    def test_nts_ke_port(self):
        """NTS-KE's port for real: a listener on TCP 4460 in the server namespace, reached from the
        client's with server on, not with server off."""
        listener = ("import socket\n"
                    "s = socket.socket(socket.AF_INET6)\n"
                    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                    "s.bind(('::', 4460))\n"
                    "s.listen(16)\n"
                    "while True:\n"
                    "    s.accept()[0].close()\n")
        self.lab.start_process("nts-ke-listener", self.sns.exec_argv([harness.PYTHON3, "-c", listener]))
        v4, v6 = self.server.address, self.server.address6
        deadline = time.monotonic() + 10
        while not self.connects(v4) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertTrue(self.connects(v4))

        read = self.apply("--server", "off", "--nts-ke", "on")
        self.assertEqual(read["server_state"], "closed")
        self.assertFalse(self.connects(v4))
        self.assertFalse(self.connects(v6))
        rules, _ = our_rules(self.sns)
        self.assertGreater(packets(rules["ntpsync nts-ke off"]), 0)

        read = self.apply("--server", "on", "--nts-ke", "on")
        self.assertEqual((read["server_state"], read["nts_ke"]), ("open", True))
        self.assertTrue(self.connects(v4))
        self.assertTrue(self.connects(v6))
        self.assertTrue(self.answers(v4))
        rules, _ = our_rules(self.sns)
        self.assertGreater(packets(rules["ntpsync nts-ke"]), 0)

        # Without NTS, server off leaves 4460 alone.
        self.apply("--server", "off")
        self.assertTrue(self.connects(v4))
        self.assertFalse(self.answers(v4))

    def test_foreign_policy_drop(self):
        """nftables cannot accept in one table what another drops: reported, and really so."""
        self.sns.run([NFT, "add table inet filter; "
                           "add chain inet filter input { type filter hook input priority 0; policy drop; }; "
                           "add rule inet filter input ct state established,related accept"], check=True)
        foreign = nft(self.sns, "list", "table", "inet", "filter")
        read = self.apply("--server", "on")
        self.assertTrue(read["server"])
        self.assertEqual(read["warning"], POLICY_DROP_WARNING)
        self.assertFalse(self.answers(self.server.address))
        # The administrator opens port 123 in their own table: through, and nothing reported.
        self.sns.run([NFT, "insert rule inet filter input udp dport 123 accept"], check=True)
        self.assertTrue(self.answers(self.server.address))
        self.assertEqual(probe_ok(self, ["read"], ns=self.sns)[0]["warning"], "")
        opened = nft(self.sns, "list", "table", "inet", "filter")
        self.assertNotEqual(foreign, opened)
        probe_ok(self, ["remove"], ns=self.sns)
        self.assertFalse(has_table(self.sns, "inet", "ntpsync"))
        self.assertEqual(nft(self.sns, "list", "table", "inet", "filter"), opened)


class Firewalld(unittest.TestCase):
    """firewalld, as a python-dbusmock service on a private system bus."""

    BUS_NAME = "org.fedoraproject.FirewallD1"
    MAIN = "/org/fedoraproject/FirewallD1"
    CONFIG = "/org/fedoraproject/FirewallD1/config"

    @classmethod
    def setUpClass(cls):
        try:
            import dbus
            import dbusmock  # noqa: F401
        except ImportError as e:
            raise unittest.SkipTest("needs python3-dbus and python3-dbusmock: %s" % e)
        if not shutil.which("dbus-daemon"):
            raise unittest.SkipTest("needs dbus-daemon")
        cls.dir = tempfile.mkdtemp(prefix="ntpsync-fw-")
        os.chmod(cls.dir, 0o755)
        cls.bus = harness.PrivateBus(cls)
        cls.log = open(os.path.join(cls.dir, "dbusmock.log"), "w")
        cls.mock_proc = subprocess.Popen([sys.executable, "-m", "dbusmock", "--template",
                                          os.path.join(HERE, "firewalld_mock.py")],
                                         env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=cls.bus.address),
                                         stdout=cls.log, stderr=subprocess.STDOUT)
        if not cls.bus.wait_for_name(cls.BUS_NAME, timeout=15):
            cls.tearDownClass()
            raise RuntimeError("the firewalld mock did not come up")
        cls.conn = dbus.bus.BusConnection(cls.bus.address)
        cls.dbus = dbus

    @classmethod
    def tearDownClass(cls):
        if cls.mock_proc.poll() is None:
            cls.mock_proc.terminate()
            try:
                cls.mock_proc.wait(10)
            except subprocess.TimeoutExpired:
                cls.mock_proc.kill()
                cls.mock_proc.wait()
        cls.log.close()
        cls.bus.process.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def mock(self, path=MAIN):
        import dbusmock
        return self.dbus.Interface(self.conn.get_object(self.BUS_NAME, path), dbusmock.MOCK_IFACE)

    def zone_path(self, zone):
        obj = self.conn.get_object(self.BUS_NAME, self.CONFIG)
        return str(obj.getZoneByName(zone, dbus_interface="org.fedoraproject.FirewallD1.config"))

    def setUp(self):
        m = self.mock()
        m.SetDefaultZone("public")
        m.SetPanicMode(False)
        m.SetFailPermanent(False)
        m.SetFailPortPermanent(False)
        for zone in ("public", "work"):
            m.SetServices(zone, ["ssh"], ["ssh"])
            m.SetPorts(zone, [], [])
        for path in (self.MAIN, self.CONFIG, self.zone_path("public"), self.zone_path("work")):
            self.mock(path).ClearCalls()

    def services(self, zone):
        runtime, permanent = self.mock().GetServices(zone)
        return sorted(str(s) for s in runtime), sorted(str(s) for s in permanent)

    def ports(self, zone):
        runtime, permanent = self.mock().GetPorts(zone)
        return sorted(str(s) for s in runtime), sorted(str(s) for s in permanent)

    def calls(self, path, method):
        """The arguments of each call of method on the object at path, as Python values."""
        def py(v):
            return str(v) if isinstance(v, str) else int(v) if isinstance(v, int) else v
        return [[py(a) for a in c[1]] for c in self.mock(path).GetMethodCalls(method)]

    def probe(self, *args, expect=0):
        p, results = run_probe(["--bus"] + list(args), env={"DBUS_SYSTEM_BUS_ADDRESS": self.bus.address})
        self.assertEqual(p.returncode, expect, "probe %s:\n%s\n%s" % (args, p.stdout, p.stderr))
        self.assertIn("Firewall: firewalld", p.stderr)
        return results

    def test_server_on_runtime_and_permanent(self):
        apply, read = self.probe("apply", "--server", "on", "read")
        self.assertEqual((apply["result"], apply["backend"]), (0, "firewalld"))
        self.assertEqual((read["backend"], read["zone"], read["server"], read["permanent"], read["installed"],
                          read["client"]), ("firewalld", "public", True, True, True, True))
        self.assertEqual(read["warning"], "")
        self.assertEqual(self.services("public"), (["ntp", "ssh"], ["ntp", "ssh"]))
        self.assertEqual(self.calls(self.MAIN, "addService"), [["public", "ntp", 0]])
        self.assertEqual(self.calls(self.CONFIG, "getZoneByName")[0], ["public"])
        self.assertEqual(self.calls(self.zone_path("public"), "addService"), [["ntp"]])
        self.assertEqual(self.services("work"), (["ssh"], ["ssh"]))

    def test_nts_ke_port_runtime_and_permanent(self):
        apply, read = self.probe("apply", "--server", "on", "--nts-ke", "on", "read")
        self.assertEqual(apply["result"], 0)
        self.assertEqual((read["server"], read["nts_ke"], read["permanent"], read["server_state"], read["warning"]),
                         (True, True, True, "open", ""))
        self.assertEqual(self.services("public"), (["ntp", "ssh"], ["ntp", "ssh"]))
        self.assertEqual(self.ports("public"), (["4460/tcp"], ["4460/tcp"]))
        self.assertEqual(self.calls(self.MAIN, "addPort"), [["public", "4460", "tcp", 0]])
        self.assertEqual(self.calls(self.zone_path("public"), "addPort"), [["4460", "tcp"]])
        self.assertEqual(self.ports("work"), ([], []))
        # Server off with NTS: the port goes with the service.
        read = self.probe("apply", "--server", "off", "--nts-ke", "on", "read")[1]
        self.assertEqual((read["server"], read["nts_ke"], read["server_state"]), (False, False, "closed"))
        self.assertEqual(self.ports("public"), ([], []))
        self.assertEqual(self.calls(self.MAIN, "removePort"), [["public", "4460", "tcp"]])
        self.assertEqual(self.calls(self.zone_path("public"), "removePort"), [["4460", "tcp"]])

    def test_nts_ke_port_not_ours_without_nts(self):
        # The administrator's own 4460/tcp: left alone without NTS, on and off.
        self.mock().SetPorts("public", ["4460/tcp"], ["4460/tcp"])
        results = self.probe("apply", "--server", "on", "read", "apply", "--server", "off", "read")
        self.assertEqual([r["result"] for r in results], [0, 0, 0, 0])
        self.assertEqual(self.ports("public"), (["4460/tcp"], ["4460/tcp"]))
        self.assertEqual(self.calls(self.MAIN, "queryPort"), [])
        self.assertEqual(self.calls(self.MAIN, "removePort"), [])
        self.assertEqual((results[1]["server_state"], results[3]["server_state"]), ("open", "closed"))

    def test_nts_ke_port_taken_back(self):
        # Added by this process, then NTS is no longer served: taken back; so on remove.
        results = self.probe("apply", "--server", "on", "--nts-ke", "on", "apply", "--server", "on", "apply",
                             "--server", "on", "read")
        self.assertEqual(results[-1]["server_state"], "open")
        self.assertEqual(self.ports("public"), ([], []))
        # Once: taken back, it is no longer this process's to take back.
        self.assertEqual(self.calls(self.MAIN, "removePort"), [["public", "4460", "tcp"]])
        self.assertEqual(self.calls(self.zone_path("public"), "removePort"), [["4460", "tcp"]])
        self.assertEqual(self.services("public"), (["ntp", "ssh"], ["ntp", "ssh"]))
        self.mock().SetServices("public", ["ssh"], ["ssh"])
        results = self.probe("apply", "--server", "on", "--nts-ke", "on", "remove", "read")
        self.assertFalse(results[-1]["server"])
        self.assertEqual(self.services("public"), (["ssh"], ["ssh"]))
        self.assertEqual(self.ports("public"), ([], []))

    def test_nts_ke_port_permanent_failure_rolls_back(self):
        """The last change fails: every one before it is taken back, the runtime ones too."""
        self.mock().SetFailPortPermanent(True)
        apply, read = self.probe("apply", "--server", "on", "--nts-ke", "on", "read", expect=1)
        self.assertLess(apply["result"], 0)
        self.assertIn("config.zone.addPort", apply["error"])
        self.assertIn("NOT_AUTHORIZED", apply["error"])
        self.assertEqual(self.calls(self.zone_path("public"), "removeService"), [["ntp"]])
        self.assertEqual(self.calls(self.MAIN, "removePort"), [["public", "4460", "tcp"]])
        self.assertEqual(self.calls(self.MAIN, "removeService"), [["public", "ntp"]])
        self.assertEqual(self.services("public"), (["ssh"], ["ssh"]))
        self.assertEqual(self.ports("public"), ([], []))
        self.assertEqual((read["server"], read["nts_ke"], read["server_state"]), (False, False, "failed"))

    def test_nts_ke_port_removed_behind_our_back(self):
        def change_behind_our_back():
            self.mock().SetPorts("public", [], ["4460/tcp"])
            self.mock().EmitSignal("org.fedoraproject.FirewallD1.zone", "PortRemoved", "sssi",
                                   ["public", "4460", "tcp", 0])

        results, rc, err = self.probe_paused(["apply-async", "--server", "on", "--nts-ke", "on", "pause", "run",
                                              "2000", "state"], change_behind_our_back)
        applied, state, _, run, after = results
        self.assertEqual(rc, 0, err)
        self.assertEqual((state["server_state"], state["nts_ke"]), ("open", True))
        self.assertEqual((after["client_state"], after["server_state"], after["server"], after["nts_ke"]),
                         ("open", "failed", True, False))
        self.assertEqual(after["state_reason"], "firewalld: port 4460/tcp (NTS-KE) is not in zone public at runtime "
                                                "(removed since it was applied)")
        self.assertEqual(after["warning"], "firewalld: port 4460/tcp in zone public is in the permanent "
                                           "configuration only (not active until a reload)")

    def test_default_zone_in_use(self):
        self.mock().SetDefaultZone("work")
        read = self.probe("apply", "--server", "on", "read")[1]
        self.assertEqual(read["zone"], "work")
        self.assertEqual(self.services("work"), (["ntp", "ssh"], ["ntp", "ssh"]))
        self.assertEqual(self.services("public"), (["ssh"], ["ssh"]))
        self.assertEqual(self.calls(self.MAIN, "addService"), [["work", "ntp", 0]])
        self.assertEqual(self.calls(self.zone_path("work"), "addService"), [["ntp"]])
        self.assertEqual(self.calls(self.zone_path("public"), "addService"), [])

    def test_server_off(self):
        self.mock().SetServices("public", ["ssh", "ntp"], ["ntp", "ssh"])
        read = self.probe("apply", "--server", "off", "read")[1]
        self.assertEqual((read["server"], read["permanent"], read["installed"]), (False, False, False))
        self.assertEqual(self.services("public"), (["ssh"], ["ssh"]))
        self.assertEqual(self.calls(self.MAIN, "removeService"), [["public", "ntp"]])
        self.assertEqual(self.calls(self.zone_path("public"), "removeService"), [["ntp"]])

    def test_idempotent_and_admin_setting_kept(self):
        self.mock().SetServices("public", ["ntp", "ssh"], ["ntp", "ssh"])
        results = self.probe("apply", "--server", "on", "apply", "--server", "on", "remove", "read")
        self.assertEqual([r["result"] for r in results], [0, 0, 0, 0])
        self.assertEqual(self.calls(self.MAIN, "addService"), [])
        self.assertEqual(self.calls(self.zone_path("public"), "addService"), [])
        # The administrator enabled ntp, not ntpsyncd: remove leaves it.
        self.assertEqual(self.calls(self.MAIN, "removeService"), [])
        self.assertTrue(results[-1]["server"])
        self.assertEqual(self.services("public"), (["ntp", "ssh"], ["ntp", "ssh"]))

    def test_bus_given_later(self):
        """firewall_set_bus(): the daemon opens the bus after firewall_new(); firewalld wins then."""
        # As root the helper starts first (in a namespace of its own: it lists the tables).
        ns = harness.Netns("fw%d-later" % os.getpid()) if NFT_OK else None
        try:
            p, results = run_probe(["--bus-later", "apply", "--server", "on", "read"], ns=ns,
                                   env={"DBUS_SYSTEM_BUS_ADDRESS": self.bus.address})
        finally:
            if ns:
                ns.delete()
        self.assertEqual(p.returncode, 0, p.stderr)
        if NFT_OK:
            self.assertIn("Firewall: nftables", p.stderr)
        self.assertEqual([r["backend"] for r in results], ["firewalld", "firewalld"])
        self.assertEqual(results[1]["helper_pid"], 0)
        self.assertIn("Firewall: firewalld", p.stderr)
        self.assertEqual(self.services("public"), (["ntp", "ssh"], ["ntp", "ssh"]))

    def test_remove_takes_back_what_it_added(self):
        results = self.probe("apply", "--server", "on", "remove", "read")
        self.assertFalse(results[-1]["server"])
        self.assertEqual(self.services("public"), (["ssh"], ["ssh"]))

    def test_permanent_failure_rolls_back(self):
        self.mock().SetFailPermanent(True)
        apply, read = self.probe("apply", "--server", "on", "read", expect=1)
        self.assertLess(apply["result"], 0)
        self.assertIn("config.zone.addService", apply["error"])
        self.assertIn("NOT_AUTHORIZED", apply["error"])
        self.assertEqual(self.calls(self.MAIN, "addService"), [["public", "ntp", 0]])
        self.assertEqual(self.calls(self.MAIN, "removeService"), [["public", "ntp"]])
        self.assertEqual(self.services("public"), (["ssh"], ["ssh"]))
        self.assertFalse(read["server"])

    def probe_paused(self, args, during_pause):
        """Runs the probe with a `pause` in args: during_pause() runs there; returns the results."""
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus.address, NTPSYNCD_FIREWALL_HELPER=HELPER)
        before, after, returncode, err = run_paused(self, [PROBE, "--bus"] + list(args), env,
                                                    lambda results: during_pause(), timeout=120)
        return before + after, returncode, err

    def test_apply_async_states(self):
        """Asked for asynchronously: answered once applied and read back, in the states' words."""
        p, results = run_probe(["--bus", "state", "apply-async", "--client", "on", "--server", "on",
                                "apply-async", "--client", "off", "--server", "off"],
                               env={"DBUS_SYSTEM_BUS_ADDRESS": self.bus.address})
        self.assertEqual(p.returncode, 0, p.stderr)
        before, applied, state, applied2, state2 = results
        self.assertEqual((before["client_state"], before["server_state"], before["state_reason"], before["known"]),
                         ("unmanaged", "unmanaged", "", False))
        self.assertEqual((applied["result"], applied["error"]), (0, ""))
        self.assertEqual((state["client_state"], state["server_state"], state["state_reason"], state["known"]),
                         ("open", "open", "", True))
        self.assertEqual(self.calls(self.MAIN, "addService"), [["public", "ntp", 0]])
        self.assertEqual(self.calls(self.MAIN, "removeService"), [["public", "ntp"]])
        # Client traffic cannot be closed with firewalld: said so, with the reason.
        self.assertEqual(applied2["result"], 0)
        self.assertEqual((state2["client_state"], state2["server_state"]), ("failed", "closed"))
        self.assertEqual(state2["state_reason"],
                         "firewalld zones do not filter outgoing traffic: NTP client traffic stays allowed")
        self.assertEqual(self.services("public"), (["ssh"], ["ssh"]))

    def test_refused_is_failed(self):
        self.mock().SetFailPermanent(True)
        p, results = run_probe(["--bus", "apply-async", "--server", "on"],
                               env={"DBUS_SYSTEM_BUS_ADDRESS": self.bus.address})
        self.assertEqual(p.returncode, 1, p.stderr)
        applied, state = results
        self.assertLess(applied["result"], 0)
        self.assertIn("config.zone.addService: NOT_AUTHORIZED", applied["error"])
        self.assertEqual((state["client_state"], state["server_state"]), ("failed", "failed"))
        self.assertEqual(state["state_reason"], applied["error"])
        self.assertEqual(self.services("public"), (["ssh"], ["ssh"]))

    def test_hanging_firewalld_is_unknown(self):
        """A firewalld that takes every call and never answers: the apply is answered after the
        timeout, the state is "unknown" with the reason; a sign of life (Reloaded) retries."""
        self.mock().SetHang(True)
        self.addCleanup(self.mock().SetHang, False)
        started = time.monotonic()

        def recover():
            self.mock().SetHang(False)
            self.mock().EmitSignal("org.fedoraproject.FirewallD1", "Reloaded", "", [])

        results, rc, err = self.probe_paused(["apply-async", "--server", "on", "pause", "run", "3000", "state"],
                                             recover)
        applied, state, _, run, after = results
        self.assertLess(time.monotonic() - started, 60)
        self.assertEqual(applied["result"], -110)  # -ETIMEDOUT
        self.assertEqual(applied["error"], "firewalld did not answer getDefaultZone within 10 s")
        self.assertEqual((state["client_state"], state["server_state"], state["state_reason"]),
                         ("unknown", "unknown", "firewalld did not answer getDefaultZone within 10 s"))
        # Reloaded: the request is made again, and this time answered.
        self.assertGreater(run["changes"], 0, err)
        self.assertEqual((after["client_state"], after["server_state"], after["state_reason"]), ("open", "open", ""))
        self.assertEqual(self.services("public"), (["ntp", "ssh"], ["ntp", "ssh"]))

    def test_signals_refresh(self):
        """firewalld's own signals are followed: what someone else changed shows without asking."""
        def change_behind_our_back():
            self.mock().SetServices("public", ["ssh"], ["ntp", "ssh"])
            self.mock().EmitSignal("org.fedoraproject.FirewallD1", "Reloaded", "", [])

        results, rc, err = self.probe_paused(["apply-async", "--server", "on", "pause", "run", "2000", "state"],
                                             change_behind_our_back)
        applied, state, _, run, after = results
        self.assertEqual(rc, 0, err)
        self.assertEqual(state["server_state"], "open")
        self.assertGreater(run["changes"], 0, err)
        self.assertEqual((after["server_state"], after["state_reason"]),
                         ("failed", "firewalld: service ntp is not in zone public at runtime (removed since it was "
                                    "applied)"))
        self.assertEqual(after["warning"], "firewalld: service ntp in zone public is in the permanent configuration "
                                           "only (not active until a reload)")

    def test_warnings(self):
        self.mock().SetServices("public", ["ntp", "ssh"], ["ssh"])
        read = self.probe("read")[0]
        self.assertEqual(read["warning"], "firewalld: service ntp in zone public is in the runtime configuration "
                                          "only (gone after a reload)")
        self.mock().SetPanicMode(True)
        read = self.probe("apply", "--client", "off", "--server", "on", "--ignore", "192.0.2.0/24", "read")[1]
        self.assertEqual(read["warning"], "firewalld is in panic mode: all traffic is dropped; "
                                          "firewalld zones do not filter outgoing traffic: NTP client traffic stays "
                                          "allowed; restrict ignore rules are enforced by ntpsyncd only, not by "
                                          "firewalld")
        self.assertTrue(read["client"])


def main():
    try:
        unittest.main(verbosity=2)
    finally:
        harness.run_cleanups()


if __name__ == "__main__":
    main()
