/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Unit tests for nts-ntp: the NTS extension fields of RFC 8915 §5 on both sides. Round trips run
 * with the fake AEAD (a real tag: flipped bits and wrong keys fail); known answers and hand-made
 * packets use the clear AEAD, whose bytes can be written out: the field layouts of the RFC's
 * figures as byte arrays. Every rejection reason has its packet. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../model/nts-fake-aead.h"
#include "core/nts-ntp.h"
#include "core/unaligned.h"
#include "unit-test.h"

#define BUF_SIZE 2048

static const uint8_t nonce[NTS_NONCE_SIZE] = {
        0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
};
static const uint8_t server_nonce[NTS_NONCE_SIZE] = {
        0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
};

/* What a test works with: the session keys, a cookie, an identifier, the two AEADs. */
struct fixture {
        struct nts_keys keys;
        struct nts_cookie cookie;
        uint8_t uid[NTS_UID_SIZE];
        uint8_t header[NTP_HEADER_SIZE];
        struct nts_fake_aead_state fake_state;
        struct nts_aead fake;
        struct nts_aead clear;
        unsigned cookie_opens;
        bool cookie_keys_other_aead;
        uint8_t *request_copy;
};

static struct fixture *fx;

static int setup(void **state) {
        fx = calloc(1, sizeof(*fx));
        assert_non_null(fx);
        fx->keys = (struct nts_keys) { .aead = NTS_AEAD_AES_SIV_CMAC_256, .key_len = 32 };
        memset(fx->keys.c2s, 0x11, 32);
        memset(fx->keys.s2c, 0x22, 32);
        fx->cookie.len = 12;
        for (int i = 0; i < 12; i++)
                fx->cookie.data[i] = (uint8_t) (0xc0 + i);
        for (int i = 0; i < NTS_UID_SIZE; i++)
                fx->uid[i] = (uint8_t) i;
        for (int i = 0; i < NTP_HEADER_SIZE; i++)
                fx->header[i] = (uint8_t) (0x40 + i);
        fx->header[0] = 0x23;   /* version 4, client */
        fx->header[1] = 2;
        fx->fake = nts_fake_aead(&fx->fake_state);
        fx->clear = nts_clear_aead();
        return 0;
}

static int teardown(void **state) {
        free(fx->request_copy);
        free(fx);
        return 0;
}

/* The server's cookie decoder: our one cookie opens to the fixture's keys. */
static int open_cookie(void *userdata, const uint8_t *cookie, size_t len, struct nts_keys *ret) {
        struct fixture *f = userdata;

        f->cookie_opens++;
        if (len != f->cookie.len || memcmp(cookie, f->cookie.data, len) != 0)
                return -ENOKEY;
        *ret = f->keys;
        if (f->cookie_keys_other_aead)
                ret->aead = NTS_AEAD_AES_SIV_CMAC_512;
        return 0;
}

/* A packet made by hand. */
struct pkt {
        uint8_t buf[BUF_SIZE];
        struct nts_writer w;
};

static void pkt_init(struct pkt *p) {
        p->w = (struct nts_writer) { .buf = p->buf, .size = sizeof(p->buf) };
        nts_writer_put(&p->w, fx->header, NTP_HEADER_SIZE);
}

static void pkt_ef(struct pkt *p, uint16_t type, const void *body, size_t len) {
        nts_ntp_ef_append(&p->w, type, body, len);
        assert_false(p->w.overflow);
}

static void pkt_uid(struct pkt *p) {
        pkt_ef(p, NTS_EF_UNIQUE_IDENTIFIER, fx->uid, sizeof(fx->uid));
}

/* An authenticator as the clear AEAD makes it: nonce, the tag then the plaintext, and extra
 * padding bytes. */
static void pkt_clear_auth(struct pkt *p, size_t nonce_len, size_t extra, const void *plain, size_t plain_len) {
        size_t cipher_len = NTS_FAKE_TAG_SIZE + plain_len;
        size_t len = 8 + nonce_len + nts_padding(nonce_len) + cipher_len + nts_padding(cipher_len) + extra;
        uint8_t nonce_bytes[64] = {};

        assert_true(nonce_len <= sizeof(nonce_bytes));
        memcpy(nonce_bytes, nonce, sizeof(nonce));

        nts_writer_put_u16(&p->w, NTS_EF_AUTHENTICATOR);
        nts_writer_put_u16(&p->w, (uint16_t) len);
        nts_writer_put_u16(&p->w, (uint16_t) nonce_len);
        nts_writer_put_u16(&p->w, (uint16_t) cipher_len);
        nts_writer_put(&p->w, nonce_bytes, nonce_len);
        nts_writer_put_zeros(&p->w, nts_padding(nonce_len));
        nts_writer_put(&p->w, NTS_CLEAR_TAG, NTS_FAKE_TAG_SIZE);
        nts_writer_put(&p->w, plain, plain_len);
        nts_writer_put_zeros(&p->w, nts_padding(cipher_len) + extra);
        assert_false(p->w.overflow);
}

/* Encrypted fields for pkt_clear_auth(). */
struct plain {
        uint8_t buf[BUF_SIZE];
        struct nts_writer w;
};

static void plain_init(struct plain *p) {
        p->w = (struct nts_writer) { .buf = p->buf, .size = sizeof(p->buf) };
}

static void plain_cookie(struct plain *p, size_t len, uint8_t fill) {
        uint8_t body[512];

        memset(body, fill, len);
        nts_ntp_ef_append(&p->w, NTS_EF_COOKIE, body, len);
}

/* A heap copy of exactly len bytes, so that ASan sees any read past the packet. */
static uint8_t *copy_of(const uint8_t *buf, size_t len) {
        uint8_t *c = malloc(len ? len : 1);

        assert_non_null(c);
        memcpy(c, buf, len);
        return c;
}

static enum nts_ntp_reason verify(const struct nts_aead *aead, const uint8_t *buf, size_t len, struct nts_ntp_cookies *ret) {
        uint8_t *c = copy_of(buf, len);
        enum nts_ntp_reason r = nts_ntp_client_response_verify(c, len, fx->uid, sizeof(fx->uid), aead, &fx->keys, ret);
        free(c);
        return r;
}

