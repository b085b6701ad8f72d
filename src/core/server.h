/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Answering NTP clients: the access policy of the restrict rules, rate limiting, and the mode 4
 * reply. Pure: the daemon hands over each datagram with its kernel receive timestamp and sends
 * what comes back, writing the transmit timestamp (server_stamp_transmit) as late as it can. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp-packet.h"
#include "ratelimit.h"
#include "restrict.h"

/* What we serve, from the engine's status. */
struct server_state {
        bool synchronized;
        enum ntp_leap leap;
        uint8_t stratum;             /* ours: the system peer's + 1 */
        int8_t precision;
        double root_delay, root_dispersion; /* s */
        uint32_t refid;
        ntp_ts reference_ts;         /* last clock update */
        uint8_t local_stratum;       /* served when not synchronized; 0: none */
};

struct server_client {
        int family;                  /* AF_INET or AF_INET6 */
        uint8_t address[16];
        uint16_t port;
        bool loopback;
};

enum server_verdict {
        SERVER_REPLY,                /* send response (a mode 4, or mode 2 to a symmetric active peer) */
        SERVER_REPLY_KOD_RATE,       /* send response: a kiss-o'-death RATE (limited and kod) */
        SERVER_REPLY_KOD_DENY,       /* send response: a kiss-o'-death DENY (noserve and kod) */
        SERVER_CONTROL,              /* a mode 6 query the rules allow: for the control protocol */
        SERVER_DROP_MALFORMED,
        SERVER_DROP_IGNORE,          /* restrict ignore */
        SERVER_DROP_MODE,            /* modes we never answer (2, 5, 7, ...) */
        SERVER_DROP_VERSION,         /* restrict version */
        SERVER_DROP_NOSERVE,
        SERVER_DROP_NOPEER,
        SERVER_DROP_NOQUERY,
        SERVER_DROP_LIMITED,
        SERVER_DROP_AUTHENTICATED,   /* carries a MAC: no keys here, no unauthenticated answer */
        _SERVER_VERDICT_MAX,
};

const char *server_verdict_to_string(enum server_verdict v);
/* Whether the verdict sends the response: SERVER_REPLY and the kisses-o'-death. */
bool server_verdict_answers(enum server_verdict v);

/* Decides about one datagram and, when server_verdict_answers() its verdict, writes the 48-byte
 * response (transmit timestamp still zero). rx is the kernel receive timestamp. */
enum server_verdict server_handle(const struct server_state *state, const struct restrict_set *rules, ratelimit *limiter,
                                  const struct server_client *client, const uint8_t *request, size_t len, ntp_ts rx,
                                  int64_t now_mono, uint8_t response[static NTP_HEADER_SIZE]);

/* Whether a request asks for NTS (RFC 8915 §5): a version 4 client request whose extension fields
 * carry a Unique Identifier and an NTS Cookie. Only the framing is looked at; whether it
 * authenticates is nts_ntp_server_request_parse()'s to say. */
bool server_request_wants_nts(const uint8_t *request, size_t len);

/* Writes the transmit timestamp into a response, just before it leaves. */
void server_stamp_transmit(uint8_t response[static NTP_HEADER_SIZE], ntp_ts tx);
