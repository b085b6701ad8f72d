/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for discipline: step, slew, stepout and panic decisions, the frequency, and the
 * correction account that models what the kernel does with the actions. */

#include <string.h>

#include "core/discipline.h"
#include "unit-test.h"

#define SEC INT64_C(1000000000)
#define START (INT64_C(1000) * SEC)   /* any monotonic time; not 0, so that offsets matter */
#define POLL 6
#define NOISE 1e-4
#define UNTRUSTED_SD 1e-3             /* a rate standard deviation that must not set the frequency */
#define STEPOUT 300.0

static struct discipline_config default_config(void) {
        return (struct discipline_config) {
                .step_threshold = 0.128,
                .initial_step_threshold = 0.128,
                .panic_threshold = 1000,
                .stepout = STEPOUT,
                .allow_initial_step = true,
                .max_frequency_ppm = 500,
                .initial_frequency_ppm = 0,
                .clock_control = true,
        };
}

static struct discipline make(const struct discipline_config *c) {
        struct discipline d;

        discipline_init(&d, c, START);
        return d;
}

static int64_t at(double seconds) {
        return START + (int64_t) (seconds * 1e9);
}

/* An update with an untrusted rate: offset decisions only. */
static enum discipline_decision update_offset(struct discipline *d, double t, double offset,
                                              struct discipline_actions *ret) {
        return discipline_update(d, at(t), offset, NOISE, 0, UNTRUSTED_SD, POLL, ret);
}

static double pll_applied(double slew, int time_constant, double seconds) {
        return slew * (1 - pow(1 - ldexp(1.0, -(2 + time_constant)), seconds));
}

/* The correction account: what discipline_correction() says at any time, and the frequency. */
static void assert_same_account(const struct discipline *a, const struct discipline *b) {
        static const double times[] = { 0, 1, 64, 1000, 100000 };

        for (size_t i = 0; i < ELEMENTSOF(times); i++)
                assert_double_near(discipline_correction(a, at(times[i])), discipline_correction(b, at(times[i])), 0);
        assert_double_near(a->frequency_ppm, b->frequency_ppm, 0);
        assert_int_equal(a->steps, b->steps);
}

/* Every piece of state an update may change. */
static void assert_same_state(const struct discipline *a, const struct discipline *b) {
        assert_int_equal(a->since_mono, b->since_mono);
        assert_double_near(a->base, b->base, 0);
        assert_double_near(a->frequency_ppm, b->frequency_ppm, 0);
        assert_double_near(a->slew, b->slew, 0);
        assert_int_equal(a->time_constant, b->time_constant);
        assert_int_equal(a->updated, b->updated);
        assert_int_equal(a->over_step_since, b->over_step_since);
        assert_int_equal(a->steps, b->steps);
}

static void test_fresh_account_is_zero(void **state) {
        struct discipline_config c = default_config();
        struct discipline d = make(&c);

        assert_double_near(discipline_correction(&d, START), 0, 0);
        assert_double_near(discipline_correction(&d, at(1e6)), 0, 0);
        assert_int_equal(d.steps, 0);
        assert_false(d.updated);
}

static void test_first_update_above_initial_threshold_steps_once(void **state) {
        struct discipline_config c = default_config();
        struct discipline d = make(&c);
        struct discipline_actions a;

        assert_int_equal(update_offset(&d, 0, 0.5, &a), DISCIPLINE_STEP);
        assert_int_equal(a.decision, DISCIPLINE_STEP);
        assert_double_near(a.step, 0.5, 0);
        assert_double_near(a.slew, 0, 0);
        assert_false(a.set_frequency);
        assert_int_equal(d.steps, 1);
        assert_double_near(discipline_correction(&d, at(0)), 0.5, 0);
        assert_double_near(discipline_correction(&d, at(3600)), 0.5, 1e-15);

        /* Once started, the same offset only starts the stepout wait. */
        assert_int_equal(update_offset(&d, 64, 0.5, &a), DISCIPLINE_WAIT_STEPOUT);
        assert_int_equal(d.steps, 1);
        assert_double_near(discipline_correction(&d, at(3600)), 0.5, 1e-15);
}

