/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "poll.h"

static int8_t clamp_poll(int v) {
        return (int8_t) (v < POLL_LIMIT_MIN ? POLL_LIMIT_MIN : v > POLL_LIMIT_MAX ? POLL_LIMIT_MAX : v);
}

int64_t poll_interval_ns(int8_t poll) {
        return (INT64_C(1) << clamp_poll(poll)) * INT64_C(1000000000);
}

uint32_t poll_seconds(int poll) {
        return (uint32_t) 1u << (poll < 0 ? 0 : poll > POLL_LIMIT_MAX ? POLL_LIMIT_MAX : poll);
}

void poll_init(struct poll_state *p, int8_t minpoll, int8_t maxpoll, bool iburst, int64_t now_mono) {
        if (minpoll == 0 && maxpoll == 0) {
                minpoll = POLL_DEFAULT_MIN;
                maxpoll = POLL_DEFAULT_MAX;
        }
        minpoll = clamp_poll(minpoll);
        maxpoll = clamp_poll(maxpoll);
        if (maxpoll < minpoll)
                maxpoll = minpoll;

        *p = (struct poll_state) {
                .minpoll = minpoll,
                .maxpoll = maxpoll,
                .poll = minpoll,
                .iburst = iburst,
                .burst_left = iburst ? POLL_BURST_COUNT : 0,
                .next_mono = now_mono,
        };
}

static bool unreachable(const struct poll_state *p) {
        return p->reach == 0 && p->sent >= 8;
}

/* A regular request opens a poll interval; so does the first request of a burst, whose others
 * fill that interval instead of pushing the next poll back by the burst's length. */
static bool opens_interval(const struct poll_state *p) {
        return p->burst_left == 0 || p->burst_left == POLL_BURST_COUNT;
}

/* One interval after the request that opened it; never closer to the last request than a burst's
 * spacing, for an interval shorter than the burst. */
static int64_t next_regular_poll(const struct poll_state *p, int64_t now_mono, int64_t jitter_ns) {
        int64_t due = p->interval_start_mono + poll_interval_ns(p->poll) + jitter_ns;
        int64_t earliest = now_mono + POLL_BURST_INTERVAL_NS;
        return due > earliest ? due : earliest;
}

void poll_sent(struct poll_state *p, int64_t now_mono, int64_t jitter_ns) {
        if (opens_interval(p))
                p->interval_start_mono = now_mono;
        p->reach <<= 1;
        p->sent++;
        if (p->burst_left > 0)
                p->burst_left--;
        /* Nothing heard for a whole register: poll less often, up to maxpoll. */
        if (unreachable(p) && p->poll < p->maxpoll)
                p->poll++;
        if (p->burst_left > 0)
                p->next_mono = now_mono + POLL_BURST_INTERVAL_NS;
        else
                p->next_mono = next_regular_poll(p, now_mono, jitter_ns);
}

/* A shorter interval takes effect now, not after the long wait already scheduled. */
static void shorten_interval(struct poll_state *p, int8_t poll) {
        p->poll = poll;
        p->consistent = 0;
        int64_t due = p->interval_start_mono + poll_interval_ns(poll);
        if (p->sent > 0 && p->burst_left == 0 && due < p->next_mono)
                p->next_mono = due;
}

bool poll_replied(struct poll_state *p) {
        bool was_unreachable = unreachable(p);
        p->reach |= 1;
        if (was_unreachable)
                shorten_interval(p, p->minpoll);
        return was_unreachable;
}

void poll_adapt(struct poll_state *p, double surprise) {
        if (p->burst_left > 0)
                return;
        if (surprise > POLL_INCONSISTENT) {
                if (p->poll > p->minpoll)
                        shorten_interval(p, (int8_t) (p->poll - 1));
                p->consistent = 0;
                return;
        }
        if (surprise > POLL_CONSISTENT) {
                p->consistent = 0;
                return;
        }
        if (++p->consistent >= POLL_RAISE_AFTER && p->poll < p->maxpoll) {
                p->poll++;
                p->consistent = 0;
        }
}

void poll_start_burst(struct poll_state *p, int64_t now_mono) {
        p->burst_left = POLL_BURST_COUNT;
        p->next_mono = now_mono;
}

void poll_back_off(struct poll_state *p) {
        if (p->minpoll < p->maxpoll)
                p->minpoll++;
        if (p->poll < p->minpoll)
                p->poll = p->minpoll;
        p->burst_left = 0;
        p->consistent = 0;
}

void poll_reset_interval(struct poll_state *p) {
        shorten_interval(p, p->minpoll);
}
