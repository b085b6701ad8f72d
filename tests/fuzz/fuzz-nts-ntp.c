/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Fuzzes the NTS extension fields on both sides. The first byte chooses who reads the rest: bit 0
 * clear, the client (a response to the request with FUZZ_UID); set, the server (a request). The
 * AEAD of the packets is the clear one of tests/model/nts-fake-aead.h (the tag "clear-aead-tag!!"
 * then the plaintext), so that the fuzzer reaches what is inside the authenticator; the server's
 * cookies go through the real decoder, sealed (clear) under key id FUZZ_KEY_ID.
 *
 * Besides the sanitizers it checks: a refusal leaves the output untouched; an accepted response
 * holds one to eight usable cookies; an accepted request is answered with as many cookies as it
 * asked for in a response exactly as long, which the client accepts; a refusal that calls for an
 * NTS NAK gets one, which the client recognizes. Then, shaped by the input's first bytes, a round
 * trip with the fake AEAD (a real tag) must succeed, and a bit flip the input picks must fail. */

#include <string.h>

#include "../model/nts-fake-aead.h"
#include "fuzz.h"
#include "core/nts-cookie.h"
#include "core/nts-ntp.h"

#define FUZZ_KEY_ID 1
#define BUF_SIZE 2048

/* tests/fuzz/make-corpus-nts.py writes seeds with these. */
static const uint8_t fuzz_uid[NTS_UID_SIZE] = {
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
        16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};
static const uint8_t fuzz_nonce[NTS_NONCE_SIZE] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
                                                    0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf };

static struct nts_keys fuzz_keys(void) {
        struct nts_keys k = { .aead = NTS_AEAD_AES_SIV_CMAC_256, .key_len = 32 };

        memset(k.c2s, 0x11, 32);
        memset(k.s2c, 0x22, 32);
        return k;
}

static const struct nts_server_key *lookup_key(void *userdata, uint32_t id) {
        static const struct nts_server_key key = { .id = FUZZ_KEY_ID, .aead = NTS_AEAD_AES_SIV_CMAC_256, .key_len = 32 };

        return id == FUZZ_KEY_ID ? &key : NULL;
}

static int open_cookie(void *userdata, const uint8_t *cookie, size_t len, struct nts_keys *ret) {
        const struct nts_aead *aead = userdata;

        return nts_cookie_decode(aead, cookie, len, lookup_key, NULL, ret);
}

static void check_cookies(const struct nts_ntp_cookies *c) {
        fuzz_check(c->n >= 1 && c->n <= NTS_MAX_COOKIES);
        for (size_t i = 0; i < c->n; i++)
                fuzz_check(nts_cookie_length_valid(c->cookies[i].len));
}

static void as_client(const uint8_t *data, size_t size) {
        static struct nts_ntp_cookies got;
        struct nts_aead clear = nts_clear_aead();
        struct nts_keys keys = fuzz_keys();

        memset(&got, 0x5a, sizeof(got));
        enum nts_ntp_reason r = nts_ntp_client_response_verify(data, size, fuzz_uid, sizeof(fuzz_uid), &clear, &keys, &got);
        fuzz_check(nts_ntp_reason_to_string(r) != NULL);
        if (r == NTS_NTP_OK)
                check_cookies(&got);
        else
                fuzz_check(got.n == (size_t) 0x5a5a5a5a5a5a5a5au);
        if (r == NTS_NTP_NAK)
                fuzz_check(size >= NTP_HEADER_SIZE && data[1] == 0);
}

/* The NAK carries the request's first identifier, which the client then recognizes. */
static void answer_nak(const uint8_t *request, size_t size) {
        static uint8_t nak[BUF_SIZE];
        struct nts_aead clear = nts_clear_aead();
        struct nts_keys keys = fuzz_keys();
        struct nts_ntp_cookies got;
        size_t len;

        fuzz_check(nts_ntp_server_nak_build(request, request, size, nak, sizeof(nak), &len) == 0);
        fuzz_check(len <= size && len >= NTP_HEADER_SIZE + 16);
        size_t uid_len = len - NTP_HEADER_SIZE - NTS_EF_HEADER_SIZE;
        fuzz_check(nts_ntp_client_response_verify(nak, len, nak + NTP_HEADER_SIZE + NTS_EF_HEADER_SIZE, uid_len,
                                                  &clear, &keys, &got) == NTS_NTP_NAK);
}

static void answer(const uint8_t *request, size_t size, const struct nts_ntp_server_request *req, const struct nts_aead *aead) {
        static struct nts_cookie fresh[NTS_MAX_COOKIES];
        static struct nts_ntp_cookies got;
        static uint8_t resp[BUF_SIZE];
        size_t len, n;

        for (size_t i = 0; i < NTS_MAX_COOKIES; i++) {
                fresh[i].len = (uint16_t) req->cookie_len;
                memset(fresh[i].data, (int) i, req->cookie_len);
        }
        fuzz_check(nts_ntp_server_response_build(request, req, aead, fuzz_nonce, fresh, NTS_MAX_COOKIES, resp, sizeof(resp),
                                                 &len, &n) == 0);
        fuzz_check(n == req->n_cookies && len == size);
        fuzz_check(nts_ntp_client_response_verify(resp, len, req->uid, req->uid_len, aead, &req->keys, &got) == NTS_NTP_OK);
        fuzz_check(got.n == n);
}

