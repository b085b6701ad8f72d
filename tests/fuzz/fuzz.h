/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What every fuzz target includes. Built with -fsanitize=fuzzer, libFuzzer calls
 * LLVMFuzzerTestOneInput; otherwise fuzz-main.c runs it once per file, so that the seed corpus is
 * also a regression test of the ordinary build. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant aborts, so that libFuzzer keeps the input that broke it. */
#define fuzz_check(condition)                                                   \
        do {                                                                    \
                if (!(condition))                                               \
                        fuzz_fail(#condition, __FILE__, __LINE__);              \
        } while (0)

_Noreturn static inline void fuzz_fail(const char *what, const char *file, int line) {
        fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
        abort();
}

static inline uint64_t fuzz_read_be64(const uint8_t *p) {
        uint64_t v = 0;

        for (int i = 0; i < 8; i++)
                v = v << 8 | p[i];
        return v;
}

static inline void fuzz_write_be64(uint8_t *p, uint64_t v) {
        for (int i = 7; i >= 0; i--, v >>= 8)
                p[i] = (uint8_t) v;
}
