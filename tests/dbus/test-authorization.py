#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every mutating method of org.ntpsync1.Manager, through busctl, through ntpsyncctl and through a
raw client (for the exact error names), as uid 65534 against the mocked polkitd:

  denied       polkit says no → AccessDenied; nothing changed (setting properties and
               settings.conf compared before/after)
  interactive  polkit wants a challenge and the caller did not allow interaction →
               InteractiveAuthorizationRequired, nothing changed; with interaction allowed
               (busctl --allow-interactive-authorization=yes) the call goes through
  allowed      polkit says yes → the change is made (and persisted or not, as asked)
  root         allowed without asking polkit

and each CheckAuthorization call is checked: subject system-bus-name with the caller's unique
name, the action id, the details (what was asked for), the interaction flag. Also: polkitd
absent → denied and nothing changed; Query needs no authorization and measures the chronyd's
fake offset; the bus policy refuses Properties.Set and foreign interfaces."""

import concurrent.futures
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbustest  # noqa: E402
from dbustest import ERROR_ACCESS_DENIED, ERROR_INTERACTIVE, CTL_DENIED, log  # noqa: E402

OFFSET = 0.025  # the chronyd's fake offset, s
TOL = 0.005


def packets_sent(w):
    """Requests the engine has sent, from timesync1's NTPMessage (its 14th field)."""
    return w.get("NTPMessage", dbustest.TIMESYNC_INTERFACE, dbustest.TIMESYNC_NAME, dbustest.TIMESYNC_PATH)[13]


class Case:
    """One method: how to call it three ways (a: busctl/raw, b: ntpsyncctl, c: root), what polkit
    must be asked, and how to see that the change was made."""

    def __init__(self, method, signature, action, args, ctl, details, check, prepare=None):
        self.method = method
        self.signature = signature
        self.action = action
        self.args = args          # variant → D-Bus arguments (for a and c)
        self.ctl = ctl            # ntpsyncctl argv for variant b
        self.details = details    # variant → expected polkit details
        self.check = check        # (test, variant) → asserts the change of that variant is in effect
        self.prepare = prepare    # (test) → makes the starting state, as root


def spec(host, *opts):
    return " ".join(["server", host] + list(opts))


def servers_case():
    a = ["server 198.51.100.1 iburst", "pool pool.example.test iburst"]
    b = ["server 198.51.100.2", "server 198.51.100.3 prefer"]
    c = ["server 198.51.100.4 iburst minpoll 4 maxpoll 6"]
    values = {"a": a, "b": b, "c": c}

    def check(t, v):
        t.assertEqual(t.w.get("Servers"), values[v])
        text = t.w.settings_text() or ""
        if v == "b":  # ntpsyncctl --runtime: not persisted
            t.assertNotIn("198.51.100.2", text)
        else:
            t.assertIn("\n".join(["clear servers"] + values[v]) + "\n", text)
    return Case("SetServers", "asb", "org.ntpsync1.set-servers",
                {"a": [a, False], "c": [c, False]},
                ["--runtime", "servers", "set"] + b,
                {"a": {"servers": ", ".join(a), "runtime": "false"},
                 "b": {"servers": ", ".join(b), "runtime": "true"}},
                check)


def add_server_case():
    hosts = {"a": "198.51.100.11", "b": "198.51.100.12", "c": "198.51.100.13"}

    def check(t, v):
        servers = t.w.get("Servers")
        t.assertIn(spec(hosts[v], "iburst"), servers)
        t.assertEqual(servers[0], t.w.server_spec(), "the configured server stays first")
        t.assertIn(hosts[v], t.w.settings_text() or "")
    return Case("AddServer", "sb", "org.ntpsync1.set-servers",
                {"a": [spec(hosts["a"], "iburst"), False], "c": [spec(hosts["c"], "iburst"), False]},
                ["servers", "add", "server", hosts["b"], "iburst"],
                {"a": {"servers": spec(hosts["a"], "iburst"), "runtime": "false"},
                 "b": {"servers": spec(hosts["b"], "iburst"), "runtime": "false"}},
                check)