static void as_server(const uint8_t *data, size_t size) {
        struct nts_aead clear = nts_clear_aead();
        struct nts_ntp_server_request req;

        memset(&req, 0x5a, sizeof(req));
        enum nts_ntp_reason r = nts_ntp_server_request_parse(data, size, &clear, open_cookie, &clear, &req);
        fuzz_check(nts_ntp_reason_to_string(r) != NULL);
        if (r != NTS_NTP_OK) {
                fuzz_check(req.len == (size_t) 0x5a5a5a5a5a5a5a5au);
                if (nts_ntp_reason_wants_nak(r))
                        answer_nak(data, size);
                return;
        }
        fuzz_check(req.uid >= data + NTP_HEADER_SIZE && req.uid + req.uid_len <= data + size);
        fuzz_check(req.uid_len >= NTS_UID_SIZE && nts_cookie_length_valid(req.cookie_len));
        fuzz_check(req.n_cookies >= 1 && req.n_cookies <= NTS_MAX_COOKIES && req.len == size);
        answer(data, size, &req, &clear);
}

/* The round trip's server takes any cookie for the fixed keys. */
static int any_cookie(void *userdata, const uint8_t *cookie, size_t len, struct nts_keys *ret) {
        *ret = fuzz_keys();
        return 0;
}

static void flip(uint8_t *buf, size_t bit) {
        buf[bit / 8] ^= (uint8_t) (1 << (bit % 8));
}

/* A request and its response with the fake AEAD, the input's first bytes as header and shape: both
 * must pass, and neither with a flipped bit. */
static void round_trip(const uint8_t *data) {
        static uint8_t req[BUF_SIZE], resp[BUF_SIZE];
        static struct nts_cookie fresh[NTS_MAX_COOKIES];
        static struct nts_ntp_cookies got;
        struct nts_fake_aead_state state = {};
        struct nts_aead fake = nts_fake_aead(&state);
        struct nts_keys keys = fuzz_keys();
        struct nts_cookie cookie = { .len = (uint16_t) (NTS_COOKIE_MIN_SIZE + 4 * (data[2] % 62)) };
        struct nts_cookie_jar empty = {};
        struct nts_ntp_server_request parsed;
        size_t req_len, len, n;

        memset(cookie.data, data[3], cookie.len);
        for (size_t i = 0; i < NTS_MAX_COOKIES; i++)
                fresh[i] = cookie;
        /* As many placeholders as a client with an empty jar would send at most. */
        size_t max = nts_cookie_jar_placeholders(&empty, cookie.len);
        struct nts_ntp_client_request cr = {
                .uid = fuzz_uid, .uid_len = sizeof(fuzz_uid), .cookie = &cookie,
                .n_placeholders = data[1] % (max + 1), .nonce = fuzz_nonce,
        };
        fuzz_check(nts_ntp_client_request_build(data, &cr, &fake, &keys, req, sizeof(req), &req_len) == 0);
        fuzz_check(req_len <= NTP_MAX_PACKET_SIZE);
        fuzz_check(nts_ntp_server_request_parse(req, req_len, &fake, any_cookie, NULL, &parsed) == NTS_NTP_OK);
        fuzz_check(parsed.n_cookies == 1 + cr.n_placeholders);
        fuzz_check(nts_ntp_server_response_build(data, &parsed, &fake, fuzz_nonce, fresh, NTS_MAX_COOKIES, resp,
                                                 sizeof(resp), &len, &n) == 0);
        fuzz_check(n == parsed.n_cookies && len == req_len);
        fuzz_check(nts_ntp_client_response_verify(resp, len, fuzz_uid, sizeof(fuzz_uid), &fake, &keys, &got) == NTS_NTP_OK);
        fuzz_check(got.n == n);

        size_t bit = (size_t) data[4] << 8 | data[5];
        flip(req, bit % (req_len * 8));
        fuzz_check(nts_ntp_server_request_parse(req, req_len, &fake, any_cookie, NULL, &parsed) != NTS_NTP_OK);
        flip(resp, bit % (len * 8));
        fuzz_check(nts_ntp_client_response_verify(resp, len, fuzz_uid, sizeof(fuzz_uid), &fake, &keys, &got) != NTS_NTP_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        if (data[0] & 1)
                as_server(data + 1, size - 1);
        else
                as_client(data + 1, size - 1);
        if (size >= NTP_HEADER_SIZE)
                round_trip(data);
        return 0;
}
