#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Untrusted input on disk: garbage drift files (the daemon starts anyway and warns, naming the
file), bad configuration files (refused with FILE:LINE), and a drift file that is a symlink (never
written through)."""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TOL = harness.TOLERANCE

BAD_DRIFT = {
        "empty": "",
        "garbage": "garbage\n",
        "nan": "nan\n",
        "inf": "inf\n",
        "huge": "1e6\n",
        "too-negative": "-600\n",
        "trailing-junk": "12.5 ppm\n",
        "binary": "\x00\x01\x02\n",
        "long": "1" * 5000 + "\n",
}


class TestBadDrift(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_ntpsyncd()
        cls.lab = harness.Lab("bdi")
        with cls.lab.closed_on_failure():
            cls.server = cls.lab.chronyd(0.05)

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def start(self, name, drift_text=None, drift_setup=None):
        state = self.lab.state_dir("state-" + name)
        drift = os.path.join(state, "drift")
        if drift_text is not None:
            with open(drift, "w") as f:
                f.write(drift_text)
        if drift_setup:
            drift_setup(drift)
        conf = self.lab.write_config(name + ".conf", ["server %s iburst" % self.server.address])
        return self.lab.daemon(conf, state, name="ntpsyncd-" + name), drift

    def test_garbage_drift_files(self):
        daemons = {}
        try:
            # All at once: each only has to start, warn and stop.
            for name, text in BAD_DRIFT.items():
                daemons[name] = self.start(name, text)
            good, good_drift = self.start("good", "12.500\n")
            for name, (d, drift) in daemons.items():
                with self.subTest(drift=name):
                    self.assertIsNotNone(d.wait_ready(10), "no READY=1 with drift file %r:\n%s" %
                                         (BAD_DRIFT[name], d.process.stderr()))
                    m = d.process.wait_for_stderr(r"^.*drift.*$", 5)
                    self.assertIsNotNone(m, "no warning about the drift file %r:\n%s" %
                                         (BAD_DRIFT[name], d.process.stderr()))
                    self.assertIn(drift, d.process.stderr(), "the warning must name the file")
                    self.assertTrue(d.process.running())
            self.assertIsNotNone(good.wait_ready(10), good.process.stderr())
            # A drift file in order draws no warning (the check above is not just any output).
            good.wait_notify(lambda l: False, 1)
            self.assertNotIn("drift", good.process.stderr())
            for name, (d, drift) in list(daemons.items()) + [("good", (good, good_drift))]:
                with self.subTest(stop=name):
                    rc, took = d.stop(5)
                    self.assertEqual(rc, 0, "exit status after SIGTERM:\n" + d.process.stderr())
        finally:
            for d, _ in list(daemons.values()):
                if d.process.running():
                    d.process.kill()

    def test_drift_symlink_not_written_through(self):
        target = os.path.join(self.lab.dir, "precious-file")
        with open(target, "w") as f:
            f.write("12.500\n")
        os.utime(target, (1000000000, 1000000000))
        before = os.stat(target)

        d, drift = self.start("symlink", drift_setup=lambda p: os.symlink(target, p))
        with d:
            self.assertIsNotNone(d.wait_ready(10), d.process.stderr())
            line, offset = d.wait_status_offset(60)
            self.assertIsNotNone(line, "never synchronized: %r\n%s" % (d.statuses(), d.process.stderr()))
            rc, _ = d.stop(5)
            self.assertEqual(rc, 0, d.process.stderr())
        after = os.stat(target)
        with open(target) as f:
            self.assertEqual(f.read(), "12.500\n", "written through the symlink")
        self.assertEqual((after.st_mtime, after.st_size, after.st_ino), (before.st_mtime, before.st_size, before.st_ino))
        # Whatever it did instead (replace the link, or leave it), the link does not point
        # anywhere new.
        if os.path.islink(drift):
            self.assertEqual(os.readlink(drift), target)


class TestBadConfig(unittest.TestCase):
    """`ntpsyncd --check-config --config FILE` (and the daemon itself) refuse a bad file whole."""

    CASES = {
        # name: (lines, number of the bad line)
        "unknown-directive": (["server 192.0.2.1 iburst", "", "frobnicate yes"], 3),
        "server-without-host": (["# comment", "server"], 2),
        "bad-minpoll": (["server 192.0.2.1 minpoll abc"], 1),
        "minpoll-out-of-range": (["server 192.0.2.1 minpoll 99"], 1),
        "unknown-server-option": (["server 192.0.2.1 iburst", "server 192.0.2.2 sparkle"], 2),
        "bad-tinker": (["tinker step banana"], 1),
        "unsupported-tinker": (["tinker allan 1500"], 1),
        "relative-driftfile": (["driftfile relative/drift"], 1),
        "bad-restrict": (["restrict 192.0.2.0 mask 255.255.0.255 nomodify"], 1),
        "bad-minsane": (["tos minsane -1"], 1),
        "nul-byte": (["server 192.0.2.1", "server 192.0.2.2\0 iburst"], 2),
    }

    @classmethod
    def setUpClass(cls):
        cls.ntpsyncd = harness.require_ntpsyncd()
        cls.lab = harness.Lab("bcf")

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def check_config(self, path):
        p = self.lab.client.run(harness.NO_SYS_TIME + [self.ntpsyncd, "--check-config", "--config", path, harness.NO_TIMESYNCD_CONF], timeout=20)
        return p.returncode, p.stdout, p.stderr

    def test_good_config(self):
        path = self.lab.write_config("good.conf", [
            "# a comment",
            "server 192.0.2.1 iburst prefer",
            "server 2001:db8::1 minpoll 4 maxpoll 8",
            "pool pool.example.test iburst maxsources 3",
            "restrict default kod nomodify notrap nopeer noquery",
            "restrict 192.0.2.0 mask 255.255.255.0 nomodify",
            "driftfile /var/lib/ntpsyncd/drift",
            "tinker step 0.5 panic 0 stepout 60",
            "tos minsane 1",
        ])
        rc, out, err = self.check_config(path)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("192.0.2.1", out)

    def test_bad_configs(self):
        for name, (lines, bad_line) in self.CASES.items():
            with self.subTest(config=name):
                path = self.lab.write_config(name + ".conf", lines)
                rc, out, err = self.check_config(path)
                self.assertNotEqual(rc, 0, "accepted: %r\n%s%s" % (lines, out, err))
                self.assertRegex(out + err, r"(^|\n)%s:%d: \S" % (re.escape(path), bad_line))

    def test_bad_dropin(self):
        main = self.lab.write_config("with-dropin.conf", ["server 192.0.2.1 iburst"])
        os.makedirs(main + ".d", exist_ok=True)
        dropin = os.path.join(main + ".d", "50-bad.conf")
        with open(dropin, "w") as f:
            f.write("# drop-in\n\nserver 192.0.2.2 minpoll\n")
        rc, out, err = self.check_config(main)
        self.assertNotEqual(rc, 0, out + err)
        self.assertRegex(out + err, r"(^|\n)%s:3: \S" % re.escape(dropin))

    def test_daemon_refuses_bad_config(self):
        path = self.lab.write_config("daemon-bad.conf", ["server 192.0.2.1 iburst", "server 192.0.2.2 maxpoll x"])
        d = self.lab.daemon(path, self.lab.state_dir("state-bad-config"), name="ntpsyncd-bad-config")
        rc = d.process.wait(10)
        self.assertIsNotNone(rc, "still running with a bad configuration")
        self.assertNotEqual(rc, 0)
        self.assertIsNone(d.wait_notify(lambda l: l == "READY=1", 0), "READY=1 with a bad configuration")
        self.assertRegex(d.process.stderr(), r"(^|\n)%s:2: \S" % re.escape(path))
        d.stop(1)


if __name__ == "__main__":
    harness.main_unittest()
