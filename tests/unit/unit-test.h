/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What every unit test includes: cmocka, and the signed and floating-point assertions that
 * cmocka 1.1 lacks (its assert_in_range compares unsigned, its float assertion is single precision). */

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define ELEMENTSOF(array) (sizeof(array) / sizeof((array)[0]))

/* |a - b| <= tolerance; a tolerance of 0 asks for exact equality. NaN equals nothing. */
#define assert_double_near(a, b, tolerance) \
        assert_double_near_at((a), (b), (tolerance), __FILE__, __LINE__)

static inline void assert_double_near_at(double a, double b, double tolerance, const char *file, int line) {
        if (fabs(a - b) <= tolerance)
                return;
        print_error("%.17g != %.17g (tolerance %g)\n", a, b, tolerance);
        _fail(file, line);
}

/* minimum <= value <= maximum, compared as signed 64-bit integers. */
#define assert_int64_between(value, minimum, maximum) \
        assert_int64_between_at((value), (minimum), (maximum), __FILE__, __LINE__)

static inline void assert_int64_between_at(int64_t value, int64_t minimum, int64_t maximum,
                                           const char *file, int line) {
        if (value >= minimum && value <= maximum)
                return;
        print_error("%lld is not within [%lld, %lld]\n",
                    (long long) value, (long long) minimum, (long long) maximum);
        _fail(file, line);
}
