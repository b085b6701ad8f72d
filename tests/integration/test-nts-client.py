#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""ntpsyncd as an NTS client (RFC 8915) of real NTS servers whose clocks run off by a known
amount: chronyd and NTPsec's ntpd, with a CA and certificates made here. Authenticated samples
give the right offset; keys and cookies survive a restart without a new key establishment; a
proxy on the NTP path (negotiated through chronyd's ntsntpserver) flips bits, replays, changes
the unique identifier and answers with an NTS NAK, and each is refused for its own reason; key
establishments that fail (certificate, TLS version, ALPN, a silent server, no NTS at all) leave
the source unused, never used without authentication.

Also `test-nts-client.py proxy LISTEN UPSTREAM MODE_FILE`: the proxy itself, run in a server
namespace."""

import os
import select
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import nts_certs  # noqa: E402
import nts_peers  # noqa: E402

CHRONYD_OFFSET = 0.25
NTPD_OFFSET = -0.125
UID_FIELD = 0x0104
AUTH_FIELD = 0x0404


# ---- the proxy -------------------------------------------------------------------------------

def fields(packet):
    """(type, offset, length) of each extension field after the 48-byte header."""
    pos, out = 48, []
    while pos + 4 <= len(packet):
        kind, length = struct.unpack("!HH", packet[pos:pos + 4])
        if length < 16 or pos + length > len(packet):
            break
        out.append((kind, pos, length))
        pos += length
    return out


def flip_in_field(packet, kind, skip):
    """The packet with one bit flipped `skip` bytes into the body of the first field of `kind`."""
    for t, pos, length in fields(packet):
        if t == kind:
            i = pos + 4 + skip
            return packet[:i] + bytes([packet[i] ^ 0x01]) + packet[i + 1:]
    return packet


def flip_authenticator(packet):
    """A bit of the authenticator's ciphertext (its tag), not of its padding."""
    for t, pos, length in fields(packet):
        if t == AUTH_FIELD:
            nonce_len = struct.unpack("!H", packet[pos + 4:pos + 6])[0]
            return flip_in_field(packet, AUTH_FIELD, 4 + nonce_len + (-nonce_len) % 4)
    return packet


def nak_for(request):
    """An NTS NAK for a request: kiss code NTSN, its transmit time as origin, its unique identifier."""
    header = bytearray(48)
    header[0] = (3 << 6) | (4 << 3) | 4
    header[12:16] = b"NTSN"
    header[24:32] = request[40:48]
    for t, pos, length in fields(request):
        if t == UID_FIELD:
            return bytes(header) + request[pos:pos + length]
    return bytes(header)


def run_proxy(listen, upstream, mode_file):
    """Relays NTP between clients and upstream; what it does to the answers is in mode_file:
    pass, flip (the authenticator), uid (the unique identifier), replay (each answer twice),
    nak-once (one NTS NAK instead of forwarding, then pass)."""
    down = socket.socket(socket.AF_INET6 if ":" in listen else socket.AF_INET, socket.SOCK_DGRAM)
    down.bind((listen, 123))
    up = socket.socket(socket.AF_INET6 if ":" in upstream else socket.AF_INET, socket.SOCK_DGRAM)
    up.connect((upstream, 123))
    client = None
    print("proxy ready", flush=True)
    while True:
        ready, _, _ = select.select([down, up], [], [])
        with open(mode_file) as f:
            mode = f.read().strip()
        if down in ready:
            data, client = down.recvfrom(2048)
            if mode == "nak-once":
                down.sendto(nak_for(data), client)
                with open(mode_file, "w") as f:
                    f.write("pass\n")
                continue
            up.send(data)
        if up in ready and client:
            data = up.recv(2048)
            if mode == "flip":
                data = flip_authenticator(data)
            elif mode == "uid":
                data = flip_in_field(data, UID_FIELD, 0)
            down.sendto(data, client)
            if mode == "replay":
                down.sendto(data, client)


# ---- the servers -----------------------------------------------------------------------------

def count_ke_connections(netns):
    """TCP connections opened to port 4460 in a server namespace, from an nftables counter."""
    p = netns.run(["nft", "list", "chain", "inet", "ntstest", "input"], check=True)
    for line in p.stdout.splitlines():
        if "dport 4460" in line and "packets" in line:
            return int(line.split("packets")[1].split()[0])
    raise AssertionError("no counter in:\n" + p.stdout)


def add_ke_counter(netns):
    for cmd in (["add", "table", "inet", "ntstest"],
                ["add", "chain", "inet", "ntstest", "input", "{ type filter hook input priority 0 ; }"],
                ["add", "rule", "inet", "ntstest", "input", "tcp", "dport", "4460", "tcp", "flags", "syn",
                 "counter"]):
        netns.run(["nft"] + cmd, check=True)


class TestNtsClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = harness.Lab("ntc")
        with cls.lab.closed_on_failure():
            lab = cls.lab
            cls.pki = nts_certs.Pki(os.path.join(lab.dir, "pki"))
            chain, key = cls.pki.server(["nts-c.test"])
            cls.chronyd = nts_peers.NtsChronyd(lab, lab.add_link(), "nts-chronyd", chain, key,
                                               offset=CHRONYD_OFFSET).start()
            add_ke_counter(cls.chronyd.link.server)

            chain, key = cls.pki.server(["nts-n.test"])
            cls.ntpd = nts_peers.NtsNtpd(lab, lab.add_link(), "nts-ntpd", chain, key, offset=NTPD_OFFSET).start()

            # chronyd behind a proxy: its NTS-KE answers send NTP to the proxy's address.
            link = lab.add_link()
            cls.proxy_address = "2001:db8:0:%x::5" % link.index
            harness._ip("-n", link.server.name, "addr", "add", cls.proxy_address + "/64", "dev", "eth0", "nodad")
            chain, key = cls.pki.server(["nts-p.test"])
            cls.proxied = nts_peers.NtsChronyd(lab, link, "nts-proxied", chain, key, offset=CHRONYD_OFFSET,
                                               ntp_server=cls.proxy_address).start()
            cls.mode_file = os.path.join(lab.dir, "proxy-mode")
            cls.set_proxy("pass")
            cls.proxy = lab.start_process("proxy", link.server.exec_argv(
                [harness.PYTHON3, os.path.abspath(__file__), "proxy", cls.proxy_address, link.server_v4,
                 cls.mode_file]))
            deadline = time.monotonic() + 10
            while "proxy ready" not in cls.proxy.stdout() and time.monotonic() < deadline:
                time.sleep(0.1)

            # A plain chronyd: NTP without NTS.
            cls.plain = lab.chronyd(CHRONYD_OFFSET)
            # A certificate past its end.
            chain, key = cls.pki.server(["nts-old.test"], expired=True)
            cls.expired = nts_peers.NtsChronyd(lab, lab.add_link(), "nts-expired", chain, key,
                                               offset=CHRONYD_OFFSET).start()

            lab.client.set_hosts({
                "nts-c.test": [cls.chronyd.address], "nts-n.test": [cls.ntpd.address],
                "nts-p.test": [cls.proxied.address], "plain.test": [cls.plain.address],
                "nts-old.test": [cls.expired.address],
                # chronyd's address under a name its certificate does not have
                "wrong-name.test": [cls.chronyd.address],
            })

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    @classmethod
    def set_proxy(cls, mode):
        with open(cls.mode_file, "w") as f:
            f.write(mode + "\n")

    def start(self, host, extra="", name="ntpsyncd", state_dir=None):
        conf = self.lab.write_config(name + ".conf", ["server %s iburst minpoll 3 maxpoll 4 nts ca %s %s" %
                                                      (host, self.pki.ca, extra)])
        d = self.lab.daemon(conf, state_dir=state_dir or self.lab.state_dir(name + "-state"), name=name,
                            extra_args=["--debug"])
        self.addCleanup(lambda: d.process.running() and d.stop())
        self.assertTrue(d.wait_ready(10), d.process.stderr())
        return d

    def assert_offset(self, d, expected, timeout=40):
        line, offset = d.wait_status_offset(timeout)
        self.assertIsNotNone(offset, "no offset; ntpsyncd said:\n" + d.process.stderr()[-4000:])
        harness.log("%s: %s" % (d.name, line))
        self.assertAlmostEqual(offset, expected, delta=harness.TOLERANCE)

    def wait_log(self, d, text, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in d.process.stderr():
                return
            time.sleep(0.2)
        self.fail("%r not logged within %d s:\n%s" % (text, timeout, d.process.stderr()[-4000:]))

    # ---- authenticated time ----

    def test_chronyd(self):
        d = self.start("nts-c.test", name="chronyd-client")
        self.assert_offset(d, CHRONYD_OFFSET)
        self.assertIn("NTS key establishment done: AEAD 15, 8 cookies", d.process.stderr())

    def test_ntpsec(self):
        d = self.start("nts-n.test", name="ntpsec-client")
        self.assert_offset(d, NTPD_OFFSET)
        self.assertIn("NTS key establishment done: AEAD 15", d.process.stderr())

    def test_restart_reuses_cookies(self):
        state = self.lab.state_dir("restart-state")
        d = self.start("nts-c.test", name="first", state_dir=state)
        self.assert_offset(d, CHRONYD_OFFSET)
        before = count_ke_connections(self.chronyd.link.server)
        rc, _ = d.stop()
        self.assertEqual(rc, 0)
        files = [f for f in os.listdir(state) if f.startswith("nts-nts-c.test-")]
        self.assertEqual(len(files), 1, os.listdir(state))
        self.assertEqual(os.stat(os.path.join(state, files[0])).st_mode & 0o777, 0o600)

        d = self.start("nts-c.test", name="second", state_dir=state)
        self.assert_offset(d, CHRONYD_OFFSET)
        log = d.process.stderr()
        self.assertRegex(log, r"NTS keys and \d cookies from ")
        self.assertNotIn("key establishment done", log)
        self.assertEqual(count_ke_connections(self.chronyd.link.server), before, "a key establishment after restart")

    def test_restart_keeps_the_negotiated_ntp_server(self):
        state = self.lab.state_dir("negotiated-state")
        d = self.start("nts-p.test", name="negotiated-1", state_dir=state)
        self.assert_offset(d, CHRONYD_OFFSET)
        self.assertIn("NTP to %s port 123, as the KE server says" % self.proxy_address, d.process.stderr())
        self.assertEqual(d.stop()[0], 0)
        d = self.start("nts-p.test", name="negotiated-2", state_dir=state)
        self.assert_offset(d, CHRONYD_OFFSET)
        log = d.process.stderr()
        self.assertNotIn("key establishment done", log)
        self.assertIn("NTP to %s port 123, as the KE server says" % self.proxy_address, log)

    # ---- what an attacker on the path can do ----

    def test_tampered_authenticator_is_never_used(self):
        self.set_proxy("flip")
        self.addCleanup(self.set_proxy, "pass")
        d = self.start("nts-p.test", name="flip-client")
        self.wait_log(d, "NTS response dropped: authenticator does not verify", 20)
        self.wait_log(d, "responses keep failing authentication; a new NTS key establishment", 60)
        self.assertEqual([s for s in d.statuses() if "offset" in s], [], "a tampered answer was used")
        # The same source, once the path is clean again: nothing else was broken.
        self.set_proxy("pass")
        self.assert_offset(d, CHRONYD_OFFSET, timeout=60)

    def test_replayed_response_is_dropped(self):
        self.set_proxy("replay")
        self.addCleanup(self.set_proxy, "pass")
        d = self.start("nts-p.test", name="replay-client")
        self.assert_offset(d, CHRONYD_OFFSET)
        self.wait_log(d, "NTS response dropped: unique identifier does not match the request", 20)

    def test_foreign_unique_identifier_is_dropped(self):
        self.set_proxy("uid")
        self.addCleanup(self.set_proxy, "pass")
        d = self.start("nts-p.test", name="uid-client")
        self.wait_log(d, "NTS response dropped: unique identifier does not match the request", 20)
        time.sleep(2)
        self.assertEqual([s for s in d.statuses() if "offset" in s], [], "an answer to another request was used")

    def test_nak_starts_a_new_key_establishment(self):
        d = self.start("nts-p.test", name="nak-client")
        self.assert_offset(d, CHRONYD_OFFSET)
        self.set_proxy("nak-once")
        self.wait_log(d, "the server answered with an NTS NAK; a new NTS key establishment", 30)
        self.wait_log(d, "NTS key establishment done", 5)
        done = d.process.stderr().count("NTS key establishment done")
        self.assertEqual(done, 2, d.process.stderr()[-3000:])
        since = len(d.messages)
        self.assertIsNotNone(d.wait_status_offset(30, since=since)[1])

    # ---- key establishments that fail: the source is never used ----

    def query_fails(self, host, reason, extra=(), timeout=40):
        rc, data, out, err = self.lab.query([host], extra_args=["--nts", "--ca", self.pki.ca] + list(extra),
                                            timeout=timeout)
        self.assertEqual(rc, 1, out + err)
        source = data["sources"][0]
        self.assertEqual(source["authentication"], "nts")
        self.assertEqual(source["nts_state"], "failed")
        self.assertIsNone(source["offset"], "a source without keys gave an offset")
        self.assertEqual(source["samples"], 0)
        self.assertRegex(source["nts_reason"], reason)
        return source

    def test_query_authenticated(self):
        # --debug: on a failure, the message carries why each reply was refused.
        rc, data, out, err = self.lab.query(["nts-c.test"], extra_args=["--nts", "--ca", self.pki.ca, "--debug"])
        self.assertEqual(rc, 0, out + err)
        source = data["sources"][0]
        self.assertEqual((source["authentication"], source["nts_state"]), ("nts", "established"))
        self.assertAlmostEqual(data["offset"], CHRONYD_OFFSET, delta=harness.TOLERANCE)

    def test_unknown_ca(self):
        other = nts_certs.Pki(os.path.join(self.lab.dir, "other-ca"))
        self.query_fails("nts-c.test", r"^certificate: .*issuer is unknown", extra=["--ca", other.ca])

    def test_wrong_host_name(self):
        self.query_fails("wrong-name.test", r"^certificate: .*(hostname|name)")

    def test_expired_certificate(self):
        self.query_fails("nts-old.test", r"^certificate: .*expired")

    def test_no_nts_no_fallback(self):
        # plain chronyd answers NTP, but has no NTS-KE: nothing is ever taken from it.
        self.query_fails("plain.test", r"^connect: ")

    def test_tls12_only_server(self):
        link = self.lab.add_link()
        chain, key = self.pki.server(["tls12.test"])
        nts_peers.openssl_server(self.lab, link.server, "tls12", 4460, chain, key, tls="tls1_2")
        self.lab.client.set_hosts(dict(self.hosts(), **{"tls12.test": [link.server_v4]}))
        self.query_fails("tls12.test", r"^tls: ")

    def test_silent_server_times_out(self):
        link = self.lab.add_link()
        nts_peers.silent_listener(self.lab, link.server, "silent", 4460)
        self.lab.client.set_hosts(dict(self.hosts(), **{"silent.test": [link.server_v4]}))
        t0 = time.monotonic()
        self.query_fails("silent.test", r"^timeout")
        self.assertLess(time.monotonic() - t0, 30)

    def test_no_common_aead(self):
        link = self.lab.add_link()
        chain, key = self.pki.server(["aead.test"])
        answer = nts_peers.ke_response(cookies=[bytes(100)], aead=30)
        nts_peers.scripted_ke_server(self.lab, link.server, "aead30", 4460, chain, key, answer)
        self.lab.client.set_hosts(dict(self.hosts(), **{"aead.test": [link.server_v4]}))
        self.query_fails("aead.test", r"^protocol: ")

    def hosts(self):
        with open(os.path.join(self.lab.client.etc_dir, "hosts")) as f:
            entries = {}
            for line in f:
                parts = line.split()
                if len(parts) == 2 and parts[1].endswith(".test"):
                    entries.setdefault(parts[1], []).append(parts[0])
            return entries


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "proxy":
        run_proxy(sys.argv[2], sys.argv[3], sys.argv[4])
        sys.exit(0)
    harness.require_root()
    unittest.main(verbosity=2)