/* The copy lives until the next parse: the parsed request's identifier points into it. */
static enum nts_ntp_reason server_parse(const struct nts_aead *aead, const uint8_t *buf, size_t len,
                                        struct nts_ntp_server_request *ret) {
        free(fx->request_copy);
        fx->request_copy = copy_of(buf, len);
        return nts_ntp_server_request_parse(fx->request_copy, len, aead, open_cookie, fx, ret);
}

static void assert_reason(enum nts_ntp_reason got, enum nts_ntp_reason expected) {
        if (got != expected) {
                print_error("expected \"%s\", got \"%s\"\n", nts_ntp_reason_to_string(expected), nts_ntp_reason_to_string(got));
                fail();
        }
}

/* The client refuses the packet, and its output stays untouched. */
static void assert_client_refuses(const struct nts_aead *aead, const struct pkt *p, enum nts_ntp_reason reason) {
        struct nts_ntp_cookies *ret = malloc(sizeof(*ret));

        assert_non_null(ret);
        memset(ret, 0xa5, sizeof(*ret));
        assert_reason(verify(aead, p->buf, p->w.len, ret), reason);
        assert_int_equal(ret->cookies[0].data[0], 0xa5);
        assert_true(ret->n == (size_t) 0xa5a5a5a5a5a5a5a5u);
        free(ret);
}

static void assert_server_refuses(const struct nts_aead *aead, const struct pkt *p, enum nts_ntp_reason reason) {
        struct nts_ntp_server_request ret;

        memset(&ret, 0xa5, sizeof(ret));
        assert_reason(server_parse(aead, p->buf, p->w.len, &ret), reason);
        assert_true(ret.len == (size_t) 0xa5a5a5a5a5a5a5a5u);
}

static size_t client_request(const struct nts_aead *aead, size_t n_placeholders, uint8_t *buf) {
        struct nts_ntp_client_request req = {
                .uid = fx->uid,
                .uid_len = sizeof(fx->uid),
                .cookie = &fx->cookie,
                .n_placeholders = n_placeholders,
                .nonce = nonce,
        };
        size_t len = 0;

        assert_int_equal(nts_ntp_client_request_build(fx->header, &req, aead, &fx->keys, buf, BUF_SIZE, &len), 0);
        return len;
}

/* RFC 7822 Figure 1: type, length, value padded to 4, a field at least 16 bytes long. */
static void test_ef_layout(void **state) {
        static const uint8_t expected[] = {
                0x01, 0x04, 0x00, 0x10, 'a', 'b', 'c', 'd', 'e', 0, 0, 0, 0, 0, 0, 0,
                0x03, 0x04, 0x00, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        };
        uint8_t buf[64];
        struct nts_writer w = { .buf = buf, .size = sizeof(buf) };
        struct nts_ef ef;
        size_t pos = 0;

        nts_ntp_ef_append(&w, NTS_EF_UNIQUE_IDENTIFIER, "abcde", 5);
        nts_ntp_ef_append(&w, NTS_EF_COOKIE_PLACEHOLDER, NULL, 16);
        assert_false(w.overflow);
        assert_int_equal(w.len, sizeof(expected));
        assert_memory_equal(buf, expected, sizeof(expected));

        assert_int_equal(nts_ntp_ef_next(buf, w.len, &pos, &ef), 1);
        assert_int_equal(ef.type, NTS_EF_UNIQUE_IDENTIFIER);
        assert_int_equal(ef.len, 16);
        assert_int_equal(ef.body_len, 12);
        assert_ptr_equal(ef.body, buf + 4);
        assert_int_equal(nts_ntp_ef_next(buf, w.len, &pos, &ef), 1);
        assert_int_equal(ef.type, NTS_EF_COOKIE_PLACEHOLDER);
        assert_int_equal(ef.len, 20);
        assert_int_equal(nts_ntp_ef_next(buf, w.len, &pos, &ef), 0);

        /* Too short, not a multiple of 4, past the end, a header cut. */
        uint8_t bad[20] = { 0x01, 0x04, 0x00, 0x0c };
        pos = 0;
        assert_int_equal(nts_ntp_ef_next(bad, sizeof(bad), &pos, &ef), -EBADMSG);
        bad[3] = 0x11;
        assert_int_equal(nts_ntp_ef_next(bad, sizeof(bad), &pos, &ef), -EBADMSG);
        bad[3] = 0x18;
        assert_int_equal(nts_ntp_ef_next(bad, sizeof(bad), &pos, &ef), -EBADMSG);
        bad[3] = 0x14;
        assert_int_equal(nts_ntp_ef_next(bad, sizeof(bad), &pos, &ef), 1);
        pos = 0;
        assert_int_equal(nts_ntp_ef_next(bad, 3, &pos, &ef), -EBADMSG);
        assert_int_equal(pos, 0);

        /* A body beyond what a 16-bit length says. */
        static uint8_t big[70000];
        w = (struct nts_writer) { .buf = big, .size = sizeof(big) };
        nts_ntp_ef_append(&w, NTS_EF_COOKIE, NULL, 65532);
        assert_true(w.overflow);
}

/* RFC 8915 §5.7 and Figure 5: after the header, Unique Identifier, Cookie, a Placeholder, and the
 * Authenticator: nonce length, ciphertext length, nonce, ciphertext (here: the tag alone). */
static void test_client_request_known_answer(void **state) {
        static const uint8_t expected[] = {
                0x01, 0x04, 0x00, 0x24,
                0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
                0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
                0x02, 0x04, 0x00, 0x10, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb,
                0x03, 0x04, 0x00, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0x04, 0x04, 0x00, 0x28, 0x00, 0x10, 0x00, 0x10,
                0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
                'c', 'l', 'e', 'a', 'r', '-', 'a', 'e', 'a', 'd', '-', 't', 'a', 'g', '!', '!',
        };
        uint8_t buf[BUF_SIZE];

        size_t len = client_request(&fx->clear, 1, buf);
        assert_int_equal(len, NTP_HEADER_SIZE + sizeof(expected));
        assert_memory_equal(buf, fx->header, NTP_HEADER_SIZE);
        assert_memory_equal(buf + NTP_HEADER_SIZE, expected, sizeof(expected));
}

