/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for the GnuTLS AES-SIV-CMAC-256 adapter (src/daemon/nts-gnutls.c): known answers
 * with a nonce and associated data (the layout NTS uses: tag first), tampering, keys, and a
 * cookie sealed and opened through the core with it. */

#include <errno.h>
#include <string.h>

#include "core/nts-cookie.h"
#include "nts-gnutls.h"
#include "unit-test.h"

static const uint8_t key[32] = {
        0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde,
        0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc,
};
static const uint8_t nonce[16] = { 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
                                   0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f };
static const uint8_t ad[16] = { 0x4c, 0x9d, 0x4f, 0xca, 0xed, 0x8a, 0xe2, 0xba,
                                0xad, 0x3f, 0x3e, 0xa6, 0xe9, 0x3c, 0x8c, 0x8b };
static const uint8_t plain[16] = { 0xba, 0x99, 0x79, 0x31, 0x23, 0x7e, 0x3c, 0x53,
                                   0x58, 0x7e, 0xd4, 0x93, 0x02, 0xab, 0xe4, 0xa7 };
/* AES-SIV-CMAC-256 of plain under key, nonce and ad: the synthetic IV, then the ciphertext. */
static const uint8_t sealed[32] = {
        0x5c, 0x05, 0x23, 0x65, 0xf4, 0x57, 0x0a, 0xa0, 0xfb, 0x38, 0x3e, 0xce, 0x9b, 0x75, 0x85, 0xeb,
        0x68, 0x85, 0x19, 0x36, 0x0c, 0x7c, 0x48, 0x11, 0x40, 0xcb, 0x9b, 0x57, 0x9a, 0x0e, 0x65, 0x32,
};
/* The same key and nonce with no associated data and nothing to seal: the tag alone. */
static const uint8_t empty_tag[16] = { 0x22, 0x3e, 0xb5, 0x94, 0xe0, 0xe0, 0x25, 0x4b,
                                       0x00, 0x25, 0x8e, 0x21, 0x9a, 0x1c, 0xa4, 0x21 };

static struct nts_aead keyed(void) {
        struct nts_aead a;
        assert_int_equal(nts_gnutls_aead_new(&a), 0);
        assert_int_equal(nts_aead_set_key(&a, key, sizeof(key)), 0);
        return a;
}

static void test_ops(void **state) {
        struct nts_aead a = keyed();
        assert_int_equal(a.ops->id, NTS_AEAD_AES_SIV_CMAC_256);
        assert_int_equal(a.ops->key_len, 32);
        assert_int_equal(a.ops->tag_len, 16);
        assert_int_equal(nts_aead_key_length(a.ops->id), a.ops->key_len);
        assert_true(a.ops->nonce_min >= 1);
        nts_gnutls_aead_free(&a);
}

static void test_known_answers(void **state) {
        struct nts_aead a = keyed();
        uint8_t out[32], back[16];
        assert_int_equal(a.ops->seal(a.ctx, nonce, sizeof(nonce), ad, sizeof(ad), plain, sizeof(plain), out), 0);
        assert_memory_equal(out, sealed, sizeof(sealed));
        assert_int_equal(a.ops->open(a.ctx, nonce, sizeof(nonce), ad, sizeof(ad), sealed, sizeof(sealed), back), 0);
        assert_memory_equal(back, plain, sizeof(plain));

        assert_int_equal(a.ops->seal(a.ctx, nonce, sizeof(nonce), NULL, 0, NULL, 0, out), 0);
        assert_memory_equal(out, empty_tag, sizeof(empty_tag));
        assert_int_equal(a.ops->open(a.ctx, nonce, sizeof(nonce), NULL, 0, empty_tag, sizeof(empty_tag), back), 0);
        nts_gnutls_aead_free(&a);
}

