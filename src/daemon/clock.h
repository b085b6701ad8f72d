/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Clock backends. `kernel` disciplines CLOCK_REALTIME through clock_adjtime(); `observe` only
 * reads it and says what it would have done. Everything that touches the clock is behind these
 * ops, so that nothing else in the daemon can. */

#include <stdbool.h>

#include "core/ntp-packet.h"

enum clock_backend {
        CLOCK_BACKEND_KERNEL,
        CLOCK_BACKEND_OBSERVE,
};

struct clock_status {
        bool synchronized;
        enum ntp_leap leap;
        double max_error, est_error; /* s */
};

struct clock_ops {
        const char *name;
        int (*get_frequency)(double *ret_ppm);
        int (*set_frequency)(double ppm);
        int (*slew)(double offset, int time_constant); /* kernel PLL, frequency held */
        int (*step)(double offset);
        int (*set_status)(const struct clock_status *s);
};

const struct clock_ops *clock_ops_for(enum clock_backend b);
const char *clock_backend_to_string(enum clock_backend b);
int clock_backend_from_string(const char *s, enum clock_backend *ret);

/* Whether this process may set the clock (tries a write that changes nothing). */
bool clock_kernel_writable(void);