/* The server's answer to that request with one new cookie: the echoed identifier, and the cookie
 * inside the authenticator, padded to the request's length. */
static void test_server_response_known_answer(void **state) {
        static const uint8_t expected_auth[] = {
                0x04, 0x04, 0x00, 0x48, 0x00, 0x10, 0x00, 0x20,
                0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
                'c', 'l', 'e', 'a', 'r', '-', 'a', 'e', 'a', 'd', '-', 't', 'a', 'g', '!', '!',
                0x02, 0x04, 0x00, 0x10, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        };
        uint8_t req[BUF_SIZE], resp[BUF_SIZE], header[NTP_HEADER_SIZE];
        struct nts_ntp_server_request parsed;
        struct nts_cookie fresh = { .len = 12 };
        size_t len, n;

        for (int i = 0; i < 12; i++)
                fresh.data[i] = (uint8_t) (0xd0 + i);
        memset(header, 0x24, sizeof(header));
        size_t req_len = client_request(&fx->clear, 1, req);
        assert_reason(server_parse(&fx->clear, req, req_len, &parsed), NTS_NTP_OK);

        assert_int_equal(nts_ntp_server_response_build(header, &parsed, &fx->clear, server_nonce, &fresh, 1, resp,
                                                       sizeof(resp), &len, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(len, req_len);
        assert_memory_equal(resp, header, NTP_HEADER_SIZE);
        assert_memory_equal(resp + NTP_HEADER_SIZE, req + NTP_HEADER_SIZE, 36);   /* the identifier, echoed */
        assert_int_equal(len, NTP_HEADER_SIZE + 36 + sizeof(expected_auth));
        assert_memory_equal(resp + NTP_HEADER_SIZE + 36, expected_auth, sizeof(expected_auth));
}

static void test_round_trip(void **state) {
        uint8_t req[BUF_SIZE], resp[BUF_SIZE];
        struct nts_cookie fresh[NTS_MAX_COOKIES];
        struct nts_ntp_cookies *got = malloc(sizeof(*got));

        assert_non_null(got);
        fx->cookie.len = 104;
        for (size_t i = 0; i < NTS_MAX_COOKIES; i++) {
                fresh[i].len = 104;
                memset(fresh[i].data, (int) (0x30 + i), 104);
        }

        for (size_t placeholders = 0; placeholders < NTS_MAX_COOKIES; placeholders++) {
                struct nts_ntp_server_request parsed;
                size_t req_len = client_request(&fx->fake, placeholders, req), len, n;

                assert_true(req_len <= NTP_MAX_PACKET_SIZE);
                assert_reason(server_parse(&fx->fake, req, req_len, &parsed), NTS_NTP_OK);
                assert_int_equal(parsed.n_cookies, placeholders + 1);
                assert_int_equal(parsed.cookie_len, 104);
                assert_int_equal(parsed.len, req_len);
                assert_int_equal(parsed.uid_len, NTS_UID_SIZE);
                assert_memory_equal(&parsed.keys, &fx->keys, sizeof(fx->keys));

                assert_int_equal(nts_ntp_server_response_build(fx->header, &parsed, &fx->fake, server_nonce, fresh,
                                                               NTS_MAX_COOKIES, resp, sizeof(resp), &len, &n), 0);
                assert_int_equal(n, placeholders + 1);
                assert_int_equal(len, req_len);
                assert_reason(verify(&fx->fake, resp, len, got), NTS_NTP_OK);
                assert_int_equal(got->n, placeholders + 1);
                for (size_t i = 0; i < got->n; i++) {
                        assert_int_equal(got->cookies[i].len, 104);
                        assert_memory_equal(got->cookies[i].data, fresh[i].data, 104);
                }

                /* The same response is no answer to another request. */
                fx->uid[0] ^= 1;
                assert_reason(verify(&fx->fake, resp, len, got), NTS_NTP_UID_MISMATCH);
                fx->uid[0] ^= 1;
        }
        free(got);
}

/* Every bit of a request and of a response is covered: a flip is refused (most by the tag, some
 * sooner by the field checks), never accepted. */
static void test_bit_flips(void **state) {
        uint8_t req[BUF_SIZE], resp[BUF_SIZE];
        struct nts_ntp_server_request parsed;
        struct nts_ntp_cookies *got = malloc(sizeof(*got));
        size_t len, n;

        assert_non_null(got);
        size_t req_len = client_request(&fx->fake, 2, req);
        size_t auth_failures = 0;
        for (size_t bit = 0; bit < req_len * 8; bit++) {
                req[bit / 8] ^= (uint8_t) (1 << (bit % 8));
                enum nts_ntp_reason r = server_parse(&fx->fake, req, req_len, &parsed);
                assert_int_not_equal(r, NTS_NTP_OK);
                auth_failures += r == NTS_NTP_AUTH_FAILED;
                req[bit / 8] ^= (uint8_t) (1 << (bit % 8));
        }
        assert_true(auth_failures > req_len * 4);

        /* One cookie for one: a response without padding, every bit of it checked. */
        req_len = client_request(&fx->fake, 0, req);
        assert_reason(server_parse(&fx->fake, req, req_len, &parsed), NTS_NTP_OK);
        assert_int_equal(nts_ntp_server_response_build(fx->header, &parsed, &fx->fake, server_nonce, &fx->cookie, 1, resp,
                                                       sizeof(resp), &len, &n), 0);
        assert_int_equal(len, req_len);
        assert_reason(verify(&fx->fake, resp, len, got), NTS_NTP_OK);
        auth_failures = 0;
        for (size_t bit = 0; bit < len * 8; bit++) {
                resp[bit / 8] ^= (uint8_t) (1 << (bit % 8));
                enum nts_ntp_reason r = verify(&fx->fake, resp, len, got);
                assert_int_not_equal(r, NTS_NTP_OK);
                auth_failures += r == NTS_NTP_AUTH_FAILED;
                resp[bit / 8] ^= (uint8_t) (1 << (bit % 8));
        }
        assert_true(auth_failures > len * 4);
        free(got);
}

/* The C2S key does not open what the S2C key sealed, and the other way round. */
static void test_wrong_keys(void **state) {
        uint8_t req[BUF_SIZE], resp[BUF_SIZE];
        struct nts_ntp_server_request parsed;
        struct pkt p;
        size_t len, n;

        size_t req_len = client_request(&fx->fake, 0, req);
        assert_reason(server_parse(&fx->fake, req, req_len, &parsed), NTS_NTP_OK);
        assert_int_equal(nts_ntp_server_response_build(fx->header, &parsed, &fx->fake, server_nonce, &fx->cookie, 1, resp,
                                                       sizeof(resp), &len, &n), 0);
        memcpy(p.buf, resp, len);
        p.w.len = len;
        struct nts_keys saved = fx->keys;
        memcpy(fx->keys.s2c, fx->keys.c2s, 32);
        assert_client_refuses(&fx->fake, &p, NTS_NTP_AUTH_FAILED);
        fx->keys = saved;

        /* The server with the keys of another cookie. */
        fx->keys.c2s[0] ^= 1;
        memcpy(p.buf, req, req_len);
        p.w.len = req_len;
        assert_server_refuses(&fx->fake, &p, NTS_NTP_AUTH_FAILED);
        fx->keys = saved;
}

static void test_client_build_arguments(void **state) {
        struct nts_ntp_client_request req = {
                .uid = fx->uid, .uid_len = NTS_UID_SIZE, .cookie = &fx->cookie, .nonce = nonce,
        };
        uint8_t buf[BUF_SIZE];
        size_t len = 12345;

        req.uid_len = NTS_UID_SIZE - 1;
        assert_int_equal(nts_ntp_client_request_build(fx->header, &req, &fx->clear, &fx->keys, buf, sizeof(buf), &len), -EINVAL);
        req.uid_len = NTS_UID_SIZE;
        req.n_placeholders = NTS_MAX_COOKIES;
        assert_int_equal(nts_ntp_client_request_build(fx->header, &req, &fx->clear, &fx->keys, buf, sizeof(buf), &len), -EINVAL);
        req.n_placeholders = 0;
        fx->cookie.len = 13;
        assert_int_equal(nts_ntp_client_request_build(fx->header, &req, &fx->clear, &fx->keys, buf, sizeof(buf), &len), -EINVAL);
        fx->cookie.len = 12;
        req.nonce = NULL;
        assert_int_equal(nts_ntp_client_request_build(fx->header, &req, &fx->clear, &fx->keys, buf, sizeof(buf), &len), -EINVAL);
        req.nonce = nonce;
        fx->keys.aead = NTS_AEAD_AES_SIV_CMAC_384;
        assert_int_equal(nts_ntp_client_request_build(fx->header, &req, &fx->clear, &fx->keys, buf, sizeof(buf), &len), -EINVAL);
        fx->keys.aead = NTS_AEAD_AES_SIV_CMAC_256;
        fx->keys.key_len = 16;
        assert_int_equal(nts_ntp_client_request_build(fx->header, &req, &fx->clear, &fx->keys, buf, sizeof(buf), &len), -EINVAL);
        fx->keys.key_len = 32;

        /* 48 + 36 + 16 + 40 bytes: each one less fails. */
        assert_int_equal(nts_ntp_client_request_build(fx->header, &req, &fx->clear, &fx->keys, buf, 140, &len), 0);
        assert_int_equal(len, 140);
        len = 12345;
        assert_int_equal(nts_ntp_client_request_build(fx->header, &req, &fx->clear, &fx->keys, buf, 139, &len), -ENOBUFS);
        assert_int_equal(nts_ntp_client_request_build(fx->header, &req, &fx->clear, &fx->keys, buf, 99, &len), -ENOBUFS);
        assert_int_equal(len, 12345);
}

static int failing_seal(void *ctx, const uint8_t *n, size_t nl, const uint8_t *ad, size_t adl, const uint8_t *p, size_t pl,
                        uint8_t *out) {
        return -EIO;
}

static void test_aead_failure_passed_on(void **state) {
        struct nts_aead_ops ops = *fx->clear.ops;
        struct nts_aead failing = { .ops = &ops };
        uint8_t req[BUF_SIZE], resp[BUF_SIZE];
        struct nts_ntp_server_request parsed;
        size_t len = 12345, n;

        ops.seal = failing_seal;
        struct nts_ntp_client_request cr = { .uid = fx->uid, .uid_len = NTS_UID_SIZE, .cookie = &fx->cookie, .nonce = nonce };
        assert_int_equal(nts_ntp_client_request_build(fx->header, &cr, &failing, &fx->keys, req, sizeof(req), &len), -EIO);
        assert_int_equal(len, 12345);

        size_t req_len = client_request(&fx->clear, 0, req);
        assert_reason(server_parse(&fx->clear, req, req_len, &parsed), NTS_NTP_OK);
        assert_int_equal(nts_ntp_server_response_build(fx->header, &parsed, &failing, server_nonce, &fx->cookie, 1, resp,
                                                       sizeof(resp), &len, &n), -EIO);
        assert_int_equal(len, 12345);
}

/* An AEAD whose nonces are 12 bytes (AES-128-GCM-SIV): N_REQ is 12, no extra padding needed. */
static void test_short_nonce_aead(void **state) {
        struct nts_aead_ops ops = *fx->clear.ops;
        struct nts_aead gcm = { .ops = &ops };
        uint8_t req[BUF_SIZE];
        struct nts_ntp_server_request parsed;
        struct pkt p;

        ops.nonce_min = ops.nonce_max = 12;
        size_t len = client_request(&gcm, 0, req);
        assert_int_equal(len, NTP_HEADER_SIZE + 36 + 16 + 36);                /* 8 + 12 + 16 */
        assert_int_equal(unaligned_read_be16(req + len - 36 + 4), 12);        /* nonce length */
        assert_reason(server_parse(&gcm, req, len, &parsed), NTS_NTP_OK);

        /* A 16-byte nonce is more than this AEAD takes. */
        pkt_init(&p);
        pkt_uid(&p);
        pkt_ef(&p, NTS_EF_COOKIE, fx->cookie.data, fx->cookie.len);
        pkt_clear_auth(&p, 16, 0, NULL, 0);
        assert_server_refuses(&gcm, &p, NTS_NTP_BAD_AUTH);
}

static void test_server_response_build(void **state) {
        uint8_t req[BUF_SIZE], resp[BUF_SIZE];
        struct nts_ntp_server_request parsed;
        struct nts_cookie big[3], bad = { .len = 13 };
        struct nts_ntp_cookies *got = malloc(sizeof(*got));
        size_t len = 12345, n = 12345;

        assert_non_null(got);
        size_t req_len = client_request(&fx->fake, 2, req);     /* 12-byte cookie, asks for 3 */
        assert_reason(server_parse(&fx->fake, req, req_len, &parsed), NTS_NTP_OK);

        /* Larger cookies than the client's: only as many as keep the response within the request. */
        for (size_t i = 0; i < 3; i++)
                big[i].len = 28;
        assert_int_equal(nts_ntp_server_response_build(fx->header, &parsed, &fx->fake, server_nonce, big, 3, resp,
                                                       sizeof(resp), &len, &n), 0);
        assert_int_equal(len, req_len);
        assert_int_equal(n, 1);   /* the request's 3 × 16 bytes of cookie fields hold one of 32 */
        assert_reason(verify(&fx->fake, resp, len, got), NTS_NTP_OK);
        assert_int_equal(got->n, 1);

        /* None at all fits: an authenticated response without cookies, which the client refuses. */
        big[0].len = NTS_COOKIE_MAX_SIZE;
        assert_int_equal(nts_ntp_server_response_build(fx->header, &parsed, &fx->fake, server_nonce, big, 1, resp,
                                                       sizeof(resp), &len, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(len, req_len);
        assert_reason(verify(&fx->fake, resp, len, got), NTS_NTP_NO_COOKIES);

        /* More than asked for: capped. No cookies: fine, if useless. */
        struct nts_cookie same[5];
        for (size_t i = 0; i < 5; i++)
                same[i] = fx->cookie;
        assert_int_equal(nts_ntp_server_response_build(fx->header, &parsed, &fx->fake, server_nonce, same, 5, resp,
                                                       sizeof(resp), &len, NULL), 0);
        assert_reason(verify(&fx->fake, resp, len, got), NTS_NTP_OK);
        assert_int_equal(got->n, 3);
        assert_int_equal(nts_ntp_server_response_build(fx->header, &parsed, &fx->fake, server_nonce, NULL, 0, resp,
                                                       sizeof(resp), &len, &n), 0);
        assert_int_equal(n, 0);

        len = 12345;
        assert_int_equal(nts_ntp_server_response_build(fx->header, &parsed, &fx->fake, server_nonce, &bad, 1, resp,
                                                       sizeof(resp), &len, &n), -EINVAL);
        assert_int_equal(nts_ntp_server_response_build(fx->header, &parsed, &fx->fake, NULL, same, 1, resp,
                                                       sizeof(resp), &len, &n), -EINVAL);
        assert_int_equal(nts_ntp_server_response_build(fx->header, &parsed, &fx->fake, server_nonce, NULL, 1, resp,
                                                       sizeof(resp), &len, &n), -EINVAL);
        parsed.keys.aead = NTS_AEAD_AES_SIV_CMAC_512;
        assert_int_equal(nts_ntp_server_response_build(fx->header, &parsed, &fx->fake, server_nonce, same, 1, resp,
                                                       sizeof(resp), &len, &n), -EINVAL);
        parsed.keys.aead = NTS_AEAD_AES_SIV_CMAC_256;
        parsed.uid_len = 31;
        assert_int_equal(nts_ntp_server_response_build(fx->header, &parsed, &fx->fake, server_nonce, same, 1, resp,
                                                       sizeof(resp), &len, &n), -EINVAL);
        parsed.uid_len = 32;
        assert_int_equal(nts_ntp_server_response_build(fx->header, &parsed, &fx->fake, server_nonce, same, 1, resp,
                                                       100, &len, &n), -ENOBUFS);
        assert_int_equal(nts_ntp_server_response_build(fx->header, &parsed, &fx->fake, server_nonce, same, 1, resp,
                                                       req_len - 1, &len, &n), -ENOBUFS);
        assert_int_equal(len, 12345);
        free(got);
}

static void test_nak(void **state) {
        static const uint8_t expected_uid_ef[] = {
                0x01, 0x04, 0x00, 0x24,
                0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
                0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
        };
        uint8_t req[BUF_SIZE];
        struct pkt p;
        size_t len;

        size_t req_len = client_request(&fx->fake, 3, req);
        pkt_init(&p);
        assert_int_equal(nts_ntp_server_nak_build(fx->header, req, req_len, p.buf, sizeof(p.buf), &len), 0);
        p.w.len = len;
        assert_int_equal(len, NTP_HEADER_SIZE + sizeof(expected_uid_ef));
        assert_int_equal(p.buf[0], 0xc0 | (fx->header[0] & 0x3f));                  /* leap 3 */
        assert_int_equal(p.buf[1], 0);                                               /* stratum 0 */
        assert_memory_equal(p.buf + 12, "NTSN", 4);
        assert_memory_equal(p.buf + 2, fx->header + 2, 10);
        assert_memory_equal(p.buf + 16, fx->header + 16, 32);
        assert_memory_equal(p.buf + NTP_HEADER_SIZE, expected_uid_ef, sizeof(expected_uid_ef));

        /* The client believes a NAK only for its own request. */
        assert_client_refuses(&fx->fake, &p, NTS_NTP_NAK);
        fx->uid[5] ^= 1;
        assert_client_refuses(&fx->fake, &p, NTS_NTP_UID_MISMATCH);
        fx->uid[5] ^= 1;
        /* A KoD of another kind with our identifier is still no authenticated response. */
        memcpy(p.buf + 12, "RATE", 4);
        assert_client_refuses(&fx->fake, &p, NTS_NTP_MISSING_AUTH);
        memcpy(p.buf + 12, "NTSN", 4);
        p.buf[1] = 1;
        assert_client_refuses(&fx->fake, &p, NTS_NTP_MISSING_AUTH);

        /* Without an identifier there is nothing to answer. */
        assert_int_equal(nts_ntp_server_nak_build(fx->header, req, NTP_HEADER_SIZE, p.buf, sizeof(p.buf), &len), -EBADMSG);
        assert_int_equal(nts_ntp_server_nak_build(fx->header, req, 40, p.buf, sizeof(p.buf), &len), -EBADMSG);
        assert_int_equal(nts_ntp_server_nak_build(fx->header, req, req_len, p.buf, 83, &len), -ENOBUFS);
        assert_int_equal(nts_ntp_server_nak_build(fx->header, req, req_len, p.buf, 47, &len), -ENOBUFS);

        assert_true(nts_ntp_reason_wants_nak(NTS_NTP_UNKNOWN_COOKIE));
        assert_true(nts_ntp_reason_wants_nak(NTS_NTP_AUTH_FAILED));
        assert_true(nts_ntp_reason_wants_nak(NTS_NTP_UNSUPPORTED_AEAD));
        for (int r = 0; r < _NTS_NTP_REASON_MAX; r++)
                if (r != NTS_NTP_UNKNOWN_COOKIE && r != NTS_NTP_AUTH_FAILED && r != NTS_NTP_UNSUPPORTED_AEAD)
                        assert_false(nts_ntp_reason_wants_nak(r));
}

/* A response made by hand with one good cookie inside, as the tests below vary it. */
static void response_with(struct pkt *p, const struct plain *inside) {
        pkt_init(p);
        p->buf[1] = 2;
        pkt_uid(p);
        pkt_clear_auth(p, 16, 0, inside->buf, inside->w.len);
}

static void test_client_refusals(void **state) {
        struct plain inside;
        struct pkt p;

        plain_init(&inside);
        plain_cookie(&inside, 100, 1);
        response_with(&p, &inside);
        struct nts_ntp_cookies got;
        assert_reason(verify(&fx->clear, p.buf, p.w.len, &got), NTS_NTP_OK);

        p.w.len = NTP_HEADER_SIZE - 1;
        assert_client_refuses(&fx->clear, &p, NTS_NTP_TOO_SHORT);
        p.w.len = NTP_MAX_PACKET_SIZE + 4;
        assert_client_refuses(&fx->clear, &p, NTS_NTP_TOO_LONG);

        response_with(&p, &inside);
        nts_writer_put_zeros(&p.w, 4);
        assert_client_refuses(&fx->clear, &p, NTS_NTP_MALFORMED);
        response_with(&p, &inside);
        pkt_ef(&p, 0x0900, NULL, 12);
        assert_client_refuses(&fx->clear, &p, NTS_NTP_AUTH_NOT_LAST);

        pkt_init(&p);
        pkt_clear_auth(&p, 16, 0, inside.buf, inside.w.len);
        assert_client_refuses(&fx->clear, &p, NTS_NTP_MISSING_UID);

        pkt_init(&p);
        pkt_uid(&p);
        pkt_uid(&p);
        pkt_clear_auth(&p, 16, 0, inside.buf, inside.w.len);
        assert_client_refuses(&fx->clear, &p, NTS_NTP_DUPLICATE_UID);

        pkt_init(&p);
        pkt_ef(&p, NTS_EF_UNIQUE_IDENTIFIER, fx->uid, 28);
        pkt_clear_auth(&p, 16, 0, inside.buf, inside.w.len);
        assert_client_refuses(&fx->clear, &p, NTS_NTP_UID_MISMATCH);

        pkt_init(&p);
        pkt_uid(&p);
        assert_client_refuses(&fx->clear, &p, NTS_NTP_MISSING_AUTH);

        /* The keys are for another algorithm, or of the wrong length for this one. */
        response_with(&p, &inside);
        fx->keys.aead = NTS_AEAD_AES_128_GCM_SIV;
        assert_client_refuses(&fx->clear, &p, NTS_NTP_UNSUPPORTED_AEAD);
        fx->keys.aead = NTS_AEAD_AES_SIV_CMAC_256;
        fx->keys.key_len = 31;
        assert_client_refuses(&fx->clear, &p, NTS_NTP_UNSUPPORTED_AEAD);
        fx->keys.key_len = 32;

        response_with(&p, &inside);
        p.buf[p.w.len - inside.w.len - 1] ^= 1;     /* the tag */
        assert_client_refuses(&fx->clear, &p, NTS_NTP_AUTH_FAILED);
}

static void test_client_authenticator_format(void **state) {
        struct plain inside;
        struct pkt p;

        plain_init(&inside);
        plain_cookie(&inside, 100, 1);

        /* Nonce length 0; ciphertext shorter than a tag; lengths beyond the field. */
        static const struct { uint16_t nonce_len, cipher_len; } bad[] = { { 0, 16 }, { 16, 15 }, { 16, 2000 }, { 2000, 16 } };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                response_with(&p, &inside);
                uint8_t *auth = p.buf + NTP_HEADER_SIZE + 36;
                unaligned_write_be16(auth + 4, bad[i].nonce_len);
                unaligned_write_be16(auth + 6, bad[i].cipher_len);
                assert_client_refuses(&fx->clear, &p, NTS_NTP_BAD_AUTH);
        }

        /* A short nonce needs padding up to 16 bytes. */
        pkt_init(&p);
        pkt_uid(&p);
        pkt_clear_auth(&p, 8, 0, inside.buf, inside.w.len);
        assert_client_refuses(&fx->clear, &p, NTS_NTP_MISSING_PADDING);
        pkt_init(&p);
        pkt_uid(&p);
        pkt_clear_auth(&p, 8, 4, inside.buf, inside.w.len);
        assert_client_refuses(&fx->clear, &p, NTS_NTP_MISSING_PADDING);
        pkt_init(&p);
        pkt_uid(&p);
        pkt_clear_auth(&p, 8, 8, inside.buf, inside.w.len);
        struct nts_ntp_cookies got;
        assert_reason(verify(&fx->clear, p.buf, p.w.len, &got), NTS_NTP_OK);
        pkt_init(&p);
        pkt_uid(&p);
        pkt_clear_auth(&p, 13, 0, inside.buf, inside.w.len);       /* 13 padded to 16 */
        assert_reason(verify(&fx->clear, p.buf, p.w.len, &got), NTS_NTP_OK);
        pkt_init(&p);
        pkt_uid(&p);
        pkt_clear_auth(&p, 32, 0, inside.buf, inside.w.len);       /* longer is fine */
        assert_reason(verify(&fx->clear, p.buf, p.w.len, &got), NTS_NTP_OK);
}

static void test_client_encrypted_fields(void **state) {
        struct nts_ntp_cookies *got = malloc(sizeof(*got));
        struct plain inside;
        struct pkt p;

        assert_non_null(got);
        /* Nothing inside, or only what is no cookie of ours. */
        plain_init(&inside);
        response_with(&p, &inside);
        assert_client_refuses(&fx->clear, &p, NTS_NTP_NO_COOKIES);
        nts_ntp_ef_append(&inside.w, NTS_EF_COOKIE_PLACEHOLDER, NULL, 100);
        plain_cookie(&inside, NTS_COOKIE_MAX_SIZE + 4, 1);
        response_with(&p, &inside);
        assert_client_refuses(&fx->clear, &p, NTS_NTP_NO_COOKIES);

        /* A cookie outside the authenticator does not count. */
        plain_init(&inside);
        pkt_init(&p);
        pkt_uid(&p);
        pkt_ef(&p, NTS_EF_COOKIE, fx->cookie.data, fx->cookie.len);
        pkt_clear_auth(&p, 16, 0, NULL, 0);
        assert_client_refuses(&fx->clear, &p, NTS_NTP_NO_COOKIES);

        /* Malformed inside. */
        plain_init(&inside);
        plain_cookie(&inside, 100, 1);
        nts_writer_put_zeros(&inside.w, 8);
        response_with(&p, &inside);
        assert_client_refuses(&fx->clear, &p, NTS_NTP_BAD_PLAINTEXT);

        /* Ten cookies and an unknown field: the first eight kept, in order. */
        plain_init(&inside);
        for (int i = 0; i < 10; i++) {
                plain_cookie(&inside, 12, (uint8_t) i);
                if (i == 3)
                        nts_ntp_ef_append(&inside.w, 0x7777, "x", 1);
        }
        response_with(&p, &inside);
        assert_reason(verify(&fx->clear, p.buf, p.w.len, got), NTS_NTP_OK);
        assert_int_equal(got->n, NTS_MAX_COOKIES);
        for (int i = 0; i < NTS_MAX_COOKIES; i++)
                assert_int_equal(got->cookies[i].data[0], i);
        free(got);
}

/* A request made by hand: identifier, cookie, placeholders of a given length, authenticator. */
static void request_with(struct pkt *p, size_t placeholder_len, size_t n_placeholders, const struct plain *inside) {
        pkt_init(p);
        pkt_uid(p);
        pkt_ef(p, NTS_EF_COOKIE, fx->cookie.data, fx->cookie.len);
        for (size_t i = 0; i < n_placeholders; i++)
                pkt_ef(p, NTS_EF_COOKIE_PLACEHOLDER, NULL, placeholder_len);
        pkt_clear_auth(p, 16, 0, inside ? inside->buf : NULL, inside ? inside->w.len : 0);
}

static void test_server_refusals(void **state) {
        struct nts_ntp_server_request parsed;
        struct pkt p;

        request_with(&p, 12, 1, NULL);
        assert_reason(server_parse(&fx->clear, p.buf, p.w.len, &parsed), NTS_NTP_OK);
        assert_int_equal(parsed.n_cookies, 2);

        p.w.len = 20;
        assert_server_refuses(&fx->clear, &p, NTS_NTP_TOO_SHORT);
        p.w.len = NTP_MAX_PACKET_SIZE + 1;
        assert_server_refuses(&fx->clear, &p, NTS_NTP_TOO_LONG);

        request_with(&p, 12, 1, NULL);
        p.buf[NTP_HEADER_SIZE + 3] = 0x23;
        assert_server_refuses(&fx->clear, &p, NTS_NTP_MALFORMED);

        pkt_init(&p);
        pkt_ef(&p, NTS_EF_COOKIE, fx->cookie.data, fx->cookie.len);
        pkt_clear_auth(&p, 16, 0, NULL, 0);
        assert_server_refuses(&fx->clear, &p, NTS_NTP_MISSING_UID);

        pkt_init(&p);
        pkt_uid(&p);
        pkt_uid(&p);
        pkt_ef(&p, NTS_EF_COOKIE, fx->cookie.data, fx->cookie.len);
        pkt_clear_auth(&p, 16, 0, NULL, 0);
        assert_server_refuses(&fx->clear, &p, NTS_NTP_DUPLICATE_UID);

        pkt_init(&p);
        pkt_ef(&p, NTS_EF_UNIQUE_IDENTIFIER, fx->uid, 28);
        pkt_ef(&p, NTS_EF_COOKIE, fx->cookie.data, fx->cookie.len);
        pkt_clear_auth(&p, 16, 0, NULL, 0);
        assert_server_refuses(&fx->clear, &p, NTS_NTP_SHORT_UID);

        pkt_init(&p);
        pkt_uid(&p);
        pkt_clear_auth(&p, 16, 0, NULL, 0);
        assert_server_refuses(&fx->clear, &p, NTS_NTP_MISSING_COOKIE);

        pkt_init(&p);
        pkt_uid(&p);
        pkt_ef(&p, NTS_EF_COOKIE, fx->cookie.data, fx->cookie.len);
        pkt_ef(&p, NTS_EF_COOKIE, fx->cookie.data, fx->cookie.len);
        pkt_clear_auth(&p, 16, 0, NULL, 0);
        assert_server_refuses(&fx->clear, &p, NTS_NTP_DUPLICATE_COOKIE);

        static uint8_t huge[NTS_COOKIE_MAX_SIZE + 4];
        pkt_init(&p);
        pkt_uid(&p);
        pkt_ef(&p, NTS_EF_COOKIE, huge, sizeof(huge));
        pkt_clear_auth(&p, 16, 0, NULL, 0);
        assert_server_refuses(&fx->clear, &p, NTS_NTP_BAD_COOKIE);

        request_with(&p, 16, 1, NULL);
        assert_server_refuses(&fx->clear, &p, NTS_NTP_PLACEHOLDER_MISMATCH);

        pkt_init(&p);
        pkt_uid(&p);
        pkt_ef(&p, NTS_EF_COOKIE, fx->cookie.data, fx->cookie.len);
        assert_server_refuses(&fx->clear, &p, NTS_NTP_MISSING_AUTH);

        request_with(&p, 12, 0, NULL);
        pkt_uid(&p);
        assert_server_refuses(&fx->clear, &p, NTS_NTP_AUTH_NOT_LAST);

        request_with(&p, 12, 0, NULL);
        unaligned_write_be16(p.buf + p.w.len - 36, 0);       /* nonce length */
        assert_server_refuses(&fx->clear, &p, NTS_NTP_BAD_AUTH);

        pkt_init(&p);
        pkt_uid(&p);
        pkt_ef(&p, NTS_EF_COOKIE, fx->cookie.data, fx->cookie.len);
        pkt_clear_auth(&p, 4, 8, NULL, 0);
        assert_server_refuses(&fx->clear, &p, NTS_NTP_MISSING_PADDING);

        fx->cookie_opens = 0;
        request_with(&p, 12, 0, NULL);
        p.buf[NTP_HEADER_SIZE + 36 + 4] ^= 1;                 /* the cookie */
        assert_server_refuses(&fx->clear, &p, NTS_NTP_UNKNOWN_COOKIE);
        assert_int_equal(fx->cookie_opens, 1);

        fx->cookie_keys_other_aead = true;
        request_with(&p, 12, 0, NULL);
        assert_server_refuses(&fx->clear, &p, NTS_NTP_UNSUPPORTED_AEAD);
        fx->cookie_keys_other_aead = false;

        request_with(&p, 12, 0, NULL);
        p.buf[p.w.len - 1] ^= 1;                               /* the tag */
        assert_server_refuses(&fx->clear, &p, NTS_NTP_AUTH_FAILED);
}

/* Placeholders may come inside the authenticator; they count, and must match too. */
static void test_server_encrypted_placeholders(void **state) {
        struct nts_ntp_server_request parsed;
        struct plain inside;
        struct pkt p;

        plain_init(&inside);
        for (int i = 0; i < 3; i++)
                nts_ntp_ef_append(&inside.w, NTS_EF_COOKIE_PLACEHOLDER, NULL, 12);
        nts_ntp_ef_append(&inside.w, 0x5555, NULL, 12);
        request_with(&p, 12, 2, &inside);
        assert_reason(server_parse(&fx->clear, p.buf, p.w.len, &parsed), NTS_NTP_OK);
        assert_int_equal(parsed.n_cookies, 6);

        /* More than eight asked: eight. */
        request_with(&p, 12, 7, &inside);
        assert_reason(server_parse(&fx->clear, p.buf, p.w.len, &parsed), NTS_NTP_OK);
        assert_int_equal(parsed.n_cookies, NTS_MAX_COOKIES);

        nts_ntp_ef_append(&inside.w, NTS_EF_COOKIE_PLACEHOLDER, NULL, 16);
        request_with(&p, 12, 0, &inside);
        assert_server_refuses(&fx->clear, &p, NTS_NTP_PLACEHOLDER_MISMATCH);

        plain_init(&inside);
        nts_writer_put_zeros(&inside.w, 12);
        request_with(&p, 12, 0, &inside);
        assert_server_refuses(&fx->clear, &p, NTS_NTP_BAD_PLAINTEXT);
}

/* Placeholders before the cookie are held to its length too; other fields are ignored. */
static void test_server_field_order(void **state) {
        struct nts_ntp_server_request parsed;
        struct pkt p;

        pkt_init(&p);
        pkt_ef(&p, NTS_EF_COOKIE_PLACEHOLDER, NULL, 12);
        pkt_ef(&p, 0x2222, NULL, 40);
        pkt_ef(&p, NTS_EF_COOKIE, fx->cookie.data, fx->cookie.len);
        pkt_uid(&p);
        pkt_clear_auth(&p, 16, 0, NULL, 0);
        assert_reason(server_parse(&fx->clear, p.buf, p.w.len, &parsed), NTS_NTP_OK);
        assert_int_equal(parsed.n_cookies, 2);
        assert_ptr_not_equal(parsed.uid, NULL);

        pkt_init(&p);
        pkt_ef(&p, NTS_EF_COOKIE_PLACEHOLDER, NULL, 20);
        pkt_ef(&p, NTS_EF_COOKIE, fx->cookie.data, fx->cookie.len);
        pkt_uid(&p);
        pkt_clear_auth(&p, 16, 0, NULL, 0);
        assert_server_refuses(&fx->clear, &p, NTS_NTP_PLACEHOLDER_MISMATCH);
}

static void test_strings(void **state) {
        for (int i = 0; i < _NTS_NTP_REASON_MAX; i++) {
                const char *s = nts_ntp_reason_to_string(i);
                assert_non_null(s);
                for (int j = 0; j < i; j++)
                        assert_string_not_equal(s, nts_ntp_reason_to_string(j));
        }
        assert_string_equal(nts_ntp_reason_to_string(_NTS_NTP_REASON_MAX), "unknown reason");
        assert_string_equal(nts_ntp_reason_to_string(NTS_NTP_AUTH_NOT_LAST), "authenticator is not the last extension field");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_ef_layout, setup, teardown),
                cmocka_unit_test_setup_teardown(test_client_request_known_answer, setup, teardown),
                cmocka_unit_test_setup_teardown(test_server_response_known_answer, setup, teardown),
                cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bit_flips, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wrong_keys, setup, teardown),
                cmocka_unit_test_setup_teardown(test_client_build_arguments, setup, teardown),
                cmocka_unit_test_setup_teardown(test_aead_failure_passed_on, setup, teardown),
                cmocka_unit_test_setup_teardown(test_short_nonce_aead, setup, teardown),
                cmocka_unit_test_setup_teardown(test_server_response_build, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nak, setup, teardown),
                cmocka_unit_test_setup_teardown(test_client_refusals, setup, teardown),
                cmocka_unit_test_setup_teardown(test_client_authenticator_format, setup, teardown),
                cmocka_unit_test_setup_teardown(test_client_encrypted_fields, setup, teardown),
                cmocka_unit_test_setup_teardown(test_server_refusals, setup, teardown),
                cmocka_unit_test_setup_teardown(test_server_encrypted_placeholders, setup, teardown),
                cmocka_unit_test_setup_teardown(test_server_field_order, setup, teardown),
                cmocka_unit_test(test_strings),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
