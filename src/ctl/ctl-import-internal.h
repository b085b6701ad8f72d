/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the parts of the ntp.conf import share (see ctl-import.h for what it does):
 *
 *   ctl-import.c               the whole: files read line by line, messages, warnings, the result
 *   ctl-import-servers.c       server, pool and peer lines, and the servers step-tickers adds to
 *   ctl-import-restrict.c      restrict lines
 *   ctl-import-ntpconf.c       the other directives of ntp.conf, and which handles which
 *   ctl-import-nts.c           NTPsec's nts directive: serving NTS
 *   ctl-import-step-tickers.c  /etc/ntp/step-tickers
 *   ctl-import-write.c         the configuration and the warnings, as text
 *
 * A handler gets the words of one line (conf-words.h splits them) and either adds to the model,
 * warns, or fails; the first failure ends the import. */

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "ctl-import.h"

#define DISPLAY_MAX 200               /* a path or word shown in a message or comment, escaped */
#define DISPLAY_SIZE (DISPLAY_MAX + 16) /* a buffer that holds all import_display() writes */
#define REFCLOCK_LOCAL_DRIVER 1       /* 127.127.1.u: ntpd's undisciplined local clock */

/* ---- the model of what will be written ---- */

struct origin {
        const char *file;             /* one of importer.files */
        unsigned line;
};

struct server_item {
        struct config_server server;
        struct origin origin;
        const char *note;             /* how it changed on the way, for the comment */
};

struct text_item {
        char *text;
        struct origin origin;
};

/* One of NTPsec's nts settings ntpsyncd has: nts cert, nts key, nts ca. */
struct nts_path {
        char *path;                   /* NULL: not given */
        struct origin origin;
        const char *note;             /* for the comment */
};

enum nts_serving {
        NTS_SERVING_UNSET,            /* no nts enable or disable */
        NTS_SERVING_ENABLE,
        NTS_SERVING_DISABLE,
};

enum warning_kind {
        WARN_LINES_IGNORED,           /* "X is not carried over (why); N lines ignored" */
        WARN_PART_DROPPED,            /* an option, flag or variable: "...; N lines affected" */
        WARN_CHANGED,                 /* carried over differently: "X (why); N lines affected" */
};

struct warning {
        enum warning_kind kind;
        char *subject;                /* "'keys'", "server option 'burst'"; also the key */
        char *reason;
        bool local_clock;             /* the reason names the local clock's fudge stratum */
        struct origin first, last;    /* last: to count each line once */
        unsigned n_lines;
};

struct importer {
        const struct import_input *in;
        struct import_error *error;
        struct origin at;             /* the line being read */
        unsigned depth, n_includes;
        char **files;                 /* every file read, once, in order */
        size_t n_files;
        struct server_item servers[CONFIG_MAX_SERVERS];
        size_t n_servers, n_step_tickers_servers;
        struct text_item restricts[CONFIG_MAX_RESTRICTS];
        size_t n_restricts;
        struct text_item *settings;   /* tinker and tos, one variable a line */
        size_t n_settings;
        struct warning *warnings;
        size_t n_warnings;
        char *driftfile;
        struct origin driftfile_origin;
        bool step_tickers_read;
        unsigned local_clock_stratum; /* from fudge 127.127.1.u stratum N; 0: none */
        bool default_denies[2];       /* IPv4, IPv6: ntpd's default restrict rule denies time service */
        enum nts_serving nts_serving; /* NTPsec's nts enable|disable, the last one */
        struct origin nts_serving_origin;
        struct nts_path nts_cert, nts_key, nts_ca;
        struct config *scratch;       /* for asking ntpsyncd's parser about one line */
};

typedef int (*line_handler)(struct importer *imp, char **words, size_t n);


/* ---- messages (ctl-import.c) ---- */

/* s with control characters and non-ASCII bytes as \xNN, shortened to about DISPLAY_MAX
 * characters: file names and words from the input go into messages and comments this way, so
 * that they cannot break a line or a terminal. */
void import_display(const char *s, char *buf, size_t size);

/* Fails the import with "FILE:LINE: message" (or "FILE: message"); returns -EINVAL. */
__attribute__((format(printf, 3, 4)))
int importer_fail_with(struct importer *imp, bool with_line, const char *fmt, ...);
#define importer_fail(imp, ...) importer_fail_with((imp), true, __VA_ARGS__)

int importer_out_of_memory(struct importer *imp);

/* One warning per subject: the first line that used it, and how many lines did. */
__attribute__((format(printf, 4, 5)))
int importer_warn(struct importer *imp, enum warning_kind kind, const char *reason, const char *subject_fmt, ...);
struct warning *importer_find_warning(struct importer *imp, const char *subject);

/* A word that reads back as itself in ntpsyncd's dialect: no blanks (from quotes), no comment. */
bool import_is_plain_word(const char *w);

/* Hands each line of a file's text, split into words, to handle. */
int importer_read_lines(struct importer *imp, const char *path, const char *text, size_t len, line_handler handle);

/* ---- the handlers of lines, and what they share ---- */

/* 127.127.T.U names ntpd's reference clock driver T, unit U: *ret_driver is T. */
bool import_is_refclock_address(const char *host, unsigned *ret_driver);
int importer_warn_refclock(struct importer *imp, unsigned driver);
struct server_item *importer_find_server(struct importer *imp, const char *host, bool any_kind, bool pool);
int importer_add_server(struct importer *imp, const struct config_server *s, const char *note);

int importer_handle_server(struct importer *imp, char **words, size_t n);
int importer_handle_restrict(struct importer *imp, char **words, size_t n);
int importer_handle_ntp_conf_line(struct importer *imp, char **words, size_t n);
int importer_handle_step_tickers_line(struct importer *imp, char **words, size_t n);
int importer_handle_nts(struct importer *imp, char **words, size_t n);

/* After every line: what NTPsec's nts enable took by default, written out. */
int importer_finish_nts(struct importer *imp);
void importer_nts_done(struct importer *imp);

/* Whether ntpd's default rules let clients of either family get time from it. */
bool importer_ntpd_served(const struct importer *imp);

/* ---- the result (ctl-import-write.c) ---- */

int importer_write_configuration(const struct importer *imp, char **ret_text, size_t *ret_len);
int importer_format_warnings(const struct importer *imp, char ***ret, size_t *ret_n);
