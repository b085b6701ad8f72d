/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for poll: limits, bursts, the reach register, backoff while unreachable, adaptation
 * of the interval to how consistent samples are, and the RATE kiss. */

#include <string.h>

#include "core/poll.h"
#include "unit-test.h"

#define SEC INT64_C(1000000000)

static void assert_limits(int8_t minpoll, int8_t maxpoll, int8_t want_min, int8_t want_max) {
        struct poll_state p;

        poll_init(&p, minpoll, maxpoll, false, 0);
        if (p.minpoll == want_min && p.maxpoll == want_max && p.poll == want_min)
                return;
        print_error("poll_init(%d, %d): min %d max %d poll %d, expected min %d max %d poll %d\n",
                    minpoll, maxpoll, p.minpoll, p.maxpoll, p.poll, want_min, want_max, want_min);
        fail();
}

static void test_defaults_for_zero_limits(void **state) {
        assert_limits(0, 0, POLL_DEFAULT_MIN, POLL_DEFAULT_MAX);
        assert_int_equal(POLL_DEFAULT_MIN, 6);
        assert_int_equal(POLL_DEFAULT_MAX, 10);
}

static void test_limits_are_clamped(void **state) {
        assert_limits(4, 8, 4, 8);
        assert_limits(1, 8, POLL_LIMIT_MIN, 8);
        assert_limits(-5, 8, POLL_LIMIT_MIN, 8);
        assert_limits(INT8_MIN, INT8_MIN, POLL_LIMIT_MIN, POLL_LIMIT_MIN);
        assert_limits(6, 30, 6, POLL_LIMIT_MAX);
        assert_limits(INT8_MAX, INT8_MAX, POLL_LIMIT_MAX, POLL_LIMIT_MAX);
        assert_limits(POLL_LIMIT_MIN, POLL_LIMIT_MAX, POLL_LIMIT_MIN, POLL_LIMIT_MAX);
}

static void test_min_above_max_raises_max(void **state) {
        assert_limits(10, 6, 10, 10);
        assert_limits(30, 4, POLL_LIMIT_MAX, POLL_LIMIT_MAX);
}

static void test_interval_ns(void **state) {
        assert_int_equal(poll_interval_ns(6), 64 * SEC);
        assert_int_equal(poll_interval_ns(10), 1024 * SEC);
        assert_int_equal(poll_interval_ns(POLL_LIMIT_MIN), 8 * SEC);
        assert_int_equal(poll_interval_ns(0), 8 * SEC);
        assert_int_equal(poll_interval_ns(-100), 8 * SEC);
        assert_int_equal(poll_interval_ns(100), (INT64_C(1) << POLL_LIMIT_MAX) * SEC);
}

/* As reported: what the exponent says, within 0..POLL_LIMIT_MAX. */
static void test_seconds(void **state) {
        assert_int_equal(poll_seconds(6), 64);
        assert_int_equal(poll_seconds(0), 1);
        assert_int_equal(poll_seconds(-3), 1);
        assert_int_equal(poll_seconds(POLL_LIMIT_MAX), 1u << POLL_LIMIT_MAX);
        assert_int_equal(poll_seconds(100), 1u << POLL_LIMIT_MAX);
}

static void test_first_poll_is_now(void **state) {
        struct poll_state p;

        poll_init(&p, 0, 0, false, 5 * SEC);
        assert_int_equal(p.next_mono, 5 * SEC);
        assert_int_equal(p.reach, 0);
        assert_int_equal(p.sent, 0);
        assert_int_equal(p.burst_left, 0);
}

static void test_without_iburst_the_poll_interval_plus_jitter(void **state) {
        struct poll_state p;

        poll_init(&p, 0, 0, false, 0);
        poll_sent(&p, 0, 3 * SEC);
        assert_int_equal(p.next_mono, 64 * SEC + 3 * SEC);
        poll_sent(&p, p.next_mono, 0);
        assert_int_equal(p.next_mono, 67 * SEC + 64 * SEC);
}

/* A burst stands for one poll, as in ntpd: the next poll is due one interval after the burst
 * began, not one interval after its last request. */
