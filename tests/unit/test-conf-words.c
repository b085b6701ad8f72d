/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for conf-words, the tokenizer of the ntp.conf dialect: blanks, comments, quotes and
 * the empty word, continuation lines (and their refusal), CRLF, the line numbers of a file, each
 * error with its line and column (NUL, control characters, an unterminated quote, too many words,
 * a word, a line or a continued line too long), a value that is not a file's line (blanks alone
 * separate its words), and the text of the errors. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf-words.h"
#include "unit-test.h"

static const struct conf_words_syntax file_syntax = { .words_max = 32, .line_max = 1023, .continuation = true };
static const struct conf_words_syntax no_continuation = { .words_max = 32, .line_max = 1023 };
static const struct conf_words_syntax value_syntax = { .words_max = 32 };

static struct conf_words words;
static struct conf_words_error error;

/* The words, joined with '|' to compare them at once: "a|b c|" for a, "b c" and "". */
static const char *joined(const struct conf_words *w) {
        static char buf[CONF_WORDS_TEXT_MAX * 2];
        size_t used = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < w->n; i++)
                used += (size_t) snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? "|" : "", w->word[i]);
        return buf;
}

/* Reads the text with syntax, and expects these lines: "LINE:WORDS" each, as joined() writes them. */
static void assert_lines(const char *text, size_t len, const struct conf_words_syntax *syntax,
                         const char *const *expected, size_t n) {
        struct conf_words_reader reader;
        char got[CONF_WORDS_TEXT_MAX * 2 + 16];

        conf_words_reader_init(&reader, text, len, syntax);
        for (size_t i = 0; i < n; i++) {
                int r = conf_words_read(&reader, &words, &error);
                if (r != 1) {
                        print_error("line %zu: got %d, expected \"%s\"\n", i + 1, r, expected[i]);
                        fail();
                }
                snprintf(got, sizeof(got), "%u:%s", words.line, joined(&words));
                assert_string_equal(got, expected[i]);
        }
        assert_int_equal(conf_words_read(&reader, &words, &error), 0);
        assert_int_equal(conf_words_read(&reader, &words, &error), 0);
}

#define assert_file(text, syntax, ...)                                                                   \
        do {                                                                                             \
                static const char *const expected_[] = { __VA_ARGS__ };                                  \
                assert_lines((text), strlen(text), (syntax), expected_, ELEMENTSOF(expected_));          \
        } while (0)

/* Reads the text until the error, which must be this problem at LINE:COLUMN; the reader is then at
 * its end. */
static void assert_read_error_len(const char *text, size_t len, const struct conf_words_syntax *syntax,
                                  enum conf_words_problem problem, unsigned line, unsigned column) {
        struct conf_words_reader reader;
        int r;

        conf_words_reader_init(&reader, text, len, syntax);
        while ((r = conf_words_read(&reader, &words, &error)) > 0)
                ;
        if (r != -EINVAL) {
                print_error("\"%.*s\": got %d, expected -EINVAL\n", (int) (len > 80 ? 80 : len), text, r);
                fail();
        }
        assert_int_equal(error.problem, problem);
        assert_int_equal(error.line, line);
        assert_int_equal(error.column, column);
        assert_int_equal(conf_words_read(&reader, &words, &error), 0);
}

static void assert_read_error(const char *text, const struct conf_words_syntax *syntax,
                              enum conf_words_problem problem, unsigned line, unsigned column) {
        assert_read_error_len(text, strlen(text), syntax, problem, line, column);
}

static void assert_split(const char *text, const struct conf_words_syntax *syntax, const char *expected) {
        if (conf_words_split(text, syntax, &words, &error) != 0) {
                print_error("\"%s\" refused: column %u: %s\n", text, error.column,
                            conf_words_problem_to_string(error.problem));
                fail();
        }
        assert_string_equal(joined(&words), expected);
        assert_int_equal(words.line, 1);
}

static void assert_split_error(const char *text, const struct conf_words_syntax *syntax,
                               enum conf_words_problem problem, unsigned column) {
        assert_int_equal(conf_words_split(text, syntax, &words, &error), -EINVAL);
        assert_int_equal(error.problem, problem);
        assert_int_equal(error.line, 1);
        assert_int_equal(error.column, column);
}

