/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's side of ntpsyncd-firewall-helper (firewall-helper.h for the protocol,
 * firewall-helper.c for the helper): starting it or connecting to its socket, and its requests,
 * one at a time, answered on the event loop (an I/O source on the socket; firewall.c's timer
 * gives up after FIREWALL_HELPER_TIMEOUT_USEC) or, for the blocking calls, with poll().
 *
 * Why a separate executable and not a fork of the daemon: the helper's address space then holds
 * nothing of the daemon (no configuration, no bus connection, no packet buffers, none of the
 * resolver's threads, which make a fork without exec unsafe anyway), and libnftables — a large
 * parser — and jansson are linked into the helper only, never into the process that reads
 * packets from the network. The helper is started while the daemon still has CAP_NET_ADMIN;
 * the daemon then drops it (firewall_drop_privileges()). Every answer is checked like any
 * other untrusted input: a malformed one ends the helper, never the daemon. */

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/poll.h> /* not <poll.h>: src/core/poll.h is on the include path */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "firewall-config.h"
#include "core/nts-ke.h"
#include "firewall-internal.h"
#include "log.h"

#ifndef FIREWALL_HELPER_PATH
#define FIREWALL_HELPER_PATH "/usr/libexec/ntpsyncd-firewall-helper"
#endif
#ifndef FIREWALL_HELPER_SOCKET
#define FIREWALL_HELPER_SOCKET "/run/ntpsyncd-firewall.socket"
#endif

_Static_assert(FIREWALL_MAX_RANGES == FWH_MAX_RANGES, "one limit");
_Static_assert(FWH_NTS_KE_PORT == NTS_KE_PORT, "one NTS-KE port");

/* ---- capabilities (raw syscalls: no libcap) ---- */

static int caps_get(struct __user_cap_data_struct data[2]) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
        if (syscall(SYS_capget, &h, data) < 0)
                return -errno;
        return 0;
}

static int caps_set(struct __user_cap_data_struct data[2]) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
        if (syscall(SYS_capset, &h, data) < 0)
                return -errno;
        return 0;
}

#define CAP_BIT(c) (1u << ((c) % 32))
#define CAP_IDX(c) ((c) / 32)

bool firewall_have_net_admin(void) {
        struct __user_cap_data_struct d[2] = {};
        if (caps_get(d) < 0)
                return false;
        return (d[CAP_IDX(CAP_NET_ADMIN)].permitted & CAP_BIT(CAP_NET_ADMIN)) != 0;
}

int firewall_drop_privileges(void) {
        struct __user_cap_data_struct d[2] = {};
        int r;

        /* Nothing to drop (the usual case under systemd): no capset(), which the unit's system
         * call filter refuses. */
        if (!firewall_have_net_admin())
                return 0;
        (void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_NET_ADMIN, 0, 0);
        if (prctl(PR_CAPBSET_DROP, CAP_NET_ADMIN, 0, 0, 0) < 0)
                log_debug("Cannot drop CAP_NET_ADMIN from the bounding set (no CAP_SETPCAP): %s", strerror(errno));
        r = caps_get(d);
        if (r < 0)
                return log_error_errno(r, "Cannot read the process capabilities");
        d[CAP_IDX(CAP_NET_ADMIN)].effective &= ~CAP_BIT(CAP_NET_ADMIN);
        d[CAP_IDX(CAP_NET_ADMIN)].permitted &= ~CAP_BIT(CAP_NET_ADMIN);
        d[CAP_IDX(CAP_NET_ADMIN)].inheritable &= ~CAP_BIT(CAP_NET_ADMIN);
        r = caps_set(d);
        if (r < 0)
                return log_error_errno(r, "Cannot drop CAP_NET_ADMIN");
        if (caps_get(d) < 0 || (d[CAP_IDX(CAP_NET_ADMIN)].permitted & CAP_BIT(CAP_NET_ADMIN)) ||
            (d[CAP_IDX(CAP_NET_ADMIN)].effective & CAP_BIT(CAP_NET_ADMIN)))
                return log_error_errno(-EPERM, "CAP_NET_ADMIN is still there after dropping it");
        return 0;
}

