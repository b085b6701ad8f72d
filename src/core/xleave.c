/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "unaligned.h"
#include "xleave.h"

#define PROBES 8                     /* slots looked at per key; the oldest of them is evicted */
#define ONE_SECOND (UINT64_C(1) << 32)

#define ORIGIN_OFFSET 24
#define RECEIVE_OFFSET 32
#define TRANSMIT_OFFSET 40

enum {
        ENTRY_USED = 1 << 0,
        ENTRY_TX = 1 << 1,           /* tx holds the answer's transmit timestamp */
        ENTRY_TX_KERNEL = 1 << 2,    /* ... from the kernel */
        ENTRY_SPENT = 1 << 3,        /* answered interleaved once, or its key was seen twice */
};

struct entry {
        ntp_ts rx, tx;
        uint8_t address[16];
        uint8_t address_len;
        uint8_t flags;
};

struct xleave_table {
        uint64_t key, multiplier;
        unsigned shift;
        size_t used;
        size_t n;
        struct entry entries[];
};

xleave_table *xleave_new(size_t capacity, uint64_t seed) {
        unsigned bits = 4;
        while (((size_t) 1 << bits) < capacity && bits < 24)
                bits++;
        size_t n = (size_t) 1 << bits;
        xleave_table *t = calloc(1, sizeof(*t) + n * sizeof(struct entry));
        if (!t)
                return NULL;
        t->n = n;
        t->shift = 64 - bits;
        t->key = seed ^ UINT64_C(0x6a09e667f3bcc908);
        t->multiplier = (seed * UINT64_C(0x9e3779b97f4a7c15)) | 1;
        return t;
}

xleave_table *xleave_free(xleave_table *t) {
        free(t);
        return NULL;
}

/* Keyed multiplicative hashing: the slot of a key is not for a client to predict. */
static size_t home_slot(const xleave_table *t, ntp_ts rx) {
        return (size_t) (((rx ^ t->key) * t->multiplier) >> t->shift);
}

static struct entry *probe(xleave_table *t, ntp_ts rx, size_t i) {
        return &t->entries[(home_slot(t, rx) + i) & (t->n - 1)];
}

static struct entry *find(xleave_table *t, ntp_ts rx) {
        for (size_t i = 0; i < PROBES; i++) {
                struct entry *e = probe(t, rx, i);
                if ((e->flags & ENTRY_USED) && e->rx == rx)
                        return e;
        }
        return NULL;
}

/* Earlier in time, across an era boundary. */
static bool older(ntp_ts a, ntp_ts b) {
        return (int64_t) (a - b) < 0;
}

static struct entry *claim(xleave_table *t, ntp_ts rx) {
        struct entry *victim = NULL;
        for (size_t i = 0; i < PROBES; i++) {
                struct entry *e = probe(t, rx, i);
                if (!(e->flags & ENTRY_USED)) {
                        t->used++;
                        return e;
                }
                if (!victim || older(e->rx, victim->rx))
                        victim = e;
        }
        return victim;
}

static void save(xleave_table *t, ntp_ts rx, const uint8_t *address, size_t address_len) {
        struct entry *e = find(t, rx);
        /* Two answers with one receive timestamp: neither can say which transmit timestamp is its. */
        if (e) {
                e->flags |= ENTRY_SPENT;
                return;
        }
        e = claim(t, rx);
        *e = (struct entry) { .rx = rx, .address_len = (uint8_t) address_len, .flags = ENTRY_USED };
        memcpy(e->address, address, address_len);
}

/* The transmit timestamp saved under rx for this address, once. */
static bool take(xleave_table *t, ntp_ts rx, const uint8_t *address, size_t address_len, ntp_ts *ret_tx,
                 bool *ret_kernel) {
        struct entry *e = find(t, rx);
        if (!e || (e->flags & ENTRY_SPENT) || e->address_len != address_len ||
            memcmp(e->address, address, address_len) != 0)
                return false;
        e->flags |= ENTRY_SPENT;
        *ret_tx = e->tx;
        *ret_kernel = e->flags & ENTRY_TX_KERNEL;
        return e->flags & ENTRY_TX;
}

