/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Name resolution that never blocks the event loop: getaddrinfo() runs in a short-lived thread
 * per query and hands its answer back through a pipe that sd-event watches. A resolver that
 * hangs costs a thread, never the loop (the D-Bus API stays responsive). */

#include <stddef.h>
#include <systemd/sd-event.h>

#include "net.h"

#define RESOLVE_MAX_PENDING 16
#define RESOLVE_MAX_ADDRESSES 16

typedef struct resolver resolver;
typedef struct resolve_query resolve_query;

/* error is 0 or a negative errno (-ENOENT: no such name, -EAGAIN: try again later). */
typedef void (*resolve_callback)(void *userdata, int error, const struct net_address *addresses, size_t n);

int resolver_new(sd_event *event, resolver **ret);
resolver *resolver_free(resolver *r);

/* Starts resolving host (a name or an address literal). The callback runs later from the event
 * loop, never from inside this call. -EBUSY when too many queries are pending. */
int resolve_start(resolver *r, const char *host, resolve_callback cb, void *userdata, resolve_query **ret);

/* The callback will not run. Safe until the callback has run. */
void resolve_cancel(resolve_query *q);

const char *resolve_strerror(int error);
