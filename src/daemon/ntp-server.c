/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/net_tstamp.h>
#include <math.h>
#include <sched.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "control.h"
#include "core/nts-ntp.h"
#include "hwts.h"
#include "log.h"
#include "net.h"
#include "nts-gnutls.h"
#include "ntp-server.h"

#define CONTROL_BUFFER 256
#define NTP_PORT 123

struct ntp_server_batch {
        struct mmsghdr in[NTP_SERVER_BATCH];
        struct iovec in_iov[NTP_SERVER_BATCH];
        struct sockaddr_storage in_addr[NTP_SERVER_BATCH];
        uint8_t in_buf[NTP_SERVER_BATCH][NTP_MAX_PACKET_SIZE];
        char in_control[NTP_SERVER_BATCH][CONTROL_BUFFER];

        struct mmsghdr out[NTP_SERVER_BATCH];
        struct iovec out_iov[NTP_SERVER_BATCH];
        /* An NTS answer is as long as its request; a plain one is the header alone. */
        uint8_t out_buf[NTP_SERVER_BATCH][NTP_MAX_PACKET_SIZE];
        size_t out_len[NTP_SERVER_BATCH];
        bool out_sealed[NTP_SERVER_BATCH]; /* authenticated: stamped already, never touched again */
        struct xleave_answer out_xleave[NTP_SERVER_BATCH];
        char out_control[NTP_SERVER_BATCH][CONTROL_BUFFER];
};

#define PHI 15e-6                    /* s/s: root dispersion grows so while the state waits (RFC 5905) */

/* ---- sockets ---- */

/* Reported, for the answers that ask for one (request_transmit_timestamp()): each comes back on the
 * error queue with the time it left, the answer itself included (no OPT_TSONLY), whose receive
 * timestamp says which state the transmit timestamp is for. */
static void enable_transmit_timestamps(int fd) {
        int flags = SOF_TIMESTAMPING_SOFTWARE;
        if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)) < 0)
                log_debug("server: no kernel transmit timestamps: %s", strerror(errno));
}

static void tune_socket(int fd, int family) {
        int on = 1, size = NTP_SERVER_BUFFER_BYTES;
        (void) setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
        enable_transmit_timestamps(fd);
        /* Where an interface has hardware timestamps: those too, software ones still reported. */
        net_enable_receive_hardware_timestamps(fd, family);
        /* SO_*BUFFORCE works with CAP_NET_ADMIN; without it the kernel's maximum still applies. */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
        /* The reply must leave from the address the request came to. */
        net_enable_packet_info(fd, family);
}

static int socket_family(int fd) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *) &ss, &len) < 0)
                return -errno;
        return ss.ss_family;
}

/* In a group of sockets on one port, the kernel spreads datagrams over them by a hash of the
 * 4-tuple: one socket per worker. */
static void share_port(int fd, bool reuse_port) {
        int on = 1;
        if (reuse_port)
                (void) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
}

