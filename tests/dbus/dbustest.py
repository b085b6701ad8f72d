#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Helpers for the D-Bus API tests (tests/dbus): a private system-like bus, a mocked polkitd, and
ntpsyncd against a chronyd with a known clock offset — built on tests/integration/harness.py
(namespaces, chronyd with fake offsets, processes stopped by PID, cleanup on every exit path).

One World per test class:
  - a private dbus-daemon (a temp dir, a unix socket path, EXTERNAL auth) whose configuration
    includes dbus/org.ntpsync1.conf, so the real bus policy is exercised; a permissive default
    policy only for the test's own helpers (org.freedesktop.PolicyKit1 and the bus itself);
  - python-dbusmock's polkitd template, extended by polkitd_challenge.py (interactive actions);
  - a chronyd in its own namespace (harness.Lab), ntpsyncd in the client namespace with
    --clock observe and DBUS_SYSTEM_BUS_ADDRESS pointing at the private bus.

Callers: root (in this process, dbus-python), or uid 65534 through `setpriv`: busctl, ntpsyncctl,
or this file run as a program (`dbustest.py call JSON`), which prints the D-Bus error name.

Run as a program:
    dbustest.py call JSON     one method call (JSON: address, method, signature, args, ...),
                              the result as JSON on stdout
    dbustest.py hammer JSON   persisted SetServers/SetRestrictRules calls, alternating, until
                              the daemon goes away; JSON lines "sent"/"ack"/"error" on stdout
