/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <string.h>

#include "nts-ntp.h"
#include "unaligned.h"

/* Where an NTS Authenticator's nonce and ciphertext are; offset is where the field starts, which
 * is also where the associated data ends. */
struct authenticator {
        size_t offset;
        const uint8_t *nonce;
        size_t nonce_len;
        const uint8_t *cipher;
        size_t cipher_len;
};

/* The NTS fields of a packet as found, before either side applies its rules to them. */
struct fields {
        const uint8_t *uid;
        size_t uid_len;
        size_t n_uids;
        const uint8_t *cookie;
        size_t cookie_len;
        size_t n_cookie_fields;
        size_t n_placeholders;
        size_t first_cookie_len;  /* of the first cookie or placeholder */
        bool lengths_differ;
        bool has_auth;
        struct authenticator auth;
};

static size_t padded(size_t n) {
        return n + nts_padding(n);
}

/* N_REQ of RFC 8915 §5.6: the room nonce and padding take at least, so that a client's short
 * nonce cannot make the server's response longer than the request. */
static size_t nonce_room(const struct nts_aead_ops *ops) {
        return padded(ops->nonce_max < NTS_NONCE_SIZE ? ops->nonce_max : NTS_NONCE_SIZE);
}

int nts_ntp_ef_next(const uint8_t *buf, size_t len, size_t *pos, struct nts_ef *ret) {
        if (*pos >= len)
                return 0;
        if (len - *pos < NTS_EF_HEADER_SIZE)
                return -EBADMSG;

        const uint8_t *p = buf + *pos;
        size_t field_len = unaligned_read_be16(p + 2);
        if (field_len < NTP_EXT_MIN_SIZE || field_len % 4 != 0 || field_len > len - *pos)
                return -EBADMSG;

        *ret = (struct nts_ef) {
                .type = unaligned_read_be16(p),
                .len = field_len,
                .body = p + NTS_EF_HEADER_SIZE,
                .body_len = field_len - NTS_EF_HEADER_SIZE,
        };
        *pos += field_len;
        return 1;
}

void nts_ntp_ef_append(struct nts_writer *w, uint16_t type, const void *body, size_t body_len) {
        size_t field_len = NTS_EF_HEADER_SIZE + padded(body_len);

        if (field_len < NTP_EXT_MIN_SIZE)
                field_len = NTP_EXT_MIN_SIZE;
        if (field_len > UINT16_MAX) {
                w->overflow = true;
                return;
        }
        nts_writer_put_u16(w, type);
        nts_writer_put_u16(w, (uint16_t) field_len);
        if (body)
                nts_writer_put(w, body, body_len);
        else
                nts_writer_put_zeros(w, body_len);
        nts_writer_put_zeros(w, field_len - NTS_EF_HEADER_SIZE - body_len);
}

/* The whole authenticator field: header, lengths, padded nonce, padded ciphertext, and padding up
 * to min_len; as the last field it is at least 28 bytes long. */
static size_t authenticator_length(const struct nts_aead *aead, size_t plain_len, size_t min_len) {
        size_t len = NTS_EF_HEADER_SIZE + 4 + padded(nts_aead_nonce_length(aead)) +
                     padded(aead->ops->tag_len + plain_len);

        if (min_len < NTS_EF_LAST_MIN_SIZE)
                min_len = NTS_EF_LAST_MIN_SIZE;
        return len < padded(min_len) ? padded(min_len) : len;
}

