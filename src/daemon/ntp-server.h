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
 * On N threads (`serve threads N`): the main thread is always worker 0, on the manager's event
 * loop, with the sockets it has always had (also the control-only ones); workers 1..N-1 run
 * threads of their own, each with its own SO_REUSEPORT sockets bound to the addresses worker 0
 * serves (or, when it may not bind them, as under systemd where the passed socket is root's,
 * reading that same socket), its own batch buffers, counters and epoll loop. What they share is
 * in ntp-server-shared.h; the restrict rules are the server's own copy behind a rwlock (changed
 * over D-Bus, rarely: readers hold it for one batch); mode 6 queries a worker receives are handed
 * to the main thread (a bounded queue and an eventfd), which owns the manager.
 *
 * Interleaved mode (core/xleave.h): the answers to clients in interleaved mode ask the kernel for a
 * software transmit timestamp (per message; basic answers cost nothing more); each comes back on
 * the error queue of the socket it left from, read by the worker that reads that socket (EPOLLERR,
 * without waiting), and is matched to its state by the receive timestamp inside it, so that no
 * counter has to follow the kernel's. The table is one for all workers, behind a mutex: the
 * kernel's reuseport hash covers the source port, and a client's next request, from a new port,
 * may well reach another worker. A client asking for interleaved mode gets that timestamp in its
 * next answer, NTS or not. */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "log.h"
#include "manager.h"
#include "core/ntp-packet.h"
#include "core/ratelimit.h"
#include "core/server.h"
#include "core/xleave.h"
#include "core/nts.h"
#include "nts-server-keys.h"
#include "ntp-server-shared.h"

#define NTP_SERVER_MAX_SOCKETS 8
#define NTP_SERVER_BATCH 64
#define NTP_SERVER_BATCHES_PER_WAKEUP 8
#define NTP_SERVER_BUFFER_BYTES (8 * 1024 * 1024) /* bursts overflow the default long before the CPU is busy */
#define NTP_SERVER_CONTROL_MAX 4     /* mode 6 fragments per request */
#define NTP_SERVER_MAX_THREADS CONFIG_MAX_SERVE_THREADS
#define NTP_SERVER_CONTROL_QUEUE 16  /* mode 6 queries from workers waiting for the main thread */

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
        struct log_ratelimit log;
};

enum ntp_server_nts_result {
        NTP_SERVER_NTS_REPLY,        /* authenticated, with fresh cookies, transmit timestamp stamped */
        NTP_SERVER_NTS_NAK,          /* an NTS NAK (kiss code NTSN), transmit timestamp still zero */
        NTP_SERVER_NTS_DROP,
};

/* One thread's share of the serving. Worker 0 is the main thread's: its sockets are the
 * server's (fds), watched by the manager's event loop. */
struct ntp_server_worker {
        struct ntp_server *server;
        unsigned index;
        int fds[NTP_SERVER_MAX_SOCKETS];
        bool owned[NTP_SERVER_MAX_SOCKETS]; /* bound by the worker; otherwise worker 0's, shared */
        size_t n_fds;
        struct ntp_server_batch *batch; /* buffers for one batch, allocated once */
        struct ntp_server_nts *nts;  /* its AEAD for the session keys; NULL before NTS is first set */
        struct ntp_server_counters counters; /* counter_add() by its thread, counter_read() by others */
        struct log_ratelimit flood_log;
        int epoll_fd, stop_fd;       /* -1 for worker 0 */
        pthread_t thread;
        bool running;
};

struct ntp_server_control_request;

/* Mode 6 queries that workers received, for the main thread: bounded, the excess dropped. */
struct ntp_server_control_queue {
        pthread_mutex_t lock;
        struct ntp_server_control_request *requests; /* NTP_SERVER_CONTROL_QUEUE of them */
        size_t n;
        int event_fd;
        sd_event_source *io;
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
        bool serving_socket[NTP_SERVER_MAX_SOCKETS]; /* not ntpsyncd-control.socket's: workers serve it too */
        ntp_server_limiter *limiter;
        struct ntp_server_worker *workers[NTP_SERVER_MAX_THREADS]; /* [0] always, the others while serving */
        size_t n_workers;
        struct ntp_server_counters stopped_counters; /* of workers that are gone, so that sums never go back */
        /* The copy of the manager's restrict rules the workers read; the main thread writes. */
        pthread_rwlock_t rules_lock;
        struct restrict_set rules;
        /* The cookie keys: read by workers under the read lock, swapped under the write lock. */
        pthread_rwlock_t nts_lock;
        nts_server_keys *nts_keys;   /* NULL: NTS requests are answered as plain ones */
        struct ntp_server_snapshot snapshot; /* published after every engine run while workers serve */
        struct ntp_server_control_queue control;
        /* Interleaved mode: each answer's receive and transmit timestamps, for all workers. */
        pthread_mutex_t xleave_lock;
        xleave_table *xleave;
};

int ntp_server_new(manager *m, struct ntp_server **ret);
struct ntp_server *ntp_server_free(struct ntp_server *s);

/* Opens or takes the sockets and starts serving time; or stops, keeping loopback sockets (or
 * those from systemd) for control messages, so that ntpq -p works on this host either way. */
int ntp_server_set_enabled(struct ntp_server *s, bool enabled);

/* The engine ran: the workers get the state it serves now. */
void ntp_server_state_changed(struct ntp_server *s);

/* The restrict rules to serve by (copied; the caller's set may change afterwards). */
void ntp_server_set_rules(struct ntp_server *s, const struct restrict_set *rules);

/* The counters of all workers summed, and worker i's received count (0 past the last). */
void ntp_server_get_counters(const struct ntp_server *s, struct ntp_server_counters *ret);
uint64_t ntp_server_worker_received(const struct ntp_server *s, size_t i);

/* How many threads serve when `serve threads` is not set: the CPUs this process may run on. */
unsigned ntp_server_default_threads(void);

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

/* Handles one batch from fd; exposed for the benchmarks and tests (as worker 0). */
int ntp_server_process(struct ntp_server *s, int fd);
int ntp_server_worker_process(struct ntp_server_worker *w, int fd);
/* What a worker does when fd is ready (epoll events): the transmit timestamps waiting in its error
 * queue, then a few batches, and back to its loop so that nothing else starves. */
void ntp_server_worker_wakeup(struct ntp_server_worker *w, int fd, uint32_t events);

/* ntp-server-workers.c: the threads, started once worker 0 serves and stopped before its
 * sockets close; and the queue of mode 6 queries they hand to the main thread. */
int ntp_server_bind_like(int fd);
struct ntp_server_batch *ntp_server_batch_new(void);
int ntp_server_workers_start(struct ntp_server *s, unsigned n);
void ntp_server_workers_stop(struct ntp_server *s);
struct ntp_server_worker *ntp_server_worker_new(struct ntp_server *s, unsigned index);
struct ntp_server_worker *ntp_server_worker_free(struct ntp_server_worker *w);
int ntp_server_control_queue_init(struct ntp_server *s);
void ntp_server_control_queue_done(struct ntp_server *s);
/* From a worker: false when the queue is full (the query is dropped, as a lost datagram). */
bool ntp_server_control_queue_push(struct ntp_server_worker *w, int fd, const struct msghdr *m, size_t len);
/* Main thread: answers a request as worker 0 would have (control.c, reply from fd). */
void ntp_server_answer_control(struct ntp_server_worker *w, int fd, struct msghdr *request, size_t len);
