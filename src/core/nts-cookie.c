/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <string.h>

#include "nts-cookie.h"
#include "unaligned.h"

/* The sealed part of a cookie: algorithm and key length, then the two keys. */
#define COOKIE_PLAIN_HEADER_SIZE 4
#define COOKIE_PLAIN_MAX_SIZE (COOKIE_PLAIN_HEADER_SIZE + 2 * NTS_KEY_MAX_SIZE)

#define STATE_MAGIC_CLIENT "NTSC"
#define STATE_MAGIC_KEYS "NTSK"
#define STATE_MAGIC_SIZE 4
#define STATE_FRAME_SIZE (STATE_MAGIC_SIZE + 2 + 4)  /* magic, version, checksum */

static bool keys_valid(const struct nts_keys *keys) {
        return keys->key_len > 0 && keys->key_len == nts_aead_key_length(keys->aead);
}

size_t nts_cookie_length(const struct nts_aead *aead, size_t key_len) {
        return NTS_COOKIE_KEY_ID_SIZE + nts_aead_nonce_length(aead) + aead->ops->tag_len + COOKIE_PLAIN_HEADER_SIZE +
               2 * key_len;
}

static int use_server_key(const struct nts_aead *aead, const struct nts_server_key *key) {
        if (key->aead != aead->ops->id || key->key_len > NTS_KEY_MAX_SIZE)
                return -ENOKEY;
        return nts_aead_set_key(aead, key->key, key->key_len);
}

int nts_cookie_encode(const struct nts_aead *aead, const struct nts_server_key *key, const uint8_t *nonce,
                      const struct nts_keys *keys, struct nts_cookie *ret) {
        const struct nts_aead_ops *ops = aead->ops;
        size_t nonce_len = nts_aead_nonce_length(aead);
        size_t len = nts_cookie_length(aead, keys->key_len);
        uint8_t plain[COOKIE_PLAIN_MAX_SIZE];
        struct nts_writer w = { .buf = plain, .size = sizeof(plain) };
        struct nts_cookie c = {};

        if (!keys_valid(keys) || !nts_cookie_length_valid(len) || nonce_len < ops->nonce_min)
                return -EINVAL;
        int r = use_server_key(aead, key);
        if (r < 0)
                return r;

        nts_writer_put_u16(&w, keys->aead);
        nts_writer_put_u16(&w, keys->key_len);
        nts_writer_put(&w, keys->c2s, keys->key_len);
        nts_writer_put(&w, keys->s2c, keys->key_len);

        /* The key id is associated data: a cookie moved to another id does not open. */
        unaligned_write_be32(c.data, key->id);
        memcpy(c.data + NTS_COOKIE_KEY_ID_SIZE, nonce, nonce_len);
        r = ops->seal(aead->ctx, nonce, nonce_len, c.data, NTS_COOKIE_KEY_ID_SIZE, plain, w.len,
                      c.data + NTS_COOKIE_KEY_ID_SIZE + nonce_len);
        nts_wipe(plain, sizeof(plain));
        if (r < 0)
                return r;
        c.len = (uint16_t) len;
        *ret = c;
        return 0;
}

/* The session keys out of an opened cookie; false for anything but exactly two keys of the
 * length their algorithm has. */
static bool read_cookie_keys(const uint8_t *plain, size_t len, struct nts_keys *keys) {
        keys->aead = unaligned_read_be16(plain);
        keys->key_len = unaligned_read_be16(plain + 2);
        if (!keys_valid(keys) || len != COOKIE_PLAIN_HEADER_SIZE + 2 * (size_t) keys->key_len)
                return false;
        memcpy(keys->c2s, plain + COOKIE_PLAIN_HEADER_SIZE, keys->key_len);
        memcpy(keys->s2c, plain + COOKIE_PLAIN_HEADER_SIZE + keys->key_len, keys->key_len);
        return true;
}

