/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The local clock as the kernel runs it: an oscillator with an offset and a natural frequency
 * error that may wander, and the kernel's way of carrying out frequency changes, PLL slews and
 * steps, second by second as second_overflow() does. One model for the engine's unit tests and
 * the simulator, so that both drive the engine against the same clock.
 *
 * True time is the model's own time: nanoseconds since its start, only ever forwards. */

#include <stdint.h>

#include "sim-rng.h"

#define SIM_MAX_FREQUENCY_PPM 500.0 /* kernel MAXFREQ */
#define SIM_MAX_PHASE 0.5           /* kernel MAXPHASE, s */
#define SIM_SHIFT_PLL 2             /* kernel SHIFT_PLL */
#define SIM_MAX_TIME_CONSTANT 10    /* kernel MAXTC */

struct sim_clock_config {
        double initial_offset;       /* local - true at start, s */
        double frequency_error_ppm;  /* natural rate error of the oscillator, positive = fast */
        double wander;               /* random-walk of that rate, standard deviation per sqrt(s) */
        double initial_setting_ppm;  /* kernel frequency setting at start */
};

struct sim_clock {
        int64_t now_ns;              /* true time the state below refers to */
        double offset;               /* local - true, s */
        double free_offset;          /* what offset would be had nothing ever adjusted the clock */
        double natural_frequency;    /* oscillator rate error, s/s; wanders every second */
        double wander;
        double setting;              /* kernel frequency (ADJ_FREQUENCY), s/s */
        double initial_setting;      /* the setting at start, which the free-running clock keeps */
        double pll_remaining;        /* kernel time_offset: slew still to do, s */
        double pll_rate;             /* slew being applied during the current second, s/s */
        int time_constant;
        double steps_total;          /* sum of all steps, s, so that rates can leave them out */
        struct sim_rng *rng;         /* for the wander; may be NULL when wander is 0 */
};

void sim_clock_init(struct sim_clock *c, const struct sim_clock_config *config, struct sim_rng *rng);
/* Integrates the clock up to true time t_ns, applying the PLL chunk at every whole second. */
void sim_clock_advance(struct sim_clock *c, int64_t t_ns);
void sim_clock_set_frequency(struct sim_clock *c, double ppm);
void sim_clock_slew(struct sim_clock *c, double offset, int time_constant);
/* A step, by the engine or by anyone else: like settimeofday, it also ends any slew. */
void sim_clock_step(struct sim_clock *c, double offset);
/* Current rate error of the clock against true time, s/s, slew included. */
double sim_clock_rate(const struct sim_clock *c);
/* The local clock reading in ns since the Unix epoch, given the true epoch time of the start. */
int64_t sim_clock_read_ns(const struct sim_clock *c, int64_t start_unix_ns);
