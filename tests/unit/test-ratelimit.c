/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for ratelimit: a newcomer passes, the minimum spacing, the leaky bucket's burst
 * allowance and its recovery, a flood from a million spoofed addresses that must neither grow the
 * table nor lock out a legitimate client, the kiss-o'-death budget per client and in all, and the
 * address lengths (4 and 16 bytes distinct, anything else refused). */

#include <string.h>

#include "core/ntp-time.h"
#include "core/ratelimit.h"
#include "unit-test.h"

#define SEC(s) ((int64_t) ((s) * (double) NS_PER_SEC))
#define SEED UINT64_C(0x5eed5eed12345678)

/* ratelimit.c keeps a client's debt (`average` s per packet, drained 1 s per s) at or below
 * BURST * average; BURST is 8 there. At the minimum spacing M the debt after k packets is
 * A + (k - 1) (A - M), so k <= 1 + (BURST - 1) A / (A - M) = 1 + 7 * 8 / 6 = 10.33: ten packets
 * 2 s apart pass, the eleventh is limited. */
#define RATELIMIT_BURST 8
#define BURST_AT_MINIMUM 10

static const uint8_t client_a[4] = { 192, 0, 2, 1 };
static const uint8_t client_b[4] = { 192, 0, 2, 2 };

static ratelimit *new_limiter(size_t capacity) {
        struct ratelimit_config c = {
                .minimum = RATELIMIT_DEFAULT_MINIMUM,
                .average = RATELIMIT_DEFAULT_AVERAGE,
                .capacity = capacity,
        };
        ratelimit *r = ratelimit_new(&c, SEED);
        assert_non_null(r);
        return r;
}

/* Packets from one client, `spacing` s apart from `start` on: how many of the first n pass, and
 * whether they are exactly the first ones. */
static unsigned passes_at_spacing(ratelimit *r, const uint8_t *address, size_t len, int64_t start, double spacing,
                                  unsigned n, int64_t *ret_end) {
        unsigned passed = 0;
        bool refused_seen = false;
        for (unsigned i = 0; i < n; i++) {
                bool ok = ratelimit_check(r, address, len, start + SEC(spacing * i));
                if (ok) {
                        /* Once limited at a steady rate, a client stays limited. */
                        assert_false(refused_seen);
                        passed++;
                } else
                        refused_seen = true;
        }
        if (ret_end)
                *ret_end = start + SEC(spacing * (n - 1));
        return passed;
}

static void test_capacity(void **state) {
        static const struct {
                size_t asked, expected;
        } cases[] = {
                { 0, RATELIMIT_DEFAULT_CAPACITY },
                { 1, 64 },
                { 64, 64 },
                { 65, 128 },
                { 1000, 1024 },
                { RATELIMIT_DEFAULT_CAPACITY, RATELIMIT_DEFAULT_CAPACITY },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ratelimit *r = new_limiter(cases[i].asked);
                assert_int_equal(ratelimit_capacity(r), cases[i].expected);
                assert_int_equal(ratelimit_entries(r), 0);
                assert_null(ratelimit_free(r));
        }
        assert_null(ratelimit_free(NULL));
}

static void test_newcomer_passes(void **state) {
        /* At any time, the very first as well as after days of uptime. */
        static const int64_t times[] = { 0, 1, SEC(1), SEC(86400 * 400) };
        for (size_t i = 0; i < ELEMENTSOF(times); i++) {
                ratelimit *r = new_limiter(0);
                assert_true(ratelimit_check(r, client_a, sizeof(client_a), times[i]));
                assert_int_equal(ratelimit_entries(r), 1);
                /* Another newcomer at the very same instant passes too: limits are per client. */
                assert_true(ratelimit_check(r, client_b, sizeof(client_b), times[i]));
                assert_int_equal(ratelimit_entries(r), 2);
                ratelimit_free(r);
        }
}

static void test_minimum_spacing(void **state) {
        ratelimit *r = new_limiter(0);
        int64_t t = SEC(100);
        assert_true(ratelimit_check(r, client_a, 4, t));
        /* Closer than `minimum`: limited, whatever the bucket says. */
        assert_false(ratelimit_check(r, client_a, 4, t + SEC(1.999)));
        assert_false(ratelimit_check(r, client_a, 4, t + SEC(1.999) + 1));
        /* At the same instant again. */
        assert_false(ratelimit_check(r, client_a, 4, t + SEC(1.999) + 1));
        /* `minimum` after the last one (counted whether it passed or not): fine again. */
        assert_true(ratelimit_check(r, client_a, 4, t + SEC(1.999) + 1 + SEC(RATELIMIT_DEFAULT_MINIMUM)));
        /* The other client never noticed. */
        assert_true(ratelimit_check(r, client_b, 4, t + SEC(1.999)));
        ratelimit_free(r);
}