/* ---- words, blanks, comments ---- */

static void test_blanks(void **state) {
        assert_file("server  ntp.example.org\tiburst\n", &file_syntax, "1:server|ntp.example.org|iburst");
        assert_file(" \t a \r\v\f b \t", &file_syntax, "1:a|b");
        assert_lines("", 0, &file_syntax, NULL, 0);
        assert_file("\n", &file_syntax, "1:");
        assert_file("a\n\n \t\nb", &file_syntax, "1:a", "2:", "3:", "4:b");
}

static void test_crlf(void **state) {
        assert_file("a b\r\n\r\nc\r\n", &file_syntax, "1:a|b", "2:", "3:c");
        /* A CR elsewhere is a blank too. */
        assert_file("a\rb\n", &file_syntax, "1:a|b");
}

static void test_comments(void **state) {
        assert_file("# only a comment\n"
                    "a b # and a comment\n"
                    "c#right after a word\n"
                    "   # indented\n"
                    "d \"#not a comment\" \"x\"#but this is\n",
                    &file_syntax, "1:", "2:a|b", "3:c", "4:", "5:d|#not a comment|x");
        /* Anything but NUL goes in a comment: control characters, non-UTF-8, quotes. */
        assert_file("a # \x01\x7f caf\xe9 \"\n", &file_syntax, "1:a");
}

static void test_other_bytes_are_words(void **state) {
        assert_file("caf\xc3\xa9 a\\b a\"b\" x=y\n", &file_syntax, "1:caf\xc3\xa9|a\\b|a\"b\"|x=y");
}

/* ---- quotes ---- */

static void test_quotes(void **state) {
        assert_file("driftfile \"/var/lib/my drift\"\n", &file_syntax, "1:driftfile|/var/lib/my drift");
        assert_file("a \"\" b\n", &file_syntax, "1:a||b");
        struct conf_words_reader reader;
        conf_words_reader_init(&reader, "\"\"\n", 3, &file_syntax);
        assert_int_equal(conf_words_read(&reader, &words, &error), 1);
        assert_int_equal(words.n, 1);
        assert_string_equal(words.word[0], "");
        /* The next word starts right after the closing quote, as in ntpd. */
        assert_file("\"a\"b \"c\"\"d\"\n", &file_syntax, "1:a|b|c|d");
        /* Blanks, '#' and a backslash in quotes are the word's. */
        assert_file("\"a\tb # c \\\"\n", &file_syntax, "1:a\tb # c \\");
}

static void test_unterminated_quote(void **state) {
        assert_read_error("a\nb \"c d\n", &file_syntax, CONF_WORDS_UNTERMINATED_QUOTE, 2, 3);
        assert_read_error("\"", &file_syntax, CONF_WORDS_UNTERMINATED_QUOTE, 1, 1);
        /* A quote does not run on into the next line, continued or not. */
        assert_read_error("a \"b \\\nc\"\n", &file_syntax, CONF_WORDS_UNTERMINATED_QUOTE, 1, 3);
}

/* ---- continuation lines ---- */

static void test_continuation(void **state) {
        assert_file("restrict default kod \\\n"
                    "         nomodify \\\n"
                    "         notrap\n"
                    "server a\n",
                    &file_syntax, "1:restrict|default|kod|nomodify|notrap", "4:server|a");
        /* The backslash separates words, blanks and a CR may follow it. */
        assert_file("a\\\nb\n", &file_syntax, "1:a|b");
        assert_file("a \\  \t\r\nb\r\n", &file_syntax, "1:a|b");
        /* What continues may be blank, or a comment. */
        assert_file("a \\\n\nb\n", &file_syntax, "1:a", "3:b");
        assert_file("a \\\n# comment \\\nb\n", &file_syntax, "1:a", "3:b");
        /* A backslash in a comment, in quotes or within a line is no continuation. */
        assert_file("a # b \\\nc\n", &file_syntax, "1:a", "2:c");
        assert_file("a \"b\\\"\nc\n", &file_syntax, "1:a|b\\", "2:c");
        assert_file("a\\b \\c\n", &file_syntax, "1:a\\b|\\c");
}

