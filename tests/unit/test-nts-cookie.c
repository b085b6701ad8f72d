/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Unit tests for nts-cookie: the server's cookie format (a known answer with the clear AEAD,
 * round trips and tampering with the fake one), the key rotation schedule and ring, the client's
 * cookie jar, and the two state files with every way a file can be bad. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../model/nts-fake-aead.h"
#include "core/nts-cookie.h"
#include "core/unaligned.h"
#include "unit-test.h"

#define HOUR 3600
#define WEEK (7 * 24 * HOUR)

static const uint8_t nonce[NTS_NONCE_SIZE] = {
        0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
};

static struct nts_keys session_keys(void) {
        struct nts_keys k = { .aead = NTS_AEAD_AES_SIV_CMAC_256, .key_len = 32 };

        for (int i = 0; i < 32; i++) {
                k.c2s[i] = (uint8_t) (0x10 + i);
                k.s2c[i] = (uint8_t) (0x80 + i);
        }
        return k;
}

static struct nts_server_key server_key(uint32_t id, uint8_t fill) {
        struct nts_server_key k = { .id = id, .aead = NTS_AEAD_AES_SIV_CMAC_256, .key_len = 32 };

        memset(k.key, fill, 32);
        return k;
}

/* The lookup the server passes: a list of keys by id. */
struct key_list {
        const struct nts_server_key *keys;
        size_t n;
};

static const struct nts_server_key *lookup(void *userdata, uint32_t id) {
        const struct key_list *l = userdata;

        for (size_t i = 0; i < l->n; i++)
                if (l->keys[i].id == id)
                        return &l->keys[i];
        return NULL;
}

static int decode(const struct nts_aead *aead, const uint8_t *cookie, size_t len, const struct nts_server_key *keys,
                  size_t n, struct nts_keys *ret) {
        struct key_list l = { keys, n };
        uint8_t *copy = malloc(len ? len : 1);

        assert_non_null(copy);
        memcpy(copy, cookie, len);
        int r = nts_cookie_decode(aead, copy, len, lookup, &l, ret);
        free(copy);
        return r;
}

/* RFC 8915 §6's suggested format: key id, nonce, then sealed {algorithm, key length, C2S, S2C}. */
static void test_cookie_known_answer(void **state) {
        static const uint8_t expected_head[] = {
                0x01, 0x02, 0x03, 0x04,
                0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
                'c', 'l', 'e', 'a', 'r', '-', 'a', 'e', 'a', 'd', '-', 't', 'a', 'g', '!', '!',
                0x00, 0x0f, 0x00, 0x20,
        };
        struct nts_aead clear = nts_clear_aead();
        struct nts_server_key key = server_key(0x01020304, 0x55);
        struct nts_keys keys = session_keys(), got;
        struct nts_cookie cookie;

        assert_int_equal(nts_cookie_length(&clear, 32), 104);
        assert_int_equal(nts_cookie_encode(&clear, &key, nonce, &keys, &cookie), 0);
        assert_int_equal(cookie.len, 104);
        assert_memory_equal(cookie.data, expected_head, sizeof(expected_head));
        assert_memory_equal(cookie.data + 40, keys.c2s, 32);
        assert_memory_equal(cookie.data + 72, keys.s2c, 32);

        assert_int_equal(decode(&clear, cookie.data, cookie.len, &key, 1, &got), 0);
        assert_memory_equal(&got, &keys, sizeof(keys));
}

static void test_cookie_round_trip(void **state) {
        struct nts_fake_aead_state fs = {};
        struct nts_aead fake = nts_fake_aead(&fs);
        struct nts_server_key keys[2] = { server_key(7, 0x07), server_key(8, 0x08) };
        struct nts_keys session = session_keys(), got;
        struct nts_cookie cookie;

        assert_int_equal(nts_cookie_encode(&fake, &keys[1], nonce, &session, &cookie), 0);
        assert_memory_not_equal(cookie.data + 40, session.c2s, 32);     /* sealed, not in the clear */
        memset(&got, 0, sizeof(got));
        assert_int_equal(decode(&fake, cookie.data, cookie.len, keys, 2, &got), 0);
        assert_memory_equal(&got, &session, sizeof(session));

        /* Keys of another algorithm in a cookie sealed with AES-SIV-CMAC-256: 64-byte keys. */
        struct nts_keys big = { .aead = NTS_AEAD_AES_SIV_CMAC_512, .key_len = 64 };
        memset(big.c2s, 1, 64);
        memset(big.s2c, 2, 64);
        assert_int_equal(nts_cookie_encode(&fake, &keys[0], nonce, &big, &cookie), 0);
        assert_int_equal(cookie.len, nts_cookie_length(&fake, 64));
        assert_int_equal(decode(&fake, cookie.data, cookie.len, keys, 2, &got), 0);
        assert_memory_equal(&got, &big, sizeof(big));
}

