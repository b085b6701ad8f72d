/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ntpsyncd-firewall-helper: the only part of ntpsync that keeps CAP_NET_ADMIN.
 *
 * ntpsyncd starts it (fork + exec, see firewall.c) with one end of a SOCK_SEQPACKET socketpair
 * as fd 3. It then
 *   - sets no_new_privs, clears the ambient set, drops every capability but CAP_NET_ADMIN from
 *     the bounding set, and when it runs as root becomes nobody/nogroup keeping only
 *     CAP_NET_ADMIN in its effective and permitted sets (and checks that this is so);
 *   - answers fixed-size requests (firewall-helper.h), each validated field by field before
 *     anything is done: apply the NTP state in table inet ntpsync, read it back, remove it;
 *   - exits when the daemon closes its end (or dies: PR_SET_PDEATHSIG).
 * It parses nothing from the network and builds the nftables text itself from binary values. */

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "firewall-helper.h"

#define NOBODY_UID 65534
#define NOGROUP_GID 65534

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "ntpsyncd-firewall-helper: ");
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, "\n");
        va_end(ap);
}

static unsigned last_cap(void) {
        unsigned c = CAP_LAST_CAP;
        FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
        if (f) {
                if (fscanf(f, "%u", &c) != 1 || c > 63)
                        c = CAP_LAST_CAP;
                fclose(f);
        }
        return c;
}

static int drop_privileges(void) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = {};
        const uint32_t bit = 1u << (CAP_NET_ADMIN % 32);
        const unsigned idx = CAP_NET_ADMIN / 32;

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        (void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);

        /* The bounding set needs CAP_SETPCAP: root has it, an ambient-capability start may not. */
        unsigned last = last_cap();
        for (unsigned c = 0; c <= last; c++) {
                if (c == CAP_NET_ADMIN)
                        continue;
                if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) {
                        if (errno == EPERM)
                                break; /* permitted below is what counts */
                        return -errno;
                }
        }

        bool was_root = geteuid() == 0 || getuid() == 0, still_root = false;
        if (was_root) {
                /* Root is not needed for netlink: CAP_NET_ADMIN is. Without CAP_SETUID/CAP_SETGID
                 * (a unit's bounding set without them) it stays uid 0, with CAP_NET_ADMIN only. */
                if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                        return -errno;
                if (setgroups(0, NULL) < 0 || setresgid(NOGROUP_GID, NOGROUP_GID, NOGROUP_GID) < 0 ||
                    setresuid(NOBODY_UID, NOBODY_UID, NOBODY_UID) < 0) {
                        if (errno != EPERM)
                                return -errno;
                        logf_("cannot become nobody (no CAP_SETUID/CAP_SETGID): staying uid 0 with CAP_NET_ADMIN only");
                        still_root = true;
                }
                (void) prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
        }

        if (syscall(SYS_capget, &h, d) < 0)
                return -errno;
        if (!(d[idx].permitted & bit))
                return -EPERM;
        memset(d, 0, sizeof(d));
        d[idx].effective = d[idx].permitted = bit;
        if (syscall(SYS_capset, &h, d) < 0)
                return -errno;

        /* Check: exactly CAP_NET_ADMIN, no way back to root. */
        memset(d, 0, sizeof(d));
        if (syscall(SYS_capget, &h, d) < 0)
                return -errno;
        for (unsigned i = 0; i < 2; i++) {
                uint32_t want = i == idx ? bit : 0;
                if (d[i].effective != want || d[i].permitted != want || d[i].inheritable != 0)
                        return -EPERM;
        }
        if ((!still_root && (geteuid() == 0 || getuid() == 0)) || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
                return -EPERM;
        return 0;
}

