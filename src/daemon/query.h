/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "manager.h"

/* A one-shot measurement, the way `ntpdate -q` did it: a burst to each host, the offset, nothing
 * done to the clock. */

/* `ntpsyncd --query`: prints the result and returns the exit status. */
int query_run(const struct manager_options *o, bool json);

struct query_result {
        bool found;
        const char *host;
        double offset, delay;        /* s */
        uint8_t stratum;
        char refid[32];
        const char *reason;          /* when not found */
};

typedef void (*query_callback)(const struct query_result *result, void *userdata);

/* Measures host on event's loop and calls back once (never from inside this call). */
int query_start_async(sd_event *event, const char *host, query_callback cb, void *userdata);