static void test_cookie_tampering(void **state) {
        struct nts_fake_aead_state fs = {};
        struct nts_aead fake = nts_fake_aead(&fs);
        /* Two keys with the same material: only the id, as associated data, tells them apart. */
        struct nts_server_key keys[2] = { server_key(1, 0x33), server_key(2, 0x33) };
        struct nts_keys session = session_keys(), got;
        struct nts_cookie cookie;

        assert_int_equal(nts_cookie_encode(&fake, &keys[0], nonce, &session, &cookie), 0);
        memset(&got, 0xa5, sizeof(got));
        struct nts_keys before = got;

        for (size_t bit = 0; bit < cookie.len * 8u; bit++) {
                cookie.data[bit / 8] ^= (uint8_t) (1 << (bit % 8));
                int r = decode(&fake, cookie.data, cookie.len, keys, 2, &got);
                assert_true(r == -EBADMSG || r == -ENOKEY);
                cookie.data[bit / 8] ^= (uint8_t) (1 << (bit % 8));
        }
        unaligned_write_be32(cookie.data, 2);
        assert_int_equal(decode(&fake, cookie.data, cookie.len, keys, 2, &got), -EBADMSG);
        unaligned_write_be32(cookie.data, 3);
        assert_int_equal(decode(&fake, cookie.data, cookie.len, keys, 2, &got), -ENOKEY);
        unaligned_write_be32(cookie.data, 1);

        /* Another server key under the same id. */
        struct nts_server_key other = server_key(1, 0x44);
        assert_int_equal(decode(&fake, cookie.data, cookie.len, &other, 1, &got), -EBADMSG);
        other.aead = NTS_AEAD_AES_SIV_CMAC_384;
        assert_int_equal(decode(&fake, cookie.data, cookie.len, &other, 1, &got), -ENOKEY);

        /* Lengths: cut short, shorter than any cookie, longer than any. */
        assert_int_equal(decode(&fake, cookie.data, cookie.len - 4, keys, 2, &got), -EBADMSG);
        assert_int_equal(decode(&fake, cookie.data, 4 + 16 + 16 + 3, keys, 2, &got), -EINVAL);
        assert_int_equal(decode(&fake, cookie.data, 0, keys, 2, &got), -EINVAL);
        static uint8_t long_cookie[4 + 16 + 16 + 4 + 2 * NTS_KEY_MAX_SIZE + 1];
        assert_int_equal(decode(&fake, long_cookie, sizeof(long_cookie), keys, 2, &got), -EINVAL);
        assert_memory_equal(&got, &before, sizeof(got));
}

/* What opens but holds nonsense: the clear AEAD lets a test write any contents. */
static void test_cookie_contents(void **state) {
        struct nts_aead clear = nts_clear_aead();
        struct nts_server_key key = server_key(9, 0);
        struct nts_keys session = session_keys(), got;
        struct nts_cookie cookie;

        assert_int_equal(nts_cookie_encode(&clear, &key, nonce, &session, &cookie), 0);
        unaligned_write_be16(cookie.data + 36, 0x1234);               /* an unknown algorithm */
        assert_int_equal(decode(&clear, cookie.data, cookie.len, &key, 1, &got), -EBADMSG);
        unaligned_write_be16(cookie.data + 36, NTS_AEAD_AES_SIV_CMAC_256);
        unaligned_write_be16(cookie.data + 38, 16);                    /* not its key length */
        assert_int_equal(decode(&clear, cookie.data, cookie.len, &key, 1, &got), -EBADMSG);
        unaligned_write_be16(cookie.data + 36, NTS_AEAD_AES_128_GCM_SIV);   /* 16 is, but then it is too long */
        assert_int_equal(decode(&clear, cookie.data, cookie.len, &key, 1, &got), -EBADMSG);
        unaligned_write_be16(cookie.data + 36, NTS_AEAD_AES_SIV_CMAC_256);
        unaligned_write_be16(cookie.data + 38, 32);
        assert_int_equal(decode(&clear, cookie.data, cookie.len, &key, 1, &got), 0);
}

