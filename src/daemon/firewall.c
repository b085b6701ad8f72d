/* The firewall state module: backend choice, the restrict → ranges compiler, and the daemon's
 * side of the privileged helper (see firewall-helper.h for the protocol, firewall-helper.c for
 * the helper, firewall-firewalld.c for firewalld).
 *
 * Why a separate executable and not a fork of the daemon: the helper's address space then holds
 * nothing of the daemon (no configuration, no bus connection, no packet buffers, none of the
 * resolver's threads, which make a fork without exec unsafe anyway), and libnftables — a large
 * parser — and jansson are linked into the helper only, never into the process that reads
 * packets from the network. The helper is started while the daemon still has CAP_NET_ADMIN;
 * the daemon then drops it (firewall_drop_privileges()). */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/poll.h> /* not <poll.h>: src/core/poll.h is on the include path */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "firewall-config.h"
#include "firewall-helper.h"
#include "firewall-internal.h"
#include "firewall.h"
#include "log.h"

#ifndef FIREWALL_HELPER_PATH
#define FIREWALL_HELPER_PATH "/usr/libexec/ntpsyncd-firewall-helper"
#endif
#ifndef FIREWALL_HELPER_SOCKET
#define FIREWALL_HELPER_SOCKET "/run/ntpsyncd-firewall.socket"
#endif

_Static_assert(FIREWALL_MAX_RANGES == FWH_MAX_RANGES, "one limit");

/* How long one helper request may take: a large foreign ruleset takes a while to list. */
#define HELPER_TIMEOUT_MS 30000

struct firewall {
        sd_event *event;
        sd_bus *bus;
        enum firewall_backend backend;
        char reason[FIREWALL_REASON_MAX];
        char error[FWH_MESSAGE_MAX + 128];

        /* nftables, through the helper */
        int fd;
        pid_t pid;
        sd_event_source *hup_source;

        /* firewalld */
        char zone[FIREWALL_ZONE_MAX];
        struct firewalld_changes changes;
        bool applied, want_client, want_ignore;
};

const char *firewall_backend_to_string(enum firewall_backend b) {
        switch (b) {
        case FIREWALL_BACKEND_FIREWALLD:
                return "firewalld";
        case FIREWALL_BACKEND_NFTABLES:
                return "nftables";
        case FIREWALL_BACKEND_NONE:
        default:
                return "none";
        }
}

enum firewall_backend firewall_backend(const struct firewall *f) {
        return f ? f->backend : FIREWALL_BACKEND_NONE;
}

const char *firewall_last_error(const struct firewall *f) {
        return f ? f->error : "";
}

void firewall_warning_append(char *buf, size_t size, const char *text) {
        size_t len = strnlen(buf, size);
        if (!text || !*text || len + 1 >= size)
                return;
        snprintf(buf + len, size - len, "%s%s", len > 0 ? "; " : "", text);
}

/* ---- restrict rules → address ranges ---- */

typedef unsigned __int128 u128;

struct urange {
        u128 start, end;
};

static u128 bytes_to_u128(const uint8_t *b, size_t len) {
        u128 v = 0;
        for (size_t i = 0; i < len; i++)
                v = (v << 8) | b[i];
        return v;
}

static void u128_to_bytes(u128 v, uint8_t *b, size_t len) {
        for (size_t i = len; i > 0; i--) {
                b[i - 1] = (uint8_t) (v & 0xff);
                v >>= 8;
        }
}

static bool rule_range(const struct restrict_rule *r, unsigned bits, struct urange *ret) {
        unsigned prefix = r->is_default ? 0 : r->prefix;
        if (prefix > bits)
                return false;
        u128 all = bits == 128 ? ~(u128) 0 : (((u128) 1 << bits) - 1);
        u128 host = prefix == 0 ? all : (prefix == bits ? 0 : (all >> prefix));
        u128 a = bytes_to_u128(r->address, bits / 8);
        *ret = (struct urange) { .start = a & ~host & all, .end = (a & ~host & all) | host };
        return true;
}

/* Whether q is a more specific rule than p, as restrict_set_lookup() ranks them. */
static bool more_specific(const struct restrict_rule *q, const struct restrict_rule *p) {
        if (q->is_default)
                return false;
        return p->is_default || q->prefix > p->prefix;
}

