/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for ntp-packet: the header codec, every parse error, extension fields, MACs, refids. */

#include <stdlib.h>
#include <string.h>

#include "core/ntp-packet.h"
#include "unit-test.h"

#define BUFFER_SIZE (NTP_MAX_PACKET_SIZE + 8)

static const struct ntp_packet a_server_reply = {
        .leap = NTP_LEAP_NONE,
        .version = 4,
        .mode = NTP_MODE_SERVER,
        .stratum = 2,
        .poll = 6,
        .precision = -23,
        .root_delay = 0x00000c00,
        .root_dispersion = 0x00000a00,
        .refid = 0xc0000201,
        .reference_ts = UINT64_C(0xec6b1a0000000000),
        .origin_ts = UINT64_C(0x0123456789abcdef),
        .receive_ts = UINT64_C(0xec6b1a4012345678),
        .transmit_ts = UINT64_C(0xec6b1a4012400000),
};

/* A packet of len bytes: the header of *p, then zeros. */
static size_t build(uint8_t buf[static BUFFER_SIZE], const struct ntp_packet *p, size_t len) {
        memset(buf, 0, BUFFER_SIZE);
        ntp_packet_write(p, buf);
        return len;
}

static size_t build_version_mode(uint8_t buf[static BUFFER_SIZE], uint8_t version, uint8_t mode, size_t len) {
        struct ntp_packet p = a_server_reply;

        p.version = version;
        p.mode = mode;
        return build(buf, &p, len);
}

/* Writes an RFC 7822 extension field header (type, length) at offset; the value stays zero. */
static void put_extension(uint8_t *buf, size_t offset, uint16_t type, uint16_t length) {
        buf[offset] = type >> 8;
        buf[offset + 1] = (uint8_t) type;
        buf[offset + 2] = length >> 8;
        buf[offset + 3] = (uint8_t) length;
}

/* Parses a copy of exactly len bytes, so that the sanitizer build catches any read past the end. */
static enum ntp_parse_error parse_exact_copy(const uint8_t *buf, size_t len, struct ntp_packet *ret) {
        uint8_t *copy;
        enum ntp_parse_error e;

        if (!buf)
                return ntp_packet_parse(NULL, len, ret);
        copy = malloc(len > 0 ? len : 1);
        assert_non_null(copy);
        memcpy(copy, buf, len);
        e = ntp_packet_parse(copy, len, ret);
        free(copy);
        return e;
}

static void assert_rejected(const uint8_t *buf, size_t len, enum ntp_parse_error expected) {
        struct ntp_packet untouched, p;

        memset(&untouched, 0xa5, sizeof(untouched));
        memset(&p, 0xa5, sizeof(p));
        assert_int_equal(parse_exact_copy(buf, len, &p), expected);
        assert_memory_equal(&p, &untouched, sizeof(p)); /* ret_* is written only on success */
}

static struct ntp_packet parse_ok(const uint8_t *buf, size_t len) {
        struct ntp_packet p;

        assert_int_equal(parse_exact_copy(buf, len, &p), NTP_PARSE_OK);
        return p;
}

static void assert_same_header(const struct ntp_packet *a, const struct ntp_packet *b) {
        assert_int_equal(a->leap, b->leap);
        assert_int_equal(a->version, b->version);
        assert_int_equal(a->mode, b->mode);
        assert_int_equal(a->stratum, b->stratum);
        assert_int_equal(a->poll, b->poll);
        assert_int_equal(a->precision, b->precision);
        assert_int_equal(a->root_delay, b->root_delay);
        assert_int_equal(a->root_dispersion, b->root_dispersion);
        assert_int_equal(a->refid, b->refid);
        assert_int_equal(a->reference_ts, b->reference_ts);
        assert_int_equal(a->origin_ts, b->origin_ts);
        assert_int_equal(a->receive_ts, b->receive_ts);
        assert_int_equal(a->transmit_ts, b->transmit_ts);
}