/* [::]:123 taking IPv4 too; a plain IPv4 socket where IPv6 is off. */
static int bind_wildcard(bool reuse_port) {
        int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
        if (fd >= 0) {
                int off = 0;
                struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(NTP_PORT), .sin6_addr = IN6ADDR_ANY_INIT };
                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
                share_port(fd, reuse_port);
                if (bind(fd, (struct sockaddr *) &a, sizeof(a)) == 0)
                        return fd;
                close(fd);
        }
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
        if (fd < 0)
                return -errno;
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(NTP_PORT), .sin_addr.s_addr = htonl(INADDR_ANY) };
        share_port(fd, reuse_port);
        if (bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* A socket of a worker's own where fd is bound, in one SO_REUSEPORT group with it; fd must have
 * SO_REUSEPORT set, and belong to the same user (systemd's sockets are root's). */
int ntp_server_bind_like(int fd) {
        union sockaddr_union a = {};
        socklen_t len = sizeof(a);
        int v6only = 0;
        socklen_t v6only_len = sizeof(v6only);
        if (getsockname(fd, &a.sa, &len) < 0)
                return -errno;
        int own = socket(a.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
        if (own < 0)
                return -errno;
        if (a.sa.sa_family == AF_INET6 && getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &v6only_len) == 0)
                (void) setsockopt(own, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
        share_port(own, true);
        if (bind(own, &a.sa, len) < 0) {
                int r = -errno;
                close(own);
                return r;
        }
        tune_socket(own, a.sa.sa_family);
        return own;
}

/* Sockets from systemd: ntpsyncd.socket's to serve on, and ntpsyncd-control.socket's
 * (FileDescriptorName=control: loopback only, for ntpq when not serving). Datagram sockets only:
 * the stream socket named nts-ke is the NTS-KE server's, which took it before us. */
static int take_activated_sockets(struct ntp_server *s) {
        char **names = NULL;
        int n = sd_listen_fds_with_names(true, &names);
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                bool control = names && names[i] && strcmp(names[i], "control") == 0;
                if (s->n_fds < NTP_SERVER_MAX_SOCKETS && sd_is_socket(fd, AF_UNSPEC, SOCK_DGRAM, -1) > 0) {
                        s->owned[s->n_fds] = false;
                        s->serving_socket[s->n_fds] = !control;
                        s->fds[s->n_fds++] = fd;
                        s->activated |= !control;
                }
        }
        for (int i = 0; names && i < n; i++)
                free(names[i]);
        free(names);
        return (int) s->n_fds;
}

static void add_own_socket(struct ntp_server *s, int fd, bool serving) {
        s->owned[s->n_fds] = true;
        s->serving_socket[s->n_fds] = serving;
        s->fds[s->n_fds++] = fd;
}

/* ---- answering ---- */

static bool client_from(const struct sockaddr_storage *ss, struct server_client *ret) {
        memset(ret, 0, sizeof(*ret));
        if (ss->ss_family == AF_INET) {
                const struct sockaddr_in *a = (const struct sockaddr_in *) ss;
                ret->family = AF_INET;
                memcpy(ret->address, &a->sin_addr, 4);
                ret->port = ntohs(a->sin_port);
                ret->loopback = ret->address[0] == 127;
                return true;
        }
        if (ss->ss_family == AF_INET6) {
                const struct sockaddr_in6 *a = (const struct sockaddr_in6 *) ss;
                ret->family = AF_INET6;
                memcpy(ret->address, &a->sin6_addr, 16);
                ret->port = ntohs(a->sin6_port);
                bool mapped = IN6_IS_ADDR_V4MAPPED(&a->sin6_addr);
                ret->loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) || (mapped && ret->address[12] == 127);
                return true;
        }
        return false;
}

/* The destination address the request came to, as the source of the reply. */
static size_t reply_control(struct msghdr *in, char *out, size_t size) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(in); c; c = CMSG_NXTHDR(in, c)) {
                if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
                    c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo)) && size >= CMSG_SPACE(sizeof(struct in6_pktinfo))) {
                        struct cmsghdr *o = (struct cmsghdr *) out;
                        o->cmsg_level = IPPROTO_IPV6;
                        o->cmsg_type = IPV6_PKTINFO;
                        o->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
                        memcpy(CMSG_DATA(o), CMSG_DATA(c), sizeof(struct in6_pktinfo));
                        return CMSG_SPACE(sizeof(struct in6_pktinfo));
                }
                if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
                    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo)) && size >= CMSG_SPACE(sizeof(struct in_pktinfo))) {
                        struct in_pktinfo received, reply = { 0 };
                        memcpy(&received, CMSG_DATA(c), sizeof(received));
                        reply.ipi_spec_dst = received.ipi_addr;
                        struct cmsghdr *o = (struct cmsghdr *) out;
                        o->cmsg_level = IPPROTO_IP;
                        o->cmsg_type = IP_PKTINFO;
                        o->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
                        memcpy(CMSG_DATA(o), &reply, sizeof(reply));
                        return CMSG_SPACE(sizeof(struct in_pktinfo));
                }
        }
        return 0;
}

static ntp_ts receive_timestamp(struct msghdr *m) {
        int64_t ns;
        return ntp_ts_from_unix_ns(net_timestamp_from_cmsg(m, &ns) ? ns : now_realtime_ns());
}

static void current_state(const struct ntp_server *s, struct server_state *ret) {
        manager *m = s->manager;
        struct engine_status st;
        engine_get_status(m->engine, now_monotonic_ns(), &st);
        /* Observing, the clock is left as it is: what we measured it off by is part of its error. */
        double observed_error = m->backend == CLOCK_BACKEND_OBSERVE ? fabs(st.offset) : 0;
        *ret = (struct server_state) {
                .synchronized = st.synchronized,
                .leap = st.leap,
                .stratum = st.stratum,
                .precision = -20,
                .root_delay = st.root_delay,
                .root_dispersion = st.root_dispersion + observed_error,
                .refid = st.refid,
                .reference_ts = st.last_update_mono >= 0 ? ntp_ts_from_unix_ns(st.last_update_real) : 0,
                .local_stratum = (uint8_t) m->config.local_stratum.value,
        };
}

struct ntp_server_batch *ntp_server_batch_new(void) {
        return calloc(1, sizeof(struct ntp_server_batch));
}

