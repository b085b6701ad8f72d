/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The metrics over HTTP: `GET /metrics` answered with metrics.h's text, on the stream sockets
 * systemd passes by the name "metrics" (units/ntpsyncd-metrics.socket, loopback only, off by
 * default); without them nothing listens. One request per connection, read into a fixed
 * buffer (HTTP_REQUEST_MAX) and judged by core/http-request.c; the answer written as the socket
 * takes it; a deadline bounds each connection and a cap bounds how many run at a time (at the
 * cap, new ones wait in the listen backlog). Nothing here ever blocks the loop. */

#include <stddef.h>
#include <stdint.h>

#include "manager.h"

#define METRICS_HTTP_FD_NAME "metrics"
#define METRICS_HTTP_MAX_SOCKETS 8
#define METRICS_HTTP_MAX_CONNECTIONS 16
#define METRICS_HTTP_TIMEOUT_USEC (10ULL * 1000000)

/* The listening sockets systemd passed by the name "metrics". */
struct metrics_http_sockets {
        int fds[METRICS_HTTP_MAX_SOCKETS];
        size_t n_fds;
};

typedef struct metrics_http metrics_http;

/* Takes the sockets from systemd, leaving the environment to the others that take theirs: call
 * it before manager_new(), whose NTP server clears it. */
void metrics_http_take_sockets(struct metrics_http_sockets *ret);

/* Serves on the sockets taken (none: *ret stays NULL, nothing to serve, returns 0). */
int metrics_http_new(manager *m, const struct metrics_http_sockets *sockets, metrics_http **ret);
metrics_http *metrics_http_free(metrics_http *h);
DEFINE_POINTER_CLEANUP(metrics_http, metrics_http_free);
