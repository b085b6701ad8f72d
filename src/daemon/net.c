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

#include "hwts.h"
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

#define SOFTWARE_FLAGS (SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE)
/* Raw hardware timestamps next to the software ones (OPT_TX_SWHW: both for each transmission),
 * with the interface of each: SCM_TIMESTAMPING_PKTINFO on receive, IP_PKTINFO on the looped-back
 * transmitted packet (OPT_CMSG; hence no OPT_TSONLY). */
#define HARDWARE_FLAGS (SOF_TIMESTAMPING_RAW_HARDWARE | SOF_TIMESTAMPING_RX_HARDWARE | SOF_TIMESTAMPING_TX_HARDWARE | \
                        SOF_TIMESTAMPING_OPT_CMSG | SOF_TIMESTAMPING_OPT_PKTINFO | SOF_TIMESTAMPING_OPT_TX_SWHW)

void net_enable_packet_info(int fd, int family) {
        int on = 1;
        if (family == AF_INET6)
                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
        else
                (void) setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
}

/* When some interface timestamps in hardware; false (software only) when the kernel refuses. */
static bool enable_hardware_timestamps(int fd, int family, int flags) {
        if (!hwts_in_use() || setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)) < 0)
                return false;
        net_enable_packet_info(fd, family);
        return true;
}

void net_enable_receive_hardware_timestamps(int fd, int family) {
        (void) enable_hardware_timestamps(fd, family, SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
                                                              SOF_TIMESTAMPING_RAW_HARDWARE |
                                                              SOF_TIMESTAMPING_RX_HARDWARE |
                                                              SOF_TIMESTAMPING_OPT_PKTINFO);
}

static void enable_timestamps(int fd, int family, bool *ret_tx) {
        int flags = SOFTWARE_FLAGS | SOF_TIMESTAMPING_OPT_TSONLY;
        if (enable_hardware_timestamps(fd, family, SOFTWARE_FLAGS | HARDWARE_FLAGS) ||
            setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)) == 0) {
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
        enable_timestamps(fd, family, ret_tx_timestamps);
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

/* What the control messages of one packet say about its time. */
struct packet_times {
        struct timespec software, hardware, ns; /* SCM_TIMESTAMPING ts[0], ts[2]; SCM_TIMESTAMPNS */
        int hardware_ifindex, pktinfo_ifindex;
};

static bool is_set(const struct timespec *ts) {
        return ts->tv_sec != 0 || ts->tv_nsec != 0;
}

#define CMSG_HAS(c, level, type, size) \
        ((c)->cmsg_level == (level) && (c)->cmsg_type == (type) && (c)->cmsg_len >= CMSG_LEN(size))

static void read_control_message(struct cmsghdr *c, struct packet_times *t) {
        if (CMSG_HAS(c, SOL_SOCKET, SCM_TIMESTAMPING, sizeof(struct scm_timestamping))) {
                struct scm_timestamping ts;
                memcpy(&ts, CMSG_DATA(c), sizeof(ts));
                t->software = ts.ts[0];
                t->hardware = ts.ts[2];
        } else if (CMSG_HAS(c, SOL_SOCKET, SCM_TIMESTAMPNS, sizeof(struct timespec)))
                memcpy(&t->ns, CMSG_DATA(c), sizeof(t->ns));
        else if (CMSG_HAS(c, SOL_SOCKET, SCM_TIMESTAMPING_PKTINFO, sizeof(struct scm_ts_pktinfo))) {
                struct scm_ts_pktinfo info;
                memcpy(&info, CMSG_DATA(c), sizeof(info));
                t->hardware_ifindex = (int) info.if_index;
        } else if (CMSG_HAS(c, IPPROTO_IP, IP_PKTINFO, sizeof(struct in_pktinfo))) {
                struct in_pktinfo info;
                memcpy(&info, CMSG_DATA(c), sizeof(info));
                t->pktinfo_ifindex = info.ipi_ifindex;
        } else if (CMSG_HAS(c, IPPROTO_IPV6, IPV6_PKTINFO, sizeof(struct in6_pktinfo))) {
                struct in6_pktinfo info;
                memcpy(&info, CMSG_DATA(c), sizeof(info));
                t->pktinfo_ifindex = (int) info.ipi6_ifindex;
        }
}

/* The hardware timestamp through the PHC of the interface the packet came in on or left from,
 * else the software one: packet by packet, so that a PHC not measured yet or an interface without
 * hardware timestamping costs nothing but precision. */
bool net_timestamp_from_cmsg(struct msghdr *m, int64_t *ret_ns) {
        struct packet_times t = { 0 };
        for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c))
                read_control_message(c, &t);
        int ifindex = t.hardware_ifindex > 0 ? t.hardware_ifindex : t.pktinfo_ifindex;
        if (is_set(&t.hardware) && ifindex > 0 && hwts_convert(ifindex, &t.hardware, ret_ns))
                return true;
        const struct timespec *software = is_set(&t.software) ? &t.software : is_set(&t.ns) ? &t.ns : NULL;
        if (!software)
                return false;
        *ret_ns = timespec_ns(software);
        return true;
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
        if (!net_timestamp_from_cmsg(&m, ret_rx_ns))
                *ret_rx_ns = now_realtime_ns();
        return n;
}

/* A message without a usable timestamp (a hardware one whose PHC is not measured yet) is passed
 * over: the software one of the same transmission comes in its own message. */
int net_read_tx_timestamp(int fd, int64_t *ret_tx_ns) {
        char control[256], data[64];
        for (;;) {
                struct iovec iov = { data, sizeof(data) };
                struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                                    .msg_controllen = sizeof(control) };
                if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
                        return -errno;
                if (net_timestamp_from_cmsg(&m, ret_tx_ns))
                        return 0;
        }
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
