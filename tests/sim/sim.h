#pragma once

/* The simulator: the core engine in virtual time, against a modelled local clock, network and
 * servers. Everything here is deterministic for a given seed.
 *
 * True time is the virtual time itself (nanoseconds since the start of a run). The local clock
 * runs off it with an offset, a natural frequency error that wanders, and the kernel's way of
 * carrying out frequency changes, slews and steps. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

/* ---- random numbers: xoshiro256**, seeded through splitmix64 ---- */

struct sim_rng {
        uint64_t s[4];
};

void sim_rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *r);
double sim_rng_uniform(struct sim_rng *r);          /* [0, 1) */
double sim_rng_exponential(struct sim_rng *r, double mean);
double sim_rng_gaussian(struct sim_rng *r);         /* mean 0, standard deviation 1 */
uint64_t sim_rng_engine_u64(void *userdata);        /* engine_config.random_u64 */

/* ---- the local clock ---- */

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
void sim_clock_step(struct sim_clock *c, double offset);
/* Current rate error of the clock against true time, s/s, slew included. */
double sim_clock_rate(const struct sim_clock *c);
/* The local clock reading in ns since the Unix epoch, given the true epoch time of the start. */
int64_t sim_clock_read_ns(const struct sim_clock *c, int64_t start_unix_ns);

/* ---- the network ---- */

struct sim_path {
        double delay;                /* fixed part, s */
        double jitter_mean;          /* mean of the exponential part, s */
        double loss;                 /* probability that a packet is lost */
};

/* Returns false when the packet is lost, else its one-way delay. */
bool sim_path_transit(const struct sim_path *p, struct sim_rng *rng, double *ret_delay);

/* ---- scenarios ---- */

#define SIM_MAX_SERVERS 8
#define SIM_SERVER_PROCESSING 5e-6   /* s between a server's receive and transmit timestamps */

struct sim_server {
        double offset;               /* server clock - true time, s: nonzero makes a falseticker */
        struct sim_path to_server, to_client;
        double down_from, down_until;/* s since start: requests arriving in between get no answer */
};

struct sim_scenario {
        const char *name;
        const char *description;
        double duration;             /* s */
        int64_t start_unix;          /* true time at the start, s since the Unix epoch */
        struct sim_clock_config clock;
        bool iburst;
        bool drift_file;             /* the engine starts with the frequency that corrects the clock */
        double initial_step_threshold; /* s; 0 keeps the engine's default */
        double metrics_after;        /* s; RMS and maximum figures use samples after it */
        unsigned n_servers;
        struct sim_server servers[SIM_MAX_SERVERS];
};

extern const struct sim_scenario sim_scenarios[];
extern const size_t sim_n_scenarios;
const struct sim_scenario *sim_scenario_find(const char *name);

/* ---- results ---- */

#define SIM_SYNC_MAX_OFFSET 1e-3      /* s */
#define SIM_SYNC_MAX_FREQUENCY 500.0  /* ppm */

/* Taken every simulated second. */
struct sim_sample {
        double t;                    /* s since start */
        double offset;               /* local - true, s */
        double frequency_error_ppm;  /* d(offset)/dt over the last second, steps left out */
        double correction;           /* offset minus the free-running offset: the engine's doing */
        bool synchronized;           /* engine status */
        uint64_t packets;            /* requests sent so far */
};

struct sim_source_sample {
        enum engine_source_state state;
        uint8_t reach;
        int8_t poll;
        char tally;
};

struct sim_metrics {
        double sync_time;            /* s after which the clock stayed synchronized; -1: never */
        double rms_offset, max_offset; /* s, over samples after metrics_after */
        double rms_frequency_ppm;    /* over samples after metrics_after */
        unsigned steps;              /* STEP actions */
        uint64_t packets;            /* SEND actions */
        uint64_t replies;            /* replies delivered to the engine */
        uint64_t replies_rejected;   /* of those, the ones engine_receive() did not accept */
        double final_offset;         /* s */
        double max_correction;       /* s, largest |correction| of the run */
        bool synchronized;           /* engine status at the end */
        const char *unsync_reason;   /* engine status at the end, NULL when synchronized */
        bool kernel_synchronized;    /* what the last SET_STATUS action told the kernel */
        double kernel_est_error;     /* s, from the same action */
        unsigned status_updates;     /* SET_STATUS actions */
        int system_peer;             /* server index at the end, -1 when none */
};

struct sim_result {
        struct sim_metrics metrics;
        struct sim_sample *samples;
        size_t n_samples;
        struct sim_source_sample *source_samples; /* n_samples rows of n_servers */
        unsigned n_servers;
};

/* Time to synchronize and the RMS and maximum figures of a sample sequence; leaves the fields it
 * does not compute alone. */
void sim_metrics_from_samples(const struct sim_sample *samples, size_t n, double after,
                              struct sim_metrics *ret);

/* Runs a scenario to its end. Returns 0, or a negative errno when the run could not be carried
 * out (out of memory, or an engine that asks to be woken again and again at the same instant). */
int sim_run(const struct sim_scenario *s, uint64_t seed, struct sim_result *ret);
void sim_result_done(struct sim_result *r);
/* Explains a negative return value of sim_run(). */
const char *sim_error_to_string(int r);

static inline const struct sim_source_sample *sim_result_source(const struct sim_result *r, size_t sample,
                                                                unsigned server) {
        return &r->source_samples[sample * r->n_servers + server];
}
