/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Network Time Security (RFC 8915): what the NTS-KE codec (nts-ke.h), the NTP extension fields
 * (nts-ntp.h) and the cookies (nts-cookie.h) share: limits, the negotiated keys, a cookie, the
 * AEAD interface, and bounds-checked cursors over byte buffers.
 *
 * The core does no cryptography and draws no random numbers: the AEAD is behind struct
 * nts_aead_ops (the daemon passes GnuTLS AES-SIV-CMAC, the tests and the simulator a fake), and
 * every nonce, unique identifier and key comes in from the caller. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* AEAD algorithm identifiers (IANA "AEAD Algorithms"). */
#define NTS_AEAD_AES_SIV_CMAC_256 15
#define NTS_AEAD_AES_SIV_CMAC_384 16
#define NTS_AEAD_AES_SIV_CMAC_512 17
#define NTS_AEAD_AES_128_GCM_SIV 30

#define NTS_MAX_COOKIES 8
/* A cookie fills an NTP extension field exactly (RFC 7822: at least 16 bytes with the 4-byte
 * header, a multiple of 4), so a server's padding can never end up inside it. */
#define NTS_COOKIE_MIN_SIZE 12
#define NTS_COOKIE_MAX_SIZE 256
#define NTS_KEY_MAX_SIZE 64      /* AES-SIV-CMAC-512 */
#define NTS_NONCE_SIZE 16        /* what we send; RFC 8915 §5.6 asks for at least 16 where possible */
#define NTS_TAG_MAX_SIZE 16

/* An opaque cookie as the server handed it out. */
struct nts_cookie {
        uint16_t len;
        uint8_t data[NTS_COOKIE_MAX_SIZE];
};

/* The keys an NTS-KE session exported: client-to-server and server-to-client, for one AEAD. */
struct nts_keys {
        uint16_t aead;
        uint16_t key_len;
        uint8_t c2s[NTS_KEY_MAX_SIZE];
        uint8_t s2c[NTS_KEY_MAX_SIZE];
};

/* An AEAD with a settable key, as an SIV cipher works: seal() writes tag_len + plain_len bytes,
 * open() writes cipher_len - tag_len bytes, or fails with a negative errno (-EBADMSG when the
 * tag does not verify). The buffers never overlap. */
struct nts_aead_ops {
        uint16_t id;             /* NTS_AEAD_* */
        size_t key_len;
        size_t tag_len;          /* at most NTS_TAG_MAX_SIZE */
        size_t nonce_min;
        size_t nonce_max;
        int (*set_key)(void *ctx, const uint8_t *key, size_t key_len);
        int (*seal)(void *ctx, const uint8_t *nonce, size_t nonce_len, const uint8_t *ad, size_t ad_len,
                    const uint8_t *plain, size_t plain_len, uint8_t *out);
        int (*open)(void *ctx, const uint8_t *nonce, size_t nonce_len, const uint8_t *ad, size_t ad_len,
                    const uint8_t *cipher, size_t cipher_len, uint8_t *out);
};

struct nts_aead {
        const struct nts_aead_ops *ops;
        void *ctx;
};

/* Whether a cookie of this length fits an extension field exactly and within the limit. */
bool nts_cookie_length_valid(size_t len);

/* The key length of an AEAD algorithm, 0 for one we do not know. */
size_t nts_aead_key_length(uint16_t aead);

/* How many bytes of an NTS_NONCE_SIZE nonce this AEAD is given. */
size_t nts_aead_nonce_length(const struct nts_aead *aead);

/* Keys the AEAD with one direction of keys: the length must be what both expect. */
int nts_aead_set_key(const struct nts_aead *aead, const uint8_t *key, size_t key_len);

/* Writing into a fixed buffer: every put checks the room left; once one does not fit, the writer
 * is marked overflowed and writes nothing more. */
struct nts_writer {
        uint8_t *buf;
        size_t size;
        size_t len;
        bool overflow;
};

/* Room for n more bytes at the end, or NULL (and overflow) when there is none. */
uint8_t *nts_writer_reserve(struct nts_writer *w, size_t n);
void nts_writer_put(struct nts_writer *w, const void *data, size_t n);  /* data may be NULL when n is 0 */
void nts_writer_put_zeros(struct nts_writer *w, size_t n);
void nts_writer_put_u8(struct nts_writer *w, uint8_t v);
void nts_writer_put_u16(struct nts_writer *w, uint16_t v);
void nts_writer_put_u32(struct nts_writer *w, uint32_t v);
void nts_writer_put_u64(struct nts_writer *w, uint64_t v);

/* Reading untrusted bytes: every get checks what is left; once one runs past the end, the reader is
 * marked short and every later get fails too (getters then return 0 or NULL). */
struct nts_reader {
        const uint8_t *buf;
        size_t len;
        size_t pos;
        bool short_read;
};

static inline size_t nts_reader_left(const struct nts_reader *r) {
        return r->short_read ? 0 : r->len - r->pos;
}

const uint8_t *nts_reader_get(struct nts_reader *r, size_t n);
uint8_t nts_reader_get_u8(struct nts_reader *r);
uint16_t nts_reader_get_u16(struct nts_reader *r);
uint32_t nts_reader_get_u32(struct nts_reader *r);
uint64_t nts_reader_get_u64(struct nts_reader *r);

/* Bytes of zero padding that bring n up to a multiple of 4. */
static inline size_t nts_padding(size_t n) {
        return (4 - n % 4) % 4;
}

/* Overwrites secrets so that they do not linger in freed or reused memory. */
void nts_wipe(void *p, size_t n);