def remove_server_case():
    hosts = {"a": "198.51.100.21", "b": "198.51.100.22", "c": "198.51.100.23"}

    def prepare(t):
        for h in hosts.values():
            t.assert_ok(t.w.call("AddServer", "sb", [spec(h, "iburst"), True]))

    def check(t, v):
        servers = t.w.get("Servers")
        t.assertNotIn(spec(hosts[v], "iburst"), servers)
        t.assertIn(t.w.server_spec(), servers)
        if v != "c":  # the others are still there until their turn
            t.assertIn(spec(hosts["c"], "iburst"), servers)
    return Case("RemoveServer", "sb", "org.ntpsync1.set-servers",
                {"a": [hosts["a"], False], "c": [hosts["c"], True]},
                ["--runtime", "servers", "remove", hosts["b"]],
                {"a": {"servers": hosts["a"], "runtime": "false"},
                 "b": {"servers": hosts["b"], "runtime": "true"}},
                check, prepare)


def restrict_case():
    a = ["default kod limited nomodify notrap nopeer noquery", "192.0.2.0 mask 255.255.255.0 nomodify"]
    b = ["default nomodify", "2001:db8::/32 ignore"]
    c = ["default kod", "127.0.0.1"]
    expect = {
        "a": ["192.0.2.0/24 nomodify"],
        "b": ["2001:db8::/32 ignore"],
        "c": ["127.0.0.1/32"],
    }

    def check(t, v):
        rules = t.w.get("RestrictRules")
        for r in expect[v]:
            t.assertIn(r, rules)
        t.assertTrue(rules[0].startswith("-4 default") and rules[1].startswith("-6 default"), rules)
        t.assertEqual(len(rules), 3, rules)
        t.assertIn("restrict " + expect[v][0], t.w.settings_text() or "")
    return Case("SetRestrictRules", "asb", "org.ntpsync1.set-restrict",
                {"a": [a, False], "c": [c, False]},
                ["restrict", "set"] + b,
                {"a": {"rules": ", ".join(a), "runtime": "false"},
                 "b": {"rules": ", ".join(b), "runtime": "false"}},
                check)


def add_restrict_case():
    rules = {"a": "198.51.100.0 mask 255.255.255.0 nomodify", "b": "2001:db8:1::/48 ignore",
             "c": "203.0.113.7 noquery"}
    canonical = {"a": "198.51.100.0/24 nomodify", "b": "2001:db8:1::/48 ignore", "c": "203.0.113.7/32 noquery"}

    def check(t, v):
        t.assertIn(canonical[v], t.w.get("RestrictRules"))
    return Case("AddRestrict", "sb", "org.ntpsync1.set-restrict",
                {"a": [rules["a"], False], "c": [rules["c"], True]},
                ["--runtime", "restrict", "add"] + rules["b"].split(),
                {"a": {"rules": rules["a"], "runtime": "false"},
                 "b": {"rules": rules["b"], "runtime": "true"}},
                check)


def remove_restrict_case():
    rules = {"a": "198.51.100.0/24 nomodify", "b": "2001:db8:2::/48 ignore", "c": "203.0.113.0/24 noquery"}
    targets = {"a": "198.51.100.0/24", "b": "2001:db8:2:: mask ffff:ffff:ffff::", "c": "203.0.113.0 mask 255.255.255.0"}

    def prepare(t):
        t.assert_ok(t.w.call("SetRestrictRules", "asb", [list(rules.values()), False]))

    def check(t, v):
        current = t.w.get("RestrictRules")
        t.assertNotIn(rules[v], current)
        if v != "c":
            t.assertIn(rules["c"], current)
    return Case("RemoveRestrict", "sb", "org.ntpsync1.set-restrict",
                {"a": [targets["a"], False], "c": [targets["c"], False]},
                ["restrict", "remove"] + targets["b"].split(),
                {"a": {"rules": targets["a"], "runtime": "false"},
                 "b": {"rules": targets["b"], "runtime": "false"}},
                check, prepare)