static void test_write_lays_out_the_wire_format(void **state) {
        uint8_t buf[NTP_HEADER_SIZE];
        static const uint8_t expected[NTP_HEADER_SIZE] = {
                0x24, 0x02, 0x06, 0xe9, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x0a, 0x00, 0xc0, 0x00, 0x02, 0x01,
                0xec, 0x6b, 0x1a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                0xec, 0x6b, 0x1a, 0x40, 0x12, 0x34, 0x56, 0x78, 0xec, 0x6b, 0x1a, 0x40, 0x12, 0x40, 0x00, 0x00,
        };

        assert_int_equal(ntp_packet_write(&a_server_reply, buf), NTP_HEADER_SIZE);
        assert_memory_equal(buf, expected, NTP_HEADER_SIZE);
}

static void test_round_trip_write_parse(void **state) {
        uint8_t buf[BUFFER_SIZE];
        size_t len = build(buf, &a_server_reply, NTP_HEADER_SIZE);
        struct ntp_packet p = parse_ok(buf, len);

        assert_same_header(&p, &a_server_reply);
        assert_int_equal(p.n_extensions, 0);
        assert_int_equal(p.mac_length, 0);
}

static void test_round_trip_extreme_field_values(void **state) {
        uint8_t buf[BUFFER_SIZE];
        struct ntp_packet in = {
                .leap = NTP_LEAP_UNSYNC, .version = 3, .mode = NTP_MODE_PRIVATE, .stratum = 255,
                .poll = INT8_MIN, .precision = INT8_MAX, .root_delay = UINT32_MAX, .root_dispersion = 1,
                .refid = UINT32_MAX, .reference_ts = UINT64_MAX, .origin_ts = 1,
                .receive_ts = UINT64_C(0x8000000000000000), .transmit_ts = UINT64_MAX - 1,
        };
        struct ntp_packet out = parse_ok(buf, build(buf, &in, NTP_HEADER_SIZE));

        assert_same_header(&out, &in);
}

static void test_reject_shorter_than_a_header(void **state) {
        uint8_t buf[BUFFER_SIZE];

        build(buf, &a_server_reply, NTP_HEADER_SIZE);
        assert_rejected(buf, 0, NTP_PARSE_TOO_SHORT);
        assert_rejected(buf, 44, NTP_PARSE_TOO_SHORT);
        assert_rejected(buf, NTP_HEADER_SIZE - 1, NTP_PARSE_TOO_SHORT);
        assert_rejected(NULL, NTP_HEADER_SIZE, NTP_PARSE_TOO_SHORT);
}

static void test_reject_longer_than_any_packet(void **state) {
        uint8_t buf[BUFFER_SIZE];

        build(buf, &a_server_reply, NTP_HEADER_SIZE);
        put_extension(buf, NTP_HEADER_SIZE, 0x0104, NTP_MAX_PACKET_SIZE + 4 - NTP_HEADER_SIZE);
        assert_rejected(buf, NTP_MAX_PACKET_SIZE + 4, NTP_PARSE_TOO_LONG);
        assert_rejected(buf, NTP_MAX_PACKET_SIZE + 1, NTP_PARSE_TOO_LONG);
}

static void test_accept_exactly_the_maximum_size(void **state) {
        uint8_t buf[BUFFER_SIZE];

        build(buf, &a_server_reply, NTP_MAX_PACKET_SIZE);
        put_extension(buf, NTP_HEADER_SIZE, 0x0104, NTP_MAX_PACKET_SIZE - NTP_HEADER_SIZE);
        assert_int_equal(parse_ok(buf, NTP_MAX_PACKET_SIZE).n_extensions, 1);
}

static void test_reject_length_not_a_multiple_of_4(void **state) {
        uint8_t buf[BUFFER_SIZE];

        build(buf, &a_server_reply, NTP_HEADER_SIZE);
        for (size_t extra = 1; extra <= 3; extra++)
                assert_rejected(buf, NTP_HEADER_SIZE + extra, NTP_PARSE_BAD_LENGTH);
        assert_rejected(buf, NTP_HEADER_SIZE + 22, NTP_PARSE_BAD_LENGTH);
        /* The length is checked before any extension field is looked at. */
        put_extension(buf, NTP_HEADER_SIZE, 0x0104, 12);
        assert_rejected(buf, NTP_HEADER_SIZE + 30, NTP_PARSE_BAD_LENGTH);
}

