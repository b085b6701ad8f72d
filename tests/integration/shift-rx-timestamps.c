/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * LD_PRELOAD shim for the integration tests: shifts the kernel's socket timestamps by a fixed
 * offset, to go with libfaketime.
 *
 * libfaketime moves what clock_gettime()/gettimeofday() return by FAKETIME, but the receive
 * timestamps that the kernel attaches to packets (SO_TIMESTAMP, SO_TIMESTAMPNS,
 * SO_TIMESTAMPING) still come from the real clock. An NTP server under libfaketime alone then
 * stamps T2 (receive) with the real time and T3 (transmit) with the fake one, and a client
 * measures about half of the fake offset. Preloading this library as well, with
 * NTPSYNC_TEST_RX_SHIFT set to the same offset in seconds (a decimal number such as "0.5" or
 * "-0.3"), makes both timestamps agree.
 *
 * Wrapped: recvmsg() and recvmmsg(). Shifted: SCM_TIMESTAMP, SCM_TIMESTAMPNS and the software
 * timestamps of SCM_TIMESTAMPING (also their *_NEW 64-bit variants). The raw hardware
 * timestamp of SCM_TIMESTAMPING (third entry) is PHC time, not system time, and is left alone.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#ifndef SCM_TIMESTAMPING
#define SCM_TIMESTAMPING 37
#endif
#ifndef SO_TIMESTAMP_NEW
#define SO_TIMESTAMP_NEW 63
#endif
#ifndef SO_TIMESTAMPNS_NEW
#define SO_TIMESTAMPNS_NEW 64
#endif
#ifndef SO_TIMESTAMPING_NEW
#define SO_TIMESTAMPING_NEW 65
#endif

/* Layouts of the *_NEW variants (linux/time_types.h), fixed 64-bit on every architecture. */
struct shim_kernel_timespec {
        int64_t tv_sec;
        long long tv_nsec;
};
struct shim_kernel_sock_timeval {
        int64_t tv_sec;
        int64_t tv_usec;
};

typedef ssize_t (*recvmsg_fn)(int, struct msghdr *, int);
typedef int (*recvmmsg_fn)(int, struct mmsghdr *, unsigned int, int, struct timespec *);

static int64_t shift_ns; /* 0: nothing to do */
static int shift_parsed;

static int shim_parse_shift(void) {
        const char *s;
        char *end;
        double v;

        if (shift_parsed)
                return 0;
        shift_parsed = 1;
        s = getenv("NTPSYNC_TEST_RX_SHIFT");
        if (!s || !*s)
                return 0;
        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || fabs(v) > 1e6)
                return -EINVAL; /* ignored: better no shift than a wrong one */
        shift_ns = (int64_t) llround(v * 1e9);
        return 0;
}

static void shift_sec_nsec(int64_t *sec, int64_t *nsec, int64_t unit_ns, int64_t units_per_sec) {
        /* Works on a (seconds, sub-seconds) pair where a sub-second unit is unit_ns long. */
        int64_t total_sub, add_sub;

        if (*sec == 0 && *nsec == 0)
                return; /* an absent timestamp stays absent */
        add_sub = shift_ns / unit_ns;
        total_sub = *nsec + add_sub % units_per_sec;
        *sec += add_sub / units_per_sec;
        while (total_sub < 0) {
                total_sub += units_per_sec;
                (*sec)--;
        }
        while (total_sub >= units_per_sec) {
                total_sub -= units_per_sec;
                (*sec)++;
        }
        *nsec = total_sub;
}

static void shift_timespec(void *p) {
        struct timespec ts;
        int64_t sec, nsec;

        memcpy(&ts, p, sizeof ts);
        sec = ts.tv_sec;
        nsec = ts.tv_nsec;
        shift_sec_nsec(&sec, &nsec, 1, 1000000000);
        ts.tv_sec = (time_t) sec;
        ts.tv_nsec = (long) nsec;
        memcpy(p, &ts, sizeof ts);
}

