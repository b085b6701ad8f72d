/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The netlink watcher: see netwatch.h. Messages from the kernel are untrusted input like any
 * other: each is checked for its family header and attribute lengths before it counts. */

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/addr.h>
#include <netlink/attr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

#include "log.h"
#include "netwatch.h"

/* Datagrams read per wakeup; the rest wait for the next loop iteration, so that a flood of events
 * never keeps the loop from its other sources. */
#define READ_BUDGET 128

struct netwatch {
        sd_event *event;
        struct nl_sock *sock;
        sd_event_source *io, *timer;
        netwatch_callback callback;
        void *userdata;
        uint64_t debounce_usec;
        bool pending;                /* events seen, callback not yet run */
        uint64_t first_event_usec, last_event_usec;
        unsigned messages_read;      /* by the current nl_recvmsgs_default() call */
        struct log_ratelimit error_log;
        struct netwatch_change change; /* accumulated since the previous callback */
};

/* ---- addresses ---- */

static bool net_address_from_raw(int family, const void *raw, size_t len, uint32_t ifindex, struct net_address *ret) {
        struct net_address a;

        memset(&a, 0, sizeof(a));
        if (family == AF_INET && len == sizeof(struct in_addr)) {
                a.sa.in.sin_family = AF_INET;
                memcpy(&a.sa.in.sin_addr, raw, len);
                a.len = sizeof(a.sa.in);
        } else if (family == AF_INET6 && len == sizeof(struct in6_addr)) {
                a.sa.in6.sin6_family = AF_INET6;
                memcpy(&a.sa.in6.sin6_addr, raw, len);
                if (IN6_IS_ADDR_LINKLOCAL(&a.sa.in6.sin6_addr))
                        a.sa.in6.sin6_scope_id = ifindex;
                a.len = sizeof(a.sa.in6);
        } else
                return false;
        *ret = a;
        return true;
}

static bool same_address(const struct net_address *a, const struct net_address *b) {
        if (a->sa.sa.sa_family != b->sa.sa.sa_family)
                return false;
        if (a->sa.sa.sa_family == AF_INET)
                return a->sa.in.sin_addr.s_addr == b->sa.in.sin_addr.s_addr;
        return memcmp(&a->sa.in6.sin6_addr, &b->sa.in6.sin6_addr, sizeof(struct in6_addr)) == 0 &&
               a->sa.in6.sin6_scope_id == b->sa.in6.sin6_scope_id;
}

static const char *address_text(const struct net_address *a, char *buf, size_t size) {
        net_address_to_string(a, buf, size);
        return buf;
}

static bool debug_logging(void) {
        return log_get_max_level() >= LOG_DEBUG;
}

/* ---- what the events say ---- */

static void forget_removed(struct netwatch_change *c, const struct net_address *a) {
        for (size_t i = 0; i < c->n_removed; i++)
                if (same_address(&c->removed[i], a)) {
                        memmove(&c->removed[i], &c->removed[i + 1], (c->n_removed - i - 1) * sizeof(c->removed[0]));
                        c->n_removed--;
                        return;
                }
}

static void remember_removed(struct netwatch_change *c, const struct net_address *a) {
        for (size_t i = 0; i < c->n_removed; i++)
                if (same_address(&c->removed[i], a))
                        return;
        if (c->n_removed >= NETWATCH_MAX_REMOVED) {
                c->removed_incomplete = true;
                return;
        }
        c->removed[c->n_removed++] = *a;
}

static bool note_link(struct netwatch *w, struct nlmsghdr *h) {
        static const struct nla_policy policy[IFLA_MAX + 1] = {
                [IFLA_IFNAME] = { .type = NLA_STRING, .maxlen = IFNAMSIZ },
        };
        struct nlattr *tb[IFLA_MAX + 1];
        char name[IFNAMSIZ] = "?";

        if (nlmsg_parse(h, sizeof(struct ifinfomsg), tb, IFLA_MAX, policy) < 0)
                return false;
        const struct ifinfomsg *ifi = nlmsg_data(h);
        bool running = h->nlmsg_type == RTM_NEWLINK &&
                       (ifi->ifi_flags & (IFF_UP | IFF_RUNNING)) == (IFF_UP | IFF_RUNNING);
        if (running)
                w->change.counts.links_up++;
        else
                w->change.counts.links_down++;
        w->change.links_changed = true;
        if (debug_logging()) {
                if (tb[IFLA_IFNAME])
                        nla_strlcpy(name, tb[IFLA_IFNAME], sizeof(name));
                log_debug("netlink: link %s (%d) %s", name, ifi->ifi_index,
                          h->nlmsg_type == RTM_DELLINK ? "removed" : running ? "up" : "down");
        }
        return true;
}