"""

import ctypes
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
from harness import log  # noqa: E402,F401

try:
    import dbus
    import dbus.lowlevel
    from dbus.mainloop.glib import DBusGMainLoop
except ImportError:  # reported by require_tools(); the "call" helper needs it too
    dbus = None

PYTHON3 = harness.PYTHON3
NOBODY = 65534
AS_NOBODY = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"]
BUS_NAME = "org.ntpsync1"
OBJECT_PATH = "/org/ntpsync1"
INTERFACE = "org.ntpsync1.Manager"
TIMESYNC_NAME = "org.freedesktop.timesync1"
TIMESYNC_PATH = "/org/freedesktop/timesync1"
TIMESYNC_INTERFACE = "org.freedesktop.timesync1.Manager"
PROPERTIES_INTERFACE = "org.freedesktop.DBus.Properties"
POLKIT_NAME = "org.freedesktop.PolicyKit1"
POLKIT_PATH = "/org/freedesktop/PolicyKit1/Authority"
MOCK_INTERFACE = "org.freedesktop.DBus.Mock"
POLICY_FILE = os.path.join(harness.SOURCE_ROOT, "dbus", "org.ntpsync1.conf")
INTERFACE_XML = os.path.join(harness.SOURCE_ROOT, "dbus", "org.ntpsync1.Manager.xml")
POLKIT_TEMPLATE = os.path.join(HERE, "polkitd_challenge.py")

ERROR_ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"
ERROR_INTERACTIVE = "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"
ERROR_INVALID_ARGS = "org.freedesktop.DBus.Error.InvalidArgs"

ACTIONS = ["org.ntpsync1.set-servers", "org.ntpsync1.set-restrict", "org.ntpsync1.set-firewall",
           "org.ntpsync1.set-server-mode", "org.ntpsync1.set-nts", "org.ntpsync1.control"]
# The properties that settings change; compared before and after a refused call.
SETTING_PROPERTIES = ["Servers", "RestrictRules", "FirewallClient", "FirewallServer", "ServerMode", "NtsServing",
                      "NtsCertificate", "NtsKey"]
SETTINGS_FILE = "settings.conf"

# ntpsyncctl's exit statuses (its --help)
CTL_OK, CTL_FAILED, CTL_USAGE, CTL_UNREACHABLE, CTL_DENIED = 0, 1, 2, 3, 4


def require_tools():
    """Exits 77 when not root; fails clearly when a tool the tests need is missing."""
    harness.require_root()
    missing = []
    if dbus is None:
        missing.append("python3-dbus")
    try:
        import dbusmock  # noqa: F401
    except ImportError:
        missing.append("python3-dbusmock")
    for tool in ("dbus-daemon", "busctl", "setpriv"):
        if not shutil.which(tool):
            missing.append(tool)
    if missing:
        print("SETUP FAILED: missing %s (tools/install-deps.sh installs them)" % ", ".join(missing),
              file=sys.stderr)
        sys.exit(1)


def main_unittest():
    require_tools()
    harness.main_unittest()


def ntpsyncctl_path():
    for c in (os.environ.get("NTPSYNCCTL", ""), os.path.join(harness.SOURCE_ROOT, "build", "src", "ctl", "ntpsyncctl")):
        if c and os.access(c, os.X_OK):
            return os.path.abspath(c)
    return None


# --------------------------------------------------------------------------------------------
# D-Bus values to plain Python


def plain(v):
    if dbus is not None:
        if isinstance(v, dbus.Boolean):
            return bool(v)
        if isinstance(v, (dbus.Byte, dbus.Int16, dbus.Int32, dbus.Int64, dbus.UInt16, dbus.UInt32, dbus.UInt64)):
            return int(v)
        if isinstance(v, dbus.Double):
            return float(v)
        if isinstance(v, (dbus.String, dbus.ObjectPath, dbus.Signature)):
            return str(v)
    if isinstance(v, dict):
        return {plain(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def _glib_iteration():
    """One non-blocking iteration of GLib's default main context (where dbus-python's
    DBusGMainLoop delivers signals), without needing PyGObject."""
    global _libglib
    if _libglib is None:
        _libglib = ctypes.cdll.LoadLibrary("libglib-2.0.so.0")
    return _libglib.g_main_context_iteration(None, False)


_libglib = None


def raw_call(conn, method, signature="", args=(), interactive=False, timeout=30.0,
             dest=BUS_NAME, path=OBJECT_PATH, interface=INTERFACE):
    """A method call with the allow-interactive-authorization flag as asked; returns the reply's
    arguments, raises dbus.DBusException."""
    msg = dbus.lowlevel.MethodCallMessage(dest, path, interface, method)
    if signature:
        msg.append(*args, signature=signature)
    msg.set_allow_interactive_authorization(bool(interactive))
    reply = conn.send_message_with_reply_and_block(msg, timeout)
    return reply.get_args_list()


class CallResult:
    def __init__(self, d):
        self.ok = d.get("ok", False)
        self.reply = d.get("reply")
        self.error = d.get("error")
        self.message = d.get("message", "")
        self.unique_name = d.get("unique_name")

    def __repr__(self):
        return "CallResult(ok=%r, reply=%r, error=%r, message=%r)" % (self.ok, self.reply, self.error, self.message)


def _call_from_spec(spec):
    conn = dbus.bus.BusConnection(spec["address"])
    out = {"unique_name": str(conn.get_unique_name())}
    try:
        reply = raw_call(conn, spec["method"], spec.get("signature", ""), spec.get("args", []),
                         interactive=spec.get("interactive", False), timeout=spec.get("timeout", 30.0),
                         dest=spec.get("dest", BUS_NAME), path=spec.get("path", OBJECT_PATH),
                         interface=spec.get("interface", INTERFACE))
        out.update(ok=True, reply=plain(reply))
    except dbus.DBusException as e:
        out.update(ok=False, error=e.get_dbus_name(), message=e.get_dbus_message())
    finally:
        conn.close()
    return out


# --------------------------------------------------------------------------------------------
# the private bus

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- A system-bus-like private bus for one test: EXTERNAL auth on a socket path, the helpers'
     names open to everybody, and then ntpsyncd's real policy. -->
<busconfig>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow send_type="signal"/>
    <allow own="org.freedesktop.PolicyKit1"/>
  </policy>
  <!-- later rules win: ntpsyncd's own policy is the one that decides about its names -->
  <include>{policy}</include>
</busconfig>
"""


