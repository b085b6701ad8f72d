/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The clock discipline: turns the combined estimate of the sources into clock actions, and keeps
 * the account of every correction it asked for, so that samples taken before and after a
 * correction can be compared (see clock-filter.h).
 *
 * Frequency is set absolutely; offsets are handed to the kernel PLL with the frequency held,
 * which slews them away exponentially with a time constant of 2^(2 + tc) s; offsets beyond the
 * step threshold are stepped, once at start without delay, later only when they persist for the
 * stepout interval; offsets beyond the panic threshold are never applied. */

#include <stdbool.h>
#include <stdint.h>

#define DISCIPLINE_MAX_SLEW 0.5        /* s, the kernel's MAXPHASE */
#define DISCIPLINE_MAX_TIME_CONSTANT 10
#define DISCIPLINE_SETTLED_FREQUENCY_SD 1e-6 /* s/s; below it, noise-sized corrections go slowly */
#define DISCIPLINE_TRUSTED_FREQUENCY_SD 100e-6 /* s/s; a less certain estimate leaves the frequency alone */

struct discipline_config {
        double step_threshold, initial_step_threshold, panic_threshold;
        double stepout;              /* s an offset must stay beyond the step threshold before a step */
        bool allow_initial_step;
        double max_frequency_ppm;
        double initial_frequency_ppm;
        bool clock_control;
};

struct discipline {
        struct discipline_config config;
        /* The correction account, C(t) = base + (frequency - initial) · (t - since) + slew applied by t. */
        int64_t since_mono;
        double base;
        double frequency_ppm;
        double slew;                 /* s, handed to the kernel at since_mono */
        int time_constant;
        bool updated;                /* at least one update was applied */
        int64_t over_step_since;     /* -1, or when offsets first exceeded the step threshold */
        unsigned steps;
};

enum discipline_decision {
        DISCIPLINE_NONE,             /* no update yet */
        DISCIPLINE_SLEW,
        DISCIPLINE_STEP,
        DISCIPLINE_WAIT_STEPOUT,     /* beyond the step threshold, not yet for long enough */
        DISCIPLINE_PANIC,            /* beyond the panic threshold: nothing applied */
};

struct discipline_actions {
        enum discipline_decision decision;
        double step;                 /* s, when stepping */
        double slew;                 /* s, handed to the PLL (0 cancels a slew in progress) */
        int time_constant;
        bool set_frequency;
        double frequency_ppm;
};

void discipline_init(struct discipline *d, const struct discipline_config *c, int64_t now_mono);

/* New thresholds and limits; the account and the frequency stay. */
void discipline_reconfigure(struct discipline *d, const struct discipline_config *c);

/* C(t): everything added to the local clock since start, as far as the actions were carried out. */
double discipline_correction(const struct discipline *d, int64_t t_mono);

/* Decides what to do about an offset (s) and the oscillator's rate against the sources (s/s,
 * relative to the initial frequency) with its standard deviation. Updates the account as if the
 * actions were carried out, unless observing. poll is the system poll (log2 s); offset_noise the
 * offset's expected error (s). */
enum discipline_decision discipline_update(struct discipline *d, int64_t now_mono, double offset, double noise,
                                           double rate, double rate_sd, int poll,
                                           struct discipline_actions *ret);

/* Whether an offset this large would now be stepped after waiting out the stepout interval
 * (over_step_since tells since when it has been large). */
bool discipline_stepout_due(const struct discipline *d, int64_t now_mono, double offset);

/* How far discipline_correction() may be off at t_mono because the kernel takes its slew in
 * whole-second chunks at second boundaries that we do not see: at most one chunk of what remains. */
double discipline_slew_uncertainty(const struct discipline *d, int64_t t_mono);

const char *discipline_decision_to_string(enum discipline_decision d);
