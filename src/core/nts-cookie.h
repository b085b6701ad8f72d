/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* NTS cookies on both sides (RFC 8915 §6) and the state files that keep them.
 *
 * Server: a cookie is the id of the server key that sealed it, a nonce, and the sealed session
 * keys: key id (4 bytes) | nonce | AEAD(server key, nonce, ad = key id, {aead, key length, C2S,
 * S2C}). Server keys rotate: each is current for one interval, then accepted for `keep` more.
 *
 * Client: the cookie jar, up to eight cookies, each used once, oldest first.
 *
 * State files (the client's keys and cookies, the server's keys) are a magic, a version, the
 * fields, and a checksum; whatever is loaded is untrusted, and a bad file loads nothing. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nts-ke.h"
#include "nts.h"

#define NTS_COOKIE_KEY_ID_SIZE 4

#define NTS_KEY_RING_SIZE 4                       /* the current key and up to three older ones */
#define NTS_KEY_ROTATION_DEFAULT (7 * 24 * 3600)  /* weekly, as chrony */
#define NTS_KEY_KEEP_DEFAULT 2

/* Cookie fields of a request stay within this, so that it is not fragmented (chrony's limit). */
#define NTS_COOKIE_JAR_MAX_REQUEST_BYTES (8 * 108)

#define NTS_STATE_VERSION 1
#define NTS_STATE_MAX_SIZE 4096

/* A key that seals the server's cookies. */
struct nts_server_key {
        uint32_t id;
        uint64_t created;        /* seconds, on the caller's clock */
        uint16_t aead;
        uint16_t key_len;
        uint8_t key[NTS_KEY_MAX_SIZE];
};

/* The server key that sealed a cookie, or NULL when it is unknown or no longer accepted. */
typedef const struct nts_server_key *(*nts_cookie_key_lookup_t)(void *userdata, uint32_t key_id);

/* The length of a cookie sealed by this AEAD over keys of this length. */
size_t nts_cookie_length(const struct nts_aead *aead, size_t key_len);

/* Seals the session keys into a cookie with the server key (of the AEAD's algorithm) and a nonce
 * of NTS_NONCE_SIZE fresh random bytes. */
int nts_cookie_encode(const struct nts_aead *aead, const struct nts_server_key *key, const uint8_t *nonce,
                      const struct nts_keys *keys, struct nts_cookie *ret);

/* Opens a cookie: -ENOKEY for a key id the lookup does not know, -EBADMSG for one that does not
 * open or holds nonsense, -EINVAL for a length no cookie of ours has. */
int nts_cookie_decode(const struct nts_aead *aead, const uint8_t *cookie, size_t len,
                      nts_cookie_key_lookup_t lookup, void *userdata, struct nts_keys *ret);

/* The rotation: a key is current for `interval` seconds after its creation, then accepted for
 * `keep` intervals more. A key created after `now` (the clock went back) counts as current. */
struct nts_key_schedule {
        uint64_t interval;
        unsigned keep;           /* at most NTS_KEY_RING_SIZE - 1 */
};

bool nts_key_schedule_is_current(const struct nts_key_schedule *s, uint64_t created, uint64_t now);
bool nts_key_schedule_is_accepted(const struct nts_key_schedule *s, uint64_t created, uint64_t now);

/* The server's keys, oldest first, with ids counting up. Zero-initialized is empty. */
struct nts_key_ring {
        uint32_t last_id;        /* of the newest key ever made, kept when keys expire */
        size_t n;
        struct nts_server_key keys[NTS_KEY_RING_SIZE];
};

/* The key new cookies are sealed with: the newest, if still current; NULL means rotate now. */
const struct nts_server_key *nts_key_ring_current(const struct nts_key_ring *ring, const struct nts_key_schedule *s,
                                                  uint64_t now);

/* An accepted key with this id, or NULL. */
const struct nts_server_key *nts_key_ring_lookup(const struct nts_key_ring *ring, const struct nts_key_schedule *s,
                                                 uint32_t id, uint64_t now);

/* When the current key stops being current: the time to rotate next (now, if it is due). */
uint64_t nts_key_ring_next_rotation(const struct nts_key_ring *ring, const struct nts_key_schedule *s, uint64_t now);

/* Makes fresh key material (from the caller's random source) the current key, created now, with the
 * next id; drops the keys no longer accepted and, if still full, the oldest. */
int nts_key_ring_rotate(struct nts_key_ring *ring, const struct nts_key_schedule *s, uint64_t now, uint16_t aead,
                        const uint8_t *key, size_t key_len);

/* Drops (and wipes) the keys no longer accepted. */
void nts_key_ring_expire(struct nts_key_ring *ring, const struct nts_key_schedule *s, uint64_t now);

int nts_key_ring_save(const struct nts_key_ring *ring, uint8_t *buf, size_t size, size_t *ret_len);
/* -EINVAL and a static text in *ret_error (optional) for a bad file. */
int nts_key_ring_load(const uint8_t *buf, size_t len, struct nts_key_ring *ret, const char **ret_error);

/* The client's cookies: a ring, oldest first. Zero-initialized is empty. */
struct nts_cookie_jar {
        size_t head;
        size_t n;
        struct nts_cookie cookies[NTS_MAX_COOKIES];
};

static inline size_t nts_cookie_jar_count(const struct nts_cookie_jar *jar) {
        return jar->n;
}

/* Keeps a cookie: -EINVAL for a length no request can carry, -ENOSPC when the jar is full. */
int nts_cookie_jar_put(struct nts_cookie_jar *jar, const uint8_t *data, size_t len);
/* Keeps what fits of a server's cookies; returns how many. */
size_t nts_cookie_jar_put_all(struct nts_cookie_jar *jar, const struct nts_cookie *cookies, size_t n);
/* Takes the oldest cookie out: each is sent once. -ENOENT when empty. */
int nts_cookie_jar_take(struct nts_cookie_jar *jar, struct nts_cookie *ret);
/* After a take: how many placeholders the request carries to fill the jar again, within
 * NTS_COOKIE_JAR_MAX_REQUEST_BYTES for the cookie and its placeholders. */
size_t nts_cookie_jar_placeholders(const struct nts_cookie_jar *jar, size_t cookie_len);
/* Forgets every cookie (an NTS NAK, a new KE). */
void nts_cookie_jar_clear(struct nts_cookie_jar *jar);

/* What a client keeps of an NTS-KE session across a restart. */
struct nts_client_state {
        struct nts_keys keys;
        struct nts_cookie_jar jar;
        uint64_t ke_time;                         /* when the KE succeeded, on the caller's clock */
        char server[NTS_KE_MAX_SERVER_NAME + 1];  /* the negotiated NTP server, "" for none */
        uint16_t port;                            /* the negotiated NTP port, 0 for none */
};

int nts_client_state_save(const struct nts_client_state *state, uint8_t *buf, size_t size, size_t *ret_len);
/* -EINVAL and a static text in *ret_error (optional) for a bad file. */
int nts_client_state_load(const uint8_t *buf, size_t len, struct nts_client_state *ret, const char **ret_error);
