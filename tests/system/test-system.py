#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""ntpsync as part of a booted system: Debian 12 from debootstrap (image.sh, cached), ntpsync
installed into a copy of it with `meson install --destdir`, booted with `systemd-nspawn -b
--register=no` inside a network namespace of the test that reaches a chronyd in another one;
commands run inside with nsenter.

    chronyd (fake offset +0.25 s)  192.0.2.5 -- 192.0.2.6  the container: systemd, dbus,
                                                            polkitd, timedated, ntpsyncd

The container has no CAP_SYS_TIME (systemd-nspawn leaves it out of the bounding set), so
ntpsyncd observes there and says so; the host clock is never touched.

Every step is a test method, in order (they share the booted container)."""

import hashlib
import json
import os
import re
import sys
import time
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
import nts_certs  # noqa: E402
from container import Container, fail_setup, prepare, torn_down_on_failure  # noqa: E402

HARNESS = os.path.abspath(harness.__file__)

OFFSET = 0.25
CHRONYD = "192.0.2.5"
CONTAINER = "192.0.2.6"
OTHER_SERVER = CHRONYD + " iburst minpoll 4"
UNITS = ["ntpsyncd.service", "ntpsyncd.socket", "ntpsyncd-control.socket", "ntpsyncd-firewall.socket",
         "ntpsyncd-firewall@.service", "ntpsync-wait-sync.service", "ntpsyncd-nts-ke.socket",
         "ntpsyncd-metrics.socket"]
NTS_NAME = "ntpsyncd-system.test"
NTS_DROPIN = "/etc/systemd/system/ntpsyncd.service.d/50-nts.conf"
NTS_CONFIG = "/etc/ntpsyncd.conf.d/50-nts.conf"
MANAGER = ["org.ntpsync1", "/org/ntpsync1", "org.ntpsync1.Manager"]
# The example rules that ntpsync installs: the group "timekeepers" may change servers.
EXAMPLE_RULES = "/usr/share/doc/ntpsync/examples/50-ntpsync-example.rules"


def strings_of(output):
    return [m.group(1) for m in re.finditer(r'"((?:[^"\\]|\\.)*)"', output)]


# ---- org.freedesktop.timesync1: ntpsyncd against systemd-timesyncd ----

TIMESYNC = ["org.freedesktop.timesync1", "/org/freedesktop/timesync1"]
TIMESYNC_INTERFACE = "org.freedesktop.timesync1.Manager"
# timesyncd runs in a container only without these conditions; it gets no CAP_SYS_TIME there either.
TIMESYNCD_DROPIN = "/etc/systemd/system/systemd-timesyncd.service.d/50-test.conf"
# What an NTP timestamp of 0 becomes in timesyncd's microseconds since 1970: its receive and
# transmit times before the first packet.
NTP_ZERO_USEC = 2 ** 64 - 2208988800 * 10 ** 6
# Fields whose values legitimately differ between the two programs, compared by type only:
# Frequency (timesyncd reads the kernel's, ntpsyncd observes and estimates its own) and the jitter
# of NTPMessage (each computes it its own way).
BY_TYPE = {("Frequency",), ("NTPMessage", 15)}
# Values that must be equal, not only alike: the servers, and what the server said of itself.
EXACT = {("SystemNTPServers",), ("RuntimeNTPServers",), ("LinkNTPServers",), ("ServerAddress",),
         ("NTPMessage", 0), ("NTPMessage", 1), ("NTPMessage", 2), ("NTPMessage", 3), ("NTPMessage", 4),
         ("NTPMessage", 7), ("NTPMessage", 12)}
# ntpsync has no fallback servers; timesyncd has Debian's pool names, and names one of them as
# its server when it has no other, and polls it.
NO_FALLBACK = {("FallbackNTPServers",)}
NO_FALLBACK_NAME = {("FallbackNTPServers",), ("ServerName",), ("PollIntervalUSec",)}
# ntpsyncd announces changes of the server lists, which change at runtime through org.ntpsync1;
# timesyncd's change only at a restart (const) or never announce (false).
ANNOTATIONS_ALLOWED = {"SystemNTPServers": ("const", None), "RuntimeNTPServers": ("false", None)}


def shape(value, signature_type):
    """What a value looks like without its magnitude: zero or not, empty or not, lengths."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "zero" if value == 0 else "nonzero"
    if isinstance(value, str):
        return "empty" if value == "" else "text"
    if isinstance(value, list):
        return [shape(v, None) for v in value]
    return repr(type(value))


