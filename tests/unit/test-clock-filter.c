/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for clock-filter: the weighted line through a source's samples, how it favours
 * near-minimum round trips, the frequency prior, the ring, and how surprising a new sample is. */

#include <string.h>

#include "core/clock-filter.h"
#include "core/discipline.h"
#include "core/ntp-time.h"
#include "unit-test.h"

#define SEC INT64_C(1000000000)
#define WANDER 1e-9
#define PRECISION 9.5367431640625e-07   /* 2^-20 s */
#define DISPERSION 2e-6
#define DELAY 0.02
#define NO_PRIOR 1e6                     /* a frequency prior so wide it does not matter */
#define UNKNOWN_PRIOR 500e-6
#define KNOWN_PRIOR 1e-6

static uint64_t splitmix64(uint64_t *state) {
        uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

/* Uniform in (0, 1]. */
static double uniform(uint64_t *state) {
        return ((double) (splitmix64(state) >> 11) + 1) / 9007199254740992.0;
}

static struct clock_filter new_filter(void) {
        struct clock_filter f;

        clock_filter_init(&f, WANDER, PRECISION);
        return f;
}

static struct filter_sample sample_at(int64_t t_mono, double uncorrected, double delay) {
        return (struct filter_sample) {
                .t_mono = t_mono,
                .offset = uncorrected,
                .uncorrected = uncorrected,
                .delay = delay,
                .dispersion = DISPERSION,
        };
}

static void add(struct clock_filter *f, int64_t t_mono, double uncorrected, double delay) {
        struct filter_sample s = sample_at(t_mono, uncorrected, delay);

        clock_filter_add(f, &s);
}

static struct filter_estimate estimate(const struct clock_filter *f, int64_t ref, double prior) {
        struct filter_estimate e;

        assert_true(clock_filter_estimate(f, ref, prior, &e));
        return e;
}

/* A line: value at t = 0 and slope. */
static double line(double value0, double slope, int64_t t) {
        return value0 + slope * ns_to_seconds(t);
}

static void test_empty_filter_has_no_estimate(void **state) {
        struct clock_filter f = new_filter();
        struct filter_estimate e, untouched;

        memset(&untouched, 0x5a, sizeof(untouched));
        e = untouched;
        assert_false(clock_filter_estimate(&f, 0, UNKNOWN_PRIOR, &e));
        assert_memory_equal(&e, &untouched, sizeof(e));
        assert_null(clock_filter_newest(&f));
        assert_int_equal(f.n, 0);
}

static void test_single_sample_is_its_own_estimate(void **state) {
        struct clock_filter f = new_filter();

        add(&f, 100 * SEC, 0.0123, DELAY);
        struct filter_estimate e = estimate(&f, 100 * SEC, UNKNOWN_PRIOR);
        assert_double_near(e.uncorrected, 0.0123, 1e-15);
        assert_double_near(e.frequency, 0, 0);
        /* One sample says nothing about the frequency: its uncertainty is the prior's. */
        assert_double_near(e.frequency_sd, UNKNOWN_PRIOR, UNKNOWN_PRIOR * 1e-9);
        assert_int_equal(e.n, 1);
        assert_double_near(e.min_delay, DELAY, 0);
        assert_double_near(e.last_delay, DELAY, 0);
        assert_int_equal(e.last_mono, 100 * SEC);
}

static void test_noise_free_line_is_recovered_exactly(void **state) {
        const double value0 = 0.0123, slope = 7e-6;
        struct clock_filter f = new_filter();

        for (int64_t i = 0; i < 16; i++)
                add(&f, i * 64 * SEC, line(value0, slope, i * 64 * SEC), DELAY);

        static const int64_t refs[] = { 15 * 64 * SEC, 7 * 64 * SEC + 3 * SEC, 16 * 64 * SEC + 10 * SEC };
        for (size_t i = 0; i < ELEMENTSOF(refs); i++) {
                struct filter_estimate e = estimate(&f, refs[i], NO_PRIOR);
                assert_double_near(e.uncorrected, line(value0, slope, refs[i]), 1e-12);
                assert_double_near(e.frequency, slope, 1e-14);
                assert_double_near(e.jitter, 0, 1e-12);
                assert_int_equal(e.n, 16);
                assert_int_equal(e.last_mono, 15 * 64 * SEC);
                assert_double_near(e.min_delay, DELAY, 0);

                /* The engine's prior for an unknown frequency must not bias a line this well measured. */
                e = estimate(&f, refs[i], UNKNOWN_PRIOR);
                assert_double_near(e.uncorrected, line(value0, slope, refs[i]), 1e-9);
                assert_double_near(e.frequency, slope, 1e-11);
        }
}

static void test_near_minimum_delay_samples_dominate(void **state) {
        const double truth = 0.01;
        const double mean_excess = 0.005;

        for (uint64_t seed = 1; seed <= 20; seed++) {
                struct clock_filter f = new_filter();
                uint64_t rng = seed;
                double sum = 0;
                const unsigned n = 32;

                for (unsigned i = 0; i < n; i++) {
                        /* Queueing on the way out only: the excess round trip biases the offset. A
                         * few samples get through the network with (almost) no queueing. */
                        bool lucky = i % 11 == 5;
                        double excess = lucky ? 20e-6 * uniform(&rng) : -mean_excess * log(uniform(&rng));
                        double offset = truth + excess / 2 * (0.5 + 0.5 * uniform(&rng));
                        add(&f, (int64_t) i * 16 * SEC, offset, DELAY + excess);
                        sum += offset;
                }
                double mean = sum / n;
                struct filter_estimate e = estimate(&f, (int64_t) (n - 1) * 16 * SEC, UNKNOWN_PRIOR);

                double error = fabs(e.uncorrected - truth), mean_error = fabs(mean - truth);
                /* Much closer than the mean, and honest about its own uncertainty. */
                if (error < mean_error / 4 && error <= 3 * e.offset_sd)
                        continue;
                print_error("seed %llu: estimate off by %g s (sd %g s), plain mean by %g s\n",
                            (unsigned long long) seed, error, e.offset_sd, mean_error);
                fail();
        }
}

static void test_frequency_prior_tames_a_short_window(void **state) {
        /* Two samples 2 s apart that differ by 1 ms: taken at face value, 500 ppm. */
        struct clock_filter f = new_filter();
        add(&f, 0, 0.0, DELAY);
        add(&f, 2 * SEC, 0.001, DELAY + 0.002);

        /* A trusted drift file: the slope stays near the prior's 0. */
        struct filter_estimate e = estimate(&f, 2 * SEC, KNOWN_PRIOR);
        assert_true(fabs(e.frequency) <= 3 * KNOWN_PRIOR);
        assert_true(e.frequency_sd <= KNOWN_PRIOR);

        /* Unknown frequency: less than the raw slope, and too uncertain for the discipline to use. */
        e = estimate(&f, 2 * SEC, UNKNOWN_PRIOR);
        assert_true(fabs(e.frequency) < 500e-6);
        assert_true(e.frequency_sd > DISCIPLINE_TRUSTED_FREQUENCY_SD);
        assert_true(e.frequency_sd <= UNKNOWN_PRIOR);

        /* Without a prior the two points are simply joined. */
        e = estimate(&f, 2 * SEC, NO_PRIOR);
        assert_double_near(e.frequency, 500e-6, 1e-9);
}

/* A round trip through two queues, each with exponential delays of mean `mean`: the sample's
 * offset is off by half their difference, its delay longer by their sum. */
static void add_queued(struct clock_filter *f, uint64_t *rng, int64_t t, double truth, double mean) {
        double out = -mean * log(uniform(rng)), back = -mean * log(uniform(rng));

        add(f, t, truth + (out - back) / 2, DELAY + out + back);
}

/* A burst of 6 samples 2 s apart, then one a poll interval later, through 1 ms queues: the
 * frequency then rests on the minute between burst and poll, and its stated uncertainty is honest.
 * Two fast burst samples are no better than the queues let them be; trusted to a few µs, their
 * 10 s baseline set the slope (tens of ppm off where ±2 ppm was claimed). */
static void test_burst_then_poll_frequency_is_honest(void **state) {
        const double slope = 100e-6;
        const unsigned windows = 400;
        unsigned far_off = 0;
        uint64_t rng = 1;

        for (unsigned w = 0; w < windows; w++) {
                struct clock_filter f = new_filter();
                for (int64_t i = 0; i < 6; i++)
                        add_queued(&f, &rng, i * 2 * SEC, line(0, slope, i * 2 * SEC), 1e-3);
                add_queued(&f, &rng, 64 * SEC, line(0, slope, 64 * SEC), 1e-3);

                struct filter_estimate e = estimate(&f, 64 * SEC, UNKNOWN_PRIOR);
                far_off += fabs(e.frequency - slope) > 3 * e.frequency_sd;
        }
        /* Beyond three standard deviations in at most 1 window in 50 (a fixed quarter of the median
         * excess as the floor: 1 in 21). */
        if (far_off * 50 <= windows)
                return;
        print_error("%u of %u frequencies beyond three standard deviations\n", far_off, windows);
        fail();
}

/* Seen in the simulator (wan, seed 13): two burst samples at nearly the same, shortest delay that
 * disagree by 0.5 ms, and a good sample a minute later. */
static void test_two_fast_burst_samples_do_not_set_the_frequency(void **state) {
        static const struct { double t, uncorrected, delay; } samples[] = {
                { 0.022, -0.101178, 0.022465 }, { 2.021, -0.099860, 0.021159 },
                { 4.023, -0.101262, 0.023064 }, { 6.023, -0.099966, 0.022627 },
                { 8.021, -0.101117, 0.021355 }, { 10.021, -0.101205, 0.021161 },
                { 67.134, -0.106642, 0.021339 },
        };
        const double slope = -100e-6;  /* the truth: -0.1 s - 100 ppm */
        struct clock_filter f = new_filter();

        for (size_t i = 0; i < ELEMENTSOF(samples); i++)
                add(&f, llround(samples[i].t * 1e9), samples[i].uncorrected, samples[i].delay);
        struct filter_estimate e = estimate(&f, llround(67.134e9), UNKNOWN_PRIOR);
        /* With the burst's fastest pair trusted to 25 µs: 9.6 ppm off, ±1.8 ppm claimed. */
        assert_true(fabs(e.frequency - slope) <= 3 * e.frequency_sd);
        assert_true(fabs(e.frequency - slope) < 6e-6);
}

static void test_ring_wrap_keeps_the_newest(void **state) {
        const double value0 = -0.003, slope = -2e-6;
        struct clock_filter f = new_filter();
        const unsigned old = 10, total = FILTER_MAX_SAMPLES + 10;

        /* The first ten are a whole second off the line: they must be gone after the wrap. */
        for (unsigned i = 0; i < total; i++) {
                int64_t t = (int64_t) i * 16 * SEC;
                add(&f, t, line(value0, slope, t) + (i < old ? 1.0 : 0.0), DELAY);
                assert_int_equal(f.n, i + 1 < FILTER_MAX_SAMPLES ? i + 1 : FILTER_MAX_SAMPLES);
                assert_int_equal(clock_filter_newest(&f)->t_mono, t);
        }
        int64_t ref = (int64_t) (total - 1) * 16 * SEC;
        struct filter_estimate e = estimate(&f, ref, NO_PRIOR);
        assert_int_equal(e.n, FILTER_MAX_SAMPLES);
        assert_int_equal(e.last_mono, ref);
        assert_double_near(e.uncorrected, line(value0, slope, ref), 1e-12);
        assert_double_near(e.frequency, slope, 1e-14);

        /* Exactly the oldest ten went: the oldest kept is sample ten. */
        int64_t oldest = INT64_MAX;
        for (unsigned i = 0; i < FILTER_MAX_SAMPLES; i++)
                if (f.samples[i].t_mono < oldest)
                        oldest = f.samples[i].t_mono;
        assert_int_equal(oldest, (int64_t) old * 16 * SEC);
}

static void test_keep_newest(void **state) {
        struct clock_filter f = new_filter();

        /* Seven samples before the oscillator changed, three after. */
        for (int64_t i = 0; i < 7; i++)
                add(&f, i * 64 * SEC, 0.5 + 1e-4 * (double) i, DELAY);
        for (int64_t i = 7; i < 10; i++)
                add(&f, i * 64 * SEC, line(0.002, 3e-6, i * 64 * SEC), DELAY);

        clock_filter_keep_newest(&f, 3);
        assert_int_equal(f.n, 3);
        assert_int_equal(clock_filter_newest(&f)->t_mono, 9 * 64 * SEC);
        struct filter_estimate e = estimate(&f, 9 * 64 * SEC, NO_PRIOR);
        assert_int_equal(e.n, 3);
        assert_double_near(e.uncorrected, line(0.002, 3e-6, 9 * 64 * SEC), 1e-12);
        assert_double_near(e.frequency, 3e-6, 1e-12);

        /* Keeping more than there are changes nothing. */
        clock_filter_keep_newest(&f, 3);
        clock_filter_keep_newest(&f, FILTER_MAX_SAMPLES);
        assert_int_equal(f.n, 3);

        /* The ring goes on from there. */
        add(&f, 10 * 64 * SEC, line(0.002, 3e-6, 10 * 64 * SEC), DELAY);
        assert_int_equal(f.n, 4);
        assert_int_equal(clock_filter_newest(&f)->t_mono, 10 * 64 * SEC);
        e = estimate(&f, 10 * 64 * SEC, NO_PRIOR);
        assert_double_near(e.uncorrected, line(0.002, 3e-6, 10 * 64 * SEC), 1e-12);

        clock_filter_keep_newest(&f, 0);
        assert_int_equal(f.n, 0);
        assert_null(clock_filter_newest(&f));
}

static void test_keep_newest_after_a_wrap(void **state) {
        struct clock_filter f = new_filter();

        for (int64_t i = 0; i < FILTER_MAX_SAMPLES + 5; i++)
                add(&f, i * SEC, (double) i, DELAY);
        clock_filter_keep_newest(&f, 4);
        assert_int_equal(f.n, 4);
        int64_t newest = FILTER_MAX_SAMPLES + 4;
        assert_int_equal(clock_filter_newest(&f)->t_mono, newest * SEC);
        assert_double_near(clock_filter_newest(&f)->uncorrected, (double) newest, 0);
        struct filter_estimate e = estimate(&f, newest * SEC, NO_PRIOR);
        assert_double_near(e.frequency, 1.0, 1e-9); /* slope of i against i seconds */
}

static void test_clear(void **state) {
        struct clock_filter f = new_filter();

        add(&f, 0, 0.1, DELAY);
        add(&f, SEC, 0.1, DELAY);
        clock_filter_clear(&f);
        assert_int_equal(f.n, 0);
        assert_null(clock_filter_newest(&f));
        struct filter_estimate e;
        assert_false(clock_filter_estimate(&f, 0, UNKNOWN_PRIOR, &e));
}

static void test_frame_error_discounts_the_samples_held(void **state) {
        struct clock_filter f = new_filter(), g;

        /* Eight samples at 0, then the frame becomes uncertain by 1 ms, then two samples at 1 ms. */
        for (int64_t i = 0; i < 8; i++)
                add(&f, i * 16 * SEC, 0.0, DELAY);
        g = f;
        clock_filter_add_frame_error(&f, 0.001);
        assert_double_near(clock_filter_newest(&f)->dispersion, DISPERSION + 0.001, 1e-15);
        assert_double_near(clock_filter_newest(&g)->dispersion, DISPERSION, 0);
        for (int64_t i = 8; i < 10; i++) {
                add(&f, i * 16 * SEC, 0.001, DELAY);
                add(&g, i * 16 * SEC, 0.001, DELAY);
        }
        /* Samples added afterwards keep their own dispersion. */
        assert_double_near(clock_filter_newest(&f)->dispersion, DISPERSION, 0);

        struct filter_estimate with = estimate(&f, 9 * 16 * SEC, KNOWN_PRIOR);
        struct filter_estimate without = estimate(&g, 9 * 16 * SEC, KNOWN_PRIOR);
        assert_true(fabs(with.uncorrected - 0.001) < fabs(without.uncorrected - 0.001));
        assert_double_near(with.uncorrected, 0.001, 200e-6);
        /* A zero error changes nothing. */
        g = f;
        clock_filter_add_frame_error(&f, 0);
        for (unsigned i = 0; i < FILTER_MAX_SAMPLES; i++)
                assert_double_near(f.samples[i].dispersion, g.samples[i].dispersion, 0);
}

static struct clock_filter consistent_window(void) {
        struct clock_filter f = new_filter();

        for (int64_t i = 0; i < 8; i++)
                add(&f, i * 64 * SEC, line(0.001, 2e-6, i * 64 * SEC), DELAY);
        return f;
}

static void test_surprise_small_for_a_consistent_sample(void **state) {
        struct clock_filter f = consistent_window();
        int64_t t = 8 * 64 * SEC;
        struct filter_sample s = sample_at(t, line(0.001, 2e-6, t), DELAY);

        double surprise = clock_filter_surprise(&f, &s, UNKNOWN_PRIOR);
        assert_true(surprise >= 0);
        assert_true(surprise < 2);

        /* An offset far off, but explained by its long round trip, is not surprising either. */
        s = sample_at(t, line(0.001, 2e-6, t) + 0.01, DELAY + 0.03);
        assert_true(clock_filter_surprise(&f, &s, UNKNOWN_PRIOR) < 2);
}

static void test_surprise_large_for_an_outlier(void **state) {
        struct clock_filter f = consistent_window();
        int64_t t = 8 * 64 * SEC;
        struct filter_sample s = sample_at(t, line(0.001, 2e-6, t) + 0.01, DELAY);

        assert_true(clock_filter_surprise(&f, &s, UNKNOWN_PRIOR) > 5);
        s = sample_at(t, line(0.001, 2e-6, t) - 0.01, DELAY);
        assert_true(clock_filter_surprise(&f, &s, UNKNOWN_PRIOR) > 5);
        /* Asking does not add the sample. */
        assert_int_equal(f.n, 8);
}

static void test_surprise_of_an_empty_filter_is_zero(void **state) {
        struct clock_filter f = new_filter();
        struct filter_sample s = sample_at(0, 1000, DELAY);

        assert_double_near(clock_filter_surprise(&f, &s, UNKNOWN_PRIOR), 0, 0);
}

static void test_jitter_is_the_rms_residual(void **state) {
        struct clock_filter f = new_filter();

        /* Alternating ±50 µs around a constant, all at the minimum delay. */
        for (int64_t i = 0; i < 16; i++)
                add(&f, i * 64 * SEC, 0.001 + (i % 2 ? 50e-6 : -50e-6), DELAY);
        int64_t ref = 15 * 64 * SEC;
        struct filter_estimate e = estimate(&f, ref, UNKNOWN_PRIOR);
        double sum = 0;
        for (int64_t i = 16 - FILTER_JITTER_SAMPLES; i < 16; i++) {
                double r = 0.001 + (i % 2 ? 50e-6 : -50e-6) - (e.uncorrected + e.frequency * ns_to_seconds(i * 64 * SEC - ref));
                sum += r * r;
        }
        assert_double_near(e.jitter, sqrt(sum / FILTER_JITTER_SAMPLES), 1e-12);
        assert_double_near(e.jitter, 50e-6, 10e-6);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty_filter_has_no_estimate),
                cmocka_unit_test(test_single_sample_is_its_own_estimate),
                cmocka_unit_test(test_noise_free_line_is_recovered_exactly),
                cmocka_unit_test(test_near_minimum_delay_samples_dominate),
                cmocka_unit_test(test_frequency_prior_tames_a_short_window),
                cmocka_unit_test(test_burst_then_poll_frequency_is_honest),
                cmocka_unit_test(test_two_fast_burst_samples_do_not_set_the_frequency),
                cmocka_unit_test(test_ring_wrap_keeps_the_newest),
                cmocka_unit_test(test_keep_newest),
                cmocka_unit_test(test_keep_newest_after_a_wrap),
                cmocka_unit_test(test_clear),
                cmocka_unit_test(test_frame_error_discounts_the_samples_held),
                cmocka_unit_test(test_surprise_small_for_a_consistent_sample),
                cmocka_unit_test(test_surprise_large_for_an_outlier),
                cmocka_unit_test(test_surprise_of_an_empty_filter_is_zero),
                cmocka_unit_test(test_jitter_is_the_rms_residual),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
