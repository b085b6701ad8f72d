/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>
#include <string.h>

#include "phc.h"

/* A reading that took longer was interrupted (a PCIe read takes a few microseconds). */
#define MAX_READING_DELAY_NS 10000000
/* A reading slower than this many times the window's fastest one was delayed on the way: its
 * middle says little about the offset. */
#define DELAY_OUTLIER_FACTOR 4.0
/* Noise floor of the outlier test, ns: below a PHC's own resolution the test would refuse all. */
#define OUTLIER_FLOOR_NS 50.0
#define OUTLIER_SIGMAS 4.0
#define ERROR_SIGMAS 3.0
/* Batches come every few seconds: a longer gap, or an offset that changed by more, is a jump. */
#define MAX_SAMPLE_GAP_NS (int64_t) 3600000000000
#define MAX_OFFSET_CHANGE_NS (int64_t) 1000000000

void phc_tracker_init(struct phc_tracker *t) {
        memset(t, 0, sizeof(*t));
}

static bool reading_to_sample(const struct phc_reading *r, struct phc_sample *ret) {
        int64_t delay, mid, offset;
        if (__builtin_sub_overflow(r->sys_after_ns, r->sys_before_ns, &delay) || delay < 0 ||
            delay > MAX_READING_DELAY_NS)
                return false;
        mid = r->sys_before_ns + delay / 2;
        if (__builtin_sub_overflow(mid, r->phc_ns, &offset))
                return false;
        *ret = (struct phc_sample) { .phc_ns = r->phc_ns, .offset_ns = offset, .delay_ns = (double) delay };
        return true;
}

int phc_best_reading(const struct phc_reading *readings, size_t n) {
        int best = -1;
        double best_delay = 0;
        struct phc_sample s;
        for (size_t i = 0; i < n && i < INT32_MAX; i++)
                if (reading_to_sample(&readings[i], &s) && (best < 0 || s.delay_ns < best_delay)) {
                        best = (int) i;
                        best_delay = s.delay_ns;
                }
        return best;
}

bool phc_tracker_ready(const struct phc_tracker *t) {
        return t->n_samples >= PHC_MIN_SAMPLES;
}

/* Least squares over the samples, in differences from the first so that doubles keep the
 * nanoseconds. */
static void fit(struct phc_tracker *t) {
        const struct phc_sample *s0 = &t->samples[0];
        double n = (double) t->n_samples, xm = 0, ym = 0, sxx = 0, sxy = 0, rss = 0;

        t->min_delay_ns = s0->delay_ns;
        for (size_t i = 0; i < t->n_samples; i++) {
                xm += (double) (t->samples[i].phc_ns - s0->phc_ns) / n;
                ym += (double) (t->samples[i].offset_ns - s0->offset_ns) / n;
                t->min_delay_ns = fmin(t->min_delay_ns, t->samples[i].delay_ns);
        }
        for (size_t i = 0; i < t->n_samples; i++) {
                double dx = (double) (t->samples[i].phc_ns - s0->phc_ns) - xm;
                double dy = (double) (t->samples[i].offset_ns - s0->offset_ns) - ym;
                sxx += dx * dx;
                sxy += dx * dy;
        }
        t->slope = sxx > 0 ? sxy / sxx : 0;
        for (size_t i = 0; i < t->n_samples; i++) {
                double dx = (double) (t->samples[i].phc_ns - s0->phc_ns) - xm;
                double dy = (double) (t->samples[i].offset_ns - s0->offset_ns) - ym;
                double r = dy - t->slope * dx;
                rss += r * r;
        }
        t->residual_ns = t->n_samples > 2 ? sqrt(rss / (n - 2)) : 0;
        t->slope_error = sxx > 0 ? t->residual_ns / sqrt(sxx) : 0;
        t->phc_ref_ns = s0->phc_ns + (int64_t) llround(xm);
        t->offset_ns = s0->offset_ns + (int64_t) llround(ym);
}

/* The fitted offset at phc_ns, as the difference from t->offset_ns (a double would lose the
 * nanoseconds of the whole offset); false when phc_ns is too far from the samples. */