static void shift_timeval(void *p) {
        struct timeval tv;
        int64_t sec, usec;

        memcpy(&tv, p, sizeof tv);
        sec = tv.tv_sec;
        usec = tv.tv_usec;
        shift_sec_nsec(&sec, &usec, 1000, 1000000);
        tv.tv_sec = (time_t) sec;
        tv.tv_usec = (suseconds_t) usec;
        memcpy(p, &tv, sizeof tv);
}

static void shift_kernel_timespec(void *p) {
        struct shim_kernel_timespec ts;
        int64_t sec, nsec;

        memcpy(&ts, p, sizeof ts);
        sec = ts.tv_sec;
        nsec = ts.tv_nsec;
        shift_sec_nsec(&sec, &nsec, 1, 1000000000);
        ts.tv_sec = sec;
        ts.tv_nsec = nsec;
        memcpy(p, &ts, sizeof ts);
}

static void shift_kernel_timeval(void *p) {
        struct shim_kernel_sock_timeval tv;
        int64_t sec, usec;

        memcpy(&tv, p, sizeof tv);
        sec = tv.tv_sec;
        usec = tv.tv_usec;
        shift_sec_nsec(&sec, &usec, 1000, 1000000);
        tv.tv_sec = sec;
        tv.tv_usec = usec;
        memcpy(p, &tv, sizeof tv);
}

static void shift_msghdr(struct msghdr *msg) {
        struct cmsghdr *c;

        if (shift_ns == 0 || !msg || !msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr))
                return;

        for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
                size_t len;

                if (c->cmsg_level != SOL_SOCKET || c->cmsg_len < CMSG_LEN(0))
                        continue;
                len = c->cmsg_len - CMSG_LEN(0);

                switch (c->cmsg_type) {
                case SCM_TIMESTAMP:
                        if (len >= sizeof(struct timeval))
                                shift_timeval(CMSG_DATA(c));
                        break;
                case SCM_TIMESTAMPNS:
                        if (len >= sizeof(struct timespec))
                                shift_timespec(CMSG_DATA(c));
                        break;
                case SCM_TIMESTAMPING:
                        /* ts[0] software, ts[1] deprecated (legacy hw transformed), ts[2] raw hw */
                        if (len >= 2 * sizeof(struct timespec)) {
                                shift_timespec(CMSG_DATA(c));
                                shift_timespec(CMSG_DATA(c) + sizeof(struct timespec));
                        }
                        break;
                case SO_TIMESTAMP_NEW:
                        if (len >= sizeof(struct shim_kernel_sock_timeval))
                                shift_kernel_timeval(CMSG_DATA(c));
                        break;
                case SO_TIMESTAMPNS_NEW:
                        if (len >= sizeof(struct shim_kernel_timespec))
                                shift_kernel_timespec(CMSG_DATA(c));
                        break;
                case SO_TIMESTAMPING_NEW:
                        if (len >= 2 * sizeof(struct shim_kernel_timespec)) {
                                shift_kernel_timespec(CMSG_DATA(c));
                                shift_kernel_timespec(CMSG_DATA(c) + sizeof(struct shim_kernel_timespec));
                        }
                        break;
                default:
                        break;
                }
        }
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
        static recvmsg_fn real;
        ssize_t n;

        if (!real) {
                real = (recvmsg_fn) dlsym(RTLD_NEXT, "recvmsg");
                if (!real) {
                        errno = ENOSYS;
                        return -1;
                }
        }
        (void) shim_parse_shift();

        n = real(fd, msg, flags);
        if (n >= 0) {
                int saved = errno;
                shift_msghdr(msg);
                errno = saved;
        }
        return n;
}

/* glibc >= 2.21 declares the timeout without const; both ABIs are the same. */
int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags, struct timespec *timeout) {
        static recvmmsg_fn real;
        int n;

        if (!real) {
                real = (recvmmsg_fn) dlsym(RTLD_NEXT, "recvmmsg");
                if (!real) {
                        errno = ENOSYS;
                        return -1;
                }
        }
        (void) shim_parse_shift();

        n = real(fd, vec, vlen, flags, timeout);
        if (n > 0) {
                int saved = errno;
                for (int i = 0; i < n; i++)
                        shift_msghdr(&vec[i].msg_hdr);
                errno = saved;
        }
        return n;
}
