#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Integration-test harness: real NTP servers with a known clock offset in network namespaces.

Every test builds a Lab: one client network namespace, and one namespace per server joined to
the client by its own veth pair, with documentation addresses (server i: 192.0.2.(4i+1)/30 and
2001:db8:0:i::1/64; the client's end .(4i+2) and ::2). Each server is a chronyd (-x, never
touches the clock) or an NTPsec ntpd (under setpriv without CAP_SYS_TIME) whose view of the time
is moved by a known offset with libfaketime plus shift-rx-timestamps.so (see fake_time_env()).
ntpsyncd runs in the client namespace, always without CAP_SYS_TIME and with --clock observe.

Everything a Lab creates is torn down by PID and by namespace name in Lab.close(), which runs
from `with`, from atexit, and from SIGTERM/SIGINT/SIGHUP handlers (meson's timeout sends SIGTERM).

For the server side, Lab.add_client() adds namespaces for ntpsyncd's own clients, each joined
to the daemon's namespace by a veth pair (ClientLink: 198.51.100.0/24, 203.0.113.0/24, ...,
optionally with a routed prefix such as 198.18.0.0/15 that the client treats as local, for
floods from many source addresses), with ntpdig, ntpdate, chronyd -Q and raw-packet helpers;
Lab.private_bus() starts a dbus-daemon of the test's own for D-Bus calls with busctl.

Run as a program it has helper commands that run inside a namespace:
    harness.py probe ADDRESS [--timeout S]    one NTP client exchange, JSON on stdout
    harness.py exchange ADDRESS [--interval S] [--wait S] [--bind ADDR] [--sport P] HEX...
                                              send raw datagrams, print what comes back (JSON)
"""

import atexit
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

PYTHON3 = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
# Drop CAP_SYS_TIME from everything the tests start: nothing may change this machine's clock.
NO_SYS_TIME = ["setpriv", "--bounding-set", "-sys_time", "--inh-caps", "-sys_time"]
# The host's systemd-timesyncd configuration is not the test's: its servers are not read.
NO_TIMESYNCD_CONF = "--timesyncd-conf="
SKIP = 77  # meson's exit code for a skipped test
NTP_EPOCH_OFFSET = 2208988800
TOLERANCE = 0.005  # seconds: how close a measured offset must be to the faked one


class SetupError(RuntimeError):
    """Something the tests need is missing; the message says what."""


def log(*args):
    print("[harness %.3f]" % time.monotonic(), *args, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# cleanup registry: runs on normal exit, on exceptions, and on termination signals

_cleanups = []  # LIFO list of (description, callable)
_signals_installed = False


def register_cleanup(description, fn):
    _install_handlers()
    entry = (description, fn)
    _cleanups.append(entry)
    return entry


def unregister_cleanup(entry):
    try:
        _cleanups.remove(entry)
    except ValueError:
        pass


def run_cleanups():
    while _cleanups:
        description, fn = _cleanups.pop()
        try:
            fn()
        except Exception as e:  # keep going: everything else must still be cleaned up
            print("harness: cleanup %s failed: %r" % (description, e), file=sys.stderr)


def _on_signal(signum, frame):
    print("harness: signal %d, cleaning up" % signum, file=sys.stderr, flush=True)
    run_cleanups()
    os._exit(128 + signum)


def _install_handlers():
    global _signals_installed
    if _signals_installed:
        return
    _signals_installed = True
    atexit.register(run_cleanups)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_signal)


# --------------------------------------------------------------------------------------------
# what the tests need on this machine


def require_root():
    """Exits with meson's skip code when the tests cannot run here at all."""
    if os.geteuid() != 0:
        print("SKIP: the integration tests need root (network namespaces)", file=sys.stderr)
        sys.exit(SKIP)
    if not shutil.which("ip") and not os.path.exists("/usr/sbin/ip"):
        print("SKIP: no ip(8) (iproute2)", file=sys.stderr)
        sys.exit(SKIP)


_peers = None


def peers():
    """Runs setup-peers.sh (idempotent) and returns its NAME=VALUE output as a dict."""
    global _peers
    if _peers is None:
        script = os.path.join(HERE, "setup-peers.sh")
        p = subprocess.run(["bash", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=300)
        if p.returncode != 0:
            raise SetupError("tests/integration/setup-peers.sh failed (exit %d):\n%s" %
                             (p.returncode, p.stderr.strip()))
        _peers = dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)
    return _peers


def shim_path():
    """The LD_PRELOAD library built from shift-rx-timestamps.c."""
    candidates = [os.environ.get("NTPSYNC_TEST_SHIM", "")]
    candidates.append(os.path.join(SOURCE_ROOT, "build", "tests", "integration", "shift-rx-timestamps.so"))
    for c in candidates:
        if c and os.path.exists(c):
            return os.path.abspath(c)
    raise SetupError("shift-rx-timestamps.so not found: build it (ninja -C build) or set NTPSYNC_TEST_SHIM")


def ntpsyncd_path():
    candidates = [os.environ.get("NTPSYNCD", ""),
                  os.path.join(SOURCE_ROOT, "build", "src", "daemon", "ntpsyncd")]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return os.path.abspath(c)
    return None


def require_ntpsyncd():
    path = ntpsyncd_path()
    if not path:
        raise SetupError("ntpsyncd not found (set NTPSYNCD or build build/src/daemon/ntpsyncd)")
    return path