def differences(ours, theirs, exempt):
    """Each field of each property where the two disagree, as text."""
    found = []
    if set(ours) != set(theirs):
        found.append("properties: %s vs %s" % (sorted(ours), sorted(theirs)))
    for name in sorted(set(ours) & set(theirs)):
        a, b = ours[name], theirs[name]
        if (name,) in exempt:
            continue
        if a["type"] != b["type"]:
            found.append("%s: type %s vs %s" % (name, a["type"], b["type"]))
            continue
        fields = list(enumerate(a["data"])) if a["type"].startswith("(") and a["type"] != "(iay)" else [(None, a["data"])]
        for i, va in fields:
            vb = b["data"] if i is None else b["data"][i]
            key = (name,) if i is None else (name, i)
            if key in BY_TYPE:
                ok = type(va) is type(vb)
            elif key in EXACT or (name,) in EXACT:
                ok = va == vb
            else:
                ok = shape(va, None) == shape(vb, None)
            if not ok:
                found.append("%s%s: ntpsyncd %r, timesyncd %r" % (name, "" if i is None else "[%d]" % i, va, vb))
    return found


def interface_description(xml):
    """timesync1.Manager's properties (type, access, change annotation) and methods (arguments)."""
    root = ET.fromstring(xml)
    iface = [i for i in root.findall("interface") if i.get("name") == TIMESYNC_INTERFACE]
    if not iface:
        return {}, {}, []
    props = {}
    for p in iface[0].findall("property"):
        emits = [a.get("value") for a in p.findall("annotation")
                 if a.get("name") == "org.freedesktop.DBus.Property.EmitsChangedSignal"]
        props[p.get("name")] = (p.get("type"), p.get("access"), emits[0] if emits else None)
    methods = {m.get("name"): [(a.get("type"), a.get("name"), a.get("direction")) for a in m.findall("arg")]
               for m in iface[0].findall("method")}
    return props, methods, sorted(i.get("name") for i in root.findall("interface"))


def introspection_differences(ours, theirs):
    (p1, m1, i1), (p2, m2, i2) = interface_description(ours), interface_description(theirs)
    found = []
    if i1 != i2:
        found.append("interfaces on the object: %s vs %s" % (i1, i2))
    if m1 != m2:
        found.append("methods: %r vs %r" % (m1, m2))
    for name in sorted(set(p1) | set(p2)):
        a, b = p1.get(name), p2.get(name)
        if a and b and a[:2] == b[:2] and ANNOTATIONS_ALLOWED.get(name) == (b[2], a[2]):
            continue
        if a != b:
            found.append("introspection of %s: ntpsyncd %r, timesyncd %r" % (name, a, b))
    return found