static void test_burst_allowance(void **state) {
        /* Derived from the constants (see BURST_AT_MINIMUM): if these change, so does the burst. */
        double a = RATELIMIT_DEFAULT_AVERAGE, m = RATELIMIT_DEFAULT_MINIMUM;
        assert_int_equal((unsigned) (1 + (RATELIMIT_BURST - 1) * a / (a - m)), BURST_AT_MINIMUM);

        ratelimit *r = new_limiter(0);
        assert_int_equal(passes_at_spacing(r, client_a, 4, SEC(10), m, 30, NULL), BURST_AT_MINIMUM);
        ratelimit_free(r);

        /* ntpd's iburst (8 packets 2 s apart) and systemd-timesyncd's or chrony's shorter ones fit. */
        r = new_limiter(0);
        assert_true(passes_at_spacing(r, client_a, 4, SEC(10), 2.0, 8, NULL) == 8);
        ratelimit_free(r);

        /* At 4 s: debt 8 + 4 (k - 1) <= 64, so 15 pass. */
        r = new_limiter(0);
        assert_int_equal(passes_at_spacing(r, client_a, 4, SEC(10), 4.0, 40, NULL), 15);
        ratelimit_free(r);

        /* At exactly `average`, or slower, a client passes forever. */
        r = new_limiter(0);
        assert_int_equal(passes_at_spacing(r, client_a, 4, SEC(10), a, 1000, NULL), 1000);
        assert_int_equal(passes_at_spacing(r, client_b, 4, SEC(10), 64.0, 1000, NULL), 1000);
        ratelimit_free(r);

        /* A sustained packet per second never gets through after the first. */
        r = new_limiter(0);
        assert_int_equal(passes_at_spacing(r, client_a, 4, SEC(10), 1.0, 600, NULL), 1);
        ratelimit_free(r);
}

static void test_recovery_after_quiet_period(void **state) {
        ratelimit *r = new_limiter(0);
        int64_t end;

        /* 20 packets 2 s apart: 10 passed, the debt is now 8 + 19 * 6 = 122 s. */
        assert_int_equal(passes_at_spacing(r, client_a, 4, SEC(10), 2.0, 20, &end), BURST_AT_MINIMUM);
        /* A pause that leaves more than the burst of debt: still limited (and this one adds 8). */
        assert_false(ratelimit_check(r, client_a, 4, end + SEC(30)));
        end += SEC(30);
        /* Quiet for longer than all of the debt: a fresh client again, with its whole burst. */
        assert_int_equal(passes_at_spacing(r, client_a, 4, end + SEC(200), 2.0, 30, NULL), BURST_AT_MINIMUM);
        ratelimit_free(r);

        /* The boundary: debt 122, a pause of 66 s leaves 56 + 8 = 64 = the allowance; 65 s does not. */
        r = new_limiter(0);
        assert_int_equal(passes_at_spacing(r, client_a, 4, SEC(10), 2.0, 20, &end), BURST_AT_MINIMUM);
        assert_true(ratelimit_check(r, client_a, 4, end + SEC(66)));
        ratelimit_free(r);
        r = new_limiter(0);
        assert_int_equal(passes_at_spacing(r, client_a, 4, SEC(10), 2.0, 20, &end), BURST_AT_MINIMUM);
        assert_false(ratelimit_check(r, client_a, 4, end + SEC(65)));
        ratelimit_free(r);
}

static void flood_address(uint32_t i, uint8_t out[16], size_t *ret_len) {
        /* Half IPv4 (10.0.0.0/8 and up), half IPv6 (2001:db8::/32), all distinct. */
        memset(out, 0, 16);
        if (i % 2 == 0) {
                uint32_t v = 0x0a000000u + i / 2;
                out[0] = (uint8_t) (v >> 24);
                out[1] = (uint8_t) (v >> 16);
                out[2] = (uint8_t) (v >> 8);
                out[3] = (uint8_t) v;
                *ret_len = 4;
        } else {
                out[0] = 0x20;
                out[1] = 0x01;
                out[2] = 0x0d;
                out[3] = 0xb8;
                memcpy(out + 12, &i, sizeof(i));
                *ret_len = 16;
        }
}

