/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for ntp-checks: every RFC 5905 response test and the KoD rules, each with its reason. */

#include <string.h>

#include "core/ntp-checks.h"
#include "unit-test.h"

#define NONCE UINT64_C(0x5eed5eed0badf00d)
#define T2 UINT64_C(0xec6b1a4012345678)
#define T3 UINT64_C(0xec6b1a4012400000)

static const struct request_state outstanding_request = {
        .outstanding = true,
        .nonce = NONCE,
        .last_reply_transmit = 0,
};

static struct ntp_packet genuine_reply(void) {
        return (struct ntp_packet) {
                .leap = NTP_LEAP_NONE,
                .version = 4,
                .mode = NTP_MODE_SERVER,
                .stratum = 2,
                .poll = 6,
                .precision = -23,
                .root_delay = 0x00000c00,       /* 47 ms */
                .root_dispersion = 0x00000a00,  /* 39 ms */
                .refid = 0xc0000201,
                .reference_ts = UINT64_C(0xec6b1a0000000000),
                .origin_ts = NONCE,
                .receive_ts = T2,
                .transmit_ts = T3,
        };
}

static struct ntp_packet kiss_of_death(const char *code) {
        struct ntp_packet p = genuine_reply();

        p.leap = NTP_LEAP_UNSYNC;
        p.stratum = NTP_STRATUM_KOD;
        p.refid = ntp_refid_from_ascii(code);
        return p;
}

/* Serializes p and runs the full check sequence. *ret_packet must stay untouched on rejection. */
static enum response_result check(const struct ntp_packet *p, const struct request_state *req,
                                  struct ntp_packet *ret_packet) {
        uint8_t buf[NTP_HEADER_SIZE];

        ntp_packet_write(p, buf);
        return check_response(buf, sizeof(buf), req, ret_packet);
}

static void assert_check(const struct ntp_packet *p, const struct request_state *req, enum response_result expected) {
        struct ntp_packet untouched, out;
        enum response_result r;

        memset(&untouched, 0x5a, sizeof(untouched));
        memset(&out, 0x5a, sizeof(out));
        r = check(p, req, &out);
        if (r != expected)
                print_error("got \"%s\", expected \"%s\"\n",
                            response_result_to_string(r), response_result_to_string(expected));
        assert_int_equal(r, expected);
        if (expected == RESPONSE_OK || response_result_is_kod(expected))
                assert_int_equal(out.origin_ts, p->origin_ts);
        else
                assert_memory_equal(&out, &untouched, sizeof(out));
}

static void test_genuine_reply_passes(void **state) {
        struct ntp_packet p = genuine_reply(), out;

        assert_int_equal(check(&p, &outstanding_request, &out), RESPONSE_OK);
        assert_int_equal(out.stratum, 2);
        assert_int_equal(out.receive_ts, T2);
        assert_int_equal(out.transmit_ts, T3);
        assert_int_equal(out.refid, 0xc0000201);
}

static void test_malformed(void **state) {
        uint8_t buf[NTP_HEADER_SIZE];
        struct ntp_packet p = genuine_reply(), out;

        ntp_packet_write(&p, buf);
        assert_int_equal(check_response(buf, NTP_HEADER_SIZE - 1, &outstanding_request, &out), RESPONSE_MALFORMED);
        buf[0] = (uint8_t) (buf[0] & ~0x38); /* version 0 */
        assert_int_equal(check_response(buf, NTP_HEADER_SIZE, &outstanding_request, &out), RESPONSE_MALFORMED);
}

static void test_not_server_mode(void **state) {
        static const uint8_t other_modes[] = {
                NTP_MODE_SYMMETRIC_ACTIVE, NTP_MODE_SYMMETRIC_PASSIVE, NTP_MODE_CLIENT,
                NTP_MODE_BROADCAST, NTP_MODE_CONTROL, NTP_MODE_PRIVATE,
        };

        for (size_t i = 0; i < ELEMENTSOF(other_modes); i++) {
                struct ntp_packet p = genuine_reply();

                p.mode = other_modes[i];
                assert_check(&p, &outstanding_request, RESPONSE_NOT_SERVER_MODE);
        }
}

static void test_kod_in_another_mode_is_not_server_mode(void **state) {
        struct ntp_packet p = kiss_of_death("DENY");

        p.mode = NTP_MODE_SYMMETRIC_PASSIVE;
        assert_check(&p, &outstanding_request, RESPONSE_NOT_SERVER_MODE);
        p.mode = NTP_MODE_BROADCAST;
        assert_check(&p, &outstanding_request, RESPONSE_NOT_SERVER_MODE);
}

