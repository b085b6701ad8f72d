/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small helpers shared by the ntpsyncctl sources. */

#include <stdbool.h>

#include "macro.h"
#include "strv.h"

/* What ntpsyncctl exits with; documented in --help. */
enum ctl_exit_status {
        CTL_EXIT_SUCCESS = 0,
        CTL_EXIT_FAILED = 1,       /* the daemon refused, or another failure */
        CTL_EXIT_USAGE = 2,        /* a bad command line */
        CTL_EXIT_UNREACHABLE = 3,  /* the daemon is not on the bus, or the bus is not there */
        CTL_EXIT_DENIED = 4,       /* not authorized */
};
