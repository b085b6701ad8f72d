/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clock-filter.h"
#include "ntp-time.h"

#define MIN_EXCESS_PER_MEDIAN 1.67   /* see min_excess_floor() */

void clock_filter_init(struct clock_filter *f, double wander, double precision) {
        *f = (struct clock_filter) {
                .wander = wander,
                .precision = precision,
        };
}

void clock_filter_clear(struct clock_filter *f) {
        f->n = 0;
        f->next = 0;
}

void clock_filter_add(struct clock_filter *f, const struct filter_sample *s) {
        f->samples[f->next] = *s;
        f->next = (f->next + 1) % FILTER_MAX_SAMPLES;
        if (f->n < FILTER_MAX_SAMPLES)
                f->n++;
}

/* Ring position of the i-th newest sample, 0 being the newest. */
static unsigned nth_newest_index(const struct clock_filter *f, unsigned i) {
        return (f->next + FILTER_MAX_SAMPLES - 1 - i) % FILTER_MAX_SAMPLES;
}

static const struct filter_sample *nth_newest(const struct clock_filter *f, unsigned i) {
        return &f->samples[nth_newest_index(f, i)];
}

const struct filter_sample *clock_filter_newest(const struct clock_filter *f) {
        return f->n > 0 ? nth_newest(f, 0) : NULL;
}

void clock_filter_keep_newest(struct clock_filter *f, unsigned n) {
        if (n >= f->n)
                return;
        struct filter_sample kept[FILTER_MAX_SAMPLES];
        for (unsigned i = 0; i < n; i++)
                kept[n - 1 - i] = *nth_newest(f, i);
        clock_filter_clear(f);
        for (unsigned i = 0; i < n; i++)
                clock_filter_add(f, &kept[i]);
}

void clock_filter_add_frame_error(struct clock_filter *f, double error) {
        for (unsigned i = 0; i < f->n; i++)
                f->samples[nth_newest_index(f, i)].dispersion += error;
}

void clock_filter_keep_since(struct clock_filter *f, int64_t since_mono) {
        unsigned keep = 0;
        while (keep < f->n && nth_newest(f, keep)->t_mono >= since_mono)
                keep++;
        clock_filter_keep_newest(f, keep > 0 ? keep : 1);
}

static int compare_doubles(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

/* The excess delay a sample at the very minimum is still assumed to carry: the minimum of a
 * window is itself above the true shortest path, and the fewer samples the window holds, the
 * further above. For a round trip through two queues with exponential delays, the fastest of n
 * samples exceeds the true minimum by about 1.67 n^(-2/3) times the median excess over it
 * (order statistics of that model, fitted over 4 to 64 samples): half the median for a burst of
 * 6, a tenth for 64. A fixed quarter overrated the fastest samples of a burst, so that their 10 s
 * baseline outweighed the minute to the next poll in the first frequency estimate. */
static double min_excess_floor(const struct clock_filter *f, double min_delay) {
        double excess[FILTER_MAX_SAMPLES];
        for (unsigned i = 0; i < f->n; i++)
                excess[i] = nth_newest(f, i)->delay - min_delay;
        qsort(excess, f->n, sizeof(double), compare_doubles);
        double median = excess[f->n / 2];
        return fmax(2 * f->precision, MIN_EXCESS_PER_MEDIAN * median * pow(f->n, -2.0 / 3));
}

static double window_min_delay(const struct clock_filter *f) {
        double d = INFINITY;
        for (unsigned i = 0; i < f->n; i++)
                d = fmin(d, nth_newest(f, i)->delay);
        return d;
}

/* Variance of a sample's offset as a predictor of the line at ref: its own error, which half
 * its excess round trip bounds, plus what the oscillator can wander since. */
static double sample_variance(const struct clock_filter *f, const struct filter_sample *s, double min_delay,
                              double floor, int64_t ref_mono) {
        double measurement_sd = (s->delay - min_delay + floor) / 2 + s->dispersion;
        double age = fabs(ns_to_seconds(ref_mono - s->t_mono));
        double wander_var = f->wander * f->wander * age * age * age / 3;
        return measurement_sd * measurement_sd + wander_var;
}

struct line_fit {
        double a, b;                 /* value at ref and slope */
        double var_a, var_b;
};

static bool fit_line(const struct clock_filter *f, int64_t ref_mono, double frequency_prior_sd,
                     double min_delay, double floor, struct line_fit *ret) {
        double s = 0, st = 0, stt = 0, su = 0, stu = 0;

        for (unsigned i = 0; i < f->n; i++) {
                const struct filter_sample *x = nth_newest(f, i);
                double w = 1 / sample_variance(f, x, min_delay, floor, ref_mono);
                double t = ns_to_seconds(x->t_mono - ref_mono);
                s += w;
                st += w * t;
                stt += w * t * t;
                su += w * x->uncorrected;
                stu += w * t * x->uncorrected;
        }
        /* The prior: a pseudo-observation that the slope is 0 ± frequency_prior_sd. */
        stt += 1 / (frequency_prior_sd * frequency_prior_sd);

        double det = s * stt - st * st;
        if (!(det > 0))
                return false;
        *ret = (struct line_fit) {
                .a = (stt * su - st * stu) / det,
                .b = (s * stu - st * su) / det,
                .var_a = stt / det,
                .var_b = s / det,
        };
        return true;
}

static double residual_jitter(const struct clock_filter *f, const struct line_fit *fit, int64_t ref_mono) {
        unsigned n = f->n < FILTER_JITTER_SAMPLES ? f->n : FILTER_JITTER_SAMPLES;
        double sum = 0;
        for (unsigned i = 0; i < n; i++) {
                const struct filter_sample *x = nth_newest(f, i);
                double r = x->uncorrected - (fit->a + fit->b * ns_to_seconds(x->t_mono - ref_mono));
                sum += r * r;
        }
        return n > 0 ? sqrt(sum / n) : 0;
}

bool clock_filter_estimate(const struct clock_filter *f, int64_t ref_mono, double frequency_prior_sd,
                           struct filter_estimate *ret) {
        if (f->n == 0)
                return false;

        double min_delay = window_min_delay(f);
        double floor = min_excess_floor(f, min_delay);
        struct line_fit fit;
        if (!fit_line(f, ref_mono, frequency_prior_sd, min_delay, floor, &fit))
                return false;

        const struct filter_sample *newest = nth_newest(f, 0);
        *ret = (struct filter_estimate) {
                .uncorrected = fit.a,
                .frequency = fit.b,
                .offset_sd = sqrt(fit.var_a),
                .frequency_sd = sqrt(fit.var_b),
                .jitter = residual_jitter(f, &fit, ref_mono),
                .min_delay = min_delay,
                .last_delay = newest->delay,
                .last_mono = newest->t_mono,
                .n = f->n,
        };
        return true;
}

double clock_filter_surprise(const struct clock_filter *f, const struct filter_sample *s,
                             double frequency_prior_sd) {
        if (f->n == 0)
                return 0;
        double min_delay = fmin(window_min_delay(f), s->delay);
        double floor = min_excess_floor(f, min_delay);
        struct line_fit fit;
        if (!fit_line(f, s->t_mono, frequency_prior_sd, min_delay, floor, &fit))
                return 0;
        double var = fit.var_a + sample_variance(f, s, min_delay, floor, s->t_mono);
        return fabs(s->uncorrected - fit.a) / sqrt(var);
}
