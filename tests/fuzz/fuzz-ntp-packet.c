/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes the packet codec and the response checks: any datagram, as a reply to a fixed request.
 * Besides the sanitizers, it checks what the two promise: a parsed header writes back to the same
 * 48 bytes, a packet passes or is a KoD only when every check holds, and a rejected packet leaves
 * the output untouched. */

#include <string.h>

#include "fuzz.h"
#include "core/ntp-checks.h"

/* The request the replies answer; tests/fuzz/make-corpus.py writes seeds that match it. */
#define FUZZ_NONCE UINT64_C(0x0123456789abcdef)
#define FUZZ_LAST_REPLY_TRANSMIT UINT64_C(0xeb2b1f0000000000)

static const struct request_state fuzz_request = {
        .outstanding = true,
        .nonce = FUZZ_NONCE,
        .last_reply_transmit = FUZZ_LAST_REPLY_TRANSMIT,
};

static bool is_mac_length(size_t n) {
        return n == 0 || n == 4 || n == 20 || n == 24;
}

static void check_parsed(const uint8_t *data, size_t size, const struct ntp_packet *p) {
        uint8_t header[NTP_HEADER_SIZE];

        fuzz_check(size >= NTP_HEADER_SIZE && size <= NTP_MAX_PACKET_SIZE && size % 4 == 0);
        fuzz_check(p->version >= 1 && p->version <= 4);
        fuzz_check(p->mode != NTP_MODE_RESERVED);
        fuzz_check(is_mac_length(p->mac_length));
        fuzz_check(NTP_HEADER_SIZE + (size_t) p->n_extensions * NTP_EXT_MIN_SIZE + p->mac_length <= size);
        if (p->version < 4)
                fuzz_check(p->n_extensions == 0 && size == (size_t) NTP_HEADER_SIZE + p->mac_length);

        fuzz_check(ntp_packet_write(p, header) == NTP_HEADER_SIZE);
        fuzz_check(memcmp(header, data, NTP_HEADER_SIZE) == 0);
}

static void check_parse(const uint8_t *data, size_t size) {
        struct ntp_packet p;
        enum ntp_parse_error e = ntp_packet_parse(data, size, &p);

        fuzz_check(ntp_parse_error_to_string(e) != NULL);
        if (e == NTP_PARSE_OK)
                check_parsed(data, size, &p);
}

static void check_accepted(const struct ntp_packet *p) {
        fuzz_check(p->mode == NTP_MODE_SERVER);
        fuzz_check(p->origin_ts == FUZZ_NONCE);
        fuzz_check(p->transmit_ts != FUZZ_LAST_REPLY_TRANSMIT);
        fuzz_check(p->leap != NTP_LEAP_UNSYNC);
        fuzz_check(p->stratum > NTP_STRATUM_KOD && p->stratum < NTP_STRATUM_UNSYNC);
        fuzz_check(p->receive_ts != 0 && p->transmit_ts != 0);
        fuzz_check(ntp_short_to_seconds(p->root_delay) / 2 + ntp_short_to_seconds(p->root_dispersion) <
                   NTP_MAX_ROOT_DISTANCE);
        fuzz_check(check_server_header(p) == RESPONSE_OK);
        fuzz_check(check_origin(p, &fuzz_request) == RESPONSE_OK);
}

static void check_kod(const struct ntp_packet *p) {
        /* Believed only with the origin of our request. */
        fuzz_check(p->mode == NTP_MODE_SERVER);
        fuzz_check(p->stratum == NTP_STRATUM_KOD);
        fuzz_check(p->origin_ts == FUZZ_NONCE);
        fuzz_check(check_origin(p, &fuzz_request) == RESPONSE_OK);
}

static void check_refid_text(uint32_t refid) {
        char text[5];

        ntp_refid_to_ascii(refid, text);
        fuzz_check(strlen(text) <= 4);
        for (size_t i = 0; text[i]; i++)
                fuzz_check(text[i] >= 0x20 && text[i] < 0x7f);
}

static void check_reply(const uint8_t *data, size_t size) {
        struct ntp_packet untouched, p;
        enum response_result r;

        memset(&untouched, 0xa5, sizeof(untouched));
        memset(&p, 0xa5, sizeof(p));
        r = check_response(data, size, &fuzz_request, &p);
        fuzz_check((unsigned) r < _RESPONSE_MAX);
        fuzz_check(response_result_to_string(r) != NULL);

        if (r == RESPONSE_OK)
                check_accepted(&p);
        else if (response_result_is_kod(r))
                check_kod(&p);
        else
                fuzz_check(memcmp(&p, &untouched, sizeof(p)) == 0);

        if (r == RESPONSE_OK || response_result_is_kod(r))
                check_refid_text(p.refid);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        check_parse(data, size);
        check_reply(data, size);
        return 0;
}