def fake_time_env(offset, shim=True):
    """Environment for a process whose clock reads `offset` seconds ahead of the real one.

    libfaketime: FAKETIME="+0.5" (a relative offset; fractions work), FAKETIME_DONT_RESET=1 (a
    child keeps the parent's offset instead of re-reading it), FAKETIME_NO_CACHE=1 (no cached
    offset: exact from the first call). shift-rx-timestamps.so: NTPSYNC_TEST_RX_SHIFT moves the
    kernel's packet receive timestamps by the same offset; without it a server's receive
    timestamp is real and its transmit timestamp fake, and clients see about half the offset.
    """
    libfaketime = peers()["LIBFAKETIME"]
    preload = [libfaketime]
    env = {
        "FAKETIME": "%+g" % offset,
        "FAKETIME_DONT_RESET": "1",
        "FAKETIME_NO_CACHE": "1",
    }
    if shim:
        preload.insert(0, shim_path())
        env["NTPSYNC_TEST_RX_SHIFT"] = "%.9f" % offset
    env["LD_PRELOAD"] = " ".join(preload)
    return env


# --------------------------------------------------------------------------------------------
# processes


class Process:
    """A process started by the harness: stdout/stderr go to files, stopped by PID."""

    def __init__(self, name, argv, log_dir, env=None, stdin=subprocess.DEVNULL, cwd=None):
        self.name = name
        self.argv = argv
        self.stdout_path = os.path.join(log_dir, name + ".stdout")
        self.stderr_path = os.path.join(log_dir, name + ".stderr")
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        log("start %s: %s" % (name, " ".join(argv)))
        self.popen = subprocess.Popen(argv, stdin=stdin, stdout=self._out, stderr=self._err,
                                      env=full_env, cwd=cwd, start_new_session=True)
        self.pid = self.popen.pid
        self._cleanup = register_cleanup("process %s (%d)" % (name, self.pid), self.kill)

    def poll(self):
        return self.popen.poll()

    def running(self):
        return self.popen.poll() is None

    def wait(self, timeout):
        """Returns the exit status, or None when still running after timeout seconds."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def signal(self, sig):
        if self.popen.poll() is None:
            os.kill(self.pid, sig)

    def stop(self, timeout=5.0):
        """SIGTERM, then SIGKILL after timeout; returns the exit status."""
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            if self.wait(timeout) is None:
                log("%s (%d) ignored SIGTERM for %.0f s, killing" % (self.name, self.pid, timeout))
                self.kill()
        self._close_files()
        unregister_cleanup(self._cleanup)
        return self.popen.returncode

    def kill(self):
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(10)
        self._close_files()

    def _close_files(self):
        for f in (self._out, self._err):
            if not f.closed:
                f.close()

    def stderr(self):
        with open(self.stderr_path, "r", errors="replace") as f:
            return f.read()

    def stdout(self):
        with open(self.stdout_path, "r", errors="replace") as f:
            return f.read()

    def wait_for_stderr(self, pattern, timeout, start=0):
        """Waits until a stderr line matches pattern (a regex); returns the match or None.

        start: ignore the first `start` characters of stderr (from a previous len(stderr())).
        """
        regex = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            m = regex.search(self.stderr(), start)
            if m:
                return m
            if time.monotonic() > deadline or not self.running():
                m = regex.search(self.stderr(), start)
                return m
            time.sleep(0.2)


# --------------------------------------------------------------------------------------------
# network namespaces


def _ip(*args, check=True):
    p = subprocess.run(["ip"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if check and p.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), p.stderr.strip()))
    return p


class Netns:
    """A network namespace with a name unique to this test process, loopback up."""

    def __init__(self, name):
        self.name = name
        self.etc_dir = os.path.join("/etc/netns", name)
        _ip("netns", "add", name)
        self._cleanup = register_cleanup("netns %s" % name, self.delete)
        # No duplicate address detection: a link-local address still tentative holds up the
        # first IPv6 packets for a second, which a server measurement sees as delay.
        self.run(["sh", "-c", "for c in all default; do echo 0 > /proc/sys/net/ipv6/conf/$c/accept_dad; done"],
                 check=True)
        _ip("-n", name, "link", "set", "lo", "up")
        # Names are resolved from the hosts file only: a resolv.conf pointing at this
        # namespace's own loopback makes any DNS query fail at once, inside the namespace.
        os.makedirs(self.etc_dir, exist_ok=True)
        self.set_hosts({})
        with open(os.path.join(self.etc_dir, "resolv.conf"), "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")

    def set_hosts(self, entries):
        """entries: {"server-a.test": ["192.0.2.1", "2001:db8::1"], ...}; bind-mounted over
        /etc/hosts by `ip netns exec`."""
        lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback"]
        for name, addrs in entries.items():
            for a in ([addrs] if isinstance(addrs, str) else addrs):
                lines.append("%s %s" % (a, name))
        with open(os.path.join(self.etc_dir, "hosts"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def exec_argv(self, argv):
        return ["ip", "netns", "exec", self.name] + list(argv)

    def run(self, argv, timeout=60, env=None, check=False):
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        return subprocess.run(self.exec_argv(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=timeout, env=full_env, check=check)

    def delete(self):
        # Only processes inside this namespace, which the test started, are killed (by PID).
        p = _ip("netns", "pids", self.name, check=False)
        for pid in p.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        _ip("netns", "del", self.name, check=False)
        shutil.rmtree(self.etc_dir, ignore_errors=True)
        unregister_cleanup(self._cleanup)


class Link:
    """A veth pair between the client namespace and one server namespace."""

    def __init__(self, index, client, server):
        self.index = index
        self.client = client
        self.server = server
        self.client_ifname = "srv%d" % index
        self.server_ifname = "eth0"
        base = 4 * index
        self.server_v4 = "192.0.2.%d" % (base + 1)
        self.client_v4 = "192.0.2.%d" % (base + 2)
        self.server_v6 = "2001:db8:0:%x::1" % index
        self.client_v6 = "2001:db8:0:%x::2" % index
        _ip("link", "add", "name", self.client_ifname, "netns", client.name, "type", "veth",
            "peer", "name", self.server_ifname, "netns", server.name)
        _ip("-n", client.name, "addr", "add", self.client_v4 + "/30", "dev", self.client_ifname)
        _ip("-n", server.name, "addr", "add", self.server_v4 + "/30", "dev", self.server_ifname)
        _ip("-n", client.name, "addr", "add", self.client_v6 + "/64", "dev", self.client_ifname, "nodad")
        _ip("-n", server.name, "addr", "add", self.server_v6 + "/64", "dev", self.server_ifname, "nodad")
        _ip("-n", client.name, "link", "set", self.client_ifname, "up")
        _ip("-n", server.name, "link", "set", self.server_ifname, "up")

    def set_up(self, up):
        """Takes the server's end of the link down (its packets are lost) or up again."""
        _ip("-n", self.server.name, "link", "set", self.server_ifname, "up" if up else "down")


