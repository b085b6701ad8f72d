/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Serving time on UDP port 123: sockets from systemd socket activation (sd_listen_fds) or bound
 * here, datagrams read and answered in batches (recvmmsg/sendmmsg) with no allocation per packet,
 * kernel receive timestamps, and transmit timestamps taken right before the batch leaves. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "manager.h"
#include "core/ntp-packet.h"
#include "core/ratelimit.h"
#include "core/server.h"

#define NTP_SERVER_MAX_SOCKETS 8
#define NTP_SERVER_BATCH 64
#define NTP_SERVER_BUFFER_BYTES (8 * 1024 * 1024) /* bursts overflow the default long before the CPU is busy */
#define NTP_SERVER_CONTROL_MAX 4     /* mode 6 fragments per request */

struct ntp_server_counters {
        uint64_t received;
        uint64_t verdicts[_SERVER_VERDICT_MAX];
        uint64_t sent, send_errors;
};

struct ntp_server {
        manager *manager;
        int fds[NTP_SERVER_MAX_SOCKETS];
        sd_event_source *io[NTP_SERVER_MAX_SOCKETS];
        bool owned[NTP_SERVER_MAX_SOCKETS]; /* bound here (closed when no longer needed), not from systemd */
        size_t n_fds;
        bool activated;              /* systemd passed sockets to serve on (ntpsyncd.socket) */
        bool started;                /* set_enabled() was called once */
        bool enabled;                /* serving time; otherwise control messages on loopback only */
        int open_error;              /* why the last attempt to serve failed (negative errno), or 0 */
        ratelimit *limiter;
        struct ntp_server_counters counters;
        struct ntp_server_batch *batch; /* buffers for one batch, allocated once */
};

int ntp_server_new(manager *m, struct ntp_server **ret);
struct ntp_server *ntp_server_free(struct ntp_server *s);

/* Opens or takes the sockets and starts serving time; or stops, keeping loopback sockets (or
 * those from systemd) for control messages, so that ntpq -p works on this host either way. */
int ntp_server_set_enabled(struct ntp_server *s, bool enabled);

/* Handles one batch from fd; exposed for the benchmarks and tests. */
int ntp_server_process(struct ntp_server *s, int fd);
