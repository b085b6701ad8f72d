/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A NIC's PTP hardware clock (PHC) against the system clock, pure: the daemon reads the PHC
 * between two system clock readings many times in a row (PTP_SYS_OFFSET_EXTENDED or
 * PTP_SYS_OFFSET) and hands each batch over; the tracker keeps the reading with the shortest
 * delay of each batch, fits offset and frequency by a least-squares line over the recent ones,
 * rejects the readings off that line, and converts a raw hardware timestamp (PHC time) to system
 * time with a bound on its error. No syscalls, no clock: every time comes in as an argument. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PHC_MAX_SAMPLES 16    /* the regression's window: the recent batches' best readings */
#define PHC_MIN_SAMPLES 3     /* before this many, no conversion */
#define PHC_MAX_REJECTED 4    /* after this many rejected in a row the PHC is taken to have jumped */

/* One reading: the system clock before, the PHC, the system clock after (ns, each its own epoch). */
struct phc_reading {
        int64_t sys_before_ns, phc_ns, sys_after_ns;
};

struct phc_sample {
        int64_t phc_ns;
        int64_t offset_ns;   /* system time minus PHC time at phc_ns, the middle of the reading */
        double delay_ns;     /* how long the reading took: the offset is within half of it */
};

struct phc_tracker {
        struct phc_sample samples[PHC_MAX_SAMPLES]; /* oldest first */
        size_t n_samples;
        unsigned rejected_in_row;
        /* The fit, valid with n_samples >= PHC_MIN_SAMPLES: offset(phc) = offset_ns + slope *
         * (phc - phc_ref_ns), the reference at the samples' mean. */
        int64_t phc_ref_ns, offset_ns;
        double slope;        /* frequency of the system clock against the PHC (0: same rate) */
        double residual_ns;  /* root mean square of the samples around the line */
        double slope_error;  /* standard error of slope */
        double min_delay_ns; /* the shortest delay among the samples */
};

enum phc_add_result {
        PHC_ADDED,            /* the batch's best reading is in the fit */
        PHC_NO_VALID_READING, /* every reading of the batch was inconsistent (after before before, ...) */
        PHC_OUTLIER,          /* the best reading lies off the fit: left out */
        PHC_RESET,            /* too many outliers in a row: the fit starts anew from this reading */
};

void phc_tracker_init(struct phc_tracker *t);

/* The index of the reading with the shortest delay, or -1 when none is consistent. */
int phc_best_reading(const struct phc_reading *readings, size_t n);

/* Takes one batch of readings. */
enum phc_add_result phc_tracker_add(struct phc_tracker *t, const struct phc_reading *readings, size_t n);

/* Whether the tracker has enough samples to convert. */
bool phc_tracker_ready(const struct phc_tracker *t);

/* A raw hardware timestamp (PHC ns) as system time (ns), and a bound on the conversion's error
 * (ns). False when not ready, or when phc_ns is too far beyond the samples to extrapolate. */
bool phc_tracker_convert(const struct phc_tracker *t, int64_t phc_ns, int64_t *ret_sys_ns, double *ret_error_ns);

/* How far past the newest sample (or before the oldest) a timestamp is still converted. */
#define PHC_MAX_EXTRAPOLATION_NS (int64_t) 30000000000