static void test_iburst_sends_a_burst_2s_apart_within_the_first_interval(void **state) {
        struct poll_state p;
        int64_t now = 100 * SEC;

        poll_init(&p, 0, 0, true, now);
        for (unsigned i = 0; i < POLL_BURST_COUNT; i++) {
                assert_int_equal(p.next_mono, now + (int64_t) i * POLL_BURST_INTERVAL_NS);
                poll_sent(&p, p.next_mono, SEC); /* jitter does not stretch a burst */
                if (i + 1 < POLL_BURST_COUNT)
                        assert_int_equal(p.next_mono, now + (int64_t) (i + 1) * POLL_BURST_INTERVAL_NS);
        }
        assert_int_equal(POLL_BURST_INTERVAL_NS, 2 * SEC);
        assert_int_equal(p.burst_left, 0);
        assert_int_equal(p.sent, POLL_BURST_COUNT);
        assert_int_equal(p.next_mono, now + 64 * SEC + SEC);

        /* From then on, one interval after each regular request. */
        int64_t regular = p.next_mono;
        poll_sent(&p, regular, 0);
        assert_int_equal(p.next_mono, regular + 64 * SEC);
}

static void test_start_burst_later(void **state) {
        struct poll_state p;

        poll_init(&p, 0, 0, false, 0);
        poll_sent(&p, 0, 0);
        poll_start_burst(&p, 10 * SEC);
        assert_int_equal(p.next_mono, 10 * SEC);
        for (unsigned i = 0; i < POLL_BURST_COUNT; i++) {
                assert_int_equal(p.next_mono, 10 * SEC + (int64_t) i * POLL_BURST_INTERVAL_NS);
                poll_sent(&p, p.next_mono, 0);
        }
        assert_int_equal(p.next_mono, 10 * SEC + 64 * SEC);
}

/* An interval shorter than the burst itself (minpoll 3 is 8 s; a burst lasts 10 s): the next poll
 * keeps the burst's spacing instead of falling due at once. */
static void test_burst_longer_than_the_interval_keeps_its_spacing(void **state) {
        struct poll_state p;

        poll_init(&p, POLL_LIMIT_MIN, POLL_LIMIT_MIN, true, 0);
        for (unsigned i = 0; i < POLL_BURST_COUNT; i++)
                poll_sent(&p, p.next_mono, 0);
        int64_t last = (int64_t) (POLL_BURST_COUNT - 1) * POLL_BURST_INTERVAL_NS;
        assert_true(last > poll_interval_ns(POLL_LIMIT_MIN));
        assert_int_equal(p.next_mono, last + POLL_BURST_INTERVAL_NS);
}

/* A shorter interval after a burst also counts from the burst's start. */
static void test_reset_after_a_burst_counts_from_its_start(void **state) {
        struct poll_state p;

        poll_init(&p, 6, 10, true, 0);
        p.poll = 8;
        for (unsigned i = 0; i < POLL_BURST_COUNT; i++)
                poll_sent(&p, p.next_mono, 0);
        assert_int_equal(p.next_mono, 256 * SEC);
        poll_reset_interval(&p);
        assert_int_equal(p.next_mono, 64 * SEC);
}

static void test_reach_register_shifts(void **state) {
        struct poll_state p;
        int64_t now = 0;

        poll_init(&p, 0, 0, false, now);
        /* Pattern of replies, oldest first: yes no yes yes no no no yes yes */
        static const bool replies[] = { true, false, true, true, false, false, false, true, true };
        static const uint8_t expected[] = { 0x01, 0x02, 0x05, 0x0b, 0x16, 0x2c, 0x58, 0xb1, 0x63 };

        for (size_t i = 0; i < ELEMENTSOF(replies); i++) {
                poll_sent(&p, now, 0);
                if (replies[i])
                        assert_false(poll_replied(&p));
                assert_int_equal(p.reach, expected[i]);
                now = p.next_mono;
        }
}

static void test_unreachable_after_8_silent_polls_grows_to_maxpoll(void **state) {
        struct poll_state p;
        int64_t now = 0;

        poll_init(&p, 0, 0, false, now);
        for (unsigned i = 1; i <= 7; i++) {
                poll_sent(&p, now, 0);
                assert_int_equal(p.poll, POLL_DEFAULT_MIN);
                assert_int_equal(p.next_mono, now + 64 * SEC);
                now = p.next_mono;
        }
        /* From the eighth silent poll on, the interval doubles each time, up to maxpoll. */
        int8_t previous = p.poll;
        for (unsigned i = 8; i <= 30; i++) {
                poll_sent(&p, now, 0);
                assert_true(p.poll >= previous);
                assert_true(p.poll <= POLL_DEFAULT_MAX);
                assert_int_equal(p.next_mono, now + poll_interval_ns(p.poll));
                previous = p.poll;
                now = p.next_mono;
                if (i == 8)
                        assert_int_equal(p.poll, POLL_DEFAULT_MIN + 1);
        }
        assert_int_equal(p.poll, POLL_DEFAULT_MAX);
        assert_int_equal(p.reach, 0);
}