static void test_cookie_encode_arguments(void **state) {
        struct nts_fake_aead_state fs = {};
        struct nts_aead fake = nts_fake_aead(&fs);
        struct nts_server_key key = server_key(1, 1);
        struct nts_keys session = session_keys();
        struct nts_cookie cookie = { .len = 777 };

        session.key_len = 0;
        assert_int_equal(nts_cookie_encode(&fake, &key, nonce, &session, &cookie), -EINVAL);
        session.key_len = 16;
        assert_int_equal(nts_cookie_encode(&fake, &key, nonce, &session, &cookie), -EINVAL);
        session = session_keys();
        session.aead = 0x4444;
        assert_int_equal(nts_cookie_encode(&fake, &key, nonce, &session, &cookie), -EINVAL);
        session = session_keys();
        key.aead = NTS_AEAD_AES_SIV_CMAC_512;
        assert_int_equal(nts_cookie_encode(&fake, &key, nonce, &session, &cookie), -ENOKEY);
        key = server_key(1, 1);
        key.key_len = 16;
        assert_int_equal(nts_cookie_encode(&fake, &key, nonce, &session, &cookie), -EINVAL);
        assert_int_equal(cookie.len, 777);
}

static void test_schedule(void **state) {
        const struct nts_key_schedule s = { .interval = 100, .keep = 2 };

        assert_true(nts_key_schedule_is_current(&s, 1000, 1000));
        assert_true(nts_key_schedule_is_current(&s, 1000, 1099));
        assert_false(nts_key_schedule_is_current(&s, 1000, 1100));
        assert_true(nts_key_schedule_is_current(&s, 1000, 500));      /* the clock went back */

        assert_true(nts_key_schedule_is_accepted(&s, 1000, 1299));
        assert_false(nts_key_schedule_is_accepted(&s, 1000, 1300));
        assert_true(nts_key_schedule_is_accepted(&s, 1000, 0));

        /* keep is capped by what the ring holds. */
        const struct nts_key_schedule many = { .interval = 100, .keep = 10 };
        assert_true(nts_key_schedule_is_accepted(&many, 1000, 1399));
        assert_false(nts_key_schedule_is_accepted(&many, 1000, 1400));

        /* No overflow at the ends of time. */
        const struct nts_key_schedule huge = { .interval = UINT64_MAX / 2, .keep = 3 };
        assert_true(nts_key_schedule_is_accepted(&huge, 0, UINT64_MAX - 1));
        assert_true(nts_key_schedule_is_current(&huge, UINT64_MAX - 5, UINT64_MAX));
}

static const uint8_t key_material[32] = { 0x42 };

static void test_ring_rotation(void **state) {
        const struct nts_key_schedule s = { .interval = WEEK, .keep = NTS_KEY_KEEP_DEFAULT };
        struct nts_key_ring ring = {};
        uint64_t t0 = 1700000000;

        assert_null(nts_key_ring_current(&ring, &s, t0));
        assert_int_equal(nts_key_ring_next_rotation(&ring, &s, t0), t0);
        assert_null(nts_key_ring_lookup(&ring, &s, 0, t0));

        assert_int_equal(nts_key_ring_rotate(&ring, &s, t0, NTS_AEAD_AES_SIV_CMAC_256, key_material, 32), 0);
        const struct nts_server_key *k = nts_key_ring_current(&ring, &s, t0);
        assert_non_null(k);
        assert_int_equal(k->id, 1);
        assert_true(k->created == t0);
        assert_memory_equal(k->key, key_material, 32);
        assert_true(nts_key_ring_next_rotation(&ring, &s, t0 + HOUR) == t0 + WEEK);

        /* A week later the key is no longer current, still accepted. */
        assert_null(nts_key_ring_current(&ring, &s, t0 + WEEK));
        assert_true(nts_key_ring_next_rotation(&ring, &s, t0 + WEEK) == t0 + WEEK);
        assert_int_equal(nts_key_ring_rotate(&ring, &s, t0 + WEEK, NTS_AEAD_AES_SIV_CMAC_256, key_material, 32), 0);
        assert_int_equal(nts_key_ring_current(&ring, &s, t0 + WEEK)->id, 2);
        assert_non_null(nts_key_ring_lookup(&ring, &s, 1, t0 + WEEK));
        assert_non_null(nts_key_ring_lookup(&ring, &s, 1, t0 + 3 * WEEK - 1));
        assert_null(nts_key_ring_lookup(&ring, &s, 1, t0 + 3 * WEEK));
        assert_null(nts_key_ring_lookup(&ring, &s, 3, t0 + WEEK));

        /* Expiry drops key 1 and keeps counting ids. */
        nts_key_ring_expire(&ring, &s, t0 + 3 * WEEK);
        assert_int_equal(ring.n, 1);
        assert_int_equal(ring.keys[0].id, 2);
        nts_key_ring_expire(&ring, &s, t0 + 10 * WEEK);
        assert_int_equal(ring.n, 0);
        assert_int_equal(nts_key_ring_rotate(&ring, &s, t0 + 10 * WEEK, NTS_AEAD_AES_SIV_CMAC_256, key_material, 32), 0);
        assert_int_equal(ring.keys[0].id, 3);
}

