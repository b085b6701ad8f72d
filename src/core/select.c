/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>
#include <stdlib.h>

#include "select.h"

#define MAX_ENDPOINTS (3 * 64)

struct endpoint {
        double value;
        int type;                    /* +1 lower end, 0 midpoint, -1 upper end */
};

const char *select_failure_to_string(enum select_failure f) {
        switch (f) {
        case SELECT_OK: return "ok";
        case SELECT_NO_CANDIDATES: return "no usable source";
        case SELECT_NO_MAJORITY: return "no majority of sources agree";
        case SELECT_TOO_FEW: return "fewer agreeing sources than required";
        }
        return "unknown";
}

static int compare_endpoints(const void *a, const void *b) {
        const struct endpoint *x = a, *y = b;
        if (x->value != y->value)
                return x->value < y->value ? -1 : 1;
        return y->type - x->type; /* lower ends first, so touching intervals intersect */
}

static double interval_half_width(const struct select_candidate *c, double min_distance) {
        return fmax(c->root_distance, min_distance);
}

/* The intersection algorithm: the smallest interval that holds a point of at least n - allow
 * correctness intervals, for the fewest falsetickers allowed. */
static bool find_intersection(const struct select_candidate *c, size_t n, double min_distance, double *ret_low,
                              double *ret_high) {
        struct endpoint e[MAX_ENDPOINTS];
        size_t m = 0;

        for (size_t i = 0; i < n; i++) {
                double half_width = interval_half_width(&c[i], min_distance);
                e[m++] = (struct endpoint) { c[i].offset - half_width, +1 };
                e[m++] = (struct endpoint) { c[i].offset, 0 };
                e[m++] = (struct endpoint) { c[i].offset + half_width, -1 };
        }
        qsort(e, m, sizeof(e[0]), compare_endpoints);

        for (size_t allow = 0; 2 * allow < n; allow++) {
                double low = INFINITY, high = -INFINITY;
                int chime = 0, found = 0;

                for (size_t i = 0; i < m; i++) {
                        chime += e[i].type;
                        if (chime >= (int) (n - allow)) {
                                low = e[i].value;
                                break;
                        }
                        if (e[i].type == 0)
                                found++;
                }
                chime = 0;
                for (size_t i = m; i-- > 0;) {
                        chime -= e[i].type;
                        if (chime >= (int) (n - allow)) {
                                high = e[i].value;
                                break;
                        }
                        if (e[i].type == 0)
                                found++;
                }
                if (found <= (int) allow && low <= high) {
                        *ret_low = low;
                        *ret_high = high;
                        return true;
                }
        }
        return false;
}

static double selection_jitter(const struct select_candidate *c, size_t n, size_t i) {
        double sum = 0;
        unsigned k = 0;
        for (size_t j = 0; j < n; j++) {
                if (j == i || c[j].tally != TALLY_CANDIDATE)
                        continue;
                double d = c[i].offset - c[j].offset;
                sum += d * d;
                k++;
        }
        return k > 0 ? sqrt(sum / k) : 0;
}

/* Drops the survivor with the largest selection jitter while that jitter exceeds the smallest
 * peer jitter and more than SELECT_MIN_CLUSTER remain. */
static unsigned cluster(struct select_candidate *c, size_t n, unsigned survivors) {
        while (survivors > SELECT_MIN_CLUSTER) {
                double max_sel = -1, min_peer = INFINITY;
                size_t worst = 0;
                for (size_t i = 0; i < n; i++) {
                        if (c[i].tally != TALLY_CANDIDATE)
                                continue;
                        double s = selection_jitter(c, n, i);
                        if (s > max_sel) {
                                max_sel = s;
                                worst = i;
                        }
                        min_peer = fmin(min_peer, c[i].jitter);
                }
                if (max_sel <= min_peer)
                        break;
                c[worst].tally = TALLY_OUTLIER;
                survivors--;
        }
        return survivors;
}

