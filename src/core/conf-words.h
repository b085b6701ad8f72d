/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The words of the ntp.conf dialect, for every parser of it (ntpsyncd's configuration, restrict
 * rules and server specs, ntpsyncctl's import of ntp.conf and step-tickers):
 *
 *     server "ntp.example.org" iburst   # a comment
 *     driftfile "/var/lib/my drift"
 *     restrict default kod \
 *              nomodify notrap
 *
 * Blanks (space, tab, CR, VT, FF) separate words. In a line of a file, a word that starts with
 * '"' runs to the next '"' on that line and may hold blanks and '#'; "" is an empty word; the word
 * after it starts right after the closing quote. Elsewhere a '"' is an ordinary character, and so
 * is a backslash, except as the last character of a line but for blanks: there it joins the next
 * line, or is an error. '#' outside quotes starts a comment that runs to the end of its line. A
 * value given alone (conf_words_split()) has blanks and nothing else that is special.
 *
 * Pure: no I/O, no allocation; the words go into the caller's struct conf_words. Errors name the
 * line and the column (1-based, in bytes) where the problem was found. */

#include <stdbool.h>
#include <stddef.h>

#define CONF_WORDS_MAX 128            /* words in a line, at most */
#define CONF_WORD_MAX 1023            /* characters in a word, at most */
#define CONF_WORDS_TEXT_MAX 4096      /* the words of a line and their NULs, continuations included */

enum conf_words_problem {
        CONF_WORDS_NUL,                  /* a NUL byte, even in a comment */
        CONF_WORDS_CONTROL_CHARACTER,    /* one that is not a blank, outside comments */
        CONF_WORDS_UNTERMINATED_QUOTE,   /* the column of the opening quote */
        CONF_WORDS_TOO_MANY_WORDS,       /* the column of the first word too many */
        CONF_WORDS_WORD_TOO_LONG,        /* the column where the word starts */
        CONF_WORDS_LINE_TOO_LONG,        /* the column of the first character too many */
        CONF_WORDS_TEXT_TOO_LONG,        /* the words (of joined lines) do not fit CONF_WORDS_TEXT_MAX */
        CONF_WORDS_TRAILING_BACKSLASH,   /* continuation lines are not allowed */
        CONF_WORDS_NOTHING_TO_CONTINUE,  /* a backslash on the last line */
};

/* What a caller allows. */
struct conf_words_syntax {
        size_t words_max;             /* 1..CONF_WORDS_MAX; 0 means CONF_WORDS_MAX */
        size_t line_max;              /* characters in a line of a file, its end not counted; 0: no limit */
        bool continuation;            /* a file's line that ends in a backslash joins the next one */
        bool control_characters;      /* control characters are kept in words instead of refused */
};

/* The words of one line. */
struct conf_words {
        char *word[CONF_WORDS_MAX];   /* each points into text, NUL-terminated */
        size_t n;
        unsigned line;                /* 1-based: the line they start on */
        char text[CONF_WORDS_TEXT_MAX];
};

struct conf_words_error {
        enum conf_words_problem problem;
        unsigned line;                /* 1-based: where the problem is, a continuation's own line */
        unsigned column;              /* 1-based, in bytes */
        size_t limit;                 /* the limit that was exceeded, for the *_TOO_* problems */
        unsigned char character;      /* CONF_WORDS_CONTROL_CHARACTER: which one */
};

/* A file's text, read line by line. */
struct conf_words_reader {
        const char *text;
        size_t len, pos;
        unsigned line;                /* the lines read so far */
        struct conf_words_syntax syntax;
};

void conf_words_reader_init(struct conf_words_reader *reader, const char *text, size_t len,
                            const struct conf_words_syntax *syntax);

/* Reads the next line of the file, and the lines a trailing backslash joins to it, into *words
 * (storage the caller provides, overwritten also on error). Returns 1 for a line, which may hold
 * no words (a blank or comment line), 0 at the end of the text, or -EINVAL with *ret_error; after
 * an error the reader is at the end. A line's end is LF or CRLF. */
int conf_words_read(struct conf_words_reader *reader, struct conf_words *words, struct conf_words_error *ret_error);

/* Splits one value that is not a line of a file (a D-Bus argument, already one string): only blanks
 * separate its words; quotes, '#' and backslashes are ordinary characters, so that nothing in a
 * value can hide a blank or drop the rest of it. A line feed is a control character.
 * syntax->line_max and ->continuation do not apply. Returns 0, or -EINVAL with *ret_error; *words
 * is overwritten either way. */
int conf_words_split(const char *text, const struct conf_words_syntax *syntax, struct conf_words *words,
                     struct conf_words_error *ret_error);

/* What is wrong, as a static text without the details: "unterminated quoted string". */
const char *conf_words_problem_to_string(enum conf_words_problem problem);

/* "control character 0x01 (column 12)", for a message that already names the file and line. */
void conf_words_error_format(const struct conf_words_error *error, char *buf, size_t size);
