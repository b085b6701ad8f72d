#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""ntpsyncctl against a python-dbusmock stand-in for ntpsyncd on a private system bus.

A dbus-daemon with a system-bus-like configuration that allows everything runs in a temporary
directory; `python3 -m dbusmock --system` owns org.ntpsync1 at /org/ntpsync1 and gets the
org.ntpsync1.Manager properties and methods below. The methods record their calls and return
canned values; some inputs make them fail the way ntpsyncd does (InvalidArgs, AccessDenied,
InteractiveAuthorizationRequired, Failed). Every test runs the ntpsyncctl binary named by
$NTPSYNCCTL and checks its output, its exit status and the calls that arrived.

Processes are stopped by PID at the end, also when a test fails.
"""

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

SKIP = 77  # meson's exit code for a skipped test

try:
    import dbus
    import dbus.bus
    import dbusmock
except ImportError as e:
    print(f"skipping: {e} (needs python3-dbus and python3-dbusmock)", file=sys.stderr)
    sys.exit(SKIP)

CTL = os.environ.get("NTPSYNCCTL")
DBUS_DAEMON = shutil.which("dbus-daemon")
BUS_NAME = "org.ntpsync1"
OBJECT_PATH = "/org/ntpsync1"
MANAGER = "org.ntpsync1.Manager"
UINT64_MAX = 2**64 - 1

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"""

SERVERS = ["server ntp1.example.com iburst prefer", "pool pool.example.org iburst"]
RESTRICT_RULES = [
    "default kod limited nomodify notrap nopeer noquery",
    "-6 default kod limited nomodify notrap nopeer noquery",
    "127.0.0.1",
]


def source(name, **attributes):
    return dbus.Struct((name, dbus.Dictionary(attributes, signature="sv")), signature="sa{sv}")


SOURCES = dbus.Array([
    source("ntp1.example.com", address="192.0.2.1", refid=".GPS.", stratum=dbus.Byte(1), tally="*",
           when=dbus.UInt64(33), poll=dbus.UInt32(64), reach=dbus.Byte(0o377),
           delay=dbus.UInt64(12345678), offset=dbus.Int64(-123456), jitter=dbus.UInt64(45678),
           state="selected", prefer=True, noselect=False, authentication="none",
           # Something a later daemon may add: skipped in the table, kept in JSON.
           future=dbus.Array([dbus.Int32(1), dbus.Int32(2)], signature="i")),
    source("a-very-long-hostname.example.org", address="2001:db8::1", refid="192.0.2.7",
           stratum=dbus.Byte(2), tally="+", when=dbus.UInt64(5000), poll=dbus.UInt32(1024),
           reach=dbus.Byte(0o17), delay=dbus.UInt64(1500000), offset=dbus.Int64(2500000),
           jitter=dbus.UInt64(100000), state="candidate", prefer=False, noselect=False),
    # A known attribute with another type than expected is skipped too.
    source("unreachable.example.net", refid=".INIT.", stratum=dbus.Byte(16), tally=" ",
           when=dbus.UInt64(UINT64_MAX), poll=dbus.UInt32(64), reach=dbus.Byte(0),
           delay=dbus.UInt64(0), offset=dbus.Int64(0), jitter=dbus.UInt64(0), state="unreachable",
           address=dbus.Int32(7)),
], signature="(sa{sv})")

PROPERTIES = {
    "Servers": dbus.Array(SERVERS, signature="s"),
    "Synchronized": dbus.Boolean(True),
    "UnsynchronizedReason": dbus.String(""),
    "Stratum": dbus.Byte(3),
    "ReferenceId": dbus.String("192.0.2.1"),
    "SystemPeer": dbus.String("ntp1.example.com (192.0.2.1)"),
    "Offset": dbus.Int64(-1234567),
    "Frequency": dbus.Double(-12.5),
    "RootDelay": dbus.UInt64(12345678),
    "RootDispersion": dbus.UInt64(456789),
    "LeapStatus": dbus.String("none"),
    "PollInterval": dbus.UInt32(64),
    "Sources": SOURCES,
    "RestrictRules": dbus.Array(RESTRICT_RULES, signature="s"),
    # What ntpsyncd says where no firewall line and no SetFirewall asked for anything.
    "FirewallClient": dbus.Boolean(True),
    "FirewallServer": dbus.Boolean(False),
    "FirewallClientState": dbus.String("unmanaged"),
    "FirewallServerState": dbus.String("unmanaged"),
    "FirewallReason": dbus.String(""),
    "FirewallBackend": dbus.String("nftables"),
    "FirewallWarning": dbus.String("table inet filter chain input drops udp port 123 (policy drop)"),
    "ServerMode": dbus.Boolean(False),
    "NtsServing": dbus.Boolean(False),
    "NtsCertificate": dbus.String(""),
    "NtsKey": dbus.String(""),
    "ClockControl": dbus.String("observe"),
    "Online": dbus.Boolean(True),
    # Not (yet) known to the client: skipped in text, kept in JSON.
    "FutureProperty": dbus.Dictionary({"nested": dbus.Array([dbus.Struct((dbus.Int32(1), "x"))],
                                                             signature="(is)")}, signature="sv"),
}

INVALID_ARGS = "org.freedesktop.DBus.Error.InvalidArgs"


def raising(condition, message, error_name):
    return (f"if {condition}:\n"
            f"    raise dbus.exceptions.DBusException({message}, name={error_name!r})\n")


# (name, in signature, out signature, code): the code sees `self` and `args`.
# What Metrics() returns: printed as it came, not a byte more or less.
METRICS_TEXT = ('# HELP ntpsync_tracking_sync_status 1 when the clock is synchronized.\n'
                '# TYPE ntpsync_tracking_sync_status gauge\n'
                'ntpsync_tracking_sync_status 1\n'
                'ntpsync_sources_tally_info{source_address="192.0.2.1",source_name="a \\"b\\""} 1\n')

