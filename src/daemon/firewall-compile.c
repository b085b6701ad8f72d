/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The firewall's rule compiler: restrict rules → the address ranges that table inet ntpsync
 * drops (the clients whose most specific rule has `ignore`), and a whole request → what the
 * backends apply. Pure: no I/O. */

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "firewall-compile.h"

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


int firewall_compile(const struct firewall_request *req, struct firewall_want *ret) {
        ret->client = req->client;
        ret->server = req->server;
        ret->nts_ke = req->nts_ke;
        ret->compile_error = 0;
        ret->n_ranges = 0;
        int r = req->restricts ? firewall_compile_ignored(req->restricts, ret->ranges, FIREWALL_MAX_RANGES, &ret->n_ranges)
                               : 0;
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                ret->compile_error = r;
                ret->n_ranges = 0;
        }
        return 0;
}

bool firewall_want_equal(const struct firewall_want *a, const struct firewall_want *b) {
        return a->client == b->client && a->server == b->server && a->nts_ke == b->nts_ke &&
               a->compile_error == b->compile_error &&
               a->n_ranges == b->n_ranges && memcmp(a->ranges, b->ranges, a->n_ranges * sizeof(a->ranges[0])) == 0;
}
