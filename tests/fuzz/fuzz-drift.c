/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes the drift file parser: whatever it accepts is a finite frequency within ±500 ppm that
 * its own writer reproduces. */

#include <math.h>

#include "core/drift.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        double ppm, again;
        char text[64];

        if (drift_parse((const char *) data, size, &ppm, NULL) < 0)
                return 0;
        fuzz_check(isfinite(ppm) && fabs(ppm) <= DRIFT_MAX_PPM);
        size_t n = drift_format(ppm, text, sizeof(text));
        fuzz_check(n > 0 && n < sizeof(text));
        fuzz_check(drift_parse(text, n, &again, NULL) == 0 && fabs(again - ppm) <= 0.0005 + 1e-9);
        return 0;
}