# --------------------------------------------------------------------------------------------
# NTP servers


class Server:
    kind = "?"

    def __init__(self, lab, link, offset, name):
        self.lab = lab
        self.link = link
        self.offset = offset
        self.name = name
        self.dir = os.path.join(lab.dir, name)
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        self.process = None

    @property
    def address(self):
        return self.link.server_v4

    @property
    def address6(self):
        return self.link.server_v6

    def start(self, wait=True):
        self.process = self.lab.start_process(self.name, self.link.server.exec_argv(NO_SYS_TIME + self.argv()),
                                              env=fake_time_env(self.offset, shim=self.lab.shim))
        if wait:
            self.wait_ready()
        return self

    def stop(self):
        if self.process:
            self.process.stop()

    def wait_ready(self, timeout=15.0):
        """Waits until the server answers from the client namespace as synchronized."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.process and not self.process.running():
                raise RuntimeError("%s exited (%s):\n%s" % (self.name, self.process.poll(), self.process.stderr()))
            last = [self.lab.probe(a, timeout=1.0) for a in (self.address, self.address6)]
            if all(p and p.get("stratum", 0) not in (0, 16) and p.get("leap") != 3 and p["delay"] < 0.01
                   for p in last):
                return last[0]
            time.sleep(0.3)
        raise RuntimeError("%s at %s not answering as synchronized after %.0f s (last %r):\n%s" %
                           (self.name, self.address, timeout, last, self.process.stderr() if self.process else ""))


class Chronyd(Server):
    kind = "chronyd"

    def config_lines(self):
        """chrony.conf; subclasses add to it."""
        return [
            "local stratum 1",
            "allow all",
            "cmdport 0",
            "bindcmdaddress %s/chronyd.sock" % self.dir,
            "driftfile %s/drift" % self.dir,
            "pidfile %s/chronyd.pid" % self.dir,
        ]

    def argv(self):
        conf = os.path.join(self.dir, "chrony.conf")
        with open(conf, "w") as f:
            f.write("\n".join(self.config_lines() + [""]))
        # -x: never touches the clock; -d: foreground, log to stderr; -u root: no switch to _chrony
        return [peers()["CHRONYD"], "-x", "-d", "-u", "root", "-f", conf]


class Ntpd(Server):
    """NTPsec's ntpd. It has no usable undisciplined local clock here (`refclock local` is
    accepted but never selected), so it serves in orphan mode: `tos orphan 1 orphanwait 0`
    makes it answer as stratum 1 (refid LOOP) about a second after it starts."""
    kind = "ntpd"

    def config_lines(self):
        """ntp.conf; subclasses add to it."""
        return [
            "tos orphan 1 orphanwait 0",
            "driftfile %s/drift" % self.dir,
            "statsdir %s/" % self.dir,
        ]

    def argv(self):
        conf = os.path.join(self.dir, "ntp.conf")
        with open(conf, "w") as f:
            f.write("\n".join(self.config_lines() + [""]))
        # -n: no fork, logs to stderr
        return [peers()["NTPD"], "-n", "-c", conf, "-p", os.path.join(self.dir, "ntpd.pid")]


class NtpsyncdServer(Server):
    """ntpsyncd itself as the server: observing only, answering as `local stratum 10` from the
    start, without a bus."""
    kind = "ntpsyncd"

    def config_lines(self):
        return ["serve on", "restrict default", "local stratum 10"]

    def argv(self):
        conf = os.path.join(self.dir, "ntpsyncd.conf")
        with open(conf, "w") as f:
            f.write("\n".join(self.config_lines() + [""]))
        return ["env", "DBUS_SYSTEM_BUS_ADDRESS=unix:path=%s/no-bus" % self.dir, require_ntpsyncd(),
                "--clock", "observe", "--config", conf, "--timesyncd-conf=", "--state-dir", self.dir]


# --------------------------------------------------------------------------------------------
# ntpsyncd


STATUS_OFFSET = re.compile(r"offset ([+-]\d+\.\d{9}) s")


class Daemon:
    """ntpsyncd running in the client namespace, with its sd_notify messages collected."""

    def __init__(self, lab, name, config, state_dir, extra_args=(), env=None, launcher=()):
        self.lab = lab
        self.name = name
        self.notify_path = os.path.join(lab.dir, name + ".notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.notify_path)
        self.sock.setblocking(False)
        self._sock_cleanup = register_cleanup("notify socket " + name, self.sock.close)
        self.messages = []  # (monotonic time, "KEY=value")
        argv = [lab.ntpsyncd, "--clock", "observe", "--config", config, NO_TIMESYNCD_CONF, "--state-dir",
                state_dir] + list(extra_args)
        # Never the machine's system bus (where it would claim org.ntpsync1): a private one when
        # the test gives its address (Lab.private_bus()), none otherwise.
        full_env = {"NOTIFY_SOCKET": self.notify_path, "SYSTEMD_LOG_LEVEL": "debug",
                    "DBUS_SYSTEM_BUS_ADDRESS": "unix:path=" + os.path.join(lab.dir, "no-system-bus")}
        if env:
            full_env.update(env)
        self.process = lab.start_process(name, lab.client.exec_argv(NO_SYS_TIME + list(launcher) + argv),
                                         env=full_env)

    def _drain(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                return
            now = time.monotonic()
            for line in data.decode(errors="replace").splitlines():
                if line:
                    self.messages.append((now, line))
                    if line.startswith("STATUS=") or line.startswith("READY="):
                        log("%s notify: %s" % (self.name, line))

    def statuses(self):
        self._drain()
        return [m[len("STATUS="):] for _, m in self.messages if m.startswith("STATUS=")]

    def wait_notify(self, predicate, timeout, since=0):
        """Waits for a notify line (after index `since` in self.messages) for which predicate is
        true; returns the line or None."""
        deadline = time.monotonic() + timeout
        while True:
            self._drain()
            for _, line in self.messages[since:]:
                if predicate(line):
                    return line
            if time.monotonic() > deadline or not self.process.running():
                self._drain()
                for _, line in self.messages[since:]:
                    if predicate(line):
                        return line
                return None
            time.sleep(0.1)

    def wait_ready(self, timeout=10.0):
        return self.wait_notify(lambda l: l == "READY=1", timeout)

    def wait_status_offset(self, timeout, since=0, pattern=None):
        """Waits for a STATUS line with an offset (and matching pattern, a regex, if given);
        returns (line, offset)."""
        def ok(line):
            return (line.startswith("STATUS=") and STATUS_OFFSET.search(line) and
                    (pattern is None or re.search(pattern, line)))
        line = self.wait_notify(ok, timeout, since)
        if not line:
            return None, None
        return line, float(STATUS_OFFSET.search(line).group(1))

    def reload(self, timeout=10.0):
        """SIGHUP, then waits until the reload is done (RELOADING=1 followed by READY=1); returns
        whether it was. The new rules apply from the packet after that."""
        self._drain()
        since = len(self.messages)
        self.process.signal(signal.SIGHUP)
        if not self.wait_notify(lambda l: l == "RELOADING=1", timeout, since):
            return False
        reloading = next(i for i in range(since, len(self.messages)) if self.messages[i][1] == "RELOADING=1")
        return self.wait_notify(lambda l: l == "READY=1", timeout, reloading + 1) is not None

    def memory_kib(self):
        """{"Rss": KiB, "Pss": KiB, ...} from /proc/PID/smaps_rollup (`ip netns exec` and setpriv
        exec the daemon: the PID is its own)."""
        result = {}
        with open("/proc/%d/smaps_rollup" % self.process.pid) as f:
            for line in f:
                m = re.match(r"^(\w+):\s+(\d+) kB", line)
                if m:
                    result[m.group(1)] = int(m.group(2))
        return result

    def thread_sanitized(self):
        """Whether this ntpsyncd was built with -Db_sanitize=thread (libtsan mapped): its shadow
        memory grows with every page the daemon touches."""
        with open("/proc/%d/maps" % self.process.pid) as f:
            return "libtsan" in f.read()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        """`with lab.daemon(...) as d:` kills it by PID at the end of the block if still running
        (whatever the block did; the lab's close() would only do it later)."""
        if self.process.running():
            self.process.kill()
        return False

    def stop(self, timeout=5.0):
        """SIGTERM; returns (exit status, seconds it took) — status None if it had to be killed."""
        t0 = time.monotonic()
        self.process.signal(signal.SIGTERM)
        rc = self.process.wait(timeout)
        took = time.monotonic() - t0
        if rc is None:
            self.process.kill()
        self.process.stop()
        self._drain()
        self.sock.close()
        unregister_cleanup(self._sock_cleanup)
        return rc, took


# --------------------------------------------------------------------------------------------
# the lab


class Lab:
    """One test's world: a temp dir, a client namespace, servers; `with Lab() as lab:`."""

    _counter = 0

    def __init__(self, tag="t", shim=True):
        require_root()
        Lab._counter += 1
        self.tag = "ns%d%s%d" % (os.getpid(), tag[:3], Lab._counter)
        self.shim = shim
        self.processes = []
        self.links = []
        self.client_links = []
        self.namespaces = []
        self.ntpsyncd = ntpsyncd_path()
        self.dir = tempfile.mkdtemp(prefix="ntpsync-it-")
        os.chmod(self.dir, 0o755)
        self._dir_cleanup = register_cleanup("temp dir " + self.dir, self._remove_dir)
        self._cleanup = register_cleanup("lab " + self.tag, self.close)
        try:
            peers()  # fail early and clearly
            self.client = self._netns("c")
        except BaseException:
            self.close()
            raise

    def _netns(self, suffix):
        ns = Netns("%s-%s" % (self.tag, suffix))
        self.namespaces.append(ns)
        return ns

    def _remove_dir(self):
        if os.environ.get("NTPSYNC_TEST_KEEP"):
            print("harness: keeping %s" % self.dir, file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None and not issubclass(exc[0], KeyboardInterrupt):
            self.dump_logs()
        self.close()
        return False

    @contextlib.contextmanager
    def closed_on_failure(self):
        """For setUpClass (a failure there skips tearDownClass): whatever the block raises, the
        processes' logs are dumped and the lab closed, then the exception goes on."""
        try:
            yield self
        except BaseException:
            self.dump_logs()
            self.close()
            raise

    def stop_and_close(self, daemon, timeout=5.0):
        """For tearDownClass: stops the daemon with SIGTERM if it still runs (printing its exit
        status and stderr when that is not 0), then closes the lab whatever happens."""
        try:
            if daemon.process.running():
                rc, _ = daemon.stop(timeout)
                if rc != 0:
                    print("%s exit status %r:\n%s" % (daemon.name, rc, daemon.process.stderr()), file=sys.stderr)
        finally:
            self.close()

    def close(self):
        for p in reversed(self.processes):
            p.kill()
        reports = self.thread_sanitizer_reports()
        self.processes = []
        for ns in reversed(self.namespaces):
            ns.delete()
        self.namespaces = []
        unregister_cleanup(self._cleanup)
        self._remove_dir()
        unregister_cleanup(self._dir_cleanup)
        if reports:
            raise AssertionError("ThreadSanitizer reports (a build with -Db_sanitize=thread):\n" + reports)

    def thread_sanitizer_reports(self, limit=6000):
        """A daemon built with -Db_sanitize=thread writes its reports to stderr and goes on: a
        test that passed all the same fails here, with the reports."""
        found = ""
        for p in self.processes:
            try:
                err = p.stderr()
            except OSError:
                continue
            if "WARNING: ThreadSanitizer" in err:
                found += "---- %s ----\n%s\n" % (p.name, err[err.index("WARNING: ThreadSanitizer"):][:limit])
        return found

    def dump_logs(self, limit=4000):
        for p in self.processes:
            try:
                err = p.stderr()
            except OSError:
                continue
            if err:
                print("---- %s stderr (last %d chars) ----\n%s" % (p.name, limit, err[-limit:]), file=sys.stderr)

    def start_process(self, name, argv, env=None):
        p = Process(name, argv, self.dir, env=env)
        self.processes.append(p)
        return p

    def add_link(self):
        index = len(self.links) + 1
        server_ns = self._netns("s%d" % index)
        link = Link(index, self.client, server_ns)
        self.links.append(link)
        return link

    def chronyd(self, offset, start=True):
        link = self.add_link()
        s = Chronyd(self, link, offset, "chronyd%d" % link.index)
        return s.start() if start else s

    def ntpd(self, offset, start=True):
        link = self.add_link()
        s = Ntpd(self, link, offset, "ntpd%d" % link.index)
        return s.start() if start else s

    def ntpsyncd_server(self, offset, start=True):
        link = self.add_link()
        s = NtpsyncdServer(self, link, offset, "ntpsyncd-server%d" % link.index)
        return s.start() if start else s

    def probe(self, address, timeout=2.0):
        """One NTP exchange from the client namespace; a dict, or None without an answer."""
        p = self.client.run([PYTHON3, os.path.abspath(__file__), "probe", address, "--timeout", str(timeout)],
                            timeout=timeout + 10)
        if p.returncode != 0:
            return None
        return json.loads(p.stdout)

    def ntpdig(self, address, timeout=10):
        """NTPsec's ntpdig from the client namespace: its JSON result (never sets the clock:
        no -s/-S, and no CAP_SYS_TIME)."""
        pr = peers()
        p = self.client.run(NO_SYS_TIME + [PYTHON3, pr["NTPDIG"], "-j", "-t", "2", address], timeout=timeout,
                            env={"PYTHONPATH": pr["NTPSEC_PYTHONPATH"]})
        if p.returncode != 0 or not p.stdout.strip():
            raise RuntimeError("ntpdig %s failed (%d): %s %s" % (address, p.returncode, p.stdout, p.stderr))
        return json.loads(p.stdout.strip().splitlines()[-1])

    def write_config(self, name, lines):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def state_dir(self, name="state"):
        path = os.path.join(self.dir, name)
        os.makedirs(path, exist_ok=True)
        return path

    def query(self, hosts, config=None, timeout=60, json_output=True, extra_args=()):
        """`ntpsyncd --query [--json] --config CONF HOST...` in the client namespace.

        Returns (exit status, parsed JSON or None, stdout, stderr)."""
        if not self.ntpsyncd:
            raise SetupError("ntpsyncd not built")
        if config is None:
            config = self.write_config("query-empty.conf", ["# no servers: the hosts come from the command line"])
        argv = [self.ntpsyncd, "--query"] + (["--json"] if json_output else []) + \
            ["--config", config, NO_TIMESYNCD_CONF, "--state-dir", self.state_dir("query-state")] + list(extra_args) + \
            list(hosts)
        log("query: " + " ".join(argv))
        t0 = time.monotonic()
        p = self.client.run(NO_SYS_TIME + argv, timeout=timeout)
        log("query exited %d after %.1f s" % (p.returncode, time.monotonic() - t0))
        data = None
        if json_output and p.stdout.strip():
            try:
                data = json.loads(p.stdout)
            except ValueError:
                data = None
        return p.returncode, data, p.stdout, p.stderr

    def daemon(self, config, state_dir=None, name="ntpsyncd", extra_args=(), env=None, launcher=()):
        """launcher: argv that runs before ntpsyncd and execs it (socket_activation())."""
        if not self.ntpsyncd:
            raise SetupError("ntpsyncd not built")
        return Daemon(self, name, config, state_dir or self.state_dir(), extra_args, env, launcher)

    def ready_daemon(self, config_lines, ready_timeout=10.0, sync_timeout=None, env=None, launcher=()):
        """Writes config_lines to ntpsyncd.conf in the lab's directory (where a test rewrites it
        for a reload), starts ntpsyncd on it and waits for READY=1 and, given sync_timeout, for
        `STATUS=Observing ...` with an offset. Returns the Daemon; raises RuntimeError with the
        daemon's stderr when either does not come in time."""
        conf = self.write_config("ntpsyncd.conf", config_lines)
        d = self.daemon(conf, env=env, launcher=launcher)
        if not d.wait_ready(ready_timeout):
            raise RuntimeError("no READY=1:\n" + d.process.stderr())
        if sync_timeout is not None:
            line, _ = d.wait_status_offset(sync_timeout, pattern=r"^STATUS=Observing ")
            if line is None:
                raise RuntimeError("not synchronized after %d s: %r\n%s" %
                                   (sync_timeout, d.statuses(), d.process.stderr()))
            log("synchronized: " + line)
        return d

    def add_client(self, net4, net6, n_addresses=1, routed_prefix=None):
        """A namespace for a client of the daemon (which runs in self.client), joined to it by a
        veth pair: see ClientLink."""
        index = len(self.client_links) + 1
        ns = self._netns("k%d" % index)
        link = ClientLink(index, self.client, ns, net4, net6, n_addresses, routed_prefix)
        self.client_links.append(link)
        return link

    def private_bus(self):
        """A dbus-daemon of our own (system-bus-like, allowing everything); stopped by PID."""
        bus = PrivateBus(self)
        self.processes.append(bus.process)
        return bus


# --------------------------------------------------------------------------------------------
# serving: clients of the daemon, raw NTP packets, a private bus


class ClientLink:
    """A namespace for a client of ntpsyncd's server side, joined to the daemon's namespace (the
    lab's `client`) by a veth pair "k<i>" (daemon side) / "eth0" (client side).

    net4 "198.51.100" puts the daemon's end at 198.51.100.1/24 and the client at .2, .3, ...
    (n_addresses of them; the first is the one used unless a test binds another); net6
    "2001:db8:c1::" does the same with ::1/64 and ::2, ... Each side routes everything else to
    the other. routed_prefix (e.g. "198.18.0.0/16", RFC 2544's benchmarking range) is routed by
    the daemon's namespace to this client, which treats the whole prefix as local (`ip route
    add local PREFIX dev lo`): a sender with IP_TRANSPARENT can use any address in it as its
    source and receives the replies (bench/ntpload -S)."""

    def __init__(self, index, daemon_ns, ns, net4, net6, n_addresses=1, routed_prefix=None):
        self.index = index
        self.ns = ns
        self.daemon_ns = daemon_ns
        self.daemon_ifname = "k%d" % index
        self.server_v4 = "%s.1" % net4
        self.server_v6 = "%s1" % net6
        self.addresses4 = ["%s.%d" % (net4, 2 + i) for i in range(n_addresses)]
        self.addresses6 = ["%s%x" % (net6, 2 + i) for i in range(n_addresses)]
        self.address4 = self.addresses4[0]
        self.address6 = self.addresses6[0]
        _ip("link", "add", "name", self.daemon_ifname, "netns", daemon_ns.name, "type", "veth",
            "peer", "name", "eth0", "netns", ns.name)
        _ip("-n", daemon_ns.name, "addr", "add", self.server_v4 + "/24", "dev", self.daemon_ifname)
        _ip("-n", daemon_ns.name, "addr", "add", self.server_v6 + "/64", "dev", self.daemon_ifname, "nodad")
        for a in self.addresses4:
            _ip("-n", ns.name, "addr", "add", a + "/24", "dev", "eth0")
        for a in self.addresses6:
            _ip("-n", ns.name, "addr", "add", a + "/64", "dev", "eth0", "nodad")
        _ip("-n", daemon_ns.name, "link", "set", self.daemon_ifname, "up")
        _ip("-n", ns.name, "link", "set", "eth0", "up")
        _ip("-n", ns.name, "route", "add", "default", "via", self.server_v4)
        _ip("-n", ns.name, "-6", "route", "add", "default", "via", self.server_v6)
        if routed_prefix:
            _ip("-n", daemon_ns.name, "route", "add", routed_prefix, "via", self.address4)
            _ip("-n", ns.name, "route", "add", "local", routed_prefix, "dev", "lo")

    def run(self, argv, **kwargs):
        return self.ns.run(argv, **kwargs)

    def exchange(self, address, packets, interval=0.0, wait=1.0, bind=None, port=123, sport=0):
        """Sends packets (bytes) to address:port from this namespace, `interval` s apart, from one
        socket (bound to `bind` if given), and collects what comes back until `wait` s after the
        last (source port `sport`, 0: any). Returns (sent, received): sent a list of send times,
        received a list of dicts
        (parse_packet() plus "t" the arrival time, "raw" the bytes, "request" the index of the
        request whose transmit timestamp is the reply's origin, or None)."""
        args = [PYTHON3, os.path.abspath(__file__), "exchange", address, "--port", str(port),
                "--interval", str(interval), "--wait", str(wait)]
        if bind:
            args += ["--bind", bind]
        if sport:
            args += ["--sport", str(sport)]
        args += [p.hex() if p else "-" for p in packets]
        p = self.ns.run(args, timeout=30 + wait + interval * len(packets))
        if p.returncode != 0:
            raise RuntimeError("exchange with %s failed (%d): %s" % (address, p.returncode, p.stderr))
        data = json.loads(p.stdout)
        origins = {}
        for i, pkt in enumerate(packets):
            if pkt and len(pkt) >= 48:
                origins.setdefault(pkt[40:48], i)
        received = []
        for r in data["received"]:
            raw = bytes.fromhex(r["hex"])
            d = parse_packet(raw)
            d["t"] = r["t"]
            d["raw"] = raw
            d["from"] = r["from"]
            d["request"] = origins.get(raw[24:32]) if len(raw) >= 48 else None
            received.append(d)
        return data["sent"], received

    def ntpdig(self, address, timeout=2):
        """NTPsec's ntpdig -j (never sets the clock: no -s/-S, no CAP_SYS_TIME). Returns (exit
        status, its JSON result or None, stdout + stderr)."""
        pr = peers()
        p = self.ns.run(NO_SYS_TIME + [PYTHON3, pr["NTPDIG"], "-j", "-t", str(timeout), address], timeout=timeout + 20,
                        env={"PYTHONPATH": pr["NTPSEC_PYTHONPATH"]})
        result = None
        for line in p.stdout.splitlines():
            if line.startswith("{"):
                result = json.loads(line)
        return p.returncode, result, p.stdout + p.stderr

    NTPDATE_LINE = re.compile(r"\s([+-]\d+\.\d+) \+/- (\d+\.\d+) .*\ss(\d+) (\S+)\s*$", re.M)

    def ntpdate(self, address, timeout=2):
        """`ntpdate -q` as Debian ships it (NTPsec's wrapper around ntpdig), or None when
        setup-peers.sh could not fetch it. Returns (exit status, {"offset", "error", "stratum",
        "leap"} or None, output)."""
        pr = peers()
        if "NTPDATE" not in pr:
            return None
        env = {"PYTHONPATH": pr["NTPSEC_PYTHONPATH"],
               "PATH": os.path.join(pr["NTPSEC_ROOT"], "usr", "bin") + ":" + os.environ.get("PATH", "/usr/bin:/bin")}
        p = self.ns.run(NO_SYS_TIME + ["sh", pr["NTPDATE"], "-q", "-t", str(timeout), address], timeout=timeout + 20,
                        env=env)
        m = self.NTPDATE_LINE.search(p.stdout)
        result = None
        if m:
            result = {"offset": float(m.group(1)), "error": float(m.group(2)), "stratum": int(m.group(3)),
                      "leap": m.group(4)}
        return p.returncode, result, p.stdout + p.stderr

    CHRONY_WRONG = re.compile(r"System clock wrong by ([+-]?\d+\.\d+) seconds")

    def chronyd_query(self, address, directory, timeout=10):
        """`chronyd -Q -t TIMEOUT 'server ADDRESS iburst'`: measures and prints the offset, never
        sets the clock (-Q, and no CAP_SYS_TIME). Returns (exit status, offset or None, output)."""
        pr = peers()
        argv = NO_SYS_TIME + [pr["CHRONYD"], "-Q", "-t", str(timeout), "-u", "root",
                              "server %s iburst" % address, "cmdport 0",
                              "pidfile %s" % os.path.join(directory, "chronyd-q%d.pid" % self.index)]
        p = self.ns.run(argv, timeout=timeout + 20)
        out = p.stdout + p.stderr
        m = self.CHRONY_WRONG.search(out)
        return p.returncode, float(m.group(1)) if m else None, out

    def probe(self, address, timeout=2.0):
        """harness.probe() from this namespace: a dict, or None without an answer."""
        p = self.ns.run([PYTHON3, os.path.abspath(__file__), "probe", address, "--timeout", str(timeout)],
                        timeout=timeout + 10)
        if p.returncode != 0:
            return None
        return json.loads(p.stdout)


def ntp_request(version=4, mode=3, poll=6, leap=0, transmit=None, stratum=0):
    """A 48-byte NTP request whose transmit timestamp is a random nonce (RFC 9109 style)."""
    req = bytearray(48)
    req[0] = (leap << 6) | ((version & 7) << 3) | (mode & 7)
    req[1] = stratum
    req[2] = poll & 0xff
    nonce = transmit if transmit is not None else os.urandom(8)
    if transmit is None and nonce == bytes(8):
        nonce = b"\x01" * 8
    req[40:48] = nonce
    return bytes(req)


def refid_text(stratum, refid):
    """The refid as ntpq/ntpdig show it: text for stratum 0 (a kiss code) and 1, a dotted quad
    (IPv4 upstream) otherwise."""
    if stratum <= 1:
        return refid.rstrip(b"\0").decode("ascii", errors="replace")
    return socket.inet_ntoa(refid)


def parse_packet(data):
    """The header fields of an NTP packet (mode 1-5) as a dict; {"length": n} only when shorter
    than 48 bytes. Mode 6/7 replies still get "mode" and "version"."""
    d = {"length": len(data)}
    if len(data) >= 1:
        d.update(leap=data[0] >> 6, version=(data[0] >> 3) & 7, mode=data[0] & 7)
    if len(data) < 48:
        return d
    first, stratum, poll, precision, rdelay, rdisp, refid = struct.unpack("!BBbbII4s", data[:16])
    d.update(stratum=stratum, poll=poll, precision=precision, root_delay=rdelay / 65536.0,
             root_dispersion=rdisp / 65536.0, refid_raw=refid, refid=refid_text(stratum, refid),
             reference=data[16:24], origin=data[24:32], receive=data[32:40], transmit=data[40:48],
             kod=refid.rstrip(b"\0").decode("ascii", errors="replace") if stratum == 0 else None)
    return d


BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""


class PrivateBus:
    """A dbus-daemon with a system-bus-like configuration that allows everything, listening on a
    socket in the lab's directory (reachable from every namespace: it is a path). Callers are
    root, whom ntpsyncd lets through without polkit. Give the daemon
    env={"DBUS_SYSTEM_BUS_ADDRESS": bus.address}; busctl(...) calls it."""

    def __init__(self, lab):
        dbus_daemon = shutil.which("dbus-daemon")
        if not dbus_daemon:
            raise SetupError("no dbus-daemon (package dbus)")
        self.socket_path = os.path.join(lab.dir, "bus.socket")
        config = os.path.join(lab.dir, "bus.conf")
        with open(config, "w") as f:
            f.write(BUS_CONFIG % self.socket_path)
        self.address = "unix:path=" + self.socket_path
        self.process = Process("dbus-daemon", [dbus_daemon, "--config-file=" + config, "--nofork", "--nopidfile"],
                               lab.dir)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.socket_path):
            if time.monotonic() > deadline or not self.process.running():
                raise RuntimeError("dbus-daemon did not start:\n" + self.process.stderr())
            time.sleep(0.05)

    def busctl(self, *args, timeout=30):
        """busctl --address=... ARGS: the CompletedProcess."""
        return subprocess.run(["busctl", "--address=" + self.address] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout)

    def wait_for_name(self, name, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            p = self.busctl("--json=short", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                            "org.freedesktop.DBus", "NameHasOwner", "s", name)
            if p.returncode == 0 and "true" in p.stdout:
                return True
            time.sleep(0.1)
        return False


# --------------------------------------------------------------------------------------------
# systemd socket activation without systemd

SOCKET_ACTIVATE = """
import os, socket, sys
host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, port))
s.listen(64)
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES=name)
os.execv(sys.argv[4], sys.argv[4:])
"""


def socket_activation(host, port, name):
    """A launcher (Lab.daemon(launcher=...)) that passes the program a listening TCP socket on
    host:port as systemd passes a socket unit's: fd 3, LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES.
    It binds in the namespace the daemon runs in, and execs: the PID stays the daemon's."""
    return [PYTHON3, "-c", SOCKET_ACTIVATE, host, str(port), name]


# --------------------------------------------------------------------------------------------
# helpers for the unittest scripts


def main_unittest():
    """unittest.main() with the skip/setup conventions: not root → exit 77; missing component →
    a clear failure."""
    import unittest
    require_root()
    try:
        peers()
        shim_path()
    except SetupError as e:
        print("SETUP FAILED: %s" % e, file=sys.stderr)
        sys.exit(1)
    try:
        unittest.main(verbosity=2)
    finally:
        run_cleanups()


def find_source(data, host=None, address=None):
    for s in data.get("sources", []):
        if (host is None or s.get("host") == host) and (address is None or s.get("address") == address):
            return s
    return None


# --------------------------------------------------------------------------------------------
# helper commands (run inside a namespace)


def _ntp_to_unix(b):
    sec, frac = struct.unpack("!II", b)
    return sec - NTP_EPOCH_OFFSET + frac / 2.0**32


def probe(address, timeout):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    req = bytearray(48)
    req[0] = (0 << 6) | (4 << 3) | 3  # LI 0, version 4, mode 3 (client)
    nonce = os.urandom(8)
    req[40:48] = nonce  # a random transmit timestamp (RFC 9109 style), echoed as the origin
    t1 = time.time()
    s.sendto(bytes(req), (address, 123))
    while True:
        data, _ = s.recvfrom(1024)
        t4 = time.time()
        if len(data) >= 48 and data[24:32] == nonce:
            break
    first, stratum, poll, precision, rdelay, rdisp, refid = struct.unpack("!BBbbII4s", data[:16])
    t2 = _ntp_to_unix(data[32:40])
    t3 = _ntp_to_unix(data[40:48])
    return {
        "leap": first >> 6, "version": (first >> 3) & 7, "mode": first & 7, "stratum": stratum,
        "refid": refid.hex() if stratum > 1 or stratum == 0 else refid.rstrip(b"\0").decode(errors="replace"),
        "root_delay": rdelay / 65536.0, "root_dispersion": rdisp / 65536.0,
        "offset": ((t2 - t1) + (t3 - t4)) / 2, "delay": (t4 - t1) - (t3 - t2),
    }


def exchange(argv):
    """harness.py exchange ADDRESS [--port P] [--interval S] [--wait S] [--bind ADDR] [--sport P] HEX...:
    sends each HEX datagram ("-": an empty one) and prints {"sent": [times], "received":
    [{"t", "hex", "from"}]} (times relative to the first send, on the monotonic clock)."""
    import argparse
    ap = argparse.ArgumentParser(prog="harness.py exchange")
    ap.add_argument("address")
    ap.add_argument("--port", type=int, default=123)
    ap.add_argument("--interval", type=float, default=0.0)
    ap.add_argument("--wait", type=float, default=1.0)
    ap.add_argument("--bind")
    ap.add_argument("--sport", type=int, default=0)
    ap.add_argument("packets", nargs="*")
    a = ap.parse_intermixed_args(argv)
    family = socket.AF_INET6 if ":" in a.address else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    if a.bind or a.sport:
        s.bind((a.bind or ("::" if family == socket.AF_INET6 else "0.0.0.0"), a.sport))
    s.setblocking(False)
    import select
    t0 = time.monotonic()
    sent, received = [], []

    def collect(until):
        while True:
            left = until - time.monotonic()
            r, _, _ = select.select([s], [], [], max(0.0, left))
            if r:
                try:
                    data, peer = s.recvfrom(65536)
                except BlockingIOError:
                    continue
                received.append({"t": time.monotonic() - t0, "hex": data.hex(), "from": peer[0]})
            elif left <= 0:
                return

    for i, h in enumerate(a.packets):
        if i > 0 and a.interval > 0:
            collect(t0 + sent[-1] + a.interval)
        sent.append(time.monotonic() - t0)
        s.sendto(b"" if h == "-" else bytes.fromhex(h), (a.address, a.port))
    collect(time.monotonic() + a.wait)
    print(json.dumps({"sent": sent, "received": received}))
    return 0


def _main(argv):
    if len(argv) >= 1 and argv[0] == "exchange":
        return exchange(argv[1:])
    if len(argv) >= 2 and argv[0] == "probe":
        timeout = 2.0
        if "--timeout" in argv:
            timeout = float(argv[argv.index("--timeout") + 1])
        try:
            print(json.dumps(probe(argv[1], timeout)))
        except (socket.timeout, OSError) as e:
            print("probe %s: %s" % (argv[1], e), file=sys.stderr)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
