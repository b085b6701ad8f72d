#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The daemon survives the system bus going away and coming back (dbus-daemon restarted): while
the bus is gone it keeps its sources and keeps serving time; once the bus is back it owns its
names again, its objects answer, and nothing it had was lost."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbustest  # noqa: E402
from dbustest import log  # noqa: E402

HARNESS = os.path.abspath(dbustest.harness.__file__)


class TestReconnect(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = dbustest.World("rec")
        cls.addClassCleanup(cls.w.close)

    def probe(self):
        """One NTP exchange with the daemon, from chronyd's namespace; True when answered."""
        link = self.w.lab.links[0]
        p = link.server.run([dbustest.harness.PYTHON3, HARNESS, "probe", link.client_v4, "--timeout", "2"],
                            timeout=20)
        return p.returncode == 0

    def test_bus_restart(self):
        w = self.w
        w.polkit.allow_all()
        w.write_config(["serve on", "restrict default kod limited nomodify notrap nopeer noquery"])
        w.start_daemon()
        self.assertTrue(w.wait_synchronized(60), w.daemon_log())
        r = w.call("SetServers", "asb", [[w.server_spec(), "server 198.51.100.7"], True])
        self.assertTrue(r.ok, r)
        before = {name: w.get(name) for name in ("Servers", "Synchronized", "ServerMode", "ReferenceId")}
        self.assertTrue(self.probe(), "no NTP answer before the bus went away")

        w.polkit.stop()
        w.bus.stop()
        try:
            # Gone: time is still served, and the daemon is still there.
            time.sleep(1)
            self.assertTrue(w.daemon.process.running(), w.daemon_log())
            self.assertTrue(self.probe(), "no NTP answer while the bus was gone:\n" + w.daemon_log())
            time.sleep(2)
        finally:
            w.bus.start()
            w.polkit.start()
        self.assertIsNotNone(w.bus.wait_owner(dbustest.BUS_NAME, 20, w.daemon.process),
                             "the daemon did not take %s again:\n%s" % (dbustest.BUS_NAME, w.daemon_log()))
        self.assertIsNotNone(w.bus.wait_owner(dbustest.TIMESYNC_NAME, 20, w.daemon.process),
                             "the daemon did not take %s again" % dbustest.TIMESYNC_NAME)
        after = {name: w.get(name) for name in before}
        log("before %r, after %r" % (before, after))
        self.assertEqual(after, before)
        self.assertEqual(w.get("SystemNTPServers", interface=dbustest.TIMESYNC_INTERFACE, dest=dbustest.TIMESYNC_NAME,
                               path=dbustest.TIMESYNC_PATH), [])
        self.assertEqual(w.get("RuntimeNTPServers", interface=dbustest.TIMESYNC_INTERFACE,
                               dest=dbustest.TIMESYNC_NAME, path=dbustest.TIMESYNC_PATH),
                         [w.server.address, "198.51.100.7"])
        self.assertIn("Lost the system bus", w.daemon_log())
        # Methods work again, through polkit on the new bus.
        r = w.call("SetServers", "asb", [[w.server_spec()], True])
        self.assertTrue(r.ok, r)
        self.assertEqual(w.get("Servers"), [w.server_spec()])
        self.assertTrue(self.probe())
        self.assertTrue(w.daemon.process.running())


if __name__ == "__main__":
    dbustest.main_unittest()
