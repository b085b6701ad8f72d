/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The firewall's rule compiler: what is asked for (client and serving traffic, the restrict
 * rules) → what a backend applies (the directions to open, the client ranges to drop). Plain data
 * in and out, no I/O; the backends and the helper protocol only carry its result. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/restrict.h"

#define FIREWALL_MAX_RANGES 1024

struct firewall_request {
        bool client;                 /* NTP client traffic allowed */
        bool server;                 /* NTP service traffic allowed */
        bool nts_ke;                 /* NTS is served: TCP 4460 (NTS-KE) follows server, let in with it
                                      * and dropped without; false: ntpsync leaves TCP 4460 alone */
        const struct restrict_set *restricts; /* rules with `ignore` become drops; NULL: none */
};

/* One address range to drop (network byte order, whole addresses; AF_INET in bytes 0..3). */
struct firewall_range {
        int family;
        uint8_t start[16];
        uint8_t end[16];
};

/* A request, compiled. */
struct firewall_want {
        bool client, server, nts_ke;
        int compile_error;           /* the ranges did not compile (-E2BIG, -EINVAL): none are applied */
        size_t n_ranges;
        struct firewall_range *ranges; /* room for FIREWALL_MAX_RANGES, owned by the caller */
};

/* Compiles the `ignore` rules of s into sorted, disjoint ranges (AF_INET first), as
 * firewall_apply() does; ret has room for max. -E2BIG when more are needed. */
int firewall_compile_ignored(const struct restrict_set *s, struct firewall_range *ret, size_t max,
                             size_t *ret_n);

/* Compiles req into ret (ret->ranges: room for FIREWALL_MAX_RANGES). Ranges that do not compile
 * are kept as ret->compile_error, for the backend to refuse with; -ENOMEM is returned. */
int firewall_compile(const struct firewall_request *req, struct firewall_want *ret);

/* Whether two compiled requests ask for the same. */
bool firewall_want_equal(const struct firewall_want *a, const struct firewall_want *b);
