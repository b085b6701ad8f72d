/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>

#include "ntp-time.h"

#define FRAC_PER_SEC 4294967296.0 /* 2^32 */

ntp_ts ntp_ts_from_unix_ns(int64_t unix_ns) {
        int64_t secs = unix_ns / NS_PER_SEC;
        int64_t ns = unix_ns % NS_PER_SEC;

        if (ns < 0) {
                ns += NS_PER_SEC;
                secs -= 1;
        }
        uint64_t frac = (((uint64_t) ns << 32) + (uint64_t) NS_PER_SEC / 2) / (uint64_t) NS_PER_SEC;
        uint32_t era_secs = (uint32_t) (uint64_t) (secs + NTP_UNIX_EPOCH_DELTA);
        return ((uint64_t) era_secs << 32) | frac;
}

int64_t ntp_ts_to_unix_ns(ntp_ts ts, int64_t pivot_unix_ns) {
        /* Distance from the pivot's own wire form, read as signed: picks the nearest era. */
        ntp_ts pivot = ntp_ts_from_unix_ns(pivot_unix_ns);
        int64_t delta = (int64_t) (ts - pivot); /* 32.32, signed */
        int64_t delta_secs = delta >> 32;        /* floor */
        uint64_t delta_frac = (uint64_t) delta & 0xffffffffu;
        int64_t delta_ns = delta_secs * NS_PER_SEC + (int64_t) ((delta_frac * (uint64_t) NS_PER_SEC + (UINT64_C(1) << 31)) >> 32);
        return pivot_unix_ns + delta_ns;
}

double ntp_ts_diff(ntp_ts a, ntp_ts b) {
        return (double) (int64_t) (a - b) / FRAC_PER_SEC;
}

int64_t ntp_ts_offset_from_seconds(double seconds) {
        if (isnan(seconds))
                return 0;
        double scaled = seconds * FRAC_PER_SEC;
        if (scaled >= 9.2e18)
                return INT64_MAX;
        if (scaled <= -9.2e18)
                return INT64_MIN;
        return (int64_t) llround(scaled);
}

double ntp_short_to_seconds(ntp_short s) {
        return (double) s / 65536.0;
}

ntp_short ntp_short_from_seconds(double seconds) {
        if (!(seconds > 0))
                return 0;
        if (seconds >= 65535.0)
                return UINT32_MAX;
        return (ntp_short) (seconds * 65536.0 + 0.5);
}

double ntp_log2_to_seconds(int8_t log2_seconds) {
        int e = log2_seconds;
        if (e < -32)
                e = -32;
        if (e > 32)
                e = 32;
        return ldexp(1.0, e);
}
