/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for drift: the drift file's one number, what is accepted and what is refused (the
 * file is untrusted input), and that what drift_format() writes reads back. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/drift.h"
#include "unit-test.h"

#define SENTINEL 12345.0

/* Parses len bytes of text (which need not be NUL-terminated) and returns the result. */
static int parse(const char *text, size_t len, double *ret_ppm, const char **ret_error) {
        /* A heap copy of exactly len bytes, so that reading past the end is an ASan finding. */
        char *copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, text, len);
        int r = drift_parse(copy, len, ret_ppm, ret_error);
        free(copy);
        return r;
}

static void assert_accepted(const char *text, size_t len, double expected) {
        double ppm = SENTINEL;
        const char *error = NULL;
        int r = parse(text, len, &ppm, &error);
        if (r != 0) {
                print_error("\"%.*s\" refused: %s\n", (int) len, text, error ? error : "(no text)");
                fail();
        }
        assert_double_near(ppm, expected, 0);
}

/* Refused with -EINVAL and an error text containing what; *ret_ppm untouched. */
static void assert_refused(const char *text, size_t len, const char *what) {
        double ppm = SENTINEL;
        const char *error = NULL;
        int r = parse(text, len, &ppm, &error);
        if (r != -EINVAL) {
                print_error("\"%.*s\": expected -EINVAL, got %d (ppm %g)\n", (int) len, text, r, ppm);
                fail();
        }
        assert_non_null(error);
        if (!strstr(error, what)) {
                print_error("\"%.*s\": error \"%s\" does not say \"%s\"\n", (int) len, text, error, what);
                fail();
        }
        assert_double_near(ppm, SENTINEL, 0);
}

#define ACCEPT(literal, expected) assert_accepted(literal, sizeof(literal) - 1, expected)
#define REFUSE(literal, what) assert_refused(literal, sizeof(literal) - 1, what)

static void test_valid_values_with_whitespace(void **state) {
        ACCEPT("12.345\n", 12.345);
        ACCEPT("12.345", 12.345);
        ACCEPT("-3.5", -3.5);
        ACCEPT("  -3.5 \t\r\n", -3.5);
        ACCEPT("\t7\n\n\n", 7);
        ACCEPT("0", 0);
        ACCEPT("0.000\n", 0);
        ACCEPT("-0.001\r\n", -0.001);
        ACCEPT("1e2\n", 100);
}

static void test_bounds(void **state) {
        ACCEPT("500", 500);
        ACCEPT("-500", -500);
        ACCEPT("500.000\n", 500);
        ACCEPT("499.999", 499.999);
        REFUSE("500.001", "500");
        REFUSE("-500.001", "500");
        REFUSE("-600", "500");
        REFUSE("1e6", "500");
        REFUSE("1e308", "500");
}

static void test_empty(void **state) {
        REFUSE("", "empty");
        REFUSE("\n", "empty");
        REFUSE(" \t\r\n\n ", "empty");
}

static void test_garbage(void **state) {
        REFUSE("garbage", "not a number");
        REFUSE("-", "not a number");
        REFUSE(".", "not a number");
        REFUSE("1.5x", "not a number");
        REFUSE("1.5 2.5\n", "not a number");
        REFUSE("1.5\n2.5\n", "not a number");
        REFUSE("ppm 1.5", "not a number");
        REFUSE("1e999", "not a number"); /* ERANGE */
}

static void test_not_finite(void **state) {
        REFUSE("nan", "finite");
        REFUSE("NaN\n", "finite");
        REFUSE("-nan", "finite");
        REFUSE("inf", "finite");
        REFUSE("-inf", "finite");
        REFUSE("infinity\n", "finite");
        REFUSE("-Infinity", "finite");
}

static void test_embedded_nul(void **state) {
        REFUSE("1.5\0" "9", "not a number");
        REFUSE("1.5\0\n", "not a number");
        REFUSE("\0" "1.5", "not a number");
        REFUSE("1\0" ".5\n", "not a number");
}

static void test_very_long_input(void **state) {
        size_t len = DRIFT_FILE_MAX;
        char *text = malloc(len);
        assert_non_null(text);

        /* All digits: a huge number, or too long to be one; either way refused. */
        memset(text, '1', len);
        assert_refused(text, len, "");

        /* A small number followed by a long tail of zeros after the point: refused for its
         * length, not read past. */
        memset(text, '0', len);
        text[1] = '.';
        assert_refused(text, len, "");

        /* Whitespace then a number is fine only while short; a long run must not crash. */
        memset(text, ' ', len);
        memcpy(text + len - 4, "1.5\n", 4);
        double ppm = SENTINEL;
        int r = parse(text, len, &ppm, NULL);
        assert_true(r == 0 || r == -EINVAL);
        if (r == 0)
                assert_double_near(ppm, 1.5, 0);
        free(text);
}

static void test_error_text_is_optional(void **state) {
        double ppm = SENTINEL;
        assert_int_equal(drift_parse("x", 1, &ppm, NULL), -EINVAL);
        assert_double_near(ppm, SENTINEL, 0);
        assert_int_equal(drift_parse("2.5", 3, &ppm, NULL), 0);
        assert_double_near(ppm, 2.5, 0);
}

static void test_format(void **state) {
        char buf[64];

        assert_int_equal(drift_format(12.3456, buf, sizeof(buf)), 7);
        assert_string_equal(buf, "12.346\n");
        assert_int_equal(drift_format(-500, buf, sizeof(buf)), 9);
        assert_string_equal(buf, "-500.000\n");
        assert_int_equal(drift_format(0, buf, sizeof(buf)), 6);
        assert_string_equal(buf, "0.000\n");
        /* Not a number is written as 0, so that the file always reads back. */
        drift_format(NAN, buf, sizeof(buf));
        assert_string_equal(buf, "0.000\n");
        drift_format(INFINITY, buf, sizeof(buf));
        assert_string_equal(buf, "0.000\n");
}

static void test_format_round_trip(void **state) {
        char buf[64];

        for (double ppm = -500; ppm <= 500; ppm += 0.0137) {
                size_t len = drift_format(ppm, buf, sizeof(buf));
                assert_int_equal(len, strlen(buf));
                assert_int_equal(buf[len - 1], '\n');
                double again = SENTINEL;
                assert_int_equal(drift_parse(buf, len, &again, NULL), 0);
                assert_double_near(again, ppm, 0.0005 + 1e-9);
        }
        /* The extremes. */
        double extremes[] = { -500, 500, -0.0, 1e-9, -499.9999 };
        for (size_t i = 0; i < ELEMENTSOF(extremes); i++) {
                size_t len = drift_format(extremes[i], buf, sizeof(buf));
                double again = SENTINEL;
                assert_int_equal(drift_parse(buf, len, &again, NULL), 0);
                assert_double_near(again, extremes[i], 0.0005 + 1e-9);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid_values_with_whitespace),
                cmocka_unit_test(test_bounds),
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_garbage),
                cmocka_unit_test(test_not_finite),
                cmocka_unit_test(test_embedded_nul),
                cmocka_unit_test(test_very_long_input),
                cmocka_unit_test(test_error_text_is_optional),
                cmocka_unit_test(test_format),
                cmocka_unit_test(test_format_round_trip),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