/* Every field, before anything is done. Returns 0 or a negative errno with message set. */
static int validate(const struct fwh_request *q, char *message, size_t size) {
        static const struct fwh_range zero;
        if (q->magic != FWH_MAGIC || q->version != FWH_VERSION) {
                snprintf(message, size, "request: wrong magic or version");
                return -EPROTO;
        }
        if (q->op < FWH_OP_HELLO || q->op > FWH_OP_REMOVE) {
                snprintf(message, size, "request: unknown operation %u", q->op);
                return -EOPNOTSUPP;
        }
        if (q->pad[0] || q->client > 1 || q->server > 1 || q->nts_ke > 1) {
                snprintf(message, size, "request: client/server/nts_ke not 0 or 1, or padding not zero");
                return -EINVAL;
        }
        if (q->n_ranges > FWH_MAX_RANGES) {
                snprintf(message, size, "request: %u ranges, at most %d", q->n_ranges, FWH_MAX_RANGES);
                return -E2BIG;
        }
        if (q->op != FWH_OP_APPLY && (q->client || q->server || q->nts_ke || q->n_ranges)) {
                snprintf(message, size, "request: arguments for an operation that takes none");
                return -EINVAL;
        }
        const struct fwh_range *prev = NULL;
        for (uint32_t i = 0; i < FWH_MAX_RANGES; i++) {
                const struct fwh_range *r = &q->ranges[i];
                if (i >= q->n_ranges) {
                        if (memcmp(r, &zero, sizeof(zero)) != 0) {
                                snprintf(message, size, "request: unused range %u not zero", i);
                                return -EINVAL;
                        }
                        continue;
                }
                if (r->family != AF_INET && r->family != AF_INET6) {
                        snprintf(message, size, "request: range %u: unknown address family %u", i, r->family);
                        return -EAFNOSUPPORT;
                }
                size_t len = r->family == AF_INET ? 4 : 16;
                for (size_t k = 0; k < sizeof(r->pad); k++)
                        if (r->pad[k]) {
                                snprintf(message, size, "request: range %u: padding not zero", i);
                                return -EINVAL;
                        }
                for (size_t k = len; k < 16; k++)
                        if (r->start[k] || r->end[k]) {
                                snprintf(message, size, "request: range %u: IPv4 address with more than 4 bytes", i);
                                return -EINVAL;
                        }
                if (memcmp(r->start, r->end, len) > 0) {
                        snprintf(message, size, "request: range %u: start after end", i);
                        return -EINVAL;
                }
                /* Sorted (AF_INET first), disjoint: what nftables accepts in an interval set. */
                if (prev && (prev->family > r->family ||
                             (prev->family == r->family && memcmp(prev->end, r->start, len) >= 0))) {
                        snprintf(message, size, "request: range %u: not sorted or overlapping", i);
                        return -EINVAL;
                }
                prev = r;
        }
        return 0;
}

static struct fwh_request request;
static char buffer[sizeof(struct fwh_request) + 1];

static int serve(void) {
        for (;;) {
                struct fwh_response resp = { .magic = FWH_MAGIC, .version = FWH_VERSION };
                ssize_t n = recv(FWH_FD, buffer, sizeof(buffer), 0);
                if (n == 0)
                        return 0; /* the daemon closed its end */
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        logf_("receiving: %s", strerror(errno));
                        return 1;
                }
                if (n != (ssize_t) sizeof(request)) {
                        resp.error = -EBADMSG;
                        snprintf(resp.message, sizeof(resp.message), "request: %zd bytes, expected %zu", n,
                                 sizeof(request));
                } else {
                        memcpy(&request, buffer, sizeof(request));
                        resp.op = request.op;
                        resp.error = validate(&request, resp.message, sizeof(resp.message));
                        if (resp.error == 0) {
                                switch (request.op) {
                                case FWH_OP_HELLO:
                                        break;
                                case FWH_OP_APPLY:
                                        resp.error = fwnft_apply(&request, &resp);
                                        break;
                                case FWH_OP_READ:
                                        resp.error = fwnft_read(&resp);
                                        break;
                                case FWH_OP_REMOVE:
                                        resp.error = fwnft_remove(&resp);
                                        break;
                                }
                        }
                }
                if (resp.error < 0)
                        logf_("%s", resp.message);
                if (send(FWH_FD, &resp, sizeof(resp), MSG_NOSIGNAL) != (ssize_t) sizeof(resp)) {
                        logf_("sending: %s", strerror(errno));
                        return 1;
                }
        }
}

int main(int argc, char *argv[]) {
        int type = 0, domain = 0;
        socklen_t len = sizeof(type);
        if (argc > 1 || getsockopt(FWH_FD, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET ||
            (len = sizeof(domain), getsockopt(FWH_FD, SOL_SOCKET, SO_DOMAIN, &domain, &len)) < 0 || domain != AF_UNIX) {
                fprintf(stderr, "ntpsyncd-firewall-helper is started by ntpsyncd, with its socket as fd 3; "
                                "it is not meant to be run by hand.\n");
                return 2;
        }
        /* Nothing else of the daemon's: only stdin (/dev/null), stdout, stderr and the socket. */
        (void) syscall(SYS_close_range, FWH_FD + 1, ~0U, 0);
        signal(SIGPIPE, SIG_IGN);

        char message[FWH_MESSAGE_MAX] = "";
        int r = drop_privileges();
        if (r < 0) {
                logf_("cannot drop privileges to CAP_NET_ADMIN only: %s", strerror(-r));
                return 1;
        }
        /* After the change of credentials, which clears it. EOF on the socket is what ends this
         * process normally; this is for a daemon that dies while a request is in flight. */
        (void) prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
        r = fwnft_init(message, sizeof(message));
        if (r < 0) {
                /* Say why to the daemon's first request (HELLO), then go. */
                struct fwh_response resp = { .magic = FWH_MAGIC, .version = FWH_VERSION, .error = r };
                snprintf(resp.message, sizeof(resp.message), "%s", message);
                ssize_t n = recv(FWH_FD, buffer, sizeof(buffer), 0);
                if (n == (ssize_t) sizeof(request)) {
                        memcpy(&request, buffer, sizeof(request));
                        resp.op = request.op <= FWH_OP_REMOVE ? request.op : 0;
                }
                (void) send(FWH_FD, &resp, sizeof(resp), MSG_NOSIGNAL);
                fwnft_done();
                return 1;
        }
        r = serve();
        fwnft_done();
        return r;
}