/* Appends the authenticator over everything written so far, sealing plain into it. */
static int append_authenticator(struct nts_writer *w, const struct nts_aead *aead, const uint8_t *nonce,
                                const uint8_t *plain, size_t plain_len, size_t min_len) {
        const struct nts_aead_ops *ops = aead->ops;
        size_t nonce_len = nts_aead_nonce_length(aead);
        size_t cipher_len = ops->tag_len + plain_len;
        size_t field_len = authenticator_length(aead, plain_len, min_len);
        size_t ad_len = w->len;

        if (field_len > UINT16_MAX || nonce_len < ops->nonce_min)
                return -EINVAL;
        uint8_t *p = nts_writer_reserve(w, field_len);
        if (!p)
                return -ENOBUFS;

        memset(p, 0, field_len);
        unaligned_write_be16(p, NTS_EF_AUTHENTICATOR);
        unaligned_write_be16(p + 2, (uint16_t) field_len);
        unaligned_write_be16(p + 4, (uint16_t) nonce_len);
        unaligned_write_be16(p + 6, (uint16_t) cipher_len);
        memcpy(p + 8, nonce, nonce_len);
        int r = ops->seal(aead->ctx, nonce, nonce_len, w->buf, ad_len, plain ? plain : (const uint8_t *) "", plain_len,
                          p + 8 + padded(nonce_len));
        if (r < 0) {
                w->len = ad_len;
                return r;
        }
        return 0;
}

static enum nts_ntp_reason parse_authenticator(const struct nts_ef *ef, size_t offset, const struct nts_aead_ops *ops,
                                               struct authenticator *ret) {
        size_t room = ef->body_len - 4;  /* a field has a body of 12 bytes at least */
        size_t nonce_len = unaligned_read_be16(ef->body);
        size_t cipher_len = unaligned_read_be16(ef->body + 2);

        if (padded(nonce_len) > room || padded(cipher_len) > room - padded(nonce_len))
                return NTS_NTP_BAD_AUTH;
        if (nonce_len == 0 || nonce_len < ops->nonce_min || nonce_len > ops->nonce_max || cipher_len < ops->tag_len)
                return NTS_NTP_BAD_AUTH;
        if (room - padded(cipher_len) < nonce_room(ops))
                return NTS_NTP_MISSING_PADDING;

        *ret = (struct authenticator) {
                .offset = offset,
                .nonce = ef->body + 4,
                .nonce_len = nonce_len,
                .cipher = ef->body + 4 + padded(nonce_len),
                .cipher_len = cipher_len,
        };
        return NTS_NTP_OK;
}

static void note_cookie_length(struct fields *f, size_t body_len) {
        if (f->first_cookie_len == 0)
                f->first_cookie_len = body_len;
        else if (f->first_cookie_len != body_len)
                f->lengths_differ = true;
}

/* Walks the extension fields after the header; the authenticator must be the last of them. */
static enum nts_ntp_reason scan_fields(const uint8_t *buf, size_t len, const struct nts_aead_ops *ops, struct fields *f) {
        size_t pos = NTP_HEADER_SIZE;
        struct nts_ef ef;
        int k;

        if (len < NTP_HEADER_SIZE)
                return NTS_NTP_TOO_SHORT;
        if (len > NTP_MAX_PACKET_SIZE)
                return NTS_NTP_TOO_LONG;

        while ((k = nts_ntp_ef_next(buf, len, &pos, &ef)) > 0) {
                if (f->has_auth)
                        return NTS_NTP_AUTH_NOT_LAST;
                switch (ef.type) {
                case NTS_EF_UNIQUE_IDENTIFIER:
                        if (f->n_uids++ == 0) {
                                f->uid = ef.body;
                                f->uid_len = ef.body_len;
                        }
                        break;
                case NTS_EF_COOKIE:
                        if (f->n_cookie_fields++ == 0) {
                                f->cookie = ef.body;
                                f->cookie_len = ef.body_len;
                        }
                        note_cookie_length(f, ef.body_len);
                        break;
                case NTS_EF_COOKIE_PLACEHOLDER:
                        f->n_placeholders++;
                        note_cookie_length(f, ef.body_len);
                        break;
                case NTS_EF_AUTHENTICATOR: {
                        enum nts_ntp_reason r = parse_authenticator(&ef, pos - ef.len, ops, &f->auth);
                        if (r != NTS_NTP_OK)
                                return r;
                        f->has_auth = true;
                        break;
                }
                default:
                        break;
                }
        }
        return k < 0 ? NTS_NTP_MALFORMED : NTS_NTP_OK;
}

