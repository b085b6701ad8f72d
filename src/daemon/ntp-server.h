/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Serving time on UDP port 123: sockets from systemd socket activation (sd_listen_fds) or bound
 * here, datagrams read and answered in batches (recvmmsg/sendmmsg) with no allocation per packet,
 * kernel receive timestamps, and transmit timestamps taken right before the batch leaves.
 *
 * NTS (RFC 8915 §5), when the manager hands over the server keys: a client request with a Unique
 * Identifier and a Cookie goes through the same restrict rules and rate limiting first, then is
 * answered authenticated with fresh cookies (its transmit timestamp stamped before the
 * authenticator, which covers it), answered with an NTS NAK, or dropped.
 *
 * Interleaved mode (core/xleave.h): the answers to clients in interleaved mode ask the kernel for a
 * software transmit timestamp (per message; basic answers cost nothing more); each comes back on
 * the socket's error queue with its timestamp (EPOLLERR, read without waiting) and is matched to
 * its state by the receive timestamp inside it, so that no counter has to follow the kernel's. A client asking for interleaved mode gets that timestamp in its next
 * answer, NTS or not. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "manager.h"
#include "core/ntp-packet.h"
#include "core/ratelimit.h"
#include "core/server.h"
#include "core/xleave.h"
#include "core/nts.h"
#include "nts-server-keys.h"

#define NTP_SERVER_MAX_SOCKETS 8
#define NTP_SERVER_BATCH 64
#define NTP_SERVER_BUFFER_BYTES (8 * 1024 * 1024) /* bursts overflow the default long before the CPU is busy */
#define NTP_SERVER_CONTROL_MAX 4     /* mode 6 fragments per request */

struct ntp_server_counters {
        uint64_t received;
        uint64_t verdicts[_SERVER_VERDICT_MAX];
        uint64_t sent, send_errors;
        uint64_t nts_answered;       /* NTS requests answered authenticated, with cookies */
        uint64_t nts_naked;          /* answered with an NTS NAK (cookie unknown, not authenticated) */
        uint64_t nts_dropped;        /* malformed NTS fields: no answer */
        uint64_t basic;              /* requests answered with the time in basic mode */
        uint64_t interleaved;        /* ... in interleaved mode */
        uint64_t tx_timestamps;      /* kernel transmit timestamps of answers read back */
};

/* What answering NTS requests takes, made once: the AEAD for the session keys, room for the
 * cookies and the header. */
struct ntp_server_nts {
        nts_server_keys *keys;       /* the manager's */
        struct nts_aead aead;
        struct nts_cookie cookies[NTS_MAX_COOKIES];
        uint8_t header[NTP_HEADER_SIZE];
};

enum ntp_server_nts_result {
        NTP_SERVER_NTS_REPLY,        /* authenticated, with fresh cookies, transmit timestamp stamped */
        NTP_SERVER_NTS_NAK,          /* an NTS NAK (kiss code NTSN), transmit timestamp still zero */
        NTP_SERVER_NTS_DROP,
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
        xleave_table *xleave;        /* interleaved mode: each answer's receive and transmit timestamps */
        struct ntp_server_counters counters;
        struct ntp_server_batch *batch; /* buffers for one batch, allocated once */
        struct ntp_server_nts *nts;  /* NULL: NTS requests are answered as plain ones */
};

int ntp_server_new(manager *m, struct ntp_server **ret);
struct ntp_server *ntp_server_free(struct ntp_server *s);

/* Opens or takes the sockets and starts serving time; or stops, keeping loopback sockets (or
 * those from systemd) for control messages, so that ntpq -p works on this host either way. */
int ntp_server_set_enabled(struct ntp_server *s, bool enabled);

/* Answers NTS requests with cookies sealed by keys (the caller's, kept until this is called again
 * with NULL or the server freed); NULL: NTS requests get the plain answer, as without NTS. */
int ntp_server_set_nts(struct ntp_server *s, nts_server_keys *keys);

int ntp_server_nts_init(struct ntp_server_nts *n, nts_server_keys *keys);
void ntp_server_nts_done(struct ntp_server_nts *n);

/* For an NTS request (server_request_wants_nts()) that server_handle() answered: response holds
 * that 48-byte header and has room for size bytes (at least len). Authenticated: the header
 * stamped with tx, the echoed identifier and as many fresh cookies as asked for and fit, as long
 * as the request. Exposed for the tests. */
enum ntp_server_nts_result ntp_server_nts_answer(struct ntp_server_nts *n, const uint8_t *request, size_t len, ntp_ts tx,
                                                 uint8_t *response, size_t size, size_t *ret_len);

/* The size of the interleaved-mode table, for tests that need a small one (evictions). */
#define NTP_SERVER_XLEAVE_CAPACITY_ENV "NTPSYNCD_TEST_XLEAVE_CAPACITY"

/* Handles one batch from fd; exposed for the benchmarks and tests. */
int ntp_server_process(struct ntp_server *s, int fd);