class PrivateBus:
    def __init__(self, lab, name="dbus-daemon"):
        self.lab = lab
        self.dir = os.path.join(lab.dir, "bus")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.socket = os.path.join(self.dir, "system_bus_socket")
        self.address = "unix:path=" + self.socket
        self.config = os.path.join(self.dir, "bus.conf")
        with open(self.config, "w") as f:
            f.write(BUS_CONFIG.format(socket=self.socket, policy=POLICY_FILE))
        self.name = name
        self.starts = 0
        self.conn = None
        self._start()
        self._cleanup = harness.register_cleanup("bus connection", self.close)

    def _start(self):
        self.starts += 1
        self.process = self.lab.start_process("%s%d" % (self.name, self.starts),
                                              ["dbus-daemon", "--nofork", "--nopidfile",
                                               "--config-file=" + self.config])
        deadline = time.monotonic() + 10
        while not os.path.exists(self.socket):
            if not self.process.running() or time.monotonic() > deadline:
                raise harness.SetupError("dbus-daemon did not start:\n" + self.process.stderr())
            time.sleep(0.05)
        self.conn = dbus.bus.BusConnection(self.address, mainloop=DBusGMainLoop())

    def stop(self):
        """The bus goes away, as when dbus-daemon is restarted: every connection is cut."""
        self.conn.close()
        self.conn = None
        self.process.stop()
        if os.path.exists(self.socket):
            os.unlink(self.socket)

    def start(self):
        self._start()

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        harness.unregister_cleanup(self._cleanup)

    def env(self):
        return {"DBUS_SYSTEM_BUS_ADDRESS": self.address}

    def owner(self, name):
        try:
            return str(self.conn.get_name_owner(name))
        except dbus.DBusException:
            return None

    def owner_pid(self, name):
        """The PID of the process whose connection owns name, or None."""
        owner = self.owner(name)
        if owner is None:
            return None
        bus = self.conn.get_object("org.freedesktop.DBus", "/org/freedesktop/DBus")
        return int(bus.GetConnectionUnixProcessID(owner, dbus_interface="org.freedesktop.DBus"))

    def wait_owner(self, name, timeout=10.0, process=None):
        deadline = time.monotonic() + timeout
        while True:
            owner = self.owner(name)
            if owner:
                return owner
            if time.monotonic() > deadline or (process is not None and not process.running()):
                return None
            time.sleep(0.05)

    def pump(self, seconds=0.0):
        """Delivers pending signals to their receivers for up to `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            while _glib_iteration():
                pass
            if time.monotonic() >= deadline:
                return
            time.sleep(0.02)


# --------------------------------------------------------------------------------------------
# polkitd


class PolkitMock:
    """dbusmock's polkitd template (with challenge actions) on the private bus."""

    def __init__(self, lab, bus):
        self.lab = lab
        self.bus = bus
        self.process = None
        self.count = 0
        self.start()

    def start(self):
        self.count += 1
        self.process = self.lab.start_process("polkitd-mock%d" % self.count,
                                              [PYTHON3, "-m", "dbusmock", "--template", POLKIT_TEMPLATE],
                                              env=self.bus.env())
        if not self.bus.wait_owner(POLKIT_NAME, 15, self.process):
            raise harness.SetupError("the polkitd mock did not take %s:\n%s" % (POLKIT_NAME, self.process.stderr()))

    def stop(self):
        self.process.stop()
        deadline = time.monotonic() + 5
        while self.bus.owner(POLKIT_NAME) and time.monotonic() < deadline:
            time.sleep(0.05)

    def _mock(self, method, signature="", args=()):
        return raw_call(self.bus.conn, method, signature, args, dest=POLKIT_NAME, path=POLKIT_PATH,
                        interface=MOCK_INTERFACE)

    def set(self, allowed=(), challenge=()):
        """Only `allowed` pass; `challenge` need interactive authorization; everything else is
        denied. Also forgets the calls seen so far."""
        self._mock("SetAllowed", "as", [list(allowed)])
        self._mock("SetChallenge", "as", [list(challenge)])
        self._mock("ClearCalls")

    def allow_all(self):
        self.set(ACTIONS)

    def calls(self):
        """CheckAuthorization calls: dicts with kind, subject (its details), action, details, flags."""
        out = []
        for _, args in self._mock("GetMethodCalls", "s", ["CheckAuthorization"])[0]:
            subject, action, details, flags, cancel = plain(list(args))
            out.append({"kind": subject[0], "subject": subject[1], "action": action, "details": details,
                        "flags": flags, "cancellation_id": cancel})
        return out