static bool note_address(struct netwatch *w, struct nlmsghdr *h) {
        struct nlattr *tb[IFA_MAX + 1];
        struct net_address a;
        char text[INET6_ADDRSTRLEN];

        if (nlmsg_parse(h, sizeof(struct ifaddrmsg), tb, IFA_MAX, NULL) < 0)
                return false;
        const struct ifaddrmsg *ifa = nlmsg_data(h);
        /* IFA_LOCAL is the address itself (IFA_ADDRESS is the peer's on point-to-point links);
         * IPv6 sends IFA_ADDRESS only. */
        struct nlattr *attr = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
        if (!attr || !net_address_from_raw(ifa->ifa_family, nla_data(attr), (size_t) nla_len(attr), ifa->ifa_index, &a))
                return false;

        bool added = h->nlmsg_type == RTM_NEWADDR;
        if (added) {
                w->change.counts.addresses_added++;
                w->change.addresses_added = true;
                forget_removed(&w->change, &a);
        } else {
                w->change.counts.addresses_removed++;
                w->change.addresses_removed = true;
                remember_removed(&w->change, &a);
        }
        if (debug_logging())
                log_debug("netlink: address %s %s on interface %u", address_text(&a, text, sizeof(text)),
                          added ? "added" : "removed", ifa->ifa_index);
        return true;
}

static bool note_route(struct netwatch *w, struct nlmsghdr *h) {
        if (!nlmsg_valid_hdr(h, sizeof(struct rtmsg)))
                return false;
        const struct rtmsg *rtm = nlmsg_data(h);
        /* The local table follows the addresses (already counted), and cloned routes are cache
         * entries, not configuration. */
        if (rtm->rtm_table == RT_TABLE_LOCAL || (rtm->rtm_flags & RTM_F_CLONED))
                return false;
        bool added = h->nlmsg_type == RTM_NEWROUTE;
        if (added)
                w->change.counts.routes_added++;
        else
                w->change.counts.routes_removed++;
        w->change.routes_changed = true;
        log_debug("netlink: %s route /%u %s (table %u)", rtm->rtm_family == AF_INET6 ? "IPv6" : "IPv4",
                  rtm->rtm_dst_len, added ? "added" : "removed", rtm->rtm_table);
        return true;
}

/* ---- debouncing ---- */

static uint64_t now_usec(struct netwatch *w) {
        uint64_t now = 0;
        (void) sd_event_now(w->event, CLOCK_MONOTONIC, &now);
        return now;
}