static void test_nothing_to_continue(void **state) {
        assert_read_error("a \\", &file_syntax, CONF_WORDS_NOTHING_TO_CONTINUE, 1, 3);
        assert_read_error("a\nb \\\n", &file_syntax, CONF_WORDS_NOTHING_TO_CONTINUE, 2, 3);
        assert_read_error("a \\\nb \\\n", &file_syntax, CONF_WORDS_NOTHING_TO_CONTINUE, 2, 3);
}

static void test_continuation_refused(void **state) {
        assert_read_error("a\nserver a.example.org \\\n iburst\n", &no_continuation, CONF_WORDS_TRAILING_BACKSLASH,
                          2, 22);
        assert_read_error("a\\", &no_continuation, CONF_WORDS_TRAILING_BACKSLASH, 1, 2);
        assert_file("a # \\\nb \"\\\"\n", &no_continuation, "1:a", "2:b|\\");
}

/* ---- errors and their columns ---- */

static void test_nul(void **state) {
        static const char in_word[] = "a\nbc\0d\n";
        assert_read_error_len(in_word, sizeof(in_word) - 1, &file_syntax, CONF_WORDS_NUL, 2, 3);
        static const char in_comment[] = "a # \0\n";
        assert_read_error_len(in_comment, sizeof(in_comment) - 1, &file_syntax, CONF_WORDS_NUL, 1, 5);
        static const char alone[] = "\n\n\0";
        assert_read_error_len(alone, sizeof(alone) - 1, &file_syntax, CONF_WORDS_NUL, 3, 1);
        /* Only len bytes are read. */
        assert_lines(in_word, 3, &file_syntax, (const char *const[]) { "1:a", "2:b" }, 2);
}

static void test_control_characters(void **state) {
        assert_read_error("a\nserver a.example.org\x01\n", &file_syntax, CONF_WORDS_CONTROL_CHARACTER, 2, 21);
        assert_int_equal(error.character, 0x01);
        assert_read_error("\"a\x1b\"", &file_syntax, CONF_WORDS_CONTROL_CHARACTER, 1, 3);
        assert_int_equal(error.character, 0x1b);
        assert_read_error("a \x7f", &file_syntax, CONF_WORDS_CONTROL_CHARACTER, 1, 3);
        assert_int_equal(error.character, 0x7f);
        /* Kept when the caller says so. */
        struct conf_words_syntax kept = file_syntax;
        kept.control_characters = true;
        assert_file("fr\x01ob\x7f now\n", &kept, "1:fr\x01ob\x7f|now");
}

static void test_too_many_words(void **state) {
        struct conf_words_syntax three = file_syntax;
        three.words_max = 3;
        assert_file("a b c\n", &three, "1:a|b|c");
        assert_read_error("a b c\nd e f  \"g\"\n", &three, CONF_WORDS_TOO_MANY_WORDS, 2, 8);
        assert_int_equal(error.limit, 3);
        /* Across continued lines too. */
        assert_read_error("a b \\\n  c d\n", &three, CONF_WORDS_TOO_MANY_WORDS, 2, 5);

        /* 0 and beyond CONF_WORDS_MAX mean CONF_WORDS_MAX. */
        char text[CONF_WORDS_MAX * 2 + 8] = "";
        for (int i = 0; i < CONF_WORDS_MAX; i++)
                strcat(text, "a ");
        struct conf_words_syntax most = { .words_max = 0 };
        assert_int_equal(conf_words_split(text, &most, &words, &error), 0);
        assert_int_equal(words.n, CONF_WORDS_MAX);
        strcat(text, "b");
        most.words_max = CONF_WORDS_MAX + 1;
        assert_split_error(text, &most, CONF_WORDS_TOO_MANY_WORDS, CONF_WORDS_MAX * 2 + 1);
}

