/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* GnuTLS behind the core's NTS interfaces: AES-SIV-CMAC-256 (RFC 5297, NTS AEAD 15) as a
 * struct nts_aead, and the random bytes for nonces, unique identifiers and keys. */

#include <stddef.h>

#include "core/nts.h"

/* An AES-SIV-CMAC-256 instance; key it with nts_aead_set_key() before use. */
int nts_gnutls_aead_new(struct nts_aead *ret);
void nts_gnutls_aead_free(struct nts_aead *aead);

/* n bytes from GnuTLS's generator: for nonces and unique identifiers. */
int nts_random_nonce(void *buf, size_t n);
/* n bytes for key material. */
int nts_random_key(void *buf, size_t n);
