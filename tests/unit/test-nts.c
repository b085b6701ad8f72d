/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Unit tests for nts: what the NTS modules share: the bounds-checked writer and reader, the
 * cookie length rule, the AEAD key lengths and keying, and the fake AEADs the other tests use. */

#include <errno.h>
#include <string.h>

#include "../model/nts-fake-aead.h"
#include "core/nts.h"
#include "unit-test.h"

static void test_writer(void **state) {
        uint8_t buf[16];
        struct nts_writer w = { .buf = buf, .size = sizeof(buf) };

        nts_writer_put_u8(&w, 0x01);
        nts_writer_put_u16(&w, 0x0203);
        nts_writer_put_u32(&w, 0x04050607);
        nts_writer_put_u64(&w, UINT64_C(0x08090a0b0c0d0e0f));
        assert_false(w.overflow);
        assert_int_equal(w.len, 15);
        for (int i = 0; i < 15; i++)
                assert_int_equal(buf[i], i + 1);

        /* One byte left: a u16 does not fit, and nothing after it is written. */
        nts_writer_put_u16(&w, 0xffff);
        assert_true(w.overflow);
        assert_int_equal(w.len, 15);
        nts_writer_put_u8(&w, 0xff);
        assert_int_equal(w.len, 15);
        assert_null(nts_writer_reserve(&w, 0));

        w = (struct nts_writer) { .buf = buf, .size = sizeof(buf) };
        nts_writer_put_zeros(&w, sizeof(buf));
        assert_false(w.overflow);
        for (size_t i = 0; i < sizeof(buf); i++)
                assert_int_equal(buf[i], 0);
        nts_writer_put(&w, NULL, 0);
        assert_false(w.overflow);
        nts_writer_put(&w, "x", 1);
        assert_true(w.overflow);
}