# --------------------------------------------------------------------------------------------
# the world


class World:
    """One test class's world: Lab (temp dir, namespaces), private bus, polkitd mock, chronyd."""

    def __init__(self, tag, offset=0.025, polkit=True, chrony=True):
        harness.require_ntpsyncd()
        self.lab = harness.Lab(tag)
        self.daemon = None
        self.daemons = 0
        self.bus = None
        try:
            self.bus = PrivateBus(self.lab)
            self.polkit = PolkitMock(self.lab, self.bus) if polkit else None
            self.server = self.lab.chronyd(offset) if chrony else None
        except BaseException:
            self.close()
            raise
        self.ctl = ntpsyncctl_path()
        self.state = None
        self.config = None

    def close(self):
        if self.bus:
            self.bus.close()
        self.lab.close()

    # ---- configuration and the daemon

    def server_spec(self):
        return "server %s iburst minpoll 3 maxpoll 4" % self.server.address

    def write_config(self, extra=(), name="ntpsyncd.conf", servers=True):
        lines = ["# written by tests/dbus"]
        if servers and self.server:
            lines.append(self.server_spec())
        self.config = self.lab.write_config(name, lines + list(extra))
        return self.config

    def new_state_dir(self):
        self.daemons += 1
        self.state = self.lab.state_dir("state%d" % self.daemons)
        return self.state

    def start_daemon(self, config=None, state=None, wait_name=True, extra_args=()):
        """Starts ntpsyncd (stopping the running one); waits until it owns org.ntpsync1."""
        self.stop_daemon()
        self.daemons += 1
        if config is not None:
            self.config = config
        if self.config is None:
            self.write_config()
        if state is not None:
            self.state = state
        if self.state is None:
            self.new_state_dir()
        self.daemon = self.lab.daemon(self.config, self.state, name="ntpsyncd%d" % self.daemons,
                                      extra_args=extra_args, env=self.bus.env())
        if wait_name and not self.bus.wait_owner(BUS_NAME, 15, self.daemon.process):
            raise AssertionError("ntpsyncd did not take %s:\n%s" % (BUS_NAME, self.daemon.process.stderr()))
        # READY=1 comes once what the settings ask of the firewall was applied and read back:
        # until then its state is "unknown", truthfully, and a test would read that.
        if wait_name and not self.daemon.wait_ready(15):
            raise AssertionError("ntpsyncd sent no READY=1:\n%s" % self.daemon.process.stderr())
        return self.daemon

    def stop_daemon(self):
        if self.daemon is not None:
            if self.daemon.process.running():
                self.daemon.stop()
            else:
                self.daemon.process.stop()
            self.daemon = None
            deadline = time.monotonic() + 5
            while self.bus.owner(BUS_NAME) and time.monotonic() < deadline:
                time.sleep(0.05)

    def kill_daemon(self):
        """SIGKILL, by PID."""
        d = self.daemon
        self.daemon = None
        d.process.kill()
        d.process.stop()
        d.sock.close()
        harness.unregister_cleanup(d._sock_cleanup)
        deadline = time.monotonic() + 5
        while self.bus.owner(BUS_NAME) and time.monotonic() < deadline:
            time.sleep(0.02)

    def daemon_log(self):
        return self.daemon.process.stderr() if self.daemon else ""

    # ---- reading

    def get(self, name, interface=INTERFACE, dest=BUS_NAME, path=OBJECT_PATH):
        return plain(raw_call(self.bus.conn, "Get", "ss", [interface, name], dest=dest, path=path,
                              interface=PROPERTIES_INTERFACE)[0])

    def get_all(self, interface=INTERFACE, dest=BUS_NAME, path=OBJECT_PATH):
        return plain(raw_call(self.bus.conn, "GetAll", "s", [interface], dest=dest, path=path,
                              interface=PROPERTIES_INTERFACE)[0])

    def settings_path(self):
        return os.path.join(self.state, SETTINGS_FILE)

    def settings_text(self):
        try:
            with open(self.settings_path()) as f:
                return f.read()
        except FileNotFoundError:
            return None

    def snapshot(self):
        """What a refused call must not change: the setting properties and settings.conf."""
        props = self.get_all()
        snap = {k: props[k] for k in SETTING_PROPERTIES}
        snap["settings.conf"] = self.settings_text()
        try:
            st = os.stat(self.settings_path())
            snap["settings.conf inode/mtime"] = (st.st_ino, st.st_mtime_ns)
        except FileNotFoundError:
            snap["settings.conf inode/mtime"] = None
        return snap

    def wait_synchronized(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.get("Synchronized"):
                return True
            if not self.daemon.process.running():
                break
            time.sleep(0.3)
        return False

    def check_config(self, state=None):
        """`ntpsyncd --check-config --config C --state-dir S`: (exit status, stdout, stderr)."""
        p = subprocess.run([self.lab.ntpsyncd, "--check-config", "--config", self.config, harness.NO_TIMESYNCD_CONF, "--state-dir",
                            state or self.state], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=30)
        return p.returncode, p.stdout, p.stderr

    # ---- callers

    def call(self, method, signature="", args=(), nobody=False, interactive=False, timeout=30.0,
             dest=BUS_NAME, path=OBJECT_PATH, interface=INTERFACE):
        """A method call as root (this process) or as uid 65534 (a child): a CallResult."""
        if not nobody:
            spec_conn = self.bus.conn
            out = {"unique_name": str(spec_conn.get_unique_name())}
            try:
                reply = raw_call(spec_conn, method, signature, args, interactive, timeout, dest, path, interface)
                out.update(ok=True, reply=plain(reply))
            except dbus.DBusException as e:
                out.update(ok=False, error=e.get_dbus_name(), message=e.get_dbus_message())
            return CallResult(out)
        spec = {"address": self.bus.address, "method": method, "signature": signature, "args": list(args),
                "interactive": interactive, "timeout": timeout, "dest": dest, "path": path, "interface": interface}
        p = subprocess.run(AS_NOBODY + [PYTHON3, os.path.abspath(__file__), "call", "-"],
                           input=json.dumps(spec), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=timeout + 15,
                           env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
        if p.returncode != 0:
            raise RuntimeError("call helper failed (%d): %s" % (p.returncode, p.stderr))
        return CallResult(json.loads(p.stdout))

    def busctl(self, args, nobody=False, interactive=None, timeout=60):
        """busctl --address=BUS ARGS; interactive: None (busctl's default), True or False."""
        argv = ["busctl", "--address=" + self.bus.address]
        if interactive is not None:
            argv.append("--allow-interactive-authorization=" + ("yes" if interactive else "no"))
        argv += list(args)
        p = subprocess.run((AS_NOBODY if nobody else []) + argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout)
        log("busctl%s %s -> %d %s" % (" (nobody)" if nobody else "", " ".join(args)[:160], p.returncode,
                                      (p.stderr.strip() or p.stdout.strip())[:160]))
        return p

    def busctl_call(self, method, signature="", args=(), nobody=False, interactive=None, dest=BUS_NAME,
                    path=OBJECT_PATH, interface=INTERFACE, json_output=False):
        argv = (["--json=short"] if json_output else []) + ["call", dest, path, interface, method]
        if signature:
            argv += [signature] + [busctl_arg(a) for a in busctl_flatten(signature, args)]
        return self.busctl(argv, nobody=nobody, interactive=interactive)

    def busctl_get(self, names, dest=BUS_NAME, path=OBJECT_PATH, interface=INTERFACE, nobody=False):
        """busctl --json=short get-property: a list of {"type":..., "data":...}."""
        p = self.busctl(["--json=short", "get-property", dest, path, interface] + list(names), nobody=nobody)
        if p.returncode != 0:
            raise AssertionError("busctl get-property %s failed: %s" % (names, p.stderr))
        return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]

    def ntpsyncctl(self, args, nobody=False, timeout=60):
        if not self.ctl:
            raise harness.SetupError("ntpsyncctl is not built")
        p = subprocess.run((AS_NOBODY if nobody else []) + [self.ctl] + list(args), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                           timeout=timeout, env=dict(os.environ, **self.bus.env()))
        log("ntpsyncctl%s %s -> %d %s" % (" (nobody)" if nobody else "", " ".join(args)[:160], p.returncode,
                                          (p.stderr.strip() or p.stdout.strip())[:160]))
        return p


def busctl_flatten(signature, args):
    """busctl's command line form of arguments: arrays as a count and the elements."""
    out = []
    sig = list(signature)
    i = 0
    for a in args:
        t = sig[i]
        if t == "a":
            i += 2
            out.append(len(a))
            out.extend(a)
        else:
            i += 1
            out.append(a)
    return out


def busctl_arg(a):
    if isinstance(a, bool):
        return "true" if a else "false"
    return str(a)


class SignalRecorder:
    """PropertiesChanged of an object, in the order they came: (interface, changed, invalidated)."""

    def __init__(self, bus, path=OBJECT_PATH):
        self.bus = bus
        self.signals = []
        self.match = bus.conn.add_signal_receiver(self._on_signal, signal_name="PropertiesChanged",
                                                  dbus_interface=PROPERTIES_INTERFACE, path=path)

    def _on_signal(self, interface, changed, invalidated):
        entry = (str(interface), plain(changed), plain(invalidated))
        log("PropertiesChanged %s %s invalidated %s" % (entry[0], json.dumps(entry[1])[:300], entry[2]))
        self.signals.append((time.monotonic(), entry))

    def wait(self, predicate, timeout):
        """The first (interface, changed, invalidated) for which predicate is true, or None."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            self.bus.pump()
            for _, entry in self.signals[seen:]:
                if predicate(*entry):
                    return entry
            seen = len(self.signals)
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)

    def remove(self):
        self.match.remove()


# --------------------------------------------------------------------------------------------
# the hammer: persisted changes until the daemon goes away (for the SIGKILL test)


def servers_value(i):
    return ["server 198.51.100.%d iburst" % (1 + i % 250), "server 203.0.113.%d" % (1 + (i * 7) % 250)]


def restrict_value(i):
    return ["default kod limited nomodify notrap nopeer noquery", "192.0.2.%d/32 nomodify noquery" % (i % 250)]


def hammer(spec):
    conn = dbus.bus.BusConnection(spec["address"])
    i = spec["start"]
    while True:
        kind = "servers" if i % 2 == 0 else "restrict"
        value = servers_value(i) if kind == "servers" else restrict_value(i)
        print(json.dumps({"sent": i, "kind": kind, "value": value}), flush=True)
        try:
            raw_call(conn, "SetServers" if kind == "servers" else "SetRestrictRules", "asb", [value, False],
                     timeout=10)
        except dbus.DBusException as e:
            print(json.dumps({"error": i, "name": e.get_dbus_name(), "message": e.get_dbus_message()}), flush=True)
            return 0
        print(json.dumps({"ack": i}), flush=True)
        i += 1


def _main(argv):
    if len(argv) == 2 and argv[0] in ("call", "hammer"):
        spec = json.loads(sys.stdin.read() if argv[1] == "-" else argv[1])
        if argv[0] == "call":
            print(json.dumps(_call_from_spec(spec)))
            return 0
        return hammer(spec)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
