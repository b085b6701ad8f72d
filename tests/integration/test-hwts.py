#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hardware timestamping (`hwtimestamp IFACE|*`) where there is none, as on veth and loopback:

  - the daemon's discovery (hwts-probe, which calls src/daemon/hwts.c) finds for lo and a veth
    exactly what `ethtool -T` reports: capabilities, PHC, transmit modes, receive filters;
  - ntpsyncd with `hwtimestamp *` logs the fallback for each interface, an interface named but
    missing, and an interface that appears later (netwatch), and still measures a chronyd peer
    over veth with the right offset."""

import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TOL = harness.TOLERANCE
SYNC_TIMEOUT = 60

# ethtool's names of the SOF_TIMESTAMPING_* bits (linux/net_tstamp.h) and of the HWTSTAMP_TX_* and
# HWTSTAMP_FILTER_* values (their bit numbers in tx_types and rx_filters).
CAPABILITY_BITS = {
    "hardware-transmit": 0, "software-transmit": 1, "hardware-receive": 2, "software-receive": 3,
    "software-system-clock": 4, "hardware-legacy-clock": 5, "hardware-raw-clock": 6,
}
TX_BITS = {"off": 0, "on": 1, "one-step-sync": 2, "one-step-p2p": 3}
RX_BITS = {"none": 0, "all": 1, "some": 2, "ptpv1-l4-event": 3, "ptpv1-l4-sync": 4, "ptpv1-l4-delay-req": 5,
           "ptpv2-l4-event": 6, "ptpv2-l4-sync": 7, "ptpv2-l4-delay-req": 8, "ptpv2-l2-event": 9,
           "ptpv2-l2-sync": 10, "ptpv2-l2-delay-req": 11, "ptpv2-event": 12, "ptpv2-sync": 13,
           "ptpv2-delay-req": 14, "ntp-all": 15}


def parse_ethtool(text):
    """`ethtool -T IFACE` as the probe's numbers: {"so_timestamping", "phc", "tx_types", "rx_filters"}."""
    result = {"so_timestamping": 0, "phc": None, "tx_types": 0, "rx_filters": 0}
    section = None
    for line in text.splitlines():
        if line.startswith("Capabilities:"):
            section = "so_timestamping"
        elif line.startswith("PTP Hardware Clock:"):
            value = line.split(":", 1)[1].strip()
            result["phc"] = -1 if value == "none" else int(value)
            section = None
        elif line.startswith("Hardware Transmit Timestamp Modes:"):
            section = "tx_types"
        elif line.startswith("Hardware Receive Filter Modes:"):
            section = "rx_filters"
        elif section and line.startswith(("\t", " ")):
            name = line.strip().split()[0]
            table = {"so_timestamping": CAPABILITY_BITS, "tx_types": TX_BITS, "rx_filters": RX_BITS}[section]
            result[section] |= 1 << table[name]
        # "Hardware Transmit Timestamp Modes: none" keeps 0: no tab-indented names follow.
    return result


def parse_probe(line):
    name, *fields = line.split()
    values = dict(f.split("=", 1) for f in fields)
    return name, values


class TestHardwareTimestamping(unittest.TestCase):
    def setUp(self):
        harness.require_ntpsyncd()
        if not shutil.which("ethtool"):
            self.fail("ethtool is not installed (tools/install-deps.sh installs it)")
        self.probe = os.environ.get("HWTS_PROBE")
        self.assertTrue(self.probe and os.access(self.probe, os.X_OK), "HWTS_PROBE not set to the built probe")
        self.lab = harness.Lab("hwt")
        self.addCleanup(self.lab.close)

    def test_discovery_matches_ethtool(self):
        lab = self.lab
        link = lab.add_link()
        names = ["lo", link.client_ifname]
        out = lab.client.run([self.probe] + names + ["nosuch0"], check=True).stdout
        harness.log("probe:\n" + out)
        found = dict(parse_probe(l) for l in out.splitlines())
        self.assertEqual(found["nosuch0"], {"error": "ENODEV"})
        for name in names:
            ethtool = lab.client.run(["ethtool", "-T", name], check=True).stdout
            harness.log("ethtool -T %s:\n%s" % (name, ethtool))
            expected = parse_ethtool(ethtool)
            probe = found[name]
            self.assertEqual(int(probe["so_timestamping"], 16), expected["so_timestamping"], name)
            self.assertEqual(int(probe["phc"]), expected["phc"], name)
            self.assertEqual(int(probe["tx_types"], 16), expected["tx_types"], name)
            self.assertEqual(int(probe["rx_filters"], 16), expected["rx_filters"], name)
            # Neither lo nor veth timestamps in hardware: software ones, and no PHC.
            self.assertEqual(probe["usable"], "no", name)
            self.assertEqual(expected["phc"], -1, name)
            self.assertTrue(expected["so_timestamping"] & (1 << CAPABILITY_BITS["software-receive"]), name)

    def test_fallback_still_synchronizes(self):
        lab = self.lab
        server = lab.chronyd(0.5)
        link = lab.links[-1]
        conf = lab.write_config("ntpsyncd.conf", [
            "server %s iburst" % server.address,
            "hwtimestamp *",
            "hwtimestamp late0 rxfilter ntp minpoll 2",
        ])
        with lab.daemon(conf) as d:
            self.assertIsNotNone(d.wait_ready(10), d.process.stderr())
            for name in ("lo", link.client_ifname):
                self.assertIsNotNone(
                    d.process.wait_for_stderr(r"^.*%s: no hardware timestamping, using software timestamps$"
                                              % re.escape(name), 10), d.process.stderr())
            self.assertIsNotNone(d.process.wait_for_stderr(
                r"late0: no such interface yet, hardware timestamping when it appears", 5), d.process.stderr())

            line, offset = d.wait_status_offset(SYNC_TIMEOUT)
            self.assertIsNotNone(line, "no STATUS with an offset within %d s:\n%s" % (SYNC_TIMEOUT,
                                                                                     d.process.stderr()))
            harness.log("status: " + line)
            self.assertAlmostEqual(offset, server.offset, delta=TOL, msg=line)

            # A link that appears later is looked at once netwatch reports it; its peer too, for "*".
            before = len(d.process.stderr())
            harness._ip("-n", lab.client.name, "link", "add", "late0", "type", "veth", "peer", "name", "late1")
            for name in ("late0", "late1"):
                self.assertIsNotNone(d.process.wait_for_stderr(
                    r"%s: no hardware timestamping, using software timestamps" % name, 10, before),
                    d.process.stderr()[before:])
            err = d.process.stderr()
            # Each interface is looked at once, and nothing claims hardware timestamping.
            self.assertEqual(len(re.findall(r"\blo: no hardware timestamping", err)), 1, err)
            self.assertNotIn("hardware timestamping with /dev/ptp", err)
            rc, _ = d.stop(5)
            self.assertEqual(rc, 0, d.process.stderr())

    def test_check_config_shows_the_lines(self):
        conf = self.lab.write_config("ntpsyncd.conf", ["hwtimestamp *", "hwtimestamp eth0 rxfilter all"])
        p = subprocess.run([harness.ntpsyncd_path(), "--check-config", "--config", conf,
                            harness.NO_TIMESYNCD_CONF], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertRegex(p.stdout, r"(?m)^hwtimestamp \* rxfilter any minpoll 0 +# .*ntpsyncd.conf:1$")
        self.assertRegex(p.stdout, r"(?m)^hwtimestamp eth0 rxfilter all minpoll 0 +# .*ntpsyncd.conf:2$")


if __name__ == "__main__":
    harness.main_unittest()
