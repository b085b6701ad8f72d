/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drift.h"

int drift_parse(const char *text, size_t len, double *ret_ppm, const char **ret_error) {
        char buf[64];
        const char *dummy;
        ret_error = ret_error ? ret_error : &dummy;

        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\r'))
                len--;
        if (len == 0) {
                *ret_error = "empty";
                return -EINVAL;
        }
        if (len >= sizeof(buf) || memchr(text, '\0', len)) {
                *ret_error = "not a number";
                return -EINVAL;
        }
        memcpy(buf, text, len);
        buf[len] = '\0';

        char *end;
        errno = 0;
        double v = strtod(buf, &end);
        if (errno != 0 || end == buf || *end != '\0') {
                *ret_error = "not a number";
                return -EINVAL;
        }
        if (!isfinite(v)) {
                *ret_error = "not a finite number";
                return -EINVAL;
        }
        if (fabs(v) > DRIFT_MAX_PPM) {
                *ret_error = "beyond ±500 ppm";
                return -EINVAL;
        }
        *ret_ppm = v;
        return 0;
}

size_t drift_format(double ppm, char *buf, size_t size) {
        int n = snprintf(buf, size, "%.3f\n", isfinite(ppm) ? ppm : 0.0);
        if (n < 0 || size == 0)
                return 0;
        return (size_t) n < size ? (size_t) n : size - 1;
}
