/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Stand-in AEADs for the NTS unit tests, the fuzzers and the simulator. NOT SECURE, TEST ONLY:
 * neither hides nor protects anything against an adversary. Both have the shape of
 * AES-SIV-CMAC-256 as GnuTLS offers it (id 15, 32-byte keys, the 16-byte tag in front of the
 * ciphertext, any nonce length), so the NTS code runs the same as with the real one.
 *
 * - nts_fake_aead(): a keyed checksum as the tag and a keystream XOR: a wrong key, nonce,
 *   associated data or any flipped bit of the ciphertext makes open() fail, as with a real AEAD.
 * - nts_clear_aead(): no encryption at all and a fixed tag, the key ignored: known-answer tests
 *   can spell out its bytes, and a fuzzer can write packets that open. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/nts.h"

#define NTS_FAKE_KEY_SIZE 32
#define NTS_FAKE_TAG_SIZE 16
#define NTS_CLEAR_TAG "clear-aead-tag!!"

/* What both look like to the NTS code: AES-SIV-CMAC-256 with GnuTLS's limits. */
#define NTS_FAKE_OPS(prefix)                                    \
        {                                                       \
                .id = NTS_AEAD_AES_SIV_CMAC_256,                \
                .key_len = NTS_FAKE_KEY_SIZE,                   \
                .tag_len = NTS_FAKE_TAG_SIZE,                   \
                .nonce_min = 1,                                 \
                .nonce_max = SIZE_MAX,                          \
                .set_key = prefix##_set_key,                    \
                .seal = prefix##_seal,                          \
                .open = prefix##_open,                          \
        }

struct nts_fake_aead_state {
        uint8_t key[NTS_FAKE_KEY_SIZE];
        bool keyed;
};

static inline uint64_t nts_fake_mix(uint64_t z) {
        z += UINT64_C(0x9e3779b97f4a7c15);
        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

/* FNV-1a over the length and the bytes, so that where one input ends is part of the hash. */
static inline uint64_t nts_fake_absorb(uint64_t h, const uint8_t *p, size_t n) {
        h = (h ^ n) * UINT64_C(0x100000001b3);
        for (size_t i = 0; i < n; i++)
                h = (h ^ p[i]) * UINT64_C(0x100000001b3);
        return h;
}

static inline void nts_fake_tag(const struct nts_fake_aead_state *s, const uint8_t *nonce, size_t nonce_len,
                                const uint8_t *ad, size_t ad_len, const uint8_t *plain, size_t plain_len,
                                uint8_t tag[static NTS_FAKE_TAG_SIZE]) {
        for (unsigned lane = 0; lane < 2; lane++) {
                uint64_t h = UINT64_C(0xcbf29ce484222325) ^ lane;
                h = nts_fake_absorb(h, s->key, sizeof(s->key));
                h = nts_fake_absorb(h, nonce, nonce_len);
                h = nts_fake_absorb(h, ad, ad_len);
                h = nts_fake_mix(nts_fake_absorb(h, plain, plain_len));
                for (unsigned i = 0; i < 8; i++)
                        tag[8 * lane + i] = (uint8_t) (h >> (56 - 8 * i));
        }
}

static inline void nts_fake_xor(const struct nts_fake_aead_state *s, const uint8_t *nonce, size_t nonce_len,
                                const uint8_t *in, uint8_t *out, size_t n) {
        uint64_t seed = nts_fake_absorb(nts_fake_absorb(UINT64_C(0x84222325cbf29ce4), s->key, sizeof(s->key)),
                                        nonce, nonce_len);
        uint64_t block = 0;

        for (size_t i = 0; i < n; i++) {
                if (i % 8 == 0)
                        block = nts_fake_mix(seed + i / 8);
                out[i] = in[i] ^ (uint8_t) (block >> (8 * (i % 8)));
        }
}

static inline int nts_fake_set_key(void *ctx, const uint8_t *key, size_t key_len) {
        struct nts_fake_aead_state *s = ctx;

        if (key_len != NTS_FAKE_KEY_SIZE)
                return -EINVAL;
        memcpy(s->key, key, key_len);
        s->keyed = true;
        return 0;
}

static inline int nts_fake_seal(void *ctx, const uint8_t *nonce, size_t nonce_len, const uint8_t *ad, size_t ad_len,
                                const uint8_t *plain, size_t plain_len, uint8_t *out) {
        const struct nts_fake_aead_state *s = ctx;

        if (!s->keyed)
                return -ENOKEY;
        nts_fake_tag(s, nonce, nonce_len, ad, ad_len, plain, plain_len, out);
        nts_fake_xor(s, nonce, nonce_len, plain, out + NTS_FAKE_TAG_SIZE, plain_len);
        return 0;
}

static inline int nts_fake_open(void *ctx, const uint8_t *nonce, size_t nonce_len, const uint8_t *ad, size_t ad_len,
                                const uint8_t *cipher, size_t cipher_len, uint8_t *out) {
        const struct nts_fake_aead_state *s = ctx;
        uint8_t tag[NTS_FAKE_TAG_SIZE];

        if (!s->keyed)
                return -ENOKEY;
        if (cipher_len < NTS_FAKE_TAG_SIZE)
                return -EBADMSG;
        size_t plain_len = cipher_len - NTS_FAKE_TAG_SIZE;
        nts_fake_xor(s, nonce, nonce_len, cipher + NTS_FAKE_TAG_SIZE, out, plain_len);
        nts_fake_tag(s, nonce, nonce_len, ad, ad_len, out, plain_len, tag);
        if (memcmp(tag, cipher, NTS_FAKE_TAG_SIZE) != 0) {
                memset(out, 0, plain_len);
                return -EBADMSG;
        }
        return 0;
}

static inline struct nts_aead nts_fake_aead(struct nts_fake_aead_state *state) {
        static const struct nts_aead_ops ops = NTS_FAKE_OPS(nts_fake);
        return (struct nts_aead) { .ops = &ops, .ctx = state };
}

static inline int nts_clear_set_key(void *ctx, const uint8_t *key, size_t key_len) {
        return key_len == NTS_FAKE_KEY_SIZE ? 0 : -EINVAL;
}

static inline int nts_clear_seal(void *ctx, const uint8_t *nonce, size_t nonce_len, const uint8_t *ad, size_t ad_len,
                                 const uint8_t *plain, size_t plain_len, uint8_t *out) {
        memcpy(out, NTS_CLEAR_TAG, NTS_FAKE_TAG_SIZE);
        memcpy(out + NTS_FAKE_TAG_SIZE, plain, plain_len);
        return 0;
}

static inline int nts_clear_open(void *ctx, const uint8_t *nonce, size_t nonce_len, const uint8_t *ad, size_t ad_len,
                                 const uint8_t *cipher, size_t cipher_len, uint8_t *out) {
        if (cipher_len < NTS_FAKE_TAG_SIZE || memcmp(cipher, NTS_CLEAR_TAG, NTS_FAKE_TAG_SIZE) != 0)
                return -EBADMSG;
        memcpy(out, cipher + NTS_FAKE_TAG_SIZE, cipher_len - NTS_FAKE_TAG_SIZE);
        return 0;
}

static inline struct nts_aead nts_clear_aead(void) {
        static const struct nts_aead_ops ops = NTS_FAKE_OPS(nts_clear);
        return (struct nts_aead) { .ops = &ops, .ctx = NULL };
}