static void test_reply_after_unreachable_returns_to_minpoll(void **state) {
        struct poll_state p;
        int64_t now = 0;

        poll_init(&p, 0, 0, false, now);
        for (unsigned i = 0; i < 20; i++) {
                poll_sent(&p, now, 0);
                now = p.next_mono;
        }
        assert_int_equal(p.poll, POLL_DEFAULT_MAX);
        assert_true(poll_replied(&p));
        assert_int_equal(p.poll, POLL_DEFAULT_MIN);
        assert_int_equal(p.reach, 1);
        /* A second reply is not a recovery. */
        assert_false(poll_replied(&p));
}

static void test_reply_while_reachable_returns_false(void **state) {
        struct poll_state p;

        poll_init(&p, 0, 0, false, 0);
        /* Before 8 polls a silent source is new, not unreachable. */
        for (unsigned i = 0; i < 7; i++)
                poll_sent(&p, 0, 0);
        assert_false(poll_replied(&p));
        assert_int_equal(p.poll, POLL_DEFAULT_MIN);
}

static struct poll_state settled_state(int8_t minpoll, int8_t maxpoll) {
        struct poll_state p;

        poll_init(&p, minpoll, maxpoll, false, 0);
        poll_sent(&p, 0, 0);
        poll_replied(&p);
        return p;
}

static void test_adapt_raises_after_consistent_samples(void **state) {
        struct poll_state p = settled_state(0, 0);

        for (unsigned i = 1; i < POLL_RAISE_AFTER; i++) {
                poll_adapt(&p, 0.5);
                assert_int_equal(p.poll, POLL_DEFAULT_MIN);
        }
        poll_adapt(&p, POLL_CONSISTENT); /* at the bound still counts as consistent */
        assert_int_equal(p.poll, POLL_DEFAULT_MIN + 1);
        /* The count starts again. */
        for (unsigned i = 1; i < POLL_RAISE_AFTER; i++)
                poll_adapt(&p, 0);
        assert_int_equal(p.poll, POLL_DEFAULT_MIN + 1);
        poll_adapt(&p, 0);
        assert_int_equal(p.poll, POLL_DEFAULT_MIN + 2);
}

static void test_adapt_middling_sample_resets_the_count(void **state) {
        struct poll_state p = settled_state(0, 0);

        for (unsigned i = 1; i < POLL_RAISE_AFTER; i++)
                poll_adapt(&p, 0);
        poll_adapt(&p, (POLL_CONSISTENT + POLL_INCONSISTENT) / 2);
        assert_int_equal(p.poll, POLL_DEFAULT_MIN);
        for (unsigned i = 1; i < POLL_RAISE_AFTER; i++)
                poll_adapt(&p, 0);
        assert_int_equal(p.poll, POLL_DEFAULT_MIN);
        poll_adapt(&p, 0);
        assert_int_equal(p.poll, POLL_DEFAULT_MIN + 1);
}

static void test_adapt_lowers_on_an_inconsistent_sample(void **state) {
        struct poll_state p = settled_state(0, 0);

        for (unsigned i = 0; i < 3 * POLL_RAISE_AFTER; i++)
                poll_adapt(&p, 0);
        assert_int_equal(p.poll, POLL_DEFAULT_MIN + 3);
        poll_adapt(&p, POLL_INCONSISTENT + 0.1);
        assert_int_equal(p.poll, POLL_DEFAULT_MIN + 2);
        /* The consistent count was reset too. */
        for (unsigned i = 1; i < POLL_RAISE_AFTER; i++)
                poll_adapt(&p, 0);
        assert_int_equal(p.poll, POLL_DEFAULT_MIN + 2);
}

static void test_lowered_interval_takes_effect_now(void **state) {
        struct poll_state p = settled_state(6, 10);
        int64_t now = 0;

        for (unsigned i = 0; i < 4 * POLL_RAISE_AFTER; i++)
                poll_adapt(&p, 0);
        assert_int_equal(p.poll, 10);
        now = p.next_mono;
        poll_sent(&p, now, 0);
        assert_int_equal(p.next_mono, now + 1024 * SEC);
        poll_replied(&p);
        /* An inconsistent reply: the next request goes 512 s after the last one, not 1024. */
        poll_adapt(&p, 100);
        assert_int_equal(p.poll, 9);
        assert_int_equal(p.next_mono, now + 512 * SEC);
}

static void test_recovery_takes_effect_now(void **state) {
        struct poll_state p;
        int64_t now = 0;

        poll_init(&p, 0, 0, false, now);
        for (unsigned i = 0; i < 20; i++) {
                now = p.next_mono;
                poll_sent(&p, now, 0);
        }
        assert_int_equal(p.next_mono, now + 1024 * SEC);
        assert_true(poll_replied(&p));
        assert_int_equal(p.next_mono, now + 64 * SEC);
}

