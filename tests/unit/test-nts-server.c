/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for NTS in the NTP server path (ntp_server_nts_answer() in src/daemon/ntp-server.c)
 * with GnuTLS's AES-SIV-CMAC-256 and the server keys: a request built by the core's client
 * builder gets an answer that the core's client verifier accepts, stamped before it was sealed
 * and as long as the request; a cookie that does not open, or whose key is no longer kept, gets
 * an NTS NAK; a request whose authenticator does not verify gets a NAK too (RFC 8915 §5.7), one
 * with broken NTS fields nothing. */

#include <errno.h>
#include <string.h>

#include "core/nts-ntp.h"
#include "core/server.h"
#include "core/unaligned.h"
#include "ntp-server.h"
#include "nts-gnutls.h"
#include "nts-server-keys.h"
#include "unit-test.h"

#define T0 1700000000ULL
#define WEEK (7 * 24 * 3600ULL)
#define TX 0xe5f0e5f012345678ULL

static uint64_t fake_now;

static uint64_t fake_clock(void *userdata) {
        return fake_now;
}

struct world {
        nts_server_keys *keys;
        struct ntp_server_nts nts;
        struct nts_aead client_aead;
        struct nts_keys session;     /* what a KE exported */
        uint8_t uid[NTS_UID_SIZE];
        uint8_t request[NTP_MAX_PACKET_SIZE];
        size_t request_len;
        uint8_t response[NTP_MAX_PACKET_SIZE];
        size_t response_len;
};

static int setup(void **state) {
        struct world *w = calloc(1, sizeof(*w));
        struct nts_server_keys_options o = { .clock = fake_clock };
        fake_now = T0;
        if (nts_server_keys_new(&o, &w->keys) < 0 || ntp_server_nts_init(&w->nts, w->keys) < 0 ||
            nts_gnutls_aead_new(&w->client_aead) < 0)
                return -1;
        w->session = (struct nts_keys) { .aead = NTS_AEAD_AES_SIV_CMAC_256, .key_len = 32 };
        nts_random_key(w->session.c2s, 32);
        nts_random_key(w->session.s2c, 32);
        nts_random_nonce(w->uid, sizeof(w->uid));
        *state = w;
        return 0;
}

static int teardown(void **state) {
        struct world *w = *state;
        ntp_server_nts_done(&w->nts);
        nts_gnutls_aead_free(&w->client_aead);
        nts_server_keys_free(w->keys);
        free(w);
        return 0;
}

static void client_header(uint8_t header[static NTP_HEADER_SIZE]) {
        memset(header, 0, NTP_HEADER_SIZE);
        header[0] = 4 << 3 | NTP_MODE_CLIENT;
        header[2] = 6;
        unaligned_write_be64(header + 40, 0x0123456789abcdefULL);
}

static void build_request(struct world *w, const struct nts_cookie *cookie, size_t placeholders) {
        uint8_t header[NTP_HEADER_SIZE], nonce[NTS_NONCE_SIZE];
        client_header(header);
        nts_random_nonce(nonce, sizeof(nonce));
        struct nts_ntp_client_request r = {
                .uid = w->uid, .uid_len = sizeof(w->uid), .cookie = cookie, .n_placeholders = placeholders, .nonce = nonce,
        };
        assert_int_equal(nts_ntp_client_request_build(header, &r, &w->client_aead, &w->session, w->request,
                                                      sizeof(w->request), &w->request_len),
                         0);
        assert_true(server_request_wants_nts(w->request, w->request_len));
}

static void build_fresh_request(struct world *w, size_t placeholders) {
        struct nts_cookie cookie;
        assert_int_equal(nts_server_keys_make_cookie(w->keys, &w->session, &cookie), 0);
        build_request(w, &cookie, placeholders);
}

/* What server_handle() writes for a client request: a mode 4 header, its transmit as origin. */
static void server_header(struct world *w) {
        memset(w->response, 0, NTP_HEADER_SIZE);
        w->response[0] = 4 << 3 | NTP_MODE_SERVER;
        w->response[1] = 2;
        memcpy(w->response + 24, w->request + 40, 8);
        unaligned_write_be64(w->response + 32, TX - 1000);
}

static enum ntp_server_nts_result answer(struct world *w) {
        server_header(w);
        w->response_len = 0;
        return ntp_server_nts_answer(&w->nts, w->request, w->request_len, TX, w->response, sizeof(w->response),
                                     &w->response_len);
}

static enum nts_ntp_reason client_verify(struct world *w, struct nts_ntp_cookies *cookies) {
        return nts_ntp_client_response_verify(w->response, w->response_len, w->uid, sizeof(w->uid), &w->client_aead,
                                              &w->session, cookies);
}

static void test_authenticated_answer(void **state) {
        struct world *w = *state;
        struct nts_ntp_cookies cookies = {};
        build_fresh_request(w, 2);
        assert_int_equal(answer(w), NTP_SERVER_NTS_REPLY);
        assert_int_equal(w->response_len, w->request_len); /* never longer than the request */
        assert_int_equal(client_verify(w, &cookies), NTS_NTP_OK);
        assert_int_equal(cookies.n, 3); /* the cookie sent and two placeholders */
        /* Stamped before the authenticator, which covers it: the verifier saw this very header. */
        assert_true(unaligned_read_be64(w->response + 40) == TX);
        assert_memory_equal(w->response + 24, w->request + 40, 8);
        assert_int_equal(w->response[0] & 7, NTP_MODE_SERVER);
        for (size_t i = 0; i < cookies.n; i++) {
                struct nts_keys opened;
                assert_int_equal(nts_server_keys_open_cookie(w->keys, cookies.cookies[i].data, cookies.cookies[i].len,
                                                             &opened),
                                 0);
                assert_memory_equal(opened.c2s, w->session.c2s, 32);
                assert_memory_equal(opened.s2c, w->session.s2c, 32);
        }
        /* A new cookie works for the next request. */
        build_request(w, &cookies.cookies[0], 0);
        assert_int_equal(answer(w), NTP_SERVER_NTS_REPLY);
        assert_int_equal(client_verify(w, &cookies), NTS_NTP_OK);
        assert_int_equal(cookies.n, 1);
}