static void test_negative_initial_step(void **state) {
        struct discipline_config c = default_config();
        struct discipline d = make(&c);
        struct discipline_actions a;

        assert_int_equal(update_offset(&d, 0, -3, &a), DISCIPLINE_STEP);
        assert_double_near(a.step, -3, 0);
        assert_double_near(discipline_correction(&d, at(10)), -3, 1e-15);
}

static void test_first_update_below_initial_threshold_slews(void **state) {
        struct discipline_config c = default_config();
        struct discipline d = make(&c);
        struct discipline_actions a;

        assert_int_equal(update_offset(&d, 0, 0.1, &a), DISCIPLINE_SLEW);
        assert_double_near(a.step, 0, 0);
        assert_double_near(a.slew, 0.1, 0);
        assert_int_equal(d.steps, 0);
        assert_true(d.updated);
        assert_double_near(discipline_correction(&d, at(0)), 0, 0);
        /* The kernel slews it all away eventually. */
        assert_double_near(discipline_correction(&d, at(1e6)), 0.1, 1e-12);
}

/* A restart within the boot: the first update follows the rules of every later one. */
static void test_initial_step_not_allowed_waits_out_the_stepout(void **state) {
        struct discipline_config c = default_config();
        c.allow_initial_step = false;
        struct discipline d = make(&c);
        struct discipline_actions a;

        assert_int_equal(update_offset(&d, 0, 3, &a), DISCIPLINE_WAIT_STEPOUT);
        assert_double_near(a.step, 0, 0);
        assert_double_near(a.slew, 0, 0);
        assert_int_equal(update_offset(&d, c.stepout - 1, 3, &a), DISCIPLINE_WAIT_STEPOUT);
        assert_int_equal(update_offset(&d, c.stepout, 3, &a), DISCIPLINE_STEP);
        assert_int_equal(d.steps, 1);

        d = make(&c);
        assert_int_equal(update_offset(&d, 0, -0.1, &a), DISCIPLINE_SLEW);
        assert_double_near(a.slew, -0.1, 0);
        assert_int_equal(d.steps, 0);
}

static void test_over_step_threshold_waits_for_stepout_then_steps(void **state) {
        struct discipline_config c = default_config();
        struct discipline d = make(&c);
        struct discipline_actions a;

        assert_int_equal(update_offset(&d, 0, 0.01, &a), DISCIPLINE_SLEW);

        struct discipline before = d;
        assert_int_equal(update_offset(&d, 64, 0.2, &a), DISCIPLINE_WAIT_STEPOUT);
        assert_false(a.set_frequency);
        assert_double_near(a.step, 0, 0);
        assert_same_account(&d, &before);
        assert_int_equal(update_offset(&d, 128, -0.2, &a), DISCIPLINE_WAIT_STEPOUT);
        assert_int_equal(update_offset(&d, 363.9, 0.2, &a), DISCIPLINE_WAIT_STEPOUT);
        assert_same_account(&d, &before);

        double c364 = discipline_correction(&d, at(364));
        assert_int_equal(update_offset(&d, 364, 0.2, &a), DISCIPLINE_STEP); /* 300 s after 64 s */
        assert_double_near(a.step, 0.2, 0);
        assert_int_equal(d.steps, 1);
        assert_double_near(discipline_correction(&d, at(364)), c364 + 0.2, 1e-15);
}

static void test_stepout_is_configurable(void **state) {
        struct discipline_config c = default_config();
        c.stepout = 60;
        struct discipline d = make(&c);
        struct discipline_actions a;

        update_offset(&d, 0, 0.01, &a);
        assert_int_equal(update_offset(&d, 10, 0.2, &a), DISCIPLINE_WAIT_STEPOUT);
        assert_int_equal(update_offset(&d, 69.9, 0.2, &a), DISCIPLINE_WAIT_STEPOUT);
        assert_int_equal(update_offset(&d, 70, 0.2, &a), DISCIPLINE_STEP);
}

