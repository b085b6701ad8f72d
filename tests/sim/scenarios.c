/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sim.h"

#define ERA_2036_UNIX INT64_C(2085978496) /* 2036-02-07 06:28:16 UTC: NTP era 0 ends */
#define ORDINARY_START_UNIX INT64_C(1700000000)

#define LAN_PATH { .delay = 100e-6, .jitter_mean = 100e-6 }
#define WAN_PATH { .delay = 10e-3, .jitter_mean = 1e-3 }
#define QUIET_LAN_PATH { .delay = 50e-6, .jitter_mean = 5e-6 }
#define LOSSY_LAN_PATH { .delay = 100e-6, .jitter_mean = 100e-6, .loss = 0.2 }

#define SERVER(off, path) { .offset = (off), .to_server = path, .to_client = path }
#define LAN_SERVER(off) SERVER(off, LAN_PATH)
/* A loaded server on a quiet LAN: its replies leave 20-500 µs after the transmit timestamp written
 * in them; it answers interleaved requests with their real departure, as chronyd does. */
#define LOADED_SERVER { .to_server = QUIET_LAN_PATH, .to_client = QUIET_LAN_PATH, \
                        .tx_delay_min = 20e-6, .tx_delay_max = 500e-6, .interleaved = true }

/* The loaded-server scenarios differ only in the client's mode. */
#define LOADED_SERVER_RUN .duration = 10000, .start_unix = ORDINARY_START_UNIX, .clock = FAST_CLOCK(0.1), \
                          .iburst = true, .metrics_after = 210, .n_servers = 1, .servers = { LOADED_SERVER }

/* A fast oscillator (100 ppm) that wanders, 0.1 s ahead: a machine fresh from boot. */
#define FAST_CLOCK(initial) { .initial_offset = (initial), .frequency_error_ppm = 100, .wander = 1e-9 }

const struct sim_scenario sim_scenarios[] = {
        {
                .name = "lan-default",
                .description = "one perfect server on a LAN, clock 0.1 s ahead and 100 ppm fast",
                .duration = 10000,
                .start_unix = ORDINARY_START_UNIX,
                .clock = FAST_CLOCK(0.1),
                .metrics_after = 210,
                .n_servers = 1,
                .servers = { LAN_SERVER(0) },
        },
        {
                .name = "lan-iburst",
                .description = "as lan-default, with iburst, a correct drift file and a 10 ms initial step threshold",
                .duration = 10000,
                .start_unix = ORDINARY_START_UNIX,
                .clock = FAST_CLOCK(0.1),
                .iburst = true,
                .drift_file = true,
                .initial_step_threshold = 0.01,
                .metrics_after = 210,
                .n_servers = 1,
                .servers = { LAN_SERVER(0) },
        },
        {
                .name = "wan",
                .description = "one perfect server 10 ms away with 1 ms jitter, iburst",
                .duration = 10000,
                .start_unix = ORDINARY_START_UNIX,
                .clock = FAST_CLOCK(0.1),
                .iburst = true,
                .metrics_after = 210,
                .n_servers = 1,
                .servers = { SERVER(0, WAN_PATH) },
        },
        {
                .name = "falsetickers-2of5",
                .description = "five servers, two of them 0.5 s and 1 s off: the three true ones win",
                .duration = 10000,
                .start_unix = ORDINARY_START_UNIX,
                .clock = FAST_CLOCK(0.1),
                .metrics_after = 210,
                .n_servers = 5,
                .servers = { LAN_SERVER(0), LAN_SERVER(0.5), LAN_SERVER(0), LAN_SERVER(1.0), LAN_SERVER(0) },
        },
        {
                .name = "falsetickers-3of5",
                .description = "five servers, three of them 0.3 s, 0.6 s and 1 s off: no majority, hands off the clock",
                .duration = 3000,
                .start_unix = ORDINARY_START_UNIX,
                .clock = FAST_CLOCK(0.01),
                .metrics_after = 210,
                .n_servers = 5,
                .servers = { LAN_SERVER(0.3), LAN_SERVER(0), LAN_SERVER(0.6), LAN_SERVER(0), LAN_SERVER(1.0) },
        },
        {
                .name = "step-3s",
                .description = "clock 3 s ahead: one step at start, then slewing only",
                .duration = 10000,
                .start_unix = ORDINARY_START_UNIX,
                .clock = FAST_CLOCK(3.0),
                .metrics_after = 210,
                .n_servers = 1,
                .servers = { LAN_SERVER(0) },
        },
        {
                .name = "era-2036",
                .description = "true time crosses the NTP era boundary of 2036-02-07 600 s into the run",
                .duration = 3600,
                .start_unix = ERA_2036_UNIX - 600,
                .clock = FAST_CLOCK(0.1),
                .iburst = true,
                .metrics_after = 210,
                .n_servers = 1,
                .servers = { LAN_SERVER(0) },
        },
        {
                .name = "loss-20",
                .description = "as lan-default with 20 % of the packets lost each way",
                .duration = 10000,
                .start_unix = ORDINARY_START_UNIX,
                .clock = FAST_CLOCK(0.1),
                .metrics_after = 210,
                .n_servers = 1,
                .servers = { SERVER(0, LOSSY_LAN_PATH) },
        },
        {
                .name = "unreachable",
                .description = "as lan-default, the server does not answer from 1000 s to 4000 s",
                .duration = 10000,
                .start_unix = ORDINARY_START_UNIX,
                .clock = FAST_CLOCK(0.1),
                .metrics_after = 210,
                .n_servers = 1,
                .servers = { { .to_server = LAN_PATH, .to_client = LAN_PATH, .down_from = 1000, .down_until = 4000 } },
        },
        {
                .name = "loaded-server",
                .description = "a loaded server whose replies leave 20-500 µs after their transmit timestamp, basic mode: "
                               "median RMS offset 72 µs, maximum 200 µs (seeds 1-20)",
                LOADED_SERVER_RUN,
        },
        {
                .name = "loaded-server-xleave",
                .description = "as loaded-server, with xleave (the real departures from interleaved replies): "
                               "median RMS offset 23 µs, maximum 53 µs (seeds 1-20)",
                LOADED_SERVER_RUN,
                .xleave = true,
        },
};

const size_t sim_n_scenarios = sizeof sim_scenarios / sizeof sim_scenarios[0];

const struct sim_scenario *sim_scenario_find(const char *name) {
        for (size_t i = 0; i < sim_n_scenarios; i++)
                if (strcmp(sim_scenarios[i].name, name) == 0)
                        return &sim_scenarios[i];
        return NULL;
}