/* pieces minus cut, into out (room for *n + 1: the cuts are prefixes, so at most one piece splits). */
static size_t subtract(const struct urange *pieces, size_t n, struct urange cut, struct urange *out) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
                struct urange p = pieces[i];
                if (cut.end < p.start || cut.start > p.end) {
                        out[m++] = p;
                        continue;
                }
                if (cut.start > p.start)
                        out[m++] = (struct urange) { .start = p.start, .end = cut.start - 1 };
                if (cut.end < p.end)
                        out[m++] = (struct urange) { .start = cut.end + 1, .end = p.end };
        }
        return m;
}

static int cmp_urange(const void *a, const void *b) {
        const struct urange *x = a, *y = b;
        return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

static int compile_family(const struct restrict_set *s, int family, struct urange *out, size_t max, size_t *n_out) {
        unsigned bits = family == AF_INET ? 32 : 128;
        size_t n = 0;
        /* Two buffers of s->n + 2 pieces: each cut adds at most one. */
        struct urange *buf = calloc(2 * (s->n + 2), sizeof(*buf)), *pieces = buf, *next = buf + s->n + 2;
        if (!buf)
                return -ENOMEM;

        for (size_t i = 0; i < s->n; i++) {
                const struct restrict_rule *p = &s->rules[i];
                /* An `ntpport` rule decides for clients on port 123 only: never a drop of its own. */
                if (p->family != family || !(p->flags & RESTRICT_IGNORE) || (p->flags & RESTRICT_NTPPORT))
                        continue;
                size_t np = 1;
                if (!rule_range(p, bits, &pieces[0]))
                        continue;
                for (size_t j = 0; j < s->n; j++) {
                        const struct restrict_rule *q = &s->rules[j];
                        struct urange qr;
                        /* A more specific rule without `ignore` takes its addresses back. */
                        if (j == i || q->family != family || (q->flags & RESTRICT_IGNORE) || !more_specific(q, p) ||
                            !rule_range(q, bits, &qr))
                                continue;
                        np = subtract(pieces, np, qr, next);
                        struct urange *t = pieces;
                        pieces = next;
                        next = t;
                }
                for (size_t k = 0; k < np; k++) {
                        if (n >= max) {
                                free(buf);
                                return -E2BIG;
                        }
                        out[n++] = pieces[k];
                }
        }
        free(buf);

        /* Sort and merge overlapping or adjacent ranges: nftables refuses overlapping intervals. */
        qsort(out, n, sizeof(*out), cmp_urange);
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
                if (m > 0 && (out[i].start <= out[m - 1].end || out[i].start == out[m - 1].end + 1)) {
                        if (out[i].end > out[m - 1].end)
                                out[m - 1].end = out[i].end;
                } else
                        out[m++] = out[i];
        }
        *n_out = m;
        return 0;
}

int firewall_compile_ignored(const struct restrict_set *s, struct firewall_range *ret, size_t max, size_t *ret_n) {
        size_t n = 0;
        if (!s || s->n > RESTRICT_MAX_RULES) {
                *ret_n = 0;
                return s ? -EINVAL : 0;
        }
        /* Before merging, one family can need up to n*(n+1) ranges; cap the work at what fits. */
        size_t scratch_max = max * 4 + 16;
        struct urange *scratch = calloc(scratch_max, sizeof(*scratch));
        if (!scratch)
                return -ENOMEM;
        static const int families[] = { AF_INET, AF_INET6 };
        for (size_t f = 0; f < 2; f++) {
                size_t m = 0;
                int r = compile_family(s, families[f], scratch, scratch_max, &m);
                if (r < 0) {
                        free(scratch);
                        return r;
                }
                size_t len = families[f] == AF_INET ? 4 : 16;
                for (size_t i = 0; i < m; i++) {
                        if (n >= max) {
                                free(scratch);
                                return -E2BIG;
                        }
                        ret[n] = (struct firewall_range) { .family = families[f] };
                        u128_to_bytes(scratch[i].start, ret[n].start, len);
                        u128_to_bytes(scratch[i].end, ret[n].end, len);
                        n++;
                }
        }
        free(scratch);
        *ret_n = n;
        return 0;
}

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

