/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The response tests of RFC 5905 §8 and the KoD rules, each a named check with its own reason. */

#include <stdbool.h>
#include <stdint.h>

#include "ntp-packet.h"

#define NTP_MAX_ROOT_DISTANCE 16.0 /* s; at or beyond it a server is unusable */

enum response_result {
        RESPONSE_OK = 0,
        RESPONSE_MALFORMED,          /* failed ntp_packet_parse() */
        RESPONSE_NOT_SERVER_MODE,    /* not mode 4 */
        RESPONSE_UNEXPECTED,         /* no request outstanding (duplicate or late) */
        RESPONSE_DUPLICATE,          /* transmit timestamp seen in the previous reply */
        RESPONSE_ZERO_ORIGIN,
        RESPONSE_BOGUS_ORIGIN,       /* origin is not the nonce we sent */
        RESPONSE_ZERO_TIMESTAMP,     /* receive or transmit timestamp is zero */
        RESPONSE_BAD_TIMESTAMPS,     /* server answered before it was asked, or negative delay */
        RESPONSE_UNSYNCHRONIZED,     /* leap 3, or stratum 16 and above */
        RESPONSE_BAD_STRATUM,        /* stratum 0 without a KoD code we know */
        RESPONSE_ROOT_DISTANCE,      /* root distance at or above 16 s */
        RESPONSE_KOD_RATE,           /* authentic KoD: poll less often */
        RESPONSE_KOD_DENY,           /* authentic KoD: stop (DENY or RSTR) */
        RESPONSE_KOD_OTHER,          /* authentic KoD with another code: ignored */
        RESPONSE_STALE,              /* answers a request sent before the clock was stepped */
        _RESPONSE_MAX,
};

const char *response_result_to_string(enum response_result r);
bool response_result_is_kod(enum response_result r);

/* What the client remembers of its outstanding request. */
struct request_state {
        bool outstanding;
        uint64_t nonce;              /* the transmit timestamp we sent: a random 64-bit value */
        uint64_t interleaved_nonce;  /* an interleaved request's receive timestamp (random), else 0:
                                      * the origin of an interleaved reply */
        ntp_ts last_reply_transmit;  /* transmit timestamp of the last accepted reply */
};

/* Header checks that need no request state: mode, leap, stratum, root distance, zero timestamps. */
enum response_result check_server_header(const struct ntp_packet *p);

/* Origin checks against the request: a reply whose origin does not match may be forged. */
enum response_result check_origin(const struct ntp_packet *p, const struct request_state *req);

/* The reply answers our interleaved request in interleaved mode: its origin is the receive
 * timestamp we sent, which a basic reply (origin = our transmit timestamp) never carries. Only
 * meaningful for a reply check_origin() accepted. */
bool response_is_interleaved(const struct ntp_packet *p, const struct request_state *req);

/* The full sequence, in the order that keeps forged packets from changing anything: parse, mode,
 * origin (so that a KoD counts only when authentic), KoD, then the header. */
enum response_result check_response(const uint8_t *buf, size_t len, const struct request_state *req,
                                    struct ntp_packet *ret_packet);
