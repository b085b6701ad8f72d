/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The engine's state, shared by its files (engine.c: sources, polling, selection, discipline;
 * engine-status.c: what it reports). Nothing outside the engine includes this. */

#include "clock-filter.h"
#include "discipline.h"
#include "engine.h"
#include "poll.h"
#include "select.h"

#define ACTION_QUEUE_SIZE 256
#define PHI 15e-6                    /* s/s, frequency tolerance: dispersion growth (RFC 5905) */
#define WANDER 1e-9                  /* s^-1/2, frequency random walk assumed for a local oscillator */
#define STARTUP_REPLY_WAIT_NS (INT64_C(4) * 1000000000)
#define STARTUP_BURST_SAMPLES 2      /* samples a bursting source gives before the first update */
#define SYNC_LOSS_POLLS 8            /* missed system-peer polls after which sync is lost */
#define UNKNOWN_FREQUENCY_SD 500e-6
#define KNOWN_FREQUENCY_SD 1e-6
#define MAX_INTERLEAVED_REQUESTS 4   /* unanswered requests after which interleaved requests stop, so
                                      * that no server completes an exchange polls old (chrony's) */

/* The exchange of the last valid reply, which an interleaved reply to the next request completes
 * with the server's real transmit time of that reply (T3). */
struct interleaved_exchange {
        bool valid;
        bool unused;                 /* not accumulated as a basic sample: it may still become one */
        ntp_ts remote_rx;            /* T2: the origin of the next interleaved request */
        int64_t t1_real, t4_real;    /* T1 (transmit timestamp of our request), T4 */
        int64_t rx_mono;             /* when the reply arrived: the sample's time */
        double correction;           /* discipline_correction() then */
        unsigned steps;              /* clock steps done when the request left */
        unsigned requests_since;     /* requests sent since the reply */
};

struct source {
        uint32_t id;
        char *name;
        struct engine_source_config config;
        struct poll_state poll;
        struct request_state request;
        int64_t request_mono;        /* when the outstanding request was queued */
        int64_t first_request_mono;  /* when the source's first request was queued */
        bool burst_request;          /* the outstanding request is part of a burst */
        unsigned request_steps;      /* clock steps done when the request left */
        int64_t t1_real;
        bool t1_known;
        struct interleaved_exchange exchange;
        bool interleaved;            /* the last valid reply was interleaved */
        struct clock_filter filter;
        enum engine_source_state state;
        enum select_tally tally;
        /* From the last accepted reply. */
        uint8_t stratum;
        uint32_t refid;
        enum ntp_leap leap;
        int8_t precision;
        double root_delay, root_dispersion;
        ntp_ts reference_ts, transmit_ts;
        int64_t last_rx_mono;
        double last_offset, last_delay;
        enum response_result last_result;
        /* From the last estimate. */
        bool has_estimate;
        struct filter_estimate estimate;
        double offset, root_distance;
};

struct engine {
        struct engine_config config;
        struct source *sources[ENGINE_MAX_SOURCES];
        size_t n_sources;
        uint32_t next_id;
        int64_t start_mono;
        int64_t last_run_mono;       /* the latest time engine_run() was called with */
        bool offline;
        struct discipline discipline;

        struct engine_action queue[ACTION_QUEUE_SIZE];
        size_t queue_head, queue_len;

        /* The real time at some mono time, for dating leap announcements. */
        int64_t known_real, known_real_mono;
        bool real_known;

        bool synchronized;
        const char *unsync_reason;
        int64_t system_peer;
        uint8_t stratum;
        uint32_t refid;
        double offset, jitter, root_delay, root_dispersion;
        double residual_frequency;
        enum ntp_leap leap;
        int8_t poll;
        int64_t last_update_mono;
        int64_t last_update_real;
        uint64_t packets_sent;
        unsigned n_selected;
        enum discipline_decision last_decision;
};

/* The source with this id, or NULL. */
struct source *engine_find_source(engine *e, uint32_t id);
