#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The metrics (issue 16): ntpsyncd against a chronyd whose clock is off by a known amount, with a
metrics socket passed as ntpsyncd-metrics.socket passes it (named "metrics", on loopback of the
daemon's namespace), scraped over HTTP and read with Prometheus's own parser
(python3-prometheus-client); the same text over D-Bus (Metrics, `ntpsyncctl metrics`).

Topology (documentation ranges only):

    S  chronyd, fake offset +0.2 s, stratum 1
    |  192.0.2.5 -- 192.0.2.6/30
    D  ntpsyncd --clock observe, `server 192.0.2.5 iburst minpoll 3`, `serve on`; metrics on
    |  127.0.0.1:9123 of D's namespace, D-Bus on a private bus
    `-- 198.51.100.1/24 -- C 198.51.100.2 (a client of D's time service)

Checked: the offset is the faked one within 5 ms; the source is labelled with its address and
reach; the requests served grow by the client's; a malformed request gets 400, changes no
counter and the daemon keeps serving; other paths and methods get 404 and 405; a request that
never ends is cut off at the size limit."""

import base64
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    text_string_to_metric_families = None

OFFSET = 0.2
TOL = harness.TOLERANCE
SYNC_TIMEOUT = 60
PORT = 9123
BUS_NAME = "org.ntpsync1"

# Runs in the daemon's namespace: sends the bytes given (base64), prints the answer (base64).
HTTP_CLIENT = """
import base64, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
s.sendall(base64.b64decode(sys.argv[2]))
chunks = []
while True:
    try:
        b = s.recv(65536)
    except ConnectionResetError:
        break
    if not b:
        break
    chunks.append(b)
print(base64.b64encode(b"".join(chunks)).decode())
"""

# Opens N connections that send half a request line; prints how long each stayed open.
STALLED_CLIENTS = """
import socket, sys, time
t0 = time.monotonic()
conns = [socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=40) for _ in range(int(sys.argv[2]))]
for c in conns:
    c.sendall(b"GET /metr")
for c in conns:
    try:
        while c.recv(4096):
            pass
    except (ConnectionResetError, socket.timeout):
        pass
    print(round(time.monotonic() - t0, 1))
"""


def ctl_path():
    return os.environ.get("NTPSYNCCTL") or os.path.join(os.path.dirname(harness.ntpsyncd_path() or ""), "..", "ctl",
                                                        "ntpsyncctl")


class TestMetrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_ntpsyncd()
        if text_string_to_metric_families is None:
            raise unittest.SkipTest("python3-prometheus-client is not installed (tools/install-deps.sh)")
        cls.lab = harness.Lab("met")
        with cls.lab.closed_on_failure():
            cls.upstream = cls.lab.chronyd(OFFSET)
            cls.client = cls.lab.add_client("198.51.100", "2001:db8:c1::")
            cls.bus = cls.lab.private_bus()
            cls.daemon = cls.lab.ready_daemon([
                "server %s iburst minpoll 3" % cls.upstream.address,
                "serve on",
            ], sync_timeout=SYNC_TIMEOUT, env={"DBUS_SYSTEM_BUS_ADDRESS": cls.bus.address},
                launcher=harness.socket_activation("127.0.0.1", PORT, "metrics"))
            if not cls.bus.wait_for_name(BUS_NAME, 10):
                raise RuntimeError("ntpsyncd did not take %s:\n%s" % (BUS_NAME, cls.daemon.process.stderr()))

    @classmethod
    def tearDownClass(cls):
        cls.lab.stop_and_close(cls.daemon)

    def setUp(self):
        self.assertTrue(self.daemon.process.running(), "ntpsyncd died:\n" + self.daemon.process.stderr())

    # ---- helpers

    def http(self, request):
        """Sends request (bytes) to the metrics socket; returns (status, headers, body)."""
        p = self.lab.client.run([harness.PYTHON3, "-c", HTTP_CLIENT, str(PORT), base64.b64encode(request).decode()],
                                timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        answer = base64.b64decode(p.stdout.strip())
        head, _, body = answer.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        self.assertRegex(lines[0], r"^HTTP/1\.1 \d{3} ", answer[:200])
        headers = dict(line.split(": ", 1) for line in lines[1:])
        # HEAD: the length of the body a GET would get, and no body.
        if not request.startswith(b"HEAD "):
            self.assertEqual(int(headers["Content-Length"]), len(body))
        return int(lines[0].split()[1]), headers, body.decode()

    def scrape(self):
        status, headers, body = self.http(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        return body

    def parse(self, text):
        """{metric name: [(labels, value), ...]} through Prometheus's parser."""
        samples = {}
        for family in text_string_to_metric_families(text):
            self.assertTrue(family.documentation, family.name)
            for s in family.samples:
                samples.setdefault(s.name, []).append((s.labels, s.value))
        return samples

    def value(self, samples, name, **labels):
        matching = [v for l, v in samples.get(name, []) if all(l.get(k) == x for k, x in labels.items())]
        self.assertEqual(len(matching), 1, "%s%r in %r" % (name, labels, samples.get(name)))
        return matching[0]

    def counters(self, samples):
        return {(name, tuple(sorted(l.items()))): v for name, values in samples.items()
                for l, v in values if name.startswith("ntpsync_serverstats_")}

    # ---- tests

    def test_offset_and_source(self):
        m = self.parse(self.scrape())
        self.assertEqual(self.value(m, "ntpsync_tracking_sync_status"), 1)
        self.assertAlmostEqual(self.value(m, "ntpsync_tracking_last_offset_seconds"), OFFSET, delta=TOL)
        address = self.upstream.address
        src = {"source_address": address, "source_name": address}
        self.assertAlmostEqual(self.value(m, "ntpsync_sources_last_sample_offset_seconds", **src), OFFSET, delta=TOL)
        self.assertGreater(self.value(m, "ntpsync_sources_reachability_register", **src), 0)
        self.assertEqual(self.value(m, "ntpsync_sources_stratum", **src), self.lab.probe(address)["stratum"])
        self.assertEqual(self.value(m, "ntpsync_sources_tally_info", tally="*", **src), 1)
        self.assertEqual(self.value(m, "ntpsync_tracking_info", tracking_address=address), 1)
        self.assertEqual(self.value(m, "ntpsync_serving_enabled"), 1)
        self.assertEqual(self.value(m, "ntpsync_firewall_state_info", direction="client"), 1)

    def test_served_counter_grows(self):
        before = self.parse(self.scrape())
        served = self.value(before, "ntpsync_serverstats_ntp_requests_served_total")
        received = self.value(before, "ntpsync_serverstats_ntp_packets_received_total")
        _, replies = self.client.exchange(self.client.server_v4, [harness.ntp_request()])
        self.assertEqual(len(replies), 1, "no answer from ntpsyncd")
        after = self.parse(self.scrape())
        self.assertEqual(self.value(after, "ntpsync_serverstats_ntp_requests_served_total"), served + 1)
        self.assertEqual(self.value(after, "ntpsync_serverstats_ntp_packets_received_total"), received + 1)

    def test_bad_request_changes_nothing(self):
        before = self.counters(self.parse(self.scrape()))
        for request in (b"GARBAGE\r\n\r\n", b"GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n",
                        b"GET /metrics HTTP/1.1\r\n\r\n", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\n\n"):
            with self.subTest(request=request):
                status, _, _ = self.http(request)
                self.assertEqual(status, 400)
        # Longer than 4096 bytes before its empty line: refused, not read on.
        status, _, _ = self.http(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 8000 + b"\r\n\r\n")
        self.assertEqual(status, 400)
        self.assertEqual(self.http(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")[0], 404)
        status, headers, _ = self.http(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab")
        self.assertEqual(status, 405)
        self.assertEqual(headers.get("Allow"), "GET, HEAD")
        status, headers, body = self.http(b"HEAD /metrics HTTP/1.0\r\n\r\n")
        self.assertEqual((status, body), (200, ""))
        self.assertGreater(int(headers["Content-Length"]), 1000)
        # Nothing was counted, and time is still served.
        self.assertEqual(self.counters(self.parse(self.scrape())), before)
        _, replies = self.client.exchange(self.client.server_v4, [harness.ntp_request()])
        self.assertEqual(len(replies), 1, "no answer from ntpsyncd after the bad requests")
        self.assertTrue(self.daemon.process.running())

    def test_stalled_connections_end_at_the_deadline(self):
        """Connections that never finish their request (more than the cap of 16) hold nothing
        for long: each ends at its 10 s deadline, and scrapes go on afterwards."""
        p = self.lab.client.run([harness.PYTHON3, "-c", STALLED_CLIENTS, str(PORT), "20"], timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        waited = [float(x) for x in p.stdout.split()]
        self.assertEqual(len(waited), 20)
        # The first 16 at their deadline, the others (from the backlog) one deadline later.
        self.assertTrue(all(9 <= t <= 25 for t in waited), waited)
        self.assertIn("\nntpsync_tracking_sync_status 1\n", self.scrape())

    def test_dbus_and_ntpsyncctl(self):
        p = self.bus.busctl("--json=short", "call", BUS_NAME, "/org/ntpsync1", "org.ntpsync1.Manager", "Metrics")
        self.assertEqual(p.returncode, 0, p.stderr)
        text = json.loads(p.stdout)["data"][0]
        m = self.parse(text)
        self.assertAlmostEqual(self.value(m, "ntpsync_tracking_last_offset_seconds"), OFFSET, delta=TOL)
        ctl = subprocess.run([ctl_path(), "metrics"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, timeout=30,
                             env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus.address))
        self.assertEqual(ctl.returncode, 0, ctl.stderr)
        names = [f.name for f in text_string_to_metric_families(ctl.stdout)]
        self.assertEqual(names, [f.name for f in text_string_to_metric_families(self.scrape())])
        self.assertIn("ntpsync_sources_reachability_register", names)


if __name__ == "__main__":
    harness.main_unittest()
