#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The interface as served against the contract, and its signals:

  - dbus/org.ntpsync1.Manager.xml (xml.etree) vs the live Introspect of /org/ntpsync1: the same
    methods with the same argument names, types and directions, the same properties with type,
    access and EmitsChangedSignal (sd-bus leaves the annotation out for "true"), no signals;
  - PropertiesChanged (a python-dbus receiver on the private bus): Synchronized and its company
    once the chronyd answers, Servers after SetServers, ServerMode after SetServerMode,
    RestrictRules, FirewallClient/Server; the values in the signal are the ones Get returns;
    Sources only invalidated; ClockControl never; one signal per change; nothing on a denied
    call.
"""

import os
import sys
import time
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbustest  # noqa: E402
from dbustest import INTERFACE, log  # noqa: E402

EMITS = "org.freedesktop.DBus.Property.EmitsChangedSignal"
STANDARD = {"org.freedesktop.DBus.Peer", "org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Properties"}


def describe_interface(xml_text, name):
    """{"methods": {name: ([(arg name, type, direction)], {annotation: value})}, "properties":
    {name: (type, access, emits)}, "signals": {...}} of one interface in introspection XML."""
    root = ET.fromstring(xml_text)
    found = [i for i in root.findall("interface") if i.get("name") == name]
    if len(found) != 1:
        raise AssertionError("%d interfaces named %s" % (len(found), name))
    iface = found[0]

    def annotations(e):
        return {a.get("name"): a.get("value") for a in e.findall("annotation")}

    methods = {}
    for m in iface.findall("method"):
        args = [(a.get("name"), a.get("type"), a.get("direction", "in")) for a in m.findall("arg")]
        methods[m.get("name")] = (args, annotations(m))
    properties = {}
    for p in iface.findall("property"):
        ann = annotations(p)
        emits = ann.pop(EMITS, "true")  # missing means "true"
        properties[p.get("name")] = (p.get("type"), p.get("access"), emits, ann)
    signals = {s.get("name"): [(a.get("name"), a.get("type")) for a in s.findall("arg")]
               for s in iface.findall("signal")}
    return {"methods": methods, "properties": properties, "signals": signals,
            "interface annotations": annotations(iface)}


class TestIntrospection(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = dbustest.World("ifc", chrony=True)
        cls.addClassCleanup(cls.w.close)
        cls.w.start_daemon()

    def live_xml(self, path=dbustest.OBJECT_PATH, nobody=True):
        r = self.w.call("Introspect", "", [], nobody=nobody, path=path, interface="org.freedesktop.DBus.Introspectable")
        self.assertTrue(r.ok, r)
        return r.reply[0]

    def test_contract_matches_live(self):
        with open(dbustest.INTERFACE_XML) as f:
            contract = describe_interface(f.read(), INTERFACE)
        live_text = self.live_xml()
        live = describe_interface(live_text, INTERFACE)
        # same method names, then each one's arguments, in order
        self.assertEqual(sorted(live["methods"]), sorted(contract["methods"]), "method names")
        for name, (args, ann) in contract["methods"].items():
            self.assertEqual(live["methods"][name][0], args, "arguments of %s" % name)
            self.assertEqual(live["methods"][name][1], ann, "annotations of %s" % name)
        self.assertEqual(sorted(live["properties"]), sorted(contract["properties"]), "property names")
        for name, desc in contract["properties"].items():
            self.assertEqual(live["properties"][name], desc, "property %s (type, access, emits, other)" % name)
        self.assertEqual(live["signals"], contract["signals"])
        self.assertEqual(live["interface annotations"], contract["interface annotations"])
        # and nothing else is served there
        interfaces = {i.get("name") for i in ET.fromstring(live_text).findall("interface")}
        self.assertEqual(interfaces - STANDARD, {INTERFACE})
        # busctl sees the same (as uid 65534, through the bus policy)
        p = self.w.busctl(["introspect", "--xml-interface", dbustest.BUS_NAME, dbustest.OBJECT_PATH], nobody=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(describe_interface(p.stdout, INTERFACE), live)

    def test_get_all_matches_contract(self):
        """Every property of the contract is served with its type (GetAll through busctl --json)."""
        with open(dbustest.INTERFACE_XML) as f:
            contract = describe_interface(f.read(), INTERFACE)
        names = sorted(contract["properties"])
        values = self.w.busctl_get(names, nobody=True)
        for name, v in zip(names, values):
            self.assertEqual(v["type"], contract["properties"][name][0], name)
        self.assertEqual(self.w.get("ClockControl"), "observe")

    def test_object_tree(self):
        root = ET.fromstring(self.live_xml(path="/"))
        self.assertIn("org", [n.get("name") for n in root.findall("node")])
        root = ET.fromstring(self.live_xml(path="/org"))
        children = sorted(n.get("name") for n in root.findall("node"))
        self.assertIn("ntpsync1", children)


class TestPropertiesChanged(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = dbustest.World("sig", offset=0.04)
        cls.addClassCleanup(cls.w.close)

    def test_signals(self):
        w = self.w
        rec = dbustest.SignalRecorder(w.bus)
        self.addCleanup(rec.remove)
        w.polkit.allow_all()
        w.start_daemon()

        def has(name, value=None):
            def pred(iface, changed, invalidated):
                return iface == INTERFACE and name in changed and (value is None or changed[name] == value)
            return pred

        # -- synchronization, as the source answers
        got = rec.wait(has("Synchronized", True), 60)
        self.assertIsNotNone(got, "no PropertiesChanged with Synchronized=true within 60 s:\n" + w.daemon_log())
        self.assertTrue(w.get("Synchronized"))
        synced_at = len(rec.signals)
        all_changed = {}
        for _, (iface, changed, invalidated) in rec.signals:
            all_changed.update(changed)
        for name in ("Stratum", "ReferenceId", "SystemPeer", "Offset", "Jitter", "LeapStatus"):
            self.assertIn(name, all_changed, "%s never announced" % name)
        self.assertEqual(all_changed["Stratum"], 2)
        self.assertEqual(all_changed["SystemPeer"], "%s (%s)" % (w.server.address, w.server.address))
        self.assertEqual(all_changed["LeapStatus"], "none")
        self.assertAlmostEqual(all_changed["Offset"] / 1e9, 0.04, delta=0.005)
        # One source on veth: its jitter is microseconds, never zero, never near the offset.
        self.assertGreater(w.get("Jitter"), 0)
        self.assertLess(w.get("Jitter"), 1e6)
        self.assertTrue(any("Sources" in inv for _, (_, _, inv) in rec.signals), "Sources never invalidated")

        # -- every signal so far: Sources only ever invalidated, ClockControl never, values typed
        for _, (iface, changed, invalidated) in rec.signals:
            self.assertEqual(iface, INTERFACE)
            self.assertNotIn("Sources", changed)
            self.assertNotIn("ClockControl", changed)
            self.assertNotIn("ClockControl", invalidated)
            for name in invalidated:
                self.assertEqual(name, "Sources", "only Sources is invalidated: %r" % invalidated)

        # -- changes made over D-Bus, each announced once with the value Get returns
        def change_and_expect(method, signature, args, expect, timeout=5):
            start = len(rec.signals)
            r = w.call(method, signature, args, nobody=True)
            self.assertTrue(r.ok, r)
            for name, value in expect.items():
                got = rec.wait(has(name, value), timeout)
                self.assertIsNotNone(got, "%s: no PropertiesChanged with %s=%r; signals %r" %
                                     (method, name, value, [s for _, s in rec.signals[start:]]))
                self.assertEqual(w.get(name), value)
            rec.bus.pump(0.5)
            for name in expect:
                n = sum(1 for _, (_, changed, _) in rec.signals[start:] if name in changed)
                self.assertEqual(n, 1, "%s announced %d times after one %s" % (name, n, method))

        servers = [w.server_spec(), "server 198.51.100.1 iburst xleave"]
        change_and_expect("SetServers", "asb", [servers, True], {"Servers": servers})
        change_and_expect("AddServer", "sb", ["pool pool.example.test", True],
                          {"Servers": servers + ["pool pool.example.test"]})
        change_and_expect("SetServerMode", "bb", [True, True], {"ServerMode": True})
        change_and_expect("SetServerMode", "bb", [False, False], {"ServerMode": False})
        # Unmanaged, client traffic already reads allowed: opening the server side is the news,
        # then closing it again.
        change_and_expect("SetFirewall", "bb", [True, True], {"FirewallServer": True})
        change_and_expect("SetFirewall", "bb", [True, False], {"FirewallServer": False})
        change_and_expect("AddRestrict", "sb", ["198.51.100.0/24 noquery", True],
                          {"RestrictRules": ["-4 default", "-6 default", "198.51.100.0/24 noquery"]})
        change_and_expect("SetRestrictRules", "asb", [["default kod"], True],
                          {"RestrictRules": ["-4 default kod", "-6 default kod"]})

        # -- a refused change announces nothing
        w.polkit.set()
        start = len(rec.signals)
        for method, signature, args in [("SetServerMode", "bb", [True, True]),
                                        ("SetServers", "asb", [["server 198.51.100.9"], True])]:
            r = w.call(method, signature, args, nobody=True)
            self.assertEqual(r.error, dbustest.ERROR_ACCESS_DENIED)
        r = w.call("SetServers", "asb", [[], True], nobody=True)
        self.assertEqual(r.error, dbustest.ERROR_INVALID_ARGS)
        rec.bus.pump(1.0)
        for _, (_, changed, _) in rec.signals[start:]:
            for name in dbustest.SETTING_PROPERTIES:
                self.assertNotIn(name, changed, "a refused call announced %s" % name)

        # -- losing the source: Synchronized false is announced too
        w.polkit.allow_all()
        change_and_expect("SetServers", "asb", [["server 198.51.100.2"], True], {"Servers": ["server 198.51.100.2"]})
        got = rec.wait(has("Synchronized", False), 10)
        self.assertIsNotNone(got, "losing the only source did not announce Synchronized=false")
        log("%d signals, %d after synchronization" % (len(rec.signals), len(rec.signals) - synced_at))


if __name__ == "__main__":
    dbustest.main_unittest()
