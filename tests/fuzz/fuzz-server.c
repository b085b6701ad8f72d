/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes the server's decision about one datagram: restrict rules, rate limiting, the reply.
 *
 * Input: two control bytes, then the datagram.
 *   byte 0  bits 0-2  the rule set (see rule_sets below)
 *           bit 3     the server is synchronized
 *           bit 4     it has a local stratum (served when not synchronized)
 *           bit 5     the client is IPv6 (else IPv4)
 *           bit 6     the client is on loopback (IPv6 from port 123: ::ffff:127.0.0.1, else ::1)
 *           bit 7     the client sends from port 123
 *   byte 1  bits 0-4  the datagram arrives 1 + 4n times (up to 125)...
 *           bits 5-6  ...this far apart: 0.1 s, 1 s, 2 s, 64 s
 *           bit 7     each time from another address (more than the limiter's small table holds)
 *
 * Besides the sanitizers it checks what server.h promises: a reply or a kiss is a well-formed
 * 48-byte packet in mode 4 (mode 2 to a symmetric active peer) with the request's version and its
 * transmit timestamp as origin; a kiss has stratum 0 and the code RATE or DENY, a reply never has
 * stratum 0; nothing is ever answered in mode 7, to an ignored client, or to an authenticated or
 * malformed request; only a mode 6 datagram with a whole header and version 1-4 goes to the
 * control protocol, and one shaped as ntpq sends it always does unless noquery drops it; a dropped
 * datagram writes nothing; and the limiter never holds more entries than its capacity. */

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "core/server.h"

#define FUZZ_START_MONO (INT64_C(1000) * NS_PER_SEC)
#define FUZZ_RECEIVE_TS UINT64_C(0xeb2b1f0112345678)
#define FUZZ_REFERENCE_TS UINT64_C(0xeb2b1e0000000000)
#define FUZZ_LIMITER_CAPACITY 64
#define FUZZ_SEED UINT64_C(0x9e3779b97f4a7c15)
#define UNTOUCHED 0xa5
#define MODE6_REQUEST_MIN 12 /* the mode 6 header */

#define CONTROL_RULES(c) ((c) & 7)
#define CONTROL_SYNCHRONIZED 0x08
#define CONTROL_LOCAL_STRATUM 0x10
#define CONTROL_IPV6 0x20
#define CONTROL_LOOPBACK 0x40
#define CONTROL_PORT_123 0x80
#define REPEAT_COUNT(c) (((c) & 0x1f) * 4u + 1u)
#define REPEAT_SPACING(c) (((c) >> 5) & 3)
#define REPEAT_NEW_ADDRESS 0x80

static const char *const rule_sets[8][4] = {
        { NULL },
        { "default kod limited nomodify notrap nopeer noquery", "127.0.0.1", "::1", NULL },
        { "default noserve kod", NULL },
        { "default ignore", "192.0.2.0/24", "2001:db8::/32 kod limited", NULL },
        { "default version limited", "192.0.2.0/24 ntpport noquery", "127.0.0.0/8 ignore", NULL },
        { "default limited kod noserve", "2001:db8::/32 noepeer", NULL },
        { "-4 default ignore", "-6 default kod limited noepeer", "::ffff:192.0.2.0/120 kod limited", NULL },
        { "default nopeer noquery kod limited", "192.0.2.0/25 noserve", "192.0.2.0/24 ignore ntpport", NULL },
};

static const int64_t spacings[4] = {
        NS_PER_SEC / 10,
        NS_PER_SEC,
        2 * NS_PER_SEC,
        64 * NS_PER_SEC,
};

static void make_rules(struct restrict_set *rules, unsigned which) {
        restrict_set_init(rules);
        for (size_t i = 0; rule_sets[which][i]; i++) {
                struct restrict_rule r;
                fuzz_check(restrict_rule_parse(rule_sets[which][i], &r, NULL) == 0);
                fuzz_check(restrict_set_add(rules, &r) == 0);
        }
}

static void make_state(struct server_state *st, uint8_t control) {
        *st = (struct server_state) {
                .synchronized = control & CONTROL_SYNCHRONIZED,
                .leap = NTP_LEAP_NONE,
                .stratum = 2,
                .precision = -23,
                .root_delay = 0.010,
                .root_dispersion = 0.020,
                .refid = 0xc0000201,
                .reference_ts = FUZZ_REFERENCE_TS,
                .local_stratum = (control & CONTROL_LOCAL_STRATUM) ? 10 : 0,
        };
}

static void make_client(struct server_client *c, uint8_t control, unsigned n) {
        static const uint8_t v4[4] = { 192, 0, 2, 10 }, v4_local[4] = { 127, 0, 0, 1 };
        static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x10 }, v6_local[16] = { [15] = 1 };
        bool loopback = control & CONTROL_LOOPBACK;

        *c = (struct server_client) {
                .port = (control & CONTROL_PORT_123) ? 123 : 40123,
                .loopback = loopback,
        };
        if (control & CONTROL_IPV6) {
                c->family = AF_INET6;
                if (loopback && !(control & CONTROL_PORT_123))
                        memcpy(c->address, v6_local, 16);
                else if (loopback) {
                        /* ::ffff:127.0.0.1, as a dual-stack socket sees IPv4 loopback */
                        c->address[10] = c->address[11] = 0xff;
                        memcpy(c->address + 12, v4_local, 4);
                } else
                        memcpy(c->address, v6, 16);
                c->address[13] ^= (uint8_t) (n >> 8);
                c->address[14] ^= (uint8_t) n;
        } else {
                c->family = AF_INET;
                memcpy(c->address, loopback ? v4_local : v4, 4);
                c->address[2] ^= (uint8_t) (n >> 8);
                c->address[3] ^= (uint8_t) n;
        }
}