/* ---- starting and ending the helper ---- */

static bool helper_wait_exit(pid_t pid, int tries) {
        for (int i = 0; i < tries; i++) {
                int status;
                pid_t p = waitpid(pid, &status, WNOHANG);
                if (p == pid || (p < 0 && errno == ECHILD))
                        return true;
                struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
        return false;
}

/* Never blocks for long: after the daemon dropped its capabilities it may not be allowed to kill
 * a helper that runs as nobody, and a helper stuck in the kernel exits at EOF once it gets out. */
void helper_reap(struct firewall *f, bool kill_it) {
        f->helper_io = sd_event_source_disable_unref(f->helper_io);
        if (f->fd >= 0) {
                close(f->fd);
                f->fd = -1;
        }
        if (f->pid <= 0)
                return;
        if (kill_it || !helper_wait_exit(f->pid, 200)) {
                (void) kill(f->pid, SIGKILL);
                if (!helper_wait_exit(f->pid, 200))
                        log_warning("Firewall helper (PID %d) did not exit", (int) f->pid);
        }
        f->pid = 0;
}

void helper_lost(struct firewall *f, const char *why) {
        if (f->pid > 0)
                log_error("Firewall helper (PID %d) %s; the firewall can no longer be changed by this process",
                          (int) f->pid, why);
        else
                log_error("Firewall helper (ntpsyncd-firewall.socket) %s; the firewall can no longer be changed "
                          "by this process", why);
        helper_reap(f, true);
        f->backend = FIREWALL_BACKEND_NONE;
        snprintf(f->reason, sizeof(f->reason), "the firewall helper %s", why);
        /* What was read back before cannot be checked any more. */
        f->known = false;
        snprintf(f->read_error, sizeof(f->read_error), "the firewall helper %s", why);
        snprintf(f->error, sizeof(f->error), "the firewall helper %s", why);
}

static int helper_spawn(struct firewall *f, const char *path) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        /* Prepared before fork(): the child of a threaded process may only make plain syscalls. */
        char *const argv[] = { (char *) "ntpsyncd-firewall-helper", NULL };
        char *const envp[] = { (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
        bool root = geteuid() == 0;
        struct __user_cap_data_struct caps[2] = {};
        if (!root && caps_get(caps) < 0) {
                close(sv[0]);
                close(sv[1]);
                return -EPERM;
        }
        caps[CAP_IDX(CAP_NET_ADMIN)].inheritable |= CAP_BIT(CAP_NET_ADMIN);

        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(sv[0]);
                close(sv[1]);
                return r;
        }
        if (pid == 0) {
                sigset_t none;
                struct sigaction dfl = { .sa_handler = SIG_DFL };
                sigemptyset(&none);
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
                for (int sig = 1; sig < NSIG; sig++)
                        (void) sigaction(sig, &dfl, NULL);
                if (sv[1] == FWH_FD) {
                        if (fcntl(FWH_FD, F_SETFD, 0) < 0)
                                _exit(126);
                } else if (dup2(sv[1], FWH_FD) < 0)
                        _exit(126);
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null >= 0 && null != STDIN_FILENO)
                        (void) dup2(null, STDIN_FILENO);
                (void) prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
                if (!root) {
                        /* Not root: CAP_NET_ADMIN crosses exec only as an ambient capability. */
                        (void) caps_set(caps);
                        (void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_ADMIN, 0, 0);
                }
                execve(path, argv, envp);
                _exit(127);
        }
        close(sv[1]);
        f->fd = sv[0];
        f->pid = pid;
        return 0;
}

/* Under systemd, ntpsyncd-firewall.socket starts one helper per connection (Accept=yes) with the
 * connection as its fd 3: the same protocol, and the daemon never holds CAP_NET_ADMIN at all. */
