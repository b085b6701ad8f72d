#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The firewall through the running daemon: `firewall client on server on` in the configuration,
SetFirewall and AddRestrict over D-Bus, a restart, a foreign table in the way, and a daemon whose
configuration has no firewall line. (The module itself, firewalld and the helper protocol are
tests/firewall/test-firewall.py's.)

Topology (documentation ranges only; every namespace is the test's own, deleted by name):

    S  chronyd, fake offset 0, stratum 1
    |  192.0.2.5 -- 192.0.2.6/30
    D  ntpsyncd --clock observe, `server 192.0.2.5 iburst minpoll 3`, `serve on`,
    |  `firewall client on server on`; its helper writes table inet ntpsync in D only
    `-- 198.51.100.1/24, 2001:db8:c1::1/64 -- C 198.51.100.2, 2001:db8:c1::2 (NTPsec's ntpdig)

The daemon talks to a private dbus-daemon (harness.PrivateBus: no firewalld there, so the
backend is nftables); callers are root (busctl, ntpsyncctl), whom ntpsyncd lets through without
polkit. nft(8) runs only inside D (ip netns exec); the host's ruleset is only listed, to check
that no table inet ntpsync appeared there.

The steps of TestFirewallDaemon build on each other (test_1 … test_6, in that order).
TestFirewallNts adds `nts enable` with a certificate and key: NTS-KE's TCP port 4460 goes with the
server direction.

What ntpsync reports per direction (FirewallClientState, FirewallServerState, FirewallReason,
ntpsyncctl, the journal) is checked in every one of its states: "unmanaged" (TestNoFirewallLine),
"open" and "closed" (TestFirewallDaemon), "failed" (TestFirewallFailed: no helper, and a table
deleted behind the daemon's back), "unknown" (TestFirewalldHangs: a firewalld stand-in on the
private bus that takes every call and never answers, while the daemon keeps serving NTP, polling
its source and answering GetAll at once)."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import nts_certs  # noqa: E402

SYNC_TIMEOUT = 60
BUS_NAME, OBJECT_PATH, INTERFACE = "org.ntpsync1", "/org/ntpsync1", "org.ntpsync1.Manager"
FIREWALLD = "org.fedoraproject.FirewallD1"
FIREWALLD_MOCK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "firewall", "firewalld_mock.py")
UNMANAGED_LINE = ("Firewall client: unmanaged, server: unmanaged (no firewall line and no SetFirewall: ntpsync "
                  "leaves the firewall alone)")
# Each GetAll must come back within this while the firewall hangs (its usual time is milliseconds).
GETALL_LIMIT = 2.0
NFT = shutil.which("nft") or ("/usr/sbin/nft" if os.path.exists("/usr/sbin/nft") else None)
# table inet filter { chain input { type filter hook input priority 0; policy drop; } }, in a form
# that nft 1.0.6 (Debian 12) takes on its command line
FOREIGN_TABLE = "add table inet filter; add chain inet filter input { type filter hook input priority 0; policy drop; }"
FOREIGN_WARNING = ("table inet filter chain input drops udp port 123 (policy drop); "
                   "table inet filter chain input drops NTP replies, udp source port 123 (policy drop)")
ALL_ON_RULES = ["ntpsync client", "ntpsync client replies", "ntpsync ignore4", "ntpsync ignore6",
                "ntpsync server", "ntpsync server replies"]
NTS_KE_RULE = re.compile(r'tcp dport 4460 counter packets \d+ bytes \d+ accept comment "ntpsync nts-ke"')
NTS_KE_OFF_RULE = re.compile(r'tcp dport 4460 counter packets \d+ bytes \d+ drop comment "ntpsync nts-ke off"')


def sibling(name, *subdir):
    """A program built next to ntpsyncd (src/daemon) or in another directory of the build."""
    d = harness.ntpsyncd_path()
    if not d:
        return None
    path = os.path.normpath(os.path.join(os.path.dirname(d), *subdir, name))
    return path if os.access(path, os.X_OK) else None


def helper_path():
    return os.environ.get("NTPSYNCD_FIREWALL_HELPER") or sibling("ntpsyncd-firewall-helper")


def ntpsyncctl_path():
    return os.environ.get("NTPSYNCCTL") or sibling("ntpsyncctl", "..", "ctl")


# ---- nftables in a namespace (as tests/firewall/test-firewall.py reads it)

def nft(ns, *args, check=True):
    p = ns.run([NFT] + list(args))
    if check and p.returncode != 0:
        raise RuntimeError("nft %s in %s: %s" % (" ".join(args), ns.name, p.stderr.strip()))
    return p.stdout


def tables(ns):
    return [line for line in nft(ns, "list", "tables").splitlines() if line.strip()]


def has_ntpsync_table(ns):
    return "table inet ntpsync" in tables(ns)


def our_rules(ns):
    """The rules of table inet ntpsync as {comment: rule} and their count, from nft -j."""
    data = json.loads(nft(ns, "-j", "list", "table", "inet", "ntpsync"))
    rules = [i["rule"] for i in data["nftables"] if "rule" in i]
    return {r.get("comment"): r for r in rules}, len(rules)


def packets(rule):
    return sum(e["counter"]["packets"] for e in rule["expr"] if "counter" in e)


def set_elements(ns, name):
    data = json.loads(nft(ns, "-j", "list", "set", "inet", "ntpsync", name))
    elems = [i["set"].get("elem", []) for i in data["nftables"] if "set" in i][0]
    out = []
    for e in elems:
        if isinstance(e, dict) and "prefix" in e:
            out.append("%s/%d" % (e["prefix"]["addr"], e["prefix"]["len"]))
        elif isinstance(e, dict) and "range" in e:
            out.append("%s-%s" % tuple(e["range"]))
        else:
            out.append(str(e))
    return out


HANDLE = re.compile(r"\s*# handle \d+")
COUNTER = re.compile(r"counter packets \d+ bytes \d+")


def listing(ns):
    """`nft -a list table inet ntpsync`: (the text without handles and counter values, the number
    of rules: lines with a handle that are not the table, a chain or a set)."""
    text = nft(ns, "-a", "list", "table", "inet", "ntpsync")
    n = sum(1 for line in text.splitlines()
            if "# handle" in line and not re.match(r"\s*(table|chain|set) ", line))
    return COUNTER.sub("counter", HANDLE.sub("", text)), n


def connects(client, address, port, timeout=1):
    """Whether a TCP connection from the client namespace to address:port is accepted."""
    code = ("import socket, sys\n"
            "try:\n"
            "    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()\n"
            "except OSError:\n"
            "    sys.exit(1)\n")
    p = client.run([harness.PYTHON3, "-c", code, address, str(port), str(timeout)], timeout=timeout + 20)
    return p.returncode == 0


def host_has_ntpsync_table():
    """Only lists the host's tables (never changes them)."""
    p = subprocess.run([NFT, "list", "tables"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=30)
    return p.returncode == 0 and re.search(r"^table inet ntpsync$", p.stdout, re.M) is not None


# ---- the daemon and its bus

class World:
    def __init__(self, tag, config_lines):
        self.lab = harness.Lab(tag)
        with self.lab.closed_on_failure():
            self.upstream = self.lab.chronyd(0)
            self.c = self.lab.add_client("198.51.100", "2001:db8:c1::")
            self.d = self.lab.client  # the daemon's namespace
            self.bus = self.lab.private_bus()
            self.conf = self.lab.write_config("ntpsyncd.conf", [
                "server %s iburst minpoll 3 maxpoll 4" % self.upstream.address] + list(config_lines))
            self.state = self.lab.state_dir("state")
            self.daemon = None
            self.n = 0

    def start(self, helper=None):
        self.n += 1
        self.daemon = self.lab.daemon(self.conf, self.state, name="ntpsyncd%d" % self.n,
                                      env={"DBUS_SYSTEM_BUS_ADDRESS": self.bus.address,
                                           "NTPSYNCD_FIREWALL_HELPER": helper or helper_path()})
        if not self.daemon.wait_ready(15):
            raise AssertionError("no READY=1:\n" + self.daemon.process.stderr())
        if not self.bus.wait_for_name(BUS_NAME, 10):
            raise AssertionError("ntpsyncd did not take %s:\n%s" % (BUS_NAME, self.daemon.process.stderr()))
        return self.daemon

    def wait_synchronized(self):
        line, _ = self.daemon.wait_status_offset(SYNC_TIMEOUT, since=0, pattern=r"^STATUS=Observing ")
        if line is None:
            raise AssertionError("not synchronized after %d s: %r\n%s" %
                                 (SYNC_TIMEOUT, self.daemon.statuses(), self.daemon.process.stderr()[-3000:]))

    def stop(self):
        rc, _ = self.daemon.stop(5)
        # The bus name goes with the process; wait for it so that the next daemon can take it.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            p = self.bus.busctl("--json=short", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                "org.freedesktop.DBus", "NameHasOwner", "s", BUS_NAME)
            if p.returncode == 0 and "false" in p.stdout:
                break
            time.sleep(0.05)
        return rc

    def close(self):
        try:
            if self.daemon is not None and self.daemon.process.running():
                self.daemon.stop(5)
        finally:
            self.lab.close()

    def call(self, method, signature, *args):
        p = self.bus.busctl("call", BUS_NAME, OBJECT_PATH, INTERFACE, method, signature, *args)
        harness.log("busctl call %s %s %s -> %d %s" % (method, signature, " ".join(args), p.returncode,
                                                       (p.stderr or p.stdout).strip()))
        return p

    def props(self, *names):
        p = self.bus.busctl("--json=short", "get-property", BUS_NAME, OBJECT_PATH, INTERFACE, *names)
        if p.returncode != 0:
            raise AssertionError("busctl get-property %s: %s" % (names, p.stderr))
        values = [json.loads(line)["data"] for line in p.stdout.splitlines() if line.strip()]
        return dict(zip(names, values))

    def firewall_props(self):
        return self.props("FirewallClient", "FirewallServer", "FirewallBackend", "FirewallWarning")

    def states(self):
        """(FirewallClientState, FirewallServerState, FirewallReason)."""
        p = self.props("FirewallClientState", "FirewallServerState", "FirewallReason")
        return p["FirewallClientState"], p["FirewallServerState"], p["FirewallReason"]

    def wait_props(self, predicate, timeout=10):
        """Polls the Firewall* properties until predicate(props) holds: what ntpsync reads back
        comes in the background, announced when it changes. Returns the last props."""
        deadline = time.monotonic() + timeout
        while True:
            props = self.get_all()
            if predicate(props) or time.monotonic() > deadline:
                return props
            time.sleep(0.2)

    def get_all(self):
        """Every property from one GetAll: one consistent view (Gets one by one may straddle a
        change that the first one's background read-back brings)."""
        p = self.bus.busctl("--json=short", "call", BUS_NAME, OBJECT_PATH, "org.freedesktop.DBus.Properties",
                            "GetAll", "s", INTERFACE)
        if p.returncode != 0:
            raise AssertionError("GetAll: %s" % p.stderr)
        return {k: v["data"] for k, v in json.loads(p.stdout)["data"][0].items()}

    def get_all_timed(self):
        """GetAll of org.ntpsync1.Manager: (seconds it took, CompletedProcess)."""
        started = time.monotonic()
        p = self.bus.busctl("--timeout=30", "call", BUS_NAME, OBJECT_PATH, "org.freedesktop.DBus.Properties",
                            "GetAll", "s", INTERFACE)
        return time.monotonic() - started, p

    def ntpsyncctl(self, *args):
        return subprocess.run([ntpsyncctl_path()] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=30,
                              env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus.address))

    def answers(self, address, timeout=1):
        """Whether NTPsec's ntpdig in C gets a usable answer from D at address."""
        rc, result, out = self.c.ntpdig(address, timeout=timeout)
        harness.log("ntpdig %s -> %d %s" % (address, rc, out.strip().replace("\n", " | ")[:200]))
        return rc == 0 and result is not None and "offset" in result


def require_firewall_tools():
    missing = []
    if not NFT:
        missing.append("nft(8) (package nftables)")
    if not helper_path() or not os.access(helper_path(), os.X_OK):
        missing.append("ntpsyncd-firewall-helper (set NTPSYNCD_FIREWALL_HELPER)")
    if not shutil.which("busctl"):
        missing.append("busctl")
    if missing:
        raise unittest.SkipTest("needs " + ", ".join(missing))


class TestFirewallDaemon(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_ntpsyncd()
        require_firewall_tools()
        cls.host_had_table = host_has_ntpsync_table()
        cls.w = World("fwd", ["serve on", "firewall client on server on"])
        try:
            cls.w.start()
            cls.w.wait_synchronized()
        except BaseException:
            cls.w.lab.dump_logs()
            cls.w.close()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.w.lab.dump_logs()  # meson shows them only when something failed
            if cls.w.daemon.process.running():
                rc = cls.w.stop()
                if rc != 0:
                    print("ntpsyncd exit status %r:\n%s" % (rc, cls.w.daemon.process.stderr()), file=sys.stderr)
        finally:
            cls.w.close()
        # Nothing of this test reached the host's nftables.
        if not cls.host_had_table and host_has_ntpsync_table():
            raise AssertionError("table inet ntpsync appeared in the host namespace")

    def setUp(self):
        self.assertTrue(self.w.daemon.process.running(), "ntpsyncd died:\n" + self.w.daemon.process.stderr())

    def test_1_applied_at_start(self):
        w = self.w
        self.assertTrue(has_ntpsync_table(w.d), tables(w.d))
        rules, n = our_rules(w.d)
        self.assertEqual(sorted(rules), ALL_ON_RULES)
        self.assertEqual(n, 6)
        self.assertEqual(set_elements(w.d, "ignored4"), [])
        self.assertEqual(w.firewall_props(), {"FirewallClient": True, "FirewallServer": True,
                                              "FirewallBackend": "nftables", "FirewallWarning": ""})
        self.assertEqual(w.states(), ("open", "open", ""))
        self.assertIn("Firewall client: open, server: open", w.daemon.process.stderr())
        self.assertTrue(w.answers(w.c.server_v4), "ntpdig in C got no answer from D")
        self.assertTrue(w.answers(w.c.server_v6), "ntpdig in C got no answer from D over IPv6")
        rules, _ = our_rules(w.d)
        self.assertGreater(packets(rules["ntpsync server"]), 0)
        self.assertGreater(packets(rules["ntpsync server replies"]), 0)
        # D's own polls of S went through "client on" too.
        self.assertGreater(packets(rules["ntpsync client"]), 0)
        self.assertGreater(packets(rules["ntpsync client replies"]), 0)

    def test_2_set_firewall_server_off(self):
        w = self.w
        p = w.call("SetFirewall", "bb", "true", "false")
        self.assertEqual(p.returncode, 0, p.stderr)
        props = w.firewall_props()
        self.assertEqual((props["FirewallClient"], props["FirewallServer"], props["FirewallBackend"]),
                         (True, False, "nftables"))
        self.assertEqual(w.states(), ("open", "closed", ""))
        p = w.ntpsyncctl("status")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"(?m)^\s*Firewall client: open$")
        self.assertRegex(p.stdout, r"(?m)^\s*Firewall server: closed$")
        self.assertNotIn("Firewall reason", p.stdout)
        rules, _ = our_rules(w.d)
        self.assertEqual(sorted(rules), ["ntpsync client", "ntpsync client replies", "ntpsync ignore4",
                                         "ntpsync ignore6", "ntpsync server off"])
        self.assertEqual(packets(rules["ntpsync server off"]), 0)
        self.assertFalse(w.answers(w.c.server_v4), "D answered with the server traffic off")
        self.assertFalse(w.answers(w.c.server_v6), "D answered over IPv6 with the server traffic off")
        rules, _ = our_rules(w.d)
        self.assertGreater(packets(rules["ntpsync server off"]), 0)
        # The daemon is still serving: the kernel is what drops it (and SetFirewall is persisted).
        self.assertTrue(w.props("ServerMode")["ServerMode"])
        with open(os.path.join(w.state, "settings.conf")) as f:
            self.assertIn("firewall client on server off", f.read())

    def test_3_restrict_ignore(self):
        w = self.w
        p = w.call("SetFirewall", "bb", "true", "true")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(w.firewall_props()["FirewallServer"])
        self.assertTrue(w.answers(w.c.server_v4), "no answer with the server traffic on again")
        net = w.c.server_v4.rsplit(".", 1)[0] + ".0/24"  # C's network, 198.51.100.0/24
        p = w.call("AddRestrict", "sb", net + " ignore", "false")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(net + " ignore", w.props("RestrictRules")["RestrictRules"])
        self.assertEqual(set_elements(w.d, "ignored4"), [net])
        self.assertEqual(set_elements(w.d, "ignored6"), [])
        props = w.firewall_props()
        self.assertEqual((props["FirewallClient"], props["FirewallServer"]), (True, True))
        self.assertEqual(w.states(), ("open", "open", ""))
        rules, _ = our_rules(w.d)
        self.assertEqual(sorted(rules), ALL_ON_RULES)
        self.assertEqual(packets(rules["ntpsync ignore4"]), 0)
        self.assertFalse(w.answers(w.c.server_v4), "D answered C's ignored network")
        rules, _ = our_rules(w.d)
        self.assertGreater(packets(rules["ntpsync ignore4"]), 0, "C's request was not dropped by the kernel")
        self.assertEqual(packets(rules["ntpsync ignore6"]), 0)
        self.assertRegex(nft(w.d, "list", "table", "inet", "ntpsync"),
                         r"ip saddr @ignored4 udp dport 123 counter packets [1-9]\d* bytes \d+ drop")
        # Only C's IPv4 network is ignored.
        self.assertTrue(w.answers(w.c.server_v6), "no answer over IPv6, which is not ignored")

    def test_4_restart_reapplies(self):
        w = self.w
        before_text, before_n = listing(w.d)
        rules, _ = our_rules(w.d)
        self.assertGreater(packets(rules["ntpsync ignore4"]), 0)
        self.assertEqual(w.stop(), 0)
        # The kernel state outlives the daemon (firewall_free() leaves it alone).
        self.assertTrue(has_ntpsync_table(w.d))
        w.start()
        after_text, after_n = listing(w.d)
        self.assertEqual(after_n, before_n, "rules before the restart:\n%s\nafter:\n%s" % (before_text, after_text))
        self.assertEqual(after_n, 6)
        self.assertEqual(after_text, before_text)
        self.assertEqual(tables(w.d).count("table inet ntpsync"), 1)
        self.assertEqual(set_elements(w.d, "ignored4"), [w.c.server_v4.rsplit(".", 1)[0] + ".0/24"])
        # Replaced, not left over: the counters started again from zero.
        rules, _ = our_rules(w.d)
        self.assertEqual(packets(rules["ntpsync ignore4"]), 0)
        self.assertEqual(w.firewall_props(), {"FirewallClient": True, "FirewallServer": True,
                                              "FirewallBackend": "nftables", "FirewallWarning": ""})
        # READY=1 came once the table was applied and read back: the states are known at once.
        self.assertEqual(w.states(), ("open", "open", ""))
        w.wait_synchronized()

    def test_5_foreign_table_warning(self):
        w = self.w
        self.assertTrue(w.answers(w.c.server_v6), "no answer over IPv6 before the foreign table")
        w.d.run([NFT, FOREIGN_TABLE], check=True)
        foreign = nft(w.d, "list", "table", "inet", "filter")
        # Nothing tells the daemon of another table: a Get answers at once with what it knows and
        # has it read back in the background; the next one has the warning.
        props = w.wait_props(lambda p: p["FirewallWarning"] == FOREIGN_WARNING)
        # ntpsync's own part still allows it; what stands in the way is named.
        self.assertEqual((props["FirewallClient"], props["FirewallServer"]), (True, True))
        self.assertEqual((props["FirewallClientState"], props["FirewallServerState"]), ("open", "open"))
        self.assertEqual(props["FirewallWarning"], FOREIGN_WARNING)
        p = w.ntpsyncctl("firewall", "show")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"(?m)^\s*Warning: %s$" % re.escape(FOREIGN_WARNING), p.stdout)
        # Really so: the policy drop holds whatever table inet ntpsync accepts.
        self.assertFalse(w.answers(w.c.server_v6), "answered through a foreign policy drop")
        # Applying again logs the warning and leaves the foreign table alone.
        err_before = len(w.daemon.process.stderr())
        p = w.call("SetFirewall", "bb", "true", "true")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("Firewall: " + FOREIGN_WARNING, w.daemon.process.stderr()[err_before:])
        self.assertEqual(nft(w.d, "list", "table", "inet", "filter"), foreign)
        # Gone again: nothing in the way, nothing printed.
        w.d.run([NFT, "delete", "table", "inet", "filter"], check=True)
        self.assertEqual(w.wait_props(lambda p: p["FirewallWarning"] == "")["FirewallWarning"], "")
        p = w.ntpsyncctl("firewall", "show")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("Warning", p.stdout)

    def test_6_table_deleted_then_reload(self):
        """What was applied and is gone now is "failed", with the reason; a reload applies it again."""
        w = self.w
        w.d.run([NFT, "delete", "table", "inet", "ntpsync"], check=True)
        props = w.wait_props(lambda p: p["FirewallServerState"] != "open")
        why = "table inet ntpsync is missing (deleted since it was applied)"
        self.assertEqual((props["FirewallClientState"], props["FirewallServerState"], props["FirewallReason"]),
                         ("failed", "failed", why))
        self.assertEqual((props["FirewallClient"], props["FirewallServer"]), (False, False))
        p = w.ntpsyncctl("firewall")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"(?m)^\s*Client: failed$")
        self.assertRegex(p.stdout, r"(?m)^\s*Server: failed$")
        self.assertRegex(p.stdout, r"(?m)^\s*Reason: %s$" % re.escape(why))
        w.daemon.process.wait_for_stderr(re.escape("Firewall client: failed, server: failed (%s)" % why), 10)
        self.assertIn("Firewall client: failed, server: failed (%s)" % why, w.daemon.process.stderr())
        self.assertTrue(w.daemon.reload(), "reload not confirmed:\n" + w.daemon.process.stderr()[-3000:])
        # Applied again in the background, then read back: open once more.
        self.assertEqual(w.wait_props(lambda p: p["FirewallServerState"] == "open")["FirewallServerState"], "open")
        self.assertEqual(w.states(), ("open", "open", ""))
        self.assertTrue(has_ntpsync_table(w.d))
        self.assertEqual(sorted(our_rules(w.d)[0]), ALL_ON_RULES)


class TestFirewallNts(unittest.TestCase):
    """`nts enable` (with its certificate and key) and `firewall server on`: NTS-KE's TCP port 4460
    is let in with udp 123; a change of `nts enable` alone (SetNts) applies the firewall again;
    "server off" drops both."""

    @classmethod
    def setUpClass(cls):
        harness.require_ntpsyncd()
        require_firewall_tools()
        if not shutil.which("openssl"):
            raise unittest.SkipTest("needs openssl(1) for the certificates")
        cls.w = World("fwt", [])
        with cls.w.lab.closed_on_failure():
            chain, key = nts_certs.Pki(os.path.join(cls.w.lab.dir, "pki")).server(["ntp.example.net"])
            cls.w.conf = cls.w.lab.write_config("ntpsyncd.conf", [
                "server %s iburst minpoll 3 maxpoll 4" % cls.w.upstream.address, "serve on",
                "firewall client on server on", "nts enable", "nts cert %s" % chain, "nts key %s" % key])

    @classmethod
    def tearDownClass(cls):
        cls.w.close()

    def table(self):
        return nft(self.w.d, "list", "table", "inet", "ntpsync")

    def test_nts_ke_port(self):
        w = self.w
        try:
            w.start()
            self.assertTrue(w.daemon.process.wait_for_stderr(r"NTS-KE: serving on TCP port 4460", 5),
                            w.daemon.process.stderr()[-3000:])
            self.assertRegex(self.table(), NTS_KE_RULE)
            rules, n = our_rules(w.d)
            self.assertEqual(sorted(rules), sorted(ALL_ON_RULES + ["ntpsync nts-ke"]))
            self.assertEqual(n, 7)
            self.assertEqual(w.states(), ("open", "open", ""))
            self.assertTrue(connects(w.c, w.c.server_v4, 4460), "no TCP connection to D's port 4460")
            self.assertGreater(packets(our_rules(w.d)[0]["ntpsync nts-ke"]), 0)

            # NTS no longer served (SetNts, runtime): applied again, and 4460 is not ntpsync's any more.
            p = w.call("SetNts", "bssb", "false", "", "", "true")
            self.assertEqual(p.returncode, 0, p.stderr)
            w.wait_props(lambda p: "4460" not in self.table())
            self.assertNotIn("4460", self.table())
            self.assertEqual(w.states(), ("open", "open", ""))

            # NTS again, and the server direction off: udp 123 and tcp 4460 dropped.
            p = w.call("SetNts", "bssb", "true", "", "", "true")
            self.assertEqual(p.returncode, 0, p.stderr)
            w.wait_props(lambda p: NTS_KE_RULE.search(self.table()) is not None)
            p = w.call("SetFirewall", "bb", "true", "false")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertRegex(self.table(), NTS_KE_OFF_RULE)
            self.assertEqual(w.states(), ("open", "closed", ""))
            self.assertFalse(connects(w.c, w.c.server_v4, 4460), "TCP port 4460 reachable with server off")
            self.assertEqual(w.stop(), 0)
        except BaseException:
            w.lab.dump_logs()
            raise


class TestNoFirewallLine(unittest.TestCase):
    """A configuration without a firewall line: the daemon (with CAP_NET_ADMIN and the helper)
    never creates table inet ntpsync — not at start, not on reload, not for other changes."""

    @classmethod
    def setUpClass(cls):
        harness.require_ntpsyncd()
        require_firewall_tools()
        cls.w = World("fwn", ["serve on"])

    @classmethod
    def tearDownClass(cls):
        cls.w.close()

    def test_never_creates_table(self):
        w = self.w
        w.start()
        try:
            self.assertEqual(tables(w.d), [])
            props = w.firewall_props()
            self.assertEqual(props["FirewallBackend"], "nftables")
            # Nothing of ntpsync's installed: it blocks no client traffic and opens no port.
            self.assertEqual((props["FirewallClient"], props["FirewallServer"]), (True, False))
            # ... and says so: "unmanaged", never "blocked", in every place that tells.
            self.assertEqual(w.states(), ("unmanaged", "unmanaged", ""))
            self.assertIn(UNMANAGED_LINE, w.daemon.process.stderr())
            self.check_ctl_unmanaged()
            self.assertTrue(w.daemon.reload(), "reload not confirmed:\n" + w.daemon.process.stderr()[-3000:])
            self.assertEqual(tables(w.d), [])
            # Changes that are not the firewall's: serving, and an ignore rule (runtime, persisted).
            self.assertEqual(w.call("SetServerMode", "bb", "true", "false").returncode, 0)
            self.assertEqual(w.call("AddRestrict", "sb", "203.0.113.0/24 ignore", "true").returncode, 0)
            self.assertEqual(w.call("AddRestrict", "sb", "192.0.2.128/25 ignore", "false").returncode, 0)
            self.assertEqual(tables(w.d), [])
            # Serving works without any table of ours.
            w.wait_synchronized()
            self.assertTrue(w.answers(w.c.server_v4))
            self.assertEqual(w.stop(), 0)
            self.assertEqual(tables(w.d), [])
            # Restarted with the persisted settings (no firewall among them): still none.
            with open(os.path.join(w.state, "settings.conf")) as f:
                self.assertNotIn("firewall", f.read())
            w.start()
            self.assertEqual(tables(w.d), [])
            self.assertEqual(w.states(), ("unmanaged", "unmanaged", ""))
            self.assertEqual(w.stop(), 0)
            self.assertEqual(tables(w.d), [])
        except BaseException:
            w.lab.dump_logs()
            raise

    def check_ctl_unmanaged(self):
        w = self.w
        p = w.ntpsyncctl("status")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"(?m)^\s*Firewall client: unmanaged$")
        self.assertRegex(p.stdout, r"(?m)^\s*Firewall server: unmanaged$")
        self.assertNotIn("blocked", p.stdout)
        self.assertNotIn("Firewall reason", p.stdout)
        p = w.ntpsyncctl("firewall")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"(?m)^\s*Client: unmanaged$")
        self.assertRegex(p.stdout, r"(?m)^\s*Server: unmanaged$")
        self.assertNotIn("blocked", p.stdout)
        for args in (["--json", "status"], ["--json", "firewall"]):
            p = w.ntpsyncctl(*args)
            self.assertEqual(p.returncode, 0, p.stderr)
            data = json.loads(p.stdout)
            self.assertEqual((data["FirewallClientState"], data["FirewallServerState"], data["FirewallReason"]),
                             ("unmanaged", "unmanaged", ""), args)


class TestFirewallFailed(unittest.TestCase):
    """A firewall line, but no helper (and no firewalld): "failed", with the reason, everywhere;
    SetFirewall says why too."""

    MISSING = "/nonexistent/ntpsyncd-firewall-helper"

    @classmethod
    def setUpClass(cls):
        harness.require_ntpsyncd()
        require_firewall_tools()
        cls.w = World("fwf", ["serve on", "firewall client on server on"])

    @classmethod
    def tearDownClass(cls):
        cls.w.close()

    def test_helper_missing(self):
        w = self.w
        try:
            w.start(helper=self.MISSING)
            why = "no firewall backend: firewall helper %s: No such file or directory" % self.MISSING
            self.assertEqual(w.firewall_props()["FirewallBackend"], "none")
            self.assertEqual(w.states(), ("failed", "failed", why))
            self.assertEqual((w.firewall_props()["FirewallClient"], w.firewall_props()["FirewallServer"]),
                             (False, False))
            self.assertIn("Firewall client: failed, server: failed (%s)" % why, w.daemon.process.stderr())
            p = w.ntpsyncctl("status")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertRegex(p.stdout, r"(?m)^\s*Firewall client: failed$")
            self.assertRegex(p.stdout, r"(?m)^\s*Firewall server: failed$")
            self.assertRegex(p.stdout, r"(?m)^\s*Firewall reason: %s$" % re.escape(why))
            p = w.ntpsyncctl("--json", "firewall")
            self.assertEqual(p.returncode, 0, p.stderr)
            data = json.loads(p.stdout)
            self.assertEqual((data["FirewallClientState"], data["FirewallServerState"], data["FirewallReason"]),
                             ("failed", "failed", why))
            p = w.call("SetFirewall", "bb", "true", "true")
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(why, p.stderr)
            self.assertEqual(tables(w.d), [])
            self.assertEqual(w.stop(), 0)
        except BaseException:
            w.lab.dump_logs()
            raise


class TestFirewalldHangs(unittest.TestCase):
    """firewalld's name owned on the private bus by a stand-in (tests/firewall/firewalld_mock.py
    with {"Hang": true}) that takes every call and never answers: ntpsyncd keeps serving NTP,
    polling its source and answering GetAll, reports "unknown" with the reason, and applies once
    firewalld shows signs of life (Reloaded)."""

    @classmethod
    def setUpClass(cls):
        harness.require_ntpsyncd()
        require_firewall_tools()
        try:
            import dbusmock  # noqa: F401
        except ImportError as e:
            raise unittest.SkipTest("needs python3-dbusmock: %s" % e)
        cls.w = World("fwh", ["serve on", "firewall client on server on"])
        with cls.w.lab.closed_on_failure():
            cls.firewalld = cls.w.lab.start_process(
                "firewalld-hangs", [harness.PYTHON3, "-m", "dbusmock", "--template", FIREWALLD_MOCK,
                                    "--parameters", '{"Hang": true}'],
                env={"DBUS_SYSTEM_BUS_ADDRESS": cls.w.bus.address, "PYTHONDONTWRITEBYTECODE": "1"})
            if not cls.w.bus.wait_for_name(FIREWALLD, 15):
                raise AssertionError("the firewalld stand-in did not come up:\n" + cls.firewalld.stderr())

    @classmethod
    def tearDownClass(cls):
        try:
            cls.w.lab.dump_logs()
        finally:
            cls.w.close()

    def mock(self, method, signature, *args):
        p = self.w.bus.busctl("call", FIREWALLD, "/org/fedoraproject/FirewallD1", "org.freedesktop.DBus.Mock",
                              method, signature, *args)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_keeps_serving_and_answering(self):
        w = self.w
        started = time.monotonic()
        w.start()
        # READY=1 does not wait for a firewalld that does not answer (5 s at most).
        self.assertLess(time.monotonic() - started, 12)
        self.assertEqual(w.firewall_props()["FirewallBackend"], "firewalld")
        client, server, why = w.states()
        self.assertEqual((client, server), ("unknown", "unknown"))
        self.assertIn(why, ("waiting for firewalld to answer", "firewalld did not answer getDefaultZone within 10 s"))
        # The source is polled while firewalld hangs (the first calls are still waiting for it).
        w.wait_synchronized()
        # GetAll at once, NTP served; each GetAll has what ntpsync knows read back again, so a
        # call to firewalld is waiting most of the time.
        timed = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            took, p = w.get_all_timed()
            self.assertEqual(p.returncode, 0, p.stderr)
            timed.append(took)
            self.assertLess(took, GETALL_LIMIT, "GetAll took %.1f s while firewalld hangs" % took)
            self.assertTrue(w.answers(w.c.server_v4), "D stopped answering NTP clients while firewalld hangs")
            time.sleep(0.5)
        harness.log("GetAll while firewalld hangs: %d calls, at most %.3f s" % (len(timed), max(timed)))
        why = "firewalld did not answer getDefaultZone within 10 s"
        props = w.wait_props(lambda p: p["FirewallReason"] == why, timeout=15)
        self.assertEqual((props["FirewallClientState"], props["FirewallServerState"], props["FirewallReason"]),
                         ("unknown", "unknown", why))
        self.assertEqual((props["FirewallClient"], props["FirewallServer"]), (False, False))
        self.assertIn("Firewall client: unknown, server: unknown (%s)" % why, w.daemon.process.stderr())
        p = w.ntpsyncctl("firewall")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"(?m)^\s*Client: unknown$")
        self.assertRegex(p.stdout, r"(?m)^\s*Reason: %s$" % re.escape(why))
        # firewalld comes back to life and says so: the request is made again, and answered.
        self.mock("SetHang", "b", "false")
        self.mock("EmitSignal", "sssav", FIREWALLD, "Reloaded", "", "0")
        props = w.wait_props(lambda p: p["FirewallServerState"] == "open", timeout=15)
        self.assertEqual((props["FirewallClientState"], props["FirewallServerState"], props["FirewallReason"]),
                         ("open", "open", ""))
        self.assertEqual((props["FirewallClient"], props["FirewallServer"]), (True, True))
        self.assertTrue(w.daemon.process.running())
        self.assertEqual(w.stop(), 0)


if __name__ == "__main__":
    harness.main_unittest()