static void test_unexpected_without_outstanding_request(void **state) {
        struct ntp_packet p = genuine_reply();
        struct request_state req = outstanding_request;

        req.outstanding = false;
        assert_check(&p, &req, RESPONSE_UNEXPECTED);
}

static void test_duplicate_transmit(void **state) {
        struct ntp_packet p = genuine_reply();
        struct request_state req = outstanding_request;

        req.last_reply_transmit = T3;
        assert_check(&p, &req, RESPONSE_DUPLICATE);
}

/* An interleaved request: the reply's origin may be either nonce, and only the receive one makes it
 * interleaved. */
static void test_interleaved_origin(void **state) {
        struct ntp_packet p = genuine_reply();
        struct request_state req = outstanding_request;

        req.interleaved_nonce = NONCE ^ 1;
        assert_check(&p, &req, RESPONSE_OK);
        assert_false(response_is_interleaved(&p, &req));
        p.origin_ts = req.interleaved_nonce;
        assert_check(&p, &req, RESPONSE_OK);
        assert_true(response_is_interleaved(&p, &req));
        /* Its transmit timestamp may be the one the previous reply carried: no duplicate. */
        req.last_reply_transmit = T3;
        assert_check(&p, &req, RESPONSE_OK);
        p.origin_ts = NONCE;
        assert_check(&p, &req, RESPONSE_DUPLICATE);
        /* Without an interleaved request, no origin makes a reply interleaved. */
        req.interleaved_nonce = 0;
        p.origin_ts = 0;
        assert_false(response_is_interleaved(&p, &req));
        assert_check(&p, &req, RESPONSE_DUPLICATE);
        req.last_reply_transmit = 0;
        assert_check(&p, &req, RESPONSE_ZERO_ORIGIN);
}

static void test_zero_origin(void **state) {
        struct ntp_packet p = genuine_reply();

        p.origin_ts = 0;
        assert_check(&p, &outstanding_request, RESPONSE_ZERO_ORIGIN);
}

static void test_bogus_origin(void **state) {
        struct ntp_packet p = genuine_reply();

        p.origin_ts = NONCE + 1;
        assert_check(&p, &outstanding_request, RESPONSE_BOGUS_ORIGIN);
        p.origin_ts = NONCE ^ UINT64_C(0x8000000000000000);
        assert_check(&p, &outstanding_request, RESPONSE_BOGUS_ORIGIN);
}

static void test_zero_receive_timestamp(void **state) {
        struct ntp_packet p = genuine_reply();

        p.receive_ts = 0;
        assert_check(&p, &outstanding_request, RESPONSE_ZERO_TIMESTAMP);
}

static void test_zero_transmit_timestamp(void **state) {
        struct ntp_packet p = genuine_reply();

        p.transmit_ts = 0;
        assert_check(&p, &outstanding_request, RESPONSE_ZERO_TIMESTAMP);
}

static void test_leap_3_is_unsynchronized(void **state) {
        struct ntp_packet p = genuine_reply();

        p.leap = NTP_LEAP_UNSYNC;
        assert_check(&p, &outstanding_request, RESPONSE_UNSYNCHRONIZED);
}

static void test_leap_insert_and_delete_pass(void **state) {
        struct ntp_packet p = genuine_reply();

        p.leap = NTP_LEAP_INSERT;
        assert_check(&p, &outstanding_request, RESPONSE_OK);
        p.leap = NTP_LEAP_DELETE;
        assert_check(&p, &outstanding_request, RESPONSE_OK);
}

static void test_stratum_16_and_above_is_unsynchronized(void **state) {
        struct ntp_packet p = genuine_reply();

        p.stratum = NTP_STRATUM_UNSYNC;
        assert_check(&p, &outstanding_request, RESPONSE_UNSYNCHRONIZED);
        p.stratum = 255;
        assert_check(&p, &outstanding_request, RESPONSE_UNSYNCHRONIZED);
        p.stratum = 15;
        assert_check(&p, &outstanding_request, RESPONSE_OK);
        p.stratum = 1;
        assert_check(&p, &outstanding_request, RESPONSE_OK);
}

static void test_stratum_0_without_kiss_code_is_bad_stratum(void **state) {
        static const uint32_t not_kiss_codes[] = {
                0xc0000201,   /* an IPv4 refid */
                0x72617465,   /* "rate": lower case */
                0x47505300,   /* "GPS" padded with NUL */
                0x52415445 ^ 0x80, /* "RAT" and a byte above 0x7f */
                0,
        };

        for (size_t i = 0; i < ELEMENTSOF(not_kiss_codes); i++) {
                struct ntp_packet p = genuine_reply();

                p.stratum = NTP_STRATUM_KOD;
                p.refid = not_kiss_codes[i];
                assert_check(&p, &outstanding_request, RESPONSE_BAD_STRATUM);
        }
}