METHODS = [
    ("SetServers", "asb", "",
     raising("any('bad' in s for s in args[0])",
             "'invalid server spec \"%s\": unknown option' % [s for s in args[0] if 'bad' in s][0]",
             INVALID_ARGS)
     + raising("any('denied' in s for s in args[0])", "'Access denied'",
               "org.freedesktop.DBus.Error.AccessDenied")
     + f"self.UpdateProperties({MANAGER!r}, {{'Servers': dbus.Array(args[0], signature='s')}})\n"),
    ("AddServer", "sb", "",
     raising("'bad' in args[0]", "'invalid server spec \"%s\"' % args[0]", INVALID_ARGS)),
    ("RemoveServer", "sb", "",
     raising("args[0] not in ('ntp1.example.com', 'pool.example.org')",
             "'no server %s' % args[0]", INVALID_ARGS)),
    ("SetRestrictRules", "asb", "", ""),
    ("AddRestrict", "sb", "",
     raising("'bogus' in args[0]", "'invalid restrict rule \"%s\": unknown flag bogus' % args[0]",
             INVALID_ARGS)),
    ("RemoveRestrict", "sb", "", ""),
    ("SetFirewall", "bb", "",
     f"self.UpdateProperties({MANAGER!r}, {{'FirewallClient': args[0], 'FirewallServer': args[1], "
     f"'FirewallClientState': 'open' if args[0] else 'closed', "
     f"'FirewallServerState': 'open' if args[1] else 'closed'}})\n"),
    ("SetServerMode", "bb", "", ""),
    ("SetNts", "bssb", "",
     raising("args[0] and 'missing' in args[1]",
             "'cannot read the certificate %s: No such file or directory' % args[1]", INVALID_ARGS)
     + f"self.UpdateProperties({MANAGER!r}, {{'NtsServing': args[0]}})\n"
     + f"if args[1]: self.UpdateProperties({MANAGER!r}, {{'NtsCertificate': args[1]}})\n"
     + f"if args[2]: self.UpdateProperties({MANAGER!r}, {{'NtsKey': args[2]}})\n"),
    ("Query", "s", "xtys",
     raising("args[0] == 'nonexistent.invalid'", "'no reply from nonexistent.invalid'",
             "org.freedesktop.DBus.Error.Failed")
     + "ret = (dbus.Int64(-1234567), dbus.UInt64(23456789), dbus.Byte(2), '.GPS.')\n"),
    ("Metrics", "", "s", f"ret = {METRICS_TEXT!r}\n"),
    ("Burst", "", "", ""),
    ("Reload", "", "",
     raising("True", "'Interactive authentication required.'",
             "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired")),
]

NTS_COMMON = dict(stratum=dbus.Byte(2), poll=dbus.UInt32(64), delay=dbus.UInt64(2000000),
                  offset=dbus.Int64(1000000), jitter=dbus.UInt64(50000), prefer=False, noselect=False,
                  authentication="nts")

# One NTS source in each state, and a plain one between them.
NTS_SOURCES = dbus.Array([
    source("nts1.example.com", address="192.0.2.10", refid="192.0.2.99", tally="*", when=dbus.UInt64(10),
           reach=dbus.Byte(0o377), state="selected", nts_state="established", nts_reason="",
           nts_cookies=dbus.UInt32(7), nts_ke_time=dbus.UInt64(1764000000), nts_rejected=dbus.UInt64(2),
           nts_last_rejection="authenticator did not verify", **NTS_COMMON),
    source("plain.example.com", address="192.0.2.20", refid=".GPS.", stratum=dbus.Byte(1), tally="+",
           when=dbus.UInt64(20), poll=dbus.UInt32(64), reach=dbus.Byte(0o377), delay=dbus.UInt64(3000000),
           offset=dbus.Int64(-500000), jitter=dbus.UInt64(20000), state="candidate", prefer=False,
           noselect=False, authentication="none"),
    source("nts2.example.com", address="", refid=".INIT.", tally=" ", when=dbus.UInt64(UINT64_MAX),
           reach=dbus.Byte(0), state="unreachable", nts_state="ke-pending", nts_reason="",
           nts_cookies=dbus.UInt32(0), nts_ke_time=dbus.UInt64(0), nts_rejected=dbus.UInt64(0),
           nts_last_rejection="", **NTS_COMMON),
    source("nts3.example.com", address="", refid=".INIT.", tally=" ", when=dbus.UInt64(UINT64_MAX),
           reach=dbus.Byte(0), state="unreachable", nts_state="failed",
           nts_reason="certificate: the name does not match nts3.example.com", nts_cookies=dbus.UInt32(0),
           nts_ke_time=dbus.UInt64(0), nts_rejected=dbus.UInt64(0), nts_last_rejection="", **NTS_COMMON),
], signature="(sa{sv})")

# Interleaved, asked for but answered in basic mode, and not asked for (mode basic: no line).
XLEAVE_COMMON = dict(NTS_COMMON, authentication="none")
XLEAVE_SOURCES = dbus.Array([
    source("chrony.example.com", address="192.0.2.30", refid=".GPS.", tally="*", when=dbus.UInt64(3),
           reach=dbus.Byte(0o377), state="ok", xleave=True, mode="interleaved", **XLEAVE_COMMON),
    source("ntpsec.example.com", address="192.0.2.31", refid=".GPS.", tally="+", when=dbus.UInt64(4),
           reach=dbus.Byte(0o377), state="ok", xleave=True, mode="basic", **XLEAVE_COMMON),
    source("plain.example.com", address="192.0.2.32", refid=".GPS.", tally="+", when=dbus.UInt64(5),
           reach=dbus.Byte(0o377), state="ok", xleave=False, mode="basic", **XLEAVE_COMMON),
], signature="(sa{sv})")