static void test_flood_from_many_addresses(void **state) {
        const uint32_t n_flood = 1000000;
        const int64_t legit_spacing = SEC(64);
        /* The flood lasts 40 legitimate polls. */
        const int64_t flood_step = 40 * legit_spacing / n_flood;
        ratelimit *r = new_limiter(RATELIMIT_DEFAULT_CAPACITY);
        size_t capacity = ratelimit_capacity(r);
        int64_t now = SEC(1000), next_legit = now;
        unsigned legit_polls = 0;

        assert_int_equal(capacity, RATELIMIT_DEFAULT_CAPACITY);
        for (uint32_t i = 0; i < n_flood; i++, now += flood_step) {
                uint8_t address[16];
                size_t len;
                if (now >= next_legit) {
                        /* Kept or evicted and back as a newcomer: it passes either way. */
                        if (!ratelimit_check(r, client_a, 4, now)) {
                                print_error("legitimate client limited at poll %u (flood packet %u)\n",
                                            legit_polls, i);
                                fail();
                        }
                        legit_polls++;
                        next_legit = now + legit_spacing;
                }
                flood_address(i, address, &len);
                /* Each spoofed address sends once: a newcomer, and it passes. */
                assert_true(ratelimit_check(r, address, len, now));
                if (ratelimit_entries(r) > capacity) {
                        print_error("%zu entries > capacity %zu after %u flood packets\n", ratelimit_entries(r),
                                    capacity, i + 1);
                        fail();
                }
        }
        assert_true(legit_polls >= 39);
        /* The table did fill: the bound was reached, not merely never approached. */
        assert_true(ratelimit_entries(r) > capacity / 2);
        assert_true(ratelimit_entries(r) <= capacity);
        ratelimit_free(r);
}

static void test_flood_small_table(void **state) {
        /* The smallest table, and every flooding address limited and sending again and again. */
        ratelimit *r = new_limiter(1);
        size_t capacity = ratelimit_capacity(r);
        int64_t now = 0;
        for (uint32_t round = 0; round < 50; round++)
                for (uint32_t i = 0; i < 1000; i++, now += 1000) {
                        uint8_t address[16];
                        size_t len;
                        flood_address(i, address, &len);
                        (void) ratelimit_check(r, address, len, now);
                        (void) ratelimit_kod_allowed(r, address, len, now);
                        assert_true(ratelimit_entries(r) <= capacity);
                }
        assert_int_equal(ratelimit_entries(r), capacity);
        ratelimit_free(r);
}

static void test_kod_per_client(void **state) {
        ratelimit *r = new_limiter(0);
        int64_t t = SEC(50);
        assert_true(ratelimit_kod_allowed(r, client_a, 4, t));
        /* One per `minimum` s for that client. */
        assert_false(ratelimit_kod_allowed(r, client_a, 4, t + SEC(0.5)));
        assert_false(ratelimit_kod_allowed(r, client_a, 4, t + SEC(1.999)));
        assert_true(ratelimit_kod_allowed(r, client_b, 4, t + SEC(1.999)));
        assert_true(ratelimit_kod_allowed(r, client_a, 4, t + SEC(RATELIMIT_DEFAULT_MINIMUM)));
        assert_false(ratelimit_kod_allowed(r, client_a, 4, t + SEC(RATELIMIT_DEFAULT_MINIMUM) + 1));
        /* Asking about kisses does not count as packets: the client's own limit is untouched. */
        assert_true(ratelimit_check(r, client_a, 4, t + SEC(3)));
        ratelimit_free(r);
}

/* A budget of its own (the serving threads' shards share one out): kept to, one second at a time. */
static void test_kod_budget_configured(void **state) {
        struct ratelimit_config c = { .minimum = RATELIMIT_DEFAULT_MINIMUM, .average = RATELIMIT_DEFAULT_AVERAGE,
                                      .capacity = 1024, .kods_per_second = 6 };
        ratelimit *r = ratelimit_new(&c, 5);
        unsigned allowed = 0;
        for (uint32_t i = 0; i < 50; i++) {
                uint8_t address[16];
                size_t len;
                flood_address(i, address, &len);
                allowed += ratelimit_kod_allowed(r, address, len, SEC(10) + (int64_t) i * 1000000);
        }
        assert_int_equal(allowed, 6);
        ratelimit_free(r);
}