/* Any changed bit — tag, ciphertext, nonce, associated data — and nothing opens. */
static void test_tampering_fails(void **state) {
        struct nts_aead a = keyed();
        uint8_t copy[32], back[16], other[16];
        for (size_t i = 0; i < sizeof(sealed); i += 5) {
                memcpy(copy, sealed, sizeof(copy));
                copy[i] ^= 0x01;
                assert_int_equal(a.ops->open(a.ctx, nonce, sizeof(nonce), ad, sizeof(ad), copy, sizeof(copy), back),
                                 -EBADMSG);
        }
        memcpy(other, nonce, sizeof(other));
        other[15] ^= 0x80;
        assert_int_equal(a.ops->open(a.ctx, other, sizeof(other), ad, sizeof(ad), sealed, sizeof(sealed), back), -EBADMSG);
        memcpy(other, ad, sizeof(other));
        other[0] ^= 0x80;
        assert_int_equal(a.ops->open(a.ctx, nonce, sizeof(nonce), other, sizeof(other), sealed, sizeof(sealed), back),
                         -EBADMSG);
        /* Shorter than a tag, or no nonce: refused before GnuTLS sees it. */
        assert_int_equal(a.ops->open(a.ctx, nonce, sizeof(nonce), ad, sizeof(ad), sealed, 15, back), -EINVAL);
        assert_int_equal(a.ops->open(a.ctx, nonce, 0, ad, sizeof(ad), sealed, sizeof(sealed), back), -EINVAL);
        assert_int_equal(a.ops->seal(a.ctx, nonce, 0, ad, sizeof(ad), plain, sizeof(plain), copy), -EINVAL);
        nts_gnutls_aead_free(&a);
}

static void test_keys(void **state) {
        struct nts_aead a;
        uint8_t out[32];
        assert_int_equal(nts_gnutls_aead_new(&a), 0);
        /* Not keyed yet. */
        assert_int_equal(a.ops->seal(a.ctx, nonce, sizeof(nonce), ad, sizeof(ad), plain, sizeof(plain), out), -EINVAL);
        assert_int_equal(a.ops->set_key(a.ctx, key, 16), -EINVAL);
        assert_int_equal(a.ops->set_key(a.ctx, key, 64), -EINVAL);
        /* A second key replaces the first. */
        uint8_t other[32];
        memcpy(other, key, sizeof(other));
        other[0] ^= 1;
        assert_int_equal(a.ops->set_key(a.ctx, other, sizeof(other)), 0);
        assert_int_equal(a.ops->seal(a.ctx, nonce, sizeof(nonce), ad, sizeof(ad), plain, sizeof(plain), out), 0);
        assert_memory_not_equal(out, sealed, sizeof(sealed));
        assert_int_equal(a.ops->set_key(a.ctx, key, sizeof(key)), 0);
        assert_int_equal(a.ops->seal(a.ctx, nonce, sizeof(nonce), ad, sizeof(ad), plain, sizeof(plain), out), 0);
        assert_memory_equal(out, sealed, sizeof(sealed));
        nts_gnutls_aead_free(&a);
        nts_gnutls_aead_free(&a);        /* twice is harmless */
}

static const struct nts_server_key *one_key(void *userdata, uint32_t id) {
        const struct nts_server_key *k = userdata;
        return id == k->id ? k : NULL;
}

/* The core's cookies, sealed with the real cipher. */
static void test_cookie_round_trip(void **state) {
        struct nts_aead a;
        assert_int_equal(nts_gnutls_aead_new(&a), 0);
        struct nts_server_key server = { .id = 7, .aead = NTS_AEAD_AES_SIV_CMAC_256, .key_len = 32 };
        assert_int_equal(nts_random_key(server.key, server.key_len), 0);
        struct nts_keys keys = { .aead = NTS_AEAD_AES_SIV_CMAC_256, .key_len = 32 };
        assert_int_equal(nts_random_key(keys.c2s, 32), 0);
        assert_int_equal(nts_random_key(keys.s2c, 32), 0);
        uint8_t n[NTS_NONCE_SIZE];
        assert_int_equal(nts_random_nonce(n, sizeof(n)), 0);
        struct nts_cookie cookie;
        assert_int_equal(nts_cookie_encode(&a, &server, n, &keys, &cookie), 0);
        assert_int_equal(cookie.len, nts_cookie_length(&a, 32));
        struct nts_keys back;
        assert_int_equal(nts_cookie_decode(&a, cookie.data, cookie.len, one_key, &server, &back), 0);
        assert_memory_equal(back.c2s, keys.c2s, 32);
        assert_memory_equal(back.s2c, keys.s2c, 32);
        cookie.data[cookie.len - 1] ^= 1;
        assert_int_equal(nts_cookie_decode(&a, cookie.data, cookie.len, one_key, &server, &back), -EBADMSG);
        nts_gnutls_aead_free(&a);
}

static void test_random_differs(void **state) {
        uint8_t a[32], b[32];
        assert_int_equal(nts_random_nonce(a, sizeof(a)), 0);
        assert_int_equal(nts_random_nonce(b, sizeof(b)), 0);
        assert_memory_not_equal(a, b, sizeof(a));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ops),
                cmocka_unit_test(test_known_answers),
                cmocka_unit_test(test_tampering_fails),
                cmocka_unit_test(test_keys),
                cmocka_unit_test(test_cookie_round_trip),
                cmocka_unit_test(test_random_differs),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