static int helper_connect(struct firewall *f, const char *path) {
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(a.sun_path))
                return -ENAMETOOLONG;
        strcpy(a.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        f->fd = fd;
        f->pid = 0;
        return 0;
}

/* ---- requests and answers ---- */

static enum fwh_op wire_op(enum firewall_op op) {
        switch (op) {
        case FIREWALL_OP_HELLO:
                return FWH_OP_HELLO;
        case FIREWALL_OP_APPLY:
                return FWH_OP_APPLY;
        case FIREWALL_OP_READ:
                return FWH_OP_READ;
        case FIREWALL_OP_REMOVE:
        default:
                return FWH_OP_REMOVE;
        }
}

/* The request for f->op, from the validated, compiled want: zero but for what the op uses. */
static void build_request(struct firewall *f, struct fwh_request *req) {
        memset(req, 0, sizeof(*req));
        req->magic = FWH_MAGIC;
        req->version = FWH_VERSION;
        req->op = wire_op(f->op);
        if (f->op != FIREWALL_OP_APPLY)
                return;
        req->client = f->want.client;
        req->server = f->want.server;
        req->nts_ke = f->want.nts_ke;
        req->n_ranges = (uint32_t) f->want.n_ranges;
        for (size_t i = 0; i < f->want.n_ranges; i++) {
                req->ranges[i].family = (uint8_t) f->want.ranges[i].family;
                memcpy(req->ranges[i].start, f->want.ranges[i].start, 16);
                memcpy(req->ranges[i].end, f->want.ranges[i].end, 16);
        }
}

int helper_send(struct firewall *f) {
        if (f->fd < 0)
                return -ENOTCONN;
        if (!f->request && !(f->request = malloc(sizeof(*f->request))))
                return -ENOMEM;
        build_request(f, f->request);
        /* The helper reads every request before it answers, so the socket's buffer is empty: a
         * request that does not fit at once means something is wrong, not "try later". */
        ssize_t n = send(f->fd, f->request, sizeof(*f->request), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n != (ssize_t) sizeof(*f->request)) {
                helper_lost(f, "cannot be reached");
                return -ENOTCONN;
        }
        return 0;
}

static bool zero(const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (p[i])
                        return false;
        return true;
}

static bool response_valid(const struct fwh_response *resp, enum fwh_op op) {
        return resp->magic == FWH_MAGIC && resp->version == FWH_VERSION && (resp->op == op || resp->op == 0) &&
               resp->installed <= 1 && resp->client <= 1 && resp->server <= 1 && resp->conntrack <= 1 &&
               resp->nts_ke <= 1 && zero(resp->pad, sizeof(resp->pad)) && resp->error <= 0 && resp->error >= -4095;
}

/* Reads and checks the answer; its error (0 or negative), or -ENOTCONN/-EBADMSG after which the
 * helper is gone. */
static int helper_receive(struct firewall *f, struct fwh_response *resp) {
        /* One byte more than expected tells a longer message from the right one. */
        char buf[sizeof(struct fwh_response) + 1];
        ssize_t n = recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return -EAGAIN;
        if (n <= 0) {
                helper_lost(f, "exited");
                return -ENOTCONN;
        }
        if (n != (ssize_t) sizeof(*resp)) {
                helper_lost(f, "answered with a malformed message");
                return -EBADMSG;
        }
        memcpy(resp, buf, sizeof(*resp));
        if (!response_valid(resp, wire_op(f->op))) {
                helper_lost(f, "answered with a malformed message");
                return -EBADMSG;
        }
        resp->message[sizeof(resp->message) - 1] = 0;
        resp->warning[sizeof(resp->warning) - 1] = 0;
        if (resp->error < 0)
                snprintf(f->error, sizeof(f->error), "%s", resp->message[0] ? resp->message : strerror(-resp->error));
        return resp->error;
}

