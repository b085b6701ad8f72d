/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* splitmix64's finalizer: every bit of the input moves every bit of the output. For keyed
 * hashes of addresses (the rate limiter's buckets, the serving threads' shards of it). */
static inline uint64_t hash_mix64(uint64_t x) {
        x ^= x >> 30;
        x *= UINT64_C(0xbf58476d1ce4e5b9);
        x ^= x >> 27;
        x *= UINT64_C(0x94d049bb133111eb);
        return x ^ (x >> 31);
}