static void prepare_receive(struct ntp_server_batch *b) {
        for (size_t i = 0; i < NTP_SERVER_BATCH; i++) {
                b->in_iov[i] = (struct iovec) { b->in_buf[i], sizeof(b->in_buf[i]) };
                b->in[i].msg_hdr = (struct msghdr) {
                        .msg_name = &b->in_addr[i],
                        .msg_namelen = sizeof(b->in_addr[i]),
                        .msg_iov = &b->in_iov[i],
                        .msg_iovlen = 1,
                        .msg_control = b->in_control[i],
                        .msg_controllen = CONTROL_BUFFER,
                };
        }
}

static void queue_reply(struct ntp_server_batch *b, size_t *n_out, struct msghdr *in) {
        size_t k = *n_out;
        b->out_iov[k] = (struct iovec) { b->out_buf[k], b->out_len[k] };
        b->out[k].msg_hdr = (struct msghdr) {
                .msg_name = in->msg_name,
                .msg_namelen = in->msg_namelen,
                .msg_iov = &b->out_iov[k],
                .msg_iovlen = 1,
                .msg_control = b->out_control[k],
        };
        b->out[k].msg_hdr.msg_controllen = reply_control(in, b->out_control[k], CONTROL_BUFFER);
        if (b->out[k].msg_hdr.msg_controllen == 0)
                b->out[k].msg_hdr.msg_control = NULL;
        *n_out = k + 1;
}

struct control_reply {
        struct ntp_server_worker *worker;
        int fd;
        struct msghdr *request;
};

/* Mode 6 answers are rare and local: sent one by one, outside the batch. */
static void emit_control(void *userdata, const uint8_t *datagram, size_t len) {
        struct control_reply *c = userdata;
        char control[CONTROL_BUFFER];
        struct iovec iov = { (void *) datagram, len };
        struct msghdr m = {
                .msg_name = c->request->msg_name,
                .msg_namelen = c->request->msg_namelen,
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = control,
        };
        m.msg_controllen = reply_control(c->request, control, sizeof(control));
        if (m.msg_controllen == 0)
                m.msg_control = NULL;
        if (sendmsg(c->fd, &m, MSG_DONTWAIT) < 0)
                counter_add(&c->worker->counters.send_errors, 1);
        else
                counter_add(&c->worker->counters.sent, 1);
}

void ntp_server_answer_control(struct ntp_server_worker *w, int fd, struct msghdr *request, size_t len) {
        struct control_reply c = { .worker = w, .fd = fd, .request = request };
        control_answer(w->server->manager, request->msg_iov[0].iov_base, len, emit_control, &c);
}

/* ---- interleaved mode ---- */

/* Only answers to clients in interleaved mode (those with state) come back on the error queue:
 * basic ones cost no more than before. */
static void request_transmit_timestamp(struct ntp_server_batch *b, size_t k) {
        struct msghdr *h = &b->out[k].msg_hdr;
        uint32_t flags = SOF_TIMESTAMPING_TX_SOFTWARE | (hwts_in_use() ? SOF_TIMESTAMPING_TX_HARDWARE : 0);
        if (b->out_xleave[k].key == 0 || h->msg_controllen + CMSG_SPACE(sizeof(flags)) > CONTROL_BUFFER)
                return;
        struct cmsghdr *c = (struct cmsghdr *) (b->out_control[k] + h->msg_controllen);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SO_TIMESTAMPING;
        c->cmsg_len = CMSG_LEN(sizeof(flags));
        memcpy(CMSG_DATA(c), &flags, sizeof(flags));
        h->msg_control = b->out_control[k];
        h->msg_controllen += CMSG_SPACE(sizeof(flags));
}

static void answer_interleaved(struct ntp_server_worker *w, const struct server_client *client, const uint8_t *request,
                               size_t len, size_t k) {
        struct ntp_server *s = w->server;
        size_t address_len = client->family == AF_INET ? 4 : 16;
        pthread_mutex_lock(&s->xleave_lock);
        xleave_answer(s->xleave, client->address, address_len, request, len, w->batch->out_buf[k],
                      &w->batch->out_xleave[k]);
        pthread_mutex_unlock(&s->xleave_lock);
}

/* An NTS request answered with a NAK or not at all: no time in it, no state for it. */
static void undo_interleaved(struct ntp_server_worker *w, const uint8_t *request, size_t len, size_t k) {
        struct ntp_server *s = w->server;
        struct ntp_server_batch *b = w->batch;
        xleave_make_basic(request, len, b->out_buf[k]);
        pthread_mutex_lock(&s->xleave_lock);
        xleave_forget(s->xleave, b->out_xleave[k].key);
        pthread_mutex_unlock(&s->xleave_lock);
        b->out_xleave[k] = (struct xleave_answer) { 0 };
}

