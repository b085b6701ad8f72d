/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The words of the ntp.conf dialect. See conf-words.h. */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "conf-words.h"

/* The words of one line being collected, and where an error goes. */
struct scanner {
        struct conf_words *words;
        size_t words_max;
        bool control_characters;
        bool file;                    /* a line of a file: quotes, comments, a backslash at its end */
        bool continuation;
        size_t backslash;             /* where the last line asked for the next one */
        size_t used;                  /* bytes of words->text taken */
        unsigned line;                /* the line being scanned */
        struct conf_words_error *error;
};

static struct scanner scanner_start(const struct conf_words_syntax *syntax, struct conf_words *words, bool file,
                                    struct conf_words_error *error) {
        size_t words_max = syntax->words_max;
        if (words_max == 0 || words_max > CONF_WORDS_MAX)
                words_max = CONF_WORDS_MAX;
        words->n = 0;
        return (struct scanner) {
                .words = words,
                .words_max = words_max,
                .control_characters = syntax->control_characters,
                .file = file,
                .continuation = syntax->continuation,
                .error = error,
        };
}

static unsigned column_of(size_t index) {
        return index < UINT_MAX ? (unsigned) index + 1 : UINT_MAX;
}

static int fail(const struct scanner *s, enum conf_words_problem problem, size_t index, size_t limit) {
        if (s->error)
                *s->error = (struct conf_words_error) {
                        .problem = problem,
                        .line = s->line,
                        .column = column_of(index),
                        .limit = limit,
                };
        return -EINVAL;
}

static int fail_control(const struct scanner *s, size_t index, char ch) {
        fail(s, CONF_WORDS_CONTROL_CHARACTER, index, 0);
        if (s->error)
                s->error->character = (unsigned char) ch;
        return -EINVAL;
}