static void test_ring_full(void **state) {
        const struct nts_key_schedule s = { .interval = WEEK, .keep = 3 };
        struct nts_key_ring ring = {};

        /* Rotated faster than keys expire (by hand): the oldest goes. */
        for (uint64_t i = 0; i < 6; i++)
                assert_int_equal(nts_key_ring_rotate(&ring, &s, 1000 + i, NTS_AEAD_AES_SIV_CMAC_256, key_material, 32), 0);
        assert_int_equal(ring.n, NTS_KEY_RING_SIZE);
        for (size_t i = 0; i < NTS_KEY_RING_SIZE; i++)
                assert_int_equal(ring.keys[i].id, 3 + i);
        assert_null(nts_key_ring_lookup(&ring, &s, 2, 1010));
        assert_non_null(nts_key_ring_lookup(&ring, &s, 3, 1010));

        struct nts_key_ring before = ring;
        assert_int_equal(nts_key_ring_rotate(&ring, &s, 2000, NTS_AEAD_AES_SIV_CMAC_256, key_material, 16), -EINVAL);
        assert_int_equal(nts_key_ring_rotate(&ring, &s, 2000, 0x999, key_material, 32), -EINVAL);
        assert_memory_equal(&ring, &before, sizeof(ring));
}

static void test_jar_order(void **state) {
        struct nts_cookie_jar jar = {};
        struct nts_cookie c;
        uint8_t data[NTS_COOKIE_MAX_SIZE];

        assert_int_equal(nts_cookie_jar_take(&jar, &c), -ENOENT);
        for (int i = 0; i < NTS_MAX_COOKIES; i++) {
                memset(data, i, sizeof(data));
                assert_int_equal(nts_cookie_jar_put(&jar, data, 12 + 4 * (size_t) i), 0);
        }
        assert_int_equal(nts_cookie_jar_put(&jar, data, 12), -ENOSPC);
        assert_int_equal(nts_cookie_jar_count(&jar), NTS_MAX_COOKIES);

        /* Oldest first, across the wrap of the ring. */
        for (int i = 0; i < 3; i++) {
                assert_int_equal(nts_cookie_jar_take(&jar, &c), 0);
                assert_int_equal(c.data[0], i);
                assert_int_equal(c.len, 12 + 4 * i);
        }
        for (int i = 8; i < 11; i++) {
                memset(data, i, sizeof(data));
                assert_int_equal(nts_cookie_jar_put(&jar, data, 100), 0);
        }
        for (int i = 3; i < 11; i++) {
                assert_int_equal(nts_cookie_jar_take(&jar, &c), 0);
                assert_int_equal(c.data[0], i);
        }
        assert_int_equal(nts_cookie_jar_take(&jar, &c), -ENOENT);
        assert_int_equal(nts_cookie_jar_count(&jar), 0);
}

static void test_jar_lengths_and_clear(void **state) {
        struct nts_cookie_jar jar = {};
        struct nts_cookie cookies[3] = { { .len = 12 }, { .len = 13 }, { .len = NTS_COOKIE_MAX_SIZE } };
        uint8_t data[NTS_COOKIE_MAX_SIZE + 4] = {};

        assert_int_equal(nts_cookie_jar_put(&jar, data, 0), -EINVAL);
        assert_int_equal(nts_cookie_jar_put(&jar, data, 8), -EINVAL);
        assert_int_equal(nts_cookie_jar_put(&jar, data, 14), -EINVAL);
        assert_int_equal(nts_cookie_jar_put(&jar, data, NTS_COOKIE_MAX_SIZE + 4), -EINVAL);
        assert_int_equal(nts_cookie_jar_count(&jar), 0);

        assert_int_equal(nts_cookie_jar_put_all(&jar, cookies, 3), 2);
        assert_int_equal(nts_cookie_jar_count(&jar), 2);
        nts_cookie_jar_clear(&jar);
        assert_int_equal(nts_cookie_jar_count(&jar), 0);
        struct nts_cookie_jar empty = {};
        assert_memory_equal(&jar, &empty, sizeof(jar));
}

