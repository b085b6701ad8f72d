/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Source selection (RFC 5905 §11.2): the intersection algorithm finds the largest group of
 * sources whose correctness intervals overlap and calls the rest falsetickers; clustering drops
 * outliers while that lowers the spread; the survivors are combined, weighted by root distance. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp-packet.h"

#define SELECT_MIN_CLUSTER 3         /* clustering never goes below this many survivors */
#define SELECT_STRATUM_WEIGHT 1.5    /* s of root distance one stratum is worth when ranking */

enum select_tally {
        TALLY_REJECTED = ' ',        /* not a candidate (unreachable, unusable, noselect) */
        TALLY_FALSETICKER = 'x',
        TALLY_OUTLIER = '-',
        TALLY_CANDIDATE = '+',
        TALLY_SYSTEM_PEER = '*',
};

struct select_candidate {
        uint32_t id;
        double offset;               /* s */
        double frequency, frequency_sd; /* s/s */
        double root_distance;        /* s, half-width of the correctness interval */
        double jitter;               /* s */
        uint8_t stratum;
        bool prefer;
        enum ntp_leap leap;
        enum select_tally tally;     /* written by select_sources() */
};

enum select_failure {
        SELECT_OK,
        SELECT_NO_CANDIDATES,
        SELECT_NO_MAJORITY,
        SELECT_TOO_FEW,
};

struct select_result {
        size_t system_peer;          /* index into the candidates */
        unsigned n_survivors;
        double offset, frequency, frequency_sd;
        double jitter;               /* s, combined: selection spread and the peer's own */
        enum ntp_leap leap;          /* what a majority of survivors announce */
};

const char *select_failure_to_string(enum select_failure f);

/* Fills *ret and each candidate's tally. On failure every candidate is tallied as rejected or
 * falseticker and *ret is left alone. A correctness interval is never narrower than ±min_distance
 * (ntpd's "tos mindist"): root distances of a few microseconds on a LAN are below what server
 * timestamps and path asymmetry are good for, and would split truechimers apart. */
enum select_failure select_sources(struct select_candidate *c, size_t n, unsigned min_sources, double min_distance,
                                   struct select_result *ret);