static void test_root_distance_at_16_s_rejected(void **state) {
        struct ntp_packet p = genuine_reply();

        p.root_delay = 0;
        p.root_dispersion = ntp_short_from_seconds(16.0);
        assert_check(&p, &outstanding_request, RESPONSE_ROOT_DISTANCE);
        p.root_delay = ntp_short_from_seconds(32.0);
        p.root_dispersion = 0;
        assert_check(&p, &outstanding_request, RESPONSE_ROOT_DISTANCE);
        p.root_delay = ntp_short_from_seconds(10.0);
        p.root_dispersion = ntp_short_from_seconds(11.0);
        assert_check(&p, &outstanding_request, RESPONSE_ROOT_DISTANCE);
        p.root_delay = UINT32_MAX;
        p.root_dispersion = UINT32_MAX;
        assert_check(&p, &outstanding_request, RESPONSE_ROOT_DISTANCE);
}

static void test_root_distance_just_below_16_s_passes(void **state) {
        struct ntp_packet p = genuine_reply();

        p.root_delay = ntp_short_from_seconds(2.0);
        p.root_dispersion = ntp_short_from_seconds(15.0) - 1;
        assert_check(&p, &outstanding_request, RESPONSE_OK);
}

static void test_kod_rate(void **state) {
        struct ntp_packet p = kiss_of_death("RATE"), out;

        assert_check(&p, &outstanding_request, RESPONSE_KOD_RATE);
        assert_int_equal(check(&p, &outstanding_request, &out), RESPONSE_KOD_RATE);
        assert_int_equal(out.stratum, NTP_STRATUM_KOD);
        assert_int_equal(out.refid, ntp_refid_from_ascii("RATE"));
}

static void test_kod_deny_and_rstr(void **state) {
        struct ntp_packet deny = kiss_of_death("DENY"), rstr = kiss_of_death("RSTR");

        assert_check(&deny, &outstanding_request, RESPONSE_KOD_DENY);
        assert_check(&rstr, &outstanding_request, RESPONSE_KOD_DENY);
}

static void test_kod_other_code(void **state) {
        struct ntp_packet init = kiss_of_death("INIT"), step = kiss_of_death("STEP"), zzzz = kiss_of_death("ZZZZ");

        assert_check(&init, &outstanding_request, RESPONSE_KOD_OTHER);
        assert_check(&step, &outstanding_request, RESPONSE_KOD_OTHER);
        assert_check(&zzzz, &outstanding_request, RESPONSE_KOD_OTHER);
}

static void test_kod_counts_even_with_zero_timestamps(void **state) {
        struct ntp_packet p = kiss_of_death("DENY");

        p.receive_ts = 0;
        p.transmit_ts = 0;
        assert_check(&p, &outstanding_request, RESPONSE_KOD_DENY);
}

static void test_kod_with_wrong_origin_is_only_bogus_origin(void **state) {
        static const char *const codes[] = { "RATE", "DENY", "RSTR", "INIT" };

        for (size_t i = 0; i < ELEMENTSOF(codes); i++) {
                struct ntp_packet p = kiss_of_death(codes[i]);

                p.origin_ts = NONCE - 1;
                assert_check(&p, &outstanding_request, RESPONSE_BOGUS_ORIGIN);
        }
}

static void test_kod_before_the_origin_check_is_not_believed(void **state) {
        struct ntp_packet p = kiss_of_death("DENY");
        struct request_state none = outstanding_request;

        p.origin_ts = 0;
        assert_check(&p, &outstanding_request, RESPONSE_ZERO_ORIGIN);
        p.origin_ts = NONCE;
        none.outstanding = false;
        assert_check(&p, &none, RESPONSE_UNEXPECTED);
}

static void test_origin_is_checked_before_the_header(void **state) {
        struct ntp_packet p = genuine_reply();

        /* A forged packet full of faults is reported by the check that defeats forgery. */
        p.origin_ts = NONCE + 2;
        p.leap = NTP_LEAP_UNSYNC;
        p.stratum = 16;
        p.receive_ts = 0;
        assert_check(&p, &outstanding_request, RESPONSE_BOGUS_ORIGIN);
}

