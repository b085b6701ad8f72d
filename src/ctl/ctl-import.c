/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ntp.conf and step-tickers → ntpsyncd configuration: the whole, and what its parts share. See
 * ctl-import.h, and ctl-import-internal.h for the parts. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf-words.h"
#include "core/config.h"
#include "core/printable.h"
#include "ctl-import-internal.h"
#include "ctl-util.h"

/* ---- messages and warnings ---- */

void import_display(const char *s, char *buf, size_t size) {
        printable(s, DISPLAY_MAX, PRINTABLE_ESCAPE_NON_ASCII, buf, size);
}

int importer_fail_with(struct importer *imp, bool with_line, const char *fmt, ...) {
        char what[IMPORT_MESSAGE_MAX / 2], file[DISPLAY_SIZE];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        import_display(imp->at.file, file, sizeof(file));
        if (with_line)
                snprintf(imp->error->message, sizeof(imp->error->message), "%s:%u: %s", file, imp->at.line, what);
        else
                snprintf(imp->error->message, sizeof(imp->error->message), "%s: %s", file, what);
        return -EINVAL;
}

int importer_out_of_memory(struct importer *imp) {
        snprintf(imp->error->message, sizeof(imp->error->message), "out of memory");
        return -ENOMEM;
}

struct warning *importer_find_warning(struct importer *imp, const char *subject) {
        for (size_t i = 0; i < imp->n_warnings; i++)
                if (streq(imp->warnings[i].subject, subject))
                        return &imp->warnings[i];
        return NULL;
}

static int add_warning(struct importer *imp, enum warning_kind kind, const char *subject, const char *reason) {
        struct warning *more = realloc(imp->warnings, (imp->n_warnings + 1) * sizeof(*more));
        if (!more)
                return importer_out_of_memory(imp);
        imp->warnings = more;
        struct warning *w = &more[imp->n_warnings];
        *w = (struct warning) { .kind = kind, .first = imp->at, .last = imp->at, .n_lines = 1 };
        w->subject = strdup(subject);
        w->reason = strdup(reason);
        if (!w->subject || !w->reason) {
                free(w->subject);
                free(w->reason);
                return importer_out_of_memory(imp);
        }
        imp->n_warnings++;
        return 0;
}

int importer_warn(struct importer *imp, enum warning_kind kind, const char *reason, const char *subject_fmt, ...) {
        char subject[DISPLAY_MAX * 3];
        va_list ap;

        va_start(ap, subject_fmt);
        vsnprintf(subject, sizeof(subject), subject_fmt, ap);
        va_end(ap);
        struct warning *w = importer_find_warning(imp, subject);
        if (!w)
                return add_warning(imp, kind, subject, reason);
        if (w->last.file != imp->at.file || w->last.line != imp->at.line) {
                w->n_lines++;
                w->last = imp->at;
        }
        return 0;
}

/* ---- words and lines ---- */

bool import_is_plain_word(const char *w) {
        return w[0] != '\0' && !strpbrk(w, " \t\r\v\f#\"");
}

/* ntpd's dialect, as ntpd reads it: no continuation lines; control characters are words' own
 * (shown escaped in warnings), not errors. */
static const struct conf_words_syntax ntp_conf_syntax = {
        .words_max = IMPORT_WORDS_MAX,
        .line_max = IMPORT_LINE_MAX,
        .control_characters = true,
};

/* The file's path as kept for origins: each file once. NULL when out of memory. */
static const char *remember_file(struct importer *imp, const char *path) {
        for (size_t i = 0; i < imp->n_files; i++)
                if (streq(imp->files[i], path))
                        return imp->files[i];
        char **more = realloc(imp->files, (imp->n_files + 1) * sizeof(*more));
        if (!more)
                return NULL;
        imp->files = more;
        more[imp->n_files] = strdup(path);
        return more[imp->n_files] ? more[imp->n_files++] : NULL;
}

static int fail_words(struct importer *imp, const struct conf_words_error *error) {
        char what[CONFIG_MESSAGE_MAX];

        imp->at.line = error->line;
        if (error->problem == CONF_WORDS_TRAILING_BACKSLASH)
                /* Say so rather than import half a directive. */
                return importer_fail(imp, "line ends in a backslash (column %u); ntp.conf has no continuation lines",
                                     error->column);
        conf_words_error_format(error, what, sizeof(what));
        return importer_fail(imp, "%s", what);
}