static void test_reject_versions_0_and_5_to_7(void **state) {
        static const uint8_t bad_versions[] = { 0, 5, 6, 7 };
        uint8_t buf[BUFFER_SIZE];

        for (size_t i = 0; i < ELEMENTSOF(bad_versions); i++)
                assert_rejected(buf, build_version_mode(buf, bad_versions[i], NTP_MODE_SERVER, NTP_HEADER_SIZE),
                                NTP_PARSE_BAD_VERSION);
}

static void test_accept_versions_1_to_4(void **state) {
        uint8_t buf[BUFFER_SIZE];

        for (uint8_t version = 1; version <= 4; version++)
                assert_int_equal(parse_ok(buf, build_version_mode(buf, version, NTP_MODE_SERVER, NTP_HEADER_SIZE)).version,
                                 version);
}

static void test_reject_mode_0(void **state) {
        uint8_t buf[BUFFER_SIZE];

        assert_rejected(buf, build_version_mode(buf, 4, NTP_MODE_RESERVED, NTP_HEADER_SIZE), NTP_PARSE_BAD_MODE);
        assert_rejected(buf, build_version_mode(buf, 3, NTP_MODE_RESERVED, NTP_HEADER_SIZE), NTP_PARSE_BAD_MODE);
}

static void test_accept_modes_1_to_7(void **state) {
        uint8_t buf[BUFFER_SIZE];

        for (uint8_t mode = 1; mode <= 7; mode++)
                assert_int_equal(parse_ok(buf, build_version_mode(buf, 4, mode, NTP_HEADER_SIZE)).mode, mode);
}

static void test_extension_field_without_mac(void **state) {
        uint8_t buf[BUFFER_SIZE];
        size_t len = build(buf, &a_server_reply, NTP_HEADER_SIZE + 28);
        struct ntp_packet p;

        put_extension(buf, NTP_HEADER_SIZE, 0x0104, 28);
        p = parse_ok(buf, len);
        assert_int_equal(p.n_extensions, 1);
        assert_int_equal(p.mac_length, 0);
        assert_same_header(&p, &a_server_reply);
}

static void test_two_extension_fields(void **state) {
        uint8_t buf[BUFFER_SIZE];
        size_t len = build(buf, &a_server_reply, NTP_HEADER_SIZE + 16 + 32);
        struct ntp_packet p;

        put_extension(buf, NTP_HEADER_SIZE, 0x0104, 16);
        put_extension(buf, NTP_HEADER_SIZE + 16, 0x0204, 32);
        p = parse_ok(buf, len);
        assert_int_equal(p.n_extensions, 2);
        assert_int_equal(p.mac_length, 0);
}

static void test_extension_fields_followed_by_a_mac(void **state) {
        static const size_t mac_lengths[] = { 4, 20, 24 };
        uint8_t buf[BUFFER_SIZE];

        for (size_t i = 0; i < ELEMENTSOF(mac_lengths); i++) {
                size_t len = build(buf, &a_server_reply, NTP_HEADER_SIZE + 16 + 28 + mac_lengths[i]);
                struct ntp_packet p;

                put_extension(buf, NTP_HEADER_SIZE, 0x0104, 16);
                put_extension(buf, NTP_HEADER_SIZE + 16, 0x0104, 28);
                p = parse_ok(buf, len);
                assert_int_equal(p.n_extensions, 2);
                assert_int_equal(p.mac_length, mac_lengths[i]);
        }
}

static void test_reject_extension_shorter_than_16(void **state) {
        static const uint16_t short_lengths[] = { 0, 4, 8, 12 };
        uint8_t buf[BUFFER_SIZE];

        for (size_t i = 0; i < ELEMENTSOF(short_lengths); i++) {
                size_t len = build(buf, &a_server_reply, NTP_HEADER_SIZE + 32);

                put_extension(buf, NTP_HEADER_SIZE, 0x0104, short_lengths[i]);
                assert_rejected(buf, len, NTP_PARSE_BAD_EXTENSION);
        }
}

static void test_reject_extension_length_not_a_multiple_of_4(void **state) {
        static const uint16_t odd_lengths[] = { 17, 30, 31 };
        uint8_t buf[BUFFER_SIZE];

        for (size_t i = 0; i < ELEMENTSOF(odd_lengths); i++) {
                size_t len = build(buf, &a_server_reply, NTP_HEADER_SIZE + 32);

                put_extension(buf, NTP_HEADER_SIZE, 0x0104, odd_lengths[i]);
                assert_rejected(buf, len, NTP_PARSE_BAD_EXTENSION);
        }
}

