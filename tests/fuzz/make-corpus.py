#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the seed corpora of the fuzz targets: tests/fuzz/corpus/<target>/<seed>.

Run it again after changing a seed; the files it writes are committed. The constants match the
ones in the targets: the nonce of fuzz-ntp-packet's fixed request, and the local clock of
fuzz-engine-receive (2025-01-01T00:00:00Z at the first request).
"""

import os
import struct

NTP_UNIX_EPOCH_DELTA = 2208988800
NS_PER_SEC = 1_000_000_000

# fuzz-ntp-packet.c
FUZZ_NONCE = 0x0123456789ABCDEF
FUZZ_LAST_REPLY_TRANSMIT = 0xEB2B1F0000000000

# fuzz-engine-receive.c
FUZZ_START_REAL_NS = 1735689600 * NS_PER_SEC
CONTROL_PATCH_ORIGIN = 0x01
CONTROL_REPLAY = 0x02
CONTROL_XLEAVE = 0x20


def more_exchanges(n):
    return (n & 7) << 2


def ntp_ts(unix_ns):
    seconds, ns = divmod(unix_ns, NS_PER_SEC)
    return ((seconds + NTP_UNIX_EPOCH_DELTA) & 0xFFFFFFFF) << 32 | (ns << 32) // NS_PER_SEC


def ntp_short(seconds):
    return int(seconds * 65536) & 0xFFFFFFFF


def refid(code):
    return int.from_bytes(code.encode("ascii").ljust(4, b"\0"), "big")


def header(leap=0, version=4, mode=4, stratum=2, poll=6, precision=-23,
           root_delay=0.010, root_dispersion=0.020, ref=0xC0000201,
           reference=0, origin=0, receive=0, transmit=0):
    return struct.pack(">BBbbIIIQQQQ",
                       leap << 6 | version << 3 | mode, stratum, poll, precision,
                       ntp_short(root_delay), ntp_short(root_dispersion), ref,
                       reference, origin, receive, transmit)


def extension(field_type, length):
    """An RFC 7822 extension field; the length is written as given, the value is zeros."""
    return struct.pack(">HH", field_type, length) + bytes(max(length, 4) - 4)


def mac(digest_length):
    return struct.pack(">I", 42) + bytes(range(1, digest_length + 1))


def server_reply(offset=0.0, origin=0, **fields):
    """A reply to a request sent at FUZZ_START_REAL_NS, 20 ms round trip, server ahead by offset."""
    receive_ns = FUZZ_START_REAL_NS + int((0.010 + offset) * NS_PER_SEC)
    fields.setdefault("reference", ntp_ts(FUZZ_START_REAL_NS - 64 * NS_PER_SEC))
    return header(origin=origin, receive=ntp_ts(receive_ns),
                  transmit=ntp_ts(receive_ns + 100_000), **fields)


def kod(code, **fields):
    return server_reply(leap=3, stratum=0, ref=refid(code), **fields)


def packet_seeds():
    reply = server_reply(origin=FUZZ_NONCE)
    return {
        "valid-reply": reply,
        "kod-rate": kod("RATE", origin=FUZZ_NONCE),
        "kod-deny": kod("DENY", origin=FUZZ_NONCE),
        "kod-deny-forged-origin": kod("DENY", origin=FUZZ_NONCE ^ 1),
        "stratum0-not-kiss-code": server_reply(origin=FUZZ_NONCE, stratum=0),
        "unsynchronized": server_reply(origin=FUZZ_NONCE, leap=3, stratum=16),
        "duplicate": header(origin=FUZZ_NONCE, receive=1, transmit=FUZZ_LAST_REPLY_TRANSMIT),
        "client-request": header(mode=3, stratum=0, transmit=FUZZ_NONCE),
        "short": reply[:47],
        "bad-extension-length": reply + extension(0x0104, 12) + bytes(16),
        "extension-past-end": reply + extension(0x0104, 64)[:28],
        "extension-and-mac": reply + extension(0x0104, 16) + extension(0x0204, 28) + mac(20),
        "with-mac-sha1": reply + mac(20),
        "v3-with-mac-md5": server_reply(origin=FUZZ_NONCE, version=3) + mac(16),
    }


def engine_seeds():
    patch = CONTROL_PATCH_ORIGIN
    reply = server_reply()
    return {
        "reply": bytes([patch]) + reply,
        "reply-burst": bytes([patch | more_exchanges(7)]) + reply,
        "reply-replayed": bytes([patch | CONTROL_REPLAY | more_exchanges(3)]) + reply,
        "reply-2s-ahead": bytes([patch | more_exchanges(7)]) + server_reply(offset=2.0),
        "reply-beyond-panic": bytes([patch | more_exchanges(7)]) + server_reply(offset=-5000.0),
        "reply-leap-insert": bytes([patch | more_exchanges(5)]) + server_reply(leap=1),
        "reply-with-mac": bytes([patch | more_exchanges(2)]) + reply + mac(20),
        "kod-rate": bytes([patch | more_exchanges(2)]) + kod("RATE"),
        "kod-deny": bytes([patch | more_exchanges(2)]) + kod("DENY"),
        "forged-origin": bytes([0 | more_exchanges(1)]) + server_reply(origin=FUZZ_NONCE),
        "unsynchronized": bytes([patch]) + server_reply(leap=3, stratum=16),
        "short": bytes([patch]) + reply[:40],
        "bad-extension-length": bytes([patch]) + reply + extension(0x0104, 12) + bytes(16),
        "xleave-interleaved": bytes([patch | CONTROL_XLEAVE | more_exchanges(7)]) + reply,
        "xleave-replayed": bytes([patch | CONTROL_XLEAVE | CONTROL_REPLAY | more_exchanges(4)]) + reply,
        "xleave-forged-origin": bytes([CONTROL_XLEAVE | more_exchanges(3)]) + server_reply(origin=FUZZ_NONCE),
    }


# fuzz-phc.c: batches of (system before, PHC, system after) readings, as PTP_SYS_OFFSET gives.
PHC_TAI_OFFSET_NS = 37 * NS_PER_SEC


def phc_batch(second, n=5, delay=3000, phc_step=0, slow=0):
    data = bytes([n - 1])
    for i in range(n):
        phc = FUZZ_START_REAL_NS + PHC_TAI_OFFSET_NS + second * NS_PER_SEC + i * 4200 + phc_step
        before = phc - PHC_TAI_OFFSET_NS - phc_step - (delay + slow) // 2
        data += struct.pack(">qqq", before, phc, before + delay + slow)
    return data


def phc_seeds():
    steady = b"".join(phc_batch(s) for s in range(8))
    return {
        "steady": steady,
        "outlier": steady + phc_batch(8, slow=60000) + phc_batch(9),
        "step": steady + b"".join(phc_batch(s, phc_step=5_000_000) for s in range(8, 14)),
        "back": steady + phc_batch(0),
        "inconsistent": steady + phc_batch(8, delay=-5000),
        "truncated": steady[:100],
    }


def xleave_frame(ip_version=4, ether=True, mode=4):
    """fuzz-xleave, frame mode: an answer as the error queue loops it back."""
    ntp = header(mode=mode, receive=FUZZ_LAST_REPLY_TRANSMIT | 1)
    udp = struct.pack("!HHHH", 123, 40000, 8 + len(ntp), 0)
    if ip_version == 4:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp) + len(ntp), 0, 0x4000, 64, 17, 0,
                         bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]))
        ethertype = 0x0800
    else:
        ip = struct.pack("!IHBB16s16s", 0x60000000, len(udp) + len(ntp), 17, 64, bytes(15) + b"\x01",
                         bytes(15) + b"\x02")
        ethertype = 0x86DD
    link = bytes(12) + struct.pack("!H", ethertype) if ether else b""
    return b"\x00" + link + ip + udp + ntp


def xleave_step(control, ms, version=4, origin=0, receive=0, transmit=0):
    request = bytearray(48)
    request[0] = (version << 3) | 3
    request[24:48] = struct.pack("!QQQ", origin, receive, transmit)
    return bytes([control]) + struct.pack("!H", ms) + bytes(request)


def xleave_seeds():
    chain = xleave_step(0x02, 0, transmit=1) + b"".join(
        xleave_step(0x16, 1000, receive=0x1000 + i, transmit=0x2000 + i) for i in range(6))
    return {
        "frame-ipv4": xleave_frame(4),
        "frame-ipv6": xleave_frame(6),
        "frame-raw-ipv4": xleave_frame(4, ether=False),
        "frame-request": xleave_frame(4, mode=3),
        "steps-interleaved": b"\x01" + chain,
        "steps-two-clients": b"\x01" + b"".join(
            xleave_step(0x16 | (i & 1), 500, receive=0x3000 + i, transmit=0x4000 + i) for i in range(8)),
        "steps-version-3": b"\x01" + b"".join(
            xleave_step(0x16, 1000, version=3, receive=1, transmit=2 + i) for i in range(4)),
        "steps-forget": b"\x01" + b"".join(
            xleave_step(0x1e if i == 2 else 0x16, 1000, receive=5 + i, transmit=9 + i) for i in range(5)),
    }


def write_corpus(target, seeds):
    directory = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", target)
    os.makedirs(directory, exist_ok=True)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)
    print(f"{directory}: {len(seeds)} seeds")


def main():
    write_corpus("fuzz-ntp-packet", packet_seeds())
    write_corpus("fuzz-engine-receive", engine_seeds())
    write_corpus("fuzz-phc", phc_seeds())
    write_corpus("fuzz-xleave", xleave_seeds())


if __name__ == "__main__":
    main()
