#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""ntpsyncd serving interleaved mode (issue 16) to a real chronyd `xleave` client, with basic
clients (NTPsec's ntpdig, chronyd -Q) unharmed, forged interleaved requests answered in basic mode
without touching another client's state, and a client whose state was evicted falling back to
basic mode and back to interleaved.

Topology (documentation ranges only):

    S  chronyd, fake offset 0, stratum 1
    |  192.0.2.5 -- 192.0.2.6/30
    D  ntpsyncd --clock observe, `server 192.0.2.5 iburst minpoll 3`, `serve on`, an interleaved
    |  table of 16 answers (NTPSYNCD_TEST_XLEAVE_CAPACITY), metrics on 127.0.0.1:9123
    |-- 198.51.100.1/24 -- C1 198.51.100.2: chronyd -x, `server 198.51.100.1 xleave minpoll 0`
    `-- 203.0.113.1/24  -- C2 203.0.113.2 and .3: raw requests (A and B), ntpdig, chronyd -Q"""

import json
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import nts_clients  # noqa: E402

TOL = harness.TOLERANCE
SYNC_TIMEOUT = 60
METRICS_PORT = 9123
TABLE = 16

# Runs in C2: clients A and B (two source addresses) speak NTP by hand and print, per request,
# the reply's origin, receive and transmit timestamps (hex) and what the request carried.
RAW_CLIENT = r"""
import json, os, socket, struct, sys
server, a, b, flood = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

def sock(address):
    s = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((address, 0))
    s.settimeout(2)
    return s

def marked():
    return (int.from_bytes(os.urandom(8), "big") | 1).to_bytes(8, "big")

def ask(s, origin, receive, transmit):
    s.sendto(bytes([0x23]) + bytes(23) + origin + receive + transmit, (server, 123))
    while True:
        data = s.recv(2048)
        if len(data) >= 48 and data[24:32] in (transmit, receive):
            return {"request": [origin.hex(), receive.hex(), transmit.hex()],
                    "origin": data[24:32].hex(), "receive": data[32:40].hex(), "transmit": data[40:48].hex()}

A, B = sock(a), sock(b)
out = {}
out["a1"] = ask(A, bytes(8), bytes(8), os.urandom(8))
out["a2"] = ask(A, bytes.fromhex(out["a1"]["receive"]), os.urandom(8), os.urandom(8))
saved = bytes.fromhex(out["a2"]["receive"])
# B replays A's origin; A sends a garbage one of ours-looking shape.
out["b"] = ask(B, saved, os.urandom(8), os.urandom(8))
out["garbage"] = ask(A, marked(), os.urandom(8), os.urandom(8))
out["a3"] = ask(A, saved, os.urandom(8), os.urandom(8))
out["a3_again"] = ask(A, saved, os.urandom(8), os.urandom(8))
# B floods the table with entries of its own: A's is pushed out.
for i in range(flood):
    ask(B, marked(), os.urandom(8), os.urandom(8))
out["a4"] = ask(A, bytes.fromhex(out["a3"]["receive"]), os.urandom(8), os.urandom(8))
out["a5"] = ask(A, bytes.fromhex(out["a4"]["receive"]), os.urandom(8), os.urandom(8))
print(json.dumps(out))
"""

METRICS_CLIENT = r"""
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode())
"""


class ChronydXleaveClient(nts_clients.ChronydNtsClient):
    """chronyd polling one server every second in interleaved mode, never touching the clock."""

    def config(self):
        return "\n".join([
            "server %s iburst xleave minpoll 0 maxpoll 0" % self.server_name,
            "cmdport 0",
            "bindcmdaddress %s" % self.socket,
            "driftfile %s/drift" % self.dir,
            "pidfile %s/chronyd.pid" % self.dir,
        ]) + "\n"


def ts(hex_text):
    return int(hex_text, 16)


class TestXleaveServe(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_ntpsyncd()
        cls.lab = harness.Lab("xlv")
        with cls.lab.closed_on_failure():
            cls.upstream = cls.lab.chronyd(0)
            cls.c1 = cls.lab.add_client("198.51.100", "2001:db8:c1::")
            cls.c2 = cls.lab.add_client("203.0.113", "2001:db8:c2::", n_addresses=2)
            cls.daemon = cls.lab.ready_daemon([
                "server %s iburst minpoll 3" % cls.upstream.address,
                "serve on",
            ], sync_timeout=SYNC_TIMEOUT, env={"NTPSYNCD_TEST_XLEAVE_CAPACITY": str(TABLE)},
                launcher=harness.socket_activation("127.0.0.1", METRICS_PORT, "metrics"))
            cls.chronyd = ChronydXleaveClient(cls.lab, cls.c1, cls.c1.server_v4, None, name="chronyd-xleave").start()

    @classmethod
    def tearDownClass(cls):
        cls.chronyd.stop()
        cls.lab.stop_and_close(cls.daemon)

    def setUp(self):
        self.assertTrue(self.daemon.process.running(), "ntpsyncd died:\n" + self.daemon.process.stderr())

    def metrics(self):
        p = self.lab.client.run([harness.PYTHON3, "-c", METRICS_CLIENT, str(METRICS_PORT)], timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        values = {}
        for m in re.finditer(r"^(ntpsync_serverstats_\w+) (\d+)$", p.stdout, re.M):
            values[m.group(1)] = int(m.group(2))
        return values

    def wait_ntpdata(self, predicate, timeout=30):
        deadline = time.monotonic() + timeout
        data = {}
        while time.monotonic() < deadline:
            data = self.chronyd.ntpdata(self.c1.server_v4)
            if predicate(data):
                return data
            time.sleep(1)
        return data

    def test_chronyd_xleave_client_interleaved(self):
        before = self.metrics()
        data = self.wait_ntpdata(lambda d: d.get("Interleaved") == "Yes" and d.get("Total valid RX", "0") != "0")
        self.assertEqual(data.get("Interleaved"), "Yes", data)
        self.assertEqual(data.get("Mode"), "Server", data)
        # Its measurement of D (which observes, so its clock is the host's) is good.
        offset = float(data["Offset"].split()[0])
        self.assertLessEqual(abs(offset), TOL, data)
        time.sleep(3)
        after = self.metrics()
        self.assertGreaterEqual(after["ntpsync_serverstats_ntp_interleaved_responses_total"] -
                                before["ntpsync_serverstats_ntp_interleaved_responses_total"], 2, (before, after))
        self.assertGreater(after["ntpsync_serverstats_ntp_kernel_tx_timestamps_total"], 0, after)

    def test_basic_clients_unharmed(self):
        before = self.metrics()
        rc, result, out = self.c2.ntpdig(self.c2.server_v4)
        self.assertEqual(rc, 0, out)
        self.assertLessEqual(abs(result["offset"]), TOL, out)
        rc, offset, out = self.c2.chronyd_query(self.c2.server_v4, self.lab.dir, timeout=10)
        self.assertEqual(rc, 0, out)
        self.assertLessEqual(abs(offset), TOL, out)
        # A burst of basic requests: answered, and none of them asks the kernel for its transmit
        # timestamp (only the chronyd xleave client's, one a second, do meanwhile).
        sent, received = self.c2.exchange(self.c2.server_v4, [harness.ntp_request() for _ in range(200)], wait=1.0)
        self.assertEqual(len(received), 200)
        after = self.metrics()
        self.assertGreaterEqual(after["ntpsync_serverstats_ntp_basic_responses_total"] -
                                before["ntpsync_serverstats_ntp_basic_responses_total"], 200)
        self.assertLess(after["ntpsync_serverstats_ntp_kernel_tx_timestamps_total"] -
                        before["ntpsync_serverstats_ntp_kernel_tx_timestamps_total"], 60, (before, after))

    def test_forged_and_evicted(self):
        """Over IPv4 (to the dual-stack socket) and IPv6: the answers come back from the error
        queue as IPv4 and IPv6 frames."""
        for server, addresses in ((self.c2.server_v4, self.c2.addresses4), (self.c2.server_v6, self.c2.addresses6)):
            with self.subTest(server=server):
                self.check_forged_and_evicted(server, *addresses[:2])

    def check_forged_and_evicted(self, server, a, b):
        p = self.c2.run([harness.PYTHON3, "-c", RAW_CLIENT, server, a, b, str(20 * TABLE)], timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        r = json.loads(p.stdout)

        def basic(name):
            self.assertEqual(r[name]["origin"], r[name]["request"][2], "%s not basic: %r" % (name, r[name]))

        def interleaved(name):
            self.assertEqual(r[name]["origin"], r[name]["request"][1], "%s not interleaved: %r" % (name, r[name]))

        # Receive timestamps marked, transmit timestamps not.
        for name in ("a1", "a2", "a3", "b"):
            self.assertEqual(ts(r[name]["receive"]) & 1, 1, r[name])
            self.assertEqual(ts(r[name]["transmit"]) & 1, 0, r[name])
        basic("a1")
        basic("a2")
        basic("b")          # A's origin from B's address
        basic("garbage")    # an origin that was never ours
        interleaved("a3")   # A's state survived both
        # The kernel's transmit timestamp of a2 (not the estimate a2 carried: later than that),
        # soon after its receipt.
        tx2, rx2, est2 = ts(r["a3"]["transmit"]), ts(r["a2"]["receive"]), ts(r["a2"]["transmit"])
        self.assertGreater(tx2, est2, r)
        self.assertLess((tx2 - rx2) / 2**32, 0.01, r)
        basic("a3_again")   # used once
        basic("a4")         # evicted by B's flood
        interleaved("a5")   # and back

    def test_table_bounded(self):
        self.assertTrue(self.daemon.process.running())
        # Bounded by construction (unit tests); here: the daemon's memory stays put under the flood.
        before = self.daemon.memory_kib()["Rss"]
        a, b = self.c2.addresses4[:2]
        p = self.c2.run([harness.PYTHON3, "-c", RAW_CLIENT, self.c2.server_v4, a, b, "2000"], timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertLess(self.daemon.memory_kib()["Rss"] - before, 1024)


if __name__ == "__main__":
    harness.main_unittest()
