/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Watching the kernel's network configuration: a route netlink socket (libnl-3) on sd-event that
 * hears links going up and down, addresses coming and going, and routes changing. Events are
 * debounced: the owner's callback runs once the network has been quiet for a debounce period
 * (or at the latest a few periods after the first event, so that a link that never stops
 * flapping cannot postpone it forever), with a summary of everything that happened since the
 * previous callback. A burst of any size costs one callback.
 *
 * The queries below ask the kernel directly, each time (no state is cached here): the owner calls
 * them from its callback, so they run at most once per debounce period. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "net.h"

#define NETWATCH_DEBOUNCE_USEC_DEFAULT (250ULL * 1000)
/* The callback comes at most this many debounce periods after the first event of a burst. */
#define NETWATCH_MAX_DELAY_PERIODS 4
#define NETWATCH_MAX_REMOVED 16
#define NETWATCH_RECEIVE_BUFFER_BYTES (1024 * 1024)

/* Netlink messages seen since the previous callback, by kind. */
struct netwatch_counts {
        unsigned links_up, links_down;       /* RTM_NEWLINK running or not, RTM_DELLINK counts as down */
        unsigned addresses_added, addresses_removed;
        unsigned routes_added, routes_removed; /* main and other tables; the local table follows addresses */
};

/* What happened since the previous callback. After an overrun every flag is set: events were lost,
 * so anything may have changed, and the removed list is incomplete. */
struct netwatch_change {
        bool links_changed;
        bool addresses_added;
        bool addresses_removed;
        bool routes_changed;
        bool overrun;                /* the kernel dropped events (ENOBUFS) */
        struct netwatch_counts counts;
        /* Local addresses removed and not added back since (in the order they went away; IPv6
         * link-local ones with their interface as scope id). When more went away than fit, or after
         * an overrun, removed_incomplete is set: check each socket with netwatch_address_is_local(). */
        struct net_address removed[NETWATCH_MAX_REMOVED];
        size_t n_removed;
        bool removed_incomplete;
};

typedef void (*netwatch_callback)(void *userdata, const struct netwatch_change *change);

struct netwatch;

/* Subscribes to link, IPv4/IPv6 address and IPv4/IPv6 route events. The callback runs from the
 * event loop, never from inside a netwatch_*() call; it may free the watcher. Fails with a
 * negative errno and logs nothing above debug: the owner decides (it can run without a watcher). */
int netwatch_new(sd_event *e, netwatch_callback cb, void *userdata, struct netwatch **ret);
struct netwatch *netwatch_free(struct netwatch *w);

/* The quiet period that ends a burst (NETWATCH_DEBOUNCE_USEC_DEFAULT unless changed, e.g. by
 * tests); a burst already under way is judged by the new value. */
void netwatch_set_debounce(struct netwatch *w, uint64_t usec);

/* Whether the kernel has a usable route to destination now: a throwaway UDP socket connect()ed to
 * it (the kernel's own route lookup, as the real send would do; nothing is sent). Unreachable,
 * prohibit and blackhole routes, or none at all, are false. True when the question cannot be
 * asked (no file descriptors, no memory): a shortage must not make the host look offline. */
bool netwatch_has_route(const struct net_address *destination);

/* Why the host looks offline, for the manager's OnlineReason: "link down" when no link besides
 * loopback is up and running, else "no route". Never NULL; meaningful when netwatch_has_route()
 * is false for every destination that matters. */
const char *netwatch_offline_reason(void);

/* Whether a socket's bound or source address (as getsockname() gives it: sockaddr_in or
 * sockaddr_in6, IPv4-mapped IPv6 understood) is still configured on the host. Wildcard
 * addresses are always local, as are loopback addresses inside a host-scope prefix (127.0.0.2);
 * addresses that failed duplicate address detection are not. True when the kernel cannot be
 * asked: a socket is only reopened for an address known to be gone. */
bool netwatch_address_is_local(const struct sockaddr *local);
