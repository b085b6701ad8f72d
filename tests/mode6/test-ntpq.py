#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""NTPsec's ntpq against src/core/mode6.

tests/mode6/mode6-responder answers mode 6 with mode6_handle() over a fixed view of three
associations; this script runs the real ntpq against it and checks what ntpq shows for `ntpq -p`,
`ntpq -c rv`, `ntpq -c as`, `ntpq -c "rv 101"` and a few refused or odd requests.

ntpq only talks to port 123, so both run inside a network namespace this test creates and
deletes (loopback only; nothing leaves the machine). NTPsec is the copy that
tests/integration/setup-peers.sh unpacks (never installed). Needs root: exit 77 (skipped)
otherwise. Environment: MODE6_RESPONDER (set by meson), NTPSYNC_TEST_CACHE (optional).
"""

import os
import re
import select
import signal
import subprocess
import sys
import unittest

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
SETUP_PEERS = os.path.join(HERE, "..", "integration", "setup-peers.sh")
NAMESPACE = "ntpsync-mode6-%d" % os.getpid()

ntpq = None          # path of NTPsec's ntpq
ntpsec_path = None   # PYTHONPATH for its ntp package
responder = None     # subprocess.Popen
namespace_created = False


class SetupError(RuntimeError):
    pass


def find_ntpsec():
    """Returns (ntpq, pythonpath): the cached copy if complete, else what setup-peers.sh fetches."""
    root = os.path.join(os.environ.get("NTPSYNC_TEST_CACHE", "/var/cache/ntpsync-test"), "ntpsec")
    tool = os.path.join(root, "usr/bin/ntpq")
    pythonpath = os.path.join(root, "usr/lib/python3/dist-packages")
    if os.path.exists(os.path.join(root, ".complete")) and os.path.exists(tool) and \
            os.path.exists(os.path.join(pythonpath, "ntp", "libntpc.so")):
        return tool, pythonpath
    p = subprocess.run(["bash", SETUP_PEERS], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=600)
    values = dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)
    if p.returncode != 0 or "NTPQ" not in values:
        raise SetupError("NTPsec's ntpq is not available: setup-peers.sh said: %s" % p.stderr.strip())
    return values["NTPQ"], values["NTPSEC_PYTHONPATH"]


def ip(*args):
    subprocess.run(["ip"] + list(args), check=True, timeout=30)


def start_responder():
    global responder
    responder = subprocess.Popen(["ip", "netns", "exec", NAMESPACE, os.environ["MODE6_RESPONDER"], "123"],
                                 stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([responder.stdout], [], [], 10)
    if not ready or responder.stdout.readline().strip() != "ready":
        raise SetupError("mode6-responder did not start")


def cleanup():
    """Stops the responder (by its PID; `ip netns exec` runs it in place) and deletes the namespace."""
    global responder, namespace_created
    if responder is not None:
        responder.terminate()
        try:
            responder.wait(timeout=5)
        except subprocess.TimeoutExpired:
            responder.kill()
            responder.wait()
        responder.stdout.close()
        responder = None
    if namespace_created:
        subprocess.run(["ip", "netns", "delete", NAMESPACE], check=False, timeout=30)
        namespace_created = False


def on_signal(signum, frame):
    cleanup()
    sys.exit(128 + signum)


def setUpModule():
    global ntpq, ntpsec_path, namespace_created
    ntpq, ntpsec_path = find_ntpsec()
    ip("netns", "add", NAMESPACE)
    namespace_created = True
    ip("-n", NAMESPACE, "link", "set", "lo", "up")
    start_responder()


def tearDownModule():
    cleanup()


def run_ntpq(*args):
    """Runs ntpq -n ARGS 127.0.0.1 in the namespace; returns its output (stdout + stderr)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": ntpsec_path,
           "PYTHONDONTWRITEBYTECODE": "1", "LC_ALL": "C.UTF-8"}
    p = subprocess.run(["ip", "netns", "exec", NAMESPACE, "/usr/bin/python3", ntpq, "-n"] + list(args) +
                       ["127.0.0.1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       env=env, timeout=60)
    sys.stderr.write("$ ntpq -n %s 127.0.0.1\n%s" % (" ".join(args), p.stdout))
    if p.returncode != 0:
        raise AssertionError("ntpq %s exited with %d" % (" ".join(args), p.returncode))
    return p.stdout


def table_rows(output):
    """The lines after the ==== rule of ntpq's tables."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("===="):
            return [l for l in lines[i + 1:] if l.strip()]
    raise AssertionError("no table in:\n" + output)


def cooked_variables(output):
    """name=value pairs of ntpq's cooked rv output (values may hold spaces, but not ", ")."""
    text = " ".join(output.splitlines()[1:])
    return dict(m.groups() for m in re.finditer(r"([a-z_]+)=(.*?)(?:, |,\s*$|\s*$)", text))


class Peers(unittest.TestCase):
    COLUMNS = ("remote", "refid", "st", "t", "when", "poll", "reach", "delay", "offset", "jitter")

    def check_peers(self, output):
        rows = {}
        for line in table_rows(output):
            fields = dict(zip(self.COLUMNS, line[1:].split()))
            fields["tally"] = line[0]
            rows[fields["remote"]] = fields
        self.assertEqual(sorted(rows), ["192.0.2.1", "192.0.2.2", "2001:db8::3"])

        peer = rows["192.0.2.1"]
        self.assertEqual((peer["tally"], peer["refid"], peer["st"], peer["t"], peer["poll"], peer["reach"]),
                         ("*", ".GPS.", "1", "u", "64", "377"))
        self.assertEqual((peer["delay"], peer["offset"], peer["jitter"]), ("25.432", "1.234", "0.123"))
        self.assertTrue(37 <= int(peer["when"]) <= 45, peer["when"])

        candidate = rows["192.0.2.2"]
        self.assertEqual((candidate["tally"], candidate["refid"], candidate["st"], candidate["t"],
                          candidate["poll"], candidate["reach"]),
                         ("+", "192.0.2.200", "2", "u", "1024", "177"))
        self.assertEqual((candidate["delay"], candidate["offset"], candidate["jitter"]),
                         ("48.100", "-2.500", "0.456"))
        self.assertTrue(300 <= int(candidate["when"]) <= 308, candidate["when"])

        never = rows["2001:db8::3"]
        self.assertEqual((never["tally"], never["refid"], never["st"], never["t"], never["when"],
                          never["poll"], never["reach"]),
                         (" ", ".INIT.", "16", "u", "-", "64", "0"))

    def test_dash_p(self):
        self.check_peers(run_ntpq("-p"))

    def test_peers_command(self):
        self.check_peers(run_ntpq("-c", "peers"))

    def test_apeers_shows_association_ids(self):
        rows = [line[1:].split() for line in table_rows(run_ntpq("-c", "apeers"))]
        self.assertEqual([(r[0], r[2]) for r in rows],
                         [("192.0.2.1", "101"), ("192.0.2.2", "102"), ("2001:db8::3", "103")])


class SystemVariables(unittest.TestCase):
    def test_rv(self):
        output = run_ntpq("-c", "rv")
        self.assertRegex(output.splitlines()[0], r"^associd=0 status=0600 leap_none, sync_ntp,")
        v = cooked_variables(output)
        expected = {
            "version": '"ntpsyncd 0.1"', "leap": "00", "stratum": "2", "precision": "-23",
            "rootdelay": "25.432", "rootdisp": "1.5", "refid": "192.0.2.1", "peer": "101",
            "tc": "6", "mintc": "3", "offset": "1.234567", "frequency": "-12.345",
            "sys_jitter": "0.123", "clk_jitter": "0.045", "clk_wander": "0.002",
        }
        for name, value in expected.items():
            self.assertEqual(v.get(name), value, name)
        self.assertRegex(v["reftime"], r"^[0-9a-f]{8}\.[0-9a-f]{8} \d{4}-\d\d-\d\dT")
        self.assertRegex(v["clock"], r"^[0-9a-f]{8}\.[0-9a-f]{8} \d{4}-\d\d-\d\dT")

    def test_rv_selected(self):
        self.assertEqual(run_ntpq("-c", "rv 0 stratum offset refid").strip(),
                         "stratum=2, offset=1.234567, refid=192.0.2.1")

    def test_rv_unknown_variable(self):
        self.assertIn("***Server error code UNKNOWNVAR", run_ntpq("-c", "rv 0 nosuchvariable"))

    def test_sysinfo(self):
        output = run_ntpq("-c", "sysinfo")
        self.assertRegex(output, r"system peer: +192\.0\.2\.1:123")
        self.assertRegex(output, r"system peer mode: +client")
        self.assertRegex(output, r"stratum: +2")
        self.assertRegex(output, r"reference ID: +192\.0\.2\.1")


class Associations(unittest.TestCase):
    def test_as(self):
        rows = [line.split() for line in table_rows(run_ntpq("-c", "as"))]
        self.assertEqual([r[:8] for r in rows], [
            ["1", "101", "9600", "yes", "yes", "none", "sys.peer", "0"],
            ["2", "102", "9400", "yes", "yes", "none", "candidate", "0"],
            ["3", "103", "8000", "yes", "no", "none", "reject", "0"],
        ])

    def test_rv_association(self):
        output = run_ntpq("-c", "rv 101")
        self.assertRegex(output.splitlines()[0], r"^associd=101 status=9600 conf, reach, sel_sys.peer,")
        v = cooked_variables(output)
        expected = {
            "srcadr": "192.0.2.1", "srcport": "123", "dstadr": "127.0.0.1", "dstport": "123",
            "leap": "00", "stratum": "1", "precision": "-20", "refid": "GPS", "reach": "377",
            "unreach": "0", "hmode": "3", "pmode": "4", "hpoll": "6", "ppoll": "6",
            "flash": "00 ok", "keyid": "0", "offset": "1.234", "delay": "25.432",
            "dispersion": "0.95", "jitter": "0.123", "rootdisp": "0.5",
        }
        for name, value in expected.items():
            self.assertEqual(v.get(name), value, name)
        for name in ("reftime", "rec", "xmt"):
            self.assertRegex(v[name], r"^[0-9a-f]{8}\.[0-9a-f]{8} ", name)

    def test_rv_association_with_host_name(self):
        v = cooked_variables(run_ntpq("-c", "rv 103"))
        self.assertEqual(v.get("srcadr"), "2001:db8::3")
        self.assertEqual(v.get("srchost"), '"ntp3.example.org"')
        self.assertEqual(v.get("refid"), "INIT")
        self.assertEqual(v.get("reach"), "000")

    def test_rv_association_selected(self):
        self.assertEqual(run_ntpq("-c", "rv 102 reach,offset,refid").strip(),
                         "reach=177, offset=-2.5, refid=192.0.2.200")


class Refused(unittest.TestCase):
    def test_mrulist(self):
        self.assertIn("***Server error code PERMISSION", run_ntpq("-c", "mrulist"))

    def test_clock_variables(self):
        # No reference clocks: no association has clock variables.
        self.assertIn("***Server error code BADASSOC", run_ntpq("-c", "cv 101"))


def main():
    if os.geteuid() != 0:
        print("test-ntpq: needs root (network namespaces), skipped", file=sys.stderr)
        sys.exit(SKIP)
    if not os.environ.get("MODE6_RESPONDER"):
        print("test-ntpq: MODE6_RESPONDER is not set (run it through meson test)", file=sys.stderr)
        sys.exit(1)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        unittest.main(verbosity=2)
    finally:
        cleanup()


if __name__ == "__main__":
    main()