static void count_answer_mode(struct ntp_server_worker *w, size_t k) {
        /* An NTS NAK is a kiss (stratum 0): no time in it. */
        if (w->batch->out_buf[k][1] == NTP_STRATUM_KOD)
                return;
        counter_add(w->batch->out_xleave[k].interleaved ? &w->counters.interleaved : &w->counters.basic, 1);
}

/* The time just before the batch leaves, until the kernel's comes back. */
static void save_transmit_estimates(struct ntp_server_worker *w, size_t n, ntp_ts tx) {
        struct ntp_server *s = w->server;
        pthread_mutex_lock(&s->xleave_lock);
        for (size_t i = 0; i < n; i++)
                if (w->batch->out_xleave[i].key != 0)
                        xleave_set_transmit(s->xleave, w->batch->out_xleave[i].key, tx, false);
        pthread_mutex_unlock(&s->xleave_lock);
}

/* Answers looped back with their kernel transmit timestamps; the batch's receive buffers are free
 * between batches. */
static int read_transmit_timestamps(struct ntp_server_worker *w, int fd) {
        struct ntp_server *s = w->server;
        struct ntp_server_batch *b = w->batch;
        prepare_receive(b);
        int n = recvmmsg(fd, b->in, NTP_SERVER_BATCH, MSG_ERRQUEUE | MSG_DONTWAIT, NULL);
        pthread_mutex_lock(&s->xleave_lock);
        for (int i = 0; i < n; i++) {
                int64_t tx_ns;
                ntp_ts key;
                if (net_timestamp_from_cmsg(&b->in[i].msg_hdr, &tx_ns) &&
                    xleave_frame_key(b->in_buf[i], b->in[i].msg_len, &key)) {
                        xleave_set_transmit(s->xleave, key, ntp_ts_from_unix_ns(tx_ns), true);
                        counter_add(&w->counters.tx_timestamps, 1);
                }
        }
        pthread_mutex_unlock(&s->xleave_lock);
        return n;
}

static void send_batch(struct ntp_server_worker *w, int fd, size_t n) {
        struct ntp_server_batch *b = w->batch;
        /* As late as possible: stamped right before they leave. */
        ntp_ts tx = ntp_ts_from_unix_ns(now_realtime_ns());
        for (size_t i = 0; i < n; i++)
                if (!b->out_sealed[i] && !b->out_xleave[i].interleaved)
                        server_stamp_transmit(b->out_buf[i], tx);
        save_transmit_estimates(w, n, tx);
        size_t done = 0;
        while (done < n) {
                int k = sendmmsg(fd, b->out + done, (unsigned) (n - done), MSG_DONTWAIT);
                if (k <= 0) {
                        counter_add(&w->counters.send_errors, n - done);
                        counter_add(&w->counters.sent, done);
                        return;
                }
                done += (size_t) k;
        }
        counter_add(&w->counters.sent, n);
}

/* ---- NTS ---- */

static void log_nts_refusal(struct ntp_server_nts *n, const char *what, enum nts_ntp_reason reason) {
        unsigned suppressed;
        if (log_ratelimit_allow(&n->log, (uint64_t) now_monotonic_ns() / 1000, &suppressed))
                log_debug("server: NTS request %s: %s", what, nts_ntp_reason_to_string(reason));
}

/* As many fresh cookies as the request asks for, for the keys its cookie held. */
static size_t make_cookies(struct ntp_server_nts *n, const struct nts_ntp_server_request *request) {
        size_t count = 0;
        for (; count < request->n_cookies && count < NTS_MAX_COOKIES; count++)
                if (nts_server_keys_make_cookie(n->keys, &request->keys, &n->cookies[count]) < 0)
                        break;
        return count;
}

static enum ntp_server_nts_result reply_authenticated(struct ntp_server_nts *n, const struct nts_ntp_server_request *request,
                                                      ntp_ts tx, uint8_t *response, size_t size, size_t *ret_len) {
        uint8_t nonce[NTS_NONCE_SIZE];
        size_t n_cookies = make_cookies(n, request);
        /* The authenticator covers the header: its transmit timestamp goes in first. */
        server_stamp_transmit(n->header, tx);
        int r = nts_random_nonce(nonce, sizeof(nonce));
        if (r >= 0 && n_cookies > 0)
                r = nts_ntp_server_response_build(n->header, request, &n->aead, nonce, n->cookies, n_cookies, response,
                                                  size, ret_len, NULL);
        nts_wipe(n->cookies, n_cookies * sizeof(n->cookies[0]));
        return r >= 0 && n_cookies > 0 ? NTP_SERVER_NTS_REPLY : NTP_SERVER_NTS_DROP;
}