static bool offset_at(const struct phc_tracker *t, int64_t phc_ns, double *ret_delta_ns, double *ret_dx) {
        int64_t from_oldest, past_newest, dx;
        if (__builtin_sub_overflow(t->samples[0].phc_ns, phc_ns, &from_oldest) ||
            __builtin_sub_overflow(phc_ns, t->samples[t->n_samples - 1].phc_ns, &past_newest) ||
            from_oldest > PHC_MAX_EXTRAPOLATION_NS || past_newest > PHC_MAX_EXTRAPOLATION_NS)
                return false;
        dx = phc_ns - t->phc_ref_ns;
        *ret_dx = (double) dx;
        *ret_delta_ns = t->slope * (double) dx;
        return true;
}

static bool is_outlier(const struct phc_tracker *t, const struct phc_sample *s) {
        double predicted, dx;
        if (s->delay_ns > DELAY_OUTLIER_FACTOR * t->min_delay_ns + OUTLIER_FLOOR_NS)
                return true;
        if (!offset_at(t, s->phc_ns, &predicted, &dx))
                return true;
        double allowed = OUTLIER_SIGMAS * (t->residual_ns + t->slope_error * fabs(dx)) + s->delay_ns / 2 +
                         OUTLIER_FLOOR_NS;
        return fabs((double) (s->offset_ns - t->offset_ns) - predicted) > allowed;
}

static void append(struct phc_tracker *t, const struct phc_sample *s) {
        if (t->n_samples == PHC_MAX_SAMPLES) {
                memmove(&t->samples[0], &t->samples[1], (PHC_MAX_SAMPLES - 1) * sizeof(t->samples[0]));
                t->n_samples--;
        }
        t->samples[t->n_samples++] = *s;
        fit(t);
}

/* Time must go forward through the window, and not far: a PHC that went back or leapt (set, or
 * reset with its NIC), or an offset that leapt, makes every sample before it worthless. The
 * bounds also keep every difference within the window far from overflowing. */
static bool jumped_from_last(const struct phc_tracker *t, const struct phc_sample *s) {
        if (t->n_samples == 0)
                return false;
        const struct phc_sample *last = &t->samples[t->n_samples - 1];
        int64_t gap, change;
        return __builtin_sub_overflow(s->phc_ns, last->phc_ns, &gap) || gap <= 0 || gap > MAX_SAMPLE_GAP_NS ||
               __builtin_sub_overflow(s->offset_ns, last->offset_ns, &change) || change > MAX_OFFSET_CHANGE_NS ||
               change < -MAX_OFFSET_CHANGE_NS;
}

enum phc_add_result phc_tracker_add(struct phc_tracker *t, const struct phc_reading *readings, size_t n) {
        struct phc_sample s;
        int best = phc_best_reading(readings, n);
        if (best < 0 || !reading_to_sample(&readings[best], &s))
                return PHC_NO_VALID_READING;

        bool jumped = jumped_from_last(t, &s);
        if (!jumped && phc_tracker_ready(t) && is_outlier(t, &s)) {
                if (++t->rejected_in_row < PHC_MAX_REJECTED)
                        return PHC_OUTLIER;
                jumped = true;
        }
        if (jumped) {
                phc_tracker_init(t);
                append(t, &s);
                return PHC_RESET;
        }
        t->rejected_in_row = 0;
        append(t, &s);
        return PHC_ADDED;
}

bool phc_tracker_convert(const struct phc_tracker *t, int64_t phc_ns, int64_t *ret_sys_ns, double *ret_error_ns) {
        double delta, dx, mean_delay = 0;
        int64_t sys;
        if (!phc_tracker_ready(t) || !offset_at(t, phc_ns, &delta, &dx) ||
            __builtin_add_overflow(phc_ns, t->offset_ns, &sys) ||
            __builtin_add_overflow(sys, (int64_t) llround(delta), &sys))
                return false;
        for (size_t i = 0; i < t->n_samples; i++)
                mean_delay += t->samples[i].delay_ns / (double) t->n_samples;
        /* Each reading's middle is within half its delay of the truth; the line's own noise and
         * its slope's uncertainty grow with the distance from the samples' centre. */
        *ret_sys_ns = sys;
        *ret_error_ns = mean_delay / 2 + ERROR_SIGMAS * (t->residual_ns + t->slope_error * fabs(dx));
        return true;
}
