/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* AES-SIV-CMAC-256 through gnutls_aead_cipher_*: GnuTLS writes the synthetic IV (the tag) first
 * and the ciphertext after it, which is RFC 5297's output and what the core expects. nettle
 * aborts on an empty nonce: the ops say nonce_min 1 and the core never passes one. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "nts-gnutls.h"

#define SIV_KEY_SIZE 32
#define SIV_TAG_SIZE 16

struct siv {
        gnutls_aead_cipher_hd_t cipher; /* NULL until keyed */
        uint8_t key[SIV_KEY_SIZE];   /* the cipher's key: a server re-keys per packet, mostly to the same */
};

static int siv_set_key(void *ctx, const uint8_t *key, size_t key_len) {
        struct siv *s = ctx;
        if (key_len != SIV_KEY_SIZE)
                return -EINVAL;
        /* Setting up a cipher allocates and expands the key: not again for the same key. */
        if (s->cipher && memcmp(s->key, key, SIV_KEY_SIZE) == 0)
                return 0;
        if (s->cipher) {
                gnutls_aead_cipher_deinit(s->cipher);
                s->cipher = NULL;
        }
        gnutls_datum_t k = { .data = (unsigned char *) key, .size = (unsigned) key_len };
        if (gnutls_aead_cipher_init(&s->cipher, GNUTLS_CIPHER_AES_128_SIV, &k) < 0) {
                s->cipher = NULL;
                return -EIO;
        }
        memcpy(s->key, key, SIV_KEY_SIZE);
        return 0;
}

static int siv_seal(void *ctx, const uint8_t *nonce, size_t nonce_len, const uint8_t *ad, size_t ad_len,
                    const uint8_t *plain, size_t plain_len, uint8_t *out) {
        struct siv *s = ctx;
        size_t out_len = plain_len + SIV_TAG_SIZE;
        if (!s->cipher || nonce_len == 0)
                return -EINVAL;
        if (gnutls_aead_cipher_encrypt(s->cipher, nonce, nonce_len, ad, ad_len, SIV_TAG_SIZE, plain, plain_len, out,
                                       &out_len) < 0 ||
            out_len != plain_len + SIV_TAG_SIZE)
                return -EIO;
        return 0;
}

static int siv_open(void *ctx, const uint8_t *nonce, size_t nonce_len, const uint8_t *ad, size_t ad_len,
                    const uint8_t *cipher, size_t cipher_len, uint8_t *out) {
        struct siv *s = ctx;
        if (!s->cipher || nonce_len == 0 || cipher_len < SIV_TAG_SIZE)
                return -EINVAL;
        size_t out_len = cipher_len - SIV_TAG_SIZE;
        /* GnuTLS writes nothing for an empty plaintext; a dummy pointer keeps it from checking NULL. */
        uint8_t dummy;
        if (gnutls_aead_cipher_decrypt(s->cipher, nonce, nonce_len, ad, ad_len, SIV_TAG_SIZE, cipher, cipher_len,
                                       out_len ? out : &dummy, &out_len) < 0)
                return -EBADMSG;
        return out_len == cipher_len - SIV_TAG_SIZE ? 0 : -EBADMSG;
}

static const struct nts_aead_ops siv_ops = {
        .id = NTS_AEAD_AES_SIV_CMAC_256,
        .key_len = SIV_KEY_SIZE,
        .tag_len = SIV_TAG_SIZE,
        .nonce_min = 1,
        .nonce_max = NTS_NONCE_SIZE,
        .set_key = siv_set_key,
        .seal = siv_seal,
        .open = siv_open,
};

int nts_gnutls_aead_new(struct nts_aead *ret) {
        struct siv *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *ret = (struct nts_aead) { .ops = &siv_ops, .ctx = s };
        return 0;
}

void nts_gnutls_aead_free(struct nts_aead *aead) {
        struct siv *s = aead ? aead->ctx : NULL;
        if (!s)
                return;
        if (s->cipher)
                gnutls_aead_cipher_deinit(s->cipher);
        nts_wipe(s->key, sizeof(s->key));
        free(s);
        aead->ctx = NULL;
}

int nts_random_nonce(void *buf, size_t n) {
        return gnutls_rnd(GNUTLS_RND_NONCE, buf, n) < 0 ? -EIO : 0;
}

int nts_random_key(void *buf, size_t n) {
        return gnutls_rnd(GNUTLS_RND_KEY, buf, n) < 0 ? -EIO : 0;
}