enum ntp_server_nts_result ntp_server_nts_answer(struct ntp_server_nts *n, const uint8_t *request, size_t len, ntp_ts tx,
                                                 uint8_t *response, size_t size, size_t *ret_len) {
        struct nts_ntp_server_request parsed;
        enum ntp_server_nts_result result = NTP_SERVER_NTS_DROP;

        /* The header server_handle() wrote is rebuilt into the same buffer: a copy first. */
        memcpy(n->header, response, NTP_HEADER_SIZE);
        enum nts_ntp_reason reason = nts_ntp_server_request_parse(request, len, &n->aead, nts_server_keys_open_cookie,
                                                                  n->keys, &parsed);
        if (reason == NTS_NTP_OK) {
                result = reply_authenticated(n, &parsed, tx, response, size, ret_len);
                nts_wipe(&parsed.keys, sizeof(parsed.keys));
        } else if (nts_ntp_reason_wants_nak(reason)) {
                log_nts_refusal(n, "answered with an NTS NAK", reason);
                if (nts_ntp_server_nak_build(n->header, request, len, response, size, ret_len) >= 0)
                        result = NTP_SERVER_NTS_NAK;
        } else
                log_nts_refusal(n, "dropped", reason);
        return result;
}

/* Rewrites the reply in slot k for an NTS request with the keys; false when there is to be none. */
static bool answer_nts(struct ntp_server_worker *w, nts_server_keys *keys, const uint8_t *request, size_t len, size_t k) {
        struct ntp_server_batch *b = w->batch;
        /* Interleaved, the header already holds the previous answer's transmit timestamp. */
        ntp_ts tx = b->out_xleave[k].interleaved ? b->out_xleave[k].tx : ntp_ts_from_unix_ns(now_realtime_ns());
        w->nts->keys = keys;
        enum ntp_server_nts_result r = ntp_server_nts_answer(w->nts, request, len, tx, b->out_buf[k],
                                                             sizeof(b->out_buf[k]), &b->out_len[k]);
        switch (r) {
        case NTP_SERVER_NTS_REPLY:
                counter_add(&w->counters.nts_answered, 1);
                b->out_sealed[k] = true;
                return true;
        case NTP_SERVER_NTS_NAK:
                counter_add(&w->counters.nts_naked, 1);
                undo_interleaved(w, request, len, k);
                return true;
        default:
                counter_add(&w->counters.nts_dropped, 1);
                undo_interleaved(w, request, len, k);
                return false;
        }
}

/* Whether the NTS request in slot k gets an answer: a plain one without keys. */
static bool answer_nts_locked(struct ntp_server_worker *w, const uint8_t *request, size_t len, size_t k) {
        struct ntp_server *s = w->server;
        bool main_thread = w->index == 0; /* the only writer: reads without the lock */
        if (!main_thread)
                pthread_rwlock_rdlock(&s->nts_lock);
        bool answer = !s->nts_keys || answer_nts(w, s->nts_keys, request, len, k);
        if (!main_thread)
                pthread_rwlock_unlock(&s->nts_lock);
        return answer;
}

int ntp_server_nts_init(struct ntp_server_nts *n, nts_server_keys *keys) {
        *n = (struct ntp_server_nts) { .keys = keys, .log = LOG_RATELIMIT_INIT };
        return nts_gnutls_aead_new(&n->aead);
}

void ntp_server_nts_done(struct ntp_server_nts *n) {
        nts_gnutls_aead_free(&n->aead);
        nts_wipe(n, sizeof(*n));
}

int ntp_server_set_nts(struct ntp_server *s, nts_server_keys *keys) {
        pthread_rwlock_wrlock(&s->nts_lock);
        s->nts_keys = keys;
        pthread_rwlock_unlock(&s->nts_lock);
        return 0;
}

/* ---- the batch ---- */

/* Worker 0 asks the engine; the others read what the main loop published, aged since. */
static void state_for_batch(struct ntp_server_worker *w, int64_t now_mono, struct server_state *ret) {
        int64_t published_mono;
        if (w->index == 0) {
                current_state(w->server, ret);
                return;
        }
        ntp_server_snapshot_read(&w->server->snapshot, ret, &published_mono);
        if (published_mono > 0 && now_mono > published_mono)
                ret->root_dispersion += PHI * (double) (now_mono - published_mono) / NS_PER_SEC;
}

