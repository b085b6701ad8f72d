/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* NTP mode 6 (control messages, RFC 9327 and ntpd's ntp_control.c), read-only: enough for ntpq
 * (NTPsec's and classic) to run `ntpq -p`, `ntpq -c rv`, `ntpq -c as` and `ntpq -c "rv ASSOC"`.
 *
 * Pure: the caller fills a view of the current state (system variables and associations), hands
 * over one request datagram, and gets the response datagrams through a callback. Nothing is ever
 * changed: every write, configuration, trap, nonce and MRU request is refused with an error
 * response. Malformed requests (short, a response, a fragment, bad version or mode, a count past
 * the datagram) get no response at all.
 *
 * Values are formatted as ntpd does, so that ntpq shows them as it shows ntpd's: `name=value`
 * items separated by ", " with "\r\n" line breaks before column 72, strings in double quotes,
 * times and delays in milliseconds ("%.3f", the system offset and jitters "%.6f"), timestamps as
 * 0xSSSSSSSS.FFFFFFFF, reach and flash in hex, refids as dotted quads (stratum 2-15) or text. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp-time.h"

#define MODE6_HEADER_SIZE 12
#define MODE6_MAX_DATA 468          /* data bytes per response datagram, as ntpd */
#define MODE6_MAX_DATAGRAM (MODE6_HEADER_SIZE + MODE6_MAX_DATA)
#define MODE6_MAX_FRAGMENTS 32      /* ntpq gives up on longer responses */
#define MODE6_MAX_STRING 255        /* longer string values (names, versions) are cut */

enum mode6_opcode {
        MODE6_OP_UNSPEC = 0,
        MODE6_OP_READSTAT = 1,
        MODE6_OP_READVAR = 2,
        MODE6_OP_WRITEVAR = 3,
        MODE6_OP_READCLOCK = 4,
        MODE6_OP_WRITECLOCK = 5,
        MODE6_OP_SETTRAP = 6,
        MODE6_OP_ASYNCMSG = 7,
        MODE6_OP_CONFIGURE = 8,
        MODE6_OP_SAVECONFIG = 9,
        MODE6_OP_READ_MRU = 10,
        MODE6_OP_READ_ORDLIST_A = 11,
        MODE6_OP_REQ_NONCE = 12,
        MODE6_OP_UNSETTRAP = 31,
};

/* The error code of an error response, in the high byte of its status word. */
enum mode6_error {
        MODE6_ERR_UNSPEC = 0,
        MODE6_ERR_PERMISSION = 1,
        MODE6_ERR_BADFMT = 2,
        MODE6_ERR_BADOP = 3,
        MODE6_ERR_BADASSOC = 4,
        MODE6_ERR_UNKNOWNVAR = 5,
        MODE6_ERR_BADVALUE = 6,
};

/* What selection made of a source: the low three bits of the peer status word, shown by ntpq -p
 * as the tally character " x.-+#*o". */
enum mode6_select {
        MODE6_SEL_REJECT = 0,        /* ' ' */
        MODE6_SEL_FALSETICK = 1,     /* 'x' */
        MODE6_SEL_EXCESS = 2,        /* '.' */
        MODE6_SEL_OUTLIER = 3,       /* '-' */
        MODE6_SEL_CANDIDATE = 4,     /* '+' */
        MODE6_SEL_BACKUP = 5,        /* '#' */
        MODE6_SEL_SYSPEER = 6,       /* '*' */
        MODE6_SEL_PPS = 7,           /* 'o' */
};

/* The system variables (`ntpq -c rv`). Times in seconds unless the name says otherwise. */
struct mode6_system {
        uint8_t leap;                /* enum ntp_leap; also the LI of every response */
        uint8_t stratum;             /* 16: unsynchronized */
        int8_t precision;            /* log2 s */
        double root_delay, root_dispersion;
        uint32_t refid;              /* as in the packet (host order, big-endian text) */
        ntp_ts reference_time;       /* last clock update */
        ntp_ts clock;                /* now */
        uint16_t system_peer;        /* association id of the system peer, 0: none */
        int8_t poll, min_poll;       /* log2 s ("tc", "mintc") */
        double offset;               /* last combined offset */
        double frequency_ppm;
        double sys_jitter, clk_jitter;
        double clk_wander_ppm;
        const char *version;         /* e.g. "ntpsyncd 0.1" */
        const char *processor, *system, *release; /* uname(2) fields; NULL or "": left out */
        uint8_t event_count, last_event; /* system status word, low byte; 0 when not tracked */
};

/* One association (`ntpq -p` line, `ntpq -c "rv ASSOC"`). */
struct mode6_association {
        uint16_t assoc_id;           /* nonzero, unique */
        const char *srcadr;          /* source address as text: "192.0.2.1", "2001:db8::1" */
        uint16_t srcport;
        const char *srchost;         /* configured name; NULL or "": left out */
        const char *dstadr;          /* local address as text; NULL or "": "0.0.0.0" */
        uint16_t dstport;
        uint8_t leap, stratum;       /* of the source's last packet */
        int8_t precision;
        double root_delay, root_dispersion;
        uint32_t refid;              /* the source's refid, as in the packet */
        ntp_ts reftime;              /* the source's reference time */
        ntp_ts rec;                  /* local time its last packet arrived (ntpq -p "when"), 0: never */
        ntp_ts xmt;                  /* its last transmit timestamp */
        uint8_t reach;               /* 8-bit shift register */
        unsigned unreach;            /* polls since it was last reachable */
        uint8_t hmode, pmode;        /* our mode (3, client) and the peer's (4, server) */
        int8_t hpoll, ppoll;         /* log2 s */
        uint16_t flash;              /* packet test bits that failed, 0: ok */
        double offset, delay, dispersion, jitter;
        enum mode6_select select;
        bool configured;             /* configured, not spawned from a pool */
        uint8_t event_count, last_event; /* peer status word, low byte; 0 when not tracked */
};

/* Receives each response datagram (MODE6_HEADER_SIZE..MODE6_MAX_DATAGRAM bytes), in order. */
typedef void (*mode6_emit_func)(void *userdata, const uint8_t *datagram, size_t len);

/* Answers one mode 6 request. Returns the number of datagrams passed to emit: 0 for a request
 * that deserves no answer, 1 for an error or a short answer, more for a long one. */
size_t mode6_handle(const uint8_t *request, size_t len, const struct mode6_system *sys,
                    const struct mode6_association *assoc, size_t n_assoc, mode6_emit_func emit,
                    void *userdata);

/* Sets the fields every unicast client association has: hmode 3, pmode 4, ports 123,
 * configured; everything else zero. */
void mode6_association_init(struct mode6_association *a);

/* The engine's tally character ('*', '+', '-', 'x', '#', ' ', ...) as a selection code. */
enum mode6_select mode6_select_from_tally(char tally);

/* The status words as sent: LI, clock source, event count and code / flags, selection, events. */
uint16_t mode6_system_status(const struct mode6_system *sys);
uint16_t mode6_peer_status(const struct mode6_association *a);
