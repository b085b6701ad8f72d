/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>

#include "load-common.h"

const char *load_program = "load";

void load_die(const char *what) {
        fprintf(stderr, "%s: %s: %s\n", load_program, what, strerror(errno));
        exit(1);
}

void load_die_errno(const char *what, int negative_errno) {
        errno = -negative_errno;
        load_die(what);
}

double load_mono(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

double load_cpu_seconds(void) {
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) < 0)
                return 0;
        return (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

uint64_t load_be64(const uint8_t *p) {
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
                v = (v << 8) | p[i];
        return v;
}

void load_put_be64(uint8_t *p, uint64_t v) {
        for (int i = 7; i >= 0; i--, v >>= 8)
                p[i] = (uint8_t) v;
}

bool load_same_address(const struct sockaddr_storage *from, const struct sockaddr_storage *server) {
        if (from->ss_family != server->ss_family)
                return false;
        if (from->ss_family == AF_INET) {
                const struct sockaddr_in *a = (const void *) from, *b = (const void *) server;
                return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
        }
        const struct sockaddr_in6 *a = (const void *) from, *b = (const void *) server;
        return a->sin6_port == b->sin6_port && memcmp(&a->sin6_addr, &b->sin6_addr, 16) == 0;
}

int load_open_socket(int epfd, unsigned index, int family, int buffer, bool transparent) {
        int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
        int on = 1;
        if (fd < 0)
                load_die("socket");
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof(buffer)) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof(buffer)) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof(buffer));
        if (transparent) {
                if (setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &on, sizeof(on)) < 0)
                        load_die("IP_TRANSPARENT (needs CAP_NET_ADMIN)");
                if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) < 0)
                        load_die("IP_PKTINFO");
        }
        struct sockaddr_storage any = { .ss_family = (sa_family_t) family };
        if (bind(fd, (struct sockaddr *) &any, family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) < 0)
                load_die("bind");
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = index };
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
                load_die("epoll_ctl");
        return fd;
}

unsigned load_sendmmsg(int fd, struct mmsghdr *msgs, unsigned k, uint64_t *stalls, uint64_t *errors) {
        int n = sendmmsg(fd, msgs, k, MSG_DONTWAIT);
        if (n < 0) {
                if (errno == EAGAIN || errno == ENOBUFS)
                        (*stalls)++;
                else
                        (*errors)++;
                return 0;
        }
        if ((unsigned) n < k)
                (*stalls)++;
        return (unsigned) n;
}

struct receiver {
        struct mmsghdr msgs[LOAD_RECV_BATCH];
        struct iovec iov[LOAD_RECV_BATCH];
        uint8_t bufs[LOAD_RECV_BATCH][LOAD_RECV_BUF];
        struct sockaddr_storage from[LOAD_RECV_BATCH];
        char control[LOAD_RECV_BATCH][LOAD_CONTROL_SIZE] __attribute__((aligned(__alignof__(struct cmsghdr))));
};

static void drain(int fd, struct receiver *r, load_check_fn check) {
        for (int round = 0; round < 16; round++) {
                for (int i = 0; i < LOAD_RECV_BATCH; i++) {
                        r->iov[i] = (struct iovec) { r->bufs[i], LOAD_RECV_BUF };
                        r->msgs[i].msg_hdr = (struct msghdr) {
                                .msg_name = &r->from[i], .msg_namelen = sizeof(r->from[i]),
                                .msg_iov = &r->iov[i], .msg_iovlen = 1,
                                .msg_control = r->control[i], .msg_controllen = LOAD_CONTROL_SIZE,
                        };
                }
                int n = recvmmsg(fd, r->msgs, LOAD_RECV_BATCH, MSG_DONTWAIT, NULL);
                if (n <= 0)
                        return;
                for (int i = 0; i < n; i++)
                        check(r->bufs[i], r->msgs[i].msg_len, &r->from[i], &r->msgs[i].msg_hdr);
                if (n < LOAD_RECV_BATCH)
                        return;
        }
}

static void receive_ready(int epfd, const int *fds, struct receiver *r, int timeout_ms, load_check_fn check) {
        struct epoll_event ev[64];
        int n = epoll_wait(epfd, ev, 64, timeout_ms);
        for (int i = 0; i < n; i++)
                drain(fds[ev[i].data.u32], r, check);
}

double load_run(const struct load_run *run, uint64_t *ret_sent) {
        struct receiver *rcv = calloc(1, sizeof(*rcv));
        int *fds = calloc(run->n_sockets, sizeof(int));
        if (!rcv || !fds)
                load_die("calloc");
        int epfd = epoll_create1(EPOLL_CLOEXEC);
        if (epfd < 0)
                load_die("epoll_create1");
        for (unsigned i = 0; i < run->n_sockets; i++)
                fds[i] = load_open_socket(epfd, i, run->family, run->buffer, run->transparent);

        uint64_t sent = 0;
        double start = load_mono(), now, end = start + run->duration;
        unsigned next_socket = 0;
        while ((now = load_mono()) < end) {
                uint64_t due_total = (uint64_t) ((now - start) * run->rate) + 1;
                if (due_total > run->max_seq)
                        due_total = run->max_seq;
                if (due_total > sent) {
                        uint64_t due = due_total - sent;
                        unsigned k = due < run->batch ? (unsigned) due : run->batch;
                        sent += run->send(fds[next_socket], sent, k);
                        *ret_sent = sent; /* the checker matches replies against what left */
                        next_socket = (next_socket + 1) % run->n_sockets;
                        receive_ready(epfd, fds, rcv, 0, run->check);
                        continue;
                }
                /* Nothing due: read replies, sleeping until the next request is due if it is
                 * more than a tick away (at low rates, so as not to burn the core). */
                double next_due = start + (double) sent / run->rate;
                int timeout_ms = next_due - now > 0.002 ? (int) ((next_due - now) * 1000) - 1 : 0;
                receive_ready(epfd, fds, rcv, timeout_ms, run->check);
        }
        double sending = load_mono() - start;
        double wait_end = load_mono() + run->wait;
        while ((now = load_mono()) < wait_end)
                receive_ready(epfd, fds, rcv, (int) ((wait_end - now) * 1000) + 1, run->check);
        *ret_sent = sent;
        return sending;
}