/* Keys the AEAD with one direction of the session's keys. */
static enum nts_ntp_reason use_key(const struct nts_aead *aead, const struct nts_keys *keys, bool s2c) {
        if (keys->aead != aead->ops->id || keys->key_len > NTS_KEY_MAX_SIZE)
                return NTS_NTP_UNSUPPORTED_AEAD;
        if (nts_aead_set_key(aead, s2c ? keys->s2c : keys->c2s, keys->key_len) < 0)
                return NTS_NTP_UNSUPPORTED_AEAD;
        return NTS_NTP_OK;
}

/* Opens the authenticator into plain, which has room for a whole packet. */
static enum nts_ntp_reason open_authenticator(const struct nts_aead *aead, const uint8_t *packet, const struct authenticator *a,
                                              uint8_t plain[static NTP_MAX_PACKET_SIZE], size_t *ret_plain_len) {
        if (aead->ops->open(aead->ctx, a->nonce, a->nonce_len, packet, a->offset, a->cipher, a->cipher_len, plain) < 0)
                return NTS_NTP_AUTH_FAILED;
        *ret_plain_len = a->cipher_len - aead->ops->tag_len;
        return NTS_NTP_OK;
}

int nts_ntp_client_request_build(const uint8_t header[static NTP_HEADER_SIZE], const struct nts_ntp_client_request *request,
                                 const struct nts_aead *aead, const struct nts_keys *keys,
                                 uint8_t *buf, size_t size, size_t *ret_len) {
        const struct nts_cookie *cookie = request->cookie;
        struct nts_writer w = { .buf = buf, .size = size };

        if (!request->uid || request->uid_len < NTS_UID_SIZE || !cookie || !nts_cookie_length_valid(cookie->len) ||
            request->n_placeholders >= NTS_MAX_COOKIES || !request->nonce)
                return -EINVAL;
        if (use_key(aead, keys, false) != NTS_NTP_OK)
                return -EINVAL;

        nts_writer_put(&w, header, NTP_HEADER_SIZE);
        nts_ntp_ef_append(&w, NTS_EF_UNIQUE_IDENTIFIER, request->uid, request->uid_len);
        nts_ntp_ef_append(&w, NTS_EF_COOKIE, cookie->data, cookie->len);
        for (size_t i = 0; i < request->n_placeholders; i++)
                nts_ntp_ef_append(&w, NTS_EF_COOKIE_PLACEHOLDER, NULL, cookie->len);
        if (w.overflow)
                return -ENOBUFS;

        int r = append_authenticator(&w, aead, request->nonce, NULL, 0, 0);
        if (r < 0)
                return r;
        *ret_len = w.len;
        return 0;
}

static bool is_nak(const uint8_t *packet) {
        return packet[1] == NTP_STRATUM_KOD && unaligned_read_be32(packet + 12) == NTS_KOD_NAK;
}

/* The encrypted fields of a response: the new cookies, the ones we can use, up to eight. */
static enum nts_ntp_reason extract_cookies(const uint8_t *plain, size_t len, struct nts_ntp_cookies *c) {
        size_t pos = 0;
        struct nts_ef ef;
        int k;

        while ((k = nts_ntp_ef_next(plain, len, &pos, &ef)) > 0) {
                if (ef.type != NTS_EF_COOKIE || !nts_cookie_length_valid(ef.body_len) || c->n == NTS_MAX_COOKIES)
                        continue;
                c->cookies[c->n].len = (uint16_t) ef.body_len;
                memcpy(c->cookies[c->n].data, ef.body, ef.body_len);
                c->n++;
        }
        if (k < 0)
                return NTS_NTP_BAD_PLAINTEXT;
        return c->n > 0 ? NTS_NTP_OK : NTS_NTP_NO_COOKIES;
}