int nts_cookie_decode(const struct nts_aead *aead, const uint8_t *cookie, size_t len,
                      nts_cookie_key_lookup_t lookup, void *userdata, struct nts_keys *ret) {
        const struct nts_aead_ops *ops = aead->ops;
        size_t nonce_len = nts_aead_nonce_length(aead);
        size_t overhead = NTS_COOKIE_KEY_ID_SIZE + nonce_len + ops->tag_len;
        uint8_t plain[COOKIE_PLAIN_MAX_SIZE];
        struct nts_keys keys = {};

        if (len < overhead + COOKIE_PLAIN_HEADER_SIZE || len - overhead > COOKIE_PLAIN_MAX_SIZE)
                return -EINVAL;
        const struct nts_server_key *key = lookup(userdata, unaligned_read_be32(cookie));
        if (!key)
                return -ENOKEY;
        int r = use_server_key(aead, key);
        if (r < 0)
                return r;

        size_t plain_len = len - overhead;
        const uint8_t *nonce = cookie + NTS_COOKIE_KEY_ID_SIZE;
        r = ops->open(aead->ctx, nonce, nonce_len, cookie, NTS_COOKIE_KEY_ID_SIZE, nonce + nonce_len,
                      len - NTS_COOKIE_KEY_ID_SIZE - nonce_len, plain);
        bool ok = r >= 0 && read_cookie_keys(plain, plain_len, &keys);
        nts_wipe(plain, sizeof(plain));
        if (!ok)
                return -EBADMSG;
        *ret = keys;
        nts_wipe(&keys, sizeof(keys));
        return 0;
}

/* now < created + span, where a creation after now (the clock went back) counts as within. */
static bool within(uint64_t created, uint64_t now, uint64_t span) {
        return now < created || now - created < span;
}