static void test_genuine_reply_after_rejected_ones_passes(void **state) {
        struct request_state req = outstanding_request;
        struct ntp_packet forged = genuine_reply(), forged_kod = kiss_of_death("DENY"), genuine = genuine_reply();

        forged.origin_ts = NONCE + 1;
        forged_kod.origin_ts = NONCE + 1;
        assert_check(&forged, &req, RESPONSE_BOGUS_ORIGIN);
        assert_check(&forged_kod, &req, RESPONSE_BOGUS_ORIGIN);
        assert_check(&forged, &req, RESPONSE_BOGUS_ORIGIN);
        assert_check(&genuine, &req, RESPONSE_OK);
}

static void test_check_server_header_directly(void **state) {
        struct ntp_packet p = genuine_reply();

        assert_int_equal(check_server_header(&p), RESPONSE_OK);
        p.mode = NTP_MODE_CLIENT;
        assert_int_equal(check_server_header(&p), RESPONSE_NOT_SERVER_MODE);
        p = genuine_reply();
        p.stratum = NTP_STRATUM_KOD;
        assert_int_equal(check_server_header(&p), RESPONSE_BAD_STRATUM);
        p = genuine_reply();
        p.origin_ts = 0; /* not its business */
        assert_int_equal(check_server_header(&p), RESPONSE_OK);
}

static void test_check_origin_directly(void **state) {
        struct ntp_packet p = genuine_reply();
        struct request_state req = outstanding_request;

        assert_int_equal(check_origin(&p, &req), RESPONSE_OK);
        p.leap = NTP_LEAP_UNSYNC; /* not its business */
        assert_int_equal(check_origin(&p, &req), RESPONSE_OK);
        p.transmit_ts = 0;
        assert_int_equal(check_origin(&p, &req), RESPONSE_OK); /* zero never counts as a duplicate */
        p.transmit_ts = T3;
        req.last_reply_transmit = T3;
        assert_int_equal(check_origin(&p, &req), RESPONSE_DUPLICATE);
}

static void test_result_strings(void **state) {
        for (int r = 0; r < _RESPONSE_MAX; r++) {
                const char *s = response_result_to_string((enum response_result) r);

                assert_non_null(s);
                assert_string_not_equal(s, "unknown");
                for (int other = 0; other < r; other++)
                        assert_string_not_equal(s, response_result_to_string((enum response_result) other));
        }
        assert_string_equal(response_result_to_string(_RESPONSE_MAX), "unknown");
        assert_string_equal(response_result_to_string((enum response_result) -1), "unknown");
}

static void test_is_kod(void **state) {
        for (int r = 0; r < _RESPONSE_MAX; r++) {
                bool expected = r == RESPONSE_KOD_RATE || r == RESPONSE_KOD_DENY || r == RESPONSE_KOD_OTHER;

                assert_int_equal(response_result_is_kod((enum response_result) r), expected);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_genuine_reply_passes),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_not_server_mode),
                cmocka_unit_test(test_kod_in_another_mode_is_not_server_mode),
                cmocka_unit_test(test_unexpected_without_outstanding_request),
                cmocka_unit_test(test_duplicate_transmit),
                cmocka_unit_test(test_interleaved_origin),
                cmocka_unit_test(test_zero_origin),
                cmocka_unit_test(test_bogus_origin),
                cmocka_unit_test(test_zero_receive_timestamp),
                cmocka_unit_test(test_zero_transmit_timestamp),
                cmocka_unit_test(test_leap_3_is_unsynchronized),
                cmocka_unit_test(test_leap_insert_and_delete_pass),
                cmocka_unit_test(test_stratum_16_and_above_is_unsynchronized),
                cmocka_unit_test(test_stratum_0_without_kiss_code_is_bad_stratum),
                cmocka_unit_test(test_root_distance_at_16_s_rejected),
                cmocka_unit_test(test_root_distance_just_below_16_s_passes),
                cmocka_unit_test(test_kod_rate),
                cmocka_unit_test(test_kod_deny_and_rstr),
                cmocka_unit_test(test_kod_other_code),
                cmocka_unit_test(test_kod_counts_even_with_zero_timestamps),
                cmocka_unit_test(test_kod_with_wrong_origin_is_only_bogus_origin),
                cmocka_unit_test(test_kod_before_the_origin_check_is_not_believed),
                cmocka_unit_test(test_origin_is_checked_before_the_header),
                cmocka_unit_test(test_genuine_reply_after_rejected_ones_passes),
                cmocka_unit_test(test_check_server_header_directly),
                cmocka_unit_test(test_check_origin_directly),
                cmocka_unit_test(test_result_strings),
                cmocka_unit_test(test_is_kod),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