static void test_line_too_long(void **state) {
        struct conf_words_syntax ten = file_syntax;
        ten.line_max = 10;
        assert_file("0123456789\n0123456789\r\n# 34567 9", &ten, "1:0123456789", "2:0123456789", "3:");
        assert_read_error("a\n# 345678901\n", &ten, CONF_WORDS_LINE_TOO_LONG, 2, 11);
        assert_int_equal(error.limit, 10);
        assert_read_error("0123456789\r\r\n", &ten, CONF_WORDS_LINE_TOO_LONG, 1, 11);
}

/* "x " and a word of n characters, in quotes or not, and " y". */
static char *text_with_word(size_t n, bool quoted) {
        char *text = malloc(n + 16);
        assert_non_null(text);
        strcpy(text, quoted ? "x \"" : "x ");
        size_t len = strlen(text);
        memset(text + len, 'a', n);
        strcpy(text + len + n, quoted ? "\" y" : " y");
        return text;
}

static void test_word_too_long(void **state) {
        static const struct conf_words_syntax no_line_max = { .words_max = 32 };

        for (int quoted = 0; quoted <= 1; quoted++) {
                char *text = text_with_word(CONF_WORD_MAX, quoted);
                struct conf_words_reader reader;
                conf_words_reader_init(&reader, text, strlen(text), &no_line_max);
                assert_int_equal(conf_words_read(&reader, &words, &error), 1);
                assert_int_equal(words.n, 3);
                assert_int_equal(strlen(words.word[1]), CONF_WORD_MAX);
                free(text);

                /* Named where it starts: at its opening quote, if any. */
                text = text_with_word(CONF_WORD_MAX + 1, quoted);
                assert_read_error(text, &no_line_max, CONF_WORDS_WORD_TOO_LONG, 1, 3);
                assert_int_equal(error.limit, CONF_WORD_MAX);
                free(text);
        }
        /* A value's words too. */
        char *text = text_with_word(CONF_WORD_MAX + 1, false);
        assert_split_error(text, &value_syntax, CONF_WORDS_WORD_TOO_LONG, 3);
        free(text);
}

/* Lines of a 1000-character word each, the first n_continued of them ending in a backslash. */
static char *continued_lines(int n_lines, int n_continued) {
        char *text = malloc((size_t) n_lines * 1004 + 1);
        assert_non_null(text);
        text[0] = '\0';
        for (int i = 0; i < n_lines; i++) {
                size_t len = strlen(text);
                memset(text + len, 'a' + i, 1000);
                strcpy(text + len + 1000, i < n_continued ? " \\\n" : "\n");
        }
        return text;
}

static void test_continued_line_too_long(void **state) {
        /* Four such words fit the CONF_WORDS_TEXT_MAX bytes of a line's words, five do not. */
        char *text = continued_lines(5, 3);
        struct conf_words_reader reader;
        conf_words_reader_init(&reader, text, strlen(text), &file_syntax);
        assert_int_equal(conf_words_read(&reader, &words, &error), 1);
        assert_int_equal(words.n, 4);
        assert_int_equal(conf_words_read(&reader, &words, &error), 1);
        assert_int_equal(words.line, 5);
        free(text);

        text = continued_lines(5, 4);
        assert_read_error(text, &file_syntax, CONF_WORDS_TEXT_TOO_LONG, 5, 1);
        assert_int_equal(error.limit, CONF_WORDS_TEXT_MAX);
        free(text);
}

/* ---- a value that is not a file's line ---- */

static void test_value(void **state) {
        assert_split("  server a.example.org\tiburst\v\f\r", &value_syntax, "server|a.example.org|iburst");
        /* Quotes, '#' and a backslash are ordinary there. */
        assert_split("server \"a.example.org\" \"b c\" \"", &value_syntax, "server|\"a.example.org\"|\"b|c\"|\"");
        assert_split("server a.example.org # x", &value_syntax, "server|a.example.org|#|x");
        assert_split("a \\", &value_syntax, "a|\\");
        assert_split("", &value_syntax, "");
        assert_split("\r\t", &value_syntax, "");
        assert_int_equal(conf_words_split(NULL, &value_syntax, &words, &error), 0);
        assert_int_equal(words.n, 0);
        /* A line feed is a control character: a value is one line. */
        assert_split_error("default\nkod", &value_syntax, CONF_WORDS_CONTROL_CHARACTER, 8);
        assert_int_equal(error.character, '\n');
        struct conf_words_syntax kept = value_syntax;
        kept.control_characters = true;
        assert_split("default\nkod \x01", &kept, "default\nkod|\x01");
}

