/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/net_tstamp.h>
#include <math.h>
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

static struct log_ratelimit flood_log = LOG_RATELIMIT_INIT;
static struct log_ratelimit nts_log = LOG_RATELIMIT_INIT;

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
        if (family == AF_INET6)
                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
        else
                (void) setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
}

static int socket_family(int fd) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *) &ss, &len) < 0)
                return -errno;
        return ss.ss_family;
}

/* [::]:123 taking IPv4 too; a plain IPv4 socket where IPv6 is off. */
static int bind_wildcard(void) {
        int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
        if (fd >= 0) {
                int off = 0;
                struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(NTP_PORT), .sin6_addr = IN6ADDR_ANY_INIT };
                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
                if (bind(fd, (struct sockaddr *) &a, sizeof(a)) == 0)
                        return fd;
                close(fd);
        }
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
        if (fd < 0)
                return -errno;
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(NTP_PORT), .sin_addr.s_addr = htonl(INADDR_ANY) };
        if (bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
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
                        s->fds[s->n_fds++] = fd;
                        s->activated |= !control;
                }
        }
        for (int i = 0; names && i < n; i++)
                free(names[i]);
        free(names);
        return (int) s->n_fds;
}

static void add_own_socket(struct ntp_server *s, int fd) {
        s->owned[s->n_fds] = true;
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

static void current_state(struct ntp_server *s, struct server_state *ret) {
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
        struct ntp_server *server;
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
                c->server->counters.send_errors++;
        else
                c->server->counters.sent++;
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

static void answer_interleaved(struct ntp_server *s, const struct server_client *client, const uint8_t *request,
                               size_t len, size_t k) {
        struct ntp_server_batch *b = s->batch;
        size_t address_len = client->family == AF_INET ? 4 : 16;
        xleave_answer(s->xleave, client->address, address_len, request, len, b->out_buf[k], &b->out_xleave[k]);
}

/* An NTS request answered with a NAK or not at all: no time in it, no state for it. */
static void undo_interleaved(struct ntp_server *s, const uint8_t *request, size_t len, size_t k) {
        struct ntp_server_batch *b = s->batch;
        xleave_make_basic(request, len, b->out_buf[k]);
        xleave_forget(s->xleave, b->out_xleave[k].key);
        b->out_xleave[k] = (struct xleave_answer) { 0 };
}

static void count_answer_mode(struct ntp_server *s, size_t k) {
        /* An NTS NAK is a kiss (stratum 0): no time in it. */
        if (s->batch->out_buf[k][1] == NTP_STRATUM_KOD)
                return;
        if (s->batch->out_xleave[k].interleaved)
                s->counters.interleaved++;
        else
                s->counters.basic++;
}

/* The time just before the batch leaves, until the kernel's comes back. */
static void save_transmit_estimates(struct ntp_server *s, size_t n, ntp_ts tx) {
        for (size_t i = 0; i < n; i++)
                if (s->batch->out_xleave[i].key != 0)
                        xleave_set_transmit(s->xleave, s->batch->out_xleave[i].key, tx, false);
}

/* Answers looped back with their kernel transmit timestamps; the batch's receive buffers are free
 * between batches. */
static int read_transmit_timestamps(struct ntp_server *s, int fd) {
        struct ntp_server_batch *b = s->batch;
        prepare_receive(b);
        int n = recvmmsg(fd, b->in, NTP_SERVER_BATCH, MSG_ERRQUEUE | MSG_DONTWAIT, NULL);
        for (int i = 0; i < n; i++) {
                int64_t tx_ns;
                ntp_ts key;
                if (net_timestamp_from_cmsg(&b->in[i].msg_hdr, &tx_ns) &&
                    xleave_frame_key(b->in_buf[i], b->in[i].msg_len, &key)) {
                        xleave_set_transmit(s->xleave, key, ntp_ts_from_unix_ns(tx_ns), true);
                        s->counters.tx_timestamps++;
                }
        }
        return n;
}

static void send_batch(struct ntp_server *s, int fd, size_t n) {
        struct ntp_server_batch *b = s->batch;
        /* As late as possible: stamped right before they leave. */
        ntp_ts tx = ntp_ts_from_unix_ns(now_realtime_ns());
        for (size_t i = 0; i < n; i++)
                if (!b->out_sealed[i] && !b->out_xleave[i].interleaved)
                        server_stamp_transmit(b->out_buf[i], tx);
        save_transmit_estimates(s, n, tx);
        size_t done = 0;
        while (done < n) {
                int k = sendmmsg(fd, b->out + done, (unsigned) (n - done), MSG_DONTWAIT);
                if (k <= 0) {
                        s->counters.send_errors += n - done;
                        return;
                }
                done += (size_t) k;
        }
        s->counters.sent += n;
}

/* ---- NTS ---- */

static void log_nts_refusal(const char *what, enum nts_ntp_reason reason) {
        unsigned suppressed;
        if (log_ratelimit_allow(&nts_log, (uint64_t) now_monotonic_ns() / 1000, &suppressed))
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
                log_nts_refusal("answered with an NTS NAK", reason);
                if (nts_ntp_server_nak_build(n->header, request, len, response, size, ret_len) >= 0)
                        result = NTP_SERVER_NTS_NAK;
        } else
                log_nts_refusal("dropped", reason);
        return result;
}

/* Rewrites the reply in slot k for an NTS request; false when there is to be none. */
static bool answer_nts(struct ntp_server *s, const uint8_t *request, size_t len, size_t k) {
        struct ntp_server_batch *b = s->batch;
        /* Interleaved, the header already holds the previous answer's transmit timestamp. */
        ntp_ts tx = b->out_xleave[k].interleaved ? b->out_xleave[k].tx : ntp_ts_from_unix_ns(now_realtime_ns());
        enum ntp_server_nts_result r = ntp_server_nts_answer(s->nts, request, len, tx, b->out_buf[k],
                                                             sizeof(b->out_buf[k]), &b->out_len[k]);
        switch (r) {
        case NTP_SERVER_NTS_REPLY:
                s->counters.nts_answered++;
                b->out_sealed[k] = true;
                return true;
        case NTP_SERVER_NTS_NAK:
                s->counters.nts_naked++;
                undo_interleaved(s, request, len, k);
                return true;
        default:
                s->counters.nts_dropped++;
                undo_interleaved(s, request, len, k);
                return false;
        }
}

int ntp_server_nts_init(struct ntp_server_nts *n, nts_server_keys *keys) {
        *n = (struct ntp_server_nts) { .keys = keys };
        return nts_gnutls_aead_new(&n->aead);
}

void ntp_server_nts_done(struct ntp_server_nts *n) {
        nts_gnutls_aead_free(&n->aead);
        nts_wipe(n, sizeof(*n));
}

int ntp_server_set_nts(struct ntp_server *s, nts_server_keys *keys) {
        if (!keys) {
                if (s->nts)
                        ntp_server_nts_done(s->nts);
                s->nts = (free(s->nts), NULL);
                return 0;
        }
        if (s->nts) {
                s->nts->keys = keys;
                return 0;
        }
        struct ntp_server_nts *n = malloc(sizeof(*n));
        if (!n)
                return -ENOMEM;
        int r = ntp_server_nts_init(n, keys);
        if (r < 0) {
                free(n);
                return r;
        }
        s->nts = n;
        return 0;
}

/* ---- the batch ---- */

int ntp_server_process(struct ntp_server *s, int fd) {
        struct ntp_server_batch *b = s->batch;
        struct server_state state;
        size_t n_out = 0;

        prepare_receive(b);
        int n = recvmmsg(fd, b->in, NTP_SERVER_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
                return n < 0 ? -errno : 0;
        current_state(s, &state);
        int64_t now_mono = now_monotonic_ns();

        for (int i = 0; i < n; i++) {
                struct msghdr *m = &b->in[i].msg_hdr;
                struct server_client client;
                s->counters.received++;
                if ((m->msg_flags & MSG_TRUNC) || !client_from(&b->in_addr[i], &client)) /* longer than any NTP packet */
                        continue;
                enum server_verdict v = server_handle(&state, &s->manager->restricts, s->limiter, &client, b->in_buf[i],
                                                      b->in[i].msg_len, receive_timestamp(m), now_mono, b->out_buf[n_out]);
                /* Not serving: only the control messages the rules allow get an answer. */
                if (!s->enabled && v != SERVER_CONTROL)
                        v = SERVER_DROP_NOSERVE;
                s->counters.verdicts[v]++;
                b->out_len[n_out] = NTP_HEADER_SIZE;
                b->out_sealed[n_out] = false;
                b->out_xleave[n_out] = (struct xleave_answer) { 0 };
                if (v == SERVER_REPLY)
                        answer_interleaved(s, &client, b->in_buf[i], b->in[i].msg_len, n_out);
                /* An NTS request went through the same rules; its answer is authenticated, a NAK, or none. */
                if (v == SERVER_REPLY && s->nts && server_request_wants_nts(b->in_buf[i], b->in[i].msg_len) &&
                    !answer_nts(s, b->in_buf[i], b->in[i].msg_len, n_out))
                        continue;
                if (v == SERVER_REPLY)
                        count_answer_mode(s, n_out);
                if (server_verdict_answers(v)) {
                        queue_reply(b, &n_out, m);
                        request_transmit_timestamp(b, n_out - 1);
                } else if (v == SERVER_CONTROL) {
                        struct control_reply c = { .server = s, .fd = fd, .request = m };
                        control_answer(s->manager, b->in_buf[i], b->in[i].msg_len, emit_control, &c);
                }
        }
        if (n_out > 0)
                send_batch(s, fd, n_out);
        return n;
}

static int on_datagrams(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        struct ntp_server *s = userdata;
        /* epoll reports the error queue whether asked or not. */
        if (revents & EPOLLERR)
                for (int i = 0; i < 8; i++)
                        if (read_transmit_timestamps(s, fd) < NTP_SERVER_BATCH)
                                break;
        /* A few batches per wakeup, then back to the loop so that nothing else starves. */
        for (int i = 0; i < 8; i++)
                if (ntp_server_process(s, fd) < NTP_SERVER_BATCH)
                        break;
        unsigned suppressed;
        uint64_t limited = s->counters.verdicts[SERVER_DROP_LIMITED];
        if (limited > 0 && log_ratelimit_allow(&flood_log, (uint64_t) now_monotonic_ns() / 1000, &suppressed))
                log_debug("server: %llu requests rate limited so far", (unsigned long long) limited);
        return 0;
}

/* ---- life cycle ---- */

static int watch_sockets(struct ntp_server *s) {
        for (size_t i = 0; i < s->n_fds; i++) {
                tune_socket(s->fds[i], socket_family(s->fds[i]));
                int r = sd_event_add_io(s->manager->event, &s->io[i], s->fds[i], EPOLLIN, on_datagrams, s);
                if (r < 0)
                        return log_error_errno(r, "Cannot watch the server socket");
        }
        return 0;
}

static int open_sockets(struct ntp_server *s) {
        if (s->activated)
                log_info("Serving time on %zu socket(s) from systemd", s->n_fds);
        else if (s->n_fds < NTP_SERVER_MAX_SOCKETS) {
                int fd = bind_wildcard();
                if (fd == -EACCES)
                        return log_error_errno(fd, "Cannot bind UDP port 123 to serve time: no right to bind it "
                                                   "(under systemd, ntpsyncd.socket binds it for ntpsyncd)");
                if (fd < 0)
                        return log_error_errno(fd, "Cannot bind UDP port 123 to serve time");
                add_own_socket(s, fd);
                log_info("Serving time on UDP port 123");
        }
        return watch_sockets(s);
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
                                add_own_socket(s, fd);
                        else
                                log_debug("No control socket on loopback: %s", strerror(-fd));
                }
        }
        return watch_sockets(s);
}

/* Sockets from systemd stay: they are how clients wake us up again. */
static void close_sockets(struct ntp_server *s) {
        size_t kept = 0;
        for (size_t i = 0; i < s->n_fds; i++) {
                s->io[i] = sd_event_source_disable_unref(s->io[i]);
                if (s->owned[i])
                        close(s->fds[i]);
                else
                        s->fds[kept++] = s->fds[i];
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
        s->batch = calloc(1, sizeof(*s->batch));
        s->limiter = ratelimit_new(&rc, seed);
        s->xleave = xleave_new(xleave_capacity_wanted(), seed ^ UINT64_C(0x5851f42d4c957f2d));
        if (!s->batch || !s->limiter || !s->xleave) {
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
        for (size_t i = 0; i < s->n_fds; i++) {
                sd_event_source_disable_unref(s->io[i]);
                close(s->fds[i]);
        }
        ratelimit_free(s->limiter);
        xleave_free(s->xleave);
        (void) ntp_server_set_nts(s, NULL);
        free(s->batch);
        free(s);
        return NULL;
}
