/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Random numbers for the models: xoshiro256**, seeded through splitmix64. Deterministic for a
 * given seed, so that every run of a test or a scenario is the same. */

#include <stdint.h>

struct sim_rng {
        uint64_t s[4];
};

/* One step of splitmix64 on *state: what seeds the generators, and a small generator of its own. */
uint64_t sim_splitmix64(uint64_t *state);

void sim_rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *r);
double sim_rng_uniform(struct sim_rng *r);          /* [0, 1) */
double sim_rng_exponential(struct sim_rng *r, double mean);
double sim_rng_gaussian(struct sim_rng *r);         /* mean 0, standard deviation 1 */
uint64_t sim_rng_engine_u64(void *userdata);        /* engine_config.random_u64 */
