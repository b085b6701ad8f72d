/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>

#include "discipline.h"
#include "ntp-time.h"

void discipline_init(struct discipline *d, const struct discipline_config *c, int64_t now_mono) {
        *d = (struct discipline) {
                .config = *c,
                .since_mono = now_mono,
                .frequency_ppm = c->initial_frequency_ppm,
                .over_step_since = -1,
        };
}

void discipline_reconfigure(struct discipline *d, const struct discipline_config *c) {
        double initial = d->config.initial_frequency_ppm;
        d->config = *c;
        d->config.initial_frequency_ppm = initial;
}

/* The kernel takes slew / 2^(2 + tc) of what remains every second. */
static double slew_applied(double slew, int time_constant, double elapsed) {
        if (slew == 0 || elapsed <= 0)
                return 0;
        double keep_per_second = 1 - ldexp(1.0, -(2 + time_constant));
        return slew * (1 - pow(keep_per_second, elapsed));
}

static double slew_remaining(double slew, int time_constant, double elapsed) {
        return slew - slew_applied(slew, time_constant, elapsed);
}

double discipline_slew_uncertainty(const struct discipline *d, int64_t t_mono) {
        double elapsed = ns_to_seconds(t_mono - d->since_mono);
        return fabs(slew_remaining(d->slew, d->time_constant, elapsed)) * ldexp(1.0, -(2 + d->time_constant));
}

double discipline_correction(const struct discipline *d, int64_t t_mono) {
        double elapsed = ns_to_seconds(t_mono - d->since_mono);
        double frequency_part = (d->frequency_ppm - d->config.initial_frequency_ppm) * 1e-6 * elapsed;
        return d->base + frequency_part + slew_applied(d->slew, d->time_constant, elapsed);
}

const char *discipline_decision_to_string(enum discipline_decision d) {
        switch (d) {
        case DISCIPLINE_NONE: return "none";
        case DISCIPLINE_SLEW: return "slew";
        case DISCIPLINE_STEP: return "step";
        case DISCIPLINE_WAIT_STEPOUT: return "offset beyond the step threshold, waiting before stepping";
        case DISCIPLINE_PANIC: return "offset beyond the panic threshold, not applied";
        }
        return "unknown";
}

static double clamp(double v, double lo, double hi) {
        return v < lo ? lo : v > hi ? hi : v;
}

/* Noise-sized corrections are spread over about one poll interval, so that they do not show as
 * frequency errors; corrections far above the noise go faster, down to the kernel's fastest. */
static int choose_time_constant(double offset, double noise, double rate_sd, int poll) {
        bool settled = rate_sd <= DISCIPLINE_SETTLED_FREQUENCY_SD;
        double ratio = fabs(offset) / fmax(noise, 1e-9);

        /* Until the frequency is known, an offset beyond its own uncertainty is frequency error that
         * built up since the last update: real, and growing until the new frequency takes over.
         * Spreading it out only makes it last (a 2 ms offset took 11 s to halve at poll 6). The
         * kernel's fastest slew removes it in seconds, and costs the next estimate nothing: samples
         * are kept in a frame that corrections do not disturb. */
        if (!settled && ratio > 1)
                return 0;
        int tc = settled ? poll - 2 : poll - 4;
        if (ratio > 8)
                tc -= 2 + (int) floor(log2(ratio / 8));
        return (int) clamp(tc, 0, DISCIPLINE_MAX_TIME_CONSTANT);
}

bool discipline_stepout_due(const struct discipline *d, int64_t now_mono, double offset) {
        const struct discipline_config *c = &d->config;
        if (!d->updated || c->step_threshold <= 0 || fabs(offset) <= c->step_threshold || d->over_step_since < 0)
                return false;
        if (c->panic_threshold > 0 && fabs(offset) > c->panic_threshold)
                return false;
        return ns_to_seconds(now_mono - d->over_step_since) >= c->stepout;
}

static enum discipline_decision decide(struct discipline *d, int64_t now_mono, double offset) {
        const struct discipline_config *c = &d->config;
        double magnitude = fabs(offset);

        if (c->panic_threshold > 0 && magnitude > c->panic_threshold)
                return DISCIPLINE_PANIC;
        /* Without the initial step (a restart within the boot), the first update is held to the
         * rules of every later one: a bad server gets no step before the stepout. */
        if (!d->updated && c->allow_initial_step)
                return magnitude > c->initial_step_threshold ? DISCIPLINE_STEP : DISCIPLINE_SLEW;
        if (c->step_threshold <= 0 || magnitude <= c->step_threshold) {
                d->over_step_since = -1;
                return DISCIPLINE_SLEW;
        }
        if (d->over_step_since < 0)
                d->over_step_since = now_mono;
        if (ns_to_seconds(now_mono - d->over_step_since) < c->stepout)
                return DISCIPLINE_WAIT_STEPOUT;
        d->over_step_since = -1;
        return DISCIPLINE_STEP;
}

/* Moves the account forward to now and records the new actions from there on. */
static void account(struct discipline *d, int64_t now_mono, const struct discipline_actions *a) {
        d->base = discipline_correction(d, now_mono) + (a->decision == DISCIPLINE_STEP ? a->step : 0);
        d->since_mono = now_mono;
        d->slew = a->slew;
        d->time_constant = a->time_constant;
        if (a->set_frequency)
                d->frequency_ppm = a->frequency_ppm;
}

enum discipline_decision discipline_update(struct discipline *d, int64_t now_mono, double offset, double noise,
                                           double rate, double rate_sd, int poll,
                                           struct discipline_actions *ret) {
        const struct discipline_config *c = &d->config;
        enum discipline_decision decision = decide(d, now_mono, offset);
        struct discipline_actions a = { .decision = decision };

        if (decision == DISCIPLINE_PANIC || decision == DISCIPLINE_WAIT_STEPOUT) {
                *ret = a;
                return decision;
        }

        if (rate_sd <= DISCIPLINE_TRUSTED_FREQUENCY_SD) {
                a.set_frequency = true;
                a.frequency_ppm = clamp(c->initial_frequency_ppm + rate * 1e6, -c->max_frequency_ppm,
                                        c->max_frequency_ppm);
        }
        if (decision == DISCIPLINE_STEP) {
                a.step = offset;
                a.slew = 0;
                a.time_constant = poll - 2 < 0 ? 0 : poll - 2;
        } else {
                a.slew = clamp(offset, -DISCIPLINE_MAX_SLEW, DISCIPLINE_MAX_SLEW);
                a.time_constant = choose_time_constant(offset, noise, rate_sd, poll);
        }

        /* Observing, nothing is ever applied: every decision is the one a first update would be. */
        if (c->clock_control) {
                account(d, now_mono, &a);
                d->steps += decision == DISCIPLINE_STEP;
                d->updated = true;
        }
        *ret = a;
        return decision;
}