TABLE_HEADER = "     remote           refid      st t when poll reach   delay   offset  jitter"
TABLE_ROWS = [
    "*ntp1.example.co .GPS.            1 u   33   64  377   12.346   -0.123   0.046",
    "+a-very-long-hos 192.0.2.7        2 u  83m 1024   17    1.500    2.500   0.100",
    " unreachable.exa .INIT.          16 u    -   64    0    0.000    0.000   0.000",
]


def stop_process(process, name):
    """Stops a process that this test started, by its PID."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            print(f"{name} (pid {process.pid}) ignored SIGTERM, killing it", file=sys.stderr)
            process.kill()
            process.wait()


class PrivateBus:
    """A dbus-daemon with a system-bus-like configuration that allows everything."""

    def __init__(self, directory, name):
        config = os.path.join(directory, f"{name}.conf")
        with open(config, "w", encoding="utf-8") as f:
            f.write(BUS_CONFIG.format(socket=os.path.join(directory, f"{name}.socket")))
        self.process = subprocess.Popen([DBUS_DAEMON, f"--config-file={config}", "--print-address", "--nofork"],
                                        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        ready, _, _ = select.select([self.process.stdout], [], [], 10)
        if not ready:
            self.stop()
            raise RuntimeError("dbus-daemon did not print its address")
        self.address = self.process.stdout.readline().decode().strip()
        if not self.address:
            self.stop()
            raise RuntimeError("dbus-daemon failed to start")

    def stop(self):
        stop_process(self.process, "dbus-daemon")
        self.process.stdout.close()


class ManagerMock:
    """python-dbusmock owning org.ntpsync1 on a bus, with the Manager interface added."""

    def __init__(self, bus, log_path):
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address)
        self.log = open(log_path, "w", encoding="utf-8")
        self.process = subprocess.Popen([sys.executable, "-m", "dbusmock", "--system", BUS_NAME, OBJECT_PATH, MANAGER],
                                        env=env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        self.connection = dbus.bus.BusConnection(bus.address)
        self._wait_for_name()
        self.mock = dbus.Interface(self.connection.get_object(BUS_NAME, OBJECT_PATH), dbusmock.MOCK_IFACE)
        self.mock.AddProperties(MANAGER, dbus.Dictionary(PROPERTIES, signature="sv"))
        self.mock.AddMethods(MANAGER, METHODS)

    def _wait_for_name(self):
        deadline = time.monotonic() + 10
        while not self.connection.name_has_owner(BUS_NAME):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the dbusmock service did not come up")
            time.sleep(0.05)

    def reset(self):
        # dbusmock cannot announce a changed dictionary: FutureProperty is never changed.
        properties = {k: v for k, v in PROPERTIES.items() if k != "FutureProperty"}
        self.mock.UpdateProperties(MANAGER, dbus.Dictionary(properties, signature="sv"))
        self.mock.ClearCalls()

    def set_properties(self, **properties):
        self.mock.UpdateProperties(MANAGER, dbus.Dictionary(properties, signature="sv"))

    def calls(self):
        """(method, [arguments]) of every call since the last reset, without signatures' types."""
        return [(str(name), [unwrap(a) for a in args]) for _, name, args in self.mock.GetCalls()]

    def stop(self):
        self.connection.close()
        stop_process(self.process, "dbusmock")
        self.log.close()


def unwrap(value):
    if isinstance(value, dbus.Boolean):
        return bool(value)
    if isinstance(value, (dbus.Array, list)):
        return [unwrap(v) for v in value]
    if isinstance(value, dbus.String):
        return str(value)
    return value


class NtpsyncctlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.directory = tempfile.mkdtemp(prefix="ntpsyncctl-test.")
        cls.bus = cls.empty_bus = cls.manager = None
        try:
            cls.bus = PrivateBus(cls.directory, "system")
            cls.empty_bus = PrivateBus(cls.directory, "empty")
            cls.manager = ManagerMock(cls.bus, os.path.join(cls.directory, "dbusmock.log"))
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for part in (cls.manager, cls.empty_bus, cls.bus):
            if part:
                part.stop()
        shutil.rmtree(cls.directory, ignore_errors=True)

    def setUp(self):
        self.manager.reset()

    def ctl(self, *args, address=None):
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address or self.bus.address)
        return subprocess.run([CTL, *args], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=60, check=False)

    def assert_exit(self, result, status):
        self.assertEqual(result.returncode, status,
                         f"exit status {result.returncode}, stdout:\n{result.stdout}\nstderr:\n{result.stderr}")

    def ctl_ok(self, *args):
        result = self.ctl(*args)
        self.assert_exit(result, 0)
        self.assertEqual(result.stderr, "")
        return result.stdout

    def ctl_json(self, *args):
        return json.loads(self.ctl_ok("--json", *args))

    def changing_calls(self):
        """The calls of Manager methods (not the mock's own UpdateProperties and the like)."""
        names = {m[0] for m in METHODS}
        return [c for c in self.manager.calls() if c[0] in names]

    @staticmethod
    def fields(text):
        """ "Label: value" lines as a dict."""
        lines = [line.strip().split(": ", 1) for line in text.splitlines() if line.strip()]
        return {label: value for label, value in lines}

    # ---- command line

    def test_help_documents_the_exit_status(self):
        out = self.ctl_ok("--help")
        self.assertIn("Usage: ntpsyncctl", out)
        for line in ("0  success", "1  ntpsyncd refused", "2  bad command line", "3  ntpsyncd is not reachable",
                     "4  permission denied"):
            self.assertIn(line, out)
        for command in ("status", "sources", "servers set", "restrict add", "firewall enable|disable", "server-mode",
                        "nts [show]", "nts enable|disable", "--cert FILE", "--key FILE",
                        "query HOST", "burst", "reload", "--runtime", "--json", "--no-ask-password"):
            self.assertIn(command, out)

    def test_version(self):
        self.assertRegex(self.ctl_ok("--version"), r"^ntpsyncctl \S+\n$")

    def test_options_anywhere(self):
        self.assertEqual(self.ctl_ok("servers", "--json"), self.ctl_ok("--json", "servers"))
        self.assertIn("Usage:", self.ctl_ok("status", "-h"))

    def test_usage_errors_exit_2_without_calling(self):
        for args in (["frobnicate"], ["--frobnicate"], ["status", "extra"], ["sources", "extra"],
                     ["servers", "set"], ["servers", "add"], ["servers", "remove"],
                     ["servers", "remove", "a", "b"], ["servers", "frob"], ["restrict", "add"],
                     ["restrict", "remove"], ["restrict", "frob"], ["firewall", "enable"],
                     ["firewall", "enable", "both"], ["firewall", "open", "client"],
                     ["server-mode", "maybe"], ["server-mode", "on", "off"], ["query"],
                     ["query", "a", "b"], ["burst", "now"], ["reload", "x"],
                     ["--runtime", "firewall", "enable", "client"], ["--runtime", "burst"],
                     ["--runtime", "reload"], ["-x", "status"], ["status", "--frobnicate"],
                     ["nts", "frob"], ["nts", "enable", "now"], ["nts", "show", "x"], ["nts", "--cert", "/c.pem"],
                     ["nts", "disable", "--key", "/k.pem"], ["status", "--cert", "/c.pem"],
                     ["nts", "enable", "--cert"], ["nts", "enable", "--key="], ["--cert", "", "nts", "enable"]):
            with self.subTest(args=args):
                result = self.ctl(*args)
                self.assert_exit(result, 2)
                self.assertIn("--help", result.stderr)
        self.assertEqual(self.manager.calls(), [])

    # ---- reading

    def test_status(self):
        out = self.ctl_ok("status")
        self.assertEqual(self.fields(out), {
            "Synchronized": "yes",
            "System peer": "ntp1.example.com (192.0.2.1)",
            "Stratum": "3",
            "Reference ID": "192.0.2.1",
            "Offset": "-1.235 ms",
            "Frequency": "-12.500 ppm",
            "Leap status": "none",
            "Poll interval": "64 s",
            "Root delay": "12.346 ms",
            "Root dispersion": "0.457 ms",
            "Server mode": "off",
            "NTS serving": "off",
            "Firewall client": "unmanaged",
            "Firewall server": "unmanaged",
            "Firewall backend": "nftables",
            "Clock control": "observe",
            "Online": "yes",
        })
        self.assertEqual(self.ctl_ok(), out, "status is the default command")

    def test_status_not_synchronized_says_why(self):
        self.manager.set_properties(Synchronized=dbus.Boolean(False), SystemPeer="", Stratum=dbus.Byte(16),
                                    UnsynchronizedReason="no source is reachable")
        fields = self.fields(self.ctl_ok("status"))
        self.assertEqual(fields["Synchronized"], "no")
        self.assertEqual(fields["Reason"], "no source is reachable")
        self.assertEqual(fields["System peer"], "none")
        self.assertEqual(fields["Stratum"], "16")

    def test_status_json_has_every_property(self):
        status = self.ctl_json("status")
        self.assertEqual(set(status), set(PROPERTIES))
        self.assertIs(status["Synchronized"], True)
        self.assertEqual(status["Offset"], -1234567)
        self.assertEqual(status["Frequency"], -12.5)
        self.assertEqual(status["RootDelay"], 12345678)
        self.assertEqual(status["Servers"], SERVERS)
        self.assertEqual(status["Sources"][0]["name"], "ntp1.example.com")
        self.assertEqual(status["FutureProperty"], {"nested": [[1, "x"]]})

    def test_sources_table(self):
        lines = self.ctl_ok("sources").splitlines()
        self.assertEqual(lines[0], TABLE_HEADER)
        self.assertEqual(lines[1], "=" * 78)
        self.assertEqual(lines[2:], TABLE_ROWS)

    def test_sources_json(self):
        sources = self.ctl_json("sources")
        self.assertEqual([s["name"] for s in sources],
                         ["ntp1.example.com", "a-very-long-hostname.example.org", "unreachable.example.net"])
        first = sources[0]
        self.assertEqual((first["address"], first["refid"], first["stratum"], first["tally"]),
                         ("192.0.2.1", ".GPS.", 1, "*"))
        self.assertEqual((first["when"], first["poll"], first["reach"]), (33, 64, 255))
        self.assertEqual((first["delay"], first["offset"], first["jitter"]), (12345678, -123456, 45678))
        self.assertIs(first["prefer"], True)
        self.assertEqual(first["future"], [1, 2])
        # never answered: D-Bus says UINT64_MAX, JSON says null
        self.assertIsNone(sources[2]["when"])

    def test_sources_empty(self):
        self.manager.set_properties(Sources=dbus.Array([], signature="(sa{sv})"))
        self.assertEqual(self.ctl_ok("sources").splitlines(), [TABLE_HEADER, "=" * 78])
        self.assertEqual(self.ctl_json("sources"), [])

    def test_servers_list(self):
        self.assertEqual(self.ctl_ok("servers").splitlines(), SERVERS)
        self.assertEqual(self.ctl_ok("servers", "list").splitlines(), SERVERS)
        self.assertEqual(self.ctl_json("servers"), SERVERS)

    def test_restrict_list(self):
        self.assertEqual(self.ctl_ok("restrict").splitlines(), RESTRICT_RULES)
        self.assertEqual(self.ctl_ok("restrict", "list").splitlines(), RESTRICT_RULES)
        self.assertEqual(self.ctl_json("restrict"), RESTRICT_RULES)

    def test_firewall_show(self):
        self.assertEqual(self.fields(self.ctl_ok("firewall")),
                         {"Client": "unmanaged", "Server": "unmanaged", "Backend": "nftables",
                          "Warning": "table inet filter chain input drops udp port 123 (policy drop)"})
        self.assertEqual(self.ctl_ok("firewall", "show"), self.ctl_ok("firewall"))
        self.assertEqual(self.ctl_json("firewall"),
                         {"FirewallClientState": "unmanaged", "FirewallServerState": "unmanaged", "FirewallReason": "",
                          "FirewallClient": True, "FirewallServer": False, "FirewallBackend": "nftables",
                          "FirewallWarning": "table inet filter chain input drops udp port 123 (policy drop)"})

    def test_firewall_never_says_blocked_when_unmanaged(self):
        """Nothing asked for: the words are ntpsyncd's "unmanaged", never "blocked" or "allowed"."""
        for args in (["status"], ["firewall"]):
            out = self.ctl_ok(*args)
            self.assertNotIn("blocked", out)
            self.assertNotIn("allowed", out)
            self.assertNotIn("Reason", out)
        status = self.ctl_json("status")
        self.assertEqual((status["FirewallClientState"], status["FirewallServerState"], status["FirewallReason"]),
                         ("unmanaged", "unmanaged", ""))

    def test_firewall_failed_and_unknown_say_why(self):
        why = "no firewall backend: firewall helper /nonexistent: No such file or directory"
        self.manager.set_properties(FirewallClient=dbus.Boolean(False), FirewallServer=dbus.Boolean(False),
                                    FirewallClientState="failed", FirewallServerState="failed",
                                    FirewallReason=why, FirewallBackend="none")
        fields = self.fields(self.ctl_ok("status"))
        self.assertEqual((fields["Firewall client"], fields["Firewall server"], fields["Firewall reason"],
                          fields["Firewall backend"]), ("failed", "failed", why, "none"))
        fields = self.fields(self.ctl_ok("firewall"))
        self.assertEqual((fields["Client"], fields["Server"], fields["Reason"]), ("failed", "failed", why))
        self.assertEqual(self.ctl_json("firewall")["FirewallReason"], why)
        why = "firewalld did not answer getDefaultZone within 10 s"
        self.manager.set_properties(FirewallClientState="unknown", FirewallServerState="unknown", FirewallReason=why,
                                    FirewallBackend="firewalld")
        fields = self.fields(self.ctl_ok("firewall"))
        self.assertEqual((fields["Client"], fields["Server"], fields["Reason"], fields["Backend"]),
                         ("unknown", "unknown", why, "firewalld"))

    def test_firewall_from_a_daemon_without_states(self):
        """An older ntpsyncd has only the booleans: they are shown as they were."""
        self.manager.set_properties(FirewallClientState="", FirewallServerState="")
        fields = self.fields(self.ctl_ok("firewall"))
        self.assertEqual((fields["Client"], fields["Server"]), ("allowed", "blocked"))

    def test_server_mode_show(self):
        self.assertEqual(self.ctl_ok("server-mode"), "off\n")
        self.assertEqual(self.ctl_json("server-mode"), {"ServerMode": False})

    # ---- NTS

    def test_nts_show(self):
        self.assertEqual(self.fields(self.ctl_ok("nts")), {"Serving": "off", "Certificate": "none", "Key": "none"})
        self.assertEqual(self.ctl_ok("nts", "show"), self.ctl_ok("nts"))
        self.assertEqual(self.ctl_json("nts"), {"NtsServing": False, "NtsCertificate": "", "NtsKey": ""})
        self.manager.set_properties(NtsServing=dbus.Boolean(True), NtsCertificate="/etc/ntpsync/nts.pem",
                                    NtsKey="/etc/ntpsync/nts.key")
        self.assertEqual(self.fields(self.ctl_ok("nts")),
                         {"Serving": "on", "Certificate": "/etc/ntpsync/nts.pem", "Key": "/etc/ntpsync/nts.key"})
        self.assertEqual(self.ctl_json("nts"), {"NtsServing": True, "NtsCertificate": "/etc/ntpsync/nts.pem",
                                                "NtsKey": "/etc/ntpsync/nts.key"})
        self.assertEqual(self.fields(self.ctl_ok("status"))["NTS serving"], "on")
        self.assertEqual(self.changing_calls(), [])

    def test_nts_enable_and_disable(self):
        self.assertEqual(self.ctl_ok("nts", "enable", "--cert", "/etc/ntpsync/nts.pem", "--key=/etc/ntpsync/nts.key"),
                         "")
        self.ctl_ok("--runtime", "nts", "disable")
        self.ctl_ok("nts", "enable")
        self.ctl_ok("--key", "/k.pem", "nts", "enable", "--runtime")
        self.assertEqual(self.changing_calls(), [
            ("SetNts", [True, "/etc/ntpsync/nts.pem", "/etc/ntpsync/nts.key", False]),
            ("SetNts", [False, "", "", True]),
            ("SetNts", [True, "", "", False]),
            ("SetNts", [True, "", "/k.pem", True]),
        ])

    def test_nts_enable_makes_relative_paths_absolute(self):
        """ntpsyncd reads the files from its own working directory, not ntpsyncctl's."""
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus.address)
        result = subprocess.run([CTL, "nts", "enable", "--cert", "certs/nts.pem", "--key", "nts.key"], env=env,
                                cwd=self.directory, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=60, check=False)
        self.assert_exit(result, 0)
        directory = os.path.realpath(self.directory)
        self.assertEqual(self.changing_calls(), [
            ("SetNts", [True, os.path.join(directory, "certs/nts.pem"), os.path.join(directory, "nts.key"), False]),
        ])

    def test_nts_enable_refused_with_the_daemons_message(self):
        result = self.ctl("nts", "enable", "--cert", "/missing.pem", "--key", "/k.pem")
        self.assert_exit(result, 1)
        self.assertEqual(result.stderr,
                         "Failed to enable NTS: cannot read the certificate /missing.pem: No such file or directory\n")
        self.assertEqual(self.fields(self.ctl_ok("nts"))["Serving"], "off")

    def test_nts_unreachable_exits_3(self):
        for args in (["nts"], ["nts", "enable"], ["nts", "disable"]):
            with self.subTest(args=args):
                result = self.ctl(*args, address=self.empty_bus.address)
                self.assert_exit(result, 3)
                self.assertEqual(result.stdout, "")

    def test_sources_table_shows_nts_under_its_row(self):
        self.manager.set_properties(Sources=NTS_SOURCES)
        lines = self.ctl_ok("sources").splitlines()
        self.assertEqual(lines[:2], [TABLE_HEADER, "=" * 78])
        self.assertEqual(lines[2:], [
            "*nts1.example.co 192.0.2.99       2 u   10   64  377    2.000    1.000   0.050",
            "                 NTS, 7 cookies",
            "+plain.example.c .GPS.            1 u   20   64  377    3.000   -0.500   0.020",
            " nts2.example.co .INIT.           2 u    -   64    0    2.000    1.000   0.050",
            "                 NTS: key establishment pending",
            " nts3.example.co .INIT.           2 u    -   64    0    2.000    1.000   0.050",
            "                 NTS failed: certificate: the name does not match nts3.example.com",
        ])

    def test_plain_sources_look_as_before(self):
        # The default sources: one says "authentication": "none", the others nothing at all.
        self.assertEqual(self.ctl_ok("sources").splitlines()[2:], TABLE_ROWS)
        self.assertNotIn("Authentication", self.ctl_ok("status"))
        self.assertNotIn("Mode", self.ctl_ok("status"))

    def test_status_shows_nts_sources(self):
        self.manager.set_properties(Sources=NTS_SOURCES)
        lines = self.ctl_ok("status").splitlines()
        start = next(i for i, line in enumerate(lines) if line.strip().startswith("Authentication:"))
        self.assertEqual(lines[start:], [
            "     Authentication: nts1.example.com: NTS, 7 cookies",
            "                     nts2.example.com: NTS: key establishment pending",
            "                     nts3.example.com: NTS failed: certificate: the name does not match "
            "nts3.example.com",
        ])

    def test_sources_and_status_show_the_mode_of_xleave_sources(self):
        self.manager.set_properties(Sources=XLEAVE_SOURCES)
        self.assertEqual(self.ctl_ok("sources").splitlines()[2:], [
            "*chrony.example. .GPS.            2 u    3   64  377    2.000    1.000   0.050",
            "                 interleaved mode",
            "+ntpsec.example. .GPS.            2 u    4   64  377    2.000    1.000   0.050",
            "                 basic mode (xleave: no interleaved reply yet)",
            "+plain.example.c .GPS.            2 u    5   64  377    2.000    1.000   0.050",
        ])
        lines = self.ctl_ok("status").splitlines()
        start = next(i for i, line in enumerate(lines) if line.strip().startswith("Mode:"))
        self.assertEqual(lines[start:], [
            "               Mode: chrony.example.com: interleaved mode",
            "                     ntpsec.example.com: basic mode (xleave: no interleaved reply yet)",
        ])
        self.assertEqual([(s["xleave"], s["mode"]) for s in self.ctl_json("sources")],
                         [(True, "interleaved"), (True, "basic"), (False, "basic")])

    def test_one_cookie(self):
        one = source("nts1.example.com", address="192.0.2.10", refid="192.0.2.99", tally="*", when=dbus.UInt64(10),
                     reach=dbus.Byte(1), state="selected", nts_state="established", nts_cookies=dbus.UInt32(1),
                     **NTS_COMMON)
        self.manager.set_properties(Sources=dbus.Array([one], signature="(sa{sv})"))
        self.assertIn("nts1.example.com: NTS, 1 cookie\n", self.ctl_ok("status"))

    def test_sources_json_passes_the_nts_keys_through(self):
        self.manager.set_properties(Sources=NTS_SOURCES)
        sources = self.ctl_json("sources")
        self.assertEqual([(s["name"], s["authentication"]) for s in sources],
                         [("nts1.example.com", "nts"), ("plain.example.com", "none"), ("nts2.example.com", "nts"),
                          ("nts3.example.com", "nts")])
        self.assertEqual({k: v for k, v in sources[0].items() if k.startswith("nts_")}, {
            "nts_state": "established", "nts_reason": "", "nts_cookies": 7, "nts_ke_time": 1764000000,
            "nts_rejected": 2, "nts_last_rejection": "authenticator did not verify"})
        self.assertNotIn("nts_state", sources[1])
        self.assertEqual(sources[2]["nts_state"], "ke-pending")
        self.assertEqual((sources[3]["nts_state"], sources[3]["nts_reason"]),
                         ("failed", "certificate: the name does not match nts3.example.com"))
        status = self.ctl_json("status")
        self.assertEqual(status["Sources"], sources)
        self.assertEqual((status["NtsServing"], status["NtsCertificate"], status["NtsKey"]), (False, "", ""))

    # ---- changing

    def test_servers_set_one_spec_per_argument(self):
        self.assertEqual(self.ctl_ok("servers", "set", "server a.example.com iburst", "b.example.com"), "")
        self.assertEqual(self.changing_calls(),
                         [("SetServers", [["server a.example.com iburst", "b.example.com"], False])])
        self.assertEqual(self.ctl_ok("servers").splitlines(), ["server a.example.com iburst", "b.example.com"])

    def test_runtime_flips_the_flag(self):
        self.ctl_ok("--runtime", "servers", "set", "a.example.com")
        self.ctl_ok("servers", "add", "b.example.com", "--runtime")
        self.ctl_ok("--runtime", "servers", "remove", "ntp1.example.com")
        self.ctl_ok("--runtime", "restrict", "set", "default ignore")
        self.ctl_ok("--runtime", "restrict", "add", "192.0.2.0/24")
        self.ctl_ok("--runtime", "restrict", "remove", "192.0.2.0/24")
        self.ctl_ok("--runtime", "server-mode", "on")
        self.assertEqual(self.changing_calls(), [
            ("SetServers", [["a.example.com"], True]),
            ("AddServer", ["b.example.com", True]),
            ("RemoveServer", ["ntp1.example.com", True]),
            ("SetRestrictRules", [["default ignore"], True]),
            ("AddRestrict", ["192.0.2.0/24", True]),
            ("RemoveRestrict", ["192.0.2.0/24", True]),
            ("SetServerMode", [True, True]),
        ])

    def test_servers_add_joins_the_arguments(self):
        self.ctl_ok("servers", "add", "server", "c.example.com", "iburst", "minpoll", "4")
        self.ctl_ok("servers", "add", "pool pool2.example.org")
        self.ctl_ok("servers", "remove", "pool.example.org")
        self.assertEqual(self.changing_calls(), [
            ("AddServer", ["server c.example.com iburst minpoll 4", False]),
            ("AddServer", ["pool pool2.example.org", False]),
            ("RemoveServer", ["pool.example.org", False]),
        ])

    def test_restrict_add_is_one_rule(self):
        self.ctl_ok("restrict", "add", "192.0.2.0", "mask", "255.255.255.0", "nomodify")
        self.ctl_ok("restrict", "remove", "192.0.2.0", "mask", "255.255.255.0")
        self.ctl_ok("restrict", "set", "default kod nomodify", "2001:db8::/32 ignore")
        # After the command, "-6" is part of the rule, and "--" ends the options.
        self.ctl_ok("restrict", "add", "-6", "default", "ignore", "--runtime")
        self.ctl_ok("--", "restrict", "add", "--runtime")
        self.assertEqual(self.changing_calls(), [
            ("AddRestrict", ["192.0.2.0 mask 255.255.255.0 nomodify", False]),
            ("RemoveRestrict", ["192.0.2.0 mask 255.255.255.0", False]),
            ("SetRestrictRules", [["default kod nomodify", "2001:db8::/32 ignore"], False]),
            ("AddRestrict", ["-6 default ignore", True]),
            ("AddRestrict", ["--runtime", False]),
        ])

    def test_firewall_change_refused_while_the_other_is_unknown(self):
        self.manager.set_properties(FirewallClient=dbus.Boolean(False), FirewallClientState="unknown",
                                    FirewallReason="waiting for firewalld to answer")
        result = self.ctl("firewall", "enable", "server")
        self.assert_exit(result, 1)
        self.assertEqual(result.stderr, "Failed to set firewall: the client state is unknown (waiting for firewalld "
                                        "to answer); try again once it is known.\n")
        self.assertEqual(self.changing_calls(), [])
        # The direction named may be unknown itself: it is set, the other one kept.
        self.ctl_ok("firewall", "disable", "client")
        self.assertEqual(self.changing_calls(), [("SetFirewall", [False, False])])

    def test_firewall_change_keeps_the_other_flag(self):
        # client allowed, server blocked
        self.ctl_ok("firewall", "enable", "server")
        self.assertEqual(self.changing_calls(), [("SetFirewall", [True, True])])
        self.manager.set_properties(FirewallClient=dbus.Boolean(False), FirewallServer=dbus.Boolean(False))
        self.manager.mock.ClearCalls()
        self.ctl_ok("firewall", "enable", "server")
        self.assertEqual(self.changing_calls(), [("SetFirewall", [False, True])])
        self.manager.mock.ClearCalls()
        self.ctl_ok("firewall", "enable", "client")
        self.ctl_ok("firewall", "disable", "server")
        self.ctl_ok("firewall", "disable", "client")
        self.assertEqual(self.changing_calls(), [
            ("SetFirewall", [True, True]),
            ("SetFirewall", [True, False]),
            ("SetFirewall", [False, False]),
        ])

    def test_server_mode(self):
        self.ctl_ok("server-mode", "on")
        self.ctl_ok("server-mode", "off")
        self.assertEqual(self.changing_calls(), [("SetServerMode", [True, False]), ("SetServerMode", [False, False])])

    def test_burst(self):
        self.assertEqual(self.ctl_ok("burst"), "")
        self.assertEqual(self.changing_calls(), [("Burst", [])])

    def test_query(self):
        out = self.ctl_ok("query", "ntp.example.com")
        self.assertEqual(self.fields(out), {
            "Server": "ntp.example.com",
            "Offset": "-0.001234567 s",
            "Delay": "0.023456789 s",
            "Stratum": "2",
            "Reference ID": ".GPS.",
        })
        self.assertEqual(self.ctl_json("query", "ntp.example.com"),
                         {"offset": -0.001234567, "delay": 0.023456789, "stratum": 2, "refid": ".GPS."})
        self.assertEqual(self.changing_calls(), [("Query", ["ntp.example.com"]), ("Query", ["ntp.example.com"])])

    def test_metrics(self):
        self.assertEqual(self.ctl_ok("metrics"), METRICS_TEXT)
        self.assertEqual(self.changing_calls(), [("Metrics", [])])
        for args in (("metrics", "extra"), ("--json", "metrics"), ("--runtime", "metrics")):
            with self.subTest(args=args):
                self.assert_exit(self.ctl(*args), 2)

    # ---- failures

    def test_invalid_arguments_exit_1_with_the_daemons_message(self):
        result = self.ctl("servers", "set", "server bad.example.com frobnicate")
        self.assert_exit(result, 1)
        self.assertEqual(result.stderr,
                         'Failed to set servers: invalid server spec "server bad.example.com frobnicate": '
                         'unknown option\n')
        self.assertEqual(result.stdout, "")
        result = self.ctl("restrict", "add", "192.0.2.0", "bogus")
        self.assert_exit(result, 1)
        self.assertEqual(result.stderr,
                         'Failed to add restrict rule: invalid restrict rule "192.0.2.0 bogus": unknown flag bogus\n')
        result = self.ctl("servers", "remove", "other.example.com")
        self.assert_exit(result, 1)
        self.assertIn("no server other.example.com", result.stderr)

    def test_generic_failure_exits_1(self):
        # org.freedesktop.DBus.Error.Failed maps to EACCES in sd-bus; it is still no permission problem.
        result = self.ctl("query", "nonexistent.invalid")
        self.assert_exit(result, 1)
        self.assertEqual(result.stderr, "Failed to query nonexistent.invalid: no reply from nonexistent.invalid\n")

    def test_access_denied_exits_4(self):
        result = self.ctl("servers", "set", "denied.example.com")
        self.assert_exit(result, 4)
        self.assertEqual(result.stderr, "Failed to set servers: permission denied: Access denied\n")

    def test_interactive_authorization_required_exits_4(self):
        result = self.ctl("--no-ask-password", "reload")
        self.assert_exit(result, 4)
        self.assertIn("Failed to reload the configuration: permission denied", result.stderr)

    def test_unreachable_exits_3(self):
        missing = "unix:path=" + os.path.join(self.directory, "no-such-bus")
        for address, args in ((missing, ["status"]), (missing, ["servers", "set", "a.example.com"]),
                              (self.empty_bus.address, ["status"]), (self.empty_bus.address, ["sources"]),
                              (self.empty_bus.address, ["firewall", "enable", "client"]),
                              (self.empty_bus.address, ["servers", "set", "a.example.com"]),
                              (self.empty_bus.address, ["query", "a.example.com"]),
                              (self.empty_bus.address, ["burst"])):
            with self.subTest(address=address, args=args):
                result = self.ctl(*args, address=address)
                self.assert_exit(result, 3)
                self.assertEqual(result.stdout, "")
                self.assertTrue(result.stderr.startswith("Failed to "), result.stderr)

    # ---- wait-sync

    def test_wait_sync_returns_at_once_when_synchronized(self):
        self.manager.set_properties(Synchronized=dbus.Boolean(True))
        self.assert_exit(self.ctl("wait-sync", "--timeout", "0"), 0)

    def test_wait_sync_times_out_with_1(self):
        self.manager.set_properties(Synchronized=dbus.Boolean(False))
        started = time.monotonic()
        result = self.ctl("wait-sync", "--timeout=1.5")
        self.assert_exit(result, 1)
        self.assertGreaterEqual(time.monotonic() - started, 1.5)
        self.assertIn("Not synchronized after 1.5 s", result.stderr)

    def test_wait_sync_wakes_up_on_properties_changed(self):
        """Synchronized turns true while it waits: it returns then, long before its timeout and
        before its 5 s re-check, so on the signal."""
        self.manager.set_properties(Synchronized=dbus.Boolean(False))
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus.address)
        started = time.monotonic()
        waiter = subprocess.Popen([CTL, "wait-sync", "--timeout", "60"], env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(1.0)
            self.assertIsNone(waiter.poll(), "wait-sync returned while not synchronized")
            self.manager.set_properties(Synchronized=dbus.Boolean(True))
            self.assertEqual(waiter.wait(timeout=30), 0, waiter.stderr.read())
            self.assertLess(time.monotonic() - started, 4.0)
        finally:
            if waiter.poll() is None:
                waiter.kill()
                waiter.wait()

    def test_wait_sync_unreachable_and_usage(self):
        self.assert_exit(self.ctl("wait-sync", "--timeout", "1", address=self.empty_bus.address), 3)
        for args in (["wait-sync", "--timeout"], ["wait-sync", "--timeout", "-1"], ["wait-sync", "--timeout=soon"],
                     ["wait-sync", "now"], ["status", "--timeout", "5"]):
            with self.subTest(args=args):
                self.assert_exit(self.ctl(*args), 2)


def main():
    if not CTL or not os.access(CTL, os.X_OK):
        print("skipping: $NTPSYNCCTL does not name the ntpsyncctl binary", file=sys.stderr)
        return SKIP
    if not DBUS_DAEMON:
        print("skipping: dbus-daemon is not installed", file=sys.stderr)
        return SKIP
    program = unittest.main(exit=False, verbosity=2)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
