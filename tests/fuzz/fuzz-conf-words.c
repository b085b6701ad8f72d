/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes the tokenizer of the ntp.conf dialect (conf-words) with any text. The first byte chooses
 * the syntax (continuation lines, control characters kept, the most words), the second the longest
 * line; the rest is a file, read line by line, and its first line is also split as a value.
 * Besides the sanitizers it checks what the tokenizer promises: words within their limits, no
 * control character unless kept, line numbers that grow and stay within the text, errors with a
 * line and column inside it, and words that, quoted again, read back as themselves. */

#include <errno.h>
#include <string.h>

#include "core/conf-words.h"
#include "fuzz.h"

static struct conf_words words, again;

static bool is_control(unsigned char ch) {
        return (ch < 0x20 && !strchr(" \t\r\v\f", ch)) || ch == 0x7f;
}

static void check_words(const struct conf_words *w, const struct conf_words_syntax *syntax) {
        size_t used = 0;

        fuzz_check(w->n <= (syntax->words_max ? syntax->words_max : CONF_WORDS_MAX));
        for (size_t i = 0; i < w->n; i++) {
                size_t len = strlen(w->word[i]);
                fuzz_check(w->word[i] >= w->text && w->word[i] + len < w->text + sizeof(w->text));
                fuzz_check(len <= CONF_WORD_MAX);
                for (size_t k = 0; k < len && !syntax->control_characters; k++)
                        fuzz_check(!is_control((unsigned char) w->word[i][k]));
                used += len + 1;
        }
        fuzz_check(used <= sizeof(w->text));
}

/* Each word in quotes, on one line of a file: the same words again, unless a word holds a quote. */
static void check_quoted_again(const struct conf_words *w, const struct conf_words_syntax *syntax) {
        static char text[CONF_WORDS_TEXT_MAX * 2];
        struct conf_words_syntax one_line = { .words_max = syntax->words_max,
                                              .control_characters = syntax->control_characters };
        struct conf_words_reader reader;
        size_t used = 0;

        if (w->n == 0)
                return;
        for (size_t i = 0; i < w->n; i++) {
                if (strchr(w->word[i], '"') || strchr(w->word[i], '\n'))
                        return;
                used += (size_t) snprintf(text + used, sizeof(text) - used, " \"%s\"", w->word[i]);
        }
        fuzz_check(used < sizeof(text));
        conf_words_reader_init(&reader, text, used, &one_line);
        fuzz_check(conf_words_read(&reader, &again, NULL) == 1);
        fuzz_check(again.n == w->n);
        for (size_t i = 0; i < w->n; i++)
                fuzz_check(strcmp(again.word[i], w->word[i]) == 0);
}

/* A value's words hold no blank. */
static void check_value_words(const struct conf_words *w) {
        for (size_t i = 0; i < w->n; i++)
                fuzz_check(!strpbrk(w->word[i], " \t\r\v\f"));
}

static unsigned count_lines(const char *text, size_t len) {
        unsigned n = 1;
        for (const char *p = text; (p = memchr(p, '\n', len - (size_t) (p - text))); p++)
                n++;
        return n;
}

static void read_file(const char *text, size_t len, const struct conf_words_syntax *syntax) {
        struct conf_words_reader reader;
        struct conf_words_error error = { 0 };
        unsigned last_line = 0, n_lines = count_lines(text, len);
        int r;

        conf_words_reader_init(&reader, text, len, syntax);
        while ((r = conf_words_read(&reader, &words, &error)) > 0) {
                fuzz_check(words.line > last_line && words.line <= n_lines);
                last_line = words.line;
                check_words(&words, syntax);
                check_quoted_again(&words, syntax);
        }
        if (r < 0) {
                fuzz_check(r == -EINVAL);
                fuzz_check(error.line > last_line && error.line <= n_lines && error.column >= 1);
                fuzz_check(strcmp(conf_words_problem_to_string(error.problem), "malformed line") != 0);
        }
        fuzz_check(conf_words_read(&reader, &words, &error) == 0);
}

/* The text up to its first line end or NUL, as one value. */
static void split_value(const char *text, size_t len, const struct conf_words_syntax *syntax) {
        static char value[CONF_WORDS_TEXT_MAX];
        struct conf_words_error error;
        size_t n = 0;

        while (n < len && n < sizeof(value) - 1 && text[n] != '\n' && text[n] != '\0')
                n++;
        memcpy(value, text, n);
        value[n] = '\0';
        if (conf_words_split(value, syntax, &words, &error) == 0) {
                check_words(&words, syntax);
                check_value_words(&words);
                check_quoted_again(&words, syntax);
        } else
                fuzz_check(error.line == 1 && error.column >= 1 && error.column <= n + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 2)
                return 0;
        struct conf_words_syntax syntax = {
                .continuation = data[0] & 1,
                .control_characters = data[0] & 2,
                .words_max = data[0] >> 2,    /* 0: CONF_WORDS_MAX */
                .line_max = (size_t) data[1] * 8,
        };
        const char *text = (const char *) data + 2;
        read_file(text, size - 2, &syntax);
        split_value(text, size - 2, &syntax);
        return 0;
}