static void test_adapt_stays_within_limits(void **state) {
        struct poll_state p = settled_state(5, 7);

        for (unsigned i = 0; i < 100; i++) {
                poll_adapt(&p, 0);
                assert_true(p.poll >= 5 && p.poll <= 7);
        }
        assert_int_equal(p.poll, 7);
        for (unsigned i = 0; i < 100; i++) {
                poll_adapt(&p, 1e9);
                assert_true(p.poll >= 5 && p.poll <= 7);
        }
        assert_int_equal(p.poll, 5);
        poll_adapt(&p, INFINITY);
        assert_int_equal(p.poll, 5);
}

static void test_adapt_does_nothing_during_a_burst(void **state) {
        struct poll_state p;

        poll_init(&p, 0, 0, true, 0);
        poll_sent(&p, 0, 0);
        poll_replied(&p);
        for (unsigned i = 0; i < 3 * POLL_RAISE_AFTER; i++)
                poll_adapt(&p, 0);
        assert_int_equal(p.poll, POLL_DEFAULT_MIN);
        assert_int_equal(p.consistent, 0);
}

static void test_back_off_raises_minpoll_capped_at_maxpoll(void **state) {
        struct poll_state p = settled_state(6, 8);

        poll_back_off(&p);
        assert_int_equal(p.minpoll, 7);
        assert_int_equal(p.poll, 7);
        poll_back_off(&p);
        assert_int_equal(p.minpoll, 8);
        assert_int_equal(p.poll, 8);
        poll_back_off(&p);
        assert_int_equal(p.minpoll, 8);
        assert_int_equal(p.maxpoll, 8);
        assert_int_equal(p.poll, 8);
        /* Adaptation can no longer go below the raised minimum. */
        poll_adapt(&p, 1e9);
        assert_int_equal(p.poll, 8);
}

static void test_back_off_keeps_a_higher_poll_and_cancels_a_burst(void **state) {
        struct poll_state p;

        poll_init(&p, 6, 10, true, 0);
        p.poll = 9;
        poll_back_off(&p);
        assert_int_equal(p.minpoll, 7);
        assert_int_equal(p.poll, 9);
        assert_int_equal(p.burst_left, 0);
        assert_int_equal(p.consistent, 0);
}

static void test_reset_interval(void **state) {
        struct poll_state p = settled_state(0, 0);

        for (unsigned i = 0; i < 2 * POLL_RAISE_AFTER + 1; i++)
                poll_adapt(&p, 0);
        assert_int_equal(p.poll, POLL_DEFAULT_MIN + 2);
        poll_reset_interval(&p);
        assert_int_equal(p.poll, POLL_DEFAULT_MIN);
        assert_int_equal(p.consistent, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults_for_zero_limits),
                cmocka_unit_test(test_limits_are_clamped),
                cmocka_unit_test(test_min_above_max_raises_max),
                cmocka_unit_test(test_interval_ns),
                cmocka_unit_test(test_seconds),
                cmocka_unit_test(test_first_poll_is_now),
                cmocka_unit_test(test_without_iburst_the_poll_interval_plus_jitter),
                cmocka_unit_test(test_iburst_sends_a_burst_2s_apart_within_the_first_interval),
                cmocka_unit_test(test_start_burst_later),
                cmocka_unit_test(test_burst_longer_than_the_interval_keeps_its_spacing),
                cmocka_unit_test(test_reset_after_a_burst_counts_from_its_start),
                cmocka_unit_test(test_reach_register_shifts),
                cmocka_unit_test(test_unreachable_after_8_silent_polls_grows_to_maxpoll),
                cmocka_unit_test(test_reply_after_unreachable_returns_to_minpoll),
                cmocka_unit_test(test_reply_while_reachable_returns_false),
                cmocka_unit_test(test_adapt_raises_after_consistent_samples),
                cmocka_unit_test(test_adapt_middling_sample_resets_the_count),
                cmocka_unit_test(test_adapt_lowers_on_an_inconsistent_sample),
                cmocka_unit_test(test_lowered_interval_takes_effect_now),
                cmocka_unit_test(test_recovery_takes_effect_now),
                cmocka_unit_test(test_adapt_stays_within_limits),
                cmocka_unit_test(test_adapt_does_nothing_during_a_burst),
                cmocka_unit_test(test_back_off_raises_minpoll_capped_at_maxpoll),
                cmocka_unit_test(test_back_off_keeps_a_higher_poll_and_cancels_a_burst),
                cmocka_unit_test(test_reset_interval),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
