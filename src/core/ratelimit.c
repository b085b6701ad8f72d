/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "hash-mix.h"
#include "ntp-time.h"
#include "ratelimit.h"

#define PROBES 8                     /* slots looked at per address; the oldest of them is evicted */
#define BURST 8                      /* packets at the minimum spacing a client may send at once */

struct entry {
        uint8_t address[16];
        uint8_t len;                 /* 0: free */
        int64_t last_mono;
        int64_t last_kod_mono;
        double debt;                 /* s: a leaky bucket, `average` added per packet, drained by time */
};

struct ratelimit {
        struct ratelimit_config config;
        uint64_t key[2];
        size_t mask;
        size_t used;
        int64_t kod_window_mono;
        unsigned kods_in_window;
        struct entry entries[];
};

static size_t round_up_power_of_two(size_t n) {
        size_t p = 64;
        while (p < n && p < ((size_t) 1 << 24))
                p <<= 1;
        return p;
}

ratelimit *ratelimit_new(const struct ratelimit_config *c, uint64_t seed) {
        size_t n = round_up_power_of_two(c->capacity ? c->capacity : RATELIMIT_DEFAULT_CAPACITY);
        ratelimit *r = calloc(1, sizeof(*r) + n * sizeof(struct entry));
        if (!r)
                return NULL;
        r->config = *c;
        r->mask = n - 1;
        r->key[0] = seed ^ UINT64_C(0x9e3779b97f4a7c15);
        r->key[1] = (seed << 1) ^ UINT64_C(0xbf58476d1ce4e5b9);
        return r;
}

ratelimit *ratelimit_free(ratelimit *r) {
        free(r);
        return NULL;
}

/* A keyed hash: without the seed, nobody can choose addresses that share a bucket. */
static uint64_t hash_address(const ratelimit *r, const uint8_t *address, size_t len) {
        uint64_t h = r->key[0];
        for (size_t i = 0; i < len; i += 8) {
                uint64_t word = 0;
                memcpy(&word, address + i, len - i < 8 ? len - i : 8);
                h = hash_mix64(h ^ word ^ r->key[1]);
        }
        return hash_mix64(h + len);
}

/* The address's entry; a newcomer claims a free slot among its probes, or evicts the one heard
 * from longest ago. */
static struct entry *lookup(ratelimit *r, const uint8_t *address, size_t len) {
        size_t start = (size_t) hash_address(r, address, len);
        struct entry *oldest = NULL;

        for (size_t i = 0; i < PROBES; i++) {
                struct entry *e = &r->entries[(start + i) & r->mask];
                if (e->len == len && memcmp(e->address, address, len) == 0)
                        return e;
                if (e->len == 0) {
                        oldest = e;
                        break;
                }
                if (!oldest || e->last_mono < oldest->last_mono)
                        oldest = e;
        }
        if (oldest->len == 0)
                r->used++;
        *oldest = (struct entry) {
                .len = (uint8_t) len,
                .last_mono = INT64_MIN / 2,
                .last_kod_mono = INT64_MIN / 2,
        };
        memcpy(oldest->address, address, len);
        return oldest;
}

static bool kod_budget_allows(ratelimit *r, int64_t now_mono) {
        if (now_mono - r->kod_window_mono >= NS_PER_SEC) {
                r->kod_window_mono = now_mono;
                r->kods_in_window = 0;
        }
        unsigned budget = r->config.kods_per_second ? r->config.kods_per_second : RATELIMIT_KOD_PER_SECOND;
        if (r->kods_in_window >= budget)
                return false;
        r->kods_in_window++;
        return true;
}

bool ratelimit_check(ratelimit *r, const uint8_t *address, size_t len, int64_t now_mono) {
        if (len != 4 && len != 16)
                return false;
        struct entry *e = lookup(r, address, len);
        /* The bucket drains one second per second and fills `average` seconds per packet: a
         * client may send a burst (iburst) but not keep up more than one packet per `average`. */
        double interval = ns_to_seconds(now_mono - e->last_mono);
        e->last_mono = now_mono;
        e->debt = (e->debt > interval ? e->debt - interval : 0) + r->config.average;
        return interval >= r->config.minimum && e->debt <= r->config.average * BURST;
}

bool ratelimit_kod_allowed(ratelimit *r, const uint8_t *address, size_t len, int64_t now_mono) {
        if (len != 4 && len != 16)
                return false;
        struct entry *e = lookup(r, address, len);
        if (ns_to_seconds(now_mono - e->last_kod_mono) < r->config.minimum || !kod_budget_allows(r, now_mono))
                return false;
        e->last_kod_mono = now_mono;
        return true;
}

size_t ratelimit_entries(const ratelimit *r) {
        return r->used;
}

size_t ratelimit_capacity(const ratelimit *r) {
        return r->mask + 1;
}
