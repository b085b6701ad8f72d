#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""ntpsyncd serving NTS (RFC 8915): `serve on`, `nts enable`, `nts cert`, `nts key`, proven with real
NTS clients: chronyd (`server NAME iburst nts`, `ntstrustedcerts CA`) and NTPsec's ntpd
(`server NAME nts ca CA`).

Topology (documentation ranges only):

    S  chronyd, fake offset 0, stratum 1
    |  192.0.2.1 -- 192.0.2.2/30
    D  ntpsyncd --clock observe, `server 192.0.2.1 iburst minpoll 3`, serving NTS as ntpsyncd.test
    |-- 198.51.100.1/24 -- C1 198.51.100.2: chronyd (NTS, trusts the test CA), and a second
    |                      chronyd that trusts another CA
    `-- 203.0.113.1/24  -- C2 203.0.113.2: NTPsec ntpd (NTS, trusts the test CA), and chronyd in
                           interleaved mode (`nts xleave`)

Each client names the server ntpsyncd.test (its namespace's hosts file), whose certificate is
signed by the test CA. Checked: chronyd selects ntpsyncd with NTS keys and cookies and only
authenticated packets; NTPsec reaches it with NTS; the client that cannot verify the certificate
never gets a packet of time; after ntpsyncd restarts, chronyd goes on with the cookies it has
(no new key establishment, no NAK), because the server keys were kept in the state directory."""

import json
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import nts_certs  # noqa: E402
import nts_clients  # noqa: E402

NAME = "ntpsyncd.test"
SYNC_TIMEOUT = 60
CLIENT_TIMEOUT = 60
KE_SENT = re.compile(r"NTS-KE: (\S+): keys and \d+ cookies sent", re.M)


class TestNtsServe(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_ntpsyncd()
        cls.lab = harness.Lab("nts")
        with cls.lab.closed_on_failure():
            cls.upstream = cls.lab.chronyd(0)
            cls.c1 = cls.lab.add_client("198.51.100", "2001:db8:c1::")
            cls.c2 = cls.lab.add_client("203.0.113", "2001:db8:c2::")
            for c in (cls.c1, cls.c2):
                c.ns.set_hosts({NAME: c.server_v4})
            pki = nts_certs.Pki(os.path.join(cls.lab.dir, "pki"))
            cls.ca = pki.ca
            cls.chain, cls.key = pki.server([NAME])
            cls.other_ca = nts_certs.Pki(os.path.join(cls.lab.dir, "other-pki"), name="another CA").ca

            cls.state = cls.lab.state_dir()
            cls.config = cls.lab.write_config("ntpsyncd.conf", [
                "server %s iburst minpoll 3" % cls.upstream.address,
                "serve on",
                "nts enable",
                "nts cert %s" % cls.chain,
                "nts key %s" % cls.key,
            ])
            cls.daemon = cls.start_daemon("ntpsyncd")
            line, _ = cls.daemon.wait_status_offset(SYNC_TIMEOUT, pattern=r"^STATUS=Observing ")
            if line is None:
                raise RuntimeError("not synchronized after %d s:\n%s" % (SYNC_TIMEOUT, cls.daemon.process.stderr()))

            # The clients start together and are checked one after the other.
            cls.chronyd = nts_clients.ChronydNtsClient(cls.lab, cls.c1, NAME, cls.ca, extra_lines=["port 0"]).start()
            cls.untrusting = nts_clients.ChronydNtsClient(cls.lab, cls.c1, NAME, cls.other_ca, name="chronyd-untrusting",
                                                          extra_lines=["port 0"]).start()
            cls.ntpsec = nts_clients.NtpsecNtsClient(cls.lab, cls.c2, NAME, cls.ca).start()
            cls.xleave = nts_clients.ChronydNtsClient(cls.lab, cls.c2, NAME, cls.ca, name="chronyd-nts-xleave",
                                                      extra_lines=["port 0"], server_options="xleave").start()

    @classmethod
    def start_daemon(cls, name):
        d = cls.lab.daemon(cls.config, state_dir=cls.state, name=name, extra_args=["--debug"])
        if not d.wait_ready(10):
            raise RuntimeError("no READY=1:\n" + d.process.stderr())
        if not d.process.wait_for_stderr(r"NTS-KE: serving on TCP port 4460", 5):
            raise RuntimeError("no NTS-KE service:\n" + d.process.stderr())
        return d

    @classmethod
    def tearDownClass(cls):
        cls.lab.stop_and_close(cls.daemon)

    def setUp(self):
        self.assertTrue(self.daemon.process.running(), "ntpsyncd died:\n" + self.daemon.process.stderr())

    def key_establishments(self, daemon=None):
        return KE_SENT.findall((daemon or self.daemon).process.stderr())

    def wait_chronyd_selected(self):
        row = self.chronyd.wait_selected(self.c1.server_v4, CLIENT_TIMEOUT)
        self.assertIsNotNone(row, "chronyd did not select ntpsyncd:\n%s\n%s\n%s" % (
            self.chronyd.chronyc("sources"), self.chronyd.chronyc("authdata"), self.chronyd.process.stderr()[-3000:]))
        return row

    def test_1_chronyd_authenticated(self):
        row = self.wait_chronyd_selected()
        self.assertEqual(row["stratum"], self.lab.probe(self.upstream.address)["stratum"] + 1, row["line"])
        auth = [a for a in self.chronyd.authdata() if a["address"] == self.c1.server_v4]
        self.assertEqual(len(auth), 1, self.chronyd.chronyc("authdata"))
        a = auth[0]
        self.assertEqual(a["mode"], "NTS", a)
        self.assertEqual(a["type"], "15", a)  # AEAD_AES_SIV_CMAC_256
        self.assertEqual(a["klen"], "256", a)
        self.assertGreater(int(a["cook"]), 0, a)
        self.assertEqual(int(a["nak"]), 0, a)
        data = self.chronyd.ntpdata(self.c1.server_v4)
        self.assertEqual(data.get("Authenticated"), "Yes", data)
        self.assertGreater(int(data.get("Total valid RX", "0")), 0, data)
        self.assertGreaterEqual(len(self.key_establishments()), 1, self.daemon.process.stderr()[-3000:])

    def test_2_ntpsec_authenticated(self):
        """`ntpq -p` shows ntpsyncd selected and reached; `rv &1` that its packets authenticate
        ("auth" in the status, not only "authenb") with NTS cookies in hand."""
        deadline = time.monotonic() + CLIENT_TIMEOUT
        rows, rv = [], {}
        while time.monotonic() < deadline:
            rows = [r for r in self.ntpsec.peers() if r["remote"] == self.c2.server_v4]
            rv = self.ntpsec.peer_variables()
            if rows and rows[0]["tally"] == "*" and rows[0]["reach"] >= 0o3:
                break
            time.sleep(1)
        log = self.ntpsec.process.stderr()
        self.assertTrue(rows and rows[0]["tally"] == "*" and rows[0]["reach"] >= 0o3,
                        "NTPsec did not select ntpsyncd:\n%s\n%s\n%s" % (self.ntpsec.ntpq("peers"), rv.get("_text"),
                                                                          log[-4000:]))
        self.assertEqual(rows[0]["stratum"], self.lab.probe(self.upstream.address)["stratum"] + 1, rows[0]["line"])
        self.assertIn("auth", rv["status_words"], rv["_text"])
        self.assertGreaterEqual(int(rv.get("ntscookies", "0")), 1, rv["_text"])
        self.assertEqual(rv.get("srchost"), NAME, rv["_text"])
        self.assertRegex(log, r"NTSc: Got \d+ cookies, length \d+, aead=15", log[-4000:])

    def test_3_untrusting_client_gets_nothing(self):
        # By now the trusting chronyd in the same namespace was answered; this one never is.
        self.wait_chronyd_selected()
        time.sleep(3)
        data = self.untrusting.ntpdata(self.c1.server_v4)
        auth = [a for a in self.untrusting.authdata() if a["address"] == self.c1.server_v4]
        log = self.untrusting.process.stderr()
        self.assertEqual(len(auth), 1, self.untrusting.chronyc("authdata"))
        self.assertEqual(int(auth[0]["cook"]), 0, auth[0])
        self.assertIn(data.get("Total RX", "0"), ("0", ""), data)
        for s in self.untrusting.sources():
            self.assertNotEqual(s["state"], "*", s["line"])
            self.assertEqual(s["reach"], 0, s["line"])
        self.assertRegex(log, r"(?i)certificate|TLS", log[-3000:])

    def test_4_chronyd_nts_interleaved(self):
        """chronyd with `nts xleave`: its packets authenticate and come back interleaved (the
        authenticator sealed over the previous answer's transmit timestamp)."""
        deadline = time.monotonic() + CLIENT_TIMEOUT
        data = {}
        while time.monotonic() < deadline:
            data = self.xleave.ntpdata(self.c2.server_v4)
            if data.get("Interleaved") == "Yes" and data.get("Authenticated") == "Yes":
                break
            time.sleep(1)
        self.assertEqual((data.get("Interleaved"), data.get("Authenticated")), ("Yes", "Yes"),
                         "%r\n%s" % (data, self.xleave.chronyc("authdata")))
        auth = [a for a in self.xleave.authdata() if a["address"] == self.c2.server_v4]
        self.assertEqual(len(auth), 1, auth)
        self.assertEqual((auth[0]["mode"], auth[0]["nak"]), ("NTS", "0"), auth)

    def test_5_reload_rereads_certificate(self):
        """SIGHUP reads `nts cert` again: a missing file stops key establishment with an error
        that names it, while the cookies handed out go on working; the good file brings it back."""
        self.wait_chronyd_selected()
        missing = os.path.join(self.lab.dir, "missing-chain.pem")
        with open(self.config) as f:
            good = f.read()
        d = self.daemon
        try:
            with open(self.config, "w") as f:
                f.write(good.replace("nts cert %s" % self.chain, "nts cert %s" % missing))
            start = len(d.process.stderr())
            self.assertTrue(d.reload(), d.process.stderr()[-3000:])
            self.assertIsNotNone(d.process.wait_for_stderr(
                r"NTS-KE: no service, cannot read the certificate %s" % re.escape(missing), 5, start),
                d.process.stderr()[start:])
            self.assertIsNotNone(d.process.wait_for_stderr(r"NTS-KE: no longer serving", 5, start))
            rx = int(self.chronyd.ntpdata(self.c1.server_v4).get("Total valid RX", "0"))
            time.sleep(4)
            self.assertGreater(int(self.chronyd.ntpdata(self.c1.server_v4).get("Total valid RX", "0")), rx,
                               "cookies no longer answered without the certificate")
        finally:
            with open(self.config, "w") as f:
                f.write(good)
        start = len(d.process.stderr())
        self.assertTrue(d.reload())
        self.assertIsNotNone(d.process.wait_for_stderr(r"NTS-KE: serving on TCP port 4460", 5, start),
                             d.process.stderr()[start:])
        self.assertTrue(d.process.running())

    def probe_ke(self, address):
        """One key establishment from c1's namespace with tests/nts/nts-ke-probe: its JSON."""
        probe = os.path.join(os.path.dirname(os.environ["NTPSYNCD"]), "..", "..", "tests", "nts", "nts-ke-probe")
        p = self.c1.ns.run([probe, "--host", NAME, "--address", address, "--ca", self.ca, "--timeout-ms", "3000"],
                           timeout=30)
        self.assertTrue(p.stdout.strip(), p.stderr)
        return json.loads(p.stdout)

    def test_6_restrict_rules_cover_key_establishment(self):
        """`restrict … ignore` (and noserve) refuse a client's key establishment too: the
        connection is closed at once, counted, and other clients are served."""
        with open(self.config) as f:
            good = f.read()
        d = self.daemon
        try:
            with open(self.config, "w") as f:
                f.write(good + "restrict 2001:db8:c1::/64 ignore\n")
            self.assertTrue(d.reload(), d.process.stderr()[-3000:])
            refused = self.probe_ke(self.c1.server_v6)
            self.assertNotEqual(refused["failure"], "none", refused)
            self.assertEqual(refused.get("cookies", 0), 0, refused)
            # The same namespace over IPv4, which no rule ignores: served.
            served = self.probe_ke(self.c1.server_v4)
            self.assertEqual((served["failure"], served["cookies"]), ("none", 8), served)
        finally:
            with open(self.config, "w") as f:
                f.write(good)
            self.assertTrue(d.reload())
        self.assertEqual(self.probe_ke(self.c1.server_v6)["failure"], "none")

    HANG_UP = """
import socket, ssl, struct, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
ctx.set_alpn_protocols(["ntske/1"])
for _ in range(int(sys.argv[2])):
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="x")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    s = socket.create_connection((sys.argv[1], 4460))
    s.sendall(outgoing.read())
    # Gone before the server answers: its reply meets a closed socket (a reset, then a broken pipe).
    if _ % 2:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
"""

    def test_7_clients_hanging_up_mid_handshake(self):
        """Clients that send their hello and hang up (closing or resetting): the daemon writes into closed
        sockets (no SIGPIPE may end it) and goes on serving."""
        p = self.c1.ns.run([harness.PYTHON3, "-c", self.HANG_UP, self.c1.server_v4, "50"], timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        time.sleep(1)
        self.assertTrue(self.daemon.process.running(), "ntpsyncd died:\n" + self.daemon.process.stderr()[-3000:])
        result = self.probe_ke(self.c1.server_v4)
        self.assertEqual((result["failure"], result["cookies"]), ("none", 8), result)

    def test_9_restart_keeps_cookies(self):
        """Runs last: ntpsyncd restarted on the same state directory; chronyd goes on with its
        cookies, answered without a new key establishment or a NAK."""
        self.wait_chronyd_selected()
        before = self.chronyd.ntpdata(self.c1.server_v4)
        rx_before = int(before.get("Total valid RX", "0"))
        cls = type(self)
        rc, _ = cls.daemon.stop()
        self.assertEqual(rc, 0, cls.daemon.process.stderr()[-3000:])
        cls.daemon = cls.start_daemon("ntpsyncd-restarted")
        self.assertIn("server key(s) loaded from %s" % os.path.join(self.state, "nts-server-keys"),
                      cls.daemon.process.stderr())
        deadline = time.monotonic() + 30
        rx = rx_before
        while time.monotonic() < deadline and rx < rx_before + 5:
            time.sleep(1)
            rx = int(self.chronyd.ntpdata(self.c1.server_v4).get("Total valid RX", "0"))
        self.assertGreaterEqual(rx, rx_before + 5, "chronyd got no more valid answers after the restart:\n%s\n%s" %
                                (self.chronyd.chronyc("authdata"), cls.daemon.process.stderr()[-3000:]))
        auth = [a for a in self.chronyd.authdata() if a["address"] == self.c1.server_v4][0]
        self.assertEqual(int(auth["nak"]), 0, auth)
        self.assertEqual(self.key_establishments(cls.daemon), [], "a new key establishment after the restart")
        self.assertIsNotNone(self.chronyd.wait_selected(self.c1.server_v4, CLIENT_TIMEOUT))


if __name__ == "__main__":
    harness.main_unittest()