static void test_reject_extension_running_past_the_end(void **state) {
        uint8_t buf[BUFFER_SIZE];
        size_t len = build(buf, &a_server_reply, NTP_HEADER_SIZE + 28);

        put_extension(buf, NTP_HEADER_SIZE, 0x0104, 32);
        assert_rejected(buf, len, NTP_PARSE_BAD_EXTENSION);
        put_extension(buf, NTP_HEADER_SIZE, 0x0104, 0xfffc);
        assert_rejected(buf, len, NTP_PARSE_BAD_EXTENSION);
}

static void test_reject_second_extension_running_past_the_end(void **state) {
        uint8_t buf[BUFFER_SIZE];
        size_t len = build(buf, &a_server_reply, NTP_HEADER_SIZE + 16 + 28);

        put_extension(buf, NTP_HEADER_SIZE, 0x0104, 16);
        put_extension(buf, NTP_HEADER_SIZE + 16, 0x0104, 64);
        assert_rejected(buf, len, NTP_PARSE_BAD_EXTENSION);
}

static void test_reject_extension_leaving_a_remainder_that_is_no_mac(void **state) {
        uint8_t buf[BUFFER_SIZE];
        size_t len = build(buf, &a_server_reply, NTP_HEADER_SIZE + 28 + 8);

        put_extension(buf, NTP_HEADER_SIZE, 0x0104, 28);
        assert_rejected(buf, len, NTP_PARSE_BAD_LENGTH);
}

static void test_mac_lengths_4_20_24_accepted(void **state) {
        static const size_t mac_lengths[] = { 4, 20, 24 };
        uint8_t buf[BUFFER_SIZE];

        for (size_t i = 0; i < ELEMENTSOF(mac_lengths); i++) {
                struct ntp_packet p = parse_ok(buf, build(buf, &a_server_reply, NTP_HEADER_SIZE + mac_lengths[i]));

                assert_int_equal(p.mac_length, mac_lengths[i]);
                assert_int_equal(p.n_extensions, 0);
                assert_same_header(&p, &a_server_reply);
        }
}

static void test_other_trailing_lengths_rejected(void **state) {
        static const size_t bad_lengths[] = { 8, 12, 16 };
        uint8_t buf[BUFFER_SIZE];

        for (size_t i = 0; i < ELEMENTSOF(bad_lengths); i++)
                assert_rejected(buf, build(buf, &a_server_reply, NTP_HEADER_SIZE + bad_lengths[i]),
                                NTP_PARSE_BAD_LENGTH);
}

static void test_v4_trailing_28_zero_bytes_is_a_bad_extension(void **state) {
        uint8_t buf[BUFFER_SIZE];

        /* More than a MAC can be: it must be an extension field, and one of length 0 is not. */
        assert_rejected(buf, build(buf, &a_server_reply, NTP_HEADER_SIZE + 28), NTP_PARSE_BAD_EXTENSION);
}

static void test_v3_with_mac(void **state) {
        static const size_t mac_lengths[] = { 4, 20, 24 };
        uint8_t buf[BUFFER_SIZE];

        for (size_t i = 0; i < ELEMENTSOF(mac_lengths); i++) {
                struct ntp_packet p = parse_ok(buf, build_version_mode(buf, 3, NTP_MODE_SERVER,
                                                                       NTP_HEADER_SIZE + mac_lengths[i]));

                assert_int_equal(p.version, 3);
                assert_int_equal(p.mac_length, mac_lengths[i]);
                assert_int_equal(p.n_extensions, 0);
        }
}

static void test_v3_has_no_extension_fields(void **state) {
        uint8_t buf[BUFFER_SIZE];
        size_t len = build_version_mode(buf, 3, NTP_MODE_SERVER, NTP_HEADER_SIZE + 28);

        put_extension(buf, NTP_HEADER_SIZE, 0x0104, 28);
        assert_rejected(buf, len, NTP_PARSE_BAD_LENGTH);
        assert_rejected(buf, build_version_mode(buf, 3, NTP_MODE_SERVER, NTP_HEADER_SIZE + 16), NTP_PARSE_BAD_LENGTH);
}