static enum nts_ntp_reason check_response_uid(const struct fields *f, const uint8_t *uid, size_t uid_len) {
        if (f->n_uids == 0)
                return NTS_NTP_MISSING_UID;
        if (f->n_uids > 1)
                return NTS_NTP_DUPLICATE_UID;
        if (!uid || f->uid_len != uid_len || memcmp(f->uid, uid, uid_len) != 0)
                return NTS_NTP_UID_MISMATCH;
        return NTS_NTP_OK;
}

enum nts_ntp_reason nts_ntp_client_response_verify(const uint8_t *buf, size_t len, const uint8_t *uid, size_t uid_len,
                                                   const struct nts_aead *aead, const struct nts_keys *keys,
                                                   struct nts_ntp_cookies *ret) {
        struct fields f = {};
        uint8_t plain[NTP_MAX_PACKET_SIZE];
        size_t plain_len;

        enum nts_ntp_reason r = scan_fields(buf, len, aead->ops, &f);
        if (r == NTS_NTP_OK)
                r = check_response_uid(&f, uid, uid_len);
        if (r == NTS_NTP_OK && !f.has_auth)
                /* Unauthenticated, but it answers our request: only the identifier vouches for it. */
                r = is_nak(buf) ? NTS_NTP_NAK : NTS_NTP_MISSING_AUTH;
        if (r == NTS_NTP_OK)
                r = use_key(aead, keys, true);
        if (r == NTS_NTP_OK)
                r = open_authenticator(aead, buf, &f.auth, plain, &plain_len);
        if (r != NTS_NTP_OK)
                return r;

        struct nts_ntp_cookies cookies = {};
        r = extract_cookies(plain, plain_len, &cookies);
        nts_wipe(plain, plain_len);
        if (r == NTS_NTP_OK)
                *ret = cookies;
        nts_wipe(&cookies, sizeof(cookies));
        return r;
}

static enum nts_ntp_reason check_request_fields(const struct fields *f) {
        if (f->n_uids == 0)
                return NTS_NTP_MISSING_UID;
        if (f->n_uids > 1)
                return NTS_NTP_DUPLICATE_UID;
        if (f->uid_len < NTS_UID_SIZE)
                return NTS_NTP_SHORT_UID;
        if (f->n_cookie_fields == 0)
                return NTS_NTP_MISSING_COOKIE;
        if (f->n_cookie_fields > 1)
                return NTS_NTP_DUPLICATE_COOKIE;
        if (!nts_cookie_length_valid(f->cookie_len))
                return NTS_NTP_BAD_COOKIE;
        if (f->lengths_differ)
                return NTS_NTP_PLACEHOLDER_MISMATCH;
        return f->has_auth ? NTS_NTP_OK : NTS_NTP_MISSING_AUTH;
}

/* Placeholders may also come encrypted (RFC 8915 §5.7); they ask for cookies too. */
static enum nts_ntp_reason count_encrypted_placeholders(const uint8_t *plain, size_t len, size_t cookie_len, size_t *n) {
        size_t pos = 0;
        struct nts_ef ef;
        int k;

        while ((k = nts_ntp_ef_next(plain, len, &pos, &ef)) > 0) {
                if (ef.type != NTS_EF_COOKIE_PLACEHOLDER)
                        continue;
                if (ef.body_len != cookie_len)
                        return NTS_NTP_PLACEHOLDER_MISMATCH;
                (*n)++;
        }
        return k < 0 ? NTS_NTP_BAD_PLAINTEXT : NTS_NTP_OK;
}

/* Opens the request with the keys of its cookie, and counts the cookies it asks for. */
static enum nts_ntp_reason authenticate_request(const uint8_t *buf, const struct fields *f, const struct nts_aead *aead,
                                                const struct nts_keys *keys, size_t *n_requested) {
        uint8_t plain[NTP_MAX_PACKET_SIZE];
        size_t plain_len = 0;

        enum nts_ntp_reason r = use_key(aead, keys, false);
        if (r == NTS_NTP_OK)
                r = open_authenticator(aead, buf, &f->auth, plain, &plain_len);
        if (r == NTS_NTP_OK)
                r = count_encrypted_placeholders(plain, plain_len, f->cookie_len, n_requested);
        nts_wipe(plain, plain_len);
        return r;
}

