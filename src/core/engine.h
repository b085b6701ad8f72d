/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The sans-I/O NTP client engine: sources, their filters, selection and the clock discipline.
 *
 * It never performs I/O and never reads a clock. The driver (the daemon on sd-event, or the
 * simulator in virtual time) feeds it events with the times they happened at, and drains the
 * actions it wants carried out:
 *
 *     engine_run(e, now)             on start and whenever engine_next_wakeup() is reached
 *     engine_request_sent(e, id, t1) after a SEND action left the machine (t1: local real time)
 *     engine_receive(e, id, buf, t4) for every datagram from that source's socket
 *     engine_next_action(e, &a)      until it returns false, after each of the calls above
 *
 * Two time scales are used. "mono" is a monotonic nanosecond count that never steps (the driver's
 * CLOCK_MONOTONIC, the simulator's elapsed time); schedules and sample ages live on it. "real" is
 * the disciplined clock itself (CLOCK_REALTIME, nanoseconds since the Unix epoch); NTP timestamps
 * are taken from it.
 *
 * Sign conventions: an offset is what must be added to the local clock to make it right (the NTP
 * offset θ, positive when the local clock is behind). A frequency is the kernel's ADJ_FREQUENCY
 * value in ppm: positive makes the local clock run faster. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "discipline.h"
#include "ntp-checks.h"
#include "ntp-packet.h"

#define ENGINE_MAX_SOURCES 256
#define ENGINE_NAME_MAX 256

typedef struct engine engine;

struct engine_config {
        double step_threshold;       /* s; offsets beyond it are stepped (0: never step after start) */
        double initial_step_threshold; /* s; for the first clock update only (the step-tickers step) */
        bool allow_initial_step;     /* one step at start when the offset exceeds initial_step_threshold */
        double panic_threshold;      /* s; offsets beyond it are never applied (0: no limit) */
        double stepout;              /* s an offset must stay beyond step_threshold before a step */
        unsigned min_sources;        /* agreeing sources needed before the clock is touched */
        double max_frequency_ppm;    /* |frequency| limit, 500 */
        double initial_frequency_ppm;/* the frequency the clock runs with at start (drift file or kernel) */
        bool initial_frequency_known;/* a trusted drift file: no need to learn the frequency from scratch */
        double min_distance;         /* s; the narrowest correctness interval's half-width in selection */
        double max_distance;         /* s; sources with a larger root distance are not selected */
        bool clock_control;          /* false: observe only: no clock actions, offsets still measured */
        int8_t precision;            /* log2 s of the local clock reading, reported and used as noise floor */
        uint64_t (*random_u64)(void *userdata); /* origin nonces and poll jitter; must not be predictable */
        void *random_userdata;
};

/* Fills the defaults: step 0.128 s, panic 1000 s, stepout 300 s, one initial step, min_sources 1, ±500 ppm,
 * min_distance 0.001 s, max_distance 1.5 s, clock control on, precision -20. random_u64 must still be set. */
void engine_config_init(struct engine_config *c);

struct engine_source_config {
        const char *name;            /* shown in status; copied */
        uint32_t refid;              /* what our refid becomes when this source is the system peer */
        int8_t minpoll, maxpoll;     /* log2 s; defaults 6 and 10 when both are 0 */
        bool iburst;                 /* a burst of requests 2 s apart at start and on recovery */
        bool prefer;
        bool noselect;               /* measured and shown, never used for the clock */
        bool xleave;                 /* interleaved requests; basic replies are still used */
};

enum engine_action_kind {
        ENGINE_ACTION_SEND,          /* send packet[0..packet_len) to source_id */
        ENGINE_ACTION_SET_FREQUENCY, /* set the clock frequency to frequency_ppm (absolute) */
        ENGINE_ACTION_SLEW,          /* replace any slew in progress by one of offset seconds,
                                      * carried out as the kernel PLL with time_constant (log2) does */
        ENGINE_ACTION_STEP,          /* add offset seconds to the clock at once */
        ENGINE_ACTION_SET_STATUS,    /* synchronized, leap, max_error, est_error for the kernel */
};

struct engine_action {
        enum engine_action_kind kind;
        uint32_t source_id;
        uint8_t packet[NTP_HEADER_SIZE];
        size_t packet_len;
        double frequency_ppm;
        double offset;
        int time_constant;
        bool synchronized;
        enum ntp_leap leap;
        double max_error, est_error; /* s */
};

enum engine_source_state {
        SOURCE_STATE_NEW,            /* no valid reply yet */
        SOURCE_STATE_OK,
        SOURCE_STATE_UNREACHABLE,    /* reach register is empty after having polled */
        SOURCE_STATE_DENIED,         /* KoD DENY or RSTR: no longer polled */
        SOURCE_STATE_FALSETICKER,
        SOURCE_STATE_TOO_FAR,        /* root distance above max_distance */
};

struct engine_source_info {
        uint32_t id;
        const char *name;            /* valid until the source is removed */
        enum engine_source_state state;
        char tally;                  /* ntpq -p tally code: '*' '+' '-' 'x' '#' ' ' */
        uint8_t stratum;
        uint32_t refid;
        enum ntp_leap leap;          /* of its last reply, as the rest of this block */
        int8_t precision;
        double source_root_delay, source_root_dispersion; /* s */
        ntp_ts reference_ts, transmit_ts;
        int8_t poll;
        uint8_t reach;               /* 8-bit shift register, newest in bit 0 */
        int64_t last_rx_mono;        /* -1: never */
        double offset, delay, jitter, dispersion, root_distance; /* s */
        double frequency_ppm;        /* of the local clock against this source, estimated */
        unsigned samples;
        enum response_result last_result;
        bool prefer, noselect, iburst, xleave;
        bool interleaved;            /* the last valid reply came in interleaved mode */
};

struct engine_status {
        bool synchronized;
        const char *unsync_reason;   /* static text when not synchronized */
        uint8_t stratum;             /* 16 when not synchronized */
        uint32_t refid;
        int64_t system_peer;         /* source id, -1 when none */
        double offset;               /* last combined offset, s */
        double frequency_ppm;        /* frequency the clock is set to */
        double residual_frequency_ppm; /* estimated remaining frequency error */
        double root_delay, root_dispersion; /* s, as we would serve them */
        enum ntp_leap leap;          /* pending leap second, if accepted */
        int8_t poll;                 /* system poll (the system peer's) */
        int64_t last_update_mono;    /* -1: never */
        int64_t last_update_real;    /* the local clock at the last update, ns since the epoch */
        double jitter;               /* s, combined: selection spread and the peer's own */
        unsigned steps;              /* clock steps done */
        uint64_t packets_sent;
        unsigned n_selected;         /* sources that survived selection */
        enum discipline_decision last_decision; /* what the last update did or (observing) would do */
};

engine *engine_new(const struct engine_config *c);

/* Thresholds, limits and min_sources change at once; clock_control, the frequency and the
 * random source are kept from engine_new(). */
void engine_reconfigure(engine *e, const struct engine_config *c);
engine *engine_free(engine *e);

/* Returns the new source's id (never reused), or a negative errno (-E2BIG when full, -EINVAL). */
int64_t engine_add_source(engine *e, const struct engine_source_config *c, int64_t now_mono);
int engine_remove_source(engine *e, uint32_t id);

/* Timers. Call at start and whenever the wakeup time is reached. */
void engine_run(engine *e, int64_t now_mono);
int64_t engine_next_wakeup(engine *e);

/* The request of the last SEND action to source id left at local time t1_real (a kernel transmit
 * timestamp when there is one, else the time read just before sending). It may be called twice
 * (the time read, then the kernel's): the last call counts. In interleaved mode this time is
 * also the T1 of the sample the next reply completes. */
void engine_request_sent(engine *e, uint32_t id, int64_t t1_real);

/* A datagram arrived on the socket of source id at local time t4_real (kernel receive timestamp).
 * Returns what became of it; nothing changes unless it is RESPONSE_OK or an authentic KoD. */
enum response_result engine_receive(engine *e, uint32_t id, const uint8_t *buf, size_t len,
                                    int64_t t4_real, int64_t now_mono);

/* Every poll now, as a restart used to do; unreachable sources get a burst. */
void engine_burst(engine *e, int64_t now_mono);

/* One source now, with a burst when it was never reached or has iburst (the keys it waited
 * for arrived). */
void engine_poll_source_now(engine *e, uint32_t id, int64_t now_mono);

/* The network changed: sources that have been unreachable get a burst now instead of waiting
 * out their backoff; the others keep their schedule. */
void engine_burst_unreachable(engine *e, int64_t now_mono);

/* No usable route (offline): nothing is sent, and the polls missed meanwhile do not count
 * against the sources' reach. Back online, polling resumes at once, with a burst for the
 * sources that have been unreachable or asked for iburst. Engines start online. */
void engine_set_online(engine *e, bool online, int64_t now_mono);

bool engine_next_action(engine *e, struct engine_action *ret);

void engine_get_status(engine *e, int64_t now_mono, struct engine_status *ret);
/* Sources in the order they were added; returns how many were written. */
size_t engine_get_sources(engine *e, struct engine_source_info *ret, size_t max);
int engine_get_source(engine *e, uint32_t id, struct engine_source_info *ret);

const char *engine_source_state_to_string(enum engine_source_state s);
