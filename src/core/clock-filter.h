/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Per-source sample window and its estimate.
 *
 * Each sample is kept in a frame that local clock corrections do not disturb: its "uncorrected"
 * offset is the measured offset plus every correction the engine had applied by then, so it
 * follows the free-running oscillator. A weighted least-squares line through the window gives the
 * oscillator's offset and frequency against this source.
 *
 * The weights do what the classic 8-stage minimum-delay filter does, and more: a sample's error
 * is bounded by half of how much its round trip exceeds the shortest one seen, so near-minimum
 * samples dominate, and no sample is thrown away. Older samples lose weight as the oscillator's
 * frequency wanders (a random walk of `wander` per √s), which limits the window by what the
 * clock does rather than by a fixed count. */

#include <stdbool.h>
#include <stdint.h>

#define FILTER_MAX_SAMPLES 64
#define FILTER_JITTER_SAMPLES 8

struct filter_sample {
        int64_t t_mono;              /* ns, when the reply arrived */
        double offset;               /* s, measured (θ) */
        double uncorrected;          /* s, offset + corrections applied up to t_mono */
        double delay;                /* s, round trip (δ), never below the precision */
        double dispersion;           /* s, the sample's own: both clocks' precision */
};

struct clock_filter {
        struct filter_sample samples[FILTER_MAX_SAMPLES];
        unsigned n;                  /* how many are held */
        unsigned next;               /* ring position of the next write */
        double wander;               /* s^-1/2, frequency random walk assumed for the local oscillator */
        double precision;            /* s, smallest error any sample can have */
};

struct filter_estimate {
        double uncorrected;          /* s, the line's value at the reference time */
        double frequency;            /* s/s, the line's slope: the oscillator's rate against the source */
        double offset_sd, frequency_sd; /* standard deviations of the two above */
        double jitter;               /* s, RMS residual of the newest samples */
        double min_delay;            /* s, shortest round trip in the window */
        double last_delay;           /* s, of the newest sample */
        int64_t last_mono;           /* ns, newest sample */
        unsigned n;
};

void clock_filter_init(struct clock_filter *f, double wander, double precision);
void clock_filter_add(struct clock_filter *f, const struct filter_sample *s);
void clock_filter_clear(struct clock_filter *f);
/* Drops the samples older than since_mono (the newest one is always kept). */
void clock_filter_keep_since(struct clock_filter *f, int64_t since_mono);
/* Drops all but the newest n samples (after the oscillator was found to have changed). */
void clock_filter_keep_newest(struct clock_filter *f, unsigned n);

/* Every sample held so far may be off by up to error s against the ones to come (the account of
 * corrections is uncertain by that much): they count for less from now on. */
void clock_filter_add_frame_error(struct clock_filter *f, double error);

/* The newest sample, or NULL when empty. */
const struct filter_sample *clock_filter_newest(const struct clock_filter *f);

/* The estimate at ref_mono. frequency_prior_sd is how far the slope may plausibly be from 0 (the
 * frequency the clock started with) before any sample: it keeps a short window from producing a
 * wild frequency. Returns false when there are no samples. */
bool clock_filter_estimate(const struct clock_filter *f, int64_t ref_mono, double frequency_prior_sd,
                           struct filter_estimate *ret);

/* How far a new sample lies from the current line, in standard deviations of both. */
double clock_filter_surprise(const struct clock_filter *f, const struct filter_sample *s,
                             double frequency_prior_sd);
