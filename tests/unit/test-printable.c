/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for printable() (src/core/printable.c): what reaches a message or a terminal carries
 * no control character, is cut where asked, and never overruns the buffer. */

#include <string.h>

#include "core/printable.h"
#include "unit-test.h"

static void assert_printable(const char *text, size_t max_chars, enum printable_flags flags, size_t size,
                             const char *expected) {
        char buf[256];
        memset(buf, 'Z', sizeof(buf));
        assert_true(size <= sizeof(buf) - 1);
        assert_ptr_equal(printable(text, max_chars, flags, buf, size), buf);
        assert_string_equal(buf, expected);
        assert_int_equal(buf[size], 'Z'); /* nothing written past size */
}

static void test_plain_text_unchanged(void **state) {
        assert_printable("192.0.2.0/24 kod", 40, 0, 100, "192.0.2.0/24 kod");
        assert_printable("", 40, 0, 10, "");
        assert_printable(NULL, 40, 0, 10, "");
}

static void test_control_characters_escaped(void **state) {
        assert_printable("noquery\x1b[2J", 40, 0, 100, "noquery\\x1b[2J");
        assert_printable("a\r\nb\x7f", 40, 0, 100, "a\\x0d\\x0ab\\x7f");
        assert_printable("a\\x1b", 40, 0, 100, "a\\x1b");
        assert_printable("a\\x1b", 40, PRINTABLE_ESCAPE_BACKSLASH, 100, "a\\x5cx1b");
        assert_printable("caf\xc3\xa9", 40, 0, 100, "caf\xc3\xa9");
        assert_printable("caf\xc3\xa9", 40, PRINTABLE_ESCAPE_NON_ASCII, 100, "caf\\xc3\\xa9");
}

static void test_cut(void **state) {
        assert_printable("abcdefgh", 4, 0, 100, "abcd...");
        assert_printable("abcd", 4, 0, 100, "abcd");
        /* The buffer cuts earlier than max_chars, with room kept for "..." */
        assert_printable("abcdefgh", 40, 0, 8, "abcd...");
        assert_printable("\x01\x02\x03", 40, 0, 9, "\\x01...");
        assert_printable("abc", 40, 0, 1, "");
}

static void test_worst_case_fits(void **state) {
        char text[41], buf[40 * 4 + 4];
        memset(text, 0x01, 40);
        text[40] = '\0';
        printable(text, 40, 0, buf, sizeof(buf));
        assert_int_equal(strlen(buf), 40 * 4);
        char longer[42];
        memset(longer, 0x01, 41);
        longer[41] = '\0';
        printable(longer, 40, 0, buf, sizeof(buf));
        assert_int_equal(strlen(buf), 40 * 4 + 3);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plain_text_unchanged),
                cmocka_unit_test(test_control_characters_escaped),
                cmocka_unit_test(test_cut),
                cmocka_unit_test(test_worst_case_fits),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
