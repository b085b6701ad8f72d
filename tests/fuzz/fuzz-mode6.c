/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes the mode 6 responder: any datagram, as a request, against a fixed view of two systems
 * (synchronized with three associations, and unsynchronized with none). Besides the sanitizers it
 * checks what every answer must be: each datagram a response (R bit) in mode 6 with the request's
 * version, sequence and opcode, at most 12 + 468 bytes and padded to 4, offsets that follow each
 * other from 0, the More bit on all but the last; an error response alone and without data; and no
 * answer at all to anything that is not a well-formed request. */

#include <string.h>

#include "fuzz.h"
#include "core/mode6.h"

#define MAX_RESPONSES (MODE6_MAX_FRAGMENTS + 1)

struct collected {
        const uint8_t *request;
        size_t request_len;
        size_t n;
        size_t next_offset;
        bool last_seen;
        bool error_seen;
};

static const struct mode6_system synchronized = {
        .leap = 0,
        .stratum = 2,
        .precision = -23,
        .root_delay = 0.0123,
        .root_dispersion = 0.0456,
        .refid = 0xc0000201,
        .reference_time = UINT64_C(0xeb2b1f0080000000),
        .clock = UINT64_C(0xeb2b1f4040000000),
        .system_peer = 1,
        .poll = 6,
        .min_poll = 3,
        .offset = 0.000123,
        .frequency_ppm = -12.3,
        .sys_jitter = 0.0000789,
        .clk_jitter = 0.0000123,
        .clk_wander_ppm = 0.0045,
        .version = "ntpsyncd 0.1",
        .processor = "x86_64",
        .system = "Linux",
        .release = "6.1.0",
};

static const struct mode6_system unsynchronized = {
        .leap = 3,
        .stratum = 16,
        .precision = -20,
        .refid = 0x494e4954,
        .version = "ntpsyncd 0.1",
};

static const struct mode6_association associations[] = {
        { .assoc_id = 1, .srcadr = "192.0.2.1", .srcport = 123, .dstadr = "192.0.2.100", .dstport = 123,
          .stratum = 1, .refid = 0x47505300, .reach = 0xff, .hmode = 3, .pmode = 4, .hpoll = 6, .ppoll = 6,
          .offset = 0.001, .delay = 0.025, .jitter = 0.0001, .select = MODE6_SEL_SYSPEER, .configured = true },
        { .assoc_id = 2, .srcadr = "2001:db8::2", .srcport = 123, .srchost = "ntp.example.org", .stratum = 3,
          .refid = 0xc0000205, .reach = 0x0f, .hmode = 3, .pmode = 4, .hpoll = 10, .ppoll = 10,
          .select = MODE6_SEL_CANDIDATE, .configured = true },
        { .assoc_id = 3, .srcadr = "192.0.2.3", .stratum = 16, .refid = 0x52415445, .hmode = 3,
          .select = MODE6_SEL_FALSETICK },
};

static uint16_t read_be16(const uint8_t *p) {
        return (uint16_t) (p[0] << 8 | p[1]);
}

static void check_datagram(void *userdata, const uint8_t *d, size_t len) {
        struct collected *c = userdata;
        const uint8_t *q = c->request;

        fuzz_check(c->n < MAX_RESPONSES);
        fuzz_check(!c->last_seen);
        fuzz_check(len >= MODE6_HEADER_SIZE && len <= MODE6_MAX_DATAGRAM && len <= 48 + 500);
        fuzz_check(len % 4 == 0);
        fuzz_check((d[0] & 7) == 6);
        fuzz_check((d[0] & 0x38) == (q[0] & 0x38));                  /* version echoed */
        fuzz_check(d[1] & 0x80);                                      /* response */
        fuzz_check((d[1] & 0x1f) == (q[1] & 0x1f));                   /* opcode */
        fuzz_check(memcmp(d + 2, q + 2, 2) == 0);                     /* sequence */
        fuzz_check(memcmp(d + 6, q + 6, 2) == 0);                     /* association */

        size_t count = read_be16(d + 10);
        bool more = d[1] & 0x20, error = d[1] & 0x40;
        fuzz_check(count <= MODE6_MAX_DATA);
        fuzz_check(len == ((MODE6_HEADER_SIZE + count + 3) & ~(size_t) 3));
        for (size_t i = MODE6_HEADER_SIZE + count; i < len; i++)
                fuzz_check(d[i] == 0);
        fuzz_check(read_be16(d + 8) == c->next_offset);
        if (more)
                fuzz_check(count == MODE6_MAX_DATA);
        if (error) {
                fuzz_check(c->n == 0 && !more && count == 0);
                fuzz_check((d[4] >= MODE6_ERR_PERMISSION && d[4] <= MODE6_ERR_UNKNOWNVAR) && d[5] == 0);
                c->error_seen = true;
        }

        c->next_offset += count;
        c->last_seen = !more;
        c->n++;
}

static bool is_well_formed_request(const uint8_t *data, size_t size) {
        if (size < MODE6_HEADER_SIZE || size % 4 != 0 || size > 1024)
                return false;
        uint8_t version = (data[0] >> 3) & 7;
        size_t count = read_be16(data + 10);
        return (data[0] & 7) == 6 && version >= 1 && version <= 4 && (data[1] & 0xe0) == 0 &&
               read_be16(data + 8) == 0 && count <= MODE6_MAX_DATA && count <= size - MODE6_HEADER_SIZE;
}

static void run(const uint8_t *data, size_t size, const struct mode6_system *sys,
                const struct mode6_association *assoc, size_t n_assoc) {
        struct collected c = { .request = data, .request_len = size };
        size_t n = mode6_handle(data, size, sys, assoc, n_assoc, check_datagram, &c);

        fuzz_check(n == c.n);
        if (!is_well_formed_request(data, size)) {
                fuzz_check(n == 0);
                return;
        }
        fuzz_check(n >= 1 && c.last_seen);
        if ((data[1] & 0x1f) >= MODE6_OP_WRITEVAR)
                fuzz_check(c.error_seen);                             /* nothing but reads is served */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        run(data, size, &synchronized, associations, sizeof(associations) / sizeof(associations[0]));
        run(data, size, &unsynchronized, NULL, 0);
        return 0;
}
