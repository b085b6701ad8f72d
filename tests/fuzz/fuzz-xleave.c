/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes interleaved serving: the frames the error queue loops back, and sequences of requests
 * against a small table.
 *
 * Input: byte 0 bit 0 clear: the rest is a looped-back frame for xleave_frame_key().
 *        byte 0 bit 0 set: the rest is steps of 1 + 2 + 48 bytes:
 *          control  bit 0  from address B (else A)
 *                   bit 1  the answer leaves (its transmit estimate is saved)
 *                   bit 2  ... and the kernel's timestamp comes back
 *                   bit 3  the answer is forgotten (an NTS NAK)
 *                   bit 4  the request's origin is replaced with the receive timestamp of the
 *                          answer before, as an interleaved client sends it
 *          2 bytes  milliseconds since the step before
 *          48 bytes the request (a version 4 or other client request as it came)
 *
 * Besides the sanitizers it checks what xleave.h promises: the table never holds more than its
 * capacity; an interleaved answer has the request's receive timestamp as origin and a transmit
 * timestamp with the lowest bit clear, and only for a version 4 request whose origin is marked;
 * any other answer is left as it was (origin the request's transmit timestamp, transmit zero). */

#include <string.h>

#include "fuzz.h"
#include "core/xleave.h"

#define FUZZ_CAPACITY 16
#define FUZZ_SEED UINT64_C(0x2545f4914f6cdd1d)
#define FUZZ_START UINT64_C(0xeb2b1f0000000000)
#define STEP_SIZE (1 + 2 + NTP_HEADER_SIZE)
#define MS ((UINT64_C(1) << 32) / 1000)

#define STEP_ADDRESS_B 0x01
#define STEP_SENT 0x02
#define STEP_KERNEL 0x04
#define STEP_FORGET 0x08
#define STEP_CHAIN 0x10

static const uint8_t addresses[2][4] = { { 192, 0, 2, 10 }, { 192, 0, 2, 11 } };

static void check_answer(const uint8_t *request, const uint8_t *response, const struct xleave_answer *a) {
        uint64_t origin = fuzz_read_be64(response + 24);
        if (a->interleaved) {
                fuzz_check(((request[0] >> 3) & 7) == 4);
                fuzz_check(fuzz_read_be64(request + 24) & XLEAVE_RX_MARK);
                fuzz_check(origin == fuzz_read_be64(request + 32));
                fuzz_check(fuzz_read_be64(response + 40) == a->tx);
                fuzz_check(!(a->tx & XLEAVE_RX_MARK));
        } else {
                fuzz_check(origin == fuzz_read_be64(request + 40));
                fuzz_check(fuzz_read_be64(response + 40) == 0);
        }
}

static void run_steps(const uint8_t *data, size_t size) {
        xleave_table *t = xleave_new(FUZZ_CAPACITY, FUZZ_SEED);
        uint64_t now = FUZZ_START, last_rx = 0;
        if (!t)
                return;
        for (; size >= STEP_SIZE; data += STEP_SIZE, size -= STEP_SIZE) {
                uint8_t control = data[0], request[NTP_HEADER_SIZE], response[NTP_HEADER_SIZE] = { 4 << 3 | 4 };
                struct xleave_answer a;
                now += (uint64_t) (data[1] << 8 | data[2]) * MS;
                memcpy(request, data + 3, sizeof(request));
                if (control & STEP_CHAIN)
                        fuzz_write_be64(request + 24, last_rx);
                /* The basic answer server_handle() writes: origin the request's transmit. */
                memcpy(response + 24, request + 40, 8);
                fuzz_write_be64(response + 32, now | XLEAVE_RX_MARK);
                xleave_answer(t, addresses[control & STEP_ADDRESS_B], 4, request, sizeof(request), response, &a);
                check_answer(request, response, &a);
                fuzz_check(a.key == 0 || a.key == (now | XLEAVE_RX_MARK));
                last_rx = now | XLEAVE_RX_MARK;
                if (control & STEP_SENT)
                        xleave_set_transmit(t, a.key, now + MS, false);
                if (control & STEP_KERNEL)
                        xleave_set_transmit(t, a.key, now + MS + (uint64_t) data[3] * 1000, true);
                if (control & STEP_FORGET)
                        xleave_forget(t, a.key);
                fuzz_check(xleave_entries(t) <= xleave_capacity(t));
        }
        xleave_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ntp_ts key;
        if (size < 1)
                return 0;
        if (data[0] & 1)
                run_steps(data + 1, size - 1);
        else if (xleave_frame_key(data + 1, size - 1, &key))
                fuzz_check(size - 1 >= 20 + 8 + NTP_HEADER_SIZE); /* IPv4 and UDP headers at the least */
        return 0;
}