/* server_handle() with the rate limiter's shard for the client locked. */
static enum server_verdict handle_one(struct ntp_server *s, const struct server_state *state,
                                      const struct server_client *client, const uint8_t *request, size_t len, ntp_ts rx,
                                      int64_t now_mono, uint8_t *response) {
        size_t shard = ntp_server_limiter_shard(s->limiter, client);
        ratelimit *table = ntp_server_limiter_lock(s->limiter, shard);
        enum server_verdict v = server_handle(state, &s->rules, table, client, request, len, rx, now_mono, response);
        ntp_server_limiter_unlock(s->limiter, shard);
        return v;
}

/* A mode 6 query: worker 0 answers it, the others hand it over. */
static void answer_control(struct ntp_server_worker *w, int fd, struct msghdr *m, size_t len) {
        if (w->index == 0)
                ntp_server_answer_control(w, fd, m, len);
        else
                (void) ntp_server_control_queue_push(w, fd, m, len);
}

static void process_batch(struct ntp_server_worker *w, int fd, int n) {
        struct ntp_server *s = w->server;
        struct ntp_server_batch *b = w->batch;
        struct server_state state;
        size_t n_out = 0;
        int64_t now_mono = now_monotonic_ns();

        state_for_batch(w, now_mono, &state);
        for (int i = 0; i < n; i++) {
                struct msghdr *m = &b->in[i].msg_hdr;
                struct server_client client;
                counter_add(&w->counters.received, 1);
                if ((m->msg_flags & MSG_TRUNC) || !client_from(&b->in_addr[i], &client)) /* longer than any NTP packet */
                        continue;
                enum server_verdict v = handle_one(s, &state, &client, b->in_buf[i], b->in[i].msg_len,
                                                   receive_timestamp(m), now_mono, b->out_buf[n_out]);
                /* Not serving: only the control messages the rules allow get an answer. */
                if (!s->enabled && v != SERVER_CONTROL)
                        v = SERVER_DROP_NOSERVE;
                counter_add(&w->counters.verdicts[v], 1);
                b->out_len[n_out] = NTP_HEADER_SIZE;
                b->out_sealed[n_out] = false;
                b->out_xleave[n_out] = (struct xleave_answer) { 0 };
                if (v == SERVER_REPLY)
                        answer_interleaved(w, &client, b->in_buf[i], b->in[i].msg_len, n_out);
                /* An NTS request went through the same rules; its answer is authenticated, a NAK, or none. */
                if (v == SERVER_REPLY && server_request_wants_nts(b->in_buf[i], b->in[i].msg_len) &&
                    !answer_nts_locked(w, b->in_buf[i], b->in[i].msg_len, n_out))
                        continue;
                if (v == SERVER_REPLY)
                        count_answer_mode(w, n_out);
                if (server_verdict_answers(v)) {
                        queue_reply(b, &n_out, m);
                        request_transmit_timestamp(b, n_out - 1);
                } else if (v == SERVER_CONTROL)
                        answer_control(w, fd, m, b->in[i].msg_len);
        }
        if (n_out > 0)
                send_batch(w, fd, n_out);
}

