#pragma once

#include <stdbool.h>

#include "manager.h"

/* `ntpsyncd --query`: measures the offset to some servers with a burst and prints it, the way
 * `ntpdate -q` did. Never touches the clock. Returns the exit status. */
int query_run(const struct manager_options *o, bool json);
