/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "mode6.h"
#include "nts-ntp.h"
#include "server.h"
#include "unaligned.h"
#include "xleave.h"

#define LOCAL_REFID_TEXT "LOCL"
#define SERVER_MIN_POLL 4
#define SERVER_MAX_POLL 17

static const char *const verdict_names[_SERVER_VERDICT_MAX] = {
        [SERVER_REPLY] = "reply",
        [SERVER_REPLY_KOD_RATE] = "kiss-o'-death RATE",
        [SERVER_REPLY_KOD_DENY] = "kiss-o'-death DENY",
        [SERVER_CONTROL] = "control query",
        [SERVER_DROP_MALFORMED] = "malformed",
        [SERVER_DROP_IGNORE] = "ignored by a restrict rule",
        [SERVER_DROP_MODE] = "mode not served",
        [SERVER_DROP_VERSION] = "version refused by a restrict rule",
        [SERVER_DROP_NOSERVE] = "noserve",
        [SERVER_DROP_NOPEER] = "nopeer",
        [SERVER_DROP_NOQUERY] = "noquery",
        [SERVER_DROP_LIMITED] = "rate limited",
        [SERVER_DROP_AUTHENTICATED] = "authenticated request",
};

const char *server_verdict_to_string(enum server_verdict v) {
        return (unsigned) v < _SERVER_VERDICT_MAX ? verdict_names[v] : "unknown";
}

bool server_verdict_answers(enum server_verdict v) {
        return v == SERVER_REPLY || v == SERVER_REPLY_KOD_RATE || v == SERVER_REPLY_KOD_DENY;
}

void server_stamp_transmit(uint8_t response[static NTP_HEADER_SIZE], ntp_ts tx) {
        unaligned_write_be64(response + 40, tx & ~XLEAVE_RX_MARK);
}

bool server_request_wants_nts(const uint8_t *request, size_t len) {
        size_t pos = NTP_HEADER_SIZE;
        bool uid = false, cookie = false;
        struct nts_ef ef;

        if (len <= NTP_HEADER_SIZE || len > NTP_MAX_PACKET_SIZE || ((request[0] >> 3) & 7) != 4 ||
            (request[0] & 7) != NTP_MODE_CLIENT)
                return false;
        while (nts_ntp_ef_next(request, len, &pos, &ef) > 0) {
                uid |= ef.type == NTS_EF_UNIQUE_IDENTIFIER;
                cookie |= ef.type == NTS_EF_COOKIE;
        }
        return uid && cookie;
}

static int8_t served_poll(int8_t requested) {
        return requested < SERVER_MIN_POLL ? SERVER_MIN_POLL : requested > SERVER_MAX_POLL ? SERVER_MAX_POLL : requested;
}

/* A symmetric active peer is answered as a symmetric passive one, everyone else as a server. */
static uint8_t reply_mode(const struct ntp_packet *req) {
        return req->mode == NTP_MODE_SYMMETRIC_ACTIVE ? NTP_MODE_SYMMETRIC_PASSIVE : NTP_MODE_SERVER;
}

/* Synchronized, what we know; with a local stratum, our own clock as its reference (ntpd's
 * "local stratum N"); otherwise an unsynchronized answer that no client will use. */
static void build_reply(const struct server_state *st, const struct ntp_packet *req, ntp_ts rx, uint8_t *out) {
        struct ntp_packet p = {
                .leap = NTP_LEAP_UNSYNC,
                .version = req->version,
                .mode = reply_mode(req),
                .stratum = NTP_STRATUM_UNSYNC,
                .poll = served_poll(req->poll),
                .precision = st->precision,
                .origin_ts = req->transmit_ts,
                /* Marked, so that an interleaved request's origin is known for one of ours. */
                .receive_ts = rx | XLEAVE_RX_MARK,
        };
        if (st->synchronized) {
                p.leap = st->leap;
                p.stratum = st->stratum;
                p.root_delay = ntp_short_from_seconds(st->root_delay);
                p.root_dispersion = ntp_short_from_seconds(st->root_dispersion);
                p.refid = st->refid;
                p.reference_ts = st->reference_ts;
        } else if (st->local_stratum > 0) {
                p.leap = NTP_LEAP_NONE;
                p.stratum = st->local_stratum;
                p.refid = ntp_refid_from_ascii(LOCAL_REFID_TEXT);
                p.reference_ts = rx;
        }
        ntp_packet_write(&p, out);
}