static void test_offset_back_within_threshold_restarts_stepout(void **state) {
        struct discipline_config c = default_config();
        struct discipline d = make(&c);
        struct discipline_actions a;

        update_offset(&d, 0, 0.01, &a);
        assert_int_equal(update_offset(&d, 64, 0.2, &a), DISCIPLINE_WAIT_STEPOUT);
        assert_int_equal(update_offset(&d, 128, 0.01, &a), DISCIPLINE_SLEW);
        assert_int_equal(update_offset(&d, 192, 0.2, &a), DISCIPLINE_WAIT_STEPOUT);
        assert_int_equal(update_offset(&d, 400, 0.2, &a), DISCIPLINE_WAIT_STEPOUT); /* 364 s after 64 s */
        assert_int_equal(update_offset(&d, 492, 0.2, &a), DISCIPLINE_STEP);        /* 300 s after 192 s */
}

static void test_after_a_stepout_step_a_new_excursion_waits_again(void **state) {
        struct discipline_config c = default_config();
        struct discipline d = make(&c);
        struct discipline_actions a;

        update_offset(&d, 0, 0.01, &a);
        assert_int_equal(update_offset(&d, 64, 0.2, &a), DISCIPLINE_WAIT_STEPOUT);
        assert_int_equal(update_offset(&d, 364, 0.2, &a), DISCIPLINE_STEP);
        /* The step took the offset away; a new one beyond the threshold has not persisted yet. */
        assert_int_equal(update_offset(&d, 428, 0.3, &a), DISCIPLINE_WAIT_STEPOUT);
        assert_int_equal(d.steps, 1);
}

static void test_step_threshold_zero_never_steps_after_start(void **state) {
        struct discipline_config c = default_config();
        c.step_threshold = 0;
        struct discipline d = make(&c);
        struct discipline_actions a;

        update_offset(&d, 0, 0.01, &a);
        for (unsigned i = 1; i < 20; i++)
                assert_int_equal(update_offset(&d, 64.0 * i, 5, &a), DISCIPLINE_SLEW);
        assert_double_near(a.slew, DISCIPLINE_MAX_SLEW, 0);
        assert_int_equal(d.steps, 0);
}

static void test_panic_changes_nothing(void **state) {
        struct discipline_config c = default_config();
        struct discipline d = make(&c);
        struct discipline_actions a;

        /* Before the first update: it stays the first. */
        struct discipline before = d;
        assert_int_equal(discipline_update(&d, at(0), 1001, NOISE, 10e-6, 1e-7, POLL, &a), DISCIPLINE_PANIC);
        assert_int_equal(a.decision, DISCIPLINE_PANIC);
        assert_false(a.set_frequency);
        assert_double_near(a.step, 0, 0);
        assert_double_near(a.slew, 0, 0);
        assert_same_state(&d, &before);

        /* After some updates, with a slew and a frequency in the account. */
        discipline_update(&d, at(0), 0.05, NOISE, 10e-6, 1e-7, POLL, &a);
        discipline_update(&d, at(64), 0.01, NOISE, 11e-6, 1e-7, POLL, &a);
        before = d;
        assert_int_equal(discipline_update(&d, at(128), -2000, NOISE, 10e-6, 1e-7, POLL, &a), DISCIPLINE_PANIC);
        assert_false(a.set_frequency);
        assert_same_state(&d, &before);
        assert_same_account(&d, &before);
}

static void test_panic_threshold_zero_means_no_limit(void **state) {
        struct discipline_config c = default_config();
        c.panic_threshold = 0;
        struct discipline d = make(&c);
        struct discipline_actions a;

        assert_int_equal(update_offset(&d, 0, 1e6, &a), DISCIPLINE_STEP);
        assert_double_near(a.step, 1e6, 0);
}

static void test_frequency_set_only_when_trusted(void **state) {
        struct discipline_config c = default_config();
        struct discipline d = make(&c);
        struct discipline_actions a;

        discipline_update(&d, at(0), 0.001, NOISE, 10e-6, DISCIPLINE_TRUSTED_FREQUENCY_SD * 1.5, POLL, &a);
        assert_false(a.set_frequency);
        assert_double_near(d.frequency_ppm, 0, 0);

        discipline_update(&d, at(64), 0.001, NOISE, 10e-6, DISCIPLINE_TRUSTED_FREQUENCY_SD, POLL, &a);
        assert_true(a.set_frequency);
        assert_double_near(a.frequency_ppm, 10, 1e-9);
        assert_double_near(d.frequency_ppm, 10, 1e-9);

        discipline_update(&d, at(128), 0.001, NOISE, -3e-6, 1e-7, POLL, &a);
        assert_true(a.set_frequency);
        assert_double_near(a.frequency_ppm, -3, 1e-9);
}

