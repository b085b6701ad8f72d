#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the seed corpora of the NTS fuzz targets: tests/fuzz/corpus/fuzz-nts-*/<seed>.

Run it again after changing a seed; the files it writes are committed. The constants match the
targets: fuzz-nts-ntp's unique identifier, nonce and server key id, and the clear AEAD of
tests/model/nts-fake-aead.h (no encryption: the tag "clear-aead-tag!!", then the plaintext).
"""

import importlib
import os
import struct
import sys

# The corpus writer of make-corpus.py, next to this file.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
write_corpus = importlib.import_module("make-corpus").write_corpus

# NTS-KE records (RFC 8915 §4).
CRITICAL = 0x8000
END_OF_MESSAGE, NEXT_PROTOCOL, ERROR, WARNING, AEAD, NEW_COOKIE, SERVER, PORT = range(8)
AES_SIV_CMAC_256 = 15
AES_SIV_CMAC_384 = 16
AES_128_GCM_SIV = 30

# NTP extension fields (RFC 8915 §5).
EF_UID, EF_COOKIE, EF_PLACEHOLDER, EF_AUTH = 0x0104, 0x0204, 0x0304, 0x0404
CLEAR_TAG = b"clear-aead-tag!!"
FUZZ_UID = bytes(range(32))
FUZZ_NONCE = bytes(range(0xA0, 0xB0))
FUZZ_KEY_ID = 1
C2S, S2C = bytes([0x11]) * 32, bytes([0x22]) * 32


def record(rtype, body=b"", critical=True):
    return struct.pack(">HH", rtype | (CRITICAL if critical else 0), len(body)) + body


def u16s(*values):
    return b"".join(struct.pack(">H", v) for v in values)


END = record(END_OF_MESSAGE)


def ke_request(aeads=(AES_SIV_CMAC_256,), aead_critical=True, extra=b""):
    return record(NEXT_PROTOCOL, u16s(0)) + record(AEAD, u16s(*aeads), aead_critical) + extra + END


def cookie_records(n, length=104):
    return b"".join(record(NEW_COOKIE, bytes([i]) * length, False) for i in range(n))


def ke_response(cookies=8, extra=b"", aead=AES_SIV_CMAC_256):
    return record(NEXT_PROTOCOL, u16s(0)) + record(AEAD, u16s(aead)) + cookie_records(cookies) + extra + END


def ke_client_seeds():
    ok = ke_response(extra=record(SERVER, b"ntp.example.org") + record(PORT, u16s(1123)))
    return {
        "response": ke_response(),
        "response-server-port": ok,
        "response-one-cookie": ke_response(cookies=1),
        "response-ten-cookies": ke_response(cookies=10),
        "response-unknown-noncritical": ke_response(extra=record(0x4000, b"x", False)),
        "error-bad-request": record(ERROR, u16s(1)) + END,
        "warning": ke_response(extra=record(WARNING, u16s(0))),
        "no-common-protocol": record(NEXT_PROTOCOL) + END,
        "no-common-aead": record(NEXT_PROTOCOL, u16s(0)) + record(AEAD) + END,
        "unoffered-aead": ke_response(aead=AES_SIV_CMAC_384),
        "unknown-critical": ke_response(extra=record(0x1234)),
        "missing-end": ok[:-4],
        "truncated": ok[:-7],
        "data-after-end": ok + END,
        "cookie-too-long": ke_response(extra=record(NEW_COOKIE, bytes(260), False)),
        "cookie-odd-length": ke_response(extra=record(NEW_COOKIE, bytes(101), False)),
        "duplicate-port": ke_response(extra=record(PORT, u16s(1)) + record(PORT, u16s(2))),
        "bad-server-name": ke_response(extra=record(SERVER, b"ntp example")),
        "empty": b"",
    }


def ke_server_seeds():
    return {
        "request": ke_request(),
        "request-noncritical-aead": ke_request(aead_critical=False),
        "request-aeads": ke_request(aeads=(AES_128_GCM_SIV, AES_SIV_CMAC_256)),
        "request-unsupported-aead": ke_request(aeads=(AES_SIV_CMAC_384,)),
        "request-server-port": ke_request(extra=record(SERVER, b"192.0.2.1") + record(PORT, u16s(123))),
        "request-other-protocol": record(NEXT_PROTOCOL, u16s(0x1234)) + END,
        "missing-aead": record(NEXT_PROTOCOL, u16s(0)) + END,
        "missing-next-protocol": record(AEAD, u16s(AES_SIV_CMAC_256)) + END,
        "unknown-critical": ke_request(extra=record(0x2345)),
        "unexpected-cookie": ke_request(extra=record(NEW_COOKIE, bytes(16), False)),
        "duplicate-next-protocol": record(NEXT_PROTOCOL, u16s(0)) + ke_request(),
        "missing-end": ke_request()[:-4],
        "truncated": ke_request()[:-6],
        "empty": b"",
    }


def pad4(data):
    return data + bytes(-len(data) % 4)


def ef(field_type, body):
    body = pad4(body)
    length = max(4 + len(body), 16)
    return struct.pack(">HH", field_type, length) + body + bytes(length - 4 - len(body))


def authenticator(plain=b"", nonce=FUZZ_NONCE, extra=0, tag=CLEAR_TAG):
    cipher = tag + plain
    body = struct.pack(">HH", len(nonce), len(cipher)) + pad4(nonce) + pad4(cipher) + bytes(extra)
    return struct.pack(">HH", EF_AUTH, 4 + len(body)) + body


def ntp_header(mode, stratum=2, refid=0):
    return struct.pack(">BBbbIIIQQQQ", 4 << 3 | mode, stratum, 6, -20, 0, 0, refid, 0, 0, 0, 0x0123456789ABCDEF)


def server_cookie(key_id=FUZZ_KEY_ID, key_len=32):
    """A cookie as nts_cookie_encode() seals it with the clear AEAD."""
    return struct.pack(">I", key_id) + FUZZ_NONCE + CLEAR_TAG + struct.pack(">HH", AES_SIV_CMAC_256, key_len) + C2S + S2C


def new_cookies(n, length=104):
    return b"".join(ef(EF_COOKIE, bytes([i]) * length) for i in range(n))


def ntp_client_seeds():
    """Responses, read by the client: first byte 0."""
    response = ntp_header(4) + ef(EF_UID, FUZZ_UID)
    seeds = {
        "response": response + authenticator(new_cookies(3)),
        "response-ten-cookies": response + authenticator(new_cookies(10, length=12)),
        "response-no-cookies": response + authenticator(),
        "response-unencrypted-cookie": response + ef(EF_COOKIE, bytes(104)) + authenticator(),
        "response-bad-plaintext": response + authenticator(bytes(8)),
        "response-broken-tag": response + authenticator(new_cookies(1), tag=b"clear-aead-tag!?"),
        "response-short-nonce": response + authenticator(new_cookies(1), nonce=FUZZ_NONCE[:8]),
        "response-short-nonce-padded": response + authenticator(new_cookies(1), nonce=FUZZ_NONCE[:8], extra=8),
        "response-auth-not-last": response + authenticator(new_cookies(1)) + ef(0x0F00, b""),
        "response-foreign-uid": ntp_header(4) + ef(EF_UID, bytes(32)) + authenticator(new_cookies(1)),
        "nak": ntp_header(4, stratum=0, refid=0x4E54534E) + ef(EF_UID, FUZZ_UID),
        "short": ntp_header(4)[:40],
    }
    return {name: b"\x00" + data for name, data in seeds.items()}


def ntp_server_seeds():
    """Requests, read by the server: first byte 1."""
    cookie = server_cookie()
    head = ntp_header(3) + ef(EF_UID, FUZZ_UID)
    placeholder = ef(EF_PLACEHOLDER, bytes(len(cookie)))
    seeds = {
        "request": head + ef(EF_COOKIE, cookie) + authenticator(),
        "request-placeholders": head + ef(EF_COOKIE, cookie) + placeholder * 3 + authenticator(),
        "request-encrypted-placeholders": head + ef(EF_COOKIE, cookie) + authenticator(placeholder * 2),
        "request-unknown-key": head + ef(EF_COOKIE, server_cookie(key_id=2)) + authenticator(),
        "request-cookie-bad-keys": head + ef(EF_COOKIE, server_cookie(key_len=16)) + authenticator(),
        "request-broken-tag": head + ef(EF_COOKIE, cookie) + authenticator(tag=b"clear-aead-tag!?"),
        "request-short-uid": ntp_header(3) + ef(EF_UID, FUZZ_UID[:28]) + ef(EF_COOKIE, cookie) + authenticator(),
        "request-two-cookies": head + ef(EF_COOKIE, cookie) * 2 + authenticator(),
        "request-placeholder-mismatch": head + ef(EF_COOKIE, cookie) + ef(EF_PLACEHOLDER, bytes(12)) + authenticator(),
        "request-missing-padding": head + ef(EF_COOKIE, cookie) + authenticator(nonce=FUZZ_NONCE[:4]),
        "request-no-auth": head + ef(EF_COOKIE, cookie),
    }
    return {name: b"\x01" + data for name, data in seeds.items()}


def fnv1a(data):
    h = 2166136261
    for byte in data:
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    return h


def state_file(magic, payload, version=1):
    data = magic + struct.pack(">H", version) + payload
    return data + struct.pack(">I", fnv1a(data))


def client_state(n_cookies=3, server=b"ntp.example.org", version=1):
    payload = struct.pack(">HH", AES_SIV_CMAC_256, 32) + C2S + S2C + struct.pack(">QH", 1700000000, 1123)
    payload += bytes([len(server)]) + server + bytes([n_cookies])
    payload += b"".join(struct.pack(">H", 104) + bytes([i]) * 104 for i in range(n_cookies))
    return state_file(b"NTSC", payload, version)


def key_ring(ids=(2, 3, 4, 5), last_id=5):
    payload = struct.pack(">IB", last_id, len(ids))
    for i, key_id in enumerate(ids):
        payload += struct.pack(">IQHH", key_id, 1700000000 + i * 604800, AES_SIV_CMAC_256, 32) + bytes([key_id]) * 32
    return state_file(b"NTSK", payload)


def state_seeds():
    client, keys = client_state(), key_ring()
    seeds = {
        "client": b"\x00" + client,
        "client-empty": b"\x00" + client_state(n_cookies=0, server=b""),
        "client-version-2": b"\x00" + client_state(version=2),
        "client-bad-checksum": b"\x00" + client[:-1] + bytes([client[-1] ^ 1]),
        "client-truncated": b"\x00" + client[:-10],
        "keys": b"\x01" + keys,
        "keys-empty": b"\x01" + key_ring(ids=(), last_id=0),
        "keys-out-of-order": b"\x01" + key_ring(ids=(3, 2)),
        "keys-as-client": b"\x01" + client,
    }
    return seeds


def main():
    write_corpus("fuzz-nts-ke-client", ke_client_seeds())
    write_corpus("fuzz-nts-ke-server", ke_server_seeds())
    write_corpus("fuzz-nts-ntp", {**ntp_client_seeds(), **ntp_server_seeds()})
    write_corpus("fuzz-nts-state", state_seeds())


if __name__ == "__main__":
    main()
