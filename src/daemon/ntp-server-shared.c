/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash-mix.h"
#include "ntp-server-shared.h"

/* ---- the state snapshot: a seqlock ---- */

struct snapshot_payload {
        struct server_state state;
        int64_t published_mono;
};

_Static_assert(sizeof(struct snapshot_payload) <= sizeof(((struct ntp_server_snapshot *) 0)->words),
               "the snapshot's words hold the payload");

void ntp_server_snapshot_publish(struct ntp_server_snapshot *s, const struct server_state *state, int64_t published_mono) {
        uint64_t words[sizeof(s->words) / sizeof(s->words[0])] = {};
        struct snapshot_payload p = { .state = *state, .published_mono = published_mono };
        memcpy(words, &p, sizeof(p));

        unsigned seq = __atomic_load_n(&s->sequence, __ATOMIC_RELAXED);
        __atomic_store_n(&s->sequence, seq + 1, __ATOMIC_RELAXED);
        /* Release stores, not a fence (which ThreadSanitizer does not model): a reader that sees
         * a word of the new state sees the odd sequence too. Plain moves on x86. */
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
                __atomic_store_n(&s->words[i], words[i], __ATOMIC_RELEASE);
        __atomic_store_n(&s->sequence, seq + 2, __ATOMIC_RELEASE);
}

void ntp_server_snapshot_read(const struct ntp_server_snapshot *s, struct server_state *ret, int64_t *ret_published_mono) {
        uint64_t words[sizeof(s->words) / sizeof(s->words[0])];
        unsigned before, after;
        do {
                before = __atomic_load_n(&s->sequence, __ATOMIC_ACQUIRE);
                /* Acquire loads: the second look at the sequence comes after them. */
                for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
                        words[i] = __atomic_load_n(&s->words[i], __ATOMIC_ACQUIRE);
                after = __atomic_load_n(&s->sequence, __ATOMIC_RELAXED);
        } while ((before & 1) || before != after);
        struct snapshot_payload p;
        memcpy(&p, words, sizeof(p));
        *ret = p.state;
        *ret_published_mono = p.published_mono;
}

/* ---- the rate limiter in shards ---- */

struct limiter_shard {
        pthread_mutex_t lock;
        ratelimit *table;
} __attribute__((aligned(64))); /* one cache line each: workers on different shards do not collide */

struct ntp_server_limiter {
        uint64_t key;
        struct limiter_shard shards[NTP_SERVER_LIMITER_SHARDS];
};

ntp_server_limiter *ntp_server_limiter_new(const struct ratelimit_config *c, uint64_t seed) {
        ntp_server_limiter *l = aligned_alloc(64, sizeof(*l));
        if (!l)
                return NULL;
        memset(l, 0, sizeof(*l));
        struct ratelimit_config shard_config = *c;
        shard_config.capacity = c->capacity / NTP_SERVER_LIMITER_SHARDS;
        /* The kisses' global budget is cut in shares too: all shards together keep to it. */
        unsigned kods = c->kods_per_second ? c->kods_per_second : RATELIMIT_KOD_PER_SECOND;
        shard_config.kods_per_second = kods / NTP_SERVER_LIMITER_SHARDS > 0 ? kods / NTP_SERVER_LIMITER_SHARDS : 1;
        /* A key for picking the shard unlike the tables' own: a shard's buckets stay spread. */
        l->key = seed * UINT64_C(0x9e3779b97f4a7c15) + 1;
        for (size_t i = 0; i < NTP_SERVER_LIMITER_SHARDS; i++) {
                pthread_mutex_init(&l->shards[i].lock, NULL);
                l->shards[i].table = ratelimit_new(&shard_config, seed + i + 1);
                if (!l->shards[i].table)
                        return ntp_server_limiter_free(l);
        }
        return l;
}

ntp_server_limiter *ntp_server_limiter_free(ntp_server_limiter *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < NTP_SERVER_LIMITER_SHARDS; i++) {
                ratelimit_free(l->shards[i].table);
                pthread_mutex_destroy(&l->shards[i].lock);
        }
        free(l);
        return NULL;
}

size_t ntp_server_limiter_shard(const ntp_server_limiter *l, const struct server_client *client) {
        uint64_t h = l->key;
        for (size_t i = 0; i < sizeof(client->address); i += 8) {
                uint64_t word;
                memcpy(&word, client->address + i, 8);
                h = hash_mix64(h ^ word);
        }
        return (size_t) (h % NTP_SERVER_LIMITER_SHARDS);
}

ratelimit *ntp_server_limiter_lock(ntp_server_limiter *l, size_t shard) {
        pthread_mutex_lock(&l->shards[shard].lock);
        return l->shards[shard].table;
}

void ntp_server_limiter_unlock(ntp_server_limiter *l, size_t shard) {
        pthread_mutex_unlock(&l->shards[shard].lock);
}