static void arm_timer(struct netwatch *w, uint64_t usec) {
        int r = sd_event_source_set_time(w->timer, usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(w->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning_errno(r, "netlink: cannot arm the debounce timer, ignoring");
}

/* Each event moves the evaluation to a debounce period after it; the timer itself is moved only
 * when it fires (cheap per event, whatever the rate). */
static void schedule_evaluation(struct netwatch *w) {
        uint64_t now = now_usec(w);

        w->last_event_usec = now;
        if (w->pending)
                return;
        w->pending = true;
        w->first_event_usec = now;
        arm_timer(w, now + w->debounce_usec);
}

/* Events were lost (or could not be read): anything may have changed. */
static void assume_anything_changed(struct netwatch *w) {
        struct netwatch_change *c = &w->change;
        c->overrun = c->links_changed = c->addresses_added = c->addresses_removed = c->routes_changed = true;
        c->removed_incomplete = true;
        schedule_evaluation(w);
}

static uint64_t evaluation_time(const struct netwatch *w) {
        uint64_t quiet = w->last_event_usec + w->debounce_usec;
        uint64_t latest = w->first_event_usec + NETWATCH_MAX_DELAY_PERIODS * w->debounce_usec;
        return quiet < latest ? quiet : latest;
}

static int on_debounce_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct netwatch *w = userdata;
        uint64_t when = evaluation_time(w);

        if (now_usec(w) < when) {
                arm_timer(w, when);
                return 0;
        }
        /* The callback may free w: nothing touches it afterwards. */
        struct netwatch_change change = w->change;
        memset(&w->change, 0, sizeof(w->change));
        w->pending = false;
        w->callback(w->userdata, &change);
        return 0;
}

/* ---- reading ---- */

static int on_message_in(struct nl_msg *msg, void *userdata) {
        struct netwatch *w = userdata;
        w->messages_read++;
        return NL_OK;
}

static int on_valid_message(struct nl_msg *msg, void *userdata) {
        struct netwatch *w = userdata;
        struct nlmsghdr *h = nlmsg_hdr(msg);
        bool relevant = false;

        switch (h->nlmsg_type) {
        case RTM_NEWLINK:
        case RTM_DELLINK:
                relevant = note_link(w, h);
                break;
        case RTM_NEWADDR:
        case RTM_DELADDR:
                relevant = note_address(w, h);
                break;
        case RTM_NEWROUTE:
        case RTM_DELROUTE:
                relevant = note_route(w, h);
                break;
        default:
                break;
        }
        if (relevant)
                schedule_evaluation(w);
        return NL_OK;
}

static int on_overrun_message(struct nl_msg *msg, void *userdata) {
        struct netwatch *w = userdata;
        assume_anything_changed(w);
        return NL_SKIP;
}

static void log_read_error(struct netwatch *w, int nl_error) {
        unsigned suppressed = 0;
        if (!log_ratelimit_allow(&w->error_log, now_usec(w), &suppressed))
                return;
        log_warning("netlink: receive failed: %s, assuming anything changed%s", nl_geterror(nl_error),
                    suppressed ? " (more messages suppressed)" : "");
}

static int on_netlink_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct netwatch *w = userdata;

        for (unsigned i = 0; i < READ_BUDGET; i++) {
                w->messages_read = 0;
                int r = nl_recvmsgs_default(w->sock);
                if (r == -NLE_AGAIN)
                        return 0;
                if (r == -NLE_NOMEM) {
                        /* ENOBUFS: the receive buffer overflowed and the kernel dropped events. */
                        log_debug("netlink: receive buffer overrun, assuming anything changed");
                        assume_anything_changed(w);
                        continue;
                }
                if (r < 0) {
                        log_read_error(w, r);
                        assume_anything_changed(w);
                        return 0;
                }
                if (w->messages_read == 0)
                        return 0;    /* older libnl: 0 rather than -NLE_AGAIN when nothing is there */
        }
        return 0;
}

/* ---- life cycle ---- */