static double merit(const struct select_candidate *c) {
        return c->stratum * SELECT_STRATUM_WEIGHT + c->root_distance;
}

static size_t pick_system_peer(const struct select_candidate *c, size_t n) {
        size_t best = n;
        for (size_t i = 0; i < n; i++) {
                if (c[i].tally != TALLY_CANDIDATE)
                        continue;
                if (c[i].prefer)
                        return i;
                if (best == n || merit(&c[i]) < merit(&c[best]))
                        best = i;
        }
        return best;
}

static enum ntp_leap vote_leap(const struct select_candidate *c, size_t n, unsigned survivors) {
        unsigned insert = 0, delete = 0;
        for (size_t i = 0; i < n; i++) {
                if (c[i].tally != TALLY_CANDIDATE && c[i].tally != TALLY_SYSTEM_PEER)
                        continue;
                insert += c[i].leap == NTP_LEAP_INSERT;
                delete += c[i].leap == NTP_LEAP_DELETE;
        }
        if (2 * insert > survivors)
                return NTP_LEAP_INSERT;
        if (2 * delete > survivors)
                return NTP_LEAP_DELETE;
        return NTP_LEAP_NONE;
}

static void combine(const struct select_candidate *c, size_t n, size_t peer, unsigned survivors,
                    struct select_result *ret) {
        double w_sum = 0, off_sum = 0, fw_sum = 0, f_sum = 0;

        for (size_t i = 0; i < n; i++) {
                if (c[i].tally != TALLY_CANDIDATE)
                        continue;
                double w = 1 / fmax(c[i].root_distance, 1e-9);
                w_sum += w;
                off_sum += w * c[i].offset;
                double fw = 1 / fmax(c[i].frequency_sd * c[i].frequency_sd, 1e-24);
                fw_sum += fw;
                f_sum += fw * c[i].frequency;
        }

        /* A preferred peer that survived is followed alone, as ntpd does. */
        bool alone = c[peer].prefer;
        double spread = selection_jitter(c, n, peer);
        *ret = (struct select_result) {
                .system_peer = peer,
                .n_survivors = survivors,
                .offset = alone ? c[peer].offset : off_sum / w_sum,
                .frequency = alone ? c[peer].frequency : f_sum / fw_sum,
                .frequency_sd = alone ? c[peer].frequency_sd : sqrt(1 / fw_sum),
                .jitter = sqrt(spread * spread + c[peer].jitter * c[peer].jitter),
        };
}

enum select_failure select_sources(struct select_candidate *c, size_t n, unsigned min_sources, double min_distance,
                                   struct select_result *ret) {
        double low, high;

        if (n == 0)
                return SELECT_NO_CANDIDATES;
        if (n > MAX_ENDPOINTS / 3)
                n = MAX_ENDPOINTS / 3;

        for (size_t i = 0; i < n; i++)
                c[i].tally = TALLY_FALSETICKER;
        if (!find_intersection(c, n, min_distance, &low, &high))
                return SELECT_NO_MAJORITY;

        unsigned survivors = 0;
        for (size_t i = 0; i < n; i++) {
                double half_width = interval_half_width(&c[i], min_distance);
                bool overlaps = c[i].offset - half_width <= high && c[i].offset + half_width >= low;
                if (overlaps) {
                        c[i].tally = TALLY_CANDIDATE;
                        survivors++;
                }
        }
        if (survivors < min_sources || survivors == 0) {
                for (size_t i = 0; i < n; i++)
                        if (c[i].tally == TALLY_CANDIDATE)
                                c[i].tally = TALLY_REJECTED;
                return SELECT_TOO_FEW;
        }

        survivors = cluster(c, n, survivors);
        size_t peer = pick_system_peer(c, n);
        enum ntp_leap leap = vote_leap(c, n, survivors);
        combine(c, n, peer, survivors, ret);
        ret->leap = leap;
        c[peer].tally = TALLY_SYSTEM_PEER;
        return SELECT_OK;
}
