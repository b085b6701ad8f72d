# SPDX-License-Identifier: LGPL-2.1-or-later
"""NTS servers for the tests, in a server namespace of a harness.Lab: chronyd and NTPsec's ntpd
serving NTS-KE on TCP 4460 and NTS-authenticated NTP on UDP 123 with a certificate from
nts_certs.Pki, and the servers that get NTS-KE wrong (openssl s_server without TLS 1.3 or
without ALPN "ntske/1", a listener that never answers).

Like harness.Chronyd and harness.Ntpd, they never touch this machine's clock (chronyd -x,
ntpd without CAP_SYS_TIME) and are stopped by PID when the lab closes. Their clocks are not
moved (no libfaketime): certificates are checked against the real time."""

import os
import subprocess
import time

import harness

NTS_KE_PORT = 4460


def wait_listening(netns, port, process, timeout=10.0):
    """Waits until something listens on TCP `port` in the namespace (ss(8) from iproute2)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and not process.running():
            raise RuntimeError("%s exited (%s) before listening on port %d:\n%s" %
                               (process.name, process.poll(), port, process.stderr()))
        p = netns.run(["ss", "-Hltn", "sport = :%d" % port], timeout=10)
        if p.returncode == 0 and p.stdout.strip():
            return
        time.sleep(0.1)
    raise RuntimeError("nothing listening on TCP port %d in %s after %.0f s%s" %
                       (port, netns.name, timeout, ":\n" + process.stderr() if process else ""))


class _NtsServer:
    """What an NTS server adds to harness.Chronyd or harness.Ntpd: a certificate, and readiness
    that includes listening for NTS-KE. With offset 0 (the default) its clock is not faked at all,
    so certificates are checked against the real time; a small offset (libfaketime, as harness's
    servers) leaves them valid."""

    def __init__(self, lab, link, name, chain, key, offset=0.0):
        super().__init__(lab, link, offset, name)
        self.chain = chain
        self.key = key

    def start(self, wait=True):
        env = harness.fake_time_env(self.offset, shim=self.lab.shim) if self.offset else None
        self.process = self.lab.start_process(self.name,
                                              self.link.server.exec_argv(harness.NO_SYS_TIME + self.argv()), env=env)
        if wait:
            self.wait_nts_ready()
        return self

    def wait_nts_ready(self, timeout=15.0):
        self.wait_ready(timeout)
        wait_listening(self.link.server, NTS_KE_PORT, self.process, timeout)


class NtsChronyd(_NtsServer, harness.Chronyd):
    """chronyd as an NTS server (its command socket in a 0700 directory, as harness.Chronyd has
    it: chronyd drops it silently otherwise). ntp_server, an address, is named as the NTP server
    in its NTS-KE answers (chronyd's ntsntpserver)."""

    def __init__(self, lab, link, name, chain, key, offset=0.0, ntp_server=None):
        super().__init__(lab, link, name, chain, key, offset)
        self.ntp_server = ntp_server

    def config_lines(self):
        dump = os.path.join(self.dir, "nts")
        os.makedirs(dump, mode=0o700, exist_ok=True)
        lines = super().config_lines() + ["ntsservercert %s" % self.chain, "ntsserverkey %s" % self.key,
                                          "ntsdumpdir %s" % dump]
        if self.ntp_server:
            # Its own addresses only: the wildcard would keep whatever serves ntp_server from port 123.
            lines += ["ntsntpserver %s" % self.ntp_server, "bindaddress %s" % self.address,
                      "bindaddress %s" % self.address6]
        return lines


class NtsNtpd(_NtsServer, harness.Ntpd):
    """NTPsec's ntpd as an NTS server, in orphan mode as harness.Ntpd (stratum 1 about a second
    after it starts); its cookie keys are kept in its own directory."""

    def config_lines(self):
        return super().config_lines() + ["nts enable", "nts cert %s" % self.chain, "nts key %s" % self.key,
                                         "nts cookie %s/nts-keys" % self.dir]


def nts_chronyd(lab, chain, key, start=True):
    """chronyd serving NTS on a new link of the lab."""
    link = lab.add_link()
    s = NtsChronyd(lab, link, "nts-chronyd%d" % link.index, chain, key)
    return s.start() if start else s


def nts_ntpd(lab, chain, key, start=True):
    """NTPsec's ntpd serving NTS on a new link of the lab."""
    link = lab.add_link()
    s = NtsNtpd(lab, link, "nts-ntpd%d" % link.index, chain, key)
    return s.start() if start else s


def openssl_server(lab, netns, name, port, chain, key, tls="tls1_3", alpn="ntske/1"):
    """`openssl s_server` on `port` in the namespace: TLS `tls` only ("tls1_2", "tls1_3"), ALPN
    `alpn` offered (None: no ALPN at all). It answers no NTS-KE request: for handshake failures."""
    argv = ["openssl", "s_server", "-accept", str(port), "-" + tls, "-cert", chain, "-key", key, "-quiet"]
    if alpn:
        argv += ["-alpn", alpn]
    p = lab.start_process(name, netns.exec_argv(argv))
    wait_listening(netns, port, p)
    return p


SILENT_LISTENER = """
import socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", int(sys.argv[1])))
s.listen(16)
# The kernel completes the TCP handshakes; nobody ever reads or answers.
while True:
    time.sleep(3600)
"""


def silent_listener(lab, netns, name, port):
    """A TCP listener on `port` (IPv4 and IPv6) that accepts connections and never answers."""
    p = lab.start_process(name, netns.exec_argv([harness.PYTHON3, "-c", SILENT_LISTENER, str(port)]))
    wait_listening(netns, port, p)
    return p


def openssl_available():
    try:
        return subprocess.run(["openssl", "version"], stdout=subprocess.PIPE, stderr=subprocess.PIPE).returncode == 0
    except OSError:
        return False


# --------------------------------------------------------------------------------------------
# a scripted NTS-KE server: TLS 1.3 with ALPN ntske/1 (Python's ssl), then a given answer


def ke_record(rtype, body=b"", critical=False):
    """One NTS-KE record (RFC 8915 §4)."""
    return (((0x8000 if critical else 0) | rtype).to_bytes(2, "big") + len(body).to_bytes(2, "big") + body)


def ke_response(cookies=(), aead=15, error=None):
    """A server's NTS-KE answer: NTPv4, the AEAD and the cookies; or an Error record with `error`."""
    if error is not None:
        return ke_record(2, error.to_bytes(2, "big"), critical=True) + ke_record(0, critical=True)
    records = [ke_record(1, b"\0\0", critical=True), ke_record(4, aead.to_bytes(2, "big"))]
    records += [ke_record(5, c) for c in cookies]
    return b"".join(records) + ke_record(0, critical=True)


SCRIPTED_SERVER = """
import socket, ssl, sys, time
port, chain, key, answer, chunk = int(sys.argv[1]), sys.argv[2], sys.argv[3], bytes.fromhex(sys.argv[4]), int(sys.argv[5])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_cert_chain(chain, key)
ctx.set_alpn_protocols(["ntske/1"])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.listen(16)
while True:
    conn, _ = s.accept()
    try:
        with ctx.wrap_socket(conn, server_side=True) as t:
            t.recv(1024)  # the request
            for i in range(0, len(answer), chunk or len(answer) or 1):
                t.sendall(answer[i:i + (chunk or len(answer))])
                if chunk:
                    time.sleep(0.005)
    except (OSError, ssl.SSLError) as e:
        print("connection: %r" % e, file=sys.stderr, flush=True)
"""


def scripted_ke_server(lab, netns, name, port, chain, key, answer, chunk=0):
    """A TLS 1.3 server with ALPN ntske/1 on `port` that reads a request and sends `answer`
    (bytes; in `chunk`-byte TLS records a few ms apart when chunk is not 0), then closes."""
    p = lab.start_process(name, netns.exec_argv([harness.PYTHON3, "-c", SCRIPTED_SERVER, str(port), chain, key,
                                                 answer.hex(), str(chunk)]))
    wait_listening(netns, port, p)
    return p