static void test_reader(void **state) {
        static const uint8_t data[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
        struct nts_reader r = { .buf = data, .len = sizeof(data) };

        assert_int_equal(nts_reader_get_u8(&r), 1);
        assert_int_equal(nts_reader_get_u16(&r), 0x0203);
        assert_int_equal(nts_reader_get_u32(&r), 0x04050607);
        assert_int_equal(nts_reader_left(&r), 8);
        assert_true(nts_reader_get_u64(&r) == UINT64_C(0x08090a0b0c0d0e0f));
        assert_false(r.short_read);
        assert_int_equal(nts_reader_left(&r), 0);

        /* Past the end: zero, and short from then on. */
        assert_int_equal(nts_reader_get_u8(&r), 0);
        assert_true(r.short_read);
        assert_null(nts_reader_get(&r, 0));

        r = (struct nts_reader) { .buf = data, .len = 3 };
        assert_int_equal(nts_reader_get_u32(&r), 0);
        assert_true(r.short_read);
        assert_int_equal(nts_reader_left(&r), 0);
        r = (struct nts_reader) { .buf = data, .len = 7 };
        assert_true(nts_reader_get_u64(&r) == 0);
        r = (struct nts_reader) { .buf = data, .len = 1 };
        assert_int_equal(nts_reader_get_u16(&r), 0);
}

static void test_padding_and_cookie_lengths(void **state) {
        assert_int_equal(nts_padding(0), 0);
        assert_int_equal(nts_padding(1), 3);
        assert_int_equal(nts_padding(2), 2);
        assert_int_equal(nts_padding(3), 1);
        assert_int_equal(nts_padding(4), 0);

        assert_false(nts_cookie_length_valid(0));
        assert_false(nts_cookie_length_valid(8));
        assert_true(nts_cookie_length_valid(NTS_COOKIE_MIN_SIZE));
        assert_false(nts_cookie_length_valid(NTS_COOKIE_MIN_SIZE + 1));
        assert_true(nts_cookie_length_valid(104));
        assert_true(nts_cookie_length_valid(NTS_COOKIE_MAX_SIZE));
        assert_false(nts_cookie_length_valid(NTS_COOKIE_MAX_SIZE + 4));
}

static void test_aead_key_lengths(void **state) {
        assert_int_equal(nts_aead_key_length(NTS_AEAD_AES_SIV_CMAC_256), 32);
        assert_int_equal(nts_aead_key_length(NTS_AEAD_AES_SIV_CMAC_384), 48);
        assert_int_equal(nts_aead_key_length(NTS_AEAD_AES_SIV_CMAC_512), 64);
        assert_int_equal(nts_aead_key_length(NTS_AEAD_AES_128_GCM_SIV), 16);
        assert_int_equal(nts_aead_key_length(0), 0);
        assert_int_equal(nts_aead_key_length(0xffff), 0);
}

static int small_nonce_set_key(void *ctx, const uint8_t *key, size_t len) {
        return 0;
}

static void test_aead_nonce_and_key(void **state) {
        struct nts_fake_aead_state fake = {};
        struct nts_aead aead = nts_fake_aead(&fake);
        uint8_t key[64] = { 1 };

        assert_int_equal(nts_aead_nonce_length(&aead), NTS_NONCE_SIZE);
        const struct nts_aead_ops small = { .nonce_min = 12, .nonce_max = 12, .key_len = 16, .set_key = small_nonce_set_key };
        struct nts_aead gcm = { .ops = &small };
        assert_int_equal(nts_aead_nonce_length(&gcm), 12);

        assert_int_equal(nts_aead_set_key(&aead, key, 16), -EINVAL);
        assert_int_equal(nts_aead_set_key(&aead, key, 0), -EINVAL);
        assert_false(fake.keyed);
        assert_int_equal(nts_aead_set_key(&aead, key, 32), 0);
        assert_true(fake.keyed);
        assert_memory_equal(fake.key, key, 32);
}

/* The fake must behave as an AEAD does for the other tests to mean anything. */
static void test_fake_aead(void **state) {
        struct nts_fake_aead_state fake = {};
        struct nts_aead aead = nts_fake_aead(&fake);
        const struct nts_aead_ops *ops = aead.ops;
        uint8_t key[32] = { 7 }, other[32] = { 8 }, nonce[16] = { 1 }, ad[5] = "head", plain[40], sealed[56], opened[40];

        memset(plain, 'p', sizeof(plain));
        assert_int_equal(ops->seal(&fake, nonce, 16, ad, 5, plain, 40, sealed), -ENOKEY);
        assert_int_equal(nts_aead_set_key(&aead, key, 32), 0);
        assert_int_equal(ops->seal(&fake, nonce, 16, ad, 5, plain, 40, sealed), 0);
        assert_memory_not_equal(sealed + 16, plain, 40);
        assert_int_equal(ops->open(&fake, nonce, 16, ad, 5, sealed, 56, opened), 0);
        assert_memory_equal(opened, plain, 40);

        /* Each input matters. */
        assert_int_equal(ops->open(&fake, nonce, 15, ad, 5, sealed, 56, opened), -EBADMSG);
        assert_int_equal(ops->open(&fake, nonce, 16, ad, 4, sealed, 56, opened), -EBADMSG);
        for (size_t i = 0; i < sizeof(sealed) * 8; i++) {
                sealed[i / 8] ^= (uint8_t) (1 << (i % 8));
                assert_int_equal(ops->open(&fake, nonce, 16, ad, 5, sealed, 56, opened), -EBADMSG);
                sealed[i / 8] ^= (uint8_t) (1 << (i % 8));
        }
        assert_int_equal(nts_aead_set_key(&aead, other, 32), 0);
        assert_int_equal(ops->open(&fake, nonce, 16, ad, 5, sealed, 56, opened), -EBADMSG);
        assert_int_equal(ops->open(&fake, nonce, 16, ad, 5, sealed, 15, opened), -EBADMSG);

        /* The clear one: tag then plaintext. */
        struct nts_aead clear = nts_clear_aead();
        assert_int_equal(clear.ops->seal(NULL, nonce, 16, ad, 5, plain, 40, sealed), 0);
        assert_memory_equal(sealed, NTS_CLEAR_TAG, 16);
        assert_memory_equal(sealed + 16, plain, 40);
        assert_int_equal(clear.ops->open(NULL, nonce, 16, ad, 5, sealed, 56, opened), 0);
        assert_memory_equal(opened, plain, 40);
        sealed[3] ^= 1;
        assert_int_equal(clear.ops->open(NULL, nonce, 16, ad, 5, sealed, 56, opened), -EBADMSG);
        assert_int_equal(nts_aead_set_key(&clear, key, 32), 0);
        assert_int_equal(nts_aead_set_key(&clear, key, 31), -EINVAL);
}

static void test_wipe(void **state) {
        uint8_t secret[32];

        memset(secret, 0x5a, sizeof(secret));
        nts_wipe(secret, sizeof(secret));
        for (size_t i = 0; i < sizeof(secret); i++)
                assert_int_equal(secret[i], 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_writer),
                cmocka_unit_test(test_reader),
                cmocka_unit_test(test_padding_and_cookie_lengths),
                cmocka_unit_test(test_aead_key_lengths),
                cmocka_unit_test(test_aead_nonce_and_key),
                cmocka_unit_test(test_fake_aead),
                cmocka_unit_test(test_wipe),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
