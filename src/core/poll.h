/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Poll scheduling for one source: the interval between minpoll and maxpoll, adapted to how well
 * new samples agree with the estimate; bursts at start (iburst) and on recovery; the 8-bit reach
 * register; backoff while unreachable and on a RATE kiss. */

#include <stdbool.h>
#include <stdint.h>

#define POLL_DEFAULT_MIN 6
#define POLL_DEFAULT_MAX 10
#define POLL_LIMIT_MIN 3             /* 8 s, the least we ever poll a server at */
#define POLL_LIMIT_MAX 17
#define POLL_BURST_COUNT 6           /* requests in a burst, the first included */
#define POLL_BURST_INTERVAL_NS (INT64_C(2) * 1000000000)
#define POLL_RAISE_AFTER 16           /* consistent samples before the interval doubles */
#define POLL_CONSISTENT 2.0          /* a sample within this many standard deviations is consistent */
#define POLL_INCONSISTENT 5.0        /* beyond this many, the interval halves */

struct poll_state {
        int8_t minpoll, maxpoll, poll;
        uint8_t reach;               /* newest in bit 0 */
        bool iburst;
        unsigned burst_left;         /* requests still to send 2 s apart */
        unsigned consistent;         /* samples in a row that agreed with the estimate */
        unsigned sent;               /* requests sent in all */
        int64_t interval_start_mono; /* the request that opened the current poll interval: the last
                                      * regular one, or the first of a burst */
        int64_t next_mono;
};

/* Normalizes the limits (defaults for 0/0, clamped, min ≤ max) and schedules the first poll now. */
void poll_init(struct poll_state *p, int8_t minpoll, int8_t maxpoll, bool iburst, int64_t now_mono);

/* A request goes out now; jitter_ns (0..) spreads the next one. A burst stands for one poll: the
 * poll after it is due one interval after the burst began, as ntpd schedules it, not one interval
 * after the burst's last request. */
void poll_sent(struct poll_state *p, int64_t now_mono, int64_t jitter_ns);

/* A valid reply arrived. Returns true when the source had been unreachable. */
bool poll_replied(struct poll_state *p);

/* How far the new sample was from the estimate, in standard deviations. */
void poll_adapt(struct poll_state *p, double surprise);

void poll_start_burst(struct poll_state *p, int64_t now_mono);
void poll_back_off(struct poll_state *p);  /* RATE kiss */
void poll_reset_interval(struct poll_state *p);

int64_t poll_interval_ns(int8_t poll);

/* A poll exponent as the interfaces report it: 2^poll seconds, poll taken within 0..POLL_LIMIT_MAX
 * (unlike poll_interval_ns(), which never goes below POLL_LIMIT_MIN: a report says what is). */
uint32_t poll_seconds(int poll);