static bool is_blank(char ch) {
        return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

static bool is_control(char ch) {
        unsigned char u = (unsigned char) ch;
        return (u < 0x20 && !is_blank(ch)) || u == 0x7f;
}

static size_t skip_blanks(const char *line, size_t len, size_t i) {
        while (i < len && is_blank(line[i]))
                i++;
        return i;
}

/* A backslash with nothing but blanks after it, outside quotes and comments. */
static bool is_continuation(const struct scanner *s, const char *line, size_t len, size_t i) {
        return s->file && line[i] == '\\' && skip_blanks(line, len, i + 1) == len;
}

/* The word line[start..start+len) (its quotes left out), which begins at word_start. */
static int add_word(struct scanner *s, const char *line, size_t word_start, size_t start, size_t len) {
        struct conf_words *w = s->words;

        if (w->n >= s->words_max)
                return fail(s, CONF_WORDS_TOO_MANY_WORDS, word_start, s->words_max);
        for (size_t i = start; !s->control_characters && i < start + len; i++)
                if (is_control(line[i]))
                        return fail_control(s, i, line[i]);
        if (len > CONF_WORD_MAX)
                return fail(s, CONF_WORDS_WORD_TOO_LONG, word_start, CONF_WORD_MAX);
        if (len >= CONF_WORDS_TEXT_MAX - s->used)
                return fail(s, CONF_WORDS_TEXT_TOO_LONG, word_start, CONF_WORDS_TEXT_MAX);
        char *copy = w->text + s->used;
        memcpy(copy, line + start, len);
        copy[len] = '\0';
        s->used += len + 1;
        w->word[w->n++] = copy;
        return 0;
}

/* "..." at *i: the word is what the quotes hold; the next one may start right after them. */
static int scan_quoted(struct scanner *s, const char *line, size_t len, size_t *i) {
        size_t quote = *i;
        const char *end = memchr(line + quote + 1, '"', len - quote - 1);
        if (!end)
                return fail(s, CONF_WORDS_UNTERMINATED_QUOTE, quote, 0);
        size_t closing = (size_t) (end - line);
        *i = closing + 1;
        return add_word(s, line, quote, quote + 1, closing - quote - 1);
}

/* A word without quotes: up to a blank, a comment, or a backslash that continues the line. */
static int scan_plain(struct scanner *s, const char *line, size_t len, size_t *i) {
        size_t start = *i, end = start;
        while (end < len && !is_blank(line[end]) && !(s->file && line[end] == '#') &&
               !is_continuation(s, line, len, end))
                end++;
        *i = end;
        return add_word(s, line, start, start, end - start);
}

/* Adds the words of one line. Returns 0, 1 when its backslash (at s->backslash) asks for the next
 * line, or -EINVAL. */
static int scan_line(struct scanner *s, const char *line, size_t len) {
        for (size_t i = skip_blanks(line, len, 0); i < len; i = skip_blanks(line, len, i)) {
                if (s->file && line[i] == '#')
                        return 0;
                if (is_continuation(s, line, len, i)) {
                        if (!s->continuation)
                                return fail(s, CONF_WORDS_TRAILING_BACKSLASH, i, 0);
                        s->backslash = i;
                        return 1;
                }
                int r = s->file && line[i] == '"' ? scan_quoted(s, line, len, &i) : scan_plain(s, line, len, &i);
                if (r < 0)
                        return r;
        }
        return 0;
}

void conf_words_reader_init(struct conf_words_reader *reader, const char *text, size_t len,
                            const struct conf_words_syntax *syntax) {
        *reader = (struct conf_words_reader) { .text = text, .len = text ? len : 0, .syntax = *syntax };
}

/* The next line of the file through scan_line(), after the checks that look at the whole line. */
static int read_one_line(struct conf_words_reader *r, struct scanner *s) {
        const char *line = r->text + r->pos;
        const char *nl = memchr(line, '\n', r->len - r->pos);
        size_t len = nl ? (size_t) (nl - line) : r->len - r->pos;
        size_t without_cr = len > 0 && line[len - 1] == '\r' ? len - 1 : len;

        r->pos += len + (nl ? 1 : 0);
        s->line = ++r->line;
        const char *nul = memchr(line, '\0', len);
        if (nul)
                return fail(s, CONF_WORDS_NUL, (size_t) (nul - line), 0);
        if (r->syntax.line_max > 0 && without_cr > r->syntax.line_max)
                return fail(s, CONF_WORDS_LINE_TOO_LONG, r->syntax.line_max, r->syntax.line_max);
        return scan_line(s, line, len);
}

int conf_words_read(struct conf_words_reader *reader, struct conf_words *words, struct conf_words_error *ret_error) {
        struct scanner s = scanner_start(&reader->syntax, words, true, ret_error);
        int r;

        words->line = reader->line + 1;
        if (reader->pos >= reader->len)
                return 0;
        do
                r = read_one_line(reader, &s);
        while (r > 0 && reader->pos < reader->len);
        if (r > 0)
                r = fail(&s, CONF_WORDS_NOTHING_TO_CONTINUE, s.backslash, 0);
        if (r < 0)
                reader->pos = reader->len;
        return r < 0 ? r : 1;
}

int conf_words_split(const char *text, const struct conf_words_syntax *syntax, struct conf_words *words,
                     struct conf_words_error *ret_error) {
        struct scanner s = scanner_start(syntax, words, false, ret_error);

        words->line = s.line = 1;
        if (!text)
                return 0;
        return scan_line(&s, text, strlen(text));
}

static const char *const problem_texts[] = {
        [CONF_WORDS_NUL] = "NUL byte in line",
        [CONF_WORDS_CONTROL_CHARACTER] = "control character",
        [CONF_WORDS_UNTERMINATED_QUOTE] = "unterminated quoted string",
        [CONF_WORDS_TOO_MANY_WORDS] = "too many words",
        [CONF_WORDS_WORD_TOO_LONG] = "word too long",
        [CONF_WORDS_LINE_TOO_LONG] = "line too long",
        [CONF_WORDS_TEXT_TOO_LONG] = "words too long in all",
        [CONF_WORDS_TRAILING_BACKSLASH] = "line ends in a backslash, and lines do not continue here",
        [CONF_WORDS_NOTHING_TO_CONTINUE] = "the last line ends in a backslash, with no line to continue",
};

const char *conf_words_problem_to_string(enum conf_words_problem problem) {
        if ((size_t) problem >= sizeof(problem_texts) / sizeof(problem_texts[0]) || !problem_texts[problem])
                return "malformed line";
        return problem_texts[problem];
}

void conf_words_error_format(const struct conf_words_error *e, char *buf, size_t size) {
        const char *what = conf_words_problem_to_string(e->problem);

        /* The column last, so that the message starts as the problem's static text does. */
        if (e->problem == CONF_WORDS_CONTROL_CHARACTER)
                snprintf(buf, size, "%s 0x%02x (column %u)", what, e->character, e->column);
        else if (e->problem == CONF_WORDS_TOO_MANY_WORDS)
                snprintf(buf, size, "%s, more than %zu (column %u)", what, e->limit, e->column);
        else if (e->problem == CONF_WORDS_WORD_TOO_LONG || e->problem == CONF_WORDS_LINE_TOO_LONG)
                snprintf(buf, size, "%s longer than %zu characters (column %u)",
                         e->problem == CONF_WORDS_WORD_TOO_LONG ? "word" : "line", e->limit, e->column);
        else if (e->problem == CONF_WORDS_TEXT_TOO_LONG)
                snprintf(buf, size, "%s, more than %zu bytes (column %u)", what, e->limit, e->column);
        else
                snprintf(buf, size, "%s (column %u)", what, e->column);
}