static void enlarge_receive_buffer(struct nl_sock *sock) {
        int size = NETWATCH_RECEIVE_BUFFER_BYTES, r;

        r = nl_socket_set_buffer_size(sock, size, 0);
        if (r < 0)
                log_debug("netlink: cannot set the receive buffer size: %s", nl_geterror(r));
        /* SO_RCVBUF stops at net.core.rmem_max; with CAP_NET_ADMIN the size asked for is had anyway. */
        (void) setsockopt(nl_socket_get_fd(sock), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
}

/* libnl's errors as the errno values the rest of the daemon speaks. */
static int errno_from_nl(int nl_error) {
        switch (abs(nl_error)) {
        case NLE_NOMEM:
                return -ENOMEM;
        case NLE_PERM:
        case NLE_NOACCESS:
                return -EPERM;
        case NLE_AF_NOSUPPORT:
        case NLE_PROTO_MISMATCH:
                return -EPROTONOSUPPORT;
        default:
                return -EIO;
        }
}

/* Fails with a negative errno; says why in a debug message (the owner decides what to log). */
static int open_event_socket(struct netwatch *w) {
        int r;

        w->sock = nl_socket_alloc();
        if (!w->sock)
                return -ENOMEM;
        /* Events are not answers to requests: their sequence numbers mean nothing to us. */
        nl_socket_disable_seq_check(w->sock);
        if ((r = nl_socket_modify_cb(w->sock, NL_CB_VALID, NL_CB_CUSTOM, on_valid_message, w)) < 0 ||
            (r = nl_socket_modify_cb(w->sock, NL_CB_MSG_IN, NL_CB_CUSTOM, on_message_in, w)) < 0 ||
            (r = nl_socket_modify_cb(w->sock, NL_CB_OVERRUN, NL_CB_CUSTOM, on_overrun_message, w)) < 0 ||
            (r = nl_connect(w->sock, NETLINK_ROUTE)) < 0 ||
            (r = nl_socket_add_memberships(w->sock, RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
                                           RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, 0)) < 0 ||
            (r = nl_socket_set_nonblocking(w->sock)) < 0) {
                log_debug("netlink: cannot open the route socket: %s", nl_geterror(r));
                return errno_from_nl(r);
        }
        enlarge_receive_buffer(w->sock);
        return 0;
}

int netwatch_new(sd_event *e, netwatch_callback cb, void *userdata, struct netwatch **ret) {
        struct netwatch *w = calloc(1, sizeof(*w));
        int r;

        if (!w)
                return -ENOMEM;
        w->event = sd_event_ref(e);
        w->callback = cb;
        w->userdata = userdata;
        w->debounce_usec = NETWATCH_DEBOUNCE_USEC_DEFAULT;
        w->error_log = (struct log_ratelimit) LOG_RATELIMIT_INIT;

        r = open_event_socket(w);
        if (r >= 0)
                r = sd_event_add_io(e, &w->io, nl_socket_get_fd(w->sock), EPOLLIN, on_netlink_readable, w);
        if (r >= 0)
                r = sd_event_add_time(e, &w->timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_debounce_timer, w);
        if (r >= 0)
                r = sd_event_source_set_enabled(w->timer, SD_EVENT_OFF);
        if (r < 0) {
                netwatch_free(w);
                return r;
        }
        *ret = w;
        return 0;
}

struct netwatch *netwatch_free(struct netwatch *w) {
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->io);
        sd_event_source_disable_unref(w->timer);
        if (w->sock)
                nl_socket_free(w->sock);   /* closes the socket */
        sd_event_unref(w->event);
        free(w);
        return NULL;
}

void netwatch_set_debounce(struct netwatch *w, uint64_t usec) {
        w->debounce_usec = usec > 0 ? usec : 1;
}

/* ---- queries ---- */

/* Errors with which connect() says that the route lookup found nothing usable: no route,
 * unreachable (ENETUNREACH/EHOSTUNREACH), prohibit (EACCES/EPERM), blackhole (EINVAL), no source
 * address or a link-local address without its interface (EADDRNOTAVAIL, EINVAL). */
static bool connect_error_means_no_route(int error) {
        switch (error) {
        case ENETUNREACH:
        case EHOSTUNREACH:
        case ENETDOWN:
        case EACCES:
        case EPERM:
        case EINVAL:
        case EADDRNOTAVAIL:
                return true;
        default:
                return false;
        }
}

bool netwatch_has_route(const struct net_address *destination) {
        struct net_address target = net_address_ntp_target(destination);
        int family = target.sa.sa.sa_family;

        if (family != AF_INET && family != AF_INET6)
                return false;

        int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_UDP);
        if (fd < 0) {
                log_debug("netwatch: cannot open a socket to look up a route: %s, assuming there is one",
                          strerror(errno));
                return true;
        }
        int error = connect(fd, &target.sa.sa, target.len) < 0 ? errno : 0;
        close(fd);
        return error == 0 || !connect_error_means_no_route(error);
}

static struct nl_sock *open_query_socket(void) {
        struct nl_sock *sock = nl_socket_alloc();
        if (!sock)
                return NULL;
        int r = nl_connect(sock, NETLINK_ROUTE);
        if (r < 0) {
                log_debug("netlink: cannot connect: %s", nl_geterror(r));
                nl_socket_free(sock);
                return NULL;
        }
        return sock;
}

static bool link_is_running(unsigned flags) {
        return !(flags & IFF_LOOPBACK) && (flags & (IFF_UP | IFF_RUNNING)) == (IFF_UP | IFF_RUNNING);
}

/* Whether a link besides loopback is up and running; *ret_known is false when the kernel could
 * not be asked. */
static bool any_link_running(bool *ret_known) {
        struct nl_sock *sock = open_query_socket();
        struct nl_cache *links = NULL;
        bool running = false;

        *ret_known = false;
        if (!sock)
                return false;
        int r = rtnl_link_alloc_cache(sock, AF_UNSPEC, &links);
        if (r < 0)
                log_debug("netlink: cannot list the links: %s", nl_geterror(r));
        else {
                *ret_known = true;
                for (struct nl_object *o = nl_cache_get_first(links); o && !running; o = nl_cache_get_next(o))
                        running = link_is_running(rtnl_link_get_flags((struct rtnl_link *) o));
                nl_cache_free(links);
        }
        nl_socket_free(sock);
        return running;
}