static void test_frequency_is_clamped(void **state) {
        struct discipline_config c = default_config();
        struct discipline d = make(&c);
        struct discipline_actions a;

        discipline_update(&d, at(0), 0.001, NOISE, 600e-6, 1e-7, POLL, &a);
        assert_true(a.set_frequency);
        assert_double_near(a.frequency_ppm, 500, 0);
        discipline_update(&d, at(64), 0.001, NOISE, -900e-6, 1e-7, POLL, &a);
        assert_double_near(a.frequency_ppm, -500, 0);
        assert_double_near(d.frequency_ppm, -500, 0);

        /* The rate is relative to the initial frequency; the limit is absolute. */
        c.initial_frequency_ppm = 100;
        c.max_frequency_ppm = 300;
        d = make(&c);
        discipline_update(&d, at(0), 0.001, NOISE, 150e-6, 1e-7, POLL, &a);
        assert_double_near(a.frequency_ppm, 250, 1e-9);
        discipline_update(&d, at(64), 0.001, NOISE, 250e-6, 1e-7, POLL, &a);
        assert_double_near(a.frequency_ppm, 300, 0);
}

static void test_correction_follows_the_kernel_pll(void **state) {
        struct discipline_config c = default_config();
        struct discipline d = make(&c);
        struct discipline_actions a;

        assert_int_equal(update_offset(&d, 0, 0.01, &a), DISCIPLINE_SLEW);
        assert_true(a.time_constant >= 0 && a.time_constant <= DISCIPLINE_MAX_TIME_CONSTANT);
        static const double seconds[] = { 0, 1, 2, 10, 64, 100, 1000 };
        for (size_t i = 0; i < ELEMENTSOF(seconds); i++)
                assert_double_near(discipline_correction(&d, at(seconds[i])),
                                   pll_applied(0.01, a.time_constant, seconds[i]), 1e-15);
}

static void test_a_new_slew_replaces_the_old_one_and_the_account_is_continuous(void **state) {
        struct discipline_config c = default_config();
        struct discipline d = make(&c);
        struct discipline_actions a1, a2;

        update_offset(&d, 0, 0.05, &a1);
        double c64 = discipline_correction(&d, at(64));
        assert_double_near(c64, pll_applied(0.05, a1.time_constant, 64), 1e-15);

        discipline_update(&d, at(64), -0.02, NOISE, 5e-6, 1e-7, POLL, &a2);
        assert_true(a2.set_frequency);
        assert_double_near(a2.slew, -0.02, 0);
        assert_double_near(discipline_correction(&d, at(64)), c64, 1e-15);
        static const double seconds[] = { 1, 10, 100, 1000, 10000 };
        for (size_t i = 0; i < ELEMENTSOF(seconds); i++)
                assert_double_near(discipline_correction(&d, at(64 + seconds[i])),
                                   c64 + 5e-6 * seconds[i] + pll_applied(-0.02, a2.time_constant, seconds[i]),
                                   1e-14);
}

static void test_frequency_relative_to_the_initial_one(void **state) {
        struct discipline_config c = default_config();
        c.initial_frequency_ppm = -20;
        struct discipline d = make(&c);
        struct discipline_actions a;

        assert_double_near(d.frequency_ppm, -20, 0);
        discipline_update(&d, at(0), 0, NOISE, 2e-6, 1e-7, POLL, &a);
        assert_double_near(a.frequency_ppm, -18, 1e-9);
        /* Only the change from the initial frequency is a correction; a zero offset slews nothing. */
        assert_double_near(discipline_correction(&d, at(1000)), 2e-6 * 1000, 1e-12);
}