void xleave_answer(xleave_table *t, const uint8_t *address, size_t address_len, const uint8_t *request, size_t len,
                   uint8_t response[static NTP_HEADER_SIZE], struct xleave_answer *ret) {
        *ret = (struct xleave_answer) { 0 };
        if (len < NTP_HEADER_SIZE || ((request[0] >> 3) & 7) != 4 || (address_len != 4 && address_len != 16))
                return;
        ntp_ts origin = unaligned_read_be64(request + ORIGIN_OFFSET);
        ntp_ts receive = unaligned_read_be64(request + RECEIVE_OFFSET);
        /* Only an origin that can be one of our receive timestamps is looked up; a client in
         * basic mode that sends its receive timestamp equal to its transmit one is not asking. */
        if (!(origin & XLEAVE_RX_MARK) || receive == unaligned_read_be64(request + TRANSMIT_OFFSET))
                return;
        ntp_ts previous_tx;
        if (take(t, origin, address, address_len, &previous_tx, &ret->kernel)) {
                unaligned_write_be64(response + ORIGIN_OFFSET, receive);
                ret->tx = previous_tx & ~XLEAVE_RX_MARK;
                unaligned_write_be64(response + TRANSMIT_OFFSET, ret->tx);
                ret->interleaved = true;
        } else
                ret->kernel = false;
        ret->key = unaligned_read_be64(response + RECEIVE_OFFSET);
        if (ret->key != 0)
                save(t, ret->key, address, address_len);
}

void xleave_set_transmit(xleave_table *t, ntp_ts key, ntp_ts tx, bool kernel) {
        struct entry *e = find(t, key);
        if (!e)
                return;
        if (kernel) {
                /* Later than the estimate taken before sending, and not by much. */
                if ((e->flags & ENTRY_TX) && tx - e->tx <= ONE_SECOND) {
                        e->tx = tx;
                        e->flags |= ENTRY_TX_KERNEL;
                }
                return;
        }
        if (tx - key <= ONE_SECOND) {
                e->tx = tx;
                e->flags = (uint8_t) ((e->flags | ENTRY_TX) & ~ENTRY_TX_KERNEL);
        } else
                e->flags &= (uint8_t) ~(ENTRY_TX | ENTRY_TX_KERNEL);
}

void xleave_forget(xleave_table *t, ntp_ts key) {
        struct entry *e = find(t, key);
        if (e) {
                *e = (struct entry) { 0 };
                t->used--;
        }
}

void xleave_make_basic(const uint8_t *request, size_t len, uint8_t response[static NTP_HEADER_SIZE]) {
        if (len < NTP_HEADER_SIZE)
                return;
        unaligned_write_be64(response + ORIGIN_OFFSET, unaligned_read_be64(request + TRANSMIT_OFFSET));
        unaligned_write_be64(response + TRANSMIT_OFFSET, 0);
}

/* ---- answers looped back from the error queue ---- */

#define ETHER_HEADER 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define IPV6_HEADER 40
#define UDP_HEADER 8
#define PROTOCOL_UDP 17

/* Offset of the UDP payload in an IP packet at p, or 0. */
static size_t udp_payload(const uint8_t *p, size_t len) {
        size_t ip_len;
        if (len >= 20 && (p[0] >> 4) == 4) {
                ip_len = (size_t) (p[0] & 15) * 4;
                /* Not the first fragment: no UDP header in it. */
                if (ip_len < 20 || p[9] != PROTOCOL_UDP || (unaligned_read_be16(p + 6) & 0x1fff) != 0)
                        return 0;
        } else if (len >= IPV6_HEADER && (p[0] >> 4) == 6) {
                ip_len = IPV6_HEADER;
                if (p[6] != PROTOCOL_UDP)
                        return 0;
        } else
                return 0;
        return len >= ip_len + UDP_HEADER ? ip_len + UDP_HEADER : 0;
}

static bool ntp_answer_key(const uint8_t *p, size_t len, ntp_ts *ret) {
        if (len < NTP_HEADER_SIZE)
                return false;
        unsigned mode = p[0] & 7;
        if (mode != NTP_MODE_SERVER && mode != NTP_MODE_SYMMETRIC_PASSIVE)
                return false;
        *ret = unaligned_read_be64(p + RECEIVE_OFFSET);
        return true;
}

static size_t ether_payload(const uint8_t *frame, size_t len) {
        size_t offset = ETHER_HEADER;
        if (len < ETHER_HEADER)
                return 0;
        uint16_t type = unaligned_read_be16(frame + 12);
        if (type == ETHERTYPE_VLAN && len >= ETHER_HEADER + 4) {
                type = unaligned_read_be16(frame + 16);
                offset += 4;
        }
        return type == ETHERTYPE_IPV4 || type == ETHERTYPE_IPV6 ? offset : 0;
}

bool xleave_frame_key(const uint8_t *frame, size_t len, ntp_ts *ret) {
        /* Ethernet first (veth, loopback); a device without link-layer header hands the IP packet. */
        size_t ip = ether_payload(frame, len);
        size_t udp = udp_payload(frame + ip, len - ip);
        if (udp == 0 && ip != 0) {
                ip = 0;
                udp = udp_payload(frame, len);
        }
        if (udp == 0)
                return false;
        return ntp_answer_key(frame + ip + udp, len - ip - udp, ret);
}

size_t xleave_entries(const xleave_table *t) {
        return t->used;
}

size_t xleave_capacity(const xleave_table *t) {
        return t->n;
}