int ntp_server_worker_process(struct ntp_server_worker *w, int fd) {
        struct ntp_server *s = w->server;
        bool main_thread = w->index == 0; /* the only writer of the rules: reads without the lock */

        prepare_receive(w->batch);
        int n = recvmmsg(fd, w->batch->in, NTP_SERVER_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
                return n < 0 ? -errno : 0;
        if (!main_thread)
                pthread_rwlock_rdlock(&s->rules_lock);
        process_batch(w, fd, n);
        if (!main_thread)
                pthread_rwlock_unlock(&s->rules_lock);
        return n;
}

int ntp_server_process(struct ntp_server *s, int fd) {
        return ntp_server_worker_process(s->workers[0], fd);
}

void ntp_server_worker_wakeup(struct ntp_server_worker *w, int fd, uint32_t events) {
        /* epoll reports the error queue (transmit timestamps) whether asked or not. */
        if (events & EPOLLERR)
                for (int i = 0; i < NTP_SERVER_BATCHES_PER_WAKEUP; i++)
                        if (read_transmit_timestamps(w, fd) < NTP_SERVER_BATCH)
                                break;
        for (int i = 0; i < NTP_SERVER_BATCHES_PER_WAKEUP; i++)
                if (ntp_server_worker_process(w, fd) < NTP_SERVER_BATCH)
                        break;
}

static int on_datagrams(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        struct ntp_server_worker *w = userdata;
        ntp_server_worker_wakeup(w, fd, revents);
        unsigned suppressed;
        if (counter_read(&w->counters.verdicts[SERVER_DROP_LIMITED]) == 0 ||
            !log_ratelimit_allow(&w->flood_log, (uint64_t) now_monotonic_ns() / 1000, &suppressed))
                return 0;
        struct ntp_server_counters all;
        ntp_server_get_counters(w->server, &all);
        log_debug("server: %llu requests rate limited so far", (unsigned long long) all.verdicts[SERVER_DROP_LIMITED]);
        return 0;
}

/* ---- counters ---- */

static void add_counters(struct ntp_server_counters *sum, const struct ntp_server_counters *c) {
        sum->received += counter_read(&c->received);
        for (size_t v = 0; v < _SERVER_VERDICT_MAX; v++)
                sum->verdicts[v] += counter_read(&c->verdicts[v]);
        sum->sent += counter_read(&c->sent);
        sum->basic += counter_read(&c->basic);
        sum->interleaved += counter_read(&c->interleaved);
        sum->tx_timestamps += counter_read(&c->tx_timestamps);
        sum->send_errors += counter_read(&c->send_errors);
        sum->nts_answered += counter_read(&c->nts_answered);
        sum->nts_naked += counter_read(&c->nts_naked);
        sum->nts_dropped += counter_read(&c->nts_dropped);
}

void ntp_server_get_counters(const struct ntp_server *s, struct ntp_server_counters *ret) {
        *ret = s->stopped_counters;
        for (size_t i = 0; i < s->n_workers; i++)
                add_counters(ret, &s->workers[i]->counters);
}

uint64_t ntp_server_worker_received(const struct ntp_server *s, size_t i) {
        return i < s->n_workers ? counter_read(&s->workers[i]->counters.received) : 0;
}

/* ---- the state for the workers ---- */

static void publish_state(struct ntp_server *s) {
        struct server_state state;
        current_state(s, &state);
        ntp_server_snapshot_publish(&s->snapshot, &state, now_monotonic_ns());
}

void ntp_server_state_changed(struct ntp_server *s) {
        if (s->n_workers > 1)
                publish_state(s);
}

void ntp_server_set_rules(struct ntp_server *s, const struct restrict_set *rules) {
        pthread_rwlock_wrlock(&s->rules_lock);
        s->rules = *rules;
        pthread_rwlock_unlock(&s->rules_lock);
}

/* ---- life cycle ---- */

static int watch_sockets(struct ntp_server *s) {
        for (size_t i = 0; i < s->n_fds; i++) {
                tune_socket(s->fds[i], socket_family(s->fds[i]));
                int r = sd_event_add_io(s->manager->event, &s->io[i], s->fds[i], EPOLLIN, on_datagrams, s->workers[0]);
                if (r < 0)
                        return log_error_errno(r, "Cannot watch the server socket");
        }
        return 0;
}

unsigned ntp_server_default_threads(void) {
        cpu_set_t set;
        if (sched_getaffinity(0, sizeof(set), &set) < 0)
                return 1;
        int n = CPU_COUNT(&set);
        return n < 1 ? 1 : n > NTP_SERVER_MAX_THREADS ? NTP_SERVER_MAX_THREADS : (unsigned) n;
}

static unsigned threads_wanted(const struct ntp_server *s) {
        unsigned n = s->manager->config.serve_threads.value;
        return n > 0 ? n : ntp_server_default_threads();
}

/* Workers 1..n-1 beside worker 0; fewer (logged) when they cannot be had. */
static void start_workers(struct ntp_server *s, unsigned n) {
        if (n <= 1)
                return;
        /* Then after every engine run; in between the workers age it themselves. */
        publish_state(s);
        (void) ntp_server_workers_start(s, n);
}

static int open_sockets(struct ntp_server *s) {
        unsigned threads = threads_wanted(s);
        if (s->activated)
                log_info("Serving time on %zu socket(s) from systemd", s->n_fds);
        else if (s->n_fds < NTP_SERVER_MAX_SOCKETS) {
                int fd = bind_wildcard(threads > 1);
                if (fd == -EACCES)
                        return log_error_errno(fd, "Cannot bind UDP port 123 to serve time: no right to bind it "
                                                   "(under systemd, ntpsyncd.socket binds it for ntpsyncd)");
                if (fd < 0)
                        return log_error_errno(fd, "Cannot bind UDP port 123 to serve time");
                add_own_socket(s, fd, true);
                log_info("Serving time on UDP port 123");
        }
        int r = watch_sockets(s);
        if (r >= 0)
                start_workers(s, threads);
        return r;
}

static int bind_loopback(int family) {
        int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
        if (fd < 0)
                return -errno;
        union sockaddr_union a = {};
        socklen_t len;
        if (family == AF_INET) {
                a.in = (struct sockaddr_in) { .sin_family = AF_INET, .sin_port = htons(NTP_PORT),
                                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                len = sizeof(a.in);
        } else {
                int on = 1;
                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
                a.in6 = (struct sockaddr_in6) { .sin6_family = AF_INET6, .sin6_port = htons(NTP_PORT),
                                                .sin6_addr = IN6ADDR_LOOPBACK_INIT };
                len = sizeof(a.in6);
        }
        if (bind(fd, &a.sa, len) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* Not serving time, ntpq -p on this host still works: loopback only, control messages only. */
static int open_control_sockets(struct ntp_server *s) {
        if (s->n_fds == 0) {
                int families[] = { AF_INET, AF_INET6 };
                for (size_t i = 0; i < 2; i++) {
                        int fd = bind_loopback(families[i]);
                        if (fd >= 0)
                                add_own_socket(s, fd, false);
                        else
                                log_debug("No control socket on loopback: %s", strerror(-fd));
                }
        }
        return watch_sockets(s);
}

/* Sockets from systemd stay: they are how clients wake us up again. The workers first: they
 * may read worker 0's sockets. */
static void close_sockets(struct ntp_server *s) {
        size_t kept = 0;
        ntp_server_workers_stop(s);
        for (size_t i = 0; i < s->n_fds; i++) {
                s->io[i] = sd_event_source_disable_unref(s->io[i]);
                if (s->owned[i])
                        close(s->fds[i]);
                else {
                        s->serving_socket[kept] = s->serving_socket[i];
                        s->fds[kept++] = s->fds[i];
                }
        }
        for (size_t i = 0; i < kept; i++)
                s->owned[i] = false;
        s->n_fds = kept;
}

int ntp_server_set_enabled(struct ntp_server *s, bool enabled) {
        if (s->started && enabled == s->enabled)
                return 0;
        bool was_serving = s->started && s->enabled;
        close_sockets(s);
        s->started = true;
        s->enabled = enabled;
        if (!enabled) {
                if (was_serving)
                        log_info("No longer serving time");
                return open_control_sockets(s);
        }
        int r = open_sockets(s);
        s->open_error = r < 0 ? r : 0;
        if (r < 0) {
                close_sockets(s);
                s->enabled = false;
                (void) open_control_sockets(s);
                return r;
        }
        return 0;
}

static size_t xleave_capacity_wanted(void) {
        const char *e = getenv(NTP_SERVER_XLEAVE_CAPACITY_ENV);
        char *end;
        unsigned long n = e ? strtoul(e, &end, 10) : 0;
        return e && *e && !*end && n > 0 ? (size_t) n : XLEAVE_DEFAULT_CAPACITY;
}

int ntp_server_new(manager *m, struct ntp_server **ret) {
        struct ntp_server *s = calloc(1, sizeof(*s));
        uint64_t seed = 0;
        if (!s)
                return -ENOMEM;
        (void) getrandom(&seed, sizeof(seed), 0);
        struct ratelimit_config rc = {
                .minimum = RATELIMIT_DEFAULT_MINIMUM,
                .average = RATELIMIT_DEFAULT_AVERAGE,
                .capacity = RATELIMIT_DEFAULT_CAPACITY,
        };
        s->manager = m;
        s->control.event_fd = -1;
        pthread_rwlock_init(&s->rules_lock, NULL);
        pthread_rwlock_init(&s->nts_lock, NULL);
        pthread_mutex_init(&s->xleave_lock, NULL);
        s->rules = m->restricts;
        s->limiter = ntp_server_limiter_new(&rc, seed);
        s->xleave = xleave_new(xleave_capacity_wanted(), seed ^ UINT64_C(0x5851f42d4c957f2d));
        s->workers[0] = ntp_server_worker_new(s, 0);
        s->n_workers = s->workers[0] ? 1 : 0;
        if (!s->limiter || !s->xleave || !s->workers[0] || ntp_server_control_queue_init(s) < 0) {
                ntp_server_free(s);
                return -ENOMEM;
        }
        /* Taken at once: whether systemd passed sockets decides the default of `serve`. */
        (void) take_activated_sockets(s);
        *ret = s;
        return 0;
}

struct ntp_server *ntp_server_free(struct ntp_server *s) {
        if (!s)
                return NULL;
        ntp_server_workers_stop(s);
        for (size_t i = 0; i < s->n_fds; i++) {
                sd_event_source_disable_unref(s->io[i]);
                close(s->fds[i]);
        }
        ntp_server_control_queue_done(s);
        ntp_server_worker_free(s->workers[0]);
        ntp_server_limiter_free(s->limiter);
        xleave_free(s->xleave);
        pthread_mutex_destroy(&s->xleave_lock);
        pthread_rwlock_destroy(&s->rules_lock);
        pthread_rwlock_destroy(&s->nts_lock);
        free(s);
        return NULL;
}