static void test_error_is_optional(void **state) {
        struct conf_words_reader reader;
        conf_words_reader_init(&reader, "\"", 1, &file_syntax);
        assert_int_equal(conf_words_read(&reader, &words, NULL), -EINVAL);
        assert_int_equal(conf_words_split("a\x01", &value_syntax, &words, NULL), -EINVAL);
        conf_words_reader_init(&reader, NULL, 5, &file_syntax);
        assert_int_equal(conf_words_read(&reader, &words, NULL), 0);
}

/* ---- the text of errors ---- */

static void assert_format(enum conf_words_problem problem, unsigned column, size_t limit, unsigned char ch,
                          const char *expected) {
        struct conf_words_error e = {
                .problem = problem, .line = 1, .column = column, .limit = limit, .character = ch,
        };
        char buf[128];
        conf_words_error_format(&e, buf, sizeof(buf));
        assert_string_equal(buf, expected);
}

static void test_error_texts(void **state) {
        assert_format(CONF_WORDS_NUL, 4, 0, 0, "NUL byte in line (column 4)");
        assert_format(CONF_WORDS_CONTROL_CHARACTER, 2, 0, 0x1b, "control character 0x1b (column 2)");
        assert_format(CONF_WORDS_UNTERMINATED_QUOTE, 9, 0, 0, "unterminated quoted string (column 9)");
        assert_format(CONF_WORDS_TOO_MANY_WORDS, 70, 32, 0, "too many words, more than 32 (column 70)");
        assert_format(CONF_WORDS_WORD_TOO_LONG, 1, 1023, 0, "word longer than 1023 characters (column 1)");
        assert_format(CONF_WORDS_LINE_TOO_LONG, 1024, 1023, 0, "line longer than 1023 characters (column 1024)");
        assert_format(CONF_WORDS_TEXT_TOO_LONG, 1, 4096, 0, "words too long in all, more than 4096 bytes (column 1)");
        assert_format(CONF_WORDS_TRAILING_BACKSLASH, 3, 0, 0,
                      "line ends in a backslash, and lines do not continue here (column 3)");
        assert_format(CONF_WORDS_NOTHING_TO_CONTINUE, 3, 0, 0,
                      "the last line ends in a backslash, with no line to continue (column 3)");
        assert_string_equal(conf_words_problem_to_string(CONF_WORDS_TOO_MANY_WORDS), "too many words");
        assert_string_equal(conf_words_problem_to_string((enum conf_words_problem) 999), "malformed line");

        /* A small buffer gets a NUL-terminated start. */
        struct conf_words_error e = { .problem = CONF_WORDS_UNTERMINATED_QUOTE, .line = 1, .column = 1 };
        char small[8];
        conf_words_error_format(&e, small, sizeof(small));
        assert_string_equal(small, "untermi");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_blanks),
                cmocka_unit_test(test_crlf),
                cmocka_unit_test(test_comments),
                cmocka_unit_test(test_other_bytes_are_words),
                cmocka_unit_test(test_quotes),
                cmocka_unit_test(test_unterminated_quote),
                cmocka_unit_test(test_continuation),
                cmocka_unit_test(test_nothing_to_continue),
                cmocka_unit_test(test_continuation_refused),
                cmocka_unit_test(test_nul),
                cmocka_unit_test(test_control_characters),
                cmocka_unit_test(test_too_many_words),
                cmocka_unit_test(test_line_too_long),
                cmocka_unit_test(test_word_too_long),
                cmocka_unit_test(test_continued_line_too_long),
                cmocka_unit_test(test_value),
                cmocka_unit_test(test_error_is_optional),
                cmocka_unit_test(test_error_texts),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
