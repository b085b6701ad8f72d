/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes the PHC tracker with whatever a driver could return for PTP_SYS_OFFSET*: batches of
 * (system before, PHC, system after) readings. Input: a batch length byte (1-25, as the kernel's
 * n_samples), then that many readings of three big-endian 64-bit numbers; again until the input
 * ends. After each batch a timestamp just past the batch's first PHC reading is converted: a
 * conversion gives a finite, non-negative bound, and a rejected batch leaves the tracker as it
 * was. */

#include <math.h>
#include <string.h>

#include "core/phc.h"
#include "fuzz.h"

#define READING_SIZE 24
#define MAX_BATCH 25

static size_t read_batch(const uint8_t *data, size_t size, struct phc_reading *batch) {
        size_t n = data[0] % MAX_BATCH + 1, i;
        data++, size--;
        for (i = 0; i < n && size >= READING_SIZE; i++, data += READING_SIZE, size -= READING_SIZE)
                batch[i] = (struct phc_reading) {
                        .sys_before_ns = (int64_t) fuzz_read_be64(data),
                        .phc_ns = (int64_t) fuzz_read_be64(data + 8),
                        .sys_after_ns = (int64_t) fuzz_read_be64(data + 16),
                };
        return i;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct phc_tracker t, before;
        struct phc_reading batch[MAX_BATCH];

        phc_tracker_init(&t);
        while (size > 0) {
                size_t n = read_batch(data, size, batch);
                size_t used = 1 + n * READING_SIZE;
                data += used, size -= used;

                memcpy(&before, &t, sizeof(t));
                enum phc_add_result r = phc_tracker_add(&t, batch, n);
                if (r == PHC_NO_VALID_READING || r == PHC_OUTLIER) {
                        before.rejected_in_row = t.rejected_in_row;
                        fuzz_check(memcmp(&before, &t, sizeof(t)) == 0);
                }
                fuzz_check(t.n_samples <= PHC_MAX_SAMPLES);

                int64_t sys, at;
                double bound;
                if (n > 0 && !__builtin_add_overflow(batch[0].phc_ns, 1000, &at) &&
                    phc_tracker_convert(&t, at, &sys, &bound))
                        fuzz_check(isfinite(bound) && bound >= 0);
        }
        return 0;
}
