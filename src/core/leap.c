/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "leap.h"
#include "ntp-time.h"

/* Days since 1970-01-01 to a civil date (proleptic Gregorian), after Howard Hinnant's algorithm. */
void leap_civil_date(int64_t unix_ns, int *ret_year, int *ret_month, int *ret_day) {
        int64_t secs = unix_ns / NS_PER_SEC - (unix_ns % NS_PER_SEC < 0);
        int64_t days = secs / 86400 - (secs % 86400 < 0);
        int64_t z = days + 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        int64_t d = doy - (153 * mp + 2) / 5 + 1;
        int64_t m = mp < 10 ? mp + 3 : mp - 9;
        *ret_year = (int) (yoe + era * 400 + (m <= 2));
        *ret_month = (int) m;
        *ret_day = (int) d;
}

bool leap_month_allows(int64_t unix_ns) {
        int y, m, d;
        leap_civil_date(unix_ns, &y, &m, &d);
        return m == 6 || m == 12;
}

bool leap_is_last_day(int64_t unix_ns) {
        int y, m, d;
        leap_civil_date(unix_ns, &y, &m, &d);
        return (m == 6 && d == 30) || (m == 12 && d == 31);
}
