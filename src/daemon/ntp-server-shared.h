/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the serving threads share with the main loop, and how each part is read safely:
 *
 * - the state that goes into replies: a seqlock the main loop publishes into (after every
 *   engine run; readers add the dispersion grown since) and workers read once per batch, without a lock and without ever blocking the
 *   writer. A seqlock, not a swapped pointer: the state is a few dozen bytes, copied whole, and
 *   nothing needs reclaiming. Its words are relaxed atomics, so that the sanitizers see no race.
 * - the rate limiter: one table cut in shards, each behind its own mutex and picked by a keyed
 *   hash of the client's address. Shared, not per worker: the kernel spreads requests over the
 *   workers by the 4-tuple and a client that opens a socket per request (chronyd) lands on any
 *   of them, so per-worker tables would multiply its allowed rate by the number of workers.
 * - counters: each worker's own, written by its thread alone and read by the main loop with
 *   relaxed atomic loads (plain moves on x86, no locked instruction per packet). */

#include <pthread.h>
#include <stdint.h>

#include "core/ratelimit.h"
#include "core/server.h"

#define NTP_SERVER_LIMITER_SHARDS 16

struct ntp_server_snapshot {
        unsigned sequence;           /* odd while being written */
        uint64_t words[(sizeof(struct server_state) + sizeof(int64_t) + 7) / 8];
};

/* Main loop only. published_mono: when the state was taken, so that readers can age it. */
void ntp_server_snapshot_publish(struct ntp_server_snapshot *s, const struct server_state *state, int64_t published_mono);
/* Any thread; ret_published_mono: 0 before the first publication. */
void ntp_server_snapshot_read(const struct ntp_server_snapshot *s, struct server_state *ret, int64_t *ret_published_mono);

typedef struct ntp_server_limiter ntp_server_limiter;

ntp_server_limiter *ntp_server_limiter_new(const struct ratelimit_config *c, uint64_t seed);
ntp_server_limiter *ntp_server_limiter_free(ntp_server_limiter *l);
/* The shard the client's address belongs to; its table, locked until ntp_server_limiter_unlock(). */
size_t ntp_server_limiter_shard(const ntp_server_limiter *l, const struct server_client *client);
ratelimit *ntp_server_limiter_lock(ntp_server_limiter *l, size_t shard);
void ntp_server_limiter_unlock(ntp_server_limiter *l, size_t shard);

static inline void counter_add(uint64_t *counter, uint64_t n) {
        /* One writer: a relaxed load and store, no read-modify-write. */
        __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static inline uint64_t counter_read(const uint64_t *counter) {
        return __atomic_load_n(counter, __ATOMIC_RELAXED);
}
