/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>

#include "core/ntp-time.h"
#include "sim-clock.h"

static double clamp(double v, double lo, double hi) {
        return v < lo ? lo : v > hi ? hi : v;
}

static double ppm_to_rate(double ppm) {
        return clamp(ppm, -SIM_MAX_FREQUENCY_PPM, SIM_MAX_FREQUENCY_PPM) * 1e-6;
}

void sim_clock_init(struct sim_clock *c, const struct sim_clock_config *config, struct sim_rng *rng) {
        *c = (struct sim_clock) {
                .offset = config->initial_offset,
                .free_offset = config->initial_offset,
                .natural_frequency = config->frequency_error_ppm * 1e-6,
                .wander = config->wander,
                .setting = ppm_to_rate(config->initial_setting_ppm),
                .initial_setting = ppm_to_rate(config->initial_setting_ppm),
                .rng = rng,
        };
}

double sim_clock_rate(const struct sim_clock *c) {
        return c->natural_frequency + c->setting + c->pll_rate;
}

static void clock_integrate(struct sim_clock *c, int64_t dt_ns) {
        double dt = ns_to_seconds(dt_ns);

        c->offset += sim_clock_rate(c) * dt;
        c->free_offset += (c->natural_frequency + c->initial_setting) * dt;
}

/* What the kernel does in second_overflow(): take the next chunk of the pending slew, to be spread
 * over the coming second, and what the oscillator does: wander a little. */
static void clock_second_boundary(struct sim_clock *c) {
        double chunk = ldexp(c->pll_remaining, -(SIM_SHIFT_PLL + c->time_constant));

        c->pll_remaining -= chunk;
        c->pll_rate = chunk;
        if (c->wander > 0 && c->rng)
                c->natural_frequency += c->wander * sim_rng_gaussian(c->rng);
}

void sim_clock_advance(struct sim_clock *c, int64_t t_ns) {
        if (t_ns <= c->now_ns)
                return;

        for (;;) {
                int64_t next_second = (c->now_ns / NS_PER_SEC + 1) * NS_PER_SEC;
                if (next_second > t_ns)
                        break;
                clock_integrate(c, next_second - c->now_ns);
                c->now_ns = next_second;
                clock_second_boundary(c);
        }
        clock_integrate(c, t_ns - c->now_ns);
        c->now_ns = t_ns;
}

void sim_clock_set_frequency(struct sim_clock *c, double ppm) {
        c->setting = ppm_to_rate(ppm);
}

void sim_clock_slew(struct sim_clock *c, double offset, int time_constant) {
        /* Like ADJ_OFFSET with STA_FREQHOLD: replaces the pending offset; the chunk of the current
         * second was already decided at its start and stays. */
        c->pll_remaining = clamp(offset, -SIM_MAX_PHASE, SIM_MAX_PHASE);
        c->time_constant = (int) clamp(time_constant, 0, SIM_MAX_TIME_CONSTANT);
}

void sim_clock_step(struct sim_clock *c, double offset) {
        c->offset += offset;
        c->steps_total += offset;
        c->pll_remaining = 0;
        c->pll_rate = 0;
}

int64_t sim_clock_read_ns(const struct sim_clock *c, int64_t start_unix_ns) {
        return start_unix_ns + c->now_ns + llround(c->offset * 1e9);
}