static void test_jar_placeholders(void **state) {
        struct nts_cookie_jar jar = {};
        uint8_t data[104] = {};

        /* None held after taking the last: ask for seven more, if they fit. */
        assert_int_equal(nts_cookie_jar_placeholders(&jar, 104), 7);
        assert_int_equal(nts_cookie_jar_placeholders(&jar, 12), 7);
        assert_int_equal(nts_cookie_jar_placeholders(&jar, NTS_COOKIE_MAX_SIZE), 2);   /* 3 × 260 <= 864 */
        assert_int_equal(nts_cookie_jar_placeholders(&jar, 212), 3);                   /* 4 × 216 */
        assert_int_equal(nts_cookie_jar_placeholders(&jar, 213), 2);

        for (int held = 1; held <= NTS_MAX_COOKIES; held++) {
                assert_int_equal(nts_cookie_jar_put(&jar, data, sizeof(data)), 0);
                size_t expected = held < NTS_MAX_COOKIES - 1 ? (size_t) (NTS_MAX_COOKIES - 1 - held) : 0;
                assert_int_equal(nts_cookie_jar_placeholders(&jar, 104), expected);
        }
}

/* FNV-1a, written again here: the files' checksum. */
static uint32_t fnv1a(const uint8_t *p, size_t n) {
        uint32_t h = 2166136261u;

        for (size_t i = 0; i < n; i++)
                h = (h ^ p[i]) * 16777619u;
        return h;
}

static void fix_checksum(uint8_t *buf, size_t len) {
        unaligned_write_be32(buf + len - 4, fnv1a(buf, len - 4));
}

static struct nts_client_state *client_state(void) {
        struct nts_client_state *s = calloc(1, sizeof(*s));
        uint8_t data[NTS_COOKIE_MAX_SIZE];

        assert_non_null(s);
        s->keys = session_keys();
        s->ke_time = 1700000000;
        strcpy(s->server, "ntp.example.org");
        s->port = 1123;
        /* A wrapped ring: three taken, three more put. */
        for (int i = 0; i < NTS_MAX_COOKIES; i++) {
                memset(data, i, sizeof(data));
                assert_int_equal(nts_cookie_jar_put(&s->jar, data, 104), 0);
        }
        struct nts_cookie c;
        for (int i = 0; i < 5; i++)
                assert_int_equal(nts_cookie_jar_take(&s->jar, &c), 0);
        for (int i = 8; i < 10; i++) {
                memset(data, i, sizeof(data));
                assert_int_equal(nts_cookie_jar_put(&s->jar, data, NTS_COOKIE_MAX_SIZE), 0);
        }
        return s;
}

static int load_client(const uint8_t *buf, size_t len, struct nts_client_state *ret, const char **error) {
        uint8_t *copy = malloc(len ? len : 1);

        assert_non_null(copy);
        memcpy(copy, buf, len);
        int r = nts_client_state_load(copy, len, ret, error);
        free(copy);
        return r;
}

static void test_client_state_round_trip(void **state) {
        struct nts_client_state *s = client_state(), *got = calloc(1, sizeof(*got));
        uint8_t buf[NTS_STATE_MAX_SIZE];
        size_t len;

        assert_non_null(got);
        assert_int_equal(nts_client_state_save(s, buf, sizeof(buf), &len), 0);
        assert_int_equal(load_client(buf, len, got, NULL), 0);
        assert_memory_equal(&got->keys, &s->keys, sizeof(s->keys));
        assert_true(got->ke_time == s->ke_time);
        assert_string_equal(got->server, "ntp.example.org");
        assert_int_equal(got->port, 1123);
        assert_int_equal(nts_cookie_jar_count(&got->jar), 5);
        for (int i = 5; i < 10; i++) {
                struct nts_cookie a, b;
                assert_int_equal(nts_cookie_jar_take(&s->jar, &a), 0);
                assert_int_equal(nts_cookie_jar_take(&got->jar, &b), 0);
                assert_int_equal(a.len, b.len);
                assert_memory_equal(a.data, b.data, a.len);
                assert_int_equal(b.data[0], i);
        }

        /* Empty jar and no server: still a state. */
        memset(s, 0, sizeof(*s));
        s->keys = session_keys();
        assert_int_equal(nts_client_state_save(s, buf, sizeof(buf), &len), 0);
        assert_int_equal(load_client(buf, len, got, NULL), 0);
        assert_string_equal(got->server, "");
        assert_int_equal(got->port, 0);
        assert_int_equal(nts_cookie_jar_count(&got->jar), 0);
        free(s);
        free(got);
}

