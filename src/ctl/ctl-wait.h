/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* `ntpsyncctl wait-sync`: waits until ntpsyncd says it is synchronized. */

#include <stdint.h>

#include "ctl-bus.h"

#define WAIT_FOREVER UINT64_MAX

/* Returns the exit status: success once Synchronized is true, CTL_EXIT_FAILED when timeout_usec
 * passed first, CTL_EXIT_UNREACHABLE when ntpsyncd is not there at the start (or still not at
 * the end: a restart while waiting is waited out). */
int ctl_wait_sync(struct ctl_bus *c, uint64_t timeout_usec);

/* Parses SECONDS ("90", "2.5", "infinity") into microseconds. 0, or -EINVAL. */
int ctl_parse_timeout(const char *text, uint64_t *ret_usec);