static bool is_kod_code(uint32_t refid) {
        return refid == ntp_refid_from_ascii("RATE") || refid == ntp_refid_from_ascii("DENY");
}

static void check(const struct server_state *st, const struct restrict_set *rules, const ratelimit *limiter,
                  const struct server_client *c, const uint8_t *request, size_t len, enum server_verdict v,
                  const uint8_t response[static NTP_HEADER_SIZE]) {
        struct ntp_packet req, p;
        bool parsed = ntp_packet_parse(request, len, &req) == NTP_PARSE_OK;
        bool answered = server_verdict_answers(v);
        unsigned mode = len > 0 ? request[0] & 7 : 0;
        uint32_t flags = restrict_set_lookup(rules, c->family, c->address, c->port, NULL);

        fuzz_check((unsigned) v < _SERVER_VERDICT_MAX);
        fuzz_check(server_verdict_to_string(v) != NULL);
        fuzz_check(ratelimit_entries(limiter) <= ratelimit_capacity(limiter));

        if (flags & RESTRICT_IGNORE)
                fuzz_check(v == SERVER_DROP_IGNORE);
        /* Only a mode 6 datagram with at least its header and a version of 1-4 is a control query;
         * anything less is malformed. */
        if (v == SERVER_CONTROL)
                fuzz_check(mode == NTP_MODE_CONTROL && !(flags & RESTRICT_NOQUERY) && len >= MODE6_REQUEST_MIN &&
                           (request[0] >> 3 & 7) >= 1 && (request[0] >> 3 & 7) <= 4);
        /* A mode 6 request as ntpq sends it (a 12-byte header, data, padded to 32 bits; not an NTP
         * header) is for the control protocol to answer or for noquery to drop. */
        if (!(flags & RESTRICT_IGNORE) && mode == NTP_MODE_CONTROL && len >= MODE6_REQUEST_MIN && len <= 480 &&
            len % 4 == 0 && (request[0] >> 3 & 7) >= 1 && (request[0] >> 3 & 7) <= 4 && !(request[1] & 0x80))
                fuzz_check(v == SERVER_CONTROL || v == SERVER_DROP_NOQUERY);
        if (!answered) {
                for (size_t i = 0; i < NTP_HEADER_SIZE; i++)
                        fuzz_check(response[i] == UNTOUCHED);
                return;
        }

        /* A reply or a kiss: to a well-formed, unauthenticated request in mode 3 or 1. */
        fuzz_check(parsed);
        fuzz_check(len >= NTP_HEADER_SIZE);
        fuzz_check(req.mac_length == 0);
        fuzz_check(req.mode == NTP_MODE_CLIENT || req.mode == NTP_MODE_SYMMETRIC_ACTIVE);
        fuzz_check(!(flags & RESTRICT_IGNORE));
        fuzz_check(!(flags & RESTRICT_VERSION) || req.version == 4);
        fuzz_check(req.mode != NTP_MODE_SYMMETRIC_ACTIVE || !(flags & (RESTRICT_NOPEER | RESTRICT_NOEPEER)));

        fuzz_check(ntp_packet_parse(response, NTP_HEADER_SIZE, &p) == NTP_PARSE_OK);
        fuzz_check(p.mode == (req.mode == NTP_MODE_SYMMETRIC_ACTIVE ? NTP_MODE_SYMMETRIC_PASSIVE : NTP_MODE_SERVER));
        fuzz_check(p.version >= 1 && p.version <= 4 && p.version == req.version);
        fuzz_check(p.origin_ts == req.transmit_ts);
        fuzz_check(fuzz_read_be64(response + 24) == fuzz_read_be64(request + 40));
        fuzz_check(p.transmit_ts == 0);
        fuzz_check(p.poll >= 4 && p.poll <= 17);
        fuzz_check(p.mac_length == 0 && p.n_extensions == 0);

        if (v != SERVER_REPLY) {
                fuzz_check(flags & RESTRICT_KOD);
                fuzz_check(flags & (RESTRICT_LIMITED | RESTRICT_NOSERVE));
                fuzz_check(p.stratum == NTP_STRATUM_KOD);
                fuzz_check(is_kod_code(p.refid));
                fuzz_check(p.leap == NTP_LEAP_UNSYNC);
                /* The verdict names the kiss it wrote. */
                if (p.refid == ntp_refid_from_ascii("DENY"))
                        fuzz_check(v == SERVER_REPLY_KOD_DENY && (flags & RESTRICT_NOSERVE));
                else
                        fuzz_check(v == SERVER_REPLY_KOD_RATE && (flags & RESTRICT_LIMITED));
        } else {
                /* A reply read as a kiss would stop the client: never stratum 0. */
                fuzz_check(!(flags & RESTRICT_NOSERVE));
                fuzz_check(p.stratum != NTP_STRATUM_KOD);
                /* Marked as ours for interleaved mode: the lowest bit set. */
                fuzz_check(p.receive_ts == (FUZZ_RECEIVE_TS | 1));
                if (st->synchronized)
                        fuzz_check(p.stratum == st->stratum && p.refid == st->refid && p.leap == st->leap);
                else if (st->local_stratum)
                        fuzz_check(p.stratum == st->local_stratum && p.leap == NTP_LEAP_NONE);
                else
                        fuzz_check(p.stratum == NTP_STRATUM_UNSYNC && p.leap == NTP_LEAP_UNSYNC);
        }

        /* Stamping the transmit timestamp changes only that, its lowest bit clear. */
        uint8_t stamped[NTP_HEADER_SIZE];
        memcpy(stamped, response, sizeof(stamped));
        server_stamp_transmit(stamped, FUZZ_RECEIVE_TS + 1);
        fuzz_check(memcmp(stamped, response, 40) == 0);
        fuzz_check(fuzz_read_be64(stamped + 40) == ((FUZZ_RECEIVE_TS + 1) & ~UINT64_C(1)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const struct ratelimit_config limiter_config = {
                .minimum = RATELIMIT_DEFAULT_MINIMUM,
                .average = RATELIMIT_DEFAULT_AVERAGE,
                .capacity = FUZZ_LIMITER_CAPACITY,
        };
        struct restrict_set rules;
        struct server_state st;
        uint8_t response[NTP_HEADER_SIZE];

        if (size < 2)
                return 0;
        uint8_t control = data[0], repeat = data[1];
        const uint8_t *request = data + 2;
        size_t len = size - 2;

        make_rules(&rules, CONTROL_RULES(control));
        make_state(&st, control);
        ratelimit *limiter = ratelimit_new(&limiter_config, FUZZ_SEED);
        fuzz_check(limiter);
        fuzz_check(ratelimit_capacity(limiter) == FUZZ_LIMITER_CAPACITY);

        int64_t now = FUZZ_START_MONO;
        for (unsigned i = 0; i < REPEAT_COUNT(repeat); i++, now += spacings[REPEAT_SPACING(repeat)]) {
                struct server_client c;
                make_client(&c, control, (repeat & REPEAT_NEW_ADDRESS) ? i : 0);
                memset(response, UNTOUCHED, sizeof(response));
                enum server_verdict v = server_handle(&st, &rules, limiter, &c, request, len, FUZZ_RECEIVE_TS, now,
                                                      response);
                check(&st, &rules, limiter, &c, request, len, v, response);
        }
        ratelimit_free(limiter);
        return 0;
}
