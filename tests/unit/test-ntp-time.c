/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for ntp-time: wire timestamps, era folding, short format and log2 fields. */

#include "core/ntp-time.h"
#include "unit-test.h"

#define UNIX_2036_ERA_START INT64_C(2085978496)  /* 2036-02-07T06:28:16Z, NTP seconds 2^32 */
#define UNIX_1900_ERA_START INT64_C(-2208988800) /* 1900-01-01T00:00:00Z, NTP seconds 0 */
#define UNIX_2035_JAN_1 INT64_C(2051222400)
#define UNIX_1950_JAN_1 INT64_C(-631152000)
#define SECONDS_PER_60_YEARS (INT64_C(60) * 36524 * 864) /* 60 × 365.24 days */

static ntp_ts ts_make(uint32_t seconds, uint32_t fraction) {
        return (uint64_t) seconds << 32 | fraction;
}

static int64_t ns_from_seconds(int64_t seconds) {
        return seconds * NS_PER_SEC;
}

static void test_unix_epoch_is_ntp_seconds_2208988800(void **state) {
        assert_int_equal(ntp_ts_from_unix_ns(0), ts_make(2208988800u, 0));
        assert_int_equal(ntp_ts_from_unix_ns(500000000), ts_make(2208988800u, 0x80000000u));
        assert_int_equal(ntp_ts_from_unix_ns(ns_from_seconds(1) + 250000000), ts_make(2208988801u, 0x40000000u));
}

static void test_from_unix_folds_the_2036_era(void **state) {
        int64_t boundary = ns_from_seconds(UNIX_2036_ERA_START);

        assert_int_equal(ntp_ts_from_unix_ns(boundary), ts_make(0, 0));
        assert_int_equal(ntp_ts_from_unix_ns(boundary - 500000000), ts_make(0xffffffffu, 0x80000000u));
        assert_int_equal(ntp_ts_from_unix_ns(boundary + ns_from_seconds(1)), ts_make(1, 0));
}

static void test_from_unix_at_and_before_1900(void **state) {
        int64_t era0 = ns_from_seconds(UNIX_1900_ERA_START);

        assert_int_equal(ntp_ts_from_unix_ns(era0), ts_make(0, 0));
        assert_int_equal(ntp_ts_from_unix_ns(era0 - ns_from_seconds(1)), ts_make(0xffffffffu, 0));
        assert_int_equal(ntp_ts_from_unix_ns(era0 - 250000000), ts_make(0xffffffffu, 0xc0000000u));
}

static void test_from_unix_negative_nanoseconds(void **state) {
        /* -1 ns is 1969-12-31T23:59:59.999999999: the fraction is 999999999 × 2^32 / 10^9 rounded
         * to the nearest, 4294967291.7 → 4294967292. */
        assert_int_equal(ntp_ts_from_unix_ns(-1), ts_make(2208988799u, 4294967292u));
        assert_int_equal(ntp_ts_from_unix_ns(-1500000000), ts_make(2208988798u, 0x80000000u));
        assert_int_equal(ntp_ts_from_unix_ns(-750000000), ts_make(2208988799u, 0x40000000u));
}

static void test_to_unix_picks_the_era_nearest_the_pivot(void **state) {
        ntp_ts ten_seconds_into_an_era = ts_make(10, 0);

        assert_int_equal(ntp_ts_to_unix_ns(ten_seconds_into_an_era, ns_from_seconds(UNIX_2035_JAN_1)),
                         ns_from_seconds(UNIX_2036_ERA_START + 10));
        assert_int_equal(ntp_ts_to_unix_ns(ten_seconds_into_an_era, ns_from_seconds(UNIX_2036_ERA_START)),
                         ns_from_seconds(UNIX_2036_ERA_START + 10));
        assert_int_equal(ntp_ts_to_unix_ns(ten_seconds_into_an_era, ns_from_seconds(UNIX_1950_JAN_1)),
                         ns_from_seconds(UNIX_1900_ERA_START + 10));
}

static void test_to_unix_last_second_of_era_0_seen_from_era_1(void **state) {
        int64_t pivot = ns_from_seconds(UNIX_2036_ERA_START + 3600);

        assert_int_equal(ntp_ts_to_unix_ns(ts_make(0xffffffffu, 0x80000000u), pivot),
                         ns_from_seconds(UNIX_2036_ERA_START) - 500000000);
}

static void test_to_unix_before_1970(void **state) {
        assert_int_equal(ntp_ts_to_unix_ns(ts_make(2208988799u, 0x40000000u), 0), -750000000);
        assert_int_equal(ntp_ts_to_unix_ns(ts_make(2208988798u, 0x80000000u), 0), -1500000000);
        assert_int_equal(ntp_ts_to_unix_ns(ts_make(0, 0), ns_from_seconds(UNIX_1950_JAN_1)),
                         ns_from_seconds(UNIX_1900_ERA_START));
}