/* The bytes of a small client state: "NTSC", version 1, the keys, KE time, port, server, cookies. */
static void test_client_state_known_answer(void **state) {
        static const uint8_t head[] = { 'N', 'T', 'S', 'C', 0x00, 0x01, 0x00, 0x0f, 0x00, 0x20 };
        static const uint8_t middle[] = {
                0x00, 0x00, 0x00, 0x00, 0x65, 0x53, 0xf1, 0x00,  /* KE time 1700000000 */
                0x00, 0x7b,                                      /* port 123 */
                0x01, 'x',                                       /* server "x" */
                0x01, 0x00, 0x0c, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
        };
        struct nts_client_state *s = calloc(1, sizeof(*s));
        uint8_t buf[256], data[12];
        size_t len;

        assert_non_null(s);
        s->keys = session_keys();
        s->ke_time = 1700000000;
        s->port = 123;
        strcpy(s->server, "x");
        memset(data, 9, sizeof(data));
        assert_int_equal(nts_cookie_jar_put(&s->jar, data, sizeof(data)), 0);
        assert_int_equal(nts_client_state_save(s, buf, sizeof(buf), &len), 0);
        assert_int_equal(len, sizeof(head) + 64 + sizeof(middle) + 4);
        assert_memory_equal(buf, head, sizeof(head));
        assert_memory_equal(buf + sizeof(head), s->keys.c2s, 32);
        assert_memory_equal(buf + sizeof(head) + 32, s->keys.s2c, 32);
        assert_memory_equal(buf + sizeof(head) + 64, middle, sizeof(middle));
        assert_int_equal(unaligned_read_be32(buf + len - 4), fnv1a(buf, len - 4));

        len = 12345;
        assert_int_equal(nts_client_state_save(s, buf, sizeof(head) + 64 + sizeof(middle) + 3, &len), -ENOBUFS);
        assert_int_equal(len, 12345);
        free(s);
}

static void assert_client_load_fails(const uint8_t *buf, size_t len, const char *expected) {
        struct nts_client_state *got = malloc(sizeof(*got)), *before = malloc(sizeof(*before));
        const char *error = NULL;

        assert_non_null(got);
        assert_non_null(before);
        memset(got, 0xa5, sizeof(*got));
        *before = *got;
        assert_int_equal(load_client(buf, len, got, &error), -EINVAL);
        assert_non_null(error);
        if (expected && strcmp(error, expected) != 0) {
                print_error("expected \"%s\", got \"%s\"\n", expected, error);
                fail();
        }
        assert_memory_equal(got, before, sizeof(*got));
        assert_int_equal(load_client(buf, len, got, NULL), -EINVAL);
        free(got);
        free(before);
}

