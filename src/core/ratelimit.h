/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Per-client rate limiting as ntpd's `restrict ... limited` with `discard minimum M average A`:
 * a client is limited while its packets come less than M s apart, or once it keeps up more than
 * one packet per A s beyond a burst of a few (a leaky bucket, as ntpd's). A limited client with
 * `kod` gets RATE kisses, themselves at most one per M s for that client and a global budget.
 *
 * The table has a fixed size chosen at creation: a flood from many (spoofed) addresses evicts the
 * oldest entries and never grows memory. Hashing is keyed with a random seed so that an attacker
 * cannot aim at one bucket. No allocation after ratelimit_new(). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_DEFAULT_MINIMUM 2.0
#define RATELIMIT_DEFAULT_AVERAGE 8.0
#define RATELIMIT_DEFAULT_CAPACITY 16384
#define RATELIMIT_KOD_PER_SECOND 100

struct ratelimit_config {
        double minimum, average;     /* s */
        size_t capacity;             /* entries, rounded up to a power of two */
        unsigned kods_per_second;    /* the global budget; 0: RATELIMIT_KOD_PER_SECOND */
};

typedef struct ratelimit ratelimit;

ratelimit *ratelimit_new(const struct ratelimit_config *c, uint64_t seed);
ratelimit *ratelimit_free(ratelimit *r);

/* Accounts a packet from address (4 or 16 bytes) at now_mono; false when it is over the limit. */
bool ratelimit_check(ratelimit *r, const uint8_t *address, size_t len, int64_t now_mono);

/* Whether a kiss-o'-death may go to that client now: one per `minimum` s per client, and at
 * most RATELIMIT_KOD_PER_SECOND in all. Counts it when it may. */
bool ratelimit_kod_allowed(ratelimit *r, const uint8_t *address, size_t len, int64_t now_mono);

size_t ratelimit_entries(const ratelimit *r);
size_t ratelimit_capacity(const ratelimit *r);