static void test_round_trip_exact_for_binary_fractions(void **state) {
        static const int64_t values[] = {
                0, 500000000, -250000000, INT64_C(1700000000750000000),
                INT64_C(2085978496000000000), INT64_C(2085978495500000000),
                INT64_C(-2208988800000000000), INT64_C(-2208988801125000000),
        };

        for (size_t i = 0; i < ELEMENTSOF(values); i++)
                assert_int_equal(ntp_ts_to_unix_ns(ntp_ts_from_unix_ns(values[i]), values[i]), values[i]);
}

static void assert_round_trip_within_1ns(int64_t unix_ns, int64_t pivot) {
        int64_t back = ntp_ts_to_unix_ns(ntp_ts_from_unix_ns(unix_ns), pivot);

        assert_int64_between(back - unix_ns, -1, 1);
}

static void test_round_trip_any_nanosecond_near_the_pivot(void **state) {
        static const int64_t values[] = {
                1, -1, 999999999, -999999999, 123456789, INT64_C(1234567890123456789),
                INT64_C(2085978496000000001), INT64_C(2085978495999999999),
                INT64_C(-2208988800000000001), INT64_C(-2208988799999999999), INT64_C(4000000000000000007),
        };
        int64_t sixty_years = ns_from_seconds(SECONDS_PER_60_YEARS);

        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                assert_round_trip_within_1ns(values[i], values[i]);
                assert_round_trip_within_1ns(values[i], values[i] + sixty_years);
                assert_round_trip_within_1ns(values[i], values[i] - sixty_years);
        }
}

static void test_diff_across_the_2036_era(void **state) {
        int64_t boundary = ns_from_seconds(UNIX_2036_ERA_START);
        ntp_ts after = ntp_ts_from_unix_ns(boundary + ns_from_seconds(1));
        ntp_ts before = ntp_ts_from_unix_ns(boundary - ns_from_seconds(1));

        assert_true(after < before); /* the wire values wrapped */
        assert_double_near(ntp_ts_diff(after, before), 2.0, 0.0);
        assert_double_near(ntp_ts_diff(before, after), -2.0, 0.0);
        assert_double_near(ntp_ts_diff(ntp_ts_from_unix_ns(boundary + 250000000),
                                        ntp_ts_from_unix_ns(boundary - 500000000)), 0.75, 0.0);
}

static void test_diff_is_signed_up_to_68_years(void **state) {
        assert_double_near(ntp_ts_diff(ts_make(0x7fffffffu, 0), 0), 2147483647.0, 0.0);
        assert_double_near(ntp_ts_diff(0, ts_make(0x7fffffffu, 0)), -2147483647.0, 0.0);
        /* Beyond half the era the difference reads the other way round, as documented. */
        assert_double_near(ntp_ts_diff(ts_make(0x80000001u, 0), 0), -2147483647.0, 0.0);
        assert_double_near(ntp_ts_diff(ts_make(5, 0x80000000u), ts_make(5, 0)), 0.5, 0.0);
}

static void test_offset_from_seconds(void **state) {
        assert_int_equal(ntp_ts_offset_from_seconds(1.5), INT64_C(0x180000000));
        assert_int_equal(ntp_ts_offset_from_seconds(-0.5), -INT64_C(0x80000000));
        assert_int_equal(ntp_ts_offset_from_seconds(0.0), 0);
        assert_int_equal(ntp_ts_offset_from_seconds(NAN), 0);
        assert_int_equal(ntp_ts_offset_from_seconds(1e10), INT64_MAX);
        assert_int_equal(ntp_ts_offset_from_seconds(-1e10), INT64_MIN);
        assert_int_equal(ntp_ts_offset_from_seconds(INFINITY), INT64_MAX);
        assert_int_equal(ntp_ts_offset_from_seconds(-INFINITY), INT64_MIN);
}

static void test_offset_added_across_the_era(void **state) {
        int64_t boundary = ns_from_seconds(UNIX_2036_ERA_START);
        ntp_ts before = ntp_ts_from_unix_ns(boundary - 500000000);
        ntp_ts moved = before + (uint64_t) ntp_ts_offset_from_seconds(1.0);

        assert_int_equal(moved, ntp_ts_from_unix_ns(boundary + 500000000));
        assert_int_equal(before + (uint64_t) ntp_ts_offset_from_seconds(-2.0), ts_make(0xfffffffdu, 0x80000000u));
}