static void test_client_state_refused(void **state) {
        struct nts_client_state *s = client_state();
        static uint8_t buf[NTS_STATE_MAX_SIZE + 16];
        size_t len;

        assert_int_equal(nts_client_state_save(s, buf, sizeof(buf), &len), 0);

        /* Every cut and every flipped byte. */
        for (size_t cut = 0; cut < len; cut++)
                assert_client_load_fails(buf, cut, NULL);
        for (size_t i = 0; i < len; i++) {
                buf[i] ^= 0x40;
                assert_client_load_fails(buf, len, NULL);
                buf[i] ^= 0x40;
        }

        assert_client_load_fails(buf, 9, "too short");
        assert_client_load_fails(buf, NTS_STATE_MAX_SIZE + 1, "too long");
        buf[len - 1] ^= 1;
        assert_client_load_fails(buf, len, "checksum mismatch");
        buf[len - 1] ^= 1;
        buf[5] = 2;
        fix_checksum(buf, len);
        assert_client_load_fails(buf, len, "unsupported version");
        buf[5] = 1;
        buf[3] = 'K';
        fix_checksum(buf, len);
        assert_client_load_fails(buf, len, "not a state file of this kind");
        buf[3] = 'C';

        /* A good checksum over bad contents. */
        uint8_t copy[NTS_STATE_MAX_SIZE];
        memcpy(copy, buf, len);
        fix_checksum(copy, len - 1);
        assert_client_load_fails(copy, len - 1, "truncated");
        memcpy(copy, buf, len - 4);
        copy[len - 4] = 0;
        fix_checksum(copy, len + 1);
        assert_client_load_fails(copy, len + 1, "trailing data");

        memcpy(copy, buf, len);
        unaligned_write_be16(copy + 8, 16);                          /* key length */
        fix_checksum(copy, len);
        assert_client_load_fails(copy, len, "unknown AEAD algorithm or bad key length");

        size_t server_at = 10 + 64 + 8 + 2;
        memcpy(copy, buf, len);
        copy[server_at + 4] = ' ';
        fix_checksum(copy, len);
        assert_client_load_fails(copy, len, "bad server name");

        size_t cookies_at = server_at + 1 + strlen(s->server);
        memcpy(copy, buf, len);
        copy[cookies_at] = NTS_MAX_COOKIES + 1;
        fix_checksum(copy, len);
        assert_client_load_fails(copy, len, "too many cookies");

        memcpy(copy, buf, len);
        unaligned_write_be16(copy + cookies_at + 1, 101);
        fix_checksum(copy, len);
        assert_client_load_fails(copy, len, "bad cookie length");
        free(s);
}

static void test_client_state_save_arguments(void **state) {
        struct nts_client_state *s = client_state();
        uint8_t buf[NTS_STATE_MAX_SIZE];
        size_t len;

        s->keys.key_len = NTS_KEY_MAX_SIZE + 1;
        assert_int_equal(nts_client_state_save(s, buf, sizeof(buf), &len), -EINVAL);
        s->keys.key_len = 32;
        memset(s->server, 'a', sizeof(s->server));
        assert_int_equal(nts_client_state_save(s, buf, sizeof(buf), &len), -EINVAL);
        s->server[0] = '\0';
        s->jar.n = NTS_MAX_COOKIES + 1;
        assert_int_equal(nts_client_state_save(s, buf, sizeof(buf), &len), -EINVAL);
        free(s);
}

static struct nts_key_ring full_ring(void) {
        const struct nts_key_schedule s = { .interval = WEEK, .keep = 3 };
        struct nts_key_ring ring = {};
        uint8_t material[32];

        for (int i = 0; i < 5; i++) {
                memset(material, i, sizeof(material));
                assert_int_equal(nts_key_ring_rotate(&ring, &s, 1000 + (uint64_t) i * WEEK, NTS_AEAD_AES_SIV_CMAC_256,
                                                     material, 32), 0);
        }
        return ring;
}

static void test_key_ring_file(void **state) {
        struct nts_key_ring ring = full_ring(), got, before;
        uint8_t buf[NTS_STATE_MAX_SIZE], copy[NTS_STATE_MAX_SIZE];
        const char *error = NULL;
        size_t len;

        assert_int_equal(nts_key_ring_save(&ring, buf, sizeof(buf), &len), 0);
        assert_memory_equal(buf, "NTSK\x00\x01", 6);
        assert_int_equal(len, 6 + 4 + 1 + NTS_KEY_RING_SIZE * (4 + 8 + 4 + 32) + 4);
        assert_int_equal(nts_key_ring_load(buf, len, &got, NULL), 0);
        assert_memory_equal(&got, &ring, sizeof(ring));

        struct nts_key_ring empty = {};
        assert_int_equal(nts_key_ring_save(&empty, buf, sizeof(buf), &len), 0);
        assert_int_equal(nts_key_ring_load(buf, len, &got, NULL), 0);
        assert_int_equal(got.n, 0);

        assert_int_equal(nts_key_ring_save(&ring, buf, sizeof(buf), &len), 0);
        memset(&got, 0xa5, sizeof(got));
        before = got;
        for (size_t cut = 0; cut < len; cut++)
                assert_int_equal(nts_key_ring_load(buf, cut, &got, &error), -EINVAL);
        assert_memory_equal(&got, &before, sizeof(got));

        memcpy(copy, buf, len);
        copy[10] = NTS_KEY_RING_SIZE + 1;
        fix_checksum(copy, len);
        assert_int_equal(nts_key_ring_load(copy, len, &got, &error), -EINVAL);
        assert_string_equal(error, "too many keys");

        memcpy(copy, buf, len);
        unaligned_write_be32(copy + 11 + 48, 2);      /* second key's id: same as the first's */
        fix_checksum(copy, len);
        assert_int_equal(nts_key_ring_load(copy, len, &got, &error), -EINVAL);
        assert_string_equal(error, "key ids out of order");

        memcpy(copy, buf, len);
        unaligned_write_be32(copy + 6, 4);            /* last id below the newest key's */
        fix_checksum(copy, len);
        assert_int_equal(nts_key_ring_load(copy, len, &got, &error), -EINVAL);
        assert_string_equal(error, "key ids out of order");

        memcpy(copy, buf, len);
        unaligned_write_be16(copy + 11 + 12, 0);      /* first key's algorithm */
        fix_checksum(copy, len);
        assert_int_equal(nts_key_ring_load(copy, len, &got, &error), -EINVAL);
        assert_string_equal(error, "unknown AEAD algorithm or bad key length");

        assert_int_equal(nts_key_ring_load(buf, len, &got, &error), 0);
        /* A client state is no key file. */
        struct nts_client_state *s = client_state();
        assert_int_equal(nts_client_state_save(s, copy, sizeof(copy), &len), 0);
        assert_int_equal(nts_key_ring_load(copy, len, &got, &error), -EINVAL);
        assert_string_equal(error, "not a state file of this kind");
        free(s);

        assert_int_equal(nts_key_ring_save(&ring, buf, 100, &len), -ENOBUFS);
        ring.keys[0].key_len = NTS_KEY_MAX_SIZE + 1;
        assert_int_equal(nts_key_ring_save(&ring, buf, sizeof(buf), &len), -EINVAL);
        ring.n = NTS_KEY_RING_SIZE + 1;
        assert_int_equal(nts_key_ring_save(&ring, buf, sizeof(buf), &len), -EINVAL);
}

