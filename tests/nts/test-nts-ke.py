#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The NTS-KE client (src/daemon/nts-ke-client.c, through tests/nts/nts-ke-probe) against real NTS
servers and against servers that get it wrong, in network namespaces (tests/integration/harness.py).

One lab: chronyd (NTS for nts-a.test) on link 1, with openssl s_server instances, scripted NTS-KE
servers (Python's ssl) and a silent listener on other ports of the same namespace; NTPsec's ntpd (NTS for nts-b.test) on link 2. The
names resolve in the client namespace through its hosts file. A successful key establishment is
proven by one NTS-authenticated NTP exchange with the server (the probe's --ntp): its answer
verifies only with the S2C key the server derived too.

Needs root; skipped (exit 77) otherwise. NTS_KE_PROBE: the probe (meson sets it)."""

import json
import os
import shutil
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402
import nts_certs  # noqa: E402
import nts_peers  # noqa: E402

PORT_EXPIRED = 4461
PORT_TLS12 = 4462
PORT_NO_ALPN = 4463
PORT_SILENT = 4464
PORT_CLOSED = 4465
PORT_ERROR = 4466
PORT_TRUNCATED = 4467
PORT_TRICKLE = 4468
PORT_UNOFFERED = 4469
TIMEOUT_MS = 1500


def probe_path():
    path = os.environ.get("NTS_KE_PROBE") or os.path.join(harness.SOURCE_ROOT, "build", "tests", "nts", "nts-ke-probe")
    if not os.access(path, os.X_OK):
        raise harness.SetupError("nts-ke-probe not found (set NTS_KE_PROBE or build build/tests/nts/nts-ke-probe)")
    return path


class NtsKeTest(unittest.TestCase):
    lab = None

    @classmethod
    def setUpClass(cls):
        cls.probe_bin = probe_path()
        if not nts_peers.openssl_available():
            raise harness.SetupError("no openssl(1) (package openssl)")
        cls.lab = harness.Lab("nke", shim=False)
        with cls.lab.closed_on_failure() as lab:
            cls.pki = nts_certs.Pki(os.path.join(lab.dir, "pki"))
            cls.other = nts_certs.Pki(os.path.join(lab.dir, "other"), name="another test CA")
            chain_a, key_a = cls.pki.server(["nts-a.test"])
            chain_b, key_b = cls.pki.server(["nts-b.test"])
            expired_chain, expired_key = cls.pki.server(["nts-a.test"], tag="expired", expired=True)
            # A directory of trust anchors: our CA among others, as *.pem and *.crt.
            cls.ca_dir = os.path.join(lab.dir, "anchors")
            os.makedirs(cls.ca_dir)
            shutil.copy(cls.other.ca, os.path.join(cls.ca_dir, "other.pem"))
            shutil.copy(cls.pki.ca, os.path.join(cls.ca_dir, "ours.crt"))

            cls.chronyd = nts_peers.nts_chronyd(lab, chain_a, key_a, start=False)
            cls.ntpd = nts_peers.nts_ntpd(lab, chain_b, key_b, start=False)
            for s in (cls.chronyd, cls.ntpd):
                s.start(wait=False)
            lab.client.set_hosts({"nts-a.test": [cls.chronyd.address], "nts-b.test": [cls.ntpd.address]})
            ns = cls.chronyd.link.server
            nts_peers.openssl_server(lab, ns, "s-server-expired", PORT_EXPIRED, expired_chain, expired_key)
            nts_peers.openssl_server(lab, ns, "s-server-tls12", PORT_TLS12, chain_a, key_a, tls="tls1_2")
            nts_peers.openssl_server(lab, ns, "s-server-no-alpn", PORT_NO_ALPN, chain_a, key_a, alpn=None)
            nts_peers.silent_listener(lab, ns, "silent", PORT_SILENT)
            cookies = [bytes([i]) * 64 for i in range(3)]
            scripted = [
                ("ke-error", PORT_ERROR, nts_peers.ke_response(error=1), 0),
                ("ke-truncated", PORT_TRUNCATED, nts_peers.ke_response(cookies)[:-4], 0),
                ("ke-trickle", PORT_TRICKLE, nts_peers.ke_response(cookies), 7),
                ("ke-unoffered", PORT_UNOFFERED, nts_peers.ke_response(cookies, aead=17), 0),
            ]
            for name, port, answer, chunk in scripted:
                nts_peers.scripted_ke_server(lab, ns, name, port, chain_a, key_a, answer, chunk)
            for s in (cls.chronyd, cls.ntpd):
                s.wait_nts_ready()

    @classmethod
    def tearDownClass(cls):
        if cls.lab:
            cls.lab.close()

    def probe(self, host, *args, address=None, port=None, ca="pki"):
        """Runs the probe in the client namespace: (exit status, its JSON, seconds it took)."""
        argv = [self.probe_bin, "--host", host]
        if address:
            argv += ["--address", address]
        if port:
            argv += ["--port", str(port)]
        if ca:
            argv += ["--ca", self.pki.ca if ca == "pki" else ca]
        argv += list(args)
        t0 = time.monotonic()
        p = self.lab.client.run(argv, timeout=30)
        took = time.monotonic() - t0
        harness.log("probe %s -> %d: %s %s" % (" ".join(argv[1:]), p.returncode, p.stdout.strip(), p.stderr.strip()))
        lines = [line for line in p.stdout.splitlines() if line.startswith("{")]
        self.assertTrue(lines, "no JSON from the probe (exit %d): %s" % (p.returncode, p.stderr))
        return p.returncode, json.loads(lines[-1]), took

    def assert_established(self, rc, r):
        self.assertEqual(r["failure"], "none", r)
        self.assertEqual(rc, 0, r)
        self.assertEqual(r["aead"], 15)
        self.assertEqual(r["cookies"], 8)
        self.assertEqual(len(r["cookie_lengths"]), 8)
        self.assertTrue(all(n >= 12 and n % 4 == 0 for n in r["cookie_lengths"]), r)
        self.assertEqual(r["key_length"], 32)
        self.assertTrue(r["keys_differ"], "C2S and S2C keys are the same")

    def assert_failure(self, rc, r, failure, *words):
        self.assertEqual(r["failure"], failure, r)
        self.assertEqual(rc, 1, r)
        for w in words:
            self.assertIn(w.lower(), r["reason"].lower(), r)

    # ---- the real servers ----

    def test_chronyd_by_name(self):
        """chronyd: the name from the hosts file, 8 cookies, keys that chronyd's NTP answer proves."""
        rc, r, _ = self.probe("nts-a.test", "--ntp")
        self.assert_established(rc, r)
        self.assertEqual(r["ntp"], "verified", r)

    def test_chronyd_ipv6_ca_directory(self):
        """chronyd over IPv6, with the trust anchors from a directory (ours among others)."""
        rc, r, _ = self.probe("nts-a.test", "--ntp", address=self.chronyd.address6, ca=self.ca_dir)
        self.assert_established(rc, r)
        self.assertEqual(r["ntp"], "verified", r)

    def test_ntpd(self):
        """NTPsec's ntpd: 8 cookies, keys that its NTP answer proves."""
        rc, r, _ = self.probe("nts-b.test", "--ntp")
        self.assert_established(rc, r)
        self.assertEqual(r["ntp"], "verified", r)

    def test_wrong_s2c_key_fails_ntp(self):
        """The NTP check is real: with one bit of the S2C key flipped the answer does not verify."""
        rc, r, _ = self.probe("nts-a.test", "--ntp-bad-s2c")
        self.assertEqual(r["failure"], "none", r)
        self.assertEqual(rc, 1, r)
        self.assertEqual(r["ntp"], "authenticator does not verify", r)

    def test_two_exchanges_differ(self):
        """Every key establishment gets fresh keys."""
        digests = {self.probe("nts-a.test", address=self.chronyd.address)[1].get("keys_digest") for _ in range(2)}
        self.assertEqual(len(digests), 2, digests)

    # ---- certificates ----

    def test_wrong_ca(self):
        rc, r, _ = self.probe("nts-a.test", ca=self.other.ca)
        self.assert_failure(rc, r, "certificate", "issuer is unknown")

    def test_name_not_in_certificate(self):
        rc, r, _ = self.probe("nts-x.test", address=self.chronyd.address)
        self.assert_failure(rc, r, "certificate", "name in the certificate does not match")

    def test_expired_certificate(self):
        rc, r, _ = self.probe("nts-a.test", port=PORT_EXPIRED)
        self.assert_failure(rc, r, "certificate", "expired")

    def test_noval_accepts_wrong_ca(self):
        """--noval: no certificate check at all; the exchange itself still works."""
        rc, r, _ = self.probe("nts-a.test", "--noval", "--ntp", ca=self.other.ca)
        self.assert_established(rc, r)
        self.assertEqual(r["ntp"], "verified", r)

    def test_unreadable_trust_anchors(self):
        rc, r, _ = self.probe("nts-a.test", ca=os.path.join(self.lab.dir, "no-such-ca.pem"))
        self.assert_failure(rc, r, "local", "no-such-ca.pem", "no such file")

    # ---- TLS ----

    def test_tls12_only_server(self):
        rc, r, _ = self.probe("nts-a.test", port=PORT_TLS12)
        self.assert_failure(rc, r, "tls")
        self.assertRegex(r["reason"].lower(), "alert|version|unsupported", r)

    def test_server_without_alpn(self):
        rc, r, _ = self.probe("nts-a.test", port=PORT_NO_ALPN)
        self.assert_failure(rc, r, "tls", "alpn", "ntske/1")

    # ---- what the server answers ----

    def test_server_error_record(self):
        rc, r, _ = self.probe("nts-a.test", port=PORT_ERROR)
        self.assert_failure(rc, r, "protocol", "server sent error 1 (bad request)")

    def test_server_closes_before_end(self):
        rc, r, _ = self.probe("nts-a.test", port=PORT_TRUNCATED)
        self.assert_failure(rc, r, "protocol", "closed the connection after", "end of message")

    def test_response_in_small_pieces(self):
        """An answer in 7-byte TLS records, a few ms apart: read until the message is complete."""
        rc, r, _ = self.probe("nts-a.test", port=PORT_TRICKLE)
        self.assertEqual(r["failure"], "none", r)
        self.assertEqual(r["cookie_lengths"], [64, 64, 64], r)
        self.assertEqual(r["aead"], 15)

    def test_unoffered_aead(self):
        rc, r, _ = self.probe("nts-a.test", port=PORT_UNOFFERED)
        self.assert_failure(rc, r, "protocol", "(17)")

    # ---- the network ----

    def test_silent_server_times_out(self):
        """A server that accepts and never answers: the deadline ends it, and on time."""
        rc, r, took = self.probe("nts-a.test", "--timeout-ms", str(TIMEOUT_MS), port=PORT_SILENT)
        self.assert_failure(rc, r, "timeout", "%d ms" % TIMEOUT_MS, "handshake")
        self.assertGreaterEqual(r["elapsed_ms"], TIMEOUT_MS - 10, r)
        self.assertLess(r["elapsed_ms"], TIMEOUT_MS + 300, r)
        self.assertLess(took, TIMEOUT_MS / 1000.0 + 1.0, "the probe took %.2f s" % took)

    def test_nothing_listening(self):
        rc, r, _ = self.probe("nts-a.test", port=PORT_CLOSED)
        self.assert_failure(rc, r, "connect", "refused", str(PORT_CLOSED))


if __name__ == "__main__":
    harness.require_root()
    try:
        probe_path()
        harness.peers()
    except harness.SetupError as e:
        print("SETUP FAILED: %s" % e, file=sys.stderr)
        sys.exit(1)
    try:
        unittest.main(verbosity=2)
    finally:
        harness.run_cleanups()
