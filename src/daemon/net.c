/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "log.h"
#include "net.h"

#define NTP_PORT 123

static int64_t timespec_ns(const struct timespec *ts) {
        return (int64_t) ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static int64_t now_ns(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return timespec_ns(&ts);
}

int64_t now_realtime_ns(void) {
        return now_ns(CLOCK_REALTIME);
}

int64_t now_monotonic_ns(void) {
        return now_ns(CLOCK_MONOTONIC);
}

void net_address_to_string(const struct net_address *a, char *buf, size_t size) {
        const void *addr = a->sa.sa.sa_family == AF_INET6 ? (const void *) &a->sa.in6.sin6_addr
                                                            : (const void *) &a->sa.in.sin_addr;
        if (!inet_ntop(a->sa.sa.sa_family, addr, buf, (socklen_t) size))
                snprintf(buf, size, "?");
}

int net_address_parse(const char *text, struct net_address *ret) {
        struct net_address a = { 0 };
        if (inet_pton(AF_INET, text, &a.sa.in.sin_addr) == 1) {
                a.sa.in.sin_family = AF_INET;
                a.len = sizeof(a.sa.in);
        } else if (inet_pton(AF_INET6, text, &a.sa.in6.sin6_addr) == 1) {
                a.sa.in6.sin6_family = AF_INET6;
                a.len = sizeof(a.sa.in6);
        } else
                return -EINVAL;
        *ret = a;
        return 0;
}

void net_address_set_port(struct net_address *a, uint16_t port) {
        if (a->sa.sa.sa_family == AF_INET)
                a->sa.in.sin_port = htons(port);
        else if (a->sa.sa.sa_family == AF_INET6)
                a->sa.in6.sin6_port = htons(port);
}

uint32_t net_address_refid(const struct net_address *a) {
        if (a->sa.sa.sa_family == AF_INET)
                return ntohl(a->sa.in.sin_addr.s_addr);
        /* FNV-1a over the 16 bytes: stable, and only used to detect timing loops. */
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < 16; i++)
                h = (h ^ a->sa.in6.sin6_addr.s6_addr[i]) * 16777619u;
        return h;
}

static void enable_timestamps(int fd, bool *ret_tx) {
        int flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
                    SOF_TIMESTAMPING_OPT_TSONLY;
        if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)) == 0) {
                *ret_tx = true;
                return;
        }
        int on = 1;
        (void) setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
        *ret_tx = false;
}

struct net_address net_address_ntp_target(const struct net_address *a) {
        struct net_address target = *a;
        if (target.sa.sa.sa_family == AF_INET && target.sa.in.sin_port == 0)
                target.sa.in.sin_port = htons(NTP_PORT);
        if (target.sa.sa.sa_family == AF_INET6 && target.sa.in6.sin6_port == 0)
                target.sa.in6.sin6_port = htons(NTP_PORT);
        return target;
}

int net_client_socket(const struct net_address *a, bool *ret_tx_timestamps) {
        struct net_address target = net_address_ntp_target(a);
        int family = target.sa.sa.sa_family;

        int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
        if (fd < 0)
                return -errno;
        enable_timestamps(fd, ret_tx_timestamps);
        /* connect() picks a random ephemeral port and filters out every other sender. */
        if (connect(fd, &target.sa.sa, target.len) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

bool net_error_is_no_route(int r) {
        return r == -ENETUNREACH || r == -EHOSTUNREACH || r == -EADDRNOTAVAIL || r == -ENETDOWN;
}

int net_send(int fd, const void *buf, size_t len, int64_t *ret_t1_ns) {
        *ret_t1_ns = now_realtime_ns();
        ssize_t n = send(fd, buf, len, 0);
        if (n < 0)
                return -errno;
        return (size_t) n == len ? 0 : -EIO;
}

static bool timestamp_from_cmsg(struct msghdr *m, int64_t *ret_ns) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
                if (c->cmsg_level != SOL_SOCKET)
                        continue;
                if (c->cmsg_type == SCM_TIMESTAMPING && c->cmsg_len >= CMSG_LEN(sizeof(struct scm_timestamping))) {
                        struct scm_timestamping ts;
                        memcpy(&ts, CMSG_DATA(c), sizeof(ts));
                        if (ts.ts[0].tv_sec == 0 && ts.ts[0].tv_nsec == 0)
                                continue;
                        *ret_ns = timespec_ns(&ts.ts[0]);
                        return true;
                }
                if (c->cmsg_type == SCM_TIMESTAMPNS && c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
                        struct timespec ts;
                        memcpy(&ts, CMSG_DATA(c), sizeof(ts));
                        *ret_ns = timespec_ns(&ts);
                        return true;
                }
        }
        return false;
}

ssize_t net_receive(int fd, void *buf, size_t size, int64_t *ret_rx_ns) {
        char control[256];
        struct iovec iov = { buf, size };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };

        ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);
        if (n < 0)
                return -errno;
        if (m.msg_flags & MSG_TRUNC)
                return -EMSGSIZE;
        if (!timestamp_from_cmsg(&m, ret_rx_ns))
                *ret_rx_ns = now_realtime_ns();
        return n;
}

int net_read_tx_timestamp(int fd, int64_t *ret_tx_ns) {
        char control[256], data[64];
        struct iovec iov = { data, sizeof(data) };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };

        if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
                return -errno;
        return timestamp_from_cmsg(&m, ret_tx_ns) ? 0 : -ENODATA;
}

/* systemd passes listening sockets blocking: an accept() with nothing pending would then hold
 * the whole loop. */
static int make_non_blocking(int fd) {
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        return 0;
}

size_t net_take_listening_sockets(const char *name, const char *what, int *fds, size_t max) {
        char **names = NULL;
        size_t taken = 0;
        int n = sd_listen_fds_with_names(false, &names);
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i, r;
                if (!names || !names[i] || strcmp(names[i], name) != 0)
                        continue;
                if (taken >= max || sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0)
                        log_warning("%s: socket %d named %s is not a listening stream socket, ignoring it", what, fd,
                                    name);
                else if ((r = make_non_blocking(fd)) < 0)
                        log_warning_errno(r, "%s: cannot make socket %d non-blocking, ignoring it", what, fd);
                else
                        fds[taken++] = fd;
        }
        for (int i = 0; names && i < n; i++)
                free(names[i]);
        free(names);
        return taken;
}