enum nts_ntp_reason nts_ntp_server_request_parse(const uint8_t *buf, size_t len, const struct nts_aead *aead,
                                                 nts_ntp_cookie_open_t open_cookie, void *userdata,
                                                 struct nts_ntp_server_request *ret) {
        struct fields f = {};
        struct nts_keys keys = {};

        enum nts_ntp_reason r = scan_fields(buf, len, aead->ops, &f);
        if (r == NTS_NTP_OK)
                r = check_request_fields(&f);
        if (r != NTS_NTP_OK)
                return r;
        if (open_cookie(userdata, f.cookie, f.cookie_len, &keys) < 0)
                return NTS_NTP_UNKNOWN_COOKIE;

        size_t n_requested = 1 + f.n_placeholders;
        r = authenticate_request(buf, &f, aead, &keys, &n_requested);
        if (r == NTS_NTP_OK)
                *ret = (struct nts_ntp_server_request) {
                        .uid = f.uid,
                        .uid_len = f.uid_len,
                        .keys = keys,
                        .cookie_len = f.cookie_len,
                        .n_cookies = n_requested < NTS_MAX_COOKIES ? n_requested : NTS_MAX_COOKIES,
                        .len = len,
                };
        nts_wipe(&keys, sizeof(keys));
        return r;
}

bool nts_ntp_reason_wants_nak(enum nts_ntp_reason reason) {
        return reason == NTS_NTP_UNKNOWN_COOKIE || reason == NTS_NTP_UNSUPPORTED_AEAD || reason == NTS_NTP_AUTH_FAILED;
}

/* The cookies as encrypted fields, as many as keep the response within max_len bytes. */
static size_t cookies_that_fit(const struct nts_aead *aead, size_t written, size_t max_len, const struct nts_cookie *cookies,
                               size_t n_cookies, struct nts_writer *plain) {
        size_t n = 0;

        for (; n < n_cookies; n++) {
                size_t before = plain->len;
                nts_ntp_ef_append(plain, NTS_EF_COOKIE, cookies[n].data, cookies[n].len);
                if (plain->overflow || written + authenticator_length(aead, plain->len, 0) > max_len) {
                        plain->len = before;
                        plain->overflow = false;
                        break;
                }
        }
        return n;
}

int nts_ntp_server_response_build(const uint8_t header[static NTP_HEADER_SIZE], const struct nts_ntp_server_request *request,
                                  const struct nts_aead *aead, const uint8_t *nonce,
                                  const struct nts_cookie *cookies, size_t n_cookies,
                                  uint8_t *buf, size_t size, size_t *ret_len, size_t *ret_n_cookies) {
        struct nts_writer w = { .buf = buf, .size = size };
        uint8_t plain_buf[NTP_MAX_PACKET_SIZE];
        struct nts_writer plain = { .buf = plain_buf, .size = sizeof(plain_buf) };

        if (!request->uid || request->uid_len < NTS_UID_SIZE || !nonce || (n_cookies > 0 && !cookies))
                return -EINVAL;
        for (size_t i = 0; i < n_cookies; i++)
                if (!nts_cookie_length_valid(cookies[i].len))
                        return -EINVAL;
        if (use_key(aead, &request->keys, true) != NTS_NTP_OK)
                return -EINVAL;
        if (n_cookies > request->n_cookies)
                n_cookies = request->n_cookies;

        nts_writer_put(&w, header, NTP_HEADER_SIZE);
        nts_ntp_ef_append(&w, NTS_EF_UNIQUE_IDENTIFIER, request->uid, request->uid_len);
        if (w.overflow)
                return -ENOBUFS;

        size_t n = cookies_that_fit(aead, w.len, request->len, cookies, n_cookies, &plain);
        /* Padded to the request's length, as chrony does: the same size both ways. */
        size_t min_len = request->len > w.len ? request->len - w.len : 0;
        int r = append_authenticator(&w, aead, nonce, plain.buf, plain.len, min_len);
        nts_wipe(plain_buf, plain.len);
        if (r < 0)
                return r;
        *ret_len = w.len;
        if (ret_n_cookies)
                *ret_n_cookies = n;
        return 0;
}