static void build_kod(const struct ntp_packet *req, const char *code, uint8_t *out) {
        struct ntp_packet p = {
                .leap = NTP_LEAP_UNSYNC,
                .version = req->version,
                .mode = reply_mode(req),
                .stratum = NTP_STRATUM_KOD,
                .poll = served_poll(req->poll),
                .refid = ntp_refid_from_ascii(code),
                .origin_ts = req->transmit_ts,
        };
        ntp_packet_write(&p, out);
}

/* Mode 6 is for the local administrator unless a rule of its own lets a network in: the
 * defaults allow it from loopback only, whatever they say otherwise. */
static bool control_allowed(const struct server_client *c, uint32_t flags, bool specific_rule) {
        if (flags & (RESTRICT_NOQUERY | RESTRICT_IGNORE))
                return false;
        return c->loopback || specific_rule;
}

enum server_verdict server_handle(const struct server_state *state, const struct restrict_set *rules, ratelimit *limiter,
                                  const struct server_client *client, const uint8_t *request, size_t len, ntp_ts rx,
                                  int64_t now_mono, uint8_t response[static NTP_HEADER_SIZE]) {
        struct ntp_packet req;
        bool specific;
        uint32_t flags = restrict_set_lookup(rules, client->family, client->address, client->port, &specific);

        if (flags & RESTRICT_IGNORE)
                return SERVER_DROP_IGNORE;
        /* Control messages have a header of their own, shorter than an NTP packet's. */
        if (len >= MODE6_HEADER_SIZE && (request[0] & 7) == NTP_MODE_CONTROL) {
                unsigned version = (request[0] >> 3) & 7;
                if (version < 1 || version > 4)
                        return SERVER_DROP_MALFORMED;
                return control_allowed(client, flags, specific) ? SERVER_CONTROL : SERVER_DROP_NOQUERY;
        }
        if (ntp_packet_parse(request, len, &req) != NTP_PARSE_OK)
                return SERVER_DROP_MALFORMED;
        if (req.mode != NTP_MODE_CLIENT && req.mode != NTP_MODE_SYMMETRIC_ACTIVE)
                return SERVER_DROP_MODE; /* mode 7 above all: never answered */
        if ((flags & RESTRICT_VERSION) && req.version != 4)
                return SERVER_DROP_VERSION;
        if (req.mode == NTP_MODE_SYMMETRIC_ACTIVE && (flags & (RESTRICT_NOPEER | RESTRICT_NOEPEER)))
                return SERVER_DROP_NOPEER;
        if (req.mac_length > 0)
                return SERVER_DROP_AUTHENTICATED;

        size_t address_len = client->family == AF_INET ? 4 : 16;
        bool want_kod = flags & RESTRICT_KOD;
        if ((flags & RESTRICT_LIMITED) && !ratelimit_check(limiter, client->address, address_len, now_mono)) {
                if (!want_kod || !ratelimit_kod_allowed(limiter, client->address, address_len, now_mono))
                        return SERVER_DROP_LIMITED;
                build_kod(&req, "RATE", response);
                return SERVER_REPLY_KOD_RATE;
        }
        if (flags & RESTRICT_NOSERVE) {
                if (!want_kod || !ratelimit_kod_allowed(limiter, client->address, address_len, now_mono))
                        return SERVER_DROP_NOSERVE;
                build_kod(&req, "DENY", response);
                return SERVER_REPLY_KOD_DENY;
        }
        build_reply(state, &req, rx, response);
        return SERVER_REPLY;
}