def firewall_case():
    values = {"a": (True, False), "b": (True, True), "c": (False, False)}

    def check(t, v):
        client, server = values[v]
        t.assertEqual((t.w.get("FirewallClient"), t.w.get("FirewallServer")), (client, server))
        t.assertIn("firewall client %s server %s" % ("on" if client else "off", "on" if server else "off"),
                   t.w.settings_text() or "")

    def prepare(t):
        # ntpsyncctl's "firewall enable server" keeps the client flag: start b from a's state.
        pass
    return Case("SetFirewall", "bb", "org.ntpsync1.set-firewall",
                {"a": list(values["a"]), "c": list(values["c"])},
                ["firewall", "enable", "server"],
                {"a": {"client": "true", "server": "false"},
                 # denied/interactive runs of b happen before a is applied: client still false
                 "b": {"server": "true"}},
                check, prepare)


def server_mode_case():
    def check(t, v):
        text = t.w.settings_text() or ""
        if v == "a":
            t.assertTrue(t.w.get("ServerMode"))
            t.assertIn("serve on", text)
        elif v == "b":  # --runtime off: the persisted "serve on" stays in the file
            t.assertFalse(t.w.get("ServerMode"))
            t.assertIn("serve on", text)
        else:
            t.assertTrue(t.w.get("ServerMode"))
    return Case("SetServerMode", "bb", "org.ntpsync1.set-server-mode",
                {"a": [True, False], "c": [True, True]},
                ["--runtime", "server-mode", "off"],
                {"a": {"enabled": "true", "runtime": "false"},
                 "b": {"enabled": "false", "runtime": "true"}},
                check)


def nts_case():
    cert, key = "/etc/ntpsync/nts-cert.pem", "/etc/ntpsync/nts-key.pem"

    def check(t, v):
        text = t.w.settings_text() or ""
        if v == "a":
            t.assertTrue(t.w.get("NtsServing"))
            t.assertEqual((t.w.get("NtsCertificate"), t.w.get("NtsKey")), (cert, key))
            t.assertIn("nts enable\nnts cert %s\nnts key %s" % (cert, key), text)
        elif v == "b":  # --runtime disable: the persisted "nts enable" stays in the file
            t.assertFalse(t.w.get("NtsServing"))
            t.assertIn("nts enable", text)
        else:
            t.assertTrue(t.w.get("NtsServing"))
    return Case("SetNts", "bssb", "org.ntpsync1.set-nts",
                {"a": [True, cert, key, False], "c": [True, cert, key, True]},
                ["--runtime", "nts", "disable"],
                {"a": {"enabled": "true", "runtime": "false"},
                 "b": {"enabled": "false", "runtime": "true"}},
                check)


def burst_case():
    def check(t, v):
        # The engine sends at once: a request is out within a moment (regular polls are 8 s apart).
        before = t.burst_baseline
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and packets_sent(t.w) <= before:
            time.sleep(0.1)
        t.assertGreater(packets_sent(t.w), before, "no request sent after Burst")
    return Case("Burst", "", "org.ntpsync1.control", {"a": [], "c": []}, ["burst"],
                {"a": {"command": "burst"}, "b": {"command": "burst"}}, check)


def reload_case():
    added = {"a": "198.51.100.0/24 nomodify", "b": "203.0.113.0/24 noquery", "c": "2001:db8:3::/48 ignore"}

    def check(t, v):
        t.assertIn(added[v], t.w.get("RestrictRules"))
    return Case("Reload", "", "org.ntpsync1.control", {"a": [], "c": []}, ["reload"],
                {"a": {"command": "reload"}, "b": {"command": "reload"}}, check)


CASES = [servers_case(), add_server_case(), remove_server_case(), restrict_case(), add_restrict_case(),
         remove_restrict_case(), firewall_case(), server_mode_case(), nts_case(), burst_case(), reload_case()]