int nts_ntp_server_nak_build(const uint8_t header[static NTP_HEADER_SIZE], const uint8_t *request, size_t request_len,
                             uint8_t *buf, size_t size, size_t *ret_len) {
        struct nts_writer w = { .buf = buf, .size = size };
        size_t pos = NTP_HEADER_SIZE;
        struct nts_ef ef;
        bool found = false;

        if (request_len < NTP_HEADER_SIZE)
                return -EBADMSG;
        while (!found && nts_ntp_ef_next(request, request_len, &pos, &ef) > 0)
                found = ef.type == NTS_EF_UNIQUE_IDENTIFIER;
        if (!found)
                return -EBADMSG;

        uint8_t *h = nts_writer_reserve(&w, NTP_HEADER_SIZE);
        if (!h)
                return -ENOBUFS;
        memcpy(h, header, NTP_HEADER_SIZE);
        h[0] = (uint8_t) (NTP_LEAP_UNSYNC << 6 | (h[0] & 0x3f));
        h[1] = NTP_STRATUM_KOD;
        unaligned_write_be32(h + 12, NTS_KOD_NAK);
        nts_ntp_ef_append(&w, NTS_EF_UNIQUE_IDENTIFIER, ef.body, ef.body_len);
        if (w.overflow)
                return -ENOBUFS;
        *ret_len = w.len;
        return 0;
}

static const char *const reason_strings[_NTS_NTP_REASON_MAX] = {
        [NTS_NTP_OK] = "ok",
        [NTS_NTP_TOO_SHORT] = "shorter than an NTP header",
        [NTS_NTP_TOO_LONG] = "longer than an NTP packet can be",
        [NTS_NTP_MALFORMED] = "malformed extension field",
        [NTS_NTP_MISSING_UID] = "missing unique identifier",
        [NTS_NTP_DUPLICATE_UID] = "more than one unique identifier",
        [NTS_NTP_SHORT_UID] = "unique identifier shorter than 32 bytes",
        [NTS_NTP_UID_MISMATCH] = "unique identifier does not match the request",
        [NTS_NTP_MISSING_COOKIE] = "missing cookie",
        [NTS_NTP_DUPLICATE_COOKIE] = "more than one cookie",
        [NTS_NTP_BAD_COOKIE] = "cookie of an unusable length",
        [NTS_NTP_PLACEHOLDER_MISMATCH] = "cookie placeholder not as long as the cookie",
        [NTS_NTP_MISSING_AUTH] = "missing authenticator",
        [NTS_NTP_AUTH_NOT_LAST] = "authenticator is not the last extension field",
        [NTS_NTP_BAD_AUTH] = "malformed authenticator",
        [NTS_NTP_MISSING_PADDING] = "authenticator lacks the nonce padding",
        [NTS_NTP_UNKNOWN_COOKIE] = "cookie not recognized",
        [NTS_NTP_UNSUPPORTED_AEAD] = "keys for another AEAD algorithm",
        [NTS_NTP_AUTH_FAILED] = "authenticator does not verify",
        [NTS_NTP_BAD_PLAINTEXT] = "malformed encrypted extension fields",
        [NTS_NTP_NO_COOKIES] = "no new cookies in the response",
        [NTS_NTP_NAK] = "NTS NAK from the server",
};

const char *nts_ntp_reason_to_string(enum nts_ntp_reason reason) {
        if ((unsigned) reason >= _NTS_NTP_REASON_MAX)
                return "unknown reason";
        return reason_strings[reason];
}