static uint64_t saturating_mul(uint64_t a, uint64_t b) {
        return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

bool nts_key_schedule_is_current(const struct nts_key_schedule *s, uint64_t created, uint64_t now) {
        return within(created, now, s->interval);
}

bool nts_key_schedule_is_accepted(const struct nts_key_schedule *s, uint64_t created, uint64_t now) {
        uint64_t keep = s->keep < NTS_KEY_RING_SIZE - 1 ? s->keep : NTS_KEY_RING_SIZE - 1;

        return within(created, now, saturating_mul(s->interval, keep + 1));
}

const struct nts_server_key *nts_key_ring_current(const struct nts_key_ring *ring, const struct nts_key_schedule *s,
                                                  uint64_t now) {
        if (ring->n == 0 || ring->n > NTS_KEY_RING_SIZE)
                return NULL;
        const struct nts_server_key *newest = &ring->keys[ring->n - 1];
        return nts_key_schedule_is_current(s, newest->created, now) ? newest : NULL;
}

const struct nts_server_key *nts_key_ring_lookup(const struct nts_key_ring *ring, const struct nts_key_schedule *s,
                                                 uint32_t id, uint64_t now) {
        for (size_t i = 0; i < ring->n && i < NTS_KEY_RING_SIZE; i++)
                if (ring->keys[i].id == id && nts_key_schedule_is_accepted(s, ring->keys[i].created, now))
                        return &ring->keys[i];
        return NULL;
}

uint64_t nts_key_ring_next_rotation(const struct nts_key_ring *ring, const struct nts_key_schedule *s, uint64_t now) {
        const struct nts_server_key *current = nts_key_ring_current(ring, s, now);

        if (!current)
                return now;
        return current->created > UINT64_MAX - s->interval ? UINT64_MAX : current->created + s->interval;
}

static void ring_drop(struct nts_key_ring *ring, size_t i) {
        memmove(&ring->keys[i], &ring->keys[i + 1], (ring->n - i - 1) * sizeof(ring->keys[0]));
        ring->n--;
        nts_wipe(&ring->keys[ring->n], sizeof(ring->keys[0]));
}

void nts_key_ring_expire(struct nts_key_ring *ring, const struct nts_key_schedule *s, uint64_t now) {
        for (size_t i = ring->n; i > 0; i--)
                if (!nts_key_schedule_is_accepted(s, ring->keys[i - 1].created, now))
                        ring_drop(ring, i - 1);
}

int nts_key_ring_rotate(struct nts_key_ring *ring, const struct nts_key_schedule *s, uint64_t now, uint16_t aead,
                        const uint8_t *key, size_t key_len) {
        if (key_len == 0 || key_len != nts_aead_key_length(aead) || ring->n > NTS_KEY_RING_SIZE)
                return -EINVAL;

        nts_key_ring_expire(ring, s, now);
        if (ring->n == NTS_KEY_RING_SIZE)
                ring_drop(ring, 0);

        struct nts_server_key *k = &ring->keys[ring->n++];
        *k = (struct nts_server_key) {
                .id = ++ring->last_id,
                .created = now,
                .aead = aead,
                .key_len = (uint16_t) key_len,
        };
        memcpy(k->key, key, key_len);
        return 0;
}

int nts_cookie_jar_put(struct nts_cookie_jar *jar, const uint8_t *data, size_t len) {
        if (!nts_cookie_length_valid(len))
                return -EINVAL;
        if (jar->n >= NTS_MAX_COOKIES)
                return -ENOSPC;

        struct nts_cookie *c = &jar->cookies[(jar->head + jar->n) % NTS_MAX_COOKIES];
        c->len = (uint16_t) len;
        memcpy(c->data, data, len);
        jar->n++;
        return 0;
}

size_t nts_cookie_jar_put_all(struct nts_cookie_jar *jar, const struct nts_cookie *cookies, size_t n) {
        size_t kept = 0;

        for (size_t i = 0; i < n; i++)
                if (nts_cookie_jar_put(jar, cookies[i].data, cookies[i].len) == 0)
                        kept++;
        return kept;
}

int nts_cookie_jar_take(struct nts_cookie_jar *jar, struct nts_cookie *ret) {
        if (jar->n == 0)
                return -ENOENT;

        struct nts_cookie *c = &jar->cookies[jar->head % NTS_MAX_COOKIES];
        *ret = *c;
        nts_wipe(c, sizeof(*c));
        jar->head = (jar->head + 1) % NTS_MAX_COOKIES;
        jar->n--;
        return 0;
}

size_t nts_cookie_jar_placeholders(const struct nts_cookie_jar *jar, size_t cookie_len) {
        size_t field_len = 4 + cookie_len + nts_padding(cookie_len);
        size_t wanted = jar->n < NTS_MAX_COOKIES - 1 ? NTS_MAX_COOKIES - 1 - jar->n : 0;
        size_t fit = NTS_COOKIE_JAR_MAX_REQUEST_BYTES / field_len;  /* the cookie itself is one of them */
        size_t room = fit > 0 ? fit - 1 : 0;

        return wanted < room ? wanted : room;
}

void nts_cookie_jar_clear(struct nts_cookie_jar *jar) {
        nts_wipe(jar, sizeof(*jar));
}

/* FNV-1a: catches a damaged or truncated file, it is no protection against a forged one. */
static uint32_t checksum(const uint8_t *p, size_t n) {
        uint32_t h = 2166136261u;

        for (size_t i = 0; i < n; i++)
                h = (h ^ p[i]) * 16777619u;
        return h;
}

static void frame_begin(struct nts_writer *w, const char *magic) {
        nts_writer_put(w, magic, STATE_MAGIC_SIZE);
        nts_writer_put_u16(w, NTS_STATE_VERSION);
}

static int frame_end(struct nts_writer *w, size_t *ret_len) {
        if (!w->overflow)
                nts_writer_put_u32(w, checksum(w->buf, w->len));
        if (w->overflow)
                return -ENOBUFS;
        *ret_len = w->len;
        return 0;
}

/* Checks a file's frame and returns a reader of what is inside, or an error text. */
static const char *frame_open(const uint8_t *buf, size_t len, const char *magic, struct nts_reader *ret) {
        if (len < STATE_FRAME_SIZE)
                return "too short";
        if (len > NTS_STATE_MAX_SIZE)
                return "too long";
        if (memcmp(buf, magic, STATE_MAGIC_SIZE) != 0)
                return "not a state file of this kind";
        if (unaligned_read_be16(buf + STATE_MAGIC_SIZE) != NTS_STATE_VERSION)
                return "unsupported version";
        if (unaligned_read_be32(buf + len - 4) != checksum(buf, len - 4))
                return "checksum mismatch";
        *ret = (struct nts_reader) { .buf = buf, .len = len - 4, .pos = STATE_MAGIC_SIZE + 2 };
        return NULL;
}

static const char *frame_close(const struct nts_reader *r) {
        if (r->short_read)
                return "truncated";
        return r->pos == r->len ? NULL : "trailing data";
}

/* Reads what is inside a file's frame into out; NULL or an error text. */
typedef const char *(*read_contents_t)(struct nts_reader *r, void *out);

/* Loads a file through scratch (zeroed, size bytes), copied to ret only when all of it is good. */
static int load_file(const uint8_t *buf, size_t len, const char *magic, read_contents_t read_contents, void *scratch,
                     size_t size, void *ret, const char **ret_error) {
        struct nts_reader r;

        const char *error = frame_open(buf, len, magic, &r);
        if (!error)
                error = read_contents(&r, scratch);
        if (!error)
                error = frame_close(&r);
        if (!error)
                memcpy(ret, scratch, size);
        nts_wipe(scratch, size);
        if (!error)
                return 0;
        if (ret_error)
                *ret_error = error;
        return -EINVAL;
}

static void put_key(struct nts_writer *w, uint16_t aead, uint16_t key_len) {
        nts_writer_put_u16(w, aead);
        nts_writer_put_u16(w, key_len);
}

/* An algorithm and key length as put_key() wrote them; NULL or an error text. */
static const char *get_key(struct nts_reader *r, uint16_t *aead, uint16_t *key_len) {
        *aead = nts_reader_get_u16(r);
        *key_len = nts_reader_get_u16(r);
        if (r->short_read)
                return "truncated";
        if (*key_len == 0 || *key_len != nts_aead_key_length(*aead))
                return "unknown AEAD algorithm or bad key length";
        return NULL;
}

static bool get_bytes(struct nts_reader *r, void *out, size_t n) {
        const uint8_t *p = nts_reader_get(r, n);

        if (p)
                memcpy(out, p, n);
        return p;
}

int nts_key_ring_save(const struct nts_key_ring *ring, uint8_t *buf, size_t size, size_t *ret_len) {
        struct nts_writer w = { .buf = buf, .size = size };

        if (ring->n > NTS_KEY_RING_SIZE)
                return -EINVAL;
        frame_begin(&w, STATE_MAGIC_KEYS);
        nts_writer_put_u32(&w, ring->last_id);
        nts_writer_put_u8(&w, (uint8_t) ring->n);
        for (size_t i = 0; i < ring->n; i++) {
                const struct nts_server_key *k = &ring->keys[i];
                if (k->key_len > NTS_KEY_MAX_SIZE)
                        return -EINVAL;
                nts_writer_put_u32(&w, k->id);
                nts_writer_put_u64(&w, k->created);
                put_key(&w, k->aead, k->key_len);
                nts_writer_put(&w, k->key, k->key_len);
        }
        return frame_end(&w, ret_len);
}

static const char *read_server_key(struct nts_reader *r, const struct nts_key_ring *ring, struct nts_server_key *k) {
        k->id = nts_reader_get_u32(r);
        k->created = nts_reader_get_u64(r);
        const char *error = get_key(r, &k->aead, &k->key_len);
        if (error)
                return error;
        if (!get_bytes(r, k->key, k->key_len))
                return "truncated";
        if (k->id > ring->last_id || (ring->n > 0 && k->id <= ring->keys[ring->n - 1].id))
                return "key ids out of order";
        return NULL;
}

static const char *read_key_ring(struct nts_reader *r, void *out) {
        struct nts_key_ring *ring = out;

        ring->last_id = nts_reader_get_u32(r);
        size_t n = nts_reader_get_u8(r);
        if (n > NTS_KEY_RING_SIZE)
                return "too many keys";
        for (size_t i = 0; i < n; i++) {
                const char *error = read_server_key(r, ring, &ring->keys[ring->n]);
                if (error)
                        return error;
                ring->n++;
        }
        return NULL;
}

int nts_key_ring_load(const uint8_t *buf, size_t len, struct nts_key_ring *ret, const char **ret_error) {
        struct nts_key_ring ring = {};

        return load_file(buf, len, STATE_MAGIC_KEYS, read_key_ring, &ring, sizeof(ring), ret, ret_error);
}

int nts_client_state_save(const struct nts_client_state *state, uint8_t *buf, size_t size, size_t *ret_len) {
        const struct nts_cookie_jar *jar = &state->jar;
        size_t server_len = strnlen(state->server, sizeof(state->server));
        struct nts_writer w = { .buf = buf, .size = size };

        if (state->keys.key_len > NTS_KEY_MAX_SIZE || server_len > NTS_KE_MAX_SERVER_NAME || jar->n > NTS_MAX_COOKIES)
                return -EINVAL;
        frame_begin(&w, STATE_MAGIC_CLIENT);
        put_key(&w, state->keys.aead, state->keys.key_len);
        nts_writer_put(&w, state->keys.c2s, state->keys.key_len);
        nts_writer_put(&w, state->keys.s2c, state->keys.key_len);
        nts_writer_put_u64(&w, state->ke_time);
        nts_writer_put_u16(&w, state->port);
        nts_writer_put_u8(&w, (uint8_t) server_len);
        nts_writer_put(&w, state->server, server_len);
        nts_writer_put_u8(&w, (uint8_t) jar->n);
        for (size_t i = 0; i < jar->n; i++) {
                const struct nts_cookie *c = &jar->cookies[(jar->head + i) % NTS_MAX_COOKIES];
                nts_writer_put_u16(&w, c->len);
                nts_writer_put(&w, c->data, c->len);
        }
        return frame_end(&w, ret_len);
}

static const char *read_session_keys(struct nts_reader *r, struct nts_keys *keys) {
        const char *error = get_key(r, &keys->aead, &keys->key_len);

        if (error)
                return error;
        if (!get_bytes(r, keys->c2s, keys->key_len) || !get_bytes(r, keys->s2c, keys->key_len))
                return "truncated";
        return NULL;
}

static const char *read_server_name(struct nts_reader *r, char server[static NTS_KE_MAX_SERVER_NAME + 1]) {
        size_t len = nts_reader_get_u8(r);

        if (!get_bytes(r, server, len))
                return "truncated";
        server[len] = '\0';
        return len == 0 || nts_ke_server_name_valid(server, len) ? NULL : "bad server name";
}

static const char *read_cookies(struct nts_reader *r, struct nts_cookie_jar *jar) {
        size_t n = nts_reader_get_u8(r);

        if (n > NTS_MAX_COOKIES)
                return "too many cookies";
        for (size_t i = 0; i < n; i++) {
                size_t len = nts_reader_get_u16(r);
                const uint8_t *data = nts_reader_get(r, len);
                if (!data)
                        return "truncated";
                if (nts_cookie_jar_put(jar, data, len) < 0)
                        return "bad cookie length";
        }
        return NULL;
}

static const char *read_client_state(struct nts_reader *r, void *out) {
        struct nts_client_state *s = out;
        const char *error = read_session_keys(r, &s->keys);

        if (error)
                return error;
        s->ke_time = nts_reader_get_u64(r);
        s->port = nts_reader_get_u16(r);
        error = read_server_name(r, s->server);
        return error ? error : read_cookies(r, &s->jar);
}

int nts_client_state_load(const uint8_t *buf, size_t len, struct nts_client_state *ret, const char **ret_error) {
        struct nts_client_state state = {};

        return load_file(buf, len, STATE_MAGIC_CLIENT, read_client_state, &state, sizeof(state), ret, ret_error);
}
