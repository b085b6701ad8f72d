/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ntp-checks.h"

static const char *const result_names[_RESPONSE_MAX] = {
        [RESPONSE_OK] = "ok",
        [RESPONSE_MALFORMED] = "malformed packet",
        [RESPONSE_NOT_SERVER_MODE] = "not a server reply",
        [RESPONSE_UNEXPECTED] = "no request outstanding",
        [RESPONSE_DUPLICATE] = "duplicate reply",
        [RESPONSE_ZERO_ORIGIN] = "zero origin timestamp",
        [RESPONSE_BOGUS_ORIGIN] = "origin does not match the request",
        [RESPONSE_ZERO_TIMESTAMP] = "zero receive or transmit timestamp",
        [RESPONSE_BAD_TIMESTAMPS] = "inconsistent timestamps",
        [RESPONSE_UNSYNCHRONIZED] = "server not synchronized",
        [RESPONSE_BAD_STRATUM] = "stratum 0 without a known kiss code",
        [RESPONSE_ROOT_DISTANCE] = "root distance too large",
        [RESPONSE_KOD_RATE] = "kiss-o'-death RATE",
        [RESPONSE_KOD_DENY] = "kiss-o'-death DENY/RSTR",
        [RESPONSE_KOD_OTHER] = "kiss-o'-death with unknown code",
        [RESPONSE_STALE] = "answers a request sent before a clock step",
};

const char *response_result_to_string(enum response_result r) {
        if ((unsigned) r >= _RESPONSE_MAX)
                return "unknown";
        return result_names[r];
}

bool response_result_is_kod(enum response_result r) {
        return r == RESPONSE_KOD_RATE || r == RESPONSE_KOD_DENY || r == RESPONSE_KOD_OTHER;
}

static double root_distance_of(const struct ntp_packet *p) {
        return ntp_short_to_seconds(p->root_delay) / 2 + ntp_short_to_seconds(p->root_dispersion);
}

enum response_result check_server_header(const struct ntp_packet *p) {
        if (p->mode != NTP_MODE_SERVER)
                return RESPONSE_NOT_SERVER_MODE;
        if (p->leap == NTP_LEAP_UNSYNC || p->stratum >= NTP_STRATUM_UNSYNC)
                return RESPONSE_UNSYNCHRONIZED;
        if (p->stratum == NTP_STRATUM_KOD)
                return RESPONSE_BAD_STRATUM;
        if (p->receive_ts == 0 || p->transmit_ts == 0)
                return RESPONSE_ZERO_TIMESTAMP;
        if (root_distance_of(p) >= NTP_MAX_ROOT_DISTANCE)
                return RESPONSE_ROOT_DISTANCE;
        return RESPONSE_OK;
}

enum response_result check_origin(const struct ntp_packet *p, const struct request_state *req) {
        bool interleaved = response_is_interleaved(p, req);

        if (!req->outstanding)
                return RESPONSE_UNEXPECTED;
        /* An interleaved reply carries the previous reply's real departure, which a server may
         * also have written into that reply; its fresh origin nonce already rules out a replay. */
        if (!interleaved && p->transmit_ts != 0 && p->transmit_ts == req->last_reply_transmit)
                return RESPONSE_DUPLICATE;
        if (p->origin_ts == 0)
                return RESPONSE_ZERO_ORIGIN;
        if (p->origin_ts != req->nonce && !interleaved)
                return RESPONSE_BOGUS_ORIGIN;
        return RESPONSE_OK;
}

bool response_is_interleaved(const struct ntp_packet *p, const struct request_state *req) {
        return req->interleaved_nonce != 0 && p->origin_ts == req->interleaved_nonce;
}

static bool is_kiss_code(uint32_t refid) {
        for (int shift = 24; shift >= 0; shift -= 8) {
                unsigned char c = (unsigned char) (refid >> shift);
                if (c < 'A' || c > 'Z')
                        return false;
        }
        return true;
}

static enum response_result classify_kod(uint32_t refid) {
        if (!is_kiss_code(refid))
                return RESPONSE_BAD_STRATUM;
        if (refid == ntp_refid_from_ascii("RATE"))
                return RESPONSE_KOD_RATE;
        if (refid == ntp_refid_from_ascii("DENY") || refid == ntp_refid_from_ascii("RSTR"))
                return RESPONSE_KOD_DENY;
        return RESPONSE_KOD_OTHER;
}

enum response_result check_response(const uint8_t *buf, size_t len, const struct request_state *req,
                                    struct ntp_packet *ret_packet) {
        struct ntp_packet p;
        enum response_result r;

        if (ntp_packet_parse(buf, len, &p) != NTP_PARSE_OK)
                return RESPONSE_MALFORMED;
        if (p.mode != NTP_MODE_SERVER)
                return RESPONSE_NOT_SERVER_MODE;

        r = check_origin(&p, req);
        if (r != RESPONSE_OK)
                return r;

        /* A KoD is believed only now that its origin proved it answers our request. */
        if (p.stratum == NTP_STRATUM_KOD) {
                r = classify_kod(p.refid);
                if (response_result_is_kod(r))
                        *ret_packet = p;
                return r;
        }

        r = check_server_header(&p);
        if (r != RESPONSE_OK)
                return r;

        *ret_packet = p;
        return RESPONSE_OK;
}
