/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* NTP time formats and their conversion to and from nanoseconds since the Unix epoch.
 *
 * Wire timestamps are 64-bit fixed point (32.32) and wrap every 2^32 s (the first wrap is
 * 2036-02-07). Differences between two timestamps are taken modulo 2^64 and read as signed, which
 * is correct across an era boundary as long as the two are less than 68 years apart. Absolute
 * conversion picks the era that puts the timestamp nearest to a pivot (normally the local clock). */

#include <stdbool.h>
#include <stdint.h>

#define NS_PER_SEC INT64_C(1000000000)
#define NTP_UNIX_EPOCH_DELTA INT64_C(2208988800) /* 1900-01-01 to 1970-01-01, in seconds */

typedef uint64_t ntp_ts;      /* 32.32 fixed point seconds since an NTP era start */
typedef uint32_t ntp_short;   /* 16.16 fixed point seconds (root delay, root dispersion) */

/* Nanoseconds since the Unix epoch → wire timestamp (era folded away). */
ntp_ts ntp_ts_from_unix_ns(int64_t unix_ns);

/* Wire timestamp → nanoseconds since the Unix epoch, in the era nearest to pivot_unix_ns. */
int64_t ntp_ts_to_unix_ns(ntp_ts ts, int64_t pivot_unix_ns);

/* a - b in seconds, across era boundaries. */
double ntp_ts_diff(ntp_ts a, ntp_ts b);

/* Seconds → 32.32 signed offset and back (used to add an offset to a timestamp). */
int64_t ntp_ts_offset_from_seconds(double seconds);

double ntp_short_to_seconds(ntp_short s);
/* Negative and NaN give 0, anything too large saturates. */
ntp_short ntp_short_from_seconds(double seconds);

/* log2 seconds → seconds, clamped to a sane range (poll, precision fields are untrusted). */
double ntp_log2_to_seconds(int8_t log2_seconds);

static inline double ns_to_seconds(int64_t ns) {
        return (double) ns / 1e9;
}

static inline int64_t seconds_to_ns(double seconds) {
        return (int64_t) (seconds * 1e9);
}