const char *netwatch_offline_reason(void) {
        bool known;
        bool running = any_link_running(&known);
        return known && !running ? "link down" : "no route";
}

/* The address a socket is bound to, IPv4-mapped IPv6 addresses as IPv4; false for other families. */
static bool local_address_from_sockaddr(const struct sockaddr *sa, struct net_address *ret) {
        if (sa->sa_family == AF_INET) {
                const struct sockaddr_in *in = (const struct sockaddr_in *) sa;
                return net_address_from_raw(AF_INET, &in->sin_addr, sizeof(in->sin_addr), 0, ret);
        }
        if (sa->sa_family != AF_INET6)
                return false;
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
                return net_address_from_raw(AF_INET, &in6->sin6_addr.s6_addr[12], sizeof(struct in_addr), 0, ret);
        return net_address_from_raw(AF_INET6, &in6->sin6_addr, sizeof(in6->sin6_addr), in6->sin6_scope_id, ret);
}

static bool is_wildcard(const struct net_address *a) {
        if (a->sa.sa.sa_family == AF_INET)
                return a->sa.in.sin_addr.s_addr == htonl(INADDR_ANY);
        return IN6_IS_ADDR_UNSPECIFIED(&a->sa.in6.sin6_addr);
}

/* Whether the first prefix_len bits of a and b agree. */
static bool same_prefix(const uint8_t *a, const uint8_t *b, unsigned prefix_len) {
        unsigned bytes = prefix_len / 8, bits = prefix_len % 8;
        if (memcmp(a, b, bytes) != 0)
                return false;
        if (bits == 0)
                return true;
        uint8_t mask = (uint8_t) (0xff << (8 - bits));
        return (a[bytes] & mask) == (b[bytes] & mask);
}

static bool configured_address_covers(struct rtnl_addr *configured, const struct net_address *wanted) {
        struct nl_addr *local = rtnl_addr_get_local(configured);
        int family = wanted->sa.sa.sa_family;

        if (!local || rtnl_addr_get_family(configured) != family || (rtnl_addr_get_flags(configured) & IFA_F_DADFAILED))
                return false;
        const uint8_t *raw = nl_addr_get_binary_addr(local);
        if (family == AF_INET) {
                if (nl_addr_get_len(local) != sizeof(struct in_addr))
                        return false;
                const uint8_t *want = (const uint8_t *) &wanted->sa.in.sin_addr;
                if (memcmp(raw, want, sizeof(struct in_addr)) == 0)
                        return true;
                /* 127.0.0.1/8 on lo makes all of 127/8 local. */
                unsigned prefix = nl_addr_get_prefixlen(local);
                return rtnl_addr_get_scope(configured) == RT_SCOPE_HOST && prefix <= 32 && same_prefix(raw, want, prefix);
        }
        if (nl_addr_get_len(local) != sizeof(struct in6_addr) ||
            memcmp(raw, &wanted->sa.in6.sin6_addr, sizeof(struct in6_addr)) != 0)
                return false;
        uint32_t scope_id = wanted->sa.in6.sin6_scope_id;
        return scope_id == 0 || (uint32_t) rtnl_addr_get_ifindex(configured) == scope_id;
}

bool netwatch_address_is_local(const struct sockaddr *local) {
        struct net_address wanted;
        struct nl_cache *addresses = NULL;
        bool found = false;

        if (!local_address_from_sockaddr(local, &wanted))
                return false;
        if (is_wildcard(&wanted))
                return true;
        struct nl_sock *sock = open_query_socket();
        if (!sock)
                return true;
        int r = rtnl_addr_alloc_cache(sock, &addresses);
        if (r < 0) {
                log_debug("netlink: cannot list the addresses: %s, assuming the address is still there", nl_geterror(r));
                found = true;
        } else {
                for (struct nl_object *o = nl_cache_get_first(addresses); o && !found; o = nl_cache_get_next(o))
                        found = configured_address_covers((struct rtnl_addr *) o, &wanted);
                nl_cache_free(addresses);
        }
        nl_socket_free(sock);
        return found;
}