/* Returns 1 after a line, 0 at the end of the text, or a negative errno. */
static int read_next_line(struct importer *imp, struct conf_words_reader *reader, line_handler handle) {
        struct conf_words words;
        struct conf_words_error error;

        int r = conf_words_read(reader, &words, &error);
        if (r <= 0)
                return r < 0 ? fail_words(imp, &error) : 0;
        imp->at.line = words.line;
        if (imp->at.line > IMPORT_LINES_MAX)
                return importer_fail(imp, "more than %d lines", IMPORT_LINES_MAX);
        if (words.n > 0 && (r = handle(imp, words.word, words.n)) < 0)
                return r;
        return 1;
}

int importer_read_lines(struct importer *imp, const char *path, const char *text, size_t len, line_handler handle) {
        struct origin outer = imp->at;
        struct conf_words_reader reader;
        int r;

        imp->at = (struct origin) { .file = remember_file(imp, path) };
        conf_words_reader_init(&reader, text, len, &ntp_conf_syntax);
        if (!imp->at.file)
                r = importer_out_of_memory(imp);
        else if (len > IMPORT_FILE_MAX)
                r = importer_fail_with(imp, false, "larger than %d bytes", IMPORT_FILE_MAX);
        else
                do
                        r = read_next_line(imp, &reader, handle);
                while (r > 0);
        imp->at = outer;
        return r;
}

/* ---- the whole ---- */

static void importer_done(struct importer *imp) {
        for (size_t i = 0; i < imp->n_files; i++)
                free(imp->files[i]);
        free(imp->files);
        for (size_t i = 0; i < imp->n_restricts; i++)
                free(imp->restricts[i].text);
        for (size_t i = 0; i < imp->n_settings; i++)
                free(imp->settings[i].text);
        free(imp->settings);
        for (size_t i = 0; i < imp->n_warnings; i++) {
                free(imp->warnings[i].subject);
                free(imp->warnings[i].reason);
        }
        free(imp->warnings);
        free(imp->driftfile);
        importer_nts_done(imp);
        free(imp->scratch);
        free(imp);
}

static int read_inputs(struct importer *imp) {
        const struct import_input *in = imp->in;
        int r = importer_read_lines(imp, in->ntp_conf.path, in->ntp_conf.text, in->ntp_conf.len,
                                    importer_handle_ntp_conf_line);
        if (r >= 0)
                r = importer_finish_nts(imp);
        if (r < 0 || !in->step_tickers.text)
                return r;
        imp->step_tickers_read = true;
        return importer_read_lines(imp, in->step_tickers.path, in->step_tickers.text, in->step_tickers.len,
                                   importer_handle_step_tickers_line);
}

static int build_result(struct importer *imp, struct import_result *ret) {
        struct import_result r = {
                .n_servers = imp->n_servers,
                .n_step_tickers_servers = imp->n_step_tickers_servers,
                .n_restricts = imp->n_restricts,
                .ntpd_served = importer_ntpd_served(imp),
        };
        if (importer_write_configuration(imp, &r.text, &r.len) < 0 ||
            importer_format_warnings(imp, &r.warnings, &r.n_warnings) < 0 ||
            (imp->driftfile && !(r.ntpd_driftfile = strdup(imp->driftfile)))) {
                import_result_done(&r);
                return importer_out_of_memory(imp);
        }
        *ret = r;
        return 0;
}

int import_ntpconf(const struct import_input *in, struct import_result *ret, struct import_error *ret_error) {
        struct importer *imp = calloc(1, sizeof(*imp));
        if (!imp) {
                snprintf(ret_error->message, sizeof(ret_error->message), "out of memory");
                return -ENOMEM;
        }
        *imp = (struct importer) { .in = in, .error = ret_error, .scratch = malloc(sizeof(struct config)) };
        int r = imp->scratch ? read_inputs(imp) : importer_out_of_memory(imp);
        if (r == 0)
                r = build_result(imp, ret);
        importer_done(imp);
        return r;
}

void import_result_done(struct import_result *r) {
        free(r->text);
        strv_free(r->warnings);
        free(r->ntpd_driftfile);
        *r = (struct import_result) {};
}

int import_validate(const char *name, const char *text, size_t len, struct import_error *ret_error) {
        struct config *c = malloc(sizeof(*c));
        struct config_error error;
        int r = -EINVAL;

        if (!c) {
                snprintf(ret_error->message, sizeof(ret_error->message), "out of memory");
                return -ENOMEM;
        }
        config_init(c);
        if (config_parse(c, name, text, len, &error) < 0)
                snprintf(ret_error->message, sizeof(ret_error->message), "%s", error.message);
        else if (c->n_warnings > 0)
                snprintf(ret_error->message, sizeof(ret_error->message), "%s", c->warnings[0]);
        /* What ntpsyncd refuses to start with although each line parses (nts enable without files). */
        else if (config_check(c, &error) < 0)
                snprintf(ret_error->message, sizeof(ret_error->message), "%s", error.message);
        else
                r = 0;
        free(c);
        return r;
}
