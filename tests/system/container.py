# SPDX-License-Identifier: LGPL-2.1-or-later
"""The booted Debian 12 system that the system tests share: the cached image (image.sh), a copy of
it with ntpsync installed by `meson install --destdir`, booted with `systemd-nspawn -b
--register=no` in a network namespace of the test; commands run inside with nsenter."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402

# A clean environment for commands in the container: nothing of the test's (a private bus
# address, LD_PRELOAD, ...) may leak in.
CONTAINER_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
                 "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0", "TERM": "dumb"}


def fail_setup(message):
    raise harness.SetupError(message)


class Container:
    """A copy of the cached image with ntpsync installed, booted in the lab's client namespace."""

    def __init__(self, lab, image, build_root):
        self.lab = lab
        self.name = "ntpsync-%d" % os.getpid()
        self.dir = tempfile.mkdtemp(prefix="ntpsync-system-", dir="/var/tmp")
        self.root = os.path.join(self.dir, "root")
        self.nspawn = None
        self.leader = None
        self._cleanup = harness.register_cleanup("container " + self.name, self.stop)
        subprocess.run(["cp", "-a", "--reflink=auto", image, self.root], check=True)
        p = subprocess.run(["meson", "install", "-C", build_root, "--destdir", self.root, "--no-rebuild", "--quiet"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        if p.returncode != 0:
            fail_setup("meson install --destdir failed:\n" + p.stdout)

    def write(self, path, text, mode=0o644):
        full = os.path.join(self.root, path.lstrip("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
        os.chmod(full, mode)

    def read(self, path):
        with open(os.path.join(self.root, path.lstrip("/")), "rb") as f:
            return f.read()

    def boot(self, netns, timeout=60):
        self.log_path = os.path.join(self.dir, "console.log")
        log = open(self.log_path, "w")
        self.nspawn = subprocess.Popen(
            ["systemd-nspawn", "--quiet", "-D", self.root, "-b", "--register=no", "--keep-unit",
             "-M", self.name, "--network-namespace-path=/run/netns/" + netns, "--console=read-only",
             # nftables in the test's own network namespace, for the firewall helper; never CAP_SYS_TIME
             "--capability=CAP_NET_ADMIN"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.leader is None:
            if self.nspawn.poll() is not None:
                fail_setup("systemd-nspawn exited (%s):\n%s" % (self.nspawn.returncode, self.console()))
            self.leader = self._find_leader()
            time.sleep(0.2)
        if self.leader is None:
            fail_setup("no init process in the container after %d s:\n%s" % (timeout, self.console()))
        state = ""
        while time.monotonic() < deadline:
            p = self.run(["systemctl", "is-system-running"], check=False)
            state = p.stdout.strip()
            if state in ("running", "degraded"):
                break
            time.sleep(0.5)
        if state not in ("running", "degraded"):
            fail_setup("the container did not finish booting (%r):\n%s" % (state, self.console()))
        harness.log("container %s booted (%s), init PID %d on the host" % (self.name, state, self.leader))
        return state

    def _find_leader(self):
        """The container's PID 1: the process under systemd-nspawn that is PID 1 in its own
        PID namespace."""
        for pid in self._descendants(self.nspawn.pid):
            try:
                with open("/proc/%d/status" % pid) as f:
                    for line in f:
                        if line.startswith("NSpid:") and line.split()[-1] == "1" and len(line.split()) > 2:
                            return pid
            except OSError:
                continue
        return None

    @staticmethod
    def _descendants(pid):
        children = []
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                children = [int(c) for c in f.read().split()]
        except OSError:
            pass
        out = []
        for c in children:
            out.append(c)
            out.extend(Container._descendants(c))
        return out

    def console(self, limit=6000):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-limit:]
        except OSError:
            return ""

    def run(self, argv, user=None, check=True, timeout=60):
        if user:
            argv = ["setpriv", "--reuid", user, "--regid", user, "--init-groups"] + list(argv)
        p = subprocess.run(["nsenter", "-t", str(self.leader), "-a"] + list(argv), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout, env=CONTAINER_ENV)
        if check and p.returncode != 0:
            raise AssertionError("in the container: %s → exit %d\nstdout: %s\nstderr: %s" %
                                 (" ".join(argv), p.returncode, p.stdout, p.stderr))
        return p

    def show(self, unit, *props):
        p = self.run(["systemctl", "show", unit, "-p", ",".join(props)])
        return dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)

    def state(self, unit):
        return self.show(unit, "ActiveState")["ActiveState"]

    def wait_for(self, what, predicate, timeout=30, interval=0.3):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = predicate()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError("timed out after %d s waiting for %s (last: %r)" % (timeout, what, last))

    def journal(self, unit, since_cursor=None):
        argv = ["journalctl", "-u", unit, "-o", "cat", "--no-pager"]
        if since_cursor:
            argv += ["--after-cursor", since_cursor]
        return self.run(argv, check=False).stdout

    def stop(self):
        """Powers the container off (SIGTERM to systemd-nspawn), then kills what is left, by PID."""
        if self.nspawn and self.nspawn.poll() is None:
            self.nspawn.send_signal(signal.SIGTERM)
            try:
                self.nspawn.wait(timeout=20)
            except subprocess.TimeoutExpired:
                if self.leader:
                    try:
                        os.kill(self.leader, signal.SIGKILL)  # PID 1 of its namespace: all go
                    except ProcessLookupError:
                        pass
                self.nspawn.kill()
                self.nspawn.wait(timeout=10)
        if self.nspawn:
            harness.unregister_cleanup(self._cleanup)
        if os.environ.get("NTPSYNC_TEST_KEEP"):
            print("test-system: keeping %s" % self.dir, file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        self.nspawn = None


@contextlib.contextmanager
def torn_down_on_failure(test_class):
    """For the body of setUpClass, whose failure unittest does not follow with tearDownClass: on
    any failure the container's console is printed and all made so far is taken down."""
    try:
        yield
    except BaseException:
        container = getattr(test_class, "container", None)
        if container:
            print("---- container console ----\n" + container.console(), file=sys.stderr)
        test_class.tearDownClass()
        raise


def prepare(tools=()):
    """Checks what a booted-system test needs and returns (image, build_root); exits with SKIP
    when this build cannot be installed into a Debian system."""
    harness.require_root()
    for tool in ("systemd-nspawn", "nsenter", "debootstrap", "meson") + tuple(tools):
        if not shutil.which(tool):
            fail_setup("%s is not installed (tools/install-deps.sh installs it)" % tool)
    build_root = os.environ.get("NTPSYNC_BUILD_ROOT")
    if not build_root:
        fail_setup("NTPSYNC_BUILD_ROOT is not set (meson test sets it)")
    if os.environ.get("NTPSYNC_PREFIX") != "/usr":
        print("SKIP: this build's prefix is %s; the booted-system test installs into a Debian system and "
              "needs --prefix=/usr (tests/run-all.sh configures it)" % os.environ.get("NTPSYNC_PREFIX"),
              file=sys.stderr)
        sys.exit(harness.SKIP)
    p = subprocess.run(["bash", os.path.join(HERE, "image.sh")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=900)
    if p.returncode != 0:
        fail_setup("tests/system/image.sh failed:\n" + p.stderr)
    return p.stdout.strip().splitlines()[-1], build_root
