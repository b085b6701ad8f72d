/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for what the serving threads share (src/daemon/ntp-server-shared.c): the seqlock
 * gives readers a whole state, never a mix of two, while a writer publishes on another thread;
 * the sharded rate limiter keeps one client to one table whatever thread asks, so that two
 * threads together let through no more than one would. Run under ThreadSanitizer too. */

#include <pthread.h>
#include <string.h>
#include <sys/socket.h>

#include "ntp-server-shared.h"
#include "unit-test.h"

#define PUBLICATIONS 20000

static struct ntp_server_snapshot snapshot;

/* Every field derived from one number: a torn read shows as fields that disagree. */
static struct server_state state_numbered(unsigned n) {
        return (struct server_state) {
                .synchronized = n % 2,
                .stratum = (uint8_t) (n % 16),
                .root_delay = n * 1e-6,
                .root_dispersion = n * 2e-6,
                .refid = n,
                .reference_ts = (ntp_ts) n << 32,
        };
}

static void *publisher(void *userdata) {
        for (unsigned n = 1; n <= PUBLICATIONS; n++) {
                struct server_state s = state_numbered(n);
                ntp_server_snapshot_publish(&snapshot, &s, n);
        }
        return NULL;
}

static void test_snapshot_never_torn(void **state) {
        pthread_t t;
        unsigned seen = 0, last = 0;
        struct server_state first = state_numbered(0);
        ntp_server_snapshot_publish(&snapshot, &first, 0);
        assert_int_equal(pthread_create(&t, NULL, publisher, NULL), 0);
        while (last < PUBLICATIONS) {
                struct server_state got;
                int64_t published;
                ntp_server_snapshot_read(&snapshot, &got, &published);
                struct server_state want = state_numbered(got.refid);
                assert_int_equal(published, got.refid);
                assert_memory_equal(&got, &want, sizeof(got));
                assert_true(got.refid >= last); /* never back in time */
                last = got.refid;
                seen++;
        }
        pthread_join(t, NULL);
        assert_true(seen > 0);
}

struct hammer {
        ntp_server_limiter *limiter;
        struct server_client client;
        unsigned allowed;
};

static void *ask_often(void *userdata) {
        struct hammer *h = userdata;
        for (int i = 0; i < 1000; i++) {
                size_t shard = ntp_server_limiter_shard(h->limiter, &h->client);
                ratelimit *table = ntp_server_limiter_lock(h->limiter, shard);
                h->allowed += ratelimit_check(table, h->client.address, 4, NS_PER_SEC);
                ntp_server_limiter_unlock(h->limiter, shard);
        }
        return NULL;
}

static unsigned allowed_with_threads(size_t n_threads) {
        struct ratelimit_config c = { .minimum = 2, .average = 8, .capacity = 16384 };
        ntp_server_limiter *l = ntp_server_limiter_new(&c, 42);
        struct hammer h[2];
        pthread_t t[2];
        unsigned sum = 0;
        assert_non_null(l);
        for (size_t i = 0; i < n_threads; i++) {
                /* One client, another source port per thread: chronyd's socket per request. */
                h[i] = (struct hammer) { .limiter = l, .client = { .family = AF_INET, .address = { 192, 0, 2, 7 },
                                                                   .port = (uint16_t) (40000 + i) } };
                assert_int_equal(pthread_create(&t[i], NULL, ask_often, &h[i]), 0);
        }
        for (size_t i = 0; i < n_threads; i++) {
                pthread_join(t[i], NULL);
                sum += h[i].allowed;
        }
        ntp_server_limiter_free(l);
        return sum;
}

static void test_limiter_shared_across_threads(void **state) {
        unsigned one = allowed_with_threads(1), two = allowed_with_threads(2);
        assert_true(one > 0 && one < 1000);
        assert_int_equal(two, one); /* per-thread tables would give twice as much */
}

/* Evenly, for IPv4 and for IPv4 mapped into IPv6 (a dual-stack socket's clients) alike: a shard
 * that took more than its share would evict while the others are half empty. */
static void assert_spread(bool mapped) {
        struct ratelimit_config c = { .minimum = 2, .average = 8, .capacity = 16384 };
        ntp_server_limiter *l = ntp_server_limiter_new(&c, 7);
        size_t count[NTP_SERVER_LIMITER_SHARDS] = {};
        for (unsigned i = 0; i < 4096; i++) {
                struct server_client client = { .family = mapped ? AF_INET6 : AF_INET };
                uint8_t *a = client.address + (mapped ? 12 : 0);
                if (mapped)
                        client.address[10] = client.address[11] = 0xff;
                memcpy(a, (uint8_t[]) { 198, 18, (uint8_t) (i >> 8), (uint8_t) i }, 4);
                size_t shard = ntp_server_limiter_shard(l, &client);
                assert_true(shard < NTP_SERVER_LIMITER_SHARDS);
                client.port = 123; /* the port is no part of the choice */
                assert_int_equal(ntp_server_limiter_shard(l, &client), shard);
                count[shard]++;
        }
        for (size_t i = 0; i < NTP_SERVER_LIMITER_SHARDS; i++)
                assert_in_range(count[i], 4096 / NTP_SERVER_LIMITER_SHARDS * 3 / 4, 4096 / NTP_SERVER_LIMITER_SHARDS * 5 / 4);
        ntp_server_limiter_free(l);
}

static void test_limiter_spreads_clients(void **state) {
        assert_spread(false);
        assert_spread(true);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_snapshot_never_torn),
                cmocka_unit_test(test_limiter_shared_across_threads),
                cmocka_unit_test(test_limiter_spreads_clients),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
