/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>
#include <stddef.h>

#include "sim-rng.h"

uint64_t sim_splitmix64(uint64_t *state) {
        uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) {
        return (x << k) | (x >> (64 - k));
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed) {
        /* splitmix64 never yields four zero words in a row, which xoshiro could not leave. */
        for (size_t i = 0; i < 4; i++)
                r->s[i] = sim_splitmix64(&seed);
}

uint64_t sim_rng_next(struct sim_rng *r) {
        uint64_t *s = r->s;
        uint64_t result = rotl(s[1] * 5, 7) * 9;
        uint64_t t = s[1] << 17;

        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        return result;
}

double sim_rng_uniform(struct sim_rng *r) {
        return (double) (sim_rng_next(r) >> 11) * 0x1.0p-53;
}

double sim_rng_exponential(struct sim_rng *r, double mean) {
        return -mean * log1p(-sim_rng_uniform(r));
}

double sim_rng_gaussian(struct sim_rng *r) {
        /* Box-Muller; 1 - u is in (0, 1], so the logarithm stays finite. */
        double u1 = 1.0 - sim_rng_uniform(r);
        double u2 = sim_rng_uniform(r);
        return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

uint64_t sim_rng_engine_u64(void *userdata) {
        return sim_rng_next(userdata);
}