static void test_kod_budget_per_second(void **state) {
        enum { N = 3 * RATELIMIT_KOD_PER_SECOND };
        ratelimit *r = new_limiter(0);
        int64_t t = SEC(77);
        bool first[N];
        unsigned allowed = 0;

        /* 3x the budget, all distinct clients, within one second: the first 100 get theirs. */
        assert_true((int64_t) N * 1000000 < NS_PER_SEC);
        for (uint32_t i = 0; i < N; i++) {
                uint8_t address[16];
                size_t len;
                flood_address(i, address, &len);
                first[i] = ratelimit_kod_allowed(r, address, len, t + (int64_t) i * 1000000);
                if (first[i]) {
                        assert_true(i < RATELIMIT_KOD_PER_SECOND);
                        allowed++;
                }
        }
        assert_int_equal(allowed, RATELIMIT_KOD_PER_SECOND);

        /* 1.5 s later, a new second: the clients that had one are within their own `minimum` and
         * refused without using the budget up; those the budget refused were not marked, and the
         * next 100 of them get theirs. */
        allowed = 0;
        for (uint32_t i = 0; i < N; i++) {
                uint8_t address[16];
                size_t len;
                flood_address(i, address, &len);
                bool ok = ratelimit_kod_allowed(r, address, len, t + SEC(1.5));
                if (first[i])
                        assert_false(ok);
                if (ok) {
                        assert_true(i >= RATELIMIT_KOD_PER_SECOND && i < 2 * RATELIMIT_KOD_PER_SECOND);
                        allowed++;
                }
        }
        assert_int_equal(allowed, RATELIMIT_KOD_PER_SECOND);

        /* Within that second, nobody else. */
        assert_false(ratelimit_kod_allowed(r, client_a, 4, t + SEC(2.4)));
        /* The next second: again. */
        assert_true(ratelimit_kod_allowed(r, client_a, 4, t + SEC(2.6)));
        ratelimit_free(r);
}

static void test_address_lengths(void **state) {
        ratelimit *r = new_limiter(0);
        uint8_t v6[16] = { 192, 0, 2, 1 }; /* the same first bytes as client_a */
        int64_t t = SEC(10);

        /* client_a flooded into the limit; the 16-byte address with the same leading bytes is
         * another client. */
        assert_int_equal(passes_at_spacing(r, client_a, 4, t, 0.5, 10, NULL), 1);
        assert_true(ratelimit_check(r, v6, sizeof(v6), t + SEC(4.5)));
        assert_int_equal(ratelimit_entries(r), 2);
        assert_false(ratelimit_check(r, v6, sizeof(v6), t + SEC(4.6)));
        /* And the other way round: the kisses too. */
        assert_true(ratelimit_kod_allowed(r, client_a, 4, t + SEC(5)));
        assert_true(ratelimit_kod_allowed(r, v6, 16, t + SEC(5)));
        assert_int_equal(ratelimit_entries(r), 2);
        ratelimit_free(r);
}

static void test_bad_lengths_refused(void **state) {
        static const size_t lengths[] = { 0, 1, 3, 5, 8, 12, 15, 17, 32 };
        uint8_t address[32] = { 192, 0, 2, 1 };
        ratelimit *r = new_limiter(0);
        for (size_t i = 0; i < ELEMENTSOF(lengths); i++) {
                assert_false(ratelimit_check(r, address, lengths[i], SEC(10)));
                assert_false(ratelimit_kod_allowed(r, address, lengths[i], SEC(10)));
        }
        assert_int_equal(ratelimit_entries(r), 0);
        /* Nothing was used up by them. */
        for (unsigned i = 0; i < RATELIMIT_KOD_PER_SECOND; i++) {
                uint8_t a[4] = { 10, 1, (uint8_t) (i >> 8), (uint8_t) i };
                assert_true(ratelimit_kod_allowed(r, a, 4, SEC(10)));
        }
        ratelimit_free(r);
}

static void test_seed_does_not_change_behaviour(void **state) {
        struct ratelimit_config c = { .minimum = 2, .average = 8, .capacity = 64 };
        for (uint64_t seed = 0; seed < 16; seed++) {
                ratelimit *r = ratelimit_new(&c, seed * UINT64_C(0x9e3779b97f4a7c15));
                assert_non_null(r);
                assert_int_equal(passes_at_spacing(r, client_a, 4, SEC(1), 2.0, 20, NULL), BURST_AT_MINIMUM);
                /* 64 clients in a table of 64: each kept (or evicted and new), all pass at `average`. */
                for (unsigned round = 0; round < 4; round++)
                        for (unsigned i = 0; i < 64; i++) {
                                uint8_t a[4] = { 10, 0, 0, (uint8_t) i };
                                assert_true(ratelimit_check(r, a, 4, SEC(100 + 8 * round) + i));
                        }
                assert_true(ratelimit_entries(r) <= 64);
                ratelimit_free(r);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_capacity),
                cmocka_unit_test(test_newcomer_passes),
                cmocka_unit_test(test_minimum_spacing),
                cmocka_unit_test(test_burst_allowance),
                cmocka_unit_test(test_recovery_after_quiet_period),
                cmocka_unit_test(test_flood_from_many_addresses),
                cmocka_unit_test(test_flood_small_table),
                cmocka_unit_test(test_kod_per_client),
                cmocka_unit_test(test_kod_budget_per_second),
                cmocka_unit_test(test_kod_budget_configured),
                cmocka_unit_test(test_address_lengths),
                cmocka_unit_test(test_bad_lengths_refused),
                cmocka_unit_test(test_seed_does_not_change_behaviour),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