static void test_time_constant_within_kernel_limits(void **state) {
        static const double offsets[] = { 0, 1e-9, 1e-6, 1e-4, 0.01, 0.1, 0.5, -0.5, -1e-3 };
        static const double noises[] = { 0, 1e-9, 1e-6, 1e-3, 1 };
        static const int polls[] = { 0, 3, 6, 10, 17, 30 };

        for (size_t i = 0; i < ELEMENTSOF(offsets); i++)
                for (size_t j = 0; j < ELEMENTSOF(noises); j++)
                        for (size_t k = 0; k < ELEMENTSOF(polls); k++) {
                                struct discipline_config c = default_config();
                                c.allow_initial_step = false;
                                struct discipline d = make(&c);
                                struct discipline_actions a;

                                discipline_update(&d, at(0), offsets[i], noises[j], 0, 1, polls[k], &a);
                                assert_true(a.time_constant >= 0);
                                assert_true(a.time_constant <= DISCIPLINE_MAX_TIME_CONSTANT);
                                assert_true(fabs(a.slew) <= DISCIPLINE_MAX_SLEW);
                        }
}

static void test_noise_sized_offsets_slew_slower_than_large_ones(void **state) {
        struct discipline_config c = default_config();
        struct discipline d = make(&c);
        struct discipline_actions small, large;

        discipline_update(&d, at(0), 1e-4, 1e-4, 0, 1, 10, &small);
        d = make(&c);
        discipline_update(&d, at(0), 0.1, 1e-4, 0, 1, 10, &large);
        assert_true(large.time_constant < small.time_constant);
}

/* While the frequency is still being learned (its standard deviation above
 * DISCIPLINE_SETTLED_FREQUENCY_SD), an offset beyond its own uncertainty is frequency error that
 * built up since the last update: it goes at the kernel's fastest rate, whatever the poll. */
static void test_unsettled_frequency_removes_real_offsets_at_once(void **state) {
        static const int polls[] = { 6, 8, 10 };
        const double unsettled_sd = 10 * DISCIPLINE_SETTLED_FREQUENCY_SD;

        for (size_t i = 0; i < ELEMENTSOF(polls); i++) {
                struct discipline_config c = default_config();
                struct discipline d = make(&c);
                struct discipline_actions a;

                /* 2 ms found with an uncertainty of 0.5 ms: four times the noise. */
                discipline_update(&d, at(0), 2e-3, 5e-4, 0, unsettled_sd, polls[i], &a);
                assert_int_equal(a.decision, DISCIPLINE_SLEW);
                assert_int_equal(a.time_constant, 0);
                assert_double_near(a.slew, 2e-3, 0);
        }
}

/* Offsets within the noise are still spread out, settled or not, and a settled frequency keeps
 * spreading moderate offsets over about a poll interval. */
static void test_noise_sized_offsets_are_spread_while_unsettled(void **state) {
        struct discipline_config c = default_config();
        struct discipline d = make(&c);
        struct discipline_actions a;

        discipline_update(&d, at(0), 2e-4, 5e-4, 0, 10 * DISCIPLINE_SETTLED_FREQUENCY_SD, POLL, &a);
        assert_int_equal(a.time_constant, POLL - 4);

        d = make(&c);
        discipline_update(&d, at(0), 2e-3, 5e-4, 0, DISCIPLINE_SETTLED_FREQUENCY_SD / 2, POLL, &a);
        assert_int_equal(a.time_constant, POLL - 2);
}

static void test_observe_mode_never_changes_the_account(void **state) {
        struct discipline_config c = default_config();
        c.clock_control = false;
        c.initial_frequency_ppm = 7;
        struct discipline d = make(&c);
        struct discipline before = d;
        struct discipline_actions a;

        /* The decisions are still made and reported... */
        assert_int_equal(discipline_update(&d, at(0), 0.5, NOISE, 10e-6, 1e-7, POLL, &a), DISCIPLINE_STEP);
        assert_double_near(a.step, 0.5, 0);
        assert_true(a.set_frequency);
        assert_int_equal(discipline_update(&d, at(64), 0.05, NOISE, 10e-6, 1e-7, POLL, &a), DISCIPLINE_SLEW);
        assert_int_equal(discipline_update(&d, at(128), 5000, NOISE, 10e-6, 1e-7, POLL, &a), DISCIPLINE_PANIC);
        /* ...but nothing is accounted as done. */
        assert_same_account(&d, &before);
        assert_double_near(discipline_correction(&d, at(1e5)), 0, 0);
        assert_double_near(d.frequency_ppm, 7, 0);
        assert_int_equal(d.steps, 0);
}

