/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The protocol between ntpsyncd and ntpsyncd-firewall-helper, the small process that keeps
 * CAP_NET_ADMIN (and nothing else) so that the daemon, which parses packets from the network,
 * does not have to.
 *
 * Transport: an AF_UNIX SOCK_SEQPACKET socketpair; the helper's end is its fd 3. One request,
 * one response, strictly in turn; every message has exactly the size of its struct (a request or
 * response of any other size is refused). The helper validates every field of a request (see
 * firewall-helper.c) and builds the nftables commands itself from the validated binary values:
 * no text from the daemon ever reaches the nftables parser. The daemon validates responses
 * the same way (bools 0/1, padding zero, strings terminated, op echoed).
 *
 * Everything here is host byte order except the address bytes (network order). */

#include <stdint.h>

#define FWH_MAGIC UINT32_C(0x4e545046) /* "NTPF" */
/* 2: nts_ke in the request and the response. */
#define FWH_VERSION 2
#define FWH_FD 3

/* At most this many address ranges (both families together) in the sets ignored4/ignored6. */
#define FWH_MAX_RANGES 1024
#define FWH_MESSAGE_MAX 512
#define FWH_WARNING_MAX 1024

/* nftables names; the helper never touches any other table. */
#define FWH_TABLE_FAMILY "inet"
#define FWH_TABLE_NAME "ntpsync"
/* NTS key establishment (RFC 8915), let in or dropped with NTP service traffic when asked. */
#define FWH_NTS_KE_PORT 4460

enum fwh_op {
        FWH_OP_HELLO = 1,            /* is nf_tables usable? (lists the tables, changes nothing) */
        FWH_OP_APPLY = 2,            /* replace table inet ntpsync with the requested state */
        FWH_OP_READ = 3,             /* read back table inet ntpsync and scan the others */
        FWH_OP_REMOVE = 4,           /* delete table inet ntpsync (nothing else) */
};

/* One range of client addresses to drop, start <= end, as whole addresses. AF_INET uses
 * start[0..3]/end[0..3], and the other 12 bytes must be zero. */
struct fwh_range {
        uint8_t family;              /* AF_INET or AF_INET6 */
        uint8_t pad[7];              /* zero */
        uint8_t start[16];
        uint8_t end[16];
};

struct fwh_request {
        uint32_t magic;
        uint32_t version;
        uint32_t op;
        uint8_t client;              /* 0 or 1; only for FWH_OP_APPLY, else 0 */
        uint8_t server;              /* 0 or 1; only for FWH_OP_APPLY, else 0 */
        uint8_t nts_ke;              /* 0 or 1; only for FWH_OP_APPLY, else 0: TCP port 4460 follows
                                      * server (accepted or dropped); 0 leaves it alone */
        uint8_t pad[1];              /* zero */
        uint32_t n_ranges;           /* <= FWH_MAX_RANGES; only for FWH_OP_APPLY, else 0 */
        /* Sorted by family (AF_INET first) then start, not overlapping; unused entries zero. */
        struct fwh_range ranges[FWH_MAX_RANGES];
};

struct fwh_response {
        uint32_t magic;
        uint32_t version;
        uint32_t op;                 /* the request's op, or 0 when the request was refused unread */
        int32_t error;               /* 0, or a negative errno */
        uint8_t installed;           /* table inet ntpsync exists */
        uint8_t client;              /* ntpsync's table lets NTP client traffic through */
        uint8_t server;              /* ntpsync's table lets NTP service traffic through */
        uint8_t conntrack;           /* the rules for replies use connection tracking */
        uint32_t n_ignored;          /* elements in the sets ignored4 + ignored6 */
        uint64_t ignored_packets;    /* the drop counters of the ignore rules */
        uint8_t nts_ke;              /* ntpsync's table lets NTS-KE (TCP port 4460) in */
        uint8_t pad[7];              /* zero */
        char message[FWH_MESSAGE_MAX]; /* on error: what went wrong (nft's own words); NUL-terminated */
        char warning[FWH_WARNING_MAX]; /* READ: other tables that drop what ntpsync lets through */
};

/* The layout is part of the protocol (and tests/firewall/test-firewall.py packs it). */
_Static_assert(sizeof(struct fwh_range) == 40, "fwh_range layout");
_Static_assert(sizeof(struct fwh_request) == 20 + 40 * FWH_MAX_RANGES, "fwh_request layout");
_Static_assert(sizeof(struct fwh_response) == 40 + FWH_MESSAGE_MAX + FWH_WARNING_MAX, "fwh_response layout");

/* ---- inside the helper (firewall-helper.c, firewall-nft.c) ---- */

#include <stddef.h>

/* Sets up libnftables and checks that nf_tables answers (lists the tables). */
int fwnft_init(char *message, size_t size);
/* Each fills resp (error, message, and the read-back fields for READ). */
int fwnft_apply(const struct fwh_request *req, struct fwh_response *resp);
int fwnft_read(struct fwh_response *resp);
int fwnft_remove(struct fwh_response *resp);
void fwnft_done(void);