/* The server's whole path: the ring's current key seals, the ring's lookup opens. */
struct ring_lookup {
        const struct nts_key_ring *ring;
        const struct nts_key_schedule *schedule;
        uint64_t now;
};

static const struct nts_server_key *ring_lookup(void *userdata, uint32_t id) {
        const struct ring_lookup *l = userdata;

        return nts_key_ring_lookup(l->ring, l->schedule, id, l->now);
}

static void test_cookies_across_rotation(void **state) {
        const struct nts_key_schedule s = { .interval = WEEK, .keep = 2 };
        struct nts_fake_aead_state fs = {};
        struct nts_aead fake = nts_fake_aead(&fs);
        struct nts_key_ring ring = {};
        struct nts_keys session = session_keys(), got;
        struct nts_cookie cookie;
        uint8_t material[32] = { 1 };
        uint64_t t0 = 1000;

        assert_int_equal(nts_key_ring_rotate(&ring, &s, t0, NTS_AEAD_AES_SIV_CMAC_256, material, 32), 0);
        assert_int_equal(nts_cookie_encode(&fake, nts_key_ring_current(&ring, &s, t0), nonce, &session, &cookie), 0);

        for (int week = 1; week <= 3; week++) {
                uint64_t now = t0 + (uint64_t) week * WEEK;
                material[0] = (uint8_t) (week + 1);
                assert_null(nts_key_ring_current(&ring, &s, now));
                assert_int_equal(nts_key_ring_rotate(&ring, &s, now, NTS_AEAD_AES_SIV_CMAC_256, material, 32), 0);
                struct ring_lookup l = { &ring, &s, now };
                int r = nts_cookie_decode(&fake, cookie.data, cookie.len, ring_lookup, &l, &got);
                assert_int_equal(r, week < 3 ? 0 : -ENOKEY);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cookie_known_answer),
                cmocka_unit_test(test_cookie_round_trip),
                cmocka_unit_test(test_cookie_tampering),
                cmocka_unit_test(test_cookie_contents),
                cmocka_unit_test(test_cookie_encode_arguments),
                cmocka_unit_test(test_schedule),
                cmocka_unit_test(test_ring_rotation),
                cmocka_unit_test(test_ring_full),
                cmocka_unit_test(test_jar_order),
                cmocka_unit_test(test_jar_lengths_and_clear),
                cmocka_unit_test(test_jar_placeholders),
                cmocka_unit_test(test_client_state_round_trip),
                cmocka_unit_test(test_client_state_known_answer),
                cmocka_unit_test(test_client_state_refused),
                cmocka_unit_test(test_client_state_save_arguments),
                cmocka_unit_test(test_key_ring_file),
                cmocka_unit_test(test_cookies_across_rotation),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
