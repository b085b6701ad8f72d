/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The simulator: the core engine in virtual time, against a modelled local clock, network and
 * servers. Everything here is deterministic for a given seed.
 *
 * True time is the virtual time itself (nanoseconds since the start of a run). The local clock
 * (tests/model/sim-clock.h, shared with the engine's unit tests) runs off it with an offset, a
 * natural frequency error that wanders, and the kernel's way of carrying out frequency changes,
 * slews and steps. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/engine.h"
#include "sim-clock.h"
#include "sim-rng.h"

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
        /* A loaded server: each reply leaves a uniformly random time in [min, max] s after the
         * transmit timestamp written in it. */
        double tx_delay_min, tx_delay_max;
        bool interleaved;            /* answers interleaved requests with the previous reply's real
                                      * departure (as chronyd does) */
};

struct sim_scenario {
        const char *name;
        const char *description;
        double duration;             /* s */
        int64_t start_unix;          /* true time at the start, s since the Unix epoch */
        struct sim_clock_config clock;
        bool iburst;
        bool xleave;                 /* the sources ask for interleaved mode */
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