static void test_parse_error_strings(void **state) {
        static const enum ntp_parse_error errors[] = {
                NTP_PARSE_OK, NTP_PARSE_TOO_SHORT, NTP_PARSE_TOO_LONG, NTP_PARSE_BAD_VERSION,
                NTP_PARSE_BAD_MODE, NTP_PARSE_BAD_EXTENSION, NTP_PARSE_BAD_LENGTH,
        };

        for (size_t i = 0; i < ELEMENTSOF(errors); i++) {
                const char *s = ntp_parse_error_to_string(errors[i]);

                assert_non_null(s);
                assert_string_not_equal(s, "unknown error");
                for (size_t j = 0; j < i; j++)
                        assert_string_not_equal(s, ntp_parse_error_to_string(errors[j]));
        }
        assert_string_equal(ntp_parse_error_to_string((enum ntp_parse_error) 1000), "unknown error");
}

static void test_refid_to_ascii(void **state) {
        char s[5];

        ntp_refid_to_ascii(0x52415445, s); /* "RATE" */
        assert_string_equal(s, "RATE");
        ntp_refid_to_ascii(0x47505300, s); /* "GPS" padded with NUL */
        assert_string_equal(s, "GPS");
        ntp_refid_to_ascii(0x41014243, s); /* unprintable in the middle */
        assert_string_equal(s, "A?BC");
        ntp_refid_to_ascii(0x7f800041, s);
        assert_int_equal(s[0], '?');
        assert_int_equal(s[1], '?');
        assert_int_equal(s[4], '\0');
}

static void test_refid_from_ascii(void **state) {
        assert_int_equal(ntp_refid_from_ascii("RATE"), 0x52415445);
        assert_int_equal(ntp_refid_from_ascii("GPS"), 0x47505300);
        assert_int_equal(ntp_refid_from_ascii("DENYING"), ntp_refid_from_ascii("DENY"));
        assert_int_equal(ntp_refid_from_ascii(""), 0);
        assert_int_equal(ntp_refid_from_ascii(NULL), 0);
}

static void test_refid_ascii_round_trip(void **state) {
        static const char *const codes[] = { "RATE", "DENY", "RSTR", "INIT", "GPS", "PPS", "X" };
        char s[5];

        for (size_t i = 0; i < ELEMENTSOF(codes); i++) {
                ntp_refid_to_ascii(ntp_refid_from_ascii(codes[i]), s);
                assert_string_equal(s, codes[i]);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_write_lays_out_the_wire_format),
                cmocka_unit_test(test_round_trip_write_parse),
                cmocka_unit_test(test_round_trip_extreme_field_values),
                cmocka_unit_test(test_reject_shorter_than_a_header),
                cmocka_unit_test(test_reject_longer_than_any_packet),
                cmocka_unit_test(test_accept_exactly_the_maximum_size),
                cmocka_unit_test(test_reject_length_not_a_multiple_of_4),
                cmocka_unit_test(test_reject_versions_0_and_5_to_7),
                cmocka_unit_test(test_accept_versions_1_to_4),
                cmocka_unit_test(test_reject_mode_0),
                cmocka_unit_test(test_accept_modes_1_to_7),
                cmocka_unit_test(test_extension_field_without_mac),
                cmocka_unit_test(test_two_extension_fields),
                cmocka_unit_test(test_extension_fields_followed_by_a_mac),
                cmocka_unit_test(test_reject_extension_shorter_than_16),
                cmocka_unit_test(test_reject_extension_length_not_a_multiple_of_4),
                cmocka_unit_test(test_reject_extension_running_past_the_end),
                cmocka_unit_test(test_reject_second_extension_running_past_the_end),
                cmocka_unit_test(test_reject_extension_leaving_a_remainder_that_is_no_mac),
                cmocka_unit_test(test_mac_lengths_4_20_24_accepted),
                cmocka_unit_test(test_other_trailing_lengths_rejected),
                cmocka_unit_test(test_v4_trailing_28_zero_bytes_is_a_bad_extension),
                cmocka_unit_test(test_v3_with_mac),
                cmocka_unit_test(test_v3_has_no_extension_fields),
                cmocka_unit_test(test_parse_error_strings),
                cmocka_unit_test(test_refid_to_ascii),
                cmocka_unit_test(test_refid_from_ascii),
                cmocka_unit_test(test_refid_ascii_round_trip),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