static bool have_net_admin(void) {
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
        if (!have_net_admin())
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

/* ---- the helper ---- */

static bool helper_wait(pid_t pid, int tries) {
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

/* Closes the socket, which ends the helper, and reaps it. Never blocks for long: after the
 * daemon dropped its capabilities it may not be allowed to kill a helper that runs as nobody,
 * and a helper stuck in the kernel exits at EOF once it gets out. */
static void helper_reap(struct firewall *f, bool kill_it) {
        f->hup_source = sd_event_source_disable_unref(f->hup_source);
        if (f->fd >= 0) {
                close(f->fd);
                f->fd = -1;
        }
        if (f->pid <= 0)
                return;
        if (kill_it || !helper_wait(f->pid, 200)) {
                (void) kill(f->pid, SIGKILL);
                if (!helper_wait(f->pid, 200))
                        log_warning("Firewall helper (PID %d) did not exit", (int) f->pid);
        }
        f->pid = 0;
}

static void helper_lost(struct firewall *f, const char *why) {
        if (f->pid > 0)
                log_error("Firewall helper (PID %d) %s; the firewall can no longer be changed by this process",
                          (int) f->pid, why);
        else
                log_error("Firewall helper (ntpsyncd-firewall.socket) %s; the firewall can no longer be changed "
                          "by this process", why);
        helper_reap(f, true);
        f->backend = FIREWALL_BACKEND_NONE;
        snprintf(f->reason, sizeof(f->reason), "the firewall helper %s", why);
}

/* The helper never speaks unasked: anything on its socket between requests is EOF (it exited)
 * or a protocol violation. */
static int on_helper_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct firewall *f = userdata;
        helper_lost(f, (revents & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) ? "exited" : "sent something unasked");
        return 0;
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

static int helper_call(struct firewall *f, struct fwh_request *req, struct fwh_response *resp) {
        if (f->fd < 0)
                return -ENOTCONN;
        req->magic = FWH_MAGIC;
        req->version = FWH_VERSION;
        ssize_t n = send(f->fd, req, sizeof(*req), MSG_NOSIGNAL);
        if (n != (ssize_t) sizeof(*req)) {
                helper_lost(f, "cannot be reached");
                return -ENOTCONN;
        }
        struct pollfd p = { .fd = f->fd, .events = POLLIN };
        int r;
        do
                r = poll(&p, 1, HELPER_TIMEOUT_MS);
        while (r < 0 && errno == EINTR);
        if (r <= 0) {
                helper_lost(f, "did not answer");
                return -ETIMEDOUT;
        }
        /* One byte more than expected tells a longer message from the right one. */
        char buf[sizeof(struct fwh_response) + 1];
        n = recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
                helper_lost(f, "exited");
                return -ENOTCONN;
        }
        if (n != (ssize_t) sizeof(*resp)) {
                helper_lost(f, "answered with a malformed message");
                return -EBADMSG;
        }
        memcpy(resp, buf, sizeof(*resp));
        if (resp->magic != FWH_MAGIC || resp->version != FWH_VERSION || (resp->op != req->op && resp->op != 0) ||
            resp->installed > 1 || resp->client > 1 || resp->server > 1 || resp->conntrack > 1 || resp->error > 0 ||
            resp->error < -4095) {
                helper_lost(f, "answered with a malformed message");
                return -EBADMSG;
        }
        resp->message[sizeof(resp->message) - 1] = 0;
        resp->warning[sizeof(resp->warning) - 1] = 0;
        if (resp->error < 0)
                snprintf(f->error, sizeof(f->error), "%s", resp->message[0] ? resp->message : strerror(-resp->error));
        return resp->error;
}

/* HELLO, READ or REMOVE: a request without arguments, zero but for what helper_call() sets. The
 * firewall lives on the event loop's thread only, and a call ends before the next one starts. */
static int helper_call_op(struct firewall *f, enum fwh_op op, struct fwh_response *resp) {
        static struct fwh_request req;
        req.op = op;
        return helper_call(f, &req, resp);
}

/* Starts the helper ourselves while we hold CAP_NET_ADMIN; otherwise connects to the helper's
 * socket. 1 when there is a helper to talk to, 0 with f->reason set when there is none. */
static int helper_open(struct firewall *f) {
        const char *path = getenv(FIREWALL_HELPER_ENV);
        if (!path || !*path)
                path = FIREWALL_HELPER_PATH;
        const char *socket_path = getenv(FIREWALL_SOCKET_ENV);
        if (!socket_path || !*socket_path)
                socket_path = FIREWALL_HELPER_SOCKET;

        if (!have_net_admin()) {
                int r = helper_connect(f, socket_path);
                if (r < 0) {
                        snprintf(f->reason, sizeof(f->reason),
                                 "no CAP_NET_ADMIN to change the firewall, and no firewall helper at %s: %s",
                                 socket_path, strerror(-r));
                        return 0;
                }
                return 1;
        }
        if (access(path, X_OK) < 0) {
                snprintf(f->reason, sizeof(f->reason), "firewall helper %s: %s", path, strerror(errno));
                return 0;
        }
        int r = helper_spawn(f, path);
        if (r < 0) {
                snprintf(f->reason, sizeof(f->reason), "cannot start the firewall helper %s: %s", path, strerror(-r));
                return 0;
        }
        return 1;
}

static int nft_start(struct firewall *f) {
        if (helper_open(f) == 0)
                return 0;
        struct fwh_response resp = {};
        int r = helper_call_op(f, FWH_OP_HELLO, &resp);
        if (r < 0) {
                snprintf(f->reason, sizeof(f->reason), "nftables unusable: %.200s", f->error[0] ? f->error : strerror(-r));
                f->error[0] = 0;
                helper_reap(f, false);
                return 0;
        }
        if (f->event) {
                r = sd_event_add_io(f->event, &f->hup_source, f->fd, EPOLLIN | EPOLLRDHUP, on_helper_event, f);
                if (r < 0)
                        log_debug("Cannot watch the firewall helper: %s", strerror(-r));
                else
                        (void) sd_event_source_set_description(f->hup_source, "firewall-helper");
        }
        f->backend = FIREWALL_BACKEND_NFTABLES;
        return 0;
}

static void log_backend(struct firewall *f) {
        switch (f->backend) {
        case FIREWALL_BACKEND_FIREWALLD:
                log_info("Firewall: firewalld (the \"" FIREWALLD_SERVICE "\" service in the default zone)");
                break;
        case FIREWALL_BACKEND_NFTABLES:
                if (f->pid > 0)
                        log_info("Firewall: nftables, table " FWH_TABLE_FAMILY " " FWH_TABLE_NAME " (helper PID %d)",
                                 (int) f->pid);
                else
                        log_info("Firewall: nftables, table " FWH_TABLE_FAMILY " " FWH_TABLE_NAME
                                 " (helper from ntpsyncd-firewall.socket)");
                break;
        case FIREWALL_BACKEND_NONE:
                log_notice("Firewall: none, the host firewall is left alone (%s)", f->reason);
                break;
        }
}

int firewall_new(sd_event *e, sd_bus *bus, struct firewall **ret) {
        struct firewall *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->fd = -1;
        f->backend = FIREWALL_BACKEND_NONE;
        f->event = e ? sd_event_ref(e) : NULL;

        if (bus && firewalld_present(bus) > 0) {
                f->bus = sd_bus_ref(bus);
                f->backend = FIREWALL_BACKEND_FIREWALLD;
        } else {
                if (bus)
                        f->bus = sd_bus_ref(bus);
                int r = nft_start(f);
                if (r < 0) {
                        firewall_free(f);
                        return r;
                }
        }
        log_backend(f);
        *ret = f;
        return 0;
}

int firewall_set_bus(struct firewall *f, sd_bus *bus) {
        if (!bus || f->backend == FIREWALL_BACKEND_FIREWALLD)
                return 0;
        if (f->bus != bus) {
                sd_bus_unref(f->bus);
                f->bus = sd_bus_ref(bus);
        }
        if (firewalld_present(bus) <= 0)
                return 0;
        helper_reap(f, false);
        f->backend = FIREWALL_BACKEND_FIREWALLD;
        f->reason[0] = 0;
        log_backend(f);
        return 1;
}

struct firewall *firewall_free(struct firewall *f) {
        if (!f)
                return NULL;
        helper_reap(f, false);
        sd_bus_unref(f->bus);
        sd_event_unref(f->event);
        free(f);
        return NULL;
}

static int refuse_without_backend(struct firewall *f) {
        snprintf(f->error, sizeof(f->error), "no firewall backend: %s", f->reason);
        return -EOPNOTSUPP;
}

int firewall_apply(struct firewall *f, const struct firewall_request *want) {
        int r;
        f->error[0] = 0;
        switch (f->backend) {
        case FIREWALL_BACKEND_NONE:
                return refuse_without_backend(f);

        case FIREWALL_BACKEND_FIREWALLD: {
                size_t n = 0;
                struct firewall_range one;
                /* firewalld gets no drops for `ignore` (the ACL enforces it); only whether there are any. */
                int c = want->restricts ? firewall_compile_ignored(want->restricts, &one, 1, &n) : 0;
                r = firewalld_apply(f->bus, want->server, f->zone, sizeof(f->zone), &f->changes, f->error,
                                    sizeof(f->error));
                if (r < 0)
                        return r;
                f->applied = true;
                f->want_client = want->client;
                f->want_ignore = n > 0 || c == -E2BIG;
                return 0;
        }

        case FIREWALL_BACKEND_NFTABLES: {
                struct fwh_request *req = calloc(1, sizeof(*req));
                struct firewall_range *ranges = calloc(FWH_MAX_RANGES, sizeof(*ranges));
                struct fwh_response resp = {};
                size_t n = 0;
                if (!req || !ranges) {
                        free(req);
                        free(ranges);
                        return -ENOMEM;
                }
                r = want->restricts ? firewall_compile_ignored(want->restricts, ranges, FWH_MAX_RANGES, &n) : 0;
                if (r < 0) {
                        if (r == -E2BIG)
                                snprintf(f->error, sizeof(f->error),
                                         "the restrict ignore rules need more than %d address ranges", FWH_MAX_RANGES);
                        free(req);
                        free(ranges);
                        return r;
                }
                req->op = FWH_OP_APPLY;
                req->client = want->client;
                req->server = want->server;
                req->n_ranges = (uint32_t) n;
                for (size_t i = 0; i < n; i++) {
                        req->ranges[i].family = (uint8_t) ranges[i].family;
                        memcpy(req->ranges[i].start, ranges[i].start, 16);
                        memcpy(req->ranges[i].end, ranges[i].end, 16);
                }
                r = helper_call(f, req, &resp);
                free(req);
                free(ranges);
                return r;
        }
        }
        return -EOPNOTSUPP;
}

int firewall_read(struct firewall *f, struct firewall_state *ret) {
        struct firewall_state st = { .backend = f->backend };
        int r;
        f->error[0] = 0;
        switch (f->backend) {
        case FIREWALL_BACKEND_NONE:
                snprintf(st.reason, sizeof(st.reason), "%s", f->reason);
                break;

        case FIREWALL_BACKEND_FIREWALLD:
                r = firewalld_read(f->bus, &st, f->error, sizeof(f->error));
                if (r < 0)
                        return r;
                if (f->applied && !f->want_client)
                        firewall_warning_append(st.warning, sizeof(st.warning),
                                                "firewalld zones do not filter outgoing traffic: NTP client traffic stays allowed");
                if (f->applied && f->want_ignore)
                        firewall_warning_append(st.warning, sizeof(st.warning),
                                                "restrict ignore rules are enforced by ntpsyncd only, not by firewalld");
                break;

        case FIREWALL_BACKEND_NFTABLES: {
                struct fwh_response resp = {};
                r = helper_call_op(f, FWH_OP_READ, &resp);
                if (r < 0)
                        return r;
                st.installed = resp.installed;
                st.client = resp.client;
                st.server = resp.server;
                st.conntrack = resp.conntrack;
                st.n_ignored = resp.n_ignored;
                st.ignored_packets = resp.ignored_packets;
                st.helper_pid = f->pid;
                snprintf(st.warning, sizeof(st.warning), "%s", resp.warning);
                break;
        }
        }
        st.backend_name = firewall_backend_to_string(st.backend);
        *ret = st;
        return 0;
}

int firewall_remove(struct firewall *f) {
        f->error[0] = 0;
        switch (f->backend) {
        case FIREWALL_BACKEND_NONE:
                return refuse_without_backend(f);
        case FIREWALL_BACKEND_FIREWALLD: {
                int r = firewalld_remove(f->bus, f->zone, &f->changes, f->error, sizeof(f->error));
                if (r >= 0)
                        f->applied = false;
                return r;
        }
        case FIREWALL_BACKEND_NFTABLES: {
                struct fwh_response resp = {};
                return helper_call_op(f, FWH_OP_REMOVE, &resp);
        }
        }
        return -EOPNOTSUPP;
}