class TestBootedSystem(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        image, build_root = prepare()

        cls.lab = harness.Lab("sys")
        cls.container = None
        with torn_down_on_failure(cls):
            cls.upstream = cls.lab.chronyd(OFFSET)
            if cls.upstream.address != CHRONYD:
                fail_setup("chronyd at %s, expected %s" % (cls.upstream.address, CHRONYD))
            c = cls.container = Container(cls.lab, image, build_root)
            c.write("/etc/ntpsyncd.conf", "\n".join([
                "# the test's upstream: chronyd in the namespace next door",
                "server %s iburst minpoll 4 maxpoll 6" % CHRONYD,
                "restrict default kod limited nomodify notrap nopeer noquery",
                "restrict 127.0.0.1",
                "restrict ::1",
                "",
            ]))
            c.write("/etc/hosts", "127.0.0.1 localhost\n%s chronyd.test\n" % CHRONYD)
            c.boot(cls.lab.client.name)
            c.run(["groupadd", "--system", "timekeepers"])
            c.run(["useradd", "--no-create-home", "--shell", "/bin/sh", "--groups", "timekeepers", "alice"])

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "container", None):
            cls.container.stop()
        if getattr(cls, "lab", None):
            cls.lab.close()

    def setUp(self):
        self.c = self.container

    def get_property(self, name, user=None):
        return self.c.run(["busctl", "get-property"] + MANAGER + [name], user=user).stdout.strip()

    def wait_active(self, unit="ntpsyncd.service", timeout=30):
        return self.c.wait_for("%s active" % unit, lambda: self.c.state(unit) == "active", timeout)

    def set_servers(self, spec, runtime, user=None, check=True):
        """SetServers with one spec, through busctl as root or as user."""
        return self.c.run(["busctl", "call"] + MANAGER + ["SetServers", "asb", "1", spec, str(runtime).lower()],
                          user=user, check=check)

    def probe_container(self, timeout):
        """One NTP client exchange from chronyd's namespace with the container's port 123."""
        return self.lab.links[0].server.run([harness.PYTHON3, HARNESS, "probe", CONTAINER, "--timeout", str(timeout)],
                                            timeout=timeout + 20)

    def ntpdig_container(self):
        """NTPsec's ntpdig from chronyd's namespace; the completed process, or None when it
        did not take the container's time."""
        pr = harness.peers()
        p = self.lab.links[0].server.run(harness.NO_SYS_TIME + [harness.PYTHON3, pr["NTPDIG"], "-j", "-t", "3",
                                                                 CONTAINER],
                                         env={"PYTHONPATH": pr["NTPSEC_PYTHONPATH"]}, timeout=30)
        return p if p.returncode == 0 else None

    def wait_observing(self, timeout=60):
        """Until the status line says ntpsyncd measures chronyd's offset; returns the line."""
        def status():
            text = self.c.show("ntpsyncd.service", "StatusText")["StatusText"]
            return text if text.startswith("Observing") and CHRONYD in text else None
        return self.c.wait_for("a status line observing %s" % CHRONYD, status, timeout, interval=1)

    # ---- the units ----

    def test_01_units_verify_clean(self):
        paths = ["/lib/systemd/system/" + u for u in UNITS]
        p = self.c.run(["systemd-analyze", "verify"] + paths, check=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr.strip(), "", "systemd-analyze verify is not clean")
        self.assertEqual(p.stdout.strip(), "")
        # The service user came from sysusers.d at boot.
        self.assertIn("ntpsync:", self.c.run(["getent", "passwd", "ntpsync"]).stdout)

    def test_02_enable_now(self):
        self.c.run(["systemctl", "enable", "--now", "ntpsyncd.service"])
        self.wait_active()
        props = self.c.show("ntpsyncd.service", "ActiveState", "SubState", "Type", "User", "MainPID", "StatusText")
        self.assertEqual(props["Type"], "notify")
        self.assertEqual(props["SubState"], "running")      # READY=1 arrived: notify units are "activating" until then
        self.assertEqual(props["User"], "ntpsync")
        line = self.wait_observing()
        harness.log("status: " + line)
        m = re.search(r"offset ([+-]\d+\.\d+) s", line)
        self.assertIsNotNone(m, line)
        self.assertAlmostEqual(float(m.group(1)), OFFSET, delta=harness.TOLERANCE)
        # No CAP_SYS_TIME in the container: observe, and it says so.
        self.assertEqual(self.get_property("ClockControl"), 's "observe"')
        journal = self.c.journal("ntpsyncd.service")
        self.assertRegex(journal, r"CAP_SYS_TIME", "no word about the missing CAP_SYS_TIME:\n" + journal)
        pid = int(self.c.show("ntpsyncd.service", "MainPID")["MainPID"])
        status = self.c.run(["cat", "/proc/%d/status" % pid]).stdout
        caps = dict(re.findall(r"^(Cap\w+):\s+([0-9a-f]+)$", status, re.M))
        self.assertEqual(int(caps["CapEff"], 16), 0, "ntpsyncd holds capabilities: %r" % caps)
        self.assertEqual(int(caps["CapBnd"], 16) & (1 << 25), 0, "CAP_SYS_TIME in the bounding set")
        self.assertEqual(int(caps["CapBnd"], 16) & (1 << 12), 0, "CAP_NET_ADMIN in the bounding set")

    def test_02b_ntpq_on_loopback_without_serving(self):
        """ntpq -p on the host reaches ntpsyncd through ntpsyncd-control.socket (loopback only),
        while no client elsewhere gets time from it."""
        self.assertEqual(self.get_property("ServerMode"), "b false")
        pr = harness.peers()
        # The container's network namespace is the lab's client namespace: its loopback is
        # the container's.
        for host in ("127.0.0.1", "::1"):
            p = self.lab.client.run([harness.PYTHON3, pr["NTPQ"], "-n", "-c", "timeout 2000", "-p", host],
                                    env={"PYTHONPATH": pr["NTPSEC_PYTHONPATH"]}, timeout=60)
            harness.log("ntpq -p %s:\n%s" % (host, p.stdout + p.stderr))
            self.assertRegex(p.stdout, r"(?m)^\*%s\s+" % re.escape(CHRONYD), "no system peer in ntpq -p " + host)
        p = self.probe_container(2)
        self.assertNotEqual(p.returncode, 0, "answered a client while not serving: " + p.stdout)

    def test_03_firewall_through_the_helper_socket(self):
        """The daemon has no CAP_NET_ADMIN: the firewall goes through ntpsyncd-firewall.socket."""
        self.assertEqual(self.get_property("FirewallBackend"), 's "nftables"')
        self.c.run(["ntpsyncctl", "firewall", "enable", "server"])
        self.assertEqual(self.get_property("FirewallServer"), "b true")
        table = self.c.run(["nft", "list", "table", "inet", "ntpsync"]).stdout
        self.assertIn("udp dport 123", table)
        self.c.run(["ntpsyncctl", "firewall", "disable", "server"])
        self.assertEqual(self.get_property("FirewallServer"), "b false")

    # ---- timedated ----

    def test_04_timedatectl_set_ntp(self):
        self.c.run(["timedatectl", "set-ntp", "false"])
        self.c.wait_for("ntpsyncd stopped", lambda: self.c.state("ntpsyncd.service") == "inactive")
        self.assertEqual(self.c.run(["systemctl", "is-enabled", "ntpsyncd.service"], check=False).stdout.strip(),
                         "disabled")
        self.assertEqual(self.c.run(["timedatectl", "show", "-p", "NTP", "--value"]).stdout.strip(), "no")
        self.c.run(["timedatectl", "set-ntp", "true"])
        self.wait_active()
        self.assertEqual(self.c.run(["systemctl", "is-enabled", "ntpsyncd.service"]).stdout.strip(), "enabled")
        self.assertEqual(self.c.run(["timedatectl", "show", "-p", "NTP", "--value"]).stdout.strip(), "yes")
        self.wait_observing()

    def test_05_timesync_status(self):
        def status():
            p = self.c.run(["timedatectl", "timesync-status"], check=False)
            return p.stdout if p.returncode == 0 and "Server: %s" % CHRONYD in p.stdout else None
        text = self.c.wait_for("timesync-status naming the server", status, 30, interval=1)
        harness.log("timedatectl timesync-status:\n" + text)
        self.assertRegex(text, r"Poll interval: ")
        self.assertRegex(text, r"Stratum: \d+")

    # ---- D-Bus and polkit ----

    def test_06_set_servers_as_root(self):
        self.set_servers("server " + OTHER_SERVER, runtime=False)
        self.assertEqual(strings_of(self.get_property("Servers")), ["server " + OTHER_SERVER])
        settings = self.c.read("/var/lib/ntpsyncd/settings.conf").decode()
        self.assertIn("server " + OTHER_SERVER, settings)

    def test_07_polkit_denies_then_group_rule_allows(self):
        before = self.get_property("Servers")
        wanted = "server %s iburst minpoll 5" % CHRONYD
        p = self.set_servers(wanted, runtime=False, user="alice", check=False)
        self.assertNotEqual(p.returncode, 0, "an unprivileged user changed the servers")
        self.assertRegex(p.stderr, r"(?i)access denied|interactive authentication required|not authorized")
        self.assertEqual(self.get_property("Servers"), before, "a denied call changed something")

        # The example ntpsync ships, as its comment says to use it.
        self.c.run(["cp", EXAMPLE_RULES, "/etc/polkit-1/rules.d/"])

        def allowed():
            q = self.set_servers(wanted, runtime=False, user="alice", check=False)
            return q if q.returncode == 0 else None
        self.c.wait_for("polkitd to allow the timekeepers group", allowed, 30, interval=1)
        self.assertEqual(strings_of(self.get_property("Servers")), [wanted])
        # The rule names its actions: server mode is not among them.
        p = self.c.run(["busctl", "call"] + MANAGER + ["SetServerMode", "bb", "true", "true"], user="alice",
                       check=False)
        self.assertNotEqual(p.returncode, 0, "the example rule let alice switch server mode")
        self.assertEqual(self.get_property("ServerMode"), "b false")

    # ---- activation ----

    def test_08_socket_activation(self):
        """ntpsyncd stopped, ntpsyncd.socket listening: a client's request starts it, and it
        answers that very request."""
        # What an administrator does to serve time: let clients through the firewall (the table
        # of test_03 drops them otherwise) and enable the socket.
        self.c.run(["ntpsyncctl", "firewall", "enable", "server"])
        self.c.run(["systemctl", "enable", "ntpsyncd.socket"])
        self.c.run(["systemctl", "stop", "ntpsyncd.service"])
        self.c.run(["systemctl", "start", "ntpsyncd.socket"])
        self.assertEqual(self.c.state("ntpsyncd.service"), "inactive")
        self.assertEqual(self.c.state("ntpsyncd.socket"), "active")
        p = self.probe_container(10)
        self.assertEqual(p.returncode, 0, "no answer from port 123 of the container: %s" % p.stderr)
        harness.log("first answer: " + p.stdout.strip())
        # Time is served from the start; READY=1 (active) follows once the firewall the settings
        # ask for (server traffic, above) is applied and read back through the helper's socket.
        self.wait_active(timeout=10)
        self.assertIn("ntpsyncd.socket", self.c.show("ntpsyncd.service", "TriggeredBy")["TriggeredBy"])
        self.assertEqual(self.get_property("ServerMode"), "b true")
        # Once synchronized, a real client takes its time.
        self.wait_observing()
        q = self.c.wait_for("ntpdig to accept the container's time", self.ntpdig_container, 60, interval=2)
        harness.log("ntpdig: " + q.stdout.strip())
        self.c.run(["systemctl", "disable", "--now", "ntpsyncd.socket"])
        self.c.run(["ntpsyncctl", "firewall", "disable", "server"])

    def test_09_dbus_activation(self):
        self.c.run(["systemctl", "stop", "ntpsyncd.service"])
        self.assertEqual(self.c.state("ntpsyncd.service"), "inactive")
        # A plain property read, as any settings panel does, starts it through dbus-org.ntpsync1.service.
        servers = self.get_property("Servers", user="alice")
        self.assertIn(CHRONYD, servers)
        self.wait_active()

    # ---- failure and restart ----

    def test_10_kill_9_restarts_with_state_intact(self):
        self.wait_active()
        settings_before = hashlib.sha256(self.c.read("/var/lib/ntpsyncd/settings.conf")).hexdigest()
        servers_before = self.get_property("Servers")
        # As a daemon that synchronized the kernel clock earlier in this boot leaves it:
        self.c.run(["sh", "-c", "echo synchronized > /run/ntpsyncd/synchronized"])
        props = self.c.show("ntpsyncd.service", "MainPID", "NRestarts")
        old_pid, restarts = int(props["MainPID"]), int(props["NRestarts"])
        cursor = self.c.run(["journalctl", "-n", "0", "--show-cursor", "--no-pager"]).stdout.strip().split()[-1]
        self.c.run(["kill", "-9", str(old_pid)])

        def restarted():
            p = self.c.show("ntpsyncd.service", "MainPID", "NRestarts", "ActiveState")
            return p if p["ActiveState"] == "active" and int(p["MainPID"]) not in (0, old_pid) else None
        after = self.c.wait_for("the restart after kill -9 (Restart=on-failure)", restarted, 30)
        self.assertEqual(int(after["NRestarts"]), restarts + 1)
        self.assertEqual(hashlib.sha256(self.c.read("/var/lib/ntpsyncd/settings.conf")).hexdigest(), settings_before)
        self.assertEqual(self.get_property("Servers"), servers_before)
        # The runtime directory survived the restart, and with it the boot's initial step is spent.
        journal = self.c.journal("ntpsyncd.service", cursor)
        self.assertIn("synchronized earlier in this boot", journal)
        self.c.run(["rm", "-f", "/run/ntpsyncd/synchronized"])

    def test_11_wait_sync_holds_until_synchronized(self):
        """ntpsync-wait-sync.service stays activating while ntpsyncd is not synchronized (here:
        its only server is one that does not answer) and finishes once it is."""
        self.wait_observing()
        self.set_servers("server 192.0.2.99 iburst", runtime=True)
        self.c.wait_for("Synchronized false", lambda: self.get_property("Synchronized") == "b false", 30)
        self.c.run(["systemctl", "start", "--no-block", "ntpsync-wait-sync.service"])
        time.sleep(3)
        self.assertEqual(self.c.state("ntpsync-wait-sync.service"), "activating")
        self.set_servers("server %s iburst" % CHRONYD, runtime=True)
        try:
            self.c.wait_for("ntpsync-wait-sync.service to finish",
                            lambda: self.c.state("ntpsync-wait-sync.service") != "activating", 60, interval=0.5)
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, self.c.journal("ntpsync-wait-sync.service"))) from None
        journal = self.c.journal("ntpsync-wait-sync.service")
        props = self.c.show("ntpsync-wait-sync.service", "ActiveState", "Result")
        self.assertEqual(props["ActiveState"], "active", journal)
        self.assertEqual(props["Result"], "success")
        self.assertEqual(self.get_property("Synchronized"), "b true")
        self.assertEqual(self.c.state("time-sync.target"), "active")

    # ---- hardening ----

    def test_12_security_exposure_below_timesyncd(self):
        """Every service of ntpsync is rated less exposed than systemd-timesyncd, in the same system."""
        scores = {}
        units = ("systemd-timesyncd.service", "ntpsyncd.service", "ntpsyncd-firewall@0.service",
                 "ntpsync-wait-sync.service")
        for unit in units:
            p = self.c.run(["systemd-analyze", "security", "--no-pager", unit], check=False)
            m = re.search(r"Overall exposure level for %s: (\d+\.\d+)" % re.escape(unit), p.stdout)
            self.assertIsNotNone(m, p.stdout + p.stderr)
            scores[unit] = float(m.group(1))
        harness.log("systemd-analyze security: " + ", ".join("%s %.1f" % (u, scores[u]) for u in units))
        for unit in units[1:]:
            self.assertLess(scores[unit], scores["systemd-timesyncd.service"], unit)

    # ---- timesync1, field by field against systemd-timesyncd ----

    def timesync_snapshot(self):
        """Introspection, every property, and whether timedatectl can show them."""
        p = self.c.run(["busctl", "--json=short", "call"] + TIMESYNC + ["org.freedesktop.DBus.Properties", "GetAll",
                                                                         "s", TIMESYNC_INTERFACE])
        props = json.loads(p.stdout)["data"][0]
        xml = self.c.run(["busctl", "introspect", "--xml-interface"] + TIMESYNC).stdout
        status = self.c.run(["timedatectl", "timesync-status"], check=False)
        show = self.c.run(["timedatectl", "show-timesync", "--all"], check=False)
        return {"properties": props, "xml": xml, "status": status, "show": show}

    def packets(self):
        p = self.c.run(["busctl", "--json=short", "get-property"] + TIMESYNC + [TIMESYNC_INTERFACE, "NTPMessage"])
        return json.loads(p.stdout)["data"][13]

    def timesync_owner(self):
        """The unit that owns org.freedesktop.timesync1, or None."""
        p = self.c.run(["busctl", "status", TIMESYNC[0]], check=False)
        m = re.search(r"(?m)^Unit=(\S+)$", p.stdout)
        return m.group(1) if p.returncode == 0 and m else None

    def start_timesyncd(self, servers):
        self.c.write("/etc/systemd/timesyncd.conf", "[Time]\nNTP=%s\n" % " ".join(servers))
        self.c.run(["systemctl", "restart", "systemd-timesyncd.service"])
        self.wait_active("systemd-timesyncd.service")
        # Switching daemons: ntpsyncd was stopped before timesyncd started, so the name was free.
        stopped = int(self.c.show("ntpsyncd.service", "InactiveEnterTimestampMonotonic")[
            "InactiveEnterTimestampMonotonic"])
        started = int(self.c.show("systemd-timesyncd.service", "ExecMainStartTimestampMonotonic")[
            "ExecMainStartTimestampMonotonic"])
        self.assertLess(stopped, started, "timesyncd started before ntpsyncd had stopped")
        self.c.wait_for("org.freedesktop.timesync1 owned by systemd-timesyncd.service",
                        lambda: self.timesync_owner() == "systemd-timesyncd.service", 20)

    def start_ntpsyncd(self, servers):
        self.c.write("/etc/ntpsyncd.conf", "".join("server %s iburst minpoll 4\n" % s for s in servers))
        self.c.run(["rm", "-f", "/var/lib/ntpsyncd/settings.conf"])
        restart = self.c.run(["systemctl", "restart", "ntpsyncd.service"], check=False)
        self.assertEqual(restart.returncode, 0, "ntpsyncd did not restart: %s\n%s" %
                         (restart.stderr, self.c.journal("ntpsyncd.service")[-6000:]))
        self.wait_active()
        self.c.wait_for("org.freedesktop.timesync1 owned by ntpsyncd.service",
                        lambda: self.timesync_owner() == "ntpsyncd.service", 20)

    def set_runtime(self, servers):
        self.c.run(["busctl", "call"] + TIMESYNC + [TIMESYNC_INTERFACE, "SetRuntimeNTPServers", "as",
                                                     str(len(servers))] + servers)

    def state_snapshots(self, state, start):
        """Runs the state's steps with timesyncd, then with ntpsyncd: both snapshots."""
        out = {}
        for name in ("timesyncd", "ntpsyncd"):
            start(self.start_timesyncd if name == "timesyncd" else self.start_ntpsyncd)
            out[name] = self.timesync_snapshot()
            harness.log("%s, %s: %s" % (state, name, json.dumps(out[name]["properties"], sort_keys=True)))
        return out["ntpsyncd"], out["timesyncd"]

    def test_13_timesync1_as_timesyncd_in_every_state(self):
        self.c.write(TIMESYNCD_DROPIN, "[Unit]\nConditionCapability=\nConditionVirtualization=\n")
        self.c.run(["systemctl", "daemon-reload"])
        unanswered = "192.0.2.99"

        def before_first_packet(start):
            start([unanswered])
            time.sleep(4)

        def synchronized(start):
            start([CHRONYD])
            self.c.wait_for("a packet from %s" % CHRONYD, lambda: self.packets() > 0, 40, interval=1)

        def server_removed(start):
            start([])
            self.set_runtime([CHRONYD])
            self.c.wait_for("a packet from %s" % CHRONYD, lambda: self.packets() > 0, 40, interval=1)
            self.set_runtime([])
            time.sleep(2)

        def no_server(start):
            start([])
            time.sleep(3)

        def offline(start):
            self.c.run(["ip", "link", "set", "srv1", "down"])
            try:
                start([CHRONYD])
                time.sleep(4)
                if start == self.start_ntpsyncd:
                    self.assertEqual(self.get_property("Online"), "b false")
            finally:
                self.c.run(["ip", "link", "set", "srv1", "up"])

        states = [("before the first packet", before_first_packet, NO_FALLBACK, True),
                  ("synchronized", synchronized, NO_FALLBACK, False),
                  ("after the server was removed", server_removed, NO_FALLBACK_NAME, False),
                  ("with no server at all", no_server, NO_FALLBACK_NAME, True),
                  ("with Online false", offline, NO_FALLBACK, True)]
        problems = []
        try:
            for state, steps, exempt, nothing_yet in states:
                ours, theirs = self.state_snapshots(state, steps)
                for who, snap in (("ntpsyncd", ours), ("timesyncd", theirs)):
                    for what in ("status", "show"):
                        if snap[what].returncode != 0:
                            problems.append("%s, %s: timedatectl %s exits %d: %s" % (
                                state, who, what, snap[what].returncode, snap[what].stderr.strip()))
                problems += ["%s: %s" % (state, d) for d in differences(ours["properties"], theirs["properties"],
                                                                       exempt)]
                if nothing_yet:
                    # No packet yet: the very values timesyncd gives.
                    message = theirs["properties"]["NTPMessage"]["data"]
                    self.assertEqual(message, [0, 0, 0, 0, 0, 0, 0, [0, 0, 0, 0], 0, NTP_ZERO_USEC, NTP_ZERO_USEC, 0,
                                               False, 0, 0], "timesyncd's own nothing-yet value changed")
                    if ours["properties"]["NTPMessage"]["data"] != message:
                        problems.append("%s: NTPMessage %r, timesyncd %r" % (
                            state, ours["properties"]["NTPMessage"]["data"], message))
                problems += ["%s: %s" % (state, d) for d in introspection_differences(ours["xml"], theirs["xml"])]
        finally:
            self.c.run(["rm", "-f", TIMESYNCD_DROPIN])
            self.c.run(["systemctl", "daemon-reload"])
            self.start_ntpsyncd([CHRONYD])
        self.assertEqual(problems, [], "\n".join(problems))

    # ---- the system bus restarted ----

    def test_14_survives_the_bus_going_away(self):
        """dbus stopped and started again: ntpsyncd keeps its process, sources and discipline,
        serves time while the bus is gone, and is back on the bus with all it had."""
        self.start_ntpsyncd([CHRONYD])
        self.c.run(["ntpsyncctl", "firewall", "enable", "server"])
        # systemd starts a socket only while its service is stopped.
        self.c.run(["systemctl", "stop", "ntpsyncd.service"])
        self.c.run(["systemctl", "enable", "--now", "ntpsyncd.socket"])
        self.c.run(["systemctl", "start", "ntpsyncd.service"])
        self.wait_active()
        self.wait_observing()
        before = {name: self.get_property(name) for name in ("Servers", "Synchronized", "ServerMode", "ReferenceId")}
        self.assertEqual(before["ServerMode"], "b true")
        pid = self.c.show("ntpsyncd.service", "MainPID")["MainPID"]
        cursor = self.c.run(["journalctl", "-n", "0", "--show-cursor", "--no-pager"]).stdout.strip().split()[-1]
        try:
            self.c.run(["systemctl", "stop", "dbus.socket", "dbus.service"])
            p = self.probe_container(5)
            self.assertEqual(p.returncode, 0, "no NTP answer while the bus was gone: %s" % p.stderr)
            time.sleep(3)
        finally:
            self.c.run(["systemctl", "start", "dbus.socket", "dbus.service"])
        self.c.wait_for("org.ntpsync1 back on the bus", lambda: self.c.run(
            ["busctl", "status", "org.ntpsync1"], check=False).returncode == 0, 30)
        self.c.wait_for("org.freedesktop.timesync1 back on the bus", lambda: self.c.run(
            ["busctl", "status", TIMESYNC[0]], check=False).returncode == 0, 30)
        self.assertEqual(self.c.show("ntpsyncd.service", "MainPID")["MainPID"], pid, "ntpsyncd was restarted")
        self.assertEqual({name: self.get_property(name) for name in before}, before)
        journal = self.c.journal("ntpsyncd.service", cursor)
        self.assertIn("Lost the system bus", journal)
        self.assertIn("Connected to the system bus again", journal)
        p = self.probe_container(5)
        self.assertEqual(p.returncode, 0, p.stderr)
        # timedatectl reads it again.
        self.assertEqual(self.c.run(["timedatectl", "timesync-status"], check=False).returncode, 0)
        self.c.run(["systemctl", "disable", "--now", "ntpsyncd.socket"])
        self.c.run(["ntpsyncctl", "firewall", "disable", "server"])

    # ---- NTS served, the key root's alone ----

    def nts_ke_probe(self, pki):
        """One key establishment from chronyd's namespace with the container, and one NTS-authenticated
        NTP exchange with the keys: the probe's JSON."""
        probe = os.path.join(os.environ["NTPSYNC_BUILD_ROOT"], "tests", "nts", "nts-ke-probe")
        p = self.lab.links[0].server.run([probe, "--host", NTS_NAME, "--address", CONTAINER, "--ca", pki.ca, "--ntp",
                                          "--timeout-ms", "5000"], timeout=30)
        harness.log("nts-ke-probe: " + p.stdout.strip() + p.stderr.strip())
        return json.loads(p.stdout) if p.stdout.strip() else {}

    def test_15_nts_key_through_load_credential(self):
        """NTS served with a private key that only root can read: systemd passes it with
        LoadCredential=, TCP 4460 comes from ntpsyncd-nts-ke.socket, and a client in the namespace
        next door gets keys, cookies and an authenticated answer."""
        pki = nts_certs.Pki(os.path.join(self.lab.dir, "pki-system"))
        chain, key = pki.server([NTS_NAME])
        with open(chain) as f:
            self.c.write("/etc/ntpsyncd/nts-chain.pem", f.read(), 0o644)
        with open(key) as f:
            self.c.write("/etc/ntpsyncd/nts-key.pem", f.read(), 0o600)
        credentials = "/run/credentials/ntpsyncd.service"
        self.c.write(NTS_DROPIN, "[Service]\nLoadCredential=nts-cert:/etc/ntpsyncd/nts-chain.pem\n"
                                 "LoadCredential=nts-key:/etc/ntpsyncd/nts-key.pem\n")
        self.c.write(NTS_CONFIG, "serve on\nnts enable\nnts cert %s/nts-cert\nnts key %s/nts-key\n" %
                     (credentials, credentials))
        try:
            self.start_ntpsyncd([CHRONYD])
            self.c.run(["ntpsyncctl", "firewall", "enable", "server"])
            self.c.run(["systemctl", "daemon-reload"])
            # systemd hands sockets over when it starts the service.
            self.c.run(["systemctl", "stop", "ntpsyncd.service"])
            self.c.run(["systemctl", "enable", "--now", "ntpsyncd.socket", "ntpsyncd-nts-ke.socket"])
            self.c.run(["systemctl", "start", "ntpsyncd.service"])
            self.wait_active()
            self.wait_observing()
            # The daemon's user cannot read the key; the credential is its copy.
            self.assertNotEqual(self.c.run(["cat", "/etc/ntpsyncd/nts-key.pem"], user="ntpsync",
                                           check=False).returncode, 0, "the key is readable by ntpsync")
            journal = self.c.journal("ntpsyncd.service")
            self.assertRegex(journal, r"NTS-KE: serving on \d+ socket\(s\) from systemd", journal[-3000:])
            self.assertEqual(self.get_property("NtsServing"), "b true")
            try:
                result = self.c.wait_for("an NTS key establishment with the container",
                                         lambda: (lambda r: r if r.get("failure") == "none" else None)(
                                             self.nts_ke_probe(pki)), 30, interval=2)
            except AssertionError as e:
                raise AssertionError("%s\n%s\n%s" % (e, self.c.journal("ntpsyncd.service")[-3000:], self.c.run(
                    ["ss", "-tlnp"], check=False).stdout)) from None
            self.assertEqual(result["cookies"], 8)
            self.assertEqual(result.get("ntp"), "verified", result)
        finally:
            self.c.run(["rm", "-f", NTS_DROPIN, NTS_CONFIG])
            self.c.run(["systemctl", "disable", "--now", "ntpsyncd-nts-ke.socket", "ntpsyncd.socket"], check=False)
            self.c.run(["systemctl", "daemon-reload"])
            self.c.run(["systemctl", "restart", "ntpsyncd.service"], check=False)
            self.c.run(["ntpsyncctl", "firewall", "disable", "server"], check=False)

    def scrape_metrics(self):
        """GET /metrics on loopback's port 9123 inside the container (bash's /dev/tcp: the
        image has no HTTP client)."""
        return self.c.run(["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9123 && "
                           "printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3"], check=False)

    def test_16_metrics_socket(self):
        """Off by default; enabled, systemd passes it to ntpsyncd, which answers on loopback with
        what `ntpsyncctl metrics` prints."""
        self.assertNotEqual(self.scrape_metrics().returncode, 0, "port 9123 open before the socket is enabled")
        try:
            # As the man page says: systemd starts no socket unit while its service runs.
            self.c.run(["systemctl", "stop", "ntpsyncd.service"])
            self.c.run(["systemctl", "enable", "--now", "ntpsyncd-metrics.socket"])
            self.c.run(["systemctl", "start", "ntpsyncd.service"])
            self.wait_active()
            self.wait_observing()
            p = self.scrape_metrics()
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertRegex(p.stdout, r"^HTTP/1\.[01] 200 ")
            m = re.search(r"(?m)^ntpsync_tracking_last_offset_seconds ([-+0-9.e]+)$", p.stdout)
            self.assertIsNotNone(m, p.stdout[:2000])
            self.assertAlmostEqual(float(m.group(1)), OFFSET, delta=harness.TOLERANCE)
            self.assertIn('ntpsync_sources_reachability_register{source_address="%s"' % CHRONYD, p.stdout)
            ctl = self.c.run(["ntpsyncctl", "metrics"]).stdout
            self.assertIn("# TYPE ntpsync_tracking_last_offset_seconds gauge", ctl)
        finally:
            self.c.run(["systemctl", "disable", "--now", "ntpsyncd-metrics.socket"], check=False)
            self.c.run(["systemctl", "restart", "ntpsyncd.service"], check=False)


if __name__ == "__main__":
    unittest.main(verbosity=2)
