/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The migration from ntpd: the texts of an ntp.conf and an /etc/ntp/step-tickers in, the
 * equivalent ntpsyncd configuration and the warnings out. No I/O here (includefile is read
 * through a callback), so that it can be unit-tested and fuzzed; ctl-import-files.c does the
 * reading and writing.
 *
 * What ntpsyncd cannot do is left out with one warning per directive, option, flag or tinker/tos
 * variable: the first FILE:LINE and how many lines it affects. Input that is malformed (a NUL
 * byte, an overlong line, an unterminated quote, a server without a valid host, ...) is an error
 * that names FILE:LINE, and nothing is produced. Whatever is produced parses with ntpsyncd's own
 * parser without a warning (import_validate()). */

#include <stdbool.h>
#include <stddef.h>

#define IMPORT_FILE_MAX (1024 * 1024)
#define IMPORT_LINES_MAX 10000
#define IMPORT_LINE_MAX 1023          /* characters, without the line end */
#define IMPORT_WORDS_MAX 128
#define IMPORT_INCLUDE_DEPTH_MAX 5
#define IMPORT_INCLUDES_MAX 64        /* includefile lines followed, in all */
#define IMPORT_MESSAGE_MAX 1024

/* Reads the file an includefile line names: 0 and a text to free(), or a negative errno. */
typedef int (*import_read_fn)(void *userdata, const char *path, char **ret_text, size_t *ret_len);

struct import_file {
        const char *path;             /* as named in messages and comments */
        const char *text;             /* step-tickers only: NULL when there is none */
        size_t len;
};

struct import_input {
        struct import_file ntp_conf;
        struct import_file step_tickers;
        const char *date;             /* in the header; NULL: none */
        import_read_fn read_include;  /* NULL: an includefile line is an error */
        void *userdata;
};

struct import_result {
        char *text;                   /* the ntpsyncd configuration */
        size_t len;
        char **warnings;              /* "FILE:LINE: 'keys' is not carried over (...); 3 lines ignored" */
        size_t n_warnings;
        char *ntpd_driftfile;         /* ntp.conf's driftfile, NULL when it names none */
        size_t n_servers;             /* servers and pools written, step-tickers' included */
        size_t n_step_tickers_servers;/* of those, the ones that only step-tickers named */
        size_t n_restricts;
        bool ntpd_served;             /* ntpd's default restrict rules let clients get time from it */
};

struct import_error {
        char message[IMPORT_MESSAGE_MAX]; /* "FILE:LINE: what is wrong", or "FILE: ..." */
};

/* Translates in into *ret, which the caller frees with import_result_done(). On error returns
 * -EINVAL (bad input) or -ENOMEM, fills *ret_error and leaves *ret alone. */
int import_ntpconf(const struct import_input *in, struct import_result *ret, struct import_error *ret_error);

void import_result_done(struct import_result *r);

/* Parses text with ntpsyncd's configuration parser, as if it were the file name. Returns -EINVAL
 * with the parser's error, or its first warning, in *ret_error: the import must never write
 * either, so that is a bug in the import. */
int import_validate(const char *name, const char *text, size_t len, struct import_error *ret_error);
