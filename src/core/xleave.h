/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Interleaved mode when serving (draft-ietf-ntp-interleaved-modes, as chrony implements it): a
 * client that puts the receive timestamp of our previous answer in the origin field of its request
 * gets, in the answer, the real (kernel) transmit timestamp of that previous answer instead of the
 * estimate taken before it left, and as origin its own receive timestamp of it.
 *
 * As chrony does since the interleaved-pivot attacks, the state is keyed by our receive
 * timestamp, which only the client that got the answer (or someone on its path) knows, not by the
 * address anyone can spoof: a forged request never overwrites another client's state, it adds an
 * entry of its own. Each entry also holds the address it was answered to and is used once. Our
 * receive timestamps carry the lowest bit set and our transmit timestamps carry it clear, so that
 * a request is looked up only when its origin can be one of ours, and clients in basic mode
 * (origin zero or our transmit timestamp) never take a slot: the third answer to a new client is
 * the first that can be interleaved.
 *
 * The table has a fixed size chosen at creation; a newcomer evicts the oldest of the few slots
 * its key hashes to (keyed with a random seed). A client whose entry was evicted gets a basic
 * answer and an entry again. No allocation after xleave_new(). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp-packet.h"
#include "ntp-time.h"

#define XLEAVE_DEFAULT_CAPACITY 16384
#define XLEAVE_RX_MARK UINT64_C(1)   /* lowest bit: set in our receive timestamps, clear in transmit ones */

typedef struct xleave_table xleave_table;

xleave_table *xleave_new(size_t capacity, uint64_t seed);
xleave_table *xleave_free(xleave_table *t);

/* What xleave_answer() did to a response. */
struct xleave_answer {
        bool interleaved;            /* transmit timestamp of the previous answer in: never to be stamped again */
        bool kernel;                 /* ... and it came from the kernel (else the estimate before sending) */
        ntp_ts tx;                   /* ... that timestamp, as written into the response */
        ntp_ts key;                  /* the response's receive timestamp, saved for the next request; 0: none */
};

/* For a request server_handle() answered with SERVER_REPLY (so after the restrict rules and the
 * rate limiter let it through), from the client at address (4 or 16 bytes): makes the response
 * interleaved when the request asks for it and its entry is there, unused, for this address, with
 * a transmit timestamp; then saves the response's receive timestamp for the next request. */
void xleave_answer(xleave_table *t, const uint8_t *address, size_t address_len, const uint8_t *request, size_t len,
                   uint8_t response[static NTP_HEADER_SIZE], struct xleave_answer *ret);

/* The transmit timestamp of the answer saved under key: first the one stamped into it
 * (kernel=false), then the kernel's from the error queue (kernel=true), which replaces it only
 * when it is at most a second later. One more than a second away from its receive timestamp
 * (a clock step) leaves the entry without one: basic answers. */
void xleave_set_transmit(xleave_table *t, ntp_ts key, ntp_ts tx, bool kernel);

/* Drops the entry saved under key (its answer was not sent after all). */
void xleave_forget(xleave_table *t, ntp_ts key);

/* Makes an answer xleave_answer() turned interleaved a basic one again (for an NTS NAK): origin
 * back to the request's transmit timestamp, transmit timestamp to be stamped. */
void xleave_make_basic(const uint8_t *request, size_t len, uint8_t response[static NTP_HEADER_SIZE]);

/* The receive timestamp in an answer the kernel looped back with its transmit timestamp (the
 * frame from the link-layer header on, as the error queue returns it: Ethernet or none, IPv4 or
 * IPv6, UDP, then a mode 4 or 2 NTP header). False for anything else. */
bool xleave_frame_key(const uint8_t *frame, size_t len, ntp_ts *ret);

size_t xleave_entries(const xleave_table *t);
size_t xleave_capacity(const xleave_table *t);
