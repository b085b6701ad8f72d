#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""org.freedesktop.timesync1 compatibility: with the name free, ntpsyncd serves
/org/freedesktop/timesync1 with systemd-timesyncd's signatures and sane values once the chronyd
answers (busctl get-property, as root and as uid 65534); SetRuntimeNTPServers goes through polkit
and shows in RuntimeNTPServers and in org.ntpsync1's Servers; with `timesync1 off` the name is
not taken; with the name owned by another process ntpsyncd still runs and serves org.ntpsync1."""

import os
import subprocess
import sys
import time
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbustest  # noqa: E402
from dbustest import TIMESYNC_INTERFACE, TIMESYNC_NAME, TIMESYNC_PATH, log  # noqa: E402

OFFSET = 0.03

# systemd-timesyncd's org.freedesktop.timesync1.Manager (src/timesync/timesyncd-bus.c)
SIGNATURES = {
    "LinkNTPServers": "as",
    "SystemNTPServers": "as",
    "RuntimeNTPServers": "as",
    "FallbackNTPServers": "as",
    "ServerName": "s",
    "ServerAddress": "(iay)",
    "RootDistanceMaxUSec": "t",
    "PollIntervalMinUSec": "t",
    "PollIntervalMaxUSec": "t",
    "PollIntervalUSec": "t",
    "NTPMessage": "(uuuuittayttttbtt)",
    "Frequency": "x",
}


class TestTimesync1(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = dbustest.World("ts1", offset=OFFSET)
        cls.addClassCleanup(cls.w.close)

    def setUp(self):
        self.w.write_config()
        self.w.new_state_dir()

    def get(self, names, nobody=False):
        values = self.w.busctl_get(names, dest=TIMESYNC_NAME, path=TIMESYNC_PATH, interface=TIMESYNC_INTERFACE,
                                   nobody=nobody)
        return dict(zip(names, values))

    def test_properties(self):
        w = self.w
        w.start_daemon()
        self.assertIsNotNone(w.bus.wait_owner(TIMESYNC_NAME, 5), "org.freedesktop.timesync1 not taken")
        # The same process, on a connection of its own (systemd's timesync1 policy must not
        # apply to org.ntpsync1's methods).
        self.assertNotEqual(w.bus.owner(TIMESYNC_NAME), w.bus.owner(dbustest.BUS_NAME))
        self.assertEqual(w.bus.owner_pid(TIMESYNC_NAME), w.bus.owner_pid(dbustest.BUS_NAME))
        self.assertTrue(w.wait_synchronized(60), "not synchronized within 60 s:\n" + w.daemon_log())
        time.sleep(0.5)
        names = list(SIGNATURES)
        for nobody in (False, True):
            got = self.get(names, nobody=nobody)
            for name in names:
                self.assertEqual(got[name]["type"], SIGNATURES[name], name)
        v = {k: x["data"] for k, x in got.items()}
        log("timesync1: %r" % v)
        now_us = time.time() * 1e6

        self.assertEqual(v["ServerName"], w.server.address)
        self.assertEqual(v["ServerAddress"], [2, [int(b) for b in w.server.address.split(".")]])  # AF_INET
        self.assertEqual(v["SystemNTPServers"], [w.server.address])
        self.assertEqual(v["RuntimeNTPServers"], [])
        self.assertEqual(v["LinkNTPServers"], [])
        self.assertIn(v["PollIntervalUSec"], (8_000_000, 16_000_000), "minpoll 3 maxpoll 4")
        self.assertLessEqual(v["PollIntervalMinUSec"], v["PollIntervalMaxUSec"])
        self.assertGreater(v["PollIntervalMinUSec"], 0)
        self.assertGreater(v["RootDistanceMaxUSec"], 0)
        self.assertLess(abs(v["Frequency"]), 500 * 65536, "kernel units: ppm << 16")

        leap, version, mode, stratum, precision, root_delay, root_disp, refid, t1, t2, t3, t4, spike, packets, \
            jitter = v["NTPMessage"]
        self.assertEqual((leap, version, mode, stratum), (0, 4, 4, 1))
        self.assertLess(precision, 0)
        self.assertLess(root_delay, 1_000_000)
        self.assertLess(root_disp, 1_000_000)
        self.assertEqual(len(refid), 4)
        for t in (t1, t2, t3, t4):
            self.assertLess(abs(t - now_us), 60e6, "a timestamp far from now: %r" % v["NTPMessage"])
        self.assertLessEqual(t1, t4)
        offset = ((t2 - t1) + (t3 - t4)) / 2 / 1e6
        delay = ((t4 - t1) - (t3 - t2)) / 1e6
        self.assertAlmostEqual(offset, OFFSET, delta=0.005, msg="offset timedatectl would compute")
        self.assertGreaterEqual(delay, 0)
        self.assertLess(delay, 0.01)
        self.assertFalse(spike)
        self.assertGreater(packets, 0)
        self.assertLess(jitter, 100_000)

        # the live interface has systemd's property types and SetRuntimeNTPServers(as)
        r = w.call("Introspect", "", [], nobody=True, dest=TIMESYNC_NAME, path=TIMESYNC_PATH,
                   interface="org.freedesktop.DBus.Introspectable")
        iface = [i for i in ET.fromstring(r.reply[0]).findall("interface") if i.get("name") == TIMESYNC_INTERFACE][0]
        self.assertEqual({p.get("name"): p.get("type") for p in iface.findall("property")}, SIGNATURES)
        methods = {m.get("name"): [(a.get("type"), a.get("direction", "in")) for a in m.findall("arg")]
                   for m in iface.findall("method")}
        self.assertEqual(methods, {"SetRuntimeNTPServers": [("as", "in")]})

        # timedatectl reads the same (it honours DBUS_SYSTEM_BUS_ADDRESS, but wants a systemd system)
        if os.path.isdir("/run/systemd/system"):
            p = subprocess.run(["timedatectl", "show-timesync", "--all"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, universal_newlines=True, timeout=30,
                               env=dict(os.environ, **w.bus.env()))
            log("timedatectl show-timesync: %d\n%s%s" % (p.returncode, p.stdout, p.stderr))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("ServerName=%s" % w.server.address, p.stdout)
        else:
            log("not booted with systemd: timedatectl not tried")

        # last, as it is the least important: the poll interval within the limits shown with it
        self.assertTrue(v["PollIntervalMinUSec"] <= v["PollIntervalUSec"] <= v["PollIntervalMaxUSec"],
                        "PollIntervalUSec %d outside [PollIntervalMinUSec %d, PollIntervalMaxUSec %d] "
                        "(the configured minpoll 3 maxpoll 4)" %
                        (v["PollIntervalUSec"], v["PollIntervalMinUSec"], v["PollIntervalMaxUSec"]))

    def test_ntp_message_without_peer(self):
        """Once the system peer is gone, the server is the one being tried, as timesyncd names it,
        and NTPMessage must not show a half-made exchange: it is the last one received (its four
        timestamps all near now), as timesyncd keeps it, or none at all."""
        w = self.w
        w.start_daemon()
        self.assertTrue(w.wait_synchronized(60), w.daemon_log())
        r = w.call("SetServers", "asb", [["server 198.51.100.50"], True])
        self.assertTrue(r.ok, r)
        deadline = time.monotonic() + 10
        while w.get("Synchronized") and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertFalse(w.get("Synchronized"))
        msg = self.get(["NTPMessage", "ServerName", "ServerAddress"])
        log("without a peer: %r" % msg)
        self.assertEqual(msg["ServerName"]["data"], "198.51.100.50")
        self.assertEqual(msg["ServerAddress"]["data"], [2, [198, 51, 100, 50]])
        stamps = msg["NTPMessage"]["data"][8:12]
        now_us = time.time() * 1e6
        self.assertTrue(stamps == [0, 0, 0, 0] or all(abs(t - now_us) < 120e6 for t in stamps),
                        "NTPMessage timestamps without a system peer: %r" % msg["NTPMessage"]["data"])

    def test_set_runtime_ntp_servers(self):
        w = self.w
        w.start_daemon()
        names = [w.server.address, "198.51.100.5"]

        def call(args, interactive=False):
            return w.call("SetRuntimeNTPServers", "as", [args], nobody=True, interactive=interactive,
                          dest=TIMESYNC_NAME, path=TIMESYNC_PATH, interface=TIMESYNC_INTERFACE)

        # denied, and interactive needed: nothing changes
        w.polkit.set(challenge=[])
        before = w.snapshot()
        r = call(names)
        self.assertEqual(r.error, dbustest.ERROR_ACCESS_DENIED, r)
        w.polkit.set(challenge=["org.ntpsync1.set-servers"])
        r = call(names)
        self.assertEqual(r.error, dbustest.ERROR_INTERACTIVE, r)
        self.assertEqual(w.snapshot(), before)
        self.assertEqual(self.get(["RuntimeNTPServers"])["RuntimeNTPServers"]["data"], [])

        # allowed
        w.polkit.set(allowed=["org.ntpsync1.set-servers"])
        r = call(names)
        self.assertTrue(r.ok, r)
        calls = w.polkit.calls()
        self.assertEqual(len(calls), 1)
        self.assertEqual(calls[0]["action"], "org.ntpsync1.set-servers")
        self.assertEqual(calls[0]["subject"], {"name": r.unique_name})
        self.assertEqual(calls[0]["details"].get("runtime"), "true")
        got = self.get(["RuntimeNTPServers", "SystemNTPServers"])
        self.assertEqual(got["RuntimeNTPServers"]["data"], names)
        self.assertEqual(w.get("Servers"), ["server %s iburst" % n for n in names])
        self.assertIsNone(w.settings_text(), "runtime servers were persisted")
        p = w.busctl(["get-property", TIMESYNC_NAME, TIMESYNC_PATH, TIMESYNC_INTERFACE, "RuntimeNTPServers"],
                     nobody=True)
        self.assertEqual(p.stdout.split(), ["as", "2"] + ['"%s"' % n for n in names])

        # through busctl too, as uid 65534 (polkit allows)
        p = w.busctl_call("SetRuntimeNTPServers", "as", [[w.server.address]], nobody=True, interactive=False,
                          dest=TIMESYNC_NAME, path=TIMESYNC_PATH, interface=TIMESYNC_INTERFACE)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(w.get("Servers"), ["server %s iburst" % w.server.address])

        # an empty list ends the runtime servers (timesyncd: fall back to the system ones)
        r = call([])
        self.assertTrue(r.ok, r)
        self.assertEqual(self.get(["RuntimeNTPServers"])["RuntimeNTPServers"]["data"], [])
        self.assertEqual(w.get("Servers"), [w.server_spec()], "an empty runtime list left no servers")

    def test_runtime_servers_announced(self):
        """RuntimeNTPServers and SystemNTPServers are introspected as emitting PropertiesChanged
        (no annotation = "true"), so a change must be announced."""
        w = self.w
        w.start_daemon()
        r = w.call("Introspect", "", [], dest=TIMESYNC_NAME, path=TIMESYNC_PATH,
                   interface="org.freedesktop.DBus.Introspectable")
        iface = [i for i in ET.fromstring(r.reply[0]).findall("interface") if i.get("name") == TIMESYNC_INTERFACE][0]
        emits = {p.get("name"): {a.get("name"): a.get("value") for a in p.findall("annotation")}.get(
                 "org.freedesktop.DBus.Property.EmitsChangedSignal", "true") for p in iface.findall("property")}
        rec = dbustest.SignalRecorder(w.bus, path=TIMESYNC_PATH)
        self.addCleanup(rec.remove)
        w.polkit.allow_all()
        r = w.call("SetRuntimeNTPServers", "as", [["198.51.100.6"]], nobody=True, dest=TIMESYNC_NAME,
                   path=TIMESYNC_PATH, interface=TIMESYNC_INTERFACE)
        self.assertTrue(r.ok, r)
        rec.bus.pump(1.5)
        announced = set()
        for _, (iface_name, changed, invalidated) in rec.signals:
            announced |= set(changed) | set(invalidated)
        for name in ("RuntimeNTPServers", "SystemNTPServers"):
            if emits[name] in ("true", "invalidates"):
                self.assertIn(name, announced, "%s changed, introspected as EmitsChangedSignal=%s, but no "
                              "PropertiesChanged named it (signals: %r)" % (name, emits[name], rec.signals))

    def test_timesync1_off(self):
        w = self.w
        w.start_daemon(config=w.write_config(["timesync1 off"]))
        time.sleep(1)
        self.assertIsNone(w.bus.owner(TIMESYNC_NAME), "timesync1 off, but the name was taken")
        self.assertEqual(w.get("Servers"), [w.server_spec()])
        r = w.call("Introspect", "", [], nobody=True, path=TIMESYNC_PATH, interface="org.freedesktop.DBus.Introspectable")
        if r.ok:
            self.assertNotIn(TIMESYNC_INTERFACE, r.reply[0], "the timesync1 object is served anyway")
        else:
            self.assertEqual(r.error, "org.freedesktop.DBus.Error.UnknownObject", r)
        w.stop_daemon()

    def test_name_taken(self):
        w = self.w
        other = dbustest.dbus.bus.BusConnection(w.bus.address)
        self.addCleanup(other.close)
        self.assertEqual(other.request_name(TIMESYNC_NAME, dbustest.dbus.bus.NAME_FLAG_DO_NOT_QUEUE),
                         dbustest.dbus.bus.REQUEST_NAME_REPLY_PRIMARY_OWNER)
        owner = w.bus.owner(TIMESYNC_NAME)
        d = w.start_daemon()
        self.assertTrue(d.wait_ready(10), d.process.stderr())
        self.assertIsNotNone(d.process.wait_for_stderr("timesync1 is taken", 5), d.process.stderr())
        self.assertTrue(d.process.running())
        self.assertEqual(w.bus.owner(TIMESYNC_NAME), owner, "ntpsyncd took the name over")
        self.assertNotEqual(w.bus.owner(dbustest.BUS_NAME), owner)
        # org.ntpsync1 works: read, change (root), query
        self.assertEqual(w.get("Servers"), [w.server_spec()])
        r = w.call("SetServerMode", "bb", [True, True])
        self.assertTrue(r.ok, r)
        self.assertTrue(w.get("ServerMode"))
        self.assertTrue(w.wait_synchronized(60))
        # the other owner goes away: ntpsyncd carries on either way
        other.release_name(TIMESYNC_NAME)
        time.sleep(0.5)
        self.assertTrue(d.process.running())
        w.stop_daemon()


if __name__ == "__main__":
    dbustest.main_unittest()
