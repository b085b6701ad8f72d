/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Big-endian (network order) integers at any address in a datagram: what the NTP and mode 6 wire
 * formats are made of. */

#include <stdint.h>

static inline uint16_t unaligned_read_be16(const uint8_t *p) {
        return (uint16_t) (p[0] << 8 | p[1]);
}

static inline uint32_t unaligned_read_be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static inline uint64_t unaligned_read_be64(const uint8_t *p) {
        return (uint64_t) unaligned_read_be32(p) << 32 | unaligned_read_be32(p + 4);
}

static inline void unaligned_write_be16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) (v >> 8);
        p[1] = (uint8_t) v;
}

static inline void unaligned_write_be32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) (v >> 24);
        p[1] = (uint8_t) (v >> 16);
        p[2] = (uint8_t) (v >> 8);
        p[3] = (uint8_t) v;
}

static inline void unaligned_write_be64(uint8_t *p, uint64_t v) {
        unaligned_write_be32(p, (uint32_t) (v >> 32));
        unaligned_write_be32(p + 4, (uint32_t) v);
}