static void test_seven_placeholders(void **state) {
        struct world *w = *state;
        struct nts_ntp_cookies cookies = {};
        build_fresh_request(w, 7);
        assert_int_equal(answer(w), NTP_SERVER_NTS_REPLY);
        assert_int_equal(w->response_len, w->request_len);
        assert_int_equal(client_verify(w, &cookies), NTS_NTP_OK);
        assert_int_equal(cookies.n, 8);
}

static void assert_nak(struct world *w) {
        struct nts_ntp_cookies cookies = {};
        assert_int_equal(answer(w), NTP_SERVER_NTS_NAK);
        assert_int_equal(w->response[1], 0);                                      /* stratum 0: a kiss */
        assert_memory_equal(w->response + 12, "NTSN", 4);
        assert_int_equal(client_verify(w, &cookies), NTS_NTP_NAK);             /* echoes our identifier */
        assert_true(w->response_len < w->request_len);
}

static void test_wrong_cookie_nak(void **state) {
        struct world *w = *state;
        struct nts_cookie cookie;
        assert_int_equal(nts_server_keys_make_cookie(w->keys, &w->session, &cookie), 0);
        cookie.data[cookie.len - 3] ^= 0x20; /* sealed part: does not open */
        build_request(w, &cookie, 1);
        assert_nak(w);

        cookie.data[cookie.len - 3] ^= 0x20;
        cookie.data[0] ^= 0x40; /* a key id we never had */
        build_request(w, &cookie, 1);
        assert_nak(w);
}

/* Sealed with a key no longer kept (three weeks: the current key and two older ones). */
static void test_expired_key_nak(void **state) {
        struct world *w = *state;
        struct nts_cookie cookie;
        assert_int_equal(nts_server_keys_make_cookie(w->keys, &w->session, &cookie), 0);
        fake_now = T0 + 3 * WEEK - 1;
        build_request(w, &cookie, 0);
        assert_int_equal(answer(w), NTP_SERVER_NTS_REPLY);
        fake_now = T0 + 3 * WEEK;
        assert_nak(w);
}

/* Changed on the way: the authenticator does not verify, which RFC 8915 §5.7 answers with a NAK
 * (never with time); the client's copy of its identifier is all it echoes. */
static void test_tampered_request(void **state) {
        struct world *w = *state;
        struct nts_ntp_cookies cookies = {};
        build_fresh_request(w, 1);
        w->request[41] ^= 1; /* the transmit timestamp, under the authenticator */
        assert_int_equal(answer(w), NTP_SERVER_NTS_NAK);
        assert_int_equal(client_verify(w, &cookies), NTS_NTP_NAK);

        build_fresh_request(w, 1);
        w->request[w->request_len - 1] ^= 1; /* inside the authenticator */
        assert_int_equal(answer(w), NTP_SERVER_NTS_NAK);
}

/* NTS fields that are broken (not a matter of keys) get nothing at all. */
static void test_malformed_dropped(void **state) {
        struct world *w = *state;
        build_fresh_request(w, 1);
        /* A field after the authenticator. */
        size_t len = w->request_len;
        memset(w->request + len, 0, 16);
        unaligned_write_be16(w->request + len, 0x0999);
        unaligned_write_be16(w->request + len + 2, 16);
        w->request_len = len + 16;
        assert_int_equal(answer(w), NTP_SERVER_NTS_DROP);

        /* The authenticator cut off: the request ends inside a field. */
        build_fresh_request(w, 1);
        w->request_len -= 8;
        assert_int_equal(answer(w), NTP_SERVER_NTS_DROP);

        /* No unique identifier (its field made another type): nothing to echo in a NAK either. */
        build_fresh_request(w, 0);
        unaligned_write_be16(w->request + NTP_HEADER_SIZE, 0x0999);
        assert_int_equal(answer(w), NTP_SERVER_NTS_DROP);
}

static void test_wants_nts(void **state) {
        struct world *w = *state;
        uint8_t plain[NTP_HEADER_SIZE];
        client_header(plain);
        assert_false(server_request_wants_nts(plain, sizeof(plain)));
        build_fresh_request(w, 0);
        assert_true(server_request_wants_nts(w->request, w->request_len));
        w->request[0] = 3 << 3 | NTP_MODE_CLIENT; /* version 3 has no extension fields */
        assert_false(server_request_wants_nts(w->request, w->request_len));
        w->request[0] = 4 << 3 | NTP_MODE_SYMMETRIC_ACTIVE;
        assert_false(server_request_wants_nts(w->request, w->request_len));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_authenticated_answer, setup, teardown),
                cmocka_unit_test_setup_teardown(test_seven_placeholders, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wrong_cookie_nak, setup, teardown),
                cmocka_unit_test_setup_teardown(test_expired_key_nak, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tampered_request, setup, teardown),
                cmocka_unit_test_setup_teardown(test_malformed_dropped, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wants_nts, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
