/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for leap: civil dates in UTC, the months a leap second may be announced in, and the
 * day on which the kernel is told. */

#include "core/leap.h"
#include "core/ntp-time.h"
#include "unit-test.h"

#define DAY INT64_C(86400)

/* Seconds since the Unix epoch of some instants, all UTC. */
#define UNIX_2000_02_29 INT64_C(951782400)
#define UNIX_2015_06_30 INT64_C(1435622400)
#define UNIX_2016_12_31 INT64_C(1483142400)
#define UNIX_2036_02_07_062816 INT64_C(2085978496) /* NTP era 1 starts */
#define UNIX_1900_01_01 INT64_C(-2208988800)

static int64_t ns_of(int64_t seconds) {
        return seconds * NS_PER_SEC;
}

static void assert_date(int64_t unix_ns, int year, int month, int day) {
        int y = -1, m = -1, d = -1;

        leap_civil_date(unix_ns, &y, &m, &d);
        if (y == year && m == month && d == day)
                return;
        print_error("%lld ns is %04d-%02d-%02d, expected %04d-%02d-%02d\n",
                    (long long) unix_ns, y, m, d, year, month, day);
        fail();
}

static void test_civil_date_around_1970(void **state) {
        assert_date(0, 1970, 1, 1);
        assert_date(1, 1970, 1, 1);
        assert_date(ns_of(DAY) - 1, 1970, 1, 1);
        assert_date(ns_of(DAY), 1970, 1, 2);
        assert_date(ns_of(31 * DAY), 1970, 2, 1);
        assert_date(ns_of(365 * DAY), 1971, 1, 1);
}

static void test_civil_date_negative_times(void **state) {
        /* Before the epoch the day must round down, not toward zero. */
        assert_date(-1, 1969, 12, 31);
        assert_date(-NS_PER_SEC, 1969, 12, 31);
        assert_date(ns_of(-DAY), 1969, 12, 31);
        assert_date(ns_of(-DAY) - 1, 1969, 12, 30);
        assert_date(ns_of(-365 * DAY), 1969, 1, 1);
        assert_date(ns_of(-365 * DAY) - 1, 1968, 12, 31);
        assert_date(ns_of(UNIX_1900_01_01), 1900, 1, 1);
        assert_date(ns_of(UNIX_1900_01_01) - 1, 1899, 12, 31);
}

static void test_civil_date_leap_years(void **state) {
        assert_date(ns_of(UNIX_2000_02_29) - 1, 2000, 2, 28);
        assert_date(ns_of(UNIX_2000_02_29), 2000, 2, 29);
        assert_date(ns_of(UNIX_2000_02_29 + DAY), 2000, 3, 1);
        /* 1900 and 2100 are not leap years. */
        assert_date(ns_of(UNIX_1900_01_01 + 58 * DAY), 1900, 2, 28);
        assert_date(ns_of(UNIX_1900_01_01 + 59 * DAY), 1900, 3, 1);
        assert_date(ns_of(INT64_C(4107456000)), 2100, 2, 28);
        assert_date(ns_of(INT64_C(4107456000) + DAY), 2100, 3, 1);
}

static void test_civil_date_2016_12_31(void **state) {
        assert_date(ns_of(UNIX_2016_12_31), 2016, 12, 31);
        assert_date(ns_of(UNIX_2016_12_31 + DAY) - 1, 2016, 12, 31);
        assert_date(ns_of(UNIX_2016_12_31 + DAY), 2017, 1, 1);
}

static void test_civil_date_2036_era_boundary(void **state) {
        assert_date(ns_of(UNIX_2036_02_07_062816) - 1, 2036, 2, 7);
        assert_date(ns_of(UNIX_2036_02_07_062816), 2036, 2, 7);
        assert_date(ns_of(UNIX_2036_02_07_062816 - 6 * 3600 - 28 * 60 - 16) - 1, 2036, 2, 6);
        assert_date(ns_of(UNIX_2036_02_07_062816 + 18 * 3600), 2036, 2, 8);
}

static void test_civil_date_whole_int64_range(void **state) {
        assert_date(INT64_MAX, 2262, 4, 11);
        assert_date(INT64_MIN, 1677, 9, 21);
}

static void test_month_allows_only_june_and_december(void **state) {
        static const struct {
                int64_t unix_seconds;
                bool allowed;
        } cases[] = {
                { UNIX_2016_12_31, true },
                { UNIX_2016_12_31 - 30 * DAY, true },       /* 2016-12-01 */
                { UNIX_2016_12_31 - 31 * DAY, false },      /* 2016-11-30 */
                { UNIX_2016_12_31 + DAY, false },           /* 2017-01-01 */
                { UNIX_2015_06_30, true },
                { UNIX_2015_06_30 - 29 * DAY, true },       /* 2015-06-01 */
                { UNIX_2015_06_30 - 30 * DAY, false },      /* 2015-05-31 */
                { UNIX_2015_06_30 + DAY, false },           /* 2015-07-01 */
                { UNIX_2000_02_29, false },
                { 0, false },
                { -DAY, true },                             /* 1969-12-31 */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                if (leap_month_allows(ns_of(cases[i].unix_seconds)) == cases[i].allowed)
                        continue;
                print_error("case %zu (%lld s): expected %s\n", i, (long long) cases[i].unix_seconds,
                            cases[i].allowed ? "allowed" : "refused");
                fail();
        }
}

static void test_last_day_of_june_and_december(void **state) {
        assert_true(leap_is_last_day(ns_of(UNIX_2016_12_31)));
        assert_true(leap_is_last_day(ns_of(UNIX_2016_12_31 + DAY) - 1));
        assert_false(leap_is_last_day(ns_of(UNIX_2016_12_31) - 1));     /* 2016-12-30 */
        assert_false(leap_is_last_day(ns_of(UNIX_2016_12_31 + DAY)));   /* 2017-01-01 */
        assert_true(leap_is_last_day(ns_of(UNIX_2015_06_30)));
        assert_true(leap_is_last_day(ns_of(UNIX_2015_06_30 + DAY) - 1));
        assert_false(leap_is_last_day(ns_of(UNIX_2015_06_30) - 1));     /* 2015-06-29 */
        assert_false(leap_is_last_day(ns_of(UNIX_2015_06_30 + DAY)));   /* 2015-07-01 */
        /* Other months' last days are not leap days. */
        assert_false(leap_is_last_day(ns_of(UNIX_2015_06_30 - 30 * DAY))); /* 2015-05-31 */
        assert_false(leap_is_last_day(ns_of(UNIX_2016_12_31 - 31 * DAY))); /* 2016-11-30 */
        assert_false(leap_is_last_day(ns_of(UNIX_2000_02_29)));
        assert_true(leap_is_last_day(ns_of(-DAY)));                        /* 1969-12-31 */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_civil_date_around_1970),
                cmocka_unit_test(test_civil_date_negative_times),
                cmocka_unit_test(test_civil_date_leap_years),
                cmocka_unit_test(test_civil_date_2016_12_31),
                cmocka_unit_test(test_civil_date_2036_era_boundary),
                cmocka_unit_test(test_civil_date_whole_int64_range),
                cmocka_unit_test(test_month_allows_only_june_and_december),
                cmocka_unit_test(test_last_day_of_june_and_december),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
