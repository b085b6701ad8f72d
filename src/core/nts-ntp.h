/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* NTS extension fields in NTP packets (RFC 8915 §5, on RFC 7822 extension fields): Unique
 * Identifier, NTS Cookie, NTS Cookie Placeholder, and the NTS Authenticator and Encrypted Extension
 * Fields, which must come last and authenticates everything before it.
 *
 * Client: nts_ntp_client_request_build() after the 48-byte header, nts_ntp_client_response_verify()
 * on what comes back. Server: nts_ntp_server_request_parse(), then nts_ntp_server_response_build()
 * with fresh cookies, or nts_ntp_server_nak_build() when the reason asks for an NTS NAK.
 *
 * Replays: a response is accepted only with the unique identifier of the request; the caller
 * forgets the identifier once one response was accepted, so a second copy fails with
 * NTS_NTP_UID_MISMATCH. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp-packet.h"
#include "nts.h"

#define NTS_EF_UNIQUE_IDENTIFIER 0x0104
#define NTS_EF_COOKIE 0x0204
#define NTS_EF_COOKIE_PLACEHOLDER 0x0304
#define NTS_EF_AUTHENTICATOR 0x0404

#define NTS_EF_HEADER_SIZE 4
/* RFC 7822 §7.5: without a MAC, the last extension field is at least 28 bytes long. */
#define NTS_EF_LAST_MIN_SIZE 28
#define NTS_UID_SIZE 32          /* what a client sends; RFC 8915 §5.3: at least 32 bytes */
#define NTS_KOD_NAK 0x4e54534eu  /* "NTSN" */

/* One extension field, its body pointing into the packet; len is the whole field's. */
struct nts_ef {
        uint16_t type;
        size_t len;
        const uint8_t *body;
        size_t body_len;
};

enum nts_ntp_reason {
        NTS_NTP_OK = 0,
        NTS_NTP_TOO_SHORT,
        NTS_NTP_TOO_LONG,
        NTS_NTP_MALFORMED,
        NTS_NTP_MISSING_UID,
        NTS_NTP_DUPLICATE_UID,
        NTS_NTP_SHORT_UID,
        NTS_NTP_UID_MISMATCH,
        NTS_NTP_MISSING_COOKIE,
        NTS_NTP_DUPLICATE_COOKIE,
        NTS_NTP_BAD_COOKIE,
        NTS_NTP_PLACEHOLDER_MISMATCH,
        NTS_NTP_MISSING_AUTH,
        NTS_NTP_AUTH_NOT_LAST,
        NTS_NTP_BAD_AUTH,
        NTS_NTP_MISSING_PADDING,
        NTS_NTP_UNKNOWN_COOKIE,
        NTS_NTP_UNSUPPORTED_AEAD,
        NTS_NTP_AUTH_FAILED,
        NTS_NTP_BAD_PLAINTEXT,
        NTS_NTP_NO_COOKIES,
        NTS_NTP_NAK,
        _NTS_NTP_REASON_MAX,
};

/* What the client sends besides the header. */
struct nts_ntp_client_request {
        const uint8_t *uid;      /* fresh random bytes, at least NTS_UID_SIZE */
        size_t uid_len;
        const struct nts_cookie *cookie;
        size_t n_placeholders;   /* at most NTS_MAX_COOKIES - 1 */
        const uint8_t *nonce;    /* NTS_NONCE_SIZE fresh random bytes */
};

/* The new cookies an authenticated response carried. */
struct nts_ntp_cookies {
        size_t n;
        struct nts_cookie cookies[NTS_MAX_COOKIES];
};

/* What the server found in an authenticated request. */
struct nts_ntp_server_request {
        const uint8_t *uid;      /* points into the request, which must outlive this */
        size_t uid_len;
        struct nts_keys keys;    /* from the cookie */
        size_t cookie_len;
        size_t n_cookies;        /* cookie and placeholders: how many to send back, at most 8 */
        size_t len;              /* the request's length: the response must not exceed it */
};

/* The server's cookie decoder: fills *ret_keys from a cookie, or fails with a negative errno. */
typedef int (*nts_ntp_cookie_open_t)(void *userdata, const uint8_t *cookie, size_t len, struct nts_keys *ret_keys);

/* The extension field at *pos: 1 and advances *pos, 0 at the end, -EBADMSG for a field that is
 * shorter than 16 bytes, not a multiple of 4 or runs past the end. */
int nts_ntp_ef_next(const uint8_t *buf, size_t len, size_t *pos, struct nts_ef *ret);

/* Appends a field with its body (zeros when body is NULL) padded to 4 and to at least 16 bytes. */
void nts_ntp_ef_append(struct nts_writer *w, uint16_t type, const void *body, size_t body_len);

/* Client: the header, Unique Identifier, Cookie, the placeholders, and an authenticator with the
 * C2S key over all of it. -EINVAL for bad arguments, -ENOBUFS, or the AEAD's error. */
int nts_ntp_client_request_build(const uint8_t header[static NTP_HEADER_SIZE], const struct nts_ntp_client_request *request,
                                 const struct nts_aead *aead, const struct nts_keys *keys,
                                 uint8_t *buf, size_t size, size_t *ret_len);

/* Client: accepts a response to the request with this unique identifier only if its authenticator
 * (last) opens with the S2C key and it carries at least one new cookie, encrypted. NTS_NTP_NAK
 * for an NTS NAK that echoes the identifier: the caller drops its cookies and keys. */
enum nts_ntp_reason nts_ntp_client_response_verify(const uint8_t *buf, size_t len, const uint8_t *uid, size_t uid_len,
                                                   const struct nts_aead *aead, const struct nts_keys *keys,
                                                   struct nts_ntp_cookies *ret);

/* Server: checks a request's fields, gets the keys from its cookie and verifies the authenticator
 * with the C2S key. */
enum nts_ntp_reason nts_ntp_server_request_parse(const uint8_t *buf, size_t len, const struct nts_aead *aead,
                                                 nts_ntp_cookie_open_t open_cookie, void *userdata,
                                                 struct nts_ntp_server_request *ret);

/* Whether the server answers a request refused for this reason with an NTS NAK. */
bool nts_ntp_reason_wants_nak(enum nts_ntp_reason reason);

/* Server: the header, the echoed Unique Identifier and an authenticator (S2C key) holding as many
 * of the new cookies as the client asked for and fit: the response is exactly as long as the
 * request. Returns how many cookies went in through *ret_n_cookies (optional). */
int nts_ntp_server_response_build(const uint8_t header[static NTP_HEADER_SIZE], const struct nts_ntp_server_request *request,
                                  const struct nts_aead *aead, const uint8_t *nonce,
                                  const struct nts_cookie *cookies, size_t n_cookies,
                                  uint8_t *buf, size_t size, size_t *ret_len, size_t *ret_n_cookies);

/* Server: an NTS NAK, a kiss-o'-death "NTSN" (the header's leap, stratum and refid are set here)
 * with the request's Unique Identifier and nothing else. -EBADMSG when the request has none. */
int nts_ntp_server_nak_build(const uint8_t header[static NTP_HEADER_SIZE], const uint8_t *request, size_t request_len,
                             uint8_t *buf, size_t size, size_t *ret_len);

const char *nts_ntp_reason_to_string(enum nts_ntp_reason reason);
