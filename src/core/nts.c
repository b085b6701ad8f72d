/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <string.h>

#include "nts.h"
#include "unaligned.h"

bool nts_cookie_length_valid(size_t len) {
        return len >= NTS_COOKIE_MIN_SIZE && len <= NTS_COOKIE_MAX_SIZE && len % 4 == 0;
}

size_t nts_aead_key_length(uint16_t aead) {
        switch (aead) {
        case NTS_AEAD_AES_SIV_CMAC_256: return 32;
        case NTS_AEAD_AES_SIV_CMAC_384: return 48;
        case NTS_AEAD_AES_SIV_CMAC_512: return 64;
        case NTS_AEAD_AES_128_GCM_SIV: return 16;
        default: return 0;
        }
}

size_t nts_aead_nonce_length(const struct nts_aead *aead) {
        const struct nts_aead_ops *ops = aead->ops;
        size_t n = NTS_NONCE_SIZE;

        if (n > ops->nonce_max)
                n = ops->nonce_max;
        return n;
}

int nts_aead_set_key(const struct nts_aead *aead, const uint8_t *key, size_t key_len) {
        if (key_len == 0 || key_len != aead->ops->key_len)
                return -EINVAL;
        return aead->ops->set_key(aead->ctx, key, key_len);
}

uint8_t *nts_writer_reserve(struct nts_writer *w, size_t n) {
        if (w->overflow || n > w->size - w->len) {
                w->overflow = true;
                return NULL;
        }
        uint8_t *p = w->buf + w->len;
        w->len += n;
        return p;
}

void nts_writer_put(struct nts_writer *w, const void *data, size_t n) {
        uint8_t *p = nts_writer_reserve(w, n);

        if (p && n > 0)
                memcpy(p, data, n);
}

void nts_writer_put_zeros(struct nts_writer *w, size_t n) {
        uint8_t *p = nts_writer_reserve(w, n);

        if (p && n > 0)
                memset(p, 0, n);
}

void nts_writer_put_u8(struct nts_writer *w, uint8_t v) {
        nts_writer_put(w, &v, 1);
}

void nts_writer_put_u16(struct nts_writer *w, uint16_t v) {
        uint8_t *p = nts_writer_reserve(w, 2);

        if (p)
                unaligned_write_be16(p, v);
}

void nts_writer_put_u32(struct nts_writer *w, uint32_t v) {
        uint8_t *p = nts_writer_reserve(w, 4);

        if (p)
                unaligned_write_be32(p, v);
}

void nts_writer_put_u64(struct nts_writer *w, uint64_t v) {
        uint8_t *p = nts_writer_reserve(w, 8);

        if (p)
                unaligned_write_be64(p, v);
}

const uint8_t *nts_reader_get(struct nts_reader *r, size_t n) {
        if (r->short_read || n > r->len - r->pos) {
                r->short_read = true;
                return NULL;
        }
        const uint8_t *p = r->buf + r->pos;
        r->pos += n;
        return p;
}

uint8_t nts_reader_get_u8(struct nts_reader *r) {
        const uint8_t *p = nts_reader_get(r, 1);

        return p ? p[0] : 0;
}

uint16_t nts_reader_get_u16(struct nts_reader *r) {
        const uint8_t *p = nts_reader_get(r, 2);

        return p ? unaligned_read_be16(p) : 0;
}

uint32_t nts_reader_get_u32(struct nts_reader *r) {
        const uint8_t *p = nts_reader_get(r, 4);

        return p ? unaligned_read_be32(p) : 0;
}

uint64_t nts_reader_get_u64(struct nts_reader *r) {
        const uint8_t *p = nts_reader_get(r, 8);

        return p ? unaligned_read_be64(p) : 0;
}

void nts_wipe(void *p, size_t n) {
        explicit_bzero(p, n);
}