static void readback_from(const struct fwh_response *resp, struct firewall_readback *rb) {
        *rb = (struct firewall_readback) {
                .installed = resp->installed,
                .client = resp->client,
                .server = resp->server,
                .nts_ke = resp->nts_ke,
                .conntrack = resp->conntrack,
                .n_ignored = resp->n_ignored,
                .ignored_packets = resp->ignored_packets,
        };
        snprintf(rb->warning, sizeof(rb->warning), "%s", resp->warning);
}

/* Reads what is there and ends the operation; -EAGAIN when nothing is there yet. */
static int helper_take_answer(struct firewall *f) {
        struct fwh_response resp;
        int r = helper_receive(f, &resp);
        if (r == -EAGAIN)
                return r;
        struct firewall_readback rb;
        if (r >= 0 && f->op == FIREWALL_OP_READ)
                readback_from(&resp, &rb);
        firewall_op_done(f, r, r >= 0 && f->op == FIREWALL_OP_READ ? &rb : NULL);
        return r;
}

/* The answer, or the helper going away. Between requests it never speaks: anything then is EOF
 * (it exited) or a protocol violation. */
static int on_helper_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct firewall *f = userdata;
        if (f->op == FIREWALL_OP_NONE || f->backend != FIREWALL_BACKEND_NFTABLES) {
                helper_lost(f, (revents & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) ? "exited" : "sent something unasked");
                firewall_update_state(f);
                return 0;
        }
        (void) helper_take_answer(f);
        return 0;
}

int helper_finish_sync(struct firewall *f) {
        struct pollfd p = { .fd = f->fd, .events = POLLIN };
        int r;
        do
                r = poll(&p, 1, (int) (FIREWALL_HELPER_TIMEOUT_USEC / 1000));
        while (r < 0 && errno == EINTR);
        if (r <= 0) {
                char why[64];
                snprintf(why, sizeof(why), "did not answer within %llu s", FIREWALL_HELPER_TIMEOUT_USEC / 1000000);
                helper_lost(f, why);
                firewall_op_done(f, -ETIMEDOUT, NULL);
                return -ETIMEDOUT;
        }
        r = helper_take_answer(f);
        if (r == -EAGAIN) {
                helper_lost(f, "sent an empty answer");
                firewall_op_done(f, -EBADMSG, NULL);
                return -EBADMSG;
        }
        return r;
}

/* Under systemd without CAP_NET_ADMIN: the socket. Else started by us while we still have it. */
int helper_open(struct firewall *f) {
        const char *path = getenv(FIREWALL_HELPER_ENV);
        if (!path || !*path)
                path = FIREWALL_HELPER_PATH;
        const char *socket_path = getenv(FIREWALL_SOCKET_ENV);
        if (!socket_path || !*socket_path)
                socket_path = FIREWALL_HELPER_SOCKET;

        int r;
        if (!firewall_have_net_admin()) {
                r = helper_connect(f, socket_path);
                if (r < 0) {
                        snprintf(f->reason, sizeof(f->reason),
                                 "no CAP_NET_ADMIN to change the firewall, and no firewall helper at %s: %s",
                                 socket_path, strerror(-r));
                        return 0;
                }
        } else if (access(path, X_OK) < 0) {
                snprintf(f->reason, sizeof(f->reason), "firewall helper %s: %s", path, strerror(errno));
                return 0;
        } else if ((r = helper_spawn(f, path)) < 0) {
                snprintf(f->reason, sizeof(f->reason), "cannot start the firewall helper %s: %s", path, strerror(-r));
                return 0;
        }
        r = sd_event_add_io(f->event, &f->helper_io, f->fd, EPOLLIN | EPOLLRDHUP, on_helper_io, f);
        if (r < 0) {
                helper_reap(f, true);
                snprintf(f->reason, sizeof(f->reason), "cannot watch the firewall helper: %s", strerror(-r));
                return 0;
        }
        (void) sd_event_source_set_description(f->helper_io, "firewall-helper");
        return 1;
}