class TestAuthorization(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = dbustest.World("aut", offset=OFFSET)
        cls.addClassCleanup(cls.w.close)

    def setUp(self):
        w = self.w
        w.write_config()
        w.new_state_dir()
        w.start_daemon()
        w.polkit.set()
        self.burst_baseline = 0

    def run_case(self, case):
        try:
            self._run_case(case)
        except BaseException:
            log("ntpsyncd log:\n" + self.w.daemon_log()[-4000:])
            raise

    # ---- assertions

    def assert_ok(self, result):
        self.assertTrue(result.ok, "call failed: %r" % result)

    def assert_error(self, result, name, message_regex=None):
        self.assertFalse(result.ok, "call succeeded, expected %s" % name)
        self.assertEqual(result.error, name, result.message)
        if message_regex:
            self.assertRegex(result.message, message_regex)

    def assert_check(self, call, case, variant, unique_name=None, flags=0):
        """A CheckAuthorization call as ntpsyncd must make it."""
        self.assertEqual(call["kind"], "system-bus-name")
        self.assertEqual(list(call["subject"].keys()), ["name"], call)
        self.assertRegex(call["subject"]["name"], r"^:\d+\.\d+$")
        if unique_name:
            self.assertEqual(call["subject"]["name"], unique_name)
        self.assertEqual(call["action"], case.action)
        for k, v in case.details[variant].items():
            self.assertEqual(call["details"].get(k), v, "detail %s of %r" % (k, call))
        self.assertEqual(call["flags"], flags, call)

    def ctl(self, args, **kw):
        if not self.w.ctl:
            self.skipTest("ntpsyncctl is not built")
        return self.w.ntpsyncctl(args, **kw)

    # ---- the scenario per method

    def _run_case(self, case):
        w = self.w
        if case.prepare:
            case.prepare(self)
        if case.method == "Reload":
            self.edit_config_for_reload("a")

        # -- denied: raw (error name), busctl, ntpsyncctl; nothing changes; polkit asked each time
        w.polkit.set()
        before = w.snapshot()
        if case.method == "Burst":
            self.burst_baseline = packets_sent(w)
        raw = w.call(case.method, case.signature, case.args["a"], nobody=True)
        self.assert_error(raw, ERROR_ACCESS_DENIED, "^Access denied$")
        p = w.busctl_call(case.method, case.signature, case.args["a"], nobody=True, interactive=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("Access denied", p.stderr)
        p = self.ctl(case.ctl, nobody=True)
        self.assertEqual(p.returncode, CTL_DENIED, p.stderr)
        self.assertRegex(p.stderr, "permission denied")
        self.assertEqual(w.snapshot(), before, "a denied %s changed something" % case.method)
        if case.method == "Reload":
            self.assertNotIn("198.51.100.0/24 nomodify", w.get("RestrictRules"))
        calls = w.polkit.calls()
        self.assertEqual(len(calls), 3, calls)
        self.assert_check(calls[0], case, "a", raw.unique_name, flags=0)
        self.assert_check(calls[1], case, "a", flags=0)
        self.assertNotEqual(calls[1]["subject"]["name"], raw.unique_name)
        # ntpsyncctl allows interactive authorization only with a terminal on stdin (here: none)
        self.assert_check(calls[2], case, "b", flags=0)
        if case.method == "Burst":
            time.sleep(0.5)
            self.assertLessEqual(packets_sent(w) - self.burst_baseline, 1, "denied Burst polled anyway")

        # -- interactive authorization needed, not allowed by the caller
        w.polkit.set(challenge=[case.action])
        raw = w.call(case.method, case.signature, case.args["a"], nobody=True, interactive=False)
        self.assert_error(raw, ERROR_INTERACTIVE)
        p = w.busctl_call(case.method, case.signature, case.args["a"], nobody=True, interactive=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("Interactive authentication required", p.stderr)
        p = self.ctl(["--no-ask-password"] + case.ctl, nobody=True)
        self.assertEqual(p.returncode, CTL_DENIED, p.stderr)
        self.assertEqual(w.snapshot(), before, "%s without authorization changed something" % case.method)
        calls = w.polkit.calls()
        self.assertEqual(len(calls), 3, calls)
        self.assert_check(calls[0], case, "a", raw.unique_name, flags=0)
        self.assert_check(calls[1], case, "a", flags=0)
        self.assert_check(calls[2], case, "b", flags=0)

        # -- the same, interaction allowed (busctl): polkit "asks" and allows
        w.polkit.set(challenge=[case.action])
        if case.method == "Burst":
            self.burst_baseline = packets_sent(w)
        p = w.busctl_call(case.method, case.signature, case.args["a"], nobody=True, interactive=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        case.check(self, "a")
        calls = w.polkit.calls()
        self.assertEqual(len(calls), 1, calls)
        self.assert_check(calls[0], case, "a", flags=1)

        # -- allowed outright: ntpsyncctl
        if case.method == "Reload":
            self.edit_config_for_reload("b")
        w.polkit.set(allowed=[case.action])
        if case.method == "Burst":
            self.burst_baseline = packets_sent(w)
        p = self.ctl(case.ctl, nobody=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "", "a change prints nothing")
        case.check(self, "b")
        calls = w.polkit.calls()
        self.assertEqual(len(calls), 1, calls)
        self.assert_check(calls[0], case, "b", flags=0)
        # a polkit answer for another action does not count
        w.polkit.set(allowed=[a for a in dbustest.ACTIONS if a != case.action])
        self.assert_error(w.call(case.method, case.signature, case.args["c"], nobody=True), ERROR_ACCESS_DENIED)

        # -- root: allowed without polkit (which would deny)
        if case.method == "Reload":
            self.edit_config_for_reload("c")
        w.polkit.set()
        if case.method == "Burst":
            self.burst_baseline = packets_sent(w)
        self.assert_ok(w.call(case.method, case.signature, case.args["c"]))
        case.check(self, "c")
        p = w.busctl_call(case.method, case.signature, case.args["c"], interactive=False)
        if case.method in ("AddServer", "RemoveServer", "RemoveRestrict"):
            self.assertEqual(p.returncode, 1, "a second identical %s is invalid" % case.method)
        else:
            self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(w.polkit.calls(), [], "polkit asked for a root caller")
        self.assertTrue(w.daemon.process.running())

    def edit_config_for_reload(self, variant):
        rules = {"a": ["restrict 198.51.100.0 mask 255.255.255.0 nomodify"],
                 "b": ["restrict 198.51.100.0 mask 255.255.255.0 nomodify", "restrict 203.0.113.0/24 noquery"],
                 "c": ["restrict 198.51.100.0 mask 255.255.255.0 nomodify", "restrict 203.0.113.0/24 noquery",
                       "restrict 2001:db8:3::/48 ignore"]}
        self.w.write_config(rules[variant])

    def test_set_servers(self):
        self.run_case(CASES[0])

    def test_add_server(self):
        self.run_case(CASES[1])

    def test_remove_server(self):
        self.run_case(CASES[2])

    def test_set_restrict_rules(self):
        self.run_case(CASES[3])

    def test_add_restrict(self):
        self.run_case(CASES[4])

    def test_remove_restrict(self):
        self.run_case(CASES[5])

    def test_set_firewall(self):
        self.run_case(CASES[6])

    def test_set_server_mode(self):
        self.run_case(CASES[7])

    def test_burst(self):
        self.run_case(CASES[8])

    def test_reload(self):
        self.run_case(CASES[9])

    # ---- no polkitd at all

    def test_polkitd_absent(self):
        """Without polkitd every change by an unprivileged caller is denied, nothing changes;
        root still works."""
        w = self.w
        for case in CASES:
            if case.prepare:
                case.prepare(self)
        w.polkit.stop()
        try:
            before = w.snapshot()
            for case in CASES:
                raw = w.call(case.method, case.signature, case.args["a"], nobody=True, interactive=True)
                self.assert_error(raw, ERROR_ACCESS_DENIED)
                log("%s without polkitd: %s" % (case.method, raw.message))
                p = w.busctl_call(case.method, case.signature, case.args["a"], nobody=True, interactive=False)
                self.assertEqual(p.returncode, 1, case.method)
                self.assertIn("Access denied", p.stderr)
                if w.ctl:
                    p = w.ntpsyncctl(case.ctl, nobody=True)
                    self.assertEqual(p.returncode, CTL_DENIED, "%s: %s" % (case.method, p.stderr))
            self.assertEqual(w.snapshot(), before)
            self.assert_ok(w.call("SetServerMode", "bb", [True, True]))
            self.assertTrue(w.get("ServerMode"))
            self.assertTrue(w.daemon.process.running())
        finally:
            w.polkit.start()

    # ---- Query: no authorization, a real measurement

    def test_query(self):
        """Query as uid 65534 while polkit denies everything: raw, busctl and ntpsyncctl at once
        (each takes a short burst, ~10 s), and an address nobody answers at."""
        w = self.w
        w.polkit.set()
        host = w.server.address
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            raw = pool.submit(w.call, "Query", "s", [host], nobody=True)
            unreachable = pool.submit(w.call, "Query", "s", ["198.51.100.99"], nobody=True, timeout=60)
            bus = pool.submit(w.busctl_call, "Query", "s", [host], nobody=True, interactive=False, json_output=True)
            ctl = pool.submit(w.ntpsyncctl, ["--json", "query", w.server.address6], nobody=True) if w.ctl else None

            r = raw.result()
            self.assert_ok(r)
            offset_ns, delay_ns, stratum, refid = r.reply
            log("Query %s: %r" % (host, r.reply))
            self.assertAlmostEqual(offset_ns / 1e9, OFFSET, delta=TOL)
            self.assertLess(delay_ns, 10e6)
            self.assertEqual(stratum, 1)
            self.assertTrue(refid)

            p = bus.result()
            self.assertEqual(p.returncode, 0, p.stderr)
            data = json.loads(p.stdout)
            self.assertEqual(data["type"], "xtys")
            self.assertAlmostEqual(data["data"][0] / 1e9, OFFSET, delta=TOL)
            self.assertEqual(data["data"][2], 1)

            if ctl:
                p = ctl.result()
                self.assertEqual(p.returncode, 0, p.stderr)
                data = json.loads(p.stdout)
                self.assertAlmostEqual(data["offset"], OFFSET, delta=TOL)
                self.assertEqual(data["stratum"], 1)

            # An address nobody answers at: a clear error, not a hang.
            r = unreachable.result()
            self.assertFalse(r.ok)
            self.assertEqual(r.error, "org.ntpsync1.Error.QueryFailed", r.message)
            self.assertIn("198.51.100.99", r.message)
        self.assertEqual(w.polkit.calls(), [], "Query asked polkit")
        r = w.call("Query", "s", ["not a host"], nobody=True)
        self.assertEqual(r.error, dbustest.ERROR_INVALID_ARGS, r)

    # ---- the bus policy

    def test_bus_policy(self):
        """dbus/org.ntpsync1.conf: Get/GetAll/Introspect for everybody, Properties.Set and other
        interfaces for nobody (the bus refuses before ntpsyncd sees them)."""
        w = self.w
        before = w.snapshot()
        for nobody in (True, False):
            r = w.call("Set", "ssv", [dbustest.INTERFACE, "ServerMode", True], nobody=nobody,
                       interface=dbustest.PROPERTIES_INTERFACE)
            self.assert_error(r, ERROR_ACCESS_DENIED, "Rejected send message")
            r = w.call("Frobnicate", "", [], nobody=nobody, interface="org.example.Other")
            self.assert_error(r, ERROR_ACCESS_DENIED, "Rejected send message")
        for dest in (dbustest.BUS_NAME, dbustest.TIMESYNC_NAME):
            r = w.call("Introspect", "", [], nobody=True, dest=dest, path="/",
                       interface="org.freedesktop.DBus.Introspectable")
            self.assert_ok(r)
            r = w.call("Ping", "", [], nobody=True, dest=dest, interface="org.freedesktop.DBus.Peer")
            self.assert_ok(r)
        r = w.call("GetAll", "s", [dbustest.INTERFACE], nobody=True, interface=dbustest.PROPERTIES_INTERFACE)
        self.assert_ok(r)
        self.assertEqual(r.reply[0]["ClockControl"], "observe")
        self.assertEqual(w.snapshot(), before)
        # Only root (or the ntpsync user) may own the names.
        r = w.call("RequestName", "su", [dbustest.BUS_NAME, 0], nobody=True, dest="org.freedesktop.DBus",
                   path="/org/freedesktop/DBus", interface="org.freedesktop.DBus")
        self.assert_error(r, ERROR_ACCESS_DENIED)
        self.assertEqual(w.polkit.calls(), [])


if __name__ == "__main__":
    dbustest.main_unittest()