static void test_reconfigure_keeps_the_account(void **state) {
        struct discipline_config c = default_config();
        c.initial_frequency_ppm = 4;
        struct discipline d = make(&c);
        struct discipline_actions a;

        discipline_update(&d, at(0), 0.05, NOISE, 10e-6, 1e-7, POLL, &a);
        struct discipline before = d;

        struct discipline_config changed = default_config();
        changed.initial_frequency_ppm = -100; /* not a thing a running clock can change */
        changed.step_threshold = 0;
        changed.panic_threshold = 0.5;
        discipline_reconfigure(&d, &changed);
        assert_same_account(&d, &before);
        assert_same_state(&d, &before);

        /* The new thresholds apply. */
        assert_int_equal(update_offset(&d, 64, 0.6, &a), DISCIPLINE_PANIC);
        assert_int_equal(update_offset(&d, 128, 0.4, &a), DISCIPLINE_SLEW);
}

static void test_slew_uncertainty_is_one_kernel_chunk(void **state) {
        struct discipline_config c = default_config();
        struct discipline d = make(&c);
        struct discipline_actions a;

        assert_double_near(discipline_slew_uncertainty(&d, at(10)), 0, 0);
        update_offset(&d, 0, 0.1, &a);
        double chunk = ldexp(1.0, -(2 + a.time_constant));
        assert_double_near(discipline_slew_uncertainty(&d, at(0)), 0.1 * chunk, 1e-15);
        double remaining = 0.1 - pll_applied(0.1, a.time_constant, 30);
        assert_double_near(discipline_slew_uncertainty(&d, at(30)), remaining * chunk, 1e-15);
        assert_true(discipline_slew_uncertainty(&d, at(1e6)) < 1e-12);
}

static void test_decision_strings(void **state) {
        assert_string_equal(discipline_decision_to_string(DISCIPLINE_STEP), "step");
        assert_string_equal(discipline_decision_to_string(DISCIPLINE_SLEW), "slew");
        assert_non_null(strstr(discipline_decision_to_string(DISCIPLINE_PANIC), "panic"));
        assert_non_null(discipline_decision_to_string((enum discipline_decision) 99));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fresh_account_is_zero),
                cmocka_unit_test(test_first_update_above_initial_threshold_steps_once),
                cmocka_unit_test(test_negative_initial_step),
                cmocka_unit_test(test_first_update_below_initial_threshold_slews),
                cmocka_unit_test(test_initial_step_not_allowed_waits_out_the_stepout),
                cmocka_unit_test(test_over_step_threshold_waits_for_stepout_then_steps),
                cmocka_unit_test(test_stepout_is_configurable),
                cmocka_unit_test(test_offset_back_within_threshold_restarts_stepout),
                cmocka_unit_test(test_after_a_stepout_step_a_new_excursion_waits_again),
                cmocka_unit_test(test_step_threshold_zero_never_steps_after_start),
                cmocka_unit_test(test_panic_changes_nothing),
                cmocka_unit_test(test_panic_threshold_zero_means_no_limit),
                cmocka_unit_test(test_frequency_set_only_when_trusted),
                cmocka_unit_test(test_frequency_is_clamped),
                cmocka_unit_test(test_correction_follows_the_kernel_pll),
                cmocka_unit_test(test_a_new_slew_replaces_the_old_one_and_the_account_is_continuous),
                cmocka_unit_test(test_frequency_relative_to_the_initial_one),
                cmocka_unit_test(test_time_constant_within_kernel_limits),
                cmocka_unit_test(test_unsettled_frequency_removes_real_offsets_at_once),
                cmocka_unit_test(test_noise_sized_offsets_are_spread_while_unsettled),
                cmocka_unit_test(test_noise_sized_offsets_slew_slower_than_large_ones),
                cmocka_unit_test(test_observe_mode_never_changes_the_account),
                cmocka_unit_test(test_reconfigure_keeps_the_account),
                cmocka_unit_test(test_slew_uncertainty_is_one_kernel_chunk),
                cmocka_unit_test(test_decision_strings),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
