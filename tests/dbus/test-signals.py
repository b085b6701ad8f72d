#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every change is announced, whatever its size: with 100 servers and 200 restrict rules, a
change of the last element still sends PropertiesChanged with the whole new value, on
org.ntpsync1.Manager and on the timesync1 compatibility object, as `busctl monitor` sees it."""

import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbustest  # noqa: E402
from dbustest import log  # noqa: E402

TIMESYNC_PATH = "/org/freedesktop/timesync1"
TIMESYNC_INTERFACE = "org.freedesktop.timesync1.Manager"


def servers(last):
    """100 servers in the documentation ranges (the daemon's namespace has no route to them)."""
    return ["server 198.51.100.%d iburst" % i for i in range(1, 100)] + ["server %s iburst" % last]


def rules(last):
    return ["2001:db8::%x/128 noquery" % i for i in range(1, 200)] + ["%s nomodify" % last]


class Monitor:
    """`busctl monitor` on the private bus, its JSON lines read as they come."""

    def __init__(self, world):
        self.path = os.path.join(world.lab.dir, "monitor.json")
        self.out = open(self.path, "w")
        self.process = subprocess.Popen(["busctl", "--address=" + world.bus.address, "monitor", "--json=short",
                                         "--match", "type='signal',member='PropertiesChanged'"],
                                        stdin=subprocess.DEVNULL, stdout=self.out, stderr=subprocess.STDOUT)
        self.cleanup = dbustest.harness.register_cleanup("busctl monitor %d" % self.process.pid, self.stop)

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.out.close()

    def close(self):
        self.stop()
        dbustest.harness.unregister_cleanup(self.cleanup)

    def changes(self, path, interface):
        """The changed-property dictionaries of every PropertiesChanged of interface at path."""
        found = []
        with open(self.path) as f:
            for line in f:
                try:
                    m = json.loads(line)
                except ValueError:
                    continue
                data = m.get("payload", {}).get("data", [])
                if m.get("path") == path and len(data) == 3 and data[0] == interface:
                    found.append({k: v["data"] for k, v in data[1].items()})
        return found

    def wait_for(self, path, interface, prop, predicate, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for change in self.changes(path, interface):
                if prop in change and predicate(change[prop]):
                    return change[prop]
            time.sleep(0.1)
        return None


class TestSignals(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = dbustest.World("sig")
        cls.addClassCleanup(cls.w.close)
        cls.w.polkit.allow_all()
        cls.w.write_config(["restrict default kod limited nomodify notrap nopeer noquery"], servers=False)
        cls.w.start_daemon()
        cls.monitor = Monitor(cls.w)
        cls.addClassCleanup(cls.monitor.close)
        # The monitor is in place once it sees a change made after it started.
        for i in range(1, 50):
            cls.w.call("SetServers", "asb", [["server 192.0.2.%d" % i], True])
            if cls.monitor.wait_for(dbustest.OBJECT_PATH, dbustest.INTERFACE, "Servers", lambda v: True, 0.5):
                break
        else:
            raise dbustest.harness.SetupError("busctl monitor saw no PropertiesChanged:\n" +
                                              open(cls.monitor.path).read()[-2000:])

    def call_ok(self, method, signature, args):
        r = self.w.call(method, signature, args)
        self.assertTrue(r.ok, r)

    def announced(self, path, interface, prop, wanted):
        """Waits for PropertiesChanged carrying wanted (a list) as prop."""
        value = self.monitor.wait_for(path, interface, prop, lambda v: v == wanted)
        seen = [c[prop] for c in self.monitor.changes(path, interface) if prop in c]
        self.assertIsNotNone(value, "no PropertiesChanged with the whole new %s (%d elements, last %r); "
                             "announced: %s" % (prop, len(wanted), wanted[-1],
                                                [(len(v), v[-1] if v else None) for v in seen]))

    def test_100_servers_each_change_announced(self):
        for last in ("198.51.100.100", "198.51.100.200"):
            specs = servers(last)
            self.call_ok("SetServers", "asb", [specs, True])
            self.assertEqual(self.w.get("Servers"), specs)
            self.announced(dbustest.OBJECT_PATH, dbustest.INTERFACE, "Servers", specs)
            # timesync1 lists the runtime servers by name
            names = [s.split()[1] for s in specs]
            self.announced(TIMESYNC_PATH, TIMESYNC_INTERFACE, "RuntimeNTPServers", names)
        log("Servers: %d announcements" % len([c for c in self.monitor.changes(dbustest.OBJECT_PATH,
                                                                                dbustest.INTERFACE) if "Servers" in c]))

    def test_200_restrict_rules_each_change_announced(self):
        for last in ("2001:db8::1:0/112", "2001:db8::2:0/112"):
            self.call_ok("SetRestrictRules", "asb", [rules(last), True])
            value = self.w.get("RestrictRules")
            self.assertGreaterEqual(len(value), 200)
            self.announced(dbustest.OBJECT_PATH, dbustest.INTERFACE, "RestrictRules", value)


    def test_json_says_never_with_null(self):
        """Sources that never answered: ntpsyncctl's JSON says "when": null, and no field of any
        JSON output carries a sentinel number."""
        # A server with a route that never answers: chronyd, stopped.
        self.w.server.stop()
        self.call_ok("SetServers", "asb", [[self.w.server_spec()], True])
        time.sleep(2)
        outputs = {}
        for command in (["status"], ["sources"], ["servers"], ["restrict"], ["firewall"]):
            p = self.w.ntpsyncctl(["--json"] + command)
            self.assertEqual(p.returncode, 0, p.stderr)
            outputs[command[0]] = json.loads(p.stdout)
        sources = outputs["sources"]
        self.assertEqual(len(sources), 1, sources)
        for s in sources:
            self.assertIsNone(s["when"], s)
            self.assertEqual(s["reach"], 0)

        def numbers(v):
            if isinstance(v, dict):
                return [n for x in v.values() for n in numbers(x)]
            if isinstance(v, list):
                return [n for x in v for n in numbers(x)]
            return [v] if isinstance(v, int) and not isinstance(v, bool) else []
        for name, value in outputs.items():
            sentinels = [n for n in numbers(value) if n in (2 ** 64 - 1, 2 ** 63 - 1, -2 ** 63, 2 ** 32 - 1)]
            self.assertEqual(sentinels, [], "%s --json: %s" % (name, json.dumps(value)[:2000]))


if __name__ == "__main__":
    dbustest.main_unittest()