static void test_short_to_seconds(void **state) {
        assert_double_near(ntp_short_to_seconds(0), 0.0, 0.0);
        assert_double_near(ntp_short_to_seconds(0x00010000u), 1.0, 0.0);
        assert_double_near(ntp_short_to_seconds(0x00008000u), 0.5, 0.0);
        assert_double_near(ntp_short_to_seconds(0xffffffffu), 65535.0 + 65535.0 / 65536.0, 0.0);
}

static void test_short_from_seconds_rounds(void **state) {
        assert_int_equal(ntp_short_from_seconds(1.0), 0x00010000u);
        assert_int_equal(ntp_short_from_seconds(0.5), 0x00008000u);
        assert_int_equal(ntp_short_from_seconds(1.0 / 65536), 1);
        assert_int_equal(ntp_short_from_seconds(1.4 / 65536), 1);
        assert_int_equal(ntp_short_from_seconds(1.6 / 65536), 2);
        assert_int_equal(ntp_short_from_seconds(65534.5), 0xfffe8000u);
}

static void test_short_from_seconds_saturates(void **state) {
        assert_int_equal(ntp_short_from_seconds(65535.0), UINT32_MAX);
        assert_int_equal(ntp_short_from_seconds(1e12), UINT32_MAX);
        assert_int_equal(ntp_short_from_seconds(INFINITY), UINT32_MAX);
}

static void test_short_from_seconds_negative_and_nan_give_zero(void **state) {
        assert_int_equal(ntp_short_from_seconds(-1.0), 0);
        assert_int_equal(ntp_short_from_seconds(-0.0), 0);
        assert_int_equal(ntp_short_from_seconds(-1e-12), 0);
        assert_int_equal(ntp_short_from_seconds(-INFINITY), 0);
        assert_int_equal(ntp_short_from_seconds(NAN), 0);
        assert_int_equal(ntp_short_from_seconds(-NAN), 0);
}

static void test_log2_to_seconds(void **state) {
        assert_double_near(ntp_log2_to_seconds(0), 1.0, 0.0);
        assert_double_near(ntp_log2_to_seconds(6), 64.0, 0.0);
        assert_double_near(ntp_log2_to_seconds(17), 131072.0, 0.0);
        assert_double_near(ntp_log2_to_seconds(-1), 0.5, 0.0);
        assert_double_near(ntp_log2_to_seconds(-20), ldexp(1.0, -20), 0.0);
}

static void test_log2_to_seconds_clamps_untrusted_values(void **state) {
        assert_double_near(ntp_log2_to_seconds(32), ldexp(1.0, 32), 0.0);
        assert_double_near(ntp_log2_to_seconds(33), ldexp(1.0, 32), 0.0);
        assert_double_near(ntp_log2_to_seconds(INT8_MAX), ldexp(1.0, 32), 0.0);
        assert_double_near(ntp_log2_to_seconds(-32), ldexp(1.0, -32), 0.0);
        assert_double_near(ntp_log2_to_seconds(-33), ldexp(1.0, -32), 0.0);
        assert_double_near(ntp_log2_to_seconds(INT8_MIN), ldexp(1.0, -32), 0.0);
}

static void test_ns_seconds_helpers(void **state) {
        assert_double_near(ns_to_seconds(1500000000), 1.5, 0.0);
        assert_double_near(ns_to_seconds(-250000000), -0.25, 0.0);
        assert_int_equal(seconds_to_ns(-0.25), -250000000);
        assert_int_equal(seconds_to_ns(2.0), 2000000000);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unix_epoch_is_ntp_seconds_2208988800),
                cmocka_unit_test(test_from_unix_folds_the_2036_era),
                cmocka_unit_test(test_from_unix_at_and_before_1900),
                cmocka_unit_test(test_from_unix_negative_nanoseconds),
                cmocka_unit_test(test_to_unix_picks_the_era_nearest_the_pivot),
                cmocka_unit_test(test_to_unix_last_second_of_era_0_seen_from_era_1),
                cmocka_unit_test(test_to_unix_before_1970),
                cmocka_unit_test(test_round_trip_exact_for_binary_fractions),
                cmocka_unit_test(test_round_trip_any_nanosecond_near_the_pivot),
                cmocka_unit_test(test_diff_across_the_2036_era),
                cmocka_unit_test(test_diff_is_signed_up_to_68_years),
                cmocka_unit_test(test_offset_from_seconds),
                cmocka_unit_test(test_offset_added_across_the_era),
                cmocka_unit_test(test_short_to_seconds),
                cmocka_unit_test(test_short_from_seconds_rounds),
                cmocka_unit_test(test_short_from_seconds_saturates),
                cmocka_unit_test(test_short_from_seconds_negative_and_nan_give_zero),
                cmocka_unit_test(test_log2_to_seconds),
                cmocka_unit_test(test_log2_to_seconds_clamps_untrusted_values),
                cmocka_unit_test(test_ns_seconds_helpers),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
